/* attach.c — hooks the loaded programs to the kernel: the sched_switch
 * tracepoint (through a tracepoint perf event, as the tracefs id names it)
 * and one software cpu-clock perf event per online CPU for the sampler. The
 * perf event fds are the attachments: closing them (or hud dying) detaches. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include "loader/loader_int.h"

#define TRACEFS "/sys/kernel/tracing"
#define SWITCH_EVENT "events/sched/sched_switch"

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

/* Finds tracefs: already mounted at one of its usual places, or mounted by hud
 * in a mount namespace of its own, so the host's mounts stay as they were and
 * the mount goes away with hud. */
static int tracefs_dir(char *dir, size_t len, char *err, size_t errlen)
{
	static const char *const places[] = { TRACEFS, "/sys/kernel/debug/tracing" };
	char path[256];

	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s/id", places[i], SWITCH_EVENT);
		if (access(path, R_OK) == 0) {
			snprintf(dir, len, "%s", places[i]);
			return 0;
		}
		/* Mounted, but tracefs is root's alone (mode 0700): CAP_BPF and
		 * CAP_PERFMON do not open it, and mounting another is no help. */
		if (errno == EACCES) {
			snprintf(err, errlen, "hud: cannot read tracefs at %s (permission denied: it is readable by root "
				 "only); run hud as root, or also grant it CAP_DAC_OVERRIDE", places[i]);
			return -1;
		}
	}
	if (unshare(CLONE_NEWNS) < 0) {
		if (errno == EPERM)
			snprintf(err, errlen, "hud: tracefs is not mounted, and mounting it in a mount namespace of hud's "
				 "own (unshare) needs CAP_SYS_ADMIN; run hud as root, or mount it first with "
				 "`mount -t tracefs nodev " TRACEFS "`");
		else
			loader_fail(err, errlen, errno, "hud: tracefs is not mounted and hud cannot make a mount namespace "
				    "to mount it (unshare); mount it with `mount -t tracefs nodev " TRACEFS "`");
		return -1;
	}
	/* Private propagation: nothing mounted here reaches the host. In a
	 * chroot "/" is no mount point (EINVAL); the /sys mount tracefs goes
	 * under is then the one made private. */
	if ((mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 &&
	     (errno != EINVAL || mount(NULL, "/sys", NULL, MS_REC | MS_PRIVATE, NULL) < 0)) ||
	    mount("nodev", TRACEFS, "tracefs", 0, NULL) < 0) {
		loader_fail(err, errlen, errno, "hud: tracefs is not mounted and mounting it at " TRACEFS " failed; "
			    "mount it with `mount -t tracefs nodev " TRACEFS "`");
		return -1;
	}
	snprintf(path, sizeof(path), TRACEFS "/%s/id", SWITCH_EVENT);
	if (access(path, R_OK) < 0 && errno == EACCES) {
		snprintf(err, errlen, "hud: cannot read tracefs at " TRACEFS " (permission denied: it is readable by "
			 "root only); run hud as root, or also grant it CAP_DAC_OVERRIDE");
		return -1;
	}
	if (access(path, R_OK) < 0) {
		snprintf(err, errlen, "hud: this kernel has no sched/sched_switch tracepoint (CONFIG_TRACEPOINTS); "
			 "hud needs it to follow workers on and off CPU");
		return -1;
	}
	snprintf(dir, len, "%s", TRACEFS);
	return 0;
}

/* The programs read their tracepoint's record at fixed offsets; check the
 * running kernel's layout (the event's tracefs format file) before trusting
 * them. */
static const struct layout {
	const char *event;      /* category/name */
	const char *field;      /* " name;" as the format file writes it */
	int offset;
} layouts[] = {
	{ "sched/sched_switch", " prev_pid;", 24 },
	{ "sched/sched_switch", " prev_state;", 32 },
	{ "sched/sched_switch", " next_pid;", 56 },
	{ "sched/sched_wakeup", " pid;", 24 },
};

static int check_layout(const char *event, const char *format, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (strcmp(layouts[i].event, event) != 0)
			continue;
		const char *p = strstr(format, layouts[i].field);
		int off = -1;
		if (p && (p = strstr(p, "offset:")))
			off = atoi(p + 7);
		if (off != layouts[i].offset) {
			snprintf(err, errlen, "hud: this kernel's %s record has%s at offset %d, hud expects %d; "
				 "hud does not support this kernel's layout", event, layouts[i].field, off,
				 layouts[i].offset);
			return -1;
		}
	}
	return 0;
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

static int perf_attach(struct bpf_obj *o, struct perf_event_attr *attr, int cpu, int prog_fd,
		       const char *what, char *err, size_t errlen)
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
	if (perf_keep(o, fd) < 0) {
		snprintf(err, errlen, "hud: out of memory");
		return -1;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog_fd) < 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
		loader_fail(err, errlen, errno, "hud: attaching the BPF program to the %s failed (PERF_EVENT_IOC_SET_BPF)", what);
		return -1;
	}
	return 0;
}

/* Attaches one tracepoint program: its section is "tracepoint/CAT/NAME". */
static int attach_tracepoint(struct bpf_obj *o, const struct loaded_prog *p, const char *dir,
			     char *err, size_t errlen)
{
	const char *event = p->section + strlen("tracepoint/");
	char path[256], buf[4096], what[96];
	struct perf_event_attr attr;

	snprintf(path, sizeof(path), "%s/events/%s/format", dir, event);
	if (read_file(path, buf, sizeof(buf)) < 0) {
		loader_fail(err, errlen, errno, "hud: this kernel has no %s tracepoint (cannot read %s)", event, path);
		return -1;
	}
	if (check_layout(event, buf, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/events/%s/id", dir, event);
	if (read_file(path, buf, sizeof(buf)) < 0) {
		loader_fail(err, errlen, errno, "hud: cannot read %s", path);
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = strtoull(buf, NULL, 10);
	attr.sample_period = 1;
	attr.sample_type = PERF_SAMPLE_RAW;
	snprintf(what, sizeof(what), "%s tracepoint", event);
	/* One event on CPU 0 is enough: a tracepoint program runs for the
	 * tracepoint on every CPU (a second attach would fail with EEXIST). */
	return perf_attach(o, &attr, 0, p->fd, what, err, errlen);
}

static int attach_tracepoints(struct bpf_obj *o, char *err, size_t errlen)
{
	char dir[128];
	int have_dir = 0;

	for (int i = 0; i < o->nprogs; i++) {
		if (o->progs[i].type != BPF_PROG_TYPE_TRACEPOINT)
			continue;
		if (!have_dir && tracefs_dir(dir, sizeof(dir), err, errlen) < 0)
			return -1;
		have_dir = 1;
		if (attach_tracepoint(o, &o->progs[i], dir, err, errlen) < 0)
			return -1;
	}
	return 0;
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

int loader_attach(struct bpf_obj *o, int freq, char *err, size_t errlen)
{
	if (attach_tracepoints(o, err, errlen) < 0 || attach_sampler(o, freq, err, errlen) < 0)
		return -1;
	return 0;
}
