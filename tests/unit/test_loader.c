/* test_loader.c — the loader on the embedded BPF object, against the real
 * kernel (needs root): the object parses, every program passes the verifier,
 * the attached programs report this very process (CPU samples with user
 * stacks, an off-CPU stretch with its length and the stack it slept with,
 * read while it slept), sleeps at a known site (kept once read three times
 * alike, and a site standing for two stacks gives each sleep its own), the
 * worker table's probing, and closing leaves no hud program or map behind. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "dwarf/dwarf.h"
#include "loader/kbtf.h"
#include "loader/loader_int.h"
#include "tests/unit/check.h"

static void spin_ms(int ms);

struct seen {
	uint64_t written_at[64];        /* per CPU: hud_record_time of its last record */
	int out_of_order;               /* records of a CPU's ring older than the one before */
	int samples, samples_mine, offcpu_long;
	int deepest, in_spin;
	uint64_t max_off_ns;
	uint32_t tid;
	uint32_t long_seq;      /* switch-out of the longest off-CPU stretch */
	int nlong;              /* sleeps of 8 ms or more, in order: */
	struct { uint32_t seq; uint64_t site; } longs[64];
	uint64_t max_off_ts;    /* when the longest off-CPU stretch began */
	uint64_t idle_wait_ns;  /* the longest run-queue wait after an idle park */
	uint64_t idle_off_ns;   /* ... and that record's duration */
	int nchain;             /* off-CPU records during check_chain's call: */
	struct { uint64_t ts, dur; uint32_t io_calls, nr; } chain[64];
	uint64_t chain_from, chain_to;
	int chain_on;
	int count_waits;        /* while set, sleeps' records by their run-queue wait: */
	int waits_some, waits_none;
	uint32_t last_epoll_waits;      /* hud_sample.epoll_waits of this thread's latest sample */
	uint32_t ctx_first;             /* hud_sample.ctx_hash of its first sample since reset, */
	int ctx_samples, ctx_mixed;     /* its samples since, and whether any read otherwise */
	uint64_t loop_lo, loop_len;     /* while set, its samples in spin_ms by where their walk ended: */
	int loop_ends, loop_beyond;     /* at the frame in [loop_lo, +len), or further out */
	uint64_t delay_last;            /* hud_sample.run_delay of its latest sample */
};

/* The samples' rings of the object under test (see records_poll). */
static struct sample_rings *samples_of_test;

static int on_record(void *ctx, const void *data, size_t len);

/* The off-CPU records so far (waiting up to timeout_ms for one), then the
 * samples so far. */
static void records_poll(struct ringbuf *rb, int timeout_ms, struct seen *seen)
{
	ringbuf_poll(rb, timeout_ms, on_record, seen);
	if (samples_of_test)
		sample_rings_drain(samples_of_test, on_record, seen);
}

/* The frame of ips inside the len bytes of code from fn, or -1. */
static int stack_has(const uint64_t *ips, int n, uintptr_t fn, uint64_t len)
{
	for (int i = 0; i < n; i++)
		if (ips[i] >= (uint64_t)fn && ips[i] < (uint64_t)fn + len)
			return i;
	return -1;
}

