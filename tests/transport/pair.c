/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pair.c: two engines over an in-memory wire: FIFO delivery, injectable clock, a log of every packet. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsockmon/wire.h>

#include "pair.h"

static void die(const char *msg)
{
	fprintf(stderr, "pair: %s\n", msg);
	abort();
}

static int xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct pair_side *sd = ctx;
	struct pair *p = sd->p;
	struct pair_queue *q = &p->q[!sd->i];
	uint8_t *copy;

	if (p->wire_full[sd->i])
		return -EAGAIN;
	if (p->record) {
		if (p->nlog == PAIR_MAX_FRAMES)
			die("log full");
		p->log[p->nlog].from = sd->i;
		vsm_decode_virtio_hdr(hdr, &p->log[p->nlog].h);
		p->nlog++;
	}
	if (p->drop_to[!sd->i])
		return 0;
	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64;
		uint8_t **pkts = malloc(cap * sizeof(*pkts));
		size_t *lens = malloc(cap * sizeof(*lens));

		if (!pkts || !lens)
			die("out of memory");
		for (size_t k = 0; k < q->count; k++) {
			pkts[k] = q->pkts[(q->head + k) % q->cap];
			lens[k] = q->lens[(q->head + k) % q->cap];
		}
		free(q->pkts);
		free(q->lens);
		q->pkts = pkts;
		q->lens = lens;
		q->cap = cap;
		q->head = 0;
	}
	copy = malloc(VSM_VIRTIO_HDR_LEN + len);
	if (!copy)
		die("out of memory");
	memcpy(copy, hdr, VSM_VIRTIO_HDR_LEN);
	if (len)
		memcpy(copy + VSM_VIRTIO_HDR_LEN, payload, len);
	q->pkts[(q->head + q->count) % q->cap] = copy;
	q->lens[(q->head + q->count) % q->cap] = VSM_VIRTIO_HDR_LEN + len;
	q->count++;
	return 0;
}

static void clock_now(void *ctx, struct timespec *ts)
{
	*ts = ((struct pair_side *)ctx)->p->now;
}

static void on_event(void *ctx, int sock, unsigned events)
{
	struct pair_side *sd = ctx;

	if (sock >= 0 && sock < 64)
		sd->p->events[sd->i][sock] |= events;
}

static int on_admit(void *ctx, int listener, int sock, uint32_t local_port, uint64_t peer_cid, uint32_t peer_port)
{
	struct pair_side *sd = ctx;

	if (!sd->p->admit)
		return 0;
	return sd->p->admit(sd->p, sd->i, local_port, peer_cid, peer_port);
}

void pair_init(struct pair *p, const struct vtr_config *cfg_a, const struct vtr_config *cfg_b)
{
	static const struct vtr_ops ops = { .xmit = xmit, .now = clock_now, .event = on_event, .admit = on_admit };
	const struct vtr_config *cfgs[2] = { cfg_a, cfg_b };
	static const uint64_t cids[2] = { 3, 2 };

	memset(p, 0, sizeof(*p));
	p->now.tv_sec = 1000;
	p->log = calloc(PAIR_MAX_FRAMES, sizeof(*p->log));
	p->record = true;
	if (!p->log)
		die("out of memory");
	for (int i = 0; i < 2; i++) {
		struct vtr_config cfg = cfgs[i] ? *cfgs[i] : (struct vtr_config){ 0 };
		struct pair_side *sd = &p->side[i];

		sd->p = p;
		sd->i = i;
		cfg.cid = cids[i];
		if (vtr_engine_new(&cfg, &ops, sd, &p->e[i]) < 0)
			die("engine");
	}
}

void pair_free(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		struct pair_queue *q = &p->q[i];

		for (size_t k = 0; k < q->count; k++)
			free(q->pkts[(q->head + k) % q->cap]);
		free(q->pkts);
		free(q->lens);
	}
	for (int i = 0; i < 2; i++)
		vtr_engine_free(p->e[i]);
	free(p->log);
}

size_t pair_step(struct pair *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		bool any = false;

		for (int i = 0; i < 2 && done < n; i++) {
			struct pair_queue *q = &p->q[i];
			uint8_t *pkt;
			size_t len;

			if (!q->count)
				continue;
			pkt = q->pkts[q->head];
			len = q->lens[q->head];
			q->head = (q->head + 1) % q->cap;
			q->count--;
			vtr_input(p->e[i], pkt, len);
			free(pkt);
			done++;
			any = true;
		}
		if (!any)
			break;
	}
	return done;
}

size_t pair_run(struct pair *p)
{
	size_t total = 0, n;

	while ((n = pair_step(p, 1000)) > 0) {
		total += n;
		if (total > 50000000)
			die("the wire never went quiet");
	}
	return total;
}

void pair_advance_ms(struct pair *p, uint64_t ms)
{
	p->now.tv_sec += (time_t)(ms / 1000);
	p->now.tv_nsec += (long)(ms % 1000) * 1000000;
	if (p->now.tv_nsec >= 1000000000) {
		p->now.tv_sec++;
		p->now.tv_nsec -= 1000000000;
	}
	vtr_tick(p->e[0]);
	vtr_tick(p->e[1]);
}

size_t pair_count(const struct pair *p, size_t start, int from, uint16_t op)
{
	size_t n = 0;

	for (size_t k = start; k < p->nlog; k++)
		if ((from < 0 || p->log[k].from == from) && p->log[k].h.op == op)
			n++;
	return n;
}

int pair_inject(struct pair *p, int i, const uint8_t *pkt, size_t len)
{
	return vtr_input(p->e[i], pkt, len);
}

size_t pair_build(uint8_t *buf, uint64_t src_cid, uint32_t src_port, uint64_t dst_cid, uint32_t dst_port,
		  uint16_t type, uint16_t op, uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt,
		  const uint8_t *payload, uint32_t len)
{
	vsm_encode_virtio_hdr(&(struct vsm_virtio_hdr){
		.src_cid = src_cid, .dst_cid = dst_cid, .src_port = src_port, .dst_port = dst_port,
		.len = len, .type = type, .op = op, .flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt,
	}, buf);
	if (len)
		memcpy(buf + VSM_VIRTIO_HDR_LEN, payload, len);
	return VSM_VIRTIO_HDR_LEN + len;
}

void pair_connect(struct pair *p, uint32_t port, int type, int *ret_client, int *ret_server)
{
	int l = vtr_listen(p->e[1], port, type, 0), c, s;

	if (l < 0)
		die("listen");
	c = vtr_connect(p->e[0], 2, port, type, 0);
	if (c < 0)
		die("connect");
	pair_run(p);
	s = vtr_accept(p->e[1], l);
	if (s < 0)
		die("accept");
	*ret_client = c;
	*ret_server = s;
}
