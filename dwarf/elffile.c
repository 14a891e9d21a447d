/* elffile.c — one ELF file: its PT_LOAD segments (to turn file offsets into
 * virtual addresses), its function symbols (the fallback when DWARF says
 * nothing), its GNU build-id, where its DWARF lives (in the file, or in a
 * separate debug file found by build-id or .gnu_debuglink). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "dwarf/symint.h"

#define MAX_SYMS      (16u << 20)   /* bound on symbols kept from one table */
#define MAX_SEGS      256

struct seg {
	uint64_t vaddr, memsz, off, filesz;
	int exec;               /* PF_X: code */
};

struct esym {
	uint64_t addr, size;
	const char *raw;        /* in the Elf's string table, valid while open */
	const char *name;       /* demangled and interned on first use */
};

struct sym_file {
	int fd;
	Elf *elf;
	char *path;
	struct seg *segs;
	size_t nsegs;
	struct esym *syms;
	size_t nsyms;
	int full_symtab;        /* syms came from a .symtab (not only .dynsym) */
	char build_id[129];
	struct sym_strtab *st;
	struct sym_dw *dw;
	int dw_tried;
	char *root;             /* prefix for debug file lookups ("/proc/PID/root"), or NULL */
	char *seen_dir;         /* its directory as the process sees it, when opened by another name */
	int dbg_fd;             /* the separate debug file, when DWARF is there */
	Elf *dbg_elf;
	char *dbg_path;
};

/* ---- Loading ------------------------------------------------------------ */

static int load_segments(struct sym_file *f, char *err, size_t errlen)
{
	size_t n;
	if (elf_getphdrnum(f->elf, &n) != 0) {
		snprintf(err, errlen, "%s: no program headers: %s", f->path, elf_errmsg(-1));
		return -1;
	}
	if (n > MAX_SEGS)
		n = MAX_SEGS;
	f->segs = calloc(n ? n : 1, sizeof(*f->segs));
	if (!f->segs) {
		snprintf(err, errlen, "%s: out of memory", f->path);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		struct seg *s = &f->segs[f->nsegs++];
		s->vaddr = ph.p_vaddr;
		s->memsz = ph.p_memsz;
		s->off = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->exec = (ph.p_flags & PF_X) != 0;
	}
	return 0;
}

static int sym_cmp(const void *a, const void *b)
{
	const struct esym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Among aliases the sized one wins (it can bound the lookup); then the
	 * earlier in the table, as qsort is not stable the pointers decide. */
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return x->raw < y->raw ? -1 : x->raw > y->raw;
}

/* Reads the function symbols of one symbol table section of elf (f's own
 * or its debug file's) into f, in place of those it had. */
static int load_symtab(struct sym_file *f, Elf *elf, Elf_Scn *scn, GElf_Shdr *sh)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!data || sh->sh_entsize == 0)
		return 0;
	size_t count = sh->sh_size / sh->sh_entsize;
	if (count > MAX_SYMS)
		count = MAX_SYMS;
	struct esym *v = calloc(count ? count : 1, sizeof(*v));
	if (!v)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym s;
		if (!gelf_getsym(data, (int)i, &s))
			break;  /* the table is shorter than its header claims */
		int type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
		    s.st_shndx == SHN_UNDEF || s.st_value == 0)
			continue;
		const char *name = elf_strptr(elf, sh->sh_link, s.st_name);
		if (!name || !name[0])
			continue;
		v[n].addr = s.st_value;
		v[n].size = s.st_size;
		v[n].raw = name;
		n++;
	}
	qsort(v, n, sizeof(*v), sym_cmp);
	/* Keep one symbol per address. */
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[k - 1].addr != v[i].addr)
			v[k++] = v[i];
	free(f->syms);
	f->syms = v;
	f->nsyms = k;
	f->full_symtab = sh->sh_type == SHT_SYMTAB;
	return 0;
}

