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
		assert_int_equal(f->state, VSM_FLOW_CLOSING);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
