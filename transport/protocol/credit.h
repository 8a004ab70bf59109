/* SPDX-License-Identifier: GPL-2.0-or-later */
/* credit.h: the transport's only credit math (virtio spec 1.3, 5.10.6.3 "Buffer Space Management"). */
#ifndef VTR_CREDIT_H
#define VTR_CREDIT_H

#include <stdbool.h>
#include <stdint.h>

/* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE: the free-space threshold of its credit-update policy. */
#define VTR_CREDIT_UPDATE_THRESHOLD (64u * 1024)

/*
 * Payload bytes a sender may send now: min(peer_buf_alloc, own_buf_alloc) - (tx_cnt - peer_fwd_cnt),
 * never below 0. Capping at the sender's own buffer is Linux's "TX credit bounds" rule (2026):
 * a peer advertising a huge buffer cannot make us queue more than our own configuration allows.
 * Counters are free-running u32 and only ever compared by subtraction, so they wrap correctly.
 */
uint32_t vtr_credit_space(uint32_t peer_buf_alloc, uint32_t own_buf_alloc, uint32_t tx_cnt, uint32_t peer_fwd_cnt);

/*
 * Whether a receiver that just consumed data should send a CREDIT_UPDATE, as Linux's
 * virtio_transport_stream_do_dequeue() decides: something was consumed since the peer last heard
 * of fwd_cnt, and either less than 64 KiB looks free to the peer or the receive queue fell below
 * the low-water mark (1 byte: it is empty).
 */
bool vtr_credit_update_due(uint32_t fwd_cnt, uint32_t last_fwd_cnt, uint32_t buf_alloc, uint32_t rx_bytes);

/* Whether a received RW of len bytes fits what we advertised: rx_bytes + len <= limit. */
bool vtr_credit_rx_fits(uint32_t rx_bytes, uint32_t len, uint32_t limit);

#endif