/* elf's first section of type (SHT_SYMTAB, SHT_DYNSYM), its header in
 * *sh; NULL when it has none. */
static Elf_Scn *section_of_type(Elf *elf, uint32_t type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL)
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

static int load_symbols(struct sym_file *f, char *err, size_t errlen)
{
	GElf_Shdr sh;
	/* A stripped file still names its exported functions in .dynsym
	 * (and its debug file, when one is found, has the whole .symtab). */
	Elf_Scn *scn = section_of_type(f->elf, SHT_SYMTAB, &sh);
	if (!scn)
		scn = section_of_type(f->elf, SHT_DYNSYM, &sh);
	if (scn && load_symtab(f, f->elf, scn, &sh) != 0)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory reading symbols", f->path);
	return -1;
}

/* Copies the GNU build-id of one note buffer into f->build_id as hex. */
static int scan_notes(struct sym_file *f, Elf_Data *data)
{
	static const char hex[] = "0123456789abcdef";
	GElf_Nhdr nh;
	size_t off = 0, name_off, desc_off, next;
	while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0) {
			const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
			size_t n = nh.n_descsz;
			if (n > (sizeof(f->build_id) - 1) / 2)
				n = (sizeof(f->build_id) - 1) / 2;
			for (size_t i = 0; i < n; i++) {
				f->build_id[2 * i] = hex[d[i] >> 4];
				f->build_id[2 * i + 1] = hex[d[i] & 15];
			}
			f->build_id[2 * n] = '\0';
			return 1;
		}
		off = next;
	}
	return 0;
}

static void load_build_id(struct sym_file *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(f->elf, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (data && scan_notes(f, data))
			return;
	}
	/* No section headers (or no note section): try the PT_NOTE segments. */
	size_t n;
	if (elf_getphdrnum(f->elf, &n) != 0)
		return;
	for (size_t i = 0; i < n && i < MAX_SEGS; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *data = elf_getdata_rawchunk(f->elf, (int64_t)ph.p_offset,
						      ph.p_filesz, ELF_T_NHDR);
		if (data && scan_notes(f, data))
			return;
	}
}

/* Returns the opened file, or NULL with err filled. */
struct sym_file *sym_file_open(const char *path, char *err, size_t errlen)
{
	struct sym_file *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	f->fd = -1;
	f->dbg_fd = -1;
	f->path = strdup(path);
	f->st = sym_strtab_new();
	if (!f->path || !f->st) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "libelf is too old: %s", elf_errmsg(-1));
		goto fail;
	}
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		goto fail;
	}
	/* READ_MMAP: only the pages of the tables we touch are read. */
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		snprintf(err, errlen, "%s is not an ELF file: %s", path, elf_errmsg(-1));
		goto fail;
	}
	if (load_segments(f, err, errlen) != 0 || load_symbols(f, err, errlen) != 0)
		goto fail;
	load_build_id(f);
	return f;
fail:
	sym_file_close(f);
	return NULL;
}

void sym_file_close(struct sym_file *f)
{
	if (!f)
		return;
	sym_dw_close(f->dw);
	if (f->dbg_elf)
		elf_end(f->dbg_elf);
	if (f->dbg_fd >= 0)
		close(f->dbg_fd);
	free(f->dbg_path);
	free(f->root);
	free(f->seen_dir);
	free(f->syms);
	free(f->segs);
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	sym_strtab_free(f->st);
	free(f->path);
	free(f);
}

/* ---- Queries ------------------------------------------------------------ */

/* ---- Separate debug files ---------------------------------------------- */

/* The section of elf called name, with contents (not SHT_NOBITS); NULL. */
static Elf_Scn *section_named(Elf *elf, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return NULL;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *sname;
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (sname = elf_strptr(elf, shstrndx, sh.sh_name)) && strcmp(sname, name) == 0)
			return scn;
	}
	return NULL;
}

