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

#include <jansson.h>
#include <vsockmon/devcounters.h>

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

/* ---- the document ---- */

static int64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 + (b->tv_nsec - a->tv_nsec);
}

static uint64_t get_u64(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
	if (json_is_true(v))
		return 1;
	return 0;
}

static bool get_bool(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static void get_str(json_t *obj, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(obj, key));

	snprintf(buf, len, "%s", s ? s : "");
}

static void parse_queue(json_t *q, struct top_queue *ret)
{
	memset(ret, 0, sizeof(*ret));
	get_str(q, VSM_DC_KEY(Q_NAME), ret->name, sizeof(ret->name));
	ret->size = get_u64(q, VSM_DC_KEY(Q_SIZE));
	ret->started = get_bool(q, VSM_DC_KEY(Q_STARTED));
	ret->enabled = get_bool(q, VSM_DC_KEY(Q_ENABLED));
	ret->avail_idx = get_u64(q, VSM_DC_KEY(Q_AVAIL_IDX));
	ret->last_avail_idx = get_u64(q, VSM_DC_KEY(Q_LAST_AVAIL_IDX));
	ret->used_idx = get_u64(q, VSM_DC_KEY(Q_USED_IDX));
	ret->in_flight = get_u64(q, VSM_DC_KEY(Q_IN_FLIGHT));
	ret->kicks = get_u64(q, VSM_DC_KEY(Q_KICKS));
	ret->calls = get_u64(q, VSM_DC_KEY(Q_CALLS));
	ret->suppressed = get_u64(q, VSM_DC_KEY(Q_SUPPRESSED));
	ret->popped = get_u64(q, VSM_DC_KEY(Q_POPPED));
	ret->pushed = get_u64(q, VSM_DC_KEY(Q_PUSHED));
	/* Ring indexes are free-running 16-bit counters (virtio spec 2.7.6): compare by subtraction. */
	ret->occupancy = (uint16_t)(ret->avail_idx - ret->used_idx);
	if (ret->size && ret->occupancy > ret->size)
		ret->occupancy = ret->size;
}

/* vsockdev's causes (its refusal table's keys, whatever they are) and its newest events. */
static void parse_events(json_t *o, struct top_device *d)
{
	json_t *by = json_object_get(o, VSM_DC_KEY(EVENTS_BY_REASON)), *events = json_object_get(o, "events"), *v;
	const char *key;
	size_t n = json_array_size(events), i;

	d->events_total = get_u64(o, VSM_DC_KEY(EVENTS_TOTAL));
	json_object_foreach(by, key, v) {
		struct top_device_reason *r;

		if (d->nreasons == TOP_DEVICE_REASONS || !json_is_integer(v))
			continue;
		r = &d->reasons[d->nreasons++];
		snprintf(r->key, sizeof(r->key), "%s", key);
		r->count = get_u64(by, key);
	}
	for (i = n > TOP_DEVICE_EVENTS ? n - TOP_DEVICE_EVENTS : 0; i < n; i++) {
		json_t *e = json_array_get(events, i);
		struct top_device_event *ev = &d->events[d->nevents++];

		ev->ts_ns = get_u64(e, "ts_ns");
		ev->port = (uint32_t)get_u64(e, "port");
		get_str(e, "reason", ev->reason, sizeof(ev->reason));
		get_str(e, "why", ev->why, sizeof(ev->why));
		get_str(e, "side", ev->side, sizeof(ev->side));
		get_str(e, "detail", ev->detail, sizeof(ev->detail));
	}
}

static void parse_vm(json_t *o, struct top_device *d)
{
	json_t *queues = json_object_get(o, VSM_DG_KEY(QUEUE)), *q;
	json_t *pk = json_object_get(o, VSM_DG_KEY(PACKETS)), *empty = json_object_get(o, VSM_DG_KEY(RX_EMPTY));
	json_t *host = json_object_get(o, VSM_DG_KEY(HOST));
	size_t i;

	memset(d, 0, sizeof(*d));
	d->guest_cid = get_u64(o, VSM_DC_KEY(GUEST_CID));
	get_str(o, VSM_DC_KEY(SOCKET), d->socket, sizeof(d->socket));
	d->attached = get_bool(o, VSM_DC_KEY(ATTACHED));
	d->running = get_bool(o, VSM_DC_KEY(RUNNING));
	json_array_foreach(queues, i, q) {
		if (d->nqueues == 2)
			break;
		parse_queue(q, &d->queue[d->nqueues++]);
	}
	d->from_guest = get_u64(pk, VSM_DC_KEY(FROM_GUEST));
	d->from_guest_bytes = get_u64(pk, VSM_DC_KEY(FROM_GUEST_BYTES));
	d->to_guest = get_u64(pk, VSM_DC_KEY(TO_GUEST));
	d->to_guest_bytes = get_u64(pk, VSM_DC_KEY(TO_GUEST_BYTES));
	d->split = get_u64(pk, VSM_DC_KEY(SPLIT));
	d->malformed = get_u64(pk, VSM_DC_KEY(MALFORMED));
	d->rx_empty_events = get_u64(empty, VSM_DC_KEY(RX_EMPTY_EVENTS));
	d->rx_empty_ns = get_u64(empty, VSM_DC_KEY(RX_EMPTY_NS));
	d->rx_empty_max_ns = get_u64(empty, VSM_DC_KEY(RX_EMPTY_MAX_NS));
	d->rx_empty_now = get_bool(empty, VSM_DC_KEY(RX_EMPTY_NOW));
	d->connections = get_u64(host, VSM_DC_KEY(CONNECTIONS));
	d->guest_refused = get_u64(host, VSM_DC_KEY(GUEST_REFUSED));
	d->engine_rst_sent = get_u64(host, VSM_DC_KEY(ENGINE_RST_SENT));
	d->sessions = get_u64(o, VSM_DC_KEY(SESSIONS));
	d->resets = get_u64(o, VSM_DC_KEY(RESETS));
	get_str(o, VSM_DC_KEY(LAST_ERROR), d->last_error, sizeof(d->last_error));
	parse_events(o, d);
}

