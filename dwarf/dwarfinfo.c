/* dwarfinfo.c — addresses to inline chains from DWARF.
 *
 * Opening reads only the compile-unit headers and their address ranges into
 * one sorted array. The first address that falls in a unit loads that unit:
 * its line table and one walk over its DIEs collecting subprogram and
 * inlined_subroutine ranges into flat sorted arrays. A lookup is then a
 * handful of binary searches, except for names reached through
 * DW_AT_abstract_origin, read on first use and cached. Loaded units are
 * bounded by a budget shared by all readers: the least recently used are
 * dropped and loaded again when needed (see "Memory" below).
 *
 * Two readers do the work. The fast path is hud's own (dwread.c for unit
 * headers, abbreviations, DIEs and ranges; dwline.c for line programs),
 * reading the section bytes libelf maps: it is what runs for the
 * little-endian executables and libraries of x86-64 and arm64, DWARF 2-5.
 * libdwarf is the fallback, opened only when needed: for a whole file the
 * fast reader declines (big-endian, relocatable objects whose sections need
 * relocating, no usable unit header), and per unit for what it declines
 * (split-DWARF skeletons, unknown forms, a damaged line program or DIE
 * tree), so hud never knows less than libdwarf would tell it.
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

/* How a function's raw name is found, decided while walking (the
 * reference's rule: the linkage name, else DW_AT_name when it comes before
 * the abstract origin, else the origin's name, else DW_AT_name). origin 0:
 * name is the answer; else the name of the DIE at origin, falling back to
 * name. The strings live in the mapped sections (or libdwarf's copy of
 * them), never in a unit's tables, so they outlive an evicted unit. */
struct fname {
	const char *name;
	uint64_t od;            /* the origin's offset (low FN_ORIGIN_BITS bits) and the
				 * declaration's line (the rest; 0 unknown): one word, as
				 * there are as many of these as functions and inline calls */
};

#define FN_ORIGIN_BITS 40       /* .debug_info offsets below 1 TiB */
#define FN_ORIGIN_MASK ((1ull << FN_ORIGIN_BITS) - 1)
#define FN_DECL_MAX ((1u << (64 - FN_ORIGIN_BITS)) - 1)

/* The two halves of a packed word (fname.od, name_slot.od). */
static uint64_t od_origin(uint64_t od)
{
	return od & FN_ORIGIN_MASK;
}

static uint32_t od_decl(uint64_t od)
{
	return (uint32_t)(od >> FN_ORIGIN_BITS);
}

/* Packs an offset and a line the way fname.od holds them: an offset that
 * does not fit is none, a line that does not fit unknown. */
static uint64_t fn_pack(uint64_t origin, uint64_t decl)
{
	return (origin > FN_ORIGIN_MASK ? 0 : origin) | (decl > FN_DECL_MAX ? 0 : decl) << FN_ORIGIN_BITS;
}

struct subrec {                 /* a subprogram with code */
	struct fname nm;        /* its declaration's line: through the origin too, once resolved */
	const char *resolved;   /* demangled and interned; NULL until computed */
	uint32_t inl_first, inl_count;  /* its slice of the unit's inline ranges */
	uint32_t drun_first, ndepth;    /* its depth runs: druns[drun_first .. +ndepth] */
};

struct inlrec {                 /* an inlined_subroutine */
	struct fname nm;
	const char *resolved;
	uint32_t call_file, call_line;
};

struct faddr {                  /* a subprogram's range */
	uint64_t lo, hi;
	uint32_t fn, seq;       /* fn: index into subs */
};

struct iaddr {                  /* an inlined_subroutine's range, while loading */
	uint64_t lo, hi;
	uint32_t owner, depth, fn, seq;  /* owner: into subs; fn: into inls */
};

struct cu {
	Dwarf_Off off;          /* of the unit's DIE in .debug_info */
	struct dw_unit u;       /* fast path: header and bases */
	struct dw_abbrevs *ab;  /* fast path: shared, owned by the reader (abbrevs_of) */
	uint64_t stmt_list;
	uint8_t has_stmt;
	uint8_t slow;           /* read through libdwarf */
	uint64_t base;          /* DW_AT_low_pc: base of DWARF 4 range lists */
	const char *comp_dir, *name;
	uint16_t version;
	uint16_t lang;
	int8_t state;           /* 0 not loaded, 1 loaded, -1 failed */
	int8_t lines_state;
	uint8_t listed;         /* in the LRU list of units holding memory */
	struct sym_lines lines;
	/* The tables of a loaded unit, all in one block (tables). */
	void *tables;
	struct subrec *subs;
	size_t nsubs;
	struct inlrec *inls;
	size_t ninls;
	struct faddr *faddrs;   /* sorted by lo */
	size_t nfaddrs;
	/* Inline ranges, sorted by (owner, depth, lo), as parallel arrays:
	 * the searches read only ilo. */
	uint64_t *ilo, *ihi;
	uint32_t *ifn;          /* into inls */
	size_t niaddrs;
	uint32_t *druns;        /* per function, where each depth starts */
	size_t ndruns;
	size_t bytes;           /* held: tables, line table, abbreviations */
	uint64_t used_epoch;    /* sym_table_age's epoch when last used */
	struct cu *newer, *older;  /* LRU neighbours while listed */
};

struct urange {
	uint64_t lo, hi, max_end;  /* max_end: largest hi of this and all before */
	uint32_t cu;
};

struct name_slot {
	uint64_t od;            /* the DIE's offset (0 = empty slot) and the first
				 * DW_AT_decl_line along the chain, packed as fname.od */
	const char *name;
};

/* The linker merges .debug_str, so one raw name has one address: the
 * demangled form is cached by that address, and an inlined function seen in
 * a thousand places is demangled once. */
struct dem_slot {
	const char *raw;        /* NULL = empty slot */
	const char *dem;
};

struct ab_slot {
	uint64_t off;           /* in .debug_abbrev */
	uint16_t version;       /* the unit fields that fix attribute sizes */
	uint8_t addr_size, off_size;
	uint8_t used;
	struct dw_abbrevs *t;   /* NULL: it could not be parsed, not tried again */
};

struct sym_dw {
	Dwarf_Debug dbg;        /* NULL until the fallback needs it */
	int dbg_tried;
	char *path;
	struct dw_secs s;
	int fast;               /* units were indexed by the fast reader */
	struct sym_strtab *st;
	struct cu *cus;
	size_t ncus;
	struct urange *ur;
	size_t nur, urcap;
	int has_lines;
	struct name_slot *names;   /* abstract origin offset -> raw name */
	size_t nnames, names_cap;
	struct dem_slot *dems;     /* raw name -> demangled, interned */
	size_t ndems, dems_cap;
	/* Scratch arrays a unit is collected into, reused from unit to unit
	 * while they stay small against the budget: each unit then costs one
	 * exact allocation instead of a chain of reallocs (which musl serves
	 * with mmap/mremap/munmap). */
	struct subrec *ssubs;
	struct inlrec *sinls;
	struct faddr *sfaddrs;
	struct iaddr *siaddrs;
	size_t sscap, sicap, sfacap, siacap;
	void *stmp;
	size_t stmpcap;
	uint32_t *sdruns;
	size_t sdrcap;
	struct sym_rows_buf srows;      /* a line table's rows (dw_lines_load) */
	/* Abbreviation tables by what they decode from: units of one
	 * producer share a few (299 units, 57 tables on the demo app), so each
	 * is parsed once and kept while the reader is open. Their size is a
	 * small multiple of .debug_abbrev's, outside the units' budget. */
	struct ab_slot *abs;
	size_t nabs, abs_cap;
	int pages_pending;      /* section pages touched since the last release */
	size_t split_units;     /* skeleton units: their DWARF is in .dwo/.dwp files */
	size_t loaded_bytes;    /* unit bytes loaded since */
};

