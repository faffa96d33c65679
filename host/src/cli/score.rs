//! `qscore score`.

use std::{path::PathBuf, process::ExitCode};

use qscore_host::{Backend, LoadReport, PairResult, ScoreJob, score_images};
use serde_json::{Map, Value, json};

/// Arguments of `qscore score`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference image.
    reference: PathBuf,
    /// Distorted images, each scored against the reference.
    #[arg(required = true)]
    distorted: Vec<PathBuf>,
    /// Metrics (comma-separated): psnr, ssim, ms_ssim, ssimulacra2, butteraugli, butteraugli_pnorm3…
    #[arg(long, short, value_delimiter = ',', required = true)]
    metric: Vec<String>,
    /// Use only this plugin (e.g. `cpu`).
    #[arg(long)]
    backend: Option<String>,
    /// One JSON object per distorted input, one per line.
    #[arg(long)]
    json: bool,
    /// A metric parameter, `METRIC.KEY=VALUE` (repeatable), e.g. `butteraugli.intensity_target=250`.
    #[arg(long = "param", value_name = "METRIC.KEY=VALUE", value_parser = parse_param)]
    params: Vec<(String, String, String)>,
}

fn parse_param(text: &str) -> Result<(String, String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not METRIC.KEY=VALUE"))?;
    let (metric, key) = name
        .split_once('.')
        .ok_or_else(|| format!("{name:?} is not METRIC.KEY"))?;
    Ok((metric.to_owned(), key.to_owned(), value.to_owned()))
}

/// A JSON number, or the strings "inf"/"-inf" (PSNR of identical images is infinite).
fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or_else(
        || Value::String(if value > 0.0 { "inf" } else { "-inf" }.into()),
        Value::Number,
    )
}

/// Column width for a value named `name`: room for the name and for `-123.456789`.
fn width(name: &str) -> usize {
    name.len().max(11) + 2
}

pub(crate) fn run(args: &Args, report: &LoadReport) -> ExitCode {
    super::warn_load_errors(report);
    let job = ScoreJob {
        metrics: args.metric.clone(),
        backend: args.backend.clone(),
        params: args.params.clone(),
    };
    let mut failures = 0usize;
    let mut header_printed = false;
    let reference = args.reference.display().to_string();
    let emit = |backend: &Backend, result: PairResult<'_>| {
        let distorted = result.distorted.display().to_string();
        match result.outcome {
            Ok(values) if args.json => {
                let scores: Map<String, Value> =
                    values.into_iter().map(|(k, v)| (k, number(v))).collect();
                let line = json!({
                    "reference": reference,
                    "distorted": distorted,
                    "backend": backend,
                    "scores": scores,
                });
                println!("{line}");
            }
            Ok(values) => {
                if !header_printed {
                    println!(
                        "reference {reference} on {} ({})",
                        backend.plugin, backend.device
                    );
                    let names: Vec<String> =
                        values.iter().map(|(k, _)| format!("{k:>18}")).collect();
                    println!("{:<40} {}", "distorted", names.join(""));
                    header_printed = true;
                }
                let cells: Vec<String> = values
                    .iter()
                    .map(|(k, v)| format!("{v:>w$.6}", w = width(k)))
                    .collect();
                println!("{distorted:<40} {}", cells.join(""));
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
                    println!("{line}");
                }
            }
        }
    };
    match score_images(report, &job, &args.reference, &args.distorted, emit) {
        Err(error) => {
            eprintln!("qscore: error: {error}");
            ExitCode::from(1)
        }
        Ok(_) if failures > 0 => ExitCode::from(2),
        Ok(_) => ExitCode::SUCCESS,
    }
}
