//! `qscore score`.

use std::{path::PathBuf, process::ExitCode};

use qscore_host::{
    LoadReport, PairResult, ScoreJob,
    sched::SchedulerOptions,
    score_images,
    video::{Scaler, is_video_path},
};
use serde_json::{Map, Value, json};

/// Arguments of `qscore score`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference image or clip (`.y4m`, or raw `.yuv` with --size and --pix-fmt).
    pub(crate) reference: PathBuf,
    /// Distorted images or clips, each scored against the reference.
    #[arg(required = true)]
    pub(crate) distorted: Vec<PathBuf>,
    /// Metrics (comma-separated): psnr, ssim, ms_ssim, ssimulacra2, butteraugli, butteraugli_pnorm3…
    #[arg(long, short, value_delimiter = ',', required = true)]
    pub(crate) metric: Vec<String>,
    /// Use only this plugin (e.g. `cpu`).
    #[arg(long)]
    pub(crate) backend: Option<String>,
    /// One JSON object per distorted input, one per line.
    #[arg(long)]
    pub(crate) json: bool,
    /// A metric parameter, `METRIC.KEY=VALUE` (repeatable), e.g. `butteraugli.intensity_target=250`.
    #[arg(long = "param", value_name = "METRIC.KEY=VALUE", value_parser = parse_param)]
    pub(crate) params: Vec<(String, String, String)>,
    /// Prepare the reference for every comparison instead of once (for comparison).
    #[arg(long = "no-ref-cache")]
    no_ref_cache: bool,
    /// Fail on the first backend error instead of falling back (use with --backend).
    #[arg(long = "no-fallback")]
    no_fallback: bool,
    /// CPU worker threads (default: logical CPUs).
    #[arg(long)]
    pub(crate) workers: Option<usize>,
    /// Do not measure backends before the first multi-task run.
    #[arg(long = "no-bench")]
    no_bench: bool,
    /// Frame size of raw YUV inputs, `WxH` (Y4M files describe themselves).
    #[arg(long, value_name = "WxH", requires = "pix_fmt")]
    pub(crate) size: Option<String>,
    /// Pixel format of raw YUV inputs: yuv420p, yuv422p, yuv444p, with 10le/12le/16le for high bit depth.
    #[arg(long = "pix-fmt", value_name = "FORMAT", requires = "size")]
    pub(crate) pix_fmt: Option<String>,
    /// Score only the first N frames of each clip (clips of different lengths are otherwise an error).
    #[arg(long)]
    pub(crate) frames: Option<u64>,
    /// Decode each distorted clip (but raw YUV) to the reference's size and pixel format
    /// with ffmpeg's scaler FILTER (bicubic, bilinear, lanczos, spline, …), as VMAF scores a
    /// lower rung of a bitrate ladder; without it, a clip of another size or format is an
    /// error.
    #[arg(long, value_name = "FILTER", value_parser = Scaler::parse)]
    pub(crate) scale: Option<Scaler>,
    /// Score only every Nth frame (0, N, 2N, …), as libvmaf's `--subsample N`: every frame
    /// is still decoded and VMAF's motion still sees each scored frame's neighbours, so a
    /// scored frame's values are unchanged; means and pooling are over the scored frames.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) subsample: u64,
    /// Also print every frame's values (JSON: under "frames").
    #[arg(long = "per-frame")]
    pub(crate) per_frame: bool,
    /// Video clip pairs decoded at the same time, each by up to two decoder processes:
    /// clip-session metrics (libvmaf) score that many clips at once (default: --workers),
    /// and frame metrics read that many distorted clips of one reference in lock step,
    /// reading and preparing the reference once for them (default: as many as fit 1 GiB
    /// of frames held, 4 to 64). `qscore batch` has
    /// the same option.
    #[arg(long = "max-concurrent-decodes", value_name = "N")]
    pub(crate) max_decodes: Option<usize>,
    /// Also write each clip's per-frame and pooled values in the JSON log format of
    /// libvmaf's `vmaf --json`. With several distorted clips, FILE must contain `{}`, which
    /// becomes each distorted clip's file stem.
    #[arg(long = "libvmaf-json", value_name = "FILE")]
    pub(crate) libvmaf_json: Option<PathBuf>,
}

pub(crate) fn parse_param(text: &str) -> Result<(String, String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not METRIC.KEY=VALUE"))?;
    let (metric, key) = name
        .split_once('.')
        .ok_or_else(|| format!("{name:?} is not METRIC.KEY"))?;
    Ok((metric.to_owned(), key.to_owned(), value.to_owned()))
}

