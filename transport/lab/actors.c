/* SPDX-License-Identifier: GPL-2.0-or-later */
/* actors.c: the workload's actors: their life cycle, the steps they share (connect, credit, send and check a stream) and each kind's step. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab.h"

const char *const workload_names[W_COUNT] = {
	[W_ECHO] = "echo", [W_BULK_UP] = "bulk-up", [W_BULK_DOWN] = "bulk-down",
	[W_SEQPACKET] = "seqpacket", [W_SLOW] = "slow-reader", [W_HALFCLOSE] = "half-close",
	[W_REFUSED] = "refused", [W_UNKNOWN_CID] = "unknown-cid",
};

/* ---- actors: life cycle ---- */

void actor_wake(struct actor *a)
{
	struct lab *lab = a->lab;

	if (a->queued || a->done)
		return;
	a->queued = true;
	a->next_ready = NULL;
	if (lab->ready_tail)
		lab->ready_tail->next_ready = a;
	else
		lab->ready_head = a;
	lab->ready_tail = a;
}

struct actor *actor_new(struct lab *lab, struct node *n, enum actor_kind kind, enum workload wl)
{
	struct actor *a = calloc(1, sizeof(*a));

	if (!a) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		exit(EXIT_CHECKS);
	}
	a->lab = lab;
	a->node = n;
	a->kind = kind;
	a->wl = wl;
	a->sock = -1;
	a->wake_at = -1;
	if (kind != A_LISTENER) {
		if (lab->actors_tail)
			lab->actors_tail->next = a;
		else
			lab->actors = a;
		lab->actors_tail = a;
		lab->live++;
		lab->wl[wl].started++;
	}
	return a;
}

void actor_free(struct actor *a)
{
	free(a->buf);
	free(a->msgs);
	free(a);
}

void actor_own(struct actor *a, int sock)
{
	a->sock = sock;
	if (sock >= 0 && (uint32_t)sock < a->node->max_socks)
		a->node->owner[sock] = a;
}

static void actor_close(struct actor *a)
{
	if (a->sock < 0)
		return;
	if ((uint32_t)a->sock < a->node->max_socks)
		a->node->owner[a->sock] = NULL;
	vtr_close(a->node->e, a->sock);
	a->sock = -1;
}

static void actor_finish(struct actor *a, bool ok)
{
	struct lab *lab = a->lab;

	actor_close(a);
	a->done = true;
	a->wake_at = -1;
	lab->live--;
	if (ok) {
		lab->wl[a->wl].passed++;
		lab->wl[a->wl].bytes += a->rx.body;
	} else {
		lab->wl[a->wl].failed++;
	}
}

/* A check failed: say what and where, abort the connection with an RST, and end the actor. */
void actor_fail(struct actor *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: round %" PRIu64 ": %s: ", PROG, a->lab->rounds_done + 1, a->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (a->sock >= 0)
		vtr_reset(a->node->e, a->sock);
	actor_finish(a, false);
}

static bool is_client(enum actor_kind k)
{
	return k == A_ECHO_CLIENT || k == A_BULK_SENDER || k == A_SEQ_CLIENT || k == A_HALF_CLIENT ||
	       k == A_REFUSED || k == A_UNKNOWN_CID;
}

static const char *role_of(enum actor_kind k)
{
	switch (k) {
	case A_LISTENER: return "listener";
	case A_ECHO_SERVER: case A_SEQ_SERVER: case A_HALF_SERVER: return "server";
	case A_BULK_SINK: return "sink";
	case A_SLOW_READER: return "reader";
	case A_BULK_SENDER: return "sender";
	default: return "client";
	}
}

