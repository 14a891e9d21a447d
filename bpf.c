/* bpf.c — hud's kernel side. Compiled once at build time with
 *   clang -O2 -target bpf -c bpf.c
 * and embedded in build/hud; loader/ loads it with raw bpf() calls, no libbpf.
 *
 * The programs:
 * - sched_switch (BTF-typed tracepoint, tp_btf): follows the target's
 *   workers on and off CPU.
 *   When a worker leaves, its user registers say where (its site) and
 *   whether user space knows that site: one of its idle parks, or a place
 *   whose stack it already read (checked by one read of the return
 *   addresses just above the stack pointer). A sleep anywhere else goes to
 *   "sleeps", and user space reads the sleeping worker's stack from
 *   /proc/PID/mem while it sleeps. When a worker comes back after more
 *   than the threshold, one HUD_EV_OFFCPU record. It runs at every context
 *   switch of the machine, so it reads no other user memory.
 * - sched_wakeup (tp_btf): when a thread of the target is woken, the
 *   start of its wait in the run queue. Only on kernels where sched_switch
 *   cannot read that from the task itself (HUD_KC_WAKE_QUEUED).
 * - sample (perf event, software cpu-clock, one per CPU): at --freq Hz,
 *   records the user stack of whatever thread of the target is running.
 * - epoll_wait (the syscalls' tracepoints): counts each worker's calls.
 *
 * The two scheduler programs are BTF-typed tracepoints: the kernel calls
 * them with its own task_structs, builds no trace record for them, and
 * they read the few fields they need at offsets the loader takes from the
 * kernel's BTF (HUD_KOFF_*). Threads that are not the target's workers
 * cost one array lookup each for prev and next (see "threads" in
 * hud_bpf.h). No global variables (the
 * loader only handles maps); every function is inlined (no BPF-to-BPF calls
 * to relocate). */
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
static void *(*bpf_ringbuf_reserve)(void *rb, hud_u64 size, hud_u64 flags) = (void *)BPF_FUNC_ringbuf_reserve;
static void (*bpf_ringbuf_submit)(void *data, hud_u64 flags) = (void *)BPF_FUNC_ringbuf_submit;
static long (*bpf_probe_read_user)(void *dst, hud_u32 size, const void *src) = (void *)BPF_FUNC_probe_read_user;
static void *(*bpf_get_current_task_btf)(void) = (void *)BPF_FUNC_get_current_task_btf;
static struct pt_regs *(*bpf_task_pt_regs)(void *task) = (void *)BPF_FUNC_task_pt_regs;
/* Made a kernel function call (kfunc) by the loader: see HUD_KC_* in hud_bpf.h. */
static struct pt_regs *(*bpf_rdonly_cast)(hud_u64 addr, hud_u64 btf_id) = (void *)HUD_KFUNC_RDONLY_CAST;

char _license[] SEC("license") = "Dual MIT/GPL";

struct hud_map_def config SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
	.value_size = sizeof(struct hud_config), .max_entries = 1,
};
struct hud_map_def threads SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
	.value_size = sizeof(struct hud_thread), .max_entries = HUD_THREAD_SLOTS,
	.map_flags = BPF_F_MMAPABLE,
};
struct hud_map_def events SEC("maps") = {
	.type = BPF_MAP_TYPE_RINGBUF, .key_size = 0,
	.value_size = 0, .max_entries = HUD_EVENTS_BYTES,
};
/* Samples and off-CPU records, a ring per CPU (see struct hud_sample_pos):
 * the loader sizes both by the possible CPUs, and "samples" by the bytes of
 * the rings (--ringbuf-kb, by default from the sampling rate). */
struct hud_map_def samples SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
	.value_size = sizeof(struct hud_sample), .max_entries = 1,
	.map_flags = BPF_F_MMAPABLE,
};
struct hud_map_def sample_pos SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
	.value_size = sizeof(struct hud_sample_pos), .max_entries = 1,
	.map_flags = BPF_F_MMAPABLE,
};
struct hud_map_def sleeps SEC("maps") = {
	.type = BPF_MAP_TYPE_RINGBUF, .key_size = 0,
	.value_size = 0, .max_entries = HUD_SLEEPS_BYTES,
};
/* Room per CPU (the BPF stack is too small): entry 0 for the words a known
 * site's check reads (and switch_regs' one word), entry 1 for the stack the
 * sampler walks. */
#define WALK_CHUNK 256
#define SCRATCH_BYTES (HUD_SITE_SPAN > WALK_CHUNK ? HUD_SITE_SPAN + 64 : WALK_CHUNK + 64)
struct hud_map_def scratch SEC("maps") = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4,
	.value_size = SCRATCH_BYTES, .max_entries = 2,
};
struct hud_map_def stats SEC("maps") = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY, .key_size = 4,
	.value_size = 8, .max_entries = HUD_STAT_COUNT,
};

/* The thread's entry in "threads", or NULL when it is not the target's. */
INLINE struct hud_thread *thread_of(hud_u32 tid)
{
	hud_u32 home = hud_thread_home(tid);

	if (!tid)
		return 0;
	for (hud_u32 i = 0; i < HUD_THREAD_PROBES; i++) {
		hud_u32 k = (home + i) & (HUD_THREAD_SLOTS - 1);
		struct hud_thread *t = bpf_map_lookup_elem(&threads, &k);
		if (!t || !t->tid)
			return 0;     /* an empty slot ends the probe */
		if (t->tid == tid)
			return t;
	}
	return 0;
}

