//! Scoring distorted images against one reference: the reference is decoded
//! and prepared once per metric, then every distorted image is compared with it.

use std::{path::Path, sync::Arc};

use qscore_core::{BackendFamily, ImageView, MemoryMode, OwnedImage, Param, TaskSpec};

use crate::{
    InputError, LoadReport, Plugin, PreparedRef, ScoreError, Session,
    decode::{decode_image, decode_image_as},
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
    /// Named values in the order asked, or why this input failed.
    pub outcome: Result<Vec<(String, f64)>, ScoreError>,
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

/// Picks one plugin and device that runs every request on `image`. The CPU plugin
/// (the numerical reference) is preferred; `--backend` picks another.
fn choose_backend(
    report: &LoadReport,
    job: &ScoreJob,
    requests: &[MetricRequest],
    image: &OwnedImage,
) -> Result<(Arc<Plugin>, u32), ScoreError> {
    let mut refusals = Vec::new();
    let mut candidates: Vec<&Arc<Plugin>> = report
        .plugins
        .iter()
        .filter(|p| {
            job.backend
                .as_deref()
                .is_none_or(|b| p.identity().name == b)
        })
        .collect();
    candidates.sort_by_key(|p| p.identity().family != BackendFamily::CPU);
    for plugin in candidates {
        for device in plugin.devices() {
            let missing: Vec<String> = requests
                .iter()
                .filter_map(|r| {
                    let caps = plugin.metric_caps(device.info.id, &r.metric);
                    let why = match caps {
                        None => "not offered",
                        Some(c) if !c.formats.contains(&image.format) => "format not accepted",
                        Some(c) if !c.modes.contains(&MemoryMode::FULL) => "no full mode",
                        Some(c) if image.width > c.max_width || image.height > c.max_height => {
                            "image too large"
                        }
                        Some(_) => return None,
                    };
                    Some(format!("{} {why}", r.metric))
                })
                .collect();
            if missing.is_empty() {
                return Ok((Arc::clone(plugin), device.info.id));
            }
            refusals.push(format!(
                "{}/{}: {}",
                plugin.identity().name,
                device.info.id,
                missing.join(", ")
            ));
        }
        if plugin.devices().is_empty() {
            refusals.push(format!(
                "{}: no devices ({})",
                plugin.identity().name,
                plugin.device_note()
            ));
        }
    }
    if let Some(name) = job.backend.as_ref().filter(|n| report.plugin(n).is_none()) {
        refusals.push(format!("no plugin named {name:?} is loaded"));
    }
    let what: Vec<_> = requests.iter().map(|r| r.metric.as_str()).collect();
    Err(ScoreError::NoBackend {
        what: format!(
            "{} on {}x{} {}",
            what.join(","),
            image.width,
            image.height,
            image.format
        ),
        why: if refusals.is_empty() {
            "no plugin loaded".into()
        } else {
            refusals.join("; ")
        },
    })
}

/// One open session with its prepared reference.
struct Prepared {
    request: MetricRequest,
    session: Session,
    reference: PreparedRef,
}

fn plugin_error(context: String, error: qscore_core::Error) -> ScoreError {
    ScoreError::Plugin { context, error }
}

/// Scores every distorted file against `reference`, calling `emit` as each finishes.
///
/// Returns the backend used, or the error that stopped the whole job (reference
/// unusable, unknown metric, no backend). A bad distorted input is reported
/// through `emit` and does not stop the others.
pub fn score_images<'a>(
    report: &LoadReport,
    job: &ScoreJob,
    reference: &Path,
    distorted: &'a [impl AsRef<Path>],
    mut emit: impl FnMut(&Backend, PairResult<'a>),
) -> Result<Backend, ScoreError> {
    let requests = resolve_metrics(report, &job.metrics)?;
    let reference_image = decode_image(reference)?;
    let (plugin, device) = choose_backend(report, job, &requests, &reference_image)?;
    let backend = Backend {
        plugin: plugin.identity().name.clone(),
        device: plugin
            .devices()
            .iter()
            .find(|d| d.info.id == device)
            .map(|d| d.info.model.to_string())
            .unwrap_or_default(),
    };
    let mut prepared = Vec::new();
    for request in requests {
        let mut spec = TaskSpec::new(
            &request.metric,
            reference_image.width,
            reference_image.height,
            reference_image.format,
            MemoryMode::FULL,
        );
        spec.params = job
            .params
            .iter()
            .filter(|(metric, _, _)| *metric == request.metric)
            .map(|(_, key, value)| Param {
                key: key.as_str().into(),
                value: value.as_str().into(),
            })
            .collect();
        let context = || {
            format!(
                "{}: {} on {}",
                reference.display(),
                request.metric,
                backend.plugin
            )
        };
        let mut session = plugin
            .open_session(device, &spec)
            .map_err(|e| plugin_error(context(), e))?;
        let prepared_ref = reference_image
            .with_view(|view| session.prepare(view))
            .map_err(|e| plugin_error(context(), e))?;
        prepared.push(Prepared {
            request,
            session,
            reference: prepared_ref,
        });
    }
    for path in distorted {
        let path = path.as_ref();
        let outcome = score_one(reference, &reference_image, path, &mut prepared, &backend);
        emit(
            &backend,
            PairResult {
                distorted: path,
                outcome,
            },
        );
    }
    Ok(backend)
}

fn score_one(
    reference_path: &Path,
    reference: &OwnedImage,
    path: &Path,
    prepared: &mut [Prepared],
    backend: &Backend,
) -> Result<Vec<(String, f64)>, ScoreError> {
    let image = decode_image_as(path, reference.format)?;
    if (image.width, image.height) != (reference.width, reference.height) {
        return Err(InputError {
            path: path.to_path_buf(),
            reason: format!(
                "is {}x{} but the reference {} is {}x{}",
                image.width,
                image.height,
                reference_path.display(),
                reference.width,
                reference.height
            ),
        }
        .into());
    }
    image.with_view(|view| {
        let mut values = Vec::new();
        for p in prepared.iter_mut() {
            values.extend(compare(p, view, path, backend)?);
        }
        Ok(values)
    })
}

fn compare(
    p: &mut Prepared,
    view: &ImageView<'_>,
    path: &Path,
    backend: &Backend,
) -> Result<Vec<(String, f64)>, ScoreError> {
    let context = || {
        format!(
            "{}: {} on {}",
            path.display(),
            p.request.metric,
            backend.plugin
        )
    };
    let values = p
        .session
        .compare(p.reference, view)
        .map_err(|e| plugin_error(context(), e))?;
    let mut kept = Vec::new();
    for v in values {
        let name = v.name.into_string();
        if p.request
            .only
            .as_ref()
            .is_some_and(|only| !only.contains(&name))
        {
            continue;
        }
        if v.value.is_nan() {
            return Err(plugin_error(
                context(),
                qscore_core::Error::Internal(format!("{name} is NaN")),
            ));
        }
        kept.push((name, v.value));
    }
    Ok(kept)
}
