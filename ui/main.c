/* main.c — hud's command line: parse and check the options (everything that
 * can be refused is refused before anything is attached), then run a
 * session, write the exports and print the summary; or replay a trace, or
 * compare two. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dwarf/dwarf.h"
#include "loader/loader.h"
#include "ui/ui.h"

#define MAX_EXPORTS 8

struct options {
	int pid;
	const char *name;
	const char *target;
	const char *exports[MAX_EXPORTS];
	int nexports;
	const char *replay;
	const char *diff;
	double tolerance_pct;
	double window_s;
	const char *workers;
	const char *resolve;
	double threshold_ms;
	double duration_s;
	int freq;
	int headless;
	int ringbuf_kb;
	int no_epoll_count;
};

static void usage(FILE *f)
{
	fputs("usage: hud --pid PID [--target BIN] [options]\n"
	      "       hud NAME [options]            profile the process called NAME\n"
	      "       hud --replay FILE.json [--headless] [--window SECS] [--export FILE]\n"
	      "       hud --diff BEFORE.json AFTER.json [--tolerance PCT]\n"
	      "       hud --resolve BIN < addresses  print what addr2line -a -f -i -C would\n"
	      "\n"
	      "  -p, --pid PID          process to profile\n"
	      "  -t, --target BIN       its executable, for symbols (default /proc/PID/exe)\n"
	      "      --headless         no terminal UI: profile, then print a summary\n"
	      "  -e, --export FILE      write FILE, by its name: .json Chrome trace (Perfetto;\n"
	      "                         hud --replay), .folded collapsed stacks, .pb.gz pprof;\n"
	      "                         strftime patterns (%Y%m%d-%H%M) allowed; repeatable\n"
	      "  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C or exit)\n"
	      "      --threshold MS     report blocking longer than MS milliseconds (default 5)\n"
	      "      --freq HZ          CPU samples per second and CPU (default 99, at most 50000)\n"
	      "      --workers PREFIX   worker threads are those whose name starts with PREFIX\n"
	      "                         (default: Tokio's tokio-runtime-w / tokio-rt-worker)\n"
	      "      --window SECS      utilisation window of the workers (default 10)\n"
	      "      --ringbuf-kb KB    size of the kernel-to-hud rings, a power of two\n"
	      "                         (default 1024, more at a high --freq: ~1 s of samples);\n"
	      "                         more if the summary shows lost events\n"
	      "      --no-epoll-count   do not count epoll_wait calls: spares every system call\n"
	      "                         of the machine the syscall tracepoints' slower entry,\n"
	      "                         but where hud cannot read Tokio's scheduler tick, a task\n"
	      "                         that yields often can show as a cpu block (hud stops\n"
	      "                         counting by itself once every poll reads the tick)\n"
	      "      --replay FILE      show a trace written by --export FILE.json (no root needed)\n"
	      "      --diff BEFORE AFTER  compare the culprits of two traces; exit 1 on a regression\n"
	      "      --tolerance PCT    --diff: allowed growth of total blocking time (default 10)\n"
	      "      --resolve BIN      symbolize addresses of BIN read from stdin\n"
	      "      --check-kernel     load and attach hud's programs and profile hud itself briefly:\n"
	      "                         does hud work on this kernel?\n"
	      "  -V, --version          print the version\n"
	      "  -h, --help             print this help\n", f);
}

#ifndef HUD_BUILD_LIBS
#define HUD_BUILD_LIBS "unknown (not built by build.sh)"
#endif

static const char *feature_word(int f)
{
	return f == FEATURE_YES ? "yes" : f == FEATURE_NO ? "MISSING" : "unknown (needs root to probe)";
}

/* The version, what this kernel offers hud, and what hud was built from. */
static void print_version(void)
{
	struct loader_features f;

	loader_features(&f);
	printf("hud %s\n"
	       "kernel %s: BPF ring buffer %s; perf events %s; tracepoints (sched_switch, sched_wakeup) %s; BTF %s\n"
	       "built with libdwarf %s, %s\n",
	       HUD_VERSION, f.release, feature_word(f.ringbuf), feature_word(f.perf_events),
	       feature_word(f.tracepoints), feature_word(f.btf), sym_libdwarf_version(), HUD_BUILD_LIBS);
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Prints a message to stderr with every line made safe for a terminal:
 * messages quote paths, names and options hud did not choose, so control
 * bytes, escape sequences and invalid UTF-8 in them are shown escaped
 * (text_sanitize), never sent raw. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char msg[4096], line[4096 * 4 + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		text_sanitize(p, line, sizeof(line));
		fputs(line, stderr);
		if (!nl)
			break;
		fputc('\n', stderr);
	}
}

