/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hconn.c: host connections: a Unix socket joined to an engine socket, with the hybrid-vsock handshake. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "handshake.h"
#include "logtext.h"

/*
 * Flow control ends at the guest's credit: a host connection reads from its Unix socket only what
 * the guest's buffer can take now and only while the device's RX ring keeps up, so a host program
 * that writes fast meets a full socket buffer, not a growing queue here. Reading in large bites
 * when it does read also coalesces small host writes into large packets: a guest counts queued
 * packets as well as bytes (it resets a connection that queues too many small ones: the engine's
 * max_unread_pkts, VTR_LINUX_MAX_UNREAD_PKTS), so a storm of tiny packets would hurt it.
 */

/* One table: the statistics' key and the log's and events' reason of each refusal (enum refusal). */
const struct refusal_info refusal_table[REFUSE_N] = {
	[REFUSE_CONN_LIMIT] = { "connection_limit", "the VM's connection limit (--max-connections) is reached" },
	[REFUSE_PENDING_LIMIT] = { "pending_limit", "too many handshakes under way (--max-pending): the oldest "
				   "gave way" },
	[REFUSE_HANDSHAKE_TIMEOUT] = { "handshake_timeout", "no \"CONNECT <port>\" line within --handshake-timeout" },
	[REFUSE_NO_DESCRIPTOR] = { "no_descriptor", "vsockdev is out of file descriptors (raise LimitNOFILE= or "
				   "lower --max-connections)" },
	[REFUSE_ENGINE_SOCKETS] = { "engine_sockets", "the VM's host engine has no free socket (4096, closing "
				    "connections included)" },
	[REFUSE_NO_LISTENER] = { "no_listener", "nothing listens at the host's socket path for that port (is the "
				 "host service running?)" },
	[REFUSE_PATH_TOO_LONG] = { "path_too_long", "the host socket path for that port is longer than 107 bytes "
				   "(shorten uds_path)" },
	[REFUSE_MALFORMED_CONNECT] = { "malformed_connect", "the host program's first line is not "
				       "\"CONNECT <port>\\n\"" },
	[REFUSE_NO_DRIVER] = { "no_driver", "the guest's vsock driver is not running (no front-end, device not "
			       "started or reset, DRIVER_OK not set)" },
	[REFUSE_GUEST_TIMEOUT] = { "guest_timeout", "the guest did not answer the REQUEST in time (guest hung, or "
				   "its driver does not run its queues)" },
	[REFUSE_GUEST_NO_LISTENER] = { "guest_no_listener", "nothing listens on that port in the guest (it "
				       "answered RST)" },
	[REFUSE_HOST_CLOSED] = { "host_closed", "the host program closed or failed with data under way: the guest "
				 "got an RST" },
	[REFUSE_UNKNOWN_CID] = { "unknown_cid", "the guest sent to a CID no VM here serves (dropped: its connect "
				 "times out)" },
};

void vm_event(struct vm *vm, enum refusal why, bool host_side, uint32_t port, const char *detail_fmt, ...)
{
	struct vm_event *ev;
	struct timespec now;
	va_list ap;

	/* A full ring forgets its oldest: the counts by reason keep everything. */
	if (vm->events_n == VSOCKDEV_EVENTS) {
		vm->events_head = (vm->events_head + 1) % VSOCKDEV_EVENTS;
		vm->events_n--;
	}
	ev = &vm->events[(vm->events_head + vm->events_n) % VSOCKDEV_EVENTS];
	vm->events_n++;
	vm->events_total++;
	vm->events_by[why]++;
	clock_gettime(CLOCK_REALTIME, &now);
	ev->realtime_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	ev->reason = why;
	ev->host_side = host_side;
	ev->port = port;
	va_start(ap, detail_fmt);
	vsnprintf(ev->detail, sizeof(ev->detail), detail_fmt, ap);
	va_end(ap);
}

