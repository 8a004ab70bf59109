/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.c: connections rebuilt from packets: state, per-side counters, the credit of each sender, stalls and problems. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/flow.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#define DEFAULT_MAX_FLOWS 65536
#define NIL UINT32_MAX
#define SAMPLE_MS 10	/* credit samples closer than this replace the last one */

/* A tracked flow, linked into one of two LRU lists so eviction is O(1). */
struct flow_slot {
	struct vsm_flow flow;
	uint64_t hash;
	uint32_t prev, next;	/* LRU links (slot indexes) */
	uint8_t list;		/* LIST_OPEN or LIST_DONE */
	bool used;
};

enum { LIST_OPEN, LIST_DONE };

struct lru {
	uint32_t head, tail;	/* head = least recently seen */
};

struct vsm_flows {
	struct flow_slot *slots;	/* max_flows entries */
	uint32_t *index;		/* open addressing, linear probing; NIL = empty */
	size_t index_mask;
	size_t max_flows, count;
	size_t fresh;			/* slots from here on were never used: they stay untouched pages */
	uint32_t free_head;		/* slots freed by eviction, chained through .next; NIL: none */
	struct lru lists[2];		/* open flows, finished (closed/reset/refused) flows */
	uint64_t next_id;
	struct vsm_flows_totals totals;	/* live, open and stalled kept current; the rest counted as it comes */
};

