/* SPDX-License-Identifier: GPL-2.0-or-later */
/* prom.c: Prometheus text exposition of vsocktop's counters, a tiny HTTP/1.0 GET /metrics server, and textfile output. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vsockmon/devcounters.h>
#include <vsockmon/flow.h>
#include <vsockmon/flowprint.h>
#include <vsockmon/vsockmon.h>

#include "cli.h"
#include "http.h"
#include "prom.h"

/* ---- the exposition ---- */

/* Label values escape backslash, double quote and newline (exposition format 0.0.4). */
static void label_value(struct vsm_strbuf *out, const char *s)
{
	vsm_sb_putc(out, '"');
	for (; *s; s++) {
		if (*s == '\\')
			vsm_sb_puts(out, "\\\\");
		else if (*s == '"')
			vsm_sb_puts(out, "\\\"");
		else if (*s == '\n')
			vsm_sb_puts(out, "\\n");
		else
			vsm_sb_putc(out, *s);
	}
	vsm_sb_putc(out, '"');
}

static void family(struct vsm_strbuf *out, const char *name, const char *type, const char *help)
{
	vsm_sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static void single(struct vsm_strbuf *out, const char *name, const char *type, const char *help, uint64_t v)
{
	family(out, name, type, help);
	vsm_sb_printf(out, "%s %llu\n", name, (unsigned long long)v);
}

/* name{key="v"} value; key2 may be NULL. */
static void labelled(struct vsm_strbuf *out, const char *name, const char *key, const char *v, const char *key2,
		     const char *v2, const char *value)
{
	vsm_sb_printf(out, "%s{%s=", name, key);
	label_value(out, v);
	if (key2) {
		vsm_sb_printf(out, ",%s=", key2);
		label_value(out, v2);
	}
	vsm_sb_printf(out, "} %s\n", value);
}

static void num(char *buf, size_t len, uint64_t v)
{
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* The per-CID families: one accessor per family, so every family is written whole before the next. */
enum cid_field { CF_CONNS, CF_OPEN, CF_STALLED, CF_CONNS_TOTAL, CF_SENT_BYTES, CF_RECV_BYTES, CF_SENT_PKTS,
		 CF_RECV_PKTS, CF_STALL, CF_RESETS, CF_REFUSED, CF_COUNT };

static const struct {
	const char *name, *type, *help;
} cid_families[CF_COUNT] = {
	[CF_CONNS] = { "vsock_cid_connections_held", "gauge", "Connections with an endpoint on this CID held in the table now" },
	[CF_OPEN] = { "vsock_cid_connections_open", "gauge", "Those not closed, reset or refused" },
	[CF_STALLED] = { "vsock_cid_connections_stalled", "gauge", "Those with a sender out of credit now" },
	[CF_CONNS_TOTAL] = { "vsock_cid_connections_total", "counter", "Connections of this CID seen at a refresh" },
	[CF_SENT_BYTES] = { "vsock_cid_sent_bytes_total", "counter", "RW payload bytes this CID sent" },
	[CF_RECV_BYTES] = { "vsock_cid_received_bytes_total", "counter", "RW payload bytes sent to this CID" },
	[CF_SENT_PKTS] = { "vsock_cid_sent_packets_total", "counter", "Packets this CID sent" },
	[CF_RECV_PKTS] = { "vsock_cid_received_packets_total", "counter", "Packets sent to this CID" },
	[CF_STALL] = { "vsock_cid_stall_seconds_total", "counter", "Time senders on this CID spent out of credit" },
	[CF_RESETS] = { "vsock_cid_resets_total", "counter", "Connections of this CID that ended in a reset (abort)" },
	[CF_REFUSED] = { "vsock_cid_refusals_total", "counter", "Connects of this CID answered by an RST" },
};

static void cid_value(const struct top_cid *c, enum cid_field f, char *buf, size_t len)
{
	switch (f) {
	case CF_CONNS: num(buf, len, c->conns); break;
	case CF_OPEN: num(buf, len, c->open); break;
	case CF_STALLED: num(buf, len, c->stalled); break;
	case CF_CONNS_TOTAL: num(buf, len, c->conns_total); break;
	case CF_SENT_BYTES: num(buf, len, c->tx_bytes); break;
	case CF_RECV_BYTES: num(buf, len, c->rx_bytes); break;
	case CF_SENT_PKTS: num(buf, len, c->tx_pkts); break;
	case CF_RECV_PKTS: num(buf, len, c->rx_pkts); break;
	case CF_STALL: snprintf(buf, len, "%.9f", (double)c->stall_ns / 1e9); break;
	case CF_RESETS: num(buf, len, c->resets); break;
	case CF_REFUSED: num(buf, len, c->refused); break;
	default: snprintf(buf, len, "0"); break;
	}
}

/*
 * The families of vsockdev's counters: names, types and help from devcounters.def, the value from
 * vsocktop's struct at off. Per VM (uint64_t, or bool):
 */
static const struct vm_metric {
	enum vsm_dev_counter id;
	size_t off;
	bool is_bool;
} vm_metrics[] = {
	{ VSM_DC_ATTACHED, offsetof(struct top_device, attached), true },
	{ VSM_DC_CONNECTIONS, offsetof(struct top_device, connections), false },
	{ VSM_DC_RX_EMPTY_EVENTS, offsetof(struct top_device, rx_empty_events), false },
	{ VSM_DC_RX_EMPTY_NOW, offsetof(struct top_device, rx_empty_now), true },
	{ VSM_DC_RESETS, offsetof(struct top_device, resets), false },
};

/* Per VM and direction: one family, named by its from_guest counter, labelled with the group's keys. */
static const struct dir_metric {
	enum vsm_dev_counter id[2];	/* from the guest, to the guest */
	size_t off[2];
} dir_metrics[] = {
	{ { VSM_DC_FROM_GUEST, VSM_DC_TO_GUEST },
	  { offsetof(struct top_device, from_guest), offsetof(struct top_device, to_guest) } },
	{ { VSM_DC_FROM_GUEST_BYTES, VSM_DC_TO_GUEST_BYTES },
	  { offsetof(struct top_device, from_guest_bytes), offsetof(struct top_device, to_guest_bytes) } },
};

/* Per VM and virtqueue. */
static const struct queue_metric {
	enum vsm_dev_counter id;
	size_t off;
} queue_metrics[] = {
	{ VSM_DC_Q_SIZE, offsetof(struct top_queue, size) },
	{ VSM_DC_Q_OCCUPANCY, offsetof(struct top_queue, occupancy) },
	{ VSM_DC_Q_KICKS, offsetof(struct top_queue, kicks) },
	{ VSM_DC_Q_CALLS, offsetof(struct top_queue, calls) },
};

/* A family of vsockdev's counter. */
static void dev_family(struct vsm_strbuf *out, enum vsm_dev_counter id)
{
	family(out, vsm_dev_counters[id].prom_name, vsm_dev_counters[id].prom_type, vsm_dev_counters[id].help);
}

static uint64_t field_u64(const void *base, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void device_families(struct vsm_strbuf *out, const struct top_devices *d)
{
	/* the labels: guest_cid, and the direction as the key of each direction's counter */
	const char *guest_cid = VSM_DC_KEY(GUEST_CID), *dirs[2] = { VSM_DC_KEY(FROM_GUEST), VSM_DC_KEY(TO_GUEST) };
	const struct vsm_dev_counter_info *c;
	char cid[24], v[32];

	single(out, "vsock_device_up", "gauge",
	       "1 when the last read of vsockdev's statistics worked", d->have && !d->error[0]);
	if (!d->have)
		return;
	c = VSM_DC(SINK_DROPPED);
	single(out, c->prom_name, c->prom_type, c->help, d->tap_dropped);
	for (size_t m = 0; m < sizeof(vm_metrics) / sizeof(vm_metrics[0]); m++) {
		const struct vm_metric *vm = &vm_metrics[m];

		c = &vsm_dev_counters[vm->id];
		dev_family(out, vm->id);
		for (size_t i = 0; i < d->nvm; i++) {
			const char *base = (const char *)&d->vm[i];

			num(cid, sizeof(cid), d->vm[i].guest_cid);
			num(v, sizeof(v), vm->is_bool ? *(const bool *)(base + vm->off) : field_u64(base, vm->off));
			labelled(out, c->prom_name, guest_cid, cid, NULL, NULL, v);
		}
	}
	for (size_t m = 0; m < sizeof(dir_metrics) / sizeof(dir_metrics[0]); m++) {
		c = &vsm_dev_counters[dir_metrics[m].id[0]];
		dev_family(out, dir_metrics[m].id[0]);
		for (size_t i = 0; i < d->nvm; i++) {
			num(cid, sizeof(cid), d->vm[i].guest_cid);
			for (int k = 0; k < 2; k++) {
				num(v, sizeof(v), field_u64(&d->vm[i], dir_metrics[m].off[k]));
				labelled(out, c->prom_name, guest_cid, cid, "direction", dirs[k], v);
			}
		}
	}
	for (size_t m = 0; m < sizeof(queue_metrics) / sizeof(queue_metrics[0]); m++) {
		c = &vsm_dev_counters[queue_metrics[m].id];
		dev_family(out, queue_metrics[m].id);
		for (size_t i = 0; i < d->nvm; i++) {
			num(cid, sizeof(cid), d->vm[i].guest_cid);
			for (int q = 0; q < d->vm[i].nqueues; q++) {
				num(v, sizeof(v), field_u64(&d->vm[i].queue[q], queue_metrics[m].off));
				labelled(out, c->prom_name, guest_cid, cid, "queue", d->vm[i].queue[q].name, v);
			}
		}
	}
	/* vsockdev's causes are its own (vsockdev(8) EVENTS): every key its document has, zeros included. */
	c = VSM_DC(EVENTS_BY_REASON);
	dev_family(out, VSM_DC_EVENTS_BY_REASON);
	for (size_t i = 0; i < d->nvm; i++) {
		num(cid, sizeof(cid), d->vm[i].guest_cid);
		for (int r = 0; r < d->vm[i].nreasons; r++) {
			num(v, sizeof(v), d->vm[i].reasons[r].count);
			labelled(out, c->prom_name, guest_cid, cid, "reason", d->vm[i].reasons[r].key, v);
		}
	}
	/* vsockdev counts nanoseconds, Prometheus wants seconds */
	c = VSM_DC(RX_EMPTY_NS);
	dev_family(out, VSM_DC_RX_EMPTY_NS);
	for (size_t i = 0; i < d->nvm; i++) {
		num(cid, sizeof(cid), d->vm[i].guest_cid);
		snprintf(v, sizeof(v), "%.9f", (double)d->vm[i].rx_empty_ns / 1e9);
		labelled(out, c->prom_name, guest_cid, cid, NULL, NULL, v);
	}
}

void top_prom_text(struct vsm_strbuf *out, const struct top_model *m, const struct top_frame_info *info)
{
	const struct top_totals *t = top_model_totals(m);
	char v[32];

	family(out, "vsocktop_info", "gauge", "vsocktop's version and source");
	vsm_sb_puts(out, "vsocktop_info{version=");
	label_value(out, VSM_VERSION);
	vsm_sb_puts(out, ",source=");
	label_value(out, info->source ? info->source : "");
	vsm_sb_puts(out, "} 1\n");
	family(out, "vsock_capture_time_seconds", "gauge", "The time of the data (capture time for a file), seconds since the epoch");
	vsm_sb_printf(out, "vsock_capture_time_seconds %lld.%09ld\n", (long long)t->now.tv_sec, t->now.tv_nsec);
	for (unsigned i = 0; i < VSM_TOT_COUNT; i++)
		single(out, vsm_totals[i].prom_name, vsm_totals[i].prom_type, vsm_totals[i].help,
		       vsm_total_value(&t->t, i));
	family(out, "vsock_connection_problems_total", "counter", "Connections that showed each problem");
	for (unsigned p = 0; p < VSM_FP_COUNT; p++) {
		num(v, sizeof(v), t->t.problems[p]);
		labelled(out, "vsock_connection_problems_total", "problem", vsm_flow_problem_name(p), NULL, NULL, v);
	}
	if (t->src.live)
		single(out, "vsock_kernel_drops_total", "counter",
		       "Packets the kernel dropped before the capture read them", t->src.kernel_drops + t->src.if_drops);
	for (int f = 0; f < CF_COUNT; f++) {
		family(out, cid_families[f].name, cid_families[f].type, cid_families[f].help);
		for (size_t i = 0; i < top_model_cid_count(m); i++) {
			const struct top_cid *c = top_model_cid(m, i);
			char cid[24];

			num(cid, sizeof(cid), c->cid);
			cid_value(c, (enum cid_field)f, v, sizeof(v));
			labelled(out, cid_families[f].name, "cid", cid, NULL, NULL, v);
		}
	}
	if (info->device)
		device_families(out, top_model_devices(m));
}

/* ---- textfile ---- */

int top_prom_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char tmp[4096];
	size_t off = 0;
	int fd, ret = 0;

	/* Hidden, and not ending in .prom: node_exporter reads only *.prom files. */
	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.%d.tmp", (int)(slash - path), path, slash + 1, (int)getpid());
	else
		snprintf(tmp, sizeof(tmp), ".%s.%d.tmp", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return ret;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "%s: %s", tmp, strerror(-ret));
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && !ret) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	if (!ret && rename(tmp, path) < 0) {
		ret = -errno;
		snprintf(err, errlen, "renaming %s to %s: %s", tmp, path, strerror(errno));
	}
	if (ret)
		unlink(tmp);
	return ret;
}

/* ---- HTTP/1.0 ---- */

/*
 * The clients are a fixed table: a scrape needs one connection for a few milliseconds, so 64 slots
 * are plenty for any number of Prometheus servers. Idle and slow clients cannot hold them: a request
 * must be whole REQUEST_TIMEOUT_MS after its connection, the answer sent within CLIENT_TIMEOUT_MS, and
 * a new connection that finds the table full takes the slot of the oldest client still sending its
 * request (else the oldest of all). Every connection waiting is accepted at each turn, so the newest,
 * a scrape's, is served while a flood of idle ones only evicts itself.
 */
#define MAX_CLIENTS 64
#define REQUEST_TIMEOUT_MS 2000
#define CLIENT_TIMEOUT_MS 5000
/* Connections taken from the backlog per turn of the main loop, so the loop stays responsive. */
#define ACCEPT_BUDGET 1024
#define BACKLOG 1024

struct client {
	int fd;				/* -1: free */
	char req[TOP_HTTP_MAX_HEAD];
	size_t req_len;
	char *resp;			/* NULL until the request is whole */
	size_t resp_len, resp_off;
	int64_t accepted_ms;
	uint64_t seq;			/* the order of acceptance: the oldest goes first */
};

struct top_prom_server {
	int fd;
	int port;
	char address[INET6_ADDRSTRLEN + 8];
	char *body;
	size_t body_len;
	uint64_t accepted;
	struct client clients[MAX_CLIENTS];
};

/* The caller says what a port looks like, with the address around it: cli_parse_number's message is not used. */
static int parse_port(const char *s, int *ret_port)
{
	char unused[160];
	uint64_t v;
	int ret = cli_parse_number("port", s, 0, 65535, &v, unused, sizeof(unused));

	if (ret < 0)
		return ret;
	*ret_port = (int)v;
	return 0;
}

static int bind_listen(int family_, const struct sockaddr *sa, socklen_t salen, char *err, size_t errlen)
{
	int fd = socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, zero = 0, ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* "[::]:PORT" means every address, IPv4 included. */
	if (family_ == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* A deep backlog: a flood of connections waits there rather than having a scrape's SYN dropped. */
	if (bind(fd, sa, salen) < 0 || listen(fd, BACKLOG) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen: %s", strerror(errno));
		close(fd);
		return ret;
	}
	return fd;
}

int top_prom_listen(const char *spec, struct top_prom_server **ret_server, char *err, size_t errlen)
{
	struct top_prom_server *s;
	const char *colon = strrchr(spec, ':');
	/* Without an address, loopback only: the counters name the VMs, and this runs as root. */
	char host[256] = "127.0.0.1";
	int port, fd = -1, r;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai;
	char portstr[8];

	if (parse_port(colon ? colon + 1 : spec, &port) < 0) {
		snprintf(err, errlen, "'%s': expected PORT or ADDRESS:PORT, the port from 0 to 65535", spec);
		return -EINVAL;
	}
	if (colon) {
		size_t n = (size_t)(colon - spec);

		if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']')
			snprintf(host, sizeof(host), "%.*s", (int)(n - 2), spec + 1);
		else
			snprintf(host, sizeof(host), "%.*s", (int)n, spec);
		if (!host[0]) {
			snprintf(err, errlen, "'%s': an empty address (give 127.0.0.1, 0.0.0.0, [::] or another)", spec);
			return -EINVAL;
		}
	}
	snprintf(portstr, sizeof(portstr), "%d", port);
	r = getaddrinfo(host, portstr, &hints, &ai);
	if (r) {
		snprintf(err, errlen, "'%s': %s", host, gai_strerror(r));
		return -EINVAL;
	}
	fd = bind_listen(ai->ai_family, ai->ai_addr, ai->ai_addrlen, err, errlen);
	freeaddrinfo(ai);
	if (fd < 0)
		return fd;
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->fd = fd;
	for (int i = 0; i < MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		char a[INET6_ADDRSTRLEN] = "?";

		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &a6->sin6_addr, a, sizeof(a));
			s->port = ntohs(a6->sin6_port);
			snprintf(s->address, sizeof(s->address), "[%s]:%d", a, s->port);
		} else {
			const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &a4->sin_addr, a, sizeof(a));
			s->port = ntohs(a4->sin_port);
			snprintf(s->address, sizeof(s->address), "%s:%d", a, s->port);
		}
	}
	*ret_server = s;
	return 0;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->resp);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void top_prom_close(struct top_prom_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(&s->clients[i]);
	close(s->fd);
	free(s->body);
	free(s);
}

