/* test_replay.c — a model written by the Chrome writer and replayed is the
 * same model: every frame, stack, function aggregate, worker (with its
 * timeline and state), total and info field the UI and the summary show,
 * and the same summary text. A copy of the file cut at every few hundred
 * bytes either replays what is whole (and says it was cut short) or is
 * refused in one sentence; bad files are refused in one sentence. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/unit/check.h"
#include "tests/unit/model_fixture.h"

static char dir[] = "/tmp/hud-test-replay.XXXXXX";

static const char *S(const struct model *m, uint32_t id)
{
	return strtab_get(m->strings, id);
}

#define EQ(field) CHECK(a->field == b->field, "%s: %llu != %llu", #field, \
	(unsigned long long)(a->field), (unsigned long long)(b->field))

static void compare(const struct model *ma, const struct model *mb)
{
	const struct model_info *a = &ma->info, *b = &mb->info;
	CHECK_STR(b->target, a->target);
	CHECK_STR(b->comm, a->comm);
	CHECK_STR(b->workers_rule, a->workers_rule);
	CHECK_STR(b->stop_reason, a->stop_reason);
	CHECK_STR(b->warnings, a->warnings);
	EQ(pid); EQ(threshold_ns); EQ(freq); EQ(duration_ns); EQ(samples); EQ(worker_samples); EQ(events);
	EQ(lost); EQ(stack_failures); EQ(debug_percent); EQ(epoll_counted); EQ(tick_read); EQ(main_symbols); EQ(window_ns); EQ(now_ns);
	CHECK(mb->info.replay == 1, "replay flag");

	CHECK(ma->nframes == mb->nframes, "frames %u != %u", ma->nframes, mb->nframes);
	for (uint32_t i = 0; i < ma->nframes && i < mb->nframes; i++) {
		const struct frame *a = &ma->frames[i], *b = &mb->frames[i];
		CHECK_STR(S(mb, b->function), S(ma, a->function));
		CHECK_STR(S(mb, b->file), S(ma, a->file));
		EQ(line); EQ(flags); EQ(func_index); EQ(decl_line);
	}
	CHECK(ma->nstacks == mb->nstacks, "stacks %u != %u", ma->nstacks, mb->nstacks);
	for (uint32_t i = 0; i < ma->nstacks && i < mb->nstacks; i++) {
		const struct stack *a = &ma->stacks[i], *b = &mb->stacks[i];
		EQ(depth); EQ(culprit); EQ(task); EQ(thread_class); EQ(samples); EQ(block_count); EQ(block_ns); EQ(cut);
		for (uint32_t k = 0; k < a->depth && k < b->depth; k++)
			CHECK(ma->stack_frames[a->first + k] == mb->stack_frames[b->first + k], "stack %u frame %u", i, k);
	}
	CHECK(ma->nfuncs == mb->nfuncs, "funcs %u != %u", ma->nfuncs, mb->nfuncs);
	for (uint32_t i = 0; i < ma->nfuncs && i < mb->nfuncs; i++) {
		const struct func_stat *a = &ma->funcs[i], *b = &mb->funcs[i];
		CHECK_STR(S(mb, b->function), S(ma, a->function));
		CHECK_STR(S(mb, b->file), S(ma, a->file));
		EQ(decl_line); EQ(line); EQ(flags); EQ(samples); EQ(block_max_ns); EQ(first_ns); EQ(last_ns); EQ(nworker_blocks);
		for (int k = 0; k < BLOCK_KINDS; k++) {
			EQ(block_count[k]);
			EQ(block_ns[k]);
		}
		for (uint32_t k = 0; k < a->nworker_blocks && k < b->nworker_blocks; k++)
			EQ(worker_blocks[k]);
	}
	CHECK(ma->nworkers == mb->nworkers, "workers %u != %u", ma->nworkers, mb->nworkers);
	for (uint32_t i = 0; i < ma->nworkers && i < mb->nworkers; i++) {
		const struct worker_stat *a = &ma->workers[i], *b = &mb->workers[i];
		EQ(id); EQ(tid); EQ(samples); EQ(block_count); EQ(block_ns); EQ(oncpu_ns); EQ(worst_func); EQ(worst_ns);
		EQ(state); EQ(state_since_ns); EQ(state_func); EQ(state_kind);
		CHECK_STR(b->comm, a->comm);
		int same = 1;
		for (int k = 0; k < TIMELINE_SLOTS; k++)
			same &= a->timeline[k].index == b->timeline[k].index && a->timeline[k].busy_ns == b->timeline[k].busy_ns &&
				a->timeline[k].blocked_ns == b->timeline[k].blocked_ns;
		CHECK(same, "worker %u: timeline differs", a->id);
		double ab, ax, bb, bx;
		model_worker_window(ma, a, &ab, &ax);
		model_worker_window(mb, b, &bb, &bx);
		CHECK(ab == bb && ax == bx, "worker %u: window %f/%f vs %f/%f", a->id, ab, ax, bb, bx);
	}
	for (int k = 0; k < BLOCK_KINDS; k++)
		CHECK(ma->block_total[k] == mb->block_total[k], "block_total[%d]", k);
	CHECK(ma->nopen == mb->nopen, "open blocks %u != %u", ma->nopen, mb->nopen);
	for (uint32_t i = 0; i < ma->nopen && i < mb->nopen; i++) {
		const struct block_event *a = &ma->open_blocks[i], *b = &mb->open_blocks[i];
		EQ(kind); EQ(worker_id); EQ(tid); EQ(start_ns); EQ(duration_ns); EQ(stack); EQ(culprit_func); EQ(task_func);
	}

	char *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	FILE *fa = open_memstream(&ta, &la), *fb = open_memstream(&tb, &lb);
	summary_print(fa, ma, 10);
	summary_print(fb, mb, 10);
	fclose(fa);
	fclose(fb);
	CHECK(la == lb && memcmp(ta, tb, la) == 0, "summaries differ:\n%s\n---\n%s", ta, tb);
	CHECK(!strchr(tb, 0x1b), "the summary carries no raw escape byte");

	free(ta);
	free(tb);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len + 1);
	if (buf && fread(buf, 1, *len, f) != *len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* hud --replay on bytes: the error (or "" when it loaded). */
