/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsocklab.c: a host and N guests, each a userspace virtio-vsock engine, joined by an in-memory hypervisor and driven by a self-checking workload. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/vsockmon.h>
#include <vsockmon/wire.h>
#include <vtr/pktq.h>
#include <vsockmon/tap.h>
#include <vtr/vtr.h>
#include <vtr/vudev.h>
#include <vtr/vufront.h>

#include "cli.h"

#define PROG			"vsocklab"
#define EXIT_CHECKS		1	/* a workload or lab check failed */
#define EXIT_USAGE		2	/* bad options, or the lab could not be set up */

#define NS_PER_MS		1000000LL
#define NS_PER_SEC		1000000000LL

#define HOST_CID		2
#define FIRST_GUEST_CID		3
#define MAX_GUESTS		64
#define UNKNOWN_CID		99	/* above any guest's CID: no engine has it, so the hypervisor drops */

/* The workload's ports: services on the host, one sink on each guest, and a port nobody listens on. */
#define PORT_ECHO		1234
#define PORT_BULK		1235
#define PORT_SEQ		1236
#define PORT_SLOW		1237
#define PORT_HALF		1238
#define PORT_GUEST_SINK		1240
#define PORT_CLOSED		4321

/*
 * Packets one engine may have on the wire at once. Beyond it the wire says -EAGAIN and the engine
 * holds packets itself until vtr_flush(). Small on purpose: the wire is drained one packet at a
 * time, so a real virtqueue's 128 would never fill, and the engines' queueing would go untested.
 */
#define WIRE_SLOTS		8
/*
 * --device: each guest is a vhost-user front-end (vufront.h) on its own vhost-user-vsock device
 * (vudev.h, the device vsockdev runs), in this process, joined by a socketpair: packets cross real
 * split virtqueues in shared memory. The guests post RX buffers of 64 KiB + the header, so no
 * packet is split and the lab's checks count packets as they do on the in-memory wire.
 */
#define DEVICE_RX_BUF		(64u * 1024 + VSM_VIRTIO_HDR_LEN)
#define DEVICE_QUEUE		256

/* Virtual clock: what carrying a packet costs (a fixed latency plus 1 ns a byte, about 1 GB/s). */
#define WIRE_LATENCY_NS		2000
/* Virtual time starts at 2024-01-01 00:00:00 UTC, so captures print 00:00:00.000000 onwards. */
#define VIRTUAL_EPOCH_SEC	1704067200LL

#define CONNECT_TIMEOUT_MS	2000	/* Linux's defaults, passed explicitly */
#define CLOSE_TIMEOUT_MS	8000
#define CREDIT_WAIT_NS		(100 * NS_PER_MS)	/* a sender without credit waits this long, then asks, */
#define CREDIT_WAIT_MAX_NS	(1600 * NS_PER_MS)	/* doubling the wait after each request up to this */
#define SLOW_TICK_NS		(10 * NS_PER_MS)	/* the slow reader reads once a tick ... */
#define SLOW_CHUNK_MIN		4096			/* ... this much to SLOW_CHUNK_MAX */
#define SLOW_CHUNK_MAX		8192
#define START_SPREAD_NS		(50 * NS_PER_MS)	/* clients of a round start within this */
#define ROUND_LIMIT_NS		(120 * NS_PER_SEC)	/* a round taking longer is stuck */
#define TIMER_EVERY		16	/* while packets flow, timers are looked at every this many */
#define SIGNAL_EVERY		256	/* ... and the signalfd every this many */
#define DEFAULT_PACE		300	/* packets/s when an interface is tapped and --pace is not given */

#define BUF_LEN			(256u * 1024)	/* scratch buffers: larger than any SEQPACKET message */
#define SEQ_MAX_MSG		(200u * 1024)
#define ECHO_BUF_LEN		(64u * 1024)

/*
 * Data streams: a header, a body of pseudo-random bytes from a seed, a checksum of the body. The
 * header names its sender, so a stream that reaches the wrong connection whole is caught too.
 */
#define STREAM_MAGIC		0x42414c56u	/* "VLAB" */
#define STREAM_HDR_LEN		32		/* le32 magic, le32 workload, le64 body length, le64 seed,
						   le32 sender's CID (the lab's are small), le32 sender's port */
#define STREAM_TRL_LEN		8		/* le64 FNV-1a of the body */
#define STREAM_MAX_BODY		(1ull << 32)
#define FNV_OFFSET		0xcbf29ce484222325ull
#define FNV_PRIME		0x100000001b3ull

struct options {
	unsigned guests;
	int64_t duration_ns;		/* 0: no limit */
	uint64_t rounds;		/* 0: no limit */
	const char *pcap;
	const char *iface;
	bool tap_all;
	bool device;			/* guests behind vhost-user-vsock devices instead of the in-memory wire */
	bool virtual_clock;
	uint64_t seed;
	long pace;			/* packets/s; 0: as fast as possible; -1: not given */
	bool quiet, stats;
};

enum workload {
	W_ECHO, W_BULK_UP, W_BULK_DOWN, W_SEQPACKET, W_SLOW, W_HALFCLOSE, W_REFUSED, W_UNKNOWN_CID,
	W_COUNT
};

static const char *const workload_names[W_COUNT] = {
	[W_ECHO] = "echo", [W_BULK_UP] = "bulk-up", [W_BULK_DOWN] = "bulk-down",
	[W_SEQPACKET] = "seqpacket", [W_SLOW] = "slow-reader", [W_HALFCLOSE] = "half-close",
	[W_REFUSED] = "refused", [W_UNKNOWN_CID] = "unknown-cid",
};

struct wl_stats {
	uint64_t started, passed, failed, interrupted;
	uint64_t bytes;			/* body bytes received and verified */
	uint64_t messages;		/* SEQPACKET messages verified */
	uint64_t stalls;		/* a send found no credit */
	uint64_t requests;		/* CREDIT_REQUESTs sent after waiting */
};

enum actor_kind {
	A_LISTENER,
	A_ECHO_CLIENT, A_ECHO_SERVER,
	A_BULK_SENDER, A_BULK_SINK, A_SLOW_READER,
	A_SEQ_CLIENT, A_SEQ_SERVER,
	A_HALF_CLIENT, A_HALF_SERVER,
	A_REFUSED, A_UNKNOWN_CID,
};

enum actor_state { S_START, S_CONNECTING, S_RUN, S_WAIT_HUP };

/* Sending side of a stream. */
struct txs {
	uint8_t hdr[STREAM_HDR_LEN];
	uint64_t seed, body, off;	/* off: bytes of the whole stream sent */
	uint64_t fnv;			/* of the whole body, known from the start */
};

/* Receiving side of a stream: parses and checks it as it comes. */
struct rxs {
	uint8_t hdr[STREAM_HDR_LEN];
	uint8_t trl[STREAM_TRL_LEN];
	uint32_t kind, cid, port;	/* from the header: workload and sender */
	uint64_t seed, body, off, fnv;
	bool sender_checked;
};

struct seqmsg {
	uint32_t len;
	uint64_t seed;
	bool eor;
};

struct lab;
struct node;

/*
 * One party of the workload: a listener, a client, or the server side of one connection. Steps
 * are level-triggered: an actor runs when an engine event or its timer wakes it, does all it can
 * without blocking, and returns; events only say when to look again.
 */
struct actor {
	struct lab *lab;
	struct node *node;
	enum actor_kind kind;
	enum workload wl;
	enum actor_state state;
	int sock;			/* -1 when none */
	bool queued, done;
	int64_t wake_at;		/* lab time, -1: no timer */
	struct actor *next_ready, *next;
	char name[96];

	/* client: where to connect */
	uint64_t peer_cid;
	uint32_t peer_port;
	int type;

	/* streams */
	struct txs tx;
	struct rxs rx;
	bool tx_shut, eof, overlap;

	/* credit: a send found none (stalled) and no send has gone since; ask for it at ask_at */
	bool stalled;
	int64_t ask_at, wait;

	/* listener: what each accepted connection becomes */
	enum actor_kind child_kind;

	/* echo and SEQPACKET servers: data held until the peer has credit for it */
	uint8_t *buf;
	size_t buf_off, buf_len;
	unsigned buf_flags;

	/* SEQPACKET client */
	struct seqmsg *msgs;
	size_t nmsgs, nsent, nrecv;

	/* slow reader */
	int64_t next_read;
	uint32_t chunk;
};

struct node {
	struct lab *lab;
	uint64_t cid;
	struct vtr_engine *e;
	struct actor **owner;		/* socket number -> the actor that holds it */
	uint32_t max_socks;
	unsigned in_flight;		/* packets on the wire from this engine */
	uint64_t sent, delivered;	/* packets the wire took from it, packets it was given */
	/* --device (guests only): the front-end that holds the engine, and the device it drives */
	struct vtr_vufront *front;
	struct vtr_vudev *dev;
	uint64_t to_ring;		/* host packets the device put in this guest's RX ring */
	uint32_t listeners;
	uint64_t refused_expected;	/* refused connects aimed at it that completed */
};

struct lab {
	const struct options *o;
	FILE *out;			/* stdout, or stderr when the pcap goes to stdout */
	struct node *nodes;		/* [0]: the host; [1..]: the guests */
	size_t nnodes;

	/* clock: lab time is ns since the start, virtual or CLOCK_MONOTONIC */
	int64_t vnow;
	int64_t mono0;
	int64_t epoch_ns;		/* lab time + epoch_ns = time stamps */
	uint64_t rng;

	/* the hypervisor's wire: one FIFO for all engines */
	struct vtr_pktq wire;		/* each packet's origin is its sending node */
	uint64_t routed, routed_bytes, delivered, dropped, wire_full;

	/* scheduling */
	struct actor *ready_head, *ready_tail;
	struct actor *listeners;
	struct actor *actors, *actors_tail;	/* the round's */
	size_t live;			/* the round's actors not done */
	uint64_t rounds_done;
	bool in_round;
	int64_t round_start;
	uint64_t round_routed0, round_conns0, round_bytes0;
	uint64_t iterations;

	/* pacing (real time, whatever the clock) */
	int64_t pace_ns, next_slot;

	int sigfd;
	bool stop;
	int stop_signal;
	bool duration_hit, stuck;

	uint8_t *tbuf, *rbuf, *xbuf;	/* send, receive, expected */

	struct wl_stats wl[W_COUNT];
	uint64_t connects, accepted, refused_seen, timeouts_seen;
	uint64_t leaks;			/* sockets left over at the end of rounds */
	uint64_t halfclose_overlap;	/* half-closes where the client still sent after the server's SHUTDOWN */
	int64_t real_start;
};

/* ---- small helpers ---- */

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static int64_t lab_now(const struct lab *lab)
{
	return lab->o->virtual_clock ? lab->vnow : clock_ns(CLOCK_MONOTONIC) - lab->mono0;
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finalizer: a good 64-bit hash, so stream bytes can be made at any offset */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct lab *lab)
{
	lab->rng += 0x9e3779b97f4a7c15ull;
	return mix64(lab->rng);
}

