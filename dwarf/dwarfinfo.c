/* dwarfinfo.c — addresses to inline chains from DWARF, through libdwarf.
 *
 * Opening reads only the compile-unit headers and their address ranges into
 * one sorted array. The first address that falls in a unit loads that unit
 * once: its line table (dwarflines.c) and one walk over its DIEs collecting
 * subprogram and inlined_subroutine ranges into flat sorted arrays. A lookup
 * is then a handful of binary searches and no libdwarf call, except for
 * names reached through DW_AT_abstract_origin, read on first use and cached.
 *
 * The semantics are those of the Rust addr2line crate (0.19), the reference
 * hud is measured against: which unit, function and inline ranges win, how
 * names are chosen, and which binary search result is taken when ranges
 * overlap. Comments point out where that choice is deliberate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libdwarf/dwarf.h>
#include "dwarf/symint.h"

#define MAX_DIE_NESTING  256    /* deeper DIE trees are not walked further */
#define NAME_HOPS        16     /* abstract_origin chain bound, as the reference */

/* A subprogram or an inlined_subroutine. */
struct fnrec {
	const char *linkage;    /* raw strings in libdwarf's section data */
	const char *name;
	Dwarf_Off origin;       /* DW_AT_abstract_origin / DW_AT_specification */
	const char *resolved;   /* the demangled, interned name once computed */
	uint32_t call_file, call_line;
	uint32_t inl_first, inl_count;  /* a subprogram's slice of cu->iaddrs */
	uint8_t has_origin, name_first, done;
};

struct faddr {                  /* a subprogram's range */
	uint64_t lo, hi;
	uint32_t fn, seq;
};

struct iaddr {                  /* an inlined_subroutine's range */
	uint64_t lo, hi;
	uint32_t owner, depth, fn, seq;
};

struct cu {
	Dwarf_Off off;          /* of the unit's DIE in .debug_info */
	uint64_t base;          /* DW_AT_low_pc: base of DWARF 4 range lists */
	const char *comp_dir, *name;
	uint16_t version;
	uint16_t lang;
	int8_t state;           /* 0 not loaded, 1 loaded, -1 failed */
	int8_t lines_state;
	struct sym_lines lines;
	struct fnrec *fns;
	size_t nfns;
	struct faddr *faddrs;   /* sorted by lo */
	size_t nfaddrs;
	struct iaddr *iaddrs;   /* sorted by (owner, depth, lo) */
	size_t niaddrs;
};

struct urange {
	uint64_t lo, hi, max_end;  /* max_end: largest hi of this and all before */
	uint32_t cu;
};

struct name_slot {
	Dwarf_Off off;          /* 0 = empty slot */
	const char *name;
};

struct sym_dw {
	Dwarf_Debug dbg;
	struct sym_strtab *st;
	struct cu *cus;
	size_t ncus;
	struct urange *ur;
	size_t nur, urcap;
	int has_lines;
	struct name_slot *names;   /* abstract origin offset -> raw name */
	size_t nnames, names_cap;
};

/* ---- Names -------------------------------------------------------------- */

static const char **name_slot(struct sym_dw *d, Dwarf_Off off, int insert)
{
	if (insert && (d->nnames + 1) * 2 > d->names_cap) {
		size_t ncap = d->names_cap ? d->names_cap * 2 : 1024;
		struct name_slot *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < d->names_cap; i++) {
			if (!d->names[i].off)
				continue;
			size_t j = (d->names[i].off * 0x9e3779b97f4a7c15ull >> 17) & (ncap - 1);
			while (n[j].off)
				j = (j + 1) & (ncap - 1);
			n[j] = d->names[i];
		}
		free(d->names);
		d->names = n;
		d->names_cap = ncap;
	}
	if (!d->names_cap)
		return NULL;
	size_t j = (off * 0x9e3779b97f4a7c15ull >> 17) & (d->names_cap - 1);
	for (; d->names[j].off; j = (j + 1) & (d->names_cap - 1))
		if (d->names[j].off == off)
			return &d->names[j].name;
	if (!insert)
		return NULL;
	d->names[j].off = off;
	d->names[j].name = NULL;
	d->nnames++;
	return &d->names[j].name;
}

