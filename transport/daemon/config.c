/* SPDX-License-Identifier: GPL-2.0-or-later */
/* config.c: a VM's keys (one table for --vm, the single-VM options and the YAML file), their checks, and vhost-device-vsock's YAML configuration file read with libyaml. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <yaml.h>

#include <cli.h>

#include "config.h"

#define CONFIG_MAX_BYTES	(1u << 20)	/* a file of 64 VMs is a few KiB; more is not a configuration */

/* ---- the keys ---- */

enum vm_key_id { K_GUEST_CID, K_SOCKET, K_UDS_PATH, K_TX_BUFFER_SIZE, K_QUEUE_SIZE, K_GROUPS, K_FORWARD };

enum vm_key_type {
	VK_NUMBER,		/* a whole number from min to max; in YAML an unquoted scalar */
	VK_TEXT,		/* a path or a list of names */
	VK_UNSUPPORTED,		/* vhost-device-vsock has it, vsockdev refuses it */
};

/*
 * vhost-device-vsock's keys (its main.rs: parse_vm_params() for --vm, struct ConfigFileVsockParam for
 * the file), spelled as --vm spells them; '_' stands for '-' everywhere.
 */
static const struct vm_key {
	enum vm_key_id id;
	const char *name;
	enum vm_key_type type;
	uint64_t min, max;
} vm_keys[] = {
	{ K_GUEST_CID, "guest-cid", VK_NUMBER, 3, UINT32_MAX - 1 },	/* 0-2 are the hypervisor's, host's, local */
	{ K_SOCKET, "socket", VK_TEXT, 0, 0 },
	{ K_UDS_PATH, "uds-path", VK_TEXT, 0, 0 },
	{ K_TX_BUFFER_SIZE, "tx-buffer-size", VK_NUMBER, 4096, 64u << 20 },
	{ K_QUEUE_SIZE, "queue-size", VK_NUMBER, 1, 32768 },		/* the virtio split ring's largest */
	{ K_GROUPS, "groups", VK_TEXT, 0, 0 },
	{ K_FORWARD, "forward-cid", VK_UNSUPPORTED, 0, 0 },
	{ K_FORWARD, "forward-listen", VK_UNSUPPORTED, 0, 0 },
};

#define N_VM_KEYS (sizeof(vm_keys) / sizeof(vm_keys[0]))

static bool key_is(const char *key, const char *name)
{
	for (; *key && *name; key++, name++)
		if ((*key == '_' ? '-' : *key) != *name)
			return false;
	return !*key && !*name;
}

static const struct vm_key *vm_key_find(const char *key)
{
	for (size_t i = 0; i < N_VM_KEYS; i++)
		if (key_is(key, vm_keys[i].name))
			return &vm_keys[i];
	return NULL;
}

