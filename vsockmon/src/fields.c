/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fields.c: the field table and the names of ops, types, flags and problems. */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <vsockmon/decode.h>
#include <vsockmon/fields.h>
#include <vsockmon/wire.h>

const struct vsm_field_info vsm_fields[VSM_F_COUNT] = {
#define X(id, key, kind, desc) [VSM_F_##id] = { key, VSM_KIND_##kind, desc },
#include <vsockmon/fields.def>
#undef X
};

/* Index = value. Names follow the virtio spec's VIRTIO_VSOCK_OP_* without the prefix. */
static const char *const op_names[] = {
	[VSM_OP_INVALID] = "INVALID",
	[VSM_OP_REQUEST] = "REQUEST",
	[VSM_OP_RESPONSE] = "RESPONSE",
	[VSM_OP_RST] = "RST",
	[VSM_OP_SHUTDOWN] = "SHUTDOWN",
	[VSM_OP_RW] = "RW",
	[VSM_OP_CREDIT_UPDATE] = "CREDIT_UPDATE",
	[VSM_OP_CREDIT_REQUEST] = "CREDIT_REQUEST",
};

static const char *const type_names[] = {
	[VSM_TYPE_STREAM] = "STREAM",
	[VSM_TYPE_SEQPACKET] = "SEQPACKET",
};

static const char *const mon_op_names[] = {
	[VSM_MON_OP_UNKNOWN] = "UNKNOWN",
	[VSM_MON_OP_CONNECT] = "CONNECT",
	[VSM_MON_OP_DISCONNECT] = "DISCONNECT",
	[VSM_MON_OP_CONTROL] = "CONTROL",
	[VSM_MON_OP_PAYLOAD] = "PAYLOAD",
};

static const char *const transport_names[] = {
	[VSM_MON_TRANSPORT_UNKNOWN] = "UNKNOWN",
	[VSM_MON_TRANSPORT_NO_INFO] = "NO_INFO",
	[VSM_MON_TRANSPORT_VIRTIO] = "VIRTIO",
};

/* Index = bit number of enum vsm_problem. */
static const char *const problem_names[VSM_PROB_COUNT] = {
	"truncated", "payload_truncated", "len_mismatch", "tp_len", "op_mismatch",
	"addr_mismatch", "unknown_op", "unknown_type", "unknown_flags", "reserved",
	"unknown_mon_op", "unknown_transport", "timestamp",
};

#define NAME_OF(table, v) ((v) < sizeof(table) / sizeof((table)[0]) ? (table)[v] : NULL)

const char *vsm_op_name(uint32_t op)
{
	return NAME_OF(op_names, op);
}

const char *vsm_type_name(uint32_t type)
{
	return NAME_OF(type_names, type);
}

const char *vsm_mon_op_name(uint32_t mon_op)
{
	return NAME_OF(mon_op_names, mon_op);
}

const char *vsm_transport_name(uint32_t transport)
{
	return NAME_OF(transport_names, transport);
}

const char *vsm_problem_name(uint32_t problem_bit)
{
	for (unsigned i = 0; i < VSM_PROB_COUNT; i++)
		if (problem_bit == (1u << i))
			return problem_names[i];
	return NULL;
}

static int lookup(const char *const *table, size_t n, uint32_t first, const char *name, uint32_t *ret)
{
	for (size_t i = first; i < n; i++) {
		if (table[i] && strcasecmp(table[i], name) == 0) {
			*ret = (uint32_t)i;
			return 0;
		}
	}
	return -ENOENT;
}

int vsm_op_from_name(const char *name, uint32_t *ret_op)
{
	/* INVALID is not a name a user filters on. */
	return lookup(op_names, sizeof(op_names) / sizeof(op_names[0]), 1, name, ret_op);
}

int vsm_type_from_name(const char *name, uint32_t *ret_type)
{
	return lookup(type_names, sizeof(type_names) / sizeof(type_names[0]), 1, name, ret_type);
}

uint32_t vsm_known_flags(uint32_t op, uint32_t type)
{
	if (op == VSM_OP_SHUTDOWN)
		return VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND;
	if (op == VSM_OP_RW && type == VSM_TYPE_SEQPACKET)
		return VSM_SEQ_EOM | VSM_SEQ_EOR;
	return 0;
}

size_t vsm_flag_names(uint32_t op, uint32_t type, uint32_t flags, const char **names, size_t max,
		      char (*scratch)[12])
{
	static const char *const shutdown_bits[] = { "RCV", "SEND" };
	static const char *const seq_bits[] = { "EOM", "EOR" };
	const char *const *bits = NULL;
	uint32_t known = vsm_known_flags(op, type);
	size_t n = 0;

	if (op == VSM_OP_SHUTDOWN)
		bits = shutdown_bits;
	else if (known)
		bits = seq_bits;
	for (unsigned i = 0; i < 32; i++) {
		uint32_t bit = 1u << i;

		if (!(flags & bit))
			continue;
		if (n < max) {
			if (known & bit) {
				names[n] = bits[i];
			} else {
				snprintf(scratch[n], sizeof(scratch[n]), "0x%x", bit);
				names[n] = scratch[n];
			}
		}
		n++;
	}
	return n;
}
