/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rounds.c: the lab's rounds: each spawns the workload's clients, runs until every actor is done, and checks no socket is left; the main loop. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lab.h"

/* ---- rounds ---- */

static struct actor *spawn_client(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl,
				  uint64_t peer_cid, uint32_t peer_port, int type)
{
	struct actor *a = actor_new(lab, n, kind, wl);

	a->peer_cid = peer_cid;
	a->peer_port = peer_port;
	a->type = type;
	a->state = S_START;
	/* Clients start spread over the round's first moments, so their traffic interleaves. */
	a->wake_at = lab_now(lab) + (int64_t)lab_random_range(lab, 0, START_SPREAD_NS);
	actor_name(a);
	return a;
}

static void spawn_stream_client(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl,
				uint64_t peer_cid, uint32_t peer_port, uint64_t body)
{
	struct actor *a = spawn_client(lab, n, kind, wl, peer_cid, peer_port, VTR_STREAM);

	txs_init(&a->tx, wl, lab_random(lab), body, lab->tbuf);
}

/* An echo message: tiny, small, medium, or larger than the receive buffer (the echo must flow both ways at once). */
static uint64_t echo_size(struct lab *lab)
{
	switch (lab_random(lab) % 4) {
	case 0: return lab_random_range(lab, 1, 64);
	case 1: return lab_random_range(lab, 100, 4096);
	case 2: return lab_random_range(lab, 4096, 65536);
	default: return lab_random_range(lab, 65536, 400 * 1024);
	}
}

static void spawn_seq_client(struct lab *lab, struct node *n)
{
	/* Sizes around the packet size (64 KiB) and up to 200 KiB, then random ones, shuffled. */
	static const uint32_t edges[] = { 1, 2, 100, 4095, 4096, 65535, 65536, 65537, 131072, SEQ_MAX_MSG };
	const size_t nedges = sizeof(edges) / sizeof(edges[0]), nmsgs = nedges + 6;
	struct actor *a = spawn_client(lab, n, A_SEQ_CLIENT, W_SEQPACKET, HOST_CID, PORT_SEQ, VTR_SEQPACKET);

	a->msgs = calloc(nmsgs, sizeof(*a->msgs));
	if (!a->msgs) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(EXIT_CHECKS);
	}
	a->nmsgs = nmsgs;
	for (size_t i = 0; i < nmsgs; i++) {
		a->msgs[i].len = i < nedges ? edges[i] : (uint32_t)lab_random_range(lab, 1, SEQ_MAX_MSG);
		a->msgs[i].seed = lab_random(lab);
		a->msgs[i].eor = lab_random(lab) % 3 == 0;
	}
	for (size_t i = nmsgs - 1; i > 0; i--) {
		size_t j = (size_t)lab_random_range(lab, 0, i);
		uint32_t len = a->msgs[i].len;

		a->msgs[i].len = a->msgs[j].len;
		a->msgs[j].len = len;
	}
	a->msgs[nmsgs - 1].eor = true;	/* the last message always ends a record */
}

static void round_start(struct lab *lab)
{
	struct node *host = &lab->nodes[0];

	lab->in_round = true;
	lab->round_start = lab_now(lab);
	lab->round_routed0 = lab->routed;
	lab->round_conns0 = lab->connects;
	lab->round_bytes0 = 0;
	for (int w = 0; w < W_COUNT; w++)
		lab->round_bytes0 += lab->wl[w].bytes;
	for (size_t g = 1; g < lab->nnodes; g++) {
		struct node *n = &lab->nodes[g];

		spawn_stream_client(lab, n, A_ECHO_CLIENT, W_ECHO, HOST_CID, PORT_ECHO, echo_size(lab));
		spawn_stream_client(lab, n, A_ECHO_CLIENT, W_ECHO, HOST_CID, PORT_ECHO, echo_size(lab));
		spawn_stream_client(lab, n, A_BULK_SENDER, W_BULK_UP, HOST_CID, PORT_BULK,
				    lab_random_range(lab, 300 * 1024, 2 * 1024 * 1024));
		spawn_seq_client(lab, n);
		spawn_stream_client(lab, n, A_BULK_SENDER, W_SLOW, HOST_CID, PORT_SLOW,
				    lab_random_range(lab, 384 * 1024, 640 * 1024));
		spawn_stream_client(lab, n, A_HALF_CLIENT, W_HALFCLOSE, HOST_CID, PORT_HALF,
				    lab_random_range(lab, 300 * 1024, 600 * 1024));
		spawn_client(lab, n, A_REFUSED, W_REFUSED, HOST_CID, PORT_CLOSED, VTR_STREAM);
		spawn_stream_client(lab, host, A_BULK_SENDER, W_BULK_DOWN, n->cid, PORT_GUEST_SINK,
				    lab_random_range(lab, 300 * 1024, 2 * 1024 * 1024));
		spawn_client(lab, host, A_REFUSED, W_REFUSED, n->cid, PORT_CLOSED, VTR_SEQPACKET);
	}
	/* One guest a round calls a CID that does not exist: dropped by the hypervisor, the connect times out. */
	spawn_client(lab, &lab->nodes[1 + lab->rounds_done % (lab->nnodes - 1)], A_UNKNOWN_CID, W_UNKNOWN_CID,
		     UNKNOWN_CID, PORT_ECHO, VTR_STREAM);
}

