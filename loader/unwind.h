/* unwind.h — one frame out of code built without frame pointers (the C
 * library, other shared libraries) by the call-frame information the
 * compiler left for exceptions: the .eh_frame section, found through
 * .eh_frame_hdr's sorted table, of the file mapped at the pc in
 * /proc/PID/maps (read through /proc/PID/root, as the symbolizer does).
 *
 * Contract:
 * - unwind_open never fails for a missing or unreadable file: the files are
 *   opened on first need, and an address no file's table covers makes
 *   unwind_step return -1 (the caller falls back to its own heuristics).
 *   It returns NULL only when out of memory.
 * - Everything read from the files and from the target's memory is
 *   untrusted: every offset is bounds-checked, every loop bounded.
 * - Only the rules x86-64 code uses to return are followed: the frame's
 *   address (CFA) as rsp or rbp plus an offset, the return address and rbp
 *   saved at offsets from it. An expression, a signal frame or a CFA kept in
 *   another register ends the walk (-1).
 * - Memory: the mappings of one process and, per executable file mapped,
 *   its mapped image (shared with the page cache); not thread-safe, one
 *   user at a time. */
#ifndef HUD_UNWIND_H
#define HUD_UNWIND_H

#include <stddef.h>
#include <stdint.h>

struct unwind;

/* Reads len bytes of the target's memory at addr into buf: 0, or -1. */
typedef int (*unwind_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct unwind *unwind_open(int pid);
void unwind_close(struct unwind *u);

/* From the frame at *ip, *sp, *bp to its caller's: on 0, *ip is the return
 * address, *sp the caller's stack pointer, *bp its rbp (restored when the
 * callee saved it), *slot where the return address was read. first: *ip is
 * where the thread stopped (else a return address, looked up at ip - 1).
 * -1 when no call-frame information covers the pc, or a read failed. */
int unwind_step(struct unwind *u, int first, uint64_t *ip, uint64_t *sp, uint64_t *bp, uint64_t *slot,
		unwind_read_fn read, void *ctx);

/* Where the function holding pc starts (its call-frame information's
 * first address), in the process: 0, or -1 when none covers pc. */
int unwind_function_start(struct unwind *u, uint64_t pc, uint64_t *start);

/* unwind_step with one file image already in memory (img, len bytes of an
 * ELF file, untrusted), mapped at [start, end) from file offset off: no
 * system call, no state. For tests and tests/fuzz/fuzz_unwind.c. */
int unwind_step_image(const uint8_t *img, size_t len, uint64_t start, uint64_t end, uint64_t off, int first,
		      uint64_t *ip, uint64_t *sp, uint64_t *bp, uint64_t *slot, unwind_read_fn read, void *ctx);

#endif