/* Uniform in [lo, hi]. */
static uint64_t rnd_range(struct lab *lab, uint64_t lo, uint64_t hi)
{
	return lo + rnd(lab) % (hi - lo + 1);
}

/* Bytes [off, off + n) of the pseudo-random body of seed: byte i is byte i % 8 of mix64(seed + i / 8). */
static void gen_bytes(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t pos = off + i, w = mix64(seed + (pos >> 3));
		unsigned sh = (unsigned)(pos & 7);
		uint8_t b[8];
		size_t k = 8 - sh < n - i ? 8 - sh : n - i;

		vsm_put_le64(b, w);
		memcpy(buf + i, b + sh, k);
		i += k;
	}
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

static void human_bytes(char *buf, size_t len, uint64_t n)
{
	if (n >= 10u * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
	else if (n >= 10u * 1024)
		snprintf(buf, len, "%.1f KiB", n / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " bytes", n);
}

static const char *err_name(int err)
{
	switch (err) {
	case -ECONNRESET: return "ECONNRESET";
	case -ETIMEDOUT: return "ETIMEDOUT";
	case -EPROTO: return "EPROTO";
	case -EPIPE: return "EPIPE";
	case -ENOTCONN: return "ENOTCONN";
	case -EMSGSIZE: return "EMSGSIZE";
	case -ENOMEM: return "ENOMEM";
	case 0: return "no error";
	default: return "error";
	}
}

static struct node *node_by_cid(struct lab *lab, uint64_t cid)
{
	if (cid == HOST_CID)
		return &lab->nodes[0];
	if (cid >= FIRST_GUEST_CID && cid - FIRST_GUEST_CID < lab->nnodes - 1)
		return &lab->nodes[cid - HOST_CID];
	return NULL;
}

/* ---- streams ---- */

static uint64_t txs_total(const struct txs *t)
{
	return STREAM_HDR_LEN + t->body + STREAM_TRL_LEN;
}

static bool txs_done(const struct txs *t)
{
	return t->off == txs_total(t);
}

/* The checksum goes at the end, so the body is made once up front to learn it (scratch: BUF_LEN bytes). */
static void txs_init(struct txs *t, enum workload wl, uint64_t seed, uint64_t body, uint8_t *scratch)
{
	*t = (struct txs){ .seed = seed, .body = body, .fnv = FNV_OFFSET };
	vsm_put_le32(t->hdr, STREAM_MAGIC);
	vsm_put_le32(t->hdr + 4, (uint32_t)wl);
	vsm_put_le64(t->hdr + 8, body);
	vsm_put_le64(t->hdr + 16, seed);
	/* the sender's address follows once it has one (txs_sender) */
	for (uint64_t off = 0; off < body; off += BUF_LEN) {
		size_t n = body - off < BUF_LEN ? (size_t)(body - off) : BUF_LEN;

		gen_bytes(seed, off, scratch, n);
		t->fnv = fnv1a(t->fnv, scratch, n);
	}
}

static void txs_sender(struct txs *t, uint64_t cid, uint32_t port)
{
	vsm_put_le32(t->hdr + 24, (uint32_t)cid);
	vsm_put_le32(t->hdr + 28, port);
}

/* The next bytes to send, at most n; returns how many. */
static size_t txs_fill(const struct txs *t, uint8_t *buf, size_t n)
{
	uint64_t total = txs_total(t), off = t->off;
	size_t done = 0;

	if (n > total - off)
		n = (size_t)(total - off);
	while (done < n) {
		uint64_t pos = off + done;
		size_t k;

		if (pos < STREAM_HDR_LEN) {
			k = STREAM_HDR_LEN - pos < n - done ? (size_t)(STREAM_HDR_LEN - pos) : n - done;
			memcpy(buf + done, t->hdr + pos, k);
		} else if (pos < STREAM_HDR_LEN + t->body) {
			uint64_t left = STREAM_HDR_LEN + t->body - pos;

			k = left < n - done ? (size_t)left : n - done;
			gen_bytes(t->seed, pos - STREAM_HDR_LEN, buf + done, k);
		} else {
			uint8_t trl[STREAM_TRL_LEN];
			uint64_t at = pos - STREAM_HDR_LEN - t->body;

			vsm_put_le64(trl, t->fnv);
			k = STREAM_TRL_LEN - at < n - done ? (size_t)(STREAM_TRL_LEN - at) : n - done;
			memcpy(buf + done, trl + at, k);
		}
		done += k;
	}
	return done;
}

static uint64_t rxs_total(const struct rxs *r)
{
	return r->off < STREAM_HDR_LEN ? UINT64_MAX : STREAM_HDR_LEN + r->body + STREAM_TRL_LEN;
}

static bool rxs_complete(const struct rxs *r)
{
	return r->off >= STREAM_HDR_LEN && r->off == rxs_total(r);
}

/*
 * Checks n more bytes of a stream: the header's magic, every body byte against what its seed
 * makes, the checksum, and nothing after it. Returns 0, or -1 with the reason in err.
 * scratch holds at least n bytes.
 */
static int rxs_feed(struct rxs *r, const uint8_t *p, size_t n, uint8_t *scratch, char *err, size_t errlen)
{
	while (n) {
		size_t k;

		if (r->off < STREAM_HDR_LEN) {
			k = STREAM_HDR_LEN - r->off < n ? (size_t)(STREAM_HDR_LEN - r->off) : n;
			memcpy(r->hdr + r->off, p, k);
			r->off += k;
			if (r->off == STREAM_HDR_LEN) {
				if (vsm_le32(r->hdr) != STREAM_MAGIC) {
					snprintf(err, errlen, "the stream does not start with the lab's header (0x%08" PRIx32 ")",
						 vsm_le32(r->hdr));
					return -1;
				}
				r->kind = vsm_le32(r->hdr + 4);
				r->body = vsm_le64(r->hdr + 8);
				r->seed = vsm_le64(r->hdr + 16);
				r->cid = vsm_le32(r->hdr + 24);
				r->port = vsm_le32(r->hdr + 28);
				r->fnv = FNV_OFFSET;
				if (r->body > STREAM_MAX_BODY) {
					snprintf(err, errlen, "the header announces %" PRIu64 " bytes", r->body);
					return -1;
				}
			}
		} else if (r->off < STREAM_HDR_LEN + r->body) {
			uint64_t at = r->off - STREAM_HDR_LEN, left = r->body - at;

			k = left < n ? (size_t)left : n;
			gen_bytes(r->seed, at, scratch, k);
			if (memcmp(p, scratch, k)) {
				size_t i = 0;

				while (p[i] == scratch[i])
					i++;
				snprintf(err, errlen, "byte %" PRIu64 " of %" PRIu64 " differs: 0x%02x, expected 0x%02x",
					 at + i, r->body, p[i], scratch[i]);
				return -1;
			}
			r->fnv = fnv1a(r->fnv, p, k);
			r->off += k;
		} else if (r->off < rxs_total(r)) {
			uint64_t at = r->off - STREAM_HDR_LEN - r->body;

			k = STREAM_TRL_LEN - at < n ? (size_t)(STREAM_TRL_LEN - at) : n;
			memcpy(r->trl + at, p, k);
			r->off += k;
			if (rxs_complete(r) && vsm_le64(r->trl) != r->fnv) {
				snprintf(err, errlen, "checksum 0x%016" PRIx64 ", computed 0x%016" PRIx64,
					 vsm_le64(r->trl), r->fnv);
				return -1;
			}
		} else {
			snprintf(err, errlen, "%zu bytes after the end of the stream", n);
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}

static int rxs_eof(const struct rxs *r, char *err, size_t errlen)
{
	if (r->off < STREAM_HDR_LEN)
		snprintf(err, errlen, "end of stream after %" PRIu64 " bytes, inside the header", r->off);
	else if (!rxs_complete(r))
		snprintf(err, errlen, "end of stream after %" PRIu64 " of %" PRIu64 " bytes", r->off, rxs_total(r));
	else
		return 0;
	return -1;
}

/* ---- actors: life cycle ---- */

static void actor_wake(struct actor *a)
{
	struct lab *lab = a->lab;

	if (a->queued || a->done)
		return;
	a->queued = true;
	a->next_ready = NULL;
	if (lab->ready_tail)
		lab->ready_tail->next_ready = a;
	else
		lab->ready_head = a;
	lab->ready_tail = a;
}

static struct actor *actor_new(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl)
{
	struct actor *a = calloc(1, sizeof(*a));

	if (!a) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(EXIT_CHECKS);
	}
	a->lab = lab;
	a->node = n;
	a->kind = kind;
	a->wl = wl;
	a->sock = -1;
	a->wake_at = -1;
	if (kind != A_LISTENER) {
		if (lab->actors_tail)
			lab->actors_tail->next = a;
		else
			lab->actors = a;
		lab->actors_tail = a;
		lab->live++;
		lab->wl[wl].started++;
	}
	return a;
}

static void actor_free(struct actor *a)
{
	free(a->buf);
	free(a->msgs);
	free(a);
}

static void actor_own(struct actor *a, int sock)
{
	a->sock = sock;
	if (sock >= 0 && (uint32_t)sock < a->node->max_socks)
		a->node->owner[sock] = a;
}

static void actor_close(struct actor *a)
{
	if (a->sock < 0)
		return;
	if ((uint32_t)a->sock < a->node->max_socks)
		a->node->owner[a->sock] = NULL;
	vtr_close(a->node->e, a->sock);
	a->sock = -1;
}

static void actor_finish(struct actor *a, bool ok)
{
	struct lab *lab = a->lab;

	actor_close(a);
	a->done = true;
	a->wake_at = -1;
	lab->live--;
	if (ok) {
		lab->wl[a->wl].passed++;
		lab->wl[a->wl].bytes += a->rx.body;
	} else {
		lab->wl[a->wl].failed++;
	}
}

/* A check failed: say what and where, abort the connection with an RST, and end the actor. */
static void actor_fail(struct actor *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: round %" PRIu64 ": %s: ", PROG, a->lab->rounds_done + 1, a->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (a->sock >= 0)
		vtr_reset(a->node->e, a->sock);
	actor_finish(a, false);
}

static bool is_client(enum actor_kind k)
{
	return k == A_ECHO_CLIENT || k == A_BULK_SENDER || k == A_SEQ_CLIENT || k == A_HALF_CLIENT ||
	       k == A_REFUSED || k == A_UNKNOWN_CID;
}

static const char *role_of(enum actor_kind k)
{
	switch (k) {
	case A_LISTENER: return "listener";
	case A_ECHO_SERVER: case A_SEQ_SERVER: case A_HALF_SERVER: return "server";
	case A_BULK_SINK: return "sink";
	case A_SLOW_READER: return "reader";
	case A_BULK_SENDER: return "sender";
	default: return "client";
	}
}

/* "echo client 3:1025 > 2:1234" for a client, "echo server 2:1234 < 3:1025" for the other side. */
static void actor_name(struct actor *a)
{
	struct vtr_sock_info si;

	if (a->sock >= 0 && vtr_sock_info(a->node->e, a->sock, &si) == 0)
		snprintf(a->name, sizeof(a->name), "%s %s %" PRIu64 ":%" PRIu32 " %s %" PRIu64 ":%" PRIu32,
			 workload_names[a->wl], role_of(a->kind), si.local_cid, si.local_port,
			 is_client(a->kind) ? ">" : "<", si.peer_cid, si.peer_port);
	else
		snprintf(a->name, sizeof(a->name), "%s %s on cid %" PRIu64 " to %" PRIu64 ":%" PRIu32,
			 workload_names[a->wl], role_of(a->kind), a->node->cid, a->peer_cid, a->peer_port);
}

/* ---- actors: common steps ---- */

/* S_START: waits for the start time, then connects. Returns true once connected. */
static bool client_connect(struct actor *a)
{
	struct lab *lab = a->lab;
	struct vtr_sock_info si;
	int s;

	if (a->state == S_START) {
		if (lab_now(lab) < a->wake_at)
			return false;
		a->wake_at = -1;
		s = vtr_connect(a->node->e, a->peer_cid, a->peer_port, a->type, 0);
		actor_name(a);
		if (s < 0) {
			actor_fail(a, "connect: %s", strerror(-s));
			return false;
		}
		actor_own(a, s);
		actor_name(a);
		if (vtr_sock_info(a->node->e, s, &si) == 0)
			txs_sender(&a->tx, si.local_cid, si.local_port);
		a->state = S_CONNECTING;
		lab->connects++;
	}
	if (a->state != S_CONNECTING)
		return true;
	if (vtr_sock_info(a->node->e, a->sock, &si) < 0)
		return false;
	if (si.state == VTR_STATE_ESTABLISHED) {
		a->state = S_RUN;
		return true;
	}
	if (si.state == VTR_STATE_CLOSED) {
		int err = vtr_sock_error(a->node->e, a->sock);

		if (a->kind == A_REFUSED && err == -ECONNRESET) {
			/* the RST that answers a REQUEST to a port nobody listens on */
			lab->refused_seen++;
			node_by_cid(lab, a->peer_cid)->refused_expected++;
			actor_finish(a, true);
		} else if (a->kind == A_UNKNOWN_CID && err == -ETIMEDOUT) {
			lab->timeouts_seen++;
			actor_finish(a, true);
		} else {
			actor_fail(a, "connect: %s (%s)", err ? strerror(-err) : "closed", err_name(err));
		}
		return false;
	}
	return false;
}

static void stall(struct actor *a)
{
	struct lab *lab = a->lab;

	if (a->stalled)
		return;
	a->stalled = true;
	a->wait = CREDIT_WAIT_NS;
	a->ask_at = a->wake_at = lab_now(lab) + a->wait;
	lab->wl[a->wl].stalls++;
}

/*
 * A sender that has waited CREDIT_WAIT_NS for credit asks the peer for it (CREDIT_REQUEST), as a
 * sender may when it suspects a lost update, and again after twice the wait, and so on: on a slow
 * (paced) wire the answer may simply be late, and asking every 100 ms would slow it further.
 * Credit that comes back wakes the sender by an engine event (WRITABLE); "stalled" holds until a
 * send makes progress, since a SEQPACKET message may need more credit than WRITABLE promises.
 */
static void credit_check(struct actor *a)
{
	struct lab *lab = a->lab;
	int64_t t = lab_now(lab);

	if (!a->stalled || a->done)
		return;
	if (t >= a->ask_at) {
		int r = vtr_credit_request(a->node->e, a->sock);

		if (r < 0 && r != -ENOTCONN) {
			actor_fail(a, "credit request: %s", strerror(-r));
			return;
		}
		lab->wl[a->wl].requests++;
		a->wait = a->wait * 2 < CREDIT_WAIT_MAX_NS ? a->wait * 2 : CREDIT_WAIT_MAX_NS;
		a->ask_at = t + a->wait;
	}
	a->wake_at = a->ask_at;
}

/* Sends what credit allows. Returns 1 when the whole stream is sent, 0 when blocked, -1 after a failure. */
static int pump_stream(struct actor *a)
{
	struct lab *lab = a->lab;

	while (!txs_done(&a->tx)) {
		size_t n = txs_fill(&a->tx, lab->tbuf, BUF_LEN);
		ssize_t r = vtr_send(a->node->e, a->sock, lab->tbuf, n, 0);

		if (r == -EAGAIN) {
			stall(a);
			return 0;
		}
		if (r < 0) {
			actor_fail(a, "send: %s (%s), %" PRIu64 " of %" PRIu64 " bytes sent", strerror((int)-r),
				   err_name((int)r), a->tx.off, txs_total(&a->tx));
			return -1;
		}
		a->tx.off += (uint64_t)r;
		a->stalled = false;
		if ((size_t)r < n) {
			stall(a);
			return 0;
		}
	}
	a->stalled = false;
	return 1;
}

/* The stream comes from the peer, or for an echo from ourselves, and belongs to this workload. */
static int check_sender(struct actor *a)
{
	struct vtr_sock_info si;
	uint64_t cid;
	uint32_t port;

	if (vtr_sock_info(a->node->e, a->sock, &si) < 0)
		return 0;
	cid = a->kind == A_ECHO_CLIENT ? si.local_cid : si.peer_cid;
	port = a->kind == A_ECHO_CLIENT ? si.local_port : si.peer_port;
	a->rx.sender_checked = true;
	if (a->rx.cid != cid || a->rx.port != port || a->rx.kind != (uint32_t)a->wl) {
		actor_fail(a, "a %s stream from %" PRIu32 ":%" PRIu32 ", expected %s from %" PRIu64 ":%" PRIu32,
			   a->rx.kind < W_COUNT ? workload_names[a->rx.kind] : "unknown", a->rx.cid, a->rx.port,
			   workload_names[a->wl], cid, port);
		return -1;
	}
	return 0;
}

/*
 * Reads and checks what has arrived, at most max bytes. Returns 1 at the end of the stream
 * (checked whole), 0 when nothing more is there now, -1 after a failure.
 */
static int read_stream(struct actor *a, size_t max)
{
	struct lab *lab = a->lab;
	char err[160];

	while (max) {
		ssize_t n = vtr_recv(a->node->e, a->sock, lab->rbuf, max < BUF_LEN ? max : BUF_LEN, 0, NULL);

		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			actor_fail(a, "recv: %s (%s) after %" PRIu64 " bytes", strerror((int)-n), err_name((int)n), a->rx.off);
			return -1;
		}
		if (n == 0) {
			if (rxs_eof(&a->rx, err, sizeof(err)) < 0) {
				actor_fail(a, "%s", err);
				return -1;
			}
			a->eof = true;
			return 1;
		}
		if (rxs_feed(&a->rx, lab->rbuf, (size_t)n, lab->xbuf, err, sizeof(err)) < 0) {
			actor_fail(a, "%s", err);
			return -1;
		}
		if (!a->rx.sender_checked && a->rx.off >= STREAM_HDR_LEN && check_sender(a) < 0)
			return -1;
		max -= (size_t)n;
	}
	return 0;
}

/* ---- the workload's actors ---- */

static void step_listener(struct actor *l)
{
	struct lab *lab = l->lab;
	struct vtr_sock_info si;
	int c;

	while ((c = vtr_accept(l->node->e, l->sock)) >= 0) {
		struct actor *a = actor_new(lab, l->node, l->child_kind, l->wl);

		actor_own(a, c);
		actor_name(a);
		a->state = S_RUN;
		lab->accepted++;
		if (a->kind == A_ECHO_SERVER || a->kind == A_SEQ_SERVER) {
			a->buf = malloc(a->kind == A_SEQ_SERVER ? BUF_LEN : ECHO_BUF_LEN);
			if (!a->buf) {
				actor_fail(a, "out of memory");
				continue;
			}
		}
		if (a->kind == A_HALF_SERVER) {	/* the reply: a small stream, then SHUTDOWN SEND */
			txs_init(&a->tx, W_HALFCLOSE, rnd(lab), rnd_range(lab, 100, 8192), lab->tbuf);
			if (vtr_sock_info(l->node->e, c, &si) == 0)
				txs_sender(&a->tx, si.local_cid, si.local_port);
		}
		if (a->kind == A_SLOW_READER)
			a->chunk = (uint32_t)rnd_range(lab, SLOW_CHUNK_MIN, SLOW_CHUNK_MAX);
		actor_wake(a);
	}
	if (c != -EAGAIN)
		fprintf(stderr, "%s: accept on cid %" PRIu64 ": %s\n", PROG, l->node->cid, strerror(-c));
}

/* Guest: sends a stream, SHUTDOWN SEND, reads the echo to its end, checks it is what it sent. */
static void step_echo_client(struct actor *a)
{
	int r;

	if (!client_connect(a))
		return;
	if (!txs_done(&a->tx) && pump_stream(a) < 0)
		return;
	if (txs_done(&a->tx) && !a->tx_shut) {
		r = vtr_shutdown(a->node->e, a->sock, VTR_SHUT_WR);
		if (r < 0) {
			actor_fail(a, "shutdown: %s", strerror(-r));
			return;
		}
		a->tx_shut = true;
	}
	credit_check(a);
	if (a->done)
		return;
	r = read_stream(a, SIZE_MAX);
	if (r <= 0)
		return;
	if (!a->tx_shut) {
		actor_fail(a, "the echo ended before the message was sent");
		return;
	}
	if (a->rx.seed != a->tx.seed || a->rx.body != a->tx.body) {
		actor_fail(a, "echoed another stream (seed %#" PRIx64 ", %" PRIu64 " bytes)", a->rx.seed, a->rx.body);
		return;
	}
	actor_finish(a, true);
}

/* Host: writes back what it reads; after the client's SHUTDOWN SEND, finishes, shuts down its side, closes. */
static void step_echo_server(struct actor *a)
{
	struct vtr_engine *e = a->node->e;
	bool progress = true;

	while (progress) {
		progress = false;
		if (a->buf_len) {
			ssize_t r = vtr_send(e, a->sock, a->buf + a->buf_off, a->buf_len, 0);

			if (r == -EAGAIN) {
				stall(a);
			} else if (r < 0) {
				actor_fail(a, "send: %s (%s)", strerror((int)-r), err_name((int)r));
				return;
			} else {
				a->buf_off += (size_t)r;
				a->buf_len -= (size_t)r;
				a->stalled = false;
				progress = r > 0;
				if (a->buf_len)
					stall(a);
			}
		}
		if (!a->buf_len && !a->eof) {
			ssize_t n = vtr_recv(e, a->sock, a->buf, ECHO_BUF_LEN, 0, NULL);

			a->buf_off = 0;
			if (n > 0) {
				a->buf_len = (size_t)n;
				progress = true;
			} else if (n == 0) {
				a->eof = true;
			} else if (n != -EAGAIN) {
				actor_fail(a, "recv: %s (%s)", strerror((int)-n), err_name((int)n));
				return;
			}
		}
	}
	if (a->eof && !a->buf_len) {
		int r = vtr_shutdown(e, a->sock, VTR_SHUT_WR);

		if (r < 0 && r != -ENOTCONN) {
			actor_fail(a, "shutdown: %s", strerror(-r));
			return;
		}
		actor_finish(a, true);
		return;
	}
	credit_check(a);
}

/*
 * Sends a stream. Guest to host (bulk-up, slow-reader): then SHUTDOWN SEND and wait until the
 * receiver closes. Host to guest (bulk-down): close right after the last byte.
 */
static void step_bulk_sender(struct actor *a)
{
	struct vtr_engine *e = a->node->e;
	int r;

	if (!client_connect(a))
		return;
	if (a->state == S_RUN) {
		r = pump_stream(a);
		if (r < 0)
			return;
		if (r == 0) {
			credit_check(a);
			return;
		}
		if (a->wl == W_BULK_DOWN) {
			actor_finish(a, true);
			return;
		}
		r = vtr_shutdown(e, a->sock, VTR_SHUT_WR);
		if (r < 0) {
			actor_fail(a, "shutdown: %s", strerror(-r));
			return;
		}
		a->state = S_WAIT_HUP;
	}
	/* S_WAIT_HUP: the receiver checks the stream and closes; nothing may come back. */
	for (;;) {
		ssize_t n = vtr_recv(e, a->sock, a->lab->rbuf, BUF_LEN, 0, NULL);

		if (n == -EAGAIN)
			return;
		if (n > 0) {
			actor_fail(a, "%zd bytes came back from a sink", n);
			return;
		}
		if (n < 0) {
			actor_fail(a, "waiting for the receiver to close: %s (%s)", strerror((int)-n), err_name((int)n));
			return;
		}
		break;
	}
	if (vtr_poll(e, a->sock) & VTR_EV_HUP)
		actor_finish(a, true);
}

/* Reads a stream to its end and checks it; the slow reader takes only a chunk each tick. */
static void step_sink(struct actor *a)
{
	struct lab *lab = a->lab;
	size_t max = SIZE_MAX;
	int r;

	if (a->kind == A_SLOW_READER) {
		int64_t t = lab_now(lab);

		if (t < a->next_read) {
			a->wake_at = a->next_read;
			return;
		}
		a->next_read = t + SLOW_TICK_NS;
		a->wake_at = a->next_read;
		max = a->chunk;
	}
	r = read_stream(a, max);
	if (r == 1)
		actor_finish(a, true);
}

/* Guest: messages of many sizes, some ending a record; each echo must come back whole, in order. */
static void step_seq_client(struct actor *a)
{
	struct lab *lab = a->lab;
	struct vtr_engine *e = a->node->e;
	bool progress = true;

	if (!client_connect(a))
		return;
	while (progress) {
		progress = false;
		if (a->nsent < a->nmsgs) {
			const struct seqmsg *m = &a->msgs[a->nsent];
			ssize_t r;

			gen_bytes(m->seed, 0, lab->tbuf, m->len);
			r = vtr_send(e, a->sock, lab->tbuf, m->len, m->eor ? VTR_MSG_EOR : 0);
			if (r == -EAGAIN) {
				stall(a);
			} else if (r != (ssize_t)m->len) {
				actor_fail(a, "send of message %zu (%" PRIu32 " bytes): %s", a->nsent, m->len,
					   r < 0 ? strerror((int)-r) : "short");
				return;
			} else {
				a->nsent++;
				a->stalled = false;
				progress = true;
			}
		}
		if (a->nrecv < a->nsent) {
			const struct seqmsg *m = &a->msgs[a->nrecv];
			unsigned fl;
			ssize_t n = vtr_recv(e, a->sock, lab->rbuf, BUF_LEN, 0, &fl);

			if (n == -EAGAIN)
				continue;
			if (n <= 0) {
				actor_fail(a, "recv of echo %zu: %s", a->nrecv, n ? strerror((int)-n) : "end of stream");
				return;
			}
			gen_bytes(m->seed, 0, lab->xbuf, m->len);
			if ((size_t)n != m->len || (fl & VTR_MSG_TRUNC) || !(fl & VTR_MSG_EOR) != !m->eor ||
			    memcmp(lab->rbuf, lab->xbuf, m->len)) {
				actor_fail(a, "echo %zu: %zd bytes%s%s, expected %" PRIu32 "%s%s", a->nrecv, n,
					   fl & VTR_MSG_EOR ? " EOR" : "", fl & VTR_MSG_TRUNC ? " TRUNC" : "", m->len,
					   m->eor ? " EOR" : "", (size_t)n == m->len ? " (content differs)" : "");
				return;
			}
			a->nrecv++;
			lab->wl[a->wl].messages++;
			lab->wl[a->wl].bytes += m->len;
			progress = true;
		}
	}
	if (a->nrecv == a->nmsgs) {
		actor_finish(a, true);
		return;
	}
	credit_check(a);
}

/* Host: each message back as it came, EOR kept; holds one message while the client has no credit. */
static void step_seq_server(struct actor *a)
{
	struct vtr_engine *e = a->node->e;
	bool progress = true;

	while (progress) {
		progress = false;
		if (a->buf_len) {
			ssize_t r = vtr_send(e, a->sock, a->buf, a->buf_len, a->buf_flags & VTR_MSG_EOR);

			if (r == -EAGAIN) {
				stall(a);
			} else if (r != (ssize_t)a->buf_len) {
				actor_fail(a, "send: %s", r < 0 ? strerror((int)-r) : "short");
				return;
			} else {
				a->buf_len = 0;
				a->stalled = false;
				progress = true;
			}
		}
		if (!a->buf_len && !a->eof) {
			unsigned fl;
			ssize_t n = vtr_recv(e, a->sock, a->buf, BUF_LEN, 0, &fl);

			if (n > 0) {
				if (fl & VTR_MSG_TRUNC) {
					actor_fail(a, "a message longer than %u bytes", BUF_LEN);
					return;
				}
				a->buf_len = (size_t)n;
				a->buf_flags = fl;
				progress = true;
			} else if (n == 0) {
				a->eof = true;
			} else if (n != -EAGAIN) {
				actor_fail(a, "recv: %s (%s)", strerror((int)-n), err_name((int)n));
				return;
			}
		}
	}
	if (a->eof && !a->buf_len) {
		actor_finish(a, true);
		return;
	}
	credit_check(a);
}

/*
 * Half-close, client side: keeps sending its stream while it reads the server's reply to the end
 * (the server's SHUTDOWN SEND); closes once both are done.
 */
static void step_half_client(struct actor *a)
{
	int r;

	if (!client_connect(a))
		return;
	if (!txs_done(&a->tx) && pump_stream(a) < 0)
		return;
	credit_check(a);
	if (a->done)
		return;
	if (!a->eof) {
		r = read_stream(a, SIZE_MAX);
		if (r < 0)
			return;
		if (r == 1 && !txs_done(&a->tx) && !a->overlap) {
			a->overlap = true;
			a->lab->halfclose_overlap++;
		}
	}
	if (a->eof && txs_done(&a->tx))
		actor_finish(a, true);
}

/* Half-close, server side: replies, shuts down its sending side at once, reads the client's stream to its end. */
static void step_half_server(struct actor *a)
{
	int r;

	if (!a->tx_shut) {
		r = pump_stream(a);
		if (r < 0)
			return;
		if (r == 1) {
			r = vtr_shutdown(a->node->e, a->sock, VTR_SHUT_WR);
			if (r < 0) {
				actor_fail(a, "shutdown: %s", strerror(-r));
				return;
			}
			a->tx_shut = true;
		} else {
			credit_check(a);
		}
	}
	if (a->done)
		return;
	r = read_stream(a, SIZE_MAX);
	if (r == 1 && a->tx_shut)
		actor_finish(a, true);
}

static void actor_step(struct actor *a)
{
	switch (a->kind) {
	case A_LISTENER: step_listener(a); break;
	case A_ECHO_CLIENT: step_echo_client(a); break;
	case A_ECHO_SERVER: step_echo_server(a); break;
	case A_BULK_SENDER: step_bulk_sender(a); break;
	case A_BULK_SINK: case A_SLOW_READER: step_sink(a); break;
	case A_SEQ_CLIENT: step_seq_client(a); break;
	case A_SEQ_SERVER: step_seq_server(a); break;
	case A_HALF_CLIENT: step_half_client(a); break;
	case A_HALF_SERVER: step_half_server(a); break;
	case A_REFUSED: case A_UNKNOWN_CID:
		if (client_connect(a))
			actor_fail(a, "connected, where nobody listens or no engine has the CID");
		break;
	}
}

static void run_ready(struct lab *lab)
{
	struct actor *a;

	while ((a = lab->ready_head)) {
		lab->ready_head = a->next_ready;
		if (!lab->ready_head)
			lab->ready_tail = NULL;
		a->queued = false;
		if (!a->done)
			actor_step(a);
	}
}

/* ---- the hypervisor: engines, wire, routing ---- */

static int device_xmit(struct lab *lab, struct node *host, const uint8_t *hdr, const uint8_t *payload, uint32_t len);

static int wire_xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct node *n = ctx;
	struct lab *lab = n->lab;
	struct vtr_pkt *p;

	if (lab->o->device)
		return device_xmit(lab, n, hdr, payload, len);
	if (n->in_flight >= WIRE_SLOTS) {
		lab->wire_full++;
		return -EAGAIN;
	}
	p = vtr_pkt_new(hdr, payload, len);
	if (!p)
		return -ENOMEM;
	p->origin = n;
	vtr_pktq_push(&lab->wire, p);
	n->in_flight++;
	n->sent++;
	lab->routed++;
	lab->routed_bytes += len;
	return 0;
}

