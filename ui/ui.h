/* ui.h — hud's presentation layer: the profile model that the live session,
 * the exports, the summary (and later the TUI and replay) share, and the
 * writers that read it.
 *
 * The model holds what a user looks at: distinct frames (function, file,
 * line), distinct stacks of frames, per-function and per-worker aggregates,
 * and blocking events as they complete. It grows with distinct stacks and
 * functions, never with time: events are handed to sinks (the export writer)
 * and only folded into aggregates here.
 *
 * Strings from the target are stored raw; text_sanitize() makes them safe
 * for a terminal, json_string() for JSON. */
#ifndef HUD_UI_H
#define HUD_UI_H

#include <stdint.h>
#include <stdio.h>
#include <stddef.h>

#define HUD_VERSION "0.1.0"

/* ---- Small utilities (ui/text.c) --------------------------------------- */

/* Allocation that cannot fail: on failure prints one sentence and exits(2)
 * after restoring the terminal (registered by the TUI later). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Copies s into out (size outlen) with every control byte, escape sequence
 * start and invalid UTF-8 byte shown as \xNN, so it is safe on a terminal. */
void text_sanitize(const char *s, char *out, size_t outlen);

/* Writes s as a JSON string literal (quotes included), escaping control
 * bytes and replacing invalid UTF-8 with U+FFFD. */
void json_string(FILE *f, const char *s);

/* Monotonic clock in ns (the clock BPF's ktime uses). */
uint64_t now_ns(void);

/* ---- Strings ------------------------------------------------------------ */

struct strtab;
struct strtab *strtab_new(void);
uint32_t strtab_intern(struct strtab *t, const char *s);
const char *strtab_get(const struct strtab *t, uint32_t id);
void strtab_free(struct strtab *t);

/* ---- The profile model (ui/model.c) ------------------------------------- */

enum block_kind { BLOCK_CPU = 0, BLOCK_OFF_CPU = 1, BLOCK_SCHED_DELAY = 2, BLOCK_KINDS = 3 };
const char *block_kind_name(enum block_kind k);

#define FRAME_APP      0x01     /* the application's own code */
#define FRAME_INLINED  0x02     /* inlined into the next (outer) frame */
#define FRAME_NODEBUG  0x04     /* named from the symbol table only */
#define FRAME_UNKNOWN  0x08     /* nothing names it */

struct frame {
	uint32_t function;      /* strtab id */
	uint32_t file;          /* strtab id; "??" when unknown */
	uint32_t line;
	uint32_t flags;         /* FRAME_* */
	uint32_t func_index;    /* index in model.funcs */
};

struct stack {
	uint32_t first;         /* index in model.stack_frames */
	uint32_t depth;         /* frames, innermost first */
	int32_t culprit;        /* position (0 = innermost) of the culprit frame, -1 none */
	uint32_t hash;
	uint32_t thread_class;  /* STACK_CLASS_*: what kind of thread runs it */
	uint64_t samples;       /* CPU samples on workers with this stack */
	uint64_t block_count;   /* blocking events with this stack */
	uint64_t block_ns;
};

#define STACK_CLASS_UNKNOWN  0
#define STACK_CLASS_WORKER   1  /* under Tokio's multi-thread worker loop */
#define STACK_CLASS_POOL     2  /* under Tokio's blocking pool, not a worker loop */

/* Aggregates per function (name + file), for hotspots. */
struct func_stat {
	uint32_t function, file;
	uint32_t line;          /* line of the first culprit frame seen */
	uint32_t flags;
	uint64_t samples;       /* worker samples with this function innermost-app */
	uint64_t block_count[BLOCK_KINDS];
	uint64_t block_ns[BLOCK_KINDS];
	uint64_t block_max_ns;
	uint64_t first_ns, last_ns;     /* first and last blocking event (session time) */
	uint32_t *worker_blocks;        /* blocking events per worker id, nworker_blocks long */
	uint32_t nworker_blocks;
};

