//! What goes into the pool and what comes out of it.

use std::fmt;

use crossbeam_channel::Sender;

/// The work of a task: runs once on a worker, with that worker's state.
pub type TaskFn<S, R> = Box<dyn FnOnce(&mut S) -> R + Send>;

/// A task's identity, unique within its pool; later submissions get larger ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.0)
    }
}

/// A unit of work for one lane.
pub struct Task<S, R> {
    /// Index of the lane that runs it, in the order given to [`Pool::new`](super::Pool::new).
    pub lane: usize,
    /// Tasks with the same key run on the same worker of the lane, the one that received
    /// the key first (e.g. the worker that holds a prepared reference).
    pub affinity: Option<u64>,
    /// Bytes the task needs on the lane's device while it runs, for memory admission.
    pub memory_bytes: u64,
    /// The caller's id, handed back in [`Completed::tag`].
    pub tag: u64,
    /// The work.
    pub run: TaskFn<S, R>,
}

impl<S, R> Task<S, R> {
    /// A task for `lane` with no affinity, no memory need and tag 0.
    pub fn new(lane: usize, run: impl FnOnce(&mut S) -> R + Send + 'static) -> Self {
        Self {
            lane,
            affinity: None,
            memory_bytes: 0,
            tag: 0,
            run: Box::new(run),
        }
    }

    /// Sets the affinity key.
    #[must_use]
    pub fn with_affinity(mut self, key: u64) -> Self {
        self.affinity = Some(key);
        self
    }

    /// Sets the bytes the task needs while it runs.
    #[must_use]
    pub fn with_memory(mut self, bytes: u64) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Sets the caller's id.
    #[must_use]
    pub fn with_tag(mut self, tag: u64) -> Self {
        self.tag = tag;
        self
    }
}

impl<S, R> fmt::Debug for Task<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("lane", &self.lane)
            .field("affinity", &self.affinity)
            .field("memory_bytes", &self.memory_bytes)
            .field("tag", &self.tag)
            .finish_non_exhaustive()
    }
}

/// Why a task produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskFailure {
    /// The task panicked; the panic message. The worker keeps serving with its state as the
    /// panic left it, which may be mid-update.
    #[error("task panicked: {0}")]
    Panicked(String),
    /// The task was cancelled (by `cancel`, `cancel_all` or shutdown) before it started.
    #[error("task cancelled before it started")]
    Cancelled,
}

/// A finished task.
#[derive(Debug)]
pub struct Completed<R> {
    /// The id `submit` returned.
    pub id: TaskId,
    /// The caller's id from [`Task::tag`].
    pub tag: u64,
    /// The lane it was routed to.
    pub lane: usize,
    /// The worker, within the lane, it was routed to.
    pub worker: usize,
    /// The result, or why there is none.
    pub outcome: Result<R, TaskFailure>,
}

/// A routed task on its way through a worker's queue.
pub(crate) struct Envelope<S, R> {
    pub(crate) id: TaskId,
    pub(crate) tag: u64,
    pub(crate) memory_bytes: u64,
    pub(crate) run: TaskFn<S, R>,
    /// Where the completion goes; `None` is the pool's own result channel.
    pub(crate) reply: Option<Sender<Completed<R>>>,
}