static void engine_now(void *ctx, struct timespec *ret_ts)
{
	const struct node *n = ctx;
	int64_t t = lab_now(n->lab) + n->lab->epoch_ns;

	ret_ts->tv_sec = (time_t)(t / NS_PER_SEC);
	ret_ts->tv_nsec = (long)(t % NS_PER_SEC);
}

static void engine_event(void *ctx, int sock, unsigned events)
{
	struct node *n = ctx;

	/* Only note who must look again: actors never run inside an engine call. */
	if (sock >= 0 && (uint32_t)sock < n->max_socks && n->owner[sock])
		actor_wake(n->owner[sock]);
}

/* Delivers the oldest packet on the wire to the engine of its dst_cid; another CID's is dropped. */
static void wire_deliver(struct lab *lab)
{
	struct vtr_pkt *p = vtr_pktq_pop(&lab->wire);
	struct node *from = p->origin;
	struct node *dst;

	from->in_flight--;
	if (lab->o->virtual_clock)
		lab->vnow += WIRE_LATENCY_NS + p->payload_len;
	dst = node_by_cid(lab, vsm_le64(p->data + VSM_VH_DST_CID));
	if (dst) {
		dst->delivered++;
		lab->delivered++;
		vtr_input(dst->e, p->data, vtr_pkt_size(p->payload_len));
	} else {
		lab->dropped++;
	}
	free(p);
	/* A slot came free: engines holding packets for the wire may hand them over. */
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct node *n = &lab->nodes[i];

		if (n->in_flight < WIRE_SLOTS && vtr_want_write(n->e))
			vtr_flush(n->e);
	}
}

