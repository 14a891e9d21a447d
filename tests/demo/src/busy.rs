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

/// Scenario "selfwake": one task per worker that spins ~1 ms and yields by
/// waking itself (`wake_by_ref` and `Pending`, as futures-lite's and
/// async-std's `yield_now` do). Tokio queues it again at once and turns its
/// I/O driver only every 61 ticks, so no epoll_wait comes between most of
/// its polls: only the scheduler tick tells them apart. Expected hud
/// verdict: no `cpu` block (a test app read 4-25 in 10 s before the tick).
pub fn spawn_self_waking(workers: usize) {
    for i in 0..workers.max(1) {
        tokio::spawn(async move {
            let mut seed = i as u64;
            loop {
                seed = seed.wrapping_add(1);
                black_box(short_compute(seed, Duration::from_millis(1)));
                WakeSelf(false).await;
            }
        });
    }
}

/// Pending once, after waking its own task.
struct WakeSelf(bool);

impl std::future::Future for WakeSelf {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

async fn spin_and_yield(mut seed: u64) {
    loop {
        seed = seed.wrapping_add(1);
        black_box(short_compute(seed, Duration::from_millis(1)));
        tokio::task::yield_now().await;
    }
}
