//! Free disk space: checked before a run (against an estimate from the row count) and
//! again while it runs, so that a full disk stops the run cleanly instead of leaving
//! half-written files.

use std::{ffi::CString, io, os::unix::ffi::OsStrExt, path::Path};

/// Bytes available to this (unprivileged) user on the filesystem holding `path`.
pub(crate) fn available_bytes(path: &Path) -> io::Result<u64> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a valid NUL-terminated string and `stats` is writable memory of
    // the right type; statvfs only writes it.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stats.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled `stats`.
    let stats = unsafe { stats.assume_init() };
    // The fields are narrower than u64 on some targets.
    #[allow(clippy::useless_conversion)]
    let (blocks, size) = (u64::from(stats.f_bavail), u64::from(stats.f_frsize));
    Ok(blocks.saturating_mul(size))
}

/// How much a run will write, per row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpaceEstimate {
    /// Bytes per journal line.
    pub(crate) journal_row: u64,
    /// Bytes per output row (the final table; Parquet is smaller, CSV about this).
    pub(crate) output_row: u64,
    /// The existing output, which the final table copies.
    pub(crate) existing_output: u64,
}

/// Headroom kept free beyond the estimate.
pub(crate) const MARGIN: u64 = 1 << 20;

impl SpaceEstimate {
    /// From the manifest's mean line length and the number of values a row gets.
    pub(crate) fn new(
        manifest_bytes: u64,
        manifest_rows: u64,
        values: usize,
        existing_output: u64,
    ) -> Self {
        let line = manifest_bytes / manifest_rows.max(1) + 1;
        let scores = values as u64 * 28 + 24;
        Self {
            // Column names are repeated on every journal line; paths may be made longer.
            journal_row: 2 * line + scores + 64,
            output_row: line + scores + 40,
            existing_output,
        }
    }

    /// Bytes still needed to journal `remaining` rows and then write a table of
    /// `output_rows` rows next to the existing output.
    pub(crate) fn needed(&self, remaining: u64, output_rows: u64) -> u64 {
        remaining * self.journal_row + output_rows * self.output_row + self.existing_output + MARGIN
    }
}

/// Whether an I/O error means the disk is full.
pub(crate) fn is_out_of_space(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
        || error.kind() == io::ErrorKind::StorageFull
}