INLINE void stat_add(hud_u32 index, hud_u64 n)
{
	hud_u64 *v = bpf_map_lookup_elem(&stats, &index);
	if (v)
		*v += n;    /* per-CPU slot: no other writer */
}

/* ---- The records' rings, one per CPU (see struct hud_sample_pos) --------
 *
 * Samples and off-CPU records alike: a CPU's records are written by its own
 * sampler (in a timer interrupt) and its sched_switch (interrupts off), so
 * never by two writers at once, and in time order (hud_record_time). */

struct hud_ring_slot {
	struct hud_sample *rec;         /* the slot to fill, NULL when the ring is full */
	struct hud_sample_pos *pos;
	hud_u64 head;
};

/* The next free slot of cpu's ring, or a NULL rec (a lost record, counted).
 * The reader's tail is read only when the slots known free are used up:
 * its line is written by the reader, so a read of it is a miss. */
INLINE struct hud_ring_slot cpu_ring_slot(const struct hud_config *cfg, hud_u32 cpu)
{
	struct hud_ring_slot r = { 0, 0, 0 };

	r.pos = bpf_map_lookup_elem(&sample_pos, &cpu);
	if (cfg && r.pos) {
		hud_u32 mask = cfg->sample_mask;
		r.head = r.pos->head;
		if (r.head >= r.pos->limit)
			r.pos->limit = *(volatile hud_u64 *)&r.pos->tail + mask + 1;
		hud_u32 slot = cpu * (mask + 1) + ((hud_u32)r.head & mask);
		r.rec = r.head < r.pos->limit ? bpf_map_lookup_elem(&samples, &slot) : 0;
	}
	if (!r.rec)
		stat_add(HUD_STAT_LOST, 1);
	return r;
}

/* Publishes the record filled in r's slot. */
INLINE void cpu_ring_commit(const struct hud_config *cfg, struct hud_ring_slot *r, hud_u32 cpu)
{
	struct hud_sample_pos *pos = r->pos;
	hud_u64 head = r->head;

	if (!cfg || !pos)
		return;
	hud_u32 mask = cfg->sample_mask;
	/* The record, then head: the compiler keeps the stores in order, and
	 * so does the CPU (see struct hud_sample_pos). */
	asm volatile("" ::: "memory");
	*(volatile hud_u64 *)&pos->head = head + 1;
	/* Half the slots used since tail was read: read it again, and wake
	 * the reader when they are still in use. */
	if (head + 1 - (pos->limit - mask - 1) != (mask >> 1) + 1)
		return;
	hud_u64 tail = *(volatile hud_u64 *)&pos->tail;
	pos->limit = tail + mask + 1;
	if (head + 1 - tail > mask >> 1) {
		struct hud_wake *wk = bpf_ringbuf_reserve(&events, sizeof(*wk), 0);
		if (wk) {
			wk->kind = HUD_EV_SAMPLES_WAITING;
			wk->cpu = cpu;
			bpf_ringbuf_submit(wk, BPF_RB_FORCE_WAKEUP);
		}
	}
}

/* ---- User stacks ---------------------------------------------------------
 *
 * Frame pointers: at each frame pointer fp, [fp] is the caller's frame
 * pointer, [fp+8] the return address, and the words just below fp the
 * registers the function saved. The C library is built without frame
 * pointers, though: a thread stopped in a libc wrapper (recv, futex,
 * nanosleep) has its pc in libc, rbp possibly used as a plain register, and
 * the return address into the code that called libc somewhere in libc's
 * small frames. So when the pc is outside the main executable, the first
 * word near the stack pointer that points into the main executable's code is
 * taken as that return address, and the walk goes on from the caller's frame
 * pointer: rbp itself when it still holds one, else a word libc saved that
 * points at a frame record whose return address is in the executable. */

struct walk {
	hud_u64 ip, sp, bp;
	hud_u64 text_lo, text_hi;
	hud_u64 loop_lo, loop_len;      /* see hud_config */
	hud_u32 n;
};

INLINE int in_text(const struct walk *w, hud_u64 a)
{
	return a >= w->text_lo && a < w->text_hi;
}

/* v stored to map memory at slot and read back: a number the verifier
 * knows nothing about. That turns a kernel pointer into a plain number
 * (switch_regs), and ends the verifier's tracking of what a value was
 * computed from, which would keep apart states differing only there
 * (walk_user_stack). */
INLINE hud_u64 through_memory(volatile hud_u64 *slot, hud_u64 v)
{
	*slot = v;
	return *slot;
}

/* The caller's frame record for a pc outside the main executable: fills
 * *ret with the return address into the executable and returns the frame
 * pointer to continue from, or 0. */
