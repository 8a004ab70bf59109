/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vring.c: the device side of a split virtqueue in untrusted guest memory (virtio 1.2 §2.7 "Split Virtqueues"). */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vtr/vring.h>

#include "vring_layout.h"

/* Breaks the ring (vring_layout.h's vring_broken()). */
#define broken(vq, err, ...) vring_broken(&(vq)->error, (vq)->errmsg, sizeof((vq)->errmsg), (err), __VA_ARGS__)

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

size_t vtr_vring_desc_bytes(unsigned num)
{
	return (size_t)VRING_DESC_SIZE * num;
}

size_t vtr_vring_avail_bytes(unsigned num)
{
	return 6 + (size_t)2 * num;
}

size_t vtr_vring_used_bytes(unsigned num)
{
	return 6 + (size_t)8 * num;
}

/* ---- guest memory accesses: each field read once, in its little-endian form ---- */

/* One descriptor, copied out in one go: the guest may rewrite it while we look (no double fetch). */
static void read_desc(const uint8_t *table, unsigned i, struct desc *ret_desc)
{
	uint8_t raw[VRING_DESC_SIZE];
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;

	memcpy(raw, table + (size_t)i * VRING_DESC_SIZE, VRING_DESC_SIZE);
	memcpy(&addr, raw, 8);
	memcpy(&len, raw + 8, 4);
	memcpy(&flags, raw + 12, 2);
	memcpy(&next, raw + 14, 2);
	ret_desc->addr = le64toh(addr);
	ret_desc->len = le32toh(len);
	ret_desc->flags = le16toh(flags);
	ret_desc->next = le16toh(next);
}




/* ---- setup ---- */

void vtr_vring_init(struct vtr_vring *vq)
{
	memset(vq, 0, sizeof(*vq));
}