/* 1 when elf has a .debug_info (or .zdebug_info) section with contents. */
static int has_debug_info(Elf *elf)
{
	return section_named(elf, ".debug_info") || section_named(elf, ".zdebug_info");
}

/* The .gnu_debuglink name and CRC of elf; 0 when it has none. */
static int debuglink(Elf *elf, char *name, size_t cap, uint32_t *crc)
{
	Elf_Scn *scn = section_named(elf, ".gnu_debuglink");
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	if (!d || !d->d_buf)
		return 0;
	const char *p = d->d_buf;
	size_t len = strnlen(p, d->d_size);
	/* The name, NUL, padding to 4, then the CRC-32 of the debug file. */
	size_t crc_off = (len + 4) & ~(size_t)3;
	if (len == 0 || len >= cap || strchr(p, '/') || crc_off + 4 > d->d_size)
		return 0;
	memcpy(name, p, len);
	name[len] = '\0';
	const unsigned char *c = (const unsigned char *)p + crc_off;
	*crc = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
	return 1;
}

static uint32_t file_crc(int fd)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	ssize_t n;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	return (uint32_t)crc;
}

/* Opens path as the debug file of f when it is ELF with DWARF and, for a
 * debuglink, its CRC matches; build_id, when given, must match too. */
static int try_debug_file(struct sym_file *f, const char *path, const uint32_t *crc, const char *build_id)
{
	if (strcmp(path, f->path) == 0)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (crc && file_crc(fd) != *crc) {
		close(fd);
		return 0;
	}
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !has_debug_info(elf)) {
		if (elf)
			elf_end(elf);
		close(fd);
		return 0;
	}
	if (build_id && build_id[0]) {
		struct sym_file probe = { .elf = elf };
		load_build_id(&probe);
		if (probe.build_id[0] && strcmp(probe.build_id, build_id) != 0) {
			elf_end(elf);
			close(fd);
			return 0;
		}
	}
	f->dbg_fd = fd;
	f->dbg_elf = elf;
	f->dbg_path = strdup(path);
	if (!f->dbg_path) {
		elf_end(elf);
		close(fd);
		f->dbg_fd = -1;
		f->dbg_elf = NULL;
		return 0;
	}
	return 1;
}

/* Looks for f's DWARF in a separate file: by build-id under
 * /usr/lib/debug/.build-id/, then by .gnu_debuglink next to the file, in
 * its .debug/ directory and under /usr/lib/debug/; each first inside the
 * process's root (a container's filesystem), then in hud's own. */
static void find_debug_file(struct sym_file *f)
{
	char path[4096];
	const char *roots[2];
	int nroots = 0;
	if (f->root)
		roots[nroots++] = f->root;
	roots[nroots++] = "";
	size_t idlen = strlen(f->build_id);
	if (idlen > 2) {
		for (int r = 0; r < nroots; r++) {
			if (snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", roots[r],
				     f->build_id, f->build_id + 2) < (int)sizeof(path) &&
			    try_debug_file(f, path, NULL, f->build_id))
				return;
		}
	}
	char name[256];
	uint32_t crc;
	if (!debuglink(f->elf, name, sizeof(name), &crc))
		return;
	/* The directory of the file, as hud reaches it (dir) and as the process
	 * sees it (inner, without the root prefix). */
	char dir[4096];
	const char *inner = dir;
	if (f->seen_dir) {
		snprintf(dir, sizeof(dir), "%s%s", f->root ? f->root : "", f->seen_dir);
		inner = f->seen_dir;
	} else {
		snprintf(dir, sizeof(dir), "%s", f->path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
		size_t rl = f->root ? strlen(f->root) : 0;
		if (rl && strncmp(dir, f->root, rl) == 0 && dir[rl] == '/')
			inner = dir + rl;
	}
	static const char *const fmts[] = { "%s%s/%s", "%s%s/.debug/%s", "%s/usr/lib/debug%s/%s" };
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		for (int r = 0; r < nroots; r++) {
			/* The first two already carry the root in dir. */
			const char *rt = i < 2 ? "" : roots[r];
			const char *d = i < 2 ? dir : inner;
			if (i < 2 && r > 0)
				break;
			if (snprintf(path, sizeof(path), fmts[i], rt, d, name) < (int)sizeof(path) &&
			    try_debug_file(f, path, &crc, NULL))
				return;
		}
	}
}

