/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hconn.c: host connections: a Unix socket joined to an engine socket, with the hybrid-vsock handshake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "handshake.h"
#include "logtext.h"

/*
 * Flow control ends at the guest's credit: a host connection reads from its Unix socket only what
 * the guest's buffer can take now and only while the device's RX ring keeps up, so a host program
 * that writes fast meets a full socket buffer, not a growing queue here. Reading in large bites
 * when it does read also coalesces small host writes into large packets: a guest counts queued
 * packets as well as bytes (Linux 6.12.92 and later reset a connection that queues too many small
 * ones), so a storm of tiny packets would hurt it.
 */

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
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vm->cfg.uds_path, port) >= sizeof(sa.sun_path) ||
	    (uint32_t)sock >= vm->max_sockets) {
		vm->st.guest_refused++;
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vm->st.guest_refused++;
		return -errno;
	}
	/*
	 * A Unix connect either completes or fails at once (a full backlog is EAGAIN): the guest learns
	 * now, with an RST when nobody listens, as Firecracker does (vhost-device-vsock leaves it waiting).
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		logmsg(vm->d, 2, "%s: guest connection to port %u refused: %s: %s", vm->name, port, sa.sun_path,
		       strerror(errno));
		close(fd);
		vm->st.guest_refused++;
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

void hconn_accept_host(struct vm *vm)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(vm->uds_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct hconn *c;

		if (fd < 0)
			return;
		c = conn_new(vm, fd, true);
		if (!c) {
			close(fd);
			continue;
		}
		c->state = HC_HANDSHAKE;
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
		hconn_free(c, false);
		return;
	}
	sock = vtr_connect(vm->engine, vm->cfg.guest_cid, port, VTR_STREAM, 0);
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

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Forgets the packets the guest has read: those whose end its fwd_cnt has passed (wrap-safe). */
static void retire_unread(struct hconn *c, uint32_t peer_fwd_cnt)
{
	while (c->unread_n && (int32_t)(peer_fwd_cnt - c->unread_end[c->unread_head]) >= 0) {
		c->unread_head = (c->unread_head + 1) % VSOCKDEV_MAX_UNREAD;
		c->unread_n--;
	}
	if (!c->unread_n)
		c->ask_ms = 0;
}

/* Notes the packets a send of n bytes made, from tx_cnt on (the engine cuts at VSOCKDEV_MAX_PKT). */
static void note_unread(struct hconn *c, uint32_t tx_cnt, size_t n)
{
	while (n && c->unread_n < VSOCKDEV_MAX_UNREAD) {
		uint32_t k = n > VSOCKDEV_MAX_PKT ? VSOCKDEV_MAX_PKT : (uint32_t)n;

		tx_cnt += k;
		c->unread_end[(c->unread_head + c->unread_n) % VSOCKDEV_MAX_UNREAD] = tx_cnt;
		c->unread_n++;
		n -= k;
	}
}

/*
 * Whether the host side may be read now: the guest has credit, the device keeps up, and the guest
 * holds fewer than VSOCKDEV_MAX_UNREAD of our packets unread. At that bound the connection asks the
 * guest for its credit (CREDIT_REQUEST, virtio spec 5.10.6.3) and then again after 10, 20... up to
 * 1000 ms, since a guest that reads a little out of a large buffer sends no CREDIT_UPDATE of its own
 * (Linux before 6.8); meanwhile the host's small writes pile up in the Unix socket and go as one packet.
 */
static bool may_read_host(struct hconn *c)
{
	const struct vm *vm = c->vm;
	struct vtr_sock_info info;

	if (c->state != HC_OPEN || c->host_eof || c->in_len || !vtr_vudev_running(vm->dev))
		return false;
	if (vtr_want_write(vm->engine) || !(vtr_poll(vm->engine, c->sock) & VTR_EV_WRITABLE))
		return false;
	if (vtr_sock_info(vm->engine, c->sock, &info))
		return false;
	retire_unread(c, info.peer_fwd_cnt);
	if (c->unread_n < VSOCKDEV_MAX_UNREAD)
		return true;
	if (!c->ask_ms || mono_ms() >= c->next_ask_ms) {
		vtr_credit_request(vm->engine, c->sock);
		c->ask_ms = c->ask_ms ? (c->ask_ms * 2 > 1000 ? 1000 : c->ask_ms * 2) : 10;
		c->next_ask_ms = mono_ms() + c->ask_ms;
	}
	return false;
}

/* Host to guest: what was read and not yet taken by the engine; true when nothing waits. */
static bool flush_in(struct hconn *c)
{
	while (c->in_off < c->in_len) {
		struct vtr_sock_info info;
		ssize_t n;

		vtr_sock_info(c->vm->engine, c->sock, &info);
		n = vtr_send(c->vm->engine, c->sock, c->in + c->in_off, c->in_len - c->in_off, 0);
		if (n > 0)
			note_unread(c, info.tx_cnt, (size_t)n);

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
			want = n > 0 ? (size_t)n : 1;
		} else {
			struct vtr_sock_info info;

			vtr_sock_info(e, c->sock, &info);
			want = info.credit > (int64_t)VSOCKDEV_BUF ? VSOCKDEV_BUF : (size_t)info.credit;
			/* No more than the packets the guest may still hold unread. */
			if (want > (size_t)(VSOCKDEV_MAX_UNREAD - c->unread_n) * VSOCKDEV_MAX_PKT)
				want = (size_t)(VSOCKDEV_MAX_UNREAD - c->unread_n) * VSOCKDEV_MAX_PKT;
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
				       "its REQUEST in %u ms", vm->name, c->guest_port, VSOCKDEV_CONNECT_MS);
			} else if (err == -ECONNRESET || err == -ECONNREFUSED || !err) {
				vm->st.host_connect_refused++;
				logmsg(vm->d, 1, "%s: host connection to guest port %u refused: nothing listens on that "
				       "port in the guest (it answered RST)", vm->name, c->guest_port);
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
	int64_t now = mono_ms(), best = -1;

	for (struct hconn *c = vm->conns; c; c = c->next) {
		if (c->state != HC_OPEN || c->unread_n < VSOCKDEV_MAX_UNREAD || !c->ask_ms)
			continue;
		if (c->next_ask_ms <= now)
			hconn_mark(c);
		else if (best < 0 || c->next_ask_ms - now < best)
			best = c->next_ask_ms - now;
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
		if (!events)
			continue;
		pfds[n] = (struct pollfd){ .fd = c->fd, .events = events };
		tags[n] = c;
		n++;
	}
	return n;
}

void hconn_handle(struct hconn *c, short revents)
{
	if (revents)
		hconn_mark(c);
}
