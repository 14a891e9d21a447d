/* summary.c — the text a headless run prints at its end: what was profiled,
 * the top culprits with file:line, the workers, and what was lost. Every
 * string from the target is sanitised before it reaches the terminal. */
#include <stdlib.h>
#include <string.h>
#include "ui/ui.h"

static uint64_t func_block_ns(const struct func_stat *f)
{
	uint64_t t = 0;
	for (int k = 0; k < BLOCK_KINDS; k++)
		t += f->block_ns[k];
	return t;
}

static uint64_t func_block_count(const struct func_stat *f)
{
	uint64_t t = 0;
	for (int k = 0; k < BLOCK_KINDS; k++)
		t += f->block_count[k];
	return t;
}

/* A function whose only blocks are waits for a CPU and that is not the
 * application's: the worker was parked idle, or in Tokio's or the C
 * library's code (a clock read, a futex), when it was woken or preempted
 * and then waited. Nothing there blocked it; the summary's culprits show
 * these as one row (CPU_WAITS_ROW), not as a row per place. */
static int cpu_wait_elsewhere(const struct func_stat *f)
{
	return !(f->flags & FRAME_APP) && f->block_count[BLOCK_SCHED_DELAY] && !f->block_count[BLOCK_CPU] &&
	       !f->block_count[BLOCK_OFF_CPU];
}

#define CPU_WAITS_ROW "(outside the application's code: parked idle, or in Tokio or the C library)"

static const struct model *sort_model;
static struct func_stat sort_cpu_waits;        /* the row of cpu_wait_elsewhere functions, index nfuncs */
/* Blocks of stacks nothing names (UNNAMED_ROW), index nfuncs + 1: listed,
 * so the rows add up to the header's count. */
static struct func_stat sort_unnamed;

static const struct func_stat *row_stat(const struct model *m, uint32_t f)
{
	return f == m->nfuncs ? &sort_cpu_waits : f == m->nfuncs + 1 ? &sort_unnamed : &m->funcs[f];
}

