//! Scenario "naps": one call site that sleeps many times in one poll, 200
//! sleeps of 150 µs (~30-50 ms in all) every 300 ms, as a loop of short
//! blocking waits does. Not in the default set.
//!
//! Expected hud verdict: one `off_cpu` block per poll at the sleep's line,
//! as long as the poll's sleeps together. The kernel side chains a call's
//! sleeps until their stretch makes a record, so a poll came as 8-9 records
//! of the threshold's length (a tester's app); hud joins the records that
//! follow one another at one stack.

use std::time::Duration;

use crate::stats;

pub async fn run() {
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..200 {
            std::thread::sleep(Duration::from_micros(150)); // the naps: one off_cpu block a poll
        }
        stats::bump(&stats::NAPS);
    }
}

/// Scenario "yieldnaps": one task per worker but one that sleeps once for
/// 150 µs in each poll and yields (`tokio::task::yield_now`), over and
/// over: polls of one task, each with one short sleep at the same line,
/// ~0.2 ms apart. The worker left idle sleeps in Tokio's I/O driver, so
/// the others make no epoll_wait between polls. Not in the default set.
///
/// Expected hud verdict: no `off_cpu` block (no poll sleeps near the
/// threshold). The kernel side chains sleeps of one call that follow one
/// another closely; the scheduler tick says these are sleeps of different
/// polls. A test app with 3 such tasks on 4 workers read ~1,240 blocks in
/// 10 s without the tick in the sleeps.
pub fn spawn_yielding(workers: usize) {
    for _ in 0..workers.max(2) - 1 {
        tokio::spawn(async {
            loop {
                std::thread::sleep(Duration::from_micros(150)); // HUD-HEALTHY: yieldnaps one nap a poll
                tokio::task::yield_now().await;
            }
        });
    }
}
