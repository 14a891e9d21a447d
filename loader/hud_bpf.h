/* hud_bpf.h — the only contract between the kernel side (bpf.c) and user space
 * (loader/, ui/). Fixed-width types, limits, record layouts, and the few
 * small functions both sides must compute alike.
 * Every struct here is read by both sides, so fields are naturally aligned and
 * padded by hand: the BPF target and x86-64 must agree byte for byte. */
#ifndef HUD_BPF_H
#define HUD_BPF_H

#ifdef __bpf__
typedef unsigned char hud_u8;
typedef unsigned short hud_u16;
typedef unsigned int hud_u32;
typedef int hud_s32;
typedef unsigned long long hud_u64;
#else
#include <stdint.h>
typedef uint8_t hud_u8;
typedef uint16_t hud_u16;
typedef uint32_t hud_u32;
typedef int32_t hud_s32;
typedef uint64_t hud_u64;
#endif

/* Limits. */
#define HUD_MAX_THREADS     8192        /* threads of the target hud lists */
#define HUD_STACK_DEPTH     64          /* user frames kept per stack */
#define HUD_STACK_WINDOW    32          /* words read at the user sp to step over libc */
#define HUD_RINGBUF_BYTES   (1u << 20)  /* the records' rings together: 1 MiB, the least hud sizes them
					 * (ui/main.c): ~1,300 samples of slack */
#define HUD_EVENTS_BYTES    (64u << 10) /* "events": only the wakes of struct hud_wake */
#define HUD_SAMPLE_SLOTS_LEAST 16      /* samples each CPU's ring holds at least, by default */
#define HUD_NOT_WORKER      0xffffffffu /* hud_thread.worker_id of a non-worker */

/* Kernel struct offsets. The sched_switch and sched_wakeup programs are
 * BTF-typed tracepoints (tp_btf): the kernel hands them the task_structs
 * themselves, and they read a few fields straight from them (the sampler
 * too, from bpf_get_current_task_btf: the thread pointer). Where those
 * fields lie depends on the kernel, so bpf.c loads them at these
 * placeholder offsets (never a real one: task_struct is far smaller), and
 * the loader writes the running kernel's offsets, from its BTF, into each
 * such load before the verifier sees it. */
#define HUD_KOFF_BASE        0x7f00
#define HUD_KOFF_TASK_PID    0x7f00     /* task_struct.pid */
#define HUD_KOFF_TASK_STATE  0x7f01     /* task_struct.__state ("state" before 5.14) */
#define HUD_KOFF_TASK_STACK  0x7f02     /* task_struct.stack (the kernel stack) */
#define HUD_KOFF_TASK_CFS_RQ 0x7f03     /* task_struct.se.cfs_rq (CONFIG_FAIR_GROUP_SCHED) */
#define HUD_KOFF_CFS_RQ_RQ   0x7f04     /* cfs_rq.rq (the same) */
#define HUD_KOFF_RQ_CLOCK    0x7f05     /* rq.clock */
#define HUD_KOFF_TASK_FSBASE 0x7f06     /* task_struct.thread.fsbase (x86-64: the thread pointer) */
#define HUD_KOFF_TASK_TGID   0x7f07     /* task_struct.tgid */
#define HUD_KOFF_TASK_RUN_DELAY 0x7f08  /* task_struct.sched_info.run_delay (CONFIG_SCHED_INFO) */
#define HUD_KOFF_TASK_SYSCR  0x7f09     /* task_struct.ioac.syscr (CONFIG_TASK_XACCT) */
#define HUD_KOFF_TASK_SYSCW  0x7f0a     /* task_struct.ioac.syscw (the same) */
#define HUD_KOFF_TASK_LAST_QUEUED 0x7f0b /* task_struct.sched_info.last_queued (CONFIG_SCHED_INFO) */
#define HUD_KOFF_COUNT       12

