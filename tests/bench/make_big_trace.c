/* make_big_trace.c — writes a large hud Chrome trace through hud's own
 * writer, for measuring --replay: SIZE_MB megabytes of a long run on 8
 * workers with 2,000 distinct stacks 30-45 frames deep (Rust-length names),
 * blocking events about every 3 ms and CPU samples at 99 Hz x 16 CPUs.
 *
 *   tests/bench/make_big_trace.sh OUT.json [SIZE_MB]   (builds and runs this) */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ui/ui.h"

static uint32_t stack_of(struct model *m, int s)
{
	struct frame_in f[48];
	static char names[48][160];
	int depth = 30 + s % 16;

	for (int i = 0; i < depth; i++) {
		int app = i < 6;
		snprintf(names[i], sizeof(names[i]), app ?
			 "my_service::handlers::module_%d::<impl my_service::Handler for Request%d>::handle::{{closure}}" :
			 "tokio::runtime::task::harness::Harness<T,S>::poll_inner::layer_%d::{{closure}}<%d>",
			 (s * 7 + i) % 97, i);
		f[i] = (struct frame_in){ names[i], app ? "/srv/my_service/src/handlers.rs" :
					  "/root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/tokio-1.38.0/src/runtime/task/harness.rs",
					  (uint32_t)(10 + (s + i) % 900), i % 5 == 1 ? FRAME_INLINED : 0, app,
					  app ? (uint32_t)(3 + (s * 7 + i) % 97) : 0 };
	}
	f[depth - 1] = (struct frame_in){ "tokio::runtime::scheduler::multi_thread::worker::run", "/x/worker.rs", 1, 0, 0, 0 };
	return model_stack(m, f, depth);
}

int main(int argc, char **argv)
{
	char err[2048];
	struct stat st;

	if (argc < 2)
		return fprintf(stderr, "usage: make_big_trace OUT.json [SIZE_MB]\n"), 2;
	uint64_t want = (uint64_t)(argc > 2 ? atof(argv[2]) : 100) * 1000000ull;
	struct chrome_writer *w = chrome_open(argv[1], err, sizeof(err));
	if (!w)
		return fprintf(stderr, "%s\n", err), 1;
	struct model *m = model_new();
	m->info.pid = 4242;
	m->info.freq = 99;
	m->info.threshold_ns = 5000000;
	snprintf(m->info.comm, sizeof(m->info.comm), "my_service");
	snprintf(m->info.target, sizeof(m->info.target), "/srv/my_service/bin/my_service");
	chrome_attach(w, m);
	snprintf(m->info.workers_rule, sizeof(m->info.workers_rule), "Tokio thread names tokio-runtime-w*");
	for (uint32_t i = 0; i < 8; i++)
		model_worker(m, i, 1000 + i, "tokio-runtime-w");
	uint32_t stacks[2000];
	for (int i = 0; i < 2000; i++)
		stacks[i] = stack_of(m, i);
	uint64_t t = 0, written = 0;
	for (uint64_t i = 0; written < want; i++) {
		t += 631000;    /* 99 Hz x 16 CPUs */
		uint32_t s = stacks[(i * 2654435761u) % 2000];
		uint32_t wk = (uint32_t)(i % 10);
		model_sample(m, wk < 8 ? wk : 0xffffffffu, 1000 + wk, (uint32_t)(i % 16), t, s);
		if (i % 5 == 0) {
			const struct stack *sp = &m->stacks[s];
			struct block_event e = { .kind = (enum block_kind)(i % 3), .worker_id = (uint32_t)(i % 8),
						 .tid = 1000 + (uint32_t)(i % 8), .start_ns = t, .duration_ns = 5000000 + i % 7000000,
						 .stack = s, .culprit_func = -1, .task_func = -1 };
			if (sp->culprit >= 0)
				e.culprit_func = (int32_t)model_stack_frame(m, s, (uint32_t)sp->culprit)->func_index;
			if (sp->task >= 0)
				e.task_func = (int32_t)model_stack_frame(m, s, (uint32_t)sp->task)->func_index;
			model_block(m, &e);
		}
		if (i % 16 == 0)
			for (uint32_t k = 0; k < 8; k++)
				model_worker_busy(m, k, t, 300000 + k * 1000);
		m->info.now_ns = m->info.duration_ns = t;
		chrome_tick(w, m);
		if (i % 4096 == 0) {
			char tmp[4300];
			snprintf(tmp, sizeof(tmp), "%s", argv[1]);
			/* The temporary name grows; stat it now and then. */
			char *slash = strrchr(tmp, '/');
			char path[4400];
			if (slash) {
				*slash = 0;
				snprintf(path, sizeof(path), "%s/.%s.hud-tmp.%d", tmp, slash + 1, (int)getpid());
			} else {
				snprintf(path, sizeof(path), "./.%s.hud-tmp.%d", tmp, (int)getpid());
			}
			if (stat(path, &st) == 0)
				written = (uint64_t)st.st_size;
		}
	}
	snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "duration reached");
	if (chrome_finish(w, m, err, sizeof(err)) < 0)
		return fprintf(stderr, "%s\n", err), 1;
	if (stat(argv[1], &st) == 0)
		fprintf(stderr, "wrote %s: %.1f MB, %llu blocking events, %llu samples, %.0f s of profile\n", argv[1],
			(double)st.st_size / 1e6, (unsigned long long)m->info.events, (unsigned long long)m->info.samples,
			(double)t / 1e9);
	model_free(m);
	return 0;
}
