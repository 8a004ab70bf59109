/* SPDX-License-Identifier: GPL-2.0-or-later */
/* model.h: vsocktop's data, without a terminal: rows with rates, sort, filter, search, selection, per-CID and device views. */
#ifndef VSOCKTOP_MODEL_H
#define VSOCKTOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vsockmon/filter.h>
#include <vsockmon/flow.h>

/*
 * The model is rebuilt from the flow table at each refresh (top_model_refresh): one row per
 * connection the table holds, with the rates since the previous refresh (counters kept by flow
 * id), then filtered and sorted. Between refreshes the rows are the model's own copies, so a
 * paused display, a resort or a new filter never read the flow table, which keeps changing.
 * Time is the source's: capture time for a file, the wall clock for a live interface.
 */

/* The columns of the connection table, in display order. */
enum top_col {
	TOP_COL_ID,
	TOP_COL_A,		/* endpoint a, "cid:port" */
	TOP_COL_B,
	TOP_COL_TYPE,
	TOP_COL_STATE,
	TOP_COL_PPS,		/* packets/s, both ways */
	TOP_COL_RATE_AB,	/* payload bytes/s from a to b */
	TOP_COL_RATE_BA,
	TOP_COL_BYTES,		/* payload bytes, both ways */
	TOP_COL_INFLIGHT,	/* bytes sent and not yet consumed, both ways */
	TOP_COL_CREDIT_A,	/* what a may still send to b */
	TOP_COL_CREDIT_B,
	TOP_COL_STALL,		/* the current stall (the longer of the two sides) */
	TOP_COL_STALL_TOTAL,	/* time in stalls, both sides */
	TOP_COL_PROBLEMS,
	TOP_COL_COUNT
};

/* Sort keys: every column, and two that span a pair of columns. */
enum top_sort {
	TOP_SORT_RATE = TOP_COL_COUNT,	/* bytes/s both ways */
	TOP_SORT_CREDIT,		/* the smaller credit of the two sides: the most starved first */
	TOP_SORT_TROUBLE,		/* the default: stalled now, then other problems, then bytes/s */
	TOP_SORT_COUNT
};

struct top_sort_info {
	const char *name;		/* for -s and the man page */
	const char *label;		/* shown in the header */
	bool descending;		/* the natural order: biggest first for amounts and times */
	int cols[2];			/* the columns it is shown on (-1: none) */
};

extern const struct top_sort_info top_sorts[TOP_SORT_COUNT];

struct top_col_info {
	const char *title;
	int width;			/* minimum; endpoints grow to fit */
	bool right;			/* right-aligned (numbers) */
	int priority;			/* columns with higher numbers go first when the terminal is narrow */
};

extern const struct top_col_info top_cols[TOP_COL_COUNT];

/* Returns the sort key of a name, or -EINVAL. */
int top_sort_from_name(const char *name);

/*
 * The columns the user chose (F2, the rc file): which, in what order, how wide. A column's name is
 * its sort key's (top_sorts[col].name). Every column in enum order, widths automatic, by default.
 */
struct top_columns {
	int n;
	int col[TOP_COL_COUNT];		/* shown, in order */
	int width[TOP_COL_COUNT];	/* by column id: 0 automatic, else that many characters */
};

void top_columns_default(struct top_columns *ret);
/* Whether col is shown; its place among the shown ones, or -1. */
int top_columns_find(const struct top_columns *c, int col);

/* One direction of a connection, from side s to its peer. */
struct top_dir {
	uint64_t pkts, bytes;
	double pps, bps;		/* over the last interval */
	bool credit_known;
	int64_t credit;
	uint32_t in_flight;
	bool stalled;
	uint64_t stall_now_ns;		/* the current stall so far, 0 when none */
	uint64_t stall_ns;		/* every stall, the current one to now */
};

