//! `qscore tune`.

use std::{path::PathBuf, process::ExitCode};

use qscore_host::{
    LoadReport,
    sched::SchedulerOptions,
    tune::{Pool, TuneOptions, TuneOutcome, default_jobs, tune},
    video::{ClipOptions, Scaler, excerpt::Excerpt, lockstep_for},
};
use serde_json::json;

use super::score::parse_param;

/// Arguments of `qscore tune`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference clip (Y4M or any container ffmpeg decodes).
    reference: PathBuf,
    /// The encoder: libx264, libx265, libsvtav1, libaom-av1 or libvpx-vp9. Repeat it to
    /// compare encoders: one search each, ranked by size at the target (`--preset` and
    /// `--encoder-args` go to every one).
    #[arg(long, required = true)]
    encoder: Vec<String>,
    /// The score to reach, `METRIC=VALUE` (e.g. `vmaf=93`; for butteraugli, at most VALUE).
    #[arg(long, value_parser = parse_target)]
    target: (String, f64),
    /// The CRF range searched, `LO:HI` (default per encoder, e.g. 16:40 for libx264).
    #[arg(long, value_parser = parse_range)]
    range: Option<(u32, u32)>,
    /// The encoder's `-preset`.
    #[arg(long)]
    preset: Option<String>,
    /// More encoder arguments, as one string split at spaces (e.g. "-tune film").
    #[arg(long = "encoder-args", allow_hyphen_values = true, default_value = "")]
    encoder_args: String,
    /// Pooling of the frames' scores: mean, harmonic_mean, p5 or min.
    #[arg(long, default_value = "mean", value_parser = Pool::parse)]
    pool: Pool,
    /// A metric parameter, `METRIC.KEY=VALUE` (repeatable).
    #[arg(long = "param", value_name = "METRIC.KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String, String)>,
    /// Decode each distorted clip (but raw YUV) to the reference's size and pixel format
    /// with ffmpeg's scaler FILTER (bicubic, bilinear, lanczos, spline, …), as VMAF scores a
    /// lower rung of a bitrate ladder (for --encoder-args that scale); without it, a clip of another size or format is an
    /// error.
    #[arg(long, value_name = "FILTER", value_parser = Scaler::parse)]
    scale: Option<Scaler>,
    /// Score only every Nth frame (0, N, 2N, …), as libvmaf's `--subsample N`: every frame
    /// is still decoded and VMAF's motion still sees each scored frame's neighbours, so a
    /// scored frame's values are unchanged; means and pooling are over the scored frames.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    subsample: u64,
    /// Tune on this excerpt of the reference, `START:DURATION` in seconds (repeatable: the
    /// excerpts are encoded and scored back to back), instead of the whole of it.
    #[arg(long = "sample", value_name = "START:DURATION", value_parser = Excerpt::parse)]
    samples: Vec<Excerpt>,
    /// With --sample: encode and score the whole reference at the chosen setting too, and
    /// say whether it meets the target there (exit 3 if not).
    #[arg(long, requires = "samples")]
    confirm: bool,
    /// Encodes run at once (default: a quarter of the logical CPUs, 1 to 4). A search of one
    /// encoder then probes that many settings a round, in fewer rounds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    jobs: Option<u64>,
    /// Distorted clips decoded at once while a round of encodes is scored, the reference
    /// read and prepared once for them (default: as many as fit 1 GiB of frames held).
    #[arg(long = "max-concurrent-decodes", value_name = "N")]
    max_decodes: Option<usize>,
    /// Keep each scored encode in DIR (named after the reference, encoder and setting)
    /// instead of deleting it.
    #[arg(long = "keep-encodes", value_name = "DIR")]
    keep_encodes: Option<PathBuf>,
    /// Where encodes are written while they are scored (a folder of this run inside it is
    /// removed at the end; default: the temporary folder).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Use only this plugin for scoring.
    #[arg(long)]
    backend: Option<String>,
    /// CPU worker threads (default: logical CPUs).
    #[arg(long)]
    workers: Option<usize>,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Draws the probes to FILE.svg or FILE.png: score against bitrate, one curve per
    /// encoder, the target as a line, each chosen point ringed.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    plot: Option<PathBuf>,
}

fn parse_target(text: &str) -> Result<(String, f64), String> {
    let (metric, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not METRIC=VALUE (e.g. vmaf=93)"))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: {value:?} is not a number"))?;
    Ok((metric.trim().to_owned(), value))
}

