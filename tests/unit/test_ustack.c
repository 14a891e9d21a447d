/* test_ustack.c — the stack of a thread asleep deep in the C library, read
 * from outside (loader/ustack.c), on a small program built here with gcc:
 * - system() waits in waitpid under do_system, whose frame is ~900 bytes:
 *   the caller's return address lies far above the stack pointer, where no
 *   scan of the words near it reaches (a blocking getaddrinfo, deeper
 *   still, was missed so). The C library's call-frame information
 *   (.eh_frame) steps through its frames: the program's function is found,
 *   at its line, and the library's frame on the way (do_system) is named;
 * - the walk goes on through the program's frame pointers to main;
 * - a thread asleep before attach (no rbp known) loses no frame.
 * Skips when gcc is missing. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dwarf/dwarf.h"
#include "loader/loader.h"
#include "tests/unit/check.h"

static char dir[] = "/tmp/test_ustackXXXXXX";

static const char prog[] =
	"#include <stdlib.h>\n"                                                         /* line 1 */
	"__attribute__((noinline)) int deep_wait(void) { return system(\"sleep 30\"); }\n" /* line 2 */
	"int main(void) { return deep_wait() + 1; }\n";                                 /* line 3 */

/* The executable's code range in the process, from /proc/PID/maps. */
static int text_of(int pid, const char *exe, uint64_t *lo, uint64_t *hi)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	*lo = *hi = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perms[8];
		int at = 0;
		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &a, &b, perms, &at) == 3 && perms[2] == 'x' &&
		    strstr(line + at, exe)) {
			*lo = a;
			*hi = b;
		}
	}
	fclose(f);
	return *hi ? 0 : -1;
}

/* Writes source to DIR/name.c, builds it with frame pointers, starts it
 * (in a process group of its own: its children die with it) and waits
 * until it sleeps in system call nr. Its pid, with its stack read from
 * outside into ips (*n frames), or -1 (skipped when gcc cannot build it). */
static pid_t start_asleep(const char *name, const char *source, int nr, uint64_t *ips, int *n)
{
	char src[256], exe[256], cmd[1024], path[64], line[256] = "", want[16];
	snprintf(src, sizeof(src), "%s/%s.c", dir, name);
	snprintf(exe, sizeof(exe), "%s/%s", dir, name);
	FILE *f = fopen(src, "w");
	if (!f || fputs(source, f) < 0 || fclose(f) != 0) {
		CHECK(0, "cannot write %s", src);
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "gcc -O1 -g -fno-omit-frame-pointer -o %s %s", exe, src);
	if (system(cmd) != 0) {
		printf("skip: gcc could not build the test program\n");
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0, "fork");
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	snprintf(want, sizeof(want), "%d ", nr);
	int waiting = 0;
	for (int i = 0; i < 100 && !waiting; i++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		FILE *s = fopen(path, "r");
		if (s) {
			waiting = fgets(line, sizeof(line), s) && strncmp(line, want, strlen(want)) == 0;
			fclose(s);
		}
	}
	CHECK(waiting, "%s sleeps in system call %d (%s)", name, nr, line);
	uint64_t lo, hi;
	*n = 0;
	if (text_of((int)pid, exe, &lo, &hi) == 0)
		*n = ustack_sleeping((int)pid, (uint32_t)pid, NULL, lo, hi, ips, HUD_STACK_DEPTH);
	return pid;
}

