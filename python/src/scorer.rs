//! `qscore.Scorer`: metrics chosen once, a reference prepared once and compared with many
//! distorted images (arrays or files).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
};

use pyo3::{
    prelude::*,
    types::{PyDict, PyList},
};
use qscore_core::{OwnedImage, PixelFormat};
use qscore_host::{
    InputError, LoadReport, PairScores, ScoreError, ScoreJob, check_job, decode_image,
    decode_image_as, resolve_metrics, sched::Scheduler, score_decoded,
};

use crate::{
    errors::{invalid, score_error},
    images::{Input, input},
    runtime, wait,
};

/// Scores images with chosen metrics; see `qscore.Scorer` in `qscore/__init__.py`.
#[pyclass(module = "qscore._native", frozen)]
pub(crate) struct Scorer {
    inner: Arc<Inner>,
}

/// What a scorer's calls share (moved into the helper thread that runs each call).
struct Inner {
    report: Arc<LoadReport>,
    scheduler: Scheduler,
    job: ScoreJob,
    /// Reference geometries (width, height, format) the job was checked for: a backend
    /// for every metric, parameters accepted. Checked once each, not once per call.
    checked: Mutex<Vec<(u32, u32, PixelFormat)>>,
    /// Held for a whole call: the scheduler hands out whichever comparison finished, so
    /// two calls at once on one scorer would take each other's results.
    calls: Mutex<()>,
}

impl Inner {
    fn check(
        &self,
        label: &Path,
        image: &OwnedImage,
        comparisons: usize,
    ) -> Result<(), ScoreError> {
        let geometry = (image.width, image.height, image.format);
        let mut checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
        if !checked.contains(&geometry) {
            check_job(
                &self.report,
                &self.scheduler,
                &self.job,
                label,
                image,
                comparisons,
            )?;
            checked.push(geometry);
        }
        Ok(())
    }
}

/// Metric names: one string (commas allowed) or a list of strings.
fn metric_names(metrics: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let names: Vec<String> = match metrics.extract::<String>() {
        Ok(text) => text.split(',').map(|s| s.trim().to_owned()).collect(),
        Err(_) => metrics.extract()?,
    };
    let names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    if names.is_empty() {
        return Err(invalid(metrics.py(), "metrics: name at least one metric"));
    }
    Ok(names)
}

/// Parameters as `{"metric.key": value}` or `{"metric": {"key": value}}`; values are
/// passed as their `str()`.
pub(crate) fn param_triples(
    params: Option<&Bound<'_, PyDict>>,
) -> PyResult<Vec<(String, String, String)>> {
    let mut triples = Vec::new();
    let Some(params) = params else {
        return Ok(triples);
    };
    let py = params.py();
    for (key, value) in params.iter() {
        let key: String = key.extract()?;
        if let Ok(inner) = value.cast::<PyDict>() {
            for (k, v) in inner.iter() {
                triples.push((key.clone(), k.extract()?, v.str()?.to_string()));
            }
        } else if let Some((metric, name)) = key.split_once('.') {
            triples.push((metric.to_owned(), name.to_owned(), value.str()?.to_string()));
        } else {
            return Err(invalid(
                py,
                format!(
                    "params: {key:?} is neither METRIC.KEY nor a metric with a dict of \
                     parameters"
                ),
            ));
        }
    }
    Ok(triples)
}

/// One distorted input, ready for `score_decoded`'s `load`.
enum Pending {
    Path(PathBuf),
    Image(Option<OwnedImage>),
}

