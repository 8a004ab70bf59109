/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c: the virtio-vsock socket protocol for one CID: sockets, state machine, one send path, one tap point. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/wire.h>
#include <vtr/pktq.h>
#include <vsockmon/tap.h>
#include <vtr/vtr.h>

#include "credit.h"
#include "rxbuf.h"

#define HDR_LEN			VSM_VIRTIO_HDR_LEN
#define NONE			(-1)

/*
 * One socket: a listener, or one end of a connection. Fields are grouped by who writes them,
 * as Linux's struct virtio_vsock_sock is. All counters are free-running u32 (virtio spec 5.10.6.3).
 */
struct sock {
	int state;			/* enum vtr_state */
	int type;			/* VTR_STREAM or VTR_SEQPACKET */
	bool orphan;			/* the user closed it: no more events; freed when the connection ends */
	uint32_t local_port;
	uint64_t peer_cid;
	uint32_t peer_port;
	int error;			/* pending -errno for the user */

	/* tx side: written by vtr_send(), refreshed by every packet from the peer */
	uint32_t tx_cnt;		/* payload bytes sent */
	uint32_t peer_fwd_cnt;		/* bytes the peer has consumed */
	uint32_t peer_buf_alloc;	/* the peer's receive buffer */
	bool blocked;			/* a send found no credit: tell WRITABLE when credit comes */
	/* cfg.max_unread_pkts: the end (tx_cnt after it) of each RW packet the peer may not have read */
	uint32_t unread_head, unread_n;	/* a ring in the engine's unread_ends, this socket's row */
	uint32_t ask_ms;		/* at the cap: the wait before asking for credit again, doubling */
	struct timespec next_ask;	/* when that wait is over */

	/* rx side: written by vtr_input(), consumed by vtr_recv() */
	uint32_t fwd_cnt;		/* payload bytes consumed by the user */
	uint32_t last_fwd_cnt;		/* fwd_cnt as last told to the peer (any packet tells it) */
	uint32_t buf_alloc;		/* our receive buffer, as advertised */
	/*
	 * The most the peer may ever have sent (u32, wraps): the largest fwd_cnt + buf_alloc we told
	 * it. A peer that has not heard of a smaller buffer yet may still fill the old one, so a
	 * shrink takes effect only as fwd_cnt moves past it; bytes beyond it break the credit rule.
	 */
	uint32_t rx_horizon;
	struct vtr_rxbuf rx;
	unsigned local_shutdown, peer_shutdown;	/* VTR_SHUT_* */

	/* listener: children waiting for vtr_accept(), linked through accept_next */
	unsigned backlog, pending;
	int accept_head, accept_tail, accept_next;
	int parent;			/* child: its listener until accepted */

	/* timers (connect and close timeouts) */
	bool timer_armed;
	struct timespec deadline;

	int hash_next;			/* connection lookup chain */
	bool hashed;
};

struct vtr_engine {
	struct vtr_config cfg;
	struct vtr_ops ops;
	void *ctx;
	struct vsm_tap *tap;
	struct sock *socks;		/* cfg.max_sockets entries, indexed by socket number */
	int *hash;			/* connection lookup: heads of chains, NONE when empty */
	uint32_t hash_mask;
	uint32_t next_ephemeral;
	struct vtr_pktq txq;		/* packets the wire refused, kept until vtr_flush() */
	uint32_t *unread_ends;		/* max_sockets rows of cfg.max_unread_pkts (NULL: no cap) */
	uint32_t timers;		/* sockets with an armed timer: none, and the timer walks cost nothing */
	struct vtr_stats stats;
};

/* Arguments of one outgoing packet: every packet the engine sends is described by one of these. */
struct pkt_info {
	uint16_t op;
	uint16_t type;
	uint32_t flags;
	uint32_t local_port;
	uint64_t peer_cid;
	uint32_t peer_port;
	const uint8_t *payload;
	uint32_t len;
};

static void now(const struct vtr_engine *e, struct timespec *ts)
{
	if (e->ops.now)
		e->ops.now(e->ctx, ts);
	else
		clock_gettime(CLOCK_MONOTONIC, ts);
}

/* ---- sockets and lookup ---- */

static struct sock *sock_get(const struct vtr_engine *e, int id)
{
	if (id < 0 || (uint32_t)id >= e->cfg.max_sockets || e->socks[id].state == VTR_STATE_FREE)
		return NULL;
	return &e->socks[id];
}

/*
 * A socket the user may still use. A connection waiting in a listener's accept queue is not the
 * user's until vtr_accept() returns it: closing it (a stale number, a double close) would free it
 * while the queue still links it.
 */
static struct sock *user_sock(const struct vtr_engine *e, int id)
{
	struct sock *s = sock_get(e, id);

	return s && !s->orphan && s->parent == NONE ? s : NULL;
}

static int sock_id(const struct vtr_engine *e, const struct sock *s)
{
	return (int)(s - e->socks);
}

static uint32_t conn_hash(const struct vtr_engine *e, uint32_t local_port, uint64_t peer_cid, uint32_t peer_port)
{
	uint64_t h = (local_port * 0x9e3779b97f4a7c15ull) ^ (peer_cid * 0xc2b2ae3d27d4eb4full) ^ peer_port;

	h ^= h >> 31;
	return (uint32_t)(h * 0xbf58476d1ce4e5b9ull >> 32) & e->hash_mask;
}

static void hash_add(struct vtr_engine *e, struct sock *s)
{
	uint32_t h = conn_hash(e, s->local_port, s->peer_cid, s->peer_port);

	s->hash_next = e->hash[h];
	e->hash[h] = sock_id(e, s);
	s->hashed = true;
}

static void hash_del(struct vtr_engine *e, struct sock *s)
{
	uint32_t h;
	int *link;

	if (!s->hashed)
		return;
	h = conn_hash(e, s->local_port, s->peer_cid, s->peer_port);
	for (link = &e->hash[h]; *link != NONE; link = &e->socks[*link].hash_next) {
		if (*link == sock_id(e, s)) {
			*link = s->hash_next;
			break;
		}
	}
	s->hashed = false;
}

static struct sock *find_conn(const struct vtr_engine *e, uint32_t local_port, uint64_t peer_cid, uint32_t peer_port)
{
	for (int i = e->hash[conn_hash(e, local_port, peer_cid, peer_port)]; i != NONE; i = e->socks[i].hash_next) {
		struct sock *s = &e->socks[i];

		if (s->local_port == local_port && s->peer_cid == peer_cid && s->peer_port == peer_port)
			return s;
	}
	return NULL;
}

