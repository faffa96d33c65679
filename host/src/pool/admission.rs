//! Memory admission for a lane with a memory probe.
//!
//! A worker starts a task only while the bytes of the lane's running tasks plus the task's own
//! fit the free memory the probe reports at that moment. A task always starts on an idle lane,
//! so one task larger than free memory still runs and its own out-of-memory handling copes.
//! Waiting workers sleep on a condition variable, woken by every completion and cancel, and
//! at least every [`REPROBE_INTERVAL`] to see memory that other processes freed.
//!
//! The rule is conservative: the free memory a probe reports already excludes what running
//! tasks have allocated, and their bytes are counted again.

use std::{
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use super::{config::MemoryProbe, inbox::Inbox, stats::WorkerCounters, task::TaskId};

/// Longest a waiting worker sleeps before it probes free memory again.
pub(crate) const REPROBE_INTERVAL: Duration = Duration::from_millis(10);

/// What the lane's tasks hold now.
#[derive(Debug, Default)]
struct Running {
    tasks: usize,
    bytes: u64,
}

/// The outcome of waiting for admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The task was claimed and its bytes counted.
    Started,
    /// The task was cancelled before it could start.
    Cancelled,
}

/// The admission state of one lane.
pub(crate) struct Gate {
    probe: Arc<dyn MemoryProbe>,
    running: Mutex<Running>,
    changed: Condvar,
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate")
            .field("running", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl Gate {
    pub(crate) fn new(probe: Arc<dyn MemoryProbe>) -> Self {
        Self {
            probe,
            running: Mutex::new(Running::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn free_bytes(&self) -> Option<u64> {
        catch_unwind(AssertUnwindSafe(|| self.probe.free_bytes())).unwrap_or(None)
    }

    /// Waits until task `id` of `inbox` may start with `bytes`, then claims it. A wait is
    /// counted in the inbox's `admission_waits` when it begins.
    pub(crate) fn admit(&self, inbox: &Inbox, id: TaskId, bytes: u64) -> Admission {
        let mut running = self.lock();
        let mut waited = false;
        loop {
            // Probed under the lock so two workers never admit against the same reading.
            let fits = running.tasks == 0
                || self
                    .free_bytes()
                    .is_none_or(|free| running.bytes.saturating_add(bytes) <= free);
            if fits {
                if !inbox.claim(id) {
                    return Admission::Cancelled;
                }
                running.tasks += 1;
                running.bytes = running.bytes.saturating_add(bytes);
                return Admission::Started;
            }
            if !inbox.is_queued(id) {
                return Admission::Cancelled;
            }
            if !waited {
                waited = true;
                WorkerCounters::bump(&inbox.counters.admission_waits);
            }
            running = self
                .changed
                .wait_timeout(running, REPROBE_INTERVAL)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// A task that [`Gate::admit`] started has finished.
    pub(crate) fn release(&self, bytes: u64) {
        let mut running = self.lock();
        running.tasks -= 1;
        running.bytes = if running.tasks == 0 {
            0
        } else {
            running.bytes.saturating_sub(bytes)
        };
        drop(running);
        self.changed.notify_all();
    }

    /// Wakes waiting workers so they notice cancellations.
    pub(crate) fn wake_all(&self) {
        self.changed.notify_all();
    }
}
