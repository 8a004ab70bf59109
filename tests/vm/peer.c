// SPDX-License-Identifier: GPL-2.0-or-later
/* peer.c: vsock-peer, the traffic tool of the real-guest tests: one end of a vsock or hybrid-vsock (Unix socket) connection in a role (send, recv, echo, half-close, SEQPACKET, reset, concurrent, hold, abort) that checks every byte. */

/*
 * Endpoints:
 *   vsock:CID:PORT       AF_VSOCK connect          vsock-listen:PORT   AF_VSOCK listen (any CID)
 *   uds:PATH:PORT        hybrid vsock, host side: connect to PATH, "CONNECT PORT\n", expect "OK <n>\n"
 *   uds-listen:PATH      Unix listener, for guest connections a hybrid-vsock device forwards to PATH
 *   unix:PATH            plain Unix connect, no handshake (a test aid: the other end of uds-listen)
 * A listening endpoint accepts the role's connection(s); a connecting one makes them: every role works
 * either way round.
 *
 * AF_VSOCK is only ever opened inside the project's test guest: on a developer's or CI machine /dev/vsock
 * can be the machine's own management channel, and a stray connect or listen there does real harm. The
 * one function that calls socket(AF_VSOCK) asks vsock_guard() first.
 *
 * Exit status: 0 success, 1 a failed check (data, a connection that failed, a timeout), 2 usage or setup.
 * Each role prints one line of key=value pairs on stdout, also when a check failed.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_SETUP = 2 };

#define RBUF_SIZE   (256u * 1024)	/* one read: a whole loopback/virtio credit window */
#define MAX_MSG     (256u * 1024)	/* the largest SEQPACKET message: Linux's default vsock buf_alloc */
#define MAX_MSGS    4096
#define HC_TAIL     (64u * 1024)	/* what halfclose-server sends after the count and checksum */
#define HC_ANSWER   (16u + HC_TAIL)
#define NO_BAD      UINT64_MAX

/* ---------------------------------------------------------------- options, endpoints */

struct opts {
	int64_t deadline;	/* CLOCK_MONOTONIC, ms: every wait ends here */
	unsigned timeout_s;
	uint64_t seed;
	size_t chunk;
	unsigned count;
	size_t window;
	uint64_t expect;
	bool have_expect, expect_echo, parallel, seqpacket, no_eor_check;
	size_t read_size;	/* recv: bytes per recv() */
	unsigned read_delay_ms;	/* recv: sleep after each read */
	uint64_t pause_after;	/* recv: once this much has arrived, stop reading for pause_ms */
	unsigned pause_ms;
	uint64_t rcvbuf;	/* vsock: SO_VM_SOCKETS_BUFFER_SIZE, Unix: SO_RCVBUF; 0 = the default */
	bool shut_wr;		/* hold: SHUT_WR once BYTES are sent */
	int verbose;
	const char *ready;
};

enum ep_kind { EP_VSOCK, EP_VSOCK_LISTEN, EP_UDS, EP_UDS_LISTEN, EP_UNIX };

struct endpoint {
	enum ep_kind kind;
	int type;		/* SOCK_STREAM or SOCK_SEQPACKET */
	unsigned cid, port;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *spec;	/* as given, for messages */
};

static bool ep_listens(const struct endpoint *ep)
{
	return ep->kind == EP_VSOCK_LISTEN || ep->kind == EP_UDS_LISTEN;
}

