/* attach.c — hooks the loaded programs to the kernel: the sched_switch
 * tracepoint and, where loaded, sched_wakeup (BTF-typed, through
 * BPF_RAW_TRACEPOINT_OPEN: no tracefs), one software cpu-clock perf event
 * per online CPU for the sampler, and the epoll_wait counter (the
 * syscalls' tracepoints, their ids from tracefs). The fds are the
 * attachments: closing them (or hud dying) detaches. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include "loader/loader_int.h"

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got + 1 < len && (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return n < 0 ? -1 : (int)got;
}

static int perf_keep(struct bpf_obj *o, int fd)
{
	int *v = realloc(o->perf_fds, (size_t)(o->nperf + 1) * sizeof(int));

	if (!v) {
		close(fd);
		return -1;
	}
	o->perf_fds = v;
	o->perf_fds[o->nperf++] = fd;
	return 0;
}

/* A perf event on cpu running program prog_fd: its fd, or -1 with err. */
static int perf_open_bpf(struct perf_event_attr *attr, int cpu, int prog_fd, const char *what, char *err,
			 size_t errlen)
{
	int fd = sys_perf_event_open(attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM) {
			char p[16] = "?";
			read_file("/proc/sys/kernel/perf_event_paranoid", p, sizeof(p));
			p[strcspn(p, "\n")] = 0;
			snprintf(err, errlen, "hud: perf_event_open for the %s was refused (kernel.perf_event_paranoid=%s); "
				 "hud needs root or CAP_PERFMON: run it with sudo", what, p);
		} else {
			loader_fail(err, errlen, e, "hud: perf_event_open for the %s on CPU %d failed", what, cpu);
		}
		return -1;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		loader_fail(err, errlen, errno, "hud: attaching the BPF program to the %s failed (PERF_EVENT_IOC_SET_BPF)", what);
		close(fd);
		return -1;
	}
	return fd;
}

/* perf_open_bpf's event, kept in perf_fds until loader_close. */
static int perf_attach(struct bpf_obj *o, struct perf_event_attr *attr, int cpu, int prog_fd,
		       const char *what, char *err, size_t errlen)
{
	int fd = perf_open_bpf(attr, cpu, prog_fd, what, err, errlen);

	if (fd < 0)
		return -1;
	if (perf_keep(o, fd) < 0) {
		snprintf(err, errlen, "hud: out of memory");
		return -1;
	}
	return 0;
}

/* Attaches a BTF-typed tracepoint program (section "tp_btf/NAME"): the
 * kernel knows its target from the type it was loaded against, and the
 * program runs straight from the tracepoint, with no record built for it
 * (tracefs is not involved). */
static int attach_tp_btf(struct bpf_obj *o, const struct loaded_prog *p, char *err, size_t errlen)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.raw_tracepoint.prog_fd = (uint32_t)p->fd;
	int fd = (int)sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
	if (fd < 0) {
		loader_fail(err, errlen, errno, "hud: attaching the BPF program to the %s tracepoint failed",
			    p->section + strlen("tp_btf/"));
		return -1;
	}
	if (perf_keep(o, fd) < 0) {
		snprintf(err, errlen, "hud: out of memory");
		return -1;
	}
	return 0;
}

