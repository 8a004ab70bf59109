/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.h: per-connection state rebuilt from packets: counters, the credit view of each sender, stalls and problems. */
#ifndef VSOCKMON_FLOW_H
#define VSOCKMON_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <vsockmon/decode.h>
#include <vsockmon/wire.h>

/*
 * Passive analysis: everything here comes from the packets alone, as a capture shows them, with
 * the capture's time stamps as the clock (so a capture read twice gives the same analysis).
 * Memory grows with connections, not packets: each flow is a fixed-size record, at most max_flows
 * of them, finished flows evicted first. All counters of the protocol are free-running u32 and are
 * compared by subtraction (virtio spec 5.10.6.3).
 */

/* Both endpoints; side 0 is the one that sent the first packet seen (the REQUEST when seen). */
struct vsm_flow_key {
	uint64_t cid[2];
	uint32_t port[2];
};

enum vsm_flow_state {
	VSM_FLOW_UNKNOWN,	/* joined midway, no handshake seen yet */
	VSM_FLOW_REQUESTED,	/* REQUEST seen, no answer yet */
	VSM_FLOW_ESTABLISHED,
	VSM_FLOW_CLOSING,	/* shut down both ways (one side RCV|SEND, or SEND from both): awaiting the RST */
	VSM_FLOW_CLOSED,	/* RST after SHUTDOWN: a clean close */
	VSM_FLOW_RESET,		/* RST without SHUTDOWN: an abort */
	VSM_FLOW_REFUSED,	/* RST answering REQUEST */
	VSM_FLOW_HALF_CLOSED,	/* one side said it sends no more (SHUTDOWN SEND); the other still may */
};

/* Problems and notable events of a flow: bit numbers of vsm_flow.problems and event kinds. */
enum vsm_flow_problem {
	VSM_FP_STALL,		/* a sender ran out of credit (a credit stall) */
	VSM_FP_CREDIT_UNANSWERED,	/* a CREDIT_REQUEST got no CREDIT_UPDATE within VSM_FLOW_ANSWER_NS */
	VSM_FP_CREDIT_EXCEEDED,	/* a sender sent past everything its peer ever allowed */
	VSM_FP_DATA_AFTER_SHUTDOWN,	/* RW after its sender's SHUTDOWN SEND */
	VSM_FP_DATA_BEFORE_RESPONSE,	/* RW before the RESPONSE */
	VSM_FP_REFUSED,		/* RST answering REQUEST */
	VSM_FP_ABORT,		/* RST on an established connection without SHUTDOWN */
	VSM_FP_HALF_OPEN,	/* half-closed and left so for VSM_FLOW_HALF_OPEN_NS, or at the end */
	VSM_FP_INCOMPLETE,	/* REQUEST without an answer for VSM_FLOW_CONNECT_NS, or at the end */
	VSM_FP_BUF_CHANGE,	/* a side changed its buf_alloc on a live connection */
	VSM_FP_MIDWAY,		/* the capture joined the connection midway: counters and credit unknown */
	/*
	 * Packet evidence of an empty RX ring: a packet a device spread over RX buffers stopped
	 * between two parts for VSM_FLOW_RING_WAIT_NS although the sender had credit left. The parts
	 * are alike (same length, same buf_alloc and fwd_cnt) and come back to back (within
	 * VSM_FLOW_RING_BURST_NS) until the pause; an application that writes in such pieces, in
	 * bursts, and pauses in one with credit left looks the same, hence "likely".
	 */
	VSM_FP_RING_WAIT,
	VSM_FP_COUNT
};

/* Event kinds in a flow's history: the problems, and the ends of stalls. */
#define VSM_FE_STALL_END	VSM_FP_COUNT	/* a stall ended: value = its length, ns */
#define VSM_FE_KINDS		(VSM_FP_COUNT + 1)

