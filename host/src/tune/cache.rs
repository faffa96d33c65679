//! Finished probes, kept across runs, so that a tune killed at any moment and run again
//! encodes no finished probe again.
//!
//! One lines file per search identity (the reference's content, the encoder, its knob,
//! preset and arguments, the metric, its pooling and parameters with their files' content,
//! the excerpts searched)
//! in `tune/` under qscore's cache folder; each line is one probe, made durable before the
//! search goes on. A line that does not read as a probe (a file from another version, a
//! damaged disk) is ignored with a warning.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use super::Probe;
use crate::batch::journal::{LineFile, read_lines};

/// What makes two probes at one setting the same.
#[derive(Debug, Serialize)]
pub(crate) struct Identity<'a> {
    /// xxh3-64 of the reference file's bytes.
    pub(crate) reference: u64,
    pub(crate) encoder: &'a str,
    pub(crate) knob: &'a str,
    pub(crate) preset: Option<&'a str>,
    pub(crate) encoder_args: &'a [String],
    pub(crate) metric: &'a str,
    pub(crate) pool: &'a str,
    pub(crate) params: &'a [crate::batch::provenance::ParamRecord],
    /// The excerpts searched, `(start, duration)`; none for the whole reference (then not
    /// written, so that searches of the whole reference keep their cache across versions).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(crate) samples: &'a [(f64, f64)],
    /// The scaler encodes are decoded with; not written when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scale: Option<&'a str>,
    /// Every Nth frame scored; not written when every frame is.
    #[serde(skip_serializing_if = "every_frame")]
    pub(crate) subsample: u64,
}

fn every_frame(subsample: &u64) -> bool {
    *subsample <= 1
}

impl Identity<'_> {
    fn digest(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    crf: u32,
    score: f64,
    bytes: u64,
    seconds: f64,
}

/// The probes of one search identity.
pub(crate) struct ProbeCache {
    file: Option<LineFile>,
    known: HashMap<u32, Probe>,
}

impl ProbeCache {
    /// A cache that keeps nothing.
    pub(crate) fn none() -> Self {
        Self {
            file: None,
            known: HashMap::new(),
        }
    }

    /// The cache of `identity` under `folder`.
    pub(crate) fn open(folder: &Path, identity: &Identity<'_>) -> Self {
        let mut cache = Self::none();
        let path: PathBuf = folder
            .join("tune")
            .join(format!("{:016x}.jsonl", identity.digest()));
        if let Err(error) = std::fs::create_dir_all(path.parent().unwrap_or(folder)) {
            log::warn!("{}: no probe cache: {error}", path.display());
            return cache;
        }
        // Opened first: it cuts off a line torn by a kill.
        match LineFile::open(&path) {
            Ok(file) => cache.file = Some(file),
            Err(error) => log::warn!("{}: probes will not be kept: {error}", path.display()),
        }
        let mut ignored = 0;
        if let Ok(Some(lines)) = read_lines(&path) {
            for line in lines.map_while(Result::ok) {
                match serde_json::from_str::<Line>(&line) {
                    Ok(l) => {
                        cache.known.insert(
                            l.crf,
                            Probe {
                                crf: l.crf,
                                score: l.score,
                                bytes: l.bytes,
                                seconds: l.seconds,
                                cached: true,
                            },
                        );
                    }
                    Err(_) => ignored += 1,
                }
            }
        }
        if ignored > 0 {
            eprintln!(
                "qscore: warning: {}: ignored {ignored} line(s) that are not probes",
                path.display()
            );
        }
        cache
    }

    /// The probe at `crf`, if a run made it.
    pub(crate) fn get(&self, crf: u32) -> Option<Probe> {
        self.known.get(&crf).cloned()
    }

    /// Keeps `probe`, durably, before the search goes on.
    pub(crate) fn record(&mut self, probe: &Probe) {
        let Some(file) = &mut self.file else { return };
        let line = Line {
            crf: probe.crf,
            score: probe.score,
            bytes: probe.bytes,
            seconds: probe.seconds,
        };
        file.push(&serde_json::to_string(&line).unwrap_or_default());
        if let Err(error) = file.sync() {
            log::warn!("{}: probe not kept: {error}", file.path().display());
        }
    }
}