void sym_file_set_root(struct sym_file *f, const char *root, const char *seen_path)
{
	free(f->root);
	f->root = root ? strdup(root) : NULL;
	free(f->seen_dir);
	f->seen_dir = NULL;
	/* An absolute path with a directory; readlink's " (deleted)" is only
	 * on the name. */
	const char *slash = seen_path && seen_path[0] == '/' ? strrchr(seen_path, '/') : NULL;
	if (slash)
		f->seen_dir = slash == seen_path ? strdup("") : strndup(seen_path, (size_t)(slash - seen_path));
}

static struct sym_dw *dwarf_of(struct sym_file *f)
{
	if (!f->dw_tried) {
		char err[256];
		f->dw_tried = 1;
		if (!has_debug_info(f->elf))
			find_debug_file(f);
		/* A stripped file's debug file (objcopy --only-keep-debug) has
		 * the symbol table it lost: functions without DWARF (the C
		 * library's, thread starts) keep their names. Out of memory,
		 * the file's own stay. */
		GElf_Shdr sh;
		Elf_Scn *scn = f->dbg_elf && !f->full_symtab ? section_of_type(f->dbg_elf, SHT_SYMTAB, &sh) : NULL;
		if (scn)
			(void)load_symtab(f, f->dbg_elf, scn, &sh);
		if (f->dbg_elf)
			f->dw = sym_dw_open(f->dbg_path, f->dbg_elf, f->st, err, sizeof(err));
		if (!f->dw)
			f->dw = sym_dw_open(f->path, f->elf, f->st, err, sizeof(err));
	}
	return f->dw;
}

int sym_file_field_offset(struct sym_file *f, const char *const *scope, const char *const *fields, uint64_t *off,
			  uint64_t *size)
{
	struct sym_dw *d = dwarf_of(f);
	return d ? sym_dw_field_offset(d, scope, fields, off, size) : -1;
}

const char *sym_file_debug_path(struct sym_file *f)
{
	(void)dwarf_of(f);
	return f->dw && f->dbg_elf ? f->dbg_path : f->path;
}

int sym_elf_build_id(const char *path, char *out, size_t outlen)
{
	struct sym_file probe;
	memset(&probe, 0, sizeof(probe));
	out[0] = '\0';
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	probe.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (probe.elf && elf_kind(probe.elf) == ELF_K_ELF)
		load_build_id(&probe);
	if (probe.elf)
		elf_end(probe.elf);
	close(fd);
	snprintf(out, outlen, "%s", probe.build_id);
	return 0;
}

/* path, opened to read as an ELF file: its Elf, *fd its descriptor (both
 * for elf_read_close); NULL, nothing left open, when it cannot be read or
 * is no ELF file. */
