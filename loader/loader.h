/* loader.h — the kernel side of hud, from user space, without libbpf.
 *
 * Parses the BPF object embedded in the binary (libelf), creates its maps,
 * relocates map references, loads the programs with raw bpf(), attaches them
 * (BTF-typed sched_switch and sched_wakeup tracepoints, one cpu-clock perf
 * event per CPU), and reads what they produce (ring buffer, stack map,
 * counters, thread table). Also finds the target's threads in /proc and
 * registers them.
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

#define LOADER_MAX_MAPS  8
#define LOADER_MAX_PROGS 4

/* A BPF object as the ELF file describes it, before anything reaches the
 * kernel: map definitions, program sections (a private copy of their code)
 * and, per program, which instruction refers to which map. */
struct bpf_parsed_map {
	char name[32];
	struct hud_map_def def;
	uint64_t offset;        /* symbol value in the "maps" section */
};

struct bpf_parsed_reloc {
	uint32_t insn;          /* index of a 64-bit immediate load (BPF_LD|BPF_IMM|BPF_DW) */
	uint32_t map;           /* index into bpf_parsed.maps */
};

struct bpf_parsed_prog {
	char section[64];
	uint32_t type;          /* BPF_PROG_TYPE_* */
	uint64_t *insns;        /* ninsns 8-byte instructions, owned */
	size_t ninsns;
	struct bpf_parsed_reloc *relocs; /* owned */
	size_t nrelocs;
};

struct bpf_parsed {
	struct bpf_parsed_map maps[LOADER_MAX_MAPS];
	int nmaps;
	struct bpf_parsed_prog progs[LOADER_MAX_PROGS];
	int nprogs;
	char license[64];
};

/* Parses the ELF object obj[0..len) into out: sections, map definitions,
 * program code, and checks every relocation (a 64-bit immediate load of a
 * map symbol). Pure: no system calls, any bytes are safe. Returns 0, or -1
 * with one sentence in err; out is zeroed first and owns its allocations
 * in either case (free with loader_parsed_free). */
int loader_parse(const void *obj, size_t len, struct bpf_parsed *out, char *err, size_t errlen);
void loader_parsed_free(struct bpf_parsed *p);

/* Parses the embedded object, creates the maps and loads the programs. On a
 * verifier rejection err holds the first lines of the verifier log too. */
struct bpf_obj *loader_open(char *err, size_t errlen);

/* Size in bytes of the records' rings the next loader_open creates,
 * together (see struct hud_sample_pos: per CPU, a power of two of slots, at
 * least 2; 0 restores HUD_RINGBUF_BYTES). A tuning knob (`--ringbuf-kb`)
 * and the lost-events drill use it. */
void loader_set_ringbuf_bytes(uint32_t bytes);

/* LOADER_* shortcuts (below) the next loader_open leaves out, as on a
 * kernel that lacks them (0: none): for the tests of those ways. */
void loader_set_shortcuts_off(int shortcuts);

/* The rings hud makes by default: room for ~1 s of samples (~800 bytes
 * each) from every one of the cpus online at freq Hz, so that a busy first
 * second (every stack new to the symbolizer) loses nothing, and for
 * HUD_SAMPLE_SLOTS_LEAST samples in each possible CPU's ring (a machine
 * may count hundreds of possible CPUs); a power of two, at least
 * HUD_RINGBUF_BYTES (1 MiB: 6 s of them at 99 Hz on 2 CPUs), at most 64
 * MiB. Each MiB of them that was written is a MB of hud's resident size. */
uint32_t loader_ringbuf_size(int freq, long cpus, long possible);

/* Writes the one-entry "config" map: cfg, with its quick_ns worked out
 * here from the threshold and the kernel's tick (the caller's is ignored). */
int loader_configure(struct bpf_obj *o, const struct hud_config *cfg, char *err, size_t errlen);

/* Attaches the tracepoint programs (BPF_RAW_TRACEPOINT_OPEN) and one
 * software cpu-clock perf event per online CPU sampling at freq Hz; with
 * count_epoll_waits, also the epoll_wait counter where the kernel allows
 * it (loader_counts_epoll_waits). While that counter is attached, every
 * system call of the machine takes the kernel's slower way in (the syscall
 * tracepoints; what that costs: docs/PERFORMANCE.md, row 1). */
int loader_attach(struct bpf_obj *o, int freq, int count_epoll_waits, char *err, size_t errlen);

/* Detaches, closes every program, map and perf event fd. NULL is fine. */
void loader_close(struct bpf_obj *o);

