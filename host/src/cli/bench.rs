//! `qscore bench`, and the measurement that runs by itself before a first multi-task run.

use std::{process::ExitCode, time::Duration};

use qscore_host::{
    LoadReport, resolve_metrics,
    sched::{Scheduler, SchedulerOptions, bench::CellReport},
};
use serde_json::json;

/// Arguments of `qscore bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Only these metrics (comma-separated; default: every metric).
    #[arg(long, short, value_delimiter = ',')]
    metric: Vec<String>,
    /// Only this plugin.
    #[arg(long)]
    backend: Option<String>,
    /// Time budget in seconds for everything.
    #[arg(long, default_value_t = 25.0)]
    budget: f64,
    /// Print the measured cells as JSON.
    #[arg(long)]
    json: bool,
}

fn describe(report: &CellReport) -> String {
    let c = &report.cell;
    let sizes: Vec<String> = c.samples.iter().map(|s| format!("{}²", s.width)).collect();
    let mut line = format!(
        "{:<10} {:>2} {:<12} {:<10} open {:>8.3} ms  prepare {:>7.3} ms + {:>7.2} ns/px  compare {:>7.3} ms + {:>7.2} ns/px  [{}]",
        c.plugin,
        c.device,
        c.metric,
        c.mode,
        c.open_s * 1e3,
        c.prepare_fixed_s * 1e3,
        c.prepare_per_pixel_s * 1e9,
        c.compare_fixed_s * 1e3,
        c.compare_per_pixel_s * 1e9,
        sizes.join(" ")
    );
    if let Some(peak) = c.samples.iter().filter_map(|s| s.peak_bytes).max() {
        line.push_str(&format!("  peak {:.1} MiB", peak as f64 / 1048576.0));
    }
    if let Some(note) = &report.note {
        line.push_str(&format!("  ({note})"));
    }
    line
}

pub(crate) fn run(args: &Args, report: &LoadReport, mut options: SchedulerOptions) -> ExitCode {
    super::warn_load_errors(report);
    options.backend = args.backend.clone();
    options.bench.budget = Duration::from_secs_f64(args.budget.max(0.1));
    let Some(scheduler) = super::scheduler(report, options) else {
        return ExitCode::from(1);
    };
    let metrics = match resolve_metrics(report, &args.metric) {
        Ok(requests) => requests.into_iter().map(|r| r.metric).collect::<Vec<_>>(),
        Err(error) => {
            eprintln!("qscore: error: {error}");
            return ExitCode::from(1);
        }
    };
    let json = args.json;
    let result = scheduler.bench(&metrics, |_, cell| {
        if !json {
            out!("{}", describe(cell));
        }
    });
    match result {
        Ok(cells) => {
            if json {
                let cells: Vec<_> = cells
                    .iter()
                    .map(|c| json!({"cell": c.cell, "note": c.note}))
                    .collect();
                out!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"cells": cells})).unwrap_or_default()
                );
            }
            if let Some(path) = scheduler.cache_path() {
                note!("qscore: saved {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("qscore: error: cannot save the capability cache: {error}");
            ExitCode::from(1)
        }
    }
}

/// Before a multi-task run: measures the requested metrics when more than one backend
/// could run them and the cache has nothing for them yet.
pub(crate) fn measure_if_needed(scheduler: &Scheduler, report: &LoadReport, names: &[String]) {
    let Ok(requests) = resolve_metrics(report, names) else {
        return;
    };
    let choices = |metric: &str| {
        report
            .plugins
            .iter()
            .flat_map(|p| {
                p.devices()
                    .iter()
                    .filter_map(move |d| p.metric_caps(d.info.id, metric))
            })
            .map(|c| c.modes.len())
            .sum::<usize>()
    };
    let missing: Vec<String> = requests
        .into_iter()
        .map(|r| r.metric)
        .filter(|m| choices(m) > 1 && !scheduler.measured(m))
        .collect();
    if missing.is_empty() {
        return;
    }
    note!(
        "qscore: first run here: measuring backends for {} (`qscore bench` measures everything)",
        missing.join(", ")
    );
    if let Err(error) = scheduler.bench(&missing, |_, cell| note!("  {}", describe(cell))) {
        note!("qscore: warning: cannot save the capability cache: {error}");
    }
}
