/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon.h: vsockdev's parts: VMs (a device and a host engine each), host connections over Unix sockets, statistics. */
#ifndef VSOCKDEV_DAEMON_H
#define VSOCKDEV_DAEMON_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <vsockmon/tap.h>
#include <vtr/pktq.h>
#include <vtr/vtr.h>
#include <vtr/vudev.h>

/*
 * A VM is one vhost-user-vsock device (vudev.h) and, behind it, the host's end of the guest's
 * connections: a protocol engine with CID 2 (vtr.h) whose sockets are joined to Unix sockets as
 * Firecracker and vhost-device-vsock join them ("hybrid vsock"):
 *   host-initiated  a program connects to uds_path, writes "CONNECT <port>\n", gets "OK <port>\n"
 *                   once the guest accepted, then streams;
 *   guest-initiated a connection to CID 2 port P goes to the Unix socket "<uds_path>_<P>"; when
 *                   nobody listens there the guest gets an RST at once.
 * Packets from a guest to another VM's CID are forwarded device to device when the two VMs share a
 * group. Every packet crossing a device passes the daemon's tap.
 */

#define VSOCKDEV_HOST_CID	2
#define VSOCKDEV_MAX_GROUPS	16
#define VSOCKDEV_BUF		(256u * 1024)	/* what one host connection reads or writes at once */
#define VSOCKDEV_HANDSHAKE_MS	5000u		/* default --handshake-timeout: a host client's "CONNECT <port>\n" */
#define VSOCKDEV_MAX_PENDING	64u		/* default --max-pending: handshakes under way per VM */
#define VSOCKDEV_ACCEPT_PAUSE_MS 250		/* a listening socket is not polled for this long after
						   accept() found no descriptor: never a busy loop */
#define VSOCKDEV_EVENTS		32u	/* recent events kept per VM for the statistics */
/* Descriptors kept out of the VMs' budgets: stdio, signalfd, statistics and its client, captures,
 * taps; and per VM its two listening sockets and a front-end session (socket, kick, call and error
 * eventfds of two queues, memory fds while they are mapped). */
#define VSOCKDEV_FD_RESERVE	32u
#define VSOCKDEV_FD_RESERVE_VM	24u

/*
 * Why a connection was refused, timed out or reset, host side or guest side: each has a counter in
 * the statistics (stats.c lists them by key), a sentence in the log, and an event in the VM's
 * recent events (hconn.c's refusal table, vm_event()).
 */
enum refusal {
	REFUSE_CONN_LIMIT,		/* the VM's connection budget (--max-connections) is spent */
	REFUSE_PENDING_LIMIT,		/* --max-pending handshakes under way: the oldest gave way */
	REFUSE_HANDSHAKE_TIMEOUT,	/* no "CONNECT <port>\n" within --handshake-timeout */
	REFUSE_NO_DESCRIPTOR,		/* the process or the system is out of descriptors (EMFILE, ENFILE) */
	REFUSE_ENGINE_SOCKETS,		/* the host engine has no free socket (some may still be closing) */
	/* the causes a user meets most (issue 13): */
	REFUSE_NO_LISTENER,		/* guest to host port P: nothing listens at uds_path_P */
	REFUSE_PATH_TOO_LONG,		/* guest to host port P: uds_path_P does not fit a sockaddr_un */
	REFUSE_MALFORMED_CONNECT,	/* host: the first line is not "CONNECT <port>\n" */
	REFUSE_NO_DRIVER,		/* host to guest: no driver runs the device (no front-end, not DRIVER_OK, reset) */
	REFUSE_GUEST_TIMEOUT,		/* host to guest: the guest did not answer the REQUEST in time */
	REFUSE_GUEST_NO_LISTENER,	/* host to guest: the guest answered RST, nothing listens on that port */
	REFUSE_HOST_CLOSED,		/* a host program closed or failed with data under way: RST to the guest */
	REFUSE_UNKNOWN_CID,		/* a guest's packet for a CID no VM here serves (dropped) */
	REFUSE_N
};
struct refusal_info {
	const char *key;		/* the statistics' name */
	const char *why;		/* the log's words */
};
extern const struct refusal_info refusal_table[REFUSE_N];

struct vm_config {
	uint64_t guest_cid;
	char *socket;			/* the vhost-user socket this daemon listens on */
	char *uds_path;			/* the host side's Unix socket (NULL: no host side) */
	uint32_t tx_buffer_size;	/* the receive buffer the host advertises per connection */
	unsigned queue_size;		/* the largest ring the front-end may set */
	char *groups[VSOCKDEV_MAX_GROUPS];
	unsigned ngroups;
};

