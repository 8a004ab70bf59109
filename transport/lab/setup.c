/* SPDX-License-Identifier: GPL-2.0-or-later */
/* setup.c: setting the lab up and tearing it down: engines (or front-ends on devices), the host's tap, the listeners. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/tap.h>
#include "lab.h"

/* ---- set-up ---- */

static void add_listener(struct lab *lab, struct node *n, uint32_t port, int type, enum actor_kind child,
			 enum workload wl)
{
	struct actor *l = actor_new(lab, n, A_LISTENER, wl);
	int s = vtr_listen(n->e, port, type, 0);

	if (s < 0) {
		fprintf(stderr, "%s: listen on %" PRIu64 ":%" PRIu32 ": %s\n", PROG, n->cid, port, strerror(-s));
		exit(EXIT_USAGE);
	}
	l->child_kind = child;
	actor_own(l, s);
	snprintf(l->name, sizeof(l->name), "%s listener %" PRIu64 ":%" PRIu32, workload_names[wl], n->cid, port);
	l->next = lab->listeners;
	lab->listeners = l;
	n->listeners++;
}

/* Frames from a guest's tap join the host's, so one capture has every engine's view (--tap-all). */
static void forward_frame(void *ctx, const struct vsm_rec *rec)
{
	struct vsm_tap *host_tap = ctx;

	if (rec->cap_len >= VSM_FRAME_HDR_LEN)
		vsm_tap_packet(host_tap, &rec->ts, rec->data + VSM_OFF_VIRTIO, rec->data + VSM_FRAME_HDR_LEN,
			       rec->cap_len - VSM_FRAME_HDR_LEN);
}

/*
 * The vhost-user set-up is a conversation: the front-end waits for each answer. While it runs, a
 * thread answers for the device; afterwards everything runs on the lab's one thread.
 */
struct setup_pump {
	struct vtr_vudev *dev;
	volatile bool done;
};

