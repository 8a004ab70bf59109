/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tap-driver.c: feeds known packets through a vtr tap with an interface sink and a pcap sink, for tap-iface.sh. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vsockmon/wire.h>
#include <vsockmon/tap.h>

/*
 * Usage: tap-driver IFACE PCAP COUNT
 * Adds an interface sink on IFACE and a pcap sink writing PCAP, prints "tap-driver: IFACE ready"
 * on stderr, waits for SIGUSR1 (the capture is listening), sends COUNT packets through the tap,
 * prints one "sink I: frames F bytes B dropped D error E" line per sink on stdout, waits for
 * SIGUSR1 or SIGTERM again (the capture got them), and exits: the TUN interface goes with it.
 * Exit: 0 done, 1 failure, 2 usage.
 */

static void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Packet i: every op in turn, RW payloads from 0 to 64 KiB, both socket types. */
static uint32_t make_packet(uint32_t i, uint8_t *hdr, uint8_t *payload)
{
	static const uint32_t sizes[] = { 0, 1, 17, 1000, 4096, 32768, 65535, 65536 };
	uint16_t op = (uint16_t)(VSM_OP_REQUEST + i % VSM_OP_MAX);
	uint16_t type = i % 3 == 2 ? VSM_TYPE_SEQPACKET : VSM_TYPE_STREAM;
	uint32_t len = op == VSM_OP_RW ? sizes[(i / VSM_OP_MAX) % (sizeof(sizes) / sizeof(sizes[0]))] : 0;
	uint32_t flags = 0;

	if (op == VSM_OP_SHUTDOWN)
		flags = VSM_SHUTDOWN_RCV | VSM_SHUTDOWN_SEND;
	else if (op == VSM_OP_RW && type == VSM_TYPE_SEQPACKET)
		flags = VSM_SEQ_EOM;
	put_le64(hdr + 0, i & 1 ? VSM_CID_HOST : 3);
	put_le64(hdr + 8, i & 1 ? 3 : VSM_CID_HOST);
	put_le32(hdr + 16, i & 1 ? 1234 : 40000 + i);
	put_le32(hdr + 20, i & 1 ? 40000 + i : 1234);
	put_le32(hdr + 24, len);
	put_le16(hdr + 28, type);
	put_le16(hdr + 30, op);
	put_le32(hdr + 32, flags);
	put_le32(hdr + 36, 262144);
	put_le32(hdr + 40, i * 4096);
	for (uint32_t k = 0; k < len; k++)
		payload[k] = (uint8_t)(k * 13 + k / 509 + i);
	return len;
}

int main(int argc, char **argv)
{
	static uint8_t payload[65536];
	uint8_t hdr[VSM_VIRTIO_HDR_LEN];
	struct vsm_tap *tap;
	char err[512];
	sigset_t set;
	unsigned long count;
	int sig, ret, status = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: tap-driver IFACE PCAP COUNT\n");
		return 2;
	}
	count = strtoul(argv[3], NULL, 10);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before anything is announced, so a SIGUSR1 that comes early waits for sigwait(). */
	sigprocmask(SIG_BLOCK, &set, NULL);

	ret = vsm_tap_new(&tap);
	if (ret < 0) {
		fprintf(stderr, "tap-driver: %s\n", strerror(-ret));
		return 1;
	}
	ret = vsm_tap_add_iface(tap, argv[1], err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tap-driver: %s\n", err);
		goto out;
	}
	ret = vsm_tap_add_pcap(tap, argv[2], err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "tap-driver: %s\n", err);
		goto out;
	}
	fprintf(stderr, "tap-driver: %s ready\n", argv[1]);
	if (sigwait(&set, &sig) != 0 || sig != SIGUSR1)
		goto out;

	for (uint32_t i = 0; i < count; i++) {
		uint32_t len = make_packet(i, hdr, payload);
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		vsm_tap_packet(tap, &ts, hdr, payload, len);
	}
	ret = vsm_tap_flush(tap);
	if (ret < 0) {
		fprintf(stderr, "tap-driver: flush: %s\n", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < vsm_tap_sink_count(tap); i++) {
		struct vsm_tap_sink_stats st;

		vsm_tap_sink_stats(tap, i, &st);
		printf("sink %zu: frames %llu bytes %llu dropped %llu error %d unobserved %llu\n", i,
		       (unsigned long long)st.frames, (unsigned long long)st.bytes, (unsigned long long)st.dropped,
		       st.error, (unsigned long long)st.unobserved);
	}
	fflush(stdout);
	fprintf(stderr, "tap-driver: sent %lu packets\n", count);
	/* Keep the interface until the capture has what it needs. */
	sigwait(&set, &sig);
	status = 0;
out:
	vsm_tap_free(tap);
	return status;
}