/* The raw name of the DIE at off: its linkage name, else its DW_AT_name, else
 * the name of what it refers to (as the reference's name_entry). */
static const char *name_entry(struct sym_dw *d, Dwarf_Off off, int hops)
{
	if (hops == 0 || off == 0)
		return NULL;
	const char **slot = name_slot(d, off, 0);
	if (slot)
		return *slot;
	Dwarf_Error err = NULL;
	Dwarf_Die die = NULL;
	if (dwarf_offdie_b(d->dbg, off, 1, &die, &err) != DW_DLV_OK) {
		sym_drop_err(d->dbg, &err);
		return NULL;
	}
	struct sym_attrs a;
	const char *name = NULL;
	if (sym_attrs_read(d->dbg, die, &a) == 0) {
		if (a.linkage)
			name = a.linkage;
		else if (a.name)
			name = a.name;
		else if (a.has_origin && a.origin != off)
			name = name_entry(d, a.origin, hops - 1);
	}
	sym_attrs_free(d->dbg, &a);
	dwarf_dealloc_die(die);
	slot = name_slot(d, off, 1);
	if (slot)
		*slot = name;
	return name;
}

static int demangles(uint16_t lang)
{
	/* The reference demangles Rust and C++ units, and guesses when the
	 * language is not given; other languages' names are shown raw. */
	return lang == 0 || lang == DW_LANG_Rust || lang == DW_LANG_C_plus_plus ||
	       lang == DW_LANG_C_plus_plus_03 || lang == DW_LANG_C_plus_plus_11 ||
	       lang == DW_LANG_C_plus_plus_14;
}

static const char *fn_name(struct sym_dw *d, struct cu *cu, struct fnrec *f)
{
	if (f->done)
		return f->resolved;
	const char *raw;
	if (f->linkage)
		raw = f->linkage;
	else if (f->name && f->name_first)
		raw = f->name;
	else if (f->has_origin && (raw = name_entry(d, f->origin, NAME_HOPS)) != NULL)
		;
	else
		raw = f->name;
	if (raw)
		f->resolved = demangles(cu->lang) ? sym_intern_demangled(d->st, raw)
						  : sym_intern(d->st, raw, strlen(raw));
	f->done = 1;
	return f->resolved;
}

/* ---- Loading one unit --------------------------------------------------- */

struct loader {
	struct sym_dw *d;
	struct cu *cu;
	size_t fcap, facap, iacap;
	uint32_t cur_fn, cur_depth;
};

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(p, ncap * elem);
	if (n)
		*cap = ncap;
	return n;
}

static int add_faddr(void *ctx, uint64_t lo, uint64_t hi)
{
	struct loader *L = ctx;
	struct cu *cu = L->cu;
	struct faddr *n = grow(cu->faddrs, &L->facap, cu->nfaddrs + 1, sizeof(*n));
	if (!n)
		return -1;
	cu->faddrs = n;
	n[cu->nfaddrs] = (struct faddr){ .lo = lo, .hi = hi, .fn = (uint32_t)cu->nfns,
					 .seq = (uint32_t)cu->nfaddrs };
	cu->nfaddrs++;
	return 0;
}

static int add_iaddr(void *ctx, uint64_t lo, uint64_t hi)
{
	struct loader *L = ctx;
	struct cu *cu = L->cu;
	struct iaddr *n = grow(cu->iaddrs, &L->iacap, cu->niaddrs + 1, sizeof(*n));
	if (!n)
		return -1;
	cu->iaddrs = n;
	n[cu->niaddrs] = (struct iaddr){ .lo = lo, .hi = hi, .owner = L->cur_fn, .depth = L->cur_depth,
					 .fn = (uint32_t)cu->nfns, .seq = (uint32_t)cu->niaddrs };
	cu->niaddrs++;
	return 0;
}

static int push_fn(struct loader *L, const struct sym_attrs *a)
{
	struct cu *cu = L->cu;
	struct fnrec *n = grow(cu->fns, &L->fcap, cu->nfns + 1, sizeof(*n));
	if (!n)
		return -1;
	cu->fns = n;
	n[cu->nfns++] = (struct fnrec){
		.linkage = a->linkage, .name = a->name, .origin = a->origin,
		.has_origin = (uint8_t)a->has_origin, .name_first = (uint8_t)a->name_first,
		.call_file = a->call_file > UINT32_MAX ? 0 : (uint32_t)a->call_file,
		.call_line = a->call_line > UINT32_MAX ? 0 : (uint32_t)a->call_line,
	};
	return 0;
}

