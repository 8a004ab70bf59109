/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtr.h: a userspace virtio-vsock protocol engine: one per CID, event-driven, no threads inside. */
#ifndef VTR_VTR_H
#define VTR_VTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <vsockmon/decode.h>
#include <vsockmon/wire.h>

/*
 * The engine speaks the virtio-vsock socket protocol (virtio spec 1.3, 5.10 "Socket Device") for
 * one CID. It has no wire of its own: packets leave through ops->xmit and arrive through
 * vtr_input(). The caller's poll loop drives it: vtr_input() for each packet from the wire,
 * vtr_flush() when the wire can take more, vtr_tick() when vtr_next_timeout() expires. Sockets
 * are small integers, like file descriptors. Every packet sent or received passes one tap point.
 */

struct vtr_engine;
struct vsm_tap;

/* vtr_listen() on this port takes REQUESTs for every port that has no listener of its own. */
#define VTR_PORT_ANY	0xffffffffu	/* VMADDR_PORT_ANY */

/* Socket types are the virtio ones (wire.h), under the engine's names. */
#define VTR_STREAM	VSM_TYPE_STREAM
#define VTR_SEQPACKET	VSM_TYPE_SEQPACKET

/* vtr_shutdown() directions. */
#define VTR_SHUT_RD	1
#define VTR_SHUT_WR	2
#define VTR_SHUT_RDWR	3

/* vtr_send() and vtr_recv() flags. */
#define VTR_MSG_EOR	(1u << 0)	/* send: the message ends a record (EOR); recv: it did */
#define VTR_MSG_TRUNC	(1u << 1)	/* recv: the message was longer than the buffer; the rest is gone */
#define VTR_MSG_PEEK	(1u << 2)	/* recv: look without consuming */

/* Socket events, from vtr_poll() and ops->event. */
#define VTR_EV_READABLE	(1u << 0)	/* data, a message, EOF, or (listener) a connection to accept */
#define VTR_EV_WRITABLE	(1u << 1)	/* the peer has credit for more */
#define VTR_EV_CONNECTED (1u << 2)	/* a connect() completed */
#define VTR_EV_HUP	(1u << 3)	/* the connection is over (closed or reset) */
#define VTR_EV_ERROR	(1u << 4)	/* vtr_sock_error() has the error */

struct vtr_ops {
	/*
	 * Required. Hands one packet to the wire: hdr is the 44-byte little-endian virtio header,
	 * then len payload bytes. Returns 0 when the wire took it, -EAGAIN when it cannot now
	 * (the engine keeps the packet and retries on vtr_flush()), another -errno on failure.
	 */
	int (*xmit)(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len);
	/* Optional: the clock (CLOCK_MONOTONIC when NULL). Tests inject a fixed-step one. */
	void (*now)(void *ctx, struct timespec *ret_ts);
	/* Optional: something changed on socket sock (VTR_EV_* bits now set). */
	void (*event)(void *ctx, int sock, unsigned events);
	/*
	 * Optional: a REQUEST is about to be accepted by listener as socket sock, for local_port from
	 * peer_cid:peer_port. Return 0 to accept it (RESPONSE; the socket waits for vtr_accept()), or
	 * -errno to refuse it with an RST, as if nobody listened. Called from vtr_input(): it may not
	 * call into the engine. A device forwarding to host services decides here whether one is there.
	 */
	int (*admit)(void *ctx, int listener, int sock, uint32_t local_port, uint64_t peer_cid, uint32_t peer_port);
};

/*
 * What a peer can make the engine allocate, and the bounds (all set in struct vtr_config):
 * - sockets: at most max_sockets, listeners and connections together; a REQUEST past it, or past
 *   a listener's backlog, is refused with an RST;
 * - unread data: per connection at most its buf_alloc (more is a credit violation: RST), and for
 *   all connections together at most max_rx_queue;
 * - packets held for a stuck wire: data up to max_tx_queue, control packets up to twice that.
 * So the worst a hostile peer costs is max_rx_queue + 2 * max_tx_queue plus max_sockets small
 * structures (about 170 bytes each), 264 MiB with the defaults.
 */
