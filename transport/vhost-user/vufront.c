/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vufront.c: a vhost-user front-end that plays QEMU plus a guest's virtio-vsock driver, and runs a guest engine. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/decode.h>
#include <vsockmon/wire.h>
#include <vtr/vhost_user.h>
#include <vtr/vring.h>
#include <vtr/vufront.h>

#include <vtr/vdrv.h>

#define HDR_LEN		VSM_VIRTIO_HDR_LEN	/* struct virtio_vsock_hdr, virtio 1.3 §5.10.6 */
#define RX		0	/* virtio 1.3 §5.10.2: queue 0 rx (device to driver), 1 tx; the */
#define TX		1	/* event queue (2) stays with the front-end, as QEMU keeps it */
#define NRINGS		2

#define DEFAULT_MEM		(64u << 20)
#define DEFAULT_QUEUE		256
#define DEFAULT_RX_BUF		(4096 + HDR_LEN)	/* Linux's VIRTIO_VSOCK_DEFAULT_RX_BUF_SIZE + header */
#define DEFAULT_TIMEOUT_MS	5000
#define MIN_RX_BUF		64
#define MAX_RX_BUF		(1u << 20)
#define MIN_REGION		(64u << 10)
#define SCATTER_FRAG		4096	/* payload pieces of the scatter layout (a page, as skb frags) */
#define SCATTER_HDR_CUT		20	/* the scatter layout's header: 20 bytes, then 24 */
#define IND_PER_TABLE		2	/* the indirect layout: header and payload */

/*
 * Where guest memory sits. Guest-physical addresses start above 4 GiB (a back-end that keeps
 * them in 32 bits fails at once) and run in the reverse order of the memfd offsets; the
 * front-end's windows have unmapped gaps between them: a back-end that confuses the address
 * spaces, ignores mmap_offset or assumes one contiguous block reads the wrong bytes or faults.
 */
#define GPA_BASE	0x100000000ull
#define GPA_GAP		0x200000ull
#define UVA_GAP_PAGES	16

/* Virtio feature bits (virtio 1.2 §6, 1.3 §5.10.3). */
#define F_SEQPACKET	1
#define F_INDIRECT	28
#define F_EVENT_IDX	29
#define F_VERSION_1	32
#define BIT(n)		(1ull << (n))

/* Device status bits (virtio 1.2 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8

struct region {
	uint8_t *host;		/* our window; also its userspace_addr in SET_MEM_TABLE */
	uint64_t gpa, size;
	uint64_t offset;	/* in the memfd */
	size_t used;		/* bump allocator */
};

/* A buffer in guest memory: our pointer and its guest-physical address. */
struct gbuf {
	uint8_t *host;
	uint64_t gpa;
};

struct ring {
	struct vdrv vq;
	uint8_t *desc, *avail, *used;	/* host pointers = front-end virtual addresses */
	int kick, call;			/* eventfds */
};

struct vtr_vufront {
	/* the vhost-user session */
	int sock;
	struct vtr_vu_reader reader;
	int timeout_ms;
	uint64_t features, protocol_features;
	bool ack;			/* REPLY_ACK negotiated: NEED_REPLY on requests without a reply */
	bool rings_started;		/* stop them (GET_VRING_BASE) on free */
	uint64_t guest_cid;

	/* guest memory */
	int memfd;
	void *reserve;			/* the address range the windows sit in */
	size_t reserve_len;
	unsigned nregions, rr;		/* rr: the region the next allocation tries first */
	struct region reg[VTR_VU_MAX_REGIONS];

	/* virtqueues */
	unsigned num;
	struct ring ring[NRINGS];
	uint32_t rx_buf_size;
	struct gbuf *rx_buf;		/* num RX buffers; the cookie of a chain is its index */
	uint8_t *rx_copy;		/* one RX buffer copied out of shared memory */
	enum vtr_vufront_tx_layout layout;
	uint32_t max_payload;		/* the engine's max_pkt: what a TX slot holds after the header */
	unsigned nslots, nfree_slots;
	struct gbuf *slot;		/* TX packet buffers; the cookie of a chain is its slot */
	uint32_t *free_slot;		/* stack of free slots */
	struct vdrv_buf *bufs;		/* scratch for one TX chain */
	struct gbuf ind;		/* the TX indirect tables */

	/* the guest */
	struct vtr_engine *engine;
	struct vtr_ops user_ops;
	void *user_ctx;
	bool in_process;		/* kicks wait for the end of vtr_vufront_process() */
	bool more;			/* process() stopped at its budget: call it again */

	bool qemu_10;			/* QEMU 8.2 to 10.x's protocol (vtr_vufront_config.qemu_10) */
	bool mem_sent;			/* the back-end has our memory (ADD_MEM_REG sends only changes) */
	uint8_t status;			/* the virtio device status, as the driver wrote it last */
	struct vtr_config engine_cfg;	/* to make the guest engine again after a reset */

	struct vtr_vufront_stats stats;
	int error;			/* sticky: why the session broke */
	char errmsg[256];
};

__attribute__((format(printf, 3, 4)))
static int fail(struct vtr_vufront *f, int err, const char *fmt, ...)
{
	va_list ap;

	if (f->error)
		return err;	/* the first reason is the one to tell */
	va_start(ap, fmt);
	vsnprintf(f->errmsg, sizeof(f->errmsg), fmt, ap);
	va_end(ap);
	f->error = err;
	return err;
}

