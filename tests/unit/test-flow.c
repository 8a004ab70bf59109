/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-flow.c: connection state and the credit view rebuilt from packet sequences. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <vsockmon/flow.h>
#include <vsockmon/wire.h>

#include "testutil.h"

/* Feeds one packet from endpoint a to endpoint b and returns the sender's credit view. */
struct ep {
	uint64_t cid;
	uint32_t port;
};

static struct vsm_credit_view feed(struct vsm_flows *t, struct ep a, struct ep b, uint16_t op, uint32_t len,
				   uint32_t buf_alloc, uint32_t fwd_cnt, const struct vsm_flow **ret_flow)
{
	static uint8_t buf[128];
	struct tu_frame f = { .src_cid = a.cid, .src_port = a.port, .dst_cid = b.cid, .dst_port = b.port,
			      .op = op, .len = len, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p;
	struct vsm_credit_view v;
	struct timespec ts = { 1, 0 };
	const struct vsm_flow *flow;

	/* Only the header matters to the flow table; the payload is left out of the buffer. */
	assert_int_equal(vsm_decode(buf, (uint32_t)n, (uint32_t)n + len, &p), 0);
	flow = vsm_flows_update(t, &p, &ts, &v);
	assert_non_null(flow);
	if (ret_flow)
		*ret_flow = flow;
	return v;
}

static const struct ep guest = { 3, 1024 }, host = { 2, 5000 };

static void test_credit_math(void **state)
{
	assert_int_equal(vsm_credit(262144, 0, 0), 262144);
	assert_int_equal(vsm_credit(262144, 1000, 400), 262144 - 600);
	/* Counters wrap at 2^32: tx_cnt just past the wrap, fwd_cnt just before it. */
	assert_int_equal(vsm_credit(65536, 10, 0xfffffff0u), 65536 - 26);
	assert_int_equal(vsm_credit(100, 200, 0), -100);
	assert_int_equal(vsm_credit(0, 0, 0), 0);
}

static void test_handshake_and_credit(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	struct vsm_credit_view v;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	v = feed(t, guest, host, VSM_OP_REQUEST, 0, 262144, 0, &f);
	assert_false(v.known);		/* the peer has not advertised yet */
	assert_int_equal(f->state, VSM_FLOW_REQUESTED);
	v = feed(t, host, guest, VSM_OP_RESPONSE, 0, 65536, 0, &f);
	assert_true(v.known);
	assert_int_equal(v.side, 1);
	assert_int_equal(v.credit, 262144);
	assert_int_equal(f->state, VSM_FLOW_ESTABLISHED);
	v = feed(t, guest, host, VSM_OP_RW, 60000, 262144, 0, &f);
	assert_true(v.known);
	assert_int_equal(v.side, 0);
	assert_int_equal(v.in_flight, 60000);
	assert_int_equal(v.credit, 5536);
	assert_false(v.window_full);
	v = feed(t, guest, host, VSM_OP_RW, 5536, 262144, 0, &f);
	assert_int_equal(v.credit, 0);
	assert_true(v.window_full);
	assert_false(v.exceeded);
	v = feed(t, guest, host, VSM_OP_RW, 1, 262144, 0, &f);
	assert_int_equal(v.credit, -1);
	assert_true(v.exceeded);
	/* The host reads 30000 bytes and says so. */
	v = feed(t, host, guest, VSM_OP_CREDIT_UPDATE, 0, 65536, 30000, &f);
	assert_int_equal(v.side, 1);
	v = feed(t, guest, host, VSM_OP_RW, 100, 262144, 0, &f);
	assert_int_equal(v.in_flight, 65537 + 100 - 30000);
	assert_int_equal(v.credit, 65536 - (65637 - 30000));
	assert_int_equal(f->side[0].bytes, 65637);
	assert_int_equal(f->side[0].pkts, 5);
	assert_int_equal(f->side[1].pkts, 2);
	assert_int_equal(vsm_flows_count(t), 1);
	vsm_flows_free(t);
}

/* A receiver shrinks its buffer while data is in flight: a full window, not an overrun. */
static void test_buffer_shrink_is_not_an_overrun(void **state)
{
	struct vsm_flows *t;
	struct vsm_credit_view v;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	feed(t, guest, host, VSM_OP_REQUEST, 0, 262144, 0, NULL);
	feed(t, host, guest, VSM_OP_RESPONSE, 0, 65536, 0, NULL);
	v = feed(t, guest, host, VSM_OP_RW, 40000, 262144, 0, NULL);
	assert_int_equal(v.credit, 25536);
	/* the host shrinks to 16 KiB before it hears of the 40000 bytes... */
	feed(t, host, guest, VSM_OP_CREDIT_UPDATE, 0, 16384, 0, NULL);
	/* ...while the guest, not yet told, sends 20000 more within the old 64 KiB */
	v = feed(t, guest, host, VSM_OP_RW, 20000, 262144, 0, NULL);
	assert_int_equal(v.credit, 16384 - 60000);
	assert_false(v.exceeded);
	assert_true(v.window_full);
	/* past the old 64 KiB it is an overrun */
	v = feed(t, guest, host, VSM_OP_RW, 6000, 262144, 0, NULL);
	assert_true(v.exceeded);
	assert_false(v.window_full);
	vsm_flows_free(t);
}

static void test_midway_join_is_unknown(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	struct vsm_credit_view v;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	v = feed(t, guest, host, VSM_OP_RW, 100, 262144, 77, &f);
	assert_false(v.known);
	assert_false(f->seen_start);
	assert_int_equal(f->state, VSM_FLOW_UNKNOWN);
	v = feed(t, host, guest, VSM_OP_CREDIT_UPDATE, 0, 262144, 100, &f);
	assert_false(v.known);
	v = feed(t, guest, host, VSM_OP_RW, 100, 262144, 77, &f);
	assert_false(v.known);
	assert_false(v.window_full || v.exceeded);
	vsm_flows_free(t);
}

static void test_wraparound_stream(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	struct vsm_credit_view v;
	uint32_t fwd = 0;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	feed(t, guest, host, VSM_OP_REQUEST, 0, 262144, 0, NULL);
	feed(t, host, guest, VSM_OP_RESPONSE, 0, 262144, 0, NULL);
	/* 5 GiB in 64 KiB packets, each consumed at once: tx_cnt wraps past 2^32 once. */
	for (unsigned i = 0; i < 81920; i++) {
		v = feed(t, guest, host, VSM_OP_RW, 65536, 262144, 0, &f);
		assert_int_equal(v.in_flight, 65536);
		assert_int_equal(v.credit, 262144 - 65536);
		fwd += 65536;
		feed(t, host, guest, VSM_OP_CREDIT_UPDATE, 0, 262144, fwd, NULL);
	}
	assert_int_equal(f->side[0].bytes, 81920ull * 65536);
	assert_int_equal(f->side[0].tx_cnt, (uint32_t)(81920ull * 65536));
	vsm_flows_free(t);
}

static void test_states(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	struct ep c1 = { 3, 1 }, c2 = { 3, 2 }, c3 = { 3, 3 };

	assert_int_equal(vsm_flows_new(16, &t), 0);
	/* refused: RST answering REQUEST; the RST's zero buf_alloc is not taken as advertised */
	feed(t, c1, host, VSM_OP_REQUEST, 0, 262144, 0, NULL);
	feed(t, host, c1, VSM_OP_RST, 0, 0, 0, &f);
	assert_int_equal(f->state, VSM_FLOW_REFUSED);
	assert_false(f->side[1].advertised);
	/* aborted: RST on an established connection */
	feed(t, c2, host, VSM_OP_REQUEST, 0, 262144, 0, NULL);
	feed(t, host, c2, VSM_OP_RESPONSE, 0, 262144, 0, NULL);
	feed(t, c2, host, VSM_OP_RST, 0, 262144, 0, &f);
	assert_int_equal(f->state, VSM_FLOW_RESET);
	/* clean close: SHUTDOWN then RST */
	feed(t, c3, host, VSM_OP_REQUEST, 0, 262144, 0, NULL);
	feed(t, host, c3, VSM_OP_RESPONSE, 0, 262144, 0, NULL);
	{
		uint8_t buf[128];
		struct tu_frame fr = { .src_cid = 3, .src_port = 3, .dst_cid = 2, .dst_port = 5000,
				       .op = VSM_OP_SHUTDOWN, .flags = VSM_SHUTDOWN_SEND };
		size_t n = tu_build(buf, sizeof(buf), &fr);
		struct vsm_pkt p;
		struct timespec ts = { 2, 0 };

		vsm_decode(buf, (uint32_t)n, (uint32_t)n, &p);
		f = vsm_flows_update(t, &p, &ts, NULL);
		/* one direction shut: half-closed; the other side may still send */
		assert_int_equal(f->state, VSM_FLOW_HALF_CLOSED);
		assert_int_equal(f->side[0].shutdown, VSM_SHUTDOWN_SEND);
	}
	feed(t, host, c3, VSM_OP_RST, 0, 262144, 0, &f);
	assert_int_equal(f->state, VSM_FLOW_CLOSED);
	/* a new REQUEST on finished endpoints starts a new connection */
	feed(t, c1, host, VSM_OP_REQUEST, 0, 4096, 0, &f);
	assert_int_equal(f->state, VSM_FLOW_REQUESTED);
	assert_int_equal(f->side[1].pkts, 0);
	assert_int_equal(vsm_flows_count(t), 3);
	assert_string_equal(vsm_flow_state_name(VSM_FLOW_REFUSED), "refused");
	vsm_flows_free(t);
}

static void test_bound_and_eviction(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;

	assert_int_equal(vsm_flows_new(8, &t), 0);
	/* 4 finished flows, then 4 open ones: the table is full. */
	for (uint32_t i = 0; i < 4; i++) {
		struct ep c = { 3, 100 + i };

		feed(t, c, host, VSM_OP_REQUEST, 0, 1, 0, NULL);
		feed(t, host, c, VSM_OP_RST, 0, 0, 0, NULL);
	}
	for (uint32_t i = 0; i < 4; i++) {
		struct ep c = { 3, 200 + i };

		feed(t, c, host, VSM_OP_REQUEST, 0, 1, 0, NULL);
	}
	assert_int_equal(vsm_flows_count(t), 8);
	/* 1000 more connections never grow the table; open flows outlive finished ones. */
	for (uint32_t i = 0; i < 1000; i++) {
		struct ep c = { 4, i };

		feed(t, c, host, VSM_OP_REQUEST, 0, 1, 0, NULL);
		feed(t, host, c, VSM_OP_RST, 0, 0, 0, NULL);
		assert_true(vsm_flows_count(t) <= 8);
	}
	/* The open flows 200..203 are still tracked: their next packet continues them. */
	for (uint32_t i = 0; i < 4; i++) {
		struct ep c = { 3, 200 + i };

		feed(t, host, c, VSM_OP_RESPONSE, 0, 1, 0, &f);
		assert_int_equal(f->state, VSM_FLOW_ESTABLISHED);
		assert_int_equal(f->side[0].pkts, 1);
	}
	/* Slots freed by eviction are reused and listed; none is listed twice or lost. */
	{
		const struct vsm_flow *all[16];
		unsigned open_200 = 0;

		assert_int_equal(vsm_flows_list(t, all, 16), 8);
		for (size_t i = 0; i < 8; i++)
			if (all[i]->key.cid[0] == 3 && all[i]->key.port[0] >= 200 && all[i]->key.port[0] < 204)
				open_200 |= 1u << (all[i]->key.port[0] - 200);
		assert_int_equal(open_200, 0xf);
	}
	vsm_flows_free(t);
}

static void test_many_flows_lookup(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;

	assert_int_equal(vsm_flows_new(5000, &t), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct ep c = { 3 + i % 7, i };

		feed(t, c, host, VSM_OP_REQUEST, 0, 1000, 0, NULL);
	}
	/* Remove half by eviction pressure after finishing them, then check the rest are intact. */
	for (uint32_t i = 0; i < 5000; i += 2) {
		struct ep c = { 3 + i % 7, i };

		feed(t, host, c, VSM_OP_RST, 0, 0, 0, NULL);
	}
	for (uint32_t i = 0; i < 2500; i++) {
		struct ep c = { 100, i };

		feed(t, c, host, VSM_OP_REQUEST, 0, 1000, 0, NULL);
	}
	for (uint32_t i = 1; i < 5000; i += 2) {
		struct ep c = { 3 + i % 7, i };

		feed(t, host, c, VSM_OP_RESPONSE, 0, 1000, 0, &f);
		assert_int_equal(f->state, VSM_FLOW_ESTABLISHED);
		assert_int_equal(f->side[0].pkts, 1);
	}
	assert_int_equal(vsm_flows_count(t), 5000);
	{
		const struct vsm_flow **all = calloc(5001, sizeof(*all));

		assert_non_null(all);
		assert_int_equal(vsm_flows_list(t, all, 5001), 5000);
		free(all);
	}
	vsm_flows_free(t);
}

static void test_no_virtio_ignored(void **state)
{
	struct vsm_flows *t;
	uint8_t buf[16] = { 0 };
	struct vsm_pkt p;
	struct timespec ts = { 0, 0 };
	struct vsm_credit_view v;

	assert_int_equal(vsm_flows_new(0, &t), 0);
	vsm_decode(buf, sizeof(buf), sizeof(buf), &p);
	assert_null(vsm_flows_update(t, &p, &ts, &v));
	assert_false(v.known);
	assert_int_equal(vsm_flows_new(0, NULL), -EINVAL);
	vsm_flows_free(t);
}

/* ---- the analysis: what happened, when, and for how long ---- */

/* One packet at time ms (capture time), with flags; returns the flow. */
static const struct vsm_flow *at(struct vsm_flows *t, uint64_t ms, struct ep a, struct ep b, uint16_t op,
				 uint16_t type, uint32_t flags, uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	static uint8_t buf[128];
	struct tu_frame fr = { .src_cid = a.cid, .src_port = a.port, .dst_cid = b.cid, .dst_port = b.port,
			       .op = op, .type = type, .flags = flags, .len = len, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
	size_t n = tu_build(buf, sizeof(buf), &fr);
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };
	struct vsm_pkt p;
	const struct vsm_flow *f;

	assert_int_equal(vsm_decode(buf, (uint32_t)n, (uint32_t)n + len, &p), 0);
	f = vsm_flows_update(t, &p, &ts, NULL);
	assert_non_null(f);
	return f;
}

static void tick(struct vsm_flows *t, uint64_t ms, bool at_end)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	vsm_flows_tick(t, &ts, at_end);
}

