//! Statuses the serve loop itself chooses, over the in-memory transport of the `serve`
//! fuzz target (its handler's `/count` route reads any body to the end).
//!
//!     cargo test --manifest-path fuzz/Cargo.toml -p portico-fuzz-harness --test statuses

fn status(out: &str) -> &str {
    out.get(9..12).unwrap_or("")
}

/// A declared body over the limit is 413 before anything is read.
#[test]
fn content_length_over_the_limit_is_413() {
    let out = harness::respond(b"POST /count HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n");
    assert_eq!(status(&out), "413", "{out}");
    assert!(out.contains("Connection: close\r\n"));
}

/// A chunked body that grows past the limit is "content too large" as well (RFC 9110
/// §15.5.14), not a malformed body: the framing was fine, the size was not.
#[test]
fn chunked_body_over_the_limit_is_413() {
    for body in [
        &b"10001\r\n"[..], // one chunk over 64 KiB
        b"8000\r\n",       // followed by a second one
    ] {
        let mut req =
            b"POST /count HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        req.extend_from_slice(body);
        if body.starts_with(b"8000") {
            req.extend(std::iter::repeat_n(b'x', 0x8000));
            req.extend_from_slice(b"\r\n8001\r\n");
        }
        let out = harness::respond(&req);
        assert_eq!(status(&out), "413", "{}", out.lines().next().unwrap_or(""));
        assert!(out.contains("Connection: close\r\n"));
    }
}

/// Malformed chunked framing read by the handler is 400.
#[test]
fn malformed_chunked_body_is_400() {
    let out = harness::respond(
        b"POST /count HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    );
    assert_eq!(status(&out), "400", "{out}");
}

/// A body within the limit is read whole, in either framing, and the connection stays.
#[test]
fn bodies_within_the_limit_are_read() {
    let mut req = b"POST /count HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..16 {
        req.extend_from_slice(b"1000\r\n");
        req.extend(std::iter::repeat_n(b'y', 0x1000));
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(
        b"0\r\n\r\nPOST /count HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    );
    let out = harness::respond(&req);
    assert!(out.contains("\r\n\r\n65536HTTP/1.1 200 OK"), "{out}");
    assert!(out.ends_with("\r\n\r\n5"), "{out}");
}
