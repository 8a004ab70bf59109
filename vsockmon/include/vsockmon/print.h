/* SPDX-License-Identifier: GPL-2.0-or-later */
/* print.h: the tcpdump-style text printer and the NDJSON printer of decoded packets. */
#ifndef VSOCKMON_PRINT_H
#define VSOCKMON_PRINT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <vsockmon/decode.h>
#include <vsockmon/flow.h>
#include <vsockmon/strbuf.h>

/* tcpdump's -t family. */
enum vsm_ts_format {
	VSM_TS_TIME,		/* default: 12:24:26.293638, UTC (local time with local_time) */
	VSM_TS_NONE,		/* -t */
	VSM_TS_EPOCH,		/* -tt: 1700000000.293638 */
	VSM_TS_DELTA,		/* -ttt: " 00:00:00.001550" since the previous packet */
	VSM_TS_DATE,		/* -tttt: 2026-11-21 12:24:26.293638 */
	VSM_TS_SINCE_FIRST,	/* -ttttt: since the first packet */
};

struct vsm_print_opts {
	int verbose;		/* 0 one line; 1 +buf_alloc/fwd_cnt; 2 +vsockmon header; 3 +credit */
	bool numeric;		/* -n: CIDs as numbers, not "host"/"local"/"hypervisor" */
	bool quiet;		/* -q: addresses, op and length only */
	int hex;		/* 1 -x payload hex; 2 -X hex and ASCII; 3 -xx whole frame hex; 4 -XX */
	bool ascii;		/* -A: the payload as text (when hex is 0) */
	enum vsm_ts_format ts_format;
	bool nsec;		/* nanosecond timestamps (--time-stamp-precision=nano) */
	bool local_time;	/* TS_TIME/TS_DATE in local time (TZ) instead of UTC: vsockdump's default, as tcpdump */
};

/* What a printer needs besides the packet. */
struct vsm_pkt_ctx {
	uint64_t num;				/* frame number, from 1 */
	struct timespec ts;
	struct timespec prev_ts, first_ts;	/* for -ttt and -ttttt */
	const struct vsm_flow *flow;		/* NULL when not tracked */
	const struct vsm_credit_view *credit;	/* NULL when not tracked */
};

/* Appends one packet as text (one or more lines, each ending in '\n'). */
void vsm_print_text(struct vsm_strbuf *out, const struct vsm_pkt *pkt, const struct vsm_pkt_ctx *ctx,
		    const struct vsm_print_opts *opts);

/* The JSON schema version of vsm_print_json's objects. */
#define VSM_JSON_SCHEMA 1

/*
 * Appends one NDJSON object for the packet: keys from fields.def in its order,
 * native numbers, "schema" first. Payload hex only when opts->hex.
 */
void vsm_print_json(struct vsm_strbuf *out, const struct vsm_pkt *pkt, const struct vsm_pkt_ctx *ctx,
		    const struct vsm_print_opts *opts);

/* Appends s as a JSON string literal, quotes included. */
void vsm_json_string(struct vsm_strbuf *out, const char *s);

/* Appends "CID" or its name ("host", "local", "hypervisor", "any") unless numeric. */
void vsm_print_cid(struct vsm_strbuf *out, uint64_t cid, bool numeric);

#endif
