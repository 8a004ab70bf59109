/* SPDX-License-Identifier: GPL-2.0-or-later */
/* model.c: vsocktop's rows, rates, sort, filter, search, selection, per-CID counters and vsockdev's devices; no curses here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/print.h>
#include <vsockmon/strbuf.h>
#include <vsockmon/wire.h>

#include "device.h"
#include "model.h"

const struct top_col_info top_cols[TOP_COL_COUNT] = {
	[TOP_COL_ID] = { "ID", 4, true, 6 },
	[TOP_COL_A] = { "A", 6, false, 15 },
	[TOP_COL_B] = { "B", 6, false, 14 },
	[TOP_COL_TYPE] = { "TYPE", 4, false, 4 },
	[TOP_COL_STATE] = { "STATE", 11, false, 13 },
	[TOP_COL_PPS] = { "PKT/S", 6, true, 5 },
	[TOP_COL_RATE_AB] = { "A>B/S", 6, true, 12 },
	[TOP_COL_RATE_BA] = { "B>A/S", 6, true, 11 },
	[TOP_COL_BYTES] = { "BYTES", 6, true, 7 },
	[TOP_COL_INFLIGHT] = { "INFL", 6, true, 3 },
	[TOP_COL_CREDIT_A] = { "CRED-A", 6, true, 10 },
	[TOP_COL_CREDIT_B] = { "CRED-B", 6, true, 9 },
	[TOP_COL_STALL] = { "STALL", 7, true, 8 },
	[TOP_COL_STALL_TOTAL] = { "STALLT", 7, true, 2 },
	[TOP_COL_PROBLEMS] = { "PROBLEMS", 8, false, 1 },
};

const struct top_sort_info top_sorts[TOP_SORT_COUNT] = {
	[TOP_COL_ID] = { "id", "ID", false, { TOP_COL_ID, -1 } },
	[TOP_COL_A] = { "a", "A", false, { TOP_COL_A, -1 } },
	[TOP_COL_B] = { "b", "B", false, { TOP_COL_B, -1 } },
	[TOP_COL_TYPE] = { "type", "TYPE", false, { TOP_COL_TYPE, -1 } },
	[TOP_COL_STATE] = { "state", "STATE", false, { TOP_COL_STATE, -1 } },
	[TOP_COL_PPS] = { "pps", "PKT/S", true, { TOP_COL_PPS, -1 } },
	[TOP_COL_RATE_AB] = { "rate_ab", "A>B/S", true, { TOP_COL_RATE_AB, -1 } },
	[TOP_COL_RATE_BA] = { "rate_ba", "B>A/S", true, { TOP_COL_RATE_BA, -1 } },
	[TOP_COL_BYTES] = { "bytes", "BYTES", true, { TOP_COL_BYTES, -1 } },
	[TOP_COL_INFLIGHT] = { "inflight", "INFL", true, { TOP_COL_INFLIGHT, -1 } },
	[TOP_COL_CREDIT_A] = { "credit_a", "CRED-A", false, { TOP_COL_CREDIT_A, -1 } },
	[TOP_COL_CREDIT_B] = { "credit_b", "CRED-B", false, { TOP_COL_CREDIT_B, -1 } },
	[TOP_COL_STALL] = { "stall", "STALL", true, { TOP_COL_STALL, -1 } },
	[TOP_COL_STALL_TOTAL] = { "stall_total", "STALLT", true, { TOP_COL_STALL_TOTAL, -1 } },
	[TOP_COL_PROBLEMS] = { "problems", "PROBLEMS", true, { TOP_COL_PROBLEMS, -1 } },
	[TOP_SORT_RATE] = { "rate", "bytes/s", true, { TOP_COL_RATE_AB, TOP_COL_RATE_BA } },
	[TOP_SORT_CREDIT] = { "credit", "credit", false, { TOP_COL_CREDIT_A, TOP_COL_CREDIT_B } },
	[TOP_SORT_TROUBLE] = { "trouble", "trouble", true, { TOP_COL_STALL, TOP_COL_PROBLEMS } },
};

/* A flow's counters at the previous refresh, by flow id (ids start at 1: 0 marks an empty slot). */
struct prev_entry {
	uint64_t id;
	uint64_t pkts[2], bytes[2], stall_ns[2];
	enum vsm_flow_state state;
};

