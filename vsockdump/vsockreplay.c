/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsockreplay.c: replays vsock captures into a vsock-type TUN interface, so live capture can be tested without vsock. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/tunif.h>
#include <vsockmon/vsockmon.h>

#include "cli.h"

#define EXIT_USAGE 2
#define ERRLEN 512
#define NSEC_PER_SEC 1000000000LL
/* Captures are found bound before they have set their filter: give them this long to finish. */
#define CAPTURE_SETTLE_NS (250 * 1000000LL)
/* Longest sleep between two looks at the signalfd, i.e. the latency of SIGINT. */
#define SIGNAL_POLL_NS (100 * 1000000LL)

struct options {
	const char *ifname;		/* -i; may hold %d for the kernel to number */
	const char *netns;		/* --netns NAME or PATH */
	bool fast;			/* --pace fast: no sleeping */
	double multiplier;		/* -x: speed factor on recorded gaps */
	uint64_t loops;			/* -l: passes over the files, 0 = until stopped */
	bool keep;			/* --keep: TUNSETPERSIST */
	double start_delay;		/* --start-delay seconds */
	unsigned wait_captures;		/* --wait-capture: captures to wait for, 0 = none */
	double wait_timeout;		/* --wait-timeout seconds */
	double linger;			/* --linger seconds after the last frame */
	bool quiet;
	char **files;
	int nfiles;
};

/* Counters of one capture file over all passes. */
struct file_stats {
	uint64_t frames, bytes;		/* written to the interface */
	uint64_t rejected;		/* frames the interface refused */
	uint64_t truncated;		/* frames shorter in the file than on the wire */
	uint32_t largest_rejected;
	int rejected_errno;		/* errno of the last refusal */
};

/* Everything one run holds; no state lives outside it. */
struct replay {
	const struct options *opts;
	struct vsm_tunif tun;		/* the interface: fd, name, ifindex */
	int sigfd;
	bool stop;			/* SIGINT or SIGTERM */
	bool start_now;			/* SIGUSR1: skip the remaining waits */
	uint64_t passes;		/* completed passes over all files */
	uint64_t frames_seen;		/* over all files and passes: paces the signal checks */
	struct file_stats *stats;	/* one per file */
	/* Pacing: frame time base_ts is sent at monotonic time base_mono. */
	bool based;
	int64_t base_ts;
	int64_t base_mono;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsockreplay [-qt] [-i IFACE] [--netns NAME|PATH] [--pace recorded|fast] [-x FACTOR]\n"
		"                   [-l COUNT] [--keep] [--start-delay SECONDS] [--wait-capture[=N]]\n"
		"                   [--wait-timeout SECONDS] [--linger SECONDS] FILE...\n"
		"\n"
		"Create a vsock-type interface (a TUN device with link type ARPHRD_VSOCKMON, which libpcap,\n"
		"tcpdump, tshark and vsockdump capture as LINKTYPE_VSOCK like a kernel vsockmon0) and replay\n"
		"the frames of pcap/pcapng vsock captures into it. Needs root or CAP_NET_ADMIN.\n"
		"\n"
		"Interface:\n"
		"  -i, --interface IFACE   name of the interface (default vsockmon0; a %%d lets the kernel\n"
		"                          number it). It is created, brought up and removed at exit.\n"
		"      --netns NAME|PATH   create it in the network namespace NAME (/var/run/netns/NAME, as made\n"
		"                          by ip netns add) or PATH (e.g. /proc/PID/ns/net); default: the current one\n"
		"      --keep              keep the interface after exit (persistent TUN; ip link del IFACE removes it)\n"
		"Timing:\n"
		"      --pace recorded     keep the recorded gaps between frames (default)\n"
		"      --pace fast, -t, --topspeed\n"
		"                          write the frames as fast as possible\n"
		"  -x, --multiplier F      replay F times faster than recorded (0.5 = half speed; default 1)\n"
		"  -l, --loop COUNT        replay the files COUNT times (default 1; 0 = until interrupted)\n"
		"Start and end:\n"
		"      --start-delay S     after the interface is up (\"vsockreplay: IFACE ready\" on stderr),\n"
		"                          wait S seconds before the first frame (default 0)\n"
		"      --wait-capture[=N]  before that, wait until N captures (default 1) are open on the interface,\n"
		"                          then %.2f s more for them to install their filters\n"
		"      --wait-timeout S    give up waiting for captures after S seconds (default 60; exit 1)\n"
		"      --linger S          keep the interface S seconds after the last frame, so captures can\n"
		"                          read what is still in their buffers (default 2: tcpdump without\n"
		"                          --immediate-mode holds frames for up to 1 s)\n"
		"  SIGUSR1 ends the waits before the first frame at once; SIGINT, SIGTERM or SIGHUP stop cleanly.\n"
		"Output:\n"
		"  -q, --quiet             print only errors and warnings\n"
		"  -h, --help              this help\n"
		"      --version           the version\n"
		"\n"
		"On exit, \"N frames (B bytes) replayed from FILE\" for each file. Frames the interface refuses\n"
		"(too large) are counted and reported, not fatal. Captured frames appear as incoming (-Q in)\n"
		"on the TUN interface, where a kernel vsockmon shows them as outgoing.\n"
		"Exit status: 0 done (also when stopped by a signal), 1 runtime error, 2 usage error.\n",
		CAPTURE_SETTLE_NS / 1e9);
}


