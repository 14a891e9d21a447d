/* export_folded.c — collapsed stacks, the input of flamegraph.pl, inferno
 * and speedscope: one line per distinct stack, frames outermost first
 * joined by ';', a space, and the number of CPU samples taken on worker
 * threads with that stack.
 *
 * The format has no escaping: ';' would split a frame (Rust types such as
 * [u8; 4] carry one) and a newline would split a line, so ';' becomes ','
 * and control bytes become '?'. Two model stacks that differ only in what
 * the names do not show (line, inlining) print the same text; they are
 * merged into one line. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ui/ui.h"

struct line { char *text; uint64_t count; };

/* Appends a frame name made safe for the format, then sep (0: none). */
static void put_name(char **buf, size_t *len, size_t *cap, const char *s, char sep)
{
	size_t n = strlen(s);
	if (*len + n + 2 > *cap) {
		while (*len + n + 2 > *cap)
			*cap = *cap ? *cap * 2 : 1024;
		*buf = xrealloc(*buf, *cap);
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		(*buf)[(*len)++] = c == ';' ? ',' : (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (sep)
		(*buf)[(*len)++] = sep;
	(*buf)[*len] = 0;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

int folded_write(const char *path, const struct model *m, char *err, size_t errlen)
{
	struct line *lines = xcalloc(m->nstacks + 1, sizeof(*lines));
	uint32_t n = 0;
	char tmp[4200];
	FILE *f;

	for (uint32_t i = 0; i < m->nstacks; i++) {
		const struct stack *s = &m->stacks[i];
		char *buf = NULL;
		size_t len = 0, cap = 0;
		if (!s->samples || !s->depth)
			continue;
		for (uint32_t k = s->depth; k-- > 0;)
			put_name(&buf, &len, &cap, strtab_get(m->strings, model_stack_frame(m, i, k)->function),
				 k ? ';' : 0);
		lines[n++] = (struct line){ buf, s->samples };
	}
	qsort(lines, n, sizeof(*lines), by_text);

	int rc = -1;
	if (!(f = export_tmp_fopen(path, tmp, sizeof(tmp), err, errlen)))
		goto out;
	for (uint32_t i = 0; i < n;) {
		uint64_t count = 0;
		uint32_t k = i;
		for (; k < n && strcmp(lines[k].text, lines[i].text) == 0; k++)
			count += lines[k].count;
		fprintf(f, "%s %llu\n", lines[i].text, (unsigned long long)count);
		i = k;
	}
	rc = export_commit(f, tmp, path, err, errlen);
out:
	for (uint32_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return rc;
}
