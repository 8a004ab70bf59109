/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-engine.c: a hostile peer and a careless user drive one engine from fuzz bytes; its limits and invariants are checked after every step. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/wire.h>
#include <vtr/vtr.h>

#include "fuzz.h"

/*
 * Each input builds a fresh engine (CID 2) with small limits, two listeners (STREAM 1234,
 * SEQPACKET 1236) and one connect in progress (from port 40000 to 3:5000), then reads commands:
 *
 *   byte c, by c % 16:
 *   0-7   PEER: a packet from the wire built from fields, valid-ish by default so the state
 *         machine is reached, each field replaceable by raw bytes:
 *           sel, sel2, op (% 10)
 *           src_cid  = sel & 1 ? u8 : 3            dst_cid = sel & 2 ? 3 + u8 : 2
 *           src_port = sel2 & 1 ? u32 : {5000, 6000, 6001, 6002}[sel >> 2 & 3]
 *           dst_port = sel2 & 2 ? u32 : {1234, 1236, 40000, 40001}[sel >> 4 & 3]
 *           type     = {1, 2, 1, u8}[sel >> 6]
 *           flags    = sel2 & 4 ? u8 : (SHUTDOWN: 3; SEQPACKET RW: EOM; else 0)
 *           buf_alloc= {4096, 65536, 0, u32}[sel2 >> 3 & 3]
 *           fwd_cnt  = sel2 & 32 ? u32 : all the engine sent on that port pair (an honest peer)
 *           len      = RW ? u16 % 5000 : (sel2 & 64 ? u8 : 0)
 *           payload  = sel2 & 64 ? len bytes of input : a pattern (keeps inputs short)
 *           hdr.len  = sel2 & 128 ? u32 : len
 *   8-9   RAW: u16 % 200 bytes as they are (headers cut short, garbage)
 *   10-12 USER: u8 % 14 picks the call, u8 % 10 the socket (8 and 9 never exist), then its
 *         arguments (see user_call())
 *   13    TIME: the clock moves u8 * 4 ms, timers run
 *   14    WIRE: the wire starts or stops refusing packets (stopping flushes)
 *   15    FLUSH and TICK
 *
 * Multi-byte values are little-endian; a missing byte reads as 0. tests/fuzz/mkcorpus.py writes
 * the seed corpus in this format.
 *
 * Checked, on every packet the engine sends: a well-formed header (len as sent, at most max_pkt,
 * our CID, a known op, no payload but on RW, flags that op can carry), and never an RST answering
 * an RST (virtio spec 5.10.6.4, Linux's virtio_transport_reset()). After every command: sockets <=
 * max_sockets, held packets <= 2 * max_tx_queue, unread bytes <= max_rx_queue and equal to the sum
 * over sockets, each socket's unread bytes within the largest buffer it advertised, a send never
 * beyond the credit it had. Any failure aborts. FUZZ_TRACE=1 in the environment prints every
 * packet in and out, to read a finding.
 */

#define ENGINE_CID	2
#define PEER_CID	3
#define MAX_SOCKETS	8
#define MAX_PKT		1024
#define MAX_TX_QUEUE	8192
#define MAX_RX_QUEUE	24576		/* less than 8 sockets * 4096: the engine-wide bound is reachable */
#define MAX_BUF		65536
#define EPHEMERAL	40000
#define MAX_PAYLOAD	5000
#define USER_BUF	9000
#define NFLOWS		16

struct flow {			/* bytes the engine sent on one port pair: an honest peer's fwd_cnt */
	uint32_t local, peer;
	uint32_t sent;
	bool used;
};

struct harness {
	struct vtr_engine *e;
	struct fuzz_input in;	/* the fuzz input left */
	struct timespec now;
	bool wire_full;
	bool in_input;		/* inside vtr_input(): */
	uint16_t input_op;	/* the op of the packet being handled */
	struct flow flows[NFLOWS];
	uint32_t seen_buf[MAX_SOCKETS];	/* the largest buf_alloc each socket had */
	bool trace;
};

