/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tunif.c: vsock-type TUN interfaces: create, feed frames, and tell them from kernel vsockmon devices. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <vsockmon/live.h>
#include <vsockmon/tunif.h>
#include <vsockmon/wire.h>

/* What the kernel's vsockmon uses: VIRTIO_VSOCK_MAX_PKT_BUF_SIZE + sizeof(struct af_vsockmon_hdr). */
#define VSOCKMON_MTU (65536 + 32)
/* TUN's own limit (MAX_MTU in drivers/net/tun.c). Writes are not bound by the MTU anyway. */
#define TUN_MAX_MTU 65535

static int tun_error(int e, const char *what, const char *ifname, char *errbuf, size_t errlen)
{
	if (e == EPERM || e == EACCES)
		snprintf(errbuf, errlen, "%s %s: %s (run as root or give CAP_NET_ADMIN)", what, ifname, strerror(e));
	else
		snprintf(errbuf, errlen, "%s %s: %s", what, ifname, strerror(e));
	return -e;
}

static void ifreq_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", name);
}

/*
 * The device lives as long as the descriptor is open unless it is persistent, so even a crash
 * of the caller removes it.
 */
int vsm_tunif_open(const char *ifname, unsigned flags, struct vsm_tunif *ret_tunif, char *errbuf, size_t errlen)
{
	struct vsm_tunif t = { .fd = -1 };
	struct ifreq ifr;
	bool existed;
	int ctl = -1, ret;

	if (errlen)
		errbuf[0] = '\0';
	if (!ifname || !*ifname || strlen(ifname) >= VSM_IFNAMSIZ || strchr(ifname, '/')) {
		snprintf(errbuf, errlen, "invalid interface name '%s': 1 to %d characters, no '/'",
			 ifname ? ifname : "", VSM_IFNAMSIZ - 1);
		return -EINVAL;
	}
	existed = !strchr(ifname, '%') && if_nametoindex(ifname) != 0;
	t.fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (flags & VSM_TUNIF_NONBLOCK ? O_NONBLOCK : 0));
	if (t.fd < 0) {
		int e = errno;

		snprintf(errbuf, errlen, "cannot open /dev/net/tun: %s (%s)", strerror(e),
			 e == ENOENT || e == ENODEV ? "load the tun module: modprobe tun" :
			 e == EACCES || e == EPERM ? "run as root" : "load the tun module / run as root");
		return -e;
	}
	ifreq_init(&ifr, ifname);
	/* IFF_TUN without IFF_NO_PI: each write starts with a struct tun_pi, so any first byte is fine. */
	ifr.ifr_flags = IFF_TUN;
	if (ioctl(t.fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		if (ret == -EBUSY)
			snprintf(errbuf, errlen, "%s is in use by another process: choose another interface name", ifname);
		else if (ret == -EINVAL && existed)
			snprintf(errbuf, errlen, "%s exists and is not a TUN device that can be used: "
				 "choose another interface name", ifname);
		else
			tun_error(-ret, "cannot create TUN interface", ifname, errbuf, errlen);
		goto out;
	}
	snprintf(t.name, sizeof(t.name), "%s", ifr.ifr_name);

	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "cannot open a control socket: %s", strerror(-ret));
		goto out;
	}
	ifreq_init(&ifr, t.name);
	if (ioctl(ctl, SIOCGIFHWADDR, &ifr) < 0) {
		ret = tun_error(errno, "cannot read the link type of", t.name, errbuf, errlen);
		goto out;
	}
	if (ifr.ifr_hwaddr.sa_family != VSM_ARPHRD_VSOCKMON) {
		/* The kernel changes the link type only while the interface is down. */
		if (ioctl(t.fd, TUNSETLINK, (unsigned long)VSM_ARPHRD_VSOCKMON) < 0) {
			ret = -errno;
			if (ret == -EBUSY)
				snprintf(errbuf, errlen, "%s is up with link type %u: take it down (ip link set %s down) "
					 "or choose another interface name", t.name, ifr.ifr_hwaddr.sa_family, t.name);
			else
				tun_error(-ret, "cannot set the vsock link type on", t.name, errbuf, errlen);
			goto out;
		}
	}
	if ((flags & VSM_TUNIF_PERSIST) && ioctl(t.fd, TUNSETPERSIST, 1UL) < 0) {
		ret = tun_error(errno, "cannot make persistent", t.name, errbuf, errlen);
		goto out;
	}
	/* The MTU does not limit what a TUN write accepts; it only makes ip link show a vsockmon-like value. */
	ifreq_init(&ifr, t.name);
	ifr.ifr_mtu = VSOCKMON_MTU;
	if (ioctl(ctl, SIOCSIFMTU, &ifr) < 0) {
		ifr.ifr_mtu = TUN_MAX_MTU;
		if (ioctl(ctl, SIOCSIFMTU, &ifr) < 0) {
			ret = tun_error(errno, "cannot set the MTU of", t.name, errbuf, errlen);
			goto out;
		}
	}
	ifreq_init(&ifr, t.name);
	if (ioctl(ctl, SIOCGIFFLAGS, &ifr) < 0) {
		ret = tun_error(errno, "cannot read the flags of", t.name, errbuf, errlen);
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0) {
		ret = tun_error(errno, "cannot bring up", t.name, errbuf, errlen);
		goto out;
	}
	if (ioctl(ctl, SIOCGIFINDEX, &ifr) < 0) {
		ret = tun_error(errno, "cannot find the index of", t.name, errbuf, errlen);
		goto out;
	}
	t.ifindex = ifr.ifr_ifindex;
	*ret_tunif = t;
	t.fd = -1;
	ret = 0;
