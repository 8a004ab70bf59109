/* SPDX-License-Identifier: GPL-2.0-or-later */
/* service.c: vsockdev as a system service: sockets with the mode and group the operator chose, readiness to the service manager. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cli.h>

#include "daemon.h"
#include "log.h"

#define PROG "vsockdev"

uint32_t service_mode_arg(const char *opt, const char *arg)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 8);
	if (errno || end == arg || *end || *arg == '-' || *arg == '+' || v > 0777)
		cli_die_usage(PROG, "invalid %s argument '%s': expected octal permission bits from 0 to 0777, "
			      "as chmod takes them (0660: owner and group read and write)", opt, arg);
	return (uint32_t)v;
}

gid_t service_group_arg(const char *opt, const char *arg)
{
	struct group *g = getgrnam(arg);

	if (g)
		return g->gr_gid;
	if (*arg >= '0' && *arg <= '9')
		return (gid_t)cli_number(PROG, opt, arg, 0, (gid_t)-2);
	cli_die_usage(PROG, "%s: no group named '%s' (give a name from /etc/group or a number)", opt, arg);
}

uid_t service_user_arg(const char *opt, const char *arg)
{
	struct passwd *p = getpwnam(arg);

	if (p)
		return p->pw_uid;
	if (*arg >= '0' && *arg <= '9')
		return (uid_t)cli_number(PROG, opt, arg, 0, (uid_t)-2);
	cli_die_usage(PROG, "%s: no user named '%s' (give a name from /etc/passwd or a number)", opt, arg);
}

/*
 * SO_PEERCRED (unix(7)) gives the credentials the peer had when it called connect(): the QEMU
 * process, whatever it does with the descriptor afterwards. A front-end that is let in owns the
 * device (one per VM), so without this check any user the socket's mode admits could take the
 * socket before QEMU does.
 */
bool service_frontend_allowed(const struct frontend_allow *allow, int fd, char *why, size_t whylen)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!allow->nuids && !allow->ngids)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		snprintf(why, whylen, "its credentials are unknown (SO_PEERCRED: %s)", strerror(errno));
		return false;
	}
	for (unsigned i = 0; i < allow->nuids; i++)
		if (cred.uid == allow->uids[i])
			return true;
	for (unsigned i = 0; i < allow->ngids; i++)
		if (cred.gid == allow->gids[i])
			return true;
	snprintf(why, whylen, "pid %ld, uid %u, gid %u is neither a --frontend-user nor in a --frontend-group",
		 (long)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
	return false;
}

/*
 * What is at path before we bind there: nothing; a socket a dead daemon left (a connect is refused),
 * which goes; or something we must not touch: a file that is not a socket (a typo in socket= would
 * delete it) or the socket of a process still listening (a second vsockdev with the same VM would
 * take QEMU's socket from the first one, leaving it serving nobody).
 */
static int clear_stale_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket: left as it is; give another path, or remove it "
			 "if it is not needed", path);
		return -EEXIST;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;	/* before snprintf(), which may change errno */
		snprintf(err, errlen, "socket: %s", strerror(-ret));
		return ret;
	}
	/* A Unix connect answers at once: refused when nobody listens, EAGAIN when the backlog is full. */
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(fd);
	if (ret == -ECONNREFUSED) {
		if (unlink(path) < 0 && errno != ENOENT) {
			ret = -errno;
			snprintf(err, errlen, "%s: cannot remove the stale socket there: %s", path, strerror(-ret));
			return ret;
		}
		return 0;
	}
	if (!ret || ret == -EAGAIN) {
		snprintf(err, errlen, "%s: another process listens on it (another " PROG " for the same VM?): not "
			 "taken over; stop that one first", path);
		return -EADDRINUSE;
	}
	snprintf(err, errlen, "%s: cannot tell whether a process still listens on it: %s; not removed", path,
		 strerror(-ret));
	return ret;
}

/*
 * The permission to connect to a Unix socket is write permission on its file (unix(7)), and the
 * file is made by bind() with 0777 less the umask: Linux ignores an fchmod() of the socket before
 * it. So the file is bound for its owner alone (a umask of 0077 around bind(), the daemon is single
 * threaded), then given its group and mode, and only then listened on: until listen() a connect()
 * is refused anyway, so nobody gets in with the wrong permissions at any moment.
 */
int service_listen_unix(const char *path, int backlog, const struct vsm_file_perm *perm, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old_umask = 0;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket (%zu bytes at most)", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;	/* before snprintf(), which may change errno */
		snprintf(err, errlen, "socket: %s", strerror(-ret));
		return ret;
	}
	ret = clear_stale_socket(path, err, errlen);
	if (ret) {
		close(fd);
		return ret;
	}
	if (perm->mode)
		old_umask = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (perm->mode)
		umask(old_umask);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (perm->set_group && fchownat(AT_FDCWD, path, (uid_t)-1, perm->gid, AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot give it the group %u: %s (the daemon's user must be a member of "
			 "the group: SupplementaryGroups= in the unit)", path, (unsigned)perm->gid, strerror(errno));
	} else if (perm->mode && fchmodat(AT_FDCWD, path, perm->mode & 0777, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot set its mode %04o: %s", path, (unsigned)perm->mode, strerror(errno));
	} else if (listen(fd, backlog) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (ret) {
		close(fd);
		unlink(path);
		return ret;
	}
	return fd;
}

/*
 * The service manager's notification protocol (sd_notify(3), "the protocol" there; systemd.service(5),
 * Type=notify): one datagram of newline-separated VARIABLE=VALUE lines sent to the AF_UNIX socket
 * named by $NOTIFY_SOCKET, a file path, or an abstract name when it starts with '@'. No reply comes.
 * Other address forms (systemd 254's "vsock:CID:PORT") are refused: vsockdev opens no vsock socket.
 */
int service_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	ssize_t n;
	int fd, ret = 0;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT;
	if (len >= sizeof(sa.sun_path) || len < 2)
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract: the name is exactly the len bytes, no terminator */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != strlen(state))
		ret = -EMSGSIZE;
	close(fd);
	return ret;
}

void service_tell(const struct daemon *d, const char *state)
{
	int ret = service_notify(state);

	if (ret < 0)
		logmsg(d, 0, "cannot notify the service manager on NOTIFY_SOCKET=%s: %s (carrying on)",
		       getenv("NOTIFY_SOCKET"), strerror(-ret));
}

void service_ready(const struct daemon *d)
{
	char state[512];
	int n = snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %u VM%s:", d->nvms, d->nvms == 1 ? "" : "s");

	for (unsigned i = 0; i < d->nvms && n > 0 && (size_t)n < sizeof(state); i++)
		n += snprintf(state + n, sizeof(state) - (size_t)n, " %s", d->vms[i]->name);
	if (n < 0 || (size_t)n >= sizeof(state))
		snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %u VMs", d->nvms);
	logmsg(d, 1, "ready: every socket listens");
	service_tell(d, state);
}
