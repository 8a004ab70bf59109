/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rotate.c: a pcap output rotated by size (-C), time (-G) and count (-W), named as tcpdump does. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <vsockmon/rotate.h>
#include <vsockmon/wire.h>

/*
 * tcpdump's naming (tcpdump(1) -C, -G, -W), followed here:
 *  - the name is -w FILE, or with -G FILE expanded by strftime(3) at the time the file is opened;
 *  - with -C a number is appended: nothing for the first file, then 1, 2, 3... With -W N the
 *    numbers are zero-padded to the width of N-1 and start at 0, and after N-1 they wrap to 0
 *    (a ring, older files are overwritten);
 *  - with -G and -C, the number restarts at the first file of every time slot;
 *  - with -G and -W but no -C, capture stops when the W-th file is complete.
 * Differences, on purpose:
 *  - strftime uses UTC (gmtime_r), not local time: names do not depend on TZ or DST;
 *  - -G uses record times, not the wall clock, so "-r old.pcap -w x -G 60" splits old traffic
 *    by minute; a record older than the slot start (clock stepped back, or an old file) moves
 *    the slot start back instead of rotating;
 *  - -C rotates before a record that would make the file larger than -C (tcpdump lets the
 *    last record cross it); a record alone bigger than -C still goes into a file of its own.
 */
#define MSG_LEN	768

struct vsm_rotator {
	struct vsm_pcap_writer *writer;
	uint64_t max_bytes;
	uint32_t seconds, max_files;
	uint32_t snaplen;	/* what the writer clamps cap_len to, for the -C arithmetic */
	int width;		/* digits of the -C number: those of max_files - 1 */
	time_t slot_start;	/* -G: start of the current time slot */
	time_t slot_name_time;	/* time the current slot's name was expanded with */
	uint32_t time_files;	/* -G: files completed because of time */
	uint32_t size_index;	/* -C: number of the current file in its slot */
	uint64_t file_nrec;	/* records in the current file */
	uint64_t files;		/* files created so far: rotations and reopens count */
	dev_t dev;		/* the current file's identity, to tell at a reopen whether it was moved */
	ino_t ino;
	bool stopped;
	int err;
	struct vsm_pcap_writer_opts pcap;
	char *pattern;
	char current[PATH_MAX];
	char msg[MSG_LEN];
};

__attribute__((format(printf, 3, 4)))
static int rot_fail(struct vsm_rotator *rot, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rot->msg, sizeof(rot->msg), fmt, ap);
	va_end(ap);
	rot->err = err;
	return err;
}

/* The user's -w pattern is a strftime format by design (tcpdump -G): tell -Wformat-nonliteral so. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static size_t expand(char *buf, size_t len, const char *pattern, const struct tm *tm)
{
	return strftime(buf, len, pattern, tm);
}
#pragma GCC diagnostic pop

/* The name of the file for a slot expanded at time t, with -C number index. */
static int make_name(struct vsm_rotator *rot, time_t t, uint32_t index, char *buf, size_t len)
{
	char base[PATH_MAX];
	int n;

	if (rot->seconds) {
		struct tm tm;

		if (!gmtime_r(&t, &tm))
			return rot_fail(rot, -EOVERFLOW, "%s: time %lld cannot be expanded", rot->pattern, (long long)t);
		/* The pattern is not empty (checked at open), so 0 can only mean "too long". */
		if (expand(base, sizeof(base), rot->pattern, &tm) == 0)
			return rot_fail(rot, -ENAMETOOLONG, "%s: expanded file name too long", rot->pattern);
	} else {
		snprintf(base, sizeof(base), "%s", rot->pattern);
	}
	if (!rot->max_bytes || (index == 0 && rot->width == 0))
		n = snprintf(buf, len, "%s", base);
	else
		n = snprintf(buf, len, "%s%0*u", base, rot->width, index);
	if (n < 0 || (size_t)n >= len)
		return rot_fail(rot, -ENAMETOOLONG, "%s: file name too long", base);
	return 0;
}

/* Notes which file the current name stands for now; a reopen compares it with what the name is then. */
static void note_identity(struct vsm_rotator *rot)
{
	struct stat st;

	rot->files++;
	if (stat(rot->current, &st) == 0) {
		rot->dev = st.st_dev;
		rot->ino = st.st_ino;
	} else {
		rot->dev = 0;
		rot->ino = 0;
	}
}

