/* SPDX-License-Identifier: GPL-2.0-or-later */
/* privs.h: giving up root once the capture is open (tcpdump's -Z), and no_new_privs, for vsockdump and vsocktop. */
#ifndef VSOCKMON_PRIVS_H
#define VSOCKMON_PRIVS_H

#include <stddef.h>

/* The user a tool started as root switches to without -Z, when that user exists (tcpdump's "tcpdump"). */
#define CLI_DEFAULT_USER "vsockmon"

/* Sets no_new_privs: nothing this process executes can gain privileges (prctl(2) PR_SET_NO_NEW_PRIVS). */
int cli_no_new_privs(void);

/*
 * Switches to user's user ID, group ID and supplementary groups. user "root" (or the user already
 * running) keeps what the process has. user NULL: as root, CLI_DEFAULT_USER when it exists, else
 * nothing. Returns 0 with *ret_user the user now running (NULL: unchanged), or -errno with a message.
 */
int cli_drop_privileges(const char *user, const char **ret_user, char *err, size_t errlen);

#endif
