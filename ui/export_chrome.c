/* export_chrome.c — Chrome Trace Event JSON (Perfetto, chrome://tracing),
 * which is also hud's own recording format for --replay.
 *
 * The file is streamed so memory stays flat however long the run:
 * - blocking events go straight into "traceEvents" as B/E pairs on the
 *   worker's thread, in a temporary file next to the destination;
 * - CPU samples go to a second, already unlinked, temporary file, because
 *   they belong in the top-level "samples" array that follows traceEvents;
 * - at the end come "stackFrames" (a tree with one node per distinct
 *   (parent, frame); bounded by distinct stacks), the samples copied over,
 *   and "otherData"; then the file is synced and renamed into place, so the
 *   destination is either absent or complete.
 *
 * For replay, traceEvents also carries the model itself as hud_* metadata
 * events, each written before the first event that needs it: hud_info (what
 * was profiled), hud_frame and hud_stack (every model frame and stack, in the
 * model's own order, so a replay interns them to the same ids), hud_worker and
 * hud_worker_gone, hud_samples (sample counts per stack and credited worker,
 * at each checkpoint), hud_slots (timeline slots that changed, absolute
 * values), hud_state (worker state) and hud_end. A checkpoint runs about once
 * a second and is flushed, so a file left by a killed hud (the temporary
 * name stays) replays up to its last flush. Perfetto ignores these events. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ui/ui.h"

struct node { uint32_t parent, frame; };     /* parent: node id + 1, 0 = root */

/* Samples since the last checkpoint, per (stack, credited worker). */
struct pending { uint32_t stack; int32_t worker; uint64_t count; };

struct chrome_writer {
	char path[4096], tmp[4096];
	FILE *f;                /* the trace being written, under tmp */
	FILE *samples;          /* unlinked side file */
	int nsamples;
	int nevents;
	uint64_t last_flush;
	int ticked;             /* chrome_tick has run (the first one writes what the attach found) */
	int pid;
	/* what of the model the file already holds */
	uint32_t nframes_out, nstacks_out;
	struct worker_stat *shadow;     /* workers as the file last described them */
	uint32_t nshadow, shadow_cap;
	uint64_t worker_samples_seen;
	struct model_info info_out;
	struct pending *pend;
	uint32_t npend, pend_cap;
	uint32_t *pend_index, pend_index_cap;
	/* stack frame tree */
	struct node *nodes;
	uint32_t nnodes, cap;
	uint32_t *index, index_cap;     /* (parent, frame) -> node id + 1 */
	uint32_t *leaf;                 /* model stack id -> node id + 1 */
	uint32_t nleaf;
};

static uint32_t node_hash(uint32_t parent, uint32_t frame)
{
	return (parent * 0x9e3779b1u) ^ (frame * 0x85ebca6bu);
}

static void index_rebuild(struct chrome_writer *w, uint32_t cap)
{
	free(w->index);
	w->index = xcalloc(cap, sizeof(uint32_t));
	w->index_cap = cap;
	for (uint32_t i = 0; i < w->nnodes; i++) {
		uint32_t h = node_hash(w->nodes[i].parent, w->nodes[i].frame) & (cap - 1);
		while (w->index[h])
			h = (h + 1) & (cap - 1);
		w->index[h] = i + 1;
	}
}

static uint32_t node_get(struct chrome_writer *w, uint32_t parent, uint32_t frame)
{
	uint32_t h = node_hash(parent, frame) & (w->index_cap - 1);

	while (w->index[h]) {
		const struct node *n = &w->nodes[w->index[h] - 1];
		if (n->parent == parent && n->frame == frame)
			return w->index[h];
		h = (h + 1) & (w->index_cap - 1);
	}
	if (w->nnodes == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->nodes = xrealloc(w->nodes, w->cap * sizeof(struct node));
	}
	w->nodes[w->nnodes].parent = parent;
	w->nodes[w->nnodes].frame = frame;
	w->index[h] = ++w->nnodes;
	if (w->nnodes * 2 > w->index_cap)
		index_rebuild(w, w->index_cap * 2);
	return w->nnodes;
}

