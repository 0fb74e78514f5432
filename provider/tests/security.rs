//! The dashboard on a shared network (issue 17), against the real binary on loopback:
//! the `Host` allowlist (421), cross-site refusal (403), the optional login (401, the
//! session cookie, API tokens, 429 for guessing), the headers a browser needs, and the
//! HTTP details (400 above the root, 304 for either representation, `Date`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{page_paths, Provider, Response};
use portico_testkit::read_response;

const PASSWORD: &str = "correct horse battery";

/// One request on a fresh connection; `head` holds the extra header lines.
fn send(addr: SocketAddr, method: &str, path: &str, head: &str, body: &str) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    read_response(&mut s, &mut Vec::new(), method == "HEAD").unwrap()
}

fn host(addr: SocketAddr) -> String {
    format!("Host: {addr}\r\n")
}

/// The headers a same-origin page of the dashboard sends with a `fetch` POST.
fn same_origin(addr: SocketAddr) -> String {
    format!("Host: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/json\r\n")
}

fn login(addr: SocketAddr, password: &str) -> Response {
    let body = serde_json::json!({ "password": password }).to_string();
    send(addr, "POST", "/api/login", &same_origin(addr), &body)
}

/// The session cookie's `name=value` from a login's `Set-Cookie`.
fn session_cookie(r: &Response) -> String {
    let set = r.header("set-cookie").expect("Set-Cookie");
    set.split(';').next().unwrap().to_string()
}

fn with_password() -> (Provider, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("portico-security-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("password-{:?}", std::thread::current().id()));
    std::fs::write(&file, format!("{PASSWORD}\n")).unwrap();
    let p = Provider::start(&["--password-file", file.to_str().unwrap()]);
    (p, file)
}

const API: &[&str] = &[
    "/api/status",
    "/api/connections",
    "/api/pool",
    "/api/memory",
    "/api/link",
    "/api/events",
];

// ---------------------------------------------------------------------------------------
// Host allowlist

#[test]
fn unknown_host_gets_421_and_the_device_names_get_answers() {
    let p = Provider::start(&["--allowed-host", "dash.example"]);
    for path in ["/", "/api/status", "/api/events"] {
        let r = send(p.addr, "GET", path, "Host: evil.example\r\n", "");
        assert_eq!(r.status, 421, "{path}");
        let r = send(p.addr, "GET", path, "Host: evil.example:8080\r\n", "");
        assert_eq!(r.status, 421, "{path} with a port");
    }
    let port = p.addr.port();
    for name in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "portico.local".into(),
        "DASH.example".into(),
        "[::1]".into(),
        "192.168.1.20".into(),
    ] {
        let r = send(
            p.addr,
            "GET",
            "/api/status",
            &format!("Host: {name}\r\n"),
            "",
        );
        assert_eq!(r.status, 200, "{name}");
    }
}

