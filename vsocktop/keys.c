/* SPDX-License-Identifier: GPL-2.0-or-later */
/* keys.c: vsocktop's key bindings: a keys[] table of small actions returning what the main loop must do. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"

typedef unsigned (*top_action)(struct top_ui *ui, struct top_model *m, int key);

const struct top_help top_help_lines[] = {
	{ "q, F10", "quit (in the detail and help views: back)" },
	{ "h, ?, F1", "this help" },
	{ "Up, Down, j, k", "move the selection" },
	{ "PgUp, PgDn, Home, End", "move by a page, to the first or last row" },
	{ "Enter", "detail of the selected connection: counters, credit over time, events" },
	{ "", "(per-CID and device views: show that CID's connections)" },
	{ "Esc, q, Left", "back from the detail view" },
	{ "F2", "setup: Space shows or hides a column, - and + move it, Left and Right size it, 0 automatic" },
	{ "F5", "tree: connections grouped under their guest's CID (again: a flat list)" },
	{ "mouse", "a click on a row selects it; on a column title sorts by it (again: reverses)" },
	{ "t", "connections view (default)" },
	{ "c", "per-CID view" },
	{ "d", "device view: vsockdev's VMs, virtqueues and ring exhaustion" },
	{ "F6", "choose the sort column" },
	{ "<, >", "sort by the previous or next column" },
	{ "I", "invert the sort order" },
	{ "P, B, T, S, C", "sort by packets/s, bytes/s, total bytes, stall time, lowest credit" },
	{ "/, F3", "search (incremental): endpoints, type, state, problems" },
	{ "n, N", "next, previous match" },
	{ "\\, f, F4", "filter with the vsock filter language (vsockmon-filter(7)); empty clears" },
	{ "Space, Z", "pause the display (data is still read), and resume" },
	{ "Ctrl-L", "redraw the screen" },
	{ "", "" },
	{ "Colours", "red: stalled now;  yellow: reset or refused;  dim: closed" },
};
const size_t top_help_count = sizeof(top_help_lines) / sizeof(top_help_lines[0]);

void top_ui_init(struct top_ui *ui, int sort, bool reverse)
{
	memset(ui, 0, sizeof(*ui));
	ui->view = ui->back = TOP_VIEW_CONNS;
	ui->sort = sort;
	ui->reverse = reverse;
	ui->page_rows = 10;
}

static void say(struct top_ui *ui, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(struct top_ui *ui, bool error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ui->message, sizeof(ui->message), fmt, ap);
	va_end(ap);
	ui->message_error = error;
}

/* ---- actions ---- */

static unsigned act_quit(struct top_ui *ui, struct top_model *m, int key)
{
	return TOP_QUIT;
}

static unsigned act_help(struct top_ui *ui, struct top_model *m, int key)
{
	if (ui->view != TOP_VIEW_HELP)
		ui->back = ui->view;
	ui->view = TOP_VIEW_HELP;
	ui->help_scroll = 0;
	return TOP_REDRAW;
}

static long page(const struct top_ui *ui)
{
	return ui->page_rows > 1 ? ui->page_rows - 1 : 1;
}

/* How far a movement key goes: a row, a page, or to an end. */
static long step_of(const struct top_ui *ui, int key)
{
	switch (key) {
	case TOP_KEY_UP: case 'k': return -1;
	case TOP_KEY_DOWN: case 'j': return 1;
	case TOP_KEY_PGUP: return -page(ui);
	case TOP_KEY_PGDN: return page(ui);
	case TOP_KEY_HOME: return LONG_MIN / 2;
	case TOP_KEY_END: return LONG_MAX / 2;
	default: return 0;
	}
}

static long clamp(long v, long count)
{
	return count <= 0 ? 0 : v < 0 ? 0 : v >= count ? count - 1 : v;
}

