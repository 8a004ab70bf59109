/* SPDX-License-Identifier: GPL-2.0-or-later */
/* helpers.c: the lab's small helpers: clocks, its seeded random numbers, the pseudo-random bytes of a stream body, error names. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lab.h"

/* ---- small helpers ---- */

int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t lab_now(const struct lab *lab)
{
	return lab->o->virtual_clock ? lab->vnow : clock_ns(CLOCK_MONOTONIC) - lab->mono0;
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finalizer: a good 64-bit hash, so stream bytes can be made at any offset */
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t lab_random(struct lab *lab)
{
	lab->rng += 0x9e3779b97f4a7c15ull;
	return mix64(lab->rng);
}

/* Uniform in [lo, hi]. */
uint64_t lab_random_range(struct lab *lab, uint64_t lo, uint64_t hi)
{
	return lo + lab_random(lab) % (hi - lo + 1);
}

/* Bytes [off, off + n) of the pseudo-random body of seed: byte i is byte i % 8 of mix64(seed + i / 8). */
void gen_bytes(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint64_t pos = off + i, w = mix64(seed + (pos >> 3));
		unsigned sh = (unsigned)(pos & 7);
		uint8_t b[8];
		size_t k = 8 - sh < n - i ? 8 - sh : n - i;

		vsm_put_le64(b, w);
		memcpy(buf + i, b + sh, k);
		i += k;
	}
}

uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

void human_bytes(char *buf, size_t len, uint64_t n)
{
	if (n >= 10u * 1024 * 1024)
		snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
	else if (n >= 10u * 1024)
		snprintf(buf, len, "%.1f KiB", n / 1024.0);
	else
		snprintf(buf, len, "%" PRIu64 " bytes", n);
}

const char *err_name(int err)
{
	switch (err) {
	case -ECONNRESET: return "ECONNRESET";
	case -ETIMEDOUT: return "ETIMEDOUT";
	case -EPROTO: return "EPROTO";
	case -EPIPE: return "EPIPE";
	case -ENOTCONN: return "ENOTCONN";
	case -EMSGSIZE: return "EMSGSIZE";
	case -ENOMEM: return "ENOMEM";
	case 0: return "no error";
	default: return "error";
	}
}

struct node *node_by_cid(struct lab *lab, uint64_t cid)
{
	if (cid == HOST_CID)
		return &lab->nodes[0];
	if (cid >= FIRST_GUEST_CID && cid - FIRST_GUEST_CID < lab->nnodes - 1)
		return &lab->nodes[cid - HOST_CID];
	return NULL;
}
