/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vring.c: the guest memory map and the split virtqueue device side, against rings a fake guest builds in malloc'd memory. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <vtr/vring.h>

/*
 * The "guest": MEM_SIZE bytes of malloc'd memory at guest-physical GPA_BASE, seen by the frontend
 * at UVA_BASE. The rings sit at fixed offsets; buffers and indirect tables from DATA on.
 */
#define GPA_BASE	0x40000000ull
#define UVA_BASE	0x7f1200000000ull
#define MEM_SIZE	(2u << 20)
#define DESC_OFF	0x00000u	/* room for 32768 descriptors */
#define AVAIL_OFF	0x80000u
#define USED_OFF	0x90000u
#define DATA		0x100000u
#define F_EVENT_IDX	(1ull << VTR_VIRTIO_F_EVENT_IDX)
#define F_INDIRECT	(1ull << VTR_VIRTIO_F_INDIRECT_DESC)
#define NSEG		(VTR_VRING_MAX_SEGS(256))

struct guest {
	uint8_t *mem;
	struct vtr_mem vm;
	struct vtr_vring vq;
	unsigned num;
	uint16_t avail_idx;		/* the driver's next avail->idx */
	struct vtr_seg seg[NSEG];
	struct vtr_chain chain;
};

static uint64_t gpa(uint32_t off)
{
	return GPA_BASE + off;
}

static void put16(uint32_t off, uint16_t v, struct guest *g)
{
	v = htole16(v);
	memcpy(g->mem + off, &v, 2);
}

static uint16_t get16(const struct guest *g, uint32_t off)
{
	uint16_t v;

	memcpy(&v, g->mem + off, 2);
	return le16toh(v);
}

static uint32_t get32(const struct guest *g, uint32_t off)
{
	uint32_t v;

	memcpy(&v, g->mem + off, 4);
	return le32toh(v);
}

/* Descriptor i of the table at table_off. */
static void desc_at(struct guest *g, uint32_t table_off, unsigned i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *d = g->mem + table_off + 16 * i;
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
}

static void desc(struct guest *g, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(g, DESC_OFF, i, addr, len, flags, next);
}

/* The driver exposes the chain at head (virtio 1.2 §2.7.13). */
static void offer(struct guest *g, uint16_t head)
{
	put16(AVAIL_OFF + 4 + 2 * (g->avail_idx % g->num), head, g);
	g->avail_idx++;
	put16(AVAIL_OFF + 2, g->avail_idx, g);
}

static void used_elem(const struct guest *g, uint16_t used_idx, uint32_t *ret_id, uint32_t *ret_len)
{
	uint32_t off = USED_OFF + 4 + 8 * (used_idx % g->num);

	*ret_id = get32(g, off);
	*ret_len = get32(g, off + 4);
}

/* A queue of num entries over fresh memory, features set, driver and device indexes at start. */
static struct guest *guest_new(unsigned num, uint64_t features, uint16_t start)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct vtr_mem_region r = { GPA_BASE, MEM_SIZE, UVA_BASE, 0, NULL };

	assert_non_null(g);
	g->mem = calloc(1, MEM_SIZE);
	assert_non_null(g->mem);
	r.host = g->mem;
	vtr_mem_init(&g->vm);
	assert_int_equal(vtr_mem_add(&g->vm, &r), 0);
	g->num = num;
	g->avail_idx = start;
	put16(AVAIL_OFF + 2, start, g);
	put16(USED_OFF + 2, start, g);
	vtr_vring_init(&g->vq);
	assert_int_equal(vtr_vring_set_num(&g->vq, num), 0);
	vtr_vring_set_features(&g->vq, features);
	assert_int_equal(vtr_vring_set_addr(&g->vq, &g->vm, VTR_VRING_ADDR_GPA, gpa(DESC_OFF), gpa(AVAIL_OFF),
					    gpa(USED_OFF)), 0);
	vtr_vring_set_base(&g->vq, start);
	g->chain.seg = g->seg;
	g->chain.cap = NSEG;
	return g;
}

static void guest_free(struct guest *g)
{
	free(g->mem);
	free(g);
}

static int pop(struct guest *g)
{
	return vtr_vring_pop(&g->vq, &g->vm, &g->chain);
}

/* A hostile ring: pop fails with err, says why (message contains what), and keeps failing. */
static void expect_broken(struct guest *g, int err, const char *what)
{
	struct vtr_vring_stats st;

	assert_int_equal(pop(g), err);
	if (!strstr(vtr_vring_strerror(&g->vq), what))
		fail_msg("error \"%s\" does not mention \"%s\"", vtr_vring_strerror(&g->vq), what);
	assert_false(vtr_vring_ready(&g->vq));
	assert_int_equal(pop(g), err);
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.pops, 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 0), -EINVAL);	/* nothing was popped */
}

/* ---- memory map ---- */

