/* replay.c — rebuilds the profile model from a hud Chrome trace, so a trace
 * taken on a server opens later anywhere, without root, BPF or the target.
 *
 * The file is read as a stream (ui/json.c): every trace event is read whole,
 * checked, and applied to a fresh model through the same calls the live
 * session makes (model_stack, model_worker, model_block, ...), in the order
 * the writer saw them (ui/export_chrome.c says which hud_* events carry the
 * model). Everything else in the file — stackFrames, samples, otherData,
 * Perfetto-only events — is skipped without being kept, so memory follows
 * the model, not the file. An event is applied only once it is complete: a
 * file cut short loads up to its last whole event. Nothing from the file is
 * trusted: every number is range-checked and every id must refer to
 * something already defined; strings are stored raw and sanitised by
 * whoever prints them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ui/ui.h"

#define MAX_WORKERS     4096            /* the model keeps per-worker counts up to this id */
#define MAX_DEPTH       256             /* frames per stack, as model_stack keeps */
#define MAX_NS          (1ull << 62)    /* about 146 years */
#define MAX_COUNT       (1ull << 48)
#define EVENT_BYTES     (64u << 20)     /* one event, read whole */

struct rframe { uint32_t function, file, line, flags, decl_line; };

struct replay {
	struct json *j;
	struct jdoc d;
	struct model *m;
	struct rframe *frames;          /* as the file numbers them */
	uint32_t nframes, frames_cap;
	uint32_t *stacks;               /* file stack id -> model stack id */
	uint32_t nstacks, stacks_cap;
	int seen_info, seen_end;
	uint64_t file_now, file_duration;
	uint64_t early_blocks;          /* B (X) events before hud_info: reordered */
	uint64_t last_end;              /* the latest end of a block */
};

/* Records a malformed event; the position comes from the reader. */
static int bad(struct replay *r, const char *event, const char *what)
{
	char safe[64];
	text_sanitize(event, safe, sizeof(safe));      /* the name may come from the file */
	json_fail(r->j, "a malformed %s event (%s)", safe, what);
	return -1;
}

static int arg_u64(struct replay *r, int args, const char *key, uint64_t max, uint64_t *out)
{
	return jdoc_u64(&r->d, jdoc_get(&r->d, args, key), max, out);
}

