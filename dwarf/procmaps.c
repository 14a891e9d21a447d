/* procmaps.c — a running process's addresses to names: /proc/PID/maps says
 * which file is mapped where; the file offset of an address, through the
 * PT_LOAD segment that maps it, gives the file virtual address the file's
 * symbols and DWARF use. That undoes ASLR for PIE executables and shared
 * libraries alike. Files are opened lazily, once per path, through
 * /proc/PID/root so that a process in another mount namespace (a container)
 * is read from its own filesystem (their separate debug files too). The
 * vDSO has no file: its image is copied out of the process's memory
 * (/proc/PID/mem) into a memory file and read like any other. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "dwarf/symint.h"

#define MAX_MAPS    (1u << 20)  /* bound on mappings kept from one read */
#define MAX_VDSO    (1u << 20)  /* a vDSO is a few pages; anything larger is not one */

struct map {
	uint64_t start, end, off;
	uint64_t ino;
	unsigned dev_major, dev_minor;
	char *path;             /* "" for anonymous mappings */
	int file;               /* index into files, -1 not looked up yet, -2 none */
	int exec;               /* mapped executable (its code) */
};

struct pfile {
	char *path;             /* as in maps */
	struct sym_file *f;     /* NULL when it could not be opened */
	int is_main;
};

struct sym_proc {
	int pid;
	struct map *maps;       /* sorted by start */
	size_t nmaps;
	struct pfile *files;    /* files[0] is the main executable */
	size_t nfiles, files_cap;
	uint64_t exe_ino;
	dev_t exe_dev;
	int have_exe_id;
	char *exe_path;         /* what /proc/PID/exe links to, NULL if unknown */
	int has_target;         /* files[0] is --target, not /proc/PID/exe */
	int mismatch;           /* -1 not computed yet */
	time_t last_read;       /* CLOCK_MONOTONIC seconds of the last maps read */
	uint64_t main_resolved, main_with_lines;
	struct sym_strtab *st;  /* names of unknown frames */
};

static time_t now_sec(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return ts.tv_sec;
}

static void free_maps(struct map *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].path);
	free(m);
}

/* Reads /proc/PID/maps into p->maps (replacing the old list). Returns 0, or
 * -1 with err filled; the old list stays on failure. */
static int read_maps(struct sym_proc *p, char *err, size_t errlen)
{
	char path[64], *line = NULL;
	size_t cap = 0, n = 0, mcap = 0;
	struct map *maps = NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	p->last_read = now_sec();
	FILE *fp = fopen(path, "re");
	if (!fp) {
		snprintf(err, errlen, "open %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) > 0 && n < MAX_MAPS) {
		uint64_t start, end, off, ino;
		unsigned maj, min;
		char perms[8];
		int used = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
			   &start, &end, perms, &off, &maj, &min, &ino, &used) < 7 || start >= end)
			continue;
		char *name = line + used;
		name[strcspn(name, "\n")] = '\0';
		if (n == mcap) {
			size_t ncap = mcap ? mcap * 2 : 256;
			struct map *nm = realloc(maps, ncap * sizeof(*nm));
			if (!nm)
				goto oom;
			maps = nm;
			mcap = ncap;
		}
		maps[n] = (struct map){ .start = start, .end = end, .off = off, .ino = ino,
					.dev_major = maj, .dev_minor = min, .file = -1, .exec = perms[2] == 'x',
					.path = strdup(name) };
		if (!maps[n].path)
			goto oom;
		n++;
	}
	fclose(fp);
	free(line);
	/* The kernel lists mappings in address order; nothing to sort. */
	free_maps(p->maps, p->nmaps);
	p->maps = maps;
	p->nmaps = n;
	return 0;
oom:
	fclose(fp);
	free(line);
	free_maps(maps, n);
	snprintf(err, errlen, "reading %s: out of memory", path);
	return -1;
}

