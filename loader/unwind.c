/* unwind.c — call-frame information (.eh_frame) stepping, see unwind.h.
 *
 * A file is found by the pc's mapping in /proc/PID/maps; its
 * PT_GNU_EH_FRAME segment is .eh_frame_hdr, whose table of (start, FDE)
 * pairs, sorted by start, gives the frame description entry (FDE) of the
 * pc by binary search. The FDE's instructions, after its CIE's initial
 * ones, are run up to the pc to know where the frame's CFA is and where
 * the return address and rbp were saved. Addresses in the file are file
 * virtual addresses: a mapping's bias comes from the PT_LOAD segment that
 * maps its file offset. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loader/unwind.h"

#define MAX_MAPS      4096      /* executable mappings kept from one read */
#define MAX_FILES     256
#define MAX_FILE      (1u << 30)
#define MAX_STATES    16        /* DW_CFA_remember_state nesting */
#define MAX_INSNS     4096      /* instructions run for one frame */

/* x86-64 DWARF register numbers. */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA  16

struct umap {
	uint64_t start, end, off;
	int file;               /* index into files, -1 not opened yet */
	char *path;
};

struct ufile {
	char *path;
	const uint8_t *img;     /* the whole file, mapped; NULL: no usable table */
	size_t len;
	const Elf64_Phdr *ph;
	uint16_t nph;
	uint64_t hdr_vaddr;     /* .eh_frame_hdr */
	const uint8_t *hdr;
	size_t hdr_len;
	const uint8_t *table;   /* pairs of int32, relative to hdr_vaddr */
	uint64_t nfde;
};

struct unwind {
	int pid;
	struct umap *maps;
	size_t nmaps;
	struct ufile files[MAX_FILES];
	size_t nfiles;
	time_t last_read;
};

/* ---- Bytes ------------------------------------------------------------- */

