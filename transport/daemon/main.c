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
#include <time.h>
#include <unistd.h>

#include <cli.h>
#include <vsockmon/vsockmon.h>

#include "daemon.h"

#define PROG "vsockdev"
#define MAX_VMS 64
#define DEFAULT_TX_BUFFER (256u * 1024)	/* Linux's default socket buffer (vhost-device-vsock: 64 KiB) */
#define DEFAULT_QUEUE_SIZE 1024u
#define TAP_FLUSH_MS 1000

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int verbosity;

void logmsg(const struct daemon *d, int level, const char *fmt, ...)
{
	va_list ap;

	if (level > verbosity)
		return;
	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [OPTIONS] --vm guest-cid=CID,socket=PATH[,uds-path=PATH][,KEY=VALUE...] [--vm ...]\n"
		"       " PROG " [OPTIONS] --guest-cid CID --socket PATH [--uds-path PATH] [...]\n"
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
		"  tx-buffer-size=BYTES   receive buffer per connection on the host side (default %u)\n"
		"  queue-size=N           largest virtqueue the front-end may set (default %u)\n"
		"  groups=NAME[+NAME...]  VMs sharing a group reach each other by CID (default: default)\n"
		"The same keys as options (one VM): --guest-cid --socket --uds-path --tx-buffer-size\n"
		"--queue-size --groups.\n"
		"\n"
		"Options:\n"
		"  -w, --pcap FILE      write every packet to FILE (pcap, LINKTYPE_VSOCK); the file stays valid\n"
		"                       if " PROG " is killed, up to the last second\n"
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
		"  -v, --verbose        say more (repeat for every connection)\n"
		"  -q, --quiet          say only errors\n"
		"  -h, --help           this help\n"
		"  -V, --version        the version\n"
		"\n"
		"SIGTERM or SIGINT: connections are reset, captures closed, sockets removed, exit 0.\n"
		"Under systemd (Type=notify, $NOTIFY_SOCKET): READY=1 once every socket listens.\n"
		"See vsockdev(8).\n", DEFAULT_TX_BUFFER, DEFAULT_QUEUE_SIZE);
}

/* ---- options ---- */


static void add_groups(struct vm_config *c, const char *list)
{
	char *copy = strdup(list), *save = NULL;

	if (!copy)
		cli_die_usage(PROG, "out of memory");
	for (unsigned i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	c->ngroups = 0;
	for (char *g = strtok_r(copy, "+", &save); g; g = strtok_r(NULL, "+", &save)) {
		if (c->ngroups == VSOCKDEV_MAX_GROUPS)
			cli_die_usage(PROG, "groups=%s: %d groups at the most", list, VSOCKDEV_MAX_GROUPS);
		c->groups[c->ngroups++] = strdup(g);
	}
	free(copy);
	if (!c->ngroups)
		cli_die_usage(PROG, "groups: give at least one name");
}

/* Sets one key of a VM; keys are vhost-device-vsock's, with '-' or '_'. */
static void vm_key(struct vm_config *c, const char *key, const char *val)
{
	char k[32];
	size_t i;

	for (i = 0; key[i] && i < sizeof(k) - 1; i++)
		k[i] = key[i] == '_' ? '-' : key[i];
	k[i] = '\0';
	if (!*val)
		cli_die_usage(PROG, "--vm: %s has no value", key);
	if (!strcmp(k, "guest-cid"))
		c->guest_cid = cli_number(PROG, "guest-cid", val, 3, UINT32_MAX - 1);
	else if (!strcmp(k, "socket"))
		free(c->socket), c->socket = strdup(val);
	else if (!strcmp(k, "uds-path"))
		free(c->uds_path), c->uds_path = strdup(val);
	else if (!strcmp(k, "tx-buffer-size"))
		c->tx_buffer_size = (uint32_t)cli_number(PROG, "tx-buffer-size", val, 4096, 64u << 20);
	else if (!strcmp(k, "queue-size"))
		c->queue_size = (unsigned)cli_number(PROG, "queue-size", val, 1, 32768);
	else if (!strcmp(k, "groups"))
		add_groups(c, val);
	else if (!strcmp(k, "forward-cid") || !strcmp(k, "forward-listen"))
		cli_die_usage(PROG, "--vm: %s (forwarding to the host's own vsock) is not supported: use uds-path", key);
	else
		cli_die_usage(PROG, "--vm: unknown key '%s' (guest-cid, socket, uds-path, tx-buffer-size, "
			      "queue-size, groups)", key);
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
		vm_key(c, kv, eq + 1);
	}
	free(copy);
}