/* Kernel constants, the same way: bpf.c moves HUD_KC_* into a register
 * (one "r = imm" instruction each) and the loader writes the running
 * kernel's value into the instruction.
 * - HUD_KC_REGS_CAST: 1 when the programs may read a task's user registers
 *   in place (below), else 0; the verifier then drops the other branch.
 * - HUD_KC_PT_REGS_ID: the BTF id of struct pt_regs.
 * A call of helper number HUD_KFUNC_RDONLY_CAST is the kernel function
 * bpf_rdonly_cast (Linux 6.2+; the verifier inlines it: a plain move),
 * which the loader turns into a kfunc call, or into "r0 = 0" where the
 * kernel lacks it (HUD_KC_REGS_CAST is then 0 and the call unreachable).
 * Why: on this kind of VM every helper call costs ~30-50 ns (the return
 * thunks of the speculation mitigations), and these programs run at every
 * context switch. The user registers lie at a fixed distance from the
 * start of the task's kernel stack; each thread's entry learns that
 * distance once from bpf_task_pt_regs (hud_thread.regs_delta).
 * - HUD_KC_RQ_CLOCK: 1 when the programs may read the run queue's clock
 *   in place (task->se.cfs_rq->rq->clock: three loads, where
 *   bpf_ktime_get_ns is a helper call), else 0. That clock is only a
 *   filter: the scheduler updates it at each switch and each tick, except
 *   at a switch right after a wakeup that asked to preempt
 *   (rq_clock_skip_update), so it may be behind by up to about a tick. A
 *   worker coming back reads the real clock only when the run queue's
 *   clock does not rule out a stretch of the threshold (see
 *   hud_config.quick_ns).
 * - HUD_KC_RUN_DELAY: 1 when the sampler may read the thread's time spent
 *   waiting for a CPU so far (task->sched_info.run_delay, the second field
 *   of /proc/PID/task/TID/schedstat), else 0 (hud_sample.run_delay).
 * - HUD_KC_IO_CALLS: 1 when the programs may read the thread's count of
 *   read and write system calls done (task->ioac.syscr + syscw, which the
 *   kernel counts as each call ends; /proc/PID/io), else 0
 *   (hud_event.io_calls).
 * - HUD_KC_WAKE_QUEUED: 1 when sched_switch takes a worker's wakeup from
 *   the task itself as it comes back: task->sched_info.last_queued, the
 *   run queue's clock when the task was last queued (its wakeup, or its
 *   preemption), which the kernel clears only after the tracepoint. No
 *   sched_wakeup program is attached then: it would run at every wakeup
 *   of the machine. Only with HUD_KC_RQ_CLOCK (the same clock); else 0,
 *   and the sched_wakeup program marks the wakeups. */
#define HUD_KC_BASE            0x48554400      /* "HUD\0": no real constant of bpf.c */
#define HUD_KC_REGS_CAST       0x48554400
#define HUD_KC_PT_REGS_ID      0x48554401
#define HUD_KC_RQ_CLOCK        0x48554402
#define HUD_KC_RUN_DELAY       0x48554403
#define HUD_KC_IO_CALLS        0x48554404
#define HUD_KC_WAKE_QUEUED     0x48554405
#define HUD_KC_COUNT           6
#define HUD_KFUNC_RDONLY_CAST  0x7f10

/* Map definitions in the object's "maps" section: one per map symbol.
 * Kept in the old bpf_map_def shape so the loader needs no BTF. */
struct hud_map_def {
	hud_u32 type;
	hud_u32 key_size;
	hud_u32 value_size;
	hud_u32 max_entries;
	hud_u32 map_flags;
};

/* One blocking call can sleep several times: an fsync waits for its data,
 * then for the journal; a write to a full pipe for each page the reader
 * frees. A worker that leaves the CPU again at the same site (the same user
 * registers and system call) within HUD_CHAIN_GAP_NS of its run queue's
 * clock of coming back, after a return that made no record, goes on with
 * the same stretch: its start and its switch-out's clock are kept, so the
 * stretch's record covers the call's sleeps, the waits for a CPU after them
 * and the short times on CPU between them, until it reaches the threshold.
 * Only where the run queue's clock is read in place (HUD_KC_RQ_CLOCK). A
 * sleep of another poll at that site does not go on with it: Tokio's
 * CONTEXT (the task's id, its budget; see hud_config.tls_off) and its
 * scheduler tick (hud_config.tick_tls; where read at both) must read the
 * same as at the stretch's last sleep (hud_thread.sleep_ctx, sleep_tick),
 * and no epoll_wait came between (Tokio turns its I/O driver between polls, after a yield_now
 * say, never inside one, when no other worker holds it). Two tasks that
 * sleep at one line, polled one after the other, were one block of both
 * sleeps; one task's polls that each sleep once and yield, beside an idle
 * worker holding the driver, ~1,380 blocks in 10 s (the demo's
 * yieldnaps) before the tick. */