/* fd of the map with this symbol name, or -1. */
int loader_map_fd(const struct bpf_obj *o, const char *name);

/* Sums the per-CPU counters into out[HUD_STAT_COUNT]. */
int loader_stats(const struct bpf_obj *o, uint64_t out[HUD_STAT_COUNT]);

/* The shortcuts the scheduler programs take on this kernel (see HUD_KC_*
 * in hud_bpf.h): LOADER_REGS_IN_PLACE, user registers read in place, not
 * through the bpf_task_pt_regs helper (Linux 6.2+); LOADER_RQ_CLOCK, the
 * run queue's clock read in place to rule out short stretches without a
 * helper call (CONFIG_FAIR_GROUP_SCHED; used where loader_open also found
 * the kernel's tick); LOADER_RUN_DELAY, samples carry the thread's wait
 * for a CPU so far (CONFIG_SCHED_INFO). For `--check-kernel` and the tests. */
#define LOADER_REGS_IN_PLACE 1
#define LOADER_RQ_CLOCK      2
#define LOADER_RUN_DELAY     4
#define LOADER_IO_CALLS      8  /* off-CPU records carry the thread's read/write calls (CONFIG_TASK_XACCT) */
#define LOADER_WAKE_QUEUED   16 /* sched_switch reads a worker's wakeup from the task: no sched_wakeup
				 * program loaded (CONFIG_SCHED_INFO, with LOADER_RQ_CLOCK) */
int loader_shortcuts(const struct bpf_obj *o);
/* The kernel's tick as loader_open found it (ns); 0 where unknown or
 * without LOADER_RQ_CLOCK: then every return is timed with the real clock. */
uint64_t loader_tick_ns(const struct bpf_obj *o);

/* 1 when the kernel counts each worker's epoll_wait calls for the sampler
 * (hud_sample.epoll_waits): the program attached to at least one of the
 * epoll_wait, epoll_pwait and epoll_pwait2 syscall tracepoints. A kernel
 * without syscall tracepoints (CONFIG_FTRACE_SYSCALLS), a host where
 * tracefs cannot be read or mounted, or an attach asked not to count,
 * runs hud without it; then two polls of one task in a row can look like
 * one. */
int loader_counts_epoll_waits(const struct bpf_obj *o);
/* Attaches the epoll_wait counter (on, where the kernel allows it) or
 * detaches it (0), while the programs run: the session needs it only where
 * Tokio's scheduler tick is not read (docs/ARCHITECTURE.md, `cpu`). The
 * counts already made stay. Returns loader_counts_epoll_waits. */
int loader_epoll_counter(struct bpf_obj *o, int on);

/* Number of programs in the object and their section names (tests). */
int loader_prog_count(const struct bpf_obj *o);
const char *loader_prog_section(const struct bpf_obj *o, int i);

/* What loading program i cost: the instructions the kernel's verifier
 * walked (0 where the kernel does not report it, before Linux 5.16) and
 * the time its load took. Most of hud's start-up is verification; for
 * `--check-kernel` and `./build.sh bench`. -1 for no such program. */
int loader_prog_cost(const struct bpf_obj *o, int i, uint32_t *verified_insns, uint64_t *load_ns);

/* The embedded object's bytes (tests, `--version`). */
const unsigned char *loader_object(size_t *len);

/* ---- Kernel features -------------------------------------------------------- */

#define FEATURE_NO      0
#define FEATURE_YES     1
#define FEATURE_UNKNOWN 2       /* could not tell (no privilege, no /proc) */

struct loader_features {
	char release[65];       /* uname -r */
	int ringbuf;            /* BPF_MAP_TYPE_RINGBUF (5.8) */
	int perf_events;        /* /proc/sys/kernel/perf_event_paranoid exists */
	int tracepoints;        /* sched/sched_switch and sched/sched_wakeup */
	int btf;                /* /sys/kernel/btf/vmlinux (bpf_task_pt_regs, 5.15) */
};

/* Probes the running kernel; never fails (what cannot be told is UNKNOWN). */
void loader_features(struct loader_features *f);

/* 0 when nothing hud needs is known to be missing; else -1 and one sentence
 * naming the first missing feature. */
int loader_check_features(const struct loader_features *f, char *err, size_t errlen);

/* ---- Threads ---------------------------------------------------------------- */

/* The table of workers the kernel side follows. add registers a thread (or
 * updates its worker id); -1 with errno ENOSPC when its slots are taken.
 * get copies the kernel side's view of it. */
