/* sleepstacks.c — the stacks of workers that went to sleep, read while they
 * sleep. The kernel side reads no user memory at a context switch (each read
 * costs ~180 ns there, at every switch of the machine); it leaves each
 * worker's registers and switch-out number in the "threads" table. A thread
 * of hud's own looks at the watched workers every interval and walks the
 * stack of one that went to sleep since its last look, outside an idle park,
 * through /proc/PID/mem. A stack counts only when the worker is still off
 * CPU at the same switch-out after the walk: then the stack could not have
 * changed while it was read. Stacks are kept in a ring, newest last, until
 * the off-CPU record of that sleep asks for them (sleepstacks_get). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "loader/loader_int.h"

#define RING  1024      /* stacks kept */
#define WATCH 256       /* workers watched */

struct kept {
	uint32_t tid, seq;
	uint32_t depth;
	uint64_t ips[HUD_STACK_DEPTH];
};

struct watched {
	uint32_t tid;
	uint32_t seq;           /* switch-out last looked at */
};

struct sleepstacks {
	const struct bpf_obj *o;
	int memfd;
	uint64_t text_lo, text_hi;
	struct timespec interval;
	pthread_t thread;
	int running;
	int stop;                       /* atomic */
	pthread_mutex_t lock;           /* everything below */
	struct watched watch[WATCH];
	int nwatch;
	struct kept ring[RING];
	uint32_t next;
	struct sleepstacks_stats stats;
};

static void keep(struct sleepstacks *ss, uint32_t tid, uint32_t seq, const uint64_t *ips, int n)
{
	struct kept *k = &ss->ring[ss->next++ % RING];
	k->tid = tid;
	k->seq = seq;
	k->depth = (uint32_t)n;
	memcpy(k->ips, ips, (size_t)n * sizeof(ips[0]));
	ss->stats.read++;
}

/* One look at the watched workers. The walk runs unlocked: it reads only
 * the target's memory and the kernel side's table. */
static void look(struct sleepstacks *ss)
{
	struct watched w[WATCH];
	int n;

	pthread_mutex_lock(&ss->lock);
	n = ss->nwatch;
	memcpy(w, ss->watch, (size_t)n * sizeof(w[0]));
	pthread_mutex_unlock(&ss->lock);
	for (int i = 0; i < n; i++) {
		struct hud_thread t;
		uint64_t ips[HUD_STACK_DEPTH];
		if (loader_thread_get(ss->o, w[i].tid, &t) < 0)
			continue;
		int runnable = t.off_state == 0 || (t.off_state & HUD_STATE_PREEMPTED);
		if (t.on_cpu || !t.off_ts || t.switches == w[i].seq)
			continue;
		w[i].seq = t.switches;
		if (runnable || t.off_idle || !t.off_ip)
			continue;
		int depth = ustack_walk(ss->memfd, t.off_ip, t.off_sp, t.off_bp, ss->text_lo, ss->text_hi, ips,
					HUD_STACK_DEPTH);
		struct hud_thread after;
		int still = loader_thread_get(ss->o, w[i].tid, &after) == 0 && !after.on_cpu &&
			    after.switches == t.switches;
		pthread_mutex_lock(&ss->lock);
		if (!still)
			ss->stats.woke++;
		else if (depth <= 0)
			ss->stats.failed++;
		else
			keep(ss, w[i].tid, t.switches, ips, depth);
		pthread_mutex_unlock(&ss->lock);
	}
	/* What was looked at, for the next look. */
	pthread_mutex_lock(&ss->lock);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < ss->nwatch; j++)
			if (ss->watch[j].tid == w[i].tid)
				ss->watch[j].seq = w[i].seq;
	pthread_mutex_unlock(&ss->lock);
}

static void *reader(void *arg)
{
	struct sleepstacks *ss = arg;

	while (!__atomic_load_n(&ss->stop, __ATOMIC_ACQUIRE)) {
		look(ss);
		nanosleep(&ss->interval, NULL);
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
	if (pthread_mutex_init(&ss->lock, NULL) != 0) {
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
		pthread_mutex_destroy(&ss->lock);
		close(ss->memfd);
		free(ss);
		return NULL;
	}
	ss->running = 1;
	return ss;
}

void sleepstacks_watch(struct sleepstacks *ss, uint32_t tid)
{
	if (!ss)
		return;
	pthread_mutex_lock(&ss->lock);
	int i;
	for (i = 0; i < ss->nwatch && ss->watch[i].tid != tid; i++)
		;
	if (i == ss->nwatch) {
		/* Full: workers that left the table make room. */
		for (int j = 0; ss->nwatch == WATCH && j < ss->nwatch;) {
			struct hud_thread t;
			if (loader_thread_get(ss->o, ss->watch[j].tid, &t) < 0)
				ss->watch[j] = ss->watch[--ss->nwatch];
			else
				j++;
		}
		if (ss->nwatch < WATCH)
			ss->watch[ss->nwatch++] = (struct watched){ tid, 0 };
	}
	pthread_mutex_unlock(&ss->lock);
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
	close(ss->memfd);
	pthread_mutex_destroy(&ss->lock);
	free(ss);
}
