/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c: vsocktop: options, sources (live, capture replay, vsockdev's statistics) and one poll loop for them all. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/vsockmon.h>

#include "batch.h"
#include "cli.h"
#include "privs.h"
#include "device.h"
#include "frame.h"
#include "keys.h"
#include "model.h"
#include "prom.h"
#include "rc.h"
#include "view.h"

#define PROG "vsocktop"
#define EXIT_USAGE 2
#define ERRLEN 512
#define NSEC 1000000000LL
/* Frames read before the loop looks at the keyboard and the clock again: a fast replay stays responsive. */
#define INGEST_BUDGET 4096
/* signals, keys, the capture, vsockdev, and the Prometheus listener with its 64 clients */
#define MAX_POLLFDS 72
/* Capture-time frames of an idle gap shown one by one; the rest of a longer gap is one frame. */
#define IDLE_FRAMES 10

struct options {
	const char *ifname;		/* -i */
	const char *read_path;		/* -r */
	const char *device_path;	/* --device: vsockdev --stats PATH */
	double delay;			/* -d, seconds */
	uint64_t iterations;		/* -n: 0 = until stopped */
	bool batch, json, quiet;
	bool numeric, color;
	double speed;			/* --speed: times the recorded pace */
	bool speed_set, fast;
	const char *prom_port, *prom_file;
	const char *user;		/* -Z */
	int sort;
	bool reverse;
	bool sort_set, delay_set;	/* given on the command line: they win over the rc file */
	bool no_rc;			/* --no-rc: neither read nor write the settings file */
	char *filter;
	size_t max_flows;
};

/* Everything one run holds; no state lives outside it. */
struct top {
	const struct options *o;
	bool interactive;
	bool capture_clock;		/* frames fall on capture time (batch and JSON with -r) */
	bool paced;			/* a capture is replayed at its recorded pace times speed */
	int64_t delay_ns;
	struct vsm_flows *flows;
	struct top_model *model;
	struct top_ui ui;
	struct top_screen *view;
	struct top_frame_info info;
	char source_name[300];
	/* a capture file or a live interface */
	struct vsm_source *source;
	bool capture;			/* source is a capture file, replayed on its own time */
	bool waiting;			/* a live source had no frame ready: poll its descriptor */
	struct vsm_rec pending;		/* the next frame, read and not yet due (borrowed from the source) */
	bool have_pending, eof, have_first;
	bool end_handled;		/* the end of the capture has been taken into account */
	int64_t base_ts, base_mono;	/* frame time base_ts is due at monotonic time base_mono */
	int64_t last_ts;		/* the last frame taken in */
	int64_t next_boundary;		/* capture clock: the next frame's time */
	/* vsockdev */
	struct top_fetch fetch;
	/* outputs */
	struct top_prom_server *prom;
	struct vsm_strbuf out;
	int sigfd;
	int64_t next_refresh;		/* wall-clock frames: monotonic ns */
	uint64_t frames;
	bool stop;
	int status;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsocktop [-bhq] [-i IFACE | -r FILE [--speed X | --fast]] [--device PATH] [-d SECONDS]\n"
		"                [-n COUNT] [-s KEY] [-R] [--json] [--prometheus-port [ADDR:]PORT]\n"
		"                [--prometheus-file PATH] [--numeric] [--no-color] [--max-flows N]\n"
		"                [-Z USER] [--filter EXPR | EXPR...]\n"
		"\n"
		"A top for vsock: connections with their rates, credit each way and stalls, per CID, and\n"
		"vsockdev's virtqueues, refreshed every few seconds.\n"
		"\n"
		"Sources (-i and -r exclude each other; --device goes with either, or alone):\n"
		"  -i IFACE          capture live on a vsock-type interface (default: the first one)\n"
		"  -r FILE           replay a pcap or pcapng capture (- for stdin) at its recorded pace\n"
		"  --speed X         replay X times as fast as recorded (0.5: half speed)\n"
		"  --fast            replay as fast as possible (the default in batch and JSON modes)\n"
		"  --device PATH     vsockdev's statistics socket (vsockdev --stats PATH), read each refresh\n"
		"Display:\n"
		"  -d SECONDS        time between refreshes (default 1; capture time with -r in batch mode)\n"
		"  -n COUNT          stop after COUNT refreshes\n"
		"  -s KEY            sort by KEY (-s help lists them); -R reverses the order\n"
		"                    default trouble: stalled now, then other problems, then bytes/s\n"
		"  --numeric         CIDs as numbers, not host, local, hypervisor\n"
		"  --no-color        no colours (also when NO_COLOR is set)\n"
		"  --no-rc           neither read nor write $XDG_CONFIG_HOME/vsocktop/vsocktoprc\n"
		"  --max-flows N     connections tracked at most (default 65536); finished ones go first\n"
		"Filter:\n"
		"  --filter EXPR, EXPR...  show the connections a packet of which would match EXPR\n"
		"                  (vsockmon-filter(7)); the \\ key changes it while running\n"
		"Output for scripts and monitoring:\n"
		"  -b, --batch       print each frame as text instead of the interactive display\n"
		"  --json            print a JSON snapshot per refresh, one a line (vsocktop(1), JSON OUTPUT)\n"
		"  -q, --quiet       print no frames (with the Prometheus outputs)\n"
		"  --prometheus-port [ADDR:]PORT   serve the counters at http://ADDR:PORT/metrics (ADDR\n"
		"                    default 127.0.0.1: give 0.0.0.0, [::] or an address to serve others)\n"
		"  --prometheus-file PATH          write them to PATH each refresh (node_exporter textfile)\n"
		"Privileges:\n"
		"  -Z USER           once the capture is open, run as USER (and its groups); -Z root keeps root\n"
		"  -h, --help        this help;  --version  the version\n"
		"\n"
		"Keys: q quit, h help, arrows move, Enter detail, F6 or < > sort, I invert, / search,\n"
		"\\ filter, Space pause, t c d: connections, per-CID, device views, F2 setup, F5 tree;\n"
		"a click sorts by a column's title. Settings: $XDG_CONFIG_HOME/vsocktop/vsocktoprc.\n"
		"See vsocktop(1).\n");
}




