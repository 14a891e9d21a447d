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
