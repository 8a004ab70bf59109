/* SPDX-License-Identifier: GPL-2.0-or-later */
/* print.c: tcpdump-style text lines for decoded vsock packets, labels taken from the field table. */
#include <vsockmon/fields.h>
#include <vsockmon/print.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

#include "printutil.h"

void vsm_print_cid(struct vsm_strbuf *out, uint64_t cid, bool numeric)
{
	if (!numeric) {
		switch (cid) {
		case VSM_CID_HYPERVISOR: vsm_sb_puts(out, "hypervisor"); return;
		case VSM_CID_LOCAL: vsm_sb_puts(out, "local"); return;
		case VSM_CID_HOST: vsm_sb_puts(out, "host"); return;
		case VSM_CID_ANY: vsm_sb_puts(out, "any"); return;
		default: break;
		}
	}
	vsm_sb_u64(out, cid);
}

void vsm_put_name(struct vsm_strbuf *out, const char *name, const char *what, uint32_t v)
{
	if (name) {
		vsm_sb_puts(out, name);
	} else {
		vsm_sb_puts(out, what);
		vsm_sb_putc(out, '(');
		vsm_sb_u64(out, v);
		vsm_sb_putc(out, ')');
	}
}

static void put_timestamp(struct vsm_strbuf *out, const struct vsm_pkt_ctx *c, const struct vsm_print_opts *o)
{
	switch (o->ts_format) {
	case VSM_TS_NONE:
		return;
	case VSM_TS_EPOCH:
		vsm_ts_put_epoch(out, &c->ts, o->nsec);
		break;
	case VSM_TS_DELTA:
		vsm_ts_put_offset(out, vsm_ts_diff_ns(&c->prev_ts, &c->ts), o->nsec);
		break;
	case VSM_TS_SINCE_FIRST:
		vsm_ts_put_offset(out, vsm_ts_diff_ns(&c->first_ts, &c->ts), o->nsec);
		break;
	case VSM_TS_DATE:
		vsm_ts_put_clock(out, &c->ts, true, o->local_time, o->nsec);
		break;
	case VSM_TS_TIME:
	default:
		vsm_ts_put_clock(out, &c->ts, false, o->local_time, o->nsec);
		break;
	}
	vsm_sb_putc(out, ' ');
}

/* " [EOM,EOR]" for the flags that are set; nothing when none are. */
static void put_flags(struct vsm_strbuf *out, const struct vsm_virtio_hdr *h)
{
	const char *names[32];
	char scratch[32][12];
	size_t n;

	if (!h->flags)
		return;
	n = vsm_flag_names(h->op, h->type, h->flags, names, 32, scratch);
	vsm_sb_puts(out, " [");
	for (size_t i = 0; i < n && i < 32; i++) {
		if (i)
			vsm_sb_putc(out, ',');
		vsm_sb_puts(out, names[i]);
	}
	vsm_sb_putc(out, ']');
}

/* ", key value" with the key from the field table. */
static void put_u64_field(struct vsm_strbuf *out, enum vsm_field field, uint64_t v)
{
	vsm_sb_puts(out, ", ");
	vsm_sb_puts(out, vsm_fields[field].key);
	vsm_sb_putc(out, ' ');
	vsm_sb_u64(out, v);
}

static void put_str_field(struct vsm_strbuf *out, enum vsm_field field, const char *name, const char *what,
			  uint32_t v)
{
	vsm_sb_puts(out, ", ");
	vsm_sb_puts(out, vsm_fields[field].key);
	vsm_sb_putc(out, ' ');
	vsm_put_name(out, name, what, v);
}

void vsm_put_problems(struct vsm_strbuf *out, uint32_t problems)
{
	bool first = true;

	for (unsigned i = 0; i < VSM_PROB_COUNT; i++) {
		if (!(problems & (1u << i)))
			continue;
		if (!first)
			vsm_sb_putc(out, ',');
		vsm_sb_puts(out, vsm_problem_name(1u << i));
		first = false;
	}
}

