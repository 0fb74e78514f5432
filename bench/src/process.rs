//! Stopping a server the benchmark started: politely first, so it can close its sockets
//! (and, on the device stack, release the TAP for the next server), then for good.

use std::process::Child;
use std::time::{Duration, Instant};

/// Sends `SIGTERM`, waits up to 3 s for `child` to exit, then kills it.
pub fn stop(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's id; no memory is involved.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
