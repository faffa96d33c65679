//! Any container or codec, decoded by an `ffmpeg` child process that streams raw
//! frames through a pipe (nothing is written to disk). Geometry comes from the
//! caller when given, else from one `ffprobe` call. The child is always reaped:
//! at the end of the stream, on an error, and when the source is dropped early.

use std::{
    io::{BufReader, Read},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
    thread::JoinHandle,
    time::Instant,
};

use qscore_core::{OwnedImage, PixelFormat};

use super::{
    FrameSource, VideoGeometry,
    source::{FrameRead, input_error, read_frame},
};
use crate::{
    InputError,
    interrupt::{self, Tracked},
};

/// Lines of ffmpeg's own error output kept for messages.
const STDERR_LINES: usize = 8;

/// Frames decoded by an `ffmpeg` child process.
#[derive(Debug)]
pub struct FfmpegSource {
    path: PathBuf,
    geometry: VideoGeometry,
    child: Option<(Child, Tracked)>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Option<JoinHandle<String>>,
    next: u64,
    watchdog: Option<Watchdog>,
}

fn missing_tool(path: &Path, tool: &str, error: &std::io::Error) -> InputError {
    if error.kind() == std::io::ErrorKind::NotFound {
        input_error(
            path,
            format!("needs `{tool}` to decode this container, and it is not installed"),
        )
    } else {
        input_error(path, format!("cannot run `{tool}`: {error}"))
    }
}

/// Asks `ffprobe` for the first video stream's size and pixel format. A pixel format
/// qscore does not have is decoded as 8-bit 4:2:0 (or 16-bit 4:4:4 when it is deeper
/// than 8 bits), and ffmpeg converts to it.
fn probe(path: &Path, deadline: Option<Instant>) -> Result<VideoGeometry, InputError> {
    let mut child = decoder_command("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,pix_fmt",
        ])
        .args(["-of", "json"])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| missing_tool(path, "ffprobe", &e))?;
    let tracked = interrupt::track(&child);
    let watchdog = deadline.map(|at| Watchdog::arm(child.id(), at));
    // Drained on its own thread so a chatty ffprobe never blocks on a full pipe.
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    });
    let mut stdout = Vec::new();
    let read = child
        .stdout
        .take()
        .map_or(Ok(0), |mut pipe| pipe.read_to_end(&mut stdout));
    if let Some(watchdog) = watchdog {
        watchdog.disarm();
    }
    let status = tracked.reap(&mut child);
    let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    let status = read
        .and(status)
        .map_err(|e| input_error(path, format!("running ffprobe: {e}")))?;
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr);
        return Err(input_error(
            path,
            format!("ffprobe cannot read it: {}", text.trim()),
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&stdout)
        .map_err(|e| input_error(path, format!("unexpected ffprobe output: {e}")))?;
    let stream = json["streams"]
        .get(0)
        .ok_or_else(|| input_error(path, "has no video stream"))?;
    let side = |key: &str| {
        stream[key]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| input_error(path, format!("ffprobe reports no {key}")))
    };
    let (width, height) = (side("width")?, side("height")?);
    let name = stream["pix_fmt"].as_str().unwrap_or("");
    let format = PixelFormat::from_name(name)
        .filter(|f| f.as_yuv().is_some())
        .unwrap_or_else(|| {
            let deep = ["10", "12", "14", "16"].iter().any(|d| name.contains(d));
            let fallback = if deep { "yuv444p16le" } else { "yuv420p" };
            PixelFormat::from_name(fallback).expect("known format")
        });
    let geometry = VideoGeometry {
        width,
        height,
        format,
    };
    geometry
        .check()
        .map_err(|reason| input_error(path, reason))?;
    Ok(geometry)
}

/// A decoder process. Under the `qscore` command's signal handler it gets a process group of
/// its own, so that only qscore decides when it stops (`interrupt::installed`).
fn decoder_command(program: &str) -> Command {
    let mut command = Command::new(program);
    if interrupt::installed() {
        command.process_group(0);
    }
    command
}

/// Kills a decoder that is still running at a deadline. It is disarmed (and its thread
/// joined) before the child is reaped, so the process id it holds is never reused by then.
#[derive(Debug)]
struct Watchdog {
    stop: crossbeam_channel::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Watchdog {
    fn arm(pid: u32, at: Instant) -> Self {
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

impl FfmpegSource {
    /// Starts decoding `path`; `geometry` skips probing (and is what frames are converted to).
    ///
    /// With a `deadline`, a watchdog kills the child if it is still running then.
    pub fn open(
        path: &Path,
        geometry: Option<VideoGeometry>,
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
        let geometry = match geometry {
            Some(given) => {
                given.check().map_err(|reason| input_error(path, reason))?;
                given
            }
            None => probe(path, deadline)?,
        };
        let pix_fmt = geometry
            .format
            .name()
            .expect("checked YUV format has a name");
        let mut child = decoder_command("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", &pix_fmt, "-"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| missing_tool(path, "ffmpeg", &e))?;
        let tracked = interrupt::track(&child);
        let stdout = child.stdout.take().map(BufReader::new);
        // Drained on its own thread so a chatty ffmpeg never blocks on a full pipe.
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(STDERR_LINES)..].join("; ")
            })
        });
        let watchdog = deadline.map(|at| Watchdog::arm(child.id(), at));
        Ok(Self {
            path: path.to_path_buf(),
            geometry,
            child: Some((child, tracked)),
            stdout,
            stderr,
            next: 0,
            watchdog,
        })
    }

    /// Waits for the child and says how it ended, with its last error lines.
    fn finish(&mut self) -> Result<(), String> {
        self.stdout = None;
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
            Ok(())
        } else {
            let detail = if stderr.is_empty() {
                status.to_string()
            } else {
                stderr
            };
            Err(format!(
                "ffmpeg failed after {} frame(s): {detail}",
                self.next
            ))
        }
    }

    /// Stops the child now (on an early drop or an error) and reaps it.
    fn stop(&mut self) {
        self.stdout = None;
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.disarm();
        }
        if let Some((mut child, tracked)) = self.child.take() {
            let _ = child.kill();
            let _ = tracked.reap(&mut child);
        }
        if let Some(handle) = self.stderr.take() {
            let _ = handle.join();
        }
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
        let Some(stdout) = self.stdout.as_mut() else {
            return Ok(None);
        };
        let index = self.next;
        match read_frame(stdout, self.geometry) {
            Ok(FrameRead::Frame(image)) => {
                self.next += 1;
                Ok(Some(image))
            }
            Ok(FrameRead::End) => match self.finish() {
                Ok(()) => Ok(None),
                Err(reason) => Err(input_error(&self.path, reason)),
            },
            Ok(FrameRead::Short(got)) => {
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
            Err(error) => {
                self.stop();
                Err(input_error(
                    &self.path,
                    format!("reading ffmpeg's output: {error}"),
                ))
            }
        }
    }
}

impl Drop for FfmpegSource {
    fn drop(&mut self) {
        self.stop();
    }
}
