//! A worker pool for metric tasks: one lane per device, each with its own workers, each
//! worker with its own state (open sessions, prepared references) that tasks borrow.
//!
//! - Each worker has a bounded queue; [`Pool::submit`] blocks while the chosen one is full.
//! - Within a lane, a task with an affinity key goes to the worker that first received the
//!   key; other tasks go to the least-loaded worker.
//! - A lane with a [`MemoryProbe`] starts a task only while the memory of its running tasks
//!   plus the task's own fits the free memory probed at that moment (an idle lane always
//!   starts one).
//! - A panic in a task becomes [`TaskFailure::Panicked`]; the worker keeps its state and
//!   keeps serving.
//! - Completions come back through one channel, in completion order, with the caller's tag.
//!
//! See `README.md` next to this file for the design.

mod admission;
mod config;
mod error;
mod inbox;
mod route;
mod stats;
mod task;
mod worker;

#[cfg(test)]
mod tests;

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
    },
    thread::JoinHandle,
    time::Duration,
};

use crossbeam_channel::{
    Receiver, RecvTimeoutError, Select, SendError, Sender, TrySendError, bounded, unbounded,
};

pub use config::{DEFAULT_QUEUE_CAPACITY, LaneConfig, MemoryProbe};
pub use error::PoolError;
pub use stats::{LaneStats, PoolStats, WorkerStats};
pub use task::{Completed, Task, TaskFailure, TaskFn, TaskId};

use admission::Gate;
use inbox::Inbox;
use route::Router;
use stats::WorkerCounters;
use task::Envelope;
use worker::{MakeState, Worker};

/// How often a blocked [`Pool::poll_any_blocking`] checks whether another thread took the
/// completion it was waiting for.
const POLL_RECHECK: Duration = Duration::from_millis(50);

/// The submitting side of one worker.
struct WorkerHandle<S, R> {
    queue: Sender<Envelope<S, R>>,
    inbox: Arc<Inbox>,
}

/// The submitting side of one lane.
struct Lane<S, R> {
    name: String,
    workers: Vec<WorkerHandle<S, R>>,
    router: Router,
    gate: Option<Arc<Gate>>,
}

impl<S, R> Lane<S, R> {
    fn wake_waiters(&self) {
        if let Some(gate) = &self.gate {
            gate.wake_all();
        }
    }
}

/// A pool of worker threads grouped in lanes, generic over each worker's state `S` and the
/// tasks' result `R`.
///
/// `S` is built on, used on and dropped on its worker's thread, so it need not be `Send`
/// (a thread-bound GPU context is fine). The pool itself is `Send + Sync`: several threads may
/// submit and poll at once.
pub struct Pool<S, R> {
    lanes: Vec<Lane<S, R>>,
    threads: Vec<JoinHandle<()>>,
    results: Receiver<Completed<R>>,
    next_id: AtomicU64,
    /// Tasks from `submit` whose completion has not been polled.
    outstanding: AtomicUsize,
    /// Tasks of `run_all` calls in progress that those calls have not collected.
    in_batches: AtomicUsize,
}