int top_prom_port(const struct top_prom_server *s)
{
	return s->port;
}

const char *top_prom_address(const struct top_prom_server *s)
{
	return s->address;
}

void top_prom_set_body(struct top_prom_server *s, const char *text, size_t len)
{
	char *body = malloc(len + 1);

	if (!body)
		return;		/* keep serving the previous exposition */
	memcpy(body, text, len);
	body[len] = '\0';
	free(s->body);
	s->body = body;
	s->body_len = len;
}

size_t top_prom_pollfds(struct top_prom_server *s, struct pollfd *fds, size_t max)
{
	size_t n = 0;

	/* The listener always: a full table makes room by eviction (see MAX_CLIENTS). */
	if (n < max)
		fds[n++] = (struct pollfd){ .fd = s->fd, .events = POLLIN };
	for (int i = 0; i < MAX_CLIENTS && n < max; i++) {
		struct client *c = &s->clients[i];

		if (c->fd >= 0)
			fds[n++] = (struct pollfd){ .fd = c->fd, .events = c->resp ? POLLOUT : POLLIN };
	}
	return n;
}

static const char *status_text(int status)
{
	switch (status) {
	case TOP_HTTP_OK: return "200 OK";
	case TOP_HTTP_NOT_FOUND: return "404 Not Found";
	case TOP_HTTP_METHOD: return "405 Method Not Allowed";
	case TOP_HTTP_TOO_LARGE: return "431 Request Header Fields Too Large";
	case TOP_HTTP_VERSION: return "505 HTTP Version Not Supported";
	default: return "400 Bad Request";
	}
}

