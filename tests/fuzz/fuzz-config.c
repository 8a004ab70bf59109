/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz-config.c: any bytes as vsockdev's --config file: the YAML loader never crashes or leaks, and what it accepts is a whole, valid set of VMs. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

/*
 * Input: the file's bytes, as they are. Room for 4 VMs, so "too many" is reached as well.
 * Checked: a refusal is -EINVAL (or -ENOMEM) with a message that names the file and leaves no VM;
 * an acceptance has 1 to 4 VMs, each with a socket, a CID, sizes and groups inside --vm's ranges,
 * no CID or socket twice. ASan's leak check covers what either leaves allocated.
 * tests/fuzz/corpus-config holds seeds: good files and one of each refusal. FUZZ_TRACE=1 prints
 * the result.
 */

#define MAX_VMS 4
#define NAME "fuzz.yaml"

static void check_vm(const struct vm_config *c)
{
	check(c->socket && *c->socket);
	check(!c->uds_path || *c->uds_path);
	check(c->guest_cid >= 3 && c->guest_cid <= UINT32_MAX - 1);
	check(c->tx_buffer_size >= 4096 && c->tx_buffer_size <= 64u << 20);
	check(c->queue_size >= 1 && c->queue_size <= 32768);
	check(c->ngroups >= 1 && c->ngroups <= VSOCKDEV_MAX_GROUPS);
	for (unsigned i = 0; i < c->ngroups; i++)
		check(c->groups[i] && *c->groups[i] && !strchr(c->groups[i], '+'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config vms[MAX_VMS];
	char err[512];
	unsigned n = 99;
	int ret;

	memset(err, 0x55, sizeof(err));
	ret = config_parse(NAME, (const char *)data, size, vms, MAX_VMS, &n, err, sizeof(err));
	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "config_parse: %d, %u VMs%s%.*s\n", ret, n, ret ? ": " : "",
			ret ? (int)sizeof(err) : 0, err);
	if (ret < 0) {
		check(ret == -EINVAL || ret == -ENOMEM);
		check(n == 0);
		check(memchr(err, '\0', sizeof(err)) != NULL);
		check(!strncmp(err, NAME ":", strlen(NAME ":")));
		return 0;
	}
	check(ret == 0);
	check(n >= 1 && n <= MAX_VMS);
	for (unsigned i = 0; i < n; i++) {
		check_vm(&vms[i]);
		for (unsigned j = 0; j < i; j++) {
			check(vms[i].guest_cid != vms[j].guest_cid);
			check(strcmp(vms[i].socket, vms[j].socket) != 0);
		}
	}
	for (unsigned i = 0; i < n; i++)
		vm_config_free(&vms[i]);
	return 0;
}
