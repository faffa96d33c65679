//! Output tables by extension: `.csv`, `.jsonl`, `.parquet`; reading one back (resume,
//! `merge`) and writing one.

use std::{io, path::Path};

use super::{
    BatchError,
    row::{Cell, Column, KEY_COLUMN, OutRow, parse_key},
};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, with a header.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (strings and doubles, nullable).
    Parquet,
}

impl Format {
    /// The format named by `path`'s extension.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "parquet" => Some(Self::Parquet),
            _ => None,
        }
    }
}

/// Rows of a table, read as they are asked for.
pub(crate) type RowIter = Box<dyn Iterator<Item = Result<OutRow, String>>>;

/// A table opened for reading.
pub(crate) struct TableReader {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: RowIter,
}

impl std::fmt::Debug for TableReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableReader")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

/// Opens an output table written by qscore (its format from its extension).
pub(crate) fn read_table(path: &Path) -> Result<TableReader, BatchError> {
    let error = |reason: String| BatchError::Table {
        path: path.to_path_buf(),
        reason,
    };
    let format = Format::of(path)
        .ok_or_else(|| error("unknown format (use .csv, .jsonl or .parquet)".into()))?;
    let table = match format {
        Format::Csv => super::csv_table::read(path),
        Format::Jsonl => super::jsonl_table::read(path),
        Format::Parquet => super::parquet_table::read(path),
    }
    .map_err(error)?;
    // An empty JSONL table names no columns.
    if !table.columns.is_empty() && !table.columns.iter().any(|c| c.name == KEY_COLUMN) {
        return Err(error(format!(
            "has no {KEY_COLUMN:?} column, so it is not a qscore batch output"
        )));
    }
    Ok(table)
}

/// The key of a row read from a table.
pub(crate) fn key_of(cells: &[(String, Cell)]) -> Result<u64, String> {
    match cells.iter().find(|(n, _)| n == KEY_COLUMN) {
        Some((_, Cell::Text(text))) => {
            parse_key(text).ok_or_else(|| format!("bad {KEY_COLUMN} {text:?}"))
        }
        _ => Err(format!("a row has no {KEY_COLUMN}")),
    }
}

/// A table being written.
pub(crate) trait TableSink {
    /// Appends one row (cells found by column name; a missing one is null).
    fn write_row(&mut self, row: &OutRow) -> io::Result<()>;
    /// Writes what is buffered and makes the file durable.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Creates `path` as a table of `columns`. A Parquet table also carries `provenance` (the
/// JSON of `OUT.meta.json`) as the key-value metadata `qscore.provenance`.
pub(crate) fn create_table(
    path: &Path,
    format: Format,
    columns: Vec<Column>,
    provenance: Option<&str>,
) -> io::Result<Box<dyn TableSink>> {
    match format {
        Format::Csv => super::csv_table::create(path, columns),
        Format::Jsonl => super::jsonl_table::create(path, columns),
        Format::Parquet => super::parquet_table::create(path, columns, provenance),
    }
}

/// `row`'s cells in the order of `columns`.
pub(crate) fn arrange<'a>(columns: &[Column], row: &'a OutRow) -> Vec<&'a Cell> {
    const NULL: &Cell = &Cell::Null;
    columns
        .iter()
        .map(|c| {
            row.cells
                .iter()
                .find(|(n, _)| *n == c.name)
                .map_or(NULL, |(_, cell)| cell)
        })
        .collect()
}
