/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test-config.c: vsockdev's VM keys and vhost-device-vsock's YAML configuration file: what it accepts, and every error with its line and column. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

#define MAX 8

struct parsed {
	struct vm_config vms[MAX];
	unsigned n;
	char err[512];
};

static int parse(struct parsed *p, const char *yaml)
{
	memset(p, 0, sizeof(*p));
	return config_parse("t.yaml", yaml, strlen(yaml), p->vms, MAX, &p->n, p->err, sizeof(p->err));
}

static void parsed_free(struct parsed *p)
{
	for (unsigned i = 0; i < p->n; i++)
		vm_config_free(&p->vms[i]);
}

static void assert_groups(const struct vm_config *c, unsigned n, ...)
{
	va_list ap;

	assert_int_equal(c->ngroups, n);
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		assert_string_equal(c->groups[i], va_arg(ap, const char *));
	va_end(ap);
}

/* ---- files vsockdev takes ---- */

/* The least a VM needs; the rest are vhost-device-vsock's defaults, and vsockdev's tx-buffer-size. */
static void test_one_vm_defaults(void **state)
{
	struct parsed p;

	assert_int_equal(parse(&p, "vms:\n  - socket: /run/vm.vhost\n"), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.vms[0].guest_cid, 3);
	assert_string_equal(p.vms[0].socket, "/run/vm.vhost");
	assert_null(p.vms[0].uds_path);
	assert_int_equal(p.vms[0].tx_buffer_size, 262144);
	assert_int_equal(p.vms[0].queue_size, 1024);
	assert_groups(&p.vms[0], 1, "default");
	parsed_free(&p);
}

/* The layout of vhost-device-vsock's README: four-space indent, every key, groups joined by '+'. */
static void test_several_vms(void **state)
{
	struct parsed p;
	const char *yaml =
		"# two guests that share group1\n"
		"vms:\n"
		"    - guest_cid: 3\n"
		"      socket: /tmp/vhost3.socket   # QEMU's chardev\n"
		"      uds_path: /tmp/vm3.vsock\n"
		"      tx_buffer_size: 65536\n"
		"      queue_size: 1024\n"
		"      groups: group1+groupA\n"
		"\n"
		"    - guest_cid: 4\n"
		"      socket: /tmp/vhost4.socket\n"
		"      uds_path: /tmp/vm4.vsock\n"
		"      tx_buffer_size: 32768\n"
		"      queue_size: 256\n"
		"      groups: group1\n";

	assert_int_equal(parse(&p, yaml), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.vms[0].guest_cid, 3);
	assert_string_equal(p.vms[0].socket, "/tmp/vhost3.socket");
	assert_string_equal(p.vms[0].uds_path, "/tmp/vm3.vsock");
	assert_int_equal(p.vms[0].tx_buffer_size, 65536);
	assert_int_equal(p.vms[0].queue_size, 1024);
	assert_groups(&p.vms[0], 2, "group1", "groupA");
	assert_int_equal(p.vms[1].guest_cid, 4);
	assert_string_equal(p.vms[1].socket, "/tmp/vhost4.socket");
	assert_string_equal(p.vms[1].uds_path, "/tmp/vm4.vsock");
	assert_int_equal(p.vms[1].tx_buffer_size, 32768);
	assert_int_equal(p.vms[1].queue_size, 256);
	assert_groups(&p.vms[1], 1, "group1");
	parsed_free(&p);
}

