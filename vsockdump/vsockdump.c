/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsockdump.c: tcpdump for vsock: capture, filter, decode, save; a thin front end on libvsockmon. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/vsockmon.h>

#include "cli.h"
#include "privs.h"

#define EXIT_USAGE 2
#define ERRLEN 512

struct options {
	const char *ifname;
	const char *read_path;
	const char *file_list;		/* -V: a file naming the captures to read, one a line */
	const char *post_rotate;	/* -z: a command run on each file -C/-G closed */
	const char *write_path;
	const char *user;
	const char *filter_file;
	char *filter_expr;
	uint64_t count;			/* -c: 0 = unlimited */
	uint64_t file_size;		/* -C in bytes */
	uint32_t rotate_seconds;	/* -G */
	uint32_t file_count;		/* -W */
	uint32_t snaplen;
	uint32_t buffer_kib;		/* -B */
	bool packet_buffered;		/* -U */
	bool immediate;			/* --immediate-mode */
	bool line_buffered;		/* -l */
	bool json;
	bool flows;			/* --flows: a summary of each connection at the end, no packet lines */
	bool print;			/* --print: decode even while writing */
	bool number;			/* -#: frame numbers */
	bool list_ifaces;		/* -D */
	bool dump_filter;		/* -d: show the compiled filter and exit */
	bool count_only;		/* --count: the number of matching packets only */
	struct vsm_print_opts print_opts;
};

/* Everything one run holds; no state lives outside it. */
struct run {
	const struct options *opts;
	struct vsm_source *source;	/* the file being read, or the interface */
	bool live;			/* source is an interface: the kernel filters, output goes out at once */
	char **files;			/* what -r or -V names, read one after the other */
	size_t nfiles, next_file;
	char closed[PATH_MAX];		/* -z: the rotator's current file, which its next rotation closes */
	uint64_t files_made;		/* the rotator's file count when closed was noted */
	unsigned children;		/* -z commands started and not yet reaped */
	struct vsm_rotator *rotator;
	struct vsm_filter *filter;
	struct vsm_flows *flows;
	struct vsm_strbuf out;
	int sigfd;
	uint64_t seen;			/* frames read from the source */
	uint64_t matched;		/* frames that passed the filter and were handled */
	struct timespec prev_ts, first_ts, last_ts;
	bool stop;
	int status;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsockdump [-ADdhlnNqtUvxX#] [-c count] [-C file_size] [-G seconds] [-i interface]\n"
		"                 [-r file | -V file_list] [-s snaplen] [-w file] [-W filecount] [-z command]\n"
		"                 [-Z user] [-B KiB] [-F file] [--json] [--flows] [--count] [--print] [--utc]\n"
		"                 [--time-stamp-precision=micro|nano] [expression]\n"
		"\n"
		"Capture, decode and save vsock traffic (LINKTYPE_VSOCK): the virtio-vsock header\n"
		"with SEQPACKET, flags by meaning and the credit of each sender.\n"
		"\n"
		"Source:\n"
		"  -i IFACE        capture live on a vsock-type interface (default: the first one; -D lists them)\n"
		"  -r FILE         read a pcap or pcapng capture (- for stdin)\n"
		"  -V FILE         read the captures FILE names, one a line, one after the other\n"
		"  -D              list vsock-type interfaces and exit\n"
		"  -c COUNT        stop after COUNT packets\n"
		"  -s SNAPLEN      bytes kept of each packet (default 262144; 0 = default)\n"
		"  -B KIB          kernel capture buffer in KiB (default 32768)\n"
		"  --immediate-mode  libpcap's immediate mode (one ring slot per frame); by default\n"
		"                  frames are delivered within 1 ms in packed blocks, which lose none in bursts\n"
		"  -Z USER         run as USER once the capture and output are open (as root, the default is\n"
		"                  vsockmon when that user exists; -Z root keeps root)\n"
		"Output:\n"
		"  -w FILE         write raw packets to a pcap file (- for stdout) instead of printing them\n"
		"  -U              with -w, write each packet to the file at once\n"
		"  -C SIZE         with -w, start a new file when it would exceed SIZE million bytes\n"
		"  -G SECONDS      with -w, start a new file every SECONDS (FILE is a strftime pattern)\n"
		"  -W COUNT        with -C, keep a ring of COUNT files; with -G, stop after COUNT files\n"
		"  -z COMMAND      with -C or -G, run COMMAND FILE on each file once it is closed whole\n"
		"                  (gzip, or a script that uploads it)\n"
		"  --print         with -w, also print the decoded packets\n"
		"Decoding:\n"
		"  -v              add buf_alloc and fwd_cnt\n"
		"  -vv             add the vsockmon header (mon_op, transport, tp_len) and frame lengths\n"
		"  -vvv            add the sender's credit (what its peer can still accept) and flag a full\n"
		"                  window or a sender exceeding its credit\n"
		"  -n              print CIDs as numbers (no host/local/hypervisor names)\n"
		"  -q              quiet: addresses, op and length only\n"
		"  -x, -X          payload in hex (-X: and ASCII); -xx, -XX: the whole frame\n"
		"  -A              payload as text: unprintable bytes as '.'\n"
		"  -#              print frame numbers\n"
		"  -t, -tt, -ttt, -tttt, -ttttt\n"
		"                  no time, epoch seconds, delta, date and time, since the first packet\n"
		"                  (times of day in the local time zone, TZ, as tcpdump)\n"
		"  --utc           print times of day and dates in UTC instead\n"
		"  --time-stamp-precision=micro|nano\n"
		"  -l              line-buffered output\n"
		"  --json          NDJSON: one object per packet (see vsockmon-json(5))\n"
		"  --count         print only the number of packets that match, as \"N packets\"\n"
		"  --flows         no packet lines: at the end, each connection with its state, packets and\n"
		"                  bytes each way, SEQPACKET messages, credit, stalls and their lengths, and\n"
		"                  problems (refused, aborts, unanswered credit requests...); with --json, one\n"
		"                  object per connection and one of totals\n"
		"Filter:\n"
		"  expression      vsock filter (see vsockmon-filter(7)), e.g. 'port 1024 and op rw';\n"
		"                  compiled to BPF, so live captures filter in the kernel\n"
		"  -F FILE         read the filter expression from FILE\n"
		"  -d              print the libpcap filter the expression compiles to, and exit\n"
		"  -h, --help      this help;  --version  the version\n");
}

