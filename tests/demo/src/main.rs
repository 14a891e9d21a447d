//! hud-demo: a Tokio app with deliberately blocking async code, used to test
//! hud. Each culprit's blocking line carries a trailing comment
//! "HUD-CULPRIT: KIND NAME" (KIND = cpu|sleep|fsync|write|mutex|mutex-hold|deadlock; a function that
//! blocks at several lines has one on each)
//! so tests can find the expected file:line with grep; healthy controls' hot
//! lines are tagged "HUD-HEALTHY: KIND NAME" the same way.

mod busy;
mod chatter;
mod clockspin;
mod naps;
mod twins;
mod slowpipe;
mod closures;
mod cpu;
mod deadlock;
mod drain;
mod fsync;
mod healthy;
mod inplace;
mod mutex;
mod net;
mod pool;
mod pressure;
mod second;
mod sleep;
mod stats;

use std::io::Write;
use std::process::exit;
use std::time::Duration;

const ALL_SCENARIOS: [&str; 20] = [
    "cpu", "sleep", "fsync", "mutex", "net", "healthy", "pressure", "busy", "yielder", "selfwake", "inplace", "drain",
    "pool", "closures", "clockspin", "naps", "yieldnaps", "twins", "slowpipe",
    "chatter",
];
/// The default set: everything but CPU pressure, busy workers, block_in_place, a drained
/// channel, which disturb the others, the blocking pool waiting (a control of its own) and two
/// culprits that are async blocks of one function.
const DEFAULT_SCENARIOS: [&str; 6] = ["cpu", "sleep", "fsync", "mutex", "net", "healthy"];
const STATUS_EVERY: Duration = Duration::from_secs(5);

struct Opts {
    workers: usize,
    scenarios: Vec<&'static str>,
    duration: Option<Duration>,
    deadlock: bool,
    quiet: bool,
    thread_name: Option<String>,
    numbered: bool,
    current_thread: bool,
    busy_tasks: usize,
    second_runtime: Option<String>,
    pool_keep_alive: Option<Duration>,
    pool_burst: usize,
}

const USAGE: &str = "usage: hud-demo [--scenario LIST] [--workers N] [--duration SECS] [--deadlock] [--quiet]
  --scenario LIST  comma list of cpu,sleep,fsync,mutex,net,healthy,pressure,busy,
                   yielder,selfwake,inplace,drain,pool,closures,clockspin,naps,
                   yieldnaps,twins,
                   slowpipe,chatter, all, or none (default: the first six)
  --workers N      Tokio worker threads (default 4)
  --duration SECS  exit after SECS seconds (default: run until SIGINT/SIGTERM)
                   (forced 2 s later even if the runtime is stalled)
  --deadlock       ~1 s in, a task locks a std Mutex twice (one worker hangs forever;
                   with --workers 1 the whole runtime stalls, SIGINT/SIGTERM included)
  --thread-name N  name the runtime's threads N (workers and blocking pool alike)
  --numbered       with --thread-name: name them N-0, N-1, ...
  --current-thread a current_thread runtime on the main thread instead
  --pool-keep-alive MS   blocking-pool threads exit after MS idle (Tokio's default: 10 s),
                   so the pool's threads come and go
  --pool-burst N   closures the pool scenario starts at once (default 2)
  --second-runtime NAME  also a current_thread runtime on a thread named NAME, its task
                   blocking (std::thread::sleep 30 ms every ~100 ms)
  --busy-tasks N   tasks per worker in the busy scenario (default 1)
  --quiet          no status lines";

fn usage_error(msg: &str) -> ! {
    eprintln!("hud-demo: {}\n{}", msg, USAGE);
    exit(2);
}

fn parse_args() -> Opts {
    let mut o = Opts {
        workers: 4,
        scenarios: DEFAULT_SCENARIOS.to_vec(),
        duration: None,
        deadlock: false,
        quiet: false,
        thread_name: None,
        numbered: false,
        current_thread: false,
        busy_tasks: 1,
        second_runtime: None,
        pool_keep_alive: None,
        pool_burst: 2,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (flag, inline_val) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> String {
            inline_val
                .clone()
                .or_else(|| args.next())
                .unwrap_or_else(|| usage_error(&format!("{} needs a value", name)))
        };
        match flag.as_str() {
            "--scenario" | "--scenarios" => {
                let v = value("--scenario");
                let mut list = Vec::new();
                for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if s == "all" {
                        list.extend_from_slice(&ALL_SCENARIOS);
                        continue;
                    }
                    if s == "none" {
                        continue;
                    }
                    match ALL_SCENARIOS.iter().find(|&&k| k == s) {
                        Some(k) => list.push(*k),
                        None => usage_error(&format!("unknown scenario '{}'", s)),
                    }
                }
                // Keep canonical order, drop duplicates.
                o.scenarios = ALL_SCENARIOS.iter().copied().filter(|k| list.contains(k)).collect();
            }
            "--workers" => {
                let v = value("--workers");
                o.workers = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => usage_error(&format!("bad --workers '{}'", v)),
                };
            }
            "--duration" => {
                let v = value("--duration");
                o.duration = match v.parse::<f64>() {
                    Ok(s) if s >= 0.0 && s.is_finite() => Some(Duration::from_secs_f64(s)),
                    _ => usage_error(&format!("bad --duration '{}'", v)),
                };
            }
            "--busy-tasks" => {
                let v = value("--busy-tasks");
                o.busy_tasks = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => usage_error(&format!("bad --busy-tasks '{}'", v)),
                };
            }
            "--deadlock" => o.deadlock = true,
            "--thread-name" => o.thread_name = Some(value("--thread-name")),
            "--numbered" => o.numbered = true,
            "--current-thread" => o.current_thread = true,
            "--second-runtime" => o.second_runtime = Some(value("--second-runtime")),
            "--pool-burst" => {
                let v = value("--pool-burst");
                match v.parse::<usize>() {
                    Ok(n) if (1..=256).contains(&n) => o.pool_burst = n,
                    _ => usage_error(&format!("bad --pool-burst '{}'", v)),
                }
            }
            "--pool-keep-alive" => {
                let v = value("--pool-keep-alive");
                match v.parse::<u64>() {
                    Ok(ms) if ms > 0 => o.pool_keep_alive = Some(Duration::from_millis(ms)),
                    _ => usage_error(&format!("bad --pool-keep-alive '{}'", v)),
                }
            }
            "--quiet" | "-q" => o.quiet = true,
            "--help" | "-h" => {
                println!("{}", USAGE);
                exit(0);
            }
            _ => usage_error(&format!("unknown argument '{}'", arg)),
        }
    }
    o
}