/* ---- Memory: units in least-recently-used order ------------------------- */

/* Every unit holding memory (tables, line table or abbreviations), of all
 * open readers, is on one list, most recently used first. Past the budget
 * the least recently used are dropped (unit_evict) and rebuilt when an
 * address needs them again. Eviction happens only where nothing points into
 * another unit's tables (unit_load, the end of sym_dw_resolve): frames
 * handed out hold interned strings, never pointers into a unit. */
static struct {
	size_t budget;          /* 0: no bound */
	size_t bytes;           /* held by listed units */
	size_t units;           /* listed units */
	struct cu *mru, *lru;
	uint64_t evictions;     /* units dropped to stay within the budget */
	uint64_t epoch;         /* advanced by sym_table_age */
	uint64_t aged;          /* units dropped by it */
} g_units = { SYM_TABLE_BUDGET_DEFAULT, 0, 0, NULL, NULL, 0, 0, 0 };

void sym_set_table_budget(size_t bytes)
{
	g_units.budget = bytes;
}

size_t sym_table_bytes(void)
{
	return g_units.bytes;
}

size_t sym_table_units(void)
{
	return g_units.units;
}

uint64_t sym_table_evictions(void)
{
	return g_units.evictions;
}

uint64_t sym_table_aged(void)
{
	return g_units.aged;
}

static void lru_unlink(struct cu *cu)
{
	if (!cu->listed)
		return;
	if (cu->newer)
		cu->newer->older = cu->older;
	else
		g_units.mru = cu->older;
	if (cu->older)
		cu->older->newer = cu->newer;
	else
		g_units.lru = cu->newer;
	cu->newer = cu->older = NULL;
	cu->listed = 0;
	g_units.bytes -= cu->bytes;
	g_units.units--;
	cu->bytes = 0;
}

/* Makes cu the most recently used unit. */
static void lru_touch(struct cu *cu)
{
	cu->used_epoch = g_units.epoch;
	if (g_units.mru == cu)
		return;
	if (cu->listed) {
		/* Unlink without touching the accounting. */
		cu->newer->older = cu->older;
		if (cu->older)
			cu->older->newer = cu->newer;
		else
			g_units.lru = cu->newer;
	} else {
		cu->listed = 1;
		g_units.units++;
	}
	cu->newer = NULL;
	cu->older = g_units.mru;
	if (g_units.mru)
		g_units.mru->newer = cu;
	g_units.mru = cu;
	if (!g_units.lru)
		g_units.lru = cu;
}

static size_t lines_bytes(const struct sym_lines *l)
{
	return l->nrows * sizeof(*l->rows) + l->nseqs * sizeof(*l->seqs) +
	       l->nfiles * sizeof(*l->files);
}

/* Recounts what cu holds and lists it as the most recently used (or
 * unlists it when it holds nothing). */
static void unit_account(struct cu *cu)
{
	size_t bytes = lines_bytes(&cu->lines);
	if (cu->tables)
		bytes += (size_t)((const char *)(cu->druns + cu->ndruns) - (const char *)cu->tables);
	if (bytes == 0 && !cu->tables && cu->lines_state == 0) {
		lru_unlink(cu);
		return;
	}
	lru_touch(cu);
	g_units.bytes = g_units.bytes - cu->bytes + bytes;
	cu->bytes = bytes;
}

static void unit_free(struct cu *cu);

/* Drops everything cu holds; a loaded unit becomes unloaded, to be
 * rebuilt on its next use. */
static void unit_evict(struct cu *cu)
{
	unit_free(cu);
	if (cu->state == 1)
		cu->state = 0;
	lru_unlink(cu);
}

/* Evicts least recently used units, keep aside, until the budget holds. */
static void units_trim(const struct cu *keep)
{
	struct cu *c = g_units.lru;
	while (g_units.budget && g_units.bytes > g_units.budget && c) {
		struct cu *next = c->newer;
		if (c != keep) {
			unit_evict(c);
			g_units.evictions++;
		}
		c = next;
	}
}

size_t sym_table_age(unsigned keep, size_t max_bytes)
{
	size_t before = g_units.bytes;

	g_units.epoch++;
	/* Least recently used first: the idle ones are all at that end. */
	for (struct cu *c = g_units.lru; c && g_units.epoch - c->used_epoch > keep;) {
		struct cu *next = c->newer;
		if (c->bytes <= max_bytes) {
			unit_evict(c);
			g_units.aged++;
		}
		c = next;
	}
	return before - g_units.bytes;
}

/* ---- libdwarf, the fallback ----------------------------------------------- */

/* Opens libdwarf on first need. NULL when it cannot read the file, or when
 * hud's reader found sections libdwarf 20210528 would trip over: it parses
 * every .debug_rnglists header when it first loads .debug_info, and a
 * damaged one makes it free memory twice (found by fuzz_sym). */
static Dwarf_Debug dbg_of(struct sym_dw *d)
{
	if (d->dbg_tried)
		return d->dbg;
	d->dbg_tried = 1;
	if (d->s.little && dw_rnglists_sane(&d->s) != 0)
		return NULL;
	Dwarf_Error derr = NULL;
	/* Every libdwarf object is deallocated explicitly here, so its global
	 * tracking of allocations (a hash insert per DIE) is not needed. */
	dwarf_set_de_alloc_flag(0);
	if (dwarf_init_path(d->path, NULL, 0, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL,
			    &d->dbg, NULL, 0, NULL, &derr) != DW_DLV_OK) {
		if (derr)
			dwarf_dealloc_error(NULL, derr);
		d->dbg = NULL;
	}
	return d->dbg;
}

Dwarf_Debug sym_dw_libdwarf(struct sym_dw *d)
{
	return dbg_of(d);
}

static struct cu *cu_of_offset(struct sym_dw *d, uint64_t off);
static int unit_abbrevs(struct sym_dw *d, struct cu *cu);

int sym_dw_unit_at(struct sym_dw *d, uint64_t off, const struct dw_secs **s, const struct dw_unit **u,
		   const struct dw_abbrevs **ab, const char **name)
{
	struct cu *cu = d->fast ? cu_of_offset(d, off) : NULL;

	if (!cu || cu->slow || unit_abbrevs(d, cu) != 0)
		return -1;
	*s = &d->s;
	*u = &cu->u;
	*ab = cu->ab;
	*name = cu->name;
	return 0;
}