/* An integer in [lo, hi], negative values allowed. */
static int arg_int(struct replay *r, int node, int64_t lo, int64_t hi, int64_t *out)
{
	double v;
	if (jdoc_num(&r->d, node, (double)lo, (double)hi, &v) < 0 || v != (double)(int64_t)v)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static const char *arg_str(struct replay *r, int args, const char *key)
{
	return jdoc_str(&r->d, jdoc_get(&r->d, args, key));
}

static int kind_of(const char *s, enum block_kind *out)
{
	for (int k = 0; s && k < BLOCK_KINDS; k++)
		if (strcmp(s, block_kind_name((enum block_kind)k)) == 0) {
			*out = (enum block_kind)k;
			return 0;
		}
	return -1;
}

/* ---- hud_* events --------------------------------------------------------------- */

static int on_info(struct replay *r, int args)
{
	struct model_info *i = &r->m->info;
	uint64_t pid, thr, freq, start, dur, now, win, lost, fails, format;
	int64_t dbg, polls = -1, syms = -1, tick = -1;
	int polls_at = jdoc_get(&r->d, args, "epoll_counted");   /* absent before hud wrote it */
	int tick_at = jdoc_get(&r->d, args, "tick_read");         /* likewise */
	int syms_at = jdoc_get(&r->d, args, "main_symbols");     /* likewise */
	const char *target = arg_str(r, args, "target"), *comm = arg_str(r, args, "process");
	const char *rule = arg_str(r, args, "workers_rule"), *stop = arg_str(r, args, "stop_reason");

	if (arg_u64(r, args, "format", 1000, &format) < 0)
		return bad(r, "hud_info", "format must be a number");
	if (format > 1) {
		json_fail(r->j, "a trace format (%llu) newer than this hud reads; replay it with a newer hud",
			  (unsigned long long)format);
		return -1;
	}
	if (!target || !comm || !rule || !stop)
		return bad(r, "hud_info", "target, process, workers_rule and stop_reason must be strings");
	if (arg_u64(r, args, "pid", 4194304, &pid) < 0 || arg_u64(r, args, "threshold_ns", MAX_NS, &thr) < 0 ||
	    arg_u64(r, args, "frequency_hz", 1000000, &freq) < 0 || arg_u64(r, args, "start_ns", MAX_NS, &start) < 0 ||
	    arg_u64(r, args, "duration_ns", MAX_NS, &dur) < 0 || arg_u64(r, args, "now_ns", MAX_NS, &now) < 0 ||
	    arg_u64(r, args, "window_ns", MAX_NS, &win) < 0 || arg_u64(r, args, "lost_events", MAX_COUNT, &lost) < 0 ||
	    arg_u64(r, args, "stack_failures", MAX_COUNT, &fails) < 0 ||
	    arg_int(r, jdoc_get(&r->d, args, "debug_percent"), -1, 100, &dbg) < 0 ||
	    (polls_at >= 0 && arg_int(r, polls_at, -1, 1, &polls) < 0) ||
	    (tick_at >= 0 && arg_int(r, tick_at, -1, 1, &tick) < 0) ||
	    (syms_at >= 0 && arg_int(r, syms_at, -1, 1, &syms) < 0))
		return bad(r, "hud_info", "a number is missing or out of range");
	snprintf(i->target, sizeof(i->target), "%s", target);
	snprintf(i->comm, sizeof(i->comm), "%s", comm);
	/* Printed as they are by the summary: made safe here. */
	text_sanitize(rule, i->workers_rule, sizeof(i->workers_rule));
	text_sanitize(stop, i->stop_reason, sizeof(i->stop_reason));
	/* Lines made safe one by one (absent before hud wrote them). */
	const char *warnings = arg_str(r, args, "warnings");
	i->warnings[0] = 0;
	for (const char *p = warnings ? warnings : ""; *p;) {
		char line[512];
		size_t len = strcspn(p, "\n");
		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		model_warn(r->m, line);
		p += len + (p[len] == '\n');
	}
	i->pid = (int)pid;
	i->threshold_ns = thr;
	i->freq = (int)freq;
	i->start_ns = start;
	i->window_ns = win ? win : i->window_ns;
	i->lost = lost;
	i->stack_failures = fails;
	i->debug_percent = (int)dbg;
	i->epoll_counted = (int)polls;
	i->tick_read = (int)tick;
	i->main_symbols = (int)syms;
	r->file_duration = dur;
	r->file_now = now;
	r->seen_info = 1;
	return 0;
}

static int on_frame(struct replay *r, int args)
{
	uint64_t id, line, flags, decl = 0;
	const char *fn = arg_str(r, args, "function"), *file = arg_str(r, args, "file");
	int decl_at = jdoc_get(&r->d, args, "decl_line");      /* absent: unknown, or an earlier build */

	if (!fn || !file)
		return bad(r, "hud_frame", "function and file must be strings");
	if (arg_u64(r, args, "id", UINT32_MAX, &id) < 0 || id != r->nframes)
		return bad(r, "hud_frame", "frame ids must count up from 0");
	if (arg_u64(r, args, "line", UINT32_MAX, &line) < 0 || arg_u64(r, args, "flags", 0xff, &flags) < 0)
		return bad(r, "hud_frame", "line and flags must be small numbers");
	if (decl_at >= 0 && jdoc_u64(&r->d, decl_at, UINT32_MAX, &decl) < 0)
		return bad(r, "hud_frame", "decl_line must be a line number");
	if (r->nframes == r->frames_cap) {
		r->frames_cap = r->frames_cap ? r->frames_cap * 2 : 1024;
		r->frames = xrealloc(r->frames, r->frames_cap * sizeof(*r->frames));
	}
	r->frames[r->nframes++] = (struct rframe){
		strtab_intern(r->m->strings, fn), strtab_intern(r->m->strings, file), (uint32_t)line, (uint32_t)flags,
		(uint32_t)decl,
	};
	return 0;
}

static int on_stack(struct replay *r, int args)
{
	struct frame_in in[MAX_DEPTH];
	uint64_t id, f;
	int frames = jdoc_get(&r->d, args, "frames"), n = 0;

	if (arg_u64(r, args, "id", UINT32_MAX, &id) < 0 || id != r->nstacks)
		return bad(r, "hud_stack", "stack ids must count up from 0");
	if (jdoc_type(&r->d, frames) != JSON_ARRAY || jdoc_len(&r->d, frames) > MAX_DEPTH)
		return bad(r, "hud_stack", "frames must be an array of at most 256 frame ids");
	for (int c = jdoc_first(&r->d, frames); c >= 0; c = jdoc_next(&r->d, frames, c)) {
		if (jdoc_u64(&r->d, c, r->nframes ? r->nframes - 1 : 0, &f) < 0 || f >= r->nframes)
			return bad(r, "hud_stack", "a frame id that no hud_frame defined");
		const struct rframe *rf = &r->frames[f];
		/* The frame was the application's when it was in the main
		 * executable and the rules said so; saying in_main for those
		 * (only) makes model_stack decide the same again. */
		in[n++] = (struct frame_in){
			.function = strtab_get(r->m->strings, rf->function), .file = strtab_get(r->m->strings, rf->file),
			.line = rf->line, .flags = rf->flags, .decl_line = rf->decl_line,
			.in_main = (rf->flags & FRAME_APP) ? 1 : 0,
		};
	}
	if (r->nstacks == r->stacks_cap) {
		r->stacks_cap = r->stacks_cap ? r->stacks_cap * 2 : 1024;
		r->stacks = xrealloc(r->stacks, r->stacks_cap * sizeof(uint32_t));
	}
	r->stacks[r->nstacks] = model_stack(r->m, in, n);
	if (jdoc_type(&r->d, jdoc_get(&r->d, args, "cut")) == JSON_TRUE)
		r->m->stacks[r->stacks[r->nstacks]].cut = 1;
	r->nstacks++;
	return 0;
}

static int stack_arg(struct replay *r, int node, uint32_t *out)
{
	uint64_t id;
	if (jdoc_u64(&r->d, node, UINT32_MAX, &id) < 0 || id >= r->nstacks)
		return -1;
	*out = r->stacks[id];
	return 0;
}

static int on_worker(struct replay *r, int args)
{
	uint64_t id, tid;
	const char *comm = arg_str(r, args, "comm");
	char safe[16];

	if (arg_u64(r, args, "id", MAX_WORKERS - 1, &id) < 0 || arg_u64(r, args, "tid", 4194304, &tid) < 0 || !comm)
		return bad(r, "hud_worker", "id, tid and comm are missing or out of range");
	if (r->m->nworkers >= MAX_WORKERS && !model_worker_find(r->m, (uint32_t)id))
		return bad(r, "hud_worker", "more than 4096 workers");
	text_sanitize(comm, safe, sizeof(safe));
	model_worker(r->m, (uint32_t)id, (uint32_t)tid, safe);
	return 0;
}

static int on_worker_gone(struct replay *r, int args)
{
	uint64_t id;
	if (arg_u64(r, args, "id", MAX_WORKERS - 1, &id) < 0)
		return bad(r, "hud_worker_gone", "id is missing or out of range");
	model_worker_remove(r->m, (uint32_t)id);
	return 0;
}

/* What model_sample does, `count` times over. */
static int on_samples(struct replay *r, int args)
{
	int counts = jdoc_get(&r->d, args, "counts");
	struct model *m = r->m;

	if (jdoc_type(&r->d, counts) != JSON_ARRAY)
		return bad(r, "hud_samples", "counts must be an array");
	for (int c = jdoc_first(&r->d, counts); c >= 0; c = jdoc_next(&r->d, counts, c)) {
		int a = jdoc_first(&r->d, c), b = a >= 0 ? jdoc_next(&r->d, c, a) : -1;
		int n = b >= 0 ? jdoc_next(&r->d, c, b) : -1;
		uint32_t stack;
		int64_t worker;
		uint64_t count;
		if (jdoc_type(&r->d, c) != JSON_ARRAY || jdoc_len(&r->d, c) != 3 || stack_arg(r, a, &stack) < 0 ||
		    arg_int(r, b, -1, MAX_WORKERS - 1, &worker) < 0 || jdoc_u64(&r->d, n, MAX_COUNT, &count) < 0)
			return bad(r, "hud_samples", "each count must be [stack id, worker id or -1, count]");
		m->info.samples += count;
		struct worker_stat *w = worker >= 0 ? model_worker_find(m, (uint32_t)worker) : NULL;
		if (!w)
			continue;
		struct stack *s = &m->stacks[stack];
		m->info.worker_samples += count;
		w->samples += count;
		s->samples += count;
		if (s->culprit >= 0)
			m->funcs[model_stack_frame(m, stack, (uint32_t)s->culprit)->func_index].samples += count;
	}
	return 0;
}

static int on_slots(struct replay *r, int args)
{
	int slots = jdoc_get(&r->d, args, "slots");
	uint64_t id, oncpu;
	struct worker_stat *w;

	if (arg_u64(r, args, "worker", MAX_WORKERS - 1, &id) < 0 || arg_u64(r, args, "oncpu_ns", MAX_NS, &oncpu) < 0 ||
	    jdoc_type(&r->d, slots) != JSON_ARRAY || jdoc_len(&r->d, slots) > TIMELINE_SLOTS)
		return bad(r, "hud_slots", "worker, oncpu_ns or slots is missing or out of range");
	/* A worker gone since: nothing shows it, but the event must still be sound. */
	if ((w = model_worker_find(r->m, (uint32_t)id)))
		w->oncpu_ns = oncpu;
	for (int c = jdoc_first(&r->d, slots); c >= 0; c = jdoc_next(&r->d, slots, c)) {
		int a = jdoc_first(&r->d, c), b = a >= 0 ? jdoc_next(&r->d, c, a) : -1;
		int n = b >= 0 ? jdoc_next(&r->d, c, b) : -1;
		uint64_t index, busy, blocked;
		if (jdoc_type(&r->d, c) != JSON_ARRAY || jdoc_len(&r->d, c) != 3 ||
		    jdoc_u64(&r->d, a, MAX_NS / SLOT_NS, &index) < 0 || jdoc_u64(&r->d, b, SLOT_NS, &busy) < 0 ||
		    jdoc_u64(&r->d, n, SLOT_NS, &blocked) < 0)
			return bad(r, "hud_slots", "each slot must be [index, busy ns, blocked ns] within 100 ms");
		if (w)
			w->timeline[index % TIMELINE_SLOTS] = (struct slot){ index, (uint32_t)busy, (uint32_t)blocked };
	}
	return 0;
}

static int on_state(struct replay *r, int args)
{
	static const char *const names[] = { "idle", "running", "blocked" };
	uint64_t id, since;
	int64_t func;
	enum block_kind kind;
	const char *st = arg_str(r, args, "state");
	int state = -1;

	for (int i = 0; st && i < 3; i++)
		if (strcmp(st, names[i]) == 0)
			state = i;
	if (arg_u64(r, args, "worker", MAX_WORKERS - 1, &id) < 0 || arg_u64(r, args, "since_ns", MAX_NS, &since) < 0 ||
	    arg_int(r, jdoc_get(&r->d, args, "func"), -1, (int64_t)r->m->nfuncs - 1, &func) < 0 ||
	    kind_of(arg_str(r, args, "kind"), &kind) < 0 || state < 0)
		return bad(r, "hud_state", "worker, state, since_ns, func or kind is missing or out of range");
	model_worker_state(r->m, (uint32_t)id, (enum worker_state)state, since, (int32_t)func, kind);
	return 0;
}

static int on_block(struct replay *r, int ev, int args)
{
	struct block_event e;
	uint64_t worker, tid, start, dur;
	uint32_t stack;

	memset(&e, 0, sizeof(e));
	if (arg_u64(r, args, "worker_id", UINT32_MAX, &worker) < 0 || arg_u64(r, ev, "tid", 4194304, &tid) < 0 ||
	    arg_u64(r, args, "start_ns", MAX_NS, &start) < 0 || arg_u64(r, args, "dur_ns", MAX_NS, &dur) < 0 ||
	    stack_arg(r, jdoc_get(&r->d, args, "stack_id"), &stack) < 0 || kind_of(arg_str(r, args, "kind"), &e.kind) < 0)
		return bad(r, "B", "worker_id, tid, start_ns, dur_ns, stack_id or kind is missing or out of range");
	e.worker_id = (uint32_t)worker;
	e.tid = (uint32_t)tid;
	e.start_ns = start;
	e.duration_ns = dur;
	if (start + dur > r->last_end)
		r->last_end = start + dur;      /* each below 2^62: no overflow */
	e.stack = stack;
	/* As the live session decides it: the stack's culprit. */
	const struct stack *s = &r->m->stacks[stack];
	e.culprit_func = model_stack_func(r->m, stack, s->culprit);
	e.task_func = model_stack_func(r->m, stack, s->task);
	e.open = jdoc_type(&r->d, jdoc_get(&r->d, args, "open")) == JSON_TRUE;
	model_block(r->m, &e);
	return 0;
}

/* One trace event, read whole. Unknown events are someone else's: skipped.
 * A block is hud's B event, or the complete (X) event a tool that merges
 * B/E pairs makes of it, with the same args (an X event without hud's
 * stack_id is another program's). */
static int on_event(struct replay *r)
{
	const struct jdoc *d = &r->d;
	const char *ph = jdoc_str(d, jdoc_get(d, 0, "ph")), *name = jdoc_str(d, jdoc_get(d, 0, "name"));
	int args = jdoc_get(d, 0, "args");

	if (!ph)
		return 0;
	if (strcmp(ph, "B") == 0 || strcmp(ph, "X") == 0) {
		int hud_args = jdoc_type(d, args) == JSON_OBJECT && jdoc_get(d, args, "stack_id") >= 0;
		if (ph[0] == 'X' && !hud_args)
			return 0;
		if (!r->seen_info) {
			r->early_blocks += hud_args;
			return 0;
		}
		if (jdoc_type(d, args) != JSON_OBJECT)
			return bad(r, ph, "args must be an object");
		return on_block(r, 0, args);
	}
	if (strcmp(ph, "M") != 0 || !name || strncmp(name, "hud_", 4) != 0)
		return 0;
	if (jdoc_type(d, args) != JSON_OBJECT)
		return bad(r, name, "args must be an object");
	if (strcmp(name, "hud_info") == 0)
		return on_info(r, args);
	if (!r->seen_info) {
		char safe[64];
		text_sanitize(name, safe, sizeof(safe));
		json_fail(r->j, "a %s event before hud_info", safe);
		return -1;
	}
	if (strcmp(name, "hud_frame") == 0)
		return on_frame(r, args);
	if (strcmp(name, "hud_stack") == 0)
		return on_stack(r, args);
	if (strcmp(name, "hud_samples") == 0)
		return on_samples(r, args);
	if (strcmp(name, "hud_worker") == 0)
		return on_worker(r, args);
	if (strcmp(name, "hud_worker_gone") == 0)
		return on_worker_gone(r, args);
	if (strcmp(name, "hud_slots") == 0)
		return on_slots(r, args);
	if (strcmp(name, "hud_state") == 0)
		return on_state(r, args);
	if (strcmp(name, "hud_end") == 0)
		r->seen_end = 1;
	return 0;
}

/* The top level: {"traceEvents":[...], anything else skipped}. */
static int read_trace(struct replay *r, int *saw_events)
{
	int tok = json_next(r->j);

	if (tok != JT_BEGIN_OBJ)
		return tok == JT_ERROR ? -1 : 1;
	while ((tok = json_next(r->j)) == JT_KEY) {
		int events = strcmp(json_str(r->j, NULL), "traceEvents") == 0;
		tok = json_next(r->j);
		if (!events) {
			if (json_skip(r->j, tok) < 0 || tok == JT_ERROR)
				return -1;
			continue;
		}
		if (tok != JT_BEGIN_ARR) {
			if (tok != JT_ERROR)
				json_fail(r->j, "traceEvents that is not an array");
			return -1;
		}
		*saw_events = 1;
		while ((tok = json_next(r->j)) != JT_END_ARR) {
			if (tok != JT_BEGIN_OBJ) {
				if (tok != JT_ERROR)
					json_fail(r->j, "a trace event that is not an object");
				return -1;
			}
			/* Stack text is for people; the model has the stack. */
			if (jdoc_read(r->j, &r->d, tok, "stack") < 0 || on_event(r) < 0)
				return -1;
		}
	}
	if (tok != JT_END_OBJ)
		return -1;
	return json_next(r->j) == JT_END ? 0 : -1;
}

/* A killed hud leaves its trace under .NAME.hud-tmp.PID beside NAME: name it. */
static void find_leftover(const char *path, char *out, size_t len)
{
	char dirbuf[4096], basebuf[4096], prefix[4200];
	struct dirent *e;
	DIR *d;

	out[0] = 0;
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	snprintf(basebuf, sizeof(basebuf), "%s", path);
	const char *dir = dirname(dirbuf);
	snprintf(prefix, sizeof(prefix), ".%s.hud-tmp.", basename(basebuf));
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
			char raw[4400];
			snprintf(raw, sizeof(raw), "%s/%s", dir, e->d_name);
			text_sanitize(raw, out, len);
			break;
		}
	closedir(d);
}