static void list_sort_keys(void)
{
	printf("Sort keys (-s KEY; the order is the natural one, -R reverses it):\n");
	for (int i = 0; i < TOP_SORT_COUNT; i++)
		printf("  %-12s %s\n", top_sorts[i].name, top_sorts[i].descending ? "largest first" : "smallest first");
}

enum {
	OPT_JSON = 1000, OPT_VERSION, OPT_SPEED, OPT_FAST, OPT_DEVICE, OPT_PROM_PORT, OPT_PROM_FILE, OPT_FILTER,
	OPT_NUMERIC, OPT_NO_COLOR, OPT_MAX_FLOWS, OPT_NO_RC,
};

/* $XDG_CONFIG_HOME/vsocktop/vsocktoprc, or ~/.config/vsocktop/vsocktoprc (XDG Base Directory). */
static int rc_path(char *buf, size_t len, bool dir_only)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n;

	if (xdg && *xdg == '/')
		n = snprintf(buf, len, "%s/vsocktop%s", xdg, dir_only ? "" : "/vsocktoprc");
	else if (home && *home)
		n = snprintf(buf, len, "%s/.config/vsocktop%s", home, dir_only ? "" : "/vsocktoprc");
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Reads the settings file into *ret (the defaults when there is none). A file that cannot be read or
 * parsed gives the defaults and a one-line warning in warn (else ""): vsocktop starts all the same.
 */
static void rc_load(struct top_settings *ret, char *warn, size_t warnlen)
{
	char path[4096], text[65536], err[320];
	FILE *f;
	size_t n;

	top_settings_default(ret);
	warn[0] = '\0';
	if (rc_path(path, sizeof(path), false) < 0)
		return;
	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT)
			snprintf(warn, warnlen, "vsocktop: %s: %s; using the defaults", path, strerror(errno));
		return;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	if (ferror(f) || !feof(f))
		snprintf(warn, warnlen, "vsocktop: %s: unreadable or over %zu bytes; using the defaults", path, sizeof(text) - 1);
	else if (memchr(text, '\0', n) || top_rc_parse(text, ret, err, sizeof(err)) < 0)
		snprintf(warn, warnlen, "vsocktop: %s: %s; using the defaults", path,
			 memchr(text, '\0', n) ? "not a text file" : err);
	if (warn[0])
		top_settings_default(ret);
	fclose(f);
}

