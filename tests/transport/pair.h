/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pair.h: two engines joined by an in-memory wire with a settable clock, for transport tests. */
#ifndef VTR_TEST_PAIR_H
#define VTR_TEST_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsockmon/decode.h>
#include <vtr/vtr.h>

#define PAIR_MAX_FRAMES 200000

/* One packet as the wire carried it, decoded, for asserting exact sequences. */
struct wire_pkt {
	int from;			/* 0: engine a, 1: engine b */
	struct vsm_virtio_hdr h;
};

struct pair_queue {
	uint8_t **pkts;
	size_t *lens;
	size_t head, count, cap;
};

struct pair;
struct pair_side {
	struct pair *p;
	int i;
};

/* A pair refers to itself through side[]: it must stay where pair_init() put it. */
struct pair {
	struct pair_side side[2];	/* the engines' ops context */
	struct vtr_engine *e[2];	/* e[0]: CID 3 (a guest), e[1]: CID 2 (the host) */
	struct pair_queue q[2];		/* q[i]: packets in flight towards e[i] */
	struct timespec now;
	struct wire_pkt *log;		/* every packet the wire took, in order */
	size_t nlog;
	bool record;
	unsigned events[2][64];		/* last events seen per socket (sockets < 64) */
	bool wire_full[2];		/* when set, xmit from e[i] answers -EAGAIN */
	bool drop_to[2];		/* when set, packets towards e[i] vanish (a peer that never answers) */
	/* when set, engine i's admit op: 0 accepts a REQUEST for local_port, -errno refuses it */
	int (*admit)(struct pair *p, int i, uint32_t local_port, uint64_t peer_cid, uint32_t peer_port);
	unsigned admitted;		/* for the admit hook's own bookkeeping */
};

/* cfg may be NULL for defaults; cfg->cid is overridden (3 and 2). */
void pair_init(struct pair *p, const struct vtr_config *cfg_a, const struct vtr_config *cfg_b);
void pair_free(struct pair *p);
/* Delivers packets both ways until the wire is quiet; returns how many were delivered. */
size_t pair_run(struct pair *p);
/* Delivers at most n packets. */
size_t pair_step(struct pair *p, size_t n);
void pair_advance_ms(struct pair *p, uint64_t ms);
/* Counts logged packets with this op (from side from, or -1 for both) since index start. */
size_t pair_count(const struct pair *p, size_t start, int from, uint16_t op);
/* Injects raw bytes into engine i as if from the wire. */
int pair_inject(struct pair *p, int i, const uint8_t *pkt, size_t len);
/* Builds a raw packet header (and payload) into buf; returns its length. */
size_t pair_build(uint8_t *buf, uint64_t src_cid, uint32_t src_port, uint64_t dst_cid, uint32_t dst_port,
		  uint16_t type, uint16_t op, uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt,
		  const uint8_t *payload, uint32_t len);
/* Connects a (engine 0) to a listener on engine 1 at port; returns the two connected sockets. */
void pair_connect(struct pair *p, uint32_t port, int type, int *ret_client, int *ret_server);

#endif
