/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vm.c: one VM of vsockdev: its vhost-user listener and device, its host engine (CID 2), forwarding to sibling VMs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vsockmon/wire.h>

#include "daemon.h"
#include "log.h"

/* Forwarded packets held for one VM's RX ring at the most; past the mark its senders wait. */
#define FWD_MAX		(4u * 1024 * 1024)
#define FWD_HIGH	(1u * 1024 * 1024)
/* Engine packets held for a full RX ring past which the device stops taking TX (virtio spec 5.10.6.1:
 * TX must be processed while there is room to hold replies outside the rings). */
#define ENGINE_HIGH	(1u * 1024 * 1024)

struct vm *daemon_vm_by_cid(struct daemon *d, uint64_t cid)
{
	for (unsigned i = 0; i < d->nvms; i++)
		if (d->vms[i]->cfg.guest_cid == cid)
			return d->vms[i];
	return NULL;
}

bool vm_share_group(const struct vm *a, const struct vm *b)
{
	for (unsigned i = 0; i < a->cfg.ngroups; i++)
		for (unsigned k = 0; k < b->cfg.ngroups; k++)
			if (!strcmp(a->cfg.groups[i], b->cfg.groups[k]))
				return true;
	return false;
}

/* ---- sibling forwarding ---- */

static void fwd_flush(struct vm *vm)
{
	while (vm->fwd.head) {
		struct vtr_pkt *p = vm->fwd.head;
		int ret = vtr_vudev_send(vm->dev, vtr_pkt_hdr(p), vtr_pkt_payload(p), p->payload_len);

		if (ret == -EAGAIN)
			return;
		if (ret)
			vm->st.fwd_dropped++;
		free(vtr_pktq_pop(&vm->fwd));
	}
}

/*
 * A guest's packet for another guest: straight into the sibling's RX ring, or held in order behind
 * what waits there. No connection state: the two guests run the protocol between them.
 */
static void forward(struct vm *to, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct vtr_pkt *p;

	to->st.fwd_in++;
	if (!to->fwd.head) {
		int ret = vtr_vudev_send(to->dev, hdr, payload, len);

		if (ret == 0)
			return;
		if (ret != -EAGAIN) {
			to->st.fwd_dropped++;
			return;
		}
	}
	if (to->fwd.bytes + vtr_pkt_size(len) > FWD_MAX || !(p = vtr_pkt_new(hdr, payload, len))) {
		to->st.fwd_dropped++;
		return;
	}
	vtr_pktq_push(&to->fwd, p);
}

/* ---- device ops ---- */

static void dev_deliver(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct vm *vm = ctx;
	uint64_t src = vsm_le64(hdr + VSM_VH_SRC_CID), dst = vsm_le64(hdr + VSM_VH_DST_CID);
	struct vm *to;

	/* Like vhost-vsock, only packets from the guest's own CID (virtio spec 5.10.6: src_cid is the guest_cid). */
	if (src != vm->cfg.guest_cid) {
		vm->st.spoofed++;
		return;
	}
	if (dst == VSOCKDEV_HOST_CID) {
		vtr_input_split(vm->engine, hdr, payload, len);
		return;
	}
	to = daemon_vm_by_cid(vm->d, dst);
	if (to && to != vm && vm_share_group(vm, to)) {
		forward(to, hdr, payload, len);
		return;
	}
	/* A CID nobody serves here: dropped, as vhost-vsock drops it (the guest's connect times out). */
	vm->st.unroutable++;
	if (vsm_le16(hdr + VSM_VH_OP) == VSM_OP_REQUEST) {
		/* A REQUEST: a connect that will time out; say why once for it. */
		uint32_t dst_port = vsm_le32(hdr + VSM_VH_DST_PORT);

		logmsg(vm->d, 1, "%s: guest connection to CID %llu port %u dropped: %s", vm->name,
		       (unsigned long long)dst, dst_port, refusal_table[REFUSE_UNKNOWN_CID].why);
		vm_event(vm, REFUSE_UNKNOWN_CID, false, dst_port, "CID %llu", (unsigned long long)dst);
	}
}

static bool dev_can_deliver(void *ctx)
{
	struct vm *vm = ctx;
	struct vtr_stats st;

	vtr_engine_stats(vm->engine, &st);
	if (st.tx_queue_bytes > ENGINE_HIGH)
		return false;
	for (unsigned i = 0; i < vm->d->nvms; i++) {
		struct vm *o = vm->d->vms[i];

		if (o != vm && o->fwd.bytes > FWD_HIGH && vm_share_group(vm, o))
			return false;
	}
	return true;
}

static void dev_rx_ready(void *ctx)
{
	struct vm *vm = ctx;

	fwd_flush(vm);
	if (!vm->fwd.head)
		vtr_flush(vm->engine);
	/* Room in this ring: senders held back for it may go on. */
	for (unsigned i = 0; i < vm->d->nvms; i++)
		vtr_vudev_poke(vm->d->vms[i]->dev);
	hconn_wake_readers(vm);
}