/* Writes the settings file whole (a temporary file renamed), creating its directory. */
static int rc_save(const struct top_settings *s)
{
	char dir[4096], path[4096], tmp[4200];
	struct vsm_strbuf sb;
	FILE *f;
	int ret = 0;

	if (rc_path(dir, sizeof(dir), true) < 0 || rc_path(path, sizeof(path), false) < 0)
		return -ENOENT;
	/* The parent (~/.config) first, then ours; an existing one is fine. */
	{
		char *slash = strrchr(dir, '/');

		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				return -errno;
			*slash = '/';
		}
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	vsm_sb_init(&sb);
	top_rc_write(&sb, s);
	f = fopen(tmp, "we");
	if (!f) {
		vsm_sb_free(&sb);
		return -errno;
	}
	if (sb.oom || fwrite(sb.data, 1, sb.len, f) != sb.len)
		ret = -EIO;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	vsm_sb_free(&sb);
	return ret;
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "batch", no_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "interface", required_argument, NULL, 'i' },
		{ "read", required_argument, NULL, 'r' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "sort-key", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'R' },
		{ "speed", required_argument, NULL, OPT_SPEED },
		{ "fast", no_argument, NULL, OPT_FAST },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "prometheus-port", required_argument, NULL, OPT_PROM_PORT },
		{ "prometheus-file", required_argument, NULL, OPT_PROM_FILE },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "numeric", no_argument, NULL, OPT_NUMERIC },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
		{ "user", required_argument, NULL, 'Z' },
		{ "no-rc", no_argument, NULL, OPT_NO_RC },
		{ NULL, 0, NULL, 0 },
	};
	const char *filter_opt = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->delay = 1;
	o->speed = 1;
	o->color = true;
	o->sort = TOP_SORT_TROUBLE;
	while ((c = getopt_long(argc, argv, "bd:hi:n:qr:Rs:Z:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': o->batch = true; break;
		case 'd':
			o->delay = cli_real(PROG, "-d", optarg, 0.001, 86400, false);
			o->delay_set = true;
			break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case 'i': o->ifname = optarg; break;
		case 'n': o->iterations = cli_number(PROG, "-n", optarg, 1, UINT64_MAX); break;
		case 'q': o->quiet = true; break;
		case 'r': o->read_path = optarg; break;
		case 'R': o->reverse = o->sort_set = true; break;
		case 'Z': o->user = optarg; break;
		case 's':
			if (strcmp(optarg, "help") == 0) {
				list_sort_keys();
				exit(EXIT_SUCCESS);
			}
			o->sort = top_sort_from_name(optarg);
			o->sort_set = true;
			if (o->sort < 0)
				cli_die_usage(PROG, "unknown sort key '%s' (-s help lists them)", optarg);
			break;
		case OPT_JSON: o->json = true; break;
		case OPT_VERSION: printf("vsocktop %s\n", VSM_VERSION); exit(EXIT_SUCCESS);
		case OPT_SPEED:
			o->speed = cli_real(PROG, "--speed", optarg, 0.001, 1e6, false);
			o->speed_set = true;
			break;
		case OPT_FAST: o->fast = true; break;
		case OPT_DEVICE: o->device_path = optarg; break;
		case OPT_PROM_PORT: o->prom_port = optarg; break;
		case OPT_PROM_FILE: o->prom_file = optarg; break;
		case OPT_FILTER: filter_opt = optarg; break;
		case OPT_NUMERIC: o->numeric = true; break;
		case OPT_NO_COLOR: o->color = false; break;
		case OPT_NO_RC: o->no_rc = true; break;
		case OPT_MAX_FLOWS: o->max_flows = (size_t)cli_number(PROG, "--max-flows", optarg, 1, 100000000); break;
		default:
			fprintf(stderr, "Try 'vsocktop --help' for more information.\n");
			exit(EXIT_USAGE);
		}
	}
	if (o->read_path && o->ifname)
		cli_die_usage(PROG, "%s", "-r and -i exclude each other: replay a file or capture live, not both");
	if ((o->speed_set || o->fast) && !o->read_path)
		cli_die_usage(PROG, "%s", "--speed and --fast go with -r FILE");
	if (o->speed_set && o->fast)
		cli_die_usage(PROG, "%s", "--speed and --fast exclude each other");
	if (filter_opt && optind < argc)
		cli_die_usage(PROG, "%s", "give the filter either with --filter or as arguments, not both");
	o->filter = filter_opt ? strdup(filter_opt) : cli_join_args(argc - optind, argv + optind);
	if (!o->filter) {
		fprintf(stderr, "vsocktop: out of memory\n");
		exit(EXIT_FAILURE);
	}
}

/* ---- time ---- */

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * NSEC + t.tv_nsec;
}

static int64_t ts_ns(const struct timespec *t)
{
	/* Bounded (timestamp.h): a capture's broken clock must not overflow the pacing arithmetic. */
	return vsm_ts_ns(t);
}

static struct timespec ns_ts(int64_t ns)
{
	struct timespec t = { .tv_sec = ns / NSEC, .tv_nsec = ns % NSEC };

	if (t.tv_nsec < 0) {
		t.tv_nsec += NSEC;
		t.tv_sec--;
	}
	return t;
}

static int64_t realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(&t);
}

