/* test_session.c — the live session's rules that need no kernel: when the
 * samples of one poll make a CPU block, whether the poll ended or was still
 * going on when the session did; which thread a stack says it runs on. */
#include "ui/ui.h"
#include "tests/unit/check.h"

static const char *const app = "/src/app/src/main.rs";
static const char *const tokio = "/usr/share/cargo/registry/tokio-1.24.2/src/runtime/scheduler/multi_thread/worker.rs";

/* An application function called from a task on a worker, through frames
 * (innermost first) between the task's poll and the worker loop. */
static uint32_t stack_through(struct model *m, const char *const *middle, int nmiddle)
{
	struct frame_in f[12];
	int n = 0;

	f[n++] = (struct frame_in){ "app::crunch", app, 12, 0, 1, 0 };
	for (int i = 0; i < nmiddle; i++)
		f[n++] = (struct frame_in){ middle[i], tokio, 100 + (uint32_t)i, 0, 0, 0 };
	f[n++] = (struct frame_in){ "app::handler::{{closure}}", app, 30, 0, 1, 0 };
	f[n++] = (struct frame_in){ "tokio::runtime::task::raw::poll", tokio, 255, 0, 0, 0 };
	f[n++] = (struct frame_in){ "tokio::runtime::scheduler::multi_thread::worker::Context::run_task", tokio, 470, 0, 0, 0 };
	f[n++] = (struct frame_in){ "tokio::runtime::scheduler::multi_thread::worker::run", tokio, 400, 0, 0, 0 };
	f[n++] = (struct frame_in){ "tokio::runtime::blocking::pool::Inner::run", tokio, 500, 0, 0, 0 };
	return model_stack(m, f, n);
}