fn main() {
    let opts = parse_args();

    // Worker threads keep Tokio's default name, "tokio-runtime-worker",
    // unless a test asks for a custom one (hud must then find them by stack).
    let mut builder = if opts.current_thread {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(opts.workers);
        b
    };
    builder.enable_all();
    if let Some(d) = opts.pool_keep_alive {
        builder.thread_keep_alive(d);
    }
    if let Some(name) = opts.thread_name.clone() {
        if opts.numbered {
            let next = std::sync::atomic::AtomicUsize::new(0);
            builder.thread_name_fn(move || {
                format!("{}-{}", name, next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
            });
        } else {
            builder.thread_name(name);
        }
    }
    let rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hud-demo: cannot build runtime: {}", e);
            exit(1);
        }
    };

    if let Some(name) = &opts.second_runtime {
        second::start(name);
    }

    let mut names = opts.scenarios.join(",");
    if names.is_empty() {
        names.push_str("none");
    }
    if opts.deadlock {
        names.push_str(",deadlock");
    }
    println!(
        "hud-demo: pid {}, {} workers, scenarios {}",
        std::process::id(),
        opts.workers,
        names
    );
    let _ = std::io::stdout().flush();

    // If every worker is stuck (e.g. `--workers 1 --deadlock`) nothing drives
    // Tokio's timers or signals any more; make `--duration` hold regardless.
    if let Some(d) = opts.duration {
        let _ = std::thread::Builder::new()
            .name("hud-demo-watchdog".into())
            .spawn(move || {
                std::thread::sleep(d + Duration::from_secs(2));
                eprintln!("hud-demo: runtime stalled; forcing exit");
                fsync::cleanup();
                exit(0);
            });
    }

    rt.block_on(run(&opts));

    // A --deadlock worker never returns: do not wait for it. Remove the fsync
    // scenario's file only once the other workers have stopped writing it.
    rt.shutdown_timeout(Duration::from_millis(500));
    // How many times each scenario ran: what a profiler should have seen.
    println!("hud-demo: totals {}", stats::line());
    let _ = std::io::stdout().flush();
    fsync::cleanup();
}

async fn run(opts: &Opts) {
    for &s in &opts.scenarios {
        match s {
            "cpu" => drop(tokio::spawn(cpu::run())),
            "sleep" => drop(tokio::spawn(sleep::run())),
            "fsync" => drop(tokio::spawn(fsync::run())),
            "mutex" => mutex::spawn_all(),
            "healthy" => healthy::spawn_all(),
            "net" => drop(tokio::spawn(net::run())),
            "pressure" => pressure::spawn_all(),
            "busy" => busy::spawn_all(opts.workers, opts.busy_tasks),
            "yielder" => busy::spawn_one(),
            "selfwake" => busy::spawn_self_waking(opts.workers),
            "yieldnaps" => naps::spawn_yielding(opts.workers),
            // block_in_place panics on a current_thread runtime.
            "inplace" if opts.current_thread => eprintln!("hud-demo: inplace needs the multi-thread runtime; skipped"),
            "inplace" => inplace::spawn_all(),
            "drain" => drain::spawn_all(opts.workers),
            "pool" => pool::spawn_all(opts.pool_burst),
            "closures" => closures::spawn_all(),
            "clockspin" => drop(tokio::spawn(clockspin::run())),
            "naps" => drop(tokio::spawn(naps::run())),
            "twins" => twins::spawn_all(),
            "slowpipe" => drop(tokio::spawn(slowpipe::run())),
            "chatter" => chatter::spawn_all(),
            _ => unreachable!(),
        }
    }
    if !opts.quiet {
        tokio::spawn(status_loop());
    }

    let until_deadline = async {
        match opts.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending::<()>().await,
        }
    };
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hud-demo: cannot watch SIGTERM: {}", e);
            exit(1);
        }
    };
    // See deadlock.rs: spawned from this (non-worker) thread after ~1 s.
    let deadlock_trigger = async {
        if opts.deadlock {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(tokio::spawn(deadlock::run()));
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = deadlock_trigger => {}
        _ = until_deadline => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn status_loop() {
    let start = tokio::time::Instant::now();
    let mut tick = tokio::time::interval_at(start + STATUS_EVERY, STATUS_EVERY);
    loop {
        tick.tick().await;
        println!("hud-demo: t={}s {}", start.elapsed().as_secs(), stats::line());
        let _ = std::io::stdout().flush();
    }
}
