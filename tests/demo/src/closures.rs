//! Scenario "closures": two tasks written as async blocks in one function,
//! each blocking in its own body. Rust names both
//! `hud_demo::closures::spawn_all::{{closure}}`, so only where each is
//! declared tells them apart: a profiler must keep them as two culprits,
//! each at its own line, not one that adds their blocks up at one line.

use std::time::{Duration, Instant};

pub fn spawn_all() {
    tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            std::thread::sleep(Duration::from_millis(15)); // HUD-CLOSURE: off_cpu first
        }
    });
    tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let end = Instant::now() + Duration::from_millis(30);
            let mut h = 1u64;
            while Instant::now() < end { h = std::hint::black_box(h.rotate_left(5) ^ 0x9e37); } // HUD-CLOSURE: cpu second
        }
    });
}
