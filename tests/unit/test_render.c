/* test_render.c — the terminal UI's drawing, without a terminal: models
 * built here are rendered into screen buffers and the text (and the bytes
 * term_encode would send) are checked.
 * - Status, Hotspots, Workers and Timeline are there; the culprit shows
 *   with file:line; `s` (sort_cpu) and `g` (group_file) change the rows;
 *   the filter keeps only matching rows; selection moves and sticks.
 * - 80x24 holds every panel; below it the screen says what size is needed.
 * - The drill-down lists the stacks innermost first with file:line,
 *   application frames highlighted, inlined frames marked, per-worker counts.
 * - Hostile names (ESC, CSI, OSC, BEL, C1, invalid UTF-8, bidi overrides)
 *   never reach the output as control bytes.
 * - A non-UTF-8 locale gets pure ASCII; NO_COLOR drops colours but keeps
 *   reverse video; wide characters take two columns. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/ui.h"
#include "tests/unit/check.h"

#define MS 1000000ull
#define SEC 1000000000ull

static uint32_t culprit_func(const struct model *m, uint32_t stack)
{
	const struct stack *s = &m->stacks[stack];
	return model_stack_frame(m, stack, (uint32_t)s->culprit)->func_index;
}

static void block(struct model *m, uint32_t stack, enum block_kind k, uint32_t worker, uint64_t start, uint64_t dur)
{
	struct block_event e = {
		.kind = k, .worker_id = worker, .tid = 100 + worker, .start_ns = start, .duration_ns = dur,
		.stack = stack, .culprit_func = (int32_t)culprit_func(m, stack),
	};
	model_block(m, &e);
}

static const char *const TOKIO_FILE = "/usr/share/cargo/registry/tokio-1.24.2/src/runtime/task/harness.rs";

/* A model like the demo's: a CPU-bound culprit, a sleeping one, a function
 * with more CPU than either but no blocking, four workers, one blocked now. */
static struct model *demo_model(const char *evil)
{
	struct model *m = model_new();
	m->info.pid = 4242;
	snprintf(m->info.comm, sizeof(m->info.comm), "demo-app");
	m->info.freq = 100;
	m->info.threshold_ns = 5 * MS;
	m->info.debug_percent = 97;

	struct frame_in cpu[] = {
		{ "app::cpu::compute_checksum", "/src/app/src/cpu.rs", 45, 0, 1, 0 },
		{ "app::cpu::handle::{{closure}}", "/src/app/src/cpu.rs", 32, FRAME_INLINED, 1, 0 },
		{ "tokio::runtime::task::harness::Harness<T,S>::poll", TOKIO_FILE, 152, 0, 1, 0 },
		{ "tokio::runtime::scheduler::multi_thread::worker::Context::run", TOKIO_FILE, 463, 0, 1, 0 },
	};
	struct frame_in sleep[] = {
		{ "std::thread::sleep", "/rustc/abc/library/std/src/thread/mod.rs", 880, 0, 1, 0 },
		{ "app::sleep::throttle_backend", "/src/app/src/sleep.rs", 30, 0, 1, 0 },
		{ "tokio::runtime::scheduler::multi_thread::worker::Context::run", TOKIO_FILE, 463, 0, 1, 0 },
	};
	struct frame_in parse[] = {
		{ evil ? evil : "app::io::parse_header", evil ? evil : "/src/app/src/io.rs", 7, 0, 1, 0 },
		{ "tokio::runtime::scheduler::multi_thread::worker::Context::run", TOKIO_FILE, 463, 0, 1, 0 },
	};
	uint32_t s_cpu = model_stack(m, cpu, 4), s_sleep = model_stack(m, sleep, 3), s_parse = model_stack(m, parse, 2);

	for (uint32_t w = 0; w < 4; w++)
		model_worker(m, w, 100 + w, "tokio-runtime-w");
	for (int i = 0; i < 30; i++)
		model_sample(m, (uint32_t)i % 4, 100 + (uint32_t)i % 4, 0, (uint64_t)i * 100 * MS, s_cpu);
	for (int i = 0; i < 80; i++)
		model_sample(m, (uint32_t)i % 4, 100 + (uint32_t)i % 4, 0, (uint64_t)i * 100 * MS, s_parse);
	for (int i = 0; i < 10; i++)
		block(m, s_cpu, BLOCK_CPU, (uint32_t)i % 4, 10 * SEC + (uint64_t)i * 500 * MS, 30 * MS);
	for (int i = 0; i < 5; i++)
		block(m, s_sleep, BLOCK_OFF_CPU, 1, 12 * SEC + (uint64_t)i * 500 * MS, 20 * MS);
	for (uint64_t t = 1; t <= 20; t++)
		for (uint32_t w = 0; w < 4; w++)
			model_worker_busy(m, w, t * SEC, 300 * MS);
	m->info.now_ns = 20 * SEC;
	model_worker_state(m, 0, WORKER_RUNNING, 19 * SEC, -1, BLOCK_CPU);
	model_worker_state(m, 2, WORKER_BLOCKED, 18 * SEC, (int32_t)culprit_func(m, s_cpu), BLOCK_CPU);
	return m;
}

static char *draw(const struct model *m, struct view *v, int cols, int rows, int utf8, struct screen **out)
{
	struct screen *s = screen_new(cols, rows, utf8);
	render_screen(s, m, v);
	char *text = screen_text(s);
	if (out)
		*out = s;
	else
		screen_free(s);
	return text;
}

