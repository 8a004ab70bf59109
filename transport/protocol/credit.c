/* SPDX-License-Identifier: GPL-2.0-or-later */
/* credit.c: the transport's credit math, wrap-safe (virtio spec 1.3, 5.10.6.3). */
#include <vsockmon/wire.h>

#include "credit.h"

uint32_t vtr_credit_space(uint32_t peer_buf_alloc, uint32_t own_buf_alloc, uint32_t tx_cnt, uint32_t peer_fwd_cnt)
{
	uint32_t limit = peer_buf_alloc < own_buf_alloc ? peer_buf_alloc : own_buf_alloc;
	/* The same formula the passive analysis uses: one definition for the whole project. */
	int64_t free_bytes = vsm_credit(limit, tx_cnt, peer_fwd_cnt);

	return free_bytes > 0 ? (uint32_t)free_bytes : 0;
}

bool vtr_credit_update_due(uint32_t fwd_cnt, uint32_t last_fwd_cnt, uint32_t buf_alloc, uint32_t rx_bytes)
{
	uint32_t delta = fwd_cnt - last_fwd_cnt;
	int64_t free_space = (int64_t)buf_alloc - delta;

	return delta && (free_space < VTR_CREDIT_UPDATE_THRESHOLD || rx_bytes < 1);
}

bool vtr_credit_rx_fits(uint32_t rx_bytes, uint32_t len, uint32_t limit)
{
	return (uint64_t)rx_bytes + len <= limit;
}