static void trace_pkt(const struct harness *h, const char *dir, const uint8_t *p, size_t len)
{
	if (!h->trace)
		return;
	if (len < VSM_VIRTIO_HDR_LEN) {
		fprintf(stderr, "%s %zu bytes, shorter than a header\n", dir, len);
		return;
	}
	fprintf(stderr, "%s %u:%u > %u:%u type %u op %u flags %u len %u buf_alloc %u fwd_cnt %u (%zu bytes)\n", dir,
		(unsigned)p[0], p[16] | p[17] << 8 | p[18] << 16 | (unsigned)p[19] << 24, (unsigned)p[8],
		p[20] | p[21] << 8 | p[22] << 16 | (unsigned)p[23] << 24, p[28] | p[29] << 8, p[30] | p[31] << 8,
		p[32] | p[33] << 8, p[24] | p[25] << 8 | p[26] << 16 | (unsigned)p[27] << 24,
		p[36] | p[37] << 8 | p[38] << 16 | (unsigned)p[39] << 24, p[40] | p[41] << 8 | p[42] << 16 | (unsigned)p[43] << 24,
		len);
}



/* ---- reading the input ---- */




static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* ---- the engine's side of the wire ---- */

static struct flow *flow_get(struct harness *h, uint32_t local, uint32_t peer, bool add)
{
	struct flow *free_slot = NULL;

	for (int i = 0; i < NFLOWS; i++) {
		struct flow *f = &h->flows[i];

		if (f->used && f->local == local && f->peer == peer)
			return f;
		if (!f->used && !free_slot)
			free_slot = f;
	}
	if (!add)
		return NULL;
	if (!free_slot)
		free_slot = &h->flows[(local ^ peer) % NFLOWS];	/* forget one: only plausibility suffers */
	*free_slot = (struct flow){ .local = local, .peer = peer, .used = true };
	return free_slot;
}

static int xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct harness *h = ctx;
	uint16_t type = rd16(hdr + 28), op = rd16(hdr + 30);
	uint32_t flags = rd32(hdr + 32);

	if (h->wire_full)
		return -EAGAIN;
	trace_pkt(h, "out", hdr, VSM_VIRTIO_HDR_LEN + len);
	check(rd32(hdr + 24) == len);
	check(len <= MAX_PKT);
	check(!len || payload);
	check(rd64(hdr) == ENGINE_CID);
	check(op >= VSM_OP_REQUEST && op <= VSM_OP_CREDIT_REQUEST);
	check(op == VSM_OP_RW || len == 0);
	check(op != VSM_OP_RW || len > 0);		/* a zero-length RW is never sent (Linux) */
	/* Never an RST for an RST: two engines would volley them forever. */
	check(!(h->in_input && h->input_op == VSM_OP_RST && op == VSM_OP_RST));
	if (op == VSM_OP_SHUTDOWN)
		check(flags && !(flags & ~(VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND)));
	else if (op == VSM_OP_RW && type == VSM_TYPE_SEQPACKET)
		check(!(flags & ~(VSM_SEQ_EOM | VSM_SEQ_EOR)) && (flags != VSM_SEQ_EOR));
	else
		check(flags == 0);
	/* Packets of a socket have its type; only a socketless RST echoes whatever type it answers. */
	check(type == VSM_TYPE_STREAM || type == VSM_TYPE_SEQPACKET || (op == VSM_OP_RST && !rd32(hdr + 36)));
	if (op == VSM_OP_RW)
		flow_get(h, rd32(hdr + 16), rd32(hdr + 20), true)->sent += len;
	return 0;
}

static void clock_now(void *ctx, struct timespec *ts)
{
	*ts = ((struct harness *)ctx)->now;
}

/* ---- invariants ---- */