/* /proc/PID/NAME's first len - 1 bytes into buf, NUL-terminated: their
 * count, 0 when it cannot be read. */
static size_t read_proc(int pid, const char *name, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, len - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	return n;
}

/* pid's state (the 3rd field of /proc/PID/stat, after the name in
 * parentheses: 'R', 'S', 'T', 'Z', ...) and its flags (the 9th); 0 when
 * it cannot be read. */
static char process_state(int pid, unsigned long *flags)
{
	char buf[1024];
	read_proc(pid, "stat", buf, sizeof(buf));
	const char *p = strrchr(buf, ')');
	char state;
	unsigned long fl;
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &fl) != 2)
		return 0;
	if (flags)
		*flags = fl;
	return state;
}

/* Why pid, which exists, is no program to profile (a kernel thread, a
 * zombie), or NULL. */
static const char *unprofilable(int pid)
{
	unsigned long flags = 0;
	char state = process_state(pid, &flags);
	if (flags & 0x00200000)         /* PF_KTHREAD */
		return "is a kernel thread; hud profiles programs (give the pid of a Tokio application)";
	if (state == 'Z' || state == 'X')
		return "has exited (its parent has not reaped it yet); there is nothing to profile";
	return NULL;
}

/* The process a thread id belongs to (its Tgid in /proc/ID/status): a
 * worker's id, as htop lists threads, is no process; id itself when it is
 * one, or cannot be read. */
static int process_of(int id)
{
	char buf[4096];
	int tgid = id;
	read_proc(id, "status", buf, sizeof(buf));
	const char *line = strstr(buf, "\nTgid:");
	if (line)
		sscanf(line, "\nTgid: %d", &tgid);
	return tgid > 0 ? tgid : id;
}

static int fail(const char *msg)
{
	say("%s\n", msg);
	return 1;
}

/* ---- hud --check-kernel -------------------------------------------------- */

static int privileged(void);

struct check_seen {
	uint32_t tid;
	int samples, offcpu;
};

static int check_record(void *ctx, const void *data, size_t len)
{
	struct check_seen *c = ctx;
	uint32_t kind, tid;

	if (len < 8)
		return 0;
	memcpy(&kind, data, 4);
	memcpy(&tid, (const char *)data + 4, 4);
	if (tid == c->tid) {
		c->samples += kind == HUD_EV_SAMPLE;
		c->offcpu += kind == HUD_EV_OFFCPU;
	}
	return 0;
}

/* One line: what verifying each program cost (most of hud's start-up). */
static void say_load_costs(const struct bpf_obj *o)
{
	uint64_t total_ns = 0, ns;
	uint32_t insns;

	printf("hud: verified");
	for (int i = 0; loader_prog_cost(o, i, &insns, &ns) == 0; i++) {
		const char *section = loader_prog_section(o, i), *slash = strrchr(section, '/');
		const char *name = strcmp(section, "perf_event") == 0 ? "the sampler" : slash ? slash + 1 : section;
		printf("%s %s in %.1f ms (%u instructions walked)", i ? "," : "", name, ns / 1e6, insns);
		total_ns += ns;
	}
	printf("; %.1f ms in all\n", total_ns / 1e6);
}

