/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-pcap.c: capture files: round trips, hand-built pcap/pcapng, hostile input, a full disk. */
#include <errno.h>
#include <fcntl.h>
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

#include <vsockmon/pcap.h>
#include <vsockmon/wire.h>

#include "testutil.h"

#define MAX_CAPLEN	(4u * VSM_DEFAULT_SNAPLEN)

/* ---- helpers ---- */

/* A byte builder for hand-made files, in either byte order. */
struct bb {
	uint8_t *b;
	size_t n, cap;
	bool be;
};

static void bb_bytes(struct bb *bb, const void *p, size_t n)
{
	if (bb->n + n > bb->cap) {
		bb->cap = (bb->n + n) * 2 + 256;
		bb->b = realloc(bb->b, bb->cap);
		assert_non_null(bb->b);
	}
	if (n)
		memcpy(bb->b + bb->n, p, n);
	bb->n += n;
}

static void bb_uint(struct bb *bb, uint64_t v, int size)
{
	uint8_t t[8];

	for (int i = 0; i < size; i++)
		t[bb->be ? size - 1 - i : i] = (uint8_t)(v >> (8 * i));
	bb_bytes(bb, t, (size_t)size);
}

static void bb_u16(struct bb *bb, uint16_t v) { bb_uint(bb, v, 2); }
static void bb_u32(struct bb *bb, uint32_t v) { bb_uint(bb, v, 4); }
static void bb_u64(struct bb *bb, uint64_t v) { bb_uint(bb, v, 8); }

static void bb_pad4(struct bb *bb)
{
	static const uint8_t zero[4];

	bb_bytes(bb, zero, (4 - bb->n % 4) % 4);
}

static void bb_set32(struct bb *bb, size_t at, uint32_t v)
{
	size_t n = bb->n;

	bb->n = at;
	bb_u32(bb, v);
	bb->n = n;
}

/* pcapng: starts a block, returns where; bb_end() pads and writes both lengths. */
static size_t bb_begin(struct bb *bb, uint32_t type)
{
	size_t at = bb->n;

	bb_u32(bb, type);
	bb_u32(bb, 0);
	return at;
}

static void bb_end(struct bb *bb, size_t at)
{
	uint32_t len;

	bb_pad4(bb);
	len = (uint32_t)(bb->n - at + 4);
	bb_u32(bb, len);
	bb_set32(bb, at + 4, len);
}

static void ng_shb(struct bb *bb, bool be)
{
	size_t at;

	bb->be = be;
	at = bb_begin(bb, 0x0a0d0d0a);
	bb_u32(bb, 0x1a2b3c4d);
	bb_u16(bb, 1);
	bb_u16(bb, 0);
	bb_u64(bb, UINT64_MAX);		/* section length unknown */
	bb_end(bb, at);
}

/* An IDB; tsresol < 0: none; tsoffset 0: none; with an if_name option first to be skipped. */
static void ng_idb(struct bb *bb, uint16_t linktype, uint32_t snaplen, int tsresol, int64_t tsoffset)
{
	size_t at = bb_begin(bb, 1);

	bb_u16(bb, linktype);
	bb_u16(bb, 0);
	bb_u32(bb, snaplen);
	bb_u16(bb, 2);			/* if_name */
	bb_u16(bb, 9);
	bb_bytes(bb, "vsockmon0", 9);
	bb_pad4(bb);
	if (tsresol >= 0) {
		bb_u16(bb, 9);
		bb_u16(bb, 1);
		bb_uint(bb, (uint8_t)tsresol, 1);
		bb_pad4(bb);
	}
	if (tsoffset) {
		bb_u16(bb, 14);
		bb_u16(bb, 8);
		bb_u64(bb, (uint64_t)tsoffset);
	}
	bb_u16(bb, 0);			/* opt_endofopt */
	bb_u16(bb, 0);
	bb_end(bb, at);
}

static void ng_epb(struct bb *bb, uint32_t if_id, uint64_t units, const uint8_t *data, uint32_t caplen, uint32_t wire)
{
	size_t at = bb_begin(bb, 6);

	bb_u32(bb, if_id);
	bb_u32(bb, (uint32_t)(units >> 32));
	bb_u32(bb, (uint32_t)units);
	bb_u32(bb, caplen);
	bb_u32(bb, wire);
	bb_bytes(bb, data, caplen);
	bb_pad4(bb);
	bb_u16(bb, 1);			/* opt_comment, ignored */
	bb_u16(bb, 2);
	bb_bytes(bb, "hi", 2);
	bb_pad4(bb);
	bb_u16(bb, 0);
	bb_u16(bb, 0);
	bb_end(bb, at);
}

static void ng_other(struct bb *bb, uint32_t type, size_t body)
{
	size_t at = bb_begin(bb, type);

	for (size_t i = 0; i < body; i++)
		bb_uint(bb, (uint8_t)i, 1);
	bb_end(bb, at);
}

/* Classic pcap file header. */
static void pc_hdr(struct bb *bb, bool be, uint32_t magic, uint32_t snaplen, uint32_t linktype)
{
	bb->be = be;
	bb_u32(bb, magic);
	bb_u16(bb, 2);
	bb_u16(bb, 4);
	bb_u32(bb, 0);
	bb_u32(bb, 0);
	bb_u32(bb, snaplen);
	bb_u32(bb, linktype);
}

static void pc_rec(struct bb *bb, uint32_t sec, uint32_t frac, const uint8_t *data, uint32_t caplen, uint32_t wire)
{
	bb_u32(bb, sec);
	bb_u32(bb, frac);
	bb_u32(bb, caplen);
	bb_u32(bb, wire);
	bb_bytes(bb, data, caplen);
}

static void put_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *bb_file(struct bb *bb)
{
	char *path = tu_tmpfile(".pcap");

	put_file(path, bb->b, bb->n);
	return path;
}

static void drop(char *path)
{
	unlink(path);
	free(path);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Opens, reads every record, checks the final return; returns the count. */
static uint64_t count_file(const char *path, int want_end, const char *want_msg)
{
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512] = "";
	int ret;

	ret = vsm_pcap_open(path, &r, err, sizeof(err));
	if (ret < 0)
		fail_msg("open %s: %d %s", path, ret, err);
	while ((ret = vsm_pcap_next(r, &rec)) > 0)
		;
	assert_int_equal(ret, want_end);
	if (want_msg && !strstr(vsm_pcap_error(r), want_msg))
		fail_msg("message '%s' lacks '%s'", vsm_pcap_error(r), want_msg);
	{
		uint64_t n = vsm_pcap_count(r);

		vsm_pcap_close(r);
		return n;
	}
}

