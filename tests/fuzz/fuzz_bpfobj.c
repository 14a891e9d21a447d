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
 * names an instruction and a map that exist; a refusal is one sentence.
 * Each program then goes through the loader's rewriting of its kernel
 * placeholders (loader_patch_kernel), with and without the kfunc: either
 * refused, or no placeholder is left. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "loader/loader_int.h"

/* No HUD_KOFF_*, HUD_KC_* or HUD_KFUNC_RDONLY_CAST left in x[0..n). */
static void check_patched(const struct bpf_insn *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (BPF_CLASS(x[i].code) == BPF_LDX && BPF_MODE(x[i].code) == BPF_MEM && x[i].off >= HUD_KOFF_BASE)
			abort();
		if (x[i].code == (BPF_ALU64 | BPF_MOV | BPF_K) && (uint32_t)x[i].imm >= HUD_KC_BASE &&
		    (uint32_t)x[i].imm < HUD_KC_BASE + 0x100)
			abort();
		if (x[i].code == (BPF_JMP | BPF_CALL) && x[i].src_reg == 0 && x[i].imm == HUD_KFUNC_RDONLY_CAST)
			abort();
	}
}

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
			static const long koff[HUD_KOFF_COUNT] = { 2400, 24, 32 };
			static const long kc[2][HUD_KC_COUNT] = { { 1, 162 }, { 0, 0 } };
			for (int with = 0; with < 2; with++) {
				struct bpf_insn *x = loader_patch_kernel((const struct bpf_insn *)pr->insns, pr->ninsns, koff,
									 kc[with], with ? 0 : 777);
				if (x)
					check_patched(x, pr->ninsns);
				free(x);
			}
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
