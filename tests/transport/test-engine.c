/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-engine.c: the engine's credit math and state machine, op by op, with what it must send in answer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vsockmon/wire.h>
#include <vtr/vtr.h>

#include "../../transport/protocol/credit.h"
#include "pair.h"

static struct pair *new_pair(void)
{
	struct pair *p = malloc(sizeof(*p));

	assert_non_null(p);
	pair_init(p, NULL, NULL);
	return p;
}

static void free_pair(struct pair *p)
{
	pair_free(p);
	free(p);
}

/* ---- credit math ---- */

static void test_credit_space(void **state)
{
	assert_int_equal(vtr_credit_space(262144, 262144, 0, 0), 262144);
	assert_int_equal(vtr_credit_space(262144, 262144, 100000, 40000), 262144 - 60000);
	/* capped by our own buffer (Linux "TX credit bounds") */
	assert_int_equal(vtr_credit_space(2u << 20, 65536, 0, 0), 65536);
	/* never negative */
	assert_int_equal(vtr_credit_space(1000, 262144, 5000, 0), 0);
	/* across the 2^32 wrap: tx_cnt has wrapped, peer_fwd_cnt not yet */
	assert_int_equal(vtr_credit_space(65536, 262144, 0x10, 0xfffffff0u), 65536 - 0x20);
}

static void test_credit_update_policy(void **state)
{
	/* nothing consumed since the last update: never */
	assert_false(vtr_credit_update_due(500, 500, 262144, 0));
	/* queue drained (below the 1-byte low-water mark): yes */
	assert_true(vtr_credit_update_due(23, 0, 262144, 0));
	/* lots of free space and data still queued: not yet */
	assert_false(vtr_credit_update_due(8192, 0, 262144, 100));
	/* less than 64 KiB looks free to the peer: yes */
	assert_true(vtr_credit_update_due(200000, 0, 262144, 100));
	/* wrap-safe */
	assert_true(vtr_credit_update_due(5, 0xfffffff0u, 262144, 0));
	assert_true(vtr_credit_rx_fits(0, 262144, 262144));
	assert_false(vtr_credit_rx_fits(1, 262144, 262144));
	assert_false(vtr_credit_rx_fits(0xffffffffu, 0xffffffffu, 262144));
}

/* ---- connection set-up ---- */

static void test_handshake(void **state)
{
	struct pair *p = new_pair();
	int l = vtr_listen(p->e[1], 1234, VTR_STREAM, 0), c, s;
	struct vtr_sock_info info;

	assert_true(l >= 0);
	assert_int_equal(vtr_listen(p->e[1], 1234, VTR_STREAM, 0), -EADDRINUSE);
	c = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	assert_true(c >= 0);
	assert_int_equal(vtr_sock_info(p->e[0], c, &info), 0);
	assert_int_equal(info.state, VTR_STATE_CONNECTING);
	assert_int_equal(vtr_accept(p->e[1], l), -EAGAIN);
	assert_int_equal(pair_run(p), 2);
	assert_int_equal(p->log[0].h.op, VSM_OP_REQUEST);
	assert_int_equal(p->log[0].h.buf_alloc, 262144);
	assert_int_equal(p->log[1].h.op, VSM_OP_RESPONSE);
	assert_int_equal(p->log[1].h.src_cid, 2);
	assert_int_equal(p->log[1].h.dst_port, p->log[0].h.src_port);
	assert_true(p->events[0][c] & VTR_EV_CONNECTED);
	assert_true(p->events[1][l] & VTR_EV_READABLE);
	s = vtr_accept(p->e[1], l);
	assert_true(s >= 0);
	assert_int_equal(vtr_sock_info(p->e[1], s, &info), 0);
	assert_int_equal(info.state, VTR_STATE_ESTABLISHED);
	assert_int_equal(info.peer_cid, 3);
	assert_int_equal(info.peer_buf_alloc, 262144);
	assert_true(vtr_poll(p->e[0], c) & VTR_EV_WRITABLE);
	free_pair(p);
}

/* vsock_test 0 "SOCK_STREAM connection reset": a connect to a port nobody listens on gets an RST. */
static void test_connection_reset(void **state)
{
	struct pair *p = new_pair();
	int c = vtr_connect(p->e[0], 2, 4321, VTR_STREAM, 0);
	struct vtr_stats st;

	pair_run(p);
	assert_int_equal(p->nlog, 2);
	assert_int_equal(p->log[1].h.op, VSM_OP_RST);
	assert_int_equal(p->log[1].h.buf_alloc, 0);
	assert_true(vtr_poll(p->e[0], c) & VTR_EV_HUP);
	assert_int_equal(vtr_sock_error(p->e[0], c), -ECONNRESET);
	assert_int_equal(vtr_send(p->e[0], c, "x", 1, 0), -EPIPE);
	vtr_engine_stats(p->e[1], &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.rst_sent, 1);
	free_pair(p);
}

static void test_connect_timeout(void **state)
{
	struct pair *p = new_pair();
	int c;

	p->drop_to[1] = true;	/* the host never hears the REQUEST */
	c = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	pair_run(p);
	assert_int_equal(vtr_next_timeout(p->e[0]), 2000);
	pair_advance_ms(p, 1999);
	assert_int_equal(vtr_poll(p->e[0], c) & VTR_EV_HUP, 0);
	pair_advance_ms(p, 1);
	assert_int_equal(vtr_sock_error(p->e[0], c), -ETIMEDOUT);
	assert_int_equal(vtr_next_timeout(p->e[0]), -1);
	free_pair(p);
}

static void test_type_mismatch_refused(void **state)
{
	struct pair *p = new_pair();
	int c;

	vtr_listen(p->e[1], 1234, VTR_STREAM, 0);
	c = vtr_connect(p->e[0], 2, 1234, VTR_SEQPACKET, 0);
	pair_run(p);
	assert_int_equal(p->log[1].h.op, VSM_OP_RST);
	assert_int_equal(p->log[1].h.type, VSM_TYPE_SEQPACKET);
	assert_int_equal(vtr_sock_error(p->e[0], c), -ECONNRESET);
	free_pair(p);
}

