/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-wire.c: the wire module: bounds-checked little-endian fields, both header codecs, the op mapping, credit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vsockmon/wire.h>

#include "testutil.h"

/* The byte order is the wire's whatever the host's: checked against bytes written out by hand. */
static void test_le_byte_order(void **state)
{
	const uint8_t b[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88 };
	uint8_t out[8];

	(void)state;
	assert_int_equal(vsm_le16(b), 0x0201);
	assert_int_equal(vsm_le32(b), 0x04030201u);
	assert_true(vsm_le64(b) == 0x8807060504030201ull);
	memset(out, 0, sizeof(out));
	vsm_put_le16(out, 0x0201);
	assert_memory_equal(out, b, 2);
	vsm_put_le32(out, 0x04030201u);
	assert_memory_equal(out, b, 4);
	vsm_put_le64(out, 0x8807060504030201ull);
	assert_memory_equal(out, b, 8);
	/* Unaligned: no alignment is assumed. */
	{
		uint8_t u[9] = { 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88 };

		assert_true(vsm_le64(u + 1) == 0x8807060504030201ull);
	}
}

/* A field past the end reads as 0 and is not written; one that fits exactly is. */
static void test_le_bounds(void **state)
{
	uint8_t b[10] = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(0x10 + i);
	assert_int_equal(vsm_get_le16(b, 10, 8), 0x1918);
	assert_int_equal(vsm_get_le16(b, 10, 9), 0);
	assert_int_equal(vsm_get_le32(b, 10, 6), 0x19181716u);
	assert_int_equal(vsm_get_le32(b, 10, 7), 0);
	assert_true(vsm_get_le64(b, 10, 2) == 0x1918171615141312ull);
	assert_true(vsm_get_le64(b, 10, 3) == 0);
	assert_true(vsm_get_le64(b, 0, 0) == 0);
	/* Offsets near SIZE_MAX must not wrap into the buffer. */
	assert_int_equal(vsm_get_le32(b, 10, SIZE_MAX - 1), 0);
	assert_false(vsm_wire_fits(10, SIZE_MAX, 2));
	assert_true(vsm_wire_fits(10, 10, 0));

	assert_false(vsm_set_le16(b, 10, 9, 0xabcd));
	assert_false(vsm_set_le32(b, 10, 7, 0xabcdef01u));
	assert_false(vsm_set_le64(b, 10, 3, 1));
	assert_int_equal(b[9], 0x19);	/* nothing written */
	assert_true(vsm_set_le16(b, 10, 8, 0xabcd));
	assert_int_equal(b[8], 0xcd);
	assert_int_equal(b[9], 0xab);
	assert_true(vsm_set_le32(b, 10, 6, 0x01020304u));
	assert_int_equal(vsm_get_le32(b, 10, 6), 0x01020304u);
	assert_true(vsm_set_le64(b, 10, 2, 0x1122334455667788ull));
	assert_true(vsm_get_le64(b, 10, 2) == 0x1122334455667788ull);
}

/* The monitor header: encode, then decode gives it back; the bytes are where linux/vsockmon.h puts them. */
static void test_mon_hdr_codec(void **state)
{
	const struct vsm_mon_hdr h = { .src_cid = 0x1122334455667788ull, .dst_cid = 2, .src_port = 0xdeadbeef,
				       .dst_port = 1234, .op = VSM_MON_OP_PAYLOAD,
				       .transport = VSM_MON_TRANSPORT_VIRTIO, .len = VSM_VIRTIO_HDR_LEN,
				       .reserved = { 0, 7 } };
	uint8_t b[VSM_MON_HDR_LEN], want[VSM_MON_HDR_LEN] = { 0 };
	struct vsm_mon_hdr back;

	(void)state;
	vsm_encode_mon_hdr(&h, b);
	tu_put_le64(want + 0, h.src_cid);
	tu_put_le64(want + 8, 2);
	tu_put_le32(want + 16, 0xdeadbeef);
	tu_put_le32(want + 20, 1234);
	tu_put_le16(want + 24, 4);
	tu_put_le16(want + 26, 2);
	tu_put_le16(want + 28, 44);
	want[31] = 7;
	assert_memory_equal(b, want, sizeof(b));
	vsm_decode_mon_hdr(b, sizeof(b), &back);
	assert_memory_equal(&back, &h, sizeof(h));
}

/* A monitor header cut short: what was captured stays (a cut field keeps its bytes), the rest is 0. */
static void test_mon_hdr_cut(void **state)
{
	uint8_t b[VSM_MON_HDR_LEN];
	struct vsm_mon_hdr h;

	(void)state;
	memset(b, 0xff, sizeof(b));
	vsm_decode_mon_hdr(b, 10, &h);
	assert_true(h.src_cid == UINT64_MAX);
	assert_true(h.dst_cid == 0xffff);
	assert_int_equal(h.src_port, 0);
	assert_int_equal(h.op, 0);
	assert_int_equal(h.len, 0);
	assert_int_equal(h.reserved[0] | h.reserved[1], 0);
	vsm_decode_mon_hdr(b, 0, &h);
	assert_true(h.src_cid == 0);
}

