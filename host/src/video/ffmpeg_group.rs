//! The distorted clips of one lock-step group decoded by one `ffmpeg` process.
//!
//! Starting ffmpeg costs tens of milliseconds of CPU (it loads and relocates some two
//! hundred shared libraries), as much as decoding a couple of seconds of small video. A
//! sweep of many short clips therefore decodes them in one process: an input per clip and
//! an output pipe per clip (file descriptors 3, 4, …), each a YUV4MPEG2 stream read ahead
//! by its own thread, as [`super::FfmpegSource`] reads its one stream.
//!
//! ffmpeg keeps every output open until all its inputs end, so a clip that ends early looks
//! like a slow one while the group's other streams, read in lock step, fill up. So whenever
//! anything is not as expected the group is abandoned: its process is killed, and each clip
//! goes on with a process of its own that skips the frames the clip already handed out.
//! That clip's errors then name its own file, and a short clip is told from a slow one. The
//! group is abandoned when the process does not start or a stream has no header (then every
//! clip is opened alone from the start), when a stream breaks or the process fails, and when
//! a clip waits for a frame while another stream of the group is already [`AHEAD_LIMIT`]
//! frames further (ffmpeg writes its outputs in timestamp order, so the clip has ended),
//! or for [`STALL`] in all. Memory stays bounded: each stream holds [`AHEAD`] frames.

use std::{
    fs::File,
    io::BufReader,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
        unix::process::CommandExt,
    },
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use qscore_core::OwnedImage;

use super::{
    FfmpegSource, FrameSource, VideoGeometry,
    excerpt::Picked,
    ffmpeg::{
        AHEAD, Ahead, Decoder, Target, Watchdog, decoder_command, drain_stderr, output_args,
        read_ahead_counting,
    },
    source::input_error,
    y4m::read_stream_header,
};
use crate::{InputError, interrupt};

/// Longest wait for one clip's next frame, or for the streams' headers, before the group is
/// abandoned.
const STALL: Duration = Duration::from_secs(20);

/// How far another stream may be ahead of a clip that waits for a frame before the clip is
/// taken to have ended: past what the others' read-ahead holds in lock step.
const AHEAD_LIMIT: u64 = AHEAD as u64 + 2;

/// How often a waiting clip looks at the other streams.
const POLL: Duration = Duration::from_millis(20);

/// The process and what its streams have read, shared by the group's clips (not by the
/// reader threads, so that the process is killed once the last clip is dropped).
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    abandoned: AtomicBool,
    /// Frames read from each stream so far (by its reader thread).
    read: Arc<[AtomicU64]>,
    /// Each stream's frames ahead, to see whether it is full.
    ahead: Vec<Sender<Ahead>>,
    /// Whether each clip is still read from the group.
    live: Vec<AtomicBool>,
}

#[derive(Debug)]
struct State {
    decoder: Decoder,
    /// How the process ended, once it has been reaped.
    ended: Option<Result<(), String>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Kills the process: every clip goes on alone.
    fn abandon(&self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.lock().decoder.kill();
    }

    fn abandoned(&self) -> bool {
        self.abandoned.load(Ordering::SeqCst)
    }

    /// How the process ended, if it has: reaped once, remembered for every clip.
    fn ended(&self) -> Option<Result<(), String>> {
        let mut state = self.lock();
        if state.ended.is_none() && state.decoder.has_ended() {
            state.ended = Some(state.decoder.finish());
        }
        state.ended.clone()
    }

    /// Whether another live stream is so far past frame `index` of clip `me` that ffmpeg,
    /// writing in timestamp order, would have written that frame by now if it existed.
    fn others_far_ahead(&self, me: usize, index: u64) -> bool {
        self.read
            .iter()
            .zip(&self.live)
            .enumerate()
            .any(|(i, (read, live))| {
                i != me
                    && live.load(Ordering::SeqCst)
                    && read.load(Ordering::SeqCst) >= index + AHEAD_LIMIT
            })
    }

    /// Whether another live stream holds all the frames it may: ffmpeg may then be waiting
    /// to write to it.
    fn another_full(&self, me: usize) -> bool {
        self.ahead
            .iter()
            .zip(&self.live)
            .enumerate()
            .any(|(i, (ahead, live))| i != me && live.load(Ordering::SeqCst) && ahead.is_full())
    }
}

/// One clip of a group.
#[derive(Debug)]
pub(super) struct GroupMember {
    path: PathBuf,
    index: usize,
    given: Target,
    deadline: Option<Instant>,
    geometry: VideoGeometry,
    shared: Arc<Shared>,
    frames: Option<Receiver<Ahead>>,
    /// Frames handed out.
    next: u64,
    /// The longest this clip has waited for a frame of the group.
    slowest: Duration,
    /// The clip's own decoder, once the group is abandoned.
    alone: Option<FfmpegSource>,
}

