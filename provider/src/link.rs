//! The upstream WebSocket link: started when `--upstream` is given.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use portico::placement::sim::SimHeap;
use portico_ws::tokio::{Client, Config, Handle, StartError};
use portico_ws::Event;

/// The running link and what it has seen.
pub struct Link {
    pub handle: Handle,
    messages_in: Arc<AtomicU64>,
}

impl Link {
    /// Starts the client with its buffers placed by the default policy (external RAM
    /// first, internal when there is none) from the device's simulated heap.
    pub fn start(url: &str, heap: SimHeap) -> Result<Link, StartError> {
        let messages_in = Arc::new(AtomicU64::new(0));
        let counter = messages_in.clone();
        let handle = Client::start(
            Config::new(url),
            heap,
            move |event: Event<'_>, _: &portico_ws::tokio::Control| {
                if let Event::Data { .. } = event {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            },
        )?;
        Ok(Link {
            handle,
            messages_in,
        })
    }

    /// Messages received from upstream.
    pub fn messages_in(&self) -> u64 {
        self.messages_in.load(Ordering::Relaxed)
    }

    /// Sends the device's state upstream every `every` while the link is up; a failed
    /// send is dropped (the next one carries fresher data anyway).
    pub async fn report(handle: Handle, every: Duration, mut snapshot: impl FnMut() -> String) {
        loop {
            tokio::time::sleep(every).await;
            let _ = handle.try_send_text(&snapshot());
        }
    }
}