static void link_conn(struct vm *vm, struct hconn *c)
{
	c->next = vm->conns;
	if (vm->conns)
		vm->conns->pprev = &c->next;
	vm->conns = c;
	c->pprev = &vm->conns;
	vm->nconns++;
}

static struct hconn *conn_new(struct vm *vm, int fd, bool host_initiated)
{
	struct hconn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->vm = vm;
	c->fd = fd;
	c->sock = -1;
	c->host_initiated = host_initiated;
	link_conn(vm, c);
	return c;
}

static void set_sock(struct hconn *c, int sock)
{
	c->sock = sock;
	if (sock >= 0 && (uint32_t)sock < c->vm->max_sockets)
		c->vm->by_sock[sock] = c;
}

void hconn_free(struct hconn *c, bool reset)
{
	struct vm *vm = c->vm;
	struct daemon *d = vm->d;

	if (c->sock >= 0) {
		if (reset)
			vtr_reset(vm->engine, c->sock);
		vtr_close(vm->engine, c->sock);
		if ((uint32_t)c->sock < vm->max_sockets)
			vm->by_sock[c->sock] = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	if (c->state == HC_HANDSHAKE)
		vm->npending--;
	/* Out of the dirty list too, if it is there. */
	for (struct hconn **pp = &d->dirty; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == c) {
			*pp = c->dirty_next;
			break;
		}
	}
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	vm->nconns--;
	free(c->out);
	free(c->in);
	free(c);
}

void hconn_mark(struct hconn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->dirty_next = c->vm->d->dirty;
	c->vm->d->dirty = c;
}

/* ---- buffers ---- */

static int reserve(uint8_t **buf, size_t *cap, size_t want)
{
	uint8_t *p;

	if (*cap >= want)
		return 0;
	p = realloc(*buf, want);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = want;
	return 0;
}

/* ---- guest-initiated: the engine's admit hook ---- */

int hconn_guest_admit(struct vm *vm, int sock, uint32_t port, bool seqpacket)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hconn *c;
	int fd;

	vm->st.guest_connects++;
	if (vm->nconns >= vm->max_conns) {
		/* Each guest connection is a descriptor here: past the VM's budget, an RST. */
		logmsg(vm->d, 1, "%s: guest connection to port %u refused: %s (%u)", vm->name, port,
		       refusal_table[REFUSE_CONN_LIMIT].why, vm->max_conns);
		vm->st.guest_refused++;
		vm->st.guest_refused_by[REFUSE_CONN_LIMIT]++;
		vm_event(vm, REFUSE_CONN_LIMIT, false, port, "%u connections", vm->max_conns);
		return -EMFILE;
	}
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vm->cfg.uds_path, port) >= sizeof(sa.sun_path) ||
	    (uint32_t)sock >= vm->max_sockets) {
		vm->st.guest_refused++;
		if ((uint32_t)sock < vm->max_sockets) {
			logmsg(vm->d, 1, "%s: guest connection to port %u refused: %s", vm->name, port,
			       refusal_table[REFUSE_PATH_TOO_LONG].why);
			vm->st.guest_refused_by[REFUSE_PATH_TOO_LONG]++;
			vm_event(vm, REFUSE_PATH_TOO_LONG, false, port, "%s_%u", vm->cfg.uds_path, port);
		}
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int ret = -errno;

		if (ret == -EMFILE || ret == -ENFILE) {
			logmsg(vm->d, 1, "%s: guest connection to port %u refused: %s", vm->name, port,
			       refusal_table[REFUSE_NO_DESCRIPTOR].why);
			vm->st.guest_refused_by[REFUSE_NO_DESCRIPTOR]++;
			vm_event(vm, REFUSE_NO_DESCRIPTOR, false, port, "socket(): %s", strerror(-ret));
		}
		vm->st.guest_refused++;
		return ret;
	}
	/*
	 * A Unix connect either completes or fails at once (a full backlog is EAGAIN): the guest learns
	 * now, with an RST when nobody listens, as Firecracker does (vhost-device-vsock leaves it waiting).
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;
		/* ENOENT (no file) and ECONNREFUSED (a socket nobody listens on) are the missing service. */
		enum refusal why = ret == -ENOENT || ret == -ECONNREFUSED ? REFUSE_NO_LISTENER : REFUSE_N;

		logmsg(vm->d, 1, "%s: guest connection to port %u refused: %s: %s%s%s", vm->name, port, sa.sun_path,
		       strerror(errno), why == REFUSE_N ? "" : ": ", why == REFUSE_N ? "" : refusal_table[why].why);
		close(fd);
		vm->st.guest_refused++;
		if (why != REFUSE_N) {
			vm->st.guest_refused_by[why]++;
			vm_event(vm, why, false, port, "%s: %s", sa.sun_path, strerror(-ret));
		}
		return ret;
	}
	c = conn_new(vm, fd, false);
	if (!c) {
		close(fd);
		vm->st.guest_refused++;
		return -ENOMEM;
	}
	c->state = HC_OPEN;
	c->seqpacket = seqpacket;
	c->guest_port = port;
	set_sock(c, sock);
	logmsg(vm->d, 2, "%s: guest connected to port %u: %s", vm->name, port, sa.sun_path);
	return 0;
}