/* ---- the hypervisor with devices (--device) ---- */

/*
 * The host engine's packet for a guest goes into the guest's RX ring through its device; one for a
 * CID nobody has is dropped, as on the wire. Only the host engine sends through here: the guests'
 * engines send through their front-ends' TX rings.
 */
static int device_xmit(struct lab *lab, struct node *host, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct node *dst = node_by_cid(lab, vsm_le64(hdr + VSM_VH_DST_CID));
	int ret = -EHOSTUNREACH;

	if (dst && dst->dev) {
		ret = vtr_vudev_send(dst->dev, hdr, payload, len);
		if (ret == -EAGAIN) {
			lab->wire_full++;
			return -EAGAIN;		/* no RX buffer free: the engine holds it until rx_ready */
		}
	}
	host->sent++;
	lab->routed++;
	lab->routed_bytes += len;
	if (ret) {
		lab->dropped++;
		return 0;
	}
	dst->to_ring++;
	if (lab->o->virtual_clock)
		lab->vnow += WIRE_LATENCY_NS + len;
	return 0;
}

/* A guest's packet, taken from its TX ring by its device: to the host engine, or dropped. */
static void dev_deliver(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct node *n = ctx;
	struct lab *lab = n->lab;
	struct node *dst = node_by_cid(lab, vsm_le64(hdr + VSM_VH_DST_CID));

	n->sent++;
	lab->routed++;
	lab->routed_bytes += len;
	if (lab->o->virtual_clock)
		lab->vnow += WIRE_LATENCY_NS + len;
	if (dst == &lab->nodes[0]) {
		dst->delivered++;
		lab->delivered++;
		vtr_input_split(dst->e, hdr, payload, len);
	} else {
		lab->dropped++;	/* the lab's guests talk to the host only: another CID is nobody's */
	}
}

