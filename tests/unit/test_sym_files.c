/* test_sym_files.c — where the symbolizer finds debug info, checked on small
 * programs built here with gcc:
 * - DWARF 4 and 5, plain and compressed (SHF_COMPRESSED zlib, .zdebug), read
 *   by hud's own reader; zstd, which libelf 0.188 cannot inflate, falls back
 *   to the symbol table;
 * - a separate debug file found by .gnu_debuglink (next to the file and in
 *   .debug/) and by build-id under a root prefix (as /proc/PID/root);
 * - the vDSO of this process named from its own image;
 * - sym_proc_target_mismatch;
 * - a thread-local variable's place below the thread pointer
 *   (sym_elf_tls_var), this test's own and the demo app's Tokio CONTEXT.
 * Skips the builds (not the rest) when gcc or objcopy is missing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dwarf/dwarf.h"
#include "dwarf/symint.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/test_sym_filesXXXXXX";

static const char prog[] =
	"__attribute__((noinline)) int work(int x) { return x * 3 + 1; }\n"   /* line 1 */
	"static inline int twice(int x) { return work(x) + work(x + 1); }\n"  /* line 2 */
	"int main(int c, char **v) { (void)v; return twice(c); }\n";          /* line 3 */

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), fmt, dir, a, b);
	return system(cmd);
}

