/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flowprint.c: flows and their totals as text and JSON, keys and labels from flowfields.def and totals.def. */
#include <string.h>

#include <vsockmon/fields.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/print.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

const struct vsm_flow_field_info vsm_flow_fields[VSM_FF_COUNT] = {
#define X(id, key, scope, desc) [VSM_FF_##id] = { key, VSM_FS_##scope, desc },
#include <vsockmon/flowfields.def>
#undef X
};

const struct vsm_total_info vsm_totals[VSM_TOT_COUNT] = {
#define X(id, member, text, label, prom_name, prom_type, help) \
	[VSM_TOT_##id] = { #member, VSM_TT_##text, label, prom_name, #prom_type, help, \
			   offsetof(struct vsm_flows_totals, member) },
#include <vsockmon/totals.def>
#undef X
};

uint64_t vsm_total_value(const struct vsm_flows_totals *t, enum vsm_total id)
{
	uint64_t v;

	memcpy(&v, (const char *)t + vsm_totals[id].offset, sizeof(v));
	return v;
}

/* ---- JSON ---- */

/* "key": with a comma before it unless it opens the object. */
static void jkey(struct vsm_strbuf *out, enum vsm_flow_field f, bool first)
{
	if (!first)
		vsm_sb_putc(out, ',');
	vsm_sb_putc(out, '"');
	vsm_sb_puts(out, vsm_flow_fields[f].key);
	vsm_sb_puts(out, "\":");
}

static void ju64(struct vsm_strbuf *out, enum vsm_flow_field f, uint64_t v)
{
	jkey(out, f, false);
	vsm_sb_u64(out, v);
}

static void jbool(struct vsm_strbuf *out, enum vsm_flow_field f, bool v)
{
	jkey(out, f, false);
	vsm_sb_puts(out, v ? "true" : "false");
}

static void jtime(struct vsm_strbuf *out, const struct timespec *ts)
{
	vsm_ts_put_epoch(out, ts, true);
}

/* Durations are never negative: a capture whose time goes backwards gives 0. */
static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	int64_t d = vsm_ts_diff_ns(a, b);

	return d > 0 ? (uint64_t)d : 0;
}

static const char *dir_name(int side)
{
	return side == 0 ? "a_to_b" : side == 1 ? "b_to_a" : "flow";
}

/* The names of a flow's problems (1 << VSM_FP_*), comma-separated; JSON strings when json. */
static void problem_names(struct vsm_strbuf *out, uint32_t problems, bool json)
{
	bool first = true;

	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		if (!(problems & (1u << p)))
			continue;
		if (!first)
			vsm_sb_putc(out, ',');
		if (json)
			vsm_json_string(out, vsm_flow_problem_name(p));
		else
			vsm_sb_puts(out, vsm_flow_problem_name(p));
		first = false;
	}
}

/* "explain":[{"problem":..,"explanation":..,"check":..}...] for a flow's problems, words from problems.def. */
static void explain_json(struct vsm_strbuf *out, uint32_t problems)
{
	bool first = true;

	vsm_sb_puts(out, ",\"explain\":[");
	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		const struct vsm_flow_problem_info *info = vsm_flow_problem_info(p);

		if (!(problems & (1u << p)))
			continue;
		vsm_sb_puts(out, first ? "{\"problem\":" : ",{\"problem\":");
		vsm_json_string(out, info->name);
		vsm_sb_puts(out, ",\"explanation\":");
		vsm_json_string(out, info->explanation);
		vsm_sb_puts(out, ",\"check\":");
		vsm_json_string(out, info->check);
		vsm_sb_putc(out, '}');
		first = false;
	}
	vsm_sb_putc(out, ']');
}

/* One "explain" line per problem of the flow: what it means, what to check. */
static void explain_text(struct vsm_strbuf *out, uint32_t problems)
{
	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		const struct vsm_flow_problem_info *info = vsm_flow_problem_info(p);

		if (!(problems & (1u << p)))
			continue;
		vsm_sb_puts(out, "    explain ");
		vsm_sb_puts(out, info->name);
		vsm_sb_puts(out, ": ");
		vsm_sb_puts(out, info->explanation);
		vsm_sb_puts(out, "; check: ");
		vsm_sb_puts(out, info->check);
		vsm_sb_putc(out, '\n');
	}
}

static void shutdown_list(struct vsm_strbuf *out, uint32_t flags)
{
	vsm_sb_putc(out, '[');
	if (flags & VSM_SHUTDOWN_RCV)
		vsm_sb_puts(out, "\"RCV\"");
	if (flags & VSM_SHUTDOWN_SEND)
		vsm_sb_puts(out, flags & VSM_SHUTDOWN_RCV ? ",\"SEND\"" : "\"SEND\"");
	vsm_sb_putc(out, ']');
}

