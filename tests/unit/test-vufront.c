/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-vufront.c: the virtqueue driver against vring.c; the vhost-user front-end against a scripted fake back-end. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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
#include <cmocka.h>

#include <vsockmon/decode.h>
#include <vsockmon/wire.h>
#include <vtr/vhost_user.h>
#include <vtr/vring.h>
#include <vtr/vtr.h>
#include <vtr/vufront.h>

#include <vtr/vdrv.h>

#define F(n)		(1ull << (n))
#define F_EVENT_IDX	F(VTR_VIRTIO_F_EVENT_IDX)
#define F_INDIRECT	F(VTR_VIRTIO_F_INDIRECT_DESC)
#define F_VERSION_1	F(32)
#define F_PROTOCOL	F(VTR_VU_F_PROTOCOL_FEATURES)
#define F_SEQPACKET	F(1)
#define F_NOTIFY_EMPTY	F(24)
#define PF(n)		(1ull << VTR_VU_PROTOCOL_F_##n)
#define HDR		VSM_VIRTIO_HDR_LEN

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + 1);
}

static uint16_t rd16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static void wr16(void *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void wr32(void *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

/* Open fds of this process: a front-end that failed must leave as many as it found. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

/* ==== part 1: vdrv.c (driver) against vring.c (device) over one memfd mapping ==== */

#define P_GPA		0x200000000ull
#define P_SIZE		(4u << 20)
#define P_DESC		0x000000u
#define P_AVAIL		0x080000u
#define P_USED		0x090000u
#define P_IND		0x0a0000u	/* indirect tables, 8 descriptors each */
#define P_IND_N		8
#define P_DATA		0x100000u
#define NSEG		(VTR_VRING_MAX_SEGS(256))

struct pair {
	int memfd;
	uint8_t *mem;
	struct vtr_mem vm;
	struct vdrv drv;
	struct vtr_vring dev;
	unsigned num;
	struct vtr_seg seg[NSEG];
	struct vtr_chain chain;
};

static uint64_t gpa(uint32_t off)
{
	return P_GPA + off;
}

static struct pair *pair_new(unsigned num, uint64_t features)
{
	struct pair *p = calloc(1, sizeof(*p));
	struct vtr_mem_region r;

	assert_non_null(p);
	p->memfd = memfd_create("test-vdrv", MFD_CLOEXEC);
	assert_true(p->memfd >= 0);
	assert_int_equal(ftruncate(p->memfd, P_SIZE), 0);
	p->mem = mmap(NULL, P_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, p->memfd, 0);
	assert_true(p->mem != MAP_FAILED);
	r = (struct vtr_mem_region){ P_GPA, P_SIZE, (uint64_t)(uintptr_t)p->mem, 0, p->mem };
	vtr_mem_init(&p->vm);
	assert_int_equal(vtr_mem_add(&p->vm, &r), 0);
	p->num = num;
	assert_int_equal(vdrv_init(&p->drv, num, p->mem + P_DESC, p->mem + P_AVAIL, p->mem + P_USED, features), 0);
	vdrv_set_indirect(&p->drv, p->mem + P_IND, gpa(P_IND), P_IND_N);
	vtr_vring_init(&p->dev);
	assert_int_equal(vtr_vring_set_num(&p->dev, num), 0);
	vtr_vring_set_features(&p->dev, features);
	/* As a vhost-user back-end: the ring addresses are the front-end's virtual ones. */
	assert_int_equal(vtr_vring_set_addr(&p->dev, &p->vm, VTR_VRING_ADDR_UVA, (uintptr_t)(p->mem + P_DESC),
					    (uintptr_t)(p->mem + P_AVAIL), (uintptr_t)(p->mem + P_USED)), 0);
	vtr_vring_set_base(&p->dev, 0);
	p->chain.seg = p->seg;
	p->chain.cap = NSEG;
	return p;
}

static void pair_free(struct pair *p)
{
	vdrv_free(&p->drv);
	munmap(p->mem, P_SIZE);
	close(p->memfd);
	free(p);
}

static int dpop(struct pair *p)
{
	return vtr_vring_pop(&p->dev, &p->vm, &p->chain);
}

/* The raw flags of descriptor i of the ring's table, as the device sees them. */
static uint16_t desc_flags(const uint8_t *table, unsigned i)
{
	return rd16(table + 16 * i + 12);
}

/* A chain shape: lengths of readable then writable buffers. */
struct shape {
	const char *name;
	unsigned n_out, n_in;
	uint32_t len[8];
	bool indirect;
};

static void test_drv_shapes(void **state)
{
	static const struct shape shapes[] = {
		{ "one (Linux 6.2+ TX)", 1, 0, { HDR + 300 }, false },
		{ "split (Linux 6.1 TX)", 2, 0, { HDR, 300 }, false },
		{ "scatter (header in two, 4 KiB frags)", 5, 0, { 20, 24, 4096, 4096, 100 }, false },
		{ "indirect split", 2, 0, { HDR, 300 }, true },
		{ "header only", 1, 0, { HDR }, false },
		{ "RX buffer", 0, 1, { 4096 + HDR }, false },
		{ "read then write", 2, 2, { 16, 32, 64, 128 }, false },
		{ "read then write, indirect", 2, 2, { 16, 32, 64, 128 }, true },
		{ "eight through indirect", 4, 4, { 1, 2, 3, 4, 5, 6, 7, 8 }, true },
	};
	struct pair *p = pair_new(16, F_EVENT_IDX | F_INDIRECT);

	for (unsigned k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		const struct shape *s = &shapes[k];
		unsigned n = s->n_out + s->n_in;
		struct vdrv_buf bufs[8];
		uint32_t at = P_DATA + 0x20000 * k, out_total = 0, in_total = 0, cookie, len, in_len;
		uint8_t expect[16384], got[16384], back[256];
		unsigned free_before = vdrv_num_free(&p->drv);
		int head;

		/* Scattered buffers, 13 bytes apart, each with its own bytes. */
		for (unsigned i = 0; i < n; i++) {
			bufs[i] = (struct vdrv_buf){ gpa(at), s->len[i] };
			fill(p->mem + at, s->len[i], k * 10 + i);
			if (i < s->n_out) {
				memcpy(expect + out_total, p->mem + at, s->len[i]);
				out_total += s->len[i];
			} else {
				in_total += s->len[i];
			}
			at += s->len[i] + 13;
		}
		head = vdrv_add(&p->drv, bufs, s->n_out, s->n_in, s->indirect, 100 + k);
		assert_true(head >= 0);
		assert_int_equal(vdrv_num_free(&p->drv), free_before - (s->indirect ? 1 : n));
		assert_int_equal(dpop(p), 0);
		assert_int_equal(p->chain.head, head);
		if (s->indirect)
			assert_int_equal(desc_flags(p->mem + P_DESC, head), VTR_VRING_DESC_F_INDIRECT);
		/* The device sees exactly the segments the driver gave, in order, at the same bytes. */
		assert_int_equal(p->chain.n_out, s->n_out);
		assert_int_equal(p->chain.n_in, s->n_in);
		assert_int_equal(p->chain.out_len, out_total);
		assert_int_equal(p->chain.in_len, in_total);
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(p->seg[i].len, s->len[i]);
			assert_ptr_equal(p->seg[i].base, p->mem + (bufs[i].addr - P_GPA));
		}
		assert_int_equal(vtr_chain_read(&p->chain, 0, got, sizeof(got)), out_total);
		assert_memory_equal(got, expect, out_total);
		/* The device writes into the writable part; the driver gets the chain and length back. */
		fill(back, sizeof(back), 99 + k);
		len = (uint32_t)vtr_chain_write(&p->chain, 0, back, in_total < sizeof(back) ? in_total : sizeof(back));
		assert_int_equal(vtr_vring_push(&p->dev, p->chain.head, len), 0);
		assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, &in_len), 1);
		assert_int_equal(cookie, 100 + k);
		assert_int_equal(in_len, in_total);
		assert_int_equal(len, in_total < sizeof(back) ? in_total : sizeof(back));
		if (s->n_in)
			assert_memory_equal(p->mem + (bufs[s->n_out].addr - P_GPA), back,
					    s->len[s->n_out] < len ? s->len[s->n_out] : len);
		assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 0);
		assert_int_equal(vdrv_num_free(&p->drv), free_before);
	}
	pair_free(p);
}

/*
 * Many rounds on a queue of 4: the 16-bit indexes wrap twice. Each round adds one to four chains
 * (a direct chain over the whole table, single descriptors, indirect tables of one to five), the
 * device takes them and gives them back in reverse order (allowed: §2.7.8), and the driver must
 * match each used id to its chain. With EVENT_IDX the first add after the device went idle kicks
 * and the others do not; every round's pushes notify the driver, which re-enabled them.
 */
