/* ustack.c — the user stack of a thread asleep, read from outside it through
 * /proc/PID/mem. The frame pointers are followed the way the kernel side's
 * sampler follows them (stepping over libc's frames the same way: see
 * bpf.c). Two users: the stacks of workers that go to sleep while hud runs
 * (sleepstacks.c reads them from the registers the kernel side reported, the
 * kernel side reads no user memory at a context switch), and threads that
 * were already asleep when hud attached, such as a worker deadlocked before
 * hud started (registers from /proc/PID/task/TID/syscall).
 * Code without frame pointers (the C library) is stepped through by its
 * call-frame information first (unwind.c), which also names its frames;
 * where that fails, by the words near the stack pointer as the kernel
 * side does. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "loader/loader_int.h"
#include "loader/unwind.h"

#define WINDOW 48
#define CHUNK  16384

/* The target's memory, read in chunks: frame records are close together. */
struct mem {
	int fd;
	uint64_t lo, hi;        /* the main executable's code */
	uint64_t base;          /* chunk [base, base + len) */
	size_t len;
	unsigned char chunk[CHUNK];
};

static int in_text(const struct mem *m, uint64_t a)
{
	return a >= m->lo && a < m->hi;
}

static int peek(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	if (addr >= m->base && addr - m->base + len <= m->len && addr - m->base <= m->len) {
		memcpy(buf, m->chunk + (addr - m->base), len);
		return 0;
	}
	/* A new chunk from addr; near the top of a stack only part of it
	 * may be mapped. */
	ssize_t got = pread(m->fd, m->chunk, CHUNK, (off_t)addr);
	if (got < (ssize_t)len)
		got = pread(m->fd, m->chunk, len, (off_t)addr);
	if (got < (ssize_t)len) {
		m->len = 0;
		return -1;
	}
	m->base = addr;
	m->len = (size_t)got;
	memcpy(buf, m->chunk, len);
	return 0;
}

/* Whether the instruction just before addr is a call, so that addr can be a
 * return address: a stale function pointer left in libc's frames (a
 * callback passed earlier) points into the executable too, at a function's
 * start. The call forms: E8 rel32; FF /2 through a register, memory, SIB,
 * disp8, disp32 or rip-relative. */
static int after_call(const struct mem *m, uint64_t addr)
{
	unsigned char b[8];

	if (addr < 8 || pread(m->fd, b, sizeof(b), (off_t)(addr - 8)) != (ssize_t)sizeof(b))
		return 0;
	const unsigned char *e = b + 8;         /* e[-k]: k bytes before addr */
	if (e[-5] == 0xe8)
		return 1;                       /* call rel32 */
	if (e[-2] == 0xff && ((e[-1] & 0xf8) == 0xd0 || ((e[-1] & 0xf8) == 0x10 && e[-1] != 0x14 && e[-1] != 0x15)))
		return 1;                       /* call reg, call [reg] */
	if (e[-3] == 0xff && ((e[-2] & 0xf8) == 0x50 || e[-2] == 0x14))
		return 1;                       /* call [reg+disp8], call [SIB] */
	if (e[-4] == 0xff && e[-3] == 0x54)
		return 1;                       /* call [SIB+disp8] */
	if (e[-6] == 0xff && ((e[-5] & 0xf8) == 0x90 || e[-5] == 0x15))
		return 1;                       /* call [reg+disp32], call [rip+disp32] */
	return e[-7] == 0xff && (e[-6] == 0x94 || e[-6] == 0x14);       /* call [SIB+disp32] */
}

/* A frame record at fp: [fp] the caller's frame pointer (above fp), [fp+8]
 * a return address into the executable. */
static int is_record(struct mem *m, uint64_t fp, uint64_t above)
{
	uint64_t rec[2];
	return fp > above && fp - above < (1u << 20) && !(fp & 7) && peek(m, fp, rec, sizeof(rec)) == 0 &&
	       in_text(m, rec[1]) && rec[0] > fp;
}

static int read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return peek(ctx, addr, buf, len);
}

