/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine-bench.c: stream throughput and 1-byte round trips of two engines over a socketpair, against the bare socketpair. */
/*
 * Usage: engine-bench [--tap none|pcap:FILE|iface:NAME] [--mib N] [--rtt N]
 * Two threads, one per engine (the engine has no threads inside; each side owns one), joined by an
 * AF_UNIX SOCK_SEQPACKET socketpair carrying one virtio-vsock packet per message. The baseline is
 * the same socketpair with the same 64 KiB writes and no engine. Prints one line per measurement.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/wire.h>
#include <vsockmon/tap.h>
#include <vtr/vtr.h>

#define CHUNK (64 * 1024)
#define PORT 5000

struct side {
	int fd;				/* this side's end of the wire */
	struct vtr_engine *e;
	int sock;
	const char *tap;		/* tap spec for side 0 */
	uint64_t bytes;			/* to move (stream) */
	uint64_t rtts;			/* round trips (rtt) */
	double *samples;		/* rtt samples, ns */
	int mode;			/* 0 stream, 1 rtt */
	int role;			/* 0 client (sender / pinger), 1 server */
	int error;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct side *s = ctx;
	struct iovec iov[2] = { { (void *)hdr, VSM_VIRTIO_HDR_LEN }, { (void *)payload, len } };
	ssize_t n = writev(s->fd, iov, len ? 2 : 1);

	if (n < 0)
		return errno == EAGAIN || errno == ENOBUFS ? -EAGAIN : -errno;
	return 0;
}

/* Reads every packet waiting on the wire into the engine. */
static int pump(struct side *s, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN | (vtr_want_write(s->e) ? POLLOUT : 0) };

	if (poll(&pfd, 1, timeout_ms) < 0)
		return -errno;
	if (pfd.revents & POLLOUT)
		vtr_flush(s->e);
	if (pfd.revents & (POLLIN | POLLHUP)) {
		for (;;) {
			ssize_t n = recv(s->fd, buf, cap, MSG_DONTWAIT);

			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			if (n == 0)
				return -EPIPE;
			vtr_input(s->e, buf, (size_t)n);
		}
	}
	return 0;
}

static int setup(struct side *s)
{
	struct vtr_ops ops = { .xmit = xmit };
	struct vtr_config cfg = { .cid = s->role ? 2 : 3, .buf_alloc = 1 << 20 };
	char err[256];
	int r = vtr_engine_new(&cfg, &ops, s, &s->e);

	if (r < 0)
		return r;
	if (s->role == 0 && s->tap) {
		if (strncmp(s->tap, "pcap:", 5) == 0)
			r = vsm_tap_add_pcap(vtr_engine_tap(s->e), s->tap + 5, err, sizeof(err));
		else if (strncmp(s->tap, "iface:", 6) == 0)
			r = vsm_tap_add_iface(vtr_engine_tap(s->e), s->tap + 6, err, sizeof(err));
		if (r < 0) {
			fprintf(stderr, "engine-bench: tap: %s\n", err);
			return r;
		}
	}
	return 0;
}

static void *engine_thread(void *arg)
{
	struct side *s = arg;
	size_t wirecap = VSM_VIRTIO_HDR_LEN + CHUNK + 64;
	uint8_t *wirebuf = malloc(wirecap);
	uint8_t *data = calloc(1, CHUNK);
	uint64_t done = 0;
	int r, l = -1;

	if (!data || !wirebuf || (r = setup(s)) < 0) {
		s->error = -ENOMEM;
		free(data);
		free(wirebuf);
		return NULL;
	}
	if (s->role == 1) {
		l = vtr_listen(s->e, PORT, VTR_STREAM, 0);
		while ((s->sock = vtr_accept(s->e, l)) == -EAGAIN)
			pump(s, wirebuf, wirecap, 100);
	} else {
		s->sock = vtr_connect(s->e, 2, PORT, VTR_STREAM, 0);
		while (!(vtr_poll(s->e, s->sock) & VTR_EV_WRITABLE))
			pump(s, wirebuf, wirecap, 100);
	}
	if (s->mode == 0 && s->role == 0) {
		while (done < s->bytes) {
			ssize_t n = vtr_send(s->e, s->sock, data, CHUNK, 0);

			if (n > 0)
				done += (uint64_t)n;
			else
				pump(s, wirebuf, wirecap, 10);
		}
		/* wait until the reader has everything (its last credit update says so) */
		for (struct vtr_sock_info info; vtr_sock_info(s->e, s->sock, &info) == 0 && info.peer_fwd_cnt != (uint32_t)s->bytes;)
			pump(s, wirebuf, wirecap, 10);
	} else if (s->mode == 0) {
		while (done < s->bytes) {
			ssize_t n = vtr_recv(s->e, s->sock, data, CHUNK, 0, NULL);

			if (n > 0)
				done += (uint64_t)n;
			else
				pump(s, wirebuf, wirecap, 10);
		}
	} else {
		for (uint64_t i = 0; i < s->rtts; i++) {
			double t0 = now_ns();
			char b = 'x';

			if (s->role == 0)
				vtr_send(s->e, s->sock, &b, 1, 0);
			while (vtr_recv(s->e, s->sock, &b, 1, 0, NULL) != 1)
				pump(s, wirebuf, wirecap, 10);
			if (s->role == 1)
				vtr_send(s->e, s->sock, &b, 1, 0);
			else
				s->samples[i] = now_ns() - t0;
		}
	}
	vsm_tap_flush(vtr_engine_tap(s->e));
	free(data);
	free(wirebuf);
	return NULL;
}

