/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vdrv.c: the driver side of a split virtqueue (virtio 1.2 §2.7), the guest half that vring.c serves. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vtr/vdrv.h>
#include "vring_layout.h"

/* Breaks the ring (vring_layout.h's vring_broken()). */
#define broken(vq, err, ...) vring_broken(&(vq)->error, (vq)->errmsg, sizeof((vq)->errmsg), (err), __VA_ARGS__)


#define DESC_F_NEXT		1
#define DESC_F_WRITE		2
#define DESC_F_INDIRECT		4
#define AVAIL_F_NO_INTERRUPT	1
#define USED_F_NO_NOTIFY	1

#define F_INDIRECT_DESC		28
#define F_EVENT_IDX		29
#define MAX_SIZE		32768




static void write_desc(uint8_t *table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t raw[VRING_DESC_SIZE];
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(raw, &a, 8);
	memcpy(raw + 8, &l, 4);
	memcpy(raw + 12, &f, 2);
	memcpy(raw + 14, &n, 2);
	memcpy(table + (size_t)i * VRING_DESC_SIZE, raw, VRING_DESC_SIZE);
}

int vdrv_init(struct vdrv *vq, unsigned num, void *desc, void *avail, void *used, uint64_t features)
{
	memset(vq, 0, sizeof(*vq));
	/* §2.7: a power of 2, at most 32768; alignments 16, 2 and 4. */
	if (!num || num > MAX_SIZE || (num & (num - 1)) || !desc || !avail || !used ||
	    ((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3))
		return -EINVAL;
	vq->free_next = malloc(num * sizeof(*vq->free_next));
	vq->heads = calloc(num, sizeof(*vq->heads));
	if (!vq->free_next || !vq->heads) {
		vdrv_free(vq);
		return -ENOMEM;
	}
	vq->num = num;
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->event_idx = features >> F_EVENT_IDX & 1;
	vq->indirect = features >> F_INDIRECT_DESC & 1;
	/* A reset queue: all indexes, flags and event fields 0 (the device starts from SET_VRING_BASE 0). */
	memset(desc, 0, (size_t)VRING_DESC_SIZE * num);
	memset(avail, 0, 6 + (size_t)2 * num);
	memset(used, 0, 6 + (size_t)8 * num);
	for (unsigned i = 0; i < num; i++)
		vq->free_next[i] = (uint16_t)(i + 1);
	vq->num_free = num;
	return 0;
}

void vdrv_free(struct vdrv *vq)
{
	free(vq->free_next);
	free(vq->heads);
	vq->free_next = NULL;
	vq->heads = NULL;
	vq->num = 0;
}

void vdrv_set_indirect(struct vdrv *vq, void *host, uint64_t gpa, unsigned per_table)
{
	vq->ind_host = host;
	vq->ind_gpa = gpa;
	vq->ind_per_table = per_table;
}

unsigned vdrv_num_free(const struct vdrv *vq)
{
	return vq->num_free;
}

const char *vdrv_strerror(const struct vdrv *vq)
{
	return vq->errmsg;
}

int vdrv_add(struct vdrv *vq, const struct vdrv_buf *bufs, unsigned n_out, unsigned n_in, bool indirect,
	     uint32_t cookie)
{
	unsigned n = n_out + n_in, need = indirect ? 1 : n;
	uint64_t total = 0, in_len = 0;
	uint16_t head, i, last;

	if (vq->error)
		return -EIO;
	if (!n || n < n_out)
		return -EINVAL;
	for (unsigned k = 0; k < n; k++) {
		total += bufs[k].len;
		if (k >= n_out)
			in_len += bufs[k].len;
	}
	/* §2.7.5.1: a chain of at most 2^32 bytes; the used len is 32 bits. */
	if (total > (uint64_t)1 << 32 || in_len > UINT32_MAX)
		return -EINVAL;
	if (indirect) {
		/* §2.7.5.3.1: only with VIRTIO_F_INDIRECT_DESC. */
		if (!vq->indirect || !vq->ind_host)
			return -EOPNOTSUPP;
		if (n > vq->ind_per_table)
			return -E2BIG;
	}
	/* §2.7.4: never longer than the queue size. */
	if (need > vq->num_free)
		return -ENOSPC;

	head = vq->free_head;
	if (indirect) {
		size_t off = (size_t)head * vq->ind_per_table * VRING_DESC_SIZE;
		uint8_t *table = vq->ind_host + off;

		/* The table's descriptors chain through next = i + 1 (§2.7.5.3.1). */
		for (unsigned k = 0; k < n; k++)
			write_desc(table, k, bufs[k].addr, bufs[k].len,
				   (uint16_t)((k >= n_out ? DESC_F_WRITE : 0) | (k + 1 < n ? DESC_F_NEXT : 0)),
				   (uint16_t)(k + 1 < n ? k + 1 : 0));
		/* The ring's descriptor: INDIRECT only, never with NEXT or WRITE (§2.7.5.3.1). */
		write_desc(vq->desc, head, vq->ind_gpa + off, n * VRING_DESC_SIZE, DESC_F_INDIRECT, 0);
		last = head;
		vq->free_head = vq->free_next[head];
	} else {
		/* The first n entries of the free list, in list order: their links already chain them. */
		i = head;
		last = head;
		for (unsigned k = 0; k < n; k++) {
			bool more = k + 1 < n;

			write_desc(vq->desc, i, bufs[k].addr, bufs[k].len,
				   (uint16_t)((k >= n_out ? DESC_F_WRITE : 0) | (more ? DESC_F_NEXT : 0)),
				   more ? vq->free_next[i] : 0);
			last = i;
			i = vq->free_next[i];
		}
		vq->free_head = i;
	}
	vq->num_free -= need;
	vq->in_flight++;
	vq->heads[head] = (struct vdrv_head){ .cookie = cookie, .in_len = (uint32_t)in_len, .last = last,
					      .ndesc = (uint16_t)need, .busy = true };

	/* §2.7.13: the ring entry, then idx with release, so the device that sees idx sees the chain. */
	vring_store16(&vq->avail[VRING_AVAIL_RING + (vq->avail_idx & (vq->num - 1))], head, __ATOMIC_RELAXED);
	vq->avail_idx++;
	vring_store16(&vq->avail[VRING_AVAIL_IDX], vq->avail_idx, __ATOMIC_RELEASE);
	return head;
}


bool vdrv_kick_needed(struct vdrv *vq)
{
	uint16_t old = vq->kicked_idx, new_idx = vq->avail_idx;

	vq->kicked_idx = new_idx;
	if (old == new_idx || vq->error)
		return false;
	/* avail->idx must be visible before we read the device's suppression fields: the device
	 * stores those and then reads idx again (vring.c pop and enable_notify), so one of us sees
	 * the other's store. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		return vring_need_event(vring_load16(vring_avail_event(vq->used, vq->num), __ATOMIC_RELAXED), new_idx, old);
	return !(vring_load16(&vq->used[VRING_USED_FLAGS], __ATOMIC_RELAXED) & USED_F_NO_NOTIFY);
}

int vdrv_get_used(struct vdrv *vq, uint32_t *ret_cookie, uint32_t *ret_len, uint32_t *ret_in_len)
{
	uint16_t idx, pending;
	uint32_t id, len;
	uint8_t raw[8];
	struct vdrv_head *h;

	if (vq->error)
		return vq->error;
	/* Acquire: the elements up to idx are visible once idx is (§2.7.8.2). */
	idx = vring_load16(&vq->used[VRING_USED_IDX], __ATOMIC_ACQUIRE);
	if (idx == vq->last_used)
		return 0;
	pending = (uint16_t)(idx - vq->last_used);
	/* §2.7.8: the device gives back only chains it was given; a jump past them is garbage. */
	if (pending > vq->in_flight)
		return broken(vq, -EPROTO, "used idx %u is %u ahead of %u, more than the %u chains in flight",
			      idx, pending, vq->last_used, vq->in_flight);
	/* One copy of the element: the device may rewrite it while we look. */
	memcpy(raw, (uint8_t *)&vq->used[VRING_USED_RING] + (size_t)8 * (vq->last_used & (vq->num - 1)), 8);
	memcpy(&id, raw, 4);
	memcpy(&len, raw + 4, 4);
	id = le32toh(id);
	len = le32toh(len);
	if (id >= vq->num)
		return broken(vq, -ERANGE, "used element %u: id %" PRIu32 " outside the table (size %u)",
			      vq->last_used, id, vq->num);
	h = &vq->heads[id];
	if (!h->busy)
		return broken(vq, -EINVAL, "used element %u: id %" PRIu32 " is not a chain in flight",
			      vq->last_used, id);
	/* The chain goes back to the head of the free list, its own links intact. */
	vq->free_next[h->last] = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free += h->ndesc;
	h->busy = false;
	vq->in_flight--;
	vq->last_used++;
	*ret_cookie = h->cookie;
	*ret_len = len;
	if (ret_in_len)
		*ret_in_len = h->in_len;
	return 1;
}

bool vdrv_has_used(struct vdrv *vq)
{
	return !vq->error && vring_load16(&vq->used[VRING_USED_IDX], __ATOMIC_ACQUIRE) != vq->last_used;
}

bool vdrv_enable_cb(struct vdrv *vq)
{
	if (vq->error)
		return false;
	/* §2.7.7: with EVENT_IDX, used_event names the element after which we want to hear; the
	 * flag is ignored then, but kept clear so the two agree. */
	if (vq->event_idx)
		vring_store16(vring_used_event(vq->avail, vq->num), vq->last_used, __ATOMIC_RELAXED);
	if (vq->avail_flags & AVAIL_F_NO_INTERRUPT) {
		vq->avail_flags &= (uint16_t)~AVAIL_F_NO_INTERRUPT;
		vring_store16(&vq->avail[VRING_AVAIL_FLAGS], vq->avail_flags, __ATOMIC_RELAXED);
	}
	/* Mirror of the device's store used->idx / full barrier / load used_event-or-flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vring_load16(&vq->used[VRING_USED_IDX], __ATOMIC_ACQUIRE) != vq->last_used;
}

void vdrv_disable_cb(struct vdrv *vq)
{
	if (vq->event_idx) {
		/*
		 * Half the index space ahead: the device's used->idx, at most num (<= 32768) past
		 * last_used, does not cross it before the driver moves it again. Only a hint: a device
		 * may notify anyway (§2.7.7.1), and a spurious notification costs a wake-up.
		 */
		vring_store16(vring_used_event(vq->avail, vq->num), (uint16_t)(vq->last_used + 0x8000), __ATOMIC_RELAXED);
		return;
	}
	if (!(vq->avail_flags & AVAIL_F_NO_INTERRUPT)) {
		vq->avail_flags |= AVAIL_F_NO_INTERRUPT;
		vring_store16(&vq->avail[VRING_AVAIL_FLAGS], vq->avail_flags, __ATOMIC_RELAXED);
	}
}
