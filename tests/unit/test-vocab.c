/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vocab.c: the vocabulary tables of totals (totals.def) and of vsockdev's counters (devcounters.def). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <vsockmon/decode.h>
#include <vsockmon/devcounters.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/wire.h>

#include "frame.h"
#include "model.h"
#include "prom.h"
#include "testutil.h"

/* A metric name as the exposition format allows it: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool prom_name_valid(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == ':'))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);

	return n >= k && !strcmp(s + n - k, tail);
}

/* A family's type fits its name: counters end in _total, gauges do not (Prometheus' naming rules). */
static void check_family(const char *name, const char *type, const char *help)
{
	if (!prom_name_valid(name))
		fail_msg("'%s' is not a Prometheus metric name", name);
	if (strcmp(type, "counter") && strcmp(type, "gauge"))
		fail_msg("%s: type '%s', not counter or gauge", name, type);
	if (!strcmp(type, "counter") != ends_with(name, "_total"))
		fail_msg("%s: a %s%s ending in _total", name, type, !strcmp(type, "counter") ? " not" : "");
	assert_non_null(help);
	assert_true(help[0] && !strchr(help, '\n'));
}

/* ---- totals.def ---- */

static void test_totals_table(void **state)
{
	unsigned leads = 0;

	(void)state;
	/* every member of the struct before the problems is a row, each at its own place */
	assert_int_equal(offsetof(struct vsm_flows_totals, problems), VSM_TOT_COUNT * sizeof(uint64_t));
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		const struct vsm_total_info *t = &vsm_totals[i];

		assert_int_equal(t->offset, i * sizeof(uint64_t));
		assert_non_null(t->key);
		assert_true(t->key[0]);
		check_family(t->prom_name, t->prom_type, t->help);
		assert_true((t->label == NULL) == (t->text == VSM_TT_NONE));
		leads += t->text == VSM_TT_LEAD;
		for (unsigned k = 0; k < i; k++) {
			assert_string_not_equal(t->key, vsm_totals[k].key);
			assert_string_not_equal(t->prom_name, vsm_totals[k].prom_name);
			if (t->label && vsm_totals[k].label)
				assert_string_not_equal(t->label, vsm_totals[k].label);
		}
		/* the problems are "problems" and vsock_connection_problems_total{problem=...}: no clash */
		assert_string_not_equal(t->key, "problems");
		assert_string_not_equal(t->prom_name, "vsock_connection_problems_total");
	}
	assert_int_equal(leads, 1);	/* the line opens with one "<label> <n> (" */
}

/* Totals that tell each other apart: member i holds 1 + i; one problem counted. */
static struct vsm_flows_totals distinct_totals(void)
{
	struct vsm_flows_totals t;

	memset(&t, 0, sizeof(t));
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		uint64_t v = 1 + i;

		memcpy((char *)&t + vsm_totals[i].offset, &v, sizeof(v));
	}
	t.problems[VSM_FP_STALL] = 42;
	return t;
}

static void test_totals_json_and_text(void **state)
{
	struct vsm_flows_totals t = distinct_totals();
	struct vsm_strbuf sb;
	json_error_t err;
	json_t *j, *problems;

	(void)state;
	vsm_sb_init(&sb);
	vsm_totals_json(&sb, &t);
	j = json_loads(sb.data, 0, &err);
	assert_non_null(j);
	/* each row reaches JSON with its own value, then the problems */
	assert_int_equal(json_object_size(j), VSM_TOT_COUNT + 1);
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		json_t *v = json_object_get(j, vsm_totals[i].key);

		assert_true(json_is_integer(v));
		assert_int_equal(json_integer_value(v), 1 + i);
		assert_int_equal(vsm_total_value(&t, i), 1 + i);
	}
	problems = json_object_get(j, "problems");
	assert_int_equal(json_object_size(problems), VSM_FP_COUNT);
	assert_int_equal(json_integer_value(json_object_get(problems, "stall")), 42);
	json_decref(j);
	/* the order and shape vsockdump --flows --json has always had (tests/golden: *-flows-json) */
	assert_int_equal(strncmp(sb.data, "{\"pkts\":1,\"bytes\":2,\"flows\":3,\"live\":4,\"open\":5,\"stalled\":6,"
				 "\"closed\":7,\"resets\":8,\"refused\":9,\"evicted\":10,\"problems\":{\"stall\":42,", 108), 0);
	vsm_sb_free(&sb);

	/* the text line: the lead, the parts, the pairs, the problems, the nonzero ones */
	vsm_sb_init(&sb);
	vsm_totals_text(&sb, &t);
	assert_string_equal(sb.data, "flows 3 (5 open, 7 closed, 8 reset, 9 refused), packets 1, bytes 2, "
			    "stalled now 6, stall 42, evicted 10\n");
	vsm_sb_free(&sb);
	t.evicted = 0;
	t.problems[VSM_FP_STALL] = 0;
	vsm_sb_init(&sb);
	vsm_totals_text(&sb, &t);
	assert_string_equal(sb.data, "flows 3 (5 open, 7 closed, 8 reset, 9 refused), packets 1, bytes 2, "
			    "stalled now 6\n");
	vsm_sb_free(&sb);
	/* and every row with a label is in it */
	t = distinct_totals();
	vsm_sb_init(&sb);
	vsm_totals_text(&sb, &t);
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++)
		if (vsm_totals[i].label)
			assert_non_null(strstr(sb.data, vsm_totals[i].label));
	vsm_sb_free(&sb);
}

