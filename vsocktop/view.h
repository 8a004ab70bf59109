/* SPDX-License-Identifier: GPL-2.0-or-later */
/* view.h: vsocktop's screen; view.c is the only file that knows curses. */
#ifndef VSOCKTOP_VIEW_H
#define VSOCKTOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "frame.h"
#include "keys.h"
#include "model.h"

struct top_screen;

/* Takes the terminal (colours unless color is false or NO_COLOR is set). Returns 0 or -errno with a message. */
int top_view_open(bool color, struct top_screen **ret_view, char *err, size_t errlen);
/* Gives the terminal back as it was. */
void top_view_close(struct top_screen *v);
/* The next key (a character or a TOP_KEY_*), or -1 when none is waiting. Never blocks. */
int top_view_key(struct top_screen *v);
/*
 * After TOP_KEY_MOUSE: what the last click means. On the connection table's title, sorts by the
 * column under it (again: the other way); on a row, selects it. Returns enum top_reaction flags.
 */
unsigned top_view_click(struct top_screen *v, struct top_model *m, struct top_ui *ui);
/* Draws the whole screen; clear: repaint every cell (after a resize or Ctrl-L). Sets ui->page_rows. */
void top_view_draw(struct top_screen *v, const struct top_model *m, struct top_ui *ui, const struct top_frame_info *info,
		   bool clear);

#endif