static Elf *elf_read_open(const char *path, int *fd)
{
	if (elf_version(EV_CURRENT) == EV_NONE || (*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	Elf *elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (elf && elf_kind(elf) == ELF_K_ELF)
		return elf;
	if (elf)
		elf_end(elf);
	close(*fd);
	return NULL;
}

static void elf_read_close(Elf *elf, int fd)
{
	elf_end(elf);
	close(fd);
}

int sym_elf_is_program(const char *path)
{
	int program = 0, fd;
	Elf *elf = elf_read_open(path, &fd);
	size_t n = 0;
	if (!elf)
		return 0;
	if (elf_getphdrnum(elf, &n) == 0)
		for (size_t i = 0; i < n && !program; i++) {
			GElf_Phdr ph;
			program = gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_INTERP;
		}
	elf_read_close(elf, fd);
	return program;
}

/* The executable's thread-local block (x86-64, variant II: it ends at the
 * thread pointer, aligned as glibc and musl place it): how far below the
 * thread pointer it starts, from PT_TLS. 0 when there is none. */
static uint64_t tls_block_below(Elf *elf)
{
	size_t n = 0;

	if (elf_getphdrnum(elf, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_TLS)
			continue;
		uint64_t align = ph.p_align > 1 ? ph.p_align : 1;
		if (align & (align - 1) || ph.p_memsz > (1u << 30))
			return 0;       /* not a power of two, or absurd: untrusted */
		uint64_t first = (0 - ph.p_vaddr) & (align - 1);
		if (ph.p_memsz < first)
			return 0;
		return ((ph.p_memsz - first + align - 1) & ~(align - 1)) + first;
	}
	return 0;
}

/* What elf_largest_symbol looks for: symbols of type whose (mangled) name
 * contains every one of parts (NULL-terminated) and that fits accepts;
 * fits is asked only of a symbol larger than the largest so far. */
struct sym_pick {
	int type;
	const char *const *parts;
	int (*fits)(Elf *elf, const GElf_Sym *s, void *ctx);
	void *ctx;
};

static int has_parts(const char *name, const char *const *parts)
{
	for (; *parts; parts++)
		if (!strstr(name, *parts))
			return 0;
	return 1;
}

/* The largest such symbol of the ELF file at path into *best: 0, or -1
 * when there is none or the file cannot be read. */
static int elf_largest_symbol(const char *path, const struct sym_pick *pick, GElf_Sym *best)
{
	int found = -1, fd;
	Elf *elf = elf_read_open(path, &fd);
	Elf_Scn *scn = NULL;

	if (!elf)
		return -1;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		size_t count = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym s;
			const char *name;
			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != pick->type ||
			    (found == 0 && s.st_size <= best->st_size) || !s.st_size ||
			    !(name = elf_strptr(elf, sh.sh_link, s.st_name)) || !has_parts(name, pick->parts) ||
			    !pick->fits(elf, &s, pick->ctx))
				continue;
			*best = s;
			found = 0;
		}
	}
	elf_read_close(elf, fd);
	return found;
}

/* A thread-local variable lies inside the thread-local block. */
static int tls_fits(Elf *elf, const GElf_Sym *s, void *ctx)
{
	uint64_t *block = ctx;

	if (!*block)
		*block = tls_block_below(elf);
	return s->st_value < *block && s->st_size <= *block - s->st_value;
}

int sym_elf_tls_var(const char *path, const char *name_part, uint64_t *below, uint32_t *size)
{
	const char *parts[] = { name_part, NULL };
	uint64_t block = 0;
	struct sym_pick pick = { STT_TLS, parts, tls_fits, &block };
	GElf_Sym s;

	if (elf_largest_symbol(path, &pick, &s) < 0)
		return -1;
	*below = block - s.st_value;
	*size = s.st_size > UINT32_MAX ? UINT32_MAX : (uint32_t)s.st_size;
	return 0;
}

/* A function lies inside one loadable, executable segment of the file:
 * its file offset goes to ctx. */
static int code_fits(Elf *elf, const GElf_Sym *s, void *ctx)
{
	size_t n = 0;

	if (elf_getphdrnum(elf, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    s->st_value >= ph.p_vaddr && s->st_value - ph.p_vaddr < ph.p_filesz &&
		    s->st_size <= ph.p_filesz - (s->st_value - ph.p_vaddr)) {
			*(uint64_t *)ctx = s->st_value - ph.p_vaddr + ph.p_offset;
			return 1;
		}
	}
	return 0;
}