static void check_stack_classes(void)
{
	struct model *m = model_new();
	static const char *const in_place[] = {
		"tokio::runtime::scheduler::multi_thread::worker::block_in_place::{{closure}}",
		"tokio::runtime::scheduler::multi_thread::worker::block_in_place",
		"tokio::task::blocking::block_in_place",
	};
	static const char *const newer[] = { "tokio::runtime::scheduler::block_in_place::block_in_place" };
	uint32_t plain = stack_through(m, NULL, 0);
	uint32_t moved = stack_through(m, in_place, 3);
	uint32_t moved_newer = stack_through(m, newer, 1);

	CHECK(m->stacks[plain].thread_class == STACK_CLASS_WORKER, "a task's call on a worker: a worker's stack");
	CHECK(m->stacks[moved].thread_class == STACK_CLASS_IN_PLACE,
	      "the same call inside block_in_place: the worker handed its core away (%u)", m->stacks[moved].thread_class);
	CHECK(m->stacks[moved_newer].thread_class == STACK_CLASS_IN_PLACE, "... as newer Tokio names block_in_place too");
	CHECK(model_stack_in_app(m, moved), "its thread still stopped in application code");
	/* A blocking-pool thread that finished its closure wakes the task
	 * awaiting it: it calls the scheduler's Handle, in the worker module,
	 * with no worker loop in its stack. A pool thread, not a worker (it
	 * stayed one, in 1-3 of 12 runs of the demo's pool scenario). */
	static const char *const pool_wakes[] = {
		"__GI___libc_write", "mio::sys::unix::waker::eventfd::Waker::wake",
		"tokio::runtime::scheduler::multi_thread::worker::<impl tokio::runtime::scheduler::multi_thread::handle::Handle>::schedule_task",
		"tokio::runtime::task::harness::Harness<T,S>::complete", "tokio::runtime::blocking::pool::Task::run",
		"tokio::runtime::blocking::pool::Inner::run", "start_thread",
	};
	struct frame_in f[8];
	for (int i = 0; i < 7; i++)
		f[i] = (struct frame_in){ pool_wakes[i], tokio, 10 + (uint32_t)i, 0, 0, 0 };
	uint32_t waking = model_stack(m, f, 7);
	CHECK(m->stacks[waking].thread_class == STACK_CLASS_POOL,
	      "a pool thread waking a worker: a pool thread's stack (%u)", m->stacks[waking].thread_class);

	/* A build without debug info: the async fn is inlined into Tokio's
	 * task poll, and no frame of the application's shows. A sleep inside
	 * a task's poll is the task's doing (Tokio parks outside polls); one
	 * in Tokio's park is not. */
	static const char *const inlined_sleep[] = {
		"__GI___clock_nanosleep", "std::thread::sleep", "tokio::runtime::task::core::Core<T,S>::poll",
		"tokio::runtime::task::harness::Harness<T,S>::poll",
		"tokio::runtime::scheduler::multi_thread::worker::Context::run_task",
		"tokio::runtime::scheduler::multi_thread::worker::Context::run",
	};
	static const char *const parked[] = {
		"syscall", "std::sys::pal::unix::futex::futex_wait", "tokio::runtime::park::Inner::park",
		"tokio::runtime::scheduler::multi_thread::park::Parker::park",
		"tokio::runtime::scheduler::multi_thread::worker::Context::park",
		"tokio::runtime::scheduler::multi_thread::worker::Context::run",
	};
	for (int i = 0; i < 6; i++)
		f[i] = (struct frame_in){ inlined_sleep[i], "??", 0, FRAME_NODEBUG, i > 0, 0 };
	uint32_t task_sleeps = model_stack(m, f, 6);
	for (int i = 0; i < 6; i++)
		f[i] = (struct frame_in){ parked[i], "??", 0, FRAME_NODEBUG, i > 0, 0 };
	uint32_t park = model_stack(m, f, 6);
	CHECK(model_stack_in_app(m, task_sleeps), "a sleep inside a task's poll, no application frame: the task's");
	CHECK(!model_stack_in_app(m, park), "Tokio's park: not the application's");

	/* A target linked with the C library in it (crt-static, musl): its
	 * functions are in the main executable, with no debug info. They are
	 * the C library's, not the application's: Tokio's park in `syscall`
	 * was read as thousands of blocks in the application (a tester's
	 * crt-static build), and a sleep named at clock_nanosleep. */
	static const char *const static_park[] = {
		"syscall", "std::sys::unix::futex::futex_wait", "std::thread::park",
		"tokio::runtime::park::Inner::park", "tokio::runtime::scheduler::multi_thread::worker::Context::park",
	};
	for (int i = 0; i < 5; i++)
		f[i] = (struct frame_in){ static_park[i], i == 0 ? "??" : tokio, i == 0 ? 0 : 100, i == 0 ? FRAME_NODEBUG : 0,
					  1, 0 };
	uint32_t static_parked = model_stack(m, f, 5);
	CHECK(!model_stack_in_app(m, static_parked), "Tokio's park through a statically linked syscall(): not the application's");
	f[0] = (struct frame_in){ "clock_nanosleep", "??", 0, FRAME_NODEBUG, 1, 0 };
	f[1] = (struct frame_in){ "std::thread::sleep", "/rustc/abc/library/std/src/thread/mod.rs", 900, 0, 1, 0 };
	f[2] = (struct frame_in){ "app::slow_sleep", app, 7, 0, 1, 0 };
	f[3] = (struct frame_in){ "tokio::runtime::task::raw::poll", tokio, 255, 0, 1, 0 };
	uint32_t static_sleep = model_stack(m, f, 4);
	CHECK(model_stack_in_app(m, static_sleep) && m->stacks[static_sleep].culprit == 2,
	      "a sleep through a statically linked clock_nanosleep is named at the application's call (frame %d)",
	      m->stacks[static_sleep].culprit);
	f[0] = (struct frame_in){ "app::crunch", "??", 0, FRAME_NODEBUG, 1, 0 };
	CHECK(m->stacks[model_stack(m, f, 1)].culprit == 0, "a Rust function without debug info is still the application's");

	/* A trait's method on a type with no path is decided by the trait:
	 * `<u64 as core::fmt::LowerHex>::fmt` was a tester's culprit for 472
	 * of 571 samples of an application loop. */
	static const struct { const char *name; int app; } impls[] = {
		{ "<u64 as core::fmt::LowerHex>::fmt", 0 }, { "<[u8]>::len", 0 }, { "<&mut [u8] as std::io::Read>::read", 0 },
		{ "<(u32, u32) as core::cmp::PartialOrd>::lt", 0 }, { "<u64 as app::Score>::score", 1 },
		{ "<app::Job as core::ops::Drop>::drop", 1 }, { "<&app::Job>::name", 1 },
		{ "<alloc::vec::Vec<app::Job> as core::ops::Drop>::drop", 0 }, { "<app::Pool<u8>>::take", 1 },
	};
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		f[0] = (struct frame_in){ impls[i].name, "??", 0, FRAME_NODEBUG, 1, 0 };
		int app_frame = (model_stack_frame(m, model_stack(m, f, 1), 0)->flags & FRAME_APP) != 0;
		CHECK(app_frame == impls[i].app, "%s: %s", impls[i].name, impls[i].app ? "the application's" : "a library's");
	}

	/* A library's crate name in a file of no library's is the
	 * application's own crate (a tester's binary `alloc`: its 175 ms
	 * polls were nobody's); a library's file or directory stays the
	 * library's. */
	static const struct { const char *name, *file; int app; } crates[] = {
		{ "alloc::burst", "/tmp/h16/apps/src/bin/alloc.rs", 1 },
		{ "tower::handle::serve", "/srv/tower/src/handle.rs", 0 },
		{ "bytes::buf::Buf::advance", "/build/vendor-copy/bytes-1.4.0/src/buf/buf_impl.rs", 0 },
		{ "futures_util::stream::next", "/home/me/deps/futures-util-0.3.25/src/stream/mod.rs", 0 },
		{ "alloc::vec::Vec<T>::push", "/home/me/rust/library/alloc/src/vec/mod.rs", 0 },
		{ "std::io::Write::write_all", "/rustc/abc/library/std/src/io/mod.rs", 0 },
		{ "tokio_app::serve", "/srv/tokio-app/src/main.rs", 1 },
	};
	for (size_t i = 0; i < sizeof(crates) / sizeof(crates[0]); i++) {
		f[0] = (struct frame_in){ crates[i].name, crates[i].file, 10, 0, 1, 0 };
		int app_frame = (model_stack_frame(m, model_stack(m, f, 1), 0)->flags & FRAME_APP) != 0;
		CHECK(app_frame == crates[i].app, "%s in %s: %s", crates[i].name, crates[i].file,
		      crates[i].app ? "the application's" : "a library's");
	}
	model_free(m);
}

