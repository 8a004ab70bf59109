/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.c: encode and decode of the monitor and virtio headers, the op mapping and the credit math. */
#include <string.h>

#include <vsockmon/wire.h>

/*
 * Each header's fields, written once for both directions in wirefields.def (header, name, bits,
 * offset): the decoder and the encoder are expanded from the same list, so they cannot disagree on a
 * field's place. ONLY_<header>_<wanted> keeps the lines of one header.
 */
#define ONLY_MON_MON(x)		x
#define ONLY_MON_VIRTIO(x)
#define ONLY_VIRTIO_VIRTIO(x)	x
#define ONLY_VIRTIO_MON(x)
#define DECODE_MON(hdr, name, bits, off)	ONLY_MON_##hdr(h->name = vsm_le##bits(p + (off));)
#define ENCODE_MON(hdr, name, bits, off)	ONLY_MON_##hdr(vsm_put_le##bits(p + (off), h->name);)
#define DECODE_VIRTIO(hdr, name, bits, off)	ONLY_VIRTIO_##hdr(h->name = vsm_le##bits(p + (off));)
#define ENCODE_VIRTIO(hdr, name, bits, off)	ONLY_VIRTIO_##hdr(vsm_put_le##bits(p + (off), h->name);)


uint16_t vsm_mon_op_for(uint16_t op)
{
	switch (op) {
	case VSM_OP_REQUEST:
	case VSM_OP_RESPONSE:
		return VSM_MON_OP_CONNECT;
	case VSM_OP_RST:
	case VSM_OP_SHUTDOWN:
		return VSM_MON_OP_DISCONNECT;
	case VSM_OP_RW:
		return VSM_MON_OP_PAYLOAD;
	case VSM_OP_CREDIT_UPDATE:
	case VSM_OP_CREDIT_REQUEST:
		return VSM_MON_OP_CONTROL;
	default:
		return VSM_MON_OP_UNKNOWN;
	}
}

void vsm_decode_mon_hdr(const uint8_t *p, size_t cap_len, struct vsm_mon_hdr *h)
{
	uint8_t cut[VSM_MON_HDR_LEN] = { 0 };

	if (cap_len < VSM_MON_HDR_LEN) {
		/* Keep what was captured, a field cut in the middle included; the rest reads as zero. */
		memcpy(cut, p, cap_len);
		p = cut;
	}
	memset(h, 0, sizeof(*h));
#define X DECODE_MON
#include "wirefields.def"
#undef X
	memcpy(h->reserved, p + VSM_OFF_MON_RESERVED, sizeof(h->reserved));
}

void vsm_encode_mon_hdr(const struct vsm_mon_hdr *h, uint8_t *p)
{
#define X ENCODE_MON
#include "wirefields.def"
#undef X
	memcpy(p + VSM_OFF_MON_RESERVED, h->reserved, sizeof(h->reserved));
}

void vsm_decode_virtio_hdr(const uint8_t *p, struct vsm_virtio_hdr *h)
{
	/* Padding too, so that decoded headers compare with memcmp(). */
	memset(h, 0, sizeof(*h));
#define X DECODE_VIRTIO
#include "wirefields.def"
#undef X
}

void vsm_encode_virtio_hdr(const struct vsm_virtio_hdr *h, uint8_t *p)
{
#define X ENCODE_VIRTIO
#include "wirefields.def"
#undef X
}

void vsm_mon_hdr_for_virtio(const uint8_t *v, uint8_t *m)
{
	/*
	 * The first 24 bytes (cids and ports) have the same layout and byte order in both headers,
	 * so they are copied as they are, as Linux does ("pkt->hdr is little-endian so no need to
	 * byteswap"): no decode on the tap's path.
	 */
	memcpy(m, v, VSM_OFF_MON_OP);
	vsm_put_le16(m + VSM_OFF_MON_OP, vsm_mon_op_for(vsm_le16(v + VSM_VH_OP)));
	vsm_put_le16(m + VSM_OFF_MON_TRANSPORT, VSM_MON_TRANSPORT_VIRTIO);
	vsm_put_le16(m + VSM_OFF_MON_LEN, VSM_VIRTIO_HDR_LEN);
	m[VSM_OFF_MON_RESERVED] = 0;
	m[VSM_OFF_MON_RESERVED + 1] = 0;
}

int64_t vsm_credit(uint32_t peer_buf_alloc, uint32_t tx_cnt, uint32_t peer_fwd_cnt)
{
	/* virtio spec 5.10.6.3: peer_free = peer_buf_alloc - (tx_cnt - peer_fwd_cnt), counters mod 2^32. */
	return (int64_t)peer_buf_alloc - (int64_t)vsm_in_flight(tx_cnt, peer_fwd_cnt);
}
