/* dwarflines.c — a compile unit's DWARF line table, read once through libdwarf
 * and flattened into sorted arrays so that a lookup is two binary searches
 * with no libdwarf call. Semantics follow the Rust addr2line crate (the
 * reference hud is measured against): rows at the same address keep the
 * last one, sequences are sorted by start, file paths are joined the same way. */
#include <stdlib.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define MAX_FILES   (1u << 20)
#define PATH_CAP    4096

static int has_windows_root(const char *p)
{
	return p[0] == '\\' || (p[0] && p[1] == ':' && p[2] == '\\');
}

/* Appends p to the path in buf; an absolute p replaces it (as Rust's
 * PathBuf::push, which the reference uses). Truncates at PATH_CAP. */
static void path_push(char *buf, size_t *len, const char *p)
{
	if (p[0] == '/' || has_windows_root(p)) {
		*len = 0;
	} else if (*len > 0) {
		char sep = has_windows_root(buf) ? '\\' : '/';
		if (buf[*len - 1] != sep && *len < PATH_CAP - 1)
			buf[(*len)++] = sep;
	}
	size_t n = strlen(p);
	if (n > PATH_CAP - 1 - *len)
		n = PATH_CAP - 1 - *len;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

static const char *join_path(struct sym_strtab *st, const char *comp_dir, const char *dir,
			     const char *name)
{
	char buf[PATH_CAP];
	size_t len = 0;
	buf[0] = '\0';
	if (comp_dir)
		path_push(buf, &len, comp_dir);
	if (dir)
		path_push(buf, &len, dir);
	path_push(buf, &len, name);
	return sym_intern(st, buf, len);
}

/* Builds out->files, indexed by the file numbers the line rows use. */
static int load_files(Dwarf_Line_Context ctx, const char *comp_dir,
		      const char *cu_name, struct sym_strtab *st, struct sym_lines *out)
{
	Dwarf_Error err = NULL;
	Dwarf_Signed base, count, end, ndirs = 0;
	if (dwarf_srclines_files_indexes(ctx, &base, &count, &end, &err) != DW_DLV_OK)
		return -1;
	if (base < 0 || end < base || end > (Dwarf_Signed)MAX_FILES)
		return -1;
	if (dwarf_srclines_include_dir_count(ctx, &ndirs, &err) != DW_DLV_OK)
		ndirs = 0;
	out->files = calloc((size_t)end + 1, sizeof(*out->files));
	if (!out->files)
		return -1;
	out->nfiles = (uint32_t)end;
	/* DWARF 4 numbers files from 1; the reference names file 0 after the
	 * compile unit itself, or "" when it has no name. */
	if (base == 1 && end >= 1)
		out->files[0] = cu_name ? join_path(st, comp_dir, NULL, cu_name) : "";
	for (Dwarf_Signed i = base; i < end; i++) {
		const char *name = NULL;
		Dwarf_Unsigned dir = 0, mtime, flen;
		Dwarf_Form_Data16 *md5;
		if (dwarf_srclines_files_data_b(ctx, i, &name, &dir, &mtime, &flen, &md5, &err) != DW_DLV_OK)
			continue;       /* one bad entry leaves only that file unnamed */
		const char *dname = NULL;
		/* Directory 0 is the compilation directory, already the prefix.
		 * libdwarf takes the raw directory index in both DWARF 4 (where
		 * it starts at 1) and DWARF 5 (where 0 is the unit's own). */
		if (dir != 0) {
			Dwarf_Signed di = (Dwarf_Signed)dir;
			if (di >= 1 && di <= ndirs &&
			    dwarf_srclines_include_dir_data(ctx, di, &dname, &err) != DW_DLV_OK)
				dname = NULL;
		}
		out->files[i] = name ? join_path(st, comp_dir, dname, name) : NULL;
	}
	return 0;
}

static int seq_cmp(const void *a, const void *b)
{
	const struct sym_seq *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;  /* stable, as Rust's sort */
}

static int push_seq(struct sym_lines *out, size_t *cap, uint64_t start, uint64_t end,
		    size_t first, size_t count)
{
	if (out->nseqs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct sym_seq *n = realloc(out->seqs, ncap * sizeof(*n));
		if (!n)
			return -1;
		out->seqs = n;
		*cap = ncap;
	}
	out->seqs[out->nseqs++] = (struct sym_seq){ .start = start, .end = end,
		.first = (uint32_t)first, .count = (uint32_t)count };
	return 0;
}

int sym_lines_load(Dwarf_Debug dbg, Dwarf_Die cu_die, const char *comp_dir, const char *cu_name,
		   struct sym_strtab *st, struct sym_lines *out)
{
	Dwarf_Error err = NULL;
	Dwarf_Unsigned version;
	Dwarf_Small tables;
	Dwarf_Line_Context ctx = NULL;
	Dwarf_Line *lines = NULL;
	Dwarf_Signed nlines = 0;
	size_t seq_cap = 0, seq_first = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	int res = dwarf_srclines_b(cu_die, &version, &tables, &ctx, &err);
	if (res == DW_DLV_NO_ENTRY)
		return 0;
	if (res != DW_DLV_OK)
		goto cleanup;
	if (tables != 1) {
		ret = 0;  /* header only, or the experimental two-level format */
		goto cleanup;
	}
	if (dwarf_srclines_from_linecontext(ctx, &lines, &nlines, &err) != DW_DLV_OK || nlines < 0)
		goto cleanup;
	if (load_files(ctx, comp_dir, cu_name, st, out) != 0)
		goto cleanup;
	out->rows = malloc(((size_t)nlines + 1) * sizeof(*out->rows));
	if (!out->rows)
		goto cleanup;
	for (Dwarf_Signed i = 0; i < nlines; i++) {
		Dwarf_Addr addr;
		Dwarf_Unsigned lineno, fileno;
		Dwarf_Bool end_seq;
		Dwarf_Bool prologue = 0, epilogue = 0;
		Dwarf_Unsigned isa, discr;
		if (dwarf_lineaddr(lines[i], &addr, &err) != DW_DLV_OK ||
		    dwarf_lineendsequence(lines[i], &end_seq, &err) != DW_DLV_OK)
			goto cleanup;
		/* libdwarf 20210528 also reports a row flagged epilogue_begin as
		 * ending its sequence; producers never set that flag right before
		 * DW_LNE_end_sequence, so such a row is an ordinary one. */
		if (end_seq && dwarf_prologue_end_etc(lines[i], &prologue, &epilogue, &isa, &discr,
						      &err) == DW_DLV_OK && epilogue)
			end_seq = 0;
		if (err)
			dwarf_dealloc_error(dbg, err);
		err = NULL;
		if (end_seq) {
			size_t n = out->nrows - seq_first;
			if (n > 0 && push_seq(out, &seq_cap, out->rows[seq_first].addr, addr, seq_first, n) != 0)
				goto cleanup;
			seq_first = out->nrows;
			continue;
		}
		if (dwarf_lineno(lines[i], &lineno, &err) != DW_DLV_OK)
			lineno = 0;
		if (dwarf_line_srcfileno(lines[i], &fileno, &err) != DW_DLV_OK)
			fileno = UINT32_MAX;
		struct sym_row row = { .addr = addr, .file = fileno > UINT32_MAX ? UINT32_MAX : (uint32_t)fileno,
				       .line = lineno > UINT32_MAX ? 0 : (uint32_t)lineno };
		/* Several rows at one address: the last one describes it. */
		if (out->nrows > seq_first && out->rows[out->nrows - 1].addr == addr)
			out->rows[out->nrows - 1] = row;
		else
			out->rows[out->nrows++] = row;
	}
	/* Rows after the last end_sequence belong to no sequence: dropped. */
	out->nrows = seq_first;
	if (out->nseqs)
		qsort(out->seqs, out->nseqs, sizeof(*out->seqs), seq_cmp);
	ret = 1;
cleanup:
	if (err)
		dwarf_dealloc_error(dbg, err);
	if (ctx)
		dwarf_srclines_dealloc_b(ctx);
	if (ret < 0)
		sym_lines_free(out);
	return ret;
}

int sym_lines_find(const struct sym_lines *l, uint64_t addr, const char **file, uint32_t *line)
{
	if (l->nseqs == 0)
		return 0;
	/* The sequence containing addr, or else the one before it: like the
	 * reference, an address past a sequence's end still gets that
	 * sequence's last row when the unit's ranges cover it. */
	size_t lo = 0, hi = l->nseqs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->seqs[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t si = lo ? lo - 1 : 0;
	const struct sym_seq *s = &l->seqs[si];
	/* Overlapping sequences: prefer one that really contains addr. */
	if (addr >= s->end) {
		for (size_t j = si; j-- > 0 && si - j < 8;) {
			if (l->seqs[j].start <= addr && addr < l->seqs[j].end) {
				s = &l->seqs[j];
				break;
			}
		}
	}
	if (s->start > addr || s->count == 0)
		return 0;
	const struct sym_row *r = l->rows + s->first;
	lo = 0;
	hi = s->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct sym_row *row = &r[lo ? lo - 1 : 0];
	if (row->addr > addr)
		return 0;
	*file = row->file < l->nfiles ? l->files[row->file] : NULL;
	*line = row->line;
	return 1;
}

void sym_lines_free(struct sym_lines *l)
{
	free(l->seqs);
	free(l->rows);
	free(l->files);
	memset(l, 0, sizeof(*l));
}
