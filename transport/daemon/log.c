/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.c: vsockdev's log on stderr (log.h), apart from main.c: the VM and connection code log without the entry point. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon.h"
#include "log.h"
#include "logtext.h"

/* One line on stderr, every byte that is not printable ASCII escaped (logtext.h): the messages carry
 * paths and what host programs and guests sent. */
static void log_line(const char *text)
{
	char line[4 * 1024 + 1];

	log_escape(text, strlen(text), line, sizeof(line));
	fprintf(stderr, "vsockdev: %s\n", line);
}

static void log_report(const struct log_suppressed *r)
{
	char text[512];

	if (!r->count)
		return;
	snprintf(text, sizeof(text), "%u similar messages suppressed (at most %u a second of each): \"%s\"",
		 r->count, LOG_BURST * 1000 / LOG_WINDOW_MS, r->key);
	log_line(text);
}

void log_reports_due(const struct daemon *d, int64_t now_ms)
{
	struct log_suppressed r;

	while (d->log_limit && log_limit_due(d->log_limit, now_ms, &r))
		log_report(&r);
}

void logmsg(const struct daemon *d, int level, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (level > (d ? d->verbose : 1))
		return;
	if (d && d->log_limit) {
		struct log_suppressed r;
		bool show = log_limit_admit(d->log_limit, fmt, daemon_mono_ms(), &r);

		log_report(&r);
		if (!show)
			return;
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_line(text);
}
