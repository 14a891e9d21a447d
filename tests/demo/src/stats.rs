//! Per-scenario iteration counters, printed on the status line.

use std::sync::atomic::{AtomicU64, Ordering};

pub static CPU: AtomicU64 = AtomicU64::new(0);
pub static SLEEP: AtomicU64 = AtomicU64::new(0);
pub static FSYNC: AtomicU64 = AtomicU64::new(0);
pub type Counter = AtomicU64;
/// persist_record's calls that took 5 ms or more (hud's default threshold:
/// the ones hud can report at default settings): its open and fsync, which
/// sleep, and its write, which copies on CPU.
pub static FSYNC_SLOW: AtomicU64 = AtomicU64::new(0);
pub static WRITE_SLOW: AtomicU64 = AtomicU64::new(0);
pub static MUTEX: AtomicU64 = AtomicU64::new(0);
pub static HEALTHY: AtomicU64 = AtomicU64::new(0);
pub static NET: AtomicU64 = AtomicU64::new(0);
pub static CLOCKSPIN: AtomicU64 = AtomicU64::new(0);
pub static NAPS: AtomicU64 = AtomicU64::new(0);
pub static TWIN_NAPS: AtomicU64 = AtomicU64::new(0);
pub static TWIN_SPINS: AtomicU64 = AtomicU64::new(0);
pub static PIPE_WRITES: AtomicU64 = AtomicU64::new(0);

pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

pub fn line() -> String {
    let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
    format!(
        "cpu={} sleep={} fsync={} fsync_slow={} write_slow={} mutex={} net={} healthy={} clockspin={} naps={} twin_naps={} twin_spins={} pipe_writes={}",
        g(&CPU),
        g(&SLEEP),
        g(&FSYNC),
        g(&FSYNC_SLOW),
        g(&WRITE_SLOW),
        g(&MUTEX),
        g(&NET),
        g(&HEALTHY),
        g(&CLOCKSPIN),
        g(&NAPS),
        g(&TWIN_NAPS),
        g(&TWIN_SPINS),
        g(&PIPE_WRITES)
    )
}
