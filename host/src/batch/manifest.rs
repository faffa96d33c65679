//! Reading the manifest one row at a time: CSV with a header, or JSONL (one object a
//! line). Every column's text is kept; a row that cannot be read is an error for that
//! row alone, carried to the failure ledger.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
};

use xxhash_rust::xxh3::xxh3_64;

use super::{
    BatchError,
    row::{BACKENDS_COLUMN, KEY_COLUMN},
};

/// The manifest's syntax, from its extension (`.jsonl`/`.ndjson`, else CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Csv,
    Jsonl,
}

/// One readable row: its 1-based line and its columns, in the manifest's order.
#[derive(Debug, Clone)]
pub(crate) struct ManifestRow {
    pub(crate) line: u64,
    pub(crate) columns: Vec<(String, String)>,
}

impl ManifestRow {
    /// A column's text, `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// A row that could not be read: where, why, and a key from its raw bytes so that it is
/// recorded once however often the manifest is run.
#[derive(Debug, Clone)]
pub(crate) struct RowError {
    pub(crate) line: u64,
    pub(crate) reason: String,
    pub(crate) key: u64,
    /// Its reference and distorted fields as far as they could be read.
    pub(crate) reference: String,
    pub(crate) distorted: String,
}

/// An open manifest.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub(crate) path: PathBuf,
    pub(crate) syntax: Syntax,
}

fn manifest_error(path: &Path, reason: impl std::fmt::Display) -> BatchError {
    BatchError::Manifest {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Manifest {
    pub(crate) fn new(path: &Path) -> Result<Self, BatchError> {
        let meta = std::fs::metadata(path).map_err(|e| manifest_error(path, e))?;
        if meta.is_dir() {
            return Err(manifest_error(path, "is a directory"));
        }
        let syntax = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                Syntax::Jsonl
            }
            _ => Syntax::Csv,
        };
        Ok(Self {
            path: path.to_path_buf(),
            syntax,
        })
    }

    /// The folder that relative paths in the manifest start from.
    pub(crate) fn folder(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// Streams the rows. The outer error stops the run (unreadable file, bad header);
    /// a row's own problem is an inner `Err(RowError)`.
    pub(crate) fn rows(&self) -> Result<Rows, BatchError> {
        let file = File::open(&self.path).map_err(|e| manifest_error(&self.path, e))?;
        match self.syntax {
            Syntax::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(BufReader::with_capacity(1 << 16, file));
                let header = reader
                    .byte_headers()
                    .map_err(|e| manifest_error(&self.path, e))?
                    .clone();
                let mut names = Vec::with_capacity(header.len());
                for field in &header {
                    let name = std::str::from_utf8(field)
                        .map_err(|_| manifest_error(&self.path, "header is not valid UTF-8"))?;
                    // Spreadsheets often start a CSV file with a byte-order mark.
                    let name = if names.is_empty() {
                        name.trim_start_matches('\u{feff}')
                    } else {
                        name
                    };
                    names.push(name.trim().to_owned());
                }
                check_header(&self.path, &names)?;
                Ok(Rows::Csv {
                    path: self.path.clone(),
                    reader,
                    names,
                    record: csv::ByteRecord::new(),
                })
            }
            Syntax::Jsonl => Ok(Rows::Jsonl {
                path: self.path.clone(),
                reader: BufReader::with_capacity(1 << 16, file),
                line: 0,
                buffer: Vec::new(),
            }),
        }
    }
}

fn check_header(path: &Path, names: &[String]) -> Result<(), BatchError> {
    for required in ["reference", "distorted"] {
        if !names.iter().any(|n| n == required) {
            return Err(manifest_error(
                path,
                format!("has no {required:?} column (columns: {})", names.join(", ")),
            ));
        }
    }
    for reserved in [KEY_COLUMN, BACKENDS_COLUMN] {
        if names.iter().any(|n| n == reserved) {
            return Err(manifest_error(
                path,
                format!("column {reserved:?} is reserved for qscore's output"),
            ));
        }
    }
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(manifest_error(
                path,
                format!("column {name:?} appears twice"),
            ));
        }
    }
    Ok(())
}

