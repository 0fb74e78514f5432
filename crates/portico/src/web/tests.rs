//! The application API end to end over the core's serve loop and an in-memory transport.

use core::cell::RefCell;
use std::string::String;
use std::vec::Vec;

use super::*;
use crate::http::{Route, Status};
use crate::server::{serve, Env, Outcome as Served, ServerConfig, Transport};
use crate::testing::{NoClock, ScriptedTransport};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    device_name: heapless::String<32>,
    brightness: u8,
    led: bool,
}

#[derive(Clone, Copy)]
enum Api {
    GetSettings,
    PutSettings,
    Item,
    Search,
    Form,
    Upload,
}

struct Device {
    settings: RefCell<Settings>,
}

impl Service for Device {
    type Route = Api;
    type Stream = ();
    const ROUTES: &'static [Route<Api>] = &[
        Route::get("/api/settings", Api::GetSettings),
        Route::put("/api/settings", Api::PutSettings).max_body(256),
        Route::get("/api/items/:id", Api::Item),
        Route::get("/api/search", Api::Search),
        Route::post("/api/form", Api::Form),
        Route::post("/api/upload", Api::Upload).max_body(10),
    ];

    async fn call(
        &self,
        route: Api,
        req: &mut Request<'_, '_, impl Transport, impl Env>,
    ) -> Outcome {
        match route {
            Api::GetSettings => {
                let s = self.settings.borrow().clone();
                req.json_ok(&s).await
            }
            Api::PutSettings => {
                let new: Settings = req.json().await?;
                if new.device_name.is_empty() {
                    return Err(Error::invalid("device_name", "1 to 32 characters").into());
                }
                if new.brightness > 100 {
                    return Err(Error::invalid("brightness", "must be 0 to 100").into());
                }
                *self.settings.borrow_mut() = new.clone();
                req.json_ok(&new).await
            }
            Api::Item => {
                let id: u32 = req.param_as("id")?;
                req.json_ok(&id).await
            }
            Api::Search => {
                let mut buf = [0u8; 32];
                let q = req.query("q", &mut buf)?.unwrap_or("").len();
                req.json_ok(&q).await
            }
            Api::Form => {
                let mut form = req.form().await?;
                let name: heapless::String<16> = form
                    .field("name")?
                    .and_then(|n| n.try_into().ok())
                    .ok_or_else(|| Error::invalid("name", "required"))?;
                req.json_ok(&name).await
            }
            Api::Upload => {
                let mut total = 0usize;
                while let Some(c) = req.chunk().await? {
                    total += c.len();
                }
                req.json_ok(&total).await
            }
        }
    }
}

fn device() -> Device {
    Device {
        settings: RefCell::new(Settings {
            device_name: "kitchen".try_into().unwrap(),
            brightness: 50,
            led: false,
        }),
    }
}

/// Serves `pieces` as one connection; returns everything written.
fn run(app: &Device, pieces: &[&[u8]]) -> String {
    let mut io = ScriptedTransport::from_pieces(pieces);
    let mut buf = [0u8; 2048];
    let mut filled = 0;
    let cfg = ServerConfig::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        loop {
            let o = serve(&mut io, &mut buf, &mut filled, app, &NoClock, &cfg)
                .await
                .unwrap_or(Served::Close);
            if o != Served::Idle || io.at_end() {
                break;
            }
        }
    });
    String::from_utf8(io.into_output()).unwrap()
}

fn status_and_body(out: &str) -> (u16, &str) {
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body)
}

