/* bpfobj.c — turns the BPF object embedded in hud into live maps and
 * programs: libelf parses it (loader_parse, no system calls, fuzzed by
 * tests/fuzz/fuzz_bpfobj.c), bpf(BPF_MAP_CREATE) makes each map of the
 * "maps" section, map references in the code are patched with the new fds,
 * and bpf(BPF_PROG_LOAD) loads each program section. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <gelf.h>
#include "loader/kbtf.h"
#include "loader/loader_int.h"

/* The object, linked in by loader/embed.S from build/bpf.o. */
extern const unsigned char hud_bpf_object[];
extern const unsigned char hud_bpf_object_end[];

const unsigned char *loader_object(size_t *len)
{
	*len = (size_t)(hud_bpf_object_end - hud_bpf_object);
	return hud_bpf_object;
}

/* What a section name says about the program in it. */
static uint32_t prog_type_of(const char *section)
{
	if (strncmp(section, "tp_btf/", 7) == 0)
		return BPF_PROG_TYPE_TRACING;
	if (strcmp(section, "perf_event") == 0)
		return BPF_PROG_TYPE_PERF_EVENT;
	if (strncmp(section, "tracepoint/", 11) == 0)
		return BPF_PROG_TYPE_TRACEPOINT;
	return BPF_PROG_TYPE_UNSPEC;
}

static int map_create(struct loaded_map *m, char *err, size_t errlen)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = m->def.type;
	a.key_size = m->def.key_size;
	a.value_size = m->def.value_size;
	a.max_entries = m->def.max_entries;
	a.map_flags = m->def.map_flags;
	/* The kernel shows this name in bpftool; 15 characters at most. */
	snprintf(a.map_name, sizeof(a.map_name), "hud_%.10s", m->name);
	m->fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
	if (m->fd < 0) {
		loader_fail(err, errlen, errno, "hud: cannot create BPF map %s (bpf BPF_MAP_CREATE)", m->name);
		return -1;
	}
	return 0;
}

/* Keeps the last lines of a verifier log that fit: the rejection reason is at
 * the end. */
static void log_tail(char *dst, size_t dstlen, const char *log)
{
	size_t n = strlen(log);
	const char *p = log;

	if (n + 1 > dstlen) {
		p = log + n - (dstlen - 1);
		const char *nl = strchr(p, '\n');
		if (nl && nl[1])
			p = nl + 1;
	}
	n = strlen(p);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, p, n);
	dst[n] = 0;
}

/* What the tp_btf programs need from the running kernel, out of its BTF:
 * the offsets of their HUD_KOFF_* loads, the values of their HUD_KC_*
 * constants, and the id of bpf_rdonly_cast (0: not there, or not used). */
struct kernel_facts {
	int known;
	long koff[HUD_KOFF_COUNT];
	long kc[HUD_KC_COUNT];
	uint32_t rdonly_cast;
};

static int shortcuts_off;       /* LOADER_* shortcuts the next loader_open leaves out */

void loader_set_shortcuts_off(int shortcuts)
{
	shortcuts_off = shortcuts;
}

/* Each LOADER_* shortcut and the HUD_KC_* constant that turns it on. */
static const struct { int shortcut, kc; } shortcut_kcs[] = {
	{ LOADER_REGS_IN_PLACE, HUD_KC_REGS_CAST }, { LOADER_RQ_CLOCK, HUD_KC_RQ_CLOCK },
	{ LOADER_RUN_DELAY, HUD_KC_RUN_DELAY }, { LOADER_IO_CALLS, HUD_KC_IO_CALLS },
	{ LOADER_WAKE_QUEUED, HUD_KC_WAKE_QUEUED },
};

/* The shortcuts kf takes. */
static int kf_shortcuts(const struct kernel_facts *kf)
{
	int taken = 0;

	for (size_t i = 0; i < sizeof(shortcut_kcs) / sizeof(shortcut_kcs[0]); i++)
		if (kf->kc[shortcut_kcs[i].kc - HUD_KC_BASE])
			taken |= shortcut_kcs[i].shortcut;
	return taken;
}

/* Turns off kf's shortcuts in mask, and what needs them: the kfunc with
 * the registers in place, the wakeups from the tasks with the run queue's
 * clock (the same clock). */
static void kf_drop_shortcuts(struct kernel_facts *kf, int mask)
{
	if (mask & LOADER_RQ_CLOCK)
		mask |= LOADER_WAKE_QUEUED;
	for (size_t i = 0; i < sizeof(shortcut_kcs) / sizeof(shortcut_kcs[0]); i++)
		if (mask & shortcut_kcs[i].shortcut)
			kf->kc[shortcut_kcs[i].kc - HUD_KC_BASE] = 0;
	if (mask & LOADER_REGS_IN_PLACE)
		kf->rdonly_cast = 0;
}

/* The kernel's BTF, for the tp_btf programs: the attach target of
 * "tp_btf/NAME" is the type btf_trace_NAME, and kf is worked out at the
 * first program. */
