/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.h: on-the-wire layout of LINKTYPE_VSOCK (271) frames and the virtio-vsock header. */
#ifndef VSOCKMON_WIRE_H
#define VSOCKMON_WIRE_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A LINKTYPE_VSOCK frame is, all little-endian (Linux include/uapi/linux/vsockmon.h):
 *   struct af_vsockmon_hdr (32 bytes)
 *     0 le64 src_cid   8 le64 dst_cid  16 le32 src_port  20 le32 dst_port
 *    24 le16 op       26 le16 transport 28 le16 len (transport header length)  30 u8 reserved[2]
 *   transport header (af_vsockmon_hdr.len bytes; 44 for VIRTIO)
 *   payload (until the end of the frame)
 * The virtio transport header is struct virtio_vsock_hdr (virtio spec 1.3,
 * "5.10.6 Device Operation"), at frame offset 32:
 *     0 le64 src_cid   8 le64 dst_cid  16 le32 src_port  20 le32 dst_port
 *    24 le32 len      28 le16 type     30 le16 op        32 le32 flags
 *    36 le32 buf_alloc 40 le32 fwd_cnt
 */
#define VSM_LINKTYPE_VSOCK	271
#define VSM_ARPHRD_VSOCKMON	826
#define VSM_MON_HDR_LEN		32
#define VSM_VIRTIO_HDR_LEN	44
#define VSM_FRAME_HDR_LEN	(VSM_MON_HDR_LEN + VSM_VIRTIO_HDR_LEN)
#define VSM_DEFAULT_SNAPLEN	262144

/* Byte offsets inside a frame (used by the decoder and the BPF filter compiler). */
#define VSM_OFF_MON_SRC_CID	0
#define VSM_OFF_MON_DST_CID	8
#define VSM_OFF_MON_SRC_PORT	16
#define VSM_OFF_MON_DST_PORT	20
#define VSM_OFF_MON_OP		24
#define VSM_OFF_MON_TRANSPORT	26
#define VSM_OFF_MON_LEN		28
#define VSM_OFF_MON_RESERVED	30
/* Byte offsets inside a bare virtio header (as on a virtqueue). */
#define VSM_VH_SRC_CID		0
#define VSM_VH_DST_CID		8
#define VSM_VH_SRC_PORT		16
#define VSM_VH_DST_PORT		20
#define VSM_VH_LEN		24
#define VSM_VH_TYPE		28
#define VSM_VH_OP		30
#define VSM_VH_FLAGS		32
#define VSM_VH_BUF_ALLOC	36
#define VSM_VH_FWD_CNT		40
/* The same inside a frame. */
#define VSM_OFF_VIRTIO		VSM_MON_HDR_LEN
#define VSM_OFF_V_SRC_CID	(VSM_OFF_VIRTIO + VSM_VH_SRC_CID)
#define VSM_OFF_V_DST_CID	(VSM_OFF_VIRTIO + VSM_VH_DST_CID)
#define VSM_OFF_V_SRC_PORT	(VSM_OFF_VIRTIO + VSM_VH_SRC_PORT)
#define VSM_OFF_V_DST_PORT	(VSM_OFF_VIRTIO + VSM_VH_DST_PORT)
#define VSM_OFF_V_LEN		(VSM_OFF_VIRTIO + VSM_VH_LEN)
#define VSM_OFF_V_TYPE		(VSM_OFF_VIRTIO + VSM_VH_TYPE)
#define VSM_OFF_V_OP		(VSM_OFF_VIRTIO + VSM_VH_OP)
#define VSM_OFF_V_FLAGS		(VSM_OFF_VIRTIO + VSM_VH_FLAGS)
#define VSM_OFF_V_BUF_ALLOC	(VSM_OFF_VIRTIO + VSM_VH_BUF_ALLOC)
#define VSM_OFF_V_FWD_CNT	(VSM_OFF_VIRTIO + VSM_VH_FWD_CNT)

/* enum af_vsockmon_op */
enum vsm_mon_op {
	VSM_MON_OP_UNKNOWN = 0,
	VSM_MON_OP_CONNECT = 1,
	VSM_MON_OP_DISCONNECT = 2,
	VSM_MON_OP_CONTROL = 3,
	VSM_MON_OP_PAYLOAD = 4,
};

/* enum af_vsockmon_transport */
enum vsm_mon_transport {
	VSM_MON_TRANSPORT_UNKNOWN = 0,
	VSM_MON_TRANSPORT_NO_INFO = 1,
	VSM_MON_TRANSPORT_VIRTIO = 2,
};

/* virtio spec 5.10.6: socket types */
enum vsm_type {
	VSM_TYPE_STREAM = 1,
	VSM_TYPE_SEQPACKET = 2,
};

