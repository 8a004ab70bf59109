/* SPDX-License-Identifier: GPL-2.0-or-later */
/* strbuf.c: growable output buffer; number formatting by hand because printf dominates profiles. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/strbuf.h>

void vsm_sb_init(struct vsm_strbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void vsm_sb_free(struct vsm_strbuf *sb)
{
	free(sb->data);
	vsm_sb_init(sb);
}

void vsm_sb_reset(struct vsm_strbuf *sb)
{
	sb->len = 0;
}

int vsm_sb_grow(struct vsm_strbuf *sb, size_t more)
{
	size_t cap;
	char *data;

	if (sb->oom)
		return -ENOMEM;
	if (sb->len + more + 1 <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 4096;
	while (cap < sb->len + more + 1)
		cap *= 2;
	data = realloc(sb->data, cap);
	if (!data) {
		sb->oom = 1;
		return -ENOMEM;
	}
	sb->data = data;
	sb->cap = cap;
	return 0;
}

void vsm_sb_u64(struct vsm_strbuf *sb, uint64_t v)
{
	/* Two digits per division: the printers spend most of their time here. */
	static const char pairs[] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char tmp[24];
	size_t i = sizeof(tmp);

	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		tmp[--i] = pairs[d + 1];
		tmp[--i] = pairs[d];
	}
	if (v >= 10) {
		tmp[--i] = pairs[v * 2 + 1];
		tmp[--i] = pairs[v * 2];
	} else {
		tmp[--i] = (char)('0' + v);
	}
	vsm_sb_putn(sb, tmp + i, sizeof(tmp) - i);
}

void vsm_sb_i64(struct vsm_strbuf *sb, int64_t v)
{
	if (v < 0) {
		vsm_sb_putc(sb, '-');
		vsm_sb_u64(sb, (uint64_t)0 - (uint64_t)v);
	} else {
		vsm_sb_u64(sb, (uint64_t)v);
	}
}

void vsm_sb_u64_pad(struct vsm_strbuf *sb, uint64_t v, int width)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	if (width > 20)
		width = 20;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while ((int)(sizeof(tmp) - i) < width)
		tmp[--i] = '0';
	vsm_sb_putn(sb, tmp + i, sizeof(tmp) - i);
}

void vsm_sb_hex(struct vsm_strbuf *sb, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	vsm_sb_putn(sb, tmp + i, sizeof(tmp) - i);
}

void vsm_sb_printf(struct vsm_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || vsm_sb_reserve(sb, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

int vsm_sb_flush(struct vsm_strbuf *sb, FILE *out)
{
	int ret = 0;

	if (sb->len && fwrite_unlocked(sb->data, 1, sb->len, out) != sb->len)
		ret = errno ? -errno : -EIO;
	sb->len = 0;
	if (sb->oom) {
		sb->oom = 0;
		if (!ret)
			ret = -ENOMEM;
	}
	return ret;
}
