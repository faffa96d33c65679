//! `qscore explain`: the chooser's ranking for a task, and every rejection.

use std::{path::PathBuf, process::ExitCode};

use qscore_host::{
    LoadReport, decode_image, resolve_metrics,
    sched::{ChoiceTask, SchedulerOptions},
};

/// Arguments of `qscore explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference image (its size and format define the task).
    reference: PathBuf,
    /// Distorted images (their number is the comparisons per reference).
    distorted: Vec<PathBuf>,
    /// Metrics (comma-separated).
    #[arg(long, short, value_delimiter = ',', required = true)]
    metric: Vec<String>,
    /// Only this plugin.
    #[arg(long)]
    backend: Option<String>,
}

pub(crate) fn run(args: &Args, report: &LoadReport, mut options: SchedulerOptions) -> ExitCode {
    super::warn_load_errors(report);
    options.backend = args.backend.clone();
    let Some(scheduler) = super::scheduler(report, options) else {
        return ExitCode::from(1);
    };
    let image = match decode_image(&args.reference) {
        Ok(image) => image,
        Err(error) => {
            eprintln!("qscore: error: {error}");
            return ExitCode::from(1);
        }
    };
    let requests = match resolve_metrics(report, &args.metric) {
        Ok(requests) => requests,
        Err(error) => {
            eprintln!("qscore: error: {error}");
            return ExitCode::from(1);
        }
    };
    let comparisons = u32::try_from(args.distorted.len().max(1)).unwrap_or(u32::MAX);
    for request in requests {
        let task = ChoiceTask::for_image(&request.metric, &image, comparisons);
        let ranking = scheduler.explain(&task, &[]);
        out!(
            "{} on {}x{} {}, {comparisons} comparison(s) per reference:",
            task.metric,
            task.width,
            task.height,
            task.format
        );
        if ranking.ranked.is_empty() {
            out!("  no candidate");
        }
        for (rank, choice) in ranking.ranked.iter().enumerate() {
            let cost = choice
                .cost_s
                .map_or("unmeasured, ranked by prior".to_owned(), |s| {
                    format!("{:.3} ms predicted", s * 1e3)
                });
            out!(
                "  {}. {}/{} {}: {cost}, {:.1} MiB predicted",
                rank + 1,
                choice.plugin,
                choice.device,
                choice.mode,
                choice.predicted_bytes as f64 / 1048576.0
            );
        }
        for c in &ranking.considered {
            out!(
                "  set aside: {}/{} {}: {}",
                c.plugin,
                c.device,
                c.mode,
                c.reason
            );
        }
    }
    ExitCode::SUCCESS
}
