/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-capture.c: any bytes as a capture file: the pcap and pcapng reader, the decoder, every printer and the flow analysis. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vsockmon/vsockmon.h>

#include "fuzz.h"

/*
 * Input: the file's bytes, as they are (pcap or pcapng; tests/fuzz/corpus-capture holds seeds: the
 * crafted clocks of tests/badtime/mkbadtime.py and small captures of tests/golden). Each frame the
 * reader returns is decoded and printed as text at every verbosity, the time format, hex dump and
 * name options turning with the frame number, and as JSON; it feeds the flow analysis, whose
 * connections are printed at the end as text and JSON. Checked: the reader never returns a time
 * outside timestamp.h's bounds or a frame longer than its cap; problems stay inside the vocabulary;
 * every printed line ends in a newline and a date has a four-digit year. ASan and UBSan do the rest.
 * FUZZ_TRACE=1 prints the output.
 */

#define MAX_FRAMES 2000
#define MAX_FLOWS 64

static void check_text(const struct vsm_strbuf *sb)
{
	check(!sb->oom);
	check(sb->len == 0 || sb->data[sb->len - 1] == '\n');
	check(strlen(sb->data ? sb->data : "") == sb->len);
}

static void trace(const struct vsm_strbuf *sb)
{
	if (getenv("FUZZ_TRACE") && sb->data)
		fputs(sb->data, stderr);
}

static void print_frame(const struct vsm_pkt *pkt, const struct vsm_pkt_ctx *ctx, uint64_t n)
{
	struct vsm_print_opts o = {
		.ts_format = (enum vsm_ts_format)(n % 6),
		.numeric = n & 1,
		.nsec = n & 2,
		.hex = (int)(n / 6 % 5),
		.quiet = n % 7 == 3,
	};
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	for (o.verbose = 0; o.verbose <= 3; o.verbose++) {
		vsm_print_text(&sb, pkt, ctx, &o);
		check_text(&sb);
	}
	if (o.ts_format == VSM_TS_DATE) {
		/* "YYYY-MM-DD " at the start: the year is four digits (not 20, as once). */
		check(sb.len > 11 && sb.data[4] == '-' && sb.data[7] == '-' && sb.data[10] == ' ');
	}
	o.hex = (int)(n % 2);
	vsm_print_json(&sb, pkt, ctx, &o);
	vsm_sb_putc(&sb, '\n');
	check_text(&sb);
	trace(&sb);
	vsm_sb_free(&sb);
}

static void print_flows(struct vsm_flows *flows, const struct timespec *now)
{
	const struct vsm_flow *list[MAX_FLOWS];
	size_t n = vsm_flows_list(flows, list, MAX_FLOWS);
	struct vsm_strbuf sb;

	vsm_sb_init(&sb);
	for (size_t i = 0; i < n; i++) {
		vsm_flow_text(&sb, list[i], now, i & 1);
		vsm_flow_json(&sb, list[i], now);
		vsm_sb_putc(&sb, '\n');
		check_text(&sb);
		/* Durations are bounded by the times, which are bounded. */
		check(vsm_ts_diff_ns(&list[i]->first, &list[i]->last) <= (VSM_TS_MAX_SEC + 1) * INT64_C(1000000000));
	}
	trace(&sb);
	vsm_sb_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vsm_pkt_ctx ctx = { 0 };
	struct vsm_pcap_reader *reader;
	struct vsm_flows *flows;
	struct vsm_rec rec;
	struct timespec last = { 0 };
	char path[64], err[512];
	uint64_t n = 0;
	int fd, ret;

	fd = memfd_create("fuzz-capture", 0);
	check(fd >= 0);
	check(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ret = vsm_pcap_open(path, &reader, err, sizeof(err));
	close(fd);
	if (ret < 0) {
		check(ret == -EINVAL || ret == -EPROTONOSUPPORT || ret == -ENODATA || ret == -ENOMEM);
		check(err[0]);
		return 0;
	}
	check(vsm_flows_new(MAX_FLOWS, &flows) == 0);
	while (n < MAX_FRAMES && (ret = vsm_pcap_next(reader, &rec)) > 0) {
		struct vsm_credit_view view;
		struct vsm_pkt pkt;

		check(rec.ts.tv_sec >= VSM_TS_MIN_SEC && rec.ts.tv_sec <= VSM_TS_MAX_SEC);
		check(rec.ts.tv_nsec >= 0 && rec.ts.tv_nsec < 1000000000);
		check(rec.cap_len == 0 || rec.data);
		check(vsm_decode_rec(&rec, &pkt) == 0);
		check(!(pkt.problems >> VSM_PROB_COUNT));
		check(pkt.payload_caplen <= rec.cap_len);
		ctx.num = ++n;
		if (n == 1)
			ctx.first_ts = ctx.prev_ts = rec.ts;
		ctx.ts = rec.ts;
		ctx.flow = pkt.has_virtio ? vsm_flows_update(flows, &pkt, &rec.ts, &view) : NULL;
		ctx.credit = ctx.flow ? &view : NULL;
		print_frame(&pkt, &ctx, n);
		ctx.prev_ts = rec.ts;
		last = rec.ts;
	}
	if (ret < 0)
		check(vsm_pcap_error(reader) && *vsm_pcap_error(reader));
	vsm_flows_tick(flows, &last, true);
	print_flows(flows, &last);
	vsm_flows_free(flows);
	vsm_pcap_close(reader);
	return 0;
}
