/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz.h: the libFuzzer entry point, shared by the fuzz targets and the standalone driver, and the input reader they share. */
#ifndef VSOCKMON_FUZZ_H
#define VSOCKMON_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs one input; returns 0. Any broken invariant aborts (libFuzzer reports it as a crash). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzz input, read front to back; past its end every read gives zeros, so any input is a whole run. */
struct fuzz_input {
	const uint8_t *p;
	size_t left;
};

static inline uint8_t fuzz_get8(struct fuzz_input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static inline uint16_t fuzz_get16(struct fuzz_input *in)
{
	uint16_t lo = fuzz_get8(in);

	return (uint16_t)(lo | fuzz_get8(in) << 8);
}

static inline uint32_t fuzz_get32(struct fuzz_input *in)
{
	uint32_t lo = fuzz_get16(in);

	return lo | (uint32_t)fuzz_get16(in) << 16;
}

static inline uint64_t fuzz_get64(struct fuzz_input *in)
{
	uint64_t lo = fuzz_get32(in);

	return lo | (uint64_t)fuzz_get32(in) << 32;
}

/* Copies up to len input bytes to dst; the rest of dst stays as it was. */
static inline void fuzz_get_bytes(struct fuzz_input *in, uint8_t *dst, size_t len)
{
	size_t k = len < in->left ? len : in->left;

	memcpy(dst, in->p, k);
	in->p += k;
	in->left -= k;
}

static inline void fuzz_check(bool ok, const char *file, int line, const char *what)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
		abort();
	}
}

/* An invariant of the code under test: abort (a crash to libFuzzer) when it does not hold. */
#define check(cond) fuzz_check((cond), __FILE__, __LINE__, #cond)

#endif