/* The keys vsockdev takes, "a, b, c", with sep where a name has '-'. */
static void vm_key_names(char sep, char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_VM_KEYS && k < len; i++) {
		if (vm_keys[i].type == VK_UNSUPPORTED)
			continue;
		k += (size_t)snprintf(buf + k, len - k, "%s%s", k ? ", " : "", vm_keys[i].name);
	}
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = sep;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int set_text(char **field, const char *val, char *err, size_t errlen)
{
	char *copy = strdup(val);

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* groups=a+b: the VM's groups become these (vhost-device-vsock splits at '+'). */
static int set_groups(struct vm_config *c, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL;
	int ret = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	c->ngroups = 0;
	for (char *g = strtok_r(copy, "+", &save); g && !ret; g = strtok_r(NULL, "+", &save)) {
		if (c->ngroups == VSOCKDEV_MAX_GROUPS)
			ret = fail(err, errlen, "groups=%s: %d groups at the most", list, VSOCKDEV_MAX_GROUPS);
		else if (!(c->groups[c->ngroups] = strdup(g)))
			ret = -ENOMEM, snprintf(err, errlen, "out of memory");
		else
			c->ngroups++;
	}
	free(copy);
	if (!ret && !c->ngroups)
		ret = fail(err, errlen, "groups: give at least one name");
	return ret;
}

void vm_config_init(struct vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->tx_buffer_size = VSOCKDEV_DEFAULT_TX_BUFFER;
	c->queue_size = VSOCKDEV_DEFAULT_QUEUE_SIZE;
}

void vm_config_free(struct vm_config *c)
{
	free(c->socket);
	free(c->uds_path);
	for (unsigned i = 0; i < c->ngroups; i++)
		free(c->groups[i]);
	vm_config_init(c);
}

int vm_config_set(struct vm_config *c, const char *key, const char *val, char *err, size_t errlen)
{
	const struct vm_key *k = vm_key_find(key);
	uint64_t n = 0;
	char names[128];

	if (!k) {
		vm_key_names('-', names, sizeof(names));
		return fail(err, errlen, "unknown key '%s' (%s)", key, names);
	}
	if (k->type == VK_UNSUPPORTED)
		return fail(err, errlen, "%s (forwarding to the host's own vsock) is not supported: use uds-path", key);
	if (!*val)
		return fail(err, errlen, "%s has no value", key);
	if (k->type == VK_NUMBER && cli_parse_number(key, val, k->min, k->max, &n, err, errlen) < 0)
		return -EINVAL;
	switch (k->id) {
	case K_GUEST_CID:
		c->guest_cid = n;
		return 0;
	case K_SOCKET:
		return set_text(&c->socket, val, err, errlen);
	case K_UDS_PATH:
		return set_text(&c->uds_path, val, err, errlen);
	case K_TX_BUFFER_SIZE:
		c->tx_buffer_size = (uint32_t)n;
		return 0;
	case K_QUEUE_SIZE:
		c->queue_size = (unsigned)n;
		return 0;
	case K_GROUPS:
		return set_groups(c, val, err, errlen);
	case K_FORWARD:
		break;
	}
	return -EINVAL;
}

/* The longest path a Unix socket's address holds, and what "_<port>" adds to uds-path at the most. */
#define UNIX_PATH_MAX_LEN	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define UDS_PORT_SUFFIX_MAX	(sizeof("_4294967295") - 1)

int vm_config_check(struct vm_config *c, const struct vm_config *all, unsigned n, char *err, size_t errlen)
{
	int ret;

	/*
	 * A Unix socket's address holds sizeof(sun_path) - 1 bytes of path (unix(7)). The host side
	 * listens on uds-path and connects to "<uds-path>_<port>" for the guest, the port up to
	 * 4294967295: said now, not as a refusal of every guest connection to a long port later.
	 */
	if (strlen(c->socket) > UNIX_PATH_MAX_LEN)
		return fail(err, errlen, "socket is %zu bytes long: a Unix socket's path holds %zu at most (%s)",
			    strlen(c->socket), (size_t)UNIX_PATH_MAX_LEN, c->socket);
	if (c->uds_path && strlen(c->uds_path) > UNIX_PATH_MAX_LEN - UDS_PORT_SUFFIX_MAX)
		return fail(err, errlen, "uds-path is %zu bytes long, %zu at most: a Unix socket's path holds %zu and "
			    "the guest's connections go to uds-path_<port>, up to %zu more (%s)", strlen(c->uds_path),
			    (size_t)(UNIX_PATH_MAX_LEN - UDS_PORT_SUFFIX_MAX), (size_t)UNIX_PATH_MAX_LEN,
			    (size_t)UDS_PORT_SUFFIX_MAX, c->uds_path);
	/* vhost-device-vsock's DEFAULT_GROUP_NAME: VMs that name no group reach each other. */
	if (!c->ngroups && (ret = set_groups(c, "default", err, errlen)) < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		if (all[i].guest_cid == c->guest_cid)
			return fail(err, errlen, "guest CID %" PRIu64 " is given twice", c->guest_cid);
		if (!strcmp(all[i].socket, c->socket))
			return fail(err, errlen, "socket %s is given to two VMs", c->socket);
	}
	return 0;
}

/* ---- the YAML file ---- */

/*
 * vhost-device-vsock reads the file with figment into HashMap<String, Vec<ConfigFileVsockParam>> and
 * takes "vms": a mapping whose "vms" is a list of mappings, numbers as YAML numbers (figment's
 * extract() does not turn "4" into 4), the rest as strings, guest_cid 3 when missing. Unlike it (serde
 * ignores fields it does not know), an unknown key here is an error: a misspelt uds_path would
 * otherwise leave a VM without its host side, silently. The walk below is libyaml's event stream at a
 * fixed depth (file, vms, VM, value): anything else where a value belongs is an error, so nothing is
 * skipped and nothing recurses. Aliases are refused (libyaml reports them; expanding them is how
 * "billion laughs" files blow up).
 */

struct loader {
	yaml_parser_t parser;
	yaml_event_t event;
	bool have_event;
	const char *name;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int fail_at(struct loader *l, yaml_mark_t mark, const char *fmt, ...)
{
	int k = snprintf(l->err, l->errlen, "%s:%zu:%zu: ", l->name, mark.line + 1, mark.column + 1);
	va_list ap;

	if (k >= 0 && (size_t)k < l->errlen) {
		va_start(ap, fmt);
		vsnprintf(l->err + k, l->errlen - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int syntax_error(struct loader *l)
{
	const yaml_parser_t *p = &l->parser;
	const char *problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(l->err, l->errlen, "%s: out of memory", l->name);
		return -ENOMEM;
	case YAML_READER_ERROR:
		/* Bytes that are no text in the file's encoding: no line to name, only an offset. */
		snprintf(l->err, l->errlen, "%s: byte %zu: not YAML text: %s", l->name, p->problem_offset, problem);
		return -EINVAL;
	default:
		if (p->context)
			return fail_at(l, p->problem_mark, "not valid YAML: %s (%s at line %zu)", problem, p->context,
				       p->context_mark.line + 1);
		return fail_at(l, p->problem_mark, "not valid YAML: %s", problem);
	}
}

/* The next event in l->event; an alias is an error. */
static int next(struct loader *l)
{
	if (l->have_event)
		yaml_event_delete(&l->event);
	l->have_event = false;
	if (!yaml_parser_parse(&l->parser, &l->event))
		return syntax_error(l);
	l->have_event = true;
	if (l->event.type == YAML_ALIAS_EVENT)
		return fail_at(l, l->event.start_mark, "aliases (*%.64s) are not supported: write the value out in full",
			       (const char *)l->event.data.alias.anchor);
	return 0;
}

static const char *scalar(const struct loader *l)
{
	return (const char *)l->event.data.scalar.value;
}

/* YAML's null: an empty plain scalar, ~ or null (the 1.2 core schema, which serde_yaml follows). */
static bool is_null(const struct loader *l)
{
	const char *v = scalar(l);

	return l->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

/* What the current event starts, for "not X" in messages. */
static const char *what(const struct loader *l)
{
	switch (l->event.type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_SCALAR_EVENT:
		return is_null(l) ? "nothing (null)" : "a single value";
	default:
		return "something else";
	}
}

/* The current event is a key: a scalar, else an error. */
static int expect_key(struct loader *l)
{
	if (l->event.type != YAML_SCALAR_EVENT)
		return fail_at(l, l->event.start_mark, "a key must be a name, not %s", what(l));
	return 0;
}

/* One VM: the current event starts its mapping; it becomes vms[*n]. */
static int parse_vm(struct loader *l, struct vm_config *vms, unsigned max, unsigned *n)
{
	yaml_mark_t at = l->event.start_mark;
	struct vm_config *c;
	unsigned seen = 0;
	char key[24], msg[256], names[128];
	bool default_cid;
	int ret;

	if (*n == max)
		return fail_at(l, at, "%u VMs at the most: run a second vsockdev for more", max);
	c = &vms[(*n)++];
	vm_config_init(c);
	for (;;) {
		const struct vm_key *k;
		yaml_mark_t key_at, val_at;
		const char *val;

		if ((ret = next(l)) < 0)
			return ret;
		if (l->event.type == YAML_MAPPING_END_EVENT)
			break;
		if ((ret = expect_key(l)) < 0)
			return ret;
		key_at = l->event.start_mark;
		if (!(k = vm_key_find(scalar(l)))) {
			vm_key_names('_', names, sizeof(names));
			return fail_at(l, key_at, "unknown key '%.64s': a VM's keys are %s", scalar(l), names);
		}
		/* A known key is one of the table's names, with '-' or '_': short. */
		snprintf(key, sizeof(key), "%s", scalar(l));
		if (seen & (1u << (k - vm_keys)))
			return fail_at(l, key_at, "%s is given twice in this VM", key);
		seen |= 1u << (k - vm_keys);
		if ((ret = next(l)) < 0)
			return ret;
		val_at = l->event.start_mark;
		if (l->event.type != YAML_SCALAR_EVENT)
			return fail_at(l, val_at, "%s takes %s, not %s", key, k->type == VK_NUMBER ? "a number" : "a string",
				       what(l));
		val = is_null(l) ? "" : scalar(l);
		if (strlen(val) != (is_null(l) ? 0 : l->event.data.scalar.length))
			return fail_at(l, val_at, "%s: the value holds a NUL character", key);
		if (k->type == VK_NUMBER && *val && l->event.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return fail_at(l, val_at, "%s takes a number, not a string: write %.32s without quotes", key, val);
		if ((ret = vm_config_set(c, key, val, msg, sizeof(msg))) < 0) {
			fail_at(l, val_at, "%s", msg);
			return ret;
		}
	}
	if (!c->socket)
		return fail_at(l, at, "this VM has no socket: give socket: PATH, the vhost-user socket QEMU connects to");
	default_cid = !c->guest_cid;
	if (default_cid)
		c->guest_cid = VSOCKDEV_DEFAULT_GUEST_CID;
	for (unsigned i = 0; default_cid && i < *n - 1; i++)
		if (vms[i].guest_cid == c->guest_cid)
			return fail_at(l, at, "this VM has no guest_cid and another VM has the default, %" PRIu64
				       ": give each VM its guest_cid", c->guest_cid);
	if ((ret = vm_config_check(c, vms, *n - 1, msg, sizeof(msg))) < 0) {
		fail_at(l, at, "%s", msg);
		return ret;
	}
	return 0;
}

/* The value of "vms": a list of VMs (or null, an empty list). */
static int parse_vms(struct loader *l, struct vm_config *vms, unsigned max, unsigned *n)
{
	int ret;

	if (l->event.type == YAML_SCALAR_EVENT && is_null(l))
		return 0;
	if (l->event.type != YAML_SEQUENCE_START_EVENT)
		return fail_at(l, l->event.start_mark, "vms must be a list of VMs (- guest_cid: 3 ...), not %s", what(l));
	for (;;) {
		if ((ret = next(l)) < 0)
			return ret;
		if (l->event.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (l->event.type != YAML_MAPPING_START_EVENT)
			return fail_at(l, l->event.start_mark,
				       "a VM must be a mapping of keys (guest_cid: 3, socket: PATH, ...), not %s", what(l));
		if ((ret = parse_vm(l, vms, max, n)) < 0)
			return ret;
	}
}

static int parse_stream(struct loader *l, struct vm_config *vms, unsigned max, unsigned *n)
{
	yaml_mark_t top, vms_at = { 0 };
	bool have_vms = false;
	int ret;

	if ((ret = next(l)) < 0 || (ret = next(l)) < 0)	/* the stream's start, then a document's */
		return ret;
	if (l->event.type == YAML_STREAM_END_EVENT) {
		snprintf(l->err, l->errlen, "%s: the file is empty (or only comments): list the VMs under vms: "
			 "(see vsockdev(8))", l->name);
		return -EINVAL;
	}
	if ((ret = next(l)) < 0)
		return ret;
	top = l->event.start_mark;
	if (l->event.type == YAML_SCALAR_EVENT && is_null(l))
		return fail_at(l, top, "the document is empty: list the VMs under vms: (see vsockdev(8))");
	if (l->event.type != YAML_MAPPING_START_EVENT)
		return fail_at(l, top, "the file holds %s, not a mapping: it starts with vms: and a list of VMs "
			       "(see vsockdev(8))", what(l));
	for (;;) {
		if ((ret = next(l)) < 0)
			return ret;
		if (l->event.type == YAML_MAPPING_END_EVENT)
			break;
		if ((ret = expect_key(l)) < 0)
			return ret;
		if (strcmp(scalar(l), "vms"))
			return fail_at(l, l->event.start_mark, "unknown key '%.64s': the file's one key is vms, the list "
				       "of VMs", scalar(l));
		if (have_vms)
			return fail_at(l, l->event.start_mark, "vms is given twice: list every VM under one vms:");
		have_vms = true;
		vms_at = l->event.start_mark;
		if ((ret = next(l)) < 0 || (ret = parse_vms(l, vms, max, n)) < 0)
			return ret;
	}
	if (!have_vms)
		return fail_at(l, top, "no vms: list the VMs under vms: (see vsockdev(8))");
	if (!*n)
		return fail_at(l, vms_at, "vms lists no VM: give at least one (- guest_cid: 3 ...)");
	if ((ret = next(l)) < 0 || (ret = next(l)) < 0)	/* the document's end, then the stream's or another document */
		return ret;
	if (l->event.type != YAML_STREAM_END_EVENT)
		return fail_at(l, l->event.start_mark, "a second YAML document: the file must hold one");
	return 0;
}

int config_parse(const char *name, const char *text, size_t len, struct vm_config *vms, unsigned max,
		 unsigned *ret_n, char *err, size_t errlen)
{
	struct loader l = { .name = name, .err = err, .errlen = errlen };
	unsigned n = 0;
	int ret;

	*ret_n = 0;
	if (!yaml_parser_initialize(&l.parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
	ret = parse_stream(&l, vms, max, &n);
	if (l.have_event)
		yaml_event_delete(&l.event);
	yaml_parser_delete(&l.parser);
	if (ret < 0) {
		for (unsigned i = 0; i < n; i++)
			vm_config_free(&vms[i]);
		return ret;
	}
	*ret_n = n;
	return 0;
}

int config_load(const char *path, struct vm_config *vms, unsigned max, unsigned *ret_n, char *err, size_t errlen)
{
	size_t len = 0, cap = 4096;
	char *text = malloc(cap);
	int fd, ret;

	*ret_n = 0;
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
		free(text);
		return ret;
	}
	/* Read, not mapped: a pipe (--config <(...)) works as well as a file. */
	for (;;) {
		ssize_t k;

		if (len == cap) {
			char *bigger = cap <= CONFIG_MAX_BYTES ? realloc(text, cap * 2) : NULL;

			if (!bigger) {
				ret = cap <= CONFIG_MAX_BYTES ? -ENOMEM : -EFBIG;
				goto no_room;
			}
			text = bigger;
			cap *= 2;
		}
		k = read(fd, text + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
			goto out;
		}
		if (!k)
			break;
		len += (size_t)k;
	}
	if (len > CONFIG_MAX_BYTES) {
		ret = -EFBIG;
		goto no_room;
	}
	ret = config_parse(path, text, len, vms, max, ret_n, err, errlen);
	goto out;
no_room:
	if (ret == -EFBIG)
		snprintf(err, errlen, "%s: larger than 1 MiB: is it the right file?", path);
	else
		snprintf(err, errlen, "%s: out of memory", path);
out:
	close(fd);
	free(text);
	return ret;
}
