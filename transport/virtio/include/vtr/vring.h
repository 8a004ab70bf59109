/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vring.h: guest memory as vhost-user maps it, and the device side of a split virtqueue over it. */
#ifndef VTR_VRING_H
#define VTR_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Everything here treats guest memory as hostile: the guest (or a frontend playing one) may write
 * anything into the rings and the descriptor tables at any time, also while the device reads them.
 * Every address it gives is translated through the memory map and must lie wholly inside one
 * region; every index is range-checked; every walk is bounded. Nothing is allocated and there is
 * no global state: the caller owns struct vtr_mem and struct vtr_vring (one per virtqueue) and
 * serialises calls on each.
 */

/* ---- guest memory (vhost-user SET_MEM_TABLE / ADD_MEM_REG) ---- */

/* vhost-user's SET_MEM_TABLE carries at most 8 regions; ADD_MEM_REG may bring more. */
#define VTR_MEM_MAX_REGIONS	64

struct vtr_mem_region {
	uint64_t guest_phys_addr;	/* first guest-physical byte */
	uint64_t memory_size;		/* bytes, > 0 */
	uint64_t userspace_addr;	/* the same byte in the frontend's address space (QEMU's VA) */
	uint64_t mmap_offset;		/* where the region starts in the fd the frontend sent */
	void *host;			/* the same byte here: the caller's mmap() result + mmap_offset */
};

struct vtr_mem {
	unsigned n;
	struct vtr_mem_region r[VTR_MEM_MAX_REGIONS];
};

/* An empty map. */
void vtr_mem_init(struct vtr_mem *mem);
/*
 * Adds a region. -EINVAL: empty, NULL host, or a range that wraps (guest-physical, frontend or
 * host addresses); -EEXIST: overlaps a region already there in guest-physical space (frontend
 * addresses may overlap: the same RAM at two guest addresses); -ENOSPC: VTR_MEM_MAX_REGIONS are in use.
 */
int vtr_mem_add(struct vtr_mem *mem, const struct vtr_mem_region *region);
/*
 * Removes the region that starts at guest_phys_addr with memory_size bytes at the front-end's
 * userspace_addr (vhost-user REM_MEM_REG); its description goes to *ret_region (may be NULL) so the
 * caller can munmap it. -ENOENT when there is none. Rings set up over it must be set up again.
 */
int vtr_mem_remove(struct vtr_mem *mem, uint64_t guest_phys_addr, uint64_t memory_size, uint64_t userspace_addr,
		   struct vtr_mem_region *ret_region);
/*
 * Host pointer for [gpa, gpa + len) when the whole range lies inside one region, else -EFAULT.
 * A zero-length range needs gpa inside a region. Overflow-safe for any gpa and len.
 */
int vtr_mem_gpa(const struct vtr_mem *mem, uint64_t gpa, uint64_t len, void **ret_ptr);
/* The same for a frontend virtual address (vhost-user ring addresses are those). */
int vtr_mem_uva(const struct vtr_mem *mem, uint64_t uva, uint64_t len, void **ret_ptr);

/* ---- split virtqueue layout (virtio 1.2 §2.7 "Split Virtqueues") ---- */

#define VTR_VRING_MAX_SIZE	32768	/* queue sizes are powers of two up to this */

#define VTR_VRING_DESC_F_NEXT		1
#define VTR_VRING_DESC_F_WRITE		2
#define VTR_VRING_DESC_F_INDIRECT	4
#define VTR_VRING_AVAIL_F_NO_INTERRUPT	1
#define VTR_VRING_USED_F_NO_NOTIFY	1

/* Feature bits this module acts on (vtr_vring_set_features()). */
#define VTR_VIRTIO_F_INDIRECT_DESC	28
#define VTR_VIRTIO_F_EVENT_IDX		29

/* An indirect table may hold at most this many descriptors (16 bytes each): 16 KiB. */
#define VTR_VRING_MAX_INDIRECT	1024

/* Segments a chain of a queue of size num can need at most: the caller's scatter list size. */
#define VTR_VRING_MAX_SEGS(num)	((unsigned)(num) + VTR_VRING_MAX_INDIRECT)

