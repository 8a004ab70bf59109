/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcap.c: capture files: a buffered pcap/pcapng reader and a pcap writer that stays valid on any error. */
#include <byteswap.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vsockmon/decode.h>
#include <vsockmon/pcap.h>
#include <vsockmon/timestamp.h>
#include <vsockmon/wire.h>

/*
 * Formats (IETF drafts draft-ietf-opsawg-pcap and draft-ietf-opsawg-pcapng): classic pcap is a 24-byte file header then records of a
 * 16-byte header (ts_sec, ts_frac, caplen, wire len) and caplen bytes, all in the byte order
 * of the magic. pcapng is a sequence of blocks {type, total length, body, total length}, in
 * the byte order of the Section Header Block that starts each section.
 */
#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_MAGIC_NS		0xa1b23c4du
#define PCAP_FILE_HDR_LEN	24u
#define PCAP_REC_HDR_LEN	16u

#define NG_SHB			0x0a0d0d0au	/* a palindrome: readable before the byte order is known */
#define NG_IDB			0x00000001u
#define NG_OPB			0x00000002u	/* obsolete Packet Block: still written by old tools */
#define NG_SPB			0x00000003u
#define NG_EPB			0x00000006u
#define NG_BOM			0x1a2b3c4du
#define NG_BLOCK_MIN		12u		/* type, length, trailing length */
#define NG_SHB_MIN		28u
#define NG_OPT_END		0
#define NG_OPT_IF_TSRESOL	9
#define NG_OPT_IF_TSOFFSET	14

/* The reader's hard cap on a frame, whatever the snaplen says: 4 times the default snaplen. */
#define MAX_CAPLEN		(4u * VSM_DEFAULT_SNAPLEN)
/* The writer's: libpcap's MAXIMUM_SNAPLEN, the most tcpdump and tshark read back. */
#define WRITE_MAX_SNAPLEN	VSM_DEFAULT_SNAPLEN
/* pcapng blocks parsed in memory are capped as libpcap does; unknown ones are skipped whatever their size. */
#define NG_MAX_BLOCK		(16u << 20)
/* Large reads keep the syscall count far below one per frame; bigger records grow the buffer. */
#define READ_BUF_SIZE		(1u << 20)
/* Whole records only, so a failed flush can always be cut back to a record boundary. */
#define WRITE_BUF_SIZE		(256u << 10)
#define MSG_LEN			512

/* An Interface Description Block, as much of it as the records need. */
struct ng_iface {
	uint32_t snaplen;	/* 0: no limit but MAX_CAPLEN */
	bool binary;		/* if_tsresol is 2^-exp (else 10^-exp) */
	uint8_t exp;
	uint64_t div;		/* 10^exp when decimal */
	int64_t offset;		/* if_tsoffset, seconds added to every timestamp */
};

struct vsm_pcap_reader {
	/* The read path first: unread bytes are buf[pos, len). */
	uint8_t *buf;
	size_t pos, len, cap;
	uint64_t buf_off;	/* file offset of buf[0], for messages */
	int fd;
	bool eof;
	bool ng;		/* pcapng, else classic pcap */
	bool swap;		/* file (pcap) or section (pcapng) byte order is not ours */
	bool nsec;		/* classic pcap: nanosecond magic */
	uint32_t snaplen;	/* pcap header, or the first IDB of a pcapng file */
	uint64_t count;		/* frames returned */
	int err;		/* sticky: once broken, every call returns it */
	struct ng_iface *ifs;	/* interfaces of the current pcapng section */
	size_t n_ifs, ifs_cap;
	bool seen_idb;
	bool own_fd;
	int cancel_fd;		/* -1, or a descriptor whose readiness ends a wait for input */
	char *name;
	char msg[MSG_LEN];
};

struct vsm_pcap_writer {
	uint8_t *buf;
	size_t len;		/* buffered bytes: whole records only */
	uint64_t buf_nrec;	/* records in buf */
	uint64_t file_bytes;	/* bytes in the file from base: header and whole records */
	uint64_t file_nrec;	/* whole records in the file */
	uint64_t nrec;		/* records accepted by calls that returned 0 */
	off_t base;		/* where the capture starts in fd (stdout may be appended to) */
	int fd;
	bool own_fd;
	bool can_truncate;	/* a regular file; pipes and terminals cannot be cut back */
	bool nsec;
	bool flush_each;
	uint32_t snaplen;
	int err;		/* sticky: the first error */
	char *name;
	char msg[MSG_LEN];
};

__attribute__((format(printf, 4, 0)))
static void set_msg(char *buf, size_t len, const char *name, const char *fmt, va_list ap)
{
	int n;

	if (!buf || !len)
		return;
	n = snprintf(buf, len, "%s: ", name);
	if (n < 0 || (size_t)n >= len)
		return;
	vsnprintf(buf + n, len - (size_t)n, fmt, ap);
}

__attribute__((format(printf, 5, 6)))
static int errbuf_set(char *errbuf, size_t errlen, int err, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(errbuf, errlen, name, fmt, ap);
	va_end(ap);
	return err;
}

