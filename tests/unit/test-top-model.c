/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-top-model.c: vsocktop's model without a terminal: rates, every sort key, filter, search, selection, per-CID, devices, keys. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsockmon/decode.h>
#include <vsockmon/flow.h>
#include <vsockmon/wire.h>

#include "frame.h"
#include "keys.h"
#include "model.h"
#include "prom.h"
#include "rc.h"
#include "testutil.h"

struct ep {
	uint64_t cid;
	uint32_t port;
};

/* One packet from a to b at time t (seconds). */
static void feed(struct vsm_flows *t, double when, struct ep a, struct ep b, uint16_t type, uint16_t op, uint32_t len,
		 uint32_t buf_alloc, uint32_t fwd_cnt)
{
	uint8_t buf[128];
	struct tu_frame f = { .src_cid = a.cid, .src_port = a.port, .dst_cid = b.cid, .dst_port = b.port,
			      .type = type, .op = op, .len = len, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p;
	struct timespec ts = { (time_t)when, (long)llround((when - (double)(time_t)when) * 1e9) };

	assert_int_equal(vsm_decode(buf, (uint32_t)n, (uint32_t)n + len, &p), 0);
	assert_non_null(vsm_flows_update(t, &p, &ts, NULL));
}

static const struct ep g3 = { 3, 1000 }, g4 = { 4, 2000 }, g5 = { 5, 3000 }, g6 = { 6, 4000 };
static const struct ep h500 = { 2, 500 }, h600 = { 2, 600 }, h700 = { 2, 700 }, h800 = { 2, 800 };

/*
 * Four connections that differ in every column:
 *   1: 3:1000 <> 2:500 STREAM: 3 sends 20000 then 30000 bytes; the host reads all of it
 *   2: 4:2000 <> 2:600 SEQPACKET: a message each way, 100 and 5000 bytes; the guest asks for credit
 *   3: 5:3000 <> 2:700 STREAM: refused
 *   4: 6:4000 <> 2:800 STREAM: 6 fills the host's 8 KiB window and stays stalled; RST without SHUTDOWN later
 */
static void scenario_first_second(struct vsm_flows *t)
{
	feed(t, 1.0, g3, h500, VSM_TYPE_STREAM, VSM_OP_REQUEST, 0, 65536, 0);
	feed(t, 1.001, h500, g3, VSM_TYPE_STREAM, VSM_OP_RESPONSE, 0, 65536, 0);
	feed(t, 1.1, g3, h500, VSM_TYPE_STREAM, VSM_OP_RW, 20000, 65536, 0);
	feed(t, 1.2, h500, g3, VSM_TYPE_STREAM, VSM_OP_CREDIT_UPDATE, 0, 65536, 20000);

	feed(t, 1.3, g4, h600, VSM_TYPE_SEQPACKET, VSM_OP_REQUEST, 0, 262144, 0);
	feed(t, 1.301, h600, g4, VSM_TYPE_SEQPACKET, VSM_OP_RESPONSE, 0, 262144, 0);
	feed(t, 1.4, g4, h600, VSM_TYPE_SEQPACKET, VSM_OP_RW, 100, 262144, 0);
	feed(t, 1.5, h600, g4, VSM_TYPE_SEQPACKET, VSM_OP_RW, 5000, 262144, 100);
	feed(t, 1.6, g4, h600, VSM_TYPE_SEQPACKET, VSM_OP_CREDIT_REQUEST, 0, 262144, 5000);

	feed(t, 1.7, g5, h700, VSM_TYPE_STREAM, VSM_OP_REQUEST, 0, 262144, 0);
	feed(t, 1.701, h700, g5, VSM_TYPE_STREAM, VSM_OP_RST, 0, 0, 0);

	feed(t, 1.8, g6, h800, VSM_TYPE_STREAM, VSM_OP_REQUEST, 0, 262144, 0);
	feed(t, 1.801, h800, g6, VSM_TYPE_STREAM, VSM_OP_RESPONSE, 0, 8192, 0);
	feed(t, 1.9, g6, h800, VSM_TYPE_STREAM, VSM_OP_RW, 8192, 262144, 0);
}

static void scenario_next_second(struct vsm_flows *t)
{
	feed(t, 2.5, g3, h500, VSM_TYPE_STREAM, VSM_OP_RW, 30000, 65536, 0);
	feed(t, 2.6, h500, g3, VSM_TYPE_STREAM, VSM_OP_CREDIT_UPDATE, 0, 65536, 50000);
}

struct fixture {
	struct vsm_flows *flows;
	struct top_model *m;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(vsm_flows_new(64, &fx->flows), 0);
	assert_int_equal(top_model_new(&fx->m), 0);
	top_model_set_numeric(fx->m, true);
	top_model_start(fx->m, &(struct timespec){ 1, 0 });
	scenario_first_second(fx->flows);
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 2, 0 }, NULL), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	top_model_free(fx->m);
	vsm_flows_free(fx->flows);
	free(fx);
	return 0;
}

static const struct top_row *row_by_id(const struct top_model *m, uint64_t id)
{
	for (size_t i = 0; i < top_model_count(m); i++)
		if (top_model_row(m, i)->id == id)
			return top_model_row(m, i);
	return NULL;
}

static void test_rates_between_refreshes(void **state)
{
	struct fixture *fx = *state;
	const struct top_row *r = row_by_id(fx->m, 1);
	const struct top_totals *tot = top_model_totals(fx->m);

	assert_int_equal(top_model_total(fx->m), 4);
	assert_non_null(r);
	/* First interval: from the start (1.0) to 2.0, one second. */
	assert_true(fabs(tot->interval - 1.0) < 1e-9);
	assert_true(fabs(r->dir[0].bps - 20000.0) < 1e-6);
	assert_true(fabs(r->dir[0].pps - 2.0) < 1e-6);	/* REQUEST and RW */
	assert_true(fabs(r->dir[1].pps - 2.0) < 1e-6);	/* RESPONSE and CREDIT_UPDATE */
	assert_int_equal(tot->t.pkts, 14);
	assert_true(fabs(tot->pps - 14.0) < 1e-9);
	assert_true(fabs(tot->bps - 33292.0) < 1e-9);	/* 20000 + 100 + 5000 + 8192 */

	/* Next refresh half a second of new traffic later, at 4.0: 30000 bytes over 2 s. */
	scenario_next_second(fx->flows);
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 4, 0 }, NULL), 0);
	r = row_by_id(fx->m, 1);
	assert_true(fabs(top_model_totals(fx->m)->interval - 2.0) < 1e-9);
	assert_true(fabs(r->dir[0].bps - 15000.0) < 1e-6);
	assert_true(fabs(r->dir[0].pps - 0.5) < 1e-6);
	assert_int_equal(r->dir[0].bytes, 50000);
	/* Connections without new traffic have no rate. */
	assert_true(row_by_id(fx->m, 2)->dir[1].bps == 0);
	assert_true(fabs(top_model_totals(fx->m)->bps - 15000.0) < 1e-9);
	/* A refresh at the same time: no interval, rates 0, counters unchanged. */
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 4, 0 }, NULL), 0);
	assert_true(row_by_id(fx->m, 1)->dir[0].bps == 0);
	assert_int_equal(row_by_id(fx->m, 1)->dir[0].bytes, 50000);
}