/* The tap's monitor header for a virtio header, as Linux's virtio_transport_build_skb() writes it. */
static void test_mon_hdr_for_virtio(void **state)
{
	(void)state;
	for (uint16_t op = 0; op <= VSM_OP_MAX + 1; op++) {
		const struct vsm_virtio_hdr v = { .src_cid = 3, .dst_cid = 2, .src_port = 1024, .dst_port = 5000,
						  .len = 9, .type = VSM_TYPE_STREAM, .op = op, .flags = 1,
						  .buf_alloc = 4096, .fwd_cnt = 17 };
		uint8_t vb[VSM_VIRTIO_HDR_LEN], mb[VSM_MON_HDR_LEN];
		struct vsm_mon_hdr m;

		vsm_encode_virtio_hdr(&v, vb);
		memset(mb, 0xee, sizeof(mb));
		vsm_mon_hdr_for_virtio(vb, mb);
		vsm_decode_mon_hdr(mb, sizeof(mb), &m);
		assert_true(m.src_cid == 3 && m.dst_cid == 2);
		assert_int_equal(m.src_port, 1024);
		assert_int_equal(m.dst_port, 5000);
		assert_int_equal(m.op, tu_mon_op_for(op));
		assert_int_equal(m.op, vsm_mon_op_for(op));
		assert_int_equal(m.transport, VSM_MON_TRANSPORT_VIRTIO);
		assert_int_equal(m.len, VSM_VIRTIO_HDR_LEN);
		assert_int_equal(m.reserved[0] | m.reserved[1], 0);
	}
}

/* The virtio header at its spec offsets (5.10.6), field by field, and back. */
static void test_virtio_offsets(void **state)
{
	const struct vsm_virtio_hdr v = { .src_cid = 0x100000003ull, .dst_cid = 2, .src_port = 1, .dst_port = 2,
					  .len = 3, .type = 4, .op = 5, .flags = 6, .buf_alloc = 7, .fwd_cnt = 8 };
	uint8_t b[VSM_VIRTIO_HDR_LEN], again[VSM_VIRTIO_HDR_LEN];
	struct vsm_virtio_hdr back;

	(void)state;
	vsm_encode_virtio_hdr(&v, b);
	assert_true(vsm_le64(b + VSM_VH_SRC_CID) == 0x100000003ull);
	assert_true(vsm_le64(b + VSM_VH_DST_CID) == 2);
	assert_int_equal(vsm_le32(b + VSM_VH_SRC_PORT), 1);
	assert_int_equal(vsm_le32(b + VSM_VH_DST_PORT), 2);
	assert_int_equal(vsm_le32(b + VSM_VH_LEN), 3);
	assert_int_equal(vsm_le16(b + VSM_VH_TYPE), 4);
	assert_int_equal(vsm_le16(b + VSM_VH_OP), 5);
	assert_int_equal(vsm_le32(b + VSM_VH_FLAGS), 6);
	assert_int_equal(vsm_le32(b + VSM_VH_BUF_ALLOC), 7);
	assert_int_equal(vsm_le32(b + VSM_VH_FWD_CNT), 8);
	assert_int_equal(VSM_OFF_V_FWD_CNT, 72);
	/* Back: the fields (v's padding is not defined), and the same bytes again. */
	vsm_decode_virtio_hdr(b, &back);
	assert_true(back.src_cid == v.src_cid && back.dst_cid == v.dst_cid);
	assert_int_equal(back.len, 3);
	assert_int_equal(back.op, 5);
	assert_int_equal(back.fwd_cnt, 8);
	vsm_encode_virtio_hdr(&back, again);
	assert_memory_equal(again, b, sizeof(b));
}

/* Credit, wrap-safe (virtio spec 5.10.6.3). */
static void test_credit(void **state)
{
	(void)state;
	assert_int_equal(vsm_in_flight(1000, 400), 600);
	assert_int_equal(vsm_in_flight(10, 0xfffffff0u), 26);
	assert_int_equal(vsm_credit(262144, 0, 0), 262144);
	assert_int_equal(vsm_credit(65536, 10, 0xfffffff0u), 65536 - 26);
	assert_int_equal(vsm_credit(100, 200, 0), -100);
	assert_true(vsm_credit(0, 0xffffffffu, 0) == -(int64_t)0xffffffffu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_le_byte_order),
		cmocka_unit_test(test_le_bounds),
		cmocka_unit_test(test_mon_hdr_codec),
		cmocka_unit_test(test_mon_hdr_cut),
		cmocka_unit_test(test_mon_hdr_for_virtio),
		cmocka_unit_test(test_virtio_offsets),
		cmocka_unit_test(test_credit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
