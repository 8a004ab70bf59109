/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tunif.h: vsock-type TUN interfaces, whose frames libpcap captures as LINKTYPE_VSOCK like a kernel vsockmon's. */
#ifndef VSOCKMON_TUNIF_H
#define VSOCKMON_TUNIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IFNAMSIZ, without pulling <net/if.h> (which clashes with <linux/if.h>) into every user. */
#define VSM_IFNAMSIZ 16

/*
 * A TUN device given link type ARPHRD_VSOCKMON (826) with TUNSETLINK: libpcap maps that type
 * to LINKTYPE_VSOCK, so tcpdump, tshark and vsockdump capture it like a kernel vsockmon0.
 * Frames written to it reach packet sockets as incoming (a kernel vsockmon shows them as
 * outgoing); nothing else in the kernel takes them, so they cost nothing when nobody captures.
 */
struct vsm_tunif {
	int fd;				/* the TUN descriptor; the interface lives while it is open, unless persistent */
	int ifindex;
	char name[VSM_IFNAMSIZ];	/* the real name (a "%d" in the requested one is numbered by the kernel) */
};

#define VSM_TUNIF_PERSIST	(1u << 0)	/* TUNSETPERSIST: outlive the descriptor (ip link del removes it) */
#define VSM_TUNIF_NONBLOCK	(1u << 1)	/* writes fail with -EAGAIN instead of waiting */

/*
 * Creates the TUN interface ifname (or attaches to a left-over persistent one), gives it the
 * vsock link type (only possible while it is down), a vsockmon-sized MTU, and brings it up.
 * flags: VSM_TUNIF_*. Returns 0, or -errno with a message in errbuf that says what to do
 * (-EBUSY: in use by another process or up with another link type; -EINVAL: the name belongs
 * to an interface that is not TUN; -EPERM: needs CAP_NET_ADMIN).
 */
int vsm_tunif_open(const char *ifname, unsigned flags, struct vsm_tunif *ret_tunif, char *errbuf, size_t errlen);

/*
 * Writes one frame (behind the struct tun_pi the device expects). Returns 0 or -errno:
 * -EAGAIN (non-blocking and the device cannot take it now), -EIO (the interface is down),
 * -EBADFD (it was deleted), -EINVAL/-EMSGSIZE/-ENOBUFS/-ENOMEM (this frame is unacceptable).
 */
int vsm_tunif_write(int fd, const uint8_t *frame, size_t len);

/* Closes the descriptor (removing the interface unless persistent) and sets fd to -1. */
void vsm_tunif_close(struct vsm_tunif *tunif);

/* What a name refers to, as far as vsock capture is concerned. */
enum vsm_ifkind {
	VSM_IFKIND_NONE = 0,		/* no interface of that name in this network namespace */
	VSM_IFKIND_OTHER,		/* an interface whose link type is not vsock */
	VSM_IFKIND_VSOCK_TUN,		/* vsock-type TUN device (vsockreplay, a vtr tap) */
	VSM_IFKIND_VSOCKMON,		/* vsock-type and not TUN: a kernel vsockmon device */
};

/*
 * Looks ifname up in the caller's network namespace: 0 and *ret_kind (and *ret_up when not
 * NULL), or -errno. Vsock-type links come from vsm_live_list(); TUN is told apart from a
 * kernel vsockmon by the driver name that ethtool reports.
 */
int vsm_ifkind(const char *ifname, enum vsm_ifkind *ret_kind, bool *ret_up);

#endif
