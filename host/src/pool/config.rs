//! How a lane is configured, and how it learns how much memory is free.

use std::{fmt, sync::Arc};

/// Queue capacity of [`LaneConfig::new`].
pub const DEFAULT_QUEUE_CAPACITY: usize = 64;

/// Reports the free memory of the device a lane runs on.
///
/// Called on every admission decision, under the lane's admission lock, so it should be cheap
/// (a driver query, or the SDK's cgroup-aware `resources::memory`). A panic inside it
/// counts as `None`.
pub trait MemoryProbe: Send + Sync {
    /// Free bytes now; `None` when unknown, which admits every task.
    fn free_bytes(&self) -> Option<u64>;
}

impl<F> MemoryProbe for F
where
    F: Fn() -> Option<u64> + Send + Sync,
{
    fn free_bytes(&self) -> Option<u64> {
        self()
    }
}

/// One lane: a group of workers that share a device (one GPU, or the CPU).
#[derive(Clone)]
pub struct LaneConfig {
    /// Name, for thread names, errors and stats.
    pub name: String,
    /// Number of worker threads; at least one.
    pub workers: usize,
    /// Capacity of each worker's queue; at least one. `submit` blocks while the chosen
    /// worker's queue is full.
    pub queue_capacity: usize,
    /// Free memory of the lane's device; `None` admits every task without a memory limit.
    pub memory: Option<Arc<dyn MemoryProbe>>,
    /// Lets a busy affinity key spread to a lighter worker: when every worker holding the
    /// key has at least this many tasks queued or running and another worker has at least
    /// this many fewer, the least loaded such worker becomes a holder too. `None` keeps each
    /// key on exactly one worker.
    pub affinity_spill: Option<usize>,
}

impl LaneConfig {
    /// A lane with `workers` workers, queues of [`DEFAULT_QUEUE_CAPACITY`] and no memory limit.
    pub fn new(name: impl Into<String>, workers: usize) -> Self {
        Self {
            name: name.into(),
            workers,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            memory: None,
            affinity_spill: None,
        }
    }

    /// Lets busy affinity keys spread to lighter workers (see [`LaneConfig::affinity_spill`]).
    #[must_use]
    pub fn with_affinity_spill(mut self, load: usize) -> Self {
        self.affinity_spill = Some(load.max(1));
        self
    }

    /// Sets the capacity of each worker's queue.
    #[must_use]
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// Admits tasks only while their memory fits what `probe` reports free.
    #[must_use]
    pub fn with_memory(mut self, probe: Arc<dyn MemoryProbe>) -> Self {
        self.memory = Some(probe);
        self
    }
}

impl fmt::Debug for LaneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaneConfig")
            .field("name", &self.name)
            .field("workers", &self.workers)
            .field("queue_capacity", &self.queue_capacity)
            .field("memory", &self.memory.as_ref().map(|_| "probe"))
            .field("affinity_spill", &self.affinity_spill)
            .finish()
    }
}