/*
 * Switches to the file name: the current file is flushed first (an error keeps it as it is)
 * and closed only once the new one exists, so a failed rotation loses nothing written.
 */
static int switch_to(struct vsm_rotator *rot, const char *name)
{
	struct vsm_pcap_writer *w;
	char err[MSG_LEN] = "";
	int ret;

	ret = vsm_pcap_flush(rot->writer);
	if (ret < 0)
		return rot_fail(rot, ret, "%s", vsm_pcap_writer_error(rot->writer));
	ret = vsm_pcap_create(name, &rot->pcap, &w, err, sizeof(err));
	if (ret < 0)
		return rot_fail(rot, ret, "%s (rotation failed; %s kept as it is)", err, rot->current);
	ret = vsm_pcap_close_writer(rot->writer);
	rot->writer = w;
	if (ret < 0)
		return rot_fail(rot, ret, "%s: closing: %s", rot->current, strerror(-ret));
	snprintf(rot->current, sizeof(rot->current), "%s", name);
	rot->file_nrec = 0;
	note_identity(rot);
	return 0;
}

int vsm_rotate_open(const struct vsm_rotate_opts *opts, const struct timespec *now,
		    struct vsm_rotator **ret_rotator, char *errbuf, size_t errlen)
{
	struct vsm_rotator *rot;
	struct timespec ts;
	int ret;

	if (!opts || !ret_rotator || !opts->path || !*opts->path) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "no output file name");
		return -EINVAL;
	}
	if (strcmp(opts->path, "-") == 0 && (opts->max_bytes || opts->seconds)) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "-C and -G need a file name, not - (stdout)");
		return -EINVAL;
	}
	rot = calloc(1, sizeof(*rot));
	if (!rot || !(rot->pattern = strdup(opts->path))) {
		free(rot);
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!now) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = &ts;
	}
	rot->pcap = opts->pcap;
	rot->max_bytes = opts->max_bytes;
	rot->seconds = opts->seconds;
	rot->max_files = opts->max_files;
	rot->snaplen = opts->pcap.snaplen ? opts->pcap.snaplen : VSM_DEFAULT_SNAPLEN;
	for (uint32_t n = rot->max_files ? rot->max_files - 1 : 0; n; n /= 10)
		rot->width++;
	rot->slot_start = rot->slot_name_time = now->tv_sec;
	ret = make_name(rot, now->tv_sec, 0, rot->current, sizeof(rot->current));
	if (ret == 0)
		ret = vsm_pcap_create(rot->current, &rot->pcap, &rot->writer, rot->msg, sizeof(rot->msg));
	if (ret < 0) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s", rot->msg);
		free(rot->pattern);
		free(rot);
		return ret;
	}
	note_identity(rot);
	*ret_rotator = rot;
	return 0;
}

/*
 * Opens the next file when a record of time t and cap_len bytes would pass -C or is past the -G
 * interval. Returns 0, 1 when -G with -W has written its last file, or -errno.
 */
static int before_record(struct vsm_rotator *rot, time_t t, uint32_t cap_len)
{
	char name[PATH_MAX];
	int ret;

	if (rot->err)
		return rot->err;
	if (rot->stopped)
		return 1;
	if (rot->seconds) {
		if (t < rot->slot_start) {
			rot->slot_start = t;
		} else if ((uint64_t)t - (uint64_t)rot->slot_start >= rot->seconds) {
			/* (Unsigned: t >= slot_start, and hostile times must not overflow a signed subtraction.) */
			/* As tcpdump: with -W and no -C, the W-th file was the last one. */
			if (rot->max_files && !rot->max_bytes && rot->time_files + 1 >= rot->max_files) {
				rot->time_files++;
				rot->stopped = true;
				return 1;
			}
			ret = make_name(rot, t, 0, name, sizeof(name));
			if (ret == 0)
				ret = switch_to(rot, name);
			if (ret < 0)
				return ret;
			rot->time_files++;
			rot->size_index = 0;
			rot->slot_start = rot->slot_name_time = t;
		}
	}
	if (rot->max_bytes && rot->file_nrec) {
		uint32_t caplen = cap_len < rot->snaplen ? cap_len : rot->snaplen;

		/* 16: the pcap record header. */
		if (vsm_pcap_size(rot->writer) + 16 + caplen > rot->max_bytes) {
			uint32_t index = rot->size_index + 1;

			if (rot->max_files && index >= rot->max_files)
				index = 0;
			ret = make_name(rot, rot->slot_name_time, index, name, sizeof(name));
			if (ret == 0)
				ret = switch_to(rot, name);
			if (ret < 0)
				return ret;
			rot->size_index = index;
		}
	}
	return 0;
}