static void test_row_contents(void **state)
{
	struct fixture *fx = *state;
	const struct top_row *r4 = row_by_id(fx->m, 4), *r3 = row_by_id(fx->m, 3), *r2 = row_by_id(fx->m, 2);

	assert_string_equal(r4->ep[0], "6:4000");
	assert_string_equal(r4->ep[1], "2:800");
	assert_true(r4->dir[0].stalled);
	assert_true(r4->dir[0].credit_known);
	assert_int_equal(r4->dir[0].credit, 0);
	assert_int_equal(r4->dir[0].in_flight, 8192);
	/* stalled since 1.9, the refresh is at 2.0 */
	assert_int_equal(r4->dir[0].stall_now_ns, 100000000);
	assert_int_equal(r3->state, VSM_FLOW_REFUSED);
	assert_false(r3->dir[0].credit_known);
	assert_int_equal(r2->type, VSM_TYPE_SEQPACKET);
	/* each side's data was all consumed (the peer's fwd_cnt caught up): the whole buffer is free */
	assert_int_equal(r2->dir[0].in_flight, 0);
	assert_int_equal(r2->dir[0].credit, 262144);
	assert_int_equal(r2->dir[1].credit, 262144);
	assert_int_equal(top_model_totals(fx->m)->t.stalled, 1);
}

/* The value a sort key orders by, computed here apart from the model: the reference for the sort test. */
static double key_value(const struct top_row *r, int key)
{
	double c0 = r->dir[0].credit_known ? (double)r->dir[0].credit : INFINITY;
	double c1 = r->dir[1].credit_known ? (double)r->dir[1].credit : INFINITY;
	double s0 = (double)r->dir[0].stall_now_ns, s1 = (double)r->dir[1].stall_now_ns;

	switch (key) {
	case TOP_COL_ID: return (double)r->id;
	case TOP_COL_A: return (double)r->key.cid[0] * 1e10 + r->key.port[0];
	case TOP_COL_B: return (double)r->key.cid[1] * 1e10 + r->key.port[1];
	case TOP_COL_TYPE: return r->type;
	case TOP_COL_STATE: return 0;	/* by name: checked apart */
	case TOP_COL_PPS: return r->dir[0].pps + r->dir[1].pps;
	case TOP_COL_RATE_AB: return r->dir[0].bps;
	case TOP_COL_RATE_BA: return r->dir[1].bps;
	case TOP_COL_BYTES: return (double)(r->dir[0].bytes + r->dir[1].bytes);
	case TOP_COL_INFLIGHT:
		return !r->dir[0].credit_known && !r->dir[1].credit_known ? -1 :
		       (double)((r->dir[0].credit_known ? r->dir[0].in_flight : 0) +
				(r->dir[1].credit_known ? r->dir[1].in_flight : 0));
	case TOP_COL_CREDIT_A: return c0;
	case TOP_COL_CREDIT_B: return c1;
	case TOP_COL_STALL: return (s0 > s1 ? s0 : s1) * 1e6 + (double)(r->dir[0].stall_ns + r->dir[1].stall_ns) / 1e9;
	case TOP_COL_STALL_TOTAL: return (double)(r->dir[0].stall_ns + r->dir[1].stall_ns);
	case TOP_COL_PROBLEMS: return __builtin_popcount(r->problems) * 1e10 + r->problems;
	case TOP_SORT_RATE: return r->dir[0].bps + r->dir[1].bps;
	case TOP_SORT_CREDIT: return c0 < c1 ? c0 : c1;
	case TOP_SORT_TROUBLE: {
		/* Stalled now (longest first), then any other trouble, then bytes/s. */
		double stall = s0 > s1 ? s0 : s1, rate = r->dir[0].bps + r->dir[1].bps;
		bool other = r->problems || r->state == VSM_FLOW_RESET || r->state == VSM_FLOW_REFUSED;

		return stall > 0 ? 2e15 + stall : other ? 1e15 + rate : rate;
	}
	default: fail(); return 0;
	}
}

static void check_order(const struct top_model *m, int key, bool descending)
{
	for (size_t i = 1; i < top_model_count(m); i++) {
		const struct top_row *a = top_model_row(m, i - 1), *b = top_model_row(m, i);
		double x = key_value(a, key), y = key_value(b, key);
		int c = key == TOP_COL_STATE ? strcmp(vsm_flow_state_name(a->state), vsm_flow_state_name(b->state))
					     : (x > y) - (x < y);

		if (descending)
			c = -c;
		if (c > 0)
			fail_msg("sort %s: row %zu (id %llu) before row %zu (id %llu) out of order", top_sorts[key].name,
				 i - 1, (unsigned long long)a->id, i, (unsigned long long)b->id);
		/* ties in the order first seen, whatever the direction */
		if (c == 0 && a->id > b->id)
			fail_msg("sort %s: a tie not in id order", top_sorts[key].name);
	}
}