static int on_record(void *ctx, const void *data, size_t len)
{
	struct seen *s = ctx;
	const struct hud_event *e = data;

	if (len < sizeof(*e))
		return 0;
	/* Each CPU's ring in the order user space merges them by. */
	if ((e->kind == HUD_EV_SAMPLE || e->kind == HUD_EV_OFFCPU) && e->cpu < 64) {
		s->out_of_order += hud_record_time(e) < s->written_at[e->cpu];
		s->written_at[e->cpu] = hud_record_time(e);
	}
	if (e->kind == HUD_EV_SAMPLE && len >= sizeof(struct hud_sample)) {
		const struct hud_sample *smp = data;
		s->samples++;
		if (smp->tid == s->tid && smp->worker_id == 0) {
			s->samples_mine++;
			s->last_epoll_waits = smp->epoll_waits;
			s->delay_last = smp->run_delay;
			if (s->ctx_samples++ == 0)
				s->ctx_first = smp->ctx_hash;
			else if (smp->ctx_hash != s->ctx_first)
				s->ctx_mixed = 1;
			if (smp->depth > (uint32_t)s->deepest)
				s->deepest = (int)smp->depth;
			int depth = smp->depth < HUD_STACK_DEPTH ? (int)smp->depth : HUD_STACK_DEPTH;
			s->in_spin |= stack_has(smp->ips, depth, (uintptr_t)spin_ms, 256) >= 0;
			int in_loop = s->loop_len ? stack_has(smp->ips + 1, depth - 1, (uintptr_t)s->loop_lo, s->loop_len) : -1;
			if (in_loop >= 0 && stack_has(smp->ips, depth, (uintptr_t)spin_ms, 256) >= 0) {
				s->loop_ends += in_loop + 2 == depth;
				s->loop_beyond += in_loop + 2 < depth;
			}
		}
	} else if (e->kind == HUD_EV_OFFCPU && e->tid == s->tid && e->idle) {
		if (e->wait_ns > s->idle_wait_ns) {
			s->idle_wait_ns = e->wait_ns;
			s->idle_off_ns = e->duration_ns;
		}
	} else if (e->kind == HUD_EV_OFFCPU && e->tid == s->tid && s->count_waits) {
		if (!hud_state_runnable(e->state)) {
			s->waits_some += e->wait_ns > 0;
			s->waits_none += e->wait_ns == 0;
		}
	} else if (e->kind == HUD_EV_OFFCPU && e->tid == s->tid) {
		if (s->chain_on && s->nchain < 64) {
			s->chain[s->nchain].ts = e->ts_ns;
			s->chain[s->nchain].io_calls = e->io_calls;
			s->chain[s->nchain].nr = e->nr;
			s->chain[s->nchain++].dur = e->duration_ns;
		}
		s->offcpu_long++;
		if (e->duration_ns >= 8000000ull && !hud_state_runnable(e->state) && s->nlong < 64) {
			s->longs[s->nlong].seq = e->seq;
			s->longs[s->nlong++].site = e->site;
		}
		if (e->duration_ns > s->max_off_ns) {
			s->max_off_ns = e->duration_ns;
			s->max_off_ts = e->ts_ns;
			s->long_seq = e->seq;
		}
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

__attribute__((noinline)) static void spin_ms(int ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000ull;
	while (mono_ns() < end)
		sink += sink * 31 + 7;
}

__attribute__((noinline)) static void sleep_30ms(void)
{
	usleep(30000);
	sink++;         /* not a tail call: this frame stays on the stack */
}

/* One function, and one that blocks at two of its lines (at the same
 * registers, so the same site, with two stacks). */
__attribute__((noinline)) static void sleep_here(void)
{
	volatile char own_frame[48];    /* a stack depth of its own */

	own_frame[0] = 1;
	usleep(12000);
	sink += own_frame[0];
}

__attribute__((noinline)) static void sleep_two_lines(int which)
{
	if (which) {
		usleep(12000);
		sink += 1;
	} else {
		sink += 3;
		usleep(12000);
		sink += 2;
	}
}

/* One sleep with a frame bigger than HUD_SITE_SPAN above it, called from
 * two functions alike: the same registers, the same return addresses in
 * the span, and two stacks (they differ further up). */
__attribute__((noinline)) static void sleep_deep(void)
{
	volatile char big[640];

	big[0] = 1;
	usleep(12000);
	sink += big[0];
}

__attribute__((noinline)) static void deep_from_a(void)
{
	sleep_deep();
	sink += 1;
}

__attribute__((noinline)) static void deep_from_b(void)
{
	sleep_deep();
	sink += 2;
}

static void (*const deep_from[2])(void) = { deep_from_a, deep_from_b };

/* sleep_two_lines under n more small frames: more return addresses in
 * the check's span than it hashes (HUD_SITE_RETS), the innermost of them
 * the one that tells the two lines apart. */
__attribute__((noinline)) static void tiny_chain(int n, int which)
{
	if (n > 0)
		tiny_chain(n - 1, which);
	else
		sleep_two_lines(which);
	sink += 1;      /* not a tail call */
}

enum pair_kind { PAIR_LINES, PAIR_CALLERS, PAIR_LINES_DEEP };

extern char __executable_start[], etext[];

int main(void);
static volatile int eight = 8;
static volatile int rounds = 2;

/* Reads the records so far without sleeping itself (its sleeps, at one
 * site, would chain into blocks: HUD_CHAIN_GAP_NS). */
static void sleeps_collect(struct ringbuf *rb, struct seen *seen)
{
	for (int i = 0; i < 5 && rb; i++) {
		records_poll(rb, 0, seen);
		spin_ms(2);     /* a sleep would be one 10 ms block with the others */
	}
}

/* Eight sleeps at one site with two stacks, alternating them: in
 * sleep_two_lines at its two lines (PAIR_LINES; PAIR_LINES_DEEP: under
 * twelve small frames), or in sleep_deep called from deep_from_a and
 * deep_from_b (PAIR_CALLERS). Each is reported off CPU, with a stack
 * through that function (not sleep_here) whose frame that tells the two
 * apart (the return address into sleep_two_lines, or into the deep_from_
 * function) is its own, the same for each of the two. */
__attribute__((noinline)) static void pair_round(struct sleepstacks *ss, struct ringbuf *rb, struct seen *seen,
						 enum pair_kind kind)
{
	uint64_t ips[HUD_STACK_DEPTH], ret[2] = { 0, 0 };
	int deep = kind == PAIR_CALLERS;
	uintptr_t here = (uintptr_t)sleep_here, two = deep ? (uintptr_t)sleep_deep : (uintptr_t)sleep_two_lines;
	uint64_t here_len = (uintptr_t)sleep_two_lines > here && (uintptr_t)sleep_two_lines - here < 256 ?
			    (uintptr_t)sleep_two_lines - here : 64;
	int right = 0, same = 1;

	seen->nlong = 0;
	for (int i = 0; i < eight; i++) {
		if (kind == PAIR_CALLERS)
			deep_from[i & 1]();
		else if (kind == PAIR_LINES_DEEP)
			tiny_chain(12, i & 1);
		else
			sleep_two_lines(i & 1);
	}
	sleeps_collect(rb, seen);
	CHECK(seen->nlong == 8, "8 more sleeps reported, got %d", seen->nlong);
	for (int i = 0; i < seen->nlong; i++) {
		int n = sleepstacks_get(ss, seen->tid, seen->longs[i].seq, seen->longs[i].site, ips, HUD_STACK_DEPTH);
		int at = stack_has(ips, n, two, 128) + deep;
		if (at < deep || at >= n || stack_has(ips, n, here, here_len) >= 0)
			continue;
		right++;
		if (!ret[i & 1])
			ret[i & 1] = ips[at];
		same &= ret[i & 1] == ips[at];
	}
	CHECK(right == seen->nlong, "each passes through %s, none through sleep_here (%d of %d)",
	      deep ? "sleep_deep" : "sleep_two_lines", right, seen->nlong);
	CHECK(same && ret[0] && ret[1] && ret[0] != ret[1], "the two %s sleeps have their own stacks",
	      deep ? "callers'" : "lines'");
}

/* Two rounds of pair_round: the first reads each stack until it is kept
 * (two stacks at one site: each kept as its own, told apart by the kernel
 * side's check), the second's sleeps are then not read again. */
__attribute__((noinline)) static void check_pair(struct bpf_obj *o, struct sleepstacks *ss, struct ringbuf *rb,
						 struct seen *seen, enum pair_kind kind)
{
	struct sleepstacks_stats st0, st1;
	struct hud_thread t;
	int known = 0, full = 0;

	for (int round = 0; round < rounds; round++) {  /* one call site: the same stacks */
		pair_round(ss, rb, seen, kind);
		sleepstacks_stats(ss, round ? &st1 : &st0);
	}
	CHECK(st1.read - st1.rechecked == st0.read - st0.rechecked,
	      "sleeps at the site of two kept stacks are not read again (%llu read)",
	      (unsigned long long)((st1.read - st1.rechecked) - (st0.read - st0.rechecked)));
	/* ... each took its kept stack, or one read by the reader's look at
	 * workers asleep at kept sites (every KEPT_NS). */
	CHECK(st1.from_site - st0.from_site + (st1.rechecked - st0.rechecked) >= 8,
	      "all 8 took their kept stack (%llu, and %llu read by a look)",
	      (unsigned long long)(st1.from_site - st0.from_site), (unsigned long long)(st1.rechecked - st0.rechecked));
	CHECK(loader_thread_get(o, seen->tid, &t) == 0, "the worker is in the table");
	for (int i = 0; i < HUD_SITES; i++)
		if (t.site_keys[i] == (uint32_t)seen->longs[0].site) {
			known++;
			full += t.site_checks[i].at[HUD_SITE_RETS - 1] != HUD_SITE_AT_END;
		}
	CHECK(known == 2, "the kernel side holds the site twice, once per stack (%d)", known);
	if (kind == PAIR_LINES_DEEP)
		CHECK(full == 2, "under twelve small frames, each check hashes %d return addresses, its most (%d of 2)",
		      HUD_SITE_RETS, full);
}

/* Sleeping again and again at one place: after SITE_READS reads the kernel
 * side knows the site, stops reporting sleeps there, and each sleep still
 * gets its stack; a function blocking at two lines (also under more small
 * frames than a check hashes), or called from two places with a big frame
 * between, gets the right one of its two stacks every time, and once both
 * are kept, neither is read again. */
__attribute__((noinline)) static void check_sites(struct bpf_obj *o, struct sleepstacks *ss, struct ringbuf *rb, struct seen *seen)
{
	uint64_t ips[HUD_STACK_DEPTH];
	struct hud_thread t;
	int right = 0, known = 0;
	uintptr_t here = (uintptr_t)sleep_here, two = (uintptr_t)sleep_two_lines;
	uint64_t here_len = two > here && two - here < 256 ? two - here : 64;

	sleeps_collect(rb, seen);
	seen->nlong = 0;
	for (int i = 0; i < eight; i++)        /* one call site: not unrolled */
		sleep_here();
	sleeps_collect(rb, seen);
	CHECK(seen->nlong == 8, "8 sleeps of 12 ms reported off CPU, got %d", seen->nlong);
	for (int i = 0; i < seen->nlong; i++) {
		int n = sleepstacks_get(ss, seen->tid, seen->longs[i].seq, seen->longs[i].site, ips, HUD_STACK_DEPTH);
		right += stack_has(ips, n, here, here_len) >= 0 && stack_has(ips, n, (uintptr_t)main, 4096) >= 0;
	}
	CHECK(right == seen->nlong, "each sleep's stack passes through sleep_here and main (%d of %d)", right, seen->nlong);
	CHECK(seen->nlong > 0 && loader_thread_get(o, seen->tid, &t) == 0, "the worker is in the table");
	for (int i = 0; i < HUD_SITES && seen->nlong > 0; i++)
		known |= t.site_keys[i] == (uint32_t)seen->longs[seen->nlong - 1].site;
	CHECK(known, "the kernel side knows the site after %d identical reads", seen->nlong);

	check_pair(o, ss, rb, seen, PAIR_LINES);
	check_pair(o, ss, rb, seen, PAIR_CALLERS);
	check_pair(o, ss, rb, seen, PAIR_LINES_DEEP);
}

__attribute__((noinline)) static void park_like(void)
{
	usleep(12000);
	sink++;
}

/* Keeps the calling thread on CPU 0; 0 when done. */
static int pin_cpu0(void)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

/* Spins on CPU 0 at a real-time priority for 40 ms, 3 ms after it starts. */
static void *rt_hog(void *arg)
{
	struct sched_param sp = { .sched_priority = 1 };

	(void)arg;
	if (pin_cpu0() != 0 || pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
		return NULL;
	usleep(3000);
	spin_ms(40);
	return NULL;
}

/* The second field of this thread's schedstat: its wait for a CPU so far. */
static uint64_t schedstat_delay(void)
{
	char path[64];
	unsigned long long run = 0, delay = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", (int)syscall(SYS_gettid));
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu %llu", &run, &delay) != 2)
			delay = 0;
		fclose(f);
	}
	return delay;
}

/* Samples carry the thread's wait for a CPU so far, however short each
 * wait: between two samples of one poll, the part it was preempted. This
 * thread spins on CPU 0 while a real-time thread takes CPU 0 for 40 ms:
 * its samples after read ~40 ms more than before, as its schedstat does. */
__attribute__((noinline)) static void check_run_delay(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen)
{
	cpu_set_t all;
	pthread_t hog;

	if (!(loader_shortcuts(o) & LOADER_RUN_DELAY)) {
		printf("skip: this kernel's tasks have no sched_info.run_delay\n");
		return;
	}
	CHECK(sched_getaffinity(0, sizeof(all), &all) == 0, "read this thread's CPUs");
	CHECK(pin_cpu0() == 0, "run this thread on CPU 0");
	spin_ms(30);
	sleeps_collect(rb, seen);
	uint64_t before = seen->delay_last, proc_before = schedstat_delay();
	int hogging = pthread_create(&hog, NULL, rt_hog, NULL) == 0;
	spin_ms(80);
	if (hogging)
		pthread_join(hog, NULL);
	spin_ms(30);
	sleeps_collect(rb, seen);
	uint64_t after = seen->delay_last, proc_after = schedstat_delay();
	sched_setaffinity(0, sizeof(all), &all);
	CHECK(hogging && after >= before + 30000000ull && after - before < 200000000ull,
	      "samples after the real-time thread's 40 ms read ~40 ms more wait for a CPU (%.1f ms)",
	      (double)(after - before) / 1e6);
	CHECK(before > 0 && before <= proc_before + 1000000ull && after <= proc_after + 1000000ull &&
	      proc_after - after < 50000000ull,
	      "as the thread's schedstat counts it (%.1f..%.1f ms; schedstat %.1f..%.1f ms)", (double)before / 1e6,
	      (double)after / 1e6, (double)proc_before / 1e6, (double)proc_after / 1e6);
}

/* A sleep at a site user space marked idle is not reported for itself,
 * but when its wakeup then waits long for a CPU, that wait is: this thread
 * parks (12 ms) on CPU 0 while a real-time thread takes CPU 0 from 3 ms to
 * 43 ms, so it waits ~30 ms in the run queue after its wakeup. */
__attribute__((noinline)) static void check_idle_wait(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen)
{
	cpu_set_t all;
	pthread_t hog;

	CHECK(sched_getaffinity(0, sizeof(all), &all) == 0, "read this thread's CPUs");
	CHECK(pin_cpu0() == 0, "run this thread on CPU 0");
	sleeps_collect(rb, seen);
	seen->nlong = 0;
	seen->idle_wait_ns = 0;
	for (int i = 0; i < 2; i++) {   /* one call site, twice */
		int hogging = 0;
		if (i == 1 && seen->nlong > 0) {
			struct hud_site idle = { .site = seen->longs[seen->nlong - 1].site, .idle = 1 };
			CHECK(loader_site_add(o, seen->tid, idle) == 0, "mark the park's site idle");
			hogging = pthread_create(&hog, NULL, rt_hog, NULL) == 0;
		}
		park_like();
		if (hogging)
			pthread_join(hog, NULL);
		sleeps_collect(rb, seen);
	}
	sched_setaffinity(0, sizeof(all), &all);
	CHECK(seen->idle_wait_ns >= 15000000ull && seen->idle_wait_ns < 200000000ull,
	      "the wait after the idle park is reported (%.1f ms, ~30 ms expected)", (double)seen->idle_wait_ns / 1e6);
	CHECK(seen->idle_off_ns == seen->idle_wait_ns, "an idle park's record covers its wait only");
}

/* Each of this thread's epoll_wait and epoll_pwait calls counted in its
 * entry, and a sample taken after them carries the count. */
__attribute__((noinline)) static void check_epoll_waits(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen)
{
	struct hud_thread before, after;
	struct epoll_event ev;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	CHECK(loader_counts_epoll_waits(o), "the epoll_wait counter is attached (syscall tracepoints)");
	CHECK(ep >= 0 && loader_thread_get(o, seen->tid, &before) == 0, "an epoll instance and this thread's entry");
	for (int i = 0; i < 10; i++)
		epoll_wait(ep, &ev, 1, 0);
	for (int i = 0; i < 5; i++)
		epoll_pwait(ep, &ev, 1, 0, NULL);
	CHECK(loader_thread_get(o, seen->tid, &after) == 0 && (uint16_t)(after.epoll_waits - before.epoll_waits) == 15,
	      "10 epoll_wait and 5 epoll_pwait calls counted (%u)", (uint16_t)(after.epoll_waits - before.epoll_waits));
	/* Detached while the programs run (the session, once Tokio's tick is
	 * read in every poll): nothing counted, the count kept; attached
	 * again, counted again. */
	struct hud_thread off, on;
	CHECK(loader_epoll_counter(o, 0) == 0 && !loader_counts_epoll_waits(o), "the counter detached");
	for (int i = 0; i < 10; i++)
		epoll_wait(ep, &ev, 1, 0);
	CHECK(loader_thread_get(o, seen->tid, &off) == 0 && off.epoll_waits == after.epoll_waits,
	      "detached, 10 calls not counted (%u, was %u)", off.epoll_waits, after.epoll_waits);
	CHECK(loader_epoll_counter(o, 1) == 1 && loader_counts_epoll_waits(o), "the counter attached again");
	for (int i = 0; i < 3; i++)
		epoll_wait(ep, &ev, 1, 0);
	CHECK(loader_thread_get(o, seen->tid, &on) == 0 && (uint16_t)(on.epoll_waits - off.epoll_waits) == 3,
	      "attached again, 3 calls counted (%u)", (uint16_t)(on.epoll_waits - off.epoll_waits));
	after = on;
	if (ep >= 0)
		close(ep);
	seen->last_epoll_waits = 0xffffffffu;
	spin_ms(60);
	sleeps_collect(rb, seen);
	CHECK(seen->last_epoll_waits == after.epoll_waits, "a sample after them carries the count (%u, expected %u)",
	      seen->last_epoll_waits, after.epoll_waits);
}

/* Stands in for Tokio's per-thread CONTEXT (hud_config.tls_off). */
static __thread uint64_t fake_context[6];

/* The thread pointer (x86-64: the TCB's pointer to itself at %fs:0). */
static uint64_t thread_pointer(void)
{
	uint64_t tp;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* The samples of a thread carry a hash of its context thread-local: the
 * same while it stays the same, another once it changed. */
__attribute__((noinline)) static void check_context_hash(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen,
							 struct hud_config cfg)
{
	char err[512];
	uint32_t before;

	cfg.tls_off = (uint64_t)(uintptr_t)fake_context - thread_pointer();
	cfg.tls_len = sizeof(fake_context);
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0, "configure the context's place: %s", err);
	for (int i = 0; i < 6; i++)
		fake_context[i] = 0x1000u + (uint64_t)i;
	for (int round = 0; round < 2; round++) {
		sleeps_collect(rb, seen);
		seen->ctx_samples = seen->ctx_mixed = 0;
		spin_ms(80);
		sleeps_collect(rb, seen);
		if (round == 0) {
			before = seen->ctx_first;
			CHECK(seen->ctx_samples >= 2 && !seen->ctx_mixed && before != 0,
			      "while the context stays, every sample reads one hash (%d samples, %08x)", seen->ctx_samples,
			      before);
			fake_context[5] ^= 0x42;       /* as a budget spent */
		} else {
			CHECK(seen->ctx_samples >= 2 && !seen->ctx_mixed && seen->ctx_first != before,
			      "once it changed, another (%08x, was %08x)", seen->ctx_first, before);
		}
	}
	cfg.tls_off = cfg.tls_len = 0;
	loader_configure(o, &cfg, err, sizeof(err));
}

__attribute__((noinline)) void hud_test_worker_loop(void)
{
	spin_ms(80);
	__asm__ volatile("" ::: "memory");
}

/* With a worker loop configured (hud_config.loop_lo), a sample's walk ends
 * at that function's frame: its callers are not read. */
__attribute__((noinline)) static void check_walk_end(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen,
						     struct hud_config cfg)
{
	static const char *const parts[] = { "hud_test_worker_loop", NULL };
	char err[512], self[4096];
	uint64_t off, size = 0;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	self[n > 0 ? n : 0] = 0;
	CHECK(sym_elf_function(self, parts, &off, &size) == 0 && size > 0, "the loop function's size is known");
	cfg.loop_lo = (uint64_t)(uintptr_t)hud_test_worker_loop;
	cfg.loop_len = size;
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0, "configure the worker loop: %s", err);
	sleeps_collect(rb, seen);
	seen->loop_lo = cfg.loop_lo;
	seen->loop_len = cfg.loop_len;
	seen->loop_ends = seen->loop_beyond = 0;
	hud_test_worker_loop();
	sleeps_collect(rb, seen);
	CHECK(seen->loop_ends >= 2 && seen->loop_beyond == 0,
	      "samples under the loop end at its frame (%d did, %d went further out)", seen->loop_ends, seen->loop_beyond);
	cfg.loop_lo = cfg.loop_len = 0;
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0, "configure: %s", err);
	seen->loop_ends = seen->loop_beyond = 0;
	hud_test_worker_loop();
	sleeps_collect(rb, seen);
	CHECK(seen->loop_beyond >= 2 && seen->loop_ends == 0, "without it, the walk goes on to its callers (%d, %d)",
	      seen->loop_beyond, seen->loop_ends);
	seen->loop_len = 0;
}

