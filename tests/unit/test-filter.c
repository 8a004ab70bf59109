/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-filter.c: the filter language: every primitive and operator run through the real BPF, texts, errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include <vsockmon/decode.h>
#include <vsockmon/filter.h>
#include <vsockmon/wire.h>

#include "testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static struct vsm_filter *compile_ok(const char *expr)
{
	struct vsm_filter *f = NULL;
	struct vsm_filter_error err;
	int r = vsm_filter_compile(expr, 0, &f, &err);

	if (r != 0)
		fail_msg("'%s' did not compile: %d %s (at %zu+%zu)", expr ? expr : "(null)", r, err.msg,
			 err.pos, err.len);
	assert_non_null(f);
	return f;
}

/* Runs the filter on the first cap bytes of the frame (cap 0: all of it). */
static bool run_cap(const struct vsm_filter *f, const struct tu_frame *fr, size_t cap)
{
	uint8_t buf[256];
	size_t n = tu_build(buf, sizeof(buf), fr);
	struct vsm_rec rec = { .data = buf, .cap_len = (uint32_t)(cap ? cap : n), .wire_len = (uint32_t)n };

	return vsm_filter_match(f, &rec);
}

static bool run(const struct vsm_filter *f, const struct tu_frame *fr)
{
	return run_cap(f, fr, 0);
}

static bool matches(const char *expr, const struct tu_frame *fr)
{
	struct vsm_filter *f = compile_ok(expr);
	bool m = run(f, fr);

	vsm_filter_free(f);
	return m;
}

static void check(const struct vsm_filter *f, const char *expr, const struct tu_frame *fr, bool want)
{
	if (run(f, fr) != want)
		fail_msg("'%s' %s frame src %llu.%u dst %llu.%u op %u type %u len %u transport %u (text: %s)",
			 expr, want ? "missed" : "wrongly matched",
			 (unsigned long long)fr->src_cid, fr->src_port, (unsigned long long)fr->dst_cid, fr->dst_port,
			 fr->op, fr->type, fr->len, fr->transport, vsm_filter_pcap_text(f));
}

static void test_empty_matches_all(void **state)
{
	static const char *const exprs[] = { "", "   ", " \t\n " };
	struct tu_frame fr = { .transport = VSM_MON_TRANSPORT_NO_INFO };
	uint8_t byte = 0;
	struct vsm_rec empty = { .data = &byte, .cap_len = 0, .wire_len = 0 };

	for (size_t i = 0; i < N_ELEMS(exprs); i++) {
		struct vsm_filter *f = compile_ok(exprs[i]);

		assert_string_equal(vsm_filter_pcap_text(f), "");
		assert_true(run(f, &fr));
		assert_true(vsm_filter_match(f, &empty));
		vsm_filter_free(f);
	}
	/* NULL is the empty expression too (vsockdump passes no arguments as NULL). */
	struct vsm_filter *f = compile_ok(NULL);

	assert_string_equal(vsm_filter_pcap_text(f), "");
	vsm_filter_free(f);
}

static void test_generated_text(void **state)
{
	static const struct { const char *expr, *text; } cases[] = {
		{ "dst port 1234", "link[20:4] = 0xd2040000" },
		{ "src port 0", "link[16:4] = 0" },
		{ "port 0xffffffff", "(link[16:4] = 0xffffffff or link[20:4] = 0xffffffff)" },
		{ "src cid 4294967299", "(link[0:4] = 0x03000000 and link[4:4] = 0x01000000)" },
		{ "cid 2", "((link[0:4] = 0x02000000 and link[4:4] = 0) or (link[8:4] = 0x02000000 and link[12:4] = 0))" },
		{ "op rw", "(link[26:2] = 0x0200 and (link[28] + (link[29] << 8)) >= 44 and link[75] >= 0 and "
			   "link[62:2] = 0x0500)" },
		{ "type seqpacket", "(link[26:2] = 0x0200 and (link[28] + (link[29] << 8)) >= 44 and link[75] >= 0 and "
				    "link[60:2] = 0x0200)" },
		{ "len > 4294967294", "(link[26:2] = 0x0200 and (link[28] + (link[29] << 8)) >= 44 and link[75] >= 0 and "
				      "(link[56] + (link[57] << 8) + (link[58] << 16) + (link[59] << 24)) > 4294967294)" },
		{ "len == 5", "(link[26:2] = 0x0200 and (link[28] + (link[29] << 8)) >= 44 and link[75] >= 0 and "
			      "(link[56] + (link[57] << 8) + (link[58] << 16) + (link[59] << 24)) = 5)" },
		/* and binds tighter than or here, but not in libpcap: the text must say so with parentheses. */
		{ "src port 1 or dst port 2 and src port 3",
		  "link[16:4] = 0x01000000 or (link[20:4] = 0x02000000 and link[16:4] = 0x03000000)" },
		{ "src port 1 and dst port 2 or src port 3",
		  "(link[16:4] = 0x01000000 and link[20:4] = 0x02000000) or link[16:4] = 0x03000000" },
		{ "not (src port 1 or dst port 2) dst port 3",
		  "not (link[16:4] = 0x01000000 or link[20:4] = 0x02000000) and link[20:4] = 0x03000000" },
		{ "((src port 1))", "link[16:4] = 0x01000000" },
		{ "!src port 1 || (dst port 2 || dst port 3)",
		  "not link[16:4] = 0x01000000 or link[20:4] = 0x02000000 or link[20:4] = 0x03000000" },
	};

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct vsm_filter *f = compile_ok(cases[i].expr);
		const struct bpf_program *prog = vsm_filter_bpf(f);

		assert_string_equal(vsm_filter_pcap_text(f), cases[i].text);
		assert_non_null(prog);
		assert_true(prog->bf_len > 0);
		vsm_filter_free(f);
	}
}