void free_round(struct lab *lab)
{
	struct actor *a = lab->actors, *next;

	for (; a; a = next) {
		next = a->next;
		if (!a->done) {
			lab->wl[a->wl].interrupted++;
			if (a->sock >= 0 && (uint32_t)a->sock < a->node->max_socks)
				a->node->owner[a->sock] = NULL;
		}
		actor_free(a);
	}
	lab->actors = lab->actors_tail = NULL;
	lab->ready_head = lab->ready_tail = NULL;
	lab->live = 0;
	lab->in_round = false;
}

static void round_end(struct lab *lab)
{
	uint64_t bytes = 0;

	lab->rounds_done++;
	/* Every connection is over and every timer has run: only the listeners may be left. */
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct vtr_stats st;

		vtr_engine_stats(lab->nodes[i].e, &st);
		if (st.sockets != lab->nodes[i].listeners) {
			fprintf(stderr, "%s: round %" PRIu64 ": cid %" PRIu64 " holds %" PRIu32 " sockets, expected its %" PRIu32
				" listeners: connections were not freed\n", PROG, lab->rounds_done, lab->nodes[i].cid,
				st.sockets, lab->nodes[i].listeners);
			lab->leaks += st.sockets - lab->nodes[i].listeners;
		}
	}
	for (int w = 0; w < W_COUNT; w++)
		bytes += lab->wl[w].bytes;
	if (!lab->o->quiet) {
		char b[32];

		human_bytes(b, sizeof(b), bytes - lab->round_bytes0);
		fprintf(lab->out, "round %" PRIu64 ": %" PRIu64 " connects, %s verified, %" PRIu64 " packets, %.3f s\n",
			lab->rounds_done, lab->connects - lab->round_conns0, b, lab->routed - lab->round_routed0,
			(double)(lab_now(lab) - lab->round_start) / NS_PER_SEC);
		fflush(lab->out);
	}
	free_round(lab);
}

/* Nothing can move and actors still wait: each says where it is, and the lab stops. */
static void report_stuck(struct lab *lab, const char *why)
{
	lab->stuck = true;
	for (struct actor *a = lab->actors; a; a = a->next) {
		struct vtr_sock_info si = { 0 };

		if (a->done)
			continue;
		if (a->sock >= 0)
			vtr_sock_info(a->node->e, a->sock, &si);
		actor_fail(a, "%s: stuck in step %d, socket %s, tx %" PRIu64 "/%" PRIu64 ", rx %" PRIu64 ", credit %" PRId64
			   ", rx queued %" PRIu32, why, (int)a->state, a->sock >= 0 ? vtr_state_name(si.state) : "none",
			   a->tx.off, txs_total(&a->tx), a->rx.off, si.credit, si.rx_bytes);
	}
}

/* --pace: waits for the next slot when a packet is not due yet; returns whether it waited. */
static bool pace_wait(struct lab *lab)
{
	if (!lab->pace_ns || clock_ns(CLOCK_MONOTONIC) >= lab->next_slot)
		return false;
	wait_mono(lab, lab->next_slot);
	return true;
}

/* --pace: a packet moved; the next may move one pace later (never earlier than now plus the pace). */
static void pace_next(struct lab *lab)
{
	int64_t m;

	if (!lab->pace_ns)
		return;
	m = clock_ns(CLOCK_MONOTONIC);
	lab->next_slot = (lab->next_slot > m ? lab->next_slot : m) + lab->pace_ns;
}

void lab_run(struct lab *lab)
{
	const struct options *o = lab->o;

	round_start(lab);
	while (!lab->stop) {
		int64_t t, due;

		run_ready(lab);
		lab->iterations++;
		if (o->duration_ns && lab_now(lab) >= o->duration_ns) {
			lab->duration_hit = lab->stop = true;
			break;
		}
		if (lab->iterations % SIGNAL_EVERY == 0)
			check_signals(lab);
		if (o->device) {
			if (pace_wait(lab))
				continue;
			if (devices_step(lab)) {
				pace_next(lab);
				if (lab->iterations % TIMER_EVERY == 0)
					fire_timers(lab);
				continue;
			}
		}
		if (lab->wire.head) {
			if (pace_wait(lab))
				continue;
			wire_deliver(lab);
			pace_next(lab);
			if (lab->iterations % TIMER_EVERY == 0)
				fire_timers(lab);
			continue;
		}
		fire_timers(lab);
		if (lab->ready_head)
			continue;
		if (!lab->live && engines_idle(lab)) {
			round_end(lab);
			if (o->rounds && lab->rounds_done >= o->rounds)
				break;
			check_signals(lab);
			if (!lab->stop)
				round_start(lab);
			continue;
		}
		t = lab_now(lab);
		if (t - lab->round_start > ROUND_LIMIT_NS) {
			report_stuck(lab, "the round takes too long");
			break;
		}
		due = next_due(lab);
		if (o->duration_ns && (due < 0 || due > o->duration_ns))
			due = o->duration_ns;
		if (due < 0) {
			report_stuck(lab, "nothing is on the wire and no timer is armed");
			break;
		}
		if (o->virtual_clock) {
			if (due > lab->vnow)
				lab->vnow = due;
			check_signals(lab);
		} else {
			wait_mono(lab, lab->mono0 + due);
		}
	}
}