static void dir_json(struct vsm_strbuf *out, const struct vsm_flow *f, int s, const struct timespec *now)
{
	const struct vsm_flow_side *d = &f->side[s];
	int64_t credit;
	uint32_t in_flight;
	bool known = vsm_flow_credit(f, s, &credit, &in_flight);
	int64_t cur = d->stalled ? ns_between(&d->stall_since, now) : 0;

	vsm_sb_puts(out, ",\"");
	vsm_sb_puts(out, dir_name(s));
	vsm_sb_puts(out, "\":{");
	jkey(out, VSM_FF_PKTS, true);
	vsm_sb_u64(out, d->pkts);
	ju64(out, VSM_FF_RW_PKTS, d->rw_pkts);
	ju64(out, VSM_FF_BYTES, d->bytes);
	ju64(out, VSM_FF_MSGS, d->msgs);
	ju64(out, VSM_FF_MSGS_EOR, d->msgs_eor);
	ju64(out, VSM_FF_MSG_MIN, d->msg_min);
	ju64(out, VSM_FF_MSG_MAX, d->msg_max);
	ju64(out, VSM_FF_BUF_ALLOC, d->buf_alloc);
	ju64(out, VSM_FF_FWD_CNT, d->fwd_cnt);
	jkey(out, VSM_FF_IN_FLIGHT, false);
	if (known)
		vsm_sb_u64(out, in_flight);
	else
		vsm_sb_puts(out, "null");
	jkey(out, VSM_FF_CREDIT, false);
	if (known)
		vsm_sb_i64(out, credit);
	else
		vsm_sb_puts(out, "null");
	jbool(out, VSM_FF_STALLED, d->stalled);
	ju64(out, VSM_FF_STALLS, d->stalls);
	ju64(out, VSM_FF_STALL_NS, vsm_flow_stall_ns(f, s, now));
	ju64(out, VSM_FF_STALL_MAX_NS, d->stall_max_ns);
	ju64(out, VSM_FF_STALL_NOW_NS, cur > 0 ? (uint64_t)cur : 0);
	ju64(out, VSM_FF_CREDIT_REQUESTS, d->credit_requests);
	ju64(out, VSM_FF_CREDIT_UNANSWERED, d->credit_unanswered);
	ju64(out, VSM_FF_CREDIT_UPDATES, d->credit_updates);
	ju64(out, VSM_FF_BUF_CHANGES, d->buf_changes);
	ju64(out, VSM_FF_RING_WAITS, d->ring_waits);
	jkey(out, VSM_FF_SHUTDOWN, false);
	shutdown_list(out, d->shutdown);
	vsm_sb_putc(out, '}');
}

void vsm_flow_json(struct vsm_strbuf *out, const struct vsm_flow *f, const struct timespec *now)
{
	struct vsm_flow_event ev[VSM_FLOW_EVENTS];
	size_t n = vsm_flow_events(f, ev);
	const char *type = vsm_type_name(f->type);

	vsm_sb_puts(out, "{\"schema\":");
	vsm_sb_u64(out, VSM_FLOW_SCHEMA);
	vsm_sb_puts(out, ",\"kind\":\"flow\"");
	ju64(out, VSM_FF_ID, f->id);
	jkey(out, VSM_FF_TYPE, false);
	vsm_json_string(out, type ? type : "unknown");
	jkey(out, VSM_FF_STATE, false);
	vsm_json_string(out, vsm_flow_state_name(f->state));
	ju64(out, VSM_FF_A_CID, f->key.cid[0]);
	ju64(out, VSM_FF_A_PORT, f->key.port[0]);
	ju64(out, VSM_FF_B_CID, f->key.cid[1]);
	ju64(out, VSM_FF_B_PORT, f->key.port[1]);
	jkey(out, VSM_FF_FIRST, false);
	jtime(out, &f->first);
	jkey(out, VSM_FF_LAST, false);
	jtime(out, &f->last);
	ju64(out, VSM_FF_DURATION_NS, (uint64_t)ns_between(&f->first, &f->last));
	jbool(out, VSM_FF_MIDWAY, (f->problems >> VSM_FP_MIDWAY) & 1);
	jkey(out, VSM_FF_PROBLEMS, false);
	vsm_sb_putc(out, '[');
	problem_names(out, f->problems, true);
	vsm_sb_putc(out, ']');
	explain_json(out, f->problems);
	dir_json(out, f, 0, now);
	dir_json(out, f, 1, now);
	vsm_sb_puts(out, ",\"events\":[");
	for (size_t i = 0; i < n; i++) {
		vsm_sb_puts(out, i ? ",{\"ts\":" : "{\"ts\":");
		jtime(out, &ev[i].ts);
		vsm_sb_puts(out, ",\"event\":");
		vsm_json_string(out, vsm_flow_problem_name(ev[i].kind));
		vsm_sb_puts(out, ",\"dir\":\"");
		vsm_sb_puts(out, dir_name(ev[i].side));
		vsm_sb_puts(out, "\",\"value\":");
		vsm_sb_u64(out, ev[i].value);
		vsm_sb_putc(out, '}');
	}
	vsm_sb_puts(out, "]}");
}