/* Thresholds for what only time reveals (capture time). */
#define VSM_FLOW_ANSWER_NS	(1000000000ull)		/* a CREDIT_REQUEST's answer */
#define VSM_FLOW_CONNECT_NS	(2000000000ull)		/* Linux's connect timeout */
#define VSM_FLOW_HALF_OPEN_NS	(10000000000ull)	/* a half-close that stays so */
#define VSM_FLOW_RING_WAIT_NS	(5000000ull)		/* a pause inside a split packet */
#define VSM_FLOW_RING_BURST_NS	(1000000ull)		/* parts of one packet come closer than this */

#define VSM_FLOW_EVENTS		8	/* the last events kept per flow */
#define VSM_FLOW_SAMPLES	8	/* the last credit samples kept per direction */

struct vsm_flow_event {
	struct timespec ts;
	uint16_t kind;			/* enum vsm_flow_problem, or VSM_FE_STALL_END */
	int8_t side;			/* the side concerned (the sender), -1 for the flow */
	uint64_t value;			/* stall length (ns), new buf_alloc... 0 when none */
};

/* The credit a side had toward its peer at some moment: for a view of credit over time. */
struct vsm_credit_sample {
	uint32_t ms;			/* ms since the flow's first packet */
	int32_t credit;
};

/* What one side has sent and advertised (the direction from this side to its peer). */
struct vsm_flow_side {
	uint64_t pkts, bytes;		/* all packets, RW payload bytes */
	uint64_t rw_pkts;		/* RW packets */
	uint64_t msgs;			/* SEQPACKET: messages completed (EOM) */
	uint64_t msgs_eor;		/* ... of which ended a record (EOR) */
	uint64_t msg_min, msg_max;	/* SEQPACKET: smallest and largest message, bytes */
	uint64_t msg_cur;		/* SEQPACKET: bytes of the message under way */
	uint32_t tx_cnt;		/* RW payload bytes sent, mod 2^32 */
	uint32_t buf_alloc, fwd_cnt;	/* the last values this side advertised */
	bool advertised;		/* buf_alloc/fwd_cnt have been seen */
	uint32_t horizon;		/* the furthest this side ever let its peer send: max of fwd_cnt + buf_alloc */
	uint32_t shutdown;		/* VSM_SHUTDOWN_* this side announced */
	/* as a sender without credit: a stall from the RW that used the last byte of credit to the
	 * packet that gave some back */
	bool stalled;
	struct timespec stall_since;
	uint64_t stalls;		/* stalls, the current one included */
	uint64_t stall_ns;		/* their total length, the current one up to the last packet */
	uint64_t stall_max_ns;
	uint64_t credit_requests, credit_unanswered, credit_updates;
	bool request_pending;		/* a CREDIT_REQUEST of this side waits for the peer's answer */
	int64_t request_at_ns;		/* when (ns since the epoch, capture time) */
	uint64_t buf_changes;
	uint64_t ring_waits;		/* likely waits for the receiver's RX ring (VSM_FP_RING_WAIT) */
	/* the last RW: to see a packet's parts resumed after a pause */
	int64_t rw_ns;			/* when (ns since the epoch) */
	uint32_t rw_len, rw_buf_alloc, rw_fwd_cnt;
	bool rw_had_credit;
	bool rw_in_burst;		/* the last RW followed an alike one back to back */
	struct vsm_credit_sample samples[VSM_FLOW_SAMPLES];	/* ring, oldest first from samples_head */
	uint8_t samples_n, samples_head;
};

