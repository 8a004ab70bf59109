/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-tap.c: the transport's tap: frame layout and op mapping, fan-out to sinks, pcap files, a full disk. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vsockmon/decode.h>
#include <vsockmon/pcap.h>
#include <vsockmon/tunif.h>
#include <vsockmon/wire.h>
#include <vsockmon/tap.h>

#include "testutil.h"

#define MAX_PAYLOAD	65536u
#define MAX_FRAME	(VSM_FRAME_HDR_LEN + MAX_PAYLOAD)

/* ---- helpers ---- */

/* Frames a callback sink saw, copied (rec->data lives only during the call). */
struct seen {
	size_t n, cap;
	struct {
		uint8_t *data;
		uint32_t cap_len, wire_len;
		struct timespec ts;
	} *v;
};

static void seen_fn(void *ctx, const struct vsm_rec *rec)
{
	struct seen *s = ctx;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n].data = malloc(rec->cap_len ? rec->cap_len : 1);
	assert_non_null(s->v[s->n].data);
	memcpy(s->v[s->n].data, rec->data, rec->cap_len);
	s->v[s->n].cap_len = rec->cap_len;
	s->v[s->n].wire_len = rec->wire_len;
	s->v[s->n].ts = rec->ts;
	s->n++;
}

static void seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].data);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void count_fn(void *ctx, const struct vsm_rec *rec)
{
	(*(unsigned *)ctx)++;
	assert_non_null(rec->data);
}

/* Packet i of a varied sequence: every op, both types, payloads of 0 to 64 KiB. */
struct pkt {
	uint8_t hdr[VSM_VIRTIO_HDR_LEN];
	uint8_t *payload;
	uint32_t len;
	struct timespec ts;
};

static const uint32_t sizes[] = { 0, 1, 3, 255, 256, 1000, 4096, 65535, MAX_PAYLOAD };

static void pkt_make(struct pkt *p, uint32_t i)
{
	uint16_t op = (uint16_t)(VSM_OP_REQUEST + i % VSM_OP_MAX);
	uint16_t type = i % 3 == 2 ? VSM_TYPE_SEQPACKET : VSM_TYPE_STREAM;
	uint32_t flags = 0;

	p->len = op == VSM_OP_RW ? sizes[(i / VSM_OP_MAX) % (sizeof(sizes) / sizeof(sizes[0]))] : 0;
	if (op == VSM_OP_SHUTDOWN)
		flags = VSM_SHUTDOWN_RCV | (i & 1 ? VSM_SHUTDOWN_SEND : 0);
	else if (op == VSM_OP_RW && type == VSM_TYPE_SEQPACKET)
		flags = i & 1 ? VSM_SEQ_EOM | VSM_SEQ_EOR : VSM_SEQ_EOM;
	tu_put_le64(p->hdr + 0, 3 + i % 5);
	tu_put_le64(p->hdr + 8, 0xfffffffeu - i);
	tu_put_le32(p->hdr + 16, 1024 + i);
	tu_put_le32(p->hdr + 20, 0x80000000u + 7 * i);
	tu_put_le32(p->hdr + 24, p->len);
	tu_put_le16(p->hdr + 28, type);
	tu_put_le16(p->hdr + 30, op);
	tu_put_le32(p->hdr + 32, flags);
	tu_put_le32(p->hdr + 36, 262144 + i);
	tu_put_le32(p->hdr + 40, 0x12345678u * i);
	p->payload = malloc(p->len ? p->len : 1);
	assert_non_null(p->payload);
	/* Not a multiple of 256 bytes long, so a payload shifted by a page boundary would show. */
	for (uint32_t k = 0; k < p->len; k++)
		p->payload[k] = (uint8_t)(k * 7 + k / 251 + i);
	p->ts.tv_sec = 1700000000 + i;
	p->ts.tv_nsec = (long)(i * 1000003u % 1000000000u);
}

/* The frame the kernel would build for p (checked field by field in test_every_op). */
static size_t pkt_frame(const struct pkt *p, uint8_t *buf)
{
	uint16_t op = (uint16_t)(p->hdr[30] | p->hdr[31] << 8);

	memcpy(buf, p->hdr, 24);
	tu_put_le16(buf + 24, tu_mon_op_for(op));
	tu_put_le16(buf + 26, VSM_MON_TRANSPORT_VIRTIO);
	tu_put_le16(buf + 28, VSM_VIRTIO_HDR_LEN);
	buf[30] = buf[31] = 0;
	memcpy(buf + 32, p->hdr, VSM_VIRTIO_HDR_LEN);
	memcpy(buf + VSM_FRAME_HDR_LEN, p->payload, p->len);
	return VSM_FRAME_HDR_LEN + p->len;
}

