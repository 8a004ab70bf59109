/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c: vsocklab: a host and N guests, each a userspace virtio-vsock engine, joined by an in-memory hypervisor and driven by a self-checking workload; its options and main(). */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include <vsockmon/vsockmon.h>
#include "lab.h"
#include "cli.h"

/* ---- options ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [--guests N] [--device] [--rounds N] [--duration SECONDS] [--pcap FILE] [--tap IFACE]\n"
		"                [--tap-all] [--clock real|virtual] [--seed N] [--pace[=PPS]] [-q] [--stats]\n"
		"\n"
		"Run a host (CID 2) and N guests (CID 3, 4...), each a userspace virtio-vsock engine, joined by\n"
		"an in-memory hypervisor, with a self-checking workload: echo, bulk transfers both ways,\n"
		"SEQPACKET messages, a slow reader that exhausts its peer's credit, refused connects, a CID\n"
		"that does not exist, half-closes. The host engine's tap sees every packet, as a host-side\n"
		"vsockmon does: write it to a pcap file or show it live on an interface for vsockdump.\n"
		"No vsock socket is opened.\n"
		"\n"
		"Lab:\n"
		"  -g, --guests N          guests, 1 to %d (default 2)\n"
		"      --device            each guest behind a vhost-user-vsock device (vsockdev's), joined over\n"
		"                          vhost-user: packets cross real virtqueues in shared memory\n"
		"  -r, --rounds N          run the workload N times, then exit (default: until interrupted)\n"
		"  -d, --duration SECONDS  stop after SECONDS of the lab's clock (virtual seconds with --clock virtual)\n"
		"      --clock real|virtual\n"
		"                          real (default): CLOCK_MONOTONIC, time stamps are wall-clock time;\n"
		"                          virtual: a clock the scheduler advances (2 us + 1 ns/byte a packet,\n"
		"                          jumps to the next timer when idle), starting at 2024-01-01 00:00:00 UTC:\n"
		"                          the same --seed gives the same packets, byte for byte\n"
		"      --seed N            seed of the workload's sizes and data (default 1)\n"
		"      --pace[=PPS]        deliver at most PPS packets a second of real time (--pace alone: %d;\n"
		"                          0: as fast as possible). Default: %d with --tap, else as fast as possible\n"
		"Tap (the host engine's):\n"
		"  -w, --pcap FILE         write every packet to a pcap file (LINKTYPE_VSOCK; - for stdout)\n"
		"  -i, --tap IFACE         send every packet to a vsock-type interface (created as a TUN device\n"
		"                          unless IFACE is a kernel vsockmon): vsockdump -i IFACE shows them live.\n"
		"                          Needs CAP_NET_ADMIN\n"
		"      --tap-all           tap the guests' engines too: each packet is then seen twice, as sent\n"
		"                          and as received\n"
		"Output:\n"
		"  -q, --quiet             no progress lines, only errors (and --stats)\n"
		"      --stats             at exit: counters of the hypervisor, each engine and the tap, results\n"
		"                          of each workload, and the lab's checks\n"
		"  -h, --help              this help;  --version  the version\n"
		"\n"
		"SIGINT or SIGTERM stops the lab: the pcap is flushed and stays valid, the summary is printed.\n"
		"Exit status: 0 every check passed, 1 a check failed (data differed, an engine misbehaved...),\n"
		"2 usage error or the lab could not be set up.\n",
		PROG, MAX_GUESTS, DEFAULT_PACE, DEFAULT_PACE);
}

enum {
	OPT_TAP_ALL = 1000, OPT_DEVICE, OPT_CLOCK, OPT_SEED, OPT_PACE, OPT_STATS, OPT_VERSION,
};

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "guests", required_argument, NULL, 'g' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "tap", required_argument, NULL, 'i' },
		{ "tap-all", no_argument, NULL, OPT_TAP_ALL },
		{ "device", no_argument, NULL, OPT_DEVICE },
		{ "clock", required_argument, NULL, OPT_CLOCK },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "pace", optional_argument, NULL, OPT_PACE },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .guests = 2, .seed = 1, .pace = -1 };
	while ((c = getopt_long(argc, argv, "g:r:d:w:i:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'g':
			o->guests = (unsigned)cli_number(PROG, "--guests", optarg, 1, MAX_GUESTS);
			break;
		case 'r':
			o->rounds = cli_number(PROG, "--rounds", optarg, 1, UINT32_MAX);
			break;
		case 'd': {
			double v = cli_real(PROG, "--duration", optarg, 0, 1e6, true);

			o->duration_ns = (int64_t)(v * NS_PER_SEC);
			if (!o->duration_ns)
				o->duration_ns = 1;
			break;
		}
		case 'w':
			if (o->pcap)
				cli_die_usage(PROG, "--pcap given twice");
			o->pcap = optarg;
			break;
		case 'i':
			if (o->iface)
				cli_die_usage(PROG, "--tap given twice: one interface is enough (capture it with several tools)");
			if (!*optarg || strlen(optarg) >= 16 || strchr(optarg, '/') || strpbrk(optarg, " \t\n"))
				cli_die_usage(PROG, "invalid interface name '%s'", optarg);
			o->iface = optarg;
			break;
		case OPT_DEVICE:
			o->device = true;
			break;
		case OPT_TAP_ALL:
			o->tap_all = true;
			break;
		case OPT_CLOCK:
			if (!strcmp(optarg, "virtual"))
				o->virtual_clock = true;
			else if (!strcmp(optarg, "real"))
				o->virtual_clock = false;
			else
				cli_die_usage(PROG, "invalid --clock argument '%s': expected real or virtual", optarg);
			break;
		case OPT_SEED:
			o->seed = cli_number(PROG, "--seed", optarg, 0, UINT64_MAX);
			break;
		case OPT_PACE:
			o->pace = optarg ? (long)cli_number(PROG, "--pace", optarg, 0, 1000000) : DEFAULT_PACE;
			break;
		case 'q':
			o->quiet = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("%s (vsockmon) %s\n", PROG, VSM_VERSION);
			exit(EXIT_SUCCESS);
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", PROG);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		cli_die_usage(PROG, "unexpected argument '%s'", argv[optind]);
	if (o->pace < 0)
		o->pace = o->iface ? DEFAULT_PACE : 0;
	if (o->tap_all && !o->pcap && !o->iface)
		cli_die_usage(PROG, "--tap-all needs --pcap or --tap");
}

int main(int argc, char **argv)
{
	struct options o;
	struct lab lab;
	sigset_t mask;
	unsigned failed;
	uint64_t verified = 0;

	cli_program_name(argv);
	parse_options(argc, argv, &o);
	/* SIGINT and SIGTERM become readable on a signalfd: the loop stops between two steps. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror(PROG ": sigprocmask");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);	/* a pcap on a closed pipe is a write error the tap reports */
	if (lab_init(&lab, &o) < 0) {
		lab_free(&lab);
		return EXIT_USAGE;
	}
	lab.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (lab.sigfd < 0) {
		perror(PROG ": signalfd");
		lab_free(&lab);
		return EXIT_USAGE;
	}
	if (!o.quiet && o.iface)
		fprintf(lab.out, "%s: tapping the host on %s at %ld packets/s: vsockdump -i %s\n", PROG, o.iface,
			o.pace, o.iface);
	lab_run(&lab);
	if (lab.stop_signal && !o.quiet)
		fprintf(lab.out, "%s: %s: stopping\n", PROG, strsignal(lab.stop_signal));
	if (lab.in_round)
		free_round(&lab);	/* interrupted: the actors under way are counted as such, not as failures */
	if (o.stats)
		lab_print_stats(&lab);
	failed = lab_checks(&lab);
	for (int w = 0; w < W_COUNT; w++)
		verified += lab.wl[w].bytes;
	if (!o.quiet && !o.stats) {
		char b[32];

		human_bytes(b, sizeof(b), verified);
		fprintf(lab.out, "%s: %" PRIu64 " round%s, %" PRIu64 " packets, %s verified, %" PRIu64 " refused connects: %s\n",
			PROG, lab.rounds_done, lab.rounds_done == 1 ? "" : "s", lab.routed, b, lab.refused_seen,
			failed ? "CHECKS FAILED" : "all checks passed");
	}
	lab_free(&lab);
	return failed ? EXIT_CHECKS : EXIT_SUCCESS;
}