static void dev_rx_ready(void *ctx)
{
	vtr_flush(((struct node *)ctx)->lab->nodes[0].e);
}

/* Moves what is due through the rings: front-ends, then devices. Returns whether anything was due. */
static bool devices_step(struct lab *lab)
{
	struct pollfd pfds[MAX_GUESTS * (VTR_VUFRONT_MAX_POLLFDS + VTR_VUDEV_MAX_POLLFDS)];
	struct node *who[MAX_GUESTS * (VTR_VUFRONT_MAX_POLLFDS + VTR_VUDEV_MAX_POLLFDS)];
	bool is_dev[MAX_GUESTS * (VTR_VUFRONT_MAX_POLLFDS + VTR_VUDEV_MAX_POLLFDS)];
	size_t n = 0;

	/* The host engine may have filled RX buffers from outside (an actor's send): tell the guests first. */
	for (size_t i = 1; i < lab->nnodes; i++)
		vtr_vudev_notify(lab->nodes[i].dev);
	for (size_t i = 1; i < lab->nnodes; i++) {
		struct node *g = &lab->nodes[i];
		size_t k = vtr_vufront_pollfds(g->front, pfds + n, VTR_VUFRONT_MAX_POLLFDS);

		for (size_t j = n; j < n + k; j++)
			who[j] = g, is_dev[j] = false;
		n += k;
		k = vtr_vudev_pollfds(g->dev, pfds + n, VTR_VUDEV_MAX_POLLFDS);
		for (size_t j = n; j < n + k; j++)
			who[j] = g, is_dev[j] = true;
		n += k;
	}
	if (poll(pfds, n, 0) <= 0)
		return false;
	/* In a fixed order, so that a --clock virtual run is the same run every time. */
	for (size_t j = 0; j < n; j++) {
		if (!pfds[j].revents)
			continue;
		if (is_dev[j]) {
			vtr_vudev_handle(who[j]->dev, pfds[j].fd, pfds[j].revents);
		} else if (vtr_vufront_process(who[j]->front) < 0) {
			fprintf(stderr, "%s: guest %" PRIu64 ": the front-end broke: %s\n", PROG, who[j]->cid,
				vtr_vufront_error(who[j]->front));
			lab->stuck = lab->stop = true;
		}
	}
	for (size_t i = 1; i < lab->nnodes; i++)
		vtr_vudev_notify(lab->nodes[i].dev);
	if (vtr_want_write(lab->nodes[0].e))
		vtr_flush(lab->nodes[0].e);
	return true;
}

/* Runs the engines' timers and wakes the actors whose time has come. */
static void fire_timers(struct lab *lab)
{
	int64_t t = lab_now(lab);

	for (size_t i = 0; i < lab->nnodes; i++)
		if (vtr_next_timeout(lab->nodes[i].e) == 0)
			vtr_tick(lab->nodes[i].e);
	for (struct actor *a = lab->actors; a; a = a->next)
		if (!a->done && a->wake_at >= 0 && a->wake_at <= t) {
			a->wake_at = -1;
			actor_wake(a);
		}
}

/* The next time something is due (lab time), -1 when nothing is. */
static int64_t next_due(const struct lab *lab)
{
	int64_t t = lab_now(lab), best = -1;

	for (size_t i = 0; i < lab->nnodes; i++) {
		int ms = vtr_next_timeout(lab->nodes[i].e);

		if (ms >= 0 && (best < 0 || t + ms * NS_PER_MS < best))
			best = t + ms * NS_PER_MS;
	}
	for (const struct actor *a = lab->actors; a; a = a->next)
		if (!a->done && a->wake_at >= 0 && (best < 0 || a->wake_at < best))
			best = a->wake_at;
	return best;
}

static bool engines_idle(const struct lab *lab)
{
	for (size_t i = 0; i < lab->nnodes; i++)
		if (vtr_next_timeout(lab->nodes[i].e) >= 0 || vtr_want_write(lab->nodes[i].e))
			return false;
	return true;
}

/* Waits until CLOCK_MONOTONIC reaches until (or a signal comes). */
static void wait_mono(struct lab *lab, int64_t until)
{
	int64_t left = until - clock_ns(CLOCK_MONOTONIC);
	struct pollfd pfd = { .fd = lab->sigfd, .events = POLLIN };
	struct timespec ts;
	struct signalfd_siginfo si;

	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / NS_PER_SEC);
	ts.tv_nsec = (long)(left % NS_PER_SEC);
	if (ppoll(&pfd, 1, &ts, NULL) > 0 && read(lab->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		lab->stop = true;
		lab->stop_signal = (int)si.ssi_signo;
	}
}

static void check_signals(struct lab *lab)
{
	wait_mono(lab, 0);
}

/* ---- rounds ---- */

static struct actor *spawn_client(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl,
				  uint64_t peer_cid, uint32_t peer_port, int type)
{
	struct actor *a = actor_new(lab, n, kind, wl);

	a->peer_cid = peer_cid;
	a->peer_port = peer_port;
	a->type = type;
	a->state = S_START;
	/* Clients start spread over the round's first moments, so their traffic interleaves. */
	a->wake_at = lab_now(lab) + (int64_t)rnd_range(lab, 0, START_SPREAD_NS);
	actor_name(a);
	return a;
}

static void spawn_stream_client(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl,
				uint64_t peer_cid, uint32_t peer_port, uint64_t body)
{
	struct actor *a = spawn_client(lab, n, kind, wl, peer_cid, peer_port, VTR_STREAM);

	txs_init(&a->tx, wl, rnd(lab), body, lab->tbuf);
}

/* An echo message: tiny, small, medium, or larger than the receive buffer (the echo must flow both ways at once). */
static uint64_t echo_size(struct lab *lab)
{
	switch (rnd(lab) % 4) {
	case 0: return rnd_range(lab, 1, 64);
	case 1: return rnd_range(lab, 100, 4096);
	case 2: return rnd_range(lab, 4096, 65536);
	default: return rnd_range(lab, 65536, 400 * 1024);
	}
}

static void spawn_seq_client(struct lab *lab, struct node *n)
{
	/* Sizes around the packet size (64 KiB) and up to 200 KiB, then random ones, shuffled. */
	static const uint32_t edges[] = { 1, 2, 100, 4095, 4096, 65535, 65536, 65537, 131072, SEQ_MAX_MSG };
	const size_t nedges = sizeof(edges) / sizeof(edges[0]), nmsgs = nedges + 6;
	struct actor *a = spawn_client(lab, n, A_SEQ_CLIENT, W_SEQPACKET, HOST_CID, PORT_SEQ, VTR_SEQPACKET);

	a->msgs = calloc(nmsgs, sizeof(*a->msgs));
	if (!a->msgs) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(EXIT_CHECKS);
	}
	a->nmsgs = nmsgs;
	for (size_t i = 0; i < nmsgs; i++) {
		a->msgs[i].len = i < nedges ? edges[i] : (uint32_t)rnd_range(lab, 1, SEQ_MAX_MSG);
		a->msgs[i].seed = rnd(lab);
		a->msgs[i].eor = rnd(lab) % 3 == 0;
	}
	for (size_t i = nmsgs - 1; i > 0; i--) {
		size_t j = (size_t)rnd_range(lab, 0, i);
		uint32_t len = a->msgs[i].len;

		a->msgs[i].len = a->msgs[j].len;
		a->msgs[j].len = len;
	}
	a->msgs[nmsgs - 1].eor = true;	/* the last message always ends a record */
}

static void round_start(struct lab *lab)
{
	struct node *host = &lab->nodes[0];

	lab->in_round = true;
	lab->round_start = lab_now(lab);
	lab->round_routed0 = lab->routed;
	lab->round_conns0 = lab->connects;
	lab->round_bytes0 = 0;
	for (int w = 0; w < W_COUNT; w++)
		lab->round_bytes0 += lab->wl[w].bytes;
	for (size_t g = 1; g < lab->nnodes; g++) {
		struct node *n = &lab->nodes[g];

		spawn_stream_client(lab, n, A_ECHO_CLIENT, W_ECHO, HOST_CID, PORT_ECHO, echo_size(lab));
		spawn_stream_client(lab, n, A_ECHO_CLIENT, W_ECHO, HOST_CID, PORT_ECHO, echo_size(lab));
		spawn_stream_client(lab, n, A_BULK_SENDER, W_BULK_UP, HOST_CID, PORT_BULK,
				    rnd_range(lab, 300 * 1024, 2 * 1024 * 1024));
		spawn_seq_client(lab, n);
		spawn_stream_client(lab, n, A_BULK_SENDER, W_SLOW, HOST_CID, PORT_SLOW,
				    rnd_range(lab, 384 * 1024, 640 * 1024));
		spawn_stream_client(lab, n, A_HALF_CLIENT, W_HALFCLOSE, HOST_CID, PORT_HALF,
				    rnd_range(lab, 300 * 1024, 600 * 1024));
		spawn_client(lab, n, A_REFUSED, W_REFUSED, HOST_CID, PORT_CLOSED, VTR_STREAM);
		spawn_stream_client(lab, host, A_BULK_SENDER, W_BULK_DOWN, n->cid, PORT_GUEST_SINK,
				    rnd_range(lab, 300 * 1024, 2 * 1024 * 1024));
		spawn_client(lab, host, A_REFUSED, W_REFUSED, n->cid, PORT_CLOSED, VTR_SEQPACKET);
	}
	/* One guest a round calls a CID that does not exist: dropped by the hypervisor, the connect times out. */
	spawn_client(lab, &lab->nodes[1 + lab->rounds_done % (lab->nnodes - 1)], A_UNKNOWN_CID, W_UNKNOWN_CID,
		     UNKNOWN_CID, PORT_ECHO, VTR_STREAM);
}

