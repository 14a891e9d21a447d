//! Healthy controls: correct async code that must NOT be reported as blocking.
//!
//! * timer loops (`tokio::time::sleep`)
//! * an mpsc ping-pong between two tasks
//! * heavy CPU offloaded with `tokio::task::spawn_blocking` (runs on Tokio's
//!   blocking-pool threads, which by default are ALSO named
//!   "tokio-runtime-worker" -- hud must not blame them)
//! * bursts of many short tasks that yield
//!
//! Lines tagged with a trailing "HUD-HEALTHY: KIND NAME" comment are hot spots that a correct
//! profiler must not report as blocking a worker.

use std::hint::black_box;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::stats;

pub fn spawn_all() {
    for i in 0..8u64 {
        tokio::spawn(timer_loop(Duration::from_millis(10 + 7 * i)));
    }
    spawn_ping_pong();
    tokio::spawn(offload_loop());
    tokio::spawn(short_task_bursts());
    tokio::spawn(busy_polls());
}

/// Under load, a worker runs many short polls back to back: every 30 ms,
/// eight new tasks of ~1 ms of CPU each. Sampled at 99 Hz, consecutive
/// samples often land in the same function of different polls; hud must not
/// call that one long poll.
async fn busy_polls() {
    let mut seed = 1u64;
    loop {
        tokio::time::sleep(Duration::from_millis(30)).await;
        for _ in 0..8 {
            seed = seed.wrapping_add(1);
            tokio::spawn(async move { black_box(short_compute(seed, Duration::from_millis(1))) });
        }
        stats::bump(&stats::HEALTHY);
    }
}

/// ~d of CPU; also the busy scenario's (busy.rs).
#[inline(never)]
pub fn short_compute(seed: u64, d: Duration) -> u64 {
    let end = Instant::now() + d;
    let mut h = seed | 1;
    while Instant::now() < end {
        h = black_box(h.rotate_left(7).wrapping_mul(0x9e37_79b9_7f4a_7c15)); // HUD-HEALTHY: cpu-short short_compute
    }
    h
}

async fn timer_loop(period: Duration) {
    loop {
        tokio::time::sleep(period).await; // HUD-HEALTHY: timer timer_loop
        stats::bump(&stats::HEALTHY);
    }
}

fn spawn_ping_pong() {
    let (to_pong, mut pong_rx) = mpsc::channel::<u64>(1);
    let (to_ping, mut ping_rx) = mpsc::channel::<u64>(1);
    tokio::spawn(async move {
        let mut n: u64 = 0;
        loop {
            if to_pong.send(n).await.is_err() {
                return;
            }
            match ping_rx.recv().await {
                Some(v) => n = v,
                None => return,
            }
            if n % 64 == 0 {
                // Pace it so the control does not burn a whole core.
                tokio::time::sleep(Duration::from_millis(2)).await;
                stats::bump(&stats::HEALTHY);
            }
        }
    });
    tokio::spawn(async move {
        while let Some(v) = pong_rx.recv().await {
            if to_ping.send(v + 1).await.is_err() {
                return;
            }
        }
    });
}

const OFFLOAD_BURST: Duration = Duration::from_millis(50);
const OFFLOAD_PERIOD: Duration = Duration::from_millis(300);

async fn offload_loop() {
    loop {
        tokio::time::sleep(OFFLOAD_PERIOD).await;
        let r = tokio::task::spawn_blocking(|| offloaded_digest(OFFLOAD_BURST)).await;
        black_box(r.ok());
        stats::bump(&stats::HEALTHY);
    }
}

/// Right way: CPU-heavy work on the blocking pool, ~50 ms per call.
#[inline(never)]
pub fn offloaded_digest(burst: Duration) -> u64 {
    let buf = [0x42u8; 16 * 1024];
    let deadline = Instant::now() + burst;
    let mut h: u64 = 0x8422_2325;
    while Instant::now() < deadline {
        let b = black_box(&buf[..]);
        let mut i = 0;
        while i < b.len() {
            h = (((h ^ b[i] as u64) << 5) | (h >> 59)) * 0x0000_0100_0000_01b3; i += 1; // HUD-HEALTHY: spawn_blocking offloaded_digest
        }
    }
    h
}

async fn short_task_bursts() {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut handles = Vec::with_capacity(64);
        for i in 0..64u64 {
            handles.push(tokio::spawn(short_task(i)));
        }
        for h in handles {
            black_box(h.await.ok());
        }
        stats::bump(&stats::HEALTHY);
    }
}

async fn short_task(seed: u64) -> u64 {
    let mut acc = seed;
    for _ in 0..3 {
        for k in 0..200u64 {
            acc = acc.rotate_left(3) ^ k;
        }
        tokio::task::yield_now().await; // HUD-HEALTHY: yield short_task
    }
    acc
}
