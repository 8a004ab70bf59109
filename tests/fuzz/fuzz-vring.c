/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-vring.c: a hostile guest writes the rings, descriptor tables and indirect tables; the device side must stay inside guest memory. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vtr/vring.h>

#include "fuzz.h"

/*
 * Guest memory is three regions of one page each, every one between PROT_NONE guard pages, so a
 * read or write outside them faults whatever the sanitizers:
 *   A  guest-physical 1 page up (P), frontend address 0x10000000: descriptor table at offset 0,
 *      available ring at P/2, the rest free
 *   B  guest-physical 2P, right after A (a range across A and B must be refused: they are
 *      not adjacent on the host), frontend 0x20000000: used ring at 0, a table area at P/2
 *   C  the last page of the 64-bit guest-physical space (ranges there wrap), frontend 0x30000000
 *
 * Input, little-endian, a missing byte reads as 0:
 *   u8  num = 1 << (u8 % 7)  (1..64)
 *   u8  bit 0 VIRTIO_F_EVENT_IDX, bit 1 VIRTIO_F_INDIRECT_DESC, bit 2 ring addresses given as
 *       frontend addresses
 *   u16 last_avail_idx (SET_VRING_BASE)     u16 used->idx as the device finds it
 *   16 * num bytes    the descriptor table
 *   6 + 2 * num bytes the available ring (flags, idx, ring, used_event)
 *   256 bytes         B's table area (indirect tables, buffers)
 *   then commands, byte c by c % 10:
 *     0-2 pop             3 pop into a list of u8 % 4 segments (-ENOBUFS)
 *     4   push: u8 picks the id (odd: the last head popped, even: u8 % 70), u32 len
 *     5   should_notify   6 enable_notify(u8 & 1)
 *     7   the guest writes u8 at u16 % (3 * P) of its memory (rings and tables change under the device)
 *     8   translate a guest-physical u64 + u32 length   9 the same, frontend address
 *
 * Checked: every segment and every translation lies inside one region (and its bytes are touched,
 * so a wrong pointer faults on a guard page); segment lengths add up to the totals, the readable
 * ones first; an error other than -EAGAIN/-ENOBUFS breaks the ring for good with a message;
 * -ENOBUFS consumes nothing; the counters follow the calls. tests/fuzz/corpus-vring holds seeds
 * (built for 4 KiB pages). FUZZ_TRACE=1 in the environment prints each call's result.
 */

#define MAX_NUM		64
#define NSEG		VTR_VRING_MAX_SEGS(MAX_NUM)
#define NREG		3

static const uint64_t uva_base[NREG] = { 0x10000000, 0x20000000, 0x30000000 };

struct memory {
	size_t page;
	uint8_t *host[NREG];
	uint64_t gpa[NREG];
};

struct harness {
	struct fuzz_input in;	/* the fuzz input left */
	const struct memory *m;
	struct vtr_mem vm;
	struct vtr_vring vq;
	struct vtr_seg seg[NSEG];
	uint16_t last_head;
	uint64_t pops, pushes;
	volatile uint8_t sink;
	bool trace;
};







/* Copies up to len input bytes to dst (the rest stays zero). */

