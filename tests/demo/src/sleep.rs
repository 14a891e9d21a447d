//! Scenario "sleep": an async handler that calls `std::thread::sleep(20 ms)`
//! every ~300 ms, parking the whole worker thread.
//!
//! Expected hud verdict: worker blocked off-CPU (nanosleep) in
//! `hud_demo::sleep::throttle_backend` (called from `handle_sleep_request`).

use std::time::Duration;

use crate::stats;

const BLOCK: Duration = Duration::from_millis(20);
const PERIOD: Duration = Duration::from_millis(300);

pub async fn run() {
    loop {
        tokio::time::sleep(PERIOD).await;
        handle_sleep_request().await;
        stats::bump(&stats::SLEEP);
    }
}

#[inline(never)]
pub async fn handle_sleep_request() {
    throttle_backend(BLOCK);
}

/// WRONG: a blocking sleep instead of `tokio::time::sleep(..).await`.
#[inline(never)]
pub fn throttle_backend(d: Duration) {
    std::thread::sleep(d); // HUD-CULPRIT: sleep throttle_backend
    // Keeps the call above from becoming a tail call (which would drop this
    // frame from the stack).
    std::hint::black_box(d);
}
