//! Ctrl-C (SIGINT), SIGTERM and SIGHUP for the `qscore` command.
//!
//! `install` starts a thread that waits for those signals. On the first one it kills every
//! decoder process still running, gives the parts that hold finished but unsaved work (the
//! batch journal's last group) a moment to make it durable, and ends the process with
//! `128 + signal`. Nothing waits for a plugin call in progress: those cannot be cut short,
//! and everything that counts as done is already on disk. A program that uses this library
//! without calling `install` keeps the default signal behaviour.
//!
//! Decoder processes are registered (`track`) from their start until they are reaped, and a
//! registered process is taken off the list only after it has ended and before it is reaped
//! (`Tracked::reap`), so the handler never signals a process id the system has already given
//! to another process.

use std::{
    io,
    process::{Child, ExitStatus},
    sync::{
        Condvar, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// How long the handler waits for killed decoders to be reaped by their readers.
const REAP_GRACE: Duration = Duration::from_millis(500);
/// How long the handler waits for unsaved work to be made durable.
const SAVE_GRACE: Duration = Duration::from_secs(5);

static REQUESTED: AtomicBool = AtomicBool::new(false);

struct Children {
    pids: Vec<u32>,
    /// The handler has run: processes started from now on are killed at once.
    closed: bool,
}

static CHILDREN: Mutex<Children> = Mutex::new(Children {
    pids: Vec::new(),
    closed: false,
});

/// Signalled when a decoder is taken off the list.
static REAPED: Condvar = Condvar::new();

/// Parts holding work that is finished but not yet durable.
static UNSAVED: Mutex<usize> = Mutex::new(0);
/// Signalled when a saver is done.
static SAVED: Condvar = Condvar::new();

static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Scratch folders removed when a signal stops the process.
static FOLDERS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Handles SIGINT, SIGTERM and SIGHUP from now on (see the module's documentation).
///
/// # Errors
/// When the handler or its thread cannot be set up.
pub fn install() -> io::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("qscore-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                stop(signal);
            }
        })?;
    INSTALLED.store(true, Ordering::SeqCst);
    Ok(())
}

/// Whether `install` has run. Decoders then start in a process group of their own, so that
/// a terminal's Ctrl-C reaches only qscore, which stops them itself: ffmpeg would otherwise
/// take it as the end of its input and close the stream as if the clip were shorter.
pub(crate) fn installed() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

/// Whether the process is being stopped by a signal: work finished from now on is not
/// recorded (it may have failed only because its decoder was killed) and is redone by the
/// next run.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Waits for the end of the process if a signal is stopping it: the handler's exit status,
/// `128 + signal`, is the one that counts, not the outcome a command reached meanwhile
/// (its decoders were killed under it). Returns at once otherwise.
pub fn wait_if_stopping() {
    while requested() {
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

/// Stops the work in progress without ending the process, for a program that embeds
/// qscore and handles its own Ctrl-C (the Python package): decoders are killed, a batch
/// keeps what it finished in its journal and returns [`crate::batch::BatchError::Interrupted`],
/// and image and video scoring stop submitting work and return
/// [`crate::ScoreError::Interrupted`]. Plugin calls in progress finish first. Returns how
/// many decoders were stopped; call [`resume`] once the interrupted call has returned.
pub fn cancel() -> usize {
    stop_decoders()
}

/// Undoes [`cancel`]: work started from now on runs again.
pub fn resume() {
    lock(&CHILDREN).closed = false;
    REQUESTED.store(false, Ordering::SeqCst);
}

thread_local! {
    /// This thread's check for a stop asked by its caller (`checking`).
    static CHECK: std::cell::Cell<Option<fn() -> bool>> = const { std::cell::Cell::new(None) };
}

/// How often a thread running [`checking`] calls its check while it waits for comparisons.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(50);

/// Runs `work` on this thread, calling `check` every [`CHECK_EVERY`] while the work waits
/// for comparisons; when `check` returns `true` the work is cancelled as by [`cancel`]
/// (and [`resume`] is the caller's to call once `work` has returned). For a caller that
/// must look for its own interruption on this very thread (Python checks for Ctrl-C only
/// on its main thread), without handing the work to another thread.
pub fn checking<T>(check: fn() -> bool, work: impl FnOnce() -> T) -> T {
    let before = CHECK.with(|c| c.replace(Some(check)));
    let result = work();
    CHECK.with(|c| c.set(before));
    result
}

/// Calls this thread's check, if it has one, cancelling the work when it says so.
pub(crate) fn check_now() {
    if let Some(check) = CHECK.with(std::cell::Cell::get)
        && !requested()
        && check()
    {
        cancel();
    }
}

/// Whether this thread's waits should wake up to call its check.
pub(crate) fn has_check() -> bool {
    CHECK.with(|c| c.get().is_some())
}

fn stop(signal: i32) -> ! {
    let killed = stop_decoders();
    let name = match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "SIGHUP",
    };
    let stopped = match killed {
        0 => String::new(),
        1 => "; stopped 1 decoder".into(),
        n => format!("; stopped {n} decoders"),
    };
    eprintln!("\nqscore: interrupted by {name}{stopped}");
    settle();
    // Not `exit`: plugins' static destructors must not run under threads still in them.
    // SAFETY: `_exit` only ends the process.
    unsafe { libc::_exit(128 + signal) }
}

/// Stops the process quietly because its standard output was closed by the reader (`qscore
/// … | head -1`): decoders are killed and reaped and unsaved work is saved as on a signal,
/// then the process ends by SIGPIPE, as programs in a pipeline do, so a shell sees 141.
pub fn broken_pipe() -> ! {
    stop_decoders();
    settle();
    // SAFETY: restoring the default action of SIGPIPE and raising it only ends the process;
    // `_exit` follows in case the signal is blocked.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
        libc::_exit(128 + libc::SIGPIPE)
    }
}

