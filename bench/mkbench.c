/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkbench.c: writes a large LINKTYPE_VSOCK capture with a realistic mix of vsock traffic, for benchmarks. */
/*
 * Usage: mkbench PACKETS OUTPUT.pcap [SEED [LIVE [GAP_US]]]
 * About LIVE (default 500) connections are open at any time, between guests (CIDs 3..34) and the host (CID 2).
 * Each goes REQUEST, RESPONSE, a run of RW packets (70% up to 256 bytes, 29% up to 4 KiB, 1% up to
 * 64 KiB), CREDIT_UPDATEs as the reader consumes, an occasional CREDIT_REQUEST, then SHUTDOWN and RST;
 * one connection in 10 is SEQPACKET (EOM/EOR), one connect in 20 is refused with an RST.
 * Timestamps advance 2 to 40 microseconds a packet (GAP_US: 1 to 2 * GAP_US - 1). The output is the same
 * for the same arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIVE 500

struct conn {
	uint64_t guest_cid;
	uint32_t guest_port, host_port;
	uint16_t type;
	int phase;		/* 0 request, 1 response, 2 data, 3 shutdown, 4 rst */
	uint32_t tx[2], fwd[2];	/* per side: bytes sent, bytes consumed by that side */
	int remaining;		/* data packets left */
	bool refused;
};

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic and fast */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void put16(uint8_t *p, uint32_t v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xff; }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (v >> (8 * i)) & 0xff; }

static const uint16_t mon_of_op[] = { 0, 1, 1, 2, 2, 4, 3, 3 };

static void emit(FILE *out, uint64_t t_us, const struct conn *c, int from_guest, uint16_t op, uint32_t flags,
		 uint32_t len)
{
	static uint8_t frame[76 + 65536];
	uint8_t rec[16];
	uint64_t scid = from_guest ? c->guest_cid : 2, dcid = from_guest ? 2 : c->guest_cid;
	uint32_t sport = from_guest ? c->guest_port : c->host_port, dport = from_guest ? c->host_port : c->guest_port;
	int side = from_guest ? 0 : 1;

	put64(frame, scid);
	put64(frame + 8, dcid);
	put32(frame + 16, sport);
	put32(frame + 20, dport);
	put16(frame + 24, mon_of_op[op]);
	put16(frame + 26, 2);
	put16(frame + 28, 44);
	put16(frame + 30, 0);
	memcpy(frame + 32, frame, 24);
	put32(frame + 56, len);
	put16(frame + 60, c->type);
	put16(frame + 62, op);
	put32(frame + 64, flags);
	put32(frame + 68, op == 3 && c->refused ? 0 : 262144);
	put32(frame + 72, op == 3 && c->refused ? 0 : c->fwd[side]);
	for (uint32_t i = 0; i < len; i += 64)
		frame[76 + i] = (uint8_t)(t_us + i);
	put32(rec, (uint32_t)(1795263866 + t_us / 1000000));
	put32(rec + 4, (uint32_t)(t_us % 1000000));
	put32(rec + 8, 76 + len);
	put32(rec + 12, 76 + len);
	fwrite(rec, 1, 16, out);
	fwrite(frame, 1, 76 + len, out);
}

static void new_conn(struct conn *c, uint32_t *next_port)
{
	memset(c, 0, sizeof(*c));
	c->guest_cid = 3 + rnd() % 32;
	c->guest_port = (*next_port)++;
	c->host_port = 1024 + rnd() % 8;
	c->type = rnd() % 10 == 0 ? 2 : 1;
	c->remaining = 4 + (int)(rnd() % 60);
	c->refused = rnd() % 20 == 0;
}

static uint32_t data_len(void)
{
	uint32_t r = rnd() % 100;

	if (r < 70)
		return 1 + rnd() % 256;
	if (r < 99)
		return 257 + rnd() % 3840;
	return 4097 + rnd() % 61440;
}

int main(int argc, char **argv)
{
	struct conn *conns;
	uint8_t hdr[24];
	uint64_t n, target, t_us = 0, gap_us;
	unsigned live;
	uint32_t next_port = 100000;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: mkbench PACKETS OUTPUT.pcap [SEED [LIVE [GAP_US]]]\n");
		return 2;
	}
	target = strtoull(argv[1], NULL, 10);
	rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) | 1 : 0x9e3779b97f4a7c15ull;
	live = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : DEFAULT_LIVE;
	gap_us = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
	conns = calloc(live ? live : 1, sizeof(*conns));
	if (!live || !conns) {
		fprintf(stderr, "mkbench: LIVE must be at least 1\n");
		return 2;
	}
	out = fopen(argv[2], "wb");
	if (!out) {
		fprintf(stderr, "mkbench: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	put32(hdr, 0xa1b2c3d4);
	put16(hdr + 4, 2);
	put16(hdr + 6, 4);
	memset(hdr + 8, 0, 8);
	put32(hdr + 16, 262144);
	put32(hdr + 20, 271);
	fwrite(hdr, 1, sizeof(hdr), out);
	for (unsigned i = 0; i < live; i++)
		new_conn(&conns[i], &next_port);
	for (n = 0; n < target; n++) {
		struct conn *c = &conns[rnd() % live];

		t_us += gap_us ? 1 + rnd() % (2 * gap_us - 1) : 2 + rnd() % 39;
		switch (c->phase) {
		case 0:
			emit(out, t_us, c, 1, 1, 0, 0);
			c->phase = c->refused ? 4 : 1;
			break;
		case 1:
			emit(out, t_us, c, 0, 2, 0, 0);
			c->phase = 2;
			break;
		case 2: {
			int from_guest = rnd() % 3 != 0, side = !from_guest;
			uint32_t r = rnd() % 10;

			if (r < 6) {
				uint32_t len = data_len();
				uint32_t flags = c->type == 2 ? (rnd() % 2 ? 3 : 0) : 0;

				emit(out, t_us, c, from_guest, 5, flags, len);
				c->tx[from_guest ? 0 : 1] += len;
			} else if (r < 9) {
				/* the receiver of the other side's data consumes all of it and says so */
				c->fwd[side] = c->tx[!side];
				emit(out, t_us, c, !from_guest, 6, 0, 0);
			} else {
				emit(out, t_us, c, from_guest, 7, 0, 0);
			}
			if (--c->remaining <= 0)
				c->phase = 3;
			break;
		}
		case 3:
			emit(out, t_us, c, rnd() % 2, 4, 3, 0);
			c->phase = 4;
			break;
		default:
			emit(out, t_us, c, c->refused ? 0 : rnd() % 2, 3, 0, 0);
			new_conn(c, &next_port);
			break;
		}
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "mkbench: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	return 0;
}
