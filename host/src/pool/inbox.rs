//! A worker's bookkeeping shared with submitters: which of its tasks are still queued (so they
//! can be cancelled), and its load for routing.
//!
//! A queued task is claimed exactly once: by its worker when it starts, or by a cancel. Both
//! remove its id from the set under one lock, so a task either runs or completes as cancelled.

use std::{
    collections::HashSet,
    sync::{
        Mutex, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
};

use super::{stats::WorkerCounters, task::TaskId};

/// Aligned to keep one worker's counters off its neighbours' cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Inbox {
    queued: Mutex<HashSet<TaskId>>,
    load: AtomicUsize,
    pub(crate) counters: WorkerCounters,
}

impl Inbox {
    fn queued(&self) -> MutexGuard<'_, HashSet<TaskId>> {
        // Nothing panics while holding the lock; recover anyway rather than cascade.
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tasks queued or running.
    pub(crate) fn load(&self) -> usize {
        self.load.load(Relaxed)
    }

    /// Records a task routed here, before it enters the channel.
    pub(crate) fn enqueue(&self, id: TaskId) {
        self.load.fetch_add(1, Relaxed);
        self.queued().insert(id);
    }

    /// Undoes [`Inbox::enqueue`] for a task that never entered the channel.
    pub(crate) fn withdraw(&self, id: TaskId) {
        self.queued().remove(&id);
        self.finished();
    }

    /// Records a task that completed, whatever its outcome.
    pub(crate) fn finished(&self) {
        self.load.fetch_sub(1, Relaxed);
    }

    /// The worker takes the task to run it; false when it was cancelled.
    pub(crate) fn claim(&self, id: TaskId) -> bool {
        self.queued().remove(&id)
    }

    /// Whether the task is still queued (not claimed by its worker nor cancelled).
    pub(crate) fn is_queued(&self, id: TaskId) -> bool {
        self.queued().contains(&id)
    }

    /// Cancels the task if it is still queued here.
    pub(crate) fn cancel(&self, id: TaskId) -> bool {
        self.queued().remove(&id)
    }

    /// Cancels every task queued here; how many.
    pub(crate) fn cancel_all(&self) -> usize {
        let mut queued = self.queued();
        let n = queued.len();
        queued.clear();
        n
    }
}
