/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rxbuf.c: receive queue of a connection; it grows on demand so idle connections cost little. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rxbuf.h"

void vtr_rxbuf_init(struct vtr_rxbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void vtr_rxbuf_free(struct vtr_rxbuf *b)
{
	free(b->data);
	free(b->msgs);
	vtr_rxbuf_init(b);
}

static int grow(struct vtr_rxbuf *b, uint32_t need, uint32_t max_cap)
{
	uint64_t cap = b->cap ? b->cap : 4096;
	uint8_t *data;

	while (cap < need)
		cap *= 2;
	if (cap > max_cap) {
		if (need > max_cap)
			return -ENOBUFS;
		cap = max_cap;
	}
	data = malloc(cap);
	if (!data)
		return -ENOMEM;
	/* Unwrap the old ring into the new buffer. */
	vtr_rxbuf_read(b, data, b->len, false);
	free(b->data);
	b->data = data;
	b->cap = (uint32_t)cap;
	b->head = 0;
	return 0;
}

int vtr_rxbuf_append(struct vtr_rxbuf *b, const uint8_t *p, uint32_t n, uint32_t max_cap)
{
	uint32_t tail, first;

	if (!n)
		return 0;
	if ((uint64_t)b->len + n > b->cap) {
		int ret = grow(b, b->len + n, max_cap);

		if (ret < 0)
			return ret;
	}
	tail = (uint32_t)(((uint64_t)b->head + b->len) % b->cap);
	first = b->cap - tail < n ? b->cap - tail : n;
	memcpy(b->data + tail, p, first);
	memcpy(b->data, p + first, n - first);
	b->len += n;
	b->partial += n;
	return 0;
}

uint32_t vtr_rxbuf_read(struct vtr_rxbuf *b, void *dst, uint32_t n, bool consume)
{
	uint32_t first;

	if (n > b->len)
		n = b->len;
	if (!n)
		return 0;
	first = b->cap - b->head < n ? b->cap - b->head : n;
	memcpy(dst, b->data + b->head, first);
	memcpy((uint8_t *)dst + first, b->data, n - first);
	if (consume)
		vtr_rxbuf_drop(b, n);
	return n;
}

void vtr_rxbuf_drop(struct vtr_rxbuf *b, uint32_t n)
{
	if (n > b->len)
		n = b->len;
	b->len -= n;
	b->head = b->len ? (uint32_t)(((uint64_t)b->head + n) % b->cap) : 0;
	if (b->partial > b->len)
		b->partial = b->len;
}

int vtr_rxbuf_end_msg(struct vtr_rxbuf *b, bool eor)
{
	if (b->msg_count == b->msg_cap) {
		uint32_t cap = b->msg_cap ? b->msg_cap * 2 : 16;
		struct vtr_msg *msgs = malloc(cap * sizeof(*msgs));

		if (!msgs)
			return -ENOMEM;
		for (uint32_t i = 0; i < b->msg_count; i++)
			msgs[i] = b->msgs[(b->msg_head + i) % b->msg_cap];
		free(b->msgs);
		b->msgs = msgs;
		b->msg_cap = cap;
		b->msg_head = 0;
	}
	b->msgs[(b->msg_head + b->msg_count) % b->msg_cap] = (struct vtr_msg){ b->partial, eor };
	b->msg_count++;
	b->partial = 0;
	return 0;
}

bool vtr_rxbuf_peek_msg(const struct vtr_rxbuf *b, struct vtr_msg *ret_msg)
{
	if (!b->msg_count)
		return false;
	*ret_msg = b->msgs[b->msg_head];
	return true;
}

void vtr_rxbuf_pop_msg(struct vtr_rxbuf *b)
{
	if (!b->msg_count)
		return;
	b->msg_head = (b->msg_head + 1) % b->msg_cap;
	b->msg_count--;
}
