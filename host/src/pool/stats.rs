//! Counters kept by the pool, and their snapshots.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of the pool's counters, lane by lane.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// One entry per lane, in configuration order.
    pub lanes: Vec<LaneStats>,
}

/// Counters of one lane.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaneStats {
    /// The lane's name.
    pub name: String,
    /// Distinct affinity keys the lane has pinned to a worker.
    pub affinity_keys: usize,
    /// One entry per worker.
    pub workers: Vec<WorkerStats>,
}

/// Counters of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerStats {
    /// Tasks it started (including those that panicked).
    pub run: u64,
    /// Tasks that panicked.
    pub panicked: u64,
    /// Tasks cancelled before they started.
    pub cancelled: u64,
    /// Tasks routed to it by an affinity key.
    pub affinity_routes: u64,
    /// Tasks that had to wait for memory (counted when the wait begins, whether they then
    /// start or are cancelled).
    pub admission_waits: u64,
    /// Tasks queued on it or running now.
    pub load: usize,
}

impl PoolStats {
    /// Tasks started on every worker of every lane.
    pub fn tasks_run(&self) -> u64 {
        self.lanes.iter().map(LaneStats::tasks_run).sum()
    }
}

impl LaneStats {
    /// Tasks started on every worker of the lane.
    pub fn tasks_run(&self) -> u64 {
        self.workers.iter().map(|w| w.run).sum()
    }

    /// Tasks of the lane that had to wait for memory.
    pub fn admission_waits(&self) -> u64 {
        self.workers.iter().map(|w| w.admission_waits).sum()
    }
}

/// The live counters of one worker; each is written by one side only where possible.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) run: AtomicU64,
    pub(crate) panicked: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) affinity_routes: AtomicU64,
    pub(crate) admission_waits: AtomicU64,
}

impl WorkerCounters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, load: usize) -> WorkerStats {
        WorkerStats {
            run: self.run.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            affinity_routes: self.affinity_routes.load(Relaxed),
            admission_waits: self.admission_waits.load(Relaxed),
            load,
        }
    }
}