static void test_drv_wrap(void **state)
{
	struct pair *p = pair_new(4, F_EVENT_IDX | F_INDIRECT);
	uint32_t added = 0;

	for (uint32_t round = 0; added < 140000; round++) {
		unsigned nchains = 1 + round % 4, expect_n[4];
		uint16_t heads[4];

		for (unsigned c = 0; c < nchains; c++) {
			bool ind = nchains > 1 && (round + c) % 3 == 0;
			unsigned n = nchains == 1 ? 4 : ind ? 1 + (round + c) % 5 : 1;
			uint32_t at = P_DATA + 0x1000 * c;
			struct vdrv_buf b[5];
			int head;

			for (unsigned i = 0; i < n; i++)
				b[i] = (struct vdrv_buf){ gpa(at + 64 * i), 8 + i };
			wr32(p->mem + at, round * 4 + c);	/* the device checks it */
			head = vdrv_add(&p->drv, b, n, 0, ind, round * 4 + c);
			assert_true(head >= 0 && head < 4);
			expect_n[c] = n;
			added++;
			/* The device is idle (its last pop said -EAGAIN) only before the first. */
			assert_int_equal(vdrv_kick_needed(&p->drv), c == 0);
		}
		/* One descriptor per chain, or one chain over all four: the table is full. */
		if (nchains == 1 || nchains == 4)
			assert_int_equal(vdrv_add(&p->drv, &(struct vdrv_buf){ gpa(P_DATA), 1 }, 1, 0, false, 0),
					 -ENOSPC);
		for (unsigned c = 0; c < nchains; c++) {
			uint32_t v;

			assert_int_equal(dpop(p), 0);
			assert_int_equal(p->chain.n_out, expect_n[c]);
			assert_int_equal(p->chain.n_in, 0);
			assert_int_equal(p->chain.out_len, expect_n[c] * 8 + expect_n[c] * (expect_n[c] - 1) / 2);
			assert_int_equal(vtr_chain_read(&p->chain, 0, &v, 4), 4);
			assert_int_equal(le32toh(v), round * 4 + c);
			heads[c] = p->chain.head;
		}
		assert_int_equal(dpop(p), -EAGAIN);
		for (unsigned c = nchains; c-- > 0;)
			assert_int_equal(vtr_vring_push(&p->dev, heads[c], c), 0);
		assert_true(vtr_vring_should_notify(&p->dev));
		for (unsigned c = nchains; c-- > 0;) {
			uint32_t cookie, len;

			assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
			assert_int_equal(cookie, round * 4 + c);
			assert_int_equal(len, c);
		}
		assert_false(vdrv_enable_cb(&p->drv));
		assert_int_equal(vdrv_num_free(&p->drv), 4);
	}
	assert_int_equal(p->drv.avail_idx, (uint16_t)added);
	assert_int_equal(p->drv.last_used, (uint16_t)added);
	assert_int_equal(vtr_vring_get_base(&p->dev), (uint16_t)added);
	assert_int_equal(rd16(p->mem + P_AVAIL + 2), (uint16_t)added);
	assert_int_equal(rd16(p->mem + P_USED + 2), (uint16_t)added);
	assert_true(added > 2 * 65536);
	pair_free(p);
}

static int add1(struct pair *p, uint32_t cookie)
{
	struct vdrv_buf b = { gpa(P_DATA + 64 * cookie), 32 };

	return vdrv_add(&p->drv, &b, 1, 0, false, cookie);
}

/* Available buffer notifications (§2.7.10), both ways of suppressing them. */
static void test_drv_kicks(void **state)
{
	struct pair *p = pair_new(8, F_EVENT_IDX);

	/* EVENT_IDX: avail_event starts at 0, so the first add kicks. */
	assert_false(vdrv_kick_needed(&p->drv));		/* nothing added */
	assert_true(add1(p, 0) >= 0);
	assert_true(vdrv_kick_needed(&p->drv));
	assert_false(vdrv_kick_needed(&p->drv));		/* nothing new since */
	assert_true(add1(p, 1) >= 0);
	assert_false(vdrv_kick_needed(&p->drv));		/* the device has not caught up */
	assert_int_equal(dpop(p), 0);
	assert_true(add1(p, 2) >= 0);
	/* avail_event is 1 now, but entry 1 was published before: the device, still busy, pops on
	 * until -EAGAIN and finds 1 and 2 itself. No kick. */
	assert_false(vdrv_kick_needed(&p->drv));
	assert_int_equal(dpop(p), 0);
	assert_int_equal(dpop(p), 0);
	assert_int_equal(dpop(p), -EAGAIN);			/* idle: avail_event = 3 */
	assert_true(add1(p, 3) >= 0);
	assert_true(add1(p, 4) >= 0);
	assert_true(vdrv_kick_needed(&p->drv));		/* two adds, one kick */
	assert_true(add1(p, 5) >= 0);
	assert_false(vdrv_kick_needed(&p->drv));
	/* Disabling kicks is a no-op with EVENT_IDX on the device side (avail_event just stays). */
	assert_false(vtr_vring_enable_notify(&p->dev, false));
	assert_true(vtr_vring_enable_notify(&p->dev, true));	/* entries 3..5 wait: it pops on */
	assert_true(add1(p, 6) >= 0);
	assert_false(vdrv_kick_needed(&p->drv));		/* so no kick for 6 either */
	for (unsigned i = 3; i <= 6; i++)
		assert_int_equal(dpop(p), 0);
	assert_int_equal(dpop(p), -EAGAIN);
	assert_true(add1(p, 7) >= 0);
	assert_true(vdrv_kick_needed(&p->drv));
	pair_free(p);

	/* Without EVENT_IDX: used->flags NO_NOTIFY. */
	p = pair_new(8, 0);
	assert_true(add1(p, 0) >= 0);
	assert_true(vdrv_kick_needed(&p->drv));
	assert_false(vtr_vring_enable_notify(&p->dev, false));
	assert_true(add1(p, 1) >= 0);
	assert_false(vdrv_kick_needed(&p->drv));
	assert_true(vtr_vring_enable_notify(&p->dev, true));	/* two wait */
	assert_true(add1(p, 2) >= 0);
	assert_true(vdrv_kick_needed(&p->drv));		/* the flag alone decides */
	pair_free(p);
}

/* Used buffer notifications (§2.7.7), decided by vring.c from what the driver wrote. */
static void test_drv_interrupts(void **state)
{
	struct pair *p = pair_new(8, F_EVENT_IDX);
	uint32_t cookie, len;

	for (uint32_t i = 0; i < 6; i++)
		assert_true(add1(p, i) >= 0);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(dpop(p), 0);
	assert_false(vdrv_enable_cb(&p->drv));			/* used_event = 0, nothing used yet */
	assert_false(vdrv_has_used(&p->drv));
	assert_int_equal(vtr_vring_push(&p->dev, 0, 0), 0);
	assert_true(vtr_vring_should_notify(&p->dev));
	assert_true(vdrv_has_used(&p->drv));
	assert_int_equal(vtr_vring_push(&p->dev, 1, 0), 0);
	assert_false(vtr_vring_should_notify(&p->dev));	/* the driver has not asked again */
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
	assert_int_equal(cookie, 1);
	assert_false(vdrv_enable_cb(&p->drv));			/* used_event = 2 */
	assert_int_equal(vtr_vring_push(&p->dev, 2, 0), 0);
	assert_true(vtr_vring_should_notify(&p->dev));
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
	vdrv_disable_cb(&p->drv);
	assert_int_equal(vtr_vring_push(&p->dev, 3, 0), 0);
	assert_false(vtr_vring_should_notify(&p->dev));	/* disabled */
	assert_true(vdrv_enable_cb(&p->drv));			/* 3 arrived meanwhile: read it now */
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
	assert_int_equal(cookie, 3);
	assert_false(vdrv_enable_cb(&p->drv));
	assert_int_equal(vtr_vring_push(&p->dev, 4, 0), 0);
	assert_true(vtr_vring_should_notify(&p->dev));
	pair_free(p);

	/* Without EVENT_IDX: avail->flags NO_INTERRUPT. */
	p = pair_new(8, 0);
	for (uint32_t i = 0; i < 4; i++)
		assert_true(add1(p, i) >= 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(dpop(p), 0);
	assert_int_equal(vtr_vring_push(&p->dev, 0, 0), 0);
	assert_true(vtr_vring_should_notify(&p->dev));
	vdrv_disable_cb(&p->drv);
	assert_int_equal(rd16(p->mem + P_AVAIL), VTR_VRING_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(vtr_vring_push(&p->dev, 1, 0), 0);
	assert_false(vtr_vring_should_notify(&p->dev));
	assert_true(vdrv_enable_cb(&p->drv));			/* two waiting */
	assert_int_equal(rd16(p->mem + P_AVAIL), 0);
	assert_int_equal(vtr_vring_push(&p->dev, 2, 0), 0);
	assert_true(vtr_vring_should_notify(&p->dev));
	pair_free(p);
}

/* A used element written by hand, as a buggy or hostile device would. */
static void put_used(struct pair *p, uint16_t idx, uint32_t id, uint32_t len)
{
	uint8_t *e = p->mem + P_USED + 4 + 8 * (idx % p->num);

	wr32(e, id);
	wr32(e + 4, len);
	wr16(p->mem + P_USED + 2, (uint16_t)(idx + 1));
}

static void expect_drv_broken(struct pair *p, int err, const char *what)
{
	uint32_t cookie = 77, len = 77;

	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), err);
	assert_int_equal(cookie, 77);
	if (!strstr(vdrv_strerror(&p->drv), what))
		fail_msg("\"%s\" does not mention \"%s\"", vdrv_strerror(&p->drv), what);
	/* It sticks, and nothing more goes onto the ring. */
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), err);
	assert_int_equal(add1(p, 9), -EIO);
	assert_false(vdrv_kick_needed(&p->drv));
	assert_false(vdrv_enable_cb(&p->drv));
	assert_false(vdrv_has_used(&p->drv));
}