/* debug = "line-tables-only": DWARF names each async fn `{async_fn#0}`,
 * with no path and no declaration line, so a file's async fns shared one
 * row in the summary (a tester's sleep, CPU loop and file read, at lines
 * 7, 17 and 26). Such names are told apart by their line; a name with a
 * path, or with a declaration line, stays one function at any line. */
static void check_short_names(void)
{
	struct model *m = model_new();
	uint32_t lines[3] = { 7, 17, 26 }, funcs[3], named[2];

	for (int i = 0; i < 3; i++) {
		struct frame_in f = { "{async_fn#0}", app, lines[i], 0, 1, 0 };
		funcs[i] = model_stack_frame(m, model_stack(m, &f, 1), 0)->func_index;
	}
	CHECK(funcs[0] != funcs[1] && funcs[1] != funcs[2] && funcs[0] != funcs[2],
	      "three async fns named {async_fn#0} in one file, at three lines: three functions (%u %u %u)", funcs[0],
	      funcs[1], funcs[2]);
	for (int i = 0; i < 2; i++) {
		struct frame_in f = { "app::crunch", app, lines[i], 0, 1, 0 };
		named[i] = model_stack_frame(m, model_stack(m, &f, 1), 0)->func_index;
	}
	CHECK(named[0] == named[1], "a function with a path, at two lines: one function");
	for (int i = 0; i < 2; i++) {
		struct frame_in f = { "{async_fn#0}", app, lines[i], 0, 1, 5 };
		named[i] = model_stack_frame(m, model_stack(m, &f, 1), 0)->func_index;
	}
	CHECK(named[0] == named[1], "a short name with its declaration line, at two lines: one function");
	model_free(m);
}

/* A poll seen by samples at first and last began after the sample before
 * it and ended before what came next: half a sample period each side, as
 * each sample stands for one period (perf's count), within those. */
static void check_cpu_bounds(uint64_t ms)
{
	const uint64_t p = 10101010;    /* 99 Hz */
	uint64_t start, dur;

	/* A 40 ms poll at 99 Hz shows as 3-4 samples, 20-30 ms apart. */
	session_cpu_bounds(1000 * ms, 1030 * ms, 990 * ms, 1040 * ms, p, &start, &dur);
	CHECK(start == 1000 * ms - p / 2 && dur == 30 * ms + p, "four samples of a poll: their span and one period (%llu ns)",
	      (unsigned long long)dur);
	/* Its end is not known yet (still going on at the end): no bound. */
	session_cpu_bounds(1000 * ms, 1020 * ms, 990 * ms, 0, p, &start, &dur);
	CHECK(start == 1000 * ms - p / 2 && dur == 20 * ms + p, "a poll still going on: half a period each side");
	/* The worker was seen elsewhere 2 ms before the first sample (it came
	 * back on CPU), and slept 1 ms after the last. */
	session_cpu_bounds(1000 * ms, 1020 * ms, 998 * ms, 1021 * ms, p, &start, &dur);
	CHECK(start == 998 * ms && dur == 23 * ms, "bounded by what the worker did around it (%llu, %llu)",
	      (unsigned long long)start, (unsigned long long)dur);
	/* The session's first samples: nothing before them. */
	session_cpu_bounds(2 * ms, 12 * ms, 0, 0, p, &start, &dur);
	CHECK(start == 0 && dur == 12 * ms + p / 2, "at the session's start: from 0 (%llu)", (unsigned long long)dur);
	/* A high --freq: the period is small, the span nearly all of it. */
	session_cpu_bounds(1000 * ms, 1006 * ms, 0, 0, 100000, &start, &dur);
	CHECK(start == 1000 * ms - 50000 && dur == 6 * ms + 100000, "10 kHz: 0.1 ms more");
}

