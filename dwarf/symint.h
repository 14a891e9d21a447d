/* symint.h — internals shared by the files of dwarf/: the string interner,
 * the DWARF reader behind a sym_file, and the ELF facts procmaps.c needs.
 * Not part of the contract (dwarf.h is); nothing outside dwarf/ includes it. */
#ifndef HUD_SYMINT_H
#define HUD_SYMINT_H

#include <stddef.h>
#include <stdint.h>
#include "dwarf/dwarf.h"

/* ---- Short copies ------------------------------------------------------- */

#include <string.h>

/* memcpy for the many short pieces the symbolizer copies (names into the
 * output and the demangler's buffer, interned strings): musl's memcpy
 * starts with `rep movsq`, a few dozen cycles each time, and a cold
 * --resolve made 640,000 copies of at most 64 bytes. Up to 32 bytes this
 * moves two overlapping words (or bytes) from each end, reading and writing
 * only [0, n); longer ones go to memcpy. */
static inline void sym_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	uint64_t a, b, c, e;
	uint32_t x, y;
	if (n > 32) {
		memcpy(d, s, n);
	} else if (n >= 16) {
		__builtin_memcpy(&a, s, 8);
		__builtin_memcpy(&b, s + 8, 8);
		__builtin_memcpy(&c, s + n - 16, 8);
		__builtin_memcpy(&e, s + n - 8, 8);
		__builtin_memcpy(d, &a, 8);
		__builtin_memcpy(d + 8, &b, 8);
		__builtin_memcpy(d + n - 16, &c, 8);
		__builtin_memcpy(d + n - 8, &e, 8);
	} else if (n >= 8) {
		__builtin_memcpy(&a, s, 8);
		__builtin_memcpy(&b, s + n - 8, 8);
		__builtin_memcpy(d, &a, 8);
		__builtin_memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		__builtin_memcpy(&x, s, 4);
		__builtin_memcpy(&y, s + n - 4, 4);
		__builtin_memcpy(d, &x, 4);
		__builtin_memcpy(d + n - 4, &y, 4);
	} else if (n > 0) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* ---- String interner (intern.c) ----------------------------------------- */

/* Equal strings share one copy, so frames can hold plain pointers that stay
 * valid until the interner is freed, and repeated names cost nothing. */
struct sym_strtab;

struct sym_strtab *sym_strtab_new(void);
/* Returns the interned copy of s[0..len) (NUL-terminated), NULL when out of
 * memory or when the table reached its size bound. */
const char *sym_intern(struct sym_strtab *t, const char *s, size_t len);
/* Demangles name with sym_demangle and interns the result. */
const char *sym_intern_demangled(struct sym_strtab *t, const char *name);
void sym_strtab_free(struct sym_strtab *t);

/* ---- Line tables (dwarflines.c) ----------------------------------------- */

#include <libdwarf/libdwarf.h>

struct sym_row {
	uint64_t addr;
	uint32_t file;          /* index into sym_lines.files */
	uint32_t line;
};

struct sym_seq {
	uint64_t start, end;
	uint32_t first, count;  /* rows[first .. first+count) */
};

/* One compile unit's line table, flattened: sequences sorted by start, each
 * with its rows sorted by address (as the line program emits them). */
struct sym_lines {
	struct sym_seq *seqs;
	size_t nseqs;
	struct sym_row *rows;
	size_t nrows;
	const char **files;     /* full paths (interned); NULL when unnamed */
	uint32_t nfiles;
};

/* Loads the line table of the compile unit cu_die into out, with file paths
 * joined like the addr2line crate (comp_dir, include directory, name; an
 * absolute part replaces what precedes it). cu_name names file 0 in DWARF 4.
 * Returns 1 when loaded, 0 when the unit has no line table, -1 on a
 * libdwarf error or out of memory. */
int sym_lines_load(Dwarf_Debug dbg, Dwarf_Die cu_die, const char *comp_dir, const char *cu_name,
		   struct sym_strtab *st, struct sym_lines *out);

/* The row for addr: 1 with *file (NULL = unknown) and *line, 0 when none. */
int sym_lines_find(const struct sym_lines *l, uint64_t addr, const char **file, uint32_t *line);

void sym_lines_free(struct sym_lines *l);

