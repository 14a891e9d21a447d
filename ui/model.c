/* model.c — the profile model: distinct frames and stacks, and the
 * aggregates per function and per worker that every view reads. Lookups go
 * through open-addressing hash indexes (id + 1 per slot, 0 = empty), so the
 * cost of an event does not grow with the session. */
#include <stdlib.h>
#include <string.h>
#include "ui/ui.h"

#define GROW(ptr, n, cap) do { \
	if ((n) == (cap)) { \
		(cap) = (cap) ? (cap) * 2 : 64; \
		(ptr) = xrealloc((ptr), (size_t)(cap) * sizeof(*(ptr))); \
	} } while (0)

static const char *const kind_names[BLOCK_KINDS] = { "cpu", "off_cpu", "sched_delay" };

const char *block_kind_name(enum block_kind k)
{
	return (unsigned)k < BLOCK_KINDS ? kind_names[k] : "unknown";
}

static uint32_t mix(uint32_t h, uint32_t v)
{
	h ^= v + 0x9e3779b9u + (h << 6) + (h >> 2);
	return h;
}

/* Finds the slot for a key in an index; eq(m, id) says whether entry id is the key. */
typedef int (*index_eq)(const struct model *m, uint32_t id, const void *key);

static uint32_t *index_slot(const struct model *m, uint32_t *index, uint32_t cap, uint32_t hash,
			    index_eq eq, const void *key)
{
	uint32_t h = hash & (cap - 1);
	while (index[h] && !eq(m, index[h] - 1, key))
		h = (h + 1) & (cap - 1);
	return &index[h];
}

/* Doubles an index and reinserts ids 0..n-1 with their hashes. */
static void index_grow(uint32_t **index, uint32_t *cap, uint32_t n, uint32_t (*hash_of)(const struct model *, uint32_t),
		       const struct model *m)
{
	uint32_t ncap = *cap ? *cap * 2 : 256;
	uint32_t *v = xcalloc(ncap, sizeof(uint32_t));

	for (uint32_t id = 0; id < n; id++) {
		uint32_t h = hash_of(m, id) & (ncap - 1);
		while (v[h])
			h = (h + 1) & (ncap - 1);
		v[h] = id + 1;
	}
	free(*index);
	*index = v;
	*cap = ncap;
}

struct model *model_new(void)
{
	struct model *m = xcalloc(1, sizeof(*m));
	m->strings = strtab_new();
	m->info.debug_percent = -1;
	m->info.epoll_counted = -1;
	m->info.tick_read = -1;
	m->info.main_symbols = -1;
	m->info.window_ns = 10000000000ull;
	index_grow(&m->frame_index, &m->frame_index_cap, 0, NULL, m);
	index_grow(&m->stack_index, &m->stack_index_cap, 0, NULL, m);
	index_grow(&m->func_index, &m->func_index_cap, 0, NULL, m);
	return m;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	strtab_free(m->strings);
	free(m->frames);
	free(m->stack_frames);
	free(m->stacks);
	for (uint32_t i = 0; i < m->nfuncs; i++)
		free(m->funcs[i].worker_blocks);
	free(m->funcs);
	free(m->workers);
	free(m->open_blocks);
	free(m->frame_index);
	free(m->stack_index);
	free(m->func_index);
	free(m);
}

/* ---- Functions: one per (name, file, declaration line) ---------------------
 *
 * The declaration line tells apart what shares a name: Rust names every
 * async block and closure of a function NAME::{{closure}}. A generic
 * function's instances share all three, and stay one.
 *
 * DWARF of `debug = "line-tables-only"` has neither paths nor declaration
 * lines: every async fn of a file is `{async_fn#0}` there. An application's
 * function named without a path (before any `<`) and without a declaration
 * line is told apart by the line instead (key_line): a function's lines
 * may then make rows of their own, but different functions never share
 * one. */

struct func_key { uint32_t function, file, decl_line, key_line; };

static uint32_t func_hash2(const struct func_key *k)
{
	return mix(mix(mix(mix(17, k->function), k->file), k->decl_line), k->key_line);
}

