/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-rotate.c: -C/-G/-W rotation: tcpdump's names, the ring, the stop, and no lost records. */
#include <endian.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cmocka.h>

#include <vsockmon/pcap.h>
#include <vsockmon/rotate.h>
#include <vsockmon/wire.h>

#include "testutil.h"

/* 2023-11-14 22:13:20 UTC */
#define T0	1700000000

struct ctx {
	char dir[256];
	char path[512];
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *tmp = getenv("TMPDIR");

	if (!c)
		return -1;
	snprintf(c->dir, sizeof(c->dir), "%s/vsmrot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(c->dir))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	nftw(c->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(c);
	return 0;
}

/* dir/name */
static const char *in(struct ctx *c, const char *name)
{
	snprintf(c->path, sizeof(c->path), "%s/%s", c->dir, name);
	return c->path;
}

static bool exists(struct ctx *c, const char *name)
{
	return access(in(c, name), F_OK) == 0;
}

/* Record number i at time t: a 100-byte frame (116 bytes in the file) whose source port is i. */
static void write_rec(struct vsm_rotator *rot, uint32_t i, time_t t, uint32_t size, int want)
{
	uint8_t buf[2048];
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = i, .dst_port = 1, .op = VSM_OP_RW,
			      .len = size - VSM_FRAME_HDR_LEN, .payload_len = size - VSM_FRAME_HDR_LEN };
	struct vsm_rec rec = { .ts = { .tv_sec = t }, .data = buf };

	rec.cap_len = rec.wire_len = (uint32_t)tu_build(buf, sizeof(buf), &f);
	assert_int_equal(vsm_rotate_write(rot, &rec), want);
}