/* The defaults a 0 in struct vtr_config stands for, for callers that size things by them. */
#define VTR_DEFAULT_BUF_ALLOC		(256u * 1024)		/* Linux VSOCK_DEFAULT_BUFFER_SIZE */
#define VTR_DEFAULT_MAX_BUF_ALLOC	(64u * 1024 * 1024)
#define VTR_DEFAULT_MAX_PKT		(64u * 1024)		/* Linux VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */
#define VTR_DEFAULT_MAX_SOCKETS		4096u
#define VTR_DEFAULT_MAX_TX_QUEUE	(4u * 1024 * 1024)
#define VTR_DEFAULT_MAX_RX_QUEUE	(256u * 1024 * 1024)
#define VTR_DEFAULT_CONNECT_MS		2000u			/* Linux VSOCK_DEFAULT_CONNECT_TIMEOUT */
#define VTR_DEFAULT_CLOSE_MS		8000u			/* Linux VSOCK_CLOSE_TIMEOUT */
/*
 * A cap on unread packets for a Linux guest (max_unread_pkts): newer Linux guests count the packets
 * they hold queued as well as their bytes and reset a connection that sends too many small ones
 * (seen by vsockdev's real-guest test; this repository's commit 0007964), so a sender whose small
 * writes each become a packet stops at some count whatever the credit says.
 */
#define VTR_LINUX_MAX_UNREAD_PKTS	64u

struct vtr_config {
	uint64_t cid;			/* this engine's CID */
	uint32_t buf_alloc;		/* default receive buffer of a socket (0: 256 KiB, as Linux) */
	uint32_t max_buf_alloc;		/* largest buffer a socket may ask for (0: 64 MiB) */
	uint32_t max_pkt;		/* largest payload in one RW packet (0: 64 KiB, as Linux) */
	uint32_t max_sockets;		/* sockets of all kinds at once (0: 4096) */
	uint64_t max_tx_queue;		/* data bytes held while the wire says -EAGAIN (0: 4 MiB); control
					   packets may use as much again, then are dropped and counted */
	uint64_t max_rx_queue;		/* unread bytes of all connections together (0: 256 MiB); a packet
					   past it resets its connection (ENOBUFS) */
	uint32_t connect_timeout_ms;	/* 0: 2000, as Linux */
	uint32_t close_timeout_ms;	/* 0: 8000, as Linux (VSOCK_CLOSE_TIMEOUT) */
	uint32_t ephemeral_min;		/* first ephemeral port (0: 1024) */
	/*
	 * 0: no cap. Otherwise a connection holds off sending (vtr_send() -EAGAIN, no VTR_EV_WRITABLE)
	 * while the peer may hold this many of its RW packets unread, that is until the peer's fwd_cnt
	 * passes their end. At the cap it asks for the peer's credit (CREDIT_REQUEST, virtio spec
	 * 5.10.6.3) and again after 10, 20... up to 1000 ms, since a Linux guest that reads a little out
	 * of a large buffer sends no CREDIT_UPDATE of its own (before Linux 6.8). Costs 4 bytes per
	 * packet per socket (max_sockets * max_unread_pkts * 4 bytes).
	 */
	uint32_t max_unread_pkts;
};

int vtr_engine_new(const struct vtr_config *cfg, const struct vtr_ops *ops, void *ctx,
		   struct vtr_engine **ret_engine);
/* Frees everything; open connections vanish without packets (vtr_reset() them first to tell peers). */
void vtr_engine_free(struct vtr_engine *engine);
/* The tap every packet passes; the caller adds sinks to it (see tap.h). */
struct vsm_tap *vtr_engine_tap(struct vtr_engine *engine);
uint64_t vtr_engine_cid(const struct vtr_engine *engine);

/*
 * A packet from the wire (header + payload). Malformed and unexpected packets are answered as the
 * spec and Linux do (RST, never to an RST) and counted; the return is 0, or -EINVAL for a packet
 * shorter than a header (dropped, counted), never a crash.
 */
int vtr_input(struct vtr_engine *engine, const uint8_t *pkt, size_t len);
/* The same with the header (44 bytes) and the len payload bytes apart, as a device finds them. */
int vtr_input_split(struct vtr_engine *engine, const uint8_t *hdr, const uint8_t *payload, size_t len);
/* Retries packets the wire refused. Returns how many are still queued. */
size_t vtr_flush(struct vtr_engine *engine);
/* Whether packets wait for the wire (poll it for writing). */
bool vtr_want_write(const struct vtr_engine *engine);
/* Runs the timers (connect and close timeouts). */
void vtr_tick(struct vtr_engine *engine);
/* Milliseconds until the next timer, or -1 when none is armed: a poll(2) timeout. */
int vtr_next_timeout(const struct vtr_engine *engine);

/* Sockets. Each returns a socket >= 0 or -errno. */
int vtr_listen(struct vtr_engine *engine, uint32_t port, int type, unsigned backlog);
int vtr_accept(struct vtr_engine *engine, int listener);		/* -EAGAIN when none waits */
/* local_port 0: an ephemeral port. Completes later: VTR_EV_CONNECTED, or VTR_EV_ERROR. */
int vtr_connect(struct vtr_engine *engine, uint64_t peer_cid, uint32_t peer_port, int type, uint32_t local_port);

