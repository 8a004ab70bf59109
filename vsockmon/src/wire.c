/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.c: the op mapping, the tap's monitor header and the credit math (the header codecs are inline in wire.h). */
#include <string.h>

#include <vsockmon/wire.h>

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