static void tap_pkt(struct vsm_tap *tap, const struct pkt *p)
{
	vsm_tap_packet(tap, &p->ts, p->hdr, p->payload, p->len);
}

static struct vsm_tap_sink_stats stats_of(const struct vsm_tap *tap, size_t sink)
{
	struct vsm_tap_sink_stats st;

	assert_int_equal(vsm_tap_sink_stats(tap, sink, &st), 0);
	return st;
}

/* The pcap file at path holds exactly packets first..first+n-1 of pkt_make(), with their times. */
static void check_pcap(const char *path, uint32_t first, uint64_t n)
{
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	uint8_t *want = malloc(MAX_FRAME);
	char err[512];

	assert_non_null(want);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	for (uint64_t i = 0; i < n; i++) {
		struct pkt p;
		size_t len;

		pkt_make(&p, first + (uint32_t)i);
		len = pkt_frame(&p, want);
		assert_int_equal(vsm_pcap_next(r, &rec), 1);
		assert_int_equal(rec.cap_len, len);
		assert_int_equal(rec.wire_len, len);
		assert_memory_equal(rec.data, want, len);
		assert_int_equal(rec.ts.tv_sec, p.ts.tv_sec);
		assert_int_equal(rec.ts.tv_nsec, p.ts.tv_nsec);
		free(p.payload);
	}
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	vsm_pcap_close(r);
	free(want);
}

/* ---- tests ---- */

static void test_no_sink(void **state)
{
	struct vsm_tap *tap;
	struct pkt p;

	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_false(vsm_tap_active(tap));
	assert_int_equal(vsm_tap_sink_count(tap), 0);
	pkt_make(&p, 4);
	tap_pkt(tap, &p);
	/* Nothing is even looked at: not the header, not the payload. */
	vsm_tap_packet(tap, NULL, NULL, NULL, 123456);
	assert_int_equal(vsm_tap_flush(tap), 0);
	assert_int_equal(vsm_tap_sink_stats(tap, 0, &(struct vsm_tap_sink_stats){ 0 }), -EINVAL);
	vsm_tap_free(tap);
	free(p.payload);

	/* A NULL tap is an empty one. */
	assert_false(vsm_tap_active(NULL));
	vsm_tap_packet(NULL, NULL, NULL, NULL, 0);
	vsm_tap_free(NULL);
}

