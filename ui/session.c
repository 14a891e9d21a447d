/* session.c — one live profiling session: the loader's records become
 * model events. Sample first, then decide: the records' stacks are
 * symbolized (cached per address), and only then turned into samples and
 * blocking events.
 *
 * Blocking is decided here, from what the kernel side reports:
 * - sched_delay: a worker was off CPU while runnable (preempted or yielded)
 *   longer than the threshold;
 * - off_cpu: a worker slept longer than the threshold, stopped in the
 *   application's code (its stack reaches an application frame before any
 *   frame of Tokio's scheduler); a worker parked by Tokio is idle;
 * - cpu: consecutive samples of one worker stay in the same application
 *   function, with no sleep in between, for longer than the threshold (one
 *   long poll). */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dwarf/dwarf.h"
#include "loader/loader.h"
#include "loader/unwind.h"
#include "ui/ui.h"

/* Samples and off-CPU records come from rings of their own, one per CPU
 * (see struct hud_sample_pos), merged by time (hud_record_time): a
 * worker's samples and its off-CPU records are judged in order. Only
 * records written RECORD_HOLD_NS before the reader looked are taken: one
 * timed just before may not be published yet (a program's run is a few
 * microseconds, but a virtual CPU can be stopped by its host). */
#define RECORD_HOLD_NS 2000000ull
/* Symbolizer units of up to UNIT_AGE_BYTES unused for UNIT_AGE_KEEP turns
 * of UNIT_AGE_NS are dropped (see sym_table_age). On the demo app a unit
 * first needed late held up to ~160 KB; its largest, 1.9 MB, once dropped
 * and rebuilt half a minute later, took the session's peak to 30.7 MB with
 * its scratch (28.6 MB in a run without that). */
#define UNIT_AGE_NS    10000000000ull
#define UNIT_AGE_KEEP  6
#define UNIT_AGE_BYTES ((size_t)512 << 10)

/* Distinct raw stacks (by content hash) and what they became. */
struct raw_entry {
	uint64_t hash;          /* 0 = empty */
	uint32_t model_stack;
	int32_t task_phys;      /* physical frame holding the task, -1 */
};
/* The address and raw-stack caches start small and double at half full:
 * a key touches the page it hashes to, so a large table mostly empty
 * became resident a page at a time as new addresses came, long after
 * warm-up (a 1 MB start: ~4 KB of RSS per new address). */
#define ADDR_CACHE_MIN 1024
#define RAW_CACHE_MIN 1024

/* Symbolized addresses: address -> frames in a pool. */
struct addr_entry {
	uint64_t addr;          /* 0 = empty */
	uint32_t first, n;
};

#define RUN_PENDING 4

/* Threads whose stacks discover_asleep reads from /proc at most in one
 * call: a second after attaching, before the last rule (when no thread had
 * a worker's name), at the end; and every second, in turn (~30-50 us
 * each). */
#define DISCOVER_ASLEEP_ALL  64
#define DISCOVER_ASLEEP_SOME 8
#define SPLIT_POLLS 8   /* poll identities a worker remembers as split by CONTEXT alone (on_sample) */

/* A run of samples of one worker in one application function. A worker
 * preempted in the middle of such a run is still inside that one poll, so
 * its sched delays are held here and only reported on their own if the run
 * does not turn out long enough to be reported itself. */
struct poll_run {
	int active;
	int npending;
	struct hud_event pending[RUN_PENDING];
	int64_t pending_stack[RUN_PENDING];
	uint64_t first_ns, last_ns;
	uint64_t after_ns;      /* the worker seen elsewhere before first_ns (its sample, its return), 0: not */
	uint64_t seen_ns;       /* the worker's latest sample or return on CPU, whatever the run */
	uint32_t vol_switches;
	uint32_t epoll_waits;   /* the worker's epoll_wait count (hud_sample.epoll_waits) */
	uint32_t ctx_hash;      /* its Tokio CONTEXT's hash (hud_sample.ctx_hash) */
	uint32_t tick;          /* Tokio's scheduler tick at its last sample (hud_sample.tick), */
	int tick_read;          /* ... when read */
	uint64_t delay_first, delay_last;       /* hud_sample.run_delay at its first and last sample */
	uint64_t poll;          /* identity of the poll: see session_poll_identity() */
	int poll_guessed;       /* ... from a guessed walk: the next sample's stands */
	uint32_t samples;
	uint32_t need;          /* samples that make it a block (session_cpu_block): see on_sample */
	uint64_t split_polls[SPLIT_POLLS];      /* the worker's latest poll identities seen polled
						 * again at once, told apart only by CONTEXT (see on_sample) */
	uint32_t nsplit;        /* identities ever put there (the next goes at nsplit % SPLIT_POLLS) */
	uint32_t tid;
	int nvotes;
	struct { int32_t func; uint32_t stack; uint32_t count; } votes[8];
	int32_t func;           /* leading culprit so far (for the live view) */
};

/* Which program image a process runs: an exec replaces it under the same
 * pid (its executable, and where its code starts: a new random base even
 * when it runs the same file again). */
struct image {
	dev_t dev;
	ino_t ino;
	unsigned long long startcode;
};

/* /proc/PID/exe and the startcode field of /proc/PID/stat (the 26th):
 * 0, or -1 when either cannot be read. */