struct cur {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rd(struct cur *c, size_t n)
{
	uint64_t v = 0;
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static uint64_t uleb(struct cur *c)
{
	uint64_t v = 0;
	for (unsigned s = 0; s < 64; s += 7) {
		uint64_t b = rd(c, 1);
		v |= (b & 0x7f) << s;
		if (!(b & 0x80) || c->bad)
			return v;
	}
	c->bad = 1;
	return 0;
}

static int64_t sleb(struct cur *c)
{
	uint64_t v = 0, b = 0;
	unsigned s = 0;
	do {
		if (s >= 64) {
			c->bad = 1;
			return 0;
		}
		b = rd(c, 1);
		v |= (b & 0x7f) << s;
		s += 7;
	} while ((b & 0x80) && !c->bad);
	if (s < 64 && (b & 0x40))
		v |= ~0ull << s;
	return (int64_t)v;
}

/* A pointer in encoding enc (DW_EH_PE_*) read at c, whose own address (a
 * file virtual address) is at; datarel is relative to data. 0 with bad set
 * for what x86-64 files do not use. */
static uint64_t eh_ptr(struct cur *c, uint8_t enc, uint64_t at, uint64_t data)
{
	uint64_t v;
	if (enc == 0xff)                /* DW_EH_PE_omit */
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = rd(c, 8); break;                         /* absptr */
	case 0x01: v = uleb(c); break;
	case 0x02: v = rd(c, 2); break;
	case 0x03: v = rd(c, 4); break;
	case 0x04: v = rd(c, 8); break;
	case 0x09: v = (uint64_t)sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd(c, 4); break;
	case 0x0c: v = rd(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: return v;
	case 0x10: return v + at;                               /* pcrel */
	case 0x30: return v + data;                             /* datarel */
	default: c->bad = 1; return 0;
	}
}

/* ---- Files ------------------------------------------------------------- */

/* The bytes at file virtual address va, n of them, through the PT_LOAD
 * segment holding them; NULL outside the file. */
static const uint8_t *at_vaddr(const struct ufile *f, uint64_t va, size_t n)
{
	for (uint16_t i = 0; i < f->nph; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type != PT_LOAD || va < p->p_vaddr || va - p->p_vaddr >= p->p_filesz ||
		    p->p_filesz - (va - p->p_vaddr) < n)
			continue;
		uint64_t off = p->p_offset + (va - p->p_vaddr);
		if (off > f->len || f->len - off < n)
			return NULL;
		return f->img + off;
	}
	return NULL;
}

/* Finds the table of the ELF file image img (len bytes) and fills f with
 * it: 0, or -1 when it has none that can be used. */
static int file_parse(struct ufile *f, const uint8_t *img, size_t len)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	if (len < sizeof(Elf64_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > len ||
	    (len - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum || eh->e_phoff % 8)
		return -1;
	f->img = img;
	f->len = len;
	f->ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	f->nph = eh->e_phnum;
	const Elf64_Phdr *eh_frame = NULL;
	for (uint16_t i = 0; i < f->nph; i++)
		if (f->ph[i].p_type == PT_GNU_EH_FRAME)
			eh_frame = &f->ph[i];
	if (!eh_frame || eh_frame->p_offset > len || len - eh_frame->p_offset < eh_frame->p_filesz ||
	    eh_frame->p_filesz < 12)
		return -1;
	f->hdr = img + eh_frame->p_offset;
	f->hdr_len = eh_frame->p_filesz;
	f->hdr_vaddr = eh_frame->p_vaddr;
	/* version 1; the table as pairs of datarel sdata4, which is what the
	 * linkers write. */
	struct cur c = { f->hdr, f->hdr + f->hdr_len, 0 };
	uint8_t version = (uint8_t)rd(&c, 1), ptr_enc = (uint8_t)rd(&c, 1), count_enc = (uint8_t)rd(&c, 1),
		table_enc = (uint8_t)rd(&c, 1);
	(void)eh_ptr(&c, ptr_enc, f->hdr_vaddr + 4, f->hdr_vaddr);
	uint64_t n = eh_ptr(&c, count_enc, f->hdr_vaddr + (uint64_t)(c.p - f->hdr), f->hdr_vaddr);
	if (c.bad || version != 1 || table_enc != 0x3b || n > (size_t)(c.end - c.p) / 8)
		return -1;
	f->table = c.p;
	f->nfde = n;
	return 0;
}

/* Maps the file and finds its table; f->img stays NULL when it has none
 * that can be used (then it is not tried again). */
static void file_load(struct ufile *f, int pid)
{
	char path[4200];
	int fd = -1;
	if (snprintf(path, sizeof(path), "/proc/%d/root%s", pid, f->path) < (int)sizeof(path))
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(f->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr) || st.st_size > (off_t)MAX_FILE) {
		close(fd);
		return;
	}
	void *img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return;
	if (file_parse(f, img, (size_t)st.st_size) != 0) {
		munmap(img, (size_t)st.st_size);
		f->img = NULL;
	}
}

static void file_free(struct ufile *f)
{
	if (f->img)
		munmap((void *)(uintptr_t)f->img, f->len);
	free(f->path);
}

/* ---- Mappings ---------------------------------------------------------- */

static void maps_free(struct unwind *u)
{
	for (size_t i = 0; i < u->nmaps; i++)
		free(u->maps[i].path);
	free(u->maps);
	u->maps = NULL;
	u->nmaps = 0;
}

/* Reads the executable mappings of files anew. */
static void maps_read(struct unwind *u)
{
	char path[64], line[4352];
	snprintf(path, sizeof(path), "/proc/%d/maps", u->pid);
	FILE *f = fopen(path, "re");
	maps_free(u);
	if (!f)
		return;
	size_t cap = 0;
	while (fgets(line, sizeof(line), f) && u->nmaps < MAX_MAPS) {
		unsigned long long a, b, off;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &a, &b, perms, &off, &at) != 4 || perms[2] != 'x' ||
		    !at || line[at] != '/')
			continue;
		line[strcspn(line, "\n")] = 0;
		if (u->nmaps == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct umap *n = realloc(u->maps, ncap * sizeof(*n));
			if (!n)
				break;
			u->maps = n;
			cap = ncap;
		}
		char *p = strdup(line + at);
		if (!p)
			break;
		u->maps[u->nmaps++] = (struct umap){ a, b, off, -1, p };
	}
	fclose(f);
}