static const char *req_name(uint32_t request)
{
	const char *name = vtr_vu_request_name(request);

	return name ? name : "an unknown request";
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the vhost-user session (QEMU docs/interop/vhost-user.rst) ---- */

/* One whole message from the back-end, within the reply timeout. */
static int await_msg(struct vtr_vufront *f, const char *what, struct vtr_vu_msg *ret_msg)
{
	int64_t deadline = now_ms() + f->timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
		int64_t left;
		int ret = vtr_vu_read(f->sock, &f->reader, ret_msg);

		if (ret == 1)
			return 0;
		if (ret == -EPIPE)
			return fail(f, -EPIPE, "%s: the back-end closed the connection instead of answering", what);
		if (ret == -ECONNRESET)
			return fail(f, -ECONNRESET, "%s: the back-end closed the connection inside its answer", what);
		if (ret == -EMSGSIZE)
			return fail(f, -EPROTO, "%s: the back-end answered with a payload larger than any message "
				    "(%zu bytes)", what, VTR_VU_MAX_PAYLOAD);
		if (ret < 0)
			return fail(f, ret, "%s: reading the answer: %s", what, strerror(-ret));
		left = deadline - now_ms();
		if (left <= 0)
			return fail(f, -ETIMEDOUT, "%s: no answer from the back-end within %d ms", what, f->timeout_ms);
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return fail(f, -errno, "%s: poll: %s", what, strerror(errno));
	}
}

/* Checks an answer as QEMU's vhost_user_read() does: same request, flags exactly version 1 | REPLY. */
static int check_reply(struct vtr_vufront *f, const struct vtr_vu_msg *req, const struct vtr_vu_msg *reply,
		       size_t size)
{
	const char *name = req_name(req->request);

	if (reply->request != req->request)
		return fail(f, -EPROTO, "%s: the back-end answered with %s (%" PRIu32 ") instead", name,
			    req_name(reply->request), reply->request);
	if (reply->flags != (VTR_VU_VERSION | VTR_VU_REPLY))
		return fail(f, -EPROTO, "%s: answer with flags 0x%" PRIx32 ", not 0x5 (version 1, reply)", name,
			    reply->flags);
	if (reply->size != size)
		return fail(f, -EPROTO, "%s: answer with a payload of %" PRIu32 " bytes, not %zu", name, reply->size,
			    size);
	if (reply->nfds)
		return fail(f, -EPROTO, "%s: answer came with %u fds, none expected", name, reply->nfds);
	return 0;
}

/*
 * Sends a request and takes its answer: reply_size >= 0 for requests with an answer of their own
 * (GET_*), -1 for those without; these get NEED_REPLY when REPLY_ACK is negotiated, and the u64
 * status of the ack must be 0 (vhost-user.rst, "REPLY_ACK").
 */
static int vu_call(struct vtr_vufront *f, struct vtr_vu_msg *req, const int *fds, unsigned nfds, int reply_size,
		   struct vtr_vu_msg *ret_reply)
{
	const char *name = req_name(req->request);
	bool want_ack = reply_size < 0 && f->ack;
	struct vtr_vu_msg reply;
	int ret;

	if (f->error)
		return f->error;
	req->flags = VTR_VU_VERSION | (want_ack ? VTR_VU_NEED_REPLY : 0);
	ret = vtr_vu_write(f->sock, req, fds, nfds);
	if (ret)
		return fail(f, ret, "%s: sending: %s", name, strerror(-ret));
	if (reply_size < 0 && !want_ack)
		return 0;
	ret = await_msg(f, name, &reply);
	if (ret)
		return ret;
	ret = check_reply(f, req, &reply, want_ack ? sizeof(uint64_t) : (size_t)reply_size);
	if (ret) {
		vtr_vu_msg_close_fds(&reply);
		return ret;
	}
	if (want_ack && reply.p.u64)
		return fail(f, -EPROTO, "%s: the back-end refused it (REPLY_ACK status 0x%" PRIx64 ")", name,
			    reply.p.u64);
	if (ret_reply)
		*ret_reply = reply;
	return 0;
}

static int call_u64(struct vtr_vufront *f, uint32_t request, uint64_t v)
{
	struct vtr_vu_msg m = { .request = request, .size = sizeof(uint64_t), .p.u64 = v };

	return vu_call(f, &m, NULL, 0, -1, NULL);
}

static int call_state(struct vtr_vufront *f, uint32_t request, uint32_t index, uint32_t num)
{
	struct vtr_vu_msg m = { .request = request, .size = sizeof(struct vtr_vu_vring_state),
				.p.state = { index, num } };

	return vu_call(f, &m, NULL, 0, -1, NULL);
}

static int get_u64(struct vtr_vufront *f, uint32_t request, uint64_t *ret_v)
{
	struct vtr_vu_msg m = { .request = request }, reply = { 0 };
	int ret = vu_call(f, &m, NULL, 0, sizeof(uint64_t), &reply);

	if (!ret)
		*ret_v = reply.p.u64;
	return ret;
}

int vtr_vufront_request(struct vtr_vufront *f, struct vtr_vu_msg *msg, const int *fds, unsigned nfds,
			struct vtr_vu_msg *ret_reply)
{
	const char *name = req_name(msg->request);
	int ret;

	if (f->error)
		return f->error;
	msg->flags = (msg->flags & ~VTR_VU_VERSION_MASK) | VTR_VU_VERSION;
	ret = vtr_vu_write(f->sock, msg, fds, nfds);
	if (ret)
		return fail(f, ret, "%s: sending: %s", name, strerror(-ret));
	if (!ret_reply)
		return 0;
	ret = await_msg(f, name, ret_reply);
	if (ret)
		return ret;
	if (ret_reply->request != msg->request || !(ret_reply->flags & VTR_VU_REPLY)) {
		vtr_vu_msg_close_fds(ret_reply);
		return fail(f, -EPROTO, "%s: the back-end answered with %s (%" PRIu32 ", flags 0x%" PRIx32 ")",
			    name, req_name(ret_reply->request), ret_reply->request, ret_reply->flags);
	}
	return 0;
}