/* ---- DIE attributes and ranges (dwarfattr.c) --------------------------- */

/* What hud reads from one DIE, in one pass over its attribute list. */
struct sym_attrs {
	Dwarf_Attribute *list;
	Dwarf_Signed n;
	uint64_t low, high;
	int has_low, has_high, high_is_size;
	Dwarf_Attribute ranges;
	Dwarf_Half ranges_form;
	const char *linkage, *name, *comp_dir;
	Dwarf_Off origin;
	int has_origin, name_first, has_stmt;
	uint64_t call_file, call_line, lang, decl_line;
};

/* Frees a libdwarf error (if any) and clears it. */
void sym_drop_err(Dwarf_Debug dbg, Dwarf_Error *err);

/* Reads die's attributes into a; the list stays alive (a->ranges points
 * into it) until sym_attrs_free. Returns 0, or -1 on a libdwarf error. */
int sym_attrs_read(Dwarf_Debug dbg, Dwarf_Die die, struct sym_attrs *a);
void sym_attrs_free(Dwarf_Debug dbg, struct sym_attrs *a);

typedef int (*sym_range_fn)(void *ctx, uint64_t lo, uint64_t hi);

/* Calls fn for each non-empty range of die (version: its unit's DWARF
 * version; base: the unit's DW_AT_low_pc). Returns fn's first non-zero
 * result, else 0; *added says whether any range was found. */
int sym_for_each_range(Dwarf_Debug dbg, Dwarf_Die die, uint16_t version, uint64_t base,
		       struct sym_attrs *a, sym_range_fn fn, void *ctx, int *added);

/* ---- Raw DWARF reader, the fast path (dwread.c, dwline.c) -------------- */

#include <libelf.h>

/* One section's bytes as libelf maps them (decompressed when needed). */
struct dw_sect {
	const uint8_t *p;
	uint64_t n;
	int terminated;         /* last byte is NUL: every string in it ends */
	uint8_t inflated;       /* decompressed by libelf into the heap */
	uint8_t mapped;         /* in the file's read-only mapping: releasable */
};

struct dw_secs {
	struct dw_sect info, abbrev, str, line_str, line, ranges, rnglists, addr, str_offsets;
	int little, relocatable;
	uintptr_t map_lo, map_hi;  /* the file mapping the sections are in */
};

/* A bounds-checked cursor: reading past end sets bad and yields zeros. */
struct dw_cur {
	const uint8_t *p, *end;
	int bad;
};

uint8_t dw_u8(struct dw_cur *c);
uint64_t dw_uN(struct dw_cur *c, unsigned n);
uint64_t dw_uleb(struct dw_cur *c);
int64_t dw_sleb(struct dw_cur *c);
void dw_skip(struct dw_cur *c, uint64_t n);
const char *dw_cstr(struct dw_cur *c);
const char *dw_str_at(const struct dw_sect *s, uint64_t off);

/* Finds the DWARF sections of elf. Returns 0 when .debug_info and
 * .debug_abbrev are present, -1 otherwise. */
int dw_secs_load(Elf *elf, struct dw_secs *s);

/* Drops the pages of the sections that sit in the file's private read-only
 * mapping from this process's memory (MADV_DONTNEED): they stay in the
 * page cache and are faulted back, unchanged, when read again, so every
 * pointer into them stays valid. Decompressed sections are left alone. */
void dw_secs_release(const struct dw_secs *s);
/* The same for bytes [off, off+n) of section t only. */
void dw_sect_release(const struct dw_secs *s, const struct dw_sect *t, uint64_t off, uint64_t n);

/* A unit header, and the bases its unit DIE sets. */
struct dw_unit {
	uint64_t hdr_off, die_off, end;     /* in .debug_info */
	uint64_t abbrev_off;
	uint64_t str_offsets_base, addr_base, rnglists_base;
	uint64_t base;                      /* DW_AT_low_pc of the unit DIE */
	uint16_t version;
	uint8_t unit_type, addr_size, off_size;
};

/* Reads the unit header at off. Returns 0, or -1 when damaged/unknown. */
int dw_unit_header(const struct dw_secs *s, uint64_t off, struct dw_unit *u);

struct dw_aspec {
	uint16_t name, form;
	int64_t implicit;
};

