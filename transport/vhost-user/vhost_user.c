/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vhost_user.c: vhost-user message framing (header, payload, SCM_RIGHTS fds) and per-request size checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vtr/vhost_user.h>

static const char *const request_names[VTR_VU_REQUEST_MAX] = {
	[VTR_VU_NONE] = "NONE",
	[VTR_VU_GET_FEATURES] = "GET_FEATURES",
	[VTR_VU_SET_FEATURES] = "SET_FEATURES",
	[VTR_VU_SET_OWNER] = "SET_OWNER",
	[VTR_VU_RESET_OWNER] = "RESET_OWNER",
	[VTR_VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VTR_VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VTR_VU_SET_LOG_FD] = "SET_LOG_FD",
	[VTR_VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VTR_VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VTR_VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VTR_VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VTR_VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VTR_VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VTR_VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VTR_VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VTR_VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VTR_VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VTR_VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VTR_VU_SEND_RARP] = "SEND_RARP",
	[VTR_VU_NET_SET_MTU] = "NET_SET_MTU",
	[VTR_VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VTR_VU_IOTLB_MSG] = "IOTLB_MSG",
	[VTR_VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VTR_VU_GET_CONFIG] = "GET_CONFIG",
	[VTR_VU_SET_CONFIG] = "SET_CONFIG",
	[VTR_VU_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VTR_VU_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VTR_VU_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VTR_VU_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VTR_VU_POSTCOPY_END] = "POSTCOPY_END",
	[VTR_VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VTR_VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VTR_VU_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VTR_VU_RESET_DEVICE] = "RESET_DEVICE",
	[VTR_VU_VRING_KICK] = "VRING_KICK",
	[VTR_VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VTR_VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[VTR_VU_REM_MEM_REG] = "REM_MEM_REG",
	[VTR_VU_SET_STATUS] = "SET_STATUS",
	[VTR_VU_GET_STATUS] = "GET_STATUS",
};

const char *vtr_vu_request_name(uint32_t request)
{
	return request < VTR_VU_REQUEST_MAX ? request_names[request] : NULL;
}

bool vtr_vu_request_has_reply(uint32_t request)
{
	switch (request) {
	case VTR_VU_GET_FEATURES:
	case VTR_VU_GET_PROTOCOL_FEATURES:
	case VTR_VU_GET_QUEUE_NUM:
	case VTR_VU_GET_VRING_BASE:
	case VTR_VU_GET_CONFIG:
	case VTR_VU_GET_INFLIGHT_FD:
	case VTR_VU_GET_MAX_MEM_SLOTS:
	case VTR_VU_GET_STATUS:
		return true;
	}
	return false;
}

/* ---- per-request checks ---- */

/* P_UNKNOWN (0): a request the back-end does not handle, so nothing to check. */
enum payload_kind { P_UNKNOWN, P_NONE, P_U64, P_STATE, P_ADDR, P_MEM, P_REG, P_CONFIG };

/* What each request the back-end handles carries: its payload and how many fds (-1: 0 or 1). */
static const struct {
	enum payload_kind kind;
	int fds;
} request_shape[VTR_VU_REQUEST_MAX] = {
	[VTR_VU_GET_FEATURES] = { P_NONE, 0 },
	[VTR_VU_SET_FEATURES] = { P_U64, 0 },
	[VTR_VU_SET_OWNER] = { P_NONE, 0 },
	[VTR_VU_RESET_OWNER] = { P_NONE, 0 },
	[VTR_VU_SET_MEM_TABLE] = { P_MEM, 0 },		/* one fd per region: checked against nregions */
	[VTR_VU_SET_VRING_NUM] = { P_STATE, 0 },
	[VTR_VU_SET_VRING_ADDR] = { P_ADDR, 0 },
	[VTR_VU_SET_VRING_BASE] = { P_STATE, 0 },
	[VTR_VU_GET_VRING_BASE] = { P_STATE, 0 },
	[VTR_VU_SET_VRING_KICK] = { P_U64, -1 },
	[VTR_VU_SET_VRING_CALL] = { P_U64, -1 },
	[VTR_VU_SET_VRING_ERR] = { P_U64, -1 },
	[VTR_VU_GET_PROTOCOL_FEATURES] = { P_NONE, 0 },
	[VTR_VU_SET_PROTOCOL_FEATURES] = { P_U64, 0 },
	[VTR_VU_GET_QUEUE_NUM] = { P_NONE, 0 },
	[VTR_VU_SET_VRING_ENABLE] = { P_STATE, 0 },
	[VTR_VU_GET_CONFIG] = { P_CONFIG, 0 },
	[VTR_VU_SET_CONFIG] = { P_CONFIG, 0 },
	[VTR_VU_RESET_DEVICE] = { P_NONE, 0 },
	[VTR_VU_VRING_KICK] = { P_STATE, 0 },
	[VTR_VU_GET_MAX_MEM_SLOTS] = { P_NONE, 0 },
	[VTR_VU_ADD_MEM_REG] = { P_REG, 1 },
	[VTR_VU_REM_MEM_REG] = { P_REG, -1 },		/* QEMU 7.2 to 10.2 send no fd; one that comes is closed */
	[VTR_VU_SET_STATUS] = { P_U64, 0 },
	[VTR_VU_GET_STATUS] = { P_NONE, 0 },
};

__attribute__((format(printf, 3, 4)))
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

int vtr_vu_check_request(const struct vtr_vu_msg *msg, char *err, size_t errlen)
{
	const char *name = vtr_vu_request_name(msg->request);
	size_t want = 0;
	int fds;

	if ((msg->flags & VTR_VU_VERSION_MASK) != VTR_VU_VERSION)
		return refuse(err, errlen, "request %u: protocol version %u, not 1", msg->request,
			      msg->flags & VTR_VU_VERSION_MASK);
	if (msg->flags & VTR_VU_REPLY)
		return refuse(err, errlen, "request %u has the reply flag", msg->request);
	if (!name || request_shape[msg->request].kind == P_UNKNOWN)
		return 0;	/* not one we handle: the back-end refuses it by name */

	switch (request_shape[msg->request].kind) {
	case P_UNKNOWN:
		return 0;
	case P_NONE:
		want = 0;
		break;
	case P_U64:
		want = sizeof(uint64_t);
		break;
	case P_STATE:
		want = sizeof(struct vtr_vu_vring_state);
		break;
	case P_ADDR:
		want = sizeof(struct vtr_vu_vring_addr);
		break;
	case P_REG:
		want = sizeof(struct vtr_vu_mem_single);
		break;
	case P_MEM:
		/* nregions, padding, then exactly nregions regions */
		if (msg->size < 8)
			return refuse(err, errlen, "%s: %u bytes, shorter than its count", name, msg->size);
		if (msg->p.mem.nregions > VTR_VU_MAX_REGIONS)
			return refuse(err, errlen, "%s: %u regions, more than %u", name, msg->p.mem.nregions,
				      VTR_VU_MAX_REGIONS);
		want = 8 + msg->p.mem.nregions * sizeof(struct vtr_vu_region);
		if (msg->nfds != msg->p.mem.nregions)
			return refuse(err, errlen, "%s: %u regions but %u fds", name, msg->p.mem.nregions, msg->nfds);
		break;
	case P_CONFIG:
		if (msg->size < 12)
			return refuse(err, errlen, "%s: %u bytes, shorter than its header", name, msg->size);
		if (msg->p.config.size > VTR_VU_MAX_CONFIG)
			return refuse(err, errlen, "%s: %u bytes of config space, more than %u", name,
				      msg->p.config.size, VTR_VU_MAX_CONFIG);
		want = 12 + msg->p.config.size;
		break;
	}
	if (msg->size != want)
		return refuse(err, errlen, "%s: payload of %u bytes, not %zu", name, msg->size, want);
	fds = request_shape[msg->request].fds;
	if (request_shape[msg->request].kind != P_MEM &&
	    (fds >= 0 ? msg->nfds != (unsigned)fds : msg->nfds > 1))
		return refuse(err, errlen, "%s: %u fds", name, msg->nfds);
	if ((msg->request == VTR_VU_SET_VRING_KICK || msg->request == VTR_VU_SET_VRING_CALL ||
	     msg->request == VTR_VU_SET_VRING_ERR) &&
	    (msg->p.u64 & VTR_VU_VRING_NOFD ? msg->nfds != 0 : msg->nfds != 1))
		return refuse(err, errlen, "%s: the no-fd flag says %s, but %u fds came", name,
			      msg->p.u64 & VTR_VU_VRING_NOFD ? "none" : "one", msg->nfds);
	return 0;
}

/* ---- reading ---- */

void vtr_vu_reader_init(struct vtr_vu_reader *r)
{
	r->have = 0;
	r->nfds = 0;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void vtr_vu_reader_reset(struct vtr_vu_reader *r)
{
	close_fds(r->fds, r->nfds);
	vtr_vu_reader_init(r);
}

/* Takes the fds of one control message; those past VTR_VU_MAX_FDS are closed. */
static void take_fds(struct vtr_vu_reader *r, struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (r->nfds < VTR_VU_MAX_FDS)
				r->fds[r->nfds++] = fd;
			else
				close(fd);
		}
	}
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int vtr_vu_read(int sock, struct vtr_vu_reader *r, struct vtr_vu_msg *ret_msg)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(VTR_VU_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} cbuf;
		size_t want = VTR_VU_HDR_SIZE;
		struct iovec iov;
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		ssize_t n;

		if (r->have >= VTR_VU_HDR_SIZE) {
			uint32_t size = get32(r->buf + 8);

			if (size > VTR_VU_MAX_PAYLOAD)
				return -EMSGSIZE;
			want = VTR_VU_HDR_SIZE + size;
		}
		if (r->have == want) {
			memset(ret_msg, 0, offsetof(struct vtr_vu_msg, fds));
			ret_msg->request = get32(r->buf);
			ret_msg->flags = get32(r->buf + 4);
			ret_msg->size = get32(r->buf + 8);
			memcpy(ret_msg->p.raw, r->buf + VTR_VU_HDR_SIZE, ret_msg->size);
			memcpy(ret_msg->fds, r->fds, sizeof(r->fds));
			ret_msg->nfds = r->nfds;
			for (unsigned i = r->nfds; i < VTR_VU_MAX_FDS; i++)
				ret_msg->fds[i] = -1;
			vtr_vu_reader_init(r);
			return 1;
		}
		/* Never read past this message: the next one's fds must stay with it. */
		iov.iov_base = r->buf + r->have;
		iov.iov_len = want - r->have;
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* A blocking socket's caller (a front-end awaiting a reply) waits here. */
				struct pollfd pfd = { .fd = sock, .events = POLLIN };
				int fl = fcntl(sock, F_GETFL);

				if (fl >= 0 && !(fl & O_NONBLOCK)) {
					if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
						return -errno;
					continue;
				}
				return 0;
			}
			return -errno;
		}
		take_fds(r, &mh);
		if (n == 0)
			return r->have ? -ECONNRESET : -EPIPE;
		r->have += (size_t)n;
	}
}

