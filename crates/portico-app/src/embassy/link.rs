//! The upstream WebSocket client (`portico_ws::embassy`) as the application's link
//! report (feature `embassy-ws`): `/api/link` on the device shows its state, counters and every
//! block it holds — the client's buffers and, next to them, its socket's.

use crate::{Device, Document, LinkStatus, Provider};
use embassy_sync::blocking_mutex::raw::RawMutex;
use embassy_time::{Duration, Timer};
use portico_ws::embassy::Client;
use portico_ws::{MemoryBlock, State};

use super::device::LinkReport;

/// A client and the socket buffers the firmware gave its port.
pub struct WsLink<'a, M: RawMutex, const Q: usize> {
    /// The client.
    pub client: &'a Client<M, Q>,
    /// Its TCP socket's receive and transmit buffers (owned by the port, not the client,
    /// so the client's own report does not list them).
    pub socket: [MemoryBlock; 2],
}

impl<M: RawMutex, const Q: usize> LinkReport for WsLink<'_, M, Q> {
    fn report(&self, f: &mut dyn FnMut(&LinkStatus<'_>)) {
        let st = self.client.handle().stats();
        // The client's blocks (with TLS, its session's too) and the socket's two.
        let mut memory: heapless::Vec<MemoryBlock, { portico_ws::buffers::MAX_BLOCKS + 2 }> =
            st.memory.iter().copied().collect();
        for b in self.socket {
            let _ = memory.push(b);
        }
        f(&LinkStatus {
            url: &st.url,
            state: st.state,
            connects: st.connects,
            reconnects: st.reconnects,
            last_error: st.last_error.as_deref(),
            rtt_ms: st.rtt_ms,
            messages_in: st.messages_in,
            memory: &memory,
        })
    }

    fn restart(&self) {
        let link = self.client.handle();
        link.stop();
        link.start();
    }
}

/// Sends the application's `/api/status` document upstream every `every` while the link
/// is connected — the device's heartbeat, the same document the host provider sends. A
/// send that cannot be queued right now is dropped: the next one carries fresher data.
pub async fn report_status<D: Device, M: RawMutex, const Q: usize>(
    app: &Provider<D>,
    client: &Client<M, Q>,
    every: Duration,
) -> ! {
    loop {
        Timer::after(every).await;
        let link = client.handle();
        if link.state() != State::Connected {
            continue;
        }
        // Drawn from the heap (PSRAM first) for as long as it takes to queue the copy.
        if let Ok(doc) = app.render(Document::Status, &mut []) {
            if let Ok(text) = core::str::from_utf8(doc.bytes()) {
                let _ = link.try_send_text(text);
            }
        }
    }
}
