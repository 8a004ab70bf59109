/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rc.h: vsocktop's settings file (vsocktoprc): what it holds, read and written as text; no files here. */
#ifndef VSOCKTOP_RC_H
#define VSOCKTOP_RC_H

#include <stdbool.h>
#include <stddef.h>

#include <vsockmon/strbuf.h>

#include "model.h"

/* What vsocktop remembers between runs (vsocktop(1), FILES). */
struct top_settings {
	int sort;			/* a sort key (enum top_sort) */
	bool reverse;
	struct top_columns columns;
	bool tree;
	double delay;			/* seconds between refreshes */
};

void top_settings_default(struct top_settings *ret);

/*
 * Reads the text of a vsocktoprc: "key=value" lines, '#' comments, blank lines. On the first line
 * that is wrong, returns -EINVAL with "line N: what" in err and *ret as the defaults; else 0.
 */
int top_rc_parse(const char *text, struct top_settings *ret, char *err, size_t errlen);
/* The text of a vsocktoprc that top_rc_parse reads back as s. */
void top_rc_write(struct vsm_strbuf *out, const struct top_settings *s);

#endif
