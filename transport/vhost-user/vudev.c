/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vudev.c: one vhost-user-vsock device: the vhost-user session, guest memory, the RX and TX rings, the tap point. */
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

#define HDR_LEN		VSM_VIRTIO_HDR_LEN
#define OFF_LEN		24	/* virtio_vsock_hdr fields used here (virtio spec 5.10.6) */
#define OFF_TYPE	28
#define OFF_OP		30
#define OFF_FLAGS	32
#define DEFAULT_MAX_QUEUE VTR_VRING_MAX_SIZE
#define VHOST_F_LOG_ALL	26	/* vhost's "log all writes" feature bit (linux/vhost.h) */
/* TX chains taken per kick before the device lets other work run (it comes back by itself). */
#define TX_BATCH	256

/* The features the device offers (virtio spec 5.10.3; vhost-user "Feature bits"). */
#define DEVICE_FEATURES	((1ull << VTR_VIRTIO_F_VERSION_1) | (1ull << VTR_VIRTIO_F_EVENT_IDX) | \
			 (1ull << VTR_VIRTIO_F_INDIRECT_DESC) | (1ull << VTR_VIRTIO_F_NOTIFY_ON_EMPTY) | \
			 (1ull << VTR_VU_F_PROTOCOL_FEATURES))
#define PROTOCOL_FEATURES ((1ull << VTR_VU_PROTOCOL_F_REPLY_ACK) | (1ull << VTR_VU_PROTOCOL_F_CONFIG) | \
			   (1ull << VTR_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | \
			   (1ull << VTR_VU_PROTOCOL_F_RESET_DEVICE) | (1ull << VTR_VU_PROTOCOL_F_STATUS))

struct queue {
	struct vtr_vring vr;
	int kick_fd, call_fd, err_fd;
	bool started;			/* a kick fd came and no GET_VRING_BASE since (vhost-user "Ring states") */
	bool enabled;			/* SET_VRING_ENABLE 1, or no protocol features */
	bool addr_set;
	struct vtr_vu_vring_addr addr;	/* kept to translate again when the memory map changes */
	bool need_notify;		/* buffers pushed since the last notification decision */
	uint64_t kicks, calls;
	/* The ring's counters of the sessions and set-ups before this one: statistics add up over them. */
	uint64_t pops_before, pushes_before, sent_before, suppressed_before;
};

struct mapping {
	void *base;			/* what mmap() returned */
	size_t len;
};

struct vtr_vudev {
	struct vtr_vudev_config cfg;
	char name[32];
	struct vtr_vudev_ops ops;
	void *ctx;
	struct vtr_tap *tap;

	int sock;			/* the session, -1 when none */
	struct vtr_vu_reader reader;
	uint64_t features, protocol_features;	/* acked by the front-end */
	uint8_t status;			/* virtio device status (SET_STATUS) */

	struct vtr_mem mem;
	struct mapping maps[VTR_MEM_MAX_REGIONS];	/* parallel to mem.r */
	struct queue q[VTR_VUDEV_NQUEUES];
	struct vtr_seg *segs;		/* scatter list of one chain */
	unsigned segs_cap;
	uint8_t *bounce;		/* a TX payload spread over several descriptors, copied */

	bool running;			/* as last reported through ops->started / ops->stopped */
	bool broken;			/* stopped until the front-end sets the rings up again */
	bool tx_blocked;		/* ops->can_deliver said no */
	bool rx_waiting;		/* a send found no buffer: tell ops->rx_ready when one comes */

	/* A packet to the guest whose first parts went into the ring, the rest waiting for buffers. */
	bool pend;
	uint8_t pend_hdr[HDR_LEN];
	uint8_t *pend_payload;		/* VTR_VUDEV_MAX_PKT bytes */
	uint32_t pend_len, pend_off;

	struct timespec rx_empty_since;
	struct vtr_vudev_stats st;
};

/* ---- small helpers ---- */

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

__attribute__((format(printf, 2, 3)))
static void set_error(struct vtr_vudev *dev, const char *fmt, ...)
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

static bool can_run(const struct vtr_vudev *dev)
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
static void update_running(struct vtr_vudev *dev, int why, const char *reason)
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

/* ---- memory ---- */

static void unmap_all(struct vtr_vudev *dev)
{
	/* The rings point into this memory: they wait for a new translation (retranslate()). */
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
		dev->q[i].vr.ready = false;
	for (unsigned i = 0; i < dev->mem.n; i++)
		munmap(dev->maps[i].base, dev->maps[i].len);
	vtr_mem_init(&dev->mem);
	dev->st.regions = 0;
	dev->st.mem_bytes = 0;
}