static unsigned act_move(struct top_ui *ui, struct top_model *m, int key)
{
	long step = step_of(ui, key);

	switch (ui->view) {
	case TOP_VIEW_CONNS:
		top_model_move(m, step);
		break;
	case TOP_VIEW_CIDS:
		ui->cid_sel = clamp(step < LONG_MIN / 4 ? 0 : step > LONG_MAX / 4 ? LONG_MAX / 4 : ui->cid_sel + step,
				    (long)top_model_cid_count(m));
		break;
	case TOP_VIEW_DEVICES:
		ui->dev_sel = clamp(step < LONG_MIN / 4 ? 0 : step > LONG_MAX / 4 ? LONG_MAX / 4 : ui->dev_sel + step,
				    (long)ui->ndevices);
		break;
	case TOP_VIEW_DETAIL:
		ui->detail_scroll = step < LONG_MIN / 4 ? 0 : ui->detail_scroll + (step > LONG_MAX / 4 ? 1000 : step);
		if (ui->detail_scroll < 0)
			ui->detail_scroll = 0;
		break;
	case TOP_VIEW_HELP:
		ui->help_scroll = clamp(step < LONG_MIN / 4 ? 0 : ui->help_scroll + (step > LONG_MAX / 4 ? 1000 : step),
					(long)top_help_count);
		break;
	case TOP_VIEW_SETUP:	/* setup_key handles its own keys */
		break;
	}
	return TOP_REDRAW;
}

/* Shows one CID's connections: the filter "cid N" in the connection view. */
static unsigned show_cid(struct top_ui *ui, struct top_model *m, unsigned long long cid)
{
	char expr[64];
	struct vsm_filter_error err;

	snprintf(expr, sizeof(expr), "cid %llu", cid);
	if (top_model_set_filter(m, expr, &err) < 0) {
		say(ui, true, "filter: %s", err.msg);
		return TOP_REDRAW;
	}
	ui->view = TOP_VIEW_CONNS;
	top_model_select(m, 0);
	say(ui, false, "filter: %s (\\ then Enter on an empty line clears it)", expr);
	return TOP_REDRAW;
}

static unsigned act_enter(struct top_ui *ui, struct top_model *m, int key)
{
	switch (ui->view) {
	case TOP_VIEW_CONNS:
		if (top_model_selected(m) < 0) {
			say(ui, true, "%s", "no connection selected");
			return TOP_REDRAW;
		}
		ui->back = TOP_VIEW_CONNS;
		ui->view = TOP_VIEW_DETAIL;
		ui->detail_scroll = 0;
		return TOP_REDRAW;
	case TOP_VIEW_CIDS: {
		const struct top_cid *c = top_model_cid(m, (size_t)ui->cid_sel);

		return c ? show_cid(ui, m, (unsigned long long)c->cid) : TOP_REDRAW;
	}
	case TOP_VIEW_DEVICES: {
		const struct top_devices *d = top_model_devices(m);

		if ((size_t)ui->dev_sel < d->nvm)
			return show_cid(ui, m, (unsigned long long)d->vm[ui->dev_sel].guest_cid);
		return TOP_REDRAW;
	}
	default:
		return TOP_REDRAW;
	}
}

static unsigned act_view(struct top_ui *ui, struct top_model *m, int key)
{
	ui->view = key == 'c' ? TOP_VIEW_CIDS : key == 'd' ? TOP_VIEW_DEVICES : TOP_VIEW_CONNS;
	return TOP_REDRAW;
}

static unsigned act_sort_menu(struct top_ui *ui, struct top_model *m, int key)
{
	ui->prompt = TOP_PROMPT_SORT;
	ui->sort_cursor = ui->sort;
	return TOP_REDRAW;
}

static unsigned act_sort_step(struct top_ui *ui, struct top_model *m, int key)
{
	int step = key == '<' || key == ',' ? -1 : 1;

	ui->sort = (ui->sort + step + TOP_SORT_COUNT) % TOP_SORT_COUNT;
	return TOP_RESORT | TOP_REDRAW;
}

static unsigned act_invert(struct top_ui *ui, struct top_model *m, int key)
{
	ui->reverse = !ui->reverse;
	return TOP_RESORT | TOP_REDRAW;
}

static unsigned act_sort_by(struct top_ui *ui, struct top_model *m, int key)
{
	switch (key) {
	case 'P': ui->sort = TOP_COL_PPS; break;
	case 'B': ui->sort = TOP_SORT_RATE; break;
	case 'T': ui->sort = TOP_COL_BYTES; break;
	case 'S': ui->sort = TOP_COL_STALL; break;
	case 'C': ui->sort = TOP_SORT_CREDIT; break;
	default: return 0;
	}
	ui->reverse = false;
	return TOP_RESORT | TOP_REDRAW;
}