/* Text of the rows between the line holding `from` and the next line holding `to`. */
static char *section(const char *text, const char *from, const char *to)
{
	const char *a = strstr(text, from);
	if (!a)
		return strdup("");
	a = strchr(a, '\n');
	const char *b = a ? strstr(a, to) : NULL;
	if (!a)
		return strdup("");
	return strndup(a + 1, b ? (size_t)(b - a - 1) : strlen(a + 1));
}

static int row_of(const struct screen *s, const char *needle)
{
	char row[2048];
	for (int y = 0; y < s->rows; y++) {
		screen_row(s, y, row, sizeof(row));
		if (strstr(row, needle))
			return y;
	}
	return -1;
}

static void test_panels(void)
{
	struct model *m = demo_model(NULL);
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;
	char *t = draw(m, &v, 120, 40, 1, &s);

	CHECK(strstr(t, "demo-app") && strstr(t, "pid 4242"), "status names target and pid:\n%s", t);
	CHECK(strstr(t, "elapsed 00:20"), "status shows elapsed time");
	CHECK(strstr(t, "workers 4") && strstr(t, "samples 110") && strstr(t, "blocking events 15") &&
	      strstr(t, "lost 0") && strstr(t, "Debug 97%"), "status counts:\n%s", t);
	CHECK(strstr(t, "NORMAL") || strstr(t, "CAUTION") || strstr(t, "CRITICAL"), "status shows health");
	CHECK(strstr(t, "Hotspots") && strstr(t, "Workers") && strstr(t, "Timeline"), "three panels:\n%s", t);
	int y = row_of(s, "compute_checksum");
	char row[2048];
	screen_row(s, y, row, sizeof(row));
	CHECK(y == 4 && strstr(row, "/src/app/src/cpu.rs:45"), "top hotspot is the culprit at file:line: %s", row);
	CHECK(strstr(row, "300ms") && strstr(row, "10"), "its blocking time and count: %s", row);
	CHECK(y >= 0 && strncmp(s->cells[(size_t)y * (size_t)s->cols].ch, "\u25b6", 3) == 0 &&
	      (s->cells[(size_t)y * (size_t)s->cols + 5].attr & ATTR_REVERSE), "the first row is selected");
	CHECK(v.hot_key == (int64_t)culprit_func(m, 0), "the view reports the selected function");

	/* Workers: the blocked one with its culprit and how long so far. */
	y = row_of(s, "(cpu)");
	screen_row(s, y, row, sizeof(row));
	CHECK(y > 0 && strstr(row, "2.00s") && strstr(row, "compute_checksum") && strstr(row, "(cpu)"),
	      "worker 2 is blocked in compute_checksum for 2 s: %s", row);
	/* With its file and line, which tell apart async blocks of one name. */
	CHECK(strstr(row, "compute_checksum (cpu.rs:45)") != NULL, "the worker's culprits have their place: %s", row);
	y = row_of(s, "running");
	CHECK(y > 0, "a running worker shows as running");
	/* Timeline: lane w2 ends blocked (the block is still going on). */
	y = row_of(s, " w2 ");
	screen_row(s, y, row, sizeof(row));
	size_t n = strlen(row);
	while (n && row[n - 1] == ' ')
		row[--n] = 0;
	CHECK(y > 0 && n >= 3 && strcmp(row + n - 3, "\u2588") == 0, "lane w2 ends blocked: %s", row);
	CHECK(row_of(s, "-10s") > y, "a time axis under the lanes");
	CHECK(strstr(t, "q quit") && strstr(t, "? help"), "footer lists keys");

	/* Debug share below 50% is amber; unknown says n/a. */
	m->info.debug_percent = 30;
	screen_free(s);
	free(t);
	t = draw(m, &v, 120, 40, 1, &s);
	y = row_of(s, "Debug 30%");
	screen_row(s, y, row, sizeof(row));
	int x = (int)(strstr(row, "Debug 30%") - row);
	CHECK(y == 1 && (s->cells[(size_t)s->cols + (size_t)x].attr & 0x0f) == COL_AMBER, "Debug 30%% is amber");
	m->info.debug_percent = -1;
	free(t);
	t = draw(m, &v, 120, 40, 1, NULL);
	CHECK(strstr(t, "Debug n/a") != NULL, "unknown debug share says n/a");
	CHECK(strstr(t, "epoll not counted") == NULL, "counted or unknown epoll_wait calls say nothing");
	free(t);
	/* Not counted (--no-epoll-count): said, in amber, on the status row,
	 * within 80 columns. */
	m->info.epoll_counted = 0;
	screen_free(s);
	t = draw(m, &v, 80, 40, 1, &s);
	y = row_of(s, "epoll not counted");
	screen_row(s, y, row, sizeof(row));
	x = y >= 0 ? (int)(strstr(row, "epoll not counted") - row) : 0;
	CHECK(y == 1 && (s->cells[(size_t)s->cols + (size_t)x].attr & 0x0f) == COL_AMBER,
	      "epoll not counted, in amber, on the status row of 80 columns");
	free(t);
	screen_free(s);
	/* Not counted because Tokio's tick told the polls apart: nothing to say. */
	m->info.tick_read = 1;
	CHECK(strstr(t = draw(m, &v, 120, 40, 1, NULL), "epoll not counted") == NULL,
	      "epoll_wait calls left off where the tick was read say nothing");
	free(t);
	m->info.tick_read = -1;
	/* Warnings, said on stderr before the UI hid it: counted on the status
	 * row, in amber, within 80 columns. */
	CHECK(strstr(t = draw(m, &v, 80, 40, 1, NULL), "warning") == NULL, "no warnings, nothing said");
	free(t);
	model_warn(m, "/srv/app was built without frame pointers");
	model_warn(m, "/srv/app keeps its debug info in split DWARF files");
	t = draw(m, &v, 80, 40, 1, &s);
	y = row_of(s, "2 warnings");
	screen_row(s, y, row, sizeof(row));
	x = y >= 0 ? (int)(strstr(row, "2 warnings") - row) : 0;
	CHECK(y == 1 && (s->cells[(size_t)s->cols + (size_t)x].attr & 0x0f) == COL_AMBER,
	      "2 warnings, in amber, on the status row of 80 columns");
	free(t);
	screen_free(s);
	model_free(m);
}