/* Two samples of one poll have one identity, wherever in the poll's code
 * they land; the polls of two tasks have two. Also when the task's code is
 * inlined into Tokio's poll, so that the task's frame is the one running:
 * its pc and the words below its frame pointer move from one sample to the
 * next (before, each sample of such a poll was a poll of its own, and a
 * 25 ms loop of a small async fn in a release build was found as a CPU
 * block 23 times in 116). */
static void check_poll_identity(void)
{
	/* The running frame, the harness that polls the task, the worker loop. */
	uint64_t a[4] = { 0x55550001234, 0x5555000a100, 0x5555000b200, 0x5555000c300 };
	uint32_t ha[4] = { 0x1111, 0xaaaa, 0xbbbb, 0xcccc };
	uint64_t b[4] = { 0x55550001288, 0x5555000a100, 0x5555000b200, 0x5555000c300 };
	uint32_t hb[4] = { 0x2222, 0xaaaa, 0xbbbb, 0xcccc };
	CHECK(session_poll_identity(a, ha, 4, 0, 7) == session_poll_identity(b, hb, 4, 0, 7),
	      "the task's code inlined into the poll (task frame innermost): one poll for two samples");
	uint64_t c[4] = { 0x55550001234, 0x5555000a100, 0x5555000b200, 0x5555000c300 };
	uint32_t hc[4] = { 0x1111, 0xdddd, 0xbbbb, 0xcccc };  /* another task's pointer, saved by the harness */
	CHECK(session_poll_identity(a, ha, 4, 0, 7) != session_poll_identity(c, hc, 4, 0, 7),
	      "the same code, polled for another task: two polls");
	/* A task frame further out: its return address and saved words stay
	 * for the poll, what runs inside it moves. */
	uint64_t d[5] = { 0x55550009999, 0x55550001300, 0x5555000a100, 0x5555000b200, 0x5555000c300 };
	uint32_t hd[5] = { 0x3333, 0x4444, 0xaaaa, 0xbbbb, 0xcccc };
	uint64_t e[5] = { 0x55550008888, 0x55550001300, 0x5555000a100, 0x5555000b200, 0x5555000c300 };
	uint32_t he[5] = { 0x5555, 0x4444, 0xaaaa, 0xbbbb, 0xcccc };
	CHECK(session_poll_identity(d, hd, 5, 1, 7) == session_poll_identity(e, he, 5, 1, 7),
	      "a task frame outside the running one: one poll");
	CHECK(session_poll_identity(a, ha, 1, 0, 7) == session_poll_identity(b, hb, 1, 0, 7) &&
	      session_poll_identity(a, ha, 1, 0, 7) != session_poll_identity(a, ha, 1, 0, 8),
	      "only the running frame: the culprit's function stands for the poll");
}

int main(void)
{
	const uint64_t ms = 1000000, thr = 5 * ms;

	CHECK(session_cpu_block(2, 2, 12 * ms, 0, thr), "two samples of one 12 ms poll: a block");
	CHECK(session_cpu_block(3, 2, 20 * ms, 14 * ms, thr), "20 ms, 14 of them preempted: 6 ms on CPU, a block");
	CHECK(!session_cpu_block(3, 2, 20 * ms, 16 * ms, thr), "20 ms, 16 of them preempted: a victim, not a block");
	CHECK(!session_cpu_block(2, 2, 4 * ms, 0, thr), "two samples 4 ms apart: under the threshold");
	/* One sample says where the worker was, not for how long: the poll
	 * may have ended right after it, and the next one begun. The session
	 * ending 30 ms later (a worker running 1 ms polls back to back, never
	 * sleeping) is no evidence either. */
	CHECK(!session_cpu_block(1, 2, 30 * ms, 0, thr), "one sample, however long ago: not a block");
	CHECK(!session_cpu_block(0, 2, 30 * ms, 0, thr), "no sample: not a block");
	/* A poll only CONTEXT told from the one before, of the same task: two
	 * samples may be two polls that met the same budget by chance. */
	CHECK(!session_cpu_block(2, 3, 12 * ms, 0, thr), "two samples where three are needed: not a block");
	CHECK(session_cpu_block(3, 3, 20 * ms, 0, thr), "three samples where three are needed: a block");
	CHECK(!session_cpu_block(1, 0, 30 * ms, 0, thr), "never fewer than two samples");
	check_cpu_bounds(ms);
	check_stack_classes();
	check_short_names();
	check_poll_identity();
	return check_done();
}