/* Timeline: per worker, the last TIMELINE_SLOTS slots of SLOT_NS each. */
#define SLOT_NS         100000000ull    /* 100 ms */
#define TIMELINE_SLOTS  600             /* one minute */

struct slot {
	uint64_t index;         /* session time / SLOT_NS this slot holds; ~0 = empty */
	uint32_t busy_ns;       /* on CPU */
	uint32_t blocked_ns;    /* inside a blocking event */
};

enum worker_state { WORKER_IDLE = 0, WORKER_RUNNING = 1, WORKER_BLOCKED = 2 };

struct worker_stat {
	uint32_t id, tid;
	char comm[16];
	uint64_t samples;
	uint64_t block_count;
	uint64_t block_ns;
	uint64_t oncpu_ns;      /* from the kernel's per-thread accounting */
	int32_t worst_func;     /* func index with most blocking time, -1 */
	uint64_t worst_ns;
	enum worker_state state;
	uint64_t state_since_ns;        /* session time the state began */
	int32_t state_func;             /* blocked: the culprit so far, -1 */
	enum block_kind state_kind;     /* blocked: what kind */
	struct slot timeline[TIMELINE_SLOTS];
};

struct block_event {
	enum block_kind kind;
	uint32_t worker_id, tid;
	uint64_t start_ns;      /* session-relative */
	uint64_t duration_ns;
	uint32_t stack;         /* model stack id */
	int32_t culprit_func;   /* func index, -1 when no frame names it */
};

struct model;

/* Called for each completed blocking event, after it was folded in. */
typedef void (*model_event_fn)(void *ctx, const struct model *m, const struct block_event *e);
/* Called for each CPU sample. */
typedef void (*model_sample_fn)(void *ctx, const struct model *m, uint32_t tid, uint32_t cpu,
				uint64_t ts_ns, uint32_t stack);

struct model_info {
	char target[512];       /* path of the target binary */
	char comm[32];          /* process name */
	int pid;
	uint64_t threshold_ns;
	int freq;
	char workers_rule[96];  /* how workers were found */
	uint64_t start_ns;      /* monotonic time the session started */
	uint64_t duration_ns;   /* filled at the end */
	uint64_t samples, worker_samples, events, lost, stack_failures;
	int debug_percent;      /* -1 unknown */
	char stop_reason[64];
	uint64_t window_ns;     /* utilisation window (--window), default 10 s */
	uint64_t now_ns;        /* session time of the latest data (live) or the end (replay) */
	int replay;             /* 1 when the model was rebuilt from a file */
};

struct model {
	struct model_info info;
	struct strtab *strings;
	struct frame *frames;           /* distinct frames */
	uint32_t nframes, frames_cap;
	uint32_t *stack_frames;         /* frame ids of all stacks, concatenated */
	uint32_t nstack_frames, stack_frames_cap;
	struct stack *stacks;
	uint32_t nstacks, stacks_cap;
	struct func_stat *funcs;
	uint32_t nfuncs, funcs_cap;
	struct worker_stat *workers;
	uint32_t nworkers, workers_cap;
	uint64_t block_total[BLOCK_KINDS];
	/* hash indexes (open addressing) */
	uint32_t *frame_index, frame_index_cap;
	uint32_t *stack_index, stack_index_cap;
	uint32_t *func_index, func_index_cap;
	/* sinks */
	model_event_fn on_event;
	model_sample_fn on_sample;
	void *sink_ctx;
};

struct model *model_new(void);
void model_free(struct model *m);

/* A frame as resolved by the symbolizer (strings copied into the model). */
struct frame_in {
	const char *function, *file;
	uint32_t line;
	uint32_t flags;             /* FRAME_INLINED / FRAME_NODEBUG / FRAME_UNKNOWN */
	int in_main;                /* 1 when the address is in the main executable */
};

/* Interns a stack of frames (innermost first); app frames and the culprit
 * are decided here. Returns the stack id. */