/* vsm_pcap_open must fail with err and a message holding every one of the words (NULL-terminated). */
static void expect_open_error(const char *path, int err, ...)
{
	struct vsm_pcap_reader *r = NULL;
	char msg[512] = "";
	const char *word;
	va_list ap;

	assert_int_equal(vsm_pcap_open(path, &r, msg, sizeof(msg)), err);
	assert_null(r);
	va_start(ap, err);
	while ((word = va_arg(ap, const char *)))
		if (!strstr(msg, word))
			fail_msg("message '%s' lacks '%s'", msg, word);
	va_end(ap);
}

/* The frame of record i: a real LINKTYPE_VSOCK frame when big enough, else a pattern. */
static size_t frame_for(uint32_t i, uint32_t size, uint8_t *buf)
{
	if (size >= VSM_FRAME_HDR_LEN) {
		struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = i, .dst_port = 1234, .op = VSM_OP_RW,
				      .len = size - VSM_FRAME_HDR_LEN, .payload_len = size - VSM_FRAME_HDR_LEN };

		return tu_build(buf, size, &f);
	}
	for (uint32_t j = 0; j < size; j++)
		buf[j] = (uint8_t)(i + j);
	return size;
}

static struct timespec ts_for(uint32_t i)
{
	return (struct timespec){ .tv_sec = 1700000000 + i, .tv_nsec = (long)((i * 123456789u) % 1000000000u) };
}

/* ---- round trips ---- */

static void roundtrip(bool nsec, bool flush_each)
{
	static const uint32_t fixed[] = { 0, 1, 31, 32, 75, 76, 77, 1000, 4096, 65535, 200000,
					  VSM_DEFAULT_SNAPLEN, VSM_DEFAULT_SNAPLEN + 1, 300000 };
	const uint32_t n_fixed = sizeof(fixed) / sizeof(fixed[0]), n = n_fixed + 3000;
	struct vsm_pcap_writer_opts opts = { .nsec = nsec, .flush_each = flush_each };
	uint8_t *buf = malloc(300000), *got;
	uint32_t *sizes = calloc(n, sizeof(*sizes));
	char *path = tu_tmpfile(".pcap");
	struct vsm_pcap_writer *w;
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512];
	unsigned seed = 42;

	assert_non_null(buf);
	assert_non_null(sizes);
	assert_int_equal(vsm_pcap_create(path, &opts, &w, err, sizeof(err)), 0);
	/* The header is on disk at once: an empty capture is a valid file. */
	assert_int_equal(file_size(path), 24);
	assert_int_equal(vsm_pcap_size(w), 24);
	for (uint32_t i = 0; i < n; i++) {
		sizes[i] = i < n_fixed ? fixed[i] : (uint32_t)(rand_r(&seed) % 3000);
		rec.ts = ts_for(i);
		rec.cap_len = (uint32_t)frame_for(i, sizes[i], buf);
		rec.wire_len = rec.cap_len + (i % 7 == 0 ? 10 : 0);
		rec.data = buf;
		assert_int_equal(vsm_pcap_write(w, &rec), 0);
		if (flush_each)
			assert_int_equal(file_size(path), (off_t)vsm_pcap_size(w));
	}
	assert_int_equal(vsm_pcap_flush(w), 0);
	assert_int_equal(file_size(path), (off_t)vsm_pcap_size(w));
	assert_int_equal(vsm_pcap_close_writer(w), 0);

	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_snaplen(r), VSM_DEFAULT_SNAPLEN);
	got = malloc(300000);
	for (uint32_t i = 0; i < n; i++) {
		struct timespec ts = ts_for(i);
		uint32_t cap = sizes[i] < VSM_DEFAULT_SNAPLEN ? sizes[i] : VSM_DEFAULT_SNAPLEN;

		assert_int_equal(vsm_pcap_next(r, &rec), 1);
		assert_int_equal(rec.ts.tv_sec, ts.tv_sec);
		assert_int_equal(rec.ts.tv_nsec, nsec ? ts.tv_nsec : ts.tv_nsec / 1000 * 1000);
		assert_int_equal(rec.cap_len, cap);
		/* Clamping keeps the original length, as a snaplen cut does. */
		assert_int_equal(rec.wire_len, sizes[i] + (i % 7 == 0 ? 10 : 0));
		frame_for(i, sizes[i], got);
		assert_memory_equal(rec.data, got, cap);
	}
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	assert_int_equal(vsm_pcap_count(r), n);
	vsm_pcap_close(r);
	free(got);
	free(sizes);
	free(buf);
	drop(path);
}

static void test_roundtrip_usec(void **state)
{
	roundtrip(false, false);
}

static void test_roundtrip_nsec(void **state)
{
	roundtrip(true, false);
}

static void test_roundtrip_flush_each(void **state)
{
	roundtrip(false, true);
}

/* The writer caps the snaplen at 256 KiB, the most libpcap (tcpdump, tshark) reads back. */
static void test_writer_snaplen_cap(void **state)
{
	struct vsm_pcap_writer_opts opts = { .snaplen = 8u << 20 };
	uint8_t *buf = calloc(1, VSM_DEFAULT_SNAPLEN + 100);
	char *path = tu_tmpfile(".pcap");
	struct vsm_pcap_writer *w;
	struct vsm_pcap_reader *r;
	struct vsm_rec rec = { .data = buf, .cap_len = VSM_DEFAULT_SNAPLEN + 100, .wire_len = 400000 };
	char err[512];

	assert_non_null(buf);
	assert_int_equal(vsm_pcap_create(path, &opts, &w, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_write(w, &rec), 0);
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_snaplen(r), VSM_DEFAULT_SNAPLEN);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, VSM_DEFAULT_SNAPLEN);
	assert_int_equal(rec.wire_len, 400000);
	vsm_pcap_close(r);
	free(buf);
	drop(path);
}

/* Frames up to the reader's hard limit (1 MiB: as big as its read buffer) in pcap and pcapng. */
static void test_biggest_records(void **state)
{
	const uint32_t sizes[] = { MAX_CAPLEN, 5, MAX_CAPLEN - 1, 700000, 0, MAX_CAPLEN - 3 };
	uint8_t *buf = malloc(MAX_CAPLEN);
	struct bb pc = { 0 }, ng = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512];

	assert_non_null(buf);
	for (uint32_t i = 0; i < MAX_CAPLEN; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 10));
	pc_hdr(&pc, false, 0xa1b2c3d4, MAX_CAPLEN, 271);
	ng_shb(&ng, true);
	ng_idb(&ng, 271, 0, -1, 0);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pc_rec(&pc, (uint32_t)i, 0, buf, sizes[i], sizes[i]);
		ng_epb(&ng, 0, i * 1000000, buf, sizes[i], sizes[i]);
	}
	for (int k = 0; k < 2; k++) {
		char *path = bb_file(k ? &ng : &pc);

		assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			assert_int_equal(vsm_pcap_next(r, &rec), 1);
			assert_int_equal(rec.ts.tv_sec, i);
			assert_int_equal(rec.cap_len, sizes[i]);
			assert_memory_equal(rec.data, buf, sizes[i]);
		}
		assert_int_equal(vsm_pcap_next(r, &rec), 0);
		vsm_pcap_close(r);
		drop(path);
	}
	free(buf);
	free(pc.b);
	free(ng.b);
}