static int walk(struct loader *L, Dwarf_Die parent, int64_t fn, uint32_t depth, int level);

/* Tags whose subtrees hold no code ranges: not descended, to save time.
 * Aggregate types are among them: their member functions are declarations,
 * the code lives in a DIE at namespace level (DW_AT_specification) in both
 * C++ and Rust, and skipping their members is a fifth of the walk. */
static int leaf_tag(Dwarf_Half tag)
{
	switch (tag) {
	case DW_TAG_formal_parameter: case DW_TAG_variable: case DW_TAG_member:
	case DW_TAG_enumerator: case DW_TAG_base_type: case DW_TAG_pointer_type:
	case DW_TAG_reference_type: case DW_TAG_rvalue_reference_type: case DW_TAG_array_type:
	case DW_TAG_subrange_type: case DW_TAG_subroutine_type: case DW_TAG_enumeration_type:
	case DW_TAG_typedef: case DW_TAG_const_type: case DW_TAG_volatile_type:
	case DW_TAG_template_type_parameter: case DW_TAG_template_value_parameter:
	case DW_TAG_GNU_call_site: case DW_TAG_call_site: case DW_TAG_label:
	case DW_TAG_unspecified_parameters: case DW_TAG_variant_part:
	case DW_TAG_structure_type: case DW_TAG_union_type: case DW_TAG_class_type:
		return 1;
	default:
		return 0;
	}
}

