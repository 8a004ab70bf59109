/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-handshake.c: any bytes as a host program's "CONNECT <port>" line, as text for vsockdev's log and as a flood of messages for its rate limit. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "handshake.h"
#include "logtext.h"

/*
 * Input: the whole of it is one line (without its newline), as handshake() hands it over; the
 * same bytes are then escaped for the log, and read as a flood of (message, ms later) pairs.
 * Checked:
 *   - an accepted line holds only the keyword, blanks, digits and one final CR; its port is below
 *     4294967295 and is what "CONNECT <port>" says; the same line with a byte added at its end (a
 *     letter or a NUL) or a NUL put anywhere is refused;
 *   - the escaped text is printable ASCII, as long as said, within its buffer; with room, it reads
 *     back to the input when the input holds no backslash; escaping it again changes nothing;
 *   - the rate limit loses no message: lines shown plus lines reported suppressed are all lines,
 *     and no message shows more than LOG_BURST lines in one window.
 * tests/fuzz/corpus-handshake holds seeds: good lines and each kind of refusal. FUZZ_TRACE=1 prints
 * the results.
 */

static bool allowed(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static void check_line(const char *line, size_t len)
{
	uint32_t port = 0, again = 0;
	char canon[32], *copy;
	int ret = handshake_parse_connect(line, len, &port);

	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "handshake_parse_connect: %d, port %u\n", ret, port);
	check(ret == 0 || ret == -EINVAL || ret == -ERANGE);
	if (ret)
		return;
	check(port != UINT32_MAX);
	for (size_t i = 0; i < len; i++)
		check(allowed(line[i]));
	snprintf(canon, sizeof(canon), "CONNECT %u", port);
	check(handshake_parse_connect(canon, strlen(canon), &again) == 0 && again == port);
	copy = malloc(len + 1);
	check(copy != NULL);
	memcpy(copy, line, len);
	copy[len] = 'x';
	check(handshake_parse_connect(copy, len + 1, &again) == -EINVAL);
	copy[len] = '\0';
	check(handshake_parse_connect(copy, len + 1, &again) == -EINVAL);
	for (size_t i = 0; i < len; i++) {
		char was = copy[i];

		copy[i] = '\0';
		check(handshake_parse_connect(copy, len, &again) != 0);
		copy[i] = was;
	}
	free(copy);
}

static void check_escape(const char *in, size_t len, size_t outlen)
{
	char *out = malloc(outlen), *twice = malloc(outlen);
	size_t n, i = 0, o = 0;

	check(out && twice);
	memset(out, 0x55, outlen);
	n = log_escape(in, len, out, outlen);
	check(n < outlen && out[n] == '\0' && strlen(out) == n);
	for (size_t k = 0; k < n; k++)
		check(out[k] >= 0x20 && out[k] <= 0x7e);
	check(log_escape(out, n, twice, outlen) == n && !memcmp(out, twice, n + 1));
	if (outlen >= 4 * len + 1 && !memchr(in, '\\', len)) {
		/* Read it back: \xNN is a byte, anything else itself. */
		while (o < n) {
			unsigned byte;

			if (out[o] == '\\') {
				check(sscanf(out + o, "\\x%2x", &byte) == 1);
				o += 4;
			} else {
				byte = (unsigned char)out[o++];
			}
			check(i < len && (unsigned char)in[i] == byte);
			i++;
		}
		check(i == len);
	}
	free(out);
	free(twice);
}

/* 20 messages (more than LOG_KEYS, so keys are evicted), each pair of bytes one line of one of them. */
static void check_limit(const uint8_t *data, size_t size)
{
	static const char keys[20][2];
	struct log_limit l = { 0 };
	struct log_suppressed r;
	unsigned shown[20] = { 0 }, suppressed[20] = { 0 }, calls[20] = { 0 }, in_window[20] = { 0 };
	int64_t window[20], now = 0;
	unsigned distinct = 0;

	for (size_t i = 0; i + 1 < size; i += 2) {
		unsigned k = data[i] % 20;
		bool show;

		now += data[i + 1] * 8;	/* up to 2 s between two lines */
		show = log_limit_admit(&l, keys[k], now, &r);
		if (r.count) {
			check(r.key >= keys[0] && r.key <= keys[19]);
			suppressed[(size_t)(r.key - keys[0]) / sizeof(keys[0])] += r.count;
		}
		if (!calls[k]++)
			distinct++;
		/* With more messages than places, an evicted one starts afresh: the bound holds up to LOG_KEYS. */
		if (show && distinct <= LOG_KEYS) {
			/* The window a shown line counts in starts at the first shown line LOG_WINDOW_MS before. */
			if (!in_window[k] || now - window[k] >= LOG_WINDOW_MS) {
				window[k] = now;
				in_window[k] = 0;
			}
			check(++in_window[k] <= LOG_BURST);
		}
		if (show)
			shown[k]++;
		check(log_limit_next_ms(&l, now) >= -1 && log_limit_next_ms(&l, now) <= LOG_WINDOW_MS);
	}
	while (log_limit_due(&l, INT64_MAX, &r)) {
		check(r.count > 0);
		suppressed[(size_t)(r.key - keys[0]) / sizeof(keys[0])] += r.count;
	}
	check(log_limit_next_ms(&l, now) == -1);
	for (unsigned k = 0; k < 20; k++)
		check(shown[k] + suppressed[k] == calls[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_line((const char *)data, size);
	check_escape((const char *)data, size, 4 * size + 1);
	check_escape((const char *)data, size, size ? data[0] % 64 + 1 : 1);
	check_limit(data, size);
	return 0;
}
