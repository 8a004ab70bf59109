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
int vsm_rotate_flush(struct vsm_rotator *rotator);
const char *vsm_rotate_error(const struct vsm_rotator *rotator);
/* Name of the file being written. */
const char *vsm_rotate_current(const struct vsm_rotator *rotator);
int vsm_rotate_close(struct vsm_rotator *rotator);

#endif