static void respond(struct top_prom_server *s, struct client *c, int status, const struct top_http_request *req)
{
	const char *type = "text/plain; charset=utf-8", *body;
	size_t body_len;
	int hl;

	if (status != TOP_HTTP_OK) {
		body = "bad request: the metrics are at GET /metrics\n";
	} else if (strcmp(req->method, "GET") && !req->head) {
		status = TOP_HTTP_METHOD;
		body = "only GET and HEAD\n";
	} else if (strcmp(req->path, "/metrics") == 0) {
		type = "text/plain; version=0.0.4; charset=utf-8";
		body = s->body ? s->body : "";
	} else if (strcmp(req->path, "/") == 0) {
		body = "vsocktop: the metrics are at /metrics\n";
	} else {
		status = TOP_HTTP_NOT_FOUND;
		body = "not found: the metrics are at /metrics\n";
	}
	body_len = strlen(body);
	c->resp = malloc(body_len + 256);
	if (!c->resp) {
		client_close(c);
		return;
	}
	hl = snprintf(c->resp, 256,
		      "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
		      status_text(status), type, body_len, status == TOP_HTTP_METHOD ? "Allow: GET, HEAD\r\n" : "");
	c->resp_len = (size_t)hl;
	if (!req->head) {
		memcpy(c->resp + hl, body, body_len);
		c->resp_len += body_len;
	}
	c->resp_off = 0;
}