static const struct kbtf *kernel_types(struct kernel_facts *kf, char *err, size_t errlen)
{
	const struct kbtf *k = kbtf_kernel(err, errlen);

	if (!k || kf->known)
		return k;
	kf->koff[HUD_KOFF_TASK_PID - HUD_KOFF_BASE] = kbtf_member_offset(k, "task_struct", "pid");
	kf->koff[HUD_KOFF_TASK_STATE - HUD_KOFF_BASE] = kbtf_member_offset(k, "task_struct", "__state");
	if (kf->koff[HUD_KOFF_TASK_STATE - HUD_KOFF_BASE] < 0)
		kf->koff[HUD_KOFF_TASK_STATE - HUD_KOFF_BASE] = kbtf_member_offset(k, "task_struct", "state");
	kf->koff[HUD_KOFF_TASK_STACK - HUD_KOFF_BASE] = kbtf_member_offset(k, "task_struct", "stack");
	kf->koff[HUD_KOFF_TASK_TGID - HUD_KOFF_BASE] = kbtf_member_offset(k, "task_struct", "tgid");
	static const int needed[] = { HUD_KOFF_TASK_PID, HUD_KOFF_TASK_STATE, HUD_KOFF_TASK_STACK, HUD_KOFF_TASK_TGID };
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		long off = kf->koff[needed[i] - HUD_KOFF_BASE];
		if (off < 0 || off >= HUD_KOFF_BASE) {
			snprintf(err, errlen, "hud: this kernel's task_struct has no field hud reads (its BTF "
				 "names no pid, tgid, __state or stack); report the kernel version (uname -r)");
			return NULL;
		}
	}
	/* Registers read in place: only with all three. */
	kf->rdonly_cast = kbtf_find(k, KBTF_KIND_FUNC, "bpf_rdonly_cast");
	kf->kc[HUD_KC_PT_REGS_ID - HUD_KC_BASE] = kbtf_find(k, KBTF_KIND_STRUCT, "pt_regs");
	if (!kf->kc[HUD_KC_PT_REGS_ID - HUD_KC_BASE])
		kf->rdonly_cast = 0;
	kf->kc[HUD_KC_REGS_CAST - HUD_KC_BASE] = kf->rdonly_cast != 0;
	/* The run queue's clock in place: only with the whole path (a kernel
	 * without CONFIG_FAIR_GROUP_SCHED has no se.cfs_rq); else the loads
	 * are unreachable and their offsets 0. */
	static const char *const rq_path[][2] = {
		{ "task_struct", "se.cfs_rq" }, { "cfs_rq", "rq" }, { "rq", "clock" },
	};
	int rq_clock = 1;
	for (int i = 0; i < 3; i++) {
		long off = kbtf_member_offset(k, rq_path[i][0], rq_path[i][1]);
		int found = off >= 0 && off < HUD_KOFF_BASE;
		rq_clock = rq_clock && found;
		kf->koff[HUD_KOFF_TASK_CFS_RQ - HUD_KOFF_BASE + i] = found ? off : 0;
	}
	kf->kc[HUD_KC_RQ_CLOCK - HUD_KC_BASE] = rq_clock;
	/* The thread pointer, for the sampler's read of Tokio's CONTEXT
	 * (optional: where it is not known, the load reads the task's first
	 * word and loader_configure turns the read off). */
	long fs = kbtf_member_offset(k, "task_struct", "thread.fsbase");
	kf->koff[HUD_KOFF_TASK_FSBASE - HUD_KOFF_BASE] = fs > 0 && fs < HUD_KOFF_BASE ? fs : 0;
	/* The thread's wait for a CPU so far, for the sampler (optional: the
	 * load is unreachable without it). */
	long delay = kbtf_member_offset(k, "task_struct", "sched_info.run_delay");
	kf->kc[HUD_KC_RUN_DELAY - HUD_KC_BASE] = delay > 0 && delay < HUD_KOFF_BASE;
	kf->koff[HUD_KOFF_TASK_RUN_DELAY - HUD_KOFF_BASE] = delay > 0 && delay < HUD_KOFF_BASE ? delay : 0;
	/* The thread's read and write calls done, for the session's joining
	 * of one call's records (optional, as above). */
	long syscr = kbtf_member_offset(k, "task_struct", "ioac.syscr");
	long syscw = kbtf_member_offset(k, "task_struct", "ioac.syscw");
	int io = syscr > 0 && syscr < HUD_KOFF_BASE && syscw > 0 && syscw < HUD_KOFF_BASE;
	kf->kc[HUD_KC_IO_CALLS - HUD_KC_BASE] = io;
	kf->koff[HUD_KOFF_TASK_SYSCR - HUD_KOFF_BASE] = io ? syscr : 0;
	kf->koff[HUD_KOFF_TASK_SYSCW - HUD_KOFF_BASE] = io ? syscw : 0;
	/* When a worker was last queued, for sched_switch (optional: without
	 * it, or without the run queue's clock, the sched_wakeup program marks
	 * the wakeups). */
	long queued = kbtf_member_offset(k, "task_struct", "sched_info.last_queued");
	int wake_queued = rq_clock && queued > 0 && queued < HUD_KOFF_BASE;
	kf->kc[HUD_KC_WAKE_QUEUED - HUD_KC_BASE] = wake_queued;
	kf->koff[HUD_KOFF_TASK_LAST_QUEUED - HUD_KOFF_BASE] = wake_queued ? queued : 0;
	/* A shortcut left out takes the way a kernel without it takes
	 * (loader_set_shortcuts_off: the tests of those ways). */
	kf_drop_shortcuts(kf, shortcuts_off);
	kf->known = 1;
	return k;
}

/* 1 when o's sched_switch program was loaded reading each worker's wakeup
 * from its task (LOADER_WAKE_QUEUED). */
