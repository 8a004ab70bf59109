/* SPDX-License-Identifier: GPL-2.0-or-later */
/* source.h: one capture source for the front ends: a capture file, a pipe or FIFO, or a live interface. */
#ifndef VSOCKMON_SOURCE_H
#define VSOCKMON_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <vsockmon/live.h>
#include <vsockmon/pcap.h>

/*
 * One handle whatever the frames come from, as libpcap's pcap_t is for pcap_open_offline() and
 * pcap_create(): the tool's read loop asks it for the next frame and, when none is ready, polls its
 * descriptor with whatever else it waits for (signals, timers, a terminal).
 */
struct vsm_source;

/*
 * A capture file (pcap or pcapng) or what a pipe, a FIFO or stdin ("-") carries, as vsm_pcap_open():
 * the same checks and messages (-EPROTONOSUPPORT: another link type, -EINVAL: not a capture file,
 * -ENODATA: empty). A source that waits for input (a pipe, a FIFO with no writer yet) also watches
 * cancel_fd (a signalfd; -1: none): once that is readable, the open or vsm_source_next() gives up with
 * -ECANCELED. Returns 0, or -errno with a message in errbuf.
 */
int vsm_source_open_file(const char *path, int cancel_fd, struct vsm_source **ret_source, char *errbuf,
			 size_t errlen);
/*
 * A live interface, as vsm_live_open() (opts->ifname NULL: the first vsock-type one). Returns 0, or
 * -errno with a message in errbuf; on success errbuf may still hold libpcap's activation warning.
 */
int vsm_source_open_live(const struct vsm_live_opts *opts, struct vsm_source **ret_source, char *errbuf,
			 size_t errlen);

/*
 * The next frame, its data borrowed until the next call: 1 and *ret_rec; 0 at the end (a file read
 * whole; a live source never ends); -EAGAIN when none is ready yet (live only: poll vsm_source_fd()
 * and call again); another -errno on an error, described by vsm_source_error(). Frames returned before
 * an error (a truncated file) stay valid to the caller as they were.
 */
int vsm_source_next(struct vsm_source *source, struct vsm_rec *ret_rec);
/*
 * The descriptor to poll(2) for POLLIN after -EAGAIN; -1 for a file source, which never returns
 * -EAGAIN (it waits for a pipe itself, cancellably), and which poll(2) skips.
 */
int vsm_source_fd(const struct vsm_source *source);
/* What the last error was, with the file or interface name in it. */
const char *vsm_source_error(const struct vsm_source *source);
/* The file's path ("stdin" for "-") or the interface captured on (the one vsm_source_open_live() chose). */
const char *vsm_source_name(const struct vsm_source *source);
/* True for a live interface: frames come in real time, and the kernel keeps statistics. */
bool vsm_source_live(const struct vsm_source *source);
/* The kernel's counters of a live source; -EOPNOTSUPP for a file. */
int vsm_source_stats(struct vsm_source *source, struct vsm_live_stats *ret_stats);
void vsm_source_close(struct vsm_source *source);

#endif