static void stop(pid_t pid)
{
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Whether a frame of the stack ips[1..n) (return addresses) of process p
 * is function fn, at line (any line when 0). */
static int on_stack(struct sym_proc *p, const uint64_t *ips, int n, const char *fn, uint32_t line)
{
	for (int i = 1; p && i < n; i++) {
		struct sym_frame fr[8];
		int k = sym_proc_resolve(p, ips[i] - 1, fr, 8);
		for (int j = 0; j < k; j++)
			if (strcmp(fr[j].function, fn) == 0 && (!line || fr[j].line == line))
				return 1;
	}
	return 0;
}

static void test_deep_libc(void)
{
	uint64_t ips[HUD_STACK_DEPTH];
	int n = 0;
	/* Until it waits for its child in waitpid (wait4 is system call 61). */
	pid_t pid = start_asleep("deep", prog, 61, ips, &n);
	if (pid < 0)
		return;
	char err[256];
	struct sym_proc *p = sym_proc_open((int)pid, NULL, err, sizeof(err));
	int found = -1, libc_frames = 0, in_main = 0;
	for (int i = 0; p && i < n; i++) {
		struct sym_frame fr[8];
		int k = sym_proc_resolve(p, i ? ips[i] - 1 : ips[i], fr, 8);
		for (int j = 0; j < k; j++) {
			if (getenv("TEST_VERBOSE"))
				printf("#%d %s %s:%u\n", i, fr[j].function, fr[j].file, fr[j].line);
			if (strcmp(fr[j].function, "deep_wait") == 0 && found < 0 && fr[j].line == 2)
				found = i;
			if (found < 0 && i > 0 && strstr(fr[j].function, "do_system"))
				libc_frames++;
			in_main |= strcmp(fr[j].function, "main") == 0 && fr[j].line == 3;
		}
	}
	CHECK(found > 0, "deep_wait (deep.c:2) is on the stack read from outside (%d frames)", n);
	/* waitpid and system are tail calls: wait4's caller is do_system. */
	CHECK(libc_frames == 1, "the C library's frame on the way, do_system, is named (%d)", libc_frames);
	CHECK(in_main, "the walk goes on to main (deep.c:3)");
	if (p)
		sym_proc_close(p);
	stop(pid);
}

/* A thread asleep before hud attached: /proc/PID/task/TID/syscall gives
 * its pc and stack pointer, not its rbp. Out of libc's read, the caller
 * keeps a frame pointer the call-frame information needs; its own frame
 * record, just above the stack pointer, is found, so its caller (main) is
 * not skipped. */
static const char piper[] =
	"#include <unistd.h>\n"                                                          /* line 1 */
	"__attribute__((noinline)) int reader(int fd) { char c; return (int)read(fd, &c, 1); }\n" /* line 2 */
	"int main(void) { int p[2]; if (pipe(p)) return 1; return reader(p[0]) + 1; }\n";        /* line 3 */

static void test_no_rbp(void)
{
	uint64_t ips[HUD_STACK_DEPTH];
	int n = 0;
	pid_t pid = start_asleep("piper", piper, 0, ips, &n);       /* read is system call 0 */
	if (pid < 0)
		return;
	char err[256];
	struct sym_proc *p = sym_proc_open((int)pid, NULL, err, sizeof(err));
	CHECK(on_stack(p, ips, n, "reader", 2), "asleep since before attach, no rbp: reader (piper.c:2) is on the stack "
	      "(%d frames)", n);
	CHECK(on_stack(p, ips, n, "main", 3), "... and its caller, main (piper.c:3)");
	if (p)
		sym_proc_close(p);
	stop(pid);
}

/* Asleep since before attach, no rbp, in a function whose locals hold
 * frame records an earlier, deeper call left (leave's deep calls, under
 * waiter's buffer): the first record above the stack pointer is such a
 * stale one. The function's prologue says where its own record is (a
 * tester's worker stuck in Barrier::wait was named by its last
 * tokio::time::sleep's stack, and reported idle). */
static const char stale[] =
	"#include <unistd.h>\n"                                                                  /* line 1 */
	"__attribute__((noinline)) int deep(int d) { volatile int x = d; return d ? deep(d - 1) + x : x; }\n" /* 2 */
	"__attribute__((noinline)) int leave(void) { return deep(12) + 1; }\n"                  /* line 3 */
	"__attribute__((noinline)) int waiter(int fd) { volatile char big[1024]; char c; big[1023] = 0;"
	" return (int)read(fd, &c, 1) + big[1023]; }\n"                                         /* line 4 */
	"int main(void) { int p[2]; if (pipe(p)) return 1; leave(); return waiter(p[0]) + 1; }\n"; /* line 5 */

static void test_stale_records(void)
{
	uint64_t ips[HUD_STACK_DEPTH];
	int n = 0;
	pid_t pid = start_asleep("stale", stale, 0, ips, &n);       /* read is system call 0 */
	if (pid < 0)
		return;
	char err[256];
	struct sym_proc *p = sym_proc_open((int)pid, NULL, err, sizeof(err));
	int in_waiter = on_stack(p, ips, n, "waiter", 4), in_main = on_stack(p, ips, n, "main", 5);
	int in_deep = on_stack(p, ips, n, "deep", 0) || on_stack(p, ips, n, "leave", 0);
	CHECK(in_waiter && in_main && !in_deep,
	      "stale frame records under the sleeping function: waiter (stale.c:4) and main (stale.c:5), no deep or "
	      "leave (%d frames: waiter %d, main %d, stale %d)", n, in_waiter, in_main, in_deep);
	if (p)
		sym_proc_close(p);
	stop(pid);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp");
		return check_done();
	}
	test_deep_libc();
	test_no_rbp();
	test_stale_records();
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_ustack: could not remove %s\n", dir);
	return check_done();
}
