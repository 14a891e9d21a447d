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

/// burst closures at once (two by default, so the pool keeps more than one
/// thread); with a short `--pool-keep-alive`, a burst's threads exit after
/// it and the next burst starts new ones.
pub fn spawn_all(burst: usize) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PERIOD).await;
            let waits: Vec<_> = (0..burst).map(|_| tokio::task::spawn_blocking(|| blocking_wait(WAIT))).collect();
            for w in waits {
                let _ = w.await;
            }
            stats::bump(&stats::HEALTHY);
        }
    });
}

/// Right way: a blocking wait on the blocking pool.
#[inline(never)]
fn blocking_wait(d: Duration) {
    std::thread::sleep(d); // HUD-HEALTHY: pool-sleep blocking_wait
}