/* The listener bound to port; VTR_PORT_ANY finds the wildcard listener of that type. */
static struct sock *find_listener_typed(const struct vtr_engine *e, uint32_t port, int type)
{
	for (uint32_t i = 0; i < e->cfg.max_sockets; i++)
		if (e->socks[i].state == VTR_STATE_LISTEN && e->socks[i].local_port == port &&
		    (!type || e->socks[i].type == type))
			return &e->socks[i];
	return NULL;
}

static struct sock *find_listener(const struct vtr_engine *e, uint32_t port)
{
	return find_listener_typed(e, port, 0);
}

static bool port_in_use(const struct vtr_engine *e, uint32_t port)
{
	for (uint32_t i = 0; i < e->cfg.max_sockets; i++)
		if (e->socks[i].state != VTR_STATE_FREE && e->socks[i].local_port == port)
			return true;
	return false;
}

static struct sock *sock_alloc(struct vtr_engine *e, int type)
{
	for (uint32_t i = 0; i < e->cfg.max_sockets; i++) {
		struct sock *s = &e->socks[i];

		if (s->state != VTR_STATE_FREE)
			continue;
		memset(s, 0, sizeof(*s));
		vtr_rxbuf_init(&s->rx);
		s->type = type;
		s->buf_alloc = e->cfg.buf_alloc;
		s->accept_head = s->accept_tail = s->accept_next = s->parent = s->hash_next = NONE;
		e->stats.sockets++;
		return s;
	}
	return NULL;
}

/* Empties a receive queue, keeping the engine-wide count of unread bytes right. */
static void rx_discard(struct vtr_engine *e, struct sock *s)
{
	e->stats.rx_queue_bytes -= s->rx.len;
	vtr_rxbuf_free(&s->rx);
}

static void timer_off(struct vtr_engine *e, struct sock *s)
{
	if (s->timer_armed)
		e->timers--;
	s->timer_armed = false;
}

static void sock_free(struct vtr_engine *e, struct sock *s)
{
	timer_off(e, s);
	hash_del(e, s);
	rx_discard(e, s);
	s->state = VTR_STATE_FREE;
	e->stats.sockets--;
}

static void notify(struct vtr_engine *e, struct sock *s, unsigned events)
{
	if (s->orphan || !e->ops.event)
		return;
	e->ops.event(e->ctx, sock_id(e, s), events);
}

static void arm_timer(struct vtr_engine *e, struct sock *s, uint32_t ms)
{
	now(e, &s->deadline);
	s->deadline.tv_sec += ms / 1000;
	s->deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (s->deadline.tv_nsec >= 1000000000) {
		s->deadline.tv_sec++;
		s->deadline.tv_nsec -= 1000000000;
	}
	if (!s->timer_armed)
		e->timers++;
	s->timer_armed = true;
}

/* ---- the cap on unread packets (cfg.max_unread_pkts) ---- */

static bool at_unread_cap(const struct vtr_engine *e, const struct sock *s)
{
	return e->unread_ends && s->unread_n >= e->cfg.max_unread_pkts;
}

static uint32_t *unread_row(const struct vtr_engine *e, const struct sock *s)
{
	return &e->unread_ends[(size_t)(s - e->socks) * e->cfg.max_unread_pkts];
}

/* The bytes a stream may still send before the cap: whole packets the peer may yet hold; no cap, no limit. */
static uint64_t unread_room(const struct vtr_engine *e, const struct sock *s)
{
	return e->unread_ends ? (uint64_t)(e->cfg.max_unread_pkts - s->unread_n) * e->cfg.max_pkt : UINT64_MAX;
}

/* Notes a RW packet that ends at tx_cnt; past the cap nothing more is noted. */
static void note_unread(struct vtr_engine *e, struct sock *s)
{
	if (!e->unread_ends || at_unread_cap(e, s))
		return;
	unread_row(e, s)[(s->unread_head + s->unread_n) % e->cfg.max_unread_pkts] = s->tx_cnt;
	s->unread_n++;
}

/* Forgets the packets the peer has read: those whose end its fwd_cnt has passed (wrap-safe). */
static void retire_unread(struct vtr_engine *e, struct sock *s)
{
	const uint32_t *row;

	if (!e->unread_ends)
		return;
	row = unread_row(e, s);
	while (s->unread_n && (int32_t)(s->peer_fwd_cnt - row[s->unread_head]) >= 0) {
		s->unread_head = (s->unread_head + 1) % e->cfg.max_unread_pkts;
		s->unread_n--;
	}
	if (!s->unread_n)
		s->ask_ms = 0;
}

/* Whether the socket could send but for the cap: what VTR_EV_WRITABLE says without it. */
static bool may_send(const struct vtr_engine *e, const struct sock *s)
{
	return s->state == VTR_STATE_ESTABLISHED && !(s->local_shutdown & VTR_SHUT_WR) &&
	       !(s->peer_shutdown & VTR_SHUT_RD) && !e->txq.head &&
	       vtr_credit_space(s->peer_buf_alloc, s->buf_alloc, s->tx_cnt, s->peer_fwd_cnt);
}

static int send_ctl(struct vtr_engine *e, struct sock *s, uint16_t op, uint32_t flags);
static bool expired(const struct timespec *deadline, const struct timespec *t);

/*
 * At the cap: asks the peer for its credit now when no ask is pending, else when the last wait is
 * over (10, 20... 1000 ms), and sets the timer for the next. Only a socket that could otherwise
 * send asks: one waiting for credit or the wire hears from the peer anyway.
 */
static void ask_unread(struct vtr_engine *e, struct sock *s)
{
	struct timespec t;

	if (!at_unread_cap(e, s) || !may_send(e, s))
		return;
	now(e, &t);
	if (!s->ask_ms || expired(&s->next_ask, &t)) {
		send_ctl(e, s, VSM_OP_CREDIT_REQUEST, 0);
		s->ask_ms = s->ask_ms ? (s->ask_ms * 2 > 1000 ? 1000 : s->ask_ms * 2) : 10;
		arm_timer(e, s, s->ask_ms);
		s->next_ask = s->deadline;
		return;
	}
	if (!s->timer_armed)
		e->timers++;
	s->timer_armed = true;
	s->deadline = s->next_ask;
}

