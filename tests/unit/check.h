/* check.h — the unit tests' assertions. Each test program includes this, runs
 * its checks and ends with `return check_done();`, which prints the plain
 * closing line "N passed, N failed" that tests/run.sh adds up. */
#ifndef HUD_CHECK_H
#define HUD_CHECK_H
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int check_passed, check_failed;

#define CHECK(cond, ...) do { \
	if (cond) { check_passed++; } else { \
		check_failed++; \
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	} } while (0)

#define CHECK_STR(got, want) do { const char *g_ = (got), *w_ = (want); \
	CHECK(g_ && strcmp(g_, w_) == 0, "got \"%s\", want \"%s\"", g_ ? g_ : "(null)", w_); } while (0)

/* The path of the test's own executable into buf (checked); 0 when it
 * cannot be read. */
static inline int check_self_exe(char *buf, size_t size)
{
	ssize_t len = readlink("/proc/self/exe", buf, size - 1);
	CHECK(len > 0, "readlink /proc/self/exe");
	buf[len > 0 ? len : 0] = '\0';
	return len > 0;
}

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
#endif
