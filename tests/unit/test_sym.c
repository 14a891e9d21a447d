/* test_sym.c — the symbolizer against binutils addr2line and against itself.
 *
 * usage: test_sym [BINARY]   (default: this test's own executable; build it
 * with -g). Needs nm and addr2line (binutils) in PATH.
 * - For an address in the middle of every function symbol of BINARY, the
 *   innermost function and file:line must agree with `addr2line -f -i -C` for
 *   at least 99% of them (file:line only where binutils has a line).
 * - sym_proc_resolve on this very process names one of its functions with the
 *   right file and line, and gives an unknown frame for an unmapped address.
 * - Truncated and corrupted copies of BINARY never crash the reader.
 * - sym_resolve_stream writes the addr2line format, and a batch of addresses
 *   (duplicates, descending, one that is no code) gets for each address what
 *   that address alone gets. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf.h"
#include "tests/unit/check.h"

#define MAX_ADDRS 4000

static const int probe_line = __LINE__ + 2;  /* the line of probe_function's entry */
__attribute__((noinline))
int probe_function(int x) { return x * 3 + (x > 7); }

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

/* Addresses in the middle of the function symbols of bin (nm -S). */
static size_t pick_addrs(const char *bin, uint64_t *addrs, size_t max)
{
	char cmd[4200], line[8192];
	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s' 2>/dev/null", bin);
	FILE *fp = popen(cmd, "r");
	size_t n = 0;
	if (!fp)
		return 0;
	while (n < max && fgets(line, sizeof(line), fp)) {
		uint64_t a, size;
		char type;
		if (sscanf(line, "%" SCNx64 " %" SCNx64 " %c", &a, &size, &type) == 3 &&
		    (type == 't' || type == 'T') && size > 0)
			addrs[n++] = a + size / 2;
	}
	pclose(fp);
	return n;
}

static void test_against_addr2line(const char *bin)
{
	static uint64_t addrs[MAX_ADDRS];
	size_t n = pick_addrs(bin, addrs, MAX_ADDRS);
	CHECK(n >= 10, "nm found %zu function symbols in %s", n, bin);
	if (n == 0)
		return;
	char tmp[] = "/tmp/test_sym_addrsXXXXXX";
	int fd = mkstemp(tmp);
	CHECK(fd >= 0, "mkstemp failed");
	if (fd < 0)
		return;
	FILE *af = fdopen(fd, "w");
	for (size_t i = 0; i < n; i++)
		fprintf(af, "0x%" PRIx64 "\n", addrs[i]);
	fclose(af);

	char cmd[8400], err[256];
	snprintf(cmd, sizeof(cmd), "addr2line -a -f -i -C -e '%s' < %s", bin, tmp);
	FILE *a2l = popen(cmd, "r");
	CHECK(a2l != NULL, "popen addr2line");
	struct sym_file *f = sym_file_open(bin, err, sizeof(err));
	CHECK(f != NULL, "sym_file_open %s: %s", bin, err);
	if (!a2l || !f) {
		if (a2l)
			pclose(a2l);
		sym_file_close(f);
		unlink(tmp);
		return;
	}
	CHECK(sym_file_has_debug(f) == 1, "%s has no DWARF lines per sym_file_has_debug", bin);

	/* addr2line: "0x..." then pairs of lines; the first pair is innermost. */
	static char fn[8192], loc[8192], want_fn[8192], want_loc[8192];
	size_t compared = 0, agreed = 0, shown = 0;
	int have = 0;
	uint64_t cur = 0;
	for (;;) {
		char *got = fgets(fn, sizeof(fn), a2l);
		int is_addr = got && strncmp(fn, "0x", 2) == 0;
		if (!got || is_addr) {
			if (have) {
				struct sym_frame fr[SYM_MAX_FRAMES];
				int k = sym_file_resolve(f, cur, fr, SYM_MAX_FRAMES);
				char mine[8400] = "??:0";
				if (k > 0)
					snprintf(mine, sizeof(mine), "%s:%" PRIu32, base_name(fr[0].file), fr[0].line);
				/* binutils writes "??:?" where it has no line. */
				char *q = strstr(want_loc, ":?");
				if (q)
					strcpy(q, ":0");
				char *disc = strstr(want_loc, " (discriminator");
				if (disc)
					*disc = '\0';
				int ok = k > 0 && strcmp(fr[0].function, want_fn) == 0 &&
					 (strcmp(want_loc + strlen(want_loc) - 2, ":0") == 0 ||
					  strcmp(mine, base_name(want_loc)) == 0);
				if (k == 0)
					ok = strcmp(want_fn, "??") == 0;
				compared++;
				agreed += ok;
				if (!ok && shown++ < 10)
					fprintf(stderr, "  0x%" PRIx64 ": addr2line %s %s, hud %s %s\n", cur,
						want_fn, base_name(want_loc), k > 0 ? fr[0].function : "(none)", mine);
			}
			if (!got)
				break;
			cur = strtoull(fn, NULL, 16);
			have = 0;
			continue;
		}
		if (!fgets(loc, sizeof(loc), a2l))
			break;
		if (!have) {
			chomp(fn);
			chomp(loc);
			snprintf(want_fn, sizeof(want_fn), "%s", fn);
			snprintf(want_loc, sizeof(want_loc), "%s", loc);
			have = 1;
		}
	}
	pclose(a2l);
	unlink(tmp);
	CHECK(compared == n, "addr2line answered %zu of %zu addresses", compared, n);
	CHECK(agreed * 100 >= compared * 99, "only %zu of %zu addresses agree with addr2line", agreed, compared);
	printf("%s: %zu of %zu function addresses agree with addr2line\n", bin, agreed, compared);
	sym_file_close(f);
}