fn parse_range(text: &str) -> Result<(u32, u32), String> {
    let (lo, hi) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not LO:HI (e.g. 18:40)"))?;
    let number = |n: &str| {
        n.trim()
            .parse::<u32>()
            .map_err(|_| format!("{text:?}: {n:?} is not a whole number"))
    };
    Ok((number(lo)?, number(hi)?))
}

/// Exit code when no setting in the range meets the target.
const NOT_MET: u8 = 3;

/// The searches that `args` ask for.
fn tune_options(args: &Args, cache_dir: Option<PathBuf>) -> TuneOptions {
    let workers = args
        .workers
        .unwrap_or_else(qscore_core::sdk::resources::cpu_count);
    TuneOptions {
        reference: args.reference.clone(),
        encoders: args.encoder.clone(),
        target: args.target.clone(),
        range: args.range,
        preset: args.preset.clone(),
        encoder_args: args
            .encoder_args
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        pool: args.pool,
        params: args.params.clone(),
        samples: args.samples.clone(),
        confirm: args.confirm,
        jobs: args.jobs.map_or_else(default_jobs, |j| j as usize),
        keep_encodes: args.keep_encodes.clone(),
        workdir: args.workdir.clone().unwrap_or_else(std::env::temp_dir),
        clips: ClipOptions {
            backend: args.backend.clone(),
            workers: workers.min(args.max_decodes.unwrap_or(workers)).max(1),
            lockstep: args
                .max_decodes
                .unwrap_or_else(|| lockstep_for(&args.reference, None, workers))
                .max(1),
        },
        cache_dir,
        scale: args.scale,
        subsample: args.subsample,
    }
}

pub(crate) fn run(args: &Args, report: &LoadReport, mut options: SchedulerOptions) -> ExitCode {
    super::warn_load_errors(report);
    options.backend = args.backend.clone();
    if let Some(workers) = args.workers {
        options.cpu_workers = workers.max(1);
    }
    let cache_dir = options.cache_dir.clone();
    let Some(scheduler) = super::scheduler(report, options) else {
        return ExitCode::from(1);
    };
    let scheduler = &scheduler;
    if let Some(path) = &args.plot
        && let Err(error) = qscore_host::tune::plot::check_path(path)
    {
        eprintln!("qscore: error: {error}");
        return ExitCode::from(1);
    }
    let tuned = match tune(report, scheduler, &tune_options(args, cache_dir)) {
        Ok(tuned) => tuned,
        Err(error) => {
            eprintln!("qscore: error: {error}");
            return ExitCode::from(1);
        }
    };
    let outcomes = &tuned.outcomes;
    let (reused, prepared) = scheduler.reference_counts();
    note!(
        "qscore: tune: {} encodes in {} rounds; prepared reference frames: {reused} reused, \
         {prepared} prepared",
        tuned.encodes,
        tuned.rounds
    );
    if args.json {
        out!("{}", outcomes_json(args, outcomes));
    } else {
        print_outcomes(args, outcomes);
    }
    for outcome in outcomes {
        warn_about(args, outcome);
    }
    if let Some(path) = &args.plot
        && let Err(error) =
            qscore_host::tune::plot::plot(path, outcomes, (&args.target.0, args.target.1))
    {
        eprintln!("qscore: error: {error}");
        return ExitCode::from(1);
    }
    let confirmed = |o: &TuneOutcome| o.confirmation.as_ref().is_none_or(|c| c.met);
    if outcomes.iter().all(|o| o.met && confirmed(o)) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(NOT_MET)
    }
}

/// One encoder's object, or for several every encoder's and the ranking.
fn outcomes_json(args: &Args, outcomes: &[TuneOutcome]) -> serde_json::Value {
    if let [one] = outcomes {
        return to_json(args, one);
    }
    let ranked: Vec<_> = ranking(outcomes)
        .iter()
        .map(|o| {
            json!({
                "encoder": o.encoder,
                "met": o.met,
                "crf": o.chosen.crf,
                "bytes": o.chosen.bytes,
            })
        })
        .collect();
    json!({
        "target": { "metric": args.target.0, "value": args.target.1 },
        "encoders": outcomes.iter().map(|o| to_json(args, o)).collect::<Vec<_>>(),
        "ranking": ranked,
    })
}

