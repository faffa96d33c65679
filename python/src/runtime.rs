//! The plugins of this process, loaded once: the CPU plugin built in, the GPU plugin files
//! shipped inside the package, and the folders of `QSCORE_PLUGIN_PATH`.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use pyo3::{prelude::*, types::PyAny};
use qscore_host::{LoadReport, PluginSearch, load_plugins, sched::SchedulerOptions};

static SHIPPED: OnceLock<PathBuf> = OnceLock::new();
static REPORT: OnceLock<Arc<LoadReport>> = OnceLock::new();

/// Names the folder of the plugin files shipped in the package (called once by
/// `qscore/__init__.py` on import).
#[pyfunction]
pub(crate) fn configure(plugin_dir: PathBuf) {
    let _ = SHIPPED.set(plugin_dir);
}

/// The loaded plugins; the first call loads them. Plugins run in this process: worker
/// processes (`qscore --isolate`) run the `qscore` executable, which a wheel does not have.
pub(crate) fn report() -> Arc<LoadReport> {
    Arc::clone(REPORT.get_or_init(|| {
        qscore_host::logging::init(qscore_host::logging::level(0));
        let mut search = PluginSearch::standard(&[]);
        search.shipped = Some(SHIPPED.get().cloned().into_iter().collect());
        Arc::new(load_plugins(&search))
    }))
}

/// Scheduler options for a call: `workers` CPU threads (default: every logical CPU) and
/// only `backend`, if named.
pub(crate) fn scheduler_options(workers: Option<usize>, backend: Option<&str>) -> SchedulerOptions {
    let mut options = SchedulerOptions::default();
    if let Some(workers) = workers {
        options.cpu_workers = workers.max(1);
    }
    options.backend = backend.map(str::to_owned);
    options
}

/// Converts a JSON document into Python objects (through the standard `json` module, so
/// that numbers, nulls and nesting come out exactly as `qscore … --json` prints them).
pub(crate) fn to_python(py: Python<'_>, value: &serde_json::Value) -> PyResult<Py<PyAny>> {
    let text = value.to_string();
    Ok(py.import("json")?.call_method1("loads", (text,))?.unbind())
}

/// Every plugin, its devices with free memory and metrics, and every plugin file that
/// failed to load: what `qscore plugins --json` prints, as a list of dicts (the load
/// errors are in the list's dicts' place of `qscore.plugin_errors()`).
#[pyfunction]
pub(crate) fn plugins(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let document = py.detach(|| qscore_host::describe::plugins_json(&report()));
    to_python(py, &document)
}
