/* dwarf.h — names for addresses: a running process's user-space addresses (or an
 * ELF file's virtual addresses) to demangled function names with file:line,
 * inline frames included, from DWARF (libdwarf) and the ELF symbol tables.
 *
 * Contract:
 * - Library code: never exits, never prints; failures return NULL/-1 and fill
 *   the caller's error buffer with one sentence.
 * - Strings returned in struct sym_frame are owned by the object that produced
 *   them and stay valid until it is closed. They are raw bytes from the target
 *   (untrusted): callers sanitise before printing.
 * - Single-threaded. Memory grows with the distinct addresses resolved (names
 *   and frames are kept), never with the number of calls; what is kept per
 *   compile unit is bounded by a budget (sym_set_table_budget). */
#ifndef HUD_DWARF_H
#define HUD_DWARF_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define SYM_MAX_FRAMES 32           /* inline depth kept per address */

#define SYM_FRAME_INLINED   0x01    /* inlined into the next (outer) frame */
#define SYM_FRAME_SYMTAB    0x02    /* name from the ELF symbol table, no DWARF */
#define SYM_FRAME_UNKNOWN   0x04    /* nothing known: function is "??" or "file+0xoff" */
#define SYM_FRAME_MAIN      0x08    /* the address is in the main executable (set by sym_proc_resolve) */

struct sym_frame {
	const char *function;   /* demangled, hash removed; "??" when unknown */
	const char *file;       /* source path as DWARF gives it; "??" when unknown */
	uint32_t line;          /* 0 when unknown */
	uint32_t flags;         /* SYM_FRAME_* */
	uint32_t decl_line;     /* where the function itself is declared (DWARF's
				 * DW_AT_decl_line), 0 when unknown: two closures
				 * or async blocks of one function have one name
				 * and differ here */
};

/* ---- One ELF file ------------------------------------------------------- */

struct sym_file;

/* Opens an ELF file for symbolization. Debug info is loaded lazily.
 * Returns NULL and fills err when the file cannot be read as ELF. */
struct sym_file *sym_file_open(const char *path, char *err, size_t errlen);

/* Resolves a file virtual address (as in the ELF program headers). Fills up to
 * max frames, innermost first (inlined callees before their callers), and
 * returns how many; 0 when neither DWARF nor the symbol table knows it.
 * Answers are not kept: a caller that may ask again for an address keeps
 * them itself, as the live session and --resolve's batches do. */
int sym_file_resolve(struct sym_file *f, uint64_t vaddr, struct sym_frame *out, int max);

/* Gives back what can be rebuilt: the reader's scratch, and the pages of
 * the mapped debug sections lookups read since the last call (they stay in
 * the page cache). Strings of frames already returned stay valid. Call it
 * when idle. */
void sym_file_trim(struct sym_file *f);

/* The symbol table's name (demangled) of the function holding vaddr, NULL
 * when it has none. */
const char *sym_file_symbol(struct sym_file *f, uint64_t vaddr);

/* 1 when the file has DWARF line information, 0 otherwise. */
int sym_file_has_debug(struct sym_file *f);

/* 1 when some of the file's DWARF was split off into .dwo or .dwp files
 * (Cargo's split-debuginfo = "packed" or "unpacked"), which hud does not
 * read: those units have lines but no functions or inline frames. */
int sym_file_split_debug(struct sym_file *f);

/* 1 when the file's code has names at all: a symbol table, or DWARF (in
 * it or in a separate debug file); 0 when it was stripped of both. */
int sym_file_has_symbols(struct sym_file *f);

/* The largest thread-local variable of the executable at path whose
 * (mangled) name contains name_part: it starts *below bytes under the
 * thread pointer (x86-64) and is *size bytes long. 0, or -1 when there is
 * none (no such symbol, no thread-local block, unreadable file). The
 * file's symbols and segments are checked against each other, not
 * trusted. */
int sym_elf_tls_var(const char *path, const char *name_part, uint64_t *below, uint32_t *size);