static int image_of(int pid, struct image *im)
{
	char path[64], buf[1024];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	if (stat(path, &st) != 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* After the command's closing parenthesis (a command may hold one):
	 * field 3 on; startcode is the 24th of those. */
	const char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 26; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	im->dev = st.st_dev;
	im->ino = st.st_ino;
	im->startcode = strtoull(p + 1, NULL, 10);
	return 0;
}

/* A worker's off_cpu block held back until what follows it is known: the
 * kernel side chains a call's sleeps only until their stretch makes a
 * record, so a poll of many short sleeps at one place came as records of
 * the threshold's length one after another (a tester's 45 ms of 150 us
 * sleeps: 8-9 records of 5 ms). A record that goes on from the held one at
 * its stack, within HUD_CHAIN_GAP_NS, in the same poll, extends it (see
 * held_add). Session times. */
struct held_block {
	int on;
	int cut;                /* its last record's stretch was of several sleeps */
	uint32_t tid, stack, ctx, epolls;
	uint32_t io, nr;        /* its last record's read/write calls done, system call */
	uint64_t start, end;
};

/* What the session keeps per worker id between refreshes. */
struct worker_live {
	uint64_t oncpu_ns;      /* its time on CPU as last read (schedstat); 0 = none yet */
	int sched_fd;           /* /proc/PID/task/TID/schedstat of sched_tid, or -1 */
	uint32_t sched_tid;
	/* The stretch it was last seen in, when the kernel side takes no time
	 * at its start (an idle park, a run on CPU): after which switch-out,
	 * on CPU or not, and when first seen here (session time). */
	uint32_t seen_seq;
	uint32_t seen_on_cpu;
	uint64_t seen_since;
	int64_t open_stack;     /* stack of an off-CPU block going on, -1 */
	int64_t pre_stack;      /* stack read from /proc (asleep since before attach) */
	int pre_tried;
	int ran_loop;           /* a stack of it showed the worker loop (see demote_pool_thread) */
	struct held_block held; /* its latest off_cpu block, not yet given to the model */
};

struct session {
	const struct session_opts *opts;
	struct bpf_obj *bpf;
	struct ringbuf *rb;
	struct sleepstacks *sleeps;     /* stacks of workers asleep, read while they sleep */
	struct thread_set threads;
	struct sym_proc *sym;
	struct model *model;
	struct sample_rings *samples;
	struct raw_entry *raw;
	uint32_t nraw, raw_cap;
	struct addr_entry *addrs;
	uint32_t naddrs, addrs_cap;
	struct frame_in *pool;
	uint32_t npool, pool_cap;
	struct poll_run *runs;
	uint32_t nruns;
	struct worker_live *live;       /* per worker id */
	uint32_t nlive;
	uint64_t text_lo, text_hi;
	struct image image;     /* the program the target ran at attach (see image_of) */
	uint64_t start_ns;
	uint64_t idle_events;
	int named;              /* workers were found by thread name */
	int by_stack;           /* ... by stack (rules 3 and 4) */
	char group[16];         /* ... by the largest NAME-N group (rule 5) */
	int warned;
	int prefix_warned;      /* warn_prefix_unmatched said so (taken back once workers appear) */
	int io_calls_known;     /* off-CPU records carry io_calls (LOADER_IO_CALLS) */
	uint64_t runs_from;     /* session time from which samples make poll runs: when the
				 * tick's place is known (see on_sample); before, no evidence
				 * tells a yielding task's polls apart */
	int tick_place;         /* 1: the kernel side reads Tokio's tick (tokio_tick_place) */
	uint32_t tick_polls;    /* samples in the application's code on workers from runs_from on,
				 * with the tick read (see choose_epoll_counter) */
	uint32_t plain_polls;   /* ... and without it */
	uint32_t asleep_next;   /* discover_asleep's place in the thread list */
	struct unwind *unwind;  /* ... and the process's call-frame information, NULL until needed */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* ---- Symbolization ----------------------------------------------------------- */

static uint64_t addr_hash(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdull;
	a ^= a >> 33;
	return a;
}

static void addr_cache_grow(struct session *s)
{
	uint32_t cap = s->addrs_cap ? s->addrs_cap * 2 : ADDR_CACHE_MIN;
	struct addr_entry *v = xcalloc(cap, sizeof(*v));

	for (uint32_t i = 0; i < s->addrs_cap; i++) {
		if (!s->addrs[i].addr)
			continue;
		uint64_t h = addr_hash(s->addrs[i].addr) & (cap - 1);
		while (v[h].addr)
			h = (h + 1) & (cap - 1);
		v[h] = s->addrs[i];
	}
	free(s->addrs);
	s->addrs = v;
	s->addrs_cap = cap;
}

/* Frames (innermost first) for one address of a stack; `leaf` says whether it
 * is the innermost one. Other frames are return addresses: the call is the
 * instruction before, so addr - 1 is looked up. */
static const struct addr_entry *resolve(struct session *s, uint64_t addr, int leaf)
{
	uint64_t key = leaf ? addr : addr - 1;
	struct sym_frame fr[SYM_MAX_FRAMES];

	if (key == 0)
		key = 1;
	if ((s->naddrs + 1) * 2 > s->addrs_cap)
		addr_cache_grow(s);
	uint64_t h = addr_hash(key) & (s->addrs_cap - 1);
	while (s->addrs[h].addr && s->addrs[h].addr != key)
		h = (h + 1) & (s->addrs_cap - 1);
	struct addr_entry *e = &s->addrs[h];
	if (e->addr)
		return e;
	int n = sym_proc_resolve(s->sym, key, fr, SYM_MAX_FRAMES);
	if (n < 1)
		n = 0;
	while (s->npool + (uint32_t)n + 1 > s->pool_cap) {
		s->pool_cap = s->pool_cap ? s->pool_cap * 2 : 4096;
		s->pool = xrealloc(s->pool, s->pool_cap * sizeof(*s->pool));
	}
	e->addr = key;
	e->first = s->npool;
	e->n = (uint32_t)n;
	struct sym_file *main_file = sym_proc_main(s->sym);
	for (int i = 0; i < n; i++) {
		struct frame_in *f = &s->pool[s->npool++];
		f->function = fr[i].function;
		f->file = fr[i].file;
		f->line = fr[i].line;
		f->decl_line = fr[i].decl_line;
		f->flags = (fr[i].flags & SYM_FRAME_INLINED ? FRAME_INLINED : 0) |
			   (fr[i].flags & SYM_FRAME_SYMTAB ? FRAME_NODEBUG : 0) |
			   (fr[i].flags & SYM_FRAME_UNKNOWN ? FRAME_UNKNOWN : 0);
		f->in_main = main_file && (fr[i].flags & SYM_FRAME_MAIN);
	}
	s->naddrs++;
	return e;
}

static uint64_t ips_hash(const uint64_t *ips, int n)
{
	uint64_t h = 0x84222325cbf29ce4ull ^ (uint64_t)n;
	for (int i = 0; i < n; i++)
		h = addr_hash(h ^ ips[i]) + 0x9e3779b97f4a7c15ull;
	return h ? h : 1;
}

/* The model stack for raw addresses (innermost first), symbolized once per
 * distinct stack; task_phys gets the index in ips of the task's frame. */
static uint32_t model_stack_of(struct session *s, const uint64_t *ips, int n, int32_t *task_phys)
{
	uint64_t h = ips_hash(ips, n);

	if ((s->nraw + 1) * 2 > s->raw_cap) {
		uint32_t cap = s->raw_cap ? s->raw_cap * 2 : RAW_CACHE_MIN;
		struct raw_entry *v = xcalloc(cap, sizeof(*v));
		for (uint32_t i = 0; i < s->raw_cap; i++) {
			if (!s->raw[i].hash)
				continue;
			uint32_t k = (uint32_t)s->raw[i].hash & (cap - 1);
			while (v[k].hash)
				k = (k + 1) & (cap - 1);
			v[k] = s->raw[i];
		}
		free(s->raw);
		s->raw = v;
		s->raw_cap = cap;
	}
	uint32_t k = (uint32_t)h & (s->raw_cap - 1);
	while (s->raw[k].hash && s->raw[k].hash != h)
		k = (k + 1) & (s->raw_cap - 1);
	if (!s->raw[k].hash) {
		struct frame_in frames[256];
		int phys[256], count = 0;
		for (int i = 0; i < n; i++) {
			const struct addr_entry *e = resolve(s, ips[i], i == 0);
			for (uint32_t j = 0; j < e->n && count < 256; j++) {
				phys[count] = i;
				frames[count++] = s->pool[e->first + j];
			}
		}
		uint32_t id = model_stack(s->model, frames, count);
		/* A walk that used all its room stopped short of the stack's
		 * outer frames (a deep recursion): said where it shows. */
		if (n >= HUD_STACK_DEPTH || count >= 256)
			s->model->stacks[id].cut = 1;
		int32_t task = s->model->stacks[id].task;
		s->raw[k].hash = h;
		s->raw[k].model_stack = id;
		s->raw[k].task_phys = task >= 0 && task < count ? phys[task] : -1;
		s->nraw++;
	}
	if (task_phys)
		*task_phys = s->raw[k].task_phys;
	return s->raw[k].model_stack;
}

/* ---- Blocking decisions ------------------------------------------------------------- */

static struct poll_run *run_of(struct session *s, uint32_t worker)
{
	if (worker >= s->nruns) {
		uint32_t n = worker + 16;
		s->runs = xrealloc(s->runs, n * sizeof(*s->runs));
		memset(s->runs + s->nruns, 0, (n - s->nruns) * sizeof(*s->runs));
		s->nruns = n;
	}
	return &s->runs[worker];
}

static void block_open(struct session *s, enum block_kind kind, uint32_t worker, uint32_t tid,
		       uint64_t start, uint64_t dur, uint32_t stack, int open)
{
	struct block_event e;
	const struct stack *st = &s->model->stacks[stack];

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.worker_id = worker;
	e.tid = tid;
	e.start_ns = start;
	e.duration_ns = dur;
	e.stack = stack;
	e.open = open;
	e.culprit_func = model_stack_func(s->model, stack, st->culprit);
	e.task_func = model_stack_func(s->model, stack, st->task);
	model_block(s->model, &e);
}

static void block(struct session *s, enum block_kind kind, uint32_t worker, uint32_t tid,
		  uint64_t start, uint64_t dur, uint32_t stack)
{
	block_open(s, kind, worker, tid, start, dur, stack, 0);
}

static struct worker_live *live_of(struct session *s, uint32_t id);

/* The worker's held off_cpu block to the model, when it has one and what
 * came since (at session time now) cannot go on from it: now is past its
 * end and the gap (UINT64_MAX: now, whatever came). */
static void held_flush(struct session *s, uint32_t worker, uint64_t now)
{
	struct held_block h = live_of(s, worker)->held;
	if (!h.on || (now != UINT64_MAX && now <= h.end + HUD_CHAIN_GAP_NS))
		return;
	live_of(s, worker)->held.on = 0;
	block(s, BLOCK_OFF_CPU, worker, h.tid, h.start, h.end - h.start, h.stack);
}

/* A read or write system call (x86-64): the kernel counts each as it ends
 * (task->ioac, hud_event.io_calls). */
static int io_call(uint32_t nr)
{
	return nr <= 1 || (nr >= 17 && nr <= 20) || nr == 295 || nr == 296 || nr == 327 || nr == 328;
}

/* An off_cpu block of the worker (its record ev, at stack): it extends the
 * held one when this one starts where that one ended, within
 * HUD_CHAIN_GAP_NS, at the same stack and thread, in the same poll as far
 * as the kernel side tells (Tokio's CONTEXT read alike, no epoll_wait
 * between), and of the same call: the held one was cut from a stretch of
 * several sleeps at the threshold, or both are in one read or write call
 * (none ended between them). Else that one goes to the model and this one
 * is held. Calls that each sleep once for longer than the threshold stay
 * apart: a tester's blocking pipe write, then yield_now, every ~80 ms, was
 * one block of 15 s; two tasks' 25 ms sleeps at one line, polled one after
 * the other, blocks of 50 ms. One write that sleeps for each page a slow
 * reader frees, 10 ms at a time, is one block. */
static void held_add(struct session *s, const struct hud_event *ev, uint64_t start, uint32_t stack)
{
	struct held_block *h = &live_of(s, ev->worker_id)->held;
	uint64_t end = start + ev->duration_ns;
	int one_call = h->cut || (s->io_calls_known && io_call(ev->nr) && h->nr == ev->nr && h->io == ev->io_calls);
	if (h->on && one_call && h->tid == ev->tid && h->stack == stack && h->ctx == ev->ctx_hash &&
	    h->epolls == ev->epoll_waits && start >= h->end && start - h->end <= HUD_CHAIN_GAP_NS) {
		h->end = end;
		h->cut = ev->sleeps > 1;
		h->io = ev->io_calls;
		return;
	}
	held_flush(s, ev->worker_id, UINT64_MAX);
	live_of(s, ev->worker_id)->held = (struct held_block){ .on = 1, .cut = ev->sleeps > 1, .tid = ev->tid,
								.stack = stack, .ctx = ev->ctx_hash,
								.epolls = ev->epoll_waits, .io = ev->io_calls,
								.nr = ev->nr, .start = start, .end = end };
}

/* Every worker's held block that nothing can extend any more (now: session
 * time; UINT64_MAX at the end). */
static void held_flush_all(struct session *s, uint64_t now)
{
	for (uint32_t id = 0; id < s->nlive; id++)
		held_flush(s, id, now);
}

static uint64_t session_ts(const struct session *s, uint64_t ts)
{
	return ts > s->start_ns ? ts - s->start_ns : 0;
}

/* The run's leading vote: the application function most of its samples
 * named, a sample taken outside the application's code (guessed, see
 * on_sample) counting half; the latest of equals. */
static int run_leader(const struct poll_run *r)
{
	int best = 0;
	for (int i = 1; i < r->nvotes; i++)
		if (r->votes[i].count >= r->votes[best].count)
			best = i;
	return best;
}

/* The run's culprit's stack: its latest sample's. */
static uint32_t run_stack(const struct poll_run *r)
{
	return r->votes[run_leader(r)].stack;
}

/* A sample of the run names func at stack: 2 votes, 1 when its frames
 * outward were guessed (its pc outside the application's code). Those
 * count, as most samples of a loop that reads the clock are taken in the
 * vDSO (a tester's spin loop of 3 samples there and a 4th in a logging
 * call after it was named after the call), but less. */
static void run_vote(struct poll_run *r, int32_t func, uint32_t stack, int guessed)
{
	int i;
	for (i = 0; i < r->nvotes && r->votes[i].func != func; i++)
		;
	if (i == r->nvotes) {
		if (r->nvotes == 8)
			return;
		r->nvotes++;
		r->votes[i].func = func;
		r->votes[i].count = 0;
	}
	r->votes[i].stack = stack;
	r->votes[i].count += guessed ? 1 : 2;
	r->func = r->votes[run_leader(r)].func;
}

/* Which poll a sample is in. Frames from the task's outward (Tokio's
 * harness, the worker loop) are suspended for the whole poll, so their
 * return addresses and the registers their callees saved below each frame
 * pointer stay exactly the same until the poll returns; the next poll, even
 * of another task of the same type, leaves different values there (another
 * task pointer at least). The innermost frame is the one running, though:
 * when the task's code is inlined into Tokio's poll (a small async fn in a
 * release build), the task's frame is the innermost, and its pc and what
 * is below its frame pointer move, so the frames from its caller's outward
 * stand for it (before, every sample of such a poll was a poll of its own,
 * and a 25 ms loop of one was found as a CPU block 23 times in 116).
 * Without a task frame, or without frames outside the running one, the
 * innermost application function stands in. */
uint64_t session_poll_identity(const uint64_t *ips, const uint32_t *fhash, uint32_t depth, int32_t task_phys,
			       int32_t func)
{
	uint32_t from = task_phys > 0 ? (uint32_t)task_phys : 1;
	if (task_phys < 0 || from >= depth)
		return 0x5a5a000000000000ull ^ (uint32_t)func;
	uint64_t h = 0x2545f4914f6cdd1dull;
	uint32_t end = from + 12 < depth ? from + 12 : depth;
	for (uint32_t i = from; i < end; i++) {
		h = addr_hash(h ^ ips[i]);
		if (i + 1 < depth)
			h = addr_hash(h ^ fhash[i]);
	}
	return h;
}

int session_cpu_block(uint32_t samples, uint32_t need, uint64_t span, uint64_t waited, uint64_t threshold_ns)
{
	return samples >= need && samples >= 2 && span > waited && span - waited >= threshold_ns;
}

void session_cpu_bounds(uint64_t first, uint64_t last, uint64_t after, uint64_t before, uint64_t period_ns,
			uint64_t *start, uint64_t *dur)
{
	uint64_t half = period_ns / 2;
	uint64_t lo = first > half ? first - half : 0, hi = last + half;

	if (lo < after && after <= first)
		lo = after;
	if (before && before >= last && hi > before)
		hi = before;
	*start = lo;
	*dur = hi - lo;
}

/* The sampler's period, for session_cpu_bounds. */
static uint64_t sample_period(const struct session *s)
{
	return s->opts->freq > 0 ? 1000000000ull / (uint64_t)s->opts->freq : 0;
}

/* The stretches of r's poll spent preempted. */
static uint64_t run_waited(const struct poll_run *r)
{
	uint64_t waited = 0;

	for (int i = 0; i < r->npending; i++)
		waited += r->pending[i].duration_ns;
	/* The kernel's count covers every wait between the first sample and
	 * the last, the short ones no record reports too. */
	if (r->delay_last > r->delay_first && r->delay_last - r->delay_first > waited)
		waited = r->delay_last - r->delay_first;
	return waited;
}

/* When r's poll began, as session_cpu_bounds estimates it. */
static uint64_t run_start(const struct session *s, const struct poll_run *r)
{
	uint64_t start, dur;

	session_cpu_bounds(r->first_ns, r->last_ns, r->after_ns, 0, sample_period(s), &start, &dur);
	return start;
}

/* r's poll ended, by end at the latest (session time; 0: not known). */
static void run_finish(struct session *s, uint32_t worker, struct poll_run *r, uint64_t end)
{
	/* The poll's own CPU time: its span less the stretches it spent
	 * preempted. A short poll that mostly waited for a CPU is a victim of
	 * CPU pressure, reported as the sched delays it suffered, not blamed.
	 * The threshold is judged on the samples' span, what they prove; the
	 * event spans what they stand for. */
	uint64_t span = r->active ? r->last_ns - r->first_ns : 0;
	if (r->active && session_cpu_block(r->samples, r->need, span, run_waited(r), s->opts->threshold_ns)) {
		uint64_t start, dur;
		session_cpu_bounds(r->first_ns, r->last_ns, r->after_ns, end, sample_period(s), &start, &dur);
		block(s, BLOCK_CPU, worker, r->tid, start, dur, run_stack(r));
	} else {
		/* Each wait is named by the poll it interrupted, as its samples
		 * saw it (its leading culprit's stack): the record itself holds
		 * only the pc, often in the vDSO or the standard library (a
		 * clock read in a loop), with no application frame. */
		for (int i = 0; i < r->npending; i++)
			if (r->pending_stack[i] >= 0)
				block(s, BLOCK_SCHED_DELAY, worker, r->pending[i].tid, session_ts(s, r->pending[i].ts_ns),
				      r->pending[i].duration_ns,
				      r->active && r->nvotes ? run_stack(r) : (uint32_t)r->pending_stack[i]);
	}
	r->npending = 0;
	r->active = 0;
}

/* A worker stopped at this stack holds up its runtime: stopped in
 * application code, and not inside block_in_place (see on_sample). */
static int stack_blocks_worker(const struct model *m, uint32_t stack)
{
	return model_stack_in_app(m, stack) && m->stacks[stack].thread_class != STACK_CLASS_IN_PLACE;
}

static void describe_rule(struct session *s, char *out, size_t len);
static void register_workers(struct session *s);

/* A warning: on stderr now, and kept for the summary, the export and
 * replay (model_warn). */
__attribute__((format(printf, 2, 3))) static void session_warn(struct model *m, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hud: warning: %s\n", text);
	model_warn(m, text);
}

/* Said once, when the first workers are known: a target without debug
 * info, or with it in split DWARF files, still works, with less to show. */
static void warn_no_debug(struct session *s)
{
	struct sym_file *main_file = sym_proc_main(s->sym);

	if (s->warned || !main_file || (sym_file_has_debug(main_file) && !sym_file_split_debug(main_file)))
		return;
	s->warned = 1;
	char target[512];
	text_sanitize(s->model->info.target, target, sizeof(target));
	if (sym_file_has_debug(main_file))
		session_warn(s->model, "%s keeps its debug info in split DWARF files (.dwo or .dwp: Cargo's "
			     "split-debuginfo), which hud does not read: without inline frames, blocking inside async "
			     "fns may go unreported or be named at library code; build it with split-debuginfo = \"off\"",
			     target);
	else if (!sym_file_has_symbols(main_file))
		session_warn(s->model, "%s has no symbols (it was stripped): its code and Tokio's look alike, so hud "
			     "can report no blocking; pass the unstripped binary with --target FILE", target);
	else
		session_warn(s->model, "%s has no debug info; functions are named from the symbol table without "
			     "file:line (build the target with debug = true)", target);
}

/* Rules 3 and 4 of worker discovery: a thread whose stack shows Tokio's
 * worker loop is a worker (whatever its name; inside block_in_place too:
 * the thread ran the worker until then), and so is a thread running a
 * current_thread runtime's block_on. Without --workers these hold beside
 * the names too: a second runtime, with threads of its own name, has
 * workers of its own. */
static uint32_t discover_by_stack(struct session *s, uint32_t tid, uint32_t class)
{
	if (class != STACK_CLASS_WORKER && class != STACK_CLASS_IN_PLACE && class != STACK_CLASS_CURRENT)
		return HUD_NOT_WORKER;
	uint32_t id = threads_promote(&s->threads, s->bpf, tid);
	s->by_stack |= class == STACK_CLASS_CURRENT ? 2 : 1;
	describe_rule(s, s->model->info.workers_rule, sizeof(s->model->info.workers_rule));
	register_workers(s);
	warn_no_debug(s);
	return id;
}

/* When stack, that of a sleep of tid at site, is Tokio parking the worker
 * (model_stack_parked), the kernel side is told that site is an idle park:
 * it then passes over sleeps there without reading the worker's memory.
 * From an off-CPU record of a park (on_offcpu) and from a site's stack kept
 * by the reader (learn_parks). */
static void learn_park(struct session *s, uint32_t tid, uint64_t site, uint32_t stack)
{
	if (site && model_stack_parked(s->model, stack))
		loader_site_add(s->bpf, tid, (struct hud_site){ .site = site, .idle = 1 });
}

/* A blocking-pool thread named like the workers, seen running the pool
 * (on CPU in a sample, or asleep in an off-CPU record's stack): heavy work
 * and blocking waits belong there, they never block a worker. A thread
 * seen running the worker loop before (block_in_place moved its worker to
 * another thread, and it waits in the pool) keeps its row, and the kernel
 * side goes on following it: it gets a worker again when another worker
 * calls block_in_place, and its first sleep as a worker brings it back
 * (on_offcpu; its samples too, on_sample). Taken out of the kernel side's
 * table, its sleeps as a worker went unseen until a sample of it: with a
 * task calling block_in_place every 300 ms, a quarter of the other tasks'
 * blocks were missed. */
static struct worker_live *live_of(struct session *s, uint32_t id);

static void demote_pool_thread(struct session *s, uint32_t worker, uint32_t tid)
{
	int ran_loop = live_of(s, worker)->ran_loop;
	threads_demote(&s->threads, ran_loop ? NULL : s->bpf, tid);
	if (!ran_loop)
		model_worker_remove(s->model, worker);
	run_of(s, worker)->active = 0;
	run_of(s, worker)->npending = 0;
}

static void on_sample(struct session *s, const struct hud_sample *ev, uint64_t ts)
{
	uint32_t worker = ev->worker_id;
	int32_t task_phys = -1;

	if (ev->depth == 0 || ev->depth > HUD_STACK_DEPTH)
		return;
	uint32_t stack = model_stack_of(s, ev->ips, (int)ev->depth, &task_phys);
	uint32_t class = s->model->stacks[stack].thread_class;
	/* The worker loop in its stack: a worker's (inside block_in_place too). */
	int in_loop = class == STACK_CLASS_WORKER || class == STACK_CLASS_IN_PLACE;
	if (worker != HUD_NOT_WORKER && class == STACK_CLASS_POOL) {
		demote_pool_thread(s, worker, ev->tid);
		worker = HUD_NOT_WORKER;
	}
	if (worker != HUD_NOT_WORKER && !threads_is_worker(&s->threads, ev->tid))
		worker = HUD_NOT_WORKER;    /* demoted since the kernel sent it */
	if (worker == HUD_NOT_WORKER && in_loop && threads_was_worker(&s->threads, ev->tid)) {
		/* A thread of the pool that runs a worker again, whatever rule
		 * found it first: it was demoted waiting in the pool. */
		worker = threads_promote(&s->threads, s->bpf, ev->tid);
		register_workers(s);
	} else if (worker == HUD_NOT_WORKER && !s->opts->workers_prefix &&
		   (!s->named || class == STACK_CLASS_WORKER || class == STACK_CLASS_CURRENT)) {
		worker = discover_by_stack(s, ev->tid, class);
	}
	model_sample(s->model, worker, ev->tid, ev->cpu, ts, stack);
	if (worker == HUD_NOT_WORKER)
		return;
	held_flush(s, worker, ts);
	if (in_loop)
		live_of(s, worker)->ran_loop = 1;
	if (class == STACK_CLASS_IN_PLACE) {
		/* Inside block_in_place: the worker's tasks are polled by
		 * another thread meanwhile, so nothing here blocks them, and
		 * the poll that called it is over as far as they go. */
		run_finish(s, worker, run_of(s, worker), ts);
		run_of(s, worker)->seen_ns = ts;
		return;
	}
	const struct stack *st = &s->model->stacks[stack];
	const struct frame *c = st->culprit >= 0 ? model_stack_frame(s->model, stack, (uint32_t)st->culprit) : NULL;
	int32_t func = c && (c->flags & FRAME_APP) ? (int32_t)c->func_index : -1;
	if (func >= 0 && s->tick_place && ts >= s->runs_from) {
		if (ev->tick_read)
			s->tick_polls++;
		else
			s->plain_polls++;
	}
	uint64_t poll = session_poll_identity(ev->ips, ev->fhash, ev->depth, task_phys, func);
	struct poll_run *r = run_of(s, worker);
	/* Taken outside the application's own code: in the C library or the
	 * vDSO (a clock read in a loop), the sampler steps over that frame by
	 * a guess (bpf.c, step_over_library), or cannot; in a library
	 * function of the executable, the pc may be at its first instructions
	 * or its return, before its frame pointer is set or after it is gone,
	 * and the walk then skips its caller. Either way the frames outward
	 * may be another call's or none, and their identity is no evidence of
	 * a new poll (a tester's 100 ms loop reading the clock was split in
	 * two 9 times in 58, at 499 Hz 13). Only where Tokio's CONTEXT is read:
	 * without it, another task polled right after would look the same. */
	int guessed = ev->ctx_hash &&
		      (func < 0 || st->culprit != 0 || ev->ips[0] < s->text_lo || ev->ips[0] >= s->text_hi);

	/* One poll goes on while the worker neither slept nor turned Tokio's
	 * I/O driver nor took another task from its queues (Tokio's tick, where
	 * read), Tokio's CONTEXT (the task's id, its budget) and the frames
	 * outside the poll stay the same. The tick tells apart the polls of a
	 * task that yields while another worker holds the I/O driver: then
	 * the worker makes no epoll_wait between them (the demo's yielder
	 * scenario read ~13 blocks of up to 1.4 s in 10 s without it). A tick
	 * read at one sample and not at the other says nothing of one poll
	 * (within a poll the core stays in the worker's Context and the tick
	 * reads every time), nor does a run begun before runs_from. */
	int tick_moved = r->tick_read != (ev->tick_read != 0) || r->tick != ev->tick;
	int same_task = r->active && r->vol_switches == ev->vol_switches && r->epoll_waits == ev->epoll_waits &&
			!tick_moved && (r->poll == poll || guessed || r->poll_guessed) && ts >= r->last_ns &&
			r->first_ns >= s->runs_from;
	if (same_task && r->ctx_hash == ev->ctx_hash) {
		if (r->poll_guessed && !guessed) {
			r->poll = poll;
			r->poll_guessed = 0;
		}
		r->last_ns = r->seen_ns = ts;
		r->delay_last = ev->run_delay;
		r->samples++;
		if (func >= 0)
			run_vote(r, func, stack, guessed);
		return;
	}
	/* The same task polled again, as its frames say (see below); a
	 * sample outside the application's code (guessed) does not say which
	 * task it is in: another task's poll right after asked for three
	 * samples (a tester's 20 ms loop after a 30 ms one was lost at 99 Hz). */
	int again = same_task && r->poll == poll && !guessed && !r->poll_guessed;
	/* The same frames outside the poll, taken outside the application's
	 * code: not evidence enough to ask this poll for three samples (see
	 * above), but the frames are remembered as a task polled again at
	 * once. A drain scenario's consumer, whose samples are mostly in the
	 * vDSO's clock read, showed 3-12 two-sample blocks in 10 s where its
	 * budget met by chance. */
	int repoll = same_task && r->poll == poll && !again;
	run_finish(s, worker, r, ts);
	r->after_ns = r->seen_ns;
	r->seen_ns = ts;
	if (func >= 0) {
		r->active = 1;
		r->first_ns = r->last_ns = ts;
		r->vol_switches = ev->vol_switches;
		r->epoll_waits = ev->epoll_waits;
		r->ctx_hash = ev->ctx_hash;
		r->tick = ev->tick;
		r->tick_read = ev->tick_read != 0;
		r->delay_first = r->delay_last = ev->run_delay;
		r->poll = poll;
		r->poll_guessed = guessed;
		r->samples = 1;
		/* A task seen polled again at once, told apart from its poll
		 * before only by CONTEXT (a channel consumer out of budget):
		 * the next sample may be in yet another of its polls that met
		 * the same budget by chance (1 in 128), so two samples of it
		 * are no evidence of one long poll; three are (1 in 16,000). */
		int split = 0;
		for (uint32_t i = 0; i < SPLIT_POLLS && i < r->nsplit; i++)
			split |= r->split_polls[i] == poll;
		if ((again || repoll) && !split)
			r->split_polls[r->nsplit++ % SPLIT_POLLS] = poll;
		r->need = split || again ? 3 : 2;
		r->tid = ev->tid;
		r->nvotes = 0;
		run_vote(r, func, stack, guessed);
	}
}

static void on_offcpu(struct session *s, const struct hud_event *ev, int64_t stack, uint64_t ts)
{
	int runnable = hud_state_runnable(ev->state);
	struct poll_run *r = run_of(s, ev->worker_id);

	held_flush(s, ev->worker_id, ts);
	uint32_t class = stack >= 0 ? s->model->stacks[stack].thread_class : STACK_CLASS_UNKNOWN;
	if (!threads_is_worker(&s->threads, ev->tid)) {
		/* A thread that ran the worker loop, waiting in the pool since
		 * (see demote_pool_thread), asleep in the loop again. */
		if (class != STACK_CLASS_WORKER || !threads_was_worker(&s->threads, ev->tid))
			return;
		threads_promote(&s->threads, s->bpf, ev->tid);
		register_workers(s);
	}
	if (class == STACK_CLASS_POOL) {
		demote_pool_thread(s, ev->worker_id, ev->tid);
		return;
	}
	if (class == STACK_CLASS_WORKER || class == STACK_CLASS_IN_PLACE)
		live_of(s, ev->worker_id)->ran_loop = 1;
	if (runnable && r->active && r->vol_switches == ev->vol_switches) {
		if (r->npending < RUN_PENDING) {
			r->pending[r->npending] = *ev;
			r->pending_stack[r->npending++] = stack;
		}
		return;
	}
	run_finish(s, ev->worker_id, r, ts);
	if (ts + ev->duration_ns > r->seen_ns)
		r->seen_ns = ts + ev->duration_ns;      /* back on CPU then */
	if (stack < 0 || s->model->stacks[stack].thread_class == STACK_CLASS_IN_PLACE)
		return;         /* (inside block_in_place: see on_sample) */
	if (runnable) {
		block(s, BLOCK_SCHED_DELAY, ev->worker_id, ev->tid, ts, ev->duration_ns, (uint32_t)stack);
		return;
	}
	/* Asleep in the application's code: the worker is blocked from its
	 * switch-out until it runs again, the wait for a CPU after its wakeup
	 * included (as perf's and bpftrace's off-CPU tools count it), and
	 * through every sleep of one call (HUD_CHAIN_GAP_NS). */
	if (!ev->idle && model_stack_in_app(s->model, (uint32_t)stack)) {
		if (ev->duration_ns >= s->opts->threshold_ns)
			held_add(s, ev, ts, (uint32_t)stack);
		return;
	}
	/* Anywhere else the worker is idle: at a park site the kernel side
	 * knows (its stack was not read), or in Tokio's or the C library's
	 * code (a park read now goes into the worker's sites, so the kernel
	 * side recognises it from then on and does not report it). Only a
	 * long wait for a CPU after the wakeup is reported. */
	s->idle_events++;
	if (!ev->idle)
		learn_park(s, ev->tid, ev->site, (uint32_t)stack);
	uint64_t wait = ev->wait_ns < ev->duration_ns ? ev->wait_ns : ev->duration_ns;
	if (wait >= s->opts->threshold_ns)
		block(s, BLOCK_SCHED_DELAY, ev->worker_id, ev->tid, ts + (ev->duration_ns - wait), wait, (uint32_t)stack);
}

/* Sites whose stack sleepstacks has just kept: those where Tokio parks an
 * idle worker are taught to the kernel side as idle parks, which it then
 * passes over without reading the worker's memory. An off-CPU record of a
 * park teaches it too (on_offcpu), but only a park that lasted the
 * threshold makes one: on a busy runtime, whose workers park thousands of
 * times a second and never for long, every park paid a check of its stack
 * and a read of Tokio's thread-locals (docs/PERFORMANCE.md). */
static void learn_parks(struct session *s)
{
	struct sleepstacks_site kept[8];
	int n;

	while ((n = sleepstacks_kept(s->sleeps, kept, 8)) > 0)
		for (int i = 0; i < n; i++)
			learn_park(s, kept[i].tid, kept[i].site, model_stack_of(s, kept[i].ips, kept[i].depth, NULL));
}

/* Whether the epoll_wait counter stays attached. It tells apart the polls
 * of a task that yields, where Tokio turns its I/O driver between them;
 * Tokio's tick tells them apart wherever it is read, and the counter costs
 * every system call of the machine the syscall tracepoints' slower way in
 * (a workload of 48,000 switches a second ran ~1 point slower with it;
 * docs/PERFORMANCE.md). Within a poll on a multi_thread worker the tick is
 * always read (the core is in the worker's Context), so once TICK_POLLS
 * samples in polls all read it, the counter is detached; the first poll
 * sampled without it (a current_thread runtime beside, a Tokio whose tick
 * hud cannot find) attaches it again for the rest of the session. */
#define TICK_POLLS 20

static void choose_epoll_counter(struct session *s)
{
	struct model_info *i = &s->model->info;

	if (s->plain_polls && i->tick_read != 0) {
		i->tick_read = 0;
		i->epoll_counted = s->opts->no_epoll_count ? 0 : loader_epoll_counter(s->bpf, 1);
	} else if (i->tick_read < 0 && s->tick_polls >= TICK_POLLS) {
		i->tick_read = 1;
		i->epoll_counted = loader_epoll_counter(s->bpf, 0);
	}
}

/* ---- The loop ------------------------------------------------------------------ */

static unsigned long long bench_records;
static void bench_report(void)
{
	fprintf(stderr, "hud: records received %llu\n", bench_records);
	fprintf(stderr, "hud: symbolizer tables %zu KB in %zu units, %llu units dropped for the budget, "
		"%llu unused for a minute\n", sym_table_bytes() >> 10, sym_table_units(),
		(unsigned long long)sym_table_evictions(), (unsigned long long)sym_table_aged());
}

/* Counts a record read (and, for ./build.sh bench, notes the first). */
static void record_read(void)
{
	/* ./build.sh bench (HUD_BENCH_FIRST_EVENT=1, undocumented): the
	 * CLOCK_MONOTONIC time of the first record (attach latency) and, at
	 * exit, how many were read (lost counts are checked against it). */
	if (bench_records++ == 0 && getenv("HUD_BENCH_FIRST_EVENT")) {
		fprintf(stderr, "hud: first event at %llu ns\n", (unsigned long long)now_ns());
		atexit(bench_report);
	}
}

/* A record of "events": only a wake (a CPU's ring is half full), which
 * has done its work by waking the reader. */
static int drain_wake(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

/* The stack of an off-CPU record: for a sleep, the one read while the
 * thread slept; for a preempted (or idle) worker, where it was, its pc. -1
 * when there is none. */
static int64_t offcpu_stack(struct session *s, const struct hud_event *ev)
{
	int runnable = hud_state_runnable(ev->state);
	uint64_t ips[HUD_STACK_DEPTH];
	int n = 0;

	if (!runnable && !ev->idle)
		n = sleepstacks_get(s->sleeps, ev->tid, ev->seq, ev->site, ips, HUD_STACK_DEPTH);
	if (!n && ev->ip) {
		ips[0] = ev->ip;
		n = 1;
	}
	return n ? (int64_t)model_stack_of(s, ips, n, NULL) : -1;
}

#define READY_CPUS 64

/* Into cpus (READY_CPUS at most), the CPUs with a record written by
 * horizon: how many; *more says whether others did not fit (the rest on
 * the next round). */
static int ready_cpus(struct session *s, uint64_t horizon, int *cpus, int *more)
{
	int n = s->samples ? sample_rings_cpus(s->samples) : 0, k = 0;

	*more = 0;
	for (int c = 0; c < n; c++)
		if (sample_rings_peek(s->samples, c, horizon)) {
			if (k == READY_CPUS) {
				*more = 1;
				break;
			}
			cpus[k++] = c;
		}
	return k;
}

/* A record of the rings, copied out of its slot, by its kind. */
static void on_record(struct session *s, const void *rec)
{
	uint32_t kind;

	memcpy(&kind, rec, sizeof(kind));
	record_read();
	if (kind == HUD_EV_SAMPLE) {
		const struct hud_sample *smp = rec;
		on_sample(s, smp, session_ts(s, smp->ts_ns));
	} else if (kind == HUD_EV_OFFCPU) {
		const struct hud_event *e = rec;
		if (e->worker_id != HUD_NOT_WORKER)
			on_offcpu(s, e, offcpu_stack(s, e), session_ts(s, e->ts_ns));
	}
}

/* Processes, in time order (hud_record_time), the records of every CPU's
 * ring written by horizon (CLOCK_MONOTONIC). */
static void process_ready(struct session *s, uint64_t horizon)
{
	int cpus[READY_CPUS], more;
	int ncpus = ready_cpus(s, horizon, cpus, &more);

	for (;;) {
		const struct hud_event *first = NULL;
		int at = -1;
		for (int j = 0; j < ncpus;) {
			const struct hud_event *rec = sample_rings_peek(s->samples, cpus[j], horizon);
			if (!rec) {
				cpus[j] = cpus[--ncpus];
				continue;
			}
			if (!first || hud_record_time(rec) < hud_record_time(first)) {
				first = rec;
				at = cpus[j];
			}
			j++;
		}
		if (first) {
			/* Copied out before its slot goes back to the kernel side. */
			union {
				struct hud_sample smp;
				struct hud_event e;
			} copy;
			memcpy(&copy, first, sizeof(copy));
			sample_rings_pop(s->samples, at);
			on_record(s, &copy);
		} else if (!more || !(ncpus = ready_cpus(s, horizon, cpus, &more))) {
			break;
		}
	}
}

/* Reads the ring buffer of wakes (waiting up to wait_ms for one) and
 * processes the records that are ready: see RECORD_HOLD_NS. At the end
 * (last), all of them. Returns -1 when the ring buffer could not be read. */
static int read_records(struct session *s, int wait_ms, int last)
{
	if (ringbuf_poll(s->rb, wait_ms, drain_wake, s) < 0)
		return -1;
	/* Once the clock is read, what the rings hold is all that was written
	 * until then (give or take RECORD_HOLD_NS). */
	process_ready(s, last ? UINT64_MAX : now_ns() - RECORD_HOLD_NS);
	return 0;
}

static void register_workers(struct session *s)
{
	for (int i = 0; i < s->threads.n; i++) {
		const struct thread_info *t = &s->threads.v[i];
		if (t->worker_id != HUD_NOT_WORKER)
			model_worker(s->model, t->worker_id, t->tid, t->comm);
	}
	/* A runtime started after hud: --workers' prefix matched at last,
	 * and the summary does not say otherwise. */
	if (s->prefix_warned && s->model->nworkers) {
		char start[64];
		snprintf(start, sizeof(start), "no thread of process %d is named", s->opts->pid);
		model_unwarn(s->model, start);
		s->prefix_warned = 0;
	}
}

/* The process's call-frame information, for stacks read from /proc:
 * opened at the first need, kept for the session (NULL: out of memory). */
static struct unwind *process_unwind(struct session *s)
{
	if (!s->unwind)
		s->unwind = unwind_open(s->opts->pid);
	return s->unwind;
}

/* The stack of a worker that has not left the CPU since hud attached (so
 * the kernel side never saw its stack), read once from /proc; -1 if none. */
static int64_t pre_attach_stack(struct session *s, const struct worker_stat *w, struct worker_live *l)
{
	if (l->pre_tried)
		return l->pre_stack;
	uint64_t ips[HUD_STACK_DEPTH];
	int n = ustack_sleeping(s->opts->pid, w->tid, process_unwind(s), s->text_lo, s->text_hi, ips, HUD_STACK_DEPTH);
	l->pre_tried = 1;
	l->pre_stack = n > 0 ? (int64_t)model_stack_of(s, ips, n, NULL) : -1;
	return l->pre_stack;
}

static struct worker_live *live_of(struct session *s, uint32_t id)
{
	if (id >= s->nlive) {
		uint32_t n = id + 16;
		s->live = xrealloc(s->live, n * sizeof(*s->live));
		for (uint32_t k = s->nlive; k < n; k++)
			s->live[k] = (struct worker_live){ .sched_fd = -1, .open_stack = -1, .pre_stack = -1 };
		s->nlive = n;
	}
	return &s->live[id];
}

static void sched_close(struct worker_live *l)
{
	if (l->sched_fd >= 0)
		close(l->sched_fd);
	l->sched_fd = -1;
}

/* Why /proc/PID/task could not be listed (threads_scan failed, errno
 * set), as a stop reason: the target's exit only when it is gone, not when
 * hud ran out of file descriptors, say. */
static void scan_failure(const struct session *s, char *out, size_t len)
{
	int e = errno;
	if (e == ENOENT || e == ESRCH || (kill(s->opts->pid, 0) != 0 && errno == ESRCH))
		snprintf(out, len, "target exited");
	else if (e == EMFILE || e == ENFILE)
		snprintf(out, len, "out of file descriptors (raise ulimit -n)");
	else
		snprintf(out, len, "cannot list its threads: %s", strerror(e));
}

/* Workers gone since the last scan (threads_scan's gone[]). Their schedstat
 * files close. A row whose thread never showed the worker loop was a
 * blocking-pool thread's, named like the workers and not yet seen in the
 * pool: it goes, and its id is given back for the next new thread, so a
 * pool whose threads come and go (spawn_blocking bursts, a short
 * keep-alive) makes neither rows nor ids grow with time. */
static void forget_gone(struct session *s)
{
	for (int i = 0; i < s->threads.ngone; i++) {
		uint32_t id = s->threads.gone[i];
		held_flush(s, id, UINT64_MAX);
		struct worker_live *l = live_of(s, id);
		sched_close(l);
		if (l->ran_loop)
			continue;
		model_worker_remove(s->model, id);
		*l = (struct worker_live){ .sched_fd = -1, .open_stack = -1, .pre_stack = -1 };
		*run_of(s, id) = (struct poll_run){ 0 };
		threads_release_id(&s->threads, id);
	}
	s->threads.ngone = 0;
}

/* The thread's time on CPU so far, from the kernel's own accounting
 * (/proc/PID/task/TID/schedstat, kept open); 0 when it cannot be read. */
static uint64_t oncpu_of(struct session *s, struct worker_live *l, uint32_t tid)
{
	char buf[96];

	if (l->sched_fd >= 0 && l->sched_tid != tid)
		sched_close(l);
	if (l->sched_fd < 0) {
		snprintf(buf, sizeof(buf), "/proc/%d/task/%u/schedstat", s->opts->pid, tid);
		l->sched_fd = open(buf, O_RDONLY | O_CLOEXEC);
		l->sched_tid = tid;
		l->oncpu_ns = 0;
		if (l->sched_fd < 0)
			return 0;
	}
	ssize_t n = pread(l->sched_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

/* When the stretch t is in was first seen here (see worker_live.seen_*). */
static uint64_t first_seen(struct worker_live *l, const struct hud_thread *t, uint64_t ts)
{
	if (l->seen_seq != t->switches || l->seen_on_cpu != t->on_cpu || !l->seen_since) {
		l->seen_seq = t->switches;
		l->seen_on_cpu = t->on_cpu;
		l->seen_since = ts;
	}
	return l->seen_since;
}

/* Brings the workers up to date from the kernel side's thread table: on-CPU
 * time since the last look (timeline, utilisation) and the state each one is
 * in right now. A worker blocked at this moment shows as blocked at once,
 * with its culprit so far, also when the block never ends:
 * - on CPU in one application function for longer than the threshold;
 * - asleep for longer than the threshold, stopped in application code;
 * - runnable but off CPU for longer than the threshold. */
static void refresh_workers(struct session *s)
{
	uint64_t now = now_ns(), ts = session_ts(s, now);
	struct model *m = s->model;

	m->info.now_ns = ts;
	m->info.duration_ns = ts;
	for (uint32_t i = 0; i < m->nworkers; i++) {
		struct worker_stat *w = &m->workers[i];
		struct hud_thread t;
		struct worker_live *l = live_of(s, w->id);
		if (loader_thread_get(s->bpf, w->tid, &t) < 0) {
			/* Not in the kernel side's table: its thread waits in the
			 * pool (its worker moved to another thread, and
			 * demote_pool_thread took it out) or is gone; nothing of
			 * it is going on. */
			if (w->state != WORKER_IDLE)
				model_worker_state(m, w->id, WORKER_IDLE, ts, -1, BLOCK_OFF_CPU);
			l->open_stack = -1;
			sched_close(l);
			continue;
		}
		uint64_t total = oncpu_of(s, l, w->tid);
		if (total > l->oncpu_ns && l->oncpu_ns)
			model_worker_busy(m, w->id, ts, total - l->oncpu_ns);
		if (total)
			l->oncpu_ns = total;

		const struct poll_run *r = run_of(s, w->id);
		uint64_t thr = s->opts->threshold_ns;
		l->open_stack = -1;
		if (t.on_cpu) {
			/* Blocked in one poll by the rule its record is judged by
			 * when it ends: one sample is no evidence of a long poll. */
			if (r->active && r->vol_switches == t.vol_switches && r->epoll_waits == t.epoll_waits &&
			    ts > r->first_ns &&
			    session_cpu_block(r->samples, r->need, ts - r->first_ns, run_waited(r), thr))
				model_worker_state(m, w->id, WORKER_BLOCKED, run_start(s, r), r->func, BLOCK_CPU);
			else
				model_worker_state(m, w->id, WORKER_RUNNING, first_seen(l, &t, ts), -1, BLOCK_CPU);
			continue;
		}
		if (t.switches == t.first_seq) {
			/* Off CPU since before hud attached: its stack is read from
			 * /proc (once), a deadlock that began earlier included. */
			int64_t stack = pre_attach_stack(s, w, l);
			if (stack >= 0 && stack_blocks_worker(m, (uint32_t)stack)) {
				int32_t func = model_stack_func(m, (uint32_t)stack, m->stacks[stack].culprit);
				model_worker_state(m, w->id, WORKER_BLOCKED, 0, func, BLOCK_OFF_CPU);
				l->open_stack = stack;
			} else {
				model_worker_state(m, w->id, WORKER_IDLE, 0, -1, BLOCK_OFF_CPU);
			}
			continue;
		}
		if (t.off_idle) {
			model_worker_state(m, w->id, WORKER_IDLE, first_seen(l, &t, ts), -1, BLOCK_OFF_CPU);
			continue;
		}
		uint64_t since = session_ts(s, t.off_ts);
		int runnable = hud_state_runnable(t.off_state);
		if (ts > since && ts - since >= thr) {
			int64_t stack = -1;
			uint64_t ips[HUD_STACK_DEPTH];
			int n = 0;
			if (!runnable)
				n = sleepstacks_get(s->sleeps, w->tid, t.switches, t.off_site, ips, HUD_STACK_DEPTH);
			if (n > 0)
				stack = model_stack_of(s, ips, n, NULL);
			if (runnable) {
				model_worker_state(m, w->id, WORKER_BLOCKED, since, r->active ? r->func : -1, BLOCK_SCHED_DELAY);
				continue;
			}
			if (stack >= 0 && stack_blocks_worker(m, (uint32_t)stack)) {
				int32_t func = model_stack_func(m, (uint32_t)stack, m->stacks[stack].culprit);
				model_worker_state(m, w->id, WORKER_BLOCKED, since, func, BLOCK_OFF_CPU);
				l->open_stack = stack;
				continue;
			}
		}
		/* Preempted for less than the threshold, a worker is still at
		 * its work, waiting for a CPU in the middle of it (htop's R). */
		model_worker_state(m, w->id, runnable ? WORKER_RUNNING : WORKER_IDLE, since, -1, BLOCK_OFF_CPU);
	}
}

/* Blocks still going on as the session ends: a worker asleep in application
 * code (a deadlock never comes back) or inside one long poll. */
static void report_open_blocks(struct session *s)
{
	struct model *m = s->model;

	for (uint32_t i = 0; i < m->nworkers; i++) {
		const struct worker_stat *w = &m->workers[i];
		struct poll_run *r = run_of(s, w->id);
		uint64_t now = m->info.now_ns;
		if (w->state == WORKER_BLOCKED && w->state_kind == BLOCK_OFF_CPU && w->id < s->nlive &&
		    s->live[w->id].open_stack >= 0) {
			block_open(s, BLOCK_OFF_CPU, w->id, w->tid, w->state_since_ns,
				   now > w->state_since_ns ? now - w->state_since_ns : 0, (uint32_t)s->live[w->id].open_stack, 1);
		} else if (w->state == WORKER_BLOCKED && w->state_kind == BLOCK_CPU && r->active && now > r->first_ns &&
			   session_cpu_block(r->samples, r->need, now - r->first_ns, run_waited(r), s->opts->threshold_ns)) {
			uint64_t start = run_start(s, r);
			block_open(s, BLOCK_CPU, w->id, r->tid, start, now - start, run_stack(r), 1);
			r->active = 0;
			r->npending = 0;
		}
	}
	for (uint32_t w = 0; w < s->nruns; w++)
		run_finish(s, w, &s->runs[w], 0);
}

/* What the kernel side counted (lost events, failed stacks) and the share of
 * frames with debug info, for the status line and the summary. */
static void refresh_counters(struct session *s)
{
	uint64_t st[HUD_STAT_COUNT];

	if (loader_stats(s->bpf, st) == 0) {
		struct sleepstacks_stats ss;
		sleepstacks_stats(s->sleeps, &ss);
		s->model->info.lost = st[HUD_STAT_LOST];
		/* Samples whose stack could not be walked, and sleeps whose
		 * stack was not read: the "sleeps" ring was full, or nothing
		 * was readable at the stack pointer. */
		s->model->info.stack_failures = st[HUD_STAT_STACK_FAIL] + st[HUD_STAT_SLEEPS_LOST] + ss.failed;
	}
	s->model->info.debug_percent = sym_proc_debug_percent(s->sym);
}

/* The distinct names of the process's threads, sanitized, comma-separated
 * (the first eight, then "..."); "(none)" when it has none listed. */
static void thread_names(const struct session *s, char *names, size_t cap)
{
	char name[64];
	size_t len = 0;
	int shown = 0, more = 0;

	names[0] = 0;
	for (int i = 0; i < s->threads.n; i++) {
		const char *comm = s->threads.v[i].comm;
		int seen = 0;
		for (int k = 0; k < i && !seen; k++)
			seen = strcmp(s->threads.v[k].comm, comm) == 0;
		if (seen)
			continue;
		if (shown == 8) {
			more = 1;
			continue;
		}
		text_sanitize(comm, name, sizeof(name));
		int n = snprintf(names + len, cap - len, "%s%s", shown ? ", " : "", name);
		if (n > 0 && (size_t)n < cap - len)
			len += (size_t)n;
		shown++;
	}
	if (!names[0])
		snprintf(names, cap, "(none)");
	else if (more && len + 6 <= cap)
		memcpy(names + len, ", ...", 6);
}

/* Said once, in a headless run, when no thread has had --workers' prefix
 * for the first 1.5 s: the names the process's threads have. hud goes on
 * (the runtime may start later). */
static void warn_prefix_unmatched(struct session *s)
{
	char names[512], prefix[64];

	if (threads_worker_count(&s->threads) || s->model->nworkers || threads_named_like_workers(&s->threads))
		return;
	thread_names(s, names, sizeof(names));
	text_sanitize(s->opts->workers_prefix, prefix, sizeof(prefix));
	session_warn(s->model, "no thread of process %d is named %s* (--workers); its threads are named %s; hud "
		     "goes on looking", s->opts->pid, prefix, names);
	s->prefix_warned = 1;
}

/* The stacks of threads that sleep, which samples do not see, read from
 * /proc: at most max threads whose kind is not known yet, from where the
 * last call stopped (the list's order). A thread that is not a worker
 * becomes one by rules 3 and 4 (without --workers): a worker of a
 * current_thread runtime that mostly sleeps, or of a second runtime that
 * waits, is found so. A worker by name never seen running the worker loop
 * is taken out of the workers when it waits in the blocking pool: before,
 * the pool threads alive when a session ended that had not been seen at
 * work were counted as workers (48 for a 4-worker runtime, amid bursts of
 * spawn_blocking). Returns how many became workers; *running (NULL: not
 * wanted) counts the workers of unknown kind that were not asleep. */
static int discover_asleep(struct session *s, int max, int *running)
{
	struct { uint32_t tid, worker; } pick[DISCOVER_ASLEEP_ALL];
	int n = 0, found = 0, total = s->threads.n;

	if (total <= 0)
		return 0;
	if (max > DISCOVER_ASLEEP_ALL)
		max = DISCOVER_ASLEEP_ALL;
	for (int k = 0; k < total && n < max; k++) {
		const struct thread_info *t = &s->threads.v[(s->asleep_next + (uint32_t)k) % (uint32_t)total];
		int unknown = t->worker_id == HUD_NOT_WORKER ? !s->opts->workers_prefix : !live_of(s, t->worker_id)->ran_loop;
		if (unknown) {
			pick[n].tid = t->tid;
			pick[n++].worker = t->worker_id;
		}
		if (k == total - 1 || n == max)
			s->asleep_next = (s->asleep_next + (uint32_t)k + 1) % (uint32_t)total;
	}
	struct unwind *u = n ? process_unwind(s) : NULL;
	for (int i = 0; i < n && u; i++) {
		uint64_t ips[HUD_STACK_DEPTH];
		int depth = ustack_sleeping(s->opts->pid, pick[i].tid, u, s->text_lo, s->text_hi, ips, HUD_STACK_DEPTH);
		if (depth <= 0) {
			if (running && pick[i].worker != HUD_NOT_WORKER)
				(*running)++;
			continue;
		}
		uint32_t stack = model_stack_of(s, ips, depth, NULL);       /* (it may move the stacks) */
		uint32_t class = s->model->stacks[stack].thread_class;
		if (pick[i].worker == HUD_NOT_WORKER) {
			if (class == STACK_CLASS_WORKER || class == STACK_CLASS_CURRENT)
				found += discover_by_stack(s, pick[i].tid, class) != HUD_NOT_WORKER;
		} else if (class == STACK_CLASS_POOL && threads_is_worker(&s->threads, pick[i].tid)) {
			demote_pool_thread(s, pick[i].worker, pick[i].tid);
		} else if (class == STACK_CLASS_WORKER) {
			live_of(s, pick[i].worker)->ran_loop = 1;
		}
	}
	return found;
}

/* Rule 5, when neither names nor stacks found a worker: the largest NAME-N
 * thread group; -1 with the explanation when that fails too. */
static int discover_last_rule(struct session *s, char *err, size_t errlen)
{
	struct model *m = s->model;

	if (threads_worker_count(&s->threads) || m->nworkers || discover_asleep(s, DISCOVER_ASLEEP_ALL, NULL) > 0)
		return 0;
	if (threads_promote_name_group(&s->threads, s->bpf, s->group, sizeof(s->group)) > 0) {
		describe_rule(s, m->info.workers_rule, sizeof(m->info.workers_rule));
		register_workers(s);
		warn_no_debug(s);
		return 0;
	}
	char names[512];
	thread_names(s, names, sizeof(names));
	snprintf(err, errlen, "hud: no Tokio worker threads in process %d (none named tokio-runtime-w* or "
		 "tokio-rt-worker*, none in Tokio's loop; its threads are named %s): if its runtime names its "
		 "threads, or mostly sleeps, pass --workers PREFIX with their name; if it has not started yet, "
		 "pass --workers tokio-runtime-w and hud waits for it", s->opts->pid, names);
	return -1;
}

/* The main file's code in the process (sym_proc_main_code): its code
 * mappings, each with its offset in the file. The kernel side uses their
 * span to step over libc frames, which have no frame pointers (0 and 0:
 * no stepping). */
struct main_code {
	uint64_t lo, hi;        /* from the first mapping's start to the last's end */
	int n;
	struct sym_code_map maps[8];
};

/* Stacks are walked by frame pointers, which Rust release builds leave
 * out unless asked. Tokio's worker loop is built with the application's
 * flags: when its first instructions (after an endbr64) are not push rbp;
 * mov rbp, rsp, the build has none, and every stack is cut short or
 * wrong, which the user is told once, with the fix. */
static void warn_no_frame_pointers(struct model *m, int pid, uint64_t lo, uint64_t size)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa }, frame[4] = { 0x55, 0x48, 0x89, 0xe5 };
	unsigned char b[8];
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = size >= sizeof(b) ? pread(fd, b, sizeof(b), (off_t)lo) : -1;
	close(fd);
	if (n != (ssize_t)sizeof(b))
		return;
	const unsigned char *p = memcmp(b, endbr64, 4) == 0 ? b + 4 : b;
	if (memcmp(p, frame, 4) != 0) {
		char target[512];
		text_sanitize(m->info.target, target, sizeof(target));
		session_warn(m, "%s was built without frame pointers (Tokio's worker loop sets up none): stacks will "
			     "be cut short or wrong; rebuild it with RUSTFLAGS=\"-C force-frame-pointers=yes\"", target);
	}
}

/* Tokio's worker loop (its mangled name's parts). */
static const char *const worker_loop_parts[] = { "5tokio", "6worker", "7Context3run", NULL };

/* Where Tokio's worker loop lies in the process (see hud_config.loop_lo):
 * its symbol in the main file (main: a path hud opens), else in --target,
 * at the file offset one of the main file's mappings holds. None without
 * it: then the sampler walks whole stacks. Warns as above when the loop
 * sets up no frame pointer, naming the target as the model does. */
static void tokio_worker_loop(struct model *m, int pid, const char *main, const char *target, const struct main_code *c,
			      struct hud_config *cfg)
{
	uint64_t off = 0, size = 0;

	if (sym_elf_function(main, worker_loop_parts, &off, &size) < 0 &&
	    (!target || sym_elf_function(target, worker_loop_parts, &off, &size) < 0))
		return;
	for (int i = 0; i < c->n; i++)
		if (off >= c->maps[i].off && size <= c->maps[i].end - c->maps[i].start &&
		    off - c->maps[i].off <= c->maps[i].end - c->maps[i].start - size) {
			cfg->loop_lo = c->maps[i].start + (off - c->maps[i].off);
			cfg->loop_len = size;
			warn_no_frame_pointers(m, pid, cfg->loop_lo, size);
			return;
		}
}

/* A thread-local of Tokio's by its mangled name_part: in the main file's
 * symbols, else in --target's (the same build, with its symbols). */
static int tokio_tls_var(const char *main, const char *target, const char *name_part, uint64_t *below, uint32_t *size)
{
	if (sym_elf_tls_var(main, name_part, below, size) == 0)
		return 0;
	return target ? sym_elf_tls_var(target, name_part, below, size) : -1;
}

/* Where the sampler finds Tokio's per-thread CONTEXT in the target (see
 * hud_sample.ctx_hash): its thread-local symbol in the main file (main),
 * else in --target (the same build, with its symbols). None in a target
 * without it: then polls are told apart without. Only in a program's
 * static thread-local block, at a fixed distance below the thread pointer:
 * not in a library's (an interpreter's extension), whose block lies where
 * the dynamic loader put it. */
static void tokio_context(const char *main, const char *target, struct hud_config *cfg)
{
	uint64_t below = 0;
	uint32_t size = 0;

	if (tokio_tls_var(main, target, "5tokio7runtime7context7CONTEXT", &below, &size) < 0)
		return;
	cfg->tls_off = 0 - below;
	cfg->tls_len = (size > HUD_TLS_MAX ? HUD_TLS_MAX : size) & ~7u;
}

/* Where the sampler reads Tokio's scheduler tick (hud_config.tick_tls):
 * the multi_thread worker's CURRENT thread-local in the main file's (or
 * --target's) symbols, and the offsets of its Context's core and of
 * Core's tick in the main file's DWARF (Tokio 1.x up to the version that
 * moved CURRENT into CONTEXT). 0 when all were found, -1 when not: then
 * polls are told apart without the tick (docs/TROUBLESHOOTING.md). */
static int tokio_tick_place(struct session *s, const char *main, const char *target, struct hud_config *cfg)
{
	static const char *const worker[] = { "tokio", "runtime", "scheduler", "multi_thread", "worker", "Context", NULL };
	static const char *const core[] = { "tokio", "runtime", "scheduler", "multi_thread", "worker", "Core", NULL };
	static const char *const core_in_context[] = { "core", "value", "value", NULL };
	static const char *const tick[] = { "tick", NULL };
	struct sym_file *f = sym_proc_main(s->sym);
	uint64_t below = 0, core_off = 0, core_size = 0, tick_off = 0, tick_size = 0;
	uint32_t size = 0;

	if (!f || tokio_tls_var(main, target, "12multi_thread6worker7CURRENT", &below, &size) < 0)
		return -1;
	/* The Context's Option<Box<Core>>: a pointer (0: None); the tick a u32. */
	if (size != 8 || sym_file_field_offset(f, worker, core_in_context, &core_off, &core_size) < 0 || core_size != 8 ||
	    sym_file_field_offset(f, core, tick, &tick_off, &tick_size) < 0 || tick_size != 4)
		return -1;
	cfg->tick_tls = 0 - below;
	cfg->tick_core = (uint32_t)core_off;
	cfg->tick_field = (uint32_t)tick_off;
	return 0;
}

/* The application's file, when it is not the executable (then main is
 * filled with a path hud opens it by): --target's file where the process
 * maps it, or else, when the executable has no Tokio code, the first
 * mapped file that has Tokio's worker loop (a program started through the
 * dynamic loader, `ld.so ./app`; Tokio in a library an interpreter loads).
 * Before, those read as the C library's blocks, with no CPU block at all.
 * Returns 1 when main changed. */
static int choose_main(struct session *s, char *main, size_t len)
{
	char path[4096];
	const char *was = sym_proc_main_path(s->sym);
	uint64_t off, size;

	if (s->opts->target) {
		if (sym_proc_mapped(s->sym, s->opts->target, path, sizeof(path)) < 0 || (was && strcmp(path, was) == 0) ||
		    sym_proc_use_main(s->sym, path) < 0)
			return 0;
		snprintf(main, len, "%s", s->opts->target);
		return 1;
	}
	char file[4200];
	if (sym_elf_function(main, worker_loop_parts, &off, &size) == 0 ||
	    sym_proc_mapped_with_function(s->sym, worker_loop_parts, path, sizeof(path)) < 0 ||
	    sym_proc_rooted(s->sym, path, file, sizeof(file)) < 0 || sym_proc_use_main(s->sym, path) < 0)
		return 0;
	snprintf(main, len, "%s", file);
	return 1;
}

static int input_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

static void describe_rule(struct session *s, char *out, size_t len)
{
	static const char *const stacks[4] = { "", "Tokio worker loop in their stacks", "current_thread runtime (stack)",
					       "Tokio worker loop or a current_thread runtime in their stacks" };
	const char *stack = stacks[s->by_stack & 3], *also = s->by_stack ? "; " : "";

	if (s->opts->workers_prefix)
		snprintf(out, len, "thread names %s* (--workers)", s->opts->workers_prefix);
	else if (s->group[0])
		snprintf(out, len, "largest thread-name group %s-N%s%s", s->group, also, stack);
	else if (s->named)
		snprintf(out, len, "Tokio thread names tokio-runtime-w*/tokio-rt-worker*%s%s", also, stack);
	else if (s->by_stack)
		snprintf(out, len, "%s", stack);
	else
		snprintf(out, len, "Tokio thread names tokio-runtime-w*/tokio-rt-worker*");
}

int session_run(const struct session_opts *opts, struct model *m, char *err, size_t errlen)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct sigaction sa;
	int rc = -1;

	s->opts = opts;
	s->model = m;
	/* Stop requests from the very start: one that arrives while hud
	 * attaches ends the session at its first turn, with a complete export.
	 * main() blocks these signals until here (sigprocmask), so none is
	 * lost or kills hud with the default action in between. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigset_t stops;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &stops, NULL);
	threads_init(&s->threads, opts->pid, opts->workers_prefix);
	describe_rule(s, m->info.workers_rule, sizeof(m->info.workers_rule));

	/* Workers by name first. New runtimes get a second to start theirs;
	 * without named workers, hud attaches anyway and finds them by stack
	 * (see discover_by_stack()). */
	for (int tries = 0; tries < 10; tries++) {
		if (threads_scan(&s->threads, NULL) < 0) {
			snprintf(err, errlen, "hud: process %d exited before hud could attach", opts->pid);
			goto out;
		}
		if (threads_worker_count(&s->threads))
			break;
		usleep(100000);
	}
	s->named = threads_worker_count(&s->threads) > 0;

	/* The session asks for each address once (its frames are cached by
	 * address): a smaller table budget than --resolve's costs a reload at
	 * most per new address, and keeps a long session small. Too small a
	 * budget costs memory too: each rebuild of a large unit needs its
	 * scratch again. At 4 MB the demo app's largest unit (1.9 MB of
	 * tables) was dropped and rebuilt every 30-70 s, RSS swung by 2-3 MB
	 * with it and peaked at 31.1 MB; at 6 MB its units (5.7 MB) stay, and
	 * the peak was 28.9 MB in the same 200 s. */
	sym_set_table_budget(6u << 20);
	s->sym = sym_proc_open(opts->pid, opts->target, err, errlen);
	if (!s->sym) {
		if (strncmp(err, "hud:", 4) != 0) {
			char why[512];
			snprintf(why, sizeof(why), "%s", err);
			snprintf(err, errlen, "hud: cannot read process %d's executable and memory map (%s); hud "
				 "needs root with ptrace access to the process", opts->pid, why);
		}
		goto out;
	}
	char main_file[4200];
	snprintf(main_file, sizeof(main_file), "/proc/%d/exe", opts->pid);
	int moved = choose_main(s, main_file, sizeof(main_file));
	if (sym_proc_main(s->sym))
		m->info.main_symbols = sym_file_has_symbols(sym_proc_main(s->sym));
	if (sym_proc_target_mismatch(s->sym)) {
		char target[512];
		text_sanitize(m->info.target, target, sizeof(target));
		session_warn(m, "%s is not the executable process %d runs (their build-ids differ); names and lines "
			     "may be wrong: pass the binary the process was started from", target, opts->pid);
	}
	if (!(s->bpf = loader_open(err, errlen)))
		goto out;
	struct hud_config cfg = { .tgid = (uint32_t)opts->pid, .threshold_ns = opts->threshold_ns };
	struct main_code code;
	code.n = sym_proc_main_code(s->sym, code.maps, (int)(sizeof(code.maps) / sizeof(code.maps[0])), &code.lo, &code.hi);
	cfg.text_lo = code.lo;
	cfg.text_hi = code.hi;
	/* Tokio's thread-locals are read only in a program's static block
	 * (see tokio_context). */
	int own_tls = !moved || sym_elf_is_program(main_file);
	if (own_tls)
		tokio_context(main_file, opts->target, &cfg);
	tokio_worker_loop(m, opts->pid, main_file, opts->target, &code, &cfg);
	if (moved && !opts->target) {
		char exe[512], lib[512];
		text_sanitize(m->info.target, exe, sizeof(exe));
		text_sanitize(sym_proc_main_path(s->sym), lib, sizeof(lib));
		session_warn(m, "%s has no Tokio code; the application's is read from %s, which the process maps", exe,
			     lib);
		snprintf(m->info.target, sizeof(m->info.target), "%s", sym_proc_main_path(s->sym));
	}
	s->text_lo = cfg.text_lo;
	s->text_hi = cfg.text_hi;
	/* Until the tick's place is known (after attaching). */
	cfg.sleeps_apart = 1;
	if (loader_configure(s->bpf, &cfg, err, errlen) < 0)
		goto out;
	/* When sleeps come so often that the reader polls: sleeps shorter than
	 * the threshold are never reported, and looking twice per threshold
	 * catches the others. */
	uint64_t look = opts->threshold_ns / 2;
	look = look < 500000 ? 500000 : look > 5000000 ? 5000000 : look;
	if (!(s->sleeps = sleepstacks_start(s->bpf, opts->pid, s->text_lo, s->text_hi, look, err, errlen)))
		goto out;
	/* Register the threads already known, then attach. */
	threads_free(&s->threads);
	threads_init(&s->threads, opts->pid, opts->workers_prefix);
	if (threads_scan(&s->threads, s->bpf) < 0) {
		snprintf(err, errlen, "hud: process %d exited before hud could attach", opts->pid);
		goto out;
	}
	register_workers(s);
	if (s->named)
		warn_no_debug(s);
	if (!(s->rb = ringbuf_open(loader_map_fd(s->bpf, "events"), err, errlen)) ||
	    !(s->samples = sample_rings_open(s->bpf, err, errlen)))
		goto out;
	if (image_of(opts->pid, &s->image) != 0)
		memset(&s->image, 0, sizeof(s->image));
	s->start_ns = now_ns();
	m->info.start_ns = s->start_ns;
	if (loader_attach(s->bpf, opts->freq, !opts->no_epoll_count, err, errlen) < 0)
		goto out;
	m->info.epoll_counted = loader_counts_epoll_waits(s->bpf);
	/* After attaching: finding the tick reads the main file's DWARF (~5
	 * ms, its index included), which the first events need not wait for.
	 * Until then, samples read no tick and make no poll run (runs_from:
	 * the demo's selfwake scenario read a block of 20 ms there in one run
	 * of two), and the kernel side chains no sleeps. */
	s->tick_place = own_tls && tokio_tick_place(s, main_file, opts->target, &cfg) == 0;
	m->info.tick_read = s->tick_place ? -1 : 0;
	cfg.sleeps_apart = 0;
	if (loader_configure(s->bpf, &cfg, err, errlen) < 0)
		goto out;
	s->runs_from = session_ts(s, now_ns());
	s->io_calls_known = (loader_shortcuts(s->bpf) & LOADER_IO_CALLS) != 0;
	if (opts->on_attached)
		opts->on_attached(opts->ctx);

	if (opts->input_fd >= 0 && opts->on_input) {
		struct epoll_event ev = { .events = EPOLLIN };
		if (epoll_ctl(ringbuf_epoll_fd(s->rb), EPOLL_CTL_ADD, opts->input_fd, &ev) < 0) {
			snprintf(err, errlen, "hud: cannot wait on the terminal (epoll): %s", strerror(errno));
			goto out;
		}
	}
	/* The first tick (which may load a library's debug information to
	 * name where a worker blocks: ~50 ms for libc's compressed DWARF here)
	 * waits 100 ms, so the first records are read as soon as they come. */
	uint64_t next_scan = now_ns() + 500000000ull, next_tick = now_ns() + 100000000ull;
	uint64_t next_age = now_ns() + UNIT_AGE_NS;
	uint64_t discover_until = s->named || opts->workers_prefix ? 0 : now_ns() + 1500000000ull;
	/* Workers by stack for the threads that sleep (samples only see threads
	 * on a CPU; a second runtime's too, beside named ones), a second after
	 * attaching: not before the first events, as naming their frames may
	 * load the C library's debug information (~50 ms; attach read 119 ms),
	 * nor while the start's own tables are built (at 200 ms the peak RSS
	 * rose by 1-2 MB, to 30-31 MB). */
	uint64_t asleep_at = now_ns() + 1000000000ull;
	uint64_t prefix_check = opts->workers_prefix && !opts->on_input ? now_ns() + 1500000000ull : 0;
	uint64_t deadline = opts->duration_ns ? s->start_ns + opts->duration_ns : 0;
	unsigned scans = 0;
	for (;;) {
		/* The kernel side wakes hud only when the ring buffer fills up,
		 * so hud looks every 100 ms; right after attaching, every 10 ms,
		 * so the first events show at once. */
		int wait_ms = now_ns() - s->start_ns < 500000000ull ? 10 : 100;
		if (read_records(s, wait_ms, 0) < 0) {
			snprintf(err, errlen, "hud: reading the ring buffer failed: %s", strerror(errno));
			goto out;
		}
		uint64_t now = now_ns();
		if (opts->input_fd >= 0 && opts->on_input && input_ready(opts->input_fd) &&
		    opts->on_input(opts->ctx, m)) {
			snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "quit");
			break;
		}
		if (asleep_at && now >= asleep_at) {
			asleep_at = 0;
			discover_asleep(s, DISCOVER_ASLEEP_ALL, NULL);
		}
		if (discover_until && now >= discover_until) {
			discover_until = 0;
			if (discover_last_rule(s, err, errlen) < 0)
				goto out;
		}
		if (prefix_check && now >= prefix_check) {
			prefix_check = 0;
			warn_prefix_unmatched(s);
		}
		if (now >= next_tick) {
			next_tick = now + 100000000ull;
			/* Held blocks nothing extended for 100 ms: no record made
			 * by then is still to come (see RECORD_HOLD_NS). */
			held_flush_all(s, session_ts(s, now - 100000000ull));
			learn_parks(s);
			choose_epoll_counter(s);
			refresh_workers(s);
			refresh_counters(s);
			if (opts->on_tick && opts->on_tick(opts->ctx, m)) {
				snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "quit");
				break;
			}
		}
		if (stop_signal) {
			snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "signal %d", (int)stop_signal);
			break;
		}
		if (deadline && now >= deadline) {
			snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "duration reached");
			break;
		}
		if (now >= next_scan) {
			next_scan = now + 500000000ull;
			/* Every 10 s, the symbolizer's small units no new address
			 * used for a minute go: the session asks once per address,
			 * so a unit first needed minutes in, for a few addresses,
			 * would otherwise be held to the end. */
			if (now >= next_age) {
				next_age = now + UNIT_AGE_NS;
				sym_table_age(UNIT_AGE_KEEP, UNIT_AGE_BYTES);
			}
			/* The symbolizer's mapped debug pages read since. */
			sym_proc_trim(s->sym);
			if (threads_scan(&s->threads, s->bpf) < 0) {
				scan_failure(s, m->info.stop_reason, sizeof(m->info.stop_reason));
				break;
			}
			/* hud names one program's code: another one run by exec
			 * under the same pid ends the session. */
			struct image now_im;
			if (s->image.ino && image_of(opts->pid, &now_im) == 0 &&
			    (now_im.ino != s->image.ino || now_im.dev != s->image.dev ||
			     now_im.startcode != s->image.startcode)) {
				snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "target ran exec");
				break;
			}
			forget_gone(s);
			register_workers(s);
			/* Every other scan, some of the other threads' stacks:
			 * a runtime started since, or one whose threads sleep. */
			if (++scans % 2 == 0)
				discover_asleep(s, DISCOVER_ASLEEP_SOME, NULL);
		}
	}
	if (!s->named && !opts->workers_prefix && discover_last_rule(s, err, errlen) < 0)
		goto out;
	/* Whatever is still in the rings belongs to the session. */
	(void)read_records(s, 0, 1);
	held_flush_all(s, UINT64_MAX);
	/* The threads as they are now (a blocking pool's threads come and go
	 * between scans), then those named like workers that were never seen
	 * at work: those waiting in the blocking pool are not workers. Up to
	 * 256 threads, and those that were running looked at again 20 ms
	 * later, four times at most (a pool thread between two closures). */
	if (threads_scan(&s->threads, s->bpf) >= 0) {
		forget_gone(s);
		int calls = (s->threads.n + DISCOVER_ASLEEP_ALL - 1) / DISCOVER_ASLEEP_ALL;
		for (int round = 0; round < 5; round++) {
			int running = 0;
			for (int i = 0; i < calls && i < 4; i++)
				discover_asleep(s, DISCOVER_ASLEEP_ALL, &running);
			if (!running || round == 4)
				break;
			usleep(20000);
		}
	}
	refresh_workers(s);
	report_open_blocks(s);

	refresh_counters(s);
	m->info.duration_ns = now_ns() - s->start_ns;
	rc = 0;