static char *read_filter_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	if (!f) {
		fprintf(stderr, "vsockdump: cannot read filter file %s: %s\n", path, strerror(errno));
		exit(EXIT_FAILURE);
	}
	n = getdelim(&buf, &len, '\0', f);
	fclose(f);
	if (n < 0)
		return strdup("");
	/* '#' starts a comment to the end of the line, as in tcpdump -F files. */
	for (char *p = buf; *p; p++) {
		if (*p == '#')
			while (*p && *p != '\n')
				*p++ = ' ';
		if (*p == '\n')
			*p = ' ';
		if (!*p)
			break;
	}
	return buf;
}

/*
 * tcpdump -V: the captures to read, one path a line, in order. Blank lines are skipped (tcpdump
 * takes one for a file with no name). Returns the number of paths; exits on an error.
 */
static size_t read_file_list(const char *path, char ***ret_files)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char **files = NULL, *line = NULL;
	size_t n = 0, cap = 0, len = 0;
	ssize_t got;

	if (!f) {
		fprintf(stderr, "vsockdump: cannot read the file list %s: %s\n", path, strerror(errno));
		exit(EXIT_FAILURE);
	}
	while ((got = getline(&line, &len, f)) >= 0) {
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (!got)
			continue;
		if (n == cap) {
			char **more = realloc(files, (cap = cap ? 2 * cap : 8) * sizeof(*files));

			if (!more)
				break;
			files = more;
		}
		if (!(files[n] = strdup(line)))
			break;
		n++;
	}
	if (!feof(f)) {
		fprintf(stderr, "vsockdump: reading the file list %s: %s\n", path, errno ? strerror(errno) : "out of memory");
		exit(EXIT_FAILURE);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (!n) {
		fprintf(stderr, "vsockdump: the file list %s names no capture: give one path a line\n", path);
		exit(EXIT_FAILURE);
	}
	*ret_files = files;
	return n;
}

