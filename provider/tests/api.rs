//! The `/api/*` documents when the table is large: rendered whole in a block of their
//! own when they outgrow the connection buffer, and `503` (never a truncated document)
//! when memory for that block is short.

mod common;

use common::{json, Conn, Provider};

/// Opens `n` keep-alive connections that each made one request and now sit idle.
fn idle_connections(addr: std::net::SocketAddr, n: usize) -> Vec<Conn> {
    (0..n)
        .map(|_| {
            let mut c = Conn::open(addr).unwrap();
            assert_eq!(c.get("/api/pool", "").unwrap().status, 200);
            c
        })
        .collect()
}

fn internal(addr: std::net::SocketAddr) -> (u64, u64) {
    let m = json(addr, "/api/memory");
    let r = &m["regions"][0];
    (r["used"].as_u64().unwrap(), r["free"].as_u64().unwrap())
}

/// A provider with sockets for 60 idle connections from one peer and more.
fn with_room_for_60_idle(extra: &[&str]) -> Provider {
    let mut args = vec![
        "--max-sockets",
        "64",
        "--stack-sockets",
        "80",
        "--per-peer-cap",
        "64",
    ];
    args.extend_from_slice(extra);
    Provider::start(&args)
}

#[test]
fn a_document_larger_than_the_connection_buffer_is_rendered_whole() {
    let p = with_room_for_60_idle(&[]);
    let _held = idle_connections(p.addr, 60);
    let (used_before, _) = internal(p.addr);

    let r = common::get(p.addr, "/api/connections").unwrap();
    assert_eq!(r.status, 200);
    // Bigger than the 4 KiB connection buffer the small documents are rendered in.
    assert!(r.body.len() > 4096, "{} bytes", r.body.len());
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    let doc: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let listed = doc["connections"].as_array().unwrap().len();
    // The 60 idle ones and this request's own.
    assert_eq!(listed, 61, "{doc}");
    assert_eq!(doc["open"], 61);
    assert_eq!(doc["idle"], 60);

    // The block went back when the response was sent.
    let (used_after, _) = internal(p.addr);
    assert_eq!(used_after, used_before);
}

#[test]
fn no_memory_for_a_large_document_is_503_not_a_truncated_one() {
    // 60 idle connections × 256 B of state + a 4 KiB request buffer leave ~3 KiB free:
    // room for the small documents, not for the ~6 KiB table.
    let p = with_room_for_60_idle(&["--internal-ram", "24576"]);
    let _held = idle_connections(p.addr, 60);
    let (_, free) = internal(p.addr);
    assert!(free < 6000, "{free} bytes free: the test needs less");

    let mut c = Conn::open(p.addr).unwrap();
    let r = c.get("/api/connections", "").unwrap();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    // The connection and the server carry on.
    let r = c.get("/api/status", "").unwrap();
    assert_eq!(r.status, 200);
    let status: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(status["config"]["internal_ram"], 24576);
}

#[test]
fn head_of_the_event_stream_is_the_head_alone() {
    let p = Provider::start(&[]);
    let out = common::raw(p.addr, b"HEAD /api/events HTTP/1.1\r\nHost: a\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Content-Type: text/event-stream\r\n"), "{out}");
    // No body, no stream: the server closes instead of sending events (a stream would
    // have sent `retry:` and the first snapshot at once).
    assert!(out.ends_with("\r\n\r\n"), "{out}");
    assert!(!out.contains("event:"), "{out}");
}

#[test]
fn status_reports_the_address_the_server_listens_on() {
    // Started with `--bind 127.0.0.1:0`: the port is the one the system picked.
    let p = Provider::start(&[]);
    let status = json(p.addr, "/api/status");
    assert_eq!(status["config"]["bind"], p.addr.to_string(), "{status}");
}
