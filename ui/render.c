/* render.c — draws the profile model into an in-memory screen: Status,
 * Hotspots, Workers and Timeline, the drill-down of one hotspot, the help
 * overlay. Nothing here touches the terminal (term.c turns a screen into
 * bytes), so every frame can be checked in a unit test.
 *
 * All text reaches the cells through screen_put(), which sanitises it:
 * symbol names and paths come from the target and its files, and no byte
 * of them may reach the terminal as a control sequence. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "ui/ui.h"

#define MIN_COLS 80
#define MIN_ROWS 24

/* ---- The screen buffer ----------------------------------------------------- */

struct screen *screen_new(int cols, int rows, int utf8)
{
	struct screen *s = xcalloc(1, sizeof(*s));
	s->cols = cols > 0 ? cols : 1;
	s->rows = rows > 0 ? rows : 1;
	s->utf8 = utf8;
	s->cells = xcalloc((size_t)s->cols * (size_t)s->rows, sizeof(struct cell));
	screen_clear(s);
	return s;
}

void screen_free(struct screen *s)
{
	if (!s)
		return;
	free(s->cells);
	free(s);
}

void screen_clear(struct screen *s)
{
	for (size_t i = 0; i < (size_t)s->cols * (size_t)s->rows; i++) {
		s->cells[i].ch[0] = ' ';
		s->cells[i].ch[1] = 0;
		s->cells[i].attr = 0;
	}
}

int screen_equal(const struct screen *a, const struct screen *b)
{
	if (a->cols != b->cols || a->rows != b->rows)
		return 0;
	for (size_t i = 0; i < (size_t)a->cols * (size_t)a->rows; i++)
		if (a->cells[i].attr != b->cells[i].attr || strcmp(a->cells[i].ch, b->cells[i].ch) != 0)
			return 0;
	return 1;
}

/* East Asian wide and fullwidth ranges (and the emoji blocks terminals
 * draw two columns wide); everything else counts as one column. */
static int cp_wide(uint32_t c)
{
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f }, { 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf },
		{ 0x4e00, 0x9fff }, { 0xa000, 0xa4cf }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
		{ 0xfe30, 0xfe4f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
		{ 0x1f900, 0x1f9ff }, { 0x20000, 0x2fffd }, { 0x30000, 0x3fffd },
	};
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return 1;
	return 0;
}

/* The next character of sanitised text: its bytes (NUL-terminated) in g and
 * its width; returns the bytes it takes in p. */
static int next_glyph(const char *p, int utf8, char g[5], int *width)
{
	const unsigned char *u = (const unsigned char *)p;
	int len = u[0] < 0x80 ? 1 : u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;
	uint32_t cp = len == 1 ? u[0] : len == 2 ? u[0] & 0x1f : len == 3 ? u[0] & 0x0f : u[0] & 0x07;

	for (int i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80) {    /* cannot happen after text_sanitize; be safe anyway */
			len = 1;
			cp = '?';
			break;
		}
		cp = cp << 6 | (u[i] & 0x3f);
	}
	*width = 1;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && !utf8) || text_cp_hidden(cp)) {
		g[0] = '?';     /* ASCII terminal, or a character that must not show */
		g[1] = 0;
		return len;
	}
	memcpy(g, p, (size_t)len);
	g[len] = 0;
	if (cp_wide(cp))
		*width = 2;
	return len;
}

/* Text as it will show: sanitised into a buffer the caller frees. */
static char *sanitised(const char *text)
{
	size_t n = strlen(text) * 4 + 1;
	char *buf = xmalloc(n);
	text_sanitize(text, buf, n);
	return buf;
}

int text_width(const char *text, int utf8)
{
	char *buf = sanitised(text), g[5];
	int w = 0, gw;
	for (const char *p = buf; *p; w += gw)
		p += next_glyph(p, utf8, g, &gw);
	free(buf);
	return w;
}

/* Puts one character at (x, y), keeping wide characters whole: a wide
 * character half overwritten is blanked rather than left half drawn. */
static void put_cell(struct screen *s, int x, int y, const char *g, int gw, uint8_t attr)
{
	struct cell *row = s->cells + (size_t)y * (size_t)s->cols;
	if (!row[x].ch[0] && x > 0) {
		row[x - 1].ch[0] = ' ';
		row[x - 1].ch[1] = 0;
	}
	if (x + 1 < s->cols && !row[x + 1].ch[0] && gw == 1) {
		row[x + 1].ch[0] = ' ';
		row[x + 1].ch[1] = 0;
	}
	snprintf(row[x].ch, sizeof(row[x].ch), "%s", g);
	row[x].attr = attr;
	if (gw == 2) {
		if (x + 2 < s->cols && !row[x + 2].ch[0]) {
			row[x + 2].ch[0] = ' ';
			row[x + 2].ch[1] = 0;
		}
		row[x + 1].ch[0] = 0;
		row[x + 1].attr = attr;
	}
}

int screen_put(struct screen *s, int x, int y, int w, int attr, const char *text)
{
	const char *ell = s->utf8 ? "\u2026" : "...";
	int ew = s->utf8 ? 1 : 3, total = 0, gw, used = 0, skip_w = 0, limit;
	uint8_t a = (uint8_t)(attr & 0xff);
	char g[5];

	if (y < 0 || y >= s->rows || x < 0 || x >= s->cols || w <= 0)
		return 0;
	if (x + w > s->cols)
		w = s->cols - x;
	char *buf = sanitised(text);
	for (const char *p = buf; *p; total += gw)
		p += next_glyph(p, s->utf8, g, &gw);

	const char *p = buf;
	int cut = total > w;
	if (cut && w <= ew) {
		/* No room for text and an ellipsis: show the ellipsis alone. */
		for (int i = 0; i < w; i++)
			put_cell(s, x + i, y, s->utf8 ? ell : ".", 1, a);
		free(buf);
		return w;
	}
	limit = cut ? w - ew : w;
	if (cut && (attr & PUT_TRUNC_LEFT)) {
		/* Drop characters from the start until the rest fits. */
		while (*p && total - skip_w > limit) {
			p += next_glyph(p, s->utf8, g, &gw);
			skip_w += gw;
		}
		for (const char *e = ell; *e; e += s->utf8 ? 3 : 1) {
			char one[5] = { 0 };
			memcpy(one, e, s->utf8 ? 3 : 1);
			put_cell(s, x + used++, y, one, 1, a);
		}
		limit = w;
	} else if (!cut && (attr & PUT_RIGHT)) {
		used = w - total;
		limit = w;
	}
	while (*p) {
		int n = next_glyph(p, s->utf8, g, &gw);
		if (used + gw > limit)
			break;
		put_cell(s, x + used, y, g, gw, a);
		used += gw;
		p += n;
	}
	if (cut && !(attr & PUT_TRUNC_LEFT)) {
		for (const char *e = ell; *e && used < w; e += s->utf8 ? 3 : 1) {
			char one[5] = { 0 };
			memcpy(one, e, s->utf8 ? 3 : 1);
			put_cell(s, x + used++, y, one, 1, a);
		}
	}
	free(buf);
	return used;
}