struct vsm_flow {
	struct vsm_flow_key key;
	uint64_t id;			/* 1, 2, ... in the order the table first saw flows */
	enum vsm_flow_state state;
	uint16_t type;			/* VSM_TYPE_* */
	bool seen_start;		/* REQUEST or RESPONSE seen: counters started at 0 */
	bool responded;			/* RESPONSE seen (or joined midway) */
	struct vsm_flow_side side[2];
	struct timespec first, last;
	uint32_t problems;		/* 1 << VSM_FP_*: every problem seen */
	struct vsm_flow_event events[VSM_FLOW_EVENTS];	/* ring of the last events */
	uint32_t nevents;		/* events so far (the ring holds the last VSM_FLOW_EVENTS) */
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

/*
 * Totals over every packet and flow the table has seen (evicted flows still count): a uint64_t per row
 * of totals.def (what each means is its help there), then the flows that showed each problem.
 */
struct vsm_flows_totals {
#define X(id, member, text, label, prom_name, prom_type, help) uint64_t member;
#include <vsockmon/totals.def>
#undef X
	uint64_t problems[VSM_FP_COUNT];	/* flows that showed each problem */
};

struct vsm_flows;

/* max_flows: bound on tracked connections (0: 65536); finished flows are evicted first. */
int vsm_flows_new(size_t max_flows, struct vsm_flows **ret_flows);
void vsm_flows_free(struct vsm_flows *flows);
/*
 * Accounts one decoded packet. Packets without a virtio header are ignored (returns NULL).
 * Returns the flow (valid until the next update), and the sender's credit in *ret_view when
 * ret_view is not NULL.
 */
const struct vsm_flow *vsm_flows_update(struct vsm_flows *flows, const struct vsm_pkt *pkt,
					const struct timespec *ts, struct vsm_credit_view *ret_view);
/*
 * Lets time pass to now (capture time): requests unanswered, connects never completed and
 * half-closes left open are flagged once their threshold is past. Call it as time goes by (a
 * viewer once a refresh) and once at the end with the end of the capture and at_end = true:
 * then whatever is still pending counts as left so.
 */
void vsm_flows_tick(struct vsm_flows *flows, const struct timespec *now, bool at_end);
size_t vsm_flows_count(const struct vsm_flows *flows);
void vsm_flows_totals(const struct vsm_flows *flows, struct vsm_flows_totals *ret_totals);
/* Every flow held now, in no particular order, into out (at most max); returns how many. */
size_t vsm_flows_list(const struct vsm_flows *flows, const struct vsm_flow **out, size_t max);
/* The flow of a key (either orientation), or NULL. */
const struct vsm_flow *vsm_flows_find(const struct vsm_flows *flows, const struct vsm_flow_key *key);

/* The credit math itself (vsm_credit(), vsm_in_flight()) is the wire module's (wire.h). */
/* Side s's credit toward its peer now, and its bytes in flight; false when not known. */
bool vsm_flow_credit(const struct vsm_flow *flow, int side, int64_t *ret_credit, uint32_t *ret_in_flight);
/* Side s's time in credit stalls up to now (the current stall counted to now), ns. */
uint64_t vsm_flow_stall_ns(const struct vsm_flow *flow, int side, const struct timespec *now);
/* The flow's events, oldest first, into out (at most VSM_FLOW_EVENTS); returns how many. */
size_t vsm_flow_events(const struct vsm_flow *flow, struct vsm_flow_event *out);
/* Side s's credit samples, oldest first, into out (at most VSM_FLOW_SAMPLES); returns how many. */
size_t vsm_flow_samples(const struct vsm_flow *flow, int side, struct vsm_credit_sample *out);

const char *vsm_flow_state_name(enum vsm_flow_state state);
/* A flow problem in words, from problems.def: the same words in every tool. */
struct vsm_flow_problem_info {
	const char *name;		/* "stall", "refused"... */
	const char *explanation;	/* one line: what the packets show */
	const char *check;		/* what to look at first */
};

/* "stall", "credit_unanswered"... for a problem bit or event kind; "stall_end" for VSM_FE_STALL_END. */
const char *vsm_flow_problem_name(unsigned kind);
/* The words for problem kind (enum vsm_flow_problem); NULL for anything else (VSM_FE_STALL_END). */
const struct vsm_flow_problem_info *vsm_flow_problem_info(unsigned kind);
bool vsm_flow_finished(const struct vsm_flow *flow);

#endif
