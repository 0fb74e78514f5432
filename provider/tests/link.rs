//! The upstream WebSocket link as a user sees it through `/api/link`.

mod common;

use common::{json, link_when, Provider};
use portico_testkit::ws_echo;

/// A WebSocket server (tokio-tungstenite, independent of our client) that greets each
/// connection and echoes what it receives. Runs on its own thread.
fn upstream() -> std::net::SocketAddr {
    ws_echo::start_on_thread(ws_echo::Options {
        greeting: Some("hello device".to_string()),
        ..Default::default()
    })
}

#[test]
fn link_connects_and_reports_where_its_memory_lives() {
    let up = upstream();
    let url = format!("ws://{up}/device");
    // No PSRAM: every block falls back to internal RAM, and says so.
    let p = Provider::start(&["--upstream", &url]);
    let v = link_when(p.addr, |v| {
        v["state"] == "connected" && v["messages_in"].as_u64() >= Some(1)
    });
    assert_eq!(v["state"], "connected", "{v}");
    assert_eq!(v["configured"], true);
    assert_eq!(v["url"], url.as_str());
    let blocks = v["memory"].as_array().unwrap();
    assert!(!blocks.is_empty(), "{v}");
    for b in blocks.iter().filter(|b| b["region"] != "task") {
        assert_eq!(b["region"], "internal", "{v}");
    }
    let mem = json(p.addr, "/api/memory");
    assert!(mem["regions"][0]["used"].as_u64().unwrap() > 0);
    drop(p);
    // With PSRAM the same blocks land in external RAM.
    let p = Provider::start(&["--upstream", &url, "--psram", "8388608"]);
    let v = link_when(p.addr, |v| v["state"] == "connected");
    let external: Vec<_> = v["memory"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["region"] == "external")
        .collect();
    assert!(!external.is_empty(), "{v}");
    let mem = json(p.addr, "/api/memory");
    assert!(mem["regions"][1]["used"].as_u64().unwrap() > 0, "{mem}");
}

#[test]
fn unreachable_upstream_backs_off_and_the_server_keeps_serving() {
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let p = Provider::start(&["--upstream", &format!("ws://{dead}/x")]);
    let v = link_when(p.addr, |v| v["last_error"].is_string());
    assert!(v["last_error"].is_string(), "{v}");
    assert_ne!(v["state"], "connected");
    assert_eq!(common::get(p.addr, "/api/status").unwrap().status, 200);
}

#[test]
fn bad_upstream_url_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(["--bind", "127.0.0.1:0", "--upstream", "http://example/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ws://"));
}
