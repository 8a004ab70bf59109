/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vudev_int.h: the vhost-user-vsock device's state, shared by its data path (vudev.c) and its session (vusession.c). */
#ifndef VTR_VUDEV_INT_H
#define VTR_VUDEV_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <vsockmon/wire.h>
#include <vtr/vhost_user.h>
#include <vtr/vudev.h>

struct queue {
	struct vtr_vring vr;
	int kick_fd, call_fd, err_fd;
	bool started;			/* a kick fd came and no GET_VRING_BASE since (vhost-user "Ring states") */
	bool enabled;			/* SET_VRING_ENABLE 1, or no protocol features */
	bool addr_set;
	struct vtr_vu_vring_addr addr;	/* kept to translate again when the memory map changes */
	bool need_notify;		/* buffers pushed since the last notification decision */
	uint64_t kicks, calls;
	/* The ring's counters of the sessions and set-ups before this one: statistics add up over them. */
	uint64_t pops_before, pushes_before, sent_before, suppressed_before;
};

struct mapping {
	void *base;			/* what mmap() returned */
	size_t len;
};

struct vtr_vudev {
	struct vtr_vudev_config cfg;
	char name[32];
	struct vtr_vudev_ops ops;
	void *ctx;
	struct vsm_tap *tap;

	int sock;			/* the session, -1 when none */
	struct vtr_vu_reader reader;
	uint64_t features, protocol_features;	/* acked by the front-end */
	uint8_t status;			/* virtio device status (SET_STATUS) */

	struct vtr_mem mem;
	struct mapping maps[VTR_MEM_MAX_REGIONS];	/* parallel to mem.r */
	struct queue q[VTR_VUDEV_NQUEUES];
	struct vtr_seg *segs;		/* scatter list of one chain */
	unsigned segs_cap;
	uint8_t *bounce;		/* a TX payload spread over several descriptors, copied */

	bool running;			/* as last reported through ops->started / ops->stopped */
	bool broken;			/* stopped until the front-end sets the rings up again */
	bool tx_blocked;		/* ops->can_deliver said no */
	bool rx_waiting;		/* a send found no buffer: tell ops->rx_ready when one comes */

	/* A packet to the guest whose first parts went into the ring, the rest waiting for buffers. */
	bool pend;
	uint8_t pend_hdr[VSM_VIRTIO_HDR_LEN];
	uint8_t *pend_payload;		/* VTR_VUDEV_MAX_PKT bytes */
	uint32_t pend_len, pend_off;

	struct timespec rx_empty_since;
	struct vtr_vudev_stats st;
};

/* vudev.c, for the session */
void close_fd(int *fd);
__attribute__((format(printf, 2, 3)))
void set_error(struct vtr_vudev *dev, const char *fmt, ...);
/* Memory mapped, both rings started, enabled and set up, not broken: packets can move. */
bool can_run(const struct vtr_vudev *dev);
/* Tells the owner when the device comes up or goes down (ops->started, ops->stopped). */
void update_running(struct vtr_vudev *dev, int why, const char *reason);

#endif