enum {
	OPT_NETNS = 1000, OPT_PACE, OPT_KEEP, OPT_START_DELAY, OPT_WAIT_CAPTURE, OPT_WAIT_TIMEOUT,
	OPT_LINGER, OPT_VERSION,
};

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "interface", required_argument, NULL, 'i' },
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "pace", required_argument, NULL, OPT_PACE },
		{ "topspeed", no_argument, NULL, 't' },
		{ "multiplier", required_argument, NULL, 'x' },
		{ "loop", required_argument, NULL, 'l' },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "start-delay", required_argument, NULL, OPT_START_DELAY },
		{ "wait-capture", optional_argument, NULL, OPT_WAIT_CAPTURE },
		{ "wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT },
		{ "linger", required_argument, NULL, OPT_LINGER },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){
		.ifname = "vsockmon0",
		.multiplier = 1.0,
		.loops = 1,
		.wait_timeout = 60,
		.linger = 2,
	};
	while ((c = getopt_long(argc, argv, "i:tx:l:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!*optarg || strlen(optarg) >= IF_NAMESIZE || strchr(optarg, '/') || strpbrk(optarg, " \t\n"))
				cli_die_usage("vsockreplay", "invalid interface name '%s': up to %d characters, no '/' or spaces",
					  optarg, IF_NAMESIZE - 1);
			o->ifname = optarg;
			break;
		case OPT_NETNS:
			if (!*optarg)
				cli_die_usage("vsockreplay", "%s", "--netns needs a namespace name or a path");
			o->netns = optarg;
			break;
		case OPT_PACE:
			if (!strcmp(optarg, "fast"))
				o->fast = true;
			else if (!strcmp(optarg, "recorded"))
				o->fast = false;
			else
				cli_die_usage("vsockreplay", "invalid --pace '%s': expected recorded or fast", optarg);
			break;
		case 't': o->fast = true; break;
		case 'x': o->multiplier = cli_real("vsockreplay", "-x", optarg, 0, 1e9, true); break;
		case 'l': o->loops = cli_number("vsockreplay", "-l", optarg, 0, UINT64_MAX); break;
		case OPT_KEEP: o->keep = true; break;
		case OPT_START_DELAY: o->start_delay = cli_real("vsockreplay", "--start-delay", optarg, 0, 1e9, false); break;
		case OPT_WAIT_CAPTURE:
			o->wait_captures = optarg ? (unsigned)cli_number("vsockreplay", "--wait-capture", optarg, 0, 1024) : 1;
			break;
		case OPT_WAIT_TIMEOUT: o->wait_timeout = cli_real("vsockreplay", "--wait-timeout", optarg, 0, 1e9, true); break;
		case OPT_LINGER: o->linger = cli_real("vsockreplay", "--linger", optarg, 0, 1e9, false); break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(EXIT_SUCCESS);
		case OPT_VERSION: printf("vsockreplay (vsockmon) %s\n", VSM_VERSION); exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try 'vsockreplay --help' for more information.\n");
			exit(EXIT_USAGE);
		}
	}
	if (optind == argc)
		cli_die_usage("vsockreplay", "%s", "no capture file given");
	o->files = argv + optind;
	o->nfiles = argc - optind;
	for (int i = 0; i < o->nfiles; i++)
		if (!strcmp(o->files[i], "-") && o->loops != 1)
			cli_die_usage("vsockreplay", "%s", "standard input can be replayed only once: give a file to use -l");
}

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Reads pending signals; returns true once a stop was asked for. */
static bool signalled(struct replay *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			r->start_now = true;
		else
			r->stop = true;
	}
	return r->stop;
}

