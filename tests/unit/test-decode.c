/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-decode.c: the frame codec on well-formed, odd and hostile frames. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsockmon/decode.h>
#include <vsockmon/wire.h>

#include "testutil.h"

static struct vsm_pkt decode(const uint8_t *buf, size_t cap, size_t wire)
{
	struct vsm_pkt p;

	assert_int_equal(vsm_decode(buf, (uint32_t)cap, (uint32_t)wire, &p), 0);
	return p;
}

static void test_request_fields(void **state)
{
	uint8_t buf[256];
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1024, .dst_port = 1234,
			      .op = VSM_OP_REQUEST, .buf_alloc = 262144 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_int_equal(n, 76);
	assert_true(p.has_virtio);
	assert_int_equal(p.src_cid, 3);
	assert_int_equal(p.dst_cid, 2);
	assert_int_equal(p.src_port, 1024);
	assert_int_equal(p.dst_port, 1234);
	assert_int_equal(p.mon_op, VSM_MON_OP_CONNECT);
	assert_int_equal(p.transport, VSM_MON_TRANSPORT_VIRTIO);
	assert_int_equal(p.tp_len, 44);
	assert_int_equal(p.virtio.op, VSM_OP_REQUEST);
	assert_int_equal(p.virtio.type, VSM_TYPE_STREAM);
	assert_int_equal(p.virtio.buf_alloc, 262144);
	assert_int_equal(p.virtio.fwd_cnt, 0);
	assert_int_equal(p.payload_caplen, 0);
	assert_int_equal(p.problems, 0);
}

static void test_rw_payload(void **state)
{
	uint8_t buf[512];
	struct tu_frame f = { .src_cid = 1, .dst_cid = 1, .src_port = 5, .dst_port = 6, .op = VSM_OP_RW,
			      .len = 23, .payload_len = 23, .buf_alloc = 1, .fwd_cnt = 0xfffffff0u };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_int_equal(p.problems, 0);
	assert_int_equal(p.payload_caplen, 23);
	assert_int_equal(p.payload_wirelen, 23);
	assert_ptr_equal(p.payload, buf + 76);
	assert_int_equal(p.payload[22], 22);
	assert_int_equal(p.virtio.fwd_cnt, 0xfffffff0u);
	assert_int_equal(vsm_pkt_payload_len(&p), 23);
}

static void test_every_op_maps(void **state)
{
	static const uint16_t mon[] = { 0, 1, 1, 2, 2, 4, 3, 3 };
	uint8_t buf[128];

	for (uint16_t op = 1; op <= 7; op++) {
		struct tu_frame f = { .op = op, .len = op == VSM_OP_RW ? 1 : 0,
				      .payload_len = op == VSM_OP_RW ? 1 : 0 };
		size_t n = tu_build(buf, sizeof(buf), &f);
		struct vsm_pkt p = decode(buf, n, n);

		assert_int_equal(p.mon_op, mon[op]);
		assert_int_equal(p.problems, 0);
	}
}

