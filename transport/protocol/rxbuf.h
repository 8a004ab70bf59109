/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rxbuf.h: a connection's receive queue: a byte ring, plus message boundaries for SEQPACKET. */
#ifndef VTR_RXBUF_H
#define VTR_RXBUF_H

#include <stdbool.h>
#include <stdint.h>

struct vtr_msg {
	uint32_t len;
	bool eor;
};

struct vtr_rxbuf {
	uint8_t *data;
	uint32_t cap, head, len;	/* ring: len bytes from head; cap is a power of two or 0 */
	struct vtr_msg *msgs;		/* SEQPACKET: whole messages, oldest first (ring) */
	uint32_t msg_cap, msg_head, msg_count;
	uint32_t partial;		/* bytes of the message still being assembled (no EOM yet) */
};

void vtr_rxbuf_init(struct vtr_rxbuf *b);
void vtr_rxbuf_free(struct vtr_rxbuf *b);
/* Appends n bytes, growing the ring up to max_cap bytes. Returns 0 or -ENOMEM/-ENOBUFS. */
int vtr_rxbuf_append(struct vtr_rxbuf *b, const uint8_t *p, uint32_t n, uint32_t max_cap);
/* Copies up to n bytes from the front; consumes them when consume is set. Returns the count. */
uint32_t vtr_rxbuf_read(struct vtr_rxbuf *b, void *dst, uint32_t n, bool consume);
/* Drops n bytes from the front. */
void vtr_rxbuf_drop(struct vtr_rxbuf *b, uint32_t n);
/* SEQPACKET: the bytes appended since the last boundary become one message. Returns 0 or -ENOMEM. */
int vtr_rxbuf_end_msg(struct vtr_rxbuf *b, bool eor);
/* SEQPACKET: the oldest whole message, if any. */
bool vtr_rxbuf_peek_msg(const struct vtr_rxbuf *b, struct vtr_msg *ret_msg);
void vtr_rxbuf_pop_msg(struct vtr_rxbuf *b);

#endif