static unsigned act_search(struct top_ui *ui, struct top_model *m, int key)
{
	ui->prompt = TOP_PROMPT_SEARCH;
	ui->input[0] = '\0';
	ui->input_len = 0;
	ui->search_origin = top_model_selected(m);
	ui->view = TOP_VIEW_CONNS;
	return TOP_REDRAW;
}

static unsigned act_search_next(struct top_ui *ui, struct top_model *m, int key)
{
	int dir = key == 'N' ? -1 : 1;
	long found;

	if (!ui->search[0]) {
		say(ui, true, "%s", "no search yet: / starts one");
		return TOP_REDRAW;
	}
	found = top_model_search(m, ui->search, top_model_selected(m) + dir, dir);
	if (found < 0)
		say(ui, true, "no connection matches '%s'", ui->search);
	else
		top_model_select(m, found);
	return TOP_REDRAW;
}

static unsigned act_filter(struct top_ui *ui, struct top_model *m, int key)
{
	ui->prompt = TOP_PROMPT_FILTER;
	snprintf(ui->input, sizeof(ui->input), "%s", top_model_filter(m));
	ui->input_len = strlen(ui->input);
	return TOP_REDRAW;
}

static unsigned act_pause(struct top_ui *ui, struct top_model *m, int key)
{
	ui->paused = !ui->paused;
	say(ui, false, "%s", ui->paused ? "paused: the display is frozen, data is still read; Space resumes"
					: "resumed");
	return TOP_REDRAW;
}

static unsigned act_redraw(struct top_ui *ui, struct top_model *m, int key)
{
	return TOP_REDRAW | TOP_CLEAR;
}

int top_setup_col(const struct top_columns *c, int i)
{
	if (i < 0)
		return -1;
	if (i < c->n)
		return c->col[i];
	i -= c->n;
	for (int col = 0; col < TOP_COL_COUNT; col++)
		if (top_columns_find(c, col) < 0 && i-- == 0)
			return col;
	return -1;
}

static unsigned act_setup(struct top_ui *ui, struct top_model *m, int key)
{
	ui->back = ui->view == TOP_VIEW_SETUP ? ui->back : ui->view;
	ui->view = TOP_VIEW_SETUP;
	ui->setup_cursor = 0;
	return TOP_REDRAW;
}

static unsigned act_tree(struct top_ui *ui, struct top_model *m, int key)
{
	top_model_set_tree(m, !top_model_tree(m));
	top_model_select(m, 0);
	ui->view = TOP_VIEW_CONNS;
	say(ui, false, "%s", top_model_tree(m) ? "tree: connections under their guest's CID (F5: flat)" : "flat list");
	return TOP_REDRAW;
}

/* The F2 screen's keys: every change applies at once, as in htop's setup. */
static unsigned setup_key(struct top_ui *ui, struct top_model *m, int key)
{
	struct top_columns c = *top_model_columns(m);
	int col = top_setup_col(&c, ui->setup_cursor), i = ui->setup_cursor;

	switch (key) {
	case TOP_KEY_UP: case 'k':
		ui->setup_cursor = i > 0 ? i - 1 : 0;
		return TOP_REDRAW;
	case TOP_KEY_DOWN: case 'j':
		ui->setup_cursor = i + 1 < TOP_COL_COUNT ? i + 1 : i;
		return TOP_REDRAW;
	case ' ':
		if (col < 0)
			return TOP_REDRAW;
		if (i < c.n) {
			if (c.n == 1) {
				say(ui, true, "%s", "one column at least");
				return TOP_REDRAW;
			}
			memmove(&c.col[i], &c.col[i + 1], (size_t)(c.n - i - 1) * sizeof(c.col[0]));
			c.n--;
			ui->setup_cursor = c.n;	/* it is now the first hidden one */
		} else {
			c.col[c.n++] = col;
			ui->setup_cursor = c.n - 1;
		}
		break;
	case '-': case '+': case '=': {
		int j = key == '-' ? i - 1 : i + 1, t;

		if (i >= c.n || j < 0 || j >= c.n)
			return TOP_REDRAW;
		t = c.col[i], c.col[i] = c.col[j], c.col[j] = t;
		ui->setup_cursor = j;
		break;
	}
	case TOP_KEY_LEFT: case TOP_KEY_RIGHT: {
		int w;

		if (col < 0)
			return TOP_REDRAW;
		w = c.width[col] ? c.width[col] : top_cols[col].width > (int)strlen(top_cols[col].title)
						      ? top_cols[col].width : (int)strlen(top_cols[col].title);
		w += key == TOP_KEY_LEFT ? -1 : 1;
		c.width[col] = w < 1 ? 1 : w > 200 ? 200 : w;
		break;
	}
	case '0':
		if (col >= 0)
			c.width[col] = 0;
		break;
	case TOP_KEY_ESC: case 'q': case TOP_KEY_F1 + 1: case TOP_KEY_ENTER: case '\r':
		ui->view = ui->back == TOP_VIEW_SETUP ? TOP_VIEW_CONNS : ui->back;
		return TOP_REDRAW;
	default:
		return TOP_REDRAW;
	}
	top_model_set_columns(m, &c);
	return TOP_REDRAW;
}

