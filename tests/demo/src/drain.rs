//! Scenario "drain": one task per worker pair keeps a bounded channel full,
//! another drains it, spending ~5 µs a message (`healthy::short_compute`).
//! Every 128 messages Tokio's cooperative budget makes the consumer yield
//! (its `recv` returns Pending after waking it), and with nothing else to
//! run its worker polls it again at once. Not in the default set: it keeps
//! both CPUs busy.
//!
//! Expected hud verdict: no `cpu` block (no poll takes more than ~1 ms).
//! Two polls of the consumer in a row leave the frames outside the poll
//! the same and no epoll_wait between them; hud tells them apart by Tokio's
//! per-thread CONTEXT (the budget starts afresh at each poll). Without it:
//! 76 blocks of up to 869 ms in 10 s.

use std::hint::black_box;
use std::time::Duration;

use crate::healthy::short_compute;
use crate::stats;

pub fn spawn_all(workers: usize) {
    for _ in 0..(workers / 2).max(1) {
        let (tx, rx) = tokio::sync::mpsc::channel::<u64>(1024);
        tokio::spawn(produce(tx));
        tokio::spawn(consume(rx));
    }
}

async fn produce(tx: tokio::sync::mpsc::Sender<u64>) {
    let mut i = 0u64;
    while tx.send(i).await.is_ok() {
        i = i.wrapping_add(1);
    }
}

async fn consume(mut rx: tokio::sync::mpsc::Receiver<u64>) {
    let mut n = 0u64;
    while let Some(v) = rx.recv().await {
        black_box(short_compute(v, Duration::from_micros(5)));
        n += 1;
        if n % 100_000 == 0 {
            stats::bump(&stats::HEALTHY);
        }
    }
}