static void test_drv_hostile_device(void **state)
{
	struct pair *p;
	uint32_t cookie, len;

	/* An id outside the table. */
	p = pair_new(8, F_EVENT_IDX);
	assert_int_equal(add1(p, 0), 0);
	put_used(p, 0, 8, 0);
	expect_drv_broken(p, -ERANGE, "outside the table");
	pair_free(p);

	/* An id that is not in flight. */
	p = pair_new(8, F_EVENT_IDX);
	assert_int_equal(add1(p, 0), 0);
	put_used(p, 0, 5, 0);
	expect_drv_broken(p, -EINVAL, "not a chain in flight");
	pair_free(p);

	/* The same chain given back twice. */
	p = pair_new(8, 0);
	assert_int_equal(add1(p, 0), 0);
	assert_int_equal(add1(p, 1), 1);
	put_used(p, 0, 0, 0);
	put_used(p, 1, 0, 0);
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
	expect_drv_broken(p, -EINVAL, "id 0 is not a chain in flight");
	pair_free(p);

	/* used->idx far ahead of what is in flight. */
	p = pair_new(8, 0);
	assert_int_equal(add1(p, 0), 0);
	wr16(p->mem + P_USED + 2, 5);
	expect_drv_broken(p, -EPROTO, "more than the 1 chains in flight");
	pair_free(p);

	/* Something used with nothing in flight (used->idx moved backwards counts too). */
	p = pair_new(8, 0);
	wr16(p->mem + P_USED + 2, 0xffff);
	expect_drv_broken(p, -EPROTO, "ahead");
	pair_free(p);

	/* The device scribbling on the descriptor table does not touch the driver's free list. */
	p = pair_new(4, 0);
	assert_int_equal(add1(p, 0), 0);
	assert_int_equal(dpop(p), 0);
	memset(p->mem + P_DESC, 0xff, 16 * 4);
	assert_int_equal(vtr_vring_push(&p->dev, 0, 0), 0);
	assert_int_equal(vdrv_get_used(&p->drv, &cookie, &len, NULL), 1);
	assert_int_equal(vdrv_num_free(&p->drv), 4);
	for (uint32_t i = 0; i < 4; i++)
		assert_true(add1(p, i) >= 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(dpop(p), 0);
	pair_free(p);
}

static void test_drv_add_errors(void **state)
{
	struct pair *p = pair_new(4, F_EVENT_IDX | F_INDIRECT);
	struct vdrv_buf b[9];
	struct vdrv q;
	uint8_t tables[3][4096] __attribute__((aligned(16)));

	for (unsigned i = 0; i < 9; i++)
		b[i] = (struct vdrv_buf){ gpa(P_DATA + 64 * i), 16 };
	assert_int_equal(vdrv_add(&p->drv, b, 0, 0, false, 0), -EINVAL);
	assert_int_equal(vdrv_add(&p->drv, b, 5, 0, false, 0), -ENOSPC);	/* longer than the queue */
	assert_int_equal(vdrv_add(&p->drv, b, 9, 0, true, 0), -E2BIG);	/* longer than a table */
	assert_int_equal(vdrv_add(&p->drv, b, 8, 0, true, 0), 0);		/* one descriptor */
	assert_int_equal(vdrv_num_free(&p->drv), 3);
	assert_int_equal(vdrv_add(&p->drv, b, 3, 0, false, 1), 1);
	assert_int_equal(vdrv_add(&p->drv, b, 1, 0, true, 2), -ENOSPC);
	/* A chain of more than 2^32 bytes (§2.7.5.1). */
	pair_free(p);
	p = pair_new(4, F_INDIRECT);
	b[0].len = b[1].len = UINT32_MAX;
	assert_int_equal(vdrv_add(&p->drv, b, 2, 0, false, 0), -EINVAL);
	assert_int_equal(vdrv_add(&p->drv, b, 1, 1, false, 0), -EINVAL);
	pair_free(p);
	/* Indirect needs the feature and tables. */
	p = pair_new(4, 0);
	b[0].len = b[1].len = 16;
	assert_int_equal(vdrv_add(&p->drv, b, 2, 0, true, 0), -EOPNOTSUPP);
	pair_free(p);
	/* Sizes and alignments (§2.7). */
	assert_int_equal(vdrv_init(&q, 3, tables[0], tables[1], tables[2], 0), -EINVAL);
	assert_int_equal(vdrv_init(&q, 0, tables[0], tables[1], tables[2], 0), -EINVAL);
	assert_int_equal(vdrv_init(&q, 65536, tables[0], tables[1], tables[2], 0), -EINVAL);
	assert_int_equal(vdrv_init(&q, 4, tables[0] + 8, tables[1], tables[2], 0), -EINVAL);
	assert_int_equal(vdrv_init(&q, 4, tables[0], tables[1] + 1, tables[2], 0), -EINVAL);
	assert_int_equal(vdrv_init(&q, 4, tables[0], tables[1], tables[2] + 2, 0), -EINVAL);
	assert_int_equal(vdrv_init(&q, 4, tables[0], tables[1], tables[2], 0), 0);
	vdrv_free(&q);
}

/* ==== part 2: the vhost-user session against a scripted fake back-end in a thread ==== */

/* How the fake back-end misbehaves on the request cfg.fault_on. */
enum fault {
	FAULT_NONE,
	FAULT_SHORT,		/* the answer's payload is 4 bytes */
	FAULT_WRONG_REQUEST,	/* the answer names another request */
	FAULT_NO_REPLY_FLAG,	/* the answer's flags are 0x1 */
	FAULT_NACK,		/* REPLY_ACK status 1 */
	FAULT_HANGUP,		/* closes the connection instead of answering */
	FAULT_SILENT,		/* never answers */
	FAULT_FDS,		/* the answer comes with an fd */
	FAULT_HUGE,		/* a header that claims 64 KiB of payload */
	FAULT_CONFIG_SIZE,	/* GET_CONFIG: 20 bytes, but config.size says 4 */
};

struct fake_cfg {
	uint64_t features, protocol_features, cid;
	uint32_t fault_on;
	enum fault fault;
	uint32_t vring_base;	/* what GET_VRING_BASE answers */
};

#define MAX_REC		64

/*
 * The fake back-end: records every request (and what vtr_vu_check_request() thinks of it), keeps
 * what a device keeps (memory mapped from the SET_MEM_TABLE fds, ring sizes and addresses,
 * eventfds), and answers as scripted. The thread never calls cmocka: the test checks afterwards.
 */
struct fake {
	int sock;
	pthread_t thread;
	struct fake_cfg cfg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned nrec;
	struct vtr_vu_msg rec[MAX_REC];	/* fds not kept: -1 */
	char check[MAX_REC][160];	/* vtr_vu_check_request() errors, "" when fine */
	bool done;
	/* device state */
	struct vtr_mem mem;
	void *map[VTR_VU_MAX_REGIONS];
	size_t map_len[VTR_VU_MAX_REGIONS];
	unsigned nmaps;
	int kick[2], call[2];
	unsigned num[2];
	struct vtr_vu_vring_addr addr[2];
	uint64_t features;
	char err[200];			/* what went wrong inside the fake itself */
};

static struct fake_cfg fake_default(void)
{
	/* More than the front-end wants: it must take only its own subset. */
	return (struct fake_cfg){
		.features = F_VERSION_1 | F_PROTOCOL | F_EVENT_IDX | F_INDIRECT | F_SEQPACKET | F_NOTIFY_EMPTY,
		.protocol_features = PF(MQ) | PF(REPLY_ACK) | PF(CONFIG) | PF(CONFIGURE_MEM_SLOTS) | PF(STATUS) |
				     PF(BACKEND_REQ),
		.cid = 42,
		.vring_base = 7,
	};
}

static void fake_map(struct fake *fb, struct vtr_vu_msg *m)
{
	for (unsigned i = 0; i < m->p.mem.nregions && i < m->nfds; i++) {
		const struct vtr_vu_region *r = &m->p.mem.regions[i];
		struct vtr_mem_region mr;
		void *p = mmap(NULL, r->memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fds[i],
			       (off_t)r->mmap_offset);

		if (p == MAP_FAILED) {
			snprintf(fb->err, sizeof(fb->err), "mmap region %u: %s", i, strerror(errno));
			continue;
		}
		fb->map[fb->nmaps] = p;
		fb->map_len[fb->nmaps++] = r->memory_size;
		mr = (struct vtr_mem_region){ r->guest_phys_addr, r->memory_size, r->userspace_addr, r->mmap_offset,
					      p };
		if (vtr_mem_add(&fb->mem, &mr))
			snprintf(fb->err, sizeof(fb->err), "region %u does not fit the map", i);
	}
	/* A back-end closes the fds once mapped (libvhost-user does). */
}

static void fake_keep_fd(struct fake *fb, struct vtr_vu_msg *m, int *slot)
{
	uint32_t i = (uint32_t)(m->p.u64 & VTR_VU_VRING_IDX_MASK);

	if (i < 2 && m->nfds == 1) {
		if (slot[i] >= 0)
			close(slot[i]);
		slot[i] = m->fds[0];
		m->fds[0] = -1;
	}
}

/* Takes the request into the device state; returns the size of its own answer, or -1 for none. */
static int fake_take(struct fake *fb, struct vtr_vu_msg *m, uint8_t *payload)
{
	uint64_t v;
	uint32_t i = m->p.state.index;

	switch (m->request) {
	case VTR_VU_GET_FEATURES:
		v = fb->cfg.features;
		memcpy(payload, &v, 8);
		return 8;
	case VTR_VU_GET_PROTOCOL_FEATURES:
		v = fb->cfg.protocol_features;
		memcpy(payload, &v, 8);
		return 8;
	case VTR_VU_GET_CONFIG: {
		struct vtr_vu_config c = m->p.config;
		uint64_t cid = htole64(fb->cfg.cid);

		memcpy(c.payload, &cid, 8);
		memcpy(payload, &c, m->size);
		return (int)m->size;
	}
	case VTR_VU_GET_VRING_BASE: {
		struct vtr_vu_vring_state st = { i, fb->cfg.vring_base };

		memcpy(payload, &st, 8);
		return 8;
	}
	case VTR_VU_SET_FEATURES:
		fb->features = m->p.u64;
		break;
	case VTR_VU_SET_MEM_TABLE:
		fake_map(fb, m);
		break;
	case VTR_VU_SET_VRING_NUM:
		if (i < 2)
			fb->num[i] = m->p.state.num;
		break;
	case VTR_VU_SET_VRING_ADDR:
		if (m->p.addr.index < 2)
			fb->addr[m->p.addr.index] = m->p.addr;
		break;
	case VTR_VU_SET_VRING_KICK:
		fake_keep_fd(fb, m, fb->kick);
		break;
	case VTR_VU_SET_VRING_CALL:
		fake_keep_fd(fb, m, fb->call);
		break;
	}
	return -1;
}

/* Handles one request; false: stop (hang up). */
static bool fake_handle(struct fake *fb, struct vtr_vu_msg *m)
{
	struct vtr_vu_msg r = { .request = m->request, .flags = VTR_VU_VERSION | VTR_VU_REPLY };
	bool fault = fb->cfg.fault_on == m->request;
	int size, efd = -1, ret;

	pthread_mutex_lock(&fb->lock);
	if (fb->nrec < MAX_REC) {
		fb->rec[fb->nrec] = *m;
		for (unsigned i = 0; i < VTR_VU_MAX_FDS; i++)
			fb->rec[fb->nrec].fds[i] = -1;
		fb->check[fb->nrec][0] = '\0';
		vtr_vu_check_request(m, fb->check[fb->nrec], sizeof(fb->check[0]));
		fb->nrec++;
	}
	size = fake_take(fb, m, r.p.raw);
	pthread_cond_broadcast(&fb->cond);
	pthread_mutex_unlock(&fb->lock);

	if (size < 0) {
		/* REPLY_ACK (vhost-user.rst): a u64 status only when asked for. */
		if (!(m->flags & VTR_VU_NEED_REPLY) && !fault)
			return true;
		r.p.u64 = 0;
		size = 8;
	}
	r.size = (uint32_t)size;
	if (fault) {
		switch (fb->cfg.fault) {
		case FAULT_NONE:
			break;
		case FAULT_SHORT:
			r.size = 4;
			break;
		case FAULT_WRONG_REQUEST:
			r.request = m->request == VTR_VU_GET_FEATURES ? VTR_VU_GET_CONFIG : VTR_VU_GET_FEATURES;
			break;
		case FAULT_NO_REPLY_FLAG:
			r.flags = VTR_VU_VERSION;
			break;
		case FAULT_NACK:
			r.p.u64 = 1;
			break;
		case FAULT_HANGUP:
			return false;
		case FAULT_SILENT:
			return true;
		case FAULT_FDS:
			efd = eventfd(0, EFD_CLOEXEC);
			break;
		case FAULT_HUGE: {
			uint32_t raw[3] = { m->request, VTR_VU_VERSION | VTR_VU_REPLY, 0x10000 };

			ret = (int)write(fb->sock, raw, sizeof(raw));
			(void)ret;
			return true;
		}
		case FAULT_CONFIG_SIZE:
			r.p.config.size = 4;
			break;
		}
	}
	ret = vtr_vu_write(fb->sock, &r, &efd, efd >= 0 ? 1 : 0);
	if (efd >= 0)
		close(efd);
	return ret == 0;
}

static void *fake_main(void *arg)
{
	struct fake *fb = arg;
	struct vtr_vu_reader reader;

	vtr_vu_reader_init(&reader);
	for (;;) {
		struct vtr_vu_msg m;
		bool go_on;

		if (vtr_vu_read(fb->sock, &reader, &m) != 1)
			break;
		go_on = fake_handle(fb, &m);
		vtr_vu_msg_close_fds(&m);
		if (!go_on)
			break;
	}
	vtr_vu_reader_reset(&reader);
	/* The front-end sees the hang-up; the socket itself is closed by fake_stop(). */
	shutdown(fb->sock, SHUT_RDWR);
	pthread_mutex_lock(&fb->lock);
	fb->done = true;
	pthread_cond_broadcast(&fb->cond);
	pthread_mutex_unlock(&fb->lock);
	return NULL;
}

/* Starts a fake back-end; *ret_sock is the front-end's end of the connection. */
static struct fake *fake_start(const struct fake_cfg *cfg, int *ret_sock)
{
	struct fake *fb = calloc(1, sizeof(*fb));
	int sv[2];

	assert_non_null(fb);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fb->sock = sv[1];
	fb->cfg = *cfg;
	fb->kick[0] = fb->kick[1] = fb->call[0] = fb->call[1] = -1;
	vtr_mem_init(&fb->mem);
	pthread_mutex_init(&fb->lock, NULL);
	pthread_cond_init(&fb->cond, NULL);
	assert_int_equal(pthread_create(&fb->thread, NULL, fake_main, fb), 0);
	*ret_sock = sv[0];
	return fb;
}

/* Waits until the fake has recorded n requests (or ended). */
static void fake_wait(struct fake *fb, unsigned n)
{
	pthread_mutex_lock(&fb->lock);
	while (fb->nrec < n && !fb->done)
		pthread_cond_wait(&fb->cond, &fb->lock);
	pthread_mutex_unlock(&fb->lock);
}

/* Waits for the thread to end (the front-end closed its end, or the fake hung up), frees all. */
static void fake_stop(struct fake *fb)
{
	assert_int_equal(pthread_join(fb->thread, NULL), 0);
	for (unsigned i = 0; i < fb->nmaps; i++)
		munmap(fb->map[i], fb->map_len[i]);
	for (unsigned i = 0; i < 2; i++) {
		if (fb->kick[i] >= 0)
			close(fb->kick[i]);
		if (fb->call[i] >= 0)
			close(fb->call[i]);
	}
	close(fb->sock);
	pthread_mutex_destroy(&fb->lock);
	pthread_cond_destroy(&fb->cond);
	if (fb->err[0])
		fail_msg("the fake back-end: %s", fb->err);
	free(fb);
}

static struct vtr_vufront *front_start(const struct fake_cfg *fc, struct vtr_vufront_config *cfg, struct fake **ret_fb)
{
	struct vtr_vufront *front = NULL;
	char err[256];
	int ret;

	*ret_fb = fake_start(fc, &cfg->sock);
	ret = vtr_vufront_new(cfg, &front, err, sizeof(err));
	if (ret)
		fail_msg("vtr_vufront_new: %d (%s)", ret, err);
	assert_non_null(front);
	assert_string_equal(err, "");
	assert_string_equal(vtr_vufront_error(front), "");
	return front;
}

static void expect_req(const struct fake *fb, unsigned i, uint32_t request, uint32_t flags)
{
	if (fb->rec[i].request != request || fb->rec[i].flags != flags)
		fail_msg("request %u: %s (%u) flags 0x%x, expected %s flags 0x%x", i,
			 vtr_vu_request_name(fb->rec[i].request), fb->rec[i].request, fb->rec[i].flags,
			 vtr_vu_request_name(request), flags);
	if (fb->check[i][0])
		fail_msg("request %u (%s) is malformed: %s", i, vtr_vu_request_name(request), fb->check[i]);
}

static bool fd_is_eventfd(int fd)
{
	char path[64], link[128];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strstr(link, "eventfd") != NULL;
}

/* Which of the fake's regions holds [uva, uva + len) (front-end addresses), or -1. */
static int region_of(const struct fake *fb, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < fb->mem.n; i++) {
		const struct vtr_mem_region *r = &fb->mem.r[i];

		if (uva >= r->userspace_addr && uva - r->userspace_addr < r->memory_size &&
		    len <= r->memory_size - (uva - r->userspace_addr))
			return (int)i;
	}
	return -1;
}