void vsm_totals_json(struct vsm_strbuf *out, const struct vsm_flows_totals *t)
{
	vsm_sb_putc(out, '{');
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		if (i)
			vsm_sb_putc(out, ',');
		vsm_json_string(out, vsm_totals[i].key);
		vsm_sb_putc(out, ':');
		vsm_sb_u64(out, vsm_total_value(t, i));
	}
	vsm_sb_puts(out, ",\"problems\":{");
	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		if (p)
			vsm_sb_putc(out, ',');
		vsm_json_string(out, vsm_flow_problem_name(p));
		vsm_sb_putc(out, ':');
		vsm_sb_u64(out, t->problems[p]);
	}
	vsm_sb_puts(out, "}}");
}

/* ---- text ---- */

static void endpoint(struct vsm_strbuf *out, const struct vsm_flow *f, int s, bool numeric)
{
	vsm_print_cid(out, f->key.cid[s], numeric);
	vsm_sb_putc(out, ':');
	vsm_sb_u64(out, f->key.port[s]);
}

static void label(struct vsm_strbuf *out, enum vsm_flow_field f, uint64_t v)
{
	vsm_sb_puts(out, ", ");
	vsm_sb_puts(out, vsm_flow_fields[f].key);
	vsm_sb_putc(out, ' ');
	vsm_sb_u64(out, v);
}

static void dir_text(struct vsm_strbuf *out, const struct vsm_flow *f, int s, const struct timespec *now, bool numeric)
{
	const struct vsm_flow_side *d = &f->side[s];
	int64_t credit;
	uint32_t in_flight;

	vsm_sb_puts(out, "    ");
	endpoint(out, f, s, numeric);
	vsm_sb_puts(out, " > ");
	endpoint(out, f, !s, numeric);
	vsm_sb_puts(out, ": ");
	vsm_sb_puts(out, vsm_flow_fields[VSM_FF_PKTS].key);
	vsm_sb_putc(out, ' ');
	vsm_sb_u64(out, d->pkts);
	label(out, VSM_FF_RW_PKTS, d->rw_pkts);
	label(out, VSM_FF_BYTES, d->bytes);
	if (f->type == VSM_TYPE_SEQPACKET) {
		label(out, VSM_FF_MSGS, d->msgs);
		label(out, VSM_FF_MSGS_EOR, d->msgs_eor);
		label(out, VSM_FF_MSG_MIN, d->msg_min);
		label(out, VSM_FF_MSG_MAX, d->msg_max);
	}
	label(out, VSM_FF_BUF_ALLOC, d->buf_alloc);
	label(out, VSM_FF_FWD_CNT, d->fwd_cnt);
	if (vsm_flow_credit(f, s, &credit, &in_flight)) {
		label(out, VSM_FF_IN_FLIGHT, in_flight);
		vsm_sb_puts(out, ", credit ");
		vsm_sb_i64(out, credit);
	} else {
		vsm_sb_puts(out, ", credit unknown");
	}
	if (d->stalls) {
		label(out, VSM_FF_STALLS, d->stalls);
		vsm_sb_puts(out, " (");
		vsm_put_duration(out, vsm_flow_stall_ns(f, s, now));
		vsm_sb_puts(out, " in all, longest ");
		vsm_put_duration(out, d->stall_max_ns);
		if (d->stalled) {
			vsm_sb_puts(out, ", stalled for ");
			vsm_put_duration(out, (uint64_t)ns_between(&d->stall_since, now));
			vsm_sb_puts(out, " now");
		}
		vsm_sb_putc(out, ')');
	}
	if (d->credit_requests) {
		label(out, VSM_FF_CREDIT_REQUESTS, d->credit_requests);
		if (d->credit_unanswered)
			label(out, VSM_FF_CREDIT_UNANSWERED, d->credit_unanswered);
	}
	if (d->credit_updates)
		label(out, VSM_FF_CREDIT_UPDATES, d->credit_updates);
	if (d->buf_changes)
		label(out, VSM_FF_BUF_CHANGES, d->buf_changes);
	if (d->ring_waits)
		label(out, VSM_FF_RING_WAITS, d->ring_waits);
	if (d->shutdown) {
		vsm_sb_puts(out, ", shutdown ");
		vsm_sb_puts(out, d->shutdown == (VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND) ? "RCV,SEND" :
			    d->shutdown & VSM_SHUTDOWN_SEND ? "SEND" : "RCV");
	}
	vsm_sb_putc(out, '\n');
}

