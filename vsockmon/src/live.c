/* SPDX-License-Identifier: GPL-2.0-or-later */
/* live.c: live capture on vsock-type interfaces through libpcap, with the filter running in the kernel. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pcap/pcap.h>

#include <vsockmon/filter.h>
#include <vsockmon/live.h>
#include <vsockmon/wire.h>

#define DEFAULT_BUFFER_BYTES (32u << 20)
/* How long the kernel may hold captured frames in a TPACKET_V3 block before handing them over. */
#define BLOCK_TIMEOUT_MS 1

struct vsm_live {
	pcap_t *pcap;
	bool nsec;			/* pcap_pkthdr.ts.tv_usec holds nanoseconds */
	struct pcap_stat last;		/* libpcap's 32-bit counters when last read */
	struct vsm_live_stats total;	/* 64-bit sums of their increments, so they never wrap */
	char ifname[IF_NAMESIZE];
	char error[PCAP_ERRBUF_SIZE + 160];
};

/* One vsock-type link seen in the netlink dump. */
struct link_entry {
	int index;
	struct vsm_iface iface;
};

struct link_list {
	struct link_entry *v;
	size_t n, cap;
};

static void describe(const char *kind, char *buf, size_t len)
{
	if (!strcmp(kind, "vsockmon"))
		snprintf(buf, len, "kernel vsock monitor");
	else if (!strcmp(kind, "tun"))
		snprintf(buf, len, "TUN replay device");	/* what vsockreplay(1) creates */
	else
		snprintf(buf, len, "%s", kind);
}

static int add_link(struct link_list *l, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int alen = (int)IFLA_PAYLOAD(nh);
	struct link_entry *e;

	if (ifi->ifi_type != VSM_ARPHRD_VSOCKMON)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct link_entry *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	e = &l->v[l->n];
	memset(e, 0, sizeof(*e));
	e->index = ifi->ifi_index;
	e->iface.up = ifi->ifi_flags & IFF_UP;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		if (a->rta_type == IFLA_IFNAME) {
			snprintf(e->iface.name, sizeof(e->iface.name), "%.*s",
				 (int)RTA_PAYLOAD(a), (const char *)RTA_DATA(a));
		} else if (a->rta_type == IFLA_LINKINFO) {
			int ilen = (int)RTA_PAYLOAD(a);

			for (const struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
				char kind[32];

				if (i->rta_type != IFLA_INFO_KIND)
					continue;
				snprintf(kind, sizeof(kind), "%.*s", (int)RTA_PAYLOAD(i), (const char *)RTA_DATA(i));
				describe(kind, e->iface.description, sizeof(e->iface.description));
			}
		}
	}
	if (e->iface.name[0])
		l->n++;
	return 0;
}

/*
 * Dumps the links of the caller's network namespace with RTM_GETLINK. Netlink rather than
 * /sys/class/net: sysfs shows the namespace of whoever mounted it, so after `unshare -n`
 * it would list the wrong interfaces. Returns 1 when the dump was consistent, 0 when the
 * link table changed under it (NLM_F_DUMP_INTR: try again), or -errno.
 */
static int dump_links(struct link_list *l)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1,
		},
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	const size_t bufsize = 64 << 10;	/* large enough that no RTM_NEWLINK message is cut */
	void *buf = NULL;
	bool consistent = true;
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	buf = malloc(bufsize);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, bufsize, 0);
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		if (n == 0) {
			ret = -EPROTO;
			goto out;
		}
		left = (size_t)n;
		for (struct nlmsghdr *nh = buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != req.nh.nlmsg_seq)
				continue;
			if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
				consistent = false;
			if (nh->nlmsg_type == NLMSG_DONE) {
				ret = consistent ? 1 : 0;
				goto out;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				ret = e->error < 0 ? e->error : -EPROTO;
				goto out;
			}
			if (nh->nlmsg_type != RTM_NEWLINK)
				continue;
			ret = add_link(l, nh);
			if (ret < 0)
				goto out;
		}
	}
out:
	free(buf);
	close(fd);
	return ret;
}

