/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vhost_user.h: the vhost-user protocol's messages (QEMU docs/interop/vhost-user.rst), read and written for both ends. */
#ifndef VTR_VHOST_USER_H
#define VTR_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A vhost-user message is a 12-byte header (request, flags, size; host byte order, which is
 * little-endian on every machine QEMU runs vhost-user on) and size bytes of payload, sent over a
 * Unix stream socket with file descriptors as SCM_RIGHTS on the same sendmsg(). Everything here
 * treats the other end as hostile: a message whose size does not fit its request is refused, and
 * fds that come with a message that takes none are closed.
 */

/* Front-end requests. */
enum vtr_vu_request {
	VTR_VU_NONE = 0,
	VTR_VU_GET_FEATURES = 1,
	VTR_VU_SET_FEATURES = 2,
	VTR_VU_SET_OWNER = 3,
	VTR_VU_RESET_OWNER = 4,
	VTR_VU_SET_MEM_TABLE = 5,
	VTR_VU_SET_LOG_BASE = 6,
	VTR_VU_SET_LOG_FD = 7,
	VTR_VU_SET_VRING_NUM = 8,
	VTR_VU_SET_VRING_ADDR = 9,
	VTR_VU_SET_VRING_BASE = 10,
	VTR_VU_GET_VRING_BASE = 11,
	VTR_VU_SET_VRING_KICK = 12,
	VTR_VU_SET_VRING_CALL = 13,
	VTR_VU_SET_VRING_ERR = 14,
	VTR_VU_GET_PROTOCOL_FEATURES = 15,
	VTR_VU_SET_PROTOCOL_FEATURES = 16,
	VTR_VU_GET_QUEUE_NUM = 17,
	VTR_VU_SET_VRING_ENABLE = 18,
	VTR_VU_SEND_RARP = 19,
	VTR_VU_NET_SET_MTU = 20,
	VTR_VU_SET_BACKEND_REQ_FD = 21,
	VTR_VU_IOTLB_MSG = 22,
	VTR_VU_SET_VRING_ENDIAN = 23,
	VTR_VU_GET_CONFIG = 24,
	VTR_VU_SET_CONFIG = 25,
	VTR_VU_CREATE_CRYPTO_SESSION = 26,
	VTR_VU_CLOSE_CRYPTO_SESSION = 27,
	VTR_VU_POSTCOPY_ADVISE = 28,
	VTR_VU_POSTCOPY_LISTEN = 29,
	VTR_VU_POSTCOPY_END = 30,
	VTR_VU_GET_INFLIGHT_FD = 31,
	VTR_VU_SET_INFLIGHT_FD = 32,
	VTR_VU_GPU_SET_SOCKET = 33,
	VTR_VU_RESET_DEVICE = 34,
	VTR_VU_VRING_KICK = 35,
	VTR_VU_GET_MAX_MEM_SLOTS = 36,
	VTR_VU_ADD_MEM_REG = 37,
	VTR_VU_REM_MEM_REG = 38,
	VTR_VU_SET_STATUS = 39,
	VTR_VU_GET_STATUS = 40,
	VTR_VU_REQUEST_MAX
};

/* Header flags. */
#define VTR_VU_VERSION		0x1u	/* bits 0-1: the protocol version, 1 */
#define VTR_VU_VERSION_MASK	0x3u
#define VTR_VU_REPLY		0x4u	/* this message answers a request */
#define VTR_VU_NEED_REPLY	0x8u	/* REPLY_ACK: the back-end must answer with a u64 status */

/* The virtio feature bit that says the back-end speaks protocol features. */
#define VTR_VU_F_PROTOCOL_FEATURES	30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
#define VTR_VU_PROTOCOL_F_MQ			0
#define VTR_VU_PROTOCOL_F_LOG_SHMFD		1
#define VTR_VU_PROTOCOL_F_RARP			2
#define VTR_VU_PROTOCOL_F_REPLY_ACK		3
#define VTR_VU_PROTOCOL_F_MTU			4
#define VTR_VU_PROTOCOL_F_BACKEND_REQ		5
#define VTR_VU_PROTOCOL_F_CROSS_ENDIAN		6
#define VTR_VU_PROTOCOL_F_CRYPTO_SESSION	7
#define VTR_VU_PROTOCOL_F_PAGEFAULT		8
#define VTR_VU_PROTOCOL_F_CONFIG		9
#define VTR_VU_PROTOCOL_F_BACKEND_SEND_FD	10
#define VTR_VU_PROTOCOL_F_HOST_NOTIFIER		11
#define VTR_VU_PROTOCOL_F_INFLIGHT_SHMFD	12
#define VTR_VU_PROTOCOL_F_RESET_DEVICE		13
#define VTR_VU_PROTOCOL_F_INBAND_NOTIFICATIONS	14
#define VTR_VU_PROTOCOL_F_CONFIGURE_MEM_SLOTS	15
#define VTR_VU_PROTOCOL_F_STATUS		16