static int open_socket(struct vtr_vufront *f, const struct vtr_vufront_config *cfg)
{
	int fl;

	if (cfg->socket_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(cfg->socket_path) >= sizeof(sa.sun_path))
			return fail(f, -ENAMETOOLONG, "socket path too long: %s", cfg->socket_path);
		strcpy(sa.sun_path, cfg->socket_path);
		f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (f->sock < 0)
			return fail(f, -errno, "socket: %s", strerror(errno));
		if (connect(f->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail(f, -errno, "connect %s: %s", cfg->socket_path, strerror(errno));
	}
	/* Non-blocking: every wait for an answer is bounded by the reply timeout. */
	fl = fcntl(f->sock, F_GETFL);
	if (fl < 0 || fcntl(f->sock, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail(f, -errno, "vhost-user socket: %s", strerror(errno));
	return 0;
}

static int reset_device(struct vtr_vufront *f);

/*
 * The handshake up to the features, in QEMU 7.2's order for vhost-user-vsock-pci (realize, then
 * the driver's start): GET_FEATURES, GET/SET_PROTOCOL_FEATURES, SET_OWNER, GET_CONFIG, SET_FEATURES.
 */
static int negotiate(struct vtr_vufront *f, const struct vtr_vufront_config *cfg)
{
	uint64_t want_proto = BIT(VTR_VU_PROTOCOL_F_REPLY_ACK) | BIT(VTR_VU_PROTOCOL_F_CONFIG);
	struct vtr_vu_msg m, reply;
	uint64_t offered, proto, want;
	int ret;

	if (f->qemu_10)
		want_proto |= BIT(VTR_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS) | BIT(VTR_VU_PROTOCOL_F_RESET_DEVICE) |
			      BIT(VTR_VU_PROTOCOL_F_STATUS);

	ret = get_u64(f, VTR_VU_GET_FEATURES, &offered);
	if (ret)
		return ret;
	/* The guest CID lives in the config space (virtio 1.3 §5.10.4), which vhost-user reaches only
	 * through GET_CONFIG, a protocol feature: QEMU's vhost-user-vsock refuses a back-end without. */
	if (!(offered & BIT(VTR_VU_F_PROTOCOL_FEATURES)))
		return fail(f, -EPROTO, "the back-end does not offer VHOST_USER_F_PROTOCOL_FEATURES (features 0x%"
			    PRIx64 "): no GET_CONFIG, no guest CID", offered);
	/* A virtio 1.x driver only (vhost-user-vsock-pci forces it): little-endian rings and header. */
	if (!(offered & BIT(F_VERSION_1)))
		return fail(f, -EPROTO, "the back-end does not offer VIRTIO_F_VERSION_1 (features 0x%" PRIx64
			    "): a legacy device", offered);
	ret = get_u64(f, VTR_VU_GET_PROTOCOL_FEATURES, &proto);
	if (ret)
		return ret;
	if (!(proto & BIT(VTR_VU_PROTOCOL_F_CONFIG)))
		return fail(f, -EPROTO, "the back-end does not offer VHOST_USER_PROTOCOL_F_CONFIG (protocol "
			    "features 0x%" PRIx64 "): no way to read the guest CID", proto);
	f->protocol_features = proto & want_proto;
	/* Not acked itself: REPLY_ACK holds once this request has been taken (QEMU asks no ack either). */
	ret = call_u64(f, VTR_VU_SET_PROTOCOL_FEATURES, f->protocol_features);
	if (ret)
		return ret;
	f->ack = f->protocol_features & BIT(VTR_VU_PROTOCOL_F_REPLY_ACK);

	/* QEMU asks how many regions the back-end maps (vhost_user_backend_init()) before it owns it. */
	if (f->protocol_features & BIT(VTR_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		uint64_t slots;

		ret = get_u64(f, VTR_VU_GET_MAX_MEM_SLOTS, &slots);
		if (ret)
			return ret;
		if (slots < f->nregions)
			return fail(f, -EPROTO, "GET_MAX_MEM_SLOTS: %" PRIu64 " slots, fewer than our %u regions", slots,
				    f->nregions);
	}
	m = (struct vtr_vu_msg){ .request = VTR_VU_SET_OWNER };
	ret = vu_call(f, &m, NULL, 0, -1, NULL);
	if (ret)
		return ret;

	/* struct virtio_vsock_config { le64 guest_cid; } (virtio 1.3 §5.10.4). */
	m = (struct vtr_vu_msg){ .request = VTR_VU_GET_CONFIG, .size = 12 + 8, .p.config = { .offset = 0, .size = 8 } };
	ret = vu_call(f, &m, NULL, 0, 12 + 8, &reply);
	if (ret)
		return ret;
	if (reply.p.config.size != 8)
		return fail(f, -EPROTO, "GET_CONFIG: the answer says %" PRIu32 " bytes of config space, not 8",
			    reply.p.config.size);
	memcpy(&f->guest_cid, reply.p.config.payload, 8);
	f->guest_cid = le64toh(f->guest_cid);
	/* §5.10.4: the upper 32 bits are reserved and zero; 0, 1, 2 and 2^32 - 1 (VMADDR_CID_ANY) are
	 * not a guest's. */
	if (f->guest_cid < 3 || f->guest_cid >= UINT32_MAX)
		return fail(f, -EPROTO, "GET_CONFIG: guest CID %" PRIu64 " is reserved, not a guest's", f->guest_cid);

	want = BIT(F_VERSION_1) | BIT(VTR_VU_F_PROTOCOL_FEATURES) | BIT(F_INDIRECT);
	if (!cfg->no_event_idx)
		want |= BIT(F_EVENT_IDX);
	if (!cfg->no_seqpacket)
		want |= BIT(F_SEQPACKET);
	f->features = offered & want;
	if (f->layout == VTR_VUFRONT_TX_INDIRECT && !(f->features & BIT(F_INDIRECT)))
		return fail(f, -EOPNOTSUPP, "the indirect TX layout needs VIRTIO_F_INDIRECT_DESC, which the back-end "
			    "does not offer (features 0x%" PRIx64 ")", offered);
	/* QEMU 8.2 and later reset the device with the machine (virtio_reset() calls
	 * vhost_user_reset_device()), after the session's set-up and before the driver's start. */
	return reset_device(f);
}

/* RESET_DEVICE where negotiated (vhost_user_reset_device() sends it without asking a reply). */
static int reset_device(struct vtr_vufront *f)
{
	struct vtr_vu_msg m = { .request = VTR_VU_RESET_DEVICE };

	if (!(f->protocol_features & BIT(VTR_VU_PROTOCOL_F_RESET_DEVICE)))
		return 0;
	m.flags = VTR_VU_VERSION;
	if (f->error)
		return f->error;
	f->status = 0;
	return vtr_vu_write(f->sock, &m, NULL, 0) ? fail(f, -EPIPE, "RESET_DEVICE: sending failed") : 0;
}

/* Adds bits to the device status as QEMU's vhost_user_add_status() does: GET_STATUS, then SET_STATUS. */
static int add_status(struct vtr_vufront *f, uint8_t bits)
{
	uint64_t status;
	int ret;

	if (!(f->protocol_features & BIT(VTR_VU_PROTOCOL_F_STATUS)))
		return 0;
	ret = get_u64(f, VTR_VU_GET_STATUS, &status);
	if (ret)
		return ret;
	if (status != f->status)
		return fail(f, -EPROTO, "GET_STATUS: 0x%" PRIx64 ", not the 0x%x last written", status, f->status);
	f->status |= bits;
	return call_u64(f, VTR_VU_SET_STATUS, f->status);
}

static int send_whole_table(struct vtr_vufront *f);

/*
 * The memory, at every start of the driver as QEMU's vhost_dev_start() sends it: SET_MEM_TABLE,
 * one region per window, each with the memfd (vhost-user.rst, "Memory regions"); or, with
 * CONFIGURE_MEM_SLOTS, one ADD_MEM_REG per region the back-end does not have yet
 * (vhost_user_add_remove_regions() sends only what changed since its last message: nothing after a
 * device reset).
 */
static int send_mem_table(struct vtr_vufront *f)
{
	if (f->protocol_features & BIT(VTR_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		for (unsigned i = 0; i < f->nregions && !f->mem_sent; i++) {
			struct vtr_vu_msg m = { .request = VTR_VU_ADD_MEM_REG, .size = sizeof(struct vtr_vu_mem_single) };
			int ret;

			m.p.reg.region = (struct vtr_vu_region){ .guest_phys_addr = f->reg[i].gpa,
				.memory_size = f->reg[i].size, .userspace_addr = (uint64_t)(uintptr_t)f->reg[i].host,
				.mmap_offset = f->reg[i].offset };
			ret = vu_call(f, &m, &f->memfd, 1, -1, NULL);
			if (ret)
				return ret;
		}
		f->mem_sent = true;
		return 0;
	}
	return send_whole_table(f);
}

static int send_whole_table(struct vtr_vufront *f)
{
	struct vtr_vu_msg m = { .request = VTR_VU_SET_MEM_TABLE };
	int fds[VTR_VU_MAX_REGIONS];

	m.p.mem.nregions = f->nregions;
	for (unsigned i = 0; i < f->nregions; i++) {
		m.p.mem.regions[i] = (struct vtr_vu_region){
			.guest_phys_addr = f->reg[i].gpa,
			.memory_size = f->reg[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)f->reg[i].host,
			.mmap_offset = f->reg[i].offset,
		};
		fds[i] = f->memfd;
	}
	m.size = 8 + f->nregions * (uint32_t)sizeof(struct vtr_vu_region);
	return vu_call(f, &m, fds, f->nregions, -1, NULL);
}

/* Per ring, as QEMU's vhost_virtqueue_start(): NUM, BASE, ADDR, KICK, then CALL. */
static int start_rings(struct vtr_vufront *f)
{
	int ret = 0;

	for (uint32_t i = 0; i < NRINGS && !ret; i++) {
		struct ring *r = &f->ring[i];
		struct vtr_vu_msg m = { .request = VTR_VU_SET_VRING_ADDR, .size = sizeof(struct vtr_vu_vring_addr) };

		ret = call_state(f, VTR_VU_SET_VRING_NUM, i, f->num);
		if (!ret)
			ret = call_state(f, VTR_VU_SET_VRING_BASE, i, 0);	/* a fresh queue */
		if (!ret) {
			/* Front-end virtual addresses, in the order desc, used, avail; no logging. */
			m.p.addr = (struct vtr_vu_vring_addr){ .index = i, .flags = 0,
				.desc = (uint64_t)(uintptr_t)r->desc, .used = (uint64_t)(uintptr_t)r->used,
				.avail = (uint64_t)(uintptr_t)r->avail, .log = 0 };
			ret = vu_call(f, &m, NULL, 0, -1, NULL);
		}
		if (!ret) {
			m = (struct vtr_vu_msg){ .request = VTR_VU_SET_VRING_KICK, .size = 8, .p.u64 = i };
			ret = vu_call(f, &m, &r->kick, 1, -1, NULL);
		}
		if (!ret) {
			m = (struct vtr_vu_msg){ .request = VTR_VU_SET_VRING_CALL, .size = 8, .p.u64 = i };
			ret = vu_call(f, &m, &r->call, 1, -1, NULL);
		}
	}
	if (ret)
		return ret;
	f->rings_started = true;
	/* Rings start disabled when PROTOCOL_FEATURES is negotiated (vhost-user.rst, "Ring states");
	 * it always is here, but the rule is the spec's. */
	for (uint32_t i = 0; i < NRINGS && !ret && (f->features & BIT(VTR_VU_F_PROTOCOL_FEATURES)); i++)
		ret = call_state(f, VTR_VU_SET_VRING_ENABLE, i, 1);
	return ret;
}

/* The driver's stop: disable, then GET_VRING_BASE stops each ring; errors only end it early. */
static void stop_rings(struct vtr_vufront *f)
{
	for (uint32_t i = 0; i < NRINGS && (f->features & BIT(VTR_VU_F_PROTOCOL_FEATURES)); i++)
		if (call_state(f, VTR_VU_SET_VRING_ENABLE, i, 0))
			return;
	for (uint32_t i = 0; i < NRINGS; i++) {
		struct vtr_vu_msg m = { .request = VTR_VU_GET_VRING_BASE, .size = sizeof(struct vtr_vu_vring_state),
					.p.state = { i, 0 } };

		if (vu_call(f, &m, NULL, 0, sizeof(struct vtr_vu_vring_state), NULL))
			return;
	}
}

/* ---- guest memory ---- */

static int make_memory(struct vtr_vufront *f, size_t mem_size, unsigned nregions)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), gap = UVA_GAP_PAGES * page, rsize;
	uint8_t *base;

	rsize = mem_size / nregions / page * page;
	if (rsize < MIN_REGION)
		return fail(f, -EINVAL, "guest memory of %zu bytes is too small for %u regions", mem_size, nregions);
	f->memfd = memfd_create("vtr-guest", MFD_CLOEXEC);
	if (f->memfd < 0)
		return fail(f, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(f->memfd, (off_t)(rsize * nregions)) < 0)
		return fail(f, -errno, "guest memory of %zu bytes: %s", rsize * nregions, strerror(errno));
	/* One reservation, then each window MAP_FIXED inside it with unmapped gaps around. */
	f->reserve_len = nregions * (rsize + gap) + gap;
	f->reserve = mmap(NULL, f->reserve_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->reserve == MAP_FAILED) {
		f->reserve = NULL;
		return fail(f, -errno, "mmap: %s", strerror(errno));
	}
	base = f->reserve;
	for (unsigned i = 0; i < nregions; i++) {
		struct region *r = &f->reg[i];
		void *p = base + gap + i * (rsize + gap);

		r->offset = (uint64_t)i * rsize;
		r->size = rsize;
		r->gpa = GPA_BASE + (uint64_t)(nregions - 1 - i) * (rsize + GPA_GAP);
		if (mmap(p, rsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f->memfd, (off_t)r->offset) ==
		    MAP_FAILED)
			return fail(f, -errno, "mmap guest memory: %s", strerror(errno));
		r->host = p;
	}
	f->nregions = nregions;
	return 0;
}

/* Bump allocation, each object in the next region round: rings and buffers spread over all of them. */
static int galloc(struct vtr_vufront *f, size_t size, size_t align, struct gbuf *ret_buf)
{
	for (unsigned k = 0; k < f->nregions; k++) {
		unsigned i = (f->rr + k) % f->nregions;
		struct region *r = &f->reg[i];
		size_t off = (r->used + align - 1) & ~(align - 1);

		if (off > r->size || size > r->size - off)
			continue;
		r->used = off + size;
		ret_buf->host = r->host + off;
		ret_buf->gpa = r->gpa + off;
		f->rr = (i + 1) % f->nregions;
		return 0;
	}
	return -ENOSPC;
}

static int too_small(struct vtr_vufront *f, const char *what)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < f->nregions; i++)
		total += f->reg[i].size;
	return fail(f, -EINVAL, "guest memory (%" PRIu64 " bytes in %u regions) is too small for %s", total,
		    f->nregions, what);
}

/* Buffers a TX packet with len payload bytes is cut into. */
static unsigned tx_bufs(const struct vtr_vufront *f, uint32_t len)
{
	switch (f->layout) {
	case VTR_VUFRONT_TX_SPLIT:
	case VTR_VUFRONT_TX_INDIRECT:
		return len ? 2 : 1;
	case VTR_VUFRONT_TX_SCATTER:
		return 2 + (len + SCATTER_FRAG - 1) / SCATTER_FRAG;
	case VTR_VUFRONT_TX_ONE:
		break;
	}
	return 1;
}

/* Descriptors it takes in the ring's table: all of them, or one pointing at an indirect table. */
static unsigned tx_descs(const struct vtr_vufront *f, uint32_t len)
{
	return f->layout == VTR_VUFRONT_TX_INDIRECT ? 1 : tx_bufs(f, len);
}

/* Rings, RX buffers, indirect tables, then as many TX slots as fit (up to one per descriptor). */
static int layout_memory(struct vtr_vufront *f)
{
	struct gbuf b;
	size_t slot_size;

	for (unsigned i = 0; i < NRINGS; i++) {
		struct ring *r = &f->ring[i];

		/* virtio 1.2 §2.7: alignments 16, 2, 4; 64 keeps them off each other's cache lines. */
		if (galloc(f, vtr_vring_desc_bytes(f->num), 64, &b))
			return too_small(f, "the rings");
		r->desc = b.host;
		if (galloc(f, vtr_vring_avail_bytes(f->num), 64, &b))
			return too_small(f, "the rings");
		r->avail = b.host;
		if (galloc(f, vtr_vring_used_bytes(f->num), 64, &b))
			return too_small(f, "the rings");
		r->used = b.host;
	}
	if (f->layout == VTR_VUFRONT_TX_INDIRECT &&
	    galloc(f, (size_t)f->num * IND_PER_TABLE * 16, 64, &f->ind))
		return too_small(f, "the indirect tables");
	f->rx_buf = calloc(f->num, sizeof(*f->rx_buf));
	f->slot = calloc(f->num, sizeof(*f->slot));
	f->free_slot = calloc(f->num, sizeof(*f->free_slot));
	f->rx_copy = malloc(f->rx_buf_size);
	f->bufs = calloc(tx_bufs(f, f->max_payload), sizeof(*f->bufs));
	if (!f->rx_buf || !f->slot || !f->free_slot || !f->rx_copy || !f->bufs)
		return fail(f, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < f->num; i++)
		if (galloc(f, f->rx_buf_size, 8, &f->rx_buf[i]))
			return too_small(f, "the RX buffers");
	slot_size = HDR_LEN + (size_t)f->max_payload;
	while (f->nslots < f->num && !galloc(f, slot_size, 64, &f->slot[f->nslots])) {
		f->free_slot[f->nslots] = f->nslots;
		f->nslots++;
	}
	if (!f->nslots)
		return too_small(f, "one TX packet buffer");
	f->nfree_slots = f->nslots;
	return 0;
}

/* ---- the rings at run time ---- */

static void kick(struct vtr_vufront *f, unsigned i)
{
	uint64_t one = 1;

	/* An eventfd only refuses a write when its counter would overflow: the kick is pending then. */
	if (vdrv_kick_needed(&f->ring[i].vq) && write(f->ring[i].kick, &one, sizeof(one)) == sizeof(one))
		f->stats.kicks++;
}

static int post_rx(struct vtr_vufront *f, uint32_t i)
{
	struct vdrv_buf b = { f->rx_buf[i].gpa, f->rx_buf_size };
	int ret = vdrv_add(&f->ring[RX].vq, &b, 0, 1, false, i);

	/* The buffer just came back, so its descriptor is free: a failure is a broken ring. */
	if (ret < 0)
		return fail(f, -EPROTO, "RX ring: cannot post buffer %" PRIu32 ": %s", i, strerror(-ret));
	return 0;
}

/* The engine's wire: one packet onto the TX ring, laid out as configured. */
static int front_xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct vtr_vufront *f = ctx;
	unsigned n = 0, need;
	uint32_t s, off;
	uint8_t *p;
	uint64_t g;
	int ret;

	if (f->error)
		return -EPIPE;
	if (len > f->max_payload)
		return -EMSGSIZE;
	need = tx_descs(f, len);
	if (!f->nfree_slots || vdrv_num_free(&f->ring[TX].vq) < need) {
		f->stats.tx_ring_full++;
		return -EAGAIN;	/* the engine keeps it and retries on vtr_flush() */
	}
	s = f->free_slot[--f->nfree_slots];
	p = f->slot[s].host;
	g = f->slot[s].gpa;
	memcpy(p, hdr, HDR_LEN);
	if (len)
		memcpy(p + HDR_LEN, payload, len);
	switch (f->layout) {
	case VTR_VUFRONT_TX_ONE:
		f->bufs[n++] = (struct vdrv_buf){ g, HDR_LEN + len };
		break;
	case VTR_VUFRONT_TX_SCATTER:
		f->bufs[n++] = (struct vdrv_buf){ g, SCATTER_HDR_CUT };
		f->bufs[n++] = (struct vdrv_buf){ g + SCATTER_HDR_CUT, HDR_LEN - SCATTER_HDR_CUT };
		for (off = 0; off < len; off += SCATTER_FRAG)
			f->bufs[n++] = (struct vdrv_buf){ g + HDR_LEN + off,
							  len - off < SCATTER_FRAG ? len - off : SCATTER_FRAG };
		break;
	case VTR_VUFRONT_TX_SPLIT:
	case VTR_VUFRONT_TX_INDIRECT:
		f->bufs[n++] = (struct vdrv_buf){ g, HDR_LEN };
		if (len)
			f->bufs[n++] = (struct vdrv_buf){ g + HDR_LEN, len };
		break;
	}
	ret = vdrv_add(&f->ring[TX].vq, f->bufs, n, 0, f->layout == VTR_VUFRONT_TX_INDIRECT, s);
	if (ret < 0) {
		f->free_slot[f->nfree_slots++] = s;
		return fail(f, -EPROTO, "TX ring: cannot add a packet: %s", strerror(-ret));
	}
	f->stats.tx_pkts++;
	f->stats.tx_bytes += len;
	/* Outside process() nobody else would kick: a packet from vtr_send() must reach the device. */
	if (!f->in_process)
		kick(f, TX);
	return 0;
}

