//! The WebSocket client's pure codec: frame headers, the connection state machine fed
//! with a hostile server's bytes, and the opening handshake.

use portico::placement::sim::SimHeap;
use portico::placement::{MemoryRegions, Placement, Region};
use portico_ws::buffers::{BufferSizes, Buffers};
use portico_ws::close::{parse_close, CloseCode};
use portico_ws::compression::{Agreed, Compression, CompressionMode};
use portico_ws::connection::{Connection, Delivery, Incoming, ProtocolError};
use portico_ws::deflate::Codec;
use portico_ws::frame::{
    decode_header, encode_header, Decoded, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN,
};
use portico_ws::handshake::{parse_response, write_request, Key, RequestOptions};
use portico_ws::url::WsUrl;

use crate::ws_events::{assert_error_ends, assert_text_is_utf8, Ev};
use crate::Knobs;

fn check_header(input: &[u8]) {
    match decode_header(input) {
        Ok(Decoded::Complete { value, consumed }) => {
            assert!(consumed <= input.len() && consumed <= MAX_HEADER_LEN);
            assert!(
                consumed >= value.encoded_len(),
                "shorter than the minimal encoding"
            );
            assert!(value.payload_len < 1 << 63);
            if value.opcode.is_control() {
                assert!(value.payload_len <= MAX_CONTROL_PAYLOAD as u64 && value.fin);
            }
            // Re-encoding (minimally) decodes to the same header.
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = encode_header(
                &mut buf,
                value.fin,
                value.opcode,
                value.mask,
                value.payload_len,
            )
            .expect("a decoded header re-encodes");
            assert_eq!(n, value.encoded_len());
            match decode_header(&buf[..n]) {
                Ok(Decoded::Complete {
                    value: v,
                    consumed: c,
                }) => assert_eq!((v, c), (value, n)),
                other => panic!("re-encoded header decodes to {other:?}"),
            }
            // Every strict prefix is incomplete (never an error, never complete).
            for cut in 0..consumed {
                match decode_header(&input[..cut]) {
                    Ok(Decoded::Incomplete { needed }) => {
                        assert!(needed >= 1 && cut + needed <= consumed)
                    }
                    other => panic!("prefix of {cut} bytes: {other:?}"),
                }
            }
        }
        Ok(Decoded::Incomplete { needed }) => {
            assert!(needed >= 1 && input.len() + needed <= MAX_HEADER_LEN)
        }
        Err(_) => {}
    }
}

/// The compression blocks' cap when permessage-deflate is on: a 512-byte window (the
/// smallest, so that hostile streams wrap it often) and a 256-byte hash table.
const DEFLATE_CAP: usize = 768;

