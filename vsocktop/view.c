/* SPDX-License-Identifier: GPL-2.0-or-later */
/* view.c: vsocktop's screen with curses: header, connections, per-CID, devices, detail, help, prompts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "view.h"

enum { PAIR_STALLED = 1, PAIR_RESET, PAIR_TITLE, PAIR_ERROR, PAIR_HEADER };

struct top_screen {
	bool color;
	long conn_top, cid_top, dev_top;	/* first row shown in each table */
	char scroll_text[96];			/* "rows 21-40 of 295" when the table has rows out of view */
	/* where the connection table was drawn, for the mouse */
	int table_y, table_rows, table_x0;
	struct top_layout layout;
	MEVENT click;
};

int top_view_open(bool color, struct top_screen **ret_view, char *err, size_t errlen)
{
	struct top_screen *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!initscr()) {
		snprintf(err, errlen, "cannot use the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
		free(v);
		return -ENOTTY;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	/* Esc alone must go back at once, not after curses' default second of waiting for a sequence;
	   ESCDELAY in the environment (ncurses(3X)) still wins, for a slow link that splits sequences. */
	if (!getenv("ESCDELAY"))
		set_escdelay(25);
	/* Clicks only: a click selects a row or sorts by a column title, as in htop. */
	mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED, NULL);
	mouseinterval(0);
	v->color = color && has_colors() && !getenv("NO_COLOR");
	if (v->color) {
		start_color();
		use_default_colors();
		init_pair(PAIR_STALLED, COLOR_RED, -1);
		init_pair(PAIR_RESET, COLOR_YELLOW, -1);
		init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_ERROR, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_HEADER, COLOR_CYAN, -1);
	}
	*ret_view = v;
	return 0;
}

void top_view_close(struct top_screen *v)
{
	if (!v)
		return;
	endwin();
	free(v);
}

int top_view_key(struct top_screen *v)
{
	int c = getch();

	switch (c) {
	case ERR: return -1;
	case KEY_UP: return TOP_KEY_UP;
	case KEY_DOWN: return TOP_KEY_DOWN;
	case KEY_LEFT: return TOP_KEY_LEFT;
	case KEY_RIGHT: return TOP_KEY_RIGHT;
	case KEY_PPAGE: return TOP_KEY_PGUP;
	case KEY_NPAGE: return TOP_KEY_PGDN;
	case KEY_HOME: return TOP_KEY_HOME;
	case KEY_END: return TOP_KEY_END;
	case KEY_RESIZE: return TOP_KEY_RESIZE;
	case KEY_MOUSE:
		/* The press is the click; its release (asked for, so that curses does not hold the press
		   back to make a click of the two) is ignored. */
		if (getmouse(&v->click) != OK || !(v->click.bstate & BUTTON1_PRESSED))
			return 0;
		return TOP_KEY_MOUSE;
	case KEY_ENTER: case '\r': case '\n': return TOP_KEY_ENTER;
	case KEY_BACKSPACE: case 8: case 127: return TOP_KEY_BACKSPACE;
	default:
		break;
	}
	if (c >= KEY_F(1) && c <= KEY_F(10))
		return TOP_KEY_F1 + (c - KEY_F(1));
	/* Other function keys mean nothing here; characters are themselves. */
	return c >= 0 && c < 256 ? c : 0;
}

/* Writes text at (y, x), cut at the screen's edge, with attributes. */
static void put(int y, int x, const char *text, attr_t attr)
{
	int w = COLS - x;

	if (y < 0 || y >= LINES || w <= 0)
		return;
	attron(attr);
	mvaddnstr(y, x, text, w);
	attroff(attr);
}

/* A full-width bar (title lines, the selected row). */
static void bar(int y, const char *text, attr_t attr)
{
	if (y < 0 || y >= LINES)
		return;
	attron(attr);
	mvhline(y, 0, ' ', COLS);
	mvaddnstr(y, 0, text, COLS);
	attroff(attr);
}

static attr_t title_attr(const struct top_screen *v)
{
	return v->color ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE;
}

static attr_t row_attr(const struct top_screen *v, const struct top_row *r)
{
	if (r->dir[0].stalled || r->dir[1].stalled)
		return A_BOLD | (v->color ? COLOR_PAIR(PAIR_STALLED) : A_UNDERLINE);
	if (r->state == VSM_FLOW_RESET || r->state == VSM_FLOW_REFUSED)
		return v->color ? COLOR_PAIR(PAIR_RESET) : A_UNDERLINE;
	if (r->state == VSM_FLOW_CLOSED)
		return A_DIM;
	return A_NORMAL;
}