/* Records a reader error; every later call returns it too. */
__attribute__((format(printf, 3, 4)))
static int rfail(struct vsm_pcap_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(r->msg, sizeof(r->msg), r->name, fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

static const char *linktype_name(uint32_t lt)
{
	static const struct {
		uint32_t v;
		const char *s;
	} names[] = {
		{ 0, "NULL" }, { 1, "EN10MB" }, { 9, "PPP" }, { 101, "RAW" }, { 104, "C_HDLC" },
		{ 105, "IEEE802_11" }, { 108, "LOOP" }, { 113, "LINUX_SLL" }, { 127, "IEEE802_11_RADIO" },
		{ 189, "USB_LINUX" }, { 220, "USB_LINUX_MMAPPED" }, { 228, "IPV4" }, { 229, "IPV6" },
		{ 253, "NETLINK" }, { 271, "VSOCK" }, { 276, "LINUX_SLL2" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].v == lt)
			return names[i].s;
	return "unknown";
}

static inline uint16_t rd16(const struct vsm_pcap_reader *r, const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? bswap_16(v) : v;
}

static inline uint32_t rd32(const struct vsm_pcap_reader *r, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? bswap_32(v) : v;
}

static inline uint64_t rd64(const struct vsm_pcap_reader *r, const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return r->swap ? bswap_64(v) : v;
}

static inline uint64_t roff(const struct vsm_pcap_reader *r)
{
	return r->buf_off + r->pos;
}

/*
 * Makes n unread bytes available at buf + pos (the buffer may move or grow).
 * Returns 1, 0 when the file ends first (len - pos says how many there are), or -errno.
 */
static int fill(struct vsm_pcap_reader *r, size_t n)
{
	if (r->len - r->pos >= n)
		return 1;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->buf_off += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if (n > r->cap) {
		size_t cap = (n + 0xffff) & ~(size_t)0xffff;
		uint8_t *buf = realloc(r->buf, cap);

		if (!buf)
			return rfail(r, -ENOMEM, "out of memory for a %zu-byte record", n);
		r->buf = buf;
		r->cap = cap;
	}
	while (r->len < n && !r->eof) {
		ssize_t k;

		if (r->cancel_fd >= 0) {
			/* Our own buffer is empty here, so poll sees exactly what read would wait for. */
			struct pollfd fds[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->cancel_fd, .events = POLLIN } };

			if (poll(fds, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return rfail(r, -errno, "poll: %s", strerror(errno));
			}
			if (fds[1].revents)
				return rfail(r, -ECANCELED, "reading cancelled");
		}
		k = read(r->fd, r->buf + r->len, r->cap - r->len);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return rfail(r, -errno, "read error at byte offset %llu: %s",
				     (unsigned long long)(r->buf_off + r->len), strerror(errno));
		}
		if (k == 0)
			r->eof = true;
		r->len += (size_t)k;
	}
	return r->len >= n;
}

/* Consumes n bytes without keeping them (unknown pcapng blocks may be of any size). Returns 1, 0 or -errno as fill(). */
static int skip(struct vsm_pcap_reader *r, uint64_t n)
{
	while (n) {
		size_t avail = r->len - r->pos;
		size_t k;

		if (!avail) {
			int ret = fill(r, 1);

			if (ret <= 0)
				return ret;
			avail = r->len - r->pos;
		}
		k = avail < n ? avail : (size_t)n;
		r->pos += k;
		n -= k;
	}
	return 1;
}

static int check_caplen(struct vsm_pcap_reader *r, uint32_t caplen, uint32_t snaplen, uint64_t off)
{
	if (snaplen && caplen > snaplen)
		return rfail(r, -EINVAL, "record %llu at byte offset %llu: caplen %u exceeds snaplen %u",
			     (unsigned long long)r->count + 1, (unsigned long long)off, caplen, snaplen);
	if (caplen > MAX_CAPLEN)
		return rfail(r, -EINVAL, "record %llu at byte offset %llu: caplen %u exceeds the limit of %u bytes",
			     (unsigned long long)r->count + 1, (unsigned long long)off, caplen, MAX_CAPLEN);
	return 0;
}

static int pcap_open_hdr(struct vsm_pcap_reader *r)
{
	const uint8_t *h;
	uint32_t magic, linktype;
	uint16_t major, minor;
	int ret = fill(r, PCAP_FILE_HDR_LEN);

	if (ret < 0)
		return ret;
	if (ret == 0)
		return rfail(r, -EINVAL, "truncated pcap file header: %zu of %u bytes",
			     r->len - r->pos, PCAP_FILE_HDR_LEN);
	h = r->buf + r->pos;
	memcpy(&magic, h, sizeof(magic));
	r->swap = magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS;
	r->nsec = rd32(r, h) == PCAP_MAGIC_NS;
	major = rd16(r, h + 4);
	minor = rd16(r, h + 6);
	if (major != 2)
		return rfail(r, -EINVAL, "unsupported pcap version %u.%u (only 2.x exists)", major, minor);
	r->snaplen = rd32(r, h + 16);
	/* The upper 16 bits hold FCS length and class flags (libpcap's LT_LINKTYPE_EXT). */
	linktype = rd32(r, h + 20) & 0xffff;
	if (linktype != VSM_LINKTYPE_VSOCK)
		return rfail(r, -EPROTONOSUPPORT, "link type %u (%s), not %u (VSOCK): not a vsock capture",
			     linktype, linktype_name(linktype), VSM_LINKTYPE_VSOCK);
	r->pos += PCAP_FILE_HDR_LEN;
	return 0;
}

static int pcap_next_rec(struct vsm_pcap_reader *r, struct vsm_rec *ret_rec)
{
	const uint8_t *h;
	uint32_t caplen, frac;
	uint64_t sec, nsec;
	int ret;

	if (r->len - r->pos < PCAP_REC_HDR_LEN) {
		ret = fill(r, PCAP_REC_HDR_LEN);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			if (r->len == r->pos)
				return 0;
			return rfail(r, -EINVAL, "record %llu at byte offset %llu: truncated record header (%zu of %u bytes)",
				     (unsigned long long)r->count + 1, (unsigned long long)roff(r),
				     r->len - r->pos, PCAP_REC_HDR_LEN);
		}
	}
	h = r->buf + r->pos;
	caplen = rd32(r, h + 8);
	ret = check_caplen(r, caplen, r->snaplen, roff(r));
	if (ret < 0)
		return ret;
	if (r->len - r->pos < PCAP_REC_HDR_LEN + caplen) {
		ret = fill(r, PCAP_REC_HDR_LEN + caplen);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return rfail(r, -EINVAL, "record %llu at byte offset %llu: truncated record: caplen %u but only %zu bytes follow its header",
				     (unsigned long long)r->count + 1, (unsigned long long)roff(r), caplen,
				     r->len - r->pos - PCAP_REC_HDR_LEN);
		h = r->buf + r->pos;
	}
	sec = rd32(r, h);
	frac = rd32(r, h + 4);
	/* Out-of-range fractions are carried into seconds so printers always get a valid timespec. */
	nsec = r->nsec ? frac : (uint64_t)frac * 1000;
	sec += nsec / 1000000000u;
	ret_rec->ts.tv_sec = (time_t)sec;
	ret_rec->ts.tv_nsec = (long)(nsec % 1000000000u);
	/* 32-bit seconds end in 2106, inside the bounds of timestamp.h. */
	ret_rec->problems = 0;
	ret_rec->cap_len = caplen;
	/* wire_len < cap_len is passed through as tcpdump does; the decoder treats wire_len as at least cap_len. */
	ret_rec->wire_len = rd32(r, h + 12);
	ret_rec->data = h + PCAP_REC_HDR_LEN;
	r->pos += PCAP_REC_HDR_LEN + caplen;
	r->count++;
	return 1;
}

