//! Plugins isolated in worker processes, so that a plugin that crashes (a signal, an abort)
//! or stops answering costs one task, not the whole run (`README.md` beside this file).

mod protocol;
mod serve;
mod shm;

use std::{
    cell::RefCell,
    io::{BufRead, BufReader, Write},
    os::fd::AsRawFd,
    os::unix::process::{CommandExt, ExitStatusExt},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use qscore_core::{ClipScores, Error, ImageView, NamedValue};
use serde::{Deserialize, Serialize};

pub(crate) use protocol::{Img, Request, Spec};
pub use serve::serve;

use crate::{
    LoadError,
    plugin::{Link, Plugin},
};
use protocol::{DeviceRecord, Hello, Response};
use shm::Region;

/// Which plugins run in worker processes (`--isolate`). The command line's default is
/// `Auto`; a program using the library loads into its own process unless it asks (its
/// executable is not qscore's, which workers run: `QSCORE_WORKER_EXE` names that).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Isolation {
    /// Every plugin.
    All,
    /// None: every plugin is loaded into this process.
    #[default]
    None,
    /// Every plugin but those shipped beside the executable.
    Auto,
}

impl Isolation {
    /// Parses `all`, `none` or `auto`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "all" => Ok(Self::All),
            "none" => Ok(Self::None),
            "auto" => Ok(Self::Auto),
            _ => Err(format!("{text:?} (use all, none or auto)")),
        }
    }

    /// Whether a plugin file is isolated; `shipped`: it lies beside the executable.
    pub fn isolates(self, shipped: bool) -> bool {
        match self {
            Self::All => true,
            Self::None => false,
            Self::Auto => !shipped,
        }
    }
}

/// How long a worker may take to answer one call before it is killed, unless
/// `QSCORE_PLUGIN_TIMEOUT` (seconds) says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The environment variable with the timeout of one call of an isolated plugin, in seconds.
pub const TIMEOUT_VAR: &str = "QSCORE_PLUGIN_TIMEOUT";

/// The time a call may take: `given`, else `QSCORE_PLUGIN_TIMEOUT`, else the default.
fn timeout(given: Option<Duration>) -> Duration {
    given.unwrap_or_else(|| {
        std::env::var(TIMEOUT_VAR)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64)
    })
}

/// How worker processes are started: the executable, and the time a call may take.
#[derive(Debug, Clone)]
struct Setup {
    exe: PathBuf,
    timeout: Duration,
}

/// How the error of a call on a worker that died begins; the scheduler counts these as it
/// counts panics.
pub(crate) const CRASHED: &str = "crash in plugin";

/// The file descriptor a worker finds the shared region on.
const REGION_FD: i32 = 3;

/// A call, as sent: the shared region's size, and the request.
#[derive(Debug, Serialize, Deserialize)]
struct Call {
    region: usize,
    request: Request,
}

/// Which extensions an isolated plugin has.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extensions {
    pub(crate) session_stats: bool,
    pub(crate) prepared_window: bool,
}

/// A plugin whose calls go to worker processes: one per thread that calls it, started on
/// first use and again after one died.
#[derive(Debug)]
pub struct Remote {
    setup: Setup,
    path: PathBuf,
    name: String,
    id: usize,
    pub(crate) extensions: Extensions,
}

thread_local! {
    /// This thread's workers, by [`Remote::id`]; they end with the thread.
    static WORKERS: RefCell<Vec<(usize, Arc<Worker>)>> = const { RefCell::new(Vec::new()) };
}

/// The executable that worker processes run: `given`, else `QSCORE_WORKER_EXE`, else the
/// running one.
fn worker_exe(given: Option<&Path>) -> Result<PathBuf, String> {
    match (given, std::env::var_os("QSCORE_WORKER_EXE")) {
        (Some(exe), _) => Ok(exe.to_path_buf()),
        (None, Some(exe)) => Ok(PathBuf::from(exe)),
        (None, None) => {
            std::env::current_exe().map_err(|e| format!("cannot find qscore's executable: {e}"))
        }
    }
}

/// Loads the plugin at `path` into a worker process, as `search` says (see [`worker_exe`],
/// [`timeout`]), to learn what it is. Calls later go to a worker of the calling thread.
pub(crate) fn load(path: &Path, search: &crate::PluginSearch) -> Result<Plugin, LoadError> {
    let failed = |reason: String| LoadError::Isolated {
        path: path.to_path_buf(),
        reason,
    };
    let setup = Setup {
        exe: worker_exe(search.worker_exe.as_deref()).map_err(failed)?,
        timeout: timeout(search.worker_timeout),
    };
    let (_worker, hello) = Worker::start(&setup, path, "").map_err(failed)?;
    let description = match hello {
        Hello::Loaded(description) => description,
        Hello::Failed(reason) => return Err(failed(reason)),
    };
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let remote = Remote {
        setup,
        path: path.to_path_buf(),
        name: description.name.clone(),
        id: NEXT.fetch_add(1, Ordering::Relaxed),
        extensions: Extensions {
            session_stats: description.extensions[0],
            prepared_window: description.extensions[2],
        },
    };
    Ok(Plugin {
        path: path.to_path_buf(),
        identity: description.identity(),
        device_note: description.device_note,
        sequential: description.sequential,
        risky: description.risky,
        built_in: false,
        devices: description
            .devices
            .into_iter()
            .map(DeviceRecord::device)
            .collect(),
        link: Link::Remote(Arc::new(remote)),
    })
}