static const top_action keys[TOP_KEY_MAX] = {
	['q'] = act_quit, [TOP_KEY_F10] = act_quit,
	['h'] = act_help, ['?'] = act_help, [TOP_KEY_F1] = act_help,
	[TOP_KEY_UP] = act_move, [TOP_KEY_DOWN] = act_move, ['j'] = act_move, ['k'] = act_move,
	[TOP_KEY_PGUP] = act_move, [TOP_KEY_PGDN] = act_move, [TOP_KEY_HOME] = act_move, [TOP_KEY_END] = act_move,
	[TOP_KEY_ENTER] = act_enter, ['\r'] = act_enter,
	['t'] = act_view, ['c'] = act_view, ['d'] = act_view,
	[TOP_KEY_F1 + 5] = act_sort_menu,
	[TOP_KEY_F1 + 1] = act_setup, [TOP_KEY_F1 + 4] = act_tree,
	['<'] = act_sort_step, ['>'] = act_sort_step, [','] = act_sort_step, ['.'] = act_sort_step,
	['I'] = act_invert,
	['P'] = act_sort_by, ['B'] = act_sort_by, ['T'] = act_sort_by, ['S'] = act_sort_by, ['C'] = act_sort_by,
	['/'] = act_search, [TOP_KEY_F1 + 2] = act_search,
	['n'] = act_search_next, ['N'] = act_search_next,
	['\\'] = act_filter, ['f'] = act_filter, [TOP_KEY_F1 + 3] = act_filter,
	[' '] = act_pause, ['Z'] = act_pause,
	[TOP_KEY_CTRL_L] = act_redraw, [TOP_KEY_RESIZE] = act_redraw,
};

/* ---- prompts ---- */

/* Line editing shared by the prompts; returns true when the text changed. */
static bool edit(struct top_ui *ui, int key)
{
	if (key == TOP_KEY_BACKSPACE || key == 8) {
		if (!ui->input_len)
			return false;
		ui->input[--ui->input_len] = '\0';
		return true;
	}
	if (key == TOP_KEY_CTRL_U) {
		ui->input_len = 0;
		ui->input[0] = '\0';
		return true;
	}
	if (key >= 32 && key < 127 && ui->input_len + 1 < sizeof(ui->input)) {
		ui->input[ui->input_len++] = (char)key;
		ui->input[ui->input_len] = '\0';
		return true;
	}
	return false;
}

static unsigned search_key(struct top_ui *ui, struct top_model *m, int key)
{
	if (key == TOP_KEY_ESC || key == TOP_KEY_ENTER || key == '\r') {
		if (key != TOP_KEY_ESC && ui->input_len)
			snprintf(ui->search, sizeof(ui->search), "%s", ui->input);
		ui->prompt = TOP_PROMPT_NONE;
		return TOP_REDRAW;
	}
	if (edit(ui, key)) {
		/* Incremental: the first match from where the search started, as the text grows. */
		long found = top_model_search(m, ui->input, ui->search_origin, 1);

		ui->message[0] = '\0';
		if (found >= 0)
			top_model_select(m, found);
		else if (ui->input_len)
			say(ui, true, "no connection matches '%s'", ui->input);
	}
	return TOP_REDRAW;
}