static void feed(struct vsm_flows *t, long sec, uint64_t src, uint32_t sport, uint64_t dst, uint32_t dport,
		 uint16_t op, uint32_t len)
{
	uint8_t buf[128];
	struct tu_frame f = { .src_cid = src, .src_port = sport, .dst_cid = dst, .dst_port = dport,
			      .op = op, .len = len, .buf_alloc = 65536 };
	size_t n = tu_build(buf, sizeof(buf), &f);
	struct vsm_pkt p;

	assert_int_equal(vsm_decode(buf, (uint32_t)n, (uint32_t)n + len, &p), 0);
	assert_non_null(vsm_flows_update(t, &p, &(struct timespec){ sec, 0 }, NULL));
}

/* Every total reaches vsocktop's exposition as a family of its own with the model's value. */
static void test_totals_prometheus(void **state)
{
	struct vsm_flows *flows;
	struct top_model *m;
	struct top_frame_info info = { .source = "file x.pcap" };
	struct vsm_strbuf sb;
	char want[512];

	(void)state;
	assert_int_equal(vsm_flows_new(64, &flows), 0);
	assert_int_equal(top_model_new(&m), 0);
	top_model_start(m, &(struct timespec){ 1, 0 });
	feed(flows, 1, 3, 1024, 2, 500, VSM_OP_REQUEST, 0);
	feed(flows, 1, 2, 500, 3, 1024, VSM_OP_RESPONSE, 0);
	feed(flows, 1, 3, 1024, 2, 500, VSM_OP_RW, 100);
	feed(flows, 1, 4, 1025, 2, 600, VSM_OP_REQUEST, 0);
	feed(flows, 1, 2, 600, 4, 1025, VSM_OP_RST, 0);
	assert_int_equal(top_model_refresh(m, flows, &(struct timespec){ 2, 0 }, NULL), 0);
	vsm_sb_init(&sb);
	top_prom_text(&sb, m, &info);
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		const struct vsm_total_info *t = &vsm_totals[i];

		snprintf(want, sizeof(want), "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", t->prom_name, t->help, t->prom_name,
			 t->prom_type, t->prom_name, (unsigned long long)vsm_total_value(&top_model_totals(m)->t, i));
		if (!strstr(sb.data, want))
			fail_msg("not in the exposition: %s", want);
	}
	/* the values are the capture's: 5 packets, 100 bytes, 2 connections, 1 refused */
	assert_non_null(strstr(sb.data, "\nvsock_packets_total 5\n"));
	assert_non_null(strstr(sb.data, "\nvsock_bytes_total 100\n"));
	assert_non_null(strstr(sb.data, "\nvsock_connections_total 2\n"));
	assert_non_null(strstr(sb.data, "\nvsock_connection_refusals_total 1\n"));
	vsm_sb_free(&sb);
	top_model_free(m);
	vsm_flows_free(flows);
}

/* ---- devcounters.def ---- */