static uint32_t func_hash(const struct model *m, uint32_t id)
{
	const struct func_stat *f = &m->funcs[id];
	return func_hash2(&(struct func_key){ f->function, f->file, f->decl_line, f->key_line });
}

static int func_eq(const struct model *m, uint32_t id, const void *key)
{
	const struct func_key *k = key;
	return m->funcs[id].function == k->function && m->funcs[id].file == k->file &&
	       m->funcs[id].decl_line == k->decl_line && m->funcs[id].key_line == k->key_line;
}

/* A name with no path before its generic arguments: `{async_fn#0}<u64>`,
 * not `app::f` or `<app::T as core::ops::Drop>::drop`. */
static int short_name(const char *name)
{
	for (const char *p = name; *p && *p != '<'; p++)
		if (p[0] == ':' && p[1] == ':')
			return 0;
	return *name != '<';
}

static uint32_t func_intern(struct model *m, const struct frame *fr)
{
	struct func_key k = { fr->function, fr->file, fr->decl_line, 0 };
	if (!fr->decl_line && (fr->flags & FRAME_APP) && !(fr->flags & FRAME_NODEBUG) &&
	    short_name(strtab_get(m->strings, fr->function)))
		k.key_line = fr->line;
	uint32_t *slot = index_slot(m, m->func_index, m->func_index_cap, func_hash2(&k), func_eq, &k);

	if (*slot)
		return *slot - 1;
	GROW(m->funcs, m->nfuncs, m->funcs_cap);
	struct func_stat *f = &m->funcs[m->nfuncs];
	memset(f, 0, sizeof(*f));
	f->function = fr->function;
	f->file = fr->file;
	f->decl_line = fr->decl_line;
	f->key_line = k.key_line;
	f->line = fr->line;
	f->flags = fr->flags;
	*slot = ++m->nfuncs;
	if (m->nfuncs * 2 > m->func_index_cap)
		index_grow(&m->func_index, &m->func_index_cap, m->nfuncs, func_hash, m);
	return m->nfuncs - 1;
}

/* ---- Frames ----------------------------------------------------------------- */

static uint32_t frame_hash2(const struct frame *f)
{
	return mix(mix(mix(mix(mix(3, f->function), f->file), f->line), f->flags), f->decl_line);
}

static uint32_t frame_hash(const struct model *m, uint32_t id)
{
	return frame_hash2(&m->frames[id]);
}

static int frame_eq(const struct model *m, uint32_t id, const void *key)
{
	const struct frame *a = &m->frames[id], *b = key;
	return a->function == b->function && a->file == b->file && a->line == b->line && a->flags == b->flags &&
	       a->decl_line == b->decl_line;
}

static uint32_t frame_intern(struct model *m, const struct frame_in *in)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.function = strtab_intern(m->strings, in->function ? in->function : "??");
	f.file = strtab_intern(m->strings, in->file ? in->file : "??");
	f.line = in->line;
	f.decl_line = in->decl_line;
	f.flags = in->flags & (FRAME_INLINED | FRAME_NODEBUG | FRAME_UNKNOWN);
	if (frame_is_app(strtab_get(m->strings, f.function), strtab_get(m->strings, f.file), in->in_main) &&
	    !(f.flags & FRAME_UNKNOWN))
		f.flags |= FRAME_APP;
	uint32_t *slot = index_slot(m, m->frame_index, m->frame_index_cap, frame_hash2(&f), frame_eq, &f);
	if (*slot)
		return *slot - 1;
	f.func_index = func_intern(m, &f);
	GROW(m->frames, m->nframes, m->frames_cap);
	m->frames[m->nframes] = f;
	*slot = ++m->nframes;
	if (m->nframes * 2 > m->frame_index_cap)
		index_grow(&m->frame_index, &m->frame_index_cap, m->nframes, frame_hash, m);
	return m->nframes - 1;
}

/* ---- Stacks ----------------------------------------------------------------- */

struct stack_key { const uint32_t *ids; uint32_t n; };