/* Where a paced replay stands in capture time now. */
static int64_t capture_position(const struct top *t, int64_t mono)
{
	return t->base_ts + (int64_t)((double)(mono - t->base_mono) * t->o->speed);
}

/* When (monotonic) capture time ts falls due in a paced replay. */
static int64_t due_at(const struct top *t, int64_t ts)
{
	return t->base_mono + (int64_t)((double)(ts - t->base_ts) / t->o->speed);
}

/* ---- output ---- */

static void flush_out(struct top *t)
{
	int ret = vsm_sb_flush(&t->out, stdout);

	if (ret == 0 && fflush(stdout) != 0)
		ret = -errno;
	if (ret < 0) {
		/* A reader that went away (head, a closed pipe) ends the run without a word. */
		if (ret != -EPIPE) {
			fprintf(stderr, "vsocktop: writing the output: %s\n", strerror(-ret));
			t->status = EXIT_FAILURE;
		}
		t->stop = true;
	}
}

static void publish(struct top *t)
{
	struct vsm_strbuf text;
	char err[ERRLEN];

	if (!t->prom && !t->o->prom_file)
		return;
	vsm_sb_init(&text);
	top_prom_text(&text, t->model, &t->info);
	if (t->prom)
		top_prom_set_body(t->prom, text.data ? text.data : "", text.len);
	if (t->o->prom_file && top_prom_write_file(t->o->prom_file, text.data ? text.data : "", text.len, err, sizeof(err)) < 0) {
		fprintf(stderr, "vsocktop: --prometheus-file: %s\n", err);
		t->status = EXIT_FAILURE;
		t->stop = true;
	}
	vsm_sb_free(&text);
}

static void draw(struct top *t, bool clear)
{
	t->info.paused = t->ui.paused;
	if (t->view)
		top_view_draw(t->view, t->model, &t->ui, &t->info, clear);
}

static void take_devices(struct top *t)
{
	char err[ERRLEN];
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	top_model_set_devices_json(t->model, t->fetch.buf, t->fetch.len, &now, err, sizeof(err));
}

/* A frame: time passes to now, the model is rebuilt, and it goes wherever output goes. */
static void frame_at(struct top *t, int64_t now, bool at_end)
{
	struct timespec ts = ns_ts(now);
	struct top_source_stats src = { .live = t->source && !t->capture };
	int ret;

	vsm_flows_tick(t->flows, &ts, at_end);
	if (src.live) {
		struct vsm_live_stats st;

		if (vsm_source_stats(t->source, &st) == 0) {
			src.kernel_drops = st.dropped;
			src.if_drops = st.if_dropped;
		}
	}
	if (t->o->device_path && t->capture_clock) {
		/* Frames on capture time come faster than a poll loop turns: read the device now. */
		char err[ERRLEN];

		ret = top_fetch_sync(&t->fetch, mono_ns() / 1000000, 1000, err, sizeof(err));
		if (ret > 0)
			take_devices(t);
		else if (ret < 0)
			top_model_set_devices_error(t->model, err);
	}
	if (t->interactive && t->ui.paused)
		return;		/* the display stays as it is; the flows keep being updated */
	ret = top_model_refresh(t->model, t->flows, &ts, &src);
	if (ret < 0) {
		fprintf(stderr, "vsocktop: %s\n", strerror(-ret));
		t->status = EXIT_FAILURE;
		t->stop = true;
		return;
	}
	t->frames++;
	t->info.ended = t->eof && t->capture;
	if (!t->interactive && !t->o->quiet) {
		if (t->o->json)
			top_batch_json(&t->out, t->model, t->flows, &t->info);
		else
			top_batch_text(&t->out, t->model, &t->info);
		flush_out(t);
	}
	publish(t);
	draw(t, false);
	if (t->o->iterations && t->frames >= t->o->iterations)
		t->stop = true;
}

/* ---- sources ---- */

static void take(struct top *t, const struct vsm_rec *rec)
{
	struct vsm_pkt pkt;

	vsm_decode_rec(rec, &pkt);
	vsm_flows_update(t->flows, &pkt, &rec->ts, NULL);
	t->last_ts = ts_ns(&rec->ts);
}

