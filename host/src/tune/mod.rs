//! `qscore tune`: the largest encoder setting whose score meets a target, found by a search
//! in rounds (`bisect.rs`, `rounds.rs`): each probe encoded by ffmpeg into a work folder
//! (`workdir.rs`, `encode.rs`), scored against the reference through the scheduler (decoded
//! through a pipe, never to a YUV file) and deleted once scored; finished probes are kept
//! across runs (`cache.rs`).

pub mod bisect;
mod cache;
mod encode;
pub mod encoders;
pub mod plot;
mod rounds;
mod workdir;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::{
    LoadReport, ScoreError,
    sched::Scheduler,
    video::{
        ClipOptions, Pooled, VideoScores,
        excerpt::{self, Excerpt},
    },
};
use bisect::Found;
use encoders::Encoder;
use rounds::{Lane, Prober, Task};
/// How a clip's per-frame scores become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// The mean.
    Mean,
    /// libvmaf's harmonic mean.
    HarmonicMean,
    /// The 5th percentile.
    P5,
    /// The smallest value (the largest for a metric where lower is better).
    Min,
}

impl Pool {
    /// Parses `mean`, `harmonic_mean`, `p5` or `min`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "mean" => Ok(Self::Mean),
            "harmonic_mean" => Ok(Self::HarmonicMean),
            "p5" => Ok(Self::P5),
            "min" => Ok(Self::Min),
            _ => Err(format!("{text:?} (use mean, harmonic_mean, p5 or min)")),
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mean => "mean",
            Self::HarmonicMean => "harmonic_mean",
            Self::P5 => "p5",
            Self::Min => "min",
        }
    }

    fn of(self, pooled: &Pooled, lower_is_better: bool) -> f64 {
        match (self, lower_is_better) {
            (Self::Mean, _) => pooled.mean,
            (Self::HarmonicMean, _) => pooled.harmonic_mean,
            (Self::P5, false) => pooled.p5,
            (Self::P5, true) => pooled.p95,
            (Self::Min, false) => pooled.min,
            (Self::Min, true) => pooled.max,
        }
    }
}

/// What to tune.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// The reference clip.
    pub reference: PathBuf,
    /// The encoders (ffmpeg's names): one search each.
    pub encoders: Vec<String>,
    /// The metric (or output name) and the value to reach.
    pub target: (String, f64),
    /// The search range; `None` for each encoder's default.
    pub range: Option<(u32, u32)>,
    /// `-preset`.
    pub preset: Option<String>,
    /// More encoder arguments, passed as they are.
    pub encoder_args: Vec<String>,
    /// Pooling over frames.
    pub pool: Pool,
    /// Metric parameters: (metric id, key, value).
    pub params: Vec<(String, String, String)>,
    /// Tune on these excerpts of the reference only (the whole of it when empty).
    pub samples: Vec<Excerpt>,
    /// Encode and score the whole reference at each chosen setting too.
    pub confirm: bool,
    /// Encodes run at once.
    pub jobs: usize,
    /// Where scored encodes are kept (`None`: deleted).
    pub keep_encodes: Option<PathBuf>,
    /// Where encodes are written (a fresh folder inside it, removed at the end).
    pub workdir: PathBuf,
    /// Scoring: which plugin, how many clips at once and in lock step.
    pub clips: ClipOptions,
    /// Encodes decoded to the reference's size and format with this scaler (for encoder
    /// arguments that change the size or format).
    pub scale: Option<crate::video::Scaler>,
    /// Score every Nth frame of each encode ([`crate::video::VideoJob::subsample`]).
    pub subsample: u64,
    /// qscore's cache folder, where finished probes are kept (`None`: not kept).
    pub cache_dir: Option<PathBuf>,
}

/// Encodes at once by default: encoders use several threads each, so a quarter of the
/// logical CPUs, 1 to 4.
pub fn default_jobs() -> usize {
    (qscore_core::sdk::resources::cpu_count() / 4).clamp(1, 4)
}