static int visit(struct loader *L, Dwarf_Die die, int64_t fn, uint32_t depth, int level)
{
	Dwarf_Debug dbg = L->d->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Half tag;
	struct sym_attrs a;
	int added, ret = 0;
	if (dwarf_tag(die, &tag, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return -1;
	}
	if (tag == DW_TAG_subprogram) {
		/* Every subprogram with code is a function, nested ones too; its
		 * inlined children belong to it alone. */
		if (sym_attrs_read(dbg, die, &a) != 0)
			return -1;
		ret = sym_for_each_range(dbg, die, L->cu->version, L->cu->base, &a, add_faddr, L, &added);
		int64_t self = -1;
		if (ret == 0 && added) {
			self = (int64_t)L->cu->nfns;
			ret = push_fn(L, &a);
		}
		sym_attrs_free(dbg, &a);
		return ret ? ret : walk(L, die, self, 0, level + 1);
	}
	if (tag == DW_TAG_inlined_subroutine && fn >= 0) {
		if (sym_attrs_read(dbg, die, &a) != 0)
			return -1;
		L->cur_fn = (uint32_t)fn;
		L->cur_depth = depth;
		ret = sym_for_each_range(dbg, die, L->cu->version, L->cu->base, &a, add_iaddr, L, &added);
		if (ret == 0)
			ret = push_fn(L, &a);
		sym_attrs_free(dbg, &a);
		return ret ? ret : walk(L, die, fn, depth + 1, level + 1);
	}
	if (leaf_tag(tag))
		return 0;
	return walk(L, die, fn, depth, level + 1);
}

static int walk(struct loader *L, Dwarf_Die parent, int64_t fn, uint32_t depth, int level)
{
	Dwarf_Debug dbg = L->d->dbg;
	Dwarf_Error err = NULL;
	Dwarf_Die child = NULL, next = NULL;
	if (level > MAX_DIE_NESTING)
		return 0;
	int res = dwarf_child(parent, &child, &err);
	if (res == DW_DLV_NO_ENTRY)
		return 0;
	if (res != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return -1;
	}
	for (;;) {
		if (visit(L, child, fn, depth, level) != 0) {
			dwarf_dealloc_die(child);
			return -1;
		}
		res = dwarf_siblingof_b(dbg, child, 1, &next, &err);
		dwarf_dealloc_die(child);
		if (res == DW_DLV_NO_ENTRY)
			return 0;
		if (res != DW_DLV_OK) {
			sym_drop_err(dbg, &err);
			return -1;
		}
		child = next;
	}
}

static int faddr_cmp(const void *a, const void *b)
{
	const struct faddr *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int iaddr_cmp(const void *a, const void *b)
{
	/* Per function, by depth then start: then the range at one depth is
	 * found by binary search (the reference's "breadth-first" order). */
	const struct iaddr *x = a, *y = b;
	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void unit_free(struct cu *cu)
{
	sym_lines_free(&cu->lines);
	free(cu->fns);
	free(cu->faddrs);
	free(cu->iaddrs);
	cu->fns = NULL;
	cu->faddrs = NULL;
	cu->iaddrs = NULL;
	cu->nfns = cu->nfaddrs = cu->niaddrs = 0;
}

static int unit_lines(struct sym_dw *d, struct cu *cu, Dwarf_Die die)
{
	if (cu->lines_state == 0)
		cu->lines_state = sym_lines_load(d->dbg, die, cu->comp_dir, cu->name, d->st, &cu->lines) < 0 ? -1 : 1;
	return cu->lines_state;
}

/* Loads the unit's lines and functions. Returns 1, or -1 on failure (then
 * the unit answers nothing, and is not retried). */
static int unit_load(struct sym_dw *d, struct cu *cu)
{
	if (cu->state)
		return cu->state;
	Dwarf_Error err = NULL;
	Dwarf_Die die = NULL;
	cu->state = -1;
	if (dwarf_offdie_b(d->dbg, cu->off, 1, &die, &err) != DW_DLV_OK) {
		sym_drop_err(d->dbg, &err);
		return -1;
	}
	struct loader L = { .d = d, .cu = cu };
	int ok = unit_lines(d, cu, die) >= 0 && walk(&L, die, -1, 0, 0) == 0;
	dwarf_dealloc_die(die);
	if (!ok) {
		unit_free(cu);
		return -1;
	}
	qsort(cu->faddrs, cu->nfaddrs, sizeof(*cu->faddrs), faddr_cmp);
	qsort(cu->iaddrs, cu->niaddrs, sizeof(*cu->iaddrs), iaddr_cmp);
	for (size_t i = 0; i < cu->niaddrs;) {
		size_t j = i;
		while (j < cu->niaddrs && cu->iaddrs[j].owner == cu->iaddrs[i].owner)
			j++;
		struct fnrec *f = &cu->fns[cu->iaddrs[i].owner];
		f->inl_first = (uint32_t)i;
		f->inl_count = (uint32_t)(j - i);
		i = j;
	}
	cu->state = 1;
	return 1;
}

/* ---- Opening ------------------------------------------------------------ */

struct ur_ctx {
	struct sym_dw *d;
	uint32_t cu;
};

static int add_urange(void *ctx, uint64_t lo, uint64_t hi)
{
	struct ur_ctx *c = ctx;
	struct sym_dw *d = c->d;
	struct urange *n = grow(d->ur, &d->urcap, d->nur + 1, sizeof(*n));
	if (!n)
		return -1;
	d->ur = n;
	n[d->nur++] = (struct urange){ .lo = lo, .hi = hi, .cu = c->cu };
	return 0;
}

static int urange_cmp(const void *a, const void *b)
{
	const struct urange *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->cu < y->cu ? -1 : x->cu > y->cu;
}

/* Indexes one unit whose DIE is die. Returns 0, or -1 when out of memory. */
static int index_unit(struct sym_dw *d, Dwarf_Die die, uint16_t version, size_t *cucap)
{
	Dwarf_Error err = NULL;
	Dwarf_Half tag;
	Dwarf_Off off;
	struct sym_attrs a;
	if (dwarf_tag(die, &tag, &err) != DW_DLV_OK || dwarf_dieoffset(die, &off, &err) != DW_DLV_OK) {
		sym_drop_err(d->dbg, &err);
		return 0;
	}
	/* Type units carry no code. */
	if (tag == DW_TAG_type_unit || sym_attrs_read(d->dbg, die, &a) != 0)
		return 0;
	struct cu *n = grow(d->cus, cucap, d->ncus + 1, sizeof(*n));
	if (!n) {
		sym_attrs_free(d->dbg, &a);
		return -1;
	}
	d->cus = n;
	struct cu *cu = &d->cus[d->ncus];
	memset(cu, 0, sizeof(*cu));
	cu->off = off;
	cu->base = a.has_low ? a.low : 0;
	cu->comp_dir = a.comp_dir;
	cu->name = a.name;
	cu->version = version;
	cu->lang = a.lang > UINT16_MAX ? 0 : (uint16_t)a.lang;
	d->has_lines |= a.has_stmt;
	struct ur_ctx c = { d, (uint32_t)d->ncus };
	int added;
	/* .debug_aranges is not read: every producer hud targets gives the
	 * unit's ranges in its DIE, and the reference prefers those. */
	int ret = sym_for_each_range(d->dbg, die, version, cu->base, &a, add_urange, &c, &added);
	sym_attrs_free(d->dbg, &a);
	if (ret != 0)
		return -1;
	d->ncus++;
	if (!added && unit_lines(d, cu, die) > 0) {
		/* No ranges declared: the line sequences stand in for them. */
		for (size_t i = 0; i < cu->lines.nseqs; i++)
			if (add_urange(&c, cu->lines.seqs[i].start, cu->lines.seqs[i].end) != 0)
				return -1;
	}
	return 0;
}

struct sym_dw *sym_dw_open(const char *path, struct sym_strtab *st, char *err, size_t errlen)
{
	Dwarf_Error derr = NULL;
	struct sym_dw *d = calloc(1, sizeof(*d));
	size_t cucap = 0;
	if (!d) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	d->st = st;
	/* Every libdwarf object is deallocated explicitly here, so its global
	 * tracking of allocations (a hash insert per DIE) is not needed. */
	dwarf_set_de_alloc_flag(0);
	int res = dwarf_init_path(path, NULL, 0, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL,
				  &d->dbg, NULL, 0, NULL, &derr);
	if (res != DW_DLV_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 res == DW_DLV_NO_ENTRY ? "no DWARF debug information" : dwarf_errmsg(derr));
		if (derr)
			dwarf_dealloc_error(NULL, derr);
		d->dbg = NULL;
		goto fail;
	}
	for (;;) {
		Dwarf_Unsigned hlen, typeoff, next;
		Dwarf_Half version, asize, lsize, esize, utype;
		Dwarf_Off abbrev;
		Dwarf_Sig8 sig;
		Dwarf_Die die = NULL;
		res = dwarf_next_cu_header_d(d->dbg, 1, &hlen, &version, &abbrev, &asize, &lsize, &esize,
					     &sig, &typeoff, &next, &utype, &derr);
		if (res == DW_DLV_NO_ENTRY)
			break;
		if (res != DW_DLV_OK) {
			/* A damaged unit ends the walk: libdwarf cannot step over it.
			 * The units before it stay usable. */
			sym_drop_err(d->dbg, &derr);
			break;
		}
		if (dwarf_siblingof_b(d->dbg, NULL, 1, &die, &derr) != DW_DLV_OK) {
			sym_drop_err(d->dbg, &derr);
			continue;
		}
		int ret = index_unit(d, die, version, &cucap);
		dwarf_dealloc_die(die);
		if (ret != 0) {
			snprintf(err, errlen, "%s: out of memory indexing DWARF", path);
			goto fail;
		}
	}
	if (d->ncus == 0) {
		snprintf(err, errlen, "%s: no DWARF compile units", path);
		goto fail;
	}
	qsort(d->ur, d->nur, sizeof(*d->ur), urange_cmp);
	uint64_t max = 0;
	for (size_t i = 0; i < d->nur; i++) {
		if (d->ur[i].hi > max)
			max = d->ur[i].hi;
		d->ur[i].max_end = max;
	}
	return d;
fail:
	sym_dw_close(d);
	return NULL;
}

void sym_dw_close(struct sym_dw *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->ncus; i++)
		unit_free(&d->cus[i]);
	free(d->cus);
	free(d->ur);
	free(d->names);
	if (d->dbg) {
		Dwarf_Error err = NULL;
		if (dwarf_finish(d->dbg, &err) != DW_DLV_OK && err)
			dwarf_dealloc_error(NULL, err);
	}
	free(d);
}

int sym_dw_has_lines(struct sym_dw *d)
{
	return d->has_lines;
}

/* ---- Lookup ------------------------------------------------------------- */

/* Rust's slice::binary_search_by as of the toolchains the reference is built
 * with: a fixed-step search that, among several matches, lands where the
 * reference does. Returns the index, or -1 when nothing matches. */
#define RUST_BSEARCH(n, CMP, out) do { \
	size_t size_ = (n), base_ = 0; \
	(out) = -1; \
	if (size_ == 0) break; \
	while (size_ > 1) { \
		size_t half_ = size_ / 2, mid_ = base_ + half_; \
		size_t i_ = mid_; \
		if ((CMP) <= 0) base_ = mid_; \
		size_ -= half_; \
	} \
	{ size_t i_ = base_; if ((CMP) == 0) (out) = (long)base_; } \
} while (0)