static int pong_fds[4];

/* Answers each byte on pong_fds[0] with one on pong_fds[3], on CPU 0. */
static void *ponger(void *arg)
{
	char c;

	(void)arg;
	pin_cpu0();
	while (read(pong_fds[0], &c, 1) == 1 && c)
		if (write(pong_fds[3], &c, 1) != 1)
			break;
	return NULL;
}

/* Every sleep of a worker reported (threshold 1 ns), woken by a thread on
 * its own CPU, over 2000 round trips: each record's run-queue wait, from
 * its wakeup to its switch back in, is a few microseconds, never none.
 * (Times taken from the run queue's clock read none at most of them: the
 * scheduler does not update that clock at a switch right after a wakeup
 * that preempted.) */
__attribute__((noinline)) static void check_short_waits(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen,
							 const struct hud_config *base)
{
	struct hud_config cfg = *base;
	cpu_set_t all;
	pthread_t t;
	char err[512] = "", c = 1;

	CHECK(pipe(pong_fds) == 0 && pipe(pong_fds + 2) == 0, "two pipes");
	CHECK(sched_getaffinity(0, sizeof(all), &all) == 0, "read this thread's CPUs");
	CHECK(pin_cpu0() == 0, "run this thread on CPU 0");
	cfg.threshold_ns = 1;
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0, "threshold 1 ns: %s", err);
	sleeps_collect(rb, seen);
	seen->count_waits = 1;
	seen->waits_some = seen->waits_none = 0;
	CHECK(pthread_create(&t, NULL, ponger, NULL) == 0, "start the ponger");
	for (int i = 0; i < 2000; i++) {
		if (write(pong_fds[1], &c, 1) != 1 || read(pong_fds[2], &c, 1) != 1)
			break;
		if (i % 100 == 99)
			records_poll(rb, 0, seen);
	}
	c = 0;
	CHECK(write(pong_fds[1], &c, 1) == 1 && pthread_join(t, NULL) == 0, "stop the ponger");
	sleeps_collect(rb, seen);
	seen->count_waits = 0;
	CHECK(loader_configure(o, base, err, sizeof(err)) == 0, "threshold back: %s", err);
	sched_setaffinity(0, sizeof(all), &all);
	for (int i = 0; i < 4; i++)
		close(pong_fds[i]);
	/* About 1,150-1,200 of the 2000 sleeps make a record of their own
	 * (the rest go on a stretch, HUD_CHAIN_GAP_NS); CI once saw 993. */
	CHECK(seen->waits_some >= 500 && seen->waits_none * 20 <= seen->waits_some,
	      "sleeps woken on their own CPU wait a little in the run queue (%d with a wait, %d with none)",
	      seen->waits_some, seen->waits_none);
}

