//! Memory for the upstream WebSocket link's socket (feature `ws`).

use portico::placement::{place, MemoryRegions, Placement};
use portico_ws::MemoryBlock;

/// Places one of the link socket's buffers by policy (external RAM first, internal when
/// there is none or it is full) and describes it for the link's report; `None` when no
/// region has room.
pub fn place_socket_buffer<M: MemoryRegions>(
    mem: &M,
    name: &'static str,
    size: usize,
) -> Option<(M::Block, MemoryBlock)> {
    let placed = place(mem, Placement::PreferExternal, size).ok()?;
    let report = MemoryBlock {
        block: name,
        bytes: size,
        region: Some(placed.region),
    };
    Some((placed.block, report))
}
