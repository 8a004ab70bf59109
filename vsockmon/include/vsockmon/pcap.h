/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pcap.h: capture files: reading pcap and pcapng, writing pcap that stays valid on any error. */
#ifndef VSOCKMON_PCAP_H
#define VSOCKMON_PCAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* One captured frame. data is borrowed: valid until the next call on its source. */
struct vsm_rec {
	struct timespec ts;
	const uint8_t *data;
	uint32_t cap_len, wire_len;
	uint32_t problems;	/* enum vsm_problem bits the reader found (VSM_PROB_TIMESTAMP); see vsm_decode_rec */
};

struct vsm_pcap_reader;

/*
 * Opens a pcap (microsecond or nanosecond, either byte order) or pcapng file; "-" is stdin.
 * Every interface must have link type 271 (LINKTYPE_VSOCK).
 * Returns 0, or -errno with a message in errbuf (-EPROTONOSUPPORT: another link type,
 * -EINVAL: not a capture file, -ENODATA: empty file).
 */
int vsm_pcap_open(const char *path, struct vsm_pcap_reader **ret_reader, char *errbuf, size_t errlen);
/*
 * The same, but a reader that waits (a pipe, a FIFO with no writer yet) also watches cancel_fd (a
 * signalfd): once that is readable, the open or vsm_pcap_next() gives up with -ECANCELED. cancel_fd -1:
 * as vsm_pcap_open(). A FIFO is opened without waiting for its writer, so the wait is cancellable too.
 */
int vsm_pcap_open_cancellable(const char *path, int cancel_fd, struct vsm_pcap_reader **ret_reader, char *errbuf,
			      size_t errlen);

/* Reads the next frame: 1 and *ret_rec, 0 at the end of the file, <0 on an error (see vsm_pcap_error). */
int vsm_pcap_next(struct vsm_pcap_reader *reader, struct vsm_rec *ret_rec);
const char *vsm_pcap_error(const struct vsm_pcap_reader *reader);
uint32_t vsm_pcap_snaplen(const struct vsm_pcap_reader *reader);
/* Number of frames returned so far. */
uint64_t vsm_pcap_count(const struct vsm_pcap_reader *reader);
void vsm_pcap_close(struct vsm_pcap_reader *reader);

/*
 * Who may open a file a program creates (a capture, a Unix socket): mode 0 leaves it to open(2)'s
 * 0666 less the umask; otherwise the file gets exactly these permission bits whatever the umask.
 * With set_group it also gets the group gid (the creator must be root or a member of it).
 */
struct vsm_file_perm {
	uint32_t mode;
	bool set_group;
	gid_t gid;
};

struct vsm_pcap_writer_opts {
	uint32_t snaplen;	/* 0: VSM_DEFAULT_SNAPLEN */
	bool nsec;		/* nanosecond timestamps (magic 0xa1b23c4d) */
	bool flush_each;	/* -U: every record reaches the file before write returns */
	struct vsm_file_perm perm;	/* a file created (or truncated) gets it; not stdout */
	bool no_follow;		/* a symbolic link at the path is refused (ELOOP), not followed: a daemon
				   writing where others can make links must not truncate their target */
};

struct vsm_pcap_writer;

/*
 * Creates (truncates) a pcap file with link type 271; "-" is stdout.
 * Returns 0 or -errno with a message in errbuf.
 */
int vsm_pcap_create(const char *path, const struct vsm_pcap_writer_opts *opts,
		    struct vsm_pcap_writer **ret_writer, char *errbuf, size_t errlen);

/*
 * Appends one record (cap_len is clamped to the snaplen). Returns 0 or -errno.
 * On a write error (ENOSPC, EIO...) the file is cut back to its last whole record,
 * so it stays a valid capture holding everything written before.
 */
int vsm_pcap_write(struct vsm_pcap_writer *writer, const struct vsm_rec *rec);
/*
 * The same for a record given in pieces (e.g. headers and a payload that live apart), so the
 * caller need not copy them together: at most VSM_PCAP_MAX_PARTS pieces, cap_len their total.
 */
#define VSM_PCAP_MAX_PARTS 4
struct iovec;
int vsm_pcap_write_parts(struct vsm_pcap_writer *writer, const struct timespec *ts, const struct iovec *parts,
			 int nparts, uint32_t wire_len);
int vsm_pcap_flush(struct vsm_pcap_writer *writer);
/* Bytes in the file so far, buffered ones included. */
uint64_t vsm_pcap_size(const struct vsm_pcap_writer *writer);
const char *vsm_pcap_writer_error(const struct vsm_pcap_writer *writer);
/* Flushes and closes; returns 0 or the first error seen. Frees the writer in all cases. */
int vsm_pcap_close_writer(struct vsm_pcap_writer *writer);

#endif