enum { OPT_JSON = 1000, OPT_COUNT, OPT_FLOWS, OPT_PRINT, OPT_VERSION, OPT_TSPREC, OPT_LOCALTIME, OPT_UTC, OPT_IMMEDIATE };

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "flows", no_argument, NULL, OPT_FLOWS },
		{ "count", no_argument, NULL, OPT_COUNT },
		{ "print", no_argument, NULL, OPT_PRINT },
		{ "time-stamp-precision", required_argument, NULL, OPT_TSPREC },
		{ "local-time", no_argument, NULL, OPT_LOCALTIME },
		{ "utc", no_argument, NULL, OPT_UTC },
		{ "immediate-mode", no_argument, NULL, OPT_IMMEDIATE },
		{ "interface", required_argument, NULL, 'i' },
		{ "number", no_argument, NULL, '#' },
		{ "list-interfaces", no_argument, NULL, 'D' },
		{ "snapshot-length", required_argument, NULL, 's' },
		{ "packet-buffered", no_argument, NULL, 'U' },
		{ "buffer-size", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	int tflag = 0, xflag = 0, c;

	memset(o, 0, sizeof(*o));
	o->snaplen = VSM_DEFAULT_SNAPLEN;
	/* Times of day in the local time zone, as tcpdump's ts_print does; --utc for UTC. */
	o->print_opts.local_time = true;
	while ((c = getopt_long(argc, argv, "#AB:c:C:dDF:G:hi:lnNqr:s:tUvV:w:W:xXz:Z:", longopts, NULL)) != -1) {
		switch (c) {
		case '#': o->number = true; break;
		case 'A': o->print_opts.ascii = true; break;
		case 'B': o->buffer_kib = (uint32_t)cli_number("vsockdump", "-B", optarg, 0, (4u << 20) - 1); break;
		case 'c': o->count = cli_number("vsockdump", "-c", optarg, 1, UINT64_MAX); break;
		case 'C': o->file_size = cli_file_size("vsockdump", optarg); break;
		case 'd': o->dump_filter = true; break;
		case 'D': o->list_ifaces = true; break;
		case 'F': o->filter_file = optarg; break;
		case 'G': o->rotate_seconds = cli_rotate_seconds("vsockdump", optarg); break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case 'i': o->ifname = optarg; break;
		case 'l': o->line_buffered = true; break;
		case 'n': case 'N': o->print_opts.numeric = true; break;
		case 'q': o->print_opts.quiet = true; break;
		case 'r': o->read_path = optarg; break;
		case 's':
			o->snaplen = (uint32_t)cli_number("vsockdump", "-s", optarg, 0, VSM_DEFAULT_SNAPLEN);
			if (!o->snaplen)
				o->snaplen = VSM_DEFAULT_SNAPLEN;
			if (o->snaplen < VSM_MON_HDR_LEN)
				cli_die_usage("vsockdump", "invalid -s argument '%s': at least 32 bytes (the vsockmon header)", optarg);
			break;
		case 't': tflag++; break;
		case 'U': o->packet_buffered = true; break;
		case 'v': o->print_opts.verbose++; break;
		case 'V': o->file_list = optarg; break;
		case 'w': o->write_path = optarg; break;
		case 'W': o->file_count = cli_file_count("vsockdump", optarg); break;
		case 'x': xflag++; break;
		case 'X': xflag += 0x10; break;
		case 'z': o->post_rotate = optarg; break;
		case 'Z': o->user = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_FLOWS: o->flows = true; break;
		case OPT_COUNT: o->count_only = true; break;
		case OPT_PRINT: o->print = true; break;
		case OPT_VERSION: printf("vsockdump %s\n", VSM_VERSION); exit(EXIT_SUCCESS);
		case OPT_TSPREC:
			if (strcmp(optarg, "nano") == 0 || strcmp(optarg, "nanoseconds") == 0)
				o->print_opts.nsec = true;
			else if (strcmp(optarg, "micro") && strcmp(optarg, "microseconds"))
				cli_die_usage("vsockdump", "invalid --time-stamp-precision '%s': use micro or nano", optarg);
			break;
		case OPT_LOCALTIME: o->print_opts.local_time = true; break;	/* now the default: still accepted */
		case OPT_UTC: o->print_opts.local_time = false; break;
		case OPT_IMMEDIATE: o->immediate = true; break;
		default:
			fprintf(stderr, "Try 'vsockdump --help' for more information.\n");
			exit(EXIT_USAGE);
		}
	}
	{
		static const enum vsm_ts_format tformats[] = { VSM_TS_TIME, VSM_TS_NONE, VSM_TS_EPOCH,
			VSM_TS_DELTA, VSM_TS_DATE, VSM_TS_SINCE_FIRST };

		if (tflag > 5)
			cli_die_usage("vsockdump", "%s", "too many -t flags (at most -ttttt)");
		o->print_opts.ts_format = tformats[tflag];
	}
	/* -x/-xx: hex of payload/frame; -X/-XX: with ASCII. */
	{
		int x = xflag & 0xf, big_x = xflag >> 4;
		int n = x > big_x ? x : big_x;

		if (n)
			o->print_opts.hex = (n >= 2 ? 3 : 1) + (big_x ? 1 : 0);
	}
	if (o->print_opts.verbose > 3)
		o->print_opts.verbose = 3;
	if (o->read_path && o->ifname)
		cli_die_usage("vsockdump", "%s", "-r and -i are exclusive: read a file or capture live, not both");
	if (o->file_list && (o->read_path || o->ifname))
		cli_die_usage("vsockdump", "%s", "-V reads the files its list names: not with -r or -i");
	if (o->post_rotate && !o->file_size && !o->rotate_seconds)
		cli_die_usage("vsockdump", "%s", "-z runs a command on each file -C or -G closes: give -w FILE with -C or -G");
	if (o->count_only && (o->write_path || o->json || o->flows))
		cli_die_usage("vsockdump", "%s", "--count prints only a number: not with -w, --json or --flows");
	if ((o->file_size || o->rotate_seconds || o->file_count || o->packet_buffered) && !o->write_path)
		cli_die_usage("vsockdump", "%s", "-C, -G, -W and -U go with -w FILE");
	if (o->print && !o->write_path)
		cli_die_usage("vsockdump", "%s", "--print goes with -w FILE");
	if (o->flows && o->write_path)
		cli_die_usage("vsockdump", "%s", "--flows prints a summary: not with -w FILE");
	if (o->write_path && strcmp(o->write_path, "-") == 0 && (o->file_size || o->rotate_seconds))
		cli_die_usage("vsockdump", "%s", "-C and -G need a file name, not - (stdout)");
	if (o->filter_file && optind < argc)
		cli_die_usage("vsockdump", "%s", "give the filter either with -F FILE or as arguments, not both");
	o->filter_expr = o->filter_file ? read_filter_file(o->filter_file) : cli_join_args(argc - optind, argv + optind);
	if (!o->filter_expr) {
		fprintf(stderr, "vsockdump: out of memory\n");
		exit(EXIT_FAILURE);
	}
}

