//! Model check of the start/stop protocol with `shuttle`: the same steps the tokio port
//! takes (`src/tokio/client.rs`) — lifecycle lock, buffer slot, run lock — under many
//! thread interleavings, including a stop and restart from "inside the handler".
//!
//! The model found that a handler of a superseded run could stop its successor; the
//! handler's `Control::stop` is now scoped to its own generation.
//!
//! Checked each time: never two run tasks at once; the buffers are never lent twice;
//! the latest start always gets to run; after the last stop every task ends and the
//! buffers are freed exactly as often as they were allocated.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use portico_ws::lifecycle::{FinishAction, Lifecycle, StartAction};
use shuttle::sync::Mutex;
use shuttle::thread;

#[derive(Default)]
struct World {
    life: Mutex<Lifecycle>,
    slot: Mutex<Option<u64>>,
    run_lock: Mutex<()>,
    tasks: Mutex<Vec<thread::JoinHandle<()>>>,
    active: AtomicUsize,
    allocs: AtomicUsize,
    frees: AtomicUsize,
    latest_ran: Mutex<Option<u64>>,
}

fn start(w: &Arc<World>, stop_inside: bool) {
    let generation = {
        let mut life = w.life.lock().unwrap();
        match life.start() {
            StartAction::AlreadyRunning => return,
            StartAction::Spawn {
                generation,
                allocate,
            } => {
                if allocate {
                    let mut slot = w.slot.lock().unwrap();
                    assert!(slot.is_none(), "allocating over live buffers");
                    *slot = Some(generation);
                    w.allocs.fetch_add(1, Ordering::SeqCst);
                    life.allocated();
                }
                generation
            }
        }
    };
    let w2 = w.clone();
    let h = thread::spawn(move || task(&w2, generation, stop_inside));
    w.tasks.lock().unwrap().push(h);
}

fn stop(w: &World) {
    let mut life = w.life.lock().unwrap();
    life.stop();
    if let FinishAction::Free = life.reclaim() {
        assert!(
            w.slot.lock().unwrap().take().is_some(),
            "reclaiming absent buffers"
        );
        w.frees.fetch_add(1, Ordering::SeqCst);
    }
}

fn task(w: &Arc<World>, generation: u64, stop_inside: bool) {
    let _run = w.run_lock.lock().unwrap();
    let held = {
        let mut life = w.life.lock().unwrap();
        let ok = life.task_begin(generation);
        if ok {
            let b = w.slot.lock().unwrap().take();
            assert!(b.is_some(), "buffers missing when lent");
        }
        ok
    };
    if held {
        assert_eq!(
            w.active.fetch_add(1, Ordering::SeqCst),
            0,
            "two run tasks at once"
        );
        *w.latest_ran.lock().unwrap() = Some(generation);
        thread::yield_now();
        if stop_inside {
            // The handler stops its own run from inside it.
            w.life.lock().unwrap().stop_generation(generation);
        }
        // Run until stopped or superseded, as the real task does.
        while w.life.lock().unwrap().should_run(generation) {
            thread::yield_now();
        }
        w.active.fetch_sub(1, Ordering::SeqCst);
        *w.slot.lock().unwrap() = Some(generation);
    }
    let mut life = w.life.lock().unwrap();
    if let FinishAction::Free = life.task_finish(generation, held) {
        assert!(
            w.slot.lock().unwrap().take().is_some(),
            "freeing absent buffers"
        );
        w.frees.fetch_add(1, Ordering::SeqCst);
    }
}

fn join_all(w: &World) {
    loop {
        let next = w.tasks.lock().unwrap().pop();
        match next {
            Some(h) => h.join().unwrap(),
            None => return,
        }
    }
}

fn scenario() {
    let w = Arc::new(World::default());
    start(&w, false);
    let a = {
        let w = w.clone();
        thread::spawn(move || {
            stop(&w);
            start(&w, false);
            stop(&w);
            start(&w, true);
        })
    };
    let b = {
        let w = w.clone();
        thread::spawn(move || {
            start(&w, false);
            stop(&w);
            start(&w, false);
        })
    };
    a.join().unwrap();
    b.join().unwrap();
    // Whatever happened, a final start must get a task that runs.
    stop(&w);
    start(&w, false);
    let want = w.life.lock().unwrap().generation();
    // Wait for the run tasks so far (the last one is still wanted running).
    let spawned: Vec<_> = std::mem::take(&mut *w.tasks.lock().unwrap());
    stop_after_latest_ran(&w, want);
    for h in spawned {
        h.join().unwrap();
    }
    join_all(&w);
    let life = *w.life.lock().unwrap();
    assert_eq!(life.live_tasks(), 0, "orphan task");
    assert!(w.slot.lock().unwrap().is_none(), "buffers not freed");
    assert_eq!(
        w.allocs.load(Ordering::SeqCst),
        w.frees.load(Ordering::SeqCst)
    );
}

fn stop_after_latest_ran(w: &Arc<World>, want: u64) {
    // Spin (yielding) until the latest generation has run: it must, since nothing
    // supersedes it. Shuttle explores the schedules; a lost start would hang here and
    // be reported as a deadlock.
    loop {
        if *w.latest_ran.lock().unwrap() == Some(want) {
            break;
        }
        thread::yield_now();
    }
    stop(w);
}

#[test]
fn lifecycle_model_random_schedules() {
    shuttle::check_random(scenario, 3000);
}

#[test]
fn lifecycle_model_pct_schedules() {
    shuttle::check_pct(scenario, 2000, 3);
}