int vsm_rotate_write(struct vsm_rotator *rot, const struct vsm_rec *rec)
{
	int ret;

	if (!rot || !rec)
		return -EINVAL;
	ret = before_record(rot, rec->ts.tv_sec, rec->cap_len);
	if (ret != 0)
		return ret;
	ret = vsm_pcap_write(rot->writer, rec);
	if (ret < 0)
		return rot_fail(rot, ret, "%s", vsm_pcap_writer_error(rot->writer));
	rot->file_nrec++;
	return 0;
}

int vsm_rotate_write_parts(struct vsm_rotator *rot, const struct timespec *ts, const struct iovec *parts,
			   int nparts, uint32_t wire_len)
{
	uint64_t cap_len = 0;
	int ret;

	if (!rot || !ts || !parts || nparts <= 0)
		return -EINVAL;
	for (int i = 0; i < nparts; i++)
		cap_len += parts[i].iov_len;
	ret = before_record(rot, ts->tv_sec, cap_len > UINT32_MAX ? UINT32_MAX : (uint32_t)cap_len);
	if (ret != 0)
		return ret;
	ret = vsm_pcap_write_parts(rot->writer, ts, parts, nparts, wire_len);
	if (ret < 0)
		return rot_fail(rot, ret, "%s", vsm_pcap_writer_error(rot->writer));
	rot->file_nrec++;
	return 0;
}

/*
 * For logrotate's "create" way (mv FILE FILE.1; kill -HUP): if the current name no longer names
 * the file being written (moved or removed), a new file is created under it and the old one,
 * flushed first, is closed whole. If it still does (a HUP with nothing moved), the file is only
 * flushed: creating it again would truncate what it holds. A new file that cannot be created
 * leaves the old one in use, and is not a sticky error: the next reopen tries again.
 */
int vsm_rotate_reopen(struct vsm_rotator *rot, char *errbuf, size_t errlen)
{
	struct vsm_pcap_writer *w;
	struct stat st;
	int ret;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!rot)
		return -EINVAL;
	if (rot->err) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s", rot->msg);
		return rot->err;
	}
	ret = vsm_pcap_flush(rot->writer);
	if (ret < 0) {
		rot_fail(rot, ret, "%s", vsm_pcap_writer_error(rot->writer));
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s", rot->msg);
		return ret;
	}
	if (strcmp(rot->pattern, "-") == 0 || rot->stopped)
		return 0;	/* stdout, or a -G -W capture that is over: no file to start */
	if (stat(rot->current, &st) == 0 && st.st_dev == rot->dev && st.st_ino == rot->ino)
		return 0;
	ret = vsm_pcap_create(rot->current, &rot->pcap, &w, errbuf, errlen);
	if (ret < 0)
		return ret;
	ret = vsm_pcap_close_writer(rot->writer);
	rot->writer = w;
	rot->file_nrec = 0;
	note_identity(rot);
	if (ret < 0) {
		/* Flushed just before: only the close itself failed, and the new file is in use. */
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "closing the moved file: %s", strerror(-ret));
		return ret;
	}
	return 1;
}

int vsm_rotate_flush(struct vsm_rotator *rot)
{
	int ret;

	if (!rot)
		return -EINVAL;
	if (rot->err)
		return rot->err;
	ret = vsm_pcap_flush(rot->writer);
	if (ret < 0)
		return rot_fail(rot, ret, "%s", vsm_pcap_writer_error(rot->writer));
	return 0;
}

const char *vsm_rotate_error(const struct vsm_rotator *rot)
{
	if (!rot)
		return "no output";
	return rot->err ? rot->msg : "no error";
}

const char *vsm_rotate_current(const struct vsm_rotator *rot)
{
	return rot ? rot->current : "";
}

uint64_t vsm_rotate_size(const struct vsm_rotator *rot)
{
	return rot ? vsm_pcap_size(rot->writer) : 0;
}

uint64_t vsm_rotate_files(const struct vsm_rotator *rot)
{
	return rot ? rot->files : 0;
}

int vsm_rotate_close(struct vsm_rotator *rot)
{
	int ret;

	if (!rot)
		return 0;
	ret = vsm_pcap_close_writer(rot->writer);
	if (rot->err)
		ret = rot->err;
	free(rot->pattern);
	free(rot);
	return ret;
}