/* Comparators: >0 when the entry starts above addr, <0 when it ends at or
 * below it, 0 when it contains it. */
#define RANGE_CMP(r, addr) ((r).lo > (addr) ? 1 : (r).hi <= (addr) ? -1 : 0)

static int frames_for_function(struct sym_dw *d, struct cu *cu, struct fnrec *f, uint64_t addr,
			       const char *file, uint32_t line, int has_loc,
			       struct sym_frame *out, int max)
{
	/* Outermost first: the inline chain from the function inward. */
	uint32_t chain[SYM_MAX_FRAMES];
	int depth = 0;
	const struct iaddr *ia = cu->iaddrs + f->inl_first;
	size_t n = f->inl_count;
	while (depth < SYM_MAX_FRAMES - 1) {
		long k;
		uint32_t want = (uint32_t)depth;
#define INL_CMP (ia[i_].depth > want ? 1 : ia[i_].depth < want ? -1 : RANGE_CMP(ia[i_], addr))
		RUST_BSEARCH(n, INL_CMP, k);
#undef INL_CMP
		if (k < 0)
			break;
		chain[depth++] = ia[k].fn;
		ia += k + 1;
		n -= (size_t)k + 1;
	}
	/* Innermost first out. Each frame's location is the call site recorded
	 * on the frame inside it; the innermost gets the line table's. */
	int nout = 0;
	const char *cfile = has_loc ? file : NULL;
	uint32_t cline = has_loc ? line : 0;
	for (int i = depth; i >= 0 && nout < max; i--) {
		struct fnrec *fr = i > 0 ? &cu->fns[chain[i - 1]] : f;
		const char *name = fn_name(d, cu, fr);
		out[nout++] = (struct sym_frame){
			.function = name ? name : "??",
			.file = cfile ? cfile : "??",
			.line = cline,
			.flags = i > 0 ? SYM_FRAME_INLINED : 0,
		};
		if (i > 0) {
			/* File 0 is "no file" to the reference, in every version. */
			uint32_t cf = fr->call_file;
			cfile = cf && cf < cu->lines.nfiles ? cu->lines.files[cf] : NULL;
			cline = fr->call_line;
		}
	}
	return nout;
}