static void test_empty_capture_and_stdin(void **state)
{
	char *path = tu_tmpfile(".pcap");
	struct vsm_pcap_writer *w;
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512];
	int saved, fd;

	assert_int_equal(vsm_pcap_create(path, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	assert_int_equal(file_size(path), 24);
	assert_int_equal(count_file(path, 0, NULL), 0);

	/* "-" is standard input. */
	saved = dup(STDIN_FILENO);
	fd = open(path, O_RDONLY);
	assert_true(saved >= 0 && fd >= 0);
	assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
	close(fd);
	assert_int_equal(vsm_pcap_open("-", &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	vsm_pcap_close(r);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	drop(path);
}

/* The golden captures (written by the project's tools) read whole. */
static void test_golden_captures(void **state)
{
	static const struct {
		const char *name;
		uint64_t n;
	} caps[] = {
		{ "halfclose.pcap", 9 }, { "loopback-mixed.pcap", 96 },
		{ "nolisten.pcap", 10 }, { "virtio-echo-rst.pcap", 12 },
	};
	const char *dir = getenv("CAPTURES");
	char path[4096];

	if (!dir)
		skip();
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, caps[i].name);
		assert_int_equal(count_file(path, 0, NULL), caps[i].n);
	}
}

/* ---- classic pcap by hand ---- */

static void swapped_pcap(bool nsec)
{
	static const uint8_t data[5] = { 1, 2, 3, 4, 5 };
	struct bb bb = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512], *path;

	pc_hdr(&bb, true, nsec ? 0xa1b23c4d : 0xa1b2c3d4, 1000, 271);
	pc_rec(&bb, 0x01020304, nsec ? 999999999 : 999999, data, 5, 9);
	pc_rec(&bb, 7, 0, data, 0, 0);
	/* An out-of-range fraction is carried into the seconds. */
	pc_rec(&bb, 7, nsec ? 1500000000 : 1500000, data, 3, 3);
	path = bb_file(&bb);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_snaplen(r), 1000);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 0x01020304);
	assert_int_equal(rec.ts.tv_nsec, nsec ? 999999999 : 999999000);
	assert_int_equal(rec.cap_len, 5);
	assert_int_equal(rec.wire_len, 9);
	assert_memory_equal(rec.data, data, 5);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 8);
	assert_int_equal(rec.ts.tv_nsec, 500000000);
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	vsm_pcap_close(r);
	drop(path);
	free(bb.b);
}

static void test_pcap_big_endian_usec(void **state)
{
	swapped_pcap(false);
}

static void test_pcap_big_endian_nsec(void **state)
{
	swapped_pcap(true);
}

/* caplen > wire len is passed through (tcpdump reads such files too). */
static void test_caplen_over_wirelen_tolerated(void **state)
{
	uint8_t data[80] = { 0 };
	struct bb bb = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512], *path;

	pc_hdr(&bb, false, 0xa1b2c3d4, 65535, 271);
	pc_rec(&bb, 1, 2, data, 80, 50);
	path = bb_file(&bb);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, 80);
	assert_int_equal(rec.wire_len, 50);
	vsm_pcap_close(r);
	drop(path);
	free(bb.b);
}

/* ---- pcapng by hand ---- */

static void ng_basic(bool be)
{
	static const uint8_t d76[76] = { 3, 0, 0, 0, 0, 0, 0, 0, 2 };
	static const uint8_t d5[5] = { 9, 8, 7, 6, 5 };
	struct bb bb = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512], *path;

	ng_shb(&bb, be);
	ng_other(&bb, 4, 10);			/* NRB: skipped */
	ng_idb(&bb, 271, 262144, -1, 0);	/* default resolution: microseconds */
	ng_epb(&bb, 0, UINT64_C(1700000000123456), d76, 76, 76);
	ng_other(&bb, 5, 24);			/* ISB: skipped */
	ng_other(&bb, 0x40000bad, 0);		/* custom block: skipped */
	ng_epb(&bb, 0, UINT64_C(1700000001000001), d5, 5, 500);
	ng_epb(&bb, 0, 0, d5, 0, 0);
	path = bb_file(&bb);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_snaplen(r), 262144);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 1700000000);
	assert_int_equal(rec.ts.tv_nsec, 123456000);
	assert_int_equal(rec.cap_len, 76);
	assert_int_equal(rec.wire_len, 76);
	assert_memory_equal(rec.data, d76, 76);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 1700000001);
	assert_int_equal(rec.ts.tv_nsec, 1000);
	assert_int_equal(rec.cap_len, 5);
	assert_int_equal(rec.wire_len, 500);
	assert_memory_equal(rec.data, d5, 5);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, 0);
	assert_int_equal(rec.ts.tv_sec, 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	assert_int_equal(vsm_pcap_count(r), 3);
	vsm_pcap_close(r);
	drop(path);
	free(bb.b);
}

static void test_pcapng_little_endian(void **state)
{
	ng_basic(false);
}

static void test_pcapng_big_endian(void **state)
{
	ng_basic(true);
}

/* if_tsresol (decimal and binary) and if_tsoffset, per interface. */
static void test_pcapng_tsresol_tsoffset(void **state)
{
	static const uint8_t d[4] = { 1, 2, 3, 4 };
	struct bb bb = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512], *path;

	ng_shb(&bb, true);
	ng_idb(&bb, 271, 0, 9, 0);		/* 0: nanoseconds */
	ng_idb(&bb, 271, 0, 0x80 | 10, 1000);	/* 1: 2^-10 s, +1000 s */
	ng_idb(&bb, 271, 0, 3, -100);		/* 2: milliseconds, -100 s */
	ng_idb(&bb, 271, 0, 12, 0);		/* 3: picoseconds */
	ng_idb(&bb, 271, 0, 0, 0);		/* 4: seconds */
	ng_epb(&bb, 0, UINT64_C(1700000000987654321), d, 4, 4);
	ng_epb(&bb, 1, 5 * 1024 + 512, d, 4, 4);
	ng_epb(&bb, 2, 1700000000250, d, 4, 4);
	ng_epb(&bb, 3, UINT64_C(12345678901234567), d, 4, 4);
	ng_epb(&bb, 4, 42, d, 4, 4);
	path = bb_file(&bb);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 1700000000);
	assert_int_equal(rec.ts.tv_nsec, 987654321);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 1005);
	assert_int_equal(rec.ts.tv_nsec, 500000000);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 1700000000 - 100);
	assert_int_equal(rec.ts.tv_nsec, 250000000);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 12345);
	assert_int_equal(rec.ts.tv_nsec, 678901234);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 42);
	assert_int_equal(rec.ts.tv_nsec, 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	vsm_pcap_close(r);
	drop(path);
	free(bb.b);
}

