//! The plugins of this process, loaded once: the CPU plugin built in, the GPU plugin files
//! shipped inside the package, and the folders of `QSCORE_PLUGIN_PATH`; those that may crash
//! run in worker processes of the `qscore` executable shipped beside the GPU plugins.

use std::{
    path::PathBuf,
    sync::{Arc, OnceLock},
};

use pyo3::{exceptions::PyValueError, prelude::*, types::PyAny};
use qscore_host::{
    LoadReport, PluginSearch, isolate::Isolation, load_plugins, sched::SchedulerOptions,
};

/// Where the package's native files are, and which plugins run in worker processes.
struct Setup {
    shipped: PathBuf,
    worker_exe: PathBuf,
    isolate: Isolation,
}

static SETUP: OnceLock<Setup> = OnceLock::new();
static REPORT: OnceLock<Arc<LoadReport>> = OnceLock::new();

/// Names the folder of the files shipped in the package, the GPU plugins and the `qscore`
/// executable, and the isolation asked for (`QSCORE_ISOLATE`: `all`, `none` or `auto`, as
/// the command line's `--isolate`); called once by `qscore/__init__.py` on import. Without
/// a choice it is `auto` where the executable is shipped (a wheel) and `none` where it is
/// not (a build without it), since worker processes run that executable.
#[pyfunction]
#[pyo3(signature = (plugin_dir, isolate=None))]
pub(crate) fn configure(plugin_dir: PathBuf, isolate: Option<&str>) -> PyResult<()> {
    let worker_exe = plugin_dir.join(format!("qscore{}", std::env::consts::EXE_SUFFIX));
    let isolate = match isolate {
        Some(text) => Isolation::parse(text)
            .map_err(|e| PyValueError::new_err(format!("QSCORE_ISOLATE is {e}")))?,
        None if worker_exe.is_file() => Isolation::Auto,
        None => Isolation::None,
    };
    let _ = SETUP.set(Setup {
        shipped: plugin_dir,
        worker_exe,
        isolate,
    });
    Ok(())
}

/// The loaded plugins; the first call loads them.
pub(crate) fn report() -> Arc<LoadReport> {
    Arc::clone(REPORT.get_or_init(|| {
        qscore_host::logging::init(qscore_host::logging::level(0));
        let mut search = PluginSearch::standard(&[]);
        // Never the folders beside Python's own executable.
        search.shipped = Some(Vec::new());
        if let Some(setup) = SETUP.get() {
            search.shipped = Some(vec![setup.shipped.clone()]);
            search.isolate = setup.isolate;
            search.worker_exe = Some(setup.worker_exe.clone());
        }
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
