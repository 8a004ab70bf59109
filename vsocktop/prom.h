/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom.h: the Prometheus text exposition of vsocktop's counters, served over HTTP or written for node_exporter. */
#ifndef VSOCKTOP_PROM_H
#define VSOCKTOP_PROM_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <vsockmon/strbuf.h>

#include "frame.h"
#include "model.h"

/* The exposition (text format 0.0.4): the header's counters, per CID, per device. */
void top_prom_text(struct vsm_strbuf *out, const struct top_model *m, const struct top_frame_info *info);

/*
 * Writes text to path for node_exporter's textfile collector: into a hidden temporary file in the
 * same directory, then renamed over path, so a reader never sees half a file. Returns 0 or -errno
 * with a message.
 */
int top_prom_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen);

struct top_prom_server;

/*
 * Listens on spec, "PORT" (127.0.0.1 only) or "ADDR:PORT" ("[V6ADDR]:PORT"; 0.0.0.0 or [::] for every
 * address); port 0 picks a free one. Answers every connection but at most 64 at a time (prom.c).
 */
int top_prom_listen(const char *spec, struct top_prom_server **ret_server, char *err, size_t errlen);
void top_prom_close(struct top_prom_server *s);
/* The port listened on (the one picked for port 0). */
int top_prom_port(const struct top_prom_server *s);
/* The address listened on, "127.0.0.1:9100" or "[::1]:9100". */
const char *top_prom_address(const struct top_prom_server *s);
/* The body GET /metrics answers with from now on (copied). */
void top_prom_set_body(struct top_prom_server *s, const char *text, size_t len);
/* The descriptors to poll (listener and clients) into fds; returns how many (at most max). */
size_t top_prom_pollfds(struct top_prom_server *s, struct pollfd *fds, size_t max);
/* Serves what poll found ready on the descriptors top_prom_pollfds gave. now_ms: a monotonic clock. */
void top_prom_handle(struct top_prom_server *s, const struct pollfd *fds, size_t n, int64_t now_ms);

#endif