static void test_backlog_full(void **state)
{
	struct pair *p = new_pair();
	int l = vtr_listen(p->e[1], 1234, VTR_STREAM, 2);
	int c[3];

	for (int i = 0; i < 3; i++)
		c[i] = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	pair_run(p);
	assert_int_equal(vtr_poll(p->e[0], c[0]) & VTR_EV_HUP, 0);
	assert_int_equal(vtr_poll(p->e[0], c[1]) & VTR_EV_HUP, 0);
	assert_int_equal(vtr_sock_error(p->e[0], c[2]), -ECONNRESET);
	assert_true(vtr_accept(p->e[1], l) >= 0);
	assert_true(vtr_accept(p->e[1], l) >= 0);
	assert_int_equal(vtr_accept(p->e[1], l), -EAGAIN);
	free_pair(p);
}

/* ---- data and credit ---- */

static void test_stream_data_and_credit_updates(void **state)
{
	struct pair *p = new_pair();
	int c, s;
	char buf[100];
	size_t start;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	start = p->nlog;
	assert_int_equal(vtr_send(p->e[0], c, "hello, vsock world!!!!", 23, 0), 23);
	pair_run(p);
	assert_int_equal(p->log[start].h.op, VSM_OP_RW);
	assert_int_equal(p->log[start].h.len, 23);
	assert_true(p->events[1][s] & VTR_EV_READABLE);
	assert_int_equal(vtr_recv(p->e[1], s, buf, 10, VTR_MSG_PEEK, NULL), 10);
	assert_int_equal(vtr_recv(p->e[1], s, buf, sizeof(buf), 0, NULL), 23);
	assert_memory_equal(buf, "hello, vsock world!!!!", 23);
	pair_run(p);
	/* The reader drained its queue: a CREDIT_UPDATE with fwd_cnt 23, as Linux sends. */
	assert_int_equal(p->log[start + 1].h.op, VSM_OP_CREDIT_UPDATE);
	assert_int_equal(p->log[start + 1].h.fwd_cnt, 23);
	assert_int_equal(vtr_recv(p->e[1], s, buf, sizeof(buf), 0, NULL), -EAGAIN);
	free_pair(p);
}

/* A slow reader exhausts the sender's credit; reading restores it (vsock_test 38's bound too). */
static void test_credit_exhaustion_and_recovery(void **state)
{
	struct pair *p = new_pair();
	static uint8_t data[300000], out[300000];
	int c, s;
	ssize_t n, total = 0;
	size_t start;
	struct vtr_sock_info info;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	start = p->nlog;
	while ((n = vtr_send(p->e[0], c, data + total, sizeof(data) - total, 0)) > 0) {
		total += n;
		pair_run(p);
	}
	/* Exactly the peer's 256 KiB buffer went out, in 64 KiB packets, and no more. */
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(total, 262144);
	assert_int_equal(pair_count(p, start, 0, VSM_OP_RW), 4);
	assert_int_equal(vtr_sock_info(p->e[0], c, &info), 0);
	assert_int_equal(info.credit, 0);
	/* A waiting sender may ask; the answer is a CREDIT_UPDATE. */
	p->events[0][c] = 0;
	assert_int_equal(vtr_credit_request(p->e[0], c), 0);
	pair_run(p);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_CREDIT_UPDATE);
	assert_int_equal(p->events[0][c] & VTR_EV_WRITABLE, 0);	/* still nothing read */
	/*
	 * Linux's policy: after reading 100000 bytes the peer would still see 262144 - 100000 free,
	 * more than 64 KiB, and data is still queued: no update yet. Draining the queue sends one.
	 */
	start = p->nlog;
	assert_int_equal(vtr_recv(p->e[1], s, out, 100000, 0, NULL), 100000);
	pair_run(p);
	assert_int_equal(p->nlog, start);
	assert_int_equal(vtr_recv(p->e[1], s, out + 100000, sizeof(out) - 100000, 0, NULL), 162144);
	pair_run(p);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_CREDIT_UPDATE);
	assert_int_equal(p->log[p->nlog - 1].h.fwd_cnt, 262144);
	assert_true(p->events[0][c] & VTR_EV_WRITABLE);
	/* The rest flows as the reader reads, and arrives intact. */
	{
		size_t have = 262144;

		while (have < sizeof(data)) {
			ssize_t got;

			if (total < (ssize_t)sizeof(data)) {
				n = vtr_send(p->e[0], c, data + total, sizeof(data) - total, 0);
				if (n > 0)
					total += n;
			}
			pair_run(p);
			while ((got = vtr_recv(p->e[1], s, out + have, sizeof(out) - have, 0, NULL)) > 0)
				have += (size_t)got;
			pair_run(p);
		}
	}
	assert_memory_equal(out, data, sizeof(data));
	free_pair(p);
}

/*
 * max_unread_pkts (vsockdev sets it for Linux guests): the host stops at that many RW packets the
 * guest has not read whatever its credit, asks for credit at once and again after 10, 20... ms, and
 * goes on once the guest's fwd_cnt passes them.
 */
