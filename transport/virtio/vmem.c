/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmem.c: the guest memory map (vhost-user memory regions): guest-physical and frontend addresses to host pointers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <vtr/vring.h>

void vtr_mem_init(struct vtr_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
}

/* [a, a + alen) and [b, b + blen) intersect; both non-empty and known not to wrap. */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a - b < blen || b - a < alen;
}

int vtr_mem_add(struct vtr_mem *mem, const struct vtr_mem_region *region)
{
	uint64_t last = region->memory_size - 1;

	if (!region->memory_size || !region->host)
		return -EINVAL;
	/* The last byte of each view must be representable: no range may wrap. */
	if (region->guest_phys_addr > UINT64_MAX - last || region->userspace_addr > UINT64_MAX - last ||
	    last > UINTPTR_MAX || (uintptr_t)region->host > UINTPTR_MAX - (uintptr_t)last)
		return -EINVAL;
	for (unsigned i = 0; i < mem->n; i++) {
		const struct vtr_mem_region *r = &mem->r[i];

		/* Guest-physical space must be unambiguous. The front-end's addresses need not be: the same
		 * RAM may show at two guest addresses (QEMU's PAM and SMRAM aliases), and a ring address
		 * found in either view reads the same bytes. */
		if (overlaps(region->guest_phys_addr, region->memory_size, r->guest_phys_addr, r->memory_size))
			return -EEXIST;
	}
	if (mem->n == VTR_MEM_MAX_REGIONS)
		return -ENOSPC;
	mem->r[mem->n++] = *region;
	return 0;
}

int vtr_mem_remove(struct vtr_mem *mem, uint64_t guest_phys_addr, uint64_t memory_size, uint64_t userspace_addr,
		   struct vtr_mem_region *ret_region)
{
	for (unsigned i = 0; i < mem->n; i++) {
		/* vhost-user REM_MEM_REG names a region by all three (QEMU's reg_equal()). */
		if (mem->r[i].guest_phys_addr != guest_phys_addr || mem->r[i].memory_size != memory_size ||
		    mem->r[i].userspace_addr != userspace_addr)
			continue;
		if (ret_region)
			*ret_region = mem->r[i];
		memmove(&mem->r[i], &mem->r[i + 1], (mem->n - i - 1) * sizeof(mem->r[0]));
		mem->n--;
		return 0;
	}
	return -ENOENT;
}

/*
 * The host pointer of [addr, addr + len) in the region starting at start with size bytes, or NULL.
 * Written without addr + len, which may wrap: off = addr - start is below size, and len fits in
 * what is left after it.
 */
static void *in_region(const struct vtr_mem_region *r, uint64_t start, uint64_t addr, uint64_t len)
{
	uint64_t off;

	if (addr < start)
		return NULL;
	off = addr - start;
	if (off >= r->memory_size || len > r->memory_size - off)
		return NULL;
	return (uint8_t *)r->host + off;
}

int vtr_mem_gpa(const struct vtr_mem *mem, uint64_t gpa, uint64_t len, void **ret_ptr)
{
	for (unsigned i = 0; i < mem->n; i++) {
		void *p = in_region(&mem->r[i], mem->r[i].guest_phys_addr, gpa, len);

		if (p) {
			*ret_ptr = p;
			return 0;
		}
	}
	return -EFAULT;
}

int vtr_mem_uva(const struct vtr_mem *mem, uint64_t uva, uint64_t len, void **ret_ptr)
{
	for (unsigned i = 0; i < mem->n; i++) {
		void *p = in_region(&mem->r[i], mem->r[i].userspace_addr, uva, len);

		if (p) {
			*ret_ptr = p;
			return 0;
		}
	}
	return -EFAULT;
}
