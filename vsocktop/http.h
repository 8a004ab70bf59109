/* SPDX-License-Identifier: GPL-2.0-or-later */
/* http.h: the request side of vsocktop's metrics endpoint, a pure parser the server and its fuzzer share. */
#ifndef VSOCKTOP_HTTP_H
#define VSOCKTOP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* A request head longer than this is refused (431): a scrape's is a few hundred bytes. */
#define TOP_HTTP_MAX_HEAD 4096

struct top_http_request {
	char method[16];
	char path[256];		/* the target without its query */
	bool head;		/* HEAD: the answer has no body */
};

enum top_http_status { TOP_HTTP_OK = 200, TOP_HTTP_BAD_REQUEST = 400, TOP_HTTP_NOT_FOUND = 404,
		       TOP_HTTP_METHOD = 405, TOP_HTTP_TOO_LARGE = 431, TOP_HTTP_VERSION = 505 };

/*
 * Reads the request head in buf[0, len) (any bytes, no terminating NUL needed): a request line
 * "METHOD TARGET HTTP/1.x" (RFC 9112, section 3) and header lines up to an empty line. Returns 0 when
 * the head is not whole yet, or the status to answer with: TOP_HTTP_OK with *ret filled (the method
 * may still be one we do not serve), TOP_HTTP_BAD_REQUEST, TOP_HTTP_TOO_LARGE (no end within
 * TOP_HTTP_MAX_HEAD bytes) or TOP_HTTP_VERSION.
 */
int top_http_parse_request(const char *buf, size_t len, struct top_http_request *ret);

#endif
