/* sleepstacks.c — the stacks of workers that went to sleep, read while they
 * sleep. The kernel side reads no user memory at a context switch (each read
 * costs ~180 ns there, at every switch of the machine); it reports each
 * worker sleep outside an idle park to the "sleeps" ring buffer (registers
 * and the switch-out's number), and a thread of hud's own walks the
 * sleeping thread's stack through /proc/PID/mem at once. A stack counts only
 * when the worker is still off CPU at the same switch-out after the walk:
 * then the stack could not have changed while it was read. Stacks are kept
 * in a ring, newest last, until the off-CPU record of that sleep asks for
 * them (sleepstacks_get).
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

#define RING      1024  /* stacks kept */
#define HOLD_RATE 300   /* sleeps a second above which the reader polls */
#define FREE_RATE 100   /* ... and below which it is woken again */

struct kept {
	uint32_t tid, seq;
	uint32_t depth;
	uint64_t ips[HUD_STACK_DEPTH];
};

struct sleepstacks {
	const struct bpf_obj *o;
	struct ringbuf *rb;
	int memfd;
	uint64_t text_lo, text_hi;
	struct timespec interval;
	pthread_t thread;
	int running;
	int stop;                       /* atomic */
	uint64_t window_start, window_count;
	int holding;
	pthread_mutex_t lock;           /* ring, next, stats */
	struct kept ring[RING];
	uint32_t next;
	struct sleepstacks_stats stats;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Still asleep at this switch-out (not back on CPU since)? */
static int asleep_at(const struct sleepstacks *ss, uint32_t tid, uint32_t seq)
{
	struct hud_thread t;
	return loader_thread_get(ss->o, tid, &t) == 0 && !__atomic_load_n(&t.on_cpu, __ATOMIC_ACQUIRE) &&
	       t.switches == seq;
}

static int on_sleep(void *ctx, const void *data, size_t len)
{
	struct sleepstacks *ss = ctx;
	struct hud_sleep e;
	uint64_t ips[HUD_STACK_DEPTH];
	int n = 0, still;

	if (len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	ss->window_count++;
	/* A sleep that already ended is not walked. */
	if ((still = asleep_at(ss, e.tid, e.seq))) {
		n = ustack_walk(ss->memfd, e.ip, e.sp, e.bp, ss->text_lo, ss->text_hi, ips, HUD_STACK_DEPTH);
		still = asleep_at(ss, e.tid, e.seq);
	}
	pthread_mutex_lock(&ss->lock);
	if (!still) {
		ss->stats.woke++;
	} else if (n <= 0) {
		ss->stats.failed++;
	} else {
		struct kept *k = &ss->ring[ss->next++ % RING];
		k->tid = e.tid;
		k->seq = e.seq;
		k->depth = (uint32_t)n;
		memcpy(k->ips, ips, (size_t)n * sizeof(ips[0]));
		ss->stats.read++;
	}
	pthread_mutex_unlock(&ss->lock);
	return 0;
}

static void *reader(void *arg)
{
	struct sleepstacks *ss = arg;

	ss->window_start = mono_ns();
	while (!__atomic_load_n(&ss->stop, __ATOMIC_ACQUIRE)) {
		if (ss->holding) {
			nanosleep(&ss->interval, NULL);
			ringbuf_poll(ss->rb, 0, on_sleep, ss);
		} else if (ringbuf_poll(ss->rb, 100, on_sleep, ss) < 0) {
			break;
		}
		/* Every 100 ms: poll or be woken, by the rate of sleeps. */
		uint64_t now = mono_ns();
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
	ss->o = o;
	ss->text_lo = text_lo;
	ss->text_hi = text_hi;
	ss->interval.tv_sec = (time_t)(interval_ns / 1000000000u);
	ss->interval.tv_nsec = (long)(interval_ns % 1000000000u);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	if ((ss->memfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "hud: cannot read the target's memory (%s: %s); reading another user's "
			 "process needs CAP_SYS_PTRACE: run hud with sudo", path, strerror(errno));
		free(ss);
		return NULL;
	}
	if (pthread_mutex_init(&ss->lock, NULL) != 0 ||
	    !(ss->rb = ringbuf_open(loader_map_fd(o, "sleeps"), err, errlen))) {
		if (!ss->rb && !*err)
			snprintf(err, errlen, "hud: cannot create a mutex");
		close(ss->memfd);
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
		free(ss);
		return NULL;
	}
	ss->running = 1;
	return ss;
}

int sleepstacks_get(struct sleepstacks *ss, uint32_t tid, uint32_t seq, uint64_t *ips, int max)
{
	int n = 0;

	if (!ss || max <= 0)
		return 0;
	pthread_mutex_lock(&ss->lock);
	for (uint32_t i = 0; i < RING && i < ss->next; i++) {
		const struct kept *k = &ss->ring[(ss->next - 1 - i) % RING];
		if (k->tid == tid && k->seq == seq) {
			n = (int)k->depth < max ? (int)k->depth : max;
			memcpy(ips, k->ips, (size_t)n * sizeof(ips[0]));
			break;
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
	pthread_mutex_unlock(&ss->lock);
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
	pthread_mutex_destroy(&ss->lock);
	free(ss);
}
