//! A connection's task, and the watcher that resumes parked connections.

use std::rc::Rc;
use std::time::Duration;

use portico::conn::{ConnId, TimeoutPhase};
use portico::placement::sim::SimCharge;
use portico::server::{End, Engine, Handler, Start, Streams};

use crate::buffers::HostBuffers;
use crate::env::ConnEnv;
use crate::parking::Parked;
use crate::shared::Shared;
use crate::transport::TcpTransport;

/// How long a task waits for the next request after a response before it parks the
/// connection.
const LINGER: portico::time::Duration = portico::time::Duration::from_millis(2);

/// Watches the parked connections: resumes the ones whose peer speaks, closes the ones
/// idle too long. One task and one timer for all of them.
pub(crate) async fn watch_parked<A>(shared: Rc<Shared>, app: Rc<A>)
where
    A: Handler + Streams<A::Upgrade> + 'static,
{
    let mut timer = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
    std::future::poll_fn(|cx| loop {
        let now = shared.now();
        let sweep = shared.parking.sweep(cx, now);
        for p in sweep.expired {
            let phase = if p.fresh {
                TimeoutPhase::Head
            } else {
                TimeoutPhase::Idle
            };
            shared.table.borrow_mut().timed_out(phase);
            let _ = shared.table.borrow_mut().close(p.id);
            drop(p);
            shared.slot_freed.notify_one();
        }
        for p in sweep.ready {
            let start = if p.fresh {
                Start::Fresh
            } else {
                Start::Resumed
            };
            tokio::task::spawn_local(connection(
                shared.clone(),
                app.clone(),
                p.io,
                p.id,
                p.charge,
                start,
            ));
        }
        let Some(at) = sweep.next_deadline else {
            return std::task::Poll::<()>::Pending;
        };
        let when = shared.start + Duration::from_millis(at.as_millis());
        timer.as_mut().reset(tokio::time::Instant::from_std(when));
        if std::future::Future::poll(timer.as_mut(), cx).is_pending() {
            return std::task::Poll::Pending;
        }
    })
    .await;
}

/// Runs the core's engine on one connection until it parks, closes or is evicted.
async fn connection<A>(
    shared: Rc<Shared>,
    app: Rc<A>,
    mut io: TcpTransport,
    id: ConnId,
    charge: SimCharge,
    start: Start,
) where
    A: Handler + Streams<A::Upgrade> + 'static,
{
    let env = ConnEnv {
        shared: shared.clone(),
        id,
    };
    let evicted = shared.register(id);
    let buffers = HostBuffers(&shared);
    let engine = Engine {
        handler: &*app,
        streams: &*app,
        buffers: &buffers,
    };
    // Boxed so that the task's own future stays small; an eviction drops the engine
    // wherever it is (its lease, if any, returns itself).
    let drive = engine.drive(&mut io, &env, &shared.options.server, start, Some(LINGER));
    let end = tokio::select! {
        end = Box::pin(drive) => end,
        _ = evicted.notified() => End::Close,
    };
    shared.unregister(id);
    // Idle with nothing buffered, and still ours: park it and end this task. No await
    // between the check and the parking, so no eviction can slip in between.
    if end == End::Park && shared.table.borrow().is_live(id) {
        let deadline = shared.now() + shared.options.server.timeouts.idle;
        shared.parking.park(Parked {
            io,
            id,
            deadline,
            fresh: false,
            charge,
        });
        return;
    }
    io.shutdown().await;
    let _ = shared.table.borrow_mut().close(id);
    shared.slot_freed.notify_one();
}