/* Two sections of opposite byte orders; interface numbers restart with each. */
static void test_pcapng_sections(void **state)
{
	static const uint8_t d[3] = { 7, 7, 7 };
	struct bb bb = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512], *path;

	ng_shb(&bb, false);
	ng_idb(&bb, 271, 100, -1, 0);
	ng_epb(&bb, 0, 1000001, d, 3, 3);
	ng_shb(&bb, true);
	ng_idb(&bb, 271, 200, 9, 0);
	ng_epb(&bb, 0, 2000000001, d, 3, 3);
	ng_epb(&bb, 1, 0, d, 3, 3);		/* interface 1 only existed... nowhere */
	path = bb_file(&bb);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_snaplen(r), 100);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 1);
	assert_int_equal(rec.ts.tv_nsec, 1000);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.ts.tv_sec, 2);
	assert_int_equal(rec.ts.tv_nsec, 1);
	assert_int_equal(vsm_pcap_next(r, &rec), -EINVAL);
	assert_non_null(strstr(vsm_pcap_error(r), "record 3"));
	assert_non_null(strstr(vsm_pcap_error(r), "interface 1 is not defined"));
	/* Errors are sticky. */
	assert_int_equal(vsm_pcap_next(r, &rec), -EINVAL);
	assert_int_equal(vsm_pcap_count(r), 2);
	vsm_pcap_close(r);
	drop(path);
	free(bb.b);
}

/* Simple Packet Blocks take their captured length from the IDB snaplen; obsolete Packet Blocks still read. */
static void test_pcapng_spb_opb(void **state)
{
	uint8_t d[100];
	struct bb bb = { 0 };
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512], *path;
	size_t at;

	for (int i = 0; i < 100; i++)
		d[i] = (uint8_t)i;
	ng_shb(&bb, false);
	ng_idb(&bb, 271, 64, -1, 0);
	at = bb_begin(&bb, 3);			/* SPB, origlen 100: 64 bytes kept */
	bb_u32(&bb, 100);
	bb_bytes(&bb, d, 64);
	bb_end(&bb, at);
	at = bb_begin(&bb, 3);			/* SPB, origlen 10 */
	bb_u32(&bb, 10);
	bb_bytes(&bb, d, 10);
	bb_end(&bb, at);
	at = bb_begin(&bb, 2);			/* OPB */
	bb_u16(&bb, 0);
	bb_u16(&bb, 0);
	bb_u32(&bb, 0);
	bb_u32(&bb, 3000001);
	bb_u32(&bb, 7);
	bb_u32(&bb, 9);
	bb_bytes(&bb, d, 7);
	bb_end(&bb, at);
	path = bb_file(&bb);
	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, 64);
	assert_int_equal(rec.wire_len, 100);
	assert_memory_equal(rec.data, d, 64);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, 10);
	assert_int_equal(rec.wire_len, 10);
	assert_int_equal(vsm_pcap_next(r, &rec), 1);
	assert_int_equal(rec.cap_len, 7);
	assert_int_equal(rec.wire_len, 9);
	assert_int_equal(rec.ts.tv_sec, 3);
	assert_int_equal(rec.ts.tv_nsec, 1000);
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	vsm_pcap_close(r);
	drop(path);
	free(bb.b);
}

/* A section with no interface is an empty but valid capture. */
static void test_pcapng_shb_only(void **state)
{
	struct bb bb = { 0 };
	char *path;

	ng_shb(&bb, false);
	path = bb_file(&bb);
	assert_int_equal(count_file(path, 0, NULL), 0);
	drop(path);
	free(bb.b);
}

/* ---- hostile input ---- */

static void test_empty_file(void **state)
{
	char *path = tu_tmpfile(".pcap");

	expect_open_error(path, -ENODATA, path, "empty file, not a capture", NULL);
	drop(path);
}

static void test_garbage(void **state)
{
	static const char text[] = "this is a text file, not a capture\n";
	char *path = tu_tmpfile(".pcap");

	put_file(path, text, sizeof(text) - 1);
	expect_open_error(path, -EINVAL, path, "not a capture file", "74 68 69 73", NULL);
	put_file(path, "abc", 3);
	expect_open_error(path, -EINVAL, "only 3 bytes", "too short", NULL);
	drop(path);
	expect_open_error("/nonexistent/x.pcap", -ENOENT, "/nonexistent/x.pcap", "No such file", NULL);
}

static void test_truncated_file_header(void **state)
{
	struct bb bb = { 0 };
	char *path;

	pc_hdr(&bb, false, 0xa1b2c3d4, 65535, 271);
	bb.n = 10;
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "truncated pcap file header", "10 of 24 bytes", NULL);
	drop(path);
	bb.n = 0;
	ng_shb(&bb, false);
	bb.n = 10;
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "truncated", "byte offset 0", NULL);
	drop(path);
	free(bb.b);
}

static void test_wrong_link_type(void **state)
{
	struct bb bb = { 0 };
	char *path;

	pc_hdr(&bb, false, 0xa1b2c3d4, 65535, 1);
	path = bb_file(&bb);
	expect_open_error(path, -EPROTONOSUPPORT, path, "link type 1 (EN10MB), not 271 (VSOCK): not a vsock capture", NULL);
	drop(path);
	bb.n = 0;
	pc_hdr(&bb, true, 0xa1b23c4d, 65535, 113);
	path = bb_file(&bb);
	expect_open_error(path, -EPROTONOSUPPORT, "link type 113 (LINUX_SLL)", NULL);
	drop(path);
	bb.n = 0;
	ng_shb(&bb, true);
	ng_idb(&bb, 1, 65535, -1, 0);
	path = bb_file(&bb);
	expect_open_error(path, -EPROTONOSUPPORT, path, "interface 0", "link type 1 (EN10MB), not 271 (VSOCK)", NULL);
	drop(path);
	free(bb.b);
}

/* A second interface of another type, after some packets: those packets first, then the error. */
static void test_pcapng_late_wrong_interface(void **state)
{
	static const uint8_t d[4] = { 0 };
	struct bb bb = { 0 };
	char *path;

	ng_shb(&bb, false);
	ng_idb(&bb, 271, 0, -1, 0);
	ng_epb(&bb, 0, 1, d, 4, 4);
	ng_epb(&bb, 0, 2, d, 4, 4);
	ng_idb(&bb, 276, 0, -1, 0);
	ng_epb(&bb, 1, 3, d, 4, 4);
	path = bb_file(&bb);
	assert_int_equal(count_file(path, -EPROTONOSUPPORT, "interface 1"), 2);
	assert_int_equal(count_file(path, -EPROTONOSUPPORT, "link type 276 (LINUX_SLL2)"), 2);
	drop(path);
	free(bb.b);
}

