/* features.c — what the running kernel offers hud, checked before anything
 * is loaded so that a missing feature is named, not inferred from an errno
 * deep inside the loader: the BPF ring buffer map, perf events, the
 * sched_switch/sched_wakeup tracepoints and BTF (bpf_get_current_task_btf
 * and bpf_task_pt_regs need the kernel's own BTF, Linux 5.15+). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "loader/kbtf.h"
#include "loader/loader_int.h"

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* A ring buffer map of one page: EINVAL means the kernel does not know the
 * type. Without privilege bpf() says nothing about types, so the kernel's
 * symbol table answers instead (names are readable by everyone). */
static int have_ringbuf(void)
{
	union bpf_attr a;
	long pg = sysconf(_SC_PAGESIZE);

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_RINGBUF;
	a.max_entries = (uint32_t)(pg > 0 ? pg : 4096);
	int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
	if (fd >= 0) {
		close(fd);
		return FEATURE_YES;
	}
	if (errno == EINVAL)
		return FEATURE_NO;
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[256];
	int found = FEATURE_UNKNOWN;
	if (!f)
		return FEATURE_UNKNOWN;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " bpf_ringbuf_reserve\n") || strstr(line, " ringbuf_map_alloc\n")) {
			found = FEATURE_YES;
			break;
		}
	fclose(f);
	return found;
}

/* The two tracepoints, as the kernel's BTF names them (hud attaches to
 * them by their btf_trace_* types; tracefs is not needed). Unknown when
 * the BTF cannot be read: that is reported as missing BTF. */
static int have_tracepoints(void)
{
	char err[256];
	const struct kbtf *k = kbtf_kernel(err, sizeof(err));   /* kept for the loader */

	if (!k)
		return FEATURE_UNKNOWN;
	return kbtf_find(k, KBTF_KIND_TYPEDEF, "btf_trace_sched_switch") &&
	       kbtf_find(k, KBTF_KIND_TYPEDEF, "btf_trace_sched_wakeup") ? FEATURE_YES : FEATURE_NO;
}

void loader_features(struct loader_features *f)
{
	struct utsname u;

	memset(f, 0, sizeof(*f));
	if (uname(&u) == 0)
		snprintf(f->release, sizeof(f->release), "%s", u.release);
	else
		snprintf(f->release, sizeof(f->release), "unknown");
	f->ringbuf = have_ringbuf();
	f->perf_events = exists("/proc/sys/kernel/perf_event_paranoid") ? FEATURE_YES : FEATURE_NO;
	f->tracepoints = have_tracepoints();
	f->btf = exists("/sys/kernel/btf/vmlinux") ? FEATURE_YES : FEATURE_NO;
}

int loader_check_features(const struct loader_features *f, char *err, size_t errlen)
{
	const char *missing = NULL;

	if (f->ringbuf == FEATURE_NO)
		missing = "the BPF ring buffer (BPF_MAP_TYPE_RINGBUF, Linux 5.8)";
	else if (f->perf_events == FEATURE_NO)
		missing = "perf events (CONFIG_PERF_EVENTS: no /proc/sys/kernel/perf_event_paranoid)";
	else if (f->tracepoints == FEATURE_NO)
		missing = "the sched_switch and sched_wakeup tracepoints (CONFIG_TRACEPOINTS)";
	else if (f->btf == FEATURE_NO)
		missing = "BTF (CONFIG_DEBUG_INFO_BTF: no /sys/kernel/btf/vmlinux)";
	if (!missing)
		return 0;
	snprintf(err, errlen, "hud: this kernel (%s) lacks %s; hud needs Linux 5.15 or newer built with it "
		 "(see docs/TROUBLESHOOTING.md, Kernel requirements)", f->release, missing);
	return -1;
}
