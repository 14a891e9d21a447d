/* dwread.c — hud's own reader of raw DWARF bytes: the fast path of the
 * symbolizer. It reads the sections libelf maps (decompressing SHF_COMPRESSED
 * and .zdebug ones through libelf), unit headers, abbreviation tables, the
 * few DIE attributes hud needs, and address ranges (.debug_ranges,
 * .debug_rnglists, .debug_addr), without allocating per DIE.
 *
 * Why not libdwarf here: libdwarf 20210528 builds an attribute list per DIE
 * and re-decodes abbreviations on every access; on large Rust binaries that
 * was two thirds of hud's time. libdwarf stays the fallback for what this
 * reader declines (dwarfinfo.c): big-endian or relocatable files, split DWARF
 * skeletons, unknown forms, supplementary files.
 *
 * Every read is bounds-checked against its section: a cursor that would run
 * past its end sets `bad` and yields zeros, so hostile lengths end a walk
 * instead of reading out of bounds. */
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define TOMBSTONE4       0xfffffffffffffffeull  /* DWARF 4 dead-code marker */
#define TOMBSTONE5       0xffffffffffffffffull  /* DWARF 5 dead-code marker */
#define MAX_ABBREVS      (1u << 20)             /* bound on one table's entries */
#define MAX_RANGE_ENTRIES (1u << 20)            /* bound on one range list */

/* ---- Cursor ------------------------------------------------------------- */

uint8_t dw_u8(struct dw_cur *c)
{
	if (c->p >= c->end) {
		c->bad = 1;
		return 0;
	}
	return *c->p++;
}

/* Little-endian n-byte unsigned (n <= 8); the fast path only takes
 * little-endian files. */