static void test_mem_translate(void **state)
{
	static uint8_t buf[4096];
	struct vtr_mem m;
	struct vtr_mem_region r = { 0x1000, sizeof(buf), 0x7000, 0, buf };
	void *p;

	vtr_mem_init(&m);
	assert_int_equal(vtr_mem_gpa(&m, 0x1000, 1, &p), -EFAULT);
	assert_int_equal(vtr_mem_add(&m, &r), 0);
	assert_int_equal(vtr_mem_gpa(&m, 0x1000, 4096, &p), 0);
	assert_ptr_equal(p, buf);
	assert_int_equal(vtr_mem_gpa(&m, 0x1ff0, 16, &p), 0);
	assert_ptr_equal(p, buf + 0xff0);
	assert_int_equal(vtr_mem_gpa(&m, 0x1fff, 0, &p), 0);
	assert_int_equal(vtr_mem_gpa(&m, 0x1ff0, 17, &p), -EFAULT);	/* past the end */
	assert_int_equal(vtr_mem_gpa(&m, 0x0fff, 2, &p), -EFAULT);	/* before the start */
	assert_int_equal(vtr_mem_gpa(&m, 0x2000, 0, &p), -EFAULT);
	assert_int_equal(vtr_mem_gpa(&m, 0x1000, 4097, &p), -EFAULT);
	/* No wraparound: addr + len would come back into the region. */
	assert_int_equal(vtr_mem_gpa(&m, 0x1800, UINT64_MAX, &p), -EFAULT);
	assert_int_equal(vtr_mem_gpa(&m, UINT64_MAX, 0x1802, &p), -EFAULT);
	assert_int_equal(vtr_mem_gpa(&m, UINT64_MAX - 0xfff, 0x2000, &p), -EFAULT);
	/* Frontend addresses. */
	assert_int_equal(vtr_mem_uva(&m, 0x7010, 16, &p), 0);
	assert_ptr_equal(p, buf + 0x10);
	assert_int_equal(vtr_mem_uva(&m, 0x1010, 16, &p), -EFAULT);
	assert_int_equal(vtr_mem_uva(&m, 0x7ff0, 17, &p), -EFAULT);
	assert_int_equal(vtr_mem_uva(&m, 0x7800, UINT64_MAX, &p), -EFAULT);
}

static void test_mem_top_of_space(void **state)
{
	static uint8_t buf[4096];
	struct vtr_mem m;
	struct vtr_mem_region r = { UINT64_MAX - 4095, 4096, 0x10000, 0, buf };
	void *p;

	vtr_mem_init(&m);
	assert_int_equal(vtr_mem_add(&m, &r), 0);	/* the last byte is 2^64 - 1: allowed */
	assert_int_equal(vtr_mem_gpa(&m, UINT64_MAX, 1, &p), 0);
	assert_ptr_equal(p, buf + 4095);
	assert_int_equal(vtr_mem_gpa(&m, UINT64_MAX, 2, &p), -EFAULT);
	assert_int_equal(vtr_mem_gpa(&m, UINT64_MAX - 4095, 4096, &p), 0);
	assert_int_equal(vtr_mem_gpa(&m, UINT64_MAX - 4095, 4097, &p), -EFAULT);
	r.guest_phys_addr = UINT64_MAX - 4094;	/* one byte too far: wraps */
	vtr_mem_init(&m);
	assert_int_equal(vtr_mem_add(&m, &r), -EINVAL);
}

static void test_mem_add_errors(void **state)
{
	static uint8_t buf[8192];
	struct vtr_mem m;
	struct vtr_mem_region r = { 0x10000, 4096, 0x90000, 0, buf }, q;

	vtr_mem_init(&m);
	q = r;
	q.memory_size = 0;
	assert_int_equal(vtr_mem_add(&m, &q), -EINVAL);
	q = r;
	q.host = NULL;
	assert_int_equal(vtr_mem_add(&m, &q), -EINVAL);
	q = r;
	q.userspace_addr = UINT64_MAX - 10;
	assert_int_equal(vtr_mem_add(&m, &q), -EINVAL);
	assert_int_equal(vtr_mem_add(&m, &r), 0);
	q = r;
	q.guest_phys_addr += 4095;		/* overlaps in guest-physical space */
	q.userspace_addr += 0x10000;
	assert_int_equal(vtr_mem_add(&m, &q), -EEXIST);
	q = r;
	q.guest_phys_addr -= 1;
	q.userspace_addr += 0x10000;
	assert_int_equal(vtr_mem_add(&m, &q), -EEXIST);
	q = r;
	q.guest_phys_addr += 4096;		/* adjacent: fine */
	q.userspace_addr += 4096;
	q.host = buf + 4096;
	assert_int_equal(vtr_mem_add(&m, &q), 0);
	assert_int_equal(m.n, 2);
	/* Full. */
	for (unsigned i = 2; i < VTR_MEM_MAX_REGIONS; i++) {
		q.guest_phys_addr = 0x100000ull * (i + 1);
		q.userspace_addr = 0x100000000ull + 0x100000ull * i;
		assert_int_equal(vtr_mem_add(&m, &q), 0);
	}
	q.guest_phys_addr = 0x100000000000ull;
	q.userspace_addr = 0x200000000000ull;
	assert_int_equal(vtr_mem_add(&m, &q), -ENOSPC);
}

static void test_mem_two_regions(void **state)
{
	static uint8_t a[4096], b[4096];
	struct vtr_mem m;
	struct vtr_mem_region ra = { 0x10000, 4096, 0x80000, 0, a }, rb = { 0x11000, 4096, 0x81000, 0x1000, b }, got;
	void *p;

	vtr_mem_init(&m);
	assert_int_equal(vtr_mem_add(&m, &ra), 0);
	assert_int_equal(vtr_mem_add(&m, &rb), 0);
	assert_int_equal(vtr_mem_gpa(&m, 0x10ff0, 16, &p), 0);
	assert_ptr_equal(p, a + 0xff0);
	assert_int_equal(vtr_mem_gpa(&m, 0x11000, 16, &p), 0);
	assert_ptr_equal(p, b);
	/* Adjacent in guest-physical space, not on the host: a range across both is refused. */
	assert_int_equal(vtr_mem_gpa(&m, 0x10ff0, 17, &p), -EFAULT);
	assert_int_equal(vtr_mem_uva(&m, 0x80ff8, 16, &p), -EFAULT);
	/* Removal. */
	assert_int_equal(vtr_mem_remove(&m, 0x10000, 4095, 0x80000, NULL), -ENOENT);
	/* REM_MEM_REG names the front-end's address too (QEMU's reg_equal()). */
	assert_int_equal(vtr_mem_remove(&m, 0x10000, 4096, 0x81000, NULL), -ENOENT);
	assert_int_equal(vtr_mem_remove(&m, 0x10000, 4096, 0x80000, &got), 0);
	assert_ptr_equal(got.host, a);
	assert_int_equal(m.n, 1);
	assert_int_equal(vtr_mem_gpa(&m, 0x10ff0, 16, &p), -EFAULT);
	assert_int_equal(vtr_mem_gpa(&m, 0x11000, 16, &p), 0);
	assert_int_equal(vtr_mem_remove(&m, 0x10000, 4096, 0x80000, NULL), -ENOENT);
}

