/* sleepstacks.c — the stacks of workers that went to sleep, read while they
 * sleep. The kernel side does not walk stacks at a context switch (each read
 * of user memory costs ~180 ns there, at every switch of the machine); it
 * reports a worker sleep at a site user space does not know to the "sleeps"
 * ring buffer (registers and the switch-out's number), and a thread of
 * hud's own walks the sleeping thread's stack through /proc/PID/mem at
 * once. A stack counts only when the worker is still off CPU at the same
 * switch-out and site after the walk: then the stack could not have changed
 * while it was read. Stacks are kept in a ring, newest last, until the
 * off-CPU record of that sleep asks for them (sleepstacks_get).
 *
 * A worker blocks at the same few sites over and over (a site is the
 * registers of its switch-out, hashed: see HUD_SITES). Once a site was read
 * SITE_READS times with the same stack, its stack is kept and the kernel
 * side told (loader_site_add): sleeps there are no longer reported, which
 * saves the kernel side a wakeup (~7 us) per sleep, and an off-CPU record
 * at that site gets the kept stack. One site can stand for two stacks,
 * though: a function that blocks at two of its lines, or two functions of
 * the same frame size called from one frame, leave the same registers. So
 * the kernel side checks the return addresses in the HUD_SITE_SPAN bytes
 * above the stack pointer against the kept stack's (one read) and reports
 * the sleep when they differ (a stack with no return address in that span,
 * all big frames, is checked only as follows). Each of a site's stacks is
 * kept apart, under the site with its check's hash, as the kernel side
 * names a sleep whose check held. Differences further up are caught by
 * reading the stacks of workers asleep at a kept site every KEPT_NS, and by
 * the kernel side forgetting every kept site every FORGET_NS, so the next
 * sleep at each is read again; when found, the site's check moves up to
 * the span that ends at the first frame where the two differ (the same call
 * polled from two places in the runtime), within HUD_SITE_REACH, and each
 * stack is learned again under its new check (site_note). A site whose
 * stacks differ beyond that is no longer kept.
 *
 * Waking hud costs the kernel side ~7 us per record and hud ~30 us on this
 * VM, so when sleeps come often (more than HOLD_RATE a second) the reader
 * polls every interval instead and holds one record back in the ring, which
 * stops the kernel side's wakeups (ringbuf_hold); when they become rare it
 * goes back to being woken. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "loader/loader_int.h"
#include "loader/unwind.h"

#define RING      1024  /* stacks kept */
#define HOLD_RATE 300   /* sleeps a second above which the reader polls */
#define FREE_RATE 100   /* ... and below which it is woken again */
#define SITES_MAX 4096  /* sites whose stack is kept */
#define SITE_READS 3    /* the same stack this often before a site is kept */
#define NEWS      32    /* sites kept and not yet taken by sleepstacks_kept */
#define SPLITS    4     /* spans further up a site's check may move to (site_note) */
#define FORGET_NS 30000000000ull
/* How often the workers asleep at kept sites are looked for. Each look
 * reads the workers' entries in the thread table, which the kernel side
 * writes at every switch: its next write of each such cache line then
 * waits for the line to come back from this CPU (~100-200 ns on this VM).
 * Looking after every poll (10-20 times a second on the demo app, every
 * interval while the reader polls) cost sched_switch 9 ns a run more on
 * average than every 100 ms. */
#define KEPT_NS   100000000ull

struct site_stack {
	uint64_t site;          /* the site as records name it: with its check (hud_site_checked) */
	struct hud_site kernel; /* what the kernel side is told: the site, its check */
	uint64_t ip, sp, bp;    /* the registers it stands for */
	uint32_t tid;
	uint32_t seq;           /* the switch-out it was last read at */
	uint16_t reads;         /* times read, the same stack each time */
	uint8_t mixed;          /* read with two different stacks: no longer kept (see split) */
	uint8_t depth;
	uint8_t told;           /* 1: given to sleepstacks_kept */
	uint32_t split;         /* mixed: where (bytes above sp) the checks of its stacks look, 0 nowhere */
	uint64_t ips[];
};

static uint64_t ring_key(uint32_t tid, uint32_t seq)
{
	return (uint64_t)tid << 32 | seq;
}

static int site_kept(const struct site_stack *x)
{
	return x && !x->mixed && x->reads >= SITE_READS;
}

struct kept {                   /* a stack read (whose: ring_keys) */
	uint32_t depth;
	uint64_t ips[HUD_STACK_DEPTH];
};

