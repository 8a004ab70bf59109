/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hypervisor.c: the lab's hypervisors: the in-memory wire that routes packets between engines, the vhost-user-vsock devices of --device, and the timers. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

/* ---- the hypervisor: engines, wire, routing ---- */

static int device_xmit(struct lab *lab, struct node *host, const uint8_t *hdr, const uint8_t *payload, uint32_t len);

int wire_xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct node *n = ctx;
	struct lab *lab = n->lab;
	struct vtr_pkt *p;

	if (lab->o->device)
		return device_xmit(lab, n, hdr, payload, len);
	if (n->in_flight >= WIRE_SLOTS) {
		lab->wire_full++;
		return -EAGAIN;
	}
	p = vtr_pkt_new(hdr, payload, len);
	if (!p)
		return -ENOMEM;
	p->origin = n;
	vtr_pktq_push(&lab->wire, p);
	n->in_flight++;
	n->sent++;
	lab->routed++;
	lab->routed_bytes += len;
	return 0;
}

void engine_now(void *ctx, struct timespec *ret_ts)
{
	const struct node *n = ctx;
	int64_t t = lab_now(n->lab) + n->lab->epoch_ns;

	ret_ts->tv_sec = (time_t)(t / NS_PER_SEC);
	ret_ts->tv_nsec = (long)(t % NS_PER_SEC);
}

void engine_event(void *ctx, int sock, unsigned events)
{
	struct node *n = ctx;

	/* Only note who must look again: actors never run inside an engine call. */
	if (sock >= 0 && (uint32_t)sock < n->max_socks && n->owner[sock])
		actor_wake(n->owner[sock]);
}

/* Delivers the oldest packet on the wire to the engine of its dst_cid; another CID's is dropped. */
void wire_deliver(struct lab *lab)
{
	struct vtr_pkt *p = vtr_pktq_pop(&lab->wire);
	struct node *from = p->origin;
	struct node *dst;

	from->in_flight--;
	if (lab->o->virtual_clock)
		lab->vnow += WIRE_LATENCY_NS + p->payload_len;
	dst = node_by_cid(lab, vsm_le64(p->data + VSM_VH_DST_CID));
	if (dst) {
		dst->delivered++;
		lab->delivered++;
		vtr_input(dst->e, p->data, vtr_pkt_size(p->payload_len));
	} else {
		lab->dropped++;
	}
	free(p);
	/* A slot came free: engines holding packets for the wire may hand them over. */
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct node *n = &lab->nodes[i];

		if (n->in_flight < WIRE_SLOTS && vtr_want_write(n->e))
			vtr_flush(n->e);
	}
}

/* ---- the hypervisor with devices (--device) ---- */

/*
 * The host engine's packet for a guest goes into the guest's RX ring through its device; one for a
 * CID nobody has is dropped, as on the wire. Only the host engine sends through here: the guests'
 * engines send through their front-ends' TX rings.
 */
static int device_xmit(struct lab *lab, struct node *host, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct node *dst = node_by_cid(lab, vsm_le64(hdr + VSM_VH_DST_CID));
	int ret = -EHOSTUNREACH;

	if (dst && dst->dev) {
		ret = vtr_vudev_send(dst->dev, hdr, payload, len);
		if (ret == -EAGAIN) {
			lab->wire_full++;
			return -EAGAIN;		/* no RX buffer free: the engine holds it until rx_ready */
		}
	}
	host->sent++;
	lab->routed++;
	lab->routed_bytes += len;
	if (ret) {
		lab->dropped++;
		return 0;
	}
	dst->to_ring++;
	if (lab->o->virtual_clock)
		lab->vnow += WIRE_LATENCY_NS + len;
	return 0;
}

/* A guest's packet, taken from its TX ring by its device: to the host engine, or dropped. */
void dev_deliver(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct node *n = ctx;
	struct lab *lab = n->lab;
	struct node *dst = node_by_cid(lab, vsm_le64(hdr + VSM_VH_DST_CID));

	n->sent++;
	lab->routed++;
	lab->routed_bytes += len;
	if (lab->o->virtual_clock)
		lab->vnow += WIRE_LATENCY_NS + len;
	if (dst == &lab->nodes[0]) {
		dst->delivered++;
		lab->delivered++;
		vtr_input_split(dst->e, hdr, payload, len);
	} else {
		lab->dropped++;	/* the lab's guests talk to the host only: another CID is nobody's */
	}
}

void dev_rx_ready(void *ctx)
{
	vtr_flush(((struct node *)ctx)->lab->nodes[0].e);
}