/* The file holds exactly records first..last (by source port), in order. */
static void expect_records(struct ctx *c, const char *name, uint32_t first, uint32_t last)
{
	struct vsm_pcap_reader *r;
	struct vsm_rec rec;
	char err[512];
	uint32_t n = 0;

	if (vsm_pcap_open(in(c, name), &r, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	while (vsm_pcap_next(r, &rec) > 0) {
		uint32_t port;

		assert_true(rec.cap_len >= 20);
		memcpy(&port, rec.data + VSM_OFF_MON_SRC_PORT, sizeof(port));
		assert_int_equal(le32toh(port), first + n);
		n++;
	}
	assert_string_equal(vsm_pcap_error(r), "no error");
	vsm_pcap_close(r);
	assert_int_equal(n, last - first + 1);
}

/* mv dir/from dir/to (in() has one buffer: two names need two copies). */
static void move(struct ctx *c, const char *from, const char *to)
{
	char a[512], b[512];

	snprintf(a, sizeof(a), "%s", in(c, from));
	snprintf(b, sizeof(b), "%s", in(c, to));
	assert_int_equal(rename(a, b), 0);
}

static off_t size_of(struct ctx *c, const char *name)
{
	struct stat st;

	assert_int_equal(stat(in(c, name), &st), 0);
	return st.st_size;
}

static struct vsm_rotator *open_rot(struct ctx *c, const char *name, uint64_t max_bytes, uint32_t seconds,
				    uint32_t max_files)
{
	char pattern[512], err[512];
	struct vsm_rotate_opts o = { .path = pattern, .max_bytes = max_bytes, .seconds = seconds,
				     .max_files = max_files };
	struct timespec now = { .tv_sec = T0 };
	struct vsm_rotator *rot;

	snprintf(pattern, sizeof(pattern), "%s/%s", c->dir, name);
	if (vsm_rotate_open(&o, &now, &rot, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return rot;
}

static void expect_current(struct ctx *c, struct vsm_rotator *rot, const char *name)
{
	assert_string_equal(vsm_rotate_current(rot), in(c, name));
}

/* Three 116-byte records fit in 24 + 3 * 116 bytes. */
#define THREE	(24 + 3 * 116)

/* -C: FILE, FILE1, FILE2...; every file within the limit. */
static void test_size_names(void **state)
{
	static const char *names[] = { "cap", "cap1", "cap2", "cap3" };
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "cap", THREE, 0, 0);

	expect_current(c, rot, "cap");
	for (uint32_t i = 0; i < 10; i++) {
		write_rec(rot, i, T0, 100, 0);
		expect_current(c, rot, names[i / 3]);
	}
	assert_int_equal(vsm_rotate_close(rot), 0);
	for (int f = 0; f < 4; f++) {
		expect_records(c, names[f], 3 * (uint32_t)f, f == 3 ? 9 : 3 * (uint32_t)f + 2);
		assert_true(size_of(c, names[f]) <= THREE);
	}
	assert_false(exists(c, "cap0"));
	assert_false(exists(c, "cap4"));
}

/* The size check counts what the snaplen leaves of a frame. */
static void test_size_counts_snaplen(void **state)
{
	struct ctx *c = *state;
	char pattern[512], err[512];
	struct vsm_rotate_opts o = { .path = pattern, .pcap = { .snaplen = 100 }, .max_bytes = THREE };
	struct timespec now = { .tv_sec = T0 };
	struct vsm_rotator *rot;

	snprintf(pattern, sizeof(pattern), "%s/s", c->dir);
	assert_int_equal(vsm_rotate_open(&o, &now, &rot, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < 6; i++)
		write_rec(rot, i, T0, 1000, 0);		/* cut to 100 bytes */
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "s", 0, 2);
	expect_records(c, "s1", 3, 5);
	assert_int_equal(size_of(c, "s1"), THREE);
	assert_false(exists(c, "s2"));
}

/* A record bigger than -C on its own gets a file of its own, never an empty file. */
static void test_size_record_over_limit(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "big", 50, 0, 0);

	for (uint32_t i = 0; i < 3; i++)
		write_rec(rot, i, T0, 100, 0);
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "big", 0, 0);
	expect_records(c, "big1", 1, 1);
	expect_records(c, "big2", 2, 2);
	assert_false(exists(c, "big3"));
}

/* -C -W 3: FILE0, FILE1, FILE2, then FILE0 again (overwritten). */
static void test_size_ring(void **state)
{
	static const char *seq[] = { "r0", "r1", "r2", "r0", "r1" };
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "r", THREE, 0, 3);

	expect_current(c, rot, "r0");
	for (uint32_t i = 0; i < 14; i++) {
		write_rec(rot, i, T0, 100, 0);
		expect_current(c, rot, seq[i / 3]);
	}
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "r0", 9, 11);
	expect_records(c, "r1", 12, 13);
	expect_records(c, "r2", 6, 8);
	assert_false(exists(c, "r"));
	assert_false(exists(c, "r3"));
}

/* Zero padding to the width of W-1, as tcpdump. */
static void test_ring_width(void **state)
{
	static const struct {
		uint32_t w;
		const char *first, *second;
	} cases[] = {
		{ 1, "w", "w" }, { 2, "w0", "w1" }, { 10, "w0", "w1" }, { 11, "w00", "w01" },
		{ 100, "w00", "w01" }, { 101, "w000", "w001" },
	};
	struct ctx *c = *state;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct vsm_rotator *rot = open_rot(c, "w", THREE, 0, cases[k].w);

		expect_current(c, rot, cases[k].first);
		for (uint32_t i = 0; i < 4; i++)
			write_rec(rot, i, T0, 100, 0);
		expect_current(c, rot, cases[k].second);
		assert_int_equal(vsm_rotate_close(rot), 0);
		/* -W 1: a ring of one file, holding the newest record. */
		if (cases[k].w == 1)
			expect_records(c, "w", 3, 3);
	}
}

/* -G 60: a new file, named by strftime in UTC, when a record is 60 s past the slot start. */
static void test_time_names(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "t-%Y%m%d-%H%M%S.pcap", 0, 60, 0);
	static const int dt[] = { 0, 10, 59, 60, 61, 119, 200 };

	expect_current(c, rot, "t-20231114-221320.pcap");
	for (uint32_t i = 0; i < 7; i++) {
		write_rec(rot, i, T0 + dt[i], 100, 0);
		expect_current(c, rot, i < 3 ? "t-20231114-221320.pcap" : i < 6 ? "t-20231114-221420.pcap" :
			       "t-20231114-221640.pcap");
	}
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "t-20231114-221320.pcap", 0, 2);
	expect_records(c, "t-20231114-221420.pcap", 3, 5);
	expect_records(c, "t-20231114-221640.pcap", 6, 6);
}