struct top_row {
	struct vsm_flow_key key;
	uint64_t id;
	uint16_t type;
	enum vsm_flow_state state;
	uint32_t problems;		/* 1 << VSM_FP_* */
	struct top_dir dir[2];		/* [0]: a to b */
	bool matched;			/* passes the filter */
	uint8_t ops[2];			/* 1 << VSM_OP_*: the ops each side is known to have sent */
	uint32_t rw_mean[2];		/* each side's mean RW payload, for the filter's len */
	char ep[2][48];			/* endpoints as text, "host:1234" or "3:1024" */
};

/* A CID's share of the connections that pass the filter: counters accumulate over refreshes. */
struct top_cid {
	uint64_t cid;
	/* gauges, as of the last refresh */
	uint64_t conns, open, stalled, with_problems;
	double tx_bps, rx_bps, tx_pps, rx_pps;
	/* counters since vsocktop started (deltas added each refresh: monotonic, as Prometheus wants) */
	uint64_t tx_bytes, rx_bytes, tx_pkts, rx_pkts;
	uint64_t stall_ns;		/* time its connections' senders on this CID spent stalled */
	uint64_t conns_total, resets, refused;
};

struct top_queue {
	char name[8];			/* "rx", "tx" */
	uint64_t size, avail_idx, last_avail_idx, used_idx, in_flight, kicks, calls, suppressed, popped, pushed;
	bool started, enabled;
	uint64_t occupancy;		/* chains the guest made available and the device has not returned */
};

/* One VM of vsockdev, from its statistics document (vsockdev(8), STATISTICS). */
#define TOP_DEVICE_REASONS	24	/* causes read from vsockdev's "events_by_reason" (it has 13) */
#define TOP_DEVICE_EVENTS	8	/* vsockdev's latest events kept for the device view */

struct top_device {
	uint64_t guest_cid;
	char socket[108];
	bool attached, running;
	struct top_queue queue[2];	/* rx, tx */
	int nqueues;
	uint64_t from_guest, from_guest_bytes, to_guest, to_guest_bytes, split, malformed;
	double from_guest_pps, to_guest_pps, from_guest_bps, to_guest_bps;
	uint64_t rx_empty_events, rx_empty_ns, rx_empty_max_ns;
	bool rx_empty_now;
	uint64_t connections, guest_refused, engine_rst_sent;
	uint64_t sessions, resets;
	char last_error[128];
	/* vsockdev's refusals, timeouts and resets by cause ("events_by_reason"), and the last few of them */
	struct top_device_reason {
		char key[32];		/* "no_listener", "guest_timeout"... (vsockdev's refusal table) */
		uint64_t count;
	} reasons[TOP_DEVICE_REASONS];
	int nreasons;
	uint64_t events_total;
	struct top_device_event {
		uint64_t ts_ns;		/* CLOCK_REALTIME */
		char reason[32], why[160], side[8], detail[112];
		uint32_t port;
	} events[TOP_DEVICE_EVENTS];	/* the newest last */
	int nevents;
};

struct top_devices {
	bool have;			/* a document was read */
	uint64_t version, pid, uptime_ns;
	uint64_t tap_frames, tap_dropped, tap_unobserved;	/* summed over the tap sinks */
	size_t ntap_sinks;
	struct top_device *vm;
	size_t nvm;
	struct timespec read_at;	/* monotonic: for the rates between two documents */
	char error[256];		/* the last fetch's problem, "" if none */
};

/* What the sources say beside the flows: drops and capture state, for the header. */
struct top_source_stats {
	bool live;			/* kernel drop counters are meaningful */
	uint64_t kernel_drops, if_drops;
};

struct top_totals {
	struct vsm_flows_totals t;
	double pps, bps;		/* over the last interval */
	double interval;		/* seconds since the previous refresh */
	struct timespec now;
	struct top_source_stats src;
	uint64_t refreshes;
	uint64_t with_problems;		/* connections held that show a problem (top_row.problems) */
};

struct top_model;

int top_model_new(struct top_model **ret_model);
void top_model_free(struct top_model *m);
/* Where the first interval starts (the first packet of a capture, the start of a live capture). */
void top_model_start(struct top_model *m, const struct timespec *start);