/// Feeds `wire` to a fresh connection, read by read, and collects its events. With
/// `deflate`, permessage-deflate is agreed (context takeover): RSV1 messages inflate.
fn run(
    heap: &SimHeap,
    wire: &[u8],
    delivery: Delivery,
    sizes: BufferSizes,
    deflate: bool,
    mut piece: impl FnMut() -> usize,
) -> Vec<Ev> {
    let buffers =
        Buffers::allocate(heap.clone(), Placement::PreferExternal, sizes).expect("buffers");
    let codec = deflate.then(|| {
        let cap = Compression {
            mode: CompressionMode::Prefer,
            max_memory: DEFLATE_CAP,
            ..Compression::const_default()
        };
        let plan = cap.plan().expect("768 B fits the smallest window");
        let agreed = Agreed {
            server_window_bits: plan.server_window_bits,
            client_window_bits: plan.server_window_bits,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        };
        Codec::new(&buffers, plan, agreed).expect("codec")
    });
    let mut c = Connection::new(buffers, delivery);
    if let Some(codec) = codec {
        c.set_codec(codec);
    }
    // Pieces come from the receive buffer, or inflated from the codec's window.
    let rx_cap = sizes.rx.max(BufferSizes::MIN);
    let piece_cap = if deflate {
        rx_cap.max(DEFLATE_CAP)
    } else {
        rx_cap
    };
    let mut evs = Vec::new();
    let mut partial: Option<(Opcode, Vec<u8>)> = None;
    let mut at = 0;
    let mut reads = 0usize;
    loop {
        loop {
            let close_sent_before = c.close_sent();
            let ev = c.poll();
            match ev {
                Ok(None) => break,
                Err(e) => {
                    // The answering close is queued with the code the error maps to.
                    assert_error_ends(c.take_control(), &e, matches!(c.poll(), Ok(None)));
                    evs.push(Ev::Err(e));
                    return evs;
                }
                Ok(Some(Incoming::Data {
                    opcode,
                    fin,
                    payload,
                })) => {
                    assert!(matches!(opcode, Opcode::Text | Opcode::Binary));
                    match delivery {
                        Delivery::Messages => {
                            assert!(fin, "a partial message in Messages mode");
                            assert!(payload.len() <= sizes.max_message);
                            assert_text_is_utf8(opcode, payload);
                            evs.push(Ev::Msg(opcode, payload.to_vec()));
                        }
                        Delivery::Frames => {
                            assert!(payload.len() <= piece_cap);
                            let p = partial.get_or_insert_with(|| (opcode, Vec::new()));
                            assert_eq!(p.0, opcode, "a piece changed the message's opcode");
                            p.1.extend_from_slice(payload);
                            if fin {
                                let (op, bytes) = partial.take().expect("partial");
                                assert_text_is_utf8(op, &bytes);
                                evs.push(Ev::Msg(op, bytes));
                            }
                        }
                    }
                }
                Ok(Some(Incoming::Ping(p))) => {
                    let p = p.to_vec();
                    assert!(p.len() <= MAX_CONTROL_PAYLOAD);
                    if !close_sent_before {
                        assert_eq!(
                            c.take_control(),
                            Some((Opcode::Pong, heapless_vec(&p))),
                            "ping not answered"
                        );
                    }
                    evs.push(Ev::Ping(p));
                }
                Ok(Some(Incoming::Pong(p))) => evs.push(Ev::Pong(p.to_vec())),
                Ok(Some(Incoming::Close { code, reason })) => {
                    assert!(
                        code.is_valid_on_wire() || code == CloseCode::NO_STATUS,
                        "close code {code}"
                    );
                    let reason = reason.to_string();
                    assert!(c.close_received());
                    if !close_sent_before {
                        let (op, payload) = c.take_control().expect("the close is echoed");
                        assert_eq!(op, Opcode::Close);
                        let echoed = parse_close(&payload).expect("our close parses").code;
                        assert_eq!(echoed, code, "close echoed with another code");
                    }
                    evs.push(Ev::Close(code.0, reason));
                    assert!(
                        matches!(c.poll(), Ok(None)),
                        "events after the peer's close"
                    );
                    return evs;
                }
            }
        }
        if at == wire.len() {
            break;
        }
        let space = c.rx_space();
        assert!(
            !space.is_empty(),
            "receive buffer full and nothing to decode: the link would stall"
        );
        let n = piece().min(space.len()).min(wire.len() - at);
        space[..n].copy_from_slice(&wire[at..at + n]);
        c.rx_filled(n);
        at += n;
        reads += 1;
        assert!(reads <= wire.len() + 1);
    }
    // Bounded memory while it ran: rx + tx + at most max_message of reassembly (+ the
    // compression blocks, within their cap).
    let used = heap.stats(Region::Internal).used + heap.stats(Region::External).used;
    let bound = rx_cap
        + sizes.tx.max(BufferSizes::MIN)
        + sizes.max_message.max(sizes.message_initial)
        + if deflate { DEFLATE_CAP } else { 0 };
    assert!(
        used <= bound,
        "connection holds {used} bytes, bound {bound}"
    );
    evs
}

fn heapless_vec(p: &[u8]) -> heapless::Vec<u8, 125> {
    let mut v = heapless::Vec::new();
    v.extend_from_slice(p).expect("≤ 125 bytes");
    v
}

/// Invariants: the header decoder round-trips and never completes on a prefix; the
/// connection never panics or stalls, delivers only valid UTF-8 text and messages within
/// `max_message`, answers every protocol error with a close carrying the mapped code
/// (1002 / 1007 / 1009) and then stays silent, echoes pings and closes, holds bounded
/// memory and gives all of it back; its events do not depend on how the bytes were
/// split into reads, nor (within `max_message`) on the delivery mode. The knob byte's top
/// bit turns permessage-deflate on: the same invariants then hold for inflated messages
/// (a bomb is 1009, invalid data 1007).
pub fn ws_frame(data: &[u8]) {
    let (mut k, wire) = Knobs::split(data, 3);
    check_header(wire);
    let a = k.byte();
    let b = k.byte();
    let sizes = BufferSizes {
        rx: [256usize, 300, 512, 4096][usize::from(a & 3)],
        tx: 256,
        message_initial: [0usize, 64, 1024, 3][usize::from((a >> 2) & 3)],
        max_message: [0usize, 1, 125, 1000, 4096, 65536, 1 << 20, 7][usize::from((a >> 4) & 7)],
    };
    let max_piece = 1 + usize::from(b);
    let deflate = a & 0x80 != 0;
    let heap = SimHeap::new(1 << 22, 1 << 22);
    for delivery in [Delivery::Messages, Delivery::Frames] {
        let whole = run(&heap, wire, delivery, sizes, deflate, || usize::MAX);
        let split = run(&heap, wire, delivery, sizes, deflate, || k.piece(max_piece));
        assert_eq!(
            whole, split,
            "{delivery:?}: events depend on the read sizes"
        );
    }
    // Modes agree when the cap cannot bite.
    let big = BufferSizes {
        max_message: 1 << 22,
        ..sizes
    };
    let m = run(&heap, wire, Delivery::Messages, big, deflate, || usize::MAX);
    let f = run(&heap, wire, Delivery::Frames, big, deflate, || usize::MAX);
    let fits = !m.iter().any(|e| {
        matches!(
            e,
            Ev::Err(ProtocolError::MessageTooBig | ProtocolError::OutOfMemory)
        )
    });
    if fits {
        assert_eq!(m, f, "Messages and Frames modes disagree");
    }
    for r in [Region::Internal, Region::External] {
        assert_eq!(
            heap.stats(r).used,
            0,
            "{r} not returned after the connections dropped"
        );
    }
}

