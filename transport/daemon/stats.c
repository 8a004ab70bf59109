/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stats.c: vsockdev's statistics as JSON, served on a Unix socket (connect, read one document, done). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon.h"
#include "log.h"

/* The document's shape is versioned: vsocktop and monitoring read it (vsockdev(8) lists the keys). */
#define STATS_VERSION 1

static uint64_t ns_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((now.tv_sec - t->tv_sec) * 1000000000LL + (now.tv_nsec - t->tv_nsec));
}

static json_t *u64(uint64_t v)
{
	/* jansson's integers are signed 64-bit; counters never come near 2^63. */
	return json_integer((json_int_t)v);
}

static json_t *queue_json(const char *name, unsigned index, const struct vtr_vudev_queue_stats *q)
{
	return json_pack("{s:s, s:i, s:i, s:b, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "name", name, "index", (int)index, "size", (int)q->size, "started", q->started,
			 "enabled", q->enabled,
			 "avail_idx", u64(q->ring.avail_idx), "last_avail_idx", u64(q->ring.last_avail_idx),
			 "used_idx", u64(q->ring.used_idx), "in_flight", u64(q->ring.in_flight),
			 "kicks", u64(q->kicks), "calls", u64(q->calls),
			 "notifications_suppressed", u64(q->ring.notify_suppressed),
			 "chains_popped", u64(q->ring.pops), "chains_pushed", u64(q->ring.pushes));
}

/* Refusals by reason: every key of the refusal table, zeros included, so monitoring sees them all. */
static json_t *refusals_json(const uint64_t *counts)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < REFUSE_N; i++)
		json_object_set_new(o, refusal_table[i].key, u64(counts[i]));
	return o;
}

/*
 * The VM's recent refusals, timeouts and resets, oldest first: each with its cause as a key of the
 * refusal table, its sentence, the side ("host": a host program's connection, "guest": one the
 * guest opened), the port asked for and a detail (the socket path, the timeout...).
 */
static json_t *events_json(const struct vm *vm)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < vm->events_n; i++) {
		const struct vm_event *ev = &vm->events[(vm->events_head + i) % VSOCKDEV_EVENTS];

		json_array_append_new(a, json_pack("{s:o, s:s, s:s, s:s, s:o, s:s}",
			"ts_ns", u64((uint64_t)ev->realtime_ns), "reason", refusal_table[ev->reason].key,
			"why", refusal_table[ev->reason].why, "side", ev->host_side ? "host" : "guest",
			"port", u64(ev->port), "detail", ev->detail));
	}
	return a;
}

static json_t *vm_json(const struct vm *vm)
{
	struct vtr_vudev_stats ds;
	struct vtr_stats es;
	json_t *o, *groups = json_array();

	vtr_vudev_stats(vm->dev, &ds);
	vtr_engine_stats(vm->engine, &es);
	for (unsigned i = 0; i < vm->cfg.ngroups; i++)
		json_array_append_new(groups, json_string(vm->cfg.groups[i]));
	o = json_pack("{s:o, s:s, s:s?, s:o, s:b, s:b, s:o, s:o, s:o, s:o}",
		      "guest_cid", u64(vm->cfg.guest_cid), "socket", vm->cfg.socket, "uds_path", vm->cfg.uds_path,
		      "groups", groups, "attached", ds.attached, "running", ds.running,
		      "features", u64(ds.features), "protocol_features", u64(ds.protocol_features),
		      "memory_regions", u64(ds.regions), "memory_bytes", u64(ds.mem_bytes));
	json_object_set_new(o, "queues", json_pack("[o, o]", queue_json("rx", 0, &ds.q[VTR_VUDEV_RX]),
						    queue_json("tx", 1, &ds.q[VTR_VUDEV_TX])));
	json_object_set_new(o, "packets", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
		"from_guest", u64(ds.pkts_from_guest), "from_guest_bytes", u64(ds.bytes_from_guest),
		"to_guest", u64(ds.pkts_to_guest), "to_guest_bytes", u64(ds.bytes_to_guest),
		"split", u64(ds.splits), "malformed", u64(ds.malformed)));
	/* Ring exhaustion: how often and how long packets waited because the guest left no RX buffer. */
	json_object_set_new(o, "rx_ring_empty", json_pack("{s:o, s:o, s:o, s:b}",
		"events", u64(ds.rx_empty_events), "total_ns", u64(ds.rx_empty_ns), "max_ns", u64(ds.rx_empty_max_ns),
		"now", ds.rx_empty_now));
	json_object_set_new(o, "host", json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"connections", u64(vm->nconns), "host_connects", u64(vm->st.host_connects),
		"host_connect_failures", u64(vm->st.host_connect_fail), "guest_connects", u64(vm->st.guest_connects),
		"guest_refused", u64(vm->st.guest_refused), "engine_rst_sent", u64(es.rst_sent),
		"engine_violations", u64(es.violations), "engine_tx_queue_bytes", u64(es.tx_queue_bytes)));
	json_object_set_new(json_object_get(o, "host"), "host_connect_failures_by_reason", json_pack(
		"{s:o, s:o, s:o}", "no_driver", u64(vm->st.host_connect_no_driver),
		"refused", u64(vm->st.host_connect_refused), "timeout", u64(vm->st.host_connect_timeout)));
	/* The limits (vsockdev(8) LIMITS) and what they turned away. */
	json_object_set_new(json_object_get(o, "host"), "max_connections", u64(vm->max_conns));
	json_object_set_new(json_object_get(o, "host"), "pending_handshakes", u64(vm->npending));
	json_object_set_new(json_object_get(o, "host"), "host_refused_by_reason", refusals_json(vm->st.host_refused));
	json_object_set_new(json_object_get(o, "host"), "guest_refused_by_reason",
			    refusals_json(vm->st.guest_refused_by));
	json_object_set_new(o, "forwarding", json_pack("{s:o, s:o, s:o, s:o, s:o}",
		"in", u64(vm->st.fwd_in), "dropped", u64(vm->st.fwd_dropped), "queued_bytes", u64(vm->fwd.bytes),
		"unroutable", u64(vm->st.unroutable), "spoofed", u64(vm->st.spoofed)));
	json_object_set_new(o, "events_total", u64(vm->events_total));
	json_object_set_new(o, "events_by_reason", refusals_json(vm->events_by));
	json_object_set_new(o, "events", events_json(vm));
	json_object_set_new(o, "sessions", u64(ds.sessions));
	json_object_set_new(o, "resets", u64(ds.resets));
	json_object_set_new(o, "device_resets", u64(ds.device_resets));
	json_object_set_new(o, "status_resets", u64(ds.status_resets));
	json_object_set_new(o, "last_error", json_string(ds.last_error));
	return o;
}