/* Whether the file fd holds only white space (up to 64 KB of it). */
static int only_space(int fd)
{
	char buf[65536];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	if (n <= 0 || (size_t)n == sizeof(buf))
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
			return 0;
	return 1;
}

/* Whether the file starts with a zero byte. */
static int starts_zero(int fd)
{
	unsigned char c = 1;
	return pread(fd, &c, 1, 0) == 1 && c == 0;
}

/* The length of a UTF-8 byte-order mark ("UTF-8 with BOM") at the start
 * of the n bytes at b: 3, or 0 without one. */
static int bom_len(const unsigned char *b, ssize_t n)
{
	return n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf ? 3 : 0;
}

/* Whether the file's first byte other than white space (or a byte-order
 * mark) could start hud's trace: '{', or '[' (a bare array of events). */
static int starts_json(int fd)
{
	unsigned char buf[256];
	ssize_t n = pread(fd, buf, sizeof(buf), 0), i = bom_len(buf, n);
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	return i < n && (buf[i] == '{' || buf[i] == '[');
}

struct model *replay_load(const char *path, int *cut_short, char *err, size_t errlen)
{
	struct replay r;
	char name[1024];
	int saw_events = 0, rc;

	*cut_short = 0;
	text_sanitize(path, name, sizeof(name));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		char left[1024];
		int e = errno;
		find_leftover(path, left, sizeof(left));
		if (e == ENOENT && left[0])
			snprintf(err, errlen, "hud: cannot open %s: %s; a hud that was killed left %s, replay that instead",
				 name, strerror(e), left);
		else
			snprintf(err, errlen, "hud: cannot open %s: %s", name, strerror(e));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "hud: %s is a directory; replay a trace file written by hud --export FILE.json", name);
		close(fd);
		return NULL;
	}
	/* A byte-order mark ("UTF-8 with BOM"), skipped; gzip, said. */
	unsigned char head[3] = { 0, 0, 0 };
	ssize_t got = pread(fd, head, sizeof(head), 0);
	if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
		snprintf(err, errlen, "hud: cannot replay %s: it is gzip-compressed; gunzip it first (hud replays the "
			 ".json file hud --export wrote; a .pb.gz pprof export does not replay)", name);
		close(fd);
		return NULL;
	}
	int bom = bom_len(head, got);
	if (bom)
		lseek(fd, bom, SEEK_SET);
	memset(&r, 0, sizeof(r));
	r.j = json_open(fd);
	r.m = model_new();
	jdoc_init(&r.d, EVENT_BYTES);
	rc = read_trace(&r, &saw_events);

	/* Cut short: it loads up to its last whole event. Past hud_end it
	 * holds all of the run (what follows is Perfetto's: stackFrames,
	 * samples, otherData), so it is no cut-short run. */
	if (rc != 0 && json_truncated(r.j) && r.seen_info) {
		*cut_short = !r.seen_end;
		rc = 0;
	}
	if (rc == 0 && !r.seen_info) {
		snprintf(err, errlen, "hud: %s is not a hud trace: it has %s; replay a file written by hud --export FILE.json",
			 name, saw_events ? "no hud_info event (another program wrote it, or an older hud)" :
			 "no traceEvents array");
		rc = -1;
	} else if (rc > 0) {
		snprintf(err, errlen, "hud: %s is not a hud trace: it does not start with a JSON object "
			 "({\"traceEvents\":[...]})", name);
	} else if (rc < 0 && json_truncated(r.j) && json_offset(r.j) == 0 && starts_zero(fd)) {
		snprintf(err, errlen, "hud: %s starts with zero bytes, not JSON (as a file whose data never reached "
			 "the disk reads); it is not a hud trace", name);
	} else if (rc < 0 && json_truncated(r.j) && json_offset(r.j) == 0) {
		snprintf(err, errlen, "hud: %s is empty; it is not a hud trace", name);
	} else if (rc < 0 && json_truncated(r.j) && only_space(fd)) {
		snprintf(err, errlen, "hud: %s is empty (only white space); it is not a hud trace", name);
	} else if (rc < 0 && json_truncated(r.j)) {
		snprintf(err, errlen, "hud: %s ends before its first hud event (%s); there is nothing to replay",
			 name, json_error(r.j));
	} else if (rc < 0 && json_syntax_error(r.j) && !starts_json(fd)) {
		snprintf(err, errlen, "hud: cannot replay %s: it is not valid JSON (%s); replay the .json file hud "
			 "--export wrote (its .folded and .pb.gz exports do not replay)", name, json_error(r.j));
	} else if (rc < 0 && json_syntax_error(r.j)) {
		snprintf(err, errlen, "hud: cannot replay %s: it is not valid JSON (%s)", name, json_error(r.j));
	} else if (rc < 0 && json_error(r.j)) {
		snprintf(err, errlen, "hud: cannot replay %s: it has %s", name, json_error(r.j));
	} else if (rc < 0) {
		snprintf(err, errlen, "hud: cannot replay %s: it is not a hud trace", name);
	}
	uint64_t run_end = r.file_duration > r.file_now ? r.file_duration : r.file_now;
	if (rc == 0 && r.early_blocks) {
		snprintf(err, errlen, "hud: cannot replay %s: %llu of its blocking events come before its hud_info event "
			 "(the events were reordered, sorted by time say); replay the file as hud wrote it", name,
			 (unsigned long long)r.early_blocks);
		rc = -1;
	} else if (rc == 0 && !*cut_short && run_end && r.last_end > run_end + 60000000000ull) {
		/* A finished file says when the run ended; a block cannot end a
		 * minute past that (a file cut short has no last word). */
		snprintf(err, errlen, "hud: cannot replay %s: a blocking event ends at %.1f s, after the run's end "
			 "(%.1f s); the file was edited or is damaged", name, (double)r.last_end / 1e9,
			 (double)run_end / 1e9);
		rc = -1;
	}
	json_close(r.j);
	close(fd);
	jdoc_free(&r.d);
	free(r.frames);
	free(r.stacks);
	if (rc != 0) {
		model_free(r.m);
		return NULL;
	}
	struct model *m = r.m;
	/* The writer's last word on time wins; events read after it (a file cut
	 * short) may only move it on. */
	if (r.file_now > m->info.now_ns)
		m->info.now_ns = r.file_now;
	m->info.duration_ns = r.file_duration;
	if (*cut_short) {
		if (m->info.now_ns > m->info.duration_ns)
			m->info.duration_ns = m->info.now_ns;
		snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "the file was cut short (not finished)");
	}
	m->info.replay = 1;
	return m;
}