static void test_devcounters_table(void **state)
{
	(void)state;
	for (unsigned g = 0; g < VSM_DG_COUNT; g++)
		for (unsigned k = 0; k < g; k++)
			assert_string_not_equal(vsm_dev_groups[g], vsm_dev_groups[k]);
	for (unsigned i = 0; i < VSM_DC_COUNT; i++) {
		const struct vsm_dev_counter_info *c = &vsm_dev_counters[i];

		assert_true(c->group < VSM_DG_COUNT);
		assert_non_null(c->key);
		assert_true(c->key[0]);
		assert_non_null(c->help);
		assert_true(c->help[0]);
		if (c->prom_name)
			check_family(c->prom_name, c->prom_type, c->help);
		else
			assert_string_equal(c->prom_type, "none");
		for (unsigned k = 0; k < i; k++) {
			/* a key once in its group; a family once in the table */
			if (vsm_dev_counters[k].group == c->group)
				assert_string_not_equal(c->key, vsm_dev_counters[k].key);
			if (c->prom_name && vsm_dev_counters[k].prom_name)
				assert_string_not_equal(c->prom_name, vsm_dev_counters[k].prom_name);
		}
		/* nor does vsocktop's own family, nor a total's */
		if (c->prom_name) {
			assert_string_not_equal(c->prom_name, "vsock_device_up");
			for (unsigned t = 0; t < VSM_TOT_COUNT; t++)
				assert_string_not_equal(c->prom_name, vsm_totals[t].prom_name);
		}
	}
}

/* A counter's value in the document below: each its own. */
static uint64_t doc_value(unsigned i)
{
	return 1000 + i;
}

/* A statistics document with every counter of the table, in its group (one VM, CID 3, one tap sink). */
static char *table_document(void)
{
	json_t *root = json_object(), *sink = json_object(), *vm = json_object(), *queues = json_array();
	json_t *groups[VSM_DG_COUNT] = { 0 };
	char *s;

	groups[VSM_DG_DOC] = root;
	groups[VSM_DG_SINK] = sink;
	groups[VSM_DG_VM] = vm;
	groups[VSM_DG_QUEUE] = json_object();
	for (unsigned g = 0; g < VSM_DG_COUNT; g++)
		if (!groups[g])
			groups[g] = json_object();
	for (unsigned i = 0; i < VSM_DC_COUNT; i++) {
		const struct vsm_dev_counter_info *c = &vsm_dev_counters[i];
		json_t *o = groups[c->group], *v;

		switch (c->kind) {
		case VSM_DK_U64: v = json_integer((json_int_t)doc_value(i)); break;
		case VSM_DK_BOOL: v = json_true(); break;
		case VSM_DK_INT: v = json_integer(0); break;
		case VSM_DK_STR: v = json_string(c->group == VSM_DG_QUEUE ? "rx" : "x"); break;
		case VSM_DK_LIST: v = json_array(); break;
		case VSM_DK_MAP: v = json_pack("{s:I}", "no_listener", (json_int_t)doc_value(i)); break;
		default: continue;	/* vsocktop's own */
		}
		json_object_set_new(o, c->key, v);
	}
	/* the nanoseconds as whole seconds, to find them in the exposition's seconds */
	json_object_set_new(groups[VSM_DG_RX_EMPTY], VSM_DC_KEY(RX_EMPTY_NS),
			    json_integer((json_int_t)doc_value(VSM_DC_RX_EMPTY_NS) * 1000000000));
	json_object_set_new(root, VSM_DC_KEY(VERSION), json_integer(1));
	json_object_set_new(root, VSM_DC_KEY(PID), json_integer(42));
	json_object_set_new(vm, VSM_DC_KEY(GUEST_CID), json_integer(3));
	json_object_set_new(groups[VSM_DG_HOST], VSM_DG_KEY(HOST_FAILURES), groups[VSM_DG_HOST_FAILURES]);
	json_array_append(queues, groups[VSM_DG_QUEUE]);
	json_array_append_new(queues, groups[VSM_DG_QUEUE]);
	for (unsigned g = 0; g < VSM_DG_COUNT; g++)
		if (g != VSM_DG_DOC && g != VSM_DG_SINK && g != VSM_DG_VM && g != VSM_DG_QUEUE && g != VSM_DG_HOST_FAILURES)
			json_object_set_new(vm, vsm_dev_groups[g], groups[g]);
	json_object_set_new(vm, VSM_DG_KEY(QUEUE), queues);
	json_object_set_new(root, VSM_DG_KEY(SINK), json_pack("[o]", sink));
	json_object_set_new(root, VSM_DG_KEY(VM), json_pack("[o]", vm));
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

/* The sample of family name whose labels start with labels (guest_cid="3"...) and whose value is value. */
static bool has_sample(const char *text, const char *name, const char *labels, const char *value)
{
	char head[256];
	size_t hl = (size_t)snprintf(head, sizeof(head), "%s{%s", name, labels);

	for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *end = strchr(line, '\n'), *sp;

		if (!end || strncmp(line, head, hl))
			continue;
		sp = end;
		while (sp > line && sp[-1] != ' ')
			sp--;
		if ((size_t)(end - sp) == strlen(value) && !strncmp(sp, value, strlen(value)))
			return true;
	}
	return false;
}

