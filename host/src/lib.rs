//! The qscore host: finds and loads plugins, decodes inputs and scores them.
//!
//! The `qscore` binary is a thin command line over this library.

pub mod allocator;
mod atomic;
pub mod batch;
mod built_in;
mod decode;
pub mod decode_limit;
pub mod describe;
mod error;
pub mod interrupt;
pub mod isolate;
mod loader;
pub mod logging;
mod plugin;
pub mod pool;
pub mod sched;
mod score;
mod temporal;
pub mod trust;
pub mod tune;
pub mod video;

pub use decode::{decode_image, decode_image_as};
pub use error::{InputError, LoadError, ScoreError};
pub use loader::{LoadReport, PLUGIN_PATH_VAR, PluginSearch, load_plugin, load_plugins};
pub use plugin::{Clip, Device, Identity, Plugin, PreparedRef, Session};
pub use score::{
    Backend, MetricRequest, PairResult, PairScores, ScoreJob, check_job, resolve_metrics,
    score_decoded, score_images,
};