/* Every op, including ones Linux does not know, against an independent builder and the decoder. */
static void test_every_op(void **state)
{
	static const struct {
		uint16_t op, mon_op, type;
		uint32_t flags, len;
	} cases[] = {
		{ VSM_OP_REQUEST, VSM_MON_OP_CONNECT, VSM_TYPE_STREAM, 0, 0 },
		{ VSM_OP_RESPONSE, VSM_MON_OP_CONNECT, VSM_TYPE_SEQPACKET, 0, 0 },
		{ VSM_OP_RST, VSM_MON_OP_DISCONNECT, VSM_TYPE_STREAM, 0, 0 },
		{ VSM_OP_SHUTDOWN, VSM_MON_OP_DISCONNECT, VSM_TYPE_STREAM, VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND, 0 },
		{ VSM_OP_RW, VSM_MON_OP_PAYLOAD, VSM_TYPE_STREAM, 0, 1500 },
		{ VSM_OP_RW, VSM_MON_OP_PAYLOAD, VSM_TYPE_SEQPACKET, VSM_SEQ_EOM | VSM_SEQ_EOR, 65536 },
		{ VSM_OP_RW, VSM_MON_OP_PAYLOAD, VSM_TYPE_STREAM, 0, 0 },
		{ VSM_OP_CREDIT_UPDATE, VSM_MON_OP_CONTROL, VSM_TYPE_STREAM, 0, 0 },
		{ VSM_OP_CREDIT_REQUEST, VSM_MON_OP_CONTROL, VSM_TYPE_STREAM, 0, 0 },
		{ VSM_OP_INVALID, VSM_MON_OP_UNKNOWN, VSM_TYPE_STREAM, 0, 0 },
		{ 8, VSM_MON_OP_UNKNOWN, VSM_TYPE_STREAM, 0, 0 },
		{ 0x0105, VSM_MON_OP_UNKNOWN, VSM_TYPE_STREAM, 0, 0 },	/* RW in the low byte only */
		{ 0xffff, VSM_MON_OP_UNKNOWN, VSM_TYPE_STREAM, 0, 0 },
	};
	uint8_t *want = malloc(MAX_FRAME);
	struct vsm_tap *tap;
	struct seen seen = { 0 };

	assert_non_null(want);
	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_callback(tap, seen_fn, &seen), 0);
	assert_true(vsm_tap_active(tap));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tu_frame f = {
			.src_cid = 0x11223344, .dst_cid = 2, .src_port = 0xdeadbeef, .dst_port = 1234,
			.type = cases[i].type, .op = cases[i].op, .flags = cases[i].flags,
			.len = cases[i].len, .buf_alloc = 0x40000, .fwd_cnt = 0xfffffff0,
			.payload_len = cases[i].len,
			.mon_op = cases[i].mon_op, .raw_mon_op = 1,
		};
		size_t len = tu_build(want, MAX_FRAME, &f);
		struct timespec ts = { .tv_sec = 1, .tv_nsec = (long)i };
		struct vsm_pkt pkt;

		/* The tap is given the virtio header and payload exactly as tu_build() laid them out. */
		vsm_tap_packet(tap, &ts, want + VSM_MON_HDR_LEN, want + VSM_FRAME_HDR_LEN, cases[i].len);
		assert_int_equal(seen.n, i + 1);
		assert_int_equal(seen.v[i].cap_len, len);
		assert_int_equal(seen.v[i].wire_len, len);
		assert_int_equal(seen.v[i].ts.tv_nsec, (long)i);
		assert_memory_equal(seen.v[i].data, want, len);

		assert_int_equal(vsm_decode(seen.v[i].data, seen.v[i].cap_len, seen.v[i].wire_len, &pkt), 0);
		assert_int_equal(pkt.mon_op, cases[i].mon_op);
		assert_int_equal(pkt.transport, VSM_MON_TRANSPORT_VIRTIO);
		assert_int_equal(pkt.tp_len, VSM_VIRTIO_HDR_LEN);
		assert_true(pkt.has_virtio);
		assert_int_equal(pkt.src_cid, 0x11223344);
		assert_int_equal(pkt.src_port, 0xdeadbeef);
		assert_int_equal(pkt.virtio.op, cases[i].op);
		assert_int_equal(pkt.virtio.fwd_cnt, 0xfffffff0);
		assert_int_equal(pkt.payload_caplen, cases[i].len);
		if (cases[i].mon_op != VSM_MON_OP_UNKNOWN)
			assert_int_equal(pkt.problems, 0);
		else	/* ops outside 1..7 are the packet's problem, not the tap's */
			assert_int_equal(pkt.problems, VSM_PROB_UNKNOWN_OP);
	}
	vsm_tap_free(tap);
	seen_free(&seen);
	free(want);
}

/* The frame is the header as given: byte order and unused bits are passed through, not re-encoded. */
static void test_raw_header(void **state)
{
	uint8_t hdr[VSM_VIRTIO_HDR_LEN], payload[5] = { 1, 2, 3, 4, 5 };
	struct vsm_tap *tap;
	struct seen seen = { 0 };

	for (size_t i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)(0xa0 + i);
	hdr[30] = VSM_OP_RW;
	hdr[31] = 0;
	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_callback(tap, seen_fn, &seen), 0);
	vsm_tap_packet(tap, &(struct timespec){ 0 }, hdr, payload, sizeof(payload));
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.v[0].cap_len, 76 + 5);
	/* cids and ports: the first 24 bytes of the virtio header, upper cid bits included */
	assert_memory_equal(seen.v[0].data, hdr, 24);
	assert_memory_equal(seen.v[0].data + 24, ((uint8_t[]){ 4, 0, 2, 0, 44, 0, 0, 0 }), 8);
	assert_memory_equal(seen.v[0].data + 32, hdr, sizeof(hdr));
	assert_memory_equal(seen.v[0].data + 76, payload, sizeof(payload));
	vsm_tap_free(tap);
	seen_free(&seen);
}

