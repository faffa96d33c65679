//! What made an output: qscore's version, the plugins loaded and the metric parameters
//! (with the content of any parameter that names a file, such as a VMAF model).
//!
//! A run writes it to `OUT.meta.json` as it starts (and into a Parquet output's key-value
//! metadata), before any row. A run on an output made with other parameters is refused:
//! its rows and the new ones would mix two definitions of the same columns in one table,
//! and keeping the old rows apart would make `OUT` depend on the order of the runs. The
//! parameters are also part of every row key, so shards made with other parameters never
//! share keys. `qscore merge` refuses shards whose qscore versions, parameters or versions
//! of a plugin loaded by both differ; the plugins themselves may differ (a GPU node and a
//! CPU node), since each row's `backends` says which scored it.

use std::{collections::BTreeMap, path::Path};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

use super::{BatchError, finish::beside};
use crate::{LoadReport, atomic::AtomicFile};

/// One `--param`, and the xxh3 of the file its value names, if it names one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ParamRecord {
    /// Metric id.
    pub metric: String,
    /// Parameter name.
    pub key: String,
    /// Its value, as given.
    pub value: String,
    /// xxh3-64 of the file the value names (16 hex digits), when it names a readable file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_xxh3: Option<String>,
}

/// What made an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// qscore's version.
    pub qscore: String,
    /// Loaded plugins: name → version.
    pub plugins: BTreeMap<String, String>,
    /// The metric parameters, sorted.
    pub params: Vec<ParamRecord>,
}

impl Provenance {
    /// This run's: `params` as `(metric, key, value)`.
    pub fn of_run(report: &LoadReport, params: &[(String, String, String)]) -> Self {
        Self {
            qscore: env!("CARGO_PKG_VERSION").to_owned(),
            plugins: report
                .plugins
                .iter()
                .map(|p| (p.identity().name.clone(), p.identity().version.clone()))
                .collect(),
            params: param_records(params),
        }
    }

    /// What the parameters add to a row key: 0 for none (keys as without parameters).
    pub(crate) fn params_digest(&self) -> u64 {
        if self.params.is_empty() {
            return 0;
        }
        xxh3_64(
            serde_json::to_string(&self.params)
                .unwrap_or_default()
                .as_bytes(),
        )
    }

    /// As JSON, for files and Parquet metadata.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Why shards made by `self` and `other` cannot be merged, if they cannot.
    fn merge_conflict(&self, other: &Self) -> Option<String> {
        if self.qscore != other.qscore {
            return Some(format!(
                "made by qscore {} and {}",
                other.qscore, self.qscore
            ));
        }
        if self.params != other.params {
            return Some(format!(
                "made with other parameters ({} and {})",
                describe(&other.params),
                describe(&self.params)
            ));
        }
        self.plugins.iter().find_map(|(name, version)| {
            let theirs = other.plugins.get(name)?;
            (theirs != version)
                .then(|| format!("made with plugin {name} {theirs} and {name} {version}"))
        })
    }
}

/// `params` (as `(metric, key, value)`) as records, sorted, with the hash of each file a
/// value names.
pub(crate) fn param_records(params: &[(String, String, String)]) -> Vec<ParamRecord> {
    let mut records: Vec<ParamRecord> = params
        .iter()
        .map(|(metric, key, value)| ParamRecord {
            metric: metric.clone(),
            key: key.clone(),
            value: value.clone(),
            file_xxh3: std::fs::metadata(value)
                .is_ok_and(|m| m.is_file())
                .then(|| file_xxh3(Path::new(value)).ok())
                .flatten()
                .map(|hash| format!("{hash:016x}")),
        })
        .collect();
    records.sort();
    records
}

/// xxh3-64 of a file's bytes, read in 1 MiB pieces (a reference may not fit in memory).
pub(crate) fn file_xxh3(path: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match std::io::Read::read(&mut file, &mut buffer)? {
            0 => return Ok(hasher.digest()),
            n => hasher.update(&buffer[..n]),
        }
    }
}

fn describe(params: &[ParamRecord]) -> String {
    if params.is_empty() {
        return "none".into();
    }
    params
        .iter()
        .map(|p| match &p.file_xxh3 {
            Some(hash) => format!("{}.{}={} [file {hash}]", p.metric, p.key, p.value),
            None => format!("{}.{}={}", p.metric, p.key, p.value),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the record of `out` lives.
pub fn meta_path(out: &Path) -> std::path::PathBuf {
    beside(out, ".meta.json")
}

/// The record of `out`, if it has one.
pub fn read(out: &Path) -> Result<Option<Provenance>, BatchError> {
    let path = meta_path(out);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BatchError::write(&path, &e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| BatchError::Table {
            path,
            reason: format!("not a qscore provenance record: {e}"),
        })
}

/// Writes the record of `out` (atomically).
pub(crate) fn write(out: &Path, provenance: &Provenance) -> Result<(), BatchError> {
    let path = meta_path(out);
    AtomicFile::write(&path, provenance.to_json().as_bytes())
        .map_err(|e| BatchError::write(&path, &e))
}

/// Refuses a run on `out` with parameters other than those it was made with.
pub(crate) fn check_resume(out: &Path, run: &Provenance) -> Result<(), BatchError> {
    let Some(before) = read(out)? else {
        return Ok(());
    };
    if before.params == run.params {
        return Ok(());
    }
    Err(BatchError::Request(format!(
        "{}: was made with parameters {}, and this run asks {}; its rows would mix the two: \
         write to another output, or remove {} and its journal to start again",
        out.display(),
        describe(&before.params),
        describe(&run.params),
        out.display()
    )))
}

/// The record shared by the shards `inputs` (the first one's), or why they cannot be merged.
/// A shard without a record (made by an older qscore) is accepted as unknown.
pub(crate) fn for_merge(inputs: &[std::path::PathBuf]) -> Result<Option<Provenance>, BatchError> {
    let mut first: Option<(&Path, Provenance)> = None;
    for path in inputs {
        let Some(record) = read(path)? else { continue };
        match &first {
            None => first = Some((path, record)),
            Some((first_path, first_record)) => {
                if let Some(why) = record.merge_conflict(first_record) {
                    return Err(BatchError::Request(format!(
                        "{} and {}: {why}; merge shards of one run",
                        first_path.display(),
                        path.display()
                    )));
                }
            }
        }
    }
    Ok(first.map(|(_, record)| record))
}
