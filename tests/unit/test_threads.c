/* test_threads.c — the target's threads as hud keeps them (loader/threads.c),
 * on threads of this test named like Tokio's workers:
 * - each thread named like a worker gets a worker id, in discovery order;
 * - a thread that exits is reported gone with its id at the next scan;
 * - an id given back (a blocking-pool thread that never ran a worker, gone)
 *   goes to the next new thread, so that a pool whose threads come and go
 *   (spawn_blocking bursts, a short keep-alive) does not make ids, and what
 *   is kept per id, grow with time; an id not given back is never reused. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loader/loader.h"
#include "tests/unit/check.h"

struct named {
	pthread_t th;
	int fd[2];              /* the thread exits when fd[1] is closed */
};

static void *park(void *arg)
{
	struct named *n = arg;
	char c;
	while (read(n->fd[0], &c, 1) > 0)
		;
	return NULL;
}

static int start(struct named *n)
{
	if (pipe(n->fd) != 0 || pthread_create(&n->th, NULL, park, n) != 0)
		return -1;
	return pthread_setname_np(n->th, "tokio-runtime-w") == 0 ? 0 : -1;
}

static void stop(struct named *n)
{
	close(n->fd[1]);
	pthread_join(n->th, NULL);
	close(n->fd[0]);
}

int main(void)
{
	struct thread_set s;
	struct named t[4];

	threads_init(&s, getpid(), NULL);
	for (int i = 0; i < 3; i++)
		CHECK(start(&t[i]) == 0, "start thread %d", i);
	usleep(50 * 1000);
	CHECK(threads_scan(&s, NULL) == 3, "three threads named like workers");
	CHECK(s.ngone == 0, "none gone");
	uint32_t ids = 0;
	for (int i = 0; i < s.n; i++)
		if (s.v[i].worker_id != HUD_NOT_WORKER)
			ids |= 1u << s.v[i].worker_id;
	CHECK(ids == 7, "ids 0, 1 and 2 (mask %#x)", ids);

	/* The thread with id 1 exits. /proc lists the threads in the order
	 * they were made, so it is the second one started. */
	pid_t tids[3];
	for (int i = 0; i < 3; i++)
		tids[i] = 0;
	for (int i = 0; i < s.n; i++)
		if (s.v[i].worker_id < 3)
			tids[s.v[i].worker_id] = (pid_t)s.v[i].tid;
	stop(&t[1]);
	usleep(50 * 1000);
	CHECK(threads_scan(&s, NULL) == 0, "no new worker");
	CHECK(s.ngone == 1 && s.gone[0] == 1, "the exited thread's id 1 is reported gone (%d gone)", s.ngone);
	CHECK(threads_worker_count(&s) == 2, "two workers left");

	/* Given back, the id goes to the next new thread. */
	threads_release_id(&s, 1);
	CHECK(start(&t[3]) == 0, "start a fourth thread");
	usleep(50 * 1000);
	CHECK(threads_scan(&s, NULL) == 1, "one new worker");
	CHECK(s.ngone == 0, "none gone at this scan");
	uint32_t newid = HUD_NOT_WORKER;
	for (int i = 0; i < s.n; i++)
		if (s.v[i].worker_id != HUD_NOT_WORKER && s.v[i].tid != (uint32_t)tids[0] && s.v[i].tid != (uint32_t)tids[2])
			newid = s.v[i].worker_id;
	CHECK(newid == 1, "the new thread takes the id given back (%u)", newid);

	/* Not given back: a new thread gets a fresh id. */
	stop(&t[3]);
	usleep(50 * 1000);
	threads_scan(&s, NULL);
	CHECK(s.ngone == 1 && s.gone[0] == 1, "gone again");
	CHECK(start(&t[1]) == 0, "start a fifth thread");
	usleep(50 * 1000);
	threads_scan(&s, NULL);
	newid = HUD_NOT_WORKER;
	for (int i = 0; i < s.n; i++)
		if (s.v[i].worker_id != HUD_NOT_WORKER && s.v[i].tid != (uint32_t)tids[0] && s.v[i].tid != (uint32_t)tids[2])
			newid = s.v[i].worker_id;
	CHECK(newid == 3, "an id not given back is not reused: the new thread gets 3 (%u)", newid);

	stop(&t[0]);
	stop(&t[1]);
	stop(&t[2]);
	threads_free(&s);
	return check_done();
}