static void test_unread_packet_cap(void **state)
{
	struct pair *p = malloc(sizeof(*p));
	struct vtr_config host = { .max_pkt = 4, .max_unread_pkts = 2 };
	struct vtr_sock_info info;
	char buf[100];
	size_t start;
	int c, s;

	assert_non_null(p);
	pair_init(p, NULL, &host);
	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	start = p->nlog;
	/* Two packets of 4 bytes, then the cap: the rest waits, and the host asks for credit. */
	assert_int_equal(vtr_send(p->e[1], s, "0123456789", 10, 0), 8);
	assert_int_equal(vtr_send(p->e[1], s, "89", 2, 0), -EAGAIN);
	assert_int_equal(vtr_poll(p->e[1], s) & VTR_EV_WRITABLE, 0);
	assert_int_equal(vtr_sock_info(p->e[1], s, &info), 0);
	assert_int_equal(info.unread_pkts, 2);
	assert_int_equal(info.unread_room, 0);
	assert_true(info.credit > 8);
	pair_run(p);
	assert_int_equal(pair_count(p, start, 1, VSM_OP_RW), 2);
	assert_int_equal(pair_count(p, start, 1, VSM_OP_CREDIT_REQUEST), 1);
	assert_int_equal(p->log[start + 2].h.op, VSM_OP_CREDIT_REQUEST);
	/* The guest's answer says fwd_cnt 0: nothing read, still at the cap; the next ask after 10 ms. */
	assert_int_equal(vtr_next_timeout(p->e[1]), 10);
	pair_advance_ms(p, 10);
	vtr_tick(p->e[1]);
	pair_run(p);
	assert_int_equal(pair_count(p, start, 1, VSM_OP_CREDIT_REQUEST), 2);
	/* Then 20 ms: not after 10. */
	pair_advance_ms(p, 10);
	vtr_tick(p->e[1]);
	pair_run(p);
	assert_int_equal(pair_count(p, start, 1, VSM_OP_CREDIT_REQUEST), 2);
	pair_advance_ms(p, 10);
	vtr_tick(p->e[1]);
	pair_run(p);
	assert_int_equal(pair_count(p, start, 1, VSM_OP_CREDIT_REQUEST), 3);
	/* The guest reads both packets: its CREDIT_UPDATE frees the host, which may send again. */
	p->events[1][s] = 0;
	assert_int_equal(vtr_recv(p->e[0], c, buf, sizeof(buf), 0, NULL), 8);
	pair_run(p);
	assert_true(p->events[1][s] & VTR_EV_WRITABLE);
	assert_int_equal(vtr_sock_info(p->e[1], s, &info), 0);
	assert_int_equal(info.unread_pkts, 0);
	assert_int_equal(info.unread_room, 8);
	assert_int_equal(vtr_send(p->e[1], s, "89", 2, 0), 2);
	/* Without the cap (the default) the same send goes whole. */
	assert_int_equal(vtr_sock_info(p->e[0], c, &info), 0);
	assert_int_equal(info.unread_room, UINT64_MAX);
	free_pair(p);
}

static void test_stream_integrity_1mib(void **state)
{
	struct pair *p = new_pair();
	static uint8_t data[1 << 20], out[1 << 20];
	size_t sent = 0, got = 0;
	int c, s;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 2654435761u >> 13);
	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	while (got < sizeof(data)) {
		ssize_t n;

		if (sent < sizeof(data)) {
			n = vtr_send(p->e[0], c, data + sent, sizeof(data) - sent < 50000 ? sizeof(data) - sent : 50000, 0);
			if (n > 0)
				sent += (size_t)n;
		}
		pair_run(p);
		while ((n = vtr_recv(p->e[1], s, out + got, 7777, 0, NULL)) > 0)
			got += (size_t)n;
		pair_run(p);
	}
	assert_memory_equal(out, data, sizeof(data));
	/* credit fields always agree with the spec's view: nothing exceeded */
	for (size_t k = 0; k < p->nlog; k++)
		assert_true(p->log[k].h.len <= 65536);
	free_pair(p);
}

static void test_buffer_size_change(void **state)
{
	struct pair *p = new_pair();
	static uint8_t data[600000];
	int c, s;
	ssize_t n, total = 0;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	assert_int_equal(vtr_set_buffer_size(p->e[0], c, 1 << 20), 0);	/* the sender's own cap */
	assert_int_equal(vtr_set_buffer_size(p->e[1], s, 512 * 1024), 0);
	pair_run(p);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_CREDIT_UPDATE);
	assert_int_equal(p->log[p->nlog - 1].h.buf_alloc, 512 * 1024);
	while ((n = vtr_send(p->e[0], c, data + total, sizeof(data) - total, 0)) > 0) {
		total += n;
		pair_run(p);
	}
	assert_int_equal(total, 512 * 1024);
	assert_int_equal(vtr_set_buffer_size(p->e[1], s, 64), -EINVAL);
	free_pair(p);
}

/* ---- SEQPACKET ---- */

static void test_seqpacket_boundaries_eor(void **state)
{
	struct pair *p = new_pair();
	static uint8_t msg[200 * 1024], out[200 * 1024];
	static const uint32_t sizes[] = { 1, 2, 100, 4096, 65536, 65537, 150000, 200 * 1024 - 1 };
	int c, s;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i ^ (i >> 8));
	pair_connect(p, 1236, VTR_SEQPACKET, &c, &s);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t start = p->nlog, rw;
		unsigned flags;
		bool eor = k % 2;

		assert_int_equal(vtr_send(p->e[0], c, msg, sizes[k], eor ? VTR_MSG_EOR : 0), sizes[k]);
		pair_run(p);
		/* only the last packet carries EOM (and EOR when asked) */
		rw = pair_count(p, start, 0, VSM_OP_RW);
		assert_int_equal(rw, (sizes[k] + 65535) / 65536);
		for (size_t j = start, seen = 0; j < p->nlog; j++) {
			if (p->log[j].h.op != VSM_OP_RW)
				continue;
			seen++;
			assert_int_equal(p->log[j].h.type, VSM_TYPE_SEQPACKET);
			assert_int_equal(p->log[j].h.flags,
					 seen == rw ? (VSM_SEQ_EOM | (eor ? VSM_SEQ_EOR : 0)) : 0);
		}
		assert_int_equal(vtr_recv(p->e[1], s, out, sizeof(out), 0, &flags), sizes[k]);
		assert_int_equal(flags, eor ? VTR_MSG_EOR : 0);
		assert_memory_equal(out, msg, sizes[k]);
		pair_run(p);
		/* Linux sends a credit update after every message read. */
		assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_CREDIT_UPDATE);
	}
	free_pair(p);
}