/* Three pages between guards, mapped once for all inputs. */
static const struct memory *memory(void)
{
	static struct memory m;
	uint8_t *base;

	if (m.page)
		return &m;
	m.page = (size_t)sysconf(_SC_PAGESIZE);
	base = mmap(NULL, m.page * (2 * NREG + 1), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(base != MAP_FAILED);
	for (int i = 0; i < NREG; i++) {
		m.host[i] = base + m.page * (2 * i + 1);
		check(mprotect(m.host[i], m.page, PROT_READ | PROT_WRITE) == 0);
	}
	m.gpa[0] = m.page;
	m.gpa[1] = 2 * m.page;
	m.gpa[2] = (uint64_t)0 - m.page;
	return &m;
}

/* [p, p + len) lies inside one region; its first and last bytes are touched. */
static void check_range(struct harness *h, const void *p, uint64_t len, bool write)
{
	const uint8_t *b = p;
	bool inside = false;

	for (int i = 0; i < NREG; i++)
		if (b >= h->m->host[i] && b < h->m->host[i] + h->m->page &&
		    len <= (uint64_t)(h->m->host[i] + h->m->page - b))
			inside = true;
	check(inside);
	if (!len)
		return;
	if (write) {
		((uint8_t *)p)[0] ^= 0;
		((uint8_t *)p)[len - 1] ^= 0;
	} else {
		h->sink ^= b[0] ^ b[len - 1];
	}
}

static void do_pop(struct harness *h, unsigned cap)
{
	struct vtr_chain c = { .seg = h->seg, .cap = cap };
	uint16_t base = vtr_vring_get_base(&h->vq);
	bool was_broken = h->vq.error != 0;
	uint64_t out = 0, in = 0;
	uint8_t buf[64];
	int ret = vtr_vring_pop(&h->vq, &h->vm, &c);

	if (h->trace)
		fprintf(stderr, "pop (cap %u): %d %s: head %u, %u+%u segments, %llu+%llu bytes\n", cap, ret,
			vtr_vring_strerror(&h->vq), c.head, c.n_out, c.n_in, (unsigned long long)c.out_len,
			(unsigned long long)c.in_len);

	if (ret == -EAGAIN || ret == -ENOBUFS) {
		check(!was_broken);
		check(vtr_vring_get_base(&h->vq) == base);	/* nothing consumed */
		check(vtr_vring_ready(&h->vq));
		return;
	}
	if (ret) {
		check(!vtr_vring_ready(&h->vq));
		check(vtr_vring_strerror(&h->vq)[0] != '\0');
		check(ret == h->vq.error);
		check(vtr_vring_get_base(&h->vq) == base);
		return;
	}
	check(!was_broken);
	h->pops++;
	check(vtr_vring_get_base(&h->vq) == (uint16_t)(base + 1));
	check(c.head < h->vq.num);
	check(c.n_out + c.n_in <= cap);
	for (unsigned i = 0; i < c.n_out + c.n_in; i++) {
		check(c.seg[i].len > 0);
		check_range(h, c.seg[i].base, c.seg[i].len, i >= c.n_out);
		if (i < c.n_out)
			out += c.seg[i].len;
		else
			in += c.seg[i].len;
	}
	check(out == c.out_len && in == c.in_len);
	check(out + in <= (uint64_t)1 << 32);
	/* The copy helpers at an offset the input picks. */
	check(vtr_chain_read(&c, fuzz_get8(&h->in), buf, sizeof(buf)) <= sizeof(buf));
	check(vtr_chain_write(&c, fuzz_get8(&h->in), buf, sizeof(buf)) <= sizeof(buf));
	check(vtr_chain_read(&c, c.out_len, buf, 1) == 0);
	h->last_head = c.head;
}

static void do_push(struct harness *h)
{
	uint8_t sel = fuzz_get8(&h->in);
	uint16_t id = sel & 1 ? h->last_head : (uint16_t)(sel % 70);
	uint32_t len = fuzz_get32(&h->in);
	struct vtr_vring_stats st;
	int ret;

	vtr_vring_stats(&h->vq, &st);
	ret = vtr_vring_push(&h->vq, id, len);
	if (!h->vq.ready)
		check(ret == -ENODEV);
	else if (id >= h->vq.num || st.in_flight == 0)
		check(ret == -EINVAL);
	else
		check(ret == 0);
	if (!ret)
		h->pushes++;
	if (h->trace)
		fprintf(stderr, "push %u %u: %d\n", id, len, ret);
}

static void do_translate(struct harness *h, bool uva)
{
	uint64_t addr = fuzz_get64(&h->in), len = fuzz_get32(&h->in);
	void *p;
	int ret = uva ? vtr_mem_uva(&h->vm, addr, len, &p) : vtr_mem_gpa(&h->vm, addr, len, &p);

	check(ret == 0 || ret == -EFAULT);
	if (h->trace)
		fprintf(stderr, "translate %s 0x%llx+%llu: %d\n", uva ? "uva" : "gpa", (unsigned long long)addr,
			(unsigned long long)len, ret);
	if (!ret)
		check_range(h, p, len, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct harness h;
	const struct memory *m = memory();
	unsigned num;
	uint8_t feat;
	uint16_t base, used;
	uint64_t ring[3];
	struct vtr_vring_stats st;

	memset(&h, 0, sizeof(h));
	h.in = (struct fuzz_input){ data, size };
	h.m = m;
	h.trace = getenv("FUZZ_TRACE") != NULL;
	for (int i = 0; i < NREG; i++) {
		struct vtr_mem_region r = { m->gpa[i], m->page, uva_base[i], 0, m->host[i] };

		memset(m->host[i], 0, m->page);
		check(vtr_mem_add(&h.vm, &r) == 0);
	}

	num = 1u << (fuzz_get8(&h.in) % 7);
	feat = fuzz_get8(&h.in);
	base = fuzz_get16(&h.in);
	used = fuzz_get16(&h.in);
	fuzz_get_bytes(&h.in, m->host[0], vtr_vring_desc_bytes(num));
	fuzz_get_bytes(&h.in, m->host[0] + m->page / 2, vtr_vring_avail_bytes(num));
	fuzz_get_bytes(&h.in, m->host[1] + m->page / 2, 256);
	memcpy(m->host[1] + 2, &used, 2);	/* little-endian hosts only, as the project */

	vtr_vring_init(&h.vq);
	check(vtr_vring_set_num(&h.vq, num) == 0);
	vtr_vring_set_features(&h.vq, (feat & 1 ? 1ull << VTR_VIRTIO_F_EVENT_IDX : 0) |
				      (feat & 2 ? 1ull << VTR_VIRTIO_F_INDIRECT_DESC : 0));
	if (feat & 4) {
		ring[0] = uva_base[0];
		ring[1] = uva_base[0] + m->page / 2;
		ring[2] = uva_base[1];
	} else {
		ring[0] = m->gpa[0];
		ring[1] = m->gpa[0] + m->page / 2;
		ring[2] = m->gpa[1];
	}
	check(vtr_vring_set_addr(&h.vq, &h.vm, feat & 4 ? VTR_VRING_ADDR_UVA : VTR_VRING_ADDR_GPA,
				 ring[0], ring[1], ring[2]) == 0);
	vtr_vring_set_base(&h.vq, base);

	while (h.in.left) {
		uint8_t c = fuzz_get8(&h.in);

		switch (c % 10) {
		case 0: case 1: case 2:
			do_pop(&h, NSEG);
			break;
		case 3:
			do_pop(&h, fuzz_get8(&h.in) % 4);
			break;
		case 4:
			do_push(&h);
			break;
		case 5: {
			bool n = vtr_vring_should_notify(&h.vq);

			if (h.trace)
				fprintf(stderr, "should_notify: %d\n", n);
			break;
		}
		case 6:
			vtr_vring_enable_notify(&h.vq, fuzz_get8(&h.in) & 1);
			break;
		case 7: {
			uint16_t at = (uint16_t)(fuzz_get16(&h.in) % (3 * m->page));
			uint8_t v = fuzz_get8(&h.in);

			m->host[at / m->page][at % m->page] = v;
			break;
		}
		case 8:
		case 9:
			do_translate(&h, c % 10 == 9);
			break;
		}
	}
	vtr_vring_stats(&h.vq, &st);
	check(st.pops == h.pops && st.pushes == h.pushes);
	check(st.in_flight == (uint16_t)(base + h.pops - used - h.pushes));
	return 0;
}