/* "echo client 3:1025 > 2:1234" for a client, "echo server 2:1234 < 3:1025" for the other side. */
void actor_name(struct actor *a)
{
	struct vtr_sock_info si;

	if (a->sock >= 0 && vtr_sock_info(a->node->e, a->sock, &si) == 0)
		snprintf(a->name, sizeof(a->name), "%s %s %" PRIu64 ":%" PRIu32 " %s %" PRIu64 ":%" PRIu32,
			 workload_names[a->wl], role_of(a->kind), si.local_cid, si.local_port,
			 is_client(a->kind) ? ">" : "<", si.peer_cid, si.peer_port);
	else
		snprintf(a->name, sizeof(a->name), "%s %s on cid %" PRIu64 " to %" PRIu64 ":%" PRIu32,
			 workload_names[a->wl], role_of(a->kind), a->node->cid, a->peer_cid, a->peer_port);
}

/* ---- actors: common steps ---- */

/* S_START: waits for the start time, then connects. Returns true once connected. */
static bool client_connect(struct actor *a)
{
	struct lab *lab = a->lab;
	struct vtr_sock_info si;
	int s;

	if (a->state == S_START) {
		if (lab_now(lab) < a->wake_at)
			return false;
		a->wake_at = -1;
		s = vtr_connect(a->node->e, a->peer_cid, a->peer_port, a->type, 0);
		actor_name(a);
		if (s < 0) {
			actor_fail(a, "connect: %s", strerror(-s));
			return false;
		}
		actor_own(a, s);
		actor_name(a);
		if (vtr_sock_info(a->node->e, s, &si) == 0)
			txs_sender(&a->tx, si.local_cid, si.local_port);
		a->state = S_CONNECTING;
		lab->connects++;
	}
	if (a->state != S_CONNECTING)
		return true;
	if (vtr_sock_info(a->node->e, a->sock, &si) < 0)
		return false;
	if (si.state == VTR_STATE_ESTABLISHED) {
		a->state = S_RUN;
		return true;
	}
	if (si.state == VTR_STATE_CLOSED) {
		int err = vtr_sock_error(a->node->e, a->sock);

		if (a->kind == A_REFUSED && err == -ECONNRESET) {
			/* the RST that answers a REQUEST to a port nobody listens on */
			lab->refused_seen++;
			node_by_cid(lab, a->peer_cid)->refused_expected++;
			actor_finish(a, true);
		} else if (a->kind == A_UNKNOWN_CID && err == -ETIMEDOUT) {
			lab->timeouts_seen++;
			actor_finish(a, true);
		} else {
			actor_fail(a, "connect: %s (%s)", err ? strerror(-err) : "closed", err_name(err));
		}
		return false;
	}
	return false;
}

static void stall(struct actor *a)
{
	struct lab *lab = a->lab;

	if (a->stalled)
		return;
	a->stalled = true;
	a->wait = CREDIT_WAIT_NS;
	a->ask_at = a->wake_at = lab_now(lab) + a->wait;
	lab->wl[a->wl].stalls++;
}

/*
 * A sender that has waited CREDIT_WAIT_NS for credit asks the peer for it (CREDIT_REQUEST), as a
 * sender may when it suspects a lost update, and again after twice the wait, and so on: on a slow
 * (paced) wire the answer may simply be late, and asking every 100 ms would slow it further.
 * Credit that comes back wakes the sender by an engine event (WRITABLE); "stalled" holds until a
 * send makes progress, since a SEQPACKET message may need more credit than WRITABLE promises.
 */
static void credit_check(struct actor *a)
{
	struct lab *lab = a->lab;
	int64_t t = lab_now(lab);

	if (!a->stalled || a->done)
		return;
	if (t >= a->ask_at) {
		int r = vtr_credit_request(a->node->e, a->sock);

		if (r < 0 && r != -ENOTCONN) {
			actor_fail(a, "credit request: %s", strerror(-r));
			return;
		}
		lab->wl[a->wl].requests++;
		a->wait = a->wait * 2 < CREDIT_WAIT_MAX_NS ? a->wait * 2 : CREDIT_WAIT_MAX_NS;
		a->ask_at = t + a->wait;
	}
	a->wake_at = a->ask_at;
}

