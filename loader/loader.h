/* loader.h — the kernel side of hud, from user space, without libbpf.
 *
 * Parses the BPF object embedded in the binary (libelf), creates its maps,
 * relocates map references, loads the programs with raw bpf(), attaches them
 * (sched/sched_switch tracepoint, one cpu-clock perf event per CPU), and reads
 * what they produce (ring buffer, stack map, counters, thread table). Also
 * finds the target's threads in /proc and registers them.
 *
 * Contract: library code. Functions returning int give 0 (or a count) on
 * success and -1 on failure with one sentence in the caller's err buffer,
 * naming what failed and how to fix it. Nothing here prints or exits.
 * Everything opened is released by the matching *_close, which tolerates
 * partially opened objects; fds are O_CLOEXEC. */
#ifndef HUD_LOADER_H
#define HUD_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "loader/hud_bpf.h"

/* ---- The BPF object ------------------------------------------------------ */

struct bpf_obj;

/* Parses the embedded object, creates the maps and loads the programs. On a
 * verifier rejection err holds the first lines of the verifier log too. */
struct bpf_obj *loader_open(char *err, size_t errlen);

/* Writes the one-entry "config" map. */
int loader_configure(struct bpf_obj *o, const struct hud_config *cfg, char *err, size_t errlen);

/* Attaches sched_switch (mounting tracefs first if needed) and one software
 * cpu-clock perf event per online CPU sampling at freq Hz. */
int loader_attach(struct bpf_obj *o, int freq, char *err, size_t errlen);

/* Detaches, closes every program, map and perf event fd. NULL is fine. */
void loader_close(struct bpf_obj *o);

/* fd of the map with this symbol name, or -1. */
int loader_map_fd(const struct bpf_obj *o, const char *name);

/* Sums the per-CPU counters into out[HUD_STAT_COUNT]. */
int loader_stats(const struct bpf_obj *o, uint64_t out[HUD_STAT_COUNT]);

/* Number of programs in the object and their section names (tests). */
int loader_prog_count(const struct bpf_obj *o);
const char *loader_prog_section(const struct bpf_obj *o, int i);

/* The embedded object's bytes (tests, `--version`). */
const unsigned char *loader_object(size_t *len);

/* ---- Threads ---------------------------------------------------------------- */

int loader_thread_add(const struct bpf_obj *o, uint32_t tid, uint32_t worker_id);
int loader_thread_get(const struct bpf_obj *o, uint32_t tid, struct hud_thread *out);
int loader_thread_remove(const struct bpf_obj *o, uint32_t tid);

/* The user stack the thread had when it last left the CPU (depth 0 when
 * none was taken: not a worker, or the walk failed). */
int loader_thread_stack(const struct bpf_obj *o, uint32_t tid, struct hud_stack *out);

/* ---- Ring buffer ------------------------------------------------------------ */

struct ringbuf;

/* Maps the ring buffer of map fd and prepares an epoll set waiting on it. */
struct ringbuf *ringbuf_open(int map_fd, char *err, size_t errlen);

/* Called for each record; a non-zero return stops the drain. */
typedef int (*ringbuf_fn)(void *ctx, const void *data, size_t len);

/* Waits up to timeout_ms for data (0: do not wait), then hands every ready
 * record to fn. Returns the number of records consumed, -1 on error (EINTR
 * is not an error: it returns what was consumed). */
int ringbuf_poll(struct ringbuf *rb, int timeout_ms, ringbuf_fn fn, void *ctx);

/* The epoll fd, to be waited on together with other fds. */
int ringbuf_epoll_fd(const struct ringbuf *rb);

void ringbuf_close(struct ringbuf *rb);

/* ---- The target's threads ----------------------------------------------------- */

#define THREADS_MAX_PREFIXES 4

struct thread_info {
	uint32_t tid;
	uint32_t worker_id;     /* HUD_NOT_WORKER for other threads */
	char comm[16];
	uint32_t seen;          /* scan generation when last seen */
};

struct thread_set {
	int pid;
	const char *prefixes[THREADS_MAX_PREFIXES]; /* worker thread-name prefixes */
	int nprefixes;
	struct thread_info *v;
	int n, cap;
	uint32_t next_worker;   /* worker ids are given in discovery order */
	uint32_t generation;
	int by_name;            /* 0: new threads are never workers by name (another rule found them) */
};

/* Worker thread-name prefixes: `custom` when not NULL, else Tokio's defaults
 * ("tokio-runtime-w" up to 1.43, "tokio-rt-worker" from 1.44). */
void threads_init(struct thread_set *s, int pid, const char *custom);

/* Lists /proc/PID/task; new threads are classified and, when o is not NULL,
 * registered in the "threads" map; threads that are gone are removed.
 * Returns the number of new workers found, -1 when the process is gone. */
int threads_scan(struct thread_set *s, const struct bpf_obj *o);

int threads_worker_count(const struct thread_set *s);
int threads_is_worker(const struct thread_set *s, uint32_t tid);

/* Makes a thread a worker (its stack shows Tokio's worker loop), with the
 * next worker id; kernel side too. Returns the id. */
uint32_t threads_promote(struct thread_set *s, const struct bpf_obj *o, uint32_t tid);

/* The last rule for finding workers: the largest group (2 or more) of
 * threads named NAME-N with the same NAME becomes the workers. Copies NAME
 * to name and returns the number promoted, 0 when there is no such group. */
int threads_promote_name_group(struct thread_set *s, const struct bpf_obj *o, char *name, size_t len);

/* Takes a thread out of the workers (its stack shows it is not one, e.g. a
 * blocking-pool thread that shares the workers' name); kernel side too. */
void threads_demote(struct thread_set *s, const struct bpf_obj *o, uint32_t tid);
const struct thread_info *threads_find(const struct thread_set *s, uint32_t tid);
void threads_free(struct thread_set *s);

#endif