impl Remote {
    /// This thread's worker, started if it has none or its last one died.
    pub(crate) fn worker(&self) -> Result<Arc<Worker>, Error> {
        let found = WORKERS.with(|w| {
            let mut workers = w.borrow_mut();
            workers.retain(|(id, worker)| *id != self.id || worker.alive());
            workers
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, worker)| Arc::clone(worker))
        });
        if let Some(worker) = found {
            return Ok(worker);
        }
        log::info!("starting a worker process for plugin {}", self.name);
        let crash = |reason: String| Error::Internal(format!("{CRASHED} {}: {reason}", self.name));
        let (worker, hello) = Worker::start(&self.setup, &self.path, &self.name).map_err(crash)?;
        if let Hello::Failed(reason) = hello {
            return Err(crash(format!(
                "its worker could not load it again: {reason}"
            )));
        }
        let worker = Arc::new(worker);
        WORKERS.with(|w| w.borrow_mut().push((self.id, Arc::clone(&worker))));
        Ok(worker)
    }

    /// A call on this thread's worker.
    pub(crate) fn call(
        &self,
        images: &[&ImageView<'_>],
        request: impl FnOnce(Vec<Img>) -> Request,
    ) -> Result<Answer, Error> {
        self.worker()?.call(images, request)
    }
}

/// A worker process of an isolated plugin.
#[derive(Debug)]
pub(crate) struct Worker {
    plugin: String,
    timeout: Duration,
    io: Mutex<Result<Io, String>>,
}

#[derive(Debug)]
struct Io {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    region: Region,
}

impl Worker {
    /// Starts a worker for the plugin file at `path` and reads what it says first.
    fn start(setup: &Setup, path: &Path, plugin: &str) -> Result<(Self, Hello), String> {
        let region = Region::create().map_err(|e| format!("no shared memory: {e}"))?;
        let mut command = Command::new(&setup.exe);
        // The worker logs as qscore does; its standard error is qscore's.
        command
            .arg("plugin-worker")
            .arg(path)
            .env(crate::logging::ENV, log::max_level().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        let fd = region.raw_fd();
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // dup2 onto itself keeps close-on-exec, so a region that already is
                // descriptor 3 has the flag cleared instead.
                let kept = if fd == REGION_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, REGION_FD)
                };
                if kept < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A worker never outlives qscore, even one that hangs.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start a worker process: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let hello = match read {
            Ok(n) if n > 0 => serde_json::from_str::<Hello>(&line).map_err(|e| e.to_string()),
            _ => {
                let _ = child.kill();
                let status = child.wait().map_err(|e| e.to_string())?;
                Err(format!(
                    "its worker process ended at start ({})",
                    describe(status)
                ))
            }
        }?;
        let worker = Self {
            plugin: plugin.to_owned(),
            timeout: setup.timeout,
            io: Mutex::new(Ok(Io {
                child,
                stdin,
                stdout,
                region,
            })),
        };
        Ok((worker, hello))
    }

    fn alive(&self) -> bool {
        self.io.lock().map(|io| io.is_ok()).unwrap_or(false)
    }

    /// Puts `images` in the shared region, sends the request made from where they lie, and
    /// waits for the answer at most the timeout. A worker that dies or does not answer is
    /// killed, and this call and every later one on it fail naming the plugin and why.
    pub(crate) fn call(
        &self,
        images: &[&ImageView<'_>],
        request: impl FnOnce(Vec<Img>) -> Request,
    ) -> Result<Answer, Error> {
        let mut guard = self.io.lock().unwrap_or_else(|e| e.into_inner());
        let io = match &mut *guard {
            Ok(io) => io,
            Err(reason) => return Err(self.crash(reason)),
        };
        let placed = io.region.put(images).map_err(|e| {
            Error::Internal(format!("shared memory for plugin {}: {e}", self.plugin))
        })?;
        let call = Call {
            region: io.region.len(),
            request: request(placed),
        };
        let line = serde_json::to_string(&call).map_err(|e| Error::Internal(e.to_string()))?;
        let deadline = Instant::now() + self.timeout;
        let answer = writeln!(io.stdin, "{line}")
            .and_then(|()| io.stdin.flush())
            .and_then(|()| {
                // The worker writes one whole line per call: once any of it is there (or the
                // pipe closed), reading the line does not wait on the worker.
                if io.stdout.buffer().is_empty() && !readable(io.stdout.get_ref(), deadline)? {
                    return Err(std::io::ErrorKind::TimedOut.into());
                }
                let mut reply = String::new();
                io.stdout.read_line(&mut reply).map(|n| (n, reply))
            });
        let reply = match answer {
            Ok((n, reply)) if n > 0 => reply,
            failed => {
                let late = matches!(&failed, Err(e) if e.kind() == std::io::ErrorKind::TimedOut);
                let reason = io.end(late.then_some(self.timeout));
                let error = self.crash(&reason);
                *guard = Err(reason);
                return Err(error);
            }
        };
        match serde_json::from_str::<Response>(&reply) {
            Ok(Response::Failed(failure)) => Err(failure.into()),
            Ok(response) => Ok(Answer(response)),
            Err(e) => Err(Error::Internal(format!(
                "plugin {}'s worker answered {reply:?}: {e}",
                self.plugin
            ))),
        }
    }

    /// The error of a call on a worker that died for `reason`.
    fn crash(&self, reason: &str) -> Error {
        Error::Internal(format!("{CRASHED} {}: {reason}", self.plugin))
    }
}

