/* dwline.c — hud's own decoder of DWARF 2-5 line programs (.debug_line), the
 * fast path beside dwarflines.c (libdwarf), into the same flattened
 * struct sym_lines. Semantics follow the Rust addr2line crate 0.19 (the
 * reference): rows at one address keep the last, sequences sorted by start,
 * file 0 of DWARF 2-4 is the unit itself, directory 0 is comp_dir.
 *
 * Decoding it here also sidesteps libdwarf 20210528's quirks that
 * dwarflines.c works around (epilogue_begin rows reported as sequence ends,
 * the raw DWARF 5 include directory index). Every read is bounds-checked
 * against the unit's length; the number of rows is bounded by the bytes. */
#include <stdlib.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define MAX_ENTRIES   (1u << 20)   /* directories or files of one header */
#define MAX_FORMATS   16           /* entry format descriptions (DWARF 5) */

struct entry {
	const char *path;
	uint64_t dir;
};

struct hdr {
	uint16_t version;
	uint8_t off_size, addr_size, min_inst, default_stmt, line_range, opcode_base;
	int8_t line_base;
	const uint8_t *std_lens;
	const char **dirs;
	size_t ndirs, dcap;
	struct entry *files;
	size_t nfiles, fcap;
};

static int push_dir(struct hdr *h, const char *d)
{
	if (h->ndirs == MAX_ENTRIES)
		return -1;
	if (h->ndirs == h->dcap) {
		size_t ncap = h->dcap ? h->dcap * 2 : 32;
		const char **n = realloc(h->dirs, ncap * sizeof(*n));
		if (!n)
			return -1;
		h->dirs = n;
		h->dcap = ncap;
	}
	h->dirs[h->ndirs++] = d;
	return 0;
}

static int push_file(struct hdr *h, const char *path, uint64_t dir)
{
	if (h->nfiles == MAX_ENTRIES)
		return -1;
	if (h->nfiles == h->fcap) {
		size_t ncap = h->fcap ? h->fcap * 2 : 64;
		struct entry *n = realloc(h->files, ncap * sizeof(*n));
		if (!n)
			return -1;
		h->files = n;
		h->fcap = ncap;
	}
	h->files[h->nfiles++] = (struct entry){ path, dir };
	return 0;
}

/* One DWARF 5 entry format value: a path string or an unsigned number;
 * anything else (MD5 in data16, blocks, timestamps) is stepped over. */
static int entry_value(struct dw_cur *c, const struct dw_secs *s, const struct dw_unit *u,
		       const struct hdr *h, uint64_t form, const char **str, uint64_t *num)
{
	switch (form) {
	case DW_FORM_string: *str = dw_cstr(c); return 0;
	case DW_FORM_line_strp: *str = dw_str_at(&s->line_str, dw_uN(c, h->off_size)); return 0;
	case DW_FORM_strp: *str = dw_str_at(&s->str, dw_uN(c, h->off_size)); return 0;
	case DW_FORM_strx: case DW_FORM_strx1: case DW_FORM_strx2: case DW_FORM_strx3:
	case DW_FORM_strx4: {
		uint64_t idx = form == DW_FORM_strx ? dw_uleb(c)
			     : dw_uN(c, form == DW_FORM_strx1 ? 1 : form == DW_FORM_strx2 ? 2
				      : form == DW_FORM_strx3 ? 3 : 4);
		uint64_t at = u->str_offsets_base + idx * u->off_size;
		*str = NULL;
		if (s->str_offsets.p && idx < s->str_offsets.n && at < s->str_offsets.n) {
			struct dw_cur t = { s->str_offsets.p + at, s->str_offsets.p + s->str_offsets.n, 0 };
			uint64_t o = dw_uN(&t, u->off_size);
			if (!t.bad)
				*str = dw_str_at(&s->str, o);
		}
		return 0;
	}
	case DW_FORM_udata: *num = dw_uleb(c); return 0;
	case DW_FORM_data1: *num = dw_uN(c, 1); return 0;
	case DW_FORM_data2: *num = dw_uN(c, 2); return 0;
	case DW_FORM_data4: *num = dw_uN(c, 4); return 0;
	case DW_FORM_data8: *num = dw_uN(c, 8); return 0;
	case DW_FORM_data16: dw_skip(c, 16); return 0;
	case DW_FORM_block: dw_skip(c, dw_uleb(c)); return 0;
	case DW_FORM_block1: dw_skip(c, dw_uN(c, 1)); return 0;
	case DW_FORM_block2: dw_skip(c, dw_uN(c, 2)); return 0;
	case DW_FORM_block4: dw_skip(c, dw_uN(c, 4)); return 0;
	case DW_FORM_sdata: (void)dw_sleb(c); return 0;
	default: return -1;
	}
}