static const char *replay_bytes(const void *p, size_t n, int *cut, struct model **out)
{
	static char err[2048];
	char path[256];
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	spit(path, p, n);
	err[0] = 0;
	struct model *m = replay_load(path, cut, err, sizeof(err));
	if (out)
		*out = m;
	else
		model_free(m);
	return err;
}

static int one_sentence(const char *err)
{
	return strncmp(err, "hud: ", 5) == 0 && !strchr(err, '\n') && !strchr(err, 0x1b) && strlen(err) < 600;
}

static void bad_files(void)
{
	static const struct { const char *what, *text, *words; } cases[] = {
		{ "empty", "", "is empty" },
		{ "not JSON", "hello world", "not valid JSON" },
		{ "JSON, not an object", "[1,2,3]", "does not start with a JSON object" },
		/* Not JSON at all, though its first bytes could start a value:
		 * never called JSON. */
		{ "a number, then garbage", "7\x01garbage", "does not start with a JSON object" },
		{ "white space only", " \n\t \n", "is empty (only white space)" },
		{ "no traceEvents", "{\"a\":1}", "no traceEvents" },
		{ "another program's trace", "{\"traceEvents\":[{\"ph\":\"B\",\"name\":\"x\",\"pid\":1,\"tid\":1,\"ts\":0}]}",
		  "no hud_info event (another program wrote it, or an older hud)" },
		{ "traceEvents of the wrong type", "{\"traceEvents\":{}}", "not an array" },
		{ "truncated before any hud event", "{\"traceEvents\":[{\"ph\":\"M\",", "ends before its first hud event" },
		{ "trailing garbage", "{\"traceEvents\":[]} x", "not valid JSON" },
		{ "deep nesting", NULL, "nesting deeper" },
		{ "huge string", NULL, "longer than" },
		{ "absurd number", "{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"x\",\"args\":{\"v\":1e999}}]}", "out of range" },
		{ "raw control byte", "{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"a\x1b[2Jb\"}]}", "control byte" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = (char *)cases[i].text;
		int cut = 0;
		struct model *m = NULL;
		if (!text && strstr(cases[i].words, "nesting")) {
			text = malloc(20000);
			strcpy(text, "{\"traceEvents\":[{\"a\":");
			size_t p = strlen(text);
			memset(text + p, '[', 5000);
			text[p + 5000] = 0;
		} else if (!text) {
			text = malloc(200000);
			strcpy(text, "{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"");
			size_t p = strlen(text);
			memset(text + p, 'a', 150000);
			text[p + 150000] = 0;
			strcat(text, "\"}]}");
		}
		const char *err = replay_bytes(text, strlen(text), &cut, &m);
		CHECK(!m && strstr(err, cases[i].words) && one_sentence(err), "%s: got '%s'", cases[i].what, err);
		model_free(m);
		if (text != cases[i].text)
			free(text);
	}
	char err[2048];
	int cut;
	struct model *m = replay_load(dir, &cut, err, sizeof(err));
	CHECK(!m && strstr(err, "is a directory") && one_sentence(err), "a directory: got '%s'", err);
	model_free(m);
	/* Zero bytes (a file whose data never reached the disk, /dev/zero):
	 * not "empty". */
	static const char zeros[4096];
	m = NULL;
	const char *e = replay_bytes(zeros, sizeof(zeros), &cut, &m);
	CHECK(!m && strstr(e, "starts with zero bytes") && one_sentence(e), "zero bytes: got '%s'", e);
	model_free(m);
}

/* A hud trace whose hud_* events are wrong in type or range. */
static void bad_events(void)
{
	static const char *const events[] = {
		"{\"ph\":\"M\",\"name\":\"hud_frame\",\"args\":{\"id\":\"x\",\"function\":\"f\",\"file\":\"g\",\"line\":1,\"flags\":0}}",
		"{\"ph\":\"M\",\"name\":\"hud_frame\",\"args\":{\"id\":5,\"function\":\"f\",\"file\":\"g\",\"line\":1,\"flags\":0}}",
		"{\"ph\":\"M\",\"name\":\"hud_frame\",\"args\":{\"id\":0,\"function\":7,\"file\":\"g\",\"line\":1,\"flags\":0}}",
		"{\"ph\":\"M\",\"name\":\"hud_stack\",\"args\":{\"id\":0,\"frames\":[3]}}",
		"{\"ph\":\"M\",\"name\":\"hud_stack\",\"args\":{\"id\":0,\"frames\":\"no\"}}",
		"{\"ph\":\"M\",\"name\":\"hud_worker\",\"args\":{\"id\":99999999,\"tid\":1,\"comm\":\"w\"}}",
		"{\"ph\":\"M\",\"name\":\"hud_samples\",\"args\":{\"counts\":[[0,0,1]]}}",
		"{\"ph\":\"M\",\"name\":\"hud_slots\",\"args\":{\"worker\":0,\"oncpu_ns\":1,\"slots\":[[1,999999999999,0]]}}",
		"{\"ph\":\"M\",\"name\":\"hud_state\",\"args\":{\"worker\":0,\"state\":\"dancing\",\"since_ns\":1,\"func\":-1,\"kind\":\"cpu\"}}",
		"{\"ph\":\"B\",\"name\":\"x\",\"tid\":1,\"args\":{\"worker_id\":0,\"start_ns\":1,\"dur_ns\":-5,\"stack_id\":0,\"kind\":\"cpu\"}}",
		"{\"ph\":\"M\",\"name\":\"hud_info\",\"args\":{\"format\":1}}",
		"{\"ph\":\"M\",\"name\":\"hud_info\",\"args\":[]}",
	};
	const char *info = "{\"ph\":\"M\",\"name\":\"hud_info\",\"args\":{\"format\":1,\"target\":\"t\",\"process\":\"p\","
		"\"pid\":1,\"threshold_ns\":5000000,\"frequency_hz\":99,\"workers_rule\":\"r\",\"start_ns\":0,"
		"\"duration_ns\":1,\"now_ns\":1,\"window_ns\":10000000000,\"lost_events\":0,\"stack_failures\":0,"
		"\"debug_percent\":-1,\"stop_reason\":\"\"}}";
	char text[4096];
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		int cut;
		struct model *m = NULL;
		snprintf(text, sizeof(text), "{\"traceEvents\":[%s,%s]}", info, events[i]);
		const char *err = replay_bytes(text, strlen(text), &cut, &m);
		CHECK(!m && strstr(err, "malformed") && one_sentence(err), "bad event %zu: got '%s'", i, err);
		model_free(m);
	}
	/* The good header alone loads: an empty run. */
	snprintf(text, sizeof(text), "{\"traceEvents\":[%s]}", info);
	int cut = 1;
	struct model *m = NULL;
	const char *err = replay_bytes(text, strlen(text), &cut, &m);
	CHECK(m && !cut, "a minimal trace loads: '%s'", err);
	CHECK(m && m->info.epoll_counted == -1, "a trace without epoll_counted (an older hud's) reads it as unknown");
	CHECK(m && m->info.tick_read == -1, "a trace without tick_read (an older hud's) reads it as unknown");
	model_free(m);
	/* Power loss: the zero bytes may start anywhere, inside a string, an
	 * escape, a literal or a number too; what came before loads, cut short. */
	static const char *const zero_at[] = { ",{\"ph\":\"M\",\"name\":\"hud_fr", ",{\"ph\":\"M\",\"x\":tr", ",",
					       ",{\"ph\":\"M\",\"name\":\"a\\", ",{\"ph\":\"M\",\"name\":\"a\\u00",
					       ",{\"ph\":\"M\",\"x\":12" };
	for (size_t i = 0; i < sizeof(zero_at) / sizeof(zero_at[0]); i++) {
		size_t n = (size_t)snprintf(text, sizeof(text), "{\"traceEvents\":[%s%s", info, zero_at[i]);
		memset(text + n, 0, 512);
		m = NULL;
		err = replay_bytes(text, n + 512, &cut, &m);
		static const char *const where[] = { "a string", "a literal", "a value", "an escape", "a \\u escape",
						     "a number" };
		CHECK(m && cut, "zero bytes from inside %s read as cut short: '%s'", where[i], m ? "" : err);
		model_free(m);
	}
	/* epoll_counted is -1, 0 or 1: the good header with 7 in it. */
	const char *stop = strstr(info, "\"stop_reason\"");
	snprintf(text, sizeof(text), "{\"traceEvents\":[%.*s\"epoll_counted\":7,%s]}", (int)(stop - info), info, stop);
	m = NULL;
	err = replay_bytes(text, strlen(text), &cut, &m);
	CHECK(!m && strstr(err, "malformed") && one_sentence(err), "epoll_counted 7 is refused: got '%s'", err);
	model_free(m);
	snprintf(text, sizeof(text), "{\"traceEvents\":[%.*s\"tick_read\":2,%s]}", (int)(stop - info), info, stop);
	m = NULL;
	err = replay_bytes(text, strlen(text), &cut, &m);
	CHECK(!m && strstr(err, "malformed") && one_sentence(err), "tick_read 2 is refused: got '%s'", err);
	model_free(m);
}

/* hud's trace as other tools hand it back: with a byte-order mark,
 * integers written as floats, its B events as complete (X) events, its
 * events sorted by time, compressed, or a block no run could hold. */
static void other_hands(void)
{
	const char *info = "{\"ph\":\"M\",\"name\":\"hud_info\",\"args\":{\"format\":1.0,\"target\":\"t\","
		"\"process\":\"p\",\"pid\":1,\"threshold_ns\":5e6,\"frequency_hz\":99,\"workers_rule\":\"r\","
		"\"start_ns\":0,\"duration_ns\":8000000000,\"now_ns\":8000000000,\"window_ns\":10000000000,"
		"\"lost_events\":0,\"stack_failures\":0,\"debug_percent\":-1,\"stop_reason\":\"\"}}";
	const char *defs = "{\"ph\":\"M\",\"name\":\"hud_frame\",\"args\":{\"id\":0,\"function\":\"app::f\","
		"\"file\":\"src/f.rs\",\"line\":3,\"flags\":1}},"
		"{\"ph\":\"M\",\"name\":\"hud_stack\",\"args\":{\"id\":0,\"frames\":[0]}},"
		"{\"ph\":\"M\",\"name\":\"hud_worker\",\"args\":{\"id\":0,\"tid\":5,\"comm\":\"w\"}}";
	const char *block = "{\"ph\":\"%s\",\"name\":\"app::f\",\"tid\":5,\"ts\":1000,\"dur\":20000,"
		"\"args\":{\"worker_id\":0,\"start_ns\":1000000,\"dur_ns\":%s,\"stack_id\":0,\"kind\":\"off_cpu\"}}";
	char ev[1024], text[8192];
	int cut;
	struct model *m;

	/* A byte-order mark (an editor's "UTF-8 with BOM"); floats that are
	 * whole numbers (1.0, 5e6); the block as an X event. */
	snprintf(ev, sizeof(ev), block, "X", "20000000.0");
	snprintf(text, sizeof(text), "\xef\xbb\xbf{\"traceEvents\":[%s,%s,%s]}", info, defs, ev);
	m = NULL;
	const char *err = replay_bytes(text, strlen(text), &cut, &m);
	CHECK(m && !cut, "a BOM, whole-number floats and an X event load: '%s'", err);
	CHECK(m && m->info.events == 1 && m->info.threshold_ns == 5000000 && m->block_total[BLOCK_OFF_CPU] == 20000000,
	      "the X event is the block (%llu events)", m ? (unsigned long long)m->info.events : 0ull);
	model_free(m);
	/* Another program's events in the same file (a merged trace):
	 * skipped, before hud_info too. */
	snprintf(text, sizeof(text), "{\"traceEvents\":[{\"ph\":\"B\",\"name\":\"gc\",\"tid\":1,\"ts\":0},%s,%s,"
		 "{\"ph\":\"X\",\"name\":\"frame\",\"tid\":1,\"ts\":5,\"dur\":9,\"args\":{\"n\":1}}]}", info, defs);
	m = NULL;
	err = replay_bytes(text, strlen(text), &cut, &m);
	CHECK(m && m->info.events == 0, "another program's B and X events are skipped: '%s'", err);
	model_free(m);
	/* Refused in one sentence: a fraction is no count; a block of 31
	 * years in an 8 s run; events sorted by time, the block before the
	 * events it needs, which other tools put last (no ts): said, not read
	 * as an empty run. */
	static const struct { const char *dur, *words, *what; int first; } refused[] = {
		{ "2.5", "malformed", "dur_ns 2.5", 0 },
		{ "1000000000000000000", "after the run's end", "a block past the run's end", 0 },
		{ "20000000", "before its hud_info event", "a block before hud_info", 1 },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(ev, sizeof(ev), block, "B", refused[i].dur);
		if (refused[i].first)
			snprintf(text, sizeof(text), "{\"traceEvents\":[%s,%s,%s]}", ev, info, defs);
		else
			snprintf(text, sizeof(text), "{\"traceEvents\":[%s,%s,%s]}", info, defs, ev);
		m = NULL;
		err = replay_bytes(text, strlen(text), &cut, &m);
		CHECK(!m && strstr(err, refused[i].words) && one_sentence(err), "%s is refused: '%s'", refused[i].what, err);
		model_free(m);
	}
	/* Compressed, and hud's other exports. */
	static const struct { const char *what, *bytes, *words; } other[] = {
		{ "gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip-compressed" },
		{ "folded stacks", "main;app::f 12\n", "replay the .json file" },
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		m = NULL;
		err = replay_bytes(other[i].bytes, strlen(other[i].bytes), &cut, &m);
		CHECK(!m && strstr(err, other[i].words) && one_sentence(err), "%s: '%s'", other[i].what, err);
		model_free(m);
	}
}

/* hud opens its trace before attaching, when what the attach finds (the
 * start, whether epoll_wait is counted) is not known yet: the first tick
 * after it writes them, so a file cut short a moment later has them. */
static void attach_facts(void)
{
	char path[256], tmp[300], err[2048];
	size_t len = 0;
	int cut;

	snprintf(path, sizeof(path), "%s/attach.json", dir);
	struct chrome_writer *w = chrome_open(path, err, sizeof(err));
	CHECK(w != NULL, "chrome_open: %s", err);
	if (!w)
		return;
	struct model *m = model_new();
	m->info.pid = 4243;
	chrome_attach(w, m);
	m->info.start_ns = 123456789;
	m->info.epoll_counted = 1;
	chrome_tick(w, m);
	snprintf(tmp, sizeof(tmp), "%s/.attach.json.hud-tmp.%d", dir, (int)getpid());
	char *partial = slurp(tmp, &len);
	struct model *p = NULL;
	const char *e = partial ? replay_bytes(partial, len, &cut, &p) : "no temporary file";
	CHECK(p && cut, "cut short right after attaching, the file replays: %s", e);
	CHECK(p && p->info.epoll_counted == 1 && p->info.start_ns == 123456789,
	      "with the attach's start and epoll_wait counting (read %d, %llu)", p ? p->info.epoll_counted : -2,
	      p ? (unsigned long long)p->info.start_ns : 0ull);
	model_free(p);
	free(partial);
	chrome_abort(w);
	model_free(m);
}

/* The summary of m, as text (free it). */
static char *summary_of(const struct model *m)
{
	char *t = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&t, &n);
	if (!f)
		return NULL;
	summary_print(f, m, 10);
	fclose(f);
	return t;
}

/* A model of one worker (0, tid 100) at a 5 ms threshold, for the
 * summary's rows. */
static struct model *one_worker_model(void)
{
	struct model *m = model_new();
	m->info.threshold_ns = 5000000;
	model_worker(m, 0, 100, "tokio-runtime-w");
	return m;
}

/* A function that blocks in two kinds (on CPU at one line, asleep at
 * another): its summary row names both, the longer first, and adds them
 * up, where it said only the longer kind. */
static void mixed_kinds(void)
{
	struct model *m = one_worker_model();
	uint32_t st = fix_stack(m, 1);
	const struct stack *s = &m->stacks[st];
	int32_t culprit = (int32_t)model_stack_frame(m, st, (uint32_t)s->culprit)->func_index;
	struct block_event e = { .kind = BLOCK_CPU, .worker_id = 0, .tid = 100, .start_ns = 1000,
				 .duration_ns = 8000000, .stack = st, .culprit_func = culprit, .task_func = -1 };
	model_block(m, &e);
	e.kind = BLOCK_OFF_CPU;
	e.start_ns = 20000000;
	e.duration_ns = 30000000;
	model_block(m, &e);
	char *t = summary_of(m);
	CHECK(t && strstr(t, "\n  off_cpu+cpu      2       38.0 "), "both kinds, added up:\n%s", t ? t : "");
	free(t);
	/* A kind wider than the column (cpu+sched_delay): the column widens
	 * for all rows, so the counts stay aligned. */
	uint32_t st2 = fix_stack(m, 2);
	const struct stack *s2 = &m->stacks[st2];
	e.culprit_func = (int32_t)model_stack_frame(m, st2, (uint32_t)s2->culprit)->func_index;
	e.stack = st2;
	e.kind = BLOCK_CPU;
	e.duration_ns = 9000000;
	model_block(m, &e);
	e.kind = BLOCK_SCHED_DELAY;
	e.duration_ns = 6000000;
	model_block(m, &e);
	t = summary_of(m);
	CHECK(t && strstr(t, "\n  kind             count ") && strstr(t, "\n  off_cpu+cpu          2 ") &&
	      strstr(t, "\n  cpu+sched_delay      2 "), "the kind column widens to cpu+sched_delay:\n%s", t ? t : "");
	CHECK(t && !strstr(t, "waited for a CPU"), "6 ms of waits for a CPU in 1 s: no note");
	free(t);
	/* Workers that waited for a CPU much of the time (more workers busy
	 * than CPUs): a poll is judged on the CPU time its samples saw, so
	 * cpu blocks are under-reported, which the summary says, with what
	 * samples finer. */
	m->info.duration_ns = 1000000000;
	e.kind = BLOCK_SCHED_DELAY;
	e.duration_ns = 300000000;
	model_block(m, &e);
	t = summary_of(m);
	CHECK(t && strstr(t, "note: the workers waited for a CPU 31% of their time") && strstr(t, "--freq 499"),
	      "a note on CPU pressure:\n%s", t ? t : "");
	free(t);
	model_free(m);
}

/* A stack of one frame outside the application, at pc's function. */
static uint32_t lone_stack(struct model *m, const char *function, const char *file)
{
	struct frame_in f = { function, file, 38, FRAME_NODEBUG, 0, 0 };
	return model_stack(m, &f, 1);
}

static void block_at(struct model *m, enum block_kind kind, uint32_t stack, uint64_t start, uint64_t ms)
{
	const struct stack *s = &m->stacks[stack];
	const struct frame *c = s->culprit >= 0 ? model_stack_frame(m, stack, (uint32_t)s->culprit) : NULL;
	struct block_event e = { .kind = kind, .worker_id = 0, .tid = 100, .start_ns = start,
				 .duration_ns = ms * 1000000, .stack = stack,
				 .culprit_func = c ? (int32_t)c->func_index : -1, .task_func = -1 };
	model_block(m, &e);
}

/* Under CPU pressure, workers woken from an idle park or preempted in
 * Tokio's code wait for a CPU at places nothing blocks them (a futex
 * wrapper, the vDSO's clock read): one row for all of those, not a row per
 * place that names a C library function as a culprit. A wait inside the
 * application's code keeps its row, and so does a library function that
 * was on CPU or asleep. */
static void cpu_waits_elsewhere(void)
{
	struct model *m = one_worker_model();
	uint32_t futex = lone_stack(m, "syscall", "./misc/../sysdeps/unix/sysv/linux/x86_64/syscall.S");
	uint32_t clock = lone_stack(m, "__vdso_clock_gettime", "??");
	uint32_t lib = lone_stack(m, "__GI___libc_read", "./io/read.c");
	uint32_t app = fix_stack(m, 1);
	block_at(m, BLOCK_SCHED_DELAY, futex, 1000, 7);
	block_at(m, BLOCK_SCHED_DELAY, futex, 20000000, 9);
	block_at(m, BLOCK_SCHED_DELAY, clock, 40000000, 12);
	block_at(m, BLOCK_SCHED_DELAY, app, 60000000, 6);
	block_at(m, BLOCK_SCHED_DELAY, lib, 80000000, 8);
	block_at(m, BLOCK_OFF_CPU, lib, 90000000, 20);
	char *t = summary_of(m);
	CHECK(t && strstr(t, "\n  sched_delay              3       28.0      12.0  (outside the application's code"),
	      "the waits outside the application are one row, added up:\n%s", t ? t : "");
	CHECK(t && !strstr(t, "  syscall (") && !strstr(t, "__vdso_clock_gettime"), "no row names where they waited:\n%s",
	      t ? t : "");
	CHECK(t && strstr(t, "  sched_delay              1        6.0       6.0  app::handler_1 (/src/app/src/main.rs:"),
	      "a wait in the application's code keeps its row:\n%s", t ? t : "");
	CHECK(t && strstr(t, "  off_cpu+sched_delay      2       28.0      20.0  __GI___libc_read ("),
	      "a library function that also slept keeps its row:\n%s", t ? t : "");
	free(t);
	model_free(m);
}

/* Blocks where nothing names the worker's place (a stripped binary, no
 * symbol at all): one row of their own, so that the table adds up to the
 * header's count (a tester's stripped build: 5 events said, 2 listed). */
static void unnamed_blocks(void)
{
	struct model *m = one_worker_model();
	struct frame_in nameless = { "??", "??", 0, FRAME_UNKNOWN, 1, 0 };
	uint32_t none = model_stack(m, &nameless, 1), app = fix_stack(m, 1);
	CHECK(m->stacks[none].culprit < 0, "nothing to blame in a stack of ?? frames");
	block_at(m, BLOCK_OFF_CPU, none, 1000, 30);
	block_at(m, BLOCK_OFF_CPU, none, 50000000, 12);
	block_at(m, BLOCK_CPU, none, 90000000, 7);
	block_at(m, BLOCK_OFF_CPU, app, 120000000, 9);
	char *t = summary_of(m);
	CHECK(t && strstr(t, "  off_cpu+cpu      3       49.0      30.0  (no name: the worker was in code without symbols)"),
	      "the unnamed blocks are one row, added up:\n%s", t ? t : "");
	CHECK(t && strstr(t, "  off_cpu          1        9.0       9.0  app::handler_1 ("), "the named one keeps its row:\n%s",
	      t ? t : "");
	free(t);
	model_free(m);
}

int main(void)
{
	char path[256], err[2048];
	struct model *m, *r;
	int cut;

	if (!mkdtemp(dir))
		return perror("mkdtemp"), 1;
	snprintf(path, sizeof(path), "%s/trace.json", dir);
	struct chrome_writer *w = chrome_open(path, err, sizeof(err));
	CHECK(w != NULL, "chrome_open: %s", err);
	if (!w)
		return check_done();
	m = fix_build(w, 2);
	m->info.epoll_counted = 0;      /* left off: kept through the file */
	m->info.tick_read = 1;          /* ... because the tick was read */
	m->info.main_symbols = 1;
	/* Warnings are kept for the summary and replay, not only said on
	 * stderr (a tester's cron runs lost "built without frame pointers"),
	 * each once, made safe. */
	model_warn(m, "/srv/app was built without frame pointers");
	model_warn(m, "/srv/app was built without frame pointers");
	model_warn(m, "a target named \x1b[2Jcleared");
	CHECK_STR(m->info.warnings, "/srv/app was built without frame pointers\na target named \\x1b[2Jcleared\n");
	/* A warning taken back (--workers' prefix matched at last, the
	 * runtime having started after hud): the others stay. */
	model_warn(m, "no thread of process 7 is named tokio-runtime-w*");
	model_unwarn(m, "no thread of process 7 is named");
	CHECK_STR(m->info.warnings, "/srv/app was built without frame pointers\na target named \\x1b[2Jcleared\n");
	/* One name, two declaration lines: two functions (async blocks of one
	 * function), each with its own counts. */
	int routes = 0;
	for (uint32_t i = 0; i < m->nfuncs; i++)
		routes += strcmp(S(m, m->funcs[i].function), "app::route_0::{{closure}}") == 0;
	CHECK(routes == 2, "app::route_0::{{closure}} declared at two lines is two functions (%d)", routes);

	/* The file as a killed hud leaves it: the temporary name, flushed. */
	char tmp[300];
	size_t tlen = 0;
	snprintf(tmp, sizeof(tmp), "%s/.trace.json.hud-tmp.%d", dir, (int)getpid());
	char *partial = slurp(tmp, &tlen);
	CHECK(partial && tlen > 1000, "the temporary file holds the streamed part (%zu bytes)", tlen);

	CHECK(chrome_finish(w, m, err, sizeof(err)) == 0, "chrome_finish: %s", err);
	r = replay_load(path, &cut, err, sizeof(err));
	CHECK(r && !cut, "replay_load: %s", err);
	if (r) {
		compare(m, r);
		char *t = summary_of(r);
		CHECK(t && strstr(t, "\nwarning: /srv/app was built without frame pointers\nwarning: a target named \\x1b[2J"),
		      "the replayed summary says the warnings:\n%s", t ? t : "");
		free(t);
	}
	model_free(r);

	/* --window applies to replay as live: both models answer alike. */
	{
		struct model *r2 = replay_load(path, &cut, err, sizeof(err));
		if (r2) {
			m->info.window_ns = r2->info.window_ns = 3000000000ull;
			double a, b, c, d;
			model_worker_window(m, &m->workers[0], &a, &b);
			model_worker_window(r2, &r2->workers[0], &c, &d);
			CHECK(a == c && b == d, "a 3 s window gives the same utilisation");
			m->info.window_ns = 10000000000ull;
		}
		model_free(r2);
	}

	/* Cut short: the streamed part replays and says so. */
	if (partial) {
		struct model *p = NULL;
		const char *e = replay_bytes(partial, tlen, &cut, &p);
		CHECK(p && cut, "the killed run's file replays: %s", e);
		CHECK(p && p->info.events > 0 && p->info.samples > 0 && p->nworkers == 4, "with its events, samples, workers");
		CHECK(p && strstr(p->info.stop_reason, "cut short"), "and says it was cut short");
		model_free(p);
	}

	/* Every cut of the complete file loads what is whole or is refused. */
	size_t flen = 0;
	char *full = slurp(path, &flen);
	int loaded = 0, refused = 0, bad = 0;
	uint64_t last_events = 0;
	/* Past its hud_end event the file holds all of the run: only its
	 * closing brackets are missing, and it is no cut-short run. */
	const char *end_ev = full ? strstr(full, "\"hud_end\"") : NULL;
	size_t end_at = end_ev ? (size_t)(strchr(end_ev, '}') - full) + 2 : flen;
	for (size_t n = 0; full && n < flen; n += 997) {
		struct model *p = NULL;
		const char *e = replay_bytes(full, n, &cut, &p);
		if (p) {
			loaded++;
			bad += (n < end_at ? !cut : cut) || p->info.events < last_events;
			last_events = p->info.events;
		} else {
			refused++;
			bad += !one_sentence(e);
		}
		model_free(p);
	}
	CHECK(loaded > 10 && refused >= 1 && bad == 0, "cuts: %d loaded, %d refused, %d wrong", loaded, refused, bad);
	if (full && end_ev) {
		struct model *whole = NULL, *p = NULL;
		replay_bytes(full, flen, &cut, &whole);
		const char *e = replay_bytes(full, flen - 2, &cut, &p);
		CHECK(p && whole && !cut && p->info.events == whole->info.events && !strstr(p->info.stop_reason, "cut short"),
		      "the whole run less its last two bytes is the whole run, not cut short: %s", p ? p->info.stop_reason : e);
		model_free(p);
		model_free(whole);
	}
	/* Power loss: the tail is zero bytes, from before hud_end. */
	if (full && flen > 5000 && end_at > 3000) {
		memset(full + end_at - 3000, 0, flen - (end_at - 3000));
		struct model *p = NULL;
		const char *e = replay_bytes(full, flen, &cut, &p);
		CHECK(p && cut, "a tail of zero bytes reads as cut short (%s)", p ? "" : e);
		model_free(p);
	}
	free(full);
	free(partial);

	/* A missing file names the leftover of a killed run. */
	char missing[300];
	snprintf(missing, sizeof(missing), "%s/gone.json", dir);
	snprintf(tmp, sizeof(tmp), "%s/.gone.json.hud-tmp.77", dir);
	spit(tmp, "x", 1);
	r = replay_load(missing, &cut, err, sizeof(err));
	CHECK(!r && strstr(err, ".gone.json.hud-tmp.77"), "a missing file points at the leftover: %s", err);
	unlink(tmp);

	other_hands();
	bad_files();
	bad_events();
	attach_facts();
	mixed_kinds();
	cpu_waits_elsewhere();
	unnamed_blocks();
	model_free(m);

	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
