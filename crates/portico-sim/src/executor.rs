//! A single-threaded executor that runs until nothing is ready, then jumps the virtual
//! clock to the next timer. Tasks are polled in wake order, so a run depends only on the
//! seed: no threads, no wall clock.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::clock;

type Task = Pin<Box<dyn Future<Output = ()>>>;

#[derive(Default)]
struct ReadyQueue {
    queue: VecDeque<usize>,
    queued: Vec<bool>,
}

struct TaskWaker {
    id: usize,
    ready: Arc<Mutex<ReadyQueue>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut r = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        if !r.queued[self.id] {
            r.queued[self.id] = true;
            r.queue.push_back(self.id);
        }
    }
}

/// A handle to add tasks, usable from inside tasks.
#[derive(Clone, Default)]
pub struct Spawner {
    new: Rc<RefCell<Vec<Task>>>,
}

impl Spawner {
    /// Adds a task; it is first polled in the executor's next round.
    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.new.borrow_mut().push(Box::pin(f));
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The stop condition became true.
    Done,
    /// The time limit was reached.
    TimeLimit,
    /// Nothing ready and no timer pending: everything waits forever.
    Stalled,
}

/// The executor.
#[derive(Default)]
pub struct Executor {
    tasks: Vec<Option<(Task, Waker)>>,
    ready: Arc<Mutex<ReadyQueue>>,
    spawner: Spawner,
    /// Task polls so far (a cheap measure of work done).
    pub polls: u64,
}

impl Executor {
    /// An executor with no tasks. Resets the virtual clock.
    pub fn new() -> Self {
        clock::reset();
        Executor::default()
    }

    /// A spawner for this executor.
    pub fn spawner(&self) -> Spawner {
        self.spawner.clone()
    }

    fn adopt(&mut self) {
        let new: Vec<Task> = self.spawner.new.borrow_mut().drain(..).collect();
        for t in new {
            let id = self.tasks.len();
            let waker = Waker::from(Arc::new(TaskWaker {
                id,
                ready: self.ready.clone(),
            }));
            self.tasks.push(Some((t, waker.clone())));
            let mut r = self.ready.lock().unwrap_or_else(|e| e.into_inner());
            r.queued.push(false);
            drop(r);
            waker.wake();
        }
    }

    fn pop_ready(&self) -> Option<usize> {
        let mut r = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        let id = r.queue.pop_front()?;
        r.queued[id] = false;
        Some(id)
    }

    /// Runs `f` as a task, alongside the others, until it completes, and returns its
    /// output. Panics when it has not completed within `within_ms` of virtual time, or
    /// when nothing can move any more: a simulated client that never finishes is the
    /// failure a test reports.
    pub fn block_on<T: 'static>(
        &mut self,
        within_ms: u64,
        f: impl Future<Output = T> + 'static,
    ) -> T {
        let out: Rc<RefCell<Option<T>>> = Rc::default();
        let o = out.clone();
        self.spawner.spawn(async move {
            let v = f.await;
            *o.borrow_mut() = Some(v);
        });
        let limit = clock::now() + clock::ms(within_ms);
        let end = self.run_until(limit, || out.borrow().is_some());
        assert_eq!(end, RunEnd::Done, "the simulated client did not finish");
        let v = out.borrow_mut().take().unwrap();
        v
    }

    /// Runs until `done()` holds, the virtual clock passes `limit` ticks, or nothing can
    /// ever move again.
    pub fn run_until(&mut self, limit: u64, mut done: impl FnMut() -> bool) -> RunEnd {
        loop {
            self.adopt();
            while let Some(id) = self.pop_ready() {
                if let Some((task, waker)) = self.tasks[id].as_mut() {
                    self.polls += 1;
                    let mut cx = Context::from_waker(waker);
                    if task.as_mut().poll(&mut cx) == Poll::Ready(()) {
                        self.tasks[id] = None;
                    }
                }
                self.adopt();
            }
            if done() {
                return RunEnd::Done;
            }
            match clock::next_timer() {
                None => return RunEnd::Stalled,
                Some(t) if t > limit => {
                    clock::advance_to(limit);
                    return RunEnd::TimeLimit;
                }
                Some(t) => clock::advance_to(t),
            }
        }
    }
}