/* The tree node (id + 1) of a stack's innermost frame; 0 for an empty stack. */
static uint32_t stack_node(struct chrome_writer *w, const struct model *m, uint32_t stack)
{
	if (stack >= w->nleaf) {
		uint32_t n = m->nstacks > stack + 1 ? m->nstacks : stack + 1;
		w->leaf = xrealloc(w->leaf, n * sizeof(uint32_t));
		memset(w->leaf + w->nleaf, 0, (n - w->nleaf) * sizeof(uint32_t));
		w->nleaf = n;
	}
	if (!w->leaf[stack]) {
		const struct stack *s = &m->stacks[stack];
		uint32_t node = 0;
		for (uint32_t i = s->depth; i-- > 0;)
			node = node_get(w, node, m->stack_frames[s->first + i]);
		w->leaf[stack] = node;
	}
	return w->leaf[stack];
}

static double us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static void write_frame_text(FILE *f, const struct model *m, const struct frame *fr)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "%s (%s:%u)", strtab_get(m->strings, fr->function),
		 strtab_get(m->strings, fr->file), fr->line);
	json_string(f, buf);
}

static void checkpoint(struct chrome_writer *w, const struct model *m);

static void maybe_flush(struct chrome_writer *w, const struct model *m)
{
	/* A checkpoint (and flush) every second or two: a killed hud leaves
	 * what came before. */
	if (now_ns() - w->last_flush > 2000000000ull)
		checkpoint(w, m);
}

/* ---- The model, streamed --------------------------------------------------- */

static void write_frame_def(struct chrome_writer *w, const struct model *m, uint32_t id)
{
	const struct frame *fr = &m->frames[id];

	fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_frame\",\"pid\":%d,\"args\":{\"id\":%u,\"function\":", w->pid, id);
	json_string(w->f, strtab_get(m->strings, fr->function));
	fputs(",\"file\":", w->f);
	json_string(w->f, strtab_get(m->strings, fr->file));
	fprintf(w->f, ",\"line\":%u,\"flags\":%u", fr->line, fr->flags);
	if (fr->decl_line)
		fprintf(w->f, ",\"decl_line\":%u", fr->decl_line);
	fputs("}}", w->f);
}

static void pending_flush(struct chrome_writer *w)
{
	for (uint32_t i = 0; i < w->npend; i++) {
		/* Bounded events: a replay reads each one whole. */
		if (i % 4096 == 0)
			fprintf(w->f, "%s,\n{\"ph\":\"M\",\"name\":\"hud_samples\",\"pid\":%d,\"args\":{\"counts\":[",
				i ? "]}}" : "", w->pid);
		fprintf(w->f, "%s[%u,%d,%llu]", i % 4096 ? "," : "", w->pend[i].stack, w->pend[i].worker,
			(unsigned long long)w->pend[i].count);
	}
	if (w->npend)
		fputs("]}}", w->f);
	w->npend = 0;
	memset(w->pend_index, 0, w->pend_index_cap * sizeof(uint32_t));
}

static void pending_add(struct chrome_writer *w, uint32_t stack, int32_t worker)
{
	uint32_t h = ((stack * 0x9e3779b1u) ^ ((uint32_t)worker * 0x85ebca6bu)) & (w->pend_index_cap - 1);

	while (w->pend_index[h]) {
		struct pending *p = &w->pend[w->pend_index[h] - 1];
		if (p->stack == stack && p->worker == worker) {
			p->count++;
			return;
		}
		h = (h + 1) & (w->pend_index_cap - 1);
	}
	if (w->npend == w->pend_cap) {
		w->pend_cap = w->pend_cap ? w->pend_cap * 2 : 256;
		w->pend = xrealloc(w->pend, w->pend_cap * sizeof(*w->pend));
	}
	w->pend[w->npend] = (struct pending){ stack, worker, 1 };
	w->pend_index[h] = ++w->npend;
	if (w->npend * 2 > w->pend_index_cap) {
		uint32_t cap = w->pend_index_cap * 2;
		free(w->pend_index);
		w->pend_index = xcalloc(cap, sizeof(uint32_t));
		w->pend_index_cap = cap;
		for (uint32_t i = 0; i < w->npend; i++) {
			const struct pending *p = &w->pend[i];
			h = ((p->stack * 0x9e3779b1u) ^ ((uint32_t)p->worker * 0x85ebca6bu)) & (cap - 1);
			while (w->pend_index[h])
				h = (h + 1) & (cap - 1);
			w->pend_index[h] = i + 1;
		}
	}
}