/* The same RAM at two guest addresses (QEMU's PAM and SMRAM aliases): both views work. */
static void test_mem_alias(void **state)
{
	static uint8_t a[8192];
	struct vtr_mem m;
	struct vtr_mem_region lo = { 0xc0000, 8192, 0x80000, 0, a }, hi = { 0x100000, 4096, 0x81000, 0x1000, a + 4096 },
			      clash = { 0xc1000, 4096, 0x90000, 0, a };
	void *p;

	vtr_mem_init(&m);
	assert_int_equal(vtr_mem_add(&m, &lo), 0);
	assert_int_equal(vtr_mem_add(&m, &hi), 0);
	/* Guest-physical space stays unambiguous. */
	assert_int_equal(vtr_mem_add(&m, &clash), -EEXIST);
	assert_int_equal(vtr_mem_gpa(&m, 0x100010, 4, &p), 0);
	assert_ptr_equal(p, a + 4096 + 16);
	assert_int_equal(vtr_mem_gpa(&m, 0xc1010, 4, &p), 0);
	assert_ptr_equal(p, a + 4096 + 16);
	assert_int_equal(vtr_mem_uva(&m, 0x81010, 4, &p), 0);
	assert_ptr_equal(p, a + 4096 + 16);
}

/* ---- setup ---- */

static void test_setup_errors(void **state)
{
	struct guest *g = guest_new(8, 0, 0);
	struct vtr_vring vq;
	struct vtr_chain c = { g->seg, NSEG, 0, 0, 0, 0, 0 };

	vtr_vring_init(&vq);
	assert_int_equal(vtr_vring_pop(&vq, &g->vm, &c), -ENODEV);
	assert_int_equal(vtr_vring_push(&vq, 0, 0), -ENODEV);
	assert_false(vtr_vring_should_notify(&vq));
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, VTR_VRING_ADDR_GPA, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF)),
			 -EINVAL);	/* no size yet */
	assert_int_equal(vtr_vring_set_num(&vq, 0), -EINVAL);
	assert_int_equal(vtr_vring_set_num(&vq, 3), -EINVAL);
	assert_int_equal(vtr_vring_set_num(&vq, 65536), -EINVAL);
	assert_int_equal(vtr_vring_set_num(&vq, 32768), 0);
	assert_int_equal(vtr_vring_set_num(&vq, 1), 0);
	assert_int_equal(vtr_vring_set_num(&vq, 256), 0);
	/* Alignment: 16, 2, 4. */
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, gpa(8), gpa(AVAIL_OFF), gpa(USED_OFF)), -EINVAL);
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, gpa(0), gpa(AVAIL_OFF + 1), gpa(USED_OFF)), -EINVAL);
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF + 2)), -EINVAL);
	/* Tables (event fields included) must be wholly inside memory. */
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, GPA_BASE - 16, gpa(AVAIL_OFF), gpa(USED_OFF)), -EFAULT);
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, gpa(MEM_SIZE - 16 * 255), gpa(AVAIL_OFF), gpa(USED_OFF)),
			 -EFAULT);
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, gpa(0), gpa(MEM_SIZE - (4 + 2 * 256)), gpa(USED_OFF)),
			 -EFAULT);	/* used_event is the 2 bytes past the end */
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, gpa(0), gpa(AVAIL_OFF), gpa(MEM_SIZE - (4 + 8 * 256))),
			 -EFAULT);	/* avail_event likewise */
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 0, UINT64_MAX - 15, gpa(AVAIL_OFF), gpa(USED_OFF)), -EFAULT);
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, 7, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF)), -EINVAL);
	/* Guest-physical addresses are not frontend ones. */
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, VTR_VRING_ADDR_UVA, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF)),
			 -EFAULT);
	assert_false(vtr_vring_ready(&vq));
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, VTR_VRING_ADDR_UVA, UVA_BASE, UVA_BASE + AVAIL_OFF,
					    UVA_BASE + USED_OFF), 0);
	assert_true(vtr_vring_ready(&vq));
	assert_ptr_equal(vq.desc, g->mem);
	assert_ptr_equal(vq.avail, g->mem + AVAIL_OFF);
	assert_ptr_equal(vq.used, g->mem + USED_OFF);
	assert_int_equal(vtr_vring_set_addr(&vq, &g->vm, VTR_VRING_ADDR_UVA, GPA_BASE, UVA_BASE + AVAIL_OFF,
					    UVA_BASE + USED_OFF), -EFAULT);
	/* A new size unsets the addresses. */
	assert_int_equal(vtr_vring_set_num(&vq, 128), 0);
	assert_false(vtr_vring_ready(&vq));
	guest_free(g);
}

/* ---- well-formed chains ---- */

