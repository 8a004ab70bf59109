/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.h: per-connection state rebuilt from packets, and the credit view of each sender. */
#ifndef VSOCKMON_FLOW_H
#define VSOCKMON_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <vsockmon/decode.h>

/* Both endpoints; side 0 is the one that sent the first packet seen (the REQUEST when seen). */
struct vsm_flow_key {
	uint64_t cid[2];
	uint32_t port[2];
};

enum vsm_flow_state {
	VSM_FLOW_UNKNOWN,	/* joined midway, no handshake seen yet */
	VSM_FLOW_REQUESTED,
	VSM_FLOW_ESTABLISHED,
	VSM_FLOW_CLOSING,	/* a SHUTDOWN was seen */
	VSM_FLOW_CLOSED,	/* RST after SHUTDOWN */
	VSM_FLOW_RESET,		/* RST without SHUTDOWN */
	VSM_FLOW_REFUSED,	/* RST answering REQUEST */
};

/* What one side has sent and advertised. Counters are free-running u32 (virtio spec 5.10.6.3). */
struct vsm_flow_side {
	uint64_t pkts, bytes;		/* all packets, RW payload bytes */
	uint32_t tx_cnt;		/* RW payload bytes sent, mod 2^32 */
	uint32_t buf_alloc, fwd_cnt;	/* the last values this side advertised */
	bool advertised;		/* buf_alloc/fwd_cnt have been seen */
	uint32_t horizon;		/* the furthest this side ever let its peer send: max of fwd_cnt + buf_alloc */
	uint32_t shutdown;		/* VSM_SHUTDOWN_* this side announced */
};

struct vsm_flow {
	struct vsm_flow_key key;
	enum vsm_flow_state state;
	uint16_t type;			/* VSM_TYPE_* */
	bool seen_start;		/* REQUEST or RESPONSE seen: counters started at 0 */
	struct vsm_flow_side side[2];
	struct timespec first, last;
};

/* The credit of a packet's sender toward its peer, after the packet (virtio spec 5.10.6.3). */
struct vsm_credit_view {
	bool known;			/* false: joined midway or the peer has not advertised yet */
	int64_t credit;			/* peer_buf_alloc - (tx_cnt - peer_fwd_cnt); may be < 0 */
	uint32_t in_flight;		/* tx_cnt - peer_fwd_cnt */
	bool window_full;		/* no credit left after an RW */
	bool exceeded;			/* the sender went past everything its peer ever allowed; a credit
					   below 0 after the peer shrank its buffer is not that */
	int side;			/* the sender's side in the flow, 0 or 1 */
};

struct vsm_flows;

/* max_flows: bound on tracked connections (0: 65536); closed flows are evicted first. */
int vsm_flows_new(size_t max_flows, struct vsm_flows **ret_flows);
void vsm_flows_free(struct vsm_flows *flows);
/*
 * Accounts one decoded packet. Packets without a virtio header are ignored (returns NULL).
 * Returns the flow, and the sender's credit in *ret_view when ret_view is not NULL.
 */
const struct vsm_flow *vsm_flows_update(struct vsm_flows *flows, const struct vsm_pkt *pkt,
					const struct timespec *ts, struct vsm_credit_view *ret_view);
size_t vsm_flows_count(const struct vsm_flows *flows);

/* The credit math, in one place: peer_buf_alloc - (tx_cnt - peer_fwd_cnt), wrap-safe. */
int64_t vsm_credit(uint32_t peer_buf_alloc, uint32_t tx_cnt, uint32_t peer_fwd_cnt);

const char *vsm_flow_state_name(enum vsm_flow_state state);

#endif