struct daemon;
struct hconn;
struct log_limit;

struct vm {
	struct daemon *d;
	struct vm_config cfg;
	char name[24];			/* "vm3" */
	int listen_fd;			/* vhost-user: the front-end (QEMU) connects here */
	int uds_fd;			/* host-initiated connections */
	struct vtr_vudev *dev;
	struct vtr_engine *engine;	/* CID 2, facing this guest */
	int any_stream, any_seqpacket;	/* wildcard listeners: guest connections to any host port */
	struct hconn **by_sock;		/* host connection of each engine socket */
	uint32_t max_sockets;
	struct hconn *conns;		/* all of them, linked */
	unsigned nconns;
	struct vtr_pktq fwd;		/* packets from sibling VMs, held while this VM's RX ring is full */
	unsigned max_conns;		/* the budget: host connections (one descriptor each) at once */
	unsigned npending;		/* of them in HC_HANDSHAKE */
	int64_t uds_paused_until;	/* accept() found no descriptor: uds_fd rests until then (ms) */
	int64_t listen_paused_until;	/* the same for listen_fd */
	/* The last VSOCKDEV_EVENTS refusals, timeouts and resets with their cause, oldest first from events_head. */
	struct vm_event {
		int64_t realtime_ns;	/* when (CLOCK_REALTIME) */
		enum refusal reason;
		bool host_side;		/* a host program's connection, or the guest's */
		uint32_t port;		/* the port asked for (guest port host side, host port guest side) */
		char detail[112];	/* the socket path, the timeout... */
	} events[VSOCKDEV_EVENTS];
	unsigned events_head, events_n;
	uint64_t events_total;
	uint64_t events_by[REFUSE_N];
	struct {
		uint64_t host_connects, host_connect_fail, guest_connects, guest_refused;
		/* refusals before a connection exists, by enum refusal */
		uint64_t host_refused[REFUSE_N], guest_refused_by[REFUSE_N];
		/* host_connect_fail by reason (the rest: the engine could not make a socket) */
		uint64_t host_connect_no_driver, host_connect_refused, host_connect_timeout;
		uint64_t fwd_in, fwd_dropped, unroutable, spoofed;
	} st;
};

enum hconn_state {
	HC_HANDSHAKE,			/* host-initiated: reading "CONNECT <port>\n" */
	HC_CONNECTING,			/* host-initiated: the REQUEST is out, waiting for the guest */
	HC_OPEN,			/* bytes flow */
};

struct hconn {
	struct vm *vm;
	struct hconn *next, **pprev;
	int fd;				/* the Unix socket */
	int sock;			/* the engine socket, -1 before there is one */
	enum hconn_state state;
	bool seqpacket;
	bool host_initiated;
	uint32_t guest_port;
	int64_t handshake_deadline;	/* HC_HANDSHAKE: refused when the line has not come by then (ms) */
	char line[40];			/* the handshake so far */
	size_t line_len;
	/* guest to host: bytes (a whole message for SEQPACKET) not yet written to fd */
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	/* host to guest: bytes (a whole message for SEQPACKET) read from fd, not yet taken by the engine */
	uint8_t *in;
	size_t in_len, in_off, in_cap;
	bool host_eof;			/* fd said EOF: the engine socket is shut for sending */
	bool guest_eof;			/* the guest shut down sending: fd is shut for writing */
	bool host_gone;			/* after host_eof, fd hung up: the host program closed it */
	bool dirty;			/* something changed: look at it after this round */
	struct hconn *dirty_next;
};

/* Who may be a VM's front-end (--frontend-user, --frontend-group): the peer of the vhost-user
 * connection (SO_PEERCRED) has one of the uids or, as its primary group, one of the gids. Both
 * lists empty: anyone the socket's mode lets connect. */
#define VSOCKDEV_MAX_FRONTEND_IDS 8
struct frontend_allow {
	uid_t uids[VSOCKDEV_MAX_FRONTEND_IDS];
	gid_t gids[VSOCKDEV_MAX_FRONTEND_IDS];
	unsigned nuids, ngids;
};

struct daemon {
	struct vm **vms;
	unsigned nvms;
	struct vsm_tap *tap;
	int stats_fd;			/* statistics socket (-1: none) */
	char *stats_path;
	int verbose;			/* the log's level: 0 -q, 1 the default, more with -v (log.h) */
	bool no_seqpacket;
	unsigned max_conns;		/* --max-connections per VM (0: the VM's share of the descriptor limit) */
	unsigned max_pending;		/* --max-pending */
	unsigned handshake_ms;		/* --handshake-timeout */
	int64_t stats_paused_until;	/* accept() on stats_fd found no descriptor: rests until then */
	struct vsm_file_perm socket_perm;	/* of every Unix socket it listens on (service.c) */
	struct frontend_allow frontend_allow;
	struct hconn *dirty;
	struct timespec started;
	struct log_limit *log_limit;	/* logmsg's rate limit (logtext.h) */
};

