/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.c: connections rebuilt from packets: state, per-side counters and the credit of each sender. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/flow.h>
#include <vsockmon/wire.h>

#define DEFAULT_MAX_FLOWS 65536
#define NIL UINT32_MAX

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
	uint32_t free_head;		/* free slots chained through .next */
	struct lru lists[2];		/* open flows, finished (closed/reset/refused) flows */
};

int64_t vsm_credit(uint32_t peer_buf_alloc, uint32_t tx_cnt, uint32_t peer_fwd_cnt)
{
	/* virtio spec 5.10.6.3: peer_free = peer_buf_alloc - (tx_cnt - peer_fwd_cnt), counters mod 2^32. */
	uint32_t in_flight = tx_cnt - peer_fwd_cnt;

	return (int64_t)peer_buf_alloc - (int64_t)in_flight;
}

const char *vsm_flow_state_name(enum vsm_flow_state state)
{
	static const char *const names[] = {
		[VSM_FLOW_UNKNOWN] = "unknown", [VSM_FLOW_REQUESTED] = "requested",
		[VSM_FLOW_ESTABLISHED] = "established", [VSM_FLOW_CLOSING] = "closing",
		[VSM_FLOW_CLOSED] = "closed", [VSM_FLOW_RESET] = "reset", [VSM_FLOW_REFUSED] = "refused",
	};

	return (unsigned)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
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
	for (size_t i = 0; i < max_flows; i++)
		t->slots[i].next = i + 1 < max_flows ? (uint32_t)(i + 1) : NIL;
	t->free_head = 0;
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

static void flow_start(struct vsm_flow *f, const struct vsm_pkt *p, const struct timespec *ts)
{
	memset(f, 0, sizeof(*f));
	f->key.cid[0] = p->src_cid;
	f->key.port[0] = p->src_port;
	f->key.cid[1] = p->dst_cid;
	f->key.port[1] = p->dst_port;
	f->type = p->virtio.type;
	/* Counters start at 0 with the connection (virtio spec 5.10.6.3): only then is credit known. */
	f->seen_start = p->virtio.op == VSM_OP_REQUEST || p->virtio.op == VSM_OP_RESPONSE;
	f->first = *ts;
}

static void apply_op(struct vsm_flow *f, int s, const struct vsm_virtio_hdr *h)
{
	switch (h->op) {
	case VSM_OP_REQUEST:
		f->state = VSM_FLOW_REQUESTED;
		break;
	case VSM_OP_RESPONSE:
		f->state = VSM_FLOW_ESTABLISHED;
		break;
	case VSM_OP_SHUTDOWN:
		f->side[s].shutdown |= h->flags & (VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND);
		if (!finished(f->state))
			f->state = VSM_FLOW_CLOSING;
		break;
	case VSM_OP_RST:
		if (f->state == VSM_FLOW_REQUESTED)
			f->state = VSM_FLOW_REFUSED;
		else if (f->state == VSM_FLOW_CLOSING)
			f->state = VSM_FLOW_CLOSED;
		else if (!finished(f->state))
			f->state = VSM_FLOW_RESET;
		break;
	case VSM_OP_RW:
		f->side[s].bytes += h->len;
		f->side[s].tx_cnt += h->len;
		break;
	default:
		break;
	}
	/*
	 * Every packet carries the sender's buf_alloc and fwd_cnt (5.10.6.3), except that an RST
	 * for a connection the peer does not have carries zeros: ignore RSTs here.
	 */
	if (h->op != VSM_OP_RST) {
		f->side[s].buf_alloc = h->buf_alloc;
		f->side[s].fwd_cnt = h->fwd_cnt;
		/*
		 * A receiver that shrinks its buffer cannot take back what it already allowed: data sent
		 * before the sender heard of the shrink is legitimate, so overruns are judged against the
		 * furthest point ever allowed (compared by subtraction: wrap-safe).
		 */
		if (!f->side[s].advertised || (int32_t)(h->fwd_cnt + h->buf_alloc - f->side[s].horizon) > 0)
			f->side[s].horizon = h->fwd_cnt + h->buf_alloc;
		f->side[s].advertised = true;
	}
}

const struct vsm_flow *vsm_flows_update(struct vsm_flows *t, const struct vsm_pkt *p,
					const struct timespec *ts, struct vsm_credit_view *ret_view)
{
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
		flow_start(&t->slots[i].flow, p, ts);
		lru_unlink(t, i);
		lru_append(t, i, LIST_OPEN);
	} else if (i == NIL) {
		size_t pos;

		if (t->count == t->max_flows)
			evict_one(t);
		i = t->free_head;
		t->free_head = t->slots[i].next;
		t->slots[i].used = true;
		t->slots[i].hash = hash;
		flow_start(&t->slots[i].flow, p, ts);
		pos = index_find(t, hash, p, &(uint32_t){ 0 });
		t->index[pos] = i;
		lru_append(t, i, LIST_OPEN);
		t->count++;
	} else {
		lru_unlink(t, i);
		lru_append(t, i, t->slots[i].list);
	}
	f = &t->slots[i].flow;
	s = side_of(f, p);
	peer = !s;
	f->last = *ts;
	f->side[s].pkts++;
	apply_op(f, s, &p->virtio);
	if (finished(f->state) && t->slots[i].list == LIST_OPEN) {
		lru_unlink(t, i);
		lru_append(t, i, LIST_DONE);
	}
	if (ret_view) {
		ret_view->side = s;
		ret_view->known = f->seen_start && f->side[peer].advertised;
		if (ret_view->known) {
			const struct vsm_flow_side *me = &f->side[s], *other = &f->side[peer];

			ret_view->in_flight = me->tx_cnt - other->fwd_cnt;
			ret_view->credit = vsm_credit(other->buf_alloc, me->tx_cnt, other->fwd_cnt);
			if (p->virtio.op == VSM_OP_RW && p->virtio.len) {
				ret_view->exceeded = (int32_t)(me->tx_cnt - other->horizon) > 0;
				ret_view->window_full = ret_view->credit <= 0 && !ret_view->exceeded;
			}
		}
	}
	return f;
}
