//! `qscore tune`: the largest encoder setting whose score meets a target, found by bisection
//! (`bisect.rs`), each probe encoded by ffmpeg into a work folder, scored against the
//! reference through the scheduler (decoded through a pipe, never to a YUV file) and deleted
//! once scored.

pub mod bisect;
mod cache;
pub mod encoders;
pub mod plot;

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
    /// qscore's cache folder, where finished probes are kept (`None`: not kept).
    pub cache_dir: Option<PathBuf>,
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
    /// The reference's duration in seconds (for bitrates), when known.
    pub duration_s: Option<f64>,
    /// Every probe, by setting.
    pub probes: Vec<Probe>,
    /// Probes that contradict the assumption that the score worsens as the setting rises.
    pub contradictions: Vec<(u32, u32)>,
}

impl TuneOutcome {
    /// The bitrate of an encode of `bytes` in kb/s, when the reference's duration is known.
    pub fn kbps(&self, bytes: u64) -> Option<f64> {
        self.duration_s.map(|d| bytes as f64 * 8.0 / 1000.0 / d)
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

/// A work folder of this run, removed (with what is left in it) when dropped or when a
/// signal stops the process.
struct WorkFolder {
    path: PathBuf,
    _on_stop: crate::interrupt::RemovedOnStop,
}

/// The prefix of run folders; the process id follows.
const RUN_FOLDER: &str = "qscore-tune-";

impl WorkFolder {
    fn create(inside: &Path) -> Result<Self, TuneError> {
        remove_abandoned(inside);
        let path = inside.join(format!("{RUN_FOLDER}{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| TuneError::Workdir {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let _on_stop = crate::interrupt::RemovedOnStop::new(&path);
        Ok(Self { path, _on_stop })
    }
}

/// Removes the run folders in `inside` of processes that no longer exist (a run killed with
/// SIGKILL, which nothing can clean up after).
fn remove_abandoned(inside: &Path) {
    let Ok(entries) = std::fs::read_dir(inside) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(RUN_FOLDER))
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            log::info!(
                "removing {}, left by a run that was killed",
                entry.path().display()
            );
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for WorkFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The encoder and the range of a request, once the request is known to make sense: the
/// encoder, range, metric and target are checked, and the reference is readable.
fn check_request(
    report: &LoadReport,
    options: &TuneOptions,
) -> Result<(&'static Encoder, (u32, u32)), TuneError> {
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
    Ok((encoder, range))
}

/// The probe cache of this search; without a cache folder, one that keeps nothing (and the
/// reference, possibly large, is not hashed).
fn open_cache(options: &TuneOptions, encoder: &Encoder) -> Result<cache::ProbeCache, TuneError> {
    let Some(folder) = options.cache_dir.as_deref() else {
        return Ok(cache::ProbeCache::none());
    };
    let reference = crate::batch::provenance::file_xxh3(&options.reference).map_err(|e| {
        ScoreError::Input(crate::InputError {
            path: options.reference.clone(),
            reason: e.to_string(),
        })
    })?;
    let params = crate::batch::provenance::param_records(&options.params);
    let identity = cache::Identity {
        reference,
        encoder: encoder.name,
        knob: encoder.knob,
        preset: options.preset.as_deref(),
        encoder_args: &options.encoder_args,
        metric: &options.target.0,
        pool: options.pool.name(),
        params: &params,
    };
    Ok(cache::ProbeCache::open(folder, &identity))
}

/// Runs the search.
pub fn tune(
    report: &LoadReport,
    scheduler: &Scheduler,
    options: &TuneOptions,
) -> Result<TuneOutcome, TuneError> {
    let (encoder, range) = check_request(report, options)?;
    let (lower, target) = (
        encoders::lower_is_better(&options.target.0),
        options.target.1,
    );
    let meets = |score: f64| {
        if lower {
            score <= target
        } else {
            score >= target
        }
    };
    let mut kept = open_cache(options, encoder)?;
    let work = WorkFolder::create(&options.workdir)?;
    // The first probe is the lowest CRF, the largest encode: until it is known, a quarter
    // of the reference file (raw video compresses far more at any useful CRF).
    let guess = std::fs::metadata(&options.reference).map_or(0, |m| m.len()) / 4;
    let mut probes: BTreeMap<u32, Probe> = BTreeMap::new();
    let found = bisect::search(range, meets, |crf| {
        let probe = match kept.get(crf) {
            Some(cached) => cached,
            None => {
                let largest = probes.values().map(|p| p.bytes).max().unwrap_or(guess);
                check_space(&options.workdir, &work.path, largest)?;
                let probe = run_probe(report, scheduler, options, encoder, &work.path, crf)?;
                kept.record(&probe);
                probe
            }
        };
        let score = probe.score;
        probes.insert(crf, probe);
        Ok::<f64, TuneError>(score)
    })?;
    let (met, crf) = match found {
        Found::Met(crf) => (true, crf),
        Found::NotMet(crf) => (false, crf),
    };
    let scores: BTreeMap<u32, f64> = probes.iter().map(|(&c, p)| (c, p.score)).collect();
    let better = |a: f64, b: f64| if lower { a < b } else { a > b };
    Ok(TuneOutcome {
        encoder: encoder.name.to_owned(),
        met,
        chosen: probes[&crf].clone(),
        duration_s: duration(&options.reference),
        contradictions: bisect::contradictions(&scores, better),
        probes: probes.into_values().collect(),
    })
}

/// Refuses to start an encode of about `expected` bytes (with a quarter more, and 1 MiB at
/// least) where the work folder has less free space, naming the folder given.
fn check_space(workdir: &Path, work: &Path, expected: u64) -> Result<(), TuneError> {
    let needed = (expected + expected / 4).max(1 << 20);
    let free = crate::batch::space::available_bytes(work).map_err(|e| TuneError::Workdir {
        path: workdir.to_path_buf(),
        reason: e.to_string(),
    })?;
    if free < needed {
        return Err(TuneError::Workdir {
            path: workdir.to_path_buf(),
            reason: format!(
                "{:.1} MiB free, and an encode needs about {:.1} MiB: free some space or give \
                 --workdir on another disk (finished probes are kept: the same command resumes)",
                free as f64 / f64::from(1 << 20),
                needed as f64 / f64::from(1 << 20)
            ),
        });
    }
    Ok(())
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
    let mut command = crate::video::ffmpeg::decoder_command("ffmpeg");
    command
        .args(["-v", "error", "-nostdin", "-y", "-i"])
        .arg(&options.reference)
        .args(["-map", "0:v:0", "-an", "-c:v", encoder.name, encoder.knob])
        .arg(crf.to_string())
        .args(encoder.constant_quality)
        .args(options.preset.iter().flat_map(|p| ["-preset", p.as_str()]))
        .args(&options.encoder_args)
        .arg(&encode)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (status, stderr) =
        run_tracked(command).map_err(|e| TuneError::Request(format!("cannot run ffmpeg: {e}")))?;
    if !status.success() {
        let _ = std::fs::remove_file(&encode);
        let reason = stderr.trim().to_owned();
        if reason.contains("No space left on device") {
            return Err(TuneError::Workdir {
                path: options.workdir.clone(),
                reason: format!(
                    "full while encoding at {} {crf} (finished probes are kept: free some \
                     space and run the same command again)",
                    encoder.knob
                ),
            });
        }
        return Err(TuneError::Encode {
            encoder: encoder.name.to_owned(),
            knob: encoder.knob,
            crf,
            reason: if reason.is_empty() {
                format!("ffmpeg exited with {status}")
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
        cached: false,
    })
}

/// Runs an encoder that a signal stopping qscore kills: its status and standard error.
fn run_tracked(mut command: Command) -> std::io::Result<(std::process::ExitStatus, String)> {
    let mut child = command.spawn()?;
    let tracked = crate::interrupt::track(&child);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let status = tracked.reap(&mut child)?;
    Ok((status, stderr))
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