int sym_proc_rooted(const struct sym_proc *p, const char *path, char *out, size_t len)
{
	int n = snprintf(out, len, "/proc/%d/root%s", p->pid, path);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

struct sym_proc *sym_proc_open(int pid, const char *target, char *err, size_t errlen)
{
	char exe[64], link[4096];
	struct sym_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->pid = pid;
	p->st = sym_strtab_new();
	p->files_cap = 16;
	p->files = calloc(p->files_cap, sizeof(*p->files));
	if (!p->st || !p->files) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (read_maps(p, err, errlen) != 0)
		goto fail;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	struct stat sb;
	if (stat(exe, &sb) == 0) {
		p->exe_dev = sb.st_dev;
		p->exe_ino = sb.st_ino;
		p->have_exe_id = 1;
	}
	ssize_t len = readlink(exe, link, sizeof(link) - 1);
	if (len > 0) {
		link[len] = '\0';
		p->exe_path = strdup(link);
	}
	/* The main executable is read through /proc/PID/exe: it works even when
	 * the file was replaced or lives in another mount namespace. */
	p->files[0].path = strdup(target ? target : exe);
	if (!p->files[0].path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->files[0].is_main = 1;
	p->has_target = target != NULL;
	p->mismatch = -1;
	p->files[0].f = sym_file_open(p->files[0].path, err, errlen);
	if (p->files[0].f && !target) {
		char root[64];
		sym_proc_rooted(p, "", root, sizeof(root));
		sym_file_set_root(p->files[0].f, root, p->exe_path);
	}
	p->nfiles = 1;
	return p;
fail:
	sym_proc_close(p);
	return NULL;
}

void sym_proc_close(struct sym_proc *p)
{
	if (!p)
		return;
	free_maps(p->maps, p->nmaps);
	for (size_t i = 0; i < p->nfiles; i++) {
		sym_file_close(p->files[i].f);
		free(p->files[i].path);
	}
	free(p->files);
	free(p->exe_path);
	sym_strtab_free(p->st);
	free(p);
}

void sym_proc_trim(struct sym_proc *p)
{
	for (size_t i = 0; i < p->nfiles; i++)
		if (p->files[i].f)
			sym_file_trim(p->files[i].f);
}

struct sym_file *sym_proc_main(struct sym_proc *p)
{
	return p->files[0].f;
}

int sym_proc_mapped(struct sym_proc *p, const char *file, char *path, size_t len)
{
	struct stat sb;
	char id[129] = "", have[129], at[4200];
	int by_id = sym_elf_build_id(file, id, sizeof(id)) == 0 && id[0];
	if (stat(file, &sb) < 0)
		return -1;
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct map *m = &p->maps[i];
		if (m->path[0] != '/')
			continue;
		int same = m->ino == (uint64_t)sb.st_ino && m->dev_major == major(sb.st_dev) &&
			   m->dev_minor == minor(sb.st_dev);
		if (!same && by_id && (i == 0 || strcmp(m->path, p->maps[i - 1].path) != 0)) {
			same = sym_proc_rooted(p, m->path, at, sizeof(at)) == 0 &&
			       sym_elf_build_id(at, have, sizeof(have)) == 0 && strcmp(have, id) == 0;
		}
		if (same) {
			snprintf(path, len, "%s", m->path);
			return 0;
		}
	}
	return -1;
}

int sym_proc_use_main(struct sym_proc *p, const char *path)
{
	const struct map *m = NULL;
	for (size_t i = 0; i < p->nmaps && !m; i++)
		if (strcmp(p->maps[i].path, path) == 0)
			m = &p->maps[i];
	char *copy = m ? strdup(path) : NULL;
	if (!copy)
		return -1;
	free(p->exe_path);
	p->exe_path = copy;
	p->exe_ino = m->ino;
	p->exe_dev = makedev(m->dev_major, m->dev_minor);
	p->have_exe_id = 1;
	p->mismatch = 0;        /* --target is that file, or there is none */
	for (size_t i = 0; i < p->nmaps; i++)
		p->maps[i].file = -1;
	if (!p->has_target) {
		char at[4200], err[256], root[64];
		struct sym_file *f = sym_proc_rooted(p, path, at, sizeof(at)) == 0 ? sym_file_open(at, err, sizeof(err)) : NULL;
		if (!f)
			return -1;
		sym_proc_rooted(p, "", root, sizeof(root));
		sym_file_set_root(f, root, path);
		sym_file_close(p->files[0].f);
		p->files[0].f = f;
	}
	return 0;
}

int sym_proc_mapped_with_function(struct sym_proc *p, const char *const *parts, char *path, size_t len)
{
	char at[4200];
	const char *tried = "";
	uint64_t off, size;

	for (size_t i = 0; i < p->nmaps; i++) {
		const struct map *m = &p->maps[i];
		if (!m->exec || m->path[0] != '/' || strcmp(m->path, tried) == 0 ||
		    (p->exe_path && strcmp(m->path, p->exe_path) == 0))
			continue;
		tried = m->path;
		if (sym_proc_rooted(p, m->path, at, sizeof(at)) == 0 && sym_elf_function(at, parts, &off, &size) == 0) {
			snprintf(path, len, "%s", m->path);
			return 0;
		}
	}
	return -1;
}

static int is_main_map(struct sym_proc *p, const struct map *m);

int sym_proc_main_code(struct sym_proc *p, struct sym_code_map *out, int max, uint64_t *lo, uint64_t *hi)
{
	int n = 0;

	*lo = *hi = 0;
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct map *m = &p->maps[i];
		if (!m->exec || !is_main_map(p, m))
			continue;
		if (!*lo || m->start < *lo)
			*lo = m->start;
		if (m->end > *hi)
			*hi = m->end;
		if (n < max)
			out[n++] = (struct sym_code_map){ m->start, m->end, m->off };
	}
	return n;
}

