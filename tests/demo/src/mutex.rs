//! Scenario "mutex": several tasks contend a `std::sync::Mutex`; the holder
//! keeps it ~12 ms doing CPU work, so the other workers block in `lock()`.
//! Every ~150 ms a burst of request tasks is spawned at once, so most rounds
//! have waiters.
//!
//! Expected hud verdict: workers blocked off-CPU (futex) in
//! `hud_demo::mutex::update_shared_state` at the `lock()` line, and the holder
//! on-CPU in `hud_demo::mutex::rebalance_ledger`.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stats;

const CONTENDERS: usize = 3;
const HOLD: Duration = Duration::from_millis(12);
const PERIOD: Duration = Duration::from_millis(150);

pub struct Ledger {
    balances: Vec<u64>,
}

pub fn spawn_all() {
    let ledger = Arc::new(Mutex::new(Ledger { balances: vec![1; 1024] }));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // A burst of request tasks at once: spawning several from a worker
            // wakes idle workers to steal them, so they run in parallel and
            // all but one block in lock().
            for id in 0..CONTENDERS {
                let ledger = Arc::clone(&ledger);
                drop(tokio::spawn(async move {
                    handle_transfer(&ledger, id as u64).await;
                    stats::bump(&stats::MUTEX);
                }));
            }
        }
    });
}

#[inline(never)]
pub async fn handle_transfer(ledger: &Mutex<Ledger>, id: u64) {
    update_shared_state(ledger, id);
}

/// WRONG: a std Mutex held across long work, taken from async code.
#[inline(never)]
pub fn update_shared_state(ledger: &Mutex<Ledger>, id: u64) {
    let mut guard = ledger.lock().unwrap_or_else(|p| p.into_inner()); // HUD-CULPRIT: mutex update_shared_state
    rebalance_ledger(&mut guard, id, HOLD);
}

/// Runs while the lock is held, for `hold` of wall-clock time.
#[inline(never)]
pub fn rebalance_ledger(ledger: &mut Ledger, id: u64, hold: Duration) {
    let deadline = Instant::now() + hold;
    let b = &mut ledger.balances;
    let n = b.len();
    // The whole hold is one line, so the marker names every sample of it:
    // on lines of their own, the deadline check and the loops' own tests
    // took 1-5% of this function's samples (0.3% with the clock read once
    // per 16 passes), each a CPU block named at another line.
    while Instant::now() < deadline { for _ in 0..16 { let mut i = 1; while i < n { b[i] = (b[i] ^ b[i - 1] ^ id) * 0x9e37_79b9_7f4a_7c15; i += 1; } black_box(&mut *b); } } // HUD-CULPRIT: mutex-hold rebalance_ledger
}