static bool ranges_apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	/* Disjoint and not even adjacent. */
	return a + alen < b || b + blen < a;
}

#define N_SETUP		19	/* requests of vtr_vufront_new() */
#define N_ALL		23	/* and of vtr_vufront_free() */

static void test_session_sequence(void **state)
{
	static const uint32_t ring_seq[] = { VTR_VU_SET_VRING_NUM, VTR_VU_SET_VRING_BASE, VTR_VU_SET_VRING_ADDR,
					     VTR_VU_SET_VRING_KICK, VTR_VU_SET_VRING_CALL };
	struct fake_cfg fc = fake_default();
	struct vtr_vufront_config cfg = { .regions = 3, .queue_size = 64, .mem_size = 8u << 20 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fds_before = count_fds(), fds_during;
	const struct vtr_vu_msg *mt;
	struct vtr_vufront *front;
	struct fake *fb;
	unsigned regions_used = 0;
	uint64_t v;

	front = front_start(&fc, &cfg, &fb);
	fake_wait(fb, N_SETUP);		/* every request was acked: nothing left, but be sure */
	assert_int_equal(fb->nrec, N_SETUP);

	/* The sequence and its flags: NEED_REPLY (0x8) on each request that has no answer of its own. */
	expect_req(fb, 0, VTR_VU_GET_FEATURES, 0x1);
	expect_req(fb, 1, VTR_VU_GET_PROTOCOL_FEATURES, 0x1);
	expect_req(fb, 2, VTR_VU_SET_PROTOCOL_FEATURES, 0x1);
	expect_req(fb, 3, VTR_VU_SET_OWNER, 0x9);
	expect_req(fb, 4, VTR_VU_GET_CONFIG, 0x1);
	expect_req(fb, 5, VTR_VU_SET_FEATURES, 0x9);
	expect_req(fb, 6, VTR_VU_SET_MEM_TABLE, 0x9);
	for (unsigned ring = 0; ring < 2; ring++)
		for (unsigned k = 0; k < 5; k++)
			expect_req(fb, 7 + 5 * ring + k, ring_seq[k], 0x9);
	expect_req(fb, 17, VTR_VU_SET_VRING_ENABLE, 0x9);
	expect_req(fb, 18, VTR_VU_SET_VRING_ENABLE, 0x9);

	/* What was negotiated: the front-end's subset of what was offered. */
	assert_int_equal(fb->rec[2].p.u64, PF(REPLY_ACK) | PF(CONFIG));
	assert_int_equal(fb->rec[5].p.u64, F_VERSION_1 | F_PROTOCOL | F_EVENT_IDX | F_INDIRECT | F_SEQPACKET);
	assert_int_equal(vtr_vufront_features(front), fb->rec[5].p.u64);
	assert_int_equal(vtr_vufront_protocol_features(front), PF(REPLY_ACK) | PF(CONFIG));
	assert_int_equal(fb->rec[4].size, 20);
	assert_int_equal(fb->rec[4].p.config.offset, 0);
	assert_int_equal(fb->rec[4].p.config.size, 8);
	assert_int_equal(vtr_vufront_guest_cid(front), 42);
	assert_int_equal(vtr_engine_cid(vtr_vufront_engine(front)), 42);

	/* SET_MEM_TABLE: one fd per region; sane regions apart from each other in every space. */
	mt = &fb->rec[6];
	assert_int_equal(mt->p.mem.nregions, 3);
	assert_int_equal(mt->nfds, 3);
	assert_int_equal(mt->size, 8 + 3 * 32);
	assert_int_equal(fb->mem.n, 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct vtr_vu_region *r = &mt->p.mem.regions[i];
		uint8_t *mine = fb->mem.r[i].host, *theirs = (uint8_t *)(uintptr_t)r->userspace_addr;

		assert_true(r->memory_size >= 1u << 20);
		assert_int_equal(r->memory_size % page, 0);
		assert_int_equal(r->guest_phys_addr % page, 0);
		assert_int_equal(r->userspace_addr % page, 0);
		assert_int_equal(r->mmap_offset % page, 0);
		assert_true(r->guest_phys_addr >= 1ull << 32);	/* needs 64 bits */
		for (unsigned j = 0; j < i; j++) {
			const struct vtr_vu_region *q = &mt->p.mem.regions[j];

			assert_true(ranges_apart(r->guest_phys_addr, r->memory_size, q->guest_phys_addr,
						 q->memory_size));
			assert_true(ranges_apart(r->userspace_addr, r->memory_size, q->userspace_addr, q->memory_size));
			assert_true(r->mmap_offset + r->memory_size <= q->mmap_offset ||
				    q->mmap_offset + q->memory_size <= r->mmap_offset);
		}
		/* The fd maps the very memory the front-end uses at userspace_addr: the same bytes,
		 * and a write on either side shows on the other. */
		assert_memory_equal(mine, theirs, r->memory_size);
		for (size_t off = 0; off < r->memory_size; off += r->memory_size / 7) {
			uint8_t old = mine[off];

			mine[off] = (uint8_t)(old ^ 0x5a);
			assert_int_equal(theirs[off], old ^ 0x5a);
			theirs[off] = old;
			assert_int_equal(mine[off], old);
		}
	}

	/* The rings: size, base 0, addresses that translate into the regions, no logging. */
	for (unsigned ring = 0; ring < 2; ring++) {
		const struct vtr_vu_vring_addr *a = &fb->rec[9 + 5 * ring].p.addr;
		struct vtr_vring vq;
		int rd, ra, ru;

		assert_int_equal(fb->rec[7 + 5 * ring].p.state.index, ring);
		assert_int_equal(fb->rec[7 + 5 * ring].p.state.num, 64);
		assert_int_equal(fb->rec[8 + 5 * ring].p.state.index, ring);
		assert_int_equal(fb->rec[8 + 5 * ring].p.state.num, 0);
		assert_int_equal(a->index, ring);
		assert_int_equal(a->flags, 0);
		assert_int_equal(a->log, 0);
		rd = region_of(fb, a->desc, vtr_vring_desc_bytes(64));
		ra = region_of(fb, a->avail, vtr_vring_avail_bytes(64));
		ru = region_of(fb, a->used, vtr_vring_used_bytes(64));
		assert_true(rd >= 0 && ra >= 0 && ru >= 0);
		regions_used |= 1u << rd | 1u << ra | 1u << ru;
		vtr_vring_init(&vq);
		assert_int_equal(vtr_vring_set_num(&vq, 64), 0);
		assert_int_equal(vtr_vring_set_addr(&vq, &fb->mem, VTR_VRING_ADDR_UVA, a->desc, a->avail, a->used), 0);
		/* KICK and CALL: the ring's index, no NOFD bit, one eventfd each. */
		for (unsigned k = 0; k < 2; k++) {
			const struct vtr_vu_msg *m = &fb->rec[10 + 5 * ring + k];

			assert_int_equal(m->p.u64, ring);
			assert_int_equal(m->nfds, 1);
		}
		assert_true(fd_is_eventfd(fb->kick[ring]));
		assert_true(fd_is_eventfd(fb->call[ring]));
		assert_int_equal(fb->rec[17 + ring].p.state.index, ring);
		assert_int_equal(fb->rec[17 + ring].p.state.num, 1);
	}
	assert_true(__builtin_popcount(regions_used) >= 2);	/* the tables are spread out */

	/* The RX ring is full of writable buffers of the default size, and the device was kicked. */
	{
		const struct vtr_vu_vring_addr *a = &fb->addr[0];
		struct vtr_seg seg[4];
		struct vtr_chain ch = { .seg = seg, .cap = 4 };
		struct vtr_vring vq;
		unsigned in_regions = 0;

		vtr_vring_init(&vq);
		assert_int_equal(vtr_vring_set_num(&vq, 64), 0);
		vtr_vring_set_features(&vq, fb->features);
		assert_int_equal(vtr_vring_set_addr(&vq, &fb->mem, VTR_VRING_ADDR_UVA, a->desc, a->avail, a->used), 0);
		for (unsigned i = 0; i < 64; i++) {
			assert_int_equal(vtr_vring_pop(&vq, &fb->mem, &ch), 0);
			assert_int_equal(ch.n_out, 0);
			assert_int_equal(ch.n_in, 1);
			assert_int_equal(ch.in_len, 4096 + 44);
			for (unsigned r = 0; r < fb->mem.n; r++)
				if ((uint8_t *)seg[0].base >= (uint8_t *)fb->mem.r[r].host &&
				    (uint8_t *)seg[0].base < (uint8_t *)fb->mem.r[r].host + fb->mem.r[r].memory_size)
					in_regions |= 1u << r;
		}
		assert_int_equal(vtr_vring_pop(&vq, &fb->mem, &ch), -EAGAIN);
		assert_int_equal(in_regions, 7);		/* buffers in all three regions */
		assert_int_equal(read(fb->kick[0], &v, 8), 8);
		assert_true(v >= 1);
		assert_int_equal(read(fb->kick[1], &v, 8), -1);	/* nothing sent yet */
		assert_int_equal(errno, EAGAIN);
	}

	fds_during = count_fds();
	assert_true(fds_during > fds_before);
	vtr_vufront_free(front);
	fake_stop(fb);
	assert_int_equal(count_fds(), fds_before);
}

/* The teardown is in the fake's record even after fake_stop(): check before, while fb lives. */
static void test_session_teardown(void **state)
{
	struct fake_cfg fc = fake_default();
	struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 16 };
	struct vtr_vufront *front;
	struct fake *fb;

	front = front_start(&fc, &cfg, &fb);
	vtr_vufront_free(front);
	fake_wait(fb, N_ALL + 1);		/* ends with the hang-up */
	assert_int_equal(fb->nrec, N_ALL);
	expect_req(fb, 19, VTR_VU_SET_VRING_ENABLE, 0x9);
	expect_req(fb, 20, VTR_VU_SET_VRING_ENABLE, 0x9);
	expect_req(fb, 21, VTR_VU_GET_VRING_BASE, 0x1);
	expect_req(fb, 22, VTR_VU_GET_VRING_BASE, 0x1);
	for (unsigned ring = 0; ring < 2; ring++) {
		assert_int_equal(fb->rec[19 + ring].p.state.index, ring);
		assert_int_equal(fb->rec[19 + ring].p.state.num, 0);
		assert_int_equal(fb->rec[21 + ring].p.state.index, ring);
	}
	fake_stop(fb);
}