/* ---- writing ---- */

void vtr_vu_msg_close_fds(struct vtr_vu_msg *msg)
{
	close_fds(msg->fds, msg->nfds);
	msg->nfds = 0;
}

int vtr_vu_write(int sock, const struct vtr_vu_msg *msg, const int *fds, unsigned nfds)
{
	uint8_t hdr[VTR_VU_HDR_SIZE];
	union {
		char buf[CMSG_SPACE(VTR_VU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov[2];
	size_t total, sent = 0;

	if (nfds > VTR_VU_MAX_FDS || msg->size > VTR_VU_MAX_PAYLOAD)
		return -EINVAL;
	memcpy(hdr, &msg->request, 4);
	memcpy(hdr + 4, &msg->flags, 4);
	memcpy(hdr + 8, &msg->size, 4);
	total = VTR_VU_HDR_SIZE + msg->size;
	while (sent < total) {
		struct msghdr mh = { .msg_iov = iov };
		ssize_t n;

		if (sent < VTR_VU_HDR_SIZE) {
			iov[0] = (struct iovec){ hdr + sent, VTR_VU_HDR_SIZE - sent };
			iov[1] = (struct iovec){ (void *)msg->p.raw, msg->size };
			mh.msg_iovlen = msg->size ? 2 : 1;
		} else {
			iov[0] = (struct iovec){ (void *)(msg->p.raw + (sent - VTR_VU_HDR_SIZE)), total - sent };
			mh.msg_iovlen = 1;
		}
		/* The fds go with the first byte. */
		if (sent == 0 && nfds) {
			struct cmsghdr *c;

			mh.msg_control = cbuf.buf;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		}
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* Replies are small; a peer that leaves no room for one for a second is stuck. */
				struct pollfd pfd = { .fd = sock, .events = POLLOUT };
				int ret = poll(&pfd, 1, 1000);

				if (ret < 0 && errno != EINTR)
					return -errno;
				if (ret == 0)
					return -ETIMEDOUT;
				continue;
			}
			return -errno;
		}
		sent += (size_t)n;
	}
	return 0;
}