int vtr_vring_set_num(struct vtr_vring *vq, unsigned num)
{
	/* virtio 1.2 §2.7 "Split Virtqueues": the queue size is a power of 2, at most 32768. */
	if (!num || num > VTR_VRING_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	vq->num = num;
	vq->ready = false;
	vq->desc = NULL;
	vq->avail = vq->used = NULL;
	return 0;
}

static int translate(const struct vtr_mem *mem, int how, uint64_t addr, uint64_t len, void **ret_ptr)
{
	if (how == VTR_VRING_ADDR_UVA)
		return vtr_mem_uva(mem, addr, len, ret_ptr);
	return vtr_mem_gpa(mem, addr, len, ret_ptr);
}

int vtr_vring_set_addr(struct vtr_vring *vq, const struct vtr_mem *mem, int how,
		       uint64_t desc, uint64_t avail, uint64_t used)
{
	void *d, *a, *u;
	int ret;

	/* Whatever happens next, the old translation is void: its memory may be gone. */
	vq->ready = false;
	if (!vq->num || (how != VTR_VRING_ADDR_GPA && how != VTR_VRING_ADDR_UVA))
		return -EINVAL;
	/* virtio 1.2 §2.7: alignment 16 (descriptor table), 2 (available ring), 4 (used ring). */
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	/*
	 * The whole tables, event index fields included, must be inside memory. The fields are
	 * checked even without EVENT_IDX: the size of a ring does not depend on features in the
	 * legacy layout, and the frontend may negotiate EVENT_IDX after giving the addresses.
	 */
	ret = translate(mem, how, desc, vtr_vring_desc_bytes(vq->num), &d);
	if (!ret)
		ret = translate(mem, how, avail, vtr_vring_avail_bytes(vq->num), &a);
	if (!ret)
		ret = translate(mem, how, used, vtr_vring_used_bytes(vq->num), &u);
	if (ret)
		return ret;
	/* The host copies must be aligned too: the indexes are read and written atomically. */
	if (((uintptr_t)a & 1) || ((uintptr_t)u & 3))
		return -EINVAL;
	vq->desc = d;
	vq->avail = a;
	vq->used = u;
	/* Continue where the ring is (libvhost-user does the same): the frontend owns used->idx. */
	vq->used_idx = vring_load16(&vq->used[VRING_USED_IDX], __ATOMIC_ACQUIRE);
	vq->stats.used_idx = vq->used_idx;
	vq->signalled_used_valid = false;
	vq->error = 0;
	vq->errmsg[0] = '\0';
	vq->ready = true;
	return 0;
}

void vtr_vring_set_features(struct vtr_vring *vq, uint64_t features)
{
	vq->event_idx = features >> VTR_VIRTIO_F_EVENT_IDX & 1;
	vq->indirect = features >> VTR_VIRTIO_F_INDIRECT_DESC & 1;
	vq->signalled_used_valid = false;
}

void vtr_vring_set_base(struct vtr_vring *vq, uint16_t last_avail_idx)
{
	vq->last_avail_idx = last_avail_idx;
	vq->stats.last_avail_idx = last_avail_idx;
}

uint16_t vtr_vring_get_base(const struct vtr_vring *vq)
{
	return vq->last_avail_idx;
}

bool vtr_vring_ready(const struct vtr_vring *vq)
{
	return vq->ready && !vq->error;
}

const char *vtr_vring_strerror(const struct vtr_vring *vq)
{
	return vq->errmsg;
}

/* ---- pop ---- */

/* Where a descriptor was found, for the messages. */
static const char *where(bool in_indirect)
{
	return in_indirect ? "indirect descriptor" : "descriptor";
}

/*
 * Walks the chain starting at head into chain (virtio 1.2 §2.7.5 "The Virtqueue Descriptor
 * Table", §2.7.5.3 "Indirect Descriptors", §2.7.4 "Message Framing"). Bounded: a table of n
 * descriptors is left after at most n steps, and there are at most two tables (the ring's and one
 * indirect one), so at most num + VTR_VRING_MAX_INDIRECT descriptors are read.
 */
static int walk(struct vtr_vring *vq, const struct vtr_mem *mem, uint16_t head, struct vtr_chain *chain)
{
	const uint8_t *table = vq->desc;
	unsigned table_n = vq->num, steps = 0, i = head;
	bool in_indirect = false, seen_write = false;
	uint64_t total = 0;

	chain->n_out = chain->n_in = 0;
	chain->out_len = chain->in_len = 0;
	for (;;) {
		struct desc d;
		void *p;

		/* "A driver MUST NOT create a descriptor chain longer than the Queue Size": a longer
		 * walk through a table of table_n entries has visited one twice, a loop. */
		if (++steps > table_n)
			return broken(vq, -ELOOP, "chain from head %u longer than its %s table (%u): a loop",
				      head, in_indirect ? "indirect" : "descriptor", table_n);
		read_desc(table, i, &d);

		if (d.flags & VTR_VRING_DESC_F_INDIRECT) {
			/* §2.7.5.3.1: only with VIRTIO_F_INDIRECT_DESC, never inside an indirect table, and
			 * never with NEXT; the table is len / 16 descriptors. The WRITE flag of this
			 * descriptor is ignored (§2.7.5.3.2). */
			if (in_indirect)
				return broken(vq, -EINVAL, "indirect descriptor %u of head %u is itself INDIRECT",
					      i, head);
			if (!vq->indirect)
				return broken(vq, -EINVAL, "descriptor %u: INDIRECT without VIRTIO_F_INDIRECT_DESC", i);
			if (d.flags & VTR_VRING_DESC_F_NEXT)
				return broken(vq, -EINVAL, "descriptor %u: both INDIRECT and NEXT", i);
			if (!d.len || d.len % VRING_DESC_SIZE)
				return broken(vq, -EINVAL, "descriptor %u: indirect table of %" PRIu32
					      " bytes, not a positive multiple of 16", i, d.len);
			if (d.len / VRING_DESC_SIZE > VTR_VRING_MAX_INDIRECT)
				return broken(vq, -E2BIG, "descriptor %u: indirect table of %" PRIu32
					      " descriptors, more than %u", i, d.len / VRING_DESC_SIZE, VTR_VRING_MAX_INDIRECT);
			if (vtr_mem_gpa(mem, d.addr, d.len, &p))
				return broken(vq, -EFAULT, "descriptor %u: indirect table 0x%" PRIx64 "+%" PRIu32
					      " not in guest memory", i, d.addr, d.len);
			table = p;
			table_n = d.len / VRING_DESC_SIZE;
			in_indirect = true;
			steps = 0;
			i = 0;
			continue;
		}

		/* §2.7.4.1: device-writable descriptors come after all device-readable ones. */
		if (d.flags & VTR_VRING_DESC_F_WRITE)
			seen_write = true;
		else if (seen_write)
			return broken(vq, -EINVAL, "%s %u of head %u: readable after writable",
				      where(in_indirect), i, head);

		if (d.len) {
			/* §2.7.5.1: no chain of more than 2^32 bytes. */
			total += d.len;
			if (total > (uint64_t)1 << 32)
				return broken(vq, -EMSGSIZE, "chain from head %u: more than 2^32 bytes", head);
			if (vtr_mem_gpa(mem, d.addr, d.len, &p))
				return broken(vq, -EFAULT, "%s %u of head %u: buffer 0x%" PRIx64 "+%" PRIu32
					      " not in guest memory", where(in_indirect), i, head, d.addr, d.len);
			if (chain->n_out + chain->n_in == chain->cap)
				return -ENOBUFS;	/* the caller's list, not the guest's fault */
			chain->seg[chain->n_out + chain->n_in] = (struct vtr_seg){ p, d.len };
			if (seen_write) {
				chain->n_in++;
				chain->in_len += d.len;
			} else {
				chain->n_out++;
				chain->out_len += d.len;
			}
		}

		if (!(d.flags & VTR_VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= table_n)
			return broken(vq, -ERANGE, "%s next %u of head %u out of range (table of %u)",
				      where(in_indirect), i, head, table_n);
	}
}

/* Keeps avail_event at the next entry to pop, so the driver kicks for anything it adds after it. */
static void set_avail_event(struct vtr_vring *vq)
{
	if (vq->event_idx)
		vring_store16(vring_avail_event(vq->used, vq->num), vq->last_avail_idx, __ATOMIC_RELAXED);
}

/* Reads avail->idx (acquire: the ring entries and descriptors it covers are visible after it). */
static int fetch_avail(struct vtr_vring *vq, uint16_t *ret_pending)
{
	uint16_t pending;

	*ret_pending = 0;
	vq->avail_idx = vring_load16(&vq->avail[VRING_AVAIL_IDX], __ATOMIC_ACQUIRE);
	vq->stats.avail_idx = vq->avail_idx;
	pending = (uint16_t)(vq->avail_idx - vq->last_avail_idx);
	/* §2.7.6: idx only grows, by at most the queue size ahead of what the device took. */
	if (pending > vq->num)
		return broken(vq, -EPROTO, "avail idx %u is %u entries ahead of %u (queue size %u)",
			      vq->avail_idx, pending, vq->last_avail_idx, vq->num);
	*ret_pending = pending;
	return 0;
}

int vtr_vring_pop(struct vtr_vring *vq, const struct vtr_mem *mem, struct vtr_chain *chain)
{
	uint16_t pending, head;
	int ret;

	if (vq->error)
		return vq->error;
	if (!vq->ready)
		return -ENODEV;
	ret = fetch_avail(vq, &pending);
	if (ret)
		return ret;
	if (!pending) {
		if (!vq->event_idx)
			return -EAGAIN;
		/* Going idle: publish avail_event, then look again; the driver does the mirror image
		 * (store idx, full barrier, load avail_event), so one of us sees the other. */
		set_avail_event(vq);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		ret = fetch_avail(vq, &pending);
		if (ret)
			return ret;
		if (!pending)
			return -EAGAIN;
	}

	head = vring_load16(&vq->avail[VRING_AVAIL_RING + (vq->last_avail_idx & (vq->num - 1))], __ATOMIC_RELAXED);
	if (head >= vq->num)
		return broken(vq, -ERANGE, "avail entry %u: head %u out of range (queue size %u)",
			      vq->last_avail_idx, head, vq->num);
	ret = walk(vq, mem, head, chain);
	if (ret)
		return ret;
	chain->head = head;
	vq->last_avail_idx++;
	vq->stats.last_avail_idx = vq->last_avail_idx;
	vq->stats.pops++;
	set_avail_event(vq);
	return 0;
}

/* ---- push and notifications ---- */

int vtr_vring_push(struct vtr_vring *vq, uint16_t id, uint32_t len)
{
	uint8_t *elem;
	uint32_t v;

	if (!vq->ready)
		return -ENODEV;
	if (id >= vq->num || vq->used_idx == vq->last_avail_idx)
		return -EINVAL;
	/* §2.7.8.2: the element (len first of all) is written before used->idx moves. */
	elem = (uint8_t *)&vq->used[VRING_USED_RING] + (size_t)8 * (vq->used_idx & (vq->num - 1));
	v = htole32(id);
	memcpy(elem, &v, 4);
	v = htole32(len);
	memcpy(elem + 4, &v, 4);
	vq->used_idx++;
	vring_store16(&vq->used[VRING_USED_IDX], vq->used_idx, __ATOMIC_RELEASE);
	vq->stats.used_idx = vq->used_idx;
	vq->stats.pushes++;
	return 0;
}


bool vtr_vring_should_notify(struct vtr_vring *vq)
{
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_used_valid, notify;

	if (!vq->ready)
		return false;
	if (valid && old == vq->used_idx)
		return false;	/* nothing pushed since the last decision */
	/* The used->idx store must be visible before the driver's suppression fields are read:
	 * the driver stores them, then reads used->idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (vq->event_idx)
		/* The lower bit of avail->flags is ignored with EVENT_IDX (§2.7.7.2). */
		notify = !valid || vring_need_event(vring_load16(vring_used_event(vq->avail, vq->num), __ATOMIC_RELAXED), vq->used_idx, old);
	else
		notify = !(vring_load16(&vq->avail[VRING_AVAIL_FLAGS], __ATOMIC_RELAXED) & VTR_VRING_AVAIL_F_NO_INTERRUPT);
	if (notify)
		vq->stats.notify_sent++;
	else
		vq->stats.notify_suppressed++;
	return notify;
}

bool vtr_vring_enable_notify(struct vtr_vring *vq, bool enable)
{
	uint16_t pending;

	if (!vq->ready || vq->error)
		return false;
	if (vq->event_idx) {
		/* §2.7.10: avail_event is the entry after which the driver kicks; disabling leaves
		 * it behind, where the driver's idx will not cross it for 65536 entries. */
		if (!enable)
			return false;
		set_avail_event(vq);
	} else {
		vring_store16(&vq->used[VRING_USED_FLAGS], enable ? 0 : VTR_VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
		if (!enable)
			return false;
	}
	/* Mirror of the driver's store idx / full barrier / load flags-or-avail_event. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (fetch_avail(vq, &pending))
		return false;
	return pending != 0;
}

void vtr_vring_stats(const struct vtr_vring *vq, struct vtr_vring_stats *ret_stats)
{
	*ret_stats = vq->stats;
	ret_stats->in_flight = (uint16_t)(vq->last_avail_idx - vq->used_idx);
}

/* ---- scatter lists ---- */

/* Copies len bytes between buf and the segments from offset off on, either way; returns the bytes copied. */
static size_t seg_copy(const struct vtr_seg *seg, unsigned n, uint64_t off, uint8_t *buf, size_t len, bool to_seg)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		uint8_t *base = seg[i].base;
		size_t k;

		if (off >= seg[i].len) {
			off -= seg[i].len;
			continue;
		}
		k = seg[i].len - off;
		if (k > len - done)
			k = len - done;
		if (to_seg)
			memcpy(base + off, buf + done, k);
		else
			memcpy(buf + done, base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t vtr_seg_copy_from(const struct vtr_seg *seg, unsigned n, uint64_t off, void *dst, size_t len)
{
	return seg_copy(seg, n, off, dst, len, false);
}

size_t vtr_seg_copy_to(const struct vtr_seg *seg, unsigned n, uint64_t off, const void *src, size_t len)
{
	return seg_copy(seg, n, off, (uint8_t *)src, len, true);
}

size_t vtr_chain_read(const struct vtr_chain *chain, uint64_t off, void *dst, size_t len)
{
	return vtr_seg_copy_from(chain->seg, chain->n_out, off, dst, len);
}

size_t vtr_chain_write(const struct vtr_chain *chain, uint64_t off, const void *src, size_t len)
{
	return vtr_seg_copy_to(chain->seg + chain->n_out, chain->n_in, off, src, len);
}
