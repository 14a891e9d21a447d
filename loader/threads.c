/* threads.c — the target's threads, from /proc/PID/task. Workers are the
 * threads whose name starts with a worker prefix; they get ids 0..N-1 in the
 * order they are found, and a thread keeps its id when it stops being a
 * worker and becomes one again. Workers are registered in the BPF "threads" table
 * (the kernel side follows them through context switches), and removed
 * from it when they exit or stop being workers. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "loader/loader_int.h"

void threads_init(struct thread_set *s, int pid, const char *custom)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->by_name = 1;
	if (custom) {
		s->prefixes[s->nprefixes++] = custom;
	} else {
		s->prefixes[s->nprefixes++] = "tokio-runtime-w";  /* Tokio <= 1.43, cut to 15 chars */
		s->prefixes[s->nprefixes++] = "tokio-rt-worker";  /* Tokio >= 1.44 */
	}
}

static int is_worker(const struct thread_set *s, const char *comm)
{
	for (int i = 0; i < s->nprefixes; i++)
		if (strncmp(comm, s->prefixes[i], strlen(s->prefixes[i])) == 0)
			return 1;
	return 0;
}

static int read_comm(int pid, uint32_t tid, char comm[16])
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, comm, 15);
	close(fd);
	if (n < 0)
		return -1;
	comm[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
	return 0;
}

const struct thread_info *threads_find(const struct thread_set *s, uint32_t tid)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].tid == tid)
			return &s->v[i];
	return NULL;
}

static struct thread_info *thread_add(struct thread_set *s)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 64;
		struct thread_info *v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	return &s->v[s->n++];
}

/* A new worker's id: one given back, else the next. */
static uint32_t new_worker_id(struct thread_set *s)
{
	return s->nspare ? s->spare[--s->nspare] : s->next_worker++;
}

/* Appends v to a growing array; a full one that cannot grow drops it. */
static void push_id(uint32_t **a, int *n, int *cap, uint32_t v)
{
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		uint32_t *p = realloc(*a, (size_t)ncap * sizeof(*p));
		if (!p)
			return;
		*a = p;
		*cap = ncap;
	}
	(*a)[(*n)++] = v;
}

void threads_release_id(struct thread_set *s, uint32_t id)
{
	if (id < s->next_worker)
		push_id(&s->spare, &s->nspare, &s->spare_cap, id);
}

int threads_scan(struct thread_set *s, const struct bpf_obj *o)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", s->pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	s->generation++;
	s->ngone = 0;
	while ((d = readdir(dir))) {
		char *end;
		unsigned long tid = strtoul(d->d_name, &end, 10);
		if (*end || tid == 0 || tid > UINT32_MAX)
			continue;
		struct thread_info *t = (struct thread_info *)threads_find(s, (uint32_t)tid);
		if (t) {
			t->seen = s->generation;
			continue;
		}
		if (s->n >= HUD_MAX_THREADS)
			continue;   /* beyond what the kernel side tracks */
		char comm[16];
		if (read_comm(s->pid, (uint32_t)tid, comm) < 0)
			continue;   /* exited while we looked */
		if (!(t = thread_add(s)))
			break;
		t->tid = (uint32_t)tid;
		memcpy(t->comm, comm, sizeof(t->comm));
		t->seen = s->generation;
		t->worker_id = t->last_worker_id = HUD_NOT_WORKER;
		if (s->by_name && is_worker(s, comm)) {
			t->worker_id = t->last_worker_id = new_worker_id(s);
			found++;
		}
		if (o && t->worker_id != HUD_NOT_WORKER)
			loader_thread_add(o, t->tid, t->worker_id);
	}
	closedir(dir);
	/* Forget threads that are gone; a worker id is never another thread's. */
	for (int i = 0; i < s->n;) {
		if (s->v[i].seen != s->generation) {
			if (o)
				loader_thread_remove(o, s->v[i].tid);
			if (s->v[i].last_worker_id != HUD_NOT_WORKER)
				push_id(&s->gone, &s->ngone, &s->gone_cap, s->v[i].last_worker_id);
			s->v[i] = s->v[--s->n];
		} else {
			i++;
		}
	}
	return found;
}

int threads_worker_count(const struct thread_set *s)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += s->v[i].worker_id != HUD_NOT_WORKER;
	return n;
}

/* The kernel side follows workers only. */
static void set_worker(const struct bpf_obj *o, uint32_t tid, uint32_t worker_id)
{
	if (o && worker_id == HUD_NOT_WORKER)
		loader_thread_remove(o, tid);
	else if (o)
		loader_thread_add(o, tid, worker_id);
}

uint32_t threads_promote(struct thread_set *s, const struct bpf_obj *o, uint32_t tid)
{
	struct thread_info *t = (struct thread_info *)threads_find(s, tid);

	if (!t)
		return HUD_NOT_WORKER;
	if (t->worker_id == HUD_NOT_WORKER) {
		t->worker_id = t->last_worker_id != HUD_NOT_WORKER ? t->last_worker_id : new_worker_id(s);
		t->last_worker_id = t->worker_id;
		set_worker(o, tid, t->worker_id);
	}
	return t->worker_id;
}

int threads_was_worker(const struct thread_set *s, uint32_t tid)
{
	const struct thread_info *t = threads_find(s, tid);
	return t && t->worker_id == HUD_NOT_WORKER && t->last_worker_id != HUD_NOT_WORKER;
}

int threads_named_like_workers(const struct thread_set *s)
{
	int n = 0;
	for (int i = 0; i < s->n; i++)
		n += is_worker(s, s->v[i].comm);
	return n;
}

/* Length of NAME in "NAME-N" (N all digits), or 0. */
static size_t group_prefix(const char *comm)
{
	const char *dash = strrchr(comm, '-');
	if (!dash || dash == comm || !dash[1])
		return 0;
	for (const char *p = dash + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return (size_t)(dash - comm);
}

int threads_promote_name_group(struct thread_set *s, const struct bpf_obj *o, char *name, size_t len)
{
	int best = -1, best_n = 1;

	for (int i = 0; i < s->n; i++) {
		size_t pl = group_prefix(s->v[i].comm);
		if (!pl)
			continue;
		int n = 0;
		for (int k = 0; k < s->n; k++)
			n += group_prefix(s->v[k].comm) == pl && strncmp(s->v[k].comm, s->v[i].comm, pl) == 0;
		if (n > best_n) {
			best_n = n;
			best = i;
		}
	}
	if (best < 0)
		return 0;
	size_t pl = group_prefix(s->v[best].comm);
	snprintf(name, len, "%.*s", (int)pl, s->v[best].comm);
	int promoted = 0;
	for (int k = 0; k < s->n; k++)
		if (group_prefix(s->v[k].comm) == pl && strncmp(s->v[k].comm, name, pl) == 0 &&
		    s->v[k].worker_id == HUD_NOT_WORKER) {
			threads_promote(s, o, s->v[k].tid);
			promoted++;
		}
	return promoted;
}

int threads_is_worker(const struct thread_set *s, uint32_t tid)
{
	const struct thread_info *t = threads_find(s, tid);
	return t && t->worker_id != HUD_NOT_WORKER;
}

void threads_demote(struct thread_set *s, const struct bpf_obj *o, uint32_t tid)
{
	struct thread_info *t = (struct thread_info *)threads_find(s, tid);

	if (!t)
		return;
	t->worker_id = HUD_NOT_WORKER;
	set_worker(o, tid, HUD_NOT_WORKER);
}

void threads_free(struct thread_set *s)
{
	free(s->v);
	free(s->spare);
	free(s->gone);
	memset(s, 0, sizeof(*s));
}
