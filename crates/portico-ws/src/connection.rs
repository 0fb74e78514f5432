//! One WebSocket connection as a pure state machine: bytes in, events out, frames to
//! send built in the send buffer. No I/O, no clock.
//!
//! The receive buffer is fixed; a frame larger than it is consumed piece by piece, its
//! text validated as it arrives (fail fast: 1007 on the first bad byte) and, in
//! [`Delivery::Messages`] mode, copied into the reassembly block up to `max_message`
//! (over it: 1009). A small unfragmented message that sits whole in the receive buffer
//! is handed out from there, without a copy.
//!
//! With permessage-deflate agreed, a message whose first frame has RSV1 set is inflated
//! as its bytes arrive, through the codec's window; `max_message` and the UTF-8 check
//! apply to the inflated bytes, so a small message that inflates past the limit (a
//! decompression bomb) is refused with 1009 after at most one window of output.

use core::fmt;

use portico::placement::MemoryRegions;

use crate::buffers::{Buffers, MemoryBlock, MAX_BLOCKS};
use crate::close::{parse_close, CloseCode, CloseFrame};
use crate::deflate::{Codec, TAIL};
use crate::frame::{self, decode_header_with, Decoded, EncodeError, Opcode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
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
    /// An unmasked frame from a client (the server's side, RFC 6455 §5.1).
    UnmaskedFrame,
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
    /// A compressed message that is not valid DEFLATE data.
    BadDeflate,
}