const char *sym_proc_main_path(struct sym_proc *p)
{
	return p->exe_path;
}

int sym_proc_target_mismatch(struct sym_proc *p)
{
	if (p->mismatch >= 0)
		return p->mismatch;
	p->mismatch = 0;
	if (!p->has_target || !p->files[0].f)
		return 0;
	const char *want = sym_file_build_id(p->files[0].f);
	char exe[64], have[129];
	snprintf(exe, sizeof(exe), "/proc/%d/exe", p->pid);
	if (want[0] && sym_elf_build_id(exe, have, sizeof(have)) == 0 && have[0] && strcmp(want, have) != 0)
		p->mismatch = 1;
	return p->mismatch;
}

int sym_proc_debug_percent(struct sym_proc *p)
{
	if (p->main_resolved == 0)
		return -1;
	return (int)(p->main_with_lines * 100 / p->main_resolved);
}

static struct map *find_map(struct sym_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= p->maps[lo - 1].end)
		return NULL;
	return &p->maps[lo - 1];
}

static int is_main_map(struct sym_proc *p, const struct map *m)
{
	if (p->have_exe_id && m->ino == (uint64_t)p->exe_ino &&
	    m->dev_major == major(p->exe_dev) && m->dev_minor == minor(p->exe_dev))
		return 1;
	return p->exe_path && strcmp(m->path, p->exe_path) == 0;
}

/* Copies the process's vDSO image out of its memory into a memory file and
 * opens that. NULL when it cannot (no permission to read the memory, a
 * kernel without memfd). */
static struct sym_file *open_vdso(struct sym_proc *p, const struct map *m)
{
	char path[64], err[256];
	size_t len = (size_t)(m->end - m->start);
	struct sym_file *f = NULL;
	if (len == 0 || len > MAX_VDSO)
		return NULL;
	unsigned char *buf = malloc(len);
	if (!buf)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%d/mem", p->pid);
	int mem = open(path, O_RDONLY | O_CLOEXEC);
	int mfd = -1;
	if (mem < 0 || pread(mem, buf, len, (off_t)m->start) != (ssize_t)len)
		goto cleanup;
	mfd = (int)syscall(SYS_memfd_create, "hud-vdso", 1u /* MFD_CLOEXEC */);
	if (mfd < 0 || write(mfd, buf, len) != (ssize_t)len)
		goto cleanup;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	/* sym_file_open opens its own descriptor of the memory file, which
	 * keeps it alive after mfd is closed. */
	f = sym_file_open(path, err, sizeof(err));
cleanup:
	if (mfd >= 0)
		close(mfd);
	if (mem >= 0)
		close(mem);
	free(buf);
	return f;
}

/* The file index of a mapping, opening the file on first use; -2 when the
 * mapping has no file or it cannot be read. */