static void put_credit(struct vsm_strbuf *out, const struct vsm_credit_view *v)
{
	vsm_sb_puts(out, ", ");
	vsm_sb_puts(out, VSM_KEY(CREDIT));
	if (!v || !v->known) {
		vsm_sb_puts(out, " unknown");
		return;
	}
	vsm_sb_putc(out, ' ');
	vsm_sb_i64(out, v->credit);
	vsm_sb_puts(out, ", ");
	vsm_sb_puts(out, VSM_KEY(IN_FLIGHT));
	vsm_sb_putc(out, ' ');
	vsm_sb_u64(out, v->in_flight);
	if (v->window_full) {
		vsm_sb_puts(out, " [");
		vsm_sb_puts(out, VSM_KEY(WINDOW_FULL));
		vsm_sb_putc(out, ']');
	}
	if (v->exceeded) {
		vsm_sb_puts(out, " [");
		vsm_sb_puts(out, VSM_KEY(CREDIT_EXCEEDED));
		vsm_sb_putc(out, ']');
	}
}

/* tcpdump's hex dump: "\t0x0000:  4865 6c6c 6f0a" with 16 bytes a line, ASCII when asked. */
static void put_hex_dump(struct vsm_strbuf *out, const uint8_t *p, uint32_t n, bool ascii)
{
	static const char digits[] = "0123456789abcdef";

	for (uint32_t off = 0; off < n; off += 16) {
		uint32_t line = n - off < 16 ? n - off : 16;

		vsm_sb_puts(out, "\t0x");
		vsm_sb_putc(out, digits[(off >> 12) & 0xf]);
		vsm_sb_putc(out, digits[(off >> 8) & 0xf]);
		vsm_sb_putc(out, digits[(off >> 4) & 0xf]);
		vsm_sb_putc(out, digits[off & 0xf]);
		vsm_sb_puts(out, ": ");
		for (uint32_t i = 0; i < 16; i++) {
			if (i % 2 == 0)
				vsm_sb_putc(out, ' ');
			if (i < line) {
				vsm_sb_putc(out, digits[p[off + i] >> 4]);
				vsm_sb_putc(out, digits[p[off + i] & 0xf]);
			} else if (ascii) {
				vsm_sb_puts(out, "  ");
			}
		}
		if (ascii) {
			vsm_sb_puts(out, "  ");
			for (uint32_t i = 0; i < line; i++) {
				uint8_t c = p[off + i];

				vsm_sb_putc(out, c >= 0x20 && c < 0x7f ? (char)c : '.');
			}
		} else {
			/* no trailing blanks on a short last line */
			while (out->len && out->data[out->len - 1] == ' ')
				out->len--;
		}
		vsm_sb_putc(out, '\n');
	}
}

/*
 * tcpdump -A's text: printable bytes, spaces, tabs and newlines as they are, any other byte as '.',
 * and a carriage return before a newline dropped, so CRLF text reads as lines. The dump ends with a
 * newline, so the next packet's line starts on its own.
 */
