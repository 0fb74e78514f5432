//! Test servers built on tokio-tungstenite (an independent implementation), and the
//! event log the client tests keep.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use portico::placement::sim::SimHeap;
use portico_ws::tokio::{Client, Config, Control, Handle};
use portico_ws::Event;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// What a server saw.
#[derive(Default)]
pub struct Seen {
    pub accepted: AtomicUsize,
    pub closes: Mutex<Vec<u16>>,
}

pub enum Mode {
    /// Echo every data message.
    Echo,
    /// Complete the handshake, then drop the connection.
    DropAfterHandshake,
    /// Complete the handshake, then neither read nor answer for this long, then echo
    /// text only (binary is read and dropped).
    Stall(Duration),
}

pub async fn server(mode: Mode) -> (String, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let mode = Arc::new(mode);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            s.accepted.fetch_add(1, Ordering::SeqCst);
            let (s, mode) = (s.clone(), mode.clone());
            tokio::spawn(async move {
                let cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                    .max_message_size(Some(64 << 20));
                let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(cfg)).await
                else {
                    return;
                };
                match *mode {
                    Mode::DropAfterHandshake => return,
                    Mode::Stall(d) => tokio::time::sleep(d).await,
                    Mode::Echo => {}
                }
                let stall = matches!(*mode, Mode::Stall(_));
                while let Some(Ok(msg)) = ws.next().await {
                    match msg {
                        Message::Binary(_) if stall => {}
                        Message::Text(_) | Message::Binary(_) => {
                            let sent = ws.send(msg).await;
                            if sent.is_err() {
                                return;
                            }
                        }
                        Message::Close(c) => {
                            s.closes
                                .lock()
                                .unwrap()
                                .push(c.map_or(1005, |c| u16::from(c.code)));
                        }
                        _ => {}
                    }
                }
            });
        }
    });
    (url, seen)
}

/// Every event a client's handler got, in the text form its test chose.
pub type Log = Arc<Mutex<Vec<String>>>;

/// Starts a client on `heap` whose handler records every event as `describe` writes it.
pub fn start_logged(
    config: Config,
    heap: SimHeap,
    describe: fn(&Event<'_>) -> String,
) -> (Handle, Log) {
    let log: Log = Default::default();
    let l = log.clone();
    let h = Client::start(config, heap, move |ev: Event<'_>, _: &Control| {
        l.lock().unwrap().push(describe(&ev));
    })
    .unwrap();
    (h, log)
}

/// An event's `Debug` form, for [`start_logged`].
pub fn debug(ev: &Event<'_>) -> String {
    format!("{ev:?}")
}

/// Whether any line of `log` contains `needle`.
pub fn has(log: &Log, needle: &str) -> bool {
    log.lock().unwrap().iter().any(|l| l.contains(needle))
}

/// Polls `cond` every millisecond for up to `secs` seconds.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    cond()
}
