/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frame.c: the text of vsocktop's frames, the same on the screen and in batch mode. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vsockmon/fields.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/print.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "frame.h"

#define COL_GAP 1

void top_fmt_human(char *buf, size_t len, double v, const char *unit)
{
	static const char units[] = "KMGTPE";
	int u = 0;

	if (v < 0.05) {
		snprintf(buf, len, "0%s", unit);
		return;
	}
	/* Below 1000 the number itself (a fraction of a rate to one decimal); past it, three digits
	   at most and the power of 1024 as suffix, so one column never mixes 63871 and 256K. */
	if (v < 999.5) {
		snprintf(buf, len, v < 99.95 && v != (double)(uint64_t)v ? "%.1f%s" : "%.0f%s", v, unit);
		return;
	}
	do
		v /= 1024;
	while (v >= 999.5 && ++u < 5);
	snprintf(buf, len, v < 99.95 ? "%.1f%c%s" : "%.0f%c%s", v, units[u], unit);
}

void top_fmt_amount(char *buf, size_t len, uint64_t v)
{
	top_fmt_human(buf, len, (double)v, "");
}

void top_fmt_signed(char *buf, size_t len, int64_t v)
{
	if (v >= 0) {
		top_fmt_amount(buf, len, (uint64_t)v);
	} else if (len > 1) {
		buf[0] = '-';
		top_fmt_amount(buf + 1, len - 1, (uint64_t)0 - (uint64_t)v);
	}
}

void top_fmt_rate(char *buf, size_t len, double v)
{
	top_fmt_human(buf, len, v, "");
}

void top_fmt_ns(char *buf, size_t len, uint64_t ns)
{
	if (ns == 0)
		snprintf(buf, len, "-");
	else if (ns < 1000000)
		snprintf(buf, len, "%lluus", (unsigned long long)(ns / 1000));
	/* Digits are cut, not rounded, as vsockdump --flows does: the two agree on the same capture. */
	else if (ns < 1000000000)
		snprintf(buf, len, "%llu.%llums", (unsigned long long)(ns / 1000000), (unsigned long long)(ns % 1000000 / 100000));
	else if (ns < 100000000000ull)
		snprintf(buf, len, "%llu.%02llus", (unsigned long long)(ns / 1000000000),
			 (unsigned long long)(ns % 1000000000 / 10000000));
	else if (ns < 10000000000000ull)
		snprintf(buf, len, "%llus", (unsigned long long)(ns / 1000000000));
	else
		snprintf(buf, len, "%lluh", (unsigned long long)(ns / 3600000000000ull));
}

void top_fmt_time(char *buf, size_t len, const struct timespec *ts)
{
	struct vsm_strbuf sb;

	/* libvsockmon's clock, as vsockdump -tttt prints it: bounded, never a 20-digit year. */
	vsm_sb_init(&sb);
	vsm_ts_put_clock(&sb, ts, true, false, false);
	snprintf(buf, len, "%s", sb.data && !sb.oom ? sb.data : "?");
	vsm_sb_free(&sb);
}

/* ---- the connection table ---- */

static const char *type_short(uint16_t type)
{
	return type == VSM_TYPE_STREAM ? "STRM" : type == VSM_TYPE_SEQPACKET ? "SEQ" : "?";
}

static void problems_text(char *buf, size_t len, uint32_t problems)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned p = 0; p < VSM_FP_COUNT && n + 1 < len; p++) {
		if (!(problems & (1u << p)))
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "," : "", vsm_flow_problem_name(p));
		if (n >= len)
			n = len - 1;
	}
	if (!n)
		snprintf(buf, len, "-");
}