static struct umap *map_of(struct unwind *u, uint64_t pc)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < u->nmaps; i++)
			if (pc >= u->maps[i].start && pc < u->maps[i].end)
				return &u->maps[i];
		/* A library loaded since: the maps again, at most once a second. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (pass || ts.tv_sec == u->last_read)
			return NULL;
		u->last_read = ts.tv_sec;
		maps_read(u);
	}
	return NULL;
}

static struct ufile *file_of(struct unwind *u, struct umap *m)
{
	if (m->file < 0) {
		for (size_t i = 0; i < u->nfiles && m->file < 0; i++)
			if (strcmp(u->files[i].path, m->path) == 0)
				m->file = (int)i;
		if (m->file < 0) {
			if (u->nfiles == MAX_FILES)
				return NULL;
			struct ufile *f = &u->files[u->nfiles];
			memset(f, 0, sizeof(*f));
			if (!(f->path = strdup(m->path)))
				return NULL;
			file_load(f, u->pid);
			m->file = (int)u->nfiles++;
		}
	}
	struct ufile *f = &u->files[m->file];
	return f->img ? f : NULL;
}

/* The file virtual address of pc in mapping m of f. */
static int vaddr_of(const struct ufile *f, const struct umap *m, uint64_t pc, uint64_t *va)
{
	uint64_t off = pc - m->start + m->off;
	for (uint16_t i = 0; i < f->nph; i++) {
		const Elf64_Phdr *p = &f->ph[i];
		if (p->p_type == PT_LOAD && off >= p->p_offset && off - p->p_offset < p->p_memsz) {
			*va = p->p_vaddr + (off - p->p_offset);
			return 0;
		}
	}
	return -1;
}

/* ---- Frame descriptions ------------------------------------------------ */

struct rules {
	int cfa_reg;            /* REG_RSP or REG_RBP; else unusable */
	int64_t cfa_off;
	int rbp_saved, ra_saved;        /* 1: at CFA + off; -1: unusable */
	int64_t rbp_off, ra_off;
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;
	uint8_t fde_enc;
	int signal;
	int sized;              /* 'z': FDEs carry sized augmentation data */
	const uint8_t *insns, *end;
};

/* The CIE at p (its length field), within f's table's section. */
static int cie_parse(const struct ufile *f, const uint8_t *p, struct cie *ci)
{
	const uint8_t *lo = f->img, *hi = f->img + f->len;
	if (p < lo || hi - p < 8)
		return -1;
	struct cur c = { p, hi, 0 };
	uint64_t len = rd(&c, 4);
	if (len == 0 || len >= 0xfffffff0u || len > (uint64_t)(c.end - c.p))
		return -1;
	c.end = c.p + len;
	if (rd(&c, 4) != 0)                     /* a CIE's id in .eh_frame */
		return -1;
	uint8_t version = (uint8_t)rd(&c, 1);
	const char *aug = (const char *)c.p;
	size_t aug_len = strnlen(aug, (size_t)(c.end - c.p));
	if (aug_len == (size_t)(c.end - c.p))
		return -1;
	c.p += aug_len + 1;
	memset(ci, 0, sizeof(*ci));
	ci->code_align = uleb(&c);
	ci->data_align = sleb(&c);
	ci->ra_reg = version == 1 ? rd(&c, 1) : uleb(&c);
	ci->fde_enc = 0;
	const uint8_t *after_aug = NULL;
	if (aug[0] == 'z') {
		ci->sized = 1;
		uint64_t n = uleb(&c);
		if (c.bad || n > (uint64_t)(c.end - c.p))
			return -1;
		after_aug = c.p + n;
		for (size_t i = 1; i < aug_len && !c.bad; i++) {
			switch (aug[i]) {
			case 'R': ci->fde_enc = (uint8_t)rd(&c, 1); break;
			case 'L': (void)rd(&c, 1); break;
			case 'P': {
				uint8_t enc = (uint8_t)rd(&c, 1);
				(void)eh_ptr(&c, enc & 0x7f, 0, 0);
				break;
			}
			case 'S': ci->signal = 1; break;
			default: c.p = after_aug; i = aug_len; break;   /* the rest is sized */
			}
		}
		c.p = after_aug;
	} else if (aug_len) {
		return -1;              /* an augmentation that cannot be skipped */
	}
	if (c.bad || ci->code_align == 0)
		return -1;
	ci->insns = c.p;
	ci->end = c.end;
	return 0;
}

