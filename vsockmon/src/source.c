/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.c: one capture source over the pcap reader and the live capture, chosen once through an operations table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/source.h>

/*
 * What differs between a file and an interface, as libpcap's read_op and next_packet_op in
 * pcap-int.h: set once at open, so the read loop has no branch on the kind of source.
 */
struct source_ops {
	int (*next)(void *impl, struct vsm_rec *ret_rec);
	int (*fd)(const void *impl);
	const char *(*error)(const void *impl);
	void (*close)(void *impl);
	bool live;
};

struct vsm_source {
	const struct source_ops *ops;
	void *impl;		/* struct vsm_pcap_reader or struct vsm_live */
	char *name;
};

static int file_next(void *impl, struct vsm_rec *ret_rec)
{
	return vsm_pcap_next(impl, ret_rec);
}

static int file_fd(const void *impl)
{
	(void)impl;
	return -1;	/* the reader buffers: its descriptor does not say whether a frame is ready */
}

static const char *file_error(const void *impl)
{
	return vsm_pcap_error(impl);
}

static void file_close(void *impl)
{
	vsm_pcap_close(impl);
}

static const struct source_ops file_ops = {
	.next = file_next, .fd = file_fd, .error = file_error, .close = file_close, .live = false,
};

static int live_next(void *impl, struct vsm_rec *ret_rec)
{
	int ret = vsm_live_next(impl, ret_rec);

	return ret == 0 ? -EAGAIN : ret;
}

static int live_fd(const void *impl)
{
	return vsm_live_fd(impl);
}

static const char *live_error(const void *impl)
{
	return vsm_live_error(impl);
}

static void live_close(void *impl)
{
	vsm_live_close(impl);
}

static const struct source_ops live_ops = {
	.next = live_next, .fd = live_fd, .error = live_error, .close = live_close, .live = true,
};

/* Wraps an open reader or live capture; closes it when out of memory. */
static int wrap(const struct source_ops *ops, void *impl, const char *name, struct vsm_source **ret_source,
		char *errbuf, size_t errlen)
{
	struct vsm_source *s = calloc(1, sizeof(*s));

	if (s)
		s->name = strdup(name);
	if (!s || !s->name) {
		free(s);
		ops->close(impl);
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	s->ops = ops;
	s->impl = impl;
	*ret_source = s;
	return 0;
}

int vsm_source_open_file(const char *path, int cancel_fd, struct vsm_source **ret_source, char *errbuf,
			 size_t errlen)
{
	struct vsm_pcap_reader *reader;
	int ret = vsm_pcap_open_cancellable(path, cancel_fd, &reader, errbuf, errlen);

	if (ret < 0)
		return ret;
	return wrap(&file_ops, reader, strcmp(path, "-") == 0 ? "stdin" : path, ret_source, errbuf, errlen);
}

int vsm_source_open_live(const struct vsm_live_opts *opts, struct vsm_source **ret_source, char *errbuf,
			 size_t errlen)
{
	struct vsm_live *live;
	int ret = vsm_live_open(opts, &live, errbuf, errlen);

	if (ret < 0)
		return ret;
	return wrap(&live_ops, live, vsm_live_ifname(live), ret_source, errbuf, errlen);
}

int vsm_source_next(struct vsm_source *source, struct vsm_rec *ret_rec)
{
	return source->ops->next(source->impl, ret_rec);
}

int vsm_source_fd(const struct vsm_source *source)
{
	return source->ops->fd(source->impl);
}

const char *vsm_source_error(const struct vsm_source *source)
{
	return source->ops->error(source->impl);
}

const char *vsm_source_name(const struct vsm_source *source)
{
	return source->name;
}

bool vsm_source_live(const struct vsm_source *source)
{
	return source->ops->live;
}

int vsm_source_stats(struct vsm_source *source, struct vsm_live_stats *ret_stats)
{
	if (!source->ops->live)
		return -EOPNOTSUPP;
	return vsm_live_stats(source->impl, ret_stats);
}

void vsm_source_close(struct vsm_source *source)
{
	if (!source)
		return;
	source->ops->close(source->impl);
	free(source->name);
	free(source);
}