static void front_now(void *ctx, struct timespec *ret_ts)
{
	struct vtr_vufront *f = ctx;

	f->user_ops.now(f->user_ctx, ret_ts);
}

static void front_event(void *ctx, int sock, unsigned events)
{
	struct vtr_vufront *f = ctx;

	f->user_ops.event(f->user_ctx, sock, events);
}

/* TX chains the device is done with: their slots are free again. */
static int reap_tx(struct vtr_vufront *f)
{
	struct vdrv *vq = &f->ring[TX].vq;

	for (;;) {
		uint32_t slot, len;
		int ret;

		/* Each element frees a chain in flight and no chain is added meanwhile: bounded. */
		while ((ret = vdrv_get_used(vq, &slot, &len, NULL)) == 1)
			f->free_slot[f->nfree_slots++] = slot;
		if (ret < 0)
			return fail(f, -EPROTO, "TX ring broken by the device: %s", vdrv_strerror(vq));
		if (!vdrv_enable_cb(vq))
			return 0;
	}
}

/*
 * One used RX buffer: copied out once (the device may still write it), checked, posted again, then
 * handed to the engine. The device writes header and payload into one buffer (virtio 1.3
 * §5.10.6.2) and says how many bytes in the used element: at least a header, at most the buffer,
 * and not less than the header's len claims.
 */