static void test_single_desc(void **state)
{
	struct guest *g = guest_new(16, 0, 0);
	struct vtr_vring_stats st;
	uint8_t out[64];
	uint32_t id, len;

	memset(g->mem + DATA, 0xab, 64);
	desc(g, 5, gpa(DATA), 64, 0, 0);
	assert_int_equal(pop(g), -EAGAIN);
	offer(g, 5);
	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.head, 5);
	assert_int_equal(g->chain.n_out, 1);
	assert_int_equal(g->chain.n_in, 0);
	assert_int_equal(g->chain.out_len, 64);
	assert_int_equal(g->chain.in_len, 0);
	assert_ptr_equal(g->seg[0].base, g->mem + DATA);
	assert_int_equal(vtr_chain_read(&g->chain, 0, out, sizeof(out)), 64);
	assert_int_equal(out[63], 0xab);
	assert_int_equal(vtr_chain_write(&g->chain, 0, out, 1), 0);	/* nothing writable */
	assert_int_equal(pop(g), -EAGAIN);
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.in_flight, 1);
	assert_int_equal(st.avail_idx, 1);
	assert_int_equal(vtr_vring_push(&g->vq, 5, 0), 0);
	assert_int_equal(get16(g, USED_OFF + 2), 1);
	used_elem(g, 0, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 0);
	assert_int_equal(vtr_vring_push(&g->vq, 5, 0), -EINVAL);	/* nothing in flight */
	assert_true(vtr_vring_should_notify(&g->vq));
	assert_false(vtr_vring_should_notify(&g->vq));			/* nothing new */
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.pops, 1);
	assert_int_equal(st.pushes, 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.used_idx, 1);
	assert_int_equal(st.notify_sent, 1);
	guest_free(g);
}

/* A 44-byte virtio-vsock header and a payload cut into 1..16 descriptors, the header too from 8 on. */
static void test_header_payload_split(void **state)
{
	enum { HDR = 44, PAYLOAD = 300, TOTAL = HDR + PAYLOAD };
	uint8_t pkt[TOTAL], back[TOTAL];

	for (unsigned i = 0; i < TOTAL; i++)
		pkt[i] = (uint8_t)(i * 7 + 1);
	for (unsigned n = 1; n <= 16; n++) {
		struct guest *g = guest_new(16, 0, 0);
		unsigned at = 0;

		/* Piece k: sizes chosen so the header is split too when n > 1. */
		for (unsigned k = 0; k < n; k++) {
			unsigned len = k + 1 < n ? (TOTAL / n) - (k % 3) : TOTAL - at;
			uint32_t where = DATA + 0x1000 * k + 3;	/* scattered, unaligned */

			memcpy(g->mem + where, pkt + at, len);
			desc(g, (k * 5 + 2) % 16, gpa(where), len, k + 1 < n ? VTR_VRING_DESC_F_NEXT : 0,
			     (uint16_t)(((k + 1) * 5 + 2) % 16));
			at += len;
		}
		assert_int_equal(at, TOTAL);
		offer(g, 2);
		assert_int_equal(pop(g), 0);
		assert_int_equal(g->chain.n_out, n);
		assert_int_equal(g->chain.out_len, TOTAL);
		memset(back, 0, sizeof(back));
		assert_int_equal(vtr_chain_read(&g->chain, 0, back, TOTAL), TOTAL);
		assert_memory_equal(back, pkt, TOTAL);
		/* From an offset, past the end. */
		assert_int_equal(vtr_chain_read(&g->chain, HDR, back, PAYLOAD + 10), PAYLOAD);
		assert_memory_equal(back, pkt + HDR, PAYLOAD);
		assert_int_equal(vtr_chain_read(&g->chain, TOTAL, back, 1), 0);
		assert_int_equal(vtr_vring_push(&g->vq, 2, 0), 0);
		guest_free(g);
	}
}

/* Receive: the device writes a header and payload into n writable descriptors. */
static void test_rx_write_split(void **state)
{
	enum { TOTAL = 44 + 1000 };
	uint8_t pkt[TOTAL], back[TOTAL];

	for (unsigned i = 0; i < TOTAL; i++)
		pkt[i] = (uint8_t)(i ^ 0x5a);
	for (unsigned n = 1; n <= 8; n++) {
		struct guest *g = guest_new(8, 0, 0);
		uint32_t id, len, got = 0;

		for (unsigned k = 0; k < n; k++)
			desc(g, k, gpa(DATA + 0x1000 * k), 200, VTR_VRING_DESC_F_WRITE | (k + 1 < n ? VTR_VRING_DESC_F_NEXT : 0),
			     (uint16_t)(k + 1));
		offer(g, 0);
		assert_int_equal(pop(g), 0);
		assert_int_equal(g->chain.n_out, 0);
		assert_int_equal(g->chain.n_in, n);
		assert_int_equal(g->chain.in_len, 200 * n);
		len = (uint32_t)vtr_chain_write(&g->chain, 0, pkt, TOTAL);
		assert_int_equal(len, 200 * n < TOTAL ? 200 * n : TOTAL);
		assert_int_equal(vtr_chain_read(&g->chain, 0, back, 1), 0);	/* nothing readable */
		for (unsigned k = 0; k < n && got < len; k++) {
			uint32_t part = len - got < 200 ? len - got : 200;

			assert_memory_equal(g->mem + DATA + 0x1000 * k, pkt + got, part);
			got += part;
		}
		assert_int_equal(vtr_vring_push(&g->vq, 0, len), 0);
		used_elem(g, 0, &id, &got);
		assert_int_equal(id, 0);
		assert_int_equal(got, len);
		guest_free(g);
	}
}

static void test_read_then_write(void **state)
{
	struct guest *g = guest_new(4, 0, 0);

	desc(g, 3, gpa(DATA), 10, VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, gpa(DATA + 100), 0, VTR_VRING_DESC_F_NEXT, 0);	/* empty: takes no segment */
	desc(g, 0, gpa(DATA + 200), 20, VTR_VRING_DESC_F_NEXT | VTR_VRING_DESC_F_WRITE, 2);
	desc(g, 2, gpa(DATA + 300), 30, VTR_VRING_DESC_F_WRITE, 0);
	offer(g, 3);
	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.n_out, 1);
	assert_int_equal(g->chain.n_in, 2);
	assert_int_equal(g->chain.out_len, 10);
	assert_int_equal(g->chain.in_len, 50);
	assert_ptr_equal(g->seg[1].base, g->mem + DATA + 200);
	assert_ptr_equal(g->seg[2].base, g->mem + DATA + 300);
	/* A write at an offset spans the two writable segments. */
	assert_int_equal(vtr_chain_write(&g->chain, 15, "abcdefghij", 10), 10);
	assert_memory_equal(g->mem + DATA + 215, "abcde", 5);
	assert_memory_equal(g->mem + DATA + 300, "fghij", 5);
	guest_free(g);
}

