//! `qscore batch`: a manifest of pairs scored into one table, resumable.
//!
//! Exit codes: 0 every row is scored; 2 the run finished but some rows failed (they are
//! in `OUT.failures.jsonl`); 1 the run itself failed (unreadable manifest, unusable
//! output, unknown metric, full disk), with everything finished kept for a rerun.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use qscore_host::{
    LoadReport,
    batch::{BatchError, BatchOptions, Shard, ledger_path, run_batch},
    sched::SchedulerOptions,
    video::Scaler,
};

use super::score::parse_param;

/// Arguments of `qscore batch`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The manifest: CSV with a header, or JSONL (`.jsonl`), with columns `reference`,
    /// `distorted`, optionally `metric`, `width`, `height`, `pix_fmt`, and any others
    /// (carried into the output). Relative paths start at the manifest's folder.
    manifest: PathBuf,
    /// The output table: `.csv`, `.jsonl` or `.parquet`. Running again with the same
    /// output resumes: finished rows are kept, the rest are scored.
    #[arg(long, short)]
    out: PathBuf,
    /// Metrics for rows without a `metric` column (comma-separated).
    #[arg(long, short, value_delimiter = ',')]
    metric: Vec<String>,
    /// A metric parameter, `METRIC.KEY=VALUE` (repeatable).
    #[arg(long = "param", value_name = "METRIC.KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String, String)>,
    /// Use only this plugin (e.g. `cpu`).
    #[arg(long)]
    backend: Option<String>,
    /// Fail on the first backend error instead of falling back.
    #[arg(long = "no-fallback")]
    no_fallback: bool,
    /// CPU worker threads (default: logical CPUs).
    #[arg(long)]
    workers: Option<usize>,
    /// Prepare each reference for every comparison instead of reusing it.
    #[arg(long = "no-ref-cache")]
    no_ref_cache: bool,
    /// Do not measure backends before the run.
    #[arg(long = "no-bench")]
    no_bench: bool,
    /// Inputs decoded at the same time, and distorted clips of one reference read in lock
    /// step (default: half the cores, at least 2, for images; clips, as many as fit 1 GiB
    /// of held frames, 4 to 64).
    #[arg(long = "max-concurrent-decodes", value_name = "N")]
    max_decodes: Option<usize>,
    /// A pair not scored this many seconds after its decoding started is recorded as
    /// failed (stage `timeout`).
    #[arg(long = "task-timeout", value_name = "SECONDS")]
    task_timeout: Option<f64>,
    /// Decode each distorted clip (but raw YUV) to the reference's size and pixel format
    /// with ffmpeg's scaler FILTER (bicubic, bilinear, lanczos, spline, …), as VMAF scores a
    /// lower rung of a bitrate ladder; without it, a clip of another size or format is an
    /// error.
    #[arg(long, value_name = "FILTER", value_parser = Scaler::parse)]
    scale: Option<Scaler>,
    /// Score only every Nth frame (0, N, 2N, …), as libvmaf's `--subsample N`: every frame
    /// is still decoded and VMAF's motion still sees each scored frame's neighbours, so a
    /// scored frame's values are unchanged; means and pooling are over the scored frames.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    subsample: u64,
    /// Run only the rows in OUT.failures.jsonl again.
    #[arg(long = "retry-failed")]
    retry_failed: bool,
    /// Score only shard I of N (rows whose key is I modulo N); combine with `qscore merge`.
    #[arg(long, value_name = "I/N", value_parser = Shard::parse)]
    shard: Option<Shard>,
}

pub(crate) fn run(args: &Args, report: &LoadReport, mut options: SchedulerOptions) -> ExitCode {
    super::warn_load_errors(report);
    options.reuse_references = !args.no_ref_cache;
    options.strict = args.no_fallback;
    options.backend = args.backend.clone();
    if let Some(workers) = args.workers {
        options.cpu_workers = workers.max(1);
    }
    let workers = options.cpu_workers;
    let task_timeout = match args.task_timeout {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            eprintln!("qscore: error: --task-timeout must be a positive number of seconds");
            return ExitCode::from(1);
        }
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    let Some(scheduler) = super::scheduler(report, options) else {
        return ExitCode::from(1);
    };
    if !args.no_bench && !args.metric.is_empty() {
        super::bench::measure_if_needed(&scheduler, report, &args.metric);
    }
    let batch = BatchOptions {
        params: args.params.clone(),
        task_timeout,
        retry_failed: args.retry_failed,
        shard: args.shard,
        quiet: super::quiet(),
        scale: args.scale,
        subsample: args.subsample,
        ..BatchOptions::new(
            args.manifest.clone(),
            args.out.clone(),
            args.metric.clone(),
            workers,
            args.max_decodes,
            args.backend.clone(),
        )
    };
    match run_batch(report, &scheduler, &batch) {
        // The writer has said so; the signal handler ends the process with 128 + signal.
        Err(BatchError::Interrupted { .. }) => ExitCode::from(130),
        Err(error) => {
            eprintln!("qscore: error: {error}");
            ExitCode::from(1)
        }
        Ok(s) => {
            let seconds = s.elapsed.as_secs_f64();
            let backends: Vec<String> =
                s.backends.iter().map(|(b, n)| format!("{b} {n}")).collect();
            eprintln!(
                "qscore: batch: {} scored, {} failed, {} skipped as already done, {} skipped as failed before, {} duplicate rows; {:.1} s, {:.1} rows/s; backends: {}; prepared references: {} reused, {} prepared",
                s.scored,
                s.failed,
                s.skipped_done,
                s.skipped_failed,
                s.duplicates,
                seconds,
                s.scored as f64 / seconds.max(1e-9),
                if backends.is_empty() {
                    "none".into()
                } else {
                    backends.join(", ")
                },
                s.reference_hits,
                s.reference_misses,
            );
            eprintln!(
                "qscore: batch: {} has {} rows",
                args.out.display(),
                s.output_rows
            );
            if s.failing > 0 {
                eprintln!(
                    "qscore: batch: {} rows failed; see {} (rerun with --retry-failed to try them again)",
                    s.failing,
                    ledger_path(&args.out).display()
                );
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
