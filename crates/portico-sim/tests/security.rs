//! The dashboard on a shared network (issue 17) on the device port, in the simulation:
//! the same application and checks as the host provider, through `PortDevice` and the
//! embassy connection's peer address. Unknown `Host` → 421, cross-origin POST → 403 and
//! nothing changed, a password makes the API answer 401 until a login, tokens work,
//! guessing gets 429; paths above the root → 400; no `Date` (no SNTP here).

use std::net::Ipv4Addr;

use embassy_net::{IpEndpoint, Stack};
use portico::guard::{PasswordHash, Secrets, SessionKey};
use portico::placement::sim::SimHeap;
use portico_embassy::profile::{self, RX, SOCKETS, TX};
use portico_sim::app::{request, serve_app_with, Response};
use portico_sim::device::{spawn_device_stack, spawn_stack, DEVICE_IP};
use portico_sim::executor::Executor;
use portico_sim::net::{LinkConfig, Network};

const PASSWORD: &str = "device secret";

struct World {
    exec: Executor,
    client: Stack<'static>,
    server: IpEndpoint,
}

fn world(seed: u64, password: bool) -> World {
    let exec = Executor::new();
    let spawner = exec.spawner();
    let net = Network::new(LinkConfig::lan(), seed);
    let stack = spawn_device_stack(&spawner, &net, seed);
    // As the settings flow would store them: a salted hash, and a key drawn at boot.
    let secrets = password.then(|| Secrets {
        password: Box::leak(Box::new(PasswordHash::new(
            PASSWORD.as_bytes(),
            [3; 16],
            64,
        ))),
        key: Box::leak(Box::new(SessionKey([seed as u8; 32]))),
    });
    let heap = SimHeap::new(256 * 1024, 0);
    serve_app_with::<SOCKETS, RX, TX>(&spawner, stack, profile::config(), heap, None, secrets);
    let ip = Ipv4Addr::new(10, 0, 0, 10);
    let client = spawn_stack(&spawner, &net, ip, seed ^ 1);
    World {
        exec,
        client,
        server: IpEndpoint::new(DEVICE_IP.into(), 80),
    }
}

impl World {
    fn send(&mut self, method: &str, path: &str, head: &str, body: &str) -> Response {
        let req = format!(
            "{method} {path} HTTP/1.1\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (c, s) = (self.client, self.server);
        self.exec
            .block_on(
                60_000,
                async move { request(c, s, req.as_bytes(), 5_000).await },
            )
            .expect("an answer")
    }

    /// A bodiless request carrying `head` and the session `cookie` (`name=value`).
    fn send_with_cookie(&mut self, method: &str, path: &str, head: &str, cookie: &str) -> Response {
        self.send(method, path, &format!("{head}Cookie: {cookie}\r\n"), "")
    }

    fn login(&mut self, password: &str) -> Response {
        let body = format!("{{\"password\":\"{password}\"}}");
        self.send("POST", "/api/login", SAME_ORIGIN, &body)
    }
}

const HOST: &str = "Host: portico.local\r\n";
const SAME_ORIGIN: &str =
    "Host: portico.local\r\nOrigin: http://portico.local\r\nContent-Type: application/json\r\n";
const EVIL: &str = "Host: portico.local\r\nOrigin: http://evil.example\r\n";

#[test]
fn unknown_host_gets_421_on_the_device() {
    let mut w = world(11, false);
    for path in ["/", "/api/status"] {
        assert_eq!(
            w.send("GET", path, "Host: evil.example\r\n", "").status,
            421,
            "{path}"
        );
    }
    for host in ["portico.local", "10.0.0.2", "localhost"] {
        let r = w.send("GET", "/api/status", &format!("Host: {host}\r\n"), "");
        assert_eq!(r.status, 200, "{host}");
        assert!(
            r.header("date").is_none(),
            "a device without SNTP sends no Date"
        );
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let page = w.send("GET", "/", HOST, "");
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
}

#[test]
fn cross_origin_post_gets_403_and_changes_nothing_on_the_device() {
    let mut w = world(12, true);
    let r = w.login(PASSWORD);
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").unwrap().split(';').next().unwrap();
    let r = w.send_with_cookie("POST", "/api/logout", EVIL, cookie);
    assert_eq!(r.status, 403);
    let r = w.send_with_cookie("GET", "/api/status", HOST, cookie);
    assert_eq!(r.status, 200, "the session survived the cross-site logout");
    let r = w.send(
        "POST",
        "/api/login",
        EVIL,
        &format!("{{\"password\":\"{PASSWORD}\"}}"),
    );
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(w.send("POST", "/api/status", EVIL, "").status, 403);
}

#[test]
fn a_password_guards_the_api_on_the_device() {
    let mut w = world(13, true);
    for path in [
        "/api/status",
        "/api/connections",
        "/api/pool",
        "/api/memory",
        "/api/link",
    ] {
        assert_eq!(w.send("GET", path, HOST, "").status, 401, "{path}");
    }
    assert_eq!(
        w.send("GET", "/", HOST, "").status,
        200,
        "the page (login form) is public"
    );
    let ok = w.login(PASSWORD);
    assert_eq!(ok.status, 200);
    let set = ok.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap();
    let r = w.send_with_cookie("GET", "/api/status", HOST, cookie);
    assert_eq!(r.status, 200);
    // An API token for scripts.
    let r = w.send(
        "POST",
        "/api/login",
        SAME_ORIGIN,
        &format!("{{\"password\":\"{PASSWORD}\",\"token\":true}}"),
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let token = v["token"].as_str().unwrap();
    let r = w.send(
        "GET",
        "/api/pool",
        &format!("{HOST}Authorization: Bearer {token}\r\n"),
        "",
    );
    assert_eq!(r.status, 200);
    // Logout ends the browser session.
    let r = w.send_with_cookie("POST", "/api/logout", SAME_ORIGIN, cookie);
    assert_eq!(r.status, 200);
    let r = w.send_with_cookie("GET", "/api/status", HOST, cookie);
    assert_eq!(r.status, 401);
}

#[test]
fn guessing_gets_429_on_the_device() {
    let mut w = world(14, true);
    // Virtual time stands still between these requests but for the network's delays.
    let statuses: Vec<u16> = (0..4).map(|_| w.login("guess").status).collect();
    assert_eq!(statuses, [401, 401, 401, 401]);
    let r = w.login("guess");
    assert_eq!(r.status, 429);
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(w.login(PASSWORD).status, 429);
}

#[test]
fn paths_above_the_root_get_400_on_the_device() {
    let mut w = world(15, false);
    for path in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"] {
        assert_eq!(w.send("GET", path, HOST, "").status, 400, "{path}");
    }
}