uint32_t model_stack(struct model *m, const struct frame_in *frames, int n);

const struct frame *model_stack_frame(const struct model *m, uint32_t stack, uint32_t i);

/* The worker with this id, created on first use. */
struct worker_stat *model_worker(struct model *m, uint32_t id, uint32_t tid, const char *comm);

/* Adds on-CPU time of a worker that ended at session time ts (timeline and
 * utilisation), spread back over the slots it covers. */
void model_worker_busy(struct model *m, uint32_t id, uint64_t ts, uint64_t busy_ns);

/* A worker's current state as the live session sees it (or as the end of a
 * replayed file says). `func` is the culprit so far when blocked, else -1. */
void model_worker_state(struct model *m, uint32_t id, enum worker_state st, uint64_t since,
			int32_t func, enum block_kind kind);

/* The slot of a worker's timeline for session time ts, or NULL when that
 * time is no longer (or not yet) kept. */
const struct slot *model_slot(const struct worker_stat *w, uint64_t ts);

/* Share of the last `window_ns` (up to m->info.now_ns) the worker was on CPU
 * and blocked, in percent. */
void model_worker_window(const struct model *m, const struct worker_stat *w, double *busy_pct, double *blocked_pct);

/* Worker by id, or NULL. */
struct worker_stat *model_worker_find(struct model *m, uint32_t id);

/* Forgets a worker that turned out not to be one. */
void model_worker_remove(struct model *m, uint32_t id);

/* A CPU sample on a thread of the target (worker_id may be HUD_NOT_WORKER). */
void model_sample(struct model *m, uint32_t worker_id, uint32_t tid, uint32_t cpu, uint64_t ts_ns, uint32_t stack);

/* A completed blocking event: folded into aggregates and passed to sinks. */
void model_block(struct model *m, const struct block_event *e);

/* Is this frame the application's own code? (file path and name rules) */
int frame_is_app(const char *function, const char *file, int in_main);

/* 1 when the stack's thread was stopped in application code: an application
 * frame comes before (innermost side) any frame of Tokio's scheduler. */
int model_stack_in_app(const struct model *m, uint32_t stack);

/* ---- A live session (ui/session.c) --------------------------------------- */

struct session_opts {
	int pid;
	const char *target;             /* NULL: /proc/PID/exe */
	const char *workers_prefix;     /* NULL: Tokio's default names */
	uint64_t threshold_ns;
	uint64_t duration_ns;           /* 0: until a signal or the target exits */
	int freq;
	void (*on_attached)(void *ctx); /* called once everything is attached */
	/* Called about every 100 ms after the model was brought up to date;
	 * a non-zero return ends the session (the user quit). */
	int (*on_tick)(void *ctx, struct model *m);
	/* When >= 0, also woken when this fd is readable: on_input then runs;
	 * a non-zero return ends the session. */
	int input_fd;
	int (*on_input)(void *ctx, struct model *m);
	void *ctx;
};

/* Profiles the process until the duration ends, SIGINT/SIGTERM/SIGHUP, or
 * the target exits, feeding m (whose sinks see every sample and event).
 * Returns 0, or -1 with one sentence in err; nothing stays attached. */
int session_run(const struct session_opts *opts, struct model *m, char *err, size_t errlen);

/* ---- Outputs ------------------------------------------------------------ */

/* Chrome Trace Event JSON, streamed: open before the session (fails early on
 * an unwritable path), events and samples written as they come, finished
 * and renamed into place at the end. */
struct chrome_writer;
struct chrome_writer *chrome_open(const char *path, char *err, size_t errlen);
void chrome_attach(struct chrome_writer *w, struct model *m);   /* become m's sink */
int chrome_finish(struct chrome_writer *w, const struct model *m, char *err, size_t errlen);
void chrome_abort(struct chrome_writer *w);     /* remove the temporary file */

/* The text summary printed at the end of a headless run. */
void summary_print(FILE *f, const struct model *m, int top);

#endif
