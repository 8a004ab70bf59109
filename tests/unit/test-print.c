/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-print.c: text lines at each verbosity, the JSON objects, the field table and the string buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include <vsockmon/fields.h>
#include <vsockmon/print.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "testutil.h"

/* 2026-11-21 12:24:26.293638 UTC */
static const struct timespec when = { 1795263866, 293638123 };

static char *text_of(const struct tu_frame *f, size_t cut, const struct vsm_print_opts *o,
		     const struct vsm_credit_view *cv)
{
	static uint8_t buf[4096];
	size_t n = tu_build(buf, sizeof(buf), f);
	struct vsm_pkt p;
	struct vsm_pkt_ctx ctx = { .num = 7, .ts = when, .prev_ts = when, .first_ts = when, .credit = cv };
	struct vsm_strbuf sb;
	char *s;

	vsm_sb_init(&sb);
	vsm_decode(buf, (uint32_t)(cut ? cut : n), (uint32_t)n, &p);
	vsm_print_text(&sb, &p, &ctx, o);
	s = strdup(sb.data ? sb.data : "");
	vsm_sb_free(&sb);
	return s;
}

#define ASSERT_TEXT(expected, f, cut, o, cv)                     \
	do {                                                     \
		char *s_ = text_of(f, cut, o, cv);               \
		assert_string_equal(s_, expected);               \
		free(s_);                                        \
	} while (0)

static void test_default_line(void **state)
{
	struct vsm_print_opts o = { .numeric = true };
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1024, .dst_port = 1234,
			      .op = VSM_OP_REQUEST, .buf_alloc = 262144 };

	ASSERT_TEXT("12:24:26.293638 3:1024 > 2:1234 STREAM REQUEST, length 0\n", &f, 0, &o, NULL);
	o.numeric = false;
	ASSERT_TEXT("12:24:26.293638 3:1024 > host:1234 STREAM REQUEST, length 0\n", &f, 0, &o, NULL);
	f.op = VSM_OP_CREDIT_REQUEST;
	f.src_cid = 1;
	ASSERT_TEXT("12:24:26.293638 local:1024 > host:1234 STREAM CREDIT_REQUEST, length 0\n", &f, 0, &o, NULL);
}

static void test_flags_by_name(void **state)
{
	struct vsm_print_opts o = { .numeric = true, .ts_format = VSM_TS_NONE };
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1, .dst_port = 2, .op = VSM_OP_SHUTDOWN,
			      .flags = VSM_SHUTDOWN_SEND };

	ASSERT_TEXT("3:1 > 2:2 STREAM SHUTDOWN [SEND], length 0\n", &f, 0, &o, NULL);
	f.flags = 3;
	ASSERT_TEXT("3:1 > 2:2 STREAM SHUTDOWN [RCV,SEND], length 0\n", &f, 0, &o, NULL);
	f = (struct tu_frame){ .src_cid = 3, .dst_cid = 2, .src_port = 1, .dst_port = 2, .op = VSM_OP_RW,
			       .type = VSM_TYPE_SEQPACKET, .flags = VSM_SEQ_EOM, .len = 3, .payload_len = 3 };
	ASSERT_TEXT("3:1 > 2:2 SEQPACKET RW [EOM], length 3\n", &f, 0, &o, NULL);
	f.flags = VSM_SEQ_EOM | VSM_SEQ_EOR | 0x10;
	ASSERT_TEXT("3:1 > 2:2 SEQPACKET RW [EOM,EOR,0x10], length 3 [problems: unknown_flags]\n", &f, 0, &o, NULL);
}

