//! The dashboard's admin actions through the public API: close one connection by its
//! identity, restart the upstream link.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{json, Conn, Provider};
use portico_testkit::ws_echo;

/// Sends a same-origin request with `method` and no body; returns the status.
fn send(addr: SocketAddr, method: &str, path: &str) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: a\r\nOrigin: http://a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0)
}

/// The id `/api/connections` gives the connection whose client end is `local`.
fn id_of(addr: SocketAddr, local: SocketAddr) -> String {
    let doc = json(addr, "/api/connections");
    let rows = doc["connections"].as_array().expect("connections");
    rows.iter()
        .find(|r| r["peer"] == local.to_string().as_str())
        .unwrap_or_else(|| panic!("{local} not in {doc}"))["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[test]
fn close_a_connection_by_its_identity() {
    let p = Provider::start(&[]);
    let mut idle = Conn::open(p.addr).unwrap();
    assert_eq!(idle.get("/api/pool", "").unwrap().status, 200);
    let id = id_of(p.addr, idle.local_addr());

    assert_eq!(
        send(p.addr, "DELETE", &format!("/api/connections/{id}")),
        204
    );
    // The server closed it: the next request on it finds the connection gone.
    assert!(
        idle.get("/api/pool", "").is_err(),
        "still open after DELETE"
    );
    // The same id again: nothing open has it.
    assert_eq!(
        send(p.addr, "DELETE", &format!("/api/connections/{id}")),
        404
    );

    // A newcomer that reuses the slot has a new generation: the stale id does not
    // reach it.
    let mut next = Conn::open(p.addr).unwrap();
    assert_eq!(next.get("/api/pool", "").unwrap().status, 200);
    let new_id = id_of(p.addr, next.local_addr());
    let slot = |id: &str| id.split('.').next().unwrap().to_string();
    assert_eq!(slot(&new_id), slot(&id), "the slot is reused (lowest free)");
    assert_ne!(new_id, id);
    assert_eq!(
        send(p.addr, "DELETE", &format!("/api/connections/{id}")),
        404
    );
    assert_eq!(
        next.get("/api/pool", "").unwrap().status,
        200,
        "stale id closed it"
    );

    assert_eq!(send(p.addr, "DELETE", "/api/connections/x"), 400);
    // Another site's page cannot close connections.
    let mut s = TcpStream::connect(p.addr).unwrap();
    write!(
        s,
        "DELETE /api/connections/{new_id} HTTP/1.1\r\nHost: a\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
}

#[test]
fn restart_the_link() {
    let p = Provider::start(&[]);
    assert_eq!(
        send(p.addr, "POST", "/api/link/restart"),
        404,
        "no link configured"
    );
    drop(p);

    let up = ws_echo::start_on_thread(ws_echo::Options::default());
    let p = Provider::start(&["--upstream", &format!("ws://{up}/device")]);
    let connects = |p: &Provider| json(p.addr, "/api/link")["connects"].as_u64().unwrap_or(0);
    let wait = |p: &Provider, n: u64| {
        let t0 = Instant::now();
        while connects(p) < n && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(50));
        }
        connects(p)
    };
    assert_eq!(wait(&p, 1), 1);
    assert_eq!(send(p.addr, "POST", "/api/link/restart"), 204);
    assert_eq!(wait(&p, 2), 2, "{}", json(p.addr, "/api/link"));
    assert_eq!(json(p.addr, "/api/link")["state"], "connected");
}
