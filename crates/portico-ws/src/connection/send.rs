//! The send half of [`Connection`]: the order check on data frames, and the frames built
//! (plain or compressed) in the send buffer, each ready for one write.

use portico::placement::MemoryRegions;

use crate::frame::{self, EncodeError, Opcode, MAX_HEADER_LEN};
use crate::mask::apply_mask;

use super::{Connection, FrameOrderError};

impl<M: MemoryRegions> Connection<M> {
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
