/* test_sym_budget.c — the symbolizer's memory budget.
 *
 * usage: test_sym_budget [BINARY]   (default: this test's own executable)
 * - Resolving with units evicted (a budget of one byte: every unit but the
 *   one in use is dropped, so most lookups rebuild a unit; and a budget of a
 *   few units) gives the same frames as resolving with no budget, address
 *   for address, in an order that jumps between units.
 * - After every resolve the budget holds: sym_table_bytes() <= budget, or a
 *   single unit (the one just used) is kept.
 * - Strings of frames returned before evictions stay valid after them
 *   (compared at the end; ASan checks the reads).
 * - Without a budget, nothing is evicted: units stay loaded.
 * - sym_file_trim gives back the pages of the binary's mapped debug
 *   sections that lookups read (the binary's resident size drops), and
 *   resolving after it still gives the same frames. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf.h"
#include "tests/unit/check.h"

#define NADDRS 600

struct answer {
	int n;
	struct sym_frame fr[SYM_MAX_FRAMES];
};

/* The file virtual address range of .text; 0 when not found. */
static int text_range(const char *path, uint64_t *lo, uint64_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;
	if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
		goto out;
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	size_t shstrndx;
	if (!e || elf_getshdrstrndx(e, &shstrndx) != 0)
		goto end;
	for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s)) != NULL;) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(s, &sh) && (name = elf_strptr(e, shstrndx, sh.sh_name)) &&
		    strcmp(name, ".text") == 0 && sh.sh_size > 0) {
			*lo = sh.sh_addr;
			*size = sh.sh_size;
			ok = 1;
			break;
		}
	}
end:
	if (e)
		elf_end(e);
out:
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Resolves every address with a fresh file under budget, checking after
 * each resolve that the budget holds. The file stays open (its strings are
 * in the answers); *most is the largest number of units held at once. */
static struct sym_file *resolve_all(const char *bin, size_t budget, const uint64_t *addrs, size_t n,
				    struct answer *out, size_t *most)
{
	char err[256];
	size_t broken = 0;
	*most = 0;
	sym_set_table_budget(budget);
	struct sym_file *f = sym_file_open(bin, err, sizeof(err));
	CHECK(f != NULL, "open %s: %s", bin, err);
	if (!f)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i].n = sym_file_resolve(f, addrs[i], out[i].fr, SYM_MAX_FRAMES);
		size_t units = sym_table_units();
		if (units > *most)
			*most = units;
		if (budget && sym_table_bytes() > budget && units > 1)
			broken++;
	}
	CHECK(broken == 0, "budget %zu exceeded after %zu of %zu resolves", budget, broken, n);
	return f;
}

/* Resident kB of this process's mappings of path (/proc/self/smaps). */
static long resident_kb(const char *path)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[4096 + 256];
	long kb = 0, v;
	int in = 0;
	if (!f)
		return -1;
	size_t plen = strlen(path);
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		if (sp && strchr(line, '-') && strchr(line, '-') < sp) {
			size_t len = strcspn(line, "\n");
			in = len >= plen && strncmp(line + len - plen, path, plen) == 0;
		} else if (in && sscanf(line, "Rss: %ld kB", &v) == 1) {
			kb += v;
		}
	}
	fclose(f);
	return kb;
}

/* Frame by frame, strings compared by content. Returns the mismatches. */
static size_t compare(const struct answer *want, const struct answer *got, const uint64_t *addrs,
		      size_t n, const char *what)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		int same = want[i].n == got[i].n;
		for (int k = 0; same && k < want[i].n; k++) {
			const struct sym_frame *a = &want[i].fr[k], *b = &got[i].fr[k];
			same = strcmp(a->function, b->function) == 0 && strcmp(a->file, b->file) == 0 &&
			       a->line == b->line && a->flags == b->flags;
		}
		if (!same && bad++ < 5)
			fprintf(stderr, "%s: 0x%llx differs (%d frames, want %d)\n", what,
				(unsigned long long)addrs[i], got[i].n, want[i].n);
	}
	return bad;
}

/* sym_table_age: a unit used in the last keep epochs stays, the others
 * are dropped, and a file whose units all aged out answers new addresses
 * as a fresh one does. */
