/* SPDX-License-Identifier: GPL-2.0-or-later */
/* device.h: reading vsockdev's statistics socket without blocking: connect, read one JSON document to its end. */
#ifndef VSOCKTOP_DEVICE_H
#define VSOCKTOP_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model.h"

struct top_fetch {
	const char *path;		/* vsockdev --stats PATH */
	int fd;				/* -1 when no read is under way */
	char *buf;
	size_t len, cap;
	int64_t deadline_ms;		/* a daemon that does not answer in time is given up on */
};

void top_fetch_init(struct top_fetch *f, const char *path);
/* Starts a read (unless one is under way). Returns 0 or -errno with a message (no daemon there...). */
int top_fetch_start(struct top_fetch *f, int64_t now_ms, char *err, size_t errlen);
/*
 * Reads what is there. Returns 1 when the document is whole (f->buf, f->len; the socket is closed),
 * 0 when more is to come, or -errno with a message (also for a timeout).
 */
int top_fetch_read(struct top_fetch *f, int64_t now_ms, char *err, size_t errlen);
/* Waits up to timeout_ms for a whole document (start, then read): for frames on capture time. */
int top_fetch_sync(struct top_fetch *f, int64_t now_ms, int timeout_ms, char *err, size_t errlen);
void top_fetch_cancel(struct top_fetch *f);
void top_fetch_free(struct top_fetch *f);

/*
 * Reads a vsockdev statistics document (JSON, version 1) of len bytes, any bytes at all: a pure
 * function, which the fuzzer calls as vsocktop does. prev (may be NULL) is the previous document, read
 * at prev->read_at, for the rates; mono_now is when this one was read. Returns 0 with *ret (ret->vm
 * allocated, the caller frees it), or -EINVAL with a message in err.
 */
int top_devices_parse(const char *text, size_t len, const struct top_devices *prev, const struct timespec *mono_now,
		      struct top_devices *ret, char *err, size_t errlen);

#endif
