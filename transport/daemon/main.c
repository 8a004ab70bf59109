/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c: vsockdev, a vhost-user-vsock device daemon whose every packet is tapped: options, the poll loop, signals. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cli.h>
#include <vsockmon/vsockmon.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "logtext.h"

#define PROG "vsockdev"
#define TAP_FLUSH_MS 1000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTIONS] --vm guest-cid=CID,socket=PATH[,uds-path=PATH][,KEY=VALUE...] [--vm ...]\n"
		"       " PROG " [OPTIONS] --guest-cid CID --socket PATH [--uds-path PATH] [...]\n"
		"       " PROG " [OPTIONS] --config FILE\n"
		"\n"
		"A vhost-user-vsock device for QEMU (-device vhost-user-vsock-pci,chardev=...) whose packets,\n"
		"both ways, go to a capture: a pcap file or a vsock-type interface that tcpdump, tshark and\n"
		"vsockdump read. Host programs reach guests as with Firecracker and vhost-device-vsock.\n"
		"\n"
		"A VM (repeat --vm for several; keys take '-' or '_'):\n"
		"  guest-cid=CID          the guest's CID (3 and up), served through the config space\n"
		"  socket=PATH            the vhost-user socket " PROG " listens on (QEMU's chardev path)\n"
		"  uds-path=PATH          host side: connect here and write \"CONNECT <port>\\n\" to reach a guest\n"
		"                         port; a guest's connection to port P goes to the socket PATH_P\n"
		"                         (96 bytes at most, so that PATH_P fits a socket address)\n"
		"  tx-buffer-size=BYTES   receive buffer per connection on the host side (default %u)\n"
		"  queue-size=N           largest virtqueue the front-end may set (default %u)\n"
		"  groups=NAME[+NAME...]  VMs sharing a group reach each other by CID (default: default)\n"
		"The same keys as options (one VM): --guest-cid --socket --uds-path --tx-buffer-size\n"
		"--queue-size --groups.\n"
		"Or all VMs from a YAML file, the one vhost-device-vsock --config reads:\n"
		"  --config FILE          'vms:' and a list of VMs, each a mapping of the keys above\n"
		"                         (guest_cid: 3, socket: PATH, ...); not with --vm or the options above\n"
		"\n"
		"Options:\n"
		"  -w, --pcap FILE      write every packet to FILE (pcap, LINKTYPE_VSOCK); the file stays valid\n"
		"                       if " PROG " is killed, up to the last second\n"
		"  -C SIZE              with -w: start a new file before one would pass SIZE million bytes:\n"
		"                       FILE, FILE1, FILE2... (as vsockdump and tcpdump)\n"
		"  -G SECONDS           with -w: start a new file every SECONDS; FILE is a strftime(3) pattern (UTC)\n"
		"  -W COUNT             with -C: keep a ring of COUNT files, FILE0 to FILE<COUNT-1>, overwriting\n"
		"                       the oldest; with -G and no -C: end the capture after COUNT files\n"
		"  -i, --tap IFACE      send every packet into IFACE: a kernel vsockmon device, or else a TUN\n"
		"                       device of type vsockmon that " PROG " creates (root); repeatable\n"
		"  -s, --stats PATH     serve statistics as JSON on the Unix socket PATH (one document per\n"
		"                       connection: socat - UNIX-CONNECT:PATH)\n"
		"      --no-seqpacket   do not offer SOCK_SEQPACKET to guests\n"
		"      --socket-mode MODE\n"
		"                       octal mode of every socket " PROG " listens on: vhost-user, host side,\n"
		"                       statistics (default 0660; connecting needs write permission)\n"
		"      --socket-group GROUP\n"
		"                       their group, a name or number: the group QEMU runs in (kvm,\n"
		"                       libvirt-qemu); " PROG "'s user must be a member (default: its own)\n"
		"      --pcap-mode MODE octal mode of the capture file (default 0600: it holds guests' data)\n"
		"      --pcap-group GROUP\n"
		"                       its group (default: --socket-group's, else " PROG "'s own)\n"
		"      --max-connections N\n"
		"                       host connections per VM at once, host- and guest-initiated (each is a\n"
		"                       descriptor); more are refused: an RST to the guest, a closed socket\n"
		"                       to the host client (default and most: the VM's share of the\n"
		"                       descriptor limit, which " PROG " raises to its hard limit)\n"
		"      --max-pending N  host clients per VM that have not sent \"CONNECT <port>\\n\" yet;\n"
		"                       past it the oldest is closed (default %u)\n"
		"      --handshake-timeout MS\n"
		"                       a host client's time to send its line, then it is closed (default %u)\n"
		"      --frontend-user USER\n"
		"                       let only this user (name or number) be a VM's front-end on its vhost-user\n"
		"                       socket (SO_PEERCRED); others are closed and logged; repeatable\n"
		"      --frontend-group GROUP\n"
		"                       the same for a front-end whose primary group is GROUP; with both, either\n"
		"                       lets it in (default: whoever the socket's mode lets connect)\n"
		"  -v, --verbose        say more (repeat for every connection)\n"
		"  -q, --quiet          say only errors\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n"
		"\n"
		"SIGTERM or SIGINT: connections are reset, captures closed, sockets removed, exit 0.\n"
		"SIGHUP: a capture file moved or removed (logrotate) is closed whole and started again.\n"
		"Under systemd (Type=notify, $NOTIFY_SOCKET): READY=1 once every socket listens.\n"
		"See vsockdev(8).\n", VSOCKDEV_DEFAULT_TX_BUFFER, VSOCKDEV_DEFAULT_QUEUE_SIZE, VSOCKDEV_MAX_PENDING,
		VSOCKDEV_HANDSHAKE_MS);
}

