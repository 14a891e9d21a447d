/* export_chrome.c — Chrome Trace Event JSON (Perfetto, chrome://tracing).
 *
 * The file is streamed so memory stays flat however long the run:
 * - blocking events go straight into "traceEvents" as B/E pairs on the
 *   worker's thread, in a temporary file next to the destination;
 * - CPU samples go to a second, already unlinked, temporary file, because
 *   they belong in the top-level "samples" array that follows traceEvents;
 * - at the end come the thread names, "stackFrames" (a tree with one node
 *   per distinct (parent, frame); bounded by distinct stacks), the samples
 *   copied over, and "otherData"; then the file is synced and renamed into
 *   place, so the destination is either absent or complete. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ui/ui.h"

struct node { uint32_t parent, frame; };     /* parent: node id + 1, 0 = root */

struct chrome_writer {
	char path[4096], tmp[4096];
	FILE *f;                /* the trace being written, under tmp */
	FILE *samples;          /* unlinked side file */
	int nsamples;
	int nevents;
	uint64_t last_flush;
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

static void maybe_flush(struct chrome_writer *w)
{
	uint64_t now = now_ns();
	/* Flushed every two seconds: a killed hud leaves what came before. */
	if (now - w->last_flush > 2000000000ull) {
		fflush(w->f);
		fflush(w->samples);
		w->last_flush = now;
	}
}

static void on_event(void *ctx, const struct model *m, const struct block_event *e)
{
	struct chrome_writer *w = ctx;
	const struct stack *s = &m->stacks[e->stack];
	const char *name = e->culprit_func >= 0 ? strtab_get(m->strings, m->funcs[e->culprit_func].function) : "??";
	uint32_t node = stack_node(w, m, e->stack);
	FILE *f = w->f;

	fprintf(f, ",\n{\"ph\":\"B\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f,\"cat\":\"%s\",\"name\":",
		m->info.pid, e->tid, us(e->start_ns), block_kind_name(e->kind));
	json_string(f, name);
	if (node)
		fprintf(f, ",\"sf\":\"%u\"", node);
	fprintf(f, ",\"args\":{\"worker_id\":%u,\"duration_ms\":%.3f,\"kind\":\"%s\",\"location\":",
		e->worker_id, (double)e->duration_ns / 1e6, block_kind_name(e->kind));
	if (s->culprit >= 0) {
		const struct frame *c = model_stack_frame(m, e->stack, (uint32_t)s->culprit);
		char loc[2048];
		snprintf(loc, sizeof(loc), "%s:%u", strtab_get(m->strings, c->file), c->line);
		json_string(f, loc);
	} else {
		json_string(f, "??:0");
	}
	fputs(",\"stack\":[", f);
	for (uint32_t i = 0; i < s->depth; i++) {
		if (i)
			fputc(',', f);
		write_frame_text(f, m, model_stack_frame(m, e->stack, i));
	}
	fprintf(f, "]}},\n{\"ph\":\"E\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f}",
		m->info.pid, e->tid, us(e->start_ns + e->duration_ns));
	w->nevents++;
	maybe_flush(w);
}

static void on_sample(void *ctx, const struct model *m, uint32_t tid, uint32_t cpu, uint64_t ts_ns, uint32_t stack)
{
	struct chrome_writer *w = ctx;
	uint32_t node = stack_node(w, m, stack);

	if (!node)
		return;
	fprintf(w->samples, "%s{\"cpu\":%u,\"tid\":%u,\"ts\":%.3f,\"name\":\"cpu-clock\",\"sf\":\"%u\",\"weight\":1}",
		w->nsamples ? ",\n" : "", cpu, tid, us(ts_ns), node);
	w->nsamples++;
	maybe_flush(w);
}

/* A temporary name in the destination's directory, so the final rename
 * stays on one file system. */
static int open_exclusive(char *tmp, size_t len, const char *path, const char *tag, int mode)
{
	char dirbuf[4096], basebuf[4096];
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	snprintf(basebuf, sizeof(basebuf), "%s", path);
	snprintf(tmp, len, "%s/.%s.%s.%d", dirname(dirbuf), basename(basebuf), tag, (int)getpid());
	/* O_EXCL|O_NOFOLLOW: never write through a link planted at that name. */
	return open(tmp, mode | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

struct chrome_writer *chrome_open(const char *path, char *err, size_t errlen)
{
	struct chrome_writer *w = xcalloc(1, sizeof(*w));
	char side[4096];
	int fd, sfd = -1;

	snprintf(w->path, sizeof(w->path), "%s", path);
	fd = open_exclusive(w->tmp, sizeof(w->tmp), path, "hud-tmp", O_WRONLY);
	if (fd < 0) {
		snprintf(err, errlen, "hud: cannot write the export %s: %s; choose a writable path for --export",
			 path, strerror(errno));
		free(w);
		return NULL;
	}
	sfd = open_exclusive(side, sizeof(side), path, "hud-samples", O_RDWR);
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
	w->last_flush = now_ns();
	return w;
}

void chrome_attach(struct chrome_writer *w, struct model *m)
{
	m->on_event = on_event;
	m->on_sample = on_sample;
	m->sink_ctx = w;
	fprintf(w->f, "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"args\":{\"name\":",
		m->info.pid);
	json_string(w->f, m->info.comm);
	fputs("}}", w->f);
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
		"\"stack_failures\":%llu,\"debug_percent\":%d,\"workers\":%u,\"workers_rule\":",
		i->pid, (double)i->threshold_ns / 1e6, i->freq, (double)i->duration_ns / 1e9,
		(unsigned long long)i->samples, (unsigned long long)i->worker_samples,
		(unsigned long long)i->events, (unsigned long long)i->lost,
		(unsigned long long)i->stack_failures, i->debug_percent, m->nworkers);
	json_string(f, i->workers_rule);
	fputs(",\"stop_reason\":", f);
	json_string(f, i->stop_reason);
	fputc('}', f);
}

int chrome_finish(struct chrome_writer *w, const struct model *m, char *err, size_t errlen)
{
	FILE *f = w->f;
	int ok;

	for (uint32_t i = 0; i < m->nworkers; i++) {
		const struct worker_stat *ws = &m->workers[i];
		char name[64];
		snprintf(name, sizeof(name), "worker %u (%s)", ws->id, ws->comm);
		fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%u,\"args\":{\"name\":",
			m->info.pid, ws->tid);
		json_string(f, name);
		fprintf(f, "}},\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%d,\"tid\":%u,"
			"\"args\":{\"sort_index\":%u}}", m->info.pid, ws->tid, ws->id);
	}
	fputs("\n],\n\"displayTimeUnit\":\"ms\",\n", f);
	write_stack_frames(w, m);
	fputs(",\n\"samples\":[\n", f);
	ok = copy_samples(w) == 0;
	fputs("\n],\n", f);
	write_other(f, m);
	fputs("}\n", f);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = fclose(f) == 0 && ok;
	w->f = NULL;
	if (ok && rename(w->tmp, w->path) == 0) {
		chrome_abort(w);
		return 0;
	}
	snprintf(err, errlen, "hud: writing the export %s failed: %s (is the disk full?); the previous file, if any, is untouched",
		 w->path, strerror(errno));
	unlink(w->tmp);
	chrome_abort(w);
	return -1;
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
	free(w);
}