/* -G with -W: after W files, 1 (stop); the record that would open file W+1 is not written. */
static void test_time_stop(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "g-%H%M%S", 0, 10, 2);

	write_rec(rot, 0, T0, 100, 0);
	write_rec(rot, 1, T0 + 5, 100, 0);
	write_rec(rot, 2, T0 + 10, 100, 0);
	expect_current(c, rot, "g-221330");
	write_rec(rot, 3, T0 + 15, 100, 0);
	write_rec(rot, 4, T0 + 20, 100, 1);
	write_rec(rot, 5, T0 + 21, 100, 1);
	expect_current(c, rot, "g-221330");
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "g-221320", 0, 1);
	expect_records(c, "g-221330", 2, 3);
	assert_false(exists(c, "g-221340"));
}

/* -G and -C: the size number is appended within a time slot and restarts with each slot. */
static void test_time_and_size(void **state)
{
	static const char *seq[] = { "c-2213-", "c-2213-", "c-2213-", "c-2213-1", "c-2213-1", "c-2213-1",
				     "c-2213-2", "c-2214-", "c-2214-", "c-2214-", "c-2214-1" };
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "c-%H%M-", THREE, 60, 0);

	for (uint32_t i = 0; i < 11; i++) {
		write_rec(rot, i, i < 7 ? T0 : T0 + 60, 100, 0);
		expect_current(c, rot, seq[i]);
	}
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "c-2213-", 0, 2);
	expect_records(c, "c-2213-1", 3, 5);
	expect_records(c, "c-2213-2", 6, 6);
	expect_records(c, "c-2214-", 7, 9);
	expect_records(c, "c-2214-1", 10, 10);
}

/* -G -C -W: a ring within each slot, and no stop (tcpdump stops on -W only without -C). */
static void test_time_size_ring(void **state)
{
	static const char *seq[] = { "d-2213-0", "d-2213-0", "d-2213-0", "d-2213-1", "d-2213-1", "d-2213-1",
				     "d-2213-0", "d-2214-0", "d-2215-0", "d-2216-0" };
	static const int dt[] = { 0, 0, 0, 0, 0, 0, 0, 60, 120, 180 };
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "d-%H%M-", THREE, 60, 2);

	for (uint32_t i = 0; i < 10; i++) {
		write_rec(rot, i, T0 + dt[i], 100, 0);
		expect_current(c, rot, seq[i]);
	}
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "d-2213-0", 6, 6);
	expect_records(c, "d-2213-1", 3, 5);
	expect_records(c, "d-2216-0", 9, 9);
}

/* Records older than the slot (an old capture read with -r, a clock step) move the slot back. */
static void test_time_backwards(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "b-%Y%m%d-%H%M%S", 0, 60, 0);

	write_rec(rot, 0, 1600000000, 100, 0);		/* 2020-09-13 12:26:40 */
	write_rec(rot, 1, 1600000059, 100, 0);
	expect_current(c, rot, "b-20231114-221320");
	write_rec(rot, 2, 1600000060, 100, 0);
	expect_current(c, rot, "b-20200913-122740");
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "b-20231114-221320", 0, 1);
	expect_records(c, "b-20200913-122740", 2, 2);
}

/* A rotation that cannot create its file loses nothing: the old file stays whole. */
static void test_failed_rotation(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot;

	assert_int_equal(mkdir(in(c, "13"), 0755), 0);
	rot = open_rot(c, "%M/x.pcap", 0, 60, 0);
	expect_current(c, rot, "13/x.pcap");
	for (uint32_t i = 0; i < 500; i++)
		write_rec(rot, i, T0 + 1, 100, 0);
	write_rec(rot, 500, T0 + 60, 100, -ENOENT);
	assert_non_null(strstr(vsm_rotate_error(rot), in(c, "14/x.pcap")));
	assert_non_null(strstr(vsm_rotate_error(rot), "No such file or directory"));
	assert_non_null(strstr(vsm_rotate_error(rot), "kept"));
	expect_current(c, rot, "13/x.pcap");
	/* The error is sticky. */
	write_rec(rot, 501, T0 + 61, 100, -ENOENT);
	assert_int_equal(vsm_rotate_close(rot), -ENOENT);
	expect_records(c, "13/x.pcap", 0, 499);
}