/* A DWARF 5 directory or file table. is_file: push files, else dirs. */
static int entry_table(struct dw_cur *c, const struct dw_secs *s, const struct dw_unit *u,
		       struct hdr *h, int is_file)
{
	uint64_t fmt[MAX_FORMATS][2];
	unsigned nfmt = dw_u8(c);
	if (nfmt > MAX_FORMATS)
		return -1;
	for (unsigned i = 0; i < nfmt; i++) {
		fmt[i][0] = dw_uleb(c);
		fmt[i][1] = dw_uleb(c);
	}
	uint64_t count = dw_uleb(c);
	if (c->bad || count > MAX_ENTRIES || (count > 0 && nfmt == 0))
		return -1;
	for (uint64_t k = 0; k < count; k++) {
		const char *path = NULL;
		uint64_t dir = 0;
		for (unsigned i = 0; i < nfmt; i++) {
			const char *str = NULL;
			uint64_t num = 0;
			if (entry_value(c, s, u, h, fmt[i][1], &str, &num) != 0)
				return -1;
			if (fmt[i][0] == DW_LNCT_path)
				path = str;
			else if (fmt[i][0] == DW_LNCT_directory_index)
				dir = num;
		}
		if (c->bad)
			return -1;
		if ((is_file ? push_file(h, path, dir) : push_dir(h, path)) != 0)
			return -1;
	}
	return 0;
}

static int has_windows_root(const char *p)
{
	return p[0] == '\\' || (p[0] && p[1] == ':' && p[2] == '\\');
}

/* Appends p to buf like Rust's PathBuf::push (an absolute p replaces it). */
static void path_push(char *buf, size_t *len, size_t cap, const char *p)
{
	if (p[0] == '/' || has_windows_root(p)) {
		*len = 0;
	} else if (*len > 0) {
		char sep = has_windows_root(buf) ? '\\' : '/';
		if (buf[*len - 1] != sep && *len < cap - 1)
			buf[(*len)++] = sep;
	}
	size_t n = strlen(p);
	if (n > cap - 1 - *len)
		n = cap - 1 - *len;
	memcpy(buf + *len, p, n);
	*len += n;
	buf[*len] = '\0';
}

/* The reference's render_file: comp_dir, then the entry's directory unless
 * its index is 0, then the name. */
static const char *render(struct sym_strtab *st, const struct hdr *h, const char *comp_dir,
			  const char *name, uint64_t dir)
{
	char buf[4096];
	size_t len = 0;
	buf[0] = '\0';
	if (comp_dir)
		path_push(buf, &len, sizeof(buf), comp_dir);
	if (dir != 0) {
		/* DWARF 5 lists the unit's directory as entry 0; earlier
		 * versions number the include directories from 1. */
		uint64_t i = h->version >= 5 ? dir : dir - 1;
		if (i < h->ndirs && h->dirs[i])
			path_push(buf, &len, sizeof(buf), h->dirs[i]);
	}
	path_push(buf, &len, sizeof(buf), name);
	return sym_intern(st, buf, len);
}

static int seq_cmp(const void *a, const void *b)
{
	const struct sym_seq *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;  /* stable, as Rust's sort */
}

struct rows {
	struct sym_lines *out;          /* its nrows counts buf's rows */
	struct sym_rows_buf *buf;
	size_t scap, seq_first;
};