static void shadow_add(struct chrome_writer *w, const struct worker_stat *ws)
{
	if (w->nshadow == w->shadow_cap) {
		w->shadow_cap = w->shadow_cap ? w->shadow_cap * 2 : 16;
		w->shadow = xrealloc(w->shadow, w->shadow_cap * sizeof(*w->shadow));
	}
	/* As model_worker creates it: what a replay starts from. */
	struct worker_stat *s = &w->shadow[w->nshadow++];
	memset(s, 0, sizeof(*s));
	s->id = ws->id;
	s->tid = ws->tid;
	s->worst_func = -1;
	s->state_func = -1;
	for (int i = 0; i < TIMELINE_SLOTS; i++)
		s->timeline[i].index = ~0ull;
}

/* Writes what the model gained since the file last described it: frames and
 * stacks (in model order), and workers that came or went. Runs before every
 * event, so each event only refers to what the file already defines. */
static void sync_model(struct chrome_writer *w, const struct model *m)
{
	for (; w->nstacks_out < m->nstacks; w->nstacks_out++) {
		const struct stack *s = &m->stacks[w->nstacks_out];
		for (uint32_t i = 0; i < s->depth; i++)
			while (w->nframes_out <= m->stack_frames[s->first + i])
				write_frame_def(w, m, w->nframes_out++);
		fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_stack\",\"pid\":%d,\"args\":{\"id\":%u,\"frames\":[",
			w->pid, w->nstacks_out);
		for (uint32_t i = 0; i < s->depth; i++)
			fprintf(w->f, "%s%u", i ? "," : "", m->stack_frames[s->first + i]);
		fputs(s->cut ? "],\"cut\":true}}" : "]}}", w->f);
	}

	uint32_t same = m->nworkers == w->nshadow;
	for (uint32_t i = 0; same && i < m->nworkers; i++)
		same = m->workers[i].id == w->shadow[i].id && m->workers[i].tid == w->shadow[i].tid;
	if (same)
		return;
	/* Samples counted while the old workers existed go first. */
	pending_flush(w);
	/* model_worker_remove keeps the order and model_worker appends, so the
	 * workers now are the old ones less some, then new ones. */
	uint32_t k = 0, keep = 0;
	for (uint32_t i = 0; i < w->nshadow; i++) {
		if (k < m->nworkers && m->workers[k].id == w->shadow[i].id && m->workers[k].tid == w->shadow[i].tid) {
			w->shadow[keep++] = w->shadow[i];
			k++;
			continue;
		}
		fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_worker_gone\",\"pid\":%d,\"args\":{\"id\":%u}}",
			w->pid, w->shadow[i].id);
	}
	w->nshadow = keep;
	for (; k < m->nworkers; k++) {
		const struct worker_stat *ws = &m->workers[k];
		char name[64];
		fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_worker\",\"pid\":%d,\"tid\":%u,\"args\":{\"id\":%u,\"tid\":%u,\"comm\":",
			w->pid, ws->tid, ws->id, ws->tid);
		json_string(w->f, ws->comm);
		snprintf(name, sizeof(name), "worker %u (%s)", ws->id, ws->comm);
		fprintf(w->f, "}},\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%u,\"args\":{\"name\":",
			w->pid, ws->tid);
		json_string(w->f, name);
		fprintf(w->f, "}},\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,\"tid\":%u,"
			"\"args\":{\"sort_index\":%u}}", w->pid, ws->tid, ws->id);
		shadow_add(w, ws);
	}
}

static const char *const state_names[] = { "idle", "running", "blocked" };

static void write_info(struct chrome_writer *w, const struct model *m)
{
	const struct model_info *i = &m->info;
	FILE *f = w->f;

	fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"hud_info\",\"pid\":%d,\"args\":{\"hud_version\":\"%s\",\"format\":1,"
		"\"target\":", w->pid, HUD_VERSION);
	json_string(f, i->target);
	fputs(",\"process\":", f);
	json_string(f, i->comm);
	fprintf(f, ",\"pid\":%d,\"threshold_ns\":%llu,\"frequency_hz\":%d,\"workers_rule\":", i->pid,
		(unsigned long long)i->threshold_ns, i->freq);
	json_string(f, i->workers_rule);
	fprintf(f, ",\"start_ns\":%llu,\"duration_ns\":%llu,\"now_ns\":%llu,\"window_ns\":%llu,"
		"\"samples\":%llu,\"worker_samples\":%llu,\"blocking_events\":%llu,\"lost_events\":%llu,"
		"\"stack_failures\":%llu,\"debug_percent\":%d,\"epoll_counted\":%d,\"tick_read\":%d,\"main_symbols\":%d,"
		"\"stop_reason\":",
		(unsigned long long)i->start_ns, (unsigned long long)i->duration_ns, (unsigned long long)i->now_ns,
		(unsigned long long)i->window_ns, (unsigned long long)i->samples,
		(unsigned long long)i->worker_samples, (unsigned long long)i->events, (unsigned long long)i->lost,
		(unsigned long long)i->stack_failures, i->debug_percent, i->epoll_counted, i->tick_read, i->main_symbols);
	json_string(f, i->stop_reason);
	fputs(",\"warnings\":", f);
	json_string(f, i->warnings);
	fputs("}}", f);
	w->info_out = *i;
}

