//! Metrics that only a sequential clip session can score (libvmaf's VMAF keeps its own
//! temporal state): each distorted clip goes to one worker, which decodes both clips
//! once and pushes every frame, in order, to one clip session per such metric;
//! different clips run on different workers at the same time.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use qscore_core::{ClipScores, MemoryMode, TaskSpec};

use super::{
    FrameSource, VideoGeometry, VideoJob, VideoScores, pool, scale::open_distorted,
    score::score_video_group,
};
use crate::{
    Backend, InputError, LoadReport, MetricRequest, Plugin, ScoreError, resolve_metrics,
    sched::Scheduler, score::metric_params,
};

/// Where one clip-session metric runs.
#[derive(Debug, Clone)]
struct ClipRoute {
    request: MetricRequest,
    plugin: Arc<Plugin>,
    device: u32,
    backend: Backend,
}

/// The metrics of a job that go through clip sessions, each with its plugin and device.
#[derive(Debug, Clone, Default)]
pub struct ClipPlan {
    routes: Vec<ClipRoute>,
}

impl ClipPlan {
    /// Splits `job`'s metric names into those a plugin says need a clip session, each
    /// routed to the first plugin (in search order; only `backend` when given) and
    /// device offering it, and a job of the others, for frame-parallel scoring.
    pub fn split(
        report: &LoadReport,
        job: &VideoJob,
        backend: Option<&str>,
    ) -> Result<(Self, VideoJob), ScoreError> {
        // A metric goes to a clip session when the plugins that may run it offer it only
        // that way: a plugin that scores it frame by frame (the CPU plugin's own VMAF) is
        // preferred to one that needs the whole clip (libvmaf), unless `backend` names one.
        let offers = |metric: &str, clip: bool| {
            report
                .plugins
                .iter()
                .filter(|p| backend.is_none_or(|b| p.identity().name == b))
                .any(|plugin| {
                    plugin.devices().iter().any(|d| {
                        d.caps.iter().any(|c| c.metric.as_str() == metric)
                            && plugin.needs_clip(d.info.id, metric) == clip
                    })
                })
        };
        let sequential = |metric: &str| offers(metric, true) && !offers(metric, false);
        let (mut clip_names, mut frame_names) = (Vec::new(), Vec::new());
        for name in &job.metrics {
            let request = resolve_metrics(report, std::slice::from_ref(name))?;
            if request.iter().any(|r| sequential(&r.metric)) {
                clip_names.push(name.clone());
            } else {
                frame_names.push(name.clone());
            }
        }
        let mut routes = Vec::new();
        for request in resolve_metrics(report, &clip_names)? {
            let chosen = report
                .plugins
                .iter()
                .filter(|p| backend.is_none_or(|b| p.identity().name == b))
                .find_map(|plugin| {
                    plugin
                        .devices()
                        .iter()
                        .find(|d| plugin.needs_clip(d.info.id, &request.metric))
                        .map(|d| (plugin, d))
                });
            let Some((plugin, device)) = chosen else {
                return Err(ScoreError::NoBackend {
                    what: request.metric.clone(),
                    why: format!(
                        "it needs a clip session, and backend {:?} does not offer it",
                        backend.unwrap_or_default()
                    ),
                });
            };
            routes.push(ClipRoute {
                backend: Backend {
                    plugin: plugin.identity().name.clone(),
                    device: device.info.model.to_string(),
                },
                device: device.info.id,
                plugin: Arc::clone(plugin),
                request,
            });
        }
        let frame_job = VideoJob {
            metrics: frame_names,
            ..job.clone()
        };
        Ok((Self { routes }, frame_job))
    }