static void test_sort_group_filter_select(void)
{
	struct model *m = demo_model(NULL);
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;

	v.sort_cpu = 1;
	char *t = draw(m, &v, 120, 40, 1, &s), row[2048];
	screen_row(s, 4, row, sizeof(row));
	CHECK(strstr(row, "parse_header") != NULL, "by CPU time the busiest function is first: %s", row);
	CHECK(strstr(t, "by CPU time") != NULL, "the heading says the sort");
	free(t);
	screen_free(s);

	v.sort_cpu = 0;
	v.group_file = 1;
	v.hot_key = -1;
	t = draw(m, &v, 120, 40, 1, &s);
	screen_row(s, 4, row, sizeof(row));
	CHECK(strstr(row, "/src/app/src/cpu.rs") && strstr(row, "1 function"), "grouped by file: %s", row);
	CHECK(strstr(t, "FILE") && strstr(t, "grouped by file"), "grouped heading and columns");
	char *hot = section(t, "FILE", "Workers");
	CHECK(!strstr(hot, "compute_checksum"), "grouped rows name files, not functions: %s", hot);
	free(hot);
	free(t);
	screen_free(s);

	/* By task: the future each stack was polled under. */
	v.group_file = GROUP_TASK;
	v.hot_key = -1;
	t = draw(m, &v, 120, 40, 1, &s);
	screen_row(s, 4, row, sizeof(row));
	CHECK(strstr(row, "app::cpu::handle::{{closure}}") && strstr(row, "/src/app/src/cpu.rs:32"),
	      "grouped by task, the task's future is the row: %s", row);
	CHECK(strstr(t, "TASK") && strstr(t, "grouped by task"), "task heading and columns");
	free(t);
	screen_free(s);
	v.drill = 1;
	v.drill_group = GROUP_TASK;
	v.drill_key = v.hot_key;
	t = draw(m, &v, 120, 40, 1, NULL);
	CHECK(strstr(t, "Call stacks of app::cpu::handle::{{closure}}") && strstr(t, "compute_checksum"),
	      "the task's drill-down lists the stacks polled under it");
	/* Per task hud keeps counts and times only: the header says so rather
	 * than showing a longest block of 0 and a first one at the end of time. */
	CHECK(!strstr(t, "longest 0") && !strstr(t, "first 3") && strstr(t, "per function only"),
	      "the task's header shows only what is kept per task:\n%s", t);
	free(t);
	v.drill = 0;

	v.group_file = 0;
	v.hot_key = -1;
	snprintf(v.filter, sizeof(v.filter), "SLEEP");
	t = draw(m, &v, 120, 40, 1, NULL);
	hot = section(t, "FUNCTION", "Workers");
	CHECK(strstr(hot, "throttle_backend") && !strstr(hot, "compute_checksum") && !strstr(hot, "parse_header"),
	      "the filter keeps matching rows only (case-insensitive): %s", hot);
	CHECK(strstr(t, "filter \"SLEEP\" (1)") != NULL, "the heading shows the filter");
	free(hot);
	free(t);
	snprintf(v.filter, sizeof(v.filter), "no-such-thing");
	t = draw(m, &v, 120, 40, 1, NULL);
	CHECK(strstr(t, "nothing matches the filter") != NULL, "an empty result says so");
	free(t);
	v.filter[0] = 0;

	/* Selection: moves, sticks to the function when the order changes. */
	v.hot_key = -1;
	free(draw(m, &v, 120, 40, 1, NULL));
	int64_t first = v.hot_key;
	v.move = 1;
	free(draw(m, &v, 120, 40, 1, NULL));
	CHECK(v.hot_key != first && v.hot_key >= 0, "down moves the selection");
	int64_t second = v.hot_key;
	v.sort_cpu = 1;
	free(draw(m, &v, 120, 40, 1, NULL));
	CHECK(v.hot_key == second, "the selection follows its function through a re-sort");
	v.move = MOVE_END;
	free(draw(m, &v, 120, 40, 1, NULL));
	int64_t last = v.hot_key;
	v.move = MOVE_HOME;
	free(draw(m, &v, 120, 40, 1, NULL));
	CHECK(last != v.hot_key, "End and Home reach different rows");
	v.focus = FOCUS_WORKERS;
	v.move = 2;
	free(draw(m, &v, 120, 40, 1, NULL));
	CHECK(v.worker_key == 2, "with focus on Workers, the worker selection moves (got %lld)", (long long)v.worker_key);
	model_free(m);
}