static int switch_reads_wakeups(const struct bpf_obj *o)
{
	for (int i = 0; i < o->nprogs; i++)
		if (strcmp(o->progs[i].section, "tp_btf/sched_switch") == 0)
			return (o->progs[i].shortcuts & LOADER_WAKE_QUEUED) != 0;
	return 0;
}

/* Writes kf into a copy of a program's instructions: the kernel's offsets
 * into the loads at HUD_KOFF_* placeholders, its constants into the moves
 * of HUD_KC_* ones, and the kfunc calls (see hud_bpf.h). NULL for a
 * placeholder the loader does not know, or no memory (errno). */
struct bpf_insn *loader_patch_kernel(const struct bpf_insn *in, size_t n, const long koff[HUD_KOFF_COUNT],
				     const long kc[HUD_KC_COUNT], uint32_t rdonly_cast)
{
	struct bpf_insn *insns = malloc(n * sizeof(*insns) + 1);

	if (!insns)
		return NULL;
	memcpy(insns, in, n * sizeof(*insns));
	for (size_t i = 0; i < n; i++) {
		struct bpf_insn *x = &insns[i];
		if (BPF_CLASS(x->code) == BPF_LDX && BPF_MODE(x->code) == BPF_MEM && x->off >= HUD_KOFF_BASE) {
			if (x->off >= HUD_KOFF_BASE + HUD_KOFF_COUNT)
				goto unknown;
			x->off = (int16_t)koff[x->off - HUD_KOFF_BASE];
		} else if (x->code == (BPF_ALU64 | BPF_MOV | BPF_K) && (uint32_t)x->imm >= HUD_KC_BASE &&
			   (uint32_t)x->imm < HUD_KC_BASE + 0x100) {
			if ((uint32_t)x->imm >= HUD_KC_BASE + HUD_KC_COUNT)
				goto unknown;
			x->imm = (int32_t)kc[(uint32_t)x->imm - HUD_KC_BASE];
		} else if (x->code == (BPF_JMP | BPF_CALL) && x->src_reg == 0 && x->imm == HUD_KFUNC_RDONLY_CAST) {
			if (rdonly_cast) {
				x->src_reg = BPF_PSEUDO_KFUNC_CALL;
				x->off = 0;
				x->imm = (int32_t)rdonly_cast;
			} else {
				*x = (struct bpf_insn){ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 };
			}
		}
	}
	return insns;

unknown:
	free(insns);
	errno = EINVAL;
	return NULL;
}

/* How many instructions the verifier walked to accept the program (its
 * start-up cost; Linux 5.16+), 0 where the kernel does not say. */
static uint32_t verified_insns(int prog_fd)
{
	struct bpf_prog_info info;

	return loader_obj_info(prog_fd, &info, sizeof(info)) < 0 ? 0 : info.verified_insns;
}

static int prog_load(struct loaded_prog *p, const struct bpf_insn *insns, size_t ninsns,
		     const char *license, uint32_t attach_btf_id, char *err, size_t errlen)
{
	union bpf_attr a;
	static char log[1 << 20];

	memset(&a, 0, sizeof(a));
	a.prog_type = p->type;
	if (p->type == BPF_PROG_TYPE_TRACING) {
		a.expected_attach_type = BPF_TRACE_RAW_TP;
		a.attach_btf_id = attach_btf_id;
	}
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)ninsns;
	a.license = (uint64_t)(uintptr_t)license;
	/* hud_ + the event's name: hud_sched_switch, hud_sched_wakeup, hud_sample */
	const char *slash = strrchr(p->section, '/');
	snprintf(a.prog_name, sizeof(a.prog_name), "hud_%.11s",
		 p->type != BPF_PROG_TYPE_PERF_EVENT && slash ? slash + 1 : "sample");
	uint64_t start = loader_now_ns();
	p->fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (p->fd >= 0) {
		p->load_ns = loader_now_ns() - start;
		p->verified_insns = verified_insns(p->fd);
		return 0;
	}
	int e = errno;
	if (e == EPERM) {
		loader_fail(err, errlen, e, "hud: cannot load the BPF program %s", p->section);
		return -1;
	}
	/* Again with the verifier's log, which says why (EACCES is also the
	 * verifier refusing a memory access; an empty log means privileges). */
	log[0] = 0;
	a.log_level = 1;
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	p->fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (p->fd >= 0)
		return 0;
	if (e == EACCES && !log[0]) {
		loader_fail(err, errlen, e, "hud: cannot load the BPF program %s", p->section);
		return -1;
	}
	char tail[1024];
	log_tail(tail, sizeof(tail), log);
	snprintf(err, errlen, "hud: the kernel's verifier rejected the BPF program %s (%s); "
		 "verifier log ends:\n%s", p->section, strerror(e), tail);
	return -1;
}

/* ---- Parsing (no system calls) -------------------------------------------- */

static const char relocation_msg[] =
	"hud: the embedded BPF object has a relocation hud cannot apply; rebuild with ./build.sh";

/* Records every map reference of one program section. A relocation must
 * target a 64-bit immediate load (the only way a map reaches BPF code) and a
 * symbol of the "maps" section; anything else means the object was built
 * wrongly, so it is refused rather than guessed at. */
