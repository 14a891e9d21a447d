//! Scenario "pressure": plain OS threads (not Tokio's) that burn CPU in
//! bursts, twice as many as there are CPUs, so runnable workers wait in the
//! kernel's run queue. Nothing in the app's async code is wrong here.
//!
//! Expected hud verdict: `sched_delay` events on the workers (CPU pressure),
//! and no `cpu` or `off_cpu` block blamed on healthy code because of it.

use std::hint::black_box;
use std::time::{Duration, Instant};

const BURST: Duration = Duration::from_millis(300);
const REST: Duration = Duration::from_millis(700);

pub fn spawn_all() {
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 2;
    for i in 0..n {
        let _ = std::thread::Builder::new()
            .name(format!("hud-demo-burn{}", i))
            .spawn(burn_loop);
    }
}

fn burn_loop() {
    let mut x: u64 = 1;
    loop {
        let end = Instant::now() + BURST;
        while Instant::now() < end {
            for _ in 0..1000 {
                x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }
        std::thread::sleep(REST);
    }
}