/// Opens `paths` (regular files that ffmpeg decodes) as one group; `None` when the group
/// cannot be used, and the caller opens each clip alone.
pub(super) fn open_group(
    paths: &[&Path],
    target: Target,
    deadline: Option<Instant>,
) -> Option<Vec<Box<dyn FrameSource>>> {
    let (decoder, streams) = match spawn(paths, target, deadline) {
        Ok(started) => started,
        Err(error) => {
            log::info!(
                "one decoder for {} clips could not start: {error}",
                paths.len()
            );
            return None;
        }
    };
    log::info!("{} clips decoded by one ffmpeg process", paths.len());
    let read: Arc<[AtomicU64]> = paths.iter().map(|_| AtomicU64::new(0)).collect();
    let (mut ahead, mut pending) = (Vec::new(), Vec::new());
    for (index, stream) in streams.into_iter().enumerate() {
        let (sender, started) = start_reader(&read, index, stream);
        ahead.push(sender);
        pending.push(started);
    }
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            decoder,
            ended: None,
        }),
        abandoned: AtomicBool::new(false),
        read,
        ahead,
        live: paths.iter().map(|_| AtomicBool::new(true)).collect(),
    });
    let until = Instant::now() + STALL;
    let mut members: Vec<Box<dyn FrameSource>> = Vec::with_capacity(paths.len());
    for (index, ((header, frames), path)) in pending.into_iter().zip(paths).enumerate() {
        let found = match header.recv_deadline(until) {
            Ok(Ok(found)) if target.geometry().is_none_or(|given| given == found) => found,
            // Opened alone, the clip says what is wrong with it.
            _ => {
                shared.abandon();
                return None;
            }
        };
        members.push(Box::new(GroupMember {
            path: path.to_path_buf(),
            index,
            given: target,
            deadline,
            geometry: found,
            shared: Arc::clone(&shared),
            frames: Some(frames),
            next: 0,
            slowest: Duration::ZERO,
            alone: None,
        }));
    }
    Some(members)
}

type Started = (Receiver<Result<VideoGeometry, String>>, Receiver<Ahead>);

/// Starts the thread that reads stream `index`: its header, then its frames, counted in
/// `read`. Returns a sender of the stream's frames (to see whether it is full).
fn start_reader(read: &Arc<[AtomicU64]>, index: usize, stream: File) -> (Sender<Ahead>, Started) {
    let (header_tx, header) = crossbeam_channel::bounded(1);
    let (frames_tx, frames) = crossbeam_channel::bounded(AHEAD);
    let (read, sender) = (Arc::clone(read), frames_tx.clone());
    std::thread::spawn(move || {
        let mut stream = BufReader::new(stream);
        match read_stream_header(&mut stream) {
            Ok(found) if header_tx.send(Ok(found)).is_ok() => {
                let counted = || {
                    read[index].fetch_add(1, Ordering::SeqCst);
                };
                read_ahead_counting(stream, found, &frames_tx, counted);
            }
            found => {
                let _ = header_tx.send(found);
                // Read and dropped, so that the process never blocks on this stream.
                let _ = std::io::copy(&mut stream, &mut std::io::sink());
            }
        }
    });
    (sender, (header, frames))
}