static int relocations(struct bpf_parsed *out, struct bpf_parsed_prog *p, Elf_Scn *rel_scn,
		       const GElf_Shdr *rel_sh, Elf_Data *symtab, size_t maps_idx, char *err, size_t errlen)
{
	Elf_Data *d = elf_getdata(rel_scn, NULL);
	size_t n = rel_sh->sh_entsize ? rel_sh->sh_size / rel_sh->sh_entsize : 0;
	const struct bpf_insn *insns = (const struct bpf_insn *)p->insns;

	if (!d || n > INT32_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		GElf_Rel rel;
		GElf_Sym sym;
		if (!gelf_getrel(d, (int)i, &rel) || GELF_R_SYM(rel.r_info) > INT32_MAX ||
		    !gelf_getsym(symtab, (int)GELF_R_SYM(rel.r_info), &sym))
			goto bad;
		uint64_t at = rel.r_offset / sizeof(struct bpf_insn);
		if (rel.r_offset % sizeof(struct bpf_insn) || at + 1 >= p->ninsns ||
		    insns[at].code != (BPF_LD | BPF_IMM | BPF_DW) || sym.st_shndx != maps_idx)
			goto bad;
		int found = -1;
		for (int m = 0; m < out->nmaps; m++)
			if (out->maps[m].offset == sym.st_value)
				found = m;
		if (found < 0)
			goto bad;
		struct bpf_parsed_reloc *r = realloc(p->relocs, (p->nrelocs + 1) * sizeof(*r));
		if (!r) {
			snprintf(err, errlen, "hud: out of memory");
			return -1;
		}
		p->relocs = r;
		r[p->nrelocs].insn = (uint32_t)at;
		r[p->nrelocs].map = (uint32_t)found;
		p->nrelocs++;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s", relocation_msg);
	return -1;
}

/* One map definition for each symbol of the "maps" section. */
static int maps_parse(struct bpf_parsed *out, Elf *elf, Elf_Data *symtab, size_t nsyms, size_t strtab_idx,
		      size_t maps_idx, Elf_Data *maps, char *err, size_t errlen)
{
	for (size_t i = 0; i < nsyms && i <= INT32_MAX; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(symtab, (int)i, &sym) || sym.st_shndx != maps_idx ||
		    GELF_ST_TYPE(sym.st_info) == STT_SECTION)
			continue;
		const char *name = elf_strptr(elf, strtab_idx, sym.st_name);
		/* st_value is compared, not added to: a huge one must not wrap. */
		if (!name || out->nmaps == LOADER_MAX_MAPS || !maps->d_buf ||
		    maps->d_size < sizeof(struct hud_map_def) ||
		    sym.st_value > maps->d_size - sizeof(struct hud_map_def)) {
			snprintf(err, errlen, "hud: the embedded BPF object's maps are malformed; rebuild with ./build.sh");
			return -1;
		}
		struct bpf_parsed_map *m = &out->maps[out->nmaps++];
		snprintf(m->name, sizeof(m->name), "%s", name);
		memcpy(&m->def, (const char *)maps->d_buf + sym.st_value, sizeof(m->def));
		m->offset = sym.st_value;
	}
	return 0;
}

void loader_parsed_free(struct bpf_parsed *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nprogs; i++) {
		free(p->progs[i].insns);
		free(p->progs[i].relocs);
	}
	memset(p, 0, sizeof(*p));
}

/* Finds the symbol table, the license, the maps, then each program section
 * and its relocations. */
int loader_parse(const void *obj, size_t len, struct bpf_parsed *out, char *err, size_t errlen)
{
	Elf *elf = NULL;
	size_t shstrndx, maps_idx = 0, strtab_idx = 0, nsyms = 0;
	Elf_Data *symtab = NULL, *maps = NULL;
	int have_license = 0;
	Elf_Scn *scn = NULL;

	memset(out, 0, sizeof(*out));
	/* libelf only reads the image for ELF_C_READ (elf_memory); the cast
	 * drops a const its old interface lacks. */
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(elf = elf_memory((char *)(uintptr_t)obj, len)) || elf_getshdrstrndx(elf, &shstrndx) != 0)
		goto malformed;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			goto malformed;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = elf_getdata(scn, NULL);
			strtab_idx = sh.sh_link;
			nsyms = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
		} else if (strcmp(name, "maps") == 0) {
			maps = elf_getdata(scn, NULL);
			maps_idx = elf_ndxscn(scn);
		} else if (strcmp(name, "license") == 0) {
			Elf_Data *d = elf_getdata(scn, NULL);
			if (d && d->d_buf && d->d_size && d->d_size <= sizeof(out->license) &&
			    ((const char *)d->d_buf)[d->d_size - 1] == 0) {
				memcpy(out->license, d->d_buf, d->d_size);
				have_license = 1;
			}
		}
	}
	if (!symtab || !maps || !have_license)
		goto malformed;
	if (maps_parse(out, elf, symtab, nsyms, strtab_idx, maps_idx, maps, err, errlen) < 0)
		goto fail;

	scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			goto malformed;
		if (sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) || sh.sh_size == 0)
			continue;
		uint32_t type = prog_type_of(name);
		Elf_Data *code = elf_getdata(scn, NULL);
		if (type == BPF_PROG_TYPE_UNSPEC || !code || !code->d_buf || code->d_size == 0 ||
		    code->d_size % sizeof(struct bpf_insn) || out->nprogs == LOADER_MAX_PROGS)
			goto malformed;
		struct bpf_parsed_prog *p = &out->progs[out->nprogs++];
		snprintf(p->section, sizeof(p->section), "%s", name);
		p->type = type;
		p->ninsns = code->d_size / sizeof(struct bpf_insn);
		if (!(p->insns = malloc(code->d_size))) {
			snprintf(err, errlen, "hud: out of memory");
			goto fail;
		}
		memcpy(p->insns, code->d_buf, code->d_size);
		/* Its relocations live in the SHT_REL section whose sh_info names it. */
		Elf_Scn *rs = NULL;
		while ((rs = elf_nextscn(elf, rs))) {
			GElf_Shdr rsh;
			if (gelf_getshdr(rs, &rsh) && rsh.sh_type == SHT_REL && rsh.sh_info == elf_ndxscn(scn) &&
			    relocations(out, p, rs, &rsh, symtab, maps_idx, err, errlen) < 0)
				goto fail;
		}
	}
	if (out->nprogs == 0)
		goto malformed;
	elf_end(elf);
	return 0;