static void read_next(struct top *t)
{
	int ret = vsm_source_next(t->source, &t->pending);

	t->waiting = ret == -EAGAIN;
	if (t->waiting)
		return;		/* live: nothing yet; the loop polls the interface */
	if (ret > 0) {
		t->have_pending = true;
		if (!t->capture)
			return;		/* a live frame is due now, on the kernel's clock */
		/*
		 * A time the reader had to clamp (VSM_PROB_TIMESTAMP, timestamp.h) is no time at all: the
		 * frame is taken at the last good one, as vsockreplay sends it at once, rather than making
		 * the capture clock jump by centuries and every second of them a frame.
		 */
		if ((t->pending.problems & VSM_PROB_TIMESTAMP) && t->have_first)
			t->pending.ts = vsm_ts_from_ns(t->last_ts);
		if (!t->have_first) {
			struct timespec first = t->pending.ts;

			t->have_first = true;
			t->base_ts = ts_ns(&first);
			t->base_mono = mono_ns();
			t->last_ts = t->base_ts;
			t->next_boundary = t->base_ts + t->delay_ns;
			top_model_start(t->model, &first);
		}
		return;
	}
	if (ret == -ECANCELED) {
		t->stop = true;		/* a signal came while a pipe kept us waiting: the loop reads it */
		t->eof = true;
		return;
	}
	if (ret < 0) {
		/* A damaged file ends like a short one: what was read is shown, and the exit status says so. */
		fprintf(stderr, "vsocktop: %s\n", vsm_source_error(t->source));
		snprintf(t->ui.message, sizeof(t->ui.message), "capture error: %s", vsm_source_error(t->source));
		t->ui.message_error = true;
		t->status = EXIT_FAILURE;
		/* An interface that failed (deleted, down) gives nothing more to show. */
		if (!t->capture)
			t->stop = true;
	}
	t->eof = true;
}

/*
 * Frames on capture time whose boundary lies before limit: every packet up to them is in. The first
 * frame takes the packets since the last one; the boundaries after it cover time without a packet. A
 * short pause shows as frames with zero rates, as it would live; past IDLE_FRAMES of them the rest of
 * the gap collapses into one frame at its last boundary, so a capture that jumps years ahead (a clock
 * set wrong, one record dated 2038) makes a dozen frames, not one per -d of the gap.
 */
static void frames_before(struct top *t, int64_t limit)
{
	for (int i = 0; i <= IDLE_FRAMES; i++) {
		if (t->stop || t->next_boundary >= limit)
			return;
		frame_at(t, t->next_boundary, false);
		t->next_boundary += t->delay_ns;
	}
	if (t->stop || t->next_boundary >= limit)
		return;
	/* The last boundary before limit, counted in whole -d steps so that later frames keep their phase. */
	t->next_boundary += (limit - 1 - t->next_boundary) / t->delay_ns * t->delay_ns;
	frame_at(t, t->next_boundary, false);
	t->next_boundary += t->delay_ns;
}

/* The end of the capture: what still waits (an answer, a close) was left so; batch mode is done. */
static void capture_ended(struct top *t)
{
	t->end_handled = true;
	t->info.ended = true;
	if (t->interactive && !t->ui.message[0]) {
		snprintf(t->ui.message, sizeof(t->ui.message), "end of the capture: q quits");
		t->ui.message_error = false;
	}
	frame_at(t, t->last_ts, true);
	if (t->capture_clock)
		t->stop = true;
}

/*
 * Takes in the frames that are due: a capture's up to its replay position (and the frames on its
 * clock before them), a live source's until it has none ready. A budget per turn keeps the keys,
 * the clock and the signals seen during a fast replay or a flood.
 */
static void ingest(struct top *t)
{
	int64_t now = mono_ns();
	int budget = t->capture ? INGEST_BUDGET : 16 * INGEST_BUDGET;

	for (int i = 0; i < budget && !t->stop; i++) {
		int64_t ts;

		if (!t->have_pending && !t->eof)
			read_next(t);
		if (t->eof || t->waiting)
			return;
		ts = ts_ns(&t->pending.ts);
		if (t->capture_clock)
			frames_before(t, ts);
		if (t->stop || (t->paced && due_at(t, ts) > now))
			break;
		take(t, &t->pending);
		t->have_pending = false;
	}
	/* A paced replay's frames fall due with the clock, packets or not. */
	if (t->capture_clock && t->paced && !t->stop && !t->eof) {
		int64_t pos = capture_position(t, now);

		if (t->have_pending && pos >= ts_ns(&t->pending.ts))
			pos = ts_ns(&t->pending.ts) - 1;
		frames_before(t, pos + 1);
	}
}

/* The time of a wall-clock frame: the replay's position, the end of a capture, or now. */
static int64_t wall_frame_time(const struct top *t)
{
	if (!t->capture)
		return realtime_ns();
	if (!t->have_first)
		return 0;
	if (t->eof || !t->paced)
		return t->last_ts;
	{
		int64_t pos = capture_position(t, mono_ns());

		/* Behind schedule, the data reaches no further than the next frame not yet read. */
		if (t->have_pending && pos > ts_ns(&t->pending.ts))
			pos = ts_ns(&t->pending.ts);
		return pos < t->last_ts ? t->last_ts : pos;
	}
}