static void test_ports(void **state)
{
	/* 0x01000000 has the bytes of 1 in the other order: catches a missing byte swap. */
	static const uint32_t ports[] = { 0, 1, 1234, 0x01000000, 0x7fffffff, 0x80000000, 0xd2040000,
					  0xfffffffe, 0xffffffff };
	static const char *const dirs[] = { "", "src ", "dst " };

	for (size_t d = 0; d < N_ELEMS(dirs); d++) {
		for (size_t i = 0; i < N_ELEMS(ports); i++) {
			char expr[64];
			struct vsm_filter *f;

			snprintf(expr, sizeof(expr), "%sport %u", dirs[d], ports[i]);
			f = compile_ok(expr);
			for (size_t s = 0; s < N_ELEMS(ports); s++) {
				for (size_t t = 0; t < N_ELEMS(ports); t++) {
					struct tu_frame fr = { .src_cid = 3, .dst_cid = 2, .src_port = ports[s],
							       .dst_port = ports[t], .op = VSM_OP_RW };
					bool src = s == i, dst = t == i;

					check(f, expr, &fr, d == 0 ? src || dst : d == 1 ? src : dst);
				}
			}
			vsm_filter_free(f);
		}
	}
}

static void test_cids(void **state)
{
	static const uint64_t cids[] = { 0, 1, 2, 3, 0x03000000, 0xffffffff, (1ull << 32) + 3, 3ull << 32,
					 0xffffffff00000000ull, UINT64_MAX };
	static const char *const dirs[] = { "", "src ", "dst " };

	for (size_t d = 0; d < N_ELEMS(dirs); d++) {
		for (size_t i = 0; i < N_ELEMS(cids); i++) {
			char expr[64];
			struct vsm_filter *f;

			/* Alternate decimal and hex spellings of the same number. */
			if (i % 2)
				snprintf(expr, sizeof(expr), "%scid 0x%llx", dirs[d], (unsigned long long)cids[i]);
			else
				snprintf(expr, sizeof(expr), "%scid %llu", dirs[d], (unsigned long long)cids[i]);
			f = compile_ok(expr);
			for (size_t s = 0; s < N_ELEMS(cids); s++) {
				for (size_t t = 0; t < N_ELEMS(cids); t++) {
					struct tu_frame fr = { .src_cid = cids[s], .dst_cid = cids[t],
							       .src_port = 1, .dst_port = 2, .op = VSM_OP_REQUEST };
					bool src = s == i, dst = t == i;

					check(f, expr, &fr, d == 0 ? src || dst : d == 1 ? src : dst);
				}
			}
			vsm_filter_free(f);
		}
	}
}

static void test_ops_and_types(void **state)
{
	static const char *const ops[] = { NULL, "request", "response", "rst", "shutdown", "rw",
					   "credit_update", "credit_request" };
	/* 0x0500: RW's value with its bytes swapped. */
	static const uint16_t frame_ops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x0500, 0xffff };
	static const uint16_t frame_types[] = { 1, 2, 3, 0x0100, 0x0200, 0xffff };

	for (uint16_t op = VSM_OP_REQUEST; op <= VSM_OP_MAX; op++) {
		char expr[64];
		struct vsm_filter *f;

		snprintf(expr, sizeof(expr), "op %s", ops[op]);
		f = compile_ok(expr);
		for (size_t i = 0; i < N_ELEMS(frame_ops); i++) {
			struct tu_frame fr = { .src_cid = 3, .dst_cid = 2, .op = frame_ops[i], .type = 2 };

			check(f, expr, &fr, frame_ops[i] == op);
		}
		vsm_filter_free(f);
	}
	for (uint16_t type = VSM_TYPE_STREAM; type <= VSM_TYPE_SEQPACKET; type++) {
		const char *expr = type == VSM_TYPE_STREAM ? "type stream" : "type seqpacket";
		struct vsm_filter *f = compile_ok(expr);

		for (size_t i = 0; i < N_ELEMS(frame_types); i++) {
			struct tu_frame fr = { .op = VSM_OP_RW, .type = frame_types[i] };

			check(f, expr, &fr, frame_types[i] == type);
		}
		vsm_filter_free(f);
	}
}

static bool cmp_eval(const char *cmp, uint32_t a, uint32_t b)
{
	if (!strcmp(cmp, ">"))
		return a > b;
	if (!strcmp(cmp, "<"))
		return a < b;
	if (!strcmp(cmp, ">="))
		return a >= b;
	if (!strcmp(cmp, "<="))
		return a <= b;
	if (!strcmp(cmp, "!="))
		return a != b;
	return a == b;	/* "=" and "==" */
}

/* BPF arithmetic is unsigned 32-bit: values with the top bit set must compare as large. */
static void test_len(void **state)
{
	static const char *const cmps[] = { ">", "<", ">=", "<=", "=", "==", "!=" };
	static const uint32_t ns[] = { 0, 1, 23, 0x100, 0x01000000, 0x7fffffff, 0x80000000,
				       0xfffffffe, 0xffffffff };
	static const int64_t deltas[] = { -1, 0, 1 };

	for (size_t c = 0; c < N_ELEMS(cmps); c++) {
		for (size_t i = 0; i < N_ELEMS(ns); i++) {
			char expr[64];
			struct vsm_filter *f;

			snprintf(expr, sizeof(expr), "len %s %u", cmps[c], ns[i]);
			f = compile_ok(expr);
			/* N-1, N, N+1 (wrapping), and a few fixed edges. */
			for (size_t k = 0; k < N_ELEMS(deltas) + N_ELEMS(ns); k++) {
				uint32_t len = k < N_ELEMS(deltas) ? ns[i] + (uint32_t)deltas[k]
								   : ns[k - N_ELEMS(deltas)];
				struct tu_frame fr = { .op = VSM_OP_RW, .len = len };

				check(f, expr, &fr, cmp_eval(cmps[c], len, ns[i]));
			}
			vsm_filter_free(f);
		}
	}
	/* len is the header's field, not the bytes that follow it. */
	struct tu_frame fr = { .op = VSM_OP_RW, .len = 5, .payload_len = 100 };

	assert_true(matches("len = 5", &fr));
	assert_false(matches("len > 5", &fr));
}