/* '-' as --vm spells keys, flow style, quoted strings (spaces kept), document markers, CIDs up to 2^32 - 2. */
static void test_spellings(void **state)
{
	struct parsed p;
	const char *yaml =
		"---\n"
		"\"vms\":\n"
		"- {guest-cid: 4294967294, socket: '/run/a b.vhost', uds-path: \"/run/a\\tb.vsock\"}\n"
		"- guest_cid: 7\n"
		"  tx-buffer-size: 4096\n"
		"  queue-size: 32768\n"
		"  socket: \"/run/7\"\n"
		"  groups: 'x+y+z'\n"
		"...\n";

	assert_int_equal(parse(&p, yaml), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.vms[0].guest_cid, 4294967294u);
	assert_string_equal(p.vms[0].socket, "/run/a b.vhost");
	assert_string_equal(p.vms[0].uds_path, "/run/a\tb.vsock");
	assert_int_equal(p.vms[1].guest_cid, 7);
	assert_int_equal(p.vms[1].tx_buffer_size, 4096);
	assert_int_equal(p.vms[1].queue_size, 32768);
	assert_string_equal(p.vms[1].socket, "/run/7");
	assert_groups(&p.vms[1], 3, "x", "y", "z");
	parsed_free(&p);
}

/* ---- files it refuses: the exact message, with the line and column of the culprit ---- */

