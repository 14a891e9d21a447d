/* hud_bpf.h — the only contract between the kernel side (bpf.c) and user space
 * (loader/, ui/). Fixed-width types, limits and record layouts; no functions.
 * Every struct here is read by both sides, so fields are naturally aligned and
 * padded by hand: the BPF target and x86-64 must agree byte for byte. */
#ifndef HUD_BPF_H
#define HUD_BPF_H

#ifdef __bpf__
typedef unsigned int hud_u32;
typedef int hud_s32;
typedef unsigned long long hud_u64;
#else
#include <stdint.h>
typedef uint32_t hud_u32;
typedef int32_t hud_s32;
typedef uint64_t hud_u64;
#endif

/* Limits. */
#define HUD_MAX_THREADS     8192        /* threads of the target we track */
#define HUD_STACK_DEPTH     64          /* user frames kept per stack */
#define HUD_STACK_WINDOW    32          /* words read at the user sp to step over libc */
#define HUD_RINGBUF_BYTES   (4u << 20)  /* 4 MiB: ~70,000 events of slack */
#define HUD_NOT_WORKER      0xffffffffu /* hud_thread.worker_id of a non-worker */

/* Map definitions in the object's "maps" section: one per map symbol.
 * Kept in the old bpf_map_def shape so the loader needs no BTF. */
struct hud_map_def {
	hud_u32 type;
	hud_u32 key_size;
	hud_u32 value_size;
	hud_u32 max_entries;
	hud_u32 map_flags;
};

/* "config" (array, 1 entry): written by user space before attaching. */
struct hud_config {
	hud_u32 tgid;           /* the target process */
	hud_u32 pad0;
	hud_u64 threshold_ns;   /* off-CPU stretches shorter than this are not reported */
	hud_u64 text_lo;        /* the main executable's code: [text_lo, text_hi) */
	hud_u64 text_hi;
};

/* A user stack as the kernel side walked it: return addresses, innermost
 * first (ips[0] is the pc). "offstacks" (hash, tid -> hud_stack) holds each
 * thread's stack from when it last left the CPU; user space creates the
 * entry with the thread, the kernel side fills it. */
struct hud_stack {
	hud_u32 depth;          /* frames in ips; 0 when the walk failed or was skipped */
	hud_u32 idle;           /* 1: skipped, the switch-out matched "idle_sites" */
	hud_u64 site;           /* fingerprint of the switch-out: see below */
	hud_u64 ips[HUD_STACK_DEPTH];
};

/* A switch-out's site: a hash of the system call number and the first
 * HUD_SITE_FRAMES return addresses, cheap to get (a short walk). User space
 * puts the sites whose full stacks turned out to be Tokio parking an idle
 * worker into "idle_sites" (hash, site -> 1), and the kernel side then skips
 * the full walk for them: most switch-outs of a worker are parks. */
#define HUD_SITE_FRAMES     4
#define HUD_IDLE_SITES      4096

/* "threads" (hash, tid -> hud_thread): user space inserts each thread of the
 * target with its worker id; the kernel side keeps the rest up to date. */
struct hud_thread {
	hud_u32 worker_id;      /* 0..N-1, or HUD_NOT_WORKER */
	hud_u32 on_cpu;         /* 1 while running */
	hud_u64 on_ts;          /* when it last went on CPU (ns, CLOCK_MONOTONIC) */
	hud_u64 off_ts;         /* when it last left the CPU */
	hud_u64 oncpu_ns;       /* total time on CPU since registration */
	hud_u32 off_state;      /* prev_state when it last left (0 or 0x100: runnable) */
	hud_u32 pad0;
	hud_u32 switches;       /* times it left the CPU */
	hud_u32 vol_switches;   /* ... of which it went to sleep (not preempted) */
	hud_u64 wake_ts;        /* when it was last woken while off CPU, 0 if not since */
};

/* Event kinds in the ring buffer. */
#define HUD_EV_SAMPLE  1u   /* struct hud_sample: the sampler fired on a thread of the target */
#define HUD_EV_OFFCPU  2u   /* struct hud_event: a worker came back after > threshold off CPU */

/* prev_state bits as sched_switch reports them. */
#define HUD_STATE_PREEMPTED 0x100u  /* TASK_REPORT_MAX: preempted while running */

/* A CPU sample: the sampler walks the user stack itself (frame pointers),
 * so besides each frame's return address it records a hash of the four
 * words just below each frame pointer: the callee-saved registers that
 * frame's function spilled. Frames outside the running poll are suspended,
 * so their hashes only change when the poll ends; user space compares them
 * between samples to tell one long poll from many short ones. */
struct hud_sample {
	hud_u32 kind;           /* HUD_EV_SAMPLE */
	hud_u32 tid;
	hud_u32 worker_id;
	hud_u32 cpu;
	hud_u64 ts_ns;
	hud_u32 vol_switches;   /* the thread's sleep count at this moment */
	hud_u32 depth;          /* frames in ips (>= 1) */
	hud_u64 ips[HUD_STACK_DEPTH];       /* innermost first: pc, then return addresses */
	hud_u32 fhash[HUD_STACK_DEPTH];     /* fhash[i]: spills of the function at ips[i] */
};

/* One off-CPU record (and the common header of every record: kind first). */
struct hud_event {
	hud_u32 kind;           /* HUD_EV_* */
	hud_u32 tid;
	hud_u32 worker_id;      /* HUD_NOT_WORKER for other threads of the target */
	hud_u32 cpu;
	hud_u64 ts_ns;          /* SAMPLE: when; OFFCPU: when it left the CPU */
	hud_u64 duration_ns;    /* OFFCPU: how long it was off CPU; SAMPLE: 0 */
	hud_u32 pad1;
	hud_u32 state;          /* OFFCPU: prev_state when it left; SAMPLE: 0 */
	hud_u32 vol_switches;   /* the thread's sleep count at this moment */
	hud_u32 pad0;
	hud_u64 wait_ns;        /* OFFCPU: of duration_ns, the time it was runnable
				 * (woken or preempted) but not running: run-queue wait */
	struct hud_stack stack; /* OFFCPU: the user stack when it left */
};

/* "stats" (per-CPU array): counters, summed by user space. */
#define HUD_STAT_SAMPLES     0  /* sampler hits on the target */
#define HUD_STAT_OFFCPU      1  /* off-CPU events emitted */
#define HUD_STAT_LOST        2  /* events dropped: ring buffer full */
#define HUD_STAT_STACK_FAIL  3  /* user stack captures that failed */
#define HUD_STAT_SWITCHES    4  /* switches of tracked threads seen */
#define HUD_STAT_IDLE_SKIP   5  /* worker switch-outs whose walk was skipped (idle site) */
#define HUD_STAT_WALK_SLEEP  6  /* worker switch-outs walked whole: asleep, site not idle */
#define HUD_STAT_WALK_RUN    7  /* ... preempted or yielding: site frames only */
#define HUD_STAT_COUNT       8

#endif