static int by_index(const void *a, const void *b)
{
	const struct link_entry *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

int vsm_live_list(struct vsm_iface *ifaces, size_t max)
{
	struct link_list l = { 0 };
	int ret = 0;

	/* A link added or removed during the dump makes it inconsistent: read it again. */
	for (int attempt = 0; attempt < 5; attempt++) {
		l.n = 0;
		ret = dump_links(&l);
		if (ret != 0)
			break;
	}
	if (ret < 0)
		goto out;
	/* Sorted by ifindex so "the first vsock interface" is the oldest one, stably. */
	if (l.n)	/* l.v is NULL when there is none, and qsort's base must not be */
		qsort(l.v, l.n, sizeof(*l.v), by_index);
	for (size_t i = 0; i < l.n && i < max; i++)
		ifaces[i] = l.v[i].iface;
	ret = l.n > INT32_MAX ? INT32_MAX : (int)l.n;
out:
	free(l.v);
	return ret;
}

/* Finds ifname among the vsock-type links: 1 found (up state in *ret_up), 0 not, or -errno. */
static int vsock_link_state(const char *ifname, bool *ret_up)
{
	struct vsm_iface ifaces[32];
	int n = vsm_live_list(ifaces, 32);

	if (n < 0)
		return n;
	for (int i = 0; i < n && i < 32; i++) {
		if (!strcmp(ifaces[i].name, ifname)) {
			*ret_up = ifaces[i].up;
			return 1;
		}
	}
	return 0;
}

/* Turns a failed pcap_activate() into a message that says what to do, and an errno. */
static int activate_error(pcap_t *p, int status, const char *ifname, char *errbuf, size_t errlen)
{
	const char *detail = pcap_geterr(p);

	switch (status) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		snprintf(errbuf, errlen, "%s: no such interface: list vsock interfaces with vsockdump -D", ifname);
		return -ENODEV;
	case PCAP_ERROR_PERM_DENIED:
	case PCAP_ERROR_PROMISC_PERM_DENIED:
		snprintf(errbuf, errlen, "%s: permission denied (%s): run as root or give CAP_NET_RAW",
			 ifname, detail);
		return -EPERM;
	case PCAP_ERROR_IFACE_NOT_UP:
		snprintf(errbuf, errlen, "%s is down: bring it up with: ip link set %s up", ifname, ifname);
		return -ENETDOWN;
#ifdef PCAP_ERROR_CAPTURE_NOTSUP
	case PCAP_ERROR_CAPTURE_NOTSUP:
		snprintf(errbuf, errlen, "%s: capture not supported (%s)", ifname, detail);
		return -EOPNOTSUPP;
#endif
	case PCAP_ERROR:
		snprintf(errbuf, errlen, "%s: cannot capture: %s", ifname, detail);
		return -EIO;
	default:
		snprintf(errbuf, errlen, "%s: cannot capture: %s (%s)", ifname, pcap_statustostr(status), detail);
		return -EIO;
	}
}

int vsm_live_open(const struct vsm_live_opts *opts, struct vsm_live **ret_live, char *errbuf, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	const char *ifname = opts->ifname;
	uint32_t snaplen = opts->snaplen ? opts->snaplen : VSM_DEFAULT_SNAPLEN;
	uint32_t buffer = opts->buffer_bytes ? opts->buffer_bytes : DEFAULT_BUFFER_BYTES;
	struct vsm_iface first;
	struct vsm_live *live;
	pcap_t *p;
	bool up = false;
	int status, dlt, ret;

	if (errlen)
		errbuf[0] = '\0';
	if (!ifname || !*ifname) {
		ret = vsm_live_list(&first, 1);
		if (ret < 0) {
			snprintf(errbuf, errlen, "cannot list network interfaces: %s", strerror(-ret));
			return ret;
		}
		if (ret == 0) {
			snprintf(errbuf, errlen, "no vsock-type interface here: create one with "
				 "modprobe vsockmon && ip link add type vsockmon && ip link set vsockmon0 up");
			return -ENODEV;
		}
		ifname = first.name;
	}
	if (strlen(ifname) >= IF_NAMESIZE) {
		snprintf(errbuf, errlen, "%s: interface names have at most %d characters", ifname, IF_NAMESIZE - 1);
		return -EINVAL;
	}

	live = calloc(1, sizeof(*live));
	if (!live) {
		snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	/* The length was checked above: the copy always fits. */
	memcpy(live->ifname, ifname, strlen(ifname) + 1);
	p = live->pcap = pcap_create(ifname, pcap_err);
	if (!p) {
		snprintf(errbuf, errlen, "%s: %s", ifname, pcap_err);
		ret = -ENODEV;
		goto fail;
	}
	pcap_set_snaplen(p, (int)(snaplen > INT32_MAX ? INT32_MAX : snaplen));
	pcap_set_promisc(p, 0);
	/*
	 * Frames must reach us at once, or those still in the kernel's ring when SIGINT comes are
	 * lost (tcpdump's 1 s default loses up to a second of them). pcap_set_immediate_mode() would
	 * do it, but libpcap then falls back from TPACKET_V3 to TPACKET_V2, whose ring has one slot
	 * of snaplen bytes per frame: 32 MiB at 256 KiB is 128 frames, and a burst of 9600 replayed
	 * frames lost 3073 of them (V3: none). So keep V3, which packs frames into blocks, and hand
	 * each block over after BLOCK_TIMEOUT_MS: the latency of immediate mode within a tick.
	 */
	pcap_set_timeout(p, BLOCK_TIMEOUT_MS);
	if (opts->immediate)
		pcap_set_immediate_mode(p, 1);
	pcap_set_buffer_size(p, (int)(buffer > INT32_MAX ? INT32_MAX : buffer));
	/* Nanoseconds when the platform has them; pcap_activate falls back to microseconds otherwise. */
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);

	status = pcap_activate(p);
	if (status < 0) {
		ret = activate_error(p, status, ifname, errbuf, errlen);
		goto fail;
	}
	if (status > 0)	/* a warning: capture works, the caller may show why it is degraded */
		snprintf(errbuf, errlen, "warning: %s: %s", ifname, pcap_geterr(p));
	live->nsec = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;

	dlt = pcap_datalink(p);
	if (dlt != VSM_LINKTYPE_VSOCK) {
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(errbuf, errlen, "%s has link type %d (%s), not vsock: list vsock interfaces with vsockdump -D",
			 ifname, dlt, name ? name : "unknown");
		ret = -EPROTONOSUPPORT;
		goto fail;
	}
	/* A vsockmon interface that is down receives nothing; say so instead of waiting forever. */
	ret = vsock_link_state(ifname, &up);
	if (ret == 1 && !up) {
		snprintf(errbuf, errlen, "%s is down: bring it up with: ip link set %s up", ifname, ifname);
		ret = -ENETDOWN;
		goto fail;
	}

	if (opts->filter && vsm_filter_bpf(opts->filter)) {
		/* pcap_setfilter() only copies the program; its prototype just lacks the const. */
		struct bpf_program *prog = (struct bpf_program *)vsm_filter_bpf(opts->filter);

		if (pcap_setfilter(p, prog) < 0) {
			snprintf(errbuf, errlen, "%s: cannot install the filter in the kernel: %s", ifname, pcap_geterr(p));
			ret = -EINVAL;
			goto fail;
		}
	}
	if (pcap_setnonblock(p, 1, pcap_err) < 0) {
		snprintf(errbuf, errlen, "%s: cannot make the capture non-blocking: %s", ifname, pcap_err);
		ret = -EIO;
		goto fail;
	}
	if (pcap_get_selectable_fd(p) < 0) {
		snprintf(errbuf, errlen, "%s: the capture has no descriptor to poll", ifname);
		ret = -EOPNOTSUPP;
		goto fail;
	}
	*ret_live = live;
	return 0;
fail:
	vsm_live_close(live);
	return ret;
}

