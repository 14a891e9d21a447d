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
static long (*bpf_probe_read_user)(void *dst, hud_u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static long (*bpf_probe_read_kernel)(void *dst, hud_u32 size, const void *src) = (void *)BPF_FUNC_probe_read_kernel;
static void *(*bpf_get_current_task_btf)(void) = (void *)BPF_FUNC_get_current_task_btf;
static struct pt_regs *(*bpf_task_pt_regs)(void *task) = (void *)BPF_FUNC_task_pt_regs;

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
		hud_u64 off = now - t->off_ts, wait = 0;
		if (t->off_state == 0 || (t->off_state & HUD_STATE_PREEMPTED))
			wait = off;                     /* runnable all along */
		else if (t->wake_ts > t->off_ts && now > t->wake_ts)
			wait = now - t->wake_ts;        /* woken, then queued */
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
				e->wait_ns = wait;
				bpf_ringbuf_submit(e, 0);
				stat_add(HUD_STAT_OFFCPU, 1);
			}
		}
	}
	t->on_cpu = 1;
	t->on_ts = now;
	t->wake_ts = 0;
	return 0;
}

/* Record layout of sched/sched_wakeup (checked by the loader). */
struct sched_wakeup_args {
	hud_u64 common;
	char comm[16];
	hud_s32 pid;
	hud_s32 prio;
	hud_s32 target_cpu;
};

/* When a thread of the target is woken: the start of its run-queue wait. */
SEC("tracepoint/sched/sched_wakeup")
int hud_sched_wakeup(struct sched_wakeup_args *ctx)
{
	hud_u32 pid = (hud_u32)ctx->pid;
	struct hud_thread *t = bpf_map_lookup_elem(&threads, &pid);

	if (t && !t->on_cpu)
		t->wake_ts = bpf_ktime_get_ns();
	return 0;
}

/* The user-mode registers of the interrupted thread: the perf event's own
 * when it interrupted user code, else those saved on kernel entry. */
INLINE int user_regs(struct bpf_perf_event_data *ctx, hud_u64 *ip, hud_u64 *bp)
{
	if ((ctx->regs.cs & 3) == 3) {
		*ip = ctx->regs.rip;
		*bp = ctx->regs.rbp;
		return 0;
	}
	struct pt_regs *regs = bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs || bpf_probe_read_kernel(ip, 8, &regs->rip) || bpf_probe_read_kernel(bp, 8, &regs->rbp))
		return -1;
	return 0;
}

/* Follows the frame pointer chain: at each frame pointer fp, [fp] is the
 * caller's frame pointer, [fp+8] the return address, and the words below fp
 * the registers the function saved. One 48-byte read per frame. */
INLINE hud_u32 walk_user_stack(struct hud_sample *e, hud_u64 ip, hud_u64 bp)
{
	hud_u32 i, n = 1;

	e->ips[0] = ip;
	for (i = 0; i < HUD_STACK_DEPTH - 1; i++) {
		hud_u64 w[6];
		if (bp < 32 || (bp & 7) || bpf_probe_read_user(w, sizeof(w), (void *)(bp - 32)))
			break;
		hud_u64 h = w[0] ^ (w[1] * 0x9e3779b97f4a7c15ull) ^ (w[2] * 0xc2b2ae3d27d4eb4full) ^
			    (w[3] * 0x165667b19e3779f9ull);
		e->fhash[i] = (hud_u32)(h ^ (h >> 32));
		if (!w[5])
			break;
		e->ips[i + 1] = w[5];
		n = i + 2;
		/* The stack grows down: a caller's frame is always above. */
		if (w[4] <= bp)
			break;
		bp = w[4];
	}
	return n;
}

SEC("perf_event")
int hud_sample(struct bpf_perf_event_data *ctx)
{
	hud_u64 id = bpf_get_current_pid_tgid();
	hud_u32 tgid = (hud_u32)(id >> 32), tid = (hud_u32)id, zero = 0;
	struct hud_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct hud_thread *t;
	struct hud_sample *e;
	hud_u64 ip, bp;

	if (!cfg || cfg->tgid != tgid || tid == 0)
		return 0;
	t = bpf_map_lookup_elem(&threads, &tid);
	stat_add(HUD_STAT_SAMPLES, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		stat_add(HUD_STAT_LOST, 1);
		return 0;
	}
	e->kind = HUD_EV_SAMPLE;
	e->tid = tid;
	e->worker_id = t ? t->worker_id : HUD_NOT_WORKER;
	e->cpu = bpf_get_smp_processor_id();
	e->ts_ns = bpf_ktime_get_ns();
	e->vol_switches = t ? t->vol_switches : 0;
	if (user_regs(ctx, &ip, &bp) < 0 || !ip) {
		e->depth = 0;
		stat_add(HUD_STAT_STACK_FAIL, 1);
	} else {
		e->depth = walk_user_stack(e, ip, bp);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}
