//! Start/stop bookkeeping as a pure state machine, shared by every port and checked by a
//! model test (`tests/lifecycle_model.rs`).
//!
//! The ESP-IDF client's start/stop races left tasks orphaned or waiting forever
//! (esp-protocols #1096, #984), and `destroy()` from its own handler deadlocked. The
//! rules here:
//! - `start` and `stop` only *request*; they never wait, so both are safe from inside
//!   the event handler.
//! - Every start gets a new generation. A run task only runs while its generation is
//!   current and the client is wanted running; tasks run one at a time (a port
//!   serialises them), so a superseded task exits before its successor touches the
//!   buffers.
//! - The buffers are allocated once and lent to whichever task runs; they are freed
//!   when the client is stopped and no task is left — memory returns to baseline.

/// Whether the client is wanted running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desired {
    /// Running (connecting, connected or in backoff).
    Run,
    /// Stopped.
    Stop,
}

/// Where the client's buffers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferSlot {
    /// Not allocated.
    None,
    /// Allocated, not in use by a task.
    Idle,
    /// Lent to the running task.
    Lent,
}

/// What `start` asks the port to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAction {
    /// Already wanted running with a live task: nothing to do.
    AlreadyRunning,
    /// Spawn a task for `generation`; allocate the buffers first if `allocate`.
    Spawn {
        /// The new task's generation.
        generation: u64,
        /// The buffers must be allocated (and [`Lifecycle::allocated`] called).
        allocate: bool,
    },
}

/// What a finishing task must do with the buffers it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishAction {
    /// Put them back: another task will use them.
    Keep,
    /// Free them: the client is stopped and no task is left.
    Free,
}

/// The bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifecycle {
    generation: u64,
    desired: Desired,
    live_tasks: u32,
    running: Option<u64>,
    buffers: BufferSlot,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl Lifecycle {
    /// Stopped, no task, no buffers.
    pub const fn new() -> Self {
        Lifecycle {
            generation: 0,
            desired: Desired::Stop,
            live_tasks: 0,
            running: None,
            buffers: BufferSlot::None,
        }
    }

    /// The current generation.
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether the client is wanted running.
    pub const fn desired(&self) -> Desired {
        self.desired
    }

    /// Tasks spawned and not finished.
    pub const fn live_tasks(&self) -> u32 {
        self.live_tasks
    }

    /// The generation of the task currently running, if any.
    pub const fn running(&self) -> Option<u64> {
        self.running
    }

    /// Where the buffers are.
    pub const fn buffers(&self) -> BufferSlot {
        self.buffers
    }

    /// Requests running.
    pub fn start(&mut self) -> StartAction {
        if self.desired == Desired::Run && self.live_tasks > 0 {
            return StartAction::AlreadyRunning;
        }
        self.generation += 1;
        self.desired = Desired::Run;
        self.live_tasks += 1;
        StartAction::Spawn {
            generation: self.generation,
            allocate: self.buffers == BufferSlot::None,
        }
    }

    /// The port allocated the buffers `start` asked for.
    pub fn allocated(&mut self) {
        if self.buffers == BufferSlot::None {
            self.buffers = BufferSlot::Idle;
        }
    }

    /// The allocation `start` asked for failed: undo the start.
    pub fn start_failed(&mut self) {
        self.live_tasks -= 1;
        self.desired = Desired::Stop;
    }

    /// Requests stopping. Returns whether anything was running.
    pub fn stop(&mut self) -> bool {
        let was = self.desired == Desired::Run;
        self.desired = Desired::Stop;
        // A new generation marks the running task as superseded.
        self.generation += 1;
        was
    }

    /// Requests stopping the run of `generation` only: a handler of a superseded run
    /// must not stop the run that replaced it. Returns whether it stopped anything.
    pub fn stop_generation(&mut self, generation: u64) -> bool {
        if self.generation != generation {
            return false;
        }
        self.stop()
    }

    /// After a stop: frees idle buffers if no task is left to do it.
    pub fn reclaim(&mut self) -> FinishAction {
        if self.desired == Desired::Stop
            && self.live_tasks == 0
            && self.running.is_none()
            && self.buffers == BufferSlot::Idle
        {
            self.buffers = BufferSlot::None;
            return FinishAction::Free;
        }
        FinishAction::Keep
    }

    /// Whether a caller may still act on the client (close it, queue a send): it is
    /// wanted running and, for a handler (`Some(generation)`), that handler's run is the
    /// current one.
    pub fn accepts(&self, generation: Option<u64>) -> bool {
        self.desired == Desired::Run && generation.is_none_or(|g| g == self.generation)
    }

    /// Whether the task of `generation` should (still) run.
    pub const fn should_run(&self, generation: u64) -> bool {
        self.generation == generation && matches!(self.desired, Desired::Run)
    }

    /// A task got its turn. Returns whether it may run; if so it now holds the buffers.
    pub fn task_begin(&mut self, generation: u64) -> bool {
        if !self.should_run(generation) || self.running.is_some() {
            return false;
        }
        if self.buffers != BufferSlot::Idle {
            return false;
        }
        self.running = Some(generation);
        self.buffers = BufferSlot::Lent;
        true
    }

    /// A task ended on its own (closed, or disconnected without reconnect): the client
    /// is stopped unless a newer start superseded it.
    pub fn task_exited(&mut self, generation: u64) {
        if self.generation == generation {
            self.desired = Desired::Stop;
        }
    }

    /// A task is finishing (whether it ran or not). `held` says it held the buffers.
    pub fn task_finish(&mut self, generation: u64, held: bool) -> FinishAction {
        self.live_tasks -= 1;
        if held && self.running == Some(generation) {
            self.running = None;
            self.buffers = BufferSlot::Idle;
        }
        self.reclaim()
    }

    /// The state to report.
    pub fn state_is_stopped(&self) -> bool {
        self.desired == Desired::Stop && self.live_tasks == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_stop_start_hands_buffers_over() {
        let mut l = Lifecycle::new();
        let StartAction::Spawn {
            generation: g1,
            allocate: true,
        } = l.start()
        else {
            panic!()
        };
        l.allocated();
        assert_eq!(l.start(), StartAction::AlreadyRunning);
        assert!(l.task_begin(g1));
        assert!(l.stop());
        let StartAction::Spawn {
            generation: g2,
            allocate: false,
        } = l.start()
        else {
            panic!()
        };
        assert!(!l.should_run(g1));
        assert_eq!(l.task_finish(g1, true), FinishAction::Keep);
        assert!(l.task_begin(g2));
        l.stop();
        assert_eq!(l.task_finish(g2, true), FinishAction::Free);
        assert_eq!((l.buffers(), l.live_tasks()), (BufferSlot::None, 0));
    }

    #[test]
    fn superseded_task_that_never_ran_frees_when_last() {
        let mut l = Lifecycle::new();
        let StartAction::Spawn { generation: g, .. } = l.start() else {
            panic!()
        };
        l.allocated();
        l.stop();
        assert!(!l.task_begin(g));
        assert_eq!(l.task_finish(g, false), FinishAction::Free);
    }

    #[test]
    fn self_exit_marks_stopped() {
        let mut l = Lifecycle::new();
        let StartAction::Spawn { generation: g, .. } = l.start() else {
            panic!()
        };
        l.allocated();
        assert!(l.task_begin(g));
        l.task_exited(g);
        assert_eq!(l.task_finish(g, true), FinishAction::Free);
        assert!(l.state_is_stopped());
    }
}
