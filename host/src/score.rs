//! Scoring distorted images against one reference through the scheduler: the
//! reference is decoded and hashed once, every (distorted image, metric) becomes a
//! task, and tasks sharing the reference run where it is already prepared.

use std::{path::Path, sync::Arc};

use qscore_core::{OwnedImage, Param};

use crate::{
    InputError, LoadReport, ScoreError,
    decode::{decode_image, decode_image_as},
    sched::{ChoiceTask, Reference, Scheduler, ScoreRequest},
};

/// A metric to run and which of its outputs to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRequest {
    /// Metric id.
    pub metric: String,
    /// Output names to keep; `None` keeps every output the metric returns.
    pub only: Option<Vec<String>>,
}

/// Which plugin and device scored a result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Backend {
    /// Plugin name.
    pub plugin: String,
    /// Device description.
    pub device: String,
}

/// What a scoring job asks for.
#[derive(Debug, Clone, Default)]
pub struct ScoreJob {
    /// Metric or output names, e.g. `psnr`, `butteraugli_pnorm3`.
    pub metrics: Vec<String>,
    /// Use only the plugin with this name.
    pub backend: Option<String>,
    /// Metric parameters: (metric id, key, value).
    pub params: Vec<(String, String, String)>,
}

/// The outcome for one distorted input.
#[derive(Debug)]
pub struct PairResult<'a> {
    /// The distorted file.
    pub distorted: &'a Path,
    /// Named values in the order asked, with the backend of each metric, or why this input failed.
    pub outcome: Result<PairScores, ScoreError>,
}

/// The values of one distorted input.
#[derive(Debug, Clone, Default)]
pub struct PairScores {
    /// Named values in the order asked.
    pub values: Vec<(String, f64)>,
    /// Which backend ran each metric, in the order asked.
    pub backends: Vec<(String, Backend)>,
}

/// Maps requested names to metrics: a metric id keeps all its outputs, an output name keeps just itself.
pub fn resolve_metrics(
    report: &LoadReport,
    names: &[String],
) -> Result<Vec<MetricRequest>, ScoreError> {
    let all_caps: Vec<_> = report
        .plugins
        .iter()
        .flat_map(|p| p.devices().iter().flat_map(|d| d.caps.iter()))
        .collect();
    let mut requests: Vec<MetricRequest> = Vec::new();
    for name in names {
        let by_id = all_caps.iter().find(|c| c.metric.as_str() == name);
        let by_output = all_caps
            .iter()
            .find(|c| c.outputs.iter().any(|o| o.as_str() == name));
        let (metric, only) = match (by_id, by_output) {
            (Some(c), _) => (c.metric.to_string(), None),
            (None, Some(c)) => (c.metric.to_string(), Some(name.clone())),
            (None, None) => {
                let mut available: Vec<String> = all_caps
                    .iter()
                    .flat_map(|c| {
                        std::iter::once(c.metric.to_string())
                            .chain(c.outputs.iter().map(|o| o.to_string()))
                    })
                    .collect();
                available.sort();
                available.dedup();
                let available = if available.is_empty() {
                    "none: no plugin loaded; see `qscore plugins`".to_owned()
                } else {
                    available.join(", ")
                };
                return Err(ScoreError::UnknownMetric {
                    name: name.clone(),
                    available,
                });
            }
        };
        match requests.iter_mut().find(|r| r.metric == metric) {
            Some(existing) => match (&mut existing.only, only) {
                (Some(list), Some(output)) => list.push(output),
                (slot, None) => *slot = None,
                (None, Some(_)) => {}
            },
            None => requests.push(MetricRequest {
                metric,
                only: only.map(|o| vec![o]),
            }),
        }
    }
    Ok(requests)
}

/// One metric's kept values and the backend that produced them.
pub(crate) type MetricScores = (Vec<(String, f64)>, Backend);

/// The values of `scored` that `request` asked for, and who produced them.
pub(crate) fn kept_values(request: &MetricRequest, scored: crate::sched::Scored) -> MetricScores {
    let kept = scored
        .values
        .into_iter()
        .map(|v| (v.name.into_string(), v.value))
        .filter(|(name, _)| request.only.as_ref().is_none_or(|only| only.contains(name)))
        .collect();
    let backend = Backend {
        plugin: scored.plugin,
        device: scored.device_name,
    };
    (kept, backend)
}

/// What is known so far about one distorted input.
#[derive(Debug)]
enum Slot {
    Waiting {
        remaining: usize,
        metrics: Vec<Option<MetricScores>>,
    },
    Failed(ScoreError),
}

fn params_for(job: &ScoreJob, metric: &str) -> Vec<Param> {
    metric_params(&job.params, metric)
}

