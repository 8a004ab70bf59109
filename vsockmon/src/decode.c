/* SPDX-License-Identifier: GPL-2.0-or-later */
/* decode.c: LINKTYPE_VSOCK frame decoder; every oddity becomes a problem flag, never an error. */
#include <errno.h>
#include <string.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/pcap.h>
#include <vsockmon/wire.h>

static void decode_mon(const uint8_t *m, uint32_t cap_len, struct vsm_pkt *p)
{
	struct vsm_mon_hdr h;

	vsm_decode_mon_hdr(m, cap_len, &h);
	p->src_cid = h.src_cid;
	p->dst_cid = h.dst_cid;
	p->src_port = h.src_port;
	p->dst_port = h.dst_port;
	p->mon_op = h.op;
	p->transport = h.transport;
	p->tp_len = h.len;
	if (h.reserved[0] || h.reserved[1])
		p->problems |= VSM_PROB_RESERVED;
}

/* Checks of the virtio header against the spec (5.10.6) and against the vsockmon header. */
static uint32_t virtio_problems(const struct vsm_pkt *p)
{
	const struct vsm_virtio_hdr *h = &p->virtio;
	uint32_t prob = 0;

	if (h->op == VSM_OP_INVALID || h->op > VSM_OP_MAX)
		prob |= VSM_PROB_UNKNOWN_OP;
	else if (p->mon_op != vsm_mon_op_for(h->op))
		prob |= VSM_PROB_OP_MISMATCH;
	if (h->type != VSM_TYPE_STREAM && h->type != VSM_TYPE_SEQPACKET)
		prob |= VSM_PROB_UNKNOWN_TYPE;
	if (h->flags & ~vsm_known_flags(h->op, h->type))
		prob |= VSM_PROB_UNKNOWN_FLAGS;
	/* "The upper 32 bits of src_cid and dst_cid are reserved and zeroed." */
	if ((h->src_cid >> 32) || (h->dst_cid >> 32))
		prob |= VSM_PROB_RESERVED;
	if (h->src_cid != p->src_cid || h->dst_cid != p->dst_cid ||
	    h->src_port != p->src_port || h->dst_port != p->dst_port)
		prob |= VSM_PROB_ADDR_MISMATCH;
	/* Only RW carries payload; the kernel's split-packet tap bug made len disagree (fixed 2026). */
	if (h->len != p->payload_wirelen)
		prob |= VSM_PROB_LEN_MISMATCH;
	return prob;
}

int vsm_decode(const uint8_t *frame, uint32_t cap_len, uint32_t wire_len, struct vsm_pkt *ret_pkt)
{
	struct vsm_pkt *p = ret_pkt;
	uint32_t hdr_end;

	if (!frame || !ret_pkt)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	if (wire_len < cap_len)
		wire_len = cap_len;
	p->frame = frame;
	p->cap_len = cap_len;
	p->wire_len = wire_len;
	/* What was captured of the header is kept; the rest reads as zero and is marked missing. */
	decode_mon(frame, cap_len, p);
	if (cap_len < VSM_MON_HDR_LEN) {
		p->mon_caplen = cap_len;
		p->problems = VSM_PROB_TRUNCATED;
		return 0;
	}
	p->mon_caplen = VSM_MON_HDR_LEN;
	if (p->mon_op > VSM_MON_OP_PAYLOAD)
		p->problems |= VSM_PROB_UNKNOWN_MON_OP;
	if (p->transport > VSM_MON_TRANSPORT_VIRTIO)
		p->problems |= VSM_PROB_UNKNOWN_TRANSPORT;

	/* The transport header is tp_len bytes long, whatever the transport (LINKTYPE_VSOCK page). */
	hdr_end = VSM_MON_HDR_LEN + p->tp_len;
	if (wire_len >= hdr_end)
		p->payload_wirelen = wire_len - hdr_end;
	if (cap_len >= hdr_end) {
		p->payload = frame + hdr_end;
		p->payload_caplen = cap_len - hdr_end;
		if (p->payload_caplen < p->payload_wirelen)
			p->problems |= VSM_PROB_PAYLOAD_TRUNC;
	} else {
		p->problems |= VSM_PROB_TRUNCATED;
	}

	if (p->transport != VSM_MON_TRANSPORT_VIRTIO)
		return 0;
	if (p->tp_len != VSM_VIRTIO_HDR_LEN)
		p->problems |= VSM_PROB_TP_LEN;
	if (p->tp_len < VSM_VIRTIO_HDR_LEN || cap_len < VSM_FRAME_HDR_LEN) {
		/* Not even a whole virtio header: decode nothing more. */
		if (cap_len < VSM_FRAME_HDR_LEN)
			p->problems |= VSM_PROB_TRUNCATED;
		return 0;
	}
	p->has_virtio = true;
	vsm_decode_virtio_hdr(frame + VSM_OFF_VIRTIO, &p->virtio);
	p->problems |= virtio_problems(p);
	return 0;
}

int vsm_decode_rec(const struct vsm_rec *rec, struct vsm_pkt *ret_pkt)
{
	int ret;

	if (!rec)
		return -EINVAL;
	ret = vsm_decode(rec->data, rec->cap_len, rec->wire_len, ret_pkt);
	if (ret == 0)
		ret_pkt->problems |= rec->problems;
	return ret;
}

uint32_t vsm_pkt_payload_len(const struct vsm_pkt *pkt)
{
	return pkt->has_virtio ? pkt->virtio.len : pkt->payload_wirelen;
}