static int emit(struct rows *r, uint64_t addr, uint64_t file, uint64_t line)
{
	struct sym_lines *o = r->out;
	struct sym_rows_buf *b = r->buf;
	struct sym_row row = { .addr = addr, .file = file > UINT32_MAX ? UINT32_MAX : (uint32_t)file,
			       .line = (uint32_t)line };
	if (o->nrows > r->seq_first && b->rows[o->nrows - 1].addr == addr) {
		b->rows[o->nrows - 1] = row;  /* several rows at one address: the last describes it */
		return 0;
	}
	if (o->nrows == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		struct sym_row *n = realloc(b->rows, ncap * sizeof(*n));
		if (!n)
			return -1;
		b->rows = n;
		b->cap = ncap;
	}
	b->rows[o->nrows++] = row;
	return 0;
}

static int end_seq(struct rows *r, uint64_t addr)
{
	struct sym_lines *o = r->out;
	size_t n = o->nrows - r->seq_first;
	if (n > 0) {
		if (o->nseqs == r->scap) {
			size_t ncap = r->scap ? r->scap * 2 : 64;
			struct sym_seq *s = realloc(o->seqs, ncap * sizeof(*s));
			if (!s)
				return -1;
			o->seqs = s;
			r->scap = ncap;
		}
		o->seqs[o->nseqs++] = (struct sym_seq){ .start = r->buf->rows[r->seq_first].addr, .end = addr,
			.first = (uint32_t)r->seq_first, .count = (uint32_t)n };
	}
	r->seq_first = o->nrows;
	return 0;
}

/* Runs the line program in [c.p, c.end). */
static int run_program(struct dw_cur *c, struct hdr *h, struct rows *r)
{
	uint64_t addr = 0, file = 1, line = 1;
	while (c->p < c->end && !c->bad) {
		uint8_t op = dw_u8(c);
		if (op >= h->opcode_base) {
			unsigned adj = op - h->opcode_base;
			addr += (uint64_t)(adj / h->line_range) * h->min_inst;
			line += (uint64_t)(int64_t)(h->line_base + (int)(adj % h->line_range));
			if (emit(r, addr, file, line) != 0)
				return -1;
			continue;
		}
		switch (op) {
		case 0: {       /* extended */
			uint64_t len = dw_uleb(c);
			if (c->bad || len == 0 || len > (uint64_t)(c->end - c->p)) {
				c->bad = 1;
				break;
			}
			struct dw_cur e = { c->p, c->p + len, 0 };
			c->p += len;
			uint8_t sub = dw_u8(&e);
			if (sub == DW_LNE_end_sequence) {
				if (end_seq(r, addr) != 0)
					return -1;
				addr = 0;
				file = 1;
				line = 1;
			} else if (sub == DW_LNE_set_address) {
				size_t n = (size_t)(e.end - e.p);
				addr = dw_uN(&e, n > 8 ? 8 : (unsigned)n);
			} else if (sub == DW_LNE_define_file && h->version <= 4) {
				const char *p = dw_cstr(&e);
				uint64_t dir = dw_uleb(&e);
				if (!e.bad && push_file(h, p, dir) != 0)
					return -1;
			}
			break;
		}
		case DW_LNS_copy:
			if (emit(r, addr, file, line) != 0)
				return -1;
			break;
		case DW_LNS_advance_pc: addr += dw_uleb(c) * h->min_inst; break;
		case DW_LNS_advance_line: line += (uint64_t)dw_sleb(c); break;
		case DW_LNS_set_file: file = dw_uleb(c); break;
		case DW_LNS_const_add_pc:
			addr += (uint64_t)((255u - h->opcode_base) / h->line_range) * h->min_inst;
			break;
		case DW_LNS_fixed_advance_pc: addr += dw_uN(c, 2); break;
		default:
			/* Standard opcodes this decoder has no use for (set_column,
			 * negate_stmt, ...) and unknown ones: skip their operands
			 * as the header declares them. */
			for (unsigned i = 0; i < h->std_lens[op - 1] && !c->bad; i++)
				(void)dw_uleb(c);
			break;
		}
	}
	return c->bad ? -1 : 0;
}