static void test_seqpacket_flags(void **state)
{
	uint8_t buf[128];
	struct tu_frame f = { .op = VSM_OP_RW, .type = VSM_TYPE_SEQPACKET, .flags = 3, .len = 4, .payload_len = 4 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_int_equal(p.problems, 0);
	assert_int_equal(p.virtio.type, VSM_TYPE_SEQPACKET);
	/* EOM/EOR on a STREAM packet mean nothing: flagged. */
	f.type = VSM_TYPE_STREAM;
	n = tu_build(buf, sizeof(buf), &f);
	p = decode(buf, n, n);
	assert_int_equal(p.problems, VSM_PROB_UNKNOWN_FLAGS);
	/* SHUTDOWN knows RCV and SEND, nothing else. */
	f = (struct tu_frame){ .op = VSM_OP_SHUTDOWN, .flags = 3 };
	n = tu_build(buf, sizeof(buf), &f);
	assert_int_equal(decode(buf, n, n).problems, 0);
	f.flags = 7;
	n = tu_build(buf, sizeof(buf), &f);
	assert_int_equal(decode(buf, n, n).problems, VSM_PROB_UNKNOWN_FLAGS);
}

static void test_len_mismatch(void **state)
{
	uint8_t buf[256];
	/* The kernel's tap before 2026 wrote the whole skb for split packets: len disagrees. */
	struct tu_frame f = { .op = VSM_OP_RW, .len = 100, .payload_len = 40 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_true(p.has_virtio);
	assert_int_equal(p.problems, VSM_PROB_LEN_MISMATCH);
	assert_int_equal(p.payload_caplen, 40);
	assert_int_equal(vsm_pkt_payload_len(&p), 100);
}

static void test_snaplen_cut_payload(void **state)
{
	uint8_t buf[256];
	struct tu_frame f = { .op = VSM_OP_RW, .len = 100, .payload_len = 100 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, 96, n);

	assert_int_equal(p.problems, VSM_PROB_PAYLOAD_TRUNC);
	assert_int_equal(p.payload_caplen, 20);
	assert_int_equal(p.payload_wirelen, 100);
}

static void test_truncated_everywhere(void **state)
{
	uint8_t buf[256];
	struct tu_frame f = { .op = VSM_OP_RW, .len = 10, .payload_len = 10, .src_cid = 3 };
	size_t n = tu_build(buf, sizeof(buf), &f);

	/* Every cut, from nothing to the whole frame, decodes without reading past cap. */
	for (size_t cap = 0; cap <= n; cap++) {
		uint8_t *copy = malloc(cap ? cap : 1);
		struct vsm_pkt p;

		memcpy(copy, buf, cap);
		assert_int_equal(vsm_decode(copy, (uint32_t)cap, (uint32_t)n, &p), 0);
		if (cap < 76)
			assert_true(p.problems & VSM_PROB_TRUNCATED);
		else if (cap < n)
			assert_int_equal(p.problems, VSM_PROB_PAYLOAD_TRUNC);
		else
			assert_int_equal(p.problems, 0);
		assert_int_equal(p.has_virtio, cap >= 76);
		/* what was captured of the monitor header is kept */
		assert_int_equal(p.mon_caplen, cap < 32 ? cap : 32);
		if (cap >= 8)
			assert_int_equal(p.src_cid, 3);
		assert_int_equal(vsm_pkt_has_mon_field(&p, 16, 4), cap >= 20);
		free(copy);
	}
}

static void test_tp_len_not_44(void **state)
{
	uint8_t buf[256];
	/* A longer transport header: payload starts after tp_len bytes, not after 44. */
	struct tu_frame f = { .op = VSM_OP_RW, .tp_len = 48, .len = 8, .payload_len = 8 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_true(p.has_virtio);
	assert_int_equal(p.problems, VSM_PROB_TP_LEN);
	assert_ptr_equal(p.payload, buf + 32 + 48);
	assert_int_equal(p.payload_caplen, 8);
	/* Shorter than a virtio header: no virtio decode at all. */
	f.tp_len = 20;
	f.payload_len = 0;
	n = tu_build(buf, sizeof(buf), &f);
	p = decode(buf, n, n);
	assert_false(p.has_virtio);
	assert_true(p.problems & VSM_PROB_TP_LEN);
}

static void test_no_info_transport(void **state)
{
	uint8_t buf[256];
	/* NO_INFO with a non-zero length: the header's bytes are skipped (LINKTYPE_VSOCK page). */
	struct tu_frame f = { .transport = VSM_MON_TRANSPORT_NO_INFO, .mon_op = VSM_MON_OP_PAYLOAD,
			      .tp_len = 8, .payload_len = 5 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_false(p.has_virtio);
	assert_int_equal(p.problems, 0);
	assert_int_equal(p.payload_caplen, 5);
	assert_int_equal(vsm_pkt_payload_len(&p), 5);
}

static void test_unknowns(void **state)
{
	uint8_t buf[256];
	struct tu_frame f = { .op = 9, .type = 3, .mon_op = 7 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p = decode(buf, n, n);

	assert_true(p.problems & VSM_PROB_UNKNOWN_OP);
	assert_true(p.problems & VSM_PROB_UNKNOWN_TYPE);
	assert_true(p.problems & VSM_PROB_UNKNOWN_MON_OP);
	buf[26] = 9;	/* transport */
	p = decode(buf, n, n);
	assert_true(p.problems & VSM_PROB_UNKNOWN_TRANSPORT);
	assert_false(p.has_virtio);
}

static void test_op_mismatch_reserved_addr(void **state)
{
	uint8_t buf[256];
	struct tu_frame f = { .op = VSM_OP_RST, .mon_op = VSM_MON_OP_PAYLOAD, .src_cid = 3, .dst_cid = 2 };
	size_t n = tu_build(buf, sizeof(buf), &f);

	assert_int_equal(decode(buf, n, n).problems, VSM_PROB_OP_MISMATCH);
	f.mon_op = 0;
	n = tu_build(buf, sizeof(buf), &f);
	buf[31] = 1;	/* reserved byte */
	assert_int_equal(decode(buf, n, n).problems, VSM_PROB_RESERVED);
	n = tu_build(buf, sizeof(buf), &f);
	buf[32 + 4] = 1;	/* virtio src_cid upper half: reserved (and differs from the mon cid) */
	assert_int_equal(decode(buf, n, n).problems, VSM_PROB_RESERVED | VSM_PROB_ADDR_MISMATCH);
	n = tu_build(buf, sizeof(buf), &f);
	tu_put_le32(buf + 32 + 20, 99);	/* virtio dst_port */
	assert_int_equal(decode(buf, n, n).problems, VSM_PROB_ADDR_MISMATCH);
}

/* The bare header codec: encode then decode gives the same header, in the byte order of the spec. */
static void test_virtio_hdr_codec(void **state)
{
	struct vsm_virtio_hdr h = { .src_cid = 3, .dst_cid = 0x100000002ull, .src_port = 0xdeadbeef,
				    .dst_port = 1234, .len = 5, .type = 2, .op = 5, .flags = 3,
				    .buf_alloc = 262144, .fwd_cnt = 0xfffffff0u }, back;
	uint8_t b[44];

	vsm_encode_virtio_hdr(&h, b);
	assert_int_equal(b[0], 3);
	assert_int_equal(b[12], 1);		/* dst_cid upper half, little-endian */
	assert_int_equal(b[16], 0xef);
	assert_int_equal(b[30], 5);
	assert_int_equal(b[40], 0xf0);
	vsm_decode_virtio_hdr(b, &back);
	assert_int_equal(back.src_cid, h.src_cid);
	assert_int_equal(back.dst_cid, h.dst_cid);
	assert_int_equal(back.src_port, h.src_port);
	assert_int_equal(back.dst_port, h.dst_port);
	assert_int_equal(back.len, h.len);
	assert_int_equal(back.type, h.type);
	assert_int_equal(back.op, h.op);
	assert_int_equal(back.flags, h.flags);
	assert_int_equal(back.buf_alloc, h.buf_alloc);
	assert_int_equal(back.fwd_cnt, h.fwd_cnt);
	assert_int_equal(vsm_mon_op_for(VSM_OP_CREDIT_REQUEST), VSM_MON_OP_CONTROL);
	assert_int_equal(vsm_mon_op_for(VSM_OP_SHUTDOWN), VSM_MON_OP_DISCONNECT);
	assert_int_equal(vsm_mon_op_for(9), VSM_MON_OP_UNKNOWN);
}

static void test_null_args(void **state)
{
	struct vsm_pkt p;
	uint8_t b = 0;

	assert_int_equal(vsm_decode(NULL, 0, 0, &p), -EINVAL);
	assert_int_equal(vsm_decode(&b, 1, 1, NULL), -EINVAL);
}

static void test_random_bytes_never_crash(void **state)
{
	uint8_t buf[200];
	unsigned seed = 12345;

	for (int i = 0; i < 20000; i++) {
		uint32_t cap = (uint32_t)(rand_r(&seed) % sizeof(buf));
		struct vsm_pkt p;

		for (uint32_t j = 0; j < cap; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		assert_int_equal(vsm_decode(buf, cap, cap + (uint32_t)(rand_r(&seed) % 3), &p), 0);
		assert_true(p.payload_caplen <= cap);
		if (p.payload)
			assert_true(p.payload + p.payload_caplen <= buf + cap);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_rw_payload),
		cmocka_unit_test(test_every_op_maps),
		cmocka_unit_test(test_seqpacket_flags),
		cmocka_unit_test(test_len_mismatch),
		cmocka_unit_test(test_snaplen_cut_payload),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_tp_len_not_44),
		cmocka_unit_test(test_no_info_transport),
		cmocka_unit_test(test_unknowns),
		cmocka_unit_test(test_op_mismatch_reserved_addr),
		cmocka_unit_test(test_virtio_hdr_codec),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_random_bytes_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
