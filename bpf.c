/* bpf.c — hud's kernel side. Compiled once at build time with
 *   clang -O2 -target bpf -c bpf.c
 * and embedded in build/hud; loader/ loads it with raw bpf() calls, no libbpf.
 *
 * Two programs:
 * - sched_switch (tracepoint sched/sched_switch): follows the target's threads
 *   on and off CPU. When a thread leaves, its user stack is captured (the stack
 *   of the task leaving is the current one here); when a worker comes back
 *   after more than the threshold, one HUD_EV_OFFCPU event is emitted.
 * - sample (perf event, software cpu-clock, one per CPU): at --freq Hz,
 *   records the user stack of whatever thread of the target is running.
 *
 * Everything is kept cheap for threads that are not the target's: one hash
 * lookup each for prev and next. No global variables (the loader only handles
 * maps); every function is inlined (no BPF-to-BPF calls to relocate). */
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include "loader/hud_bpf.h"

#define SEC(name) __attribute__((section(name), used))
#define INLINE static inline __attribute__((always_inline))

/* Helpers are called by id; the kernel patches the call. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static hud_u64 (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;
static hud_u32 (*bpf_get_smp_processor_id)(void) = (void *)BPF_FUNC_get_smp_processor_id;
static hud_u64 (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static long (*bpf_get_stackid)(void *ctx, void *map, hud_u64 flags) = (void *)BPF_FUNC_get_stackid;
static void *(*bpf_ringbuf_reserve)(void *rb, hud_u64 size, hud_u64 flags) = (void *)BPF_FUNC_ringbuf_reserve;
static void (*bpf_ringbuf_submit)(void *data, hud_u64 flags) = (void *)BPF_FUNC_ringbuf_submit;

char _license[] SEC("license") = "Dual MIT/GPL";

struct hud_map_def config SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
	.value_size = sizeof(struct hud_config), .max_entries = 1,
};
struct hud_map_def threads SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH, .key_size = 4,
	.value_size = sizeof(struct hud_thread), .max_entries = HUD_MAX_THREADS,
};
struct hud_map_def stacks SEC("maps") = {
	.type = BPF_MAP_TYPE_STACK_TRACE, .key_size = 4,
	.value_size = HUD_STACK_DEPTH * 8, .max_entries = HUD_STACK_BUCKETS,
};
struct hud_map_def events SEC("maps") = {
	.type = BPF_MAP_TYPE_RINGBUF, .key_size = 0,
	.value_size = 0, .max_entries = HUD_RINGBUF_BYTES,
};
struct hud_map_def stats SEC("maps") = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4,
	.value_size = 8, .max_entries = HUD_STAT_COUNT,
};

INLINE void stat_add(hud_u32 index, hud_u64 n)
{
	hud_u64 *v = bpf_map_lookup_elem(&stats, &index);
	if (v)
		*v += n;    /* per-CPU slot: no other writer */
}

/* Captures the user stack of the current task; counts failures. */
INLINE hud_s32 user_stack(void *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (id < 0)
		stat_add(HUD_STAT_STACK_FAIL, 1);
	return (hud_s32)id;
}

INLINE struct hud_event *event_reserve(void)
{
	struct hud_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		stat_add(HUD_STAT_LOST, 1);
	return e;
}

/* Record layout of sched/sched_switch (tracefs format file; the loader checks
 * these offsets against the running kernel before loading). */
struct sched_switch_args {
	hud_u64 common;
	char prev_comm[16];
	hud_s32 prev_pid;
	hud_s32 prev_prio;
	long prev_state;
	char next_comm[16];
	hud_s32 next_pid;
	hud_s32 next_prio;
};

SEC("tracepoint/sched/sched_switch")
int hud_sched_switch(struct sched_switch_args *ctx)
{
	hud_u32 prev = (hud_u32)ctx->prev_pid, next = (hud_u32)ctx->next_pid;
	struct hud_thread *t;
	hud_u64 now = 0;

	t = bpf_map_lookup_elem(&threads, &prev);
	if (t) {
		now = bpf_ktime_get_ns();
		if (t->on_cpu && now > t->on_ts)
			t->oncpu_ns += now - t->on_ts;
		t->on_cpu = 0;
		t->off_ts = now;
		t->off_state = (hud_u32)ctx->prev_state;
		t->switches++;
		/* 0 is TASK_RUNNING (a yield); the preempted bit marks involuntary
		 * switches: either way the thread never slept. */
		if (t->off_state != 0 && !(t->off_state & HUD_STATE_PREEMPTED))
			t->vol_switches++;
		/* Only workers are reported off CPU; their stack is needed now,
		 * because it is only reachable while the task is current. */
		if (t->worker_id != HUD_NOT_WORKER)
			t->off_stack_id = user_stack(ctx);
		stat_add(HUD_STAT_SWITCHES, 1);
	}

	t = bpf_map_lookup_elem(&threads, &next);
	if (!t)
		return 0;
	if (!now)
		now = bpf_ktime_get_ns();
	if (t->worker_id != HUD_NOT_WORKER && t->off_ts && now > t->off_ts) {
		hud_u32 zero = 0;
		struct hud_config *cfg = bpf_map_lookup_elem(&config, &zero);
		hud_u64 off = now - t->off_ts;
		if (cfg && off >= cfg->threshold_ns) {
			struct hud_event *e = event_reserve();
			if (e) {
				e->kind = HUD_EV_OFFCPU;
				e->tid = next;
				e->worker_id = t->worker_id;
				e->cpu = bpf_get_smp_processor_id();
				e->ts_ns = t->off_ts;
				e->duration_ns = off;
				e->stack_id = t->off_stack_id;
				e->state = t->off_state;
				e->vol_switches = t->vol_switches;
				e->pad0 = 0;
				bpf_ringbuf_submit(e, 0);
				stat_add(HUD_STAT_OFFCPU, 1);
			}
		}
	}
	t->on_cpu = 1;
	t->on_ts = now;
	return 0;
}

SEC("perf_event")
int hud_sample(struct bpf_perf_event_data *ctx)
{
	hud_u64 id = bpf_get_current_pid_tgid();
	hud_u32 tgid = (hud_u32)(id >> 32), tid = (hud_u32)id, zero = 0;
	struct hud_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct hud_thread *t;
	struct hud_event *e;

	if (!cfg || cfg->tgid != tgid || tid == 0)
		return 0;
	t = bpf_map_lookup_elem(&threads, &tid);
	stat_add(HUD_STAT_SAMPLES, 1);
	e = event_reserve();
	if (!e)
		return 0;
	e->kind = HUD_EV_SAMPLE;
	e->tid = tid;
	e->worker_id = t ? t->worker_id : HUD_NOT_WORKER;
	e->cpu = bpf_get_smp_processor_id();
	e->ts_ns = bpf_ktime_get_ns();
	e->duration_ns = 0;
	e->stack_id = user_stack(ctx);
	e->state = 0;
	e->vol_switches = t ? t->vol_switches : 0;
	e->pad0 = 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