INLINE hud_u64 step_over_library(const struct walk *w, hud_u64 *ret, hud_u64 *win)
{
	hud_u64 r = 0;

	if (bpf_probe_read_user(win, HUD_STACK_WINDOW * 8, (void *)w->sp))
		return 0;
	for (hud_u32 k = 0; k < HUD_STACK_WINDOW; k++)
		if (in_text(w, win[k])) {
			r = win[k];
			break;
		}
	if (!r)
		return 0;
	*ret = r;
	/* Candidates for the caller's frame pointer: rbp, then the words libc
	 * saved near the stack pointer. Nothing here depends on where the
	 * return address was found, which keeps the verifier's work small
	 * (hud's start-up time is mostly verification). */
	for (hud_u32 i = 0; i < 9; i++) {
		hud_u64 fp = i == 0 ? w->bp : win[i - 1];
		hud_u64 rec[2];
		if (fp <= w->sp || fp - w->sp > (1u << 20) || (fp & 7))
			continue;
		if (bpf_probe_read_user(rec, sizeof(rec), (void *)fp))
			continue;
		if (in_text(w, rec[1]) && rec[0] > fp)
			return fp;
	}
	return 0;
}

/* The user stack from w's registers: the pc, then (stepping over libc)
 * the return address of each frame record, innermost first, into ips; for
 * each frame, fhash gets a hash of the four words below its frame pointer
 * (0 for the frame stepped over in libc). Returns the number of frames;
 * the worker loop's is the last (hud_config.loop_lo).
 * Frame records are close together, so the stack is read WALK_CHUNK bytes
 * at a time: each read of user memory costs ~180 ns here, and 256 bytes
 * usually hold several frame records (1 KB, whose copy touches more cache
 * lines, measured no faster than 48 bytes a frame). */
INLINE hud_u32 walk_user_stack(struct walk *w, hud_u64 *ips, hud_u32 *fhash)
{
	hud_u32 one = 1;
	hud_u64 *chunk = bpf_map_lookup_elem(&scratch, &one);
	hud_u64 bp = w->bp, base = 0, have = 0;
	hud_u32 i;

	ips[0] = w->ip;
	w->n = 1;
	if (w->text_hi && !in_text(w, w->ip)) {
		hud_u64 ret = 0;
		/* The window is read into the tail of ips, which the walk
		 * only reaches after it is done with it (the BPF stack is too
		 * small to hold it). */
		bp = step_over_library(w, &ret, ips + HUD_STACK_DEPTH - HUD_STACK_WINDOW);
		if (ret) {
			ips[1] = ret;
			w->n = 2;
			fhash[0] = 0;
		}
	}
	for (i = w->n - 1; i < HUD_STACK_DEPTH - 1 && bp && chunk; i++) {
		/* The frame's words: four spills below bp, the caller's bp,
		 * the return address. */
		hud_u64 lo = bp - 32;
		if (bp < 32 || (bp & 7))
			break;
		/* base and have start at 0, so the first frame reads. */
		if (lo < base || lo + 48 > base + have) {
			/* Near the top of the stack a whole chunk may not be
			 * mapped: then just this frame. */
			if (!bpf_probe_read_user(chunk, WALK_CHUNK, (void *)lo))
				have = WALK_CHUNK;
			else if (!bpf_probe_read_user(chunk, 48, (void *)lo))
				have = 48;
			else
				break;
			base = lo;
		}
		/* The frame's place in the chunk goes through map memory (the
		 * word after the chunk), so that the verifier walks this loop
		 * once per frame, not once per way of getting here. */
		hud_u64 at = through_memory(chunk + WALK_CHUNK / 8, lo - base);
		const hud_u64 *x = (const hud_u64 *)((const char *)chunk + (at & (WALK_CHUNK - 8)));
		hud_u64 h = x[0] ^ (x[1] * 0x9e3779b97f4a7c15ull) ^ (x[2] * 0xc2b2ae3d27d4eb4full) ^
			    (x[3] * 0x165667b19e3779f9ull);
		fhash[i] = (hud_u32)(h ^ (h >> 32));
		if (!x[5])
			break;
		ips[i + 1] = x[5];
		w->n = i + 2;
		/* The stack grows down: a caller's frame is always above. The
		 * worker loop's frame is the last one kept: keep is 0 when x[5]
		 * is in [loop_lo, loop_lo + loop_len), without a branch (with
		 * one the verifier walked this loop twice over: 31,000
		 * instructions, 23,500 now, 15,400 without the test). */
		hud_u64 d = x[5] - w->loop_lo;
		hud_u64 keep = ((((d - w->loop_len) & ~d) >> 63) & 1) - 1;
		bp = (x[4] > bp ? x[4] : 0) & keep;
	}
	return w->n;
}

/* A u32 (u64) field of a task_struct, at a HUD_KOFF_* placeholder offset
 * that the loader replaces with the running kernel's. Written as one load
 * so that the compiler cannot fold the offset into another. */
#define TASK_U32(task, koff) ({ \
	hud_u32 v_; \
	asm volatile("%0 = *(u32 *)(%1 + %2)" : "=r"(v_) : "r"(task), "i"(koff)); \
	v_; })
#define TASK_U64(task, koff) ({ \
	hud_u64 v_; \
	asm volatile("%0 = *(u64 *)(%1 + %2)" : "=r"(v_) : "r"(task), "i"(koff)); \
	v_; })
/* A HUD_KC_* kernel constant, as one "r = imm" the loader rewrites. */
#define KCONST(kc) ({ \
	hud_u64 v_; \
	asm volatile("%0 = %1" : "=r"(v_) : "i"(kc)); \
	v_; })

