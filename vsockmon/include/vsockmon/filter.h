/* SPDX-License-Identifier: GPL-2.0-or-later */
/* filter.h: the vsock filter language, compiled to a libpcap link[...] BPF program. */
#ifndef VSOCKMON_FILTER_H
#define VSOCKMON_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vsockmon/pcap.h>

/*
 * Grammar (words are case-insensitive; "&&", "||" and "!" are accepted for and, or, not):
 *   expr      := and_expr ( "or" and_expr )*
 *   and_expr  := unary ( "and" unary )*          (juxtaposition means "and", as in tcpdump)
 *   unary     := "not" unary | "(" expr ")" | primitive
 *   primitive := [ "src" | "dst" ] "cid" NUMBER
 *              | [ "src" | "dst" ] "port" NUMBER
 *              | "op" ( rw | request | response | rst | shutdown | credit_update | credit_request )
 *              | "type" ( stream | seqpacket )
 *              | "len" ( ">" | "<" | ">=" | "<=" | "=" | "==" | "!=" ) NUMBER
 * "cid"/"port" without src/dst match either end. "len" is the payload length in the virtio header.
 * NUMBER is decimal or 0x-hex. An empty expression matches everything.
 */

/*
 * The most primitives an expression may have: libpcap's optimizer takes over a second beyond about
 * 500 of them and minutes at 10,000; 256 compile in about 0.1 s.
 */
#define VSM_FILTER_MAX_TERMS 256

struct vsm_filter;

struct vsm_filter_error {
	size_t pos, len;	/* byte span of the offending word in the expression */
	char msg[256];		/* what is wrong and what was expected */
};

/* Compiles expr for frames of up to snaplen bytes. Returns 0, or -EINVAL with *ret_err filled. */
int vsm_filter_compile(const char *expr, uint32_t snaplen, struct vsm_filter **ret_filter,
		       struct vsm_filter_error *ret_err);
/* The libpcap filter text the expression compiled to ("" for match-all). */
const char *vsm_filter_pcap_text(const struct vsm_filter *filter);
/* The compiled program, a struct bpf_program * (void * keeps pcap.h out of this header). */
const void *vsm_filter_bpf(const struct vsm_filter *filter);
/* Runs the BPF program on a frame. */
bool vsm_filter_match(const struct vsm_filter *filter, const struct vsm_rec *rec);
void vsm_filter_free(struct vsm_filter *filter);

/* Formats "filter: MSG\n  EXPR\n  ^^^^" into buf, pointing at the offending word. */
void vsm_filter_error_format(const char *expr, const struct vsm_filter_error *err, char *buf, size_t len);

#endif
