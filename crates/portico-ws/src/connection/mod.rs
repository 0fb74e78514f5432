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
//!
//! [`Connection`] itself, its buffers and its closing state are here; decoding what
//! arrives is in `receive.rs`, building frames to send in `send.rs`, and the types it
//! hands out or fails with have files of their own ([`Delivery`], [`Incoming`],
//! [`ProtocolError`], [`FrameOrderError`]), as has the answer to a close, which the
//! server endpoint shares (`answer_close.rs`).

mod answer_close;
mod delivery;
mod error;
mod incoming;
mod receive;
mod send;

use core::fmt;

use portico::placement::MemoryRegions;

use crate::buffers::{Buffers, MemoryBlock, MAX_BLOCKS};
use crate::close::CloseFrame;
use crate::deflate::Codec;
use crate::frame::{self, Opcode, MAX_HEADER_LEN};

pub(crate) use answer_close::answer_close;
pub use delivery::Delivery;
pub use error::{FrameOrderError, ProtocolError};
pub use incoming::Incoming;
use receive::{FrameState, MessageState};

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
}