#define HUD_CHAIN_GAP_NS    500000u

/* "config" (array, 1 entry): written by user space before attaching. */
struct hud_config {
	hud_u32 tgid;           /* the target process */
	hud_u32 pad0;
	hud_u64 threshold_ns;   /* off-CPU stretches shorter than this are not reported */
	hud_u64 text_lo;        /* the main executable's code: [text_lo, text_hi) */
	hud_u64 text_hi;
	/* Set by loader_configure, not its caller: a worker coming back whose
	 * stretch reads shorter than this on the run queue's clock (see
	 * HUD_KC_RQ_CLOCK) is not timed with the real clock, as it cannot
	 * have reached the threshold: the threshold less a tick and a margin
	 * for how far that clock may lag. 0: every return is timed. */
	hud_u64 quick_ns;
	/* Where Tokio keeps its per-thread CONTEXT (the running task's id, its
	 * cooperative budget, ...): tls_off bytes from the thread pointer (two's
	 * complement: below it), tls_len bytes (<= HUD_TLS_MAX); 0, 0 when the
	 * target has no such thread-local or the kernel's thread pointer is
	 * unknown. See hud_sample.ctx_hash. */
	hud_u64 tls_off;
	hud_u32 tls_len;
	/* Set by loader_configure: the slots of each CPU's part of "samples",
	 * less one (a power of two less one; see struct hud_sample_pos). */
	hud_u32 sample_mask;
	/* Tokio's worker loop (multi_thread::worker::Context::run) in the
	 * process: [loop_lo, loop_lo + loop_len). The sampler's walk ends at
	 * its frame: what lies outward (the thread's start, the blocking pool
	 * that launched the worker) is the same in every sample of the thread
	 * and says nothing about the poll (8 of the 13 frames of a sample in
	 * the demo's compute_checksum). 0, 0: walk to the stack's end. */
	hud_u64 loop_lo;
	hud_u64 loop_len;
	/* Where the sampler reads Tokio's scheduler tick (see hud_sample.tick),
	 * set after attaching, from the target's symbols and DWARF: the
	 * multi_thread worker's CURRENT thread-local (a pointer to the worker's
	 * Context) tick_tls bytes from the thread pointer (two's complement:
	 * below it; 0: no tick is read), its Option<Box<Core>> tick_core bytes
	 * into that Context (0 while the worker's core is elsewhere: outside
	 * a poll, in block_in_place), the u32 tick tick_field bytes into Core. */
	hud_u64 tick_tls;
	hud_u32 tick_core;
	hud_u32 tick_field;
	/* 1: no sleep goes on with the one before (HUD_CHAIN_GAP_NS). User
	 * space sets it from attaching until it knows whether the tick is
	 * read: without it, sleeps of two polls of one task could be one
	 * stretch. */
	hud_u32 sleeps_apart;
	hud_u32 pad1;
};
#define HUD_TLS_MAX 128