/* The run queue's clock of task's CPU (see HUD_KC_RQ_CLOCK), never 0; 1
 * where it is not read in place (quick_ns is then 0: every return is
 * timed). */
INLINE hud_u64 rq_clock_of(void *task)
{
	if (!KCONST(HUD_KC_RQ_CLOCK))
		return 1;
	hud_u64 cfs_rq = TASK_U64(task, HUD_KOFF_TASK_CFS_RQ);
	hud_u64 rq = TASK_U64(cfs_rq, HUD_KOFF_CFS_RQ_RQ);
	return TASK_U64(rq, HUD_KOFF_RQ_CLOCK) | 1;
}

/* The entry of task (a task_struct), or NULL when it is not one of the
 * target's workers. Its process is looked at first, in the task's own
 * cache line: a probe of the table for a thread it does not hold reads a
 * line of the table that is seldom in the cache (timed in place here at
 * 60-230 ns), and most of the machine's threads are other programs'. */
INLINE struct hud_thread *thread_of_task(void *task, const struct hud_config *cfg)
{
	if (!cfg || TASK_U32(task, HUD_KOFF_TASK_TGID) != cfg->tgid)
		return 0;
	return thread_of(TASK_U32(task, HUD_KOFF_TASK_PID));
}

/* The user registers of task, the thread of entry t, which is leaving the
 * CPU. Read in place where the kernel allows it (HUD_KC_REGS_CAST): at
 * t->regs_delta past the start of its kernel stack, learned from
 * bpf_task_pt_regs at the thread's first switch-out; each helper call
 * costs ~30-50 ns here, and this runs at every switch-out of a worker. */
INLINE struct pt_regs *switch_regs(struct hud_thread *t, void *task)
{
	hud_u32 zero = 0;

	if (KCONST(HUD_KC_REGS_CAST) && t->regs_delta)
		return bpf_rdonly_cast(TASK_U64(task, HUD_KOFF_TASK_STACK) + t->regs_delta, KCONST(HUD_KC_PT_REGS_ID));
	struct pt_regs *regs = bpf_task_pt_regs(task);
	hud_u64 *w = KCONST(HUD_KC_REGS_CAST) && regs ? bpf_map_lookup_elem(&scratch, &zero) : 0;
	if (w) {
		hud_u64 stack = TASK_U64(task, HUD_KOFF_TASK_STACK);
		hud_u64 at = through_memory(w, (hud_u64)regs);
		if (at > stack && at - stack < (1u << 20))
			t->regs_delta = at - stack;
	}
	return regs;
}

INLINE hud_u64 site_of(hud_u64 nr, hud_u64 ip, hud_u64 sp, hud_u64 bp)
{
	hud_u64 h = (nr + 1) * 0x9e3779b97f4a7c15ull;
	h = (h ^ ip) * 0xff51afd7ed558ccdull;
	h = (h ^ sp) * 0xc4ceb9fe1a85ec53ull;
	h = ((h ^ bp) * 0xff51afd7ed558ccdull) & ~(hud_u64)HUD_SITE_IDLE;
	return (hud_u32)h ? h : h | 2;
}

/* hud_site_mix over the words of w that c lists (hud_site_check.at), of
 * the words read (a list ends at the first index outside them),
 * hud_site_fold'ed. */
INLINE hud_u32 site_check_hash(const struct hud_site_check *c, const hud_u64 *w, hud_u32 words)
{
	hud_u64 h = 0;

	for (hud_u32 j = 0; j < HUD_SITE_RETS; j++) {
		hud_u32 k = c->at[j];
		if (k >= words)
			break;
		h = hud_site_mix(h, w[k & (HUD_SITE_SPAN / 8 - 1)]);
	}
	return hud_site_fold(h);
}

/* Which of a site's kept stacks the return addresses above sp are (see
 * HUD_SITES): 1 for a's, 2 for b's (only when two, and b's check starts
 * at the same word, as user space makes it for two stacks of one site),
 * 0 neither. One read of user memory, of the words from a's first return
 * address to the last of either. */
INLINE int site_check_which(const struct hud_site_check *a, const struct hud_site_check *b, int two, hud_u64 sp)
{
	hud_u32 zero = 0, first = a->first, words = a->words;
	hud_u64 *w = bpf_map_lookup_elem(&scratch, &zero);

	if (!words)
		return 1;
	two = two && b->first == first;
	if (two && b->words > words)
		words = b->words;
	if (!w || words > HUD_SITE_SPAN / 8 || first > HUD_SITE_REACH / 8 - words ||
	    bpf_probe_read_user(w, words * 8, (void *)(sp + first * 8)))
		return 0;
	if (site_check_hash(a, w, words) == a->hash)
		return 1;
	return two && site_check_hash(b, w, words) == b->hash ? 2 : 0;
}

/* A worker leaving the CPU: where it was (user registers, site), and
 * whether user space knows that site (HUD_SITES); a sleep elsewhere, or at
 * a known site with other return addresses above it, is passed on to
 * "sleeps", so user space reads its stack while it sleeps. A site may be
 * kept with two stacks: the one whose check holds names the sleep (its
 * hash in the site's high half, see HUD_SITES). Returns 1 when it parks
 * idle. */
