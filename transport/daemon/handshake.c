/* SPDX-License-Identifier: GPL-2.0-or-later */
/* handshake.c: the host side's "CONNECT <port>" line: exactly the bytes it may hold, nothing ignored. */
#include <errno.h>
#include <stdbool.h>
#include <strings.h>

#include "handshake.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Length-bound and byte by byte, never through C strings: a NUL in the line ends a string, so
 * "CONNECT 5000\0junk" read as one would pass as "CONNECT 5000" (strtoul and friends stop there too).
 */
int handshake_parse_connect(const char *line, size_t len, uint32_t *ret_port)
{
	static const char keyword[] = "connect";
	uint64_t port = 0;
	size_t i = sizeof(keyword) - 1, digits = 0;

	if (len && line[len - 1] == '\r')
		len--;
	if (len <= i || strncasecmp(line, keyword, i) || !blank(line[i]))
		return -EINVAL;
	while (i < len && blank(line[i]))
		i++;
	for (; i < len && line[i] >= '0' && line[i] <= '9'; i++, digits++) {
		/* Ten digits hold any u32; more (leading zeros or not) are not a port. */
		if (digits == 10)
			return -ERANGE;
		port = port * 10 + (uint64_t)(line[i] - '0');
	}
	if (!digits)
		return -EINVAL;
	while (i < len && blank(line[i]))
		i++;
	if (i != len)
		return -EINVAL;
	if (port >= 0xffffffffull)
		return -ERANGE;
	*ret_port = (uint32_t)port;
	return 0;
}