/* ---- the one send path ---- */

/* Capture files want wall-clock time; an injected clock (tests, the lab) is used as it is. */
static void tap_time(const struct vtr_engine *e, struct timespec *ts)
{
	if (e->ops.now)
		e->ops.now(e->ctx, ts);
	else
		clock_gettime(CLOCK_REALTIME, ts);
}

static void tap_and_count(struct vtr_engine *e, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	if (vsm_tap_active(e->tap)) {
		struct timespec ts;

		tap_time(e, &ts);
		vsm_tap_packet(e->tap, &ts, hdr, payload, len);
	}
	e->stats.pkts_out++;
	e->stats.bytes_out += len;
	if (vsm_le16(hdr + VSM_VH_OP) == VSM_OP_RST)
		e->stats.rst_sent++;
}

/* Keeps a packet the wire refused; order is kept by sending nothing past a queued packet. */
static int enqueue(struct vtr_engine *e, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct vtr_pkt *t;

	/*
	 * Data stops at max_tx_queue (vtr_send() says -EAGAIN); control packets may go past it, but a
	 * peer that floods requests while the wire is stuck cannot grow the queue past twice that.
	 */
	if (e->txq.bytes + vtr_pkt_size(len) > 2 * e->cfg.max_tx_queue) {
		e->stats.tx_dropped++;
		return -ENOBUFS;
	}
	t = vtr_pkt_new(hdr, payload, len);
	if (!t)
		return -ENOMEM;
	vtr_pktq_push(&e->txq, t);
	return 0;
}

/*
 * Builds the header (virtio spec 5.10.6, every field little-endian), stamps our buf_alloc and
 * fwd_cnt as every packet must carry them, and hands the packet to the wire. Any packet tells
 * the peer our fwd_cnt, so it counts as a credit update (Linux virtio_transport_inc_tx_pkt()).
 */
static int send_pkt(struct vtr_engine *e, struct sock *s, const struct pkt_info *pi)
{
	uint8_t hdr[HDR_LEN];
	int ret;

	vsm_encode_virtio_hdr(&(struct vsm_virtio_hdr){
		.src_cid = e->cfg.cid, .dst_cid = pi->peer_cid,
		.src_port = pi->local_port, .dst_port = pi->peer_port,
		.len = pi->len, .type = pi->type, .op = pi->op, .flags = pi->flags,
		.buf_alloc = s ? s->buf_alloc : 0, .fwd_cnt = s ? s->fwd_cnt : 0,
	}, hdr);
	if (s) {
		s->last_fwd_cnt = s->fwd_cnt;
		/* Both measured from fwd_cnt, which never passes the horizon: wrap-safe. */
		if (s->buf_alloc > s->rx_horizon - s->fwd_cnt)
			s->rx_horizon = s->fwd_cnt + s->buf_alloc;
	}
	if (!e->txq.head) {
		ret = e->ops.xmit(e->ctx, hdr, pi->payload, pi->len);
		if (ret == 0) {
			tap_and_count(e, hdr, pi->payload, pi->len);
			return 0;
		}
		if (ret != -EAGAIN)
			return ret;
	}
	return enqueue(e, hdr, pi->payload, pi->len);
}

/* A control packet on a connection (no payload). */
static int send_ctl(struct vtr_engine *e, struct sock *s, uint16_t op, uint32_t flags)
{
	struct pkt_info pi = {
		.op = op, .type = (uint16_t)s->type, .flags = flags,
		.local_port = s->local_port, .peer_cid = s->peer_cid, .peer_port = s->peer_port,
	};

	return send_pkt(e, s, &pi);
}

/*
 * RST for a packet no socket takes (connection refused, unknown connection): addresses swapped,
 * type kept, buf_alloc and fwd_cnt 0, as Linux's virtio_transport_reset_no_sock(). Never in
 * answer to an RST, or two engines would volley RSTs forever.
 */
static void reset_no_sock(struct vtr_engine *e, const struct vsm_virtio_hdr *h)
{
	struct pkt_info pi = {
		.op = VSM_OP_RST, .type = h->type,
		.local_port = h->dst_port, .peer_cid = h->src_cid, .peer_port = h->src_port,
	};

	if (h->op == VSM_OP_RST)
		return;
	send_pkt(e, NULL, &pi);
}

size_t vtr_flush(struct vtr_engine *e)
{
	size_t left = 0;

	while (e->txq.head) {
		struct vtr_pkt *t = e->txq.head;
		int ret = e->ops.xmit(e->ctx, vtr_pkt_hdr(t), vtr_pkt_payload(t), t->payload_len);

		if (ret == -EAGAIN)
			break;
		/* Sent, or failed for good: either way it leaves the queue (a dead wire drops). */
		if (ret == 0)
			tap_and_count(e, vtr_pkt_hdr(t), vtr_pkt_payload(t), t->payload_len);
		free(vtr_pktq_pop(&e->txq));
	}
	for (struct vtr_pkt *t = e->txq.head; t; t = t->next)
		left++;
	/* Queue room came back: senders that were held by it may go on. */
	if (!e->txq.head) {
		for (uint32_t i = 0; i < e->cfg.max_sockets; i++) {
			struct sock *s = &e->socks[i];

			if (s->state == VTR_STATE_ESTABLISHED && s->blocked &&
			    vtr_credit_space(s->peer_buf_alloc, s->buf_alloc, s->tx_cnt, s->peer_fwd_cnt)) {
				s->blocked = false;
				notify(e, s, VTR_EV_WRITABLE);
			}
		}
	}
	return left;
}

bool vtr_want_write(const struct vtr_engine *e)
{
	return e->txq.head != NULL;
}

/* ---- connection endings ---- */

/* The connection is over: out of the lookup table, so later packets for it get an RST. */
static void conn_done(struct vtr_engine *e, struct sock *s, int error)
{
	hash_del(e, s);
	timer_off(e, s);
	if (s->orphan) {
		sock_free(e, s);
		return;
	}
	s->state = VTR_STATE_CLOSED;
	if (error && !s->error)
		s->error = error;
	notify(e, s, VTR_EV_HUP | VTR_EV_READABLE | (s->error ? VTR_EV_ERROR : 0));
}

/* Aborts a connection with an RST (protocol violations, vtr_reset(), timeouts). */
static void conn_reset(struct vtr_engine *e, struct sock *s, int error)
{
	send_ctl(e, s, VSM_OP_RST, 0);
	conn_done(e, s, error);
}

