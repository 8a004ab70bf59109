/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fields.h: field identifiers and the name tables for ops, types, flags and problems. */
#ifndef VSOCKMON_FIELDS_H
#define VSOCKMON_FIELDS_H

#include <stddef.h>
#include <stdint.h>

enum vsm_field_kind { VSM_KIND_U64, VSM_KIND_STR, VSM_KIND_BOOL, VSM_KIND_TIME,
		      VSM_KIND_LIST, VSM_KIND_HEX, VSM_KIND_INT };

enum vsm_field {
#define X(id, key, kind, desc) VSM_F_##id,
#include <vsockmon/fields.def>
#undef X
	VSM_F_COUNT
};

struct vsm_field_info {
	const char *key;
	enum vsm_field_kind kind;
	const char *description;
};

/* Table of all fields, indexed by enum vsm_field. */
extern const struct vsm_field_info vsm_fields[VSM_F_COUNT];
#define VSM_KEY(id) (vsm_fields[VSM_F_##id].key)

/* Names of values. Each returns NULL for a value with no name. */
const char *vsm_op_name(uint32_t op);			/* "REQUEST", ... "CREDIT_REQUEST" */
const char *vsm_type_name(uint32_t type);		/* "STREAM", "SEQPACKET" */
const char *vsm_mon_op_name(uint32_t mon_op);		/* "CONNECT", ... */
const char *vsm_transport_name(uint32_t transport);	/* "VIRTIO", ... */
const char *vsm_problem_name(uint32_t problem_bit);	/* "len_mismatch", ... */

/* Reverse lookups for the filter language (case-insensitive). Return -ENOENT if unknown. */
int vsm_op_from_name(const char *name, uint32_t *ret_op);
int vsm_type_from_name(const char *name, uint32_t *ret_type);

/* Flags that have a meaning for this op and type: VSM_SHUTDOWN_* for SHUTDOWN, VSM_SEQ_* for SEQPACKET RW. */
uint32_t vsm_known_flags(uint32_t op, uint32_t type);

/*
 * Names of the set flags for this op/type, in bit order; unknown bits come out as "0x..".
 * Writes up to max names into names[] and returns how many there are.
 * Buffers for unknown bits live in scratch (at least 12 bytes per name).
 */
size_t vsm_flag_names(uint32_t op, uint32_t type, uint32_t flags, const char **names, size_t max,
		      char (*scratch)[12]);

#endif