#[pymethods]
impl Scorer {
    #[new]
    #[pyo3(signature = (metrics, backend=None, params=None, workers=None))]
    fn new(
        py: Python<'_>,
        metrics: &Bound<'_, PyAny>,
        backend: Option<String>,
        params: Option<&Bound<'_, PyDict>>,
        workers: Option<usize>,
    ) -> PyResult<Self> {
        let metrics = metric_names(metrics)?;
        let params = param_triples(params)?;
        let report = py.detach(runtime::report);
        resolve_metrics(&report, &metrics).map_err(|e| score_error(py, &e))?;
        if let Some(name) = backend.as_ref().filter(|n| report.plugin(n).is_none()) {
            let loaded: Vec<&str> = report
                .plugins
                .iter()
                .map(|p| p.identity().name.as_str())
                .collect();
            return Err(invalid(
                py,
                format!("backend: no plugin named {name:?} is loaded (loaded: {loaded:?})"),
            ));
        }
        let options = runtime::scheduler_options(workers, backend.as_deref());
        let scheduler = Scheduler::new(report.plugins.clone(), options).map_err(|e| {
            crate::errors::exception(py, crate::errors::Category::Other, &e.to_string())
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                report,
                scheduler,
                job: ScoreJob {
                    metrics,
                    backend,
                    params,
                },
                checked: Mutex::new(Vec::new()),
                calls: Mutex::new(()),
            }),
        })
    }

    /// The metric names asked for.
    #[getter]
    fn metrics(&self) -> Vec<String> {
        self.inner.job.metrics.clone()
    }

    /// How many comparisons found their reference already prepared, and how many prepared it.
    fn reference_counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (reused, prepared) = self.inner.scheduler.reference_counts();
        let counts = PyDict::new(py);
        counts.set_item("reused", reused)?;
        counts.set_item("prepared", prepared)?;
        Ok(counts)
    }

    /// Scores one distorted input against `reference`.
    fn score(
        &self,
        py: Python<'_>,
        reference: &Bound<'_, PyAny>,
        distorted: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let reference = input(reference, "reference")?;
        let distorted = vec![(PathBuf::from("distorted"), input(distorted, "distorted")?)];
        let mut results = self.run(py, reference, distorted)?;
        let result = results.pop().expect("one result");
        result
            .map_err(|e| score_error(py, &e))
            .and_then(|scores| scores_dict(py, &scores))
    }

    /// Scores every distorted input against `reference`, prepared once.
    #[pyo3(signature = (reference, distorted, errors="raise"))]
    fn score_many(
        &self,
        py: Python<'_>,
        reference: &Bound<'_, PyAny>,
        distorted: &Bound<'_, PyAny>,
        errors: &str,
    ) -> PyResult<Py<PyList>> {
        if !matches!(errors, "raise" | "return") {
            return Err(invalid(
                py,
                format!("errors: {errors:?} (use \"raise\" or \"return\")"),
            ));
        }
        let reference = input(reference, "reference")?;
        let mut items = Vec::new();
        for (index, item) in distorted.try_iter()?.enumerate() {
            let label = format!("distorted[{index}]");
            items.push((PathBuf::from(&label), input(&item?, &label)?));
        }
        let results = self.run(py, reference, items)?;
        let list = PyList::empty(py);
        for result in results {
            match result {
                Ok(scores) => list.append(scores_dict(py, &scores)?)?,
                Err(error) if errors == "return" => {
                    list.append(score_error(py, &error).into_value(py))?;
                }
                Err(error) => return Err(score_error(py, &error)),
            }
        }
        Ok(list.unbind())
    }
}

impl Scorer {
    /// Scores `distorted` (labelled) against `reference` without the GIL.
    fn run(
        &self,
        py: Python<'_>,
        reference: Input,
        distorted: Vec<(PathBuf, Input)>,
    ) -> PyResult<Vec<Result<PairScores, ScoreError>>> {
        let (labels, pending): (Vec<PathBuf>, Vec<Pending>) = distorted
            .into_iter()
            .map(|(label, item)| match item {
                Input::Path(path) => (path.clone(), Pending::Path(path)),
                Input::Image(image) => (label, Pending::Image(Some(image))),
            })
            .unzip();
        let inner = &self.inner;
        let outcome = wait::inline(py, move || {
            let _one_call = inner.calls.lock().unwrap_or_else(PoisonError::into_inner);
            let (label, image) = match reference {
                Input::Path(path) => match decode_image(&path) {
                    Ok(image) => (path, image),
                    Err(error) => return Err(ScoreError::Input(error)),
                },
                Input::Image(image) => (PathBuf::from("reference"), image),
            };
            let format = image.format;
            inner.check(&label, &image, labels.len())?;
            let mut pending = pending;
            let mut results: Vec<Option<Result<PairScores, ScoreError>>> =
                labels.iter().map(|_| None).collect();
            let mut emitted = 0;
            score_decoded(
                &inner.report,
                &inner.scheduler,
                &inner.job,
                &label,
                Arc::new(image),
                &labels,
                |index| match &mut pending[index] {
                    Pending::Path(path) => decode_image_as(path, format),
                    Pending::Image(image) => {
                        let image = image.take().expect("each image is loaded once");
                        if image.format == format {
                            Ok(image)
                        } else {
                            Err(InputError {
                                path: labels[index].clone(),
                                reason: format!(
                                    "is {} but the reference is {}; give both in one format",
                                    image.format, format
                                ),
                            })
                        }
                    }
                },
                // Results come in input order.
                |pair| {
                    results[emitted] = Some(pair.outcome);
                    emitted += 1;
                },
            )?;
            Ok(results
                .into_iter()
                .map(|r| r.unwrap_or(Err(ScoreError::Interrupted)))
                .collect::<Vec<_>>())
        })?;
        outcome.map_err(|e| score_error(py, &e))
    }
}

/// Named values, and `backend_used`: the plugin that scored them, or
/// `"metric=plugin,…"` when metrics ran on different plugins.
fn scores_dict(py: Python<'_>, scores: &PairScores) -> PyResult<Py<PyAny>> {
    let dict = PyDict::new(py);
    for (name, value) in &scores.values {
        dict.set_item(name, value)?;
    }
    let plugins: BTreeMap<&str, ()> = scores
        .backends
        .iter()
        .map(|(_, b)| (b.plugin.as_str(), ()))
        .collect();
    let backend = if plugins.len() == 1 {
        scores.backends[0].1.plugin.clone()
    } else {
        scores
            .backends
            .iter()
            .map(|(metric, b)| format!("{metric}={}", b.plugin))
            .collect::<Vec<_>>()
            .join(",")
    };
    dict.set_item("backend_used", backend)?;
    Ok(dict.into_any().unbind())
}
