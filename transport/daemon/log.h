/* SPDX-License-Identifier: GPL-2.0-or-later */
/* log.h: vsockdev's log on stderr: one escaped line per message, by level, rate-limited per message. */
#ifndef VSOCKDEV_LOG_H
#define VSOCKDEV_LOG_H

#include <stdint.h>

struct daemon;

/*
 * A line when level <= d->verbose (0: errors, 1: the default, 2 and up: -v), held back past the rate
 * limit of its format (d->log_limit, logtext.h), whose report follows later. d may be NULL: level 1.
 */
__attribute__((format(printf, 3, 4)))
void logmsg(const struct daemon *d, int level, const char *fmt, ...);
/* The reports of held-back lines that fell due by now_ms (every one at the end: INT64_MAX). */
void log_reports_due(const struct daemon *d, int64_t now_ms);

#endif
