//! Scoring distorted clips against a reference clip, frames in parallel: every
//! (clip, frame, metric) is a scheduler task; frames are read as the workers need them
//! (a bounded number in flight), results are reassembled in frame order and pooled.
//!
//! Several distorted clips of one reference (a sweep) are read in lock step: each
//! reference frame is read and hashed once and shared by the tasks of every clip, so the
//! scheduler routes them to one worker, which prepares the reference once (for a temporal
//! metric, with its neighbours: ABI 1.4) and compares every clip's frame with it.
//!
//! A temporal metric's task carries the reference frames around its frame (see
//! [`crate::sched::Neighbours`]); one that looks ahead is submitted once the frames it
//! reads after its own have been read, and the clip's last frames when the clip ends.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use qscore_core::Param;

use super::{
    FrameSource, Pooled, VideoGeometry,
    excerpt::Excerpt,
    ffmpeg::Target,
    ffmpeg_group::open_group,
    open_video_until, pool,
    scale::{Scaler, open_distorted, through_ffmpeg},
    source::input_error,
    window::{FramePair, FrameWindow},
};
use crate::{
    Backend, InputError, LoadReport, MetricRequest, ScoreError, resolve_metrics,
    sched::{Reference, Scheduler, ScoreOutcome, ScoreRequest},
    score::{kept_values, metric_params},
    temporal::{self, Needs},
};

/// What a video scoring job asks for.
#[derive(Debug, Clone, Default)]
pub struct VideoJob {
    /// Metric or output names.
    pub metrics: Vec<String>,
    /// Metric parameters: (metric id, key, value).
    pub params: Vec<(String, String, String)>,
    /// Geometry of raw inputs (Y4M describes itself).
    pub geometry: Option<VideoGeometry>,
    /// Score only the first N frames; without it, clips of different lengths are an error.
    pub frames: Option<u64>,
    /// When to give up on a clip (decoders still running are killed).
    pub deadline: Option<Deadline>,
    /// Score only these excerpts of the reference, back to back, against the whole of each
    /// distorted clip (an encode of the same excerpts); all of it when empty.
    pub reference_excerpts: Vec<Excerpt>,
    /// Decode each distorted clip (but raw YUV) to the reference's size and pixel format
    /// with this scaler (`--scale`); without it, a clip of another geometry is an error.
    pub scale: Option<Scaler>,
    /// Score only every Nth frame (frames 0, N, 2N, …), as libvmaf's `n_subsample` does:
    /// every frame is still read, and a temporal metric's frame still sees its neighbours,
    /// so a scored frame's values are those it has without subsampling. 0 or 1: every
    /// frame.
    pub subsample: u64,
}

impl VideoJob {
    /// Whether frame `index` is scored (see [`Self::subsample`]).
    pub(crate) fn scores_frame(&self, index: u64) -> bool {
        self.subsample <= 1 || index.is_multiple_of(self.subsample)
    }
}

/// The message for a distorted clip whose geometry `found` is not the reference's.
pub(crate) fn geometry_mismatch(
    job: &VideoJob,
    found: VideoGeometry,
    reference: &Path,
    expected: VideoGeometry,
) -> String {
    let hint = if job.scale.is_none() {
        " (--scale bicubic decodes it to the reference's size and format)"
    } else {
        ""
    };
    format!(
        "is {found} but the reference {} is {expected}{hint}",
        reference.display()
    )
}

/// Opens a job's reference: all of it, or its excerpts (which ffmpeg reads, seeking).
pub(crate) fn open_reference(
    job: &VideoJob,
    path: &Path,
    deadline: Option<Instant>,
) -> Result<Box<dyn FrameSource>, InputError> {
    if job.reference_excerpts.is_empty() {
        return open_video_until(path, job.geometry, deadline);
    }
    if super::source::is_raw(path, job.geometry) {
        return Err(super::source::input_error(
            path,
            "is raw YUV: excerpts are read from a Y4M file or a container",
        ));
    }
    Ok(Box::new(super::FfmpegSource::open_excerpts(
        path,
        &job.reference_excerpts,
        job.geometry,
        deadline,
    )?))
}

/// A time limit on scoring one clip.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// When the limit runs out.
    pub at: Instant,
    /// The limit, for messages.
    pub limit: Duration,
}

impl Deadline {
    /// `limit` from now.
    pub fn after(limit: Duration) -> Self {
        Self {
            at: Instant::now() + limit,
            limit,
        }
    }