/* SET_VRING_KICK/CALL/ERR payload: the queue index, and a flag for "no fd follows". */
#define VTR_VU_VRING_IDX_MASK	0xffu
#define VTR_VU_VRING_NOFD	(1u << 8)

#define VTR_VU_MAX_REGIONS	8	/* in one SET_MEM_TABLE */
#define VTR_VU_MAX_CONFIG	256	/* config space bytes in GET/SET_CONFIG */
#define VTR_VU_MAX_FDS		8	/* fds with one message */
#define VTR_VU_HDR_SIZE		12

struct vtr_vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vtr_vu_vring_addr {
	uint32_t index;
	uint32_t flags;			/* bit 0: log used ring writes */
	uint64_t desc;			/* front-end virtual addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vtr_vu_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vtr_vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vtr_vu_region regions[VTR_VU_MAX_REGIONS];
};

struct vtr_vu_mem_single {
	uint64_t padding;
	struct vtr_vu_region region;
};

struct vtr_vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VTR_VU_MAX_CONFIG];
};

/* One message, header and payload, and the fds that came with it (-1 past nfds). */
struct vtr_vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vtr_vu_vring_state state;
		struct vtr_vu_vring_addr addr;
		struct vtr_vu_mem_table mem;
		struct vtr_vu_mem_single reg;
		struct vtr_vu_config config;
		uint8_t raw[sizeof(struct vtr_vu_mem_table) > 12 + VTR_VU_MAX_CONFIG ?
			    sizeof(struct vtr_vu_mem_table) : 12 + VTR_VU_MAX_CONFIG];
	} p;
	int fds[VTR_VU_MAX_FDS];
	unsigned nfds;
};

#define VTR_VU_MAX_PAYLOAD	sizeof(((struct vtr_vu_msg *)0)->p)

/* The request's name ("SET_MEM_TABLE"), or NULL for a number we do not know. */
const char *vtr_vu_request_name(uint32_t request);

/* Whether a request has an answer of its own, which the front-end waits for (vhost-user.rst,
 * "Front-end message types": the GET_* requests), whatever REPLY_ACK says. */
bool vtr_vu_request_has_reply(uint32_t request);

/*
 * Checks that a front-end request's payload has the size its request needs, that its fds are the
 * ones it may carry, and that counts inside it are in range. Returns 0, or -EPROTO with the reason
 * in err. A request we do not know passes (the back-end answers what it supports).
 */
int vtr_vu_check_request(const struct vtr_vu_msg *msg, char *err, size_t errlen);

/*
 * Reads one message from a non-blocking socket, in as many calls as it takes: the reader keeps
 * what has arrived so far. Returns 1 with *ret_msg complete (the caller owns its fds), 0 when more
 * must arrive first (poll for input, call again), -EPIPE when the peer closed the connection at a
 * message boundary, -ECONNRESET when it closed inside one, -EMSGSIZE for a payload larger than any
 * request takes, another -errno from recvmsg(). After an error the connection is unusable.
 */
struct vtr_vu_reader {
	uint8_t buf[VTR_VU_HDR_SIZE + VTR_VU_MAX_PAYLOAD];
	size_t have;			/* bytes of the current message so far */
	int fds[VTR_VU_MAX_FDS];
	unsigned nfds;
};
void vtr_vu_reader_init(struct vtr_vu_reader *reader);
/* Closes any fds the reader holds for an unfinished message. */
void vtr_vu_reader_reset(struct vtr_vu_reader *reader);
int vtr_vu_read(int sock, struct vtr_vu_reader *reader, struct vtr_vu_msg *ret_msg);

/*
 * Sends a message (header from msg->request, flags and size; payload msg->p) with fds, in one
 * sendmsg() where the socket takes it whole, waiting for a blocking socket's room otherwise.
 * Returns 0 or -errno.
 */
int vtr_vu_write(int sock, const struct vtr_vu_msg *msg, const int *fds, unsigned nfds);

/* Closes a message's fds (those not taken by setting them to -1). */
void vtr_vu_msg_close_fds(struct vtr_vu_msg *msg);

#endif
