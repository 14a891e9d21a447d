/* model_fixture.h — a profile model built the way a live session builds it
 * (stacks, workers that come and go, samples, blocks, busy time, states),
 * written through the Chrome writer, for the replay and export tests. The
 * names include what a hostile target could put there: control bytes, an
 * escape sequence, quotes, invalid UTF-8, ';'. */
#ifndef HUD_MODEL_FIXTURE_H
#define HUD_MODEL_FIXTURE_H
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ui/ui.h"

#define FIX_NOT_WORKER 0xffffffffu

static const char *const fix_app = "/src/app/src/main.rs";
static const char *const fix_lib = "/usr/share/cargo/registry/tokio-1.24.2/src/runtime/task/core.rs";

/* Stack s of a small family: app frames under Tokio's worker loop. */
static uint32_t fix_stack(struct model *m, int s)
{
	struct frame_in f[8];
	char name[4][96];
	int n = 0;

	snprintf(name[0], sizeof(name[0]), "app::handler_%d", s % 5);
	snprintf(name[1], sizeof(name[1]), "app::route_%d::{{closure}}", s % 3);
	f[n++] = (struct frame_in){ s % 7 == 0 ? "syscall" : name[0], s % 7 == 0 ? "??" : fix_app,
				    (uint32_t)(10 + s % 5), s % 7 == 0 ? FRAME_NODEBUG : 0, s % 7 != 0, 0 };
	f[n++] = (struct frame_in){ name[0], fix_app, (uint32_t)(20 + s % 4), FRAME_INLINED, 1, 0 };
	/* Two async blocks of one function: one name, declared at two lines. */
	f[n++] = (struct frame_in){ name[1], fix_app, 33, 0, 1, (uint32_t)(30 + s % 2) };
	if (s % 4 == 1)
		f[n++] = (struct frame_in){ "evil\x1b[31m\"name\";\x01\u00e9", fix_app, 7, 0, 1, 0 };
	f[n++] = (struct frame_in){ "tokio::runtime::task::core::Core<T,S>::poll", fix_lib, 212, 0, 0, 0 };
	f[n++] = (struct frame_in){ "tokio::runtime::scheduler::multi_thread::worker::run", fix_lib, 400, 0, 0, 0 };
	uint32_t id = model_stack(m, f, n);
	if (s % 11 == 5)
		m->stacks[id].cut = 1;  /* as the session marks a walk that ran out of room */
	return id;
}

/* Builds a model; with w, the Chrome writer streams it (and sleeps once so a
 * checkpoint lands mid-run). Returns the model. */
static struct model *fix_build(struct chrome_writer *w, int checkpoints)
{
	struct model *m = model_new();
	m->info.pid = 4242;
	m->info.freq = 99;
	m->info.threshold_ns = 5000000;
	snprintf(m->info.comm, sizeof(m->info.comm), "demo\x1b]0;x\x07");
	snprintf(m->info.target, sizeof(m->info.target), "/srv/app/bin/demo");
	if (w)
		chrome_attach(w, m);
	snprintf(m->info.workers_rule, sizeof(m->info.workers_rule), "Tokio thread names tokio-runtime-w*");
	for (uint32_t id = 0; id < 4; id++)
		model_worker(m, id, 100 + id, "tokio-runtime-w");
	uint64_t t = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 400; i++) {
			t += 3000000;
			uint32_t st = fix_stack(m, (i * 7 + round) % 23);
			uint32_t worker = i % 5 == 4 ? FIX_NOT_WORKER : (uint32_t)(i % 4);
			model_sample(m, worker, worker == FIX_NOT_WORKER ? 999 : 100 + worker, (uint32_t)(i % 2), t, st);
			if (i % 9 == 0) {
				struct block_event e = { .kind = (enum block_kind)(i % 3), .worker_id = (uint32_t)(i % 4),
							 .tid = 100 + (uint32_t)(i % 4), .start_ns = t,
							 .duration_ns = 6000000 + (uint64_t)i * 1000, .stack = st,
							 .culprit_func = -1, .task_func = -1 };
				const struct stack *s = &m->stacks[st];
				if (s->culprit >= 0)
					e.culprit_func = (int32_t)model_stack_frame(m, st, (uint32_t)s->culprit)->func_index;
				if (s->task >= 0)
					e.task_func = (int32_t)model_stack_frame(m, st, (uint32_t)s->task)->func_index;
				model_block(m, &e);
			}
			if (i % 25 == 0)
				for (uint32_t id = 0; id < m->nworkers; id++)
					model_worker_busy(m, m->workers[id].id, t, 1000000 + (uint64_t)i * 977);
			if (i == 200 && round == 1) {
				model_worker_remove(m, 2);      /* a pool thread named like a worker */
				model_worker(m, 7, 207, "tokio-runtime-w");
			}
			if (i % 50 == 0) {
				model_worker_state(m, (uint32_t)(i % 4), WORKER_BLOCKED, t - 1000, (int32_t)(i % 3), BLOCK_OFF_CPU);
				model_worker_state(m, (uint32_t)((i + 1) % 4), WORKER_RUNNING, t, -1, BLOCK_CPU);
			}
			m->info.now_ns = t;
			m->info.duration_ns = t;
			if (w)
				chrome_tick(w, m);
		}
		if (w && round < checkpoints)
			usleep(1100000);        /* the next tick checkpoints */
	}
	/* Still going on at the end. */
	struct block_event open = { .kind = BLOCK_CPU, .worker_id = 1, .tid = 101, .start_ns = t - 9000000,
				    .duration_ns = 9000000, .stack = fix_stack(m, 3), .task_func = -1, .open = 1 };
	open.culprit_func = (int32_t)model_stack_frame(m, open.stack, (uint32_t)m->stacks[open.stack].culprit)->func_index;
	if (m->stacks[open.stack].task >= 0)
		open.task_func = (int32_t)model_stack_frame(m, open.stack, (uint32_t)m->stacks[open.stack].task)->func_index;
	model_block(m, &open);
	m->info.lost = 3;
	m->info.stack_failures = 2;
	m->info.debug_percent = 87;
	snprintf(m->info.stop_reason, sizeof(m->info.stop_reason), "duration reached");
	m->info.duration_ns = t + 1000;
	return m;
}
#endif