int vsm_live_fd(const struct vsm_live *live)
{
	/* pcap_get_selectable_fd() takes a non-const handle but only reads it. */
	return pcap_get_selectable_fd((pcap_t *)live->pcap);
}

int vsm_live_next(struct vsm_live *live, struct vsm_rec *ret_rec)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int ret = pcap_next_ex(live->pcap, &h, &data);

	if (ret == 1) {
		ret_rec->ts.tv_sec = h->ts.tv_sec;
		ret_rec->ts.tv_nsec = live->nsec ? h->ts.tv_usec : h->ts.tv_usec * 1000L;
		ret_rec->data = data;
		ret_rec->cap_len = h->caplen;
		ret_rec->wire_len = h->len;
		/* The kernel's clock: nothing to bound. */
		ret_rec->problems = 0;
		return 1;
	}
	/* 0: nothing ready (non-blocking); BREAK only follows pcap_breakloop(), which we never call. */
	if (ret == 0 || ret == PCAP_ERROR_BREAK)
		return 0;
	if (if_nametoindex(live->ifname) == 0) {
		snprintf(live->error, sizeof(live->error), "%s disappeared (the interface was deleted)", live->ifname);
		return -ENODEV;
	}
	if (ret == PCAP_ERROR_IFACE_NOT_UP) {
		snprintf(live->error, sizeof(live->error), "%s went down: bring it up with: ip link set %s up",
			 live->ifname, live->ifname);
		return -ENETDOWN;
	}
	snprintf(live->error, sizeof(live->error), "%s: capture failed: %s", live->ifname, pcap_geterr(live->pcap));
	return -EIO;
}

int vsm_live_stats(struct vsm_live *live, struct vsm_live_stats *ret_stats)
{
	struct pcap_stat ps;

	if (pcap_stats(live->pcap, &ps) < 0) {
		snprintf(live->error, sizeof(live->error), "%s: cannot read statistics: %s",
			 live->ifname, pcap_geterr(live->pcap));
		return -EIO;
	}
	/* Unsigned 32-bit differences stay right across one wrap of libpcap's u_int counters. */
	live->total.received += (uint32_t)(ps.ps_recv - live->last.ps_recv);
	live->total.dropped += (uint32_t)(ps.ps_drop - live->last.ps_drop);
	live->total.if_dropped += (uint32_t)(ps.ps_ifdrop - live->last.ps_ifdrop);
	live->last = ps;
	*ret_stats = live->total;
	return 0;
}

const char *vsm_live_ifname(const struct vsm_live *live)
{
	return live->ifname;
}

const char *vsm_live_error(const struct vsm_live *live)
{
	return live->error[0] ? live->error : "no error";
}

void vsm_live_close(struct vsm_live *live)
{
	if (!live)
		return;
	if (live->pcap)
		pcap_close(live->pcap);
	free(live);
}
