//! Any container or codec, decoded by an `ffmpeg` child process that streams frames
//! through a pipe (nothing is written to disk).
//!
//! ffmpeg writes a YUV4MPEG2 stream, whose header gives the decoded geometry: no separate
//! probe process per clip. With a geometry given, frames are converted to its pixel format
//! and the decoded size must be the one given (a clip encoded at another size is refused,
//! not read as misaligned frames); without one, the pixel format is qscore's closest to the
//! source's (ffmpeg's own format negotiation). A reader thread keeps a couple of frames decoded ahead, so ffmpeg decodes while
//! the frames before are scored instead of waiting on a full pipe. The child is always
//! reaped: at the end of the stream, on an error, and when the source is dropped early.

use std::{
    io::{BufRead, BufReader, Read},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread::JoinHandle,
    time::Instant,
};

use crossbeam_channel::{Receiver, Sender};
use qscore_core::OwnedImage;

use super::{
    FrameSource, VideoGeometry,
    excerpt::{Excerpt, Picked, add_inputs},
    scale::ScaleTo,
    source::{FrameRead, input_error, read_frame},
    y4m::{read_frame_header, read_stream_header},
};
use crate::{
    InputError,
    interrupt::{self, Tracked},
};

/// Lines of ffmpeg's own error output kept for messages.
pub(super) const STDERR_LINES: usize = 8;

/// Frames decoded ahead of the one being read.
pub(super) const AHEAD: usize = 2;

/// Every pixel format qscore reads, for ffmpeg to pick the closest to the source's from.
const FORMATS: &str = "yuv420p|yuv422p|yuv444p|yuv420p10le|yuv422p10le|yuv444p10le|\
                       yuv420p12le|yuv422p12le|yuv444p12le|yuv420p16le|yuv422p16le|yuv444p16le";

/// What the reader thread hands over, in stream order; it stops after anything but a frame.
#[derive(Debug)]
pub(super) enum Ahead {
    Frame(OwnedImage),
    /// The stream ended cleanly.
    End,
    /// The stream ended this many bytes into a frame.
    Short(u64),
    /// A read failed or a frame header was wrong.
    Failed(String),
}

/// Frames decoded by an `ffmpeg` child process.
#[derive(Debug)]
pub struct FfmpegSource {
    path: PathBuf,
    geometry: VideoGeometry,
    decoder: Decoder,
    frames: Option<Receiver<Ahead>>,
    reader: Option<JoinHandle<()>>,
    next: u64,
}

/// The ffmpeg process, its error output and its deadline.
#[derive(Debug)]
pub(super) struct Decoder {
    pub(super) child: Option<(Child, Tracked)>,
    pub(super) stderr: Option<JoinHandle<String>>,
    pub(super) watchdog: Option<Watchdog>,
}

impl Decoder {
    /// Whether the process has ended (it is not reaped: see [`Self::finish`]).
    pub(super) fn has_ended(&self) -> bool {
        self.child
            .as_ref()
            .is_none_or(|(_, tracked)| tracked.has_ended())
    }

    /// Waits for the process to end; a failure is said with its last error lines.
    pub(super) fn finish(&mut self) -> Result<(), String> {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
        let Some((mut child, tracked)) = self.child.take() else {
            return Ok(());
        };
        let status = tracked.reap(&mut child).map_err(|e| e.to_string())?;
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        if status.success() {
            return Ok(());
        }
        Err(if stderr.is_empty() {
            status.to_string()
        } else {
            stderr
        })
    }

    /// Kills the process (unless it has ended) so that its output closes.
    pub(super) fn kill(&mut self) {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
        if let Some((child, _)) = &mut self.child {
            let _ = child.kill();
        }
    }

