/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vsockdev-bench.c: throughput each way and 1-byte round trips through vsockdev and real virtqueues, against a bare Unix socketpair. */
/*
 * Usage: vsockdev-bench VSOCKDEV [--tap none|pcap:FILE|iface:NAME] [--mib N] [--rtt N] [--reps N]
 *        [--rx-buf BYTES] [--queue N]
 * vsockdev runs as its own process, as it would beside QEMU. The guest is a front-end (vufront.h:
 * memfd memory, split rings, a guest engine) on the main thread; the host program is a second thread
 * on the VM's Unix socket (CONNECT <port>). Stream: 64 KiB writes, one way at a time. The reference
 * is a Unix socketpair moving the same bytes with the same 64 KiB writes between two threads, in
 * the same run. Each line is the median of --reps alternating bare/device runs, so that machine
 * noise hits both alike. Prints key=value lines; asserts nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vtr/vtr.h>
#include <vtr/vufront.h>

#define CHUNK (64 * 1024)
#define PORT 5000

struct bench {
	const char *bin, *tap;
	char dir[64], vu[128], uds[128];
	pid_t pid;
	uint64_t bytes;
	unsigned rtts, reps, queue;
	uint32_t rx_buf;
	struct vtr_vufront *front;
	int guest_sock;			/* the guest's end of the connection */
	int host_fd;			/* the host's */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "vsockdev-bench: %s\n", what);
	exit(1);
}

/* ---- the daemon and the guest ---- */

static void start(struct bench *b)
{
	char vm[400], tapopt[200];
	struct stat st;

	snprintf(b->dir, sizeof(b->dir), "/tmp/vsockdev-bench.XXXXXX");
	if (!mkdtemp(b->dir))
		die("mkdtemp");
	snprintf(b->vu, sizeof(b->vu), "%s/vm3.vhost", b->dir);
	snprintf(b->uds, sizeof(b->uds), "%s/vm3.vsock", b->dir);
	snprintf(vm, sizeof(vm), "guest-cid=3,socket=%s,uds-path=%s,queue-size=%u", b->vu, b->uds, b->queue);
	tapopt[0] = '\0';
	if (!strncmp(b->tap, "pcap:", 5))
		snprintf(tapopt, sizeof(tapopt), "--pcap=%s", b->tap + 5);
	else if (!strncmp(b->tap, "iface:", 6))
		snprintf(tapopt, sizeof(tapopt), "--tap=%s", b->tap + 6);
	b->pid = fork();
	if (b->pid == 0) {
		if (tapopt[0])
			execl(b->bin, b->bin, "-q", "--vm", vm, tapopt, (char *)NULL);
		else
			execl(b->bin, b->bin, "-q", "--vm", vm, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(b->vu, &st); i++)
		usleep(10000);
}

static void attach(struct bench *b)
{
	struct vtr_vufront_config cfg = {
		.socket_path = b->vu, .queue_size = b->queue, .rx_buf_size = b->rx_buf,
		.engine = { .buf_alloc = 1u << 20, .max_buf_alloc = 1u << 20 },
	};
	char err[256];

	if (vtr_vufront_new(&cfg, &b->front, err, sizeof(err))) {
		fprintf(stderr, "vsockdev-bench: %s\n", err);
		exit(1);
	}
}

static void pump(struct bench *b, int ms)
{
	struct pollfd pfds[VTR_VUFRONT_MAX_POLLFDS];
	size_t n = vtr_vufront_pollfds(b->front, pfds, VTR_VUFRONT_MAX_POLLFDS);

	poll(pfds, n, ms);
	if (vtr_vufront_process(b->front) < 0) {
		fprintf(stderr, "vsockdev-bench: front-end: %s\n", vtr_vufront_error(b->front));
		exit(1);
	}
}

/* The host connects to the guest's port: the guest listens, accepts; both ends kept in b. */
static void open_conn(struct bench *b)
{
	struct vtr_engine *e = vtr_vufront_engine(b->front);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l = vtr_listen(e, PORT, VTR_STREAM, 0), fd;
	char line[64];
	size_t have = 0;

	if (l < 0)
		die("listen");
	strcpy(sa.sun_path, b->uds);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || write(fd, "CONNECT 5000\n", 13) != 13)
		die("connect");
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = read(fd, line + have, 1);

		if (n == 1 && line[have++] == '\n')
			break;
		if (n == 0)
			die("the daemon closed the host connection");
		pump(b, 1);
	}
	fcntl(fd, F_SETFL, 0);
	while ((b->guest_sock = vtr_accept(e, l)) < 0)
		pump(b, 1);
	vtr_close(e, l);
	b->host_fd = fd;
}

