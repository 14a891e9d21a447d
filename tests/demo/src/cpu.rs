//! Scenario "cpu": an async handler that runs a CPU-bound checksum for ~40 ms
//! every ~200 ms directly on a Tokio worker thread, never yielding.
//!
//! Expected hud verdict: worker blocked on-CPU in `hud_demo::cpu::compute_checksum`
//! (called from `hud_demo::cpu::handle_cpu_request`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::stats;

const BUF_LEN: usize = 64 * 1024;
const BURST: Duration = Duration::from_millis(40);
const PERIOD: Duration = Duration::from_millis(200);

pub async fn run() {
    let buf: Vec<u8> = (0..BUF_LEN).map(|i| (i.wrapping_mul(31) ^ 0x5a) as u8).collect();
    loop {
        tokio::time::sleep(PERIOD).await;
        let sum = handle_cpu_request(&buf).await;
        black_box(sum);
        stats::bump(&stats::CPU);
    }
}

/// WRONG: CPU-heavy work inside an async fn with no `.await` in the loop.
#[inline(never)]
pub async fn handle_cpu_request(buf: &[u8]) -> u64 {
    let deadline = Instant::now() + BURST;
    let mut sum = 0u64;
    while Instant::now() < deadline {
        sum ^= compute_checksum(black_box(buf));
    }
    sum
}

/// FNV-1a style hash written with plain operators (no inlined library calls)
/// so samples land on the marked line.
#[inline(never)]
pub fn compute_checksum(buf: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let n = buf.len();
    let mut i = 0;
    // One line, the loop's test included: a sample of the test is this function on CPU too.
    while i < n { h = (h ^ buf[i] as u64) * 0x0000_0100_0000_01b3; i += 1; } // HUD-CULPRIT: cpu compute_checksum
    h
}
