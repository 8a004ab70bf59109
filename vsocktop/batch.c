/* SPDX-License-Identifier: GPL-2.0-or-later */
/* batch.c: vsocktop's frames as plain text (pw-top's batch mode) and as NDJSON snapshots. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/devcounters.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/print.h>
#include <vsockmon/timestamp.h>

#include "batch.h"

void top_batch_text(struct vsm_strbuf *out, const struct top_model *m, const struct top_frame_info *info)
{
	size_t n = top_model_count(m);
	struct top_layout l;

	top_header(out, m, info);
	vsm_sb_putc(out, '\n');
	/* Every column, sized to every row: a frame on paper has no edge. */
	top_layout(m, 0, n, 0, &l);
	top_table_title(out, m, &l, 0);
	vsm_sb_putc(out, '\n');
	for (size_t i = 0; i < n; i++) {
		top_table_line(out, top_model_row(m, i), &l);
		vsm_sb_putc(out, '\n');
	}
	vsm_sb_putc(out, '\n');
	top_cid_title(out);
	vsm_sb_putc(out, '\n');
	for (size_t i = 0; i < top_model_cid_count(m); i++) {
		top_cid_line(out, top_model_cid(m, i), info->numeric);
		vsm_sb_putc(out, '\n');
	}
	if (info->device) {
		const struct top_devices *d = top_model_devices(m);

		vsm_sb_putc(out, '\n');
		top_device_summary(out, d, info->device);
		vsm_sb_putc(out, '\n');
		top_device_title(out);
		vsm_sb_putc(out, '\n');
		for (size_t i = 0; i < d->nvm; i++) {
			top_device_line(out, &d->vm[i]);
			vsm_sb_putc(out, '\n');
		}
		for (size_t i = 0; i < d->nvm; i++) {
			if (!d->vm[i].nevents)
				continue;
			vsm_sb_printf(out, "Events of CID %llu (last %d of %llu):\n", (unsigned long long)d->vm[i].guest_cid,
				      d->vm[i].nevents, (unsigned long long)d->vm[i].events_total);
			top_device_events_text(out, &d->vm[i]);
		}
	}
	vsm_sb_putc(out, '\n');
}

/* ---- JSON ---- */

static void jtime(struct vsm_strbuf *out, const struct timespec *ts)
{
	vsm_ts_put_epoch(out, ts, true);
}

static void jrate(struct vsm_strbuf *out, const char *key, double v, bool first)
{
	vsm_sb_printf(out, "%s\"%s\":%.3f", first ? "" : ",", key, v);
}

static void ju64(struct vsm_strbuf *out, const char *key, uint64_t v, bool first)
{
	vsm_sb_printf(out, "%s\"%s\":%llu", first ? "" : ",", key, (unsigned long long)v);
}

static void jbool(struct vsm_strbuf *out, const char *key, bool v)
{
	vsm_sb_printf(out, ",\"%s\":%s", key, v ? "true" : "false");
}

