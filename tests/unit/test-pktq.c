/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pktq.c: the transport's packet queue: order, the copy of header and payload, and one meaning of its lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vtr/pktq.h>

static void fill_hdr(uint8_t *hdr, uint8_t mark)
{
	memset(hdr, mark, VSM_VIRTIO_HDR_LEN);
}

/* The packet is a copy: the caller's buffers may change after vtr_pkt_new(). */
static void test_new_copies(void **state)
{
	uint8_t hdr[VSM_VIRTIO_HDR_LEN], payload[5] = {1, 2, 3, 4, 5};
	struct vtr_pkt *p;

	(void)state;
	fill_hdr(hdr, 0xab);
	p = vtr_pkt_new(hdr, payload, sizeof(payload));
	assert_non_null(p);
	hdr[0] = 0;
	payload[0] = 9;
	assert_int_equal(p->payload_len, 5);
	assert_int_equal(vtr_pkt_hdr(p)[0], 0xab);
	assert_int_equal(vtr_pkt_hdr(p)[VSM_VIRTIO_HDR_LEN - 1], 0xab);
	assert_ptr_equal(vtr_pkt_payload(p), p->data + 44);
	assert_memory_equal(vtr_pkt_payload(p), ((uint8_t[]){1, 2, 3, 4, 5}), 5);
	assert_null(p->origin);
	free(p);
}

/* FIFO order; bytes counts each packet's 44-byte header and its payload, and goes back to 0. */
static void test_fifo_and_bytes(void **state)
{
	struct vtr_pktq q = {0};
	uint8_t hdr[VSM_VIRTIO_HDR_LEN], payload[100] = {0};
	struct vtr_pkt *p;

	(void)state;
	assert_null(vtr_pktq_pop(&q));
	for (uint8_t i = 0; i < 3; i++) {
		fill_hdr(hdr, i);
		vtr_pktq_push(&q, vtr_pkt_new(hdr, payload, i * 10u));
	}
	assert_int_equal(q.bytes, 3 * 44 + 0 + 10 + 20);
	assert_int_equal(vtr_pkt_size(20), 64);
	for (uint8_t i = 0; i < 3; i++) {
		p = vtr_pktq_pop(&q);
		assert_non_null(p);
		assert_null(p->next);
		assert_int_equal(vtr_pkt_hdr(p)[0], i);
		assert_int_equal(p->payload_len, i * 10u);
		free(p);
	}
	assert_null(q.head);
	assert_null(q.tail);
	assert_int_equal(q.bytes, 0);
	/* A header-only packet: no payload pointer needed. */
	fill_hdr(hdr, 7);
	vtr_pktq_push(&q, vtr_pkt_new(hdr, NULL, 0));
	assert_int_equal(q.bytes, 44);
	vtr_pktq_clear(&q);
	assert_null(q.head);
	assert_null(q.tail);
	assert_int_equal(q.bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_copies),
		cmocka_unit_test(test_fifo_and_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
