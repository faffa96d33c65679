//! `qscore.score_video`: one distorted clip against its reference, as `qscore score`
//! scores clips (Y4M, raw YUV with size and pixel format, anything ffmpeg reads).

use std::path::PathBuf;

use pyo3::{prelude::*, types::PyDict};
use qscore_host::{
    ScoreError,
    sched::Scheduler,
    video::{
        ClipOptions, Scaler, VideoGeometry, VideoJob, VideoScores, default_lockstep, open_video,
        score_videos,
    },
};

use crate::{
    errors::{exception, invalid, score_error},
    runtime,
    scorer::param_triples,
    wait,
};

/// Scores `distorted` against `reference` frame by frame; see `qscore.score_video`.
#[pyfunction]
#[pyo3(signature = (reference, distorted, metrics, per_frame=false, *, backend=None,
                    params=None, workers=None, size=None, pix_fmt=None, frames=None,
                    scale=None, subsample=1))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn score_video(
    py: Python<'_>,
    reference: PathBuf,
    distorted: PathBuf,
    metrics: Vec<String>,
    per_frame: bool,
    backend: Option<String>,
    params: Option<&Bound<'_, PyDict>>,
    workers: Option<usize>,
    size: Option<String>,
    pix_fmt: Option<String>,
    frames: Option<u64>,
    scale: Option<String>,
    subsample: u64,
) -> PyResult<Py<PyAny>> {
    if subsample == 0 {
        return Err(invalid(
            py,
            "subsample: give a whole number of frames, 1 or more",
        ));
    }
    let geometry = match (&size, &pix_fmt) {
        (Some(size), Some(pix_fmt)) => {
            Some(VideoGeometry::parse(size, pix_fmt).map_err(|e| invalid(py, e))?)
        }
        (None, None) => None,
        _ => return Err(invalid(py, "raw video needs both size= and pix_fmt=")),
    };
    let scale = scale
        .map(|s| Scaler::parse(&s))
        .transpose()
        .map_err(|e| invalid(py, format!("scale: {e}")))?;
    let job = VideoJob {
        metrics,
        params: param_triples(params)?,
        geometry,
        frames,
        deadline: None,
        reference_excerpts: Vec::new(),
        scale,
        subsample,
    };
    let outcome = wait::run(py, move || {
        let report = runtime::report();
        let options = runtime::scheduler_options(workers, backend.as_deref());
        let workers = options.cpu_workers;
        let scheduler = Scheduler::new(report.plugins.clone(), options)
            .map_err(|e| ScoreError::Pool(e.to_string()))?;
        let frame_bytes = open_video(&reference, geometry)?.geometry().frame_bytes();
        let clips = ClipOptions {
            backend: backend.clone(),
            workers,
            lockstep: default_lockstep(frame_bytes, workers),
        };
        let mut result = None;
        score_videos(
            &report,
            &scheduler,
            &job,
            &clips,
            &reference,
            std::slice::from_ref(&distorted),
            |_, scores| result = Some(scores),
        )?;
        result.unwrap_or(Err(ScoreError::Interrupted))
    })?;
    match outcome {
        Ok(scores) => video_dict(py, &scores, per_frame, subsample),
        Err(error) => Err(score_error(py, &error)),
    }
}

/// The mean of every value over the frames, `pooled` statistics, `frame_count`,
/// `backend_used` and, with `per_frame`, `frames` (one dict per frame).
fn video_dict(
    py: Python<'_>,
    scores: &VideoScores,
    per_frame: bool,
    subsample: u64,
) -> PyResult<Py<PyAny>> {
    let dict = PyDict::new(py);
    let pooled = PyDict::new(py);
    for (name, stats) in &scores.pooled {
        dict.set_item(name, stats.mean)?;
        let value = serde_json::to_value(stats)
            .map_err(|e| exception(py, crate::errors::Category::Other, &e.to_string()))?;
        pooled.set_item(name, runtime::to_python(py, &value)?)?;
    }
    dict.set_item("pooled", pooled)?;
    dict.set_item("frame_count", scores.frames.len())?;
    // Subsampled, as `qscore score --json` says it: which frames were scored.
    if subsample > 1 {
        dict.set_item("frame_numbers", scores.frame_numbers.clone())?;
    }
    let mut plugins: Vec<&str> = scores
        .backends
        .iter()
        .map(|(_, b)| b.plugin.as_str())
        .collect();
    plugins.dedup();
    dict.set_item("backend_used", plugins.join(","))?;
    if per_frame {
        let frames: Vec<Bound<'_, PyDict>> = scores
            .frames
            .iter()
            .map(|frame| {
                let d = PyDict::new(py);
                for (name, value) in frame {
                    d.set_item(name, value)?;
                }
                Ok(d)
            })
            .collect::<PyResult<_>>()?;
        dict.set_item("frames", frames)?;
    }
    Ok(dict.into_any().unbind())
}