static void client_io(struct top_prom_server *s, struct client *c, short revents)
{
	if (revents & (POLLERR | POLLNVAL)) {
		client_close(c);
		return;
	}
	if (!c->resp && (revents & (POLLIN | POLLHUP))) {
		ssize_t n = read(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len);
		struct top_http_request req;
		int status;

		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR))
				client_close(c);
			return;
		}
		c->req_len += (size_t)n;
		status = top_http_parse_request(c->req, c->req_len, &req);
		if (status)
			respond(s, c, status, &req);
		return;
	}
	if (c->resp && (revents & POLLOUT)) {
		ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		c->resp_off += (size_t)n;
		if (c->resp_off == c->resp_len) {
			shutdown(c->fd, SHUT_WR);
			client_close(c);
		}
	}
}

/* A slot for a new connection: a free one, else the oldest still sending its request, else the oldest. */
static struct client *free_slot(struct top_prom_server *s)
{
	struct client *oldest_reading = NULL, *oldest = NULL;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];

		if (c->fd < 0)
			return c;
		if (!c->resp && (!oldest_reading || c->seq < oldest_reading->seq))
			oldest_reading = c;
		if (!oldest || c->seq < oldest->seq)
			oldest = c;
	}
	oldest = oldest_reading ? oldest_reading : oldest;
	client_close(oldest);
	return oldest;
}

static void accept_all(struct top_prom_server *s, int64_t now_ms)
{
	for (int k = 0; k < ACCEPT_BUDGET; k++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0)
			return;		/* EAGAIN: none left; EMFILE and the like: try again next turn */
		c = free_slot(s);
		c->fd = fd;
		c->accepted_ms = now_ms;
		c->seq = ++s->accepted;
	}
}

void top_prom_handle(struct top_prom_server *s, const struct pollfd *fds, size_t n, int64_t now_ms)
{
	bool listener_ready = false;

	for (size_t k = 0; k < n; k++) {
		if (!fds[k].revents)
			continue;
		if (fds[k].fd == s->fd) {
			listener_ready = true;
			continue;
		}
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (s->clients[i].fd == fds[k].fd)
				client_io(s, &s->clients[i], fds[k].revents);
	}
	/* After the clients' I/O, so that one whose request just arrived is answered before any eviction. */
	if (listener_ready)
		accept_all(s, now_ms);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &s->clients[i];

		if (c->fd >= 0 && now_ms - c->accepted_ms > (c->resp ? CLIENT_TIMEOUT_MS : REQUEST_TIMEOUT_MS))
			client_close(c);
	}
}
