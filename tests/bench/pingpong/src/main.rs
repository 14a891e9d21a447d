//! hud-pingpong: a context-switch-heavy Tokio workload for `./build.sh bench`.
//!
//! PAIRS pairs of tasks bounce a token through two bounded channels, the
//! ping task on one runtime and the pong task on another (WORKERS workers
//! each); every message wakes a parked worker of the other runtime, so
//! workers park and unpark all the time (tens of thousands of context
//! switches a second on two cores). A reporter thread prints, every REPORT ms,
//! "ELAPSED_NS ROUND_TRIPS" (both cumulative), so a caller measures the
//! throughput of any window from two lines. With --block-us N, the pong
//! task also blocks its worker for N microseconds in application code
//! (std::thread::sleep) before each reply: sleeps a profiler must report,
//! where parking is what it must not.
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

static TRIPS: AtomicU64 = AtomicU64::new(0);

const USAGE: &str =
    "usage: hud-pingpong [--pairs N] [--workers N] [--duration SECS] [--report MS] [--spin N] [--block-us N]";

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("{}", USAGE);
            std::process::exit(2)
        }),
        None => default,
    }
}

/// A little work per message, so a round trip is not only scheduling.
#[inline(never)]
fn work(token: u64, spin: u64) -> u64 {
    let mut x = token;
    for _ in 0..spin {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
    }
    x
}

async fn ping(tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>, spin: u64) {
    let mut token = 0u64;
    loop {
        if tx.send(token).await.is_err() {
            return;
        }
        match rx.recv().await {
            Some(t) => token = work(t, spin),
            None => return,
        }
        TRIPS.fetch_add(1, Ordering::Relaxed);
    }
}

async fn pong(tx: mpsc::Sender<u64>, mut rx: mpsc::Receiver<u64>, spin: u64, block_us: u64) {
    while let Some(t) = rx.recv().await {
        if block_us > 0 {
            std::thread::sleep(Duration::from_micros(block_us));
        }
        if tx.send(work(t, spin)).await.is_err() {
            return;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{}", USAGE);
        return;
    }
    let pairs = arg(&args, "--pairs", 16);
    let workers = arg(&args, "--workers", 2) as usize;
    let duration = arg(&args, "--duration", 0);
    let report = arg(&args, "--report", 50);
    let spin = arg(&args, "--spin", 1000);
    let block_us = arg(&args, "--block-us", 0);

    // Two runtimes: a wake from a thread outside a runtime goes through its
    // injection queue and unparks one of its workers. Within one runtime
    // Tokio keeps a woken task in the waker's LIFO slot, and a pair would
    // stay on one worker without ever switching.
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("tokio runtime")
    };
    let (rt_a, rt_b) = (runtime(), runtime());
    for _ in 0..pairs {
        let (tx_a, rx_a) = mpsc::channel(1);
        let (tx_b, rx_b) = mpsc::channel(1);
        rt_a.spawn(ping(tx_a, rx_b, spin));
        rt_b.spawn(pong(tx_b, rx_a, spin, block_us));
    }
    let start = Instant::now();
    let out = std::io::stdout();
    loop {
        std::thread::sleep(Duration::from_millis(report));
        let e = start.elapsed();
        let mut o = out.lock();
        let _ = writeln!(o, "{} {}", e.as_nanos(), TRIPS.load(Ordering::Relaxed));
        let _ = o.flush();
        if duration > 0 && e.as_secs() >= duration {
            break;
        }
    }
    rt_a.shutdown_timeout(Duration::from_millis(100));
    rt_b.shutdown_timeout(Duration::from_millis(100));
}