malformed:
	snprintf(err, errlen, "hud: the embedded BPF object is malformed (%s); rebuild with ./build.sh",
		 elf_errmsg(-1) ? elf_errmsg(-1) : "missing sections");
fail:
	if (elf)
		elf_end(elf);
	return -1;
}

/* ---- Loading ---------------------------------------------------------------- */

static uint32_t ringbuf_bytes;

void loader_set_ringbuf_bytes(uint32_t bytes)
{
	ringbuf_bytes = bytes;
}

uint32_t loader_ringbuf_size(int freq, long cpus, long possible)
{
	uint64_t want = (uint64_t)(freq > 0 ? freq : 1) * (uint64_t)(cpus > 0 ? cpus : 1) * 800u;
	uint64_t floor = (uint64_t)(possible > 0 ? possible : 1) * HUD_SAMPLE_SLOTS_LEAST * sizeof(struct hud_sample);
	uint32_t bytes = HUD_RINGBUF_BYTES;

	if (want < floor)
		want = floor;

	while (bytes < want && bytes < (64u << 20))
		bytes <<= 1;
	return bytes;
}

/* Slots of each CPU's part of "samples" for rings of bytes in all: a
 * power of two, at least 2, at most 65,536. */
static uint32_t sample_slots(uint64_t bytes, int ncpus)
{
	uint64_t per = bytes / (uint64_t)(ncpus > 0 ? ncpus : 1) / sizeof(struct hud_sample);
	uint32_t n = 2;

	while ((uint64_t)n * 2 <= per && n < (1u << 16))
		n *= 2;
	return n;
}

/* Maps the "threads" table into hud: user space reads the kernel side's
 * per-thread state in place and writes its own fields (tid, worker id, idle
 * sites) the same way, without a system call and without overwriting what
 * the kernel side keeps in the same entry. */
static int threads_map(struct bpf_obj *o, char *err, size_t errlen)
{
	int fd = loader_map_fd(o, "threads");
	size_t len = (size_t)HUD_THREAD_SLOTS * sizeof(struct hud_thread);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	if (fd < 0 || page <= 0) {
		snprintf(err, errlen, "hud: the BPF object has no \"threads\" map; the build is broken");
		return -1;
	}
	len = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		loader_fail(err, errlen, errno, "hud: cannot map the BPF thread table (BPF_F_MMAPABLE needs Linux 5.5)");
		return -1;
	}
	o->threads = p;
	o->threads_len = len;
	return 0;
}

/* Loads a program with kf written in. Reading registers and the run
 * queue's clock in place are shortcuts: where the kernel refuses the
 * program with them, it (and the next ones) are loaded without. */
static int prog_load_patched(struct bpf_obj *o, struct loaded_prog *p, const struct bpf_parsed_prog *pp,
			     struct kernel_facts *kf, const char *license, uint32_t target, char *err, size_t errlen)
{
	for (;;) {
		struct bpf_insn *insns = loader_patch_kernel((const struct bpf_insn *)pp->insns, pp->ninsns,
							     kf->koff, kf->kc, kf->rdonly_cast);
		if (!insns) {
			snprintf(err, errlen, errno == ENOMEM ? "hud: out of memory" :
				 "hud: internal error: %s uses an unknown kernel field or constant", pp->section);
			return -1;
		}
		int rc = prog_load(p, insns, pp->ninsns, license, target, err, errlen);
		free(insns);
		int shortcuts = kf_shortcuts(kf);
		if (rc == 0 || !shortcuts) {
			o->shortcuts = p->shortcuts = rc == 0 ? shortcuts : 0;
			return rc;
		}
		kf_drop_shortcuts(kf, shortcuts);
	}
}

uint64_t loader_tick_of(const char *timer_list)
{
	static const unsigned hz[] = { 100, 250, 300, 1000, 24, 32, 48, 64, 128, 200, 256, 500, 512, 1024, 1200 };
	const char *now = strstr(timer_list, "now at "), *jif = strstr(timer_list, "\njiffies: ");
	unsigned long long now_ns, jiffies;

	if (!now || !jif || sscanf(now, "now at %llu nsecs", &now_ns) != 1 ||
	    sscanf(jif, "\njiffies: %llu", &jiffies) != 1)
		return 0;
	/* jiffies counts ticks from INITIAL_JIFFIES, (unsigned)(-300 * HZ),
	 * and CLOCK_MONOTONIC from about the same moment at boot. */
	double secs = (double)now_ns / 1e9;
	for (size_t i = 0; i < sizeof(hz) / sizeof(hz[0]); i++) {
		unsigned long long start = (unsigned)(-300 * (int)hz[i]);
		if (jiffies < start)
			continue;
		double ticked = (double)(jiffies - start) / hz[i];
		if (ticked > secs - 2 - secs / 100 && ticked < secs + 2 + secs / 100)
			return 1000000000ull / hz[i];
	}
	return 0;
}

