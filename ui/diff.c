/* diff.c — hud --diff BEFORE.json AFTER.json: what changed in blocking
 * between two runs, for a person and for a CI gate.
 *
 * Culprits are matched by function name (files move between builds and
 * machines; names do not). Per culprit: blocking events and time before and
 * after, marked new (only after) or gone (only before). The verdict, and the
 * exit status, is a regression when the total blocking time grew by more
 * than the tolerance or any new culprit appeared. Both runs should be of
 * the same length (--duration) and load for the totals to compare. */
#include <stdlib.h>
#include <string.h>
#include "ui/ui.h"

struct row {
	uint32_t name;                  /* in the diff's own string table */
	uint32_t func[2];               /* func index in each model, ~0 none */
	uint64_t count[2], ns[2];
};

struct diff {
	struct strtab *names;
	struct row *rows;               /* by name id */
	uint32_t nrows;
};

static struct row *row_for(struct diff *d, const char *name)
{
	uint32_t id = strtab_intern(d->names, name);
	if (id >= d->nrows) {
		uint32_t n = id + 64;
		d->rows = xrealloc(d->rows, n * sizeof(*d->rows));
		for (uint32_t i = d->nrows; i < n; i++)
			d->rows[i] = (struct row){ i, { ~0u, ~0u }, { 0, 0 }, { 0, 0 } };
		d->nrows = n;
	}
	return &d->rows[id];
}

static void add_run(struct diff *d, const struct model *m, int side, uint64_t *total_ns, uint64_t *total_count)
{
	*total_ns = *total_count = 0;
	for (uint32_t i = 0; i < m->nfuncs; i++) {
		const struct func_stat *f = &m->funcs[i];
		uint64_t count = 0, ns = 0;
		for (int k = 0; k < BLOCK_KINDS; k++) {
			count += f->block_count[k];
			ns += f->block_ns[k];
		}
		if (!count)
			continue;
		struct row *r = row_for(d, strtab_get(m->strings, f->function));
		r->count[side] += count;
		r->ns[side] += ns;
		if (r->func[side] == ~0u)
			r->func[side] = i;
		*total_ns += ns;
		*total_count += count;
	}
}

static const struct diff *sort_diff;

static int by_time(const void *a, const void *b)
{
	const struct row *x = &sort_diff->rows[*(const uint32_t *)a], *y = &sort_diff->rows[*(const uint32_t *)b];
	uint64_t kx = x->ns[1] > x->ns[0] ? x->ns[1] : x->ns[0], ky = y->ns[1] > y->ns[0] ? y->ns[1] : y->ns[0];
	return kx < ky ? 1 : kx > ky ? -1 : 0;
}

static void describe(FILE *f, const char *label, const char *path, const struct model *m, uint64_t ns, uint64_t count)
{
	char name[512];
	text_sanitize(path, name, sizeof(name));
	fprintf(f, "%s %s: %.1f s, %llu blocking events, %.1f ms blocked\n", label, name,
		(double)m->info.duration_ns / 1e9, (unsigned long long)count, (double)ns / 1e6);
}

int diff_run(FILE *f, const char *before, const char *after, double tolerance_pct, char *err, size_t errlen)
{
	struct model *m[2] = { NULL, NULL };
	const char *paths[2] = { before, after };
	struct diff d = { strtab_new(), NULL, 0 };
	uint64_t total_ns[2], total_count[2];
	int cut, rc = 2;

	for (int i = 0; i < 2; i++) {
		if (!(m[i] = replay_load(paths[i], &cut, err, errlen)))
			goto out;
		if (cut) {
			char name[512];
			text_sanitize(paths[i], name, sizeof(name));
			fprintf(stderr, "hud: warning: %s was cut short; comparing what it holds\n", name);
		}
		add_run(&d, m[i], i, &total_ns[i], &total_count[i]);
	}

	describe(f, "before", before, m[0], total_ns[0], total_count[0]);
	describe(f, "after ", after, m[1], total_ns[1], total_count[1]);
	if (m[0]->info.threshold_ns != m[1]->info.threshold_ns)
		fprintf(f, "note: the thresholds differ: %.1f ms before, %.1f ms after; blocks between the two "
			"count in one run only (record both with the same --threshold)\n",
			(double)m[0]->info.threshold_ns / 1e6, (double)m[1]->info.threshold_ns / 1e6);
	uint32_t *order = xcalloc(d.nrows + 1, sizeof(uint32_t)), n = 0, added = 0, gone = 0;
	for (uint32_t i = 0; i < d.nrows; i++)
		if (d.rows[i].count[0] || d.rows[i].count[1])
			order[n++] = i;
	sort_diff = &d;
	qsort(order, n, sizeof(uint32_t), by_time);
	fprintf(f, "\n  %-8s %8s %11s %8s %11s %8s  %s\n", "change", "before", "before ms", "after", "after ms",
		"time", "culprit (file:line)");
	for (uint32_t k = 0; k < n; k++) {
		const struct row *r = &d.rows[order[k]];
		int side = r->count[1] ? 1 : 0;
		const struct func_stat *fs = &m[side]->funcs[r->func[side]];
		char name[512], raw[1024], loc[512], change[16], delta[16];
		text_sanitize(strtab_get(d.names, r->name), name, sizeof(name));
		snprintf(raw, sizeof(raw), "%s:%u", strtab_get(m[side]->strings, fs->file), fs->line);
		text_sanitize(raw, loc, sizeof(loc));
		if (!r->count[0]) {
			snprintf(change, sizeof(change), "new");
			snprintf(delta, sizeof(delta), "-");
			added++;
		} else if (!r->count[1]) {
			snprintf(change, sizeof(change), "gone");
			snprintf(delta, sizeof(delta), "-");
			gone++;
		} else {
			double pct = r->ns[0] ? 100.0 * ((double)r->ns[1] - (double)r->ns[0]) / (double)r->ns[0] : 0;
			snprintf(change, sizeof(change), "%s", r->ns[1] > r->ns[0] ? "more" : r->ns[1] < r->ns[0] ? "less" : "same");
			snprintf(delta, sizeof(delta), "%+.0f%%", pct);
		}
		fprintf(f, "  %-8s %8llu %11.1f %8llu %11.1f %8s  %s (%s)\n", change,
			(unsigned long long)r->count[0], (double)r->ns[0] / 1e6,
			(unsigned long long)r->count[1], (double)r->ns[1] / 1e6, delta, name, loc);
	}
	if (!n)
		fputs("  no blocking culprit in either run\n", f);
	free(order);

	double growth = total_ns[0] ? 100.0 * ((double)total_ns[1] - (double)total_ns[0]) / (double)total_ns[0] :
			(total_ns[1] ? 1e9 : 0);
	int grew = growth > tolerance_pct;
	fprintf(f, "\ntotal blocking %.1f ms -> %.1f ms (", (double)total_ns[0] / 1e6, (double)total_ns[1] / 1e6);
	if (total_ns[0])
		fprintf(f, "%+.1f%%", growth);
	else
		fputs(total_ns[1] ? "from none" : "none in either", f);
	fprintf(f, ", tolerance %.1f%%); %u new, %u gone culprit%s: %s\n", tolerance_pct, added, gone,
		added + gone == 1 ? "" : "s",
		grew && added ? "REGRESSION (more blocking and a new culprit)" :
		grew ? "REGRESSION (more blocking)" : added ? "REGRESSION (a new culprit)" : "ok");
	rc = grew || added ? 1 : 0;
out:
	model_free(m[0]);
	model_free(m[1]);
	strtab_free(d.names);
	free(d.rows);
	return rc;
}