/* Where a member lies in a structure type of the file, from its DWARF:
 * scope names the type, its namespaces outermost first, then its own name
 * (NULL-terminated; {"tokio", "runtime", ..., "Core", NULL}); fields
 * (NULL-terminated) name a member of that type, then a member of that
 * member's type, and so on. *off is the last member's offset from the
 * type's start, *size its type's size in bytes. Only in compile units
 * whose name has "/" and the first namespace (a Rust crate's units are
 * named after its path). 0, or -1 when the file has no such type or
 * member, or no DWARF. */
int sym_file_field_offset(struct sym_file *f, const char *const *scope, const char *const *fields, uint64_t *off,
			  uint64_t *size);

/* The largest function of the ELF file at path whose (mangled) name
 * contains every one of parts (NULL-terminated): its code starts at
 * *file_off in the file and is *size bytes long, inside one executable
 * segment (checked, not trusted). 0, or -1 when there is none. */
int sym_elf_function(const char *path, const char *const *parts, uint64_t *file_off, uint64_t *size);
/* 1 when the ELF file at path is a program the dynamic loader starts (it
 * names an interpreter, PT_INTERP), 0 for a library or what cannot be read. */
int sym_elf_is_program(const char *path);

/* The file's GNU build-id as lowercase hex, or "" when it has none. */
const char *sym_file_build_id(struct sym_file *f);

void sym_file_close(struct sym_file *f);

/* ---- A running process -------------------------------------------------- */

struct sym_proc;

/* Reads /proc/PID/maps. `target`, when not NULL, is the file used for the
 * process's main executable instead of /proc/PID/exe. */
struct sym_proc *sym_proc_open(int pid, const char *target, char *err, size_t errlen);

/* Resolves an absolute address in the process (load bias of PIE/ASLR and
 * shared libraries undone through /proc/PID/maps). Always returns >= 1 frame:
 * an address in no known mapping or file gives one SYM_FRAME_UNKNOWN frame
 * named "??" or "name+0xoffset". Callers resolving return addresses (every
 * frame of a stack but the innermost) pass addr - 1 to get the call's line. */
int sym_proc_resolve(struct sym_proc *p, uint64_t addr, struct sym_frame *out, int max);

/* Share of resolved addresses in the main executable that had DWARF lines, in
 * percent (0-100); -1 before any was resolved. */
int sym_proc_debug_percent(struct sym_proc *p);

/* sym_file_trim for every file of the process. */
void sym_proc_trim(struct sym_proc *p);

/* The main executable's file (NULL if it could not be opened). */
struct sym_file *sym_proc_main(struct sym_proc *p);

/* Where file (a path hud can open) is mapped in the process: the path its
 * mappings give, found by device and inode, or by GNU build-id (another
 * copy of the same build). 0, or -1 when no mapping is of it. */
int sym_proc_mapped(struct sym_proc *p, const char *file, char *path, size_t len);

/* The first file the process maps as code, other than the main one, that
 * has a function whose name has every one of parts (see sym_elf_function):
 * its path as the mappings give it. 0, or -1 when none has. */
int sym_proc_mapped_with_function(struct sym_proc *p, const char *const *parts, char *path, size_t len);

/* path (as the process's mappings give it) as hud opens it, through the
 * process's root (its mount namespace, a chroot): "/proc/PID/root" + path.
 * 0, or -1 when it does not fit in len. */
int sym_proc_rooted(const struct sym_proc *p, const char *path, char *out, size_t len);

/* Makes the file mapped at path (as /proc/PID/maps gives it) the main one,
 * the application's: where it is not the executable (a program started
 * through the dynamic loader, Tokio in a library an interpreter loads).
 * Without a target, the main file is then read from it, through the
 * process's root. 0, or -1 when no mapping has that path or it cannot be
 * read. Call it before resolving any address. */
int sym_proc_use_main(struct sym_proc *p, const char *path);

/* One of the main file's code mappings: its addresses, and its offset in
 * the file. */
struct sym_code_map {
	uint64_t start, end, off;
};

/* The main file's code mappings (see sym_proc_use_main), in address
 * order: the first max of them into out, and the span of all of them into
 * *lo and *hi (0 and 0 without any). Returns how many went into out. */
