/* fuzz_demangle.c — libFuzzer harness for sym_demangle.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I. dwarf/demangle.c tests/fuzz/fuzz_demangle.c -o /tmp/fuzz_demangle
 *   /tmp/fuzz_demangle -max_total_time=300 tests/fuzz/corpus/demangle
 *
 * Symbol names come from the target binary, so any bytes are possible. The
 * input is NUL-terminated into a heap copy of exactly its size (ASan then
 * catches any read past it) and demangled into buffers of several sizes,
 * also exactly allocated, so a write past outlen is caught too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dwarf/dwarf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t outlens[] = { 1, 2, 7, 64, 4096 };
	char *sym = malloc(size + 1);

	if (!sym)
		return 0;
	memcpy(sym, data, size);
	sym[size] = '\0';
	for (size_t i = 0; i < sizeof(outlens) / sizeof(outlens[0]); i++) {
		char *out = malloc(outlens[i]);
		int r;

		if (!out)
			break;
		r = sym_demangle(sym, out, outlens[i]);
		/* Always a terminated string within outlen; a refusal is a copy. */
		if (strnlen(out, outlens[i]) >= outlens[i])
			abort();
		if (r == 0 && strncmp(out, sym, outlens[i] - 1) != 0)
			abort();
		free(out);
	}
	free(sym);
	return 0;
}
