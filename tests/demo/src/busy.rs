//! Scenario "busy": a loaded server's workers, which never park. One task
//! per worker runs ~1 ms of CPU and yields, over and over, so every worker
//! polls short tasks back to back without leaving the CPU. Not in the
//! default set: it keeps both CPUs busy.
//!
//! Expected hud verdict: the workers running, and no `cpu` block (no poll
//! comes near the threshold). hud 0.1 still reports `cpu` blocks here: two
//! polls of one task in a row look like one poll to it (see
//! docs/TROUBLESHOOTING.md, "A `cpu` block in a task that yields").

use std::hint::black_box;
use std::time::{Duration, Instant};

pub fn spawn_all(workers: usize) {
    for i in 0..workers.max(1) {
        tokio::spawn(spin_and_yield(i as u64));
    }
}

async fn spin_and_yield(mut seed: u64) {
    loop {
        seed = seed.wrapping_add(1);
        black_box(spin(seed, Duration::from_millis(1)));
        tokio::task::yield_now().await;
    }
}

#[inline(never)]
fn spin(seed: u64, d: Duration) -> u64 {
    let end = Instant::now() + d;
    let mut h = seed | 1;
    while Instant::now() < end {
        h = black_box(h.rotate_left(9).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)); // HUD-HEALTHY: cpu-short busy_spin
    }
    h
}