void top_cell(const struct top_row *r, int col, char *buf, size_t len)
{
	switch (col) {
	case TOP_COL_ID:
		snprintf(buf, len, "%llu", (unsigned long long)r->id);
		break;
	case TOP_COL_A:
	case TOP_COL_B:
		snprintf(buf, len, "%s", r->ep[col == TOP_COL_B]);
		break;
	case TOP_COL_TYPE:
		snprintf(buf, len, "%s", type_short(r->type));
		break;
	case TOP_COL_STATE:
		snprintf(buf, len, "%s", vsm_flow_state_name(r->state));
		break;
	case TOP_COL_PPS:
		top_fmt_rate(buf, len, r->dir[0].pps + r->dir[1].pps);
		break;
	case TOP_COL_RATE_AB:
	case TOP_COL_RATE_BA:
		top_fmt_rate(buf, len, r->dir[col == TOP_COL_RATE_BA].bps);
		break;
	case TOP_COL_BYTES:
		top_fmt_amount(buf, len, r->dir[0].bytes + r->dir[1].bytes);
		break;
	case TOP_COL_INFLIGHT: {
		uint64_t sum = 0;
		bool known = false;

		for (int s = 0; s < 2; s++)
			if (r->dir[s].credit_known)
				sum += r->dir[s].in_flight, known = true;
		if (known)
			top_fmt_amount(buf, len, sum);
		else
			snprintf(buf, len, "-");
		break;
	}
	case TOP_COL_CREDIT_A:
	case TOP_COL_CREDIT_B: {
		const struct top_dir *d = &r->dir[col == TOP_COL_CREDIT_B];

		if (d->credit_known)
			top_fmt_signed(buf, len, d->credit);
		else
			snprintf(buf, len, "-");
		break;
	}
	case TOP_COL_STALL:
		top_fmt_ns(buf, len, r->dir[0].stall_now_ns > r->dir[1].stall_now_ns ? r->dir[0].stall_now_ns
										    : r->dir[1].stall_now_ns);
		break;
	case TOP_COL_STALL_TOTAL:
		top_fmt_ns(buf, len, r->dir[0].stall_ns + r->dir[1].stall_ns);
		break;
	case TOP_COL_PROBLEMS:
		problems_text(buf, len, r->problems);
		break;
	default:
		snprintf(buf, len, "?");
		break;
	}
}

static bool sorted_col(const struct top_model *m, int col)
{
	const struct top_sort_info *s = &top_sorts[top_model_sort_key(m)];

	return s->cols[0] == col || s->cols[1] == col;
}

void top_layout(const struct top_model *m, size_t first, size_t count, int width, struct top_layout *ret)
{
	const struct top_columns *cols = top_model_columns(m);
	int order[TOP_COL_COUNT], n = 0, used = 0;
	bool take[TOP_COL_COUNT] = { false };

	memset(ret, 0, sizeof(*ret));
	for (int c = 0; c < TOP_COL_COUNT; c++)
		ret->width[c] = top_cols[c].width > (int)strlen(top_cols[c].title) ? top_cols[c].width
										  : (int)strlen(top_cols[c].title);
	/* Identifiers, endpoints and problems are as wide as the rows in view need: never cut. */
	for (size_t i = first; i < first + count && i < top_model_count(m); i++) {
		const struct top_row *r = top_model_row(m, i);
		char buf[256];
		int idw = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)r->id);

		if (idw > ret->width[TOP_COL_ID])
			ret->width[TOP_COL_ID] = idw;
		for (int s = 0; s < 2; s++) {
			int w = (int)strlen(r->ep[s]);

			if (w > ret->width[TOP_COL_A + s])
				ret->width[TOP_COL_A + s] = w;
		}
		problems_text(buf, sizeof(buf), r->problems);
		if ((int)strlen(buf) > ret->width[TOP_COL_PROBLEMS])
			ret->width[TOP_COL_PROBLEMS] = (int)strlen(buf);
	}
	/* Widths the user set (F2, the rc file) win over the automatic ones. */
	for (int c = 0; c < TOP_COL_COUNT; c++)
		if (cols->width[c] > 0)
			ret->width[c] = cols->width[c];
	/* By priority, the sort key's columns first; problems last, given what is left. */
	for (int i = 0; i < cols->n; i++)
		order[n++] = cols->col[i];
	for (int i = 1; i < n; i++) {
		for (int j = i; j > 0; j--) {
			int a = order[j - 1], b = order[j];
			int pa = top_cols[a].priority + (sorted_col(m, a) ? 100 : 0);
			int pb = top_cols[b].priority + (sorted_col(m, b) ? 100 : 0);

			if (pa >= pb)
				break;
			order[j - 1] = b;
			order[j] = a;
		}
	}
	for (int i = 0; i < n; i++) {
		int c = order[i], w = ret->width[c] + (used ? COL_GAP : 0);

		if (width > 0 && c == TOP_COL_PROBLEMS && used + w > width) {
			/* Problems may be cut: show them if a useful part fits. */
			if (width - used - COL_GAP >= 8) {
				ret->width[c] = width - used - COL_GAP;
				take[c] = true;
				used = width;
			}
			continue;
		}
		if (width > 0 && used + w > width)
			continue;
		take[c] = true;
		used += w;
	}
	/* In the user's order. */
	for (int i = 0; i < cols->n; i++)
		if (take[cols->col[i]])
			ret->col[ret->ncols++] = cols->col[i];
}

