//! One WebSocket connection as a pure state machine: bytes in, events out, frames to
//! send built in the send buffer. No I/O, no clock.
//!
//! The receive buffer is fixed; a frame larger than it is consumed piece by piece, its
//! text validated as it arrives (fail fast: 1007 on the first bad byte) and, in
//! [`Delivery::Messages`] mode, copied into the reassembly block up to `max_message`
//! (over it: 1009). A small unfragmented message that sits whole in the receive buffer
//! is handed out from there, without a copy.

use core::fmt;

use portico::placement::MemoryRegions;

use crate::buffers::Buffers;
use crate::close::{parse_close, CloseCode, CloseFrame};
use crate::frame::{self, decode_header, Decoded, EncodeError, Opcode, MAX_HEADER_LEN};
use crate::utf8::Utf8Validator;

/// How received data reaches the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Whole messages, reassembled from their frames (up to `max_message`).
    Messages,
    /// Pieces as they arrive, each with its message's opcode and whether it is the last;
    /// nothing is reassembled, so messages of any size pass through fixed memory.
    Frames,
}

/// Something the peer sent.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// Data: a whole message, or (in [`Delivery::Frames`]) a piece of one.
    Data {
        /// `Text` or `Binary`: the message's type (also on continuation pieces).
        opcode: Opcode,
        /// Last piece of the message.
        fin: bool,
        /// The bytes; text is valid UTF-8 as far as it goes (whole messages entirely).
        payload: &'a [u8],
    },
    /// A ping; the pong is already queued.
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The peer closed; our answering close is queued unless we had sent one.
    Close {
        /// The code ([`CloseCode::NO_STATUS`] if none).
        code: CloseCode,
        /// The reason.
        reason: &'a str,
    },
}

/// What was wrong with the peer's bytes; the close that answers it is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// A malformed or forbidden frame header.
    Frame(frame::DecodeError),
    /// A masked frame from the server.
    MaskedFrame,
    /// A continuation without a message, or a new message inside a fragmented one.
    BadContinuation,
    /// Invalid UTF-8 in a text message or close reason.
    InvalidUtf8,
    /// A malformed close payload or close code.
    BadClose(crate::close::CloseParseError),
    /// A message over `max_message`.
    MessageTooBig,
    /// The reassembly block could not grow.
    OutOfMemory,
}

impl ProtocolError {
    /// The close code sent in answer.
    pub const fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            ProtocolError::BadClose(e) => e.reply_code(),
            ProtocolError::MessageTooBig | ProtocolError::OutOfMemory => CloseCode::TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Frame(e) => write!(f, "bad frame: {e}"),
            ProtocolError::MaskedFrame => f.write_str("masked frame from server"),
            ProtocolError::BadContinuation => f.write_str("bad fragment sequence"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ProtocolError::BadClose(e) => write!(f, "bad close frame: {e}"),
            ProtocolError::MessageTooBig => f.write_str("message over the configured maximum"),
            ProtocolError::OutOfMemory => f.write_str("no memory to reassemble the message"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// Why a send was refused before anything was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameOrderError {
    /// A new message while a fragmented one is being sent.
    FragmentInProgress,
    /// A continuation with no fragmented message started.
    NoFragmentInProgress,
    /// Data after a close frame was sent.
    Closing,
}

impl fmt::Display for FrameOrderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameOrderError::FragmentInProgress => "a fragmented message is being sent",
            FrameOrderError::NoFragmentInProgress => "no fragmented message to continue",
            FrameOrderError::Closing => "the connection is closing",
        })
    }
}

impl core::error::Error for FrameOrderError {}

#[derive(Debug, Clone, Copy)]
struct FrameState {
    fin: bool,
    remaining: u64,
}

#[derive(Debug, Clone, Copy)]
struct MessageState {
    opcode: Opcode,
    len: usize,
    utf8: Utf8Validator,
}

/// One connection's protocol state over its placed buffers.
pub struct Connection<M: MemoryRegions> {
    buffers: Buffers<M>,
    delivery: Delivery,
    rx_start: usize,
    rx_end: usize,
    frame: Option<FrameState>,
    message: Option<MessageState>,
    shrink_pending: bool,
    pong: Option<heapless::Vec<u8, 125>>,
    close_out: Option<CloseFrame>,
    close_sent: bool,
    close_received: bool,
    failed: bool,
    sending_fragmented: bool,
}