/* op, type and len need a virtio header: transport VIRTIO, tp_len >= 44, all 76 bytes captured. */
static void test_virtio_guard(void **state)
{
	static const char *const exprs[] = { "op rw", "type stream", "len = 7", "len >= 0", "len <= 4294967295" };
	/* tu_build writes the virtio bytes whatever the transport: only the guard can reject these. */
	struct tu_frame no_info = { .transport = VSM_MON_TRANSPORT_NO_INFO, .op = VSM_OP_RW, .len = 7 };
	struct tu_frame unknown = { .transport = 3, .op = VSM_OP_RW, .len = 7 };
	struct tu_frame good = { .op = VSM_OP_RW, .len = 7 };
	struct tu_frame long_tp = { .tp_len = 48, .op = VSM_OP_RW, .len = 7 };

	for (size_t i = 0; i < N_ELEMS(exprs); i++) {
		struct vsm_filter *f = compile_ok(exprs[i]);

		check(f, exprs[i], &good, true);
		check(f, exprs[i], &long_tp, true);
		check(f, exprs[i], &no_info, false);
		check(f, exprs[i], &unknown, false);
		/* Truncated: shorter than 76 bytes never matches, even with the op bytes (62..63) present. */
		for (size_t cap = 1; cap < VSM_FRAME_HDR_LEN; cap++)
			assert_false(run_cap(f, &good, cap));
		assert_true(run_cap(f, &good, VSM_FRAME_HDR_LEN));
		vsm_filter_free(f);
	}

	/* A transport header shorter than 44 bytes holds no virtio header, whatever bytes 56..75 say. */
	uint8_t buf[256];
	struct tu_frame fr = { .tp_len = 40, .payload_len = 60 };
	size_t n = tu_build(buf, sizeof(buf), &fr);
	struct vsm_rec rec = { .data = buf, .cap_len = (uint32_t)n, .wire_len = (uint32_t)n };
	struct vsm_filter *f = compile_ok("op rw");

	tu_put_le16(buf + VSM_OFF_V_OP, VSM_OP_RW);
	assert_false(vsm_filter_match(f, &rec));
	tu_put_le16(buf + VSM_OFF_MON_LEN, 44);
	assert_true(vsm_filter_match(f, &rec));
	vsm_filter_free(f);

	/* "not" of a virtio primitive does match a frame without a virtio header. */
	assert_true(matches("not op rw", &no_info));
	assert_false(matches("not op rw", &good));

	/* Address primitives only need the bytes they read. */
	f = compile_ok("dst port 0");
	assert_true(run_cap(f, &good, 24));
	assert_false(run_cap(f, &good, 23));
	vsm_filter_free(f);
}

/* The filter and the decoder must agree on which frames carry which op, type and len. */
static void test_agrees_with_decoder(void **state)
{
	static const uint16_t tp_lens[] = { 1, 8, 43, 44, 45, 100 };
	static const uint32_t lens[] = { 0, 1, 0x80000000, 0xffffffff };
	struct vsm_filter *ops[VSM_OP_MAX + 1] = { NULL }, *stream, *len_big, *src_cid;
	static const char *const op_names[] = { NULL, "REQUEST", "RESPONSE", "RST", "SHUTDOWN", "RW",
						"CREDIT_UPDATE", "CREDIT_REQUEST" };
	unsigned seed = 271;
	uint8_t buf[256];

	for (uint16_t op = VSM_OP_REQUEST; op <= VSM_OP_MAX; op++) {
		char expr[64];

		snprintf(expr, sizeof(expr), "op %s", op_names[op]);
		ops[op] = compile_ok(expr);
	}
	stream = compile_ok("type stream");
	len_big = compile_ok("len > 0x7fffffff");
	src_cid = compile_ok("src cid 3");
	for (int iter = 0; iter < 20000; iter++) {
		struct tu_frame fr = { 0 };
		struct vsm_pkt p;
		size_t n;
		uint32_t cap;

		/* One draw per statement: initializer evaluation order is unspecified. */
		fr.src_cid = (uint64_t)(rand_r(&seed) % 5) << (rand_r(&seed) % 2 * 32);
		fr.transport = (uint16_t)(rand_r(&seed) % 4);	/* 0: VIRTIO in tu_build */
		fr.tp_len = tp_lens[rand_r(&seed) % N_ELEMS(tp_lens)];
		fr.op = (uint16_t)(rand_r(&seed) % 9);
		fr.type = (uint16_t)(rand_r(&seed) % 3);
		fr.len = lens[rand_r(&seed) % N_ELEMS(lens)];
		fr.payload_len = (uint32_t)(rand_r(&seed) % 40);
		n = tu_build(buf, sizeof(buf), &fr);
		cap = (uint32_t)(rand_r(&seed) % (n + 1));

		struct vsm_rec rec = { .data = buf, .cap_len = cap, .wire_len = (uint32_t)n };

		/* Random bytes where a short transport header leaves the virtio fields undefined. */
		if (fr.tp_len < 44)
			for (size_t j = 32; j < n; j++)
				buf[j] = (uint8_t)rand_r(&seed);
		assert_int_equal(vsm_decode(buf, cap, (uint32_t)n, &p), 0);
		for (uint16_t op = VSM_OP_REQUEST; op <= VSM_OP_MAX; op++)
			assert_int_equal(vsm_filter_match(ops[op], &rec), p.has_virtio && p.virtio.op == op);
		assert_int_equal(vsm_filter_match(stream, &rec), p.has_virtio && p.virtio.type == VSM_TYPE_STREAM);
		assert_int_equal(vsm_filter_match(len_big, &rec), p.has_virtio && p.virtio.len > 0x7fffffff);
		if (cap >= VSM_MON_HDR_LEN)
			assert_int_equal(vsm_filter_match(src_cid, &rec), p.src_cid == 3);
	}
	for (uint16_t op = VSM_OP_REQUEST; op <= VSM_OP_MAX; op++)
		vsm_filter_free(ops[op]);
	vsm_filter_free(stream);
	vsm_filter_free(len_big);
	vsm_filter_free(src_cid);
}