static void test_callback_once_per_packet(void **state)
{
	struct vsm_tap *tap;
	unsigned calls[2] = { 0, 0 };
	uint64_t bytes = 0;
	const uint32_t n = 300;

	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_callback(tap, count_fn, &calls[0]), 0);
	assert_int_equal(vsm_tap_add_callback(tap, count_fn, &calls[1]), 1);
	assert_int_equal(vsm_tap_sink_count(tap), 2);
	for (uint32_t i = 0; i < n; i++) {
		struct pkt p;

		pkt_make(&p, i);
		tap_pkt(tap, &p);
		bytes += VSM_FRAME_HDR_LEN + p.len;
		assert_int_equal(calls[0], i + 1);
		assert_int_equal(calls[1], i + 1);
		free(p.payload);
	}
	for (size_t s = 0; s < 2; s++) {
		struct vsm_tap_sink_stats st = stats_of(tap, s);

		assert_int_equal(st.frames, n);
		assert_int_equal(st.bytes, bytes);
		assert_int_equal(st.dropped, 0);
		assert_int_equal(st.error, 0);
	}
	vsm_tap_free(tap);
}

/* Two callbacks and a pcap file get the same bytes, and the file reads back whole. */
static void test_sinks_identical(void **state)
{
	char *path = tu_tmpfile(".pcap");
	struct seen a = { 0 }, b = { 0 };
	struct vsm_tap *tap;
	char err[512];
	const uint32_t n = 200;

	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_callback(tap, seen_fn, &a), 0);
	assert_int_equal(vsm_tap_add_pcap(tap, path, err, sizeof(err)), 1);
	assert_int_equal(vsm_tap_add_callback(tap, seen_fn, &b), 2);
	for (uint32_t i = 0; i < n; i++) {
		struct pkt p;

		pkt_make(&p, i);
		tap_pkt(tap, &p);
		free(p.payload);
	}
	assert_int_equal(vsm_tap_flush(tap), 0);
	/* Flushed: the file is complete while the tap still holds it open. */
	check_pcap(path, 0, n);
	assert_int_equal(a.n, n);
	assert_int_equal(b.n, n);
	for (uint32_t i = 0; i < n; i++) {
		struct pkt p;
		struct vsm_pkt d;
		uint8_t *want = malloc(MAX_FRAME);
		size_t len;

		pkt_make(&p, i);
		len = pkt_frame(&p, want);
		assert_int_equal(a.v[i].cap_len, len);
		assert_int_equal(b.v[i].cap_len, len);
		assert_memory_equal(a.v[i].data, want, len);
		assert_memory_equal(b.v[i].data, want, len);
		assert_int_equal(vsm_decode(a.v[i].data, a.v[i].cap_len, a.v[i].wire_len, &d), 0);
		assert_int_equal(d.problems, 0);
		assert_int_equal(d.mon_op, tu_mon_op_for(d.virtio.op));
		assert_int_equal(d.payload_caplen, p.len);
		assert_memory_equal(d.payload, p.payload, p.len);
		free(want);
		free(p.payload);
	}
	assert_int_equal(stats_of(tap, 1).frames, n);
	assert_int_equal(stats_of(tap, 1).dropped, 0);
	vsm_tap_free(tap);
	check_pcap(path, 0, n);	/* and after the tap closed it */
	unlink(path);
	free(path);
	seen_free(&a);
	seen_free(&b);
}

/* vsm_tap_free() alone (no flush) leaves a complete file. */
static void test_pcap_closed_on_free(void **state)
{
	char *path = tu_tmpfile(".pcap");
	struct vsm_tap *tap;
	char err[512];

	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_pcap(tap, path, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < 50; i++) {
		struct pkt p;

		pkt_make(&p, i);
		tap_pkt(tap, &p);
		free(p.payload);
	}
	vsm_tap_free(tap);
	check_pcap(path, 0, 50);
	unlink(path);
	free(path);
}