impl<M: MemoryRegions> fmt::Debug for Connection<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("buffered", &(self.rx_end - self.rx_start))
            .field("close_sent", &self.close_sent)
            .field("close_received", &self.close_received)
            .finish()
    }
}

impl<M: MemoryRegions> Connection<M> {
    /// A fresh connection (after the handshake) over `buffers`.
    pub fn new(buffers: Buffers<M>, delivery: Delivery) -> Self {
        Self::with_received(buffers, delivery, 0..0)
    }

    /// Like [`new`](Self::new), with `received` bytes of the receive buffer already
    /// holding frames (those that followed the handshake response).
    pub fn with_received(
        buffers: Buffers<M>,
        delivery: Delivery,
        received: core::ops::Range<usize>,
    ) -> Self {
        let cap = buffers.rx.block.as_ref().len();
        Connection {
            buffers,
            delivery,
            rx_start: received.start.min(cap),
            rx_end: received.end.min(cap),
            frame: None,
            message: None,
            shrink_pending: false,
            pong: None,
            close_out: None,
            close_sent: false,
            close_received: false,
            failed: false,
            sending_fragmented: false,
        }
    }

    /// Gives the buffers back (for the next connection or to be freed).
    pub fn into_buffers(self) -> Buffers<M> {
        self.buffers
    }

    /// The buffers, for a memory report.
    pub fn buffers(&self) -> &Buffers<M> {
        &self.buffers
    }

    /// Copies bytes already read (e.g. after the handshake head) into the receive buffer.
    /// Returns how many fitted.
    pub fn push_received(&mut self, bytes: &[u8]) -> usize {
        let space = self.rx_space();
        let n = bytes.len().min(space.len());
        space[..n].copy_from_slice(&bytes[..n]);
        self.rx_filled(n);
        n
    }

    /// Free space to read into; compacts the buffer first when it helps.
    pub fn rx_space(&mut self) -> &mut [u8] {
        if self.rx_start == self.rx_end {
            self.rx_start = 0;
            self.rx_end = 0;
        } else if self.rx_start > 0 {
            let cap = self.buffers.rx.block.as_ref().len();
            // Move the partial frame to the front when the tail is too short to finish a
            // header or a control frame; data pieces are consumed whatever their size.
            if cap - self.rx_end < MAX_HEADER_LEN + frame::MAX_CONTROL_PAYLOAD {
                let (s, e) = (self.rx_start, self.rx_end);
                self.buffers.rx.block.as_mut().copy_within(s..e, 0);
                self.rx_start = 0;
                self.rx_end = e - s;
            }
        }
        let end = self.rx_end;
        &mut self.buffers.rx.block.as_mut()[end..]
    }

    /// Records that `n` bytes were read into [`rx_space`](Self::rx_space).
    pub fn rx_filled(&mut self, n: usize) {
        self.rx_end = (self.rx_end + n).min(self.buffers.rx.block.as_ref().len());
    }

    /// Whether a close frame was received.
    pub fn close_received(&self) -> bool {
        self.close_received
    }

    /// Whether a close frame was sent (or is queued).
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Whether the closing handshake is complete (both closes exchanged).
    pub fn closed(&self) -> bool {
        self.close_sent && self.close_received
    }

    /// The next control frame the driver must send (a pong or a close), if any.
    pub fn take_control(&mut self) -> Option<(Opcode, heapless::Vec<u8, 125>)> {
        if let Some(c) = self.close_out.take() {
            self.pong = None;
            let mut v = heapless::Vec::new();
            let _ = v.extend_from_slice(c.as_bytes());
            return Some((Opcode::Close, v));
        }
        self.pong.take().map(|p| (Opcode::Pong, p))
    }