/*
 * The time of units ticks of the interface's clock, plus its if_tsoffset (draft-ietf-opsawg-pcapng
 * 4.2). Units near 2^64, a coarse resolution or a huge offset give times no clock has: they are
 * clamped into the bounds of timestamp.h, and *ret_problems gets VSM_PROB_TIMESTAMP.
 */
static struct timespec ng_ts(const struct ng_iface *ifc, uint64_t units, uint32_t *ret_problems)
{
	static const uint32_t pow10_9[10] = { 1000000000, 100000000, 10000000, 1000000, 100000,
					      10000, 1000, 100, 10, 1 };
	struct timespec ts;
	uint64_t sec, nsec;
	__int128 total;

	if (ifc->binary) {
		uint64_t frac = ifc->exp ? units & ((UINT64_C(1) << ifc->exp) - 1) : 0;

		sec = units >> ifc->exp;
		nsec = (uint64_t)(((unsigned __int128)frac * 1000000000u) >> ifc->exp);
	} else if (ifc->exp <= 9) {
		sec = units / ifc->div;
		nsec = (units % ifc->div) * pow10_9[ifc->exp];
	} else {
		sec = units / ifc->div;
		nsec = (uint64_t)((unsigned __int128)(units % ifc->div) * 1000000000u / ifc->div);
	}
	/* 128 bits hold any 64-bit count plus any 64-bit offset: the sum is exact, then bounded. */
	total = (__int128)sec + ifc->offset;

	if (total < VSM_TS_MIN_SEC || total > VSM_TS_MAX_SEC) {
		ts.tv_sec = (time_t)(total < VSM_TS_MIN_SEC ? VSM_TS_MIN_SEC : VSM_TS_MAX_SEC);
		ts.tv_nsec = total < VSM_TS_MIN_SEC ? 0 : 999999999;
		*ret_problems = VSM_PROB_TIMESTAMP;
		return ts;
	}
	ts.tv_sec = (time_t)total;
	ts.tv_nsec = (long)nsec;
	*ret_problems = 0;
	return ts;
}

