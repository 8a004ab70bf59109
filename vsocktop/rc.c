/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rc.c: vsocktop's settings file as text: sort, columns and widths, tree, delay (vsocktop(1), FILES). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rc.h"

/* Wider than any terminal: a width past it is a typing mistake, not a wish. */
#define RC_MAX_WIDTH 200

void top_settings_default(struct top_settings *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->sort = TOP_SORT_TROUBLE;
	top_columns_default(&ret->columns);
	ret->delay = 1.0;
}

static bool parse_bool(const char *v, bool *ret)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true"))
		*ret = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false"))
		*ret = false;
	else
		return false;
	return true;
}

/* "id,a:20,b,state": column names from the sort keys, each with an optional width. */
static int parse_columns(char *v, struct top_columns *ret, char *err, size_t errlen)
{
	memset(ret, 0, sizeof(*ret));
	for (char *save = NULL, *item = strtok_r(v, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		int col;

		if (colon)
			*colon = '\0';
		col = top_sort_from_name(item);
		if (col < 0 || col >= TOP_COL_COUNT) {
			snprintf(err, errlen, "unknown column '%.40s'", item);
			return -EINVAL;
		}
		if (top_columns_find(ret, col) >= 0) {
			snprintf(err, errlen, "column '%.40s' twice", item);
			return -EINVAL;
		}
		if (colon) {
			uint64_t w;

			/* The number as the command line reads it; the message names the column instead. */
			if (cli_parse_number("width", colon + 1, 0, RC_MAX_WIDTH, &w, err, errlen) < 0) {
				snprintf(err, errlen, "width of '%.40s' is not a number from 0 to %d", item, RC_MAX_WIDTH);
				return -EINVAL;
			}
			ret->width[col] = (int)w;
		}
		ret->col[ret->n++] = col;
	}
	if (!ret->n) {
		snprintf(err, errlen, "no column");
		return -EINVAL;
	}
	return 0;
}

static int parse_line(char *line, struct top_settings *s, char *err, size_t errlen)
{
	char *eq = strchr(line, '='), *key = line, *v, *end;

	if (!eq) {
		snprintf(err, errlen, "not key=value");
		return -EINVAL;
	}
	*eq = '\0';
	v = eq + 1;
	if (!strcmp(key, "sort")) {
		s->sort = top_sort_from_name(v);
		if (s->sort < 0) {
			snprintf(err, errlen, "unknown sort key '%.40s'", v);
			return -EINVAL;
		}
	} else if (!strcmp(key, "reverse") || !strcmp(key, "tree")) {
		if (!parse_bool(v, !strcmp(key, "tree") ? &s->tree : &s->reverse)) {
			snprintf(err, errlen, "%.8s is 0 or 1, not '%.40s'", key, v);
			return -EINVAL;
		}
	} else if (!strcmp(key, "delay")) {
		s->delay = strtod(v, &end);
		if (end == v || *end || !(s->delay >= 0.01 && s->delay <= 3600)) {
			snprintf(err, errlen, "delay is seconds from 0.01 to 3600, not '%.40s'", v);
			return -EINVAL;
		}
	} else if (!strcmp(key, "columns")) {
		return parse_columns(v, &s->columns, err, errlen);
	} else {
		snprintf(err, errlen, "unknown key '%.40s'", key);
		return -EINVAL;
	}
	return 0;
}

int top_rc_parse(const char *text, struct top_settings *ret, char *err, size_t errlen)
{
	struct top_settings s;
	unsigned lineno = 0;
	const char *p = text;

	top_settings_default(&s);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[1024], what[256];

		lineno++;
		if (n >= sizeof(line)) {
			snprintf(err, errlen, "line %u: longer than %zu characters", lineno, sizeof(line) - 1);
			top_settings_default(ret);
			return -EINVAL;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		p = nl ? nl + 1 : NULL;
		if (!line[0] || line[0] == '#')
			continue;
		if (parse_line(line, &s, what, sizeof(what)) < 0) {
			snprintf(err, errlen, "line %u: %.200s", lineno, what);
			top_settings_default(ret);
			return -EINVAL;
		}
	}
	*ret = s;
	return 0;
}

void top_rc_write(struct vsm_strbuf *out, const struct top_settings *s)
{
	vsm_sb_puts(out, "# vsocktop settings, written when vsocktop quits (vsocktop(1), FILES)\n");
	vsm_sb_printf(out, "sort=%s\nreverse=%d\ntree=%d\ndelay=%.3f\ncolumns=", top_sorts[s->sort].name, s->reverse,
		      s->tree, s->delay);
	for (int i = 0; i < s->columns.n; i++) {
		int c = s->columns.col[i];

		vsm_sb_printf(out, "%s%s", i ? "," : "", top_sorts[c].name);
		if (s->columns.width[c])
			vsm_sb_printf(out, ":%d", s->columns.width[c]);
	}
	vsm_sb_putc(out, '\n');
}