/* Bytes of each table for a queue of num entries, with the event index fields. */
size_t vtr_vring_desc_bytes(unsigned num);	/* 16 * num, 16-byte aligned */
size_t vtr_vring_avail_bytes(unsigned num);	/* 6 + 2 * num, 2-byte aligned */
size_t vtr_vring_used_bytes(unsigned num);	/* 6 + 8 * num, 4-byte aligned */

/* ---- scatter lists ---- */

struct vtr_seg {
	void *base;		/* host pointer into guest memory */
	uint32_t len;		/* > 0 */
};

/*
 * One popped descriptor chain. The caller sets seg and cap (an array of its own, best
 * VTR_VRING_MAX_SEGS(num) long); vtr_vring_pop() fills the rest: seg[0, n_out) are the
 * device-readable buffers in chain order, then seg[n_out, n_out + n_in) the device-writable ones.
 * Zero-length descriptors take no segment.
 */
struct vtr_chain {
	struct vtr_seg *seg;
	unsigned cap;
	uint16_t head;		/* the id to give back with vtr_vring_push() */
	unsigned n_out, n_in;
	uint64_t out_len, in_len;	/* bytes readable, bytes writable */
};

/*
 * Copies up to len bytes starting off bytes into the chain's readable part into dst; returns the
 * bytes copied (fewer when the readable part ends first). The guest may change the buffers at any
 * time: copy a header out once, then check the copy.
 */
size_t vtr_chain_read(const struct vtr_chain *chain, uint64_t off, void *dst, size_t len);
/* Copies len bytes from src into the writable part at off; returns the bytes copied. */
size_t vtr_chain_write(const struct vtr_chain *chain, uint64_t off, const void *src, size_t len);
/* The same over any segment array. */
size_t vtr_seg_copy_from(const struct vtr_seg *seg, unsigned n, uint64_t off, void *dst, size_t len);
size_t vtr_seg_copy_to(const struct vtr_seg *seg, unsigned n, uint64_t off, const void *src, size_t len);

/* ---- the device side of one split virtqueue ---- */

/* How a ring address given to vtr_vring_set_addr() is to be read. */
#define VTR_VRING_ADDR_GPA	0	/* guest-physical (a virtio transport's queue registers) */
#define VTR_VRING_ADDR_UVA	1	/* frontend virtual (vhost-user SET_VRING_ADDR) */

struct vtr_vring_stats {
	uint16_t avail_idx;		/* avail->idx as last read */
	uint16_t last_avail_idx;	/* next avail ring entry to pop */
	uint16_t used_idx;		/* used->idx as last written */
	uint16_t in_flight;		/* chains popped and not yet pushed */
	uint64_t pops, pushes;
	uint64_t notify_sent, notify_suppressed;	/* vtr_vring_should_notify() answers */
};

/*
 * One virtqueue. The fields are the module's: read them through the functions. The host
 * pointers stay valid while the memory map that gave them does: after SET_MEM_TABLE or
 * REM_MEM_REG, call vtr_vring_set_addr() again.
 */
struct vtr_vring {
	unsigned num;			/* 0: not set */
	bool ready;			/* the tables are translated */
	bool event_idx, indirect;	/* negotiated VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC */
	uint8_t *desc;			/* num * 16 bytes */
	uint16_t *avail;		/* flags, idx, ring[num], used_event */
	uint16_t *used;			/* flags, idx, then 8-byte elements, avail_event */
	uint16_t last_avail_idx, avail_idx, used_idx;
	uint16_t signalled_used;	/* used_idx at the last notification decision */
	bool signalled_used_valid;
	int error;			/* sticky: the -errno that broke the ring, 0 if none */
	char errmsg[120];
	struct vtr_vring_stats stats;
};

/* A queue with nothing set. */
void vtr_vring_init(struct vtr_vring *vq);
/* The queue size: a power of two, 1..VTR_VRING_MAX_SIZE, else -EINVAL. Unsets the addresses. */
int vtr_vring_set_num(struct vtr_vring *vq, unsigned num);
/*
 * Acts on VIRTIO_F_EVENT_IDX and VIRTIO_F_INDIRECT_DESC in the negotiated features (other bits
 * are ignored). May come before or after vtr_vring_set_addr(), which checks the event index
 * fields whatever the features.
 */
