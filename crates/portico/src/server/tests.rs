//! Golden-byte tests of the serve loop over an in-memory transport.

use std::string::String;
use std::vec::Vec;

use super::*;
use crate::http::Method;
use crate::testing::{NoClock, ScriptedTransport};

struct App;

impl Handler for App {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        match (ex.head().method, ex.head().path) {
            (Method::Get | Method::Head, "/hello") => {
                ex.respond_text(crate::http::Status::OK, "hi").await?
            }
            (Method::Post, "/echo") => {
                let mut body = [0u8; 256];
                match ex.read_body(&mut body).await? {
                    Some(n) => {
                        ex.respond(crate::http::Status::OK, |_| Ok(()), &body[..n])
                            .await?
                    }
                    None => {
                        ex.respond_text(crate::http::Status::PAYLOAD_TOO_LARGE, "big")
                            .await?
                    }
                }
            }
            (Method::Get, "/chunks") => {
                let mut w = ex
                    .begin(crate::http::Status::OK, ResponseLength::Chunked, |_| Ok(()))
                    .await?;
                w.write(b"ab").await?;
                w.write(b"cde").await?;
                w.finish().await?;
            }
            (Method::Get, "/json") => {
                // Rendered straight into the connection buffer's free space.
                const DOC: &[u8] = br#"{"name":"dev","open":3,"list":[1,2,3]}"#;
                let sent = ex
                    .respond_rendered(
                        crate::http::Status::OK,
                        "application/json",
                        |_| Ok(()),
                        |buf| {
                            let out = buf.get_mut(..DOC.len())?;
                            out.copy_from_slice(DOC);
                            Some(DOC.len())
                        },
                    )
                    .await?;
                assert!(sent.is_ok(), "a 38-byte document fits the buffer");
            }
            (Method::Get, "/ignore-body") => ex.respond_text(crate::http::Status::OK, "ok").await?,
            _ => {
                ex.respond_text(crate::http::Status::NOT_FOUND, "nf")
                    .await?
            }
        }
        Ok(Reply::Done)
    }
}

fn run(pieces: &[&[u8]]) -> (String, Vec<Outcome<()>>, usize) {
    run_with(&ServerConfig::default(), pieces)
}

fn run_with(cfg: &ServerConfig, pieces: &[&[u8]]) -> (String, Vec<Outcome<()>>, usize) {
    let mut io = ScriptedTransport::from_pieces(pieces);
    let mut buf = [0u8; 4096];
    let mut filled = 0;
    let mut outcomes = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        loop {
            let o = serve(&mut io, &mut buf, &mut filled, &App, &NoClock, cfg)
                .await
                .unwrap_or(Outcome::Close);
            outcomes.push(o);
            if o != Outcome::Idle || io.at_end() {
                break;
            }
        }
    });
    let writes = io.writes();
    (
        String::from_utf8(io.into_output()).unwrap(),
        outcomes,
        writes,
    )
}

