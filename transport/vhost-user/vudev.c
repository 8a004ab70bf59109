/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vudev.c: one vhost-user-vsock device's data path: the RX and TX rings, running or not, the tap point (the session: vusession.c). */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vsockmon/wire.h>
#include <vtr/vhost_user.h>
#include <vtr/vudev.h>

#include "vudev_int.h"
#include "vusession.h"

#define HDR_LEN		VSM_VIRTIO_HDR_LEN
#define DEFAULT_MAX_QUEUE VTR_VRING_MAX_SIZE
/* TX chains taken per kick before the device lets other work run (it comes back by itself). */
#define TX_BATCH	256

/* ---- small helpers ---- */

static void mono_now(const struct vtr_vudev *dev, struct timespec *ts)
{
	if (dev->ops.now)
		dev->ops.now(dev->ctx, ts);
	else
		clock_gettime(CLOCK_MONOTONIC, ts);
}

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	int64_t ns = ((int64_t)b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);

	return ns > 0 ? (uint64_t)ns : 0;
}

void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

__attribute__((format(printf, 2, 3)))
void set_error(struct vtr_vudev *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->st.last_error, sizeof(dev->st.last_error), fmt, ap);
	va_end(ap);
}

/* ---- running or not ---- */

static bool queue_live(const struct queue *q)
{
	return q->started && q->enabled && vtr_vring_ready(&q->vr);
}

bool can_run(const struct vtr_vudev *dev)
{
	return dev->sock >= 0 && !dev->broken && dev->mem.n &&
	       queue_live(&dev->q[VTR_VUDEV_RX]) && queue_live(&dev->q[VTR_VUDEV_TX]);
}

static void rx_empty_end(struct vtr_vudev *dev)
{
	struct timespec now;
	uint64_t ns;

	if (!dev->st.rx_empty_now)
		return;
	mono_now(dev, &now);
	ns = ns_between(&dev->rx_empty_since, &now);
	dev->st.rx_empty_ns += ns;
	if (ns > dev->st.rx_empty_max_ns)
		dev->st.rx_empty_max_ns = ns;
	dev->st.rx_empty_now = false;
}

static void rx_empty_start(struct vtr_vudev *dev)
{
	if (dev->st.rx_empty_now)
		return;
	mono_now(dev, &dev->rx_empty_since);
	dev->st.rx_empty_now = true;
	dev->st.rx_empty_events++;
}

static void tx_process(struct vtr_vudev *dev);

/* Tells the owner when the device comes up or goes down; a packet half sent is dropped on the way down. */
void update_running(struct vtr_vudev *dev, int why, const char *reason)
{
	bool run = can_run(dev);

	if (run == dev->running)
		return;
	dev->running = run;
	if (!run) {
		if (why == VTR_VUDEV_STOP_RESET)
			dev->st.resets++;
		dev->pend = false;
		dev->rx_waiting = false;
		rx_empty_end(dev);
		if (dev->ops.stopped)
			dev->ops.stopped(dev->ctx, why, reason);
		return;
	}
	if (dev->ops.started)
		dev->ops.started(dev->ctx);
	/* The guest may have queued packets before the last step of the set-up. */
	tx_process(dev);
}

/* The guest or the front-end broke the protocol: the device stops until the rings are set up again. */
static void break_device(struct vtr_vudev *dev, const char *reason)
{
	set_error(dev, "%s", reason);
	dev->broken = true;
	update_running(dev, VTR_VUDEV_STOP_BROKEN, dev->st.last_error);
}