/* Sends what credit allows. Returns 1 when the whole stream is sent, 0 when blocked, -1 after a failure. */
static int pump_stream(struct actor *a)
{
	struct lab *lab = a->lab;

	while (!txs_done(&a->tx)) {
		size_t n = txs_fill(&a->tx, lab->tbuf, BUF_LEN);
		ssize_t r = vtr_send(a->node->e, a->sock, lab->tbuf, n, 0);

		if (r == -EAGAIN) {
			stall(a);
			return 0;
		}
		if (r < 0) {
			actor_fail(a, "send: %s (%s), %" PRIu64 " of %" PRIu64 " bytes sent", strerror((int)-r),
				   err_name((int)r), a->tx.off, txs_total(&a->tx));
			return -1;
		}
		a->tx.off += (uint64_t)r;
		a->stalled = false;
		if ((size_t)r < n) {
			stall(a);
			return 0;
		}
	}
	a->stalled = false;
	return 1;
}

/* The stream comes from the peer, or for an echo from ourselves, and belongs to this workload. */
static int check_sender(struct actor *a)
{
	struct vtr_sock_info si;
	uint64_t cid;
	uint32_t port;

	if (vtr_sock_info(a->node->e, a->sock, &si) < 0)
		return 0;
	cid = a->kind == A_ECHO_CLIENT ? si.local_cid : si.peer_cid;
	port = a->kind == A_ECHO_CLIENT ? si.local_port : si.peer_port;
	a->rx.sender_checked = true;
	if (a->rx.cid != cid || a->rx.port != port || a->rx.kind != (uint32_t)a->wl) {
		actor_fail(a, "a %s stream from %" PRIu32 ":%" PRIu32 ", expected %s from %" PRIu64 ":%" PRIu32,
			   a->rx.kind < W_COUNT ? workload_names[a->rx.kind] : "unknown", a->rx.cid, a->rx.port,
			   workload_names[a->wl], cid, port);
		return -1;
	}
	return 0;
}

/*
 * Reads and checks what has arrived, at most max bytes. Returns 1 at the end of the stream
 * (checked whole), 0 when nothing more is there now, -1 after a failure.
 */
static int read_stream(struct actor *a, size_t max)
{
	struct lab *lab = a->lab;
	char err[160];

	while (max) {
		ssize_t n = vtr_recv(a->node->e, a->sock, lab->rbuf, max < BUF_LEN ? max : BUF_LEN, 0, NULL);

		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			actor_fail(a, "recv: %s (%s) after %" PRIu64 " bytes", strerror((int)-n), err_name((int)n), a->rx.off);
			return -1;
		}
		if (n == 0) {
			if (rxs_eof(&a->rx, err, sizeof(err)) < 0) {
				actor_fail(a, "%s", err);
				return -1;
			}
			a->eof = true;
			return 1;
		}
		if (rxs_feed(&a->rx, lab->rbuf, (size_t)n, lab->xbuf, err, sizeof(err)) < 0) {
			actor_fail(a, "%s", err);
			return -1;
		}
		if (!a->rx.sender_checked && a->rx.off >= STREAM_HDR_LEN && check_sender(a) < 0)
			return -1;
		max -= (size_t)n;
	}
	return 0;
}

/* ---- the workload's actors ---- */

static void step_listener(struct actor *l)
{
	struct lab *lab = l->lab;
	struct vtr_sock_info si;
	int c;

	while ((c = vtr_accept(l->node->e, l->sock)) >= 0) {
		struct actor *a = actor_new(lab, l->node, l->child_kind, l->wl);

		actor_own(a, c);
		actor_name(a);
		a->state = S_RUN;
		lab->accepted++;
		if (a->kind == A_ECHO_SERVER || a->kind == A_SEQ_SERVER) {
			a->buf = malloc(a->kind == A_SEQ_SERVER ? BUF_LEN : ECHO_BUF_LEN);
			if (!a->buf) {
				actor_fail(a, "out of memory");
				continue;
			}
		}
		if (a->kind == A_HALF_SERVER) {	/* the reply: a small stream, then SHUTDOWN SEND */
			txs_init(&a->tx, W_HALFCLOSE, lab_random(lab), lab_random_range(lab, 100, 8192), lab->tbuf);
			if (vtr_sock_info(l->node->e, c, &si) == 0)
				txs_sender(&a->tx, si.local_cid, si.local_port);
		}
		if (a->kind == A_SLOW_READER)
			a->chunk = (uint32_t)lab_random_range(lab, SLOW_CHUNK_MIN, SLOW_CHUNK_MAX);
		actor_wake(a);
	}
	if (c != -EAGAIN)
		fprintf(stderr, "%s: accept on cid %" PRIu64 ": %s\n", PROG, l->node->cid, strerror(-c));
}