static void start_fetch(struct top *t)
{
	char err[ERRLEN];

	if (t->o->device_path && top_fetch_start(&t->fetch, mono_ns() / 1000000, err, sizeof(err)) < 0)
		top_model_set_devices_error(t->model, err);
}

static void wall_refresh(struct top *t)
{
	frame_at(t, wall_frame_time(t), false);
	if (!t->stop)
		start_fetch(t);
	t->next_refresh += t->delay_ns;
	/* A loop that fell behind (a stopped terminal) does not make up the frames it missed. */
	if (t->next_refresh < mono_ns())
		t->next_refresh = mono_ns() + t->delay_ns;
}

static void handle_keys(struct top *t)
{
	int key;

	while ((key = top_view_key(t->view)) >= 0) {
		unsigned r = key == TOP_KEY_MOUSE ? top_view_click(t->view, t->model, &t->ui)
						  : top_key(&t->ui, t->model, key);

		if (r & TOP_RESORT) {
			top_model_set_sort(t->model, t->ui.sort, t->ui.reverse);
			/* A new order is read from its top, as top and htop do: the selection goes to row 1. */
			top_model_select(t->model, 0);
		}
		if (r & TOP_QUIT) {
			t->stop = true;
			return;
		}
		if (r & (TOP_REDRAW | TOP_CLEAR))
			draw(t, (r & TOP_CLEAR) != 0);
	}
}

static int64_t poll_timeout_ms(const struct top *t)
{
	int64_t now = mono_ns(), until = now + NSEC;

	if (t->capture && t->eof && !t->end_handled)
		return 0;
	/* A live source that stopped on the budget, not for want of frames, goes on at once. */
	if (t->source && !t->capture && !t->waiting && !t->eof)
		return 0;
	if (!t->capture_clock && t->next_refresh < until)
		until = t->next_refresh;
	if (t->capture && !t->eof) {
		if (!t->paced || !t->have_pending)
			return 0;
		if (due_at(t, ts_ns(&t->pending.ts)) < until)
			until = due_at(t, ts_ns(&t->pending.ts));
		if (t->capture_clock && due_at(t, t->next_boundary) < until)
			until = due_at(t, t->next_boundary);
	}
	if (t->fetch.fd >= 0 && t->fetch.deadline_ms * 1000000 < until)
		until = t->fetch.deadline_ms * 1000000;
	if (until <= now)
		return 0;
	/* Round up: waking a moment early would only spin. */
	return (until - now + 999999) / 1000000;
}