/*
 * Operators: each template is compiled with primitives A..D substituted and run on frames where
 * every primitive is independently true or false; the expected result is the template's C form.
 */
struct atom {
	const char *expr;
	bool (*truth)(const struct tu_frame *fr);
};

static bool t_sport(const struct tu_frame *fr) { return fr->src_port == 1; }
static bool t_dport(const struct tu_frame *fr) { return fr->dst_port == 2; }
static bool t_cid(const struct tu_frame *fr) { return fr->src_cid == 3 || fr->dst_cid == 3; }
static bool t_op(const struct tu_frame *fr) { return fr->op == VSM_OP_RW; }
static bool t_len(const struct tu_frame *fr) { return fr->len > 10; }
static bool t_type(const struct tu_frame *fr) { return fr->type == VSM_TYPE_SEQPACKET; }

static const struct atom atoms[] = {
	{ "src port 1", t_sport }, { "dst port 2", t_dport }, { "cid 3", t_cid },
	{ "op rw", t_op }, { "len > 10", t_len }, { "type seqpacket", t_type },
};

struct template {
	const char *expr;
	bool (*eval)(bool a, bool b, bool c, bool d);
};

static bool e_and(bool a, bool b, bool c, bool d) { return a && b; }
static bool e_or(bool a, bool b, bool c, bool d) { return a || b; }
static bool e_not(bool a, bool b, bool c, bool d) { return !a; }
static bool e_or_and(bool a, bool b, bool c, bool d) { return a || (b && c); }
static bool e_and_or(bool a, bool b, bool c, bool d) { return (a && b) || c; }
static bool e_not_and(bool a, bool b, bool c, bool d) { return !a && b; }
static bool e_not_group(bool a, bool b, bool c, bool d) { return !(a && b); }
static bool e_group_and(bool a, bool b, bool c, bool d) { return (a || b) && c; }
static bool e_and_group(bool a, bool b, bool c, bool d) { return a && (b || c); }
static bool e_id(bool a, bool b, bool c, bool d) { return a; }
static bool e_mixed(bool a, bool b, bool c, bool d) { return a || (!b && !c) || d; }
static bool e_groups(bool a, bool b, bool c, bool d) { return (a || b) && (c || d); }
static bool e_nested(bool a, bool b, bool c, bool d) { return !(a || !(b && (c || !d))); }
static bool e_chain(bool a, bool b, bool c, bool d) { return (a && b && c) || d; }

static const struct template templates[] = {
	{ "A and B", e_and }, { "A && B", e_and }, { "A B", e_and }, { "(A)(B)", e_and },
	{ "A or B", e_or }, { "A || B", e_or },
	{ "not A", e_not }, { "!A", e_not }, { "! A", e_not }, { "NOT A", e_not },
	{ "A or B and C", e_or_and }, { "A || B C", e_or_and }, { "A or B && C", e_or_and },
	{ "A and B or C", e_and_or }, { "A B || C", e_and_or },
	{ "not A and B", e_not_and }, { "!A B", e_not_and },
	{ "not (A and B)", e_not_group }, { "!(A B)", e_not_group },
	{ "(A or B) and C", e_group_and }, { "(A || B) C", e_group_and },
	{ "A and (B or C)", e_and_group }, { "A (B or C)", e_and_group },
	{ "not not A", e_id }, { "((A))", e_id }, { "!!A", e_id },
	{ "A or not B and not C or D", e_mixed },
	{ "(A or B) (C or D)", e_groups }, { "(A || B) && (C || D)", e_groups },
	{ "not (A or not (B and (C or not D)))", e_nested },
	{ "A and B and C or D", e_chain }, { "A B C || D", e_chain },
};

/* Substitutes the atoms for A..D in the template. */
static void instantiate(const char *tmpl, const struct atom *const abcd[4], char *out, size_t len)
{
	size_t n = 0;

	for (const char *s = tmpl; *s; s++) {
		const char *piece = *s >= 'A' && *s <= 'D' ? abcd[*s - 'A']->expr : (char[2]){ *s, 0 };

		n += (size_t)snprintf(out + n, len - n, "%s", piece);
		assert_true(n < len);
	}
}

