//! Why a batch run (or a merge) stopped as a whole. A single row's problem is never one
//! of these: it goes to the failure ledger and the run goes on.

use std::path::PathBuf;

/// Why a batch run or merge failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The manifest cannot be read, or its header is unusable.
    #[error("{path}: {reason}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An output table (an existing one being resumed, or a merge input) cannot be used.
    #[error("{path}: {reason}")]
    Table {
        /// The table.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing a file failed.
    #[error("{path}: {reason}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The disk is (about to be) full; everything finished so far is in the journal.
    #[error(
        "{path}: out of disk space ({}); free some space and run the same command again \
         to resume",
        space_text(*.available, *.needed)
    )]
    OutOfSpace {
        /// The file or folder that needs the space.
        path: PathBuf,
        /// Bytes free.
        available: u64,
        /// Bytes estimated to be needed (`None`: a write found the disk full).
        needed: Option<u64>,
    },
    /// A request that cannot work for any row (unknown metric, no `--metric` and no
    /// metric column, a bad option).
    #[error("{0}")]
    Request(String),
    /// The scoring workers could not start or stopped.
    #[error("workers: {0}")]
    Workers(String),
    /// A signal (Ctrl-C, SIGTERM) stopped the run; everything finished before it is in the
    /// journal, and the same command resumes.
    #[error("interrupted; finished rows are kept in {journal}: run the same command again to resume", journal = .journal.display())]
    Interrupted {
        /// The journal holding the finished rows.
        journal: PathBuf,
    },
    /// `merge`: inputs with different columns.
    #[error("{path}: columns differ from {first}: {reason}")]
    SchemaMismatch {
        /// The input that differs.
        path: PathBuf,
        /// The first input.
        first: PathBuf,
        /// How they differ.
        reason: String,
    },
    /// `merge`: one row in two inputs (or twice in one).
    #[error("{path}: row {key} is also in {first}")]
    Duplicate {
        /// Where it was seen again.
        path: PathBuf,
        /// Where it was seen first.
        first: PathBuf,
        /// The row key.
        key: String,
    },
}

fn space_text(available: u64, needed: Option<u64>) -> String {
    match needed {
        Some(needed) => format!("{available} bytes free, about {needed} needed"),
        None => format!("a write failed with {available} bytes free"),
    }
}

impl BatchError {
    pub(crate) fn write(path: &std::path::Path, error: &std::io::Error) -> Self {
        Self::Write {
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    }
}