static int ng_idb(struct vsm_pcap_reader *r, const uint8_t *body, uint32_t body_len, uint64_t off)
{
	struct ng_iface ifc = { .exp = 6, .div = 1000000 };
	const uint8_t *o, *end = body + body_len;
	uint16_t linktype;

	if (body_len < 8)
		return rfail(r, -EINVAL, "IDB at byte offset %llu: block too short (%u bytes)",
			     (unsigned long long)off, body_len + NG_BLOCK_MIN);
	linktype = rd16(r, body);
	if (linktype != VSM_LINKTYPE_VSOCK)
		return rfail(r, -EPROTONOSUPPORT, "interface %zu (IDB at byte offset %llu): link type %u (%s), not %u (VSOCK): not a vsock capture",
			     r->n_ifs, (unsigned long long)off, linktype, linktype_name(linktype), VSM_LINKTYPE_VSOCK);
	ifc.snaplen = rd32(r, body + 4);
	for (o = body + 8; end - o >= 4;) {
		uint16_t code = rd16(r, o), olen = rd16(r, o + 2);
		size_t padded = ((size_t)olen + 3) & ~(size_t)3;

		if (code == NG_OPT_END)
			break;
		if (padded > (size_t)(end - o - 4))
			return rfail(r, -EINVAL, "IDB at byte offset %llu: option %u of %u bytes overruns the block",
				     (unsigned long long)off, code, olen);
		if (code == NG_OPT_IF_TSRESOL) {
			uint8_t v = o[4];

			if (olen != 1)
				return rfail(r, -EINVAL, "IDB at byte offset %llu: if_tsresol option of %u bytes, not 1",
					     (unsigned long long)off, olen);
			ifc.binary = v & 0x80;
			ifc.exp = v & 0x7f;
			/* Finer than 2^-63 s or 10^-19 s cannot come from a 64-bit counter of real time. */
			if ((ifc.binary && ifc.exp > 63) || (!ifc.binary && ifc.exp > 19))
				return rfail(r, -EINVAL, "IDB at byte offset %llu: if_tsresol %s^-%u is not supported",
					     (unsigned long long)off, ifc.binary ? "2" : "10", ifc.exp);
			ifc.div = 1;
			for (unsigned i = 0; !ifc.binary && i < ifc.exp; i++)
				ifc.div *= 10;
		} else if (code == NG_OPT_IF_TSOFFSET) {
			if (olen != 8)
				return rfail(r, -EINVAL, "IDB at byte offset %llu: if_tsoffset option of %u bytes, not 8",
					     (unsigned long long)off, olen);
			ifc.offset = (int64_t)rd64(r, o + 4);
		}
		o += 4 + padded;
	}
	if (r->n_ifs == r->ifs_cap) {
		size_t cap = r->ifs_cap ? 2 * r->ifs_cap : 4;
		struct ng_iface *ifs = realloc(r->ifs, cap * sizeof(*ifs));

		if (!ifs)
			return rfail(r, -ENOMEM, "out of memory for interface %zu", r->n_ifs);
		r->ifs = ifs;
		r->ifs_cap = cap;
	}
	r->ifs[r->n_ifs++] = ifc;
	if (!r->seen_idb)
		r->snaplen = ifc.snaplen;
	r->seen_idb = true;
	return 0;
}

static int ng_shb(struct vsm_pcap_reader *r, const uint8_t *body, uint64_t off)
{
	uint16_t major = rd16(r, body + 4), minor = rd16(r, body + 6);

	if (major != 1)
		return rfail(r, -EINVAL, "SHB at byte offset %llu: unsupported pcapng version %u.%u",
			     (unsigned long long)off, major, minor);
	/* Interface numbers are per section. */
	r->n_ifs = 0;
	return 0;
}

/* EPB, OPB and SPB: fills *rec, or fails with a message naming the record. */
static int ng_packet(struct vsm_pcap_reader *r, uint32_t type, const uint8_t *body, uint32_t body_len,
		     uint64_t off, struct vsm_rec *rec)
{
	const char *what = type == NG_EPB ? "EPB" : type == NG_OPB ? "OPB" : "SPB";
	unsigned long long n = (unsigned long long)r->count + 1;
	const struct ng_iface *ifc;
	uint32_t if_id, caplen, data_off;
	uint64_t units = 0;
	int ret;

	if (type == NG_SPB) {
		if (body_len < 4)
			return rfail(r, -EINVAL, "record %llu (SPB at byte offset %llu): block too short",
				     n, (unsigned long long)off);
		if_id = 0;
		data_off = 4;
	} else {
		if (body_len < 20)
			return rfail(r, -EINVAL, "record %llu (%s at byte offset %llu): block too short",
				     n, what, (unsigned long long)off);
		if_id = type == NG_EPB ? rd32(r, body) : rd16(r, body);
		units = (uint64_t)rd32(r, body + 4) << 32 | rd32(r, body + 8);
		data_off = 20;
	}
	if (if_id >= r->n_ifs)
		return rfail(r, -EINVAL, "record %llu (%s at byte offset %llu): interface %u is not defined (%zu in this section)",
			     n, what, (unsigned long long)off, if_id, r->n_ifs);
	ifc = &r->ifs[if_id];
	if (type == NG_SPB) {
		uint32_t wire = rd32(r, body);

		/* No captured length in an SPB: it is the original length cut to the snaplen. */
		caplen = ifc->snaplen && ifc->snaplen < wire ? ifc->snaplen : wire;
		rec->wire_len = wire;
		rec->ts.tv_sec = 0;
		rec->ts.tv_nsec = 0;
		rec->problems = 0;
	} else {
		caplen = rd32(r, body + 12);
		rec->wire_len = rd32(r, body + 16);
		rec->ts = ng_ts(ifc, units, &rec->problems);
	}
	ret = check_caplen(r, caplen, ifc->snaplen, off);
	if (ret < 0)
		return ret;
	if ((((uint64_t)caplen + 3) & ~UINT64_C(3)) > body_len - data_off)
		return rfail(r, -EINVAL, "record %llu (%s at byte offset %llu): block length %u too small for caplen %u",
			     n, what, (unsigned long long)off, body_len + NG_BLOCK_MIN, caplen);
	rec->cap_len = caplen;
	rec->data = body + data_off;
	return 0;
}

/*
 * Reads pcapng blocks until a packet: 1 and *rec, 0 at the end, or -errno.
 * At open (at_open) it stops after the first IDB, or before the first packet block,
 * so that a wrong link type is reported by vsm_pcap_open.
 */