static void test_add_errors(void **state)
{
	struct vsm_tap *tap;
	char err[512] = "x";
	enum vsm_ifkind kind;

	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_callback(tap, NULL, NULL), -EINVAL);
	assert_int_equal(vsm_tap_add_pcap(tap, "/nonexistent-dir/x.pcap", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent-dir/x.pcap"));
	assert_int_equal(vsm_tap_add_iface(tap, "", err, sizeof(err)), -EINVAL);
	assert_int_equal(vsm_tap_add_iface(tap, "a-name-far-too-long-for-linux", err, sizeof(err)), -EINVAL);
	assert_int_equal(vsm_tap_sink_count(tap), 0);
	assert_false(vsm_tap_active(tap));
	vsm_tap_free(tap);

	/* Looking names up creates nothing: safe outside a private network namespace. */
	assert_int_equal(vsm_ifkind("lo", &kind, NULL), 0);
	assert_int_equal(kind, VSM_IFKIND_OTHER);
	assert_int_equal(vsm_ifkind("vsmt-none", &kind, NULL), 0);
	assert_int_equal(kind, VSM_IFKIND_NONE);
}

/* ---- a full disk: RLIMIT_FSIZE in a child ---- */

struct full_report {
	struct vsm_tap_sink_stats pcap, cb, pcap_after, cb_after;
	int flush_ret;
	bool active_after;
};

/*
 * In a child (the limit and the signal disposition must not leak into the test runner): a tap
 * with a pcap sink and a callback sink takes n packets of pkt_make(first + i) with limit bytes
 * of file allowed, then 10 more after the failure.
 */
static struct full_report disk_full(const char *path, rlim_t limit, uint32_t first, uint32_t n)
{
	struct full_report rep;
	int pfd[2], status;
	pid_t pid;

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vsm_tap *tap;
		struct rlimit rl;
		unsigned calls = 0;
		char err[512];

		close(pfd[0]);
		signal(SIGXFSZ, SIG_IGN);
		if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		rl.rlim_cur = limit;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		if (vsm_tap_new(&tap) < 0 || vsm_tap_add_pcap(tap, path, err, sizeof(err)) != 0 ||
		    vsm_tap_add_callback(tap, count_fn, &calls) != 1)
			_exit(3);
		for (uint32_t i = 0; i < n; i++) {
			struct pkt p;

			pkt_make(&p, first + i);
			tap_pkt(tap, &p);
			free(p.payload);
		}
		rep.flush_ret = vsm_tap_flush(tap);
		if (vsm_tap_sink_stats(tap, 0, &rep.pcap) < 0 || vsm_tap_sink_stats(tap, 1, &rep.cb) < 0)
			_exit(4);
		for (uint32_t i = 0; i < 10; i++) {
			struct pkt p;

			pkt_make(&p, first + n + i);
			tap_pkt(tap, &p);
			free(p.payload);
		}
		rep.active_after = vsm_tap_active(tap);
		if (vsm_tap_sink_stats(tap, 0, &rep.pcap_after) < 0 || vsm_tap_sink_stats(tap, 1, &rep.cb_after) < 0)
			_exit(4);
		vsm_tap_free(tap);
		if (write(pfd[1], &rep, sizeof(rep)) != sizeof(rep))
			_exit(5);
		_exit(0);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &rep, sizeof(rep)), sizeof(rep));
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return rep;
}

static struct full_report check_disk_full(const char *path, rlim_t limit, uint32_t first, uint32_t n)
{
	struct full_report rep = disk_full(path, limit, first, n);
	struct stat st;

	/* The pcap sink failed, said why, and counts every frame that is not in the file. */
	assert_int_equal(rep.pcap.error, -EFBIG);
	assert_true(rep.flush_ret == 0 || rep.flush_ret == -EFBIG);
	assert_true(rep.pcap.frames > 0);
	assert_true(rep.pcap.frames < n);
	assert_int_equal(rep.pcap.frames + rep.pcap.dropped, n);
	assert_int_equal(rep.pcap_after.frames, rep.pcap.frames);
	assert_int_equal(rep.pcap_after.dropped, rep.pcap.dropped + 10);
	assert_int_equal(rep.pcap_after.error, -EFBIG);
	/* The other sink never noticed. */
	assert_int_equal(rep.cb.frames, n);
	assert_int_equal(rep.cb_after.frames, n + 10);
	assert_int_equal(rep.cb_after.dropped, 0);
	assert_int_equal(rep.cb_after.error, 0);
	assert_true(rep.active_after);
	/* The file holds exactly the frames counted as taken, all whole, within the limit. */
	check_pcap(path, first, rep.pcap.frames);
	assert_int_equal(stat(path, &st), 0);
	assert_true((uint64_t)st.st_size <= limit);
	return rep;
}

