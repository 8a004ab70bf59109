/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-vhost-user.c: a hostile front-end and guest drive the vhost-user-vsock device: messages, memory tables, rings, kicks. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vtr/vhost_user.h>
#include <vtr/vudev.h>

#include "fuzz.h"

/*
 * The device (vudev.c) gets a session on a socketpair; the input plays the front-end and the
 * guest at once. Guest memory is one memfd of three pages (P bytes each) that the harness maps to
 * write rings and buffers, and that the input may describe to the device in any way it likes
 * (regions at any address, of any size and offset: those past the file fail to map, which must
 * be refused cleanly). The "good" layout, which the seeds use:
 *   region  guest-physical 0x100000, 3 pages, front-end address 0x7f0000000000, offset 0
 *   TX ring desc at 0, avail at 512, used at 1024; RX ring the same one page up; buffers in page 2
 *
 * Input: commands, byte c by (c & 0x7f) % 14, a missing byte reads as 0 (x: u8, w: u16, d: u32, q: u64):
 *   0  a request with a reply: x%4 -> GET_FEATURES, GET_PROTOCOL_FEATURES, GET_CONFIG(x, x), GET_MAX_MEM_SLOTS
 *   1  SET_FEATURES: x odd -> q, even -> the device's features        2 SET_PROTOCOL_FEATURES q
 *   3  SET_MEM_TABLE: x%3 regions; each x even -> the good region, odd -> q gpa, q size, q uva, q offset
 *   4  SET_VRING_NUM x%3 (index 2 is out of range), w
 *   5  SET_VRING_ADDR x%3: x even -> the good addresses of that ring, odd -> q desc, q avail, q used
 *   6  SET_VRING_BASE x%3, w                  7 SET_VRING_KICK/CALL/ERR (x%3) x%3, with an eventfd or NOFD (x&1)
 *   8  SET_VRING_ENABLE x%3, x&1              9 x%4 -> GET_VRING_BASE x%3, RESET_DEVICE, SET_STATUS x, ADD/REM_MEM_REG
 *  10  a raw message: d request, d flags, w%320 payload bytes of input, x%3 fds (memfds)
 *  11  the guest writes x at w % 3P            12 kick x&1 ? RX : TX, and the device handles it
 *  13  the device sends a packet of w + x*256 payload bytes (past 64 KiB is refused) with a header of input
 * Every message gets NEED_REPLY when x&0x80 of its first byte is set. The session may end (a bad
 * message): the harness attaches a new one. Checked: delivered packets are at most 64 KiB and
 * every byte of them is readable; replies are well-framed; a well-formed request is answered exactly
 * when it has an answer or asked for one with REPLY_ACK negotiated (never a front-end left waiting);
 * RESET_DEVICE keeps the session's protocol features and memory; nothing crashes or leaks.
 */

#define P		4096u
#define GPA		0x100000ull
#define UVA		0x7f0000000000ull
#define MAXFD		3

struct harness {
	struct fuzz_input in;
	struct vtr_vudev *dev;
	int sock;			/* the front-end's end */
	int memfd;
	uint8_t *mem;			/* 3 pages */
	int kick[2], call[2];		/* the harness's ends of the eventfds it gave (one per ring) */
	uint64_t delivered, sum;
	bool trace;
};

static void deliver(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct harness *h = ctx;

	check(len <= VTR_VUDEV_MAX_PKT);
	check(len == (uint32_t)(hdr[24] | hdr[25] << 8 | hdr[26] << 16 | (uint32_t)hdr[27] << 24));
	for (uint32_t i = 0; i < len; i++)
		h->sum += payload[i];
	h->delivered++;
	if (h->trace)
		fprintf(stderr, "delivered op %u len %u\n", hdr[30], len);
}

/*
 * Reads every reply that has arrived; returns how many, each checked to be well-framed (version 1,
 * the reply bit) and to answer request (when request is not 0).
 */
static unsigned drain_replies(struct harness *h, uint32_t request)
{
	static uint8_t buf[1 << 16];
	size_t have = 0, off = 0;
	unsigned n = 0;
	ssize_t got;

	while (have < sizeof(buf) && (got = recv(h->sock, buf + have, sizeof(buf) - have, MSG_DONTWAIT)) > 0)
		have += (size_t)got;
	while (have - off >= VTR_VU_HDR_SIZE) {
		uint32_t req, flags, size;

		memcpy(&req, buf + off, 4);
		memcpy(&flags, buf + off + 4, 4);
		memcpy(&size, buf + off + 8, 4);
		check(flags == (VTR_VU_VERSION | VTR_VU_REPLY));
		check(!request || req == request);
		check(size <= have - off - VTR_VU_HDR_SIZE);
		off += VTR_VU_HDR_SIZE + size;
		n++;
	}
	check(off == have);
	return n;
}