/* Loads and attaches hud's programs on this kernel and profiles hud itself
 * for a moment: answers "does hud work here?" without a target (and is how
 * the test on other kernels checks them). 0 when everything worked. */
static int check_kernel(void)
{
	struct loader_features kf;
	struct check_seen seen = { 0, 0, 0 };
	char err[2048];
	struct ringbuf *rb = NULL;
	struct sample_rings *sr = NULL;
	int rc = 1;

	if (!privileged())
		return fail("hud: needs root or CAP_BPF+CAP_PERFMON to load BPF programs and open perf events; run with sudo");
	loader_features(&kf);
	if (loader_check_features(&kf, err, sizeof(err)) < 0)
		return fail(err);
	struct bpf_obj *o = loader_open(err, sizeof(err));
	if (!o)
		return fail(err);
	seen.tid = (uint32_t)syscall(SYS_gettid);
	struct hud_config cfg = { .tgid = (uint32_t)getpid(), .threshold_ns = 1000000 };
	if (loader_configure(o, &cfg, err, sizeof(err)) < 0 || loader_thread_add(o, seen.tid, 0) < 0 ||
	    !(rb = ringbuf_open(loader_map_fd(o, "events"), err, sizeof(err))) ||
	    !(sr = sample_rings_open(o, err, sizeof(err))) ||
	    loader_attach(o, 999, 1, err, sizeof(err)) < 0) {
		if (!err[0])
			snprintf(err, sizeof(err), "hud: registering a thread in the BPF map failed");
		say("%s\n", err);
		goto out;
	}
	/* 200 ms on CPU (samples), then 20 ms asleep (one off-CPU stretch). */
	volatile uint64_t x = 1;
	for (uint64_t end = now_ns() + 200000000ull; now_ns() < end;)
		x = x * 6364136223846793005ull + 1;
	usleep(20000);
	for (int i = 0; i < 5; i++) {
		ringbuf_poll(rb, 20, check_record, &seen);
		sample_rings_drain(sr, check_record, &seen);
	}
	if (seen.samples > 0 && seen.offcpu > 0) {
		char clock[96] = "always read with bpf_ktime_get_ns";
		if (loader_tick_ns(o))
			snprintf(clock, sizeof(clock), "first ruled out on the run queue's clock (tick %.1f ms)",
				 (double)loader_tick_ns(o) / 1e6);
		printf("hud: this kernel runs hud's programs: %d programs loaded and attached, %d samples and %d "
		       "off-CPU events of hud itself; user registers read %s; short stretches %s; epoll_wait calls %s; "
		       "waits for a CPU %s; wakeups %s; read and write calls %s\n",
		       loader_prog_count(o), seen.samples, seen.offcpu,
		       loader_shortcuts(o) & LOADER_REGS_IN_PLACE ? "in place" : "through bpf_task_pt_regs", clock,
		       loader_counts_epoll_waits(o) ? "counted (polls of one task told apart)" :
		       "not counted (no syscall tracepoints: polls of one task in a row can look like one)",
		       loader_shortcuts(o) & LOADER_RUN_DELAY ? "read by the sampler (preempted polls timed on CPU)" :
		       "not read (no sched_info: a poll's short waits for a CPU count as its time)",
		       loader_shortcuts(o) & LOADER_WAKE_QUEUED ? "read from the tasks (no sched_wakeup program)" :
		       "marked by a sched_wakeup program (it runs at every wakeup of the machine)",
		       loader_shortcuts(o) & LOADER_IO_CALLS ? "counted (one call's sleeps joined)" :
		       "not counted (no task I/O accounting: a read or write that sleeps often is several blocks)");
		say_load_costs(o);
		rc = 0;
	} else {
		say("hud: the programs loaded and attached but reported %d samples and %d off-CPU events of hud "
		    "itself; this kernel does not run them as expected\n", seen.samples, seen.offcpu);
	}
out:
	ringbuf_close(rb);
	sample_rings_close(sr);
	loader_close(o);
	return rc;
}

