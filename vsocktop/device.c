/* SPDX-License-Identifier: GPL-2.0-or-later */
/* device.c: fetching vsockdev's statistics (one JSON document per connection to its Unix socket) without blocking the display. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "device.h"

#define FETCH_TIMEOUT_MS 2000
#define MAX_DOCUMENT (16u << 20)

void top_fetch_init(struct top_fetch *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->fd = -1;
}

void top_fetch_cancel(struct top_fetch *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

void top_fetch_free(struct top_fetch *f)
{
	top_fetch_cancel(f);
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
}

int top_fetch_start(struct top_fetch *f, int64_t now_ms, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret;

	if (f->fd >= 0)
		return 0;
	if (strlen(f->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a Unix socket", f->path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, f->path);
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	if (connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS && errno != EAGAIN) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s (is vsockdev running with --stats %s?)", f->path, strerror(errno), f->path);
		top_fetch_cancel(f);
		return ret;
	}
	f->len = 0;
	f->deadline_ms = now_ms + FETCH_TIMEOUT_MS;
	return 0;
}

int top_fetch_read(struct top_fetch *f, int64_t now_ms, char *err, size_t errlen)
{
	for (;;) {
		ssize_t n;

		if (f->len + 4096 + 1 > f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 16384;
			char *buf;

			if (cap > MAX_DOCUMENT) {
				snprintf(err, errlen, "%s: the statistics document passes %u bytes", f->path, MAX_DOCUMENT);
				top_fetch_cancel(f);
				return -EMSGSIZE;
			}
			buf = realloc(f->buf, cap);
			if (!buf) {
				snprintf(err, errlen, "out of memory");
				top_fetch_cancel(f);
				return -ENOMEM;
			}
			f->buf = buf;
			f->cap = cap;
		}
		n = read(f->fd, f->buf + f->len, f->cap - f->len - 1);
		if (n > 0) {
			f->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			/* vsockdev closes the connection after the document: it is whole. */
			f->buf[f->len] = '\0';
			top_fetch_cancel(f);
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			if (now_ms > f->deadline_ms) {
				snprintf(err, errlen, "%s: no answer within %d ms", f->path, FETCH_TIMEOUT_MS);
				top_fetch_cancel(f);
				return -ETIMEDOUT;
			}
			return 0;
		}
		n = -errno;
		snprintf(err, errlen, "%s: %s", f->path, strerror(errno));
		top_fetch_cancel(f);
		return (int)n;
	}
}

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int top_fetch_sync(struct top_fetch *f, int64_t now_ms, int timeout_ms, char *err, size_t errlen)
{
	int64_t end = now_ms + timeout_ms;
	int ret = top_fetch_start(f, now_ms, err, errlen);

	if (ret < 0)
		return ret;
	f->deadline_ms = end;
	for (;;) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		int64_t left = end - mono_ms();

		ret = top_fetch_read(f, mono_ms(), err, errlen);
		if (ret != 0)
			return ret;
		if (poll(&p, 1, left > 0 ? (int)left : 0) < 0 && errno != EINTR) {
			ret = -errno;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			top_fetch_cancel(f);
			return ret;
		}
	}
}
