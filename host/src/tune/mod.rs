//! `qscore tune`: the largest encoder setting whose score meets a target, found by bisection
//! (`bisect.rs`), each probe encoded by ffmpeg into a work folder, scored against the
//! reference through the scheduler (decoded through a pipe, never to a YUV file) and deleted
//! once scored.

pub mod bisect;
pub mod encoders;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use crate::{
    LoadReport, ScoreError,
    sched::Scheduler,
    video::{ClipOptions, Pooled, VideoJob, score_videos},
};
use bisect::Found;
use encoders::Encoder;

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
    /// The encoder (ffmpeg's name).
    pub encoder: String,
    /// The metric (or output name) and the value to reach.
    pub target: (String, f64),
    /// The search range; `None` for the encoder's default.
    pub range: Option<(u32, u32)>,
    /// `-preset`.
    pub preset: Option<String>,
    /// More encoder arguments, passed as they are.
    pub encoder_args: Vec<String>,
    /// Pooling over frames.
    pub pool: Pool,
    /// Metric parameters: (metric id, key, value).
    pub params: Vec<(String, String, String)>,
    /// Where encodes are written (a fresh folder inside it, removed at the end).
    pub workdir: PathBuf,
    /// Scoring: which plugin, how many clips at once.
    pub clips: ClipOptions,
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
    /// The reference's duration in seconds (for bitrates), when known.
    pub duration_s: Option<f64>,
    /// Every probe, by setting.
    pub probes: Vec<Probe>,
    /// Probes that contradict the assumption that the score worsens as the setting rises.
    pub contradictions: Vec<(u32, u32)>,
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

/// A work folder of this run, removed (with what is left in it) when dropped.
struct WorkFolder(PathBuf);

impl WorkFolder {
    fn create(inside: &Path) -> Result<Self, TuneError> {
        let path = inside.join(format!("qscore-tune-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| TuneError::Workdir {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        Ok(Self(path))
    }
}

impl Drop for WorkFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the search.
pub fn tune(
    report: &LoadReport,
    scheduler: &Scheduler,
    options: &TuneOptions,
) -> Result<TuneOutcome, TuneError> {
    let encoder = encoders::find(&options.encoder).map_err(TuneError::Request)?;
    let range = options.range.unwrap_or(encoder.default_range);
    encoders::check_range(encoder, range).map_err(TuneError::Request)?;
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
    let lower = encoders::lower_is_better(metric);
    let meets = |score: f64| {
        if lower {
            score <= target
        } else {
            score >= target
        }
    };
    let work = WorkFolder::create(&options.workdir)?;
    let mut details: BTreeMap<u32, Probe> = BTreeMap::new();
    let mut scores = BTreeMap::new();
    let found = bisect::search(range, meets, &mut scores, |crf| {
        let probe = run_probe(report, scheduler, options, encoder, &work.0, crf)?;
        let score = probe.score;
        details.insert(crf, probe);
        Ok::<f64, TuneError>(score)
    })?;
    let (met, crf) = match found {
        Found::Met(crf) => (true, crf),
        Found::NotMet(crf) => (false, crf),
    };
    let better = |a: f64, b: f64| if lower { a < b } else { a > b };
    Ok(TuneOutcome {
        encoder: encoder.name.to_owned(),
        met,
        chosen: details[&crf].clone(),
        duration_s: duration(&options.reference),
        contradictions: bisect::contradictions(&scores, better),
        probes: details.into_values().collect(),
    })
}

/// Encodes the reference at `crf`, scores the encode and deletes it.
fn run_probe(
    report: &LoadReport,
    scheduler: &Scheduler,
    options: &TuneOptions,
    encoder: &Encoder,
    work: &Path,
    crf: u32,
) -> Result<Probe, TuneError> {
    let started = Instant::now();
    let encode = work.join(format!("{}-{crf}.mkv", encoder.name));
    log::info!("encoding {} at {} {crf}", encoder.name, encoder.knob);
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-i"])
        .arg(&options.reference)
        .args(["-map", "0:v:0", "-an", "-c:v", encoder.name, encoder.knob])
        .arg(crf.to_string())
        .args(encoder.constant_quality)
        .args(options.preset.iter().flat_map(|p| ["-preset", p.as_str()]))
        .args(&options.encoder_args)
        .arg(&encode)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TuneError::Request(format!("cannot run ffmpeg: {e}")))?;
    if !output.status.success() {
        let _ = std::fs::remove_file(&encode);
        let reason = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        return Err(TuneError::Encode {
            encoder: encoder.name.to_owned(),
            knob: encoder.knob,
            crf,
            reason: if reason.is_empty() {
                format!("ffmpeg exited with {}", output.status)
            } else {
                reason
            },
        });
    }
    let bytes = std::fs::metadata(&encode).map_or(0, |m| m.len());
    let job = VideoJob {
        metrics: vec![options.target.0.clone()],
        params: options.params.clone(),
        geometry: None,
        frames: None,
        deadline: None,
    };
    let mut result = None;
    let scored = score_videos(
        report,
        scheduler,
        &job,
        &options.clips,
        &options.reference,
        std::slice::from_ref(&encode),
        |_, scores| result = Some(scores),
    );
    let _ = std::fs::remove_file(&encode);
    scored?;
    let scores = result.expect("one clip scored")?;
    let lower = encoders::lower_is_better(&options.target.0);
    let score = scores
        .pooled
        .iter()
        .find(|(name, _)| *name == options.target.0)
        .map(|(_, pooled)| options.pool.of(pooled, lower))
        .ok_or_else(|| {
            let names: Vec<&str> = scores.pooled.iter().map(|(n, _)| n.as_str()).collect();
            TuneError::Request(format!(
                "{} gives {} on this clip: target one of them",
                options.target.0,
                names.join(", ")
            ))
        })?;
    Ok(Probe {
        crf,
        score,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
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
