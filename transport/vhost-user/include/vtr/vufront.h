/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vufront.h: a userspace vhost-user front-end that plays the guest of a vhost-user-vsock device, with its own engine. */
#ifndef VTR_VUFRONT_H
#define VTR_VUFRONT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtr/vtr.h>

/*
 * What QEMU and a guest's virtio-vsock driver do together, in one process and without a VM: it
 * makes guest memory (memfd, shared, split into regions), lays out the split virtqueues in it,
 * speaks vhost-user to a back-end (vsockdev, or the device library in the same process), reads the
 * guest CID from the config space, posts RX buffers, puts packets on the TX ring, and runs a
 * protocol engine (vtr.h) as the guest: tests, benchmarks and the lab drive a device through real
 * virtqueues with it.
 *
 * Single-threaded and caller-driven like the engine: poll the fds from vtr_vufront_pollfds() and
 * call vtr_vufront_process(); vtr_vufront_next_timeout() covers the engine's timers.
 */

struct vtr_vufront;

/* How the front-end lays out a TX packet in descriptors: devices must take all of them. */
enum vtr_vufront_tx_layout {
	VTR_VUFRONT_TX_SPLIT,		/* header in one descriptor, payload in another (Linux up to 6.1) */
	VTR_VUFRONT_TX_ONE,		/* header and payload in one descriptor (Linux 6.2 and later) */
	VTR_VUFRONT_TX_SCATTER,		/* header split in two, payload in 4 KiB descriptors (Linux 6.17 frags) */
	VTR_VUFRONT_TX_INDIRECT,	/* SPLIT, through an indirect table (needs VIRTIO_F_INDIRECT_DESC) */
};

struct vtr_vufront_config {
	const char *socket_path;	/* the back-end's vhost-user socket (connect) */
	int sock;			/* or a connected socket (socket_path NULL); the front-end takes it */
	size_t mem_size;		/* guest memory (0: 64 MiB) */
	unsigned regions;		/* the memory in this many regions, 1..8 (0: 1) */
	unsigned queue_size;		/* 0: 256 */
	uint32_t rx_buf_size;		/* bytes per RX buffer, header included (0: 4096 + 44, as Linux) */
	enum vtr_vufront_tx_layout tx_layout;
	bool no_event_idx;		/* do not negotiate VIRTIO_F_EVENT_IDX */
	bool no_seqpacket;		/* do not negotiate VIRTIO_VSOCK_F_SEQPACKET */
	struct vtr_config engine;	/* the guest engine's config; .cid is taken from the device */
	const struct vtr_ops *engine_ops; /* its ops: xmit is set by the front-end, the rest kept */
	void *engine_ctx;
	int reply_timeout_ms;		/* how long to wait for each answer of the back-end (0: 5000) */
	/*
	 * Speak as QEMU 8.2 to 10.x do (false: as QEMU 7.2): also negotiate CONFIGURE_MEM_SLOTS,
	 * RESET_DEVICE and STATUS; ask GET_MAX_MEM_SLOTS; reset the device (RESET_DEVICE) before the
	 * driver starts, as the machine's reset does; send memory by ADD_MEM_REG, only what the
	 * back-end does not have yet; write the device status (GET_STATUS, SET_STATUS).
	 */
	bool qemu_10;
};

/*
 * Connects, negotiates (the features both sides have), maps memory into the back-end, sets up both
 * rings, posts the RX buffers, and creates the guest engine with the CID the device reports.
 * Returns 0 or -errno with a message in err: -EINVAL for a bad config (or memory too small for
 * it), -EPROTO when the back-end answers garbage (wrong request, size, flags, fds, a non-zero
 * REPLY_ACK status, a reserved CID) or lacks what a vsock device must offer (VERSION_1,
 * PROTOCOL_FEATURES with CONFIG), -EOPNOTSUPP for TX_INDIRECT without VIRTIO_F_INDIRECT_DESC,
 * -ETIMEDOUT when it does not answer, -EPIPE/-ECONNRESET when it hangs up. cfg->sock is the
 * front-end's from the call on, also when the call fails.
 *
 * Guest memory as the back-end sees it (SET_MEM_TABLE): cfg->regions windows of one memfd, each at
 * its own offset, in guest-physical space above 4 GiB in the reverse order of their offsets, with
 * gaps between them; userspace_addr is the front-end's own address of the window (as QEMU sends
 * its virtual address), and the windows are not adjacent there either.
 */
