/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vdrv.h: the driver side of a split virtqueue (virtio 1.2 §2.7), as a guest runs it (vufront.c). */
#ifndef VTR_VDRV_H
#define VTR_VDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The mirror image of vring.c: the driver owns the descriptor table and the available ring, the
 * device owns the used ring. The tables live in memory the device shares (and may scribble on), so
 * everything the driver needs to remember (the free list, which heads are in flight, its own
 * indexes) is kept in private memory and never read back from the shared tables; what the driver
 * reads from the device (used elements, avail_event, used->flags) is checked before use. A device
 * that breaks the ring breaks it for good: vdrv_get_used() keeps returning the error.
 *
 * Addresses in descriptors are guest-physical; the caller gives them. No locking: one caller.
 */

/* One buffer of a chain: guest-physical address and length. */
struct vdrv_buf {
	uint64_t addr;
	uint32_t len;
};

/* Per head: what the driver remembers about a chain in flight (private memory). */
struct vdrv_head {
	uint32_t cookie;	/* the caller's id for the chain */
	uint32_t in_len;	/* bytes the device may write (the used len may not exceed it) */
	uint16_t last;		/* last descriptor of the chain in the table (free list link) */
	uint16_t ndesc;		/* descriptors of the table it takes (1 for an indirect chain) */
	bool busy;
};

struct vdrv {
	unsigned num;			/* queue size, a power of two */
	/* shared with the device */
	uint8_t *desc;			/* num * 16 bytes */
	uint16_t *avail;		/* flags, idx, ring[num], used_event */
	uint16_t *used;			/* flags, idx, {id, len}[num], avail_event */
	bool event_idx, indirect;	/* negotiated VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC */
	/* indirect tables: num of them, per_table descriptors each, table i for head i */
	uint8_t *ind_host;
	uint64_t ind_gpa;
	unsigned ind_per_table;
	/* private */
	uint16_t *free_next;		/* free list links (and chain links while in flight) */
	struct vdrv_head *heads;	/* num entries */
	uint16_t free_head;
	unsigned num_free;
	unsigned in_flight;		/* chains added and not yet taken back */
	uint16_t avail_idx;		/* what avail->idx says (we wrote it) */
	uint16_t kicked_idx;		/* avail_idx at the last kick decision */
	uint16_t last_used;		/* next used element to read */
	uint16_t avail_flags;		/* what avail->flags says */
	int error;			/* sticky: the -errno that broke the ring */
	char errmsg[160];
};

/*
 * Sets up a queue of num entries (a power of two up to 32768) over tables at host pointers desc
 * (16-byte aligned), avail (2) and used (4), each big enough with its event field
 * (vtr_vring_*_bytes()), and zeroes them: a freshly reset queue (virtio 1.2 §2.7). features: the
 * negotiated virtio features (EVENT_IDX and INDIRECT_DESC matter). -EINVAL, -ENOMEM.
 */
int vdrv_init(struct vdrv *vq, unsigned num, void *desc, void *avail, void *used, uint64_t features);
void vdrv_free(struct vdrv *vq);
/*
 * Memory for indirect tables: num tables of per_table descriptors, table i at host + 16 * per_table
 * * i (guest-physical gpa + the same). Table i belongs to head i, so no allocator is needed.
 */
void vdrv_set_indirect(struct vdrv *vq, void *host, uint64_t gpa, unsigned per_table);

/* Descriptors free in the table. */
unsigned vdrv_num_free(const struct vdrv *vq);

/*
 * Adds a chain: bufs[0, n_out) device-readable, then bufs[n_out, n_out + n_in) device-writable
 * (virtio 1.2 §2.7.4.1: writable after readable), straight in the table or through an indirect
 * table (§2.7.5.3), makes it available and publishes avail->idx with release ordering (§2.7.13).
 * Returns the head (>= 0), -ENOSPC when the table has too few free descriptors, -EINVAL for an
 * empty chain, -EOPNOTSUPP for indirect without VIRTIO_F_INDIRECT_DESC or tables, -E2BIG for a
 * chain longer than an indirect table, -EIO when the ring is broken.
 */
int vdrv_add(struct vdrv *vq, const struct vdrv_buf *bufs, unsigned n_out, unsigned n_in, bool indirect,
	     uint32_t cookie);

/*
 * After one or more vdrv_add(): does the device want a kick (virtio 1.2 §2.7.10)? With EVENT_IDX,
 * when avail->idx passed avail_event since the last decision; without, unless the device set
 * VRING_USED_F_NO_NOTIFY. False when nothing was added since the last call.
 */
bool vdrv_kick_needed(struct vdrv *vq);

/*
 * Takes the next used element: returns 1 with the chain's cookie, the length the device says it
 * wrote and the writable bytes the chain had (ret_in_len may be NULL), 0 when there is none, or a
 * -errno when the device broke the ring (the error sticks, vdrv_strerror() says why): -EPROTO
 * used->idx more than the in-flight chains ahead, -ERANGE an id outside the table, -EINVAL an id
 * that is not a chain in flight.
 */
int vdrv_get_used(struct vdrv *vq, uint32_t *ret_cookie, uint32_t *ret_len, uint32_t *ret_in_len);

/*
 * Used buffer notifications (virtio 1.2 §2.7.7): vdrv_enable_cb() asks for one at the next used
 * element (used_event = next element to read with EVENT_IDX, or avail->flags clear) and returns
 * true when used elements arrived meanwhile (read them now rather than wait);
 * vdrv_disable_cb() asks for none (a hint the device may ignore).
 */
bool vdrv_enable_cb(struct vdrv *vq);
void vdrv_disable_cb(struct vdrv *vq);

/* Chains the device has given back and the driver not yet taken (0 when the ring is broken). */
bool vdrv_has_used(struct vdrv *vq);

const char *vdrv_strerror(const struct vdrv *vq);

#endif