/// Starts ffmpeg with an input per path and an output pipe per path: the decoder and the
/// pipes' read ends, in order.
fn spawn(
    paths: &[&Path],
    target: Target,
    deadline: Option<Instant>,
) -> std::io::Result<(Decoder, Vec<File>)> {
    let first = 3;
    let (mut reads, mut writes) = (Vec::new(), Vec::new());
    for _ in paths {
        let (read, write) = pipe()?;
        reads.push(File::from(read));
        // Above every descriptor the child is given, so that `dup2` into 3, 4, … never
        // replaces one not yet moved.
        writes.push(duplicate_above(&write, first + paths.len() as RawFd)?);
    }
    let mut command = decoder_command("ffmpeg");
    command.args(["-v", "error", "-nostdin"]);
    for path in paths {
        command.arg("-i").arg(path);
    }
    for input in 0..paths.len() {
        let to = format!("pipe:{}", first + input as RawFd);
        output_args(&mut command, &Picked::Input(input), target, &to);
    }
    let fds: Vec<RawFd> = writes.iter().map(AsRawFd::as_raw_fd).collect();
    // SAFETY: between fork and exec the closure only calls `dup2`, which is
    // async-signal-safe, on descriptors that stay open in the parent until `spawn` returns.
    unsafe {
        command.pre_exec(move || {
            for (i, &fd) in fds.iter().enumerate() {
                if libc::dup2(fd, first + i as RawFd) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    // The parent's write ends close, so that each stream ends when the process does.
    drop(writes);
    let tracked = interrupt::track(&child);
    let decoder = Decoder {
        watchdog: deadline.map(|at| Watchdog::arm(child.id(), at)),
        stderr: drain_stderr(&mut child),
        child: Some((child, tracked)),
    };
    Ok((decoder, reads))
}

/// A pipe, both ends closed on exec.
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [RawFd; 2] = [0; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A copy of `fd` numbered at least `lowest`, closed on exec.
fn duplicate_above(fd: &OwnedFd, lowest: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: `fd` is open; F_DUPFD_CLOEXEC returns a new descriptor or -1.
    let copy = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, lowest) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `copy` was just opened and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

impl GroupMember {
    /// The next item of the group's stream, or `None` when the clip must go on alone: the
    /// group was given up, or waiting shows this clip's stream will not go on.
    fn next_from_group(&mut self) -> Option<Ahead> {
        let frames = self.frames.as_ref()?;
        let start = Instant::now();
        // Another stream full for this long while this one stays empty: ffmpeg waits to write
        // to it, which in timestamp order it would not if this clip had a frame to come
        // sooner, unless decoding this clip is slow; so the wait allowed grows with the
        // longest wait for a frame so far.
        let blocked_for = 4 * self.slowest + Duration::from_millis(500);
        let mut full_since = None;
        loop {
            match frames.recv_timeout(POLL) {
                Ok(item) => {
                    self.slowest = self.slowest.max(start.elapsed());
                    return Some(item);
                }
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {}
            }
            let now = Instant::now();
            full_since = if self.shared.another_full(self.index) {
                Some(full_since.unwrap_or(now))
            } else {
                None
            };
            let stuck = self.shared.abandoned()
                || now - start >= STALL
                || self.shared.others_far_ahead(self.index, self.next)
                || full_since.is_some_and(|since| now - since >= blocked_for);
            if stuck {
                return None;
            }
        }
    }

    /// Leaves the group (killing its process, so the other clips leave it too) and goes on
    /// with a decoder of its own, past the frames already handed out.
    fn go_alone(&mut self) -> Result<Option<OwnedImage>, InputError> {
        log::info!(
            "{}: leaves its group's decoder at frame {} and goes on with its own",
            self.path.display(),
            self.next
        );
        self.leave();
        self.shared.abandon();
        if self.deadline.is_some_and(|at| Instant::now() >= at) {
            return Err(input_error(&self.path, "ran out of time"));
        }
        let mut alone = FfmpegSource::start(&self.path, &[], self.given, self.deadline)?;
        if alone.geometry() != self.geometry {
            return Err(input_error(
                &self.path,
                format!(
                    "decodes to {} frames alone but to {} with other clips",
                    alone.geometry(),
                    self.geometry
                ),
            ));
        }
        for index in 0..self.next {
            if alone.next_frame()?.is_none() {
                let reason = format!("ended at frame {index} when decoded again");
                return Err(input_error(&self.path, reason));
            }
        }
        let next = alone.next_frame();
        self.alone = Some(alone);
        if let Ok(Some(_)) = next {
            self.next += 1;
        }
        next
    }

    /// Stops reading from the group: its reader drops the rest of the stream.
    fn leave(&mut self) {
        self.frames = None;
        self.shared.live[self.index].store(false, Ordering::SeqCst);
    }
}

impl FrameSource for GroupMember {
    fn geometry(&self) -> VideoGeometry {
        self.geometry
    }

    fn frame_count(&self) -> Option<u64> {
        None
    }

    fn next_frame(&mut self) -> Result<Option<OwnedImage>, InputError> {
        if let Some(alone) = self.alone.as_mut() {
            return alone.next_frame();
        }
        if self.frames.is_none() {
            return Ok(None);
        }
        match self.next_from_group() {
            // A whole frame is what ffmpeg wrote, even if the group was given up since.
            Some(Ahead::Frame(image)) => {
                self.next += 1;
                Ok(Some(image))
            }
            Some(Ahead::End) if self.ended_cleanly() => {
                self.leave();
                Ok(None)
            }
            _ => self.go_alone(),
        }
    }
}

impl GroupMember {
    /// Whether the stream's clean end is the clip's: ffmpeg closed it and has ended well,
    /// or (a version that closes each output when its input ends) is still running.
    fn ended_cleanly(&self) -> bool {
        if self.shared.abandoned() {
            return false;
        }
        // A process that is exiting closes its outputs just before it ends.
        let until = Instant::now() + Duration::from_millis(200);
        loop {
            if let Some(ended) = self.shared.ended() {
                return ended.is_ok();
            }
            if Instant::now() >= until {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.leave();
    }
}
