/* SPDX-License-Identifier: GPL-2.0-or-later */
/* results.c: the lab's results: its own checks over every counter (printed with --stats) and the counters themselves. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <vsockmon/tap.h>
#include <vsockmon/vsockmon.h>
#include "lab.h"

/* ---- results ---- */

struct checks {
	FILE *out;
	bool verbose;
	unsigned passed, failed;
};

static void check(struct checks *c, bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	if (ok)
		c->passed++;
	else
		c->failed++;
	/* With --stats every check is listed with the counters; otherwise only failures, on stderr. */
	if (c->verbose)
		f = c->out;
	else if (!ok)
		f = stderr;
	else
		return;
	fprintf(f, "%scheck %s: %s (", c->verbose ? "" : PROG ": ", name, ok ? "ok" : "FAILED");
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fprintf(f, ")\n");
}

/* The lab's own checks, over everything; prints them with --stats. Returns the number failed. */
unsigned lab_checks(struct lab *lab)
{
	const struct options *o = lab->o;
	struct checks c = { .out = lab->out, .verbose = o->stats };
	struct vsm_tap *tap = vtr_engine_tap(lab->nodes[0].e);
	/* Counts that only add up once every connection is over: after the last round, not mid-way. */
	bool complete = !lab->stop && !lab->stuck;
	uint64_t failed = 0, bad = 0, tapped = 0, in_flight = 0, sent = 0, delivered = lab->delivered;
	bool conserved = true;
	int ferr;

	for (int w = 0; w < W_COUNT; w++)
		failed += lab->wl[w].failed;
	check(&c, !failed && !lab->stuck, "workloads", "%" PRIu64 " actors failed", failed);

	for (size_t i = 0; i < lab->nnodes; i++) {
		struct vtr_stats st;

		struct node *n = &lab->nodes[i];

		vtr_engine_stats(n->e, &st);
		bad += st.malformed + st.violations;
		tapped += (i == 0 || o->tap_all) ? st.pkts_in + st.pkts_out : 0;
		if (n->front) {
			/*
			 * Behind a device: what the guest sent waits in its TX ring until the device takes it
			 * (n->sent), what the host sent it waits in its RX ring until its front-end hands it
			 * to the engine (n->to_ring).
			 */
			if (st.pkts_out < n->sent || st.pkts_in > n->to_ring)
				conserved = false;
			in_flight += (st.pkts_out - n->sent) + (n->to_ring - st.pkts_in);
			delivered += st.pkts_in;
			sent += st.pkts_out;
			continue;
		}
		if (st.pkts_in != n->delivered || st.pkts_out != n->sent)
			conserved = false;
		in_flight += n->in_flight;
		sent += n->sent;
	}
	check(&c, !bad, "engines", "%" PRIu64 " malformed packets or protocol violations counted", bad);
	check(&c, conserved && sent == delivered + lab->dropped + in_flight, "conservation",
	      "every packet an engine sent was delivered (%" PRIu64 "), dropped (%" PRIu64 ") or is %s (%" PRIu64 ")",
	      delivered, lab->dropped, o->device ? "in a ring" : "on the wire", in_flight);
	if (o->device) {
		uint64_t dbad = 0, stopped = 0;

		for (size_t i = 1; i < lab->nnodes; i++) {
			struct vtr_vudev_stats ds;

			vtr_vudev_stats(lab->nodes[i].dev, &ds);
			dbad += ds.malformed + (ds.last_error[0] != 0);
			stopped += !ds.running;
		}
		check(&c, !dbad && !stopped, "devices", "%u vhost-user-vsock devices, %" PRIu64 " stopped, %" PRIu64
		      " malformed chains or errors", o->guests, stopped, dbad);
	}
	if (complete) {
		bool ok = true;

		for (size_t i = 0; i < lab->nnodes; i++) {
			struct vtr_stats st;

			vtr_engine_stats(lab->nodes[i].e, &st);
			ok = ok && st.refused == lab->nodes[i].refused_expected;
		}
		check(&c, ok, "refused", "each engine counted the %" PRIu64 " REQUESTs it refused", lab->refused_seen);
		check(&c, lab->dropped == lab->timeouts_seen, "unknown-cid",
		      "%" PRIu64 " packets to an unknown CID dropped, %" PRIu64 " connects timed out", lab->dropped,
		      lab->timeouts_seen);
		check(&c, lab->wl[W_SLOW].passed == 0 || lab->wl[W_SLOW].requests > 0, "credit-request",
		      "%" PRIu64 " CREDIT_REQUESTs from senders to slow readers", lab->wl[W_SLOW].requests);
	}
	check(&c, !lab->leaks, "sockets", "%" PRIu64 " sockets left after rounds", lab->leaks);
	ferr = vsm_tap_flush(tap);
	for (size_t s = 0; s < vsm_tap_sink_count(tap); s++) {
		struct vsm_tap_sink_stats ss;
		bool pcap = o->pcap && s == 0;

		if (vsm_tap_sink_stats(tap, s, &ss) < 0)
			continue;
		if (pcap)
			check(&c, !ss.error && !ss.dropped && ss.frames == tapped, "tap",
			      "pcap %s: %" PRIu64 " frames for %" PRIu64 " packets, %" PRIu64 " dropped%s%s", o->pcap,
			      ss.frames, tapped, ss.dropped, ss.error ? ", " : "", ss.error ? strerror(-ss.error) : "");
		else if (ss.error || ss.dropped)
			fprintf(stderr, "%s: warning: interface %s: %" PRIu64 " of %" PRIu64 " frames dropped%s%s\n", PROG,
				o->iface, ss.dropped, ss.frames + ss.dropped, ss.error ? ": " : "",
				ss.error ? strerror(-ss.error) : "");
	}
	if (ferr < 0 && !o->pcap)
		fprintf(stderr, "%s: warning: tap flush: %s\n", PROG, strerror(-ferr));
	if (o->stats)
		fprintf(c.out, "result: %s (%u checks, %u failed)\n", c.failed ? "FAIL" : "PASS", c.passed + c.failed,
			c.failed);
	return c.failed;
}