/* A switch-out's site: the system call and the user registers that
 * locate the blocked call (pc, stack pointer, frame pointer), hashed (bit 0
 * always clear, the low 32 bits never 0). A thread's stack is its own, so a site names one
 * place in one thread: a worker comes back to the same few sites over and
 * over, parking idle or blocking at the same call. User space writes the
 * sites it knows into the thread's site_keys[] (the site's low 32 bits),
 * and the kernel side compares them at each switch-out:
 * - key | HUD_SITE_IDLE: Tokio parks the idle worker there; a sleep there
 *   is marked idle.
 * - key alone: a place whose stack user space read (loader/sleepstacks.c).
 *   One site can stand for more than one stack (a function that blocks at
 *   two of its lines leaves the same registers at both), so site_checks[]
 *   says which words of HUD_SITE_SPAN bytes above the stack pointer (from
 *   the stack pointer, or further up, within HUD_SITE_REACH, where two
 *   stacks differ only there) are return addresses, up to HUD_SITE_RETS of
 *   them, and their hash (see hud_site_check). The kernel side reads the
 *   words from the first of them to the last, in one read of user memory
 *   (~0.6 us here, the first touch of user memory after the switch), and
 *   hashes the return addresses alone (2-7 in the demo app's spans of
 *   11-63 words: walking every word of the span, masked, took ~0.3 us a
 *   check): when the hash agrees, the sleep is not passed on to "sleeps"
 *   (user space holds its stack) and its site is named with the hash
 *   (hud_site_checked);
 *   otherwise it is passed on. A key can be in two slots, with two checks
 *   starting at the same word: one stack each, both hashed from that read.
 * A sleep at any other site is passed on to "sleeps". The first eight keys
 * share a cache line with the registers, which every switch-out writes
 * anyway. Sixteen: the demo app's workers sleep at 11-12 sites, and with
 * room for eight each site added pushed out another (two stacks of one
 * site took turns in one entry), whose next sleep was passed on again:
 * 436 sleeps passed on over 90 s, 260 with sixteen. */
#define HUD_SITES           16
#define HUD_SITE_IDLE       1u
#define HUD_SITE_SPAN       512
#define HUD_SITE_REACH      4096
/* The return addresses a check hashes at most. A span holding more (frames
 * of 16-48 bytes) is checked at the innermost HUD_SITE_RETS, or, for a
 * check moved up to where two stacks differ, at the outermost (the frame
 * that tells them apart is its last); see loader/sleepstacks.c. */
#define HUD_SITE_RETS       8
#define HUD_SITE_AT_END     0xff

struct hud_site_check {
	/* The return addresses: at[j] is the word at sp + 8 * (first + at[j]),
	 * ascending; HUD_SITE_AT_END after the last. One word, so that user
	 * space stores it at once. */
	union {
		hud_u8 at[HUD_SITE_RETS];
		hud_u64 at_word;
	};
	hud_u32 hash;           /* hud_site_mix over those words, in that order, hud_site_fold'ed */
	hud_u16 first;          /* the first word read (at[0] is 0), < HUD_SITE_REACH / 8 */
	hud_u16 words;          /* words read from there: 0 (nothing to check, it holds) .. HUD_SITE_SPAN / 8 */
};

/* A site as user space hands it to the loader (loader_site_add). */
struct hud_site {
	hud_u64 site;           /* hud_event.site */
	hud_u32 idle;           /* 1: an idle park (no check) */
	hud_u32 pad0;
	struct hud_site_check check;
};

static inline hud_u64 hud_site_mix(hud_u64 h, hud_u64 word)
{
	return (h ^ word) * 0x9e3779b97f4a7c15ull + 1;
}

static inline hud_u32 hud_site_fold(hud_u64 h)
{
	return (hud_u32)(h ^ (h >> 32));
}

/* A sleep at a known site whose check held, as its records name it: the
 * site with the check's hash in its high half (the key, its low half,
 * stays), so that each of a site's kept stacks has its own name. */
static inline hud_u64 hud_site_checked(hud_u64 site, hud_u32 hash)
{
	return site ^ ((hud_u64)hash << 32);
}

/* "threads" (array of HUD_THREAD_SLOTS, mmapable): the workers of the
 * target, an open-addressed table tid -> hud_thread. A tid's slots are
 * HUD_THREAD_PROBES consecutive ones from hud_thread_home(tid); tid 0 marks
 * an empty slot (a probe ends there), HUD_TID_GONE a removed one (a probe
 * goes on). User space is the only writer of tid, worker_id and sites,
 * and writes them in place through its mapping; the kernel side keeps the
 * rest. An array lookup is a few instructions where a hash map lookup costs
 * ~90 ns on this kind of VM, and it runs at every context switch. Entries
 * are 448 bytes (seven cache lines): every switch touches the first, a
 * worker's switch-out the second and third, a sleep at a known site the
 * others; the table (1024 entries, 448 KB) holds up to ~500 workers. */