/* Bytes of the pcap file of packets first..first+n-1. */
static uint64_t file_size_for(uint32_t first, uint32_t n)
{
	uint64_t size = 24;

	for (uint32_t i = 0; i < n; i++) {
		struct pkt p;

		pkt_make(&p, first + i);
		size += 16 + VSM_FRAME_HDR_LEN + p.len;
		free(p.payload);
	}
	return size;
}

/* A mix of 64 KiB and header-only frames: the limit falls inside one of many 256 KiB flushes. */
static void test_pcap_full_during_writes(void **state)
{
	char *path = tu_tmpfile(".pcap");
	struct full_report rep = check_disk_full(path, 1000003, 0, 3000);

	assert_int_equal(rep.flush_ret, 0);	/* the sink had failed before: nothing left to flush */
	unlink(path);
	free(path);
}

/*
 * Everything still buffered when vsm_tap_flush() runs into the limit: the write stops inside the
 * third record from the end, so the writer keeps all but the last three and the tap must take
 * exactly those three back (packets 97, 98 and 99 are header-only: 92-byte records).
 */
static void test_pcap_full_at_flush(void **state)
{
	char *path = tu_tmpfile(".pcap");
	uint64_t total = file_size_for(0, 100);
	struct full_report rep;

	assert_true(total < 256 << 10);
	rep = check_disk_full(path, total - 200, 0, 100);
	assert_int_equal(rep.flush_ret, -EFBIG);
	assert_int_equal(rep.pcap.frames, 97);
	assert_int_equal(rep.pcap.dropped, 3);
	unlink(path);
	free(path);
}

/* A full disk right away: not even the first buffer fits. */
static void test_pcap_full_first_flush(void **state)
{
	char *path = tu_tmpfile(".pcap");
	struct full_report rep = check_disk_full(path, 4096, 0, 5000);

	assert_true(rep.pcap.frames < 50);
	unlink(path);
	free(path);
}

/* Records in a pcap file (0 when it cannot be read). */
static uint64_t pcap_count(const char *path)
{
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512];
	uint64_t n = 0;

	if (vsm_pcap_open(path, &r, err, sizeof(err)) < 0)
		return 0;
	while (vsm_pcap_next(r, &rec) == 1)
		n++;
	vsm_pcap_close(r);
	return n;
}

/* -C 1: FILE, FILE1, FILE2... each within 1,000,000 bytes, together every frame in order, none lost. */
static void test_pcap_rotated_size(void **state)
{
	char *path = tu_tmpfile(".pcap"), name[600];
	struct vsm_rotate_opts opts = { .path = path, .max_bytes = 1000000 };
	struct vsm_tap *tap;
	struct stat st;
	char err[512];
	unsigned calls = 0, files = 0;
	uint64_t first = 0;
	const uint32_t n = 2000;

	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_pcap_rotated(tap, &opts, err, sizeof(err)), 0);
	assert_int_equal(vsm_tap_add_callback(tap, count_fn, &calls), 1);
	assert_string_equal(vsm_tap_sink_file(tap, 0), path);
	assert_null(vsm_tap_sink_file(tap, 1));
	for (uint32_t i = 0; i < n; i++) {
		struct pkt p;

		pkt_make(&p, i);
		tap_pkt(tap, &p);
		free(p.payload);
	}
	assert_int_equal(stats_of(tap, 0).frames, n);
	assert_int_equal(stats_of(tap, 0).dropped, 0);
	assert_false(stats_of(tap, 0).finished);
	vsm_tap_free(tap);
	assert_int_equal(calls, n);
	for (;; files++) {
		uint64_t k;

		if (files)
			snprintf(name, sizeof(name), "%s%u", path, files);
		else
			snprintf(name, sizeof(name), "%s", path);
		if (stat(name, &st) < 0)
			break;
		assert_true(st.st_size <= 1000000);
		k = pcap_count(name);
		assert_true(k > 0);
		check_pcap(name, (uint32_t)first, k);
		first += k;
		unlink(name);
	}
	print_message("# %u frames in %u files of at most 1,000,000 bytes\n", n, files);
	assert_true(files >= 3);
	assert_int_equal(first, n);
	free(path);
}