/// The parameters of `metric` among (metric, key, value) triples.
pub(crate) fn metric_params(params: &[(String, String, String)], metric: &str) -> Vec<Param> {
    params
        .iter()
        .filter(|(m, _, _)| m == metric)
        .map(|(_, key, value)| Param {
            key: key.as_str().into(),
            value: value.as_str().into(),
        })
        .collect()
}

/// The job's metrics, which must all compare images (not video frames with their
/// neighbours).
fn image_requests(report: &LoadReport, job: &ScoreJob) -> Result<Vec<MetricRequest>, ScoreError> {
    let requests = resolve_metrics(report, &job.metrics)?;
    if let Some(request) = requests
        .iter()
        .find(|r| crate::temporal::needs(report, &r.metric).temporal())
    {
        return Err(ScoreError::TemporalOnImages {
            metric: request.metric.clone(),
        });
    }
    Ok(requests)
}

/// Scores every distorted file against `reference`, calling `emit` for each in input order.
///
/// Returns the error that stopped the whole job (reference unusable, unknown metric, no
/// backend for a metric). A bad distorted input is reported through `emit` and does not
/// stop the others.
pub fn score_images<'a>(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &ScoreJob,
    reference: &Path,
    distorted: &'a [impl AsRef<Path>],
    emit: impl FnMut(PairResult<'a>),
) -> Result<(), ScoreError> {
    image_requests(report, job)?;
    let image = Arc::new(decode_image(reference)?);
    let format = image.format;
    check_job(report, scheduler, job, reference, &image, distorted.len())?;
    score_decoded(
        report,
        scheduler,
        job,
        reference,
        image,
        distorted,
        |index| decode_image_as(distorted[index].as_ref(), format),
        emit,
    )
}

/// Checks that every metric of `job` has a backend for `image` (the reference, named
/// `reference`, compared `comparisons` times) and that the first choice accepts the job's
/// parameters, so that a bad request fails once rather than once per input.
pub fn check_job(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &ScoreJob,
    reference: &Path,
    image: &OwnedImage,
    comparisons: usize,
) -> Result<(), ScoreError> {
    let comparisons = u32::try_from(comparisons).unwrap_or(u32::MAX);
    for request in &image_requests(report, job)? {
        let task = ChoiceTask::for_image(&request.metric, image, comparisons);
        let params = params_for(job, &request.metric);
        let ranking = scheduler.explain(&task, &params);
        if ranking.ranked.is_empty() {
            let mut why: Vec<String> = ranking
                .considered
                .iter()
                .map(|c| format!("{}/{} {}: {}", c.plugin, c.device, c.mode, c.reason))
                .collect();
            if let Some(name) = job.backend.as_ref().filter(|n| report.plugin(n).is_none()) {
                why.push(format!("no plugin named {name:?} is loaded"));
            }
            return Err(ScoreError::NoBackend {
                what: format!(
                    "{} on {}x{} {}",
                    request.metric, image.width, image.height, image.format
                ),
                why: if why.is_empty() {
                    "no plugin loaded".into()
                } else {
                    why.join("; ")
                },
            });
        }
        // Bad parameters fail the whole command now rather than every input later.
        let top = &ranking.ranked[0];
        if let Some(plugin) = report.plugin(&top.plugin) {
            let mut spec = qscore_core::TaskSpec::new(
                &request.metric,
                image.width,
                image.height,
                image.format,
                top.mode,
            );
            spec.params = params.into();
            if let Err(error @ qscore_core::Error::InvalidInput(_)) =
                plugin.open_session(top.device, &spec)
            {
                return Err(ScoreError::Plugin {
                    context: format!(
                        "{}: {} on {}",
                        reference.display(),
                        request.metric,
                        top.plugin
                    ),
                    error,
                });
            }
        }
    }
    Ok(())
}