static int ng_next(struct vsm_pcap_reader *r, struct vsm_rec *rec, bool at_open)
{
	for (;;) {
		uint64_t off = roff(r);
		const uint8_t *p;
		uint32_t type, blen;
		int ret;

		ret = fill(r, 8);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			if (r->len == r->pos)
				return 0;
			return rfail(r, -EINVAL, "truncated block header at byte offset %llu (%zu of 8 bytes)",
				     (unsigned long long)off, r->len - r->pos);
		}
		p = r->buf + r->pos;
		memcpy(&type, p, sizeof(type));
		if (type == NG_SHB) {
			uint32_t bom;

			ret = fill(r, 12);
			if (ret < 0)
				return ret;
			if (ret == 0)
				return rfail(r, -EINVAL, "truncated SHB at byte offset %llu (%zu bytes)",
					     (unsigned long long)off, r->len - r->pos);
			p = r->buf + r->pos;
			memcpy(&bom, p + 8, sizeof(bom));
			if (bom == NG_BOM)
				r->swap = false;
			else if (bom == bswap_32(NG_BOM))
				r->swap = true;
			else
				return rfail(r, -EINVAL, "SHB at byte offset %llu: bad byte-order magic 0x%08x",
					     (unsigned long long)off, bom);
		} else {
			type = rd32(r, p);
		}
		blen = rd32(r, p + 4);
		if (blen < (type == NG_SHB ? NG_SHB_MIN : NG_BLOCK_MIN) || blen % 4)
			return rfail(r, -EINVAL, "block of type 0x%08x at byte offset %llu: invalid block length %u",
				     type, (unsigned long long)off, blen);
		if (at_open && (type == NG_EPB || type == NG_SPB || type == NG_OPB))
			return 0;
		if (type != NG_SHB && type != NG_IDB && type != NG_EPB && type != NG_SPB && type != NG_OPB) {
			/* Name resolution, statistics, custom blocks...: not needed, skipped unread. */
			ret = skip(r, blen - 4);
			if (ret > 0)
				ret = fill(r, 4);
			if (ret < 0)
				return ret;
			if (ret == 0)
				return rfail(r, -EINVAL, "truncated block of type 0x%08x at byte offset %llu: block length %u goes past the end of the file",
					     type, (unsigned long long)off, blen);
			if (rd32(r, r->buf + r->pos) != blen)
				return rfail(r, -EINVAL, "block of type 0x%08x at byte offset %llu: trailing block length %u differs from %u",
					     type, (unsigned long long)off, rd32(r, r->buf + r->pos), blen);
			r->pos += 4;
			continue;
		}
		if (blen > NG_MAX_BLOCK)
			return rfail(r, -EINVAL, "block of type 0x%08x at byte offset %llu: block length %u exceeds the limit of %u",
				     type, (unsigned long long)off, blen, NG_MAX_BLOCK);
		ret = fill(r, blen);
		if (ret < 0)
			return ret;
		if (ret == 0) {
			if (type == NG_EPB || type == NG_SPB || type == NG_OPB)
				return rfail(r, -EINVAL, "record %llu at byte offset %llu: truncated block: length %u but only %zu bytes left",
					     (unsigned long long)r->count + 1, (unsigned long long)off, blen, r->len - r->pos);
			return rfail(r, -EINVAL, "truncated block of type 0x%08x at byte offset %llu: length %u but only %zu bytes left",
				     type, (unsigned long long)off, blen, r->len - r->pos);
		}
		p = r->buf + r->pos;
		if (rd32(r, p + blen - 4) != blen)
			return rfail(r, -EINVAL, "block of type 0x%08x at byte offset %llu: trailing block length %u differs from %u",
				     type, (unsigned long long)off, rd32(r, p + blen - 4), blen);
		switch (type) {
		case NG_SHB:
			ret = ng_shb(r, p + 8, off);
			break;
		case NG_IDB:
			ret = ng_idb(r, p + 8, blen - NG_BLOCK_MIN, off);
			break;
		default:
			ret = ng_packet(r, type, p + 8, blen - NG_BLOCK_MIN, off, rec);
			if (ret == 0)
				ret = 1;
			break;
		}
		if (ret < 0)
			return ret;
		r->pos += blen;
		if (ret == 1) {
			r->count++;
			return 1;
		}
		if (at_open && type == NG_IDB)
			return 0;
	}
}

int vsm_pcap_open(const char *path, struct vsm_pcap_reader **ret_reader, char *errbuf, size_t errlen)
{
	return vsm_pcap_open_cancellable(path, -1, ret_reader, errbuf, errlen);
}

