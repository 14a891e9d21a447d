/* main.c — hud's command line: parse and check the options (everything that
 * can be refused is refused before anything is attached), then run a
 * session, write the export and print the summary. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "dwarf/dwarf.h"
#include "loader/loader.h"
#include "ui/ui.h"

struct options {
	int pid;
	const char *name;
	const char *target;
	const char *export_path;
	const char *workers;
	const char *resolve;
	double threshold_ms;
	double duration_s;
	int freq;
	int headless;
};

static void usage(FILE *f)
{
	fputs("usage: hud --pid PID [--target BIN] [options]\n"
	      "       hud NAME [options]            profile the process called NAME\n"
	      "       hud --resolve BIN < addresses  print what addr2line -a -f -i -C would\n"
	      "\n"
	      "  -p, --pid PID          process to profile\n"
	      "  -t, --target BIN       its executable, for symbols (default /proc/PID/exe)\n"
	      "      --headless         no terminal UI: profile, then print a summary\n"
	      "  -e, --export FILE      write a Chrome trace (Perfetto, chrome://tracing)\n"
	      "  -d, --duration SECS    stop after SECS seconds (default: until Ctrl-C or exit)\n"
	      "      --threshold MS     report blocking longer than MS milliseconds (default 5)\n"
	      "      --freq HZ          CPU samples per second and CPU (default 99)\n"
	      "      --workers PREFIX   worker threads are those whose name starts with PREFIX\n"
	      "                         (default: Tokio's tokio-runtime-w / tokio-rt-worker)\n"
	      "      --resolve BIN      symbolize addresses of BIN read from stdin\n"
	      "  -V, --version          print the version\n"
	      "  -h, --help             print this help\n", f);
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

static int fail(const char *msg)
{
	fprintf(stderr, "%s\n", msg);
	return 1;
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
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	o->threshold_ms = 5;
	o->freq = 99;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:t:e:d:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_number(optarg, 1, 4194304, &v) < 0 || v != (int)v)
				return fprintf(stderr, "hud: --pid takes a process id, not '%s'\n", optarg), -1;
			o->pid = (int)v;
			break;
		case 't': o->target = optarg; break;
		case 'H': o->headless = 1; break;
		case 'e': o->export_path = optarg; break;
		case 'w':
			if (!*optarg || strlen(optarg) > 15)
				return fprintf(stderr, "hud: --workers takes a thread-name prefix of 1 to 15 characters\n"), -1;
			o->workers = optarg;
			break;
		case 'R': o->resolve = optarg; break;
		case 'd':
			if (parse_number(optarg, 0.1, 31536000, &o->duration_s) < 0)
				return fprintf(stderr, "hud: --duration takes seconds (0.1 or more), not '%s'\n", optarg), -1;
			break;
		case 'T':
			if (parse_number(optarg, 0.01, 60000, &o->threshold_ms) < 0)
				return fprintf(stderr, "hud: --threshold takes milliseconds (0.01 to 60000), not '%s'\n", optarg), -1;
			break;
		case 'f':
			if (parse_number(optarg, 1, 10000, &v) < 0)
				return fprintf(stderr, "hud: --freq takes samples per second (1 to 10000), not '%s'\n", optarg), -1;
			o->freq = (int)v;
			break;
		case 'V':
			printf("hud %s\n", HUD_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "hud: unknown or incomplete option '%s'; see hud --help\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc)
		o->name = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "hud: unexpected argument '%s'; see hud --help\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* The pid of the process whose comm or command name is `name`; 0 when none,
 * -1 (after saying so) when several match. */
static int find_by_name(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0, count = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[300], comm[64];
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int pid = atoi(e->d_name);
		if (pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = 0;
			/* comm is cut to 15 bytes; compare what it keeps. */
			if (strcmp(comm, name) == 0 || (strlen(comm) == 15 && strncmp(comm, name, 15) == 0)) {
				found = pid;
				count++;
			}
		}
		fclose(f);
	}
	closedir(d);
	if (count > 1) {
		fprintf(stderr, "hud: %d processes are called %s; pick one with --pid\n", count, name);
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

static void read_comm(int pid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	FILE *f = fopen(path, "re");
	out[0] = 0;
	if (f) {
		if (fgets(out, (int)len, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
}

static void note_attached(void *ctx)
{
	const struct model *m = ctx;
	char comm[64];
	text_sanitize(m->info.comm, comm, sizeof(comm));
	fprintf(stderr, "hud: profiling pid %d (%s); Ctrl-C to stop\n", m->info.pid, comm);
}

int main(int argc, char **argv)
{
	struct options o;
	char err[2048];

	if (parse(argc, argv, &o) < 0)
		return 2;
	if (o.resolve) {
		if (sym_resolve_stream(o.resolve, stdin, stdout, err, sizeof(err)) < 0)
			return fail(err);
		return 0;
	}
	if (!o.pid && o.name) {
		o.pid = find_by_name(o.name);
		if (o.pid < 0)
			return 1;
		if (!o.pid)
			return fprintf(stderr, "hud: no process is called %s; give its pid with --pid\n", o.name), 1;
	}
	if (!o.pid) {
		usage(stderr);
		return 2;
	}
	if (kill(o.pid, 0) < 0 && errno == ESRCH)
		return fprintf(stderr, "hud: no process with pid %d\n", o.pid), 1;
	if (!o.headless)
		return fail("hud: the live terminal UI is not in this build yet; run with --headless "
			    "(and --export FILE to keep a trace)");
	if (!privileged())
		return fail("hud: needs root or CAP_BPF+CAP_PERFMON to load BPF programs and open perf events; run with sudo");

	struct model *m = model_new();
	m->info.pid = o.pid;
	m->info.freq = o.freq;
	m->info.threshold_ns = (uint64_t)(o.threshold_ms * 1e6);
	read_comm(o.pid, m->info.comm, sizeof(m->info.comm));
	if (o.target) {
		snprintf(m->info.target, sizeof(m->info.target), "%s", o.target);
	} else {
		char link[64];
		snprintf(link, sizeof(link), "/proc/%d/exe", o.pid);
		ssize_t n = readlink(link, m->info.target, sizeof(m->info.target) - 1);
		m->info.target[n > 0 ? n : 0] = 0;
	}
	if (o.target && access(o.target, R_OK) < 0) {
		fprintf(stderr, "hud: cannot read the target %s: %s\n", o.target, strerror(errno));
		model_free(m);
		return 1;
	}

	/* The export is opened first: an unwritable path fails before attaching. */
	struct chrome_writer *cw = NULL;
	if (o.export_path) {
		if (!(cw = chrome_open(o.export_path, err, sizeof(err)))) {
			model_free(m);
			return fail(err);
		}
		chrome_attach(cw, m);
	}

	struct session_opts so = {
		.pid = o.pid, .target = o.target, .workers_prefix = o.workers,
		.threshold_ns = m->info.threshold_ns, .duration_ns = (uint64_t)(o.duration_s * 1e9),
		.freq = o.freq, .on_attached = note_attached, .input_fd = -1, .ctx = m,
	};
	if (session_run(&so, m, err, sizeof(err)) < 0) {
		chrome_abort(cw);
		model_free(m);
		return fail(err);
	}
	int rc = 0;
	if (cw) {
		if (chrome_finish(cw, m, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rc = 1;
		} else {
			fprintf(stderr, "hud: wrote %s\n", o.export_path);
		}
	}
	summary_print(stdout, m, 10);
	model_free(m);
	return rc;
}
