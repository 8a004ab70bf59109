/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stalls.c: each connection's credit stalls in a capture (the example of vsockmon(3)). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <vsockmon/vsockmon.h>

/* vsm_flows_list() gives flows in no order: print them in the order they were first seen. */
static int by_id(const void *a, const void *b)
{
	const struct vsm_flow *x = *(const struct vsm_flow *const *)a;
	const struct vsm_flow *y = *(const struct vsm_flow *const *)b;

	return (x->id > y->id) - (x->id < y->id);
}

int main(int argc, char **argv)
{
	struct vsm_pcap_reader *reader;
	struct vsm_flows *flows;
	const struct vsm_flow **list;
	struct vsm_rec rec;
	struct vsm_pkt pkt;
	struct timespec end = { 0 };
	char err[256];
	size_t n, i;
	int r, s;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CAPTURE\n", argv[0]);
		return 2;
	}
	if (vsm_pcap_open(argv[1], &reader, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (vsm_flows_new(0, &flows) < 0) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	/* Each frame: decode it (never fails on content), account it to its connection. */
	while ((r = vsm_pcap_next(reader, &rec)) > 0) {
		vsm_decode_rec(&rec, &pkt);
		vsm_flows_update(flows, &pkt, &rec.ts, NULL);
		end = rec.ts;
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], vsm_pcap_error(reader));
		return 1;
	}
	/* The end of the capture: what is still pending counts as left so. */
	vsm_flows_tick(flows, &end, true);

	n = vsm_flows_count(flows);
	list = calloc(n ? n : 1, sizeof(*list));
	if (!list) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	n = vsm_flows_list(flows, list, n);
	qsort(list, n, sizeof(*list), by_id);
	for (i = 0; i < n; i++) {
		const struct vsm_flow *f = list[i];

		/* Side s is a sender: its stalls are the times it had used all the credit its peer gave. */
		for (s = 0; s < 2; s++) {
			const struct vsm_flow_side *d = &f->side[s];

			if (d->stalls == 0)
				continue;
			printf("%" PRIu64 ":%" PRIu32 " > %" PRIu64 ":%" PRIu32 ": %" PRIu64 " stalls, %" PRIu64
			       " ns in all, the longest %" PRIu64 " ns\n",
			       f->key.cid[s], f->key.port[s], f->key.cid[!s], f->key.port[!s], d->stalls,
			       d->stall_ns, d->stall_max_ns);
		}
	}
	free(list);
	vsm_flows_free(flows);
	vsm_pcap_close(reader);
	return 0;
}