static uint32_t ids_hash(const uint32_t *ids, uint32_t n)
{
	uint32_t h = mix(7, n);
	for (uint32_t i = 0; i < n; i++)
		h = mix(h, ids[i]);
	return h;
}

static uint32_t stack_hash(const struct model *m, uint32_t id)
{
	return m->stacks[id].hash;
}

static int stack_eq(const struct model *m, uint32_t id, const void *key)
{
	const struct stack_key *k = key;
	const struct stack *s = &m->stacks[id];
	return s->depth == k->n && memcmp(m->stack_frames + s->first, k->ids, k->n * sizeof(uint32_t)) == 0;
}

/* The culprit is the innermost frame of the application's own code; a stack
 * with none is blamed on its innermost frame that has a name. */
static int32_t pick_culprit(const struct model *m, const uint32_t *ids, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (m->frames[ids[i]].flags & FRAME_APP)
			return (int32_t)i;
	for (uint32_t i = 0; i < n; i++)
		if (!(m->frames[ids[i]].flags & FRAME_UNKNOWN))
			return (int32_t)i;
	return -1;
}

/* A frame where Tokio hands control to a task's future: its task poll
 * (spawned tasks) or block_on (the future given to Runtime::block_on). */
static int is_poll_boundary(const char *f)
{
	return frame_is_task_poll(f) || (strstr(f, "tokio::runtime::") && strstr(f, "block_on"));
}

/* The task is the first application frame inside the innermost poll
 * boundary: the future Tokio was polling. */
static int32_t find_task(const struct model *m, const uint32_t *ids, uint32_t n)
{
	for (uint32_t b = 0; b < n; b++) {
		if (!is_poll_boundary(strtab_get(m->strings, m->frames[ids[b]].function)))
			continue;
		for (uint32_t i = b; i-- > 0;)
			if (m->frames[ids[i]].flags & FRAME_APP)
				return (int32_t)i;
		return -1;
	}
	return -1;
}

/* Whether f is the worker loop: a function of the multi-thread
 * scheduler's worker module (run, Context::*, Core::*, Launch) other than
 * its impls for the scheduler's Handle (schedule_task, notify_parked),
 * which any thread that wakes a task calls. */
static int is_worker_loop(const char *f)
{
	static const char *const modules[] = {
		"tokio::runtime::scheduler::multi_thread::worker::", "tokio::runtime::thread_pool::worker::",
		"tokio::runtime::scheduler::multi_thread_alt::worker::",
	};
	for (size_t k = 0; k < sizeof(modules) / sizeof(modules[0]); k++) {
		const char *at = strstr(f, modules[k]);
		if (at && at[strlen(modules[k])] != '<')
			return 1;
	}
	return 0;
}

/* Tokio runs workers and blocking-pool work on threads of the same name;
 * only the stack tells them apart: a worker's stack holds the scheduler's
 * worker loop (itself started from the blocking pool), a pool thread's only
 * the pool. Inside block_in_place (closer to the leaf than the worker
 * loop), the worker's core, its queue of tasks, has gone to another thread
 * that polls them meanwhile. */
static uint32_t stack_class(const struct model *m, const uint32_t *ids, uint32_t n)
{
	int pool = 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *f = strtab_get(m->strings, m->frames[ids[i]].function);
		if (strstr(f, "tokio::") && strstr(f, "::block_in_place"))
			return STACK_CLASS_IN_PLACE;
		if (is_worker_loop(f))
			return STACK_CLASS_WORKER;
		/* A current_thread runtime runs its tasks inside block_on on
		 * the thread that called it, usually main. */
		if (strstr(f, "tokio::runtime::scheduler::current_thread::") ||
		    strstr(f, "tokio::runtime::basic_scheduler::"))
			return STACK_CLASS_CURRENT;
		if (strstr(f, "tokio::runtime::blocking::pool::Inner::run"))
			pool = 1;
	}
	return pool ? STACK_CLASS_POOL : STACK_CLASS_UNKNOWN;
}

