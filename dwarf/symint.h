/* symint.h — internals shared by the files of dwarf/: the string interner,
 * the DWARF reader behind a sym_file, and the ELF facts procmaps.c needs.
 * Not part of the contract (dwarf.h is); nothing outside dwarf/ includes it. */
#ifndef HUD_SYMINT_H
#define HUD_SYMINT_H

#include <stddef.h>
#include <stdint.h>
#include "dwarf/dwarf.h"

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
	uint64_t call_file, call_line, lang;
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

/* ---- DWARF reader (dwarfinfo.c) ----------------------------------------- */

struct sym_dw;

/* Opens the DWARF of path and indexes its compile units' address ranges.
 * Returns NULL when the file has no usable DWARF (err says why). Names and
 * paths are interned in st, which must outlive the reader. */
struct sym_dw *sym_dw_open(const char *path, struct sym_strtab *st, char *err, size_t errlen);

/* Fills up to max frames for a file virtual address, innermost first, the way
 * the Rust addr2line crate does. Returns the count, 0 when DWARF knows
 * nothing. A frame with function NULL means DWARF had a line but no function
 * (the caller names it from the symbol table). */
int sym_dw_resolve(struct sym_dw *d, uint64_t vaddr, struct sym_frame *out, int max);

/* 1 when some compile unit has a line table. */
int sym_dw_has_lines(struct sym_dw *d);

void sym_dw_close(struct sym_dw *d);

/* ---- ELF facts for procmaps.c (elffile.c) ------------------------------- */

/* Translates a file offset into the file virtual address through the PT_LOAD
 * segment that maps it. Returns 0, or -1 when no segment covers the offset. */
int sym_file_offset_to_vaddr(struct sym_file *f, uint64_t off, uint64_t *vaddr);

/* The interner of f: procmaps.c interns its "lib+0xoff" names there. */
struct sym_strtab *sym_file_strtab(struct sym_file *f);

#endif
