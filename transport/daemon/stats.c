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
#include <vsockmon/devcounters.h>

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
			 VSM_DC_KEY(Q_NAME), name, VSM_DC_KEY(Q_INDEX), (int)index, VSM_DC_KEY(Q_SIZE), (int)q->size,
			 VSM_DC_KEY(Q_STARTED), q->started, VSM_DC_KEY(Q_ENABLED), q->enabled,
			 VSM_DC_KEY(Q_AVAIL_IDX), u64(q->ring.avail_idx), VSM_DC_KEY(Q_LAST_AVAIL_IDX), u64(q->ring.last_avail_idx),
			 VSM_DC_KEY(Q_USED_IDX), u64(q->ring.used_idx), VSM_DC_KEY(Q_IN_FLIGHT), u64(q->ring.in_flight),
			 VSM_DC_KEY(Q_KICKS), u64(q->kicks), VSM_DC_KEY(Q_CALLS), u64(q->calls),
			 VSM_DC_KEY(Q_SUPPRESSED), u64(q->ring.notify_suppressed),
			 VSM_DC_KEY(Q_POPPED), u64(q->ring.pops), VSM_DC_KEY(Q_PUSHED), u64(q->ring.pushes));
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
		      VSM_DC_KEY(GUEST_CID), u64(vm->cfg.guest_cid), VSM_DC_KEY(SOCKET), vm->cfg.socket,
		      VSM_DC_KEY(UDS_PATH), vm->cfg.uds_path, VSM_DC_KEY(GROUPS), groups,
		      VSM_DC_KEY(ATTACHED), ds.attached, VSM_DC_KEY(RUNNING), ds.running,
		      VSM_DC_KEY(FEATURES), u64(ds.features), VSM_DC_KEY(PROTOCOL_FEATURES), u64(ds.protocol_features),
		      VSM_DC_KEY(MEMORY_REGIONS), u64(ds.regions), VSM_DC_KEY(MEMORY_BYTES), u64(ds.mem_bytes));
	json_object_set_new(o, VSM_DG_KEY(QUEUE), json_pack("[o, o]", queue_json("rx", 0, &ds.q[VTR_VUDEV_RX]),
						    queue_json("tx", 1, &ds.q[VTR_VUDEV_TX])));
	json_object_set_new(o, VSM_DG_KEY(PACKETS), json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
		VSM_DC_KEY(FROM_GUEST), u64(ds.pkts_from_guest), VSM_DC_KEY(FROM_GUEST_BYTES), u64(ds.bytes_from_guest),
		VSM_DC_KEY(TO_GUEST), u64(ds.pkts_to_guest), VSM_DC_KEY(TO_GUEST_BYTES), u64(ds.bytes_to_guest),
		VSM_DC_KEY(SPLIT), u64(ds.splits), VSM_DC_KEY(MALFORMED), u64(ds.malformed)));
	/* Ring exhaustion: how often and how long packets waited because the guest left no RX buffer. */
	json_object_set_new(o, VSM_DG_KEY(RX_EMPTY), json_pack("{s:o, s:o, s:o, s:b}",
		VSM_DC_KEY(RX_EMPTY_EVENTS), u64(ds.rx_empty_events), VSM_DC_KEY(RX_EMPTY_NS), u64(ds.rx_empty_ns),
		VSM_DC_KEY(RX_EMPTY_MAX_NS), u64(ds.rx_empty_max_ns), VSM_DC_KEY(RX_EMPTY_NOW), ds.rx_empty_now));
	json_object_set_new(o, VSM_DG_KEY(HOST), json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		VSM_DC_KEY(CONNECTIONS), u64(vm->nconns), VSM_DC_KEY(HOST_CONNECTS), u64(vm->st.host_connects),
		VSM_DC_KEY(HOST_CONNECT_FAILURES), u64(vm->st.host_connect_fail),
		VSM_DC_KEY(GUEST_CONNECTS), u64(vm->st.guest_connects),
		VSM_DC_KEY(GUEST_REFUSED), u64(vm->st.guest_refused), VSM_DC_KEY(ENGINE_RST_SENT), u64(es.rst_sent),
		VSM_DC_KEY(ENGINE_VIOLATIONS), u64(es.violations),
		VSM_DC_KEY(ENGINE_TX_QUEUE_BYTES), u64(es.tx_queue_bytes)));
	json_object_set_new(json_object_get(o, VSM_DG_KEY(HOST)), VSM_DG_KEY(HOST_FAILURES), json_pack(
		"{s:o, s:o, s:o}", VSM_DC_KEY(FAIL_NO_DRIVER), u64(vm->st.host_connect_no_driver),
		VSM_DC_KEY(FAIL_REFUSED), u64(vm->st.host_connect_refused),
		VSM_DC_KEY(FAIL_TIMEOUT), u64(vm->st.host_connect_timeout)));
	/* The limits (vsockdev(8) LIMITS) and what they turned away. */
	json_object_set_new(json_object_get(o, VSM_DG_KEY(HOST)), VSM_DC_KEY(MAX_CONNECTIONS), u64(vm->max_conns));
	json_object_set_new(json_object_get(o, VSM_DG_KEY(HOST)), VSM_DC_KEY(PENDING_HANDSHAKES), u64(vm->npending));
	json_object_set_new(json_object_get(o, VSM_DG_KEY(HOST)), VSM_DC_KEY(HOST_REFUSED_BY_REASON),
			    refusals_json(vm->st.host_refused));
	json_object_set_new(json_object_get(o, VSM_DG_KEY(HOST)), VSM_DC_KEY(GUEST_REFUSED_BY_REASON),
			    refusals_json(vm->st.guest_refused_by));
	json_object_set_new(o, VSM_DG_KEY(FORWARDING), json_pack("{s:o, s:o, s:o, s:o, s:o}",
		VSM_DC_KEY(FWD_IN), u64(vm->st.fwd_in), VSM_DC_KEY(FWD_DROPPED), u64(vm->st.fwd_dropped),
		VSM_DC_KEY(FWD_QUEUED_BYTES), u64(vm->fwd.bytes), VSM_DC_KEY(FWD_UNROUTABLE), u64(vm->st.unroutable),
		VSM_DC_KEY(FWD_SPOOFED), u64(vm->st.spoofed)));
	json_object_set_new(o, VSM_DC_KEY(EVENTS_TOTAL), u64(vm->events_total));
	json_object_set_new(o, VSM_DC_KEY(EVENTS_BY_REASON), refusals_json(vm->events_by));
	json_object_set_new(o, "events", events_json(vm));
	json_object_set_new(o, VSM_DC_KEY(SESSIONS), u64(ds.sessions));
	json_object_set_new(o, VSM_DC_KEY(RESETS), u64(ds.resets));
	json_object_set_new(o, VSM_DC_KEY(DEVICE_RESETS), u64(ds.device_resets));
	json_object_set_new(o, VSM_DC_KEY(STATUS_RESETS), u64(ds.status_resets));
	json_object_set_new(o, VSM_DC_KEY(LAST_ERROR), json_string(ds.last_error));
	return o;
}

