/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap.c: the one tap point: each packet becomes one LINKTYPE_VSOCK frame, built once, fanned out to sinks that never block. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_packet.h>

#include <vsockmon/decode.h>
#include <vsockmon/pcap.h>
#include <vsockmon/rotate.h>
#include <vsockmon/tunif.h>
#include <vsockmon/wire.h>
#include <vtr/tap.h>

/* Room for the largest packet Linux sends (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE); bigger ones grow the buffer. */
#define FRAME_INITIAL_CAP	(VSM_FRAME_HDR_LEN + 65536u)
/* The MTU a packet socket needs for that frame: packet_snd() refuses frames longer than the MTU. */
#define PACKET_MTU		FRAME_INITIAL_CAP
/* pcap records cut at this length (libpcap's own limit); the writer would clamp to it anyway. */
#define PCAP_SNAPLEN		VSM_DEFAULT_SNAPLEN
#define PCAP_REC_HDR_LEN	16
/*
 * Lengths of the last frames a pcap sink took. When a flush fails, the writer cuts the file back
 * to its last whole record; walking these back from the newest tells how many frames that took.
 * The writer buffers 256 KiB and a record is at least 16 + 76 bytes: at most 2850 are unflushed.
 */
#define PCAP_RING		4096u

enum sink_type {
	SINK_CALLBACK,
	SINK_PCAP,
	SINK_PACKET,	/* a packet socket on a kernel vsockmon device */
	SINK_TUN,	/* a vsock-type TUN device of our own */
};

struct sink {
	enum sink_type type;
	bool stopped;			/* takes no more frames: st.error says why, or st.finished */
	struct vtr_tap_sink_stats st;
	union {
		struct {
			vtr_tap_fn fn;
			void *ctx;
		} cb;
		struct {
			struct vsm_rotator *rot;	/* libvsockmon's -w/-C/-G/-W output, as vsockdump's */
			uint32_t *lens;		/* ring of PCAP_RING frame lengths; the newest at (st.frames - 1) */
		} pcap;
		struct {
			int fd;			/* SINK_PACKET: a packet socket; SINK_TUN: the TUN device */
			int ifindex;
			ino_t own_inode;	/* our own packet socket, not a reader */
			bool readers;		/* a capture is open on the interface */
			struct timespec checked;
			struct vsm_tunif tun;	/* SINK_TUN */
		} ifc;
	};
};

struct vtr_tap {
	struct sink *sinks;
	size_t nsinks;
	size_t nlive;			/* sinks not stopped: when 0, no frame is built */
	uint8_t *frame;			/* the frame being fanned out, reused for every packet */
	size_t cap;
	struct vsm_file_perm file_perm;	/* of the pcap files it creates */
};

int vtr_tap_new(struct vtr_tap **ret_tap)
{
	struct vtr_tap *tap;

	if (!ret_tap)
		return -EINVAL;
	tap = calloc(1, sizeof(*tap));
	if (!tap)
		return -ENOMEM;
	*ret_tap = tap;
	return 0;
}

static void sink_close(struct sink *s)
{
	switch (s->type) {
	case SINK_CALLBACK:
		break;
	case SINK_PCAP:
		/* Flushes what is buffered; on an error the writer keeps the file valid by itself. */
		(void)vsm_rotate_close(s->pcap.rot);
		free(s->pcap.lens);
		break;
	case SINK_PACKET:
		close(s->ifc.fd);
		break;
	case SINK_TUN:
		vsm_tunif_close(&s->ifc.tun);
		break;
	}
}

void vtr_tap_free(struct vtr_tap *tap)
{
	if (!tap)
		return;
	for (size_t i = 0; i < tap->nsinks; i++)
		sink_close(&tap->sinks[i]);
	free(tap->sinks);
	free(tap->frame);
	free(tap);
}