/* vm.c */
int vm_new(struct daemon *d, const struct vm_config *cfg, struct vm **ret_vm, char *err, size_t errlen);
void vm_free(struct vm *vm);
/* Resets every connection of the VM (the guest gets RSTs when its device runs) and closes the host sockets. */
void vm_reset_all(struct vm *vm, const char *why);
void vm_after_round(struct vm *vm);
int vm_next_timeout(struct vm *vm);
bool vm_handle_fd(struct vm *vm, int fd, short revents);
size_t vm_pollfds(struct vm *vm, struct pollfd *pfds, size_t max);
struct vm *daemon_vm_by_cid(struct daemon *d, uint64_t cid);
bool vm_share_group(const struct vm *a, const struct vm *b);
/* accept4() on a listening socket that never spins: when no descriptor is left (EMFILE, ENFILE) the
 * socket rests for VSOCKDEV_ACCEPT_PAUSE_MS (*paused_until; the poll loop leaves it out meanwhile), so
 * a readable listener that cannot be served does not wake poll(2) again at once. Returns the fd, or
 * -errno (-EAGAIN: nobody waits; -EMFILE/-ENFILE: paused). */
int daemon_accept(int lfd, int flags, int64_t *paused_until);
/* Whether the listener rests now; and the ms until it may be polled again (-1: it does not rest). */
bool daemon_paused(int64_t paused_until);
int daemon_pause_timeout(int64_t paused_until);
int64_t daemon_mono_ms(void);

/* hconn.c */
void hconn_accept_host(struct vm *vm);
int hconn_guest_admit(struct vm *vm, int sock, uint32_t port, bool seqpacket);
void hconn_engine_event(struct vm *vm, int sock, unsigned events);
void hconn_mark(struct hconn *c);
void hconn_run_dirty(struct daemon *d);
size_t hconn_pollfds(struct vm *vm, struct pollfd *pfds, struct hconn **tags, size_t max);
void hconn_handle(struct hconn *c, short revents);
void hconn_free(struct hconn *c, bool reset);
/* After the VM's RX ring or engine queue drained: host sockets may be read again. */
void hconn_wake_readers(struct vm *vm);
/* Handshakes whose time is up are run; returns the ms until the next such time, -1 for none. */
int hconn_stalls(struct vm *vm);

/* stats.c */
int stats_listen(struct daemon *d, const char *path, char *err, size_t errlen);
void stats_serve(struct daemon *d);
/* The statistics as one JSON document (malloc'ed), for the socket and for tests. */
char *stats_json(const struct daemon *d);

/* service.c: running as a system service */
/* Octal permission bits from 0 to 0777 (--socket-mode, --pcap-mode), or a usage error (exit 2). */
uint32_t service_mode_arg(const char *opt, const char *arg);
/* A group name or number (--socket-group), or a usage error. */
gid_t service_group_arg(const char *opt, const char *arg);
/* A user name or number (--frontend-user), or a usage error. */
uid_t service_user_arg(const char *opt, const char *arg);
/* Whether the peer of the accepted connection fd may be a front-end; false with the reason in why. */
bool service_frontend_allowed(const struct frontend_allow *allow, int fd, char *why, size_t whylen);
/* A listening, non-blocking Unix stream socket at path (a socket nobody listens on any more removed,
 * anything else there refused) whose file has the mode and group of perm from the moment it takes
 * connections. Returns the fd, or -errno and err. */
int service_listen_unix(const char *path, int backlog, const struct vsm_file_perm *perm, char *err, size_t errlen);
/* Sends state ("READY=1", newline-separated lines) to the service manager at $NOTIFY_SOCKET; 0 without one. */
int service_notify(const char *state);
/* The same, a failure logged, never fatal. */
void service_tell(const struct daemon *d, const char *state);
/* READY=1 and a STATUS naming the VMs: every socket listens. */
void service_ready(const struct daemon *d);

/* hconn.c: records an event of cause why (one of the refusal table) for the statistics, and counts it. */
__attribute__((format(printf, 5, 6)))
void vm_event(struct vm *vm, enum refusal why, bool host_side, uint32_t port, const char *detail_fmt, ...);


#endif