static void check_aging(const char *bin, const uint64_t *addrs)
{
	static struct answer want[NADDRS / 2], got[NADDRS / 2];
	static uint64_t later[NADDRS / 2];
	size_t most;

	for (size_t i = 0; i < NADDRS / 2; i++)
		later[i] = addrs[2 * i] + 3;
	/* Open till the end: its strings are in want. */
	struct sym_file *ref = resolve_all(bin, 0, later, NADDRS / 2, want, &most);

	char err[256];
	struct sym_file *f = sym_file_open(bin, err, sizeof(err));
	CHECK(f != NULL, "open %s: %s", bin, err);
	if (!f)
		return;
	struct sym_frame fr[SYM_MAX_FRAMES];
	for (size_t i = 0; i < NADDRS; i += 2)
		sym_file_resolve(f, addrs[i], fr, SYM_MAX_FRAMES);
	size_t units = sym_table_units(), bytes = sym_table_bytes();
	uint64_t aged = sym_table_aged();
	CHECK(units > 1 && sym_table_age(1, SIZE_MAX) == 0 && sym_table_units() == units,
	      "units used in the current epoch were dropped (%zu -> %zu)", units, sym_table_units());
	/* One new address with a line (so from a unit) in the epoch after:
	 * its unit stays, the rest go. */
	size_t one = 0;
	while (one < NADDRS / 2 - 1 && !(want[one].n > 0 && want[one].fr[0].line > 0))
		one++;
	sym_file_resolve(f, later[one], fr, SYM_MAX_FRAMES);
	size_t gone = sym_table_age(1, SIZE_MAX);
	CHECK(sym_table_units() == 1 && gone > 0 && sym_table_bytes() < bytes,
	      "after one epoch idle: %zu units held (want the one just used), %zu bytes dropped",
	      sym_table_units(), gone);
	/* Idle, but larger than the limit: it stays. */
	CHECK(sym_table_age(1, 0) == 0 && sym_table_units() == 1, "a unit above the size limit was dropped");
	sym_table_age(1, SIZE_MAX);
	CHECK(sym_table_units() == 0 && sym_table_bytes() == 0, "all idle: %zu units, %zu bytes still held",
	      sym_table_units(), sym_table_bytes());
	CHECK(sym_table_aged() - aged >= units, "sym_table_aged counted %llu for %zu units",
	      (unsigned long long)(sym_table_aged() - aged), units);
	for (size_t i = 0; i < NADDRS / 2; i++)
		got[i].n = sym_file_resolve(f, later[i], got[i].fr, SYM_MAX_FRAMES);
	CHECK(compare(want, got, later, NADDRS / 2, "after aging") == 0,
	      "answers differ once every unit aged out");
	sym_file_close(f);
	sym_file_close(ref);
}

int main(int argc, char **argv)
{
	char self[4096];
	if (!check_self_exe(self, sizeof(self)))
		return check_done();
	const char *bin = argc > 1 ? argv[1] : self;

	uint64_t lo = 0, size = 0;
	CHECK(text_range(bin, &lo, &size), "no .text in %s", bin);
	if (!size)
		return check_done();
	/* Random addresses, each followed by its neighbour: lookups jump from
	 * unit to unit and come back to units already dropped. */
	static uint64_t addrs[NADDRS];
	uint64_t x = 88172645463325252ull;
	for (size_t i = 0; i < NADDRS; i += 2) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		addrs[i] = lo + x % size;
		addrs[i + 1] = addrs[i] + 1;
	}
	static struct answer unbounded[NADDRS], tiny[NADDRS], some[NADDRS];

	size_t most;
	uint64_t dropped = sym_table_evictions();
	struct sym_file *f0 = resolve_all(bin, 0, addrs, NADDRS, unbounded, &most);
	CHECK(most > 1, "without a budget only %zu unit(s) were ever held", most);
	CHECK(sym_table_evictions() == dropped, "without a budget %llu units were dropped",
	      (unsigned long long)(sym_table_evictions() - dropped));
	size_t resolved = 0;
	for (size_t i = 0; i < NADDRS; i++)
		resolved += unbounded[i].n > 0;
	CHECK(resolved > NADDRS / 2, "only %zu of %d addresses resolved", resolved, NADDRS);

	/* The units the first file still holds are evicted too: the budget
	 * is one for all open files. */
	struct sym_file *f1 = resolve_all(bin, 1, addrs, NADDRS, tiny, &most);
	CHECK(most <= 1, "a budget of one byte held %zu units at once", most);
	CHECK(sym_table_evictions() > dropped, "a budget of one byte dropped no unit (the count says %llu)",
	      (unsigned long long)(sym_table_evictions() - dropped));
	CHECK(compare(unbounded, tiny, addrs, NADDRS, "budget 1") == 0,
	      "answers differ with every unit evicted");

	struct sym_file *f2 = resolve_all(bin, (size_t)1 << 20, addrs, NADDRS, some, &most);
	CHECK(compare(unbounded, some, addrs, NADDRS, "budget 1 MB") == 0,
	      "answers differ under a 1 MB budget");

	/* The first answers of each, read again after all the evictions since. */
	CHECK(compare(unbounded, tiny, addrs, NADDRS, "after evictions") == 0,
	      "frames changed after later evictions");

	/* Pages read since the last release (names of the last lookups, at
	 * least) leave memory; lookups read them back unchanged. */
	char real[4096];
	if (realpath(bin, real)) {
		long before = resident_kb(real);
		sym_file_trim(f0);
		sym_file_trim(f1);
		sym_file_trim(f2);
		long after = resident_kb(real);
		CHECK(before > 0 && after < before, "resident size of %s: %ld kB before trimming, %ld kB after",
		      real, before, after);
		static struct answer again[NADDRS];
		sym_set_table_budget((size_t)1 << 20);
		for (size_t i = 0; i < NADDRS; i++)
			again[i].n = sym_file_resolve(f1, addrs[i] + 2, again[i].fr, SYM_MAX_FRAMES);
		size_t most2;
		struct sym_file *f3 = resolve_all(bin, 0, addrs, NADDRS, some, &most2);
		for (size_t i = 0; i < NADDRS; i++)
			some[i].n = sym_file_resolve(f3, addrs[i] + 2, some[i].fr, SYM_MAX_FRAMES);
		CHECK(compare(some, again, addrs, NADDRS, "after trimming") == 0,
		      "answers differ after the pages were given back");
		sym_file_close(f3);
	}
	check_aging(bin, addrs);
	sym_file_close(f0);
	sym_file_close(f1);
	sym_file_close(f2);
	CHECK(sym_table_bytes() == 0 && sym_table_units() == 0,
	      "closing left %zu bytes in %zu units", sym_table_bytes(), sym_table_units());

	sym_set_table_budget(SYM_TABLE_BUDGET_DEFAULT);
	return check_done();
}
