/* SPDX-License-Identifier: GPL-2.0-or-later */
/* le.h: little-endian loads from byte arrays (no alignment or aliasing assumptions). */
#ifndef VSOCKMON_LE_H
#define VSOCKMON_LE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t vsm_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t vsm_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static inline uint64_t vsm_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

#endif
