//! Scenario "busy": a loaded server's workers, which never park. One task
//! per worker (N with `--busy-tasks N`) runs ~1 ms of CPU
//! (`healthy::short_compute`) and yields, over and over, so every worker
//! polls short tasks back to back without leaving the CPU. Not in the
//! default set: it keeps both CPUs busy.
//!
//! Expected hud verdict: the workers running, and no `cpu` block (no poll
//! comes near the threshold). Two polls of one task in a row leave the
//! frames outside the poll the same; hud tells them apart by the worker's
//! epoll_wait between them (see docs/TROUBLESHOOTING.md, "A `cpu` block in
//! a task that yields"). Without that count: ~270 blocks in 10 s.

use std::hint::black_box;
use std::time::Duration;

use crate::healthy::short_compute;

/// With more tasks per worker, other tasks' polls come between a task's own
/// (without the epoll_wait count: 3 blocks in 10 s with eight, against 273).
pub fn spawn_all(workers: usize, tasks_per_worker: usize) {
    for i in 0..workers.max(1) * tasks_per_worker.max(1) {
        tokio::spawn(spin_and_yield(i as u64));
    }
}

async fn spin_and_yield(mut seed: u64) {
    loop {
        seed = seed.wrapping_add(1);
        black_box(short_compute(seed, Duration::from_millis(1)));
        tokio::task::yield_now().await;
    }
}