impl Io {
    /// Kills and reaps the process after a failed call (one that found no answer within
    /// `timeout`, when given), and says why it ended.
    fn end(&mut self, timeout: Option<Duration>) -> String {
        let _ = self.child.kill();
        let status = self.child.wait();
        if let Some(timeout) = timeout {
            return format!(
                "it did not answer within {timeout:?}, and its worker process was killed"
            );
        }
        match status {
            Ok(status) => format!("its worker process {}", describe(status)),
            Err(e) => format!("its worker process was lost: {e}"),
        }
    }
}

/// Waits until `pipe` has something to read or was closed (`true`), or `deadline` passed.
fn readable(pipe: &impl AsRawFd, deadline: Instant) -> std::io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Rounded up, so that a wait that times out has reached the deadline.
        let ms = libc::c_int::try_from(left.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX);
        let mut fd = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid `pollfd`, for the duration of the call.
        match unsafe { libc::poll(&mut fd, 1, ms) } {
            0 if Instant::now() >= deadline => return Ok(false),
            0 => {}
            n if n > 0 => return Ok(true),
            _ => {
                let error = std::io::Error::last_os_error();
                if error.kind() != std::io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
}

/// How a process ended, for messages: the signal by name when it was killed by one.
fn describe(status: std::process::ExitStatus) -> String {
    match status.signal() {
        Some(signal) => {
            let name = match signal {
                libc::SIGSEGV => "SIGSEGV",
                libc::SIGABRT => "SIGABRT",
                libc::SIGBUS => "SIGBUS",
                libc::SIGILL => "SIGILL",
                libc::SIGFPE => "SIGFPE",
                libc::SIGKILL => "SIGKILL",
                _ => "",
            };
            format!("was killed by signal {signal} {name}")
                .trim_end()
                .to_owned()
        }
        None => format!("exited with {status}"),
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Ok(Ok(io)) = self.io.get_mut() {
            let _ = io.child.kill();
            let _ = io.child.wait();
        }
    }
}

/// A worker's answer, read as what the call expects.
#[derive(Debug)]
pub(crate) struct Answer(Response);

impl Answer {
    fn unexpected(&self) -> Error {
        Error::Internal(format!(
            "unexpected answer from a plugin worker: {:?}",
            self.0
        ))
    }

    pub(crate) fn done(self) -> Result<(), Error> {
        match self.0 {
            Response::Done => Ok(()),
            _ => Err(self.unexpected()),
        }
    }

    pub(crate) fn number(self) -> Result<u64, Error> {
        match self.0 {
            Response::Number(n) => Ok(n),
            _ => Err(self.unexpected()),
        }
    }

    pub(crate) fn values(self) -> Result<Vec<NamedValue>, Error> {
        match self.0 {
            Response::Values(values) => Ok(protocol::values_in(values)),
            _ => Err(self.unexpected()),
        }
    }

    pub(crate) fn clip(self) -> Result<ClipScores, Error> {
        match self.0 {
            Response::Clip { frames, pooled } => Ok(protocol::clip_in(frames, pooled)),
            _ => Err(self.unexpected()),
        }
    }

    pub(crate) fn peak(self) -> Result<Option<u64>, Error> {
        match self.0 {
            Response::Peak(peak) => Ok(peak),
            _ => Err(self.unexpected()),
        }
    }
}