int loader_thread_add(const struct bpf_obj *o, uint32_t tid, uint32_t worker_id);
int loader_thread_get(const struct bpf_obj *o, uint32_t tid, struct hud_thread *out);
int loader_thread_remove(const struct bpf_obj *o, uint32_t tid);

/* Tells the kernel side a switch-out site of this thread (hud_event.site)
 * is known (struct hud_site: an idle park, or a place whose stack user
 * space read, with the check of its return addresses; the same site with
 * another check is another stack, kept beside it). A thread keeps
 * HUD_SITES of them; -1 with ENOSPC when they are all idle parks and this
 * one is not. forget drops a known site with that check (not an idle
 * park); forget_all all of them, of every thread. */
int loader_site_add(const struct bpf_obj *o, uint32_t tid, struct hud_site site);
void loader_site_forget(const struct bpf_obj *o, uint32_t tid, struct hud_site site);
void loader_sites_forget_all(const struct bpf_obj *o);

/* ---- Stacks of sleeping threads ---------------------------------------------- */

/* The user stack (innermost first, up to max frames) of a thread that is
 * asleep, from its user registers, read through memfd (/proc/PID/mem);
 * text_lo/text_hi are the main executable's code. Out of code without
 * frame pointers (the C library) by its call-frame information through u
 * (unwind_open(pid), see loader/unwind.h; NULL for none), else by the
 * words near sp (bp may be 0: then libc's saved words are searched for the
 * frame record). Returns the number of frames, 0 when nothing could be
 * read; slots (NULL for none) gets the address each return address was
 * read from (slots[0] = 0: the pc). Not synchronised with the thread: the
 * caller checks it stayed asleep. */
struct unwind;
int ustack_walk(int memfd, struct unwind *u, uint64_t ip, uint64_t sp, uint64_t bp, uint64_t text_lo,
		uint64_t text_hi, uint64_t *ips, uint64_t *slots, int max);

/* The same for a thread asleep in a system call since before hud attached,
 * registers from /proc/PID/task/TID/syscall. 0 when it is not in one. u:
 * the process's call-frame information (unwind_open(pid)), or NULL: then
 * it is opened for this walk only. */
int ustack_sleeping(int pid, uint32_t tid, struct unwind *u, uint64_t text_lo, uint64_t text_hi, uint64_t *ips,
		    int max);

/* The stacks of workers asleep outside their idle parks, read while they
 * sleep by a thread of hud's own, from the registers the kernel side reports
 * to the "sleeps" ring buffer; a stack counts if the worker is still asleep
 * at the same switch-out after the walk. The reader is woken per sleep, or
 * polls every interval_ns when sleeps come often (see sleepstacks.c); the
 * stack of a site where it read the same stack twice is kept, and the kernel
 * side stops reporting sleeps there. sleepstacks_get gives the stack of the
 * sleep that began at switch-out seq of tid (hud_event.seq,
 * hud_thread.switches), else the kept stack of its site (hud_event.site,
 * hud_thread.off_site; 0 for none), 0 frames when neither. Thread-safe. */
struct sleepstacks;

struct sleepstacks_stats {
	uint64_t read;          /* stacks read and kept */
	uint64_t woke;          /* the thread woke before or while its stack was read */
	uint64_t failed;        /* nothing readable at its stack pointer */
	uint64_t missing;       /* asked for and not found */
	uint64_t mode_changes;  /* between being woken and polling */
	uint64_t from_site;     /* stacks given from a known site's */
	uint64_t rechecked;     /* of read: sleeps at a known site, read to check it */
	uint64_t mixed;         /* sites found to stand for two stacks */
	uint64_t sites;         /* sites whose stack is kept */
};

struct sleepstacks *sleepstacks_start(const struct bpf_obj *o, int pid, uint64_t text_lo, uint64_t text_hi,
				      uint64_t interval_ns, char *err, size_t errlen);
int sleepstacks_get(struct sleepstacks *ss, uint32_t tid, uint32_t seq, uint64_t site, uint64_t *ips, int max);
/* A site whose stack was just kept: the kernel side no longer reports
 * sleeps there. Whether it is Tokio parking an idle worker takes the
 * frames' names, which only the caller has: it tells the kernel side so
 * (loader_site_add with .idle), which then passes over sleeps there without
 * reading the worker's memory. */
struct sleepstacks_site {
	uint32_t tid;
	int depth;
	uint64_t site;          /* as the kernel side keys it (hud_event.site of a sleep there) */
	uint64_t ips[HUD_STACK_DEPTH];
};
/* Moves up to max of the sites kept since the last call into out (each
 * site once; at most 32 wait, and one that did not fit is given when its
 * stack is read again): how many. */