static void test_every_sort_key_and_reverse(void **state)
{
	struct fixture *fx = *state;

	scenario_next_second(fx->flows);
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 3, 0 }, NULL), 0);
	for (int key = 0; key < TOP_SORT_COUNT; key++) {
		top_model_set_sort(fx->m, key, false);
		assert_int_equal(top_model_sort_key(fx->m), key);
		assert_int_equal(top_model_sort_descending(fx->m), top_sorts[key].descending);
		check_order(fx->m, key, top_sorts[key].descending);
		top_model_set_sort(fx->m, key, true);
		assert_int_equal(top_model_sort_descending(fx->m), !top_sorts[key].descending);
		check_order(fx->m, key, !top_sorts[key].descending);
		assert_int_equal(top_sort_from_name(top_sorts[key].name), key);
	}
	assert_int_equal(top_sort_from_name("nonsense"), -EINVAL);

	/* A few orders written out: they are what a user sees first. */
	top_model_set_sort(fx->m, TOP_SORT_RATE, false);	/* only 1 moved data since 2.0 */
	assert_int_equal(top_model_row(fx->m, 0)->id, 1);
	assert_int_equal(top_model_row(fx->m, 1)->id, 2);	/* ties: by id */
	/* The default: the stalled one, the refused one, then by bytes/s (1 moved data, 2 did not). */
	{
		struct top_model *fresh;

		assert_int_equal(top_model_new(&fresh), 0);
		assert_int_equal(top_model_sort_key(fresh), TOP_SORT_TROUBLE);
		assert_true(top_model_sort_descending(fresh));
		top_model_free(fresh);
	}
	top_model_set_sort(fx->m, TOP_SORT_TROUBLE, false);
	assert_int_equal(top_model_row(fx->m, 0)->id, 4);
	assert_int_equal(top_model_row(fx->m, 1)->id, 3);
	assert_int_equal(top_model_row(fx->m, 2)->id, 1);
	assert_int_equal(top_model_row(fx->m, 3)->id, 2);
	assert_int_equal(top_model_totals(fx->m)->with_problems, 2);
	top_model_set_sort(fx->m, TOP_SORT_CREDIT, false);	/* the stalled one first, the refused one last */
	assert_int_equal(top_model_row(fx->m, 0)->id, 4);
	assert_int_equal(top_model_row(fx->m, 3)->id, 3);
	top_model_set_sort(fx->m, TOP_COL_STALL, false);
	assert_int_equal(top_model_row(fx->m, 0)->id, 4);
	top_model_set_sort(fx->m, TOP_COL_BYTES, false);	/* 50000, 5100, 8192, 0 */
	assert_int_equal(top_model_row(fx->m, 0)->id, 1);
	assert_int_equal(top_model_row(fx->m, 1)->id, 4);
	assert_int_equal(top_model_row(fx->m, 2)->id, 2);
	assert_int_equal(top_model_row(fx->m, 3)->id, 3);
	top_model_set_sort(fx->m, TOP_COL_BYTES, true);
	assert_int_equal(top_model_row(fx->m, 0)->id, 3);
	assert_int_equal(top_model_row(fx->m, 3)->id, 1);
	top_model_set_sort(fx->m, TOP_COL_TYPE, true);	/* SEQPACKET first */
	assert_int_equal(top_model_row(fx->m, 0)->id, 2);
}

static void test_filter(void **state)
{
	struct fixture *fx = *state;
	struct vsm_filter_error err;

	assert_int_equal(top_model_set_filter(fx->m, "port 500", &err), 0);
	assert_int_equal(top_model_count(fx->m), 1);
	assert_int_equal(top_model_row(fx->m, 0)->id, 1);
	assert_int_equal(top_model_total(fx->m), 4);
	/* Either end, a CID: the host is in all four. */
	assert_int_equal(top_model_set_filter(fx->m, "cid 2", &err), 0);
	assert_int_equal(top_model_count(fx->m), 4);
	assert_int_equal(top_model_set_filter(fx->m, "src cid 5 or dst port 3000", &err), 0);
	assert_int_equal(top_model_count(fx->m), 1);
	assert_int_equal(top_model_row(fx->m, 0)->id, 3);
	/* Ops the connection has sent: an RST (the refusal), a CREDIT_REQUEST, an RW. */
	assert_int_equal(top_model_set_filter(fx->m, "op rst", &err), 0);
	assert_int_equal(top_model_count(fx->m), 1);
	assert_int_equal(top_model_row(fx->m, 0)->id, 3);
	assert_int_equal(top_model_set_filter(fx->m, "op credit_request", &err), 0);
	assert_int_equal(top_model_count(fx->m), 1);
	assert_int_equal(top_model_row(fx->m, 0)->id, 2);
	assert_int_equal(top_model_set_filter(fx->m, "type seqpacket and port 600", &err), 0);
	assert_int_equal(top_model_count(fx->m), 1);
	assert_int_equal(top_model_set_filter(fx->m, "op rw and len > 6000", &err), 0);
	assert_int_equal(top_model_count(fx->m), 2);	/* 20000 and 8192 */
	/* Nothing matches: an empty table, not an error. */
	assert_int_equal(top_model_set_filter(fx->m, "port 9", &err), 0);
	assert_int_equal(top_model_count(fx->m), 0);
	assert_int_equal(top_model_selected(fx->m), -1);
	/* A bad expression: an error pointing at the word, and the previous filter stays. */
	assert_int_equal(top_model_set_filter(fx->m, "port nine", &err), -EINVAL);
	assert_int_equal(err.pos, 5);
	assert_non_null(strstr(err.msg, "nine"));
	assert_string_equal(top_model_filter(fx->m), "port 9");
	assert_int_equal(top_model_count(fx->m), 0);
	assert_int_equal(top_model_set_filter(fx->m, "cid 3 and", &err), -EINVAL);
	/* Clearing it. */
	assert_int_equal(top_model_set_filter(fx->m, "", &err), 0);
	assert_int_equal(top_model_count(fx->m), 4);
	assert_string_equal(top_model_filter(fx->m), "");
	/* The filter holds across refreshes and for new connections. */
	assert_int_equal(top_model_set_filter(fx->m, "cid 7", &err), 0);
	feed(fx->flows, 2.5, (struct ep){ 7, 1 }, h500, VSM_TYPE_STREAM, VSM_OP_REQUEST, 0, 4096, 0);
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 3, 0 }, NULL), 0);
	assert_int_equal(top_model_count(fx->m), 1);
	assert_int_equal(top_model_row(fx->m, 0)->key.cid[0], 7);
}

