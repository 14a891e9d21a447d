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
#include <time.h>

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
/* 1 for a character that does not show but changes what does: zero-width
 * and bidirectional controls (a right-to-left override), soft hyphen, BOM. */
int text_cp_hidden(uint32_t c);

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
	uint32_t decl_line;     /* where its function is declared, 0 unknown (sym_frame) */
};

struct stack {
	uint32_t first;         /* index in model.stack_frames */
	uint32_t depth;         /* frames, innermost first */
	int32_t culprit;        /* position (0 = innermost) of the culprit frame, -1 none */
	int32_t task;           /* position of the task: the first application frame
				 * inside Tokio's task poll (the future being polled), -1 */
	uint32_t hash;
	uint32_t thread_class;  /* STACK_CLASS_*: what kind of thread runs it */
	uint32_t cut;           /* 1: its outer frames were not read (the walk's
				 * HUD_STACK_DEPTH addresses ran out first) */
	uint64_t samples;       /* CPU samples on workers with this stack */
	uint64_t block_count;   /* blocking events with this stack */
	uint64_t block_ns;
	uint64_t kind_count[BLOCK_KINDS];       /* ... by kind */
	uint64_t kind_ns[BLOCK_KINDS];
	uint64_t block_max_ns;  /* its longest */
};

#define STACK_CLASS_UNKNOWN  0
#define STACK_CLASS_WORKER   1  /* under Tokio's multi-thread worker loop */
#define STACK_CLASS_POOL     2  /* under Tokio's blocking pool, not a worker loop */
#define STACK_CLASS_CURRENT  3  /* inside a current_thread runtime's block_on */
#define STACK_CLASS_IN_PLACE 4  /* inside tokio::task::block_in_place: the thread
				 * handed its worker's core to another first */