size_t sym_dw_units(const struct sym_dw *d)
{
	return d->ncus;
}

uint64_t sym_dw_unit_die(const struct sym_dw *d, size_t i)
{
	return i < d->ncus ? d->cus[i].off : 0;
}

/* ---- Names -------------------------------------------------------------- */

static struct name_slot *name_slot(struct sym_dw *d, Dwarf_Off off, int insert)
{
	if (insert && (d->nnames + 1) * 2 > d->names_cap) {
		size_t ncap = d->names_cap ? d->names_cap * 2 : 1024;
		struct name_slot *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < d->names_cap; i++) {
			uint64_t o = od_origin(d->names[i].od);
			if (!o)
				continue;
			size_t j = (o * 0x9e3779b97f4a7c15ull >> 17) & (ncap - 1);
			while (n[j].od)
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
	for (; d->names[j].od; j = (j + 1) & (d->names_cap - 1))
		if (od_origin(d->names[j].od) == off)
			return &d->names[j];
	if (!insert || off > FN_ORIGIN_MASK)
		return NULL;
	d->names[j].od = off;
	d->names[j].name = NULL;
	d->nnames++;
	return &d->names[j];
}

/* The raw name of the DIE at off: its linkage name, else its DW_AT_name, else
 * the name of what it refers to (as the reference's name_entry); and in
 * *decl_line its DW_AT_decl_line, else that of what it refers to (0 none). */
static const char *name_entry(struct sym_dw *d, Dwarf_Off off, int hops, uint32_t *decl_line)
{
	*decl_line = 0;
	if (hops == 0 || off == 0)
		return NULL;
	struct name_slot *slot = name_slot(d, off, 0);
	if (slot) {
		*decl_line = od_decl(slot->od);
		return slot->name;
	}
	const char *name = NULL, *next_name = NULL;
	uint64_t own_decl = 0, origin = 0;
	struct cu *cu = d->fast ? cu_of_offset(d, off) : NULL;
	if (cu && !cu->slow && unit_abbrevs(d, cu) == 0) {
		struct dw_die die;
		if (dw_read_die(&d->s, &cu->u, cu->ab, off, 0, &die) == 0 && !die.null) {
			name = die.linkage ? die.linkage : die.name;
			own_decl = die.decl_line;
			origin = die.has_origin && die.origin != off ? die.origin : 0;
		}
	} else if (dbg_of(d)) {
		Dwarf_Error err = NULL;
		Dwarf_Die die = NULL;
		if (dwarf_offdie_b(d->dbg, off, 1, &die, &err) != DW_DLV_OK) {
			sym_drop_err(d->dbg, &err);
			return NULL;
		}
		struct sym_attrs a;
		if (sym_attrs_read(d->dbg, die, &a) == 0) {
			name = a.linkage ? a.linkage : a.name;
			own_decl = a.decl_line;
			origin = a.has_origin && a.origin != off ? a.origin : 0;
		}
		sym_attrs_free(d->dbg, &a);
		dwarf_dealloc_die(die);
	} else {
		return NULL;
	}
	/* The name from the first DIE along the chain that has one, the
	 * declaration's line likewise (a concrete instance has neither). */
	uint32_t next_decl = 0;
	if (origin && (!name || !own_decl))
		next_name = name_entry(d, origin, hops - 1, &next_decl);
	if (!name)
		name = next_name;
	*decl_line = own_decl && own_decl <= UINT32_MAX ? (uint32_t)own_decl : next_decl;
	slot = name_slot(d, off, 1);
	if (slot) {
		slot->name = name;
		slot->od = fn_pack(off, *decl_line);
	}
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

static const char *demangled(struct sym_dw *d, const char *raw)
{
	if (d->ndems * 2 >= d->dems_cap) {
		size_t ncap = d->dems_cap ? d->dems_cap * 2 : 1024;
		struct dem_slot *n = calloc(ncap, sizeof(*n));
		if (!n)
			return sym_intern_demangled(d->st, raw);
		for (size_t i = 0; i < d->dems_cap; i++) {
			if (!d->dems[i].raw)
				continue;
			size_t j = ((uintptr_t)d->dems[i].raw * 0x9e3779b97f4a7c15ull >> 20) & (ncap - 1);
			while (n[j].raw)
				j = (j + 1) & (ncap - 1);
			n[j] = d->dems[i];
		}
		free(d->dems);
		d->dems = n;
		d->dems_cap = ncap;
	}
	size_t j = ((uintptr_t)raw * 0x9e3779b97f4a7c15ull >> 20) & (d->dems_cap - 1);
	for (; d->dems[j].raw; j = (j + 1) & (d->dems_cap - 1))
		if (d->dems[j].raw == raw)
			return d->dems[j].dem;
	const char *dem = sym_intern_demangled(d->st, raw);
	if (dem) {
		d->dems[j] = (struct dem_slot){ raw, dem };
		d->ndems++;
	}
	return dem;
}

/* Stands for "computed, no name" in a record's resolved name. */
static const char NAMELESS[] = "??";

/* The demangled name of a function record; *resolved caches it. Its
 * declaration's line (od_decl) is completed from the origin at the same
 * time. */
static const char *fn_name(struct sym_dw *d, const struct cu *cu, struct fname *nm,
			   const char **resolved)
{
	if (*resolved)
		return *resolved;
	const char *raw = nm->name;
	if (od_origin(nm->od)) {
		uint32_t decl;
		const char *o = name_entry(d, od_origin(nm->od), NAME_HOPS, &decl);
		if (o)
			raw = o;
		if (!od_decl(nm->od))
			nm->od = fn_pack(od_origin(nm->od), decl);
	}
	const char *name = NULL;
	if (raw)
		name = demangles(cu->lang) ? demangled(d, raw) : sym_intern(d->st, raw, strlen(raw));
	*resolved = name ? name : NAMELESS;
	return *resolved;
}

/* The reference's choice among a DIE's names, as a struct fname. */
static struct fname fname_of(const char *linkage, const char *name, int name_first,
			     int has_origin, uint64_t origin, uint64_t decl_line)
{
	if (linkage)
		return (struct fname){ linkage, fn_pack(0, decl_line) };
	if (name && name_first)
		return (struct fname){ name, fn_pack(0, decl_line) };
	if (has_origin)
		return (struct fname){ name, fn_pack(origin, decl_line) };
	return (struct fname){ name, fn_pack(0, decl_line) };
}

/* ---- Loading one unit --------------------------------------------------- */

/* A walk collects into the reader's scratch arrays; indices are the
 * counts here. */
struct loader {
	struct sym_dw *d;
	struct cu *cu;
	size_t nsubs, ninls, nfaddrs, niaddrs;
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
	struct sym_dw *d = L->d;
	struct faddr *n = grow(d->sfaddrs, &d->sfacap, L->nfaddrs + 1, sizeof(*n));
	if (!n)
		return -1;
	d->sfaddrs = n;
	n[L->nfaddrs] = (struct faddr){ .lo = lo, .hi = hi, .fn = (uint32_t)L->nsubs,
					.seq = (uint32_t)L->nfaddrs };
	L->nfaddrs++;
	return 0;
}

static int add_iaddr(void *ctx, uint64_t lo, uint64_t hi)
{
	struct loader *L = ctx;
	struct sym_dw *d = L->d;
	struct iaddr *n = grow(d->siaddrs, &d->siacap, L->niaddrs + 1, sizeof(*n));
	if (!n)
		return -1;
	d->siaddrs = n;
	n[L->niaddrs] = (struct iaddr){ .lo = lo, .hi = hi, .owner = L->cur_fn, .depth = L->cur_depth,
					.fn = (uint32_t)L->ninls, .seq = (uint32_t)L->niaddrs };
	L->niaddrs++;
	return 0;
}

static int push_sub(struct loader *L, struct fname nm)
{
	struct sym_dw *d = L->d;
	struct subrec *n = grow(d->ssubs, &d->sscap, L->nsubs + 1, sizeof(*n));
	if (!n)
		return -1;
	d->ssubs = n;
	n[L->nsubs++] = (struct subrec){ .nm = nm };
	return 0;
}

static int push_inl(struct loader *L, struct fname nm, uint64_t call_file, uint64_t call_line)
{
	struct sym_dw *d = L->d;
	struct inlrec *n = grow(d->sinls, &d->sicap, L->ninls + 1, sizeof(*n));
	if (!n)
		return -1;
	d->sinls = n;
	n[L->ninls++] = (struct inlrec){
		.nm = nm,
		.call_file = call_file > UINT32_MAX ? 0 : (uint32_t)call_file,
		.call_line = call_line > UINT32_MAX ? 0 : (uint32_t)call_line,
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
			self = (int64_t)L->nsubs;
			ret = push_sub(L, fname_of(a.linkage, a.name, a.name_first, a.has_origin, a.origin, a.decl_line));
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
			ret = push_inl(L, fname_of(a.linkage, a.name, a.name_first, a.has_origin, a.origin, a.decl_line),
				       a.call_file, a.call_line);
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

/* A merge sort with the comparison inlined: qsort's indirect calls (and
 * musl's smoothsort) were a twentieth of a cold run. seq makes every key
 * unique, so the order is the one any sort gives. Runs already in order,
 * the common case (DIEs come in address order), cost one pass. tmp holds n
 * elements. */
#define DEFINE_MSORT(fname, T, LESS) \
static void fname(T *v, size_t n, T *tmp) \
{ \
	size_t i; \
	for (i = 1; i < n && !(LESS((&v[i]), (&v[i - 1]))); i++) \
		; \
	if (i >= n) \
		return; \
	T *src = v, *dst = tmp; \
	for (size_t w = 1; w < n; w *= 2) { \
		for (size_t lo = 0; lo < n; lo += 2 * w) { \
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n; \
			size_t a = lo, b = mid, o = lo; \
			while (a < mid && b < hi) \
				dst[o++] = LESS((&src[b]), (&src[a])) ? src[b++] : src[a++]; \
			while (a < mid) \
				dst[o++] = src[a++]; \
			while (b < hi) \
				dst[o++] = src[b++]; \
		} \
		T *t = src; src = dst; dst = t; \
	} \
	if (src != v) \
		memcpy(v, src, n * sizeof(*v)); \
}

#define FADDR_LESS(x, y) ((x)->lo != (y)->lo ? (x)->lo < (y)->lo : (x)->seq < (y)->seq)
/* Per function, by depth then start: then the range at one depth is found
 * by binary search (the reference's "breadth-first" order). */
#define IADDR_LESS(x, y) ((x)->owner != (y)->owner ? (x)->owner < (y)->owner : \
			  (x)->depth != (y)->depth ? (x)->depth < (y)->depth : \
			  (x)->lo != (y)->lo ? (x)->lo < (y)->lo : (x)->seq < (y)->seq)
DEFINE_MSORT(sort_faddrs, struct faddr, FADDR_LESS)
DEFINE_MSORT(sort_iaddrs, struct iaddr, IADDR_LESS)

/* One function's inline ranges (one owner) into IADDR_LESS order: a
 * stable count by depth, then each depth's run by start, which is mostly
 * in order already (the walk meets them in the order of the source). */
static void sort_owner_iaddrs(struct iaddr *v, size_t n, struct iaddr *tmp)
{
	uint32_t maxd = 0;
	size_t i;
	for (i = 1; i < n && !IADDR_LESS((&v[i]), (&v[i - 1])); i++)
		;
	if (i >= n)
		return;
	for (i = 0; i < n; i++)
		if (v[i].depth > maxd)
			maxd = v[i].depth;
	if (maxd >= 64) {
		sort_iaddrs(v, n, tmp);
		return;
	}
	size_t at[65] = { 0 };
	for (i = 0; i < n; i++)
		at[v[i].depth + 1]++;
	for (uint32_t dd = 1; dd <= maxd; dd++)
		at[dd] += at[dd - 1];
	for (i = 0; i < n; i++)
		tmp[at[v[i].depth]++] = v[i];
	memcpy(v, tmp, n * sizeof(*v));
	for (i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && v[j].depth == v[i].depth)
			j++;
		sort_iaddrs(v + i, j - i, tmp);
		i = j;
	}
}

/* The walk adds a function's inline ranges while it is in that function,
 * so they come grouped by owner, the first key, with depths interleaved:
 * then each group is sorted on its own (sort_owner_iaddrs). Out of owner
 * order (a function nested in another), all at once. */
static void sort_iaddrs_grouped(struct iaddr *v, size_t n, struct iaddr *tmp)
{
	for (size_t i = 1; i < n; i++)
		if (v[i].owner < v[i - 1].owner) {
			sort_iaddrs(v, n, tmp);
			return;
		}
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && v[j].owner == v[i].owner)
			j++;
		sort_owner_iaddrs(v + i, j - i, tmp);
		i = j;
	}
}