static void test_sizes(void)
{
	struct model *m = demo_model(NULL);
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;
	char *t = draw(m, &v, 80, 24, 1, &s);

	CHECK(strstr(t, "Hotspots") && strstr(t, "Workers") && strstr(t, "Timeline") && strstr(t, "q quit"),
	      "80x24 holds every panel:\n%s", t);
	CHECK(strstr(t, "compute_checksum") && strstr(t, "cpu.rs:45"), "80x24 still names the culprit at file:line:\n%s", t);
	CHECK(row_of(s, " w3 ") > 0, "80x24 shows every worker's lane");
	/* Worker 2, blocked in compute_checksum: at 80 columns its BLOCKED IN
	 * and WORST CULPRIT columns (13 and 16 wide) name the function, without
	 * its module path and file:line, where they showed the label's end
	 * ("…5) (cpu)", "…sum (cpu.rs:45)"). */
	char wrow[2048];
	screen_row(s, row_of(s, "    102 "), wrow, sizeof(wrow));
	const char *first = strstr(wrow, "checksum");
	CHECK(first && strstr(first + 1, "compute_checksum") && !strstr(wrow, "(cpu)"),
	      "80x24: worker 2's row names compute_checksum in both columns: %s", wrow);
	int lines = 0;
	for (const char *p = t; *p; p++)
		lines += *p == '\n';
	CHECK(lines == 24, "24 rows");
	free(t);
	screen_free(s);

	t = draw(m, &v, 79, 24, 1, NULL);
	CHECK(strstr(t, "terminal too small: need at least 80x24 (now 79x24)") != NULL, "below 80 columns:\n%s", t);
	free(t);
	t = draw(m, &v, 100, 23, 1, NULL);
	CHECK(strstr(t, "need at least 80x24 (now 100x23)") != NULL, "below 24 rows:\n%s", t);
	free(t);
	t = draw(m, &v, 30, 8, 1, NULL);
	CHECK(strstr(t, "need at least 80x24") && strstr(t, "(now 30x8)"), "a tiny terminal still says it:\n%s", t);
	free(t);
	t = draw(m, &v, 5, 2, 1, NULL);
	free(t);        /* must not crash */

	/* Many workers at 80x24: the panels share the rows, nothing overflows. */
	for (uint32_t w = 4; w < 40; w++)
		model_worker(m, w, 100 + w, "tokio-runtime-w");
	t = draw(m, &v, 80, 24, 1, NULL);
	CHECK(strstr(t, "Hotspots") && strstr(t, "compute_checksum") && strstr(t, "Timeline") && strstr(t, "q quit"),
	      "40 workers still leave room for Hotspots:\n%s", t);
	free(t);
	t = draw(m, &v, 200, 60, 1, NULL);
	CHECK(strstr(t, "Hotspots") != NULL, "a wide terminal works");
	free(t);
	model_free(m);
}

/* Waits for a CPU (sched_delay) are the machine's, not the function's:
 * the drill-down's events, longest, first and last and per-worker counts
 * are its cpu/off_cpu blocks, as its Hotspots row; sched_delay shows in
 * the kinds. A function that only waited is no worker's worst culprit. */
static void test_drill_sched_delay(void)
{
	struct model *m = demo_model(NULL);
	struct frame_in vdso[] = {
		{ "__vdso_clock_gettime", "??", 0, FRAME_NODEBUG, 0, 0 },
		{ "tokio::runtime::scheduler::multi_thread::worker::Context::run", TOKIO_FILE, 463, 0, 1, 0 },
	};
	uint32_t s_vdso = model_stack(m, vdso, 2), s_cpu = 0;
	for (int i = 0; i < 6; i++) {
		block(m, s_cpu, BLOCK_SCHED_DELAY, 3, 15 * SEC + (uint64_t)i * 100 * MS, 90 * MS);
		block(m, s_vdso, BLOCK_SCHED_DELAY, 3, 16 * SEC + (uint64_t)i * 300 * MS, 200 * MS);
	}
	struct view v;
	render_view_init(&v, 1);
	v.drill = 1;
	v.drill_key = culprit_func(m, s_cpu);
	char *t = draw(m, &v, 160, 40, 1, NULL);
	CHECK(strstr(t, "300ms in 10 events, longest 30ms") && strstr(t, "sched_delay 6 (540ms)") && strstr(t, "w2: 2  w3: 2\n") &&
	      strstr(t, "last 00:14"), "compute_checksum: 10 cpu blocks, 6 waits for a CPU apart:\n%s", t);
	free(t);
	v.drill_key = culprit_func(m, s_vdso);
	t = draw(m, &v, 160, 40, 1, NULL);
	CHECK(strstr(t, "only waited for a CPU") && strstr(t, "w3: 0\n"), "a function that only waited for a CPU says so:\n%s", t);
	free(t);
	const struct worker_stat *w3 = model_worker_find(m, 3);
	CHECK(w3 && w3->worst_func == (int32_t)culprit_func(m, s_cpu), "worker 3's worst culprit is compute_checksum (%d)",
	      w3 ? w3->worst_func : -2);
	model_free(m);
}

