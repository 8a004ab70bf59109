/* SPDX-License-Identifier: GPL-2.0-or-later */
/* logtext.c: escaping and rate-limiting vsockdev's log lines; pure, so the fuzz target checks them too. */
#include "logtext.h"

size_t log_escape(const char *in, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!outlen)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c >= 0x20 && c <= 0x7e) {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static bool window_over(const struct log_key *k, int64_t now_ms)
{
	return now_ms - k->window_start_ms >= LOG_WINDOW_MS;
}

/* Takes k's held-back lines into *report (at most one report per call: the callers make sure). */
static void take(struct log_key *k, struct log_suppressed *report)
{
	if (k->suppressed)
		*report = (struct log_suppressed){ k->key, k->suppressed };
	k->suppressed = 0;
}

bool log_limit_admit(struct log_limit *l, const char *key, int64_t now_ms, struct log_suppressed *ret_report)
{
	struct log_key *k = NULL, *oldest = &l->keys[0];

	*ret_report = (struct log_suppressed){ NULL, 0 };
	for (unsigned i = 0; i < LOG_KEYS && !k; i++) {
		if (l->keys[i].key == key)
			k = &l->keys[i];
		else if (!l->keys[i].key || (oldest->key && l->keys[i].window_start_ms < oldest->window_start_ms))
			oldest = &l->keys[i];
	}
	if (!k) {
		/* A new message: the free place, else the one seen least lately, whose count is reported. */
		k = oldest;
		if (k->key)
			take(k, ret_report);
		*k = (struct log_key){ .key = key, .window_start_ms = now_ms };
	} else if (window_over(k, now_ms)) {
		take(k, ret_report);
		k->window_start_ms = now_ms;
		k->shown = 0;
	}
	if (k->shown >= LOG_BURST) {
		k->suppressed++;
		return false;
	}
	k->shown++;
	return true;
}

bool log_limit_due(struct log_limit *l, int64_t now_ms, struct log_suppressed *ret_report)
{
	*ret_report = (struct log_suppressed){ NULL, 0 };
	for (unsigned i = 0; i < LOG_KEYS; i++) {
		struct log_key *k = &l->keys[i];

		if (k->key && k->suppressed && (now_ms == INT64_MAX || window_over(k, now_ms))) {
			take(k, ret_report);
			return true;
		}
	}
	return false;
}

int log_limit_next_ms(const struct log_limit *l, int64_t now_ms)
{
	int64_t best = -1;

	for (unsigned i = 0; i < LOG_KEYS; i++) {
		const struct log_key *k = &l->keys[i];
		int64_t left;

		if (!k->key || !k->suppressed)
			continue;
		left = k->window_start_ms + LOG_WINDOW_MS - now_ms;
		if (left < 0)
			left = 0;
		if (best < 0 || left < best)
			best = left;
	}
	return (int)best;
}