/* virtio spec 5.10.6: operations */
enum vsm_op {
	VSM_OP_INVALID = 0,
	VSM_OP_REQUEST = 1,
	VSM_OP_RESPONSE = 2,
	VSM_OP_RST = 3,
	VSM_OP_SHUTDOWN = 4,
	VSM_OP_RW = 5,
	VSM_OP_CREDIT_UPDATE = 6,
	VSM_OP_CREDIT_REQUEST = 7,
};
#define VSM_OP_MAX VSM_OP_CREDIT_REQUEST

/* virtio spec 5.10.6.5: SHUTDOWN flags */
#define VSM_SHUTDOWN_RCV	(1u << 0)
#define VSM_SHUTDOWN_SEND	(1u << 1)
/* virtio spec 5.10.6.6 (SEQPACKET): RW flags */
#define VSM_SEQ_EOM		(1u << 0)
#define VSM_SEQ_EOR		(1u << 1)

/* Well-known CIDs (virtio spec 5.10.4 and Linux vm_sockets.h). */
#define VSM_CID_HYPERVISOR	0
#define VSM_CID_LOCAL		1
#define VSM_CID_HOST		2
#define VSM_CID_ANY		0xffffffffu


/*
 * Little-endian fields: the project's one accessor family (tcpdump's extract.h idea). Two forms:
 * - vsm_le16/32/64() load and vsm_put_le16/32/64() store at p, for buffers whose size the caller
 *   already holds (a 44-byte header array); like tcpdump's EXTRACT_LE_U_n, nothing is checked;
 * - vsm_get_le16/32/64() and vsm_set_le16/32/64() take the buffer, its length and the field's
 *   offset, and check the bounds, like tcpdump's GET_LE_U_n: a field past the end reads as 0 (a
 *   truncated capture decodes as far as its bytes go) and is not written (set returns false).
 * No alignment or aliasing is assumed; with a constant length the checks fold away.
 */
static inline uint16_t vsm_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static inline uint32_t vsm_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t vsm_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline void vsm_put_le16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void vsm_put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void vsm_put_le64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

/* Whether size bytes at off lie inside a buffer of len bytes (no overflow for any off). */
static inline bool vsm_wire_fits(size_t len, size_t off, size_t size)
{
	return off <= len && size <= len - off;
}

static inline uint16_t vsm_get_le16(const uint8_t *buf, size_t len, size_t off)
{
	return vsm_wire_fits(len, off, 2) ? vsm_le16(buf + off) : 0;
}

static inline uint32_t vsm_get_le32(const uint8_t *buf, size_t len, size_t off)
{
	return vsm_wire_fits(len, off, 4) ? vsm_le32(buf + off) : 0;
}

static inline uint64_t vsm_get_le64(const uint8_t *buf, size_t len, size_t off)
{
	return vsm_wire_fits(len, off, 8) ? vsm_le64(buf + off) : 0;
}

static inline bool vsm_set_le16(uint8_t *buf, size_t len, size_t off, uint16_t v)
{
	if (!vsm_wire_fits(len, off, 2))
		return false;
	vsm_put_le16(buf + off, v);
	return true;
}

static inline bool vsm_set_le32(uint8_t *buf, size_t len, size_t off, uint32_t v)
{
	if (!vsm_wire_fits(len, off, 4))
		return false;
	vsm_put_le32(buf + off, v);
	return true;
}

static inline bool vsm_set_le64(uint8_t *buf, size_t len, size_t off, uint64_t v)
{
	if (!vsm_wire_fits(len, off, 8))
		return false;
	vsm_put_le64(buf + off, v);
	return true;
}

/* struct af_vsockmon_hdr, host byte order. */
struct vsm_mon_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint16_t op;			/* enum vsm_mon_op */
	uint16_t transport;		/* enum vsm_mon_transport */
	uint16_t len;			/* transport header length */
	uint8_t reserved[2];
};

/* struct virtio_vsock_hdr, host byte order. */
struct vsm_virtio_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;		/* payload length claimed by the header */
	uint16_t type, op;
	uint32_t flags;
	uint32_t buf_alloc, fwd_cnt;
};

/*
 * The four codecs are expanded from one list of both headers' fields, wirefields.def (header, name,
 * bits, offset), so they cannot disagree on a field's place; inline, since every packet of every tool
 * goes through them. VSM_WIRE_ONLY_<header>_<wanted> keeps the lines of one header.
 */