static void test_drill(void)
{
	struct model *m = demo_model(NULL);
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;
	v.drill = 1;
	v.drill_key = culprit_func(m, 0);
	char *t = draw(m, &v, 120, 40, 1, &s), row[2048];

	CHECK(strstr(t, "Call stacks of app::cpu::compute_checksum") != NULL, "drill-down title:\n%s", t);
	CHECK(strstr(t, "cpu 10 (300ms)") && strstr(t, "off_cpu 0"), "counts by kind:\n%s", t);
	CHECK(strstr(t, "first 00:10") && strstr(t, "last 00:14"), "first and last seen:\n%s", t);
	CHECK(strstr(t, "w0: 3") && strstr(t, "w1: 3") && strstr(t, "w2: 2"), "per-worker distribution:\n%s", t);
	int y0 = row_of(s, "compute_checksum   "), y1 = row_of(s, "handle::{{closure}}"), y2 = row_of(s, "Harness<T,S>::poll");
	CHECK(y0 > 0 && y1 == y0 + 1 && y2 == y1 + 1, "frames innermost first (%d %d %d)", y0, y1, y2);
	screen_row(s, y0, row, sizeof(row));
	CHECK(strstr(row, "/src/app/src/cpu.rs:45") && strstr(row, "*  0"), "culprit frame with file:line: %s", row);
	screen_row(s, y1, row, sizeof(row));
	CHECK(strstr(row, "[inlined]") != NULL, "inlined frames are marked: %s", row);
	CHECK((s->cells[(size_t)y0 * (size_t)s->cols + 10].attr & ATTR_BOLD) &&
	      (s->cells[(size_t)y2 * (size_t)s->cols + 10].attr & 0x0f) == COL_DIM, "application frames stand out");
	CHECK(v.drill_stack == 0, "the selected stack is reported (%lld)", (long long)v.drill_stack);

	char text[4096];
	render_stack_text(m, 0, text, sizeof(text));
	CHECK(strncmp(text, "app::cpu::compute_checksum (/src/app/src/cpu.rs:45)\napp::cpu::handle::{{closure}} "
		      "(/src/app/src/cpu.rs:32) [inlined]\n", 96) == 0, "stack text for the clipboard: %s", text);
	CHECK(!strstr(t, "outer frames not read") && !strstr(text, "outer frames not read"), "a whole stack is not marked cut");
	/* A stack whose walk ran out of room (a deep recursion) says so,
	 * after its last frame and in the copied text. */
	m->stacks[0].cut = 1;
	free(t);
	screen_free(s);
	t = draw(m, &v, 120, 40, 1, &s);
	int yc = row_of(s, "outer frames not read"), ylast = row_of(s, "Harness<T,S>::poll");
	CHECK(yc > ylast && ylast > 0, "a cut stack ends with a line saying its outer frames were not read (%d after %d)", yc,
	      ylast);
	render_stack_text(m, 0, text, sizeof(text));
	CHECK(strstr(text, "outer frames not read") != NULL, "... and so does its copied text: %s", text);
	m->stacks[0].cut = 0;

	v.help = 1;
	free(t);
	screen_free(s);
	t = draw(m, &v, 120, 40, 1, NULL);
	CHECK(strstr(t, "Keys") && strstr(t, "pause the display") && strstr(t, "OSC 52"), "help overlay:\n%s", t);
	/* Two blank columns each side of the 62-column box: the panels' text
	 * does not run into it (copied as text, reverse video is lost). */
	{
		struct screen *hs;
		free(draw(m, &v, 120, 40, 1, &hs));
		int hy = row_of(hs, "quit (the terminal is restored)"), x0 = (120 - 62) / 2, blank = hy > 0;
		for (int dx = 1; dx <= 2 && hy > 0; dx++)
			blank &= strcmp(hs->cells[(size_t)hy * 120 + (size_t)(x0 - dx)].ch, " ") == 0 &&
				 strcmp(hs->cells[(size_t)hy * 120 + (size_t)(x0 + 61 + dx)].ch, " ") == 0;
		CHECK(blank, "a blank margin around the help box (row %d)", hy);
		screen_free(hs);
	}
	/* No line of it is cut short. */
	CHECK(strstr(t, "Enter applies, Esc cancels") && strstr(t, "by file, by task, back") &&
	      strstr(t, "any key closes it") && strstr(t, "CAUTION < 10%, else CRITICAL") && !strstr(t, "\u2026   "),
	      "every help line whole:\n%s", t);
	free(t);
	model_free(m);
}

/* No byte that a terminal acts on may come from the model: every ESC in
 * the output starts a CSI that hud wrote itself, and BEL, C1 controls and
 * invalid UTF-8 never appear. */
static int output_is_clean(const char *out, size_t n, char *why, size_t whylen)
{
	const unsigned char *p = (const unsigned char *)out;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == 0x1b && (i + 1 >= n || p[i + 1] != '[')) {
			snprintf(why, whylen, "ESC not followed by [ at %zu", i);
			return 0;
		}
		if (p[i] == 0x07 || (p[i] < 0x20 && p[i] != 0x1b) || p[i] == 0x7f || p[i] == 0xff || p[i] == 0xfe) {
			snprintf(why, whylen, "byte 0x%02x at %zu", p[i], i);
			return 0;
		}
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0) {
			snprintf(why, whylen, "C1 control at %zu", i);
			return 0;
		}
		if (p[i] >= 0x80 && p[i] < 0xc0 && (i == 0 || p[i - 1] < 0x80)) {
			snprintf(why, whylen, "stray continuation byte at %zu", i);
			return 0;
		}
	}
	return 1;
}

