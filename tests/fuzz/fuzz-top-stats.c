/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-top-stats.c: any bytes as vsockdev's statistics document: vsocktop's reader never crashes or leaks, and what it accepts is bounded and consistent. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "fuzz.h"

/*
 * Input: the bytes vsockdev's statistics socket would send. Each input is read twice, the second time
 * as the next document with the first as prev, one second later, so the rate code runs too.
 * Checked: a refusal is -EINVAL with a message and nothing allocated; an acceptance is version 1,
 * each VM with at most two queues whose occupancy is within the queue size, strings terminated,
 * rates never negative. tests/fuzz/corpus-top-stats holds seeds (vsockdev's own output, and
 * refusals). FUZZ_TRACE=1 prints the result.
 */

static void check_devices(const struct top_devices *d)
{
	check(d->have);
	check(d->version == 1);
	check(d->nvm == 0 || d->vm);
	for (size_t i = 0; i < d->nvm; i++) {
		const struct top_device *v = &d->vm[i];

		check(v->nqueues >= 0 && v->nqueues <= 2);
		for (int q = 0; q < v->nqueues; q++) {
			check(!v->queue[q].size || v->queue[q].occupancy <= v->queue[q].size);
			check(memchr(v->queue[q].name, '\0', sizeof(v->queue[q].name)) != NULL);
		}
		check(memchr(v->socket, '\0', sizeof(v->socket)) != NULL);
		check(memchr(v->last_error, '\0', sizeof(v->last_error)) != NULL);
		check(v->from_guest_pps >= 0 && v->to_guest_pps >= 0 && v->from_guest_bps >= 0 && v->to_guest_bps >= 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct timespec t0 = { .tv_sec = 100 }, t1 = { .tv_sec = 101 };
	struct top_devices first, second;
	char err[256];
	int ret, ret2;

	memset(err, 0x55, sizeof(err));
	ret = top_devices_parse((const char *)data, size, NULL, &t0, &first, err, sizeof(err));
	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "top_devices_parse: %d%s%s\n", ret, ret ? ": " : "", ret ? err : "");
	if (ret < 0) {
		check(ret == -EINVAL);
		check(memchr(err, '\0', sizeof(err)) != NULL && err[0]);
		return 0;
	}
	check(ret == 0);
	check_devices(&first);
	ret2 = top_devices_parse((const char *)data, size, &first, &t1, &second, err, sizeof(err));
	check(ret2 == 0);
	check_devices(&second);
	check(second.nvm == first.nvm);
	/* The same counters a second later: every rate is zero. */
	for (size_t i = 0; i < second.nvm; i++)
		check(second.vm[i].from_guest_pps == 0 && second.vm[i].to_guest_bps == 0);
	free(first.vm);
	free(second.vm);
	return 0;
}