static void free_round(struct lab *lab)
{
	struct actor *a = lab->actors, *next;

	for (; a; a = next) {
		next = a->next;
		if (!a->done) {
			lab->wl[a->wl].interrupted++;
			if (a->sock >= 0 && (uint32_t)a->sock < a->node->max_socks)
				a->node->owner[a->sock] = NULL;
		}
		actor_free(a);
	}
	lab->actors = lab->actors_tail = NULL;
	lab->ready_head = lab->ready_tail = NULL;
	lab->live = 0;
	lab->in_round = false;
}

static void round_end(struct lab *lab)
{
	uint64_t bytes = 0;

	lab->rounds_done++;
	/* Every connection is over and every timer has run: only the listeners may be left. */
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct vtr_stats st;

		vtr_engine_stats(lab->nodes[i].e, &st);
		if (st.sockets != lab->nodes[i].listeners) {
			fprintf(stderr, "%s: round %" PRIu64 ": cid %" PRIu64 " holds %" PRIu32 " sockets, expected its %" PRIu32
				" listeners: connections were not freed\n", PROG, lab->rounds_done, lab->nodes[i].cid,
				st.sockets, lab->nodes[i].listeners);
			lab->leaks += st.sockets - lab->nodes[i].listeners;
		}
	}
	for (int w = 0; w < W_COUNT; w++)
		bytes += lab->wl[w].bytes;
	if (!lab->o->quiet) {
		char b[32];

		human_bytes(b, sizeof(b), bytes - lab->round_bytes0);
		fprintf(lab->out, "round %" PRIu64 ": %" PRIu64 " connects, %s verified, %" PRIu64 " packets, %.3f s\n",
			lab->rounds_done, lab->connects - lab->round_conns0, b, lab->routed - lab->round_routed0,
			(double)(lab_now(lab) - lab->round_start) / NS_PER_SEC);
		fflush(lab->out);
	}
	free_round(lab);
}

/* Nothing can move and actors still wait: each says where it is, and the lab stops. */
static void report_stuck(struct lab *lab, const char *why)
{
	lab->stuck = true;
	for (struct actor *a = lab->actors; a; a = a->next) {
		struct vtr_sock_info si = { 0 };

		if (a->done)
			continue;
		if (a->sock >= 0)
			vtr_sock_info(a->node->e, a->sock, &si);
		actor_fail(a, "%s: stuck in step %d, socket %s, tx %" PRIu64 "/%" PRIu64 ", rx %" PRIu64 ", credit %" PRId64
			   ", rx queued %" PRIu32, why, (int)a->state, a->sock >= 0 ? vtr_state_name(si.state) : "none",
			   a->tx.off, txs_total(&a->tx), a->rx.off, si.credit, si.rx_bytes);
	}
}

static void run(struct lab *lab)
{
	const struct options *o = lab->o;

	round_start(lab);
	while (!lab->stop) {
		int64_t t, due;

		run_ready(lab);
		lab->iterations++;
		if (o->duration_ns && lab_now(lab) >= o->duration_ns) {
			lab->duration_hit = lab->stop = true;
			break;
		}
		if (lab->iterations % SIGNAL_EVERY == 0)
			check_signals(lab);
		if (o->device) {
			if (lab->pace_ns && clock_ns(CLOCK_MONOTONIC) < lab->next_slot) {
				wait_mono(lab, lab->next_slot);
				continue;
			}
			if (devices_step(lab)) {
				if (lab->pace_ns) {
					int64_t m = clock_ns(CLOCK_MONOTONIC);

					lab->next_slot = (lab->next_slot > m ? lab->next_slot : m) + lab->pace_ns;
				}
				if (lab->iterations % TIMER_EVERY == 0)
					fire_timers(lab);
				continue;
			}
		}
		if (lab->wire.head) {
			if (lab->pace_ns && clock_ns(CLOCK_MONOTONIC) < lab->next_slot) {
				wait_mono(lab, lab->next_slot);
				continue;
			}
			wire_deliver(lab);
			if (lab->pace_ns) {
				int64_t m = clock_ns(CLOCK_MONOTONIC);

				lab->next_slot = (lab->next_slot > m ? lab->next_slot : m) + lab->pace_ns;
			}
			if (lab->iterations % TIMER_EVERY == 0)
				fire_timers(lab);
			continue;
		}
		fire_timers(lab);
		if (lab->ready_head)
			continue;
		if (!lab->live && engines_idle(lab)) {
			round_end(lab);
			if (o->rounds && lab->rounds_done >= o->rounds)
				break;
			check_signals(lab);
			if (!lab->stop)
				round_start(lab);
			continue;
		}
		t = lab_now(lab);
		if (t - lab->round_start > ROUND_LIMIT_NS) {
			report_stuck(lab, "the round takes too long");
			break;
		}
		due = next_due(lab);
		if (o->duration_ns && (due < 0 || due > o->duration_ns))
			due = o->duration_ns;
		if (due < 0) {
			report_stuck(lab, "nothing is on the wire and no timer is armed");
			break;
		}
		if (o->virtual_clock) {
			if (due > lab->vnow)
				lab->vnow = due;
			check_signals(lab);
		} else {
			wait_mono(lab, lab->mono0 + due);
		}
	}
}

/* ---- set-up ---- */

static void add_listener(struct lab *lab, struct node *n, uint32_t port, int type, enum actor_kind child,
			 enum workload wl)
{
	struct actor *l = actor_new(lab, n, A_LISTENER, wl);
	int s = vtr_listen(n->e, port, type, 0);

	if (s < 0) {
		fprintf(stderr, "%s: listen on %" PRIu64 ":%" PRIu32 ": %s\n", PROG, n->cid, port, strerror(-s));
		exit(EXIT_USAGE);
	}
	l->child_kind = child;
	actor_own(l, s);
	snprintf(l->name, sizeof(l->name), "%s listener %" PRIu64 ":%" PRIu32, workload_names[wl], n->cid, port);
	l->next = lab->listeners;
	lab->listeners = l;
	n->listeners++;
}

/* Frames from a guest's tap join the host's, so one capture has every engine's view (--tap-all). */
static void forward_frame(void *ctx, const struct vsm_rec *rec)
{
	struct vsm_tap *host_tap = ctx;

	if (rec->cap_len >= VSM_FRAME_HDR_LEN)
		vsm_tap_packet(host_tap, &rec->ts, rec->data + VSM_OFF_VIRTIO, rec->data + VSM_FRAME_HDR_LEN,
			       rec->cap_len - VSM_FRAME_HDR_LEN);
}

/*
 * The vhost-user set-up is a conversation: the front-end waits for each answer. While it runs, a
 * thread answers for the device; afterwards everything runs on the lab's one thread.
 */
struct setup_pump {
	struct vtr_vudev *dev;
	volatile bool done;
};