static void test_open_errors(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotate_opts o = { .path = "-", .max_bytes = 1000000 };
	struct timespec now = { .tv_sec = T0 };
	struct vsm_rotator *rot = NULL;
	char err[512] = "";

	assert_int_equal(vsm_rotate_open(&o, &now, &rot, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not - (stdout)"));
	o.max_bytes = 0;
	o.seconds = 60;
	assert_int_equal(vsm_rotate_open(&o, &now, &rot, err, sizeof(err)), -EINVAL);
	o.path = "";
	assert_int_equal(vsm_rotate_open(&o, &now, &rot, err, sizeof(err)), -EINVAL);
	o.path = in(c, "nodir/x.pcap");
	o.seconds = 0;
	assert_int_equal(vsm_rotate_open(&o, &now, &rot, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, in(c, "nodir/x.pcap")));
	assert_null(rot);
}

/* No -C, -G: one plain file whatever -W says; flush makes it all reach the file. */
static void test_plain(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "plain", 0, 0, 5);

	expect_current(c, rot, "plain");
	for (uint32_t i = 0; i < 20; i++)
		write_rec(rot, i, T0 + 1000 * i, 100, 0);
	assert_int_equal(vsm_rotate_flush(rot), 0);
	assert_int_equal(size_of(c, "plain"), 24 + 20 * 116);
	assert_string_equal(vsm_rotate_error(rot), "no error");
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "plain", 0, 19);
	assert_false(exists(c, "plain0"));
}

/* Records in pieces (the tap's way) rotate and read back as whole ones do: -C counts their total. */
static void test_parts(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "p", THREE, 0, 0);

	for (uint32_t i = 0; i < 7; i++) {
		uint8_t buf[2048];
		struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = i, .dst_port = 1, .op = VSM_OP_RW,
				      .len = 100 - VSM_FRAME_HDR_LEN, .payload_len = 100 - VSM_FRAME_HDR_LEN };
		size_t len = tu_build(buf, sizeof(buf), &f);
		struct timespec ts = { .tv_sec = T0 };
		/* Split where the tap splits: the vsockmon header, the virtio header, the payload. */
		struct iovec parts[3] = {
			{ .iov_base = buf, .iov_len = VSM_MON_HDR_LEN },
			{ .iov_base = buf + VSM_MON_HDR_LEN, .iov_len = VSM_VIRTIO_HDR_LEN },
			{ .iov_base = buf + VSM_FRAME_HDR_LEN, .iov_len = len - VSM_FRAME_HDR_LEN },
		};

		assert_int_equal(len, 100);
		assert_int_equal(vsm_rotate_write_parts(rot, &ts, parts, 3, (uint32_t)len), 0);
		assert_int_equal(vsm_rotate_files(rot), 1 + i / 3);
		assert_int_equal(vsm_rotate_size(rot), 24 + (i % 3 + 1) * 116);
	}
	assert_int_equal(vsm_rotate_write_parts(rot, &(struct timespec){ .tv_sec = T0 }, NULL, 0, 0), -EINVAL);
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "p", 0, 2);
	expect_records(c, "p1", 3, 5);
	expect_records(c, "p2", 6, 6);
}

