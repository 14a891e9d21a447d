/* fuzz_sym.c — libFuzzer harness for the symbolizer's file reader: ELF
 * headers, symbol tables, build-id notes, debug links, and DWARF through
 * both hud's own reader (dwread.c, dwline.c) and libdwarf's fallback.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *     dwarf/[a-z]*.c tests/fuzz/fuzz_sym.c -lelf -ldwarf -lz -o /tmp/fuzz_sym
 *   /tmp/fuzz_sym -max_total_time=300 -max_len=200000 tests/fuzz/corpus/elf
 *
 * The input is written to a temporary file (the symbolizer reads files),
 * opened, and resolved at a spread of addresses: around every function
 * symbol's start and through the first few MB; then the members of Tokio's
 * scheduler types the session looks up are looked for
 * (sym_file_field_offset; the seed cpp_tokio_types has them, in C++
 * namespaces of the same names). Any input must end in a
 * result or a clean failure: never a crash, a sanitizer report, or a hang
 * (libFuzzer's -timeout catches loops). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf/dwarf.h"

static void use(const struct sym_frame *fr, int n)
{
	/* Touch every byte of every string: ASan checks they are valid. */
	volatile size_t sink = 0;
	for (int i = 0; i < n; i++)
		sink += strlen(fr[i].function) + strlen(fr[i].file) + fr[i].line;
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz_symXXXXXX", err[256];
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct sym_file *f = sym_file_open(path, err, sizeof(err));
	if (f) {
		struct sym_frame fr[SYM_MAX_FRAMES];
		(void)sym_file_has_debug(f);
		(void)sym_file_build_id(f);
		for (uint64_t a = 0; a < 0x20000; a += 0x3f)
			use(fr, sym_file_resolve(f, a, fr, SYM_MAX_FRAMES));
		for (uint64_t a = 0x400000; a < 0x420000; a += 0x3f)
			use(fr, sym_file_resolve(f, a, fr, SYM_MAX_FRAMES));
		use(fr, sym_file_resolve(f, UINT64_MAX, fr, SYM_MAX_FRAMES));
		static const char *const core[] = { "tokio", "runtime", "scheduler", "multi_thread", "worker", "Core",
						     NULL };
		static const char *const cx[] = { "tokio", "runtime", "scheduler", "multi_thread", "worker", "Context",
						   NULL };
		static const char *const tick[] = { "tick", NULL }, *const in_cx[] = { "core", "value", "value", NULL };
		uint64_t off = 0, fsize = 0;
		(void)sym_file_field_offset(f, core, tick, &off, &fsize);
		(void)sym_file_field_offset(f, cx, in_cx, &off, &fsize);
		sym_file_close(f);
	}
	unlink(path);
	return 0;
}
