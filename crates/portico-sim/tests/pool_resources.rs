//! The pool's state storage (`PoolResources<N>`) and its socket buffers
//! (`SocketBuffers<N, RX, TX>`) are two caller-supplied types that must agree on `N`:
//! the pool's type no longer names it, so a mismatch in the caller's constants stops the
//! pool at start, with a message naming both, instead of leaving sockets never started.
//!
//!     cargo test -p portico-sim --test pool_resources

use portico_embassy::{profile, Connection, PoolResources, PortConfig, Service};
use portico_embassy::{SocketBuffers, SocketPool};
use portico_sim::clock;
use portico_sim::device::spawn_device_stack;
use portico_sim::executor::Executor;
use portico_sim::net::{LinkConfig, Network};

struct Nothing;

impl Service for Nothing {
    async fn serve(&self, _conn: &mut Connection<'_, '_>) {}
}

/// Runs a pool whose state is for `N` sockets on buffers for `B`, for 100 ms of virtual
/// time.
fn run_pool<const N: usize, const B: usize>() {
    let mut exec = Executor::new();
    let spawner = exec.spawner();
    let net = Network::new(LinkConfig::lan(), 3);
    let device = spawn_device_stack(&spawner, &net, 3);
    let config = PortConfig {
        cap: 2,
        ..profile::config()
    };
    let resources: &'static mut PoolResources<N> = Box::leak(Box::new(PoolResources::new()));
    let pool: &'static SocketPool<'static> = Box::leak(Box::new(
        SocketPool::new(device.stack, config, resources).expect("cap leaves sockets to listen"),
    ));
    assert_eq!(pool.sockets(), N);
    let buffers: &'static mut SocketBuffers<B, 256, 256> =
        Box::leak(Box::new(SocketBuffers::new()));
    spawner.spawn(async move {
        pool.run(buffers, &Nothing).await;
    });
    exec.run_until(clock::now() + clock::ms(100), || false);
    // Every socket started and listens (the keeper's precondition).
    assert_eq!(pool.snapshot().listening, N);
}

#[test]
fn matching_counts_run() {
    run_pool::<4, 4>();
}

#[test]
#[should_panic(expected = "must be for the same number of sockets")]
fn buffers_for_fewer_sockets_stop_the_pool() {
    run_pool::<4, 3>();
}

#[test]
#[should_panic(expected = "must be for the same number of sockets")]
fn buffers_for_more_sockets_stop_the_pool() {
    run_pool::<4, 5>();
}
