//! Healthy control: the blocking pool waiting. `spawn_blocking` closures
//! that sleep (as tokio::fs does in read(2) on a slow disk) run on Tokio's
//! blocking-pool threads, which by default are named like the workers
//! ("tokio-runtime-worker"), so a profiler that finds workers by name must
//! still not blame them. No CPU work here: the pool threads are never
//! sampled running the pool, only seen asleep in it.

use std::time::Duration;

use crate::stats;

const WAIT: Duration = Duration::from_millis(25);
const PERIOD: Duration = Duration::from_millis(40);

pub fn spawn_all() {
    tokio::spawn(async {
        loop {
            tokio::time::sleep(PERIOD).await;
            // Two at once, so the pool keeps more than one thread.
            let a = tokio::task::spawn_blocking(|| blocking_wait(WAIT));
            let b = tokio::task::spawn_blocking(|| blocking_wait(WAIT));
            let _ = a.await;
            let _ = b.await;
            stats::bump(&stats::HEALTHY);
        }
    });
}

/// Right way: a blocking wait on the blocking pool.
#[inline(never)]
fn blocking_wait(d: Duration) {
    std::thread::sleep(d); // HUD-HEALTHY: pool-sleep blocking_wait
}