static void put_cell(struct vsm_strbuf *out, const char *text, int width, bool right)
{
	int len = (int)strlen(text);

	if (len > width)
		len = width;
	if (right)
		for (int i = len; i < width; i++)
			vsm_sb_putc(out, ' ');
	vsm_sb_putn(out, text, (size_t)len);
	if (!right)
		for (int i = len; i < width; i++)
			vsm_sb_putc(out, ' ');
}

static void trim_right(struct vsm_strbuf *out, size_t from)
{
	while (out->len > from && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
}

void top_table_title(struct vsm_strbuf *out, const struct top_model *m, const struct top_layout *l, char marker)
{
	size_t start = out->len;

	for (int i = 0; i < l->ncols; i++) {
		int c = l->col[i];
		char title[32];

		if (i)
			vsm_sb_putc(out, ' ');
		snprintf(title, sizeof(title), "%s", top_cols[c].title);
		if (marker && sorted_col(m, c) && strlen(title) + 1 <= (size_t)l->width[c])
			snprintf(title, sizeof(title), "%s%c", top_cols[c].title, marker);
		put_cell(out, title, l->width[c], top_cols[c].right);
	}
	trim_right(out, start);
}

void top_table_line(struct vsm_strbuf *out, const struct top_row *r, const struct top_layout *l)
{
	size_t start = out->len;

	for (int i = 0; i < l->ncols; i++) {
		int c = l->col[i];
		char cell[256];

		if (i)
			vsm_sb_putc(out, ' ');
		top_cell(r, c, cell, sizeof(cell));
		put_cell(out, cell, l->width[c], top_cols[c].right);
	}
	trim_right(out, start);
}

/* ---- the header ---- */

void top_header(struct vsm_strbuf *out, const struct top_model *m, const struct top_frame_info *info)
{
	const struct top_totals *t = top_model_totals(m);
	const struct top_devices *dev = top_model_devices(m);
	char when[64], a[32], b[32], c[32], d[32];
	const char *filter = top_model_filter(m);

	/* Before the first packet there is no time to show: a zero clock would read as 1970. */
	if (t->now.tv_sec == 0 && t->now.tv_nsec == 0)
		snprintf(when, sizeof(when), "-");
	else
		top_fmt_time(when, sizeof(when), &t->now);
	vsm_sb_printf(out, "vsocktop - %s - %s%s%s, interval %.3f s%s%s\n", info->source ? info->source : "no capture",
		      when, strcmp(when, "-") ? " UTC" : "", info->capture ? " (capture time)" : "", t->interval,
		      info->paused ? " [paused]" : "", info->ended ? " [end of capture]" : "");
	/* What went wrong comes first, so that a narrow terminal cuts the totals, never the trouble. */
	vsm_sb_printf(out, "Stalled: %llu  Refused: %llu  Resets: %llu  Problems: %llu  Connections: %llu seen, %llu held, %llu open\n",
		      (unsigned long long)t->t.stalled, (unsigned long long)t->t.refused, (unsigned long long)t->t.resets,
		      (unsigned long long)t->with_problems, (unsigned long long)t->t.flows, (unsigned long long)t->t.live,
		      (unsigned long long)t->t.open);
	top_fmt_amount(a, sizeof(a), t->t.pkts);
	top_fmt_human(b, sizeof(b), t->pps, "/s");
	top_fmt_amount(c, sizeof(c), t->t.bytes);
	top_fmt_human(d, sizeof(d), t->bps, "B/s");
	vsm_sb_printf(out, "Packets: %s (%s)  Bytes: %s (%s)  Closed: %llu  Evicted: %llu", a, b, c, d,
		      (unsigned long long)t->t.closed, (unsigned long long)t->t.evicted);
	if (info->device && dev->have)
		snprintf(a, sizeof(a), "%llu", (unsigned long long)dev->tap_dropped);
	else
		snprintf(a, sizeof(a), "-");
	if (t->src.live)
		snprintf(b, sizeof(b), "%llu", (unsigned long long)(t->src.kernel_drops + t->src.if_drops));
	else
		snprintf(b, sizeof(b), "-");
	vsm_sb_printf(out, "  Drops: tap %s, kernel %s\n", a, b);
	vsm_sb_printf(out, "Sort: %s (%s)  Filter: %s - %zu of %zu connections\n", top_sorts[top_model_sort_key(m)].name,
		      top_model_sort_descending(m) ? "descending" : "ascending", *filter ? filter : "none",
		      top_model_count(m), top_model_total(m));
}

void top_keybar(struct vsm_strbuf *out, const struct top_keyhint *hints, size_t n, int width)
{
	bool keep[32];
	int used = 0;

	if (n > 32)
		n = 32;
	for (size_t i = 0; i < n; i++) {
		keep[i] = hints[i].text && *hints[i].text;
		used += keep[i] ? (int)strlen(hints[i].text) + (used ? 2 : 0) : 0;
	}
	/* The least important hint goes first, until the line fits; priority 0 ones (help, quit) stay. */
	while (width > 0 && used > width) {
		long drop = -1;

		for (size_t i = 0; i < n; i++)
			if (keep[i] && hints[i].priority > 0 && (drop < 0 || hints[i].priority < hints[drop].priority))
				drop = (long)i;
		if (drop < 0)
			break;
		keep[drop] = false;
		used -= (int)strlen(hints[drop].text) + 2;
	}
	for (size_t i = 0, first = 1; i < n; i++) {
		if (!keep[i])
			continue;
		vsm_sb_printf(out, "%s%s", first ? "" : "  ", hints[i].text);
		first = 0;
	}
}

/* ---- per-CID and devices ---- */

void top_cid_title(struct vsm_strbuf *out)
{
	vsm_sb_printf(out, "%-10s %6s %6s %7s %7s %7s %7s %7s %7s %6s %7s %8s", "CID", "CONNS", "OPEN", "STALLED", "TX/S",
		      "RX/S", "TX", "RX", "STALLT", "RESETS", "REFUSED", "PROBLEMS");
}

void top_cid_line(struct vsm_strbuf *out, const struct top_cid *c, bool numeric)
{
	struct vsm_strbuf name;
	char txs[16], rxs[16], tx[16], rx[16], st[16];

	vsm_sb_init(&name);
	vsm_print_cid(&name, c->cid, numeric);
	top_fmt_rate(txs, sizeof(txs), c->tx_bps);
	top_fmt_rate(rxs, sizeof(rxs), c->rx_bps);
	top_fmt_amount(tx, sizeof(tx), c->tx_bytes);
	top_fmt_amount(rx, sizeof(rx), c->rx_bytes);
	top_fmt_ns(st, sizeof(st), c->stall_ns);
	vsm_sb_printf(out, "%-10s %6llu %6llu %7llu %7s %7s %7s %7s %7s %6llu %7llu %8llu", name.data ? name.data : "?",
		      (unsigned long long)c->conns, (unsigned long long)c->open, (unsigned long long)c->stalled, txs, rxs,
		      tx, rx, st, (unsigned long long)c->resets, (unsigned long long)c->refused,
		      (unsigned long long)c->with_problems);
	vsm_sb_free(&name);
}

void top_device_title(struct vsm_strbuf *out)
{
	vsm_sb_printf(out, "%-6s %-4s %5s %8s %8s %9s %9s %5s %8s %7s %8s %6s", "CID", "ATT", "CONNS", "FROM-G/S", "TO-G/S",
		      "RXQ-OCC", "TXQ-OCC", "EMPTY", "EMPTY-T", "EXHAUST", "MAXWAIT", "RESETS");
}

static void queue_text(char *buf, size_t len, const struct top_device *d, int q)
{
	if (q < d->nqueues && d->queue[q].size)
		snprintf(buf, len, "%llu/%llu", (unsigned long long)d->queue[q].occupancy,
			 (unsigned long long)d->queue[q].size);
	else
		snprintf(buf, len, "-");
}

void top_device_line(struct vsm_strbuf *out, const struct top_device *d)
{
	char from[16], to[16], rxq[24], txq[24], et[16], mw[16];

	top_fmt_rate(from, sizeof(from), d->from_guest_pps);
	top_fmt_rate(to, sizeof(to), d->to_guest_pps);
	queue_text(rxq, sizeof(rxq), d, 0);
	queue_text(txq, sizeof(txq), d, 1);
	top_fmt_ns(et, sizeof(et), d->rx_empty_ns);
	top_fmt_ns(mw, sizeof(mw), d->rx_empty_max_ns);
	vsm_sb_printf(out, "%-6llu %-4s %5llu %8s %8s %9s %9s %5s %8s %7llu %8s %6llu", (unsigned long long)d->guest_cid,
		      d->attached ? (d->running ? "run" : "yes") : "no", (unsigned long long)d->connections, from, to, rxq,
		      txq, d->rx_empty_now ? "NOW" : "no", et, (unsigned long long)d->rx_empty_events, mw,
		      (unsigned long long)d->resets);
}

void top_device_summary(struct vsm_strbuf *out, const struct top_devices *devs, const char *path)
{
	if (!path) {
		vsm_sb_puts(out, "no device: vsocktop --device PATH reads vsockdev --stats PATH");
		return;
	}
	if (!devs->have) {
		vsm_sb_printf(out, "device %s: %s", path, devs->error[0] ? devs->error : "waiting for the statistics");
		return;
	}
	vsm_sb_printf(out, "device %s: vsockdev pid %llu, up %.1f s, %zu VM%s, tap sinks %zu: %llu frames, %llu dropped, %llu unobserved%s%s",
		      path, (unsigned long long)devs->pid, (double)devs->uptime_ns / 1e9, devs->nvm, devs->nvm == 1 ? "" : "s",
		      devs->ntap_sinks, (unsigned long long)devs->tap_frames, (unsigned long long)devs->tap_dropped,
		      (unsigned long long)devs->tap_unobserved, devs->error[0] ? "; last fetch: " : "", devs->error);
}

void top_device_events_text(struct vsm_strbuf *out, const struct top_device *d)
{
	for (int i = 0; i < d->nevents; i++) {
		const struct top_device_event *ev = &d->events[i];
		time_t sec = (time_t)(ev->ts_ns / 1000000000);
		struct tm tm;
		char when[16] = "?";

		if (localtime_r(&sec, &tm))
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
		/* "host": a host program's connection to a guest port; "guest": the guest's to a host port */
		vsm_sb_printf(out, "  %s CID %llu %s port %u: %s: %s%s%s%s\n", when, (unsigned long long)d->guest_cid,
			      strcmp(ev->side, "host") ? "guest to host" : "host to guest", ev->port, ev->reason, ev->why,
			      ev->detail[0] ? " (" : "", ev->detail, ev->detail[0] ? ")" : "");
	}
}

/* ---- the detail of one connection ---- */

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return vsm_ts_diff_ns(a, b);
}