/* The file virtual address of a function symbol, from the file itself. */
static uint64_t sym_addr(const char *path, const char *name)
{
	char cmd[1024], line[256];
	snprintf(cmd, sizeof(cmd), "nm '%s' 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	uint64_t addr = 0;
	while (p && fgets(line, sizeof(line), p)) {
		unsigned long long a;
		char t, n[200];
		if (sscanf(line, "%llx %c %199s", &a, &t, n) == 3 && strcmp(n, name) == 0)
			addr = a;
	}
	if (p)
		pclose(p);
	return addr;
}

/* Resolves work() in path (root: debug file prefix, or NULL) and checks the
 * frame: with_lines says DWARF must have answered. */
static void check_work(const char *what, const char *path, const char *root, int with_lines)
{
	char err[256];
	struct sym_frame fr[SYM_MAX_FRAMES];
	uint64_t a = sym_addr(path, "work");
	struct sym_file *f = sym_file_open(path, err, sizeof(err));
	CHECK(f && a, "%s: open %s: %s", what, path, f ? "no symbol work" : err);
	if (!f || !a) {
		sym_file_close(f);
		return;
	}
	if (root)
		sym_file_set_root(f, root, NULL);
	int n = sym_file_resolve(f, a, fr, SYM_MAX_FRAMES);
	CHECK(n >= 1 && strcmp(fr[0].function, "work") == 0, "%s: function %s", what,
	      n >= 1 ? fr[0].function : "(none)");
	if (with_lines) {
		const char *base = n >= 1 ? strrchr(fr[0].file, '/') : NULL;
		CHECK(n >= 1 && base && strcmp(base, "/prog.c") == 0 && fr[0].line == 1,
		      "%s: location %s:%u", what, n >= 1 ? fr[0].file : "?", n >= 1 ? fr[0].line : 0);
		CHECK(sym_file_has_debug(f) == 1, "%s: no debug info found", what);
	} else {
		CHECK(n >= 1 && (fr[0].flags & SYM_FRAME_SYMTAB), "%s: not from the symbol table", what);
	}
	sym_file_close(f);
}

/* sym_file_split_debug of path once an address of work() was resolved
 * (the units are indexed then), -1 when it cannot be opened. */
static int sym_split_of(const char *path)
{
	char err[256];
	struct sym_frame fr[SYM_MAX_FRAMES];
	struct sym_file *f = sym_file_open(path, err, sizeof(err));
	if (!f)
		return -1;
	sym_file_resolve(f, sym_addr(path, "work"), fr, SYM_MAX_FRAMES);
	int split = sym_file_split_debug(f);
	sym_file_close(f);
	return split;
}

static void test_builds(void)
{
	char path[512], src[512], err[256];
	snprintf(src, sizeof(src), "%s/prog.c", dir);
	FILE *fp = fopen(src, "w");
	CHECK(fp != NULL, "cannot write %s", src);
	if (!fp)
		return;
	fputs(prog, fp);
	fclose(fp);
	if (sh("cd %s && gcc -g -O2 -gdwarf-4 -o v4 prog.c%s%s", "", "") != 0) {
		printf("gcc not usable: build tests skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/v4", dir);
	check_work("DWARF 4", path, NULL, 1);

	CHECK(sh("cd %s && gcc -g -O2 -gdwarf-5 -o v5 prog.c%s%s", "", "") == 0, "gcc -gdwarf-5");
	snprintf(path, sizeof(path), "%s/v5", dir);
	check_work("DWARF 5", path, NULL, 1);

	/* Split DWARF (Cargo's split-debuginfo; gcc -gsplit-dwarf): hud reads
	 * the line table left in the file, and says the rest is elsewhere (a
	 * tester's split build had lost every CPU block, unwarned). */
	CHECK(sym_split_of(path) == 0, "DWARF 5: its debug info is not split");
	for (int v = 4; v <= 5; v++) {
		CHECK(sh("cd %s && gcc -g -O2 -gsplit-dwarf -gdwarf-%s -o split prog.c", v == 4 ? "4" : "5", "") == 0,
		      "gcc -gsplit-dwarf -gdwarf-%d", v);
		snprintf(path, sizeof(path), "%s/split", dir);
		CHECK(sym_split_of(path) == 1, "DWARF %d split off into a .dwo file: said so", v);
	}

	CHECK(sh("cd %s && gcc -g -O2 -gz=zlib -o zlib prog.c%s%s", "", "") == 0, "gcc -gz=zlib");
	snprintf(path, sizeof(path), "%s/zlib", dir);
	check_work("SHF_COMPRESSED zlib", path, NULL, 1);

	if (sh("cd %s && gcc -g -O2 -gz=zlib-gnu -o zgnu prog.c%s%s", "", "") == 0) {
		snprintf(path, sizeof(path), "%s/zgnu", dir);
		check_work(".zdebug", path, NULL, 1);
	}
	if (sh("cd %s && objcopy --compress-debug-sections=zstd v5 zstd 2>/dev/null%s%s", "", "") == 0) {
		/* libelf 0.188 has no zstd: the symbol table answers. */
		snprintf(path, sizeof(path), "%s/zstd", dir);
		check_work("zstd", path, NULL, 0);
	}

	/* .gnu_debuglink, next to the file, then in .debug/ */
	CHECK(sh("cd %s && cp v5 linked && objcopy --only-keep-debug linked linked.dbg && "
		 "objcopy --strip-debug --add-gnu-debuglink=linked.dbg linked%s%s", "", "") == 0, "objcopy");
	snprintf(path, sizeof(path), "%s/linked", dir);
	check_work("debuglink", path, NULL, 1);
	CHECK(sh("cd %s && mkdir -p .debug && mv linked.dbg .debug/%s%s", "", "") == 0, "mv");
	check_work("debuglink in .debug/", path, NULL, 1);
	/* A debug file whose CRC does not match is not used. */
	CHECK(sh("cd %s && echo >> .debug/linked.dbg%s%s", "", "") == 0, "append");
	check_work("debuglink, wrong CRC", path, NULL, 0);

	/* A file stripped of its symbols too, with a debuglink: the debug
	 * file's symbol table names what DWARF does not (a function compiled
	 * without -g, as a C library linked in): a tester's stripped build
	 * showed such frames as ?? (178 of 2,000 addresses). */
	CHECK(sh("cd %s && printf '__attribute__((noinline)) int plain_c(int x) { return x * 7 + 1; }\\n' > plain.c && "
		 "gcc -O2 -c plain.c && gcc -g -O2 -o full prog.c plain.o && objcopy --only-keep-debug full full.dbg && "
		 "strip --strip-all full && objcopy --add-gnu-debuglink=full.dbg full%s%s", "", "") == 0,
	      "build, strip --strip-all and debuglink");
	snprintf(path, sizeof(path), "%s/full.dbg", dir);
	uint64_t plain = sym_addr(path, "plain_c"), work = sym_addr(path, "work");
	snprintf(path, sizeof(path), "%s/full", dir);
	struct sym_file *sf = sym_file_open(path, err, sizeof(err));
	struct sym_frame fr[SYM_MAX_FRAMES];
	int n = sf && work ? sym_file_resolve(sf, work, fr, SYM_MAX_FRAMES) : 0;
	CHECK(n >= 1 && strcmp(fr[0].function, "work") == 0 && fr[0].line == 1, "work() from the debug file's DWARF (%s)",
	      n ? fr[0].function : "none");
	n = sf && plain ? sym_file_resolve(sf, plain, fr, SYM_MAX_FRAMES) : 0;
	CHECK(n == 1 && strcmp(fr[0].function, "plain_c") == 0 && (fr[0].flags & SYM_FRAME_SYMTAB),
	      "a function without DWARF is named from the debug file's symbol table (%s)", n ? fr[0].function : "none");
	CHECK(sf && plain && sym_file_symbol(sf, plain) && strcmp(sym_file_symbol(sf, plain), "plain_c") == 0,
	      "... and sym_file_symbol names it");
	sym_file_close(sf);

	/* Build-id, under a root prefix standing for /proc/PID/root. */
	CHECK(sh("cd %s && cp v5 byid && objcopy --only-keep-debug byid byid.dbg && "
		 "objcopy --strip-debug byid%s%s", "", "") == 0, "objcopy");
	snprintf(path, sizeof(path), "%s/byid", dir);
	char id[129];
	struct sym_file *f = sym_file_open(path, err, sizeof(err));
	snprintf(id, sizeof(id), "%s", f ? sym_file_build_id(f) : "");
	sym_file_close(f);
	CHECK(strlen(id) > 2, "no build-id in %s", path);
	if (strlen(id) > 2) {
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "cd %s && mkdir -p root/usr/lib/debug/.build-id/%.2s && "
			 "mv byid.dbg root/usr/lib/debug/.build-id/%.2s/%s.debug", dir, id, id, id + 2);
		CHECK(system(cmd) == 0, "%s", cmd);
		char root[512];
		snprintf(root, sizeof(root), "%s/root", dir);
		check_work("build-id", path, root, 1);
		check_work("build-id, no root", path, NULL, 0);
	}
}

static void test_vdso(void)
{
	char err[256], line[512];
	unsigned long long lo = 0, hi = 0;
	FILE *m = fopen("/proc/self/maps", "r");
	while (m && fgets(line, sizeof(line), m))
		if (strstr(line, "[vdso]"))
			sscanf(line, "%llx-%llx", &lo, &hi);
	if (m)
		fclose(m);
	if (!lo) {
		printf("no vDSO mapped: vDSO test skipped\n");
		return;
	}
	struct sym_proc *p = sym_proc_open(getpid(), NULL, err, sizeof(err));
	CHECK(p != NULL, "sym_proc_open(self): %s", err);
	if (!p)
		return;
	int named = 0;
	for (unsigned long long a = lo; a < hi; a += 4) {
		struct sym_frame fr[SYM_MAX_FRAMES];
		int n = sym_proc_resolve(p, a, fr, SYM_MAX_FRAMES);
		CHECK(n >= 1, "vDSO address resolved to nothing");
		if (n >= 1 && !(fr[0].flags & SYM_FRAME_UNKNOWN) && strstr(fr[0].function, "time"))
			named++;
	}
	CHECK(named > 0, "no vDSO address named after a *time* function");
	sym_proc_close(p);
}

static void test_mismatch(const char *self)
{
	char err[256];
	struct sym_proc *p = sym_proc_open(getpid(), NULL, err, sizeof(err));
	CHECK(p && sym_proc_target_mismatch(p) == 0, "mismatch without a target");
	sym_proc_close(p);
	p = sym_proc_open(getpid(), self, err, sizeof(err));
	CHECK(p && sym_proc_target_mismatch(p) == 0, "mismatch with the same file as target");
	sym_proc_close(p);
	char other[512];
	snprintf(other, sizeof(other), "%s/v5", dir);
	if (access(other, R_OK) == 0) {
		p = sym_proc_open(getpid(), other, err, sizeof(err));
		CHECK(p && sym_proc_target_mismatch(p) == 1, "no mismatch with another file as target");
		sym_proc_close(p);
	}
}

/* A thread-local variable of this test, found by name in its own file
 * where the thread pointer says it is. */
__thread uint64_t hud_test_tls_probe[3];

static void test_tls_var(const char *self, const char *demo)
{
	uint64_t below = 0, tp;
	uint32_t size = 0;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	CHECK(sym_elf_tls_var(self, "hud_test_tls_probe", &below, &size) == 0, "this test's thread-local is found");
	CHECK(tp - below == (uint64_t)(uintptr_t)hud_test_tls_probe && size == sizeof(hud_test_tls_probe),
	      "at the thread pointer less %llu bytes, %u long (it is %lld bytes below, %zu long)",
	      (unsigned long long)below, size, (long long)(tp - (uint64_t)(uintptr_t)hud_test_tls_probe),
	      sizeof(hud_test_tls_probe));
	CHECK(sym_elf_tls_var(self, "no_such_thread_local", &below, &size) < 0, "an absent name is not found");
	if (demo) {
		CHECK(sym_elf_tls_var(demo, "5tokio7runtime7context7CONTEXT", &below, &size) == 0 && size >= 64 &&
		      size <= 256 && below >= size, "the demo app's Tokio CONTEXT is found (%u bytes, %llu below)", size,
		      (unsigned long long)below);
	}
}

/* sym_file_field_offset finds a member of a Rust type by its namespaces,
 * through members of members: where the sampler reads Tokio's scheduler
 * tick (session.c, tokio_tick_place). The demo app's Tokio 1.24 built with
 * rustc here puts Core's tick at 32 and the worker Context's core at 16;
 * another compiler may order the fields otherwise, so the check is of
 * what must hold of any layout. */
static void test_field_offset(const char *demo)
{
	static const char *const core[] = { "tokio", "runtime", "scheduler", "multi_thread", "worker", "Core", NULL };
	static const char *const worker[] = { "tokio", "runtime", "scheduler", "multi_thread", "worker", "Context", NULL };
	static const char *const nowhere[] = { "tokio", "runtime", "no_such_module", "Core", NULL };
	static const char *const tick[] = { "tick", NULL }, *const none[] = { "no_such_field", NULL };
	static const char *const core_box[] = { "core", "value", "value", NULL };
	static const char *const too_far[] = { "core", "value", "value", "nothing_inside", NULL };
	char err[256];
	uint64_t off = 99, size = 0, core_size = 0;

	if (!demo)
		return;
	struct sym_file *f = sym_file_open(demo, err, sizeof(err));
	CHECK(f != NULL, "the demo app opens (%s)", f ? "" : err);
	if (!f)
		return;
	CHECK(sym_file_field_offset(f, core, (const char *const[]){ "is_searching", NULL }, &off, &core_size) == 0 &&
	      core_size == 1, "Core's is_searching is a bool (%llu bytes)", (unsigned long long)core_size);
	CHECK(sym_file_field_offset(f, core, tick, &off, &size) == 0 && size == 4 && off % 4 == 0 && off < 4096,
	      "Core's tick is a u32 at an aligned offset (%llu, %llu bytes)", (unsigned long long)off,
	      (unsigned long long)size);
	CHECK(sym_file_field_offset(f, worker, core_box, &off, &size) == 0 && size == 8 && off % 8 == 0 && off < 64,
	      "the worker Context's Option<Box<Core>> is a pointer inside it (%llu, %llu bytes)",
	      (unsigned long long)off, (unsigned long long)size);
	CHECK(sym_file_field_offset(f, core, none, &off, &size) < 0, "an absent member is not found");
	CHECK(sym_file_field_offset(f, nowhere, tick, &off, &size) < 0, "an absent namespace is not found");
	CHECK(sym_file_field_offset(f, worker, too_far, &off, &size) < 0, "a member of a pointer's type is not followed");
	/* The search starts over each time (libdwarf's unit cursor). */
	CHECK(sym_file_field_offset(f, core, tick, &off, &size) == 0 && size == 4, "asked again, found again");
	sym_file_close(f);
}

__attribute__((noinline)) int hud_test_function_probe(int x)
{
	__asm__ volatile("" : "+r"(x));
	return x * 3 + 1;
}

/* sym_elf_function gives a function's file offset and size: where its code
 * is in the process follows from the mapping that holds that offset, as
 * the session finds Tokio's worker loop. */
static void test_function(const char *self, const char *demo)
{
	static const char *const probe[] = { "hud_test_function_probe", NULL };
	static const char *const none[] = { "hud_test_function_probe", "no_such_part", NULL };
	uint64_t off = 0, size = 0, at = 0;
	char line[4608];
	FILE *maps = fopen("/proc/self/maps", "re");

	CHECK(sym_elf_function(self, probe, &off, &size) == 0 && size > 0 && size < 256,
	      "this test's function is found (%llu bytes at file offset %llx)", (unsigned long long)size,
	      (unsigned long long)off);
	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long long a, b, foff;
		char perms[8];
		if (sscanf(line, "%llx-%llx %7s %llx", &a, &b, perms, &foff) == 4 && perms[2] == 'x' && off >= foff &&
		    off - foff < b - a && strstr(line, self))
			at = a + (off - foff);
	}
	if (maps)
		fclose(maps);
	CHECK(at == (uint64_t)(uintptr_t)hud_test_function_probe, "its mapping puts it where it is (%llx, is %p)",
	      (unsigned long long)at, (void *)hud_test_function_probe);
	CHECK(sym_elf_function(self, none, &off, &size) < 0, "every part of the name must be there");
	if (demo) {
		static const char *const loop[] = { "5tokio", "6worker", "7Context3run", NULL };
		struct sym_file *f = sym_file_open(demo, NULL, 0);
		struct sym_frame fr[SYM_MAX_FRAMES];
		uint64_t vaddr = 0;
		int n = 0;
		CHECK(sym_elf_function(demo, loop, &off, &size) == 0, "the demo app's worker loop is found");
		if (f && sym_file_offset_to_vaddr(f, off + size / 2, &vaddr) == 0)
			n = sym_file_resolve(f, vaddr, fr, SYM_MAX_FRAMES);
		CHECK(n > 0 && strcmp(fr[n - 1].function, "tokio::runtime::scheduler::multi_thread::worker::Context::run") == 0,
		      "its middle is in Context::run (%s), not run_task", n > 0 ? fr[n - 1].function : "nothing");
		if (f)
			sym_file_close(f);
	}
}