static void test_indirect(void **state)
{
	const uint32_t table = DATA + 0x8000;
	struct guest *g = guest_new(8, F_INDIRECT, 0);
	uint8_t back[8];

	/* Head 6: a direct readable descriptor, then an indirect table of 3 (one read, two write). */
	memcpy(g->mem + DATA, "HDR!", 4);
	memcpy(g->mem + DATA + 0x100, "body", 4);
	desc(g, 6, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 7);
	desc(g, 7, gpa(table), 48, VTR_VRING_DESC_F_INDIRECT | VTR_VRING_DESC_F_WRITE, 0);	/* WRITE ignored */
	desc_at(g, table, 0, gpa(DATA + 0x100), 4, VTR_VRING_DESC_F_NEXT, 2);
	desc_at(g, table, 2, gpa(DATA + 0x200), 8, VTR_VRING_DESC_F_NEXT | VTR_VRING_DESC_F_WRITE, 1);
	desc_at(g, table, 1, gpa(DATA + 0x300), 16, VTR_VRING_DESC_F_WRITE, 0);
	offer(g, 6);
	/* A lone indirect descriptor as the head (the usual Linux layout). */
	desc(g, 0, gpa(table), 48, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);

	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.head, 6);
	assert_int_equal(g->chain.n_out, 2);
	assert_int_equal(g->chain.n_in, 2);
	assert_int_equal(g->chain.out_len, 8);
	assert_int_equal(g->chain.in_len, 24);
	assert_int_equal(vtr_chain_read(&g->chain, 0, back, 8), 8);
	assert_memory_equal(back, "HDR!body", 8);
	assert_ptr_equal(g->seg[3].base, g->mem + DATA + 0x300);

	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.head, 0);
	assert_int_equal(g->chain.n_out, 1);
	assert_int_equal(g->chain.n_in, 2);
	assert_int_equal(pop(g), -EAGAIN);
	assert_int_equal(vtr_vring_push(&g->vq, 6, 24), 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 0), 0);
	guest_free(g);
}

/* An indirect table as large as allowed, every entry chained. */
static void test_indirect_max(void **state)
{
	const uint32_t table = DATA + 0x10000;
	struct guest *g = guest_new(4, F_INDIRECT, 0);

	for (unsigned i = 0; i < VTR_VRING_MAX_INDIRECT; i++)
		desc_at(g, table, i, gpa(DATA + i), 1, i + 1 < VTR_VRING_MAX_INDIRECT ? VTR_VRING_DESC_F_NEXT : 0,
			(uint16_t)(i + 1));
	desc(g, 0, gpa(table), 16 * VTR_VRING_MAX_INDIRECT, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.n_out, VTR_VRING_MAX_INDIRECT);
	assert_int_equal(g->chain.out_len, VTR_VRING_MAX_INDIRECT);
	guest_free(g);
}

/* The 16-bit indexes wrap: start 5 entries before 65536 and go 3 laps of the ring around it. */
static void test_wraparound(void **state)
{
	struct guest *g = guest_new(4, F_EVENT_IDX, 65531);
	struct vtr_vring_stats st;
	uint16_t used = 65531;

	for (unsigned i = 0; i < 4; i++)
		desc(g, i, gpa(DATA + 0x100 * i), 0x100, VTR_VRING_DESC_F_WRITE, 0);
	for (unsigned round = 0; round < 6; round++) {
		/* Two chains in flight at a time. */
		offer(g, (uint16_t)(2 * round % 4));
		offer(g, (uint16_t)((2 * round + 1) % 4));
		for (unsigned k = 0; k < 2; k++) {
			uint32_t id, len;

			assert_int_equal(pop(g), 0);
			assert_int_equal(g->chain.head, (2 * round + k) % 4);
			assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 10 + k), 0);
			used_elem(g, used, &id, &len);
			assert_int_equal(id, (2 * round + k) % 4);
			assert_int_equal(len, 10 + k);
			used++;
			assert_int_equal(get16(g, USED_OFF + 2), used);
			/* avail_event follows the next entry to pop. */
			assert_int_equal(get16(g, USED_OFF + 4 + 8 * 4), vtr_vring_get_base(&g->vq));
		}
		assert_int_equal(pop(g), -EAGAIN);
	}
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.last_avail_idx, 7);	/* 65531 + 12 */
	assert_int_equal(st.used_idx, 7);
	assert_int_equal(st.pops, 12);
	assert_int_equal(st.in_flight, 0);
	/* A ring full across the wrap: 4 pending is fine, 5 is not. */
	for (unsigned i = 0; i < 4; i++)
		offer(g, (uint16_t)i);
	assert_int_equal(pop(g), 0);
	offer(g, 0);
	offer(g, 1);
	assert_int_equal(pop(g), -EPROTO);
	guest_free(g);
}

/* set_addr takes the used index from the ring (a reconnecting backend continues). */
static void test_resume(void **state)
{
	struct guest *g = guest_new(8, 0, 0);
	struct vtr_vring_stats st;

	put16(USED_OFF + 2, 40, g);
	put16(AVAIL_OFF + 2, 42, g);
	g->avail_idx = 42;
	desc(g, 1, gpa(DATA), 8, 0, 0);
	put16(AVAIL_OFF + 4 + 2 * (40 % 8), 1, g);
	put16(AVAIL_OFF + 4 + 2 * (41 % 8), 1, g);
	assert_int_equal(vtr_vring_set_addr(&g->vq, &g->vm, 0, gpa(DESC_OFF), gpa(AVAIL_OFF), gpa(USED_OFF)), 0);
	vtr_vring_set_base(&g->vq, 40);
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.used_idx, 40);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(pop(g), 0);
	assert_int_equal(pop(g), 0);
	assert_int_equal(pop(g), -EAGAIN);
	assert_int_equal(vtr_vring_get_base(&g->vq), 42);
	guest_free(g);
}