static int attach_tracepoints(struct bpf_obj *o, char *err, size_t errlen)
{
	for (int i = 0; i < o->nprogs; i++) {
		if (o->progs[i].type == BPF_PROG_TYPE_TRACING && attach_tp_btf(o, &o->progs[i], err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* The ids of the named syscall tracepoints (-1: none), from tracefs. Where
 * it is not mounted, it is mounted for the moment (root only) and
 * unmounted again: an attached event outlives it, and the host's mounts
 * end as they were. */
static void syscall_tracepoint_ids(const char *const names[], long ids[], size_t n)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[160], buf[32];
	int found = 0, mounted = 0;

	for (;;) {
		for (size_t k = 0; k < n; k++) {
			ids[k] = -1;
			for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && ids[k] < 0; i++) {
				snprintf(path, sizeof(path), "%s/events/syscalls/%s/id", roots[i], names[k]);
				if (read_file(path, buf, sizeof(buf)) > 0)
					ids[k] = strtol(buf, NULL, 10);
			}
			found |= ids[k] >= 0;
		}
		if (found || mounted || mount("nodev", roots[0], "tracefs", 0, NULL) < 0)
			break;
		mounted = 1;
	}
	if (mounted)
		umount2(roots[0], MNT_DETACH);
}

/* The epoll_wait counter: last, after the events hud cannot do without.
 * Optional: without tracefs or the syscalls' tracepoints
 * (CONFIG_FTRACE_SYSCALLS), hud runs without it
 * (loader_counts_epoll_waits). Its events are closed to detach it: a
 * disabled one would still hold the syscall tracepoints, whose slower way
 * in every system call then takes. */
static void attach_epoll_counter(struct bpf_obj *o)
{
	static const char *const calls[] = { "sys_enter_epoll_wait", "sys_enter_epoll_pwait", "sys_enter_epoll_pwait2" };
	const struct loaded_prog *p = loader_prog_by_type(o, BPF_PROG_TYPE_TRACEPOINT);
	long ids[3];
	char ignored[256];

	if (!p || o->nepoll)
		return;
	syscall_tracepoint_ids(calls, ids, 3);
	for (size_t i = 0; i < 3; i++) {
		struct perf_event_attr attr;
		if (ids[i] < 0)
			continue;
		memset(&attr, 0, sizeof(attr));
		attr.type = PERF_TYPE_TRACEPOINT;
		attr.size = sizeof(attr);
		attr.config = (uint64_t)ids[i];
		attr.sample_period = 1;
		/* One event on CPU 0 runs the program on every CPU. */
		int fd = perf_open_bpf(&attr, 0, p->fd, calls[i], ignored, sizeof(ignored));
		if (fd >= 0)
			o->epoll_fds[o->nepoll++] = fd;
	}
}

int loader_epoll_counter(struct bpf_obj *o, int on)
{
	if (on) {
		attach_epoll_counter(o);
	} else {
		for (int i = 0; i < o->nepoll; i++)
			close(o->epoll_fds[i]);
		o->nepoll = 0;
	}
	return loader_counts_epoll_waits(o);
}

static int attach_sampler(struct bpf_obj *o, int freq, char *err, size_t errlen)
{
	const struct loaded_prog *p = loader_prog_by_type(o, BPF_PROG_TYPE_PERF_EVENT);
	static unsigned char online[LOADER_MAX_CPUS];
	struct perf_event_attr attr;
	int top;

	if (!p)
		return 0;
	memset(online, 0, sizeof(online));
	top = loader_cpu_list("/sys/devices/system/cpu/online", online, LOADER_MAX_CPUS);
	if (top <= 0) {
		snprintf(err, errlen, "hud: cannot read /sys/devices/system/cpu/online; is /sys mounted?");
		return -1;
	}
	/* The kernel refuses a frequency above its limit with a bare EINVAL. */
	FILE *f = fopen("/proc/sys/kernel/perf_event_max_sample_rate", "re");
	long max = 0;
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 0;
		fclose(f);
	}
	if (max > 0 && freq > max) {
		snprintf(err, errlen, "hud: --freq %d is above kernel.perf_event_max_sample_rate (%ld); use a lower "
			 "--freq, or raise the limit with sysctl", freq, max);
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	/* The software clock works where hardware counters are absent (VMs). */
	attr.type = PERF_TYPE_SOFTWARE;
	attr.size = sizeof(attr);
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = (uint64_t)freq;
	for (int cpu = 0; cpu < top && cpu < LOADER_MAX_CPUS; cpu++)
		if (online[cpu] && perf_attach(o, &attr, cpu, p->fd, "cpu-clock sampler", err, errlen) < 0)
			return -1;
	return 0;
}

int loader_attach(struct bpf_obj *o, int freq, int count_epoll_waits, char *err, size_t errlen)
{
	if (attach_tracepoints(o, err, errlen) < 0 || attach_sampler(o, freq, err, errlen) < 0)
		return -1;
	if (count_epoll_waits)
		attach_epoll_counter(o);
	return 0;
}