/* From a pc outside the executable: the frames out of it by call-frame
 * information, as far as it goes (the executable's own included: Rust's
 * standard library keeps no frame pointer in some functions, and a frame-pointer
 * walk from there skips its caller). The frames' count, 0 when the first
 * step fails; r gets the registers where it stopped. */
static int walk_cfi(struct mem *m, struct unwind *u, uint64_t r[3], uint64_t *ips, uint64_t *slots, int max)
{
	uint64_t slot;
	int n = 0;

	for (int first = 1; u && n < max && unwind_step(u, first, &r[0], &r[1], &r[2], &slot, read_mem, m) == 0;
	     first = 0) {
		slots[n] = slot;
		ips[n++] = r[0];
	}
	return n;
}

/* Without rbp, the frame record of the function of the executable that
 * pc (a return address) is in, from its prologue as LLVM and GCC write it
 * with frame pointers: [endbr64] push rbp; mov rbp, rsp; pushes of the
 * registers it saves; sub rsp, N. In its body rbp is sp + N + 8 per push, sp
 * being its stack pointer there (as at a return into it). 0 when the
 * prologue is another (a large frame's stack probe, say) or what it finds
 * is no frame record: a record looked for among the words above sp could
 * be a stale one, left by an earlier, deeper call (a worker stuck since
 * before attach was named by its last tokio::time::sleep's stack). */