static int chain_fds[2];

/* Empties chain_fds[0] a page every 1 ms until it reads nothing. */
static void *slow_reader(void *arg)
{
	char page[4096];

	(void)arg;
	for (;;) {
		usleep(1000);
		if (read(chain_fds[0], page, sizeof(page)) <= 0)
			return NULL;
	}
}

/* One blocking call that sleeps many times, each time for less than the
 * threshold: a write of 256 KB into a one-page pipe that another thread
 * empties a page a millisecond, so each sleep lasts ~1 ms. It is one call
 * blocked for ~64 ms, and its sleeps chain (HUD_CHAIN_GAP_NS) into records
 * of the threshold or more, one after the other inside the call. (Each
 * sleep alone: 2 records of 13 ms in all, in an 80 ms call.) */
__attribute__((noinline)) static void check_chain(struct bpf_obj *o, struct ringbuf *rb, struct seen *seen)
{
	static char buf[256 << 10];
	pthread_t t;

	CHECK(pipe(chain_fds) == 0 && fcntl(chain_fds[1], F_SETPIPE_SZ, 4096) >= 0, "a one-page pipe");
	sleeps_collect(rb, seen);
	seen->nchain = 0;
	seen->chain_from = mono_ns();
	seen->chain_on = 1;
	CHECK(pthread_create(&t, NULL, slow_reader, NULL) == 0, "start the slow reader");
	CHECK(write(chain_fds[1], buf, sizeof(buf)) == (ssize_t)sizeof(buf), "the write went through");
	seen->chain_to = mono_ns();
	close(chain_fds[1]);
	CHECK(pthread_join(t, NULL) == 0, "the reader is done");
	close(chain_fds[0]);
	sleeps_collect(rb, seen);
	seen->chain_on = 0;
	uint64_t sum = 0, end = 0;
	int inside = 1;
	for (int i = 0; i < seen->nchain; i++) {
		inside &= seen->chain[i].ts >= seen->chain_from && seen->chain[i].ts >= end &&
			  seen->chain[i].ts + seen->chain[i].dur <= seen->chain_to + 200000;
		end = seen->chain[i].ts + seen->chain[i].dur;
		sum += seen->chain[i].dur;
	}
	uint64_t call = seen->chain_to - seen->chain_from;
	CHECK(seen->nchain >= 3 && sum * 2 >= call, "the call's short sleeps are reported in records of 5 ms or more "
	      "(%d records, %.1f of %.1f ms)", seen->nchain, (double)sum / 1e6, (double)call / 1e6);
	CHECK(inside, "each inside the call, one after the other");
	/* The records of one call carry one count of the thread's read and
	 * write calls done (the kernel counts each as it ends), and the call:
	 * the session joins them (a slow reader's pipe, each sleep longer than
	 * the threshold). */
	int one = seen->nchain > 0;
	for (int i = 0; i < seen->nchain; i++)
		one &= seen->chain[i].nr == SYS_write && seen->chain[i].io_calls == seen->chain[0].io_calls;
	if (loader_shortcuts(o) & LOADER_IO_CALLS)
		CHECK(one && seen->chain[0].io_calls > 0, "they carry one count of read/write calls (%u) and the "
		      "write's number", seen->nchain ? seen->chain[0].io_calls : 0);
	else
		printf("skip: this kernel's tasks have no ioac.syscr\n");
}

/* The worker table: tids that share home slots are all found, removing
 * one keeps the ones probed past it, and a full probe window says so. (Not
 * inlined: main's code stays within 4096 bytes, see check_first_records.) */
