/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-source.c: the capture source: a file, stdin and a pipe, a pipe wait ended by a signal descriptor, truncated and foreign files. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <vsockmon/source.h>
#include <vsockmon/wire.h>

#include "testutil.h"

#define NFRAMES 5
#define PAYLOAD 84	/* each frame: 32 + 44 header bytes and this much payload: 160 bytes */
#define FRAME_LEN (VSM_MON_HDR_LEN + 44 + PAYLOAD)

/* Frame i: its source port says which it is. */
static size_t frame(uint32_t i, uint8_t *buf, size_t cap)
{
	struct tu_frame f = {
		.src_cid = 3, .dst_cid = 2, .src_port = 1000 + i, .dst_port = 22,
		.op = 5 /* RW */, .len = PAYLOAD, .payload_len = PAYLOAD,
	};

	return tu_build(buf, cap, &f);
}

/* A pcap file of n frames; returns its malloc'd path. */
static char *capture(uint32_t n)
{
	char *path = tu_tmpfile(".pcap");
	char err[256];
	struct vsm_pcap_writer *w;
	uint8_t buf[512];

	assert_int_equal(vsm_pcap_create(path, &(struct vsm_pcap_writer_opts){ 0 }, &w, err, sizeof(err)), 0);
	for (uint32_t i = 0; i < n; i++) {
		struct vsm_rec rec = { .ts = { .tv_sec = 1000 + i }, .data = buf };

		rec.cap_len = rec.wire_len = (uint32_t)frame(i, buf, sizeof(buf));
		assert_int_equal(rec.cap_len, FRAME_LEN);
		assert_int_equal(vsm_pcap_write(w, &rec), 0);
	}
	assert_int_equal(vsm_pcap_close_writer(w), 0);
	return path;
}

static uint8_t *slurp(const char *path, size_t *ret_len)
{
	struct stat st;
	uint8_t *data;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	data = malloc((size_t)st.st_size);
	assert_non_null(data);
	assert_int_equal(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*ret_len = (size_t)st.st_size;
	return data;
}

/* Reads frames while they come and checks each is frame i with its time; returns how many, the last result in *ret_end. */
static uint32_t read_frames(struct vsm_source *s, int *ret_end)
{
	uint8_t want[512];
	struct vsm_rec rec;
	uint32_t n = 0;
	int ret;

	while ((ret = vsm_source_next(s, &rec)) == 1) {
		size_t len = frame(n, want, sizeof(want));

		assert_int_equal(rec.cap_len, len);
		assert_int_equal(rec.wire_len, len);
		assert_int_equal(rec.ts.tv_sec, 1000 + n);
		assert_memory_equal(rec.data, want, len);
		n++;
	}
	*ret_end = ret;
	return n;
}

static void test_file(void **state)
{
	char *path = capture(NFRAMES), err[256] = "";
	struct vsm_live_stats st;
	struct vsm_source *s;
	int end;

	(void)state;
	assert_int_equal(vsm_source_open_file(path, -1, &s, err, sizeof(err)), 0);
	assert_false(vsm_source_live(s));
	assert_string_equal(vsm_source_name(s), path);
	/* A file never says "not yet": it has no descriptor to poll. */
	assert_int_equal(vsm_source_fd(s), -1);
	assert_int_equal(vsm_source_stats(s, &st), -EOPNOTSUPP);
	assert_int_equal(read_frames(s, &end), NFRAMES);
	assert_int_equal(end, 0);
	/* The end stays the end. */
	assert_int_equal(vsm_source_next(s, &(struct vsm_rec){ 0 }), 0);
	assert_string_equal(vsm_source_error(s), "no error");
	vsm_source_close(s);
	unlink(path);
	free(path);
}

/* "-": stdin, here the read end of a pipe holding a whole capture. */
static void test_stdin_pipe(void **state)
{
	char *path = capture(NFRAMES), err[256] = "";
	size_t len;
	uint8_t *data = slurp(path, &len);
	int p[2], saved = dup(STDIN_FILENO), end;
	struct vsm_source *s;

	(void)state;
	assert_true(len < 65536);	/* fits in the pipe: no writer process needed */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], data, len), (ssize_t)len);
	close(p[1]);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	assert_int_equal(vsm_source_open_file("-", -1, &s, err, sizeof(err)), 0);
	assert_string_equal(vsm_source_name(s), "stdin");
	assert_int_equal(read_frames(s, &end), NFRAMES);
	assert_int_equal(end, 0);
	vsm_source_close(s);
	dup2(saved, STDIN_FILENO);
	close(saved);
	unlink(path);
	free(data);
	free(path);
}

