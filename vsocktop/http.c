/* SPDX-License-Identifier: GPL-2.0-or-later */
/* http.c: the request side of vsocktop's metrics endpoint, a pure parser the server and its fuzzer share. */
#include <string.h>

#include "http.h"

/* Where the head ends (just past its empty line), or 0 when it has not yet. A bare LF counts as CRLF (RFC 9112, 2.2). */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* A token character of RFC 9110, 5.6.2, the method's alphabet. */
static bool tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

int top_http_parse_request(const char *buf, size_t len, struct top_http_request *ret)
{
	size_t end, i = 0, start;

	memset(ret, 0, sizeof(*ret));
	/* A client may send empty lines before the request line (RFC 9112, 2.2). */
	while (i < len && (buf[i] == '\r' || buf[i] == '\n'))
		i++;
	end = head_end(buf + i, len - i);
	if (!end)
		return len >= TOP_HTTP_MAX_HEAD ? TOP_HTTP_TOO_LARGE : 0;
	end += i;
	if (end > TOP_HTTP_MAX_HEAD)
		return TOP_HTTP_TOO_LARGE;
	/* method SP */
	for (start = i; i < end && tchar(buf[i]); i++)
		;
	if (i == start || i - start >= sizeof(ret->method) || buf[i] != ' ')
		return TOP_HTTP_BAD_REQUEST;
	memcpy(ret->method, buf + start, i - start);
	i++;
	/* request-target SP: origin-form only (what a scraper sends), the query dropped */
	start = i;
	if (i >= end || buf[i] != '/')
		return TOP_HTTP_BAD_REQUEST;
	while (i < end && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\n') {
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f)
			return TOP_HTTP_BAD_REQUEST;
		i++;
	}
	if (i >= end || buf[i] != ' ')
		return TOP_HTTP_BAD_REQUEST;
	{
		size_t tlen = i - start;
		const char *q = memchr(buf + start, '?', tlen);

		if (q)
			tlen = (size_t)(q - (buf + start));
		if (tlen >= sizeof(ret->path))
			return TOP_HTTP_BAD_REQUEST;	/* no path of ours is that long: 404 would do, 400 is as true */
		memcpy(ret->path, buf + start, tlen);
	}
	i++;
	/* HTTP-version: HTTP/1.0 and HTTP/1.1 are served */
	if (end - i < 9 || memcmp(buf + i, "HTTP/1.", 7) != 0 || buf[i + 7] < '0' || buf[i + 7] > '9')
		return end - i >= 5 && memcmp(buf + i, "HTTP/", 5) == 0 ? TOP_HTTP_VERSION : TOP_HTTP_BAD_REQUEST;
	i += 8;
	if (buf[i] == '\r')
		i++;
	if (i >= end || buf[i] != '\n')
		return TOP_HTTP_BAD_REQUEST;
	/* The header lines are not needed (no body, no keep-alive); a NUL anywhere makes the head bad. */
	if (memchr(buf, '\0', end))
		return TOP_HTTP_BAD_REQUEST;
	ret->head = strcmp(ret->method, "HEAD") == 0;
	return TOP_HTTP_OK;
}
