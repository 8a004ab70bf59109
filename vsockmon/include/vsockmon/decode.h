/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decode.h: LINKTYPE_VSOCK frame decoder; content problems are reported as flags, never as errors. */
#ifndef VSOCKMON_DECODE_H
#define VSOCKMON_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsockmon/wire.h>

/* Problems found in a frame. The frame is still decoded as far as its bytes go. */
enum vsm_problem {
	VSM_PROB_TRUNCATED = 1u << 0,	 /* the capture ended inside a header */
	VSM_PROB_PAYLOAD_TRUNC = 1u << 1, /* snaplen cut the payload (headers complete) */
	VSM_PROB_LEN_MISMATCH = 1u << 2, /* virtio len != payload bytes on the wire */
	VSM_PROB_TP_LEN = 1u << 3,	 /* VIRTIO transport header length is not 44 */
	VSM_PROB_OP_MISMATCH = 1u << 4,	 /* mon op does not match the virtio op */
	VSM_PROB_ADDR_MISMATCH = 1u << 5, /* mon and virtio cids/ports differ */
	VSM_PROB_UNKNOWN_OP = 1u << 6,	 /* virtio op outside 1..7 */
	VSM_PROB_UNKNOWN_TYPE = 1u << 7, /* virtio type not STREAM or SEQPACKET */
	VSM_PROB_UNKNOWN_FLAGS = 1u << 8, /* flag bits with no meaning for this op/type */
	VSM_PROB_RESERVED = 1u << 9,	 /* reserved bytes or upper CID bits non-zero */
	VSM_PROB_UNKNOWN_MON_OP = 1u << 10,
	VSM_PROB_UNKNOWN_TRANSPORT = 1u << 11,
	VSM_PROB_TIMESTAMP = 1u << 12,	 /* time outside 1970..2199 (see timestamp.h): clamped */
};
#define VSM_PROB_COUNT 13

/* A decoded frame. Pointers borrow the caller's buffer. */
struct vsm_pkt {
	/* af_vsockmon_hdr, host byte order */
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint16_t mon_op, transport, tp_len;
	uint32_t mon_caplen;		/* bytes of the 32-byte vsockmon header captured: fields past it are 0 */
	bool has_virtio;		/* transport is VIRTIO and its 44 bytes were captured */
	struct vsm_virtio_hdr virtio;
	const uint8_t *frame;		/* the whole captured frame */
	const uint8_t *payload;		/* captured payload bytes */
	uint32_t payload_caplen;	/* bytes of payload in the capture */
	uint32_t payload_wirelen;	/* bytes of payload on the wire (from the frame length) */
	uint32_t cap_len, wire_len;	/* whole frame */
	uint32_t problems;		/* enum vsm_problem bits */
};

/*
 * Decodes one frame of cap_len captured bytes out of wire_len. Never fails on content:
 * returns 0 and sets pkt->problems. Returns -EINVAL only for a NULL argument.
 */
int vsm_decode(const uint8_t *frame, uint32_t cap_len, uint32_t wire_len, struct vsm_pkt *ret_pkt);
/* The same for a record read from a capture: the problems its reader found (rec->problems) included. */
struct vsm_rec;
int vsm_decode_rec(const struct vsm_rec *rec, struct vsm_pkt *ret_pkt);

/* Whether a vsockmon header field at byte offset off, size bytes long, was captured. */
static inline bool vsm_pkt_has_mon_field(const struct vsm_pkt *pkt, uint32_t off, uint32_t size)
{
	return pkt->mon_caplen >= off + size;
}

/* The header codec and the op mapping (vsm_decode_virtio_hdr(), vsm_mon_op_for() ...) are in wire.h. */

/* Payload length the packet really carries: the virtio len when present, else the frame's. */
uint32_t vsm_pkt_payload_len(const struct vsm_pkt *pkt);

#endif