/// A table per encoder and, for several, the ranking.
fn print_outcomes(args: &Args, outcomes: &[TuneOutcome]) {
    for outcome in outcomes {
        if outcomes.len() > 1 {
            out!("{}:", outcome.encoder);
        }
        print_table(args, outcome);
    }
    if outcomes.len() > 1 {
        let ranked: Vec<String> = ranking(outcomes)
            .iter()
            .map(|o| {
                format!(
                    "{} {} bytes at CRF {}",
                    o.encoder, o.chosen.bytes, o.chosen.crf
                )
            })
            .collect();
        out!("smallest at the target first: {}", ranked.join(", "));
    }
}

/// The encoders that meet the target, smallest encode first, then those that do not.
fn ranking(outcomes: &[TuneOutcome]) -> Vec<&TuneOutcome> {
    let mut ranked: Vec<&TuneOutcome> = outcomes.iter().collect();
    ranked.sort_by_key(|o| (!o.met, o.chosen.bytes));
    ranked
}

/// The warnings of one search: contradicting probes, and a target not met.
fn warn_about(args: &Args, outcome: &TuneOutcome) {
    for (low, high) in &outcome.contradictions {
        note!(
            "qscore: warning: {}: {} scores better at CRF {high} than at {low}: the search \
             assumes the score worsens as CRF rises, so its answer may not be the largest CRF \
             that meets the target",
            outcome.encoder,
            args.target.0
        );
    }
    if let Some(c) = outcome.confirmation.as_ref().filter(|c| !c.met) {
        note!(
            "qscore: {}: CRF {} meets {}={} on the excerpts but not on the whole reference \
             ({:.4}): tune on more or longer excerpts, or on the whole reference",
            outcome.encoder,
            c.probe.crf,
            args.target.0,
            args.target.1,
            c.probe.score
        );
    }
    if !outcome.met {
        note!(
            "qscore: {}: no CRF in the range meets {}={}; the closest is CRF {} ({:.4})",
            outcome.encoder,
            args.target.0,
            args.target.1,
            outcome.chosen.crf,
            outcome.chosen.score
        );
    }
}

fn to_json(args: &Args, outcome: &TuneOutcome) -> serde_json::Value {
    let probes: Vec<_> = outcome
        .probes
        .iter()
        .map(|p| {
            json!({
                "crf": p.crf,
                "score": p.score,
                "bytes": p.bytes,
                "bitrate_kbps": outcome.kbps(p.bytes),
                "seconds": p.seconds,
                "cached": p.cached,
            })
        })
        .collect();
    let confirmation = outcome.confirmation.as_ref().map(|c| {
        json!({
            "crf": c.probe.crf,
            "score": c.probe.score,
            "met": c.met,
            "bytes": c.probe.bytes,
            "bitrate_kbps": c.kbps(),
            "seconds": c.probe.seconds,
            "cached": c.probe.cached,
        })
    });
    let samples: Vec<_> = args
        .samples
        .iter()
        .map(|e| json!({ "start": e.start, "duration": e.duration }))
        .collect();
    json!({
        "encoder": outcome.encoder,
        "met": outcome.met,
        "crf": outcome.chosen.crf,
        "score": outcome.chosen.score,
        "bytes": outcome.chosen.bytes,
        "bitrate_kbps": outcome.kbps(outcome.chosen.bytes),
        "target": { "metric": args.target.0, "value": args.target.1 },
        "probes": probes,
        "samples": samples,
        "confirmation": confirmation,
    })
}

fn print_table(args: &Args, outcome: &TuneOutcome) {
    out!(
        "{:>5} {:>12} {:>12} {:>12} {:>9}",
        "crf",
        args.target.0,
        "bytes",
        "kbps",
        "seconds"
    );
    let seconds = |p: &qscore_host::tune::Probe| {
        if p.cached {
            "cached".to_owned()
        } else {
            format!("{:.2}", p.seconds)
        }
    };
    for p in &outcome.probes {
        let rate = outcome
            .kbps(p.bytes)
            .map_or("-".into(), |k| format!("{k:.1}"));
        let mark = if p.crf == outcome.chosen.crf {
            " <"
        } else {
            ""
        };
        out!(
            "{:>5} {:>12.4} {:>12} {:>12} {:>9}{mark}",
            p.crf,
            p.score,
            p.bytes,
            rate,
            seconds(p)
        );
    }
    if let Some(c) = &outcome.confirmation {
        let rate = c.kbps().map_or("-".into(), |k| format!("{k:.1}"));
        let verdict = if c.met { "meets" } else { "misses" };
        out!(
            "whole reference at CRF {}: {} {:.4} ({verdict} the target), {} bytes, {rate} kbps",
            c.probe.crf,
            args.target.0,
            c.probe.score,
            c.probe.bytes
        );
    }
}
