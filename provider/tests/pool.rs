//! The buffer pool end to end: concurrent transfers never corrupt each other, waiters
//! are served, overflow gets 503, and nothing leaks.

mod common;

use std::path::PathBuf;

use common::{get, json, page_paths, Conn, Provider};
use sha2::{Digest, Sha256};

fn dist_file(path: &str) -> Vec<u8> {
    let p = if path == "/" { "/index.html" } else { path };
    let f = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../web/dist")
        .join(&p[1..]);
    std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
}

fn fifty_concurrent_downloads(pool: &str) {
    // Sockets for all fifty at once, so that only the pool is under test here.
    let p = Provider::start(&[
        "--pool-buffers",
        pool,
        "--max-sockets",
        "60",
        "--stack-sockets",
        "70",
    ]);
    let paths: Vec<String> = page_paths(p.addr)
        .into_iter()
        .filter(|p| !p.starts_with("/api"))
        .collect();
    let want: Vec<(String, [u8; 32])> = paths
        .iter()
        .map(|p| (p.clone(), Sha256::digest(dist_file(p)).into()))
        .collect();
    assert!(
        want.iter().any(|(p, _)| dist_file(p).len() > 64 * 1024),
        "need an asset over 64 KB"
    );
    let addr = p.addr;
    let bad: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..50)
            .map(|i| {
                let want = &want;
                s.spawn(move || {
                    let mut bad = Vec::new();
                    let mut c = Conn::open(addr).unwrap();
                    for k in 0..want.len() {
                        let (path, digest) = &want[(i + k) % want.len()];
                        match c.get(path, "") {
                            Ok(r) if r.status == 200 => {
                                let got: [u8; 32] = Sha256::digest(&r.body).into();
                                if &got != digest {
                                    bad.push(format!(
                                        "{path}: corrupted body ({} bytes)",
                                        r.body.len()
                                    ));
                                }
                            }
                            other => bad.push(format!("{path}: {other:?}")),
                        }
                    }
                    bad
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(bad.is_empty(), "pool {pool}: {bad:?}");
    let stats = json(addr, "/api/pool");
    let chunks: u64 = pool.parse().unwrap();
    assert!(stats["allocated"].as_u64().unwrap() <= chunks, "{stats}");
    assert!(stats["high_water"].as_u64().unwrap() <= chunks, "{stats}");
}

#[test]
fn fifty_concurrent_downloads_byte_identical_pool_of_1() {
    fifty_concurrent_downloads("1");
}

#[test]
fn fifty_concurrent_downloads_byte_identical_pool_of_10() {
    fifty_concurrent_downloads("10");
}

fn concurrent_status(addr: std::net::SocketAddr, n: usize) -> Vec<u16> {
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..n)
            .map(|_| s.spawn(move || get(addr, "/api/status").map(|r| r.status).unwrap_or(0)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn exhausted_pool_queues_waiters_then_returns_to_baseline() {
    // Two buffers; each API answer holds one for 300 ms: six requests must queue.
    let p = Provider::start(&[
        "--pool-buffers",
        "2",
        "--api-delay-ms",
        "300",
        "--queue-timeout-ms",
        "5000",
    ]);
    let statuses = concurrent_status(p.addr, 6);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let stats = json(p.addr, "/api/pool");
    assert!(stats["waits"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["allocated"], 2, "{stats}");
    // The /api/pool request itself holds a chunk while it is answered.
    assert_eq!(stats["leased"], 1, "{stats}");
    assert_eq!(stats["timeouts"], 0, "{stats}");
}

#[test]
fn pool_overflow_past_the_deadline_gets_503_and_nothing_leaks() {
    let p = Provider::start(&[
        "--pool-buffers",
        "1",
        "--api-delay-ms",
        "500",
        "--queue-timeout-ms",
        "100",
    ]);
    let statuses = concurrent_status(p.addr, 5);
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 503),
        "{statuses:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    let stats = json(p.addr, "/api/pool");
    assert!(stats["timeouts"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(
        stats["leased"], 1,
        "only the request reading the stats: {stats}"
    );
    assert_eq!(stats["allocated"], 1, "{stats}");
    let mem = json(p.addr, "/api/memory");
    let internal = &mem["regions"][0];
    assert_eq!(internal["name"], "internal");
    // One pool chunk plus the state of the one connection asking.
    let chunk = 4096;
    let used = internal["used"].as_u64().unwrap();
    assert!(used >= chunk && used < chunk + 4096, "{mem}");
}

#[test]
fn memory_and_pool_report_regions_and_placement() {
    let p = Provider::start(&["--psram", "8388608"]);
    let mem = json(p.addr, "/api/memory");
    let regions = mem["regions"].as_array().unwrap();
    assert_eq!(regions[0]["name"], "internal");
    assert_eq!(regions[1]["name"], "external");
    assert_eq!(regions[1]["capacity"], 8388608);
    assert_eq!(regions[0]["capacity"], 327680);
    let pool = json(p.addr, "/api/pool");
    assert_eq!(pool["placement"], "prefer_internal");
    assert_eq!(pool["chunk_size"], 4096);
    assert_eq!(pool["chunks"], 10);
    assert_eq!(pool["in_internal"], 1, "{pool}");
}

#[test]
fn internal_ram_exhaustion_degrades_to_503_not_a_crash() {
    // 4 KB of internal RAM: the first connection's state fits, its buffer does not.
    let p = Provider::start(&["--internal-ram", "4096"]);
    let r = get(p.addr, "/api/status").unwrap();
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    // Still accepting and answering.
    let r = get(p.addr, "/").unwrap();
    assert_eq!(r.status, 503);
}