static void *bare_thread(void *arg)
{
	struct side *s = arg;
	uint8_t *data = calloc(1, CHUNK);
	uint64_t done = 0;

	if (!data)
		return NULL;
	if (s->mode == 0) {
		while (done < s->bytes) {
			ssize_t n = s->role == 0 ? write(s->fd, data, CHUNK) : read(s->fd, data, CHUNK);

			if (n <= 0)
				break;
			done += (uint64_t)n;
		}
	} else {
		for (uint64_t i = 0; i < s->rtts; i++) {
			double t0 = now_ns();
			char b = 'x';

			if (s->role == 0 && write(s->fd, &b, 1) != 1)
				break;
			if (read(s->fd, &b, 1) != 1)
				break;
			if (s->role == 1 && write(s->fd, &b, 1) != 1)
				break;
			if (s->role == 0)
				s->samples[i] = now_ns() - t0;
		}
	}
	free(data);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs one measurement; returns seconds (stream) or the median ns (rtt). */
static double run(bool engine, int mode, const char *tap, uint64_t bytes, uint64_t rtts)
{
	struct side s[2];
	pthread_t t[2];
	int fds[2];
	double t0, result;
	int sndbuf = 4 << 20;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) < 0) {
		perror("socketpair");
		exit(1);
	}
	for (int i = 0; i < 2; i++) {
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		memset(&s[i], 0, sizeof(s[i]));
		s[i].fd = fds[i];
		s[i].role = i;
		s[i].mode = mode;
		s[i].bytes = bytes;
		s[i].rtts = rtts;
		s[i].tap = tap;
		s[i].samples = calloc(rtts ? rtts : 1, sizeof(double));
	}
	t0 = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, engine ? engine_thread : bare_thread, &s[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	result = (now_ns() - t0) / 1e9;
	if (mode == 1) {
		qsort(s[0].samples, rtts, sizeof(double), cmp_double);
		result = s[0].samples[rtts / 2];
	}
	for (int i = 0; i < 2; i++) {
		if (s[i].e)
			vtr_engine_free(s[i].e);
		free(s[i].samples);
		close(fds[i]);
	}
	return result;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	const char *tap = NULL;
	uint64_t mib = 1024, rtts = 20000;
	int reps = 5;
	double bare[16], eng[16], bare_rtt[16], eng_rtt[16], b, e;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--tap") == 0)
			tap = strcmp(argv[i + 1], "none") ? argv[i + 1] : NULL;
		else if (strcmp(argv[i], "--mib") == 0)
			mib = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--rtt") == 0)
			rtts = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--reps") == 0)
			reps = atoi(argv[i + 1]);
	}
	if (reps < 1 || reps > 16)
		reps = 5;
	/* Alternate bare and engine runs so that noise from the machine hits both alike; keep medians. */
	for (int r = 0; r < reps; r++) {
		bare[r] = run(false, 0, NULL, mib << 20, 0);
		eng[r] = run(true, 0, tap, mib << 20, 0);
		bare_rtt[r] = run(false, 1, NULL, 0, rtts);
		eng_rtt[r] = run(true, 1, tap, 0, rtts);
	}
	b = median(bare, reps);
	e = median(eng, reps);
	printf("tap=%s stream_mib=%llu reps=%d bare_gbps=%.2f engine_gbps=%.2f ratio=%.3f rtt_bare_us=%.2f rtt_engine_us=%.2f\n",
	       tap ? tap : "none", (unsigned long long)mib, reps, mib * 8.0 / 1024 / b, mib * 8.0 / 1024 / e, b / e,
	       median(bare_rtt, reps) / 1000, median(eng_rtt, reps) / 1000);
	return 0;
}
