/* SPDX-License-Identifier: GPL-2.0-or-later */
/* wire.h: on-the-wire layout of LINKTYPE_VSOCK (271) frames and the virtio-vsock header. */
#ifndef VSOCKMON_WIRE_H
#define VSOCKMON_WIRE_H

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
#define VSM_OFF_VIRTIO		VSM_MON_HDR_LEN
#define VSM_OFF_V_SRC_CID	(VSM_OFF_VIRTIO + 0)
#define VSM_OFF_V_DST_CID	(VSM_OFF_VIRTIO + 8)
#define VSM_OFF_V_SRC_PORT	(VSM_OFF_VIRTIO + 16)
#define VSM_OFF_V_DST_PORT	(VSM_OFF_VIRTIO + 20)
#define VSM_OFF_V_LEN		(VSM_OFF_VIRTIO + 24)
#define VSM_OFF_V_TYPE		(VSM_OFF_VIRTIO + 28)
#define VSM_OFF_V_OP		(VSM_OFF_VIRTIO + 30)
#define VSM_OFF_V_FLAGS		(VSM_OFF_VIRTIO + 32)
#define VSM_OFF_V_BUF_ALLOC	(VSM_OFF_VIRTIO + 36)
#define VSM_OFF_V_FWD_CNT	(VSM_OFF_VIRTIO + 40)

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

#endif