impl<S, R> fmt::Debug for Pool<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field(
                "lanes",
                &self
                    .lanes
                    .iter()
                    .map(|l| (&l.name, l.workers.len()))
                    .collect::<Vec<_>>(),
            )
            .field("outstanding", &self.outstanding.load(Relaxed))
            .field("in_batches", &self.in_batches.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: 'static, R: Send + 'static> Pool<S, R> {
    /// Starts every worker of every lane and waits until each has built its state with
    /// `make_state(lane, worker)`, called on the worker's own thread.
    ///
    /// Fails on an empty lane list, a lane with no workers or a zero queue capacity, a thread
    /// that cannot start, or a `make_state` that panics; then every started thread is joined.
    pub fn new(
        lanes: Vec<LaneConfig>,
        make_state: impl Fn(usize, usize) -> S + Send + Sync + 'static,
    ) -> Result<Self, PoolError> {
        if lanes.is_empty() {
            return Err(PoolError::NoLanes);
        }
        for lane in &lanes {
            if lane.workers == 0 {
                return Err(PoolError::NoWorkers {
                    lane: lane.name.clone(),
                });
            }
            if lane.queue_capacity == 0 {
                return Err(PoolError::ZeroQueueCapacity {
                    lane: lane.name.clone(),
                });
            }
        }
        let make_state: MakeState<S> = Arc::new(make_state);
        let (results_tx, results) = unbounded();
        let (ready_tx, ready_rx) = unbounded();
        // Built in place, so an early return drops (and so joins) what already started.
        let mut pool = Self {
            lanes: Vec::with_capacity(lanes.len()),
            threads: Vec::new(),
            results,
            next_id: AtomicU64::new(0),
            outstanding: AtomicUsize::new(0),
            in_batches: AtomicUsize::new(0),
        };
        for (lane_index, config) in lanes.into_iter().enumerate() {
            let gate = config.memory.map(|probe| Arc::new(Gate::new(probe)));
            pool.lanes.push(Lane {
                name: config.name,
                workers: Vec::with_capacity(config.workers),
                router: Router::new(config.affinity_spill),
                gate: gate.clone(),
            });
            let lane = &mut pool.lanes[lane_index];
            for index in 0..config.workers {
                let (queue, queue_rx) = bounded(config.queue_capacity);
                let inbox = Arc::new(Inbox::default());
                let worker = Worker {
                    lane: lane_index,
                    index,
                    inbox: Arc::clone(&inbox),
                    gate: gate.clone(),
                    queue: queue_rx,
                    results: results_tx.clone(),
                };
                let thread = worker
                    .spawn(
                        format!("qscore-pool-{}-{index}", lane.name),
                        Arc::clone(&make_state),
                        ready_tx.clone(),
                    )
                    .map_err(|e| PoolError::Spawn {
                        lane: lane.name.clone(),
                        worker: index,
                        reason: e.to_string(),
                    })?;
                pool.threads.push(thread);
                lane.workers.push(WorkerHandle { queue, inbox });
            }
        }
        drop(ready_tx);
        // Ends once every worker has reported and dropped its sender.
        let mut failure = None;
        for (lane, worker, report) in ready_rx {
            if let Err(message) = report {
                failure.get_or_insert_with(|| PoolError::StateInit {
                    lane: pool.lanes[lane].name.clone(),
                    worker,
                    message,
                });
            }
        }
        match failure {
            Some(error) => Err(error),
            None => Ok(pool),
        }
    }

    /// Routes a task to a worker of its lane and queues it there; blocks while that worker's
    /// queue is full. Its completion comes from [`Pool::poll_any`] or
    /// [`Pool::poll_any_blocking`].
    pub fn submit(&self, task: Task<S, R>) -> Result<TaskId, PoolError> {
        let (lane, worker, envelope) = self.route(task, None)?;
        let id = envelope.id;
        let handle = &self.lanes[lane].workers[worker];
        self.outstanding.fetch_add(1, Relaxed);
        match handle.queue.send(envelope) {
            Ok(()) => Ok(id),
            Err(SendError(_)) => {
                handle.inbox.withdraw(id);
                self.outstanding.fetch_sub(1, Relaxed);
                Err(self.worker_gone(lane, worker))
            }
        }
    }

    /// A completion of a submitted task if one is ready, without waiting.
    pub fn poll_any(&self) -> Option<Completed<R>> {
        let completed = self.results.try_recv().ok()?;
        self.outstanding.fetch_sub(1, Relaxed);
        Some(completed)
    }

    /// The next completion of a submitted task, waiting for it; `None` once no submitted task
    /// is left to complete (tasks of [`Pool::run_all`] never come out here).
    pub fn poll_any_blocking(&self) -> Option<Completed<R>> {
        loop {
            if let Some(completed) = self.poll_any() {
                return Some(completed);
            }
            if self.outstanding.load(Relaxed) == 0 {
                return None;
            }
            // Timed, in case another thread takes the completion this one waits for.
            match self.results.recv_timeout(POLL_RECHECK) {
                Ok(completed) => {
                    self.outstanding.fetch_sub(1, Relaxed);
                    return Some(completed);
                }
                Err(RecvTimeoutError::Timeout) => {}
                // The pool holds a sender through every worker; never while it lives.
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// The next completion of a submitted task, waiting at most `timeout` for it; `None`
    /// when none came in that time or no submitted task is left. Lets a caller that waits
    /// on completions also keep deadlines.
    pub fn poll_any_timeout(&self, timeout: Duration) -> Option<Completed<R>> {
        if let Some(completed) = self.poll_any() {
            return Some(completed);
        }
        if self.outstanding.load(Relaxed) == 0 {
            return None;
        }
        let completed = self.results.recv_timeout(timeout).ok()?;
        self.outstanding.fetch_sub(1, Relaxed);
        Some(completed)
    }

    /// Runs every task and returns all their completions, in completion order.
    ///
    /// The completions come back through a channel of this call's own, so `run_all` may run
    /// beside `submit`/`poll_any` users and other `run_all` calls. While a worker's queue is
    /// full it collects completions instead of only waiting, so memory stays bounded.
    ///
    /// # Panics
    ///
    /// Before submitting anything, if a task names a lane the pool does not have (a
    /// programming error, as [`Pool::submit`] reports with [`PoolError::InvalidLane`]).
    pub fn run_all(&self, tasks: impl IntoIterator<Item = Task<S, R>>) -> Vec<Completed<R>> {
        let tasks: Vec<_> = tasks.into_iter().collect();
        if let Some(task) = tasks.iter().find(|t| t.lane >= self.lanes.len()) {
            panic!(
                "run_all: task with tag {} names lane {}, the pool has {} lanes",
                task.tag,
                task.lane,
                self.lanes.len()
            );
        }
        let total = tasks.len();
        let mut done = Vec::with_capacity(total);
        let (reply, replies) = unbounded();
        self.in_batches.fetch_add(total, Relaxed);
        for task in tasks {
            let Ok((lane, worker, envelope)) = self.route(task, Some(reply.clone())) else {
                unreachable!("lanes were checked above");
            };
            let handle = &self.lanes[lane].workers[worker];
            if let Err(envelope) = send_or_collect(&handle.queue, envelope, &replies, &mut done) {
                // The worker is gone (a bug): the task never runs.
                handle.inbox.withdraw(envelope.id);
                done.push(Completed {
                    id: envelope.id,
                    tag: envelope.tag,
                    lane,
                    worker,
                    outcome: Err(TaskFailure::Cancelled),
                });
            }
        }
        while done.len() < total {
            match replies.recv() {
                Ok(completed) => done.push(completed),
                Err(_) => unreachable!("this call holds a sender"),
            }
        }
        self.in_batches.fetch_sub(total, Relaxed);
        done
    }

    /// Tasks submitted or in a `run_all` whose completion has not been taken yet.
    pub fn pending(&self) -> usize {
        self.outstanding.load(Relaxed) + self.in_batches.load(Relaxed)
    }

    /// Cancels a queued task: it completes as [`TaskFailure::Cancelled`] without running, when
    /// its worker reaches it. False if it already started, finished or is unknown.
    pub fn cancel(&self, id: TaskId) -> bool {
        for lane in &self.lanes {
            if lane.workers.iter().any(|w| w.inbox.cancel(id)) {
                lane.wake_waiters();
                return true;
            }
        }
        false
    }

    /// Cancels every queued task; running tasks finish.
    pub fn cancel_all(&self) {
        cancel_all(&self.lanes);
    }

    /// Cancels queued tasks, lets running ones finish, and joins every worker thread (each
    /// drops its state on its way out). Dropping the pool does the same.
    pub fn shutdown(self) {
        drop(self);
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            lanes: self
                .lanes
                .iter()
                .map(|lane| LaneStats {
                    name: lane.name.clone(),
                    affinity_keys: lane.router.keys(),
                    workers: lane
                        .workers
                        .iter()
                        .map(|w| w.inbox.counters.snapshot(w.inbox.load()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Picks the task's worker, gives it an id and records it as queued there.
    fn route(
        &self,
        task: Task<S, R>,
        reply: Option<Sender<Completed<R>>>,
    ) -> Result<(usize, usize, Envelope<S, R>), PoolError> {
        let Task {
            lane,
            affinity,
            memory_bytes,
            tag,
            run,
        } = task;
        let lanes = self.lanes.len();
        let l = self
            .lanes
            .get(lane)
            .ok_or(PoolError::InvalidLane { lane, lanes })?;
        let route = l
            .router
            .route(affinity, l.workers.len(), |w| l.workers[w].inbox.load());
        let inbox = &l.workers[route.worker].inbox;
        if route.by_affinity {
            WorkerCounters::bump(&inbox.counters.affinity_routes);
        }
        let id = TaskId(self.next_id.fetch_add(1, Relaxed));
        inbox.enqueue(id);
        let envelope = Envelope {
            id,
            tag,
            memory_bytes,
            run,
            reply,
        };
        Ok((lane, route.worker, envelope))
    }

    fn worker_gone(&self, lane: usize, worker: usize) -> PoolError {
        PoolError::WorkerGone {
            lane: self.lanes[lane].name.clone(),
            worker,
        }
    }
}

/// Sends `envelope`, collecting completions from `replies` into `done` while `queue` is full;
/// gives the envelope back if the worker is gone.
fn send_or_collect<S, R>(
    queue: &Sender<Envelope<S, R>>,
    envelope: Envelope<S, R>,
    replies: &Receiver<Completed<R>>,
    done: &mut Vec<Completed<R>>,
) -> Result<(), Envelope<S, R>> {
    let mut envelope = match queue.try_send(envelope) {
        Ok(()) => return Ok(()),
        Err(TrySendError::Disconnected(envelope)) => return Err(envelope),
        Err(TrySendError::Full(envelope)) => envelope,
    };
    loop {
        let mut select = Select::new();
        let send = select.send(queue);
        select.recv(replies);
        let operation = select.select();
        if operation.index() == send {
            return operation.send(queue, envelope).map_err(|SendError(e)| e);
        }
        if let Ok(completed) = operation.recv(replies) {
            done.push(completed);
        }
        // Collect whatever else is ready before trying again.
        done.extend(replies.try_iter());
        envelope = match queue.try_send(envelope) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(envelope)) => return Err(envelope),
            Err(TrySendError::Full(envelope)) => envelope,
        };
    }
}

fn cancel_all<S, R>(lanes: &[Lane<S, R>]) {
    for lane in lanes {
        for worker in &lane.workers {
            worker.inbox.cancel_all();
        }
        lane.wake_waiters();
    }
}

impl<S, R> Drop for Pool<S, R> {
    fn drop(&mut self) {
        cancel_all(&self.lanes);
        // Closing the queues ends each worker once it has drained its queue as cancelled.
        self.lanes.clear();
        for thread in self.threads.drain(..) {
            // A worker only panics outside a task if dropping its state panicked.
            let _ = thread.join();
        }
    }
}