__attribute__((noinline)) static void check_table(struct bpf_obj *o)
{
	uint32_t same[HUD_THREAD_PROBES + 1], n = 0;
	struct hud_thread t;

	for (uint32_t tid = 1000000; n < HUD_THREAD_PROBES + 1; tid++)
		if (hud_thread_home(tid) == hud_thread_home(1000000))
			same[n++] = tid;
	for (uint32_t i = 0; i < HUD_THREAD_PROBES; i++)
		CHECK(loader_thread_add(o, same[i], 100 + i) == 0, "add tid %u sharing a home slot", same[i]);
	CHECK(loader_thread_add(o, same[HUD_THREAD_PROBES], 1) < 0 && errno == ENOSPC,
	      "a ninth tid with the same home slot does not fit");
	struct hud_thread first;
	CHECK(loader_thread_get(o, same[2], &first) == 0 && first.switches == first.first_seq && first.first_seq,
	      "a new entry's sequence numbers start at its first_seq (%u)", first.first_seq);
	CHECK(loader_thread_remove(o, same[2]) == 0 && loader_thread_get(o, same[2], &t) < 0, "removed tid is gone");
	CHECK(loader_thread_get(o, same[5], &t) == 0 && t.worker_id == 105, "a tid probed past a removed one is found");
	CHECK(loader_thread_add(o, same[HUD_THREAD_PROBES], 7) == 0 &&
	      loader_thread_get(o, same[HUD_THREAD_PROBES], &t) == 0 && t.worker_id == 7,
	      "the removed slot is reused");
	/* Put back (a pool thread that runs a worker again, or a new thread
	 * with a dead one's tid): its switch-outs must not repeat the (tid,
	 * sequence number) pairs of its first entry, under which stacks were
	 * read (loader/sleepstacks.c); before, both counted from 0, and a
	 * sleep was named by another call's stack. */
	CHECK(loader_thread_remove(o, same[5]) == 0 && loader_thread_add(o, same[2], 102) == 0 &&
	      loader_thread_get(o, same[2], &t) == 0 && t.switches == t.first_seq &&
	      t.first_seq - first.first_seq >= (1u << 16),
	      "a tid put back counts its switch-outs from past the first entry's (%u, then %u)", first.first_seq,
	      t.first_seq);
	for (uint32_t i = 0; i <= HUD_THREAD_PROBES; i++)
		loader_thread_remove(o, same[i]);
	CHECK(loader_thread_get(o, same[0], &t) < 0 && loader_thread_get(o, same[7], &t) < 0, "all removed");
}

/* Where a worker's sites fit: the demo app's workers sleep at 11-12 sites
 * (parks and blocking calls). With room for fewer, each site added pushed
 * out another, whose next sleep was reported and read again (~10 us of the
 * worker's switch each time): 40% more sleeps reported over 90 s. A site
 * with two stacks keeps both. When full, a new site takes a blocking
 * call's entry, never a park's. */
static int keys_of(const struct hud_thread *t, uint32_t key, uint32_t hash)
{
	int n = 0;

	for (int i = 0; i < HUD_SITES; i++)
		n += (t->site_keys[i] & ~HUD_SITE_IDLE) == key && (t->site_keys[i] & HUD_SITE_IDLE || t->site_checks[i].hash == hash);
	return n;
}

static void check_site_room(struct bpf_obj *o)
{
	const uint32_t tid = 3000001;
	struct hud_thread t;
	int all = 1;

	CHECK(loader_thread_add(o, tid, 9) == 0, "add a worker");
	for (uint32_t i = 0; i < 12; i++) {
		struct hud_site s = { .site = 0x1000 * (i + 1), .idle = i < 4, .check = { .hash = 0x50 + i, .words = 2 } };
		CHECK(loader_site_add(o, tid, s) == 0, "site %u added", i);
	}
	struct hud_site other = { .site = 0x1000 * 6, .check = { .hash = 0x99, .words = 2 } };
	CHECK(loader_site_add(o, tid, other) == 0, "a second stack of a site added");
	CHECK(loader_thread_get(o, tid, &t) == 0, "the worker is in the table");
	for (uint32_t i = 0; i < 12; i++)
		all &= keys_of(&t, 0x1000 * (i + 1), 0x50 + i) == 1;
	CHECK(all, "4 parks and 8 blocking calls are all kept");
	CHECK(keys_of(&t, 0x6000, 0x99) == 1 && keys_of(&t, 0x6000, 0x55) == 1, "the site's two stacks are both kept");
	struct hud_site park = { .site = 0x1000 * 2, .check = { .hash = 0x51, .words = 2 } };
	CHECK(loader_site_add(o, tid, park) == 0 && loader_thread_get(o, tid, &t) == 0 && keys_of(&t, 0x2000, 0) == 1 &&
	      keys_of(&t, 0x2000, 0x51) == 1,
	      "an idle park told again as a known site (its stack read a moment before) stays an idle park");
	park.idle = 1;
	park.site = 0x1000 * 7;
	CHECK(loader_site_add(o, tid, park) == 0 && loader_thread_get(o, tid, &t) == 0 && keys_of(&t, 0x7000, 0) == 1,
	      "a known site told as an idle park becomes one");
	park.idle = 0;
	park.check.hash = 0x56;
	CHECK(loader_site_add(o, tid, park) == 0 && loader_thread_get(o, tid, &t) == 0 && keys_of(&t, 0x7000, 0) == 1,
	      "... and stays one");
	for (uint32_t i = 12; i < HUD_SITES + 4; i++) {
		struct hud_site s = { .site = 0x1000 * (i + 1), .check = { .hash = 0x50 + i, .words = 2 } };
		CHECK(loader_site_add(o, tid, s) == 0, "site %u added", i);
	}
	CHECK(loader_thread_get(o, tid, &t) == 0, "the worker is in the table");
	all = 1;
	for (uint32_t i = 0; i < 4; i++)
		all &= keys_of(&t, 0x1000 * (i + 1), 0) == 1;
	CHECK(all, "a full table gave blocking calls' entries, not the parks'");
	CHECK(keys_of(&t, 0x1000 * (HUD_SITES + 4), 0x50 + HUD_SITES + 3) == 1, "the newest site is kept");
	loader_thread_remove(o, tid);
}

/* Counts loaded programs and maps whose name starts with "hud_". */
static int count_hud_objects(int get_next, int get_fd)
{
	union bpf_attr a;
	uint32_t id = 0;
	int n = 0;

	for (;;) {
		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(get_next, &a) < 0)
			break;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		if (get_fd == BPF_PROG_GET_FD_BY_ID)
			a.prog_id = id;
		else
			a.map_id = id;
		int fd = (int)sys_bpf(get_fd, &a);
		if (fd < 0)
			continue;
		char name[16] = "";
		if (get_fd == BPF_PROG_GET_FD_BY_ID) {
			struct bpf_prog_info info;
			if (loader_obj_info(fd, &info, sizeof(info)) == 0)
				memcpy(name, info.name, sizeof(name));
		} else {
			struct bpf_map_info info;
			if (loader_obj_info(fd, &info, sizeof(info)) == 0)
				memcpy(name, info.name, sizeof(name));
		}
		close(fd);
		n += strncmp(name, "hud_", 4) == 0;
	}
	return n;
}

/* The kernel's BTF through a FIFO, which cannot be mapped: kbtf_open's
 * other way in, read() into a buffer. Returns its number of types, or 0. */
__attribute__((noinline)) static uint32_t types_read_through_fifo(const struct kbtf *k)
{
	char path[] = "/tmp/hud-kbtf-fifo-XXXXXX";
	char err[512] = "";
	struct kbtf r;
	uint32_t n = 0;
	int fd = mkstemp(path);

	if (fd < 0)
		return 0;
	close(fd);
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return 0;
	pid_t child = fork();
	if (child == 0) {
		int w = open(path, O_WRONLY);
		size_t off = 0;
		while (w >= 0 && off < k->len) {
			ssize_t got = write(w, k->data + off, k->len - off);
			if (got <= 0)
				break;
			off += (size_t)got;
		}
		_exit(off == k->len ? 0 : 1);
	}
	if (child > 0 && kbtf_open(&r, path, err, sizeof(err)) == 0) {
		n = r.mapped ? 0 : r.ntypes;
		kbtf_close(&r);
	}
	if (child > 0)
		waitpid(child, NULL, 0);
	unlink(path);
	return n;
}

