//! Scoring with the GIL released, interruptible by Ctrl-C.
//!
//! Python's SIGINT handler only sets a flag that Python code checks on the main thread;
//! while qscore works without the GIL nothing would check it. So the work runs on a helper
//! thread and the calling thread waits for it, taking the GIL every [`POLL`] to let Python
//! check for signals. On Ctrl-C the host's work is cancelled (`interrupt::cancel`:
//! decoders are stopped, no new comparison starts, a batch keeps its finished rows in its
//! journal), the work is waited for, and the `KeyboardInterrupt` goes to the caller.
//!
//! Image scoring ([`inline`]) needs no helper thread: it runs on the calling thread, whose
//! waits for comparisons call back every 50 ms to let Python check for signals
//! (`interrupt::checking`), which saves two thread hand-offs per call.
//!
//! Helper threads are kept for the next call (starting a thread per call would cost more
//! than scoring a small image): an idle one is reused, a new one starts only when every
//! helper is busy (calls from several Python threads at once).

use std::{
    sync::{Mutex, mpsc},
    time::Duration,
};

use pyo3::{exceptions::PyRuntimeError, prelude::*};

/// How often the waiting thread lets Python check for signals.
const POLL: Duration = Duration::from_millis(50);

type Job = Box<dyn FnOnce() + Send>;

/// Idle helper threads, each waiting on its job channel.
static IDLE: Mutex<Vec<mpsc::Sender<Job>>> = Mutex::new(Vec::new());

fn idle() -> std::sync::MutexGuard<'static, Vec<mpsc::Sender<Job>>> {
    IDLE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hands `job` to an idle helper, or to a new one; returns that helper's job channel,
/// which goes back on the idle list once the job is done.
fn start(mut job: Job) -> Result<mpsc::Sender<Job>, String> {
    loop {
        let Some(helper) = idle().pop() else { break };
        match helper.send(job) {
            Ok(()) => return Ok(helper),
            // That helper is gone; the closed channel gives the job back.
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (helper, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("qscore-call".into())
        .spawn(move || {
            for job in jobs.iter() {
                job();
            }
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    helper
        .send(job)
        .map_err(|_| "a new helper thread ended at once".to_owned())?;
    Ok(helper)
}

/// Runs `work` without the GIL; Ctrl-C cancels it (see the module's documentation).
pub(crate) fn run<T: Send + 'static>(
    py: Python<'_>,
    work: impl FnOnce() -> T + Send + 'static,
) -> PyResult<T> {
    py.detach(|| {
        let (done, finished) = mpsc::sync_channel::<std::thread::Result<T>>(1);
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(outcome);
        });
        let helper = start(job).map_err(PyRuntimeError::new_err)?;
        let outcome = wait(&finished);
        idle().push(helper);
        outcome
    })
}

/// Waits for the job's outcome, letting Python check for signals meanwhile.
fn wait<T>(finished: &mpsc::Receiver<std::thread::Result<T>>) -> PyResult<T> {
    let mut interrupted: Option<PyErr> = None;
    loop {
        match finished.recv_timeout(POLL) {
            Ok(Ok(value)) => {
                return match interrupted {
                    Some(signal) => {
                        qscore_host::interrupt::resume();
                        Err(signal)
                    }
                    None => Ok(value),
                };
            }
            Ok(Err(panic)) => {
                if interrupted.is_some() {
                    qscore_host::interrupt::resume();
                }
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                return Err(PyRuntimeError::new_err(format!("qscore panicked: {text}")));
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err("qscore's helper thread ended"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if interrupted.is_none() => {
                if let Err(signal) = Python::attach(|py| py.check_signals()) {
                    // The cancelled work ends soon (plugin calls in flight finish first);
                    // its outcome is waited for, then dropped.
                    qscore_host::interrupt::cancel();
                    interrupted = Some(signal);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

thread_local! {
    /// The `KeyboardInterrupt` (or other signal handler's exception) met by [`check`].
    static SIGNAL: std::cell::RefCell<Option<PyErr>> = const { std::cell::RefCell::new(None) };
}

/// Lets Python run its signal handlers; `true` (stop) when one raised.
fn check() -> bool {
    Python::attach(|py| match py.check_signals() {
        Ok(()) => false,
        Err(signal) => {
            SIGNAL.with(|s| *s.borrow_mut() = Some(signal));
            true
        }
    })
}

/// Runs `work` on this thread without the GIL; its waits for comparisons let Python check
/// for signals, and Ctrl-C cancels it (see the module's documentation).
pub(crate) fn inline<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    let value = py.detach(|| qscore_host::interrupt::checking(check, work));
    match SIGNAL.with(|s| s.borrow_mut().take()) {
        Some(signal) => {
            qscore_host::interrupt::resume();
            Err(signal)
        }
        None => Ok(value),
    }
}
