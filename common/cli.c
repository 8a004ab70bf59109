/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.c: what the command-line front ends share: the program's name, usage errors, whole-number arguments, rotation limits, joined arguments, signals. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>

#include "cli.h"

void cli_program_name(char **argv)
{
	char *slash;

	if (!argv || !argv[0])
		return;
	/* glibc's getopt prints argv[0] as it is; a trailing '/' leaves no name to take, so keep it all. */
	slash = strrchr(argv[0], '/');
	if (slash && slash[1])
		argv[0] = slash + 1;
	program_invocation_name = argv[0];
}

void cli_die_usage(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(2);
}

int cli_parse_number(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *ret,
		     char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < min || v > max) {
		snprintf(err, errlen, "invalid %s argument '%s': expected a whole number from %" PRIu64 " to %" PRIu64,
			 opt, arg, min, max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

uint64_t cli_number(const char *prog, const char *opt, const char *arg, uint64_t min, uint64_t max)
{
	char err[256];
	uint64_t v;

	if (cli_parse_number(opt, arg, min, max, &v, err, sizeof(err)) < 0)
		cli_die_usage(prog, "%s", err);
	return v;
}

double cli_real(const char *prog, const char *opt, const char *arg, double min, double max, bool above_min)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < min || (above_min && v == min) || v > max) {
		if (above_min)
			cli_die_usage(prog, "invalid %s argument '%s': expected a number above %g, at most %g", opt, arg,
				      min, max);
		cli_die_usage(prog, "invalid %s argument '%s': expected a number from %g to %g", opt, arg, min, max);
	}
	return v;
}

uint64_t cli_file_size(const char *prog, const char *arg)
{
	return cli_number(prog, "-C", arg, 1, UINT64_MAX / 1000000) * 1000000;
}

uint32_t cli_rotate_seconds(const char *prog, const char *arg)
{
	return (uint32_t)cli_number(prog, "-G", arg, 1, UINT32_MAX);
}

uint32_t cli_file_count(const char *prog, const char *arg)
{
	return (uint32_t)cli_number(prog, "-W", arg, 1, 1000000);
}

char *cli_join_args(int argc, char **argv)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int cli_signalfd(int extra_signal)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (extra_signal)
		sigaddset(&set, extra_signal);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
