//! Scoring a distorted clip against a reference clip, frames in parallel: every
//! (frame, metric) is a scheduler task; frames are read as the workers need them
//! (a bounded number in flight), results are reassembled in frame order and pooled.
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
    Pooled, VideoGeometry, open_video_until, pool,
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
    /// Values per frame, in frame order, in the order asked.
    pub frames: Vec<Vec<(String, f64)>>,
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
}

/// Scores `distorted` against `reference` frame by frame.
pub fn score_video(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &VideoJob,
    reference: &Path,
    distorted: &Path,
) -> Result<VideoScores, ScoreError> {
    let requests: Vec<MetricRequest> = resolve_metrics(report, &job.metrics)?;
    let deadline = job.deadline.map(|d| d.at);
    // A decoder killed at the deadline fails with a read error: the deadline is the reason.
    let timed_out = |error: InputError| match job.deadline {
        Some(deadline) if deadline.passed() => deadline.error(distorted),
        _ => error.into(),
    };
    let mut ref_source = open_video_until(reference, job.geometry, deadline).map_err(timed_out)?;
    let mut dist_source = open_video_until(distorted, job.geometry, deadline).map_err(timed_out)?;
    let (rg, dg) = (ref_source.geometry(), dist_source.geometry());
    if rg != dg {
        return Err(clip_error(
            distorted,
            format!(
                "is {}x{} {} but the reference {} is {}x{} {}",
                dg.width,
                dg.height,
                dg.format,
                reference.display(),
                rg.width,
                rg.height,
                rg.format
            ),
        ));
    }
    if let (None, Some(r), Some(d)) = (
        job.frames,
        ref_source.frame_count(),
        dist_source.frame_count(),
    ) && r != d
    {
        return Err(clip_error(
            distorted,
            format!(
                "has {d} frames but the reference {} has {r} (use --frames N to score the first N)",
                reference.display()
            ),
        ));
    }
    let metrics = requests.len();
    let in_flight_limit =
        4 * metrics.max(1) * std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut frames: Vec<Frame> = Vec::new();
    let mut failure: Option<ScoreError> = None;
    let collect =
        |outcome: ScoreOutcome, frames: &mut Vec<Frame>, failure: &mut Option<ScoreError>| {
            let (index, metric) = (
                (outcome.tag as usize) / metrics,
                (outcome.tag as usize) % metrics,
            );
            match outcome.result {
                Ok(scored) => {
                    frames[index].values[metric] = Some(kept_values(&requests[metric], scored));
                    frames[index].remaining -= 1;
                }
                Err(error) if failure.is_none() => {
                    *failure = Some(ScoreError::Scheduling {
                        context: format!(
                            "{}: frame {index}: {}",
                            distorted.display(),
                            requests[metric].metric
                        ),
                        failure: error,
                    });
                }
                Err(_) => {}
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
    let mut window = FrameWindow::new(widest);
    let submit = |window: &FrameWindow, index: u64, m: usize| -> Result<(), ScoreError> {
        let request = &requests[m];
        let need = needs[m];
        let (frame, neighbours) = window
            .around(index, need)
            .ok_or_else(|| ScoreError::Pool(format!("frame {index} left the window early")))?;
        scheduler
            .submit(ScoreRequest {
                reference: frame.reference,
                distorted: frame.distorted,
                neighbours: need.temporal().then_some(neighbours),
                metric: request.metric.clone(),
                params: params_for(job, &request.metric),
                comparisons: 1,
                tag: index * metrics as u64 + m as u64,
            })
            .map(drop)
            .map_err(|e| ScoreError::Pool(e.to_string()))
    };
    let mut index: u64 = 0;
    // Errors end the loop but not the function: tasks already submitted are collected
    // below, so none is left in the scheduler for its next caller.
    while job.frames.is_none_or(|limit| index < limit) && failure.is_none() {
        if let Some(deadline) = job.deadline
            && deadline.passed()
        {
            failure = Some(deadline.error(distorted));
            break;
        }
        let read = ref_source
            .next_frame()
            .and_then(|r| Ok((r, dist_source.next_frame()?)));
        let (r, d) = match read {
            Ok((Some(r), Some(d))) => (r, d),
            Ok((None, None)) => break,
            Ok((None, Some(_)) | (Some(_), None)) if job.frames.is_some() => break,
            Ok((None, Some(_))) => {
                failure = Some(clip_error(
                    distorted,
                    format!(
                        "has more frames than the reference {} ({index})",
                        reference.display()
                    ),
                ));
                break;
            }
            Ok((Some(_), None)) => {
                failure = Some(clip_error(
                    distorted,
                    format!(
                        "has {index} frames, fewer than the reference {}",
                        reference.display()
                    ),
                ));
                break;
            }
            Err(error) => {
                failure = Some(timed_out(error));
                break;
            }
        };
        frames.push(Frame {
            remaining: metrics,
            values: vec![None; metrics],
        });
        window.push(FramePair {
            index,
            reference: Reference::new(Arc::new(r)),
            distorted: Arc::new(d),
        });
        for (m, need) in needs.iter().enumerate() {
            // A metric that looks ahead scores, now, the frame its last neighbour was read for.
            if let Some(ready) = index.checked_sub(need.lookahead as u64)
                && let Err(error) = submit(&window, ready, m)
            {
                failure = Some(error);
            }
        }
        index += 1;
        while let Some(outcome) = scheduler.poll() {
            collect(outcome, &mut frames, &mut failure);
        }
        while scheduler.pending() > in_flight_limit {
            match scheduler.poll_blocking() {
                Some(outcome) => collect(outcome, &mut frames, &mut failure),
                None => break,
            }
        }
    }
    // The clip's last frames of the metrics that look ahead, with what follows them.
    if failure.is_none() {
        'flush: for (m, need) in needs.iter().enumerate() {
            for ready in index.saturating_sub(need.lookahead as u64)..index {
                if let Err(error) = submit(&window, ready, m) {
                    failure = Some(error);
                    break 'flush;
                }
            }
        }
    }
    while let Some(outcome) = scheduler.poll_blocking() {
        collect(outcome, &mut frames, &mut failure);
    }
    if let Some(error) = failure {
        return Err(error);
    }
    if frames.is_empty() {
        return Err(clip_error(reference, "has no frames".into()));
    }
    let backends = frames[0]
        .values
        .iter()
        .zip(&requests)
        .filter_map(|(v, r)| v.as_ref().map(|(_, b)| (r.metric.clone(), b.clone())))
        .collect();
    let per_frame: Vec<Vec<(String, f64)>> = frames
        .into_iter()
        .map(|f| {
            f.values
                .into_iter()
                .flatten()
                .flat_map(|(values, _)| values)
                .collect()
        })
        .collect();
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
        pooled,
        backends,
    })
}