/* A factored offset (v times the CIE's data alignment), wrapping as the
 * untrusted numbers may: a signed product could overflow. */
static int64_t factored(uint64_t v, int64_t align)
{
	return (int64_t)(v * (uint64_t)align);
}

/* reg's value is kept some way this walk does not follow (in another
 * register, by an expression): rbp or the return address then cannot be
 * had. */
static void rule_unusable(struct rules *r, const struct cie *ci, uint64_t reg)
{
	if (reg == REG_RBP)
		r->rbp_saved = -1;
	if (reg == ci->ra_reg)
		r->ra_saved = -1;
}

/* Runs instructions [p, end) from loc, stopping past pc; init holds the
 * CIE's rules (for DW_CFA_restore). Returns -1 on what cannot be read. */
static int run_insns(const struct cie *ci, const uint8_t *p, const uint8_t *end, uint64_t loc, uint64_t pc,
		     struct rules *r, const struct rules *init)
{
	struct rules stack[MAX_STATES];
	int depth = 0;
	struct cur c = { p, end, 0 };

	for (int n = 0; c.p < c.end && n < MAX_INSNS; n++) {
		uint8_t op = (uint8_t)rd(&c, 1);
		uint64_t reg = 0, delta = 0;
		int64_t off = 0;
		switch (op >> 6) {
		case 1:                                          /* advance_loc */
			delta = (op & 0x3f) * ci->code_align;
			goto advance;
		case 2:                                          /* offset */
			reg = op & 0x3f;
			off = factored(uleb(&c), ci->data_align);
			goto saved;
		case 3:                                          /* restore */
			reg = op & 0x3f;
			goto restore;
		}
		switch (op) {
		case 0x00: break;                                /* nop */
		case 0x01: return -1;                            /* set_loc: not in .eh_frame of x86-64 */
		case 0x02: delta = rd(&c, 1) * ci->code_align; goto advance;
		case 0x03: delta = rd(&c, 2) * ci->code_align; goto advance;
		case 0x04: delta = rd(&c, 4) * ci->code_align; goto advance;
		case 0x05: reg = uleb(&c); off = factored(uleb(&c), ci->data_align); goto saved;
		case 0x06: reg = uleb(&c); goto restore;
		case 0x07: case 0x08:                            /* undefined, same_value */
			reg = uleb(&c);
			if (reg == REG_RBP)
				r->rbp_saved = 0;
			if (reg == ci->ra_reg)
				r->ra_saved = -1;
			break;
		case 0x09:                                       /* register */
			reg = uleb(&c);
			(void)uleb(&c);
			rule_unusable(r, ci, reg);
			break;
		case 0x0a:                                       /* remember_state */
			if (depth == MAX_STATES)
				return -1;
			stack[depth++] = *r;
			break;
		case 0x0b:                                       /* restore_state */
			if (depth == 0)
				return -1;
			*r = stack[--depth];
			break;
		case 0x0c: r->cfa_reg = (int)uleb(&c); r->cfa_off = (int64_t)uleb(&c); break;
		case 0x0d: r->cfa_reg = (int)uleb(&c); break;
		case 0x0e: r->cfa_off = (int64_t)uleb(&c); break;
		case 0x0f: {                                     /* def_cfa_expression */
			uint64_t n = uleb(&c);
			if (n > (uint64_t)(c.end - c.p))
				return -1;
			c.p += n;
			r->cfa_reg = -1;
			break;
		}
		case 0x10: case 0x16: {                          /* expression, val_expression */
			reg = uleb(&c);
			uint64_t n = uleb(&c);
			if (c.bad || n > (uint64_t)(c.end - c.p))
				return -1;
			c.p += n;
			rule_unusable(r, ci, reg);
			break;
		}
		case 0x11: reg = uleb(&c); off = factored((uint64_t)sleb(&c), ci->data_align); goto saved;
		case 0x12: r->cfa_reg = (int)uleb(&c); r->cfa_off = factored((uint64_t)sleb(&c), ci->data_align); break;
		case 0x13: r->cfa_off = factored((uint64_t)sleb(&c), ci->data_align); break;
		case 0x14: case 0x15:                            /* val_offset(_sf): a value, not a place */
			reg = uleb(&c);
			if (op == 0x14)
				(void)uleb(&c);
			else
				(void)sleb(&c);
			rule_unusable(r, ci, reg);
			break;
		case 0x2e: (void)uleb(&c); break;                /* GNU_args_size */
		case 0x2f: reg = uleb(&c); off = factored(0 - uleb(&c), ci->data_align); goto saved;
		default: return -1;
		}
		if (c.bad)
			return -1;
		continue;
advance:
		if (c.bad)
			return -1;
		loc += delta;
		if (loc > pc)
			return 0;
		continue;
saved:
		if (c.bad)
			return -1;
		if (reg == REG_RBP) {
			r->rbp_saved = 1;
			r->rbp_off = off;
		}
		if (reg == ci->ra_reg) {
			r->ra_saved = 1;
			r->ra_off = off;
		}
		continue;
restore:
		if (c.bad)
			return -1;
		if (init && reg == REG_RBP) {
			r->rbp_saved = init->rbp_saved;
			r->rbp_off = init->rbp_off;
		}
		if (init && reg == ci->ra_reg) {
			r->ra_saved = init->ra_saved;
			r->ra_off = init->ra_off;
		}
	}
	return c.bad ? -1 : 0;
}