/* Maps one region from its fd (which is closed here either way) and adds it to the map. */
static int map_region(struct vtr_vudev *dev, const struct vtr_vu_region *r, int fd)
{
	struct vtr_mem_region reg = {
		.guest_phys_addr = r->guest_phys_addr, .memory_size = r->memory_size,
		.userspace_addr = r->userspace_addr, .mmap_offset = r->mmap_offset,
	};
	size_t len;
	void *base;
	int ret;

	/* The front-end maps from offset 0 of the fd; the region starts mmap_offset bytes in. */
	if (!r->memory_size || r->mmap_offset > SIZE_MAX - r->memory_size) {
		close(fd);
		return -EINVAL;
	}
	len = (size_t)(r->mmap_offset + r->memory_size);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	ret = base == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret)
		return ret;
	reg.host = (uint8_t *)base + r->mmap_offset;
	ret = vtr_mem_add(&dev->mem, &reg);
	if (ret) {
		munmap(base, len);
		return ret;
	}
	dev->maps[dev->mem.n - 1] = (struct mapping){ base, len };
	dev->st.regions = dev->mem.n;
	dev->st.mem_bytes += r->memory_size;
	return 0;
}

/* Ring addresses are front-end virtual addresses: translate them again whenever the map changes. */
static void retranslate(struct vtr_vudev *dev)
{
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++) {
		struct queue *q = &dev->q[i];
		uint16_t base = vtr_vring_get_base(&q->vr);

		if (!q->addr_set || !q->vr.num)
			continue;
		if (vtr_vring_set_addr(&q->vr, &dev->mem, VTR_VRING_ADDR_UVA, q->addr.desc, q->addr.avail,
				       q->addr.used) == 0)
			vtr_vring_set_base(&q->vr, base);
	}
}

static int set_mem_table(struct vtr_vudev *dev, struct vtr_vu_msg *msg)
{
	int ret = 0;

	unmap_all(dev);
	for (unsigned i = 0; i < msg->p.mem.nregions; i++) {
		int fd = msg->fds[i];

		msg->fds[i] = -1;
		if (!ret)
			ret = map_region(dev, &msg->p.mem.regions[i], fd);
		else
			close(fd);
	}
	if (ret) {
		set_error(dev, "SET_MEM_TABLE: region cannot be mapped: %s", strerror(-ret));
		unmap_all(dev);
	}
	retranslate(dev);
	return ret;
}

static int add_mem_reg(struct vtr_vudev *dev, struct vtr_vu_msg *msg)
{
	int fd = msg->fds[0], ret;

	msg->fds[0] = -1;
	if (dev->mem.n == VTR_MEM_MAX_REGIONS) {
		close(fd);
		return -ENOSPC;
	}
	ret = map_region(dev, &msg->p.reg.region, fd);
	if (ret)
		set_error(dev, "ADD_MEM_REG: region cannot be mapped: %s", strerror(-ret));
	retranslate(dev);
	return ret;
}

static int rem_mem_reg(struct vtr_vudev *dev, const struct vtr_vu_msg *msg)
{
	const struct vtr_vu_region *r = &msg->p.reg.region;

	for (unsigned i = 0; i < dev->mem.n; i++) {
		struct mapping m = dev->maps[i];

		if (dev->mem.r[i].guest_phys_addr != r->guest_phys_addr ||
		    dev->mem.r[i].memory_size != r->memory_size || dev->mem.r[i].userspace_addr != r->userspace_addr)
			continue;
		vtr_mem_remove(&dev->mem, r->guest_phys_addr, r->memory_size, r->userspace_addr, NULL);
		memmove(&dev->maps[i], &dev->maps[i + 1], (dev->mem.n - i) * sizeof(dev->maps[0]));
		munmap(m.base, m.len);
		dev->st.regions = dev->mem.n;
		dev->st.mem_bytes -= r->memory_size;
		/* A ring in the region that went away can no longer be used. */
		for (unsigned k = 0; k < VTR_VUDEV_NQUEUES; k++)
			if (dev->q[k].addr_set)
				dev->q[k].vr.ready = false;
		retranslate(dev);
		return 0;
	}
	return -ENOENT;
}

/* ---- rings ---- */