int sym_elf_function(const char *path, const char *const *parts, uint64_t *file_off, uint64_t *size)
{
	uint64_t off = 0;
	struct sym_pick pick = { STT_FUNC, parts, code_fits, &off };
	GElf_Sym s;

	/* fits is asked only of a symbol that would be the largest so far,
	 * so off is the chosen one's. */
	if (elf_largest_symbol(path, &pick, &s) < 0)
		return -1;
	*file_off = off;
	*size = s.st_size;
	return 0;
}

void sym_file_trim(struct sym_file *f)
{
	if (f->dw)
		sym_dw_trim(f->dw);
}

int sym_file_has_debug(struct sym_file *f)
{
	struct sym_dw *d = dwarf_of(f);
	return d ? sym_dw_has_lines(d) : 0;
}

int sym_file_split_debug(struct sym_file *f)
{
	struct sym_dw *d = dwarf_of(f);
	return d && sym_dw_split_units(d) > 0;
}

int sym_file_has_symbols(struct sym_file *f)
{
	return f->nsyms > 0 || dwarf_of(f) != NULL;
}

const char *sym_file_build_id(struct sym_file *f)
{
	return f->build_id;
}

struct sym_strtab *sym_file_strtab(struct sym_file *f)
{
	return f->st;
}

int sym_file_offset_to_vaddr(struct sym_file *f, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < f->nsegs; i++) {
		const struct seg *s = &f->segs[i];
		/* The mapping may extend past filesz to the page end; accept the
		 * whole memory image of the segment. */
		if (off >= s->off && off - s->off < (s->memsz > s->filesz ? s->memsz : s->filesz)) {
			*vaddr = off - s->off + s->vaddr;
			return 0;
		}
	}
	return -1;
}

/* The function symbol naming vaddr: the last one at or below it. NULL when
 * none. */
static const char *symtab_name(struct sym_file *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	/* Past the symbol's size (alignment padding) still takes its name, as
	 * binutils addr2line does. */
	struct esym *s = &f->syms[lo - 1];
	if (!s->name)
		s->name = sym_intern_demangled(f->st, s->raw);
	return s->name;
}

/* Whether vaddr is in one of f's executable segments (or f has none to
 * tell by). Elsewhere there is no code: DWARF still describes functions
 * the linker dropped, left at address 0, and the symbol before a place
 * past the end is no answer either. */
static int in_code(const struct sym_file *f, uint64_t vaddr)
{
	int any = 0;
	for (size_t i = 0; i < f->nsegs; i++) {
		if (!f->segs[i].exec)
			continue;
		any = 1;
		if (vaddr >= f->segs[i].vaddr && vaddr - f->segs[i].vaddr < f->segs[i].memsz)
			return 1;
	}
	return !any;
}

const char *sym_file_symbol(struct sym_file *f, uint64_t vaddr)
{
	(void)dwarf_of(f);      /* (a debug file's symbol table) */
	return in_code(f, vaddr) ? symtab_name(f, vaddr) : NULL;
}

int sym_file_resolve(struct sym_file *f, uint64_t vaddr, struct sym_frame *out, int max)
{
	int n = 0;
	if (max < 1 || !in_code(f, vaddr))
		return 0;
	struct sym_dw *d = dwarf_of(f);
	if (d)
		n = sym_dw_resolve(d, vaddr, out, max);
	if (n > 0) {
		/* DWARF had a line but no function: name it like binutils does. */
		if (!out[0].function) {
			const char *name = symtab_name(f, vaddr);
			out[0].function = name ? name : "??";
			if (name)
				out[0].flags |= SYM_FRAME_SYMTAB;
		}
		return n;
	}
	const char *name = symtab_name(f, vaddr);
	if (!name || max < 1)
		return 0;
	out[0] = (struct sym_frame){ .function = name, .file = "??", .line = 0,
				     .flags = SYM_FRAME_SYMTAB };
	return 1;
}