out:
	if (getenv("HUD_BENCH_FIRST_EVENT") && s->sleeps) {
		struct sleepstacks_stats st;
		sleepstacks_stats(s->sleeps, &st);
		fprintf(stderr, "hud: sleeping stacks read %llu, woke first %llu, unreadable %llu, asked for and missing %llu, "
			"reader mode changes %llu, from known sites %llu, rechecked %llu, sites kept %llu, mixed %llu\n",
			(unsigned long long)st.read, (unsigned long long)st.woke, (unsigned long long)st.failed,
			(unsigned long long)st.missing, (unsigned long long)st.mode_changes, (unsigned long long)st.from_site,
			(unsigned long long)st.rechecked, (unsigned long long)st.sites, (unsigned long long)st.mixed);
	}
	sleepstacks_stop(s->sleeps);
	ringbuf_close(s->rb);
	sample_rings_close(s->samples);
	loader_close(s->bpf);
	threads_free(&s->threads);
	unwind_close(s->unwind);
	if (s->sym)
		sym_proc_close(s->sym);
	free(s->addrs);
	free(s->raw);
	free(s->pool);
	free(s->runs);
	for (uint32_t i = 0; i < s->nlive; i++)
		if (s->live[i].sched_fd >= 0)
			close(s->live[i].sched_fd);
	free(s->live);
	free(s);
	return rc;
}