struct prev_map {
	struct prev_entry *slots;
	size_t mask;			/* slots - 1, a power of two minus one; 0 with no slots */
};

struct top_model {
	struct top_row *rows;
	size_t nrows, rows_cap;
	size_t *shown;			/* indexes into rows: those that pass the filter, in sort order */
	size_t nshown;
	struct prev_map prev;
	bool started;
	struct timespec prev_now;
	uint64_t prev_pkts, prev_bytes;
	int sort;
	bool reverse;
	struct vsm_filter *filter;
	char *filter_text;
	bool numeric;
	/* the selection: the connection followed, and where it is among the shown rows */
	bool has_sel;
	struct vsm_flow_key sel_key;
	long sel;
	bool has_detail;
	struct vsm_flow detail;		/* a copy: the display may be paused while the table changes */
	const struct vsm_flows *flows;	/* the table of the last refresh, for the detail of a new selection */
	struct top_totals totals;
	struct top_cid *cids;		/* sorted by cid */
	size_t ncids, cids_cap;
	struct top_devices dev;
	struct top_columns columns;
	bool tree;
};

int top_sort_from_name(const char *name)
{
	for (int i = 0; i < TOP_SORT_COUNT; i++)
		if (strcasecmp(name, top_sorts[i].name) == 0)
			return i;
	return -EINVAL;
}

void top_columns_default(struct top_columns *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (int c = 0; c < TOP_COL_COUNT; c++)
		ret->col[ret->n++] = c;
}

int top_columns_find(const struct top_columns *c, int col)
{
	for (int i = 0; i < c->n; i++)
		if (c->col[i] == col)
			return i;
	return -1;
}

void top_model_set_columns(struct top_model *m, const struct top_columns *cols)
{
	m->columns = *cols;
}

const struct top_columns *top_model_columns(const struct top_model *m)
{
	return &m->columns;
}

uint64_t top_row_tree_cid(const struct top_row *r)
{
	/* Guests have CIDs from 3 on; the host (2), local (1) and the hypervisor (0) are below. */
	return r->key.cid[0] > r->key.cid[1] ? r->key.cid[0] : r->key.cid[1];
}

void top_model_set_tree(struct top_model *m, bool tree)
{
	m->tree = tree;
	top_model_set_sort(m, m->sort, m->reverse);
}

bool top_model_tree(const struct top_model *m)
{
	return m->tree;
}

int top_model_new(struct top_model **ret_model)
{
	struct top_model *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->sort = TOP_SORT_TROUBLE;
	top_columns_default(&m->columns);
	m->sel = -1;
	m->filter_text = strdup("");
	if (!m->filter_text) {
		free(m);
		return -ENOMEM;
	}
	*ret_model = m;
	return 0;
}

void top_model_free(struct top_model *m)
{
	if (!m)
		return;
	free(m->rows);
	free(m->shown);
	free(m->prev.slots);
	vsm_filter_free(m->filter);
	free(m->filter_text);
	free(m->cids);
	free(m->dev.vm);
	free(m);
}

void top_model_start(struct top_model *m, const struct timespec *start)
{
	if (m->started)
		return;
	m->started = true;
	m->prev_now = *start;
	m->totals.now = *start;
}

void top_model_set_numeric(struct top_model *m, bool numeric)
{
	m->numeric = numeric;
}

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return ((int64_t)b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);
}

/* ---- previous counters by flow id ---- */

static uint64_t id_hash(uint64_t id)
{
	id *= 0x9e3779b97f4a7c15ull;
	return id ^ (id >> 32);
}

static struct prev_entry *prev_find(const struct prev_map *map, uint64_t id)
{
	if (!map->slots)
		return NULL;
	for (size_t pos = id_hash(id) & map->mask;; pos = (pos + 1) & map->mask) {
		if (map->slots[pos].id == id)
			return &map->slots[pos];
		if (map->slots[pos].id == 0)
			return NULL;
	}
}

static int prev_init(struct prev_map *map, size_t count)
{
	size_t n = 16;

	while (n < count * 2)
		n <<= 1;
	map->slots = calloc(n, sizeof(*map->slots));
	if (!map->slots)
		return -ENOMEM;
	map->mask = n - 1;
	return 0;
}

