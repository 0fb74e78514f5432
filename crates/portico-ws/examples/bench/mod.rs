//! What both WebSocket benches (`ws_bench`, `ws_deflate_bench`) do with the portico
//! client: connect it with reconnects and pings off, then time echoed round trips one
//! message at a time.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico::placement::sim::SimHeap;
use portico_ws::tokio::{Client, Config, Control, Handle};
use portico_ws::{Event, Reconnect, State};
use tokio::sync::Notify;

/// One message to echo, sent the same way each round trip.
#[derive(Clone, Copy)]
pub enum Payload<'a> {
    Text(&'a str),
    Binary(&'a [u8]),
}

/// A connected portico client that counts the data messages it gets back.
pub struct Echoing {
    pub handle: Handle,
    got: Arc<AtomicUsize>,
    notify: Arc<Notify>,
}

impl Echoing {
    /// Starts the client with `config` (reconnects and pings turned off: a bench run
    /// measures one connection) on a heap with 1 MiB internal and 4 MiB external, and
    /// waits until it is connected.
    pub async fn connect(mut config: Config) -> Echoing {
        config.settings.reconnect = Reconnect::disabled();
        config.settings.ping_interval_ms = None;
        let got = Arc::new(AtomicUsize::new(0));
        let notify = Arc::new(Notify::new());
        let (g, nt) = (got.clone(), notify.clone());
        let heap = SimHeap::new(1 << 20, 4 << 20);
        let handle = Client::start(config, heap, move |ev: Event<'_>, _: &Control| {
            if let Event::Data { .. } = ev {
                g.fetch_add(1, Ordering::Release);
                nt.notify_one();
            }
        })
        .unwrap();
        while handle.state() != State::Connected {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Echoing {
            handle,
            got,
            notify,
        }
    }

    /// Sends `msg` `n` times, each after the previous echo came back; returns the seconds
    /// that took.
    pub async fn round_trips(&self, msg: Payload<'_>, n: usize) -> f64 {
        let before = self.got.load(Ordering::Acquire);
        let t0 = Instant::now();
        for i in 0..n {
            match msg {
                Payload::Text(t) => self.handle.send_text(t).await.unwrap(),
                Payload::Binary(b) => self.handle.send_binary(b).await.unwrap(),
            }
            while self.got.load(Ordering::Acquire) <= before + i {
                self.notify.notified().await;
            }
        }
        t0.elapsed().as_secs_f64()
    }

    /// Stops the client and waits for its task to end.
    pub async fn stop(self) {
        self.handle
            .stop_and_wait(Duration::from_secs(5))
            .await
            .unwrap();
    }
}