uint32_t model_stack(struct model *m, const struct frame_in *frames, int n)
{
	uint32_t ids[256];
	uint32_t count = 0;

	for (int i = 0; i < n && count < 256; i++)
		ids[count++] = frame_intern(m, &frames[i]);
	struct stack_key k = { ids, count };
	uint32_t hash = ids_hash(ids, count);
	uint32_t *slot = index_slot(m, m->stack_index, m->stack_index_cap, hash, stack_eq, &k);
	if (*slot)
		return *slot - 1;
	/* Allocated with the first stack, even an empty one: stack_eq and the
	 * copy below then never offset a null pointer. */
	while (!m->stack_frames || m->nstack_frames + count > m->stack_frames_cap) {
		m->stack_frames_cap = m->stack_frames_cap ? m->stack_frames_cap * 2 : 1024;
		m->stack_frames = xrealloc(m->stack_frames, m->stack_frames_cap * sizeof(uint32_t));
	}
	memcpy(m->stack_frames + m->nstack_frames, ids, count * sizeof(uint32_t));
	GROW(m->stacks, m->nstacks, m->stacks_cap);
	struct stack *s = &m->stacks[m->nstacks];
	memset(s, 0, sizeof(*s));
	s->first = m->nstack_frames;
	s->depth = count;
	s->hash = hash;
	s->culprit = pick_culprit(m, ids, count);
	s->thread_class = stack_class(m, ids, count);
	s->task = find_task(m, ids, count);
	m->nstack_frames += count;
	*slot = ++m->nstacks;
	if (m->nstacks * 2 > m->stack_index_cap)
		index_grow(&m->stack_index, &m->stack_index_cap, m->nstacks, stack_hash, m);
	return m->nstacks - 1;
}

const struct frame *model_stack_frame(const struct model *m, uint32_t stack, uint32_t i)
{
	const struct stack *s = &m->stacks[stack];
	return i < s->depth ? &m->frames[m->stack_frames[s->first + i]] : NULL;
}

int32_t model_stack_func(const struct model *m, uint32_t stack, int32_t pos)
{
	const struct frame *f = pos >= 0 ? model_stack_frame(m, stack, (uint32_t)pos) : NULL;
	return f ? (int32_t)f->func_index : -1;
}

/* ---- Workers, samples and blocking ------------------------------------------ */

struct worker_stat *model_worker(struct model *m, uint32_t id, uint32_t tid, const char *comm)
{
	for (uint32_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].id == id)
			return &m->workers[i];
	GROW(m->workers, m->nworkers, m->workers_cap);
	struct worker_stat *w = &m->workers[m->nworkers++];
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->tid = tid;
	w->worst_func = -1;
	w->state_func = -1;
	for (int i = 0; i < TIMELINE_SLOTS; i++)
		w->timeline[i].index = ~0ull;
	snprintf(w->comm, sizeof(w->comm), "%s", comm ? comm : "");
	return w;
}

void model_warn(struct model *m, const char *text)
{
	char line[512];
	size_t have = strlen(m->info.warnings);

	text_sanitize(text, line, sizeof(line));
	size_t n = strlen(line);
	for (const char *p = m->info.warnings; *p; p += strcspn(p, "\n") + 1)
		if (strcspn(p, "\n") == n && memcmp(p, line, n) == 0)
			return;
	if (n && have + n + 2 <= sizeof(m->info.warnings)) {
		memcpy(m->info.warnings + have, line, n);
		m->info.warnings[have + n] = '\n';
		m->info.warnings[have + n + 1] = 0;
	}
}

void model_unwarn(struct model *m, const char *start)
{
	char *w = m->info.warnings, *out = w;
	size_t n = strlen(start);

	for (char *p = w; *p;) {
		size_t len = strcspn(p, "\n");
		size_t take = len + (p[len] == '\n');
		if (len < n || memcmp(p, start, n) != 0) {
			memmove(out, p, take);
			out += take;
		}
		p += take;
	}
	*out = 0;
}

void model_worker_remove(struct model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].id == id) {
			memmove(&m->workers[i], &m->workers[i + 1], (m->nworkers - i - 1) * sizeof(m->workers[0]));
			m->nworkers--;
			return;
		}
}

struct worker_stat *model_worker_find(struct model *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->nworkers; i++)
		if (m->workers[i].id == id)
			return &m->workers[i];
	return NULL;
}

