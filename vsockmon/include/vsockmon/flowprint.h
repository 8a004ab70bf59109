/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowprint.h: flows and totals as text and as JSON, names from flowfields.def and totals.def: vsockdump --flows and vsocktop share them. */
#ifndef VSOCKMON_FLOWPRINT_H
#define VSOCKMON_FLOWPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <vsockmon/flow.h>
#include <vsockmon/strbuf.h>
#include <vsockmon/timestamp.h>	/* vsm_put_duration, for the flow printers */

enum vsm_flow_field {
#define X(id, key, scope, desc) VSM_FF_##id,
#include <vsockmon/flowfields.def>
#undef X
	VSM_FF_COUNT
};

enum vsm_flow_scope { VSM_FS_FLOW, VSM_FS_DIR };

struct vsm_flow_field_info {
	const char *key;
	enum vsm_flow_scope scope;
	const char *description;
};

extern const struct vsm_flow_field_info vsm_flow_fields[VSM_FF_COUNT];

/* The capture totals, one per row of totals.def: VSM_TOT_<id>. */
enum vsm_total {
#define X(id, member, text, label, prom_name, prom_type, help) VSM_TOT_##id,
#include <vsockmon/totals.def>
#undef X
	VSM_TOT_COUNT
};

/* A total's place in the text line (totals.def). */
enum vsm_total_text { VSM_TT_LEAD, VSM_TT_PART, VSM_TT_PAIR, VSM_TT_NONZERO, VSM_TT_NONE };

struct vsm_total_info {
	const char *key;		/* JSON key (= the struct member) */
	enum vsm_total_text text;
	const char *label;		/* word in the text line, NULL with VSM_TT_NONE */
	const char *prom_name, *prom_type, *help;	/* Prometheus family: name, "counter" or "gauge", help */
	size_t offset;			/* of its uint64_t in struct vsm_flows_totals */
};

extern const struct vsm_total_info vsm_totals[VSM_TOT_COUNT];

/* The value of one total. */
uint64_t vsm_total_value(const struct vsm_flows_totals *totals, enum vsm_total id);

/* The schema version of flow objects (vsockmon-json(5)). */
#define VSM_FLOW_SCHEMA 1

/*
 * One JSON object for a flow: "schema", "kind":"flow", the FLOW fields, "a_to_b" and "b_to_a" with
 * the DIR fields, then "events" (the last ones, oldest first). now is the time stalls are counted to.
 */
void vsm_flow_json(struct vsm_strbuf *out, const struct vsm_flow *flow, const struct timespec *now);
/* The totals as a JSON object ("totals" of vsocktop's snapshots, the summary of vsockdump --flows --json). */
void vsm_totals_json(struct vsm_strbuf *out, const struct vsm_flows_totals *totals);
/*
 * A flow as text: a line for the connection, a line per direction, a line per event; numeric: CIDs
 * as numbers. Lines end in '\n'.
 */
void vsm_flow_text(struct vsm_strbuf *out, const struct vsm_flow *flow, const struct timespec *now, bool numeric);
/* The totals as one line of text. */
void vsm_totals_text(struct vsm_strbuf *out, const struct vsm_flows_totals *totals);

#endif