#[test]
fn allowed_host_star_turns_the_check_off_and_says_so() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(["--bind", "127.0.0.1:0", "--allowed-host", "*"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr: SocketAddr = first
        .split("http://")
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut warning = String::new();
    err.read_line(&mut warning).unwrap();
    let r = send(addr, "GET", "/api/status", "Host: evil.example\r\n", "");
    let _ = child.kill();
    let _ = child.wait();
    assert!(warning.contains("Host check off"), "{warning:?}");
    assert_eq!(r.status, 200);
}

#[test]
fn start_up_warns_without_a_password_off_loopback() {
    // Bound to every interface for the moment it takes to read the banner; no traffic
    // is sent anywhere.
    let mut child = Command::new(env!("CARGO_BIN_EXE_provider"))
        .args(["--bind", "0.0.0.0:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut warning = String::new();
    err.read_line(&mut warning).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(warning.contains("no --password-file"), "{warning:?}");
    assert!(warning.contains("anyone on the network"), "{warning:?}");
}

// ---------------------------------------------------------------------------------------
// Cross-site requests

#[test]
fn cross_origin_posts_get_403_and_change_nothing() {
    let (p, _f) = with_password();
    let a = p.addr;
    let cookie = session_cookie(&login(a, PASSWORD));
    let evil = |extra: &str| format!("Host: {a}\r\nOrigin: http://evil.example\r\n{extra}");
    let body = serde_json::json!({ "password": PASSWORD }).to_string();

    // Login from another site, with the right password: refused, no cookie.
    let r = send(
        a,
        "POST",
        "/api/login",
        &evil("Content-Type: application/json\r\n"),
        &body,
    );
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    // Logout from another site, riding the victim's cookie: refused, session intact.
    let r = send(
        a,
        "POST",
        "/api/logout",
        &evil(&format!("Cookie: {cookie}\r\n")),
        "",
    );
    assert_eq!(r.status, 403);
    let r = send(
        a,
        "GET",
        "/api/status",
        &format!("{}Cookie: {cookie}\r\n", host(a)),
        "",
    );
    assert_eq!(r.status, 200, "the session survived the cross-site logout");
    // The same from a page whose origin is hidden, and with no Origin at all.
    for headers in [
        format!("{}Origin: null\r\nCookie: {cookie}\r\n", host(a)),
        format!(
            "{}Sec-Fetch-Site: cross-site\r\nOrigin: http://{a}\r\nCookie: {cookie}\r\n",
            host(a)
        ),
        format!("{}Cookie: {cookie}\r\n", host(a)),
    ] {
        assert_eq!(
            send(a, "POST", "/api/logout", &headers, "").status,
            403,
            "{headers}"
        );
    }
    // A POST to an existing GET route: 403 from another site, 405 from the same origin.
    let r = send(
        a,
        "POST",
        "/api/status",
        &evil(&format!("Cookie: {cookie}\r\n")),
        "x",
    );
    assert_eq!(r.status, 403);
    let r = send(
        a,
        "POST",
        "/api/status",
        &format!("{}Cookie: {cookie}\r\n", same_origin(a)),
        "x",
    );
    assert_eq!(r.status, 405);
    // A browser's own verdict is enough on its own.
    let r = send(
        a,
        "POST",
        "/api/logout",
        &format!(
            "{}Sec-Fetch-Site: same-origin\r\nCookie: {cookie}\r\n",
            host(a)
        ),
        "",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn without_a_password_the_origin_rule_still_holds() {
    let p = Provider::start(&[]);
    let a = p.addr;
    let r = send(
        a,
        "POST",
        "/api/login",
        &format!("{}Origin: http://evil.example\r\n", host(a)),
        "{}",
    );
    assert_eq!(r.status, 403);
    let r = send(
        a,
        "POST",
        "/api/status",
        &format!("{}Origin: http://evil.example\r\n", host(a)),
        "",
    );
    assert_eq!(r.status, 403);
    // Login without a password set: nothing to log in to.
    let r = send(
        a,
        "POST",
        "/api/login",
        &same_origin(a),
        "{\"password\":\"x\"}",
    );
    assert_eq!(r.status, 404);
    assert_eq!(send(a, "GET", "/api/status", &host(a), "").status, 200);
}

// ---------------------------------------------------------------------------------------
// Authentication

#[test]
fn with_a_password_every_api_needs_a_session_and_works_with_one() {
    let (p, _f) = with_password();
    let a = p.addr;
    for path in API {
        let r = send(a, "GET", path, &host(a), "");
        assert_eq!(r.status, 401, "{path}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"portico\"")
        );
        let r = send(
            a,
            "GET",
            path,
            &format!("{}Cookie: portico_session=forged\r\n", host(a)),
            "",
        );
        assert_eq!(r.status, 401, "{path} with a forged cookie");
    }
    // The page is the login page: served, with no data in it.
    let page = send(a, "GET", "/", &host(a), "");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));

    assert_eq!(login(a, "wrong").status, 401);
    let ok = login(a, PASSWORD);
    assert_eq!(ok.status, 200);
    let set = ok.header("set-cookie").unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = session_cookie(&ok);
    for path in API.iter().filter(|p| **p != "/api/events") {
        let r = send(
            a,
            "GET",
            path,
            &format!("{}Cookie: {cookie}\r\n", host(a)),
            "",
        );
        assert_eq!(r.status, 200, "{path}");
    }
    let r = send(
        a,
        "HEAD",
        "/api/events",
        &format!("{}Cookie: {cookie}\r\n", host(a)),
        "",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));

    // Logout ends the session and clears the cookie.
    let out = send(
        a,
        "POST",
        "/api/logout",
        &format!("{}Cookie: {cookie}\r\n", same_origin(a)),
        "",
    );
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let r = send(
        a,
        "GET",
        "/api/status",
        &format!("{}Cookie: {cookie}\r\n", host(a)),
        "",
    );
    assert_eq!(r.status, 401, "the old cookie is dead after logout");
}

#[test]
fn api_tokens_work_for_scripts() {
    let (p, _f) = with_password();
    let a = p.addr;
    // A script logs in without a browser's Origin? No: login is a POST like any other,
    // so a script names the origin it talks to (curl -H "Origin: http://device").
    let body = serde_json::json!({ "password": PASSWORD, "token": true }).to_string();
    let r = send(a, "POST", "/api/login", &same_origin(a), &body);
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").is_none(), "a token, not a cookie");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let token = v["token"].as_str().unwrap().to_string();
    let bearer = |t: &str| format!("{}Authorization: Bearer {t}\r\n", host(a));
    assert_eq!(
        send(a, "GET", "/api/status", &bearer(&token), "").status,
        200
    );
    assert_eq!(
        send(a, "GET", "/api/connections", &bearer(&token), "").status,
        200
    );
    // Scripts with a token are exempt from the origin rule: 405 (the route), not 403.
    assert_eq!(
        send(a, "POST", "/api/status", &bearer(&token), "").status,
        405
    );
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        send(a, "GET", "/api/status", &bearer(&forged), "").status,
        401
    );
    assert_eq!(
        send(a, "POST", "/api/status", &bearer(&forged), "").status,
        401
    );
    // A session cookie's token is not an API token.
    let cookie = session_cookie(&login(a, PASSWORD));
    let session_token = cookie.split_once('=').unwrap().1;
    assert_eq!(
        send(a, "GET", "/api/status", &bearer(session_token), "").status,
        401
    );
    // The form body works as well as JSON.
    let form = format!(
        "Host: {a}\r\nOrigin: http://{a}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    );
    let r = send(
        a,
        "POST",
        "/api/login",
        &form,
        "password=correct+horse+battery",
    );
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").is_some());
    // Malformed bodies get 400, not a panic.
    for bad in ["", "{", "{\"password\": 5}", "password=x"] {
        assert_eq!(
            send(a, "POST", "/api/login", &same_origin(a), bad).status,
            400,
            "{bad}"
        );
    }
}

#[test]
fn repeated_wrong_passwords_get_429_with_retry_after() {
    let (p, _f) = with_password();
    let a = p.addr;
    // Three wrong passwords are free; the fourth makes this peer wait 1 s. The next
    // requests follow within milliseconds, well inside that second.
    let statuses: Vec<u16> = (0..4).map(|_| login(a, "guess").status).collect();
    assert_eq!(statuses, [401, 401, 401, 401]);
    let r = login(a, "guess");
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // While it must wait, even the right password is not checked.
    assert_eq!(login(a, PASSWORD).status, 429);
}

#[test]
fn password_file_problems_stop_the_start() {
    let dir = std::env::temp_dir();
    let empty = dir.join(format!("portico-empty-password-{}", std::process::id()));
    std::fs::write(&empty, "\n").unwrap();
    for (file, says) in [
        (empty.to_str().unwrap().to_string(), "empty"),
        ("/nonexistent/portico-password".to_string(), "cannot read"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_provider"))
            .args(["--bind", "127.0.0.1:0", "--password-file", &file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
}

// ---------------------------------------------------------------------------------------
// Headers a browser needs

#[test]
fn security_headers() {
    let p = Provider::start(&[]);
    let a = p.addr;
    let page = send(a, "GET", "/", &host(a), "");
    let csp = page
        .header("content-security-policy")
        .expect("CSP on the page");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The page itself has no inline script for the policy to block.
    let html = page.text();
    for tag in html.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap();
        assert!(open.contains("src="), "inline script: <script{open}>");
    }
    for r in [
        page,
        send(a, "GET", "/api/status", &host(a), ""),
        send(a, "GET", "/nope.js", &host(a), ""),
    ] {
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    }
}

// ---------------------------------------------------------------------------------------
// HTTP details

#[test]
fn paths_above_the_root_get_400() {
    let p = Provider::start(&[]);
    for path in [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E/x",
        "/a/../../x",
    ] {
        let r = send(p.addr, "GET", path, &host(p.addr), "");
        assert_eq!(r.status, 400, "{path}");
    }
    // Dot segments that stay inside the root are not malformed: the path is looked up
    // as it is, and no file has that name (browsers resolve dot segments before sending).
    assert_eq!(
        send(p.addr, "GET", "/assets/../", &host(p.addr), "").status,
        404
    );
}

#[test]
fn if_none_match_with_the_other_representation_gets_304() {
    let p = Provider::start(&[]);
    let a = p.addr;
    let gz = "Accept-Encoding: gzip\r\n";
    let mut checked = 0;
    for path in page_paths(a) {
        let gzip = send(a, "GET", &path, &format!("{}{gz}", host(a)), "");
        if gzip.header("content-encoding") != Some("gzip") {
            continue;
        }
        let identity = send(a, "GET", &path, &host(a), "");
        let (id_tag, gz_tag) = (
            identity.header("etag").unwrap(),
            gzip.header("etag").unwrap(),
        );
        assert_ne!(id_tag, gz_tag);
        // A cache holding the identity body asks with gzip allowed: 304 naming what it holds.
        let r = send(
            a,
            "GET",
            &path,
            &format!("{}{gz}If-None-Match: {id_tag}\r\n", host(a)),
            "",
        );
        assert_eq!(r.status, 304, "{path}");
        assert_eq!(r.header("etag"), Some(id_tag));
        // And the other way round.
        let r = send(
            a,
            "GET",
            &path,
            &format!("{}If-None-Match: {gz_tag}\r\n", host(a)),
            "",
        );
        assert_eq!(r.status, 304, "{path}");
        assert_eq!(r.header("etag"), Some(gz_tag));
        let r = send(
            a,
            "GET",
            &path,
            &format!("{}{gz}If-None-Match: \"other\"\r\n", host(a)),
            "",
        );
        assert_eq!(r.status, 200);
        checked += 1;
    }
    assert!(checked > 0, "no gzip asset to check");
}

#[test]
fn responses_carry_the_date() {
    let p = Provider::start(&[]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for path in ["/", "/api/status", "/nope.js"] {
        let r = send(p.addr, "GET", path, &host(p.addr), "");
        let date = r
            .header("date")
            .unwrap_or_else(|| panic!("no Date on {path}"));
        // IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`, and today's.
        assert_eq!(date.len(), 29, "{date}");
        assert!(date.ends_with(" GMT"), "{date}");
        assert!(parse_imf(date).abs_diff(now) < 600, "{date} vs {now}");
    }
}

/// The answers the core writes itself — a malformed head, one too large, a `503` to a
/// newcomer no socket could be found for — carry the same headers and `Date` as the
/// application's.
#[test]
fn the_cores_own_answers_carry_the_headers_and_date() {
    let p = Provider::start(&["--max-sockets", "2", "--queue-timeout-ms", "300"]);
    let raw = |req: &[u8]| {
        let mut s = TcpStream::connect(p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(req).unwrap();
        read_response(&mut s, &mut Vec::new(), false).unwrap()
    };
    let mut huge = format!("GET / HTTP/1.1\r\n{}X: ", host(p.addr)).into_bytes();
    huge.resize(huge.len() + 16_000, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let mut answers = vec![
        (
            400,
            raw(format!("GET / HTTP/1.1\r\n{}Bad header\r\n\r\n", host(p.addr)).as_bytes()),
        ),
        (431, raw(&huge)),
    ];
    // Both sockets held by event streams (never evicted by default): the next newcomer
    // waits its queue time, then the port refuses it.
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(p.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(s, "GET /api/events HTTP/1.1\r\n{}\r\n", host(p.addr)).unwrap();
        let mut buf = [0u8; 4096];
        assert!(std::io::Read::read(&mut s, &mut buf).unwrap() > 0);
        streams.push(s);
    }
    answers.push((503, send(p.addr, "GET", "/api/status", &host(p.addr), "")));
    drop(streams);
    for (status, r) in answers {
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{status}"
        );
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{status}");
        let date = r
            .header("date")
            .unwrap_or_else(|| panic!("no Date on the {status}"));
        assert!(date.ends_with(" GMT"), "{date}");
    }
}

/// Seconds since the epoch of an IMF-fixdate (independent of the server's formatter).
fn parse_imf(d: &str) -> u64 {
    let f: Vec<&str> = d.split([' ', ':']).collect();
    let day: u64 = f[1].parse().unwrap();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == f[2])
    .unwrap() as u64
        + 1;
    let year: u64 = f[3].parse().unwrap();
    let (h, mi, s): (u64, u64, u64) = (
        f[4].parse().unwrap(),
        f[5].parse().unwrap(),
        f[6].parse().unwrap(),
    );
    let leap = |y: u64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days = (1970..year)
        .map(|y| if leap(y) { 366 } else { 365 })
        .sum::<u64>();
    let lens = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days += lens[..(month - 1) as usize].iter().sum::<u64>() + day - 1;
    days * 86_400 + h * 3600 + mi * 60 + s
}