/* Guest: sends a stream, SHUTDOWN SEND, reads the echo to its end, checks it is what it sent. */
static void step_echo_client(struct actor *a)
{
	int r;

	if (!client_connect(a))
		return;
	if (!txs_done(&a->tx) && pump_stream(a) < 0)
		return;
	if (txs_done(&a->tx) && !a->tx_shut) {
		r = vtr_shutdown(a->node->e, a->sock, VTR_SHUT_WR);
		if (r < 0) {
			actor_fail(a, "shutdown: %s", strerror(-r));
			return;
		}
		a->tx_shut = true;
	}
	credit_check(a);
	if (a->done)
		return;
	r = read_stream(a, SIZE_MAX);
	if (r <= 0)
		return;
	if (!a->tx_shut) {
		actor_fail(a, "the echo ended before the message was sent");
		return;
	}
	if (a->rx.seed != a->tx.seed || a->rx.body != a->tx.body) {
		actor_fail(a, "echoed another stream (seed %#" PRIx64 ", %" PRIu64 " bytes)", a->rx.seed, a->rx.body);
		return;
	}
	actor_finish(a, true);
}

/* Host: writes back what it reads; after the client's SHUTDOWN SEND, finishes, shuts down its side, closes. */
static void step_echo_server(struct actor *a)
{
	struct vtr_engine *e = a->node->e;
	bool progress = true;

	while (progress) {
		progress = false;
		if (a->buf_len) {
			ssize_t r = vtr_send(e, a->sock, a->buf + a->buf_off, a->buf_len, 0);

			if (r == -EAGAIN) {
				stall(a);
			} else if (r < 0) {
				actor_fail(a, "send: %s (%s)", strerror((int)-r), err_name((int)r));
				return;
			} else {
				a->buf_off += (size_t)r;
				a->buf_len -= (size_t)r;
				a->stalled = false;
				progress = r > 0;
				if (a->buf_len)
					stall(a);
			}
		}
		if (!a->buf_len && !a->eof) {
			ssize_t n = vtr_recv(e, a->sock, a->buf, ECHO_BUF_LEN, 0, NULL);

			a->buf_off = 0;
			if (n > 0) {
				a->buf_len = (size_t)n;
				progress = true;
			} else if (n == 0) {
				a->eof = true;
			} else if (n != -EAGAIN) {
				actor_fail(a, "recv: %s (%s)", strerror((int)-n), err_name((int)n));
				return;
			}
		}
	}
	if (a->eof && !a->buf_len) {
		int r = vtr_shutdown(e, a->sock, VTR_SHUT_WR);

		if (r < 0 && r != -ENOTCONN) {
			actor_fail(a, "shutdown: %s", strerror(-r));
			return;
		}
		actor_finish(a, true);
		return;
	}
	credit_check(a);
}

/*
 * Sends a stream. Guest to host (bulk-up, slow-reader): then SHUTDOWN SEND and wait until the
 * receiver closes. Host to guest (bulk-down): close right after the last byte.
 */
