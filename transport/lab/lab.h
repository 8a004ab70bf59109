/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lab.h: what vsocklab's parts share: its constants, the lab, its nodes and actors, and the functions one part calls in another. */
#ifndef VSOCKLAB_LAB_H
#define VSOCKLAB_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <vsockmon/wire.h>
#include <vtr/pktq.h>
#include <vtr/vtr.h>
#include <vtr/vudev.h>
#include <vtr/vufront.h>

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

extern const char *const workload_names[W_COUNT];

/* helpers.c */
int64_t clock_ns(clockid_t id);
int64_t lab_now(const struct lab *lab);
uint64_t lab_random(struct lab *lab);
uint64_t lab_random_range(struct lab *lab, uint64_t lo, uint64_t hi);
void gen_bytes(uint64_t seed, uint64_t off, uint8_t *buf, size_t n);
uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n);
void human_bytes(char *buf, size_t len, uint64_t n);
const char *err_name(int err);
struct node *node_by_cid(struct lab *lab, uint64_t cid);

/* stream.c */
uint64_t txs_total(const struct txs *t);
bool txs_done(const struct txs *t);
void txs_init(struct txs *t, enum workload wl, uint64_t seed, uint64_t body, uint8_t *scratch);
void txs_sender(struct txs *t, uint64_t cid, uint32_t port);
size_t txs_fill(const struct txs *t, uint8_t *buf, size_t n);
int rxs_feed(struct rxs *r, const uint8_t *p, size_t n, uint8_t *scratch, char *err, size_t errlen);
int rxs_eof(const struct rxs *r, char *err, size_t errlen);

/* actors.c */
void actor_wake(struct actor *a);
struct actor *actor_new(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl);
void actor_free(struct actor *a);
void actor_own(struct actor *a, int sock);
void actor_fail(struct actor *a, const char *fmt, ...);
void actor_name(struct actor *a);
void run_ready(struct lab *lab);

/* hypervisor.c */
int wire_xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len);
void engine_now(void *ctx, struct timespec *ret_ts);
void engine_event(void *ctx, int sock, unsigned events);
void wire_deliver(struct lab *lab);
void dev_deliver(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len);
void dev_rx_ready(void *ctx);
bool devices_step(struct lab *lab);
void fire_timers(struct lab *lab);
int64_t next_due(const struct lab *lab);
bool engines_idle(const struct lab *lab);
void wait_mono(struct lab *lab, int64_t until);
void check_signals(struct lab *lab);

/* rounds.c */
void free_round(struct lab *lab);
void lab_run(struct lab *lab);

/* setup.c */
int lab_init(struct lab *lab, const struct options *o);
void lab_free(struct lab *lab);

/* results.c */
unsigned lab_checks(struct lab *lab);
void lab_print_stats(struct lab *lab);

#endif