/* vsock_test 7 "SOCK_SEQPACKET MSG_TRUNC flag" and 11 "SOCK_SEQPACKET big message". */
static void test_seqpacket_trunc_and_big(void **state)
{
	struct pair *p = new_pair();
	static uint8_t big[262145];
	uint8_t out[16];
	unsigned flags;
	int c, s;

	pair_connect(p, 1236, VTR_SEQPACKET, &c, &s);
	assert_int_equal(vtr_send(p->e[0], c, "0123456789abcdefghijklmnopqrstuv", 32, 0), 32);
	assert_int_equal(vtr_send(p->e[0], c, "next", 4, 0), 4);
	pair_run(p);
	assert_int_equal(vtr_recv(p->e[1], s, out, 16, 0, &flags), 16);
	assert_int_equal(flags, VTR_MSG_TRUNC);
	assert_memory_equal(out, "0123456789abcdef", 16);
	/* the rest of the truncated message is gone; the next one is intact */
	assert_int_equal(vtr_recv(p->e[1], s, out, 16, 0, &flags), 4);
	assert_memory_equal(out, "next", 4);
	assert_int_equal(vtr_send(p->e[0], c, big, sizeof(big), 0), -EMSGSIZE);
	free_pair(p);
}

/* ---- shutdown, close, reset ---- */

/* vsock_test 16 "SOCK_STREAM SHUT_WR": the half-closed connection keeps working the other way. */
static void test_shut_wr_half_close(void **state)
{
	struct pair *p = new_pair();
	char buf[16];
	int c, s;
	size_t start;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	assert_int_equal(vtr_send(p->e[0], c, "ping", 4, 0), 4);
	start = p->nlog;
	assert_int_equal(vtr_shutdown(p->e[0], c, VTR_SHUT_WR), 0);
	pair_run(p);
	assert_int_equal(p->log[start].h.op, VSM_OP_SHUTDOWN);
	assert_int_equal(p->log[start].h.flags, VSM_SHUTDOWN_SEND);
	assert_int_equal(vtr_send(p->e[0], c, "x", 1, 0), -EPIPE);
	assert_int_equal(vtr_recv(p->e[1], s, buf, sizeof(buf), 0, NULL), 4);
	assert_int_equal(vtr_recv(p->e[1], s, buf, sizeof(buf), 0, NULL), 0);	/* end of stream */
	assert_int_equal(vtr_send(p->e[1], s, "pong", 4, 0), 4);		/* the other way still works */
	pair_run(p);
	assert_int_equal(vtr_recv(p->e[0], c, buf, sizeof(buf), 0, NULL), 4);
	assert_memory_equal(buf, "pong", 4);
	free_pair(p);
}

/* vsock_test 17 "SOCK_STREAM SHUT_RD": the peer's SHUTDOWN RCV makes our sends fail with EPIPE. */
static void test_shut_rd(void **state)
{
	struct pair *p = new_pair();
	int c, s;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	assert_int_equal(vtr_shutdown(p->e[1], s, VTR_SHUT_RD), 0);
	pair_run(p);
	assert_int_equal(p->log[p->nlog - 1].h.flags, VSM_SHUTDOWN_RCV);
	assert_int_equal(vtr_send(p->e[0], c, "x", 1, 0), -EPIPE);
	assert_int_equal(vtr_send(p->e[1], s, "still", 5, 0), 5);
	free_pair(p);
}

/* Clean close (virtio spec 5.10.6.7): SHUTDOWN both ways, the peer answers RST, both ends are free. */
static void test_clean_close(void **state)
{
	struct pair *p = new_pair();
	struct vtr_stats st;
	char buf[8];
	int c, s;
	size_t start;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	start = p->nlog;
	assert_int_equal(vtr_close(p->e[0], c), 0);
	assert_int_equal(vtr_send(p->e[0], c, "x", 1, 0), -EBADF);
	pair_run(p);
	assert_int_equal(p->nlog - start, 2);
	assert_int_equal(p->log[start].h.op, VSM_OP_SHUTDOWN);
	assert_int_equal(p->log[start].h.flags, VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND);
	assert_int_equal(p->log[start + 1].h.op, VSM_OP_RST);
	assert_int_equal(p->log[start + 1].from, 1);
	assert_true(vtr_poll(p->e[1], s) & VTR_EV_HUP);
	assert_int_equal(vtr_recv(p->e[1], s, buf, sizeof(buf), 0, NULL), 0);
	assert_int_equal(vtr_sock_error(p->e[1], s), 0);	/* a clean end, not a reset */
	assert_int_equal(vtr_close(p->e[1], s), 0);
	vtr_engine_stats(p->e[0], &st);
	assert_int_equal(st.sockets, 0);
	vtr_engine_stats(p->e[1], &st);
	assert_int_equal(st.sockets, 1);	/* the listener */
	free_pair(p);
}

/* The peer never answers the SHUTDOWN: after the close timeout, an RST ends it (Linux: 8 s). */
static void test_close_timeout(void **state)
{
	struct pair *p = new_pair();
	struct vtr_stats st;
	int c, s;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	p->drop_to[1] = true;
	vtr_close(p->e[0], c);
	pair_run(p);
	assert_int_equal(vtr_next_timeout(p->e[0]), 8000);
	pair_advance_ms(p, 7999);
	vtr_engine_stats(p->e[0], &st);
	assert_int_equal(st.sockets, 1);
	pair_advance_ms(p, 1);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_RST);
	vtr_engine_stats(p->e[0], &st);
	assert_int_equal(st.sockets, 0);
	free_pair(p);
}

/*
 * vsockdev's host close: the host program's EOF became SHUT_WR, then its close() becomes vtr_close().
 * The guest got the first SHUTDOWN, holds unread data, and stays silent (no RST of its own, as Linux's
 * virtio_transport_recv_connected() answers a full SHUTDOWN only when nothing is left to read): the
 * close timeout ends it with an RST, as Linux's virtio_transport_close_timeout() does.
 */
