/* fuzz_unwind.c — libFuzzer harness for the call-frame information reader
 * (loader/unwind.c): a shared library's ELF image, its .eh_frame_hdr table,
 * the CIEs and FDEs it points at and their instructions, all read from the
 * target's files and so untrusted; and the target's stack, read through
 * the caller's function.
 *
 *   ./build.sh fuzz SECONDS      (builds and runs every target)
 *
 * Input: a header of 16 bytes (the pc's offset in the mapping, whether it
 * is where the thread stopped, the stack pointer's and rbp's offsets in
 * the stack), STACK bytes of stack, then the ELF file, copied to a heap
 * buffer of exactly its size (ASan catches a read past it). Up to 16 steps
 * are taken from the pc, each from the return address the last one found.
 * A step that succeeds moves up the stack (the caller's frame is above),
 * and read only what the stack holds (the read function refuses the rest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "loader/unwind.h"

#define STACK      512
#define STACK_AT   0x7ffd00000000ull
#define MAP_START  0x555500000000ull
#define MAP_LEN    (1ull << 26)

struct stack {
	const uint8_t *bytes;
};

static int stack_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct stack *s = ctx;
	if (addr < STACK_AT || addr - STACK_AT > STACK || STACK - (addr - STACK_AT) < len)
		return -1;
	memcpy(buf, s->bytes + (addr - STACK_AT), len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 16 + STACK)
		return 0;
	uint32_t pc_off, sp_off, bp_off;
	memcpy(&pc_off, data, 4);
	memcpy(&sp_off, data + 4, 4);
	memcpy(&bp_off, data + 8, 4);
	int first = data[12] & 1;
	struct stack st = { data + 16 };
	size_t len = size - 16 - STACK;
	uint8_t *img = malloc(len ? len : 1);
	if (!img)
		return 0;
	memcpy(img, data + 16 + STACK, len);

	uint64_t ip = MAP_START + pc_off % MAP_LEN, sp = STACK_AT + sp_off % STACK, bp = STACK_AT + bp_off % (2 * STACK);
	for (int i = 0; i < 16; i++) {
		uint64_t was_sp = sp, slot = 0;
		if (unwind_step_image(img, len, MAP_START, MAP_START + MAP_LEN, 0, first, &ip, &sp, &bp, &slot, stack_read,
				      &st) != 0)
			break;
		if (sp <= was_sp || slot < STACK_AT || slot - STACK_AT > STACK - 8)
			abort();
		first = 0;
	}
	free(img);
	return 0;
}
