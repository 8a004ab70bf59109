/* SPDX-License-Identifier: GPL-2.0-or-later */
/* handshake.h: the host side's "CONNECT <port>" line, parsed by a pure function the daemon and its fuzz target share. */
#ifndef VSOCKDEV_HANDSHAKE_H
#define VSOCKDEV_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

/* The longest line taken, its newline included; a longer one is refused before it ends. */
#define HANDSHAKE_MAX_LINE	39

/*
 * The len bytes of a line without its newline: "CONNECT", one or more blanks (space, tab), the port
 * in decimal, optional blanks and one optional final carriage return; the keyword in any case, as
 * Firecracker's and vhost-device-vsock's peers send it. Any other byte (a NUL, a control character,
 * trailing words) makes the whole line wrong. Returns 0 and the port, -EINVAL for a line that is not
 * a CONNECT, -ERANGE for a port past 4294967294 (the last one, VMADDR_PORT_ANY, is no port).
 */
int handshake_parse_connect(const char *line, size_t len, uint32_t *ret_port);

#endif