static void *pump_device(void *arg)
{
	struct setup_pump *sp = arg;

	while (!sp->done) {
		struct pollfd pfds[VTR_VUDEV_MAX_POLLFDS];
		size_t n = vtr_vudev_pollfds(sp->dev, pfds, VTR_VUDEV_MAX_POLLFDS);

		if (poll(pfds, n, 10) <= 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (pfds[i].revents)
				vtr_vudev_handle(sp->dev, pfds[i].fd, pfds[i].revents);
	}
	return NULL;
}

/* --device: the guest's engine lives in a front-end attached to a device of its own. */
static int device_guest(struct node *n, const struct vtr_config *cfg, const struct vtr_ops *ops)
{
	static const struct vtr_vudev_ops dev_ops = { .deliver = dev_deliver, .rx_ready = dev_rx_ready };
	struct vtr_vudev_config dcfg = { .guest_cid = n->cid, .name = "lab" };
	struct vtr_vufront_config fcfg = {
		.regions = 2, .queue_size = DEVICE_QUEUE, .rx_buf_size = DEVICE_RX_BUF,
		.engine = *cfg, .engine_ops = ops, .engine_ctx = n,
	};
	struct setup_pump sp = { 0 };
	pthread_t t;
	char err[256];
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r = vtr_vudev_new(&dcfg, &dev_ops, n, &n->dev);
	if (r < 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	vtr_vudev_attach(n->dev, sv[0]);
	vtr_vudev_set_tap(n->dev, NULL);
	sp.dev = n->dev;
	fcfg.sock = sv[1];
	if (pthread_create(&t, NULL, pump_device, &sp)) {
		close(sv[1]);
		return -EAGAIN;
	}
	r = vtr_vufront_new(&fcfg, &n->front, err, sizeof(err));
	sp.done = true;
	pthread_join(t, NULL);
	if (r < 0) {
		fprintf(stderr, "%s: guest %" PRIu64 ": %s\n", PROG, n->cid, err);
		return r;
	}
	n->e = vtr_vufront_engine(n->front);
	return vtr_vudev_running(n->dev) ? 0 : -EPROTO;
}

int lab_init(struct lab *lab, const struct options *o)
{
	static const struct vtr_ops ops = { .xmit = wire_xmit, .now = engine_now, .event = engine_event };
	struct vsm_tap *host_tap;
	char err[512];
	int r;

	memset(lab, 0, sizeof(*lab));
	lab->o = o;
	lab->sigfd = -1;
	lab->out = o->pcap && !strcmp(o->pcap, "-") ? stderr : stdout;
	lab->rng = o->seed;
	lab->mono0 = clock_ns(CLOCK_MONOTONIC);
	lab->real_start = lab->mono0;
	lab->epoch_ns = o->virtual_clock ? VIRTUAL_EPOCH_SEC * NS_PER_SEC : clock_ns(CLOCK_REALTIME);
	lab->pace_ns = o->pace > 0 ? NS_PER_SEC / o->pace : 0;
	lab->nnodes = o->guests + 1;
	lab->nodes = calloc(lab->nnodes, sizeof(*lab->nodes));
	lab->tbuf = malloc(BUF_LEN);
	lab->rbuf = malloc(BUF_LEN);
	lab->xbuf = malloc(BUF_LEN);
	if (!lab->nodes || !lab->tbuf || !lab->rbuf || !lab->xbuf) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return -ENOMEM;
	}
	for (size_t i = 0; i < lab->nnodes; i++) {
		struct node *n = &lab->nodes[i];
		/* Room for every connection of a round at once, with the ones closing. */
		struct vtr_config cfg = {
			.cid = i ? FIRST_GUEST_CID + i - 1 : HOST_CID,
			.max_sockets = 64 + 16 * o->guests,
			.connect_timeout_ms = CONNECT_TIMEOUT_MS,
			.close_timeout_ms = CLOSE_TIMEOUT_MS,
		};

		n->lab = lab;
		n->cid = cfg.cid;
		n->max_socks = cfg.max_sockets;
		n->owner = calloc(n->max_socks, sizeof(*n->owner));
		if (!n->owner)
			return -ENOMEM;
		if (o->device && i)
			r = device_guest(n, &cfg, &ops);
		else
			r = vtr_engine_new(&cfg, &ops, n, &n->e);
		if (r < 0) {
			fprintf(stderr, "%s: engine for cid %" PRIu64 ": %s\n", PROG, n->cid, strerror(-r));
			return r;
		}
	}
	host_tap = vtr_engine_tap(lab->nodes[0].e);
	if (o->pcap && (r = vsm_tap_add_pcap(host_tap, o->pcap, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return r;
	}
	if (o->iface && (r = vsm_tap_add_iface(host_tap, o->iface, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, err);
		return r;
	}
	if (o->tap_all && vsm_tap_active(host_tap)) {
		for (size_t i = 1; i < lab->nnodes; i++) {
			r = vsm_tap_add_callback(vtr_engine_tap(lab->nodes[i].e), forward_frame, host_tap);
			if (r < 0) {
				fprintf(stderr, "%s: tap of cid %" PRIu64 ": %s\n", PROG, lab->nodes[i].cid, strerror(-r));
				return r;
			}
		}
	}
	/* Whatever the set-up threads left for the devices (the front-ends' first RX kick, say) is
	 * handled now: every run starts from the same state, or --clock virtual would not repeat. */
	while (o->device && devices_step(lab))
		;
	add_listener(lab, &lab->nodes[0], PORT_ECHO, VTR_STREAM, A_ECHO_SERVER, W_ECHO);
	add_listener(lab, &lab->nodes[0], PORT_BULK, VTR_STREAM, A_BULK_SINK, W_BULK_UP);
	add_listener(lab, &lab->nodes[0], PORT_SEQ, VTR_SEQPACKET, A_SEQ_SERVER, W_SEQPACKET);
	add_listener(lab, &lab->nodes[0], PORT_SLOW, VTR_STREAM, A_SLOW_READER, W_SLOW);
	add_listener(lab, &lab->nodes[0], PORT_HALF, VTR_STREAM, A_HALF_SERVER, W_HALFCLOSE);
	for (size_t i = 1; i < lab->nnodes; i++)
		add_listener(lab, &lab->nodes[i], PORT_GUEST_SINK, VTR_STREAM, A_BULK_SINK, W_BULK_DOWN);
	return 0;
}

void lab_free(struct lab *lab)
{
	struct actor *l, *next;

	if (lab->in_round)
		free_round(lab);
	for (l = lab->listeners; l; l = next) {
		next = l->next;
		actor_free(l);
	}
	vtr_pktq_clear(&lab->wire);
	if (lab->nodes) {
		for (size_t i = 0; i < lab->nnodes; i++) {
			struct node *n = &lab->nodes[i];

			/* The device goes first: the front-end's farewell requests then fail at once. */
			if (n->dev || n->front) {
				vtr_vudev_free(n->dev);
				vtr_vufront_free(n->front);	/* frees its engine */
			} else {
				vtr_engine_free(n->e);	/* closes the taps: the pcap is flushed and stays valid */
			}
			free(n->owner);
		}
	}
	free(lab->nodes);
	free(lab->tbuf);
	free(lab->rbuf);
	free(lab->xbuf);
	if (lab->sigfd >= 0)
		close(lab->sigfd);
}