struct sleepstacks {
	const struct bpf_obj *o;
	struct ringbuf *rb;
	int memfd;
	struct unwind *unwind;  /* the reader thread's: the C library's frames (unwind.h) */
	uint64_t text_lo, text_hi;
	struct timespec interval;
	pthread_t thread;
	int running;
	int stop;                       /* atomic */
	uint64_t window_start, window_count;
	int holding;
	uint64_t forgot_at, kept_at;
	pthread_mutex_t lock;           /* ring, ring_keys, next, sites, stats */
	struct kept ring[RING];
	/* Each ring entry's (tid, seq) as ring_key() makes it, apart from the
	 * stacks: sleepstacks_get looks for a record's sleep in these 8 KB, not
	 * in a cache line of each 520-byte stack (a scan of the whole ring for
	 * each record at a known site, whose sleep was not read). */
	uint64_t ring_keys[RING];
	uint32_t next;
	struct site_stack **sites;      /* open addressing by site, sites_cap a power of 2 */
	uint32_t nsites, sites_cap;
	struct sleepstacks_site news[NEWS];
	uint32_t nnews;
	struct sleepstacks_stats stats;
};

/* Still asleep at this switch-out (not back on CPU since), at this site? */
static int asleep_at(const struct sleepstacks *ss, const struct hud_sleep *e)
{
	struct hud_thread t;
	return loader_thread_get(ss->o, e->tid, &t) == 0 && !__atomic_load_n(&t.on_cpu, __ATOMIC_ACQUIRE) &&
	       t.switches == e->seq && t.off_site == e->site;
}

/* The slot of (tid, site) in the table, or of the empty slot where it
 * would go. Lock held. */
static struct site_stack **site_slot(struct sleepstacks *ss, uint32_t tid, uint64_t site)
{
	uint32_t mask = ss->sites_cap - 1;

	for (uint32_t i = (uint32_t)(site >> 1) & mask;; i = (i + 1) & mask) {
		struct site_stack *x = ss->sites[i];
		if (!x || (x->site == site && x->tid == tid))
			return &ss->sites[i];
	}
}

static int sites_grow(struct sleepstacks *ss)
{
	uint32_t cap = ss->sites_cap ? ss->sites_cap * 2 : 64;
	struct site_stack **old = ss->sites, **neu = calloc(cap, sizeof(*neu));
	uint32_t oldcap = ss->sites_cap;

	if (!neu)
		return -1;
	ss->sites = neu;
	ss->sites_cap = cap;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i])
			*site_slot(ss, old[i]->tid, old[i]->site) = old[i];
	free(old);
	return 0;
}

/* The kernel side's check of a site (see HUD_SITES): which words of the
 * span from lo bytes above sp on are the return addresses of this stack,
 * and their hash. At most HUD_SITE_RETS of them: the innermost, or where
 * the check was moved up (lo) to the frame that tells two stacks apart,
 * which is the last in its span (site_split), the outermost. */
static struct hud_site site_check(uint64_t site, uint64_t sp, const uint64_t *ips, const uint64_t *slots, int n,
				  uint32_t lo)
{
	struct hud_site k = { .site = site };
	uint64_t words[HUD_SITE_SPAN / 8], mask = 0, h = 0;

	for (int i = 1; i < n; i++) {
		uint64_t off = slots[i] - sp - lo;
		if (slots[i] >= sp + lo && off < HUD_SITE_SPAN && !(off & 7)) {
			mask |= 1ull << (off / 8);
			words[off / 8] = ips[i];
		}
	}
	while (__builtin_popcountll(mask) > HUD_SITE_RETS)
		mask &= lo ? mask - 1 : ~(1ull << (63 - __builtin_clzll(mask)));
	if (!mask)
		return k;
	int first = __builtin_ctzll(mask), last = 63 - __builtin_clzll(mask), r = 0;
	memset(k.check.at, HUD_SITE_AT_END, sizeof(k.check.at));
	for (int j = first; j <= last; j++)
		if (mask & (1ull << j)) {
			h = hud_site_mix(h, words[j]);
			k.check.at[r++] = (uint8_t)(j - first);
		}
	k.check.hash = hud_site_fold(h);
	k.check.first = (uint16_t)(lo / 8 + (uint32_t)first);
	k.check.words = (uint16_t)(last - first + 1);
	return k;
}

/* Where a check must look to tell apart two stacks of one site that differ
 * first at frame d (the same frames below it, so the same slot): the span
 * (its start, in bytes above sp) that ends at that frame's return address,
 * or 0 when it lies beyond HUD_SITE_REACH or inside the span that hid it
 * (past the HUD_SITE_RETS return addresses the check hashed: frames so
 * small are left unkept, not told apart). */
