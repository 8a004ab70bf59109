/* SPDX-License-Identifier: GPL-2.0-or-later */
/* frame.h: the text of a vsocktop frame (header, cells, per-CID and device lines, detail), shared by the screen and batch mode. */
#ifndef VSOCKTOP_FRAME_H
#define VSOCKTOP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsockmon/strbuf.h>

#include "model.h"

/* What the frame says about where the data comes from. */
struct top_frame_info {
	const char *source;		/* "file lab.pcap", "interface vsockmon0"... */
	const char *device;		/* vsockdev's statistics socket, or NULL */
	bool capture;			/* the clock is a capture's */
	bool paused;
	bool ended;			/* the capture is over */
	bool numeric;
};

/*
 * Numbers for people, the one helper of every list: the number below 1000 ("812", a rate "12.5"),
 * past it three digits and a power of 1024 ("63.9K", "256K", "1.2M"), then unit ("B/s", "/s" or "").
 * The detail view prints exact values instead.
 */
void top_fmt_human(char *buf, size_t len, double v, const char *unit);
/* top_fmt_human without a unit, for counts, bytes and credit (signed: "-1.3K"), and rates. */
void top_fmt_amount(char *buf, size_t len, uint64_t v);
void top_fmt_signed(char *buf, size_t len, int64_t v);
void top_fmt_rate(char *buf, size_t len, double v);
/* A duration: "276us", "99.8ms", "1.10s"; "-" for 0. */
void top_fmt_ns(char *buf, size_t len, uint64_t ns);
/* A capture or wall-clock time in UTC: "2026-11-21 12:24:26.293638". */
void top_fmt_time(char *buf, size_t len, const struct timespec *ts);

/* The columns shown and their widths. */
struct top_layout {
	int ncols;
	int col[TOP_COL_COUNT];
	int width[TOP_COL_COUNT];	/* by column id */
};

/*
 * Chooses the columns for a line of width characters (0: no limit, every column) and sizes the
 * endpoints to the rows first .. first + count - 1 of the model. When columns must go, those of
 * least priority go first; the sort key's columns stay.
 */
void top_layout(const struct top_model *m, size_t first, size_t count, int width, struct top_layout *ret);
/* The text of one cell. */
void top_cell(const struct top_row *r, int col, char *buf, size_t len);
/* The column titles, aligned as the cells; marker: a character after the sorted columns' titles (0: none). */
void top_table_title(struct vsm_strbuf *out, const struct top_model *m, const struct top_layout *l, char marker);
/* One row as a line (no newline), cells aligned; trailing blanks trimmed. */
void top_table_line(struct vsm_strbuf *out, const struct top_row *r, const struct top_layout *l);

/* The header: four lines, each ending in '\n'. */
void top_header(struct vsm_strbuf *out, const struct top_model *m, const struct top_frame_info *info);

/* A key bar's hint: its text, and how soon it goes when the line is short (lower first; 0 never). */
struct top_keyhint {
	const char *text;
	int priority;
};

/* The hints that fit in width columns (0: all), in their order, two blanks apart (no newline). */
void top_keybar(struct vsm_strbuf *out, const struct top_keyhint *hints, size_t n, int width);

/* The per-CID table: its title and one line per CID (no newlines). */
void top_cid_title(struct vsm_strbuf *out);
void top_cid_line(struct vsm_strbuf *out, const struct top_cid *c, bool numeric);

/* The device view: a title and one line per VM (no newlines), then the tap line. */
void top_device_title(struct vsm_strbuf *out);
void top_device_line(struct vsm_strbuf *out, const struct top_device *d);
/*
 * A VM's newest vsockdev events, one line each, each ending in a newline: local time, the side and
 * port, the cause's key and vsockdev's words for it, and the detail (the socket path...).
 */
void top_device_events_text(struct vsm_strbuf *out, const struct top_device *d);
void top_device_summary(struct vsm_strbuf *out, const struct top_devices *devs, const char *path);

/*
 * The detail of one connection, lines ending in '\n': the summary of vsockdump --flows, then for
 * each direction a chart of its credit over time (one bar per sample, width columns at most).
 */
void top_detail(struct vsm_strbuf *out, const struct vsm_flow *f, const struct timespec *now, bool numeric, int width);

#endif