static void check_invariants(struct harness *h)
{
	struct vtr_stats st;
	uint64_t rx_sum = 0;

	vtr_engine_stats(h->e, &st);
	check(st.sockets <= MAX_SOCKETS);
	check(st.tx_queue_bytes <= 2 * MAX_TX_QUEUE);
	check(st.rx_queue_bytes <= MAX_RX_QUEUE);
	check(vtr_want_write(h->e) == (st.tx_queue_bytes > 0));
	check(vtr_next_timeout(h->e) >= -1);
	for (int i = 0; i < MAX_SOCKETS + 2; i++) {
		struct vtr_sock_info info;

		if (vtr_sock_info(h->e, i, &info) < 0) {
			if (i < MAX_SOCKETS)
				h->seen_buf[i] = 0;
			continue;
		}
		check(i < MAX_SOCKETS);
		check(info.state >= VTR_STATE_LISTEN && info.state <= VTR_STATE_CLOSED);
		check(info.type == VTR_STREAM || info.type == VTR_SEQPACKET);
		check(info.buf_alloc >= 128 && info.buf_alloc <= MAX_BUF);
		if (info.buf_alloc > h->seen_buf[i])
			h->seen_buf[i] = info.buf_alloc;
		/* what waits unread never exceeds the buffer the peer was told of (the credit rule) */
		check(info.rx_bytes <= h->seen_buf[i]);
		/* (a peer may send an empty message: a zero-length RW with EOM, which Linux queues too) */
		check(info.type == VTR_SEQPACKET || info.msgs == 0);
		rx_sum += info.rx_bytes;
	}
	check(rx_sum == st.rx_queue_bytes);
}

/* The most a send on sock may put on the wire now: min(peer_buf_alloc, buf_alloc) - in flight. */
static int64_t send_room(struct harness *h, int sock)
{
	struct vtr_sock_info info;
	int64_t room;

	if (vtr_sock_info(h->e, sock, &info) < 0)
		return 0;
	room = (int64_t)(info.peer_buf_alloc < info.buf_alloc ? info.peer_buf_alloc : info.buf_alloc) -
	       (uint32_t)(info.tx_cnt - info.peer_fwd_cnt);
	return room > 0 ? room : 0;
}

/* ---- commands ---- */

static void peer_packet(struct harness *h)
{
	static const uint32_t peer_ports[4] = { 5000, 6000, 6001, 6002 };
	static const uint32_t local_ports[4] = { 1234, 1236, EPHEMERAL, EPHEMERAL + 1 };
	uint8_t pkt[VSM_VIRTIO_HDR_LEN + MAX_PAYLOAD];
	uint8_t sel = fuzz_get8(&h->in), sel2 = fuzz_get8(&h->in);
	uint16_t op = fuzz_get8(&h->in) % 10, type;
	uint64_t src_cid = sel & 1 ? fuzz_get8(&h->in) : PEER_CID;
	uint64_t dst_cid = sel & 2 ? 3u + fuzz_get8(&h->in) : ENGINE_CID;
	uint32_t src_port = sel2 & 1 ? fuzz_get32(&h->in) : peer_ports[sel >> 2 & 3];
	uint32_t dst_port = sel2 & 2 ? fuzz_get32(&h->in) : local_ports[sel >> 4 & 3];
	uint32_t flags, buf_alloc, fwd_cnt, len;
	struct flow *f;

	switch (sel >> 6) {
	case 1:
		type = VSM_TYPE_SEQPACKET;
		break;
	case 3:
		type = fuzz_get8(&h->in);
		break;
	default:
		type = VSM_TYPE_STREAM;
		break;
	}
	if (sel2 & 4)
		flags = fuzz_get8(&h->in);
	else if (op == VSM_OP_SHUTDOWN)
		flags = VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND;
	else if (op == VSM_OP_RW && type == VSM_TYPE_SEQPACKET)
		flags = VSM_SEQ_EOM;
	else
		flags = 0;
	switch (sel2 >> 3 & 3) {
	case 0:
		buf_alloc = 4096;
		break;
	case 1:
		buf_alloc = 65536;
		break;
	case 2:
		buf_alloc = 0;
		break;
	default:
		buf_alloc = fuzz_get32(&h->in);
		break;
	}
	f = flow_get(h, dst_port, src_port, false);
	fwd_cnt = sel2 & 32 ? fuzz_get32(&h->in) : f ? f->sent : 0;
	len = op == VSM_OP_RW ? fuzz_get16(&h->in) % MAX_PAYLOAD : (sel2 & 64 ? fuzz_get8(&h->in) : 0);
	memset(pkt, 0, sizeof(pkt));
	wr64(pkt + 0, src_cid);
	wr64(pkt + 8, dst_cid);
	wr32(pkt + 16, src_port);
	wr32(pkt + 20, dst_port);
	wr32(pkt + 24, len);
	wr16(pkt + 28, type);
	wr16(pkt + 30, op);
	wr32(pkt + 32, flags);
	wr32(pkt + 36, buf_alloc);
	wr32(pkt + 40, fwd_cnt);
	for (uint32_t i = 0; i < len; i++)
		pkt[VSM_VIRTIO_HDR_LEN + i] = sel2 & 64 ? fuzz_get8(&h->in) : (uint8_t)(i * 13 + len);
	if (sel2 & 128)
		wr32(pkt + 24, fuzz_get32(&h->in));	/* a header that lies about its length */
	h->in_input = true;
	h->input_op = op;
	trace_pkt(h, "in ", pkt, VSM_VIRTIO_HDR_LEN + len);
	check(vtr_input(h->e, pkt, VSM_VIRTIO_HDR_LEN + len) == 0);
	h->in_input = false;
}