/* The kernel's BTF as the loader reads it: the offsets it writes into the
 * tracepoint programs, and a damaged file refused with a sentence. */
__attribute__((noinline)) static void check_kernel_types(void)
{
	struct kbtf k;
	char err[512] = "";

	CHECK(kbtf_open(&k, "/sys/kernel/btf/vmlinux", err, sizeof(err)) == 0, "reads the kernel's BTF: %s", err);
	long pid = kbtf_member_offset(&k, "task_struct", "pid"), tgid = kbtf_member_offset(&k, "task_struct", "tgid");
	CHECK(pid > 0 && tgid == pid + 4, "task_struct.pid at %ld, tgid right after it at %ld", pid, tgid);
	long se = kbtf_member_offset(&k, "task_struct", "se"), vr = kbtf_member_offset(&k, "task_struct", "se.vruntime");
	CHECK(se > 0 && vr > se, "a nested member (se.vruntime at %ld) lies inside its struct (se at %ld)", vr, se);
	CHECK(kbtf_member_offset(&k, "task_struct", "no_such_field") == -1 &&
	      kbtf_member_offset(&k, "no_such_struct", "pid") == -1, "unknown names give -1");
	CHECK(kbtf_find(&k, KBTF_KIND_TYPEDEF, "btf_trace_sched_switch") != 0, "the sched_switch attach type is there");
	uint32_t through_fifo = types_read_through_fifo(&k);
	CHECK(through_fifo == k.ntypes, "read without mapping (a FIFO), the same %u types (%u)", k.ntypes, through_fifo);
	/* Cut short: the types it names run past the end. */
	char path[] = "/tmp/hud-kbtf-XXXXXX";
	int fd = mkstemp(path);
	size_t cut = k.len > 40000 ? 40000 : k.len / 2;
	CHECK(fd >= 0 && write(fd, k.data, cut) == (ssize_t)cut, "wrote a truncated copy");
	kbtf_close(&k);
	if (fd >= 0)
		close(fd);
	err[0] = 0;
	CHECK(kbtf_open(&k, path, err, sizeof(err)) < 0 && strstr(err, "not in a form hud reads"),
	      "a truncated BTF file is refused in one sentence: %s", err);
	kbtf_close(&k);
	unlink(path);
}

/* The loader's rewriting of a program's placeholders (HUD_KOFF_*, HUD_KC_*,
 * HUD_KFUNC_RDONLY_CAST in hud_bpf.h), with and without the kernel
 * function, on a copy: the embedded program stays as it was. */
__attribute__((noinline)) static void check_patch(void)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 1, .src_reg = 2, .off = HUD_KOFF_TASK_PID },
		{ .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 1, .src_reg = 2, .off = HUD_KOFF_TASK_STACK },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 3, .imm = (int32_t)HUD_KC_REGS_CAST },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 2, .imm = (int32_t)HUD_KC_PT_REGS_ID },
		{ .code = BPF_JMP | BPF_CALL, .imm = HUD_KFUNC_RDONLY_CAST },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_ktime_get_ns },
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = 1, .src_reg = 2, .off = 24 },
	};
	const size_t n = sizeof(prog) / sizeof(prog[0]);
	long koff[HUD_KOFF_COUNT] = { 2400, 24, 32 }, kc[HUD_KC_COUNT] = { 1, 4321 };
	struct bpf_insn *p = loader_patch_kernel(prog, n, koff, kc, 777);

	CHECK(p && p[0].off == 2400 && p[1].off == 32 && p[6].off == 24, "field offsets written, real ones kept");
	CHECK(p && p[2].imm == 1 && p[3].imm == 4321, "constants written");
	CHECK(p && p[4].src_reg == BPF_PSEUDO_KFUNC_CALL && p[4].imm == 777 && p[4].off == 0,
	      "the cast is a call of the kernel function's BTF id");
	CHECK(p && p[5].src_reg == 0 && p[5].imm == BPF_FUNC_ktime_get_ns, "a helper call is left alone");
	free(p);
	kc[0] = 0;
	p = loader_patch_kernel(prog, n, koff, kc, 0);
	CHECK(p && p[2].imm == 0 && p[4].code == (BPF_ALU64 | BPF_MOV | BPF_K) && p[4].dst_reg == 0 && p[4].imm == 0,
	      "without the kernel function: the cast becomes r0 = 0 (never reached)");
	free(p);
	CHECK(prog[0].off == HUD_KOFF_TASK_PID && prog[4].imm == HUD_KFUNC_RDONLY_CAST, "the original is untouched");
	struct bpf_insn odd[] = { { .code = BPF_ALU64 | BPF_MOV | BPF_K, .imm = (int32_t)(HUD_KC_BASE + HUD_KC_COUNT) } };
	errno = 0;
	CHECK(loader_patch_kernel(odd, 1, koff, kc, 0) == NULL && errno == EINVAL, "an unknown constant is refused");
}

/* 300 ms on CPU, then 30 ms asleep: samples, one off-CPU record at the
 * right time, the sleeping stack read. (Not in main: main's code must stay
 * within 4096 bytes of its start, where the stacks' checks look for it.) */
__attribute__((noinline)) static void check_first_records(struct sleepstacks *ss, struct ringbuf *rb, struct seen *seen)
{
	spin_ms(300);
	uint64_t slept_from = mono_ns();
	sleep_30ms();           /* 30 ms asleep: one off-CPU stretch over 5 ms */
	uint64_t slept_to = mono_ns();
	spin_ms(20);
	for (int i = 0; i < 5 && rb; i++)
		records_poll(rb, 20, seen);
	CHECK(seen->samples_mine >= 100, "~300 samples at 999 Hz over 300 ms of CPU, got %d", seen->samples_mine);
	CHECK(seen->offcpu_long >= 1, "the 30 ms sleep was reported off CPU");
	/* usleep's 30 ms run from the call; the switch-out comes a few
	 * microseconds later, and the timer may fire right at 30 ms (CI read
	 * 29.99x once): the stretch is 30 ms less that setup. */
	CHECK(seen->max_off_ns >= 29500000ull && seen->max_off_ns < 200000000ull,
	      "off-CPU length %.3f ms, slept 30 ms", (double)seen->max_off_ns / 1e6);
	/* Its times are CLOCK_MONOTONIC: inside the call, give or take 0.2 ms. */
	CHECK(seen->max_off_ts + 200000 >= slept_from && seen->max_off_ts + seen->max_off_ns <= slept_to + 200000,
	      "the sleep's record lies within the call on CLOCK_MONOTONIC (from %+.3f ms to %+.3f ms of it)",
	      ((double)seen->max_off_ts - (double)slept_from) / 1e6,
	      ((double)seen->max_off_ts + (double)seen->max_off_ns - (double)slept_to) / 1e6);
	CHECK(seen->deepest >= 3 && seen->in_spin, "sampled user stacks (up to %d frames) pass through spin_ms", seen->deepest);
	uint64_t ips[HUD_STACK_DEPTH];
	int n = sleepstacks_get(ss, seen->tid, seen->long_seq, 0, ips, HUD_STACK_DEPTH);
	int in_sleep = stack_has(ips, n, (uintptr_t)sleep_30ms, 64) >= 0, in_main = stack_has(ips, n, (uintptr_t)main, 4096) >= 0;
	CHECK(n >= 3 && in_sleep && in_main, "the stack read while it slept passes through sleep_30ms and main (%d frames)", n);
}

/* The loader's shortcuts are taken where this kernel offers them. (Out of
 * main, see check_first_records.) */