static const struct bad {
	const char *what, *yaml, *msg;
} bad_files[] = {
	{ "empty", "",
	  "t.yaml: the file is empty (or only comments): list the VMs under vms: (see vsockdev(8))" },
	{ "comments only", "# nothing yet\n\n# still nothing\n",
	  "t.yaml: the file is empty (or only comments): list the VMs under vms: (see vsockdev(8))" },
	{ "an empty document", "---\n",
	  "t.yaml:2:1: the document is empty: list the VMs under vms: (see vsockdev(8))" },
	{ "not YAML: a tab for indent", "vms:\n\t- socket: a\n",
	  "t.yaml:2:1: not valid YAML: found character that cannot start any token (while scanning for the next "
	  "token at line 2)" },
	{ "not YAML: an indent between two", "vms:\n  - socket: a\n   uds_path: b\n",
	  "t.yaml:3:4: not valid YAML: did not find expected '-' indicator (while parsing a block collection at line 2)" },
	{ "not YAML text", "vms:\n  - socket: \xff\n",
	  "t.yaml: byte 17: not YAML text: invalid leading UTF-8 octet" },
	{ "a list, not a mapping", "- socket: a\n",
	  "t.yaml:1:1: the file holds a list, not a mapping: it starts with vms: and a list of VMs (see vsockdev(8))" },
	{ "a word, not a mapping", "hello\n",
	  "t.yaml:1:1: the file holds a single value, not a mapping: it starts with vms: and a list of VMs "
	  "(see vsockdev(8))" },
	{ "no vms", "{}\n",
	  "t.yaml:1:1: no vms: list the VMs under vms: (see vsockdev(8))" },
	{ "another top-level key", "vms:\n  - socket: a\nlog: debug\n",
	  "t.yaml:3:1: unknown key 'log': the file's one key is vms, the list of VMs" },
	{ "vms twice", "vms:\n  - socket: a\nvms:\n  - socket: b\n",
	  "t.yaml:3:1: vms is given twice: list every VM under one vms:" },
	{ "vms not a list", "vms:\n  socket: a\n",
	  "t.yaml:2:3: vms must be a list of VMs (- guest_cid: 3 ...), not a mapping" },
	{ "vms empty", "vms: []\n",
	  "t.yaml:1:1: vms lists no VM: give at least one (- guest_cid: 3 ...)" },
	{ "vms null", "vms:\n",
	  "t.yaml:1:1: vms lists no VM: give at least one (- guest_cid: 3 ...)" },
	{ "a VM not a mapping", "vms:\n  - /run/vm.vhost\n",
	  "t.yaml:2:5: a VM must be a mapping of keys (guest_cid: 3, socket: PATH, ...), not a single value" },
	{ "a VM a list", "vms:\n  - [3, /run/vm.vhost]\n",
	  "t.yaml:2:5: a VM must be a mapping of keys (guest_cid: 3, socket: PATH, ...), not a list" },
	{ "unknown key", "vms:\n  - socket: a\n    uds_paht: b\n",
	  "t.yaml:3:5: unknown key 'uds_paht': a VM's keys are guest_cid, socket, uds_path, tx_buffer_size, "
	  "queue_size, groups" },
	{ "a key that is no name", "vms:\n  - socket: a\n    [x]: b\n",
	  "t.yaml:3:5: a key must be a name, not a list" },
	{ "a key twice", "vms:\n  - socket: a\n    guest_cid: 3\n    guest-cid: 4\n",
	  "t.yaml:4:5: guest-cid is given twice in this VM" },
	{ "a quoted number", "vms:\n  - guest_cid: \"4\"\n    socket: a\n",
	  "t.yaml:2:16: guest_cid takes a number, not a string: write 4 without quotes" },
	{ "a list for a path", "vms:\n  - socket: [a, b]\n",
	  "t.yaml:2:13: socket takes a string, not a list" },
	{ "a mapping for a number", "vms:\n  - socket: a\n    queue_size: {n: 1}\n",
	  "t.yaml:3:17: queue_size takes a number, not a mapping" },
	{ "no value", "vms:\n  - socket: a\n    uds_path:\n",
	  "t.yaml:3:14: uds_path has no value" },
	{ "an empty string", "vms:\n  - socket: ''\n",
	  "t.yaml:2:13: socket has no value" },
	{ "CID 2", "vms:\n  - guest_cid: 2\n    socket: a\n",
	  "t.yaml:2:16: invalid guest_cid argument '2': expected a whole number from 3 to 4294967294" },
	{ "CID 2^32 - 1", "vms:\n  - guest_cid: 4294967295\n    socket: a\n",
	  "t.yaml:2:16: invalid guest_cid argument '4294967295': expected a whole number from 3 to 4294967294" },
	{ "a negative CID", "vms:\n  - guest_cid: -3\n    socket: a\n",
	  "t.yaml:2:16: invalid guest_cid argument '-3': expected a whole number from 3 to 4294967294" },
	{ "a hex number", "vms:\n  - socket: a\n    tx_buffer_size: 0x10000\n",
	  "t.yaml:3:21: invalid tx_buffer_size argument '0x10000': expected a whole number from 4096 to 67108864" },
	{ "a small buffer", "vms:\n  - socket: a\n    tx-buffer-size: 100\n",
	  "t.yaml:3:21: invalid tx-buffer-size argument '100': expected a whole number from 4096 to 67108864" },
	{ "a queue too large", "vms:\n  - socket: a\n    queue_size: 65536\n",
	  "t.yaml:3:17: invalid queue_size argument '65536': expected a whole number from 1 to 32768" },
	{ "groups without a name", "vms:\n  - socket: a\n    groups: '+'\n",
	  "t.yaml:3:13: groups: give at least one name" },
	{ "too many groups", "vms:\n  - socket: a\n    groups: a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q\n",
	  "t.yaml:3:13: groups=a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q: 16 groups at the most" },
	{ "forward_cid", "vms:\n  - socket: a\n    forward_cid: 1\n",
	  "t.yaml:3:18: forward_cid (forwarding to the host's own vsock) is not supported: use uds-path" },
	{ "forward-listen", "vms:\n  - socket: a\n    forward-listen: 9001+9002\n",
	  "t.yaml:3:21: forward-listen (forwarding to the host's own vsock) is not supported: use uds-path" },
	{ "no socket", "vms:\n  - guest_cid: 3\n    uds_path: b\n",
	  "t.yaml:2:5: this VM has no socket: give socket: PATH, the vhost-user socket QEMU connects to" },
	{ "a CID twice", "vms:\n  - guest_cid: 5\n    socket: a\n  - guest_cid: 5\n    socket: b\n",
	  "t.yaml:4:5: guest CID 5 is given twice" },
	{ "the default CID twice", "vms:\n  - socket: a\n  - socket: b\n",
	  "t.yaml:3:5: this VM has no guest_cid and another VM has the default, 3: give each VM its guest_cid" },
	{ "a socket twice", "vms:\n  - guest_cid: 3\n    socket: a\n  - guest_cid: 4\n    socket: a\n",
	  "t.yaml:4:5: socket a is given to two VMs" },
	{ "an alias", "vms:\n  - &vm {socket: a}\n  - *vm\n",
	  "t.yaml:3:5: aliases (*vm) are not supported: write the value out in full" },
	{ "a merge key", "vms:\n  - &vm {socket: a}\n  - <<: *vm\n    guest_cid: 4\n",
	  "t.yaml:3:5: unknown key '<<': a VM's keys are guest_cid, socket, uds_path, tx_buffer_size, queue_size, groups" },
	{ "two documents", "vms:\n  - socket: a\n---\nvms:\n  - socket: b\n",
	  "t.yaml:3:1: a second YAML document: the file must hold one" },
};