/* Makes the frame buffer hold len bytes. Only the setup path and packets larger than any before allocate. */
static int frame_reserve(struct vtr_tap *tap, size_t len)
{
	uint8_t *p;

	if (len <= tap->cap)
		return 0;
	p = realloc(tap->frame, len);
	if (!p)
		return -ENOMEM;
	tap->frame = p;
	tap->cap = len;
	return 0;
}

/* Appends a sink; returns its index or -ENOMEM. The caller fills in the rest. */
static int sink_add(struct vtr_tap *tap, const struct sink *s)
{
	struct sink *v;
	int ret = frame_reserve(tap, FRAME_INITIAL_CAP);

	if (ret < 0)
		return ret;
	if (tap->nsinks >= INT32_MAX)
		return -ENOSPC;
	v = realloc(tap->sinks, (tap->nsinks + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	tap->sinks = v;
	v[tap->nsinks] = *s;
	tap->nlive++;
	return (int)tap->nsinks++;
}

int vtr_tap_add_callback(struct vtr_tap *tap, vtr_tap_fn fn, void *ctx)
{
	struct sink s = { .type = SINK_CALLBACK, .cb = { .fn = fn, .ctx = ctx } };

	if (!tap || !fn)
		return -EINVAL;
	return sink_add(tap, &s);
}

int vtr_tap_add_pcap_rotated(struct vtr_tap *tap, const struct vsm_rotate_opts *opts, char *errbuf, size_t errlen)
{
	struct vsm_rotate_opts ro;
	struct sink s = { .type = SINK_PCAP };
	int ret;

	if (errlen)
		errbuf[0] = '\0';
	if (!tap || !opts || !opts->path) {
		snprintf(errbuf, errlen, "vtr_tap_add_pcap: no tap or no file name");
		return -EINVAL;
	}
	ro = *opts;
	/* Nanoseconds: the engine's clock has them, and tcpdump, tshark and libvsockmon read them. A tap
	 * writes for a daemon (vsockdev): a symbolic link where its capture goes is refused. */
	ro.pcap = (struct vsm_pcap_writer_opts){ .snaplen = PCAP_SNAPLEN, .nsec = true, .perm = tap->file_perm,
						 .no_follow = true };
	s.pcap.lens = malloc(PCAP_RING * sizeof(*s.pcap.lens));
	if (!s.pcap.lens) {
		snprintf(errbuf, errlen, "%s: out of memory", opts->path);
		return -ENOMEM;
	}
	ret = vsm_rotate_open(&ro, NULL, &s.pcap.rot, errbuf, errlen);
	if (ret < 0) {
		free(s.pcap.lens);
		return ret;
	}
	ret = sink_add(tap, &s);
	if (ret < 0) {
		snprintf(errbuf, errlen, "%s: %s", opts->path, strerror(-ret));
		sink_close(&s);
	}
	return ret;
}

int vtr_tap_add_pcap(struct vtr_tap *tap, const char *path, char *errbuf, size_t errlen)
{
	const struct vsm_rotate_opts opts = { .path = path };

	return vtr_tap_add_pcap_rotated(tap, &opts, errbuf, errlen);
}

void vtr_tap_set_file_perm(struct vtr_tap *tap, const struct vsm_file_perm *perm)
{
	if (tap && perm)
		tap->file_perm = *perm;
}

/*
 * A packet socket on a kernel vsockmon device. What is sent on it goes through dev_queue_xmit(),
 * which hands a copy to every packet socket capturing on the device (dev_queue_xmit_nit(), as
 * PACKET_OUTGOING) before vsockmon's xmit counts and frees it: the same road the kernel's own
 * vsock_deliver_tap() frames take, so one capture shows both. PACKET_QDISC_BYPASS must stay
 * off: it skips dev_queue_xmit_nit() and so every capture.
 */
static int open_packet(const char *ifname, int *ret_fd, char *errbuf, size_t errlen)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct ifreq ifr;
	int fd, ctl, ret;

	/*
	 * Protocol 0: the socket only sends. It registers no receive hook, so it never queues the
	 * device's traffic (ETH_P_ALL would copy every frame on the device into it, ours from other
	 * taps included), and the frames go out with skb->protocol 0 like vsock_deliver_tap()'s.
	 * Capture sockets bind with ETH_P_ALL, which sees every protocol.
	 */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "%s: cannot open a packet socket: %s%s", ifname, strerror(-ret),
			 ret == -EPERM || ret == -EACCES ? " (run as root or give CAP_NET_RAW)" : "");
		return ret;
	}
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		ret = -ENODEV;
		snprintf(errbuf, errlen, "%s: no such interface", ifname);
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		ret = -errno;
		snprintf(errbuf, errlen, "%s: cannot bind a packet socket: %s", ifname, strerror(-ret));
		goto fail;
	}
	/*
	 * vsockmon's default MTU (32 + 65536) is 44 bytes short of a full RW packet with its virtio
	 * header, and packet_snd() refuses frames over the MTU. vsockmon takes any MTU >= 32, and its
	 * own frames are unaffected. If it cannot be raised, the longest frames are dropped and counted.
	 */
	ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ctl >= 0) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(ctl, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu < (int)PACKET_MTU) {
			ifr.ifr_mtu = (int)PACKET_MTU;
			(void)ioctl(ctl, SIOCSIFMTU, &ifr);
		}
		close(ctl);
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return ret;
}