/// [`score_images`] for images already in memory (a program's own frames): `reference`
/// and `distorted` label them in results and messages, and `load(i)` gives distorted image
/// `i` (in the reference's format) when its turn comes, so that only the images in flight
/// are held at once. A distorted image whose size differs fails alone. Call [`check_job`]
/// first (once per size and format of reference), as [`score_images`] does.
#[allow(clippy::too_many_arguments)]
pub fn score_decoded<'a>(
    report: &LoadReport,
    scheduler: &Scheduler,
    job: &ScoreJob,
    reference: &Path,
    image: Arc<OwnedImage>,
    distorted: &'a [impl AsRef<Path>],
    mut load: impl FnMut(usize) -> Result<OwnedImage, InputError>,
    mut emit: impl FnMut(PairResult<'a>),
) -> Result<(), ScoreError> {
    let requests = image_requests(report, job)?;
    let comparisons = u32::try_from(distorted.len()).unwrap_or(u32::MAX);
    let shared_reference = Reference::new(Arc::clone(&image));
    let metrics = requests.len();
    let mut slots: Vec<Option<Slot>> = (0..distorted.len()).map(|_| None).collect();
    let mut next = 0;
    let mut flush = |slots: &mut Vec<Option<Slot>>, next: &mut usize| {
        while *next < slots.len() {
            let done = match &slots[*next] {
                Some(Slot::Failed(_)) => true,
                Some(Slot::Waiting { remaining, .. }) => *remaining == 0,
                None => false,
            };
            if !done {
                break;
            }
            let outcome = match slots[*next].take() {
                Some(Slot::Failed(error)) => Err(error),
                Some(Slot::Waiting { metrics, .. }) => {
                    let mut scores = PairScores::default();
                    for (request, entry) in requests.iter().zip(metrics) {
                        if let Some((values, backend)) = entry {
                            scores.values.extend(values);
                            scores.backends.push((request.metric.clone(), backend));
                        }
                    }
                    Ok(scores)
                }
                None => unreachable!("checked above"),
            };
            emit(PairResult {
                distorted: distorted[*next].as_ref(),
                outcome,
            });
            *next += 1;
        }
    };
    let collect = |outcome: crate::sched::ScoreOutcome, slots: &mut Vec<Option<Slot>>| {
        let index = (outcome.tag as usize) / metrics;
        let metric = (outcome.tag as usize) % metrics;
        let path = distorted[index].as_ref();
        let Some(Slot::Waiting {
            remaining,
            metrics: values,
        }) = &mut slots[index]
        else {
            return;
        };
        match outcome.result {
            Ok(scored) => {
                values[metric] = Some(kept_values(&requests[metric], scored));
                *remaining -= 1;
            }
            Err(failure) => {
                slots[index] = Some(Slot::Failed(ScoreError::Scheduling {
                    context: format!("{}: {}", path.display(), requests[metric].metric),
                    failure,
                }));
            }
        }
    };
    let mut checked = std::time::Instant::now();
    for (index, path) in distorted.iter().enumerate() {
        let path = path.as_ref();
        if checked.elapsed() >= crate::interrupt::CHECK_EVERY {
            crate::interrupt::check_now();
            checked = std::time::Instant::now();
        }
        if crate::interrupt::requested() {
            slots[index] = Some(Slot::Failed(ScoreError::Interrupted));
            continue;
        }
        match load(index).and_then(|d| same_size(reference, &image, path, d)) {
            Err(error) => slots[index] = Some(Slot::Failed(error.into())),
            Ok(decoded) => {
                slots[index] = Some(Slot::Waiting {
                    remaining: metrics,
                    metrics: vec![None; metrics],
                });
                let decoded = Arc::new(decoded);
                for (m, request) in requests.iter().enumerate() {
                    let submitted = scheduler.submit(ScoreRequest {
                        reference: shared_reference.clone(),
                        distorted: Arc::clone(&decoded),
                        neighbours: None,
                        metric: request.metric.clone(),
                        params: params_for(job, &request.metric),
                        references: 1,
                        comparisons,
                        tag: (index * metrics + m) as u64,
                    });
                    if let Err(error) = submitted {
                        slots[index] = Some(Slot::Failed(ScoreError::Pool(error.to_string())));
                        break;
                    }
                }
            }
        }
        while let Some(outcome) = scheduler.poll() {
            collect(outcome, &mut slots);
        }
        flush(&mut slots, &mut next);
    }
    while let Some(outcome) = next_outcome(scheduler) {
        collect(outcome, &mut slots);
        flush(&mut slots, &mut next);
    }
    flush(&mut slots, &mut next);
    Ok(())
}

/// The next finished comparison (`None` when nothing is pending), calling this thread's
/// interruption check while it waits (`interrupt::checking`).
fn next_outcome(scheduler: &Scheduler) -> Option<crate::sched::ScoreOutcome> {
    if !crate::interrupt::has_check() {
        return scheduler.poll_blocking();
    }
    loop {
        if let Some(outcome) = scheduler.poll_timeout(crate::interrupt::CHECK_EVERY) {
            return Some(outcome);
        }
        if scheduler.pending() == 0 {
            return None;
        }
        crate::interrupt::check_now();
    }
}

fn same_size(
    reference_path: &Path,
    reference: &qscore_core::OwnedImage,
    path: &Path,
    image: qscore_core::OwnedImage,
) -> Result<qscore_core::OwnedImage, InputError> {
    if (image.width, image.height) == (reference.width, reference.height) {
        return Ok(image);
    }
    Err(InputError {
        path: path.to_path_buf(),
        reason: format!(
            "is {}x{} but the reference {} is {}x{}",
            image.width,
            image.height,
            reference_path.display(),
            reference.width,
            reference.height
        ),
    })
}