impl TuneOptions {
    /// The pooled value of the target metric in a clip's scores.
    fn pooled_score(&self, scores: &VideoScores) -> Result<f64, TuneError> {
        let lower = encoders::lower_is_better(&self.target.0);
        scores
            .pooled
            .iter()
            .find(|(name, _)| *name == self.target.0)
            .map(|(_, pooled)| self.pool.of(pooled, lower))
            .ok_or_else(|| {
                let names: Vec<&str> = scores.pooled.iter().map(|(n, _)| n.as_str()).collect();
                TuneError::Request(format!(
                    "{} gives {} on this clip: target one of them",
                    self.target.0,
                    names.join(", ")
                ))
            })
    }
}

/// One encode and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The setting.
    pub crf: u32,
    /// The pooled score.
    pub score: f64,
    /// The encode's size.
    pub bytes: u64,
    /// Encoding and scoring time.
    pub seconds: f64,
    /// Whether an earlier run made it (the probe cache).
    pub cached: bool,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// The encoder.
    pub encoder: String,
    /// Whether a setting in the range meets the target.
    pub met: bool,
    /// The largest setting meeting the target, or the closest (lowest) when none does.
    pub chosen: Probe,
    /// The seconds of video each probe encodes (the excerpts', or the whole reference's),
    /// for bitrates, when known.
    pub duration_s: Option<f64>,
    /// Every probe, by setting.
    pub probes: Vec<Probe>,
    /// The chosen setting encoded and scored on the whole reference (`--confirm`).
    pub confirmation: Option<Confirmation>,
    /// Probes that contradict the assumption that the score worsens as the setting rises.
    pub contradictions: Vec<(u32, u32)>,
}

impl TuneOutcome {
    /// The bitrate of an encode of `bytes` in kb/s, when the reference's duration is known.
    pub fn kbps(&self, bytes: u64) -> Option<f64> {
        self.duration_s.map(|d| bytes as f64 * 8.0 / 1000.0 / d)
    }
}

/// The chosen setting on the whole reference.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// The whole reference's encode at the chosen setting, and its score.
    pub probe: Probe,
    /// Whether it meets the target too.
    pub met: bool,
    /// The reference's duration in seconds, when known.
    pub duration_s: Option<f64>,
}

impl Confirmation {
    /// The bitrate of the encode in kb/s, when the duration is known.
    pub fn kbps(&self) -> Option<f64> {
        self.duration_s
            .map(|d| self.probe.bytes as f64 * 8.0 / 1000.0 / d)
    }
}