/* The rules at file virtual address pc of f. */
static int rules_at(const struct ufile *f, uint64_t pc, struct rules *r, uint64_t *fn_start)
{
	/* The last table entry starting at or before pc. */
	uint64_t lo = 0, hi = f->nfde;
	if (!hi)
		return -1;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		int32_t start = (int32_t)(uint32_t)(f->table[mid * 8] | f->table[mid * 8 + 1] << 8 |
						    f->table[mid * 8 + 2] << 16 | (uint32_t)f->table[mid * 8 + 3] << 24);
		if (f->hdr_vaddr + (uint64_t)(int64_t)start <= pc)
			lo = mid;
		else
			hi = mid;
	}
	struct cur t = { f->table + lo * 8, f->table + f->nfde * 8, 0 };
	uint64_t start = f->hdr_vaddr + (uint64_t)(int64_t)(int32_t)rd(&t, 4);
	uint64_t fde_va = f->hdr_vaddr + (uint64_t)(int64_t)(int32_t)rd(&t, 4);
	if (t.bad || start > pc)
		return -1;
	const uint8_t *fde = at_vaddr(f, fde_va, 8);
	if (!fde)
		return -1;
	struct cur c = { fde, f->img + f->len, 0 };
	uint64_t len = rd(&c, 4);
	if (len == 0 || len >= 0xfffffff0u || len > (uint64_t)(c.end - c.p))
		return -1;
	c.end = c.p + len;
	const uint8_t *id_at = c.p;
	uint32_t cie_ptr = (uint32_t)rd(&c, 4);
	if (c.bad || cie_ptr == 0 || cie_ptr > (uint64_t)(id_at - f->img))
		return -1;
	struct cie ci;
	if (cie_parse(f, id_at - cie_ptr, &ci) != 0 || ci.signal)
		return -1;
	uint64_t pc_va = fde_va + (uint64_t)(c.p - fde);
	uint64_t begin = eh_ptr(&c, ci.fde_enc, pc_va, f->hdr_vaddr);
	uint64_t range = eh_ptr(&c, ci.fde_enc & 0x0f, 0, 0);
	if (c.bad || pc < begin || pc - begin >= range)
		return -1;
	if (fn_start)
		*fn_start = begin;
	/* 'z': the FDE's augmentation data is sized. */
	if (ci.sized) {
		uint64_t n = uleb(&c);
		if (c.bad || n > (uint64_t)(c.end - c.p))
			return -1;
		c.p += n;
	}
	*r = (struct rules){ .cfa_reg = -1 };
	if (run_insns(&ci, ci.insns, ci.end, begin, UINT64_MAX, r, NULL) != 0)
		return -1;
	struct rules init = *r;
	return run_insns(&ci, c.p, c.end, begin, pc, r, &init);
}

