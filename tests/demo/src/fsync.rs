//! Scenario "fsync": synchronous `std::fs` write + `File::sync_all()` inside an
//! async fn every ~300 ms.
//!
//! Expected hud verdict: worker blocked off-CPU (fsync) in
//! `hud_demo::fsync::persist_record` (called from `handle_fsync_request`).
//! Note: on tmpfs fsync is nearly free; the file lives in `std::env::temp_dir()`
//! (override with TMPDIR to point at a real disk).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::stats;

const RECORD_LEN: usize = 4 * 1024 * 1024;
const PERIOD: Duration = Duration::from_millis(300);
/// hud's default threshold: a shorter call is not a block it reports.
const SLOW: Duration = Duration::from_millis(5);

/// Temp file used by this scenario; removed by `cleanup()` on exit.
pub fn data_path() -> PathBuf {
    std::env::temp_dir().join(format!("hud-demo-{}.dat", std::process::id()))
}

pub fn cleanup() {
    let _ = std::fs::remove_file(data_path());
}

pub async fn run() {
    let path = data_path();
    let mut seq: u64 = 0;
    loop {
        tokio::time::sleep(PERIOD).await;
        seq += 1;
        if let Err(e) = handle_fsync_request(&path, seq).await {
            eprintln!("hud-demo: fsync scenario: {}: {}", path.display(), e);
            return;
        }
        stats::bump(&stats::FSYNC);
    }
}

#[inline(never)]
pub async fn handle_fsync_request(path: &Path, seq: u64) -> io::Result<()> {
    let record = vec![(seq & 0xff) as u8; RECORD_LEN];
    persist_record(path, &record)
}

/// WRONG: blocking file I/O + fsync on the async worker thread. Each of its
/// three calls blocks: the open truncates the last record (freeing 4 MiB of
/// blocks), the fsync waits for the disk asleep (at times on CPU first); the
/// write copies 4 MiB into the page cache, on CPU in the kernel (10-20 ms).
#[inline(never)]
pub fn persist_record(path: &Path, record: &[u8]) -> io::Result<()> {
    let t = Instant::now();
    let mut f = OpenOptions::new().create(true).write(true).truncate(true).open(path)?; // HUD-CULPRIT: fsync persist_record
    let t = timed(t, &stats::FSYNC_SLOW);
    f.write_all(record)?; // HUD-CULPRIT: write persist_record
    let t = timed(t, &stats::WRITE_SLOW);
    f.sync_all()?; // HUD-CULPRIT: fsync persist_record
    timed(t, &stats::FSYNC_SLOW);
    Ok(())
}

/// Counts a call that took hud's default threshold or more (one hud can
/// report at default settings) in slow; the time now, for the next call.
fn timed(start: Instant, slow: &stats::Counter) -> Instant {
    let now = Instant::now();
    if now - start >= SLOW {
        stats::bump(slow);
    }
    now
}