static void test_bad_files(void **state)
{
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad *b = &bad_files[i];
		struct parsed p;
		int ret = parse(&p, b->yaml);

		if (ret != -EINVAL || strcmp(p.err, b->msg))
			fail_msg("%s: returned %d with\n  '%s', expected -EINVAL with\n  '%s'", b->what, ret, p.err, b->msg);
		assert_int_equal(p.n, 0);
	}
}

/* A NUL in a double-quoted string would cut the path short. */
static void test_nul(void **state)
{
	static const char yaml[] = "vms:\n  - socket: \"a\\0b\"\n";
	struct parsed p;

	assert_int_equal(parse(&p, yaml), -EINVAL);
	assert_string_equal(p.err, "t.yaml:2:13: socket: the value holds a NUL character");
}

/* The limit is the caller's (--vm's 64): the VM past it is named. */
static void test_too_many(void **state)
{
	char yaml[2048];
	size_t k = (size_t)snprintf(yaml, sizeof(yaml), "vms:\n");
	struct parsed p;

	for (unsigned i = 0; i <= MAX; i++)
		k += (size_t)snprintf(yaml + k, sizeof(yaml) - k, "  - guest_cid: %u\n    socket: s%u\n", 3 + i, i);
	assert_int_equal(parse(&p, yaml), -EINVAL);
	assert_string_equal(p.err, "t.yaml:18:5: 8 VMs at the most: run a second vsockdev for more");
	assert_int_equal(p.n, 0);
}

/* ---- the file itself ---- */