/*
 * Sleeps until the absolute CLOCK_MONOTONIC time deadline (ns). Absolute deadlines keep a long
 * replay from drifting: a late wake-up shortens the next sleep instead of delaying everything after.
 * Sleeps in slices to look at the signalfd. Returns false when stopped (or SIGUSR1, if wake_on_usr1).
 */
static bool sleep_until(struct replay *r, int64_t deadline, bool wake_on_usr1)
{
	for (;;) {
		int64_t now = mono_now(), until;
		struct timespec ts;

		if (signalled(r) || (wake_on_usr1 && r->start_now))
			return false;
		if (now >= deadline)
			return true;
		until = deadline - now > SIGNAL_POLL_NS ? now + SIGNAL_POLL_NS : deadline;
		ts.tv_sec = until / NSEC_PER_SEC;
		ts.tv_nsec = until % NSEC_PER_SEC;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
}

static int enter_netns(const char *ns, char *err)
{
	char path[PATH_MAX];
	int fd;

	if (strchr(ns, '/'))
		snprintf(path, sizeof(path), "%s", ns);
	else
		snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT && !strchr(ns, '/'))
			snprintf(err, ERRLEN, "network namespace %.100s not found (%.200s): create it with: ip netns add %.100s",
				 ns, path, ns);
		else
			snprintf(err, ERRLEN, "cannot open network namespace %.300s: %s", path, strerror(e));
		return -e;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		int e = errno;

		if (e == EINVAL)
			snprintf(err, ERRLEN, "%.300s is not a network namespace", path);
		else
			snprintf(err, ERRLEN, "cannot enter network namespace %.300s: %s%s", path, strerror(e),
				 e == EPERM ? " (run as root: needs CAP_SYS_ADMIN)" : "");
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

/*
 * Creates (or attaches to a left-over persistent) vsock-type TUN device and brings it up. The
 * device lives as long as its descriptor is open unless it is persistent, so even a crash removes it.
 */
static int create_iface(struct replay *r, char *err)
{
	int ret = vsm_tunif_open(r->opts->ifname, r->opts->keep ? VSM_TUNIF_PERSIST : 0, &r->tun, err, ERRLEN);
	size_t n = strlen(err);

	/* The library's "choose another interface name" does not know the option that does it. */
	if ((ret == -EBUSY || ret == -EINVAL) && n + 6 < ERRLEN)
		snprintf(err + n, ERRLEN - n, " (-i)");
	return ret;
}

/*
 * Counts the packet sockets (libpcap captures) bound to our interface, from /proc/net/packet,
 * which shows the caller's network namespace. Returns the count or -errno.
 */
static int count_captures(int ifindex)
{
	FILE *f = fopen("/proc/net/packet", "re");
	char line[256];
	int n = 0;

	if (!f)
		return -errno;
	/* Columns: sk RefCnt Type Proto Iface R Rmem User Inode; the first line is the header. */
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char sk[32];
		int refcnt, type, iface;
		unsigned proto;

		if (sscanf(line, "%31s %d %d %x %d", sk, &refcnt, &type, &proto, &iface) == 5 && iface == ifindex)
			n++;
	}
	fclose(f);
	return n;
}

/* The waits between "ready" and the first frame. Returns 0 to go on, 1 when stopped, -errno on failure. */
static int wait_for_start(struct replay *r, char *err)
{
	const struct options *o = r->opts;

	if (o->wait_captures) {
		int64_t give_up = mono_now() + (int64_t)(o->wait_timeout * NSEC_PER_SEC);

		for (;;) {
			int n = count_captures(r->tun.ifindex);

			if (n < 0) {
				snprintf(err, ERRLEN, "cannot read /proc/net/packet to see captures: %s", strerror(-n));
				return n;
			}
			if ((unsigned)n >= o->wait_captures)
				break;
			if (mono_now() >= give_up) {
				snprintf(err, ERRLEN, "%u capture%s on %s after %g s, %u expected (--wait-capture): "
					 "start them with e.g. vsockdump -i %s", (unsigned)n, n == 1 ? "" : "s",
					 r->tun.name, o->wait_timeout, o->wait_captures, r->tun.name);
				return -ETIMEDOUT;
			}
			if (!sleep_until(r, mono_now() + 10 * 1000000LL, true))
				return r->stop ? 1 : 0;
		}
		if (!sleep_until(r, mono_now() + CAPTURE_SETTLE_NS, true))
			return r->stop ? 1 : 0;
	}
	if (o->start_delay > 0 && !sleep_until(r, mono_now() + (int64_t)(o->start_delay * NSEC_PER_SEC), true))
		return r->stop ? 1 : 0;
	return 0;
}