/* Timeline slots, on-CPU time and states that changed since the file last
 * said, as absolute values. */
static void write_workers(struct chrome_writer *w, const struct model *m)
{
	for (uint32_t k = 0; k < m->nworkers && k < w->nshadow; k++) {
		const struct worker_stat *ws = &m->workers[k];
		struct worker_stat *sh = &w->shadow[k];
		int n = 0;
		for (int i = 0; i < TIMELINE_SLOTS; i++) {
			const struct slot *a = &ws->timeline[i];
			struct slot *b = &sh->timeline[i];
			if (a->index == b->index && a->busy_ns == b->busy_ns && a->blocked_ns == b->blocked_ns)
				continue;
			if (!n++)
				fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_slots\",\"pid\":%d,\"tid\":%u,"
					"\"args\":{\"worker\":%u,\"oncpu_ns\":%llu,\"slots\":[",
					w->pid, ws->tid, ws->id, (unsigned long long)ws->oncpu_ns);
			if (a->index == ~0ull)
				fprintf(w->f, "%s[-1,0,0]", n > 1 ? "," : "");
			else
				fprintf(w->f, "%s[%llu,%u,%u]", n > 1 ? "," : "", (unsigned long long)a->index,
					a->busy_ns, a->blocked_ns);
			*b = *a;
		}
		if (n)
			fputs("]}}", w->f);
		else if (ws->oncpu_ns != sh->oncpu_ns)
			fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_slots\",\"pid\":%d,\"tid\":%u,"
				"\"args\":{\"worker\":%u,\"oncpu_ns\":%llu,\"slots\":[]}}",
				w->pid, ws->tid, ws->id, (unsigned long long)ws->oncpu_ns);
		sh->oncpu_ns = ws->oncpu_ns;
		if (ws->state != sh->state || ws->state_since_ns != sh->state_since_ns ||
		    ws->state_func != sh->state_func || ws->state_kind != sh->state_kind) {
			fprintf(w->f, ",\n{\"ph\":\"M\",\"name\":\"hud_state\",\"pid\":%d,\"tid\":%u,\"args\":{"
				"\"worker\":%u,\"state\":\"%s\",\"since_ns\":%llu,\"func\":%d,\"kind\":\"%s\"}}",
				w->pid, ws->tid, ws->id, state_names[(unsigned)ws->state < 3 ? ws->state : 0],
				(unsigned long long)ws->state_since_ns, ws->state_func, block_kind_name(ws->state_kind));
			sh->state = ws->state;
			sh->state_since_ns = ws->state_since_ns;
			sh->state_func = ws->state_func;
			sh->state_kind = ws->state_kind;
		}
	}
}

static void checkpoint(struct chrome_writer *w, const struct model *m)
{
	sync_model(w, m);
	pending_flush(w);
	write_workers(w, m);
	if (memcmp(&w->info_out, &m->info, sizeof(m->info)) != 0)
		write_info(w, m);
	fflush(w->f);
	fflush(w->samples);
	w->last_flush = now_ns();
}

void chrome_tick(struct chrome_writer *w, const struct model *m)
{
	if (w && (!w->ticked || now_ns() - w->last_flush >= 1000000000ull))
		checkpoint(w, m);
	if (w)
		w->ticked = 1;
}

