/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pktq.h: a FIFO of whole virtio-vsock packets (header and payload in one block), held while a wire is full. */
#ifndef VTR_PKTQ_H
#define VTR_PKTQ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/wire.h>

/*
 * The one packet queue of the transport: the engine's packets the wire refused (engine.c), vsockdev's
 * packets for a sibling VM whose RX ring is full (daemon/vm.c), vsocklab's in-memory wire. One meaning
 * of the lengths: payload_len is the payload alone (the header's len field); the header is always
 * VSM_VIRTIO_HDR_LEN bytes before it, and the queue's bytes count both, as the memory it holds.
 * Inline: these run once per packet on paths the benchmarks measure.
 */
struct vtr_pkt {
	struct vtr_pkt *next;
	void *origin;			/* the queue owner's: vsocklab's sending node; NULL elsewhere */
	uint32_t payload_len;		/* payload bytes after the header */
	uint8_t data[];			/* the header (VSM_VIRTIO_HDR_LEN bytes), then the payload */
};

struct vtr_pktq {
	struct vtr_pkt *head, *tail;
	uint64_t bytes;			/* headers and payloads of the packets held */
};

static inline uint8_t *vtr_pkt_hdr(struct vtr_pkt *p)
{
	return p->data;
}

static inline uint8_t *vtr_pkt_payload(struct vtr_pkt *p)
{
	return p->data + VSM_VIRTIO_HDR_LEN;
}

/* What a packet of len payload bytes adds to a queue's bytes. */
static inline uint64_t vtr_pkt_size(uint32_t payload_len)
{
	return (uint64_t)VSM_VIRTIO_HDR_LEN + payload_len;
}

/* A copy of the header and len bytes of payload, or NULL when memory is short. */
static inline struct vtr_pkt *vtr_pkt_new(const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct vtr_pkt *p = malloc(sizeof(*p) + vtr_pkt_size(len));

	if (!p)
		return NULL;
	p->next = NULL;
	p->origin = NULL;
	p->payload_len = len;
	memcpy(p->data, hdr, VSM_VIRTIO_HDR_LEN);
	if (len)
		memcpy(p->data + VSM_VIRTIO_HDR_LEN, payload, len);
	return p;
}

/* Appends p; the queue owns it until popped. */
static inline void vtr_pktq_push(struct vtr_pktq *q, struct vtr_pkt *p)
{
	p->next = NULL;
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = p;
	q->bytes += vtr_pkt_size(p->payload_len);
}

/* Takes the oldest packet off the queue (the caller frees it), or NULL when it is empty. */
static inline struct vtr_pkt *vtr_pktq_pop(struct vtr_pktq *q)
{
	struct vtr_pkt *p = q->head;

	if (!p)
		return NULL;
	q->head = p->next;
	if (!q->head)
		q->tail = NULL;
	q->bytes -= vtr_pkt_size(p->payload_len);
	p->next = NULL;
	return p;
}

/* Frees every packet held. */
static inline void vtr_pktq_clear(struct vtr_pktq *q)
{
	struct vtr_pkt *p;

	while ((p = vtr_pktq_pop(q)))
		free(p);
}

#endif