    /// Queues a close with `frame` (if none was sent yet). Data sends fail from now on.
    pub fn start_close(&mut self, frame: CloseFrame) {
        if !self.close_sent {
            self.close_sent = true;
            self.close_out = Some(frame);
        }
    }

    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.failed = true;
        self.frame = None;
        self.message = None;
        let code = e.close_code();
        self.start_close(CloseFrame::new(code, "").unwrap_or(CloseFrame::empty()));
        e
    }

    /// Decodes the next event from the buffered bytes; `Ok(None)` when more bytes are
    /// needed. After an error the answering close is queued and nothing more is decoded.
    pub fn poll(&mut self) -> Result<Option<Incoming<'_>>, ProtocolError> {
        if self.failed || self.close_received {
            // After the peer's close nothing more is meaningful; drop what follows.
            self.rx_start = self.rx_end;
            return Ok(None);
        }
        if self.shrink_pending {
            self.shrink_pending = false;
            self.buffers.shrink_message();
        }
        match self.step() {
            Ok(Some(range)) => Ok(Some(self.render(range))),
            Ok(None) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn render(&self, r: Ready) -> Incoming<'_> {
        let rx = self.buffers.rx.block.as_ref();
        match r {
            Ready::Rx { kind, start, end } => {
                let payload = &rx[start..end];
                match kind {
                    Kind::Data { opcode, fin } => Incoming::Data {
                        opcode,
                        fin,
                        payload,
                    },
                    Kind::Ping => Incoming::Ping(payload),
                    Kind::Pong => Incoming::Pong(payload),
                    Kind::Close { code } => Incoming::Close {
                        code,
                        // Validated in `step`.
                        reason: core::str::from_utf8(payload.get(2..).unwrap_or(&[])).unwrap_or(""),
                    },
                }
            }
            Ready::Message { opcode, len } => Incoming::Data {
                opcode,
                fin: true,
                payload: self
                    .buffers
                    .message
                    .as_ref()
                    .map_or(&[][..], |m| &m.block.as_ref()[..len]),
            },
        }
    }

    fn step(&mut self) -> Result<Option<Ready>, ProtocolError> {
        loop {
            if let Some(f) = self.frame {
                if let Some(r) = self.payload_step(f)? {
                    return Ok(Some(r));
                }
                if self.frame.is_some() {
                    return Ok(None); // waiting for more payload
                }
                continue;
            }
            let avail = &self.buffers.rx.block.as_ref()[self.rx_start..self.rx_end];
            let (h, hlen) = match decode_header(avail).map_err(ProtocolError::Frame)? {
                Decoded::Incomplete { .. } => return Ok(None),
                Decoded::Complete { value, consumed } => (value, consumed),
            };
            if h.mask.is_some() {
                return Err(ProtocolError::MaskedFrame);
            }
            let len = h.payload_len;
            if h.opcode.is_control() {
                let total = hlen + len as usize;
                if avail.len() < total {
                    return Ok(None);
                }
                let start = self.rx_start + hlen;
                let end = self.rx_start + total;
                self.rx_start = end;
                return self.control(h.opcode, start, end).map(Some);
            }
            let continuing = self.message.is_some();
            match (h.opcode, continuing) {
                (Opcode::Continuation, false) => return Err(ProtocolError::BadContinuation),
                (Opcode::Text | Opcode::Binary, true) => {
                    return Err(ProtocolError::BadContinuation)
                }
                _ => {}
            }
            let so_far = self.message.map_or(0, |m| m.len) as u64;
            if self.delivery == Delivery::Messages && so_far + len > self.buffers.max_message as u64
            {
                return Err(ProtocolError::MessageTooBig);
            }
            let whole = avail.len() as u64 >= hlen as u64 + len;
            if self.delivery == Delivery::Messages && !continuing && h.fin && whole {
                // Fast path: the whole message is in the receive buffer; no copy.
                let start = self.rx_start + hlen;
                let end = start + len as usize;
                self.rx_start = end;
                let payload = &self.buffers.rx.block.as_ref()[start..end];
                if h.opcode == Opcode::Text && core::str::from_utf8(payload).is_err() {
                    return Err(ProtocolError::InvalidUtf8);
                }
                return Ok(Some(Ready::Rx {
                    kind: Kind::Data {
                        opcode: h.opcode,
                        fin: true,
                    },
                    start,
                    end,
                }));
            }
            self.rx_start += hlen;
            if !continuing {
                self.message = Some(MessageState {
                    opcode: h.opcode,
                    len: 0,
                    utf8: Utf8Validator::new(),
                });
            }
            if self.delivery == Delivery::Messages {
                let needed = (so_far + len) as usize;
                self.buffers
                    .grow_message(so_far as usize, needed)
                    .map_err(|_| ProtocolError::OutOfMemory)?;
            }
            self.frame = Some(FrameState {
                fin: h.fin,
                remaining: len,
            });
        }
    }

    fn payload_step(&mut self, f: FrameState) -> Result<Option<Ready>, ProtocolError> {
        let Some(mut msg) = self.message else {
            self.frame = None;
            return Ok(None);
        };
        let avail = self.rx_end - self.rx_start;
        if avail == 0 && f.remaining > 0 {
            return Ok(None);
        }
        let take = (f.remaining.min(avail as u64)) as usize;
        let (start, end) = (self.rx_start, self.rx_start + take);
        if msg.opcode == Opcode::Text {
            msg.utf8
                .feed(&self.buffers.rx.block.as_ref()[start..end])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        let remaining = f.remaining - take as u64;
        let last = remaining == 0 && f.fin;
        if last && msg.opcode == Opcode::Text {
            msg.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        self.rx_start = end;
        self.frame = (remaining > 0).then_some(FrameState {
            fin: f.fin,
            remaining,
        });
        match self.delivery {
            Delivery::Frames => {
                self.message = (!last).then_some(msg);
                // Empty middle pieces carry nothing worth an event.
                if take == 0 && !last {
                    return Ok(None);
                }
                Ok(Some(Ready::Rx {
                    kind: Kind::Data {
                        opcode: msg.opcode,
                        fin: last,
                    },
                    start,
                    end,
                }))
            }
            Delivery::Messages => {
                if take > 0 {
                    let (rx, m) = (&self.buffers.rx, self.buffers.message.as_mut());
                    let Some(m) = m else {
                        return Err(ProtocolError::OutOfMemory);
                    };
                    m.block.as_mut()[msg.len..msg.len + take]
                        .copy_from_slice(&rx.block.as_ref()[start..end]);
                    msg.len += take;
                }
                if last {
                    self.message = None;
                    self.shrink_pending = true;
                    Ok(Some(Ready::Message {
                        opcode: msg.opcode,
                        len: msg.len,
                    }))
                } else {
                    self.message = Some(msg);
                    Ok(None)
                }
            }
        }
    }

    fn control(&mut self, op: Opcode, start: usize, end: usize) -> Result<Ready, ProtocolError> {
        let payload = &self.buffers.rx.block.as_ref()[start..end];
        let kind = match op {
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
                let c = parse_close(payload).map_err(|e| match e {
                    crate::close::CloseParseError::InvalidReason => ProtocolError::InvalidUtf8,
                    e => ProtocolError::BadClose(e),
                })?;
                let code = c.code;
                self.close_received = true;
                if !self.close_sent {
                    let reply = if code == CloseCode::NO_STATUS {
                        CloseFrame::empty()
                    } else {
                        CloseFrame::new(code, "").unwrap_or(CloseFrame::empty())
                    };
                    self.start_close(reply);
                }
                Kind::Close { code }
            }
        };
        Ok(Ready::Rx { kind, start, end })
    }

    /// Checks that a data frame may be sent now, and records fragmentation state.
    pub fn begin_send(&mut self, opcode: Opcode, fin: bool) -> Result<(), FrameOrderError> {
        if self.close_sent {
            return Err(FrameOrderError::Closing);
        }
        match (opcode, self.sending_fragmented) {
            (Opcode::Continuation, false) => return Err(FrameOrderError::NoFragmentInProgress),
            (Opcode::Text | Opcode::Binary, true) => {
                return Err(FrameOrderError::FragmentInProgress)
            }
            _ => {}
        }
        self.sending_fragmented = !fin;
        Ok(())
    }

    /// Largest payload one frame in the send buffer can carry.
    pub fn max_frame_payload(&self) -> usize {
        let cap = self.buffers.tx.block.as_ref().len();
        // A 10-byte length form plus the 4-byte mask covers every payload size.
        cap - MAX_HEADER_LEN
    }

    /// Builds one masked frame in the send buffer and returns it, ready for one write.
    pub fn encode(
        &mut self,
        fin: bool,
        opcode: Opcode,
        mask: [u8; 4],
        payload: &[u8],
    ) -> Result<&[u8], EncodeError> {
        let tx = self.buffers.tx.block.as_mut();
        let n = frame::encode_frame(tx, fin, opcode, Some(mask), payload)?;
        Ok(&tx[..n])
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Data { opcode: Opcode, fin: bool },
    Ping,
    Pong,
    Close { code: CloseCode },
}

#[derive(Debug, Clone, Copy)]
enum Ready {
    Rx {
        kind: Kind,
        start: usize,
        end: usize,
    },
    Message {
        opcode: Opcode,
        len: usize,
    },
}