/* ---- notifications ---- */

static void test_event_idx_notify(void **state)
{
	struct guest *g = guest_new(8, F_EVENT_IDX, 0);
	struct vtr_vring_stats st;

	for (unsigned i = 0; i < 8; i++) {
		desc(g, i, gpa(DATA), 16, 0, 0);
		offer(g, (uint16_t)i);
	}
	put16(AVAIL_OFF + 4 + 2 * 8, 2, g);	/* used_event: notify when entry 2 is used */
	put16(AVAIL_OFF, VTR_VRING_AVAIL_F_NO_INTERRUPT, g);	/* ignored with EVENT_IDX */

	/* The first decision always notifies (nothing known about the driver's past). */
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 0), 0);	/* used idx 1 */
	assert_true(vtr_vring_should_notify(&g->vq));
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 0), 0);	/* 2: entry 1 used */
	assert_false(vtr_vring_should_notify(&g->vq));
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 0), 0);	/* 3: entry 2 used */
	assert_true(vtr_vring_should_notify(&g->vq));
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 0), 0);	/* 4 */
	assert_false(vtr_vring_should_notify(&g->vq));
	/* A batch that crosses used_event in the middle notifies once. */
	put16(AVAIL_OFF + 4 + 2 * 8, 5, g);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(pop(g), 0);
		assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 0), 0);	/* 5, 6, 7 */
	}
	assert_true(vtr_vring_should_notify(&g->vq));
	assert_false(vtr_vring_should_notify(&g->vq));
	/* used_event behind: no notification. */
	put16(AVAIL_OFF + 4 + 2 * 8, 3, g);
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, g->chain.head, 0), 0);	/* 8 */
	assert_false(vtr_vring_should_notify(&g->vq));
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.notify_sent, 3);
	assert_int_equal(st.notify_suppressed, 3);
	/* avail_event: going idle publishes the next entry to pop. */
	assert_int_equal(pop(g), -EAGAIN);
	assert_int_equal(get16(g, USED_OFF + 4 + 8 * 8), 8);
	guest_free(g);
}

static void test_no_interrupt_flag(void **state)
{
	struct guest *g = guest_new(4, 0, 0);
	struct vtr_vring_stats st;

	desc(g, 0, gpa(DATA), 16, 0, 0);
	for (unsigned i = 0; i < 3; i++)
		offer(g, 0);
	put16(AVAIL_OFF + 4 + 2 * 4, 0, g);	/* used_event: ignored without EVENT_IDX */
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 0), 0);
	assert_true(vtr_vring_should_notify(&g->vq));
	put16(AVAIL_OFF, VTR_VRING_AVAIL_F_NO_INTERRUPT, g);
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 0), 0);
	assert_false(vtr_vring_should_notify(&g->vq));
	put16(AVAIL_OFF, 0, g);
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 0), 0);
	assert_true(vtr_vring_should_notify(&g->vq));
	vtr_vring_stats(&g->vq, &st);
	assert_int_equal(st.notify_sent, 2);
	assert_int_equal(st.notify_suppressed, 1);
	/* Nothing written to avail_event without EVENT_IDX. */
	assert_int_equal(pop(g), -EAGAIN);
	assert_int_equal(get16(g, USED_OFF + 4 + 8 * 4), 0);
	guest_free(g);
}

static void test_enable_notify(void **state)
{
	struct guest *g = guest_new(4, 0, 0);

	desc(g, 0, gpa(DATA), 16, 0, 0);
	assert_false(vtr_vring_enable_notify(&g->vq, false));
	assert_int_equal(get16(g, USED_OFF), VTR_VRING_USED_F_NO_NOTIFY);
	offer(g, 0);
	assert_true(vtr_vring_enable_notify(&g->vq, true));	/* arrived while disabled */
	assert_int_equal(get16(g, USED_OFF), 0);
	assert_int_equal(pop(g), 0);
	assert_false(vtr_vring_enable_notify(&g->vq, true));
	guest_free(g);

	g = guest_new(4, F_EVENT_IDX, 100);
	desc(g, 0, gpa(DATA), 16, 0, 0);
	assert_false(vtr_vring_enable_notify(&g->vq, true));
	assert_int_equal(get16(g, USED_OFF + 4 + 8 * 4), 100);
	assert_int_equal(get16(g, USED_OFF), 0);	/* flags untouched with EVENT_IDX */
	offer(g, 0);
	assert_true(vtr_vring_enable_notify(&g->vq, true));
	guest_free(g);
}

/* ---- hostile rings: each breaks the queue with its own error and message ---- */

static void test_bad_head(void **state)
{
	struct guest *g = guest_new(8, 0, 0);

	offer(g, 8);
	expect_broken(g, -ERANGE, "head 8 out of range");
	guest_free(g);
}

static void test_bad_next(void **state)
{
	struct guest *g = guest_new(8, 0, 0);

	desc(g, 0, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 0xffff);
	offer(g, 0);
	expect_broken(g, -ERANGE, "next 65535");
	guest_free(g);
}

static void test_loop(void **state)
{
	struct guest *g = guest_new(8, 0, 0);

	desc(g, 0, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 0);
	offer(g, 0);
	expect_broken(g, -ELOOP, "loop");
	guest_free(g);

	/* A self-loop of empty descriptors (nothing mapped, still bounded). */
	g = guest_new(32768, 0, 0);
	desc(g, 7, 0, 0, VTR_VRING_DESC_F_NEXT, 7);
	offer(g, 7);
	expect_broken(g, -ELOOP, "longer than its descriptor table (32768)");
	guest_free(g);
}

