//! `--second-runtime NAME`: a second Tokio runtime in the same process, a
//! current_thread one on a thread of its own named NAME, whose one task
//! calls `std::thread::sleep(30 ms)` every ~100 ms. Its thread sleeps most
//! of the time, so CPU samples seldom see it: hud must find it as a worker
//! by its sleeping stack, beside the main runtime's workers.
//!
//! Its line is tagged "HUD-SECOND", not with the culprit tag the accuracy
//! figures count: it is not part of the default run.

use std::time::Duration;

pub fn start(name: &str) {
    let spawned = std::thread::Builder::new().name(name.to_string()).spawn(|| {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("hud-demo: cannot build the second runtime: {}", e);
                return;
            }
        };
        rt.block_on(async {
            loop {
                handle_report().await;
                tokio::time::sleep(Duration::from_millis(70)).await;
            }
        });
    });
    if let Err(e) = spawned {
        eprintln!("hud-demo: cannot start the second runtime's thread: {}", e);
    }
}

#[inline(never)]
async fn handle_report() {
    render_report(Duration::from_millis(30));
}

/// WRONG: a blocking sleep on the second runtime's only thread.
#[inline(never)]
fn render_report(d: Duration) {
    std::thread::sleep(d); // HUD-SECOND: sleep render_report
    // Not the same code as sleep.rs's throttle_backend: LLVM merges
    // identical functions into one address, which then has one name (as
    // addr2line and perf say too).
    std::hint::black_box(d + Duration::from_nanos(1));
}