/// What stops a tune.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// The request is wrong: unknown encoder, range or metric, a target out of range.
    #[error("{0}")]
    Request(String),
    /// The reference or an encode could not be scored.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// ffmpeg failed to encode at a setting.
    #[error("{encoder} at {knob} {crf} failed: {reason}")]
    Encode {
        /// The encoder.
        encoder: String,
        /// Its knob.
        knob: &'static str,
        /// The setting.
        crf: u32,
        /// ffmpeg's message.
        reason: String,
    },
    /// The work folder could not be used.
    #[error("{path}: {reason}", path = .path.display())]
    Workdir {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// An encoder and the range searched.
type EncoderRange = (&'static Encoder, (u32, u32));

/// The encoders and ranges of a request, and the reference's duration, once the request is
/// known to make sense: the encoders, ranges, metric, target and excerpts are checked, and
/// the reference is readable.
fn check_request(
    report: &LoadReport,
    options: &TuneOptions,
) -> Result<(Vec<EncoderRange>, Option<f64>), TuneError> {
    let mut encoders = Vec::new();
    for name in &options.encoders {
        let encoder = encoders::find(name).map_err(TuneError::Request)?;
        let range = options.range.unwrap_or(encoder.default_range);
        encoders::check_range(encoder, range).map_err(TuneError::Request)?;
        encoders.push((encoder, range));
    }
    let (metric, target) = (&options.target.0, options.target.1);
    crate::resolve_metrics(report, std::slice::from_ref(metric))?;
    if let Some((low, high)) = encoders::metric_range(metric)
        && !(low..=high).contains(&target)
    {
        return Err(TuneError::Request(format!(
            "target {metric}={target} is outside {metric}'s values ({low} to {high})"
        )));
    }
    // An unreadable reference is said as such, not as the first encode's failure.
    crate::video::open_video(&options.reference, None).map_err(ScoreError::from)?;
    let length = duration(&options.reference);
    if let Some(length) = length {
        excerpt::check(&options.samples, length).map_err(|reason| {
            TuneError::Request(format!("{}: {reason}", options.reference.display()))
        })?;
    }
    Ok((encoders, length))
}

/// The probe cache of one encoder's searches on `samples` (the whole reference when empty);
/// without a cache folder, one that keeps nothing (and the reference, possibly large, is
/// not hashed).
fn open_cache(
    options: &TuneOptions,
    reference: Option<u64>,
    encoder: &Encoder,
    samples: &[Excerpt],
) -> cache::ProbeCache {
    let (Some(folder), Some(reference)) = (options.cache_dir.as_deref(), reference) else {
        return cache::ProbeCache::none();
    };
    let params = crate::batch::provenance::param_records(&options.params);
    let samples: Vec<(f64, f64)> = samples.iter().map(|e| (e.start, e.duration)).collect();
    let identity = cache::Identity {
        reference,
        encoder: encoder.name,
        knob: encoder.knob,
        preset: options.preset.as_deref(),
        encoder_args: &options.encoder_args,
        metric: &options.target.0,
        pool: options.pool.name(),
        params: &params,
        samples: &samples,
        scale: options.scale.map(crate::video::Scaler::name),
        subsample: options.subsample,
    };
    cache::ProbeCache::open(folder, &identity)
}

/// The reference's content hash, for the probe cache (none without a cache folder).
fn reference_hash(options: &TuneOptions) -> Result<Option<u64>, TuneError> {
    if options.cache_dir.is_none() {
        return Ok(None);
    }
    crate::batch::provenance::file_xxh3(&options.reference)
        .map(Some)
        .map_err(|e| {
            TuneError::Score(ScoreError::Input(crate::InputError {
                path: options.reference.clone(),
                reason: e.to_string(),
            }))
        })
}

/// The answers of a tune.
#[derive(Debug, Clone)]
pub struct Tuned {
    /// One per encoder, in the order asked.
    pub outcomes: Vec<TuneOutcome>,
    /// Rounds of encodes scored together (the reference read once each).
    pub rounds: usize,
    /// Encodes made (not taken from the probe cache).
    pub encodes: usize,
}

/// Runs one search per encoder, and the confirmations asked for.
pub fn tune(
    report: &LoadReport,
    scheduler: &Scheduler,
    options: &TuneOptions,
) -> Result<Tuned, TuneError> {
    let (encoders, length) = check_request(report, options)?;
    if let Some(folder) = &options.keep_encodes {
        std::fs::create_dir_all(folder).map_err(|e| TuneError::Workdir {
            path: folder.clone(),
            reason: format!("cannot keep encodes here: {e}"),
        })?;
    }
    let reference = reference_hash(options)?;
    let work = workdir::WorkFolder::create(&options.workdir)?;
    let prober = Prober {
        report,
        scheduler,
        options,
        work: &work,
        rounds: Default::default(),
    };
    let mut lanes: Vec<Lane> = encoders
        .iter()
        .map(|&(encoder, range)| {
            let cache = open_cache(options, reference, encoder, &options.samples);
            Lane::new(encoder, range, cache)
        })
        .collect();
    let covered = length.map(|l| excerpt::covered(&options.samples, l));
    // The first probe's size, until one is known: a quarter of the reference file's share
    // (raw video compresses far more at any useful CRF).
    let file = std::fs::metadata(&options.reference).map_or(0, |m| m.len());
    let share = match (covered, length) {
        (Some(c), Some(l)) if l > 0.0 => (c / l).min(1.0),
        _ => 1.0,
    };
    prober.search(&mut lanes, (file as f64 * share / 4.0) as u64)?;
    let mut outcomes: Vec<TuneOutcome> = lanes
        .into_iter()
        .map(|lane| outcome(&prober, lane, covered))
        .collect();
    if options.confirm && !options.samples.is_empty() {
        confirm(&prober, &mut outcomes, reference, length, share)?;
    }
    let made = |o: &TuneOutcome| {
        let confirmed = o.confirmation.iter().map(|c| &c.probe);
        o.probes
            .iter()
            .chain(confirmed)
            .filter(|p| !p.cached)
            .count()
    };
    Ok(Tuned {
        encodes: outcomes.iter().map(made).sum(),
        outcomes,
        rounds: prober.rounds.get(),
    })
}

/// One lane's answer.
fn outcome(prober: &Prober<'_>, lane: Lane, duration_s: Option<f64>) -> TuneOutcome {
    let (met, crf) = match lane.search.found() {
        Some(Found::Met(crf)) => (true, crf),
        Some(Found::NotMet(crf)) => (false, crf),
        None => (false, crf_or_lowest(&lane)),
    };
    let lower = encoders::lower_is_better(&prober.options.target.0);
    let scores: BTreeMap<u32, f64> = lane.probes.iter().map(|(&c, p)| (c, p.score)).collect();
    let better = |a: f64, b: f64| if lower { a < b } else { a > b };
    TuneOutcome {
        encoder: lane.encoder.name.to_owned(),
        met,
        chosen: lane.probes[&crf].clone(),
        duration_s,
        contradictions: bisect::contradictions(&scores, better),
        probes: lane.probes.into_values().collect(),
        confirmation: None,
    }
}

/// The lowest setting probed (a search that ended unmet ends at its range's start).
fn crf_or_lowest(lane: &Lane) -> u32 {
    lane.probes.keys().next().copied().unwrap_or_default()
}

/// Encodes and scores the whole reference at each encoder's chosen setting, in one round.
/// These probes are kept in the cache of searches on the whole reference.
fn confirm(
    prober: &Prober<'_>,
    outcomes: &mut [TuneOutcome],
    reference: Option<u64>,
    length: Option<f64>,
    share: f64,
) -> Result<(), TuneError> {
    let mut caches = Vec::new();
    let mut tasks = Vec::new();
    for outcome in outcomes.iter() {
        let encoder = encoders::find(&outcome.encoder).map_err(TuneError::Request)?;
        let cache = open_cache(prober.options, reference, encoder, &[]);
        let expected = (outcome.chosen.bytes as f64 / share.max(1e-6)) as u64;
        tasks.push(Task {
            encoder,
            crf: outcome.chosen.crf,
            expected,
        });
        caches.push(cache);
    }
    let missing: Vec<Task> = tasks
        .iter()
        .zip(&caches)
        .filter(|(t, c)| c.get(t.crf).is_none())
        .map(|(t, _)| t.clone())
        .collect();
    let mut made = prober.probe(&missing, &[])?.into_iter();
    for ((outcome, task), cache) in outcomes.iter_mut().zip(&tasks).zip(&mut caches) {
        let probe = match cache.get(task.crf) {
            Some(cached) => cached,
            None => {
                let probe = made.next().expect("a probe per missing task");
                cache.record(&probe);
                probe
            }
        };
        outcome.confirmation = Some(Confirmation {
            met: prober.meets(probe.score),
            probe,
            duration_s: length,
        });
    }
    Ok(())
}

/// The reference's duration in seconds, from ffprobe; `None` when it cannot tell.
fn duration(reference: &Path) -> Option<f64> {
    let output = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=noprint_wrappers=1:nokey=1",
        ])
        .arg(reference)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|d| *d > 0.0)
}