    /// Whether the limit has run out.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The error of a clip that ran out of time.
    pub fn error(&self, path: &Path) -> ScoreError {
        ScoreError::TimedOut {
            path: path.to_path_buf(),
            limit_s: self.limit.as_secs_f64(),
        }
    }
}

/// The result for one distorted clip.
#[derive(Debug, Clone)]
pub struct VideoScores {
    /// Values per scored frame, in frame order, in the order asked.
    pub frames: Vec<Vec<(String, f64)>>,
    /// The number of each frame of `frames` in its clip (from 0; every Nth frame with
    /// [`VideoJob::subsample`]).
    pub frame_numbers: Vec<u64>,
    /// Pooled statistics per value name, in the order asked.
    pub pooled: Vec<(String, Pooled)>,
    /// Which backend ran each metric (of the first frame).
    pub backends: Vec<(String, Backend)>,
}

fn params_for(job: &VideoJob, metric: &str) -> Vec<Param> {
    metric_params(&job.params, metric)
}

fn clip_error(path: &Path, reason: String) -> ScoreError {
    ScoreError::Input(InputError {
        path: path.to_path_buf(),
        reason,
    })
}

/// One frame's values as they arrive.
struct Frame {
    remaining: usize,
    values: Vec<Option<crate::score::MetricScores>>,
    /// Whether it is scored (else only read, for its neighbours).
    scored: bool,
}

/// One distorted clip of a group, as it is read and scored.
struct Clip<'a> {
    path: &'a Path,
    source: Option<Box<dyn FrameSource>>,
    frames: Vec<Frame>,
    window: FrameWindow,
    failure: Option<ScoreError>,
    /// Frames read; reading stopped when `ended` (the clip's end, or `--frames`).
    read: u64,
    ended: bool,
}

impl Clip<'_> {
    fn active(&self) -> bool {
        self.failure.is_none() && !self.ended
    }

    fn fail(&mut self, error: ScoreError) {
        if self.failure.is_none() {
            self.failure = Some(error);
        }
        // A failed clip's decoder is not read again (and is reaped when dropped).
        self.source = None;
    }
}

/// Scores `distorted` against `reference` frame by frame.
pub fn score_video(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &VideoJob,
    reference: &Path,
    distorted: &Path,
) -> Result<VideoScores, ScoreError> {
    score_video_group(report, scheduler, job, reference, &[distorted])
        .pop()
        .unwrap_or_else(|| Err(clip_error(distorted, "was not scored".into())))
}

/// Scores every clip of `distorted` against `reference` in lock step: the reference is
/// read once, and the clips' frames at one position share its frame. A clip that fails
/// (unreadable, another geometry or length) fails alone; the others go on. Results come
/// back in the order of `distorted`.
pub(crate) fn score_video_group(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &VideoJob,
    reference: &Path,
    distorted: &[&Path],
) -> Vec<Result<VideoScores, ScoreError>> {
    let all = |error: ScoreError| distorted.iter().map(|_| Err(error.clone())).collect();
    let requests = match resolve_metrics(report, &job.metrics) {
        Ok(requests) => requests,
        Err(error) => return all(error),
    };
    let timed_out = |path: &Path, error: InputError| match job.deadline {
        Some(deadline) if deadline.passed() => deadline.error(path),
        _ => error.into(),
    };
    log::info!(
        "{}: {} clip(s) read in lock step, each reference frame prepared once for them",
        reference.display(),
        distorted.len()
    );
    let (ref_source, clip_sources) = open_all(job, reference, distorted);
    let mut ref_source = match ref_source {
        Ok(source) => source,
        Err(error) => {
            return distorted
                .iter()
                .map(|d| Err(timed_out(d, error.clone())))
                .collect();
        }
    };
    let needs: Vec<Needs> = requests
        .iter()
        .map(|r| temporal::needs(report, &r.metric))
        .collect();
    let widest = needs.iter().fold(Needs::default(), |w, n| Needs {
        depth: w.depth.max(n.depth),
        lookahead: w.lookahead.max(n.lookahead),
    });
    let mut clips: Vec<Clip<'_>> = distorted
        .iter()
        .zip(clip_sources)
        .map(|(&path, source)| open_clip(job, (&*ref_source, reference), (path, source), widest))
        .collect();
    // The frames the choice of backend is spread over: `--frames`, else the reference's
    // count when its container says it (raw and Y4M files, most encodes), else one.
    let frames = job.frames.or_else(|| ref_source.frame_count()).unwrap_or(1);
    let group = Group {
        scheduler,
        job,
        requests: &requests,
        needs: &needs,
        clips: distorted.len(),
        frames: u32::try_from(frames).unwrap_or(u32::MAX),
    };
    group.run(&mut *ref_source, reference, &mut clips);
    clips
        .into_iter()
        .map(|clip| match clip.failure {
            Some(error) => Err(error),
            None => finish(reference, &requests, clip.frames),
        })
        .collect()
}