static void test_session_negotiation(void **state)
{
	struct fake_cfg fc = fake_default();
	struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 16, .no_seqpacket = true };
	struct vtr_vufront *front;
	struct fake *fb;

	/* No REPLY_ACK, no EVENT_IDX offered; SEQPACKET not wanted: no NEED_REPLY anywhere. */
	fc.protocol_features = PF(CONFIG) | PF(MQ);
	fc.features &= ~F_EVENT_IDX;
	front = front_start(&fc, &cfg, &fb);
	fake_wait(fb, N_SETUP);
	assert_int_equal(fb->rec[2].p.u64, PF(CONFIG));
	assert_int_equal(fb->rec[5].p.u64, F_VERSION_1 | F_PROTOCOL | F_INDIRECT);
	for (unsigned i = 0; i < N_SETUP; i++)
		assert_int_equal(fb->rec[i].flags, 0x1);
	assert_int_equal(vtr_vufront_features(front), F_VERSION_1 | F_PROTOCOL | F_INDIRECT);
	assert_int_equal(vtr_vufront_protocol_features(front), PF(CONFIG));
	vtr_vufront_free(front);
	fake_wait(fb, N_ALL + 1);
	assert_int_equal(fb->nrec, N_ALL);
	for (unsigned i = N_SETUP; i < N_ALL; i++)
		assert_int_equal(fb->rec[i].flags, 0x1);
	fake_stop(fb);

	/* Offered, but the config says no EVENT_IDX. */
	fc = fake_default();
	cfg = (struct vtr_vufront_config){ .mem_size = 4u << 20, .queue_size = 16, .no_event_idx = true };
	front = front_start(&fc, &cfg, &fb);
	assert_int_equal(fb->rec[5].p.u64, F_VERSION_1 | F_PROTOCOL | F_INDIRECT | F_SEQPACKET);
	vtr_vufront_free(front);
	fake_stop(fb);
}

struct fault_case {
	const char *name;
	uint32_t on;
	enum fault fault;
	uint64_t features, protocol_features, cid;	/* 0: the default */
	enum vtr_vufront_tx_layout layout;
	int expect;
	const char *msg1, *msg2;	/* what the error must say */
};