static uint64_t record_by_prologue(struct mem *m, struct unwind *u, uint64_t pc, uint64_t sp)
{
	unsigned char b[40];
	uint64_t start, rec[2];
	size_t i = 0, pushes = 0;

	if (!u || unwind_function_start(u, pc - 1, &start) != 0 || start >= pc ||
	    pread(m->fd, b, sizeof(b), (off_t)start) != (ssize_t)sizeof(b))
		return 0;
	if (b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		i = 4;                                  /* endbr64 */
	if (b[i] != 0x55 || b[i + 1] != 0x48 || b[i + 2] != 0x89 || b[i + 3] != 0xe5)
		return 0;                               /* push rbp; mov rbp, rsp */
	for (i += 4; i + 2 < sizeof(b) && pushes < 8; pushes++) {
		if (b[i] >= 0x50 && b[i] <= 0x57)
			i += 1;                         /* push r64 (push rax: 8 bytes of room) */
		else if (b[i] == 0x41 && b[i + 1] >= 0x50 && b[i + 1] <= 0x57)
			i += 2;                         /* push r8-r15 */
		else
			break;
	}
	uint64_t room = 0;
	if (i + 3 < sizeof(b) && b[i] == 0x48 && b[i + 1] == 0x83 && b[i + 2] == 0xec)
		room = b[i + 3];                        /* sub rsp, imm8 */
	else if (i + 6 < sizeof(b) && b[i] == 0x48 && b[i + 1] == 0x81 && b[i + 2] == 0xec)
		room = (uint64_t)b[i + 3] | (uint64_t)b[i + 4] << 8 | (uint64_t)b[i + 5] << 16 | (uint64_t)b[i + 6] << 24;
	if (room >= (1u << 20))
		return 0;
	uint64_t fp = sp + room + 8 * pushes;
	if (!is_record(m, fp, sp - 8) || peek(m, fp, rec, sizeof(rec)) < 0 || !after_call(m, rec[1]))
		return 0;
	return fp;
}

/* The frame record to go on from at sp, in a function of the executable:
 * bp when it is one; without bp (a thread asleep since before attach: its
 * rbp is not known), the function's own record, the first one above sp;
 * else the first word near sp that points at one (a frame pointer that a
 * function without one left in place, whose caller is then skipped); 0 if
 * none. */
static uint64_t record_near(struct mem *m, uint64_t sp, uint64_t bp, uint64_t *win)
{
	if (bp && is_record(m, bp, sp))
		return bp;
	if (peek(m, sp, win, WINDOW * 8) < 0)
		return 0;
	for (int i = 0; !bp && i < WINDOW - 1; i++)
		if (is_record(m, sp + 8 * (uint64_t)i, sp - 8) && after_call(m, win[i + 1]))
			return sp + 8 * (uint64_t)i;
	for (int i = 0; i < WINDOW; i++)
		if (is_record(m, win[i], sp))
			return win[i];
	return 0;
}

static int walk(struct mem *m, struct unwind *u, uint64_t ip, uint64_t sp, uint64_t bp, uint64_t *ips,
		uint64_t *slots, int max)
{
	uint64_t win[WINDOW], fp = 0, r[3] = { ip, sp, bp };
	int n = 0, k;

	if (max < 2 || !ip)
		return 0;
	slots[n] = 0;
	ips[n++] = ip;
	if (in_text(m, ip) && bp) {
		fp = bp;
	} else if (!in_text(m, ip) && (k = walk_cfi(m, u, r, ips + n, slots + n, max - n)) > 0) {
		/* Where the information ends in the executable, its frame
		 * pointers take over. */
		n += k;
		if (n < max && in_text(m, r[0]) && !(r[2] == 0 && (fp = record_by_prologue(m, u, r[0], r[1]))))
			fp = record_near(m, r[1], r[2], win);
	} else {
		/* Without a frame pointer in libc, the return address into the
		 * executable is the first such word near the stack pointer that
		 * follows a call instruction, and the caller's frame record is
		 * rbp when it still holds one, else among the words libc saved
		 * there. */
		if (peek(m, sp, win, sizeof(win)) < 0)
			return n;
		for (k = 0; k < WINDOW && !(in_text(m, win[k]) && after_call(m, win[k])); k++)
			;
		if (k == WINDOW)
			return n;
		if (!in_text(m, ip)) {
			slots[n] = sp + 8 * (uint64_t)k;
			ips[n++] = win[k];
		}
		if (bp && is_record(m, bp, sp))
			fp = bp;
		for (int i = 0; i < WINDOW && !fp; i++)
			if (is_record(m, win[i], sp + 8 * (uint64_t)k))
				fp = win[i];
	}
	while (fp && !(fp & 7) && n < max) {
		uint64_t rec[2];
		if (peek(m, fp, rec, sizeof(rec)) < 0 || !rec[1])
			break;
		slots[n] = fp + 8;
		ips[n++] = rec[1];
		if (rec[0] <= fp)
			break;
		fp = rec[0];
	}
	return n;
}

int ustack_walk(int memfd, struct unwind *u, uint64_t ip, uint64_t sp, uint64_t bp, uint64_t text_lo,
		uint64_t text_hi, uint64_t *ips, uint64_t *slots, int max)
{
	static __thread struct mem m;
	uint64_t unused[HUD_STACK_DEPTH];

	if (!text_hi || memfd < 0)
		return 0;
	m.fd = memfd;
	m.lo = text_lo;
	m.hi = text_hi;
	m.len = 0;
	if (!slots) {
		slots = unused;
		max = max < HUD_STACK_DEPTH ? max : HUD_STACK_DEPTH;
	}
	return walk(&m, u, ip, sp, bp, ips, slots, max);
}

int ustack_sleeping(int pid, uint32_t tid, struct unwind *u, uint64_t text_lo, uint64_t text_hi, uint64_t *ips,
		    int max)
{
	char path[96], line[512];
	unsigned long long v[9];
	int fd, n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/syscall", pid, tid);
	if (!(f = fopen(path, "re")))
		return 0;
	int got = fgets(line, sizeof(line), f) ? sscanf(line, "%llu %llx %llx %llx %llx %llx %llx %llx %llx",
							&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) : 0;
	fclose(f);
	if (got != 9)
		return 0;       /* "running", or not in a system call */
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return max > 0 && v[8] ? (ips[0] = v[8], 1) : 0;
	/* No frame pointer register here: past the call-frame information
	 * (without the caller's, its tables mapped for this walk only), the
	 * window finds the record. */
	struct unwind *own = u ? NULL : unwind_open(pid);
	n = ustack_walk(fd, u ? u : own, v[8], v[7], 0, text_lo, text_hi, ips, NULL, max);
	unwind_close(own);
	close(fd);
	return n;
}