const char *vsm_flow_state_name(enum vsm_flow_state state)
{
	static const char *const names[] = {
		[VSM_FLOW_UNKNOWN] = "unknown", [VSM_FLOW_REQUESTED] = "requested",
		[VSM_FLOW_ESTABLISHED] = "established", [VSM_FLOW_CLOSING] = "closing",
		[VSM_FLOW_CLOSED] = "closed", [VSM_FLOW_RESET] = "reset", [VSM_FLOW_REFUSED] = "refused",
		[VSM_FLOW_HALF_CLOSED] = "half-closed",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

static const struct vsm_flow_problem_info problem_info[VSM_FP_COUNT] = {
#define X(id, name, explanation, check) [VSM_FP_##id] = { name, explanation, check },
#include <vsockmon/problems.def>
#undef X
};

/* problems.def has one row for each problem: a missing row would leave a NULL name. */
enum {
#define X(id, name, explanation, check) PROBLEM_ROW_##id,
#include <vsockmon/problems.def>
#undef X
	PROBLEM_ROWS
};
_Static_assert((int)PROBLEM_ROWS == (int)VSM_FP_COUNT, "problems.def needs a row for every VSM_FP_*");

const struct vsm_flow_problem_info *vsm_flow_problem_info(unsigned kind)
{
	return kind < VSM_FP_COUNT ? &problem_info[kind] : NULL;
}

const char *vsm_flow_problem_name(unsigned kind)
{
	if (kind == VSM_FE_STALL_END)
		return "stall_end";
	return kind < VSM_FP_COUNT ? problem_info[kind].name : "?";
}

int vsm_flows_new(size_t max_flows, struct vsm_flows **ret_flows)
{
	struct vsm_flows *t;
	size_t n = 1;

	if (!ret_flows)
		return -EINVAL;
	if (!max_flows)
		max_flows = DEFAULT_MAX_FLOWS;
	if (max_flows >= NIL / 4)
		return -EINVAL;
	while (n < max_flows * 2)
		n <<= 1;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->slots = calloc(max_flows, sizeof(*t->slots));
	t->index = malloc(n * sizeof(*t->index));
	if (!t->slots || !t->index) {
		vsm_flows_free(t);
		return -ENOMEM;
	}
	memset(t->index, 0xff, n * sizeof(*t->index));
	t->index_mask = n - 1;
	t->max_flows = max_flows;
	t->free_head = NIL;
	t->lists[0] = t->lists[1] = (struct lru){ NIL, NIL };
	*ret_flows = t;
	return 0;
}

void vsm_flows_free(struct vsm_flows *flows)
{
	if (!flows)
		return;
	free(flows->slots);
	free(flows->index);
	free(flows);
}

size_t vsm_flows_count(const struct vsm_flows *flows)
{
	return flows->count;
}

/* Hash of the unordered pair of endpoints, so both directions find the same flow. */
static uint64_t endpoint_hash(uint64_t cid, uint32_t port)
{
	uint64_t h = cid * 0x9e3779b97f4a7c15ull ^ ((uint64_t)port * 0xc2b2ae3d27d4eb4full);

	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ull;
}

static uint64_t pair_hash(uint64_t a, uint64_t b)
{
	uint64_t h = (a < b ? a : b) * 31 + (a < b ? b : a);

	return h ^ (h >> 31);
}

/* Which side of the flow sent the packet: 0, 1, or -1 when the endpoints are not this flow's. */
static int side_of(const struct vsm_flow *f, const struct vsm_pkt *p)
{
	const struct vsm_flow_key *k = &f->key;

	if (k->cid[0] == p->src_cid && k->port[0] == p->src_port &&
	    k->cid[1] == p->dst_cid && k->port[1] == p->dst_port)
		return 0;
	if (k->cid[1] == p->src_cid && k->port[1] == p->src_port &&
	    k->cid[0] == p->dst_cid && k->port[0] == p->dst_port)
		return 1;
	return -1;
}

static void lru_unlink(struct vsm_flows *t, uint32_t i)
{
	struct flow_slot *s = &t->slots[i];
	struct lru *l = &t->lists[s->list];

	if (s->prev != NIL)
		t->slots[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next != NIL)
		t->slots[s->next].prev = s->prev;
	else
		l->tail = s->prev;
}

static void lru_append(struct vsm_flows *t, uint32_t i, uint8_t list)
{
	struct flow_slot *s = &t->slots[i];
	struct lru *l = &t->lists[list];

	s->list = list;
	s->next = NIL;
	s->prev = l->tail;
	if (l->tail != NIL)
		t->slots[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
}

static size_t index_find(const struct vsm_flows *t, uint64_t hash, const struct vsm_pkt *p, uint32_t *ret_slot)
{
	size_t pos = hash & t->index_mask;

	for (;;) {
		uint32_t i = t->index[pos];

		if (i == NIL) {
			*ret_slot = NIL;
			return pos;
		}
		if (t->slots[i].hash == hash && side_of(&t->slots[i].flow, p) >= 0) {
			*ret_slot = i;
			return pos;
		}
		pos = (pos + 1) & t->index_mask;
	}
}

/* Linear-probing deletion by backward shift keeps every probe chain unbroken without tombstones. */
static void index_remove(struct vsm_flows *t, uint32_t slot)
{
	size_t hole = t->slots[slot].hash & t->index_mask;
	size_t j;

	while (t->index[hole] != slot)
		hole = (hole + 1) & t->index_mask;
	for (j = (hole + 1) & t->index_mask; t->index[j] != NIL; j = (j + 1) & t->index_mask) {
		size_t home = t->slots[t->index[j]].hash & t->index_mask;

		/* The entry at j may fill the hole unless its home lies cyclically in (hole, j]. */
		if (((j - home) & t->index_mask) >= ((j - hole) & t->index_mask)) {
			t->index[hole] = t->index[j];
			hole = j;
		}
	}
	t->index[hole] = NIL;
}

static void evict_one(struct vsm_flows *t)
{
	/* Finished flows go first; only then the least recently seen open one. */
	uint32_t victim = t->lists[LIST_DONE].head != NIL ? t->lists[LIST_DONE].head : t->lists[LIST_OPEN].head;
	const struct vsm_flow *f = &t->slots[victim].flow;

	if (t->slots[victim].list == LIST_OPEN)
		t->totals.open--;
	if (f->side[0].stalled || f->side[1].stalled)
		t->totals.stalled--;
	t->totals.evicted++;
	index_remove(t, victim);
	lru_unlink(t, victim);
	t->slots[victim].used = false;
	t->slots[victim].next = t->free_head;
	t->free_head = victim;
	t->count--;
}

static bool finished(enum vsm_flow_state state)
{
	return state == VSM_FLOW_CLOSED || state == VSM_FLOW_RESET || state == VSM_FLOW_REFUSED;
}

bool vsm_flow_finished(const struct vsm_flow *f)
{
	return finished(f->state);
}

/* Any timespec a caller gives (the dissector's come from Wireshark) is bounded, so none overflows. */
static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return vsm_ts_diff_ns(a, b);
}

static int64_t ts_ns(const struct timespec *ts)
{
	return vsm_ts_ns(ts);
}

static void add_event(struct vsm_flow *f, unsigned kind, int side, uint64_t value, const struct timespec *ts)
{
	struct vsm_flow_event *e = &f->events[f->nevents % VSM_FLOW_EVENTS];

	*e = (struct vsm_flow_event){ .ts = *ts, .kind = (uint16_t)kind, .side = (int8_t)side, .value = value };
	f->nevents++;
}

/* A problem: an event each time, and the flow counted once per kind in the totals. */
static void problem(struct vsm_flows *t, struct vsm_flow *f, unsigned kind, int side, uint64_t value,
		    const struct timespec *ts)
{
	if (!(f->problems & (1u << kind))) {
		f->problems |= 1u << kind;
		t->totals.problems[kind]++;
	}
	add_event(f, kind, side, value, ts);
}

bool vsm_flow_credit(const struct vsm_flow *f, int s, int64_t *ret_credit, uint32_t *ret_in_flight)
{
	const struct vsm_flow_side *me = &f->side[s], *peer = &f->side[!s];

	if (!f->seen_start || !peer->advertised)
		return false;
	if (ret_credit)
		*ret_credit = vsm_credit(peer->buf_alloc, me->tx_cnt, peer->fwd_cnt);
	if (ret_in_flight)
		*ret_in_flight = vsm_in_flight(me->tx_cnt, peer->fwd_cnt);
	return true;
}

uint64_t vsm_flow_stall_ns(const struct vsm_flow *f, int s, const struct timespec *now)
{
	const struct vsm_flow_side *me = &f->side[s];
	int64_t cur = me->stalled && now ? ns_between(&me->stall_since, now) : 0;

	return me->stall_ns + (cur > 0 ? (uint64_t)cur : 0);
}

size_t vsm_flow_events(const struct vsm_flow *f, struct vsm_flow_event *out)
{
	size_t n = f->nevents < VSM_FLOW_EVENTS ? f->nevents : VSM_FLOW_EVENTS;
	uint32_t first = f->nevents - (uint32_t)n;

	for (size_t i = 0; i < n; i++)
		out[i] = f->events[(first + i) % VSM_FLOW_EVENTS];
	return n;
}

size_t vsm_flow_samples(const struct vsm_flow *f, int s, struct vsm_credit_sample *out)
{
	const struct vsm_flow_side *me = &f->side[s];

	for (unsigned i = 0; i < me->samples_n; i++)
		out[i] = me->samples[(me->samples_head + i) % VSM_FLOW_SAMPLES];
	return me->samples_n;
}

/* Notes side s's credit now, for the view of credit over time (one sample per SAMPLE_MS). */
static void sample(struct vsm_flow *f, int s, const struct timespec *ts)
{
	struct vsm_flow_side *me = &f->side[s];
	int64_t credit, ms = ns_between(&f->first, ts) / 1000000;
	struct vsm_credit_sample smp;

	if (!vsm_flow_credit(f, s, &credit, NULL))
		return;
	smp.ms = ms < 0 ? 0 : ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
	smp.credit = credit > INT32_MAX ? INT32_MAX : credit < INT32_MIN ? INT32_MIN : (int32_t)credit;
	if (me->samples_n) {
		struct vsm_credit_sample *last = &me->samples[(me->samples_head + me->samples_n - 1) % VSM_FLOW_SAMPLES];

		if (smp.ms - last->ms < SAMPLE_MS) {
			*last = smp;
			return;
		}
	}
	if (me->samples_n < VSM_FLOW_SAMPLES) {
		me->samples[(me->samples_head + me->samples_n++) % VSM_FLOW_SAMPLES] = smp;
	} else {
		me->samples[me->samples_head] = smp;
		me->samples_head = (me->samples_head + 1) % VSM_FLOW_SAMPLES;
	}
}

static void stall_end(struct vsm_flows *t, struct vsm_flow *f, int s, const struct timespec *ts)
{
	struct vsm_flow_side *me = &f->side[s];
	int64_t ns = ns_between(&me->stall_since, ts);
	uint64_t len = ns > 0 ? (uint64_t)ns : 0;

	me->stalled = false;
	me->stall_ns += len;
	if (len > me->stall_max_ns)
		me->stall_max_ns = len;
	add_event(f, VSM_FE_STALL_END, s, len, ts);
	if (!f->side[!s].stalled)
		t->totals.stalled--;
}

/*
 * Side s as a sender after a packet: out of credit after an RW starts a stall; credit given back
 * by the peer (any packet of the peer's carries its buf_alloc and fwd_cnt) ends one.
 */
static void stall_check(struct vsm_flows *t, struct vsm_flow *f, int s, bool after_rw, const struct timespec *ts)
{
	struct vsm_flow_side *me = &f->side[s];
	int64_t credit;

	if (!vsm_flow_credit(f, s, &credit, NULL))
		return;
	if (!me->stalled && after_rw && credit <= 0) {
		if (!f->side[!s].stalled)
			t->totals.stalled++;
		me->stalled = true;
		me->stall_since = *ts;
		me->stalls++;
		problem(t, f, VSM_FP_STALL, s, 0, ts);
	} else if (me->stalled && credit > 0) {
		stall_end(t, f, s, ts);
	}
}

static void flow_start(struct vsm_flows *t, struct vsm_flow *f, const struct vsm_pkt *p, const struct timespec *ts)
{
	memset(f, 0, sizeof(*f));
	f->id = ++t->next_id;
	f->key.cid[0] = p->src_cid;
	f->key.port[0] = p->src_port;
	f->key.cid[1] = p->dst_cid;
	f->key.port[1] = p->dst_port;
	f->type = p->virtio.type;
	/* Counters start at 0 with the connection (virtio spec 5.10.6.3): only then is credit known. */
	f->seen_start = p->virtio.op == VSM_OP_REQUEST || p->virtio.op == VSM_OP_RESPONSE;
	f->first = *ts;
	t->totals.flows++;
	t->totals.open++;
	if (!f->seen_start) {
		/* Joined midway: say so, and judge nothing that needs the start (data before RESPONSE). */
		f->responded = true;
		problem(t, f, VSM_FP_MIDWAY, -1, 0, ts);
	}
}

/* One direction, from side s, is shut when s said SEND or its peer said RCV (virtio spec 5.10.6.5). */
static bool dir_shut(const struct vsm_flow *f, int s)
{
	return (f->side[s].shutdown & VSM_SHUTDOWN_SEND) || (f->side[!s].shutdown & VSM_SHUTDOWN_RCV);
}

static void set_finished(struct vsm_flows *t, struct vsm_flow *f, enum vsm_flow_state state,
			 const struct timespec *ts)
{
	f->state = state;
	t->totals.open--;
	if (state == VSM_FLOW_RESET)
		t->totals.resets++;
	else if (state == VSM_FLOW_REFUSED)
		t->totals.refused++;
	else
		t->totals.closed++;
	/* A connection that ends takes its stalls with it. */
	for (int i = 0; i < 2; i++)
		if (f->side[i].stalled)
			stall_end(t, f, i, ts);
	for (int i = 0; i < 2; i++)
		f->side[i].request_pending = false;
}

/*
 * An RW of side s: is it the next part of a packet a device spread over RX buffers, resumed after a
 * pause while the sender still had credit? Then the receiver's RX ring was most likely empty. The
 * parts of one packet are alike: the same length (all but the last), buf_alloc and fwd_cnt.
 */
static void ring_wait_check(struct vsm_flows *t, struct vsm_flow *f, int s, const struct vsm_virtio_hdr *h,
			    const struct timespec *ts)
{
	struct vsm_flow_side *me = &f->side[s];
	int64_t credit, gap = ts_ns(ts) - me->rw_ns;
	bool alike = me->rw_pkts && me->rw_len >= 1024 && me->rw_len < 65536 && h->len <= me->rw_len &&
		     h->buf_alloc == me->rw_buf_alloc && h->fwd_cnt == me->rw_fwd_cnt;

	if (alike && me->rw_in_burst && me->rw_had_credit && gap >= (int64_t)VSM_FLOW_RING_WAIT_NS) {
		me->ring_waits++;
		problem(t, f, VSM_FP_RING_WAIT, s, (uint64_t)gap, ts);
	}
	me->rw_in_burst = alike && h->len == me->rw_len && gap <= (int64_t)VSM_FLOW_RING_BURST_NS;
	me->rw_ns = ts_ns(ts);
	me->rw_len = h->len;
	me->rw_buf_alloc = h->buf_alloc;
	me->rw_fwd_cnt = h->fwd_cnt;
	/* credit after this packet: the peer's last word, less this packet */
	me->rw_had_credit = vsm_flow_credit(f, s, &credit, NULL) && credit > (int64_t)h->len;
}

static void apply_op(struct vsm_flows *t, struct vsm_flow *f, int s, const struct vsm_pkt *p, const struct timespec *ts)
{
	const struct vsm_virtio_hdr *h = &p->virtio;
	struct vsm_flow_side *me = &f->side[s];

	switch (h->op) {
	case VSM_OP_REQUEST:
		if (f->state == VSM_FLOW_UNKNOWN && f->seen_start)
			f->state = VSM_FLOW_REQUESTED;
		break;
	case VSM_OP_RESPONSE:
		if (!finished(f->state))
			f->state = VSM_FLOW_ESTABLISHED;
		f->responded = true;
		break;
	case VSM_OP_SHUTDOWN:
		me->shutdown |= h->flags & (VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND);
		if (!finished(f->state))
			f->state = dir_shut(f, 0) && dir_shut(f, 1) ? VSM_FLOW_CLOSING :
				   dir_shut(f, 0) || dir_shut(f, 1) ? VSM_FLOW_HALF_CLOSED : f->state;
		break;
	case VSM_OP_RST:
		if (finished(f->state))
			break;
		if (f->state == VSM_FLOW_REQUESTED) {
			problem(t, f, VSM_FP_REFUSED, !s, 0, ts);
			set_finished(t, f, VSM_FLOW_REFUSED, ts);
		} else if (f->state == VSM_FLOW_CLOSING || f->state == VSM_FLOW_HALF_CLOSED) {
			set_finished(t, f, VSM_FLOW_CLOSED, ts);
		} else {
			/* No SHUTDOWN before it: an abort, unless we joined midway and cannot know. */
			if (f->state == VSM_FLOW_ESTABLISHED)
				problem(t, f, VSM_FP_ABORT, s, 0, ts);
			set_finished(t, f, VSM_FLOW_RESET, ts);
		}
		break;
	case VSM_OP_RW:
		if (!f->responded)
			problem(t, f, VSM_FP_DATA_BEFORE_RESPONSE, s, h->len, ts);
		if (me->shutdown & VSM_SHUTDOWN_SEND)
			problem(t, f, VSM_FP_DATA_AFTER_SHUTDOWN, s, h->len, ts);
		ring_wait_check(t, f, s, h, ts);
		me->rw_pkts++;
		me->bytes += h->len;
		me->tx_cnt += h->len;
		t->totals.bytes += h->len;
		if (f->type == VSM_TYPE_SEQPACKET) {
			me->msg_cur += h->len;
			if (h->flags & VSM_SEQ_EOM) {
				if (!me->msgs || me->msg_cur < me->msg_min)
					me->msg_min = me->msg_cur;
				if (me->msg_cur > me->msg_max)
					me->msg_max = me->msg_cur;
				me->msgs++;
				me->msgs_eor += (h->flags & VSM_SEQ_EOR) != 0;
				me->msg_cur = 0;
			}
		}
		break;
	case VSM_OP_CREDIT_REQUEST:
		me->credit_requests++;
		if (!me->request_pending) {
			me->request_pending = true;
			me->request_at_ns = ts_ns(ts);
		}
		break;
	case VSM_OP_CREDIT_UPDATE:
		me->credit_updates++;
		f->side[!s].request_pending = false;	/* the answer to the peer's CREDIT_REQUEST */
		break;
	default:
		break;
	}
	/*
	 * Every packet carries the sender's buf_alloc and fwd_cnt (5.10.6.3), except that an RST
	 * for a connection the peer does not have carries zeros: ignore RSTs here.
	 */
	if (h->op != VSM_OP_RST) {
		if (me->advertised && h->buf_alloc != me->buf_alloc && !finished(f->state)) {
			me->buf_changes++;
			problem(t, f, VSM_FP_BUF_CHANGE, s, h->buf_alloc, ts);
		}
		me->buf_alloc = h->buf_alloc;
		me->fwd_cnt = h->fwd_cnt;
		/*
		 * A receiver that shrinks its buffer cannot take back what it already allowed: data sent
		 * before the sender heard of the shrink is legitimate, so overruns are judged against the
		 * furthest point ever allowed (compared by subtraction: wrap-safe).
		 */
		if (!me->advertised || (int32_t)(h->fwd_cnt + h->buf_alloc - me->horizon) > 0)
			me->horizon = h->fwd_cnt + h->buf_alloc;
		me->advertised = true;
	}
}

/* The time a deadline falls on, or now when it is later (the end of a capture comes first). */
static struct timespec deadline_or(int64_t deadline_ns, const struct timespec *now)
{
	int64_t t = ts_ns(now) < deadline_ns ? ts_ns(now) : deadline_ns;

	return vsm_ts_from_ns(t);
}

/*
 * The problems only time reveals, for one open connection. Each is stamped with the moment its threshold
 * was crossed, not with the moment of the check that noticed it; and vsm_flows_update() checks a
 * connection before applying its next packet, so the analysis gives the same events however often (or
 * whether) it is ticked.
 */
static void flow_deadlines(struct vsm_flows *t, struct vsm_flow *f, const struct timespec *now, bool at_end)
{
	for (int s = 0; s < 2; s++) {
		struct vsm_flow_side *me = &f->side[s];
		int64_t due = me->request_at_ns + (int64_t)VSM_FLOW_ANSWER_NS;

		if (me->request_pending && (at_end || ts_ns(now) >= due)) {
			struct timespec when = deadline_or(due, now);

			me->request_pending = false;
			me->credit_unanswered++;
			problem(t, f, VSM_FP_CREDIT_UNANSWERED, s, 0, &when);
		}
	}
	if (f->state == VSM_FLOW_REQUESTED && !(f->problems & (1u << VSM_FP_INCOMPLETE))) {
		int64_t due = ts_ns(&f->first) + (int64_t)VSM_FLOW_CONNECT_NS;

		if (at_end || ts_ns(now) >= due) {
			struct timespec when = deadline_or(due, now);

			problem(t, f, VSM_FP_INCOMPLETE, 0, 0, &when);
		}
	}
	if (f->state == VSM_FLOW_HALF_CLOSED && !(f->problems & (1u << VSM_FP_HALF_OPEN))) {
		int64_t due = ts_ns(&f->last) + (int64_t)VSM_FLOW_HALF_OPEN_NS;

		if (at_end || ts_ns(now) >= due) {
			struct timespec when = deadline_or(due, now);

			problem(t, f, VSM_FP_HALF_OPEN, dir_shut(f, 0) ? 0 : 1, 0, &when);
		}
	}
}

const struct vsm_flow *vsm_flows_update(struct vsm_flows *t, const struct vsm_pkt *p,
					const struct timespec *ts, struct vsm_credit_view *ret_view)
{
	struct vsm_credit_view view = { 0 };
	uint64_t hash;
	uint32_t i;
	struct vsm_flow *f;
	int s, peer;

	if (ret_view)
		memset(ret_view, 0, sizeof(*ret_view));
	if (!t || !p || !p->has_virtio)
		return NULL;
	hash = pair_hash(endpoint_hash(p->src_cid, p->src_port), endpoint_hash(p->dst_cid, p->dst_port));
	index_find(t, hash, p, &i);
	if (i != NIL && p->virtio.op == VSM_OP_REQUEST && finished(t->slots[i].flow.state)) {
		/* A new connection reusing the endpoints of a finished one. */
		flow_start(t, &t->slots[i].flow, p, ts);
		lru_unlink(t, i);
		lru_append(t, i, LIST_OPEN);
	} else if (i == NIL) {
		size_t pos;

		if (t->count == t->max_flows)
			evict_one(t);
		if (t->free_head != NIL) {
			i = t->free_head;
			t->free_head = t->slots[i].next;
		} else {
			i = (uint32_t)t->fresh++;
		}
		t->slots[i].used = true;
		t->slots[i].hash = hash;
		flow_start(t, &t->slots[i].flow, p, ts);
		pos = index_find(t, hash, p, &(uint32_t){ 0 });
		t->index[pos] = i;
		lru_append(t, i, LIST_OPEN);
		t->count++;
	} else {
		if (!finished(t->slots[i].flow.state))
			flow_deadlines(t, &t->slots[i].flow, ts, false);
		lru_unlink(t, i);
		lru_append(t, i, t->slots[i].list);
	}
	f = &t->slots[i].flow;
	s = side_of(f, p);
	peer = !s;
	f->last = *ts;
	f->side[s].pkts++;
	t->totals.pkts++;
	apply_op(t, f, s, p, ts);
	if (finished(f->state) && t->slots[i].list == LIST_OPEN) {
		lru_unlink(t, i);
		lru_append(t, i, LIST_DONE);
	}
	if (!finished(f->state)) {
		/* This packet moved the sender's tx_cnt (RW) and the peer's credit (its buf_alloc, fwd_cnt). */
		stall_check(t, f, s, p->virtio.op == VSM_OP_RW && p->virtio.len, ts);
		if (p->virtio.op != VSM_OP_RST)
			stall_check(t, f, peer, false, ts);
		if (p->virtio.op == VSM_OP_RW)
			sample(f, s, ts);
		else if (p->virtio.op != VSM_OP_RST)
			sample(f, peer, ts);
	}
	view.side = s;
	view.known = vsm_flow_credit(f, s, &view.credit, &view.in_flight);
	if (view.known && p->virtio.op == VSM_OP_RW && p->virtio.len) {
		view.exceeded = (int32_t)(f->side[s].tx_cnt - f->side[peer].horizon) > 0;
		view.window_full = view.credit <= 0 && !view.exceeded;
		if (view.exceeded)
			problem(t, f, VSM_FP_CREDIT_EXCEEDED, s, p->virtio.len, ts);
	}
	if (ret_view)
		*ret_view = view;
	return f;
}

void vsm_flows_tick(struct vsm_flows *t, const struct timespec *now, bool at_end)
{
	for (uint32_t i = t->lists[LIST_OPEN].head; i != NIL; i = t->slots[i].next)
		flow_deadlines(t, &t->slots[i].flow, now, at_end);
}

void vsm_flows_totals(const struct vsm_flows *t, struct vsm_flows_totals *ret)
{
	*ret = t->totals;
	ret->live = t->count;
}

size_t vsm_flows_list(const struct vsm_flows *t, const struct vsm_flow **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < t->fresh && n < max; i++)
		if (t->slots[i].used)
			out[n++] = &t->slots[i].flow;
	return n;
}

const struct vsm_flow *vsm_flows_find(const struct vsm_flows *t, const struct vsm_flow_key *k)
{
	struct vsm_pkt p = { .src_cid = k->cid[0], .src_port = k->port[0], .dst_cid = k->cid[1], .dst_port = k->port[1] };
	uint64_t hash = pair_hash(endpoint_hash(p.src_cid, p.src_port), endpoint_hash(p.dst_cid, p.dst_port));
	uint32_t i;

	index_find(t, hash, &p, &i);
	return i == NIL ? NULL : &t->slots[i].flow;
}