/* Keeps the selected row within the rows shown. */
static long scroll_to(long top, long sel, long rows, long count)
{
	if (sel < 0)
		return 0;
	if (sel < top)
		top = sel;
	if (sel >= top + rows)
		top = sel - rows + 1;
	if (top > count - rows)
		top = count - rows;
	return top < 0 ? 0 : top;
}

static void draw_lines(const char *text, int y0, int rows, long skip)
{
	const char *p = text;
	long line = 0;

	while (p && *p && y0 < LINES && rows > 0) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (line++ >= skip) {
			char buf[1024];

			snprintf(buf, sizeof(buf), "%.*s", (int)(n < sizeof(buf) - 1 ? n : sizeof(buf) - 1), p);
			put(y0++, 0, buf, A_NORMAL);
			rows--;
		}
		p = nl ? nl + 1 : NULL;
	}
}

/* The tree's first column: the guest CID on its group's first row, then branches. */
#define TREE_WIDTH 10

static void tree_prefix(struct vsm_strbuf *out, const struct top_model *m, long i, long count)
{
	const struct top_row *r = top_model_row(m, (size_t)i);
	uint64_t cid = top_row_tree_cid(r);
	bool first = i == 0 || top_row_tree_cid(top_model_row(m, (size_t)i - 1)) != cid;
	bool last = i + 1 >= count || top_row_tree_cid(top_model_row(m, (size_t)i + 1)) != cid;
	char head[16];

	snprintf(head, sizeof(head), "%llu", (unsigned long long)cid);
	vsm_sb_printf(out, "%-*s%s ", TREE_WIDTH - 3, first ? head : "", last ? "`-" : "|-");
}

static void draw_conns(struct top_screen *v, const struct top_model *m, struct top_ui *ui, int y0, int rows)
{
	long count = (long)top_model_count(m), sel = top_model_selected(m);
	bool tree = top_model_tree(m);
	struct vsm_strbuf sb;

	v->conn_top = scroll_to(v->conn_top, sel, rows, count);
	if (count > rows)
		snprintf(v->scroll_text, sizeof(v->scroll_text), "rows %ld-%ld of %ld%s", v->conn_top + 1,
			 v->conn_top + rows < count ? v->conn_top + rows : count, count,
			 v->conn_top > 0 ? (v->conn_top + rows < count ? " ^v" : " ^") : " v");
	v->table_x0 = tree ? TREE_WIDTH : 0;
	v->table_y = y0;
	v->table_rows = rows;
	top_layout(m, (size_t)v->conn_top, (size_t)rows, COLS - v->table_x0, &v->layout);
	vsm_sb_init(&sb);
	if (tree)
		vsm_sb_printf(&sb, "%-*s", TREE_WIDTH, "CID");
	top_table_title(&sb, m, &v->layout, top_model_sort_descending(m) ? 'v' : '^');
	bar(y0, sb.data ? sb.data : "", title_attr(v));
	for (int i = 0; i < rows && v->conn_top + i < count; i++) {
		const struct top_row *r = top_model_row(m, (size_t)(v->conn_top + i));
		attr_t attr = row_attr(v, r);

		vsm_sb_reset(&sb);
		if (tree)
			tree_prefix(&sb, m, v->conn_top + i, count);
		top_table_line(&sb, r, &v->layout);
		if (v->conn_top + i == sel)
			bar(y0 + 1 + i, sb.data ? sb.data : "", attr | A_REVERSE);
		else
			put(y0 + 1 + i, 0, sb.data ? sb.data : "", attr);
	}
	if (!count)
		put(y0 + 1, 0, top_model_total(m) ? "no connection matches the filter (\\ changes it)"
						  : "no connection seen yet", A_DIM);
	vsm_sb_free(&sb);
}