static void test_verbosity_levels(void **state)
{
	struct vsm_print_opts o = { .numeric = true, .ts_format = VSM_TS_NONE, .verbose = 1 };
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1, .dst_port = 2, .op = VSM_OP_RW,
			      .len = 5, .payload_len = 5, .buf_alloc = 262144, .fwd_cnt = 12 };
	struct vsm_credit_view cv = { .known = true, .credit = 1000, .in_flight = 5 };

	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 5, buf_alloc 262144, fwd_cnt 12\n", &f, 0, &o, NULL);
	o.verbose = 2;
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 5, buf_alloc 262144, fwd_cnt 12, mon_op PAYLOAD, "
		    "transport VIRTIO, tp_len 44, wirelen 81\n", &f, 0, &o, NULL);
	o.verbose = 3;
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 5, buf_alloc 262144, fwd_cnt 12, mon_op PAYLOAD, "
		    "transport VIRTIO, tp_len 44, wirelen 81, credit 1000, in_flight 5\n", &f, 0, &o, &cv);
	cv.credit = 0;
	cv.window_full = true;
	o.verbose = 3;
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 5, buf_alloc 262144, fwd_cnt 12, mon_op PAYLOAD, "
		    "transport VIRTIO, tp_len 44, wirelen 81, credit 0, in_flight 5 [window_full]\n", &f, 0, &o, &cv);
	cv = (struct vsm_credit_view){ .known = true, .credit = -3, .in_flight = 8, .exceeded = true };
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 5, buf_alloc 262144, fwd_cnt 12, mon_op PAYLOAD, "
		    "transport VIRTIO, tp_len 44, wirelen 81, credit -3, in_flight 8 [credit_exceeded]\n", &f, 0, &o, &cv);
	cv.known = false;
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 5, buf_alloc 262144, fwd_cnt 12, mon_op PAYLOAD, "
		    "transport VIRTIO, tp_len 44, wirelen 81, credit unknown\n", &f, 0, &o, &cv);
	o.quiet = true;
	ASSERT_TEXT("3:1 > 2:2 RW, length 5\n", &f, 0, &o, &cv);
}

static void test_problems_and_truncation(void **state)
{
	struct vsm_print_opts o = { .numeric = true, .ts_format = VSM_TS_NONE };
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1, .dst_port = 2, .op = VSM_OP_RW,
			      .len = 100, .payload_len = 40 };

	/* length is the header's claim; the mismatch is shown, not hidden */
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 100 [problems: len_mismatch]\n", &f, 0, &o, NULL);
	f.len = 40;
	ASSERT_TEXT("3:1 > 2:2 STREAM RW, length 40 [problems: payload_truncated]\n", &f, 90, &o, NULL);
	/* a cut inside the virtio header: only the monitor's view; the wire still had 40 payload bytes */
	ASSERT_TEXT("3:1 > 2:2 VIRTIO PAYLOAD, length 40 [problems: truncated]\n", &f, 50, &o, NULL);
	ASSERT_TEXT("3:1 > 2:? [|vsock] caplen 20 [problems: truncated]\n", &f, 20, &o, NULL);
	ASSERT_TEXT("[|vsock] caplen 7 [problems: truncated]\n", &f, 7, &o, NULL);
	f = (struct tu_frame){ .src_cid = 3, .dst_cid = 2, .op = 12, .type = 9 };
	ASSERT_TEXT("3:0 > 2:0 type(9) op(12), length 0 [problems: unknown_op,unknown_type]\n", &f, 0, &o, NULL);
}