int sym_dw_resolve(struct sym_dw *d, uint64_t addr, struct sym_frame *out, int max)
{
	if (max < 1)
		return 0;
	/* Units whose ranges start at or below addr, latest first, stopping
	 * once no earlier range can reach addr (max_end). */
	size_t lo = 0, hi = d->nur;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->ur[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t j = lo; j-- > 0 && addr < d->ur[j].max_end;) {
		if (addr >= d->ur[j].hi)
			continue;
		struct cu *cu = &d->cus[d->ur[j].cu];
		if (unit_load(d, cu) < 0)
			continue;
		long k;
#define FN_CMP RANGE_CMP(cu->faddrs[i_], addr)
		RUST_BSEARCH(cu->nfaddrs, FN_CMP, k);
#undef FN_CMP
		const char *file = NULL;
		uint32_t line = 0;
		int has_loc = sym_lines_find(&cu->lines, addr, &file, &line);
		if (k >= 0)
			return frames_for_function(d, cu, &cu->fns[cu->faddrs[k].fn], addr, file, line,
						   has_loc, out, max);
		if (has_loc) {
			out[0] = (struct sym_frame){ .function = NULL, .file = file ? file : "??",
						     .line = line, .flags = 0 };
			return 1;
		}
	}
	return 0;
}