out:
	if (ctl >= 0)
		close(ctl);
	if (t.fd >= 0)
		close(t.fd);	/* a new device goes away with it; a persistent one stays, as found */
	return ret;
}

int vsm_tunif_write(int fd, const uint8_t *frame, size_t len)
{
	/* proto 0, like the skbs a kernel vsockmon sees: no protocol handler claims them after the taps. */
	struct tun_pi pi = { .flags = 0, .proto = 0 };
	struct iovec iov[2] = {
		{ .iov_base = &pi, .iov_len = sizeof(pi) },
		{ .iov_base = (void *)frame, .iov_len = len },
	};
	ssize_t n;

	do
		n = writev(fd, iov, 2);
	while (n < 0 && errno == EINTR);
	/* TUN takes a frame whole or not at all. */
	return n < 0 ? -errno : 0;
}

void vsm_tunif_close(struct vsm_tunif *tunif)
{
	if (!tunif || tunif->fd < 0)
		return;
	close(tunif->fd);
	tunif->fd = -1;
}

/* Whether ifname's driver is TUN, by ethtool's driver name ("tun"; kernel vsockmon says "vsockmon" or nothing). */
static bool is_tun(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	bool tun = false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	ifreq_init(&ifr, ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		tun = !strncmp(info.driver, "tun", sizeof(info.driver));
	close(fd);
	return tun;
}

int vsm_ifkind(const char *ifname, enum vsm_ifkind *ret_kind, bool *ret_up)
{
	struct vsm_iface small[16], *ifaces = small;
	size_t max = sizeof(small) / sizeof(small[0]);
	int n, ret = 0;

	if (!ifname || !ret_kind)
		return -EINVAL;
	/* vsm_live_list says how many there are: take a bigger array when they did not all fit. */
	for (;;) {
		n = vsm_live_list(ifaces, max);
		if (n < 0) {
			ret = n;
			goto out;
		}
		if ((size_t)n <= max)
			break;
		if (ifaces != small)
			free(ifaces);
		max = (size_t)n + 8;	/* room for links added meanwhile */
		ifaces = calloc(max, sizeof(*ifaces));
		if (!ifaces)
			return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(ifaces[i].name, ifname))
			continue;
		*ret_kind = is_tun(ifname) ? VSM_IFKIND_VSOCK_TUN : VSM_IFKIND_VSOCKMON;
		if (ret_up)
			*ret_up = ifaces[i].up;
		goto out;
	}
	*ret_kind = if_nametoindex(ifname) ? VSM_IFKIND_OTHER : VSM_IFKIND_NONE;
	if (ret_up)
		*ret_up = false;
out:
	if (ifaces != small)
		free(ifaces);
	return ret;
}