static void vm_defaults(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->tx_buffer_size = DEFAULT_TX_BUFFER;
	c->queue_size = DEFAULT_QUEUE_SIZE;
}

static void vm_check(struct vm_config *c, const struct vm_config *all, unsigned n)
{
	if (!c->guest_cid)
		cli_die_usage(PROG, "a VM needs guest-cid=CID");
	if (!c->socket)
		cli_die_usage(PROG, "vm %" PRIu64 ": give socket=PATH, the vhost-user socket QEMU connects to",
			      c->guest_cid);
	if (!c->ngroups)
		add_groups(c, "default");
	for (unsigned i = 0; i < n; i++) {
		if (all[i].guest_cid == c->guest_cid)
			cli_die_usage(PROG, "guest CID %" PRIu64 " is given twice", c->guest_cid);
		if (!strcmp(all[i].socket, c->socket))
			cli_die_usage(PROG, "socket %s is given to two VMs", c->socket);
	}
}

static void vm_config_free(struct vm_config *c)
{
	free(c->socket);
	free(c->uds_path);
	for (unsigned i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
}

/* ---- the loop ---- */

enum tag_kind { T_STATS, T_VM, T_CONN };

struct tag {
	enum tag_kind kind;
	struct vm *vm;
	struct hconn *conn;
};

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int run(struct daemon *d)
{
	size_t cap = 256;
	struct pollfd *pfds = malloc(cap * sizeof(*pfds));
	struct tag *tags = malloc(cap * sizeof(*tags));
	struct hconn **ctags = malloc(cap * sizeof(*ctags));
	int64_t last_flush = mono_ms();

	if (!pfds || !tags || !ctags) {
		free(pfds), free(tags), free(ctags);
		return -ENOMEM;
	}
	while (!stop_signal) {
		size_t n = 0, want = 1;
		int timeout = -1;

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
		if (d->stats_fd >= 0) {
			pfds[n] = (struct pollfd){ .fd = d->stats_fd, .events = POLLIN };
			tags[n++] = (struct tag){ T_STATS, NULL, NULL };
		}
		if (d->tap && vtr_tap_sink_count(d->tap) && (timeout < 0 || timeout > TAP_FLUSH_MS))
			timeout = TAP_FLUSH_MS;
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
			}
		}
		for (unsigned i = 0; i < d->nvms; i++)
			if (vm_next_timeout(d->vms[i]) == 0)
				vtr_tick(d->vms[i]->engine);
		hconn_run_dirty(d);
		for (unsigned i = 0; i < d->nvms; i++)
			vm_after_round(d->vms[i]);
		if (d->tap && mono_ms() - last_flush >= TAP_FLUSH_MS) {
			vtr_tap_flush(d->tap);
			last_flush = mono_ms();
		}
	}
	free(pfds);
	free(tags);
	free(ctags);
	return 0;
}

