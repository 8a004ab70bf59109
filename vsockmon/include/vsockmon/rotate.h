/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rotate.h: a pcap output rotated by size (-C), time (-G) and count (-W), named as tcpdump does. */
#ifndef VSOCKMON_ROTATE_H
#define VSOCKMON_ROTATE_H

#include <stdint.h>
#include <vsockmon/pcap.h>

struct vsm_rotate_opts {
	const char *path;		/* -w FILE; with -G it is a strftime(3) pattern */
	struct vsm_pcap_writer_opts pcap;
	uint64_t max_bytes;		/* -C: 0 = no size limit (tcpdump: units of 1,000,000 bytes) */
	uint32_t seconds;		/* -G: 0 = no time rotation */
	uint32_t max_files;		/* -W: 0 = unlimited; with -C, a ring of files */
};

struct vsm_rotator;

/* Opens the first file. Returns 0 or -errno with a message in errbuf. */
int vsm_rotate_open(const struct vsm_rotate_opts *opts, const struct timespec *now,
		    struct vsm_rotator **ret_rotator, char *errbuf, size_t errlen);
/*
 * Writes one record, opening the next file first when the record would pass -C or its time
 * is past the -G interval. Returns 0, 1 when -G with -W has written its last file (stop
 * capturing, as tcpdump does), or -errno (message in vsm_rotate_error).
 */
int vsm_rotate_write(struct vsm_rotator *rotator, const struct vsm_rec *rec);
/* The same for a record given in pieces, as vsm_pcap_write_parts() takes it (cap_len is their total). */
struct iovec;
int vsm_rotate_write_parts(struct vsm_rotator *rotator, const struct timespec *ts, const struct iovec *parts,
			   int nparts, uint32_t wire_len);
/*
 * For logrotate (SIGHUP): when the current file's name no longer names it (moved or removed), the
 * file is closed whole and a new one created under that name. Returns 1 when a new file was
 * started, 0 when there was nothing to do (the name still names the file, which is flushed; stdout;
 * a -G -W capture that is over), or -errno with a message in errbuf. A new file that cannot be
 * created leaves the old one in use and is not sticky; a failed flush is (as in vsm_rotate_write).
 */
int vsm_rotate_reopen(struct vsm_rotator *rotator, char *errbuf, size_t errlen);
int vsm_rotate_flush(struct vsm_rotator *rotator);
const char *vsm_rotate_error(const struct vsm_rotator *rotator);
/* Name of the file being written. */
const char *vsm_rotate_current(const struct vsm_rotator *rotator);
/* Bytes in the current file, buffered ones included. */
uint64_t vsm_rotate_size(const struct vsm_rotator *rotator);
/* Files created so far (1 after open); a change means the records before went to a file now closed whole. */
uint64_t vsm_rotate_files(const struct vsm_rotator *rotator);
int vsm_rotate_close(struct vsm_rotator *rotator);

#endif