int vtr_vufront_new(const struct vtr_vufront_config *cfg, struct vtr_vufront **ret_front, char *err, size_t errlen);
/* Stops the rings (GET_VRING_BASE), closes the session and frees everything, the engine too. */
void vtr_vufront_free(struct vtr_vufront *front);

/* The guest engine (CID from the device's config space). */
struct vtr_engine *vtr_vufront_engine(struct vtr_vufront *front);
uint64_t vtr_vufront_guest_cid(const struct vtr_vufront *front);
/* Negotiated virtio features and protocol features. */
uint64_t vtr_vufront_features(const struct vtr_vufront *front);
uint64_t vtr_vufront_protocol_features(const struct vtr_vufront *front);

/*
 * The fds to poll for input: the vhost-user socket (to see the back-end hang up or speak out of
 * turn) and the call eventfds of both rings. Returns how many were written (at most 3).
 */
#define VTR_VUFRONT_MAX_POLLFDS	3
size_t vtr_vufront_pollfds(const struct vtr_vufront *front, struct pollfd *pfds, size_t max);
/*
 * Does everything that is due without blocking: reaps used TX buffers (so more packets fit), takes
 * packets from used RX buffers into the engine, posts the buffers again, flushes the engine's
 * queued packets, kicks the device once if anything was added, runs due engine timers. Returns 0,
 * or -errno when the session broke (the reason in vtr_vufront_error()). Packets the engine sends
 * between calls (vtr_connect(), vtr_send()...) go onto the TX ring and are kicked at once (with
 * EVENT_IDX only when the device asked for it).
 */
int vtr_vufront_process(struct vtr_vufront *front);
/* Milliseconds until the engine's next timer, -1 for none (a poll timeout); 0 when process() left work. */
int vtr_vufront_next_timeout(const struct vtr_vufront *front);
/* Why the session broke ("" if it did not). */
const char *vtr_vufront_error(const struct vtr_vufront *front);

/*
 * The guest driver resets the device and probes it again (an unbind and bind, a module reload):
 * the rings stop (SET_VRING_ENABLE 0, GET_VRING_BASE), RESET_DEVICE where negotiated, then the
 * driver's start as at first, without the session's set-up. The guest engine is made anew (its
 * sockets are gone, as a Linux driver's are on reset): take vtr_vufront_engine() again.
 * Returns 0 or -errno (vtr_vufront_error() says why).
 */
int vtr_vufront_reset(struct vtr_vufront *front);

/*
 * Sends one vhost-user request and waits for its answer: for tests that play a misbehaving
 * front-end. msg->flags gets the version; a reply (or the REPLY_ACK status) goes to *ret_reply
 * (may be NULL when none is expected). Returns 0 or -errno.
 */
struct vtr_vu_msg;
int vtr_vufront_request(struct vtr_vufront *front, struct vtr_vu_msg *msg, const int *fds, unsigned nfds,
			struct vtr_vu_msg *ret_reply);

struct vtr_vufront_stats {
	uint64_t tx_pkts, tx_bytes;	/* put on the TX ring; bytes: payload */
	uint64_t rx_pkts, rx_bytes;	/* taken from the RX ring */
	uint64_t kicks, calls;		/* kicks sent, call eventfd wake-ups seen */
	uint64_t tx_ring_full;		/* xmit refusals (-EAGAIN): no TX descriptors or buffer free */
};
void vtr_vufront_stats(const struct vtr_vufront *front, struct vtr_vufront_stats *ret_stats);

#endif