/*
 * STREAM: sends what credit allows now (a short count, or -EAGAIN when none).
 * SEQPACKET: the whole message or -EAGAIN; -EMSGSIZE when it can never fit the peer's buffer.
 * -EPIPE after a local SHUT_WR or a peer's SHUTDOWN RCV, -ENOTCONN before the connection is up.
 */
ssize_t vtr_send(struct vtr_engine *engine, int sock, const void *buf, size_t len, unsigned flags);
/*
 * STREAM: up to len bytes; 0 at end of stream (the peer shut down sending); -EAGAIN when none yet.
 * SEQPACKET: one message; *ret_flags gets VTR_MSG_TRUNC when it did not fit and VTR_MSG_EOR for
 * a record's end. Returns the bytes copied. ret_flags may be NULL.
 */
ssize_t vtr_recv(struct vtr_engine *engine, int sock, void *buf, size_t len, unsigned flags, unsigned *ret_flags);
int vtr_shutdown(struct vtr_engine *engine, int sock, int how);
/*
 * Closes the socket as Linux does: if the peer has shut down both ways, an RST at once; otherwise a
 * SHUTDOWN of both directions, then an RST when the peer's RST has not come within the close timeout.
 * The user may not use the socket any more; the engine keeps the connection until it ends, then
 * frees the number.
 */
int vtr_close(struct vtr_engine *engine, int sock);
/* Aborts the connection with an RST now. */
int vtr_reset(struct vtr_engine *engine, int sock);
/* Changes the receive buffer of a live connection; the peer learns it by a CREDIT_UPDATE. */
int vtr_set_buffer_size(struct vtr_engine *engine, int sock, uint32_t size);
/* Asks the peer for its credit (CREDIT_REQUEST), as a sender that waits may; VTR_EV_WRITABLE follows
 * the answer (or any packet from the peer with credit in it). */
int vtr_credit_request(struct vtr_engine *engine, int sock);
/* VTR_EV_* bits that hold now. */
unsigned vtr_poll(const struct vtr_engine *engine, int sock);
/* The pending error of a socket (-ECONNRESET, -ECONNREFUSED, -ETIMEDOUT...), cleared by reading it. */
int vtr_sock_error(struct vtr_engine *engine, int sock);

struct vtr_sock_info {
	int type;
	int state;			/* enum vtr_state */
	uint64_t local_cid, peer_cid;
	uint32_t local_port, peer_port;
	/* tx side */
	uint32_t tx_cnt, peer_fwd_cnt, peer_buf_alloc;
	int64_t credit;			/* peer_buf_alloc - (tx_cnt - peer_fwd_cnt) */
	uint32_t unread_pkts;		/* RW packets the peer may not have read (counted with max_unread_pkts) */
	uint64_t unread_room;		/* bytes vtr_send() may send before that cap (UINT64_MAX: no cap) */
	/* rx side */
	uint32_t fwd_cnt, last_fwd_cnt, rx_bytes, buf_alloc;
	uint32_t msgs;			/* SEQPACKET: whole messages waiting */
	unsigned peer_shutdown, local_shutdown;	/* VTR_SHUT_* bits */
};
int vtr_sock_info(const struct vtr_engine *engine, int sock, struct vtr_sock_info *ret_info);

enum vtr_state {
	VTR_STATE_FREE,
	VTR_STATE_LISTEN,
	VTR_STATE_CONNECTING,
	VTR_STATE_ESTABLISHED,
	VTR_STATE_CLOSING,		/* vtr_close() called: waiting for the peer's RST */
	VTR_STATE_CLOSED,		/* over; the socket stays until vtr_close() */
};
const char *vtr_state_name(int state);

/* Engine counters. */
struct vtr_stats {
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;	/* bytes: payload */
	uint64_t rst_sent, rst_received;
	uint64_t malformed;		/* shorter than a header, or a header that contradicts itself */
	uint64_t violations;		/* data beyond credit, data before the connection, unknown op/type */
	uint64_t refused;		/* REQUESTs to ports nobody listens on, or over a limit */
	uint64_t tx_queue_bytes;	/* held for the wire now */
	uint64_t tx_dropped;		/* control packets dropped because the wire stayed full */
	uint64_t rx_queue_bytes;	/* unread bytes of all connections now */
	uint32_t sockets;
};
void vtr_engine_stats(const struct vtr_engine *engine, struct vtr_stats *ret_stats);

#endif
