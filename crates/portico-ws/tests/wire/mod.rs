//! Sans-IO helpers for the connection tests: server frames in, what the connection
//! delivered out. Shared by `connection.rs` and `deflate_connection.rs`.
#![allow(dead_code)]

use portico::placement::sim::SimHeap;
use portico_ws::connection::{Connection, Incoming, ProtocolError};
use portico_ws::frame::{encode_frame, Opcode};

/// A server frame (unmasked).
pub fn frame(fin: bool, op: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; payload.len() + 14];
    let n = encode_frame(&mut v, fin, op, None, payload).unwrap();
    v.truncate(n);
    v
}

/// What the connection delivered, owned so a test can compare whole runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    Data(Opcode, bool, Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16),
    Err(ProtocolError),
}

/// A whole text message.
pub fn text(s: &[u8]) -> Got {
    Got::Data(Opcode::Text, true, s.to_vec())
}

/// Feeds `wire` in reads of at most `chunk` bytes (and at most the receive space) and
/// collects what comes out, up to and including the first error.
pub fn feed(c: &mut Connection<SimHeap>, wire: &[u8], chunk: usize) -> Vec<Got> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        loop {
            match c.poll() {
                Ok(Some(Incoming::Data {
                    opcode,
                    fin,
                    payload,
                })) => out.push(Got::Data(opcode, fin, payload.to_vec())),
                Ok(Some(Incoming::Ping(p))) => out.push(Got::Ping(p.to_vec())),
                Ok(Some(Incoming::Pong(p))) => out.push(Got::Pong(p.to_vec())),
                Ok(Some(Incoming::Close { code, .. })) => out.push(Got::Close(code.0)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Got::Err(e));
                    return out;
                }
            }
        }
        if at == wire.len() {
            return out;
        }
        let space = c.rx_space();
        let n = chunk.min(space.len()).min(wire.len() - at);
        space[..n].copy_from_slice(&wire[at..at + n]);
        c.rx_filled(n);
        at += n;
    }
}
