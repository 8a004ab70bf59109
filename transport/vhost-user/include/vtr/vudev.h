/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vudev.h: the back-end of one vhost-user-vsock device: the guest's rings, its vhost-user session, its packets. */
#ifndef VTR_VUDEV_H
#define VTR_VUDEV_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vsockmon/tap.h>
#include <vtr/vring.h>

/*
 * One virtio-vsock device (virtio spec 1.3, 5.10 "Socket Device") served over vhost-user to one
 * front-end (QEMU's -device vhost-user-vsock-pci, or the project's own front-end library). It owns
 * the vhost-user session (features, memory map, rings, eventfds, config space with the guest CID)
 * and moves packets: from the guest's TX queue to ops->deliver(), and from vtr_vudev_send() into
 * the guest's RX buffers, splitting a packet over several buffers when it does not fit one, as
 * Linux's vhost-vsock does. Every packet that crosses the rings passes the tap given by
 * vtr_vudev_set_tap(), at the moment it crosses.
 *
 * The front-end, and the guest behind it, are hostile: every message is checked, every guest address
 * translated and bounds-checked (vring.h), every loop bounded. A broken ring stops the device with a
 * reason (ops->stopped); it never makes the device read or write outside guest memory.
 *
 * No threads, no global state: the caller polls the fds from vtr_vudev_pollfds() and hands back
 * their readiness to vtr_vudev_handle(). The event queue (queue 2) stays with the front-end, as
 * QEMU's vhost-user-vsock keeps it.
 */

struct vtr_vudev;

#define VTR_VUDEV_RX	0	/* device to driver */
#define VTR_VUDEV_TX	1	/* driver to device */
#define VTR_VUDEV_NQUEUES 2

/* Virtio feature bits of the device. */
#define VTR_VIRTIO_VSOCK_F_STREAM	0
#define VTR_VIRTIO_VSOCK_F_SEQPACKET	1
#define VTR_VIRTIO_F_NOTIFY_ON_EMPTY	24
#define VTR_VIRTIO_F_VERSION_1		32

/* The largest payload the device takes from a guest in one packet, as Linux's vhost-vsock. */
#define VTR_VUDEV_MAX_PKT	(64u * 1024)

struct vtr_vudev_config {
	uint64_t guest_cid;		/* served through GET_CONFIG; 3 and up, below 2^32 - 1 */
	unsigned max_queue_size;	/* largest ring the front-end may set (0: 32768) */
	bool no_seqpacket;		/* do not offer VIRTIO_VSOCK_F_SEQPACKET */
	const char *name;		/* for messages (e.g. "vm3") */
};

/* Why a device stopped (ops->stopped). */
enum vtr_vudev_stop {
	VTR_VUDEV_STOP_DISCONNECT,	/* the front-end closed the session */
	VTR_VUDEV_STOP_RESET,		/* the driver reset the device (GET_VRING_BASE, RESET_DEVICE, status 0) */
	VTR_VUDEV_STOP_BROKEN,		/* the front-end or the guest broke the protocol: see the reason */
};

struct vtr_vudev_ops {
	/*
	 * Required: one packet from the guest. hdr is a private copy of the 44-byte header; payload
	 * points into guest memory or at a copy, valid during the call only, and the guest may change
	 * it meanwhile (copy it, do not trust it twice). len is the header's len, already checked
	 * against the chain and VTR_VUDEV_MAX_PKT.
	 */
	void (*deliver)(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len);
	/* Optional: may the device take more packets from the TX queue now? (false: it waits, and asks
	 * again on the next kick or vtr_vudev_poke()). The back-pressure towards the guest. */
	bool (*can_deliver)(void *ctx);
	/* Optional: the guest gave RX buffers after vtr_vudev_send() said -EAGAIN. */
	void (*rx_ready)(void *ctx);
	/* Optional: the device started (rings set up and enabled, memory mapped). */
	void (*started)(void *ctx);
	/* Optional: the device stopped; why: enum vtr_vudev_stop, with a message. */
	void (*stopped)(void *ctx, int why, const char *reason);
	/* Optional: the clock for the statistics (CLOCK_MONOTONIC when NULL). */
	void (*now)(void *ctx, struct timespec *ret_ts);
};

int vtr_vudev_new(const struct vtr_vudev_config *cfg, const struct vtr_vudev_ops *ops, void *ctx,
		  struct vtr_vudev **ret_dev);