unsigned top_view_click(struct top_screen *v, struct top_model *m, struct top_ui *ui)
{
	int x = v->click.x - v->table_x0, y = v->click.y;

	if (ui->view != TOP_VIEW_CONNS || ui->prompt != TOP_PROMPT_NONE)
		return 0;
	if (y == v->table_y) {
		/* The column under x: each cell is its width plus a blank. */
		for (int i = 0, at = 0; i < v->layout.ncols; i++) {
			int c = v->layout.col[i], w = v->layout.width[c];

			if (x >= at && x <= at + w) {
				if (ui->sort == c) {
					ui->reverse = !ui->reverse;
				} else {
					ui->sort = c;
					ui->reverse = false;
				}
				return TOP_RESORT | TOP_REDRAW;
			}
			at += w + 1;
		}
		return 0;
	}
	if (y > v->table_y && y <= v->table_y + v->table_rows &&
	    v->conn_top + (y - v->table_y - 1) < (long)top_model_count(m)) {
		top_model_select(m, v->conn_top + (y - v->table_y - 1));
		return TOP_REDRAW;
	}
	return 0;
}

static void draw_cids(struct top_screen *v, const struct top_model *m, struct top_ui *ui, const struct top_frame_info *info,
		      int y0, int rows)
{
	long count = (long)top_model_cid_count(m);
	struct vsm_strbuf sb;

	if (ui->cid_sel >= count)
		ui->cid_sel = count ? count - 1 : 0;
	v->cid_top = scroll_to(v->cid_top, ui->cid_sel, rows, count);
	if (count > rows)
		snprintf(v->scroll_text, sizeof(v->scroll_text), "rows %ld-%ld of %ld", v->cid_top + 1,
			 v->cid_top + rows < count ? v->cid_top + rows : count, count);
	vsm_sb_init(&sb);
	top_cid_title(&sb);
	bar(y0, sb.data ? sb.data : "", title_attr(v));
	for (int i = 0; i < rows && v->cid_top + i < count; i++) {
		const struct top_cid *c = top_model_cid(m, (size_t)(v->cid_top + i));
		attr_t attr = c->stalled ? A_BOLD | (v->color ? COLOR_PAIR(PAIR_STALLED) : A_UNDERLINE) : A_NORMAL;

		vsm_sb_reset(&sb);
		top_cid_line(&sb, c, info->numeric);
		if (v->cid_top + i == ui->cid_sel)
			bar(y0 + 1 + i, sb.data ? sb.data : "", attr | A_REVERSE);
		else
			put(y0 + 1 + i, 0, sb.data ? sb.data : "", attr);
	}
	if (!count)
		put(y0 + 1, 0, "no CID seen yet", A_DIM);
	vsm_sb_free(&sb);
}

