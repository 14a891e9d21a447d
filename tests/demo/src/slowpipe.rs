//! Scenario "slowpipe": a task writes 32 KiB at a time into a pipe that a
//! slow reader (a thread taking 4 KiB every 10 ms) keeps full, and yields
//! between writes, as logging into a slow consumer's pipe does. Each write
//! sleeps about eight times, ~10 ms each, before it ends (~80 ms). Not in
//! the default set.
//!
//! Expected hud verdict: one `off_cpu` block per write at the write's line,
//! as long as the write. Each sleep is longer than the threshold, so each
//! makes a record of its own; hud joins the records of one write call (the
//! kernel counts read and write calls as they end), and not those of the
//! next write (before: 1,484 blocks of ~10 ms for a tester's 183 writes,
//! and before that, joined across the writes, 3 blocks of up to 15 s).

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::io::FromRawFd;
use std::time::Duration;

use crate::stats;

extern "C" {
    fn pipe(fds: *mut i32) -> i32;
}

fn reader(mut r: File) {
    let mut b = [0u8; 4096];
    loop {
        std::thread::sleep(Duration::from_millis(10));
        if r.read_exact(&mut b).is_err() {
            return;
        }
    }
}

pub async fn run() {
    let mut fds = [0i32; 2];
    // SAFETY: pipe() fills the two descriptors, each then owned by one File.
    let (r, mut w) = unsafe {
        assert_eq!(pipe(fds.as_mut_ptr()), 0, "pipe");
        (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1]))
    };
    std::thread::spawn(move || reader(r));
    let buf = vec![0u8; 32768];
    loop {
        w.write_all(&buf).unwrap(); // the slow pipe's write: one off_cpu block each
        stats::bump(&stats::PIPE_WRITES);
        tokio::task::yield_now().await;
    }
}