/* ---- host-initiated: the handshake ---- */

static void refuse_host(struct vm *vm, enum refusal why)
{
	logmsg(vm->d, 1, "%s: host connection refused: %s", vm->name, refusal_table[why].why);
	vm->st.host_refused[why]++;
	vm_event(vm, why, true, 0, "%s", vm->cfg.uds_path);
}

/* The handshake under way the longest: it gives way to a new client once --max-pending are. */
static struct hconn *oldest_pending(struct vm *vm)
{
	struct hconn *oldest = NULL;

	for (struct hconn *c = vm->conns; c; c = c->next)
		if (c->state == HC_HANDSHAKE && (!oldest || c->handshake_deadline <= oldest->handshake_deadline))
			oldest = c;
	return oldest;
}

/*
 * New host clients. One over the VM's budget is accepted and closed at once: it learns now, and the
 * backlog does not fill with clients nobody will serve. A client that does not send its line soon
 * is closed (--handshake-timeout), and at most --max-pending wait for theirs: past it the oldest
 * waiter goes, so idle connections cannot keep a legitimate client out.
 */
void hconn_accept_host(struct vm *vm)
{
	for (int i = 0; i < 64; i++) {
		int fd = daemon_accept(vm->uds_fd, SOCK_CLOEXEC | SOCK_NONBLOCK, &vm->uds_paused_until);
		struct hconn *c;

		if (fd == -EMFILE || fd == -ENFILE)
			refuse_host(vm, REFUSE_NO_DESCRIPTOR);
		if (fd < 0)
			return;
		if (vm->nconns >= vm->max_conns) {
			close(fd);
			refuse_host(vm, REFUSE_CONN_LIMIT);
			continue;
		}
		if (vm->npending >= vm->d->max_pending && (c = oldest_pending(vm))) {
			refuse_host(vm, REFUSE_PENDING_LIMIT);
			hconn_free(c, false);
		}
		c = conn_new(vm, fd, true);
		if (!c) {
			close(fd);
			continue;
		}
		c->state = HC_HANDSHAKE;
		c->handshake_deadline = daemon_mono_ms() + vm->d->handshake_ms;
		vm->npending++;
		hconn_mark(c);
	}
}

_Static_assert(sizeof(((struct hconn *)0)->line) == HANDSHAKE_MAX_LINE + 1, "a handshake line and its NUL");

/*
 * Reads the handshake line without reading past it: what the host writes after the newline is
 * already the stream (peek, then take exactly the line).
 */
