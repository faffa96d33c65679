//! A worker thread: builds its state, then runs the tasks of its queue one at a time.

use std::{
    any::Any,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    thread::{self, JoinHandle},
};

use crossbeam_channel::{Receiver, Sender};

use super::{
    admission::{Admission, Gate},
    inbox::Inbox,
    stats::WorkerCounters,
    task::{Completed, Envelope, TaskFailure},
};

/// Builds a worker's state from (lane, worker).
pub(crate) type MakeState<S> = Arc<dyn Fn(usize, usize) -> S + Send + Sync>;

/// Whether a worker built its state: (lane, worker, panic message if it did not).
pub(crate) type Ready = (usize, usize, Result<(), String>);

/// What a worker thread owns.
pub(crate) struct Worker<S, R> {
    pub(crate) lane: usize,
    pub(crate) index: usize,
    pub(crate) inbox: Arc<Inbox>,
    pub(crate) gate: Option<Arc<Gate>>,
    pub(crate) queue: Receiver<Envelope<S, R>>,
    /// The pool's result channel, for envelopes without their own.
    pub(crate) results: Sender<Completed<R>>,
}

impl<S: 'static, R: Send + 'static> Worker<S, R> {
    /// Starts the thread. It reports on `ready` once its state is built (or building panicked),
    /// then serves its queue until every sender is gone, and drops its state on its own thread.
    pub(crate) fn spawn(
        self,
        thread_name: String,
        make_state: MakeState<S>,
        ready: Sender<Ready>,
    ) -> std::io::Result<JoinHandle<()>> {
        thread::Builder::new().name(thread_name).spawn(move || {
            let (lane, index) = (self.lane, self.index);
            match catch_unwind(AssertUnwindSafe(|| make_state(lane, index))) {
                Ok(mut state) => {
                    // `new` waits for every report, so the receiver is alive.
                    let _ = ready.send((lane, index, Ok(())));
                    drop(ready);
                    while let Ok(envelope) = self.queue.recv() {
                        self.handle(&mut state, envelope);
                    }
                }
                Err(payload) => {
                    let _ = ready.send((lane, index, Err(panic_message(&*payload))));
                }
            }
        })
    }

    fn handle(&self, state: &mut S, envelope: Envelope<S, R>) {
        let Envelope {
            id,
            tag,
            memory_bytes,
            run,
            reply,
        } = envelope;
        let counters = &self.inbox.counters;
        let admission = match &self.gate {
            Some(gate) => gate.admit(&self.inbox, id, memory_bytes),
            None if self.inbox.claim(id) => Admission::Started,
            None => Admission::Cancelled,
        };
        let outcome = match admission {
            Admission::Cancelled => {
                WorkerCounters::bump(&counters.cancelled);
                // The closure's captures are the caller's values; their drop may panic too.
                let _ = catch_unwind(AssertUnwindSafe(move || drop(run)));
                Err(TaskFailure::Cancelled)
            }
            Admission::Started => {
                WorkerCounters::bump(&counters.run);
                let result = catch_unwind(AssertUnwindSafe(move || run(state)));
                if let Some(gate) = &self.gate {
                    gate.release(memory_bytes);
                }
                result.map_err(|payload| {
                    WorkerCounters::bump(&counters.panicked);
                    let message = panic_message(&*payload);
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
                    TaskFailure::Panicked(message)
                })
            }
        };
        self.inbox.finished();
        let completed = Completed {
            id,
            tag,
            lane: self.lane,
            worker: self.index,
            outcome,
        };
        // A receiver is gone only while the pool is being dropped: nobody is left to tell.
        let _ = reply.as_ref().unwrap_or(&self.results).send(completed);
    }
}

/// The message of a panic payload (`panic!` with a literal or a format string).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    qscore_core::sdk::panic_text(payload)
        .unwrap_or_else(|| "panic with a non-string payload".to_owned())
}