/// The manifest's rows, read as they are asked for.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Rows {
    Csv {
        path: PathBuf,
        reader: csv::Reader<BufReader<File>>,
        names: Vec<String>,
        record: csv::ByteRecord,
    },
    Jsonl {
        path: PathBuf,
        reader: BufReader<File>,
        line: u64,
        buffer: Vec<u8>,
    },
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rows")
    }
}

/// `text`, shortened for a message.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        out.push('…');
    }
    out
}

impl Iterator for Rows {
    type Item = Result<Result<ManifestRow, RowError>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Csv {
                path,
                reader,
                names,
                record,
            } => match reader.read_byte_record(record) {
                Ok(false) => None,
                Err(e) => Some(Err(manifest_error(path, e))),
                Ok(true) => Some(Ok(csv_row(names, record))),
            },
            Rows::Jsonl {
                path,
                reader,
                line,
                buffer,
            } => loop {
                buffer.clear();
                *line += 1;
                match reader.read_until(b'\n', buffer) {
                    Ok(0) => return None,
                    Err(e) => return Some(Err(manifest_error(path, e))),
                    Ok(_) => {}
                }
                let trimmed = buffer.trim_ascii();
                if trimmed.is_empty() {
                    continue;
                }
                return Some(Ok(json_row(*line, trimmed)));
            },
        }
    }
}

fn raw_key(bytes: &[u8]) -> u64 {
    let mut tagged = b"manifest-row\0".to_vec();
    tagged.extend_from_slice(bytes);
    xxh3_64(&tagged)
}

fn csv_row(names: &[String], record: &csv::ByteRecord) -> Result<ManifestRow, RowError> {
    let line = record.position().map_or(0, csv::Position::line);
    let raw: Vec<u8> = record.iter().collect::<Vec<_>>().join(&b'\x1f');
    let field = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .and_then(|i| record.get(i))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let fail = |reason: String| RowError {
        line,
        reason,
        key: raw_key(&raw),
        reference: field("reference"),
        distorted: field("distorted"),
    };
    if record.len() != names.len() {
        return Err(fail(format!(
            "has {} fields but the header has {}",
            record.len(),
            names.len()
        )));
    }
    let mut columns = Vec::with_capacity(names.len());
    for (name, bytes) in names.iter().zip(record.iter()) {
        match std::str::from_utf8(bytes) {
            Ok(text) => columns.push((name.clone(), text.to_owned())),
            Err(_) => {
                return Err(fail(format!(
                    "column {name:?} is not valid UTF-8 ({}); paths must be UTF-8 to be carried into the output",
                    excerpt(bytes)
                )));
            }
        }
    }
    Ok(ManifestRow { line, columns })
}

fn json_row(line: u64, bytes: &[u8]) -> Result<ManifestRow, RowError> {
    let fail = |reason: String, reference: String, distorted: String| RowError {
        line,
        reason,
        key: raw_key(bytes),
        reference,
        distorted,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            return Err(fail(
                format!(
                    "is not valid UTF-8 ({}); paths must be UTF-8 to be carried into the output",
                    excerpt(bytes)
                ),
                String::new(),
                String::new(),
            ));
        }
    };
    let object = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => {
            return Err(fail(
                "is not a JSON object".into(),
                String::new(),
                String::new(),
            ));
        }
        Err(e) => {
            return Err(fail(
                format!("is not valid JSON: {e}"),
                String::new(),
                String::new(),
            ));
        }
    };
    let mut columns = Vec::with_capacity(object.len());
    for (name, value) in object {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            // A list of metrics may be given as a JSON array.
            serde_json::Value::Array(items) if name == "metric" => items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        };
        columns.push((name, text));
    }
    let row = ManifestRow { line, columns };
    let (reference, distorted) = (
        row.get("reference").unwrap_or_default().to_owned(),
        row.get("distorted").unwrap_or_default().to_owned(),
    );
    for reserved in [KEY_COLUMN, BACKENDS_COLUMN] {
        if row.get(reserved).is_some() {
            return Err(fail(
                format!("column {reserved:?} is reserved for qscore's output"),
                reference,
                distorted,
            ));
        }
    }
    Ok(row)
}
