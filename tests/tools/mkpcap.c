/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mkpcap.c: builds a LINKTYPE_VSOCK pcap from a reviewable text description, for golden tests. */
/*
 * Input, one packet a line ('#' starts a comment):
 *   TIME SRC_CID:SRC_PORT > DST_CID:DST_PORT OP [key=value ...]
 * TIME is seconds (decimal). OP is a virtio op name (request, response, rst, shutdown, rw,
 * credit_update, credit_request) or a number. Keys (all optional):
 *   type=stream|seqpacket|N  flags=N  len=N (virtio len; default: payload)  payload=N (bytes, pattern
 *   0,1,2..) text="..." (payload bytes, no spaces) hex=0a1b... (payload bytes in hex) buf_alloc=N
 *   fwd_cnt=N mon_op=N transport=N
 *   tp_len=N reserved=N (byte 31) vcid=N (virtio src_cid, to disagree with the monitor's)
 *   caplen=N (bytes kept in the capture) snaplen=N (first line only: the file's snaplen)
 * This writer is independent of libvsockmon's, so the golden tests do not check the library with itself.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put16(uint8_t *p, uint32_t v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (v >> (8 * i)) & 0xff; }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (v >> (8 * i)) & 0xff; }

static const char *const ops[] = { "invalid", "request", "response", "rst", "shutdown", "rw",
				   "credit_update", "credit_request" };
static const uint16_t mon_of_op[] = { 0, 1, 1, 2, 2, 4, 3, 3 };

static int die(int lineno, const char *msg)
{
	fprintf(stderr, "mkpcap: line %d: %s\n", lineno, msg);
	exit(2);
}

int main(int argc, char **argv)
{
	FILE *in, *out;
	char line[16384];
	int lineno = 0;
	uint8_t hdr[24];
	uint32_t snaplen = 262144;
	bool header_done = false;

	if (argc != 3) {
		fprintf(stderr, "usage: mkpcap INPUT.pkt OUTPUT.pcap\n");
		return 2;
	}
	in = fopen(argv[1], "r");
	out = fopen(argv[2], "wb");
	if (!in || !out) {
		fprintf(stderr, "mkpcap: %s\n", strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		char *hash = strchr(line, '#'), *tok, *save;
		double t;
		unsigned long long scid, dcid;
		unsigned long sport, dport;
		char opname[64];
		uint64_t vcid;
		uint32_t op, type = 1, flags = 0, payload = 0, buf_alloc = 0, fwd_cnt = 0, mon_op, transport = 2;
		uint32_t tp_len = 44, reserved = 0, caplen = 0, len = 0;
		int has_len = 0, has_caplen = 0, consumed = 0;
		const char *text = NULL, *hex = NULL;
		static uint8_t frame[1 << 20];
		uint8_t rec[16];
		uint32_t total;

		lineno++;
		if (hash)
			*hash = '\0';
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (sscanf(line, "%lf %llu:%lu > %llu:%lu %63s %n", &t, &scid, &sport, &dcid, &dport, opname,
			   &consumed) < 6)
			die(lineno, "expected: TIME CID:PORT > CID:PORT OP [key=value...]");
		op = 99;
		for (uint32_t i = 0; i < 8; i++)
			if (strcmp(opname, ops[i]) == 0)
				op = i;
		if (op == 99)
			op = (uint32_t)strtoul(opname, NULL, 0);
		mon_op = op < 8 ? mon_of_op[op] : 0;
		vcid = scid;
		for (tok = strtok_r(line + consumed, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
			char *eq = strchr(tok, '=');
			unsigned long long v;

			if (!eq)
				die(lineno, "expected key=value");
			*eq++ = '\0';
			if (strcmp(tok, "text") == 0) {
				text = eq;
				payload = (uint32_t)strlen(eq);
				continue;
			}
			if (strcmp(tok, "hex") == 0) {
				if (strlen(eq) % 2 || strspn(eq, "0123456789abcdefABCDEF") != strlen(eq))
					die(lineno, "hex= takes an even number of hex digits");
				hex = eq;
				payload = (uint32_t)strlen(eq) / 2;
				continue;
			}
			if (strcmp(tok, "type") == 0 && strcmp(eq, "stream") == 0) { type = 1; continue; }
			if (strcmp(tok, "type") == 0 && strcmp(eq, "seqpacket") == 0) { type = 2; continue; }
			v = strtoull(eq, NULL, 0);
			if (!strcmp(tok, "type")) type = (uint32_t)v;
			else if (!strcmp(tok, "flags")) flags = (uint32_t)v;
			else if (!strcmp(tok, "len")) { len = (uint32_t)v; has_len = 1; }
			else if (!strcmp(tok, "payload")) payload = (uint32_t)v;
			else if (!strcmp(tok, "buf_alloc")) buf_alloc = (uint32_t)v;
			else if (!strcmp(tok, "fwd_cnt")) fwd_cnt = (uint32_t)v;
			else if (!strcmp(tok, "mon_op")) mon_op = (uint32_t)v;
			else if (!strcmp(tok, "transport")) transport = (uint32_t)v;
			else if (!strcmp(tok, "tp_len")) tp_len = (uint32_t)v;
			else if (!strcmp(tok, "reserved")) reserved = (uint32_t)v;
			else if (!strcmp(tok, "vcid")) vcid = v;
			else if (!strcmp(tok, "caplen")) { caplen = (uint32_t)v; has_caplen = 1; }
			else if (!strcmp(tok, "snaplen")) snaplen = (uint32_t)v;
			else die(lineno, "unknown key");
		}
		if (!has_len)
			len = payload;
		if (!header_done) {
			put32(hdr, 0xa1b2c3d4);
			put16(hdr + 4, 2);
			put16(hdr + 6, 4);
			put32(hdr + 8, 0);
			put32(hdr + 12, 0);
			put32(hdr + 16, snaplen);
			put32(hdr + 20, 271);
			fwrite(hdr, 1, sizeof(hdr), out);
			header_done = true;
		}
		total = 32 + tp_len + payload;
		if (total > sizeof(frame))
			die(lineno, "frame too large");
		memset(frame, 0, total);
		put64(frame, scid);
		put64(frame + 8, dcid);
		put32(frame + 16, (uint32_t)sport);
		put32(frame + 20, (uint32_t)dport);
		put16(frame + 24, mon_op);
		put16(frame + 26, transport);
		put16(frame + 28, tp_len);
		frame[31] = (uint8_t)reserved;
		if (tp_len >= 44) {
			uint8_t *v = frame + 32;

			put64(v, vcid);
			put64(v + 8, dcid);
			put32(v + 16, (uint32_t)sport);
			put32(v + 20, (uint32_t)dport);
			put32(v + 24, len);
			put16(v + 28, type);
			put16(v + 30, op);
			put32(v + 32, flags);
			put32(v + 36, buf_alloc);
			put32(v + 40, fwd_cnt);
		}
		for (uint32_t i = 0; i < payload; i++) {
			unsigned b = (uint8_t)i;

			if (hex)
				sscanf(hex + 2 * i, "%2x", &b);
			frame[32 + tp_len + i] = text ? (uint8_t)text[i] : (uint8_t)b;
		}
		if (!has_caplen || caplen > total)
			caplen = total;
		put32(rec, (uint32_t)t);
		put32(rec + 4, (uint32_t)((t - (uint32_t)t) * 1e6 + 0.5));
		put32(rec + 8, caplen);
		put32(rec + 12, total);
		fwrite(rec, 1, sizeof(rec), out);
		fwrite(frame, 1, caplen, out);
	}
	if (!header_done)
		die(lineno, "no packets");
	if (fclose(out) != 0) {
		fprintf(stderr, "mkpcap: %s\n", strerror(errno));
		return 1;
	}
	fclose(in);
	return 0;
}