void lab_print_stats(struct lab *lab)
{
	const struct options *o = lab->o;
	FILE *f = lab->out;
	struct vsm_tap *tap = vtr_engine_tap(lab->nodes[0].e);

	fprintf(f, "%s %s: %" PRIu64 " round%s%s, %u guest%s, %s clock (seed %" PRIu64 "), lab time %.3f s, real time %.3f s\n",
		PROG, VSM_VERSION, lab->rounds_done, lab->rounds_done == 1 ? "" : "s",
		lab->stop_signal ? " (interrupted)" : lab->duration_hit ? " (duration reached)" : "",
		o->guests, o->guests == 1 ? "" : "s", o->virtual_clock ? "virtual" : "real", o->seed, (double)lab_now(lab) / NS_PER_SEC,
		(double)(clock_ns(CLOCK_MONOTONIC) - lab->real_start) / NS_PER_SEC);
	fprintf(f, "hypervisor: %" PRIu64 " packets routed, %" PRIu64 " payload bytes, %" PRIu64
		" dropped (unknown CID), wire full %" PRIu64 " times\n",
		lab->routed, lab->routed_bytes, lab->dropped, lab->wire_full);
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct vtr_stats st;

		vtr_engine_stats(lab->nodes[i].e, &st);
		fprintf(f, "engine cid %" PRIu64 ": pkts_in %" PRIu64 ", pkts_out %" PRIu64 ", bytes_in %" PRIu64
			", bytes_out %" PRIu64 ", rst_sent %" PRIu64 ", rst_received %" PRIu64 ", malformed %" PRIu64
			", violations %" PRIu64 ", refused %" PRIu64 ", sockets %" PRIu32 "\n",
			lab->nodes[i].cid, st.pkts_in, st.pkts_out, st.bytes_in, st.bytes_out, st.rst_sent,
			st.rst_received, st.malformed, st.violations, st.refused, st.sockets);
	}
	for (size_t i = 1; o->device && i < lab->nnodes; i++) {
		struct vtr_vudev_stats ds;

		vtr_vudev_stats(lab->nodes[i].dev, &ds);
		fprintf(f, "device cid %" PRIu64 ": %s, from guest %" PRIu64 " packets, to guest %" PRIu64
			" (split %" PRIu64 "), RX ring empty %" PRIu64 " times (%.3f ms), TX kicks %" PRIu64
			", RX kicks %" PRIu64 ", interrupts %" PRIu64 ", malformed %" PRIu64 "%s%s\n",
			lab->nodes[i].cid, ds.running ? "running" : "stopped", ds.pkts_from_guest, ds.pkts_to_guest,
			ds.splits, ds.rx_empty_events, (double)ds.rx_empty_ns / 1e6, ds.q[VTR_VUDEV_TX].kicks,
			ds.q[VTR_VUDEV_RX].kicks, ds.q[VTR_VUDEV_RX].calls + ds.q[VTR_VUDEV_TX].calls, ds.malformed,
			ds.last_error[0] ? ", error: " : "", ds.last_error);
	}
	for (size_t s = 0; s < vsm_tap_sink_count(tap); s++) {
		struct vsm_tap_sink_stats ss;

		bool pcap = o->pcap && s == 0;

		if (vsm_tap_sink_stats(tap, s, &ss) < 0)
			continue;
		fprintf(f, "tap cid %d %s %s: frames %" PRIu64 ", bytes %" PRIu64 ", dropped %" PRIu64,
			HOST_CID, pcap ? "pcap" : "interface", pcap ? o->pcap : o->iface, ss.frames, ss.bytes, ss.dropped);
		if (!pcap)	/* sent while nobody captured on the interface: not built, not lost */
			fprintf(f, ", unobserved %" PRIu64, ss.unobserved);
		fprintf(f, "%s%s\n", ss.error ? ", error: " : "", ss.error ? strerror(-ss.error) : "");
	}
	for (int w = 0; w < W_COUNT; w++) {
		const struct wl_stats *s = &lab->wl[w];

		fprintf(f, "workload %s: %" PRIu64 " passed, %" PRIu64 " failed, %" PRIu64 " interrupted, %" PRIu64
			" bytes verified", workload_names[w], s->passed, s->failed, s->interrupted, s->bytes);
		if (w == W_SEQPACKET)
			fprintf(f, ", %" PRIu64 " messages verified", s->messages);
		if (s->stalls || s->requests)
			fprintf(f, ", %" PRIu64 " credit stalls, %" PRIu64 " credit requests", s->stalls, s->requests);
		fputc('\n', f);
	}
	fprintf(f, "connections: %" PRIu64 " connects, %" PRIu64 " accepted, %" PRIu64 " refused (RST), %" PRIu64
		" timed out (unknown CID), %" PRIu64 " half-closes with data still flowing\n",
		lab->connects, lab->accepted, lab->refused_seen, lab->timeouts_seen, lab->halfclose_overlap);
}