#[test]
fn golden_response_in_one_write() {
    let (out, outcomes, writes) = run(&[b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert_eq!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=10\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nhi"
    );
    assert_eq!(writes, 1, "head and small body must leave in one write");
    assert_eq!(outcomes, [Outcome::Idle]);
}

#[test]
fn pipelined_requests_answered_in_order() {
    let (out, outcomes, _) = run(&[
        b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nGET /he",
        b"llo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ]);
    let statuses: Vec<&str> = out
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &out[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "404", "200"]);
    assert!(out.ends_with("Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi"));
    assert_eq!(outcomes, [Outcome::Close]);
}

#[test]
fn http10_closes_unless_keep_alive() {
    let (out, outcomes, _) = run(&[b"GET /hello HTTP/1.0\r\n\r\n"]);
    assert!(out.contains("Connection: close"));
    assert_eq!(outcomes, [Outcome::Close]);
    let (out, outcomes, _) = run(&[b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"]);
    assert!(out.contains("Connection: keep-alive\r\nKeep-Alive: timeout=10"));
    assert_eq!(outcomes, [Outcome::Idle]);
}

#[test]
fn bodies_length_and_chunked_split_anywhere() {
    let (out, _, _) = run(&[
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhe",
        b"llo",
    ]);
    assert!(out.ends_with("\r\n\r\nhello"), "{out}");
    let raw = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
    for cut in 1..raw.len() {
        let (out, _, _) = run(&[&raw[..cut], &raw[cut..]]);
        assert!(
            out.contains("Content-Length: 5\r\nKeep-Alive: timeout=10\r\n\r\nabcde"),
            "cut {cut}: {out}"
        );
        assert!(out.ends_with("\r\n\r\nhi"), "cut {cut}: {out}");
    }
}

#[test]
fn unread_body_is_drained_for_keep_alive() {
    let (out, _, _) = run(&[b"GET /ignore-body HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyzGET /hello HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2);
}

#[test]
fn expect_continue() {
    let (out, _, _) = run(&[
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
        b"ok",
    ]);
    assert!(
        out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{out}"
    );
    assert!(out.ends_with("ok"));
}

#[test]
fn head_has_length_but_no_body() {
    let (out, _, _) = run(&[b"HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert!(out.contains("Content-Length: 2\r\n"));
    assert!(out.ends_with("\r\n\r\n"));
}

#[test]
fn rendered_into_the_connection_buffer() {
    let (out, _, _) = run(&[b"GET /json HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert!(out.contains("Content-Type: application/json\r\n"), "{out}");
    assert!(
        out.ends_with("\r\n\r\n{\"name\":\"dev\",\"open\":3,\"list\":[1,2,3]}"),
        "{out}"
    );
    assert!(out.contains("Content-Length: 38\r\n"), "{out}");
}

#[test]
fn chunked_response() {
    let (out, _, _) = run(&[b"GET /chunks HTTP/1.1\r\nHost: a\r\n\r\n"]);
    assert!(out.contains("Transfer-Encoding: chunked\r\n"));
    assert!(
        out.ends_with("\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"),
        "{out}"
    );
}

#[test]
fn bad_input_gets_status_and_close() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "400",
        ),
        (b"GARBAGE\r\n\r\n", "400"),
        (b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", "501"),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "400",
        ),
    ];
    for (raw, status) in cases {
        let (out, outcomes, _) = run(&[raw]);
        assert!(
            out.starts_with(&std::format!("HTTP/1.1 {status} ")),
            "{out}"
        );
        assert!(out.contains("Connection: close"), "{out}");
        assert_eq!(outcomes, [Outcome::Close]);
    }
    let mut long = Vec::from(&b"GET /"[..]);
    long.extend(std::iter::repeat_n(b'a', 5000));
    let (out, _, _) = run(&[&long]);
    assert!(out.starts_with("HTTP/1.1 414 "), "{out}");
    let mut big = Vec::from(&b"GET / HTTP/1.1\r\nHost: a\r\n"[..]);
    for _ in 0..200 {
        big.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n");
    }
    big.extend_from_slice(b"\r\n");
    let (out, _, _) = run(&[&big]);
    assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
}

/// A port that knows the date and configures two security headers.
fn stamped() -> ServerConfig {
    ServerConfig {
        headers: &[
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
        ],
        wall_clock: || Some(784_111_777),
        ..ServerConfig::default()
    }
}

/// The head of `out`'s first response, without its status line.
fn head_lines(out: &str) -> Vec<&str> {
    let head = &out[..out.find("\r\n\r\n").expect("a whole head")];
    head.split("\r\n").skip(1).collect()
}

const STAMP: [&str; 3] = [
    "Date: Sun, 06 Nov 1994 08:49:37 GMT",
    "X-Content-Type-Options: nosniff",
    "Referrer-Policy: no-referrer",
];

#[test]
fn every_writer_stamps_the_configured_headers_and_date() {
    let cfg = stamped();
    let mut huge = b"GET /hello HTTP/1.1\r\nHost: a\r\nX: ".to_vec();
    huge.resize(huge.len() + 4000, b'a');
    huge.extend_from_slice(b"\r\n\r\n");
    let cases: [(&[u8], &str); 4] = [
        // The application's answer, through the exchange.
        (b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 "),
        // Malformed heads, answered by the loop before any handler runs.
        (b"GET /hello HTTP/1.1\r\nHost a\r\n\r\n", "HTTP/1.1 400 "),
        (&huge, "HTTP/1.1 431 "),
        // A chunked body past the limit: the loop answers for the handler.
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
              ffffffff\r\n",
            "HTTP/1.1 413 ",
        ),
    ];
    for (input, status) in cases {
        let (out, _, _) = run_with(&cfg, &[input]);
        assert!(out.starts_with(status), "{out:?}");
        let lines = head_lines(&out);
        for h in STAMP {
            assert_eq!(
                lines.iter().filter(|l| **l == h).count(),
                1,
                "{h} in {out:?}"
            );
        }
    }
}

#[test]
fn without_a_date_or_headers_configured_nothing_is_added() {
    for input in [
        &b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET /hello HTTP/1.1\r\nHost a\r\n\r\n",
    ] {
        let (out, _, _) = run(&[input]);
        let lines = head_lines(&out);
        assert!(
            lines
                .iter()
                .all(|l| !l.starts_with("Date:") && !l.starts_with("X-Content")),
            "{out:?}"
        );
    }
}

#[test]
fn the_refusal_503_asks_for_whole_seconds_rounded_up() {
    for (ms, header) in [(1_500, "Retry-After: 2"), (3_000, "Retry-After: 3")] {
        let cfg = ServerConfig {
            retry_after: Duration::from_millis(ms),
            ..ServerConfig::default()
        };
        let mut io = ScriptedTransport::new(b"");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(refuse(&mut io, &cfg)).unwrap();
        let out = String::from_utf8(io.into_output()).unwrap();
        assert!(head_lines(&out).contains(&header), "{header} in {out:?}");
    }
}

#[test]
fn the_refusal_503_is_stamped_too() {
    let cfg = stamped();
    let mut io = ScriptedTransport::new(b"");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(refuse(&mut io, &cfg)).unwrap();
    let out = String::from_utf8(io.into_output()).unwrap();
    assert!(out.starts_with("HTTP/1.1 503 "), "{out:?}");
    let lines = head_lines(&out);
    assert!(lines.contains(&"Retry-After: 1"), "{out:?}");
    for h in STAMP {
        assert!(lines.contains(&h), "{h} in {out:?}");
    }
    assert!(
        out.ends_with("\r\n\r\nserver busy, retry shortly\n"),
        "{out:?}"
    );
}
