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
#include <vsockmon/tap.h>

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

struct sink;
struct vsm_tap;

/* One frame on its way to the sinks: in pieces always, in one buffer (rec.data) once a sink needed it. */
struct frame {
	struct vsm_rec rec;
	const uint8_t *mon, *hdr, *payload;
	uint32_t payload_len;
};

/*
 * What one kind of sink does. The fan-out knows sinks only through this table, as libpcap knows
 * its capture sources through their ops: a new kind of sink is a new table, not a new case.
 */
struct sink_ops {
	/* Whether the sink wants frames now; NULL: always. Interfaces: someone captures there. */
	bool (*observed)(struct sink *s);
	/* Takes the frame whole in f->rec.data (else in its pieces, uncopied). */
	bool contiguous;
	/* Takes one frame and counts it in s->st, or drops it (and stops the sink if it failed for good). */
	void (*put)(struct vsm_tap *tap, struct sink *s, const struct frame *f);
	/* Makes buffered frames durable; NULL: nothing is buffered. */
	int (*flush)(struct vsm_tap *tap, struct sink *s);
	/* logrotate: starts its file anew if it was moved (1), or not (0); NULL: no file. */
	int (*reopen)(struct vsm_tap *tap, struct sink *s, char *errbuf, size_t errlen);
	/* The file it writes now; NULL: no file. */
	const char *(*file)(const struct sink *s);
	void (*close)(struct sink *s);
	/* Interface sinks: how a whole frame is sent (0 or -errno), and the errnos that lose that
	 * frame only (0-terminated); any other stops the sink. */
	int (*send)(int fd, const uint8_t *frame, size_t len);
	const int *transient;
};

struct sink {
	const struct sink_ops *ops;
	bool stopped;			/* takes no more frames: st.error says why, or st.finished */
	struct vsm_tap_sink_stats st;
	union {
		struct {
			vsm_tap_fn fn;
			void *ctx;
		} cb;
		struct {
			struct vsm_rotator *rot;	/* libvsockmon's -w/-C/-G/-W output, as vsockdump's */
			uint32_t *lens;		/* ring of PCAP_RING frame lengths; the newest at (st.frames - 1) */
		} pcap;
		struct {
			int fd;			/* a packet socket, or the TUN device */
			int ifindex;
			ino_t own_inode;	/* our own packet socket, not a reader */
			bool readers;		/* a capture is open on the interface */
			struct timespec checked;
			struct vsm_tunif tun;	/* TUN sinks */
		} ifc;
	};
};

struct vsm_tap {
	struct sink *sinks;
	size_t nsinks;
	size_t nlive;			/* sinks not stopped: when 0, no frame is built */
	uint8_t *frame;			/* the frame being fanned out, reused for every packet */
	size_t cap;
	struct vsm_file_perm file_perm;	/* of the pcap files it creates */
	const char *tapped_at;		/* sealed: where this point's packets are tapped (vsm_tap_seal()) */
};

static const struct sink_ops callback_ops, pcap_ops, packet_ops, tun_ops;

int vsm_tap_new(struct vsm_tap **ret_tap)
{
	struct vsm_tap *tap;

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
	s->ops->close(s);
}

void vsm_tap_free(struct vsm_tap *tap)
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
static int frame_reserve(struct vsm_tap *tap, size_t len)
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
static int sink_add(struct vsm_tap *tap, const struct sink *s)
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

/* A sealed tap takes no sink: its packets are tapped at another point (vsm_tap_seal()). */
static int refuse_sealed(const struct vsm_tap *tap, char *errbuf, size_t errlen)
{
	if (!tap->tapped_at)
		return 0;
	snprintf(errbuf, errlen, "%s", tap->tapped_at);
	return -EBUSY;
}

int vsm_tap_add_callback(struct vsm_tap *tap, vsm_tap_fn fn, void *ctx)
{
	struct sink s = { .ops = &callback_ops, .cb = { .fn = fn, .ctx = ctx } };

	if (!tap || !fn)
		return -EINVAL;
	if (tap->tapped_at)
		return -EBUSY;
	return sink_add(tap, &s);
}