static struct prev_entry *prev_insert(struct prev_map *map, uint64_t id)
{
	size_t pos = id_hash(id) & map->mask;

	while (map->slots[pos].id != 0 && map->slots[pos].id != id)
		pos = (pos + 1) & map->mask;
	map->slots[pos].id = id;
	return &map->slots[pos];
}

/* ---- rows ---- */

static void endpoint_text(char *buf, size_t len, uint64_t cid, uint32_t port, bool numeric)
{
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	vsm_print_cid(&sb, cid, numeric);
	snprintf(buf, len, "%s:%u", sb.data ? sb.data : "?", port);
	vsm_sb_free(&sb);
}

/* The ops each side is known to have sent, from the flow's counters: what the filter's "op" tests. */
static void known_ops(const struct vsm_flow *f, uint8_t ops[2])
{
	bool finished = vsm_flow_finished(f);

	for (int s = 0; s < 2; s++) {
		const struct vsm_flow_side *d = &f->side[s];

		ops[s] = 0;
		if (d->rw_pkts)
			ops[s] |= 1u << VSM_OP_RW;
		if (d->shutdown)
			ops[s] |= 1u << VSM_OP_SHUTDOWN;
		if (d->credit_updates)
			ops[s] |= 1u << VSM_OP_CREDIT_UPDATE;
		if (d->credit_requests)
			ops[s] |= 1u << VSM_OP_CREDIT_REQUEST;
	}
	/* Side 0 sent the first packet seen: the REQUEST when the start was seen. */
	if (f->seen_start)
		ops[0] |= 1u << VSM_OP_REQUEST;
	if (f->seen_start && f->responded && f->state != VSM_FLOW_REFUSED)
		ops[1] |= 1u << VSM_OP_RESPONSE;
	/* The table does not say which side sent the RST, except that a refusal comes from the listener. */
	if (f->state == VSM_FLOW_REFUSED)
		ops[1] |= 1u << VSM_OP_RST;
	else if (finished)
		ops[0] |= 1u << VSM_OP_RST, ops[1] |= 1u << VSM_OP_RST;
}

static void fill_row(struct top_model *m, struct top_row *r, const struct vsm_flow *f, const struct timespec *now,
		     const struct prev_entry *prev, double seconds)
{
	memset(r, 0, sizeof(*r));
	r->key = f->key;
	r->id = f->id;
	r->type = f->type;
	r->state = f->state;
	r->problems = f->problems;
	known_ops(f, r->ops);
	for (int s = 0; s < 2; s++) {
		const struct vsm_flow_side *side = &f->side[s];
		struct top_dir *d = &r->dir[s];
		uint64_t dp = side->pkts - (prev ? prev->pkts[s] : 0);
		uint64_t db = side->bytes - (prev ? prev->bytes[s] : 0);

		endpoint_text(r->ep[s], sizeof(r->ep[s]), f->key.cid[s], f->key.port[s], m->numeric);
		d->pkts = side->pkts;
		d->bytes = side->bytes;
		/* A counter below its previous value means the id was reused: count from 0. */
		if (prev && (side->pkts < prev->pkts[s] || side->bytes < prev->bytes[s])) {
			dp = side->pkts;
			db = side->bytes;
		}
		d->pps = seconds > 0 ? (double)dp / seconds : 0;
		d->bps = seconds > 0 ? (double)db / seconds : 0;
		d->credit_known = vsm_flow_credit(f, s, &d->credit, &d->in_flight);
		d->stalled = side->stalled;
		if (side->stalled) {
			int64_t cur = ns_between(&side->stall_since, now);

			d->stall_now_ns = cur > 0 ? (uint64_t)cur : 0;
		}
		d->stall_ns = vsm_flow_stall_ns(f, s, now);
		r->rw_mean[s] = side->rw_pkts ? (uint32_t)(side->bytes / side->rw_pkts) : 0;
	}
}