int vsm_pcap_open_cancellable(const char *path, int cancel_fd, struct vsm_pcap_reader **ret_reader, char *errbuf,
			      size_t errlen)
{
	struct vsm_pcap_reader *r;
	const uint8_t *p;
	uint32_t magic;
	int ret;

	if (!path || !ret_reader)
		return errbuf_set(errbuf, errlen, -EINVAL, "vsm_pcap_open", "no file name");
	r = calloc(1, sizeof(*r));
	if (!r)
		return errbuf_set(errbuf, errlen, -ENOMEM, path, "out of memory");
	r->fd = -1;
	r->cancel_fd = cancel_fd;
	r->cap = READ_BUF_SIZE;
	r->buf = malloc(r->cap);
	r->name = strdup(strcmp(path, "-") == 0 ? "stdin" : path);
	if (!r->buf || !r->name) {
		ret = errbuf_set(errbuf, errlen, -ENOMEM, path, "out of memory");
		goto fail;
	}
	if (strcmp(path, "-") == 0) {
		r->fd = STDIN_FILENO;
	} else {
		/*
		 * Opening a FIFO waits for its writer (fifo(7)); O_NONBLOCK returns at once, and the first
		 * read's poll waits instead, watching cancel_fd. Reads block again from then on.
		 */
		r->fd = open(path, O_RDONLY | O_CLOEXEC | (cancel_fd >= 0 ? O_NONBLOCK : 0));
		if (r->fd < 0) {
			ret = errbuf_set(errbuf, errlen, -errno, path, "%s", strerror(errno));
			goto fail;
		}
		if (cancel_fd >= 0) {
			int fl = fcntl(r->fd, F_GETFL);

			if (fl < 0 || fcntl(r->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
				ret = errbuf_set(errbuf, errlen, -errno, path, "%s", strerror(errno));
				goto fail;
			}
		}
		r->own_fd = true;
		(void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	ret = fill(r, 4);
	if (ret == 0 && r->len == 0)
		ret = rfail(r, -ENODATA, "empty file, not a capture");
	else if (ret == 0)
		ret = rfail(r, -EINVAL, "only %zu bytes: too short to be a capture file", r->len);
	if (ret < 0)
		goto fail_msg;
	p = r->buf;
	memcpy(&magic, p, sizeof(magic));
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS ||
	    magic == bswap_32(PCAP_MAGIC_US) || magic == bswap_32(PCAP_MAGIC_NS)) {
		ret = pcap_open_hdr(r);
	} else if (magic == NG_SHB) {
		r->ng = true;
		ret = ng_next(r, NULL, true);
	} else {
		ret = rfail(r, -EINVAL, "not a capture file: starts with %02x %02x %02x %02x, not a pcap or pcapng magic",
			    p[0], p[1], p[2], p[3]);
	}
	if (ret < 0)
		goto fail_msg;
	*ret_reader = r;
	return 0;

fail_msg:
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s", r->msg);
fail:
	vsm_pcap_close(r);
	return ret;
}

int vsm_pcap_next(struct vsm_pcap_reader *reader, struct vsm_rec *ret_rec)
{
	struct vsm_rec rec;
	int ret;

	if (!reader || !ret_rec)
		return -EINVAL;
	if (reader->err)
		return reader->err;
	ret = reader->ng ? ng_next(reader, &rec, false) : pcap_next_rec(reader, &rec);
	if (ret > 0)
		*ret_rec = rec;
	return ret;
}

const char *vsm_pcap_error(const struct vsm_pcap_reader *reader)
{
	if (!reader)
		return "no capture file";
	return reader->err ? reader->msg : "no error";
}

uint32_t vsm_pcap_snaplen(const struct vsm_pcap_reader *reader)
{
	return reader ? reader->snaplen : 0;
}

uint64_t vsm_pcap_count(const struct vsm_pcap_reader *reader)
{
	return reader ? reader->count : 0;
}

void vsm_pcap_close(struct vsm_pcap_reader *reader)
{
	if (!reader)
		return;
	if (reader->own_fd)
		close(reader->fd);
	free(reader->ifs);
	free(reader->buf);
	free(reader->name);
	free(reader);
}

/* ---- writer ---- */

__attribute__((format(printf, 2, 3)))
static void wmsg(struct vsm_pcap_writer *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(w->msg, sizeof(w->msg), w->name, fmt, ap);
	va_end(ap);
}

/* Writes all of iov; *ret_done tells how many bytes made it, even on failure. */
static int write_all(int fd, struct iovec *iov, int iovcnt, uint64_t *ret_done)
{
	uint64_t done = 0;

	while (iovcnt > 0) {
		ssize_t k = writev(fd, iov, iovcnt);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			*ret_done = done;
			/* 0 from writev with bytes to write has no errno: call it an I/O error. */
			return k < 0 ? -errno : -EIO;
		}
		done += (uint64_t)k;
		while (iovcnt > 0 && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	*ret_done = done;
	return 0;
}

/*
 * A write failed after good_bytes bytes of good_nrec whole records made it past the
 * committed end: cut the file back to that record boundary, keep the error and say so.
 */
static int wfail(struct vsm_pcap_writer *w, int err, uint64_t done, uint64_t good_bytes, uint64_t good_nrec)
{
	uint64_t keep = w->file_bytes + good_bytes, keep_nrec = w->file_nrec + good_nrec;

	w->err = err;
	w->len = 0;
	w->buf_nrec = 0;
	if (w->can_truncate) {
		if (ftruncate(w->fd, w->base + (off_t)keep) == 0) {
			w->file_bytes = keep;
			w->file_nrec = keep_nrec;
			(void)lseek(w->fd, w->base + (off_t)keep, SEEK_SET);
			wmsg(w, "%s after %llu records; file kept valid up to record %llu", strerror(-err),
			     (unsigned long long)w->nrec, (unsigned long long)keep_nrec);
		} else {
			wmsg(w, "%s after %llu records; cutting the file back to record %llu failed too: %s",
			     strerror(-err), (unsigned long long)w->nrec, (unsigned long long)keep_nrec, strerror(errno));
			w->file_bytes += done;
		}
	} else {
		w->file_bytes += done;
		w->file_nrec = keep_nrec;
		if (done == good_bytes)
			wmsg(w, "%s after %llu records; the output holds %llu whole records",
			     strerror(-err), (unsigned long long)w->nrec, (unsigned long long)keep_nrec);
		else
			wmsg(w, "%s after %llu records; the output (not a file, cannot be cut back) ends inside record %llu",
			     strerror(-err), (unsigned long long)w->nrec, (unsigned long long)keep_nrec + 1);
	}
	return err;
}

/* The file header, in host byte order as libpcap writes it (readers look at the magic). */
static void pcap_file_hdr(uint8_t *h, bool nsec, uint32_t snaplen)
{
	uint32_t magic = nsec ? PCAP_MAGIC_NS : PCAP_MAGIC_US, zero = 0, linktype = VSM_LINKTYPE_VSOCK;
	uint16_t major = 2, minor = 4;

	memcpy(h, &magic, 4);
	memcpy(h + 4, &major, 2);
	memcpy(h + 6, &minor, 2);
	memcpy(h + 8, &zero, 4);	/* thiszone */
	memcpy(h + 12, &zero, 4);	/* sigfigs */
	memcpy(h + 16, &snaplen, 4);
	memcpy(h + 20, &linktype, 4);
}

static int flush_buf(struct vsm_pcap_writer *w)
{
	struct iovec iov = { .iov_base = w->buf, .iov_len = w->len };
	uint64_t done, good = 0, nrec = 0;
	int ret;

	if (!w->len)
		return 0;
	ret = write_all(w->fd, &iov, 1, &done);
	if (ret == 0) {
		w->file_bytes += w->len;
		w->file_nrec += w->buf_nrec;
		w->len = 0;
		w->buf_nrec = 0;
		return 0;
	}
	/* Which records made it whole: walk the headers we wrote (host order). */
	while (good + PCAP_REC_HDR_LEN <= done) {
		uint32_t caplen;

		memcpy(&caplen, w->buf + good + 8, sizeof(caplen));
		if (good + PCAP_REC_HDR_LEN + caplen > done)
			break;
		good += PCAP_REC_HDR_LEN + caplen;
		nrec++;
	}
	return wfail(w, ret, done, good, nrec);
}

int vsm_pcap_create(const char *path, const struct vsm_pcap_writer_opts *opts,
		    struct vsm_pcap_writer **ret_writer, char *errbuf, size_t errlen)
{
	struct vsm_pcap_writer *w;
	uint8_t hdr[PCAP_FILE_HDR_LEN];
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(hdr) };
	struct stat st;
	uint64_t done;
	int ret;

	if (!path || !*path || !ret_writer)
		return errbuf_set(errbuf, errlen, -EINVAL, "vsm_pcap_create", "no output file name");
	w = calloc(1, sizeof(*w));
	if (!w)
		return errbuf_set(errbuf, errlen, -ENOMEM, path, "out of memory");
	w->fd = -1;
	w->buf = malloc(WRITE_BUF_SIZE);
	w->name = strdup(strcmp(path, "-") == 0 ? "stdout" : path);
	if (!w->buf || !w->name) {
		ret = errbuf_set(errbuf, errlen, -ENOMEM, path, "out of memory");
		goto fail;
	}
	w->snaplen = opts && opts->snaplen ? opts->snaplen : VSM_DEFAULT_SNAPLEN;
	/* libpcap (tcpdump, tshark) refuses frames over 256 KiB: never write what they cannot read. */
	if (w->snaplen > WRITE_MAX_SNAPLEN)
		w->snaplen = WRITE_MAX_SNAPLEN;
	w->nsec = opts && opts->nsec;
	w->flush_each = opts && opts->flush_each;
	if (strcmp(path, "-") == 0) {
		w->fd = STDOUT_FILENO;
	} else {
		const struct vsm_file_perm *perm = opts ? &opts->perm : NULL;

		/* An explicit mode: created for the owner alone, then given its group, then its mode, so
		 * that nobody else opens it in between and the umask plays no part. */
		w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (opts && opts->no_follow ? O_NOFOLLOW : 0),
			     perm && perm->mode ? perm->mode & S_IRWXU : 0666);
		if (w->fd < 0 && errno == ELOOP && opts && opts->no_follow) {
			ret = errbuf_set(errbuf, errlen, -ELOOP, path, "is a symbolic link: not followed, so that its "
					 "target is not overwritten; give the real path, or remove the link");
			goto fail;
		}
		if (w->fd < 0) {
			ret = errbuf_set(errbuf, errlen, -errno, path, "%s", strerror(errno));
			goto fail;
		}
		w->own_fd = true;
		if (perm && perm->set_group && fchown(w->fd, (uid_t)-1, perm->gid) < 0) {
			ret = errbuf_set(errbuf, errlen, -errno, path, "cannot give it the group %u: %s (the user "
					 "must be a member of the group)", (unsigned)perm->gid, strerror(errno));
			goto fail;
		}
		if (perm && perm->mode && fchmod(w->fd, perm->mode & 0777) < 0) {
			ret = errbuf_set(errbuf, errlen, -errno, path, "cannot set its mode %04o: %s",
					 (unsigned)perm->mode, strerror(errno));
			goto fail;
		}
	}
	w->can_truncate = fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode);
	pcap_file_hdr(hdr, w->nsec, w->snaplen);
	ret = write_all(w->fd, &iov, 1, &done);
	if (ret < 0) {
		errbuf_set(errbuf, errlen, ret, w->name, "writing the file header: %s", strerror(-ret));
		if (w->can_truncate && done)
			(void)ftruncate(w->fd, lseek(w->fd, 0, SEEK_CUR) - (off_t)done);
		goto fail;
	}
	if (w->can_truncate) {
		/* Measured after the write so that O_APPEND (>> file) gets the real start. */
		off_t end = lseek(w->fd, 0, SEEK_CUR);

		if (end < (off_t)PCAP_FILE_HDR_LEN)
			w->can_truncate = false;
		else
			w->base = end - PCAP_FILE_HDR_LEN;
	}
	w->file_bytes = PCAP_FILE_HDR_LEN;
	*ret_writer = w;
	return 0;

fail:
	if (w->own_fd)
		close(w->fd);
	free(w->buf);
	free(w->name);
	free(w);
	return ret;
}