enum { OPT_SOCKET_MODE = 0x100, OPT_SOCKET_GROUP, OPT_PCAP_MODE, OPT_PCAP_GROUP };

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "vm", required_argument, NULL, 'm' },
		{ "guest-cid", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "uds-path", required_argument, NULL, 'u' },
		{ "tx-buffer-size", required_argument, NULL, 'b' },
		{ "queue-size", required_argument, NULL, 'Q' },
		{ "groups", required_argument, NULL, 'g' },
		{ "pcap", required_argument, NULL, 'w' },
		{ "tap", required_argument, NULL, 'i' },
		{ "stats", required_argument, NULL, 's' },
		{ "no-seqpacket", no_argument, NULL, 'P' },
		{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
		{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
		{ "pcap-mode", required_argument, NULL, OPT_PCAP_MODE },
		{ "pcap-group", required_argument, NULL, OPT_PCAP_GROUP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct vm_config cfgs[MAX_VMS];
	struct vm_config single;
	bool have_single = false;
	unsigned ncfg = 0;
	const char *pcap = NULL, *ifaces[8], *stats = NULL;
	unsigned nifaces = 0;
	struct daemon d = { .stats_fd = -1, .socket_perm = { .mode = 0660 } };
	struct vsm_file_perm pcap_perm = { .mode = 0600 };
	bool pcap_group = false;
	struct sigaction sa = { .sa_handler = on_signal };
	char err[256];
	int opt, status = 0;

	verbosity = 1;
	vm_defaults(&single);
	while ((opt = getopt_long(argc, argv, "w:i:s:vqhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (ncfg == MAX_VMS)
				cli_die_usage(PROG, "--vm: %d VMs at the most", MAX_VMS);
			vm_defaults(&cfgs[ncfg]);
			vm_spec(&cfgs[ncfg], optarg);
			vm_check(&cfgs[ncfg], cfgs, ncfg);
			ncfg++;
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
		case 'w':
			pcap = optarg;
			break;
		case 'i':
			if (nifaces == sizeof(ifaces) / sizeof(ifaces[0]))
				cli_die_usage(PROG, "--tap: 8 interfaces at the most");
			ifaces[nifaces++] = optarg;
			break;
		case 's':
			stats = optarg;
			break;
		case 'P':
			d.no_seqpacket = true;
			break;
		case OPT_SOCKET_MODE:
			d.socket_perm.mode = service_mode_arg("--socket-mode", optarg);
			break;
		case OPT_SOCKET_GROUP:
			d.socket_perm.gid = service_group_arg("--socket-group", optarg);
			d.socket_perm.set_group = true;
			break;
		case OPT_PCAP_MODE:
			pcap_perm.mode = service_mode_arg("--pcap-mode", optarg);
			break;
		case OPT_PCAP_GROUP:
			pcap_perm.gid = service_group_arg("--pcap-group", optarg);
			pcap_perm.set_group = pcap_group = true;
			break;
		case 'v':
			verbosity++;
			break;
		case 'q':
			verbosity = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " %s\n", VSM_VERSION);
			return 0;
		default:
			cli_die_usage(PROG, "unknown option");
		}
	}
	if (optind < argc)
		cli_die_usage(PROG, "unexpected argument '%s'", argv[optind]);
	if (have_single && ncfg)
		cli_die_usage(PROG, "give VMs either with --vm or with --guest-cid/--socket/..., not both");
	if (have_single) {
		if (!single.guest_cid)
			single.guest_cid = 3;	/* vhost-device-vsock's default */
		vm_check(&single, cfgs, 0);
		cfgs[ncfg++] = single;
	}
	if (!ncfg)
		cli_die_usage(PROG, "no VM: give --vm guest-cid=CID,socket=PATH,uds-path=PATH");
	if (!pcap_group && d.socket_perm.set_group) {
		pcap_perm.gid = d.socket_perm.gid;
		pcap_perm.set_group = true;
	}

	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	clock_gettime(CLOCK_MONOTONIC, &d.started);

	if (pcap || nifaces) {
		int ret = vtr_tap_new(&d.tap);

		if (ret) {
			fprintf(stderr, PROG ": cannot create the tap: %s\n", strerror(-ret));
			return 1;
		}
		vtr_tap_set_file_perm(d.tap, &pcap_perm);
		if (pcap && vtr_tap_add_pcap(d.tap, pcap, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": --pcap %s: %s\n", pcap, err);
			status = 1;
			goto out;
		}
		for (unsigned i = 0; i < nifaces; i++) {
			if (vtr_tap_add_iface(d.tap, ifaces[i], err, sizeof(err)) < 0) {
				fprintf(stderr, PROG ": --tap %s: %s\n", ifaces[i], err);
				status = 1;
				goto out;
			}
		}
	}
	d.vms = calloc(ncfg, sizeof(*d.vms));
	if (!d.vms) {
		status = 1;
		goto out;
	}
	for (unsigned i = 0; i < ncfg; i++) {
		int ret = vm_new(&d, &cfgs[i], &d.vms[i], err, sizeof(err));

		if (ret) {
			fprintf(stderr, PROG ": %s\n", err);
			status = 1;
			goto out;
		}
		d.nvms++;
		logmsg(&d, 1, "%s: listening on %s%s%s", d.vms[i]->name, cfgs[i].socket,
		       cfgs[i].uds_path ? ", host side on " : " (no host side)", cfgs[i].uds_path ? cfgs[i].uds_path : "");
	}
	if (stats && stats_listen(&d, stats, err, sizeof(err))) {
		fprintf(stderr, PROG ": --stats %s\n", err);
		status = 1;
		goto out;
	}
	service_ready(&d);
	run(&d);
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
		unlink(stats);
	}
	if (d.tap) {
		for (size_t i = 0; i < vtr_tap_sink_count(d.tap); i++) {
			struct vtr_tap_sink_stats ts;

			vtr_tap_sink_stats(d.tap, i, &ts);
			logmsg(&d, 1, "tap sink %zu: %" PRIu64 " frames, %" PRIu64 " dropped%s%s", i, ts.frames,
			       ts.dropped, ts.error ? ", error: " : "", ts.error ? strerror(-ts.error) : "");
		}
		vtr_tap_free(d.tap);
	}
	for (unsigned i = 0; i < ncfg; i++)
		vm_config_free(&cfgs[i]);
	return status;
}