int sym_proc_main_code(struct sym_proc *p, struct sym_code_map *out, int max, uint64_t *lo, uint64_t *hi);

/* The main file's path as the process's mappings give it (/proc/PID/exe's
 * link, or what sym_proc_use_main set); NULL if unknown. */
const char *sym_proc_main_path(struct sym_proc *p);

/* 1 when the process was opened with a target file and both the target and
 * the running executable (/proc/PID/exe) have GNU build-ids that differ: the
 * names shown may be wrong, and the UI should say so. 0 otherwise. */
int sym_proc_target_mismatch(struct sym_proc *p);

void sym_proc_close(struct sym_proc *p);

/* ---- Memory ------------------------------------------------------------ */

/* What the DWARF readers of all open files keep per compile unit (line
 * table, function and inline ranges, abbreviations) is bounded by a budget:
 * past it, the least recently used units are dropped and rebuilt when an
 * address needs them again, with the same answers. The unit being used is
 * never dropped, so one unit larger than the budget still loads: after any
 * resolve, sym_table_bytes() <= budget or sym_table_units() == 1. Strings in
 * frames already returned stay valid. 0: no bound. */
#define SYM_TABLE_BUDGET_DEFAULT ((size_t)8 << 20)

void sym_set_table_budget(size_t bytes);
/* Bytes held for units now, how many units hold them, and how many units
 * were dropped so far to stay within the budget (each is rebuilt if an
 * address needs it again: many mean the budget is too small for the
 * addresses asked for). */
size_t sym_table_bytes(void);
size_t sym_table_units(void);
uint64_t sym_table_evictions(void);

/* Drops the units of at most max_bytes that no resolve has used in the
 * last keep calls of this one (each call is one epoch): a long session asks
 * only for addresses it has not seen, so a unit first needed late, for a few
 * of them, would otherwise stay for good. Larger units stay: rebuilding one
 * needs scratch of about twice its size, which raised the peak. Returns the
 * bytes given up; an address that needs such a unit again rebuilds it, with
 * the same answers. Not to be called while frames point into units (none
 * do between resolves). sym_table_aged() counts the units it dropped. */
size_t sym_table_age(unsigned keep, size_t max_bytes);
uint64_t sym_table_aged(void);

/* ---- Command line ------------------------------------------------------ */

/* `hud --resolve BINARY`: reads file virtual addresses of f (BINARY, opened
 * by the caller, who closes it) from in, one a line in hex (0x optional),
 * and writes what `addr2line -a -f -i -C -e BINARY` writes: per address
 * "0x%016x", then per frame, innermost first, the
 * function and "file:line" ("??" and "??:0" when unknown). Control bytes in
 * names are written as '?'. Input is read through in's file descriptor when
 * it has one (nothing may be buffered in in's stdio buffer), in batches:
 * every address read before a read could block is answered, and out
 * flushed, before that read; a terminal gets each answer at once. Returns
 * 0, or -1 with err filled (a line that is not an address, a failed read
 * or write); answers before the failing line are written. */
int sym_resolve_stream(struct sym_file *f, FILE *in, FILE *out, char *err, size_t errlen);

/* libdwarf's own version string, as the library linked in reports it
 * (dwarf_package_version), for `hud --version`. */
const char *sym_libdwarf_version(void);

/* ---- Demangling --------------------------------------------------------- */

/* Demangles a Rust legacy (_ZN...17h<hash>E) or v0 (_R...) symbol, hash
 * removed, into out (always NUL-terminated). Returns 1 when demangled, 0 when
 * the name is not mangled in a known scheme (out then holds a copy). */
int sym_demangle(const char *mangled, char *out, size_t outlen);

/* Demangles a C++ Itanium symbol (_Z...) as c++filt prints it, for the
 * subset real libraries use (dwarf/demangle_cpp.c). Returns 1, or 0 with a
 * copy in out. The symbolizer tries sym_demangle first, then this. */
int sym_demangle_cpp(const char *mangled, char *out, size_t outlen);

#endif