static int rows_reserve(struct top_model *m, size_t n)
{
	struct top_row *rows;
	size_t *shown;

	if (n <= m->rows_cap)
		return 0;
	rows = realloc(m->rows, n * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	m->rows = rows;
	shown = realloc(m->shown, n * sizeof(*shown));
	if (!shown)
		return -ENOMEM;
	m->shown = shown;
	m->rows_cap = n;
	return 0;
}

/* ---- the filter on connections ---- */

/* A frame as the tap would show a packet of this connection: the filter reads nothing else. */
static void synth_frame(uint8_t frame[VSM_FRAME_HDR_LEN], const struct top_row *r, int s, uint16_t op, uint32_t len)
{
	struct vsm_virtio_hdr h = {
		.src_cid = r->key.cid[s], .dst_cid = r->key.cid[!s],
		.src_port = r->key.port[s], .dst_port = r->key.port[!s],
		.len = len, .type = r->type, .op = op,
	};
	uint16_t mon_op = vsm_mon_op_for(op);

	memset(frame, 0, VSM_MON_HDR_LEN);
	for (int i = 0; i < 8; i++) {
		frame[VSM_OFF_MON_SRC_CID + i] = (uint8_t)(h.src_cid >> (8 * i));
		frame[VSM_OFF_MON_DST_CID + i] = (uint8_t)(h.dst_cid >> (8 * i));
	}
	for (int i = 0; i < 4; i++) {
		frame[VSM_OFF_MON_SRC_PORT + i] = (uint8_t)(h.src_port >> (8 * i));
		frame[VSM_OFF_MON_DST_PORT + i] = (uint8_t)(h.dst_port >> (8 * i));
	}
	frame[VSM_OFF_MON_OP] = (uint8_t)mon_op;
	frame[VSM_OFF_MON_OP + 1] = (uint8_t)(mon_op >> 8);
	frame[VSM_OFF_MON_TRANSPORT] = VSM_MON_TRANSPORT_VIRTIO;
	frame[VSM_OFF_MON_LEN] = VSM_VIRTIO_HDR_LEN;
	vsm_encode_virtio_hdr(&h, frame + VSM_OFF_VIRTIO);
}

bool top_row_matches(const struct top_row *r, const struct vsm_filter *filter)
{
	uint8_t frame[VSM_FRAME_HDR_LEN];
	struct vsm_rec rec = { .data = frame, .cap_len = sizeof(frame), .wire_len = sizeof(frame) };

	if (!filter)
		return true;
	for (int s = 0; s < 2; s++) {
		for (uint16_t op = VSM_OP_REQUEST; op <= VSM_OP_MAX; op++) {
			if (!(r->ops[s] & (1u << op)))
				continue;
			synth_frame(frame, r, s, op, op == VSM_OP_RW ? r->rw_mean[s] : 0);
			if (vsm_filter_match(filter, &rec))
				return true;
		}
	}
	return false;
}

int top_model_set_filter(struct top_model *m, const char *expr, struct vsm_filter_error *ret_err)
{
	struct vsm_filter *filter = NULL;
	char *text;
	int ret;

	if (!expr)
		expr = "";
	ret = vsm_filter_compile(expr, VSM_DEFAULT_SNAPLEN, &filter, ret_err);
	if (ret < 0)
		return ret;
	text = strdup(expr);
	if (!text) {
		vsm_filter_free(filter);
		return -ENOMEM;
	}
	/* An expression that compiles to nothing ("", blanks) matches everything: no filter at all. */
	if (!*vsm_filter_pcap_text(filter)) {
		vsm_filter_free(filter);
		filter = NULL;
	}
	vsm_filter_free(m->filter);
	free(m->filter_text);
	m->filter = filter;
	m->filter_text = text;
	for (size_t i = 0; i < m->nrows; i++)
		m->rows[i].matched = top_row_matches(&m->rows[i], m->filter);
	top_model_set_sort(m, m->sort, m->reverse);
	return 0;
}

const char *top_model_filter(const struct top_model *m)
{
	return m->filter_text;
}

/* ---- sorting ---- */

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_double(double a, double b)
{
	return a < b ? -1 : a > b;
}

static int64_t credit_or_max(const struct top_dir *d)
{
	/* Unknown credit sorts after every known one in the natural (ascending) order. */
	return d->credit_known ? d->credit : INT64_MAX;
}

static int64_t in_flight_sum(const struct top_row *r)
{
	int64_t sum = -1;

	for (int s = 0; s < 2; s++)
		if (r->dir[s].credit_known)
			sum = (sum < 0 ? 0 : sum) + r->dir[s].in_flight;
	return sum;
}

/* A connection in trouble other than a stall now: a problem flag, or an end by reset or refusal. */
static bool troubled(const struct top_row *r)
{
	return r->problems || r->state == VSM_FLOW_RESET || r->state == VSM_FLOW_REFUSED;
}

static uint64_t stall_now(const struct top_row *r)
{
	return r->dir[0].stall_now_ns > r->dir[1].stall_now_ns ? r->dir[0].stall_now_ns : r->dir[1].stall_now_ns;
}

static int cmp_key(const struct top_row *a, const struct top_row *b, int key)
{
	switch (key) {
	case TOP_COL_ID:
		return cmp_u64(a->id, b->id);
	case TOP_COL_A:
	case TOP_COL_B: {
		int s = key == TOP_COL_B;
		int c = cmp_u64(a->key.cid[s], b->key.cid[s]);

		return c ? c : cmp_u64(a->key.port[s], b->key.port[s]);
	}
	case TOP_COL_TYPE:
		return cmp_u64(a->type, b->type);
	case TOP_COL_STATE:
		return strcmp(vsm_flow_state_name(a->state), vsm_flow_state_name(b->state));
	case TOP_COL_PPS:
		return cmp_double(a->dir[0].pps + a->dir[1].pps, b->dir[0].pps + b->dir[1].pps);
	case TOP_COL_RATE_AB:
		return cmp_double(a->dir[0].bps, b->dir[0].bps);
	case TOP_COL_RATE_BA:
		return cmp_double(a->dir[1].bps, b->dir[1].bps);
	case TOP_COL_BYTES:
		return cmp_u64(a->dir[0].bytes + a->dir[1].bytes, b->dir[0].bytes + b->dir[1].bytes);
	case TOP_COL_INFLIGHT:
		return cmp_i64(in_flight_sum(a), in_flight_sum(b));
	case TOP_COL_CREDIT_A:
		return cmp_i64(credit_or_max(&a->dir[0]), credit_or_max(&b->dir[0]));
	case TOP_COL_CREDIT_B:
		return cmp_i64(credit_or_max(&a->dir[1]), credit_or_max(&b->dir[1]));
	case TOP_COL_STALL: {
		uint64_t x = a->dir[0].stall_now_ns > a->dir[1].stall_now_ns ? a->dir[0].stall_now_ns : a->dir[1].stall_now_ns;
		uint64_t y = b->dir[0].stall_now_ns > b->dir[1].stall_now_ns ? b->dir[0].stall_now_ns : b->dir[1].stall_now_ns;
		int c = cmp_u64(x, y);

		/* Stalled now first; among the rest, those that stalled longest. */
		return c ? c : cmp_key(a, b, TOP_COL_STALL_TOTAL);
	}
	case TOP_COL_STALL_TOTAL:
		return cmp_u64(a->dir[0].stall_ns + a->dir[1].stall_ns, b->dir[0].stall_ns + b->dir[1].stall_ns);
	case TOP_COL_PROBLEMS: {
		int c = cmp_u64((uint64_t)__builtin_popcount(a->problems), (uint64_t)__builtin_popcount(b->problems));

		return c ? c : cmp_u64(a->problems, b->problems);
	}
	case TOP_SORT_RATE:
		return cmp_double(a->dir[0].bps + a->dir[1].bps, b->dir[0].bps + b->dir[1].bps);
	case TOP_SORT_TROUBLE: {
		/* As top puts the busiest first, the connections a user came to look at: stalled now
		   (longest first), then the others with a problem, each group by bytes/s. */
		int c = cmp_u64(stall_now(a) > 0, stall_now(b) > 0);

		if (!c)
			c = cmp_u64(stall_now(a), stall_now(b));
		if (!c)
			c = cmp_u64(troubled(a), troubled(b));
		return c ? c : cmp_key(a, b, TOP_SORT_RATE);
	}
	case TOP_SORT_CREDIT: {
		int64_t x = credit_or_max(&a->dir[0]) < credit_or_max(&a->dir[1]) ? credit_or_max(&a->dir[0]) : credit_or_max(&a->dir[1]);
		int64_t y = credit_or_max(&b->dir[0]) < credit_or_max(&b->dir[1]) ? credit_or_max(&b->dir[0]) : credit_or_max(&b->dir[1]);

		return cmp_i64(x, y);
	}
	default:
		return 0;
	}
}

static int cmp_shown(const void *pa, const void *pb, void *ctx)
{
	const struct top_model *m = ctx;
	const struct top_row *a = &m->rows[*(const size_t *)pa], *b = &m->rows[*(const size_t *)pb];
	int c = m->tree ? cmp_u64(top_row_tree_cid(a), top_row_tree_cid(b)) : 0;

	if (c)
		return c;	/* the tree's groups by CID, whatever the order within them */
	c = cmp_key(a, b, m->sort);
	if (top_model_sort_descending(m))
		c = -c;
	/* Ties in the order the connections were first seen, whatever the direction: stable frames. */
	return c ? c : cmp_u64(a->id, b->id);
}

/* Copies the selected connection for the detail view. */
static void copy_detail(struct top_model *m)
{
	const struct vsm_flow *f = m->has_sel && m->flows ? vsm_flows_find(m->flows, &m->sel_key) : NULL;

	m->has_detail = f != NULL;
	if (f)
		m->detail = *f;
}

/* Puts the selection back on its connection, or, when it is gone, on the row now at its place. */
static void reselect(struct top_model *m)
{
	if (!m->nshown) {
		m->sel = -1;
		return;
	}
	if (m->has_sel) {
		for (size_t i = 0; i < m->nshown; i++) {
			const struct vsm_flow_key *k = &m->rows[m->shown[i]].key;

			if (memcmp(k, &m->sel_key, sizeof(*k)) == 0) {
				m->sel = (long)i;
				return;
			}
		}
	}
	top_model_select(m, m->sel < 0 ? 0 : m->sel);
}

void top_model_set_sort(struct top_model *m, int key, bool reverse)
{
	if (key < 0 || key >= TOP_SORT_COUNT)
		key = TOP_SORT_TROUBLE;
	m->sort = key;
	m->reverse = reverse;
	m->nshown = 0;
	for (size_t i = 0; i < m->nrows; i++)
		if (m->rows[i].matched)
			m->shown[m->nshown++] = i;
	if (m->nshown > 1)
		qsort_r(m->shown, m->nshown, sizeof(*m->shown), cmp_shown, m);
	reselect(m);
}

int top_model_sort_key(const struct top_model *m)
{
	return m->sort;
}

bool top_model_sort_reverse(const struct top_model *m)
{
	return m->reverse;
}

bool top_model_sort_descending(const struct top_model *m)
{
	return top_sorts[m->sort].descending != m->reverse;
}

/* ---- per-CID counters ---- */

static int cmp_cid(const void *key, const void *elem)
{
	uint64_t cid = *(const uint64_t *)key;
	const struct top_cid *c = elem;

	return cid < c->cid ? -1 : cid > c->cid;
}

static struct top_cid *cid_get(struct top_model *m, uint64_t cid)
{
	/* bsearch() must not be given a NULL array, even an empty one */
	struct top_cid *c = m->ncids ? bsearch(&cid, m->cids, m->ncids, sizeof(*m->cids), cmp_cid) : NULL;
	size_t pos = 0;

	if (c)
		return c;
	if (m->ncids == m->cids_cap) {
		size_t cap = m->cids_cap ? m->cids_cap * 2 : 16;
		struct top_cid *cids = realloc(m->cids, cap * sizeof(*cids));

		if (!cids)
			return NULL;
		m->cids = cids;
		m->cids_cap = cap;
	}
	while (pos < m->ncids && m->cids[pos].cid < cid)
		pos++;
	memmove(&m->cids[pos + 1], &m->cids[pos], (m->ncids - pos) * sizeof(*m->cids));
	memset(&m->cids[pos], 0, sizeof(*m->cids));
	m->cids[pos].cid = cid;
	m->ncids++;
	return &m->cids[pos];
}

static uint64_t delta(uint64_t now, uint64_t before)
{
	/* A counter that went back belongs to a new connection on a reused id slot: it all counts. */
	return now >= before ? now - before : now;
}

/* Adds one row's share to its CIDs: each side's sending is its CID's tx and the peer CID's rx. */
static int cid_account(struct top_model *m, const struct top_row *r, const struct vsm_flow *f,
		       const struct prev_entry *prev)
{
	bool stalled = r->dir[0].stalled || r->dir[1].stalled;

	for (int s = 0; s < 2; s++) {
		struct top_cid *c = cid_get(m, r->key.cid[s]);

		if (!c)
			return -ENOMEM;
		for (int d = 0; d < 2; d++) {
			/* d == s: what this side sent; otherwise what it received */
			uint64_t bytes = delta(f->side[d].bytes, prev ? prev->bytes[d] : 0);
			uint64_t pkts = delta(f->side[d].pkts, prev ? prev->pkts[d] : 0);

			if (d == s) {
				c->tx_bytes += bytes;
				c->tx_pkts += pkts;
				c->tx_bps += r->dir[d].bps;
				c->tx_pps += r->dir[d].pps;
				c->stall_ns += delta(r->dir[d].stall_ns, prev ? prev->stall_ns[d] : 0);
			} else {
				c->rx_bytes += bytes;
				c->rx_pkts += pkts;
				c->rx_bps += r->dir[d].bps;
				c->rx_pps += r->dir[d].pps;
			}
		}
		/* A connection within one CID (loopback) is one connection of that CID, not two. */
		if (s == 1 && r->key.cid[1] == r->key.cid[0])
			continue;
		c->conns++;
		c->open += !vsm_flow_finished(f);
		c->stalled += stalled;
		c->with_problems += r->problems != 0;
		c->conns_total += !prev;
		if (r->state == VSM_FLOW_RESET && (!prev || prev->state != VSM_FLOW_RESET))
			c->resets++;
		if (r->state == VSM_FLOW_REFUSED && (!prev || prev->state != VSM_FLOW_REFUSED))
			c->refused++;
	}
	return 0;
}

/* ---- refresh ---- */

int top_model_refresh(struct top_model *m, const struct vsm_flows *flows, const struct timespec *now,
		      const struct top_source_stats *src)
{
	size_t n = vsm_flows_count(flows);
	const struct vsm_flow **list = malloc((n ? n : 1) * sizeof(*list));
	struct prev_map next = { 0 };
	double seconds;
	int ret = -ENOMEM;

	if (!list || rows_reserve(m, n) < 0 || prev_init(&next, n) < 0)
		goto out;
	if (!m->started)
		top_model_start(m, now);
	seconds = (double)ns_between(&m->prev_now, now) / 1e9;
	if (seconds < 0)
		seconds = 0;
	n = vsm_flows_list(flows, list, n);
	for (size_t i = 0; i < m->ncids; i++) {
		struct top_cid *c = &m->cids[i];

		c->conns = c->open = c->stalled = c->with_problems = 0;
		c->tx_bps = c->rx_bps = c->tx_pps = c->rx_pps = 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct vsm_flow *f = list[i];
		const struct prev_entry *prev = prev_find(&m->prev, f->id);
		struct top_row *r = &m->rows[i];
		struct prev_entry *e = prev_insert(&next, f->id);

		fill_row(m, r, f, now, prev, seconds);
		r->matched = top_row_matches(r, m->filter);
		if (r->matched && cid_account(m, r, f, prev) < 0)
			goto out;
		for (int s = 0; s < 2; s++) {
			e->pkts[s] = f->side[s].pkts;
			e->bytes[s] = f->side[s].bytes;
			e->stall_ns[s] = r->dir[s].stall_ns;
		}
		e->state = f->state;
	}
	m->nrows = n;
	free(m->prev.slots);
	m->prev = next;
	next.slots = NULL;

	vsm_flows_totals(flows, &m->totals.t);
	m->totals.with_problems = 0;
	for (size_t i = 0; i < n; i++)
		m->totals.with_problems += m->rows[i].problems != 0;
	m->totals.interval = seconds;
	m->totals.pps = seconds > 0 ? (double)(m->totals.t.pkts - m->prev_pkts) / seconds : 0;
	m->totals.bps = seconds > 0 ? (double)(m->totals.t.bytes - m->prev_bytes) / seconds : 0;
	m->totals.now = *now;
	m->totals.refreshes++;
	if (src)
		m->totals.src = *src;
	m->prev_pkts = m->totals.t.pkts;
	m->prev_bytes = m->totals.t.bytes;
	m->prev_now = *now;

	m->flows = flows;
	top_model_set_sort(m, m->sort, m->reverse);
	copy_detail(m);
	ret = 0;
out:
	free(next.slots);
	free(list);
	return ret;
}

/* ---- access, selection, search ---- */

size_t top_model_count(const struct top_model *m)
{
	return m->nshown;
}

size_t top_model_total(const struct top_model *m)
{
	return m->nrows;
}

const struct top_row *top_model_row(const struct top_model *m, size_t index)
{
	return index < m->nshown ? &m->rows[m->shown[index]] : NULL;
}

long top_model_selected(const struct top_model *m)
{
	return m->nshown ? m->sel : -1;
}

void top_model_select(struct top_model *m, long index)
{
	if (!m->nshown) {
		m->sel = -1;
		return;
	}
	if (index < 0)
		index = 0;
	if ((size_t)index >= m->nshown)
		index = (long)m->nshown - 1;
	if (m->has_sel && m->sel == index && !memcmp(&m->sel_key, &m->rows[m->shown[index]].key, sizeof(m->sel_key)))
		return;
	m->sel = index;
	m->sel_key = m->rows[m->shown[index]].key;
	m->has_sel = true;
	copy_detail(m);
}

void top_model_move(struct top_model *m, long delta_rows)
{
	long sel = m->sel < 0 ? 0 : m->sel;

	/* Clamp before adding so that a huge step (End: LONG_MAX) cannot overflow. */
	if (delta_rows > (long)m->nshown)
		delta_rows = (long)m->nshown;
	if (delta_rows < -(long)m->nshown)
		delta_rows = -(long)m->nshown;
	top_model_select(m, sel + delta_rows);
}

bool top_model_selected_key(const struct top_model *m, struct vsm_flow_key *ret_key)
{
	if (!m->has_sel)
		return false;
	*ret_key = m->sel_key;
	return true;
}

static bool row_contains(const struct top_row *r, const char *text)
{
	const char *type = vsm_type_name(r->type);

	if (strcasestr(r->ep[0], text) || strcasestr(r->ep[1], text) ||
	    strcasestr(vsm_flow_state_name(r->state), text) || (type && strcasestr(type, text)))
		return true;
	for (unsigned p = 0; p < VSM_FP_COUNT; p++)
		if ((r->problems & (1u << p)) && strcasestr(vsm_flow_problem_name(p), text))
			return true;
	return false;
}

long top_model_search(const struct top_model *m, const char *text, long from, int dir)
{
	long n = (long)m->nshown;

	if (!n || !text || !*text)
		return -1;
	if (from < 0 || from >= n)
		from = dir < 0 ? n - 1 : 0;
	for (long k = 0; k < n; k++) {
		long i = ((from + (dir < 0 ? -k : k)) % n + n) % n;

		if (row_contains(&m->rows[m->shown[i]], text))
			return i;
	}
	return -1;
}

const struct vsm_flow *top_model_detail(const struct top_model *m)
{
	return m->has_detail ? &m->detail : NULL;
}

const struct top_totals *top_model_totals(const struct top_model *m)
{
	return &m->totals;
}

size_t top_model_cid_count(const struct top_model *m)
{
	return m->ncids;
}

const struct top_cid *top_model_cid(const struct top_model *m, size_t index)
{
	return index < m->ncids ? &m->cids[index] : NULL;
}

/* ---- vsockdev's statistics ---- */

int top_model_set_devices_json(struct top_model *m, const char *text, size_t len, const struct timespec *mono_now,
			       char *err, size_t errlen)
{
	struct top_devices dev;
	int ret = top_devices_parse(text, len, &m->dev, mono_now, &dev, err, errlen);

	if (ret < 0) {
		top_model_set_devices_error(m, err);
		return ret;
	}
	free(m->dev.vm);
	m->dev = dev;
	return 0;
}

void top_model_set_devices_error(struct top_model *m, const char *msg)
{
	snprintf(m->dev.error, sizeof(m->dev.error), "%s", msg ? msg : "");
}

const struct top_devices *top_model_devices(const struct top_model *m)
{
	return &m->dev;
}
