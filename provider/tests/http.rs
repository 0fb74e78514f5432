//! HTTP/1.1 behaviour of the real provider over loopback: an independent client
//! (reqwest on hyper), raw bytes for the cases a polite client never sends.

mod common;

use common::{get, json, raw, Conn, Provider};

#[test]
fn reqwest_status_keep_alive_and_reuse() {
    let p = Provider::start(&[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = json(p.addr, "/api/connections")["counters"]["accepted"]
        .as_u64()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        for _ in 0..20 {
            let r = client
                .get(format!("http://{}/api/status", p.addr))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/json");
            assert_eq!(r.headers()["keep-alive"], "timeout=10");
            let v: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            assert_eq!(v["config"]["max_sockets"], 24);
            assert!(v["uptime_ms"].as_u64().is_some());
        }
        let r = client
            .get(format!("http://{}/nope.js", p.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = client
            .post(format!("http://{}/api/status", p.addr))
            // Same-origin, as the dashboard would send it (cross-site POSTs get 403).
            .header("Origin", format!("http://{}", p.addr))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET, HEAD, OPTIONS");
        let r = client
            .get(format!("http://{}/api/nothing", p.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    });
    let after = json(p.addr, "/api/connections")["counters"]["accepted"]
        .as_u64()
        .unwrap();
    // 22 requests on reused connections: the one before, reqwest's one, this one.
    assert!(
        after - before <= 3,
        "keep-alive not reused: {before} -> {after}"
    );
}

#[test]
fn pipelined_requests_in_order() {
    let p = Provider::start(&[]);
    let out = raw(
        p.addr,
        b"GET /api/status HTTP/1.1\r\nHost: a\r\n\r\nGET /nope.css HTTP/1.1\r\nHost: a\r\n\r\nHEAD /api/pool HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let statuses: Vec<&str> = out
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &out[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "404", "200"], "{out}");
    assert!(out.ends_with("\r\n\r\n"), "HEAD must have no body: {out}");
}

#[test]
fn http10_and_connection_close() {
    let p = Provider::start(&[]);
    let out = raw(p.addr, b"GET /api/status HTTP/1.0\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.contains("Connection: close\r\n"));
    let out = raw(
        p.addr,
        b"GET /api/status HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert!(out.contains("Connection: close\r\n"));
}

#[test]
fn bad_input_gets_the_right_status_and_a_close() {
    let p = Provider::start(&[]);
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(3000));
    let mut big_head = String::from("GET / HTTP/1.1\r\nHost: a\r\n");
    while big_head.len() < 6000 {
        big_head.push_str("X-Filler: 0123456789012345678901234567890123456789\r\n");
    }
    big_head.push_str("\r\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("malformed request line", b"GET\r\n\r\n".to_vec(), "400"),
        ("garbage", b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n".to_vec(), "400"),
        ("header without colon", b"GET / HTTP/1.1\r\nHost a\r\n\r\n".to_vec(), "400"),
        ("missing Host", b"GET / HTTP/1.1\r\n\r\n".to_vec(), "400"),
        ("CL + TE", b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(), "400"),
        ("two different CL", b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcd".to_vec(), "400"),
        ("obsolete line folding", b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n".to_vec(), "400"),
        ("bare LF", b"GET / HTTP/1.1\nHost: a\n\n".to_vec(), "400"),
        ("URI too long", long_uri.into_bytes(), "414"),
        ("head too large", big_head.into_bytes(), "431"),
        ("body too large", b"POST /api/status HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n".to_vec(), "413"),
        ("unknown method", b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(), "501"),
        ("CONNECT", b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n".to_vec(), "501"),
        ("final coding not chunked (RFC 9112 6.3)", b"POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(), "400"),
        ("unknown coding before chunked", b"POST /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(), "501"),
        ("HTTP/2.0 request line", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n".to_vec(), "505"),
        ("bad chunk size after a 405: answered, then closed", b"POST /api/status HTTP/1.1\r\nHost: a\r\nOrigin: http://a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec(), "405"),
        ("method not allowed", b"DELETE /api/status HTTP/1.1\r\nHost: a\r\nOrigin: http://a\r\nConnection: close\r\n\r\n".to_vec(), "405"),
    ];
    for (name, bytes, want) in cases {
        let out = raw(p.addr, &bytes);
        assert!(
            out.starts_with(&format!("HTTP/1.1 {want} ")),
            "{name}: {out:?}"
        );
        if want != "405" {
            assert!(out.contains("Connection: close\r\n"), "{name}: {out:?}");
        }
    }
    // Still serving.
    assert_eq!(get(p.addr, "/api/status").unwrap().status, 200);
}

#[test]
fn chunked_request_body_and_expect_continue() {
    let p = Provider::start(&[]);
    // The body is read and discarded for a GET route; the connection stays usable.
    let out = raw(
        p.addr,
        b"GET /api/status HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /api/pool HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
}

#[test]
fn static_assets_negotiation_validators_ranges() {
    let p = Provider::start(&[]);
    let mut c = Conn::open(p.addr).unwrap();
    let gz = c.get("/", "Accept-Encoding: gzip, deflate\r\n").unwrap();
    let plain = c.get("/", "").unwrap();
    assert_eq!(plain.status, 200);
    assert!(
        plain.text().contains("<html"),
        "identity body for a client without gzip"
    );
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    assert_eq!(
        plain.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let etag = plain.header("etag").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    if gz.header("content-encoding") == Some("gzip") {
        assert_ne!(
            gz.header("etag").unwrap(),
            etag,
            "each representation has its own ETag"
        );
        assert_eq!(&gz.body[..2], &[0x1f, 0x8b]);
    }
    let nm = c.get("/", &format!("If-None-Match: {etag}\r\n")).unwrap();
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
    let r = c.get("/", "Range: bytes=0-9\r\n").unwrap();
    assert_eq!(r.status, 206);
    assert_eq!(r.body, plain.body[..10]);
    assert_eq!(
        r.header("content-range").unwrap(),
        format!("bytes 0-9/{}", plain.body.len())
    );
    let r = c
        .get("/", &format!("Range: bytes={}-\r\n", plain.body.len()))
        .unwrap();
    assert_eq!(r.status, 416);
    // The dashboard routes with `#/…`: the provider embeds it without the SPA fallback,
    // so a path no file has is a 404, even for a browser's navigation.
    let nav = "Accept: text/html,*/*;q=0.8\r\n";
    assert_eq!(c.get("/connections", nav).unwrap().status, 404);
    assert_eq!(c.get("/missing.js", "").unwrap().status, 404);
    // Paths that climb above the root are malformed: 400 (and the connection closes).
    for evil in [
        "/../Cargo.toml",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%5c..%5cCargo.toml",
        "/assets/../../build.rs",
    ] {
        let r = get(p.addr, evil).unwrap();
        assert_eq!(r.status, 400, "{evil}");
    }
    // Hashed assets are immutable.
    let paths = common::page_paths(p.addr);
    let asset = paths
        .iter()
        .find(|p| p.starts_with("/assets/"))
        .expect("a hashed asset");
    let a = c.get(asset, "").unwrap();
    assert_eq!(a.status, 200);
    assert!(a.header("cache-control").unwrap().contains("immutable"));
}

/// The page paths every test and bench loads are the built dashboard's files: each file
/// of `web/dist` (which the provider embeds) is named by the page, and nothing else is.
#[test]
fn page_paths_are_the_files_of_the_built_dashboard() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    let mut files = vec!["/".to_string()];
    let mut dirs = vec![dist.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("web/dist is built by provider/build.rs") {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if !path.ends_with("index.html") {
                let rel = path.strip_prefix(&dist).unwrap().to_string_lossy();
                files.push(format!("/{rel}"));
            }
        }
    }
    files.sort();
    let p = Provider::start(&[]);
    let mut paths = common::page_paths(p.addr);
    assert_eq!(paths.pop().as_deref(), Some("/api/status"));
    paths.sort();
    assert_eq!(paths, files);
}