fn put(body: &str) -> String {
    std::format!(
        "PUT /api/settings HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn json_get_and_head() {
    let app = device();
    let out = run(&app, &[b"GET /api/settings HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(
        status_and_body(&out),
        (
            200,
            r#"{"device_name":"kitchen","brightness":50,"led":false}"#
        )
    );
    assert!(out.contains("Content-Type: application/json\r\n"));
    assert!(out.contains("Cache-Control: no-store\r\n"));
    let out = run(&app, &[b"HEAD /api/settings HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(status_and_body(&out), (200, ""));
    assert!(out.contains("Content-Length: 53\r\n"), "{out}");
}

#[test]
fn options_and_405_list_allow() {
    let app = device();
    let out = run(
        &app,
        &[b"OPTIONS /api/settings HTTP/1.1\r\nHost: d\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out).0, 204);
    assert!(out.contains("Allow: GET, HEAD, PUT, OPTIONS\r\n"), "{out}");
    let out = run(&app, &[b"DELETE /api/settings HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(
        status_and_body(&out),
        (405, r#"{"error":"method not allowed"}"#)
    );
    assert!(out.contains("Allow: GET, HEAD, PUT, OPTIONS\r\n"), "{out}");
    let out = run(&app, &[b"GET /api/nothing HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(
        status_and_body(&out),
        (404, r#"{"error":"no such resource"}"#)
    );
}

#[test]
fn good_put_changes_state_bad_put_changes_nothing() {
    let app = device();
    let good = r#"{"device_name":"hall","brightness":80,"led":true}"#;
    // The body arrives in pieces, one byte at a time after the head.
    let req = put(good);
    let (head, body) = req.split_at(req.len() - good.len());
    let mut pieces: Vec<&[u8]> = std::vec![head.as_bytes()];
    pieces.extend(body.as_bytes().chunks(1));
    let out = run(&app, &pieces);
    assert_eq!(status_and_body(&out), (200, good));

    let bad = [
        ("{\"device_name\":", 400, r#"{"error":"malformed JSON"}"#),
        (
            r#"{"device_name":"x","led":true}"#,
            422,
            r#"{"error":"missing field","field":"brightness"}"#,
        ),
        (
            r#"{"device_name":"x","brightness":101,"led":true}"#,
            422,
            r#"{"error":"must be 0 to 100","field":"brightness"}"#,
        ),
        (
            r#"{"device_name":"x","brightness":1000,"led":true}"#,
            422,
            r#"{"error":"invalid value","field":"brightness"}"#,
        ),
        (
            r#"{"device_name":"","brightness":1,"led":true}"#,
            422,
            r#"{"error":"1 to 32 characters","field":"device_name"}"#,
        ),
        (
            r#"{"device_name":"x","brightness":1,"led":"yes"}"#,
            422,
            r#"{"error":"invalid value","field":"led"}"#,
        ),
    ];
    for (body, status, answer) in bad {
        let out = run(&app, &[put(body).as_bytes()]);
        assert_eq!(status_and_body(&out), (status, answer), "{body}");
    }
    let out = run(&app, &[b"GET /api/settings HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(
        status_and_body(&out).1,
        good,
        "a refused PUT changed nothing"
    );
}

#[test]
fn body_limits_and_types() {
    let app = device();
    // Over the route's limit: refused before the body is read, and the connection
    // closes rather than drain 100 kB.
    let out = run(
        &app,
        &[b"PUT /api/settings HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out).0, 413, "{out}");
    let out = run(
        &app,
        &[b"PUT /api/settings HTTP/1.1\r\nHost: d\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}"],
    );
    assert_eq!(
        status_and_body(&out),
        (415, r#"{"error":"expected application/json"}"#)
    );
    // A content type ending in a multi-byte character is refused, not a panic.
    let out = run(
        &app,
        &["PUT /api/settings HTTP/1.1\r\nHost: d\r\nContent-Type: text/\u{e9}1234\r\nContent-Length: 2\r\n\r\n{}".as_bytes()],
    );
    assert_eq!(status_and_body(&out).0, 415, "{out}");
    let out = run(
        &app,
        &[b"PUT /api/settings HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out).0, 411);
    // A streamed upload is counted as it arrives: chunked bodies cannot be checked up
    // front.
    let out = run(
        &app,
        &[b"POST /api/upload HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out).0, 413, "{out}");
    let out = run(
        &app,
        &[b"POST /api/upload HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out), (200, "7"));
}

#[test]
fn params_query_and_forms() {
    let app = device();
    let out = run(&app, &[b"GET /api/items/42 HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(status_and_body(&out), (200, "42"));
    let out = run(&app, &[b"GET /api/items/x HTTP/1.1\r\nHost: d\r\n\r\n"]);
    assert_eq!(
        status_and_body(&out),
        (400, r#"{"error":"invalid path parameter","field":"id"}"#)
    );
    let out = run(
        &app,
        &[b"GET /api/search?q=a%20b+c HTTP/1.1\r\nHost: d\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out), (200, "5"));
    let out = run(
        &app,
        &[b"GET /api/search?q=%zz HTTP/1.1\r\nHost: d\r\n\r\n"],
    );
    assert_eq!(status_and_body(&out).0, 400);
    let out = run(
        &app,
        &[b"POST /api/form HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 18\r\n\r\nx=1&name=J%C3%B6rg"],
    );
    assert_eq!(status_and_body(&out), (200, "\"J\u{f6}rg\""));
}

#[test]
fn keep_alive_survives_errors() {
    // An error answer keeps the connection: the next request on it is served.
    let app = device();
    let mut two = put("nope").into_bytes();
    two.extend_from_slice(b"GET /api/items/7 HTTP/1.1\r\nHost: d\r\n\r\n");
    let out = run(&app, &[&two]);
    let statuses: Vec<&str> = out
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &out[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["400", "200"]);
    assert_eq!(
        Status::UNPROCESSABLE_CONTENT.reason(),
        "Unprocessable Content"
    );
}