int dw_lines_load(const struct dw_secs *s, const struct dw_unit *u, uint64_t off,
		  const char *comp_dir, const char *cu_name, struct sym_strtab *st,
		  struct sym_lines *out, struct sym_rows_buf *buf)
{
	struct hdr h = { 0 };
	struct rows r = { .out = out, .buf = buf };
	int ret = -1;
	memset(out, 0, sizeof(*out));
	if (!s->line.p || off >= s->line.n)
		return -1;
	struct dw_cur c = { s->line.p + off, s->line.p + s->line.n, 0 };
	uint64_t len = dw_uN(&c, 4);
	h.off_size = 4;
	if (len == 0xffffffffu) {
		len = dw_uN(&c, 8);
		h.off_size = 8;
	}
	if (c.bad || len > (uint64_t)(c.end - c.p))
		return -1;
	c.end = c.p + len;
	h.version = (uint16_t)dw_uN(&c, 2);
	if (h.version < 2 || h.version > 5)
		return -1;
	h.addr_size = u->addr_size;
	if (h.version >= 5) {
		h.addr_size = dw_u8(&c);
		(void)dw_u8(&c);        /* segment selector size */
	}
	uint64_t hlen = dw_uN(&c, h.off_size);
	if (c.bad || hlen > (uint64_t)(c.end - c.p))
		return -1;
	struct dw_cur prog = { c.p + hlen, c.end, 0 };
	h.min_inst = dw_u8(&c);
	if (h.version >= 4)
		(void)dw_u8(&c);        /* max ops per instruction: VLIW only */
	h.default_stmt = dw_u8(&c);
	h.line_base = (int8_t)dw_u8(&c);
	h.line_range = dw_u8(&c);
	h.opcode_base = dw_u8(&c);
	if (c.bad || h.line_range == 0 || h.opcode_base == 0)
		return -1;
	h.std_lens = c.p;
	dw_skip(&c, h.opcode_base - 1u);
	if (c.bad)
		return -1;
	if (h.version >= 5) {
		if (entry_table(&c, s, u, &h, 0) != 0 || entry_table(&c, s, u, &h, 1) != 0)
			goto cleanup;
	} else {
		for (;;) {
			const char *d = dw_cstr(&c);
			if (!d || !*d)
				break;
			if (push_dir(&h, d) != 0)
				goto cleanup;
		}
		for (;;) {
			const char *f = dw_cstr(&c);
			if (!f || !*f)
				break;
			uint64_t dir = dw_uleb(&c);
			(void)dw_uleb(&c);      /* mtime */
			(void)dw_uleb(&c);      /* length */
			if (c.bad || push_file(&h, f, dir) != 0)
				goto cleanup;
		}
		if (c.bad)
			goto cleanup;
	}
	if (run_program(&prog, &h, &r) != 0)
		goto cleanup;
	/* Rows after the last end_sequence belong to no sequence: dropped. */
	out->nrows = r.seq_first;
	if (out->nrows) {
		out->rows = malloc(out->nrows * sizeof(*out->rows));
		if (!out->rows)
			goto cleanup;
		memcpy(out->rows, buf->rows, out->nrows * sizeof(*out->rows));
	}
	if (out->nseqs)
		qsort(out->seqs, out->nseqs, sizeof(*out->seqs), seq_cmp);

	/* Files, indexed as the rows use them. DW_LNE_define_file may have
	 * added some, so this comes after the program. */
	size_t nf = h.version >= 5 ? h.nfiles : h.nfiles + 1;
	out->files = calloc(nf ? nf : 1, sizeof(*out->files));
	if (!out->files)
		goto cleanup;
	out->nfiles = (uint32_t)nf;
	if (h.version >= 5) {
		for (size_t i = 0; i < h.nfiles; i++)
			out->files[i] = h.files[i].path ? render(st, &h, comp_dir, h.files[i].path,
								 h.files[i].dir) : NULL;
	} else {
		/* File 0 is the unit itself, in its compilation directory. */
		out->files[0] = cu_name ? render(st, &h, comp_dir, cu_name, 0) : "";
		for (size_t i = 0; i < h.nfiles; i++)
			out->files[i + 1] = render(st, &h, comp_dir, h.files[i].path, h.files[i].dir);
	}
	ret = 1;
cleanup:
	free(h.dirs);
	free(h.files);
	if (ret < 0)
		sym_lines_free(out);
	return ret;
}