static void test_timestamps(void **state)
{
	struct vsm_print_opts o = { .numeric = true, .quiet = true };
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1, .dst_port = 2, .op = VSM_OP_RST };

	o.ts_format = VSM_TS_EPOCH;
	ASSERT_TEXT("1795263866.293638 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	o.nsec = true;
	ASSERT_TEXT("1795263866.293638123 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	o.nsec = false;
	o.ts_format = VSM_TS_DATE;
	ASSERT_TEXT("2026-11-21 12:24:26.293638 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	o.ts_format = VSM_TS_DELTA;
	ASSERT_TEXT(" 00:00:00.000000 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	/* Local time, as tcpdump: India is 5:30 ahead of UTC all year (no daylight saving to date). */
	o.local_time = true;
	setenv("TZ", "Asia/Kolkata", 1);
	tzset();
	o.ts_format = VSM_TS_TIME;
	ASSERT_TEXT("17:54:26.293638 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	o.ts_format = VSM_TS_DATE;
	ASSERT_TEXT("2026-11-21 17:54:26.293638 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	o.local_time = false;
	ASSERT_TEXT("2026-11-21 12:24:26.293638 3:1 > 2:2 RST, length 0\n", &f, 0, &o, NULL);
	setenv("TZ", "UTC", 1);
	tzset();
}

/* tcpdump's -ttt shape: a sign column and two-digit hours; hours past a day go on (tcpdump's wrap at 24). */
static void test_offsets(void **state)
{
	static const struct {
		int64_t ns;
		bool nsec;
		const char *text;
	} cases[] = {
		{ 0, false, " 00:00:00.000000" },
		{ 1550000, false, " 00:00:00.001550" },
		{ 1550123, true, " 00:00:00.001550123" },
		{ -(INT64_C(5) * 3600 + 58 * 60 + 21) * 1000000000 - 250000000, false, "-05:58:21.250000" },
		{ (INT64_C(30) * 3600) * 1000000000 + 500000000, false, " 30:00:00.500000" },
		{ INT64_MIN, false, "-2562047:47:16.854775" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vsm_strbuf sb;

		vsm_sb_init(&sb);
		vsm_ts_put_offset(&sb, cases[i].ns, cases[i].nsec);
		assert_non_null(sb.data);
		assert_string_equal(sb.data, cases[i].text);
		vsm_sb_free(&sb);
	}
}

static void test_hex_dumps(void **state)
{
	struct vsm_print_opts o = { .numeric = true, .quiet = true, .ts_format = VSM_TS_NONE, .hex = 1 };
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1, .dst_port = 2, .op = VSM_OP_RW,
			      .len = 18, .payload_len = 18 };

	ASSERT_TEXT("3:1 > 2:2 RW, length 18\n"
		    "\t0x0000:  0001 0203 0405 0607 0809 0a0b 0c0d 0e0f\n"
		    "\t0x0010:  1011\n", &f, 0, &o, NULL);
	o.hex = 2;
	ASSERT_TEXT("3:1 > 2:2 RW, length 18\n"
		    "\t0x0000:  0001 0203 0405 0607 0809 0a0b 0c0d 0e0f  ................\n"
		    "\t0x0010:  1011                                     ..\n", &f, 0, &o, NULL);
	o.hex = 3;	/* -xx: the whole frame starts with the monitor's src_cid */
	{
		char *s = text_of(&f, 0, &o, NULL);

		assert_non_null(strstr(s, "\t0x0000:  0300 0000 0000 0000 0200 0000 0000 0000\n"));
		assert_non_null(strstr(s, "\t0x0050:  0405 0607 0809 0a0b 0c0d 0e0f 1011\n"));
		free(s);
	}
}

static json_t *json_of(const struct tu_frame *f, const struct vsm_credit_view *cv, bool hex, char **ret_text)
{
	static uint8_t buf[512];
	size_t n = tu_build(buf, sizeof(buf), f);
	struct vsm_pkt p;
	struct vsm_pkt_ctx ctx = { .num = 42, .ts = when, .credit = cv };
	struct vsm_print_opts o = { .hex = hex };
	struct vsm_strbuf sb;
	json_error_t err;
	json_t *j;

	vsm_sb_init(&sb);
	vsm_decode(buf, (uint32_t)n, (uint32_t)n, &p);
	vsm_print_json(&sb, &p, &ctx, &o);
	assert_non_null(sb.data);
	/* NDJSON: exactly one line */
	assert_int_equal(sb.data[sb.len - 1], '\n');
	assert_null(memchr(sb.data, '\n', sb.len - 1));
	j = json_loads(sb.data, 0, &err);
	if (!j)
		fail_msg("invalid JSON (%s): %s", err.text, sb.data);
	if (ret_text)
		*ret_text = strdup(sb.data);
	vsm_sb_free(&sb);
	return j;
}

static void test_json_values(void **state)
{
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .src_port = 1024, .dst_port = 1234, .op = VSM_OP_RW,
			      .type = VSM_TYPE_SEQPACKET, .flags = 3, .len = 4, .payload_len = 4,
			      .buf_alloc = 262144, .fwd_cnt = 9 };
	struct vsm_credit_view cv = { .known = true, .credit = 100, .in_flight = 4 };
	json_t *j = json_of(&f, &cv, true, NULL);

	assert_int_equal(json_integer_value(json_object_get(j, "schema")), VSM_JSON_SCHEMA);
	assert_int_equal(json_integer_value(json_object_get(j, "num")), 42);
	assert_true(json_is_real(json_object_get(j, "ts")));
	assert_true(json_real_value(json_object_get(j, "ts")) > 1795263866.29);
	assert_int_equal(json_integer_value(json_object_get(j, "src_cid")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "dst_port")), 1234);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "SEQPACKET");
	assert_string_equal(json_string_value(json_object_get(j, "op")), "RW");
	assert_string_equal(json_string_value(json_object_get(j, "mon_op")), "PAYLOAD");
	assert_int_equal(json_array_size(json_object_get(j, "flag_names")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "flag_names"), 1)), "EOR");
	assert_int_equal(json_integer_value(json_object_get(j, "len")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "fwd_cnt")), 9);
	assert_int_equal(json_integer_value(json_object_get(j, "credit")), 100);
	assert_true(json_is_false(json_object_get(j, "window_full")));
	assert_int_equal(json_array_size(json_object_get(j, "problems")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "payload")), "00010203");
	json_decref(j);

	cv.known = false;
	f.len = 9;	/* mismatch */
	j = json_of(&f, &cv, false, NULL);
	assert_true(json_is_null(json_object_get(j, "credit")));
	assert_true(json_is_null(json_object_get(j, "in_flight")));
	assert_null(json_object_get(j, "payload"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "problems"), 0)), "len_mismatch");
	json_decref(j);
}