static double per_second(uint64_t now, uint64_t before, double seconds)
{
	return seconds > 0 && now >= before ? (double)(now - before) / seconds : 0;
}

int top_devices_parse(const char *text, size_t len, const struct top_devices *prev, const struct timespec *mono_now,
		      struct top_devices *ret, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr), *vms, *sinks, *o;
	struct top_devices dev = { .have = true, .read_at = *mono_now };
	double seconds = prev && prev->have ? (double)ns_between(&prev->read_at, mono_now) / 1e9 : 0;
	size_t i;

	if (!root) {
		snprintf(err, errlen, "the statistics are not JSON (line %d: %s)", jerr.line, jerr.text);
		return -EINVAL;
	}
	vms = json_object_get(root, VSM_DG_KEY(VM));
	if (!json_is_object(root) || !json_is_integer(json_object_get(root, VSM_DC_KEY(VERSION))) ||
	    !json_is_array(vms)) {
		snprintf(err, errlen, "not a vsockdev statistics document (no \"version\" and \"vms\")");
		goto bad;
	}
	dev.version = get_u64(root, VSM_DC_KEY(VERSION));
	if (dev.version != 1) {
		snprintf(err, errlen, "statistics version %llu: vsocktop reads version 1 (update vsocktop)",
			 (unsigned long long)dev.version);
		goto bad;
	}
	dev.pid = get_u64(root, VSM_DC_KEY(PID));
	dev.uptime_ns = get_u64(root, VSM_DC_KEY(UPTIME_NS));
	sinks = json_object_get(root, VSM_DG_KEY(SINK));
	json_array_foreach(sinks, i, o) {
		dev.tap_frames += get_u64(o, VSM_DC_KEY(SINK_FRAMES));
		dev.tap_dropped += get_u64(o, VSM_DC_KEY(SINK_DROPPED));
		dev.tap_unobserved += get_u64(o, VSM_DC_KEY(SINK_UNOBSERVED));
		dev.ntap_sinks++;
	}
	dev.vm = calloc(json_array_size(vms) ? json_array_size(vms) : 1, sizeof(*dev.vm));
	if (!dev.vm) {
		snprintf(err, errlen, "out of memory");
		goto bad;
	}
	json_array_foreach(vms, i, o) {
		struct top_device *d = &dev.vm[dev.nvm++];

		parse_vm(o, d);
		/* Rates against the previous document's VM of the same CID (same daemon: the pid tells): the one
		 * at the same place first, so that a document naming a CID twice (a daemon never does; found
		 * by fuzz-top-stats) still pairs each VM with itself. */
		if (seconds > 0 && prev->pid == dev.pid) {
			const struct top_device *p = NULL;

			if (i < prev->nvm && prev->vm[i].guest_cid == d->guest_cid)
				p = &prev->vm[i];
			for (size_t k = 0; !p && k < prev->nvm; k++)
				if (prev->vm[k].guest_cid == d->guest_cid)
					p = &prev->vm[k];
			if (p) {
				d->from_guest_pps = per_second(d->from_guest, p->from_guest, seconds);
				d->to_guest_pps = per_second(d->to_guest, p->to_guest, seconds);
				d->from_guest_bps = per_second(d->from_guest_bytes, p->from_guest_bytes, seconds);
				d->to_guest_bps = per_second(d->to_guest_bytes, p->to_guest_bytes, seconds);
			}
		}
	}
	json_decref(root);
	*ret = dev;
	return 0;
bad:
	free(dev.vm);
	json_decref(root);
	return -EINVAL;
}

