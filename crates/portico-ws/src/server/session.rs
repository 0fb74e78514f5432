//! The server's side of one WebSocket connection as a pure state machine: bytes in,
//! messages out. No I/O, no clock, and no buffer of its own.
//!
//! Why the buffers are arguments and not fields: the server leases its receive and
//! reassembly space from the port's buffer pool only while a message is arriving, and
//! gives it back whenever [`Session::at_rest`] — so a quiet WebSocket costs no buffer,
//! like an idle keep-alive connection. The state kept between leases is a few flags.
//!
//! The frame header is the client's decoder ([`crate::frame`]); what differs is the
//! direction: every frame from a client MUST be masked (RFC 6455 §5.1; an unmasked one
//! fails the connection with 1002), and the payload is unmasked in place as it arrives.
//! Text is validated as it arrives (1007 on the first bad byte); a message longer than
//! the reassembly space is refused from its header (1009) before its payload is read.

use crate::close::{CloseCode, CloseFrame};
use crate::connection::{answer_close, Incoming, ProtocolError};
use crate::frame::{decode_header, Decoded, Opcode, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::utf8::Utf8Validator;

/// Smallest receive space: a whole header plus a whole control frame must fit.
pub const MIN_RX: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

#[derive(Debug, Clone, Copy)]
struct FrameState {
    fin: bool,
    remaining: u64,
    mask: [u8; 4],
    /// Payload bytes of this frame already unmasked (the mask's phase).
    done: usize,
}

#[derive(Debug, Clone, Copy)]
struct MessageState {
    opcode: Opcode,
    len: usize,
    utf8: Utf8Validator,
}

/// One connection's protocol state (a few dozen bytes plus a queued control payload).
#[derive(Debug, Default)]
pub struct Session {
    rx_start: usize,
    rx_end: usize,
    frame: Option<FrameState>,
    message: Option<MessageState>,
    pong: Option<heapless::Vec<u8, 125>>,
    close_out: Option<CloseFrame>,
    close_sent: bool,
    close_received: bool,
    failed: bool,
}

impl Session {
    /// A connection right after its handshake.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing is buffered or half-received: the receive and reassembly space
    /// may be given back (a new lease may be a different buffer).
    pub fn at_rest(&self) -> bool {
        self.rx_start == self.rx_end && self.frame.is_none() && self.message.is_none()
    }

    /// Free space of `rx` to read into; compacts first when the tail is too short for a
    /// header and a control frame (data payloads are consumed whatever their size).
    pub fn rx_space<'a>(&mut self, rx: &'a mut [u8]) -> &'a mut [u8] {
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
        } else if self.rx_start > 0 && rx.len() - self.rx_end < MIN_RX {
            rx.copy_within(self.rx_start..self.rx_end, 0);
            self.rx_end -= self.rx_start;
            self.rx_start = 0;
        }
        &mut rx[self.rx_end..]
    }

    /// Records that `n` bytes were read into [`Session::rx_space`].
    pub fn rx_filled(&mut self, n: usize) {
        self.rx_end += n;
    }

    /// Whether the peer's close arrived.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Whether our close was sent (or is queued).
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the peer broke the protocol (our close with the reason is queued).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Queues a close (once). Received data is ignored from now on, but the peer's
    /// close is still looked for.
    pub fn start_close(&mut self, frame: CloseFrame) {
        if !self.close_sent {
            self.close_sent = true;
            self.close_out = Some(frame);
        }
    }

    /// Records that a close went out by another way (the application's): data that
    /// follows is dropped, and the client's close is awaited, not answered.
    pub fn note_close_sent(&mut self) {
        self.close_sent = true;
    }

    /// The next control frame to send (the close first, else a pong).
    pub fn take_control(&mut self) -> Option<(Opcode, heapless::Vec<u8, 125>)> {
        if let Some(c) = self.close_out.take() {
            self.pong = None;
            let mut v = heapless::Vec::new();
            let _ = v.extend_from_slice(c.as_bytes());
            return Some((Opcode::Close, v));
        }
        self.pong.take().map(|p| (Opcode::Pong, p))
    }

    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.failed = true;
        self.frame = None;
        self.message = None;
        self.rx_start = self.rx_end;
        self.start_close(CloseFrame::new(e.close_code(), "").unwrap_or(CloseFrame::empty()));
        e
    }

    /// Decodes the next event from `rx` (bytes read so far), reassembling fragmented
    /// and partly received messages in `msg`, whose length is the largest message
    /// accepted. `Ok(None)`: more bytes are needed. After an error, the answering close
    /// is queued and nothing more is decoded.
    pub fn poll<'a>(
        &mut self,
        rx: &'a mut [u8],
        msg: &'a mut [u8],
    ) -> Result<Option<Incoming<'a>>, ProtocolError> {
        if self.failed || self.close_received {
            self.rx_start = self.rx_end;
            return Ok(None);
        }
        match self.step(rx, msg) {
            Ok(Some(r)) => Ok(Some(match r {
                Ready::Rx(kind, s, e) => render(kind, &rx[s..e]),
                Ready::Message(opcode, len) => Incoming::Data {
                    opcode,
                    fin: true,
                    payload: &msg[..len],
                },
            })),
            Ok(None) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn step(&mut self, rx: &mut [u8], msg: &mut [u8]) -> Result<Option<Ready>, ProtocolError> {
        loop {
            if let Some(f) = self.frame {
                let avail = self.rx_end - self.rx_start;
                if avail == 0 && f.remaining > 0 {
                    return Ok(None);
                }
                let take = f.remaining.min(avail as u64) as usize;
                let (s, e) = (self.rx_start, self.rx_start + take);
                apply_mask(&mut rx[s..e], f.mask, f.done);
                self.rx_start = e;
                let Some(mut m) = self.message else {
                    return Err(ProtocolError::BadContinuation);
                };
                if m.opcode == Opcode::Text {
                    m.utf8
                        .feed(&rx[s..e])
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                // Room was checked against the frame's declared length.
                msg[m.len..m.len + take].copy_from_slice(&rx[s..e]);
                m.len += take;
                let remaining = f.remaining - take as u64;
                if remaining > 0 {
                    self.frame = Some(FrameState {
                        remaining,
                        done: f.done + take,
                        ..f
                    });
                    self.message = Some(m);
                    return Ok(None);
                }
                self.frame = None;
                if !f.fin {
                    self.message = Some(m);
                    continue;
                }
                if m.opcode == Opcode::Text {
                    m.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                self.message = None;
                if self.close_sent {
                    continue; // closing: data is read and dropped
                }
                return Ok(Some(Ready::Message(m.opcode, m.len)));
            }
            let avail = &rx[self.rx_start..self.rx_end];
            let (h, hlen) = match decode_header(avail).map_err(ProtocolError::Frame)? {
                Decoded::Incomplete { .. } => return Ok(None),
                Decoded::Complete { value, consumed } => (value, consumed),
            };
            let Some(mask) = h.mask else {
                return Err(ProtocolError::UnmaskedFrame);
            };
            let len = h.payload_len;
            if h.opcode.is_control() {
                let total = hlen + len as usize;
                if avail.len() < total {
                    return Ok(None);
                }
                let (s, e) = (self.rx_start + hlen, self.rx_start + total);
                self.rx_start = e;
                apply_mask(&mut rx[s..e], mask, 0);
                let kind = self.control(h.opcode, &rx[s..e])?;
                return Ok(Some(Ready::Rx(kind, s, e)));
            }
            let so_far = match (h.opcode, self.message) {
                (Opcode::Continuation, None) | (Opcode::Text | Opcode::Binary, Some(_)) => {
                    return Err(ProtocolError::BadContinuation)
                }
                (_, m) => m.map_or(0, |m| m.len),
            };
            if so_far as u64 + len > msg.len() as u64 {
                return Err(ProtocolError::MessageTooBig);
            }
            self.rx_start += hlen;
            let whole = (self.rx_end - self.rx_start) as u64 >= len;
            if h.fin && whole && self.message.is_none() {
                // The whole message is in the receive buffer: unmask it there, no copy.
                let (s, e) = (self.rx_start, self.rx_start + len as usize);
                self.rx_start = e;
                apply_mask(&mut rx[s..e], mask, 0);
                if h.opcode == Opcode::Text && core::str::from_utf8(&rx[s..e]).is_err() {
                    return Err(ProtocolError::InvalidUtf8);
                }
                if self.close_sent {
                    continue;
                }
                let kind = Kind::Data(h.opcode);
                return Ok(Some(Ready::Rx(kind, s, e)));
            }
            if self.message.is_none() {
                self.message = Some(MessageState {
                    opcode: h.opcode,
                    len: 0,
                    utf8: Utf8Validator::new(),
                });
            }
            self.frame = Some(FrameState {
                fin: h.fin,
                remaining: len,
                mask,
                done: 0,
            });
        }
    }

    fn control(&mut self, op: Opcode, payload: &[u8]) -> Result<Kind, ProtocolError> {
        Ok(match op {
            Opcode::Ping => {
                if !self.close_sent {
                    let mut v = heapless::Vec::new();
                    let _ = v.extend_from_slice(payload);
                    self.pong = Some(v);
                }
                Kind::Ping
            }
            Opcode::Pong => Kind::Pong,
            _ => {
                let (code, reply) = answer_close(payload)?;
                self.close_received = true;
                self.start_close(reply);
                Kind::Close(code)
            }
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Data(Opcode),
    Ping,
    Pong,
    Close(CloseCode),
}

#[derive(Debug, Clone, Copy)]
enum Ready {
    Rx(Kind, usize, usize),
    Message(Opcode, usize),
}

fn render(kind: Kind, payload: &[u8]) -> Incoming<'_> {
    match kind {
        Kind::Data(opcode) => Incoming::Data {
            opcode,
            fin: true,
            payload,
        },
        Kind::Ping => Incoming::Ping(payload),
        Kind::Pong => Incoming::Pong(payload),
        Kind::Close(code) => Incoming::Close {
            code,
            // Validated by `parse_close`.
            reason: core::str::from_utf8(payload.get(2..).unwrap_or(&[])).unwrap_or(""),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode_frame;
    use alloc::vec::Vec;

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A client's frame: masked.
    fn masked(fin: bool, op: Opcode, payload: &[u8]) -> Vec<u8> {
        let mut out = alloc::vec![0u8; payload.len() + 14];
        let n = encode_frame(&mut out, fin, op, Some(MASK), payload).unwrap();
        out.truncate(n);
        out
    }

    type Run = (Vec<(Opcode, Vec<u8>)>, Option<ProtocolError>, Session);

    /// Feeds `wire` in pieces of `piece` bytes; collects events as owned values, and
    /// the error if any.
    fn run(wire: &[u8], piece: usize, max: usize) -> Run {
        let mut s = Session::new();
        let (mut rx, mut msg) = ([0u8; 256], alloc::vec![0u8; max]);
        let mut events = Vec::new();
        for chunk in wire.chunks(piece.max(1)) {
            let space = s.rx_space(&mut rx);
            space[..chunk.len()].copy_from_slice(chunk);
            s.rx_filled(chunk.len());
            loop {
                match s.poll(&mut rx, &mut msg) {
                    Ok(None) => break,
                    Ok(Some(Incoming::Data {
                        opcode, payload, ..
                    })) => events.push((opcode, payload.to_vec())),
                    Ok(Some(Incoming::Ping(p))) => events.push((Opcode::Ping, p.to_vec())),
                    Ok(Some(Incoming::Pong(p))) => events.push((Opcode::Pong, p.to_vec())),
                    Ok(Some(Incoming::Close { code, .. })) => {
                        events.push((Opcode::Close, code.0.to_be_bytes().to_vec()))
                    }
                    Err(e) => return (events, Some(e), s),
                }
            }
        }
        (events, None, s)
    }

    fn close_code(s: &mut Session) -> Option<u16> {
        match s.take_control() {
            Some((Opcode::Close, p)) if p.len() >= 2 => Some(u16::from_be_bytes([p[0], p[1]])),
            Some((Opcode::Close, _)) => Some(1005),
            _ => None,
        }
    }

    #[test]
    fn masked_text_is_unmasked_in_place_at_any_split() {
        let wire = masked(true, Opcode::Text, b"Hello, server");
        for piece in 1..wire.len() + 1 {
            let (ev, err, s) = run(&wire, piece, 64);
            assert_eq!(err, None);
            assert_eq!(
                ev,
                [(Opcode::Text, b"Hello, server".to_vec())],
                "piece {piece}"
            );
            assert!(s.at_rest());
        }
    }

    #[test]
    fn an_unmasked_frame_is_closed_with_1002() {
        let mut wire = [0u8; 16];
        let n = encode_frame(&mut wire, true, Opcode::Text, None, b"hi").unwrap();
        let (ev, err, mut s) = run(&wire[..n], 64, 64);
        assert!(ev.is_empty());
        assert_eq!(err, Some(ProtocolError::UnmaskedFrame));
        assert_eq!(close_code(&mut s), Some(1002));
    }

    #[test]
    fn invalid_utf8_is_closed_with_1007_as_soon_as_it_arrives() {
        // Fragmented: the bad byte is in the first fragment; no final fragment ever.
        let wire = masked(false, Opcode::Text, b"ok \xff");
        let (_, err, mut s) = run(&wire, 3, 64);
        assert_eq!(err, Some(ProtocolError::InvalidUtf8));
        assert_eq!(close_code(&mut s), Some(1007));
        // Whole and unfragmented (the no-copy path).
        let wire = masked(true, Opcode::Text, b"\xc3\x28");
        let (_, err, mut s) = run(&wire, 64, 64);
        assert_eq!(err, Some(ProtocolError::InvalidUtf8));
        assert_eq!(close_code(&mut s), Some(1007));
    }

    #[test]
    fn a_message_over_the_limit_is_closed_with_1009_from_its_header() {
        let wire = masked(true, Opcode::Binary, &[7u8; 65]);
        // Only the header has arrived: refused already.
        let (_, err, mut s) = run(&wire[..8], 8, 64);
        assert_eq!(err, Some(ProtocolError::MessageTooBig));
        assert_eq!(close_code(&mut s), Some(1009));
        // Fragments that add up past the limit.
        let mut wire = masked(false, Opcode::Binary, &[1u8; 40]);
        wire.extend(masked(true, Opcode::Continuation, &[2u8; 40]));
        let (ev, err, _) = run(&wire, 64, 64);
        assert!(ev.is_empty());
        assert_eq!(err, Some(ProtocolError::MessageTooBig));
        // At the limit exactly: fine.
        let (ev, err, _) = run(&masked(true, Opcode::Binary, &[7u8; 64]), 64, 64);
        assert_eq!((ev.len(), err), (1, None));
    }

    #[test]
    fn fragments_are_reassembled_with_control_frames_between_them() {
        let mut wire = masked(false, Opcode::Text, "déj".as_bytes());
        wire.extend(masked(true, Opcode::Ping, b"p"));
        wire.extend(masked(false, Opcode::Continuation, &"à vu".as_bytes()[..1]));
        wire.extend(masked(true, Opcode::Continuation, &"à vu".as_bytes()[1..]));
        for piece in [1, 2, 5, 300] {
            let (ev, err, mut s) = run(&wire, piece, 64);
            assert_eq!(err, None);
            assert_eq!(
                ev,
                [
                    (Opcode::Ping, b"p".to_vec()),
                    (Opcode::Text, "déjà vu".as_bytes().to_vec())
                ],
                "piece {piece}"
            );
            assert_eq!(
                s.take_control(),
                Some((Opcode::Pong, heapless::Vec::from_slice(b"p").unwrap()))
            );
        }
    }

    #[test]
    fn bad_fragment_sequences_are_1002() {
        let (_, err, _) = run(&masked(true, Opcode::Continuation, b"x"), 64, 64);
        assert_eq!(err, Some(ProtocolError::BadContinuation));
        let mut wire = masked(false, Opcode::Text, b"a");
        wire.extend(masked(true, Opcode::Text, b"b"));
        let (_, err, mut s) = run(&wire, 64, 64);
        assert_eq!(err, Some(ProtocolError::BadContinuation));
        assert_eq!(close_code(&mut s), Some(1002));
    }

    #[test]
    fn a_close_is_echoed_and_ends_decoding() {
        let mut wire = masked(true, Opcode::Close, &[0x03, 0xe8, b'b', b'y', b'e']);
        wire.extend(masked(true, Opcode::Text, b"after"));
        let (ev, err, mut s) = run(&wire, 64, 64);
        assert_eq!(err, None);
        assert_eq!(ev, [(Opcode::Close, 1000u16.to_be_bytes().to_vec())]);
        assert!(s.close_received() && s.close_sent());
        assert_eq!(close_code(&mut s), Some(1000));
        // An empty close is answered with an empty close.
        let (_, _, mut s) = run(&masked(true, Opcode::Close, &[]), 64, 64);
        assert_eq!(close_code(&mut s), Some(1005));
        // A close code that may not be sent: 1002.
        let (_, err, mut s) = run(&masked(true, Opcode::Close, &1005u16.to_be_bytes()), 64, 64);
        assert!(err.is_some());
        assert_eq!(close_code(&mut s), Some(1002));
    }

    #[test]
    fn a_large_message_streams_through_a_small_receive_buffer() {
        let big: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let wire = masked(true, Opcode::Binary, &big);
        let (ev, err, _) = run(&wire, 100, 1000);
        assert_eq!(err, None);
        assert_eq!(ev, [(Opcode::Binary, big)]);
    }
}