/*
 * Rebuilds the rows from flows at time now: rates from the previous refresh's counters, the
 * per-CID counters, then the filter and the sort; the selection stays on its connection.
 * src may be NULL. Returns 0 or -ENOMEM.
 */
int top_model_refresh(struct top_model *m, const struct vsm_flows *flows, const struct timespec *now,
		      const struct top_source_stats *src);

/* Endpoints as numbers (--numeric) instead of host, local, hypervisor. Takes effect at the next refresh. */
void top_model_set_numeric(struct top_model *m, bool numeric);

void top_model_set_columns(struct top_model *m, const struct top_columns *cols);
const struct top_columns *top_model_columns(const struct top_model *m);

/* The tree (F5): rows grouped by the CID of a guest (the larger CID of the two ends), groups by CID. */
void top_model_set_tree(struct top_model *m, bool tree);
bool top_model_tree(const struct top_model *m);
/* The CID a row is grouped under in the tree. */
uint64_t top_row_tree_cid(const struct top_row *r);

void top_model_set_sort(struct top_model *m, int key, bool reverse);
int top_model_sort_key(const struct top_model *m);
bool top_model_sort_reverse(const struct top_model *m);
/* Whether the rows are in descending order now (the key's natural order, or its reverse). */
bool top_model_sort_descending(const struct top_model *m);

/*
 * The filter (vsockmon-filter(7)) on connections: a connection matches when a packet between its
 * endpoints, of its type, with an op it has sent (and, for RW, its mean RW length) would match.
 * "" or NULL clears it. Returns 0, or -EINVAL with *ret_err filled and the old filter kept.
 */
int top_model_set_filter(struct top_model *m, const char *expr, struct vsm_filter_error *ret_err);
/* The filter's text ("" when none). */
const char *top_model_filter(const struct top_model *m);
/* Whether one row passes a compiled filter (NULL: it does). Exposed for the tests. */
bool top_row_matches(const struct top_row *row, const struct vsm_filter *filter);

/* Rows that pass the filter, in sort order. */
size_t top_model_count(const struct top_model *m);
/* All rows the flow table held at the last refresh. */
size_t top_model_total(const struct top_model *m);
const struct top_row *top_model_row(const struct top_model *m, size_t index);

/* The selected row's index among the shown rows, or -1 when there is none. */
long top_model_selected(const struct top_model *m);
/* Selects a shown row (clamped to the table); the selection follows its connection from now on. */
void top_model_select(struct top_model *m, long index);
/* Moves the selection by delta rows (clamped). */
void top_model_move(struct top_model *m, long delta);
/* The connection followed, if any. */
bool top_model_selected_key(const struct top_model *m, struct vsm_flow_key *ret_key);

/*
 * Finds the next shown row, from index from (included) going forward (dir 1) or backward (-1),
 * wrapping around, whose text (endpoints, type, state, problems) contains text, case-insensitively.
 * Returns its index, or -1.
 */
long top_model_search(const struct top_model *m, const char *text, long from, int dir);

/*
 * The selected connection with its credit samples and events, NULL if none: a copy made at each refresh
 * and when the selection moves, so a paused display keeps showing what it showed.
 */
const struct vsm_flow *top_model_detail(const struct top_model *m);

const struct top_totals *top_model_totals(const struct top_model *m);

/* The per-CID view: every CID seen, by number. */
size_t top_model_cid_count(const struct top_model *m);
const struct top_cid *top_model_cid(const struct top_model *m, size_t index);

/*
 * Takes a vsockdev statistics document (JSON); mono_now is when it was read, for the rates.
 * Returns 0, or -EINVAL with a message in err (the previous devices are kept, the error shown).
 */
int top_model_set_devices_json(struct top_model *m, const char *json, size_t len, const struct timespec *mono_now,
			       char *err, size_t errlen);
/* Notes a failed fetch of the document (shown in the device view and the header). */
void top_model_set_devices_error(struct top_model *m, const char *msg);
const struct top_devices *top_model_devices(const struct top_model *m);

#endif