void vtr_vring_set_features(struct vtr_vring *vq, uint64_t features);
/*
 * Translates and checks the three tables (how: VTR_VRING_ADDR_*): each wholly inside one region
 * (-EFAULT), aligned as virtio 1.2 §2.7 requires (-EINVAL); the size must be set (-EINVAL).
 * used_idx is taken from the used ring; the error state is cleared. On failure the queue is left
 * without addresses (not ready), never with the old ones.
 */
int vtr_vring_set_addr(struct vtr_vring *vq, const struct vtr_mem *mem, int how,
		       uint64_t desc, uint64_t avail, uint64_t used);
/* vhost-user SET_VRING_BASE / GET_VRING_BASE: the next avail ring entry to pop. */
void vtr_vring_set_base(struct vtr_vring *vq, uint16_t last_avail_idx);
uint16_t vtr_vring_get_base(const struct vtr_vring *vq);
/* Size and addresses set, and not broken. */
bool vtr_vring_ready(const struct vtr_vring *vq);

/*
 * Takes the next available chain into *chain. Returns 0, -EAGAIN when the ring has nothing, or
 * -ENOBUFS when the chain needs more than chain->cap segments (nothing is consumed; retry with a
 * bigger list). Any other error means the guest broke the ring (virtio 1.2 §2.7): the queue stays
 * broken, every later pop returns the same error, and vtr_vring_strerror() says what was wrong;
 * the device should stop (NEEDS_RESET) and log it:
 *   -EPROTO  avail->idx is more than the queue size ahead of the entries popped
 *   -ERANGE  a head or next index outside its table
 *   -ELOOP   a chain longer than its table (the queue size, or an indirect table's length): a loop
 *   -EFAULT  a buffer or an indirect table not wholly inside one memory region
 *   -EINVAL  a readable descriptor after a writable one; INDIRECT with NEXT; INDIRECT inside an
 *            indirect table; INDIRECT not negotiated; an indirect table empty or not a multiple of
 *            16 bytes
 *   -E2BIG   an indirect table of more than VTR_VRING_MAX_INDIRECT descriptors
 *   -EMSGSIZE a chain of more than 2^32 bytes
 *   -ENODEV  the ring is not set up (size, addresses)
 * With VIRTIO_F_EVENT_IDX, avail_event is kept at the next entry to pop, so the driver kicks again
 * once it adds anything after the device goes idle. On any error *chain holds nothing usable.
 */
int vtr_vring_pop(struct vtr_vring *vq, const struct vtr_mem *mem, struct vtr_chain *chain);
/*
 * Gives a chain back: a used element (id, len bytes written), then used->idx with release
 * semantics. -EINVAL: id outside the table, or no chain in flight; -ENODEV: not set up.
 */
int vtr_vring_push(struct vtr_vring *vq, uint16_t id, uint32_t len);
/*
 * After one or more pushes: should the device notify the driver (virtio 1.2 §2.7.7 "Used Buffer
 * Notification Suppression")? With EVENT_IDX, when used->idx has passed used_event since the last
 * decision; without, unless the driver set VRING_AVAIL_F_NO_INTERRUPT. False when nothing was
 * pushed since the last call. Counts the answer.
 */
bool vtr_vring_should_notify(struct vtr_vring *vq);
/*
 * Asks the driver for kicks (enable) or not (virtio 1.2 §2.7.10 "Available Buffer Notification
 * Suppression": used->flags NO_NOTIFY, or avail_event with EVENT_IDX). On enable, returns true when
 * buffers arrived meanwhile, so the caller pops again instead of sleeping.
 */
bool vtr_vring_enable_notify(struct vtr_vring *vq, bool enable);
/* The ring's counters. */
void vtr_vring_stats(const struct vtr_vring *vq, struct vtr_vring_stats *ret_stats);
/* Why the ring is broken ("" when it is not). */
const char *vtr_vring_strerror(const struct vtr_vring *vq);

#endif
