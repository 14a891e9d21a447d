/* fuzz_bpfobj.c — libFuzzer harness for the BPF object parser
 * (loader_parse in loader/bpfobj.c): ELF sections, map definitions,
 * program code and relocation checks, with no system call.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *     tests/fuzz/fuzz_bpfobj.c loader/bpfobj.c loader/sys.c build/tests/embed.o -lelf \
 *     -o /tmp/fuzz_bpfobj      (or: ./build.sh fuzz SECONDS, which builds and runs all)
 *   /tmp/fuzz_bpfobj -max_total_time=300 tests/fuzz/corpus/bpfobj
 *
 * The object is embedded in hud, but the parser must not trust it: the
 * input is copied to a heap buffer of exactly its size (ASan catches any
 * read past it). A parsed object must be self-consistent: every relocation
 * names an instruction and a map that exist; a refusal is one sentence. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "loader/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpf_parsed p;
	char err[512];
	unsigned char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	err[0] = 0;
	if (loader_parse(copy, size, &p, err, sizeof(err)) == 0) {
		if (p.nmaps < 0 || p.nmaps > LOADER_MAX_MAPS || p.nprogs < 1 || p.nprogs > LOADER_MAX_PROGS)
			abort();
		for (int i = 0; i < p.nprogs; i++) {
			const struct bpf_parsed_prog *pr = &p.progs[i];
			if (!pr->ninsns || strnlen(pr->section, sizeof(pr->section)) == sizeof(pr->section))
				abort();
			for (size_t r = 0; r < pr->nrelocs; r++)
				if (pr->relocs[r].insn + 1 >= pr->ninsns || pr->relocs[r].map >= (uint32_t)p.nmaps)
					abort();
		}
		if (strnlen(p.license, sizeof(p.license)) == sizeof(p.license))
			abort();
	} else if (strncmp(err, "hud: ", 5) != 0 || strchr(err, '\n')) {
		abort();
	}
	loader_parsed_free(&p);
	free(copy);
	return 0;
}