/* Moves what is due through the rings: front-ends, then devices. Returns whether anything was due. */
bool devices_step(struct lab *lab)
{
	struct pollfd pfds[MAX_GUESTS * (VTR_VUFRONT_MAX_POLLFDS + VTR_VUDEV_MAX_POLLFDS)];
	struct node *who[MAX_GUESTS * (VTR_VUFRONT_MAX_POLLFDS + VTR_VUDEV_MAX_POLLFDS)];
	bool is_dev[MAX_GUESTS * (VTR_VUFRONT_MAX_POLLFDS + VTR_VUDEV_MAX_POLLFDS)];
	size_t n = 0;

	/* The host engine may have filled RX buffers from outside (an actor's send): tell the guests first. */
	for (size_t i = 1; i < lab->nnodes; i++)
		vtr_vudev_notify(lab->nodes[i].dev);
	for (size_t i = 1; i < lab->nnodes; i++) {
		struct node *g = &lab->nodes[i];
		size_t k = vtr_vufront_pollfds(g->front, pfds + n, VTR_VUFRONT_MAX_POLLFDS);

		for (size_t j = n; j < n + k; j++)
			who[j] = g, is_dev[j] = false;
		n += k;
		k = vtr_vudev_pollfds(g->dev, pfds + n, VTR_VUDEV_MAX_POLLFDS);
		for (size_t j = n; j < n + k; j++)
			who[j] = g, is_dev[j] = true;
		n += k;
	}
	if (poll(pfds, n, 0) <= 0)
		return false;
	/* In a fixed order, so that a --clock virtual run is the same run every time. */
	for (size_t j = 0; j < n; j++) {
		if (!pfds[j].revents)
			continue;
		if (is_dev[j]) {
			vtr_vudev_handle(who[j]->dev, pfds[j].fd, pfds[j].revents);
		} else if (vtr_vufront_process(who[j]->front) < 0) {
			fprintf(stderr, "%s: guest %" PRIu64 ": the front-end broke: %s\n", PROG, who[j]->cid,
				vtr_vufront_error(who[j]->front));
			lab->stuck = lab->stop = true;
		}
	}
	for (size_t i = 1; i < lab->nnodes; i++)
		vtr_vudev_notify(lab->nodes[i].dev);
	if (vtr_want_write(lab->nodes[0].e))
		vtr_flush(lab->nodes[0].e);
	return true;
}

/* Runs the engines' timers and wakes the actors whose time has come. */
void fire_timers(struct lab *lab)
{
	int64_t t = lab_now(lab);

	for (size_t i = 0; i < lab->nnodes; i++)
		if (vtr_next_timeout(lab->nodes[i].e) == 0)
			vtr_tick(lab->nodes[i].e);
	for (struct actor *a = lab->actors; a; a = a->next)
		if (!a->done && a->wake_at >= 0 && a->wake_at <= t) {
			a->wake_at = -1;
			actor_wake(a);
		}
}

/* The next time something is due (lab time), -1 when nothing is. */
int64_t next_due(const struct lab *lab)
{
	int64_t t = lab_now(lab), best = -1;

	for (size_t i = 0; i < lab->nnodes; i++) {
		int ms = vtr_next_timeout(lab->nodes[i].e);

		if (ms >= 0 && (best < 0 || t + ms * NS_PER_MS < best))
			best = t + ms * NS_PER_MS;
	}
	for (const struct actor *a = lab->actors; a; a = a->next)
		if (!a->done && a->wake_at >= 0 && (best < 0 || a->wake_at < best))
			best = a->wake_at;
	return best;
}

bool engines_idle(const struct lab *lab)
{
	for (size_t i = 0; i < lab->nnodes; i++)
		if (vtr_next_timeout(lab->nodes[i].e) >= 0 || vtr_want_write(lab->nodes[i].e))
			return false;
	return true;
}

/* Waits until CLOCK_MONOTONIC reaches until (or a signal comes). */
void wait_mono(struct lab *lab, int64_t until)
{
	int64_t left = until - clock_ns(CLOCK_MONOTONIC);
	struct pollfd pfd = { .fd = lab->sigfd, .events = POLLIN };
	struct timespec ts;
	struct signalfd_siginfo si;

	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / NS_PER_SEC);
	ts.tv_nsec = (long)(left % NS_PER_SEC);
	if (ppoll(&pfd, 1, &ts, NULL) > 0 && read(lab->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		lab->stop = true;
		lab->stop_signal = (int)si.ssi_signo;
	}
}

void check_signals(struct lab *lab)
{
	wait_mono(lab, 0);
}