static void on_event(void *ctx, const struct model *m, const struct block_event *e)
{
	struct chrome_writer *w = ctx;
	const struct stack *s = &m->stacks[e->stack];
	const char *name = e->culprit_func >= 0 ? strtab_get(m->strings, m->funcs[e->culprit_func].function) : "??";
	uint32_t node = stack_node(w, m, e->stack);
	FILE *f = w->f;

	sync_model(w, m);
	fprintf(f, ",\n{\"ph\":\"B\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f,\"cat\":\"%s\",\"name\":",
		m->info.pid, e->tid, us(e->start_ns), block_kind_name(e->kind));
	json_string(f, name);
	if (node)
		fprintf(f, ",\"sf\":\"%u\"", node);
	fprintf(f, ",\"args\":{\"worker_id\":%u,\"duration_ms\":%.3f,\"kind\":\"%s\","
		"\"stack_id\":%u,\"start_ns\":%llu,\"dur_ns\":%llu,%s\"location\":",
		e->worker_id, (double)e->duration_ns / 1e6, block_kind_name(e->kind), e->stack,
		(unsigned long long)e->start_ns, (unsigned long long)e->duration_ns, e->open ? "\"open\":true," : "");
	if (s->culprit >= 0) {
		const struct frame *c = model_stack_frame(m, e->stack, (uint32_t)s->culprit);
		char loc[2048];
		snprintf(loc, sizeof(loc), "%s:%u", strtab_get(m->strings, c->file), c->line);
		json_string(f, loc);
	} else {
		json_string(f, "??:0");
	}
	if (e->task_func >= 0) {
		fputs(",\"task\":", f);
		json_string(f, strtab_get(m->strings, m->funcs[e->task_func].function));
	}
	if (e->open)
		fputs(",\"open\":true", f);
	fputs(",\"stack\":[", f);
	for (uint32_t i = 0; i < s->depth; i++) {
		if (i)
			fputc(',', f);
		write_frame_text(f, m, model_stack_frame(m, e->stack, i));
	}
	fprintf(f, "]}},\n{\"ph\":\"E\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f}",
		m->info.pid, e->tid, us(e->start_ns + e->duration_ns));
	w->nevents++;
	maybe_flush(w, m);
}

static void on_sample(void *ctx, const struct model *m, uint32_t tid, uint32_t cpu, uint64_t ts_ns, uint32_t stack)
{
	struct chrome_writer *w = ctx;
	uint32_t node = stack_node(w, m, stack);
	int32_t worker = -1;

	sync_model(w, m);
	if (m->info.worker_samples != w->worker_samples_seen) {
		/* model_sample credited a worker: the one whose count moved. */
		w->worker_samples_seen = m->info.worker_samples;
		for (uint32_t i = 0; i < m->nworkers && i < w->nshadow; i++)
			if (m->workers[i].samples != w->shadow[i].samples) {
				w->shadow[i].samples = m->workers[i].samples;
				worker = (int32_t)m->workers[i].id;
			}
	}
	pending_add(w, stack, worker);
	maybe_flush(w, m);
	if (!node)
		return;
	fprintf(w->samples, "%s{\"cpu\":%u,\"tid\":%u,\"ts\":%.3f,\"name\":\"cpu-clock\",\"sf\":\"%u\",\"weight\":1}",
		w->nsamples ? ",\n" : "", cpu, tid, us(ts_ns), node);
	w->nsamples++;
}

struct chrome_writer *chrome_open(const char *path, char *err, size_t errlen)
{
	struct chrome_writer *w = xcalloc(1, sizeof(*w));
	char side[4096];
	int fd, sfd = -1;

	snprintf(w->path, sizeof(w->path), "%s", path);
	fd = export_tmp_open(path, "hud-tmp", w->tmp, sizeof(w->tmp), err, errlen);
	if (fd < 0) {
		free(w);
		return NULL;
	}
	sfd = export_tmp_open(path, "hud-samples", side, sizeof(side), err, errlen);
	if (sfd >= 0)
		unlink(side);
	if (sfd < 0 || !(w->f = fdopen(fd, "w")) || !(w->samples = fdopen(sfd, "w+"))) {
		snprintf(err, errlen, "hud: cannot write the export %s: %s; choose a writable path for --export",
			 path, strerror(errno));
		if (w->f)
			fclose(w->f);
		else
			close(fd);
		if (sfd >= 0)
			close(sfd);
		unlink(w->tmp);
		free(w);
		return NULL;
	}
	index_rebuild(w, 1024);
	w->pend_index_cap = 1024;
	w->pend_index = xcalloc(w->pend_index_cap, sizeof(uint32_t));
	w->last_flush = now_ns();
	return w;
}

void chrome_attach(struct chrome_writer *w, struct model *m)
{
	m->on_event = on_event;
	m->on_sample = on_sample;
	m->sink_ctx = w;
	w->pid = m->info.pid;
	fprintf(w->f, "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"args\":{\"name\":",
		m->info.pid);
	json_string(w->f, m->info.comm);
	fputs("}}", w->f);
	/* First, so even a file cut short at once says it is hud's. */
	write_info(w, m);
	fflush(w->f);
}