static void endpoint(struct vsm_strbuf *out, const struct vsm_flow *f, int s, bool numeric)
{
	vsm_print_cid(out, f->key.cid[s], numeric);
	vsm_sb_printf(out, ":%u", f->key.port[s]);
}

static void direction(struct vsm_strbuf *out, const struct vsm_flow *f, int s, bool numeric)
{
	endpoint(out, f, s, numeric);
	vsm_sb_puts(out, " > ");
	endpoint(out, f, !s, numeric);
}

/* A row of the two-direction table: the field's name, then a value per direction. */
static void detail_row(struct vsm_strbuf *out, enum vsm_flow_field field, const char *v0, const char *v1)
{
	vsm_sb_printf(out, "  %-18s %22s %22s\n", vsm_flow_fields[field].key, v0, v1);
}

static void detail_u64(struct vsm_strbuf *out, enum vsm_flow_field field, uint64_t v0, uint64_t v1)
{
	char a[24], b[24];

	snprintf(a, sizeof(a), "%llu", (unsigned long long)v0);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v1);
	detail_row(out, field, a, b);
}

static void detail_ns(struct vsm_strbuf *out, enum vsm_flow_field field, uint64_t v0, uint64_t v1)
{
	char a[24], b[24];

	top_fmt_ns(a, sizeof(a), v0);
	top_fmt_ns(b, sizeof(b), v1);
	detail_row(out, field, a, b);
}

