/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vring_layout.h: the split virtqueue's layout in memory, shared by its device side (vring.c) and its driver side (vdrv.c). */
#ifndef VTR_VRING_LAYOUT_H
#define VTR_VRING_LAYOUT_H

#include <endian.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Layout (virtio 1.2 §2.7, "Split Virtqueues", and its table of alignments):
 *   descriptor table  16 * num bytes, 16-byte aligned: le64 addr, le32 len, le16 flags, le16 next
 *   available ring    le16 flags, le16 idx, le16 ring[num], le16 used_event; 2-byte aligned
 *   used ring         le16 flags, le16 idx, {le32 id, le32 len} ring[num], le16 avail_event; 4-byte aligned
 * All fields are little-endian (virtio 1.x). The 16-bit indexes run freely and wrap at 65536;
 * entry i of a ring is at i % num, which is why num is a power of two.
 */
#define VRING_DESC_SIZE		16
#define VRING_AVAIL_FLAGS	0	/* indexes into the avail and used rings as uint16_t arrays */
#define VRING_AVAIL_IDX		1
#define VRING_AVAIL_RING	2
#define VRING_USED_FLAGS	0
#define VRING_USED_IDX		1
#define VRING_USED_RING		2	/* elements start here (byte offset 4), 8 bytes each */

/* Each ring field is read and written once, whole, in its little-endian form. */
static inline uint16_t vring_load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static inline void vring_store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

/* avail->used_event and used->avail_event sit right after their ring (virtio 1.2 §2.7.6, §2.7.8). */
static inline uint16_t *vring_used_event(uint16_t *avail, unsigned num)
{
	return &avail[VRING_AVAIL_RING + num];
}

static inline uint16_t *vring_avail_event(uint16_t *used, unsigned num)
{
	return &used[VRING_USED_RING + 4 * num];
}

/* virtio 1.2 §2.7.7.2 / §2.7.10: notify when the index moved from old past event (event in [old, new)). */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * Breaks a ring, the device's (vring.c) or the driver's (vdrv.c): the error and its message stick until
 * the ring is set up again. Returns err, so that a caller can `return vring_broken(...)`.
 */
__attribute__((format(printf, 5, 6)))
static inline int vring_broken(int *error, char *msg, size_t msglen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	*error = err;
	return err;
}

#endif