static void test_hostile(void)
{
	const char *evil = "evil\x1b]52;c;AAAA\x07\x1b[2J\x1bP+q\x1b\\\x9b" "31m\xc2\x9b" "0m\xff\xfe\x08\r\n\t"
			   "\xe2\x80\xae" "gnp.exe";
	struct model *m = demo_model(evil);
	struct view v;
	render_view_init(&v, 1);
	v.sort_cpu = 1;         /* the evil function has most CPU: first row */
	struct screen *s;
	char *t = draw(m, &v, 400, 40, 1, &s), why[128];

	CHECK(strstr(t, "evil\\x1b]52;c;AAAA\\x07\\x1b[2J") != NULL, "escapes are shown as text:\n%s", t);
	CHECK(strstr(t, "\\xc2\\x9b") && strstr(t, "\\xff\\xfe"), "C1 and invalid UTF-8 are shown as \\xNN");
	CHECK(strstr(t, "\\xe2\\x80\\xaegnp.exe") != NULL, "a bidi override is shown as \\xNN, not obeyed");
	/* The same for the summary's and the messages' text. */
	char line[64];
	text_sanitize("main\xe2\x80\xae.rs \xe2\x81\xa6x \xd8\x9c \xc3\xa9", line, sizeof(line));
	CHECK(strcmp(line, "main\\xe2\\x80\\xae.rs \\xe2\\x81\\xa6x \\xd8\\x9c \xc3\xa9") == 0,
	      "bidi controls escaped, other text kept: %s", line);
	size_t n;
	char *out = term_encode(s, NULL, 1, &n);
	CHECK(output_is_clean(out, n, why, sizeof(why)), "encoded frame is clean: %s", why);
	free(out);
	free(t);
	screen_free(s);

	v.drill = 1;
	v.drill_key = v.hot_key;
	t = draw(m, &v, 120, 40, 1, &s);
	out = term_encode(s, NULL, 0, &n);
	CHECK(strstr(t, "Call stacks of evil\\x1b") != NULL, "drill-down title escaped:\n%s", t);
	CHECK(output_is_clean(out, n, why, sizeof(why)), "encoded drill-down is clean: %s", why);
	free(out);
	char text[4096];
	render_stack_text(m, 2, text, sizeof(text));
	int clean = 1;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\n') || *p == 0x7f || *p == 0xff || (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			clean = 0;
	CHECK(clean && strstr(text, "evil\\x1b]52"), "clipboard text is sanitised: %s", text);
	free(t);
	screen_free(s);

	/* The filter is typed by the user but shown the same way. */
	v.drill = 0;
	snprintf(v.filter, sizeof(v.filter), "\x1b[31m");
	t = draw(m, &v, 120, 40, 1, &s);
	out = term_encode(s, NULL, 1, &n);
	CHECK(output_is_clean(out, n, why, sizeof(why)), "a hostile filter is clean: %s", why);
	free(out);
	free(t);
	screen_free(s);
	model_free(m);
}