static void draw_devices(struct top_screen *v, const struct top_model *m, struct top_ui *ui,
			 const struct top_frame_info *info, int y0, int rows)
{
	const struct top_devices *d = top_model_devices(m);
	long count = (long)d->nvm;
	struct vsm_strbuf sb;

	ui->ndevices = d->nvm;
	if (ui->dev_sel >= count)
		ui->dev_sel = count ? count - 1 : 0;
	vsm_sb_init(&sb);
	top_device_summary(&sb, d, info->device);
	put(y0, 0, sb.data ? sb.data : "", d->error[0] ? A_BOLD : A_NORMAL);
	vsm_sb_reset(&sb);
	top_device_title(&sb);
	bar(y0 + 1, sb.data ? sb.data : "", title_attr(v));
	rows -= 1;
	/* The selected VM's recent refusals, timeouts and resets with their cause, under the VMs. */
	if (count && d->vm[ui->dev_sel].nevents && rows > 4) {
		const struct top_device *dv = &d->vm[ui->dev_sel];
		int ev_rows = dv->nevents + 1 < rows / 2 ? dv->nevents + 1 : rows / 2;
		int y = y0 + 2 + rows - ev_rows;
		const char *line;

		vsm_sb_reset(&sb);
		vsm_sb_printf(&sb, "Events of CID %llu (last %d of %llu):\n", (unsigned long long)dv->guest_cid,
			      dv->nevents, (unsigned long long)dv->events_total);
		/* the newest last: when they do not all fit, the newest are the ones shown */
		for (int i = dv->nevents > ev_rows - 1 ? dv->nevents - (ev_rows - 1) : 0; i < dv->nevents; i++) {
			struct top_device one = *dv;

			one.events[0] = dv->events[i];
			one.nevents = 1;
			top_device_events_text(&sb, &one);
		}
		line = sb.data ? sb.data : "";
		for (int k = 0; k < ev_rows && *line; k++) {
			const char *nl = strchr(line, '\n');
			char buf[512];

			snprintf(buf, sizeof(buf), "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
			put(y + k, 0, buf, k ? A_NORMAL : A_BOLD);
			line = nl ? nl + 1 : "";
		}
		rows -= ev_rows;
	}
	v->dev_top = scroll_to(v->dev_top, ui->dev_sel, rows, count);
	for (int i = 0; i < rows && v->dev_top + i < count; i++) {
		const struct top_device *dv = &d->vm[v->dev_top + i];
		attr_t attr = dv->rx_empty_now ? A_BOLD | (v->color ? COLOR_PAIR(PAIR_STALLED) : A_UNDERLINE) : A_NORMAL;

		vsm_sb_reset(&sb);
		top_device_line(&sb, dv);
		if (v->dev_top + i == ui->dev_sel)
			bar(y0 + 2 + i, sb.data ? sb.data : "", attr | A_REVERSE);
		else
			put(y0 + 2 + i, 0, sb.data ? sb.data : "", attr);
	}
	vsm_sb_free(&sb);
}

static void draw_detail(const struct top_model *m, struct top_ui *ui, const struct top_frame_info *info, int y0, int rows)
{
	const struct vsm_flow *f = top_model_detail(m);
	struct vsm_strbuf sb;

	if (!f) {
		put(y0, 0, "the selected connection is gone from the table (Esc goes back)", A_BOLD);
		return;
	}
	vsm_sb_init(&sb);
	top_detail(&sb, f, &top_model_totals(m)->now, info->numeric, COLS);
	{
		/* Scrolling stops at the last page, so End and a long PgDn leave something to read. */
		long lines = 0;

		for (const char *p = sb.data; p && *p; p++)
			lines += *p == '\n';
		if (ui->detail_scroll > lines - rows)
			ui->detail_scroll = lines - rows > 0 ? lines - rows : 0;
	}
	draw_lines(sb.data ? sb.data : "", y0, rows, ui->detail_scroll);
	vsm_sb_free(&sb);
}

static void draw_help(struct top_screen *v, struct top_ui *ui, int y0, int rows)
{
	bar(y0, "vsocktop keys (any other key goes back)", title_attr(v));
	for (int i = 0; i + 1 < rows && (size_t)(ui->help_scroll + i) < top_help_count; i++) {
		const struct top_help *h = &top_help_lines[ui->help_scroll + i];
		char line[256];

		snprintf(line, sizeof(line), "  %-22s %s", h->keys, h->what);
		put(y0 + 1 + i, 0, line, A_NORMAL);
	}
}

static void draw_setup(struct top_screen *v, const struct top_model *m, struct top_ui *ui, int y0, int rows)
{
	const struct top_columns *c = top_model_columns(m);

	bar(y0, "Setup: columns (Space show/hide, - + move, Left Right width, 0 automatic, Esc back)", title_attr(v));
	for (int i = 0; i + 1 < rows && i < TOP_COL_COUNT; i++) {
		int k = ui->setup_cursor - (rows - 2) + 1 > 0 ? ui->setup_cursor - (rows - 2) + 1 + i : i;
		int col = top_setup_col(c, k);
		char line[128], width[16];

		if (col < 0)
			break;
		if (c->width[col])
			snprintf(width, sizeof(width), "%d", c->width[col]);
		else
			snprintf(width, sizeof(width), "auto");
		snprintf(line, sizeof(line), " [%c] %-12s %-9s width %s", k < c->n ? 'x' : ' ', top_sorts[col].name,
			 top_cols[col].title, width);
		put(y0 + 1 + i, 0, line, k == ui->setup_cursor ? A_REVERSE : A_NORMAL);
	}
}

static void draw_sort_menu(struct top_screen *v, struct top_ui *ui, int y0, int rows)
{
	put(y0, 0, " Sort by (Enter picks, Esc cancels) ", title_attr(v));
	for (int i = 0; i + 1 < rows && i < TOP_SORT_COUNT; i++) {
		int k = ui->sort_cursor - (rows - 2) + 1 > 0 ? ui->sort_cursor - (rows - 2) + 1 + i : i;
		char line[64];

		if (k >= TOP_SORT_COUNT)
			break;
		snprintf(line, sizeof(line), " %c %-12s ", k == ui->sort ? '*' : ' ', top_sorts[k].name);
		put(y0 + 1 + i, 0, line, k == ui->sort_cursor ? A_REVERSE : A_NORMAL);
	}
}

static void draw_footer(struct top_screen *v, struct top_ui *ui)
{
	int y = LINES - 1;
	char line[600];

	if (ui->prompt == TOP_PROMPT_SEARCH || ui->prompt == TOP_PROMPT_FILTER) {
		snprintf(line, sizeof(line), "%s: %s", ui->prompt == TOP_PROMPT_SEARCH ? "Search" : "Filter", ui->input);
		if (ui->message[0] && LINES > 2)
			bar(y - 1, ui->message, ui->message_error ? (v->color ? COLOR_PAIR(PAIR_ERROR) : A_REVERSE) : A_BOLD);
		bar(y, line, A_BOLD);
		curs_set(1);
		move(y, (int)strlen(line) < COLS ? (int)strlen(line) : COLS - 1);
		return;
	}
	curs_set(0);
	if (ui->message[0]) {
		bar(y, ui->message, ui->message_error ? (v->color ? COLOR_PAIR(PAIR_ERROR) : A_REVERSE) : A_BOLD);
		return;
	}
	switch (ui->view) {
	case TOP_VIEW_DETAIL:
		put(y, 0, "Esc/q back  Up/Down scroll  Space pause  h help", A_DIM);
		break;
	case TOP_VIEW_HELP:
		put(y, 0, "any key: back", A_DIM);
		break;
	case TOP_VIEW_SETUP:
		put(y, 0, "Esc/F2 back  Space show/hide  - + move  Left Right width  0 automatic", A_DIM);
		break;
	default: {
		/* Help and quit are never dropped; the scroll indicator goes after them, the rest by use. */
		const struct top_keyhint hints[] = {
			{ "h help", 0 },	 { "F6 sort", 7 },	{ "\\ filter", 6 },
			{ "/ search", 5 },	 { "Enter detail", 4 }, { "t/c/d views", 3 },
			{ "F2 setup", 2 },	 { "F5 tree", 2 },
			{ "I invert", 2 },	 { "Space pause", 1 },	{ "q quit", 0 },
			{ v->scroll_text, 9 },
		};
		struct vsm_strbuf sb;

		vsm_sb_init(&sb);
		top_keybar(&sb, hints, sizeof(hints) / sizeof(hints[0]), COLS);
		put(y, 0, sb.data ? sb.data : "h help  q quit", A_DIM);
		vsm_sb_free(&sb);
		break;
	}
	}
}

void top_view_draw(struct top_screen *v, const struct top_model *m, struct top_ui *ui, const struct top_frame_info *info,
		   bool clear_all)
{
	struct vsm_strbuf head;
	int header_lines, y0, rows;

	if (clear_all)
		clear();
	else
		erase();
	if (LINES < 3 || COLS < 16) {
		put(0, 0, "vsocktop: terminal too small", A_BOLD);
		refresh();
		return;
	}
	/* A short terminal keeps the time line and the totals, then the table. */
	header_lines = LINES >= 12 ? 4 : LINES >= 7 ? 2 : 1;
	vsm_sb_init(&head);
	top_header(&head, m, info);
	/* One line left: the trouble counts (the header's second line) matter more than the clock. */
	draw_lines(head.data ? head.data : "", 0, header_lines, header_lines == 1);
	if (v->color && head.data)
		mvchgat(0, 0, -1, A_BOLD, PAIR_HEADER, NULL);
	vsm_sb_free(&head);
	y0 = header_lines;
	rows = LINES - 1 - y0 - 1;	/* the table's title and the footer take a line each */
	if (rows < 1)
		rows = 1;
	ui->page_rows = rows;
	v->scroll_text[0] = '\0';
	switch (ui->view) {
	case TOP_VIEW_CONNS:
		draw_conns(v, m, ui, y0, rows);
		break;
	case TOP_VIEW_CIDS:
		draw_cids(v, m, ui, info, y0, rows);
		break;
	case TOP_VIEW_DEVICES:
		draw_devices(v, m, ui, info, y0, rows);
		break;
	case TOP_VIEW_DETAIL:
		draw_detail(m, ui, info, y0, rows + 1);
		break;
	case TOP_VIEW_HELP:
		draw_help(v, ui, y0, rows + 1);
		break;
	case TOP_VIEW_SETUP:
		draw_setup(v, m, ui, y0, rows + 1);
		break;
	}
	if (ui->prompt == TOP_PROMPT_SORT)
		draw_sort_menu(v, ui, y0, rows + 1);
	draw_footer(v, ui);
	refresh();
}