    /// Whether no metric needs a clip session.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// How clip-session metrics run, and how many clips of one reference are read in lock step.
#[derive(Debug, Clone, Default)]
pub struct ClipOptions {
    /// Use only this plugin.
    pub backend: Option<String>,
    /// Clips scored at once, one per thread (at least 1).
    pub workers: usize,
    /// Consecutive distorted clips of one reference scored by frame metrics in lock step
    /// (the reference read and prepared once for all of them): their decoders run at
    /// once, so this bounds the frames held (at least 1).
    pub lockstep: usize,
}

/// Scores every distorted clip: clip-session metrics first, all clips at once on up to
/// `options.workers` threads, then the frame-parallel metrics clip by clip through the
/// scheduler. `emit` gets each clip's result in input order; an error returned is one
/// that stops the whole job (an unknown metric, no backend).
pub fn score_videos(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &VideoJob,
    options: &ClipOptions,
    reference: &Path,
    distorted: &[PathBuf],
    mut emit: impl FnMut(&Path, Result<VideoScores, ScoreError>),
) -> Result<(), ScoreError> {
    let pairs: Vec<(&Path, &Path)> = distorted.iter().map(|d| (reference, d.as_path())).collect();
    score_video_pairs(report, scheduler, job, options, &pairs, |i, result| {
        emit(pairs[i].1, result);
    })
}

/// [`score_videos`] for pairs that need not share a reference (a batch's video rows):
/// `emit` gets each pair's index and result, in input order.
pub fn score_video_pairs(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &VideoJob,
    options: &ClipOptions,
    pairs: &[(&Path, &Path)],
    mut emit: impl FnMut(usize, Result<VideoScores, ScoreError>),
) -> Result<(), ScoreError> {
    let (plan, frame_job) = ClipPlan::split(report, job, options.backend.as_deref())?;
    let mut clip_results = if plan.is_empty() {
        Vec::new()
    } else {
        score_clips(&plan, job, pairs, options.workers)
    };
    let mut start = 0;
    while start < pairs.len() {
        // Consecutive clips of one reference go through the frame metrics together.
        let reference = pairs[start].0;
        let end = (start..pairs.len())
            .take(options.lockstep.max(1))
            .take_while(|&i| pairs[i].0 == reference)
            .last()
            .map_or(start + 1, |i| i + 1);
        let mut clips: Vec<Option<Result<VideoScores, ScoreError>>> = (start..end)
            .map(|i| {
                (!plan.is_empty()).then(|| {
                    std::mem::replace(&mut clip_results[i], Err(input_error(pairs[i].1, "taken")))
                })
            })
            .collect();
        // Clips that failed their clip-session metrics are not read again.
        let wanted: Vec<usize> = (start..end)
            .filter(|&i| !frame_job.metrics.is_empty() && !matches!(clips[i - start], Some(Err(_))))
            .collect();
        let paths: Vec<&Path> = wanted.iter().map(|&i| pairs[i].1).collect();
        let mut frames = if paths.is_empty() {
            Vec::new()
        } else {
            score_video_group(report, scheduler, &frame_job, reference, &paths)
        }
        .into_iter();
        for index in start..end {
            let clip = clips[index - start].take();
            let result = match clip {
                Some(Err(error)) => Err(error),
                Some(Ok(clip)) if frame_job.metrics.is_empty() => Ok(clip),
                Some(Ok(clip)) => {
                    next_result(&mut frames, pairs[index].1).map(|frames| merge(clip, frames))
                }
                None => next_result(&mut frames, pairs[index].1),
            };
            emit(index, result);
        }
        start = end;
    }
    Ok(())
}

/// The next result of a lock-step group, in the order its clips were given.
fn next_result(
    results: &mut impl Iterator<Item = Result<VideoScores, ScoreError>>,
    path: &Path,
) -> Result<VideoScores, ScoreError> {
    results
        .next()
        .unwrap_or_else(|| Err(input_error(path, "was not scored")))
}

/// Scores every (reference, distorted) pair with the plan's metrics, on up to `workers`
/// threads, one pair per thread at a time. Results come back in input order; a bad clip
/// fails only itself.
fn score_clips(
    plan: &ClipPlan,
    job: &VideoJob,
    pairs: &[(&Path, &Path)],
    workers: usize,
) -> Vec<Result<VideoScores, ScoreError>> {
    let results: Vec<Mutex<Option<Result<VideoScores, ScoreError>>>> =
        pairs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, pairs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(reference, path)) = pairs.get(index) else {
                        break;
                    };
                    let result = score_clip(plan, job, reference, path);
                    *results[index].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    results
        .into_iter()
        .zip(pairs)
        .map(|(slot, (_, path))| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or_else(|| Err(input_error(path, "was not scored: its worker stopped")))
        })
        .collect()
}

fn input_error(path: &Path, reason: impl Into<String>) -> ScoreError {
    ScoreError::Input(InputError {
        path: path.to_path_buf(),
        reason: reason.into(),
    })
}

/// `error`, or the time limit when it has passed: a decoder killed at the deadline fails
/// with a read error, and the deadline is the reason.
fn timed_out(job: &VideoJob, distorted: &Path, error: InputError) -> ScoreError {
    match job.deadline {
        Some(deadline) if deadline.passed() => deadline.error(distorted),
        _ => error.into(),
    }
}

/// A reference and a distorted clip, open, and their common geometry.
type OpenPair = (Box<dyn FrameSource>, Box<dyn FrameSource>, VideoGeometry);

/// Both clips opened and checked to agree in geometry.
fn open_pair(job: &VideoJob, reference: &Path, distorted: &Path) -> Result<OpenPair, ScoreError> {
    let deadline = job.deadline.map(|d| d.at);
    let ref_source = super::score::open_reference(job, reference, deadline)
        .map_err(|e| timed_out(job, distorted, e))?;
    let scale = job.scale.map(|scaler| scaler.to(ref_source.geometry()));
    let dist_source = open_distorted(distorted, job.geometry, scale, deadline)
        .map_err(|e| timed_out(job, distorted, e))?;
    let (rg, dg) = (ref_source.geometry(), dist_source.geometry());
    if rg != dg {
        return Err(input_error(
            distorted,
            super::score::geometry_mismatch(job, dg, reference, rg),
        ));
    }
    Ok((ref_source, dist_source, rg))
}