static void test_ascii_color_width(void)
{
	struct model *m = demo_model("app::\xe6\x97\xa5\xe6\x9c\xac::wide");
	struct view v;
	render_view_init(&v, 0);
	struct screen *s;
	char *t = draw(m, &v, 100, 30, 0, &s);
	int ascii = 1;
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x80)
			ascii = 0;
	CHECK(ascii, "a non-UTF-8 screen is pure ASCII:\n%s", t);
	CHECK(strstr(t, "- Hotspots") && strstr(t, "app::??::wide") && strstr(t, "##"), "ASCII borders, bars, text:\n%s", t);
	free(t);
	screen_free(s);

	setenv("LC_ALL", "C", 1);
	setenv("LANG", "en_US.UTF-8", 1);
	CHECK(term_locale_utf8() == 0, "LC_ALL=C wins over LANG");
	unsetenv("LC_ALL");
	CHECK(term_locale_utf8() == 1, "LANG=en_US.UTF-8 is UTF-8");
	setenv("LC_CTYPE", "C.utf8", 1);
	setenv("LANG", "C", 1);
	CHECK(term_locale_utf8() == 1, "LC_CTYPE=C.utf8 is UTF-8");
	unsetenv("LC_CTYPE");
	unsetenv("LANG");
	CHECK(term_locale_utf8() == 0, "no locale at all is ASCII");

	setenv("NO_COLOR", "1", 1);
	CHECK(term_color() == 0, "NO_COLOR=1 turns colour off");
	setenv("NO_COLOR", "", 1);
	CHECK(term_color() == 1, "an empty NO_COLOR does not");
	unsetenv("NO_COLOR");
	CHECK(term_color() == 1, "colour by default");

	render_view_init(&v, 1);
	t = draw(m, &v, 120, 40, 1, &s);
	size_t n;
	char *plain = term_encode(s, NULL, 0, &n), *colored = term_encode(s, NULL, 1, &n);
	CHECK(!strstr(plain, ";31m") && !strstr(plain, ";32m") && !strstr(plain, ";90m") && !strstr(plain, ";33m"),
	      "no colour codes without colour");
	CHECK(strstr(plain, ";7m") != NULL, "reverse video stays without colour (the selection)");
	CHECK(strstr(colored, ";31m") && strstr(colored, ";32m"), "colours with colour");
	CHECK(strncmp(plain, "\x1b[?2026h", 8) == 0 && strstr(plain, "\x1b[?2026l"), "synchronized update");
	free(plain);
	free(colored);
	/* An unchanged frame sends only the update brackets; one changed row
	 * sends that row. */
	char *same = term_encode(s, s, 1, &n);
	CHECK(!strstr(same, "\x1b[1;1H") && !strstr(same, "\x1b[2J"), "nothing to send when nothing changed");
	free(same);
	struct screen *s2 = screen_new(120, 40, 1);
	render_screen(s2, m, &v);
	screen_put(s2, 0, 7, 10, 0, "changed");
	char *diff = term_encode(s2, s, 1, &n);
	CHECK(strstr(diff, "\x1b[8;1H") && !strstr(diff, "\x1b[7;1H") && strstr(diff, "changed"), "only the changed row");
	free(diff);
	screen_free(s2);
	free(t);
	screen_free(s);

	CHECK(text_width("\xe6\x97\xa5\xe6\x9c\xac", 1) == 4, "CJK characters are two columns wide");
	CHECK(text_width("caf\xc3\xa9", 1) == 4, "other non-ASCII characters one column");
	CHECK(text_width("a\x1b" "b", 1) == 6, "a control byte counts as its \\xNN form");
	s = screen_new(10, 1, 1);
	int used = screen_put(s, 0, 0, 5, 0, "\xe6\x97\xa5\xe6\x9c\xac\xe6\x97\xa5");
	char row[128];
	screen_row(s, 0, row, sizeof(row));
	CHECK(used <= 5 && strncmp(row, "\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa6", 9) == 0,
	      "a wide string is cut whole, with an ellipsis: '%s' (%d)", row, used);
	screen_clear(s);
	screen_put(s, 0, 0, 10, PUT_TRUNC_LEFT, "/a/very/long/path/file.rs:12");
	screen_row(s, 0, row, sizeof(row));
	CHECK(strcmp(row, "\xe2\x80\xa6" "ile.rs:12") == 0, "paths keep their end: '%s'", row);
	screen_clear(s);
	screen_put(s, 0, 0, 10, PUT_RIGHT, "42");
	screen_row(s, 0, row, sizeof(row));
	CHECK(strcmp(row, "        42") == 0, "numbers align right: '%s'", row);
	screen_free(s);
	model_free(m);
}

/* A function that blocks at one line but was first seen calling from
 * another (a CPU sample inside the callee it runs while holding a lock):
 * its Hotspots row names the line where it blocks, the demo's
 * update_shared_state (lock at :53, the held work at :54). */
static void test_blocking_line(void)
{
	struct model *m = model_new();
	m->info.freq = 99;
	m->info.threshold_ns = 5 * MS;
	struct frame_in held[] = {
		{ "app::mutex::rebalance_ledger", "/src/app/src/mutex.rs", 66, 0, 1, 0 },
		{ "app::mutex::update_shared_state", "/src/app/src/mutex.rs", 54, 0, 1, 0 },
		{ "tokio::runtime::scheduler::multi_thread::worker::Context::run", TOKIO_FILE, 463, 0, 1, 0 },
	};
	struct frame_in waiting[] = {
		{ "syscall", "??", 0, FRAME_NODEBUG, 0, 0 },
		{ "std::sys::sync::mutex::futex::Mutex::lock_contended", "/rustc/abc/library/std/src/sys/sync/mutex/futex.rs",
		  62, 0, 1, 0 },
		{ "app::mutex::update_shared_state", "/src/app/src/mutex.rs", 53, 0, 1, 0 },
		{ "tokio::runtime::scheduler::multi_thread::worker::Context::run", TOKIO_FILE, 463, 0, 1, 0 },
	};
	uint32_t s_held = model_stack(m, held, 3);
	uint32_t s_wait = model_stack(m, waiting, 4);
	model_worker(m, 0, 100, "tokio-runtime-w");
	model_worker(m, 1, 101, "tokio-runtime-w");
	for (int i = 0; i < 5; i++)
		model_sample(m, 0, 100, 0, (uint64_t)i * 10 * MS, s_held);
	for (int i = 0; i < 5; i++)
		block(m, s_wait, BLOCK_OFF_CPU, 1, (uint64_t)i * 20 * MS, (10 + (uint64_t)i) * MS);
	m->info.now_ns = 200 * MS;
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;
	char *t = draw(m, &v, 120, 40, 1, &s);
	char row[2048];
	int y = row_of(s, "update_shared_state");
	if (y >= 0)
		screen_row(s, y, row, sizeof(row));
	CHECK(y >= 0 && strstr(row, "mutex.rs:53"), "the blocking culprit shows the line it blocks at: %s",
	      y >= 0 ? row : t);
	free(t);
	screen_free(s);
	model_free(m);
}

static void test_health(void)
{
	struct model *m = model_new();
	double pct;
	model_worker(m, 0, 1, "w");
	m->info.now_ns = 20 * SEC;
	CHECK(render_health(m, &pct) == 0 && pct < 1, "no blocking is NORMAL (%.1f)", pct);
	model_worker_state(m, 0, WORKER_BLOCKED, 19500 * MS, -1, BLOCK_OFF_CPU);
	CHECK(render_health(m, &pct) == 1, "5%% blocked (a block going on) is CAUTION (%.1f)", pct);
	model_worker_state(m, 0, WORKER_BLOCKED, 15 * SEC, -1, BLOCK_OFF_CPU);
	CHECK(render_health(m, &pct) == 2, "50%% blocked is CRITICAL (%.1f)", pct);
	model_free(m);
}

