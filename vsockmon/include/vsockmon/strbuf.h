/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strbuf.h: a growable output buffer with fast number formatting, the sink of every printer. */
#ifndef VSOCKMON_STRBUF_H
#define VSOCKMON_STRBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct vsm_strbuf {
	char *data;
	size_t len, cap;
	int oom;		/* set once an allocation failed; further appends are dropped */
};

void vsm_sb_init(struct vsm_strbuf *sb);
void vsm_sb_free(struct vsm_strbuf *sb);
void vsm_sb_reset(struct vsm_strbuf *sb);
/* Grows the buffer for more bytes (plus a NUL); the out-of-line slow path of the appenders. */
int vsm_sb_grow(struct vsm_strbuf *sb, size_t more);

static inline int vsm_sb_reserve(struct vsm_strbuf *sb, size_t more)
{
	/* The printers append a few bytes at a time: keep the common case a compare. */
	if (__builtin_expect(sb->len + more + 1 <= sb->cap, 1))
		return 0;
	return vsm_sb_grow(sb, more);
}

static inline void vsm_sb_putn(struct vsm_strbuf *sb, const char *s, size_t n)
{
	if (vsm_sb_reserve(sb, n) < 0)
		return;
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

static inline void vsm_sb_putc(struct vsm_strbuf *sb, char c)
{
	if (vsm_sb_reserve(sb, 1) < 0)
		return;
	sb->data[sb->len++] = c;
	sb->data[sb->len] = '\0';
}

static inline void vsm_sb_puts(struct vsm_strbuf *sb, const char *s)
{
	vsm_sb_putn(sb, s, strlen(s));
}

void vsm_sb_u64(struct vsm_strbuf *sb, uint64_t v);
void vsm_sb_i64(struct vsm_strbuf *sb, int64_t v);
void vsm_sb_u64_pad(struct vsm_strbuf *sb, uint64_t v, int width);	/* zero-padded */
void vsm_sb_hex(struct vsm_strbuf *sb, uint64_t v);			/* lower-case, no prefix */
void vsm_sb_printf(struct vsm_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the buffer to out and empties it. Returns 0 or -errno. */
int vsm_sb_flush(struct vsm_strbuf *sb, FILE *out);

#endif