/* ---- options ---- */


/* One key of a VM from a single-VM option (--socket PATH) or, with origin "--vm: ", from --vm: vm_config_set(). */
static void vm_key_from(struct vm_config *c, const char *origin, const char *key, const char *val)
{
	char err[256];

	if (vm_config_set(c, key, val, err, sizeof(err)) < 0)
		cli_die_usage(PROG, "%s%s", origin, err);
}

static void vm_key(struct vm_config *c, const char *key, const char *val)
{
	vm_key_from(c, "", key, val);
}

static void vm_spec(struct vm_config *c, const char *spec)
{
	char *copy = strdup(spec), *save = NULL;

	if (!copy)
		cli_die_usage(PROG, "out of memory");
	for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			cli_die_usage(PROG, "--vm: '%s' is not KEY=VALUE", kv);
		*eq = '\0';
		vm_key_from(c, "--vm: ", kv, eq + 1);
	}
	free(copy);
}

static void vm_check(struct vm_config *c, const struct vm_config *all, unsigned n)
{
	char err[256];

	if (!c->guest_cid)
		cli_die_usage(PROG, "a VM needs guest-cid=CID");
	if (!c->socket)
		cli_die_usage(PROG, "vm %" PRIu64 ": give socket=PATH, the vhost-user socket QEMU connects to",
			      c->guest_cid);
	if (vm_config_check(c, all, n, err, sizeof(err)) < 0)
		cli_die_usage(PROG, "%s", err);
}

/* --config FILE: every VM from a vhost-device-vsock configuration file (config.c). A bad file is a
 * usage error; its message names the line and says what to do, so no --help hint. */
static unsigned vm_config_file(const char *path, struct vm_config *cfgs)
{
	char err[512];
	unsigned n;

	if (config_load(path, cfgs, VSOCKDEV_MAX_VMS, &n, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		exit(2);
	}
	return n;
}

/* ---- descriptors ---- */

/*
 * The soft limit up to the hard one (systemd's default soft limit is 1024, its hard one 524288): a
 * descriptor per host connection is what this daemon spends. Returns the limit now.
 */
static rlim_t raise_nofile(struct daemon *d)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			logmsg(d, 1, "cannot raise the descriptor limit from %llu to %llu: %s", (unsigned long long)was,
			       (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		}
	}
	return rl.rlim_cur;
}

