//! Scenario "clockspin": a CPU loop inside an async fn that reads the clock
//! at every turn (`Instant::elapsed`: std's clock code, then the vDSO's
//! clock_gettime), 80 ms every 250 ms. Most samples land outside the task's
//! own code, where the sampler steps over the vDSO's frame by a guess, or in
//! std's clock function at its entry or return, where the walk skips a
//! frame. Not in the default set.
//!
//! Expected hud verdict: one `cpu` block per loop, at the loop's line, never
//! split in two (before, 9 of 58 such loops of a tester's app were two
//! blocks, 13 at 499 Hz).

use std::time::{Duration, Instant};

use crate::stats;

pub async fn run() {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(80) {} // the loop: one cpu block of 80 ms
        stats::bump(&stats::CLOCKSPIN);
    }
}