static void close_conn(struct bench *b)
{
	struct vtr_engine *e = vtr_vufront_engine(b->front);

	close(b->host_fd);
	vtr_reset(e, b->guest_sock);
	vtr_close(e, b->guest_sock);
	for (int i = 0; i < 5; i++)
		pump(b, 1);
}

/* ---- host threads ---- */

struct host_job {
	int fd;
	uint64_t bytes;
	bool send;
};

static void *host_thread(void *arg)
{
	struct host_job *j = arg;
	static __thread uint8_t buf[CHUNK];
	uint64_t done = 0;

	while (done < j->bytes) {
		size_t want = j->bytes - done < CHUNK ? (size_t)(j->bytes - done) : CHUNK;
		ssize_t n = j->send ? write(j->fd, buf, want) : read(j->fd, buf, want);

		if (n <= 0)
			break;
		done += (uint64_t)n;
	}
	return NULL;
}

/* ---- measurements ---- */

/* Host to guest (send = false: guest to host) through the device, Gbps. */
static double device_stream(struct bench *b, bool to_guest)
{
	struct vtr_engine *e = vtr_vufront_engine(b->front);
	struct host_job j = { b->host_fd, b->bytes, to_guest };
	static uint8_t buf[CHUNK];
	uint64_t done = 0;
	pthread_t t;
	double t0 = now_ns();

	pthread_create(&t, NULL, host_thread, &j);
	while (done < b->bytes) {
		ssize_t n;

		if (to_guest) {
			while ((n = vtr_recv(e, b->guest_sock, buf, sizeof(buf), 0, NULL)) > 0)
				done += (uint64_t)n;
		} else {
			size_t want = b->bytes - done < CHUNK ? (size_t)(b->bytes - done) : CHUNK;

			while (done < b->bytes && (n = vtr_send(e, b->guest_sock, buf, want, 0)) > 0) {
				done += (uint64_t)n;
				want = b->bytes - done < CHUNK ? (size_t)(b->bytes - done) : CHUNK;
			}
		}
		pump(b, 10);
	}
	/* Guest to host: the host must have read everything. */
	while (!to_guest && pthread_tryjoin_np(t, NULL) != 0)
		pump(b, 1);
	if (to_guest)
		pthread_join(t, NULL);
	return b->bytes * 8 / (now_ns() - t0);
}

static double bare_stream(uint64_t bytes)
{
	int sv[2];
	struct host_job tx, rx;
	pthread_t a, c;
	double t0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	tx = (struct host_job){ sv[0], bytes, true };
	rx = (struct host_job){ sv[1], bytes, false };
	t0 = now_ns();
	pthread_create(&a, NULL, host_thread, &tx);
	pthread_create(&c, NULL, host_thread, &rx);
	pthread_join(a, NULL);
	pthread_join(c, NULL);
	close(sv[0]);
	close(sv[1]);
	return bytes * 8 / (now_ns() - t0);
}

/* 1-byte round trips: the host writes a byte, the guest answers with one. Median, microseconds. */
struct pinger {
	int fd;
	unsigned n;
	double *samples;
};

static void *ping_thread(void *arg)
{
	struct pinger *p = arg;
	char c = 'x';

	for (unsigned i = 0; i < p->n; i++) {
		double t0 = now_ns();

		if (write(p->fd, &c, 1) != 1 || read(p->fd, &c, 1) != 1)
			break;
		p->samples[i] = now_ns() - t0;
	}
	return NULL;
}