/*
 * Each VM's budget of host connections: an equal share of what the limit leaves after the reserve,
 * so that one VM (a guest opening connection after connection, or a flood of host clients) cannot
 * take another's descriptors; no more than its engine has sockets. --max-connections lowers it.
 */
static void set_budgets(struct daemon *d, rlim_t limit)
{
	uint64_t reserve = VSOCKDEV_FD_RESERVE + (uint64_t)VSOCKDEV_FD_RESERVE_VM * d->nvms;
	uint64_t share = limit > reserve ? (limit - reserve) / d->nvms : 0;
	/* The engine keeps closing connections for up to the close timeout, and has two listeners. */
	uint64_t most = VTR_DEFAULT_MAX_SOCKETS - VTR_DEFAULT_MAX_SOCKETS / 8;

	if (share > most)
		share = most;
	if (share < 1) {
		logmsg(d, 0, "the descriptor limit %llu leaves no room for host connections with %u VM%s: each "
		       "gets 1; raise it (LimitNOFILE=, ulimit -n) to at least %llu", (unsigned long long)limit,
		       d->nvms, d->nvms == 1 ? "" : "s", (unsigned long long)(reserve + 16 * d->nvms));
		share = 1;
	}
	if (d->max_conns > share)
		logmsg(d, 0, "--max-connections %u does not fit the descriptor limit %llu with %u VM%s: %llu each "
		       "(raise LimitNOFILE= or ulimit -n)", d->max_conns, (unsigned long long)limit, d->nvms,
		       d->nvms == 1 ? "" : "s", (unsigned long long)share);
	else if (d->max_conns)
		share = d->max_conns;
	for (unsigned i = 0; i < d->nvms; i++)
		d->vms[i]->max_conns = (unsigned)share;
	logmsg(d, 2, "descriptor limit %llu: %llu host connections per VM, %u pending handshakes, %u ms to send one",
	       (unsigned long long)limit, (unsigned long long)share, d->max_pending, d->handshake_ms);
}

/* ---- the loop ---- */

enum tag_kind { T_STATS, T_VM, T_CONN, T_SIGNAL };

struct tag {
	enum tag_kind kind;
	struct vm *vm;
	struct hconn *conn;
};

/* SIGHUP, as logrotate's "create" way sends it after moving the capture: start it again under its name. */
static void reopen_captures(struct daemon *d)
{
	char err[512];
	int ret;

	if (!d->tap) {
		logmsg(d, 1, "SIGHUP: no capture file to reopen");
		return;
	}
	ret = vsm_tap_reopen(d->tap, err, sizeof(err));
	if (ret < 0) {
		logmsg(d, 0, "SIGHUP: cannot reopen the capture: %s (send SIGHUP again once it can be created)", err);
		return;
	}
	for (size_t i = 0; i < vsm_tap_sink_count(d->tap); i++) {
		const char *file = vsm_tap_sink_file(d->tap, i);
		struct vsm_tap_sink_stats ts;

		if (!file || vsm_tap_sink_stats(d->tap, i, &ts) < 0)
			continue;
		if (ts.error)
			logmsg(d, 0, "SIGHUP: %s: not reopened, the capture stopped on an error (%s); restart " PROG
			       " to capture again", file, strerror(-ts.error));
		else if (ts.finished)
			logmsg(d, 1, "SIGHUP: %s: not reopened, -G with -W ended the capture", file);
		else
			logmsg(d, 1, "SIGHUP: %s %s", file, ret ? "reopened: the moved file is complete, a new one started"
							 : "was not moved: the capture goes on in it");
	}
}