/* ---- receiving ---- */

static void space_update(struct vtr_engine *e, struct sock *s, const struct vsm_virtio_hdr *h)
{
	s->peer_buf_alloc = h->buf_alloc;
	s->peer_fwd_cnt = h->fwd_cnt;
	retire_unread(e, s);
	if (s->blocked && !e->txq.head && !at_unread_cap(e, s) &&
	    vtr_credit_space(s->peer_buf_alloc, s->buf_alloc, s->tx_cnt, s->peer_fwd_cnt)) {
		s->blocked = false;
		notify(e, s, VTR_EV_WRITABLE);
	}
}

static void recv_listen(struct vtr_engine *e, struct sock *l, const struct vsm_virtio_hdr *h)
{
	struct sock *c;

	if (h->op != VSM_OP_REQUEST) {
		/*
		 * Data or control before a connection exists. Not an RST: after a simultaneous close
		 * the peer's RST crosses ours and finds the connection gone, which is no violation.
		 */
		if (h->op != VSM_OP_RST)
			e->stats.violations++;
		reset_no_sock(e, h);
		return;
	}
	if (l->pending >= l->backlog || !(c = sock_alloc(e, l->type))) {
		e->stats.refused++;
		reset_no_sock(e, h);
		return;
	}
	c->state = VTR_STATE_ESTABLISHED;
	c->local_port = h->dst_port;	/* the listener's, or any for a wildcard one */
	c->peer_cid = h->src_cid;
	c->peer_port = h->src_port;
	c->parent = sock_id(e, l);
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (e->ops.admit && e->ops.admit(e->ctx, sock_id(e, l), sock_id(e, c), c->local_port, c->peer_cid,
					 c->peer_port) < 0) {
		/* The owner refused it (nothing behind the port): refused like a port with no listener. */
		sock_free(e, c);
		e->stats.refused++;
		reset_no_sock(e, h);
		return;
	}
	hash_add(e, c);
	if (l->accept_tail == NONE)
		l->accept_head = sock_id(e, c);
	else
		e->socks[l->accept_tail].accept_next = sock_id(e, c);
	l->accept_tail = sock_id(e, c);
	l->pending++;
	send_ctl(e, c, VSM_OP_RESPONSE, 0);
	notify(e, l, VTR_EV_READABLE);
}

static void recv_rw(struct vtr_engine *e, struct sock *s, const struct vsm_virtio_hdr *h, const uint8_t *payload)
{
	bool seq = s->type == VTR_SEQPACKET;

	if (s->peer_shutdown & VTR_SHUT_WR) {
		/* data after the peer said it would send no more */
		e->stats.violations++;
		conn_reset(e, s, -EPROTO);
		return;
	}
	if (!vtr_credit_rx_fits(s->rx.len, h->len, s->rx_horizon - s->fwd_cnt)) {
		/* virtio spec 5.10.6.3: RW "MUST only be transmitted when the peer has sufficient free buffer space" */
		e->stats.violations++;
		conn_reset(e, s, -EPROTO);
		return;
	}
	if (s->local_shutdown & VTR_SHUT_RD) {
		/* We will never read it: count it consumed so the peer's credit still moves. */
		s->fwd_cnt += h->len;
		return;
	}
	if (e->stats.rx_queue_bytes + h->len > e->cfg.max_rx_queue) {
		/* All connections together may not hold more than max_rx_queue unread bytes. */
		e->stats.violations++;
		conn_reset(e, s, -ENOBUFS);
		return;
	}
	if (vtr_rxbuf_append(&s->rx, payload, h->len, s->rx_horizon - s->fwd_cnt) < 0 ||
	    (seq && (h->flags & VSM_SEQ_EOM) && vtr_rxbuf_end_msg(&s->rx, h->flags & VSM_SEQ_EOR) < 0)) {
		conn_reset(e, s, -ENOMEM);
		return;
	}
	e->stats.rx_queue_bytes += h->len;
	if (!seq || (h->flags & VSM_SEQ_EOM))
		notify(e, s, VTR_EV_READABLE);
}

static void recv_shutdown(struct vtr_engine *e, struct sock *s, const struct vsm_virtio_hdr *h)
{
	/* virtio spec 5.10.6.5: RCV (1) = the peer will receive no more; SEND (2) = it will send no more. */
	if (h->flags & VSM_SHUTDOWN_RCV)
		s->peer_shutdown |= VTR_SHUT_RD;
	if (h->flags & VSM_SHUTDOWN_SEND)
		s->peer_shutdown |= VTR_SHUT_WR;
	if (s->peer_shutdown == VTR_SHUT_RDWR && !s->rx.len) {
		/* Clean disconnect: the peer is done both ways and nothing is left to read: answer with RST. */
		send_ctl(e, s, VSM_OP_RST, 0);
		conn_done(e, s, 0);
		return;
	}
	notify(e, s, VTR_EV_READABLE | VTR_EV_WRITABLE);
}

static void recv_established(struct vtr_engine *e, struct sock *s, const struct vsm_virtio_hdr *h,
			     const uint8_t *payload)
{
	switch (h->op) {
	case VSM_OP_RW:
		recv_rw(e, s, h, payload);
		break;
	case VSM_OP_CREDIT_UPDATE:
		break;		/* space_update() already took it */
	case VSM_OP_CREDIT_REQUEST:
		send_ctl(e, s, VSM_OP_CREDIT_UPDATE, 0);
		break;
	case VSM_OP_SHUTDOWN:
		recv_shutdown(e, s, h);
		break;
	case VSM_OP_RST:
		/*
		 * An RST after a full SHUTDOWN, the peer's or ours (shutdown(RDWR) without close()),
		 * completes a clean close (virtio spec 5.10.6.7); before either, it aborts.
		 */
		conn_done(e, s, s->peer_shutdown == VTR_SHUT_RDWR || s->local_shutdown == VTR_SHUT_RDWR ? 0 : -ECONNRESET);
		break;
	default:
		/* REQUEST/RESPONSE on a live connection, or an unknown op */
		e->stats.violations++;
		conn_reset(e, s, -EPROTO);
		break;
	}
}