static void test_session_faults(void **state)
{
	static const struct fault_case cases[] = {
		{ "short answer", VTR_VU_GET_FEATURES, FAULT_SHORT, 0, 0, 0, 0,
		  -EPROTO, "GET_FEATURES", "4 bytes, not 8" },
		{ "answer to another request", VTR_VU_GET_FEATURES, FAULT_WRONG_REQUEST, 0, 0, 0, 0,
		  -EPROTO, "GET_FEATURES", "answered with GET_CONFIG" },
		{ "answer without REPLY", VTR_VU_GET_PROTOCOL_FEATURES, FAULT_NO_REPLY_FLAG, 0, 0, 0, 0,
		  -EPROTO, "GET_PROTOCOL_FEATURES", "flags 0x1" },
		{ "answer with an fd", VTR_VU_GET_FEATURES, FAULT_FDS, 0, 0, 0, 0,
		  -EPROTO, "GET_FEATURES", "1 fds" },
		{ "answer too large", VTR_VU_GET_PROTOCOL_FEATURES, FAULT_HUGE, 0, 0, 0, 0,
		  -EPROTO, "GET_PROTOCOL_FEATURES", "larger than any" },
		{ "short config", VTR_VU_GET_CONFIG, FAULT_SHORT, 0, 0, 0, 0,
		  -EPROTO, "GET_CONFIG", "not 20" },
		{ "config size", VTR_VU_GET_CONFIG, FAULT_CONFIG_SIZE, 0, 0, 0, 0,
		  -EPROTO, "GET_CONFIG", "4 bytes of config" },
		{ "SET_OWNER refused", VTR_VU_SET_OWNER, FAULT_NACK, 0, 0, 0, 0,
		  -EPROTO, "SET_OWNER", "status 0x1" },
		{ "SET_FEATURES refused", VTR_VU_SET_FEATURES, FAULT_NACK, 0, 0, 0, 0,
		  -EPROTO, "SET_FEATURES", "refused" },
		{ "SET_MEM_TABLE refused", VTR_VU_SET_MEM_TABLE, FAULT_NACK, 0, 0, 0, 0,
		  -EPROTO, "SET_MEM_TABLE", "refused" },
		{ "SET_VRING_ADDR refused", VTR_VU_SET_VRING_ADDR, FAULT_NACK, 0, 0, 0, 0,
		  -EPROTO, "SET_VRING_ADDR", "refused" },
		{ "SET_VRING_CALL refused", VTR_VU_SET_VRING_CALL, FAULT_NACK, 0, 0, 0, 0,
		  -EPROTO, "SET_VRING_CALL", "refused" },
		{ "SET_VRING_ENABLE refused", VTR_VU_SET_VRING_ENABLE, FAULT_NACK, 0, 0, 0, 0,
		  -EPROTO, "SET_VRING_ENABLE", "refused" },
		{ "short ack", VTR_VU_SET_MEM_TABLE, FAULT_SHORT, 0, 0, 0, 0,
		  -EPROTO, "SET_MEM_TABLE", "4 bytes" },
		{ "ack for another request", VTR_VU_SET_VRING_NUM, FAULT_WRONG_REQUEST, 0, 0, 0, 0,
		  -EPROTO, "SET_VRING_NUM", "answered with GET_FEATURES" },
		{ "hang-up at GET_CONFIG", VTR_VU_GET_CONFIG, FAULT_HANGUP, 0, 0, 0, 0,
		  -EPIPE, "GET_CONFIG", "closed" },
		{ "hang-up at SET_VRING_KICK", VTR_VU_SET_VRING_KICK, FAULT_HANGUP, 0, 0, 0, 0,
		  -EPIPE, "SET_VRING_KICK", "closed" },
		{ "silence", VTR_VU_SET_OWNER, FAULT_SILENT, 0, 0, 0, 0,
		  -ETIMEDOUT, "SET_OWNER", "no answer" },
		{ "CID 2", 0, FAULT_NONE, 0, 0, 2, 0,
		  -EPROTO, "GET_CONFIG", "guest CID 2 is reserved" },
		{ "CID ANY", 0, FAULT_NONE, 0, 0, 0xffffffff, 0,
		  -EPROTO, "GET_CONFIG", "reserved" },
		{ "CID past 32 bits", 0, FAULT_NONE, 0, 0, (1ull << 32) | 3, 0,
		  -EPROTO, "GET_CONFIG", "reserved" },
		{ "no protocol features", 0, FAULT_NONE, F_VERSION_1 | F_EVENT_IDX, 0, 0, 0,
		  -EPROTO, "VHOST_USER_F_PROTOCOL_FEATURES", "GET_CONFIG" },
		{ "legacy device", 0, FAULT_NONE, F_PROTOCOL | F_EVENT_IDX, 0, 0, 0,
		  -EPROTO, "VIRTIO_F_VERSION_1", "legacy" },
		{ "no CONFIG", 0, FAULT_NONE, 0, PF(REPLY_ACK) | PF(MQ), 0, 0,
		  -EPROTO, "PROTOCOL_F_CONFIG", "guest CID" },
		{ "indirect layout, no INDIRECT_DESC", 0, FAULT_NONE, F_VERSION_1 | F_PROTOCOL | F_EVENT_IDX, 0, 0,
		  VTR_VUFRONT_TX_INDIRECT,
		  -EOPNOTSUPP, "INDIRECT_DESC", "does not offer" },
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct fault_case *c = &cases[k];
		struct fake_cfg fc = fake_default();
		struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 16, .reply_timeout_ms = 300,
						  .tx_layout = c->layout };
		struct vtr_vufront *front = (struct vtr_vufront *)&fc;	/* must stay untouched */
		int fds_before = count_fds(), ret;
		struct fake *fb;
		char err[256];

		fc.fault_on = c->on;
		fc.fault = c->fault;
		if (c->features)
			fc.features = c->features;
		if (c->protocol_features)
			fc.protocol_features = c->protocol_features;
		if (c->cid)
			fc.cid = c->cid;
		fb = fake_start(&fc, &cfg.sock);
		ret = vtr_vufront_new(&cfg, &front, err, sizeof(err));
		if (ret != c->expect || !strstr(err, c->msg1) || !strstr(err, c->msg2))
			fail_msg("%s: %d \"%s\", expected %d mentioning \"%s\" and \"%s\"", c->name, ret, err,
				 c->expect, c->msg1, c->msg2);
		assert_ptr_equal(front, (struct vtr_vufront *)&fc);
		fake_stop(fb);
		/* Everything it opened (memfd, eventfds, the socket) is closed again. */
		if (count_fds() != fds_before)
			fail_msg("%s: %d fds before, %d after", c->name, fds_before, count_fds());
	}
}

/* Bad configurations are refused before a byte is sent; the socket is closed even so. */
static void test_config_errors(void **state)
{
	static const struct {
		struct vtr_vufront_config cfg;
		const char *msg;
	} cases[] = {
		{ { .queue_size = 3 }, "power of two" },
		{ { .queue_size = 65536 }, "power of two" },
		{ { .regions = 9 }, "more than SET_MEM_TABLE carries" },
		{ { .mem_size = 100u << 10, .regions = 4 }, "too small for 4 regions" },
		{ { .mem_size = 512u << 10, .queue_size = 256 }, "too small for the RX buffers" },
		{ { .mem_size = 1u << 20, .queue_size = 16, .rx_buf_size = 62000 },
		  "too small for one TX packet buffer" },
		{ { .rx_buf_size = 10 }, "RX buffers of 10 bytes" },
		{ { .queue_size = 2, .tx_layout = VTR_VUFRONT_TX_SCATTER }, "too small for the scatter layout" },
		{ { .tx_layout = (enum vtr_vufront_tx_layout)9 }, "unknown TX layout" },
	};
	struct vtr_vufront_config nosock = { .sock = -1 };
	struct vtr_vufront_config nopath = { .socket_path = "/nonexistent/vufront.sock" };
	int fds_before = count_fds();
	struct vtr_vufront *front = NULL;
	char err[256];

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct vtr_vufront_config cfg = cases[k].cfg;
		int sv[2], ret;
		char c;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		cfg.sock = sv[0];
		cfg.reply_timeout_ms = 100;	/* should it get as far as asking */
		ret = vtr_vufront_new(&cfg, &front, err, sizeof(err));
		if (ret != -EINVAL || !strstr(err, cases[k].msg))
			fail_msg("case %u: %d \"%s\", expected -EINVAL mentioning \"%s\"", k, ret, err, cases[k].msg);
		assert_null(front);
		assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), 0);	/* closed, nothing sent */
		close(sv[1]);
	}
	assert_int_equal(vtr_vufront_new(&nosock, &front, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "neither a socket path nor a socket"));
	assert_int_equal(vtr_vufront_new(&nopath, &front, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "connect /nonexistent/vufront.sock"));
	assert_null(front);
	assert_int_equal(count_fds(), fds_before);
}

/* vtr_vufront_request(): a test that plays a front-end of its own on a live session. */
static void test_request_api(void **state)
{
	struct fake_cfg fc = fake_default();
	struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 16 };
	struct vtr_vu_msg m = { .request = VTR_VU_GET_FEATURES }, reply;
	struct vtr_vufront *front;
	struct fake *fb;

	front = front_start(&fc, &cfg, &fb);
	assert_int_equal(vtr_vufront_request(front, &m, NULL, 0, &reply), 0);
	assert_int_equal(reply.request, VTR_VU_GET_FEATURES);
	assert_int_equal(reply.size, 8);
	assert_int_equal(reply.p.u64, fc.features);
	/* NEED_REPLY set by the caller is kept: the ack is the answer. */
	m = (struct vtr_vu_msg){ .request = VTR_VU_SET_VRING_ENABLE, .flags = VTR_VU_NEED_REPLY, .size = 8,
				 .p.state = { 1, 1 } };
	assert_int_equal(vtr_vufront_request(front, &m, NULL, 0, &reply), 0);
	assert_int_equal(reply.p.u64, 0);
	fake_wait(fb, N_SETUP + 2);
	expect_req(fb, N_SETUP, VTR_VU_GET_FEATURES, 0x1);
	expect_req(fb, N_SETUP + 1, VTR_VU_SET_VRING_ENABLE, 0x9);
	assert_string_equal(vtr_vufront_error(front), "");
	vtr_vufront_free(front);
	fake_stop(fb);
}

/* ==== part 3: packets through the rings, the test playing the device with vring.c ==== */

struct dev {
	struct vtr_vring vq[2];		/* 0 rx, 1 tx */
	struct vtr_seg seg[NSEG];
	struct vtr_chain chain;
};