#define HUD_THREAD_SLOT_BITS 10
#define HUD_THREAD_SLOTS    (1u << HUD_THREAD_SLOT_BITS)
#define HUD_THREAD_PROBES   8
#define HUD_TID_GONE        0xffffffffu

static inline hud_u32 hud_thread_home(hud_u32 tid)
{
	return (tid * 0x9e3779b1u) >> (32 - HUD_THREAD_SLOT_BITS);
}

struct hud_thread {
	hud_u32 tid;            /* the key: 0 empty, HUD_TID_GONE removed (user space) */
	hud_u32 worker_id;      /* 0..N-1 (user space) */
	hud_u32 on_cpu;         /* 1 while running */
	hud_u32 off_state;      /* prev_state when it last left (0 or 0x100: runnable) */
	hud_u64 start_rq;       /* the run queue's clock (not CLOCK_MONOTONIC) when what its return
				 * may report began: its switch-out, or after an idle park its
				 * wakeup (the sched_wakeup program's; with HUD_KC_WAKE_QUEUED
				 * the task's own); 0: nothing (see hud_config.quick_ns) */
	hud_u64 off_ts;         /* when it last left the CPU, other than to park idle */
	hud_u64 regs_delta;     /* its user registers' offset from its kernel stack (see HUD_KC_*), 0 until known */
	hud_u64 wake_ts;        /* when it was last woken while off CPU, 0 if not since; with
				 * HUD_KC_WAKE_QUEUED, worked out as it comes back */
	hud_u32 switches;       /* the sequence number of its last switch-out: counts up from
				 * first_seq, one per time it left the CPU */
	hud_u32 vol_switches;   /* ... of which it went to sleep (not preempted) */
	hud_u16 off_idle;       /* 1: it last left at one of its idle sites */
	hud_u16 epoll_waits;    /* times it entered epoll_wait (wrapping): see hud_sample */
	hud_u32 back_rq;        /* the low 32 bits of the run queue's clock at its last return (| 1);
				 * 0: that return ended a stretch with a record (see HUD_CHAIN_GAP_NS) */
	/* second and third cache lines: where it last left, and the sites user space knows */
	hud_u64 off_ip;         /* user registers saved at kernel entry */
	hud_u64 off_sp;
	hud_u64 off_bp;
	hud_u64 off_site;       /* their site */
	hud_u32 site_keys[HUD_SITES];   /* user space: see HUD_SITES; 0 = none */
	hud_u64 site_found;     /* kernel side only: switch_out_site's findings, passed through memory */
	/* user space: switches when the entry was made. Each new entry starts
	 * 65,536 past the last one's (loader_thread_add), so that a switch-out
	 * is one (tid, sequence number) for the whole session: a thread taken
	 * out of the table and put back, or a new thread with a dead one's tid,
	 * would otherwise count from 0 again, and the stack read at an earlier
	 * switch-out of that number named its sleeps. */
	hud_u32 first_seq;
	/* kernel side only, see HUD_CHAIN_GAP_NS: at its last sleep (not a
	 * preemption) outside an idle site, a hash of Tokio's CONTEXT (0
	 * where unknown) and its epoll_waits; the sleeps of its stretch */
	hud_u32 sleep_ctx;
	hud_u16 sleep_epoll;
	hud_u16 stretch_sleeps;
	hud_u32 sleep_io;       /* ... its read and write calls done (HUD_KC_IO_CALLS) at its last sleep */
	hud_u16 off_nr;         /* the system call it last left the CPU in (low 16 bits of orig_rax) */
	/* kernel side only: Tokio's tick at its last sleep (hud_config.tick_tls),
	 * read only at a sleep that could go on with the one before (at its
	 * site, soon after its return; see hud_sched_switch), when
	 * sleep_tick_read is 1 */
	hud_u16 sleep_tick_read;
	hud_u32 sleep_tick;     /* (the checks start on a cache line of their own) */
	struct hud_site_check site_checks[HUD_SITES];   /* user space */
};
_Static_assert(sizeof(struct hud_thread) % 64 == 0, "threads' entries are whole cache lines");
_Static_assert(__builtin_offsetof(struct hud_thread, on_cpu) == 8 &&
	       __builtin_offsetof(struct hud_thread, off_state) == 12 &&
	       __builtin_offsetof(struct hud_thread, off_idle) == 56 &&
	       __builtin_offsetof(struct hud_thread, site_keys) == 96,
	       "tests/integration/idle_parks.sh reads the entries at these offsets");