static int rx_one(struct vtr_vufront *f, uint32_t i, uint32_t len)
{
	struct vsm_virtio_hdr h;
	int ret;

	if (i >= f->num)
		return fail(f, -EPROTO, "RX ring: used element for buffer %" PRIu32 ", which does not exist", i);
	if (len < HDR_LEN || len > f->rx_buf_size)
		return fail(f, -EPROTO, "RX buffer %" PRIu32 ": the device says it wrote %" PRIu32
			    " bytes, outside %u..%" PRIu32, i, len, HDR_LEN, f->rx_buf_size);
	memcpy(f->rx_copy, f->rx_buf[i].host, len);
	vsm_decode_virtio_hdr(f->rx_copy, &h);
	if (h.len > len - HDR_LEN)
		return fail(f, -EPROTO, "RX buffer %" PRIu32 ": the header claims %" PRIu32
			    " payload bytes, the device wrote %" PRIu32 " after it", i, h.len, len - HDR_LEN);
	ret = post_rx(f, i);
	if (ret)
		return ret;
	f->stats.rx_pkts++;
	f->stats.rx_bytes += h.len;
	vtr_input(f->engine, f->rx_copy, HDR_LEN + h.len);
	return 0;
}

/* RX buffers the device filled, at most two rings' worth per call (a fast device cannot hold us). */
static int reap_rx(struct vtr_vufront *f)
{
	struct vdrv *vq = &f->ring[RX].vq;
	unsigned budget = 2 * f->num;

	for (;;) {
		uint32_t i, len;
		int ret = 0;

		while (budget && (ret = vdrv_get_used(vq, &i, &len, NULL)) == 1) {
			budget--;
			ret = rx_one(f, i, len);
			if (ret)
				return ret;
		}
		if (ret < 0)
			return fail(f, -EPROTO, "RX ring broken by the device: %s", vdrv_strerror(vq));
		if (!budget) {
			f->more = vdrv_has_used(vq);
			return 0;
		}
		if (!vdrv_enable_cb(vq))
			return 0;
	}
}