static void test_json_key_order_is_the_field_table(void **state)
{
	struct tu_frame f = { .src_cid = 3, .dst_cid = 2, .op = VSM_OP_RW, .len = 2, .payload_len = 2 };
	char *text;
	json_t *j = json_of(&f, NULL, true, &text);
	const char *at = text;

	/* every field of the table appears, in the table's order */
	for (int i = 0; i < VSM_F_COUNT; i++) {
		char quoted[64];
		const char *p;

		snprintf(quoted, sizeof(quoted), "\"%s\":", vsm_fields[i].key);
		p = strstr(at, quoted);
		if (!p)
			fail_msg("key %s missing or out of order in %s", vsm_fields[i].key, text);
		at = p;
	}
	assert_int_equal(json_object_size(j), VSM_F_COUNT + 1);	/* + "schema" */
	json_decref(j);
	free(text);
}

static void test_json_without_virtio(void **state)
{
	uint8_t buf[40] = { 3 };
	struct vsm_pkt p;
	struct vsm_pkt_ctx ctx = { .num = 1 };
	struct vsm_print_opts o = { 0 };
	struct vsm_strbuf sb;
	json_t *j;

	vsm_sb_init(&sb);
	vsm_decode(buf, 40, 40, &p);	/* transport UNKNOWN */
	vsm_print_json(&sb, &p, &ctx, &o);
	j = json_loads(sb.data, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "src_cid")), 3);
	assert_string_equal(json_string_value(json_object_get(j, "transport")), "UNKNOWN");
	assert_true(json_is_null(json_object_get(j, "op")));
	assert_true(json_is_null(json_object_get(j, "buf_alloc")));
	json_decref(j);
	vsm_sb_reset(&sb);
	vsm_decode(buf, 10, 10, &p);	/* not even a monitor header: src_cid is all it has */
	vsm_print_json(&sb, &p, &ctx, &o);
	j = json_loads(sb.data, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "src_cid")), 3);
	assert_true(json_is_null(json_object_get(j, "dst_cid")));
	assert_true(json_is_null(json_object_get(j, "src_port")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "problems"), 0)), "truncated");
	json_decref(j);
	vsm_sb_free(&sb);
}