/* The poll loop; returns the signal that ended it, or 0 on an error. */
static int run(struct daemon *d, int sigfd)
{
	size_t cap = 256;
	struct pollfd *pfds = malloc(cap * sizeof(*pfds));
	struct tag *tags = malloc(cap * sizeof(*tags));
	struct hconn **ctags = malloc(cap * sizeof(*ctags));
	int64_t last_flush = daemon_mono_ms();
	int stop_signal = 0;

	if (!pfds || !tags || !ctags) {
		free(pfds), free(tags), free(ctags);
		logmsg(d, 0, "out of memory");
		return 0;
	}
	while (!stop_signal) {
		size_t n = 0, want = 2;
		int timeout = -1, log_due;

		for (unsigned i = 0; i < d->nvms; i++)
			want += 4 + VTR_VUDEV_MAX_POLLFDS + d->vms[i]->nconns;
		if (want > cap) {
			struct pollfd *p = realloc(pfds, want * sizeof(*pfds));
			struct tag *t = p ? realloc(tags, want * sizeof(*tags)) : NULL;
			struct hconn **c = t ? realloc(ctags, want * sizeof(*ctags)) : NULL;

			if (p)
				pfds = p;
			if (t)
				tags = t;
			if (c)
				ctags = c;
			if (!p || !t || !c)
				break;
			cap = want;
		}
		/* Host connections first: handling them only marks them, so nothing they point to can go
		 * away before the device fds are handled (which may reset connections). */
		for (unsigned i = 0; i < d->nvms; i++) {
			size_t k = hconn_pollfds(d->vms[i], pfds + n, ctags + n, cap - n);

			for (size_t j = n; j < n + k; j++)
				tags[j] = (struct tag){ T_CONN, d->vms[i], ctags[j] };
			n += k;
		}
		for (unsigned i = 0; i < d->nvms; i++) {
			size_t k = vm_pollfds(d->vms[i], pfds + n, cap - n);
			int t = vm_next_timeout(d->vms[i]);

			for (size_t j = n; j < n + k; j++)
				tags[j] = (struct tag){ T_VM, d->vms[i], NULL };
			n += k;
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		if (d->stats_fd >= 0 && !daemon_paused(d->stats_paused_until)) {
			pfds[n] = (struct pollfd){ .fd = d->stats_fd, .events = POLLIN };
			tags[n++] = (struct tag){ T_STATS, NULL, NULL };
		} else if (d->stats_fd >= 0) {
			int t = daemon_pause_timeout(d->stats_paused_until);

			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = t;
		}
		pfds[n] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		tags[n++] = (struct tag){ T_SIGNAL, NULL, NULL };
		if (d->tap && vsm_tap_sink_count(d->tap) && (timeout < 0 || timeout > TAP_FLUSH_MS))
			timeout = TAP_FLUSH_MS;
		/* Held-back log lines are reported when their second is over, even if nothing else happens. */
		if (d->log_limit && (log_due = log_limit_next_ms(d->log_limit, daemon_mono_ms())) >= 0 &&
		    (timeout < 0 || log_due < timeout))
			timeout = log_due;
		if (poll(pfds, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			logmsg(d, 0, "poll: %s", strerror(errno));
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (!pfds[i].revents)
				continue;
			switch (tags[i].kind) {
			case T_CONN:
				hconn_handle(tags[i].conn, pfds[i].revents);
				break;
			case T_VM:
				vm_handle_fd(tags[i].vm, pfds[i].fd, pfds[i].revents);
				break;
			case T_STATS:
				stats_serve(d);
				break;
			case T_SIGNAL: {
				struct signalfd_siginfo si;

				while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reopen_captures(d);
					else
						stop_signal = (int)si.ssi_signo;
				}
				break;
			}
			}
		}
		for (unsigned i = 0; i < d->nvms; i++)
			if (vm_next_timeout(d->vms[i]) == 0)
				vtr_tick(d->vms[i]->engine);
		hconn_run_dirty(d);
		for (unsigned i = 0; i < d->nvms; i++)
			vm_after_round(d->vms[i]);
		log_reports_due(d, daemon_mono_ms());
		if (d->tap && daemon_mono_ms() - last_flush >= TAP_FLUSH_MS) {
			vsm_tap_flush(d->tap);
			last_flush = daemon_mono_ms();
		}
	}
	free(pfds);
	free(tags);
	free(ctags);
	return stop_signal;
}

/* Long-only options: codes above every character. */
enum { OPT_CONFIG = 0x100, OPT_SOCKET_MODE, OPT_SOCKET_GROUP, OPT_PCAP_MODE, OPT_PCAP_GROUP, OPT_MAX_CONNECTIONS,
       OPT_MAX_PENDING, OPT_HANDSHAKE_TIMEOUT, OPT_FRONTEND_USER, OPT_FRONTEND_GROUP };

/* The command line's VMs and captures; the daemon's own settings go straight into struct daemon. */
struct cmdline {
	struct vm_config cfgs[VSOCKDEV_MAX_VMS];
	unsigned ncfg;
	const char *pcap, *ifaces[8], *stats;
	unsigned nifaces;
	struct vsm_rotate_opts rotate;
	struct vsm_file_perm pcap_perm;
};

/* Reads the options into cl and d; exits on a usage error (cli_die_usage), and after --help or --version. */
static void parse_args(int argc, char **argv, struct daemon *d, struct cmdline *cl)
{
	static const struct option longopts[] = {
		{ "vm", required_argument, NULL, 'm' },
		{ "guest-cid", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "uds-path", required_argument, NULL, 'u' },
		{ "tx-buffer-size", required_argument, NULL, 'b' },
		{ "queue-size", required_argument, NULL, 'Q' },
		{ "groups", required_argument, NULL, 'g' },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "pcap", required_argument, NULL, 'w' },
		{ "tap", required_argument, NULL, 'i' },
		{ "stats", required_argument, NULL, 's' },
		{ "no-seqpacket", no_argument, NULL, 'P' },
		{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "pcap-mode", required_argument, NULL, OPT_PCAP_MODE },
		{ "pcap-group", required_argument, NULL, OPT_PCAP_GROUP },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
		{ "max-pending", required_argument, NULL, OPT_MAX_PENDING },
		{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT },
		{ "frontend-user", required_argument, NULL, OPT_FRONTEND_USER },
		{ "frontend-group", required_argument, NULL, OPT_FRONTEND_GROUP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config single;
	bool have_single = false, pcap_group = false;
	const char *config = NULL;
	int opt;

	vm_config_init(&single);
	while ((opt = getopt_long(argc, argv, "w:C:G:W:i:s:vqhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (cl->ncfg == VSOCKDEV_MAX_VMS)
				cli_die_usage(PROG, "--vm: %d VMs at the most", VSOCKDEV_MAX_VMS);
			vm_config_init(&cl->cfgs[cl->ncfg]);
			vm_spec(&cl->cfgs[cl->ncfg], optarg);
			vm_check(&cl->cfgs[cl->ncfg], cl->cfgs, cl->ncfg);
			cl->ncfg++;
			break;
		case 'c':
			have_single = true;
			vm_key(&single, "guest-cid", optarg);
			break;
		case 'S':
			have_single = true;
			vm_key(&single, "socket", optarg);
			break;
		case 'u':
			have_single = true;
			vm_key(&single, "uds-path", optarg);
			break;
		case 'b':
			have_single = true;
			vm_key(&single, "tx-buffer-size", optarg);
			break;
		case 'Q':
			have_single = true;
			vm_key(&single, "queue-size", optarg);
			break;
		case 'g':
			have_single = true;
			vm_key(&single, "groups", optarg);
			break;
		case OPT_CONFIG:
			config = optarg;
			break;
		case 'w':
			cl->pcap = optarg;
			break;
		case 'C':
			cl->rotate.max_bytes = cli_file_size(PROG, optarg);
			break;
		case 'G':
			cl->rotate.seconds = cli_rotate_seconds(PROG, optarg);
			break;
		case 'W':
			cl->rotate.max_files = cli_file_count(PROG, optarg);
			break;
		case 'i':
			if (cl->nifaces == sizeof(cl->ifaces) / sizeof(cl->ifaces[0]))
				cli_die_usage(PROG, "--tap: 8 interfaces at the most");
			cl->ifaces[cl->nifaces++] = optarg;
			break;
		case 's':
			cl->stats = optarg;
			break;
		case 'P':
			d->no_seqpacket = true;
			break;
		case OPT_SOCKET_MODE:
			d->socket_perm.mode = service_mode_arg("--socket-mode", optarg);
			break;
		case OPT_SOCKET_GROUP:
			d->socket_perm.gid = service_group_arg("--socket-group", optarg);
			d->socket_perm.set_group = true;
			break;
		case OPT_PCAP_MODE:
			cl->pcap_perm.mode = service_mode_arg("--cl->pcap-mode", optarg);
			break;
		case OPT_PCAP_GROUP:
			cl->pcap_perm.gid = service_group_arg("--cl->pcap-group", optarg);
			cl->pcap_perm.set_group = pcap_group = true;
			break;
		case OPT_MAX_CONNECTIONS:
			d->max_conns = (unsigned)cli_number(PROG, "--max-connections", optarg, 1, VTR_DEFAULT_MAX_SOCKETS);
			break;
		case OPT_MAX_PENDING:
			d->max_pending = (unsigned)cli_number(PROG, "--max-pending", optarg, 1, VTR_DEFAULT_MAX_SOCKETS);
			break;
		case OPT_HANDSHAKE_TIMEOUT:
			d->handshake_ms = (unsigned)cli_number(PROG, "--handshake-timeout", optarg, 1, 3600000);
			break;
		case OPT_FRONTEND_USER:
			if (d->frontend_allow.nuids == VSOCKDEV_MAX_FRONTEND_IDS)
				cli_die_usage(PROG, "--frontend-user: %d at the most", VSOCKDEV_MAX_FRONTEND_IDS);
			d->frontend_allow.uids[d->frontend_allow.nuids++] = service_user_arg("--frontend-user", optarg);
			break;
		case OPT_FRONTEND_GROUP:
			if (d->frontend_allow.ngids == VSOCKDEV_MAX_FRONTEND_IDS)
				cli_die_usage(PROG, "--frontend-group: %d at the most", VSOCKDEV_MAX_FRONTEND_IDS);
			d->frontend_allow.gids[d->frontend_allow.ngids++] = service_group_arg("--frontend-group", optarg);
			break;
		case 'v':
			d->verbose++;
			break;
		case 'q':
			d->verbose = 0;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf(PROG " %s\n", VSM_VERSION);
			exit(0);
		default:
			cli_die_usage(PROG, "unknown option");
		}
	}
	if (optind < argc)
		cli_die_usage(PROG, "unexpected argument '%s'", argv[optind]);
	/* As vhost-device-vsock (clap's conflicts_with = "config"): the file holds every VM. */
	if (config && (cl->ncfg || have_single))
		cli_die_usage(PROG, "--config %s holds the VMs: give them there, not also with --vm or "
			      "--guest-cid/--socket/...", config);
	if (config)
		cl->ncfg = vm_config_file(config, cl->cfgs);
	if (have_single && cl->ncfg)
		cli_die_usage(PROG, "give VMs either with --vm or with --guest-cid/--socket/..., not both");
	if (have_single) {
		if (!single.guest_cid)
			single.guest_cid = VSOCKDEV_DEFAULT_GUEST_CID;
		vm_check(&single, cl->cfgs, 0);
		cl->cfgs[cl->ncfg++] = single;
	}
	if (!cl->ncfg)
		cli_die_usage(PROG, "no VM: give --vm guest-cid=CID,socket=PATH,uds-path=PATH or --config FILE");
	if ((cl->rotate.max_bytes || cl->rotate.seconds || cl->rotate.max_files) && !cl->pcap)
		cli_die_usage(PROG, "-C, -G and -W go with -w FILE");
	if (!pcap_group && d->socket_perm.set_group) {
		cl->pcap_perm.gid = d->socket_perm.gid;
		cl->pcap_perm.set_group = true;
	}
}

int main(int argc, char **argv)
{
	static struct cmdline cl = { .pcap_perm = { .mode = 0600 } };
	struct log_limit log_limit = { 0 };
	struct daemon d = { .stats_fd = -1, .socket_perm = { .mode = 0660 }, .max_pending = VSOCKDEV_MAX_PENDING,
			    .handshake_ms = VSOCKDEV_HANDSHAKE_MS, .log_limit = &log_limit, .verbose = 1 };
	rlim_t nofile;
	char err[512];
	int status = 0, sigfd, stop_signal;

	cli_program_name(argv);
	parse_args(argc, argv, &d, &cl);
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM, SIGINT and SIGHUP are read in the poll loop: no handler, no flag. */
	sigfd = cli_signalfd(0);
	if (sigfd < 0) {
		fprintf(stderr, PROG ": cannot take signals through a signalfd: %s\n", strerror(-sigfd));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &d.started);
	nofile = raise_nofile(&d);

	if (cl.pcap || cl.nifaces) {
		int ret = vsm_tap_new(&d.tap);

		if (ret) {
			fprintf(stderr, PROG ": cannot create the tap: %s\n", strerror(-ret));
			return 1;
		}
		vsm_tap_set_file_perm(d.tap, &cl.pcap_perm);
		cl.rotate.path = cl.pcap;
		if (cl.pcap && vsm_tap_add_pcap_rotated(d.tap, &cl.rotate, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": --pcap %s: %s\n", cl.pcap, err);
			status = 1;
			goto out;
		}
		for (unsigned i = 0; i < cl.nifaces; i++) {
			if (vsm_tap_add_iface(d.tap, cl.ifaces[i], err, sizeof(err)) < 0) {
				fprintf(stderr, PROG ": --tap %s: %s\n", cl.ifaces[i], err);
				status = 1;
				goto out;
			}
		}
	}
	d.vms = calloc(cl.ncfg, sizeof(*d.vms));
	if (!d.vms) {
		status = 1;
		goto out;
	}
	for (unsigned i = 0; i < cl.ncfg; i++) {
		int ret = vm_new(&d, &cl.cfgs[i], &d.vms[i], err, sizeof(err));

		if (ret) {
			fprintf(stderr, PROG ": %s\n", err);
			status = 1;
			goto out;
		}
		d.nvms++;
		logmsg(&d, 1, "%s: listening on %s%s%s", d.vms[i]->name, cl.cfgs[i].socket,
		       cl.cfgs[i].uds_path ? ", host side on " : " (no host side)", cl.cfgs[i].uds_path ? cl.cfgs[i].uds_path : "");
	}
	set_budgets(&d, nofile);
	if (cl.stats && stats_listen(&d, cl.stats, err, sizeof(err))) {
		fprintf(stderr, PROG ": --stats %s\n", err);
		status = 1;
		goto out;
	}
	service_ready(&d);
	stop_signal = run(&d, sigfd);
	if (stop_signal)
		logmsg(&d, 1, "%s: shutting down", strsignal(stop_signal));
out:
	service_tell(&d, "STOPPING=1\nSTATUS=shutting down");
	/* Peers learn by RSTs while the devices still run; then the captures are closed whole. */
	for (unsigned i = 0; i < d.nvms; i++) {
		vm_reset_all(d.vms[i], "shutting down");
		vtr_vudev_notify(d.vms[i]->dev);
	}
	for (unsigned i = 0; i < d.nvms; i++)
		vm_free(d.vms[i]);
	free(d.vms);
	if (d.stats_fd >= 0) {
		close(d.stats_fd);
		unlink(cl.stats);
	}
	if (d.tap) {
		for (size_t i = 0; i < vsm_tap_sink_count(d.tap); i++) {
			struct vsm_tap_sink_stats ts;

			vsm_tap_sink_stats(d.tap, i, &ts);
			logmsg(&d, 1, "tap sink %zu: %" PRIu64 " frames, %" PRIu64 " dropped%s%s%s", i, ts.frames,
			       ts.dropped, ts.error ? ", error: " : "", ts.error ? strerror(-ts.error) : "",
			       ts.finished ? ", capture ended by -G with -W" : "");
		}
		vsm_tap_free(d.tap);
	}
	log_reports_due(&d, INT64_MAX);
	for (unsigned i = 0; i < cl.ncfg; i++)
		vm_config_free(&cl.cfgs[i]);
	close(sigfd);
	return status;
}
