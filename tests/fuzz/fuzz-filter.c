/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-filter.c: any bytes as a filter expression: the compiler to libpcap, its error messages and the compiled program. */
#include <errno.h>
#include <stdio.h>

#include <vsockmon/vsockmon.h>

#include "fuzz.h"

/*
 * Input: the expression's bytes (cut at the first NUL, as a C string). Checked: compiling gives 0
 * and a program, or -EINVAL with a message and an error span inside the expression; libpcap never
 * rejects what the parser accepted (that would be an emitter bug); the program runs on frames of
 * every length up to a whole RW frame. The size bound (VSM_FILTER_MAX_TERMS) keeps each input fast.
 * tests/fuzz/corpus-filter holds seeds: the language's forms and its errors. FUZZ_TRACE=1 prints
 * the libpcap text or the error.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *expr = strndup((const char *)data, size);
	struct vsm_filter_error err;
	struct vsm_filter *f = NULL;
	char msg[1024];
	int ret;

	check(expr != NULL);
	ret = vsm_filter_compile(expr, (uint32_t)(size & 0xff) * 4, &f, &err);
	if (ret < 0) {
		check(ret == -EINVAL || ret == -ENOMEM);
		check(!f);
		check(err.msg[0]);
		check(strncmp(err.msg, "libpcap rejected", 16) != 0);
		check(err.pos <= strlen(expr) && err.len <= strlen(expr) - err.pos);
		vsm_filter_error_format(expr, &err, msg, sizeof(msg));
		check(strlen(msg) < sizeof(msg));
		if (getenv("FUZZ_TRACE"))
			fprintf(stderr, "%s\n", msg);
	} else {
		/* A REQUEST from 3:40000 to 2:1234, then RW with 4 bytes: cut at every length. */
		static const uint8_t frame[80] = {
			3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x9c, 0, 0, 0xd2, 0x04, 0, 0,
			4, 0, 2, 0, 44, 0, 0, 0,
			3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x9c, 0, 0, 0xd2, 0x04, 0, 0,
			4, 0, 0, 0, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 'p', 'i', 'n', 'g',
		};

		check(ret == 0 && f);
		check(vsm_filter_pcap_text(f) != NULL);
		for (uint32_t len = 0; len <= sizeof(frame); len++) {
			struct vsm_rec rec = { .data = frame, .cap_len = len, .wire_len = sizeof(frame) };

			(void)vsm_filter_match(f, &rec);
		}
		if (getenv("FUZZ_TRACE"))
			fprintf(stderr, "%s\n", vsm_filter_pcap_text(f));
		vsm_filter_free(f);
	}
	free(expr);
	return 0;
}
