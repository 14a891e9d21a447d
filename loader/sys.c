/* sys.c — the two raw system calls hud's kernel side needs, and the words for
 * their failures. Every bpf() command goes through sys_bpf() with a zeroed
 * attr, as the kernel's own samples do. Also the loader's clock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "loader/loader_int.h"

long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int sys_perf_event_open(struct perf_event_attr *attr, int pid, int cpu, int group, unsigned long flags)
{
	return (int)syscall(__NR_perf_event_open, attr, pid, cpu, group, flags);
}

/* Fills err with "what: reason; fix", choosing the fix from errno. Permission
 * errors are the common case (not root), so they get the clearest words. */
void loader_fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e == EPERM || e == EACCES)
		snprintf(err, errlen, "%s: %s; hud needs root or CAP_BPF+CAP_PERFMON: run it with sudo",
			 what, strerror(e));
	else if (e == ENOMEM)
		snprintf(err, errlen, "%s: %s; the kernel refused the memory (raise `ulimit -l` on kernels before 5.11)",
			 what, strerror(e));
	else if (e)
		snprintf(err, errlen, "%s: %s", what, strerror(e));
	else
		snprintf(err, errlen, "%s", what);
}

uint64_t loader_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int loader_obj_info(int fd, void *info, uint32_t len)
{
	union bpf_attr a;

	memset(info, 0, len);
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (uint32_t)fd;
	a.info.info_len = len;
	a.info.info = (uint64_t)(uintptr_t)info;
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0 ? -1 : 0;
}

int loader_map_lookup(int fd, const void *key, void *value)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) < 0 ? -1 : 0;
}

int loader_map_update(int fd, const void *key, const void *value, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	a.value = (uint64_t)(uintptr_t)value;
	a.flags = flags;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -1 : 0;
}

int loader_map_delete(int fd, const void *key)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)key;
	return sys_bpf(BPF_MAP_DELETE_ELEM, &a) < 0 ? -1 : 0;
}

/* Reads a /sys CPU list such as "0-3,5" and returns the highest CPU + 1, or
 * -1. With `present`, present[i] is set for each listed CPU (up to max). */
int loader_cpu_list(const char *path, unsigned char *present, int max)
{
	char buf[1024], *p;
	int top = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	for (p = buf; *p && *p != '\n';) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p || lo < 0)
			return -1;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			if (end == p + 1 || hi < lo)
				return -1;
			p = end;
		}
		for (long c = lo; c <= hi && c < max; c++)
			if (present)
				present[c] = 1;
		if (hi + 1 > top)
			top = (int)hi + 1;
		if (*p == ',')
			p++;
	}
	return top;
}
