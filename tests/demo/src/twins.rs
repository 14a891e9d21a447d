//! Scenario "twins": tasks woken by one tick and polled one after the
//! other on one worker (run it with --workers 1), every 250 ms. Two tasks
//! sleep 25 ms at one line of one function; then two tasks spin reading
//! the clock, 30 ms at one line and 20 ms at another; one task sleeps 20 ms
//! and yields, three times. Not in the default set.
//!
//! Expected hud verdict: one `off_cpu` block per sleep at the sleep's line,
//! none much longer than 25 ms (the kernel side's chain of a call's sleeps
//! and hud's joining of records took the two tasks' sleeps for one call: a
//! tester's blocks of 50 ms); one `cpu` block per spin at its own line (the
//! 20 ms spin polled right after the 30 ms one was lost at 99 Hz: its
//! first sample, in the vDSO's clock, made hud ask for three); one
//! `off_cpu` block per sleep of the yielding task (hud joined records that
//! followed one another at one stack: a tester's blocking write and
//! yield_now, every ~80 ms, were one block of 15 s).

use std::time::{Duration, Instant};

use crate::stats;

/// The tick all four tasks wait for: the same period from the same start.
fn tick(start: tokio::time::Instant) -> tokio::time::Interval {
    tokio::time::interval_at(start, Duration::from_millis(250))
}

async fn napper(start: tokio::time::Instant) {
    let mut t = tick(start);
    loop {
        t.tick().await;
        std::thread::sleep(Duration::from_millis(25)); // the twins' sleep: one off_cpu block each
        stats::bump(&stats::TWIN_NAPS);
    }
}

async fn spin_long(start: tokio::time::Instant) {
    let mut t = tick(start);
    loop {
        t.tick().await;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(30) {} // the long spin: one cpu block
        stats::bump(&stats::TWIN_SPINS);
    }
}

async fn spin_short(start: tokio::time::Instant) {
    let mut t = tick(start);
    loop {
        t.tick().await;
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(20) {} // the short spin: one cpu block
    }
}

async fn yielder(start: tokio::time::Instant) {
    let mut t = tick(start);
    loop {
        t.tick().await;
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(20)); // the yielder's sleep: one off_cpu block each
            tokio::task::yield_now().await;
        }
    }
}

pub fn spawn_all() {
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    tokio::spawn(napper(start));
    tokio::spawn(napper(start));
    tokio::spawn(spin_long(start));
    tokio::spawn(spin_short(start));
    tokio::spawn(yielder(start));
}