static void attach(struct harness *h)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	check(vtr_vudev_attach(h->dev, sv[0]) == 0);
	h->sock = sv[1];
	fcntl(h->sock, F_SETFL, O_NONBLOCK);
}

/* Lets the device read what was sent; a session that ended is replaced. Returns the replies that came. */
static unsigned pump_for(struct harness *h, uint32_t request)
{
	unsigned replies;

	for (int i = 0; i < 4 && vtr_vudev_attached(h->dev); i++) {
		struct pollfd pfds[VTR_VUDEV_MAX_POLLFDS];
		size_t n = vtr_vudev_pollfds(h->dev, pfds, VTR_VUDEV_MAX_POLLFDS);

		check(n <= VTR_VUDEV_MAX_POLLFDS);
		if (poll(pfds, n, 0) <= 0)
			break;
		for (size_t k = 0; k < n; k++)
			if (pfds[k].revents)
				vtr_vudev_handle(h->dev, pfds[k].fd, pfds[k].revents);
	}
	replies = drain_replies(h, request);
	if (!vtr_vudev_attached(h->dev)) {
		close(h->sock);
		attach(h);
	}
	return replies;
}

static void pump(struct harness *h)
{
	pump_for(h, 0);
}

/*
 * Sends a well-formed request and checks the session's promises: it is answered exactly when it
 * has an answer of its own or asked for one (NEED_REPLY) with REPLY_ACK negotiated, so a front-end
 * never waits for ever; and a device reset keeps the session (protocol features and memory).
 */
static void send_msg(struct harness *h, struct vtr_vu_msg *m, const int *fds, unsigned nfds, bool need_reply)
{
	struct vtr_vudev_stats before, after;
	unsigned replies, want;

	m->flags = VTR_VU_VERSION | (need_reply ? VTR_VU_NEED_REPLY : 0);
	if (h->trace)
		fprintf(stderr, "msg %u size %u fds %u\n", m->request, m->size, nfds);
	vtr_vudev_stats(h->dev, &before);
	if (vtr_vu_write(h->sock, m, fds, nfds) != 0)
		return;
	replies = pump_for(h, m->request);
	vtr_vudev_stats(h->dev, &after);
	if (after.sessions != before.sessions)
		return;		/* the message ended the session: nobody waits for an answer */
	/* REPLY_ACK as the device holds it once the message was taken (SET_PROTOCOL_FEATURES may change it). */
	want = vtr_vu_request_has_reply(m->request) ||
	       (need_reply && (after.protocol_features & (1ull << VTR_VU_PROTOCOL_F_REPLY_ACK)));
	if (replies != want)
		fprintf(stderr, "request %u (flags 0x%x, size %u): %u replies, %u expected; protocol features 0x%llx\n",
			m->request, m->flags, m->size, replies, want, (unsigned long long)after.protocol_features);
	check(replies == want);
	if (m->request == VTR_VU_RESET_DEVICE) {
		check(after.protocol_features == before.protocol_features);
		check(after.regions == before.regions && after.mem_bytes == before.mem_bytes);
		check(!after.running);
		check(after.device_resets == before.device_resets + 1);
	}
}

static int new_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

static void good_region(struct vtr_vu_region *r)
{
	*r = (struct vtr_vu_region){ .guest_phys_addr = GPA, .memory_size = 3 * P, .userspace_addr = UVA };
}

static void fuzz_region(struct harness *h, struct vtr_vu_region *r)
{
	if (!(fuzz_get8(&h->in) & 1)) {
		good_region(r);
		return;
	}
	r->guest_phys_addr = fuzz_get64(&h->in);
	r->memory_size = fuzz_get64(&h->in);
	r->userspace_addr = fuzz_get64(&h->in);
	r->mmap_offset = fuzz_get64(&h->in);
}