static void test_pcap_bad_version(void **state)
{
	struct bb bb = { 0 };
	char *path;

	pc_hdr(&bb, false, 0xa1b2c3d4, 65535, 271);
	bb.b[4] = 3;
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "unsupported pcap version 3.4", NULL);
	drop(path);
	free(bb.b);
}

/* Writes n records of size bytes each with our writer; returns the path. */
static char *written_file(uint32_t n, uint32_t size)
{
	char *path = tu_tmpfile(".pcap");
	struct vsm_pcap_writer *w;
	uint8_t buf[4096];
	struct vsm_rec rec;
	char err[512];

	assert_true(size <= sizeof(buf));
	assert_int_equal(vsm_pcap_create(path, NULL, &w, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < n; i++) {
		rec.ts = ts_for(i);
		rec.data = buf;
		rec.cap_len = rec.wire_len = (uint32_t)frame_for(i, size, buf);
		assert_int_equal(vsm_pcap_write(w, &rec), 0);
	}
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	return path;
}

static void test_truncated_last_record(void **state)
{
	char *path = written_file(5, 100);
	char want[128];

	/* Cut inside record 5's data: records 1-4 come first, then the error. */
	assert_int_equal(truncate(path, 24 + 4 * 116 + 16 + 60), 0);
	snprintf(want, sizeof(want), "record 5 at byte offset %d: truncated record: caplen 100 but only 60 bytes", 24 + 4 * 116);
	assert_int_equal(count_file(path, -EINVAL, want), 4);
	/* Cut inside its header. */
	assert_int_equal(truncate(path, 24 + 4 * 116 + 7), 0);
	assert_int_equal(count_file(path, -EINVAL, "record 5 at byte offset 488: truncated record header (7 of 16 bytes)"), 4);
	/* Cut on a boundary: a clean end. */
	assert_int_equal(truncate(path, 24 + 4 * 116), 0);
	assert_int_equal(count_file(path, 0, NULL), 4);
	drop(path);
}

static void test_caplen_exceeds_snaplen(void **state)
{
	static uint8_t data[300];
	struct bb bb = { 0 };
	char *path;

	pc_hdr(&bb, false, 0xa1b2c3d4, 100, 271);
	pc_rec(&bb, 1, 0, data, 100, 100);
	pc_rec(&bb, 2, 0, data, 200, 200);
	path = bb_file(&bb);
	assert_int_equal(count_file(path, -EINVAL, "record 2 at byte offset 140: caplen 200 exceeds snaplen 100"), 1);
	drop(path);

	/* Snaplen 0 (unknown) still has the hard limit; the bogus caplen is not allocated for. */
	bb.n = 0;
	pc_hdr(&bb, true, 0xa1b2c3d4, 0, 271);
	pc_rec(&bb, 1, 0, data, 10, 10);
	pc_rec(&bb, 1, 0, data, 0, 0);
	bb_set32(&bb, bb.n - 8, 0xfffffff0u);
	path = bb_file(&bb);
	assert_int_equal(count_file(path, -EINVAL, "record 2 at byte offset 50: caplen 4294967280 exceeds the limit of 1048576"), 1);
	drop(path);

	bb.n = 0;
	ng_shb(&bb, false);
	ng_idb(&bb, 271, 16, -1, 0);
	ng_epb(&bb, 0, 0, data, 16, 16);
	ng_epb(&bb, 0, 0, data, 17, 17);
	path = bb_file(&bb);
	assert_int_equal(count_file(path, -EINVAL, "record 2"), 1);
	assert_int_equal(count_file(path, -EINVAL, "caplen 17 exceeds snaplen 16"), 1);
	drop(path);
	free(bb.b);
}

/* Builds SHB + IDB + 3 EPBs; returns the offset of the third EPB. */
static size_t ng_three(struct bb *bb, bool be)
{
	static const uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t at;

	bb->n = 0;
	ng_shb(bb, be);
	ng_idb(bb, 271, 0, -1, 0);
	ng_epb(bb, 0, 1, d, 8, 8);
	ng_epb(bb, 0, 2, d, 8, 8);
	at = bb->n;
	ng_epb(bb, 0, 3, d, 8, 8);
	return at;
}

static void ng_expect(struct bb *bb, uint64_t want_n, int want_ret, const char *w1, const char *w2)
{
	char *path = bb_file(bb);

	assert_int_equal(count_file(path, want_ret, w1), want_n);
	if (w2)
		assert_int_equal(count_file(path, want_ret, w2), want_n);
	drop(path);
}

static void test_pcapng_block_lengths(void **state)
{
	struct bb bb = { 0 };
	char want[128];
	size_t at;

	for (int be = 0; be < 2; be++) {
		/* Trailing length differs from the leading one. */
		at = ng_three(&bb, be);
		bb_set32(&bb, bb.n - 4, 44);
		snprintf(want, sizeof(want), "at byte offset %zu: trailing block length 44 differs", at);
		ng_expect(&bb, 2, -EINVAL, want, NULL);
		/* Not a multiple of 4. */
		at = ng_three(&bb, be);
		bb_set32(&bb, at + 4, 50);
		ng_expect(&bb, 2, -EINVAL, "invalid block length 50", NULL);
		/* Smaller than a block can be. */
		at = ng_three(&bb, be);
		bb_set32(&bb, at + 4, 8);
		ng_expect(&bb, 2, -EINVAL, "invalid block length 8", NULL);
		/* caplen bigger than the block. */
		at = ng_three(&bb, be);
		bb_set32(&bb, at + 20, 21);	/* the options area takes 9..20 */
		ng_expect(&bb, 2, -EINVAL, "record 3", "block length 52 too small for caplen 21");
		/* Truncated last block. */
		at = ng_three(&bb, be);
		bb.n -= 5;
		snprintf(want, sizeof(want), "record 3 at byte offset %zu: truncated block", at);
		ng_expect(&bb, 2, -EINVAL, want, NULL);
		/* Truncated block header. */
		ng_three(&bb, be);
		bb_u32(&bb, 6);
		ng_expect(&bb, 3, -EINVAL, "truncated block header", "(4 of 8 bytes)");
		/* Huge length on an unknown block: skipped until the file ends, then reported. */
		ng_three(&bb, be);
		at = bb.n;
		ng_other(&bb, 0x1234, 8);
		bb_set32(&bb, at + 4, 0x7ffffff0);
		ng_expect(&bb, 3, -EINVAL, "block of type 0x00001234", "goes past the end of the file");
		/* Huge length on a known block: refused before any allocation. */
		at = ng_three(&bb, be);
		bb_set32(&bb, at + 4, 0x7ffffff0);
		ng_expect(&bb, 2, -EINVAL, "exceeds the limit", NULL);
	}
	free(bb.b);
}

static void test_pcapng_bad_headers(void **state)
{
	static const uint8_t d[4] = { 0 };
	struct bb bb = { 0 };
	char *path;
	size_t at;

	/* Byte-order magic. */
	ng_shb(&bb, false);
	bb_set32(&bb, 8, 0x12345678);
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "bad byte-order magic 0x12345678", NULL);
	drop(path);
	/* Version. */
	bb.n = 0;
	ng_shb(&bb, true);
	bb.b[13] = 2;
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "unsupported pcapng version 2.0", NULL);
	drop(path);
	/* An IDB option running past the block. */
	bb.n = 0;
	ng_shb(&bb, false);
	at = bb.n;
	ng_idb(&bb, 271, 0, -1, 0);
	bb_set32(&bb, at + 16, 2 | 200u << 16);
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "IDB at byte offset 28", "option 2 of 200 bytes overruns the block", NULL);
	drop(path);
	/* Absurd resolution. */
	bb.n = 0;
	ng_shb(&bb, false);
	ng_idb(&bb, 271, 0, 20, 0);
	path = bb_file(&bb);
	expect_open_error(path, -EINVAL, "if_tsresol 10^-20 is not supported", NULL);
	drop(path);
	/* A packet before any IDB. */
	bb.n = 0;
	ng_shb(&bb, false);
	ng_epb(&bb, 0, 0, d, 4, 4);
	path = bb_file(&bb);
	assert_int_equal(count_file(path, -EINVAL, "record 1 (EPB at byte offset 28): interface 0 is not defined (0 in this section)"), 0);
	drop(path);
	free(bb.b);
}