/* Frees the unit's tables and line table (not its abbreviations), and
 * recounts it. */
static void unit_free(struct cu *cu)
{
	sym_lines_free(&cu->lines);
	free(cu->tables);
	cu->tables = NULL;
	cu->subs = NULL;
	cu->inls = NULL;
	cu->faddrs = NULL;
	cu->ilo = cu->ihi = NULL;
	cu->ifn = cu->druns = NULL;
	cu->nsubs = cu->ninls = cu->nfaddrs = cu->niaddrs = cu->ndruns = 0;
	cu->lines_state = 0;
	if (cu->listed)
		unit_account(cu);
}

/* The unit's line table through libdwarf; die is its unit DIE. */
static int unit_lines(struct sym_dw *d, struct cu *cu, Dwarf_Die die)
{
	if (cu->lines_state == 0)
		cu->lines_state = sym_lines_load(d->dbg, die, cu->comp_dir, cu->name, d->st, &cu->lines) < 0 ? -1 : 1;
	return cu->lines_state;
}

/* The unit's line table through the fast reader, else libdwarf. */
static int unit_lines_fast(struct sym_dw *d, struct cu *cu)
{
	if (cu->lines_state != 0)
		return cu->lines_state;
	if (!cu->has_stmt)
		return cu->lines_state = 1;     /* no table: nothing to know */
	if (dw_lines_load(&d->s, &cu->u, cu->stmt_list, cu->comp_dir, cu->name, d->st, &cu->lines, &d->srows) > 0)
		return cu->lines_state = 1;
	Dwarf_Debug dbg = dbg_of(d);
	Dwarf_Error err = NULL;
	Dwarf_Die die = NULL;
	if (!dbg || dwarf_offdie_b(dbg, cu->off, 1, &die, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return cu->lines_state = -1;
	}
	int r = unit_lines(d, cu, die);
	dwarf_dealloc_die(die);
	return r;
}

/* The abbreviation table of unit u, parsed on first need and shared with
 * every unit using the same one. NULL when it cannot be parsed (damaged,
 * an unknown form) or out of memory. */
static struct dw_abbrevs *abbrevs_of(struct sym_dw *d, const struct dw_unit *u)
{
	if ((d->nabs + 1) * 2 > d->abs_cap) {
		size_t ncap = d->abs_cap ? d->abs_cap * 2 : 64;
		struct ab_slot *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < d->abs_cap; i++) {
			if (!d->abs[i].used)
				continue;
			size_t j = (d->abs[i].off * 0x9e3779b97f4a7c15ull >> 20) & (ncap - 1);
			while (n[j].used)
				j = (j + 1) & (ncap - 1);
			n[j] = d->abs[i];
		}
		free(d->abs);
		d->abs = n;
		d->abs_cap = ncap;
	}
	size_t j = (u->abbrev_off * 0x9e3779b97f4a7c15ull >> 20) & (d->abs_cap - 1);
	for (; d->abs[j].used; j = (j + 1) & (d->abs_cap - 1)) {
		struct ab_slot *a = &d->abs[j];
		if (a->off == u->abbrev_off && a->version == u->version &&
		    a->addr_size == u->addr_size && a->off_size == u->off_size)
			return a->t;
	}
	struct dw_abbrevs *t = dw_abbrevs_load(&d->s, u);
	d->abs[j] = (struct ab_slot){ .off = u->abbrev_off, .version = u->version,
				      .addr_size = u->addr_size, .off_size = u->off_size,
				      .used = 1, .t = t };
	d->nabs++;
	return t;
}

