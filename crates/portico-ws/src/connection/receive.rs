//! The receive half of [`Connection`]: frames decoded from the receive buffer, text
//! checked as it arrives, messages reassembled or inflated, control frames answered.

use portico::placement::MemoryRegions;

use crate::close::{CloseCode, CloseFrame};
use crate::deflate::TAIL;
use crate::frame::{decode_header_with, Decoded, Opcode};
use crate::utf8::Utf8Validator;

use super::{answer_close, Connection, Delivery, Incoming, ProtocolError};

#[derive(Debug, Clone, Copy)]
pub(super) struct FrameState {
    fin: bool,
    remaining: u64,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct MessageState {
    opcode: Opcode,
    len: usize,
    utf8: Utf8Validator,
    /// RSV1 was set on the first frame: inflate the payload.
    compressed: bool,
    /// Bytes of [`TAIL`] fed to the inflater after the last frame.
    tail: u8,
}

impl<M: MemoryRegions> Connection<M> {
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