/* Aggregates per function (name, file and declaration line), for hotspots. */
struct func_stat {
	uint32_t function, file;
	uint32_t decl_line;     /* with name and file, what makes it one function:
				 * async blocks and closures of one function share
				 * a name; 0 unknown */
	uint32_t key_line;      /* without decl_line, for a short name (no path:
				 * line-tables-only DWARF), the line: see func_intern */
	uint32_t line;          /* line of its longest block's culprit frame, else
				 * of the first frame of it seen */
	uint32_t flags;
	uint64_t samples;       /* worker samples with this function innermost-app */
	uint64_t block_count[BLOCK_KINDS];
	uint64_t block_ns[BLOCK_KINDS];
	uint64_t block_max_ns;          /* its longest event of any kind (the summary's max) */
	/* Of its cpu and off_cpu blocks only (the drill-down, as Hotspots:
	 * a sched_delay is the machine's, not the function's doing): */
	uint64_t blame_max_ns;          /* the longest */
	uint64_t first_ns, last_ns;     /* first and last (session time) */
	uint32_t *worker_blocks;        /* how many per worker id, nworker_blocks long */
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
	int32_t task_func;      /* func index of the task (future) being polled, -1 */
	int open;               /* still going on when the session ended */
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
	int epoll_counted;      /* 1: the kernel counted the workers' epoll_wait calls (polls of one task
				 * told apart, docs/ARCHITECTURE.md `cpu`); 0: not (--no-epoll-count, no
				 * syscall tracepoints, or not needed: tick_read); -1 unknown (a trace
				 * from an older hud) */
	int tick_read;          /* 1: every poll sampled on the workers read Tokio's scheduler tick,
				 * which tells polls apart, so the epoll_wait counter was left off; 0:
				 * not (a poll sampled without it, or hud did not find it in the
				 * target); -1 unknown (not decided yet, or a trace from an older hud) */
	int main_symbols;       /* 1: the target's code has names (symbols or DWARF); 0: it was
				 * stripped, so its code and Tokio's look alike and no blocking
				 * can be told; -1 unknown (a trace from an older hud) */
	char stop_reason[64];
	/* What the session warned about (no frame pointers, split DWARF, a
	 * --target of another build...), one line each, made safe: kept for
	 * the summary, the export and replay, not only said on stderr. */
	char warnings[1024];
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
	struct block_event *open_blocks;        /* blocks still going on at the end */
	uint32_t nopen;
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
/* Adds a line to info.warnings (made safe; once; dropped when full). */
void model_warn(struct model *m, const char *text);
/* Takes back the warnings that begin with start (what they said no longer
 * holds: the workers a prefix named appeared). */
void model_unwarn(struct model *m, const char *start);
void model_free(struct model *m);

/* A frame as resolved by the symbolizer (strings copied into the model). */
struct frame_in {
	const char *function, *file;
	uint32_t line;
	uint32_t flags;             /* FRAME_INLINED / FRAME_NODEBUG / FRAME_UNKNOWN */
	int in_main;                /* 1 when the address is in the main executable */
	uint32_t decl_line;         /* its function's declaration line, 0 unknown */
};

/* Interns a stack of frames (innermost first); app frames and the culprit
 * are decided here. Returns the stack id. */
uint32_t model_stack(struct model *m, const struct frame_in *frames, int n);

const struct frame *model_stack_frame(const struct model *m, uint32_t stack, uint32_t i);

/* The func index of a stack's frame at position pos (its culprit or task),
 * -1 when pos is -1. */
int32_t model_stack_func(const struct model *m, uint32_t stack, int32_t pos);

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

/* Is this frame Tokio's poll of a spawned task (its harness or core)? */
int frame_is_task_poll(const char *function);

/* 1 when the stack's thread was stopped in application code: an application
 * frame, or a task's poll (whose inlined code it is), comes before
 * (innermost side) any other frame of Tokio's runtime. */
int model_stack_in_app(const struct model *m, uint32_t stack);

/* 1 when the stack is Tokio parking a worker that has nothing to do. */
int model_stack_parked(const struct model *m, uint32_t stack);

/* ---- A live session (ui/session.c) --------------------------------------- */

struct session_opts {
	int pid;
	const char *target;             /* NULL: /proc/PID/exe */
	const char *workers_prefix;     /* NULL: Tokio's default names */
	uint64_t threshold_ns;
	uint64_t duration_ns;           /* 0: until a signal or the target exits */
	int freq;
	int no_epoll_count;             /* 1: leave the epoll_wait counter off (see loader_attach) */
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

/* Whether samples of one poll over span ns, waited of them preempted, make
 * a CPU block at threshold_ns: need samples or more, and never fewer than
 * two (one says where the worker was, not for how long), and the threshold
 * on CPU. The same rule for a poll that ended and for one still going on
 * when the session ends. */
int session_cpu_block(uint32_t samples, uint32_t need, uint64_t span, uint64_t waited, uint64_t threshold_ns);

/* Which poll a CPU sample is in, from its stack (depth return addresses
 * ips, innermost first, the pc first, and the hashes fhash of what each
 * frame saved below its frame pointer; task_phys the physical frame of the
 * task's code, -1 none; func the culprit's function): the frames from the
 * task's outward that are suspended for the whole poll. Equal for two
 * samples of one poll; different, but for chance, for polls of two tasks. */
uint64_t session_poll_identity(const uint64_t *ips, const uint32_t *fhash, uint32_t depth, int32_t task_phys,
			       int32_t func);

/* When a CPU block whose first and last samples are at first and last
 * began and how long it lasted: half a sample period (period_ns) before the
 * first and after the last, as each sample stands for one period (perf's
 * count), but not before after (the worker's sample or return before the
 * poll, 0: none) nor past before (what ended it, 0: not known yet). */
void session_cpu_bounds(uint64_t first, uint64_t last, uint64_t after, uint64_t before, uint64_t period_ns,
			uint64_t *start, uint64_t *dur);

/* ---- Outputs ------------------------------------------------------------ */

/* Chrome Trace Event JSON, streamed: open before the session (fails early on
 * an unwritable path), events and samples written as they come, finished
 * and renamed into place at the end. */
struct chrome_writer;
struct chrome_writer *chrome_open(const char *path, char *err, size_t errlen);
void chrome_attach(struct chrome_writer *w, struct model *m);   /* become m's sink */
int chrome_finish(struct chrome_writer *w, const struct model *m, char *err, size_t errlen);
void chrome_abort(struct chrome_writer *w);     /* remove the temporary file */

/* Brings the streamed part of the export up to date (new frames, stacks and
 * workers, sample counts, timeline slots, worker states) and flushes it, at
 * most once a second, and at the first call (the session's first tick, just
 * after attaching: the start and epoll_counted, unknown when chrome_attach
 * wrote the header); call it from the session's on_tick. NULL is ignored. */
void chrome_tick(struct chrome_writer *w, const struct model *m);

/* The text summary printed at the end of a headless run. */
void summary_print(FILE *f, const struct model *m, int top);

/* ---- Export files (ui/export_file.c) ------------------------------------ */

/* Opens a new temporary file beside path (.NAME.TAG.PID) with
 * O_EXCL|O_NOFOLLOW, so a link planted there is never written through;
 * fills tmp. Returns the fd, or -1 with one sentence in err. */
int export_tmp_open(const char *path, const char *tag, char *tmp, size_t tmplen, char *err, size_t errlen);

/* The same, as a stdio stream for writing ("hud-tmp" tag); NULL with err
 * filled (and nothing left behind) on failure. */
FILE *export_tmp_fopen(const char *path, char *tmp, size_t tmplen, char *err, size_t errlen);

/* Completes f (written under tmp): flush, fsync, hand it to the invoking user
 * under sudo (SUDO_UID/SUDO_GID), close, and rename it over path (rename
 * replaces a link at path, never follows it). f is closed either way; on
 * failure tmp is removed, path untouched, and err holds one sentence. */
int export_commit(FILE *f, const char *tmp, const char *path, char *err, size_t errlen);

/* Expands strftime patterns of an export name with the time t; 0 or -1 when
 * the result does not fit. */
int export_name(const char *pattern, time_t t, char *out, size_t outlen);

enum export_format { EXPORT_CHROME, EXPORT_FOLDED, EXPORT_PPROF };
/* The format a file name asks for: .folded, .pb.gz, anything else Chrome JSON. */
enum export_format export_format_of(const char *path);
/* 1 when path's name ends in one of the formats' (.json, .folded, .pb.gz);
 * any other name is a Chrome trace (export_format_of). */
int export_format_named(const char *path);

/* Collapsed stacks (flamegraph.pl, inferno, speedscope): one line per
 * distinct stack with CPU samples on workers, outermost frame first. */
int folded_write(const char *path, const struct model *m, char *err, size_t errlen);

/* A gzipped pprof profile (google/pprof profile.proto): sample types CPU
 * samples, CPU time, blocking events and blocking time, per stack. */
int pprof_write(const char *path, const struct model *m, char *err, size_t errlen);

/* ---- Streaming JSON (ui/json.c) ------------------------------------------ */

#define JSON_MAX_DEPTH   32
#define JSON_MAX_STRING  65536

enum json_token {
	JT_ERROR = -1, JT_END = 0, JT_BEGIN_OBJ, JT_END_OBJ, JT_BEGIN_ARR, JT_END_ARR,
	JT_KEY, JT_STRING, JT_NUMBER, JT_TRUE, JT_FALSE, JT_NULL,
};
enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json;
/* A reader over fd (not closed by json_close), reading it in chunks. */
struct json *json_open(int fd);
void json_close(struct json *j);
/* The next token (JT_*); JT_ERROR once anything is wrong, then always. */
int json_next(struct json *j);
/* After JT_BEGIN_OBJ/JT_BEGIN_ARR: skips to its end. 0, or -1 on error. */
int json_skip(struct json *j, int tok);
/* The last key or string, decoded (NUL-free UTF-8 unless the input had
 * invalid UTF-8), valid until the next token. */
const char *json_str(const struct json *j, size_t *len);
double json_num(const struct json *j);
/* The last number when it is a non-negative integer that fits; else -1. */
int json_u64(const struct json *j, uint64_t *out);
int json_depth(const struct json *j);
uint64_t json_offset(const struct json *j);
/* What went wrong and where, or NULL. */
const char *json_error(const struct json *j);
/* 1 when the error is that the input ended early. */
int json_truncated(const struct json *j);
/* 1 when the error is that the input is not JSON (not a caller's json_fail). */
int json_syntax_error(const struct json *j);
/* Records the caller's own error (with the position) unless one is set. */
void json_fail(struct json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One value read whole into a flat node array (reused between values). */
#define JDOC_NO_KEY 0xffffffffu
struct jnode {
	uint8_t type, is_u64;
	uint32_t key;           /* offset in s, JDOC_NO_KEY in arrays */
	uint32_t str, len;      /* string: offset and length; containers: children */
	uint32_t end;           /* index after this node's subtree */
	double num;
	uint64_t u64;
};
struct jdoc {
	struct jnode *n;
	uint32_t count, cap;
	char *s;
	size_t slen, scap, max_bytes;
};
void jdoc_init(struct jdoc *d, size_t max_bytes);
void jdoc_free(struct jdoc *d);
/* Reads the value that token tok began; members named skip_key (may be
 * NULL) are skipped. 0, or -1 with the error in j. */
int jdoc_read(struct json *j, struct jdoc *d, int tok, const char *skip_key);
int jdoc_get(const struct jdoc *d, int obj, const char *key);   /* member, -1 */
int jdoc_first(const struct jdoc *d, int parent);               /* first child, -1 */
int jdoc_next(const struct jdoc *d, int parent, int child);     /* next child, -1 */
int jdoc_type(const struct jdoc *d, int i);                     /* JSON_*, -1 */
uint32_t jdoc_len(const struct jdoc *d, int i);
const char *jdoc_str(const struct jdoc *d, int i);              /* NULL unless a string */
int jdoc_u64(const struct jdoc *d, int i, uint64_t max, uint64_t *out);
int jdoc_num(const struct jdoc *d, int i, double lo, double hi, double *out);

/* ---- Replay and comparison (ui/replay.c, ui/diff.c) ---------------------- */

/* Rebuilds the model that wrote a hud Chrome trace (info.replay = 1). A
 * file cut short (hud killed) loads up to its last whole event and sets
 * *cut_short. Returns the model, or NULL with one sentence in err. */
struct model *replay_load(const char *path, int *cut_short, char *err, size_t errlen);

/* Compares the blocking culprits of two runs and prints the table to f.
 * Returns 0 (no regression), 1 (total blocking time grew by more than
 * tolerance_pct, or a new culprit appeared), or 2 with one sentence in err. */
int diff_run(FILE *f, const char *before, const char *after, double tolerance_pct, char *err, size_t errlen);

/* ---- Terminal UI (ui/term.c, ui/tui.c, ui/render.c) ---- */

/* Keys as term_key() decodes them: a byte 0x20..0xff is itself (bytes of
 * UTF-8 typed into the filter arrive one by one). */
enum {
	KEY_NONE = -1,          /* nothing (more) to read */
	KEY_CTRL_C = 3, KEY_TAB = 9, KEY_ENTER = 13, KEY_CTRL_L = 12, KEY_ESC = 27, KEY_BACKSPACE = 127,
	KEY_UP = 0x100, KEY_DOWN, KEY_LEFT, KEY_RIGHT, KEY_PGUP, KEY_PGDN, KEY_HOME, KEY_END, KEY_DELETE,
};

/* Colour roles of a cell (low 4 bits of its attribute); term.c maps them to
 * the 16-colour palette, or to nothing under NO_COLOR. */
enum ui_color { COL_DEFAULT = 0, COL_DIM, COL_RED, COL_AMBER, COL_GREEN, COL_CYAN, COL_BLUE, COL_MAGENTA };
#define ATTR_BOLD       0x10
#define ATTR_REVERSE    0x20
#define ATTR_UNDERLINE  0x40

/* One character cell: a UTF-8 character (already safe for a terminal) or ""
 * for the right half of a wide character. */
struct cell {
	char ch[5];
	uint8_t attr;
};

/* An in-memory screen: what the next frame shows. `utf8` 0 means ASCII
 * only (borders, bars and any non-ASCII text become ASCII). */
struct screen {
	int cols, rows;
	int utf8;
	struct cell *cells;     /* rows * cols */
};

struct screen *screen_new(int cols, int rows, int utf8);
void screen_free(struct screen *s);
void screen_clear(struct screen *s);
#define PUT_TRUNC_LEFT  0x100   /* too long: keep the end ("…tail"), for paths and names */
#define PUT_RIGHT       0x200   /* align right within the width (numbers) */
/* Writes untrusted text at (x, y) within `w` columns: sanitised (control
 * bytes, escape sequences and invalid UTF-8 shown as \xNN), wide characters
 * counted as two columns, cut with an ellipsis when too long. `attr` is an
 * attribute, optionally or'ed with PUT_* flags. Returns the columns used. */
int screen_put(struct screen *s, int x, int y, int w, int attr, const char *text);
/* Display width of text once sanitised. */
int text_width(const char *text, int utf8);
/* Row y as plain text (trailing spaces kept), NUL-terminated in out. */
void screen_row(const struct screen *s, int y, char *out, size_t len);
/* The whole screen as text, rows joined by '\n' with trailing spaces cut;
 * the caller frees it. For tests and logs. */
char *screen_text(const struct screen *s);
/* 1 when two screens show the same thing. */
int screen_equal(const struct screen *a, const struct screen *b);

/* What the user has chosen to see; kept by tui.c, read (and clamped) by
 * render. Selections follow a row's identity (function index, file string
 * id, worker id), not its position, so a re-sorted list keeps them. */
enum { FOCUS_HOTSPOTS = 0, FOCUS_WORKERS = 1 };
#define MOVE_HOME (-1000000)
#define MOVE_END  1000000
#define GROUP_FUNCTION 0
#define GROUP_FILE     1
#define GROUP_TASK     2       /* the future each stack was polled under */

/* The Hotspots row (and summary row) of the blocks in stacks nothing
 * names: a stripped binary's, where no frame has a symbol (stack.culprit
 * < 0). Its key in view.hot_key and view.drill_key. */
#define UNNAMED_ROW "(no name: the worker was in code without symbols)"
#define HOT_UNNAMED INT64_MAX

struct view {
	int utf8;               /* UTF-8 borders and bars, else ASCII */
	int sort_cpu;           /* Hotspots by CPU samples, not blocking time */
	int group_file;         /* GROUP_*: Hotspots by function, source file or task */
	int focus;              /* FOCUS_* */
	int paused, help;
	int move;               /* pending selection move (rows, MOVE_*) applied by the next render */
	int64_t hot_key;        /* selected hotspot: func index, or file id when grouped, or
				 * HOT_UNNAMED; -1 none */
	int64_t worker_key;     /* selected worker id; -1 none */
	int hot_top, worker_top;        /* first visible row */
	int drill;              /* drill-down open */
	int drill_group;        /* drill_key is a file id (grouped), else a func index */
	int64_t drill_key;
	int drill_sel, drill_top;       /* selected stack (position), first visible line */
	int64_t drill_stack;    /* out: model stack id of the selected stack, -1 none */
	int page;               /* out: rows of the focused list, for PgUp/PgDn */
	char filter[128];       /* applied filter (substring of function or file), "" none */
	int editing;            /* typing a filter */
	char edit[128];
	char message[128];      /* one-line notice in the footer, "" none */
};

/* A fresh view: nothing selected, UTF-8 as given. */
void render_view_init(struct view *v, int utf8);
/* Draws the model as the view asks into s (cleared first): Status, Hotspots,
 * Workers, Timeline (or the drill-down, the help overlay, or the
 * too-small notice below 80x24). Reads the model only; updates the view's
 * selection and scroll positions and its out fields. */
void render_screen(struct screen *s, const struct model *m, struct view *v);
/* Health from the share of worker time blocked over the window (ongoing
 * blocks included): 0 NORMAL (< 1%), 1 CAUTION (< 10%), 2 CRITICAL. */
int render_health(const struct model *m, double *blocked_pct);
/* A stack as text, innermost frame first, one "function (file:line)" per
 * line, sanitised; for the clipboard. Returns the length written. */
size_t render_stack_text(const struct model *m, uint32_t stack, char *out, size_t len);

/* The terminal (ui/term.c). term_init picks the keyboard (stdin, else
 * /dev/tty) without changing anything, and refuses a TERM=dumb terminal;
 * term_open enters raw mode, the alternate screen and hides the cursor, and
 * arranges for term_close to run on exit() and on
 * SIGSEGV/SIGBUS/SIGABRT/SIGFPE/SIGILL (then re-raised) and on those of
 * SIGTERM/SIGHUP/SIGINT no one handles yet (the session's own end it). term_close is
 * idempotent. Both return 0, or -1 with one sentence in err. */
int term_init(char *err, size_t errlen);
int term_open(char *err, size_t errlen);
void term_close(void);
int term_input_fd(void);
/* Window size; -1 when the terminal does not say. */
int term_size(int *cols, int *rows);
/* 1 once after each SIGWINCH (the handler only sets a flag). */
int term_resized(void);
/* Reads what the keyboard has sent: bytes read (0 = end of input), or -1
 * when nothing is pending. Then term_key() returns decoded keys one by one
 * until KEY_NONE. */
int term_read(void);
int term_key(void);
/* Pure: the bytes that turn a terminal showing `old` (NULL: unknown, so
 * redraw everything) into `s`, as one synchronized update. Caller frees. */
char *term_encode(const struct screen *s, const struct screen *old, int color, size_t *len);
/* Writes all of buf (one write() unless the kernel takes less). 0 or -1. */
int term_write(const char *buf, size_t len);
/* Copies text to the clipboard with OSC 52 (wrapped for tmux when $TMUX
 * is set). 0 or -1. */
int term_copy(const char *text);
/* Locale and environment: UTF-8 from LC_ALL / LC_CTYPE / LANG (first one
 * set); colour unless NO_COLOR is set and not empty. */
int term_locale_utf8(void);
int term_color(void);

/* The interactive UI (ui/tui.c). The live path:
 *   t = tui_new(err) before session_run; pass .on_attached = tui_attached,
 *   .on_tick = tui_on_tick, .input_fd = tui_input_fd(t),
 *   .on_input = tui_on_input, .ctx = t; after session_run returns call
 *   tui_close(t) before printing anything, then tui_error(t) says whether
 *   the terminal failed. */
struct tui;
struct tui *tui_new(char *err, size_t errlen);  /* NULL when there is no keyboard */
void tui_attached(void *ctx);                   /* enters the full-screen UI */
int tui_on_tick(void *ctx, struct model *m);    /* redraws when changed; 1 = quit */
int tui_on_input(void *ctx, struct model *m);   /* handles keys; 1 = quit */
int tui_input_fd(const struct tui *t);
/* For a finished model (replay): opens the UI, runs its own key loop until
 * the user quits (q, Ctrl-C, end of input, SIGTERM/SIGHUP), restores the
 * terminal. Returns 0, or -1 when the terminal could not be set up (see
 * tui_error). The model must not change meanwhile. */
int tui_run_static(struct tui *t, struct model *m);
void tui_close(struct tui *t);                  /* restores the terminal; idempotent */
const char *tui_error(const struct tui *t);     /* "" when all went well */
void tui_free(struct tui *t);                   /* closes too */

#endif