    /// Kills and reaps the process.
    fn stop(&mut self) {
        self.kill();
        if let Some((mut child, tracked)) = self.child.take() {
            let _ = tracked.reap(&mut child);
        }
        if let Some(handle) = self.stderr.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(super) fn missing_ffmpeg(path: &Path, error: &std::io::Error) -> InputError {
    if error.kind() == std::io::ErrorKind::NotFound {
        input_error(
            path,
            "needs `ffmpeg` to decode this container, and it is not installed",
        )
    } else {
        input_error(path, format!("cannot run `ffmpeg`: {error}"))
    }
}

/// A decoder process. Under the `qscore` command's signal handler it gets a process group of
/// its own, so that only qscore decides when it stops (`interrupt::installed`).
pub(crate) fn decoder_command(program: &str) -> Command {
    log::debug!("starting a decoder: {program}");
    let mut command = Command::new(program);
    if interrupt::installed() {
        command.process_group(0);
    }
    command
}

/// Kills a decoder that is still running at a deadline. It is disarmed (and its thread
/// joined) before the child is reaped, so the process id it holds is never reused by then.
#[derive(Debug)]
pub(super) struct Watchdog {
    stop: crossbeam_channel::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Watchdog {
    pub(super) fn arm(pid: u32, at: Instant) -> Self {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            let wait = at.saturating_duration_since(Instant::now());
            if let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                // SAFETY: plain syscall; the child is not reaped before this thread ends.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        });
        Self { stop, thread }
    }

    fn disarm(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// The reader thread: frames (each after its `FRAME` line in a YUV4MPEG2 stream) until the
/// stream ends, a read fails, or nobody listens any more.
pub(super) fn read_ahead(stdout: impl BufRead, geometry: VideoGeometry, frames: &Sender<Ahead>) {
    read_ahead_counting(stdout, geometry, frames, || {});
}

/// [`read_ahead`], calling `counted` after each whole frame is read.
pub(super) fn read_ahead_counting(
    mut stdout: impl BufRead,
    geometry: VideoGeometry,
    frames: &Sender<Ahead>,
    counted: impl Fn(),
) {
    for index in 0.. {
        match read_frame_header(&mut stdout, index) {
            Ok(true) => {}
            Ok(false) => {
                let _ = frames.send(Ahead::End);
                return;
            }
            Err(reason) => {
                let _ = frames.send(Ahead::Failed(reason));
                return;
            }
        }
        let item = match read_frame(&mut stdout, geometry) {
            Ok(FrameRead::Frame(image)) => {
                counted();
                Ahead::Frame(image)
            }
            Ok(FrameRead::End) => Ahead::End,
            Ok(FrameRead::Short(got)) => Ahead::Short(got),
            Err(error) => Ahead::Failed(format!("reading ffmpeg's output: {error}")),
        };
        let last = !matches!(item, Ahead::Frame(_));
        if frames.send(item).is_err() {
            // Nobody listens any more. The rest of the stream is read and dropped, so that a
            // process writing other streams too (`ffmpeg_group`) never blocks on this one.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            return;
        }
        if last {
            return;
        }
    }
}

/// What a decoder makes of its input: the given geometry (a pixel format to convert to) or
/// the scaling to the reference's size and format, each where asked.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Target {
    pub(super) given: Option<VideoGeometry>,
    pub(super) scale: Option<ScaleTo>,
}

impl Target {
    /// The geometry the decoded frames must have, where one is asked for.
    pub(super) fn geometry(&self) -> Option<VideoGeometry> {
        self.scale.map(|to| to.geometry).or(self.given)
    }
}

/// Adds the options of one output: the `picked` stream, scaled where `scale` says, and
/// converted to the pixel format of `scale` or `geometry` (without either, qscore's closest
/// to the source's), as a YUV4MPEG2 stream to `target`.
pub(super) fn output_args(command: &mut Command, picked: &Picked, decode: Target, target: &str) {
    match decode.geometry() {
        Some(geometry) => {
            picked.map(command, decode.scale.map(|to| to.filter()).as_deref());
            let pix_fmt = geometry
                .format
                .name()
                .expect("checked YUV format has a name");
            command.args(["-pix_fmt", &pix_fmt]);
        }
        None => picked.map(command, Some(&format!("format={FORMATS}"))),
    }
    // `-strict -1`: YUV4MPEG2 beyond 8 bits is an extension to ffmpeg.
    command.args(["-f", "yuv4mpegpipe", "-strict", "-1", target]);
}

/// ffmpeg's error output, drained on its own thread so a chatty ffmpeg never blocks on a
/// full pipe; the thread returns its last lines.
pub(super) fn drain_stderr(child: &mut Child) -> Option<JoinHandle<String>> {
    child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(STDERR_LINES)..].join("; ")
        })
    })
}

impl FfmpegSource {
    /// Starts decoding `path`; `geometry` is what the frames must be, their pixel format
    /// converted to it (without it, the stream's own size, in the closest format qscore
    /// reads).
    ///
    /// With a `deadline`, a watchdog kills the child if it is still running then.
    pub fn open(
        path: &Path,
        geometry: Option<VideoGeometry>,
        deadline: Option<Instant>,
    ) -> Result<Self, InputError> {
        Self::open_excerpts(path, &[], geometry, deadline)
    }

