//! Scenario "net": an async handler that talks to a backend with blocking
//! std::net I/O. A local backend (a plain std thread on 127.0.0.1) answers
//! each request after ~15 ms, so the worker sleeps in `read` for that long.
//!
//! Expected hud verdict: worker blocked off-CPU in `hud_demo::net::fetch_blocking`.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use crate::stats;

const BACKEND_DELAY: Duration = Duration::from_millis(15);
const PERIOD: Duration = Duration::from_millis(250);

fn start_backend() -> Option<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = listener.local_addr().ok()?;
    std::thread::Builder::new()
        .name("hud-demo-backend".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                let mut buf = [0u8; 64];
                if c.read(&mut buf).unwrap_or(0) == 0 {
                    continue;
                }
                std::thread::sleep(BACKEND_DELAY);
                let _ = c.write_all(b"pong");
            }
        })
        .ok()?;
    Some(addr)
}

pub async fn run() {
    let Some(addr) = start_backend() else {
        eprintln!("hud-demo: net scenario: cannot listen on 127.0.0.1");
        return;
    };
    loop {
        tokio::time::sleep(PERIOD).await;
        handle_net_request(addr).await;
        stats::bump(&stats::NET);
    }
}

#[inline(never)]
pub async fn handle_net_request(addr: SocketAddr) {
    black_box(fetch_blocking(addr).ok());
}

/// WRONG: synchronous network I/O inside async code.
#[inline(never)]
pub fn fetch_blocking(addr: SocketAddr) -> std::io::Result<usize> {
    let mut s = TcpStream::connect(addr)?;
    s.write_all(b"ping")?;
    let mut reply = [0u8; 16];
    let n = s.read(&mut reply)?; // HUD-CULPRIT: net fetch_blocking
    black_box(&reply);
    Ok(n)
}