static void dev_setup(struct fake *fb, struct dev *d)
{
	fake_wait(fb, N_SETUP);
	for (unsigned i = 0; i < 2; i++) {
		const struct vtr_vu_vring_addr *a = &fb->addr[i];

		vtr_vring_init(&d->vq[i]);
		assert_int_equal(vtr_vring_set_num(&d->vq[i], fb->num[i]), 0);
		vtr_vring_set_features(&d->vq[i], fb->features);
		assert_int_equal(vtr_vring_set_addr(&d->vq[i], &fb->mem, VTR_VRING_ADDR_UVA, a->desc, a->avail,
						    a->used), 0);
		vtr_vring_set_base(&d->vq[i], 0);
	}
	d->chain.seg = d->seg;
	d->chain.cap = NSEG;
}

static void dev_notify(struct fake *fb, struct dev *d, unsigned q)
{
	uint64_t one = 1;

	if (vtr_vring_should_notify(&d->vq[q]))
		assert_int_equal(write(fb->call[q], &one, 8), 8);
}

/* The device puts one packet in the next RX buffer, as a device writes it: header and payload together. */
static void dev_send(struct fake *fb, struct dev *d, const struct vsm_virtio_hdr *h, const void *payload)
{
	uint8_t hdr[HDR];

	vsm_encode_virtio_hdr(h, hdr);
	assert_int_equal(vtr_vring_pop(&d->vq[0], &fb->mem, &d->chain), 0);
	assert_true(d->chain.in_len >= HDR + h->len);
	assert_int_equal(vtr_chain_write(&d->chain, 0, hdr, HDR), HDR);
	assert_int_equal(vtr_chain_write(&d->chain, HDR, payload, h->len), h->len);
	assert_int_equal(vtr_vring_push(&d->vq[0], d->chain.head, HDR + h->len), 0);
	dev_notify(fb, d, 0);
}

/* The device takes one TX packet; its header to *ret_hdr, its bytes after the header to buf. */
static void dev_take(struct fake *fb, struct dev *d, struct vsm_virtio_hdr *ret_hdr, uint8_t *buf, size_t cap)
{
	uint8_t hdr[HDR];

	assert_int_equal(vtr_vring_pop(&d->vq[1], &fb->mem, &d->chain), 0);
	assert_int_equal(d->chain.n_in, 0);
	assert_int_equal(vtr_chain_read(&d->chain, 0, hdr, HDR), HDR);
	vsm_decode_virtio_hdr(hdr, ret_hdr);
	assert_int_equal(d->chain.out_len, HDR + ret_hdr->len);
	assert_true(ret_hdr->len <= cap);
	assert_int_equal(vtr_chain_read(&d->chain, HDR, buf, ret_hdr->len), ret_hdr->len);
}

static void dev_done(struct fake *fb, struct dev *d)
{
	assert_int_equal(vtr_vring_push(&d->vq[1], d->chain.head, 0), 0);
	dev_notify(fb, d, 1);
}

/* The raw descriptor flags of a TX head, as the device sees the table. */
static uint16_t tx_head_flags(struct fake *fb, uint16_t head)
{
	void *p;

	assert_int_equal(vtr_mem_uva(&fb->mem, fb->addr[1].desc, 16 * fb->num[1], &p), 0);
	return desc_flags(p, head);
}

static uint16_t ring_idx(struct fake *fb, uint64_t uva)
{
	void *p;

	assert_int_equal(vtr_mem_uva(&fb->mem, uva, 4, &p), 0);
	return rd16((uint8_t *)p + 2);
}

struct evlog {
	unsigned events, connected;
	int sock;
};

static void on_event(void *ctx, int sock, unsigned events)
{
	struct evlog *l = ctx;

	l->events++;
	if (events & VTR_EV_CONNECTED) {
		l->connected++;
		l->sock = sock;
	}
}

static uint64_t drain(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, 8) != 8)
		return 0;
	return v;
}

/* The guest connects and exchanges data through real rings, once per TX layout. */
static void test_roundtrip(void **state)
{
	static const struct vtr_ops ops = { .event = on_event };
	static const struct {
		enum vtr_vufront_tx_layout layout;
		unsigned nseg_req, nseg_rw;
		uint32_t seg_rw[5];
	} layouts[] = {
		{ VTR_VUFRONT_TX_SPLIT, 1, 2, { HDR, 10000 } },
		{ VTR_VUFRONT_TX_ONE, 1, 1, { HDR + 10000 } },
		{ VTR_VUFRONT_TX_SCATTER, 2, 5, { 20, 24, 4096, 4096, 10000 - 8192 } },
		{ VTR_VUFRONT_TX_INDIRECT, 1, 2, { HDR, 10000 } },
	};

	for (unsigned k = 0; k < sizeof(layouts) / sizeof(layouts[0]); k++) {
		struct fake_cfg fc = fake_default();
		struct vtr_vufront_config cfg = { .mem_size = 8u << 20, .regions = 3, .queue_size = 32,
						  .tx_layout = layouts[k].layout, .engine_ops = &ops };
		struct evlog log = { 0, 0, -1 };
		static uint8_t data[10000], got[16384];
		struct vtr_vufront_stats st;
		struct vsm_virtio_hdr h;
		struct vtr_sock_info si;
		struct vtr_vufront *front;
		struct vtr_engine *e;
		struct fake *fb;
		struct dev d;
		int fds_before = count_fds(), s, to;

		cfg.engine_ctx = &log;
		front = front_start(&fc, &cfg, &fb);
		dev_setup(fb, &d);
		e = vtr_vufront_engine(front);
		assert_true(drain(fb->kick[0]) >= 1);	/* the RX fill */

		/* REQUEST: on the TX ring at once, and kicked. */
		s = vtr_connect(e, 2, 1234, VTR_STREAM, 0);
		assert_true(s >= 0);
		assert_int_equal(drain(fb->kick[1]), 1);
		to = vtr_vufront_next_timeout(front);
		assert_true(to > 0 && to <= 2000);		/* the connect timeout */
		dev_take(fb, &d, &h, got, sizeof(got));
		assert_int_equal(h.src_cid, 42);
		assert_int_equal(h.dst_cid, 2);
		assert_int_equal(h.dst_port, 1234);
		assert_int_equal(h.op, VSM_OP_REQUEST);
		assert_int_equal(h.type, VSM_TYPE_STREAM);
		assert_int_equal(h.len, 0);
		assert_int_equal(d.chain.n_out, layouts[k].nseg_req);
		if (layouts[k].layout == VTR_VUFRONT_TX_SCATTER) {
			assert_int_equal(d.seg[0].len, 20);
			assert_int_equal(d.seg[1].len, 24);
		}
		assert_int_equal(tx_head_flags(fb, d.chain.head),
				 layouts[k].layout == VTR_VUFRONT_TX_INDIRECT ? VTR_VRING_DESC_F_INDIRECT :
				 d.chain.n_out > 1 ? VTR_VRING_DESC_F_NEXT : 0);
		dev_done(fb, &d);

		/* RESPONSE from the host into an RX buffer: the engine connects. */
		dev_send(fb, &d, &(struct vsm_virtio_hdr){ .src_cid = 2, .dst_cid = 42, .src_port = 1234,
			 .dst_port = h.src_port, .type = VSM_TYPE_STREAM, .op = VSM_OP_RESPONSE, .buf_alloc = 262144 },
			 NULL);
		assert_int_equal(vtr_vufront_process(front), 0);
		assert_int_equal(log.connected, 1);
		assert_int_equal(log.sock, s);
		assert_int_equal(vtr_sock_info(e, s, &si), 0);
		assert_int_equal(si.state, VTR_STATE_ESTABLISHED);
		assert_int_equal(ring_idx(fb, fb->addr[0].avail), 33);	/* the buffer went back */
		vtr_vufront_stats(front, &st);
		assert_int_equal(st.rx_pkts, 1);
		assert_int_equal(st.tx_pkts, 1);
		assert_true(st.calls >= 1);

		/* Data from the guest, laid out as configured. */
		fill(data, sizeof(data), k);
		assert_int_equal(vtr_send(e, s, data, sizeof(data), 0), sizeof(data));
		dev_take(fb, &d, &h, got, sizeof(got));
		assert_int_equal(h.op, VSM_OP_RW);
		assert_int_equal(h.len, sizeof(data));
		assert_memory_equal(got, data, sizeof(data));
		assert_int_equal(d.chain.n_out, layouts[k].nseg_rw);
		for (unsigned i = 0; i < layouts[k].nseg_rw; i++)
			assert_int_equal(d.seg[i].len, layouts[k].seg_rw[i]);
		if (layouts[k].layout == VTR_VUFRONT_TX_INDIRECT)
			assert_int_equal(tx_head_flags(fb, d.chain.head), VTR_VRING_DESC_F_INDIRECT);
		dev_done(fb, &d);

		/* Data from the host. */
		dev_send(fb, &d, &(struct vsm_virtio_hdr){ .src_cid = 2, .dst_cid = 42, .src_port = 1234,
			 .dst_port = h.src_port, .type = VSM_TYPE_STREAM, .op = VSM_OP_RW, .len = 100,
			 .buf_alloc = 262144, .fwd_cnt = sizeof(data) }, data + 7);
		assert_int_equal(vtr_vufront_process(front), 0);
		assert_int_equal(vtr_recv(e, s, got, sizeof(got), 0, NULL), 100);
		assert_memory_equal(got, data + 7, 100);
		vtr_vufront_stats(front, &st);
		assert_int_equal(st.rx_pkts, 2);
		assert_int_equal(st.rx_bytes, 100);
		assert_true(st.tx_pkts >= 2);			/* and a CREDIT_UPDATE, maybe */
		assert_int_equal(st.tx_bytes, sizeof(data));
		assert_int_equal(st.tx_ring_full, 0);
		assert_string_equal(vtr_vufront_error(front), "");
		assert_true(log.events >= 1);

		vtr_vufront_free(front);
		fake_wait(fb, N_ALL + 1);
		assert_int_equal(fb->nrec, N_ALL);	/* the clean stop */
		fake_stop(fb);
		assert_int_equal(count_fds(), fds_before);
	}
}