struct dw_abbrev {
	uint64_t code;
	uint32_t first, nattr;  /* specs[first .. first+nattr) */
	int32_t fixed;          /* bytes of all attributes when constant, else -1 */
	uint16_t tag;
	uint8_t children, interesting;
};

struct dw_abbrevs {
	struct dw_abbrev *v;    /* sorted by code */
	size_t n;
	struct dw_aspec *specs;
	size_t nspecs;
	uint32_t *direct;       /* code -> index+1, when codes are dense */
	size_t ndirect;
};

/* Parses the unit's abbreviation table. NULL when damaged, out of memory,
 * or when it uses a form this reader does not know. */
struct dw_abbrevs *dw_abbrevs_load(const struct dw_secs *s, const struct dw_unit *u);
const struct dw_abbrev *dw_abbrev_find(const struct dw_abbrevs *t, uint64_t code);
void dw_abbrevs_free(struct dw_abbrevs *t);

/* A table holding only the unit's entry for code, built in out without
 * allocating: enough to read one DIE, such as a unit's first when the units
 * are indexed (a file with thousands of units, like libc's, would otherwise
 * parse every table up front). NULL when the code is not in the table, the
 * table is damaged, or the entry has more than DW_ONE_SPECS attributes or a
 * form this reader does not know. */
#define DW_ONE_SPECS 64
struct dw_abbrev1 {
	struct dw_abbrevs t;
	struct dw_abbrev a;
	struct dw_aspec specs[DW_ONE_SPECS];
};
const struct dw_abbrevs *dw_abbrev_one(const struct dw_secs *s, const struct dw_unit *u, uint64_t code,
				       struct dw_abbrev1 *out);

/* What hud reads of one DIE. Strings point into the sections. */
struct dw_die {
	uint64_t next;          /* offset after its attributes */
	uint64_t low, high, ranges, origin, sibling, stmt_list;
	uint64_t call_file, call_line, lang, decl_line;
	uint64_t type, member_at, byte_size;    /* DW_AT_type (a .debug_info offset), a constant
						 * DW_AT_data_member_location, DW_AT_byte_size */
	const char *name, *linkage, *comp_dir;
	uint16_t tag;
	uint8_t children, null, has_low, has_high, high_is_size, has_ranges, ranges_index;
	uint8_t has_origin, name_first, has_stmt, has_sibling, split;
	uint8_t has_type, has_member_at, has_byte_size;
};

/* Reads the DIE at off. is_unit_die: it is the unit's own DIE, whose
 * str_offsets/addr/rnglists bases are stored into u. Returns 0, or -1 when
 * damaged or using an unknown form. */
int dw_read_die(const struct dw_secs *s, struct dw_unit *u, const struct dw_abbrevs *t,
		uint64_t off, int is_unit_die, struct dw_die *d);

/* Steps over the attributes of the DIE at off; returns the offset after
 * them (0 on damage) and its abbreviation in *a (NULL for a null entry). */
uint64_t dw_skip_die(const struct dw_secs *s, const struct dw_unit *u, const struct dw_abbrevs *t,
		     uint64_t off, const struct dw_abbrev **a);

/* Entry idx of .debug_addr for the unit. 0, or -1 when out of bounds. */
int dw_addr_index(const struct dw_secs *s, const struct dw_unit *u, uint64_t idx, uint64_t *out);

/* 0 when every .debug_rnglists header is well formed (or there is none). */
int dw_rnglists_sane(const struct dw_secs *s);

/* Calls fn for each non-empty range of the DIE (u->base is the base of
 * DWARF 4 lists and DWARF 5 offset pairs). As sym_for_each_range. */
int dw_for_each_range(const struct dw_secs *s, const struct dw_unit *u, const struct dw_die *d,
		      sym_range_fn fn, void *ctx, int *added);

/* Rows of a line table while it is decoded, kept by the caller from one
 * table to the next: each table then costs one exact allocation, not a
 * chain of growing ones (which musl serves with mmap and munmap, the pages
 * faulted in afresh each time). Starts zeroed; the caller frees rows. */
struct sym_rows_buf {
	struct sym_row *rows;
	size_t cap;
};