static int cmp_row_id(const void *a, const void *b)
{
	const struct top_row *x = *(const struct top_row *const *)a, *y = *(const struct top_row *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* A flow object of vsockdump --flows --json, with vsocktop's "rates" added before its closing brace. */
static void flow_json(struct vsm_strbuf *out, const struct top_row *r, const struct vsm_flow *f, const struct timespec *now)
{
	size_t start = out->len;

	vsm_flow_json(out, f, now);
	if (out->len == start || out->data[out->len - 1] != '}')
		return;
	out->data[--out->len] = '\0';
	vsm_sb_puts(out, ",\"rates\":{\"a_to_b\":{");
	jrate(out, "pkts", r->dir[0].pps, true);
	jrate(out, "bytes", r->dir[0].bps, false);
	vsm_sb_puts(out, "},\"b_to_a\":{");
	jrate(out, "pkts", r->dir[1].pps, true);
	jrate(out, "bytes", r->dir[1].bps, false);
	vsm_sb_puts(out, "}}}");
}

static void cid_json(struct vsm_strbuf *out, const struct top_cid *c)
{
	vsm_sb_putc(out, '{');
	ju64(out, "cid", c->cid, true);
	ju64(out, "conns", c->conns, false);
	ju64(out, "open", c->open, false);
	ju64(out, "stalled", c->stalled, false);
	ju64(out, "with_problems", c->with_problems, false);
	ju64(out, "conns_total", c->conns_total, false);
	ju64(out, "resets", c->resets, false);
	ju64(out, "refused", c->refused, false);
	ju64(out, "tx_pkts", c->tx_pkts, false);
	ju64(out, "tx_bytes", c->tx_bytes, false);
	ju64(out, "rx_pkts", c->rx_pkts, false);
	ju64(out, "rx_bytes", c->rx_bytes, false);
	ju64(out, "stall_ns", c->stall_ns, false);
	vsm_sb_puts(out, ",\"rates\":{");
	jrate(out, "tx_pkts", c->tx_pps, true);
	jrate(out, "tx_bytes", c->tx_bps, false);
	jrate(out, "rx_pkts", c->rx_pps, false);
	jrate(out, "rx_bytes", c->rx_bps, false);
	vsm_sb_puts(out, "}}");
}

/* vsockdev's counters in vsocktop's JSON, in its order: which (devcounters.def) and where vsocktop keeps it. */
struct shown_counter {
	enum vsm_dev_counter id;
	size_t off;			/* of its uint64_t in struct top_queue or struct top_device */
};

static const struct shown_counter queue_shown[] = {
	{ VSM_DC_Q_SIZE, offsetof(struct top_queue, size) },
	{ VSM_DC_Q_OCCUPANCY, offsetof(struct top_queue, occupancy) },
	{ VSM_DC_Q_IN_FLIGHT, offsetof(struct top_queue, in_flight) },
	{ VSM_DC_Q_AVAIL_IDX, offsetof(struct top_queue, avail_idx) },
	{ VSM_DC_Q_USED_IDX, offsetof(struct top_queue, used_idx) },
	{ VSM_DC_Q_KICKS, offsetof(struct top_queue, kicks) },
	{ VSM_DC_Q_CALLS, offsetof(struct top_queue, calls) },
};

static const struct shown_counter packets_shown[] = {
	{ VSM_DC_FROM_GUEST, offsetof(struct top_device, from_guest) },
	{ VSM_DC_FROM_GUEST_BYTES, offsetof(struct top_device, from_guest_bytes) },
	{ VSM_DC_TO_GUEST, offsetof(struct top_device, to_guest) },
	{ VSM_DC_TO_GUEST_BYTES, offsetof(struct top_device, to_guest_bytes) },
	{ VSM_DC_SPLIT, offsetof(struct top_device, split) },
	{ VSM_DC_MALFORMED, offsetof(struct top_device, malformed) },
};

/* "key":value of each counter shown, the first with no comma before it when first. */
static void shown_json(struct vsm_strbuf *out, const void *base, const struct shown_counter *shown, size_t n, bool first)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v;

		memcpy(&v, (const char *)base + shown[i].off, sizeof(v));
		ju64(out, vsm_dev_counters[shown[i].id].key, v, first && i == 0);
	}
}

/* A VM as vsocktop shows it: vsockdev's names (devcounters.def), a part of its document, and the rates. */
static void device_json(struct vsm_strbuf *out, const struct top_device *d)
{
	vsm_sb_putc(out, '{');
	ju64(out, VSM_DC_KEY(GUEST_CID), d->guest_cid, true);
	vsm_sb_printf(out, ",\"%s\":", VSM_DC_KEY(SOCKET));
	vsm_json_string(out, d->socket);
	jbool(out, VSM_DC_KEY(ATTACHED), d->attached);
	jbool(out, VSM_DC_KEY(RUNNING), d->running);
	ju64(out, VSM_DC_KEY(CONNECTIONS), d->connections, false);
	vsm_sb_printf(out, ",\"%s\":[", VSM_DG_KEY(QUEUE));
	for (int q = 0; q < d->nqueues; q++) {
		const struct top_queue *qu = &d->queue[q];

		vsm_sb_printf(out, "%s{\"%s\":", q ? "," : "", VSM_DC_KEY(Q_NAME));
		vsm_json_string(out, qu->name);
		shown_json(out, qu, queue_shown, sizeof(queue_shown) / sizeof(queue_shown[0]), false);
		vsm_sb_putc(out, '}');
	}
	vsm_sb_printf(out, "],\"%s\":{", VSM_DG_KEY(RX_EMPTY));
	ju64(out, VSM_DC_KEY(RX_EMPTY_EVENTS), d->rx_empty_events, true);
	ju64(out, VSM_DC_KEY(RX_EMPTY_NS), d->rx_empty_ns, false);
	ju64(out, VSM_DC_KEY(RX_EMPTY_MAX_NS), d->rx_empty_max_ns, false);
	jbool(out, VSM_DC_KEY(RX_EMPTY_NOW), d->rx_empty_now);
	vsm_sb_printf(out, "},\"%s\":{", VSM_DG_KEY(PACKETS));
	shown_json(out, d, packets_shown, sizeof(packets_shown) / sizeof(packets_shown[0]), true);
	vsm_sb_puts(out, "},\"rates\":{");
	jrate(out, "from_guest_pkts", d->from_guest_pps, true);
	jrate(out, "from_guest_bytes", d->from_guest_bps, false);
	jrate(out, "to_guest_pkts", d->to_guest_pps, false);
	jrate(out, "to_guest_bytes", d->to_guest_bps, false);
	vsm_sb_putc(out, '}');
	ju64(out, VSM_DC_KEY(SESSIONS), d->sessions, false);
	ju64(out, VSM_DC_KEY(RESETS), d->resets, false);
	vsm_sb_printf(out, ",\"%s\":", VSM_DC_KEY(LAST_ERROR));
	vsm_json_string(out, d->last_error);
	vsm_sb_putc(out, '}');
}