static void test_self_process(void)
{
	char err[256];
	struct sym_proc *p = sym_proc_open(getpid(), NULL, err, sizeof(err));
	CHECK(p != NULL, "sym_proc_open(self): %s", err);
	if (!p)
		return;
	CHECK(sym_proc_main(p) != NULL, "the main executable could not be opened");
	CHECK(sym_proc_debug_percent(p) == -1, "debug percent before any lookup");
	struct sym_frame fr[SYM_MAX_FRAMES];
	int n = sym_proc_resolve(p, (uint64_t)(uintptr_t)&probe_function, fr, SYM_MAX_FRAMES);
	CHECK(n >= 1, "no frame for probe_function");
	if (n >= 1) {
		CHECK_STR(fr[0].function, "probe_function");
		CHECK_STR(base_name(fr[0].file), "test_sym.c");
		CHECK(fr[0].line == (uint32_t)probe_line, "probe_function line %" PRIu32 ", want %d",
		      fr[0].line, probe_line);
	}
	CHECK(sym_proc_debug_percent(p) == 100, "debug percent %d after one DWARF lookup",
	      sym_proc_debug_percent(p));
	/* A libc function: some name, never a crash. */
	n = sym_proc_resolve(p, (uint64_t)(uintptr_t)&strlen, fr, SYM_MAX_FRAMES);
	CHECK(n >= 1 && fr[0].function && fr[0].function[0], "no name for strlen's address");
	/* Page zero is never mapped. */
	n = sym_proc_resolve(p, 0x10, fr, SYM_MAX_FRAMES);
	CHECK(n == 1 && (fr[0].flags & SYM_FRAME_UNKNOWN) && strcmp(fr[0].function, "??") == 0,
	      "unmapped address: %d frames, %s", n, n > 0 ? fr[0].function : "");
	sym_proc_close(p);
}

/* Writes a copy of src, cut to len bytes and/or with bytes from junk_at on
 * overwritten by a pattern, and checks the reader survives it. */