/// A JSON number, or the strings "inf"/"-inf" (PSNR of identical images is infinite).
pub(crate) fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or_else(
        || Value::String(if value > 0.0 { "inf" } else { "-inf" }.into()),
        Value::Number,
    )
}

/// Column width for a value named `name`: room for the name and for `-123.456789`.
pub(crate) fn width(name: &str) -> usize {
    name.len().max(11) + 2
}

pub(crate) fn run(args: &Args, report: &LoadReport, mut options: SchedulerOptions) -> ExitCode {
    super::warn_load_errors(report);
    options.reuse_references = !args.no_ref_cache;
    options.strict = args.no_fallback;
    options.backend = args.backend.clone();
    if let Some(workers) = args.workers {
        options.cpu_workers = workers.max(1);
    }
    let Some(scheduler) = super::scheduler(report, options) else {
        return ExitCode::from(1);
    };
    let video = args.size.is_some() || is_video_path(&args.reference);
    if video {
        return super::video::run(args, report, &scheduler);
    }
    let clip_only = [
        (
            "--libvmaf-json writes clip logs",
            args.libvmaf_json.is_some(),
        ),
        ("--scale decodes clips", args.scale.is_some()),
    ];
    if let Some((what, _)) = clip_only.iter().find(|(_, given)| *given) {
        eprintln!(
            "qscore: error: {what}, and {} is an image",
            args.reference.display()
        );
        return ExitCode::from(1);
    }
    let job = ScoreJob {
        metrics: args.metric.clone(),
        backend: args.backend.clone(),
        params: args.params.clone(),
    };
    if !args.no_bench && args.distorted.len() > 1 {
        super::bench::measure_if_needed(&scheduler, report, &job.metrics);
    }
    let mut failures = 0usize;
    let mut scored = 0usize;
    let mut header_printed = false;
    let reference = args.reference.display().to_string();
    let emit = |result: PairResult<'_>| {
        let distorted = result.distorted.display().to_string();
        match result.outcome {
            Ok(scores) if args.json => {
                scored += 1;
                let backend = scores.backends.first().map(|(_, b)| b.clone());
                let values: Map<String, Value> = scores
                    .values
                    .into_iter()
                    .map(|(k, v)| (k, number(v)))
                    .collect();
                let mut line = json!({
                    "reference": reference,
                    "distorted": distorted,
                    "backend": backend,
                    "scores": values,
                });
                if scores
                    .backends
                    .iter()
                    .any(|(_, b)| Some(b) != backend.as_ref())
                {
                    let per_metric: Map<String, Value> = scores
                        .backends
                        .iter()
                        .map(|(m, b)| (m.clone(), json!(b)))
                        .collect();
                    line["backends"] = Value::Object(per_metric);
                }
                out!("{line}");
            }
            Ok(scores) => {
                scored += 1;
                if !header_printed {
                    let first = scores.backends.first().map(|(_, b)| b);
                    let backends: Vec<String> =
                        if scores.backends.iter().all(|(_, b)| Some(b) == first) {
                            first
                                .map(|b| format!("on {} ({})", b.plugin, b.device))
                                .into_iter()
                                .collect()
                        } else {
                            scores
                                .backends
                                .iter()
                                .map(|(m, b)| format!("{m} on {} ({})", b.plugin, b.device))
                                .collect()
                        };
                    out!("reference {reference} {}", backends.join(", "));
                    let names: Vec<String> = scores
                        .values
                        .iter()
                        .map(|(k, _)| format!("{k:>w$}", w = width(k)))
                        .collect();
                    out!("{:<40} {}", "distorted", names.join(""));
                    header_printed = true;
                }
                let cells: Vec<String> = scores
                    .values
                    .iter()
                    .map(|(k, v)| format!("{v:>w$.6}", w = width(k)))
                    .collect();
                out!("{distorted:<40} {}", cells.join(""));
            }
            Err(error) => {
                failures += 1;
                eprintln!("qscore: error: {error}");
                if args.json {
                    let line = json!({
                        "reference": reference,
                        "distorted": distorted,
                        "error": error.to_string(),
                    });
                    out!("{line}");
                }
            }
        }
    };
    let result = score_images(
        report,
        &scheduler,
        &job,
        &args.reference,
        &args.distorted,
        emit,
    );
    let (hits, misses) = scheduler.reference_counts();
    match result {
        Err(error) => {
            eprintln!("qscore: error: {error}");
            ExitCode::from(1)
        }
        Ok(()) => {
            eprintln!(
                "qscore: {scored} scored, {failures} failed; prepared references: {hits} reused, {misses} prepared"
            );
            if failures > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