static int parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "target", required_argument, NULL, 't' },
		{ "headless", no_argument, NULL, 'H' },
		{ "export", required_argument, NULL, 'e' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threshold", required_argument, NULL, 'T' },
		{ "freq", required_argument, NULL, 'f' },
		{ "workers", required_argument, NULL, 'w' },
		{ "resolve", required_argument, NULL, 'R' },
		{ "replay", required_argument, NULL, 'P' },
		{ "diff", required_argument, NULL, 'D' },
		{ "tolerance", required_argument, NULL, 'O' },
		{ "window", required_argument, NULL, 'W' },
		{ "ringbuf-kb", required_argument, NULL, 'B' },
		{ "no-epoll-count", no_argument, NULL, 'E' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-kernel", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	o->threshold_ms = 5;
	o->freq = 99;
	o->tolerance_pct = 10;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:t:e:d:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_number(optarg, 1, 4194304, &v) < 0 || v != (int)v)
				return say("hud: --pid takes a process id, not '%s'\n", optarg), -1;
			o->pid = (int)v;
			break;
		case 't': o->target = optarg; break;
		case 'H': o->headless = 1; break;
		case 'E': o->no_epoll_count = 1; break;
		case 'e':
			if (o->nexports == MAX_EXPORTS)
				return say("hud: at most %d --export files per run\n", MAX_EXPORTS), -1;
			o->exports[o->nexports++] = optarg;
			break;
		case 'P': o->replay = optarg; break;
		case 'D': o->diff = optarg; break;
		case 'O':
			if (parse_number(optarg, 0, 1000000, &o->tolerance_pct) < 0)
				return say("hud: --tolerance takes a percentage (0 or more), not '%s'\n", optarg), -1;
			break;
		case 'W':
			if (parse_number(optarg, 0.1, 60, &o->window_s) < 0)
				return say("hud: --window takes seconds (0.1 to 60, what the timeline keeps), not '%s'\n", optarg), -1;
			break;
		case 'w':
			if (!*optarg)
				return say("hud: --workers takes a thread-name prefix (like tokio-runtime-w)\n"), -1;
			o->workers = optarg;
			if (strlen(optarg) > 15) {
				/* Linux keeps 15 characters of a thread's name. */
				static char cut[16];
				snprintf(cut, sizeof(cut), "%.15s", optarg);
				o->workers = cut;
				say("hud: thread names are at most 15 characters long: --workers matches thread names "
				    "starting with %s\n", cut);
			}
			break;
		case 'R': o->resolve = optarg; break;
		case 'd':
			if (parse_number(optarg, 0.1, 31536000, &o->duration_s) < 0)
				return say("hud: --duration takes seconds (0.1 or more), not '%s'\n", optarg), -1;
			break;
		case 'T':
			if (parse_number(optarg, 0.01, 60000, &o->threshold_ms) < 0)
				return say("hud: --threshold takes milliseconds (0.01 to 60000), not '%s'\n", optarg), -1;
			break;
		case 'f':
			if (parse_number(optarg, 1, 50000, &v) < 0)
				return say("hud: --freq takes samples per second (1 to 50000), not '%s'\n", optarg), -1;
			o->freq = (int)v;
			break;
		case 'B':
			if (parse_number(optarg, 4, 1048576, &v) < 0 || v != (int)v || ((int)v & ((int)v - 1)))
				return say("hud: --ringbuf-kb takes a power of two from 4 to 1048576 (KiB), not '%s'\n",
					       optarg), -1;
			o->ringbuf_kb = (int)v;
			break;
		case 'V':
			print_version();
			exit(0);
		case 'K':
			exit(check_kernel());
		case 'h':
			usage(stdout);
			exit(0);
		default:
			say("hud: unknown or incomplete option '%s'; see hud --help\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc)
		o->name = argv[optind++];
	if (optind < argc) {
		say("hud: unexpected argument '%s'; see hud --help\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* comm keeps 15 bytes of a name: a longer name is the one its executable
 * or its argv[0] has (so that "my-very-long-ser" is not taken for
 * "my-very-long-service"). */
static int long_name_matches(int pid, const char *name)
{
	char path[64], buf[4096];
	if (strlen(name) <= 15)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		size_t len = strlen(buf), tail = strlen(" (deleted)");
		if (len > tail && strcmp(buf + len - tail, " (deleted)") == 0)
			buf[len - tail] = 0;
		const char *base = strrchr(buf, '/');
		if (strcmp(base ? base + 1 : buf, name) == 0)
			return 1;
	}
	size_t got = read_proc(pid, "cmdline", buf, sizeof(buf));
	const char *base = strrchr(buf, '/');
	return got && strcmp(base ? base + 1 : buf, name) == 0;
}

/* pid's comm, without its newline; "" when it cannot be read. */
static void read_comm(int pid, char *out, size_t len)
{
	read_proc(pid, "comm", out, len);
	out[strcspn(out, "\n")] = 0;
}

/* The pid of the process whose comm or command name is `name`; 0 when none,
 * -1 (after saying so) when several match. */
static int find_by_name(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0, count = 0;
	char pids[200] = "";
	size_t used = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char comm[64];
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == getpid())
			continue;
		read_comm(pid, comm, sizeof(comm));
		if (!comm[0])
			continue;
		/* comm is cut to 15 bytes; compare what it keeps. */
		char state = process_state(pid, NULL);
		if ((strcmp(comm, name) == 0 || (strlen(comm) == 15 && strncmp(comm, name, 15) == 0 &&
						  long_name_matches(pid, name))) &&
		    state != 'Z' && state != 'X') {
			found = pid;
			count++;
			int w = snprintf(pids + used, sizeof(pids) - used, "%s%d", used ? ", " : "", pid);
			if (w > 0 && (size_t)w < sizeof(pids) - used)
				used += (size_t)w;
		}
	}
	closedir(d);
	if (count > 1) {
		say("hud: %d processes are called %s (pids %s%s); pick one with --pid\n", count, name, pids,
		    used + 16 >= sizeof(pids) ? ", ..." : "");
		return -1;
	}
	return found;
}

/* Root, or CAP_BPF and CAP_PERFMON (kernels from 5.8 split them out of
 * CAP_SYS_ADMIN). Checked up front so the user hears which privilege is
 * missing instead of an errno from deep inside the loader. */
static int privileged(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (geteuid() == 0)
		return 1;
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	uint64_t eff = d[0].effective | ((uint64_t)d[1].effective << 32);
	return (eff >> 39 & 1) && (eff >> 38 & 1);  /* CAP_BPF, CAP_PERFMON */
}

static void note_attached(void *ctx)
{
	const struct model *m = ctx;
	char comm[64];
	text_sanitize(m->info.comm, comm, sizeof(comm));
	say("hud: profiling pid %d (%s); Ctrl-C to stop\n", m->info.pid, comm);
}

/* ---- Exports ------------------------------------------------------------- */

struct exports {
	char path[MAX_EXPORTS][4096];
	enum export_format format[MAX_EXPORTS];
	int n;
	int chrome;             /* index of the Chrome trace, -1 */
};

/* Expands the export names (one time for all, so a cron job's files match)
 * and checks each can be written, before anything is attached. */
static int exports_prepare(const struct options *o, struct exports *x, int replay)
{
	time_t now = time(NULL);
	char err[2048], tmp[4200];

	x->n = 0;
	x->chrome = -1;
	for (int i = 0; i < o->nexports; i++) {
		char *p = x->path[x->n];
		if (export_name(o->exports[i], now, p, sizeof(x->path[0])) < 0 || !*p)
			return say("hud: the export name %s is empty or too long once its date patterns are filled in\n",
				       o->exports[i]), -1;
		for (int k = 0; k < x->n; k++)
			if (strcmp(x->path[k], p) == 0)
				return say("hud: --export %s is given twice\n", p), -1;
		struct stat st;
		if ((stat(p, &st) == 0 && S_ISDIR(st.st_mode)) || p[strlen(p) - 1] == '/')
			return say("hud: --export %s is a directory; give a file name in it (%s%strace.json, say)\n", p,
				   p, p[strlen(p) - 1] == '/' ? "" : "/"), -1;
		x->format[x->n] = export_format_of(p);
		if (x->format[x->n] == EXPORT_CHROME && !replay && !export_format_named(p))
			say("hud: %s ends in none of .json, .folded, .pb.gz: it is written as a Chrome trace (JSON)\n", p);
		if (x->format[x->n] == EXPORT_CHROME) {
			if (replay)
				return say("hud: --replay writes only .folded and .pb.gz exports; the trace it reads is "
					       "already the Chrome trace\n"), -1;
			if (x->chrome >= 0)
				return say("hud: one .json export per run (%s and %s)\n", x->path[x->chrome], p), -1;
			x->chrome = x->n;
		} else {
			/* Written at the end; a path that cannot be written fails now. */
			int fd = export_tmp_open(p, "hud-tmp", tmp, sizeof(tmp), err, sizeof(err));
			if (fd < 0)
				return say("%s\n", err), -1;
			close(fd);
			unlink(tmp);
		}
		x->n++;
	}
	return 0;
}

/* Writes the exports made from the final model (all but the Chrome trace). */
static int exports_finish(const struct exports *x, const struct model *m)
{
	char err[2048];
	int rc = 0;

	for (int i = 0; i < x->n; i++) {
		int r;
		if (x->format[i] == EXPORT_FOLDED)
			r = folded_write(x->path[i], m, err, sizeof(err));
		else if (x->format[i] == EXPORT_PPROF)
			r = pprof_write(x->path[i], m, err, sizeof(err));
		else
			continue;
		if (r < 0) {
			say("%s\n", err);
			rc = 1;
		} else {
			say("hud: wrote %s\n", x->path[i]);
		}
	}
	return rc;
}

/* Headless runs stream the Chrome trace's checkpoints from the session tick. */
static struct chrome_writer *tick_writer;

static int headless_tick(void *ctx, struct model *m)
{
	(void)ctx;
	chrome_tick(tick_writer, m);
	return 0;
}

/* With the UI on, the same tick also redraws it (ctx is the UI). */
static int ui_tick(void *ctx, struct model *m)
{
	chrome_tick(tick_writer, m);
	return tui_on_tick(ctx, m);
}

/* ---- Replay and diff ---------------------------------------------------------- */

static int run_replay(const struct options *o)
{
	struct exports x;
	char err[2048], name[1024];
	int cut, rc;

	if (o->pid || o->name || o->diff)
		return fail("hud: --replay reads a trace file; it takes no process (--pid, NAME) and no --diff");
	if (exports_prepare(o, &x, 1) < 0)
		return 1;
	struct model *m = replay_load(o->replay, &cut, err, sizeof(err));
	if (!m)
		return fail(err);
	if (o->window_s > 0)
		m->info.window_ns = (uint64_t)(o->window_s * 1e9);
	text_sanitize(o->replay, name, sizeof(name));
	if (cut)
		say("hud: %s was cut short (the hud that wrote it did not finish it: killed, or the machine or disk failed); "
			"replaying the %llu blocking events and %llu samples written before its last flush\n",
			name, (unsigned long long)m->info.events, (unsigned long long)m->info.samples);
	rc = exports_finish(&x, m);
	if (o->headless) {
		summary_print(stdout, m, 10);
	} else if (!isatty(STDOUT_FILENO)) {
		rc = fail("hud: stdout is not a terminal; add --headless to print the replayed trace's summary");
	} else {
		struct tui *t = tui_new(err, sizeof(err));
		if (!t) {
			rc = fail(err);
		} else {
			if (tui_run_static(t, m) < 0)
				rc = 1;
			tui_close(t);
			if (tui_error(t)[0])
				say("%s\n", tui_error(t));
			else
				summary_print(stdout, m, 10);   /* as a live run ends */
			tui_free(t);
		}
	}
	model_free(m);
	return rc;
}

static int run_diff(const struct options *o)
{
	char err[2048];

	if (!o->name)
		return say("hud: --diff takes two traces: --diff BEFORE.json AFTER.json\n"), 2;
	if (o->pid || o->nexports)
		return say("hud: --diff compares two trace files; it takes no --pid and no --export\n"), 2;
	int rc = diff_run(stdout, o->diff, o->name, o->tolerance_pct, err, sizeof(err));
	if (rc == 2)
		say("%s\n", err);
	return rc;
}

/* --resolve. The file is not closed: the process's exit gives its memory
 * back in one piece, where closing it first, block by block, took 5% of a
 * run on 20,000 addresses. */
static int run_resolve(const char *binary)
{
	static struct sym_file *f;      /* static: still reachable at exit */
	char err[2048], why[1024];

	f = sym_file_open(binary, why, sizeof(why));
	if (!f)
		return say("hud: --resolve: %s\n", why), 1;
	if (sym_resolve_stream(f, stdin, stdout, err, sizeof(err)) < 0)
		return fail(err);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[2048];

	if (parse(argc, argv, &o) < 0)
		return 2;
	if (o.resolve)
		return run_resolve(o.resolve);
	if (o.diff)
		return run_diff(&o);
	if (o.replay)
		return run_replay(&o);
	if (o.pid && o.name && strspn(o.name, "0123456789") == strlen(o.name))
		return say("hud: --pid takes one pid, and %s is another (pgrep matched several processes?): "
			   "pick one, e.g. the oldest with --pid $(pgrep -o NAME)\n", o.name), 2;
	if (o.pid && o.name)
		return say("hud: give --pid or a process name, not both (%s is left over)\n", o.name), 2;
	if (o.name) {
		o.pid = find_by_name(o.name);
		if (o.pid < 0)
			return 1;
		if (!o.pid)
			return say("hud: no process is called %s; give its pid with --pid\n", o.name), 1;
	}
	if (!o.pid) {
		usage(stderr);
		return 2;
	}
	/* A stop request (Ctrl-C, SIGTERM, SIGHUP) that comes while hud starts
	 * must still end in a complete export, not kill hud half-way: held
	 * until session_run() installs its handlers and releases them. */
	sigset_t stops;
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	sigprocmask(SIG_BLOCK, &stops, NULL);
	if (kill(o.pid, 0) < 0 && errno == ESRCH)
		return say("hud: no process with pid %d\n", o.pid), 1;
	int process = process_of(o.pid);
	if (process != o.pid) {
		say("hud: %d is a thread of process %d; profiling the process\n", o.pid, process);
		o.pid = process;
	}
	const char *why = unprofilable(o.pid);
	if (why)
		return say("hud: process %d %s\n", o.pid, why), 1;
	/* The UI needs a terminal to draw on; escape codes into a file or a
	 * pipe would be garbage, so say what works instead. */
	if (!o.headless && !isatty(STDOUT_FILENO))
		return fail("hud: stdout is not a terminal; use --headless (and --export FILE) to profile without the UI");
	if (!privileged())
		return fail("hud: needs root or CAP_BPF+CAP_PERFMON to load BPF programs and open perf events; run with sudo");
	struct loader_features kf;
	loader_features(&kf);
	if (loader_check_features(&kf, err, sizeof(err)) < 0)
		return fail(err);
	if (o.ringbuf_kb) {
		loader_set_ringbuf_bytes((uint32_t)o.ringbuf_kb * 1024u);
	} else {
		loader_set_ringbuf_bytes(loader_ringbuf_size(o.freq, sysconf(_SC_NPROCESSORS_ONLN),
							     sysconf(_SC_NPROCESSORS_CONF)));
	}

	struct model *m = model_new();
	m->info.pid = o.pid;
	m->info.freq = o.freq;
	m->info.threshold_ns = (uint64_t)(o.threshold_ms * 1e6);
	read_comm(o.pid, m->info.comm, sizeof(m->info.comm));
	char state = process_state(o.pid, NULL);
	if (state == 'T' || state == 't') {
		/* Stopped, its threads run nothing: no block would show, and
		 * "none" would read as a healthy process. */
		char text[256];
		snprintf(text, sizeof(text), "process %d is stopped (%s): its threads run nothing until it is "
			 "continued (kill -CONT %d)", o.pid, state == 't' ? "by a debugger" : "SIGSTOP, or Ctrl-Z",
			 o.pid);
		say("hud: warning: %s\n", text);
		model_warn(m, text);
	}
	if (o.target) {
		snprintf(m->info.target, sizeof(m->info.target), "%s", o.target);
	} else {
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/exe", o.pid);
		ssize_t n = readlink(link, m->info.target, sizeof(m->info.target) - 1);
		m->info.target[n > 0 ? n : 0] = 0;
	}
	if (o.target && access(o.target, R_OK) < 0) {
		say("hud: cannot read the target %s: %s\n", o.target, strerror(errno));
		model_free(m);
		return 1;
	}

	if (o.window_s > 0)
		m->info.window_ns = (uint64_t)(o.window_s * 1e9);

	/* The exports are opened first: an unwritable path fails before attaching. */
	struct chrome_writer *cw = NULL;
	struct exports x;
	if (exports_prepare(&o, &x, 0) < 0) {
		model_free(m);
		return 1;
	}
	if (x.chrome >= 0) {
		if (!(cw = chrome_open(x.path[x.chrome], err, sizeof(err)))) {
			model_free(m);
			return fail(err);
		}
		chrome_attach(cw, m);
	}

	struct session_opts so = {
		.pid = o.pid, .target = o.target, .workers_prefix = o.workers,
		.threshold_ns = m->info.threshold_ns, .duration_ns = (uint64_t)(o.duration_s * 1e9),
		.freq = o.freq, .no_epoll_count = o.no_epoll_count, .on_attached = note_attached, .input_fd = -1, .ctx = m,
		.on_tick = headless_tick,
	};
	tick_writer = cw;
	/* The live UI: the terminal turns full-screen once everything is
	 * attached (errors and warnings before that stay readable), the
	 * session drives it, and it is closed before anything is printed. */
	struct tui *tui = NULL;
	if (!o.headless) {
		if (!(tui = tui_new(err, sizeof(err)))) {
			chrome_abort(cw);
			model_free(m);
			return fail(err);
		}
		so.on_attached = tui_attached;
		so.on_tick = ui_tick;
		so.on_input = tui_on_input;
		so.input_fd = tui_input_fd(tui);
		so.ctx = tui;
	}
	int session_rc = session_run(&so, m, err, sizeof(err));
	tui_close(tui);
	if (tui && tui_error(tui)[0] && session_rc == 0)
		say("%s\n", tui_error(tui));
	tui_free(tui);
	if (session_rc < 0) {
		chrome_abort(cw);
		model_free(m);
		return fail(err);
	}
	int rc = 0;
	if (cw) {
		if (chrome_finish(cw, m, err, sizeof(err)) < 0) {
			say("%s\n", err);
			rc = 1;
		} else {
			say("hud: wrote %s\n", x.path[x.chrome]);
		}
	}
	if (exports_finish(&x, m))
		rc = 1;
	summary_print(stdout, m, 10);
	model_free(m);
	return rc;
}