static double device_rtt(struct bench *b)
{
	struct vtr_engine *e = vtr_vufront_engine(b->front);
	struct pinger p = { b->host_fd, b->rtts, calloc(b->rtts, sizeof(double)) };
	unsigned answered = 0;
	pthread_t t;
	double m;

	pthread_create(&t, NULL, ping_thread, &p);
	while (answered < b->rtts) {
		char c;

		if (vtr_recv(e, b->guest_sock, &c, 1, 0, NULL) == 1) {
			vtr_send(e, b->guest_sock, &c, 1, 0);
			answered++;
			continue;
		}
		pump(b, 10);
	}
	pthread_join(t, NULL);
	m = median(p.samples, p.n) / 1000;
	free(p.samples);
	return m;
}

static void *echo_thread(void *arg)
{
	struct pinger *p = arg;
	char c;

	for (unsigned i = 0; i < p->n; i++)
		if (read(p->fd, &c, 1) != 1 || write(p->fd, &c, 1) != 1)
			break;
	return NULL;
}

static double bare_rtt(unsigned n)
{
	int sv[2];
	struct pinger p, q;
	pthread_t a, c;
	double m;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		die("socketpair");
	p = (struct pinger){ sv[0], n, calloc(n, sizeof(double)) };
	q = (struct pinger){ sv[1], n, NULL };
	pthread_create(&c, NULL, echo_thread, &q);
	pthread_create(&a, NULL, ping_thread, &p);
	pthread_join(a, NULL);
	pthread_join(c, NULL);
	m = median(p.samples, n) / 1000;
	free(p.samples);
	close(sv[0]);
	close(sv[1]);
	return m;
}

int main(int argc, char **argv)
{
	struct bench b = { .tap = "none", .bytes = 1024ull << 20, .rtts = 20000, .reps = 5, .queue = 256,
			   .rx_buf = 4096 + 44 };
	double *bare, *h2g, *g2h, rtt_bare, rtt_dev;
	int status;

	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: vsockdev-bench VSOCKDEV [--tap none|pcap:FILE|iface:NAME] [--mib N] [--rtt N] "
			"[--reps N] [--rx-buf BYTES] [--queue N]\n");
		return 2;
	}
	b.bin = argv[1];
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--tap"))
			b.tap = argv[i + 1];
		else if (!strcmp(argv[i], "--mib"))
			b.bytes = strtoull(argv[i + 1], NULL, 0) << 20;
		else if (!strcmp(argv[i], "--rtt"))
			b.rtts = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--reps"))
			b.reps = (unsigned)strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--rx-buf"))
			b.rx_buf = (uint32_t)strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--queue"))
			b.queue = (unsigned)strtoul(argv[i + 1], NULL, 0);
	}
	bare = calloc(b.reps, sizeof(double));
	h2g = calloc(b.reps, sizeof(double));
	g2h = calloc(b.reps, sizeof(double));
	start(&b);
	attach(&b);
	for (unsigned r = 0; r < b.reps; r++) {
		bare[r] = bare_stream(b.bytes);
		open_conn(&b);
		h2g[r] = device_stream(&b, true);
		close_conn(&b);
		open_conn(&b);
		g2h[r] = device_stream(&b, false);
		close_conn(&b);
	}
	rtt_bare = bare_rtt(b.rtts);
	open_conn(&b);
	rtt_dev = device_rtt(&b);
	close_conn(&b);
	{
		double mb = median(bare, b.reps), mh = median(h2g, b.reps), mg = median(g2h, b.reps);

		printf("tap=%s stream_mib=%llu reps=%u rx_buf=%u queue=%u bare_gbps=%.2f h2g_gbps=%.2f g2h_gbps=%.2f "
		       "h2g_ratio=%.3f g2h_ratio=%.3f rtt_bare_us=%.1f rtt_device_us=%.1f\n",
		       b.tap, (unsigned long long)(b.bytes >> 20), b.reps, b.rx_buf, b.queue, mb, mh, mg, mh / mb,
		       mg / mb, rtt_bare, rtt_dev);
	}
	vtr_vufront_free(b.front);
	kill(b.pid, SIGTERM);
	waitpid(b.pid, &status, 0);
	{
		char cmd[100];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", b.dir);
		if (system(cmd))
			return 1;
	}
	free(bare);
	free(h2g);
	free(g2h);
	return 0;
}