type Opened = Result<Box<dyn FrameSource>, InputError>;

/// Opens the reference and every distorted clip at once. The distorted clips that ffmpeg
/// decodes (regular files, two or more) share one ffmpeg process (`ffmpeg_group`); the
/// others, and all of them if the group cannot start, open each on a thread of its own: a
/// decoder process takes tens of milliseconds to start and decode its first frame, and
/// opened one after another they would leave the workers idle that long per clip.
///
/// With `--scale`, the reference opens first: its geometry is what the clips decode to.
fn open_all(job: &VideoJob, reference: &Path, distorted: &[&Path]) -> (Opened, Vec<Opened>) {
    let deadline = job.deadline.map(|d| d.at);
    let (early, scale) = match job.scale {
        Some(scaler) => match open_reference(job, reference, deadline) {
            Ok(r) => {
                let to = scaler.to(r.geometry());
                (Some(Ok(r)), Some(to))
            }
            Err(error) => {
                let clips = distorted.iter().map(|_| Err(error.clone())).collect();
                return (Err(error), clips);
            }
        },
        None => (None, None),
    };
    let grouped: Vec<usize> = (0..distorted.len())
        .filter(|&i| {
            let path = distorted[i];
            through_ffmpeg(path, job.geometry, job.scale)
                && path.metadata().is_ok_and(|m| m.is_file())
        })
        .collect();
    std::thread::scope(|scope| {
        let group = (grouped.len() >= 2).then(|| {
            let paths: Vec<&Path> = grouped.iter().map(|&i| distorted[i]).collect();
            let target = Target {
                given: job.geometry,
                scale,
            };
            scope.spawn(move || open_group(&paths, target, deadline))
        });
        let alone = |from_group: bool| {
            let open = move |path: &Path| open_distorted(path, job.geometry, scale, deadline);
            (0..distorted.len())
                .filter(|i| grouped.contains(i) == from_group)
                .map(|i| (i, scope.spawn(move || open(distorted[i]))))
                .collect::<Vec<_>>()
        };
        let mut handles = alone(false);
        let reference = early.unwrap_or_else(|| open_reference(job, reference, deadline));
        let mut clips: Vec<Option<Opened>> = distorted.iter().map(|_| None).collect();
        match group.and_then(|handle| handle.join().ok().flatten()) {
            Some(members) => {
                for (&i, member) in grouped.iter().zip(members) {
                    clips[i] = Some(Ok(member));
                }
            }
            // The group could not start (or was not worth one): its clips open alone.
            None => handles.extend(alone(true)),
        }
        for (i, handle) in handles {
            let lost = || Err(input_error(distorted[i], "opening it panicked"));
            clips[i] = Some(handle.join().unwrap_or_else(|_| lost()));
        }
        let clips = clips
            .into_iter()
            .zip(distorted)
            .map(|(clip, &path)| clip.unwrap_or_else(|| Err(input_error(path, "was not opened"))))
            .collect();
        (reference, clips)
    })
}

/// Checks one opened distorted clip of a group against the reference.
fn open_clip<'a>(
    job: &VideoJob,
    (ref_source, reference): (&dyn FrameSource, &Path),
    (path, opened): (&'a Path, Opened),
    widest: Needs,
) -> Clip<'a> {
    let mut clip = Clip {
        path,
        source: None,
        frames: Vec::new(),
        window: FrameWindow::new(widest),
        failure: None,
        read: 0,
        ended: false,
    };
    let source = match opened {
        Ok(source) => source,
        Err(error) => {
            clip.fail(match job.deadline {
                Some(deadline) if deadline.passed() => deadline.error(path),
                _ => error.into(),
            });
            return clip;
        }
    };
    let (rg, dg) = (ref_source.geometry(), source.geometry());
    if rg != dg {
        clip.fail(clip_error(path, geometry_mismatch(job, dg, reference, rg)));
        return clip;
    }
    if let (None, Some(r), Some(d)) = (job.frames, ref_source.frame_count(), source.frame_count())
        && r != d
    {
        clip.fail(clip_error(
            path,
            format!(
                "has {d} frames but the reference {} has {r} (use --frames N to score the first N)",
                reference.display()
            ),
        ));
        return clip;
    }
    clip.source = Some(source);
    clip
}

