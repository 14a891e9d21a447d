/* test_demangle.c — sym_demangle against rustc-demangle's `{:#}` output for
 * real symbols (demangle_cases.h), plus the edges a profiler meets in the
 * wild: non-Rust names, truncated and malformed symbols, hostile nesting and
 * back-references, non-UTF-8 bytes and tiny output buffers. */
#include <time.h>
#include "dwarf/dwarf.h"
#include "tests/unit/check.h"
#include "tests/unit/demangle_cases.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static char buf[1 << 16];

static void check_table(const struct demangle_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = sym_demangle(c[i].mangled, buf, sizeof(buf));
		CHECK(r == c[i].rust, "%s: returned %d, want %d", c[i].mangled, r, c[i].rust);
		CHECK_STR(buf, c[i].want);
	}
}

/* Demangles into a buffer of exactly outlen bytes with guard bytes after it,
 * so a write past outlen is caught. */
static int demangle_guarded(const char *sym, char *dst, size_t outlen)
{
	static char area[4096 + 16];
	int r;

	memset(area, 0x5a, sizeof(area));
	r = sym_demangle(sym, area, outlen);
	for (size_t i = outlen; i < outlen + 16; i++)
		CHECK(area[i] == 0x5a, "%s: wrote past outlen %zu", sym, outlen);
	memcpy(dst, area, outlen ? outlen : 1);
	return r;
}

static void check_one(const char *sym, int want_r, const char *want)
{
	int r = sym_demangle(sym, buf, sizeof(buf));

	CHECK(r == want_r, "%s: returned %d, want %d", sym, r, want_r);
	CHECK_STR(buf, want);
}

static void check_not_rust(void)
{
	static const char *names[] = {
		"", "main", "_Z3foov", "_ZN3foo3barEv", "_ZN", "_ZN3foo3bar",
		"_R", "R", "RSA_new", "__libc_start_main", "_ZNK3foo3barEv",
		"_ZN3foo3barE xyz", "_RNvC3foo3bar xyz", "_RNvC3foo",
		"_ZN12$u7b$x$u7d$3fooE", "_ZN3f\xffo3barE", "_RNvC3f\xffo3bar",
		"\xff\xfe\x80", "_ZN3foo3barE.\xc3\xa9",
	};

	for (size_t i = 0; i < NCASES(names); i++)
		check_one(names[i], 0, names[i]);
	/* NULL and zero-length output must not crash. */
	CHECK(sym_demangle(NULL, buf, sizeof(buf)) == 0 && buf[0] == '\0', "NULL input");
	CHECK(sym_demangle("_ZN3fooE", NULL, 0) == 0, "NULL output");
	buf[0] = 'x';
	CHECK(sym_demangle("_ZN3fooE", buf, 0) == 0 && buf[0] == 'x', "outlen 0 wrote");
}

/* Variants and escapes, expectations from rustc-demangle. */
static void check_forms(void)
{
	check_one("ZN3foo3barE", 1, "foo::bar");
	check_one("__ZN3foo3barE", 1, "foo::bar");
	check_one("RNvC3foo3bar", 1, "foo::bar");
	check_one("__RNvC3foo3bar", 1, "foo::bar");
	check_one("_ZNE", 1, "");
	check_one("_ZN3foo1hE", 1, "foo");
	check_one("_ZN3foo3bar17h0123456789abcdefE.cold", 1, "foo::bar.cold");
	check_one("_ZN3fooE.llvm.ABC", 1, "foo");
	check_one("_ZN3fooE.llvm.", 1, "foo");
	check_one("_ZN3fooE.llvm.xyz", 1, "foo.llvm.xyz");
	check_one("_ZN11_$LT$u8$GT$3fooE", 1, "<u8>::foo");
	check_one("_ZN6a..b.c3fooE", 1, "a::b.c::foo");
	check_one("_ZN8$SP$$BP$3fooE", 1, "@*::foo");
	check_one("_ZN8$u41$$C$3fooE", 1, "A,::foo");
	check_one("_ZN11$u7b$x$u7d$3fooE", 1, "{x}::foo");
	check_one("_ZN7$u1f$ab3fooE", 1, "$u1f$ab::foo");     /* control char */
	check_one("_ZN5$zz$x3fooE", 1, "$zz$x::foo");         /* unknown escape */
	check_one("_RNvC3foo3bar.cold", 1, "foo::bar.cold");
	check_one("_RNvC3foo3bar.llvm.1234", 1, "foo::bar");
	check_one("_RNvNtCs1234_7mycrate4main3foo", 1, "mycrate::main::foo");
	check_one("_RNvC3foo3barCs123_3std", 1, "foo::bar");  /* instantiating crate */
	check_one("_RNCNvC3foo3bar0B3_", 1, "foo::bar::{closure#0}");
	check_one("_RINvC1a1bB4_E", 1, "a::b::<i8>");
}

/* Every prefix of real symbols: never crashes, always a terminated string
 * that is either a demangling or an exact copy. */
static void check_truncated(void)
{
	static const char *syms[] = {
		"_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h0123456789abcdefE",
		"_RINvMs4_NtCsgY6Mt91CT9J_14rustc_demangle2v0NtB6_7Printer14print_sep_listNvB2_10print_typeEB8_",
		"_RNvXs8_NtCsgEmfK2I1SDS_4core3fmtNtB5_9ArgumentsNtB5_7Display3fmt",
	};
	char tmp[512];

	for (size_t i = 0; i < NCASES(syms); i++) {
		size_t n = strlen(syms[i]);
		for (size_t k = 0; k < n; k++) {
			int r;
			memcpy(tmp, syms[i], k);
			tmp[k] = '\0';
			r = sym_demangle(tmp, buf, sizeof(buf));
			CHECK(r == 1 || strcmp(buf, tmp) == 0, "prefix %zu of %s", k, syms[i]);
			CHECK(strlen(buf) < sizeof(buf), "unterminated");
		}
	}
	check_one("_ZN3foo3bar", 0, "_ZN3foo3bar");
	check_one("_RNvC3foo3ba", 0, "_RNvC3foo3ba");
	check_one("_RINvC1a1bB4_", 0, "_RINvC1a1bB4_");
}

