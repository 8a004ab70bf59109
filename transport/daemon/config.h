/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.h: a VM's configuration: its keys (one table for --vm, the single-VM options and the YAML file), checks, and the YAML file of vhost-device-vsock. */
#ifndef VSOCKDEV_CONFIG_H
#define VSOCKDEV_CONFIG_H

#include <stddef.h>

#include "daemon.h"

#define VSOCKDEV_MAX_VMS		64
/* What a Linux host's vsock socket advertises (af_vsock.c: VSOCK_DEFAULT_BUFFER_SIZE); vhost-device-vsock's is
 * 64 KiB (vsockdev(8), DIFFERENCES FROM VHOST-DEVICE-VSOCK, says why not that). */
#define VSOCKDEV_DEFAULT_TX_BUFFER	(256u * 1024)
#define VSOCKDEV_DEFAULT_QUEUE_SIZE	1024u
#define VSOCKDEV_DEFAULT_GUEST_CID	3	/* vhost-device-vsock's, when a VM names none */

/* The defaults, nothing allocated. */
void vm_config_init(struct vm_config *c);
void vm_config_free(struct vm_config *c);

/*
 * Sets one key of a VM as --vm (KEY=VALUE) and the YAML file give it: the key with '-' or '_'
 * (vhost-device-vsock's --vm takes both), the value as text. 0, or -EINVAL (-ENOMEM) with a message
 * naming the key as it was spelled.
 */
int vm_config_set(struct vm_config *c, const char *key, const char *val, char *err, size_t errlen);

/*
 * What a VM needs besides its own keys, once they are all set: the default group when it names
 * none, and a CID and a socket no earlier VM (all[0..n-1]) has. 0, or -EINVAL with a message.
 */
int vm_config_check(struct vm_config *c, const struct vm_config *all, unsigned n, char *err, size_t errlen);

/*
 * Reads the VMs of a vhost-device-vsock configuration file (YAML: a "vms" list of mappings with the
 * keys of --vm) into vms[0..max-1]. 0 with their number in *ret_n, the caller frees each with
 * vm_config_free(); or -errno with a message that names the file, line and column and what to do,
 * nothing left allocated.
 */
int config_load(const char *path, struct vm_config *vms, unsigned max, unsigned *ret_n, char *err, size_t errlen);
/* The same from len bytes of text; name stands for the file in messages. */
int config_parse(const char *name, const char *text, size_t len, struct vm_config *vms, unsigned max,
		 unsigned *ret_n, char *err, size_t errlen);

#endif