static void command(struct harness *h, uint8_t c)
{
	struct vtr_vu_msg m = { 0 };
	bool nr = c & 0x80;
	int fds[MAXFD];
	unsigned nfds = 0;
	uint8_t x;

	switch ((c & 0x7f) % 14) {
	case 0:
		x = fuzz_get8(&h->in) % 4;
		m.request = x == 0 ? VTR_VU_GET_FEATURES : x == 1 ? VTR_VU_GET_PROTOCOL_FEATURES :
			    x == 2 ? VTR_VU_GET_CONFIG : VTR_VU_GET_MAX_MEM_SLOTS;
		if (x == 2) {
			m.p.config.offset = fuzz_get8(&h->in);
			m.p.config.size = fuzz_get8(&h->in) % 16;
			m.size = 12 + m.p.config.size;
		}
		break;
	case 1:
		m.request = VTR_VU_SET_FEATURES;
		m.p.u64 = fuzz_get8(&h->in) & 1 ? fuzz_get64(&h->in) :
			  (1ull << 32 | 1ull << 30 | 1ull << 29 | 1ull << 28 | 1ull << 1);
		m.size = 8;
		break;
	case 2:
		m.request = VTR_VU_SET_PROTOCOL_FEATURES;
		m.p.u64 = fuzz_get64(&h->in);
		m.size = 8;
		break;
	case 3:
		m.request = VTR_VU_SET_MEM_TABLE;
		m.p.mem.nregions = fuzz_get8(&h->in) % 3;
		for (unsigned i = 0; i < m.p.mem.nregions; i++) {
			fuzz_region(h, &m.p.mem.regions[i]);
			fds[nfds++] = h->memfd;
		}
		m.size = 8 + m.p.mem.nregions * sizeof(struct vtr_vu_region);
		break;
	case 4:
		m.request = VTR_VU_SET_VRING_NUM;
		m.p.state.index = fuzz_get8(&h->in) % 3;
		m.p.state.num = fuzz_get16(&h->in);
		m.size = sizeof(m.p.state);
		break;
	case 5:
		m.request = VTR_VU_SET_VRING_ADDR;
		m.p.addr.index = fuzz_get8(&h->in) % 3;
		if (fuzz_get8(&h->in) & 1) {
			m.p.addr.desc = fuzz_get64(&h->in);
			m.p.addr.avail = fuzz_get64(&h->in);
			m.p.addr.used = fuzz_get64(&h->in);
		} else {
			uint64_t base = UVA + (uint64_t)(m.p.addr.index == VTR_VUDEV_RX) * P;

			m.p.addr.desc = base;
			m.p.addr.avail = base + 512;
			m.p.addr.used = base + 1024;
		}
		m.size = sizeof(m.p.addr);
		break;
	case 6:
		m.request = VTR_VU_SET_VRING_BASE;
		m.p.state.index = fuzz_get8(&h->in) % 3;
		m.p.state.num = fuzz_get16(&h->in);
		m.size = sizeof(m.p.state);
		break;
	case 7: {
		uint8_t which = fuzz_get8(&h->in) % 3, idx = fuzz_get8(&h->in) % 3;

		m.request = which == 0 ? VTR_VU_SET_VRING_KICK : which == 1 ? VTR_VU_SET_VRING_CALL : VTR_VU_SET_VRING_ERR;
		m.p.u64 = idx;
		m.size = 8;
		if (fuzz_get8(&h->in) & 1) {
			m.p.u64 |= VTR_VU_VRING_NOFD;
		} else {
			int fd = new_eventfd();

			if (fd < 0)
				abort();
			fds[nfds++] = fd;
			/* Keep our end of the ring's eventfd: a dup, so the message's copy goes to the device. */
			if (idx < 2 && which < 2) {
				int *slot = which == 0 ? &h->kick[idx] : &h->call[idx];

				if (*slot >= 0)
					close(*slot);
				*slot = dup(fd);
			}
		}
		send_msg(h, &m, fds, nfds, nr);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	case 8:
		m.request = VTR_VU_SET_VRING_ENABLE;
		m.p.state.index = fuzz_get8(&h->in) % 3;
		m.p.state.num = fuzz_get8(&h->in) & 1;
		m.size = sizeof(m.p.state);
		break;
	case 9:
		x = fuzz_get8(&h->in) % 5;
		if (x == 0) {
			m.request = VTR_VU_GET_VRING_BASE;
			m.p.state.index = fuzz_get8(&h->in) % 3;
			m.size = sizeof(m.p.state);
		} else if (x == 1) {
			m.request = VTR_VU_RESET_DEVICE;
		} else if (x == 2) {
			m.request = VTR_VU_SET_STATUS;
			m.p.u64 = fuzz_get8(&h->in);
			m.size = 8;
		} else {
			m.request = x == 3 ? VTR_VU_ADD_MEM_REG : VTR_VU_REM_MEM_REG;
			fuzz_region(h, &m.p.reg.region);
			m.size = sizeof(m.p.reg);
			fds[nfds++] = h->memfd;
		}
		break;
	case 10: {
		uint16_t size;

		m.request = fuzz_get32(&h->in);
		size = fuzz_get16(&h->in) % 320;
		fuzz_get_bytes(&h->in, m.p.raw, size < sizeof(m.p.raw) ? size : sizeof(m.p.raw));
		m.size = size;
		nfds = fuzz_get8(&h->in) % (MAXFD + 1);
		for (unsigned i = 0; i < nfds; i++)
			fds[i] = h->memfd;
		/* Any flags the input likes, the reply bit and a wrong version included. */
		m.flags = fuzz_get32(&h->in);
		if (vtr_vu_write(h->sock, &m, fds, nfds) == 0)
			pump(h);
		return;
	}
	case 11: {
		uint16_t at = fuzz_get16(&h->in) % (3 * P);

		h->mem[at] = fuzz_get8(&h->in);
		return;
	}
	case 12: {
		int fd = h->kick[fuzz_get8(&h->in) & 1 ? VTR_VUDEV_RX : VTR_VUDEV_TX];
		uint64_t one = 1;

		if (fd >= 0 && write(fd, &one, sizeof(one)) != sizeof(one))
			abort();
		pump(h);
		vtr_vudev_notify(h->dev);
		return;
	}
	case 13: {
		uint8_t hdr[44], payload[256];
		uint32_t len = fuzz_get16(&h->in) + (uint32_t)fuzz_get8(&h->in) * 256u;
		static uint8_t big[VTR_VUDEV_MAX_PKT + 256];
		int ret;

		fuzz_get_bytes(&h->in, hdr, sizeof(hdr));
		fuzz_get_bytes(&h->in, payload, sizeof(payload));
		for (uint32_t i = 0; i < len && i < sizeof(big); i++)
			big[i] = payload[i % sizeof(payload)];
		ret = vtr_vudev_send(h->dev, hdr, big, len);
		check(ret == 0 || ret == -EAGAIN || ret == -ENOTCONN || (ret == -EINVAL && len > VTR_VUDEV_MAX_PKT));
		vtr_vudev_notify(h->dev);
		return;
	}
	}
	send_msg(h, &m, fds, nfds, nr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct vtr_vudev_ops ops = { .deliver = deliver };
	struct vtr_vudev_config cfg = { .guest_cid = 3, .max_queue_size = 256, .name = "fuzz" };
	struct harness h = { .in = { data, size }, .kick = { -1, -1 }, .call = { -1, -1 },
			     .trace = getenv("FUZZ_TRACE") != NULL };
	struct vtr_vudev_stats st;

	h.memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (h.memfd < 0 || ftruncate(h.memfd, 3 * P))
		abort();
	h.mem = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_SHARED, h.memfd, 0);
	if (h.mem == MAP_FAILED)
		abort();
	check(vtr_vudev_new(&cfg, &ops, &h, &h.dev) == 0);
	attach(&h);
	while (h.in.left)
		command(&h, fuzz_get8(&h.in));
	vtr_vudev_stats(h.dev, &st);
	check(st.pkts_from_guest == h.delivered);
	if (h.trace)
		fprintf(stderr, "end: running %d, from guest %llu, to guest %llu, split %llu, malformed %llu, rx waits %llu, "
			"error \"%s\"\n", st.running, (unsigned long long)st.pkts_from_guest,
			(unsigned long long)st.pkts_to_guest, (unsigned long long)st.splits,
			(unsigned long long)st.malformed, (unsigned long long)st.rx_empty_events, st.last_error);
	vtr_vudev_free(h.dev);
	close(h.sock);
	for (int i = 0; i < 2; i++) {
		if (h.kick[i] >= 0)
			close(h.kick[i]);
		if (h.call[i] >= 0)
			close(h.call[i]);
	}
	munmap(h.mem, 3 * P);
	close(h.memfd);
	return 0;
}