/* Waits until the frame's recorded offset from the first frame of this pass, scaled by -x. */
static bool pace(struct replay *r, const struct vsm_rec *rec)
{
	int64_t ts = vsm_ts_ns(&rec->ts);
	double wait;
	int64_t off;

	/* A time the reader had to clamp is no time at all (timestamp.h): send it now, keep the schedule. */
	if (r->opts->fast || (rec->problems & VSM_PROB_TIMESTAMP))
		return true;
	if (!r->based) {
		r->based = true;
		r->base_ts = ts;
		r->base_mono = mono_now();
		return true;
	}
	off = ts - r->base_ts;
	if (off <= 0)	/* time went backwards in the file: send now, keep the schedule */
		return true;
	/* Bounded times give gaps under 2^63 ns; a small -x could still stretch one past it. */
	wait = (double)off / r->opts->multiplier;
	return sleep_until(r, wait >= (double)(INT64_MAX / 2) ? INT64_MAX / 2 : r->base_mono + (int64_t)wait, false);
}

/* Writes one frame behind its struct tun_pi. Returns 0 (written or counted as refused) or -errno. */
static int write_frame(struct replay *r, const struct vsm_rec *rec, struct file_stats *st, char *err)
{
	int ret;

	if (rec->cap_len < rec->wire_len)
		st->truncated++;
	ret = vsm_tunif_write(r->tun.fd, rec->data, rec->cap_len);
	if (ret == 0) {
		st->frames++;
		st->bytes += rec->cap_len;
		return 0;
	}
	switch (-ret) {
	case EMSGSIZE:
	case ENOBUFS:
	case ENOMEM:
	case EINVAL:
		/* Too large (or empty) for the interface: that frame is lost, the replay goes on. */
		st->rejected++;
		st->rejected_errno = -ret;
		if (rec->cap_len > st->largest_rejected)
			st->largest_rejected = rec->cap_len;
		return 0;
	case EIO:
		snprintf(err, ERRLEN, "writing to %s: %s (was it taken down? ip link set %s up)",
			 r->tun.name, strerror(-ret), r->tun.name);
		return ret;
	case EBADFD:
	case ENODEV:
		snprintf(err, ERRLEN, "writing to %s: %s (was it deleted?)", r->tun.name, strerror(-ret));
		return ret;
	default:
		snprintf(err, ERRLEN, "writing to %s: %s", r->tun.name, strerror(-ret));
		return ret;
	}
}

/* Replays one file once. Returns 0, 1 when stopped, or -errno. */
static int replay_file(struct replay *r, struct vsm_pcap_reader *reader, const char *path,
		       struct file_stats *st, char *err)
{
	struct vsm_rec rec;
	int ret;

	r->based = false;	/* each pass of each file starts right after the previous one ends */
	while ((ret = vsm_pcap_next(reader, &rec)) > 0) {
		if (!pace(r, &rec))
			return 1;
		ret = write_frame(r, &rec, st, err);
		if (ret < 0)
			return ret;
		/* Without sleeps (--pace fast, equal time stamps) nothing else looks at the signalfd. */
		if ((++r->frames_seen & 255) == 0 && signalled(r))
			return 1;
	}
	if (ret < 0) {
		snprintf(err, ERRLEN, "%s: %s", path, vsm_pcap_error(reader));
		return ret;
	}
	return 0;
}

static int open_file(const char *path, struct vsm_pcap_reader **ret_reader, char *err)
{
	char msg[ERRLEN];
	int ret = vsm_pcap_open(path, ret_reader, msg, sizeof(msg));

	if (ret < 0)
		snprintf(err, ERRLEN, "%s", msg[0] ? msg : strerror(-ret));
	return ret;
}