static void *pump_device(void *arg)
{
	struct setup_pump *sp = arg;

	while (!sp->done) {
		struct pollfd pfds[VTR_VUDEV_MAX_POLLFDS];
		size_t n = vtr_vudev_pollfds(sp->dev, pfds, VTR_VUDEV_MAX_POLLFDS);

		if (poll(pfds, n, 10) <= 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (pfds[i].revents)
				vtr_vudev_handle(sp->dev, pfds[i].fd, pfds[i].revents);
	}
	return NULL;
}

/* --device: the guest's engine lives in a front-end attached to a device of its own. */
static int device_guest(struct node *n, const struct vtr_config *cfg, const struct vtr_ops *ops)
{
	static const struct vtr_vudev_ops dev_ops = { .deliver = dev_deliver, .rx_ready = dev_rx_ready };
	struct vtr_vudev_config dcfg = { .guest_cid = n->cid, .name = "lab" };
	struct vtr_vufront_config fcfg = {
		.regions = 2, .queue_size = DEVICE_QUEUE, .rx_buf_size = DEVICE_RX_BUF,
		.engine = *cfg, .engine_ops = ops, .engine_ctx = n,
	};
	struct setup_pump sp = { 0 };
	pthread_t t;
	char err[256];
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r = vtr_vudev_new(&dcfg, &dev_ops, n, &n->dev);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	vtr_vudev_attach(n->dev, sv[0]);
	vtr_vudev_set_tap(n->dev, NULL);
	sp.dev = n->dev;
	fcfg.sock = sv[1];
	if (pthread_create(&t, NULL, pump_device, &sp)) {
		close(sv[1]);
		return -EAGAIN;
	}
	r = vtr_vufront_new(&fcfg, &n->front, err, sizeof(err));
	sp.done = true;
	pthread_join(t, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: guest %" PRIu64 ": %s\n", PROG, n->cid, err);
		return r;
	}
	n->e = vtr_vufront_engine(n->front);
	return vtr_vudev_running(n->dev) ? 0 : -EPROTO;
}

static int lab_init(struct lab *lab, const struct options *o)
{
	static const struct vtr_ops ops = { .xmit = wire_xmit, .now = engine_now, .event = engine_event };
	struct vsm_tap *host_tap;
	char err[512];
	int r;

	memset(lab, 0, sizeof(*lab));
	lab->o = o;
	lab->sigfd = -1;
	lab->out = o->pcap && !strcmp(o->pcap, "-") ? stderr : stdout;
	lab->rng = o->seed;
	lab->mono0 = clock_ns(CLOCK_MONOTONIC);
	lab->real_start = lab->mono0;
	lab->epoch_ns = o->virtual_clock ? VIRTUAL_EPOCH_SEC * NS_PER_SEC : clock_ns(CLOCK_REALTIME);
	lab->pace_ns = o->pace > 0 ? NS_PER_SEC / o->pace : 0;
	lab->nnodes = o->guests + 1;
	lab->nodes = calloc(lab->nnodes, sizeof(*lab->nodes));
	lab->tbuf = malloc(BUF_LEN);
	lab->rbuf = malloc(BUF_LEN);
	lab->xbuf = malloc(BUF_LEN);
	if (!lab->nodes || !lab->tbuf || !lab->rbuf || !lab->xbuf) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return -ENOMEM;
	}
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct node *n = &lab->nodes[i];
		/* Room for every connection of a round at once, with the ones closing. */
		struct vtr_config cfg = {
			.cid = i ? FIRST_GUEST_CID + i - 1 : HOST_CID,
			.max_sockets = 64 + 16 * o->guests,
			.connect_timeout_ms = CONNECT_TIMEOUT_MS,
			.close_timeout_ms = CLOSE_TIMEOUT_MS,
		};

		n->lab = lab;
		n->cid = cfg.cid;
		n->max_socks = cfg.max_sockets;
		n->owner = calloc(n->max_socks, sizeof(*n->owner));
		if (!n->owner)
			return -ENOMEM;
		if (o->device && i)
			r = device_guest(n, &cfg, &ops);
		else
			r = vtr_engine_new(&cfg, &ops, n, &n->e);
		if (r < 0) {
			fprintf(stderr, "%s: engine for cid %" PRIu64 ": %s\n", PROG, n->cid, strerror(-r));
			return r;
		}
	}
	host_tap = vtr_engine_tap(lab->nodes[0].e);
	if (o->pcap && (r = vsm_tap_add_pcap(host_tap, o->pcap, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return r;
	}
	if (o->iface && (r = vsm_tap_add_iface(host_tap, o->iface, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return r;
	}
	if (o->tap_all && vsm_tap_active(host_tap)) {
		for (size_t i = 1; i < lab->nnodes; i++) {
			r = vsm_tap_add_callback(vtr_engine_tap(lab->nodes[i].e), forward_frame, host_tap);
			if (r < 0) {
				fprintf(stderr, "%s: tap of cid %" PRIu64 ": %s\n", PROG, lab->nodes[i].cid, strerror(-r));
				return r;
			}
		}
	}
	/* Whatever the set-up threads left for the devices (the front-ends' first RX kick, say) is
	 * handled now: every run starts from the same state, or --clock virtual would not repeat. */
	while (o->device && devices_step(lab))
		;
	add_listener(lab, &lab->nodes[0], PORT_ECHO, VTR_STREAM, A_ECHO_SERVER, W_ECHO);
	add_listener(lab, &lab->nodes[0], PORT_BULK, VTR_STREAM, A_BULK_SINK, W_BULK_UP);
	add_listener(lab, &lab->nodes[0], PORT_SEQ, VTR_SEQPACKET, A_SEQ_SERVER, W_SEQPACKET);
	add_listener(lab, &lab->nodes[0], PORT_SLOW, VTR_STREAM, A_SLOW_READER, W_SLOW);
	add_listener(lab, &lab->nodes[0], PORT_HALF, VTR_STREAM, A_HALF_SERVER, W_HALFCLOSE);
	for (size_t i = 1; i < lab->nnodes; i++)
		add_listener(lab, &lab->nodes[i], PORT_GUEST_SINK, VTR_STREAM, A_BULK_SINK, W_BULK_DOWN);
	return 0;
}

static void lab_free(struct lab *lab)
{
	struct actor *l, *next;

	if (lab->in_round)
		free_round(lab);
	for (l = lab->listeners; l; l = next) {
		next = l->next;
		actor_free(l);
	}
	vtr_pktq_clear(&lab->wire);
	if (lab->nodes) {
		for (size_t i = 0; i < lab->nnodes; i++) {
			struct node *n = &lab->nodes[i];

			/* The device goes first: the front-end's farewell requests then fail at once. */
			if (n->dev || n->front) {
				vtr_vudev_free(n->dev);
				vtr_vufront_free(n->front);	/* frees its engine */
			} else {
				vtr_engine_free(n->e);	/* closes the taps: the pcap is flushed and stays valid */
			}
			free(n->owner);
		}
	}
	free(lab->nodes);
	free(lab->tbuf);
	free(lab->rbuf);
	free(lab->xbuf);
	if (lab->sigfd >= 0)
		close(lab->sigfd);
}

/* ---- results ---- */

struct checks {
	FILE *out;
	bool verbose;
	unsigned passed, failed;
};

static void check(struct checks *c, bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	if (ok)
		c->passed++;
	else
		c->failed++;
	/* With --stats every check is listed with the counters; otherwise only failures, on stderr. */
	if (c->verbose)
		f = c->out;
	else if (!ok)
		f = stderr;
	else
		return;
	fprintf(f, "%scheck %s: %s (", c->verbose ? "" : PROG ": ", name, ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, ")\n");
}

/* The lab's own checks, over everything; prints them with --stats. Returns the number failed. */
static unsigned lab_checks(struct lab *lab)
{
	const struct options *o = lab->o;
	struct checks c = { .out = lab->out, .verbose = o->stats };
	struct vsm_tap *tap = vtr_engine_tap(lab->nodes[0].e);
	/* Counts that only add up once every connection is over: after the last round, not mid-way. */
	bool complete = !lab->stop && !lab->stuck;
	uint64_t failed = 0, bad = 0, tapped = 0, in_flight = 0, sent = 0, delivered = lab->delivered;
	bool conserved = true;
	int ferr;

	for (int w = 0; w < W_COUNT; w++)
		failed += lab->wl[w].failed;
	check(&c, !failed && !lab->stuck, "workloads", "%" PRIu64 " actors failed", failed);

	for (size_t i = 0; i < lab->nnodes; i++) {
		struct vtr_stats st;

		struct node *n = &lab->nodes[i];

		vtr_engine_stats(n->e, &st);
		bad += st.malformed + st.violations;
		tapped += (i == 0 || o->tap_all) ? st.pkts_in + st.pkts_out : 0;
		if (n->front) {
			/*
			 * Behind a device: what the guest sent waits in its TX ring until the device takes it
			 * (n->sent), what the host sent it waits in its RX ring until its front-end hands it
			 * to the engine (n->to_ring).
			 */
			if (st.pkts_out < n->sent || st.pkts_in > n->to_ring)
				conserved = false;
			in_flight += (st.pkts_out - n->sent) + (n->to_ring - st.pkts_in);
			delivered += st.pkts_in;
			sent += st.pkts_out;
			continue;
		}
		if (st.pkts_in != n->delivered || st.pkts_out != n->sent)
			conserved = false;
		in_flight += n->in_flight;
		sent += n->sent;
	}
	check(&c, !bad, "engines", "%" PRIu64 " malformed packets or protocol violations counted", bad);
	check(&c, conserved && sent == delivered + lab->dropped + in_flight, "conservation",
	      "every packet an engine sent was delivered (%" PRIu64 "), dropped (%" PRIu64 ") or is %s (%" PRIu64 ")",
	      delivered, lab->dropped, o->device ? "in a ring" : "on the wire", in_flight);
	if (o->device) {
		uint64_t dbad = 0, stopped = 0;

		for (size_t i = 1; i < lab->nnodes; i++) {
			struct vtr_vudev_stats ds;

			vtr_vudev_stats(lab->nodes[i].dev, &ds);
			dbad += ds.malformed + (ds.last_error[0] != 0);
			stopped += !ds.running;
		}
		check(&c, !dbad && !stopped, "devices", "%u vhost-user-vsock devices, %" PRIu64 " stopped, %" PRIu64
		      " malformed chains or errors", o->guests, stopped, dbad);
	}
	if (complete) {
		bool ok = true;

		for (size_t i = 0; i < lab->nnodes; i++) {
			struct vtr_stats st;

			vtr_engine_stats(lab->nodes[i].e, &st);
			ok = ok && st.refused == lab->nodes[i].refused_expected;
		}
		check(&c, ok, "refused", "each engine counted the %" PRIu64 " REQUESTs it refused", lab->refused_seen);
		check(&c, lab->dropped == lab->timeouts_seen, "unknown-cid",
		      "%" PRIu64 " packets to an unknown CID dropped, %" PRIu64 " connects timed out", lab->dropped,
		      lab->timeouts_seen);
		check(&c, lab->wl[W_SLOW].passed == 0 || lab->wl[W_SLOW].requests > 0, "credit-request",
		      "%" PRIu64 " CREDIT_REQUESTs from senders to slow readers", lab->wl[W_SLOW].requests);
	}
	check(&c, !lab->leaks, "sockets", "%" PRIu64 " sockets left after rounds", lab->leaks);
	ferr = vsm_tap_flush(tap);
	for (size_t s = 0; s < vsm_tap_sink_count(tap); s++) {
		struct vsm_tap_sink_stats ss;
		bool pcap = o->pcap && s == 0;

		if (vsm_tap_sink_stats(tap, s, &ss) < 0)
			continue;
		if (pcap)
			check(&c, !ss.error && !ss.dropped && ss.frames == tapped, "tap",
			      "pcap %s: %" PRIu64 " frames for %" PRIu64 " packets, %" PRIu64 " dropped%s%s", o->pcap,
			      ss.frames, tapped, ss.dropped, ss.error ? ", " : "", ss.error ? strerror(-ss.error) : "");
		else if (ss.error || ss.dropped)
			fprintf(stderr, "%s: warning: interface %s: %" PRIu64 " of %" PRIu64 " frames dropped%s%s\n", PROG,
				o->iface, ss.dropped, ss.frames + ss.dropped, ss.error ? ": " : "",
				ss.error ? strerror(-ss.error) : "");
	}
	if (ferr < 0 && !o->pcap)
		fprintf(stderr, "%s: warning: tap flush: %s\n", PROG, strerror(-ferr));
	if (o->stats)
		fprintf(c.out, "result: %s (%u checks, %u failed)\n", c.failed ? "FAIL" : "PASS", c.passed + c.failed,
			c.failed);
	return c.failed;
}

static void print_stats(struct lab *lab)
{
	const struct options *o = lab->o;
	FILE *f = lab->out;
	struct vsm_tap *tap = vtr_engine_tap(lab->nodes[0].e);

	fprintf(f, "%s %s: %" PRIu64 " round%s%s, %u guest%s, %s clock (seed %" PRIu64 "), lab time %.3f s, real time %.3f s\n",
		PROG, VSM_VERSION, lab->rounds_done, lab->rounds_done == 1 ? "" : "s",
		lab->stop_signal ? " (interrupted)" : lab->duration_hit ? " (duration reached)" : "",
		o->guests, o->guests == 1 ? "" : "s", o->virtual_clock ? "virtual" : "real", o->seed, (double)lab_now(lab) / NS_PER_SEC,
		(double)(clock_ns(CLOCK_MONOTONIC) - lab->real_start) / NS_PER_SEC);
	fprintf(f, "hypervisor: %" PRIu64 " packets routed, %" PRIu64 " payload bytes, %" PRIu64
		" dropped (unknown CID), wire full %" PRIu64 " times\n",
		lab->routed, lab->routed_bytes, lab->dropped, lab->wire_full);
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct vtr_stats st;

		vtr_engine_stats(lab->nodes[i].e, &st);
		fprintf(f, "engine cid %" PRIu64 ": pkts_in %" PRIu64 ", pkts_out %" PRIu64 ", bytes_in %" PRIu64
			", bytes_out %" PRIu64 ", rst_sent %" PRIu64 ", rst_received %" PRIu64 ", malformed %" PRIu64
			", violations %" PRIu64 ", refused %" PRIu64 ", sockets %" PRIu32 "\n",
			lab->nodes[i].cid, st.pkts_in, st.pkts_out, st.bytes_in, st.bytes_out, st.rst_sent,
			st.rst_received, st.malformed, st.violations, st.refused, st.sockets);
	}
	for (size_t i = 1; o->device && i < lab->nnodes; i++) {
		struct vtr_vudev_stats ds;

		vtr_vudev_stats(lab->nodes[i].dev, &ds);
		fprintf(f, "device cid %" PRIu64 ": %s, from guest %" PRIu64 " packets, to guest %" PRIu64
			" (split %" PRIu64 "), RX ring empty %" PRIu64 " times (%.3f ms), TX kicks %" PRIu64
			", RX kicks %" PRIu64 ", interrupts %" PRIu64 ", malformed %" PRIu64 "%s%s\n",
			lab->nodes[i].cid, ds.running ? "running" : "stopped", ds.pkts_from_guest, ds.pkts_to_guest,
			ds.splits, ds.rx_empty_events, (double)ds.rx_empty_ns / 1e6, ds.q[VTR_VUDEV_TX].kicks,
			ds.q[VTR_VUDEV_RX].kicks, ds.q[VTR_VUDEV_RX].calls + ds.q[VTR_VUDEV_TX].calls, ds.malformed,
			ds.last_error[0] ? ", error: " : "", ds.last_error);
	}
	for (size_t s = 0; s < vsm_tap_sink_count(tap); s++) {
		struct vsm_tap_sink_stats ss;

		bool pcap = o->pcap && s == 0;

		if (vsm_tap_sink_stats(tap, s, &ss) < 0)
			continue;
		fprintf(f, "tap cid %d %s %s: frames %" PRIu64 ", bytes %" PRIu64 ", dropped %" PRIu64,
			HOST_CID, pcap ? "pcap" : "interface", pcap ? o->pcap : o->iface, ss.frames, ss.bytes, ss.dropped);
		if (!pcap)	/* sent while nobody captured on the interface: not built, not lost */
			fprintf(f, ", unobserved %" PRIu64, ss.unobserved);
		fprintf(f, "%s%s\n", ss.error ? ", error: " : "", ss.error ? strerror(-ss.error) : "");
	}
	for (int w = 0; w < W_COUNT; w++) {
		const struct wl_stats *s = &lab->wl[w];

		fprintf(f, "workload %s: %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " interrupted, %" PRIu64
			" bytes verified", workload_names[w], s->passed, s->failed, s->interrupted, s->bytes);
		if (w == W_SEQPACKET)
			fprintf(f, ", %" PRIu64 " messages verified", s->messages);
		if (s->stalls || s->requests)
			fprintf(f, ", %" PRIu64 " credit stalls, %" PRIu64 " credit requests", s->stalls, s->requests);
		fputc('\n', f);
	}
	fprintf(f, "connections: %" PRIu64 " connects, %" PRIu64 " accepted, %" PRIu64 " refused (RST), %" PRIu64
		" timed out (unknown CID), %" PRIu64 " half-closes with data still flowing\n",
		lab->connects, lab->accepted, lab->refused_seen, lab->timeouts_seen, lab->halfclose_overlap);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--guests N] [--device] [--rounds N] [--duration SECONDS] [--pcap FILE] [--tap IFACE]\n"
		"                [--tap-all] [--clock real|virtual] [--seed N] [--pace[=PPS]] [-q] [--stats]\n"
		"\n"
		"Run a host (CID 2) and N guests (CID 3, 4...), each a userspace virtio-vsock engine, joined by\n"
		"an in-memory hypervisor, with a self-checking workload: echo, bulk transfers both ways,\n"
		"SEQPACKET messages, a slow reader that exhausts its peer's credit, refused connects, a CID\n"
		"that does not exist, half-closes. The host engine's tap sees every packet, as a host-side\n"
		"vsockmon does: write it to a pcap file or show it live on an interface for vsockdump.\n"
		"No vsock socket is opened.\n"
		"\n"
		"Lab:\n"
		"  -g, --guests N          guests, 1 to %d (default 2)\n"
		"      --device            each guest behind a vhost-user-vsock device (vsockdev's), joined over\n"
		"                          vhost-user: packets cross real virtqueues in shared memory\n"
		"  -r, --rounds N          run the workload N times, then exit (default: until interrupted)\n"
		"  -d, --duration SECONDS  stop after SECONDS of the lab's clock (virtual seconds with --clock virtual)\n"
		"      --clock real|virtual\n"
		"                          real (default): CLOCK_MONOTONIC, time stamps are wall-clock time;\n"
		"                          virtual: a clock the scheduler advances (2 us + 1 ns/byte a packet,\n"
		"                          jumps to the next timer when idle), starting at 2024-01-01 00:00:00 UTC:\n"
		"                          the same --seed gives the same packets, byte for byte\n"
		"      --seed N            seed of the workload's sizes and data (default 1)\n"
		"      --pace[=PPS]        deliver at most PPS packets a second of real time (--pace alone: %d;\n"
		"                          0: as fast as possible). Default: %d with --tap, else as fast as possible\n"
		"Tap (the host engine's):\n"
		"  -w, --pcap FILE         write every packet to a pcap file (LINKTYPE_VSOCK; - for stdout)\n"
		"  -i, --tap IFACE         send every packet to a vsock-type interface (created as a TUN device\n"
		"                          unless IFACE is a kernel vsockmon): vsockdump -i IFACE shows them live.\n"
		"                          Needs CAP_NET_ADMIN\n"
		"      --tap-all           tap the guests' engines too: each packet is then seen twice, as sent\n"
		"                          and as received\n"
		"Output:\n"
		"  -q, --quiet             no progress lines, only errors (and --stats)\n"
		"      --stats             at exit: counters of the hypervisor, each engine and the tap, results\n"
		"                          of each workload, and the lab's checks\n"
		"  -h, --help              this help;  --version  the version\n"
		"\n"
		"SIGINT or SIGTERM stops the lab: the pcap is flushed and stays valid, the summary is printed.\n"
		"Exit status: 0 every check passed, 1 a check failed (data differed, an engine misbehaved...),\n"
		"2 usage error or the lab could not be set up.\n",
		PROG, MAX_GUESTS, DEFAULT_PACE, DEFAULT_PACE);
}