#define VSM_WIRE_ONLY_MON_MON(x)	x
#define VSM_WIRE_ONLY_MON_VIRTIO(x)
#define VSM_WIRE_ONLY_VIRTIO_VIRTIO(x)	x
#define VSM_WIRE_ONLY_VIRTIO_MON(x)
#define VSM_WIRE_DECODE_MON(hdr, name, bits, off)	VSM_WIRE_ONLY_MON_##hdr(h->name = vsm_le##bits(p + (off));)
#define VSM_WIRE_ENCODE_MON(hdr, name, bits, off)	VSM_WIRE_ONLY_MON_##hdr(vsm_put_le##bits(p + (off), h->name);)
#define VSM_WIRE_DECODE_VIRTIO(hdr, name, bits, off)	VSM_WIRE_ONLY_VIRTIO_##hdr(h->name = vsm_le##bits(p + (off));)
#define VSM_WIRE_ENCODE_VIRTIO(hdr, name, bits, off)	VSM_WIRE_ONLY_VIRTIO_##hdr(vsm_put_le##bits(p + (off), h->name);)

_Static_assert(sizeof(struct vsm_mon_hdr) == VSM_MON_HDR_LEN, "struct vsm_mon_hdr has padding");

/*
 * Decodes the monitor header from the first cap_len bytes of a frame: bytes past cap_len read
 * as 0 (a field cut in the middle keeps its captured bytes, as vsm_decode() has always shown it).
 * The struct has no padding, so decoded headers compare with memcmp().
 */
static inline void vsm_decode_mon_hdr(const uint8_t *p, size_t cap_len, struct vsm_mon_hdr *h)
{
	uint8_t cut[VSM_MON_HDR_LEN];

	if (cap_len < VSM_MON_HDR_LEN) {
		/* Keep what was captured, a field cut in the middle included; the rest reads as zero. */
		memset(cut, 0, sizeof(cut));
		memcpy(cut, p, cap_len);
		p = cut;
	}
#define X VSM_WIRE_DECODE_MON
#include <vsockmon/wirefields.def>
#undef X
	memcpy(h->reserved, p + VSM_OFF_MON_RESERVED, sizeof(h->reserved));
}

/* Encodes one into VSM_MON_HDR_LEN bytes, little-endian. */
static inline void vsm_encode_mon_hdr(const struct vsm_mon_hdr *h, uint8_t *p)
{
#define X VSM_WIRE_ENCODE_MON
#include <vsockmon/wirefields.def>
#undef X
	memcpy(p + VSM_OFF_MON_RESERVED, h->reserved, sizeof(h->reserved));
}

/* Decodes a bare 44-byte little-endian virtio-vsock header (as on a virtqueue or a wire). */
static inline void vsm_decode_virtio_hdr(const uint8_t *p, struct vsm_virtio_hdr *h)
{
	/* Padding too, so that decoded headers compare with memcmp(). */
	memset(h, 0, sizeof(*h));
#define X VSM_WIRE_DECODE_VIRTIO
#include <vsockmon/wirefields.def>
#undef X
}

/* Encodes one into 44 bytes, little-endian (virtio spec 5.10.6). */
static inline void vsm_encode_virtio_hdr(const struct vsm_virtio_hdr *h, uint8_t *p)
{
#define X VSM_WIRE_ENCODE_VIRTIO
#include <vsockmon/wirefields.def>
#undef X
}

#undef VSM_WIRE_ONLY_MON_MON
#undef VSM_WIRE_ONLY_MON_VIRTIO
#undef VSM_WIRE_ONLY_VIRTIO_VIRTIO
#undef VSM_WIRE_ONLY_VIRTIO_MON
#undef VSM_WIRE_DECODE_MON
#undef VSM_WIRE_ENCODE_MON
#undef VSM_WIRE_DECODE_VIRTIO
#undef VSM_WIRE_ENCODE_VIRTIO

/* The af_vsockmon op Linux's tap writes for a virtio op (virtio_transport_build_skb()). */
uint16_t vsm_mon_op_for(uint16_t virtio_op);
/*
 * The monitor header Linux's tap puts before a 44-byte virtio header (virtio_transport_build_skb()):
 * its cids and ports, the op mapped by vsm_mon_op_for(), transport VIRTIO, len 44.
 */
void vsm_mon_hdr_for_virtio(const uint8_t *virtio_hdr, uint8_t *ret_mon);

/*
 * Credit (virtio spec 1.3, 5.10.6.3), the one definition for the analysis and the transport:
 * the bytes a sender has in flight, tx_cnt - peer_fwd_cnt (free-running u32 counters, so they
 * are only ever subtracted and wrap correctly), and its credit, peer_buf_alloc - in flight,
 * which is negative when the sender went past what its peer allowed.
 */
static inline uint32_t vsm_in_flight(uint32_t tx_cnt, uint32_t peer_fwd_cnt)
{
	return tx_cnt - peer_fwd_cnt;
}

int64_t vsm_credit(uint32_t peer_buf_alloc, uint32_t tx_cnt, uint32_t peer_fwd_cnt);

#endif