void top_batch_json(struct vsm_strbuf *out, const struct top_model *m, const struct vsm_flows *flows,
		    const struct top_frame_info *info)
{
	const struct top_totals *t = top_model_totals(m);
	size_t n = top_model_count(m);
	const struct top_row **rows = malloc((n ? n : 1) * sizeof(*rows));

	vsm_sb_printf(out, "{\"schema\":%d,\"kind\":\"snapshot\",\"ts\":", TOP_SNAPSHOT_SCHEMA);
	jtime(out, &t->now);
	vsm_sb_printf(out, ",\"interval\":%.6f,\"source\":", t->interval);
	vsm_json_string(out, info->source ? info->source : "");
	jbool(out, "capture_time", info->capture);
	jbool(out, "end", info->ended);
	vsm_sb_puts(out, ",\"filter\":");
	vsm_json_string(out, top_model_filter(m));
	vsm_sb_puts(out, ",\"totals\":");
	vsm_totals_json(out, &t->t);
	vsm_sb_puts(out, ",\"rates\":{");
	jrate(out, "pkts", t->pps, true);
	jrate(out, "bytes", t->bps, false);
	vsm_sb_puts(out, "},\"drops\":{\"kernel\":");
	if (t->src.live)
		vsm_sb_u64(out, t->src.kernel_drops + t->src.if_drops);
	else
		vsm_sb_puts(out, "null");
	vsm_sb_puts(out, ",\"tap\":");
	if (info->device && top_model_devices(m)->have)
		vsm_sb_u64(out, top_model_devices(m)->tap_dropped);
	else
		vsm_sb_puts(out, "null");
	vsm_sb_printf(out, "},\"shown\":%zu,\"flows\":[", n);
	if (rows) {
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			rows[i] = top_model_row(m, i);
		/* The order vsockdump --flows uses, whatever the display's sort. */
		qsort(rows, n, sizeof(*rows), cmp_row_id);
		for (size_t i = 0; i < n; i++) {
			const struct vsm_flow *f = vsm_flows_find(flows, &rows[i]->key);

			if (!f || f->id != rows[i]->id)
				continue;
			if (k++)
				vsm_sb_putc(out, ',');
			flow_json(out, rows[i], f, &t->now);
		}
	}
	free(rows);
	vsm_sb_puts(out, "],\"cids\":[");
	for (size_t i = 0; i < top_model_cid_count(m); i++) {
		if (i)
			vsm_sb_putc(out, ',');
		cid_json(out, top_model_cid(m, i));
	}
	vsm_sb_putc(out, ']');
	if (info->device) {
		const struct top_devices *d = top_model_devices(m);

		vsm_sb_puts(out, ",\"devices\":[");
		for (size_t i = 0; i < d->nvm; i++) {
			if (i)
				vsm_sb_putc(out, ',');
			device_json(out, &d->vm[i]);
		}
		vsm_sb_puts(out, "],\"device_error\":");
		vsm_json_string(out, d->error);
	}
	vsm_sb_puts(out, "}\n");
}