/* Printf into cells (hud's own text and numbers; sanitised all the same). */
static int putf(struct screen *s, int x, int y, int w, int attr, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
static int putf(struct screen *s, int x, int y, int w, int attr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return screen_put(s, x, y, w, attr, buf);
}

/* Gives a whole row an attribute (selected rows, title bars). */
static void row_attr(struct screen *s, int y, int x0, int x1, uint8_t attr)
{
	for (int x = x0; x < x1 && x < s->cols; x++)
		s->cells[(size_t)y * (size_t)s->cols + (size_t)x].attr = attr;
}

void screen_row(const struct screen *s, int y, char *out, size_t len)
{
	size_t o = 0;
	if (!len)
		return;
	for (int x = 0; y >= 0 && y < s->rows && x < s->cols; x++) {
		const char *ch = s->cells[(size_t)y * (size_t)s->cols + (size_t)x].ch;
		if (!ch[0] && x > 0)
			continue;
		size_t n = ch[0] ? strlen(ch) : 1;
		if (o + n >= len)
			break;
		memcpy(out + o, ch[0] ? ch : " ", n);
		o += n;
	}
	out[o] = 0;
}

char *screen_text(const struct screen *s)
{
	size_t cap = (size_t)s->rows * ((size_t)s->cols * 4 + 1) + 1, o = 0;
	char *out = xmalloc(cap), *row = xmalloc((size_t)s->cols * 4 + 1);
	for (int y = 0; y < s->rows; y++) {
		screen_row(s, y, row, (size_t)s->cols * 4 + 1);
		size_t n = strlen(row);
		while (n && row[n - 1] == ' ')
			n--;
		memcpy(out + o, row, n);
		o += n;
		out[o++] = '\n';
	}
	out[o] = 0;
	free(row);
	return out;
}

/* ---- Glyphs and numbers ---------------------------------------------------------- */

struct glyphs {
	const char *hline, *sel, *vsep, *blocked, *blocked_lo, *busy_hi, *busy_lo, *idle, *updown, *full;
	const char *eighths[8];
};

static const struct glyphs utf8_glyphs = {
	"\u2500", "\u25b6", "\u2502", "\u2588", "\u2592", "\u2586", "\u2583", "\u00b7", "\u2191\u2193", "\u2588",
	{ "", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589" },
};
static const struct glyphs ascii_glyphs = {
	"-", ">", "|", "#", "+", "=", "-", ".", "Up/Down", "#",
	{ "", "", "", "", "", "", "", "" },
};

static const struct glyphs *G(const struct screen *s)
{
	return s->utf8 ? &utf8_glyphs : &ascii_glyphs;
}

static const char *fmt_dur(uint64_t ns, char *b, size_t n)
{
	double v = (double)ns;
	if (ns == 0)
		snprintf(b, n, "0");
	else if (ns < 1000000)
		snprintf(b, n, "%.0fus", v / 1e3);
	else if (ns < 10000000)
		snprintf(b, n, "%.1fms", v / 1e6);
	else if (ns < 1000000000)
		snprintf(b, n, "%.0fms", v / 1e6);
	else if (ns < 10000000000ull)
		snprintf(b, n, "%.2fs", v / 1e9);
	else if (ns < 60000000000ull)
		snprintf(b, n, "%.1fs", v / 1e9);
	else if (ns < 3600000000000ull)
		snprintf(b, n, "%um%02us", (unsigned)(ns / 60000000000ull), (unsigned)(ns / 1000000000ull % 60));
	else
		snprintf(b, n, "%uh%02um", (unsigned)(ns / 3600000000000ull), (unsigned)(ns / 60000000000ull % 60));
	return b;
}

static const char *fmt_count(uint64_t c, char *b, size_t n)
{
	if (c < 10000)
		snprintf(b, n, "%llu", (unsigned long long)c);
	else if (c < 1000000)
		snprintf(b, n, "%.1fk", (double)c / 1e3);
	else
		snprintf(b, n, "%.1fM", (double)c / 1e6);
	return b;
}

static const char *fmt_clock(uint64_t ns, char *b, size_t n)
{
	unsigned s = (unsigned)(ns / 1000000000ull);
	if (s >= 3600)
		snprintf(b, n, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(b, n, "%02u:%02u", s / 60, s % 60);
	return b;
}

/* A horizontal rule across the row with a title in it. */
static void heading(struct screen *s, int y, int attr, const char *title)
{
	for (int x = 0; x < s->cols; x++)
		put_cell(s, x, y, G(s)->hline, 1, COL_DIM);
	int n = screen_put(s, 2, y, s->cols - 4, attr, title);
	if (n) {
		put_cell(s, 1, y, " ", 1, COL_DIM);
		if (2 + n < s->cols)
			put_cell(s, 2 + n, y, " ", 1, COL_DIM);
	}
}

/* A bar of `frac` (0..1) of w cells, in eighths where the font has them. */
static void bar(struct screen *s, int x, int y, int w, double frac, uint8_t attr)
{
	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	if (s->utf8) {
		int e = (int)(frac * w * 8 + 0.5);
		for (int i = 0; i < w && e > 0; i++, e -= 8)
			put_cell(s, x + i, y, e >= 8 ? G(s)->full : G(s)->eighths[e], 1, attr);
	} else {
		int n = (int)(frac * w + 0.5);
		for (int i = 0; i < n; i++)
			put_cell(s, x + i, y, "#", 1, attr);
	}
}

/* ---- Reading the model ------------------------------------------------------------- */

/* Blocking a function caused: cpu and off_cpu. Sched delays are the
 * machine's CPU pressure, not the function's doing; they are shown apart
 * (the drill-down's kinds, the Workers state, the Timeline's stalls). */
static uint64_t f_block_ns(const struct func_stat *f)
{
	return f->block_ns[BLOCK_CPU] + f->block_ns[BLOCK_OFF_CPU];
}

static uint64_t f_block_count(const struct func_stat *f)
{
	return f->block_count[BLOCK_CPU] + f->block_count[BLOCK_OFF_CPU];
}

static const char *S(const struct model *m, uint32_t id)
{
	return strtab_get(m->strings, id);
}

static int matches(const struct model *m, const struct func_stat *f, const char *filter)
{
	return !*filter || strcasestr(S(m, f->function), filter) || strcasestr(S(m, f->file), filter);
}

/* One row of Hotspots: a function, or every function of one file. */
struct hrow {
	int64_t key;
	uint32_t func, file, nfuncs;
	uint64_t samples, block_ns, count;
};

static int sort_by_cpu;

static int hrow_cmp(const void *a, const void *b)
{
	const struct hrow *x = a, *y = b;
	uint64_t x1 = sort_by_cpu ? x->samples : x->block_ns, y1 = sort_by_cpu ? y->samples : y->block_ns;
	uint64_t x2 = sort_by_cpu ? x->block_ns : x->samples, y2 = sort_by_cpu ? y->block_ns : y->samples;
	if (x1 != y1)
		return x1 < y1 ? 1 : -1;
	if (x2 != y2)
		return x2 < y2 ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* The blocks of a stack Hotspots counts (cpu and off_cpu). */
static uint64_t unnamed_block_count(const struct stack *st)
{
	return st->kind_count[BLOCK_CPU] + st->kind_count[BLOCK_OFF_CPU];
}

/* A stack of the unnamed row (HOT_UNNAMED): no frame to blame, and blocks
 * Hotspots counts. */
static int unnamed_stack(const struct stack *st)
{
	return st->culprit < 0 && unnamed_block_count(st);
}

/* The rows Hotspots shows, sorted; the caller frees *out. */
static uint32_t hot_rows(const struct model *m, const struct view *v, struct hrow **out)
{
	struct hrow *r = xcalloc(m->nfuncs + 2, sizeof(*r));
	uint32_t n = 0;

	if (v->group_file == GROUP_TASK) {
		/* Per task: the stacks polled under each task's future. */
		for (uint32_t i = 0; i < m->nstacks; i++) {
			const struct stack *st = &m->stacks[i];
			if (st->task < 0 || (!st->samples && !st->block_count))
				continue;
			uint32_t tf = model_stack_frame(m, i, (uint32_t)st->task)->func_index;
			if (!matches(m, &m->funcs[tf], v->filter))
				continue;
			struct hrow *row = NULL;
			for (uint32_t k = 0; k < n && !row; k++)
				if (r[k].key == (int64_t)tf)
					row = &r[k];
			if (!row) {
				if (n == m->nfuncs)
					continue;
				row = &r[n++];
				row->key = tf;
				row->func = tf;
				row->file = m->funcs[tf].file;
				row->nfuncs = 1;
			}
			row->samples += st->samples;
			row->block_ns += st->kind_ns[BLOCK_CPU] + st->kind_ns[BLOCK_OFF_CPU];
			row->count += st->kind_count[BLOCK_CPU] + st->kind_count[BLOCK_OFF_CPU];
		}
		sort_by_cpu = v->sort_cpu;
		qsort(r, n, sizeof(*r), hrow_cmp);
		*out = r;
		return n;
	}
	/* Blocks in stacks nothing names: one row (HOT_UNNAMED), as in the
	 * summary, so the rows add up to the status line's count. */
	struct hrow unnamed = { .key = HOT_UNNAMED, .func = UINT32_MAX, .file = UINT32_MAX };
	for (uint32_t i = 0; i < m->nstacks && (!*v->filter || strcasestr(UNNAMED_ROW, v->filter)); i++) {
		const struct stack *st = &m->stacks[i];
		if (!unnamed_stack(st))
			continue;
		unnamed.samples += st->samples;
		unnamed.block_ns += st->kind_ns[BLOCK_CPU] + st->kind_ns[BLOCK_OFF_CPU];
		unnamed.count += unnamed_block_count(st);
	}
	if (unnamed.count)
		r[n++] = unnamed;
	for (uint32_t i = 0; i < m->nfuncs; i++) {
		const struct func_stat *f = &m->funcs[i];
		if ((!f->samples && !f_block_count(f)) || !matches(m, f, v->filter))
			continue;
		struct hrow *row = NULL;
		if (v->group_file == GROUP_FILE)
			for (uint32_t k = 0; k < n && !row; k++)
				if (r[k].file == f->file)
					row = &r[k];
		if (!row) {
			row = &r[n++];
			row->key = v->group_file == GROUP_FILE ? (int64_t)f->file : (int64_t)i;
			row->func = i;
			row->file = f->file;
		}
		row->nfuncs++;
		row->samples += f->samples;
		row->block_ns += f_block_ns(f);
		row->count += f_block_count(f);
	}
	sort_by_cpu = v->sort_cpu;
	qsort(r, n, sizeof(*r), hrow_cmp);
	*out = r;
	return n;
}

/* Moves a selection (position) by `move` within n rows and scrolls `top` so
 * it shows in a list of `page` rows. */
static int select_row(int sel, int move, int n, int *top, int page)
{
	if (move <= MOVE_HOME)
		sel = 0;
	else if (move >= MOVE_END)
		sel = n - 1;
	else
		sel += move;
	if (sel >= n)
		sel = n - 1;
	if (sel < 0)
		sel = 0;
	if (sel < *top)
		*top = sel;
	if (page > 0 && sel >= *top + page)
		*top = sel - page + 1;
	if (*top > n - page)
		*top = n - page;
	if (*top < 0)
		*top = 0;
	return sel;
}

int render_health(const struct model *m, double *blocked_pct)
{
	uint64_t now = m->info.now_ns, win = m->info.window_ns;
	double sum = 0;

	if (win > SLOT_NS * TIMELINE_SLOTS)
		win = SLOT_NS * TIMELINE_SLOTS;
	if (!win)
		win = 10000000000ull;
	uint64_t covered = now < win ? now + 1 : win;
	for (uint32_t i = 0; i < m->nworkers; i++) {
		const struct worker_stat *w = &m->workers[i];
		double busy, blocked;
		model_worker_window(m, w, &busy, &blocked);
		/* A block still going on is in no slot yet (slots take completed
		 * events), but a stuck worker is the worst case of all. */
		if (w->state == WORKER_BLOCKED && now > w->state_since_ns) {
			uint64_t d = now - w->state_since_ns;
			double ongoing = 100.0 * (double)(d < covered ? d : covered) / (double)covered;
			if (ongoing > blocked)
				blocked = ongoing;
		}
		sum += blocked;
	}
	double pct = m->nworkers ? sum / m->nworkers : 0;
	if (blocked_pct)
		*blocked_pct = pct;
	return pct < 1 ? 0 : pct < 10 ? 1 : 2;
}

/* ---- Status --------------------------------------------------------------------- */

static void draw_status(struct screen *s, const struct model *m, const struct view *v)
{
	static const char *const health_name[] = { "NORMAL", "CAUTION", "CRITICAL" };
	static const uint8_t health_attr[] = { COL_GREEN, COL_AMBER, COL_RED };
	const struct model_info *i = &m->info;
	char a[32], b[32], c[32];
	double pct;
	int health = render_health(m, &pct);
	const char *name = i->comm[0] ? i->comm : strrchr(i->target, '/') ? strrchr(i->target, '/') + 1 : i->target;
	uint8_t bar_attr = ATTR_REVERSE;

	row_attr(s, 0, 0, s->cols, bar_attr);
	int x = putf(s, 0, 0, s->cols, bar_attr | ATTR_BOLD, " hud %s ", HUD_VERSION);
	x += putf(s, x, 0, s->cols - x, bar_attr, "%s ", G(s)->vsep);
	x += screen_put(s, x, 0, 40, bar_attr | ATTR_BOLD, name[0] ? name : "?");
	x += putf(s, x, 0, s->cols - x, bar_attr, " pid %d %s %s %s %s ", i->pid, G(s)->vsep,
		  i->replay ? "recorded" : "elapsed", fmt_clock(i->now_ns, a, sizeof(a)), G(s)->vsep);
	x += putf(s, x, 0, s->cols - x, bar_attr | ATTR_BOLD | health_attr[health], " %s ", health_name[health]);
	x += putf(s, x, 0, s->cols - x, bar_attr, " %.1f%% blocked ", pct);
	if (v->paused)
		x += putf(s, x, 0, s->cols - x, bar_attr | ATTR_BOLD | COL_AMBER, "%s PAUSED (p resumes) ", G(s)->vsep);
	if (i->replay)
		putf(s, x, 0, s->cols - x, bar_attr, "%s replay ", G(s)->vsep);

	x = putf(s, 0, 1, s->cols, 0, " workers %u   samples %s   blocking events %s   ", m->nworkers,
		 fmt_count(i->samples, a, sizeof(a)), fmt_count(i->events, b, sizeof(b)));
	x += putf(s, x, 1, s->cols - x, i->lost ? COL_RED | ATTR_BOLD : 0, "lost %s", fmt_count(i->lost, c, sizeof(c)));
	x += screen_put(s, x, 1, 3, 0, "   ");
	/* Without the count, a task that yields often can show as cpu blocks:
	 * said before the rest, which a narrow terminal cuts. */
	/* What hud warned about (on stderr, hidden by the UI): how many, the
	 * lines themselves in the summary at the end. */
	int nwarn = 0;
	for (const char *p = i->warnings; *p; p++)
		nwarn += *p == '\n';
	if (nwarn)
		x += putf(s, x, 1, s->cols - x, COL_AMBER | ATTR_BOLD, "%d warning%s   ", nwarn, nwarn == 1 ? "" : "s");
	if (i->epoll_counted == 0 && i->tick_read != 1)
		x += putf(s, x, 1, s->cols - x, COL_AMBER, "epoll not counted   ");
	if (i->debug_percent < 0)
		x += putf(s, x, 1, s->cols - x, COL_DIM, "Debug n/a");
	else
		x += putf(s, x, 1, s->cols - x, i->debug_percent < 50 ? COL_AMBER | ATTR_BOLD : 0, "Debug %d%%",
			  i->debug_percent);
	if (i->threshold_ns)
		x += putf(s, x, 1, s->cols - x, COL_DIM, "   threshold %s", fmt_dur(i->threshold_ns, a, sizeof(a)));
	/* Which discovery rule found the workers (docs/ARCHITECTURE.md). */
	if (i->workers_rule[0] && x < s->cols - 12)
		putf(s, x, 1, s->cols - x, COL_DIM, "   workers by %s", i->workers_rule);
}

/* ---- Hotspots ------------------------------------------------------------------- */

static void draw_hotspots(struct screen *s, const struct model *m, struct view *v, int y, int h)
{
	struct hrow *rows;
	uint32_t n = hot_rows(m, v, &rows);
	int focused = v->focus == FOCUS_HOTSPOTS, page = h - 2;
	char t[256], a[32], b[32];
	uint64_t total_block = m->block_total[BLOCK_CPU] + m->block_total[BLOCK_OFF_CPU];
	uint64_t total_samples = m->info.worker_samples;
	int freq = m->info.freq > 0 ? m->info.freq : 99;

	int sel = 0;
	for (uint32_t i = 0; i < n; i++)
		if (rows[i].key == v->hot_key)
			sel = (int)i;
	sel = select_row(sel, focused && !v->drill ? v->move : 0, (int)n, &v->hot_top, page);
	v->hot_key = n ? rows[sel].key : -1;
	if (focused)
		v->page = page;

	int tl = snprintf(t, sizeof(t), "Hotspots %s by %s%s", G(s)->vsep, v->sort_cpu ? "CPU time" : "blocking time",
			  v->group_file == GROUP_FILE ? ", grouped by file" :
			  v->group_file == GROUP_TASK ? ", grouped by task" : "");
	if (v->filter[0])
		tl += snprintf(t + tl, sizeof(t) - (size_t)tl, " %s filter \"%s\" (%u)", G(s)->vsep, v->filter, n);
	heading(s, y, focused ? ATTR_BOLD | COL_CYAN : ATTR_BOLD, t);

	/* Columns: marker, name, location, then numbers and a bar whose width
	 * grows with the terminal. */
	int bw = 6 + (s->cols - MIN_COLS) / 4;
	if (bw > 30)
		bw = 30;
	int fixed = 2 + 7 + 6 + 8 + 7 + 6 + 1 + bw;
	int rest = s->cols - fixed, name_w = rest * 3 / 5, loc_w = rest - name_w - 1;
	int xn = 1, xl = xn + name_w + 1, xc = xl + loc_w, xcp = xc + 7, xb = xcp + 6, xk = xb + 8,
	    xs = xk + 7, xbar = xs + 7;

	int hy = y + 1;
	screen_put(s, xn, hy, name_w, ATTR_BOLD, v->group_file == GROUP_FILE ? "FILE" :
		   v->group_file == GROUP_TASK ? "TASK" : "FUNCTION");
	screen_put(s, xl, hy, loc_w, ATTR_BOLD, v->group_file == GROUP_FILE ? "FUNCTIONS" : "LOCATION");
	screen_put(s, xc, hy, 6, ATTR_BOLD | PUT_RIGHT, "CPU");
	screen_put(s, xcp, hy, 5, ATTR_BOLD | PUT_RIGHT, "CPU%");
	screen_put(s, xb, hy, 7, ATTR_BOLD | PUT_RIGHT, "BLOCKED");
	screen_put(s, xk, hy, 6, ATTR_BOLD | PUT_RIGHT, "COUNT");
	screen_put(s, xs, hy, 6, ATTR_BOLD | PUT_RIGHT, "SHARE");
	screen_put(s, xbar, hy, bw, ATTR_BOLD, v->sort_cpu ? "CPU" : "BLOCKING");

	if (!n) {
		screen_put(s, 2, y + 2, s->cols - 4, COL_DIM,
			   v->filter[0] ? "nothing matches the filter (c clears it)"
					: "no CPU samples or blocking events on the workers yet");
	}
	for (int r = 0; r < page && v->hot_top + r < (int)n; r++) {
		const struct hrow *row = &rows[v->hot_top + r];
		int ry = y + 2 + r, is_sel = v->hot_top + r == sel;
		uint8_t base = is_sel ? (focused ? ATTR_REVERSE : ATTR_BOLD) : 0;
		double share = total_block ? (double)row->block_ns / (double)total_block : 0;
		double cpu = total_samples ? (double)row->samples / (double)total_samples : 0;

		if (is_sel) {
			row_attr(s, ry, 0, s->cols, base);
			screen_put(s, 0, ry, 1, base, G(s)->sel);
		}
		if (row->key == HOT_UNNAMED) {
			screen_put(s, xn, ry, name_w + 1 + loc_w, base | COL_DIM, UNNAMED_ROW);
		} else if (v->group_file == GROUP_FILE) {
			screen_put(s, xn, ry, name_w, base | PUT_TRUNC_LEFT, S(m, row->file));
			putf(s, xl, ry, loc_w, base | COL_CYAN, "%u function%s", row->nfuncs, row->nfuncs == 1 ? "" : "s");
		} else {
			const struct func_stat *f = &m->funcs[row->func];
			screen_put(s, xn, ry, name_w, base | ATTR_BOLD | PUT_TRUNC_LEFT, S(m, f->function));
			snprintf(t, sizeof(t), "%s:%u", S(m, f->file), f->line);
			screen_put(s, xl, ry, loc_w, base | COL_CYAN | PUT_TRUNC_LEFT, t);
		}
		screen_put(s, xc, ry, 6, base | PUT_RIGHT,
			   fmt_dur(row->samples * 1000000000ull / (uint64_t)freq, a, sizeof(a)));
		putf(s, xcp, ry, 5, base | PUT_RIGHT, "%.1f", cpu * 100);
		screen_put(s, xb, ry, 7, base | PUT_RIGHT | (row->block_ns ? COL_RED : 0),
			   fmt_dur(row->block_ns, a, sizeof(a)));
		screen_put(s, xk, ry, 6, base | PUT_RIGHT, fmt_count(row->count, b, sizeof(b)));
		putf(s, xs, ry, 6, base | PUT_RIGHT, "%.1f%%", share * 100);
		bar(s, xbar, ry, bw, v->sort_cpu ? cpu : share, base | (v->sort_cpu ? COL_GREEN : COL_RED));
	}
	free(rows);
}

/* What ends a stack whose outer frames the walk did not reach (stack.cut),
 * in the drill-down and in its copied text. */
static const char CUT_NOTE[] = "outer frames not read (the stack is deeper than hud walks)";

/* ---- Workers and Timeline -------------------------------------------------------------- */

/* A function as a worker row names it, made to fit w columns (0: any
 * width): "path::name (file:line)" (the file's name and line tell apart the
 * async blocks of one function, one name), else with leading path segments
 * dropped ("…name (file:line)"), else the name so shortened alone; what
 * still does not fit is cut from the left by screen_put. Returns 1 when the
 * label kept its file:line (or has none). */
static int func_label(const struct screen *s, const struct model *m, int32_t f, int w, char *out, size_t len)
{
	if (f < 0 || (uint32_t)f >= m->nfuncs) {
		snprintf(out, len, "?");
		return 1;
	}
	const struct func_stat *fs = &m->funcs[f];
	const char *file = S(m, fs->file), *base = strrchr(file, '/'), *name = S(m, fs->function);
	char loc[512] = "";
	if (strcmp(file, "??") != 0)
		snprintf(loc, sizeof(loc), " (%s:%u)", base ? base + 1 : file, fs->line);
	snprintf(out, len, "%s%s", name, loc);
	if (w <= 0 || text_width(out, s->utf8) <= w)
		return 1;
	/* The path, a segment at a time from the left: at each "::" outside
	 * <...>, but never right before a {{closure}}, which keeps the name
	 * of its function ("run::{{closure}}"). */
	const char *cut = NULL, *p = name;
	int depth = 0;
	for (; *p; p++) {
		if (*p == '<')
			depth++;
		else if (*p == '>' && depth > 0)
			depth--;
		else if (depth == 0 && p[0] == ':' && p[1] == ':' && strncmp(p + 2, "{{", 2) != 0) {
			const char *next = p + 2;
			snprintf(out, len, "%s%s%s", s->utf8 ? "\u2026" : "...", next, loc);
			cut = next;
			if (text_width(out, s->utf8) <= w)
				return 1;
		}
	}
	if (cut && text_width(cut, s->utf8) < w)
		snprintf(out, len, "%s%s", s->utf8 ? "\u2026" : "...", cut);
	else if (cut)
		snprintf(out, len, "%s", cut);
	else
		snprintf(out, len, "%s", name);
	return !loc[0];
}

static void draw_workers(struct screen *s, const struct model *m, struct view *v, int y, int h)
{
	int focused = v->focus == FOCUS_WORKERS, page = h - 2;
	char t[2048], a[32], b[32];
	uint64_t now = m->info.now_ns;

	int sel = 0;
	for (uint32_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].id == v->worker_key)
			sel = (int)i;
	sel = select_row(sel, focused && !v->drill ? v->move : 0, (int)m->nworkers, &v->worker_top, page);
	v->worker_key = m->nworkers ? (int64_t)m->workers[sel].id : -1;
	if (focused)
		v->page = page;

	snprintf(t, sizeof(t), "Workers %s %u %s utilisation over the last %s", G(s)->vsep, m->nworkers, G(s)->vsep,
		 fmt_dur(m->info.window_ns, a, sizeof(a)));
	heading(s, y, focused ? ATTR_BOLD | COL_CYAN : ATTR_BOLD, t);

	int rest = s->cols - 50, now_w = rest >= 60 ? rest / 2 : rest * 45 / 100, worst_w = rest - now_w - 1;
	int xi = 1, xt = 5, xu = 13, xbk = 19, xe = 25, xst = 33, xf = 41, xnow = 49, xw = xnow + now_w + 1;
	int hy = y + 1;
	screen_put(s, xi, hy, 3, ATTR_BOLD, "ID");
	screen_put(s, xt, hy, 7, ATTR_BOLD | PUT_RIGHT, "TID");
	screen_put(s, xu, hy, 5, ATTR_BOLD | PUT_RIGHT, "UTIL");
	screen_put(s, xbk, hy, 5, ATTR_BOLD | PUT_RIGHT, "BLKD");
	screen_put(s, xe, hy, 7, ATTR_BOLD | PUT_RIGHT, "EVENTS");
	screen_put(s, xst, hy, 7, ATTR_BOLD, "STATE");
	screen_put(s, xf, hy, 7, ATTR_BOLD | PUT_RIGHT, "FOR");
	screen_put(s, xnow, hy, now_w, ATTR_BOLD, m->info.replay ? "BLOCKED IN (AT END)" : "BLOCKED IN (NOW)");
	screen_put(s, xw, hy, worst_w, ATTR_BOLD, "WORST CULPRIT");
	if (!m->nworkers) {
		char none[sizeof(m->info.workers_rule) + 64];
		snprintf(none, sizeof(none), "no worker threads found yet%s%s%s", m->info.workers_rule[0] ? " (" : "",
			 m->info.workers_rule, m->info.workers_rule[0] ? ")" : "");
		screen_put(s, 2, y + 2, s->cols - 4, COL_DIM, none);
	}

	for (int r = 0; r < page && v->worker_top + r < (int)m->nworkers; r++) {
		const struct worker_stat *w = &m->workers[v->worker_top + r];
		int ry = y + 2 + r, is_sel = v->worker_top + r == sel;
		uint8_t base = is_sel ? (focused ? ATTR_REVERSE : ATTR_BOLD) : 0;
		double busy, blocked;
		model_worker_window(m, w, &busy, &blocked);

		if (is_sel) {
			row_attr(s, ry, 0, s->cols, base);
			screen_put(s, 0, ry, 1, base, G(s)->sel);
		}
		putf(s, xi, ry, 3, base, "%u", w->id);
		putf(s, xt, ry, 7, base | PUT_RIGHT, "%u", w->tid);
		putf(s, xu, ry, 5, base | PUT_RIGHT, "%.0f%%", busy);
		putf(s, xbk, ry, 5, base | PUT_RIGHT | (blocked >= 1 ? COL_RED : 0), "%.0f%%", blocked);
		screen_put(s, xe, ry, 7, base | PUT_RIGHT, fmt_count(w->block_count, a, sizeof(a)));
		static const char *const st_name[] = { "idle", "running", "blocked" };
		static const uint8_t st_attr[] = { COL_DIM, COL_GREEN, COL_RED | ATTR_BOLD };
		unsigned st = (unsigned)w->state < 3 ? (unsigned)w->state : 0;
		screen_put(s, xst, ry, 7, base | st_attr[st], st_name[st]);
		/* A state first seen at this look began at some moment since
		 * the last one: its length is not known, and none is shown. */
		if (now > w->state_since_ns && (w->state_since_ns || st))
			screen_put(s, xf, ry, 7, base | PUT_RIGHT | (st == WORKER_BLOCKED ? COL_RED : 0),
				   fmt_dur(now - w->state_since_ns, a, sizeof(a)));
		if (st == WORKER_BLOCKED) {
			/* The function, its file:line, then the kind, as room
			 * allows: the kind goes first. */
			const char *kind = block_kind_name(w->state_kind);
			int kind_w = (int)strlen(kind) + 3;
			if (!func_label(s, m, w->state_func, now_w - kind_w, t, sizeof(t)) || now_w - kind_w < 12) {
				kind_w = 0;
				func_label(s, m, w->state_func, now_w, t, sizeof(t));
			}
			int used = screen_put(s, xnow, ry, now_w - kind_w, base | COL_RED | PUT_TRUNC_LEFT, t);
			if (kind_w)
				putf(s, xnow + used, ry, now_w - used, base | COL_DIM, " (%s)", kind);
		}
		if (w->worst_func >= 0) {
			func_label(s, m, w->worst_func, worst_w, t, sizeof(t));
			screen_put(s, xw, ry, worst_w, base | PUT_TRUNC_LEFT, t);
		}
		(void)b;
	}
}

static void draw_timeline(struct screen *s, const struct model *m, const struct view *v, int y, int h)
{
	const struct glyphs *g = G(s);
	int lanes = h - 2, x0 = 6, tw = s->cols - x0 - 1;
	int bs = TIMELINE_SLOTS / tw;   /* slots per column: the lanes span up to a minute */
	char t[200];
	if (bs < 1)
		bs = 1;
	int64_t now_slot = (int64_t)(m->info.now_ns / SLOT_NS);

	snprintf(t, sizeof(t), "Timeline %s last %ds, %.1fs per column %s %s blocked %s stall %s busy %s idle",
		 g->vsep, tw * bs / 10, bs / 10.0, g->vsep, g->blocked, g->blocked_lo, g->busy_hi, g->idle);
	heading(s, y, ATTR_BOLD, t);

	for (int l = 0; l < lanes && v->worker_top + l < (int)m->nworkers; l++) {
		const struct worker_stat *w = &m->workers[v->worker_top + l];
		int ly = y + 1 + l;
		putf(s, 1, ly, 4, ATTR_BOLD, "w%u", w->id);
		for (int c = 0; c < tw; c++) {
			int64_t end = now_slot - (int64_t)(tw - 1 - c) * bs, start = end - bs + 1;
			if (end < 0)
				continue;       /* before the session began */
			if (start < 0)
				start = 0;
			uint64_t busy = 0, blocked = 0, covered = (uint64_t)(end - start + 1) * SLOT_NS;
			for (int64_t i = start; i <= end; i++) {
				const struct slot *sl = model_slot(w, (uint64_t)i * SLOT_NS);
				if (sl) {
					busy += sl->busy_ns;
					blocked += sl->blocked_ns;
				}
			}
			/* A block still going on is in no slot yet: draw it from
			 * when it began, so a stuck worker shows at once. */
			if (w->state == WORKER_BLOCKED && w->state_since_ns < (uint64_t)(end + 1) * SLOT_NS)
				blocked = covered;
			/* Any blocking shows (each event is over the threshold);
			 * a column mostly blocked stands out from a brief stall. */
			if (blocked * 10 >= covered)
				put_cell(s, x0 + c, ly, g->blocked, 1, COL_RED);
			else if (blocked)
				put_cell(s, x0 + c, ly, g->blocked_lo, 1, COL_RED);
			else if (busy * 2 >= covered)
				put_cell(s, x0 + c, ly, g->busy_hi, 1, COL_GREEN);
			else if (busy * 20 >= covered)
				put_cell(s, x0 + c, ly, g->busy_lo, 1, COL_GREEN);
			else
				put_cell(s, x0 + c, ly, g->idle, 1, COL_DIM);
		}
	}
	/* The axis: seconds before now, every 10 s. */
	int ay = y + h - 1;
	for (int c = 0; c < tw; c++)
		put_cell(s, x0 + c, ay, g->hline, 1, COL_DIM);
	for (int sec = 10; sec <= 60; sec += 10) {
		int col = tw - 1 - sec * 10 / bs;
		if (col < 0)
			break;
		putf(s, x0 + col, ay, 5, COL_DIM, "-%ds", sec);
	}
	screen_put(s, x0 + tw - 3, ay, 3, COL_DIM, "now");
}

/* ---- Drill-down ------------------------------------------------------------------ */

static int drill_match(const struct model *m, const struct view *v, uint32_t func)
{
	return v->drill_group == GROUP_FILE ? (int64_t)m->funcs[func].file == v->drill_key : (int64_t)func == v->drill_key;
}

/* The function a stack is listed under in the drill-down: its culprit, or
 * its task when Hotspots are grouped by task; -1 when it has none. */
static int64_t drill_func_of(const struct model *m, const struct view *v, uint32_t stack)
{
	const struct stack *st = &m->stacks[stack];
	int32_t pos = v->drill_group == GROUP_TASK ? st->task : st->culprit;
	return pos < 0 ? -1 : (int64_t)model_stack_frame(m, stack, (uint32_t)pos)->func_index;
}

static const struct model *stack_sort_model;

static int stack_cmp(const void *a, const void *b)
{
	const struct stack *x = &stack_sort_model->stacks[*(const uint32_t *)a];
	const struct stack *y = &stack_sort_model->stacks[*(const uint32_t *)b];
	if (x->block_ns != y->block_ns)
		return x->block_ns < y->block_ns ? 1 : -1;
	if (x->samples != y->samples)
		return x->samples < y->samples ? 1 : -1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void draw_drill(struct screen *s, const struct model *m, struct view *v, int y, int h)
{
	char t[512], a[32], b[32], c[32];
	struct func_stat agg;
	uint32_t nw = 0, *wb = NULL;
	const char *title = "?";
	uint32_t line = 0;

	/* What is drilled into: one function, or all functions of a file. */
	memset(&agg, 0, sizeof(agg));
	agg.first_ns = UINT64_MAX;
	for (uint32_t i = 0; i < m->nfuncs && v->drill_group == GROUP_TASK; i++) {
		/* A task: what its stacks add up to (no per-kind split). */
		if ((int64_t)i != v->drill_key)
			continue;
		title = S(m, m->funcs[i].function);
		line = m->funcs[i].line;
		agg.file = m->funcs[i].file;
		for (uint32_t k = 0; k < m->nstacks; k++)
			if (drill_func_of(m, v, k) == (int64_t)i) {
				agg.samples += m->stacks[k].samples;
				for (int kind = 0; kind < BLOCK_KINDS; kind++) {
					agg.block_count[kind] += m->stacks[k].kind_count[kind];
					agg.block_ns[kind] += m->stacks[k].kind_ns[kind];
				}
			}
	}
	int unnamed = v->drill_key == HOT_UNNAMED && v->drill_group != GROUP_TASK;
	for (uint32_t k = 0; k < m->nstacks && unnamed; k++) {
		/* The unnamed row: what its stacks add up to, as for a task. */
		const struct stack *st = &m->stacks[k];
		title = UNNAMED_ROW;
		if (!unnamed_stack(st))
			continue;
		agg.samples += st->samples;
		for (int kind = 0; kind < BLOCK_KINDS; kind++) {
			agg.block_count[kind] += st->kind_count[kind];
			agg.block_ns[kind] += st->kind_ns[kind];
		}
	}
	for (uint32_t i = 0; i < m->nfuncs && v->drill_group != GROUP_TASK && !unnamed; i++) {
		const struct func_stat *f = &m->funcs[i];
		if (!drill_match(m, v, i))
			continue;
		title = v->drill_group ? S(m, f->file) : S(m, f->function);
		line = f->line;
		agg.file = f->file;
		agg.samples += f->samples;
		for (int k = 0; k < BLOCK_KINDS; k++) {
			agg.block_count[k] += f->block_count[k];
			agg.block_ns[k] += f->block_ns[k];
		}
		if (f->blame_max_ns > agg.blame_max_ns)
			agg.blame_max_ns = f->blame_max_ns;
		if (f_block_count(f) && f->first_ns < agg.first_ns)
			agg.first_ns = f->first_ns;
		if (f->last_ns > agg.last_ns)
			agg.last_ns = f->last_ns;
		if (f->nworker_blocks > nw) {
			wb = xrealloc(wb, f->nworker_blocks * sizeof(uint32_t));
			memset(wb + nw, 0, (f->nworker_blocks - nw) * sizeof(uint32_t));
			nw = f->nworker_blocks;
		}
		for (uint32_t w = 0; w < f->nworker_blocks; w++)
			wb[w] += f->worker_blocks[w];
	}

	snprintf(t, sizeof(t), "Call stacks of %s", title);
	heading(s, y, ATTR_BOLD | COL_CYAN, t);
	int x = screen_put(s, 1, y + 1, 10, ATTR_BOLD, "location");
	if (unnamed)
		snprintf(t, sizeof(t), "none (no symbol in these stacks)");
	else if (v->drill_group == GROUP_FILE)
		snprintf(t, sizeof(t), "%s", S(m, agg.file));
	else
		snprintf(t, sizeof(t), "%s:%u", S(m, agg.file), line);
	x = 12 + screen_put(s, 12, y + 1, s->cols - 40, COL_CYAN | PUT_TRUNC_LEFT, t);
	putf(s, x, y + 1, s->cols - x, 0, "   CPU %s (%s sample%s)",
	     fmt_dur(agg.samples * 1000000000ull / (uint64_t)(m->info.freq > 0 ? m->info.freq : 99), a, sizeof(a)),
	     fmt_count(agg.samples, b, sizeof(b)), agg.samples == 1 ? "" : "s");

	screen_put(s, 1, y + 2, 10, ATTR_BOLD, "blocking");
	x = 12 + putf(s, 12, y + 2, s->cols - 12, f_block_ns(&agg) ? COL_RED : 0, "%s in %s events",
		      fmt_dur(f_block_ns(&agg), a, sizeof(a)), fmt_count(f_block_count(&agg), b, sizeof(b)));
	/* Per task hud keeps counts and times (its stacks'); the longest
	 * block, when and on which workers are kept per function. */
	int per_task = v->drill_group == GROUP_TASK || unnamed;
	if (per_task)
		x += putf(s, x, y + 2, s->cols - x, 0, "  %s ", G(s)->vsep);
	else
		x += putf(s, x, y + 2, s->cols - x, 0, ", longest %s  %s ", fmt_dur(agg.blame_max_ns, a, sizeof(a)),
			  G(s)->vsep);
	for (int k = 0; k < BLOCK_KINDS; k++)
		x += putf(s, x, y + 2, s->cols - x, agg.block_count[k] ? 0 : COL_DIM, " %s %s (%s)",
			  block_kind_name((enum block_kind)k), fmt_count(agg.block_count[k], b, sizeof(b)),
			  fmt_dur(agg.block_ns[k], c, sizeof(c)));

	screen_put(s, 1, y + 3, 10, ATTR_BOLD, "seen");
	if (per_task)
		screen_put(s, 12, y + 3, s->cols - 12, COL_DIM,
			   unnamed ? "when, longest, workers: per named function only"
				   : "when, longest, workers: per function only (ungrouped Hotspots)");
	else if (f_block_count(&agg))
		putf(s, 12, y + 3, s->cols - 12, 0, "first %s   last %s   (session time)", fmt_clock(agg.first_ns, a, sizeof(a)),
		     fmt_clock(agg.last_ns, b, sizeof(b)));
	else if (agg.block_count[BLOCK_SCHED_DELAY])
		screen_put(s, 12, y + 3, s->cols - 12, COL_DIM, "no blocking event: it only waited for a CPU (sched_delay, "
			   "the machine's CPU pressure)");
	else
		screen_put(s, 12, y + 3, s->cols - 12, COL_DIM, "no blocking event yet (CPU samples only)");

	if (!per_task)
		screen_put(s, 1, y + 4, 10, ATTR_BOLD, "workers");
	x = 12;
	for (uint32_t w = 0; w < m->nworkers && x < s->cols - 12 && !per_task; w++) {
		uint32_t id = m->workers[w].id, cnt = id < nw ? wb[id] : 0;
		x += putf(s, x, y + 4, s->cols - x, cnt ? 0 : COL_DIM, "w%u: %u  ", id, cnt);
	}
	free(wb);

	/* The stacks whose culprit is this function (or file). */
	uint32_t *ids = xcalloc(m->nstacks + 1, sizeof(uint32_t)), n = 0;
	for (uint32_t i = 0; i < m->nstacks; i++) {
		const struct stack *st = &m->stacks[i];
		if (!st->samples && !st->block_count)
			continue;
		if (unnamed) {
			if (unnamed_stack(st))
				ids[n++] = i;
			continue;
		}
		int64_t f = drill_func_of(m, v, i);
		if (f < 0)
			continue;
		if (v->drill_group == GROUP_TASK ? f == v->drill_key : drill_match(m, v, (uint32_t)f))
			ids[n++] = i;
	}
	stack_sort_model = m;
	qsort(ids, n, sizeof(uint32_t), stack_cmp);

	snprintf(t, sizeof(t), "%u stack%s %s innermost frame first, application frames bright %s y copies the selected one",
		 n, n == 1 ? "" : "s", G(s)->vsep, G(s)->vsep);
	heading(s, y + 5, ATTR_BOLD, t);

	/* Stacks as lines: a header, its frames, a blank; scrolled so the
	 * selected one shows (all of it when it fits). A move within a
	 * selected stack longer than the page scrolls it first: a line for a
	 * key, a page for PgUp/PgDn, to its end before the next stack is
	 * selected and back to its header before the one above. */
	int top = y + 6, page = h - 6;
	int *at = xcalloc(n + 1, sizeof(int));  /* at[k]: stack k's first line; at[n]: all */
	for (uint32_t k = 0; k < n; k++)
		at[k + 1] = at[k] + (int)m->stacks[ids[k]].depth + 2 + (int)m->stacks[ids[k]].cut;
	int total = at[n];
	int old = n ? (v->drill_sel < 0 ? 0 : v->drill_sel >= (int)n ? (int)n - 1 : v->drill_sel) : 0;
	int move = v->move;
	v->page = 3;    /* PgUp/PgDn move a couple of stacks */
	if (n && move > MOVE_HOME && move < MOVE_END && move != 0) {
		int step = move == 1 || move == -1 ? 1 : page > 2 ? page - 1 : 1;
		int below = at[old + 1] - 1 - (v->drill_top + page - 1), above = v->drill_top - at[old];
		if (move > 0 && below > 0) {
			v->drill_top += step < below ? step : below;
			move = 0;
		} else if (move < 0 && above > 0) {
			v->drill_top -= step < above ? step : above;
			move = 0;
		}
	}
	int sel = select_row(old, move, (int)n, &(int){ 0 }, 0);
	int sel_pos = n ? at[sel] : 0, sel_len = n ? at[sel + 1] - at[sel] : 0;
	free(at);
	v->drill_sel = sel;
	v->drill_stack = n ? (int64_t)ids[sel] : -1;
	/* A new selection shows from its header; a scrolled one stays as it
	 * is while any of it shows. */
	if (sel != old || sel_pos + sel_len - 1 < v->drill_top || sel_pos > v->drill_top + page - 1) {
		if (sel_pos < v->drill_top)
			v->drill_top = sel_pos;
		if (sel_pos + sel_len - 1 > v->drill_top + page - 1)
			v->drill_top = sel_pos + sel_len - page < sel_pos ? sel_pos + sel_len - page : sel_pos;
	}
	if (v->drill_top > total - page)
		v->drill_top = total - page;
	if (v->drill_top < 0)
		v->drill_top = 0;
	if (!n)
		screen_put(s, 2, top, s->cols - 4, COL_DIM, "no stack names this function as its culprit yet");

	int nm_w = (s->cols - 10) * 11 / 20, loc_x = 8 + nm_w + 1, loc_w = s->cols - loc_x - 12;
	int ln = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct stack *st = &m->stacks[ids[k]];
		int is_sel = (int)k == sel;
		int last = (int)st->depth + (st->cut ? 1 : 0);     /* the blank line */
		for (int i = -1; i <= last; i++, ln++) {
			int ry = top + ln - v->drill_top;
			if (ry < top)
				continue;
			if (ry >= top + page)
				break;
			if (i == -1) {
				uint8_t at = is_sel ? ATTR_REVERSE | ATTR_BOLD : ATTR_BOLD;
				if (is_sel)
					row_attr(s, ry, 0, s->cols, at);
				putf(s, 0, ry, s->cols, at, "%s #%u  blocked %s in %s events   %s CPU samples   %u frames",
				     is_sel ? G(s)->sel : " ", k + 1, fmt_dur(st->block_ns, a, sizeof(a)),
				     fmt_count(st->block_count, b, sizeof(b)), fmt_count(st->samples, c, sizeof(c)), st->depth);
				continue;
			}
			if (i == last)
				continue;       /* blank line between stacks */
			if (i == (int)st->depth) {
				putf(s, 8, ry, s->cols - 8, COL_DIM, "%s %s", s->utf8 ? "\u2026" : "...", CUT_NOTE);
				continue;
			}
			const struct frame *f = model_stack_frame(m, ids[k], (uint32_t)i);
			int app = f->flags & FRAME_APP;
			uint8_t at = app ? ATTR_BOLD | COL_AMBER : COL_DIM;
			putf(s, 2, ry, 5, i == st->culprit ? ATTR_BOLD | COL_RED : COL_DIM, "%s%3d", i == st->culprit ? "*" : " ", i);
			screen_put(s, 8, ry, nm_w, at | PUT_TRUNC_LEFT, S(m, f->function));
			if (f->flags & FRAME_UNKNOWN)
				t[0] = 0;
			else
				snprintf(t, sizeof(t), "%s:%u", S(m, f->file), f->line);
			screen_put(s, loc_x, ry, loc_w, (app ? COL_CYAN : COL_DIM) | PUT_TRUNC_LEFT, t);
			const char *tag = f->flags & FRAME_INLINED ? "[inlined]" : f->flags & FRAME_NODEBUG ? "[no debug]" : "";
			screen_put(s, s->cols - 11, ry, 11, COL_DIM, tag);
		}
	}
	free(ids);
}

size_t render_stack_text(const struct model *m, uint32_t stack, char *out, size_t len)
{
	size_t o = 0;
	if (!len)
		return 0;
	out[0] = 0;
	for (uint32_t i = 0; stack < m->nstacks && i < m->stacks[stack].depth; i++) {
		const struct frame *f = model_stack_frame(m, stack, i);
		char fn[1024], file[1024];
		text_sanitize(S(m, f->function), fn, sizeof(fn));
		text_sanitize(S(m, f->file), file, sizeof(file));
		int n = snprintf(out + o, len - o, "%s (%s:%u)%s\n", fn, file, f->line,
				 f->flags & FRAME_INLINED ? " [inlined]" : "");
		if (n < 0 || (size_t)n >= len - o) {
			out[o] = 0;
			break;
		}
		o += (size_t)n;
	}
	if (stack < m->nstacks && m->stacks[stack].cut) {
		int n = snprintf(out + o, len - o, "... %s\n", CUT_NOTE);
		if (n > 0 && (size_t)n < len - o)
			o += (size_t)n;
	}
	return o;
}

/* ---- Help, footer, and the whole frame ---------------------------------------------- */

static void draw_help(struct screen *s, int replay)
{
	static const char pause_line[] = "p               pause the display (profiling goes on)";
	const int u = s->utf8;
	const char *lines[] = {
		"Keys",
		"",
		"q, Ctrl-C       quit (the terminal is restored)",
		u ? "\u2191 \u2193  j k        move the selection" : "Up Down  j k    move the selection",
		"PgUp PgDn       move a page",
		"Home End        first / last row",
		"Tab             focus Hotspots / Workers",
		"Enter           call stacks of the selected hotspot",
		"                (on a worker: of its culprit)",
		u ? "Esc \u2190           back from the call stacks" : "Esc Left        back from the call stacks",
		"y               copy the selected stack (OSC 52)",
		"/               filter: Enter applies, Esc cancels",
		"c               clear the filter",
		"s               sort Hotspots by blocking / CPU time",
		"g               group Hotspots by file, by task, back",
		pause_line,
		"Ctrl-L          draw the screen anew",
		"? h             this help; any key closes it",
		"",
		"Health is the share of worker time blocked over the",
		"window: NORMAL < 1%, CAUTION < 10%, else CRITICAL.",
	};
	/* The box is 62 columns, 56 of them text: every line must fit there
	 * (test_render checks), and its 21 lines the smallest screen, 80x24. */
	int n = (int)(sizeof(lines) / sizeof(lines[0])), w = 62;
	if (replay) {   /* nothing goes on to pause */
		int k = 0;
		for (int i = 0; i < n; i++)
			if (lines[i] != pause_line)
				lines[k++] = lines[i];
		n = k;
	}
	int h = n + 2;
	int x0 = (s->cols - w) / 2, y0 = (s->rows - h) / 2;
	if (y0 < 0)
		y0 = 0;
	/* A plain margin around the box, so the panels' text does not run
	 * into it (without colour, or copied as text, reverse video is lost). */
	for (int y = y0 - 1; y <= y0 + h; y++)
		for (int x = x0 - 2; x < x0 + w + 2; x++)
			if (y >= 0 && y < s->rows && x >= 0 && x < s->cols)
				put_cell(s, x, y, " ", 1, 0);
	for (int y = 0; y < h && y0 + y < s->rows; y++) {
		for (int x = 0; x < w; x++)
			put_cell(s, x0 + x, y0 + y, " ", 1, ATTR_REVERSE);
		if (y > 0 && y <= n)
			screen_put(s, x0 + 3, y0 + y, w - 6, ATTR_REVERSE | (y == 1 ? ATTR_BOLD : 0), lines[y - 1]);
	}
}

static void draw_footer(struct screen *s, const struct view *v, int replay)
{
	int y = s->rows - 1, x = 0;
	if (v->editing) {
		x = screen_put(s, 0, y, s->cols, ATTR_BOLD | COL_CYAN, " filter: ");
		x += screen_put(s, x, y, s->cols - x - 30, PUT_TRUNC_LEFT, v->edit);
		x += screen_put(s, x, y, 1, ATTR_REVERSE, " ");
		screen_put(s, x, y, s->cols - x, COL_DIM, "   Enter applies, Esc cancels");
		return;
	}
	if (v->message[0]) {
		screen_put(s, 1, y, s->cols - 1, ATTR_BOLD | COL_GREEN, v->message);
		return;
	}
	static const char *const main_keys[][2] = {
		{ "q", "quit" }, { "?", "help" }, { NULL, "move" }, { "Enter", "stacks" }, { "/", "filter" },
		{ "c", "clear" }, { "s", "sort" }, { "g", "group" }, { "Tab", "focus" }, { "p", "pause" },
	};
	static const char *const drill_keys[][2] = {
		{ "Esc", "back" }, { NULL, "select stack" }, { "y", "copy stack" }, { "q", "quit" }, { "?", "help" },
	};
	int nk = v->drill ? 5 : 10;
	x = 1;
	for (int i = 0; i < nk && x < s->cols; i++) {
		const char *k = v->drill ? drill_keys[i][0] : main_keys[i][0];
		const char *what = v->drill ? drill_keys[i][1] : main_keys[i][1];
		if (replay && k && strcmp(k, "p") == 0)
			continue;       /* a replay has nothing to pause */
		x += screen_put(s, x, y, s->cols - x, ATTR_BOLD | COL_CYAN, k ? k : G(s)->updown);
		x += putf(s, x, y, s->cols - x, 0, " %s  ", what);
	}
}

static void draw_too_small(struct screen *s)
{
	char now[32];
	const char *lines[3] = { "terminal too small:", "need at least 80x24", now };
	snprintf(now, sizeof(now), "(now %dx%d)", s->cols, s->rows);
	if (s->cols >= 60) {
		char one[96];
		snprintf(one, sizeof(one), "terminal too small: need at least %dx%d (now %dx%d)", MIN_COLS, MIN_ROWS,
			 s->cols, s->rows);
		int w = (int)strlen(one);
		screen_put(s, (s->cols - w) / 2, s->rows / 2, s->cols, ATTR_BOLD, one);
		return;
	}
	int y0 = s->rows / 2 - 1 < 0 ? 0 : s->rows / 2 - 1;
	for (int i = 0; i < 3; i++) {
		int w = (int)strlen(lines[i]);
		screen_put(s, w < s->cols ? (s->cols - w) / 2 : 0, y0 + i, s->cols, ATTR_BOLD, lines[i]);
	}
}

void render_view_init(struct view *v, int utf8)
{
	memset(v, 0, sizeof(*v));
	v->utf8 = utf8;
	v->hot_key = v->worker_key = v->drill_key = v->drill_stack = -1;
}

void render_screen(struct screen *s, const struct model *m, struct view *v)
{
	screen_clear(s);
	if (s->cols < MIN_COLS || s->rows < MIN_ROWS) {
		draw_too_small(s);
		v->move = 0;
		return;
	}
	draw_status(s, m, v);
	int avail = s->rows - 3;        /* two status rows, one footer row */
	if (v->drill) {
		draw_drill(s, m, v, 2, avail);
	} else {
		/* Workers and Timeline get a row per worker up to a share of the
		 * height; Hotspots takes the rest. */
		int cap = (avail - 6) / 2, nw = (int)m->nworkers;
		int lanes = nw < 1 ? 1 : nw > cap - 2 ? cap - 2 : nw;
		int wh = lanes + 2, th = lanes + 2, hh = avail - wh - th;
		draw_hotspots(s, m, v, 2, hh);
		draw_workers(s, m, v, 2 + hh, wh);
		draw_timeline(s, m, v, 2 + hh + wh, th);
	}
	draw_footer(s, v, m->info.replay);
	if (v->help)
		draw_help(s, m->info.replay);
	v->move = 0;
}