/*
 * Every prefix of a valid file: the whole records in it, then a clean end (when cut at one of
 * the points[], after counts[] records) or an error; never a crash. Prefixes shorter than
 * open_min may fail to open.
 */
static void prefixes(const uint8_t *file, size_t len, size_t open_min, const size_t *points,
		     const uint64_t *counts, size_t n_points)
{
	char *path = tu_tmpfile(".pcap");

	for (size_t cut = 0; cut <= len; cut++) {
		struct vsm_pcap_reader *r;
		struct vsm_rec rec;
		char err[512];
		uint64_t whole = 0;
		bool clean = false;
		int ret;

		for (size_t i = 0; i < n_points; i++) {
			if (points[i] <= cut)
				whole = counts[i];
			if (points[i] == cut)
				clean = true;
		}
		put_file(path, file, cut);
		ret = vsm_pcap_open(path, &r, err, sizeof(err));
		if (ret < 0) {
			assert_true(cut < open_min);
			assert_int_equal(ret, cut ? -EINVAL : -ENODATA);
			continue;
		}
		while ((ret = vsm_pcap_next(r, &rec)) > 0)
			;
		assert_int_equal(vsm_pcap_count(r), whole);
		assert_int_equal(ret, clean ? 0 : -EINVAL);
		if (ret < 0)
			assert_non_null(strstr(vsm_pcap_error(r), "truncated"));
		vsm_pcap_close(r);
	}
	drop(path);
}

static void test_every_prefix(void **state)
{
	static const uint8_t d[13] = { 1 };
	struct bb bb = { 0 };
	size_t points[16], n = 0, open_min;
	uint64_t counts[16];

	pc_hdr(&bb, false, 0xa1b23c4d, 100, 271);
	open_min = bb.n;
	points[n] = bb.n;
	counts[n++] = 0;
	for (uint32_t i = 0; i < 4; i++) {
		pc_rec(&bb, i, i, d, i * 4, i * 4);
		points[n] = bb.n;
		counts[n++] = i + 1;
	}
	prefixes(bb.b, bb.n, open_min, points, counts, n);

	n = 0;
	bb.n = 0;
	ng_shb(&bb, true);
	points[n] = bb.n;		/* a section without interfaces is a valid empty capture */
	counts[n++] = 0;
	ng_idb(&bb, 271, 100, 9, 0);
	open_min = bb.n;
	points[n] = bb.n;
	counts[n++] = 0;
	for (uint32_t i = 0; i < 3; i++) {
		ng_other(&bb, 5, 8);	/* whole non-packet blocks end cleanly too */
		points[n] = bb.n;
		counts[n++] = i;
		ng_epb(&bb, 0, i, d, i * 5, i * 5);
		points[n] = bb.n;
		counts[n++] = i + 1;
	}
	prefixes(bb.b, bb.n, open_min, points, counts, n);
	free(bb.b);
}

/* Random corruption of valid files: any outcome but a crash, an overread or a hang. */
static void test_random_corruption(void **state)
{
	static const uint8_t d[40] = { 5 };
	struct bb pc = { 0 }, ng = { 0 };
	char *path = tu_tmpfile(".pcap");
	unsigned seed = 7;
	uint8_t *copy;

	pc_hdr(&pc, false, 0xa1b2c3d4, 64, 271);
	for (uint32_t i = 0; i < 6; i++)
		pc_rec(&pc, i, i, d, i * 7, 40);
	ng_shb(&ng, false);
	ng_idb(&ng, 271, 64, 6, 5);
	for (uint32_t i = 0; i < 3; i++)
		ng_epb(&ng, 0, i, d, i * 9, 40);
	ng_shb(&ng, true);
	ng_idb(&ng, 271, 0, 0x85, 0);
	ng_epb(&ng, 0, 77, d, 33, 40);
	copy = malloc(ng.n > pc.n ? ng.n : pc.n);
	for (int iter = 0; iter < 4000; iter++) {
		const struct bb *src = iter & 1 ? &ng : &pc;
		int flips = 1 + rand_r(&seed) % 4;
		struct vsm_pcap_reader *r;
		struct vsm_rec rec;
		char err[512];
		int ret, recs = 0;

		memcpy(copy, src->b, src->n);
		for (int f = 0; f < flips; f++) {
			size_t at = (size_t)rand_r(&seed) % src->n;

			copy[at] = rand_r(&seed) % 3 ? (uint8_t)rand_r(&seed) : (uint8_t)(copy[at] ^ 0x80);
		}
		put_file(path, copy, src->n - (size_t)(rand_r(&seed) % 3 == 0 ? rand_r(&seed) % 16 : 0));
		if (vsm_pcap_open(path, &r, err, sizeof(err)) < 0) {
			assert_true(err[0] != '\0');
			continue;
		}
		while ((ret = vsm_pcap_next(r, &rec)) > 0) {
			assert_true(rec.cap_len <= MAX_CAPLEN);
			assert_true(rec.ts.tv_nsec >= 0 && rec.ts.tv_nsec < 1000000000);
			recs++;
			assert_true(recs < 100);
		}
		if (ret < 0)
			assert_true(strlen(vsm_pcap_error(r)) > 0);
		vsm_pcap_close(r);
	}
	free(copy);
	free(pc.b);
	free(ng.b);
	drop(path);
}