static int unit_abbrevs(struct sym_dw *d, struct cu *cu)
{
	if (!cu->ab)
		cu->ab = abbrevs_of(d, &cu->u);
	return cu->ab ? 0 : -1;
}

/* The unit holding .debug_info offset off (fast path), NULL if none. */
static struct cu *cu_of_offset(struct sym_dw *d, uint64_t off)
{
	size_t lo = 0, hi = d->ncus;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->cus[mid].u.hdr_off <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct cu *cu = &d->cus[lo - 1];
	return off >= cu->u.die_off && off < cu->u.end ? cu : NULL;
}

/* The fast reader's walk over a unit's DIE tree, in file order with an
 * explicit stack (the same choices as walk()/visit() below): subtrees that
 * hold no code are stepped over, through DW_AT_sibling when the producer
 * gave one. Returns 0, or -1 on damage or an unknown form. Every step moves
 * forward in the unit, so it ends on any input. */
static int walk_fast(struct sym_dw *d, struct cu *cu, struct loader *Lp)
{
	struct level {
		int64_t fn;
		uint32_t depth;
	} stack[MAX_DIE_NESTING + 1];
	const struct dw_secs *s = &d->s;
	struct dw_unit *u = &cu->u;
	struct loader *L = Lp;
	const struct dw_abbrev *a;
	uint64_t off = dw_skip_die(s, u, cu->ab, u->die_off, &a);
	if (!off || !a)
		return -1;
	if (!a->children)
		return 0;
	int level = 0;
	uint64_t skipping = 0;  /* > 0: inside a subtree not walked, its depth */
	stack[0] = (struct level){ -1, 0 };
	while (off < u->end) {
		struct dw_cur c = { s->info.p + off, s->info.p + u->end, 0 };
		uint64_t code = dw_uleb(&c);
		if (c.bad)
			return -1;
		if (code == 0) {
			off = (uint64_t)(c.p - s->info.p);
			if (skipping)
				skipping--;
			else if (level-- == 0)
				return 0;
			continue;
		}
		a = dw_abbrev_find(cu->ab, code);
		if (!a)
			return -1;
		struct level *lv = &stack[level];
		int tag = a->tag;
		int wanted = !skipping && (tag == DW_TAG_subprogram ||
					   (tag == DW_TAG_inlined_subroutine && lv->fn >= 0));
		if (!wanted) {
			int descend = !skipping && !leaf_tag((Dwarf_Half)tag);
			uint64_t next;
			if (!descend && a->children && a->interesting) {
				/* Jump over the whole subtree when it says where it ends. */
				struct dw_die die;
				if (dw_read_die(s, u, cu->ab, off, 0, &die) != 0)
					return -1;
				if (die.has_sibling && die.sibling > off && die.sibling <= u->end) {
					off = die.sibling;
					continue;
				}
				next = die.next;
			} else {
				next = dw_skip_die(s, u, cu->ab, off, &a);
				if (!next)
					return -1;
			}
			off = next;
			if (a->children) {
				if (descend && level < MAX_DIE_NESTING)
					stack[++level] = *lv;
				else
					skipping++;
			}
			continue;
		}
		struct dw_die die;
		int added, ret;
		if (dw_read_die(s, u, cu->ab, off, 0, &die) != 0)
			return -1;
		off = die.next;
		struct level child;
		if (tag == DW_TAG_subprogram) {
			/* Every subprogram with code is a function, nested ones
			 * too; its inlined children belong to it alone. */
			ret = dw_for_each_range(s, u, &die, add_faddr, L, &added);
			int64_t self = -1;
			if (ret == 0 && added) {
				self = (int64_t)L->nsubs;
				ret = push_sub(L, fname_of(die.linkage, die.name, die.name_first,
							   die.has_origin, die.origin, die.decl_line));
			}
			child = (struct level){ self, 0 };
		} else {
			L->cur_fn = (uint32_t)lv->fn;
			L->cur_depth = lv->depth;
			ret = dw_for_each_range(s, u, &die, add_iaddr, L, &added);
			if (ret == 0)
				ret = push_inl(L, fname_of(die.linkage, die.name, die.name_first,
							   die.has_origin, die.origin, die.decl_line),
					       die.call_file, die.call_line);
			child = (struct level){ lv->fn, lv->depth + 1 };
		}
		if (ret)
			return -1;
		if (a->children) {
			if (level < MAX_DIE_NESTING)
				stack[++level] = child;
			else
				skipping++;
		}
	}
	return 0;   /* the unit ended without closing every level: keep what was read */
}

