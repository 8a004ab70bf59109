/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-top-http.c: any bytes as a request to vsocktop's metrics endpoint: the parser never reads past them, and its answer is consistent however they arrive. */
#include <string.h>

#include "fuzz.h"
#include "http.h"

/*
 * Input: the bytes a client sends, in a buffer of exactly that size (ASan sees a read past it).
 * Checked: the status is 0 or one of the parser's; with 200, the method and path are terminated, the
 * path starts with '/' and holds no '?', space or control byte; a head found whole stays whole, with
 * the same answer, when more bytes follow it (the server parses each time a read adds bytes), and
 * every prefix of a whole head is either not whole yet or a refusal. tests/fuzz/corpus-top-http
 * holds seeds (Prometheus' scrape, curl's, and refusals). FUZZ_TRACE=1 prints the result.
 */

static int parse(const uint8_t *data, size_t size, struct top_http_request *req)
{
	/* A copy of exactly size bytes, so that ASan catches any read beyond. */
	char *buf = malloc(size ? size : 1);
	int status;

	check(buf != NULL);
	memcpy(buf, data, size);
	status = top_http_parse_request(buf, size, req);
	free(buf);
	return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct top_http_request req, again;
	int status = parse(data, size, &req);

	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "top_http_parse_request: %d %s %s\n", status, req.method, req.path);
	check(status == 0 || status == TOP_HTTP_OK || status == TOP_HTTP_BAD_REQUEST || status == TOP_HTTP_TOO_LARGE ||
	      status == TOP_HTTP_VERSION);
	check(status != 0 || size < TOP_HTTP_MAX_HEAD);
	if (status == TOP_HTTP_OK) {
		check(memchr(req.method, '\0', sizeof(req.method)) && req.method[0]);
		check(memchr(req.path, '\0', sizeof(req.path)) && req.path[0] == '/');
		for (const char *p = req.path; *p; p++)
			check(*p != '?' && (unsigned char)*p > 0x20 && *p != 0x7f);
		check(req.head == (strcmp(req.method, "HEAD") == 0));
	}
	/* Prefixes: the server parses what it has after every read. */
	for (size_t cut = 0; cut < size && cut < 512; cut += 1 + cut / 8) {
		int s = parse(data, cut, &again);

		if (s == TOP_HTTP_OK && status == TOP_HTTP_OK) {
			/* a shorter head already whole is the same request */
			check(strcmp(again.method, req.method) == 0 && strcmp(again.path, req.path) == 0);
		}
		check(s == 0 || status != 0);
	}
	return 0;
}