static bool has(const struct vsm_flow *f, unsigned p)
{
	return (f->problems & (1u << p)) != 0;
}

static void test_stall_start_end_duration(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	struct vsm_flow_event ev[VSM_FLOW_EVENTS];
	struct vsm_flows_totals tot;
	struct timespec now = { 2, 0 };
	size_t n;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	at(t, 1000, guest, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 1001, host, guest, VSM_OP_RESPONSE, 1, 0, 0, 8192, 0);
	f = at(t, 1002, guest, host, VSM_OP_RW, 1, 0, 4096, 65536, 0);
	assert_false(f->side[0].stalled);
	/* the RW that uses the last of the host's 8192 bytes starts a stall at 1.003 s */
	f = at(t, 1003, guest, host, VSM_OP_RW, 1, 0, 4096, 65536, 0);
	assert_true(f->side[0].stalled);
	assert_int_equal(f->side[0].stalls, 1);
	vsm_flows_totals(t, &tot);
	assert_int_equal(tot.stalled, 1);
	assert_int_equal(tot.problems[VSM_FP_STALL], 1);
	/* a CREDIT_REQUEST, then the answer at 1.253 s that gives 4096 back ends it: 250 ms */
	at(t, 1103, guest, host, VSM_OP_CREDIT_REQUEST, 1, 0, 0, 65536, 0);
	assert_true(f->side[0].request_pending);
	assert_int_equal(vsm_flow_stall_ns(f, 0, &now), 997000000);	/* still stalled: counted to now */
	f = at(t, 1253, host, guest, VSM_OP_CREDIT_UPDATE, 1, 0, 0, 8192, 4096);
	assert_false(f->side[0].stalled);
	assert_false(f->side[0].request_pending);
	assert_int_equal(f->side[0].stall_ns, 250000000);
	assert_int_equal(f->side[0].stall_max_ns, 250000000);
	assert_int_equal(vsm_flow_stall_ns(f, 0, &now), 250000000);
	vsm_flows_totals(t, &tot);
	assert_int_equal(tot.stalled, 0);
	n = vsm_flow_events(f, ev);
	assert_int_equal(n, 2);
	assert_int_equal(ev[0].kind, VSM_FP_STALL);
	assert_int_equal(ev[0].side, 0);
	assert_int_equal(ev[0].ts.tv_nsec, 3000000);
	assert_int_equal(ev[1].kind, VSM_FE_STALL_END);
	assert_int_equal(ev[1].value, 250000000);
	/* the credit over time went 4096, 0, then 4096 again */
	{
		struct vsm_credit_sample sm[VSM_FLOW_SAMPLES];
		size_t k = vsm_flow_samples(f, 0, sm);

		assert_true(k >= 2);
		assert_int_equal(sm[k - 1].credit, 4096);
		assert_int_equal(sm[k - 1].ms, 253);
	}
	vsm_flows_free(t);
}