static void handshake(struct hconn *c)
{
	struct vm *vm = c->vm;
	char buf[sizeof(c->line)];
	ssize_t n = recv(c->fd, buf, sizeof(buf) - 1 - c->line_len, MSG_PEEK);
	char *nl;
	uint32_t port;
	int sock, ret;

	if (daemon_mono_ms() >= c->handshake_deadline) {
		refuse_host(vm, REFUSE_HANDSHAKE_TIMEOUT);
		hconn_free(c, false);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		hconn_free(c, false);
		return;
	}
	nl = memchr(buf, '\n', (size_t)n);
	if (!nl) {
		if (c->line_len + (size_t)n >= sizeof(c->line) - 1) {
			logmsg(vm->d, 1, "%s: host connection: no \"CONNECT <port>\" line in %zu bytes; closed",
			       vm->name, sizeof(c->line) - 1);
			vm->st.host_refused[REFUSE_MALFORMED_CONNECT]++;
			vm_event(vm, REFUSE_MALFORMED_CONNECT, true, 0, "no newline in %zu bytes", sizeof(c->line) - 1);
			hconn_free(c, false);
			return;
		}
		/* Keep it in the socket until the line is whole; take what came so the peek moves on. */
		n = recv(c->fd, c->line + c->line_len, (size_t)n, 0);
		if (n > 0)
			c->line_len += (size_t)n;
		return;
	}
	n = recv(c->fd, c->line + c->line_len, (size_t)(nl - buf + 1), 0);
	if (n <= 0) {
		hconn_free(c, false);
		return;
	}
	c->line_len += (size_t)n;
	ret = handshake_parse_connect(c->line, c->line_len - 1, &port);
	if (ret) {
		/* The line as it came, NULs and escapes shown (logmsg would stop at a NUL). */
		char shown[4 * sizeof(c->line) + 1];

		log_escape(c->line, c->line_len - 1, shown, sizeof(shown));
		logmsg(vm->d, 1, "%s: host connection: expected \"CONNECT <port>\\n\", got \"%s\"%s; closed", vm->name,
		       shown, ret == -ERANGE ? " (the port is past 4294967294)" : "");
		vm->st.host_refused[REFUSE_MALFORMED_CONNECT]++;
		vm_event(vm, REFUSE_MALFORMED_CONNECT, true, 0, "got \"%.80s\"%s", shown,
			 ret == -ERANGE ? " (the port is past 4294967294)" : "");
		hconn_free(c, false);
		return;
	}
	vm->st.host_connects++;
	c->guest_port = port;
	if (!vtr_vudev_running(vm->dev)) {
		/* No driver to ask: a REQUEST could only wait out the connect timeout. Say so at once. */
		logmsg(vm->d, 1, "%s: host connection to guest port %u refused: the guest's vsock driver is not "
		       "running (%s)", vm->name, port, vtr_vudev_attached(vm->dev) ? "the device is not set up or was reset" :
		       "no front-end (QEMU) on the vhost-user socket");
		vm->st.host_connect_fail++;
		vm->st.host_connect_no_driver++;
		vm_event(vm, REFUSE_NO_DRIVER, true, port, "%s", vtr_vudev_attached(vm->dev) ?
			 "the device is not set up or was reset" : "no front-end (QEMU) on the vhost-user socket");
		hconn_free(c, false);
		return;
	}
	sock = vtr_connect(vm->engine, vm->cfg.guest_cid, port, VTR_STREAM, 0);
	if (sock == -EMFILE) {
		/* Not a descriptor: the engine's sockets, which may still hold closing connections. */
		logmsg(vm->d, 1, "%s: host connection to guest port %u refused: %s", vm->name, port,
		       refusal_table[REFUSE_ENGINE_SOCKETS].why);
		vm->st.host_refused[REFUSE_ENGINE_SOCKETS]++;
		vm_event(vm, REFUSE_ENGINE_SOCKETS, true, port, "guest port %u", port);
		vm->st.host_connect_fail++;
		hconn_free(c, false);
		return;
	}
	if (sock < 0 || (uint32_t)sock >= vm->max_sockets) {
		logmsg(vm->d, 1, "%s: host connection to guest port %u: %s", vm->name, port, strerror(-sock));
		if (sock >= 0)
			vtr_close(vm->engine, sock);
		vm->st.host_connect_fail++;
		hconn_free(c, false);
		return;
	}
	set_sock(c, sock);
	c->state = HC_CONNECTING;
	vm->npending--;
}