/* logrotate's way: mv FILE FILE.1, then a reopen starts FILE again; both are whole, nothing lost. */
static void test_reopen_moved(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "log.pcap", 0, 0, 0);
	char err[512] = "x";

	for (uint32_t i = 0; i < 5; i++)
		write_rec(rot, i, T0, 100, 0);
	move(c, "log.pcap", "log.pcap.1");
	/* Until the reopen, records still go to the moved file (the descriptor follows it). */
	write_rec(rot, 5, T0, 100, 0);
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 1);
	assert_string_equal(err, "");
	assert_int_equal(vsm_rotate_files(rot), 2);
	expect_current(c, rot, "log.pcap");
	assert_int_equal(vsm_rotate_size(rot), 24);
	/* The moved file is complete already, before any close. */
	expect_records(c, "log.pcap.1", 0, 5);
	for (uint32_t i = 6; i < 9; i++)
		write_rec(rot, i, T0, 100, 0);
	/* Removed instead of moved: a new file as well. */
	assert_int_equal(vsm_rotate_flush(rot), 0);
	expect_records(c, "log.pcap", 6, 8);
	move(c, "log.pcap", "log.pcap.2");
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 1);
	assert_int_equal(unlink(in(c, "log.pcap")), 0);
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 1);
	write_rec(rot, 9, T0, 100, 0);
	assert_int_equal(vsm_rotate_files(rot), 4);
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "log.pcap.1", 0, 5);
	expect_records(c, "log.pcap.2", 6, 8);
	expect_records(c, "log.pcap", 9, 9);
}

/* A reopen with nothing moved only flushes: the file is not truncated, writing goes on in it. */
static void test_reopen_not_moved(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "same.pcap", 0, 0, 0);
	char err[512];

	for (uint32_t i = 0; i < 4; i++)
		write_rec(rot, i, T0, 100, 0);
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 0);
	assert_int_equal(vsm_rotate_files(rot), 1);
	/* Flushed by the reopen: all four are in the file now. */
	assert_int_equal(size_of(c, "same.pcap"), 24 + 4 * 116);
	write_rec(rot, 4, T0, 100, 0);
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "same.pcap", 0, 4);
}

/* With -C, the reopen is of the current numbered file; -C goes on from the new file's size. */
static void test_reopen_size(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "z", THREE, 0, 3);
	char err[512];

	for (uint32_t i = 0; i < 4; i++)
		write_rec(rot, i, T0, 100, 0);
	expect_current(c, rot, "z1");
	move(c, "z1", "z1.old");
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 1);
	expect_current(c, rot, "z1");
	for (uint32_t i = 4; i < 8; i++)
		write_rec(rot, i, T0, 100, 0);
	expect_current(c, rot, "z2");
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "z0", 0, 2);
	expect_records(c, "z1.old", 3, 3);
	expect_records(c, "z1", 4, 6);
	expect_records(c, "z2", 7, 7);
}

/* A new file that cannot be created: the error says why, writing goes on in the moved file, and the next reopen works. */
static void test_reopen_fails(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot;
	char err[512];

	assert_int_equal(mkdir(in(c, "d"), 0755), 0);
	rot = open_rot(c, "d/f.pcap", 0, 0, 0);
	write_rec(rot, 0, T0, 100, 0);
	move(c, "d", "d.moved");
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, in(c, "d/f.pcap")));
	assert_string_equal(vsm_rotate_error(rot), "no error");
	write_rec(rot, 1, T0, 100, 0);
	assert_int_equal(mkdir(in(c, "d"), 0755), 0);
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 1);
	write_rec(rot, 2, T0, 100, 0);
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "d.moved/f.pcap", 0, 1);
	expect_records(c, "d/f.pcap", 2, 2);
}

/* After -G -W ended the capture, a reopen starts no file. */
static void test_reopen_after_stop(void **state)
{
	struct ctx *c = *state;
	struct vsm_rotator *rot = open_rot(c, "e-%H%M%S", 0, 10, 1);
	char err[512];

	write_rec(rot, 0, T0, 100, 0);
	write_rec(rot, 1, T0 + 10, 100, 1);
	move(c, "e-221320", "e.old");
	assert_int_equal(vsm_rotate_reopen(rot, err, sizeof(err)), 0);
	assert_false(exists(c, "e-221320"));
	assert_int_equal(vsm_rotate_close(rot), 0);
	expect_records(c, "e.old", 0, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_size_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_counts_snaplen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_record_over_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_width, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_and_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_size_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_backwards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_not_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_stop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