/// What every clip of a group shares while it is scored.
struct Group<'a> {
    scheduler: &'a Scheduler,
    job: &'a VideoJob,
    requests: &'a [MetricRequest],
    needs: &'a [Needs],
    clips: usize,
    /// Reference frames of the clips (each prepared once, compared with every clip's frame).
    frames: u32,
}

impl Group<'_> {
    fn tag(&self, clip: usize, index: u64, metric: usize) -> u64 {
        (index * self.clips as u64 + clip as u64) * self.requests.len() as u64 + metric as u64
    }

    /// Reads, submits and collects until every clip has ended or failed.
    fn run(&self, ref_source: &mut dyn FrameSource, reference: &Path, clips: &mut [Clip<'_>]) {
        let metrics = self.requests.len();
        let in_flight_limit =
            4 * metrics.max(1) * clips.len().max(1) * qscore_core::sdk::resources::cpu_count();
        let mut index: u64 = 0;
        while clips.iter().any(Clip::active) && self.job.frames.is_none_or(|limit| index < limit) {
            if let Some(deadline) = self.job.deadline
                && deadline.passed()
            {
                for clip in clips.iter_mut().filter(|c| c.active()) {
                    clip.fail(deadline.error(clip.path));
                }
                break;
            }
            if crate::interrupt::requested() {
                for clip in clips.iter_mut().filter(|c| c.active()) {
                    clip.fail(ScoreError::Interrupted);
                }
                break;
            }
            let r = match ref_source.next_frame() {
                Ok(r) => r.map(|r| Reference::new(Arc::new(r))),
                Err(error) => {
                    for clip in clips.iter_mut().filter(|c| c.active()) {
                        let error = match self.job.deadline {
                            Some(deadline) if deadline.passed() => deadline.error(clip.path),
                            _ => error.clone().into(),
                        };
                        clip.fail(error);
                    }
                    break;
                }
            };
            for (c, clip) in clips.iter_mut().enumerate() {
                if clip.active() {
                    self.advance(c, clip, r.as_ref(), reference, index);
                }
            }
            if r.is_none() {
                break;
            }
            index += 1;
            self.drain(clips, in_flight_limit);
        }
        // The clips' last frames of the metrics that look ahead, with what follows them.
        for (c, clip) in clips.iter_mut().enumerate() {
            for (m, need) in self.needs.iter().enumerate() {
                if clip.failure.is_some() {
                    break;
                }
                for ready in clip.read.saturating_sub(need.lookahead as u64)..clip.read {
                    if let Err(error) = self.submit(c, clip, ready, m) {
                        clip.fail(error);
                        break;
                    }
                }
            }
        }
        while let Some(outcome) = self.scheduler.poll_blocking() {
            self.collect(outcome, clips);
        }
    }

    /// Reads frame `index` of one clip against the reference frame `r` (none past the
    /// reference's end) and submits what it makes ready.
    fn advance(
        &self,
        c: usize,
        clip: &mut Clip<'_>,
        r: Option<&Reference>,
        reference: &Path,
        index: u64,
    ) {
        let Some(source) = clip.source.as_mut() else {
            return;
        };
        let d = match source.next_frame() {
            Ok(d) => d,
            Err(error) => {
                let error = match self.job.deadline {
                    Some(deadline) if deadline.passed() => deadline.error(clip.path),
                    _ => error.into(),
                };
                clip.fail(error);
                return;
            }
        };
        let (r, d) = match (r, d) {
            (Some(r), Some(d)) => (r, d),
            (None, None) => {
                clip.ended = true;
                return;
            }
            _ if self.job.frames.is_some() => {
                clip.ended = true;
                return;
            }
            (None, Some(_)) => {
                let error = format!(
                    "has more frames than the reference {} ({index})",
                    reference.display()
                );
                clip.fail(clip_error(clip.path, error));
                return;
            }
            (Some(_), None) => {
                let error = format!(
                    "has {index} frames, fewer than the reference {}",
                    reference.display()
                );
                clip.fail(clip_error(clip.path, error));
                return;
            }
        };
        let scored = self.job.scores_frame(index);
        clip.frames.push(Frame {
            remaining: if scored { self.requests.len() } else { 0 },
            values: vec![None; self.requests.len()],
            scored,
        });
        clip.window.push(FramePair {
            index,
            reference: r.clone(),
            distorted: Arc::new(d),
        });
        clip.read = index + 1;
        for (m, need) in self.needs.iter().enumerate() {
            // A metric that looks ahead scores, now, the frame its last neighbour was read for.
            if let Some(ready) = index.checked_sub(need.lookahead as u64)
                && let Err(error) = self.submit(c, clip, ready, m)
            {
                clip.fail(error);
                return;
            }
        }
    }

    fn submit(&self, c: usize, clip: &Clip<'_>, index: u64, m: usize) -> Result<(), ScoreError> {
        if clip.frames.get(index as usize).is_some_and(|f| !f.scored) {
            return Ok(());
        }
        let request = &self.requests[m];
        let need = self.needs[m];
        let (frame, neighbours) = clip
            .window
            .around(index, need)
            .ok_or_else(|| ScoreError::Pool(format!("frame {index} left the window early")))?;
        self.scheduler
            .submit(ScoreRequest {
                reference: frame.reference,
                distorted: frame.distorted,
                neighbours: need.temporal().then_some(neighbours),
                metric: request.metric.clone(),
                params: params_for(self.job, &request.metric),
                references: self.frames,
                comparisons: u32::try_from(self.clips).unwrap_or(u32::MAX),
                tag: self.tag(c, index, m),
            })
            .map(drop)
            .map_err(|e| ScoreError::Pool(e.to_string()))
    }

    /// Collects what is done, then waits while more than `limit` tasks are pending.
    fn drain(&self, clips: &mut [Clip<'_>], limit: usize) {
        while let Some(outcome) = self.scheduler.poll() {
            self.collect(outcome, clips);
        }
        while self.scheduler.pending() > limit {
            match self.scheduler.poll_blocking() {
                Some(outcome) => self.collect(outcome, clips),
                None => break,
            }
        }
    }

    fn collect(&self, outcome: ScoreOutcome, clips: &mut [Clip<'_>]) {
        let metrics = self.requests.len() as u64;
        let (rest, metric) = (outcome.tag / metrics, (outcome.tag % metrics) as usize);
        let (index, c) = (
            (rest / self.clips as u64) as usize,
            (rest % self.clips as u64) as usize,
        );
        let clip = &mut clips[c];
        match outcome.result {
            Ok(scored) => {
                let values = kept_values(&self.requests[metric], scored);
                let frame = &mut clip.frames[index];
                frame.values[metric] = Some(values);
                frame.remaining -= 1;
            }
            Err(error) => {
                let context = format!(
                    "{}: frame {index}: {}",
                    clip.path.display(),
                    self.requests[metric].metric
                );
                clip.fail(ScoreError::Scheduling {
                    context,
                    failure: error,
                });
            }
        }
    }
}

/// One clip's values in frame order, pooled per value name.
fn finish(
    reference: &Path,
    requests: &[MetricRequest],
    frames: Vec<Frame>,
) -> Result<VideoScores, ScoreError> {
    if frames.is_empty() {
        return Err(clip_error(reference, "has no frames".into()));
    }
    let backends = frames[0]
        .values
        .iter()
        .zip(requests)
        .filter_map(|(v, r)| v.as_ref().map(|(_, b)| (r.metric.clone(), b.clone())))
        .collect();
    let (frame_numbers, per_frame): (Vec<u64>, Vec<Vec<(String, f64)>>) = frames
        .into_iter()
        .zip(0u64..)
        .filter(|(f, _)| f.scored)
        .map(|(f, number)| {
            let values = f
                .values
                .into_iter()
                .flatten()
                .flat_map(|(values, _)| values)
                .collect();
            (number, values)
        })
        .unzip();
    let names: Vec<String> = per_frame[0].iter().map(|(n, _)| n.clone()).collect();
    let pooled = names
        .into_iter()
        .filter_map(|name| {
            let values: Vec<f64> = per_frame
                .iter()
                .filter_map(|f| f.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
                .collect();
            pool(&values).map(|p| (name, p))
        })
        .collect();
    Ok(VideoScores {
        frames: per_frame,
        frame_numbers,
        pooled,
        backends,
    })
}