static void test_operators(void **state)
{
	/* Every combination of the atoms' truth values: bit i of the index drives atom i. */
	struct tu_frame frames[1u << N_ELEMS(atoms)];
	size_t nat = N_ELEMS(atoms);

	for (unsigned bits = 0; bits < N_ELEMS(frames); bits++) {
		frames[bits] = (struct tu_frame){
			.src_port = bits & 1 ? 1 : 5,
			.dst_port = bits & 2 ? 2 : 6,
			.src_cid = bits & 4 ? 3 : 4,
			.dst_cid = 7,
			.op = bits & 8 ? VSM_OP_RW : VSM_OP_CREDIT_UPDATE,
			.len = bits & 16 ? 11 : 10,
			.type = bits & 32 ? VSM_TYPE_SEQPACKET : VSM_TYPE_STREAM,
		};
		for (size_t i = 0; i < nat; i++)
			assert_int_equal(atoms[i].truth(&frames[bits]), !!(bits & (1u << i)));
	}
	/* Four distinct atoms in rotation, so each template sees several primitive kinds. */
	for (size_t t = 0; t < N_ELEMS(templates); t++) {
		for (size_t r = 0; r < nat; r++) {
			const struct atom *abcd[4] = { &atoms[r], &atoms[(r + 1) % nat], &atoms[(r + 3) % nat],
						       &atoms[(r + 4) % nat] };
			char expr[256];
			struct vsm_filter *f;

			instantiate(templates[t].expr, abcd, expr, sizeof(expr));
			f = compile_ok(expr);
			for (size_t k = 0; k < N_ELEMS(frames); k++) {
				const struct tu_frame *fr = &frames[k];

				check(f, expr, fr, templates[t].eval(abcd[0]->truth(fr), abcd[1]->truth(fr),
								     abcd[2]->truth(fr), abcd[3]->truth(fr)));
			}
			vsm_filter_free(f);
		}
	}
}

static void test_spellings(void **state)
{
	struct tu_frame fr = { .src_cid = 3, .dst_cid = 2, .src_port = 1234, .dst_port = 5,
			       .op = VSM_OP_CREDIT_REQUEST, .type = VSM_TYPE_SEQPACKET, .len = 16 };

	assert_true(matches("PORT 0x4D2", &fr));
	assert_true(matches("Src Port 0X4d2", &fr));
	assert_true(matches("port 01234", &fr));	/* leading zeros are decimal, not octal */
	assert_true(matches("Op Credit_Request", &fr));
	assert_true(matches("TYPE SeqPacket", &fr));
	assert_true(matches("LeN >= 0x10", &fr));
	assert_true(matches("len>=16&&len<=16", &fr));
	assert_true(matches("len==16", &fr));
	assert_true(matches("len=16", &fr));
	assert_false(matches("len!=16", &fr));
	assert_true(matches("(cid 3)(cid 2)", &fr));
	assert_true(matches("cid 3 AND cid 2 And NoT cid 4", &fr));
	assert_true(matches("\tcid\n3\r\n", &fr));
	assert_true(matches("cid 0xffffffffffffffff or cid 3", &fr));
	assert_true(matches("port 4294967295 or port 5", &fr));
}

struct error_case {
	const char *expr;
	size_t pos, len;
	const char *words[3];	/* must all appear in the message */
};

static const struct error_case error_cases[] = {
	{ "port abc", 5, 3, { "expected a number after 'port', got 'abc'" } },
	{ "port", 4, 0, { "expected a number after 'port'", "end of expression" } },
	{ "port -1", 5, 2, { "expected a number", "'-1'" } },
	{ "port 1.5", 5, 3, { "expected a number", "'1.5'" } },
	{ "port 0x", 5, 2, { "expected a number", "'0x'" } },
	{ "port 0xg1", 5, 4, { "expected a number", "'0xg1'" } },
	{ "port 12abc", 5, 5, { "expected a number", "'12abc'" } },
	{ "port and", 5, 3, { "expected a number after 'port', got 'and'" } },
	{ "port 70000000000", 5, 11, { "port 70000000000 is out of range (0..4294967295)" } },
	{ "src port 4294967296", 9, 10, { "port 4294967296 is out of range (0..4294967295)" } },
	{ "dst port 0x100000000", 9, 11, { "out of range (0..4294967295)" } },
	{ "cid 18446744073709551616", 4, 20, { "cid 18446744073709551616 is out of range (0..18446744073709551615)" } },
	{ "cid 0x10000000000000000", 4, 19, { "out of range (0..18446744073709551615)" } },
	{ "len > 4294967296", 6, 10, { "len 4294967296 is out of range (0..4294967295)" } },
	{ "op foo", 3, 3, { "unknown op 'foo' (expected ", "rw", "credit_request)" } },
	{ "op 5", 3, 1, { "unknown op '5'", "shutdown" } },
	{ "op", 2, 0, { "expected an op name after 'op'", "end of expression" } },
	{ "op (", 3, 1, { "expected an op name after 'op'", "got '('" } },
	{ "type dgram", 5, 5, { "unknown type 'dgram' (expected stream, seqpacket)" } },
	{ "type", 4, 0, { "expected a type name after 'type'" } },
	{ "port 1 and", 7, 3, { "unexpected 'and' at end of expression" } },
	{ "port 1 &&", 7, 2, { "unexpected '&&' at end of expression" } },
	{ "port 1 or", 7, 2, { "unexpected 'or' at end of expression" } },
	{ "not", 0, 3, { "unexpected 'not' at end of expression" } },
	{ "port 1 and !", 11, 1, { "unexpected '!' at end of expression" } },
	{ "(port 1", 0, 1, { "unbalanced parenthesis" } },
	{ "((port 1) or port 2", 0, 1, { "unbalanced parenthesis" } },
	{ "(", 0, 1, { "unbalanced parenthesis" } },
	{ "port 1)", 6, 1, { "unbalanced parenthesis" } },
	{ "(port 1)) and port 2", 8, 1, { "unbalanced parenthesis" } },
	{ "()", 1, 1, { "unexpected ')'", "expected cid, port" } },
	{ "and port 1", 0, 3, { "unexpected 'and'" } },
	{ "op rw and and port 1", 10, 3, { "unexpected 'and'" } },
	{ "port 1 or or port 2", 10, 2, { "unexpected 'or'" } },
	{ "src op rw", 4, 2, { "expected 'cid' or 'port' after 'src', got 'op'" } },
	{ "dst", 3, 0, { "expected 'cid' or 'port' after 'dst'", "end of expression" } },
	{ "len 5", 4, 1, { "expected a comparison", "after 'len', got '5'" } },
	{ "len", 3, 0, { "expected a comparison", "end of expression" } },
	{ "len >", 5, 0, { "expected a number after '>'", "end of expression" } },
	{ "len <= x", 7, 1, { "expected a number after '<=', got 'x'" } },
	{ "port 1 & port 2", 7, 1, { "unexpected '&'", "&&" } },
	{ "port 1 | port 2", 7, 1, { "unexpected '|'", "||" } },
	{ "host 1", 0, 4, { "unknown word 'host'", "expected cid, port" } },
	{ "port 1 2", 7, 1, { "unknown word '2'" } },
	{ "tcp port 80", 0, 3, { "unknown word 'tcp'" } },
	{ "= 5", 0, 1, { "unexpected '='" } },
	{ "port 1 or\n\tport x", 16, 1, { "got 'x'" } },
};