static void test_credit_request_unanswered(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	at(t, 0, guest, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 1, host, guest, VSM_OP_RESPONSE, 1, 0, 0, 65536, 0);
	f = at(t, 10, guest, host, VSM_OP_CREDIT_REQUEST, 1, 0, 0, 65536, 0);
	/* an RW from the peer is no answer: only a CREDIT_UPDATE is */
	at(t, 20, host, guest, VSM_OP_RW, 1, 0, 10, 65536, 0);
	tick(t, 900, false);
	assert_false(has(f, VSM_FP_CREDIT_UNANSWERED));
	tick(t, 1010, false);
	assert_true(has(f, VSM_FP_CREDIT_UNANSWERED));
	assert_int_equal(f->side[0].credit_unanswered, 1);
	/* an answered one is not flagged, however long the capture goes on */
	at(t, 2000, host, guest, VSM_OP_CREDIT_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 2001, guest, host, VSM_OP_CREDIT_UPDATE, 1, 0, 0, 65536, 10);
	tick(t, 9000, true);
	assert_int_equal(f->side[1].credit_unanswered, 0);
	assert_int_equal(f->side[1].credit_requests, 1);
	assert_int_equal(f->side[0].credit_updates, 1);
	vsm_flows_free(t);
}

/* An answer that comes after the deadline is late whether or not anything ticked in between. */
static void test_late_answer_without_tick(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	at(t, 0, guest, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	/* the RESPONSE 3 s on: the REQUEST was unanswered for the 2 s a Linux connect waits */
	f = at(t, 3000, host, guest, VSM_OP_RESPONSE, 1, 0, 0, 65536, 0);
	assert_true(has(f, VSM_FP_INCOMPLETE));
	at(t, 3010, guest, host, VSM_OP_CREDIT_REQUEST, 1, 0, 0, 65536, 0);
	f = at(t, 4500, host, guest, VSM_OP_CREDIT_UPDATE, 1, 0, 0, 65536, 0);
	assert_true(has(f, VSM_FP_CREDIT_UNANSWERED));
	assert_int_equal(f->side[0].credit_unanswered, 1);
	/* one answered in time stays answered */
	at(t, 5000, guest, host, VSM_OP_CREDIT_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 5900, host, guest, VSM_OP_CREDIT_UPDATE, 1, 0, 0, 65536, 0);
	tick(t, 9000, true);
	assert_int_equal(f->side[0].credit_unanswered, 1);
	assert_int_equal(f->side[0].credit_requests, 2);
	vsm_flows_free(t);
}

static void test_protocol_problems(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	struct ep a = { 3, 100 }, b = { 3, 101 }, c = { 3, 102 }, d = { 3, 103 }, e = { 3, 104 };
	struct vsm_flows_totals tot;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	/* data before the RESPONSE */
	at(t, 0, a, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	f = at(t, 1, a, host, VSM_OP_RW, 1, 0, 10, 65536, 0);
	assert_true(has(f, VSM_FP_DATA_BEFORE_RESPONSE));
	/* data after the sender's own SHUTDOWN SEND; a buffer size change */
	at(t, 0, b, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 1, host, b, VSM_OP_RESPONSE, 1, 0, 0, 65536, 0);
	at(t, 2, b, host, VSM_OP_SHUTDOWN, 1, VSM_SHUTDOWN_SEND, 0, 65536, 0);
	f = at(t, 3, b, host, VSM_OP_RW, 1, 0, 5, 65536, 0);
	assert_true(has(f, VSM_FP_DATA_AFTER_SHUTDOWN));
	assert_int_equal(f->state, VSM_FLOW_HALF_CLOSED);
	f = at(t, 4, host, b, VSM_OP_CREDIT_UPDATE, 1, 0, 0, 131072, 5);
	assert_true(has(f, VSM_FP_BUF_CHANGE));
	assert_int_equal(f->side[1].buf_changes, 1);
	/* refused; an abort (RST with no SHUTDOWN); a clean close is neither */
	at(t, 0, c, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	f = at(t, 1, host, c, VSM_OP_RST, 1, 0, 0, 0, 0);
	assert_true(has(f, VSM_FP_REFUSED));
	assert_int_equal(f->state, VSM_FLOW_REFUSED);
	at(t, 0, d, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 1, host, d, VSM_OP_RESPONSE, 1, 0, 0, 65536, 0);
	f = at(t, 2, d, host, VSM_OP_RST, 1, 0, 0, 65536, 0);
	assert_true(has(f, VSM_FP_ABORT));
	at(t, 0, e, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 1, host, e, VSM_OP_RESPONSE, 1, 0, 0, 65536, 0);
	at(t, 2, e, host, VSM_OP_SHUTDOWN, 1, VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND, 0, 65536, 0);
	f = at(t, 3, host, e, VSM_OP_RST, 1, 0, 0, 65536, 0);
	assert_int_equal(f->state, VSM_FLOW_CLOSED);
	assert_false(has(f, VSM_FP_ABORT));
	vsm_flows_totals(t, &tot);
	assert_int_equal(tot.refused, 1);
	assert_int_equal(tot.resets, 1);
	assert_int_equal(tot.closed, 1);
	assert_int_equal(tot.open, 2);
	assert_int_equal(tot.flows, 5);
	vsm_flows_free(t);
}

static void test_left_open(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *pend, *half;
	struct ep a = { 4, 1 }, b = { 4, 2 };

	assert_int_equal(vsm_flows_new(16, &t), 0);
	/* a connect nobody answers: incomplete after Linux's 2 s timeout */
	pend = at(t, 0, a, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	/* a half-close the other side never follows */
	at(t, 0, b, host, VSM_OP_REQUEST, 1, 0, 0, 65536, 0);
	at(t, 1, host, b, VSM_OP_RESPONSE, 1, 0, 0, 65536, 0);
	half = at(t, 2, b, host, VSM_OP_SHUTDOWN, 1, VSM_SHUTDOWN_SEND, 0, 65536, 0);
	tick(t, 1999, false);
	assert_false(has(pend, VSM_FP_INCOMPLETE));
	tick(t, 2000, false);
	assert_true(has(pend, VSM_FP_INCOMPLETE));
	assert_false(has(half, VSM_FP_HALF_OPEN));
	/* the end of the capture: what is still half-closed was left so */
	tick(t, 3000, true);
	assert_true(has(half, VSM_FP_HALF_OPEN));
	vsm_flows_free(t);
}

static void test_seqpacket_messages(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	at(t, 0, guest, host, VSM_OP_REQUEST, 2, 0, 0, 262144, 0);
	at(t, 1, host, guest, VSM_OP_RESPONSE, 2, 0, 0, 262144, 0);
	/* a 100000-byte message in two packets, then a 7-byte one with EOR, then a 1-byte one */
	at(t, 2, guest, host, VSM_OP_RW, 2, 0, 65536, 262144, 0);
	at(t, 3, guest, host, VSM_OP_RW, 2, VSM_SEQ_EOM, 100000 - 65536, 262144, 0);
	at(t, 4, guest, host, VSM_OP_RW, 2, VSM_SEQ_EOM | VSM_SEQ_EOR, 7, 262144, 0);
	f = at(t, 5, guest, host, VSM_OP_RW, 2, VSM_SEQ_EOM, 1, 262144, 0);
	assert_int_equal(f->side[0].msgs, 3);
	assert_int_equal(f->side[0].msgs_eor, 1);
	assert_int_equal(f->side[0].msg_min, 1);
	assert_int_equal(f->side[0].msg_max, 100000);
	assert_int_equal(f->side[0].rw_pkts, 4);
	assert_int_equal(f->side[0].bytes, 100008);
	vsm_flows_free(t);
}

static void test_midway_says_so(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;
	int64_t credit;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	/* joined midway: data and a RST, no handshake; nothing that needs the start is judged */
	at(t, 0, guest, host, VSM_OP_RW, 1, 0, 100, 65536, 500);
	f = at(t, 1, host, guest, VSM_OP_RW, 1, 0, 100, 65536, 77);
	assert_true(has(f, VSM_FP_MIDWAY));
	assert_false(has(f, VSM_FP_DATA_BEFORE_RESPONSE));
	assert_false(vsm_flow_credit(f, 0, &credit, NULL));
	assert_false(f->side[0].stalled);
	f = at(t, 2, guest, host, VSM_OP_RST, 1, 0, 0, 0, 0);
	assert_int_equal(f->state, VSM_FLOW_RESET);
	assert_false(has(f, VSM_FP_ABORT));	/* a SHUTDOWN may have been before the capture began */
	vsm_flows_free(t);
}

/* A 16 KiB packet in 4 KiB RX buffers whose third part waits 20 ms with credit left: likely an empty ring. */
static void test_ring_wait(void **state)
{
	struct vsm_flows *t;
	const struct vsm_flow *f;

	assert_int_equal(vsm_flows_new(16, &t), 0);
	at(t, 0, host, guest, VSM_OP_REQUEST, 1, 0, 0, 262144, 0);
	at(t, 1, guest, host, VSM_OP_RESPONSE, 1, 0, 0, 262144, 0);
	at(t, 10, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 0);
	f = at(t, 10, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 0);
	assert_false(has(f, VSM_FP_RING_WAIT));
	f = at(t, 30, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 0);
	assert_true(has(f, VSM_FP_RING_WAIT));
	assert_int_equal(f->side[0].ring_waits, 1);
	/* a pause after the sender's fwd_cnt moved is not a packet's parts: not counted */
	at(t, 31, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 0);
	f = at(t, 60, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 100);
	assert_int_equal(f->side[0].ring_waits, 1);
	/* nor alike pieces that never came back to back: an application writing a record now and then */
	at(t, 100, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 100);
	at(t, 120, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 100);
	f = at(t, 140, host, guest, VSM_OP_RW, 1, 0, 4096, 262144, 100);
	assert_int_equal(f->side[0].ring_waits, 1);
	vsm_flows_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credit_math),
		cmocka_unit_test(test_handshake_and_credit),
		cmocka_unit_test(test_buffer_shrink_is_not_an_overrun),
		cmocka_unit_test(test_midway_join_is_unknown),
		cmocka_unit_test(test_wraparound_stream),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_bound_and_eviction),
		cmocka_unit_test(test_many_flows_lookup),
		cmocka_unit_test(test_no_virtio_ignored),
		cmocka_unit_test(test_stall_start_end_duration),
		cmocka_unit_test(test_credit_request_unanswered),
		cmocka_unit_test(test_late_answer_without_tick),
		cmocka_unit_test(test_protocol_problems),
		cmocka_unit_test(test_left_open),
		cmocka_unit_test(test_seqpacket_messages),
		cmocka_unit_test(test_midway_says_so),
		cmocka_unit_test(test_ring_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
