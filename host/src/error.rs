//! The host's errors.

use std::path::PathBuf;

/// Why a plugin file could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file is not a qscore plugin (not a library, or no qscore root module).
    #[error("{path}: not a qscore plugin: {reason}")]
    NotAPlugin {
        /// The file.
        path: PathBuf,
        /// What the dynamic loader or abi_stable said.
        reason: String,
    },
    /// The plugin was to run in a worker process (`--isolate`), and that failed: the worker
    /// did not start, or could not load it (its own words).
    #[error("{path}: in a worker process: {reason}")]
    Isolated {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The library's root module does not match this host's interface.
    #[error("{path}: incompatible plugin interface: {reason}")]
    Incompatible {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// The plugin loaded but failed to describe itself or its devices.
    #[error("{path}: plugin failed while loading: {error}")]
    Failed {
        /// The file.
        path: PathBuf,
        /// The plugin's error (a caught panic shows as an internal error).
        error: qscore_core::Error,
    },
    /// The file, or a folder on its path, could have been written by another user (see
    /// `--allow-insecure-plugins`).
    #[error("{path}: not loaded: {reason} (--allow-insecure-plugins loads it anyway)")]
    Untrusted {
        /// The file.
        path: PathBuf,
        /// Which file or folder, and how.
        reason: String,
    },
    /// Another file already provided a plugin with this name.
    #[error("{path}: duplicate plugin {name:?}, already loaded from {first}")]
    Duplicate {
        /// The file skipped.
        path: PathBuf,
        /// The plugin name.
        name: String,
        /// Where the plugin was first loaded from.
        first: PathBuf,
    },
    /// A plugin directory could not be read.
    #[error("{path}: cannot read plugin directory: {reason}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
}

/// Why an input file could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct InputError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// Why a scoring job failed as a whole or for one input.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreError {
    /// An input file is missing, unreadable or undecodable, or its size differs.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A requested metric name is unknown to every plugin.
    #[error("unknown metric {name:?} (available: {available})")]
    UnknownMetric {
        /// The name asked for.
        name: String,
        /// Every metric or output name the loaded plugins provide.
        available: String,
    },
    /// No loaded plugin can run the request.
    #[error("no plugin can score {what}: {why}")]
    NoBackend {
        /// What was asked.
        what: String,
        /// Why each candidate was refused.
        why: String,
    },
    /// Every backend failed for one input (the ladder's tries are listed).
    #[error("{context}: {failure}")]
    Scheduling {
        /// Which file and metric.
        context: String,
        /// What the scheduler tried and why it failed.
        failure: crate::sched::ScoreFailure,
    },
    /// A plugin refused the request itself (e.g. an unknown parameter).
    #[error("{context}: {error}")]
    Plugin {
        /// What was being done (file, metric, plugin).
        context: String,
        /// The plugin's typed error.
        error: qscore_core::Error,
    },
    /// A temporal metric was asked of images: it compares video frames with their neighbours.
    #[error(
        "{metric} is a temporal metric: it compares each video frame with its neighbours, so it \
         needs video inputs (Y4M, raw YUV with --size and --pix-fmt, or a container ffmpeg \
         decodes), not images"
    )]
    TemporalOnImages {
        /// The metric asked for.
        metric: String,
    },
    /// A clip was not scored within its time limit; its decoders were stopped.
    #[error("{}: not scored within the time limit of {limit_s:.1} s", path.display())]
    TimedOut {
        /// The clip.
        path: PathBuf,
        /// The limit, in seconds.
        limit_s: f64,
    },
    /// The worker pool refused a task (it is shutting down).
    #[error("worker pool: {0}")]
    Pool(String),
    /// The work was cancelled (`interrupt::cancel`) before this input was scored.
    #[error("interrupted")]
    Interrupted,
}