/* "sleeps" (ring buffer): a worker went to sleep at a site user space does
 * not know (not in its sites[]). User space reads the sleeping thread's stack from
 * /proc/PID/mem at once, while it still sleeps (the kernel side reads no
 * user memory at a switch: each read costs ~180 ns), and keeps it under
 * (tid, seq) for the off-CPU record that may follow when the thread wakes.
 * Submitted with flags 0: the reader is woken when it had caught up. */
struct hud_sleep {
	hud_u32 tid;
	hud_u32 seq;            /* hud_thread.switches of this switch-out */
	hud_u64 ip, sp, bp;     /* user registers saved at kernel entry */
	hud_u64 site;           /* their site */
};
#define HUD_SLEEPS_BYTES    (64u << 10)

/* Record kinds. */
#define HUD_EV_SAMPLE  1u   /* struct hud_sample: the sampler fired on a thread of the target */
#define HUD_EV_OFFCPU  2u   /* struct hud_event: a worker came back after > threshold off CPU
			     * (after an idle park: after > threshold in the run queue) */
#define HUD_EV_SAMPLES_WAITING 3u /* struct hud_wake in "events": a CPU's part of "samples" is
				   * half full; read it */

/* Records (samples and off-CPU records) do not go through the "events"
 * ring buffer: its reserve and submit (a lock taken with interrupts off,
 * two atomic operations) cost ~0.7 us a sample on the test machine, a third
 * of the sampler, and ~1 us an off-CPU record (see docs/PERFORMANCE.md).
 * Each CPU writes its own part of "samples" (an mmapable array:
 * ncpus_possible parts of sample_mask + 1 slots of struct hud_sample, an
 * off-CPU record's struct hud_event in the first bytes of its slot), as a
 * ring with one writer and one reader: its "sample_pos" entry counts the
 * slots written (head, by the kernel side) and read (tail, by user space).
 * The writer fills slot head & sample_mask when head - tail <= sample_mask
 * (reading tail only when the slots it knew free are used up), then
 * advances head (the record's stores before it: x86-64 keeps stores in
 * order, and hud is x86-64 only); user space reads the slots up to head,
 * then advances tail. A CPU's writers never nest: the sampler runs in a
 * timer interrupt (the software cpu-clock event), sched_switch with
 * interrupts off. A full part counts a lost record. When half its slots
 * were written since it last read tail, the writer reads it again, and
 * sends a struct hud_wake in "events" (which wakes the reader) if half are
 * still unread. Each CPU's records are in the order of hud_record_time;
 * user space merges the CPUs' by it (ui/session.c). */
struct hud_sample_pos {
	hud_u64 head;           /* written by the kernel side (the sampler, sched_switch) */
	hud_u64 limit;          /* the kernel side's: tail + slots, when it last read tail */
	hud_u64 pad0[6];        /* (head and tail on lines of their own) */
	hud_u64 tail;           /* written by user space */
	hud_u64 pad1[7];
};

struct hud_wake {
	hud_u32 kind;           /* HUD_EV_SAMPLES_WAITING */
	hud_u32 cpu;
};

/* prev_state bits as sched_switch reports them. */
#define HUD_STATE_PREEMPTED 0x100u  /* TASK_REPORT_MAX: preempted while running */

/* 0 is TASK_RUNNING (a yield); the preempted bit marks an involuntary
 * switch: either way the thread left the CPU without going to sleep. */
