//! `qscore.batch`: the batch driver of `qscore batch` (journal, resume, failure ledger,
//! CSV/JSONL/Parquet output), returning its summary.

use std::{path::PathBuf, time::Duration};

use pyo3::{prelude::*, types::PyDict};
use qscore_host::{
    batch::{BatchOptions, Shard, journal_path, ledger_path, run_batch},
    sched::Scheduler,
    video::Scaler,
};

use crate::{
    errors::{Category, batch_error, exception, invalid},
    runtime,
    scorer::param_triples,
    wait,
};

/// Scores a manifest into `out`; see `qscore.batch`.
#[pyfunction]
#[pyo3(signature = (manifest, out, metrics=None, *, params=None, backend=None, workers=None,
                    max_concurrent_decodes=None, task_timeout=None, retry_failed=false,
                    shard=None, quiet=true, scale=None, subsample=1))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn batch(
    py: Python<'_>,
    manifest: PathBuf,
    out: PathBuf,
    metrics: Option<Vec<String>>,
    params: Option<&Bound<'_, PyDict>>,
    backend: Option<String>,
    workers: Option<usize>,
    max_concurrent_decodes: Option<usize>,
    task_timeout: Option<f64>,
    retry_failed: bool,
    shard: Option<String>,
    quiet: bool,
    scale: Option<String>,
    subsample: u64,
) -> PyResult<Py<PyAny>> {
    if subsample == 0 {
        return Err(invalid(
            py,
            "subsample: give a whole number of frames, 1 or more",
        ));
    }
    let task_timeout = match task_timeout {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            return Err(invalid(
                py,
                "task_timeout: give a positive number of seconds",
            ));
        }
        other => other.map(Duration::from_secs_f64),
    };
    let shard = shard
        .map(|s| Shard::parse(&s))
        .transpose()
        .map_err(|e| invalid(py, format!("shard: {e}")))?;
    let scale = scale
        .map(|s| Scaler::parse(&s))
        .transpose()
        .map_err(|e| invalid(py, format!("scale: {e}")))?;
    let params = param_triples(params)?;
    let options = runtime::scheduler_options(workers, backend.as_deref());
    let batch = BatchOptions {
        params,
        task_timeout,
        retry_failed,
        shard,
        quiet,
        scale,
        subsample,
        ..BatchOptions::new(
            manifest,
            out.clone(),
            metrics.unwrap_or_default(),
            options.cpu_workers,
            max_concurrent_decodes,
            backend,
        )
    };
    let outcome = wait::run(py, move || {
        let report = runtime::report();
        let scheduler =
            Scheduler::new(report.plugins.clone(), options).map_err(|e| e.to_string())?;
        Ok::<_, String>(run_batch(&report, &scheduler, &batch))
    })?;
    let summary = match outcome {
        Err(message) => return Err(exception(py, Category::Other, &message)),
        Ok(Err(error)) => return Err(batch_error(py, &error)),
        Ok(Ok(summary)) => summary,
    };
    let dict = PyDict::new(py);
    dict.set_item("out", &out)?;
    dict.set_item("journal", journal_path(&out))?;
    dict.set_item("failures", ledger_path(&out))?;
    dict.set_item("scored", summary.scored)?;
    dict.set_item("failed", summary.failed)?;
    dict.set_item("skipped_done", summary.skipped_done)?;
    dict.set_item("skipped_failed", summary.skipped_failed)?;
    dict.set_item("duplicates", summary.duplicates)?;
    dict.set_item("not_selected", summary.not_selected)?;
    dict.set_item("output_rows", summary.output_rows)?;
    dict.set_item("failing", summary.failing)?;
    dict.set_item("seconds", summary.elapsed.as_secs_f64())?;
    dict.set_item("backends", summary.backends.clone())?;
    dict.set_item("references_reused", summary.reference_hits)?;
    dict.set_item("references_prepared", summary.reference_misses)?;
    Ok(dict.into_any().unbind())
}