/* The kernel's tick (1/HZ s), from /proc/timer_list; 0 where unknown. */
static uint64_t kernel_tick_ns(void)
{
	static char text[1 << 16];
	size_t n = 0;
	FILE *f = fopen("/proc/timer_list", "r");

	if (!f)
		return 0;
	/* Its per-CPU part begins with the first "jiffies:" line. */
	while (n + 1 < sizeof(text) && fgets(text + n, (int)(sizeof(text) - n), f)) {
		size_t line = strlen(text + n);
		int done = strncmp(text + n, "jiffies: ", 9) == 0;
		n += line;
		if (done)
			break;
	}
	fclose(f);
	text[n] = 0;
	return loader_tick_of(text);
}

/* Parses the embedded object, then creates its maps and loads each program
 * after patching the new map fds into its map references. */
struct bpf_obj *loader_open(char *err, size_t errlen)
{
	struct bpf_obj *o = calloc(1, sizeof(*o));
	struct bpf_parsed parsed;
	struct kernel_facts kf = { 0 };
	size_t len;
	const unsigned char *obj = loader_object(&len);

	memset(&parsed, 0, sizeof(parsed));
	if (!o) {
		snprintf(err, errlen, "hud: out of memory");
		return NULL;
	}
	for (int i = 0; i < LOADER_MAX_MAPS; i++)
		o->maps[i].fd = -1;
	for (int i = 0; i < LOADER_MAX_PROGS; i++)
		o->progs[i].fd = -1;
	o->ncpus_possible = loader_cpu_list("/sys/devices/system/cpu/possible", NULL, 0);
	if (o->ncpus_possible <= 0) {
		snprintf(err, errlen, "hud: cannot read /sys/devices/system/cpu/possible; is /sys mounted?");
		goto fail;
	}
	if (loader_parse(obj, len, &parsed, err, errlen) < 0)
		goto fail;

