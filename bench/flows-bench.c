/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flows-bench.c: how fast the flow analysis ingests a capture, and what 100,000 concurrent connections cost in memory. */
/*
 * Usage: flows-bench ingest CAPTURE [REPS]   read + decode + analyse every frame, REPS times (default 3)
 *        flows-bench memory [CONNS]          CONNS concurrent connections (default 100000), none closed
 * One thread. Prints key=value lines; asserts nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vsockmon/vsockmon.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The resident set now, in KiB (VmRSS of /proc/self/status). */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int ingest(const char *path, int reps)
{
	double best = 0, best_only = 0;
	uint64_t frames = 0;

	for (int r = 0; r < reps; r++) {
		struct vsm_pcap_reader *rd;
		struct vsm_flows *flows;
		struct vsm_rec rec;
		struct vsm_pkt pkt;
		char err[256];
		double t0, t1, analysis = 0;
		int ret;

		if (vsm_pcap_open(path, &rd, err, sizeof(err)) < 0) {
			fprintf(stderr, "flows-bench: %s\n", err);
			return 1;
		}
		if (vsm_flows_new(0, &flows) < 0)
			return 1;
		frames = 0;
		t0 = now_s();
		while ((ret = vsm_pcap_next(rd, &rec)) == 1) {
			double a = 0;

			vsm_decode(rec.data, rec.cap_len, rec.wire_len, &pkt);
			if ((frames & 1023) == 0)
				a = now_s();
			vsm_flows_update(flows, &pkt, &rec.ts, NULL);
			if ((frames & 1023) == 0)
				analysis += (now_s() - a) * 1024;	/* sampled: one frame in 1024, scaled */
			frames++;
		}
		t1 = now_s();
		vsm_flows_free(flows);
		vsm_pcap_close(rd);
		if (ret < 0)
			return 1;
		if (!best || t1 - t0 < best)
			best = t1 - t0;
		if (!best_only || analysis < best_only)
			best_only = analysis;
	}
	printf("ingest capture=%s frames=%llu reps=%d seconds=%.3f mpps=%.2f analysis_only_mpps=%.2f\n", path,
	       (unsigned long long)frames, reps, best, frames / best / 1e6, best_only > 0 ? frames / best_only / 1e6 : 0);
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* One packet of a connection, as a vsockmon frame, through the real decoder. */
static void feed(struct vsm_flows *flows, uint64_t cid, uint32_t port, int dir, uint16_t op, uint32_t len,
		 uint32_t fwd, const struct timespec *ts)
{
	uint8_t frame[VSM_FRAME_HDR_LEN];
	struct vsm_virtio_hdr h = {
		.src_cid = dir ? 2 : cid, .dst_cid = dir ? cid : 2,
		.src_port = dir ? 5000 : port, .dst_port = dir ? port : 5000,
		.len = len, .type = VSM_TYPE_STREAM, .op = op, .buf_alloc = 262144, .fwd_cnt = fwd,
	};
	struct vsm_pkt pkt;

	memset(frame, 0, sizeof(frame));
	put_le(frame + VSM_OFF_MON_SRC_CID, h.src_cid, 8);
	put_le(frame + VSM_OFF_MON_DST_CID, h.dst_cid, 8);
	put_le(frame + VSM_OFF_MON_SRC_PORT, h.src_port, 4);
	put_le(frame + VSM_OFF_MON_DST_PORT, h.dst_port, 4);
	put_le(frame + VSM_OFF_MON_OP, vsm_mon_op_for(op), 2);
	put_le(frame + VSM_OFF_MON_TRANSPORT, 2, 2);	/* VIRTIO */
	put_le(frame + VSM_OFF_MON_LEN, VSM_VIRTIO_HDR_LEN, 2);
	vsm_encode_virtio_hdr(&h, frame + VSM_OFF_VIRTIO);
	vsm_decode(frame, sizeof(frame), sizeof(frame) + len, &pkt);
	vsm_flows_update(flows, &pkt, ts, NULL);
}

static int memory(size_t conns)
{
	struct vsm_flows *flows;
	struct vsm_flows_totals t;
	struct timespec ts = { 1, 0 };
	long before = rss_kib(), after;
	double t0 = now_s();

	if (vsm_flows_new(conns, &flows) < 0)
		return 1;
	for (size_t i = 0; i < conns; i++) {
		uint64_t cid = 3 + i / 60000;
		uint32_t port = 1024 + (uint32_t)(i % 60000);

		ts.tv_nsec = (long)(i % 1000000) * 1000;
		feed(flows, cid, port, 0, VSM_OP_REQUEST, 0, 0, &ts);
		feed(flows, cid, port, 1, VSM_OP_RESPONSE, 0, 0, &ts);
		feed(flows, cid, port, 0, VSM_OP_RW, 4096, 0, &ts);
		feed(flows, cid, port, 1, VSM_OP_CREDIT_UPDATE, 0, 4096, &ts);
	}
	after = rss_kib();
	vsm_flows_totals(flows, &t);
	printf("memory conns=%zu live=%llu open=%llu rss_mib=%.1f bytes_per_conn=%.0f build_seconds=%.3f\n", conns,
	       (unsigned long long)t.live, (unsigned long long)t.open, (after - before) / 1024.0,
	       (after - before) * 1024.0 / conns, now_s() - t0);
	vsm_flows_free(flows);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "ingest"))
		return ingest(argv[2], argc > 3 ? atoi(argv[3]) : 3);
	if (argc >= 2 && !strcmp(argv[1], "memory"))
		return memory(argc > 2 ? (size_t)strtoul(argv[2], NULL, 0) : 100000);
	fprintf(stderr, "usage: flows-bench ingest CAPTURE [REPS] | memory [CONNS]\n");
	return 2;
}