static void recv_connecting(struct vtr_engine *e, struct sock *s, const struct vsm_virtio_hdr *h)
{
	switch (h->op) {
	case VSM_OP_RESPONSE:
		s->state = VTR_STATE_ESTABLISHED;
		timer_off(e, s);
		notify(e, s, VTR_EV_CONNECTED | VTR_EV_WRITABLE);
		break;
	case VSM_OP_RST:
		/* Linux reports a refused connect as ECONNRESET (vsock_test "connection reset"). */
		conn_done(e, s, -ECONNRESET);
		break;
	case VSM_OP_INVALID:
		break;		/* ignored while connecting, as Linux's virtio_transport_recv_connecting() does */
	default:
		e->stats.violations++;
		conn_reset(e, s, -EPROTO);
		break;
	}
}

/* After vtr_close(): only the end of the connection matters now. */
static void recv_closing(struct vtr_engine *e, struct sock *s, const struct vsm_virtio_hdr *h)
{
	if (h->op == VSM_OP_RST) {
		conn_done(e, s, 0);
	} else if (h->op == VSM_OP_SHUTDOWN) {
		recv_shutdown(e, s, h);
	} else if (h->op == VSM_OP_RW) {
		/* The user is gone: consume it so the peer's credit moves, and drop it. */
		s->fwd_cnt += h->len;
	} else if (h->op == VSM_OP_CREDIT_REQUEST) {
		send_ctl(e, s, VSM_OP_CREDIT_UPDATE, 0);
	}
}

int vtr_input(struct vtr_engine *e, const uint8_t *pkt, size_t len)
{
	if (!pkt || len < HDR_LEN) {
		e->stats.malformed++;
		return -EINVAL;
	}
	return vtr_input_split(e, pkt, pkt + HDR_LEN, len - HDR_LEN);
}

int vtr_input_split(struct vtr_engine *e, const uint8_t *hdr, const uint8_t *payload, size_t len)
{
	struct vsm_virtio_hdr h;
	struct sock *s;

	if (!hdr || (len && !payload)) {
		e->stats.malformed++;
		return -EINVAL;
	}
	vsm_decode_virtio_hdr(hdr, &h);
	/* The tap point for everything received: before any check, as Linux taps on receive. */
	if (vsm_tap_active(e->tap)) {
		struct timespec ts;

		tap_time(e, &ts);
		vsm_tap_packet(e->tap, &ts, hdr, payload, (uint32_t)len);
	}
	e->stats.pkts_in++;
	if (h.op == VSM_OP_RST)
		e->stats.rst_received++;
	if (h.len != len || h.dst_cid != e->cfg.cid || (h.op != VSM_OP_RW && h.len)) {
		/* A header that contradicts its packet, or another CID's packet: drop it, as Linux does. */
		e->stats.malformed++;
		return 0;
	}
	e->stats.bytes_in += h.len;
	/* virtio spec 5.10.6.4: "A VIRTIO_VSOCK_OP_RST reply MUST be sent if a packet is received with an unknown type". */
	if (h.type != VTR_STREAM && h.type != VTR_SEQPACKET) {
		e->stats.violations++;
		reset_no_sock(e, &h);
		return 0;
	}
	s = find_conn(e, h.dst_port, h.src_cid, h.src_port);
	if (!s) {
		struct sock *l = find_listener(e, h.dst_port);

		if (!l && h.dst_port != VTR_PORT_ANY)
			l = find_listener_typed(e, VTR_PORT_ANY, h.type);

		if (l && l->type == h.type) {
			recv_listen(e, l, &h);
		} else {
			if (h.op == VSM_OP_REQUEST)
				e->stats.refused++;
			reset_no_sock(e, &h);
		}
		return 0;
	}
	if (s->type != h.type) {
		/*
		 * Not this connection's packet: answered like a packet without a socket and the
		 * connection left alone, as Linux's virtio_transport_recv_pkt() does. Resetting the
		 * connection here would also answer an RST with an RST.
		 */
		e->stats.violations++;
		reset_no_sock(e, &h);
		return 0;
	}
	if (h.op != VSM_OP_RST)
		space_update(e, s, &h);
	switch (s->state) {
	case VTR_STATE_CONNECTING:
		recv_connecting(e, s, &h);
		break;
	case VTR_STATE_ESTABLISHED:
		recv_established(e, s, &h, payload);
		break;
	case VTR_STATE_CLOSING:
		recv_closing(e, s, &h);
		break;
	default:
		reset_no_sock(e, &h);
		break;
	}
	return 0;
}

/* ---- the user's calls ---- */