static const char *shutdown_text(uint32_t flags)
{
	switch (flags & (VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND)) {
	case VSM_SHUTDOWN_RCV: return "RCV";
	case VSM_SHUTDOWN_SEND: return "SEND";
	case VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND: return "RCV,SEND";
	default: return "-";
	}
}

static void credit_chart(struct vsm_strbuf *out, const struct vsm_flow *f, int s, bool numeric, int width)
{
	struct vsm_credit_sample smp[VSM_FLOW_SAMPLES];
	size_t n = vsm_flow_samples(f, s, smp);
	int64_t max = 1;
	int bar = width - 26;

	vsm_sb_puts(out, "Credit over time, ");
	direction(out, f, s, numeric);
	if (!n) {
		vsm_sb_puts(out, ": no samples (credit unknown or nothing sent)\n");
		return;
	}
	vsm_sb_printf(out, " (last %zu samples):\n", n);
	if (bar > 50)
		bar = 50;
	if (bar < 4)
		bar = 4;
	for (size_t i = 0; i < n; i++)
		if (smp[i].credit > max)
			max = smp[i].credit;
	for (size_t i = 0; i < n; i++) {
		char t[24], v[24];
		int fill = smp[i].credit <= 0 ? 0 : (int)((smp[i].credit * (int64_t)bar + max - 1) / max);

		top_fmt_ns(t, sizeof(t), (uint64_t)smp[i].ms * 1000000);
		if (!smp[i].ms)
			snprintf(t, sizeof(t), "0");
		/* The detail view gives exact values; the lists give human ones. */
		snprintf(v, sizeof(v), "%lld", (long long)smp[i].credit);
		vsm_sb_printf(out, "  +%-8s %7s |", t, v);
		for (int k = 0; k < bar; k++)
			vsm_sb_putc(out, k < fill ? '#' : smp[i].credit <= 0 && k == 0 ? '!' : ' ');
		vsm_sb_puts(out, "|\n");
	}
}

