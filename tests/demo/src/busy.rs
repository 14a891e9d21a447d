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

/// Scenario "yielder": one such task on a runtime whose other workers idle.
/// One idle worker sleeps in Tokio's I/O driver (epoll_wait), holding it, so
/// the busy worker's turns between the task's polls find the driver taken
/// and make no epoll_wait: only the worker's scheduler tick (Tokio's
/// `Core::tick`) tells the polls apart. Expected hud verdict: no `cpu`
/// block (there were ~13 of up to 1.4 s in 10 s before hud read the tick).
pub fn spawn_one() {
    tokio::spawn(spin_and_yield(0));
}

async fn spin_and_yield(mut seed: u64) {
    loop {
        seed = seed.wrapping_add(1);
        black_box(short_compute(seed, Duration::from_millis(1)));
        tokio::task::yield_now().await;
    }
}