static unsigned filter_key(struct top_ui *ui, struct top_model *m, int key)
{
	struct vsm_filter_error err;

	if (key == TOP_KEY_ESC) {
		ui->prompt = TOP_PROMPT_NONE;
		ui->message[0] = '\0';
		return TOP_REDRAW;
	}
	if (key == TOP_KEY_ENTER || key == '\r') {
		if (top_model_set_filter(m, ui->input, &err) < 0) {
			/* Stay in the prompt, pointing at what is wrong, so it can be fixed. */
			snprintf(ui->message, sizeof(ui->message), "filter error at column %zu: %s", err.pos + 1, err.msg);
			ui->message_error = true;
			return TOP_REDRAW;
		}
		ui->prompt = TOP_PROMPT_NONE;
		/* The new set of rows is read from its top: the selection goes to row 1. */
		top_model_select(m, 0);
		if (ui->input_len)
			say(ui, false, "filter: %s", ui->input);
		else
			say(ui, false, "%s", "filter cleared");
		if (ui->view != TOP_VIEW_CIDS)
			ui->view = TOP_VIEW_CONNS;
		return TOP_REDRAW;
	}
	edit(ui, key);
	return TOP_REDRAW;
}

static unsigned sort_key(struct top_ui *ui, struct top_model *m, int key)
{
	switch (key) {
	case TOP_KEY_UP: case 'k':
		ui->sort_cursor = (ui->sort_cursor + TOP_SORT_COUNT - 1) % TOP_SORT_COUNT;
		return TOP_REDRAW;
	case TOP_KEY_DOWN: case 'j':
		ui->sort_cursor = (ui->sort_cursor + 1) % TOP_SORT_COUNT;
		return TOP_REDRAW;
	case TOP_KEY_ENTER: case '\r':
		ui->sort = ui->sort_cursor;
		ui->prompt = TOP_PROMPT_NONE;
		return TOP_RESORT | TOP_REDRAW;
	case TOP_KEY_ESC: case 'q': case TOP_KEY_F1 + 5:
		ui->prompt = TOP_PROMPT_NONE;
		return TOP_REDRAW;
	default:
		return 0;
	}
}

unsigned top_key(struct top_ui *ui, struct top_model *m, int key)
{
	if (key == TOP_KEY_RESIZE)
		return TOP_REDRAW | TOP_CLEAR;
	switch (ui->prompt) {
	case TOP_PROMPT_SEARCH:
		return search_key(ui, m, key);
	case TOP_PROMPT_FILTER:
		return filter_key(ui, m, key);
	case TOP_PROMPT_SORT:
		return sort_key(ui, m, key);
	case TOP_PROMPT_NONE:
		break;
	}
	ui->message[0] = '\0';
	if (ui->view == TOP_VIEW_SETUP)
		return setup_key(ui, m, key);
	if (ui->view == TOP_VIEW_HELP) {
		if (key == TOP_KEY_UP || key == TOP_KEY_DOWN || key == TOP_KEY_PGUP || key == TOP_KEY_PGDN ||
		    key == 'j' || key == 'k')
			return act_move(ui, m, key);
		/* Any other key leaves the help, as in top. */
		ui->view = ui->back;
		return TOP_REDRAW;
	}
	if (ui->view == TOP_VIEW_DETAIL) {
		switch (key) {
		case TOP_KEY_ESC: case 'q': case TOP_KEY_LEFT: case TOP_KEY_BACKSPACE: case TOP_KEY_ENTER: case '\r':
			ui->view = TOP_VIEW_CONNS;
			return TOP_REDRAW;
		case TOP_KEY_UP: case TOP_KEY_DOWN: case TOP_KEY_PGUP: case TOP_KEY_PGDN: case TOP_KEY_HOME:
		case TOP_KEY_END: case 'j': case 'k':
			return act_move(ui, m, key);
		default:
			break;
		}
	}
	if (key < 0 || key >= TOP_KEY_MAX || !keys[key]) {
		if (key != TOP_KEY_ESC)
			say(ui, true, "%s", "unknown key: h or ? shows the keys");
		return TOP_REDRAW;
	}
	return keys[key](ui, m, key);
}
