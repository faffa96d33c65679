//! Host errors as the package's exceptions (`qscore/errors.py`), one class per category of
//! the plugin ABI's errors: invalid input (naming the input), unsupported, out of memory
//! (with the bytes needed and available), device lost; anything else is `QscoreError`.

use pyo3::{exceptions::PyKeyboardInterrupt, prelude::*};
use qscore_core::Error;
use qscore_host::{
    ScoreError,
    batch::BatchError,
    sched::{LadderError, ScoreFailure},
};

/// The category of an error, named as its exception class.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Category {
    InvalidInput,
    Unsupported,
    OutOfMemory { needed: u64, available: u64 },
    DeviceLost,
    Other,
}

impl Category {
    fn class(self) -> &'static str {
        match self {
            Self::InvalidInput => "InvalidInputError",
            Self::Unsupported => "UnsupportedError",
            Self::OutOfMemory { .. } => "OutOfMemoryError",
            Self::DeviceLost => "DeviceLostError",
            Self::Other => "QscoreError",
        }
    }

    fn of_plugin(error: &Error) -> Self {
        match error {
            Error::OutOfMemory {
                needed, available, ..
            } => Self::OutOfMemory {
                needed: *needed,
                available: *available,
            },
            Error::Unsupported(_) => Self::Unsupported,
            Error::InvalidInput(_) => Self::InvalidInput,
            Error::DeviceLost(_) => Self::DeviceLost,
            _ => Self::Other,
        }
    }

    /// A comparison every backend failed: the last try says what kind of failure it was.
    fn of_failure(failure: &ScoreFailure) -> Self {
        match failure {
            ScoreFailure::NoCandidate { .. } => Self::Unsupported,
            ScoreFailure::Ladder(LadderError::InvalidInput { .. }) => Self::InvalidInput,
            ScoreFailure::Ladder(ladder) => ladder
                .attempts()
                .last()
                .map_or(Self::Other, |a| Self::of_plugin(&a.error)),
            _ => Self::Other,
        }
    }

    pub(crate) fn of_score(error: &ScoreError) -> Self {
        match error {
            ScoreError::Input(_) | ScoreError::UnknownMetric { .. } => Self::InvalidInput,
            ScoreError::NoBackend { .. } | ScoreError::TemporalOnImages { .. } => Self::Unsupported,
            ScoreError::Scheduling { failure, .. } => Self::of_failure(failure),
            ScoreError::Plugin { error, .. } => Self::of_plugin(error),
            _ => Self::Other,
        }
    }
}

/// A new exception of `category` with `message` (not raised: a caller may return it).
pub(crate) fn exception(py: Python<'_>, category: Category, message: &str) -> PyErr {
    let made = (|| {
        let class = py.import("qscore.errors")?.getattr(category.class())?;
        let instance = class.call1((message,))?;
        if let Category::OutOfMemory { needed, available } = category {
            instance.setattr("needed", needed)?;
            instance.setattr("available", available)?;
        }
        Ok::<_, PyErr>(PyErr::from_value(instance))
    })();
    made.unwrap_or_else(|error| error)
}

/// A scoring error as its exception; an interrupted call as `KeyboardInterrupt`.
pub(crate) fn score_error(py: Python<'_>, error: &ScoreError) -> PyErr {
    if matches!(error, ScoreError::Interrupted) {
        return PyKeyboardInterrupt::new_err("interrupted");
    }
    exception(py, Category::of_score(error), &error.to_string())
}

/// A batch error as its exception.
pub(crate) fn batch_error(py: Python<'_>, error: &BatchError) -> PyErr {
    let category = match error {
        BatchError::Interrupted { .. } => {
            return PyKeyboardInterrupt::new_err(error.to_string());
        }
        BatchError::Manifest { .. } | BatchError::Table { .. } | BatchError::Request(_) => {
            Category::InvalidInput
        }
        _ => Category::Other,
    };
    exception(py, category, &error.to_string())
}

/// A bad argument from Python (a wrong array, an unknown option).
pub(crate) fn invalid(py: Python<'_>, message: impl AsRef<str>) -> PyErr {
    exception(py, Category::InvalidInput, message.as_ref())
}