static int list_interfaces(void)
{
	struct vsm_iface ifaces[64];
	int n = vsm_live_list(ifaces, 64);

	if (n < 0) {
		fprintf(stderr, "vsockdump: cannot list interfaces: %s\n", strerror(-n));
		return EXIT_FAILURE;
	}
	if (n == 0) {
		fprintf(stderr, "vsockdump: no vsock-type interface here. Create one with\n"
			"  modprobe vsockmon && ip link add type vsockmon && ip link set vsockmon0 up\n"
			"or feed a test interface from a capture with vsockreplay(1).\n");
		return EXIT_FAILURE;
	}
	for (int i = 0; i < n && i < 64; i++)
		printf("%d.%s%s%s%s%s\n", i + 1, ifaces[i].name, ifaces[i].up ? "" : " [Down]",
		       ifaces[i].description[0] ? " (" : "", ifaces[i].description,
		       ifaces[i].description[0] ? ")" : "");
	return EXIT_SUCCESS;
}

static bool signalled(struct run *r)
{
	struct signalfd_siginfo si;

	if (r->sigfd >= 0 && read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		r->stop = true;
	return r->stop;
}

static int flush_output(struct run *r)
{
	int ret = vsm_sb_flush(&r->out, stdout);

	if (ret == 0 && fflush(stdout) != 0)
		ret = -errno;
	if (ret < 0 && ret != -EPIPE) {
		fprintf(stderr, "vsockdump: writing the output: %s\n", strerror(-ret));
		r->status = EXIT_FAILURE;
	}
	if (ret < 0)
		r->stop = true;
	return ret;
}

/*
 * -w -: a reader of the standard output that went away (head -c, a closed pipe) ends the run
 * quietly with status 0, as vsockdump(1) says and as the text output does: SIGPIPE is ignored
 * so that this shows as EPIPE here.
 */
static bool stdout_reader_gone(const struct run *r, int ret)
{
	return ret == -EPIPE && r->opts->write_path && strcmp(r->opts->write_path, "-") == 0;
}

/* Collects the -z commands that have ended, without waiting; with wait, all of them. */
static void reap_children(struct run *r, bool wait)
{
	int wstatus;
	pid_t pid;

	while (r->children && (pid = waitpid(-1, &wstatus, wait ? 0 : WNOHANG)) != 0) {
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			r->children = 0;	/* ECHILD: none left */
			break;
		}
		r->children--;
		if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus))
			fprintf(stderr, "vsockdump: -z %s: %s %d\n", r->opts->post_rotate,
				WIFEXITED(wstatus) ? "exited with status" : "killed by signal",
				WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus));
	}
}