static void put_ascii_dump(struct vsm_strbuf *out, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		vsm_sb_putc(out, (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' ? (char)c : '.');
	}
	if (n && p[n - 1] != '\n')
		vsm_sb_putc(out, '\n');
}

/* What a frame cut inside the vsockmon header still tells: "3:1 > 2:? " with '?' for the missing. */
static void put_partial_addresses(struct vsm_strbuf *out, const struct vsm_pkt *pkt, const struct vsm_print_opts *o)
{
	static const uint32_t offs[4] = { VSM_OFF_MON_SRC_CID, VSM_OFF_MON_SRC_PORT, VSM_OFF_MON_DST_CID,
					  VSM_OFF_MON_DST_PORT };
	static const uint32_t sizes[4] = { 8, 4, 8, 4 };
	static const char *const seps[4] = { ":", " > ", ":", " " };

	if (!vsm_pkt_has_mon_field(pkt, 0, 8))
		return;
	for (int i = 0; i < 4; i++) {
		if (!vsm_pkt_has_mon_field(pkt, offs[i], sizes[i]))
			vsm_sb_putc(out, '?');
		else if (i % 2 == 0)
			vsm_print_cid(out, i == 0 ? pkt->src_cid : pkt->dst_cid, o->numeric);
		else
			vsm_sb_u64(out, i == 1 ? pkt->src_port : pkt->dst_port);
		vsm_sb_puts(out, seps[i]);
	}
}

void vsm_print_text(struct vsm_strbuf *out, const struct vsm_pkt *pkt, const struct vsm_pkt_ctx *ctx,
		    const struct vsm_print_opts *opts)
{
	const struct vsm_virtio_hdr *h = &pkt->virtio;

	put_timestamp(out, ctx, opts);
	if (pkt->cap_len < VSM_MON_HDR_LEN) {
		put_partial_addresses(out, pkt, opts);
		vsm_sb_puts(out, "[|vsock] caplen ");
		vsm_sb_u64(out, pkt->cap_len);
		vsm_sb_puts(out, " [problems: truncated]\n");
		return;
	}
	vsm_print_cid(out, pkt->src_cid, opts->numeric);
	vsm_sb_putc(out, ':');
	vsm_sb_u64(out, pkt->src_port);
	vsm_sb_puts(out, " > ");
	vsm_print_cid(out, pkt->dst_cid, opts->numeric);
	vsm_sb_putc(out, ':');
	vsm_sb_u64(out, pkt->dst_port);
	vsm_sb_putc(out, ' ');
	if (pkt->has_virtio) {
		if (!opts->quiet) {
			vsm_put_name(out, vsm_type_name(h->type), "type", h->type);
			vsm_sb_putc(out, ' ');
		}
		vsm_put_name(out, vsm_op_name(h->op), "op", h->op);
		if (!opts->quiet)
			put_flags(out, h);
	} else {
		/* No virtio header: all we know is the monitor's view. */
		vsm_put_name(out, vsm_transport_name(pkt->transport), "transport", pkt->transport);
		vsm_sb_putc(out, ' ');
		vsm_put_name(out, vsm_mon_op_name(pkt->mon_op), "mon_op", pkt->mon_op);
	}
	vsm_sb_puts(out, ", length ");
	vsm_sb_u64(out, vsm_pkt_payload_len(pkt));
	if (!opts->quiet && opts->verbose >= 1 && pkt->has_virtio) {
		put_u64_field(out, VSM_F_BUF_ALLOC, h->buf_alloc);
		put_u64_field(out, VSM_F_FWD_CNT, h->fwd_cnt);
	}
	if (!opts->quiet && opts->verbose >= 2) {
		put_str_field(out, VSM_F_MON_OP, vsm_mon_op_name(pkt->mon_op), "mon_op", pkt->mon_op);
		put_str_field(out, VSM_F_TRANSPORT, vsm_transport_name(pkt->transport), "transport", pkt->transport);
		put_u64_field(out, VSM_F_TP_LEN, pkt->tp_len);
		if (pkt->has_virtio && h->flags)
			put_u64_field(out, VSM_F_FLAGS, h->flags);
		put_u64_field(out, VSM_F_WIRELEN, pkt->wire_len);
		if (pkt->cap_len != pkt->wire_len)
			put_u64_field(out, VSM_F_CAPLEN, pkt->cap_len);
	}
	if (!opts->quiet && opts->verbose >= 3 && pkt->has_virtio)
		put_credit(out, ctx->credit);
	if (pkt->problems) {
		vsm_sb_puts(out, " [");
		vsm_sb_puts(out, VSM_KEY(PROBLEMS));
		vsm_sb_puts(out, ": ");
		vsm_put_problems(out, pkt->problems);
		vsm_sb_putc(out, ']');
	}
	vsm_sb_putc(out, '\n');
	if (opts->hex >= 3)
		put_hex_dump(out, pkt->frame, pkt->cap_len, opts->hex == 4);
	else if (opts->hex && pkt->payload && pkt->payload_caplen)
		put_hex_dump(out, pkt->payload, pkt->payload_caplen, opts->hex == 2);
	else if (opts->ascii && pkt->payload && pkt->payload_caplen)
		put_ascii_dump(out, pkt->payload, pkt->payload_caplen);
}