static void test_half_close_then_close_timeout(void **state)
{
	struct pair *p = new_pair();
	struct vtr_stats st;
	int c, s;
	size_t start;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	assert_int_equal(vtr_send(p->e[0], c, "unread", 6, 0), 6);
	assert_int_equal(vtr_shutdown(p->e[0], c, VTR_SHUT_WR), 0);
	pair_run(p);
	start = p->nlog;
	assert_int_equal(vtr_close(p->e[0], c), 0);
	pair_run(p);
	/* One SHUTDOWN, now both ways; the peer says nothing. */
	assert_int_equal(p->nlog - start, 1);
	assert_int_equal(p->log[start].h.op, VSM_OP_SHUTDOWN);
	assert_int_equal(p->log[start].h.flags, VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND);
	assert_false(vtr_poll(p->e[1], s) & VTR_EV_HUP);
	assert_int_equal(vtr_next_timeout(p->e[0]), 8000);
	pair_advance_ms(p, 7999);
	assert_int_equal(p->nlog - start, 1);
	vtr_engine_stats(p->e[0], &st);
	assert_int_equal(st.sockets, 1);
	pair_advance_ms(p, 1);
	pair_run(p);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_RST);
	assert_int_equal(p->log[p->nlog - 1].from, 0);
	assert_true(vtr_poll(p->e[1], s) & VTR_EV_HUP);
	vtr_engine_stats(p->e[0], &st);
	assert_int_equal(st.sockets, 0);
	free_pair(p);
}

static void test_reset_and_no_rst_for_rst(void **state)
{
	struct pair *p = new_pair();
	uint8_t pkt[64];
	size_t n, start;
	int c, s;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	assert_int_equal(vtr_reset(p->e[0], c), 0);
	pair_run(p);
	assert_int_equal(vtr_sock_error(p->e[1], s), -ECONNRESET);
	/* An RST for a connection nobody has is dropped silently: never an RST for an RST. */
	start = p->nlog;
	n = pair_build(pkt, 3, 9999, 2, 1234, VSM_TYPE_STREAM, VSM_OP_RST, 0, 0, 0, NULL, 0);
	assert_int_equal(pair_inject(p, 1, pkt, n), 0);
	pair_run(p);
	assert_int_equal(p->nlog, start);
	free_pair(p);
}

/* ---- a hostile or broken peer ---- */

static void test_data_beyond_credit_is_reset(void **state)
{
	struct pair *p = new_pair();
	static uint8_t junk[65536];
	uint8_t *pkt = malloc(44 + 65536);
	struct vtr_stats st;
	struct vtr_sock_info info;
	size_t n;
	int c, s;

	assert_non_null(pkt);
	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	assert_int_equal(vtr_sock_info(p->e[0], c, &info), 0);
	/* Five 64 KiB RWs into a 256 KiB buffer nobody reads: the fifth exceeds the credit. */
	for (int i = 0; i < 5; i++) {
		n = pair_build(pkt, 3, info.local_port, 2, 1234, VSM_TYPE_STREAM, VSM_OP_RW, 0, 262144, 0, junk, 65536);
		pair_inject(p, 1, pkt, n);
	}
	pair_run(p);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_RST);
	assert_int_equal(vtr_sock_error(p->e[1], s), -EPROTO);
	vtr_engine_stats(p->e[1], &st);
	assert_int_equal(st.violations, 1);
	free(pkt);
	free_pair(p);
}

static void test_every_op_on_a_listener(void **state)
{
	struct pair *p = new_pair();
	uint8_t pkt[64];

	vtr_listen(p->e[1], 1234, VTR_STREAM, 0);
	/* Anything but REQUEST to a listening port is data before a connection: RST (never for RST). */
	for (uint16_t op = 0; op <= 9; op++) {
		size_t start = p->nlog, n;

		if (op == VSM_OP_REQUEST)
			continue;
		n = pair_build(pkt, 3, 5555, 2, 1234, VSM_TYPE_STREAM, op, 0, 4096, 0, NULL, 0);
		pair_inject(p, 1, pkt, n);
		pair_run(p);
		if (op == VSM_OP_RST) {
			assert_int_equal(p->nlog, start);
		} else {
			assert_int_equal(p->nlog, start + 1);
			assert_int_equal(p->log[start].h.op, VSM_OP_RST);
			assert_int_equal(p->log[start].h.dst_port, 5555);
		}
	}
	free_pair(p);
}

static void test_every_op_when_established(void **state)
{
	/* What the engine answers to each op on an established connection. */
	static const struct { uint16_t op; uint32_t flags; uint16_t answer; bool alive; } cases[] = {
		{ VSM_OP_INVALID, 0, VSM_OP_RST, false },
		{ VSM_OP_REQUEST, 0, VSM_OP_RST, false },
		{ VSM_OP_RESPONSE, 0, VSM_OP_RST, false },
		{ VSM_OP_RST, 0, 0, false },
		{ VSM_OP_SHUTDOWN, VSM_SHUTDOWN_SEND, 0, true },
		{ VSM_OP_SHUTDOWN, VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND, VSM_OP_RST, false },
		{ VSM_OP_RW, 0, 0, true },
		{ VSM_OP_CREDIT_UPDATE, 0, 0, true },
		{ VSM_OP_CREDIT_REQUEST, 0, VSM_OP_CREDIT_UPDATE, true },
		{ 8, 0, VSM_OP_RST, false },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pair *p = new_pair();
		struct vtr_sock_info info;
		uint8_t pkt[64];
		size_t n, start;
		int c, s;

		pair_connect(p, 1234, VTR_STREAM, &c, &s);
		vtr_sock_info(p->e[0], c, &info);
		start = p->nlog;
		n = pair_build(pkt, 3, info.local_port, 2, 1234, VSM_TYPE_STREAM, cases[k].op, cases[k].flags, 262144, 0,
			       (const uint8_t *)"abcd", cases[k].op == VSM_OP_RW ? 4 : 0);
		pair_inject(p, 1, pkt, n);
		if (cases[k].answer) {
			assert_true(p->nlog > start);
			assert_int_equal(p->log[start].h.op, cases[k].answer);
		} else {
			assert_int_equal(p->nlog, start);
		}
		vtr_sock_info(p->e[1], s, &info);
		assert_int_equal(info.state == VTR_STATE_ESTABLISHED, cases[k].alive);
		free_pair(p);
	}
}

