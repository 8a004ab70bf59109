/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.c: giving up root once the capture is open (tcpdump's -Z), and no_new_privs, for vsockdump and vsocktop. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privs.h"

int cli_no_new_privs(void)
{
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

int cli_drop_privileges(const char *user, const char **ret_user, char *err, size_t errlen)
{
	const char *name = user ? user : CLI_DEFAULT_USER;
	struct passwd *pw;

	*ret_user = NULL;
	/* Without -Z only root gives anything up, as tcpdump does; -Z root keeps root. */
	if (!user && geteuid() != 0)
		return 0;
	if (user && strcmp(user, "root") == 0)
		return 0;
	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		if (!user)
			return 0;	/* no such default user on this system: keep running as we are */
		snprintf(err, errlen, "-Z %s: no such user", name);
		return errno ? -errno : -ENOENT;
	}
	if (pw->pw_uid == geteuid() && pw->pw_uid == getuid() && pw->pw_gid == getegid())
		return 0;
	/* Groups first: once the user ID is not root, neither can be changed any more. */
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		int ret = -errno;

		snprintf(err, errlen, "-Z %s: cannot switch to it: %s%s", name, strerror(errno),
			 geteuid() ? " (only root can switch users)" : "");
		return ret;
	}
	*ret_user = name;
	return 0;
}
