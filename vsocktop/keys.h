/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keys.h: vsocktop's keys as a table of small actions on the UI state and the model; no curses here. */
#ifndef VSOCKTOP_KEYS_H
#define VSOCKTOP_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* Key codes: characters as themselves, the rest from here (view.c maps curses' codes to these). */
enum top_key {
	TOP_KEY_CTRL_L = 12,
	TOP_KEY_CTRL_U = 21,
	TOP_KEY_ESC = 27,
	TOP_KEY_ENTER = '\n',
	TOP_KEY_BACKSPACE = 127,
	TOP_KEY_UP = 0x100,
	TOP_KEY_DOWN,
	TOP_KEY_LEFT,
	TOP_KEY_RIGHT,
	TOP_KEY_PGUP,
	TOP_KEY_PGDN,
	TOP_KEY_HOME,
	TOP_KEY_END,
	TOP_KEY_RESIZE,
	TOP_KEY_F1,
	TOP_KEY_F10 = TOP_KEY_F1 + 9,
	TOP_KEY_MOUSE,		/* view.c handles it: a click selects a row or sorts by a column */
	TOP_KEY_MAX
};

enum top_view {
	TOP_VIEW_CONNS,		/* the connection table (default) */
	TOP_VIEW_CIDS,		/* per CID */
	TOP_VIEW_DEVICES,	/* vsockdev's VMs and virtqueues */
	TOP_VIEW_DETAIL,	/* one connection: counters, credit over time, events */
	TOP_VIEW_HELP,
	TOP_VIEW_SETUP,		/* F2: which columns, in what order, how wide */
};

enum top_prompt {
	TOP_PROMPT_NONE,
	TOP_PROMPT_SEARCH,	/* "/": incremental */
	TOP_PROMPT_FILTER,	/* "\" or "f": a vsock filter expression, applied on Enter */
	TOP_PROMPT_SORT,	/* F6: a list of sort keys */
};

/* What the main loop must do after a key. */
enum top_reaction {
	TOP_REDRAW = 1u << 0,	/* draw the screen again */
	TOP_RESORT = 1u << 1,	/* apply ui.sort and ui.reverse to the model */
	TOP_QUIT = 1u << 2,
	TOP_CLEAR = 1u << 3,	/* the terminal may be garbled: repaint all of it */
};

/* The interactive state: what is shown and what is being typed. */
struct top_ui {
	enum top_view view;
	enum top_view back;		/* where the detail and help views return */
	enum top_prompt prompt;
	char input[256];		/* the prompt's text */
	size_t input_len;
	char search[256];		/* the last search, for n and N */
	long search_origin;		/* the selection when the search prompt opened */
	char message[512];		/* shown on the last line until the next key */
	bool message_error;
	bool paused;			/* the display is frozen; data keeps coming in */
	int sort;			/* wanted sort key and order: applied by the main loop on TOP_RESORT */
	bool reverse;
	int sort_cursor;		/* the F6 list's cursor */
	int setup_cursor;		/* the F2 list's cursor: shown columns in order, then the hidden ones */
	long cid_sel, dev_sel;		/* selections of the per-CID and device views */
	long detail_scroll, help_scroll;
	int page_rows;			/* rows of a page (the view sets it): PgUp and PgDn move that much */
	size_t ndevices;		/* how many VMs the device view has (for its cursor) */
};

void top_ui_init(struct top_ui *ui, int sort, bool reverse);
/* Handles one key; returns enum top_reaction flags. */
unsigned top_key(struct top_ui *ui, struct top_model *m, int key);

/* The F2 list: the column at place i (shown ones first, in order, then hidden ones), or -1. */
int top_setup_col(const struct top_columns *c, int i);

/* The help screen's lines: key, then what it does. */
struct top_help {
	const char *keys;
	const char *what;
};
extern const struct top_help top_help_lines[];
extern const size_t top_help_count;

#endif