static void test_search(void **state)
{
	struct fixture *fx = *state;

	top_model_set_sort(fx->m, TOP_COL_ID, false);
	assert_int_equal(top_model_search(fx->m, "refused", 0, 1), 2);
	assert_int_equal(top_model_search(fx->m, "REFUSED", 0, 1), 2);	/* case does not matter */
	assert_int_equal(top_model_search(fx->m, "4:2000", 0, 1), 1);
	assert_int_equal(top_model_search(fx->m, "seqpacket", 0, 1), 1);
	assert_int_equal(top_model_search(fx->m, "stall", 0, 1), 3);	/* a problem's name */
	/* From a row on, wrapping around, both ways. */
	assert_int_equal(top_model_search(fx->m, "2:", 1, 1), 1);
	assert_int_equal(top_model_search(fx->m, "3:1000", 2, 1), 0);
	assert_int_equal(top_model_search(fx->m, "established", 2, -1), 1);
	assert_int_equal(top_model_search(fx->m, "refused", 1, -1), 2);	/* backward, around the top */
	assert_int_equal(top_model_search(fx->m, "nowhere", 0, 1), -1);
	assert_int_equal(top_model_search(fx->m, "", 0, 1), -1);
}

static void test_selection_follows_the_connection(void **state)
{
	struct fixture *fx = *state;
	struct vsm_flow_key key;
	struct vsm_filter_error err;

	top_model_set_sort(fx->m, TOP_COL_ID, false);
	top_model_select(fx->m, 1);
	assert_int_equal(top_model_row(fx->m, (size_t)top_model_selected(fx->m))->id, 2);
	/* the detail view shows the selection at once, not from the next refresh on */
	assert_non_null(top_model_detail(fx->m));
	assert_int_equal(top_model_detail(fx->m)->id, 2);
	/* Reverse order: the row moves, the selection goes with it. */
	top_model_set_sort(fx->m, TOP_COL_ID, true);
	assert_int_equal(top_model_selected(fx->m), 2);
	assert_int_equal(top_model_row(fx->m, 2)->id, 2);
	/* A refresh that reorders everything (connection 1 moves up by rate): still connection 2. */
	top_model_set_sort(fx->m, TOP_SORT_RATE, false);
	scenario_next_second(fx->flows);
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 3, 0 }, NULL), 0);
	assert_int_equal(top_model_row(fx->m, 0)->id, 1);
	assert_int_equal(top_model_row(fx->m, (size_t)top_model_selected(fx->m))->id, 2);
	assert_true(top_model_selected_key(fx->m, &key));
	assert_int_equal(key.cid[0], 4);
	assert_int_equal(key.port[0], 2000);
	/* The detail is the selected connection's, as of the refresh. */
	assert_non_null(top_model_detail(fx->m));
	assert_int_equal(top_model_detail(fx->m)->id, 2);
	/* Filtered out: the selection takes the row at its place, and follows that one. */
	assert_int_equal(top_model_set_filter(fx->m, "not port 600", &err), 0);
	assert_int_equal(top_model_count(fx->m), 3);
	assert_true(top_model_selected(fx->m) >= 0);
	assert_int_not_equal(top_model_row(fx->m, (size_t)top_model_selected(fx->m))->id, 2);
	/* Moving clamps at both ends. */
	top_model_move(fx->m, 100);
	assert_int_equal(top_model_selected(fx->m), 2);
	top_model_move(fx->m, -100);
	assert_int_equal(top_model_selected(fx->m), 0);
	top_model_move(fx->m, LONG_MAX / 2);
	assert_int_equal(top_model_selected(fx->m), 2);
}

static const struct top_cid *cid_of(const struct top_model *m, uint64_t cid)
{
	for (size_t i = 0; i < top_model_cid_count(m); i++)
		if (top_model_cid(m, i)->cid == cid)
			return top_model_cid(m, i);
	return NULL;
}

static void test_per_cid(void **state)
{
	struct fixture *fx = *state;
	const struct top_cid *host = cid_of(fx->m, 2), *c3 = cid_of(fx->m, 3), *c4 = cid_of(fx->m, 4);
	const struct top_cid *c5 = cid_of(fx->m, 5), *c6 = cid_of(fx->m, 6);

	assert_int_equal(top_model_cid_count(fx->m), 5);
	/* by CID */
	assert_int_equal(top_model_cid(fx->m, 0)->cid, 2);
	assert_int_equal(top_model_cid(fx->m, 4)->cid, 6);
	assert_non_null(host);
	assert_int_equal(host->conns, 4);
	assert_int_equal(host->open, 3);
	assert_int_equal(host->stalled, 1);
	assert_int_equal(host->refused, 1);
	assert_int_equal(host->conns_total, 4);
	assert_int_equal(host->tx_bytes, 5000);
	assert_int_equal(host->rx_bytes, 20000 + 100 + 8192);
	assert_int_equal(c3->tx_bytes, 20000);
	assert_int_equal(c3->rx_bytes, 0);
	assert_int_equal(c3->tx_pkts, 2);
	assert_int_equal(c3->rx_pkts, 2);
	assert_int_equal(c4->tx_bytes, 100);
	assert_int_equal(c4->rx_bytes, 5000);
	assert_int_equal(c5->refused, 1);
	assert_int_equal(c5->open, 0);
	assert_int_equal(c6->stalled, 1);
	assert_int_equal(c6->stall_ns, 100000000);
	assert_true(fabs(c3->tx_bps - 20000.0) < 1e-6);

	/* Counters add up over refreshes; gauges are the present's. */
	scenario_next_second(fx->flows);
	feed(fx->flows, 2.9, h800, g6, VSM_TYPE_STREAM, VSM_OP_RST, 0, 0, 0);
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 3, 0 }, NULL), 0);
	c3 = cid_of(fx->m, 3);
	c6 = cid_of(fx->m, 6);
	host = cid_of(fx->m, 2);
	assert_int_equal(c3->tx_bytes, 50000);
	assert_true(fabs(c3->tx_bps - 30000.0) < 1e-6);
	assert_int_equal(c6->resets, 1);
	assert_int_equal(c6->stalled, 0);
	assert_int_equal(c6->open, 0);
	/* the stall ran from 1.9 to the RST at 2.9 */
	assert_int_equal(c6->stall_ns, 1000000000);
	assert_int_equal(host->resets, 1);
	assert_int_equal(host->conns_total, 4);
	/* A refresh with nothing new changes no counter. */
	assert_int_equal(top_model_refresh(fx->m, fx->flows, &(struct timespec){ 4, 0 }, NULL), 0);
	assert_int_equal(cid_of(fx->m, 3)->tx_bytes, 50000);
	assert_int_equal(cid_of(fx->m, 6)->resets, 1);
	assert_int_equal(cid_of(fx->m, 2)->rx_bytes, 50000 + 100 + 8192);
}