/* Each op (0 to 9) from the peer to a socket in the state set up by setup(), and what must answer it. */
struct op_case {
	uint16_t op;
	uint32_t flags;
	uint16_t answer;	/* the op sent in answer, 0 for none */
	int state;		/* the socket's state afterwards */
	int error;		/* its pending error afterwards */
};

/* A connect the host never answers: the client (engine 0) waits for RESPONSE. */
static int setup_connecting(struct pair *p)
{
	int c;

	p->drop_to[1] = true;
	c = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	pair_run(p);
	return c;
}

/* An established connection the client (engine 0) has closed: it waits for the host's RST. */
static int setup_closing(struct pair *p)
{
	int c, s;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	p->drop_to[1] = true;
	assert_int_equal(vtr_close(p->e[0], c), 0);
	pair_run(p);
	return c;
}

/* Injects each case's op into engine 0, from the host's end of the socket setup() made. */
static void check_ops(int (*setup)(struct pair *), const struct op_case *cases, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct pair *p = new_pair();
		int c = setup(p);
		struct vtr_sock_info info;
		uint8_t pkt[64];
		size_t len, start;

		assert_int_equal(vtr_sock_info(p->e[0], c, &info), 0);
		start = p->nlog;
		len = pair_build(pkt, 2, 1234, 3, info.local_port, VSM_TYPE_STREAM, cases[k].op, cases[k].flags,
				 262144, 0, (const uint8_t *)"abcd", cases[k].op == VSM_OP_RW ? 4 : 0);
		pair_inject(p, 0, pkt, len);
		if (cases[k].answer) {
			assert_int_equal(p->nlog, start + 1);
			assert_int_equal(p->log[start].h.op, cases[k].answer);
			assert_int_equal(p->log[start].h.dst_port, 1234);
		} else {
			assert_int_equal(p->nlog, start);
		}
		/* A socket closed by the user is gone once its connection ends. */
		if (vtr_sock_info(p->e[0], c, &info) == 0) {
			assert_int_equal(info.state, cases[k].state);
			if (cases[k].state != VTR_STATE_CLOSING)
				assert_int_equal(vtr_sock_error(p->e[0], c), cases[k].error);
		} else {
			assert_int_equal(cases[k].state, VTR_STATE_FREE);
		}
		free_pair(p);
	}
}