static void load_begin(struct sym_dw *d, struct cu *cu, struct loader *L)
{
	*L = (struct loader){ .d = d, .cu = cu };
}

static size_t scratch_bytes(const struct sym_dw *d)
{
	return d->sscap * sizeof(*d->ssubs) + d->sicap * sizeof(*d->sinls) +
	       d->sfacap * sizeof(*d->sfaddrs) + d->siacap * sizeof(*d->siaddrs) +
	       d->stmpcap + d->sdrcap * sizeof(*d->sdruns) + d->srows.cap * sizeof(*d->srows.rows);
}

static void scratch_free(struct sym_dw *d)
{
	free(d->ssubs);
	free(d->sinls);
	free(d->sfaddrs);
	free(d->siaddrs);
	free(d->stmp);
	free(d->sdruns);
	free(d->srows.rows);
	d->srows = (struct sym_rows_buf){ 0 };
	d->ssubs = NULL;
	d->sinls = NULL;
	d->sfaddrs = NULL;
	d->siaddrs = NULL;
	d->stmp = NULL;
	d->sdruns = NULL;
	d->sscap = d->sicap = d->sfacap = d->siacap = d->stmpcap = d->sdrcap = 0;
}

/* Where each array of a unit's block starts. */
struct layout {
	size_t subs, inls, faddrs, ilo, ihi, ifn, druns, end;
};

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Sorts what the walk collected, links each subprogram to its inline
 * ranges split by depth, and gives the unit its tables in one block.
 * Returns 0, or -1 (unit left empty) when !ok or out of memory. */
static int load_end(struct sym_dw *d, struct cu *cu, struct loader *L, int ok)
{
	if (!ok)
		return -1;
	size_t need = L->nfaddrs * sizeof(struct faddr);
	if (L->niaddrs * sizeof(struct iaddr) > need)
		need = L->niaddrs * sizeof(struct iaddr);
	if (need > d->stmpcap) {
		void *t = realloc(d->stmp, need);
		if (!t)
			return -1;
		d->stmp = t;
		d->stmpcap = need;
	}
	sort_faddrs(d->sfaddrs, L->nfaddrs, d->stmp);
	sort_iaddrs_grouped(d->siaddrs, L->niaddrs, d->stmp);
	/* Depth runs: druns[d] is where depth d starts, druns[d+1] where it
	 * ends, relative to the function's first inline range. Only the
	 * depths a chain can reach are kept. */
	const struct iaddr *ia = d->siaddrs;
	size_t ndruns = 0;
	for (size_t i = 0; i < L->niaddrs;) {
		size_t j = i;
		while (j < L->niaddrs && ia[j].owner == ia[i].owner)
			j++;
		struct subrec *f = &d->ssubs[ia[i].owner];
		f->inl_first = (uint32_t)i;
		f->inl_count = (uint32_t)(j - i);
		uint32_t maxd = ia[j - 1].depth;
		uint32_t nd = maxd + 1 < SYM_MAX_FRAMES ? maxd + 1 : SYM_MAX_FRAMES;
		uint32_t *r = grow(d->sdruns, &d->sdrcap, ndruns + nd + 1, sizeof(*r));
		if (!r)
			return -1;
		d->sdruns = r;
		f->drun_first = (uint32_t)ndruns;
		f->ndepth = nd;
		size_t k = i;
		for (uint32_t dd = 0; dd <= nd; dd++) {
			while (k < j && ia[k].depth < dd)
				k++;
			r[ndruns++] = (uint32_t)(k - i);
		}
		i = j;
	}
	struct layout lay;
	lay.subs = 0;
	lay.inls = align8(lay.subs + L->nsubs * sizeof(struct subrec));
	lay.faddrs = align8(lay.inls + L->ninls * sizeof(struct inlrec));
	lay.ilo = align8(lay.faddrs + L->nfaddrs * sizeof(struct faddr));
	lay.ihi = lay.ilo + L->niaddrs * sizeof(uint64_t);
	lay.ifn = lay.ihi + L->niaddrs * sizeof(uint64_t);
	lay.druns = lay.ifn + L->niaddrs * sizeof(uint32_t);
	lay.end = lay.druns + ndruns * sizeof(uint32_t);
	char *t = malloc(lay.end ? lay.end : 1);
	if (!t)
		return -1;
	cu->tables = t;
	cu->subs = (struct subrec *)(void *)(t + lay.subs);
	cu->inls = (struct inlrec *)(void *)(t + lay.inls);
	cu->faddrs = (struct faddr *)(void *)(t + lay.faddrs);
	cu->ilo = (uint64_t *)(void *)(t + lay.ilo);
	cu->ihi = (uint64_t *)(void *)(t + lay.ihi);
	cu->ifn = (uint32_t *)(void *)(t + lay.ifn);
	cu->druns = (uint32_t *)(void *)(t + lay.druns);
	cu->nsubs = L->nsubs;
	cu->ninls = L->ninls;
	cu->nfaddrs = L->nfaddrs;
	cu->niaddrs = L->niaddrs;
	cu->ndruns = ndruns;
	if (L->nsubs)
		memcpy(cu->subs, d->ssubs, L->nsubs * sizeof(struct subrec));
	if (L->ninls)
		memcpy(cu->inls, d->sinls, L->ninls * sizeof(struct inlrec));
	if (L->nfaddrs)
		memcpy(cu->faddrs, d->sfaddrs, L->nfaddrs * sizeof(struct faddr));
	for (size_t i = 0; i < L->niaddrs; i++) {
		cu->ilo[i] = ia[i].lo;
		cu->ihi[i] = ia[i].hi;
		cu->ifn[i] = ia[i].fn;
	}
	if (ndruns)
		memcpy(cu->druns, d->sdruns, ndruns * sizeof(uint32_t));
	return 0;
}

/* The section pages touched since the last release leave memory. */
static void pages_release(struct sym_dw *d)
{
	if (d->pages_pending) {
		dw_secs_release(&d->s);
		d->pages_pending = 0;
		d->loaded_bytes = 0;
	}
}

/* After a load: the unit is the most recently used, others are evicted
 * past the budget, and scratch grown past a quarter of the budget is
 * given back. */
static void load_done(struct sym_dw *d, struct cu *cu)
{
	unit_account(cu);
	units_trim(cu);
	if (g_units.budget && scratch_bytes(d) > g_units.budget / 4)
		scratch_free(d);
	/* The walk read the unit's DIEs through the file mapping: under a
	 * budget, those pages leave memory at once, the rest of what it touched
	 * a little later (sym_dw_trim). */
	if (g_units.budget && !cu->slow)
		dw_sect_release(&d->s, &d->s.info, cu->u.hdr_off, cu->u.end - cu->u.hdr_off);
	d->pages_pending = 1;
	d->loaded_bytes += cu->bytes;
	/* The rest when the caller says it is idle (sym_dw_trim), and within
	 * a burst of loads each time units worth an eighth of the budget were
	 * loaded: not after every load, which cost a tenth of a cold --resolve
	 * run in page faults (an eighth: peak 15 MB instead of 22 for 200
	 * addresses of the demo app, no slower). */
	if (g_units.budget && d->loaded_bytes > g_units.budget / 8)
		pages_release(d);
}

