/* SPDX-License-Identifier: GPL-2.0-or-later */
/* testutil.c: frame builder and temp files for the unit tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tu_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

void tu_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

void tu_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

uint16_t tu_mon_op_for(uint16_t op)
{
	switch (op) {
	case 1: case 2: return 1;	/* REQUEST, RESPONSE: CONNECT */
	case 3: case 4: return 2;	/* RST, SHUTDOWN: DISCONNECT */
	case 5: return 4;		/* RW: PAYLOAD */
	case 6: case 7: return 3;	/* credit: CONTROL */
	default: return 0;
	}
}

size_t tu_build(uint8_t *buf, size_t cap, const struct tu_frame *f)
{
	uint16_t tp_len = f->tp_len ? f->tp_len : 44;
	size_t need = 32 + (size_t)tp_len + f->payload_len;

	if (need > cap)
		abort();
	memset(buf, 0, need);
	tu_put_le64(buf + 0, f->src_cid);
	tu_put_le64(buf + 8, f->dst_cid);
	tu_put_le32(buf + 16, f->src_port);
	tu_put_le32(buf + 20, f->dst_port);
	tu_put_le16(buf + 24, f->mon_op || f->raw_mon_op ? f->mon_op : tu_mon_op_for(f->op));
	tu_put_le16(buf + 26, f->transport ? f->transport : 2);
	tu_put_le16(buf + 28, tp_len);
	if (tp_len >= 44) {
		uint8_t *v = buf + 32;
		tu_put_le64(v + 0, f->src_cid);
		tu_put_le64(v + 8, f->dst_cid);
		tu_put_le32(v + 16, f->src_port);
		tu_put_le32(v + 20, f->dst_port);
		tu_put_le32(v + 24, f->len);
		tu_put_le16(v + 28, f->type ? f->type : 1);
		tu_put_le16(v + 30, f->op);
		tu_put_le32(v + 32, f->flags);
		tu_put_le32(v + 36, f->buf_alloc);
		tu_put_le32(v + 40, f->fwd_cnt);
	}
	for (uint32_t i = 0; i < f->payload_len; i++)
		buf[32 + tp_len + i] = (uint8_t)i;
	return need;
}

char *tu_tmpfile(const char *suffix)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&path, "%s/vsmtest-XXXXXX%s", dir, suffix ? suffix : "") < 0)
		abort();
	fd = mkstemps(path, suffix ? (int)strlen(suffix) : 0);
	if (fd < 0)
		abort();
	close(fd);
	return path;
}