static bool ep_is_vsock(const struct endpoint *ep)
{
	return ep->kind == EP_VSOCK || ep->kind == EP_VSOCK_LISTEN;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(const struct opts *o)
{
	int64_t r = o->deadline - now_ms();

	return r <= 0 ? 0 : r > INT_MAX ? INT_MAX : (int)r;
}

/* sleep_ms: MS milliseconds, or less when the deadline comes first. */
static void sleep_ms(const struct opts *o, unsigned ms)
{
	int r = remaining_ms(o);
	struct timespec ts;

	if ((unsigned)r < ms)
		ms = (unsigned)r;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* parse_u64: a decimal number, with suffixes k/m/g (binary multiples) when allowed. */
static int parse_u64(const char *s, bool suffixes, uint64_t *v)
{
	char *end;
	unsigned long long n;
	uint64_t mul = 1;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (suffixes && *end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		default: return -EINVAL;
		}
		end++;
	}
	if (*end || (mul > 1 && n > UINT64_MAX / mul))
		return -EINVAL;
	*v = n * mul;
	return 0;
}

static int parse_u32(const char *s, unsigned *v)
{
	uint64_t n;

	if (parse_u64(s, false, &n) < 0 || n > UINT32_MAX)
		return -EINVAL;
	*v = (unsigned)n;
	return 0;
}

static int set_path(struct endpoint *ep, const char *s, size_t len)
{
	if (len == 0 || len >= sizeof(ep->path))
		return -ENAMETOOLONG;
	memcpy(ep->path, s, len);
	ep->path[len] = '\0';
	return 0;
}

static int parse_endpoint(const char *s, int type, struct endpoint *ep)
{
	const char *rest, *colon;
	char num[32];
	size_t n;

	memset(ep, 0, sizeof(*ep));
	ep->spec = s;
	ep->type = type;
	if (!strncmp(s, "vsock:", 6)) {
		ep->kind = EP_VSOCK;
		rest = s + 6;
		colon = strchr(rest, ':');
		if (!colon || (n = (size_t)(colon - rest)) >= sizeof(num))
			return -EINVAL;
		memcpy(num, rest, n);
		num[n] = '\0';
		if (parse_u32(num, &ep->cid) < 0 || parse_u32(colon + 1, &ep->port) < 0)
			return -EINVAL;
		return 0;
	}
	if (!strncmp(s, "vsock-listen:", 13)) {
		ep->kind = EP_VSOCK_LISTEN;
		return parse_u32(s + 13, &ep->port);
	}
	if (!strncmp(s, "uds:", 4)) {
		ep->kind = EP_UDS;
		rest = s + 4;
		colon = strrchr(rest, ':');	/* the last one: a path may hold colons */
		if (!colon || parse_u32(colon + 1, &ep->port) < 0)
			return -EINVAL;
		return set_path(ep, rest, (size_t)(colon - rest));
	}
	if (!strncmp(s, "uds-listen:", 11)) {
		ep->kind = EP_UDS_LISTEN;
		return set_path(ep, s + 11, strlen(s + 11));
	}
	if (!strncmp(s, "unix:", 5)) {
		ep->kind = EP_UNIX;
		return set_path(ep, s + 5, strlen(s + 5));
	}
	return -EINVAL;
}

/* ---------------------------------------------------------------- pattern and checksum */

/* splitmix64's finaliser: a cheap bijective mix, good enough to make every 8 bytes look random. */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* pattern_fill: bytes OFF.. of the stream seeded by SEED. Addressable by offset, so a reader can check
 * any stretch without the writer's state, and a partial write is resumed by regenerating from there. */
static void pattern_fill(uint64_t seed, uint64_t off, unsigned char *buf, size_t len)
{
	uint64_t key = mix64(seed ^ 0x76736f636b706565ull);

	while (len) {
		uint64_t w = mix64(key + (off >> 3));
		unsigned b = (unsigned)(off & 7);
		size_t n = 8 - b;
		unsigned char word[8];

		for (unsigned i = 0; i < 8; i++)
			word[i] = (unsigned char)(w >> (8 * i));
		if (n > len)
			n = len;
		memcpy(buf, word + b, n);
		buf += n;
		off += n;
		len -= n;
	}
}

#define SUM_INIT 0xcbf29ce484222325ull	/* FNV-1a 64: order-sensitive, streams, trivial to redo in a script */

static uint64_t sum_update(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* first_diff: the index of the first byte where A and B differ, or N. */
static size_t first_diff(const unsigned char *a, const unsigned char *b, size_t n)
{
	if (!memcmp(a, b, n))
		return n;
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return n;
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---------------------------------------------------------------- messages */

static const struct { int err; const char *name; } errno_names[] = {
	{ ECONNRESET, "ECONNRESET" }, { ECONNREFUSED, "ECONNREFUSED" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ ENOENT, "ENOENT" }, { EHOSTUNREACH, "EHOSTUNREACH" }, { ENETUNREACH, "ENETUNREACH" },
	{ ENODEV, "ENODEV" }, { EPERM, "EPERM" }, { EACCES, "EACCES" }, { EADDRNOTAVAIL, "EADDRNOTAVAIL" },
	{ EADDRINUSE, "EADDRINUSE" }, { EPROTO, "EPROTO" }, { EPIPE, "EPIPE" }, { EINVAL, "EINVAL" },
	{ EAFNOSUPPORT, "EAFNOSUPPORT" }, { ENOTCONN, "ENOTCONN" }, { EAGAIN, "EAGAIN" }, { EINTR, "EINTR" },
	{ EMSGSIZE, "EMSGSIZE" }, { ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT" }, { ENOMEM, "ENOMEM" }, { ENOBUFS, "ENOBUFS" },
	{ ECONNABORTED, "ECONNABORTED" }, { EISCONN, "EISCONN" }, { EBADF, "EBADF" }, { ENOTSOCK, "ENOTSOCK" },
	{ ENAMETOOLONG, "ENAMETOOLONG" }, { EEXIST, "EEXIST" }, { ENOTDIR, "ENOTDIR" }, { EIO, "EIO" },
	{ ESHUTDOWN, "ESHUTDOWN" },
};

static const char *errno_name(int err, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	snprintf(buf, size, "E%d", err);
	return buf;
}

/* complain: "vsock-peer: ENDPOINT: WHAT: reason" for a -errno. */
static void complain(const struct endpoint *ep, const char *what, int err)
{
	if (err == -ETIMEDOUT)
		fprintf(stderr, "vsock-peer: %s: %s: timed out (the --timeout deadline passed)\n", ep->spec, what);
	else
		fprintf(stderr, "vsock-peer: %s: %s: %s\n", ep->spec, what, strerror(-err));
}

/* ---------------------------------------------------------------- sockets */

/* vsock_guard: AF_VSOCK only inside the project's test guest. Its initramfs (mkinitramfs.sh) has
 * /vm/scenarios and its /init (init.sh) exports VM_SCENARIO; no ordinary host has both, so a vsock
 * mode run by mistake on a developer's machine, whose /dev/vsock may be its management channel, stops
 * here before any vsock socket exists. */
static int vsock_guard(void)
{
	struct stat st;
	const char *scenario = getenv("VM_SCENARIO");

	if (stat("/vm/scenarios", &st) == 0 && S_ISDIR(st.st_mode) && scenario && *scenario)
		return 0;
	fprintf(stderr, "vsock-peer: refusing to open an AF_VSOCK socket: this is not the project's test guest "
		"(that needs the directory /vm/scenarios and VM_SCENARIO set). Run vsock endpoints only "
		"inside the QEMU guest (tests/vm/run-guest.sh); on a host, use uds: or uds-listen:\n");
	return -EPERM;
}

/* vsock_socket: the only socket(AF_VSOCK) call. It exits rather than returning the refusal, so no caller
 * can carry on as if a socket existed. */
static int vsock_socket(int type)
{
	int fd;

	if (vsock_guard() < 0)
		exit(EXIT_SETUP);
	fd = socket(AF_VSOCK, type | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* tune_unix: a Unix SEQPACKET message must fit its sender's buffer (default ~208 KiB): ask for more so
 * 256 KiB messages fit (the kernel caps the request at wmem_max, then doubles it). Best effort, and on
 * accepted sockets too: they do not inherit it from the listener. */
static void tune_unix(const struct endpoint *ep, int fd)
{
	int size = 512 * 1024;

	if (!ep_is_vsock(ep) && ep->type == SOCK_SEQPACKET)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int ep_socket(const struct endpoint *ep)
{
	int fd;

	if (ep_is_vsock(ep))
		return vsock_socket(ep->type);
	fd = socket(AF_UNIX, ep->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	tune_unix(ep, fd);
	return fd;
}

/* set_rcvbuf: --rcvbuf, before listen or connect. On vsock the buffer size is the buf_alloc the socket
 * advertises, so it bounds the peer's credit; accepted sockets inherit the listener's. */
static int set_rcvbuf(const struct opts *o, const struct endpoint *ep, int fd)
{
	uint64_t v = o->rcvbuf;
	int size = v > INT_MAX / 2 ? INT_MAX / 2 : (int)v;

	if (!o->rcvbuf)
		return 0;
	if (ep_is_vsock(ep))
		return setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &v, sizeof(v)) < 0 ? -errno : 0;
	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0 ? -errno : 0;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/* set_timeouts: blocking-call limits that end at the deadline (SEQPACKET sends and the Unix connect). */
static int set_timeouts(const struct opts *o, int fd)
{
	int ms = remaining_ms(o);
	struct timeval tv;

	if (ms <= 0)
		return -ETIMEDOUT;	/* a zero timeval would mean "wait forever" */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int wait_fd(const struct opts *o, int fd, short events, short *revents)
{
	for (;;) {
		int ms = remaining_ms(o), n;
		struct pollfd p = { .fd = fd, .events = events };

		if (ms <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ETIMEDOUT;
		if (p.revents & POLLNVAL)
			return -EBADF;
		if (revents)
			*revents = p.revents;
		return 0;
	}
}

/* write_all: LEN bytes to a non-blocking socket, waiting (up to the deadline) whenever it is full. */
static int write_all(const struct opts *o, int fd, const unsigned char *buf, size_t len)
{
	while (len) {
		ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);

		if (k < 0) {
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = wait_fd(o, fd, POLLOUT, NULL);
			if (r < 0)
				return r;
			continue;
		}
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

static int write_ready_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (write(fd, "ready\n", 6) != 6) {
		int err = errno ? -errno : -EIO;

		close(fd);
		return err;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* listener_open: bound, listening, non-blocking; *made_path when a Unix socket file was created. */
static int listener_open(const struct opts *o, const struct endpoint *ep, bool *made_path)
{
	int fd = ep_socket(ep), r;

	*made_path = false;
	if (fd < 0) {
		complain(ep, "socket", fd);
		return fd;
	}
	r = set_rcvbuf(o, ep, fd);
	if (r < 0) {
		complain(ep, "--rcvbuf", r);
		close(fd);
		return r;
	}
	if (ep_is_vsock(ep)) {
		struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = ep->port };

		if (bind(fd, (struct sockaddr *)&svm, sizeof(svm)) < 0)
			goto fail;
	} else {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		struct stat st;

		/* A stale socket from an earlier run is removed; anything else at PATH is not ours to delete. */
		if (lstat(ep->path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				fprintf(stderr, "vsock-peer: %s: %s exists and is not a socket: not replacing it\n",
					ep->spec, ep->path);
				close(fd);
				return -EEXIST;
			}
			if (unlink(ep->path) < 0)
				goto fail;
		}
		memcpy(sun.sun_path, ep->path, strlen(ep->path) + 1);
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			goto fail;
		*made_path = true;
	}
	/* The largest backlog: concurrent clients connect all at once, before the first accept. */
	if (listen(fd, SOMAXCONN) < 0)
		goto fail;
	r = set_nonblock(fd, true);
	if (r < 0) {
		complain(ep, "fcntl", r);
		close(fd);
		return r;
	}
	if (o->ready && (r = write_ready_file(o->ready)) < 0) {
		fprintf(stderr, "vsock-peer: --ready %s: %s\n", o->ready, strerror(-r));
		close(fd);
		return r;
	}
	if (o->verbose)
		fprintf(stderr, "vsock-peer: %s: listening\n", ep->spec);
	return fd;
fail:
	r = -errno;
	complain(ep, "bind/listen", r);
	close(fd);
	return r;
}

/*
 * accept_ready: the connection the listener has ready, non-blocking and tuned; -EAGAIN when there is
 * none after all (taken by a signal, or aborted before it was accepted), else -errno.
 */
static int accept_ready(const struct endpoint *ep, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd >= 0) {
		tune_unix(ep, fd);
		return fd;
	}
	if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED)
		return -EAGAIN;
	return -errno;
}

/* accept_wait: the next connection, non-blocking, or -errno (-ETIMEDOUT at the deadline). */
static int accept_wait(const struct opts *o, const struct endpoint *ep, int lfd)
{
	for (;;) {
		int fd = accept_ready(ep, lfd), r;

		if (fd != -EAGAIN)
			return fd;
		r = wait_fd(o, lfd, POLLIN, NULL);
		if (r < 0)
			return r;
	}
}

/* ---------------------------------------------------------------- outgoing connections */

/* A connection being made, step by step, so many can be made at once under one poll(). */
enum link_state { L_CONNECTING, L_HELLO_SEND, L_HELLO_RECV, L_READY };

struct link {
	int fd;
	enum link_state st;
	bool seqpacket;
	bool hung_up;		/* the other end closed before "OK": how a hybrid device reports a refused port */
	int hung_err;		/* 0 for an orderly close, else the error the read gave */
	bool cut;		/* closed in the middle of the answer line */
	size_t hello_len, hello_off, reply_len;
	char hello[32];
	char reply[64];
	unsigned long long ok_port;
};

static short link_events(const struct link *l)
{
	return l->st == L_HELLO_RECV ? POLLIN : POLLOUT;
}

/* link_start: the socket and its connect. A vsock connect is non-blocking (it ends in poll: a reset comes
 * back as POLLERR, and many run at once); a Unix connect completes at once unless the listener's backlog is
 * full, and then blocks, bounded by SO_SNDTIMEO, because a non-blocking one would fail with EAGAIN. */
static int link_start(const struct opts *o, const struct endpoint *ep, struct link *l)
{
	int fd, r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->seqpacket = ep->type == SOCK_SEQPACKET;
	fd = ep_socket(ep);
	if (fd < 0)
		return fd;
	l->fd = fd;
	r = set_rcvbuf(o, ep, fd);
	if (r < 0)
		return r;
	if (ep_is_vsock(ep)) {
		struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = ep->cid, .svm_port = ep->port };

		r = set_nonblock(fd, true);
		if (r < 0)
			return r;
		if (connect(fd, (struct sockaddr *)&svm, sizeof(svm)) == 0) {
			l->st = L_READY;
			return 0;
		}
		if (errno != EINPROGRESS)
			return -errno;
		l->st = L_CONNECTING;
		return 0;
	}

	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memcpy(sun.sun_path, ep->path, strlen(ep->path) + 1);
	r = set_timeouts(o, fd);
	if (r < 0)
		return r;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return errno == EAGAIN || errno == EINPROGRESS ? -ETIMEDOUT : -errno;
	r = set_nonblock(fd, true);
	if (r < 0)
		return r;
	if (ep->kind == EP_UNIX) {
		l->st = L_READY;
		return 0;
	}
	l->hello_len = (size_t)snprintf(l->hello, sizeof(l->hello), "CONNECT %u\n", ep->port);
	l->st = L_HELLO_SEND;
	return 0;
}

/* parse_ok: the answer must be exactly "OK <decimal>\n". */
static int parse_ok(struct link *l)
{
	const char *p = l->reply + 3;
	char *end;

	if (l->reply_len < 5 || strncmp(l->reply, "OK ", 3) || *p < '0' || *p > '9')
		return -EPROTO;
	errno = 0;
	l->ok_port = strtoull(p, &end, 10);
	if (errno || *end != '\n' || end[1] != '\0')
		return -EPROTO;
	return 0;
}

/* link_step: progress after poll() said REVENTS. 1 ready, 0 wait again (for link_events()), -errno. */
static int link_step(struct link *l, short revents)
{
	int err = 0;
	socklen_t len = sizeof(err);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	ssize_t k;

	switch (l->st) {
	case L_CONNECTING:
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return -errno;
		if (err)
			return -err;
		/* Writable without an error should mean connected; a closed socket polls writable too. */
		if (getpeername(l->fd, (struct sockaddr *)&peer, &plen) < 0)
			return errno == ENOTCONN ? -ECONNREFUSED : -errno;
		l->st = L_READY;
		return 1;
	case L_HELLO_SEND:
		while (l->hello_off < l->hello_len) {
			k = send(l->fd, l->hello + l->hello_off, l->hello_len - l->hello_off, MSG_NOSIGNAL);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
			}
			l->hello_off += (size_t)k;
		}
		l->st = L_HELLO_RECV;
		__attribute__((fallthrough));	/* the answer may be there already */
	case L_HELLO_RECV:
		for (;;) {
			/* A stream is read a byte at a time: what follows the line is the guest's data, not ours to
			 * consume here. A SEQPACKET answer is one message. */
			size_t want = l->seqpacket ? sizeof(l->reply) - 1 : 1;

			if (l->reply_len + want > sizeof(l->reply) - 1)
				return -EPROTO;
			k = recv(l->fd, l->reply + l->reply_len, want, 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			if (k <= 0) {
				/* Closed with part of a line sent is a broken answer, not a refused port. */
				if (l->reply_len) {
					l->cut = true;
					return -EPROTO;
				}
				l->hung_up = true;
				l->hung_err = k < 0 ? errno : 0;
				return k < 0 ? -errno : -ECONNRESET;
			}
			l->reply_len += (size_t)k;
			l->reply[l->reply_len] = '\0';
			if (l->seqpacket || l->reply[l->reply_len - 1] == '\n')
				break;
		}
		if (parse_ok(l) < 0)
			return -EPROTO;
		l->st = L_READY;
		return 1;
	case L_READY:
		return 1;
	}
	return -EINVAL;
}

/* link_complain: why a connect failed, in words. */
static void link_complain(const struct endpoint *ep, const struct link *l, int err)
{
	char shown[sizeof(l->reply) * 4];
	size_t j = 0;

	if (l->hung_up) {
		fprintf(stderr, "vsock-peer: %s: the other end %s before answering OK to 'CONNECT %u' "
			"(nothing listening on guest port %u?)\n", ep->spec,
			l->hung_err ? "reset the connection" : "closed the connection", ep->port, ep->port);
		return;
	}
	if (err == -EPROTO) {
		for (size_t i = 0; i < l->reply_len && j + 5 < sizeof(shown); i++) {
			unsigned char c = (unsigned char)l->reply[i];

			if (c >= 0x20 && c < 0x7f && c != '\\')
				shown[j++] = (char)c;
			else
				j += (size_t)snprintf(shown + j, sizeof(shown) - j, "\\x%02x", c);
		}
		shown[j] = '\0';
		fprintf(stderr, "vsock-peer: %s: expected 'OK <port>\\n' in answer to 'CONNECT %u', got '%s'%s\n",
			ep->spec, ep->port, shown, l->cut ? ", then the connection closed"
			: l->reply_len >= sizeof(l->reply) - 1 ? " (too long)" : "");
		return;
	}
	complain(ep, l->fd < 0 ? "socket" : "connect", err);
}

static int link_wait(const struct opts *o, struct link *l)
{
	while (l->st != L_READY) {
		short rev = 0;
		int r = wait_fd(o, l->fd, link_events(l), &rev);

		if (r < 0)
			return r;
		r = link_step(l, rev);
		if (r < 0)
			return r;
	}
	return 0;
}

/* conn_open: one ready, non-blocking connection: accepted on LFD, or made to EP. Complains on failure. */
static int conn_open(const struct opts *o, const struct endpoint *ep, int lfd)
{
	struct link l;
	int r;

	if (ep_listens(ep)) {
		r = accept_wait(o, ep, lfd);
		if (r < 0)
			complain(ep, "accept", r);
		else if (o->verbose)
			fprintf(stderr, "vsock-peer: %s: accepted a connection\n", ep->spec);
		return r;
	}
	r = link_start(o, ep, &l);
	if (r >= 0)
		r = link_wait(o, &l);
	if (r < 0) {
		link_complain(ep, &l, r);
		if (l.fd >= 0)
			close(l.fd);
		return r;
	}
	if (o->verbose) {
		if (ep->kind == EP_UDS)
			fprintf(stderr, "vsock-peer: %s: connected, OK %llu\n", ep->spec, l.ok_port);
		else
			fprintf(stderr, "vsock-peer: %s: connected\n", ep->spec);
	}
	return l.fd;
}

/* ---------------------------------------------------------------- a stream that sends a pattern and checks its echo */

struct xfer {
	uint64_t seed, total, sent, recvd, sum;
	uint64_t bad_at;	/* first offset where the echo differs (or runs past what was sent), or NO_BAD */
	bool shut, eof;
};

static void xfer_init(struct xfer *x, uint64_t seed, uint64_t total)
{
	memset(x, 0, sizeof(*x));
	x->seed = seed;
	x->total = total;
	x->sum = SUM_INIT;
	x->bad_at = NO_BAD;
}

/* xfer_send: as much of the pattern as the socket takes; SHUT_WR once all is sent. SCRATCH holds CHUNK. */
static int xfer_send(int fd, struct xfer *x, unsigned char *scratch, size_t chunk)
{
	while (x->sent < x->total) {
		size_t n = x->total - x->sent < chunk ? (size_t)(x->total - x->sent) : chunk;
		ssize_t k;

		pattern_fill(x->seed, x->sent, scratch, n);
		k = send(fd, scratch, n, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		x->sum = sum_update(x->sum, scratch, (size_t)k);
		x->sent += (uint64_t)k;
	}
	if (!x->shut) {
		if (shutdown(fd, SHUT_WR) < 0)
			return -errno;
		x->shut = true;
	}
	return 0;
}

/* xfer_recv: everything readable now, checked against the pattern. BUF and SCRATCH hold RBUF_SIZE. */
static int xfer_recv(int fd, struct xfer *x, unsigned char *buf, unsigned char *scratch)
{
	for (;;) {
		ssize_t k = recv(fd, buf, RBUF_SIZE, 0);

		if (k == 0) {
			x->eof = true;
			return 0;
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		if (x->bad_at == NO_BAD) {
			if (x->recvd + (uint64_t)k > x->total) {
				x->bad_at = x->total;
			} else {
				size_t d;

				pattern_fill(x->seed, x->recvd, scratch, (size_t)k);
				d = first_diff(buf, scratch, (size_t)k);
				if (d < (size_t)k)
					x->bad_at = x->recvd + d;
			}
		}
		x->recvd += (uint64_t)k;
	}
}

static bool xfer_echo_ok(const struct xfer *x)
{
	return x->eof && x->sent == x->total && x->recvd == x->total && x->bad_at == NO_BAD;
}

/* ---------------------------------------------------------------- roles */

struct bufs {
	unsigned char *rbuf, *scratch;	/* RBUF_SIZE, and max(RBUF_SIZE, chunk, MAX_MSG) */
};

static int role_send(const struct opts *o, const struct endpoint *ep, int lfd, uint64_t bytes, struct bufs *b)
{
	struct xfer x;
	int64_t t0;
	int fd, r = 0;
	bool ok;

	xfer_init(&x, o->seed, bytes);
	fd = conn_open(o, ep, lfd);
	t0 = now_ms();
	if (fd < 0) {
		r = fd;
		goto out;
	}
	while (!x.eof) {
		short ev = POLLIN, rev = 0;

		if (x.sent < x.total || !x.shut)
			ev |= POLLOUT;
		r = wait_fd(o, fd, ev, &rev);
		if (r < 0) {
			complain(ep, "waiting for the peer", r);
			break;
		}
		if ((x.sent < x.total || !x.shut) && (rev & (POLLOUT | POLLERR | POLLHUP))) {
			r = xfer_send(fd, &x, b->scratch, o->chunk);
			if (r < 0) {
				complain(ep, "send", r);
				break;
			}
		}
		if (rev & (POLLIN | POLLERR | POLLHUP)) {
			r = xfer_recv(fd, &x, b->rbuf, b->scratch);
			if (r < 0) {
				complain(ep, "recv", r);
				break;
			}
		}
	}
	close(fd);
out:
	ok = xfer_echo_ok(&x);
	printf("sent=%" PRIu64 " recv=%" PRIu64 " sum=%016" PRIx64 " echo_ok=%d ms=%" PRId64 "\n",
	       x.sent, x.recvd, x.sum, ok, now_ms() - t0);
	if (r < 0)
		return EXIT_FAIL;
	/* The peer's EOF ends the loop: one that came before every byte was sent cut the transfer short. */
	if (x.sent < x.total) {
		fprintf(stderr, "vsock-peer: %s: short: the peer closed after %" PRIu64 " of %" PRIu64 " bytes were sent\n",
			ep->spec, x.sent, x.total);
		return EXIT_FAIL;
	}
	if (!ok && (o->expect_echo || x.recvd > 0)) {
		if (x.bad_at != NO_BAD)
			fprintf(stderr, "vsock-peer: %s: the echo differs from what was sent at offset %" PRIu64 "\n",
				ep->spec, x.bad_at);
		else
			fprintf(stderr, "vsock-peer: %s: %" PRIu64 " bytes echoed of %" PRIu64 " sent\n",
				ep->spec, x.recvd, x.sent);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int role_recv(const struct opts *o, const struct endpoint *ep, int lfd, struct bufs *b)
{
	uint64_t n = 0, sum = SUM_INIT, bad_at = NO_BAD;
	bool paused = false;
	int64_t t0;
	int fd, r = 0;

	fd = conn_open(o, ep, lfd);
	t0 = now_ms();
	if (fd < 0) {
		r = fd;
		goto out;
	}
	for (;;) {
		/* A slow reader (--read-size, --read-delay, --pause-after): the sender runs out of credit. */
		ssize_t k = recv(fd, b->rbuf, o->read_size, 0);

		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				r = -errno;
				complain(ep, "recv", r);
				break;
			}
			r = wait_fd(o, fd, POLLIN, NULL);
			if (r < 0) {
				complain(ep, "waiting for data", r);
				break;
			}
			continue;
		}
		sum = sum_update(sum, b->rbuf, (size_t)k);
		if (o->have_expect && bad_at == NO_BAD) {
			if (n + (uint64_t)k > o->expect) {
				bad_at = o->expect;
			} else {
				size_t d;

				pattern_fill(o->seed, n, b->scratch, (size_t)k);
				d = first_diff(b->rbuf, b->scratch, (size_t)k);
				if (d < (size_t)k)
					bad_at = n + d;
			}
		}
		n += (uint64_t)k;
		if (o->pause_ms && !paused && n >= o->pause_after) {
			paused = true;
			sleep_ms(o, o->pause_ms);
		} else if (o->read_delay_ms) {
			sleep_ms(o, o->read_delay_ms);
		}
	}
	close(fd);
out:
	printf("recv=%" PRIu64 " sum=%016" PRIx64 " ms=%" PRId64 "\n", n, sum, now_ms() - t0);
	if (r < 0)
		return EXIT_FAIL;
	if (o->have_expect && (n != o->expect || bad_at != NO_BAD)) {
		if (bad_at != NO_BAD && bad_at < o->expect)
			fprintf(stderr, "vsock-peer: %s: received data differs from the pattern (seed %" PRIu64
				") at offset %" PRIu64 "\n", ep->spec, o->seed, bad_at);
		else
			fprintf(stderr, "vsock-peer: %s: received %" PRIu64 " bytes, expected %" PRIu64 "\n",
				ep->spec, n, o->expect);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* One connection of the echo server. */
struct echo_conn {
	struct link l;
	bool linking;		/* still connecting (connecting endpoints) */
	unsigned char *buf;
	size_t off, len;	/* what is read and not yet written back */
	bool eof;
	uint64_t bytes;
};

/* echo_step: echo what can be echoed now. 1 when the connection is over (EOF, all written back), 0 more
 * to come, -errno. Bounded, so one busy connection cannot starve the others. */
static int echo_step(struct echo_conn *c, short rev)
{
	/* REV matters only while connecting: echoing just tries, and EAGAIN ends the turn. */
	if (c->linking) {
		int r = link_step(&c->l, rev);

		if (r <= 0)
			return r;
		c->linking = false;	/* and go on at once: the echo loop below needs no poll result */
	}
	for (int round = 0; round < 16; round++) {
		while (c->off < c->len) {
			ssize_t k = send(c->l.fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

			if (k < 0) {
				if (errno == EINTR)
					continue;
				return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
			}
			c->off += (size_t)k;
			c->bytes += (uint64_t)k;
		}
		if (c->eof) {
			if (shutdown(c->l.fd, SHUT_WR) < 0 && errno != ENOTCONN)
				return -errno;
			return 1;
		}
		ssize_t k = recv(c->l.fd, c->buf, RBUF_SIZE, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		}
		c->off = 0;
		c->len = (size_t)k;
		if (k == 0)
			c->eof = true;
	}
	return 0;
}

static short echo_events(const struct echo_conn *c)
{
	if (c->linking)
		return link_events(&c->l);
	return c->off < c->len ? POLLOUT : POLLIN;
}

/* role_echo: COUNT connections, one at a time or (--parallel) all at once, every byte written back. */
static int role_echo(const struct opts *o, const struct endpoint *ep, int lfd)
{
	unsigned count = o->count, max_active = o->parallel ? o->count : 1;
	unsigned opened = 0, active = 0, served = 0, failed = 0;
	uint64_t bytes = 0;
	struct echo_conn *c = calloc(count, sizeof(*c));
	struct pollfd *pfd = calloc(count + 1, sizeof(*pfd));
	unsigned *who = calloc(count + 1, sizeof(*who));
	int r = 0;

	if (!c || !pfd || !who) {
		fprintf(stderr, "vsock-peer: out of memory\n");
		r = -ENOMEM;
		goto out;
	}
	while (served + failed < count) {
		unsigned np = 0;
		int ms, n;

		/* Connecting endpoints: start connections up to the limit. */
		while (!ep_listens(ep) && opened < count && active < max_active) {
			struct echo_conn *e = &c[opened++];

			int s;

			e->buf = malloc(RBUF_SIZE);
			s = e->buf ? link_start(o, ep, &e->l) : -ENOMEM;
			if (s < 0) {
				link_complain(ep, &e->l, s);
				if (e->l.fd >= 0)
					close(e->l.fd);
				e->l.fd = -1;
				failed++;
				continue;
			}
			e->linking = e->l.st != L_READY;
			active++;
		}
		if (ep_listens(ep) && opened < count && active < max_active) {
			pfd[np] = (struct pollfd){ .fd = lfd, .events = POLLIN };
			who[np++] = UINT_MAX;
		}
		for (unsigned i = 0; i < opened; i++) {
			if (c[i].l.fd < 0)
				continue;
			pfd[np] = (struct pollfd){ .fd = c[i].l.fd, .events = echo_events(&c[i]) };
			who[np++] = i;
		}
		if (np == 0)
			break;
		ms = remaining_ms(o);
		if (ms <= 0 || (n = poll(pfd, np, ms)) == 0) {
			r = -ETIMEDOUT;
			complain(ep, "echo", r);
			break;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			complain(ep, "poll", r);
			break;
		}
		for (unsigned j = 0; j < np; j++) {
			struct echo_conn *e;

			if (!pfd[j].revents)
				continue;
			if (who[j] == UINT_MAX) {
				int fd = accept_ready(ep, lfd);

				if (fd == -EAGAIN)
					continue;
				if (fd < 0) {
					r = fd;
					complain(ep, "accept", r);
					goto out;
				}
				e = &c[opened++];
				e->l.fd = fd;
				e->l.st = L_READY;
				e->buf = malloc(RBUF_SIZE);
				if (!e->buf) {
					close(fd);
					e->l.fd = -1;
					failed++;
					continue;
				}
				active++;
				continue;
			}
			e = &c[who[j]];
			int s = echo_step(e, pfd[j].revents);

			if (s == 0)
				continue;
			/* One connection failing is counted; the others are still served. */
			if (s < 0) {
				if (e->linking)
					link_complain(ep, &e->l, s);
				else
					complain(ep, "echo", s);
				failed++;
			} else {
				served++;
			}
			bytes += e->bytes;
			close(e->l.fd);
			e->l.fd = -1;
			free(e->buf);
			e->buf = NULL;
			active--;
		}
	}
out:
	if (c) {
		for (unsigned i = 0; i < opened; i++) {
			if (c[i].l.fd >= 0) {
				bytes += c[i].bytes;
				close(c[i].l.fd);
			}
			free(c[i].buf);
		}
	}
	free(c);
	free(pfd);
	free(who);
	printf("served=%u bytes=%" PRIu64 " failed=%u\n", served, bytes, count - served);
	return r == 0 && served == count ? EXIT_OK : EXIT_FAIL;
}

/* One connection of the concurrent client. */
struct cc_conn {
	struct link l;
	bool linking, done;
	struct xfer x;
};

static int cc_step(const struct opts *o, struct cc_conn *c, short rev, struct bufs *b)
{
	int r;

	if (c->linking) {
		r = link_step(&c->l, rev);
		if (r <= 0)
			return r;
		c->linking = false;
		rev = POLLIN | POLLOUT;
	}
	if ((c->x.sent < c->x.total || !c->x.shut) && (rev & (POLLOUT | POLLERR | POLLHUP))) {
		r = xfer_send(c->l.fd, &c->x, b->scratch, o->chunk);
		if (r < 0)
			return r;
	}
	if (rev & (POLLIN | POLLERR | POLLHUP)) {
		r = xfer_recv(c->l.fd, &c->x, b->rbuf, b->scratch);
		if (r < 0)
			return r;
	}
	return c->x.eof ? 1 : 0;
}

/* role_concurrent: N connections at once under one poll(), each its own pattern, each echo checked. */
static int role_concurrent(const struct opts *o, const struct endpoint *ep, int lfd, unsigned n, uint64_t bytes,
			   struct bufs *b)
{
	struct cc_conn *c = calloc(n, sizeof(*c));
	struct pollfd *pfd = calloc(n + 1, sizeof(*pfd));
	unsigned *who = calloc(n + 1, sizeof(*who));
	unsigned opened = 0, done = 0, ok = 0;
	uint64_t total = 0;
	int64_t t0 = now_ms();
	int r = 0;

	if (!c || !pfd || !who) {
		fprintf(stderr, "vsock-peer: out of memory\n");
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		c[i].l.fd = -1;
		xfer_init(&c[i].x, o->seed + i, bytes);
	}
	/* Connecting endpoints: every connect starts before any completes. */
	while (!ep_listens(ep) && opened < n) {
		struct cc_conn *e = &c[opened++];

		r = link_start(o, ep, &e->l);
		if (r < 0) {
			link_complain(ep, &e->l, r);
			if (e->l.fd >= 0)
				close(e->l.fd);
			e->l.fd = -1;
			e->done = true;
			done++;
			continue;
		}
		e->linking = e->l.st != L_READY;
	}
	r = 0;
	while (done < n) {
		unsigned np = 0;
		int ms, k;

		if (ep_listens(ep) && opened < n) {
			pfd[np] = (struct pollfd){ .fd = lfd, .events = POLLIN };
			who[np++] = UINT_MAX;
		}
		for (unsigned i = 0; i < opened; i++) {
			struct cc_conn *e = &c[i];
			short ev;

			if (e->done)
				continue;
			if (e->linking)
				ev = link_events(&e->l);
			else
				ev = POLLIN | (e->x.sent < e->x.total || !e->x.shut ? POLLOUT : 0);
			pfd[np] = (struct pollfd){ .fd = e->l.fd, .events = ev };
			who[np++] = i;
		}
		ms = remaining_ms(o);
		if (ms <= 0 || (k = poll(pfd, np, ms)) == 0) {
			r = -ETIMEDOUT;
			fprintf(stderr, "vsock-peer: %s: concurrent: timed out with %u of %u connections finished\n",
				ep->spec, done, n);
			break;
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			complain(ep, "poll", r);
			break;
		}
		for (unsigned j = 0; j < np; j++) {
			struct cc_conn *e;

			if (!pfd[j].revents)
				continue;
			if (who[j] == UINT_MAX) {
				int fd = accept_ready(ep, lfd);

				if (fd == -EAGAIN)
					continue;
				if (fd < 0) {
					r = fd;
					complain(ep, "accept", r);
					goto out;
				}
				e = &c[opened++];
				e->l.fd = fd;
				e->l.st = L_READY;
				continue;
			}
			e = &c[who[j]];
			r = cc_step(o, e, pfd[j].revents, b);
			if (r == 0)
				continue;
			if (r < 0) {
				char what[48];

				snprintf(what, sizeof(what), "connection %u", who[j]);
				if (e->linking)
					link_complain(ep, &e->l, r);
				else
					complain(ep, what, r);
			} else if (xfer_echo_ok(&e->x)) {
				ok++;
			} else {
				fprintf(stderr, "vsock-peer: %s: connection %u: %" PRIu64 " of %" PRIu64
					" bytes echoed, first difference at %" PRIu64 "\n", ep->spec, who[j],
					e->x.recvd, e->x.total, e->x.bad_at == NO_BAD ? e->x.recvd : e->x.bad_at);
			}
			close(e->l.fd);
			e->l.fd = -1;
			e->done = true;
			done++;
		}
		r = 0;
	}
out:
	if (c) {
		for (unsigned i = 0; i < n; i++) {
			total += c[i].x.recvd;
			if (c[i].l.fd >= 0)
				close(c[i].l.fd);
		}
	}
	free(c);
	free(pfd);
	free(who);
	printf("conns=%u ok=%u bytes=%" PRIu64 " ms=%" PRId64 "\n", n, ok, total, now_ms() - t0);
	return r == 0 && ok == n ? EXIT_OK : EXIT_FAIL;
}

/* role_halfclose_client: send BYTES, SHUT_WR, then the server's answer must still arrive: the count and
 * checksum of what it got, then HC_TAIL bytes of the pattern seeded with that checksum. */
static int role_halfclose_client(const struct opts *o, const struct endpoint *ep, int lfd, uint64_t bytes,
				 struct bufs *b)
{
	unsigned char *ans = b->rbuf;	/* HC_ANSWER < RBUF_SIZE: the rest of rbuf catches any excess */
	uint64_t got = 0, early = 0;
	struct xfer x;
	int64_t t0;
	int fd, r = 0;
	bool ok = false;

	xfer_init(&x, o->seed, bytes);
	fd = conn_open(o, ep, lfd);
	t0 = now_ms();
	if (fd < 0) {
		r = fd;
		goto out;
	}
	for (;;) {
		short ev = POLLIN, rev = 0;
		ssize_t k;

		if (!x.shut)
			ev |= POLLOUT;
		r = wait_fd(o, fd, ev, &rev);
		if (r < 0) {
			complain(ep, "waiting for the peer", r);
			break;
		}
		if (!x.shut && (rev & (POLLOUT | POLLERR | POLLHUP))) {
			r = xfer_send(fd, &x, b->scratch, o->chunk);
			if (r < 0) {
				complain(ep, "send", r);
				break;
			}
		}
		if (!(rev & (POLLIN | POLLERR | POLLHUP)))
			continue;
		k = recv(fd, ans + (got < HC_ANSWER ? got : HC_ANSWER), RBUF_SIZE - HC_ANSWER, 0);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			r = -errno;
			complain(ep, "recv", r);
			break;
		}
		if (k == 0)
			break;
		if (!x.shut)
			early += (uint64_t)k;
		got += (uint64_t)k;
	}
	close(fd);
	if (r < 0)
		goto out;
	if (early)
		fprintf(stderr, "vsock-peer: %s: the server answered %" PRIu64 " bytes before this side shut down "
			"sending\n", ep->spec, early);
	else if (got != HC_ANSWER)
		fprintf(stderr, "vsock-peer: %s: the answer is %" PRIu64 " bytes, expected %u\n", ep->spec, got,
			HC_ANSWER);
	else if (get_le64(ans) != x.sent || get_le64(ans + 8) != x.sum)
		fprintf(stderr, "vsock-peer: %s: the server counted %" PRIu64 " bytes, sum %016" PRIx64
			"; sent %" PRIu64 ", sum %016" PRIx64 "\n", ep->spec, get_le64(ans), get_le64(ans + 8),
			x.sent, x.sum);
	else {
		size_t d;

		pattern_fill(x.sum, 0, b->scratch, HC_TAIL);
		d = first_diff(ans + 16, b->scratch, HC_TAIL);
		if (d < HC_TAIL)
			fprintf(stderr, "vsock-peer: %s: the answer's tail differs at its byte %zu\n", ep->spec, d);
		else
			ok = true;
	}
out:
	printf("sent=%" PRIu64 " answer=%" PRIu64 " ok=%d ms=%" PRId64 "\n", x.sent, got, ok, now_ms() - t0);
	return r == 0 && ok ? EXIT_OK : EXIT_FAIL;
}

static int role_halfclose_server(const struct opts *o, const struct endpoint *ep, int lfd, struct bufs *b)
{
	uint64_t n = 0, sum = SUM_INIT, answered = 0;
	int fd, r = 0;

	fd = conn_open(o, ep, lfd);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	for (;;) {
		ssize_t k = recv(fd, b->rbuf, RBUF_SIZE, 0);

		if (k == 0)
			break;
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				r = -errno;
				complain(ep, "recv", r);
				goto done;
			}
			r = wait_fd(o, fd, POLLIN, NULL);
			if (r < 0) {
				complain(ep, "waiting for data", r);
				goto done;
			}
			continue;
		}
		sum = sum_update(sum, b->rbuf, (size_t)k);
		n += (uint64_t)k;
	}
	/* Only now, after the client's SHUT_WR: the answer travels the direction still open. */
	put_le64(b->scratch, n);
	put_le64(b->scratch + 8, sum);
	pattern_fill(sum, 0, b->scratch + 16, HC_TAIL);
	r = write_all(o, fd, b->scratch, HC_ANSWER);
	if (r < 0) {
		complain(ep, "send the answer", r);
		goto done;
	}
	answered = HC_ANSWER;
	if (shutdown(fd, SHUT_WR) < 0) {
		r = -errno;
		complain(ep, "shutdown", r);
	}
done:
	close(fd);
out:
	printf("recv=%" PRIu64 " sum=%016" PRIx64 " answered=%" PRIu64 "\n", n, sum, answered);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

/* ---------------------------------------------------------------- SEQPACKET */

struct seqmsg {
	uint32_t size;
	bool eor;
};

/* parse_sizes: "1,100,4096e" (and more arguments) into messages; a trailing e asks for MSG_EOR. */
static int parse_sizes(char **args, int nargs, struct seqmsg *m, unsigned *n)
{
	*n = 0;
	for (int a = 0; a < nargs; a++) {
		char tok[32];
		const char *p = args[a];

		while (*p) {
			size_t len = strcspn(p, ",");
			uint64_t v;
			bool eor = false;

			if (len == 0 || len >= sizeof(tok))
				return -EINVAL;
			memcpy(tok, p, len);
			tok[len] = '\0';
			if (tok[len - 1] == 'e' || tok[len - 1] == 'E') {
				eor = true;
				tok[len - 1] = '\0';
			}
			if (parse_u64(tok, true, &v) < 0 || v == 0 || v > MAX_MSG || *n >= MAX_MSGS)
				return -EINVAL;
			m[*n].size = (uint32_t)v;
			m[*n].eor = eor;
			(*n)++;
			p += len;
			if (*p == ',')
				p++;
		}
	}
	return *n ? 0 : -EINVAL;
}

/* seq_recv: one message, with its flags; 0 at EOF. The socket is blocking (see seq_prepare). */
static ssize_t seq_recv(const struct opts *o, int fd, unsigned char *buf, size_t size, int *flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t k;
	int r;

	r = wait_fd(o, fd, POLLIN, NULL);
	if (r < 0)
		return r;
	do
		k = recvmsg(fd, &msg, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	*flags = msg.msg_flags;
	return k;
}

/* seq_send: one whole message; a short count would be half a message, so it is an error. */
static int seq_send(int fd, const unsigned char *buf, size_t size, bool eor)
{
	ssize_t k;

	do
		k = send(fd, buf, size, MSG_NOSIGNAL | (eor ? MSG_EOR : 0));
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	return (size_t)k == size ? 0 : -EMSGSIZE;
}

/* seq_prepare: SEQPACKET sockets block, bounded by the deadline: a non-blocking vsock SEQPACKET send that
 * runs out of credit can return having sent part of a message, with no way to finish it. */
static int seq_prepare(const struct opts *o, int fd)
{
	int r = set_nonblock(fd, false);

	return r < 0 ? r : set_timeouts(o, fd);
}

static int role_seq_send(const struct opts *o, const struct endpoint *ep, int lfd, const struct seqmsg *m,
			 unsigned n, struct bufs *b)
{
	/* EOR reaches the receiver on vsock; Unix SEQPACKET never reports it. */
	bool check_eor = ep_is_vsock(ep) && !o->no_eor_check;
	unsigned next = 0, got = 0, ok = 0, eor_seen = 0, eor_sent = 0;
	uint64_t outstanding = 0;
	int64_t t0;
	int fd, r = 0, flags;
	ssize_t k;

	for (unsigned i = 0; i < n; i++)
		eor_sent += m[i].eor;
	fd = conn_open(o, ep, lfd);
	t0 = now_ms();
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = seq_prepare(o, fd);
	if (r < 0) {
		complain(ep, "socket options", r);
		goto done;
	}
	while (got < n) {
		/* A window of echoes in flight, so the echo side never blocks on a full receive buffer here
		 * while this side blocks sending to it; a message larger than the window goes alone. */
		while (next < n && (next == got || outstanding + m[next].size <= o->window)) {
			pattern_fill(o->seed + next, 0, b->scratch, m[next].size);
			r = seq_send(fd, b->scratch, m[next].size, m[next].eor);
			if (r < 0) {
				fprintf(stderr, "vsock-peer: %s: message %u (%" PRIu32 " bytes): send: %s\n", ep->spec,
					next, m[next].size, strerror(-r));
				goto done;
			}
			outstanding += m[next].size;
			next++;
		}
		k = seq_recv(o, fd, b->rbuf, MAX_MSG, &flags);
		if (k <= 0) {
			r = k < 0 ? (int)k : -ECONNRESET;
			if (k == 0)
				fprintf(stderr, "vsock-peer: %s: EOF after %u echoed messages of %u\n", ep->spec, got, n);
			else
				complain(ep, "recvmsg", r);
			goto done;
		}
		bool eor = flags & MSG_EOR, good = true;

		eor_seen += eor;
		if (flags & MSG_TRUNC) {
			fprintf(stderr, "vsock-peer: %s: message %u: truncated (MSG_TRUNC), larger than %u bytes\n",
				ep->spec, got, MAX_MSG);
			good = false;
		} else if ((size_t)k != m[got].size) {
			fprintf(stderr, "vsock-peer: %s: message %u: %zd bytes, expected %" PRIu32 "\n", ep->spec, got,
				k, m[got].size);
			good = false;
		} else {
			pattern_fill(o->seed + got, 0, b->scratch, m[got].size);
			size_t d = first_diff(b->rbuf, b->scratch, m[got].size);

			if (d < m[got].size) {
				fprintf(stderr, "vsock-peer: %s: message %u: differs at byte %zu\n", ep->spec, got, d);
				good = false;
			}
		}
		if (check_eor && eor != m[got].eor) {
			fprintf(stderr, "vsock-peer: %s: message %u: MSG_EOR %s, sent %s\n", ep->spec, got,
				eor ? "set" : "missing", m[got].eor ? "with it" : "without");
			good = false;
		}
		ok += good;
		outstanding -= m[got].size;
		got++;
	}
	if (shutdown(fd, SHUT_WR) < 0) {
		r = -errno;
		complain(ep, "shutdown", r);
		goto done;
	}
	k = seq_recv(o, fd, b->rbuf, MAX_MSG, &flags);
	if (k != 0) {
		r = k < 0 ? (int)k : -EPROTO;
		if (k > 0)
			fprintf(stderr, "vsock-peer: %s: an extra message of %zd bytes after the last echo\n", ep->spec, k);
		else
			complain(ep, "waiting for EOF", r);
	}
done:
	close(fd);
out:
	/* msgs is what the run was to carry, so "msgs == ok" is the whole check even when it stopped early. */
	printf("msgs=%u ok=%u eor_seen=%u eor_sent=%u ms=%" PRId64 "\n", n, ok, eor_seen, eor_sent, now_ms() - t0);
	return r == 0 && ok == n ? EXIT_OK : EXIT_FAIL;
}

/* role_seq_echo: every message back as one message, MSG_EOR kept; --count connections one after another. */
static int role_seq_echo(const struct opts *o, const struct endpoint *ep, int lfd, struct bufs *b)
{
	unsigned msgs = 0, eor_seen = 0, served = 0;
	uint64_t bytes = 0;
	int r = 0;

	for (unsigned c = 0; c < o->count && r == 0; c++) {
		int fd = conn_open(o, ep, lfd), flags;

		if (fd < 0) {
			r = fd;
			break;
		}
		r = seq_prepare(o, fd);
		if (r < 0)
			complain(ep, "socket options", r);
		while (r == 0) {
			ssize_t k = seq_recv(o, fd, b->rbuf, MAX_MSG, &flags);

			if (k == 0)
				break;
			if (k < 0) {
				r = (int)k;
				complain(ep, "recvmsg", r);
				break;
			}
			if (flags & MSG_TRUNC) {
				fprintf(stderr, "vsock-peer: %s: a message larger than %u bytes (MSG_TRUNC)\n", ep->spec,
					MAX_MSG);
				r = -EMSGSIZE;
				break;
			}
			msgs++;
			eor_seen += !!(flags & MSG_EOR);
			r = seq_send(fd, b->rbuf, (size_t)k, flags & MSG_EOR);
			if (r < 0) {
				complain(ep, "send", r);
				break;
			}
			bytes += (uint64_t)k;
		}
		if (r == 0 && shutdown(fd, SHUT_WR) < 0) {
			r = -errno;
			complain(ep, "shutdown", r);
		}
		if (r == 0)
			served++;
		close(fd);
	}
	printf("msgs=%u bytes=%" PRIu64 " eor_seen=%u served=%u\n", msgs, bytes, eor_seen, served);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

/* role_expect_reset: the connect must fail with ECONNRESET, and fast. Through a hybrid device, a refused
 * guest port shows as the device closing the Unix connection before "OK": counted as the reset. */
static int role_expect_reset(const struct opts *o, const struct endpoint *ep)
{
	int64_t t0 = now_ms();
	struct link l;
	char nb[16];
	int r = link_start(o, ep, &l), err;

	if (r >= 0)
		r = link_wait(o, &l);
	if (l.fd >= 0)
		close(l.fd);
	if (r == 0) {
		printf("errno=0 ms=%" PRId64 "\n", now_ms() - t0);
		fprintf(stderr, "vsock-peer: %s: connected, but a reset was expected\n", ep->spec);
		return EXIT_FAIL;
	}
	err = -r;
	if (l.hung_up) {
		printf("errno=ECONNRESET ms=%" PRId64 " how=%s\n", now_ms() - t0, l.hung_err ? "reset" : "closed");
		return EXIT_OK;
	}
	printf("errno=%s ms=%" PRId64 "\n", errno_name(err, nb, sizeof(nb)), now_ms() - t0);
	if (err == ECONNRESET)
		return EXIT_OK;
	link_complain(ep, &l, r);
	return EXIT_FAIL;
}

/* ---------------------------------------------------------------- connections left in odd states */

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* role_hold: one connection kept open until SIGTERM or SIGINT (or the deadline): BYTES of the pattern sent
 * first, then SHUT_WR with --shut-wr; what arrives is read and counted, and the socket stays open whatever
 * comes (EOF, a reset). For captures that must end with connections half-closed, idle or reset. The two
 * signals stay blocked but while waiting in ppoll(), so one cannot slip in between a check and the wait. */
static int role_hold(const struct opts *o, const struct endpoint *ep, int lfd, uint64_t bytes, struct bufs *b)
{
	struct sigaction sa = { .sa_handler = on_stop };	/* no SA_RESTART: ppoll() returns EINTR */
	sigset_t block, orig;
	uint64_t sent = 0, n = 0;
	int64_t t0 = now_ms();
	int fd, r = 0, err = 0;
	bool eof = false;
	char nb[16];

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	fd = conn_open(o, ep, lfd);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	while (sent < bytes) {
		size_t c = bytes - sent < o->chunk ? (size_t)(bytes - sent) : o->chunk;

		pattern_fill(o->seed, sent, b->scratch, c);
		r = write_all(o, fd, b->scratch, c);
		if (r < 0) {
			complain(ep, "send", r);
			goto done;
		}
		sent += c;
	}
	if (o->shut_wr && shutdown(fd, SHUT_WR) < 0) {
		r = -errno;
		complain(ep, "shutdown", r);
		goto done;
	}
	/* A connecting endpoint says when its connection is set up; a listening one said so when it listened. */
	if (!ep_listens(ep) && o->ready && (r = write_ready_file(o->ready)) < 0) {
		fprintf(stderr, "vsock-peer: --ready %s: %s\n", o->ready, strerror(-r));
		goto done;
	}
	while (!stop_signal) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ms = remaining_ms(o);
		struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

		if (ms <= 0)
			break;
		/* After EOF or an error the socket polls readable for ever: only the signal or the deadline then. */
		if (ppoll(eof || err ? NULL : &p, eof || err ? 0 : 1, &ts, &orig) <= 0)
			continue;
		/* A signal that came with the data wins: the line tells the state before it came. */
		while (!stop_signal) {
			ssize_t k = recv(fd, b->rbuf, RBUF_SIZE, 0);

			if (k > 0) {
				n += (uint64_t)k;
				continue;
			}
			if (k == 0)
				eof = true;
			else if (errno == EINTR)
				continue;
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				err = errno;
			break;
		}
	}
done:
	close(fd);
out:
	printf("sent=%" PRIu64 " recv=%" PRIu64 " eof=%d err=%s ms=%" PRId64 "\n", sent, n, eof,
	       err ? errno_name(err, nb, sizeof(nb)) : "0", now_ms() - t0);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

/* role_abort: connect, and close before the connect completes. On vsock the REQUEST is on its way, the
 * listener's side accepts it and answers, and the RESPONSE finds no socket: the kernel answers it with an
 * RST, so the listener's connection, established, is reset without any SHUTDOWN. It runs at SCHED_FIFO when
 * it may, so the kernel's worker (vsock_loopback's, say) cannot answer between the connect and the close.
 * pending=1: the connect had not completed at the close (the check: no peer address yet). */
static int role_abort(const struct opts *o, const struct endpoint *ep)
{
	struct sched_param sp = { .sched_priority = 1 };
	bool fifo = sched_setscheduler(0, SCHED_FIFO, &sp) == 0, pending;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct link l;
	int r = link_start(o, ep, &l);

	if (r < 0) {
		link_complain(ep, &l, r);
		if (l.fd >= 0)
			close(l.fd);
		printf("pending=0 fifo=%d\n", fifo);
		return EXIT_FAIL;
	}
	if (ep_is_vsock(ep))
		pending = getpeername(l.fd, (struct sockaddr *)&peer, &plen) < 0;
	else
		pending = l.st != L_READY;	/* a hybrid device's "OK" not read yet */
	close(l.fd);
	printf("pending=%d fifo=%d\n", pending, fifo);
	if (!pending)
		fprintf(stderr, "vsock-peer: %s: the connect completed before the close\n", ep->spec);
	return pending ? EXIT_OK : EXIT_FAIL;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fputs("usage: vsock-peer ROLE ENDPOINT [ARGS] [OPTIONS]\n"
	      "\n"
	      "Roles (each prints one line of key=value pairs on stdout):\n"
	      "  send ENDPOINT BYTES        send BYTES of the seeded pattern, SHUT_WR, read to EOF: an exact echo\n"
	      "                             or nothing (--expect-echo: the echo)   sent= recv= sum= echo_ok= ms=\n"
	      "  recv ENDPOINT              read to EOF (--expect BYTES: and check the pattern)   recv= sum= ms=\n"
	      "  echo ENDPOINT              echo every byte back, then SHUT_WR; --count K connections, one\n"
	      "                             after another or --parallel          served= bytes= failed=\n"
	      "  halfclose-client ENDPOINT BYTES   send, SHUT_WR, then check the server's answer still arrives\n"
	      "                             sent= answer= ok= ms=\n"
	      "  halfclose-server ENDPOINT  read to EOF, then answer: le64 count, le64 sum, 64 KiB of the pattern\n"
	      "                             seeded with that sum                 recv= sum= answered=\n"
	      "  seq-send ENDPOINT SIZES... SEQPACKET: one message per size (1,100,4096e: e = MSG_EOR, at most\n"
	      "                             256K), check each echo               msgs= ok= eor_seen= eor_sent= ms=\n"
	      "  seq-echo ENDPOINT          SEQPACKET: each message back as one, MSG_EOR kept\n"
	      "                             msgs= bytes= eor_seen= served=\n"
	      "  expect-reset ENDPOINT      the connect must fail with ECONNRESET  errno= ms=\n"
	      "  concurrent ENDPOINT N BYTES  N connections at once, each BYTES of its own pattern, echo checked\n"
	      "                             conns= ok= bytes= ms=\n"
	      "  hold ENDPOINT [BYTES]      one connection: send BYTES (default 0), SHUT_WR with --shut-wr, read\n"
	      "                             and count what comes, keep it open until SIGTERM/SIGINT or --timeout\n"
	      "                             sent= recv= eof= err= ms=\n"
	      "  abort ENDPOINT             connect and close before the connect completes (SCHED_FIFO when\n"
	      "                             allowed): on vsock the RESPONSE is answered by an RST\n"
	      "                             pending= fifo=\n"
	      "\n"
	      "Endpoints (a listening one accepts the role's connections, a connecting one makes them):\n"
	      "  vsock:CID:PORT  vsock-listen:PORT   AF_VSOCK: only inside the project's test guest\n"
	      "  uds:PATH:PORT     hybrid vsock (Firecracker, vhost-device-vsock): connect to the device's Unix\n"
	      "                    socket, send \"CONNECT PORT\\n\", expect \"OK <n>\\n\", then the stream\n"
	      "  uds-listen:PATH   listen on a Unix socket (a device forwards guest connections to PATH_PORT)\n"
	      "  unix:PATH         plain Unix connect, no handshake (the other end of uds-listen, for tests)\n"
	      "\n"
	      "Options:\n"
	      "  --seqpacket       SOCK_SEQPACKET (implied by seq-send and seq-echo)\n"
	      "  --seed S          pattern seed (default 1; concurrent connection i and seq message i use S+i)\n"
	      "  --chunk N         bytes per send() (default 64K)\n"
	      "  --expect BYTES    recv: exactly BYTES of the pattern must arrive\n"
	      "  --expect-echo     send: the echo is required\n"
	      "  --count K         echo, seq-echo: connections to serve (default 1)\n"
	      "  --parallel        echo: serve them all at once\n"
	      "  --window BYTES    seq-send: echoes in flight at most (default 128K)\n"
	      "  --no-eor-check    seq-send: do not compare MSG_EOR (checked by default on vsock)\n"
	      "  --ready FILE      a listening endpoint: create FILE once it listens; hold with a connecting\n"
	      "                    one: once connected, BYTES sent and (--shut-wr) shut down\n"
	      "  --read-size N     recv: bytes per recv() (default and at most 256K)\n"
	      "  --read-delay MS   recv: sleep MS after each read (a slow reader)\n"
	      "  --pause-after N   recv: once N bytes arrived, stop reading for --pause-ms (default 0)\n"
	      "  --pause-ms MS     recv: the length of that pause (once)\n"
	      "  --rcvbuf N        before listen or connect: vsock SO_VM_SOCKETS_BUFFER_SIZE (the buf_alloc\n"
	      "                    advertised; accepted sockets inherit it), Unix SO_RCVBUF\n"
	      "  --shut-wr         hold: SHUT_WR once BYTES are sent\n"
	      "  --timeout S       give up after S seconds (default 60)\n"
	      "  -v, --verbose     progress on stderr (e.g. the port in the hybrid OK)\n"
	      "  -h, --help\n"
	      "Sizes take k, m, g (binary). Exit: 0 ok, 1 a check failed, 2 usage or setup error.\n", f);
}

/* on_alarm: the backstop behind the poll() deadlines, for a call that blocks anyway (a SEQPACKET send
 * held up by credit past its SO_SNDTIMEO, say): no test waits on vsock-peer forever. */
static void on_alarm(int sig)
{
	static const char msg[] = "vsock-peer: timed out (--timeout), giving up\n";

	ssize_t k = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)sig;
	(void)k;	/* nothing more to do if stderr is gone */
	_exit(EXIT_FAIL);
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "vsock-peer: %s%s%s (see vsock-peer --help)\n", what, arg ? ": " : "", arg ? arg : "");
	return EXIT_SETUP;
}

/* value_option: the canonical name of an option that takes a value ("--seed" for "--seed=3"), or NULL. */
static const char *value_option(const char *arg)
{
	static const char *const names[] = { "--seed", "--chunk", "--expect", "--count", "--window", "--timeout",
					      "--ready", "--read-size", "--read-delay", "--pause-after", "--pause-ms",
					      "--rcvbuf" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);

		if (!strncmp(arg, names[i], n) && (arg[n] == '\0' || arg[n] == '='))
			return names[i];
	}
	return NULL;
}

/* take_value: an option's value, from "--opt=V" or the next argument. */
static const char *take_value(char **argv, int argc, int *i, const char *name)
{
	size_t n = strlen(name);

	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int set_value_option(struct opts *o, const char *name, const char *val)
{
	uint64_t v;

	if (!strcmp(name, "--ready")) {
		o->ready = val;
		return EXIT_OK;
	}
	/* Seeds, seconds and milliseconds are plain numbers; sizes take k/m/g. */
	if (parse_u64(val, strcmp(name, "--seed") && strcmp(name, "--timeout") && strcmp(name, "--read-delay") &&
		      strcmp(name, "--pause-ms"), &v) < 0)
		return bad_usage("not a number", val);
	if (!strcmp(name, "--seed")) {
		o->seed = v;
	} else if (!strcmp(name, "--chunk")) {
		if (v == 0 || v > (16u << 20))
			return bad_usage("--chunk must be 1 to 16M", val);
		o->chunk = (size_t)v;
	} else if (!strcmp(name, "--expect")) {
		o->expect = v;
		o->have_expect = true;
	} else if (!strcmp(name, "--count")) {
		if (v == 0 || v > 100000)
			return bad_usage("--count must be 1 to 100000", val);
		o->count = (unsigned)v;
	} else if (!strcmp(name, "--window")) {
		o->window = (size_t)(v > SIZE_MAX ? SIZE_MAX : v);
	} else if (!strcmp(name, "--read-size")) {
		if (v == 0 || v > RBUF_SIZE)
			return bad_usage("--read-size must be 1 to 256K", val);
		o->read_size = (size_t)v;
	} else if (!strcmp(name, "--read-delay") || !strcmp(name, "--pause-ms")) {
		if (v > 3600000)
			return bad_usage("at most 3600000 ms", val);
		*(!strcmp(name, "--pause-ms") ? &o->pause_ms : &o->read_delay_ms) = (unsigned)v;
	} else if (!strcmp(name, "--pause-after")) {
		o->pause_after = v;
	} else if (!strcmp(name, "--rcvbuf")) {
		if (v == 0)
			return bad_usage("--rcvbuf must be at least 1", val);
		o->rcvbuf = v;
	} else {
		if (v == 0 || v > 86400)
			return bad_usage("--timeout must be 1 to 86400 seconds", val);
		o->timeout_s = (unsigned)v;
	}
	return EXIT_OK;
}

/* What the command line asks for. */
struct args {
	const char *role;
	struct endpoint ep;
	uint64_t bytes;
	unsigned nconn, nmsgs;
	struct seqmsg *msgs;	/* seq-send: MAX_MSGS, allocated */
};

/* role_args: the role's own positional arguments (POS[0] is the role, POS[1] the endpoint). */
static int role_args(char **pos, int npos, struct args *a)
{
	const char *role = a->role;

	if (!strcmp(role, "send") || !strcmp(role, "halfclose-client")) {
		if (npos != 3 || parse_u64(pos[2], true, &a->bytes) < 0)
			return bad_usage("expected: ROLE ENDPOINT BYTES", NULL);
	} else if (!strcmp(role, "concurrent")) {
		if (npos != 4 || parse_u32(pos[2], &a->nconn) < 0 || a->nconn == 0 || a->nconn > 10000 ||
		    parse_u64(pos[3], true, &a->bytes) < 0)
			return bad_usage("expected: concurrent ENDPOINT N BYTES (N 1 to 10000)", NULL);
	} else if (!strcmp(role, "hold")) {
		if (npos > 3 || (npos == 3 && parse_u64(pos[2], true, &a->bytes) < 0))
			return bad_usage("expected: hold ENDPOINT [BYTES]", NULL);
	} else if (!strcmp(role, "seq-send")) {
		a->msgs = calloc(MAX_MSGS, sizeof(*a->msgs));
		if (!a->msgs)
			return EXIT_SETUP;
		if (npos < 3 || parse_sizes(pos + 2, npos - 2, a->msgs, &a->nmsgs) < 0)
			return bad_usage("expected: seq-send ENDPOINT SIZES... (sizes 1 to 256K, comma-separated, "
					 "a trailing e for MSG_EOR; at most 4096 messages)", NULL);
	} else if (npos != 2) {
		return bad_usage("too many arguments for", role);
	}
	if ((!strcmp(role, "expect-reset") || !strcmp(role, "abort")) && ep_listens(&a->ep))
		return bad_usage("this role needs a connecting endpoint", pos[1]);
	return -1;
}

/* parse_args: -1 to go on, or the exit status (after --help, or a usage error, already reported). */
static int parse_args(int argc, char **argv, struct opts *o, struct args *a)
{
	static const char *const roles[] = { "send", "recv", "echo", "halfclose-client", "halfclose-server",
					     "seq-send", "seq-echo", "expect-reset", "concurrent", "hold", "abort" };
	char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	int npos = 0, rc = -1;
	bool known = false;

	if (!pos)
		return EXIT_SETUP;
	for (int i = 1; i < argc && rc < 0; i++) {
		const char *arg = argv[i], *val, *name;

		if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
			usage(stdout);
			rc = EXIT_OK;
		} else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose")) {
			o->verbose++;
		} else if (!strcmp(arg, "--seqpacket")) {
			o->seqpacket = true;
		} else if (!strcmp(arg, "--expect-echo")) {
			o->expect_echo = true;
		} else if (!strcmp(arg, "--parallel")) {
			o->parallel = true;
		} else if (!strcmp(arg, "--no-eor-check")) {
			o->no_eor_check = true;
		} else if (!strcmp(arg, "--shut-wr")) {
			o->shut_wr = true;
		} else if ((name = value_option(arg)) != NULL) {
			val = take_value(argv, argc, &i, name);
			if (!val)
				rc = bad_usage("missing value for", name);
			else if (set_value_option(o, name, val) != EXIT_OK)
				rc = EXIT_SETUP;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			rc = bad_usage("unknown option", arg);
		} else {
			pos[npos++] = argv[i];
		}
	}
	if (rc < 0 && npos < 2) {
		usage(stderr);
		rc = EXIT_SETUP;
	}
	if (rc < 0) {
		a->role = pos[0];
		for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
			known |= !strcmp(a->role, roles[i]);
		if (!known)
			rc = bad_usage("unknown role", a->role);
	}
	if (rc < 0) {
		if (!strncmp(a->role, "seq-", 4))
			o->seqpacket = true;
		if (parse_endpoint(pos[1], o->seqpacket ? SOCK_SEQPACKET : SOCK_STREAM, &a->ep) < 0)
			rc = bad_usage("bad endpoint (vsock:CID:PORT, vsock-listen:PORT, uds:PATH:PORT, "
				       "uds-listen:PATH, unix:PATH; a path shorter than 108 bytes)", pos[1]);
	}
	if (rc < 0)
		rc = role_args(pos, npos, a);
	free(pos);
	return rc;
}

static int run(const struct opts *o, const struct args *a, int lfd, struct bufs *b)
{
	const char *role = a->role;

	if (!strcmp(role, "send"))
		return role_send(o, &a->ep, lfd, a->bytes, b);
	if (!strcmp(role, "recv"))
		return role_recv(o, &a->ep, lfd, b);
	if (!strcmp(role, "echo"))
		return role_echo(o, &a->ep, lfd);
	if (!strcmp(role, "halfclose-client"))
		return role_halfclose_client(o, &a->ep, lfd, a->bytes, b);
	if (!strcmp(role, "halfclose-server"))
		return role_halfclose_server(o, &a->ep, lfd, b);
	if (!strcmp(role, "seq-send"))
		return role_seq_send(o, &a->ep, lfd, a->msgs, a->nmsgs, b);
	if (!strcmp(role, "seq-echo"))
		return role_seq_echo(o, &a->ep, lfd, b);
	if (!strcmp(role, "expect-reset"))
		return role_expect_reset(o, &a->ep);
	if (!strcmp(role, "hold"))
		return role_hold(o, &a->ep, lfd, a->bytes, b);
	if (!strcmp(role, "abort"))
		return role_abort(o, &a->ep);
	return role_concurrent(o, &a->ep, lfd, a->nconn, a->bytes, b);
}

int main(int argc, char **argv)
{
	struct opts o = { .timeout_s = 60, .seed = 1, .chunk = 64 * 1024, .count = 1, .window = 128 * 1024,
			  .read_size = RBUF_SIZE };
	struct args a = { 0 };
	struct bufs b = { 0 };
	struct sigaction sa = { .sa_handler = on_alarm };
	bool made_path = false;
	int rc, lfd = -1;

	rc = parse_args(argc, argv, &o, &a);
	if (rc >= 0)
		goto out;

	/* Nothing may hang the caller, and a closed peer must be an error return, not SIGPIPE. */
	o.deadline = now_ms() + (int64_t)o.timeout_s * 1000;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(o.timeout_s + 5);
	b.rbuf = malloc(RBUF_SIZE);
	b.scratch = malloc(o.chunk > RBUF_SIZE ? o.chunk : RBUF_SIZE);
	if (!b.rbuf || !b.scratch) {
		fprintf(stderr, "vsock-peer: out of memory\n");
		rc = EXIT_SETUP;
		goto out;
	}
	if (ep_listens(&a.ep)) {
		lfd = listener_open(&o, &a.ep, &made_path);
		if (lfd < 0) {
			rc = EXIT_SETUP;
			goto out;
		}
	}
	rc = run(&o, &a, lfd, &b);
	fflush(stdout);
out:
	if (lfd >= 0)
		close(lfd);
	if (made_path)
		unlink(a.ep.path);
	free(b.rbuf);
	free(b.scratch);
	free(a.msgs);
	return rc;
}
