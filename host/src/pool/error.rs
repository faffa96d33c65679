//! Why the pool refused a configuration or a task.

/// Why a pool could not be built or a task could not be submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The pool was given no lanes.
    #[error("a pool needs at least one lane")]
    NoLanes,
    /// A lane was configured with no workers.
    #[error("lane {lane:?} has no workers")]
    NoWorkers {
        /// The lane's name.
        lane: String,
    },
    /// A lane was configured with a queue capacity of zero.
    #[error("lane {lane:?} has a queue capacity of zero")]
    ZeroQueueCapacity {
        /// The lane's name.
        lane: String,
    },
    /// A task named a lane the pool does not have.
    #[error("no lane {lane}: the pool has {lanes} lanes")]
    InvalidLane {
        /// The lane index asked for.
        lane: usize,
        /// How many lanes the pool has.
        lanes: usize,
    },
    /// The operating system refused to start a worker thread.
    #[error("cannot start worker {worker} of lane {lane:?}: {reason}")]
    Spawn {
        /// The lane's name.
        lane: String,
        /// The worker's index within its lane.
        worker: usize,
        /// The I/O error.
        reason: String,
    },
    /// Building a worker's state panicked.
    #[error("building the state of worker {worker} of lane {lane:?} panicked: {message}")]
    StateInit {
        /// The lane's name.
        lane: String,
        /// The worker's index within its lane.
        worker: usize,
        /// The panic message.
        message: String,
    },
    /// A worker thread is gone, so its queue accepts nothing (a bug in the pool).
    #[error("worker {worker} of lane {lane:?} has stopped")]
    WorkerGone {
        /// The lane's name.
        lane: String,
        /// The worker's index within its lane.
        worker: usize,
    },
}