static void test_full_length_chain(void **state)
{
	/* Exactly the queue size is fine. */
	struct guest *g = guest_new(64, 0, 0);

	for (unsigned i = 0; i < 64; i++)
		desc(g, i, gpa(DATA + i), 1, i < 63 ? VTR_VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(g, 0);
	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.n_out, 64);
	guest_free(g);
}

static void test_indirect_loop(void **state)
{
	const uint32_t table = DATA + 0x8000;
	struct guest *g = guest_new(8, F_INDIRECT, 0);

	desc_at(g, table, 0, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 1);
	desc_at(g, table, 1, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 0);
	desc(g, 0, gpa(table), 32, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -ELOOP, "indirect table (2)");
	guest_free(g);

	g = guest_new(8, F_INDIRECT, 0);
	desc_at(g, table, 0, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 2);	/* past a 2-entry table */
	desc(g, 0, gpa(table), 32, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -ERANGE, "indirect descriptor next 2");
	guest_free(g);
}

static void test_indirect_bad_len(void **state)
{
	const uint32_t lens[] = { 0, 8, 17, 40 };

	for (unsigned i = 0; i < 4; i++) {
		struct guest *g = guest_new(8, F_INDIRECT, 0);

		desc(g, 0, gpa(DATA), lens[i], VTR_VRING_DESC_F_INDIRECT, 0);
		offer(g, 0);
		expect_broken(g, -EINVAL, "not a positive multiple of 16");
		guest_free(g);
	}
}

static void test_indirect_too_large(void **state)
{
	struct guest *g = guest_new(8, F_INDIRECT, 0);

	desc(g, 0, gpa(DATA), 16 * (VTR_VRING_MAX_INDIRECT + 1), VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -E2BIG, "more than 1024");
	guest_free(g);

	g = guest_new(8, F_INDIRECT, 0);
	desc(g, 0, gpa(DATA), 0xfffffff0u, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -E2BIG, "indirect table");
	guest_free(g);
}

static void test_indirect_nested(void **state)
{
	const uint32_t table = DATA + 0x8000;
	struct guest *g = guest_new(8, F_INDIRECT, 0);

	desc_at(g, table, 0, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 1);
	desc_at(g, table, 1, gpa(table), 32, VTR_VRING_DESC_F_INDIRECT, 0);
	desc(g, 0, gpa(table), 32, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "is itself INDIRECT");
	guest_free(g);
}

static void test_indirect_with_next(void **state)
{
	const uint32_t table = DATA + 0x8000;
	struct guest *g = guest_new(8, F_INDIRECT, 0);

	desc_at(g, table, 0, gpa(DATA), 4, 0, 0);
	desc(g, 0, gpa(table), 16, VTR_VRING_DESC_F_INDIRECT | VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, gpa(DATA), 4, 0, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "both INDIRECT and NEXT");
	guest_free(g);
}

static void test_indirect_not_negotiated(void **state)
{
	const uint32_t table = DATA + 0x8000;
	struct guest *g = guest_new(8, F_EVENT_IDX, 0);

	desc_at(g, table, 0, gpa(DATA), 4, 0, 0);
	desc(g, 0, gpa(table), 16, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "without VIRTIO_F_INDIRECT_DESC");
	guest_free(g);
}

static void test_indirect_table_outside(void **state)
{
	struct guest *g = guest_new(8, F_INDIRECT, 0);

	desc(g, 0, gpa(MEM_SIZE - 16), 32, VTR_VRING_DESC_F_INDIRECT, 0);	/* straddles the end */
	offer(g, 0);
	expect_broken(g, -EFAULT, "indirect table");
	guest_free(g);

	g = guest_new(8, F_INDIRECT, 0);
	desc(g, 0, UINT64_MAX - 15, 32, VTR_VRING_DESC_F_INDIRECT, 0);		/* wraps */
	offer(g, 0);
	expect_broken(g, -EFAULT, "not in guest memory");
	guest_free(g);
}

static void test_read_after_write(void **state)
{
	const uint32_t table = DATA + 0x8000;
	struct guest *g = guest_new(8, 0, 0);

	desc(g, 0, gpa(DATA), 4, VTR_VRING_DESC_F_WRITE | VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, gpa(DATA), 4, 0, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "descriptor 1 of head 0: readable after writable");
	guest_free(g);

	/* Even an empty readable descriptor. */
	g = guest_new(8, 0, 0);
	desc(g, 0, gpa(DATA), 4, VTR_VRING_DESC_F_WRITE | VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, 0, 0, 0, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "readable after writable");
	guest_free(g);

	/* Inside an indirect table, and across a direct writable descriptor and the table. */
	g = guest_new(8, F_INDIRECT, 0);
	desc_at(g, table, 0, gpa(DATA), 4, VTR_VRING_DESC_F_WRITE | VTR_VRING_DESC_F_NEXT, 1);
	desc_at(g, table, 1, gpa(DATA), 4, 0, 0);
	desc(g, 0, gpa(table), 32, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "indirect descriptor 1 of head 0: readable after writable");
	guest_free(g);

	g = guest_new(8, F_INDIRECT, 0);
	desc_at(g, table, 0, gpa(DATA), 4, 0, 0);
	desc(g, 0, gpa(DATA), 4, VTR_VRING_DESC_F_WRITE | VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, gpa(table), 16, VTR_VRING_DESC_F_INDIRECT, 0);
	offer(g, 0);
	expect_broken(g, -EINVAL, "readable after writable");
	guest_free(g);
}

static void test_addr_outside(void **state)
{
	const struct {
		uint64_t addr;
		uint32_t len;
	} bad[] = {
		{ GPA_BASE - 4, 4 },			/* below */
		{ GPA_BASE - 4, 8 },			/* across the start */
		{ GPA_BASE + MEM_SIZE - 4, 5 },		/* across the end */
		{ GPA_BASE + MEM_SIZE, 1 },		/* just after */
		{ UINT64_MAX - 1, 4 },			/* wraps to 1 */
		{ GPA_BASE + 16, 0x7fffffffu },		/* far too long */
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct guest *g = guest_new(8, 0, 0);

		desc(g, 0, gpa(DATA), 4, VTR_VRING_DESC_F_NEXT, 1);
		desc(g, 1, bad[i].addr, bad[i].len, 0, 0);
		offer(g, 0);
		expect_broken(g, -EFAULT, "descriptor 1 of head 0: buffer");
		guest_free(g);
	}
}