void sym_dw_trim(struct sym_dw *d)
{
	scratch_free(d);
	pages_release(d);
}

/* Loads the unit through libdwarf. Returns 1, or -1 on failure. */
static int unit_load_slow(struct sym_dw *d, struct cu *cu)
{
	Dwarf_Debug dbg = dbg_of(d);
	Dwarf_Error err = NULL;
	Dwarf_Die die = NULL;
	cu->state = -1;
	if (!dbg || dwarf_offdie_b(dbg, cu->off, 1, &die, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return -1;
	}
	struct loader L;
	load_begin(d, cu, &L);
	int ok = unit_lines(d, cu, die) >= 0 && walk(&L, die, -1, 0, 0) == 0;
	dwarf_dealloc_die(die);
	if (load_end(d, cu, &L, ok) != 0) {
		unit_free(cu);
		load_done(d, cu);
		return -1;
	}
	cu->state = 1;
	load_done(d, cu);
	return 1;
}

/* Loads the unit's lines and functions. Returns 1, or -1 on failure (then
 * the unit answers nothing, and is not retried). */
static int unit_load(struct sym_dw *d, struct cu *cu)
{
	if (cu->state)
		return cu->state;
	cu->state = -1;
	if (!cu->slow) {
		if (unit_abbrevs(d, cu) == 0 && unit_lines_fast(d, cu) >= 0) {
			struct loader L;
			load_begin(d, cu, &L);
			int ok = walk_fast(d, cu, &L) == 0;
			if (load_end(d, cu, &L, ok) == 0) {
				cu->state = 1;
				load_done(d, cu);
				return 1;
			}
			if (ok) {
				unit_free(cu);
				load_done(d, cu);
				return -1;  /* out of memory: libdwarf would not fare better */
			}
		}
		/* The fast reader declined: libdwarf reads the whole unit. */
		unit_free(cu);
		cu->slow = 1;
	}
	return unit_load_slow(d, cu);
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

/* No ranges declared: the line sequences stand in for them. */
static int ranges_from_lines(struct ur_ctx *c, struct cu *cu)
{
	for (size_t i = 0; i < cu->lines.nseqs; i++)
		if (add_urange(c, cu->lines.seqs[i].start, cu->lines.seqs[i].end) != 0)
			return -1;
	return 0;
}

/* Indexes one unit whose DIE is die (libdwarf). Returns 0, or -1 when out
 * of memory. */
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
	cu->slow = 1;
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
	int ret2 = 0;
	if (!added && unit_lines(d, cu, die) > 0)
		ret2 = ranges_from_lines(&c, cu);
	/* The line table is loaded again with the unit, under the budget. */
	unit_free(cu);
	return ret2;
}

/* The libdwarf index of every unit, when the fast reader declines the file. */
static int index_slow(struct sym_dw *d, size_t *cucap, char *err, size_t errlen)
{
	Dwarf_Error derr = NULL;
	if (!dbg_of(d)) {
		snprintf(err, errlen, "%s: no DWARF debug information libdwarf can read", d->path);
		return -1;
	}
	for (;;) {
		Dwarf_Unsigned hlen, typeoff, next;
		Dwarf_Half version, asize, lsize, esize, utype;
		Dwarf_Off abbrev;
		Dwarf_Sig8 sig;
		Dwarf_Die die = NULL;
		int res = dwarf_next_cu_header_d(d->dbg, 1, &hlen, &version, &abbrev, &asize, &lsize, &esize,
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
		int ret = index_unit(d, die, version, cucap);
		dwarf_dealloc_die(die);
		if (ret != 0) {
			snprintf(err, errlen, "%s: out of memory indexing DWARF", d->path);
			return -1;
		}
	}
	return 0;
}

/* One unit through libdwarf, when the fast reader declines its unit DIE. */
static int index_one_slow(struct sym_dw *d, uint64_t die_off, uint16_t version, size_t *cucap)
{
	Dwarf_Debug dbg = dbg_of(d);
	Dwarf_Error err = NULL;
	Dwarf_Die die = NULL;
	if (!dbg || dwarf_offdie_b(dbg, die_off, 1, &die, &err) != DW_DLV_OK) {
		sym_drop_err(dbg, &err);
		return 0;
	}
	int ret = index_unit(d, die, version, cucap);
	dwarf_dealloc_die(die);
	return ret;
}

/* The fast index: unit headers and unit DIEs straight from .debug_info.
 * Returns 0, or -1 when out of memory. A damaged header ends the walk (its
 * length cannot be trusted to find the next), keeping the units before. */
static int index_fast(struct sym_dw *d, size_t *cucap)
{
	uint64_t off = 0;
	while (off < d->s.info.n) {
		struct dw_unit u;
		if (dw_unit_header(&d->s, off, &u) != 0)
			break;
		off = u.end;
		/* Type units carry no code. */
		if (u.unit_type == DW_UT_type || u.unit_type == DW_UT_split_type)
			continue;
		/* Only the unit DIE's abbreviation is decoded here: the unit's
		 * whole table is parsed when the unit is loaded. */
		const struct dw_abbrevs *ab = NULL;
		struct dw_abbrev1 one;
		struct dw_die die;
		struct dw_cur dc = { d->s.info.p + u.die_off, d->s.info.p + d->s.info.n, 0 };
		uint64_t code = u.die_off < d->s.info.n ? dw_uleb(&dc) : 0;
		int split = u.unit_type == DW_UT_skeleton || u.unit_type == DW_UT_split_compile, read = 0;
		if (split || dc.bad || !code || !(ab = dw_abbrev_one(&d->s, &u, code, &one)) ||
		    !(read = dw_read_die(&d->s, &u, ab, u.die_off, 1, &die) == 0) || die.null || die.split) {
			/* Split DWARF or a form hud does not know: libdwarf's. */
			d->split_units += split || (read && !die.null && die.split);
			if (index_one_slow(d, u.die_off, u.version, cucap) != 0)
				return -1;
			continue;
		}
		if (die.tag == DW_TAG_type_unit)
			continue;
		struct cu *n = grow(d->cus, cucap, d->ncus + 1, sizeof(*n));
		if (!n)
			return -1;
		d->cus = n;
		struct cu *cu = &d->cus[d->ncus];
		memset(cu, 0, sizeof(*cu));
		u.base = die.has_low ? die.low : 0;
		cu->u = u;
		cu->ab = NULL;          /* unit_abbrevs, when the unit loads */
		cu->off = u.die_off;
		cu->base = u.base;
		cu->comp_dir = die.comp_dir;
		cu->name = die.name;
		cu->version = u.version;
		cu->lang = die.lang > UINT16_MAX ? 0 : (uint16_t)die.lang;
		cu->has_stmt = die.has_stmt;
		cu->stmt_list = die.stmt_list;
		d->has_lines |= die.has_stmt;
		struct ur_ctx c = { d, (uint32_t)d->ncus };
		int added;
		/* .debug_aranges is not read: every producer hud targets gives
		 * the unit's ranges in its DIE, and the reference prefers those. */
		if (dw_for_each_range(&d->s, &cu->u, &die, add_urange, &c, &added) != 0)
			return -1;
		d->ncus++;
		int ret = 0;
		if (!added && unit_lines_fast(d, cu) > 0)
			ret = ranges_from_lines(&c, cu);
		unit_free(cu);
		if (ret != 0)
			return -1;
	}
	return 0;
}

struct sym_dw *sym_dw_open(const char *path, Elf *elf, struct sym_strtab *st, char *err, size_t errlen)
{
	struct sym_dw *d = calloc(1, sizeof(*d));
	size_t cucap = 0;
	if (!d || !(d->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(d);
		return NULL;
	}
	d->st = st;
	int loaded = elf && dw_secs_load(elf, &d->s) == 0;
	if (loaded && d->s.relocatable) {
		/* Object files are never mapped by a process; their DWARF needs
		 * relocating, and is left alone (the symbol table answers). */
		snprintf(err, errlen, "%s: relocatable object, DWARF not read", path);
		goto fail;
	}
	if (loaded && d->s.little) {
		d->fast = 1;
		if (index_fast(d, &cucap) != 0) {
			snprintf(err, errlen, "%s: out of memory indexing DWARF", path);
			goto fail;
		}
	} else if (!elf || loaded) {
		/* A file the fast reader cannot take at all (big-endian): all
		 * of it is libdwarf's. When the fast reader could read the
		 * sections and found no unit in them, they are damaged, and
		 * libdwarf is not asked to try harder; without .debug_info
		 * and .debug_abbrev there is nothing for either. */
		if (index_slow(d, &cucap, err, errlen) != 0)
			goto fail;
	}
	if (d->ncus == 0) {
		snprintf(err, errlen, "%s: no DWARF compile units", path);
		goto fail;
	}
	if (d->nur)
		qsort(d->ur, d->nur, sizeof(*d->ur), urange_cmp);
	uint64_t max = 0;
	for (size_t i = 0; i < d->nur; i++) {
		if (d->ur[i].hi > max)
			max = d->ur[i].hi;
		d->ur[i].max_end = max;
	}
	/* Indexing touched every unit's header and DIE. */
	if (d->fast && g_units.budget)
		dw_secs_release(&d->s);
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
		unit_evict(&d->cus[i]);
	free(d->cus);
	free(d->path);
	free(d->ur);
	free(d->names);
	free(d->dems);
	for (size_t i = 0; i < d->abs_cap; i++)
		dw_abbrevs_free(d->abs[i].t);
	free(d->abs);
	scratch_free(d);
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

size_t sym_dw_split_units(struct sym_dw *d)
{
	return d->split_units;
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

static int frames_for_function(struct sym_dw *d, struct cu *cu, struct subrec *f, uint64_t addr,
			       const char *file, uint32_t line, int has_loc,
			       struct sym_frame *out, int max)
{
	/* Outermost first: the inline chain from the function inward. */
	uint32_t chain[SYM_MAX_FRAMES];
	int depth = 0;
	const uint32_t *runs = cu->druns && f->inl_count ? cu->druns + f->drun_first : NULL;
	const uint64_t *ilo = cu->ilo + f->inl_first, *ihi = cu->ihi + f->inl_first;
	const uint32_t *ifn = cu->ifn + f->inl_first;
	/* The reference searches the rest of the function's (depth, lo)-sorted
	 * ranges after the last match with a binary search whose predicate
	 * (depth < want, or depth == want and lo <= addr) is monotone: its
	 * answer is the last range of depth `want` starting at or below addr.
	 * Searching only that depth's run finds the same one, with fewer
	 * probes. */
	while (runs && (uint32_t)depth < f->ndepth && depth < SYM_MAX_FRAMES - 1) {
		size_t lo = runs[depth], hi = runs[depth + 1];
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (ilo[mid] <= addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == runs[depth] || ihi[lo - 1] <= addr)
			break;
		chain[depth++] = ifn[lo - 1];
	}
	/* Innermost first out. Each frame's location is the call site recorded
	 * on the frame inside it; the innermost gets the line table's. */
	int nout = 0;
	const char *cfile = has_loc ? file : NULL;
	uint32_t cline = has_loc ? line : 0;
	for (int i = depth; i >= 0 && nout < max; i--) {
		const char *name;
		uint32_t decl;
		if (i > 0) {
			struct inlrec *in = &cu->inls[chain[i - 1]];
			name = fn_name(d, cu, &in->nm, &in->resolved);
			decl = od_decl(in->nm.od);
		} else {
			name = fn_name(d, cu, &f->nm, &f->resolved);
			decl = od_decl(f->nm.od);
		}
		out[nout++] = (struct sym_frame){
			.function = name,
			.file = cfile ? cfile : "??",
			.line = cline,
			.flags = i > 0 ? SYM_FRAME_INLINED : 0,
			.decl_line = decl,
		};
		if (i > 0) {
			/* File 0 is "no file" to the reference, in every version. */
			const struct inlrec *in = &cu->inls[chain[i - 1]];
			uint32_t cf = in->call_file;
			cfile = cf && cf < cu->lines.nfiles ? cu->lines.files[cf] : NULL;
			cline = in->call_line;
		}
	}
	return nout;
}

/* The answer from the units holding addr; sym_dw_resolve trims after. */
static int resolve_in_units(struct sym_dw *d, uint64_t addr, struct sym_frame *out, int max,
			    struct cu **used)
{
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
		lru_touch(cu);
		*used = cu;
		long k;
#define FN_CMP RANGE_CMP(cu->faddrs[i_], addr)
		RUST_BSEARCH(cu->nfaddrs, FN_CMP, k);
#undef FN_CMP
		const char *file = NULL;
		uint32_t line = 0;
		int has_loc = sym_lines_find(&cu->lines, addr, &file, &line);
		if (k >= 0)
			return frames_for_function(d, cu, &cu->subs[cu->faddrs[k].fn], addr, file, line,
						   has_loc, out, max);
		if (has_loc) {
			out[0] = (struct sym_frame){ .function = NULL, .file = file ? file : "??",
						     .line = line, .flags = 0 };
			return 1;
		}
	}
	return 0;
}

int sym_dw_resolve(struct sym_dw *d, uint64_t addr, struct sym_frame *out, int max)
{
	if (max < 1)
		return 0;
	struct cu *used = NULL;
	int n = resolve_in_units(d, addr, out, max, &used);
	/* Names may have parsed other units' abbreviations: trim now that
	 * nothing points into any unit. */
	if (g_units.budget && g_units.bytes > g_units.budget)
		units_trim(used);
	/* Names read DIEs and strings through the mapping too. */
	d->pages_pending = 1;
	return n;
}