int vtr_listen(struct vtr_engine *e, uint32_t port, int type, unsigned backlog)
{
	struct sock *s;

	if (type != VTR_STREAM && type != VTR_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	/* A port takes one listener; the wildcard takes one of each type. */
	if (port == VTR_PORT_ANY ? find_listener_typed(e, port, type) != NULL : find_listener(e, port) != NULL)
		return -EADDRINUSE;
	s = sock_alloc(e, type);
	if (!s)
		return -EMFILE;
	s->state = VTR_STATE_LISTEN;
	s->local_port = port;
	s->backlog = backlog ? backlog : 128;
	return sock_id(e, s);
}

int vtr_accept(struct vtr_engine *e, int listener)
{
	struct sock *l = user_sock(e, listener), *c;

	if (!l)
		return -EBADF;
	if (l->state != VTR_STATE_LISTEN)
		return -EINVAL;
	if (l->accept_head == NONE)
		return -EAGAIN;
	c = &e->socks[l->accept_head];
	l->accept_head = c->accept_next;
	if (l->accept_head == NONE)
		l->accept_tail = NONE;
	l->pending--;
	c->accept_next = c->parent = NONE;
	return sock_id(e, c);
}

int vtr_connect(struct vtr_engine *e, uint64_t peer_cid, uint32_t peer_port, int type, uint32_t local_port)
{
	struct sock *s;

	if (type != VTR_STREAM && type != VTR_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (!local_port) {
		/* Ephemeral ports walk upward from ephemeral_min, skipping those in use. */
		for (uint32_t tries = 0; tries < 65536 && !local_port; tries++) {
			uint32_t p = e->next_ephemeral++;

			/* 0xffffffff is VMADDR_PORT_ANY, never a port: wrap before it. */
			if (e->next_ephemeral == UINT32_MAX || e->next_ephemeral < e->cfg.ephemeral_min)
				e->next_ephemeral = e->cfg.ephemeral_min;
			if (p == UINT32_MAX)
				continue;
			if (!port_in_use(e, p))
				local_port = p;
		}
		if (!local_port)
			return -EADDRNOTAVAIL;
	} else if (find_conn(e, local_port, peer_cid, peer_port)) {
		return -EADDRINUSE;
	}
	s = sock_alloc(e, type);
	if (!s)
		return -EMFILE;
	s->state = VTR_STATE_CONNECTING;
	s->local_port = local_port;
	s->peer_cid = peer_cid;
	s->peer_port = peer_port;
	hash_add(e, s);
	arm_timer(e, s, e->cfg.connect_timeout_ms);
	send_ctl(e, s, VSM_OP_REQUEST, 0);
	return sock_id(e, s);
}

static ssize_t send_check(struct vtr_engine *e, struct sock *s)
{
	if (s->error)
		return s->error;
	if (s->state == VTR_STATE_CONNECTING)
		return -ENOTCONN;
	if (s->state != VTR_STATE_ESTABLISHED)
		return s->state == VTR_STATE_LISTEN ? -ENOTCONN : -EPIPE;
	if ((s->local_shutdown & VTR_SHUT_WR) || (s->peer_shutdown & VTR_SHUT_RD))
		return -EPIPE;
	if (e->txq.bytes >= e->cfg.max_tx_queue || at_unread_cap(e, s)) {
		s->blocked = true;
		return -EAGAIN;
	}
	return 0;
}

ssize_t vtr_send(struct vtr_engine *e, int sock, const void *buf, size_t len, unsigned flags)
{
	struct sock *s = user_sock(e, sock);
	uint32_t space, todo, done = 0;
	ssize_t ret;

	if (!s)
		return -EBADF;
	ret = send_check(e, s);
	if (ret < 0)
		return ret;
	space = vtr_credit_space(s->peer_buf_alloc, s->buf_alloc, s->tx_cnt, s->peer_fwd_cnt);
	if (s->type == VTR_SEQPACKET) {
		/* A message must fit the peer's buffer whole; Linux says EMSGSIZE otherwise. */
		if (len > s->peer_buf_alloc || len > s->buf_alloc)
			return -EMSGSIZE;
		if (len > space) {
			s->blocked = true;
			return -EAGAIN;
		}
	} else if (!space) {
		s->blocked = true;
		return -EAGAIN;
	}
	if (!len)
		return 0;	/* a zero-length RW is never sent (Linux) */
	todo = len < space ? (uint32_t)len : space;
	/* A stream stops at the cap on unread packets; a message goes whole (noted up to the cap). */
	if (s->type == VTR_STREAM && todo > unread_room(e, s))
		todo = (uint32_t)unread_room(e, s);
	while (done < todo) {
		uint32_t n = todo - done < e->cfg.max_pkt ? todo - done : e->cfg.max_pkt;
		bool last = done + n == todo;
		struct pkt_info pi = {
			.op = VSM_OP_RW, .type = (uint16_t)s->type,
			.local_port = s->local_port, .peer_cid = s->peer_cid, .peer_port = s->peer_port,
			.payload = (const uint8_t *)buf + done, .len = n,
		};

		/* SEQPACKET: only a message's last packet carries EOM, and EOR when asked (virtio spec 5.10.6.6). */
		if (s->type == VTR_SEQPACKET && last)
			pi.flags = VSM_SEQ_EOM | ((flags & VTR_MSG_EOR) ? VSM_SEQ_EOR : 0);
		s->tx_cnt += n;
		ret = send_pkt(e, s, &pi);
		if (ret < 0) {
			s->tx_cnt -= n;
			if (done)
				ask_unread(e, s);
			return done ? (ssize_t)done : ret;
		}
		note_unread(e, s);
		done += n;
	}
	if (done < len || at_unread_cap(e, s))
		s->blocked = true;
	ask_unread(e, s);
	return done;
}

/* After the user consumed data: tell the peer when Linux would (see credit.h). */
static void after_consume(struct vtr_engine *e, struct sock *s, bool always)
{
	if (s->state != VTR_STATE_ESTABLISHED)
		return;
	if (always ? s->fwd_cnt != s->last_fwd_cnt : vtr_credit_update_due(s->fwd_cnt, s->last_fwd_cnt, s->buf_alloc, s->rx.len))
		send_ctl(e, s, VSM_OP_CREDIT_UPDATE, 0);
	/* A clean close that waited for the reader: the peer is done both ways and all is read. */
	if (s->peer_shutdown == VTR_SHUT_RDWR && !s->rx.len) {
		send_ctl(e, s, VSM_OP_RST, 0);
		conn_done(e, s, 0);
	}
}

ssize_t vtr_recv(struct vtr_engine *e, int sock, void *buf, size_t len, unsigned flags, unsigned *ret_flags)
{
	struct sock *s = user_sock(e, sock);
	bool peek = flags & VTR_MSG_PEEK;
	uint32_t n;

	if (ret_flags)
		*ret_flags = 0;
	if (!s)
		return -EBADF;
	if (s->state == VTR_STATE_LISTEN || s->state == VTR_STATE_CONNECTING)
		return -ENOTCONN;
	if (s->type == VTR_SEQPACKET) {
		struct vtr_msg m;

		if (!vtr_rxbuf_peek_msg(&s->rx, &m))
			goto empty;
		n = vtr_rxbuf_read(&s->rx, buf, m.len < len ? m.len : (uint32_t)len, false);
		if (ret_flags)
			*ret_flags = (m.len > len ? VTR_MSG_TRUNC : 0) | (m.eor ? VTR_MSG_EOR : 0);
		if (!peek) {
			/* The whole message is consumed, even the part that did not fit (as recvmsg does). */
			vtr_rxbuf_drop(&s->rx, m.len);
			vtr_rxbuf_pop_msg(&s->rx);
			e->stats.rx_queue_bytes -= m.len;
			s->fwd_cnt += m.len;
			/* Linux sends a credit update after every SEQPACKET message read. */
			after_consume(e, s, true);
		}
		return n;
	}
	if (!s->rx.len)
		goto empty;
	n = vtr_rxbuf_read(&s->rx, buf, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, !peek);
	if (!peek) {
		e->stats.rx_queue_bytes -= n;
		s->fwd_cnt += n;
		after_consume(e, s, false);
	}
	return n;
empty:
	if (s->error) {
		int err = s->error;

		s->error = 0;
		return err;
	}
	if ((s->peer_shutdown & VTR_SHUT_WR) || s->state == VTR_STATE_CLOSED || (s->local_shutdown & VTR_SHUT_RD))
		return 0;
	return -EAGAIN;
}

int vtr_shutdown(struct vtr_engine *e, int sock, int how)
{
	struct sock *s = user_sock(e, sock);
	uint32_t flags;

	if (!s)
		return -EBADF;
	if (how < VTR_SHUT_RD || how > VTR_SHUT_RDWR)
		return -EINVAL;
	if (s->state != VTR_STATE_ESTABLISHED)
		return -ENOTCONN;
	s->local_shutdown |= (unsigned)how;
	if (how & VTR_SHUT_RD) {
		/* What is queued will never be read: count it consumed. */
		s->fwd_cnt += s->rx.len;
		rx_discard(e, s);
	}
	/*
	 * The SHUTDOWN carries this call's directions only, as Linux's virtio_transport_shutdown(vsk,
	 * mode) does; the peer keeps the bits it already has (virtio spec: the hints are permanent).
	 */
	flags = ((how & VTR_SHUT_RD) ? VSM_SHUTDOWN_RCV : 0) | ((how & VTR_SHUT_WR) ? VSM_SHUTDOWN_SEND : 0);
	return send_ctl(e, s, VSM_OP_SHUTDOWN, flags);
}

static void close_listener(struct vtr_engine *e, struct sock *l)
{
	/* Connections nobody accepted are reset, as Linux does when a listener goes. */
	while (l->accept_head != NONE) {
		struct sock *c = &e->socks[l->accept_head];

		l->accept_head = c->accept_next;
		c->orphan = true;
		conn_reset(e, c, 0);
	}
	sock_free(e, l);
}

int vtr_close(struct vtr_engine *e, int sock)
{
	struct sock *s = user_sock(e, sock);

	if (!s)
		return -EBADF;
	switch (s->state) {
	case VTR_STATE_LISTEN:
		close_listener(e, s);
		return 0;
	case VTR_STATE_CONNECTING:
		s->orphan = true;
		conn_reset(e, s, 0);
		return 0;
	case VTR_STATE_ESTABLISHED:
		s->orphan = true;
		if (s->peer_shutdown == VTR_SHUT_RDWR) {
			conn_reset(e, s, 0);
			return 0;
		}
		/*
		 * virtio spec 5.10.6.7 clean disconnect: SHUTDOWN, then wait for the peer's RST. Like
		 * Linux's virtio_transport_close(), no second SHUTDOWN when shutdown(RDWR) already sent one.
		 */
		s->state = VTR_STATE_CLOSING;
		rx_discard(e, s);
		arm_timer(e, s, e->cfg.close_timeout_ms);
		if (s->local_shutdown != VTR_SHUT_RDWR) {
			s->local_shutdown = VTR_SHUT_RDWR;
			send_ctl(e, s, VSM_OP_SHUTDOWN, VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND);
		}
		return 0;
	default:
		sock_free(e, s);
		return 0;
	}
}

int vtr_reset(struct vtr_engine *e, int sock)
{
	struct sock *s = user_sock(e, sock);

	if (!s)
		return -EBADF;
	if (s->state != VTR_STATE_ESTABLISHED && s->state != VTR_STATE_CONNECTING)
		return -ENOTCONN;
	conn_reset(e, s, 0);
	return 0;
}

int vtr_set_buffer_size(struct vtr_engine *e, int sock, uint32_t size)
{
	struct sock *s = user_sock(e, sock);

	if (!s)
		return -EBADF;
	if (size > e->cfg.max_buf_alloc || size < 128)	/* Linux's VSOCK_BUFFER_MIN_SIZE is 128 */
		return -EINVAL;
	/* A smaller buffer binds the peer only from this CREDIT_UPDATE on (see rx_horizon). */
	s->buf_alloc = size;
	if (s->state == VTR_STATE_ESTABLISHED)
		return send_ctl(e, s, VSM_OP_CREDIT_UPDATE, 0);
	return 0;
}

int vtr_credit_request(struct vtr_engine *e, int sock)
{
	struct sock *s = user_sock(e, sock);

	if (!s)
		return -EBADF;
	if (s->state != VTR_STATE_ESTABLISHED)
		return -ENOTCONN;
	/* The answer (or any packet that brings credit) wakes the asker with VTR_EV_WRITABLE. */
	s->blocked = true;
	return send_ctl(e, s, VSM_OP_CREDIT_REQUEST, 0);
}

unsigned vtr_poll(const struct vtr_engine *e, int sock)
{
	const struct sock *s = user_sock(e, sock);
	unsigned ev = 0;

	if (!s)
		return VTR_EV_ERROR | VTR_EV_HUP;
	if (s->error)
		ev |= VTR_EV_ERROR;
	switch (s->state) {
	case VTR_STATE_LISTEN:
		if (s->accept_head != NONE)
			ev |= VTR_EV_READABLE;
		break;
	case VTR_STATE_ESTABLISHED:
		if (s->type == VTR_SEQPACKET ? s->rx.msg_count > 0 : s->rx.len > 0)
			ev |= VTR_EV_READABLE;
		if (s->peer_shutdown & VTR_SHUT_WR)
			ev |= VTR_EV_READABLE;	/* end of stream */
		if (may_send(e, s) && !at_unread_cap(e, s))
			ev |= VTR_EV_WRITABLE;
		break;
	case VTR_STATE_CLOSED:
		ev |= VTR_EV_HUP | VTR_EV_READABLE;
		break;
	default:
		break;
	}
	return ev;
}

int vtr_sock_error(struct vtr_engine *e, int sock)
{
	struct sock *s = user_sock(e, sock);
	int err;

	if (!s)
		return -EBADF;
	err = s->error;
	s->error = 0;
	return err;
}

int vtr_sock_info(const struct vtr_engine *e, int sock, struct vtr_sock_info *ret)
{
	const struct sock *s = sock_get(e, sock);

	if (!s || !ret)
		return -EBADF;
	*ret = (struct vtr_sock_info){
		.type = s->type, .state = s->state,
		.local_cid = e->cfg.cid, .peer_cid = s->peer_cid,
		.local_port = s->local_port, .peer_port = s->peer_port,
		.tx_cnt = s->tx_cnt, .peer_fwd_cnt = s->peer_fwd_cnt, .peer_buf_alloc = s->peer_buf_alloc,
		.credit = vsm_credit(s->peer_buf_alloc, s->tx_cnt, s->peer_fwd_cnt),
		.unread_pkts = s->unread_n,
		.unread_room = unread_room(e, s),
		.fwd_cnt = s->fwd_cnt, .last_fwd_cnt = s->last_fwd_cnt, .rx_bytes = s->rx.len,
		.buf_alloc = s->buf_alloc, .msgs = s->rx.msg_count,
		.peer_shutdown = s->peer_shutdown, .local_shutdown = s->local_shutdown,
	};
	return 0;
}

const char *vtr_state_name(int state)
{
	static const char *const names[] = {
		[VTR_STATE_FREE] = "free", [VTR_STATE_LISTEN] = "listen", [VTR_STATE_CONNECTING] = "connecting",
		[VTR_STATE_ESTABLISHED] = "established", [VTR_STATE_CLOSING] = "closing", [VTR_STATE_CLOSED] = "closed",
	};

	return state >= 0 && (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

/* ---- timers ---- */

static bool expired(const struct timespec *deadline, const struct timespec *t)
{
	return t->tv_sec > deadline->tv_sec || (t->tv_sec == deadline->tv_sec && t->tv_nsec >= deadline->tv_nsec);
}

void vtr_tick(struct vtr_engine *e)
{
	struct timespec t;

	if (!e->timers)
		return;
	now(e, &t);
	for (uint32_t i = 0; i < e->cfg.max_sockets; i++) {
		struct sock *s = &e->socks[i];

		if (s->state == VTR_STATE_FREE || !s->timer_armed || !expired(&s->deadline, &t))
			continue;
		timer_off(e, s);
		if (s->state == VTR_STATE_CONNECTING) {
			/* Linux gives up with ETIMEDOUT and sends nothing. */
			conn_done(e, s, -ETIMEDOUT);
		} else if (s->state == VTR_STATE_CLOSING) {
			/* virtio spec 5.10.6.7: no RST came in time, so send one to end it forcibly. */
			conn_reset(e, s, 0);
		} else if (s->state == VTR_STATE_ESTABLISHED) {
			/* Still at the cap on unread packets: ask again. */
			ask_unread(e, s);
		}
	}
}

int vtr_next_timeout(const struct vtr_engine *e)
{
	struct timespec t;
	int64_t best = -1;

	if (!e->timers)
		return -1;
	now(e, &t);
	for (uint32_t i = 0; i < e->cfg.max_sockets; i++) {
		const struct sock *s = &e->socks[i];
		int64_t ms;

		if (s->state == VTR_STATE_FREE || !s->timer_armed)
			continue;
		ms = ((int64_t)s->deadline.tv_sec - t.tv_sec) * 1000 + (s->deadline.tv_nsec - t.tv_nsec + 999999) / 1000000;
		if (ms < 0)
			ms = 0;
		if (best < 0 || ms < best)
			best = ms;
	}
	return best > INT32_MAX ? INT32_MAX : (int)best;
}

/* ---- the engine ---- */

int vtr_engine_new(const struct vtr_config *cfg, const struct vtr_ops *ops, void *ctx, struct vtr_engine **ret)
{
	struct vtr_engine *e;
	uint32_t buckets = 1;
	int r;

	if (!cfg || !ops || !ops->xmit || !ret)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->ops = *ops;
	e->ctx = ctx;
	if (!e->cfg.buf_alloc)
		e->cfg.buf_alloc = VTR_DEFAULT_BUF_ALLOC;
	if (!e->cfg.max_buf_alloc)
		e->cfg.max_buf_alloc = VTR_DEFAULT_MAX_BUF_ALLOC;
	if (!e->cfg.max_pkt)
		e->cfg.max_pkt = VTR_DEFAULT_MAX_PKT;
	if (!e->cfg.max_sockets)
		e->cfg.max_sockets = VTR_DEFAULT_MAX_SOCKETS;
	if (!e->cfg.max_tx_queue)
		e->cfg.max_tx_queue = VTR_DEFAULT_MAX_TX_QUEUE;
	if (!e->cfg.max_rx_queue)
		e->cfg.max_rx_queue = VTR_DEFAULT_MAX_RX_QUEUE;
	if (!e->cfg.connect_timeout_ms)
		e->cfg.connect_timeout_ms = VTR_DEFAULT_CONNECT_MS;
	if (!e->cfg.close_timeout_ms)
		e->cfg.close_timeout_ms = VTR_DEFAULT_CLOSE_MS;
	if (!e->cfg.ephemeral_min)
		e->cfg.ephemeral_min = 1024;
	if (e->cfg.buf_alloc > e->cfg.max_buf_alloc || e->cfg.max_sockets > (1u << 24) ||
	    e->cfg.max_unread_pkts > (1u << 16)) {
		free(e);
		return -EINVAL;
	}
	e->next_ephemeral = e->cfg.ephemeral_min;
	while (buckets < e->cfg.max_sockets)
		buckets <<= 1;
	e->hash_mask = buckets - 1;
	e->socks = calloc(e->cfg.max_sockets, sizeof(*e->socks));
	if (e->cfg.max_unread_pkts && e->socks) {
		e->unread_ends = calloc((size_t)e->cfg.max_sockets * e->cfg.max_unread_pkts, sizeof(*e->unread_ends));
		if (!e->unread_ends) {
			free(e->socks);
			e->socks = NULL;
		}
	}
	e->hash = malloc(buckets * sizeof(*e->hash));
	r = e->socks && e->hash ? vsm_tap_new(&e->tap) : -ENOMEM;
	if (r < 0) {
		free(e->unread_ends);
		free(e->socks);
		free(e->hash);
		free(e);
		return r;
	}
	for (uint32_t i = 0; i < buckets; i++)
		e->hash[i] = NONE;
	*ret = e;
	return 0;
}

void vtr_engine_free(struct vtr_engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->cfg.max_sockets; i++)
		vtr_rxbuf_free(&e->socks[i].rx);
	vtr_pktq_clear(&e->txq);
	vsm_tap_free(e->tap);
	free(e->unread_ends);
	free(e->socks);
	free(e->hash);
	free(e);
}

struct vsm_tap *vtr_engine_tap(struct vtr_engine *e)
{
	return e->tap;
}

uint64_t vtr_engine_cid(const struct vtr_engine *e)
{
	return e->cfg.cid;
}

void vtr_engine_stats(const struct vtr_engine *e, struct vtr_stats *ret)
{
	*ret = e->stats;
	ret->tx_queue_bytes = e->txq.bytes;
}