static void raw_packet(struct harness *h)
{
	uint8_t pkt[200];
	size_t n = fuzz_get16(&h->in) % sizeof(pkt);
	int ret;

	for (size_t i = 0; i < n; i++)
		pkt[i] = fuzz_get8(&h->in);
	h->in_input = true;
	h->input_op = n >= VSM_VIRTIO_HDR_LEN ? rd16(pkt + 30) : 0;
	trace_pkt(h, "raw", pkt, n);
	ret = vtr_input(h->e, pkt, n);
	h->in_input = false;
	check(ret == (n < VSM_VIRTIO_HDR_LEN ? -EINVAL : 0));
}

static void user_call(struct harness *h)
{
	static const uint32_t sizes[5] = { 64, 128, 4096, 65536, 65537 };
	uint8_t buf[USER_BUF];
	uint8_t f = fuzz_get8(&h->in) % 14;
	int sk = fuzz_get8(&h->in) % (MAX_SOCKETS + 2), ret;
	uint32_t n, size;
	int64_t room;
	unsigned flags;

	if (h->trace)
		fprintf(stderr, "user call %u on socket %d\n", f, sk);
	switch (f) {
	case 0:		/* send */
		n = fuzz_get16(&h->in) % USER_BUF;
		flags = fuzz_get8(&h->in) & VTR_MSG_EOR;
		for (uint32_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(i * 7);
		room = send_room(h, sk);
		ret = (int)vtr_send(h->e, sk, buf, n, flags);
		check(ret <= (int)n);
		check(ret <= room);		/* never past the credit */
		break;
	case 1:		/* recv, maybe peeking */
	case 2:
		n = fuzz_get16(&h->in) % USER_BUF;
		flags = fuzz_get8(&h->in) & VTR_MSG_PEEK;
		ret = (int)vtr_recv(h->e, sk, buf, n, flags, &flags);
		check(ret <= (int)n);
		check(!(flags & ~(VTR_MSG_EOR | VTR_MSG_TRUNC)));
		break;
	case 3:
		vtr_shutdown(h->e, sk, fuzz_get8(&h->in) % 5);
		break;
	case 4:
		vtr_close(h->e, sk);
		break;
	case 5:
		vtr_reset(h->e, sk);
		break;
	case 6:
		n = fuzz_get8(&h->in) % 6;
		size = n < 5 ? sizes[n] : fuzz_get32(&h->in);
		ret = vtr_set_buffer_size(h->e, sk, size);
		check(ret < 0 || (size >= 128 && size <= MAX_BUF));
		break;
	case 7:
		vtr_credit_request(h->e, sk);
		break;
	case 8:
		ret = vtr_accept(h->e, sk);
		check(ret < MAX_SOCKETS);
		break;
	case 9: {	/* connect */
		static const uint32_t ports[3] = { 5000, 5001, 6000 };
		uint8_t p = fuzz_get8(&h->in) % 4, t = fuzz_get8(&h->in) % 3, l = fuzz_get8(&h->in) % 3;
		uint32_t port = p < 3 ? ports[p] : fuzz_get32(&h->in);
		uint32_t local = l == 0 ? 0 : l == 1 ? EPHEMERAL : fuzz_get16(&h->in);
		uint64_t cid = fuzz_get8(&h->in) & 1 ? PEER_CID : fuzz_get32(&h->in);

		ret = vtr_connect(h->e, cid, port, 1 + t, local);
		check(ret < MAX_SOCKETS);
		break;
	}
	case 10: {	/* listen */
		static const uint32_t ports[3] = { 1234, 1236, 7000 };
		uint8_t p = fuzz_get8(&h->in) % 4, t = fuzz_get8(&h->in) % 3;
		uint32_t port = p < 3 ? ports[p] : fuzz_get32(&h->in);
		unsigned backlog = fuzz_get8(&h->in) % 4;

		ret = vtr_listen(h->e, port, 1 + t, backlog);
		check(ret < MAX_SOCKETS);
		break;
	}
	case 11:
		vtr_poll(h->e, sk);
		break;
	case 12:
		vtr_sock_error(h->e, sk);
		break;
	default:
		vtr_flush(h->e);
		break;
	}
}

static void advance(struct harness *h, uint32_t ms)
{
	h->now.tv_sec += ms / 1000;
	h->now.tv_nsec += (long)(ms % 1000) * 1000000;
	if (h->now.tv_nsec >= 1000000000) {
		h->now.tv_sec++;
		h->now.tv_nsec -= 1000000000;
	}
	vtr_tick(h->e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vtr_config cfg = {
		.cid = ENGINE_CID, .buf_alloc = 4096, .max_buf_alloc = MAX_BUF, .max_pkt = MAX_PKT,
		.max_sockets = MAX_SOCKETS, .max_tx_queue = MAX_TX_QUEUE, .max_rx_queue = MAX_RX_QUEUE,
		.connect_timeout_ms = 100, .close_timeout_ms = 300, .ephemeral_min = EPHEMERAL,
	};
	static const struct vtr_ops ops = { .xmit = xmit, .now = clock_now };
	/* A fresh engine per input: nothing carries over from one input to the next. */
	struct harness h = { .in = { data, size }, .now = { .tv_sec = 1000 }, .trace = getenv("FUZZ_TRACE") != NULL };

	check(vtr_engine_new(&cfg, &ops, &h, &h.e) == 0);
	check(vtr_listen(h.e, 1234, VTR_STREAM, 2) >= 0);
	check(vtr_listen(h.e, 1236, VTR_SEQPACKET, 2) >= 0);
	check(vtr_connect(h.e, PEER_CID, 5000, VTR_STREAM, 0) >= 0);
	check_invariants(&h);
	while (h.in.left) {
		uint8_t c = fuzz_get8(&h.in) % 16;

		if (c < 8) {
			peer_packet(&h);
		} else if (c < 10) {
			raw_packet(&h);
		} else if (c < 13) {
			user_call(&h);
		} else if (c == 13) {
			advance(&h, fuzz_get8(&h.in) * 4u);
		} else if (c == 14) {
			h.wire_full = !h.wire_full;
			if (!h.wire_full)
				vtr_flush(h.e);
		} else {
			vtr_flush(h.e);
			vtr_tick(h.e);
		}
		check_invariants(&h);
	}
	/* The end: the wire works, the timers run out; every connection must end and leave limits intact. */
	h.wire_full = false;
	vtr_flush(h.e);
	for (int i = 0; i < 3; i++) {
		advance(&h, 1000);
		vtr_flush(h.e);
		check_invariants(&h);
	}
	check(!vtr_want_write(h.e));
	vtr_engine_free(h.e);
	return 0;
}