int vtr_tap_add_iface(struct vtr_tap *tap, const char *ifname, char *errbuf, size_t errlen)
{
	struct sink s = { .type = SINK_TUN, .ifc = { .fd = -1, .tun = { .fd = -1 } } };
	struct stat st;
	enum vsm_ifkind kind;
	bool up = false;
	int ret;

	if (errlen)
		errbuf[0] = '\0';
	if (!tap || !ifname || !*ifname || strlen(ifname) >= VSM_IFNAMSIZ) {
		snprintf(errbuf, errlen, "invalid interface name '%s'", ifname ? ifname : "");
		return -EINVAL;
	}
	ret = vsm_ifkind(ifname, &kind, &up);
	if (ret < 0) {
		snprintf(errbuf, errlen, "cannot list network interfaces: %s", strerror(-ret));
		return ret;
	}
	if (kind == VSM_IFKIND_VSOCKMON) {
		/* A down vsockmon has no tap registered and refuses sends: bringing it up is the admin's call. */
		if (!up) {
			snprintf(errbuf, errlen, "%s is down: bring it up with: ip link set %s up", ifname, ifname);
			return -ENETDOWN;
		}
		s.type = SINK_PACKET;
		ret = open_packet(ifname, &s.ifc.fd, errbuf, errlen);
		if (ret == 0) {
			s.ifc.ifindex = (int)if_nametoindex(ifname);
			if (fstat(s.ifc.fd, &st) == 0)
				s.ifc.own_inode = st.st_ino;
		}
	} else {
		ret = vsm_tunif_open(ifname, VSM_TUNIF_NONBLOCK, &s.ifc.tun, errbuf, errlen);
		s.ifc.fd = s.ifc.tun.fd;
		s.ifc.ifindex = s.ifc.tun.ifindex;
	}
	if (ret < 0)
		return ret;
	/* Look for readers at the first frame. */
	s.ifc.checked.tv_sec = -1000;
	ret = sink_add(tap, &s);
	if (ret < 0) {
		snprintf(errbuf, errlen, "%s: %s", ifname, strerror(-ret));
		sink_close(&s);
	}
	return ret;
}

/*
 * Whether a capture is open on the interface: a packet socket in /proc/net/packet (this network
 * namespace's) bound to it or to every interface (index 0), with a protocol, so that it receives.
 * Our own sending socket has protocol 0 and is skipped by its inode anyway.
 */
