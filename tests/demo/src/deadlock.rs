//! `--deadlock`: one task locks a `std::sync::Mutex` and then tries to lock it
//! again on the same worker thread. With std's futex mutex on Linux this never
//! returns, so that worker is lost for the rest of the run.
//!
//! Expected hud verdict: one worker blocked forever (futex) in
//! `hud_demo::deadlock::lock_twice`.
//!
//! main.rs spawns `run()` from the main thread (not a worker) ~1 s after start,
//! so the task goes through Tokio's inject queue and the worker that picks it
//! up wakes a sibling first. Were it woken by a timer instead, it would sit in
//! the LIFO slot of the worker that was driving the timer/IO driver; that
//! worker would deadlock without handing the driver over, and with the other
//! workers asleep the whole runtime (timers, Ctrl-C) would stall for good.

use std::sync::Mutex;

static STATE: Mutex<u64> = Mutex::new(0);

pub async fn run() {
    handle_reentrant_update().await;
    unreachable!("lock_twice returned");
}

#[inline(never)]
pub async fn handle_reentrant_update() {
    lock_twice(&STATE);
}

/// WRONG: re-locking a non-reentrant mutex already held by this thread.
#[inline(never)]
pub fn lock_twice(m: &Mutex<u64>) {
    let mut first = m.lock().unwrap();
    *first += 1;
    let second = m.lock().unwrap(); // HUD-CULPRIT: deadlock lock_twice
    drop(second);
    drop(first);
}