/// Invariants: `parse_response` never panics, only completes on a 101 carrying the exact
/// accept value for our key and a subprotocol we offered, and never on a strict prefix of
/// what it consumed; `write_request` for any URL, subprotocols, credentials and extra
/// headers either refuses or writes exactly the expected lines — no CR/LF injection.
///
/// Input: a mode byte; then a response (even modes) or a URL line followed by lines
/// `~proto`, `@user:pass` or `Name: value` (odd modes).
pub fn ws_handshake(data: &[u8]) {
    let (mut k, rest) = Knobs::split(data, 1);
    let mode = k.byte();
    let key = Key::from_nonce(*b"the sample nonce");
    let offered = ["chat", "superchat"];
    if mode & 1 == 0 {
        match parse_response(rest, &key, &offered) {
            Ok(Decoded::Complete { value, consumed }) => {
                assert!(consumed <= rest.len());
                if let Some(p) = value.subprotocol {
                    assert!(offered.contains(&p), "subprotocol {p:?} not offered");
                }
                let head = &rest[..consumed];
                let accept = key.expected_accept();
                assert!(
                    head.windows(accept.len()).any(|w| w == accept),
                    "accepted without our accept value"
                );
                assert!(head.windows(3).any(|w| w == b"101"));
                if consumed > 0 {
                    assert!(
                        !matches!(
                            parse_response(&rest[..consumed - 1], &key, &offered),
                            Ok(Decoded::Complete { .. })
                        ),
                        "a strict prefix completed"
                    );
                }
            }
            Ok(Decoded::Incomplete { needed }) => assert!(needed >= 1),
            Err(_) => {}
        }
        return;
    }
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.split('\n');
    let url_text = lines.next().unwrap_or("");
    let Ok(url) = WsUrl::parse(url_text) else {
        return;
    };
    assert!(!url.host.is_empty());
    let mut protos = Vec::new();
    let mut headers = Vec::new();
    let mut auth = None;
    for line in lines.take(16) {
        if let Some(p) = line.strip_prefix('~') {
            protos.push(p);
        } else if let Some(a) = line.strip_prefix('@') {
            auth = Some(a);
        } else if let Some((n, v)) = line.split_once(':') {
            headers.push((n, v));
        }
    }
    let opts = RequestOptions {
        subprotocols: &protos,
        headers: &headers,
        basic_auth: auth,
    };
    let mut buf = vec![0u8; 64 + usize::from(k.byte()) * 8];
    let Ok(n) = write_request(&mut buf, &url, &key, &opts) else {
        return;
    };
    assert!(n <= buf.len());
    let out = &buf[..n];
    assert!(out.ends_with(b"\r\n\r\n"), "request does not end its head");
    // Every LF is part of a CRLF, every CR is followed by LF.
    for (i, &b) in out.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}");
        }
        if b == b'\r' {
            assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        assert_ne!(b, 0, "NUL in the request");
    }
    let body = &out[..n - 4];
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let auth_line = auth.or(url.userinfo).is_some();
    let expected = 6 + usize::from(!protos.is_empty()) + usize::from(auth_line) + headers.len();
    assert_eq!(
        lines.len(),
        expected,
        "header injection: {:?}",
        String::from_utf8_lossy(out)
    );
    let first = lines[0].strip_suffix(b"\r").unwrap_or(lines[0]);
    let parts: Vec<&[u8]> = first.split(|&b| b == b' ').collect();
    assert_eq!(
        parts.len(),
        3,
        "request line {:?}",
        String::from_utf8_lossy(first)
    );
    assert_eq!(parts[0], b"GET");
    assert!(parts[1].starts_with(b"/"));
    assert_eq!(parts[2], b"HTTP/1.1");
    for l in &lines[1..] {
        let colon = l
            .iter()
            .position(|&b| b == b':')
            .expect("header line has a colon");
        assert!(
            colon > 0 && !l[..colon].iter().any(|b| b.is_ascii_whitespace()),
            "bad name in {l:?}"
        );
    }
}
