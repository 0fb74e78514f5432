//! The host client: [`Client::start`] spawns the run task on tokio and returns a
//! cloneable [`Handle`]; the handler gets a [`Control`] with the same non-blocking
//! operations.
//!
//! Lifecycle guarantees (see [`crate::lifecycle`]):
//! - `stop`, `close`, `start` and dropping a handle never wait, so they are safe from
//!   inside the handler; [`Handle::stop_and_wait`] adds a bounded wait for callers
//!   outside it.
//! - One run task at a time: each start gets a generation; the command receiver is held
//!   by the running task for its whole run, so a successor waits for it to finish.
//! - The buffers are freed when the client is stopped and its last task has finished.
//! - A send during or after stop fails with [`SendError::Closed`]; a send that times
//!   out fails alone ([`SendError::Timeout`]) and the connection stays up.
//! - Dropping the last [`Handle`] stops the client.

mod control;
mod error;
mod handler;
mod heap;
mod link;
mod outbound;
mod runner;
mod shared;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use portico::placement::MemoryRegions;
use tokio::sync::{mpsc, watch, Notify};

use crate::lifecycle::Lifecycle;
use crate::url::WsUrl;

use crate::tokio::config::Config;
use crate::tokio::port::TokioPort;

pub use self::control::Control;
pub use self::error::{StartError, StopTimeout};
pub use self::handler::Handler;
pub use self::heap::SharedHeap;
pub use self::outbound::Outbound;
use self::runner::Runner;
use self::shared::{Counters, Inner, Starter};

pub use crate::driver::CloseError;

/// Ends the client when the last [`Handle`] is dropped.
struct UserToken(Arc<dyn Starter>);

impl Drop for UserToken {
    fn drop(&mut self) {
        self.0.stop(None);
    }
}

/// A cloneable handle to a running client; dropping the last one stops it.
#[derive(Clone)]
pub struct Handle {
    control: Arc<Control>,
    _token: Arc<UserToken>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("state", &self.state())
            .finish()
    }
}

impl std::ops::Deref for Handle {
    type Target = Control;

    fn deref(&self) -> &Control {
        &self.control
    }
}

/// Entry point of the host client.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Allocates the buffers (per `config.settings.placement`, from `heap`) and spawns
    /// the run task on the current tokio runtime.
    pub fn start<M, H>(config: Config, heap: M, handler: H) -> Result<Handle, StartError>
    where
        M: MemoryRegions + Send + Sync + 'static,
        M::Block: Send,
        H: Handler,
    {
        WsUrl::parse(&config.url).map_err(StartError::Url)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        #[cfg(feature = "tls")]
        let port = TokioPort::new(Some(config.tls.build().map_err(StartError::Tls)?));
        #[cfg(not(feature = "tls"))]
        let port = TokioPort::new();
        let (cmd_tx, cmd_rx) = mpsc::channel(config.settings.send_queue.max(1));
        let inner = Arc::new(Inner {
            url: config.url,
            settings: config.settings,
            cmd_tx,
            wake: Notify::new(),
            pending_close: Mutex::new(None),
            life: Mutex::new(Lifecycle::new()),
            counters: Mutex::new(Counters::new(())),
            task_bytes: AtomicUsize::new(0),
            changed: watch::channel(0).0,
        });
        let runner = Arc::new(Runner {
            inner: inner.clone(),
            heap: SharedHeap(Arc::new(heap)),
            buffers: Mutex::new(None),
            handler: Mutex::new(handler),
            cmd_rx: tokio::sync::Mutex::new(cmd_rx),
            port,
            subprotocols: config.subprotocols,
            headers: config.headers,
            basic_auth: config.basic_auth,
            runtime,
        });
        runner.clone().start()?;
        Ok(Handle {
            control: Arc::new(Control {
                inner,
                starter: runner.clone(),
                generation: None,
            }),
            _token: Arc::new(UserToken(runner)),
        })
    }
}