static bool iface_has_readers(int ifindex, ino_t own_inode)
{
	FILE *f = fopen("/proc/net/packet", "re");
	char line[256];
	bool found = false;

	if (!f)
		return true;	/* cannot tell: keep sending */
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned refcnt, type, proto, running, rmem, user;
		int iface;
		unsigned long inode;

		/*
		 * The first column is the socket's address, which the kernel may print hashed or as
		 * "(____ptrval____)" (kptr_restrict, or before its random pool is ready): skip it unread.
		 */
		if (sscanf(line, "%*s %u %u %x %d %u %u %u %lu", &refcnt, &type, &proto, &iface, &running,
			   &rmem, &user, &inode) != 8)
			continue;	/* the heading */
		if (proto && (iface == 0 || iface == ifindex) && (ino_t)inode != own_inode)
			found = true;
	}
	fclose(f);
	return found;
}

/* Interface sinks: refresh whether anyone captures there, at most every VTR_TAP_READER_CHECK_MS. */
static bool iface_observed(struct sink *s)
{
	struct timespec t;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	ms = ((int64_t)t.tv_sec - s->ifc.checked.tv_sec) * 1000 + (t.tv_nsec - s->ifc.checked.tv_nsec) / 1000000;
	if (ms >= VTR_TAP_READER_CHECK_MS || ms < 0) {
		s->ifc.readers = iface_has_readers(s->ifc.ifindex, s->ifc.own_inode);
		s->ifc.checked = t;
	}
	return s->ifc.readers;
}

/* A sink stops for good: everything it had not made durable is lost. */
static void sink_fail(struct vtr_tap *tap, struct sink *s, int err)
{
	s->stopped = true;
	s->st.error = err;
	tap->nlive--;
}

/* A frame a stopped sink does not take: lost if it failed, not wanted if its capture is over. */
static void sink_miss(struct sink *s)
{
	if (s->st.finished)
		s->st.unobserved++;
	else
		s->st.dropped++;
}

/* Where a pcap sink's output stands: which file, and how many bytes in it. */
struct pcap_pos {
	uint64_t files, size;
};

static struct pcap_pos pcap_pos(const struct sink *s)
{
	return (struct pcap_pos){ vsm_rotate_files(s->pcap.rot), vsm_rotate_size(s->pcap.rot) };
}

/*
 * A pcap write or flush failed; the writer cut the file back to its last whole record. The
 * frames past that point, taken earlier but never made durable, move from frames to dropped.
 * If a new file was started since before, the old one was flushed whole first: nothing is lost.
 */
static void pcap_fail(struct vtr_tap *tap, struct sink *s, int err, struct pcap_pos before)
{
	struct pcap_pos now = pcap_pos(s);
	uint64_t excess = now.files == before.files && before.size > now.size ? before.size - now.size : 0;

	/* Beyond the ring the lengths are gone; the writer never holds that many unflushed. */
	for (uint32_t k = 0; excess > 0 && s->st.frames > 0 && k < PCAP_RING; k++) {
		uint32_t len = s->pcap.lens[(s->st.frames - 1) % PCAP_RING];
		uint64_t rec = PCAP_REC_HDR_LEN + (len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN);

		excess -= rec < excess ? rec : excess;
		s->st.frames--;
		s->st.bytes -= len;
		s->st.dropped++;
	}
	sink_fail(tap, s, err);
}

/* A pcap sink takes the frame as three pieces: no copy of the payload before the writer's. */
static void pcap_put(struct vtr_tap *tap, struct sink *s, const struct vsm_rec *rec, const uint8_t *mon,
		     const uint8_t *hdr, const uint8_t *payload, uint32_t payload_len)
{
	struct iovec parts[3] = {
		{ .iov_base = (void *)mon, .iov_len = VSM_MON_HDR_LEN },
		{ .iov_base = (void *)hdr, .iov_len = VSM_VIRTIO_HDR_LEN },
		{ .iov_base = (void *)payload, .iov_len = payload_len },
	};
	struct pcap_pos before = pcap_pos(s);
	int ret = vsm_rotate_write_parts(s->pcap.rot, &rec->ts, parts, payload_len ? 3 : 2, rec->wire_len);

	if (ret < 0) {
		s->st.dropped++;
		pcap_fail(tap, s, ret, before);
		return;
	}
	if (ret == 1) {
		/* -G with -W wrote its last file (as tcpdump, the capture ends): not a failure. */
		s->st.finished = true;
		s->stopped = true;
		tap->nlive--;
		s->st.unobserved++;
		return;
	}
	s->pcap.lens[s->st.frames % PCAP_RING] = rec->wire_len;
	s->st.frames++;
	s->st.bytes += rec->wire_len;
}