/* The back-end speaks only when spoken to on this socket: anything else is a hang-up or an error. */
static void check_socket(struct vtr_vufront *f)
{
	struct vtr_vu_msg m;
	char c;
	ssize_t n = recv(f->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	int ret;

	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			fail(f, -errno, "the vhost-user connection failed: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		fail(f, -EPIPE, "the back-end closed the vhost-user connection");
		return;
	}
	ret = vtr_vu_read(f->sock, &f->reader, &m);
	if (ret == 1) {
		vtr_vu_msg_close_fds(&m);
		fail(f, -EPROTO, "the back-end sent %s (%" PRIu32 ") unasked", req_name(m.request), m.request);
	} else if (ret < 0 && ret != -EPIPE) {
		fail(f, -EPROTO, "the back-end sent garbage unasked (%s)", strerror(-ret));
	} else if (ret < 0) {
		fail(f, -EPIPE, "the back-end closed the vhost-user connection");
	}
	/* ret 0: part of a message; the next call sees the rest and fails then. */
}

int vtr_vufront_process(struct vtr_vufront *f)
{
	uint64_t v;

	if (f->error)
		return f->error;
	f->in_process = true;
	f->more = false;
	for (unsigned i = 0; i < NRINGS; i++)
		if (read(f->ring[i].call, &v, sizeof(v)) == sizeof(v))
			f->stats.calls++;
	check_socket(f);
	if (!f->error)
		reap_tx(f);
	if (!f->error)
		reap_rx(f);
	if (!f->error && vtr_want_write(f->engine))
		vtr_flush(f->engine);
	if (!f->error && vtr_next_timeout(f->engine) == 0)
		vtr_tick(f->engine);
	f->in_process = false;
	/* One kick per ring for everything added meanwhile (reposted RX buffers, engine packets). */
	if (!f->error) {
		kick(f, RX);
		kick(f, TX);
	}
	return f->error;
}

/* ---- life cycle ---- */

static void destroy(struct vtr_vufront *f)
{
	vtr_engine_free(f->engine);
	vtr_vu_reader_reset(&f->reader);
	if (f->sock >= 0)
		close(f->sock);
	for (unsigned i = 0; i < NRINGS; i++) {
		if (f->ring[i].kick >= 0)
			close(f->ring[i].kick);
		if (f->ring[i].call >= 0)
			close(f->ring[i].call);
		vdrv_free(&f->ring[i].vq);
	}
	if (f->reserve)
		munmap(f->reserve, f->reserve_len);
	if (f->memfd >= 0)
		close(f->memfd);
	free(f->rx_buf);
	free(f->rx_copy);
	free(f->slot);
	free(f->free_slot);
	free(f->bufs);
	free(f);
}

static int check_config(struct vtr_vufront *f, const struct vtr_vufront_config *cfg)
{
	unsigned q = cfg->queue_size ? cfg->queue_size : DEFAULT_QUEUE;
	uint32_t max_pkt = cfg->engine.max_pkt ? cfg->engine.max_pkt : VTR_DEFAULT_MAX_PKT;

	if (cfg->regions > VTR_VU_MAX_REGIONS)
		return fail(f, -EINVAL, "%u memory regions, more than SET_MEM_TABLE carries (%u)", cfg->regions,
			    VTR_VU_MAX_REGIONS);
	if (q < 2 || q > VTR_VRING_MAX_SIZE || (q & (q - 1)))
		return fail(f, -EINVAL, "queue size %u: not a power of two in 2..%u", q, VTR_VRING_MAX_SIZE);
	f->num = q;
	f->rx_buf_size = cfg->rx_buf_size ? cfg->rx_buf_size : DEFAULT_RX_BUF;
	if (f->rx_buf_size < MIN_RX_BUF || f->rx_buf_size > MAX_RX_BUF)
		return fail(f, -EINVAL, "RX buffers of %" PRIu32 " bytes: not in %u..%u", f->rx_buf_size, MIN_RX_BUF,
			    MAX_RX_BUF);
	switch (cfg->tx_layout) {
	case VTR_VUFRONT_TX_SPLIT:
	case VTR_VUFRONT_TX_ONE:
	case VTR_VUFRONT_TX_INDIRECT:
		break;
	case VTR_VUFRONT_TX_SCATTER:
		/* Header in two, payload in pages: a packet must fit the table (§2.7.4: a chain is never
		 * longer than the queue), so the largest payload shrinks with the queue. */
		if (q < 4)
			return fail(f, -EINVAL, "queue size %u is too small for the scatter layout", q);
		if (max_pkt > (q - 2) * SCATTER_FRAG)
			max_pkt = (q - 2) * SCATTER_FRAG;
		break;
	default:
		return fail(f, -EINVAL, "unknown TX layout %d", (int)cfg->tx_layout);
	}
	if (max_pkt > MAX_RX_BUF * 64)
		return fail(f, -EINVAL, "max_pkt of %" PRIu32 " bytes is too large", max_pkt);
	f->layout = cfg->tx_layout;
	f->max_payload = max_pkt;
	f->qemu_10 = cfg->qemu_10;
	f->engine_cfg = cfg->engine;
	if (cfg->engine_ops)
		f->user_ops = *cfg->engine_ops;
	f->user_ctx = cfg->engine_ctx;
	f->timeout_ms = cfg->reply_timeout_ms > 0 ? cfg->reply_timeout_ms : DEFAULT_TIMEOUT_MS;
	if (!cfg->socket_path && cfg->sock < 0)
		return fail(f, -EINVAL, "neither a socket path nor a socket");
	return 0;
}

static int start_engine(struct vtr_vufront *f)
{
	struct vtr_config ecfg = f->engine_cfg;
	struct vtr_ops ops = { .xmit = front_xmit };
	int ret;

	if (f->user_ops.now)
		ops.now = front_now;
	if (f->user_ops.event)
		ops.event = front_event;
	ecfg.cid = f->guest_cid;
	ecfg.max_pkt = f->max_payload;
	ret = vtr_engine_new(&ecfg, &ops, f, &f->engine);
	if (ret)
		return fail(f, ret, "the guest engine: %s", strerror(-ret));
	return 0;
}

/*
 * The guest driver's start, as QEMU relays it (vhost_dev_start()): SET_FEATURES (and FEATURES_OK in
 * the status), fresh virtqueues, the memory, the rings, DRIVER_OK, then the driver's engine and its
 * RX buffers (Linux's virtio_vsock_probe() and virtio_vsock_rx_fill()).
 */
static int driver_start(struct vtr_vufront *f)
{
	int ret = call_u64(f, VTR_VU_SET_FEATURES, f->features);

	if (!ret)
		ret = add_status(f, VIRTIO_STATUS_FEATURES_OK);
	for (unsigned i = 0; i < NRINGS && !ret; i++) {
		struct ring *r = &f->ring[i];

		/* A reset device's rings start from nothing: indexes 0, no flags, no event index. */
		memset(r->avail, 0, vtr_vring_avail_bytes(f->num));
		memset(r->used, 0, vtr_vring_used_bytes(f->num));
		vdrv_free(&r->vq);
		ret = vdrv_init(&r->vq, f->num, r->desc, r->avail, r->used, f->features);
		if (ret)
			ret = fail(f, ret, "virtqueue %u: %s", i, strerror(-ret));
	}
	if (!ret && f->layout == VTR_VUFRONT_TX_INDIRECT)
		vdrv_set_indirect(&f->ring[TX].vq, f->ind.host, f->ind.gpa, IND_PER_TABLE);
	for (unsigned i = 0; i < f->nslots; i++)
		f->free_slot[i] = i;
	f->nfree_slots = f->nslots;
	if (!ret)
		ret = send_mem_table(f);
	if (!ret)
		ret = start_rings(f);
	if (!ret)
		ret = add_status(f, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	if (!ret)
		ret = start_engine(f);
	/* Once the device runs, the driver fills the RX queue (Linux's virtio_vsock_rx_fill()). */
	for (uint32_t i = 0; i < f->num && !ret; i++)
		ret = post_rx(f, i);
	if (ret)
		return ret;
	/* Interrupts wanted from the first used element on, and one kick for the whole fill. */
	vdrv_enable_cb(&f->ring[RX].vq);
	vdrv_enable_cb(&f->ring[TX].vq);
	kick(f, RX);
	return 0;
}

int vtr_vufront_reset(struct vtr_vufront *f)
{
	if (f->error)
		return f->error;
	/* The driver writes status 0: QEMU stops the rings (vhost_dev_stop()), then resets the device
	 * (virtio_reset(): RESET_DEVICE where negotiated); the guest's sockets are reset with it
	 * (Linux's virtio_vsock_reset_sock()). */
	if (f->rings_started)
		stop_rings(f);
	f->rings_started = false;
	vtr_engine_free(f->engine);
	f->engine = NULL;
	f->more = false;
	if (!f->error)
		reset_device(f);
	if (f->error)
		return f->error;
	return driver_start(f);
}

int vtr_vufront_new(const struct vtr_vufront_config *cfg, struct vtr_vufront **ret_front, char *err, size_t errlen)
{
	struct vtr_vufront *f;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!cfg || !ret_front)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f) {
		if (!cfg->socket_path && cfg->sock >= 0)
			close(cfg->sock);
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->sock = cfg->socket_path ? -1 : cfg->sock;
	f->memfd = -1;
	vtr_vu_reader_init(&f->reader);
	for (unsigned i = 0; i < NRINGS; i++)
		f->ring[i].kick = f->ring[i].call = -1;

	ret = check_config(f, cfg);
	if (!ret)
		ret = make_memory(f, cfg->mem_size ? cfg->mem_size : DEFAULT_MEM, cfg->regions ? cfg->regions : 1);
	if (!ret)
		ret = layout_memory(f);
	for (unsigned i = 0; i < NRINGS && !ret; i++) {
		f->ring[i].kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		f->ring[i].call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (f->ring[i].kick < 0 || f->ring[i].call < 0)
			ret = fail(f, -errno, "eventfd: %s", strerror(errno));
	}
	if (!ret)
		ret = open_socket(f, cfg);
	if (!ret)
		ret = negotiate(f, cfg);
	if (!ret)
		ret = driver_start(f);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s", f->errmsg[0] ? f->errmsg : strerror(-ret));
		destroy(f);
		return ret;
	}
	*ret_front = f;
	return 0;
}