/*
 * Records at least this long skip the buffer: flushed buffer first, then one writev of the record
 * header and the caller's pieces, so a large payload is never copied in userspace.
 */
#define DIRECT_WRITE_MIN	(16u << 10)

int vsm_pcap_write_parts(struct vsm_pcap_writer *w, const struct timespec *ts, const struct iovec *parts,
			 int nparts, uint32_t wire_len)
{
	struct iovec iov[1 + VSM_PCAP_MAX_PARTS];
	uint32_t hdr[4], caplen = 0;
	long nsec;
	uint64_t sec;
	size_t need;
	int ret, n = 1;

	if (!w || !ts || nparts < 0 || nparts > VSM_PCAP_MAX_PARTS || (nparts && !parts))
		return -EINVAL;
	if (w->err)
		return w->err;
	/* The pieces, cut at the snaplen. */
	for (int i = 0; i < nparts && caplen < w->snaplen; i++) {
		size_t len = parts[i].iov_len;

		if (!len)
			continue;
		if (!parts[i].iov_base)
			return -EINVAL;
		if (len > w->snaplen - caplen)
			len = w->snaplen - caplen;
		iov[n].iov_base = parts[i].iov_base;
		iov[n].iov_len = len;
		caplen += (uint32_t)len;
		n++;
	}
	sec = (uint64_t)ts->tv_sec;
	nsec = ts->tv_nsec;
	if (nsec < 0 || nsec >= 1000000000) {
		sec += (uint64_t)(nsec / 1000000000);
		nsec %= 1000000000;
		if (nsec < 0) {
			nsec += 1000000000;
			sec--;
		}
	}
	/* pcap seconds are 32 bits; unsigned, they last until 2106. */
	hdr[0] = (uint32_t)sec;
	hdr[1] = (uint32_t)(w->nsec ? nsec : nsec / 1000);
	hdr[2] = caplen;
	hdr[3] = wire_len < caplen ? caplen : wire_len;
	need = PCAP_REC_HDR_LEN + caplen;
	if (need > WRITE_BUF_SIZE - w->len || (need >= DIRECT_WRITE_MIN && w->len)) {
		ret = flush_buf(w);
		if (ret < 0)
			return ret;
	}
	if (need >= DIRECT_WRITE_MIN) {
		/* Straight to the file, still as one whole record (a failure cuts it back). */
		uint64_t done;

		iov[0].iov_base = hdr;
		iov[0].iov_len = sizeof(hdr);
		ret = write_all(w->fd, iov, n, &done);
		if (ret < 0)
			return wfail(w, ret, done, 0, 0);
		w->file_bytes += need;
		w->file_nrec++;
		w->nrec++;
		return 0;
	}
	memcpy(w->buf + w->len, hdr, sizeof(hdr));
	w->len += sizeof(hdr);
	for (int i = 1; i < n; i++) {
		memcpy(w->buf + w->len, iov[i].iov_base, iov[i].iov_len);
		w->len += iov[i].iov_len;
	}
	w->buf_nrec++;
	if (w->flush_each) {
		ret = flush_buf(w);
		if (ret < 0)
			return ret;
	}
	w->nrec++;
	return 0;
}