static int map_file(struct sym_proc *p, struct map *m)
{
	if (m->file != -1)
		return m->file;
	m->file = -2;
	int vdso = strcmp(m->path, "[vdso]") == 0;
	if (m->path[0] != '/' && !vdso)
		return -2;      /* anonymous, [heap], [stack], ... */
	if (is_main_map(p, m))
		return m->file = 0;
	for (size_t i = 1; i < p->nfiles; i++)
		if (strcmp(p->files[i].path, m->path) == 0)
			return m->file = (int)i;
	if (p->nfiles == p->files_cap) {
		struct pfile *n = realloc(p->files, p->files_cap * 2 * sizeof(*n));
		if (!n)
			return -2;
		p->files = n;
		p->files_cap *= 2;
	}
	struct pfile *pf = &p->files[p->nfiles];
	memset(pf, 0, sizeof(*pf));
	pf->path = strdup(m->path);
	if (!pf->path)
		return -2;
	char root[4096], err[256];
	if (vdso) {
		pf->f = open_vdso(p, m);
		return m->file = (int)p->nfiles++;
	}
	if (sym_proc_rooted(p, m->path, root, sizeof(root)) == 0)
		pf->f = sym_file_open(root, err, sizeof(err));
	if (!pf->f) {
		/* Not at that path from the process's root either: a chroot
		 * in a mount namespace of its own shows its files under the
		 * path they have from hud's root, which hud's namespace may
		 * not hold (a tester's container: the C library unnamed). The
		 * kernel opens the mapped file itself through map_files. */
		snprintf(root, sizeof(root), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, p->pid, m->start, m->end);
		pf->f = sym_file_open(root, err, sizeof(err));
	}
	if (pf->f) {
		sym_proc_rooted(p, "", root, sizeof(root));
		sym_file_set_root(pf->f, root, NULL);
	} else {
		pf->f = sym_file_open(m->path, err, sizeof(err));
	}
	return m->file = (int)p->nfiles++;
}

/* One SYM_FRAME_UNKNOWN frame named "??" or "base+0xoff". */
static int unknown(struct sym_proc *p, const char *path, uint64_t off, struct sym_frame *out)
{
	const char *name = "??";
	if (path && path[0]) {
		char buf[512];
		const char *base = strrchr(path, '/');
		base = base ? base + 1 : path;
		int n = snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, base, off);
		const char *s = n > 0 ? sym_intern(p->st, buf, strlen(buf)) : NULL;
		if (s)
			name = s;
	}
	out[0] = (struct sym_frame){ .function = name, .file = "??", .line = 0,
				     .flags = SYM_FRAME_UNKNOWN };
	return 1;
}

int sym_proc_resolve(struct sym_proc *p, uint64_t addr, struct sym_frame *out, int max)
{
	if (max < 1)
		return 0;
	struct map *m = find_map(p, addr);
	if (!m && now_sec() != p->last_read) {
		/* Maybe a library loaded since: re-read, at most once a second. */
		char err[256];
		if (read_maps(p, err, sizeof(err)) == 0)
			m = find_map(p, addr);
	}
	if (!m)
		return unknown(p, NULL, 0, out);
	uint64_t off = addr - m->start + m->off;
	int fi = map_file(p, m);
	struct sym_file *f = fi >= 0 ? p->files[fi].f : NULL;
	if (!f)
		return unknown(p, m->path, m->path[0] == '/' ? off : addr - m->start, out);
	uint64_t vaddr;
	if (sym_file_offset_to_vaddr(f, off, &vaddr) != 0)
		return unknown(p, m->path, off, out);
	int n = sym_file_resolve(f, vaddr, out, max);
	/* Line tables only (rustc's debug = "line-tables-only") name a
	 * function without its path, every async fn's body "{async_fn#0}":
	 * the symbol table's name, with its path, tells them apart. Only the
	 * outermost frame is the symbol's function; --resolve keeps DWARF's
	 * name, as addr2line does. */
	if (n > 0 && !(out[n - 1].flags & SYM_FRAME_SYMTAB) && !strstr(out[n - 1].function, "::")) {
		const char *sym = sym_file_symbol(f, vaddr);
		if (sym && strstr(sym, "::"))
			out[n - 1].function = sym;
	}
	if (fi == 0) {
		p->main_resolved++;
		if (n > 0 && out[0].line != 0)
			p->main_with_lines++;
	}
	if (n <= 0)
		n = unknown(p, m->path, vaddr, out);
	if (fi == 0)
		for (int i = 0; i < n; i++)
			out[i].flags |= SYM_FRAME_MAIN;
	return n;
}