/* A full TX ring: the engine holds packets, and they go out when the device gives buffers back. */
static void test_tx_ring_full(void **state)
{
	struct fake_cfg fc = fake_default();
	struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 4 };
	struct vtr_vufront_stats st;
	struct vsm_virtio_hdr h;
	struct vtr_vufront *front;
	struct vtr_engine *e;
	struct fake *fb;
	struct dev d;
	uint8_t data[3000], got[4096];
	uint64_t kicks;
	int s;

	front = front_start(&fc, &cfg, &fb);
	dev_setup(fb, &d);
	e = vtr_vufront_engine(front);
	s = vtr_connect(e, 2, 1234, VTR_STREAM, 0);
	dev_take(fb, &d, &h, got, sizeof(got));
	dev_done(fb, &d);
	assert_int_equal(vtr_vring_pop(&d.vq[1], &fb->mem, &d.chain), -EAGAIN);	/* idle */
	dev_send(fb, &d, &(struct vsm_virtio_hdr){ .src_cid = 2, .dst_cid = 42, .src_port = 1234,
		 .dst_port = h.src_port, .type = VSM_TYPE_STREAM, .op = VSM_OP_RESPONSE, .buf_alloc = 262144 }, NULL);
	assert_int_equal(vtr_vufront_process(front), 0);
	drain(fb->kick[1]);
	vtr_vufront_stats(front, &st);
	kicks = st.kicks;

	/* Three packets of two descriptors each into a table of four. */
	fill(data, sizeof(data), 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(vtr_send(e, s, data + 1000 * i, 1000, 0), 1000);
	vtr_vufront_stats(front, &st);
	assert_int_equal(st.tx_pkts, 3);		/* REQUEST and two */
	assert_true(st.tx_ring_full >= 1);
	assert_true(vtr_want_write(e));
	/* EVENT_IDX: one kick for the first, none for the second (the device has not caught up). */
	assert_int_equal(st.kicks, kicks + 1);
	assert_int_equal(drain(fb->kick[1]), 1);

	for (unsigned i = 0; i < 2; i++) {
		dev_take(fb, &d, &h, got, sizeof(got));
		assert_int_equal(h.len, 1000);
		assert_memory_equal(got, data + 1000 * i, 1000);
		dev_done(fb, &d);
	}
	assert_int_equal(vtr_vring_pop(&d.vq[1], &fb->mem, &d.chain), -EAGAIN);
	/* process() takes the buffers back, the engine's held packet goes out, with one kick. */
	assert_int_equal(vtr_vufront_process(front), 0);
	assert_false(vtr_want_write(e));
	vtr_vufront_stats(front, &st);
	assert_int_equal(st.tx_pkts, 4);
	assert_int_equal(st.kicks, kicks + 2);
	assert_int_equal(drain(fb->kick[1]), 1);
	dev_take(fb, &d, &h, got, sizeof(got));
	assert_int_equal(h.len, 1000);
	assert_memory_equal(got, data + 2000, 1000);
	dev_done(fb, &d);
	vtr_vufront_free(front);
	fake_stop(fb);
}

/* The fds to poll, and the call eventfds counted. */
static void test_pollfds(void **state)
{
	struct fake_cfg fc = fake_default();
	struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 16 };
	struct pollfd pfd[VTR_VUFRONT_MAX_POLLFDS + 1];
	struct vtr_vufront_stats st;
	struct vtr_vufront *front;
	struct fake *fb;
	uint64_t one = 1;

	front = front_start(&fc, &cfg, &fb);
	assert_int_equal(vtr_vufront_pollfds(front, pfd, 1), 1);
	assert_int_equal(vtr_vufront_pollfds(front, pfd, VTR_VUFRONT_MAX_POLLFDS + 1), 3);
	assert_int_equal(poll(pfd, 3, 0), 0);
	assert_int_equal(write(fb->call[1], &one, 8), 8);
	assert_int_equal(poll(pfd, 3, 0), 1);
	assert_int_equal(pfd[2].revents, POLLIN);	/* the TX ring's call */
	assert_int_equal(write(fb->call[0], &one, 8), 8);
	assert_int_equal(poll(pfd, 3, 0), 2);
	assert_int_equal(pfd[1].revents, POLLIN);
	assert_int_equal(vtr_vufront_process(front), 0);
	vtr_vufront_stats(front, &st);
	assert_int_equal(st.calls, 2);
	assert_int_equal(poll(pfd, 3, 0), 0);		/* drained */
	assert_int_equal(vtr_vufront_next_timeout(front), -1);
	/* The back-end hangs up: the socket polls readable, and process() says so. */
	shutdown(fb->sock, SHUT_RDWR);
	assert_int_equal(poll(pfd, 3, 1000), 1);
	assert_true(pfd[0].revents & POLLIN);
	assert_int_equal(vtr_vufront_process(front), -EPIPE);
	assert_non_null(strstr(vtr_vufront_error(front), "closed the vhost-user connection"));
	assert_int_equal(vtr_vufront_process(front), -EPIPE);	/* it sticks */
	vtr_vufront_free(front);
	fake_stop(fb);
}

/* A device that breaks the session while running: process() fails with a reason, free() stays quiet. */
enum breakage { BAD_HDR_LEN, USED_TOO_LONG, USED_TOO_SHORT, TX_BAD_ID, RX_JUMP, UNASKED };

static void test_device_breaks(void **state)
{
	static const struct {
		enum breakage how;
		const char *msg;
	} cases[] = {
		{ BAD_HDR_LEN, "the header claims 500 payload bytes, the device wrote 100" },
		{ USED_TOO_LONG, "says it wrote 5000 bytes, outside 44..4140" },
		{ USED_TOO_SHORT, "says it wrote 10 bytes" },
		{ TX_BAD_ID, "TX ring broken by the device: used element 0: id 3 is not a chain in flight" },
		{ RX_JUMP, "RX ring broken by the device: used idx" },
		{ UNASKED, "the back-end sent GET_FEATURES (1) unasked" },
	};

	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fake_cfg fc = fake_default();
		struct vtr_vufront_config cfg = { .mem_size = 4u << 20, .queue_size = 16 };
		uint8_t hdr[HDR] = { 0 }, payload[100] = { 0 };
		int fds_before = count_fds(), ret;
		struct vtr_vufront *front;
		struct fake *fb;
		uint32_t used_len;
		struct dev d;
		void *p;

		front = front_start(&fc, &cfg, &fb);
		dev_setup(fb, &d);
		switch (cases[k].how) {
		case BAD_HDR_LEN:
		case USED_TOO_LONG:
		case USED_TOO_SHORT:
			vsm_encode_virtio_hdr(&(struct vsm_virtio_hdr){ .src_cid = 2, .dst_cid = 42, .len = 500,
					      .op = VSM_OP_RW, .type = VSM_TYPE_STREAM }, hdr);
			assert_int_equal(vtr_vring_pop(&d.vq[0], &fb->mem, &d.chain), 0);
			vtr_chain_write(&d.chain, 0, hdr, HDR);
			vtr_chain_write(&d.chain, HDR, payload, sizeof(payload));
			used_len = cases[k].how == BAD_HDR_LEN ? HDR + 100 : cases[k].how == USED_TOO_LONG ? 5000 : 10;
			assert_int_equal(vtr_vring_push(&d.vq[0], d.chain.head, used_len), 0);
			break;
		case TX_BAD_ID:
			/* One REQUEST in flight (head 0), yet the device gives chain 3 back. */
			assert_true(vtr_connect(vtr_vufront_engine(front), 2, 1234, VTR_STREAM, 0) >= 0);
			assert_int_equal(vtr_mem_uva(&fb->mem, fb->addr[1].used, vtr_vring_used_bytes(16), &p), 0);
			wr32((uint8_t *)p + 4, 3);
			wr16((uint8_t *)p + 2, 1);
			break;
		case RX_JUMP:
			assert_int_equal(vtr_mem_uva(&fb->mem, fb->addr[0].used, vtr_vring_used_bytes(16), &p), 0);
			wr16((uint8_t *)p + 2, 40);
			break;
		case UNASKED: {
			struct vtr_vu_msg m = { .request = VTR_VU_GET_FEATURES, .flags = 0x5, .size = 8 };

			assert_int_equal(vtr_vu_write(fb->sock, &m, NULL, 0), 0);
			break;
		}
		}
		ret = vtr_vufront_process(front);
		assert_int_equal(ret, -EPROTO);
		if (!strstr(vtr_vufront_error(front), cases[k].msg))
			fail_msg("case %u: \"%s\" does not mention \"%s\"", k, vtr_vufront_error(front), cases[k].msg);
		assert_int_equal(vtr_vufront_process(front), ret);	/* sticky */
		/* The engine's packets go nowhere now: xmit says the wire is gone. */
		assert_true(vtr_connect(vtr_vufront_engine(front), 2, 1, VTR_STREAM, 0) >= 0);
		vtr_vufront_free(front);
		fake_wait(fb, N_SETUP + 1);
		assert_int_equal(fb->nrec, N_SETUP);	/* a broken session is just closed */
		fake_stop(fb);
		assert_int_equal(count_fds(), fds_before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drv_shapes),
		cmocka_unit_test(test_drv_wrap),
		cmocka_unit_test(test_drv_kicks),
		cmocka_unit_test(test_drv_interrupts),
		cmocka_unit_test(test_drv_hostile_device),
		cmocka_unit_test(test_drv_add_errors),
		cmocka_unit_test(test_session_sequence),
		cmocka_unit_test(test_session_teardown),
		cmocka_unit_test(test_session_negotiation),
		cmocka_unit_test(test_session_faults),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_request_api),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tx_ring_full),
		cmocka_unit_test(test_pollfds),
		cmocka_unit_test(test_device_breaks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