enum {
	OPT_TAP_ALL = 1000, OPT_DEVICE, OPT_CLOCK, OPT_SEED, OPT_PACE, OPT_STATS, OPT_VERSION,
};

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "guests", required_argument, NULL, 'g' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "tap", required_argument, NULL, 'i' },
		{ "tap-all", no_argument, NULL, OPT_TAP_ALL },
		{ "device", no_argument, NULL, OPT_DEVICE },
		{ "clock", required_argument, NULL, OPT_CLOCK },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "pace", optional_argument, NULL, OPT_PACE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .guests = 2, .seed = 1, .pace = -1 };
	while ((c = getopt_long(argc, argv, "g:r:d:w:i:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			o->guests = (unsigned)cli_number(PROG, "--guests", optarg, 1, MAX_GUESTS);
			break;
		case 'r':
			o->rounds = cli_number(PROG, "--rounds", optarg, 1, UINT32_MAX);
			break;
		case 'd': {
			double v = cli_real(PROG, "--duration", optarg, 0, 1e6, true);

			o->duration_ns = (int64_t)(v * NS_PER_SEC);
			if (!o->duration_ns)
				o->duration_ns = 1;
			break;
		}
		case 'w':
			if (o->pcap)
				cli_die_usage(PROG, "--pcap given twice");
			o->pcap = optarg;
			break;
		case 'i':
			if (o->iface)
				cli_die_usage(PROG, "--tap given twice: one interface is enough (capture it with several tools)");
			if (!*optarg || strlen(optarg) >= 16 || strchr(optarg, '/') || strpbrk(optarg, " \t\n"))
				cli_die_usage(PROG, "invalid interface name '%s'", optarg);
			o->iface = optarg;
			break;
		case OPT_DEVICE:
			o->device = true;
			break;
		case OPT_TAP_ALL:
			o->tap_all = true;
			break;
		case OPT_CLOCK:
			if (!strcmp(optarg, "virtual"))
				o->virtual_clock = true;
			else if (!strcmp(optarg, "real"))
				o->virtual_clock = false;
			else
				cli_die_usage(PROG, "invalid --clock argument '%s': expected real or virtual", optarg);
			break;
		case OPT_SEED:
			o->seed = cli_number(PROG, "--seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_PACE:
			o->pace = optarg ? (long)cli_number(PROG, "--pace", optarg, 0, 1000000) : DEFAULT_PACE;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("%s (vsockmon) %s\n", PROG, VSM_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		cli_die_usage(PROG, "unexpected argument '%s'", argv[optind]);
	if (o->pace < 0)
		o->pace = o->iface ? DEFAULT_PACE : 0;
	if (o->tap_all && !o->pcap && !o->iface)
		cli_die_usage(PROG, "--tap-all needs --pcap or --tap");
}

int main(int argc, char **argv)
{
	struct options o;
	struct lab lab;
	sigset_t mask;
	unsigned failed;
	uint64_t verified = 0;

	cli_program_name(argv);
	parse_options(argc, argv, &o);
	/* SIGINT and SIGTERM become readable on a signalfd: the loop stops between two steps. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror(PROG ": sigprocmask");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);	/* a pcap on a closed pipe is a write error the tap reports */
	if (lab_init(&lab, &o) < 0) {
		lab_free(&lab);
		return EXIT_USAGE;
	}
	lab.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (lab.sigfd < 0) {
		perror(PROG ": signalfd");
		lab_free(&lab);
		return EXIT_USAGE;
	}
	if (!o.quiet && o.iface)
		fprintf(lab.out, "%s: tapping the host on %s at %ld packets/s: vsockdump -i %s\n", PROG, o.iface,
			o.pace, o.iface);
	run(&lab);
	if (lab.stop_signal && !o.quiet)
		fprintf(lab.out, "%s: %s: stopping\n", PROG, strsignal(lab.stop_signal));
	if (lab.in_round)
		free_round(&lab);	/* interrupted: the actors under way are counted as such, not as failures */
	if (o.stats)
		print_stats(&lab);
	failed = lab_checks(&lab);
	for (int w = 0; w < W_COUNT; w++)
		verified += lab.wl[w].bytes;
	if (!o.quiet && !o.stats) {
		char b[32];

		human_bytes(b, sizeof(b), verified);
		fprintf(lab.out, "%s: %" PRIu64 " round%s, %" PRIu64 " packets, %s verified, %" PRIu64 " refused connects: %s\n",
			PROG, lab.rounds_done, lab.rounds_done == 1 ? "" : "s", lab.routed, b, lab.refused_seen,
			failed ? "CHECKS FAILED" : "all checks passed");
	}
	lab_free(&lab);
	return failed ? EXIT_CHECKS : EXIT_SUCCESS;
}