static void step_bulk_sender(struct actor *a)
{
	struct vtr_engine *e = a->node->e;
	int r;

	if (!client_connect(a))
		return;
	if (a->state == S_RUN) {
		r = pump_stream(a);
		if (r < 0)
			return;
		if (r == 0) {
			credit_check(a);
			return;
		}
		if (a->wl == W_BULK_DOWN) {
			actor_finish(a, true);
			return;
		}
		r = vtr_shutdown(e, a->sock, VTR_SHUT_WR);
		if (r < 0) {
			actor_fail(a, "shutdown: %s", strerror(-r));
			return;
		}
		a->state = S_WAIT_HUP;
	}
	/* S_WAIT_HUP: the receiver checks the stream and closes; nothing may come back. */
	for (;;) {
		ssize_t n = vtr_recv(e, a->sock, a->lab->rbuf, BUF_LEN, 0, NULL);

		if (n == -EAGAIN)
			return;
		if (n > 0) {
			actor_fail(a, "%zd bytes came back from a sink", n);
			return;
		}
		if (n < 0) {
			actor_fail(a, "waiting for the receiver to close: %s (%s)", strerror((int)-n), err_name((int)n));
			return;
		}
		break;
	}
	if (vtr_poll(e, a->sock) & VTR_EV_HUP)
		actor_finish(a, true);
}

/* Reads a stream to its end and checks it; the slow reader takes only a chunk each tick. */
static void step_sink(struct actor *a)
{
	struct lab *lab = a->lab;
	size_t max = SIZE_MAX;
	int r;

	if (a->kind == A_SLOW_READER) {
		int64_t t = lab_now(lab);

		if (t < a->next_read) {
			a->wake_at = a->next_read;
			return;
		}
		a->next_read = t + SLOW_TICK_NS;
		a->wake_at = a->next_read;
		max = a->chunk;
	}
	r = read_stream(a, max);
	if (r == 1)
		actor_finish(a, true);
}

/* Guest: messages of many sizes, some ending a record; each echo must come back whole, in order. */
static void step_seq_client(struct actor *a)
{
	struct lab *lab = a->lab;
	struct vtr_engine *e = a->node->e;
	bool progress = true;

	if (!client_connect(a))
		return;
	while (progress) {
		progress = false;
		if (a->nsent < a->nmsgs) {
			const struct seqmsg *m = &a->msgs[a->nsent];
			ssize_t r;

			gen_bytes(m->seed, 0, lab->tbuf, m->len);
			r = vtr_send(e, a->sock, lab->tbuf, m->len, m->eor ? VTR_MSG_EOR : 0);
			if (r == -EAGAIN) {
				stall(a);
			} else if (r != (ssize_t)m->len) {
				actor_fail(a, "send of message %zu (%" PRIu32 " bytes): %s", a->nsent, m->len,
					   r < 0 ? strerror((int)-r) : "short");
				return;
			} else {
				a->nsent++;
				a->stalled = false;
				progress = true;
			}
		}
		if (a->nrecv < a->nsent) {
			const struct seqmsg *m = &a->msgs[a->nrecv];
			unsigned fl;
			ssize_t n = vtr_recv(e, a->sock, lab->rbuf, BUF_LEN, 0, &fl);

			if (n == -EAGAIN)
				continue;
			if (n <= 0) {
				actor_fail(a, "recv of echo %zu: %s", a->nrecv, n ? strerror((int)-n) : "end of stream");
				return;
			}
			gen_bytes(m->seed, 0, lab->xbuf, m->len);
			if ((size_t)n != m->len || (fl & VTR_MSG_TRUNC) || !(fl & VTR_MSG_EOR) != !m->eor ||
			    memcmp(lab->rbuf, lab->xbuf, m->len)) {
				actor_fail(a, "echo %zu: %zd bytes%s%s, expected %" PRIu32 "%s%s", a->nrecv, n,
					   fl & VTR_MSG_EOR ? " EOR" : "", fl & VTR_MSG_TRUNC ? " TRUNC" : "", m->len,
					   m->eor ? " EOR" : "", (size_t)n == m->len ? " (content differs)" : "");
				return;
			}
			a->nrecv++;
			lab->wl[a->wl].messages++;
			lab->wl[a->wl].bytes += m->len;
			progress = true;
		}
	}
	if (a->nrecv == a->nmsgs) {
		actor_finish(a, true);
		return;
	}
	credit_check(a);
}

