/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stream.c: the lab's data streams: a header naming the sender, a seeded body and its checksum, made and checked as they flow. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lab.h"

/* ---- streams ---- */

uint64_t txs_total(const struct txs *t)
{
	return STREAM_HDR_LEN + t->body + STREAM_TRL_LEN;
}

bool txs_done(const struct txs *t)
{
	return t->off == txs_total(t);
}

/* The checksum goes at the end, so the body is made once up front to learn it (scratch: BUF_LEN bytes). */
void txs_init(struct txs *t, enum workload wl, uint64_t seed, uint64_t body, uint8_t *scratch)
{
	*t = (struct txs){ .seed = seed, .body = body, .fnv = FNV_OFFSET };
	vsm_put_le32(t->hdr, STREAM_MAGIC);
	vsm_put_le32(t->hdr + 4, (uint32_t)wl);
	vsm_put_le64(t->hdr + 8, body);
	vsm_put_le64(t->hdr + 16, seed);
	/* the sender's address follows once it has one (txs_sender) */
	for (uint64_t off = 0; off < body; off += BUF_LEN) {
		size_t n = body - off < BUF_LEN ? (size_t)(body - off) : BUF_LEN;

		gen_bytes(seed, off, scratch, n);
		t->fnv = fnv1a(t->fnv, scratch, n);
	}
}

void txs_sender(struct txs *t, uint64_t cid, uint32_t port)
{
	vsm_put_le32(t->hdr + 24, (uint32_t)cid);
	vsm_put_le32(t->hdr + 28, port);
}

/* The next bytes to send, at most n; returns how many. */
size_t txs_fill(const struct txs *t, uint8_t *buf, size_t n)
{
	uint64_t total = txs_total(t), off = t->off;
	size_t done = 0;

	if (n > total - off)
		n = (size_t)(total - off);
	while (done < n) {
		uint64_t pos = off + done;
		size_t k;

		if (pos < STREAM_HDR_LEN) {
			k = STREAM_HDR_LEN - pos < n - done ? (size_t)(STREAM_HDR_LEN - pos) : n - done;
			memcpy(buf + done, t->hdr + pos, k);
		} else if (pos < STREAM_HDR_LEN + t->body) {
			uint64_t left = STREAM_HDR_LEN + t->body - pos;

			k = left < n - done ? (size_t)left : n - done;
			gen_bytes(t->seed, pos - STREAM_HDR_LEN, buf + done, k);
		} else {
			uint8_t trl[STREAM_TRL_LEN];
			uint64_t at = pos - STREAM_HDR_LEN - t->body;

			vsm_put_le64(trl, t->fnv);
			k = STREAM_TRL_LEN - at < n - done ? (size_t)(STREAM_TRL_LEN - at) : n - done;
			memcpy(buf + done, trl + at, k);
		}
		done += k;
	}
	return done;
}

static uint64_t rxs_total(const struct rxs *r)
{
	return r->off < STREAM_HDR_LEN ? UINT64_MAX : STREAM_HDR_LEN + r->body + STREAM_TRL_LEN;
}

static bool rxs_complete(const struct rxs *r)
{
	return r->off >= STREAM_HDR_LEN && r->off == rxs_total(r);
}

/*
 * Checks n more bytes of a stream: the header's magic, every body byte against what its seed
 * makes, the checksum, and nothing after it. Returns 0, or -1 with the reason in err.
 * scratch holds at least n bytes.
 */
int rxs_feed(struct rxs *r, const uint8_t *p, size_t n, uint8_t *scratch, char *err, size_t errlen)
{
	while (n) {
		size_t k;

		if (r->off < STREAM_HDR_LEN) {
			k = STREAM_HDR_LEN - r->off < n ? (size_t)(STREAM_HDR_LEN - r->off) : n;
			memcpy(r->hdr + r->off, p, k);
			r->off += k;
			if (r->off == STREAM_HDR_LEN) {
				if (vsm_le32(r->hdr) != STREAM_MAGIC) {
					snprintf(err, errlen, "the stream does not start with the lab's header (0x%08" PRIx32 ")",
						 vsm_le32(r->hdr));
					return -1;
				}
				r->kind = vsm_le32(r->hdr + 4);
				r->body = vsm_le64(r->hdr + 8);
				r->seed = vsm_le64(r->hdr + 16);
				r->cid = vsm_le32(r->hdr + 24);
				r->port = vsm_le32(r->hdr + 28);
				r->fnv = FNV_OFFSET;
				if (r->body > STREAM_MAX_BODY) {
					snprintf(err, errlen, "the header announces %" PRIu64 " bytes", r->body);
					return -1;
				}
			}
		} else if (r->off < STREAM_HDR_LEN + r->body) {
			uint64_t at = r->off - STREAM_HDR_LEN, left = r->body - at;

			k = left < n ? (size_t)left : n;
			gen_bytes(r->seed, at, scratch, k);
			if (memcmp(p, scratch, k)) {
				size_t i = 0;

				while (p[i] == scratch[i])
					i++;
				snprintf(err, errlen, "byte %" PRIu64 " of %" PRIu64 " differs: 0x%02x, expected 0x%02x",
					 at + i, r->body, p[i], scratch[i]);
				return -1;
			}
			r->fnv = fnv1a(r->fnv, p, k);
			r->off += k;
		} else if (r->off < rxs_total(r)) {
			uint64_t at = r->off - STREAM_HDR_LEN - r->body;

			k = STREAM_TRL_LEN - at < n ? (size_t)(STREAM_TRL_LEN - at) : n;
			memcpy(r->trl + at, p, k);
			r->off += k;
			if (rxs_complete(r) && vsm_le64(r->trl) != r->fnv) {
				snprintf(err, errlen, "checksum 0x%016" PRIx64 ", computed 0x%016" PRIx64,
					 vsm_le64(r->trl), r->fnv);
				return -1;
			}
		} else {
			snprintf(err, errlen, "%zu bytes after the end of the stream", n);
			return -1;
		}
		p += k;
		n -= k;
	}
	return 0;
}

int rxs_eof(const struct rxs *r, char *err, size_t errlen)
{
	if (r->off < STREAM_HDR_LEN)
		snprintf(err, errlen, "end of stream after %" PRIu64 " bytes, inside the header", r->off);
	else if (!rxs_complete(r))
		snprintf(err, errlen, "end of stream after %" PRIu64 " of %" PRIu64 " bytes", r->off, rxs_total(r));
	else
		return 0;
	return -1;
}
