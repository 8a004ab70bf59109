/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h: what the command-line front ends share: the program's name, usage errors said the same way, numbers, rotation limits, joined arguments, signals. */
#ifndef VSOCKMON_CLI_H
#define VSOCKMON_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Call first in main(): argv[0] becomes its last component, so that getopt's messages ("vsockdump:
 * unrecognized option") and error(3)'s name the program, not the path it was started by (a build
 * folder's, /usr/local/bin/...). program_invocation_name follows.
 */
void cli_program_name(char **argv);

/* Prints "PROG: MESSAGE" and the --help hint to stderr, then exits with status 2. */
void cli_die_usage(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* A whole number from min to max, or a usage error (exit 2) naming opt. */
uint64_t cli_number(const char *prog, const char *opt, const char *arg, uint64_t min, uint64_t max);
/*
 * The same without exiting, for callers that add to the message (a file's line): 0 with the number in
 * *ret, or -EINVAL with cli_number's message in err.
 */
int cli_parse_number(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *ret,
		     char *err, size_t errlen);
/*
 * A decimal number with an optional fraction (seconds, a speed, a factor) from min to max, or a usage
 * error (exit 2) naming opt; with above_min, min itself is refused (min 0: a positive number).
 */
double cli_real(const char *prog, const char *opt, const char *arg, double min, double max, bool above_min);
/*
 * tcpdump's -C, -G and -W, taken and checked the same way by vsockdump and vsockdev (for rotate.h's
 * max_bytes, seconds and max_files), or a usage error: -C in millions (1,000,000) of bytes, returned
 * in bytes; -G in seconds; -W a number of files up to 1000000. Each is at least 1.
 */
uint64_t cli_file_size(const char *prog, const char *arg);
uint32_t cli_rotate_seconds(const char *prog, const char *arg);
uint32_t cli_file_count(const char *prog, const char *arg);
/* The arguments joined with spaces (a filter expression given as several words); NULL when out of memory. */
char *cli_join_args(int argc, char **argv);
/*
 * Blocks SIGINT, SIGTERM, SIGHUP and extra_signal (0: none) and returns a non-blocking signalfd that
 * reads them, or -errno: the main loop polls it and stops cleanly, with no handler and no global flag.
 */
int cli_signalfd(int extra_signal);

#endif