int vsm_tap_add_pcap_rotated(struct vsm_tap *tap, const struct vsm_rotate_opts *opts, char *errbuf, size_t errlen)
{
	struct vsm_rotate_opts ro;
	struct sink s = { .ops = &pcap_ops };
	int ret;

	if (errlen)
		errbuf[0] = '\0';
	if (!tap || !opts || !opts->path) {
		snprintf(errbuf, errlen, "vsm_tap_add_pcap: no tap or no file name");
		return -EINVAL;
	}
	ret = refuse_sealed(tap, errbuf, errlen);
	if (ret < 0)
		return ret;
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

int vsm_tap_add_pcap(struct vsm_tap *tap, const char *path, char *errbuf, size_t errlen)
{
	const struct vsm_rotate_opts opts = { .path = path };

	return vsm_tap_add_pcap_rotated(tap, &opts, errbuf, errlen);
}

void vsm_tap_set_file_perm(struct vsm_tap *tap, const struct vsm_file_perm *perm)
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

int vsm_tap_add_iface(struct vsm_tap *tap, const char *ifname, char *errbuf, size_t errlen)
{
	struct sink s = { .ops = &tun_ops, .ifc = { .fd = -1, .tun = { .fd = -1 } } };
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
	ret = refuse_sealed(tap, errbuf, errlen);
	if (ret < 0)
		return ret;
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
		s.ops = &packet_ops;
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

/* Interface sinks: refresh whether anyone captures there, at most every VSM_TAP_READER_CHECK_MS. */
static bool iface_observed(struct sink *s)
{
	struct timespec t;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	ms = ((int64_t)t.tv_sec - s->ifc.checked.tv_sec) * 1000 + (t.tv_nsec - s->ifc.checked.tv_nsec) / 1000000;
	if (ms >= VSM_TAP_READER_CHECK_MS || ms < 0) {
		s->ifc.readers = iface_has_readers(s->ifc.ifindex, s->ifc.own_inode);
		s->ifc.checked = t;
	}
	return s->ifc.readers;
}

/* A sink stops for good: everything it had not made durable is lost. */
static void sink_fail(struct vsm_tap *tap, struct sink *s, int err)
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
static void pcap_fail(struct vsm_tap *tap, struct sink *s, int err, struct pcap_pos before)
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

/* ---- the sinks ---- */

static void callback_put(struct vsm_tap *tap, struct sink *s, const struct frame *f)
{
	(void)tap;
	s->cb.fn(s->cb.ctx, &f->rec);
	s->st.frames++;
	s->st.bytes += f->rec.wire_len;
}

static void callback_close(struct sink *s)
{
	(void)s;
}

static const struct sink_ops callback_ops = {
	.contiguous = true,
	.put = callback_put,
	.close = callback_close,
};

/* A pcap sink takes the frame as three pieces: no copy of the payload before the writer's. */
static void pcap_put(struct vsm_tap *tap, struct sink *s, const struct frame *f)
{
	struct iovec parts[3] = {
		{ .iov_base = (void *)f->mon, .iov_len = VSM_MON_HDR_LEN },
		{ .iov_base = (void *)f->hdr, .iov_len = VSM_VIRTIO_HDR_LEN },
		{ .iov_base = (void *)f->payload, .iov_len = f->payload_len },
	};
	struct pcap_pos before = pcap_pos(s);
	int ret = vsm_rotate_write_parts(s->pcap.rot, &f->rec.ts, parts, f->payload_len ? 3 : 2, f->rec.wire_len);

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
	s->pcap.lens[s->st.frames % PCAP_RING] = f->rec.wire_len;
	s->st.frames++;
	s->st.bytes += f->rec.wire_len;
}

static int pcap_flush(struct vsm_tap *tap, struct sink *s)
{
	struct pcap_pos before = pcap_pos(s);
	int ret = vsm_rotate_flush(s->pcap.rot);

	if (ret < 0)
		pcap_fail(tap, s, ret, before);
	return ret;
}

static int pcap_reopen(struct vsm_tap *tap, struct sink *s, char *errbuf, size_t errlen)
{
	struct pcap_pos before = pcap_pos(s);
	int ret = vsm_rotate_reopen(s->pcap.rot, errbuf, errlen);

	/*
	 * Only a failed flush is the sink's end (it is sticky: flushing again says so); a new
	 * file that cannot be created leaves the old one in use, and the next reopen tries again.
	 */
	if (ret < 0 && vsm_rotate_flush(s->pcap.rot) < 0)
		pcap_fail(tap, s, ret, before);
	return ret;
}

static const char *pcap_file(const struct sink *s)
{
	return vsm_rotate_current(s->pcap.rot);
}

static void pcap_close(struct sink *s)
{
	/* Flushes what is buffered; on an error the writer keeps the file valid by itself. */
	(void)vsm_rotate_close(s->pcap.rot);
	free(s->pcap.lens);
}

static const struct sink_ops pcap_ops = {
	.put = pcap_put,
	.flush = pcap_flush,
	.reopen = pcap_reopen,
	.file = pcap_file,
	.close = pcap_close,
};

/*
 * Interface sinks hand the frame over whole. The data path: nothing here allocates, and no reader
 * can hold it up (sockets and TUN are non-blocking). An error in the kind's transient list loses
 * that frame only; any other means the interface is gone, and the sink stops.
 */
static void iface_put(struct vsm_tap *tap, struct sink *s, const struct frame *f)
{
	int ret = s->ops->send(s->ifc.fd, f->rec.data, f->rec.cap_len);

	if (ret < 0) {
		s->st.dropped++;
		for (const int *e = s->ops->transient; *e; e++)
			if (ret == -*e)
				return;
		sink_fail(tap, s, ret);
		return;
	}
	s->st.frames++;
	s->st.bytes += f->rec.wire_len;
}

static int packet_send(int fd, const uint8_t *frame, size_t len)
{
	return send(fd, frame, len, MSG_DONTWAIT) < 0 ? -errno : 0;
}

/* ENXIO, ENODEV: the device is gone. */
static const int packet_transient[] = {
	EAGAIN,		/* socket send buffer full */
	ENOBUFS,	/* the device's queue dropped it */
	ENOMEM,
	EMSGSIZE,	/* longer than the MTU */
	ENETDOWN,	/* taken down: frames are lost until it is up again */
	EINTR,
	0
};

static void packet_close(struct sink *s)
{
	close(s->ifc.fd);
}

static const struct sink_ops packet_ops = {
	.observed = iface_observed,
	.contiguous = true,
	.put = iface_put,
	.close = packet_close,
	.send = packet_send,
	.transient = packet_transient,
};

static int tun_send(int fd, const uint8_t *frame, size_t len)
{
	return vsm_tunif_write(fd, frame, len);
}

/* EBADFD: the interface was deleted. */
static const int tun_transient[] = {
	EAGAIN, ENOBUFS, ENOMEM, EMSGSIZE, EINVAL,
	EIO,		/* taken down: frames are lost until it is up again */
	0
};

static void tun_close(struct sink *s)
{
	vsm_tunif_close(&s->ifc.tun);
}

static const struct sink_ops tun_ops = {
	.observed = iface_observed,
	.contiguous = true,
	.put = iface_put,
	.close = tun_close,
	.send = tun_send,
	.transient = tun_transient,
};

/* ---- the fan-out ---- */

/* Every sink misses this packet (no packet at all). */
static void drop_all(struct vsm_tap *tap)
{
	for (size_t i = 0; i < tap->nsinks; i++)
		sink_miss(&tap->sinks[i]);
}

/*
 * One pass over the sinks. The frame is made as late as possible: its monitor header and time
 * when a sink first wants it (nothing at all while every interface sink has no reader, as the
 * kernel's vsock_deliver_tap() returns at once with no vsockmon up), its one buffer when a sink
 * first needs it whole (pcap files take the pieces, uncopied).
 */
void vsm_tap_packet(struct vsm_tap *tap, const struct timespec *ts, const uint8_t *hdr,
		    const uint8_t *payload, uint32_t payload_len)
{
	uint8_t mon[VSM_MON_HDR_LEN];
	struct frame f = { .mon = mon, .hdr = hdr, .payload = payload, .payload_len = payload_len };
	bool built = false, whole = false, no_room = false;
	size_t len;

	if (!tap || !tap->nsinks)
		return;
	if (!tap->nlive || !hdr || (payload_len && !payload) || payload_len > UINT32_MAX - VSM_FRAME_HDR_LEN) {
		drop_all(tap);	/* stopped sinks count what they miss, so their loss stays exact */
		return;
	}
	len = VSM_FRAME_HDR_LEN + (size_t)payload_len;
	/* Callbacks must not feed this tap: the frame buffer is shared by the whole fan-out. */
	for (size_t i = 0; i < tap->nsinks; i++) {
		struct sink *s = &tap->sinks[i];

		if (s->stopped) {
			sink_miss(s);
			continue;
		}
		if (s->ops->observed && !s->ops->observed(s)) {
			s->st.unobserved++;
			continue;
		}
		if (!built) {
			vsm_mon_hdr_for_virtio(hdr, mon);
			if (ts)
				f.rec.ts = *ts;
			else
				clock_gettime(CLOCK_REALTIME, &f.rec.ts);
			f.rec.cap_len = f.rec.wire_len = (uint32_t)len;
			built = true;
		}
		if (s->ops->contiguous && !whole) {
			/* Only packets larger than any before allocate; without memory, those sinks lose it. */
			if (no_room || frame_reserve(tap, len) < 0) {
				no_room = true;
				s->st.dropped++;
				continue;
			}
			memcpy(tap->frame, mon, VSM_MON_HDR_LEN);
			memcpy(tap->frame + VSM_OFF_VIRTIO, hdr, VSM_VIRTIO_HDR_LEN);
			if (payload_len)
				memcpy(tap->frame + VSM_FRAME_HDR_LEN, payload, payload_len);
			f.rec.data = tap->frame;
			whole = true;
		}
		s->ops->put(tap, s, &f);
	}
}

bool vsm_tap_active(const struct vsm_tap *tap)
{
	return tap && tap->nsinks;
}

size_t vsm_tap_sink_count(const struct vsm_tap *tap)
{
	return tap ? tap->nsinks : 0;
}

int vsm_tap_sink_stats(const struct vsm_tap *tap, size_t sink, struct vsm_tap_sink_stats *ret_stats)
{
	if (!tap || !ret_stats || sink >= tap->nsinks)
		return -EINVAL;
	*ret_stats = tap->sinks[sink].st;
	return 0;
}

int vsm_tap_flush(struct vsm_tap *tap)
{
	int first = 0;

	if (!tap)
		return -EINVAL;
	for (size_t i = 0; i < tap->nsinks; i++) {
		struct sink *s = &tap->sinks[i];
		int ret;

		if (!s->ops->flush || s->stopped)
			continue;
		ret = s->ops->flush(tap, s);
		if (ret < 0 && !first)
			first = ret;
	}
	return first;
}

int vsm_tap_reopen(struct vsm_tap *tap, char *errbuf, size_t errlen)
{
	int started = 0, first = 0;

	if (errlen)
		errbuf[0] = '\0';
	if (!tap)
		return -EINVAL;
	for (size_t i = 0; i < tap->nsinks; i++) {
		struct sink *s = &tap->sinks[i];
		char err[512];
		int ret;

		/* A failed sink stays stopped: its file holds what it could, up to the failure. */
		if (!s->ops->reopen || s->stopped)
			continue;
		ret = s->ops->reopen(tap, s, err, sizeof(err));
		if (ret == 1)
			started++;
		else if (ret < 0 && !first) {
			first = ret;
			snprintf(errbuf, errlen, "%s", err);
		}
	}
	return first ? first : started;
}

const char *vsm_tap_sink_file(const struct vsm_tap *tap, size_t sink)
{
	if (!tap || sink >= tap->nsinks || !tap->sinks[sink].ops->file)
		return NULL;
	return tap->sinks[sink].ops->file(&tap->sinks[sink]);
}

int vsm_tap_seal(struct vsm_tap *tap, const char *tapped_at)
{
	if (!tap || !tapped_at)
		return -EINVAL;
	if (tap->nsinks)
		return -EBUSY;
	tap->tapped_at = tapped_at;
	return 0;
}