__attribute__((noinline)) static void check_shortcuts(const struct bpf_obj *o)
{
	struct kbtf k;
	char err[512] = "";
	int opened = kbtf_open(&k, "/sys/kernel/btf/vmlinux", err, sizeof(err)) == 0;
	int cast = opened && kbtf_find(&k, KBTF_KIND_FUNC, "bpf_rdonly_cast") != 0;
	int rq_path = opened && kbtf_member_offset(&k, "task_struct", "se.cfs_rq") >= 0 &&
		      kbtf_member_offset(&k, "cfs_rq", "rq") >= 0 && kbtf_member_offset(&k, "rq", "clock") >= 0;
	int queued_field = opened && kbtf_member_offset(&k, "task_struct", "sched_info.last_queued") > 0;
	kbtf_close(&k);
	int in_place = (loader_shortcuts(o) & LOADER_REGS_IN_PLACE) != 0;
	CHECK(in_place == cast, "user registers read in place exactly where the kernel has bpf_rdonly_cast (%d, %d)",
	      in_place, cast);
	int rq_clock = (loader_shortcuts(o) & LOADER_RQ_CLOCK) != 0;
	CHECK(rq_clock == rq_path, "the run queue's clock read in place exactly where the kernel's BTF has "
	      "task_struct.se.cfs_rq, cfs_rq.rq and rq.clock (%d, %d)", rq_clock, rq_path);
	int wake_queued = (loader_shortcuts(o) & LOADER_WAKE_QUEUED) != 0;
	CHECK(wake_queued == (rq_path && queued_field), "wakeups read from the tasks (no sched_wakeup program) exactly "
	      "where the kernel's BTF has task_struct.sched_info.last_queued too (%d, %d)", wake_queued, queued_field);
}

/* The kernel's tick from /proc/timer_list's text (see loader_tick_of). */
__attribute__((noinline)) static void check_tick_of(void)
{
	static const struct { const char *text; uint64_t tick; } cases[] = {
		/* read off this kind of machine: HZ 250, up 13 hours */
		{ "Timer List Version: v0.10\nHRTIMER_MAX_CLOCK_BASES: 8\nnow at 48145578281299 nsecs\n\ncpu: 0\n"
		  "  .idle_jiffies   : 4306928600\njiffies: 4306928627\n", 4000000 },
		{ "now at 1000000000000 nsecs\njiffies: 4295667296\n", 1000000 },   /* HZ 1000, 1000 s */
		{ "now at 5000000000 nsecs\njiffies: 4294937796\n", 10000000 },     /* HZ 100, 5 s */
		{ "now at 5000000000 nsecs\njiffies: 77\n", 0 },                    /* no HZ fits */
		{ "now at 5000000000 nsecs\n", 0 },
		{ "jiffies: 4306928627\n", 0 },
		{ "", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(loader_tick_of(cases[i].text) == cases[i].tick, "tick of case %zu: %llu ns, want %llu", i,
		      (unsigned long long)loader_tick_of(cases[i].text), (unsigned long long)cases[i].tick);
}

/* What loader_configure writes besides the caller's fields: returns whose
 * run-queue stretch is under the threshold less a tick and 0.5 ms read no
 * other clock; with a threshold within that of zero, every return is
 * timed. */
__attribute__((noinline)) static void check_quick(struct bpf_obj *o, const struct hud_config *base)
{
	struct hud_config cfg = *base, back;
	uint32_t zero = 0;
	char err[512] = "";
	uint64_t tick = loader_tick_ns(o);

	CHECK(loader_map_lookup(loader_map_fd(o, "config"), &zero, &back) == 0 && back.threshold_ns == base->threshold_ns,
	      "the config map reads back");
	if (loader_shortcuts(o) & LOADER_RQ_CLOCK) {
		CHECK(tick >= 800000 && tick <= 42000000, "this kernel's tick was found (%llu ns)", (unsigned long long)tick);
		CHECK(back.quick_ns == base->threshold_ns - tick - 500000, "quick below %llu ns at a %llu ns threshold",
		      (unsigned long long)back.quick_ns, (unsigned long long)base->threshold_ns);
	} else {
		CHECK(back.quick_ns == 0, "without the run queue's clock every return is timed");
	}
	cfg.threshold_ns = tick + 500000;
	cfg.quick_ns = 12345;
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0 &&
	      loader_map_lookup(loader_map_fd(o, "config"), &zero, &back) == 0 && back.quick_ns == 0,
	      "a threshold of a tick and 0.5 ms times every return (%llu)", (unsigned long long)back.quick_ns);
	CHECK(loader_configure(o, base, err, sizeof(err)) == 0, "threshold back: %s", err);
	uint64_t ring = loader_ringbuf_size(999, sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF));
	/* By default 1 MiB at 99 Hz on a few CPUs; a machine counting
	 * hundreds of possible CPUs gets room for 16 samples in each's ring
	 * (1 MiB over 256 would be 4: 40 ms at 99 Hz). */
	CHECK(loader_ringbuf_size(99, 2, 2) == (1u << 20), "1 MiB at 99 Hz on 2 CPUs");
	CHECK(loader_ringbuf_size(99, 2, 256) >= 256u * HUD_SAMPLE_SLOTS_LEAST * sizeof(struct hud_sample),
	      "room for %d samples a CPU with 256 possible CPUs (%u bytes)", HUD_SAMPLE_SLOTS_LEAST,
	      loader_ringbuf_size(99, 2, 256));
	/* The samples' rings: the same bytes, split over the CPUs. */
	uint64_t slots = 2;
	while (slots * 2 <= ring / (uint64_t)o->ncpus_possible / sizeof(struct hud_sample))
		slots *= 2;
	CHECK(back.sample_mask == slots - 1, "each CPU's samples get %llu slots (mask %u)", (unsigned long long)slots,
	      back.sample_mask);
}

static void *spin_1500ms(void *arg)
{
	(void)arg;
	spin_ms(1500);
	return NULL;
}

static int count_record_cb(void *ctx, const void *data, size_t len)
{
	(void)data;
	(void)len;
	++*(int *)ctx;
	return 0;
}

/* A burst of samples wakes a reader that waits for records, well before
 * its own timeout: when half a CPU's slots are unread. */
__attribute__((noinline)) static void check_burst_wakes(struct ringbuf *rb, struct seen *seen)
{
	pthread_t spinner;
	struct timespec a, b;
	int n = 0;

	sleeps_collect(rb, seen);
	CHECK(pthread_create(&spinner, NULL, spin_1500ms, NULL) == 0, "spinner thread");
	clock_gettime(CLOCK_MONOTONIC, &a);
	while (n == 0) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (b.tv_sec - a.tv_sec >= 5)
			break;
		ringbuf_poll(rb, 5000, count_record_cb, &n);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* Reading on while it spins, as hud does (the ring of its CPU holds
	 * about a second of samples). */
	while (pthread_tryjoin_np(spinner, NULL) != 0)
		records_poll(rb, 50, seen);
	double waited = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK(n > 0 && waited < 1.4, "a reader waiting 5 s is woken by the spinner's samples (%d records after %.2f s)", n,
	      waited);
	sleeps_collect(rb, seen);
}

/* The config of the test: this process is the target, its own code the
 * executable's, at a 5 ms threshold. */
static struct hud_config test_config(void)
{
	struct hud_config cfg = { .tgid = (uint32_t)getpid(), .threshold_ns = 5000000,
				  .text_lo = (uint64_t)(uintptr_t)__executable_start, .text_hi = (uint64_t)(uintptr_t)etext };
	return cfg;
}

/* o's records opened (its "events" ring buffer, returned, and its
 * samples' rings, samples_of_test), then o attached at 999 Hz, with the
 * epoll_wait counter or not. */
static struct ringbuf *records_open_attached(struct bpf_obj *o, int count_epoll_waits)
{
	char err[2048] = "";
	struct ringbuf *rb = ringbuf_open(loader_map_fd(o, "events"), err, sizeof(err));