/*
 * tcpdump -z: COMMAND FILE on a file just closed whole, run without waiting for it (a gzip may take
 * longer than a rotation interval). The command is found in PATH and gets no shell; it starts with
 * the signals vsockdump blocks or ignores (SIGINT, SIGTERM, SIGHUP; SIGPIPE) back to their defaults.
 */
static void run_post_rotate(struct run *r, const char *file)
{
	char *argv[] = { (char *)r->opts->post_rotate, (char *)file, NULL };
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	pid_t pid;
	int ret;

	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	/* What this process buffered for stdout goes first: the command may write there too. */
	flush_output(r);
	ret = posix_spawnp(&pid, r->opts->post_rotate, NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	if (ret) {
		fprintf(stderr, "vsockdump: -z %s %s: %s\n", r->opts->post_rotate, file, strerror(ret));
		return;
	}
	r->children++;
}

/* After a write: when the rotator started a new file, the one before is whole, for -z. */
static void after_rotation(struct run *r)
{
	uint64_t files = vsm_rotate_files(r->rotator);

	reap_children(r, false);
	if (files == r->files_made)
		return;
	run_post_rotate(r, r->closed);
	r->files_made = files;
	snprintf(r->closed, sizeof(r->closed), "%s", vsm_rotate_current(r->rotator));
}

/* Handles one frame that passed the filter: write it, print it, or both. */
static void handle(struct run *r, const struct vsm_rec *rec)
{
	const struct options *o = r->opts;

	r->matched++;
	if (o->count_only) {
		if (o->count && r->matched >= o->count)
			r->stop = true;
		return;
	}
	if (r->matched == 1)
		r->first_ts = r->prev_ts = rec->ts;
	if (r->rotator) {
		int ret = vsm_rotate_write(r->rotator, rec);

		if (stdout_reader_gone(r, ret)) {
			r->stop = true;
			return;
		}
		if (ret < 0) {
			fprintf(stderr, "vsockdump: %s\n", vsm_rotate_error(r->rotator));
			r->status = EXIT_FAILURE;
			r->stop = true;
			return;
		}
		if (ret == 1)
			r->stop = true;
		if (o->post_rotate)
			after_rotation(r);
	}
	if (!r->rotator || o->print) {
		struct vsm_pkt pkt;
		struct vsm_credit_view view;
		struct vsm_pkt_ctx ctx = {
			.num = o->json || o->number ? r->seen : 0,
			.ts = rec->ts,
			.prev_ts = r->prev_ts,
			.first_ts = r->first_ts,
		};

		vsm_decode_rec(rec, &pkt);
		if (r->flows) {
			ctx.flow = vsm_flows_update(r->flows, &pkt, &rec->ts, &view);
			ctx.credit = &view;
		}
		r->last_ts = rec->ts;
		if (o->flows) {
			/* Time passes by the capture's clock: what only time reveals is judged as it goes. */
			if ((r->matched & 255) == 0)
				vsm_flows_tick(r->flows, &rec->ts, false);
		} else if (o->json) {
			vsm_print_json(&r->out, &pkt, &ctx, &o->print_opts);
		} else {
			if (o->number) {
				vsm_sb_u64_pad(&r->out, r->seen, 1);
				vsm_sb_puts(&r->out, "  ");
			}
			vsm_print_text(&r->out, &pkt, &ctx, &o->print_opts);
		}
		if (o->line_buffered || r->live || r->out.len >= 1 << 16)
			flush_output(r);
	}
	r->prev_ts = rec->ts;
	if (o->count && r->matched >= o->count)
		r->stop = true;
}

static int cmp_flow_id(const void *a, const void *b)
{
	const struct vsm_flow *x = *(const struct vsm_flow *const *)a, *y = *(const struct vsm_flow *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* --flows: every connection in the order it was first seen, then the totals. */
static void print_flows(struct run *r)
{
	const struct options *o = r->opts;
	size_t n = vsm_flows_count(r->flows), k;
	const struct vsm_flow **list = malloc((n ? n : 1) * sizeof(*list));
	struct vsm_flows_totals totals;

	if (!list) {
		fprintf(stderr, "vsockdump: out of memory\n");
		r->status = EXIT_FAILURE;
		return;
	}
	/* The end of the capture: whatever still waits (an answer, a close) was left so. */
	vsm_flows_tick(r->flows, &r->last_ts, true);
	k = vsm_flows_list(r->flows, list, n);
	qsort(list, k, sizeof(*list), cmp_flow_id);
	for (size_t i = 0; i < k; i++) {
		if (o->json) {
			vsm_flow_json(&r->out, list[i], &r->last_ts);
			vsm_sb_putc(&r->out, '\n');
		} else {
			vsm_flow_text(&r->out, list[i], &r->last_ts, o->print_opts.numeric);
		}
		if (r->out.len >= 1 << 16)
			flush_output(r);
	}
	vsm_flows_totals(r->flows, &totals);
	if (o->json) {
		vsm_sb_puts(&r->out, "{\"schema\":");
		vsm_sb_u64(&r->out, VSM_FLOW_SCHEMA);
		vsm_sb_puts(&r->out, ",\"kind\":\"totals\",\"totals\":");
		vsm_totals_json(&r->out, &totals);
		vsm_sb_puts(&r->out, "}\n");
	} else {
		vsm_totals_text(&r->out, &totals);
	}
	free(list);
	flush_output(r);
}

/* -V: the next file of the list, once the one before is read to its end. */
static int open_next_file(struct run *r)
{
	char err[ERRLEN] = "";
	int ret;

	vsm_source_close(r->source);
	r->source = NULL;
	ret = vsm_source_open_file(r->files[r->next_file], r->sigfd, &r->source, err, ERRLEN);
	r->next_file++;
	if (ret < 0 && ret != -ECANCELED)
		fprintf(stderr, "vsockdump: %s\n", err);
	return ret;
}

/*
 * The read loop, one for every source: the frames the source has (a batch at a time, so that a
 * signal is seen during a long file), then a poll of the signal descriptor and, when a live source
 * had none ready, of its descriptor. A file never keeps the loop waiting here: a pipe or FIFO waits
 * inside the reader, which the signal descriptor also ends (-ECANCELED; see SIGNALS).
 */
static void read_loop(struct run *r)
{
	/* The kernel already ran the filter on a live capture. */
	const struct vsm_filter *filter = r->live ? NULL : r->filter;
	struct pollfd fds[2] = {
		{ .fd = r->sigfd, .events = POLLIN },
		{ .fd = vsm_source_fd(r->source), .events = POLLIN },
	};
	int ret = 0;

	while (!r->stop) {
		struct vsm_rec rec;

		/* The timeout bounds how late -U data reaches the file and how late a signal is seen. */
		if (poll(fds, 2, ret == -EAGAIN ? 200 : 0) < 0 && errno != EINTR) {
			fprintf(stderr, "vsockdump: poll: %s\n", strerror(errno));
			r->status = EXIT_FAILURE;
			break;
		}
		if (signalled(r))
			break;
		for (int i = 0; i < 1024 && !r->stop && (ret = vsm_source_next(r->source, &rec)) > 0; i++) {
			r->seen++;
			if (filter && !vsm_filter_match(filter, &rec))
				continue;
			handle(r, &rec);
		}
		/* -V: the files are one stream; frame numbers and -ttt go on from one to the next. */
		if (ret == 0 && !r->stop && r->next_file < r->nfiles) {
			ret = open_next_file(r);
			fds[1].fd = ret < 0 ? -1 : vsm_source_fd(r->source);
			if (ret < 0 && ret != -ECANCELED) {
				r->status = EXIT_FAILURE;	/* open_next_file() said why */
				break;
			}
		} else if (ret == 0) {
			break;
		}
		if (ret == -ECANCELED) {
			r->stop = true;		/* a signal came while the input was waited for: see SIGNALS */
			signalled(r);
			return;
		}
		if (ret < 0 && ret != -EAGAIN && !r->stop) {
			flush_output(r);
			fprintf(stderr, "vsockdump: %s\n", vsm_source_error(r->source));
			r->status = EXIT_FAILURE;
			break;
		}
		if (r->live && r->rotator && r->opts->packet_buffered)
			vsm_rotate_flush(r->rotator);
	}
	/* A signal stops the loop: take what the kernel already delivered, so nothing captured is lost. */
	if (r->live && r->status == EXIT_SUCCESS && !(r->opts->count && r->matched >= r->opts->count)) {
		struct vsm_rec rec;

		r->stop = false;
		while (!r->stop && vsm_source_next(r->source, &rec) > 0) {
			r->seen++;
			handle(r, &rec);
		}
	}
}

static int open_source(struct run *r, char *err)
{
	const struct options *o = r->opts;
	int ret;

	if (r->nfiles) {
		r->next_file = 1;
		return vsm_source_open_file(r->files[0], r->sigfd, &r->source, err, ERRLEN);
	}
	if (o->read_path) {
		/* A pipe or a FIFO may keep us waiting: a signal still ends the wait (see SIGNALS). */
		return vsm_source_open_file(o->read_path, r->sigfd, &r->source, err, ERRLEN);
	}
	{
		struct vsm_live_opts lo = {
			.ifname = o->ifname,
			.snaplen = o->snaplen,
			.buffer_bytes = o->buffer_kib * 1024u,
			.filter = r->filter,
			.immediate = o->immediate,
		};
		/* Without -i, libvsockmon takes the first vsock-type interface. */
		ret = vsm_source_open_live(&lo, &r->source, err, ERRLEN);
		r->live = ret == 0;
		if (ret == -ENODEV && !lo.ifname) {
			snprintf(err, ERRLEN, "no vsock-type interface found: give one with -i, read a file with -r,\n"
				 "or create one (modprobe vsockmon && ip link add type vsockmon && "
				 "ip link set vsockmon0 up, or vsockreplay(1) for a test interface)");
			return ret;
		}
		if (ret == 0 && err[0]) {
			/* libpcap's activation warnings are worth seeing but not fatal */
			fprintf(stderr, "vsockdump: %s\n", err);
			err[0] = '\0';
		}
		if (ret == 0 && !o->json)
			fprintf(stderr, "vsockdump: listening on %s, link-type VSOCK (Linux vsock), snapshot length %u bytes\n",
				vsm_source_name(r->source), o->snaplen);
		return ret;
	}
}

static int open_output(struct run *r, char *err)
{
	const struct options *o = r->opts;
	struct vsm_rotate_opts ro = {
		.path = o->write_path,
		.pcap = { .snaplen = o->snaplen, .nsec = o->print_opts.nsec, .flush_each = o->packet_buffered },
		.max_bytes = o->file_size,
		.seconds = o->rotate_seconds,
		.max_files = o->file_count,
	};
	struct timespec now;

	int ret;

	clock_gettime(CLOCK_REALTIME, &now);
	ret = vsm_rotate_open(&ro, &now, &r->rotator, err, ERRLEN);
	if (ret == 0) {
		r->files_made = vsm_rotate_files(r->rotator);
		snprintf(r->closed, sizeof(r->closed), "%s", vsm_rotate_current(r->rotator));
	}
	return ret;
}

static void print_stats(struct run *r)
{
	struct vsm_live_stats st;

	if (!r->live)
		return;
	if (vsm_source_stats(r->source, &st) < 0)
		memset(&st, 0, sizeof(st));
	fprintf(stderr, "%llu packet%s captured\n%llu packet%s received by filter\n%llu packet%s dropped by kernel\n",
		(unsigned long long)r->matched, r->matched == 1 ? "" : "s",
		(unsigned long long)st.received, st.received == 1 ? "" : "s",
		(unsigned long long)st.dropped, st.dropped == 1 ? "" : "s");
	if (st.if_dropped)
		fprintf(stderr, "%llu packet%s dropped by interface\n", (unsigned long long)st.if_dropped,
			st.if_dropped == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
	struct options o;
	struct run r = { .opts = &o, .sigfd = -1, .status = EXIT_SUCCESS };
	char err[ERRLEN] = "";
	struct vsm_filter_error ferr;
	int ret;

	cli_program_name(argv);
	parse_options(argc, argv, &o);
	if (o.list_ifaces) {
		free(o.filter_expr);
		return list_interfaces();
	}
	ret = vsm_filter_compile(o.filter_expr, o.snaplen, &r.filter, &ferr);
	if (ret < 0) {
		char msg[1024];

		vsm_filter_error_format(o.filter_expr, &ferr, msg, sizeof(msg));
		fprintf(stderr, "vsockdump: %s\n", msg);
		free(o.filter_expr);
		return EXIT_USAGE;
	}
	if (o.dump_filter) {
		const char *text = vsm_filter_pcap_text(r.filter);

		printf("%s\n", *text ? text : "(empty: every packet matches)");
		vsm_filter_free(r.filter);
		free(o.filter_expr);
		return EXIT_SUCCESS;
	}
	if (!*vsm_filter_pcap_text(r.filter)) {
		vsm_filter_free(r.filter);
		r.filter = NULL;
	}
	/* Nothing vsockdump runs may gain privileges it has not got (a setuid program in a -z-like hook). */
	if (cli_no_new_privs() < 0) {
		fprintf(stderr, "vsockdump: no_new_privs: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	/* SIGINT, SIGTERM and SIGHUP arrive through a descriptor, so the main loop ends cleanly. */
	r.sigfd = cli_signalfd(0);
	signal(SIGPIPE, SIG_IGN);
	vsm_sb_init(&r.out);
	if (o.json || o.flows || o.print_opts.verbose >= 3) {
		ret = vsm_flows_new(0, &r.flows);
		if (ret < 0) {
			fprintf(stderr, "vsockdump: %s\n", strerror(-ret));
			return EXIT_FAILURE;
		}
	}
	if (o.file_list)
		r.nfiles = read_file_list(o.file_list, &r.files);
	ret = open_source(&r, err);
	if (ret == 0 && o.write_path)
		ret = open_output(&r, err);
	if (ret == 0) {
		const char *now_user;

		/* Root is needed to open the capture only: the packets are parsed without it (tcpdump's -Z). */
		ret = cli_drop_privileges(o.user, &now_user, err, ERRLEN);
	}
	if (ret == -ECANCELED || stdout_reader_gone(&r, ret))
		goto out;		/* signalled while waiting for the input to open, or -w -'s reader gone: a clean end */
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "vsockdump: %s\n", err);
		r.status = EXIT_FAILURE;
		goto out;
	}
	read_loop(&r);
	if (o.count_only) {
		/* tcpdump --count's line, on stdout */
		vsm_sb_u64(&r.out, r.matched);
		vsm_sb_puts(&r.out, r.matched == 1 ? " packet\n" : " packets\n");
	}
	flush_output(&r);
	if (o.flows)
		print_flows(&r);
	print_stats(&r);
out:
	if (r.rotator) {
		/* Flush first so that an error still comes with the writer's whole message. */
		ret = vsm_rotate_flush(r.rotator);
		if (ret < 0 && !stdout_reader_gone(&r, ret) && r.status == EXIT_SUCCESS) {
			fprintf(stderr, "vsockdump: %s\n", vsm_rotate_error(r.rotator));
			r.status = EXIT_FAILURE;
		}
		ret = vsm_rotate_close(r.rotator);
		if (ret < 0 && !stdout_reader_gone(&r, ret) && r.status == EXIT_SUCCESS) {
			fprintf(stderr, "vsockdump: closing the output: %s\n", strerror(-ret));
			r.status = EXIT_FAILURE;
		}
	}
	/* tcpdump runs -z on rotations only, not on the last file; the commands started are waited for. */
	reap_children(&r, true);
	for (size_t i = 0; i < r.nfiles; i++)
		free(r.files[i]);
	free(r.files);
	vsm_source_close(r.source);
	vsm_filter_free(r.filter);
	vsm_flows_free(r.flows);
	vsm_sb_free(&r.out);
	free(o.filter_expr);
	if (r.sigfd >= 0)
		close(r.sigfd);
	return r.status;
}