static void dev_started(void *ctx)
{
	struct vm *vm = ctx;

	logmsg(vm->d, 1, "%s: device running, guest CID %llu", vm->name, (unsigned long long)vm->cfg.guest_cid);
}

static void dev_stopped(void *ctx, int why, const char *reason)
{
	struct vm *vm = ctx;

	logmsg(vm->d, why == VTR_VUDEV_STOP_BROKEN ? 0 : 1, "%s: device stopped: %s", vm->name, reason);
	/* The guest's sockets are gone (its driver reset, or its VM went away): so are ours. */
	vm_reset_all(vm, reason);
	vtr_pktq_clear(&vm->fwd);
}

/* ---- engine ops ---- */

static int engine_xmit(void *ctx, const uint8_t *hdr, const uint8_t *payload, uint32_t len)
{
	struct vm *vm = ctx;

	/* Forwarded packets waiting for this ring go first: nothing may pass them. */
	if (vm->fwd.head)
		return -EAGAIN;
	return vtr_vudev_send(vm->dev, hdr, payload, len);
}

static void engine_event(void *ctx, int sock, unsigned events)
{
	hconn_engine_event(ctx, sock, events);
}

static int engine_admit(void *ctx, int listener, int sock, uint32_t port, uint64_t peer_cid, uint32_t peer_port)
{
	struct vm *vm = ctx;

	return hconn_guest_admit(vm, sock, port, listener == vm->any_seqpacket);
}

/* ---- set-up ---- */

int vm_new(struct daemon *d, const struct vm_config *cfg, struct vm **ret_vm, char *err, size_t errlen)
{
	static const struct vtr_vudev_ops dev_ops = {
		.deliver = dev_deliver, .can_deliver = dev_can_deliver, .rx_ready = dev_rx_ready,
		.started = dev_started, .stopped = dev_stopped,
	};
	static const struct vtr_ops engine_ops = { .xmit = engine_xmit, .event = engine_event, .admit = engine_admit };
	struct vtr_config ecfg = {
		.cid = VSOCKDEV_HOST_CID,
		.buf_alloc = cfg->tx_buffer_size,
		/* Host-side ports from 2^30 up, as Firecracker numbers them: easy to tell apart in a capture. */
		.ephemeral_min = 1u << 30,
		.max_sockets = VTR_DEFAULT_MAX_SOCKETS,
		/* Linux guests reset a connection that queues too many small packets (see vtr.h). */
		.max_unread_pkts = VTR_LINUX_MAX_UNREAD_PKTS,
	};
	struct vtr_vudev_config dcfg = { .guest_cid = cfg->guest_cid, .max_queue_size = cfg->queue_size,
					 .no_seqpacket = d->no_seqpacket };
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		return -ENOMEM;
	vm->d = d;
	vm->cfg = *cfg;
	vm->listen_fd = vm->uds_fd = -1;
	vm->any_stream = vm->any_seqpacket = -1;
	snprintf(vm->name, sizeof(vm->name), "vm%llu", (unsigned long long)cfg->guest_cid);
	dcfg.name = vm->name;
	ret = vtr_vudev_new(&dcfg, &dev_ops, vm, &vm->dev);
	if (ret) {
		snprintf(err, errlen, "%s: cannot create the device: %s", vm->name, strerror(-ret));
		goto fail;
	}
	vtr_vudev_set_tap(vm->dev, d->tap);
	ret = vtr_engine_new(&ecfg, &engine_ops, vm, &vm->engine);
	if (ret) {
		snprintf(err, errlen, "%s: cannot create the host engine: %s", vm->name, strerror(-ret));
		goto fail;
	}
	/* The device is this engine's wire: its packets are tapped there, once (tap.h), never here too. */
	(void)vsm_tap_seal(vtr_engine_tap(vm->engine), "the host engine's packets are tapped at its device");
	vm->max_sockets = VTR_DEFAULT_MAX_SOCKETS;
	vm->by_sock = calloc(vm->max_sockets, sizeof(*vm->by_sock));
	if (!vm->by_sock) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (cfg->uds_path) {
		vm->any_stream = vtr_listen(vm->engine, VTR_PORT_ANY, VTR_STREAM, 1024);
		if (!d->no_seqpacket)
			vm->any_seqpacket = vtr_listen(vm->engine, VTR_PORT_ANY, VTR_SEQPACKET, 1024);
		ret = vm->uds_fd = service_listen_unix(cfg->uds_path, 64, &d->socket_perm, err, errlen);
		if (ret < 0)
			goto fail;
	}
	ret = vm->listen_fd = service_listen_unix(cfg->socket, 64, &d->socket_perm, err, errlen);
	if (ret < 0)
		goto fail;
	*ret_vm = vm;
	return 0;
fail:
	vm_free(vm);
	return ret;
}