static void test_json_string_escapes(void **state)
{
	struct vsm_strbuf sb;
	json_t *j;

	vsm_sb_init(&sb);
	vsm_json_string(&sb, "a\"b\\c\n\x01");
	assert_string_equal(sb.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
	j = json_loads(sb.data, JSON_DECODE_ANY, NULL);
	assert_string_equal(json_string_value(j), "a\"b\\c\n\x01");
	json_decref(j);
	vsm_sb_free(&sb);
}

static void test_strbuf_numbers(void **state)
{
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	vsm_sb_u64(&sb, 0);
	vsm_sb_putc(&sb, ' ');
	vsm_sb_u64(&sb, UINT64_MAX);
	vsm_sb_putc(&sb, ' ');
	vsm_sb_i64(&sb, INT64_MIN);
	vsm_sb_putc(&sb, ' ');
	vsm_sb_u64_pad(&sb, 42, 6);
	vsm_sb_putc(&sb, ' ');
	vsm_sb_hex(&sb, 0xdeadbeef);
	vsm_sb_printf(&sb, " %s=%d", "x", -5);
	assert_string_equal(sb.data, "0 18446744073709551615 -9223372036854775808 000042 deadbeef x=-5");
	/* growth far beyond the first allocation */
	vsm_sb_reset(&sb);
	for (int i = 0; i < 100000; i++)
		vsm_sb_putc(&sb, 'a' + i % 26);
	assert_int_equal(sb.len, 100000);
	assert_int_equal(sb.data[99999], 'a' + 99999 % 26);
	vsm_sb_free(&sb);
}

static void test_field_table_and_names(void **state)
{
	uint32_t v;
	const char *names[4];
	char scratch[4][12];

	assert_string_equal(VSM_KEY(BUF_ALLOC), "buf_alloc");
	assert_string_equal(vsm_fields[VSM_F_CREDIT].key, "credit");
	for (int i = 0; i < VSM_F_COUNT; i++) {
		assert_non_null(vsm_fields[i].key);
		assert_non_null(vsm_fields[i].description);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(vsm_fields[i].key, vsm_fields[k].key);
	}
	assert_string_equal(vsm_op_name(VSM_OP_CREDIT_REQUEST), "CREDIT_REQUEST");
	assert_null(vsm_op_name(8));
	assert_string_equal(vsm_type_name(VSM_TYPE_SEQPACKET), "SEQPACKET");
	assert_null(vsm_type_name(3));
	assert_string_equal(vsm_mon_op_name(VSM_MON_OP_CONTROL), "CONTROL");
	assert_string_equal(vsm_transport_name(VSM_MON_TRANSPORT_NO_INFO), "NO_INFO");
	assert_string_equal(vsm_problem_name(VSM_PROB_LEN_MISMATCH), "len_mismatch");
	assert_null(vsm_problem_name(3));
	for (unsigned i = 0; i < VSM_PROB_COUNT; i++)
		assert_non_null(vsm_problem_name(1u << i));
	assert_int_equal(vsm_op_from_name("credit_update", &v), 0);
	assert_int_equal(v, VSM_OP_CREDIT_UPDATE);
	assert_int_equal(vsm_op_from_name("RW", &v), 0);
	assert_int_equal(v, VSM_OP_RW);
	assert_int_equal(vsm_op_from_name("invalid", &v), -ENOENT);
	assert_int_equal(vsm_type_from_name("seqpacket", &v), 0);
	assert_int_equal(v, VSM_TYPE_SEQPACKET);
	assert_int_equal(vsm_flag_names(VSM_OP_SHUTDOWN, 1, 2, names, 4, scratch), 1);
	assert_string_equal(names[0], "SEND");
	assert_int_equal(vsm_flag_names(VSM_OP_RW, 1, 1, names, 4, scratch), 1);
	assert_string_equal(names[0], "0x1");	/* EOM means nothing on STREAM */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_line),
		cmocka_unit_test(test_flags_by_name),
		cmocka_unit_test(test_verbosity_levels),
		cmocka_unit_test(test_problems_and_truncation),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_hex_dumps),
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_key_order_is_the_field_table),
		cmocka_unit_test(test_json_without_virtio),
		cmocka_unit_test(test_json_string_escapes),
		cmocka_unit_test(test_strbuf_numbers),
		cmocka_unit_test(test_field_table_and_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