/*
 * Back to a ring nobody has set up: size, addresses, indexes and the kick fd go. The call and error
 * fds stay unless the session ends (close_fds): they belong to the front-end's interrupt wiring,
 * which QEMU sets once per start (vhost_virtqueue_mask()) and need not send again after a reset.
 */
static void queue_reset(struct queue *q, bool close_fds)
{
	q->pops_before += q->vr.stats.pops;
	q->pushes_before += q->vr.stats.pushes;
	q->sent_before += q->vr.stats.notify_sent;
	q->suppressed_before += q->vr.stats.notify_suppressed;
	close_fd(&q->kick_fd);
	if (close_fds) {
		close_fd(&q->call_fd);
		close_fd(&q->err_fd);
	}
	vtr_vring_init(&q->vr);
	q->started = q->enabled = q->addr_set = q->need_notify = false;
}

/*
 * A device reset, as a hardware reset would do it: the rings stop and forget their set-up, the
 * device status goes back to 0, and the owner's connections end (ops->stopped). The session stays:
 * vhost-user "VHOST_USER_RESET_DEVICE" resets the device, not the front-end's protocol state. QEMU
 * sends it from 9.2 on (virtio_reset() -> vhost_user_reset_device(), made effective by "virtio:
 * Always reset vhost devices"): once at start-up before any SET_FEATURES, at every machine reset and
 * after every driver reset, and never again sends SET_PROTOCOL_FEATURES, SET_VRING_ERR or the memory
 * it has already given (with CONFIGURE_MEM_SLOTS, vhost_user_add_remove_regions() sends only what
 * changed against its per-session copy). Acked features stay too, until the next SET_FEATURES
 * (QEMU sends one at every start, vhost_dev_set_features()).
 */
static void device_reset(struct vtr_vudev *dev, const char *reason)
{
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
		queue_reset(&dev->q[i], false);
	dev->status = 0;
	dev->broken = dev->tx_blocked = false;
	update_running(dev, VTR_VUDEV_STOP_RESET, reason);
}

/* Back to the state before any message: what a new or a closed session starts from. */
static void session_reset(struct vtr_vudev *dev)
{
	for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
		queue_reset(&dev->q[i], true);
	unmap_all(dev);
	dev->features = dev->protocol_features = 0;
	dev->status = 0;
	dev->broken = dev->tx_blocked = false;
}

static struct queue *msg_queue(struct vtr_vudev *dev, uint64_t index)
{
	return index < VTR_VUDEV_NQUEUES ? &dev->q[index] : NULL;
}

static int set_vring_num(struct vtr_vudev *dev, struct queue *q, unsigned num)
{
	if (num > dev->cfg.max_queue_size || vtr_vring_set_num(&q->vr, num))
		return -EINVAL;
	if (VTR_VRING_MAX_SEGS(num) > dev->segs_cap) {
		struct vtr_seg *s = realloc(dev->segs, VTR_VRING_MAX_SEGS(num) * sizeof(*s));

		if (!s)
			return -ENOMEM;
		dev->segs = s;
		dev->segs_cap = VTR_VRING_MAX_SEGS(num);
	}
	q->addr_set = false;
	return 0;
}

static int set_vring_addr(struct vtr_vudev *dev, struct queue *q, const struct vtr_vu_vring_addr *a)
{
	uint16_t base = vtr_vring_get_base(&q->vr);
	int ret;

	q->addr = *a;
	q->addr_set = true;
	ret = vtr_vring_set_addr(&q->vr, &dev->mem, VTR_VRING_ADDR_UVA, a->desc, a->avail, a->used);
	if (ret) {
		set_error(dev, "SET_VRING_ADDR %u: rings at desc 0x%" PRIx64 " avail 0x%" PRIx64 " used 0x%" PRIx64
			  " are not in the memory map or misaligned", a->index, a->desc, a->avail, a->used);
		return ret;
	}
	vtr_vring_set_base(&q->vr, base);
	vtr_vring_set_features(&q->vr, dev->features);
	dev->broken = false;
	return 0;
}

/* Takes an eventfd for a ring (or none: VTR_VU_VRING_NOFD). */
static void set_vring_fd(struct vtr_vu_msg *msg, int *slot)
{
	close_fd(slot);
	if (!(msg->p.u64 & VTR_VU_VRING_NOFD) && msg->nfds == 1) {
		*slot = msg->fds[0];
		msg->fds[0] = -1;
		fcntl(*slot, F_SETFL, fcntl(*slot, F_GETFL) | O_NONBLOCK);
	}
}