void top_detail(struct vsm_strbuf *out, const struct vsm_flow *f, const struct timespec *now, bool numeric, int width)
{
	struct vsm_flow_event ev[VSM_FLOW_EVENTS];
	size_t nev = vsm_flow_events(f, ev);
	const char *type = vsm_type_name(f->type);
	char v[2][24], dur[24], problems[256];
	struct vsm_strbuf hd[2];

	problems_text(problems, sizeof(problems), f->problems);
	top_fmt_ns(dur, sizeof(dur), (uint64_t)ns_between(&f->first, &f->last));
	vsm_sb_printf(out, "Connection %llu: ", (unsigned long long)f->id);
	endpoint(out, f, 0, numeric);
	vsm_sb_puts(out, " <> ");
	endpoint(out, f, 1, numeric);
	vsm_sb_printf(out, "  %s  %s  duration %s\n", type ? type : "unknown-type", vsm_flow_state_name(f->state), dur);
	vsm_sb_printf(out, "Problems: %s\n", problems);
	/* each problem in the words of problems.def, as vsockdump --flows and the dissector say it */
	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		const struct vsm_flow_problem_info *info = vsm_flow_problem_info(p);

		if (f->problems & (1u << p))
			vsm_sb_printf(out, "  %s: %s\n    check: %s\n", info->name, info->explanation, info->check);
	}
	vsm_sb_putc(out, '\n');
	for (int s = 0; s < 2; s++) {
		vsm_sb_init(&hd[s]);
		direction(&hd[s], f, s, numeric);
	}
	vsm_sb_printf(out, "  %-18s %22s %22s\n", "", hd[0].data ? hd[0].data : "", hd[1].data ? hd[1].data : "");
	vsm_sb_free(&hd[0]);
	vsm_sb_free(&hd[1]);
	detail_u64(out, VSM_FF_PKTS, f->side[0].pkts, f->side[1].pkts);
	detail_u64(out, VSM_FF_RW_PKTS, f->side[0].rw_pkts, f->side[1].rw_pkts);
	detail_u64(out, VSM_FF_BYTES, f->side[0].bytes, f->side[1].bytes);
	if (f->type == VSM_TYPE_SEQPACKET) {
		detail_u64(out, VSM_FF_MSGS, f->side[0].msgs, f->side[1].msgs);
		detail_u64(out, VSM_FF_MSGS_EOR, f->side[0].msgs_eor, f->side[1].msgs_eor);
		detail_u64(out, VSM_FF_MSG_MIN, f->side[0].msg_min, f->side[1].msg_min);
		detail_u64(out, VSM_FF_MSG_MAX, f->side[0].msg_max, f->side[1].msg_max);
	}
	detail_u64(out, VSM_FF_BUF_ALLOC, f->side[0].buf_alloc, f->side[1].buf_alloc);
	detail_u64(out, VSM_FF_FWD_CNT, f->side[0].fwd_cnt, f->side[1].fwd_cnt);
	for (int s = 0; s < 2; s++) {
		int64_t credit;
		uint32_t in_flight;

		if (vsm_flow_credit(f, s, &credit, &in_flight))
			snprintf(v[s], sizeof(v[s]), "%u", in_flight);
		else
			snprintf(v[s], sizeof(v[s]), "unknown");
	}
	detail_row(out, VSM_FF_IN_FLIGHT, v[0], v[1]);
	for (int s = 0; s < 2; s++) {
		int64_t credit;

		if (vsm_flow_credit(f, s, &credit, NULL))
			snprintf(v[s], sizeof(v[s]), "%lld", (long long)credit);
		else
			snprintf(v[s], sizeof(v[s]), "unknown");
	}
	detail_row(out, VSM_FF_CREDIT, v[0], v[1]);
	detail_row(out, VSM_FF_STALLED, f->side[0].stalled ? "yes" : "no", f->side[1].stalled ? "yes" : "no");
	detail_u64(out, VSM_FF_STALLS, f->side[0].stalls, f->side[1].stalls);
	detail_ns(out, VSM_FF_STALL_NS, vsm_flow_stall_ns(f, 0, now), vsm_flow_stall_ns(f, 1, now));
	detail_ns(out, VSM_FF_STALL_MAX_NS, f->side[0].stall_max_ns, f->side[1].stall_max_ns);
	{
		int64_t c0 = f->side[0].stalled ? ns_between(&f->side[0].stall_since, now) : 0;
		int64_t c1 = f->side[1].stalled ? ns_between(&f->side[1].stall_since, now) : 0;

		detail_ns(out, VSM_FF_STALL_NOW_NS, c0 > 0 ? (uint64_t)c0 : 0, c1 > 0 ? (uint64_t)c1 : 0);
	}
	detail_u64(out, VSM_FF_CREDIT_REQUESTS, f->side[0].credit_requests, f->side[1].credit_requests);
	detail_u64(out, VSM_FF_CREDIT_UNANSWERED, f->side[0].credit_unanswered, f->side[1].credit_unanswered);
	detail_u64(out, VSM_FF_CREDIT_UPDATES, f->side[0].credit_updates, f->side[1].credit_updates);
	detail_u64(out, VSM_FF_BUF_CHANGES, f->side[0].buf_changes, f->side[1].buf_changes);
	detail_row(out, VSM_FF_SHUTDOWN, shutdown_text(f->side[0].shutdown), shutdown_text(f->side[1].shutdown));
	vsm_sb_putc(out, '\n');
	for (int s = 0; s < 2; s++) {
		credit_chart(out, f, s, numeric, width);
		vsm_sb_putc(out, '\n');
	}
	vsm_sb_printf(out, "Events (last %zu of %u):\n", nev, f->nevents);
	if (!nev)
		vsm_sb_puts(out, "  none\n");
	for (size_t i = 0; i < nev; i++) {
		vsm_sb_puts(out, "  +");
		vsm_put_duration(out, (uint64_t)ns_between(&f->first, &ev[i].ts));
		vsm_sb_printf(out, " %s", vsm_flow_problem_name(ev[i].kind));
		if (ev[i].side >= 0) {
			vsm_sb_puts(out, " (");
			direction(out, f, ev[i].side, numeric);
			vsm_sb_putc(out, ')');
		}
		if (ev[i].kind == VSM_FE_STALL_END) {
			vsm_sb_puts(out, " after ");
			vsm_put_duration(out, ev[i].value);
		} else if (ev[i].kind == VSM_FP_BUF_CHANGE) {
			vsm_sb_printf(out, " to %llu", (unsigned long long)ev[i].value);
		}
		vsm_sb_putc(out, '\n');
	}
}
