/* SPDX-License-Identifier: GPL-2.0-or-later */
/* timestamp.h: the one place packet times are bounded, subtracted and formatted, for every printer and tool. */
#ifndef VSOCKMON_TIMESTAMP_H
#define VSOCKMON_TIMESTAMP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <vsockmon/strbuf.h>

/*
 * The times a packet may carry: 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z. The upper bound keeps a
 * time in nanoseconds (2^63 ns is 2262) with over 60 years to spare for the deadlines the flow
 * analysis adds to it, and every year four digits long. A capture's clock outside it is broken (a
 * pcapng if_tsoffset or if_tsresol that makes no sense): the reader clamps it and flags the packet
 * VSM_PROB_TIMESTAMP.
 */
#define VSM_TS_MIN_SEC	INT64_C(0)
#define VSM_TS_MAX_SEC	INT64_C(7258118399)

/* Brings ts into the bounds above (and tv_nsec into 0..999999999). Returns whether it had to. */
bool vsm_ts_clamp(struct timespec *ts);
/* The time in ns since the epoch, clamped first: never overflows. */
int64_t vsm_ts_ns(const struct timespec *ts);
/* b - a in ns, both clamped first: never overflows. */
int64_t vsm_ts_diff_ns(const struct timespec *a, const struct timespec *b);
/* ns since the epoch back to a timespec (negative ns give the epoch). */
struct timespec vsm_ts_from_ns(int64_t ns);
/* a + b without overflow: saturates at INT64_MIN and INT64_MAX. */
int64_t vsm_ns_add(int64_t a, int64_t b);

/* ".frac": 9 digits when nsec, else 6. */
void vsm_ts_put_frac(struct vsm_strbuf *out, long tv_nsec, bool nsec);
/* "SECONDS.frac" since the epoch. */
void vsm_ts_put_epoch(struct vsm_strbuf *out, const struct timespec *ts, bool nsec);
/* "[-]H:MM:SS.frac": a length of time in hours, minutes and seconds. */
void vsm_ts_put_hms(struct vsm_strbuf *out, int64_t ns, bool nsec);
/*
 * " HH:MM:SS.frac" or "-HH:MM:SS.frac", tcpdump's -ttt and -ttttt: a sign column, then at least two
 * digits of hours. tcpdump's hours wrap at 24 (a day between packets shows as 00); these do not.
 */
void vsm_ts_put_offset(struct vsm_strbuf *out, int64_t ns, bool nsec);
/* "[YYYY-MM-DD ]HH:MM:SS.frac" in UTC or local time; the epoch form if the C library cannot convert it. */
void vsm_ts_put_clock(struct vsm_strbuf *out, const struct timespec *ts, bool date, bool local, bool nsec);
/* A length of time for people: "12.345 s", "3.4 ms", "17 us". */
void vsm_put_duration(struct vsm_strbuf *out, uint64_t ns);

#endif