/* ---- the writer when the disk fills up ---- */

struct disk_full_report {
	int create_ret;
	int fail_ret;		/* the first failing vsm_pcap_write/flush */
	uint32_t fail_at;	/* index of the record whose write failed */
	int close_ret;
	uint64_t size_after;	/* vsm_pcap_size after the failure */
	char msg[512];
};

/*
 * In a child (the limit and the signal disposition must not leak into the test runner):
 * RLIMIT_FSIZE makes write(2) fail with EFBIG past limit bytes, as a full disk would.
 */
static struct disk_full_report disk_full(const char *path, rlim_t limit, const struct vsm_pcap_writer_opts *opts,
					 uint32_t n, uint32_t size)
{
	struct disk_full_report rep;
	int pfd[2];
	pid_t pid;
	int status;

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl;
		struct vsm_pcap_writer *w;
		uint8_t *buf = malloc(size);
		struct vsm_rec rec;
		int ret = 0;

		close(pfd[0]);
		signal(SIGXFSZ, SIG_IGN);
		if (getrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		rl.rlim_cur = limit;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || !buf)
			_exit(2);
		rep.create_ret = vsm_pcap_create(path, opts, &w, rep.msg, sizeof(rep.msg));
		if (rep.create_ret == 0) {
			rep.fail_at = n;
			for (uint32_t i = 0; i < n && ret == 0; i++) {
				rec.ts = ts_for(i);
				rec.data = buf;
				rec.cap_len = rec.wire_len = (uint32_t)frame_for(i, size, buf);
				ret = vsm_pcap_write(w, &rec);
				if (ret < 0)
					rep.fail_at = i;
			}
			if (ret == 0)
				ret = vsm_pcap_flush(w);
			rep.fail_ret = ret;
			rep.size_after = vsm_pcap_size(w);
			snprintf(rep.msg, sizeof(rep.msg), "%s", vsm_pcap_writer_error(w));
			/* A second write after the error gets the same error. */
			if (ret < 0 && vsm_pcap_write(w, &rec) != ret)
				_exit(3);
			rep.close_ret = vsm_pcap_close_writer(w);
		}
		if (write(pfd[1], &rep, sizeof(rep)) != sizeof(rep))
			_exit(4);
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

/* The file holds exactly the first n records, whole and intact. */
static void check_first_records(const char *path, uint64_t n, uint32_t size)
{
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	uint8_t *want = malloc(size);
	char err[512];

	assert_int_equal(vsm_pcap_open(path, &r, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(vsm_pcap_next(r, &rec), 1);
		assert_int_equal(rec.ts.tv_sec, ts_for(i).tv_sec);
		assert_int_equal(rec.cap_len, size);
		frame_for(i, size, want);
		assert_memory_equal(rec.data, want, size);
	}
	assert_int_equal(vsm_pcap_next(r, &rec), 0);
	vsm_pcap_close(r);
	free(want);
	assert_int_equal(file_size(path), 24 + n * (16 + size));
}

static void test_disk_full_buffered(void **state)
{
	char *path = tu_tmpfile(".pcap");
	const uint32_t size = 100;
	/* Not on a record boundary: the buffer flush writes part of a record, which must go. */
	const rlim_t limit = 24 + 1000 * 116 + 50;
	struct disk_full_report rep = disk_full(path, limit, NULL, 5000, size);
	char want[256];

	assert_int_equal(rep.create_ret, 0);
	assert_int_equal(rep.fail_ret, -EFBIG);
	assert_int_equal(rep.close_ret, -EFBIG);
	/* The first flush (a full 256 KiB buffer) is the one that fails. */
	assert_true(rep.fail_at > 1000 && rep.fail_at < 5000);
	snprintf(want, sizeof(want), "%s: File too large after %u records; file kept valid up to record 1000",
		 path, rep.fail_at);
	assert_string_equal(rep.msg, want);
	assert_int_equal(rep.size_after, 24 + 1000 * 116);
	check_first_records(path, 1000, size);
	drop(path);
}

static void test_disk_full_flush_each(void **state)
{
	struct vsm_pcap_writer_opts opts = { .flush_each = true };
	char *path = tu_tmpfile(".pcap");
	const uint32_t size = 76;
	const rlim_t limit = 24 + 37 * 92 + 91;
	struct disk_full_report rep = disk_full(path, limit, &opts, 100, size);

	assert_int_equal(rep.fail_ret, -EFBIG);
	/* -U: every record whose write returned 0 is in the file; the failing one is not. */
	assert_int_equal(rep.fail_at, 37);
	assert_non_null(strstr(rep.msg, "File too large after 37 records; file kept valid up to record 37"));
	check_first_records(path, 37, size);
	drop(path);
}

/* A record bigger than the write buffer goes straight to the file: cut back too. */
static void test_disk_full_big_record(void **state)
{
	struct vsm_pcap_writer_opts opts = { .snaplen = VSM_DEFAULT_SNAPLEN };
	char *path = tu_tmpfile(".pcap");
	const uint32_t size = VSM_DEFAULT_SNAPLEN;	/* with its header, more than the 256 KiB buffer */
	const rlim_t limit = 24 + 2 * (16 + size) + 1000;
	struct disk_full_report rep = disk_full(path, limit, &opts, 10, size);

	assert_int_equal(rep.fail_ret, -EFBIG);
	assert_int_equal(rep.fail_at, 2);
	assert_non_null(strstr(rep.msg, "after 2 records; file kept valid up to record 2"));
	check_first_records(path, 2, size);
	drop(path);
}

/* The header cannot be written: the create fails and says so. */
static void test_disk_full_at_create(void **state)
{
	char *path = tu_tmpfile(".pcap");
	struct disk_full_report rep = disk_full(path, 10, NULL, 1, 76);

	assert_int_equal(rep.create_ret, -EFBIG);
	assert_non_null(strstr(rep.msg, "writing the file header"));
	assert_int_equal(file_size(path), 0);
	drop(path);
}

/* "-" on a pipe whose reader went away: cannot be cut back, so it is only reported. */
static void test_stdout_pipe_error(void **state)
{
	int pfd[2], rpt[2], status;
	pid_t pid;
	char msg[512] = "";

	assert_int_equal(pipe(rpt), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vsm_pcap_writer *w;
		uint8_t buf[76];
		struct vsm_rec rec = { .data = buf, .cap_len = 76, .wire_len = 76 };
		char err[512] = "";
		int ret;

		close(rpt[0]);
		signal(SIGPIPE, SIG_IGN);
		if (pipe(pfd) < 0 || dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(2);
		frame_for(0, 76, buf);
		ret = vsm_pcap_create("-", NULL, &w, err, sizeof(err));
		if (ret < 0)
			_exit(3);
		close(pfd[0]);
		if (vsm_pcap_write(w, &rec) != 0 || vsm_pcap_flush(w) != -EPIPE)
			_exit(4);
		snprintf(msg, sizeof(msg), "%s", vsm_pcap_writer_error(w));
		if (vsm_pcap_close_writer(w) != -EPIPE)
			_exit(5);
		if (write(rpt[1], msg, sizeof(msg)) != sizeof(msg))
			_exit(6);
		_exit(0);
	}
	close(rpt[1]);
	assert_int_equal(read(rpt[0], msg, sizeof(msg)), sizeof(msg));
	close(rpt[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(msg, "stdout: Broken pipe after 1 records"));
	assert_non_null(strstr(msg, "holds 0 whole records"));
}

static void test_writer_bad_args(void **state)
{
	struct vsm_pcap_writer *w = NULL;
	struct vsm_rec rec = { .cap_len = 5 };
	char err[512] = "";
	char *path = tu_tmpfile(".pcap");

	assert_int_equal(vsm_pcap_create("", NULL, &w, err, sizeof(err)), -EINVAL);
	assert_null(w);
	assert_int_equal(vsm_pcap_create("/nonexistent/dir/x.pcap", NULL, &w, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/dir/x.pcap: No such file or directory"));
	assert_int_equal(vsm_pcap_create(path, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_write(w, &rec), -EINVAL);	/* cap_len without data */
	assert_string_equal(vsm_pcap_writer_error(w), "no error");
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	assert_int_equal(vsm_pcap_close_writer(NULL), 0);
	vsm_pcap_close(NULL);
	drop(path);
}

/* A file created with perm gets exactly its mode whatever the umask, also when it was there before with
 * more (it is truncated, not made anew), and its group; mode 0 leaves it to 0666 less the umask. */
static mode_t created_mode(const char *path, mode_t mask, const struct vsm_file_perm *perm, gid_t *ret_gid)
{
	struct vsm_pcap_writer_opts opts = { .perm = *perm };
	struct vsm_pcap_writer *w;
	char err[512] = "";
	mode_t old = umask(mask);
	struct stat st;
	int ret = vsm_pcap_create(path, &opts, &w, err, sizeof(err));

	umask(old);
	assert_int_equal(ret, 0);
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	assert_int_equal(stat(path, &st), 0);
	*ret_gid = st.st_gid;
	return st.st_mode & 07777;
}

static void test_writer_file_perm(void **state)
{
	char *path = tu_tmpfile(".pcap");
	const struct vsm_file_perm p640 = { .mode = 0640 }, p600_group = { .mode = 0600, .set_group = true,
									   .gid = getegid() };
	const struct vsm_file_perm umask_only = { 0 };
	gid_t gid;

	unlink(path);
	assert_int_equal(created_mode(path, 0, &p640, &gid), 0640);
	unlink(path);
	assert_int_equal(created_mode(path, 022, &p640, &gid), 0640);
	unlink(path);
	assert_int_equal(created_mode(path, 0077, &p640, &gid), 0640);	/* the umask takes nothing away */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(created_mode(path, 0, &p600_group, &gid), 0600);	/* there before, readable by all */
	assert_int_equal(gid, getegid());
	unlink(path);
	assert_int_equal(created_mode(path, 027, &umask_only, &gid), 0640);
	drop(path);
}

/* no_follow: a symbolic link at the path is refused with ELOOP and its target keeps its bytes; without
 * it (vsockdump -w, as tcpdump) the link is followed. */
static void test_writer_no_follow(void **state)
{
	char *target = tu_tmpfile(".target"), *link = tu_tmpfile(".pcap");
	const struct vsm_pcap_writer_opts opts = { .perm = { .mode = 0600 }, .no_follow = true };
	struct vsm_pcap_writer *w = NULL;
	char err[512] = "", buf[32] = "";
	struct stat st;
	FILE *f;

	f = fopen(target, "w");
	assert_non_null(f);
	fputs("not a capture\n", f);
	fclose(f);
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(vsm_pcap_create(link, &opts, &w, err, sizeof(err)), -ELOOP);
	assert_null(w);
	assert_non_null(strstr(err, "is a symbolic link: not followed"));
	f = fopen(target, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "not a capture\n");
	assert_int_equal(vsm_pcap_create(link, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_size, 24);	/* the pcap file header: the link was followed */
	unlink(link);
	drop(link);
	drop(target);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_file_perm),
		cmocka_unit_test(test_writer_no_follow),
		cmocka_unit_test(test_roundtrip_usec),
		cmocka_unit_test(test_roundtrip_nsec),
		cmocka_unit_test(test_roundtrip_flush_each),
		cmocka_unit_test(test_writer_snaplen_cap),
		cmocka_unit_test(test_biggest_records),
		cmocka_unit_test(test_empty_capture_and_stdin),
		cmocka_unit_test(test_golden_captures),
		cmocka_unit_test(test_pcap_big_endian_usec),
		cmocka_unit_test(test_pcap_big_endian_nsec),
		cmocka_unit_test(test_caplen_over_wirelen_tolerated),
		cmocka_unit_test(test_pcapng_little_endian),
		cmocka_unit_test(test_pcapng_big_endian),
		cmocka_unit_test(test_pcapng_tsresol_tsoffset),
		cmocka_unit_test(test_pcapng_sections),
		cmocka_unit_test(test_pcapng_spb_opb),
		cmocka_unit_test(test_pcapng_shb_only),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_truncated_file_header),
		cmocka_unit_test(test_wrong_link_type),
		cmocka_unit_test(test_pcapng_late_wrong_interface),
		cmocka_unit_test(test_pcap_bad_version),
		cmocka_unit_test(test_truncated_last_record),
		cmocka_unit_test(test_caplen_exceeds_snaplen),
		cmocka_unit_test(test_pcapng_block_lengths),
		cmocka_unit_test(test_pcapng_bad_headers),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_random_corruption),
		cmocka_unit_test(test_disk_full_buffered),
		cmocka_unit_test(test_disk_full_flush_each),
		cmocka_unit_test(test_disk_full_big_record),
		cmocka_unit_test(test_disk_full_at_create),
		cmocka_unit_test(test_stdout_pipe_error),
		cmocka_unit_test(test_writer_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