static void test_errors(void **state)
{
	for (size_t i = 0; i < N_ELEMS(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		struct vsm_filter *f = (struct vsm_filter *)0x1;	/* must stay untouched */
		struct vsm_filter_error err;

		assert_int_equal(vsm_filter_compile(c->expr, 0, &f, &err), -EINVAL);
		assert_ptr_equal(f, (struct vsm_filter *)0x1);
		if (err.pos != c->pos || err.len != c->len)
			fail_msg("'%s': span %zu+%zu, want %zu+%zu (%s)", c->expr, err.pos, err.len, c->pos,
				 c->len, err.msg);
		for (size_t w = 0; w < N_ELEMS(c->words) && c->words[w]; w++)
			if (!strstr(err.msg, c->words[w]))
				fail_msg("'%s': message '%s' lacks '%s'", c->expr, err.msg, c->words[w]);
	}
}

/* A tcpdump user's words: the message says what vsock calls them, and what it offers compiles. */
static const struct hint_case {
	const char *expr;
	const char *hint;	/* the whole suggestion, as the message must hold it */
	const char *why;
} hint_cases[] = {
	{ "host 3", "did you mean `cid 3`?", "a vsock address is a CID" },
	{ "host", "did you mean `cid N`?", "a vsock address is a CID" },
	{ "src host 3", "did you mean `src cid 3`?", "a vsock address is a CID" },
	{ "dst host 2 and port 1024", "did you mean `dst cid 2`?", "a vsock address is a CID" },
	{ "net 4", "did you mean `cid 4`?", "no networks" },
	{ "dst net 5", "did you mean `dst cid 5`?", "no networks" },
	{ "tcp port 80", "did you mean `port 80`?", "vsock has no TCP" },
	{ "udp port 53", "did you mean `port 53`?", "vsock has no UDP" },
	{ "tcp src port 80", "did you mean `src port 80`?", "vsock has no TCP" },
	{ "tcp dst port 80", "did you mean `dst port 80`?", "vsock has no TCP" },
	{ "tcp", "did you mean `type stream`?", "vsock has no TCP" },
	{ "port 80 and tcp", "did you mean `type stream`?", "vsock has no TCP" },
	{ "udp", "leave 'udp' out", "vsock has no UDP" },
	{ "ip host 3", "did you mean `cid 3`?", "no IP layer" },
	{ "ip6 and port 1", "leave 'ip6' out", "no IP layer" },
	{ "ip", "leave 'ip' out", "no IP layer" },
	{ "ether host 3", "did you mean `cid 3`?", "no Ethernet layer" },
	{ "less 100", "did you mean `len <= 100`?", "payload's length" },
	{ "greater 10", "did you mean `len >= 10`?", "payload's length" },
	{ "tcp len > 5", "did you mean `len > 5`?", "vsock has no TCP" },
	{ "vsock", "leave 'vsock' out", "every packet here is vsock" },
};

static void test_pcap_word_hints(void **state)
{
	for (size_t i = 0; i < N_ELEMS(hint_cases); i++) {
		const struct hint_case *c = &hint_cases[i];
		struct vsm_filter *f = NULL;
		struct vsm_filter_error err;
		const char *open, *close;
		char words[64];

		assert_int_equal(vsm_filter_compile(c->expr, 0, &f, &err), -EINVAL);
		if (!strstr(err.msg, c->hint) || !strstr(err.msg, c->why))
			fail_msg("'%s': message '%s' lacks '%s' or '%s'", c->expr, err.msg, c->hint, c->why);
		/* The words offered are a filter that compiles (N stands for the number the user left out). */
		open = strchr(err.msg, '`');
		if (!open || strstr(c->hint, "`cid N`"))
			continue;
		close = strchr(open + 1, '`');
		assert_non_null(close);
		snprintf(words, sizeof(words), "%.*s", (int)(close - open - 1), open + 1);
		if (vsm_filter_compile(words, 0, &f, &err) < 0)
			fail_msg("'%s': the hint '%s' does not compile: %s", c->expr, words, err.msg);
		vsm_filter_free(f);
	}
}

/* No hint where the word is no tcpdump word, or the error is not about one. */
static void test_no_hint_for_other_words(void **state)
{
	static const char *const exprs[] = { "foo 3", "port 1 2", "src op rw", "cid x", "hostname 3" };
	struct vsm_filter *f = NULL;
	struct vsm_filter_error err;

	for (size_t i = 0; i < N_ELEMS(exprs); i++) {
		assert_int_equal(vsm_filter_compile(exprs[i], 0, &f, &err), -EINVAL);
		if (strstr(err.msg, "did you mean") || strstr(err.msg, "leave '"))
			fail_msg("'%s': unexpected hint in '%s'", exprs[i], err.msg);
	}
}

static void test_error_limits(void **state)
{
	struct vsm_filter *f = NULL;
	struct vsm_filter_error err;
	char expr[1024];

	/* A word longer than the message can hold is cut, the span is not. */
	snprintf(expr, sizeof(expr), "port %0500d", 7);
	memcpy(expr + 5, "x", 1);
	assert_int_equal(vsm_filter_compile(expr, 0, &f, &err), -EINVAL);
	assert_int_equal(err.pos, 5);
	assert_int_equal(err.len, 500);
	assert_non_null(strstr(err.msg, "...'"));
	assert_true(strlen(err.msg) < sizeof(err.msg));

	/* Nesting is bounded (the parser recurses), with the error at the first '(' too many. */
	memset(expr, '(', 300);
	strcpy(expr + 300, "port 1");
	assert_int_equal(vsm_filter_compile(expr, 0, &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nested too deeply"));
	assert_int_equal(err.pos, 100);
	memset(expr, '!', 300);
	assert_int_equal(vsm_filter_compile(expr, 0, &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nested too deeply"));

	/* Just under the limit compiles, and means what it says. */
	struct tu_frame fr = { .src_port = 1 };
	size_t n = 0;

	for (int i = 0; i < 50; i++)
		n += (size_t)sprintf(expr + n, "not (");
	n += (size_t)sprintf(expr + n, "src port 1");
	for (int i = 0; i < 50; i++)
		n += (size_t)sprintf(expr + n, ")");
	assert_true(matches(expr, &fr));

	/* No error pointer: still fails cleanly. */
	assert_int_equal(vsm_filter_compile("port x", 0, &f, NULL), -EINVAL);
	assert_int_equal(vsm_filter_compile("port 1", 0, NULL, &err), -EINVAL);
}

static void test_error_format(void **state)
{
	static const struct { const char *expr, *out; } cases[] = {
		{ "port 1 and op foo",
		  "filter: unknown op 'foo' (expected request, response, rst, shutdown, rw, credit_update, credit_request)\n"
		  "  port 1 and op foo\n"
		  "                ^^^" },
		{ "port 1 and",
		  "filter: unexpected 'and' at end of expression\n"
		  "  port 1 and\n"
		  "         ^^^" },
		{ "len",	/* an empty span at the end still gets a caret */
		  "filter: expected a comparison (>, <, >=, <=, =, ==, !=) after 'len', got end of expression\n"
		  "  len\n"
		  "     ^" },
		{ "port 1 or\n\tport x",	/* control characters become spaces so the caret lines up */
		  "filter: expected a number after 'port', got 'x'\n"
		  "  port 1 or  port x\n"
		  "                  ^" },
		{ "port \xc3\xa9t\xc3\xa9 or cid 1",	/* UTF-8: one column per character */
		  "filter: expected a number after 'port', got '\xc3\xa9t\xc3\xa9'\n"
		  "  port \xc3\xa9t\xc3\xa9 or cid 1\n"
		  "       ^^^" },
	};
	char buf[512];

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct vsm_filter *f;
		struct vsm_filter_error err;

		assert_int_equal(vsm_filter_compile(cases[i].expr, 0, &f, &err), -EINVAL);
		vsm_filter_error_format(cases[i].expr, &err, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
	}

	/* Small buffers are cut and stay terminated; out-of-range spans are clamped. */
	struct vsm_filter_error odd = { .pos = 1000, .len = 1000, .msg = "m" };

	memset(buf, 'Z', sizeof(buf));
	vsm_filter_error_format("port x", &odd, buf, 12);
	assert_int_equal(strlen(buf), 11);
	assert_int_equal(buf[12], 'Z');
	vsm_filter_error_format("ab", &odd, buf, sizeof(buf));
	assert_string_equal(buf, "filter: m\n  ab\n    ^");
	vsm_filter_error_format(NULL, &odd, buf, sizeof(buf));
	assert_string_equal(buf, "filter: m\n  \n  ^");
	vsm_filter_error_format("x", &odd, buf, 0);
	assert_int_equal(buf[0], 'f');
}

/* Random token soups and random bytes: either a filter or an error inside the expression, never a crash. */
static void test_fuzz(void **state)
{
	static const char *const vocab[] = {
		"cid", "port", "src", "dst", "op", "type", "len", "and", "or", "not", "(", ")", "&&", "||",
		"!", "&", "|", "<", ">", "<=", ">=", "=", "==", "!=", "rw", "rst", "stream", "seqpacket", "1",
		"0", "0x10", "4294967295", "4294967296", "18446744073709551615", "99999999999999999999",
		"abc", "", " ", "\t",
	};
	unsigned seed = 76;
	char expr[512], msg[1024];
	int ok = 0;

	for (int iter = 0; iter < 20000; iter++) {
		struct vsm_filter *f = NULL;
		struct vsm_filter_error err;
		size_t n = 0, words = (size_t)(rand_r(&seed) % 12);
		int r;

		expr[0] = '\0';
		if (iter % 4 == 3) {	/* raw bytes, punctuation-heavy */
			n = (size_t)(rand_r(&seed) % 40);
			for (size_t j = 0; j < n; j++)
				expr[j] = (char)(rand_r(&seed) % 2 ? "()&|!<>= x0"[rand_r(&seed) % 11]
								     : 1 + rand_r(&seed) % 255);
			expr[n] = '\0';
		} else {
			for (size_t w = 0; w < words; w++)
				n += (size_t)snprintf(expr + n, sizeof(expr) - n, "%s%s",
						      vocab[rand_r(&seed) % N_ELEMS(vocab)],
						      rand_r(&seed) % 4 ? " " : "");
		}
		r = vsm_filter_compile(expr, 0, &f, &err);
		if (r == 0) {
			struct tu_frame fr = { .src_cid = 1, .dst_port = 1, .op = VSM_OP_RW, .len = 1 };

			run(f, &fr);
			vsm_filter_free(f);
			ok++;
			continue;
		}
		assert_int_equal(r, -EINVAL);
		assert_true(err.msg[0] != '\0');
		assert_true(err.pos + err.len <= strlen(expr));
		vsm_filter_error_format(expr, &err, msg, sizeof(msg));
		assert_true(strncmp(msg, "filter: ", 8) == 0);
		vsm_filter_error_format(expr, &err, msg, (size_t)(rand_r(&seed) % 16) + 1);
	}
	/* The vocabulary does build valid expressions now and then. */
	assert_true(ok > 100);
}

static void test_api(void **state)
{
	struct vsm_filter *f = compile_ok("op rw");
	struct tu_frame fr = { .op = VSM_OP_RW };
	struct vsm_rec none = { .data = NULL, .cap_len = 0 };

	assert_false(vsm_filter_match(f, NULL));
	assert_false(vsm_filter_match(f, &none));
	vsm_filter_free(f);
	vsm_filter_free(NULL);

	/* A small snaplen still matches (the program returns the snaplen for a match). */
	assert_int_equal(vsm_filter_compile("op rw", 76, &f, NULL), 0);
	assert_true(run(f, &fr));
	vsm_filter_free(f);
}

/* "cid 1 or cid 2 or ... cid n" (cid terms are the costliest for libpcap's optimizer), malloc'd. */
static char *cid_terms(unsigned n)
{
	char *s = malloc((size_t)n * 20 + 1);
	size_t len = 0;

	assert_non_null(s);
	s[0] = '\0';
	for (unsigned i = 1; i <= n; i++)
		len += (size_t)sprintf(s + len, "%scid %u", i > 1 ? " or " : "", i);
	return s;
}

/*
 * Issue 12, item 6: 10,000 terms took 45 s and 319 MB in libpcap's optimizer. The bound refuses them
 * before libpcap sees them, naming the limit and pointing at the first term past it; the most allowed
 * still compiles, and quickly.
 */
static void test_term_bound(void **state)
{
	struct vsm_filter_error err;
	struct vsm_filter *f = NULL;
	struct timespec t0, t1;
	char *most = cid_terms(VSM_FILTER_MAX_TERMS), *many = cid_terms(10000), *one_more;
	char want[32];
	(void)state;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(vsm_filter_compile(many, 0, &f, &err), -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_null(f);
	/* Refused at once: well under a second where the optimizer took 45 s. */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
	assert_non_null(strstr(err.msg, "too many terms"));
	snprintf(want, sizeof(want), "at most %d", VSM_FILTER_MAX_TERMS);
	assert_non_null(strstr(err.msg, want));
	snprintf(want, sizeof(want), " or cid %d", VSM_FILTER_MAX_TERMS + 1);
	assert_int_equal(err.pos, (size_t)(strstr(many, want) - many) + 4);
	assert_int_equal(err.len, 3);

	/* One more than the bound fails the same way; the bound itself compiles. */
	one_more = cid_terms(VSM_FILTER_MAX_TERMS + 1);
	assert_int_equal(vsm_filter_compile(one_more, 0, &f, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "too many terms"));
	assert_int_equal(vsm_filter_compile(most, 0, &f, &err), 0);
	assert_non_null(f);
	assert_non_null(strstr(vsm_filter_pcap_text(f), "link["));
	vsm_filter_free(f);
	free(one_more);
	free(many);
	free(most);
}

/*
 * Found by fuzz-filter: libpcap's optimizer refuses a program that accepts nothing, which was reported
 * as our emitter's bug ("libpcap rejected the generated filter"). It is the user's contradiction.
 */
static void test_contradiction(void **state)
{
	static const char *const never[] = { "op credit_update op credit_request", "type stream and type seqpacket",
					     "src port 1 and src port 2" };
	struct vsm_filter_error err;
	struct vsm_filter *f = NULL;
	(void)state;

	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		assert_int_equal(vsm_filter_compile(never[i], 0, &f, &err), -EINVAL);
		assert_null(f);
		assert_non_null(strstr(err.msg, "matches no packet"));
		assert_null(strstr(err.msg, "libpcap rejected"));
		assert_int_equal(err.pos, 0);
		assert_int_equal(err.len, strlen(never[i]));
	}
	/* Either of them is fine. */
	assert_int_equal(vsm_filter_compile("op credit_update or op credit_request", 0, &f, &err), 0);
	vsm_filter_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_matches_all),
		cmocka_unit_test(test_generated_text),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_cids),
		cmocka_unit_test(test_ops_and_types),
		cmocka_unit_test(test_len),
		cmocka_unit_test(test_virtio_guard),
		cmocka_unit_test(test_agrees_with_decoder),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_pcap_word_hints),
		cmocka_unit_test(test_no_hint_for_other_words),
		cmocka_unit_test(test_error_limits),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_term_bound),
		cmocka_unit_test(test_contradiction),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
