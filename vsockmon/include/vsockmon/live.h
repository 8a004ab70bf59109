/* SPDX-License-Identifier: GPL-2.0-or-later */
/* live.h: live capture from vsock-type interfaces through libpcap. */
#ifndef VSOCKMON_LIVE_H
#define VSOCKMON_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vsockmon/pcap.h>

struct vsm_filter;
struct vsm_live;

struct vsm_live_opts {
	const char *ifname;
	uint32_t snaplen;		/* 0: VSM_DEFAULT_SNAPLEN */
	uint32_t buffer_bytes;		/* kernel ring; 0: 32 MiB */
	const struct vsm_filter *filter;	/* NULL: everything; installed in the kernel */
	/*
	 * Default (false): frames are delivered within 1 ms through libpcap's TPACKET_V3 blocks,
	 * which pack many frames into the ring. true: libpcap's immediate mode (TPACKET_V2), one
	 * snaplen-sized slot per frame: each frame at once, but a burst overruns a small ring.
	 */
	bool immediate;
};

struct vsm_live_stats {
	uint64_t received;		/* packets the kernel's filter accepted */
	uint64_t dropped;		/* dropped by the kernel (ring full) */
	uint64_t if_dropped;		/* dropped by the interface */
};

/*
 * Opens the interface, non-blocking; with no opts->ifname, the first vsock-type interface (-ENODEV
 * when there is none). Returns 0 or -errno with a message.
 */
int vsm_live_open(const struct vsm_live_opts *opts, struct vsm_live **ret_live, char *errbuf, size_t errlen);
/* The interface it captures on: the one asked for, or the one vsm_live_open() chose. */
const char *vsm_live_ifname(const struct vsm_live *live);
/* A descriptor to poll(2) for readability. */
int vsm_live_fd(const struct vsm_live *live);
/* 1 and *ret_rec when a frame is ready, 0 when none is, <0 on an error (vsm_live_error). */
int vsm_live_next(struct vsm_live *live, struct vsm_rec *ret_rec);
int vsm_live_stats(struct vsm_live *live, struct vsm_live_stats *ret_stats);
const char *vsm_live_error(const struct vsm_live *live);
void vsm_live_close(struct vsm_live *live);

struct vsm_iface {
	char name[64];
	char description[128];
	bool up;
};
/*
 * Lists the interfaces whose link type is vsock (ARPHRD_VSOCKMON): up to max entries,
 * returns how many there are, or -errno.
 */
int vsm_live_list(struct vsm_iface *ifaces, size_t max);

#endif