static void test_avail_idx_jump(void **state)
{
	struct guest *g = guest_new(8, 0, 0);

	desc(g, 0, gpa(DATA), 4, 0, 0);
	put16(AVAIL_OFF + 2, 9, g);
	expect_broken(g, -EPROTO, "9 entries ahead");
	guest_free(g);

	/* Backwards (a decrement) reads as 65535 ahead. */
	g = guest_new(8, 0, 100);
	put16(AVAIL_OFF + 2, 99, g);
	expect_broken(g, -EPROTO, "ahead");
	guest_free(g);
}

/* A chain of more than 2^32 bytes: buffers that exist, over a 3 GiB reservation nobody touches. */
static void test_chain_too_long(void **state)
{
	const uint64_t size = 3ull << 30, base = 0x100000000ull;
	struct guest *g = guest_new(8, 0, 0);
	struct vtr_mem_region r = { base, size, 0x10000000000ull, 0, NULL };
	void *res = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (res == MAP_FAILED)
		skip();
	r.host = res;
	assert_int_equal(vtr_mem_add(&g->vm, &r), 0);
	desc(g, 0, base, 0x80000000u, VTR_VRING_DESC_F_NEXT, 1);
	desc(g, 1, base, 0x80000000u, VTR_VRING_DESC_F_NEXT, 2);	/* exactly 2^32: allowed */
	desc(g, 2, base, 0, 0, 0);
	offer(g, 0);
	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.out_len, 1ull << 32);
	desc(g, 2, base, 1, 0, 0);
	offer(g, 0);
	assert_int_equal(pop(g), -EMSGSIZE);
	assert_non_null(strstr(vtr_vring_strerror(&g->vq), "more than 2^32 bytes"));
	assert_int_equal(pop(g), -EMSGSIZE);
	munmap(res, size);
	guest_free(g);
}

/* The caller's list too short: -ENOBUFS, nothing consumed, the ring not broken. */
static void test_enobufs(void **state)
{
	struct guest *g = guest_new(8, 0, 0);
	struct vtr_seg small[2];
	struct vtr_chain c = { small, 2, 0, 0, 0, 0, 0 };

	for (unsigned i = 0; i < 3; i++)
		desc(g, i, gpa(DATA), 4, i < 2 ? VTR_VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(g, 0);
	assert_int_equal(vtr_vring_pop(&g->vq, &g->vm, &c), -ENOBUFS);
	assert_true(vtr_vring_ready(&g->vq));
	assert_string_equal(vtr_vring_strerror(&g->vq), "");
	assert_int_equal(vtr_vring_get_base(&g->vq), 0);
	assert_int_equal(pop(g), 0);
	assert_int_equal(g->chain.n_out, 3);
	guest_free(g);
}

/* A broken ring stays broken until set up again; the guest fixing memory does not help. */
static void test_sticky(void **state)
{
	struct guest *g = guest_new(8, 0, 0);

	offer(g, 9);
	expect_broken(g, -ERANGE, "head 9");
	put16(AVAIL_OFF + 4, 0, g);
	desc(g, 0, gpa(DATA), 4, 0, 0);
	assert_int_equal(pop(g), -ERANGE);
	assert_false(vtr_vring_enable_notify(&g->vq, true));
	assert_int_equal(vtr_vring_set_addr(&g->vq, &g->vm, 0, gpa(DESC_OFF), gpa(AVAIL_OFF), gpa(USED_OFF)), 0);
	assert_string_equal(vtr_vring_strerror(&g->vq), "");
	assert_int_equal(pop(g), 0);
	guest_free(g);
}

static void test_push_errors(void **state)
{
	struct guest *g = guest_new(8, 0, 0);

	desc(g, 0, gpa(DATA), 4, 0, 0);
	offer(g, 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 0), -EINVAL);	/* nothing popped */
	assert_int_equal(pop(g), 0);
	assert_int_equal(vtr_vring_push(&g->vq, 8, 0), -EINVAL);	/* id outside the table */
	assert_int_equal(vtr_vring_push(&g->vq, 0, 4), 0);
	assert_int_equal(vtr_vring_push(&g->vq, 0, 4), -EINVAL);
	guest_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_translate),
		cmocka_unit_test(test_mem_top_of_space),
		cmocka_unit_test(test_mem_add_errors),
		cmocka_unit_test(test_mem_two_regions),
		cmocka_unit_test(test_mem_alias),
		cmocka_unit_test(test_setup_errors),
		cmocka_unit_test(test_single_desc),
		cmocka_unit_test(test_header_payload_split),
		cmocka_unit_test(test_rx_write_split),
		cmocka_unit_test(test_read_then_write),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_indirect_max),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_event_idx_notify),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_enable_notify),
		cmocka_unit_test(test_bad_head),
		cmocka_unit_test(test_bad_next),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_full_length_chain),
		cmocka_unit_test(test_indirect_loop),
		cmocka_unit_test(test_indirect_bad_len),
		cmocka_unit_test(test_indirect_too_large),
		cmocka_unit_test(test_indirect_nested),
		cmocka_unit_test(test_indirect_with_next),
		cmocka_unit_test(test_indirect_not_negotiated),
		cmocka_unit_test(test_indirect_table_outside),
		cmocka_unit_test(test_read_after_write),
		cmocka_unit_test(test_addr_outside),
		cmocka_unit_test(test_avail_idx_jump),
		cmocka_unit_test(test_chain_too_long),
		cmocka_unit_test(test_enobufs),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_push_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
