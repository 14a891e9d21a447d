/* tui.c — the interactive UI: keys change the view, the view and the model
 * make a frame (render.c), and the frame goes to the terminal (term.c) only
 * when it differs from the one on screen. The live session samples first
 * and calls tui_on_tick about every 100 ms afterwards, so the screen
 * changes at most ~10 times a second; keys redraw at once.
 *
 * Sample, then draw: nothing here changes the model. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "ui/ui.h"

struct tui {
	struct view v;
	struct screen *shown;   /* what the terminal shows now; NULL: unknown */
	int open;
	int color;
	int dirty;              /* a key or a resize asks for a redraw */
	char err[256];
};

struct tui *tui_new(char *err, size_t errlen)
{
	if (term_init(err, errlen) < 0)
		return NULL;
	struct tui *t = xcalloc(1, sizeof(*t));
	render_view_init(&t->v, term_locale_utf8());
	t->color = term_color();
	return t;
}

int tui_input_fd(const struct tui *t)
{
	(void)t;
	return term_input_fd();
}

const char *tui_error(const struct tui *t)
{
	return t ? t->err : "";
}

static int tui_open(struct tui *t)
{
	if (t->open)
		return 0;
	if (t->err[0])
		return -1;
	if (term_open(t->err, sizeof(t->err)) < 0)
		return -1;
	t->open = 1;
	t->dirty = 1;
	screen_free(t->shown);
	t->shown = NULL;
	return 0;
}

void tui_attached(void *ctx)
{
	tui_open(ctx);  /* a failure is kept in t->err; the next tick ends the session */
}

void tui_close(struct tui *t)
{
	if (!t || !t->open)
		return;
	term_close();
	t->open = 0;
}

void tui_free(struct tui *t)
{
	if (!t)
		return;
	tui_close(t);
	screen_free(t->shown);
	free(t);
}

/* The view drawn at the terminal's size; drawing also settles the moves
 * keys asked for (render_screen). */
static struct screen *render_now(struct tui *t, const struct model *m)
{
	int cols = 80, rows = 24;
	if (term_size(&cols, &rows) < 0) {
		cols = 80;
		rows = 24;
	}
	struct screen *s = screen_new(cols, rows, t->v.utf8);
	render_screen(s, m, &t->v);
	return s;
}

/* Renders a frame and sends what changed. A terminal that cannot be
 * written to any more (the SSH link dropped) ends the UI. */