/* -G 10 -W 2: the second file is the last (tcpdump's end of capture); the rest is unobserved, not lost. */
static void test_pcap_rotated_time_finished(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], pattern[600], first[600], second[600];
	struct vsm_rotate_opts opts = { .path = pattern, .seconds = 10, .max_files = 2 };
	struct vsm_tap *tap;
	struct vsm_tap_sink_stats st;
	char err[512];

	/* A folder of its own for the strftime names. */
	snprintf(dir, sizeof(dir), "%s/vsmtest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(pattern, sizeof(pattern), "%s/g-%%Y%%m%%d-%%H%%M%%S.pcap", dir);
	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_pcap_rotated(tap, &opts, err, sizeof(err)), 0);
	/* The first file is named by the clock when it opens; the packets' times (2023) go back to it. */
	snprintf(first, sizeof(first), "%s", vsm_tap_sink_file(tap, 0));
	for (uint32_t i = 0; i < 30; i++) {
		struct pkt p;

		pkt_make(&p, i);	/* one a second from 2023-11-14 22:13:20 UTC */
		tap_pkt(tap, &p);
		free(p.payload);
	}
	snprintf(second, sizeof(second), "%s/g-20231114-221330.pcap", dir);
	assert_string_equal(vsm_tap_sink_file(tap, 0), second);
	st = stats_of(tap, 0);
	assert_true(st.finished);
	assert_int_equal(st.frames, 20);
	assert_int_equal(st.unobserved, 10);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.error, 0);
	assert_int_equal(vsm_tap_flush(tap), 0);	/* a finished sink has nothing to flush */
	vsm_tap_free(tap);
	check_pcap(first, 0, 10);
	check_pcap(second, 10, 10);
	unlink(first);
	unlink(second);
	assert_int_equal(rmdir(dir), 0);
}

/* SIGHUP's work: after mv FILE FILE.1 a reopen starts FILE anew; both hold their frames whole. */
static void test_pcap_reopen(void **state)
{
	char *path = tu_tmpfile(".pcap"), moved[600];
	struct vsm_tap *tap;
	char err[512];

	snprintf(moved, sizeof(moved), "%s.1", path);
	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_pcap(tap, path, err, sizeof(err)), 0);
	assert_int_equal(vsm_tap_reopen(tap, err, sizeof(err)), 0);	/* nothing moved: nothing to do */
	for (uint32_t i = 0; i < 100; i++) {
		struct pkt p;

		pkt_make(&p, i);
		tap_pkt(tap, &p);
		free(p.payload);
		if (i == 59) {
			assert_int_equal(rename(path, moved), 0);
			assert_int_equal(vsm_tap_reopen(tap, err, sizeof(err)), 1);
			/* The moved file is whole at once: logrotate may compress it now. */
			check_pcap(moved, 0, 60);
		}
	}
	assert_int_equal(stats_of(tap, 0).frames, 100);
	vsm_tap_free(tap);
	check_pcap(moved, 0, 60);
	check_pcap(path, 60, 40);
	unlink(moved);
	unlink(path);
	free(path);
}

/* ---- the sink table and the tapped-once guarantee ---- */

/* What a callback sees of the sinks around it: they are served in order, in one pass per packet. */
struct order_probe {
	struct vsm_tap *tap;
	size_t pcap_sink;
	unsigned calls;
	uint64_t pcap_frames_seen[4];	/* the pcap sink's frame count at each call */
};

static void order_fn(void *ctx, const struct vsm_rec *rec)
{
	struct order_probe *o = ctx;
	struct vsm_tap_sink_stats st;

	assert_non_null(rec->data);
	assert_int_equal(vsm_tap_sink_stats(o->tap, o->pcap_sink, &st), 0);
	if (o->calls < 4)
		o->pcap_frames_seen[o->calls] = st.frames;
	o->calls++;
}

/*
 * A callback, a pcap file and a callback: each kind through its own operations. The one before
 * the file runs before the file takes the frame, the one after runs after; flush and reopen
 * reach the file only, and only the file has a name.
 */
