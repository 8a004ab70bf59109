/* SPDX-License-Identifier: GPL-2.0-or-later */
/* json.c: one NDJSON object per packet, keys and their order from fields.def. */
#include <vsockmon/fields.h>
#include <vsockmon/print.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "printutil.h"

void vsm_json_string(struct vsm_strbuf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	vsm_sb_putc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			vsm_sb_putc(out, '\\');
			vsm_sb_putc(out, (char)c);
		} else if (c < 0x20) {
			vsm_sb_puts(out, "\\u00");
			vsm_sb_putc(out, hex[c >> 4]);
			vsm_sb_putc(out, hex[c & 0xf]);
		} else {
			vsm_sb_putc(out, (char)c);
		}
	}
	vsm_sb_putc(out, '"');
}

/* ,"key": for every field, made at compile time from the same table. */
static const struct {
	const char *text;
	size_t len;
} json_keys[VSM_F_COUNT] = {
#define X(id, key, kind, desc) [VSM_F_##id] = { ",\"" key "\":", sizeof(",\"" key "\":") - 1 },
#include <vsockmon/fields.def>
#undef X
};

static void key(struct vsm_strbuf *out, enum vsm_field field)
{
	vsm_sb_putn(out, json_keys[field].text, json_keys[field].len);
}

static void u64_field(struct vsm_strbuf *out, enum vsm_field field, uint64_t v)
{
	key(out, field);
	vsm_sb_u64(out, v);
}

static void null_field(struct vsm_strbuf *out, enum vsm_field field)
{
	key(out, field);
	vsm_sb_puts(out, "null");
}

static void bool_field(struct vsm_strbuf *out, enum vsm_field field, bool v)
{
	key(out, field);
	vsm_sb_puts(out, v ? "true" : "false");
}

/* Names as strings; a value with no name is written "what(N)" like the text printer does. */
static void name_field(struct vsm_strbuf *out, enum vsm_field field, const char *name, const char *what,
		       uint32_t v)
{
	key(out, field);
	vsm_sb_putc(out, '"');
	vsm_put_name(out, name, what, v);
	vsm_sb_putc(out, '"');
}

static void flag_names_field(struct vsm_strbuf *out, const struct vsm_virtio_hdr *h)
{
	const char *names[32];
	char scratch[32][12];
	size_t n = h->flags ? vsm_flag_names(h->op, h->type, h->flags, names, 32, scratch) : 0;

	key(out, VSM_F_FLAG_NAMES);
	vsm_sb_putc(out, '[');
	for (size_t i = 0; i < n && i < 32; i++) {
		if (i)
			vsm_sb_putc(out, ',');
		vsm_json_string(out, names[i]);
	}
	vsm_sb_putc(out, ']');
}

static void problems_field(struct vsm_strbuf *out, uint32_t problems)
{
	bool first = true;

	key(out, VSM_F_PROBLEMS);
	vsm_sb_putc(out, '[');
	for (unsigned i = 0; i < VSM_PROB_COUNT; i++) {
		if (!(problems & (1u << i)))
			continue;
		if (!first)
			vsm_sb_putc(out, ',');
		vsm_json_string(out, vsm_problem_name(1u << i));
		first = false;
	}
	vsm_sb_putc(out, ']');
}

static void payload_field(struct vsm_strbuf *out, const uint8_t *p, uint32_t n)
{
	static const char hex[] = "0123456789abcdef";

	key(out, VSM_F_PAYLOAD);
	vsm_sb_putc(out, '"');
	if (vsm_sb_reserve(out, 2 * (size_t)n) == 0) {
		for (uint32_t i = 0; i < n; i++) {
			out->data[out->len++] = hex[p[i] >> 4];
			out->data[out->len++] = hex[p[i] & 0xf];
		}
	}
	vsm_sb_putc(out, '"');
}