/* Every counter with a family reaches vsocktop's exposition from vsockdev's document, read by its keys. */
static void test_devcounters_prometheus(void **state)
{
	struct top_model *m;
	struct top_frame_info info = { .source = "file x.pcap", .device = "/run/vsockdev.stats" };
	struct vsm_strbuf sb;
	char err[256], want[512], value[32];
	char *doc = table_document();

	(void)state;
	assert_non_null(doc);
	assert_int_equal(top_model_new(&m), 0);
	assert_int_equal(top_model_set_devices_json(m, doc, strlen(doc), &(struct timespec){ 1, 0 }, err, sizeof(err)), 0);
	assert_int_equal(top_model_devices(m)->nvm, 1);
	vsm_sb_init(&sb);
	top_prom_text(&sb, m, &info);
	for (unsigned i = 0; i < VSM_DC_COUNT; i++) {
		const struct vsm_dev_counter_info *c = &vsm_dev_counters[i];
		const char *labels = "guest_cid=\"3\"";

		if (!c->prom_name)
			continue;
		snprintf(want, sizeof(want), "# HELP %s %s\n# TYPE %s %s\n", c->prom_name, c->help, c->prom_name,
			 c->prom_type);
		if (!strstr(sb.data, want))
			fail_msg("not in the exposition: %s", want);
		if (c->group == VSM_DG_SINK)
			labels = "";		/* summed over the sinks, no labels */
		if (c->kind == VSM_DK_BOOL)
			snprintf(value, sizeof(value), "1");
		else if (i == VSM_DC_Q_OCCUPANCY)	/* vsocktop's, from the indexes (test-top-model checks it) */
			snprintf(value, sizeof(value), "%llu",
				 (unsigned long long)top_model_devices(m)->vm[0].queue[0].occupancy);
		else if (i == VSM_DC_RX_EMPTY_NS)
			snprintf(value, sizeof(value), "%llu.000000000", (unsigned long long)doc_value(i));
		else
			snprintf(value, sizeof(value), "%llu", (unsigned long long)doc_value(i));
		if (c->group == VSM_DG_SINK) {
			snprintf(want, sizeof(want), "\n%s %s\n", c->prom_name, value);
			if (!strstr(sb.data, want))
				fail_msg("not in the exposition: %s", want);
		} else if (!has_sample(sb.data, c->prom_name, labels, value)) {
			fail_msg("no sample %s{%s...} %s", c->prom_name, labels, value);
		}
	}
	/* the families of two counters: the to_guest one is labelled with its own key */
	snprintf(want, sizeof(want), "vsock_device_packets_total{guest_cid=\"3\",direction=\"%s\"} %llu\n",
		 VSM_DC_KEY(TO_GUEST), (unsigned long long)doc_value(VSM_DC_TO_GUEST));
	assert_non_null(strstr(sb.data, want));
	snprintf(want, sizeof(want), "vsock_device_bytes_total{guest_cid=\"3\",direction=\"%s\"} %llu\n",
		 VSM_DC_KEY(TO_GUEST), (unsigned long long)doc_value(VSM_DC_TO_GUEST_BYTES));
	assert_non_null(strstr(sb.data, want));
	vsm_sb_free(&sb);
	top_model_free(m);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_totals_table),
		cmocka_unit_test(test_totals_json_and_text),
		cmocka_unit_test(test_totals_prometheus),
		cmocka_unit_test(test_devcounters_table),
		cmocka_unit_test(test_devcounters_prometheus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