/* The guest accepted: "OK <port>\n" with the host side's port, as Firecracker answers. False: c is gone. */
static bool connected(struct hconn *c)
{
	struct vtr_sock_info info;
	char line[32];
	int len;

	vtr_sock_info(c->vm->engine, c->sock, &info);
	len = snprintf(line, sizeof(line), "OK %u\n", info.local_port);
	/* A fresh socket has room for a dozen bytes; a peer that gave none is gone. */
	if (send(c->fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) != len) {
		hconn_free(c, true);
		return false;
	}
	c->state = HC_OPEN;
	logmsg(c->vm->d, 2, "%s: host connection to guest port %u open (host port %u)", c->vm->name, c->guest_port,
	       info.local_port);
	return true;
}

/* ---- data ---- */

/* The host program closed its socket or failed while data was under way: said before the RST. */
static void host_closed(struct hconn *c, const char *call, int err)
{
	logmsg(c->vm->d, 1, "%s: connection to %s port %u reset: %s (%s: %s)", c->vm->name,
	       c->host_initiated ? "guest" : "host", c->guest_port, refusal_table[REFUSE_HOST_CLOSED].why, call,
	       strerror(err));
	vm_event(c->vm, REFUSE_HOST_CLOSED, c->host_initiated, c->guest_port, "%s: %s", call, strerror(err));
}