static void report(const struct replay *r)
{
	const struct options *o = r->opts;

	for (int i = 0; i < o->nfiles; i++) {
		const struct file_stats *st = &r->stats[i];

		if (!o->quiet) {
			fprintf(stderr, "vsockreplay: %llu frame%s (%llu bytes) replayed from %s",
				(unsigned long long)st->frames, st->frames == 1 ? "" : "s",
				(unsigned long long)st->bytes, o->files[i]);
			if (r->passes > 1)
				fprintf(stderr, " in %llu passes", (unsigned long long)r->passes);
			fputc('\n', stderr);
		}
		if (st->rejected)
			fprintf(stderr, "vsockreplay: warning: %llu frame%s from %s refused by %s (largest %u bytes: %s)\n",
				(unsigned long long)st->rejected, st->rejected == 1 ? "" : "s", o->files[i],
				r->tun.name, st->largest_rejected, strerror(st->rejected_errno));
		if (st->truncated && !o->quiet)
			fprintf(stderr, "vsockreplay: %llu frame%s from %s had been cut short by the capture's snaplen: "
				"replayed as captured\n", (unsigned long long)st->truncated,
				st->truncated == 1 ? "" : "s", o->files[i]);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	struct replay r = { .opts = &o, .tun.fd = -1, .sigfd = -1 };
	struct vsm_pcap_reader **readers = NULL;
	char err[ERRLEN] = "";
	int status = EXIT_FAILURE, ret;

	cli_program_name(argv);
	parse_options(argc, argv, &o);
	r.stats = calloc((size_t)o.nfiles, sizeof(*r.stats));
	readers = calloc((size_t)o.nfiles, sizeof(*readers));
	if (!r.stats || !readers) {
		fprintf(stderr, "vsockreplay: out of memory\n");
		goto out;
	}
	r.sigfd = cli_signalfd(SIGUSR1);	/* SIGUSR1: end the waits before the first frame */
	if (r.sigfd < 0) {
		fprintf(stderr, "vsockreplay: cannot set up signals: %s\n", strerror(-r.sigfd));
		goto out;
	}
	/* Every file must open before anything is created: a typo should not leave an interface behind. */
	for (int i = 0; i < o.nfiles; i++) {
		if (open_file(o.files[i], &readers[i], err) < 0) {
			fprintf(stderr, "vsockreplay: %s\n", err);
			goto out;
		}
	}
	if (o.netns && enter_netns(o.netns, err) < 0) {
		fprintf(stderr, "vsockreplay: %s\n", err);
		goto out;
	}
	if (create_iface(&r, err) < 0) {
		fprintf(stderr, "vsockreplay: %s\n", err);
		goto out;
	}
	if (!o.quiet)
		fprintf(stderr, "vsockreplay: %s ready\n", r.tun.name);

	ret = wait_for_start(&r, err);
	if (ret < 0) {
		fprintf(stderr, "vsockreplay: %s\n", err);
		goto out;
	}
	status = EXIT_SUCCESS;
	while (ret == 0 && (o.loops == 0 || r.passes < o.loops)) {
		for (int i = 0; ret == 0 && i < o.nfiles; i++) {
			if (!readers[i]) {
				ret = open_file(o.files[i], &readers[i], err);
				if (ret < 0)
					break;
			}
			ret = replay_file(&r, readers[i], o.files[i], &r.stats[i], err);
			if (readers[i])
				vsm_pcap_close(readers[i]);
			readers[i] = NULL;
		}
		if (ret == 0)
			r.passes++;
	}
	if (ret < 0) {
		fprintf(stderr, "vsockreplay: %s\n", err);
		status = EXIT_FAILURE;
	}
	/* Let captures drain their rings before the interface vanishes under them. */
	if (ret == 0 && !o.keep && o.linger > 0)
		sleep_until(&r, mono_now() + (int64_t)(o.linger * NSEC_PER_SEC), false);
	report(&r);
out:
	if (readers)
		for (int i = 0; i < o.nfiles; i++)
			if (readers[i])
				vsm_pcap_close(readers[i]);
	free(readers);
	free(r.stats);
	vsm_tunif_close(&r.tun);	/* removes the interface unless persistent (--keep, or found so) */
	if (r.sigfd >= 0)
		close(r.sigfd);
	return status;
}