static uint32_t site_split(uint64_t sp, const uint64_t *slots, int d, uint32_t lo)
{
	uint64_t off = slots[d] - sp;

	if (slots[d] < sp || (off & 7) || off >= HUD_SITE_REACH || off < lo + HUD_SITE_SPAN)
		return 0;
	return (uint32_t)(off + 8 - HUD_SITE_SPAN);
}

/* A stack read at a site (the sleep e, at raw: the site as the kernel
 * side computed it): 1 when the site's stack is kept (read SITE_READS
 * times, the same each time), -1 when it was just found to hide two
 * stacks, else 0; *kernel what to tell the kernel side. The stacks of a
 * site whose return addresses differ in its check's span (a function that
 * blocks at two of its lines) are kept apart, each under the site with its
 * check (hud_site_checked). Two that differ only further up (one call
 * polled from two places in the runtime) hide each other: that entry then
 * names a span further up that tells them apart (split), where the check
 * of each is made from then on, down to SPLITS deep; without one, the site
 * is no longer kept. Lock held. */
static int site_note(struct sleepstacks *ss, const struct hud_sleep *e, uint64_t raw, const uint64_t *ips,
		     const uint64_t *slots, int n, struct hud_site *kernel)
{
	struct site_stack **at, *x;
	struct hud_site k;
	uint64_t site;
	uint32_t lo = 0;

	if (!raw || (!ss->sites_cap && sites_grow(ss) < 0))
		return 0;
	for (int splits = 0;; splits++) {
		k = site_check(raw, e->sp, ips, slots, n, lo);
		site = hud_site_checked(raw, k.check.hash);
		at = site_slot(ss, e->tid, site);
		if (!(x = *at) || !x->mixed || !x->split || splits == SPLITS)
			break;
		lo = x->split;
	}
	if (x) {
		x->seq = e->seq;
		if (x->mixed)
			return 0;
		if (x->depth != n || memcmp(x->ips, ips, (size_t)n * sizeof(ips[0]))) {
			int d = 1;
			while (d < n && d < x->depth && x->ips[d] == ips[d])
				d++;
			x->split = d < n ? site_split(e->sp, slots, d, lo) : 0;
			x->mixed = 1;
			ss->stats.mixed++;
			*kernel = x->kernel;
			return -1;
		}
		if (x->reads < UINT16_MAX)
			x->reads++;
		*kernel = x->kernel;
		if (site_kept(x) && !x->told && ss->nnews < NEWS) {
			struct sleepstacks_site *y = &ss->news[ss->nnews++];
			y->tid = x->tid;
			y->site = x->kernel.site;
			y->depth = x->depth;
			memcpy(y->ips, x->ips, (size_t)x->depth * sizeof(x->ips[0]));
			x->told = 1;
		}
		return site_kept(x);
	}
	/* A new site: the table stays at most half full. */
	if (ss->nsites >= SITES_MAX)
		return 0;
	if ((ss->nsites + 1) * 2 > ss->sites_cap) {
		if (sites_grow(ss) < 0)
			return 0;
		at = site_slot(ss, e->tid, site);
	}
	if (!(x = malloc(sizeof(*x) + (size_t)n * sizeof(ips[0]))))
		return 0;
	x->site = site;
	x->kernel = k;
	x->ip = e->ip;
	x->sp = e->sp;
	x->bp = e->bp;
	x->tid = e->tid;
	x->seq = e->seq;
	x->reads = 1;
	x->mixed = 0;
	x->told = 0;
	x->split = 0;
	x->depth = (uint8_t)n;
	memcpy(x->ips, ips, (size_t)n * sizeof(ips[0]));
	*at = x;
	ss->nsites++;
	return 0;
}

/* Reads the stack of the sleep e while it lasts, keeps it under (tid,
 * seq), and learns its site (raw, as the kernel side computed it) from it;
 * recheck: e sleeps at a kept site. */