static void test_every_op_when_connecting(void **state)
{
	/* Linux's virtio_transport_recv_connecting(): RESPONSE completes, INVALID is ignored, RST refuses,
	 * anything else is a protocol error answered by RST. */
	static const struct op_case cases[] = {
		{ VSM_OP_INVALID, 0, 0, VTR_STATE_CONNECTING, 0 },
		{ VSM_OP_REQUEST, 0, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
		{ VSM_OP_RESPONSE, 0, 0, VTR_STATE_ESTABLISHED, 0 },
		{ VSM_OP_RST, 0, 0, VTR_STATE_CLOSED, -ECONNRESET },
		{ VSM_OP_SHUTDOWN, VSM_SHUTDOWN_SEND, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
		{ VSM_OP_RW, 0, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
		{ VSM_OP_CREDIT_UPDATE, 0, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
		{ VSM_OP_CREDIT_REQUEST, 0, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
		{ 8, 0, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
		{ 9, 0, VSM_OP_RST, VTR_STATE_CLOSED, -EPROTO },
	};

	check_ops(setup_connecting, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_every_op_when_closing(void **state)
{
	/* After close(): the peer's RST ends it; its SHUTDOWN and data are taken (so its credit moves) without
	 * an answer; a CREDIT_REQUEST is still answered; nothing else draws a packet. */
	static const struct op_case cases[] = {
		{ VSM_OP_INVALID, 0, 0, VTR_STATE_CLOSING, 0 },
		{ VSM_OP_REQUEST, 0, 0, VTR_STATE_CLOSING, 0 },
		{ VSM_OP_RESPONSE, 0, 0, VTR_STATE_CLOSING, 0 },
		{ VSM_OP_RST, 0, 0, VTR_STATE_FREE, 0 },
		{ VSM_OP_SHUTDOWN, VSM_SHUTDOWN_SEND, 0, VTR_STATE_CLOSING, 0 },
		{ VSM_OP_RW, 0, 0, VTR_STATE_CLOSING, 0 },
		{ VSM_OP_CREDIT_UPDATE, 0, 0, VTR_STATE_CLOSING, 0 },
		{ VSM_OP_CREDIT_REQUEST, 0, VSM_OP_CREDIT_UPDATE, VTR_STATE_CLOSING, 0 },
		{ 8, 0, 0, VTR_STATE_CLOSING, 0 },
		{ 9, 0, 0, VTR_STATE_CLOSING, 0 },
	};

	check_ops(setup_closing, cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_every_op_without_socket(void **state)
{
	struct pair *p = new_pair();
	uint8_t pkt[64];

	/* No socket at all on the port: every packet but an RST draws an RST (virtio_transport_reset_no_sock()). */
	for (uint16_t op = 0; op <= 9; op++) {
		size_t start = p->nlog, n;

		n = pair_build(pkt, 3, 5555, 2, 4444, VSM_TYPE_SEQPACKET, op, 0, 4096, 0, NULL, 0);
		pair_inject(p, 1, pkt, n);
		if (op == VSM_OP_RST) {
			assert_int_equal(p->nlog, start);
			continue;
		}
		assert_int_equal(p->nlog, start + 1);
		assert_int_equal(p->log[start].h.op, VSM_OP_RST);
		assert_int_equal(p->log[start].h.type, VSM_TYPE_SEQPACKET);
		assert_int_equal(p->log[start].h.dst_port, 5555);
		assert_int_equal(p->log[start].h.src_port, 4444);
	}
	free_pair(p);
}

/* A device forwarding to host services: anything but port 7 has someone behind it. */
static int admit_all_but_7(struct pair *p, int i, uint32_t local_port, uint64_t peer_cid, uint32_t peer_port)
{
	if (local_port == 7)
		return -ECONNREFUSED;
	p->admitted++;
	return 0;
}

static void test_wildcard_listener_and_admit(void **state)
{
	struct pair *p = new_pair();
	int any = vtr_listen(p->e[1], VTR_PORT_ANY, VTR_STREAM, 0), own, c1, c2, c3, s;
	struct vtr_sock_info info;
	size_t start;

	p->admit = admit_all_but_7;
	assert_true(any >= 0);
	assert_int_equal(vtr_listen(p->e[1], VTR_PORT_ANY, VTR_STREAM, 0), -EADDRINUSE);
	assert_true(vtr_listen(p->e[1], VTR_PORT_ANY, VTR_SEQPACKET, 0) >= 0);
	own = vtr_listen(p->e[1], 1234, VTR_STREAM, 0);
	assert_true(own >= 0);

	/* A port without a listener of its own: the wildcard takes it, with its port. */
	c1 = vtr_connect(p->e[0], 2, 5000, VTR_STREAM, 0);
	pair_run(p);
	assert_true(p->events[0][c1] & VTR_EV_CONNECTED);
	s = vtr_accept(p->e[1], any);
	assert_true(s >= 0);
	assert_int_equal(vtr_sock_info(p->e[1], s, &info), 0);
	assert_int_equal(info.local_port, 5000);
	assert_int_equal(info.peer_cid, 3);
	/* A port with its own listener goes there, not to the wildcard (the hook still decides). */
	c2 = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	pair_run(p);
	assert_true(p->events[0][c2] & VTR_EV_CONNECTED);
	assert_true(vtr_accept(p->e[1], own) >= 0);
	assert_int_equal(vtr_accept(p->e[1], any), -EAGAIN);
	assert_int_equal(p->admitted, 2);
	/* Refused by the hook: an RST at once, the connect fails with ECONNRESET, nothing to accept. */
	start = p->nlog;
	c3 = vtr_connect(p->e[0], 2, 7, VTR_STREAM, 0);
	pair_run(p);
	assert_int_equal(p->nlog, start + 2);
	assert_int_equal(p->log[start + 1].h.op, VSM_OP_RST);
	assert_int_equal(vtr_sock_error(p->e[0], c3), -ECONNRESET);
	assert_int_equal(vtr_accept(p->e[1], any), -EAGAIN);
	free_pair(p);
}

static void test_unknown_type_and_malformed(void **state)
{
	struct pair *p = new_pair();
	uint8_t pkt[128];
	struct vtr_stats st;
	size_t n;

	vtr_listen(p->e[1], 1234, VTR_STREAM, 0);
	/* virtio spec: an unknown type gets an RST reply */
	n = pair_build(pkt, 3, 5, 2, 1234, 3, VSM_OP_REQUEST, 0, 0, 0, NULL, 0);
	pair_inject(p, 1, pkt, n);
	assert_int_equal(p->log[p->nlog - 1].h.op, VSM_OP_RST);
	assert_int_equal(p->log[p->nlog - 1].h.type, 3);
	/* shorter than a header, a len that lies, another CID: dropped and counted, no answer */
	assert_int_equal(pair_inject(p, 1, pkt, 43), -EINVAL);
	n = pair_build(pkt, 3, 5, 2, 1234, VSM_TYPE_STREAM, VSM_OP_RW, 0, 0, 0, (const uint8_t *)"abc", 3);
	pair_inject(p, 1, pkt, n - 1);
	n = pair_build(pkt, 3, 5, 7, 1234, VSM_TYPE_STREAM, VSM_OP_REQUEST, 0, 0, 0, NULL, 0);
	pair_inject(p, 1, pkt, n);
	vtr_engine_stats(p->e[1], &st);
	assert_int_equal(st.malformed, 3);
	assert_int_equal(p->nlog, 1);
	free_pair(p);
}

/* ---- the wire says "not now" ---- */

static void test_wire_backpressure_keeps_order(void **state)
{
	struct pair *p = new_pair();
	static uint8_t data[100000], out[100000];
	size_t got = 0;
	int c, s;

	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	p->wire_full[0] = true;
	assert_int_equal(vtr_send(p->e[0], c, data, 100000, 0), 100000);
	assert_true(vtr_want_write(p->e[0]));
	assert_int_equal(p->q[1].count, 0);
	p->wire_full[0] = false;
	assert_int_equal(vtr_flush(p->e[0]), 0);
	assert_false(vtr_want_write(p->e[0]));
	pair_run(p);
	for (ssize_t n; (n = vtr_recv(p->e[1], s, out + got, sizeof(out) - got, 0, NULL)) > 0;)
		got += (size_t)n;
	assert_int_equal(got, 100000);
	free_pair(p);
}

/* vsock_test 4 "SOCK_STREAM multiple connections": 100 at once, a byte each way. */
static void test_multiple_connections(void **state)
{
	struct pair *p = new_pair();
	int l = vtr_listen(p->e[1], 1234, VTR_STREAM, 128), c[100], s[100];

	for (int i = 0; i < 100; i++)
		c[i] = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	pair_run(p);
	for (int i = 0; i < 100; i++) {
		s[i] = vtr_accept(p->e[1], l);
		assert_true(s[i] >= 0);
		assert_int_equal(vtr_send(p->e[0], c[i], &(char){ (char)i }, 1, 0), 1);
	}
	pair_run(p);
	for (int i = 0; i < 100; i++) {
		char b;

		/* each connection got its own byte: the lookup never mixes connections */
		assert_int_equal(vtr_recv(p->e[1], s[i], &b, 1, 0, NULL), 1);
		assert_int_equal(b, (char)i);
	}
	free_pair(p);
}

/* The limits a hostile peer runs into (documented in vtr.h). */
static void test_limits_rx_budget_and_tx_queue(void **state)
{
	struct vtr_config small = { .max_rx_queue = 100000, .max_tx_queue = 4096 };
	struct pair *p = malloc(sizeof(*p));
	static uint8_t data[150000];
	struct vtr_stats st;
	uint8_t pkt[64];
	int c, s;

	assert_non_null(p);
	pair_init(p, NULL, &small);
	pair_connect(p, 1234, VTR_STREAM, &c, &s);
	/* Credit allows 256 KiB, but the host holds at most 100000 unread bytes of all connections. */
	assert_int_equal(vtr_send(p->e[0], c, data, sizeof(data), 0), sizeof(data));
	pair_run(p);
	assert_int_equal(vtr_sock_error(p->e[1], s), -ENOBUFS);
	vtr_engine_stats(p->e[1], &st);
	assert_true(st.rx_queue_bytes <= 100000);
	/* A peer flooding CREDIT_REQUESTs while the host's wire is stuck: the answers queue up to a bound. */
	pair_connect(p, 1235, VTR_STREAM, &c, &s);
	{
		struct vtr_sock_info info;

		vtr_sock_info(p->e[0], c, &info);
		p->wire_full[1] = true;
		for (int i = 0; i < 1000; i++) {
			size_t n = pair_build(pkt, 3, info.local_port, 2, 1235, VSM_TYPE_STREAM, VSM_OP_CREDIT_REQUEST,
					      0, 262144, 0, NULL, 0);

			pair_inject(p, 1, pkt, n);
		}
	}
	vtr_engine_stats(p->e[1], &st);
	assert_true(st.tx_queue_bytes <= 2 * 4096);
	assert_true(st.tx_dropped > 0);
	assert_int_equal(st.tx_queue_bytes / 44 + st.tx_dropped, 1000);
	p->wire_full[1] = false;
	assert_int_equal(vtr_flush(p->e[1]), 0);
	pair_free(p);
	free(p);
}

/* Ephemeral ports wrap before 0xffffffff (VMADDR_PORT_ANY) and skip ports in use. */
static void test_ephemeral_ports(void **state)
{
	struct vtr_config cfg = { .ephemeral_min = 0xfffffffdu };
	struct pair *p = malloc(sizeof(*p));
	struct vtr_sock_info info;
	int c;

	assert_non_null(p);
	pair_init(p, &cfg, NULL);
	c = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	vtr_sock_info(p->e[0], c, &info);
	assert_int_equal(info.local_port, 0xfffffffdu);
	c = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	vtr_sock_info(p->e[0], c, &info);
	assert_int_equal(info.local_port, 0xfffffffeu);
	/* The range holds two ports: both in use, and 0xffffffff is never handed out. */
	assert_int_equal(vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0), -EADDRNOTAVAIL);
	/* Freeing one makes it available again after the wrap. */
	vtr_close(p->e[0], 0);
	c = vtr_connect(p->e[0], 2, 1234, VTR_STREAM, 0);
	assert_true(c >= 0);
	vtr_sock_info(p->e[0], c, &info);
	assert_int_equal(info.local_port, 0xfffffffdu);
	pair_free(p);
	free(p);
}

static void test_bad_calls(void **state)
{
	struct pair *p = new_pair();
	char b;

	assert_int_equal(vtr_send(p->e[0], 7, "x", 1, 0), -EBADF);
	assert_int_equal(vtr_recv(p->e[0], -1, &b, 1, 0, NULL), -EBADF);
	assert_int_equal(vtr_listen(p->e[0], 1, 9, 0), -ESOCKTNOSUPPORT);
	assert_int_equal(vtr_shutdown(p->e[0], 0, VTR_SHUT_RD), -EBADF);
	assert_int_equal(vtr_engine_new(NULL, NULL, NULL, NULL), -EINVAL);
	assert_string_equal(vtr_state_name(VTR_STATE_CLOSING), "closing");
	free_pair(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_credit_space),
		cmocka_unit_test(test_credit_update_policy),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_connection_reset),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_type_mismatch_refused),
		cmocka_unit_test(test_backlog_full),
		cmocka_unit_test(test_stream_data_and_credit_updates),
		cmocka_unit_test(test_credit_exhaustion_and_recovery),
		cmocka_unit_test(test_unread_packet_cap),
		cmocka_unit_test(test_stream_integrity_1mib),
		cmocka_unit_test(test_buffer_size_change),
		cmocka_unit_test(test_seqpacket_boundaries_eor),
		cmocka_unit_test(test_seqpacket_trunc_and_big),
		cmocka_unit_test(test_shut_wr_half_close),
		cmocka_unit_test(test_shut_rd),
		cmocka_unit_test(test_clean_close),
		cmocka_unit_test(test_close_timeout),
		cmocka_unit_test(test_half_close_then_close_timeout),
		cmocka_unit_test(test_reset_and_no_rst_for_rst),
		cmocka_unit_test(test_data_beyond_credit_is_reset),
		cmocka_unit_test(test_every_op_on_a_listener),
		cmocka_unit_test(test_every_op_when_established),
		cmocka_unit_test(test_every_op_when_connecting),
		cmocka_unit_test(test_every_op_when_closing),
		cmocka_unit_test(test_every_op_without_socket),
		cmocka_unit_test(test_wildcard_listener_and_admit),
		cmocka_unit_test(test_unknown_type_and_malformed),
		cmocka_unit_test(test_wire_backpressure_keeps_order),
		cmocka_unit_test(test_multiple_connections),
		cmocka_unit_test(test_limits_rx_budget_and_tx_queue),
		cmocka_unit_test(test_ephemeral_ports),
		cmocka_unit_test(test_bad_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