int sleepstacks_kept(struct sleepstacks *ss, struct sleepstacks_site *out, int max);
void sleepstacks_stats(struct sleepstacks *ss, struct sleepstacks_stats *out);
void sleepstacks_stop(struct sleepstacks *ss);

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

/* A program submitting with flags 0 wakes the consumer only when it had
 * caught up (the consumer position is the new record's). With hold on,
 * the last record handed out stays in the ring (its space is not given
 * back, it is not handed out again), so the kernel side stops waking hud
 * while hud polls on its own; off gives it back. */
void ringbuf_hold(struct ringbuf *rb, int on);

/* The epoll fd, to be waited on together with other fds. */
int ringbuf_epoll_fd(const struct ringbuf *rb);

void ringbuf_close(struct ringbuf *rb);

/* ---- The records' rings (one per CPU; see struct hud_sample_pos) ----------- */

struct sample_rings;

/* Maps o's "samples" and "sample_pos" into hud. */
struct sample_rings *sample_rings_open(const struct bpf_obj *o, char *err, size_t errlen);

/* The rings' count: every possible CPU's, numbered 0 to this less one. */
int sample_rings_cpus(const struct sample_rings *r);

/* CPU cpu's oldest unread record when it was written at or before until_ns
 * (hud_record_time, CLOCK_MONOTONIC), else NULL: a struct hud_sample, or
 * the struct hud_event of an off-CPU record (by its kind, the first field
 * of both); it stays in place, unchanged, until sample_rings_pop. A CPU's
 * records are in the order of hud_record_time. */
const void *sample_rings_peek(struct sample_rings *r, int cpu, uint64_t until_ns);
/* Gives the slot of the record sample_rings_peek returned back to the
 * kernel side. */
void sample_rings_pop(struct sample_rings *r, int cpu);

/* Hands every unread record to fn (its length: a slot's,
 * sizeof(struct hud_sample)), one CPU after another (not merged by time),
 * and gives each back; a non-zero return from fn stops after that one.
 * Returns how many were handed out. */
int sample_rings_drain(struct sample_rings *r, ringbuf_fn fn, void *ctx);

void sample_rings_close(struct sample_rings *r);

/* ---- The target's threads ----------------------------------------------------- */

#define THREADS_MAX_PREFIXES 4

struct thread_info {
	uint32_t tid;
	uint32_t worker_id;     /* HUD_NOT_WORKER for other threads */
	uint32_t last_worker_id; /* its id when it was last a worker, HUD_NOT_WORKER if never */
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
	uint32_t *spare;        /* ids given back (threads_release_id), given again first */
	int nspare, spare_cap;
	uint32_t *gone;         /* ids of the workers (or former ones) gone at the last scan */
	int ngone, gone_cap;
	uint32_t generation;
	int by_name;            /* 0: new threads are never workers by name (another rule found them) */
};

/* Worker thread-name prefixes: `custom` when not NULL, else Tokio's defaults
 * ("tokio-runtime-w" up to 1.43, "tokio-rt-worker" from 1.44). */
void threads_init(struct thread_set *s, int pid, const char *custom);

/* Lists /proc/PID/task; new threads are classified and, when o is not NULL,
 * registered in the "threads" map; threads that are gone are removed, and
 * the worker ids they had (or last had) listed in gone[] until the next
 * scan. Returns the number of new workers found, -1 when /proc/PID/task
 * cannot be listed (errno says why: ENOENT, the process is gone). */
int threads_scan(struct thread_set *s, const struct bpf_obj *o);

/* Gives back the id of a worker gone (listed in gone[]) whose thread never
 * ran a worker (a blocking-pool thread named like them): the next new
 * worker gets it, so ids stay few where pool threads come and go. An id
 * not given back is never another thread's. */
void threads_release_id(struct thread_set *s, uint32_t id);

int threads_worker_count(const struct thread_set *s);
int threads_is_worker(const struct thread_set *s, uint32_t tid);
/* Whether the thread was a worker before (and was demoted since). */
int threads_was_worker(const struct thread_set *s, uint32_t tid);
/* How many of the threads have a worker prefix's name. */
int threads_named_like_workers(const struct thread_set *s);

/* Makes a thread a worker (its stack shows Tokio's worker loop), with the
 * id it had when it was last one, else the next worker id; kernel side
 * too. Returns the id. A multi-thread runtime's workers move between the
 * threads of its pool (block_in_place hands a worker to another thread,
 * and the thread it left waits in the pool), so a thread may be promoted,
 * demoted and promoted again. */
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
