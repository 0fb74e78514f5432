//! The WebSocket server endpoint's pure session (`portico_ws::server::Session`) fed with
//! a hostile client's bytes.

use portico_ws::connection::Incoming;
use portico_ws::frame::Opcode;
use portico_ws::server::{Session, MIN_RX};

use crate::ws_events::{assert_error_ends, assert_text_is_utf8, Ev};
use crate::Knobs;

/// Feeds `wire` read by read (each read at most `piece()` bytes and what the receive
/// space takes) and collects the session's events, checking each.
fn feed(wire: &[u8], rx_len: usize, max: usize, mut piece: impl FnMut() -> usize) -> Vec<Ev> {
    let mut s = Session::new();
    let (mut rx, mut msg) = (vec![0u8; rx_len], vec![0u8; max]);
    let mut evs = Vec::new();
    let mut at = 0;
    loop {
        loop {
            match s.poll(&mut rx, &mut msg) {
                Ok(None) => break,
                Err(e) => {
                    let close = s.take_control();
                    let quiet = matches!(s.poll(&mut rx, &mut msg), Ok(None));
                    assert_error_ends(close, &e, quiet);
                    evs.push(Ev::Err(e));
                    return evs;
                }
                Ok(Some(Incoming::Data {
                    opcode,
                    fin,
                    payload,
                })) => {
                    assert!(fin && matches!(opcode, Opcode::Text | Opcode::Binary));
                    assert!(payload.len() <= max, "a message over the limit");
                    assert_text_is_utf8(opcode, payload);
                    evs.push(Ev::Msg(opcode, payload.to_vec()));
                }
                Ok(Some(Incoming::Ping(p))) => {
                    assert!(p.len() <= 125);
                    match s.take_control() {
                        Some((Opcode::Pong, echo)) => assert_eq!(&echo[..], p),
                        other => panic!("a ping not answered with its pong: {other:?}"),
                    }
                    evs.push(Ev::Ping(p.to_vec()));
                }
                Ok(Some(Incoming::Pong(p))) => evs.push(Ev::Pong(p.to_vec())),
                Ok(Some(Incoming::Close { code, reason })) => {
                    assert!(s.close_received() && s.close_sent());
                    evs.push(Ev::Close(code.0, reason.to_string()));
                }
            }
        }
        if at == wire.len() {
            return evs;
        }
        let space = s.rx_space(&mut rx);
        assert!(
            !space.is_empty(),
            "the session stalled with a full receive buffer"
        );
        let n = piece().min(space.len()).min(wire.len() - at).max(1);
        space[..n].copy_from_slice(&wire[at..at + n]);
        s.rx_filled(n);
        at += n;
    }
}

/// Knobs: receive space (`MIN_RX` + 0..255), message limit (0..1020), then the splits.
/// The events must not depend on how the bytes were split into reads.
pub fn ws_server(data: &[u8]) {
    let (mut k, wire) = Knobs::split(data, 4);
    let rx_len = MIN_RX + usize::from(k.byte());
    let max = usize::from(k.byte()) * 4;
    let whole = feed(wire, rx_len, max, || usize::MAX);
    let split = feed(wire, rx_len, max, || k.piece(64));
    assert_eq!(whole, split, "events depend on read sizes");
}
