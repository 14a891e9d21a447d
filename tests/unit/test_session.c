/* test_session.c — the live session's rules that need no kernel: when the
 * samples of one poll make a CPU block, whether the poll ended or was still
 * going on when the session did. */
#include "ui/ui.h"
#include "tests/unit/check.h"

int main(void)
{
	const uint64_t ms = 1000000, thr = 5 * ms;

	CHECK(session_cpu_block(2, 12 * ms, 0, thr), "two samples of one 12 ms poll: a block");
	CHECK(session_cpu_block(3, 20 * ms, 14 * ms, thr), "20 ms, 14 of them preempted: 6 ms on CPU, a block");
	CHECK(!session_cpu_block(3, 20 * ms, 16 * ms, thr), "20 ms, 16 of them preempted: a victim, not a block");
	CHECK(!session_cpu_block(2, 4 * ms, 0, thr), "two samples 4 ms apart: under the threshold");
	/* One sample says where the worker was, not for how long: the poll
	 * may have ended right after it, and the next one begun. The session
	 * ending 30 ms later (a worker running 1 ms polls back to back, never
	 * sleeping) is no evidence either. */
	CHECK(!session_cpu_block(1, 30 * ms, 0, thr), "one sample, however long ago: not a block");
	CHECK(!session_cpu_block(0, 30 * ms, 0, thr), "no sample: not a block");
	return check_done();
}