    /// [`Self::open`], reading only `excerpts` of `path`, back to back (all of it when there
    /// are none).
    pub fn open_excerpts(
        path: &Path,
        excerpts: &[Excerpt],
        geometry: Option<VideoGeometry>,
        deadline: Option<Instant>,
    ) -> Result<Self, InputError> {
        let target = Target {
            given: geometry,
            scale: None,
        };
        Self::start(path, excerpts, target, deadline)
    }

    /// [`Self::open`], the frames scaled to `to`'s size and converted to its pixel format.
    pub(crate) fn open_scaled(
        path: &Path,
        to: ScaleTo,
        deadline: Option<Instant>,
    ) -> Result<Self, InputError> {
        let target = Target {
            given: None,
            scale: Some(to),
        };
        Self::start(path, &[], target, deadline)
    }

    /// Starts decoding `excerpts` of `path` (all of it when there are none) to `target`.
    pub(super) fn start(
        path: &Path,
        excerpts: &[Excerpt],
        target: Target,
        deadline: Option<Instant>,
    ) -> Result<Self, InputError> {
        // Not only regular files: a named pipe that another program streams into works too.
        if !path.exists() || path.is_dir() {
            let what = if path.is_dir() {
                "is a directory, not a video"
            } else {
                "does not exist"
            };
            return Err(input_error(path, what));
        }
        if let Some(given) = target.given {
            given.check().map_err(|reason| input_error(path, reason))?;
        }
        let mut command = decoder_command("ffmpeg");
        command.args(["-v", "error", "-nostdin"]);
        let picked = add_inputs(&mut command, path, excerpts);
        output_args(&mut command, &picked, target, "-");
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| missing_ffmpeg(path, &e))?;
        let tracked = interrupt::track(&child);
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let stderr = drain_stderr(&mut child);
        let mut decoder = Decoder {
            watchdog: deadline.map(|at| Watchdog::arm(child.id(), at)),
            child: Some((child, tracked)),
            stderr,
        };
        let found = match read_stream_header(&mut stdout) {
            Ok(found) => found,
            Err(reason) => {
                drop(stdout);
                // ffmpeg's own words say best why there is no stream.
                let reason = match decoder.finish() {
                    Err(said) => format!("ffmpeg cannot read it: {said}"),
                    Ok(()) => reason,
                };
                return Err(input_error(path, reason));
            }
        };
        if let Some(given) = target.geometry().filter(|given| *given != found) {
            return Err(input_error(
                path,
                format!("decodes to {found} frames, but {given} was given"),
            ));
        }
        let (sender, frames) = crossbeam_channel::bounded(AHEAD);
        let reader = std::thread::spawn(move || read_ahead(stdout, found, &sender));
        Ok(Self {
            path: path.to_path_buf(),
            geometry: found,
            decoder,
            frames: Some(frames),
            reader: Some(reader),
            next: 0,
        })
    }

    /// The stream ended (or broke): waits for the reader and the process.
    fn finish(&mut self) -> Result<(), String> {
        self.frames = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let frames = self.next;
        self.decoder
            .finish()
            .map_err(|said| format!("ffmpeg failed after {frames} frame(s): {said}"))
    }

    /// Stops reading and decoding now (an early drop or an error).
    fn stop(&mut self) {
        // The reader, if blocked handing over a frame, sees nobody listens; if blocked
        // reading, sees the pipe close once the process is killed.
        self.frames = None;
        self.decoder.kill();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.decoder.stop();
    }
}

impl FrameSource for FfmpegSource {
    fn geometry(&self) -> VideoGeometry {
        self.geometry
    }

    fn frame_count(&self) -> Option<u64> {
        None
    }

    fn next_frame(&mut self) -> Result<Option<OwnedImage>, InputError> {
        let Some(frames) = self.frames.as_ref() else {
            return Ok(None);
        };
        let index = self.next;
        let item = frames
            .recv()
            .unwrap_or_else(|_| Ahead::Failed("ffmpeg's reader stopped".into()));
        match item {
            Ahead::Frame(image) => {
                self.next += 1;
                Ok(Some(image))
            }
            Ahead::End => match self.finish() {
                Ok(()) => Ok(None),
                Err(reason) => Err(input_error(&self.path, reason)),
            },
            Ahead::Short(got) => {
                let reason = match self.finish() {
                    Err(reason) => reason,
                    Ok(()) => format!(
                        "ffmpeg's frame {index} is {got} of {} bytes: is the geometry {} right?",
                        self.geometry.frame_bytes(),
                        self.geometry
                    ),
                };
                Err(input_error(&self.path, reason))
            }
            Ahead::Failed(reason) => {
                self.stop();
                Err(input_error(&self.path, reason))
            }
        }
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        self.stop();
    }
}