	CHECK(rb != NULL, "ringbuf_open: %s", err);
	samples_of_test = sample_rings_open(o, err, sizeof(err));
	CHECK(samples_of_test != NULL, "sample_rings_open: %s", err);
	CHECK(loader_attach(o, 999, count_epoll_waits, err, sizeof(err)) == 0, "attach: %s", err);
	return rb;
}

static void records_close(struct ringbuf *rb)
{
	ringbuf_close(rb);
	sample_rings_close(samples_of_test);
	samples_of_test = NULL;
}

/* The way of kernels where sched_switch cannot read a worker's wakeup
 * from its task (no sched_info.last_queued, or no run queue's clock): a
 * sched_wakeup program marks the wakeups. The same waits as with the
 * wakeups read from the tasks: after an idle park, and after each sleep. */
__attribute__((noinline)) static void check_wakeup_program(uint32_t tid)
{
	char err[512] = "";
	struct seen s2;

	loader_set_shortcuts_off(LOADER_WAKE_QUEUED);
	struct bpf_obj *o = loader_open(err, sizeof(err));
	loader_set_shortcuts_off(0);
	CHECK(o != NULL, "loader_open with the wakeups left to a sched_wakeup program: %s", err);
	if (!o)
		return;
	CHECK(!(loader_shortcuts(o) & LOADER_WAKE_QUEUED) && loader_prog_count(o) == 4,
	      "the wakeups left to a program of their own: 4 programs (%d)", loader_prog_count(o));
	struct hud_config cfg = test_config();
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0, "configure: %s", err);
	CHECK(loader_thread_add(o, tid, 0) == 0, "register this thread as worker 0");
	struct ringbuf *rb = records_open_attached(o, 0);
	memset(&s2, 0, sizeof(s2));
	s2.tid = tid;
	check_idle_wait(o, rb, &s2);
	check_short_waits(o, rb, &s2, &cfg);
	records_close(rb);
	loader_close(o);
}

int main(void)
{
	char err[2048] = "";
	struct seen seen;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);
	int progs_before = count_hud_objects(BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID);

	check_kernel_types();
	check_patch();
	check_tick_of();
	int maps_before = count_hud_objects(BPF_MAP_GET_NEXT_ID, BPF_MAP_GET_FD_BY_ID);

	if (geteuid() != 0) {
		printf("test_loader: skipped, needs root\n");
		return check_done();
	}
	/* The ring hud makes at the 999 Hz this test samples at. */
	loader_set_ringbuf_bytes(loader_ringbuf_size(999, sysconf(_SC_NPROCESSORS_ONLN), sysconf(_SC_NPROCESSORS_CONF)));
	struct bpf_obj *o = loader_open(err, sizeof(err));
	CHECK(o != NULL, "loader_open: %s", err);
	if (!o)
		return check_done();
	/* The sched_wakeup program is loaded only where sched_switch cannot
	 * read the wakeups from the tasks (check_shortcuts). */
	int progs = loader_shortcuts(o) & LOADER_WAKE_QUEUED ? 3 : 4;
	CHECK(loader_prog_count(o) == progs, "%d programs, got %d", progs, loader_prog_count(o));
	/* hud's start-up is mostly the verifier's walk of its programs (the
	 * attach goal is 100 ms): a count of instructions, the same each time
	 * on one kernel. ~24,000 at most now; a site loop whose findings the
	 * verifier tracked exactly walked 663,549 in 0.6 s. */
	uint32_t insns = 0, most = 0;
	uint64_t load_ns;
	for (int i = 0; loader_prog_cost(o, i, &insns, &load_ns) == 0; i++)
		most = insns > most ? insns : most;
	CHECK(most > 0 && most <= 60000, "no program takes the verifier over 60,000 instructions (at most %u)", most);
	check_shortcuts(o);
	CHECK(loader_map_fd(o, "events") >= 0 && loader_map_fd(o, "threads") >= 0 && loader_map_fd(o, "sleeps") >= 0 &&
	      loader_map_fd(o, "config") >= 0 && loader_map_fd(o, "stats") >= 0 && loader_map_fd(o, "samples") >= 0 &&
	      loader_map_fd(o, "sample_pos") >= 0, "all seven maps created");
	check_table(o);
	check_site_room(o);
	CHECK(count_hud_objects(BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID) == progs_before + progs,
	      "the kernel lists all %d programs", progs);

	struct hud_config cfg = test_config();
	CHECK(loader_configure(o, &cfg, err, sizeof(err)) == 0, "configure: %s", err);
	check_quick(o, &cfg);
	CHECK(loader_thread_add(o, tid, 0) == 0, "register this thread as worker 0");
	/* A target gone before the reader starts: said as such, not as a
	 * missing privilege. */
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	struct sleepstacks *none = sleepstacks_start(o, gone, cfg.text_lo, cfg.text_hi, 1000000, err, sizeof(err));
	CHECK(!none && strstr(err, "exited before hud could attach"), "a vanished target is said to have exited: %s", err);
	sleepstacks_stop(none);
	struct sleepstacks *ss = sleepstacks_start(o, getpid(), cfg.text_lo, cfg.text_hi, 1000000, err, sizeof(err));
	CHECK(ss != NULL, "sleepstacks_start: %s", err);
	struct ringbuf *rb = records_open_attached(o, 1);

	memset(&seen, 0, sizeof(seen));
	seen.tid = tid;
	check_first_records(ss, rb, &seen);
	check_sites(o, ss, rb, &seen);
	check_idle_wait(o, rb, &seen);
	check_run_delay(o, rb, &seen);
	check_short_waits(o, rb, &seen, &cfg);
	check_chain(o, rb, &seen);
	check_epoll_waits(o, rb, &seen);
	check_context_hash(o, rb, &seen, cfg);
	check_walk_end(o, rb, &seen, cfg);
	check_burst_wakes(rb, &seen);
	sleepstacks_stop(ss);

	struct hud_thread t;
	CHECK(loader_thread_get(o, tid, &t) == 0 && t.vol_switches >= 17 && t.switches - t.first_seq >= t.vol_switches,
	      "the kernel side counted its 17 sleeps and more (%u sleeps, %u switch-outs)", t.vol_switches,
	      t.switches - t.first_seq);
	CHECK(!(loader_shortcuts(o) & LOADER_REGS_IN_PLACE) || (t.regs_delta > 0 && t.regs_delta < (1u << 20)),
	      "the registers' place on the kernel stack was learned (%llu)", (unsigned long long)t.regs_delta);
	uint64_t st[HUD_STAT_COUNT];
	CHECK(loader_stats(o, st) == 0 && st[HUD_STAT_SAMPLES] >= (uint64_t)seen.samples_mine,
	      "sample counter agrees with the ring buffer");
	CHECK(st[HUD_STAT_LOST] == 0, "nothing lost at this rate (%llu)", (unsigned long long)st[HUD_STAT_LOST]);
	CHECK(seen.out_of_order == 0 && seen.offcpu_long > 0,
	      "samples and off-CPU records share each CPU's ring in time order (%d of %d off-CPU records out of order)",
	      seen.out_of_order, seen.offcpu_long);

	records_close(rb);
	loader_close(o);
	/* The kernel frees a detached tracepoint link's program after an RCU
	 * grace period, and maps from a work queue after the last reference. */
	int progs_after = 0, maps_after = 0;
	for (int i = 0; i < 50; i++) {
		progs_after = count_hud_objects(BPF_PROG_GET_NEXT_ID, BPF_PROG_GET_FD_BY_ID);
		maps_after = count_hud_objects(BPF_MAP_GET_NEXT_ID, BPF_MAP_GET_FD_BY_ID);
		if (progs_after <= progs_before && maps_after <= maps_before)
			break;
		usleep(20000);
	}
	CHECK(progs_after <= progs_before, "no hud program left after close (%d before, %d after)", progs_before,
	      progs_after);
	CHECK(maps_after <= maps_before, "no hud map left after close (%d before, %d after)", maps_before, maps_after);
	check_wakeup_program(tid);
	return check_done();
}
