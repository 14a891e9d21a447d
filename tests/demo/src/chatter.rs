//! Scenario "chatter": a plain thread (not Tokio's) asks a task for an
//! answer every ~150 µs and waits for it, as a server's clients keep a
//! runtime busy: the worker that serves it parks between requests, thousands
//! of times a second, and never for long. Not in the default set.
//!
//! Expected hud verdict: nothing reported (the parks are Tokio's idle
//! parks). With `--workers 1` every park of the worker is short: hud learns
//! from the parks' stacks, not from a long park, that they are idle, and the
//! kernel side then passes over them without reading user memory (what that
//! costs a busy runtime: docs/PERFORMANCE.md).

use std::time::Duration;

pub fn spawn_all() {
    let (ask, mut asked) = tokio::sync::mpsc::channel::<u64>(1);
    let (answer, answers) = std::sync::mpsc::channel::<u64>();
    tokio::spawn(async move {
        while let Some(n) = asked.recv().await {
            if answer.send(n.wrapping_add(1)).is_err() {
                return;
            }
        }
    });
    let client = move || {
        let mut n = 0u64;
        loop {
            std::thread::sleep(Duration::from_micros(150));
            if ask.blocking_send(n).is_err() {
                return;
            }
            match answers.recv() {
                Ok(v) => n = v,
                Err(_) => return,
            }
        }
    };
    if let Err(e) = std::thread::Builder::new().name("hud-demo-client".into()).spawn(client) {
        eprintln!("hud-demo: cannot start the chatter client: {}", e);
    }
}