/*
 * A pipe whose writer stays open and sends nothing more: the wait for the next frame ends as soon
 * as the cancel descriptor is readable (what a signalfd is on SIGINT), with the frames before it read.
 */
static void test_pipe_wait_cancelled(void **state)
{
	char *path = capture(2), err[256] = "", name[64];
	size_t len;
	uint8_t *data = slurp(path, &len);
	int p[2], cancel[2], end;
	struct vsm_source *s;

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(cancel), 0);
	assert_int_equal(write(p[1], data, len), (ssize_t)len);
	snprintf(name, sizeof(name), "/proc/self/fd/%d", p[0]);
	assert_int_equal(vsm_source_open_file(name, cancel[0], &s, err, sizeof(err)), 0);
	assert_int_equal(write(cancel[1], "x", 1), 1);
	assert_int_equal(read_frames(s, &end), 2);
	assert_int_equal(end, -ECANCELED);
	vsm_source_close(s);

	/* The same while the open itself waits for the first bytes. */
	assert_int_equal(vsm_source_open_file(name, cancel[0], &s, err, sizeof(err)), -ECANCELED);
	close(p[0]);
	close(p[1]);
	close(cancel[0]);
	close(cancel[1]);
	unlink(path);
	free(data);
	free(path);
}

/* A file cut inside its last record: the whole records come first, then an error that says where. */
static void test_truncated(void **state)
{
	char *path = capture(NFRAMES), err[256] = "";
	struct vsm_source *s;
	int end;

	(void)state;
	/* 24-byte file header, 16-byte record headers: keep 60 bytes of the last frame. */
	assert_int_equal(truncate(path, 24 + (NFRAMES - 1) * (16 + FRAME_LEN) + 16 + 60), 0);
	assert_int_equal(vsm_source_open_file(path, -1, &s, err, sizeof(err)), 0);
	assert_int_equal(read_frames(s, &end), NFRAMES - 1);
	assert_int_equal(end, -EINVAL);
	assert_non_null(strstr(vsm_source_error(s), path));
	assert_non_null(strstr(vsm_source_error(s), "record 5"));
	assert_non_null(strstr(vsm_source_error(s), "truncated record: caplen 160 but only 60 bytes"));
	/* Sticky: the reader does not resynchronise on garbage. */
	assert_int_equal(vsm_source_next(s, &(struct vsm_rec){ 0 }), -EINVAL);
	vsm_source_close(s);
	unlink(path);
	free(path);
}

/* An Ethernet capture and a file that is no capture at all: refused at open, saying why. */
static void test_foreign(void **state)
{
	static const uint8_t ethernet[24] = {
		0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
	};
	static const char text[] = "GET / HTTP/1.1\r\n\r\n";
	char *path = tu_tmpfile(".pcap"), err[256] = "";
	struct vsm_source *s = NULL;
	FILE *f;

	(void)state;
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(ethernet, 1, sizeof(ethernet), f), sizeof(ethernet));
	fclose(f);
	assert_int_equal(vsm_source_open_file(path, -1, &s, err, sizeof(err)), -EPROTONOSUPPORT);
	assert_null(s);
	assert_non_null(strstr(err, "link type 1 (EN10MB), not 271 (VSOCK)"));

	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, sizeof(text) - 1, f), sizeof(text) - 1);
	fclose(f);
	assert_int_equal(vsm_source_open_file(path, -1, &s, err, sizeof(err)), -EINVAL);
	assert_null(s);
	assert_non_null(strstr(err, "not a capture file"));
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_stdin_pipe),
		cmocka_unit_test(test_pipe_wait_cancelled),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_foreign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
