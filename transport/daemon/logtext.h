/* SPDX-License-Identifier: GPL-2.0-or-later */
/* logtext.h: what vsockdev's log lets through: printable text only, and no more than a few lines a second of one message. */
#ifndef VSOCKDEV_LOGTEXT_H
#define VSOCKDEV_LOGTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * in's len bytes as printable ASCII in out (always terminated, cut to outlen): every byte outside
 * 0x20-0x7e, a NUL and an ANSI escape sequence's ESC included, becomes \xNN. What a host program
 * or a guest sends can then neither forge a log line (a newline) nor drive the reader's terminal.
 * Escaping escaped text changes nothing. Returns the length of out.
 */
size_t log_escape(const char *in, size_t len, char *out, size_t outlen);

/*
 * The rate limit: of each message (its format string: "guest connection to port %u refused..." is
 * one message whatever the port) LOG_BURST lines are shown per LOG_WINDOW_MS; the rest are counted,
 * and the count is reported once the window is over, so a guest that floods REQUESTs at -v costs a
 * few lines a second, not one line a packet.
 */
#define LOG_BURST	10
#define LOG_WINDOW_MS	1000
#define LOG_KEYS	16		/* messages followed at once; the oldest makes room */

struct log_limit {
	struct log_key {
		const char *key;	/* NULL: free */
		int64_t window_start_ms;
		unsigned shown, suppressed;
	} keys[LOG_KEYS];
};

/* Messages of key held back and now to be reported: count 0 for none. */
struct log_suppressed {
	const char *key;
	unsigned count;
};

/* Whether a message of key may be shown at now_ms. *ret_report: lines held back that are due to be
 * reported now (key's ended window, or the key whose place key took), before this one. */
bool log_limit_admit(struct log_limit *l, const char *key, int64_t now_ms, struct log_suppressed *ret_report);
/* One key whose window ended by now_ms with lines held back, which it forgets; false when none is left.
 * INT64_MAX as now_ms: every key, at the end. */
bool log_limit_due(struct log_limit *l, int64_t now_ms, struct log_suppressed *ret_report);
/* When the next report falls due (ms from now_ms, 0: now), -1 if none is pending. */
int log_limit_next_ms(const struct log_limit *l, int64_t now_ms);

#endif