impl ProtocolError {
    /// The close code sent in answer.
    pub const fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::BadDeflate => CloseCode::INVALID_PAYLOAD,
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
            ProtocolError::UnmaskedFrame => f.write_str("unmasked frame from client"),
            ProtocolError::BadContinuation => f.write_str("bad fragment sequence"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ProtocolError::BadClose(e) => write!(f, "bad close frame: {e}"),
            ProtocolError::MessageTooBig => f.write_str("message over the configured maximum"),
            ProtocolError::OutOfMemory => f.write_str("no memory to reassemble the message"),
            ProtocolError::BadDeflate => f.write_str("invalid compressed data"),
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
    /// RSV1 was set on the first frame: inflate the payload.
    compressed: bool,
    /// Bytes of [`TAIL`] fed to the inflater after the last frame.
    tail: u8,
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
    codec: Option<Codec<M::Block>>,
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
            codec: None,
        }
    }

    /// Turns permessage-deflate on with `codec` (after a handshake that agreed to it).
    pub fn set_codec(&mut self, codec: Codec<M::Block>) {
        self.codec = Some(codec);
    }

    /// Whether permessage-deflate is on.
    pub fn compressing(&self) -> bool {
        self.codec.is_some()
    }

    /// Every block of this connection: the buffers' and the codec's.
    pub fn report(&self) -> heapless::Vec<MemoryBlock, MAX_BLOCKS> {
        let mut v = self.buffers.report();
        if let Some(c) = &self.codec {
            c.report(|b| {
                let _ = v.push(b);
            });
        }
        v
    }

    /// Gives the buffers back (for the next connection or to be freed); the codec's
    /// blocks are freed.
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
            Ready::Window {
                opcode,
                fin,
                start,
                end,
            } => Incoming::Data {
                opcode,
                fin,
                payload: self
                    .codec
                    .as_ref()
                    .map_or(&[][..], |c| &c.window()[start..end]),
            },
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
            let rsv1_allowed = self.codec.is_some();
            let (h, hlen) =
                match decode_header_with(avail, rsv1_allowed).map_err(ProtocolError::Frame)? {
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
            let compressed = self.message.map_or(h.rsv1, |m| m.compressed);
            // A compressed message's limit applies to what it inflates to (checked as
            // it inflates); its wire size says nothing.
            if self.delivery == Delivery::Messages
                && !compressed
                && so_far + len > self.buffers.max_message as u64
            {
                return Err(ProtocolError::MessageTooBig);
            }
            let whole = avail.len() as u64 >= hlen as u64 + len;
            if self.delivery == Delivery::Messages && !continuing && h.fin && whole && !compressed {
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
                    compressed,
                    tail: 0,
                });
                if let (true, Some(c)) = (compressed, self.codec.as_mut()) {
                    c.begin_inflate();
                }
            }
            if self.delivery == Delivery::Messages && !compressed {
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
        if msg.compressed {
            return self.inflate_step(f, msg);
        }
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

    /// Feeds a compressed frame's payload (then, after the last frame, the stripped
    /// tail) to the inflater, until an event is ready or more bytes are needed.
    fn inflate_step(
        &mut self,
        f: FrameState,
        mut msg: MessageState,
    ) -> Result<Option<Ready>, ProtocolError> {
        let Some(codec) = self.codec.as_mut() else {
            return Err(ProtocolError::BadDeflate);
        };
        let mut remaining = f.remaining;
        loop {
            let from_rx = remaining > 0;
            let input: &[u8] = if from_rx {
                let avail = self.rx_end - self.rx_start;
                if avail == 0 {
                    self.frame = Some(FrameState {
                        fin: f.fin,
                        remaining,
                    });
                    self.message = Some(msg);
                    return Ok(None);
                }
                let take = remaining.min(avail as u64) as usize;
                &self.buffers.rx.block.as_ref()[self.rx_start..self.rx_start + take]
            } else if f.fin {
                &TAIL[usize::from(msg.tail)..]
            } else {
                // This frame is done; the message goes on in the next one.
                self.frame = None;
                self.message = Some(msg);
                return Ok(None);
            };
            let input_len = input.len();
            let step = codec.inflate(input);
            if from_rx {
                self.rx_start += step.consumed;
                remaining -= step.consumed as u64;
            } else {
                msg.tail += step.consumed as u8;
            }
            let out = step.output.clone();
            let n = out.len();
            let finished =
                !from_rx && f.fin && usize::from(msg.tail) == TAIL.len() && !step.more_output;
            // Verdicts in stream order, so that they do not depend on how the input was
            // split: text up to the size limit, then the limit, then the data's fault.
            let within = match self.delivery {
                Delivery::Messages => n.min(self.buffers.max_message.saturating_sub(msg.len)),
                Delivery::Frames => n,
            };
            if msg.opcode == Opcode::Text {
                msg.utf8
                    .feed(&codec.window()[out.start..out.start + within])
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            if within < n {
                return Err(ProtocolError::MessageTooBig);
            }
            let stuck = step.consumed == 0 && n == 0 && !step.more_output && input_len > 0;
            if step.failed || (stuck && !finished) {
                return Err(ProtocolError::BadDeflate);
            }
            if finished && msg.opcode == Opcode::Text {
                msg.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            match self.delivery {
                Delivery::Messages => {
                    if n > 0 {
                        let len = msg.len + n;
                        self.buffers
                            .grow_message(msg.len, len)
                            .map_err(|_| ProtocolError::OutOfMemory)?;
                        let Some(m) = self.buffers.message.as_mut() else {
                            return Err(ProtocolError::OutOfMemory);
                        };
                        m.block.as_mut()[msg.len..len].copy_from_slice(&codec.window()[out]);
                        msg.len = len;
                    }
                    if finished {
                        self.frame = None;
                        self.message = None;
                        self.shrink_pending = true;
                        return Ok(Some(Ready::Message {
                            opcode: msg.opcode,
                            len: msg.len,
                        }));
                    }
                }
                Delivery::Frames => {
                    if n > 0 || finished {
                        msg.len += n;
                        self.frame = (!finished).then_some(FrameState {
                            fin: f.fin,
                            remaining,
                        });
                        self.message = (!finished).then_some(msg);
                        return Ok(Some(Ready::Window {
                            opcode: msg.opcode,
                            fin: finished,
                            start: out.start,
                            end: out.end,
                        }));
                    }
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
                let (code, reply) = answer_close(payload)?;
                self.close_received = true;
                if !self.close_sent {
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

    /// Starts compressing a message (permessage-deflate must be on).
    pub fn begin_deflate(&mut self) {
        if let Some(c) = self.codec.as_mut() {
            c.begin_deflate();
        }
    }

    /// Builds the next frame of the compressed message `data` in the send buffer: RSV1
    /// and `opcode` on the `first`, continuations after. Returns the frame and whether
    /// it is the message's last. The compressor writes straight into the frame's payload
    /// space, so memory stays the send buffer's whatever the message's size.
    pub fn encode_deflated(
        &mut self,
        first: bool,
        opcode: Opcode,
        mask: [u8; 4],
        data: &[u8],
    ) -> Result<(&[u8], bool), EncodeError> {
        let tx = self.buffers.tx.block.as_mut();
        let Some(codec) = self.codec.as_mut() else {
            return Err(EncodeError::BufferTooSmall { needed: 0 });
        };
        let (n, done) = codec.deflate(data, &mut tx[MAX_HEADER_LEN..]);
        let op = if first { opcode } else { Opcode::Continuation };
        let mut head = [0u8; MAX_HEADER_LEN];
        let h = frame::encode_header_with(&mut head, done, first, op, Some(mask), n as u64)?;
        let start = MAX_HEADER_LEN - h;
        tx[start..MAX_HEADER_LEN].copy_from_slice(&head[..h]);
        let end = MAX_HEADER_LEN + n;
        apply_mask(&mut tx[MAX_HEADER_LEN..end], mask, 0);
        Ok((&tx[start..end], done))
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
    /// Inflated bytes in the codec's window (a piece, in `Delivery::Frames`).
    Window {
        opcode: Opcode,
        fin: bool,
        start: usize,
        end: usize,
    },
}

/// A received close payload checked (RFC 6455 §5.5.1: a bad code or a reason that is not
/// UTF-8 is a protocol error) and the close frame that answers it: its code echoed, none
/// for none. The client and the server session answer a close alike.
pub(crate) fn answer_close(payload: &[u8]) -> Result<(CloseCode, CloseFrame), ProtocolError> {
    let c = parse_close(payload).map_err(|e| match e {
        crate::close::CloseParseError::InvalidReason => ProtocolError::InvalidUtf8,
        e => ProtocolError::BadClose(e),
    })?;
    let reply = if c.code == CloseCode::NO_STATUS {
        CloseFrame::empty()
    } else {
        CloseFrame::new(c.code, "").unwrap_or(CloseFrame::empty())
    };
    Ok((c.code, reply))
}