/// Marks the process as stopping and kills every decoder still running: how many.
fn stop_decoders() -> usize {
    REQUESTED.store(true, Ordering::SeqCst);
    let mut children = lock(&CHILDREN);
    children.closed = true;
    for &pid in &children.pids {
        kill(pid);
    }
    children.pids.len()
}

/// Gives killed decoders and unsaved work their grace periods, then removes the scratch
/// folders (nothing writes into them any more).
fn settle() {
    wait_until(&CHILDREN, &REAPED, REAP_GRACE, |c| c.pids.is_empty());
    wait_until(&UNSAVED, &SAVED, SAVE_GRACE, |n| *n == 0);
    for folder in lock(&FOLDERS).iter() {
        let _ = std::fs::remove_dir_all(folder);
    }
}

fn wait_until<T>(state: &Mutex<T>, changed: &Condvar, grace: Duration, done: impl Fn(&T) -> bool) {
    let end = Instant::now() + grace;
    let mut guard = lock(state);
    while !done(&guard) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        guard = changed
            .wait_timeout(guard, left)
            .map_or_else(|e| e.into_inner().0, |(g, _)| g);
    }
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn kill(pid: u32) {
    // SAFETY: a plain syscall on a process that has not been reaped (see `Tracked`).
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
}

/// A child process the handler kills on a signal. Reap the child with [`Tracked::reap`],
/// never with `Child::wait` directly.
#[derive(Debug)]
#[must_use = "a tracked child must be reaped through Tracked::reap"]
pub(crate) struct Tracked {
    pid: u32,
}

/// Registers a just-started child. If the handler has already run, the child is killed now.
pub(crate) fn track(child: &Child) -> Tracked {
    let pid = child.id();
    let mut children = lock(&CHILDREN);
    if children.closed {
        kill(pid);
    }
    children.pids.push(pid);
    Tracked { pid }
}

impl Tracked {
    /// Whether the child has ended, without reaping it (so its id stays its own).
    pub(crate) fn has_ended(&self) -> bool {
        // SAFETY: `info` is a valid out-parameter; WNOWAIT leaves the child unreaped and
        // WNOHANG returns at once, with `si_pid` 0 while the child runs.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &raw mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            )
        };
        // SAFETY: `si_pid` is set by a successful waitid (0 when nothing has ended).
        result == 0 && unsafe { info.si_pid() } != 0
    }

    /// Waits for the child to end, takes it off the list, then reaps it.
    pub(crate) fn reap(self, child: &mut Child) -> io::Result<ExitStatus> {
        wait_ended(self.pid);
        drop(self);
        child.wait()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        lock(&CHILDREN).pids.retain(|&pid| pid != self.pid);
        REAPED.notify_all();
    }
}

/// Waits until `pid` has ended without reaping it, so its id cannot be reused meanwhile.
fn wait_ended(pid: u32) {
    loop {
        // SAFETY: `info` is a valid out-parameter; WNOWAIT leaves the child unreaped.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &raw mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if result == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// A scratch folder the handler removes if a signal stops the process; the owner removes it
/// otherwise (dropping this only takes it off the list).
#[derive(Debug)]
pub(crate) struct RemovedOnStop(std::path::PathBuf);

impl RemovedOnStop {
    pub(crate) fn new(folder: &std::path::Path) -> Self {
        lock(&FOLDERS).push(folder.to_path_buf());
        Self(folder.to_path_buf())
    }
}

impl Drop for RemovedOnStop {
    fn drop(&mut self) {
        lock(&FOLDERS).retain(|f| *f != self.0);
    }
}

/// Finished work that is not yet durable. While one is alive, the handler waits (a few
/// seconds at most) before ending the process; call [`Saver::saved`] once the work is on
/// disk, or when there is nothing left to save.
#[derive(Debug)]
pub(crate) struct Saver {
    pending: bool,
}

impl Saver {
    pub(crate) fn new() -> Self {
        *lock(&UNSAVED) += 1;
        Self { pending: true }
    }

    /// The work is durable (or cannot be saved): the handler need not wait for it.
    pub(crate) fn saved(&mut self) {
        if std::mem::take(&mut self.pending) {
            let mut unsaved = lock(&UNSAVED);
            *unsaved = unsaved.saturating_sub(1);
            SAVED.notify_all();
        }
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        self.saved();
    }
}
