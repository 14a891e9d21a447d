//! Scenario "inplace": blocking work moved off the runtime with
//! `tokio::task::block_in_place`, as Tokio's documentation advises for a
//! multi-thread runtime. Before running the closure, block_in_place hands
//! the worker's core (its queue of tasks) to another thread, so the runtime
//! keeps polling its tasks: nothing is blocked. Not in the default set: the
//! handover moves the workers to other threads, which the other scenarios'
//! tests do not expect.
//!
//! Expected hud verdict: no `cpu` or `off_cpu` block at the marked lines
//! (the CPU work still shows as CPU time).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::stats;

pub fn spawn_all() {
    tokio::spawn(run());
}

async fn run() {
    let mut seed = 1u64;
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        seed = seed.wrapping_add(1);
        black_box(tokio::task::block_in_place(|| crunch(seed)));
        tokio::task::block_in_place(|| nap());
        stats::bump(&stats::HEALTHY);
    }
}

/// ~40 ms of CPU, off the runtime.
#[inline(never)]
fn crunch(seed: u64) -> u64 {
    let end = Instant::now() + Duration::from_millis(40);
    let mut h = seed | 1;
    while Instant::now() < end {
        h = black_box(h.rotate_left(9).wrapping_mul(0xff51_afd7_ed55_8ccd)); // HUD-HEALTHY: cpu-in-place crunch
    }
    h
}

/// ~30 ms asleep, off the runtime.
#[inline(never)]
fn nap() {
    std::thread::sleep(Duration::from_millis(30)); // HUD-HEALTHY: sleep-in-place nap
}