/* Nesting at rustc-demangle's depth limit demangles; one more level is
 * refused; far more must not overflow the stack. */
static void check_depth(void)
{
	static const int depths[] = { 499, 500, 5000 };
	static char sym[8192], want[8192];
	size_t n;

	for (size_t i = 0; i < NCASES(depths); i++) {
		int depth = depths[i];

		n = (size_t)snprintf(sym, sizeof(sym), "_RINvC1a1b");
		memset(sym + n, 'R', (size_t)depth);
		strcpy(sym + n + depth, "uE");
		n = (size_t)snprintf(want, sizeof(want), "a::b::<");
		memset(want + n, '&', (size_t)depth);
		strcpy(want + n + depth, "()>");
		if (depth < 500)
			check_one(sym, 1, want);
		else
			check_one(sym, 0, sym);
	}
}

/* A symbol whose back-references double the output at every level would
 * print 2^40 units; it must stop at the buffer and return promptly. */
static void check_backref_bomb(void)
{
	static char sym[4096];
	size_t pos[41], n;
	clock_t t0 = clock();
	char small[64];
	int r;

	/* _R I Nv C1a 1b <arg0 = u> <argk = T B<argk-1> B<argk-1> E> ... E;
	 * positions are offsets after "_R", written in base 62 minus one. */
	n = (size_t)snprintf(sym, sizeof(sym), "_RINvC1a1b");
	pos[0] = n - 2;
	sym[n++] = 'u';
	for (int k = 1; k <= 40; k++) {
		char ref[16];
		size_t p = pos[k - 1], rl;

		if (p == 0) {
			strcpy(ref, "B_");
		} else {
			static const char d62[] =
				"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
			char rev[12];
			size_t m = 0, v = p - 1;
			do { rev[m++] = d62[v % 62]; v /= 62; } while (v);
			ref[0] = 'B';
			for (size_t j = 0; j < m; j++)
				ref[1 + j] = rev[m - 1 - j];
			ref[1 + m] = '_';
			ref[2 + m] = '\0';
		}
		pos[k] = n - 2;
		rl = strlen(ref);
		sym[n++] = 'T';
		memcpy(sym + n, ref, rl); n += rl;
		memcpy(sym + n, ref, rl); n += rl;
		sym[n++] = 'E';
	}
	sym[n++] = 'E';
	sym[n] = '\0';
	r = sym_demangle(sym, buf, sizeof(buf));
	CHECK(r == 1, "bomb returned %d", r);
	CHECK(strlen(buf) == sizeof(buf) - 1, "bomb output %zu bytes", strlen(buf));
	CHECK(strncmp(buf, "a::b::<(), ((), ()), ", 21) == 0, "bomb starts \"%.30s\"", buf);
	r = demangle_guarded(sym, small, sizeof(small));
	CHECK(r == 1 && strlen(small) == sizeof(small) - 1, "bomb small");
	CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0, "bomb took too long");

	/* A forward back-reference is malformed. One to a path containing
	 * itself cycles until the depth limit, printed as rustc-demangle does. */
	check_one("_RINvC1a1bB9_E", 0, "_RINvC1a1bB9_E");
	r = sym_demangle("_RNvB_1a", buf, sizeof(buf));
	CHECK(r == 1 && strncmp(buf, "{recursion limit reached}::?::a::a::a", 37) == 0,
		"self backref: %d \"%.40s\"", r, buf);
}

/* outlen 1 and 2: always terminated, never past the buffer. */
static void check_tiny_out(void)
{
	char o[8];

	CHECK(demangle_guarded("_ZN3foo3barE", o, 1) == 1 && o[0] == '\0', "legacy outlen 1");
	CHECK(demangle_guarded("_ZN3foo3barE", o, 2) == 1 && strcmp(o, "f") == 0, "legacy outlen 2");
	CHECK(demangle_guarded("_RNvC3foo3bar", o, 1) == 1 && o[0] == '\0', "v0 outlen 1");
	CHECK(demangle_guarded("_RNvC3foo3bar", o, 2) == 1 && strcmp(o, "f") == 0, "v0 outlen 2");
	CHECK(demangle_guarded("main", o, 1) == 0 && o[0] == '\0', "copy outlen 1");
	CHECK(demangle_guarded("main", o, 2) == 0 && strcmp(o, "m") == 0, "copy outlen 2");
	CHECK(demangle_guarded("_RNvC3foo3bar", o, 8) == 1 && strcmp(o, "foo::ba") == 0, "v0 outlen 8");
	/* A multi-byte character may be cut; the string stays terminated. */
	CHECK(demangle_guarded("_RNvC3foou30____7hkackfecea1cbdathfdh9hlq6y", o, 7) == 1 && strlen(o) == 6, "punycode cut");
}

int main(void)
{
	check_table(demangle_real, NCASES(demangle_real));
	check_table(demangle_vectors, NCASES(demangle_vectors));
	check_not_rust();
	check_forms();
	check_truncated();
	check_depth();
	check_backref_bomb();
	check_tiny_out();
	return check_done();
}
