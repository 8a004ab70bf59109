/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.c: one capture source over the pcap reader and the live capture, the kind chosen once at open. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/source.h>

/*
 * libpcap's pcap_t keeps one handle for both and chooses its read_op once, at open; with two kinds
 * here, the kind is the one thing chosen at open, and each call below takes its side.
 */
struct vsm_source {
	struct vsm_pcap_reader *reader;	/* a file, a pipe, a FIFO or stdin; or NULL and: */
	struct vsm_live *live;		/* an interface */
	char *name;
};

/* A source around an open reader or live capture (one of them); closes it when out of memory. */
static int wrap(struct vsm_pcap_reader *reader, struct vsm_live *live, const char *name,
		struct vsm_source **ret_source, char *errbuf, size_t errlen)
{
	struct vsm_source *s = calloc(1, sizeof(*s));

	if (s)
		s->name = strdup(name);
	if (!s || !s->name) {
		free(s);
		/* name may be the live capture's own: said before it goes. */
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: out of memory", name);
		vsm_pcap_close(reader);
		vsm_live_close(live);
		return -ENOMEM;
	}
	s->reader = reader;
	s->live = live;
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
	return wrap(reader, NULL, strcmp(path, "-") == 0 ? "stdin" : path, ret_source, errbuf, errlen);
}

int vsm_source_open_live(const struct vsm_live_opts *opts, struct vsm_source **ret_source, char *errbuf,
			 size_t errlen)
{
	struct vsm_live *live;
	int ret = vsm_live_open(opts, &live, errbuf, errlen);

	if (ret < 0)
		return ret;
	return wrap(NULL, live, vsm_live_ifname(live), ret_source, errbuf, errlen);
}

int vsm_source_next(struct vsm_source *source, struct vsm_rec *ret_rec)
{
	int ret;

	if (source->reader)
		return vsm_pcap_next(source->reader, ret_rec);
	/* libpcap's 0 is "nothing yet" in non-blocking mode; an interface has no end. */
	ret = vsm_live_next(source->live, ret_rec);
	return ret == 0 ? -EAGAIN : ret;
}

int vsm_source_fd(const struct vsm_source *source)
{
	/* The reader buffers: its descriptor does not say whether a frame is ready, so a file has none. */
	return source->live ? vsm_live_fd(source->live) : -1;
}

const char *vsm_source_error(const struct vsm_source *source)
{
	return source->live ? vsm_live_error(source->live) : vsm_pcap_error(source->reader);
}

const char *vsm_source_name(const struct vsm_source *source)
{
	return source->name;
}

bool vsm_source_live(const struct vsm_source *source)
{
	return source->live != NULL;
}

int vsm_source_stats(struct vsm_source *source, struct vsm_live_stats *ret_stats)
{
	return source->live ? vsm_live_stats(source->live, ret_stats) : -EOPNOTSUPP;
}

void vsm_source_close(struct vsm_source *source)
{
	if (!source)
		return;
	vsm_pcap_close(source->reader);
	vsm_live_close(source->live);
	free(source->name);
	free(source);
}
