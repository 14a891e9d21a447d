/* threads.c — the target's threads, from /proc/PID/task. Workers are the
 * threads whose name starts with a worker prefix; they get ids 0..N-1 in the
 * order they are found. Every thread of the target is registered in the BPF
 * "threads" map (the kernel side needs to know which tids to follow), and
 * removed from it when it exits, so the map holds only live threads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "loader/loader_int.h"

void threads_init(struct thread_set *s, int pid, const char *custom)
{
	memset(s, 0, sizeof(*s));
	s->pid = pid;
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
		t->worker_id = HUD_NOT_WORKER;
		if (is_worker(s, comm)) {
			t->worker_id = s->next_worker++;
			found++;
		}
		if (o)
			loader_thread_add(o, t->tid, t->worker_id);
	}
	closedir(dir);
	/* Forget threads that are gone; worker ids are never reused. */
	for (int i = 0; i < s->n;) {
		if (s->v[i].seen != s->generation) {
			if (o)
				loader_thread_remove(o, s->v[i].tid);
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

int threads_is_worker(const struct thread_set *s, uint32_t tid)
{
	const struct thread_info *t = threads_find(s, tid);
	return t && t->worker_id != HUD_NOT_WORKER;
}

void threads_demote(struct thread_set *s, const struct bpf_obj *o, uint32_t tid)
{
	struct thread_info *t = (struct thread_info *)threads_find(s, tid);
	struct hud_thread kt;

	if (!t)
		return;
	t->worker_id = HUD_NOT_WORKER;
	/* The kernel side may update the entry meanwhile; losing one of its
	 * timestamps to this write is harmless, keeping a worker id is not. */
	if (o && loader_thread_get(o, tid, &kt) == 0) {
		kt.worker_id = HUD_NOT_WORKER;
		loader_map_update(loader_map_fd(o, "threads"), &tid, &kt, BPF_EXIST);
	}
}

void threads_free(struct thread_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}