static int by_block_time(const void *a, const void *b)
{
	uint64_t x = func_block_ns(row_stat(sort_model, *(const uint32_t *)a));
	uint64_t y = func_block_ns(row_stat(sort_model, *(const uint32_t *)b));
	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_samples(const void *a, const void *b)
{
	uint64_t x = sort_model->funcs[*(const uint32_t *)a].samples;
	uint64_t y = sort_model->funcs[*(const uint32_t *)b].samples;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The kinds of f's blocks, the longest in all first, joined by '+' when
 * there are several ("cpu+off_cpu"): the row's count and time add them up. */
static void kinds_of(const struct func_stat *f, char *out, size_t len)
{
	int done[BLOCK_KINDS] = { 0 };
	size_t o = 0;

	out[0] = 0;
	for (int n = 0; n < BLOCK_KINDS; n++) {
		int best = -1;
		for (int k = 0; k < BLOCK_KINDS; k++)
			if (!done[k] && f->block_count[k] && (best < 0 || f->block_ns[k] > f->block_ns[best]))
				best = k;
		if (best < 0)
			break;
		done[best] = 1;
		int w = snprintf(out + o, len - o, "%s%s", o ? "+" : "", block_kind_name((enum block_kind)best));
		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

static void location(const struct model *m, const struct func_stat *f, char *out, size_t len)
{
	char raw[1024];
	const char *file = strtab_get(m->strings, f->file);
	snprintf(raw, sizeof(raw), "%s:%u", file, f->line);
	text_sanitize(raw, out, len);
}

void summary_print(FILE *out, const struct model *m, int top)
{
	const struct model_info *i = &m->info;
	uint32_t *order = xcalloc(m->nfuncs + 2, sizeof(uint32_t));
	char name[512], loc[512], target[512];
	uint32_t n = 0;

	text_sanitize(i->target, target, sizeof(target));
	text_sanitize(i->comm, name, sizeof(name));
	fprintf(out, "hud %s: %.1f s on pid %d (%s, %s)\n", HUD_VERSION, (double)i->duration_ns / 1e9, i->pid, name, target);
	fprintf(out, "workers %u (%s); samples %llu (%llu on workers) at %d Hz; blocking events %llu; "
		"lost events %llu; failed stacks %llu; debug info ",
		m->nworkers, i->workers_rule, (unsigned long long)i->samples, (unsigned long long)i->worker_samples,
		i->freq, (unsigned long long)i->events, (unsigned long long)i->lost,
		(unsigned long long)i->stack_failures);
	if (i->debug_percent >= 0)
		fprintf(out, "%d%%\n", i->debug_percent);
	else
		fputs("n/a\n", out);
	if (i->stop_reason[0])
		fprintf(out, "stopped: %s\n", i->stop_reason);
	for (const char *p = i->warnings; *p; p += strcspn(p, "\n") + 1)
		fprintf(out, "warning: %.*s\n", (int)strcspn(p, "\n"), p);
	if (i->epoll_counted == 0 && i->tick_read != 1)
		fputs("note: epoll_wait calls were not counted (--no-epoll-count, or a kernel without syscall "
		      "tracepoints): where Tokio's scheduler tick is not read, a task that yields often can show "
		      "as cpu blocks\n", out);
	if (i->lost)
		fprintf(out, "note: %llu events were lost (hud's rings were full): raise --ringbuf-kb "
			"(16384, say; hud --help gives the default)\n", (unsigned long long)i->lost);
	if (i->main_symbols == 0)
		fputs("note: the target has no symbols (it was stripped): its code and Tokio's look alike, so "
		      "blocking could not be told; profile it with --target and the unstripped binary\n", out);
	/* Waits for a CPU of a tenth of the workers' time or more: a poll is
	 * judged on the CPU time its samples saw, so long polls that mostly
	 * waited show as sched_delay, not as cpu blocks. */
	uint64_t waited = 0;
	for (uint32_t f = 0; f < m->nfuncs; f++)
		waited += m->funcs[f].block_ns[BLOCK_SCHED_DELAY];
	double share = m->nworkers && i->duration_ns ? (double)waited / ((double)i->duration_ns * m->nworkers) : 0;
	if (share >= 0.1)
		fprintf(out, "note: the workers waited for a CPU %.0f%% of their time (more busy threads than CPUs): "
			"cpu blocks are judged on the CPU time sampled and may be under-reported; --freq 499 samples "
			"finer\n", share * 100);

	sort_model = m;
	memset(&sort_cpu_waits, 0, sizeof(sort_cpu_waits));
	for (uint32_t f = 0; f < m->nfuncs; f++) {
		const struct func_stat *fs = &m->funcs[f];
		if (!func_block_count(fs))
			continue;
		if (!cpu_wait_elsewhere(fs)) {
			order[n++] = f;
			continue;
		}
		sort_cpu_waits.block_count[BLOCK_SCHED_DELAY] += fs->block_count[BLOCK_SCHED_DELAY];
		sort_cpu_waits.block_ns[BLOCK_SCHED_DELAY] += fs->block_ns[BLOCK_SCHED_DELAY];
		if (fs->block_max_ns > sort_cpu_waits.block_max_ns)
			sort_cpu_waits.block_max_ns = fs->block_max_ns;
	}
	if (sort_cpu_waits.block_count[BLOCK_SCHED_DELAY])
		order[n++] = m->nfuncs;
	memset(&sort_unnamed, 0, sizeof(sort_unnamed));
	for (uint32_t k = 0; k < m->nstacks; k++) {
		const struct stack *st = &m->stacks[k];
		if (st->culprit >= 0 || !st->block_count)
			continue;
		for (int b = 0; b < BLOCK_KINDS; b++) {
			sort_unnamed.block_count[b] += st->kind_count[b];
			sort_unnamed.block_ns[b] += st->kind_ns[b];
		}
		if (st->block_max_ns > sort_unnamed.block_max_ns)
			sort_unnamed.block_max_ns = st->block_max_ns;
	}
	if (func_block_count(&sort_unnamed))
		order[n++] = m->nfuncs + 1;
	qsort(order, n, sizeof(uint32_t), by_block_time);
	fprintf(out, "\nTop blocking culprits (threshold %.1f ms)\n", (double)i->threshold_ns / 1e6);
	uint32_t named = n;
	for (uint32_t k = 0; k < n; k++)
		named -= order[k] >= m->nfuncs;
	if (!named && i->main_symbols == 0)
		fputs("  unknown: the target has no symbols (see the note above)\n", out);
	else if (!n)
		fputs("  none: no worker was blocked longer than the threshold\n", out);
	/* The kind column is as wide as its widest row ("cpu+sched_delay"),
	 * 11 at least: the columns after it stay aligned. */
	uint32_t rows = top <= 0 ? 0 : (uint32_t)top < n ? (uint32_t)top : n;  /* what is printed */
	char (*kinds)[64] = xcalloc(rows + 1, sizeof(*kinds));
	int kind_w = 11;
	for (uint32_t k = 0; k < rows; k++) {
		kinds_of(row_stat(m, order[k]), kinds[k], sizeof(kinds[k]));
		if ((int)strlen(kinds[k]) > kind_w)
			kind_w = (int)strlen(kinds[k]);
	}
	if (n)
		fprintf(out, "  %-*s %6s %10s %9s  %s\n", kind_w, "kind", "count", "total ms", "max ms", "function (file:line)");
	for (uint32_t k = 0; k < rows; k++) {
		const struct func_stat *f = row_stat(m, order[k]);
		fprintf(out, "  %-*s %6llu %10.1f %9.1f  ", kind_w, kinds[k], (unsigned long long)func_block_count(f),
			(double)func_block_ns(f) / 1e6, (double)f->block_max_ns / 1e6);
		if (order[k] >= m->nfuncs) {
			fputs(order[k] == m->nfuncs ? CPU_WAITS_ROW "\n" : UNNAMED_ROW "\n", out);
			continue;
		}
		text_sanitize(strtab_get(m->strings, f->function), name, sizeof(name));
		location(m, f, loc, sizeof(loc));
		fprintf(out, "%s (%s)\n", name, loc);
	}
	free(kinds);

	if (m->nopen) {
		fputs("\nBlocks still open at exit\n", out);
		for (uint32_t k = 0; k < m->nopen; k++) {
			const struct block_event *e = &m->open_blocks[k];
			if (e->culprit_func >= 0) {
				text_sanitize(strtab_get(m->strings, m->funcs[e->culprit_func].function), name, sizeof(name));
				location(m, &m->funcs[e->culprit_func], loc, sizeof(loc));
			} else {
				snprintf(name, sizeof(name), "??");
				snprintf(loc, sizeof(loc), "??:0");
			}
			/* One going on when hud attached (a worker asleep since
			 * before, a deadlock): its time so far is the session's,
			 * a lower bound. */
			fprintf(out, "  worker %-3u %-11s %10.1f ms so far%s  %s (%s)\n", e->worker_id,
				block_kind_name(e->kind), (double)e->duration_ns / 1e6,
				e->start_ns == 0 ? " (at least: since before hud attached)" : "", name, loc);
		}
	}

	n = 0;
	for (uint32_t f = 0; f < m->nfuncs; f++)
		if (m->funcs[f].samples)
			order[n++] = f;
	qsort(order, n, sizeof(uint32_t), by_samples);
	fputs("\nTop CPU on workers (samples, innermost application frame, else innermost frame)\n", out);
	if (!n)
		fputs("  none: no sample landed on a worker\n", out);
	for (uint32_t k = 0; k < n && (int)k < top; k++) {
		const struct func_stat *f = &m->funcs[order[k]];
		text_sanitize(strtab_get(m->strings, f->function), name, sizeof(name));
		location(m, f, loc, sizeof(loc));
		fprintf(out, "  %6llu %5.1f%%  %s (%s)\n", (unsigned long long)f->samples,
			i->worker_samples ? 100.0 * (double)f->samples / (double)i->worker_samples : 0.0, name, loc);
	}

	fputs("\nWorkers\n", out);
	fprintf(out, "  %-3s %-8s %6s %8s %7s %11s  %s\n", "id", "tid", "cpu%", "samples", "blocks", "blocked ms", "worst culprit");
	for (uint32_t w = 0; w < m->nworkers; w++) {
		const struct worker_stat *ws = &m->workers[w];
		double cpu = i->duration_ns ? 100.0 * (double)ws->oncpu_ns / (double)i->duration_ns : 0.0;
		loc[0] = 0;
		if (ws->worst_func >= 0) {
			text_sanitize(strtab_get(m->strings, m->funcs[ws->worst_func].function), name, sizeof(name));
			location(m, &m->funcs[ws->worst_func], loc, sizeof(loc));
		} else {
			snprintf(name, sizeof(name), "-");
		}
		fprintf(out, "  %-3u %-8u %5.1f%% %8llu %7llu %11.1f  %s%s%s%s\n", ws->id, ws->tid, cpu,
			(unsigned long long)ws->samples, (unsigned long long)ws->block_count,
			(double)ws->block_ns / 1e6, name, loc[0] ? " (" : "", loc, loc[0] ? ")" : "");
	}
	free(order);
}
