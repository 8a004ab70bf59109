/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h: what the command-line front ends share: usage errors said the same way. */
#ifndef VSOCKMON_CLI_H
#define VSOCKMON_CLI_H

/* Prints "PROG: MESSAGE" and the --help hint to stderr, then exits with status 2. */
void cli_die_usage(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