/* The slot for slot index i, reset when it last held an older index. */
static struct slot *slot_at(struct worker_stat *w, uint64_t i)
{
	struct slot *s = &w->timeline[i % TIMELINE_SLOTS];
	if (s->index != i) {
		if (s->index != ~0ull && s->index > i)
			return NULL;    /* older than what is kept */
		s->index = i;
		s->busy_ns = s->blocked_ns = 0;
	}
	return s;
}

const struct slot *model_slot(const struct worker_stat *w, uint64_t ts)
{
	uint64_t i = ts / SLOT_NS;
	const struct slot *s = &w->timeline[i % TIMELINE_SLOTS];
	return s->index == i ? s : NULL;
}

/* Spreads [start, end) over the slots it covers, adding to busy or blocked.
 * Only the last TIMELINE_SLOTS slots before `end` are touched. */
static void timeline_add(struct worker_stat *w, uint64_t start, uint64_t end, int blocked)
{
	if (end <= start)
		return;
	if (end - start > SLOT_NS * TIMELINE_SLOTS)
		start = end - SLOT_NS * TIMELINE_SLOTS;
	for (uint64_t i = start / SLOT_NS; i * SLOT_NS < end; i++) {
		uint64_t lo = i * SLOT_NS > start ? i * SLOT_NS : start;
		uint64_t hi = (i + 1) * SLOT_NS < end ? (i + 1) * SLOT_NS : end;
		struct slot *s = slot_at(w, i);
		if (!s)
			continue;
		if (blocked)
			s->blocked_ns = (uint32_t)(s->blocked_ns + (hi - lo) > SLOT_NS ? SLOT_NS : s->blocked_ns + (hi - lo));
		else
			s->busy_ns = (uint32_t)(s->busy_ns + (hi - lo) > SLOT_NS ? SLOT_NS : s->busy_ns + (hi - lo));
	}
}

void model_worker_busy(struct model *m, uint32_t id, uint64_t ts, uint64_t busy_ns)
{
	struct worker_stat *w = model_worker_find(m, id);
	if (!w)
		return;
	w->oncpu_ns += busy_ns;
	timeline_add(w, ts > busy_ns ? ts - busy_ns : 0, ts, 0);
	if (ts > m->info.now_ns)
		m->info.now_ns = ts;
}

void model_worker_state(struct model *m, uint32_t id, enum worker_state st, uint64_t since,
			int32_t func, enum block_kind kind)
{
	struct worker_stat *w = model_worker_find(m, id);
	if (!w)
		return;
	w->state = st;
	w->state_since_ns = since;
	w->state_func = st == WORKER_BLOCKED ? func : -1;
	w->state_kind = kind;
}

void model_worker_window(const struct model *m, const struct worker_stat *w, double *busy_pct, double *blocked_pct)
{
	uint64_t now = m->info.now_ns, win = m->info.window_ns, busy = 0, blocked = 0, covered = 0;
	if (win > SLOT_NS * TIMELINE_SLOTS)
		win = SLOT_NS * TIMELINE_SLOTS;
	/* Whole slots ending at the current one; the current slot counts for
	 * the part of it that has elapsed. */
	for (uint64_t t = 0; t < win; t += SLOT_NS) {
		if (now < t)
			break;
		const struct slot *s = model_slot(w, now - t);
		uint64_t len = t == 0 ? now % SLOT_NS + 1 : SLOT_NS;
		covered += len;
		if (s) {
			busy += s->busy_ns;
			blocked += s->blocked_ns;
		}
	}
	*busy_pct = covered ? 100.0 * (double)busy / (double)covered : 0;
	*blocked_pct = covered ? 100.0 * (double)blocked / (double)covered : 0;
	if (*busy_pct > 100)
		*busy_pct = 100;
	if (*blocked_pct > 100)
		*blocked_pct = 100;
}