/* GET_VRING_BASE stops the ring: the driver is resetting the device, or QEMU stops the VM. */
static uint16_t stop_queue(struct vtr_vudev *dev, struct queue *q)
{
	q->started = false;
	close_fd(&q->kick_fd);
	if (dev->running)
		update_running(dev, VTR_VUDEV_STOP_RESET, "the front-end stopped a ring (GET_VRING_BASE)");
	return vtr_vring_get_base(&q->vr);
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

	if (!dev->tap || !vtr_tap_active(dev->tap))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	vtr_tap_packet(dev->tap, &ts, hdr, payload, len);
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
	len = rd32(hdr + OFF_LEN);
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
		wr32(part + OFF_LEN, n);
		flags = rd32(hdr + OFF_FLAGS);
		if (off + n < len && rd16(hdr + OFF_TYPE) == VSM_TYPE_SEQPACKET && rd16(hdr + OFF_OP) == VSM_OP_RW)
			wr32(part + OFF_FLAGS, flags & ~(uint32_t)(VSM_SEQ_EOM | VSM_SEQ_EOR));
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

/* ---- vhost-user messages ---- */

static int reply(struct vtr_vudev *dev, struct vtr_vu_msg *msg, uint32_t size)
{
	msg->flags = VTR_VU_VERSION | VTR_VU_REPLY;
	msg->size = size;
	return vtr_vu_write(dev->sock, msg, NULL, 0);
}

static int reply_u64(struct vtr_vudev *dev, struct vtr_vu_msg *msg, uint64_t v)
{
	msg->p.u64 = v;
	return reply(dev, msg, sizeof(uint64_t));
}

/*
 * Acts on one request. Returns the request's status (0 or -errno): requests without a reply of
 * their own report it through REPLY_ACK when the front-end asked (need_reply).
 */
static int handle_request(struct vtr_vudev *dev, struct vtr_vu_msg *msg, bool *ret_replied)
{
	const char *name = vtr_vu_request_name(msg->request);
	struct queue *q;
	int ret = 0;

	*ret_replied = false;
	switch (msg->request) {
	case VTR_VU_GET_FEATURES: {
		uint64_t f = DEVICE_FEATURES;

		if (!dev->cfg.no_seqpacket)
			f |= 1ull << VTR_VIRTIO_VSOCK_F_SEQPACKET;
		*ret_replied = true;
		ret = reply_u64(dev, msg, f);
		break;
	}
	case VTR_VU_SET_FEATURES: {
		uint64_t offered = DEVICE_FEATURES | (dev->cfg.no_seqpacket ? 0 : 1ull << VTR_VIRTIO_VSOCK_F_SEQPACKET);

		/* VHOST_F_LOG_ALL (26) is QEMU's own bit: it sets it, asking for an ack, whenever dirty
		 * logging starts (calc-dirty-rate, dirty-limit), and QEMU 10.0 and older abort on a refusal
		 * (vhost_log_global_start()). Taken and ignored: a vsock device cannot migrate
		 * (vhost-user-vsock is unmigratable), so nobody reads the log. */
		if (msg->p.u64 & ~(offered | 1ull << VHOST_F_LOG_ALL)) {
			set_error(dev, "SET_FEATURES 0x%" PRIx64 ": bits the device did not offer", msg->p.u64);
			ret = -EINVAL;
			break;
		}
		dev->features = msg->p.u64 & ~(1ull << VHOST_F_LOG_ALL);
		for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
			vtr_vring_set_features(&dev->q[i].vr, dev->features);
		ret = 0;
		break;
	}
	case VTR_VU_GET_PROTOCOL_FEATURES:
		*ret_replied = true;
		ret = reply_u64(dev, msg, PROTOCOL_FEATURES);
		break;
	case VTR_VU_SET_PROTOCOL_FEATURES:
		if (msg->p.u64 & ~PROTOCOL_FEATURES) {
			set_error(dev, "SET_PROTOCOL_FEATURES 0x%" PRIx64 ": bits the device did not offer", msg->p.u64);
			ret = -EINVAL;
			break;
		}
		dev->protocol_features = msg->p.u64;
		ret = 0;
		break;
	case VTR_VU_SET_OWNER:
		ret = 0;
		break;
	case VTR_VU_RESET_OWNER:
		/* Deprecated: "ignore it, or disable all rings" (vhost-user.rst); no QEMU from 7.2 to 10.2
		 * sends it to a vsock device. The rings are disabled, nothing else. */
		for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
			dev->q[i].enabled = false;
		break;
	case VTR_VU_RESET_DEVICE:
		dev->st.device_resets++;
		device_reset(dev, "the front-end reset the device (RESET_DEVICE)");
		ret = 0;
		break;
	case VTR_VU_GET_QUEUE_NUM:
		*ret_replied = true;
		ret = reply_u64(dev, msg, VTR_VUDEV_NQUEUES);
		break;
	case VTR_VU_GET_MAX_MEM_SLOTS:
		*ret_replied = true;
		ret = reply_u64(dev, msg, VTR_MEM_MAX_REGIONS);
		break;
	case VTR_VU_SET_MEM_TABLE:
		ret = set_mem_table(dev, msg);
		break;
	case VTR_VU_ADD_MEM_REG:
		ret = add_mem_reg(dev, msg);
		break;
	case VTR_VU_REM_MEM_REG:
		ret = rem_mem_reg(dev, msg);
		break;
	case VTR_VU_GET_CONFIG: {
		/* struct virtio_vsock_config: le64 guest_cid (virtio spec 5.10.4) */
		uint8_t space[8];
		uint64_t cid = htole64(dev->cfg.guest_cid);
		uint32_t off = msg->p.config.offset, size = msg->p.config.size;

		memcpy(space, &cid, sizeof(space));
		*ret_replied = true;
		if (off > sizeof(space) || size > sizeof(space) - off) {
			/* vhost-user: a failed GET_CONFIG is answered with an empty payload. */
			ret = reply(dev, msg, 0);
			break;
		}
		memcpy(msg->p.config.payload, space + off, size);
		ret = reply(dev, msg, 12 + size);
		break;
	}
	case VTR_VU_SET_CONFIG:
		set_error(dev, "SET_CONFIG: the vsock config space is read-only");
		ret = -EPERM;
		break;
	case VTR_VU_SET_VRING_NUM:
		if (!(q = msg_queue(dev, msg->p.state.index))) {
			ret = -EINVAL;
			break;
		}
		ret = set_vring_num(dev, q, msg->p.state.num);
		if (ret)
			set_error(dev, "SET_VRING_NUM %u: size %u is not a power of two up to %u", msg->p.state.index,
				  msg->p.state.num, dev->cfg.max_queue_size);
		break;
	case VTR_VU_SET_VRING_ADDR:
		if (!(q = msg_queue(dev, msg->p.addr.index))) {
			ret = -EINVAL;
			break;
		}
		ret = set_vring_addr(dev, q, &msg->p.addr);
		break;
	case VTR_VU_SET_VRING_BASE:
		if (!(q = msg_queue(dev, msg->p.state.index))) {
			ret = -EINVAL;
			break;
		}
		vtr_vring_set_base(&q->vr, (uint16_t)msg->p.state.num);
		break;
	case VTR_VU_GET_VRING_BASE:
		if (!(q = msg_queue(dev, msg->p.state.index))) {
			ret = -EINVAL;
			break;
		}
		msg->p.state.num = stop_queue(dev, q);
		*ret_replied = true;
		ret = reply(dev, msg, sizeof(msg->p.state));
		break;
	case VTR_VU_SET_VRING_KICK:
		if (!(q = msg_queue(dev, msg->p.u64 & VTR_VU_VRING_IDX_MASK))) {
			ret = -EINVAL;
			break;
		}
		set_vring_fd(msg, &q->kick_fd);
		/* vhost-user "Ring states": a kick fd starts the ring; without protocol features it is
		 * enabled at once, with them it waits for SET_VRING_ENABLE. */
		q->started = q->kick_fd >= 0;
		if (!(dev->features & (1ull << VTR_VU_F_PROTOCOL_FEATURES)))
			q->enabled = true;
		break;
	case VTR_VU_SET_VRING_CALL:
		if (!(q = msg_queue(dev, msg->p.u64 & VTR_VU_VRING_IDX_MASK))) {
			ret = -EINVAL;
			break;
		}
		set_vring_fd(msg, &q->call_fd);
		break;
	case VTR_VU_SET_VRING_ERR:
		if (!(q = msg_queue(dev, msg->p.u64 & VTR_VU_VRING_IDX_MASK))) {
			ret = -EINVAL;
			break;
		}
		set_vring_fd(msg, &q->err_fd);
		break;
	case VTR_VU_SET_VRING_ENABLE:
		if (!(q = msg_queue(dev, msg->p.state.index))) {
			ret = -EINVAL;
			break;
		}
		q->enabled = msg->p.state.num != 0;
		break;
	case VTR_VU_SET_STATUS:
		dev->status = (uint8_t)msg->p.u64;
		/* Status 0 is the driver resetting the device (virtio spec 2.1), but a front-end may also
		 * write it when it merely stops the device (QEMU's vhost_user_reset_status(), which vsock
		 * never reaches: it acts on the last device of a multi-queue set), before GET_VRING_BASE,
		 * which must still answer the ring's index for the restart: the rings only stop here.
		 * RESET_DEVICE, where QEMU sends it, is the reset. */
		if (!dev->status)
			dev->st.status_resets++;
		if (!dev->status && dev->running) {
			for (unsigned i = 0; i < VTR_VUDEV_NQUEUES; i++)
				dev->q[i].started = false;
			update_running(dev, VTR_VUDEV_STOP_RESET, "the driver reset the device (status 0)");
		}
		ret = 0;
		break;
	case VTR_VU_GET_STATUS:
		*ret_replied = true;
		ret = reply_u64(dev, msg, dev->status);
		break;
	default:
		set_error(dev, "request %s (%u) is not supported", name ? name : "?", msg->request);
		ret = -EOPNOTSUPP;
		break;
	}
	/* Every request ends here: whatever it changed (memory, rings, features, status), the device
	 * comes up or goes down by the same rule. */
	if (ret == -EINVAL && !dev->st.last_error[0])
		set_error(dev, "%s: invalid", name);
	if (dev->running && !can_run(dev)) {
		char why[80];

		snprintf(why, sizeof(why), "the front-end stopped the device (%s)", name);
		update_running(dev, VTR_VUDEV_STOP_RESET, why);
	} else {
		update_running(dev, VTR_VUDEV_STOP_RESET, "");
	}
	return ret;
}

/* Reads and handles every whole message that has arrived; -errno when the session is over. */
static int session_input(struct vtr_vudev *dev)
{
	for (;;) {
		struct vtr_vu_msg msg;
		char why[160];
		bool replied;
		int ret = vtr_vu_read(dev->sock, &dev->reader, &msg);

		if (ret == 0)
			return 0;
		if (ret < 0) {
			if (ret != -EPIPE)
				set_error(dev, "vhost-user session: %s", ret == -EMSGSIZE ? "message too large" :
					  ret == -ECONNRESET ? "closed inside a message" : strerror(-ret));
			return ret;
		}
		if (vtr_vu_check_request(&msg, why, sizeof(why))) {
			set_error(dev, "%s", why);
			ret = -EPROTO;
			replied = false;
		} else {
			ret = handle_request(dev, &msg, &replied);
		}
		vtr_vu_msg_close_fds(&msg);
		if (replied) {
			if (ret < 0)
				return ret;	/* the reply could not be written */
			continue;
		}
		/* A request whose answer we cannot give (a bad ring index, a malformed GET_*): the
		 * front-end would wait for it for ever, so the session ends instead, with the reason. */
		if (vtr_vu_request_has_reply(msg.request)) {
			if (ret != -EPROTO)	/* the check's refusal already says why */
				set_error(dev, "%s: invalid (%s), no answer to give: the session ends",
					  vtr_vu_request_name(msg.request), strerror(ret ? -ret : EINVAL));
			return -EPROTO;
		}
		/* REPLY_ACK: a request that asked for an answer gets its status (vhost-user "REPLY_ACK"). */
		if ((msg.flags & VTR_VU_NEED_REPLY) &&
		    (dev->protocol_features & (1ull << VTR_VU_PROTOCOL_F_REPLY_ACK))) {
			int wret = reply_u64(dev, &msg, ret ? 1 : 0);

			if (wret < 0)
				return wret;
		}
	}
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

int vtr_vudev_attach(struct vtr_vudev *dev, int sock)
{
	if (dev->sock >= 0)
		return -EBUSY;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	dev->sock = sock;
	vtr_vu_reader_init(&dev->reader);
	session_reset(dev);
	dev->st.sessions++;
	return 0;
}

bool vtr_vudev_attached(const struct vtr_vudev *dev)
{
	return dev->sock >= 0;
}

void vtr_vudev_detach(struct vtr_vudev *dev)
{
	if (dev->sock < 0)
		return;
	close_fd(&dev->sock);
	vtr_vu_reader_reset(&dev->reader);
	session_reset(dev);
	update_running(dev, VTR_VUDEV_STOP_DISCONNECT, "the front-end closed the session");
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

void vtr_vudev_set_tap(struct vtr_vudev *dev, struct vtr_tap *t)
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