/*
 * Hands the frame to one live sink. The data path: nothing here allocates, and no reader can
 * hold it up (sockets and TUN are non-blocking; the pcap writer appends to a file 256 KiB at a time).
 */
static void sink_put(struct vtr_tap *tap, struct sink *s, const struct vsm_rec *rec)
{
	ssize_t n;
	int ret;

	switch (s->type) {
	case SINK_CALLBACK:
		s->cb.fn(s->cb.ctx, rec);
		break;
	case SINK_PCAP:
		/* pcap_put() takes these, in pieces */
		return;
	case SINK_PACKET:
		n = send(s->ifc.fd, rec->data, rec->cap_len, MSG_DONTWAIT);
		if (n < 0) {
			ret = -errno;
			s->st.dropped++;
			switch (ret) {
			case -EAGAIN:		/* socket send buffer full */
			case -ENOBUFS:		/* the device's queue dropped it */
			case -ENOMEM:
			case -EMSGSIZE:		/* longer than the MTU */
			case -ENETDOWN:		/* taken down: frames are lost until it is up again */
			case -EINTR:
				break;
			default:		/* -ENXIO, -ENODEV: the device is gone */
				sink_fail(tap, s, ret);
			}
			return;
		}
		break;
	case SINK_TUN:
		ret = vsm_tunif_write(s->ifc.fd, rec->data, rec->cap_len);
		if (ret < 0) {
			s->st.dropped++;
			switch (ret) {
			case -EAGAIN:
			case -ENOBUFS:
			case -ENOMEM:
			case -EMSGSIZE:
			case -EINVAL:
			case -EIO:		/* taken down: frames are lost until it is up again */
				break;
			default:		/* -EBADFD: the interface was deleted */
				sink_fail(tap, s, ret);
			}
			return;
		}
		break;
	}
	s->st.frames++;
	s->st.bytes += rec->wire_len;
}

/* Every sink misses this packet (no memory for it, or no packet at all). */
static void drop_all(struct vtr_tap *tap)
{
	for (size_t i = 0; i < tap->nsinks; i++)
		sink_miss(&tap->sinks[i]);
}

void vtr_tap_packet(struct vtr_tap *tap, const struct timespec *ts, const uint8_t *hdr,
		    const uint8_t *payload, uint32_t payload_len)
{
	struct vsm_rec rec;
	uint8_t mon[VSM_MON_HDR_LEN], *f;
	bool need_frame = false;
	size_t len;

	if (!tap || !tap->nsinks)
		return;
	if (!tap->nlive || !hdr || (payload_len && !payload) || payload_len > UINT32_MAX - VSM_FRAME_HDR_LEN) {
		drop_all(tap);	/* stopped sinks count what they miss, so their loss stays exact */
		return;
	}
	{
		/* Build nothing when every live sink is an interface nobody captures on. */
		bool wanted = false;

		for (size_t i = 0; i < tap->nsinks; i++) {
			struct sink *s = &tap->sinks[i];

			if (s->stopped)
				continue;
			if ((s->type == SINK_TUN || s->type == SINK_PACKET) && !iface_observed(s))
				continue;
			if (s->type != SINK_PCAP)
				need_frame = true;
			wanted = true;
		}
		if (!wanted) {
			for (size_t i = 0; i < tap->nsinks; i++) {
				if (tap->sinks[i].stopped)
					sink_miss(&tap->sinks[i]);
				else
					tap->sinks[i].st.unobserved++;
			}
			return;
		}
	}
	len = VSM_FRAME_HDR_LEN + (size_t)payload_len;
	vsm_mon_hdr_for_virtio(hdr, mon);
	if (ts)
		rec.ts = *ts;
	else
		clock_gettime(CLOCK_REALTIME, &rec.ts);
	rec.cap_len = rec.wire_len = (uint32_t)len;
	rec.data = NULL;
	/* Sockets and callbacks take one contiguous frame; pcap files take the pieces, uncopied. */
	if (need_frame) {
		if (frame_reserve(tap, len) < 0) {
			drop_all(tap);
			return;
		}
		f = tap->frame;
		memcpy(f, mon, VSM_MON_HDR_LEN);
		memcpy(f + VSM_OFF_VIRTIO, hdr, VSM_VIRTIO_HDR_LEN);
		if (payload_len)
			memcpy(f + VSM_FRAME_HDR_LEN, payload, payload_len);
		rec.data = f;
	}
	/* Callbacks must not feed this tap: the frame buffer is shared by the whole fan-out. */
	for (size_t i = 0; i < tap->nsinks; i++) {
		struct sink *s = &tap->sinks[i];

		if (s->stopped)
			sink_miss(s);
		else if ((s->type == SINK_TUN || s->type == SINK_PACKET) && !s->ifc.readers)
			s->st.unobserved++;
		else if (s->type == SINK_PCAP)
			pcap_put(tap, s, &rec, mon, hdr, payload, payload_len);
		else
			sink_put(tap, s, &rec);
	}
}