void vsm_print_json(struct vsm_strbuf *out, const struct vsm_pkt *pkt, const struct vsm_pkt_ctx *ctx,
		    const struct vsm_print_opts *opts)
{
	const struct vsm_virtio_hdr *h = &pkt->virtio;
	const struct vsm_credit_view *cv = ctx->credit;
	/* Each monitor field whose bytes were captured, null for the others. */
	static const struct { enum vsm_field field; uint32_t off, size; } mon_fields[] = {
		{ VSM_F_SRC_CID, VSM_OFF_MON_SRC_CID, 8 }, { VSM_F_SRC_PORT, VSM_OFF_MON_SRC_PORT, 4 },
		{ VSM_F_DST_CID, VSM_OFF_MON_DST_CID, 8 }, { VSM_F_DST_PORT, VSM_OFF_MON_DST_PORT, 4 },
		{ VSM_F_MON_OP, VSM_OFF_MON_OP, 2 }, { VSM_F_TRANSPORT, VSM_OFF_MON_TRANSPORT, 2 },
		{ VSM_F_TP_LEN, VSM_OFF_MON_LEN, 2 },
	};

	vsm_sb_puts(out, "{\"schema\":");
	vsm_sb_u64(out, VSM_JSON_SCHEMA);
	u64_field(out, VSM_F_NUM, ctx->num);
	key(out, VSM_F_TS);
	vsm_ts_put_epoch(out, &ctx->ts, opts->nsec);
	u64_field(out, VSM_F_CAPLEN, pkt->cap_len);
	u64_field(out, VSM_F_WIRELEN, pkt->wire_len);
	for (size_t i = 0; i < sizeof(mon_fields) / sizeof(mon_fields[0]); i++) {
		enum vsm_field f = mon_fields[i].field;

		if (!vsm_pkt_has_mon_field(pkt, mon_fields[i].off, mon_fields[i].size))
			null_field(out, f);
		else if (f == VSM_F_MON_OP)
			name_field(out, f, vsm_mon_op_name(pkt->mon_op), "mon_op", pkt->mon_op);
		else if (f == VSM_F_TRANSPORT)
			name_field(out, f, vsm_transport_name(pkt->transport), "transport", pkt->transport);
		else
			u64_field(out, f, f == VSM_F_SRC_CID ? pkt->src_cid : f == VSM_F_DST_CID ? pkt->dst_cid :
				  f == VSM_F_SRC_PORT ? pkt->src_port : f == VSM_F_DST_PORT ? pkt->dst_port :
				  pkt->tp_len);
	}
	if (pkt->has_virtio) {
		name_field(out, VSM_F_TYPE, vsm_type_name(h->type), "type", h->type);
		name_field(out, VSM_F_OP, vsm_op_name(h->op), "op", h->op);
		u64_field(out, VSM_F_FLAGS, h->flags);
		flag_names_field(out, h);
		u64_field(out, VSM_F_LEN, h->len);
		u64_field(out, VSM_F_BUF_ALLOC, h->buf_alloc);
		u64_field(out, VSM_F_FWD_CNT, h->fwd_cnt);
	} else {
		for (enum vsm_field f = VSM_F_TYPE; f <= VSM_F_FWD_CNT; f++)
			null_field(out, f);
	}
	u64_field(out, VSM_F_PAYLOAD_CAPLEN, pkt->payload_caplen);
	if (cv && cv->known) {
		key(out, VSM_F_CREDIT);
		vsm_sb_i64(out, cv->credit);
		u64_field(out, VSM_F_IN_FLIGHT, cv->in_flight);
	} else {
		null_field(out, VSM_F_CREDIT);
		null_field(out, VSM_F_IN_FLIGHT);
	}
	bool_field(out, VSM_F_WINDOW_FULL, cv && cv->window_full);
	bool_field(out, VSM_F_CREDIT_EXCEEDED, cv && cv->exceeded);
	problems_field(out, pkt->problems);
	if (opts->hex && pkt->payload)
		payload_field(out, pkt->payload, pkt->payload_caplen);
	vsm_sb_puts(out, "}\n");
}