static void run(struct top *t)
{
	struct pollfd fds[MAX_POLLFDS];

	t->next_refresh = mono_ns() + t->delay_ns;
	start_fetch(t);
	if (t->interactive)
		draw(t, true);
	while (!t->stop) {
		size_t n = 0, prom_first, nprom = 0;
		int fd_sig = -1, fd_key = -1, fd_source = -1, fd_fetch = -1, ret;
		struct signalfd_siginfo si;

		fds[n] = (struct pollfd){ .fd = t->sigfd, .events = POLLIN };
		fd_sig = (int)n++;
		if (t->view) {
			fds[n] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
			fd_key = (int)n++;
		}
		if (t->source && vsm_source_fd(t->source) >= 0) {
			fds[n] = (struct pollfd){ .fd = vsm_source_fd(t->source), .events = POLLIN };
			fd_source = (int)n++;
		}
		if (t->fetch.fd >= 0) {
			fds[n] = (struct pollfd){ .fd = t->fetch.fd, .events = POLLIN };
			fd_fetch = (int)n++;
		}
		prom_first = n;
		if (t->prom)
			nprom = top_prom_pollfds(t->prom, fds + n, MAX_POLLFDS - n);
		n += nprom;
		ret = poll(fds, n, (int)poll_timeout_ms(t));
		if (ret < 0 && errno != EINTR) {
			fprintf(stderr, "vsocktop: poll: %s\n", strerror(errno));
			t->status = EXIT_FAILURE;
			break;
		}
		if (ret < 0)
			for (size_t i = 0; i < n; i++)
				fds[i].revents = 0;
		if (fds[fd_sig].revents && read(t->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			break;
		/* The terminal went away: nobody is left to read the display. */
		if (t->view && (fds[fd_key].revents & (POLLHUP | POLLERR | POLLNVAL)))
			break;
		/*
		 * Keys, and a resize: curses' SIGWINCH handler interrupts poll, or the resize came while the
		 * loop was busy; either way getch() has KEY_RESIZE waiting, so look every turn.
		 */
		if (t->view)
			handle_keys(t);
		if (t->stop)
			break;
		if (fd_fetch >= 0 && fds[fd_fetch].revents) {
			char err[ERRLEN];
			int r = top_fetch_read(&t->fetch, mono_ns() / 1000000, err, sizeof(err));

			if (r > 0)
				take_devices(t);
			else if (r < 0)
				top_model_set_devices_error(t->model, err);
		} else if (t->fetch.fd >= 0 && mono_ns() / 1000000 > t->fetch.deadline_ms) {
			char err[ERRLEN];

			if (top_fetch_read(&t->fetch, mono_ns() / 1000000, err, sizeof(err)) < 0)
				top_model_set_devices_error(t->model, err);
		}
		if (t->prom)
			top_prom_handle(t->prom, fds + prom_first, nprom, mono_ns() / 1000000);
		if (t->source && !t->eof && (!t->waiting || (fd_source >= 0 && fds[fd_source].revents)))
			ingest(t);
		if (t->capture && t->eof && !t->end_handled && !t->stop)
			capture_ended(t);
		if (!t->stop && !t->capture_clock && mono_ns() >= t->next_refresh)
			wall_refresh(t);
	}
}

/* ---- set-up ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

static int open_sources(struct top *t, char *err)
{
	const struct options *o = t->o;
	int ret;

	if (o->read_path) {
		/* A pipe or FIFO with no writer keeps us waiting: a signal still ends the wait. */
		ret = vsm_source_open_file(o->read_path, t->sigfd, &t->source, err, ERRLEN);
		if (ret < 0)
			return ret;
		t->capture = true;
		/* The name only: the same capture gives the same frames wherever it lies. */
		snprintf(t->source_name, sizeof(t->source_name), "file %s", base_name(o->read_path));
		read_next(t);
		return 0;
	}
	if (o->ifname || !o->device_path) {
		struct vsm_live_opts lo = { .ifname = o->ifname };
		struct timespec now;

		/* Without -i, libvsockmon takes the first vsock-type interface. */
		ret = vsm_source_open_live(&lo, &t->source, err, ERRLEN);
		if (ret == -ENODEV && !lo.ifname)
			snprintf(err, ERRLEN, "no vsock-type interface found: give one with -i, replay a capture with -r,\n"
				 "read vsockdev's statistics with --device, or create an interface (modprobe vsockmon &&\n"
				 "ip link add type vsockmon && ip link set vsockmon0 up; vsockreplay(1) makes test ones)");
		if (ret < 0)
			return ret;
		if (err[0]) {
			/* libpcap's activation warnings are worth seeing but not fatal */
			fprintf(stderr, "vsocktop: %s\n", err);
			err[0] = '\0';
		}
		snprintf(t->source_name, sizeof(t->source_name), "interface %s", vsm_source_name(t->source));
		clock_gettime(CLOCK_REALTIME, &now);
		top_model_start(t->model, &now);
		if (!t->interactive && !o->json)
			fprintf(stderr, "vsocktop: listening on %s\n", vsm_source_name(t->source));
		return 0;
	}
	snprintf(t->source_name, sizeof(t->source_name), "device %s", o->device_path);
	{
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		top_model_start(t->model, &now);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct top t = { .o = &o, .sigfd = -1, .status = EXIT_SUCCESS };
	char err[ERRLEN] = "";
	struct vsm_filter_error ferr;
	struct top_settings settings;
	char rc_warn[4600] = "";
	int ret;

	cli_program_name(argv);
	parse_options(argc, argv, &o);
	t.interactive = !o.batch && !o.json && !o.quiet;
	t.capture_clock = o.read_path && !t.interactive;
	/* In batch mode a capture's frames fall on its own time, so pacing would only make them later. */
	t.paced = o.read_path && !o.fast && (t.interactive || o.speed_set);
	t.delay_ns = (int64_t)llround(o.delay * 1e9);
	if (t.delay_ns < 1)
		t.delay_ns = 1;
	if (t.interactive && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		cli_die_usage(PROG, "%s", "the interactive display needs a terminal: use -b for text frames or --json");
	if (top_model_new(&t.model) < 0 || vsm_flows_new(o.max_flows, &t.flows) < 0) {
		fprintf(stderr, "vsocktop: out of memory\n");
		return EXIT_FAILURE;
	}
	if (top_model_set_filter(t.model, o.filter, &ferr) < 0) {
		char msg[1024];

		vsm_filter_error_format(o.filter, &ferr, msg, sizeof(msg));
		fprintf(stderr, "vsocktop: %s\n", msg);
		top_model_free(t.model);
		vsm_flows_free(t.flows);
		free(o.filter);
		return EXIT_USAGE;
	}
	if (t.interactive && !o.no_rc) {
		/* The rc file is the interactive display's: batch, JSON and Prometheus output stay what the options say. */
		rc_load(&settings, rc_warn, sizeof(rc_warn));
		if (rc_warn[0])
			fprintf(stderr, "%s\n", rc_warn);
		if (!o.sort_set) {
			o.sort = settings.sort;
			o.reverse = settings.reverse;
		}
		if (!o.delay_set) {
			t.delay_ns = (int64_t)llround(settings.delay * 1e9);
			t.delay_ns = t.delay_ns < 1 ? 1 : t.delay_ns;
		}
		top_model_set_columns(t.model, &settings.columns);
		top_model_set_tree(t.model, settings.tree);
	}
	top_model_set_sort(t.model, o.sort, o.reverse);
	top_model_set_numeric(t.model, o.numeric);
	top_ui_init(&t.ui, o.sort, o.reverse);
	if (rc_warn[0]) {
		snprintf(t.ui.message, sizeof(t.ui.message), "%.400s", rc_warn);
		t.ui.message_error = true;
	}
	top_fetch_init(&t.fetch, o.device_path);
	vsm_sb_init(&t.out);
	/* Nothing vsocktop runs may gain privileges it has not got. */
	if (cli_no_new_privs() < 0) {
		fprintf(stderr, "vsocktop: no_new_privs: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	/* SIGINT, SIGTERM and SIGHUP arrive through a descriptor, so the loop ends cleanly with the terminal restored. */
	t.sigfd = cli_signalfd(0);
	signal(SIGPIPE, SIG_IGN);
	if (t.sigfd < 0) {
		fprintf(stderr, "vsocktop: signals: %s\n", strerror(-t.sigfd));
		t.status = EXIT_FAILURE;
		goto out;
	}
	ret = open_sources(&t, err);
	if (ret == -ECANCELED)
		goto out;		/* signalled while the input kept us waiting: a clean end */
	if (ret < 0) {
		fprintf(stderr, "vsocktop: %s\n", err[0] ? err : strerror(-ret));
		t.status = EXIT_FAILURE;
		goto out;
	}
	t.info = (struct top_frame_info){
		.source = t.source_name, .device = o.device_path, .capture = t.capture, .numeric = o.numeric,
	};
	if (o.prom_port) {
		ret = top_prom_listen(o.prom_port, &t.prom, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "vsocktop: --prometheus-port %s: %s\n", o.prom_port, err);
			t.status = EXIT_FAILURE;
			goto out;
		}
		if (!t.interactive)
			fprintf(stderr, "vsocktop: serving metrics on port %d at http://%s/metrics\n", top_prom_port(t.prom),
				top_prom_address(t.prom));
		publish(&t);
	}
	/*
	 * Root opens the capture and binds a low port; parsing packets and answering HTTP do not need it.
	 * Without -Z vsocktop keeps its privileges (the --prometheus-file directory may need them).
	 */
	if (o.user) {
		const char *now_user;

		ret = cli_drop_privileges(o.user, &now_user, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "vsocktop: %s\n", err);
			t.status = EXIT_FAILURE;
			goto out;
		}
	}
	if (t.interactive) {
		ret = top_view_open(o.color, &t.view, err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "vsocktop: %s\n", err);
			t.status = EXIT_FAILURE;
			goto out;
		}
	}
	run(&t);
	top_view_close(t.view);
	t.view = NULL;
	if (t.interactive && !o.no_rc) {
		settings.sort = t.ui.sort;
		settings.reverse = t.ui.reverse;
		settings.columns = *top_model_columns(t.model);
		settings.tree = top_model_tree(t.model);
		settings.delay = (double)t.delay_ns / 1e9;
		ret = rc_save(&settings);
		if (ret < 0) {
			rc_path(rc_warn, sizeof(rc_warn), false);
			fprintf(stderr, "vsocktop: cannot save the settings to %s: %s (--no-rc skips it)\n", rc_warn,
				strerror(-ret));
		}
	}
	flush_out(&t);
out:
	top_view_close(t.view);
	top_prom_close(t.prom);
	top_fetch_free(&t.fetch);
	vsm_source_close(t.source);
	top_model_free(t.model);
	vsm_flows_free(t.flows);
	vsm_sb_free(&t.out);
	free(o.filter);
	if (t.sigfd >= 0)
		close(t.sigfd);
	return t.status;
}
