/* ustack.c — the user stack of a thread asleep in a system call, read from
 * outside it: /proc/PID/task/TID/syscall gives its stack pointer and pc,
 * /proc/PID/mem its stack memory, and the frame pointers are followed the
 * way the kernel side follows them (stepping over libc's frames the same
 * way: see bpf.c). This is for threads that were already asleep when hud
 * attached, such as a worker deadlocked before hud started: the kernel side
 * only sees a thread's stack when it leaves the CPU. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "loader/loader_int.h"

#define WINDOW 48

struct mem {
	int fd;
	uint64_t lo, hi;        /* the main executable's code */
};

static int in_text(const struct mem *m, uint64_t a)
{
	return a >= m->lo && a < m->hi;
}

static int peek(const struct mem *m, uint64_t addr, void *buf, size_t len)
{
	return pread(m->fd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

/* A frame record at fp: [fp] the caller's frame pointer (above fp), [fp+8]
 * a return address into the executable. */
static int is_record(const struct mem *m, uint64_t fp, uint64_t above)
{
	uint64_t rec[2];
	return fp > above && fp - above < (1u << 20) && !(fp & 7) && peek(m, fp, rec, sizeof(rec)) == 0 &&
	       in_text(m, rec[1]) && rec[0] > fp;
}

int ustack_sleeping(int pid, uint32_t tid, uint64_t text_lo, uint64_t text_hi, uint64_t *ips, int max)
{
	char path[96], line[512];
	unsigned long long v[9];
	uint64_t win[WINDOW], sp, fp = 0;
	struct mem m = { -1, text_lo, text_hi };
	int n = 0, k;
	FILE *f;

	if (max < 2 || !text_hi)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%u/syscall", pid, tid);
	if (!(f = fopen(path, "re")))
		return 0;
	int got = fgets(line, sizeof(line), f) ? sscanf(line, "%llu %llx %llx %llx %llx %llx %llx %llx %llx",
							&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) : 0;
	fclose(f);
	if (got != 9)
		return 0;       /* "running", or not in a system call */
	sp = v[7];
	ips[n++] = v[8];
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if ((m.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return n;
	if (peek(&m, sp, win, sizeof(win)) < 0)
		goto out;
	/* Without the frame pointer register, the caller's frame record is
	 * found among the words near the stack pointer, past the return
	 * address into the executable (libc saved it there). */
	for (k = 0; k < WINDOW && !in_text(&m, win[k]); k++)
		;
	if (k == WINDOW)
		goto out;
	if (!in_text(&m, ips[0]))
		ips[n++] = win[k];
	for (int i = 0; i < WINDOW && !fp; i++)
		if (is_record(&m, win[i], sp + 8 * (uint64_t)k))
			fp = win[i];
	while (fp && n < max) {
		uint64_t rec[2];
		if (peek(&m, fp, rec, sizeof(rec)) < 0 || !rec[1])
			break;
		ips[n++] = rec[1];
		if (rec[0] <= fp)
			break;
		fp = rec[0];
	}
out:
	close(m.fd);
	return n;
}