/* ---- Stepping ---------------------------------------------------------- */

struct unwind *unwind_open(int pid)
{
	struct unwind *u = calloc(1, sizeof(*u));
	if (u)
		u->pid = pid;
	return u;
}

void unwind_close(struct unwind *u)
{
	if (!u)
		return;
	maps_free(u);
	for (size_t i = 0; i < u->nfiles; i++)
		file_free(&u->files[i]);
	free(u);
}

/* unwind_step in mapping m of file f, pc being the address looked up. */
static int step_in(const struct ufile *f, const struct umap *m, uint64_t pc, uint64_t *ip, uint64_t *sp, uint64_t *bp,
		   uint64_t *slot, unwind_read_fn read, void *ctx)
{
	uint64_t va;
	struct rules r;

	if (vaddr_of(f, m, pc, &va) != 0 || rules_at(f, va, &r, NULL) != 0 || r.ra_saved != 1 || r.rbp_saved < 0)
		return -1;
	uint64_t cfa;
	if (r.cfa_reg == REG_RSP)
		cfa = *sp + (uint64_t)r.cfa_off;
	else if (r.cfa_reg == REG_RBP)
		cfa = *bp + (uint64_t)r.cfa_off;
	else
		return -1;
	uint64_t ra, nbp = *bp;
	/* The caller's frame is above this one: a CFA at or below sp is not. */
	if (cfa <= *sp || cfa - *sp > (1u << 20) || read(ctx, cfa + (uint64_t)r.ra_off, &ra, sizeof(ra)) != 0)
		return -1;
	if (r.rbp_saved == 1 && read(ctx, cfa + (uint64_t)r.rbp_off, &nbp, sizeof(nbp)) != 0)
		return -1;
	*slot = cfa + (uint64_t)r.ra_off;
	*ip = ra;
	*sp = cfa;
	*bp = nbp;
	return 0;
}

int unwind_step(struct unwind *u, int first, uint64_t *ip, uint64_t *sp, uint64_t *bp, uint64_t *slot,
		unwind_read_fn read, void *ctx)
{
	uint64_t pc = first ? *ip : *ip - 1;
	struct umap *m;
	struct ufile *f;

	if (!u || !*ip || !(m = map_of(u, pc)) || !(f = file_of(u, m)))
		return -1;
	return step_in(f, m, pc, ip, sp, bp, slot, read, ctx);
}

int unwind_function_start(struct unwind *u, uint64_t pc, uint64_t *start)
{
	struct umap *m;
	struct ufile *f;
	struct rules r;
	uint64_t va, begin;

	if (!u || !pc || !(m = map_of(u, pc)) || !(f = file_of(u, m)) || vaddr_of(f, m, pc, &va) != 0 ||
	    rules_at(f, va, &r, &begin) != 0)
		return -1;
	*start = pc - (va - begin);
	return 0;
}

int unwind_step_image(const uint8_t *img, size_t len, uint64_t start, uint64_t end, uint64_t off, int first,
		      uint64_t *ip, uint64_t *sp, uint64_t *bp, uint64_t *slot, unwind_read_fn read, void *ctx)
{
	uint64_t pc = first ? *ip : *ip - 1;
	struct ufile f = { 0 };
	struct umap m = { start, end, off, 0, NULL };

	if (!*ip || pc < start || pc >= end || file_parse(&f, img, len) != 0)
		return -1;
	return step_in(&f, &m, pc, ip, sp, bp, slot, read, ctx);
}
