/* loader_int.h — shared between the loader's own files only (not a public
 * header): the raw syscalls, map access and the object's layout. */
#ifndef HUD_LOADER_INT_H
#define HUD_LOADER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include "loader/loader.h"

#define LOADER_MAX_CPUS  1024

struct loaded_map {
	char name[32];
	struct hud_map_def def;
	uint64_t offset;        /* symbol value in the "maps" section */
	int fd;
};

struct loaded_prog {
	char section[64];
	uint32_t type;          /* BPF_PROG_TYPE_* */
	int fd;
	uint32_t verified_insns;        /* instructions the verifier walked (0: not reported) */
	uint64_t load_ns;               /* how long the load (verification) took */
	int shortcuts;                  /* LOADER_REGS_IN_PLACE...: the ones it was loaded with */
};

struct bpf_obj {
	struct loaded_map maps[LOADER_MAX_MAPS];
	int nmaps;
	struct loaded_prog progs[LOADER_MAX_PROGS];
	int nprogs;
	int *perf_fds;          /* every perf event hud opened */
	int nperf;
	int ncpus_possible;     /* per-CPU map values come in this many slots */
	uint32_t sample_slots;  /* of each CPU's part of "samples" (see struct hud_sample_pos) */
	struct hud_thread *threads;     /* the "threads" map, mapped (HUD_THREAD_SLOTS entries) */
	size_t threads_len;
	int shortcuts;          /* LOADER_REGS_IN_PLACE...: see loader_shortcuts */
	uint64_t tick_ns;       /* the kernel's tick with LOADER_RQ_CLOCK, else or where unknown 0 */
	int epoll_fds[3];       /* the epoll_wait counter's perf events (one per call), apart from
				 * perf_fds: loader_epoll_counter closes and opens them again */
	int nepoll;             /* how many: the counter is attached while there is one */
	int thread_pointer;     /* 1 when the sampler reads the thread pointer (HUD_KOFF_TASK_FSBASE) */
};

long sys_bpf(int cmd, union bpf_attr *attr);
int sys_perf_event_open(struct perf_event_attr *attr, int pid, int cpu, int group, unsigned long flags);
void loader_fail(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* CLOCK_MONOTONIC in ns, the clock of the BPF side's times. */
uint64_t loader_now_ns(void);
/* BPF_OBJ_GET_INFO_BY_FD into info (a struct bpf_prog_info or
 * bpf_map_info of len bytes, zeroed first): 0, or -1 with errno. */
int loader_obj_info(int fd, void *info, uint32_t len);
int loader_map_lookup(int fd, const void *key, void *value);
int loader_map_update(int fd, const void *key, const void *value, uint64_t flags);
int loader_map_delete(int fd, const void *key);
int loader_cpu_list(const char *path, unsigned char *present, int max);
const struct loaded_prog *loader_prog_by_type(const struct bpf_obj *o, uint32_t type);
/* The kernel's tick (ns) from the text of /proc/timer_list: its "now at"
 * and first "jiffies:" lines agree on one HZ. 0 where they do not. */
uint64_t loader_tick_of(const char *timer_list);
struct bpf_insn *loader_patch_kernel(const struct bpf_insn *in, size_t n, const long koff[HUD_KOFF_COUNT],
				     const long kc[HUD_KC_COUNT], uint32_t rdonly_cast);

#endif