uint64_t dw_uN(struct dw_cur *c, unsigned n)
{
	if ((size_t)(c->end - c->p) < n) {
		c->bad = 1;
		c->p = c->end;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

uint64_t dw_uleb(struct dw_cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (;;) {
		if (c->p >= c->end) {
			c->bad = 1;
			return 0;
		}
		uint8_t b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
}

int64_t dw_sleb(struct dw_cur *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		if (c->p >= c->end) {
			c->bad = 1;
			return 0;
		}
		b = *c->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

void dw_skip(struct dw_cur *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n) {
		c->bad = 1;
		c->p = c->end;
		return;
	}
	c->p += n;
}

/* A NUL-terminated string at the cursor; NULL (and bad) when unterminated. */
const char *dw_cstr(struct dw_cur *c)
{
	const uint8_t *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
	if (!nul) {
		c->bad = 1;
		c->p = c->end;
		return NULL;
	}
	const char *s = (const char *)c->p;
	c->p = nul + 1;
	return s;
}

/* The string at off in a string section, NULL when off is outside it or the
 * string runs past its end. */
const char *dw_str_at(const struct dw_sect *s, uint64_t off)
{
	if (off >= s->n)
		return NULL;
	if (!s->terminated && !memchr(s->p + off, 0, (size_t)(s->n - off)))
		return NULL;
	return (const char *)s->p + off;
}

/* ---- Sections ----------------------------------------------------------- */

static void set_sect(struct dw_sect *s, Elf_Scn *scn, int gnu_compressed)
{
	GElf_Shdr sh;
	if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
		return;
	/* libelf inflates in place: zlib always, zstd when built with it
	 * (elfutils 0.188 is). A section it cannot inflate stays absent. */
	if (gnu_compressed) {
		if (elf_compress_gnu(scn, 0, 0) < 0)
			return;
		s->inflated = 1;
	} else if (sh.sh_flags & SHF_COMPRESSED) {
		if (elf_compress(scn, 0, 0) < 0)
			return;
		s->inflated = 1;
	}
	Elf_Data *d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size == 0)
		return;
	s->p = d->d_buf;
	s->n = d->d_size;
	s->terminated = s->p[s->n - 1] == 0;
}

/* The file-backed mapping holding p, from /proc/self/maps: 1 with its
 * bounds, 0 when p is in anonymous memory (a decompressed section, or
 * libelf's copy when it could not map the file) or maps is unreadable. */
static int file_mapping(const void *p, uintptr_t *lo, uintptr_t *hi)
{
	FILE *m = fopen("/proc/self/maps", "re");
	if (!m)
		return 0;
	char line[4096 + 128];
	int found = 0;
	uintptr_t a = (uintptr_t)p;
	while (fgets(line, sizeof(line), m)) {
		unsigned long start, end, inode;
		char perms[8];
		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu", &start, &end, perms, &inode) != 4)
			continue;
		if (a >= start && a < end) {
			/* Read-only: no page of it can differ from the file. */
			found = inode != 0 && perms[1] == '-';
			*lo = start;
			*hi = end;
			break;
		}
	}
	fclose(m);
	return found;
}

void dw_sect_release(const struct dw_secs *s, const struct dw_sect *t, uint64_t off, uint64_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	if (!t->mapped || pg <= 0 || off >= t->n)
		return;
	if (n > t->n - off)
		n = t->n - off;
	/* Whole pages, clamped to the mapping: a page shared with a
	 * neighbour is only read again from the page cache. */
	uintptr_t lo = (uintptr_t)(t->p + off) & ~((uintptr_t)pg - 1);
	uintptr_t hi = ((uintptr_t)(t->p + off) + n + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
	if (lo < s->map_lo)
		lo = s->map_lo;
	if (hi > s->map_hi)
		hi = s->map_hi;
	if (hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void dw_secs_release(const struct dw_secs *s)
{
	const struct dw_sect *all[] = { &s->info, &s->abbrev, &s->str, &s->line_str, &s->line,
					&s->ranges, &s->rnglists, &s->addr, &s->str_offsets };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		dw_sect_release(s, all[i], 0, all[i]->n);
}

int dw_secs_load(Elf *elf, struct dw_secs *s)
{
	static const struct { const char *name; size_t off; } want[] = {
		{ "debug_info", offsetof(struct dw_secs, info) },
		{ "debug_abbrev", offsetof(struct dw_secs, abbrev) },
		{ "debug_str", offsetof(struct dw_secs, str) },
		{ "debug_line_str", offsetof(struct dw_secs, line_str) },
		{ "debug_line", offsetof(struct dw_secs, line) },
		{ "debug_ranges", offsetof(struct dw_secs, ranges) },
		{ "debug_rnglists", offsetof(struct dw_secs, rnglists) },
		{ "debug_addr", offsetof(struct dw_secs, addr) },
		{ "debug_str_offsets", offsetof(struct dw_secs, str_offsets) },
	};
	size_t shstrndx;
	memset(s, 0, sizeof(*s));
	GElf_Ehdr eh;
	if (!gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -1;
	s->little = eh.e_ident[EI_DATA] == ELFDATA2LSB;
	s->relocatable = eh.e_type == ET_REL;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		int gnu = 0;
		if (strncmp(name, ".zdebug_", 8) == 0)
			gnu = 1;
		else if (strncmp(name, ".debug_", 7) != 0)
			continue;
		const char *base = name + (gnu ? 2 : 1);
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			struct dw_sect *t = (struct dw_sect *)((char *)s + want[i].off);
			if (strcmp(base, want[i].name) == 0 && !t->p)
				set_sect(t, scn, gnu);
		}
	}
	/* Sections libelf left in its read-only private mapping of the file
	 * can be released from memory (dw_secs_release) and read again from
	 * the page cache; decompressed ones live in the heap and cannot. */
	struct dw_sect *all[] = { &s->info, &s->abbrev, &s->str, &s->line_str, &s->line,
				  &s->ranges, &s->rnglists, &s->addr, &s->str_offsets };
	if (s->info.p && !s->info.inflated && file_mapping(s->info.p, &s->map_lo, &s->map_hi)) {
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
			struct dw_sect *t = all[i];
			t->mapped = t->p && !t->inflated && (uintptr_t)t->p >= s->map_lo &&
				    (uintptr_t)t->p + t->n <= s->map_hi;
		}
	}
	return s->info.p && s->abbrev.p ? 0 : -1;
}

/* ---- Abbreviations ------------------------------------------------------ */

static int abbrev_cmp(const void *a, const void *b)
{
	const struct dw_abbrev *x = a, *y = b;
	return x->code < y->code ? -1 : x->code > y->code;
}

/* The fixed size of a form in this unit, or -1 when it varies. */
static int form_fixed_size(uint64_t form, const struct dw_unit *u)
{
	switch (form) {
	case DW_FORM_flag_present: case DW_FORM_implicit_const: return 0;
	case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1:
	case DW_FORM_addrx1: return 1;
	case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2: return 2;
	case DW_FORM_strx3: case DW_FORM_addrx3: return 3;
	case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4:
	case DW_FORM_ref_sup4: return 4;
	case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8: return 8;
	case DW_FORM_data16: return 16;
	case DW_FORM_addr: return u->addr_size;
	case DW_FORM_ref_addr: return u->version <= 2 ? u->addr_size : u->off_size;
	case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt: return u->off_size;
	default: return -1;
	}
}

static int known_form(uint64_t form)
{
	return (form >= DW_FORM_addr && form <= DW_FORM_addrx4 && form != 0x02) ||
	       form == DW_FORM_GNU_addr_index || form == DW_FORM_GNU_str_index ||
	       form == DW_FORM_GNU_ref_alt || form == DW_FORM_GNU_strp_alt;
}

void dw_abbrevs_free(struct dw_abbrevs *t)
{
	free(t);        /* one allocation holds the table and its arrays */
}

/* One pass over the table at the unit's offset. Without t it only counts
 * (and checks the forms); with t, sized by a counting pass, it fills t's
 * arrays. Returns 0, or -1 when damaged or using an unknown form. */
static int abbrev_pass(const struct dw_secs *s, const struct dw_unit *u,
		       struct dw_abbrevs *t, size_t *n, size_t *nspecs, uint64_t *maxcode,
		       int *ascending)
{
	struct dw_cur c = { s->abbrev.p + u->abbrev_off, s->abbrev.p + s->abbrev.n, 0 };
	uint64_t prev = 0;
	*n = *nspecs = 0;
	*maxcode = 0;
	*ascending = 1;
	for (;;) {
		uint64_t code = dw_uleb(&c);
		if (c.bad || code == 0)
			break;
		if (*n == MAX_ABBREVS)
			return -1;
		if (code <= prev)
			*ascending = 0;
		prev = code;
		if (code > *maxcode)
			*maxcode = code;
		uint64_t tag = dw_uleb(&c);
		uint8_t children = dw_u8(&c) != 0;
		struct dw_abbrev *a = t ? &t->v[*n] : NULL;
		if (a) {
			a->code = code;
			a->tag = tag > UINT16_MAX ? 0 : (uint16_t)tag;
			a->children = children;
			a->first = (uint32_t)*nspecs;
			a->fixed = 0;
			a->interesting = 0;
		}
		(*n)++;
		for (;;) {
			uint64_t name = dw_uleb(&c), form = dw_uleb(&c);
			if (c.bad)
				return -1;
			if (name == 0 && form == 0)
				break;
			int64_t ic = form == DW_FORM_implicit_const ? dw_sleb(&c) : 0;
			if (!known_form(form))
				return -1;  /* unknown size: the unit cannot be walked */
			if (a) {
				t->specs[*nspecs] = (struct dw_aspec){
					.name = name > UINT16_MAX ? 0 : (uint16_t)name,
					.form = (uint16_t)form, .implicit = ic };
				int fs = form_fixed_size(form, u);
				if (a->fixed >= 0)
					a->fixed = fs < 0 ? -1 : a->fixed + fs;
				if (name == DW_AT_sibling)
					a->interesting = 1;
			}
			(*nspecs)++;
		}
		if (a)
			a->nattr = (uint32_t)*nspecs - a->first;
	}
	return c.bad ? -1 : 0;
}

struct dw_abbrevs *dw_abbrevs_load(const struct dw_secs *s, const struct dw_unit *u)
{
	size_t n, nspecs;
	uint64_t maxcode;
	int ascending;
	if (u->abbrev_off >= s->abbrev.n ||
	    abbrev_pass(s, u, NULL, &n, &nspecs, &maxcode, &ascending) != 0)
		return NULL;
	/* Producers number codes 1..n: a direct table makes each DIE's
	 * abbreviation one index instead of a search. */
	size_t ndirect = maxcode <= 4 * (uint64_t)n + 64 ? (size_t)maxcode + 1 : 0;
	size_t off_v = (sizeof(struct dw_abbrevs) + 15) & ~(size_t)15;
	size_t off_specs = off_v + n * sizeof(struct dw_abbrev);
	size_t off_direct = off_specs + nspecs * sizeof(struct dw_aspec);
	size_t total = off_direct + ndirect * sizeof(uint32_t);
	char *m = malloc(total);
	if (!m)
		return NULL;
	struct dw_abbrevs *t = (struct dw_abbrevs *)(void *)m;
	*t = (struct dw_abbrevs){
		.v = (struct dw_abbrev *)(void *)(m + off_v), .n = n,
		.specs = (struct dw_aspec *)(void *)(m + off_specs), .nspecs = nspecs,
		.direct = ndirect ? (uint32_t *)(void *)(m + off_direct) : NULL, .ndirect = ndirect,
	};
	size_t n2, nspecs2;
	if (abbrev_pass(s, u, t, &n2, &nspecs2, &maxcode, &ascending) != 0 ||
	    n2 != n || nspecs2 != nspecs) {
		free(m);
		return NULL;
	}
	if (!ascending)
		qsort(t->v, t->n, sizeof(*t->v), abbrev_cmp);
	if (ndirect) {
		memset(t->direct, 0, ndirect * sizeof(*t->direct));
		for (size_t i = 0; i < t->n; i++)
			if (!t->direct[t->v[i].code])
				t->direct[t->v[i].code] = (uint32_t)i + 1;
	}
	return t;
}

const struct dw_abbrev *dw_abbrev_find(const struct dw_abbrevs *t, uint64_t code)
{
	if (t->direct) {
		if (code >= t->ndirect || !t->direct[code])
			return NULL;
		return &t->v[t->direct[code] - 1];
	}
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->v[lo].code == code ? &t->v[lo] : NULL;
}

const struct dw_abbrevs *dw_abbrev_one(const struct dw_secs *s, const struct dw_unit *u, uint64_t code,
				       struct dw_abbrev1 *out)
{
	if (u->abbrev_off >= s->abbrev.n)
		return NULL;
	struct dw_cur c = { s->abbrev.p + u->abbrev_off, s->abbrev.p + s->abbrev.n, 0 };
	for (size_t entries = 0; entries < MAX_ABBREVS; entries++) {
		uint64_t have = dw_uleb(&c);
		if (c.bad || have == 0)
			return NULL;
		uint64_t tag = dw_uleb(&c);
		uint8_t children = dw_u8(&c) != 0;
		int mine = have == code;
		struct dw_abbrev *a = &out->a;
		if (mine)
			*a = (struct dw_abbrev){ .code = code, .tag = tag > UINT16_MAX ? 0 : (uint16_t)tag,
						 .children = children };
		for (;;) {
			uint64_t name = dw_uleb(&c), form = dw_uleb(&c);
			if (c.bad)
				return NULL;
			if (name == 0 && form == 0)
				break;
			int64_t ic = form == DW_FORM_implicit_const ? dw_sleb(&c) : 0;
			if (!mine)
				continue;
			if (!known_form(form) || a->nattr == DW_ONE_SPECS)
				return NULL;
			out->specs[a->nattr++] = (struct dw_aspec){
				.name = name > UINT16_MAX ? 0 : (uint16_t)name, .form = (uint16_t)form, .implicit = ic };
			int fs = form_fixed_size(form, u);
			if (a->fixed >= 0)
				a->fixed = fs < 0 ? -1 : a->fixed + fs;
			if (name == DW_AT_sibling)
				a->interesting = 1;
		}
		if (mine) {
			out->t = (struct dw_abbrevs){ .v = a, .n = 1, .specs = out->specs, .nspecs = a->nattr };
			return &out->t;
		}
	}
	return NULL;
}

/* ---- Units -------------------------------------------------------------- */

int dw_unit_header(const struct dw_secs *s, uint64_t off, struct dw_unit *u)
{
	memset(u, 0, sizeof(*u));
	if (off >= s->info.n)
		return -1;
	struct dw_cur c = { s->info.p + off, s->info.p + s->info.n, 0 };
	uint64_t len = dw_uN(&c, 4);
	u->off_size = 4;
	if (len == 0xffffffffu) {
		len = dw_uN(&c, 8);
		u->off_size = 8;
	} else if (len >= 0xfffffff0u) {
		return -1;
	}
	uint64_t body = (uint64_t)(c.p - s->info.p);
	if (c.bad || len > s->info.n - body)
		return -1;
	u->hdr_off = off;
	u->end = body + len;
	c.end = s->info.p + u->end;
	u->version = (uint16_t)dw_uN(&c, 2);
	if (u->version < 2 || u->version > 5)
		return -1;
	if (u->version >= 5) {
		u->unit_type = dw_u8(&c);
		u->addr_size = dw_u8(&c);
		u->abbrev_off = dw_uN(&c, u->off_size);
		switch (u->unit_type) {
		case DW_UT_compile: case DW_UT_partial:
			break;
		case DW_UT_skeleton: case DW_UT_split_compile:
			dw_skip(&c, 8);
			break;
		case DW_UT_type: case DW_UT_split_type:
			dw_skip(&c, 8 + u->off_size);
			break;
		default:
			return -1;
		}
	} else {
		u->unit_type = DW_UT_compile;
		u->abbrev_off = dw_uN(&c, u->off_size);
		u->addr_size = dw_u8(&c);
	}
	if (c.bad || (u->addr_size != 4 && u->addr_size != 8 && u->addr_size != 2))
		return -1;
	u->die_off = (uint64_t)(c.p - s->info.p);
	return 0;
}

/* ---- Attribute values --------------------------------------------------- */

static const char *str_index(const struct dw_secs *s, const struct dw_unit *u, uint64_t idx)
{
	if (!s->str_offsets.p || idx > (s->str_offsets.n / u->off_size))
		return NULL;
	uint64_t at = u->str_offsets_base + idx * u->off_size;
	if (at < u->str_offsets_base || at > s->str_offsets.n || s->str_offsets.n - at < u->off_size)
		return NULL;
	struct dw_cur c = { s->str_offsets.p + at, s->str_offsets.p + s->str_offsets.n, 0 };
	return dw_str_at(&s->str, dw_uN(&c, u->off_size));
}

int dw_addr_index(const struct dw_secs *s, const struct dw_unit *u, uint64_t idx, uint64_t *out)
{
	if (!s->addr.p || idx > s->addr.n / u->addr_size)
		return -1;
	uint64_t at = u->addr_base + idx * u->addr_size;
	if (at < u->addr_base || at > s->addr.n || s->addr.n - at < u->addr_size)
		return -1;
	struct dw_cur c = { s->addr.p + at, s->addr.p + s->addr.n, 0 };
	*out = dw_uN(&c, u->addr_size);
	return 0;
}

/* One attribute's value: what hud needs of it. kind says how to read v. */
enum { V_NONE, V_UNSIGNED, V_ADDR, V_ADDRX, V_STR, V_STRX, V_REF, V_SECOFF, V_RNGLISTX };

struct val {
	int kind;
	uint64_t v;
	const char *s;
};

/* Reads one value of form at the cursor. Returns 0, or -1 on a form the
 * reader does not know (the caller then declines the unit). */
static int read_value(struct dw_cur *c, const struct dw_secs *s, const struct dw_unit *u,
		      uint64_t form, int64_t implicit, struct val *out, int indirect_depth)
{
	out->kind = V_NONE;
	switch (form) {
	case DW_FORM_addr: out->kind = V_ADDR; out->v = dw_uN(c, u->addr_size); return 0;
	case DW_FORM_addrx: case DW_FORM_GNU_addr_index: out->kind = V_ADDRX; out->v = dw_uleb(c); return 0;
	case DW_FORM_addrx1: out->kind = V_ADDRX; out->v = dw_uN(c, 1); return 0;
	case DW_FORM_addrx2: out->kind = V_ADDRX; out->v = dw_uN(c, 2); return 0;
	case DW_FORM_addrx3: out->kind = V_ADDRX; out->v = dw_uN(c, 3); return 0;
	case DW_FORM_addrx4: out->kind = V_ADDRX; out->v = dw_uN(c, 4); return 0;
	case DW_FORM_data1: case DW_FORM_flag: out->kind = V_UNSIGNED; out->v = dw_uN(c, 1); return 0;
	case DW_FORM_data2: out->kind = V_UNSIGNED; out->v = dw_uN(c, 2); return 0;
	case DW_FORM_data4: out->kind = V_UNSIGNED; out->v = dw_uN(c, 4); return 0;
	case DW_FORM_data8: out->kind = V_UNSIGNED; out->v = dw_uN(c, 8); return 0;
	case DW_FORM_udata: out->kind = V_UNSIGNED; out->v = dw_uleb(c); return 0;
	case DW_FORM_sdata: out->kind = V_UNSIGNED; out->v = (uint64_t)dw_sleb(c); return 0;
	/* The value lives in the abbreviation; GCC uses it for call_file. */
	case DW_FORM_implicit_const: out->kind = V_UNSIGNED; out->v = (uint64_t)implicit; return 0;
	case DW_FORM_flag_present: out->kind = V_UNSIGNED; out->v = 1; return 0;
	case DW_FORM_data16: dw_skip(c, 16); return 0;
	case DW_FORM_string: out->kind = V_STR; out->s = dw_cstr(c); return 0;
	case DW_FORM_strp: out->kind = V_STR; out->s = dw_str_at(&s->str, dw_uN(c, u->off_size)); return 0;
	case DW_FORM_line_strp: out->kind = V_STR; out->s = dw_str_at(&s->line_str, dw_uN(c, u->off_size)); return 0;
	case DW_FORM_strx: case DW_FORM_GNU_str_index: out->kind = V_STRX; out->v = dw_uleb(c); return 0;
	case DW_FORM_strx1: out->kind = V_STRX; out->v = dw_uN(c, 1); return 0;
	case DW_FORM_strx2: out->kind = V_STRX; out->v = dw_uN(c, 2); return 0;
	case DW_FORM_strx3: out->kind = V_STRX; out->v = dw_uN(c, 3); return 0;
	case DW_FORM_strx4: out->kind = V_STRX; out->v = dw_uN(c, 4); return 0;
	/* Strings and references into a supplementary file hud does not
	 * load: read past them, use nothing. */
	case DW_FORM_strp_sup: case DW_FORM_GNU_strp_alt: case DW_FORM_GNU_ref_alt:
		dw_skip(c, u->off_size); return 0;
	case DW_FORM_ref_sup4: dw_skip(c, 4); return 0;
	case DW_FORM_ref_sup8: case DW_FORM_ref_sig8: dw_skip(c, 8); return 0;
	case DW_FORM_ref1: out->kind = V_REF; out->v = u->hdr_off + dw_uN(c, 1); return 0;
	case DW_FORM_ref2: out->kind = V_REF; out->v = u->hdr_off + dw_uN(c, 2); return 0;
	case DW_FORM_ref4: out->kind = V_REF; out->v = u->hdr_off + dw_uN(c, 4); return 0;
	case DW_FORM_ref8: out->kind = V_REF; out->v = u->hdr_off + dw_uN(c, 8); return 0;
	case DW_FORM_ref_udata: out->kind = V_REF; out->v = u->hdr_off + dw_uleb(c); return 0;
	case DW_FORM_ref_addr:
		out->kind = V_REF;
		out->v = dw_uN(c, u->version <= 2 ? u->addr_size : u->off_size);
		return 0;
	case DW_FORM_sec_offset: out->kind = V_SECOFF; out->v = dw_uN(c, u->off_size); return 0;
	case DW_FORM_rnglistx: out->kind = V_RNGLISTX; out->v = dw_uleb(c); return 0;
	case DW_FORM_loclistx: dw_uleb(c); return 0;
	case DW_FORM_block1: dw_skip(c, dw_uN(c, 1)); return 0;
	case DW_FORM_block2: dw_skip(c, dw_uN(c, 2)); return 0;
	case DW_FORM_block4: dw_skip(c, dw_uN(c, 4)); return 0;
	case DW_FORM_block: case DW_FORM_exprloc: dw_skip(c, dw_uleb(c)); return 0;
	case DW_FORM_indirect: {
		uint64_t f = dw_uleb(c);
		/* An indirect form naming indirect again: bounded, not trusted. */
		if (indirect_depth > 4 || f == DW_FORM_implicit_const)
			return -1;
		return read_value(c, s, u, f, 0, out, indirect_depth + 1);
	}
	default:
		return -1;
	}
}

static int as_unsigned(const struct val *v, uint64_t *out)
{
	if (v->kind != V_UNSIGNED)
		return 0;
	*out = v->v;
	return 1;
}

int dw_read_die(const struct dw_secs *s, struct dw_unit *u, const struct dw_abbrevs *t,
		uint64_t off, int is_unit_die, struct dw_die *d)
{
	memset(d, 0, sizeof(*d));
	if (off < u->die_off || off >= u->end)
		return -1;
	struct dw_cur c = { s->info.p + off, s->info.p + u->end, 0 };
	uint64_t code = dw_uleb(&c);
	if (c.bad)
		return -1;
	if (code == 0) {
		d->null = 1;
		d->next = (uint64_t)(c.p - s->info.p);
		return 0;
	}
	const struct dw_abbrev *a = dw_abbrev_find(t, code);
	if (!a)
		return -1;
	d->tag = a->tag;
	d->children = a->children;
	uint64_t low_idx = 0, high_idx = 0;
	int low_x = 0, high_x = 0;
	struct val name = { 0 }, linkage = { 0 }, comp_dir = { 0 };
	const struct dw_aspec *sp = t->specs + a->first;
	for (uint32_t i = 0; i < a->nattr; i++) {
		struct val v;
		if (read_value(&c, s, u, sp[i].form, sp[i].implicit, &v, 0) != 0)
			return -1;
		switch (sp[i].name) {
		case DW_AT_sibling:
			if (v.kind == V_REF) {
				d->sibling = v.v;
				d->has_sibling = 1;
			}
			break;
		case DW_AT_low_pc:
			if (v.kind == V_ADDR) {
				d->low = v.v;
				d->has_low = 1;
			} else if (v.kind == V_ADDRX) {
				low_idx = v.v;
				low_x = 1;
			}
			break;
		case DW_AT_high_pc:
			/* DWARF 4+: a constant form is a size from low_pc. */
			if (v.kind == V_ADDR) {
				d->high = v.v;
				d->has_high = 1;
			} else if (v.kind == V_ADDRX) {
				high_idx = v.v;
				high_x = 1;
			} else if (as_unsigned(&v, &d->high)) {
				d->has_high = d->high_is_size = 1;
			}
			break;
		case DW_AT_ranges:
			if (v.kind == V_SECOFF || v.kind == V_RNGLISTX || v.kind == V_UNSIGNED) {
				d->has_ranges = 1;
				d->ranges = v.v;
				d->ranges_index = v.kind == V_RNGLISTX;
			}
			break;
		case DW_AT_linkage_name:
		case DW_AT_MIPS_linkage_name:
			linkage = v;
			break;
		case DW_AT_name:
			if (v.kind == V_STR || v.kind == V_STRX) {
				name = v;
				d->name_first = !d->has_origin;
			}
			break;
		case DW_AT_abstract_origin:
		case DW_AT_specification:
			if (v.kind == V_REF && !d->has_origin) {
				d->origin = v.v;
				d->has_origin = 1;
			}
			break;
		case DW_AT_type:
			if (v.kind == V_REF) {
				d->type = v.v;
				d->has_type = 1;
			}
			break;
		case DW_AT_data_member_location: d->has_member_at = (uint8_t)as_unsigned(&v, &d->member_at); break;
		case DW_AT_byte_size: d->has_byte_size = (uint8_t)as_unsigned(&v, &d->byte_size); break;
		case DW_AT_call_file: as_unsigned(&v, &d->call_file); break;
		case DW_AT_call_line: as_unsigned(&v, &d->call_line); break;
		case DW_AT_decl_line: as_unsigned(&v, &d->decl_line); break;
		case DW_AT_language: as_unsigned(&v, &d->lang); break;
		case DW_AT_comp_dir: comp_dir = v; break;
		case DW_AT_stmt_list:
			if (v.kind == V_SECOFF || v.kind == V_UNSIGNED) {
				d->has_stmt = 1;
				d->stmt_list = v.v;
			}
			break;
		case DW_AT_str_offsets_base:
			if (is_unit_die && v.kind == V_SECOFF)
				u->str_offsets_base = v.v;
			break;
		case DW_AT_addr_base: case DW_AT_GNU_addr_base:
			if (is_unit_die && v.kind == V_SECOFF)
				u->addr_base = v.v;
			break;
		case DW_AT_rnglists_base:
			if (is_unit_die && v.kind == V_SECOFF)
				u->rnglists_base = v.v;
			break;
		case DW_AT_dwo_name: case DW_AT_GNU_dwo_name:
			d->split = 1;
			break;
		default:
			break;
		}
	}
	if (c.bad)
		return -1;
	/* Indexed forms are resolved last: the unit DIE may name its bases
	 * after the attributes that use them. */
	if (low_x)
		d->has_low = dw_addr_index(s, u, low_idx, &d->low) == 0;
	if (high_x)
		d->has_high = dw_addr_index(s, u, high_idx, &d->high) == 0;
	d->name = name.kind == V_STR ? name.s : name.kind == V_STRX ? str_index(s, u, name.v) : NULL;
	d->linkage = linkage.kind == V_STR ? linkage.s : linkage.kind == V_STRX ? str_index(s, u, linkage.v) : NULL;
	d->comp_dir = comp_dir.kind == V_STR ? comp_dir.s : comp_dir.kind == V_STRX ? str_index(s, u, comp_dir.v) : NULL;
	d->next = (uint64_t)(c.p - s->info.p);
	return 0;
}

/* Steps over the DIE at off without looking at its attributes. Returns the
 * offset after them (the first child, or the next sibling), *a its
 * abbreviation (NULL for a null entry); 0 on damage. */
uint64_t dw_skip_die(const struct dw_secs *s, const struct dw_unit *u, const struct dw_abbrevs *t,
		     uint64_t off, const struct dw_abbrev **ap)
{
	struct dw_cur c = { s->info.p + off, s->info.p + u->end, 0 };
	uint64_t code = dw_uleb(&c);
	*ap = NULL;
	if (c.bad)
		return 0;
	if (code == 0)
		return (uint64_t)(c.p - s->info.p);
	const struct dw_abbrev *a = dw_abbrev_find(t, code);
	if (!a)
		return 0;
	*ap = a;
	if (a->fixed >= 0) {
		dw_skip(&c, (uint64_t)a->fixed);
	} else {
		const struct dw_aspec *sp = t->specs + a->first;
		for (uint32_t i = 0; i < a->nattr && !c.bad; i++) {
			int fs = form_fixed_size(sp[i].form, u);
			if (fs >= 0) {
				dw_skip(&c, (uint64_t)fs);
				continue;
			}
			struct val v;
			if (read_value(&c, s, u, sp[i].form, sp[i].implicit, &v, 0) != 0)
				return 0;
		}
	}
	return c.bad ? 0 : (uint64_t)(c.p - s->info.p);
}

/* ---- Ranges ------------------------------------------------------------- */

int dw_rnglists_sane(const struct dw_secs *s)
{
	uint64_t off = 0;
	while (off < s->rnglists.n) {
		struct dw_cur c = { s->rnglists.p + off, s->rnglists.p + s->rnglists.n, 0 };
		uint64_t len = dw_uN(&c, 4);
		unsigned osz = 4;
		if (len == 0xffffffffu) {
			len = dw_uN(&c, 8);
			osz = 8;
		}
		uint64_t body = (uint64_t)(c.p - s->rnglists.p);
		if (c.bad || len < 8 || len > s->rnglists.n - body)
			return -1;
		unsigned version = (unsigned)dw_uN(&c, 2), asz = dw_u8(&c), seg = dw_u8(&c);
		uint64_t count = dw_uN(&c, 4);
		if (version != 5 || (asz != 4 && asz != 8) || seg != 0 || count > (len - 8) / osz)
			return -1;
		off = body + len;
	}
	return 0;
}

/* DWARF 2-4 .debug_ranges: offsets from the unit's base address unless a
 * base address selection entry changes it. */
static int ranges4(const struct dw_secs *s, const struct dw_unit *u, uint64_t off,
		   sym_range_fn fn, void *ctx, int *added)
{
	if (!s->ranges.p || off >= s->ranges.n)
		return 0;
	struct dw_cur c = { s->ranges.p + off, s->ranges.p + s->ranges.n, 0 };
	uint64_t base = u->base;
	uint64_t maxa = u->addr_size == 8 ? ~0ull : (1ull << (8 * u->addr_size)) - 1;
	for (unsigned n = 0; n < MAX_RANGE_ENTRIES; n++) {
		uint64_t a = dw_uN(&c, u->addr_size), b = dw_uN(&c, u->addr_size);
		if (c.bad || (a == 0 && b == 0))
			break;
		if (a == maxa) {
			base = b;
			continue;
		}
		if (base == TOMBSTONE4)
			continue;
		uint64_t lo = base + a, hi = base + b;
		if (lo == TOMBSTONE4 || lo >= hi)
			continue;
		*added = 1;
		int ret = fn(ctx, lo, hi);
		if (ret)
			return ret;
	}
	return 0;
}

/* DWARF 5 .debug_rnglists. */
static int rnglists(const struct dw_secs *s, const struct dw_unit *u, uint64_t val, int index,
		    sym_range_fn fn, void *ctx, int *added)
{
	if (!s->rnglists.p)
		return 0;
	uint64_t off = val;
	if (index) {
		/* The offset table follows the list header at rnglists_base;
		 * its entries are relative to that base. */
		uint64_t at = u->rnglists_base + val * u->off_size;
		if (val > s->rnglists.n / u->off_size || at > s->rnglists.n)
			return 0;
		struct dw_cur t = { s->rnglists.p + at, s->rnglists.p + s->rnglists.n, 0 };
		off = u->rnglists_base + dw_uN(&t, u->off_size);
		if (t.bad)
			return 0;
	}
	if (off >= s->rnglists.n)
		return 0;
	struct dw_cur c = { s->rnglists.p + off, s->rnglists.p + s->rnglists.n, 0 };
	uint64_t base = u->base;
	for (unsigned n = 0; n < MAX_RANGE_ENTRIES && !c.bad; n++) {
		uint8_t kind = dw_u8(&c);
		uint64_t lo, hi, a, b;
		switch (kind) {
		case DW_RLE_end_of_list:
			return 0;
		case DW_RLE_base_addressx:
			if (dw_addr_index(s, u, dw_uleb(&c), &base) != 0)
				return 0;
			continue;
		case DW_RLE_base_address:
			base = dw_uN(&c, u->addr_size);
			continue;
		case DW_RLE_startx_endx:
			a = dw_uleb(&c);
			b = dw_uleb(&c);
			if (dw_addr_index(s, u, a, &lo) != 0 || dw_addr_index(s, u, b, &hi) != 0)
				return 0;
			break;
		case DW_RLE_startx_length:
			a = dw_uleb(&c);
			b = dw_uleb(&c);
			if (dw_addr_index(s, u, a, &lo) != 0)
				return 0;
			hi = lo + b;
			break;
		case DW_RLE_offset_pair:
			a = dw_uleb(&c);
			b = dw_uleb(&c);
			lo = base + a;
			hi = base + b;
			break;
		case DW_RLE_start_end:
			lo = dw_uN(&c, u->addr_size);
			hi = dw_uN(&c, u->addr_size);
			break;
		case DW_RLE_start_length:
			lo = dw_uN(&c, u->addr_size);
			hi = lo + dw_uleb(&c);
			break;
		default:
			return 0;   /* unknown entry: its length is unknown too */
		}
		if (c.bad)
			return 0;
		if (lo == TOMBSTONE5 || lo >= hi)
			continue;
		*added = 1;
		int ret = fn(ctx, lo, hi);
		if (ret)
			return ret;
	}
	return 0;
}

int dw_for_each_range(const struct dw_secs *s, const struct dw_unit *u, const struct dw_die *d,
		      sym_range_fn fn, void *ctx, int *added)
{
	*added = 0;
	if (d->has_ranges) {
		if (u->version >= 5 || d->ranges_index)
			return rnglists(s, u, d->ranges, d->ranges_index, fn, ctx, added);
		return ranges4(s, u, d->ranges, fn, ctx, added);
	}
	if (d->has_low && d->has_high) {
		uint64_t hi = d->high_is_size ? d->low + d->high : d->high;
		if (d->low < hi) {
			*added = 1;
			return fn(ctx, d->low, hi);
		}
	}
	return 0;
}

const char *sym_libdwarf_version(void)
{
	return dwarf_package_version();
}