void vtr_vufront_free(struct vtr_vufront *f)
{
	if (!f)
		return;
	if (!f->error && f->rings_started)
		stop_rings(f);
	destroy(f);
}

/* ---- accessors ---- */

struct vtr_engine *vtr_vufront_engine(struct vtr_vufront *f)
{
	return f->engine;
}

uint64_t vtr_vufront_guest_cid(const struct vtr_vufront *f)
{
	return f->guest_cid;
}

uint64_t vtr_vufront_features(const struct vtr_vufront *f)
{
	return f->features;
}

uint64_t vtr_vufront_protocol_features(const struct vtr_vufront *f)
{
	return f->protocol_features;
}

size_t vtr_vufront_pollfds(const struct vtr_vufront *f, struct pollfd *pfds, size_t max)
{
	int fds[1 + NRINGS] = { f->sock, f->ring[RX].call, f->ring[TX].call };
	size_t n = 0;

	for (size_t i = 0; i < 1 + NRINGS && n < max; i++)
		pfds[n++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	return n;
}

int vtr_vufront_next_timeout(const struct vtr_vufront *f)
{
	if (f->more)
		return 0;
	return vtr_next_timeout(f->engine);
}

const char *vtr_vufront_error(const struct vtr_vufront *f)
{
	return f->errmsg;
}

void vtr_vufront_stats(const struct vtr_vufront *f, struct vtr_vufront_stats *ret_stats)
{
	*ret_stats = f->stats;
}