/// One distorted clip through every clip-session metric of the plan.
fn score_clip(
    plan: &ClipPlan,
    job: &VideoJob,
    reference: &Path,
    distorted: &Path,
) -> Result<VideoScores, ScoreError> {
    let (mut ref_source, mut dist_source, geometry) = open_pair(job, reference, distorted)?;
    let context = |route: &ClipRoute| {
        format!(
            "{}: {} on {}",
            distorted.display(),
            route.request.metric,
            route.backend.plugin
        )
    };
    let mut clips = Vec::with_capacity(plan.routes.len());
    for route in &plan.routes {
        let mut spec = TaskSpec::new(
            &route.request.metric,
            geometry.width,
            geometry.height,
            geometry.format,
            MemoryMode::FULL,
        );
        spec.params = metric_params(&job.params, &route.request.metric).into();
        let clip = route
            .plugin
            .open_clip(route.device, &spec)
            .map_err(|error| ScoreError::Plugin {
                context: context(route),
                error,
            })?;
        clips.push(clip);
    }
    let mut index: u64 = 0;
    while job.frames.is_none_or(|limit| index < limit) {
        if let Some(deadline) = job.deadline
            && deadline.passed()
        {
            return Err(deadline.error(distorted));
        }
        if crate::interrupt::requested() {
            return Err(ScoreError::Interrupted);
        }
        let read = ref_source
            .next_frame()
            .and_then(|r| Ok((r, dist_source.next_frame()?)))
            .map_err(|e| timed_out(job, distorted, e))?;
        let (r, d) = match read {
            (Some(r), Some(d)) => (r, d),
            (None, None) => break,
            _ if job.frames.is_some() => break,
            (None, Some(_)) => {
                return Err(input_error(
                    distorted,
                    format!(
                        "has more frames than the reference {} ({index})",
                        reference.display()
                    ),
                ));
            }
            (Some(_), None) => {
                return Err(input_error(
                    distorted,
                    format!(
                        "has {index} frames, fewer than the reference {}",
                        reference.display()
                    ),
                ));
            }
        };
        for (clip, route) in clips.iter_mut().zip(&plan.routes) {
            r.with_view(|rv| d.with_view(|dv| clip.push(rv, dv)))
                .map_err(|error| ScoreError::Plugin {
                    context: format!("{}: frame {index}", context(route)),
                    error,
                })?;
        }
        index += 1;
    }
    if index == 0 {
        return Err(input_error(reference, "has no frames"));
    }
    let mut finished = Vec::with_capacity(clips.len());
    for (clip, route) in clips.into_iter().zip(&plan.routes) {
        let scores = clip.finish().map_err(|error| ScoreError::Plugin {
            context: context(route),
            error,
        })?;
        finished.push((route, scores));
    }
    Ok(assemble(&finished, job, index))
}

/// Per-frame values of the frames `job` scores, in request order, pooled per value name.
/// `scores` reports the plugin's own mean where it gives one (libvmaf pools its per-frame
/// values itself) of every frame, so not when only some are scored.
fn assemble(finished: &[(&ClipRoute, ClipScores)], job: &VideoJob, frames: u64) -> VideoScores {
    let frame_numbers: Vec<u64> = (0..frames).filter(|&i| job.scores_frame(i)).collect();
    let keep = |route: &ClipRoute, name: &str| {
        route
            .request
            .only
            .as_ref()
            .is_none_or(|only| only.iter().any(|o| o == name))
    };
    let per_frame: Vec<Vec<(String, f64)>> = frame_numbers
        .iter()
        .map(|&i| {
            finished
                .iter()
                .flat_map(|(route, scores)| {
                    scores
                        .frames
                        .get(i as usize)
                        .into_iter()
                        .flatten()
                        .filter(|v| keep(route, v.name.as_str()))
                        .map(|v| (v.name.to_string(), v.value))
                })
                .collect()
        })
        .collect();
    let mut pooled = Vec::new();
    for (route, scores) in finished {
        let names = scores
            .frames
            .first()
            .into_iter()
            .flatten()
            .filter(|v| keep(route, v.name.as_str()));
        for named in names {
            let values: Vec<f64> = frame_numbers
                .iter()
                .filter_map(|&i| scores.frames.get(i as usize))
                .filter_map(|f| f.iter().find(|v| v.name == named.name).map(|v| v.value))
                .collect();
            if let Some(mut stats) = pool(&values) {
                if let Some(own) = scores.pooled.iter().find(|v| v.name == named.name)
                    && job.subsample <= 1
                {
                    stats.mean = own.value;
                }
                pooled.push((named.name.to_string(), stats));
            }
        }
    }
    VideoScores {
        frames: per_frame,
        frame_numbers,
        pooled,
        backends: finished
            .iter()
            .map(|(route, _)| (route.request.metric.clone(), route.backend.clone()))
            .collect(),
    }
}

/// Joins the clip-session results of one clip with its frame-parallel results: values
/// of both, clip-session metrics first.
fn merge(clip: VideoScores, frames: VideoScores) -> VideoScores {
    VideoScores {
        frames: clip
            .frames
            .into_iter()
            .zip(frames.frames)
            .map(|(mut a, b)| {
                a.extend(b);
                a
            })
            .collect(),
        frame_numbers: clip.frame_numbers,
        pooled: clip.pooled.into_iter().chain(frames.pooled).collect(),
        backends: clip.backends.into_iter().chain(frames.backends).collect(),
    }
}