/* Ends the session (closes the socket, unmaps memory) and frees the device. */
void vtr_vudev_free(struct vtr_vudev *dev);

/*
 * Takes a connected vhost-user socket (the caller accepted it); the device owns it from now on and
 * makes it non-blocking. -EBUSY when a session is attached already (the caller closes the new one).
 */
int vtr_vudev_attach(struct vtr_vudev *dev, int sock);
bool vtr_vudev_attached(const struct vtr_vudev *dev);
/* Ends the session: the device stops (VTR_VUDEV_STOP_DISCONNECT) and waits for another. */
void vtr_vudev_detach(struct vtr_vudev *dev);

/* The fds to poll for input (the session socket, the kick eventfds). Returns how many were written. */
#define VTR_VUDEV_MAX_POLLFDS	(1 + VTR_VUDEV_NQUEUES)
size_t vtr_vudev_pollfds(const struct vtr_vudev *dev, struct pollfd *pfds, size_t max);
/* Acts on readiness of one of those fds: messages, kicks. Returns 0, or -errno when the session ended. */
int vtr_vudev_handle(struct vtr_vudev *dev, int fd, short revents);
/* Takes TX packets again after ops->can_deliver said false and now would say true. */
void vtr_vudev_poke(struct vtr_vudev *dev);

/* Rings set up and enabled, memory mapped: packets can move. */
bool vtr_vudev_running(const struct vtr_vudev *dev);

/*
 * One packet to the guest (hdr: 44 bytes; payload: len bytes), split over as many RX buffers as it
 * needs: each part gets the header with its own len, and only the last keeps EOM/EOR (virtio spec
 * 5.10.6.6 for SEQPACKET). Returns 0 when the device took it (all of it is in the ring, or the
 * rest waits inside the device for the next buffers), -EAGAIN when it took nothing because the
 * guest has no buffer free or an earlier packet still waits (ops->rx_ready says when to retry),
 * -ENOTCONN when the device is not running, -EINVAL for a packet larger than VTR_VUDEV_MAX_PKT.
 */
int vtr_vudev_send(struct vtr_vudev *dev, const uint8_t *hdr, const uint8_t *payload, uint32_t len);
/* Notifies the guest of used buffers, once per batch: call after a round of sends and handles. */
void vtr_vudev_notify(struct vtr_vudev *dev);

/* Every packet crossing the rings goes to this tap too (NULL: none). The caller keeps it alive. */
void vtr_vudev_set_tap(struct vtr_vudev *dev, struct vsm_tap *tap);

struct vtr_vudev_queue_stats {
	unsigned size;			/* 0 until set */
	bool started, enabled;
	struct vtr_vring_stats ring;	/* indexes of the current set-up; pops, pushes and notification
					   counts added up over every session */
	uint64_t kicks;			/* kick eventfd wake-ups */
	uint64_t calls;			/* call eventfd writes (interrupts) */
};

struct vtr_vudev_stats {
	bool attached, running;
	uint64_t features, protocol_features;
	unsigned regions;		/* guest memory regions mapped */
	uint64_t mem_bytes;
	struct vtr_vudev_queue_stats q[VTR_VUDEV_NQUEUES];
	uint64_t pkts_from_guest, bytes_from_guest;	/* bytes: payload */
	uint64_t pkts_to_guest, bytes_to_guest;	/* packets as the guest got them (after splitting) */
	uint64_t splits;		/* packets split over more than one RX buffer */
	uint64_t malformed;		/* TX chains dropped: header short, len past the chain or the limit */
	/* RX ring exhaustion: a packet waited because the guest had no RX buffer free. */
	uint64_t rx_empty_events;
	uint64_t rx_empty_ns;		/* total time packets waited so */
	uint64_t rx_empty_max_ns;	/* the longest wait */
	bool rx_empty_now;		/* a packet waits now */
	uint64_t sessions;		/* front-end connections so far */
	uint64_t resets;		/* the device stopped running by a reset (driver, front-end, ring stop) */
	uint64_t device_resets;		/* RESET_DEVICE (or RESET_OWNER) from the front-end: the session stays */
	uint64_t status_resets;		/* SET_STATUS 0: a front-end reset or stopped the device (QEMU sends none to vsock) */
	char last_error[160];		/* why the device last broke, "" if never */
};
void vtr_vudev_stats(const struct vtr_vudev *dev, struct vtr_vudev_stats *ret_stats);

#endif