/* Drains an eventfd; returns whether it had been written. */
static bool drain(int fd)
{
	uint64_t v;

	return fd >= 0 && read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

static void notify_queue(struct vtr_vudev *dev, struct queue *q)
{
	static const uint64_t one = 1;

	if (!q->need_notify)
		return;
	q->need_notify = false;
	/* virtio 1.2 §2.7.7: the driver may have asked not to be interrupted. */
	if (!vtr_vring_should_notify(&q->vr) || q->call_fd < 0)
		return;
	if (write(q->call_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		q->calls++;
}

void vtr_vudev_notify(struct vtr_vudev *dev)
{
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
		notify_queue(dev, &dev->q[i]);
}

/* ---- the tap ---- */

static void tap(struct vtr_vudev *dev, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct timespec ts;

	if (!dev->tap || !vsm_tap_active(dev->tap))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	vsm_tap_packet(dev->tap, &ts, hdr, payload, len);
}

/* ---- TX: guest to device ---- */

/*
 * One chain from the TX queue: the header (copied once: the guest may rewrite it while we look),
 * then a payload of hdr.len bytes from the rest of the readable part, in whatever descriptors the
 * guest used (virtio spec 5.10.6 does not fix the layout, and Linux changed it twice).
 */
static void tx_chain(struct vtr_vudev *dev, const struct vtr_chain *c)
{
	uint8_t hdr[HDR_LEN];
	const uint8_t *payload = NULL;
	uint32_t len;

	if (c->out_len < HDR_LEN) {
		dev->st.malformed++;
		return;
	}
	vtr_chain_read(c, 0, hdr, HDR_LEN);
	len = vsm_le32(hdr + VSM_VH_LEN);
	/* Linux vhost-vsock drops what claims more than the chain holds or more than 64 KiB. */
	if (len > VTR_VUDEV_MAX_PKT || len > c->out_len - HDR_LEN) {
		dev->st.malformed++;
		return;
	}
	if (len) {
		/* In one descriptor: use it where it is; spread over several: gather a copy. */
		uint64_t off = HDR_LEN;

		for (unsigned i = 0; i < c->n_out; i++) {
			if (off < c->seg[i].len) {
				if (c->seg[i].len - off >= len)
					payload = (const uint8_t *)c->seg[i].base + off;
				break;
			}
			off -= c->seg[i].len;
		}
		if (!payload) {
			vtr_chain_read(c, HDR_LEN, dev->bounce, len);
			payload = dev->bounce;
		}
	}
	dev->st.pkts_from_guest++;
	dev->st.bytes_from_guest += len;
	tap(dev, hdr, payload, len);
	dev->ops.deliver(dev->ctx, hdr, payload, len);
}

static void tx_process(struct vtr_vudev *dev)
{
	struct queue *q = &dev->q[VTR_VUDEV_TX];
	unsigned n = 0;

	while (dev->running) {
		struct vtr_chain c = { .seg = dev->segs, .cap = dev->segs_cap };
		int ret;

		if (dev->ops.can_deliver && !dev->ops.can_deliver(dev->ctx)) {
			dev->tx_blocked = true;
			break;
		}
		dev->tx_blocked = false;
		if (n == TX_BATCH) {
			/* Come back through the poll loop, so other devices and sockets get their turn. */
			static const uint64_t one = 1;

			if (q->kick_fd >= 0 && write(q->kick_fd, &one, sizeof(one)) < 0)
				continue;
			break;
		}
		ret = vtr_vring_pop(&q->vr, &dev->mem, &c);
		if (ret == -EAGAIN) {
			if (vtr_vring_enable_notify(&q->vr, true))
				continue;
			break;
		}
		if (ret) {
			char why[200];

			snprintf(why, sizeof(why), "TX queue: %s", vtr_vring_strerror(&q->vr));
			break_device(dev, why);
			break;
		}
		n++;
		tx_chain(dev, &c);
		/* virtio spec 5.10.6.2: TX buffers come back with nothing written (used len 0, as vhost-vsock). */
		if (vtr_vring_push(&q->vr, c.head, 0) == 0)
			q->need_notify = true;
	}
	vtr_vudev_notify(dev);
}

void vtr_vudev_poke(struct vtr_vudev *dev)
{
	if (dev->tx_blocked)
		tx_process(dev);
}

/* ---- RX: device to guest ---- */

/*
 * Puts as much of a packet as the guest's RX buffers take, one part per buffer chain; returns the
 * payload offset reached. Each part carries the whole header with its own len; a SEQPACKET
 * message's EOM and EOR stay on its last part only, as vhost-vsock does when it splits.
 */
static uint32_t rx_fill(struct vtr_vudev *dev, const uint8_t *hdr, const uint8_t *payload, uint32_t len,
			uint32_t off, bool *ret_dry)
{
	struct queue *q = &dev->q[VTR_VUDEV_RX];

	*ret_dry = false;
	do {
		struct vtr_chain c = { .seg = dev->segs, .cap = dev->segs_cap };
		uint8_t part[HDR_LEN];
		uint32_t n, flags;
		int ret = vtr_vring_pop(&q->vr, &dev->mem, &c);

		if (ret == -EAGAIN) {
			*ret_dry = true;
			break;
		}
		if (ret) {
			char why[200];

			snprintf(why, sizeof(why), "RX queue: %s", vtr_vring_strerror(&q->vr));
			break_device(dev, why);
			break;
		}
		if (c.in_len < HDR_LEN || (c.in_len == HDR_LEN && len > off)) {
			/* A buffer too small for a header (and some payload when there is some): the guest's
			 * mistake; give it back empty rather than loop on it. */
			dev->st.malformed++;
			if (vtr_vring_push(&q->vr, c.head, 0) == 0)
				q->need_notify = true;
			continue;
		}
		n = len - off;
		if (n > c.in_len - HDR_LEN)
			n = (uint32_t)(c.in_len - HDR_LEN);
		memcpy(part, hdr, HDR_LEN);
		vsm_put_le32(part + VSM_VH_LEN, n);
		flags = vsm_le32(hdr + VSM_VH_FLAGS);
		if (off + n < len && vsm_le16(hdr + VSM_VH_TYPE) == VSM_TYPE_SEQPACKET &&
		    vsm_le16(hdr + VSM_VH_OP) == VSM_OP_RW)
			vsm_put_le32(part + VSM_VH_FLAGS, flags & ~(uint32_t)(VSM_SEQ_EOM | VSM_SEQ_EOR));
		if (off + n < len || off)
			dev->st.splits += off == 0;
		vtr_chain_write(&c, 0, part, HDR_LEN);
		if (n)
			vtr_chain_write(&c, HDR_LEN, payload + off, n);
		if (vtr_vring_push(&q->vr, c.head, HDR_LEN + n) == 0)
			q->need_notify = true;
		dev->st.pkts_to_guest++;
		dev->st.bytes_to_guest += n;
		tap(dev, part, payload + off, n);
		off += n;
	} while (off < len && dev->running);
	return off;
}

/* Sends what is left of a packet split earlier; true when nothing is left. */
static bool flush_pending(struct vtr_vudev *dev)
{
	bool dry;

	if (!dev->pend)
		return true;
	dev->pend_off = rx_fill(dev, dev->pend_hdr, dev->pend_payload, dev->pend_len, dev->pend_off, &dry);
	if (dev->pend_off < dev->pend_len && dev->running)
		return false;
	dev->pend = false;
	return true;
}

int vtr_vudev_send(struct vtr_vudev *dev, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	uint32_t off;
	bool dry;

	if (!dev->running)
		return -ENOTCONN;
	if (len > VTR_VUDEV_MAX_PKT)
		return -EINVAL;
	if (!flush_pending(dev)) {
		dev->rx_waiting = true;
		return -EAGAIN;
	}
	off = rx_fill(dev, hdr, payload, len, 0, &dry);
	if (!dev->running)
		return -ENOTCONN;
	if (dry && off == 0) {
		/* No buffer for any of it (a header-only packet included): it waits for the guest's. */
		dev->rx_waiting = true;
		rx_empty_start(dev);
		return -EAGAIN;
	}
	if (off < len) {
		/* Part of it is in the guest's hands already: the rest must follow before anything else. */
		memcpy(dev->pend_hdr, hdr, HDR_LEN);
		memcpy(dev->pend_payload, payload + off, len - off);
		dev->pend_len = len - off;
		dev->pend_off = 0;
		dev->pend = true;
		rx_empty_start(dev);
	}
	return 0;
}

/* The guest posted RX buffers. */
static void rx_kicked(struct vtr_vudev *dev)
{
	if (!dev->running)
		return;
	if (!flush_pending(dev)) {
		vtr_vudev_notify(dev);
		return;
	}
	rx_empty_end(dev);
	if (dev->rx_waiting) {
		dev->rx_waiting = false;
		if (dev->ops.rx_ready)
			dev->ops.rx_ready(dev->ctx);
	}
	vtr_vudev_notify(dev);
}

/* ---- the public side ---- */

int vtr_vudev_new(const struct vtr_vudev_config *cfg, const struct vtr_vudev_ops *ops, void *ctx,
		  struct vtr_vudev **ret_dev)
{
	struct vtr_vudev *dev;

	/* virtio spec 5.10.4: CIDs 0, 1, 2 and 2^32 - 1 are reserved; the upper 32 bits are zero. */
	if (!cfg || !ops || !ops->deliver || cfg->guest_cid < 3 || cfg->guest_cid >= UINT32_MAX)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->cfg = *cfg;
	if (!dev->cfg.max_queue_size || dev->cfg.max_queue_size > VTR_VRING_MAX_SIZE)
		dev->cfg.max_queue_size = DEFAULT_MAX_QUEUE;
	snprintf(dev->name, sizeof(dev->name), "%s", cfg->name ? cfg->name : "vsock");
	dev->cfg.name = dev->name;
	dev->ops = *ops;
	dev->ctx = ctx;
	dev->sock = -1;
	dev->bounce = malloc(VTR_VUDEV_MAX_PKT);
	dev->pend_payload = malloc(VTR_VUDEV_MAX_PKT);
	if (!dev->bounce || !dev->pend_payload) {
		vtr_vudev_free(dev);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++) {
		dev->q[i].kick_fd = dev->q[i].call_fd = dev->q[i].err_fd = -1;
		vtr_vring_init(&dev->q[i].vr);
	}
	vtr_mem_init(&dev->mem);
	vtr_vu_reader_init(&dev->reader);
	*ret_dev = dev;
	return 0;
}

void vtr_vudev_free(struct vtr_vudev *dev)
{
	if (!dev)
		return;
	vtr_vudev_detach(dev);
	free(dev->segs);
	free(dev->bounce);
	free(dev->pend_payload);
	free(dev);
}

size_t vtr_vudev_pollfds(const struct vtr_vudev *dev, struct pollfd *pfds, size_t max)
{
	size_t n = 0;

	/* Kicks before the session socket: a message may close and replace the kick fds, so the caller
	 * handles them first, then the messages. */
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES && n < max; i++) {
		const struct queue *q = &dev->q[i];

		if (q->kick_fd < 0 || (i == VTR_VUDEV_TX && dev->tx_blocked))
			continue;
		pfds[n++] = (struct pollfd){ .fd = q->kick_fd, .events = POLLIN };
	}
	if (dev->sock >= 0 && n < max)
		pfds[n++] = (struct pollfd){ .fd = dev->sock, .events = POLLIN };
	return n;
}

int vtr_vudev_handle(struct vtr_vudev *dev, int fd, short revents)
{
	int ret;

	if (fd < 0 || !revents)
		return 0;
	if (fd == dev->q[VTR_VUDEV_TX].kick_fd) {
		if (drain(fd))
			dev->q[VTR_VUDEV_TX].kicks++;
		tx_process(dev);
		return 0;
	}
	if (fd == dev->q[VTR_VUDEV_RX].kick_fd) {
		if (drain(fd))
			dev->q[VTR_VUDEV_RX].kicks++;
		rx_kicked(dev);
		return 0;
	}
	if (fd != dev->sock)
		return 0;
	ret = session_input(dev);
	if (ret < 0) {
		vtr_vudev_detach(dev);
		return ret;
	}
	return 0;
}

bool vtr_vudev_running(const struct vtr_vudev *dev)
{
	return dev->running;
}

void vtr_vudev_set_tap(struct vtr_vudev *dev, struct vsm_tap *t)
{
	dev->tap = t;
}

void vtr_vudev_stats(const struct vtr_vudev *dev, struct vtr_vudev_stats *ret)
{
	*ret = dev->st;
	ret->attached = dev->sock >= 0;
	ret->running = dev->running;
	/* What this session negotiated (a new session starts from none). */
	ret->features = dev->features;
	ret->protocol_features = dev->protocol_features;
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++) {
		const struct queue *q = &dev->q[i];

		ret->q[i].size = q->vr.num;
		ret->q[i].started = q->started;
		ret->q[i].enabled = q->enabled;
		vtr_vring_stats(&q->vr, &ret->q[i].ring);
		ret->q[i].ring.pops += q->pops_before;
		ret->q[i].ring.pushes += q->pushes_before;
		ret->q[i].ring.notify_sent += q->sent_before;
		ret->q[i].ring.notify_suppressed += q->suppressed_before;
		ret->q[i].kicks = q->kicks;
		ret->q[i].calls = q->calls;
	}
	if (dev->st.rx_empty_now) {
		struct timespec now;

		mono_now(dev, &now);
		ret->rx_empty_ns += ns_between(&dev->rx_empty_since, &now);
	}
}