static void test_damaged(const char *src, long len, long junk_at)
{
	static char buf[1 << 16];
	char path[] = "/tmp/test_sym_badXXXXXX", err[256];
	int fd = mkstemp(path);
	FILE *in = fopen(src, "rb");
	CHECK(fd >= 0 && in, "cannot copy %s", src);
	if (fd < 0 || !in) {
		if (fd >= 0)
			close(fd);
		if (in)
			fclose(in);
		return;
	}
	long done = 0;
	size_t r;
	uint32_t x = 12345;
	while ((len < 0 || done < len) && (r = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (len >= 0 && done + (long)r > len)
			r = (size_t)(len - done);
		for (size_t i = 0; junk_at >= 0 && i < r; i++)
			if (done + (long)i >= junk_at && (done + (long)i - junk_at) % 7 == 0) {
				x = x * 1103515245u + 12345u;
				buf[i] = (char)(x >> 16);
			}
		if (write(fd, buf, r) != (ssize_t)r)
			break;
		done += (long)r;
	}
	fclose(in);
	close(fd);
	struct sym_file *f = sym_file_open(path, err, sizeof(err));
	if (f) {
		struct sym_frame fr[SYM_MAX_FRAMES];
		(void)sym_file_has_debug(f);
		(void)sym_file_build_id(f);
		for (uint64_t a = 0; a < 0x400000; a += 0x1001) {
			int n = sym_file_resolve(f, a, fr, SYM_MAX_FRAMES);
			for (int i = 0; i < n; i++)
				CHECK(fr[i].function && fr[i].file, "NULL string in a frame");
		}
		sym_file_close(f);
	}
	CHECK(1, "survived");
	unlink(path);
}

/* Addresses in no code of bin (the first page, past the end, not in any
 * executable segment): "??" for binutils and for hud, never the nearest
 * symbol before them or a function the linker dropped (its DWARF left at
 * address 0). */
static void test_outside_code(const char *bin)
{
	static const uint64_t addrs[] = { 0x0, 0x1, 0x10, 0x400, 0xdeadbeef, 0x7fffffffffffull };
	char err[256], cmd[4400], fn[4096], loc[4096];
	struct sym_file *f = sym_file_open(bin, err, sizeof(err));
	CHECK(f != NULL, "sym_file_open %s: %s", bin, err);
	if (!f)
		return;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		snprintf(cmd, sizeof(cmd), "addr2line -f -i -C -e '%s' 0x%" PRIx64, bin, addrs[i]);
		FILE *a2l = popen(cmd, "r");
		int got = a2l && fgets(fn, sizeof(fn), a2l) && fgets(loc, sizeof(loc), a2l);
		if (a2l)
			pclose(a2l);
		chomp(fn);
		if (!got || strcmp(fn, "??") != 0)
			continue;       /* code there after all: compared elsewhere */
		struct sym_frame fr[SYM_MAX_FRAMES];
		int k = sym_file_resolve(f, addrs[i], fr, SYM_MAX_FRAMES);
		CHECK(k == 0, "0x%" PRIx64 " is in no code (addr2line says so), hud names %s at %s:%u", addrs[i],
		      k > 0 ? fr[0].function : "", k > 0 ? fr[0].file : "", k > 0 ? fr[0].line : 0);
	}
	sym_file_close(f);
}

static void test_stream(const char *bin)
{
	char err[256];
	FILE *in = tmpfile(), *out = tmpfile();
	struct sym_file *f = sym_file_open(bin, err, sizeof(err));
	CHECK(in && out && f, "tmpfile, sym_file_open: %s", f ? "" : err);
	if (!in || !out || !f)
		return;
	fprintf(in, "0x%" PRIx64 "\n\n10\n", (uint64_t)(uintptr_t)&probe_function);
	rewind(in);
	/* Non-PIE or PIE, the self test below only needs the format. */
	int r = sym_resolve_stream(f, in, out, err, sizeof(err));
	CHECK(r == 0, "sym_resolve_stream: %s", err);
	rewind(out);
	char line[512];
	int lines = 0, addrs = 0;
	while (fgets(line, sizeof(line), out)) {
		lines++;
		addrs += strncmp(line, "0x", 2) == 0 && strlen(line) == 19;
	}
	CHECK(addrs == 2, "%d address lines, want 2", addrs);
	CHECK(lines >= 6 && (lines - 2) % 2 == 0, "%d lines of output", lines);
	fclose(in);
	fclose(out);

	in = tmpfile();
	out = tmpfile();
	fputs("not-an-address\n", in);
	rewind(in);
	CHECK(sym_resolve_stream(f, in, out, err, sizeof(err)) == -1 && err[0], "garbage line accepted");
	fclose(in);
	fclose(out);
	sym_file_close(f);
	CHECK(!sym_file_open("/nonexistent/binary", err, sizeof(err)) &&
	      strstr(err, "/nonexistent/binary"), "missing binary: \"%s\"", err);
}