static inline int hud_state_runnable(hud_u32 state)
{
	return state == 0 || (state & HUD_STATE_PREEMPTED);
}

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
	/* hud_thread.epoll_waits at this moment (0 for a non-worker, or
	 * where the kernel cannot count them): Tokio's worker turns its I/O
	 * driver (epoll_wait) between two polls of a task that yielded with
	 * nothing else to run, and never inside a poll. */
	hud_u32 epoll_waits;
	/* A hash of the thread's Tokio CONTEXT (hud_config.tls_off) at this
	 * moment, 0 without one: Tokio sets the task's id and a fresh budget
	 * at each poll, and only the task's own use of Tokio's resources
	 * changes the budget during one, so a poll that used up its budget
	 * and was polled again at once reads different from the last. */
	hud_u32 ctx_hash;
	/* Tokio's scheduler tick at this moment (hud_config.tick_tls), valid
	 * when tick_read is 1: the worker adds one for each task it takes from
	 * its queues, so two samples with different ticks are in two polls,
	 * whatever else reads alike (a task that yields with nothing else to
	 * run is polled again at once, and its worker turns the I/O driver
	 * between only when no other worker holds it). */
	hud_u32 tick;
	hud_u32 tick_read;
	/* The thread's time waiting for a CPU so far, in ns (see
	 * HUD_KC_RUN_DELAY; 0 for a non-worker, or where unknown): between
	 * two samples of one poll, the part of their distance the poll was
	 * preempted, however short each wait. */
	hud_u64 run_delay;
	hud_u64 ips[HUD_STACK_DEPTH];       /* innermost first: pc, then return addresses */
	hud_u32 fhash[HUD_STACK_DEPTH];     /* fhash[i]: spills of the function at ips[i] */
};

/* One off-CPU record (and the common header of every record: kind first). */
struct hud_event {
	hud_u32 kind;           /* HUD_EV_* */
	hud_u32 tid;
	hud_u32 worker_id;      /* HUD_NOT_WORKER for other threads of the target */
	hud_u32 cpu;
	hud_u64 ts_ns;          /* SAMPLE: when; OFFCPU: when it left the CPU (idle: its wakeup) */
	hud_u64 duration_ns;    /* OFFCPU: how long it was off CPU (idle: since its wakeup) */
	hud_u32 ctx_hash;       /* OFFCPU, a sleep: hud_thread.sleep_ctx (Tokio's CONTEXT at its last
				 * sleep) with sleep_tick mixed in where read, 0 where unknown:
				 * records of one poll read alike */
	hud_u32 state;          /* OFFCPU: prev_state when it left; SAMPLE: 0 */
	hud_u32 vol_switches;   /* the thread's sleep count at this moment */
	hud_u16 epoll_waits;    /* OFFCPU: hud_thread.epoll_waits at its return */
	hud_u16 sleeps;         /* OFFCPU, not idle: the sleeps of its stretch (see
				 * HUD_CHAIN_GAP_NS), 1 for one sleep or a preemption */
	hud_u64 wait_ns;        /* OFFCPU: of duration_ns, the time it was runnable
				 * (woken or preempted) but not running: run-queue wait */
	hud_u32 seq;            /* hud_thread.switches of the switch-out */
	hud_u32 idle;           /* 1: it left at one of its idle sites */
	hud_u64 ip;             /* the pc when it left: the whole stack of a preempted worker */
	hud_u64 site;           /* where it left (see HUD_SITES) */
	hud_u32 io_calls;       /* OFFCPU, a sleep: hud_thread.sleep_io; two records with the same
				 * count at a read or write call are of one call */
	hud_u16 nr;             /* OFFCPU: hud_thread.off_nr, the system call it left in */
	hud_u16 pad2;
};

_Static_assert(sizeof(struct hud_event) <= sizeof(struct hud_sample), "an off-CPU record fits a sample's slot");

/* When the kernel side wrote a record (CLOCK_MONOTONIC): a sample when it
 * was taken, an off-CPU record at the thread's return, the end of its time
 * off CPU. Both kinds start with the same header. */
static inline hud_u64 hud_record_time(const struct hud_event *e)
{
	return e->kind == HUD_EV_OFFCPU ? e->ts_ns + e->duration_ns : e->ts_ns;
}

/* "stats" (per-CPU array): counters, summed by user space. */
#define HUD_STAT_SAMPLES     0  /* sampler hits on the target */
#define HUD_STAT_OFFCPU      1  /* off-CPU events emitted */
#define HUD_STAT_LOST        2  /* records dropped: their CPU's ring full */
#define HUD_STAT_STACK_FAIL  3  /* user stack captures that failed */
#define HUD_STAT_SLEEPS_LOST 4  /* sleeps that did not fit in "sleeps" */
#define HUD_STAT_COUNT       5

#endif
