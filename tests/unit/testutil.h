/* SPDX-License-Identifier: GPL-2.0-or-later */
/* testutil.h: helpers shared by the unit tests: building LINKTYPE_VSOCK frames and temp files. */
#ifndef VSOCKMON_TESTUTIL_H
#define VSOCKMON_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A frame as the kernel's tap builds it, with every field settable. */
struct tu_frame {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint16_t mon_op;	/* 0: derived from op as the kernel does */
	uint16_t transport;	/* 0: VIRTIO */
	uint16_t tp_len;	/* 0: 44 */
	uint16_t type;		/* 0: STREAM */
	uint16_t op;
	uint32_t flags;
	uint32_t len;		/* virtio len; payload_len bytes of payload follow */
	uint32_t buf_alloc, fwd_cnt;
	uint32_t payload_len;	/* bytes of payload written (pattern 0, 1, 2...) */
	int raw_mon_op;		/* when set, mon_op 0 is written as 0 */
};

/* Writes the frame into buf (cap bytes); returns its length. */
size_t tu_build(uint8_t *buf, size_t cap, const struct tu_frame *f);
/* The kernel's mapping from a virtio op to an af_vsockmon op. */
uint16_t tu_mon_op_for(uint16_t op);
/* A new empty temporary file path (malloc'd) under $TMPDIR or /tmp. */
char *tu_tmpfile(const char *suffix);
void tu_put_le16(uint8_t *p, uint16_t v);
void tu_put_le32(uint8_t *p, uint32_t v);
void tu_put_le64(uint8_t *p, uint64_t v);

#endif
