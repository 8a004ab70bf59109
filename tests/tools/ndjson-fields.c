/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ndjson-fields.c: prints chosen keys of vsockdump's NDJSON in tshark -T fields form, for the oracle test. */
/*
 * Usage: ndjson-fields KEY... < vsockdump.ndjson
 * One line per object, values comma-separated: integers as decimal, op/type/mon_op names as
 * their numbers (as tshark prints them), "flags" as 0x%08x, null as empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include <vsockmon/fields.h>
#include <vsockmon/wire.h>

/* "RW" -> 5, "op(9)" -> 9; -1 when it is neither. */
static long name_to_number(const char *key, const char *s)
{
	const char *paren = strchr(s, '(');
	uint32_t v;

	if (paren)
		return strtol(paren + 1, NULL, 10);
	if (strcmp(key, "op") == 0 && vsm_op_from_name(s, &v) == 0)
		return v;
	if (strcmp(key, "type") == 0 && vsm_type_from_name(s, &v) == 0)
		return v;
	for (v = 0; v < 16; v++) {
		const char *n = strcmp(key, "mon_op") == 0 ? vsm_mon_op_name(v) : vsm_transport_name(v);

		if (n && strcmp(n, s) == 0)
			return v;
	}
	return -1;
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;

	while (getline(&line, &cap, stdin) > 0) {
		json_error_t err;
		json_t *obj = json_loads(line, 0, &err);

		lineno++;
		if (!json_is_object(obj)) {
			fprintf(stderr, "ndjson-fields: line %ld: not a JSON object: %s\n", lineno, err.text);
			return 1;
		}
		for (int i = 1; i < argc; i++) {
			json_t *v = json_object_get(obj, argv[i]);

			if (i > 1)
				putchar(',');
			if (!v) {
				fprintf(stderr, "ndjson-fields: line %ld: no key %s\n", lineno, argv[i]);
				return 1;
			}
			if (json_is_integer(v) && strcmp(argv[i], "flags") == 0)
				printf("0x%08llx", (unsigned long long)json_integer_value(v));
			else if (json_is_integer(v))
				printf("%llu", (unsigned long long)json_integer_value(v));
			else if (json_is_string(v))
				printf("%ld", name_to_number(argv[i], json_string_value(v)));
			else if (!json_is_null(v))
				printf("?");
		}
		putchar('\n');
		json_decref(obj);
	}
	free(line);
	return 0;
}
