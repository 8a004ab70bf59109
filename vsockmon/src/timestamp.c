/* SPDX-License-Identifier: GPL-2.0-or-later */
/* timestamp.c: packet times bounded, subtracted and formatted without overflow, for every printer and tool. */
#include <vsockmon/timestamp.h>

#define NS_PER_S INT64_C(1000000000)

bool vsm_ts_clamp(struct timespec *ts)
{
	bool clamped = false;

	/* A tv_nsec out of range is no fraction of a second: bound it too. */
	if (ts->tv_nsec < 0 || ts->tv_nsec >= NS_PER_S) {
		ts->tv_nsec = ts->tv_nsec < 0 ? 0 : NS_PER_S - 1;
		clamped = true;
	}
	if ((int64_t)ts->tv_sec < VSM_TS_MIN_SEC) {
		ts->tv_sec = (time_t)VSM_TS_MIN_SEC;
		ts->tv_nsec = 0;
		clamped = true;
	} else if ((int64_t)ts->tv_sec > VSM_TS_MAX_SEC) {
		ts->tv_sec = (time_t)VSM_TS_MAX_SEC;
		ts->tv_nsec = NS_PER_S - 1;
		clamped = true;
	}
	return clamped;
}

int64_t vsm_ts_ns(const struct timespec *ts)
{
	struct timespec t = *ts;

	vsm_ts_clamp(&t);
	return (int64_t)t.tv_sec * NS_PER_S + t.tv_nsec;
}

int64_t vsm_ts_diff_ns(const struct timespec *a, const struct timespec *b)
{
	/* Both within 0..2^63 ns after clamping: the difference fits. */
	return vsm_ts_ns(b) - vsm_ts_ns(a);
}

struct timespec vsm_ts_from_ns(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	return (struct timespec){ .tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S) };
}

int64_t vsm_ns_add(int64_t a, int64_t b)
{
	int64_t sum;

	if (__builtin_add_overflow(a, b, &sum))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return sum;
}

void vsm_ts_put_frac(struct vsm_strbuf *out, long tv_nsec, bool nsec)
{
	uint64_t v = tv_nsec < 0 ? 0 : tv_nsec >= NS_PER_S ? (uint64_t)NS_PER_S - 1 : (uint64_t)tv_nsec;

	vsm_sb_putc(out, '.');
	if (nsec)
		vsm_sb_u64_pad(out, v, 9);
	else
		vsm_sb_u64_pad(out, v / 1000, 6);
}

void vsm_ts_put_epoch(struct vsm_strbuf *out, const struct timespec *ts, bool nsec)
{
	struct timespec t = *ts;

	vsm_ts_clamp(&t);
	vsm_sb_u64(out, (uint64_t)t.tv_sec);
	vsm_ts_put_frac(out, t.tv_nsec, nsec);
}

/* u ns as hours (at least hour_digits of them), minutes, seconds and the fraction. */
static void put_hms_unsigned(struct vsm_strbuf *out, uint64_t u, int hour_digits, bool nsec)
{
	vsm_sb_u64_pad(out, u / 3600000000000ull, hour_digits);
	vsm_sb_putc(out, ':');
	vsm_sb_u64_pad(out, u / 60000000000ull % 60, 2);
	vsm_sb_putc(out, ':');
	vsm_sb_u64_pad(out, u / 1000000000ull % 60, 2);
	vsm_ts_put_frac(out, (long)(u % 1000000000ull), nsec);
}

void vsm_ts_put_hms(struct vsm_strbuf *out, int64_t ns, bool nsec)
{
	/* -INT64_MIN does not exist: take the magnitude unsigned. */
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

	if (ns < 0)
		vsm_sb_putc(out, '-');
	put_hms_unsigned(out, u, 1, nsec);
}

void vsm_ts_put_offset(struct vsm_strbuf *out, int64_t ns, bool nsec)
{
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;

	/* The sign column keeps the times aligned whether the clock went back or not (tcpdump's ts_print). */
	vsm_sb_putc(out, ns < 0 ? '-' : ' ');
	put_hms_unsigned(out, u, 2, nsec);
}

void vsm_ts_put_clock(struct vsm_strbuf *out, const struct timespec *ts, bool date, bool local, bool nsec)
{
	struct timespec c = *ts;
	struct tm tm;
	time_t t;

	vsm_ts_clamp(&c);
	t = c.tv_sec;
	/* gmtime_r and localtime_r fail (NULL, tm untouched) when the year does not fit an int. */
	if (!(local ? localtime_r(&t, &tm) : gmtime_r(&t, &tm))) {
		vsm_ts_put_epoch(out, &c, nsec);
		return;
	}
	if (date) {
		vsm_sb_u64_pad(out, (uint64_t)tm.tm_year + 1900, 4);
		vsm_sb_putc(out, '-');
		vsm_sb_u64_pad(out, (uint64_t)tm.tm_mon + 1, 2);
		vsm_sb_putc(out, '-');
		vsm_sb_u64_pad(out, (uint64_t)tm.tm_mday, 2);
		vsm_sb_putc(out, ' ');
	}
	vsm_sb_u64_pad(out, (uint64_t)tm.tm_hour, 2);
	vsm_sb_putc(out, ':');
	vsm_sb_u64_pad(out, (uint64_t)tm.tm_min, 2);
	vsm_sb_putc(out, ':');
	vsm_sb_u64_pad(out, (uint64_t)tm.tm_sec, 2);
	vsm_ts_put_frac(out, c.tv_nsec, nsec);
}

void vsm_put_duration(struct vsm_strbuf *out, uint64_t ns)
{
	if (ns >= 1000000000ull || ns == 0) {
		vsm_sb_u64(out, ns / 1000000000ull);
		vsm_sb_putc(out, '.');
		vsm_sb_u64_pad(out, ns % 1000000000ull / 1000000, 3);
		vsm_sb_puts(out, " s");
	} else if (ns >= 1000000) {
		vsm_sb_u64(out, ns / 1000000);
		vsm_sb_putc(out, '.');
		vsm_sb_u64(out, ns % 1000000 / 100000);
		vsm_sb_puts(out, " ms");
	} else {
		vsm_sb_u64(out, ns / 1000);
		vsm_sb_puts(out, " us");
	}
}