static int draw(struct tui *t, const struct model *m)
{
	struct screen *s = render_now(t, m);
	if (t->shown && screen_equal(s, t->shown)) {
		screen_free(s);
		t->dirty = 0;
		return 0;
	}
	size_t len;
	char *out = term_encode(s, t->shown, t->color, &len);
	int rc = term_write(out, len);
	free(out);
	screen_free(t->shown);
	t->shown = s;
	t->dirty = 0;
	if (rc < 0) {
		snprintf(t->err, sizeof(t->err), "hud: cannot write to the terminal: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Enter: the call stacks of the selected hotspot, or of the selected
 * worker's culprit (the one blocking it now, else its worst). */
static void open_drill(struct tui *t, const struct model *m)
{
	struct view *v = &t->v;
	if (v->focus == FOCUS_WORKERS) {
		v->drill_key = -1;
		for (uint32_t i = 0; i < m->nworkers; i++) {
			const struct worker_stat *w = &m->workers[i];
			if ((int64_t)w->id != v->worker_key)
				continue;
			int32_t f = w->state == WORKER_BLOCKED && w->state_func >= 0 ? w->state_func : w->worst_func;
			if (f < 0)
				return;
			v->drill_group = 0;
			v->drill_key = f;
		}
		if (v->drill_key < 0)
			return;
	} else {
		if (v->hot_key < 0)
			return;
		v->drill_group = v->group_file;
		v->drill_key = v->hot_key;
	}
	v->drill = 1;
	v->drill_sel = 0;
	v->drill_top = 0;
}

static void copy_stack(struct tui *t, const struct model *m)
{
	struct view *v = &t->v;
	if (v->drill_stack < 0 || (uint64_t)v->drill_stack >= m->nstacks) {
		snprintf(v->message, sizeof(v->message), "no stack to copy");
		return;
	}
	size_t cap = 64 * 1024;
	char *text = xmalloc(cap);
	size_t n = render_stack_text(m, (uint32_t)v->drill_stack, text, cap);
	if (term_copy(text) < 0)
		snprintf(v->message, sizeof(v->message), "copying failed: %s", strerror(errno));
	else
		snprintf(v->message, sizeof(v->message),
			 "sent stack #%d (%zu bytes) to the clipboard with OSC 52 (if the terminal allows it)",
			 v->drill_sel + 1, n);
	free(text);
}

/* Typing a filter: the keys build the text until Enter or Esc. */
static void edit_key(struct view *v, int k)
{
	size_t n = strlen(v->edit);
	if (k == KEY_ENTER) {
		snprintf(v->filter, sizeof(v->filter), "%s", v->edit);
		v->editing = 0;
		v->hot_top = 0;
		v->move = MOVE_HOME;
	} else if (k == KEY_ESC) {
		v->editing = 0;
	} else if (k == KEY_BACKSPACE) {
		/* Drop a whole UTF-8 character, continuation bytes first. */
		while (n && ((unsigned char)v->edit[n - 1] & 0xc0) == 0x80)
			n--;
		if (n)
			n--;
		v->edit[n] = 0;
	} else if (k >= 0x20 && k < 0x100 && k != 0x7f && n + 1 < sizeof(v->edit)) {
		v->edit[n] = (char)k;
		v->edit[n + 1] = 0;
	}
}

/* One key; returns 1 when the user quits. */
static int handle_key(struct tui *t, const struct model *m, int k)
{
	struct view *v = &t->v;

	v->message[0] = 0;
	if (k == KEY_CTRL_C)
		return 1;
	if (v->editing) {
		edit_key(v, k);
		return 0;
	}
	if (v->help) {
		v->help = 0;    /* any key closes the help */
		return 0;
	}
	/* The panels' own keys do nothing inside the drill-down: they would
	 * change the panels hidden behind it (filter, sort, grouping). */
	if (v->drill && (k == '/' || k == 'c' || k == 's' || k == 'g'))
		return 0;
	switch (k) {
	case 'q': case 'Q':
		return 1;
	case KEY_UP: case 'k': v->move -= 1; break;
	case KEY_DOWN: case 'j': v->move += 1; break;
	case KEY_PGUP: v->move -= v->page > 1 ? v->page - 1 : 1; break;
	case KEY_PGDN: v->move += v->page > 1 ? v->page - 1 : 1; break;
	case KEY_HOME: v->move = MOVE_HOME; break;
	case KEY_END: v->move = MOVE_END; break;
	case KEY_ENTER:
		if (!v->drill)
			open_drill(t, m);
		break;
	case KEY_ESC: case KEY_LEFT:
		v->drill = 0;
		break;
	case '/':
		v->editing = 1;
		snprintf(v->edit, sizeof(v->edit), "%s", v->filter);
		break;
	case 'c':
		v->filter[0] = 0;
		break;
	case KEY_TAB:
		if (!v->drill)
			v->focus = v->focus == FOCUS_HOTSPOTS ? FOCUS_WORKERS : FOCUS_HOTSPOTS;
		break;
	case 'p':
		v->paused = !v->paused && !m->info.replay;     /* a replay has nothing going on */
		break;
	case '?': case 'h':
		v->help = 1;
		break;
	case 's':
		v->sort_cpu = !v->sort_cpu;
		v->move = MOVE_HOME;
		break;
	case 'g':
		v->group_file = (v->group_file + 1) % 3;
		v->hot_key = -1;        /* keys change meaning: function, file, task */
		v->hot_top = 0;
		break;
	case 'y':
		if (v->drill)
			copy_stack(t, m);
		break;
	case KEY_CTRL_L:
		screen_free(t->shown);  /* the screen may be garbled: send all of it */
		t->shown = NULL;
		break;
	default:
		return 0;
	}
	return 0;
}

int tui_on_tick(void *ctx, struct model *m)
{
	struct tui *t = ctx;
	if (!t->open)
		return t->err[0] ? 1 : 0;
	if (term_resized()) {
		/* Reflow at once, and repaint all: the terminal may have moved
		 * or dropped what it showed. */
		screen_free(t->shown);
		t->shown = NULL;
		t->dirty = 1;
	}
	if (t->v.paused && !t->dirty)
		return 0;       /* the display waits; profiling goes on */
	return draw(t, m) < 0;
}

int tui_on_input(void *ctx, struct model *m)
{
	struct tui *t = ctx;
	int k, quit = 0;

	if (!t->open)
		return t->err[0] ? 1 : 0;
	int n = term_read();
	if (n == 0) {
		/* Readable yet empty: the terminal is gone (hangup). */
		snprintf(t->err, sizeof(t->err), "hud: the terminal closed");
		return 1;
	}
	while (!quit && (k = term_key()) != KEY_NONE) {
		/* Keys read together (typed fast, pasted) act in order: a move
		 * before this key selects its row first. */
		if (t->v.move)
			screen_free(render_now(t, m));
		quit = handle_key(t, m, k);
		t->dirty = 1;
	}
	if (quit)
		return 1;
	if (t->dirty)
		return draw(t, m) < 0;
	return 0;
}

int tui_run_static(struct tui *t, struct model *m)
{
	if (tui_open(t) < 0)
		return -1;
	if (draw(t, m) < 0)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = term_input_fd(), .events = POLLIN };
		int r = poll(&p, 1, 100);
		if (r < 0 && errno != EINTR) {
			snprintf(t->err, sizeof(t->err), "hud: poll on the terminal failed: %s", strerror(errno));
			break;
		}
		if (r > 0 && tui_on_input(t, m))
			break;
		/* Also redraws after SIGWINCH, which interrupted poll. */
		if (tui_on_tick(t, m))
			break;
	}
out:
	tui_close(t);
	return t->err[0] && strcmp(t->err, "hud: the terminal closed") != 0 ? -1 : 0;
}