static void write_stack_frames(struct chrome_writer *w, const struct model *m)
{
	FILE *f = w->f;

	fputs("\"stackFrames\":{", f);
	for (uint32_t i = 0; i < w->nnodes; i++) {
		const struct frame *fr = &m->frames[w->nodes[i].frame];
		fprintf(f, "%s\n\"%u\":{\"name\":", i ? "," : "", i + 1);
		json_string(f, strtab_get(m->strings, fr->function));
		fprintf(f, ",\"category\":\"%s\",\"file\":", fr->flags & FRAME_APP ? "app" : "lib");
		json_string(f, strtab_get(m->strings, fr->file));
		fprintf(f, ",\"line\":%u", fr->line);
		if (fr->flags & FRAME_INLINED)
			fputs(",\"inlined\":true", f);
		if (w->nodes[i].parent)
			fprintf(f, ",\"parent\":\"%u\"", w->nodes[i].parent);
		fputc('}', f);
	}
	fputs("}", f);
}

static int copy_samples(struct chrome_writer *w)
{
	char buf[65536];
	size_t n;

	if (fflush(w->samples) != 0 || fseek(w->samples, 0, SEEK_SET) != 0)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), w->samples)) > 0)
		if (fwrite(buf, 1, n, w->f) != n)
			return -1;
	return ferror(w->samples) ? -1 : 0;
}

static void write_other(FILE *f, const struct model *m)
{
	const struct model_info *i = &m->info;

	fprintf(f, "\"otherData\":{\"hud_version\":\"%s\",\"target\":", HUD_VERSION);
	json_string(f, i->target);
	fputs(",\"process\":", f);
	json_string(f, i->comm);
	fprintf(f, ",\"pid\":%d,\"threshold_ms\":%.3f,\"frequency_hz\":%d,\"duration_s\":%.3f,"
		"\"samples\":%llu,\"worker_samples\":%llu,\"blocking_events\":%llu,\"lost_events\":%llu,"
		"\"stack_failures\":%llu,\"debug_percent\":%d,\"epoll_waits_counted\":%s,\"scheduler_tick_read\":%s,"
		"\"workers\":%u,"
		"\"workers_rule\":",
		i->pid, (double)i->threshold_ns / 1e6, i->freq, (double)i->duration_ns / 1e9,
		(unsigned long long)i->samples, (unsigned long long)i->worker_samples,
		(unsigned long long)i->events, (unsigned long long)i->lost,
		(unsigned long long)i->stack_failures, i->debug_percent,
		i->epoll_counted < 0 ? "null" : i->epoll_counted ? "true" : "false",
		i->tick_read < 0 ? "null" : i->tick_read ? "true" : "false", m->nworkers);
	json_string(f, i->workers_rule);
	fputs(",\"stop_reason\":", f);
	json_string(f, i->stop_reason);
	fputs(",\"warnings\":", f);
	json_string(f, i->warnings);
	fputc('}', f);
}

int chrome_finish(struct chrome_writer *w, const struct model *m, char *err, size_t errlen)
{
	FILE *f = w->f;
	int ok;

	checkpoint(w, m);
	fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"hud_end\",\"pid\":%d,\"args\":{}}", w->pid);
	fputs("\n],\n\"displayTimeUnit\":\"ms\",\n", f);
	write_stack_frames(w, m);
	fputs(",\n\"samples\":[\n", f);
	ok = copy_samples(w) == 0;
	fputs("\n],\n", f);
	write_other(f, m);
	fputs("}\n", f);
	w->f = NULL;
	if (!ok) {
		snprintf(err, errlen, "hud: writing the export %s failed: %s (is the disk full?); the previous file, if any, is untouched",
			 w->path, strerror(errno));
		fclose(f);
		unlink(w->tmp);
		chrome_abort(w);
		return -1;
	}
	ok = export_commit(f, w->tmp, w->path, err, errlen);
	chrome_abort(w);
	return ok;
}

void chrome_abort(struct chrome_writer *w)
{
	if (!w)
		return;
	if (w->f) {
		fclose(w->f);
		unlink(w->tmp);
	}
	if (w->samples)
		fclose(w->samples);
	free(w->nodes);
	free(w->index);
	free(w->leaf);
	free(w->shadow);
	free(w->pend);
	free(w->pend_index);
	free(w);
}