/* Debug info of line tables only (rustc's debug = "line-tables-only")
 * names an async fn's body "{async_fn#0}", without its path: where DWARF
 * names the function holding an address with no path and the symbol table
 * names it with one, a running process's frame takes the symbol table's,
 * so that the bodies of two async fns stay two. Its file:line stays
 * DWARF's, and --resolve keeps DWARF's name, as addr2line prints it.
 * Skipped without rustc. */
static void test_line_tables_only(void)
{
	static const char rs[] =
		"use std::future::Future;\n"
		"use std::task::{Context, Poll, Waker};\n"
		"mod alpha { pub async fn work(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(x)); x } }\n"
		"mod beta { pub async fn work(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(x)); x } }\n"
		"fn run(mut f: std::pin::Pin<Box<dyn Future<Output = u64>>>) -> u64 {\n"
		"    let mut cx = Context::from_waker(Waker::noop());\n"
		"    loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }\n"
		"}\n"
		"fn main() {\n"
		"    let n = std::env::args().count() as u64;\n"
		"    loop { std::hint::black_box(run(Box::pin(alpha::work(n * 10))) + run(Box::pin(beta::work(n * 10)))); }\n"
		"}\n";
	char src[512], exe[600];
	snprintf(src, sizeof(src), "%s/lto.rs", dir);
	snprintf(exe, sizeof(exe), "%s/lto", dir);
	FILE *fp = fopen(src, "w");
	if (!fp)
		return;
	fputs(rs, fp);
	fclose(fp);
	if (sh("cd %s && rustc --edition 2021 -C opt-level=1 -C debuginfo=line-tables-only -o lto lto.rs%s%s "
	       ">/dev/null 2>&1", "", "") != 0) {
		printf("rustc not usable: line-tables-only test skipped\n");
		return;
	}
	uint64_t a = 0;
	char cmd[1024], line[1024];
	snprintf(cmd, sizeof(cmd), "nm -C '%s' 2>/dev/null", exe);
	FILE *nm = popen(cmd, "r");
	while (nm && fgets(line, sizeof(line), nm)) {
		unsigned long long v;
		if (strstr(line, " lto::alpha::work::{{closure}}\n") && sscanf(line, "%llx", &v) == 1)
			a = v;
	}
	if (nm)
		pclose(nm);
	struct sym_frame fr[SYM_MAX_FRAMES];
	char err[256];
	struct sym_file *f = sym_file_open(exe, err, sizeof(err));
	int n = f && a ? sym_file_resolve(f, a, fr, SYM_MAX_FRAMES) : 0;
	CHECK(n >= 1 && strcmp(fr[n - 1].function, "{async_fn#0}") == 0, "line tables only, --resolve: DWARF's name %s",
	      n >= 1 ? fr[n - 1].function : "(none)");
	sym_file_close(f);

	pid_t pid = fork();
	if (pid == 0) {
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	struct sym_proc *p = sym_proc_open((int)pid, NULL, err, sizeof(err));
	uint64_t base = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *m = fopen(path, "r");
	while (m && fgets(line, sizeof(line), m)) {
		unsigned long long lo, off;
		if (!base && sscanf(line, "%llx-%*x %*s %llx", &lo, &off) == 2 && strstr(line, exe))
			base = lo - off;
	}
	if (m)
		fclose(m);
	n = p && a && base ? sym_proc_resolve(p, base + a, fr, SYM_MAX_FRAMES) : 0;
	CHECK(n >= 1 && strcmp(fr[n - 1].function, "lto::alpha::work::{{closure}}") == 0,
	      "line tables only, a running process: the symbol table's name %s", n >= 1 ? fr[n - 1].function : "(none)");
	CHECK(n >= 1 && fr[n - 1].line == 3, "... at its line from DWARF (%u)", n >= 1 ? fr[n - 1].line : 0);
	if (p)
		sym_proc_close(p);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	test_builds();
	test_vdso();
	test_mismatch(n > 0 ? self : argv[0]);
	test_tls_var(n > 0 ? self : argv[0], argc > 1 ? argv[1] : NULL);
	test_function(n > 0 ? self : argv[0], argc > 1 ? argv[1] : NULL);
	test_field_offset(argc > 1 ? argv[1] : NULL);
	test_line_tables_only();
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