static void read_sleeper(struct sleepstacks *ss, const struct hud_sleep *e, uint64_t raw, int recheck)
{
	uint64_t ips[HUD_STACK_DEPTH], slots[HUD_STACK_DEPTH];
	struct hud_site kernel;
	int n = 0, still, site = 0;

	/* A sleep that already ended is not walked. */
	if ((still = asleep_at(ss, e))) {
		n = ustack_walk(ss->memfd, ss->unwind, e->ip, e->sp, e->bp, ss->text_lo, ss->text_hi, ips, slots,
				HUD_STACK_DEPTH);
		still = asleep_at(ss, e);
	}
	pthread_mutex_lock(&ss->lock);
	if (!still) {
		ss->stats.woke++;
	} else if (n <= 0) {
		ss->stats.failed++;
	} else {
		uint32_t at = ss->next++ % RING;
		ss->ring_keys[at] = ring_key(e->tid, e->seq);
		struct kept *k = &ss->ring[at];
		k->depth = (uint32_t)n;
		memcpy(k->ips, ips, (size_t)n * sizeof(ips[0]));
		ss->stats.read++;
		ss->stats.rechecked += recheck != 0;
		site = site_note(ss, e, raw, ips, slots, n, &kernel);
	}
	pthread_mutex_unlock(&ss->lock);
	if (site > 0)
		loader_site_add(ss->o, e->tid, kernel);
	else if (site < 0)
		loader_site_forget(ss->o, e->tid, kernel);
}

/* Workers asleep at a kept site right now (the kernel side did not report
 * them): their stacks are read too, which checks the site's. */
static void read_kept_sleepers(struct sleepstacks *ss)
{
	for (uint32_t k = 0; k < HUD_THREAD_SLOTS; k++) {
		const struct hud_thread *t = &ss->o->threads[k];
		struct hud_sleep e = { .tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE) };
		if (!e.tid || e.tid == HUD_TID_GONE || __atomic_load_n(&t->on_cpu, __ATOMIC_ACQUIRE) ||
		    __atomic_load_n(&t->off_idle, __ATOMIC_RELAXED))
			continue;
		e.seq = __atomic_load_n(&t->switches, __ATOMIC_ACQUIRE);
		e.site = __atomic_load_n(&t->off_site, __ATOMIC_RELAXED);
		pthread_mutex_lock(&ss->lock);
		const struct site_stack *x = ss->sites_cap && e.site ? *site_slot(ss, e.tid, e.site) : NULL;
		int check = site_kept(x) && x->seq != e.seq;
		uint64_t raw = 0;
		if (check) {
			/* The site's own registers: the table's may be from a
			 * later switch-out already. */
			e.ip = x->ip;
			e.sp = x->sp;
			e.bp = x->bp;
			raw = x->kernel.site;
		}
		pthread_mutex_unlock(&ss->lock);
		if (check)
			read_sleeper(ss, &e, raw, 1);
	}
}

static int on_sleep(void *ctx, const void *data, size_t len)
{
	struct sleepstacks *ss = ctx;
	struct hud_sleep e;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	ss->window_count++;
	read_sleeper(ss, &e, e.site, 0);
	return 0;
}

static void *reader(void *arg)
{
	struct sleepstacks *ss = arg;

	ss->window_start = ss->forgot_at = loader_now_ns();
	while (!__atomic_load_n(&ss->stop, __ATOMIC_ACQUIRE)) {
		if (ss->holding) {
			nanosleep(&ss->interval, NULL);
			ringbuf_poll(ss->rb, 0, on_sleep, ss);
		} else if (ringbuf_poll(ss->rb, 100, on_sleep, ss) < 0) {
			break;
		}
		uint64_t now = loader_now_ns();
		if (now - ss->kept_at >= KEPT_NS) {
			read_kept_sleepers(ss);
			ss->kept_at = now;
		}
		if (now - ss->forgot_at >= FORGET_NS) {
			loader_sites_forget_all(ss->o);
			ss->forgot_at = now;
		}
		/* Every 100 ms: poll or be woken, by the rate of sleeps. */
		if (now - ss->window_start >= 100000000ull) {
			uint64_t rate = ss->window_count * 1000000000ull / (now - ss->window_start);
			int hold = ss->holding ? rate >= FREE_RATE : rate > HOLD_RATE;
			if (hold != ss->holding) {
				ss->holding = hold;
				ringbuf_hold(ss->rb, hold);
				pthread_mutex_lock(&ss->lock);
				ss->stats.mode_changes++;
				pthread_mutex_unlock(&ss->lock);
			}
			ss->window_start = now;
			ss->window_count = 0;
		}
	}
	return NULL;
}