char *stats_json(const struct daemon *d)
{
	json_t *root = json_object(), *vms = json_array(), *sinks = json_array();
	char *s;

	for (unsigned i = 0; i < d->nvms; i++)
		json_array_append_new(vms, vm_json(d->vms[i]));
	for (size_t i = 0; d->tap && i < vsm_tap_sink_count(d->tap); i++) {
		struct vsm_tap_sink_stats ts;

		json_t *sink;
		const char *file = vsm_tap_sink_file(d->tap, i);

		vsm_tap_sink_stats(d->tap, i, &ts);
		sink = json_pack("{s:o, s:o, s:o, s:o, s:i}", VSM_DC_KEY(SINK_FRAMES), u64(ts.frames),
			VSM_DC_KEY(SINK_BYTES), u64(ts.bytes), VSM_DC_KEY(SINK_DROPPED), u64(ts.dropped),
			VSM_DC_KEY(SINK_UNOBSERVED), u64(ts.unobserved), VSM_DC_KEY(SINK_ERROR), ts.error);
		/* pcap sinks: the file written now (-C/-G rotate it), and whether -G -W ended the capture */
		if (file) {
			json_object_set_new(sink, VSM_DC_KEY(SINK_FILE), json_string(file));
			json_object_set_new(sink, VSM_DC_KEY(SINK_FINISHED), json_boolean(ts.finished));
		}
		json_array_append_new(sinks, sink);
	}
	json_object_set_new(root, VSM_DC_KEY(VERSION), json_integer(STATS_VERSION));
	json_object_set_new(root, VSM_DC_KEY(PID), json_integer(getpid()));
	json_object_set_new(root, VSM_DC_KEY(UPTIME_NS), u64(ns_since(&d->started)));
	json_object_set_new(root, VSM_DG_KEY(SINK), sinks);
	json_object_set_new(root, VSM_DG_KEY(VM), vms);
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
