/* stall_watch.c — the machine's own stalls, for tests that time short
 * sleeps: sleeps 150 us over and over for SECONDS and prints, one per line,
 * the CLOCK_MONOTONIC start and end (ns) of each sleep that took more than
 * 2 ms. On the test VM every thread of the machine, hud's target's and
 * this one's alike, sometimes oversleeps 5-8 ms at the same moment, with
 * no profiler attached. Usage: stall_watch SECONDS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	const struct timespec nap = { 0, 150000 };
	uint64_t end;

	if (argc != 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: stall_watch SECONDS\n");
		return 2;
	}
	end = now_ns() + (uint64_t)atoi(argv[1]) * 1000000000ull;
	for (uint64_t a = now_ns(); a < end; a = now_ns()) {
		nanosleep(&nap, NULL);
		uint64_t b = now_ns();
		if (b - a > 2000000) {
			printf("%llu %llu\n", (unsigned long long)a, (unsigned long long)b);
			fflush(stdout);
		}
	}
	return 0;
}