bool vtr_tap_active(const struct vtr_tap *tap)
{
	return tap && tap->nsinks;
}

size_t vtr_tap_sink_count(const struct vtr_tap *tap)
{
	return tap ? tap->nsinks : 0;
}

int vtr_tap_sink_stats(const struct vtr_tap *tap, size_t sink, struct vtr_tap_sink_stats *ret_stats)
{
	if (!tap || !ret_stats || sink >= tap->nsinks)
		return -EINVAL;
	*ret_stats = tap->sinks[sink].st;
	return 0;
}

int vtr_tap_flush(struct vtr_tap *tap)
{
	int first = 0;

	if (!tap)
		return -EINVAL;
	for (size_t i = 0; i < tap->nsinks; i++) {
		struct sink *s = &tap->sinks[i];
		struct pcap_pos before;
		int ret;

		if (s->type != SINK_PCAP || s->stopped)
			continue;
		before = pcap_pos(s);
		ret = vsm_rotate_flush(s->pcap.rot);
		if (ret < 0) {
			pcap_fail(tap, s, ret, before);
			if (!first)
				first = ret;
		}
	}
	return first;
}

int vtr_tap_reopen(struct vtr_tap *tap, char *errbuf, size_t errlen)
{
	int started = 0, first = 0;

	if (errlen)
		errbuf[0] = '\0';
	if (!tap)
		return -EINVAL;
	for (size_t i = 0; i < tap->nsinks; i++) {
		struct sink *s = &tap->sinks[i];
		struct pcap_pos before;
		char err[512];
		int ret;

		/* A failed sink stays stopped: its file holds what it could, up to the failure. */
		if (s->type != SINK_PCAP || s->stopped)
			continue;
		before = pcap_pos(s);
		ret = vsm_rotate_reopen(s->pcap.rot, err, sizeof(err));
		if (ret == 1) {
			started++;
			continue;
		}
		if (ret == 0)
			continue;
		/*
		 * Only a failed flush is the sink's end (it is sticky: flushing again says so); a new
		 * file that cannot be created leaves the old one in use, and the next reopen tries again.
		 */
		if (vsm_rotate_flush(s->pcap.rot) < 0)
			pcap_fail(tap, s, ret, before);
		if (!first) {
			first = ret;
			snprintf(errbuf, errlen, "%s", err);
		}
	}
	return first ? first : started;
}

const char *vtr_tap_sink_file(const struct vtr_tap *tap, size_t sink)
{
	if (!tap || sink >= tap->nsinks || tap->sinks[sink].type != SINK_PCAP)
		return NULL;
	return vsm_rotate_current(tap->sinks[sink].pcap.rot);
}