struct sleepstacks *sleepstacks_start(const struct bpf_obj *o, int pid, uint64_t text_lo, uint64_t text_hi,
				      uint64_t interval_ns, char *err, size_t errlen)
{
	struct sleepstacks *ss = calloc(1, sizeof(*ss));
	char path[64];
	sigset_t all, old;

	if (!ss) {
		snprintf(err, errlen, "hud: out of memory");
		return NULL;
	}
	/* The ring is written one stack a read, in turn: its pages are made
	 * resident now, or hud's memory would creep up by its 540 KB over the
	 * minutes it takes to go round once (4-5 reads a second on the demo
	 * app). */
	for (uint32_t i = 0; i < RING; i++) {
		*(volatile uint32_t *)&ss->ring[i].depth = 0;
		*(volatile uint64_t *)&ss->ring_keys[i] = 0;
	}
	ss->o = o;
	ss->text_lo = text_lo;
	ss->text_hi = text_hi;
	ss->interval.tv_sec = (time_t)(interval_ns / 1000000000u);
	ss->interval.tv_nsec = (long)(interval_ns % 1000000000u);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if ((ss->memfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ESRCH)
			snprintf(err, errlen, "hud: process %d exited before hud could attach", pid);
		else
			snprintf(err, errlen, "hud: cannot read the target's memory (%s: %s); reading another "
				 "user's process needs CAP_SYS_PTRACE: run hud with sudo", path, strerror(errno));
		free(ss);
		return NULL;
	}
	ss->unwind = unwind_open(pid);  /* NULL (out of memory): the walk's own steps */
	if (pthread_mutex_init(&ss->lock, NULL) != 0 ||
	    !(ss->rb = ringbuf_open(loader_map_fd(o, "sleeps"), err, errlen))) {
		if (!ss->rb && !*err)
			snprintf(err, errlen, "hud: cannot create a mutex");
		close(ss->memfd);
		unwind_close(ss->unwind);
		free(ss);
		return NULL;
	}
	/* Signals stay with the main thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&ss->thread, NULL, reader, ss);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		loader_fail(err, errlen, rc, "hud: cannot start its stack reader thread");
		ringbuf_close(ss->rb);
		pthread_mutex_destroy(&ss->lock);
		close(ss->memfd);
		unwind_close(ss->unwind);
		free(ss);
		return NULL;
	}
	ss->running = 1;
	return ss;
}

int sleepstacks_get(struct sleepstacks *ss, uint32_t tid, uint32_t seq, uint64_t site, uint64_t *ips, int max)
{
	int n = 0;

	if (!ss || max <= 0)
		return 0;
	pthread_mutex_lock(&ss->lock);
	for (uint32_t i = 0; i < RING && i < ss->next; i++) {
		uint32_t at = (ss->next - 1 - i) % RING;
		if (ss->ring_keys[at] == ring_key(tid, seq)) {
			const struct kept *k = &ss->ring[at];
			n = (int)k->depth < max ? (int)k->depth : max;
			memcpy(ips, k->ips, (size_t)n * sizeof(ips[0]));
			break;
		}
	}
	if (!n && site && ss->sites_cap) {
		const struct site_stack *x = *site_slot(ss, tid, site);
		if (site_kept(x)) {
			n = x->depth < max ? x->depth : max;
			memcpy(ips, x->ips, (size_t)n * sizeof(ips[0]));
			ss->stats.from_site++;
		}
	}
	if (!n)
		ss->stats.missing++;
	pthread_mutex_unlock(&ss->lock);
	return n;
}

void sleepstacks_stats(struct sleepstacks *ss, struct sleepstacks_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!ss)
		return;
	pthread_mutex_lock(&ss->lock);
	*out = ss->stats;
	out->sites = ss->nsites;
	pthread_mutex_unlock(&ss->lock);
}

int sleepstacks_kept(struct sleepstacks *ss, struct sleepstacks_site *out, int max)
{
	int n = 0;

	if (!ss || max <= 0)
		return 0;
	pthread_mutex_lock(&ss->lock);
	n = ss->nnews < (uint32_t)max ? (int)ss->nnews : max;
	memcpy(out, ss->news, (size_t)n * sizeof(out[0]));
	memmove(ss->news, ss->news + n, (ss->nnews - (uint32_t)n) * sizeof(ss->news[0]));
	ss->nnews -= (uint32_t)n;
	pthread_mutex_unlock(&ss->lock);
	return n;
}

void sleepstacks_stop(struct sleepstacks *ss)
{
	if (!ss)
		return;
	__atomic_store_n(&ss->stop, 1, __ATOMIC_RELEASE);
	if (ss->running)
		pthread_join(ss->thread, NULL);
	ringbuf_close(ss->rb);
	close(ss->memfd);
	unwind_close(ss->unwind);
	pthread_mutex_destroy(&ss->lock);
	for (uint32_t i = 0; i < ss->sites_cap; i++)
		free(ss->sites[i]);
	free(ss->sites);
	free(ss);
}