void vm_reset_all(struct vm *vm, const char *why)
{
	unsigned n = vm->nconns;

	while (vm->conns)
		hconn_free(vm->conns, true);
	if (n)
		logmsg(vm->d, 1, "%s: %u connections reset: %s", vm->name, n, why);
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->engine)
		vm_reset_all(vm, "shutting down");
	vtr_vudev_free(vm->dev);
	vtr_engine_free(vm->engine);
	vtr_pktq_clear(&vm->fwd);
	free(vm->by_sock);
	if (vm->listen_fd >= 0) {
		close(vm->listen_fd);
		unlink(vm->cfg.socket);
	}
	if (vm->uds_fd >= 0) {
		close(vm->uds_fd);
		unlink(vm->cfg.uds_path);
	}
	free(vm);
}

/* ---- the poll loop's share ---- */

int64_t daemon_mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int daemon_accept(int lfd, int flags, int64_t *paused_until)
{
	int fd = accept4(lfd, NULL, NULL, flags);
	int err = errno;

	if (fd >= 0)
		return fd;
	/*
	 * Out of descriptors, the client stays in the backlog and the socket stays readable: polled
	 * again at once it would spin. It rests a while instead; meanwhile budgets free descriptors
	 * (connections end) and the backlog holds the clients, or refuses them once full.
	 */
	if (err == EMFILE || err == ENFILE)
		*paused_until = daemon_mono_ms() + VSOCKDEV_ACCEPT_PAUSE_MS;
	return err == EWOULDBLOCK ? -EAGAIN : -err;
}

bool daemon_paused(int64_t paused_until)
{
	return paused_until && daemon_mono_ms() < paused_until;
}

int daemon_pause_timeout(int64_t paused_until)
{
	int64_t left;

	if (!paused_until)
		return -1;
	left = paused_until - daemon_mono_ms();
	return left > 0 ? (int)left : 0;
}

size_t vm_pollfds(struct vm *vm, struct pollfd *pfds, size_t max)
{
	/* The session's descriptors first: when QEMU reconnects at once, one round sees the old session's
	 * hang-up and the new connection, and the old session must end before the new one is taken, or
	 * the new front-end is turned away as a second one. */
	size_t n = vtr_vudev_pollfds(vm->dev, pfds, max);

	if (n < max && !daemon_paused(vm->listen_paused_until))
		pfds[n++] = (struct pollfd){ .fd = vm->listen_fd, .events = POLLIN };
	if (vm->uds_fd >= 0 && n < max && !daemon_paused(vm->uds_paused_until))
		pfds[n++] = (struct pollfd){ .fd = vm->uds_fd, .events = POLLIN };
	return n;
}

static void accept_frontend(struct vm *vm)
{
	int fd = daemon_accept(vm->listen_fd, SOCK_CLOEXEC | SOCK_NONBLOCK, &vm->listen_paused_until);
	char why[160];

	if (fd == -EMFILE || fd == -ENFILE)
		logmsg(vm->d, 0, "%s: cannot take the front-end on %s: %s; trying again in %d ms", vm->name,
		       vm->cfg.socket, strerror(-fd), VSOCKDEV_ACCEPT_PAUSE_MS);
	if (fd < 0)
		return;
	if (!service_frontend_allowed(&vm->d->frontend_allow, fd, why, sizeof(why))) {
		logmsg(vm->d, 0, "%s: front-end refused on %s: %s", vm->name, vm->cfg.socket, why);
		close(fd);
		return;
	}
	if (vtr_vudev_attach(vm->dev, fd) == -EBUSY) {
		/* One front-end per device: a second one is turned away, the first keeps it. */
		logmsg(vm->d, 0, "%s: a second front-end connected to %s while one is attached: closed it",
		       vm->name, vm->cfg.socket);
		close(fd);
		return;
	}
	logmsg(vm->d, 1, "%s: front-end connected on %s", vm->name, vm->cfg.socket);
}

bool vm_handle_fd(struct vm *vm, int fd, short revents)
{
	if (fd == vm->listen_fd) {
		if (revents & POLLIN)
			accept_frontend(vm);
		return true;
	}
	if (fd == vm->uds_fd) {
		if (revents & POLLIN)
			hconn_accept_host(vm);
		return true;
	}
	if (vtr_vudev_attached(vm->dev)) {
		bool was = vtr_vudev_attached(vm->dev);
		int ret = vtr_vudev_handle(vm->dev, fd, revents);

		if (ret < 0 && was) {
			struct vtr_vudev_stats st;

			vtr_vudev_stats(vm->dev, &st);
			logmsg(vm->d, st.last_error[0] ? 0 : 1, "%s: front-end session ended%s%s", vm->name,
			       st.last_error[0] ? ": " : "", st.last_error);
		}
	}
	return false;
}

void vm_after_round(struct vm *vm)
{
	if (vtr_next_timeout(vm->engine) == 0)
		vtr_tick(vm->engine);
	vtr_vudev_notify(vm->dev);
}

static int sooner(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

int vm_next_timeout(struct vm *vm)
{
	int t = sooner(vtr_next_timeout(vm->engine), hconn_stalls(vm));

	t = sooner(t, daemon_pause_timeout(vm->listen_paused_until));
	return sooner(t, daemon_pause_timeout(vm->uds_paused_until));
}