INLINE int switch_out_site(struct hud_thread *t, hud_u32 tid, int runnable, void *task)
{
	struct pt_regs *regs = switch_regs(t, task);
	hud_u64 site;

	t->off_idle = 0;
	t->off_ip = 0;
	if (!regs)
		return 0;
	t->off_ip = regs->rip;
	t->off_sp = regs->rsp;
	t->off_bp = regs->rbp;
	t->off_nr = (hud_u16)regs->orig_rax;
	site = site_of(regs->orig_rax, t->off_ip, t->off_sp, t->off_bp);
	t->off_site = site;
	if (runnable)
		return 0;
	/* The checks are copied out of the loop and made after it: made
	 * inside, the verifier walked them once for each slot. Up to two slots
	 * hold the site (two stacks): what was found so far goes through map
	 * memory (the entry's site_found, on the line of the last keys), or
	 * the verifier would tell apart every way of finding them (with 16
	 * slots, 663,000 instructions walked and 0.6 s, not 11,000). */
	hud_u64 found = 0;      /* the first slot | the last other << 8 | how many << 16 */
	for (hud_u32 i = 0; i < HUD_SITES; i++) {
		hud_u32 k = t->site_keys[i];
		if ((k & ~HUD_SITE_IDLE) != (hud_u32)site)
			continue;
		if (k & HUD_SITE_IDLE) {
			t->off_idle = 1;
			return 1;
		}
		hud_u64 n = found >> 16;
		found = (n ? (found & 0xff) | (hud_u64)i << 8 : i) | (n + 1) << 16;
		found = through_memory(&t->site_found, found);
	}
	hud_u32 slot0 = found & 0xff, slot1 = (found >> 8) & 0xff, known = (hud_u32)(found >> 16);
	struct hud_site_check a = t->site_checks[slot0 & (HUD_SITES - 1)];
	struct hud_site_check b = t->site_checks[slot1 & (HUD_SITES - 1)];
	int held = known ? site_check_which(&a, &b, known > 1, t->off_sp) : 0;
	if (held) {
		hud_u32 hash = held == 1 ? a.hash : b.hash;
		t->off_site = hud_site_checked(site, hash);
		return 0;
	}
	struct hud_sleep *e = bpf_ringbuf_reserve(&sleeps, sizeof(*e), 0);
	if (!e) {
		stat_add(HUD_STAT_SLEEPS_LOST, 1);
		return 0;
	}
	e->tid = tid;
	e->seq = t->switches;
	e->ip = t->off_ip;
	e->sp = t->off_sp;
	e->bp = t->off_bp;
	e->site = site;
	/* Flags 0: a wakeup (~7 us here) only when the reader had caught up;
	 * while sleeps come often, the reader polls and holds one record back,
	 * and none is sent. */
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A hash of task's Tokio CONTEXT thread-local (see hud_sample.ctx_hash),
 * task being the current thread: one read of user memory at its thread
 * pointer less cfg->tls_off. 0 without one. */
INLINE hud_u32 tokio_context_hash(const struct hud_config *cfg, void *task)
{
	hud_u32 one = 1, words = cfg->tls_len / 8;
	hud_u64 *w = bpf_map_lookup_elem(&scratch, &one), h = 0;

	if (!w || words == 0 || words > HUD_TLS_MAX / 8)
		return 0;
	hud_u64 tp = TASK_U64(task, HUD_KOFF_TASK_FSBASE);
	if (!tp || bpf_probe_read_user(w, words * 8, (void *)(tp + cfg->tls_off)))
		return 0;
	/* Without a branch on i < words (see site_check_which). */
	for (hud_u32 i = 0; i < HUD_TLS_MAX / 8; i++) {
		hud_u64 keep = 0 - (hud_u64)(i < words);
		h = (hud_site_mix(h, w[i]) & keep) | (h & ~keep);
	}
	return hud_site_fold(h) | 1;
}

/* Tokio's scheduler tick of task, the current thread (see
 * hud_sample.tick), read through its worker's CURRENT pointer and Core
 * into *tick: three reads of user memory. 0 when it is not known or not
 * there (not a worker, the core out of the Context), 1 when read. */
INLINE hud_u32 tokio_tick(const struct hud_config *cfg, void *task, hud_u32 *tick)
{
	hud_u64 tp, cx = 0, core = 0;

	if (!cfg->tick_tls)
		return 0;
	tp = TASK_U64(task, HUD_KOFF_TASK_FSBASE);
	if (!tp || bpf_probe_read_user(&cx, sizeof(cx), (void *)(tp + cfg->tick_tls)) || !cx ||
	    bpf_probe_read_user(&core, sizeof(core), (void *)(cx + cfg->tick_core)) || !core ||
	    bpf_probe_read_user(tick, sizeof(*tick), (void *)(core + cfg->tick_field)))
		return 0;
	return 1;
}

/* The hash an off-CPU record of a sleep carries (hud_event.ctx_hash):
 * Tokio's CONTEXT at its last sleep, the tick mixed in where it was read. */
INLINE hud_u32 sleep_identity(const struct hud_thread *t)
{
	if (!t->sleep_tick_read)
		return t->sleep_ctx;
	return hud_site_fold(hud_site_mix(t->sleep_ctx, t->sleep_tick)) | 1;
}

/* ---- sched_switch ---------------------------------------------------------- */

/* The leaving thread's state as the classic sched_switch tracepoint
 * reports it (prev_state): HUD_STATE_PREEMPTED when it was preempted, 0
 * when it yielded, else the highest of its TASK_REPORT bits (1 sleeping, 2
 * uninterruptible, ...), 0x80 for TASK_IDLE. Read from the task itself, so
 * a wakeup racing with the switch can show as TASK_WAKING: still a sleep. */
INLINE hud_u32 reported_state(hud_u64 preempt, hud_u32 s)
{
	if (preempt & 0xff)
		return HUD_STATE_PREEMPTED;
	if (s == 0x402)                 /* TASK_IDLE */
		return 0x80;
	if (s & 0x1000)                 /* TASK_RTLOCK_WAIT */
		return 2;
	if ((s & 0x7f) == 0)
		return s & 0x200 ? 1 : 0;       /* TASK_WAKING: it was asleep */
	s &= 0x7f;
	hud_u32 top = 1;
	for (int b = 1; b < 7; b++)
		if (s >> b)
			top = 1u << b;
	return top;
}

/* An off-CPU record for a worker back on CPU: it left at ts, for duration,
 * of which wait runnable but not running. */
INLINE void offcpu_record(struct hud_thread *t, hud_u32 tid, hud_u64 ts, hud_u64 duration, hud_u64 wait,
			  const struct hud_config *cfg)
{
	hud_u32 cpu = bpf_get_smp_processor_id();
	struct hud_ring_slot r = cpu_ring_slot(cfg, cpu);
	struct hud_event *e = (struct hud_event *)r.rec;

	if (!e)
		return;
	e->kind = HUD_EV_OFFCPU;
	e->tid = tid;
	e->worker_id = t->worker_id;
	e->cpu = cpu;
	e->ts_ns = ts;
	e->duration_ns = duration;
	e->ctx_hash = hud_state_runnable(t->off_state) ? 0 : sleep_identity(t);
	e->state = t->off_state;
	e->vol_switches = t->vol_switches;
	e->epoll_waits = t->epoll_waits;
	e->sleeps = t->off_idle ? 0 : t->stretch_sleeps;
	e->wait_ns = wait;
	e->seq = t->switches;
	e->idle = t->off_idle;
	e->ip = t->off_ip;
	e->site = t->off_site;
	e->io_calls = t->sleep_io;
	e->nr = t->off_nr;
	e->pad2 = 0;
	stat_add(HUD_STAT_OFFCPU, 1);
	cpu_ring_commit(cfg, &r, cpu);
}

/* A worker back on CPU at now (0: not read yet), rq on its run queue's
 * clock: one off-CPU record when it was away for cfg's threshold or more,
 * or after an idle park waited that long for a CPU from its wakeup on.
 * queued is when it was last queued on that clock (HUD_KC_WAKE_QUEUED; 0
 * unknown). Returns 1 when it made one. */
INLINE int back_on_cpu(struct hud_thread *t, hud_u32 tid, hud_u64 now, hud_u64 rq, hud_u64 queued,
		       const struct hud_config *cfg)
{
	hud_u64 thr = cfg->threshold_ns;

	if (!now)
		now = bpf_ktime_get_ns();
	/* When it was woken, on this clock, from when it was queued: after
	 * an idle park, back from now (the run queue's clock may not have
	 * moved since a wakeup that preempted: a short wait reads as none);
	 * else on from its switch-out, whose times on both clocks were taken
	 * together (see HUD_KC_WAKE_QUEUED). */
	if (KCONST(HUD_KC_WAKE_QUEUED) && t->off_idle)
		t->wake_ts = queued && rq > queued && now > rq - queued ? now - (rq - queued) : 0;
	else if (KCONST(HUD_KC_WAKE_QUEUED))
		t->wake_ts = t->start_rq && queued > t->start_rq ? t->off_ts + (queued - t->start_rq) : 0;
	if (t->off_idle) {
		/* An idle park only matters when the wakeup then waited long
		 * for a CPU: reported from the wakeup on. */
		if (!t->wake_ts || now <= t->wake_ts || now - t->wake_ts < thr)
			return 0;
		offcpu_record(t, tid, t->wake_ts, now - t->wake_ts, now - t->wake_ts, cfg);
		return 1;
	}
	if (!t->off_ts || now <= t->off_ts || now - t->off_ts < thr)
		return 0;
	hud_u64 off = now - t->off_ts, wait = 0;
	if (hud_state_runnable(t->off_state))
		wait = off;                     /* runnable all along */
	else if (t->wake_ts > t->off_ts && now > t->wake_ts)
		wait = now - t->wake_ts;        /* woken (last), then queued */
	offcpu_record(t, tid, t->off_ts, off, wait, cfg);
	return 1;
}

/* Whether a worker leaving at rq (its run queue's clock) goes on with the
 * stretch it came back from: see HUD_CHAIN_GAP_NS. was_site and was_idle
 * are its previous switch-out's; its new site is in t. A back_rq is only
 * set by a return that found the stretch's start_rq, which stays until
 * this switch-out. */
INLINE int same_call(const struct hud_thread *t, hud_u64 was_site, hud_u32 was_idle, hud_u64 rq)
{
	return KCONST(HUD_KC_RQ_CLOCK) && !was_idle && t->off_ip && t->back_rq && was_site == t->off_site &&
	       (hud_u32)rq - t->back_rq < HUD_CHAIN_GAP_NS;
}

/* Most switches of a worker are idle parks and their returns, so those are
 * kept cheapest: a park reads no clock (its length is of no interest, and
 * the time a thread spends on CPU is the kernel's own schedstat, which user
 * space reads); a return reads the run queue's clock, and the real one
 * only when the stretch may have reached the threshold (quick_ns). */
/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
SEC("tp_btf/sched_switch")
int hud_sched_switch(hud_u64 *ctx)
{
	void *prev_task = (void *)ctx[1], *next_task = (void *)ctx[2];
	hud_u32 zero = 0;
	struct hud_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct hud_thread *t;
	hud_u64 now = 0;

	t = thread_of_task(prev_task, cfg);
	if (t) {
		hud_u32 prev = TASK_U32(prev_task, HUD_KOFF_TASK_PID);
		hud_u64 was_site = t->off_site;
		hud_u32 was_state = t->off_state, was_idle = t->off_idle;
		t->on_cpu = 0;
		t->off_state = reported_state(ctx[0], TASK_U32(prev_task, HUD_KOFF_TASK_STATE));
		t->switches++;
		int runnable = hud_state_runnable(t->off_state);
		if (!runnable)
			t->vol_switches++;
		if (switch_out_site(t, prev, runnable, prev_task)) {
			/* An idle park: its return reads when it was woken
			 * only when it was away that long (HUD_KC_WAKE_QUEUED;
			 * else the sched_wakeup program sets start_rq). */
			t->start_rq = KCONST(HUD_KC_WAKE_QUEUED) ? rq_clock_of(prev_task) : 0;
		} else {
			hud_u64 rq = rq_clock_of(prev_task);
			/* A sleep (not a preemption) reads Tokio's CONTEXT: a
			 * sleep of another poll does not go on with the stretch
			 * (see HUD_CHAIN_GAP_NS). Its tick too, but only where
			 * it could go on (three reads of user memory: at every
			 * sleep, a workload whose workers slept outside their
			 * known idle sites 24,000 times a second, parks not yet
			 * learned, ran 1.6% slower); a tick not read at the
			 * last sleep compares equal. */
			hud_u32 ctx = runnable || !cfg ? t->sleep_ctx : tokio_context_hash(cfg, prev_task);
			hud_u16 epolls = runnable ? t->sleep_epoll : t->epoll_waits;
			int near = same_call(t, was_site, was_idle, rq);
			hud_u32 tick = t->sleep_tick, tick_read = t->sleep_tick_read;
			if (!runnable && cfg) {
				tick = 0;
				tick_read = near ? tokio_tick(cfg, prev_task, &tick) : 0;
			}
			int goes_on = near && ctx == t->sleep_ctx && epolls == t->sleep_epoll && cfg &&
				      !cfg->sleeps_apart && (!tick_read || !t->sleep_tick_read || tick == t->sleep_tick);
			t->sleep_ctx = ctx;
			t->sleep_epoll = epolls;
			t->sleep_tick = tick;
			t->sleep_tick_read = (hud_u16)tick_read;
			if (!runnable && KCONST(HUD_KC_IO_CALLS))
				t->sleep_io = (hud_u32)(TASK_U64(prev_task, HUD_KOFF_TASK_SYSCR) +
							TASK_U64(prev_task, HUD_KOFF_TASK_SYSCW));
			if (goes_on) {
				/* A sleep in the call stays the stretch's state. */
				if (runnable && !hud_state_runnable(was_state))
					t->off_state = was_state;
				if (!runnable && t->stretch_sleeps < 0xffff)
					t->stretch_sleeps++;
			} else {
				now = bpf_ktime_get_ns();
				t->off_ts = now;
				t->start_rq = rq;
				t->stretch_sleeps = 1;
			}
		}
	}

	t = thread_of_task(next_task, cfg);
	if (!t)
		return 0;
	hud_u32 next = TASK_U32(next_task, HUD_KOFF_TASK_PID);
	hud_u64 start = t->start_rq, queued = 0;
	hud_u32 back = 0;
	if (cfg && start) {
		hud_u64 rq = rq_clock_of(next_task);
		back = (hud_u32)rq | 1;
		/* Away long enough to matter: when it was queued (its wakeup,
		 * or its preemption), from the task, a line of it not read
		 * otherwise; after an idle park, what its return may report
		 * begins there. */
		if (KCONST(HUD_KC_WAKE_QUEUED) && rq - start >= cfg->quick_ns) {
			queued = TASK_U64(next_task, HUD_KOFF_TASK_LAST_QUEUED);
			if (t->off_idle)
				start = queued;
		}
		if (start && rq - start >= cfg->quick_ns && back_on_cpu(t, next, now, rq, queued, cfg))
			back = 0;
	}
	t->back_rq = back;
	t->on_cpu = 1;
	t->wake_ts = 0;
	return 0;
}

/* ---- sched_wakeup ------------------------------------------------------------ */

/* When a thread of the target is woken: the start of its run-queue wait,
 * on both clocks after an idle park (the run queue's is the woken thread's
 * own CPU's, freshly updated for the wakeup). Attached only where the
 * kernel lacks HUD_KC_WAKE_QUEUED. */
/* sched_wakeup(struct task_struct *p) */
SEC("tp_btf/sched_wakeup")
int hud_sched_wakeup(hud_u64 *ctx)
{
	void *task = (void *)ctx[0];
	hud_u32 zero = 0;
	struct hud_thread *t = thread_of_task(task, bpf_map_lookup_elem(&config, &zero));

	if (t && !t->on_cpu) {
		t->wake_ts = bpf_ktime_get_ns();
		if (t->off_idle)
			t->start_rq = rq_clock_of(task);
	}
	return 0;
}

/* ---- epoll_wait ----------------------------------------------------------------- */

/* A thread of the target entering epoll_wait, epoll_pwait or epoll_pwait2
 * (the syscalls' tracepoints, one program on the three): counted, for the
 * sampler. Tokio's worker turns its I/O driver between polls, never inside
 * one, so a count that moved between two samples with the same frames
 * outside the poll means two polls of one task (one that yielded, with
 * nothing else to run). A classic tracepoint: an fentry program would cost
 * only epoll_wait, but this machine's kernel (booted in lockdown) refuses
 * to load one (EPERM, before verifying it); the syscall
 * tracepoints slow every system call on the machine a little (see
 * docs/PERFORMANCE.md). */
SEC("tracepoint/syscalls/epoll_wait")
int hud_epoll_wait(void *ctx)
{
	hud_u64 id = bpf_get_current_pid_tgid();
	hud_u32 zero = 0;
	struct hud_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct hud_thread *t = cfg && cfg->tgid == (hud_u32)(id >> 32) ? thread_of((hud_u32)id) : 0;

	(void)ctx;
	if (t)
		t->epoll_waits++;       /* the thread's own count: no other writer */
	return 0;
}

/* ---- The sampler --------------------------------------------------------------- */

SEC("perf_event")
int hud_sample(struct bpf_perf_event_data *ctx)
{
	hud_u64 id = bpf_get_current_pid_tgid();
	hud_u32 tgid = (hud_u32)(id >> 32), tid = (hud_u32)id, zero = 0;
	struct hud_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct hud_thread *t;
	struct hud_sample *e;
	struct walk w = { 0 };

	if (!cfg || cfg->tgid != tgid || tid == 0)
		return 0;
	t = thread_of(tid);
	stat_add(HUD_STAT_SAMPLES, 1);
	hud_u32 cpu = bpf_get_smp_processor_id();
	struct hud_ring_slot r = cpu_ring_slot(cfg, cpu);
	e = r.rec;
	if (!e)
		return 0;
	e->kind = HUD_EV_SAMPLE;
	e->tid = tid;
	e->worker_id = t ? t->worker_id : HUD_NOT_WORKER;
	e->cpu = cpu;
	e->ts_ns = bpf_ktime_get_ns();
	e->vol_switches = t ? t->vol_switches : 0;
	e->epoll_waits = t ? t->epoll_waits : 0;
	void *task = bpf_get_current_task_btf();
	e->ctx_hash = t ? tokio_context_hash(cfg, task) : 0;
	e->tick = 0;
	e->tick_read = t ? tokio_tick(cfg, task, &e->tick) : 0;
	e->run_delay = t && KCONST(HUD_KC_RUN_DELAY) ? TASK_U64(task, HUD_KOFF_TASK_RUN_DELAY) : 0;
	/* A thread already running when hud registered it has not been seen
	 * going on CPU: it is on CPU now. */
	if (t && !t->on_cpu)
		t->on_cpu = 1;
	w.text_lo = cfg->text_lo;
	w.text_hi = cfg->text_hi;
	w.loop_lo = cfg->loop_lo;
	w.loop_len = cfg->loop_len;
	/* The perf event's registers when it interrupted user code, else the
	 * ones saved when the thread entered the kernel. */
	if ((ctx->regs.cs & 3) == 3) {
		w.ip = ctx->regs.rip;
		w.sp = ctx->regs.rsp;
		w.bp = ctx->regs.rbp;
		/* Keeps clang from sharing these loads with the other branch's
		 * (a load through a moved context pointer is refused). */
		asm volatile("" ::: "memory");
	} else {
		/* Its user-mode registers, saved on kernel entry: read in
		 * place (a typed kernel pointer), no copy. */
		struct pt_regs *regs = bpf_task_pt_regs(task);
		if (regs) {
			w.ip = regs->rip;
			w.sp = regs->rsp;
			w.bp = regs->rbp;
		}
	}
	e->depth = w.ip ? walk_user_stack(&w, e->ips, e->fhash) : 0;
	/* Read back from the record: a test of the walk's own count, a
	 * number the verifier knows on each path, would make it tell apart
	 * every walk of every length. */
	if (!*(volatile hud_u32 *)&e->depth)
		stat_add(HUD_STAT_STACK_FAIL, 1);
	cpu_ring_commit(cfg, &r, cpu);
	return 0;
}
