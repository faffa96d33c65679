//! A manifest row turned into work: its key, resolved paths, metrics and geometry.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
};

use super::{
    key::{Shard, row_key},
    manifest::{ManifestRow, RowError},
    record::{Failure, Stage},
};
use crate::{
    LoadReport, MetricRequest, resolve_metrics,
    video::{VideoGeometry, is_video_path},
};

/// The metrics a row is scored with.
#[derive(Debug)]
pub(crate) struct Plan {
    /// As asked (`--metric` or the row's `metric` column).
    pub(crate) names: Vec<String>,
    /// Resolved to metrics and kept outputs.
    pub(crate) requests: Vec<MetricRequest>,
}

/// One pair to score.
#[derive(Debug)]
pub(crate) struct Work {
    /// Order of arrival in this run; scheduler tags are derived from it.
    pub(crate) seq: u64,
    pub(crate) key: u64,
    pub(crate) line: u64,
    pub(crate) carried: Vec<(String, String)>,
    pub(crate) reference: PathBuf,
    pub(crate) distorted: PathBuf,
    pub(crate) plan: Arc<Plan>,
    pub(crate) geometry: Option<VideoGeometry>,
    pub(crate) video: bool,
}

impl Work {
    /// A failure of this row.
    pub(crate) fn failure(&self, stage: Stage, reason: String, tried: Vec<String>) -> Failure {
        Failure {
            key: self.key,
            line: self.line,
            reference: text_of(&self.carried, "reference"),
            distorted: text_of(&self.carried, "distorted"),
            stage,
            reason,
            tried,
        }
    }
}

fn text_of(columns: &[(String, String)], name: &str) -> String {
    columns
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Which rows this run takes.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    /// Rows finished before (in the output or the journal): skipped and kept.
    pub(crate) done: HashSet<u64>,
    /// Rows in the failure ledger: skipped, or with `retry_failed` the only ones run.
    pub(crate) failed: HashSet<u64>,
    pub(crate) retry_failed: bool,
    pub(crate) shard: Option<Shard>,
    /// What the run's metric parameters add to every row key
    /// ([`super::provenance::Provenance::params_digest`]).
    pub(crate) params: u64,
}

/// What happened to a manifest row before any work.
#[derive(Debug)]
pub(crate) enum Admission {
    Run(Work),
    Fail(Failure),
    /// In the output or journal already.
    SkipDone,
    /// In the failure ledger (not retried).
    SkipFailed,
    /// Another shard's, or not a failed row under `--retry-failed`.
    NotSelected,
    /// Same key as an earlier row of this manifest.
    Duplicate,
}

/// Turns manifest rows into work, in one pass.
#[derive(Debug)]
pub(crate) struct Admitter<'a> {
    pub(crate) report: &'a LoadReport,
    pub(crate) folder: PathBuf,
    pub(crate) default_metrics: Vec<String>,
    pub(crate) selection: &'a Selection,
    plans: HashMap<Vec<String>, Result<Arc<Plan>, String>>,
    seen: HashSet<u64>,
    next_seq: u64,
}

/// The metric list of a `metric` column: names separated by `,`, `;` or spaces.
fn split_metrics(text: &str) -> Vec<String> {
    text.split([',', ';', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl<'a> Admitter<'a> {
    pub(crate) fn new(
        report: &'a LoadReport,
        folder: PathBuf,
        default_metrics: Vec<String>,
        selection: &'a Selection,
    ) -> Self {
        Self {
            report,
            folder,
            default_metrics,
            selection,
            plans: HashMap::new(),
            seen: HashSet::new(),
            next_seq: 0,
        }
    }

    fn select(&mut self, key: u64) -> Option<Admission> {
        if self.selection.shard.is_some_and(|s| !s.contains(key)) {
            return Some(Admission::NotSelected);
        }
        if !self.seen.insert(key) {
            return Some(Admission::Duplicate);
        }
        if self.selection.done.contains(&key) {
            return Some(Admission::SkipDone);
        }
        let failed = self.selection.failed.contains(&key);
        match (self.selection.retry_failed, failed) {
            (true, false) => Some(Admission::NotSelected),
            (false, true) => Some(Admission::SkipFailed),
            _ => None,
        }
    }

    fn resolve(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        if path.is_absolute() || self.folder == Path::new(".") {
            path.to_path_buf()
        } else {
            self.folder.join(path)
        }
    }

    /// Decides what to do with one manifest row.
    pub(crate) fn admit(&mut self, row: Result<ManifestRow, RowError>) -> Admission {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                if let Some(skip) = self.select(error.key) {
                    return skip;
                }
                return Admission::Fail(Failure {
                    key: error.key,
                    line: error.line,
                    reference: error.reference,
                    distorted: error.distorted,
                    stage: Stage::Manifest,
                    reason: format!("manifest line {}: {}", error.line, error.reason),
                    tried: Vec::new(),
                });
            }
        };
        let names = row
            .get("metric")
            .map(split_metrics)
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| self.default_metrics.clone());
        let key = row_key(&row.columns, &names, self.selection.params);
        if let Some(skip) = self.select(key) {
            return skip;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let plan = self
            .plans
            .entry(names.clone())
            .or_insert_with(|| {
                if names.is_empty() {
                    return Err("no metric: give --metric or a \"metric\" column".into());
                }
                resolve_metrics(self.report, &names)
                    .map(|requests| {
                        Arc::new(Plan {
                            names: names.clone(),
                            requests,
                        })
                    })
                    .map_err(|e| e.to_string())
            })
            .clone();
        let reference = row.get("reference").map(|p| self.resolve(p));
        let distorted = row.get("distorted").map(|p| self.resolve(p));
        let geometry = geometry(&row);
        let mut work = Work {
            seq,
            key,
            line: row.line,
            carried: row.columns,
            reference: reference.clone().unwrap_or_default(),
            distorted: distorted.clone().unwrap_or_default(),
            plan: Arc::new(Plan {
                names: Vec::new(),
                requests: Vec::new(),
            }),
            geometry: None,
            video: false,
        };
        let problem = match (&plan, reference, distorted, geometry) {
            (Err(reason), ..) => Some(reason.clone()),
            (_, None, _, _) => Some("no reference path".into()),
            (_, _, None, _) => Some("no distorted path".into()),
            (_, _, _, Err(reason)) => Some(reason),
            (Ok(plan), Some(reference), Some(_), Ok(geometry)) => {
                work.video = geometry.is_some() || is_video_path(&reference);
                work.geometry = geometry;
                work.plan = Arc::clone(plan);
                None
            }
        };
        match problem {
            Some(reason) => {
                let reason = format!("manifest line {}: {reason}", work.line);
                Admission::Fail(work.failure(Stage::Manifest, reason, Vec::new()))
            }
            None => Admission::Run(work),
        }
    }
}

/// The raw-video geometry of a row: all of `width`, `height`, `pix_fmt`, or none.
fn geometry(row: &ManifestRow) -> Result<Option<VideoGeometry>, String> {
    match (row.get("width"), row.get("height"), row.get("pix_fmt")) {
        (None, None, None) => Ok(None),
        (Some(w), Some(h), Some(f)) => VideoGeometry::parse(&format!("{w}x{h}"), f).map(Some),
        _ => Err("width, height and pix_fmt must be given together".into()),
    }
}
