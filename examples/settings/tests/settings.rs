//! The settings example as a user meets it: the real binary on loopback, good and bad
//! input, a restart, and two browsers' event streams seeing each other's changes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portico_testkit::spawn_announcing;

struct Running {
    addr: SocketAddr,
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(state: &Path) -> Running {
    let (child, line) = spawn_announcing(
        Command::new(env!("CARGO_BIN_EXE_settings"))
            .args(["--bind", "127.0.0.1:0", "--state-file"])
            .arg(state)
            .stderr(Stdio::null()),
    )
    .unwrap();
    let addr = line
        .trim_start_matches("settings: http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("first line: {line:?}"));
    Running { addr, child }
}

/// One request on its own connection: (status, body).
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.to_string();
    (status, body)
}

/// An `EventSource`-like reader of `/api/events`.
struct Events(BufReader<TcpStream>);

impl Events {
    fn open(addr: SocketAddr, last_event_id: Option<u64>) -> Events {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let id = last_event_id
            .map(|i| format!("Last-Event-ID: {i}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET /api/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{id}\r\n"
        )
        .unwrap();
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
        }
        Events(r)
    }

    /// The next `settings` event: (id, data).
    fn next(&mut self) -> (u64, String) {
        let (mut id, mut name, mut data) = (0, String::new(), String::new());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.0.read_line(&mut line).unwrap() > 0, "stream ended");
            let l = line.trim_end_matches('\n');
            if l.is_empty() {
                if name == "settings" {
                    return (id, data);
                }
                name.clear();
                data.clear();
            } else if let Some(v) = l.strip_prefix("id: ") {
                id = v.parse().unwrap();
            } else if let Some(v) = l.strip_prefix("event: ") {
                name = v.to_string();
            } else if let Some(v) = l.strip_prefix("data: ") {
                data.push_str(v);
            }
        }
    }
}

const GOOD: &str = r#"{"device_name":"hall","brightness":80,"led":true}"#;
const DEFAULTS: &str = r#"{"device_name":"portico","brightness":50,"led":false}"#;

#[test]
fn good_and_bad_input_a_restart_and_two_browsers() {
    let dir = std::env::temp_dir().join(format!("portico-settings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("settings.json");
    let _ = std::fs::remove_file(&state);

    let app = start(&state);
    assert_eq!(
        request(app.addr, "GET", "/api/settings", ""),
        (200, DEFAULTS.into())
    );
    let (page_status, page) = request(app.addr, "GET", "/", "");
    assert_eq!(page_status, 200);
    assert!(page.contains("<script src=\"/app.js\""));

    // Two browsers are watching.
    let mut first = Events::open(app.addr, None);
    let mut second = Events::open(app.addr, None);

    assert_eq!(
        request(app.addr, "PUT", "/api/settings", GOOD),
        (200, GOOD.into())
    );
    let (id, data) = first.next();
    assert_eq!(data, GOOD);
    assert_eq!(second.next(), (id, GOOD.into()));

    let bad = [
        ("not json", 400, r#"{"error":"malformed JSON"}"#),
        (
            r#"{"device_name":"hall","led":true}"#,
            422,
            r#"{"error":"missing field","field":"brightness"}"#,
        ),
        (
            r#"{"device_name":"hall","brightness":101,"led":true}"#,
            422,
            r#"{"error":"must be 0 to 100","field":"brightness"}"#,
        ),
        (
            r#"{"device_name":"hall","brightness":-1,"led":true}"#,
            422,
            r#"{"error":"invalid value","field":"brightness"}"#,
        ),
        (
            r#"{"device_name":"","brightness":1,"led":true}"#,
            422,
            r#"{"error":"must be 1 to 32 characters","field":"device_name"}"#,
        ),
        (
            r#"{"device_name":"abcdefghijklmnopqrstuvwxyz0123456","brightness":1,"led":true}"#,
            422,
            r#"{"error":"must be 1 to 32 characters","field":"device_name"}"#,
        ),
        (
            r#"{"device_name":"hall","brightness":1,"led":"yes"}"#,
            422,
            r#"{"error":"invalid value","field":"led"}"#,
        ),
        (
            r#"{"device_name":"hall","brightness":1,"led":true,"colour":"red"}"#,
            422,
            r#"{"error":"unknown field","field":"colour"}"#,
        ),
    ];
    for (body, status, answer) in bad {
        assert_eq!(
            request(app.addr, "PUT", "/api/settings", body),
            (status, answer.into()),
            "{body}"
        );
    }
    assert_eq!(
        request(app.addr, "GET", "/api/settings", ""),
        (200, GOOD.into()),
        "a refused PUT changed something"
    );
    assert_eq!(request(app.addr, "DELETE", "/api/settings", "").0, 405);

    // The second browser makes a change; the first sees it.
    let other = r#"{"device_name":"attic","brightness":5,"led":false}"#;
    assert_eq!(request(app.addr, "PUT", "/api/settings", other).0, 200);
    assert_eq!(first.next().1, other);
    let (last, _) = second.next();
    drop(first);
    // A browser that reconnects with the last id it saw gets what it missed.
    let third = r#"{"device_name":"cellar","brightness":0,"led":true}"#;
    assert_eq!(request(app.addr, "PUT", "/api/settings", third).0, 200);
    let mut back = Events::open(app.addr, Some(last));
    assert_eq!(back.next(), (last + 1, third.into()));

    // A restart keeps what was saved.
    drop((back, second, app));
    let app = start(&state);
    assert_eq!(
        request(app.addr, "GET", "/api/settings", ""),
        (200, third.into())
    );
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}