/* A replayed file may name a stack with no frames, also as its first:
 * the model keeps it as a stack of depth 0, with no pointer arithmetic
 * on an array not allocated yet (the fuzzer found it: regress_empty_stack
 * in the replay corpus). */
static void test_empty_stack(void)
{
	struct model *m = model_new();
	struct frame_in none[1];

	uint32_t a = model_stack(m, none, 0), b = model_stack(m, none, 0);
	CHECK(a == b && m->nstacks == 1 && m->stacks[a].depth == 0, "an empty stack is one stack of depth 0");
	model_free(m);
}

/* A replayed trace: its end is "now", nothing goes on, so nothing live is
 * offered (no pause key, none in the help), and the worker's column says
 * the state is the one at the end. A state seen to begin at the last look
 * has no known length: no FOR (not "0"). */
static void test_replay_and_fresh_state(void)
{
	struct model *m = demo_model(NULL);
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;

	model_worker_state(m, 3, WORKER_IDLE, m->info.now_ns, -1, BLOCK_OFF_CPU);
	char *t = draw(m, &v, 120, 40, 1, &s);
	int y = row_of(s, " 103 ");
	char row[2048];
	screen_row(s, y, row, sizeof(row));
	CHECK(y > 0 && strstr(row, "idle    ") && !strstr(row, " 0 "), "an idle state that began at this look shows no FOR: %s", row);
	CHECK(strstr(t, "p pause") && strstr(t, "(NOW)"), "live: p pause, BLOCKED IN (NOW):\n%s", t);
	free(t);
	screen_free(s);

	m->info.replay = 1;
	t = draw(m, &v, 120, 40, 1, NULL);
	CHECK(!strstr(t, "pause") && strstr(t, "(AT END)") && !strstr(t, "(NOW)"),
	      "replay: no pause key, the states are the recording's end's:\n%s", t);
	free(t);
	v.help = 1;
	t = draw(m, &v, 120, 40, 1, NULL);
	CHECK(strstr(t, "Keys") && !strstr(t, "pause"), "replay: the help offers no pause:\n%s", t);
	free(t);
	model_free(m);
}

/* Blocks in stacks nothing names (a stripped binary): a Hotspots row of
 * their own, as in the summary, and its drill-down lists those stacks.
 * Before, the status line counted them and no row showed them. */
static void test_unnamed_row(void)
{
	struct model *m = demo_model(NULL);
	struct frame_in nameless = { "??", "??", 0, FRAME_UNKNOWN, 1, 0 };
	uint32_t none = model_stack(m, &nameless, 1);
	CHECK(m->stacks[none].culprit < 0, "nothing to blame in a stack of ?? frames");
	for (int i = 0; i < 3; i++) {
		struct block_event e = { .kind = i ? BLOCK_OFF_CPU : BLOCK_CPU, .worker_id = 1, .tid = 101,
					 .start_ns = 13 * SEC + (uint64_t)i * SEC, .duration_ns = 400 * MS,
					 .stack = none, .culprit_func = -1 };
		model_block(m, &e);
	}
	struct view v;
	render_view_init(&v, 1);
	struct screen *s;
	char *t = draw(m, &v, 160, 40, 1, &s), row[2048];
	int y = row_of(s, UNNAMED_ROW), yc = row_of(s, "compute_checksum");
	if (y >= 0)
		screen_row(s, y, row, sizeof(row));
	CHECK(y > 0 && y < yc && strstr(row, "1.20s") && strstr(row, " 3 "),
	      "the unnamed blocks are a row, first by blocking time (1.2 s in 3):\n%s", t);
	CHECK(v.hot_key == HOT_UNNAMED, "and selected first (%lld)", (long long)v.hot_key);
	free(t);
	screen_free(s);
	/* Filtered out by a filter it does not match. */
	snprintf(v.filter, sizeof(v.filter), "checksum");
	t = draw(m, &v, 160, 40, 1, NULL);
	CHECK(!strstr(t, UNNAMED_ROW) && strstr(t, "compute_checksum"), "a filter leaves it out:\n%s", t);
	free(t);
	v.filter[0] = 0;
	v.drill = 1;
	v.drill_group = GROUP_FUNCTION;
	v.drill_key = HOT_UNNAMED;
	t = draw(m, &v, 160, 40, 1, NULL);
	CHECK(strstr(t, "Call stacks of " UNNAMED_ROW) && strstr(t, "1.20s in 3 events") && strstr(t, "cpu 1 (400ms)") &&
	      strstr(t, "off_cpu 2 (800ms)") && strstr(t, "1 stack ") && v.drill_stack == (int64_t)none,
	      "its drill-down adds up its stacks and lists them:\n%s", t);
	free(t);
	model_free(m);
}

int main(void)
{
	test_replay_and_fresh_state();
	test_empty_stack();
	test_panels();
	test_sort_group_filter_select();
	test_sizes();
	test_drill_sched_delay();
	test_drill();
	test_hostile();
	test_ascii_color_width();
	test_health();
	test_blocking_line();
	test_unnamed_row();
	return check_done();
}