static void test_sink_table(void **state)
{
	char *path = tu_tmpfile(".pcap"), err[512];
	struct order_probe before = { 0 }, after = { 0 };
	struct vsm_tap *tap;

	assert_int_equal(vsm_tap_new(&tap), 0);
	before.tap = after.tap = tap;
	before.pcap_sink = after.pcap_sink = 1;
	assert_int_equal(vsm_tap_add_callback(tap, order_fn, &before), 0);
	assert_int_equal(vsm_tap_add_pcap(tap, path, err, sizeof(err)), 1);
	assert_int_equal(vsm_tap_add_callback(tap, order_fn, &after), 2);
	for (uint32_t i = 0; i < 2; i++) {
		struct pkt p;

		pkt_make(&p, i);
		tap_pkt(tap, &p);
		free(p.payload);
	}
	assert_int_equal(before.calls, 2);
	assert_int_equal(after.calls, 2);
	assert_int_equal(before.pcap_frames_seen[0], 0);
	assert_int_equal(after.pcap_frames_seen[0], 1);
	assert_int_equal(before.pcap_frames_seen[1], 1);
	assert_int_equal(after.pcap_frames_seen[1], 2);
	assert_null(vsm_tap_sink_file(tap, 0));
	assert_string_equal(vsm_tap_sink_file(tap, 1), path);
	assert_null(vsm_tap_sink_file(tap, 2));
	assert_null(vsm_tap_sink_file(tap, 3));
	assert_int_equal(vsm_tap_flush(tap), 0);
	assert_int_equal(vsm_tap_reopen(tap, err, sizeof(err)), 0);	/* nothing moved, callbacks have no file */
	for (size_t k = 0; k < 3; k++) {
		struct vsm_tap_sink_stats st = stats_of(tap, k);

		assert_int_equal(st.frames, 2);
		assert_int_equal(st.dropped, 0);
	}
	vsm_tap_free(tap);
	check_pcap(path, 0, 2);
	unlink(path);
	free(path);
}

/* A sealed tap (its packets are tapped at another point) takes no sink of any kind, and says where. */
static void test_sealed(void **state)
{
	static const char where[] = "tapped at the device";
	char *path = tu_tmpfile(".pcap"), err[512];
	struct vsm_tap *tap;
	unsigned calls = 0;
	struct pkt p;

	assert_int_equal(vsm_tap_seal(NULL, where), -EINVAL);
	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_seal(tap, NULL), -EINVAL);
	assert_int_equal(vsm_tap_seal(tap, where), 0);
	assert_int_equal(vsm_tap_add_callback(tap, count_fn, &calls), -EBUSY);
	unlink(path);
	err[0] = '\0';
	assert_int_equal(vsm_tap_add_pcap(tap, path, err, sizeof(err)), -EBUSY);
	assert_string_equal(err, where);
	assert_int_equal(access(path, F_OK), -1);	/* no file was made for it */
	err[0] = '\0';
	assert_int_equal(vsm_tap_add_iface(tap, "vsockmon0", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, where);
	assert_int_equal(vsm_tap_sink_count(tap), 0);
	assert_false(vsm_tap_active(tap));
	pkt_make(&p, 3);
	tap_pkt(tap, &p);
	assert_int_equal(calls, 0);
	vsm_tap_free(tap);

	/* A tap that already has sinks cannot be sealed: its frames would go on while another point taps them too. */
	assert_int_equal(vsm_tap_new(&tap), 0);
	assert_int_equal(vsm_tap_add_callback(tap, count_fn, &calls), 0);
	assert_int_equal(vsm_tap_seal(tap, where), -EBUSY);
	tap_pkt(tap, &p);
	assert_int_equal(calls, 1);
	vsm_tap_free(tap);
	free(p.payload);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_sink),
		cmocka_unit_test(test_every_op),
		cmocka_unit_test(test_raw_header),
		cmocka_unit_test(test_callback_once_per_packet),
		cmocka_unit_test(test_sinks_identical),
		cmocka_unit_test(test_pcap_closed_on_free),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_pcap_full_during_writes),
		cmocka_unit_test(test_pcap_full_at_flush),
		cmocka_unit_test(test_pcap_full_first_flush),
		cmocka_unit_test(test_pcap_rotated_size),
		cmocka_unit_test(test_pcap_rotated_time_finished),
		cmocka_unit_test(test_pcap_reopen),
		cmocka_unit_test(test_sink_table),
		cmocka_unit_test(test_sealed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