static void test_load(void **state)
{
	char dir[] = "/tmp/vsm-config-XXXXXX", path[64], big[64], err[512];
	struct vm_config vms[MAX];
	unsigned n = 99;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vms.yaml", dir);
	snprintf(big, sizeof(big), "%s/big.yaml", dir);

	assert_int_equal(config_load(path, vms, MAX, &n, err, sizeof(err)), -ENOENT);
	assert_int_equal(n, 0);
	assert_string_equal(strstr(err, "vms.yaml"), "vms.yaml: No such file or directory");
	assert_int_equal(strncmp(err, "cannot open /tmp/vsm-config-", 28), 0);

	assert_int_equal(config_load(dir, vms, MAX, &n, err, sizeof(err)), -EISDIR);
	assert_int_equal(strncmp(err, "cannot read /tmp/vsm-config-", 28), 0);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("vms:\n  - guest_cid: 9\n    socket: /run/9\n  - guest_cid: 3\n    socket: \"/run/3\n", f);
	fclose(f);
	assert_int_equal(config_load(path, vms, MAX, &n, err, sizeof(err)), -EINVAL);
	/* The file's own name, as given, leads the message. */
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_string_equal(err + strlen(path),
			    ":6:1: not valid YAML: found unexpected end of stream (while scanning a quoted scalar at line 5)");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("vms:\n  - guest_cid: 9\n    socket: /run/9\n", f);
	fclose(f);
	assert_int_equal(config_load(path, vms, MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vms[0].guest_cid, 9);
	assert_string_equal(vms[0].socket, "/run/9");
	vm_config_free(&vms[0]);

	/* Past 1 MiB (comments, valid YAML) it is not read at all. */
	f = fopen(big, "w");
	assert_non_null(f);
	fputs("vms:\n  - socket: a\n", f);
	for (int i = 0; i < 20000; i++)
		fputs("# a comment line of sixty bytes, give or take, to fill it up\n", f);
	fclose(f);
	assert_int_equal(config_load(big, vms, MAX, &n, err, sizeof(err)), -EFBIG);
	assert_string_equal(err + strlen(big), ": larger than 1 MiB: is it the right file?");

	unlink(path);
	unlink(big);
	rmdir(dir);
}

/* ---- the keys as --vm gives them ---- */

static void test_vm_keys(void **state)
{
	struct vm_config c;
	char err[256];

	vm_config_init(&c);
	assert_int_equal(vm_config_set(&c, "guest_cid", "12", err, sizeof(err)), 0);
	assert_int_equal(c.guest_cid, 12);
	assert_int_equal(vm_config_set(&c, "guest-cid", "13", err, sizeof(err)), 0);
	assert_int_equal(c.guest_cid, 13);
	assert_int_equal(vm_config_set(&c, "socket", "/a", err, sizeof(err)), 0);
	assert_int_equal(vm_config_set(&c, "socket", "/b", err, sizeof(err)), 0);	/* the last one counts */
	assert_string_equal(c.socket, "/b");
	assert_int_equal(vm_config_set(&c, "uds_path", "/u", err, sizeof(err)), 0);
	assert_string_equal(c.uds_path, "/u");
	assert_int_equal(vm_config_set(&c, "groups", "a++b", err, sizeof(err)), 0);
	assert_groups(&c, 2, "a", "b");
	assert_int_equal(vm_config_set(&c, "groups", "c", err, sizeof(err)), 0);
	assert_groups(&c, 1, "c");

	assert_int_equal(vm_config_set(&c, "guest-cidx", "3", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "unknown key 'guest-cidx' (guest-cid, socket, uds-path, tx-buffer-size, queue-size, groups)");
	assert_int_equal(vm_config_set(&c, "guest", "3", err, sizeof(err)), -EINVAL);
	assert_int_equal(vm_config_set(&c, "socket", "", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "socket has no value");
	assert_int_equal(vm_config_set(&c, "tx-buffer-size", "4k", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "invalid tx-buffer-size argument '4k': expected a whole number from 4096 to 67108864");
	assert_int_equal(c.tx_buffer_size, 262144);	/* unchanged */
	assert_int_equal(vm_config_set(&c, "forward-cid", "1", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "forward-cid (forwarding to the host's own vsock) is not supported: use uds-path");
	vm_config_free(&c);
}

static void test_vm_check(void **state)
{
	struct vm_config all[2];
	char err[256];

	for (int i = 0; i < 2; i++) {
		vm_config_init(&all[i]);
		all[i].guest_cid = 3;
		assert_int_equal(vm_config_set(&all[i], "socket", i ? "/b" : "/a", err, sizeof(err)), 0);
	}
	assert_int_equal(vm_config_check(&all[0], all, 0, err, sizeof(err)), 0);
	assert_groups(&all[0], 1, "default");
	assert_int_equal(vm_config_check(&all[1], all, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "guest CID 3 is given twice");
	all[1].guest_cid = 4;
	assert_int_equal(vm_config_check(&all[1], all, 1, err, sizeof(err)), 0);
	vm_config_free(&all[0]);
	vm_config_free(&all[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_vm_defaults),
		cmocka_unit_test(test_several_vms),
		cmocka_unit_test(test_spellings),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_vm_keys),
		cmocka_unit_test(test_vm_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