/* Guest to host: writes what is pending. 1: all written, 0: the socket is full, -1: c is gone. */
static int flush_out(struct hconn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			/* The host program is gone: the guest learns by an RST, as from a TCP peer. */
			host_closed(c, "send", errno);
			hconn_free(c, true);
			return -1;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/* Guest to host: takes what the engine has while the Unix socket takes it. False: c is gone. */
static bool guest_to_host(struct hconn *c)
{
	struct vtr_engine *e = c->vm->engine;

	for (;;) {
		size_t want = VSOCKDEV_BUF;
		ssize_t n;

		if (c->out_len) {
			int ret = flush_out(c);

			if (ret <= 0)
				return ret == 0;
		}
		if (c->guest_eof)
			return true;
		if (c->seqpacket) {
			struct vtr_sock_info info;

			/* A message goes whole: room for the largest the guest may send (our buffer). */
			vtr_sock_info(e, c->sock, &info);
			if (info.buf_alloc > want)
				want = info.buf_alloc;
		}
		if (reserve(&c->out, &c->out_cap, want)) {
			hconn_free(c, true);
			return false;
		}
		n = vtr_recv(e, c->sock, c->out, c->out_cap, 0, NULL);
		if (n == -EAGAIN || n < 0)
			return true;	/* nothing yet; or reset or closed, which the HUP check ends */
		if (n == 0) {
			/* The guest shut down sending (SHUTDOWN SEND): pass the end of stream on. */
			c->guest_eof = true;
			shutdown(c->fd, SHUT_WR);
			return true;
		}
		c->out_len = (size_t)n;
		c->out_off = 0;
	}
}

/*
 * Whether the host side may be read now: the guest has credit, the device keeps up, and the guest
 * does not hold too many of our packets unread (the engine's max_unread_pkts, which asks the guest
 * for credit meanwhile); until then the host's small writes pile up in the Unix socket and go as one
 * packet.
 */
static bool may_read_host(struct hconn *c)
{
	const struct vm *vm = c->vm;

	if (c->state != HC_OPEN || c->host_eof || c->in_len || !vtr_vudev_running(vm->dev))
		return false;
	return !vtr_want_write(vm->engine) && (vtr_poll(vm->engine, c->sock) & VTR_EV_WRITABLE);
}

/* Host to guest: what was read and not yet taken by the engine; true when nothing waits. */
static bool flush_in(struct hconn *c)
{
	while (c->in_off < c->in_len) {
		ssize_t n = vtr_send(c->vm->engine, c->sock, c->in + c->in_off, c->in_len - c->in_off, 0);

		if (n == -EAGAIN)
			return false;
		if (n < 0)
			break;	/* the guest shut down receiving, or the connection is gone: nobody takes it */
		c->in_off += (size_t)n;
		if (c->seqpacket)
			break;
	}
	c->in_off = c->in_len = 0;
	return true;
}

/* Host to guest: reads what the guest may take now. False: c is gone. */
static bool host_to_guest(struct hconn *c)
{
	struct vtr_engine *e = c->vm->engine;

	if (c->in_len && !flush_in(c))
		return true;
	while (may_read_host(c)) {
		size_t want;
		ssize_t n;

		if (c->seqpacket) {
			/* The message's size first: it goes whole, or waits in the socket. */
			n = recv(c->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
			/* Nothing there yet: stop here. Reading on with a guessed size would cut a message that
			 * arrives between the two calls (a 100-byte message went to a real guest as 1 byte). */
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return true;
			/* 0: the end of the stream; < 0: an error; the read below tells which, and how. */
			want = n > 0 ? (size_t)n : 1;
		} else {
			struct vtr_sock_info info;

			vtr_sock_info(e, c->sock, &info);
			want = info.credit > (int64_t)VSOCKDEV_BUF ? VSOCKDEV_BUF : (size_t)info.credit;
			/* No more than the packets the guest may still hold unread. */
			if (want > info.unread_room)
				want = (size_t)info.unread_room;
			if (!want)
				return true;
		}
		if (reserve(&c->in, &c->in_cap, want)) {
			hconn_free(c, true);
			return false;
		}
		n = recv(c->fd, c->in, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return true;
			host_closed(c, "recv", errno);
			hconn_free(c, true);
			return false;
		}
		if (n == 0) {
			/* End of stream from the host: SHUTDOWN SEND to the guest; the other way goes on. */
			c->host_eof = true;
			vtr_shutdown(e, c->sock, VTR_SHUT_WR);
			return true;
		}
		c->in_len = (size_t)n;
		c->in_off = 0;
		if (!flush_in(c))
			return true;
	}
	return true;
}

/* Where a connection stands after anything happened to it. */
static void run(struct hconn *c)
{
	struct vtr_engine *e = c->vm->engine;
	struct vtr_sock_info info;
	unsigned ev;

	c->dirty = false;
	if (c->state == HC_HANDSHAKE) {
		handshake(c);
		return;
	}
	ev = vtr_poll(e, c->sock);
	if (c->state == HC_CONNECTING) {
		if (ev & (VTR_EV_ERROR | VTR_EV_HUP)) {
			int err = vtr_sock_error(e, c->sock);
			struct vm *vm = c->vm;

			/* Refused or timed out: the host socket is closed without a word, as Firecracker does;
			 * the log and the statistics keep the reason. */
			if (err == -ETIMEDOUT) {
				vm->st.host_connect_timeout++;
				logmsg(vm->d, 1, "%s: host connection to guest port %u failed: the guest did not answer "
				       "its REQUEST in %u ms", vm->name, c->guest_port, VTR_DEFAULT_CONNECT_MS);
				vm_event(vm, REFUSE_GUEST_TIMEOUT, true, c->guest_port, "no answer to the REQUEST in %u ms",
					 VTR_DEFAULT_CONNECT_MS);
			} else if (err == -ECONNRESET || err == -ECONNREFUSED || !err) {
				vm->st.host_connect_refused++;
				logmsg(vm->d, 1, "%s: host connection to guest port %u refused: nothing listens on that "
				       "port in the guest (it answered RST)", vm->name, c->guest_port);
				vm_event(vm, REFUSE_GUEST_NO_LISTENER, true, c->guest_port, "guest CID %llu port %u",
					 (unsigned long long)vm->cfg.guest_cid, c->guest_port);
			} else {
				logmsg(vm->d, 1, "%s: host connection to guest port %u failed: %s", vm->name,
				       c->guest_port, strerror(-err));
			}
			vm->st.host_connect_fail++;
			hconn_free(c, false);
			return;
		}
		if (vtr_sock_info(e, c->sock, &info) || info.state != VTR_STATE_ESTABLISHED)
			return;
		if (!connected(c))
			return;
	}
	if (c->host_gone) {
		/*
		 * The host program closed its socket (not a half-close: that leaves fd writable): it is
		 * close() on our side too, as Linux's virtio_transport_close() does it: SHUTDOWN both ways,
		 * then an RST when the guest has not ended it within the close timeout
		 * (virtio_transport_close_timeout, VSOCK_CLOSE_TIMEOUT), all in the engine (vtr_close). A
		 * silent guest no longer holds the connection and its descriptor for ever.
		 */
		hconn_free(c, false);
		return;
	}
	if (!guest_to_host(c) || !host_to_guest(c))
		return;
	ev = vtr_poll(e, c->sock);
	if ((ev & VTR_EV_HUP) && !c->out_len) {
		/* Reset by the guest, or closed both ways with everything passed on. */
		hconn_free(c, false);
		return;
	}
	if (c->host_eof && c->guest_eof && !c->out_len && !c->in_len)
		hconn_free(c, false);
}

void hconn_engine_event(struct vm *vm, int sock, unsigned events)
{
	/* The wildcard listeners: take every connection the admit hook let in. */
	if (sock == vm->any_stream || sock == vm->any_seqpacket) {
		while (vtr_accept(vm->engine, sock) >= 0)
			;
		return;
	}
	if (sock >= 0 && (uint32_t)sock < vm->max_sockets && vm->by_sock[sock])
		hconn_mark(vm->by_sock[sock]);
}

void hconn_run_dirty(struct daemon *d)
{
	/* Running one may mark others (credit, the ring): go on until none is left. */
	for (int rounds = 0; d->dirty && rounds < 64; rounds++) {
		struct hconn *list = d->dirty;

		d->dirty = NULL;
		for (struct hconn *c = list; c; c = list) {
			list = c->dirty_next;
			c->dirty_next = NULL;
			run(c);
		}
	}
}

int hconn_stalls(struct vm *vm)
{
	int64_t now = daemon_mono_ms(), best = -1;

	for (struct hconn *c = vm->conns; c; c = c->next) {
		if (c->state == HC_HANDSHAKE) {
			/* Marked: this round's end closes it, and poll(2) must not wait for it. */
			if (c->handshake_deadline <= now) {
				hconn_mark(c);
				best = 0;
			} else if (best < 0 || c->handshake_deadline - now < best) {
				best = c->handshake_deadline - now;
			}
			continue;
		}
	}
	return best > 1000 ? 1000 : (int)best;
}

void hconn_wake_readers(struct vm *vm)
{
	for (struct hconn *c = vm->conns; c; c = c->next)
		if (c->state == HC_OPEN && (c->in_len || !c->host_eof))
			hconn_mark(c);
}

size_t hconn_pollfds(struct vm *vm, struct pollfd *pfds, struct hconn **tags, size_t max)
{
	size_t n = 0;

	for (struct hconn *c = vm->conns; c && n < max; c = c->next) {
		short events = 0;

		if (c->state == HC_HANDSHAKE || may_read_host(c))
			events |= POLLIN;
		if (c->out_len)
			events |= POLLOUT;
		/* After the host's EOF: no events, but poll(2) reports POLLHUP when it closes the socket. */
		if (!events && !(c->host_eof && !c->host_gone))
			continue;
		pfds[n] = (struct pollfd){ .fd = c->fd, .events = events };
		tags[n] = c;
		n++;
	}
	return n;
}

void hconn_handle(struct hconn *c, short revents)
{
	/* POLLHUP on a Unix stream socket: both directions are shut, the peer closed (unix_poll()). */
	if ((revents & POLLHUP) && c->host_eof)
		c->host_gone = true;
	if (revents)
		hconn_mark(c);
}