void model_sample(struct model *m, uint32_t worker_id, uint32_t tid, uint32_t cpu, uint64_t ts_ns, uint32_t stack)
{
	struct worker_stat *w = model_worker_find(m, worker_id);

	m->info.samples++;
	if (w) {
		struct stack *s = &m->stacks[stack];
		m->info.worker_samples++;
		w->samples++;
		s->samples++;
		if (s->culprit >= 0)
			m->funcs[model_stack_frame(m, stack, (uint32_t)s->culprit)->func_index].samples++;
	}
	if (m->on_sample)
		m->on_sample(m->sink_ctx, m, tid, cpu, ts_ns, stack);
}

void model_block(struct model *m, const struct block_event *e)
{
	struct worker_stat *w = model_worker_find(m, e->worker_id);

	m->info.events++;
	m->block_total[e->kind] += e->duration_ns;
	if (e->open) {
		m->open_blocks = xrealloc(m->open_blocks, (m->nopen + 1) * sizeof(*e));
		m->open_blocks[m->nopen++] = *e;
	}
	if (e->stack < m->nstacks) {
		m->stacks[e->stack].block_count++;
		m->stacks[e->stack].block_ns += e->duration_ns;
		m->stacks[e->stack].kind_count[e->kind]++;
		m->stacks[e->stack].kind_ns[e->kind] += e->duration_ns;
		if (e->duration_ns > m->stacks[e->stack].block_max_ns)
			m->stacks[e->stack].block_max_ns = e->duration_ns;
	}
	int blame = e->kind != BLOCK_SCHED_DELAY;       /* see func_stat.blame_max_ns */
	if (e->culprit_func >= 0) {
		struct func_stat *f = &m->funcs[e->culprit_func];
		if (blame) {
			if (!f->block_count[BLOCK_CPU] && !f->block_count[BLOCK_OFF_CPU])
				f->first_ns = e->start_ns;
			if (e->duration_ns > f->blame_max_ns)
				f->blame_max_ns = e->duration_ns;
			if (e->start_ns + e->duration_ns > f->last_ns)
				f->last_ns = e->start_ns + e->duration_ns;
			if (e->worker_id >= f->nworker_blocks && e->worker_id < 4096) {
				uint32_t n = e->worker_id + 8;
				f->worker_blocks = xrealloc(f->worker_blocks, n * sizeof(uint32_t));
				memset(f->worker_blocks + f->nworker_blocks, 0, (n - f->nworker_blocks) * sizeof(uint32_t));
				f->nworker_blocks = n;
			}
			if (e->worker_id < f->nworker_blocks)
				f->worker_blocks[e->worker_id]++;
		}
		f->block_count[e->kind]++;
		f->block_ns[e->kind] += e->duration_ns;
		if (e->duration_ns > f->block_max_ns) {
			/* The line its longest block was at: a function first
			 * seen calling from elsewhere (the work it does holding
			 * a lock) shows where it blocks. */
			const struct stack *st = e->stack < m->nstacks ? &m->stacks[e->stack] : NULL;
			const struct frame *fr = st && st->culprit >= 0 ?
						 model_stack_frame(m, e->stack, (uint32_t)st->culprit) : NULL;
			if (fr && fr->func_index == (uint32_t)e->culprit_func)
				f->line = fr->line;
			f->block_max_ns = e->duration_ns;
		}
	}
	if (e->start_ns + e->duration_ns > m->info.now_ns)
		m->info.now_ns = e->start_ns + e->duration_ns;
	if (w) {
		w->block_count++;
		w->block_ns += e->duration_ns;
		timeline_add(w, e->start_ns, e->start_ns + e->duration_ns, 1);
		if (e->culprit_func >= 0 && blame) {
			const struct func_stat *f = &m->funcs[e->culprit_func];
			uint64_t total = f->block_ns[BLOCK_CPU] + f->block_ns[BLOCK_OFF_CPU];
			/* Worst culprit: the function with most blocking (cpu and
			 * off_cpu) overall among those that blocked this worker. */
			if (w->worst_func < 0 || total > w->worst_ns) {
				w->worst_func = e->culprit_func;
				w->worst_ns = total;
			}
		}
	}
	if (m->on_event)
		m->on_event(m->sink_ctx, m, e);
}