/* A document shaped as vsockdev's stats.c writes it (two VMs; CID 4's RX ring indexes have wrapped). */
static const char *const device_doc =
	"{\"version\":1,\"pid\":4242,\"uptime_ns\":5000000000,"
	"\"tap_sinks\":[{\"frames\":100,\"bytes\":9000,\"dropped\":3,\"unobserved\":1,\"error\":0},"
	"{\"frames\":100,\"bytes\":9000,\"dropped\":2,\"unobserved\":0,\"error\":0}],"
	"\"vms\":[{\"guest_cid\":3,\"socket\":\"/run/vm3.vhost\",\"uds_path\":\"/run/vm3.vsock\",\"groups\":[\"default\"],"
	"\"attached\":true,\"running\":true,\"features\":0,\"protocol_features\":0,\"memory_regions\":1,\"memory_bytes\":1,"
	"\"queues\":[{\"name\":\"rx\",\"index\":0,\"size\":256,\"started\":true,\"enabled\":true,\"avail_idx\":300,"
	"\"last_avail_idx\":100,\"used_idx\":100,\"in_flight\":0,\"kicks\":7,\"calls\":9,\"notifications_suppressed\":0,"
	"\"chains_popped\":100,\"chains_pushed\":100},"
	"{\"name\":\"tx\",\"index\":1,\"size\":256,\"started\":true,\"enabled\":true,\"avail_idx\":50,"
	"\"last_avail_idx\":48,\"used_idx\":47,\"in_flight\":1,\"kicks\":50,\"calls\":40,\"notifications_suppressed\":0,"
	"\"chains_popped\":48,\"chains_pushed\":47}],"
	"\"packets\":{\"from_guest\":1000,\"from_guest_bytes\":100000,\"to_guest\":2000,\"to_guest_bytes\":400000,"
	"\"split\":0,\"malformed\":0},"
	"\"rx_ring_empty\":{\"events\":5,\"total_ns\":250000000,\"max_ns\":100000000,\"now\":false},"
	"\"host\":{\"connections\":2,\"host_connects\":1,\"host_connect_failures\":0,\"guest_connects\":1,"
	"\"guest_refused\":0,\"engine_rst_sent\":0,\"engine_violations\":0,\"engine_tx_queue_bytes\":0},"
	"\"forwarding\":{\"in\":0,\"dropped\":0,\"queued_bytes\":0,\"unroutable\":0,\"spoofed\":0},"
	"\"sessions\":1,\"resets\":0,\"last_error\":\"\"},"
	"{\"guest_cid\":4,\"socket\":\"/run/vm4.vhost\",\"uds_path\":null,\"groups\":[],\"attached\":false,\"running\":false,"
	"\"queues\":[{\"name\":\"rx\",\"index\":0,\"size\":128,\"started\":false,\"enabled\":false,\"avail_idx\":5,"
	"\"last_avail_idx\":65530,\"used_idx\":65530,\"in_flight\":0,\"kicks\":0,\"calls\":0,\"notifications_suppressed\":0,"
	"\"chains_popped\":0,\"chains_pushed\":0},"
	"{\"name\":\"tx\",\"index\":1,\"size\":128,\"started\":false,\"enabled\":false,\"avail_idx\":0,\"last_avail_idx\":0,"
	"\"used_idx\":0,\"in_flight\":0,\"kicks\":0,\"calls\":0,\"notifications_suppressed\":0,\"chains_popped\":0,"
	"\"chains_pushed\":0}],"
	"\"packets\":{\"from_guest\":0,\"from_guest_bytes\":0,\"to_guest\":0,\"to_guest_bytes\":0,\"split\":0,\"malformed\":0},"
	"\"rx_ring_empty\":{\"events\":0,\"total_ns\":0,\"max_ns\":0,\"now\":true},"
	"\"host\":{\"connections\":0},\"forwarding\":{},\"sessions\":0,\"resets\":2,\"last_error\":\"guest \\\"reset\\\"\"}]}";