char *stats_json(const struct daemon *d)
{
	json_t *root = json_object(), *vms = json_array(), *sinks = json_array();
	char *s;

	for (unsigned i = 0; i < d->nvms; i++)
		json_array_append_new(vms, vm_json(d->vms[i]));
	for (size_t i = 0; d->tap && i < vtr_tap_sink_count(d->tap); i++) {
		struct vtr_tap_sink_stats ts;

		json_t *sink;
		const char *file = vtr_tap_sink_file(d->tap, i);

		vtr_tap_sink_stats(d->tap, i, &ts);
		sink = json_pack("{s:o, s:o, s:o, s:o, s:i}", "frames", u64(ts.frames),
			"bytes", u64(ts.bytes), "dropped", u64(ts.dropped), "unobserved", u64(ts.unobserved),
			"error", ts.error);
		/* pcap sinks: the file written now (-C/-G rotate it), and whether -G -W ended the capture */
		if (file) {
			json_object_set_new(sink, "file", json_string(file));
			json_object_set_new(sink, "finished", json_boolean(ts.finished));
		}
		json_array_append_new(sinks, sink);
	}
	json_object_set_new(root, "version", json_integer(STATS_VERSION));
	json_object_set_new(root, "pid", json_integer(getpid()));
	json_object_set_new(root, "uptime_ns", u64(ns_since(&d->started)));
	json_object_set_new(root, "tap_sinks", sinks);
	json_object_set_new(root, "vms", vms);
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return s;
}

int stats_listen(struct daemon *d, const char *path, char *err, size_t errlen)
{
	int fd = service_listen_unix(path, 16, &d->socket_perm, err, errlen);

	if (fd < 0)
		return fd;
	d->stats_fd = fd;
	return 0;
}

/* Each client gets one document and the end of the stream: `socat - UNIX-CONNECT:PATH` prints it. */
void stats_serve(struct daemon *d)
{
	for (int i = 0; i < 16; i++) {
		int fd = daemon_accept(d->stats_fd, SOCK_CLOEXEC, &d->stats_paused_until);
		struct timeval tv = { .tv_sec = 1 };
		char *s;
		size_t len, off = 0;

		if (fd == -EMFILE || fd == -ENFILE)
			logmsg(d, 0, "statistics: cannot take a client: %s; trying again in %d ms", strerror(-fd),
			       VSOCKDEV_ACCEPT_PAUSE_MS);
		if (fd < 0)
			return;
		/* A reader that does not read may hold the daemon for a second at the most. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		s = stats_json(d);
		len = s ? strlen(s) : 0;
		while (s && off < len) {
			ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
		if (s && off == len)
			(void)!send(fd, "\n", 1, MSG_NOSIGNAL);
		free(s);
		close(fd);
	}
}
