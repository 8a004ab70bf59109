/* SPDX-License-Identifier: GPL-2.0-or-later */
/* printutil.h: helpers the text and JSON printers share. */
#ifndef VSOCKMON_PRINTUTIL_H
#define VSOCKMON_PRINTUTIL_H

#include <stdint.h>
#include <vsockmon/strbuf.h>

/* name, or "what(v)" when the value has no name. */
void vsm_put_name(struct vsm_strbuf *out, const char *name, const char *what, uint32_t v);
/* Problem names, comma-separated, in bit order. */
void vsm_put_problems(struct vsm_strbuf *out, uint32_t problems);

#endif