static void test_devices(void **state)
{
	struct fixture *fx = *state;
	const struct top_devices *d;
	char err[256], doc2[8192];
	struct timespec t0 = { 100, 0 }, t1 = { 102, 0 };
	const char *p;

	assert_int_equal(top_model_set_devices_json(fx->m, device_doc, strlen(device_doc), &t0, err, sizeof(err)), 0);
	d = top_model_devices(fx->m);
	assert_true(d->have);
	assert_string_equal(d->error, "");
	assert_int_equal(d->pid, 4242);
	assert_int_equal(d->ntap_sinks, 2);
	assert_int_equal(d->tap_dropped, 5);
	assert_int_equal(d->nvm, 2);
	assert_int_equal(d->vm[0].guest_cid, 3);
	assert_string_equal(d->vm[0].socket, "/run/vm3.vhost");
	assert_true(d->vm[0].attached);
	assert_int_equal(d->vm[0].nqueues, 2);
	assert_string_equal(d->vm[0].queue[0].name, "rx");
	assert_int_equal(d->vm[0].queue[0].occupancy, 200);
	assert_int_equal(d->vm[0].queue[1].occupancy, 3);
	assert_int_equal(d->vm[0].queue[1].in_flight, 1);
	assert_int_equal(d->vm[0].rx_empty_events, 5);
	assert_int_equal(d->vm[0].rx_empty_ns, 250000000);
	assert_int_equal(d->vm[0].connections, 2);
	/* 16-bit ring indexes: 5 - 65530 is 11 chains across the wrap */
	assert_int_equal(d->vm[1].queue[0].occupancy, 11);
	assert_true(d->vm[1].rx_empty_now);
	assert_false(d->vm[1].attached);
	assert_int_equal(d->vm[1].resets, 2);
	assert_string_equal(d->vm[1].last_error, "guest \"reset\"");
	/* no rates from a single document */
	assert_true(d->vm[0].from_guest_pps == 0);

	/* The next document, two seconds later: rates per VM. */
	p = strstr(device_doc, "\"from_guest\":1000");
	assert_non_null(p);
	snprintf(doc2, sizeof(doc2), "%.*s\"from_guest\":1600%s", (int)(p - device_doc), device_doc, p + strlen("\"from_guest\":1000"));
	assert_int_equal(top_model_set_devices_json(fx->m, doc2, strlen(doc2), &t1, err, sizeof(err)), 0);
	d = top_model_devices(fx->m);
	assert_true(fabs(d->vm[0].from_guest_pps - 300.0) < 1e-9);
	assert_true(d->vm[0].to_guest_pps == 0);

	/* Not JSON, not vsockdev's, a version to come: errors, the last good document stays. */
	assert_int_equal(top_model_set_devices_json(fx->m, "{\"vms\":", strlen("{\"vms\":"), &t1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(top_model_devices(fx->m)->nvm, 2);
	assert_string_equal(top_model_devices(fx->m)->error, err);
	assert_int_equal(top_model_set_devices_json(fx->m, "{\"a\":1}", strlen("{\"a\":1}"), &t1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a vsockdev statistics document"));
	assert_int_equal(top_model_set_devices_json(fx->m, "{\"version\":2,\"vms\":[]}", strlen("{\"version\":2,\"vms\":[]}"), &t1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "version 2"));
	assert_int_equal(top_model_devices(fx->m)->nvm, 2);
	top_model_set_devices_error(fx->m, "no daemon");
	assert_string_equal(top_model_devices(fx->m)->error, "no daemon");
}

/* The keys table drives the model as a user would. */
static unsigned keys(struct top_ui *ui, struct top_model *m, const char *seq)
{
	unsigned all = 0;

	for (; *seq; seq++) {
		unsigned r = top_key(ui, m, *seq == '\n' ? TOP_KEY_ENTER : (unsigned char)*seq);

		if (r & TOP_RESORT)
			top_model_set_sort(m, ui->sort, ui->reverse);
		all |= r;
	}
	return all;
}

static void test_keys(void **state)
{
	struct fixture *fx = *state;
	struct top_ui ui;

	top_ui_init(&ui, TOP_SORT_RATE, false);
	top_model_set_sort(fx->m, TOP_SORT_RATE, false);
	assert_true(keys(&ui, fx->m, "T") & TOP_RESORT);
	assert_int_equal(top_model_sort_key(fx->m), TOP_COL_BYTES);
	keys(&ui, fx->m, "I");
	assert_true(top_model_sort_reverse(fx->m));
	assert_int_equal(top_model_row(fx->m, 0)->id, 3);	/* fewest bytes first */
	keys(&ui, fx->m, "I>");
	assert_int_equal(top_model_sort_key(fx->m), TOP_COL_INFLIGHT);
	keys(&ui, fx->m, "<<");
	assert_int_equal(top_model_sort_key(fx->m), TOP_COL_RATE_BA);
	/* F6: a list to pick from */
	top_key(&ui, fx->m, TOP_KEY_F1 + 5);
	assert_int_equal(ui.prompt, TOP_PROMPT_SORT);
	top_key(&ui, fx->m, TOP_KEY_DOWN);
	top_key(&ui, fx->m, TOP_KEY_DOWN);
	if (top_key(&ui, fx->m, TOP_KEY_ENTER) & TOP_RESORT)
		top_model_set_sort(fx->m, ui.sort, ui.reverse);
	assert_int_equal(top_model_sort_key(fx->m), TOP_COL_INFLIGHT);
	assert_int_equal(ui.prompt, TOP_PROMPT_NONE);

	/* Search, incremental, then n */
	keys(&ui, fx->m, "/6:4");
	assert_int_equal(ui.prompt, TOP_PROMPT_SEARCH);
	assert_string_equal(top_model_row(fx->m, (size_t)top_model_selected(fx->m))->ep[0], "6:4000");
	keys(&ui, fx->m, "\n");
	assert_int_equal(ui.prompt, TOP_PROMPT_NONE);
	keys(&ui, fx->m, "/2:\n");
	{
		long first = top_model_selected(fx->m);

		keys(&ui, fx->m, "n");
		assert_int_equal(top_model_selected(fx->m), (first + 1) % 4);
	}
	keys(&ui, fx->m, "/zzz");
	assert_true(ui.message_error);
	assert_non_null(strstr(ui.message, "no connection matches 'zzz'"));
	top_key(&ui, fx->m, TOP_KEY_ESC);

	/* Filter: a bad one keeps the prompt open with the error, a good one applies */
	keys(&ui, fx->m, "\\port x\n");
	assert_int_equal(ui.prompt, TOP_PROMPT_FILTER);
	assert_true(ui.message_error);
	assert_non_null(strstr(ui.message, "column 6"));
	assert_int_equal(top_model_count(fx->m), 4);
	top_key(&ui, fx->m, TOP_KEY_CTRL_U);
	keys(&ui, fx->m, "type seqpacket\n");
	assert_int_equal(ui.prompt, TOP_PROMPT_NONE);
	assert_int_equal(top_model_count(fx->m), 1);
	keys(&ui, fx->m, "f");
	assert_string_equal(ui.input, "type seqpacket");
	top_key(&ui, fx->m, TOP_KEY_CTRL_U);
	keys(&ui, fx->m, "\n");
	assert_int_equal(top_model_count(fx->m), 4);

	/* Views: detail and back, per-CID with Enter showing one CID, help and back */
	keys(&ui, fx->m, "\n");
	assert_int_equal(ui.view, TOP_VIEW_DETAIL);
	top_key(&ui, fx->m, TOP_KEY_ESC);
	assert_int_equal(ui.view, TOP_VIEW_CONNS);
	keys(&ui, fx->m, "c");
	assert_int_equal(ui.view, TOP_VIEW_CIDS);
	top_key(&ui, fx->m, TOP_KEY_DOWN);	/* CID 3 */
	keys(&ui, fx->m, "\n");
	assert_int_equal(ui.view, TOP_VIEW_CONNS);
	assert_string_equal(top_model_filter(fx->m), "cid 3");
	assert_int_equal(top_model_count(fx->m), 1);
	keys(&ui, fx->m, "?");
	assert_int_equal(ui.view, TOP_VIEW_HELP);
	keys(&ui, fx->m, "q");		/* q leaves the help, it does not quit */
	assert_int_equal(ui.view, TOP_VIEW_CONNS);
	keys(&ui, fx->m, " ");
	assert_true(ui.paused);
	keys(&ui, fx->m, "Z");
	assert_false(ui.paused);
	keys(&ui, fx->m, "x");
	assert_non_null(strstr(ui.message, "unknown key"));
	assert_true(keys(&ui, fx->m, "q") & TOP_QUIT);
	assert_true(top_key(&ui, fx->m, TOP_KEY_RESIZE) & TOP_CLEAR);
}

static void test_formats(void **state)
{
	char b[32];

	/* One helper for every list: below 1000 the number, then three digits and a power of 1024. */
	top_fmt_amount(b, sizeof(b), 999);
	assert_string_equal(b, "999");
	top_fmt_amount(b, sizeof(b), 1000);
	assert_string_equal(b, "1.0K");
	top_fmt_amount(b, sizeof(b), 63871);	/* the column: never 63871 beside 256K */
	assert_string_equal(b, "62.4K");
	top_fmt_amount(b, sizeof(b), 99999);
	assert_string_equal(b, "97.7K");
	top_fmt_amount(b, sizeof(b), 262144);
	assert_string_equal(b, "256K");
	top_fmt_amount(b, sizeof(b), 1258291);
	assert_string_equal(b, "1.2M");
	top_fmt_amount(b, sizeof(b), 12210005);
	assert_string_equal(b, "11.6M");
	top_fmt_amount(b, sizeof(b), 1073636966);	/* 1023.9M rounds up to the next unit, not "1024M" */
	assert_string_equal(b, "1.0G");
	top_fmt_signed(b, sizeof(b), -1328);
	assert_string_equal(b, "-1.3K");
	top_fmt_rate(b, sizeof(b), 0.01);
	assert_string_equal(b, "0");
	top_fmt_rate(b, sizeof(b), 12.5);
	assert_string_equal(b, "12.5");
	top_fmt_rate(b, sizeof(b), 4);
	assert_string_equal(b, "4");
	top_fmt_rate(b, sizeof(b), 65536);
	assert_string_equal(b, "64.0K");
	top_fmt_rate(b, sizeof(b), 340619);
	assert_string_equal(b, "333K");
	top_fmt_human(b, sizeof(b), 340619, "B/s");
	assert_string_equal(b, "333KB/s");
	top_fmt_human(b, sizeof(b), 0, "B/s");
	assert_string_equal(b, "0B/s");
	top_fmt_human(b, sizeof(b), 7.8, "/s");
	assert_string_equal(b, "7.8/s");
	top_fmt_ns(b, sizeof(b), 0);
	assert_string_equal(b, "-");
	top_fmt_ns(b, sizeof(b), 276000);
	assert_string_equal(b, "276us");
	top_fmt_ns(b, sizeof(b), 99800000);
	assert_string_equal(b, "99.8ms");
	top_fmt_ns(b, sizeof(b), 1097800000);
	assert_string_equal(b, "1.09s");	/* cut, as vsockdump prints durations */
	top_fmt_ns(b, sizeof(b), 999350000);
	assert_string_equal(b, "999.3ms");
	top_fmt_time(b, sizeof(b), &(struct timespec){ 1700000000, 293638000 });
	assert_string_equal(b, "2023-11-14 22:13:20.293638");
}

static void test_layout_narrow(void **state)
{
	struct fixture *fx = *state;
	struct top_layout wide, narrow;
	int width = 0;

	top_layout(fx->m, 0, 4, 0, &wide);
	assert_int_equal(wide.ncols, TOP_COL_COUNT);
	top_layout(fx->m, 0, 4, 40, &narrow);
	assert_true(narrow.ncols > 2 && narrow.ncols < TOP_COL_COUNT);
	for (int i = 0; i < narrow.ncols; i++)
		width += narrow.width[narrow.col[i]] + (i ? 1 : 0);
	assert_true(width <= 40);
	/* the endpoints and the sorted columns stay */
	for (int want = TOP_COL_A; want <= TOP_COL_B; want++) {
		bool found = false;

		for (int i = 0; i < narrow.ncols; i++)
			found |= narrow.col[i] == want;
		assert_true(found);
	}
}

static void test_prometheus_escaping(void **state)
{
	struct fixture *fx = *state;
	struct top_frame_info info = { .source = "file a\"b\\c\nd.pcap" };
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	top_prom_text(&sb, fx->m, &info);
	assert_non_null(strstr(sb.data, "source=\"file a\\\"b\\\\c\\nd.pcap\"} 1\n"));
	assert_non_null(strstr(sb.data, "# TYPE vsock_packets_total counter\nvsock_packets_total 14\n"));
	assert_non_null(strstr(sb.data, "vsock_cid_sent_bytes_total{cid=\"3\"} 20000\n"));
	assert_non_null(strstr(sb.data, "vsock_connection_problems_total{problem=\"refused\"} 1\n"));
	assert_null(strstr(sb.data, "vsock_device_"));	/* no device source */
	vsm_sb_free(&sb);
}

static void test_detail_text(void **state)
{
	struct fixture *fx = *state;
	struct vsm_strbuf sb;
	const struct vsm_flow *f;

	top_model_set_sort(fx->m, TOP_COL_ID, false);
	top_model_select(fx->m, 0);
	f = top_model_detail(fx->m);
	assert_non_null(f);
	vsm_sb_init(&sb);
	top_detail(&sb, f, &(struct timespec){ 2, 0 }, true, 80);
	assert_non_null(strstr(sb.data, "Connection 1: 3:1000 <> 2:500  STREAM  established"));
	assert_non_null(strstr(sb.data, "Problems: -\n"));
	assert_non_null(strstr(sb.data, "  bytes                               20000                      0\n"));
	assert_non_null(strstr(sb.data, "Credit over time, 3:1000 > 2:500 (last "));
	/* after the RW: 65536 - 20000 left; after the update: all of it, the longest bar */
	assert_non_null(strstr(sb.data, "45536 |###################################               |\n"));
	assert_non_null(strstr(sb.data, "65536 |##################################################|\n"));
	assert_non_null(strstr(sb.data, "Events (last 0 of 0):\n  none\n"));
	vsm_sb_reset(&sb);
	top_model_select(fx->m, 3);
	f = top_model_detail(fx->m);
	assert_int_equal(f->id, 4);
	top_detail(&sb, f, &(struct timespec){ 2, 0 }, true, 80);
	assert_non_null(strstr(sb.data, "  stalled                               yes                     no\n"));
	assert_non_null(strstr(sb.data, "  stall_now_ns                      100.0ms                      -\n"));
	assert_non_null(strstr(sb.data, "        0 |!                                                 |\n"));
	assert_non_null(strstr(sb.data, "Events (last 1 of 1):\n  +100.0 ms stall (6:4000 > 2:800)\n"));
	/* the stall in the words of problems.def, what vsockdump --flows prints after "explain stall: " */
	assert_non_null(strstr(sb.data, "Problems: stall\n  stall: the sender used all the credit its peer gave and had "
				  "to wait (the receiver read too slowly or its buffer is small)\n    check: is the "
				  "receiving program reading? raise its buffer (SO_VM_SOCKETS_BUFFER_SIZE)\n\n"));
	vsm_sb_free(&sb);
}

/* The key bar keeps help and quit at any width; the least used keys go first. */
static void test_keybar(void **state)
{
	const struct top_keyhint hints[] = {
		{ "h help", 0 }, { "F6 sort", 7 }, { "/ search", 5 }, { "Space pause", 1 }, { "q quit", 0 }, { "rows 1-20 of 295", 9 },
	};
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	top_keybar(&sb, hints, 6, 0);
	assert_string_equal(sb.data, "h help  F6 sort  / search  Space pause  q quit  rows 1-20 of 295");
	vsm_sb_reset(&sb);
	top_keybar(&sb, hints, 6, 60);	/* 65 wide: Space pause goes */
	assert_string_equal(sb.data, "h help  F6 sort  / search  q quit  rows 1-20 of 295");
	vsm_sb_reset(&sb);
	top_keybar(&sb, hints, 6, 40);
	assert_string_equal(sb.data, "h help  q quit  rows 1-20 of 295");
	vsm_sb_reset(&sb);
	top_keybar(&sb, hints, 6, 10);	/* too narrow even for the two: they stay, the screen cuts */
	assert_string_equal(sb.data, "h help  q quit");
	vsm_sb_free(&sb);
}

/* The header: trouble before totals; no 1970 date before the first packet. */
static void test_header(void **state)
{
	struct fixture *fx = *state;
	struct top_frame_info info = { .source = "file x.pcap", .capture = true };
	struct top_model *empty;
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	top_header(&sb, fx->m, &info);
	assert_non_null(strstr(sb.data, "\nStalled: 1  Refused: 1  Resets: 0  Problems: 2  Connections: 4 seen"));
	assert_non_null(strstr(sb.data, "Sort: trouble (descending)"));
	vsm_sb_reset(&sb);
	assert_int_equal(top_model_new(&empty), 0);
	top_header(&sb, empty, &info);
	assert_null(strstr(sb.data, "1970"));
	assert_non_null(strstr(sb.data, "vsocktop - file x.pcap - - (capture time), interval"));
	top_model_free(empty);
	vsm_sb_free(&sb);
}

/* The settings file: read, written and read back the same; a wrong line gives the defaults and says where. */
static void test_rc(void **state)
{
	struct top_settings s, back;
	struct vsm_strbuf sb;
	char err[256];

	assert_int_equal(top_rc_parse("# mine\n\nsort=bytes\nreverse=1\ntree=yes\ndelay=0.5\n"
				      "columns=stall:9,a,b:20,problems\n", &s, err, sizeof(err)), 0);
	assert_int_equal(s.sort, TOP_COL_BYTES);
	assert_true(s.reverse);
	assert_true(s.tree);
	assert_true(s.delay == 0.5);
	assert_int_equal(s.columns.n, 4);
	assert_int_equal(s.columns.col[0], TOP_COL_STALL);
	assert_int_equal(s.columns.col[3], TOP_COL_PROBLEMS);
	assert_int_equal(s.columns.width[TOP_COL_STALL], 9);
	assert_int_equal(s.columns.width[TOP_COL_B], 20);
	assert_int_equal(s.columns.width[TOP_COL_A], 0);
	vsm_sb_init(&sb);
	top_rc_write(&sb, &s);
	assert_non_null(strstr(sb.data, "\ncolumns=stall:9,a,b:20,problems\n"));
	assert_int_equal(top_rc_parse(sb.data, &back, err, sizeof(err)), 0);
	assert_memory_equal(&back, &s, sizeof(s));
	/* The defaults round-trip too. */
	top_settings_default(&s);
	vsm_sb_reset(&sb);
	top_rc_write(&sb, &s);
	assert_int_equal(top_rc_parse(sb.data, &back, err, sizeof(err)), 0);
	assert_memory_equal(&back, &s, sizeof(s));
	assert_int_equal(back.sort, TOP_SORT_TROUBLE);
	vsm_sb_free(&sb);

	/* Wrong lines: each says its line and what, and the result is the defaults. */
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "sort=bytes\nsort=nonsense\n", "line 2: unknown sort key 'nonsense'" },
		{ "columns=a,zzz\n", "line 1: unknown column 'zzz'" },
		{ "columns=a,a\n", "line 1: column 'a' twice" },
		{ "columns=a:wide\n", "line 1: width of 'a' is not a number from 0 to 200" },
		{ "columns=\n", "line 1: no column" },
		{ "delay=0\n", "line 1: delay is seconds from 0.01 to 3600, not '0'" },
		{ "tree=maybe\n", "line 1: tree is 0 or 1, not 'maybe'" },
		{ "\x01\x02garbage", "line 1: not key=value" },
		{ "colour=red\n", "line 1: unknown key 'colour'" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(top_rc_parse(bad[i].text, &s, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, bad[i].err);
		top_settings_default(&back);
		assert_memory_equal(&back, &s, sizeof(s));
	}
}

/* The user's columns: only those, in their order, at their widths; the tree groups by CID. */
static void test_columns_and_tree(void **state)
{
	struct fixture *fx = *state;
	struct top_columns cols = { .n = 3, .col = { TOP_COL_STALL, TOP_COL_A, TOP_COL_ID } };
	struct top_layout l;

	cols.width[TOP_COL_A] = 12;
	top_model_set_columns(fx->m, &cols);
	top_layout(fx->m, 0, 10, 0, &l);
	assert_int_equal(l.ncols, 3);
	assert_int_equal(l.col[0], TOP_COL_STALL);
	assert_int_equal(l.col[1], TOP_COL_A);
	assert_int_equal(l.col[2], TOP_COL_ID);
	assert_int_equal(l.width[TOP_COL_A], 12);
	top_model_set_tree(fx->m, true);
	for (size_t i = 1; i < top_model_count(fx->m); i++)
		assert_true(top_row_tree_cid(top_model_row(fx->m, i - 1)) <= top_row_tree_cid(top_model_row(fx->m, i)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rates_between_refreshes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_row_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_sort_key_and_reverse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_selection_follows_the_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_cid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test(test_formats),
		cmocka_unit_test_setup_teardown(test_layout_narrow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prometheus_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detail_text, setup, teardown),
		cmocka_unit_test(test_keybar),
		cmocka_unit_test(test_rc),
		cmocka_unit_test_setup_teardown(test_columns_and_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
