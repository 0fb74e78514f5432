//! An echo server: what Autobahn's fuzzing client, the benches and the tests talk to.

use portico::server::{
    Buffers, Env, Exchange, Handler, Reply, ServeError, ServerConfig, Streams, Transport,
};

use super::{accept, run, Message, SendError, Sender, WsConfig, WsHandler};

/// Sends every message back as it came, text as text and binary as binary.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl WsHandler for Echo {
    async fn message<T: Transport, E: Env>(
        &mut self,
        msg: Message<'_>,
        out: &mut Sender<'_, T, E>,
    ) -> Result<(), SendError<T::Error>> {
        match msg {
            Message::Text(t) => out.text(t).await,
            Message::Binary(b) => out.binary(b).await,
        }
    }
}

/// An application that upgrades every path, with no subprotocol, to an [`Echo`] under
/// `ws`: the whole server for a conformance run or a bench, one line to start.
#[derive(Debug, Clone, Copy)]
pub struct EchoApp {
    /// The endpoint's settings (its reassembly space bounds the largest message).
    pub ws: WsConfig,
}

impl Handler for EchoApp {
    type Upgrade = ();

    async fn handle<T: Transport, E: Env>(
        &self,
        ex: &mut Exchange<'_, T, E>,
    ) -> Result<Reply<()>, ServeError<T::Error>> {
        Ok(if accept(ex, &[]).await? {
            Reply::Upgrade(())
        } else {
            Reply::Done
        })
    }
}

impl Streams<()> for EchoApp {
    async fn run<T: Transport, E: Env, B: Buffers>(
        &self,
        _: (),
        io: &mut T,
        env: &E,
        cfg: &ServerConfig,
        buffers: &B,
    ) {
        run(&mut Echo, io, env, cfg, buffers, &self.ws).await;
    }
}