void vsm_flow_text(struct vsm_strbuf *out, const struct vsm_flow *f, const struct timespec *now, bool numeric)
{
	struct vsm_flow_event ev[VSM_FLOW_EVENTS];
	size_t n = vsm_flow_events(f, ev);
	const char *type = vsm_type_name(f->type);

	vsm_sb_puts(out, "flow ");
	vsm_sb_u64(out, f->id);
	vsm_sb_putc(out, ' ');
	endpoint(out, f, 0, numeric);
	vsm_sb_puts(out, " <> ");
	endpoint(out, f, 1, numeric);
	vsm_sb_putc(out, ' ');
	vsm_sb_puts(out, type ? type : "unknown-type");
	vsm_sb_putc(out, ' ');
	vsm_sb_puts(out, vsm_flow_state_name(f->state));
	vsm_sb_puts(out, ", ");
	vsm_put_duration(out, (uint64_t)ns_between(&f->first, &f->last));
	if (f->problems) {
		vsm_sb_puts(out, " [");
		problem_names(out, f->problems, false);
		vsm_sb_putc(out, ']');
	}
	vsm_sb_putc(out, '\n');
	dir_text(out, f, 0, now, numeric);
	dir_text(out, f, 1, now, numeric);
	for (size_t i = 0; i < n; i++) {
		vsm_sb_puts(out, "    +");
		vsm_put_duration(out, (uint64_t)ns_between(&f->first, &ev[i].ts));
		vsm_sb_putc(out, ' ');
		vsm_sb_puts(out, vsm_flow_problem_name(ev[i].kind));
		if (ev[i].side >= 0) {
			/* the direction the event is about: from the side concerned to its peer */
			vsm_sb_puts(out, " (");
			endpoint(out, f, ev[i].side, numeric);
			vsm_sb_puts(out, " > ");
			endpoint(out, f, !ev[i].side, numeric);
			vsm_sb_putc(out, ')');
		}
		if (ev[i].kind == VSM_FE_STALL_END) {
			vsm_sb_puts(out, " after ");
			vsm_put_duration(out, ev[i].value);
		} else if (ev[i].kind == VSM_FP_RING_WAIT) {
			vsm_sb_puts(out, " for ");
			vsm_put_duration(out, ev[i].value);
		} else if (ev[i].kind == VSM_FP_BUF_CHANGE) {
			vsm_sb_puts(out, " to ");
			vsm_sb_u64(out, ev[i].value);
		}
		vsm_sb_putc(out, '\n');
	}
	explain_text(out, f->problems);
}

/* Totals placed so (totals.def's text column), each as ", <label> <n>"; only those not 0 when nonzero. */
static void totals_pairs(struct vsm_strbuf *out, const struct vsm_flows_totals *t, enum vsm_total_text text,
			 bool nonzero)
{
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		uint64_t v = vsm_total_value(t, i);

		if (vsm_totals[i].text != text || (nonzero && !v))
			continue;
		vsm_sb_puts(out, ", ");
		vsm_sb_puts(out, vsm_totals[i].label);
		vsm_sb_putc(out, ' ');
		vsm_sb_u64(out, v);
	}
}

void vsm_totals_text(struct vsm_strbuf *out, const struct vsm_flows_totals *t)
{
	bool first = true;

	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		if (vsm_totals[i].text != VSM_TT_LEAD)
			continue;
		vsm_sb_puts(out, vsm_totals[i].label);
		vsm_sb_putc(out, ' ');
		vsm_sb_u64(out, vsm_total_value(t, i));
		vsm_sb_puts(out, " (");
	}
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++) {
		if (vsm_totals[i].text != VSM_TT_PART)
			continue;
		if (!first)
			vsm_sb_puts(out, ", ");
		vsm_sb_u64(out, vsm_total_value(t, i));
		vsm_sb_putc(out, ' ');
		vsm_sb_puts(out, vsm_totals[i].label);
		first = false;
	}
	vsm_sb_putc(out, ')');
	totals_pairs(out, t, VSM_TT_PAIR, false);
	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		if (!t->problems[p])
			continue;
		vsm_sb_puts(out, ", ");
		vsm_sb_puts(out, vsm_flow_problem_name(p));
		vsm_sb_putc(out, ' ');
		vsm_sb_u64(out, t->problems[p]);
	}
	totals_pairs(out, t, VSM_TT_NONZERO, true);
	vsm_sb_putc(out, '\n');
}