/* Decodes the line program at off of .debug_line into out, like
 * sym_lines_load, its rows collected in buf. Returns 1, or -1 when damaged
 * (the caller may try libdwarf). */
int dw_lines_load(const struct dw_secs *s, const struct dw_unit *u, uint64_t off,
		  const char *comp_dir, const char *cu_name, struct sym_strtab *st,
		  struct sym_lines *out, struct sym_rows_buf *buf);

/* ---- DWARF reader (dwarfinfo.c) ----------------------------------------- */

struct sym_dw;

/* Opens the DWARF of path (elf: the same file as libelf opened it, for the
 * fast reader; NULL leaves everything to libdwarf) and indexes its compile
 * units' address ranges. Returns NULL when the file has no usable DWARF (err says why). Names and
 * paths are interned in st, which must outlive the reader. */
struct sym_dw *sym_dw_open(const char *path, Elf *elf, struct sym_strtab *st, char *err, size_t errlen);

/* Fills up to max frames for a file virtual address, innermost first, the way
 * the Rust addr2line crate does. Returns the count, 0 when DWARF knows
 * nothing. A frame with function NULL means DWARF had a line but no function
 * (the caller names it from the symbol table). */
int sym_dw_resolve(struct sym_dw *d, uint64_t vaddr, struct sym_frame *out, int max);

/* 1 when some compile unit has a line table. */
int sym_dw_has_lines(struct sym_dw *d);
/* Units whose DWARF is in a split file (.dwo, .dwp) hud does not read:
 * only their line table is in the file itself. */
size_t sym_dw_split_units(struct sym_dw *d);

/* Frees the scratch arrays units are collected in, and gives back the
 * pages of the mapped debug sections read since the last call
 * (dw_secs_release). */
void sym_dw_trim(struct sym_dw *d);

void sym_dw_close(struct sym_dw *d);

/* The fast reader's view of the unit holding .debug_info offset off, for
 * dwtypes.c's walk: the sections, the unit's header, its abbreviations
 * and its DW_AT_name (NULL when it has none). 0, or -1 when no unit the
 * fast reader reads holds off (libdwarf's files and units). */
int sym_dw_unit_at(struct sym_dw *d, uint64_t off, const struct dw_secs **s, const struct dw_unit **u,
		   const struct dw_abbrevs **ab, const char **name);

/* The .debug_info offset of unit i's DIE (i < sym_dw_units), for walking
 * the units in order with sym_dw_unit_at. */
size_t sym_dw_units(const struct sym_dw *d);
uint64_t sym_dw_unit_die(const struct sym_dw *d, size_t i);

/* libdwarf's handle on the reader's file, opened on first need; NULL when
 * libdwarf cannot read it or hud declined to ask it (see dbg_of). */
Dwarf_Debug sym_dw_libdwarf(struct sym_dw *d);

/* See sym_file_field_offset (dwtypes.c). */
int sym_dw_field_offset(struct sym_dw *d, const char *const *scope, const char *const *fields, uint64_t *off,
			uint64_t *size);

/* ---- ELF facts for procmaps.c and resolve.c (elffile.c) ------------------ */

/* Translates a file offset into the file virtual address through the PT_LOAD
 * segment that maps it. Returns 0, or -1 when no segment covers the offset. */
int sym_file_offset_to_vaddr(struct sym_file *f, uint64_t off, uint64_t *vaddr);

/* Debug files of f are looked up under root first ("/proc/PID/root": the
 * process's own filesystem), then in hud's. NULL: hud's only. seen_path:
 * where the process sees the file when f was opened by another name (the
 * main executable, through /proc/PID/exe): a .gnu_debuglink file is looked
 * for beside it; NULL when f's path is root followed by it. */
void sym_file_set_root(struct sym_file *f, const char *root, const char *seen_path);

/* The file f's DWARF is read from: a separate debug file when one was
 * found, else f's own path. */
const char *sym_file_debug_path(struct sym_file *f);

/* Reads the GNU build-id of the ELF file at path into out as hex ("" when
 * it has none). Returns 0, or -1 when the file cannot be opened. */
int sym_elf_build_id(const char *path, char *out, size_t outlen);

/* The interner of f: procmaps.c interns its "lib+0xoff" names there. */
struct sym_strtab *sym_file_strtab(struct sym_file *f);

#endif