/* Host: each message back as it came, EOR kept; holds one message while the client has no credit. */
static void step_seq_server(struct actor *a)
{
	struct vtr_engine *e = a->node->e;
	bool progress = true;

	while (progress) {
		progress = false;
		if (a->buf_len) {
			ssize_t r = vtr_send(e, a->sock, a->buf, a->buf_len, a->buf_flags & VTR_MSG_EOR);

			if (r == -EAGAIN) {
				stall(a);
			} else if (r != (ssize_t)a->buf_len) {
				actor_fail(a, "send: %s", r < 0 ? strerror((int)-r) : "short");
				return;
			} else {
				a->buf_len = 0;
				a->stalled = false;
				progress = true;
			}
		}
		if (!a->buf_len && !a->eof) {
			unsigned fl;
			ssize_t n = vtr_recv(e, a->sock, a->buf, BUF_LEN, 0, &fl);

			if (n > 0) {
				if (fl & VTR_MSG_TRUNC) {
					actor_fail(a, "a message longer than %u bytes", BUF_LEN);
					return;
				}
				a->buf_len = (size_t)n;
				a->buf_flags = fl;
				progress = true;
			} else if (n == 0) {
				a->eof = true;
			} else if (n != -EAGAIN) {
				actor_fail(a, "recv: %s (%s)", strerror((int)-n), err_name((int)n));
				return;
			}
		}
	}
	if (a->eof && !a->buf_len) {
		actor_finish(a, true);
		return;
	}
	credit_check(a);
}

/*
 * Half-close, client side: keeps sending its stream while it reads the server's reply to the end
 * (the server's SHUTDOWN SEND); closes once both are done.
 */
static void step_half_client(struct actor *a)
{
	int r;

	if (!client_connect(a))
		return;
	if (!txs_done(&a->tx) && pump_stream(a) < 0)
		return;
	credit_check(a);
	if (a->done)
		return;
	if (!a->eof) {
		r = read_stream(a, SIZE_MAX);
		if (r < 0)
			return;
		if (r == 1 && !txs_done(&a->tx) && !a->overlap) {
			a->overlap = true;
			a->lab->halfclose_overlap++;
		}
	}
	if (a->eof && txs_done(&a->tx))
		actor_finish(a, true);
}

/* Half-close, server side: replies, shuts down its sending side at once, reads the client's stream to its end. */
static void step_half_server(struct actor *a)
{
	int r;

	if (!a->tx_shut) {
		r = pump_stream(a);
		if (r < 0)
			return;
		if (r == 1) {
			r = vtr_shutdown(a->node->e, a->sock, VTR_SHUT_WR);
			if (r < 0) {
				actor_fail(a, "shutdown: %s", strerror(-r));
				return;
			}
			a->tx_shut = true;
		} else {
			credit_check(a);
		}
	}
	if (a->done)
		return;
	r = read_stream(a, SIZE_MAX);
	if (r == 1 && a->tx_shut)
		actor_finish(a, true);
}

static void actor_step(struct actor *a)
{
	switch (a->kind) {
	case A_LISTENER: step_listener(a); break;
	case A_ECHO_CLIENT: step_echo_client(a); break;
	case A_ECHO_SERVER: step_echo_server(a); break;
	case A_BULK_SENDER: step_bulk_sender(a); break;
	case A_BULK_SINK: case A_SLOW_READER: step_sink(a); break;
	case A_SEQ_CLIENT: step_seq_client(a); break;
	case A_SEQ_SERVER: step_seq_server(a); break;
	case A_HALF_CLIENT: step_half_client(a); break;
	case A_HALF_SERVER: step_half_server(a); break;
	case A_REFUSED: case A_UNKNOWN_CID:
		if (client_connect(a))
			actor_fail(a, "connected, where nobody listens or no engine has the CID");
		break;
	}
}

void run_ready(struct lab *lab)
{
	struct actor *a;

	while ((a = lab->ready_head)) {
		lab->ready_head = a->next_ready;
		if (!lab->ready_head)
			lab->ready_tail = NULL;
		a->queued = false;
		if (!a->done)
			actor_step(a);
	}
}
