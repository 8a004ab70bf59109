/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vusession.c: the vhost-user session of the vsock device: its messages (vhost-user.rst), the memory table and the rings' set-up. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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

#define VHOST_F_LOG_ALL	26	/* vhost's "log all writes" feature bit (linux/vhost.h) */

/* The features the device offers (virtio spec 5.10.3; vhost-user "Feature bits"). */
#define DEVICE_FEATURES	((1ull << VTR_VIRTIO_F_VERSION_1) | (1ull << VTR_VIRTIO_F_EVENT_IDX) | \
			 (1ull << VTR_VIRTIO_F_INDIRECT_DESC) | (1ull << VTR_VIRTIO_F_NOTIFY_ON_EMPTY) | \
			 (1ull << VTR_VU_F_PROTOCOL_FEATURES))
#define PROTOCOL_FEATURES ((1ull << VTR_VU_PROTOCOL_F_REPLY_ACK) | (1ull << VTR_VU_PROTOCOL_F_CONFIG) | \
			   (1ull << VTR_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | \
			   (1ull << VTR_VU_PROTOCOL_F_RESET_DEVICE) | (1ull << VTR_VU_PROTOCOL_F_STATUS))

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

void session_reset(struct vtr_vudev *dev)
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
		uint32_t off = msg->p.config.offset, size = msg->p.config.size;

		vsm_put_le64(space, dev->cfg.guest_cid);
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

int session_input(struct vtr_vudev *dev)
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

/* ---- the session's start and end ---- */

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