	for (int i = 0; i < parsed.nmaps; i++) {
		struct loaded_map *m = &o->maps[o->nmaps++];
		snprintf(m->name, sizeof(m->name), "%s", parsed.maps[i].name);
		m->def = parsed.maps[i].def;
		m->offset = parsed.maps[i].offset;
		/* The records' rings: one part per possible CPU, together
		 * ringbuf_bytes (see struct hud_sample_pos). */
		if (strcmp(m->name, "samples") == 0 || strcmp(m->name, "sample_pos") == 0) {
			o->sample_slots = sample_slots(ringbuf_bytes ? ringbuf_bytes : HUD_RINGBUF_BYTES,
						       o->ncpus_possible);
			m->def.max_entries = (uint32_t)o->ncpus_possible *
					     (strcmp(m->name, "samples") == 0 ? o->sample_slots : 1);
		}
		if (map_create(m, err, errlen) < 0)
			goto fail;
	}
	if (threads_map(o, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < parsed.nprogs; i++) {
		struct bpf_parsed_prog *pp = &parsed.progs[i];
		struct bpf_insn *insns = (struct bpf_insn *)pp->insns;
		/* No sched_wakeup where sched_switch (before it in bpf.c) reads
		 * the wakeups from the tasks: it would run at every wakeup. */
		if (strcmp(pp->section, "tp_btf/sched_wakeup") == 0 && switch_reads_wakeups(o))
			continue;
		for (size_t r = 0; r < pp->nrelocs; r++) {
			insns[pp->relocs[r].insn].src_reg = BPF_PSEUDO_MAP_FD;
			insns[pp->relocs[r].insn].imm = o->maps[pp->relocs[r].map].fd;
		}
		struct loaded_prog *p = &o->progs[o->nprogs++];
		snprintf(p->section, sizeof(p->section), "%s", pp->section);
		p->type = pp->type;
		uint32_t target = 0;
		/* Every program gets the kernel's offsets written in (the
		 * sampler reads the thread pointer from its task). */
		const struct kbtf *kt = kernel_types(&kf, err, errlen);
		if (!kt)
			goto fail;
		if (p->type == BPF_PROG_TYPE_TRACING) {
			char name[96];
			snprintf(name, sizeof(name), "btf_trace_%s", pp->section + strlen("tp_btf/"));
			target = kbtf_find(kt, KBTF_KIND_TYPEDEF, name);
			if (!target) {
				snprintf(err, errlen, "hud: this kernel has no %s tracepoint (its BTF names no %s)",
					 pp->section + strlen("tp_btf/"), name);
				goto fail;
			}
		}
		if (prog_load_patched(o, p, pp, &kf, parsed.license, target, err, errlen) < 0)
			goto fail;
	}
	o->thread_pointer = kf.koff[HUD_KOFF_TASK_FSBASE - HUD_KOFF_BASE] > 0;
	if (o->shortcuts & LOADER_RQ_CLOCK)
		o->tick_ns = kernel_tick_ns();
	kbtf_kernel_release();
	loader_parsed_free(&parsed);
	return o;

fail:
	kbtf_kernel_release();
	loader_parsed_free(&parsed);
	loader_close(o);
	return NULL;
}

/* The map with this symbol name, or NULL. */
static const struct loaded_map *map_named(const struct bpf_obj *o, const char *name)
{
	for (int i = 0; i < o->nmaps; i++)
		if (strcmp(o->maps[i].name, name) == 0)
			return &o->maps[i];
	return NULL;
}

int loader_map_fd(const struct bpf_obj *o, const char *name)
{
	const struct loaded_map *m = map_named(o, name);

	return m ? m->fd : -1;
}

int loader_shortcuts(const struct bpf_obj *o)
{
	return o->shortcuts;
}

uint64_t loader_tick_ns(const struct bpf_obj *o)
{
	return o->tick_ns;
}

int loader_prog_count(const struct bpf_obj *o)
{
	return o->nprogs;
}

const char *loader_prog_section(const struct bpf_obj *o, int i)
{
	return i >= 0 && i < o->nprogs ? o->progs[i].section : NULL;
}

int loader_prog_cost(const struct bpf_obj *o, int i, uint32_t *verified_insns, uint64_t *load_ns)
{
	if (i < 0 || i >= o->nprogs)
		return -1;
	*verified_insns = o->progs[i].verified_insns;
	*load_ns = o->progs[i].load_ns;
	return 0;
}

int loader_counts_epoll_waits(const struct bpf_obj *o)
{
	return o->nepoll > 0;
}

const struct loaded_prog *loader_prog_by_type(const struct bpf_obj *o, uint32_t type)
{
	for (int i = 0; i < o->nprogs; i++)
		if (o->progs[i].type == type)
			return &o->progs[i];
	return NULL;
}

int loader_configure(struct bpf_obj *o, const struct hud_config *want, char *err, size_t errlen)
{
	uint32_t zero = 0;
	struct hud_config cfg = *want;

	/* Returns are timed with the real clock unless the run queue's could
	 * not be a tick and a half-millisecond behind (see HUD_KC_RQ_CLOCK). */
	uint64_t slack = o->tick_ns + 500000;
	cfg.quick_ns = o->tick_ns && cfg.threshold_ns > slack ? cfg.threshold_ns - slack : 0;
	if (!o->thread_pointer || cfg.tls_len > HUD_TLS_MAX)
		cfg.tls_off = cfg.tls_len = 0;
	if (!o->thread_pointer)
		cfg.tick_tls = 0;
	cfg.sample_mask = o->sample_slots ? o->sample_slots - 1 : 0;
	if (loader_map_update(loader_map_fd(o, "config"), &zero, &cfg, BPF_ANY) < 0) {
		loader_fail(err, errlen, errno, "hud: cannot write the BPF config map");
		return -1;
	}
	return 0;
}

int loader_stats(const struct bpf_obj *o, uint64_t out[HUD_STAT_COUNT])
{
	int fd = loader_map_fd(o, "stats");
	uint64_t *slots = calloc((size_t)o->ncpus_possible, sizeof(uint64_t));

	if (!slots)
		return -1;
	for (uint32_t k = 0; k < HUD_STAT_COUNT; k++) {
		out[k] = 0;
		if (loader_map_lookup(fd, &k, slots) < 0) {
			free(slots);
			return -1;
		}
		for (int c = 0; c < o->ncpus_possible; c++)
			out[k] += slots[c];
	}
	free(slots);
	return 0;
}

/* ---- The thread table (see "threads" in hud_bpf.h) ------------------------ */

static struct hud_thread *slot(const struct bpf_obj *o, uint32_t tid, uint32_t i)
{
	return &o->threads[(hud_thread_home(tid) + i) & (HUD_THREAD_SLOTS - 1)];
}

static struct hud_thread *thread_entry(const struct bpf_obj *o, uint32_t tid)
{
	if (!o || !o->threads || !tid || tid == HUD_TID_GONE)
		return NULL;
	for (uint32_t i = 0; i < HUD_THREAD_PROBES; i++) {
		struct hud_thread *t = slot(o, tid, i);
		uint32_t k = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
		if (k == tid)
			return t;
		if (!k)
			return NULL;
	}
	return NULL;
}

int loader_thread_add(const struct bpf_obj *o, uint32_t tid, uint32_t worker_id)
{
	struct hud_thread *t = thread_entry(o, tid);

	if (t) {
		__atomic_store_n(&t->worker_id, worker_id, __ATOMIC_RELEASE);
		return 0;
	}
	if (!o || !o->threads || !tid || tid == HUD_TID_GONE) {
		errno = EINVAL;
		return -1;
	}
	for (uint32_t i = 0; i < HUD_THREAD_PROBES; i++) {
		t = slot(o, tid, i);
		uint32_t k = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
		if (k && k != HUD_TID_GONE)
			continue;
		/* A free entry: the kernel side does not touch it until its tid
		 * is set, so everything else is written first. Its sequence
		 * numbers start past every earlier entry's (hud_thread.first_seq). */
		static uint32_t next_seq = 1u << 16;
		memset((char *)t + sizeof(t->tid), 0, sizeof(*t) - sizeof(t->tid));
		t->worker_id = worker_id;
		t->switches = t->first_seq = next_seq;
		next_seq += 1u << 16;
		if (!next_seq)
			next_seq = 1u << 16;
		__atomic_store_n(&t->tid, tid, __ATOMIC_RELEASE);
		return 0;
	}
	errno = ENOSPC;
	return -1;
}

int loader_site_add(const struct bpf_obj *o, uint32_t tid, struct hud_site site)
{
	struct hud_thread *t = thread_entry(o, tid);
	uint32_t key = (uint32_t)site.site & ~HUD_SITE_IDLE, want = key | (site.idle ? HUD_SITE_IDLE : 0);
	int at = -1;

	if (!t || !key) {
		errno = ENOENT;
		return -1;
	}
	/* The site itself if it is there (a known site may become an idle
	 * park, never the other way: the stack read at a sleep there, which
	 * the reader thread tells after a moment, comes after it; a known site
	 * with another check is its other stack, kept beside it), else a free
	 * entry, else (full) one chosen by the site, where an idle park only
	 * gives way to another idle park. */
	for (int i = 0; i < HUD_SITES; i++) {
		uint32_t v = __atomic_load_n(&t->site_keys[i], __ATOMIC_RELAXED);
		if (v == (key | HUD_SITE_IDLE) && !site.idle)
			return 0;
		if ((v & ~HUD_SITE_IDLE) == key &&
		    (site.idle || (v & HUD_SITE_IDLE) ||
		     __atomic_load_n(&t->site_checks[i].hash, __ATOMIC_RELAXED) == site.check.hash)) {
			at = i;
			break;
		}
		if (!v && at < 0)
			at = i;
	}
	/* The site's other stack gives way last. */
	for (int other = 0; at < 0 && other < 2; other++)
		for (int i = 0; at < 0 && i < HUD_SITES; i++) {
			int k = (int)(((key >> 1) + (uint32_t)i) % HUD_SITES);
			uint32_t v = __atomic_load_n(&t->site_keys[k], __ATOMIC_RELAXED);
			if ((site.idle || !(v & HUD_SITE_IDLE)) && (other || (v & ~HUD_SITE_IDLE) != key))
				at = k;
		}
	if (at < 0) {
		errno = ENOSPC;
		return -1;
	}
	/* The check first: an old key with a new check only fails it (the
	 * sleep is reported), never the other way round. */
	__atomic_store_n(&t->site_checks[at].at_word, site.check.at_word, __ATOMIC_RELAXED);
	__atomic_store_n(&t->site_checks[at].hash, site.check.hash, __ATOMIC_RELAXED);
	__atomic_store_n(&t->site_checks[at].first, site.check.first, __ATOMIC_RELAXED);
	__atomic_store_n(&t->site_checks[at].words, site.check.words, __ATOMIC_RELAXED);
	__atomic_store_n(&t->site_keys[at], want, __ATOMIC_RELEASE);
	return 0;
}

/* Clears t's known (not idle) entry of site with its check, or all of
 * them for NULL, unless someone changed it meanwhile (an idle park written
 * then stays). */
static void sites_clear_known(struct hud_thread *t, const struct hud_site *site)
{
	for (int i = 0; i < HUD_SITES; i++) {
		uint32_t v = __atomic_load_n(&t->site_keys[i], __ATOMIC_RELAXED);
		if (v && !(v & HUD_SITE_IDLE) &&
		    (!site || (v == ((uint32_t)site->site & ~HUD_SITE_IDLE) &&
			       __atomic_load_n(&t->site_checks[i].hash, __ATOMIC_RELAXED) == site->check.hash)))
			__atomic_compare_exchange_n(&t->site_keys[i], &v, 0, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	}
}

void loader_site_forget(const struct bpf_obj *o, uint32_t tid, struct hud_site site)
{
	struct hud_thread *t = thread_entry(o, tid);

	if (t && (uint32_t)site.site)
		sites_clear_known(t, &site);
}

void loader_sites_forget_all(const struct bpf_obj *o)
{
	for (uint32_t k = 0; o && o->threads && k < HUD_THREAD_SLOTS; k++)
		sites_clear_known(&o->threads[k], NULL);
}

int loader_thread_get(const struct bpf_obj *o, uint32_t tid, struct hud_thread *out)
{
	const struct hud_thread *t = thread_entry(o, tid);

	if (!t) {
		errno = ENOENT;
		return -1;
	}
	/* The kernel side updates the entry meanwhile: fields are read one
	 * by one, each a consistent value. */
	memcpy(out, t, sizeof(*out));
	return 0;
}

int loader_thread_remove(const struct bpf_obj *o, uint32_t tid)
{
	for (uint32_t i = 0; o && o->threads && tid && i < HUD_THREAD_PROBES; i++) {
		struct hud_thread *t = slot(o, tid, i);
		uint32_t k = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
		if (!k)
			break;
		if (k != tid)
			continue;
		/* A probe for another tid may pass through this entry, unless
		 * it is the last of its run. */
		uint32_t next = i + 1 < HUD_THREAD_PROBES ? __atomic_load_n(&slot(o, tid, i + 1)->tid, __ATOMIC_ACQUIRE) : 1;
		__atomic_store_n(&t->tid, next ? HUD_TID_GONE : 0, __ATOMIC_RELEASE);
		return 0;
	}
	errno = ENOENT;
	return -1;
}

void loader_close(struct bpf_obj *o)
{
	if (!o)
		return;
	/* Perf events first: closing them detaches the programs. */
	for (int i = 0; i < o->nperf; i++)
		if (o->perf_fds[i] >= 0)
			close(o->perf_fds[i]);
	free(o->perf_fds);
	for (int i = 0; i < o->nepoll; i++)
		close(o->epoll_fds[i]);
	if (o->threads)
		munmap(o->threads, o->threads_len);
	for (int i = 0; i < o->nprogs; i++)
		if (o->progs[i].fd >= 0)
			close(o->progs[i].fd);
	for (int i = 0; i < o->nmaps; i++)
		if (o->maps[i].fd >= 0)
			close(o->maps[i].fd);
	free(o);
}