/* What sym_resolve_stream writes for addrs (one a line), or NULL. */
static char *stream_output(struct sym_file *f, const uint64_t *addrs, size_t n, size_t *len)
{
	char err[256];
	FILE *in = tmpfile(), *out = tmpfile();
	char *text = NULL;
	if (!in || !out)
		goto done;
	for (size_t i = 0; i < n; i++)
		fprintf(in, "0x%" PRIx64 "\n", addrs[i]);
	rewind(in);
	if (sym_resolve_stream(f, in, out, err, sizeof(err)) != 0)
		goto done;
	long size = ftell(out);
	text = size >= 0 ? malloc((size_t)size + 1) : NULL;
	rewind(out);
	if (text && fread(text, 1, (size_t)size, out) != (size_t)size) {
		free(text);
		text = NULL;
	}
	if (text) {
		text[size] = '\0';
		*len = (size_t)size;
	}
done:
	if (in)
		fclose(in);
	if (out)
		fclose(out);
	return text;
}

/* A batch (resolved in address order, answered in input order) must say
 * for each address what that address alone gets: addresses given in
 * descending order, each twice, with one that is no code among them. */
static void test_stream_batch(const char *bin)
{
	static uint64_t picked[MAX_ADDRS], addrs[2 * 400 + 1];
	char err[256];
	size_t np = pick_addrs(bin, picked, MAX_ADDRS), n = 0;
	struct sym_file *f = sym_file_open(bin, err, sizeof(err));
	CHECK(np >= 50 && f, "%zu function addresses, sym_file_open: %s", np, f ? "" : err);
	if (np < 50 || !f) {
		sym_file_close(f);
		return;
	}
	size_t k = np < 400 ? np : 400;
	for (size_t i = 0; i < k; i++)
		addrs[n++] = picked[k - 1 - i];
	addrs[n++] = 1;
	for (size_t i = 0; i < k; i++)
		addrs[n++] = picked[(i * 7) % k];
	size_t blen = 0, at = 0, bad = 0;
	char *batch = stream_output(f, addrs, n, &blen);
	CHECK(batch != NULL, "the batch was not answered");
	for (size_t i = 0; batch && i < n; i++) {
		size_t olen = 0;
		char *one = stream_output(f, &addrs[i], 1, &olen);
		if (!one || at + olen > blen || memcmp(batch + at, one, olen) != 0) {
			if (bad++ == 0)
				CHECK(0, "address %zu (0x%" PRIx64 ") answered in the batch unlike alone: \"%.80s\"",
				      i, addrs[i], one ? one : "(none)");
		}
		at += olen;
		free(one);
	}
	CHECK(!batch || (bad == 0 && at == blen), "%zu of %zu addresses differ, %zu of %zu bytes", bad, n, at, blen);
	free(batch);
	sym_file_close(f);
}

int main(int argc, char **argv)
{
	char self[4096];
	if (!check_self_exe(self, sizeof(self)))
		return check_done();
	const char *bin = argc > 1 ? argv[1] : self;

	test_against_addr2line(bin);
	test_outside_code(bin);
	test_self_process();
	test_stream(self);
	test_stream_batch(bin);

	char err[256];
	struct sym_file *f = sym_file_open(self, err, sizeof(err));
	CHECK(f && strlen(sym_file_build_id(f)) >= 16, "build-id of %s: \"%s\"", self,
	      f ? sym_file_build_id(f) : err);
	sym_file_close(f);
	CHECK(sym_file_open("/etc/passwd", err, sizeof(err)) == NULL && err[0], "text file opened as ELF");

	test_damaged(bin, 1000, -1);            /* headers only */
	test_damaged(bin, 64, -1);              /* ELF header only */
	test_damaged(bin, 0, -1);               /* empty */
	test_damaged(bin, -1, 4096);            /* all but the first page scrambled */
	test_damaged(bin, -1, 0);               /* everything scrambled */
	for (long at = 8192; at < 4L << 20; at *= 2)
		test_damaged(bin, -1, at);      /* code or debug info scrambled */
	return check_done();
}