int vsm_pcap_write(struct vsm_pcap_writer *w, const struct vsm_rec *rec)
{
	struct iovec part;

	if (!w || !rec || (!rec->data && rec->cap_len))
		return -EINVAL;
	part.iov_base = (void *)rec->data;
	part.iov_len = rec->cap_len;
	return vsm_pcap_write_parts(w, &rec->ts, &part, rec->cap_len ? 1 : 0, rec->wire_len);
}

int vsm_pcap_flush(struct vsm_pcap_writer *writer)
{
	if (!writer)
		return -EINVAL;
	if (writer->err)
		return writer->err;
	return flush_buf(writer);
}

uint64_t vsm_pcap_size(const struct vsm_pcap_writer *writer)
{
	return writer ? writer->file_bytes + writer->len : 0;
}

const char *vsm_pcap_writer_error(const struct vsm_pcap_writer *writer)
{
	if (!writer)
		return "no capture file";
	return writer->err ? writer->msg : "no error";
}

int vsm_pcap_close_writer(struct vsm_pcap_writer *writer)
{
	int ret;

	if (!writer)
		return 0;
	ret = writer->err ? writer->err : flush_buf(writer);
	if (writer->own_fd && close(writer->fd) < 0 && ret == 0) {
		ret = -errno;
		wmsg(writer, "closing: %s", strerror(errno));
	}
	free(writer->buf);
	free(writer->name);
	free(writer);
	return ret;
}
