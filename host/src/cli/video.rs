//! `qscore score` on clips: Y4M, or raw YUV with `--size` and `--pix-fmt`.

use std::process::ExitCode;

use qscore_host::{
    LoadReport,
    sched::Scheduler,
    video::{VideoGeometry, VideoJob, open_video, score_video},
};
use serde_json::{Map, Value, json};

use super::score::{Args, number, width};

pub(crate) fn run(args: &Args, report: &LoadReport, scheduler: &Scheduler) -> ExitCode {
    let geometry = match (&args.size, &args.pix_fmt) {
        (Some(size), Some(pix_fmt)) => match VideoGeometry::parse(size, pix_fmt) {
            Ok(geometry) => Some(geometry),
            Err(error) => {
                eprintln!("qscore: error: {error}");
                return ExitCode::from(1);
            }
        },
        _ => None,
    };
    // An unusable reference fails the command; a bad distorted clip fails only itself.
    if let Err(error) = open_video(&args.reference, geometry) {
        eprintln!("qscore: error: {error}");
        return ExitCode::from(1);
    }
    let job = VideoJob {
        metrics: args.metric.clone(),
        params: args.params.clone(),
        geometry,
        frames: args.frames,
    };
    let reference = args.reference.display().to_string();
    let mut failures = 0usize;
    for path in &args.distorted {
        let distorted = path.display().to_string();
        match score_video(report, scheduler, &job, &args.reference, path) {
            Ok(scores) => {
                let means: Vec<(String, f64)> = scores
                    .pooled
                    .iter()
                    .map(|(n, p)| (n.clone(), p.mean))
                    .collect();
                if args.json {
                    let backend = scores.backends.first().map(|(_, b)| b.clone());
                    let values: Map<String, Value> =
                        means.iter().map(|(k, v)| (k.clone(), number(*v))).collect();
                    let pooled: Map<String, Value> = scores
                        .pooled
                        .iter()
                        .map(|(k, p)| (k.clone(), json!(p)))
                        .collect();
                    let mut line = json!({
                        "reference": reference,
                        "distorted": distorted,
                        "backend": backend,
                        "scores": values,
                        "pooled": pooled,
                        "frame_count": scores.frames.len(),
                    });
                    if args.per_frame {
                        let frames: Vec<Value> = scores
                            .frames
                            .iter()
                            .map(|f| {
                                Value::Object(
                                    f.iter().map(|(k, v)| (k.clone(), number(*v))).collect(),
                                )
                            })
                            .collect();
                        line["frames"] = Value::Array(frames);
                    }
                    println!("{line}");
                } else {
                    let header: Vec<String> = means
                        .iter()
                        .map(|(k, _)| format!("{k:>w$}", w = width(k)))
                        .collect();
                    println!("reference {reference}, {} frames", scores.frames.len());
                    println!("{:<40} {}", "distorted (mean over frames)", header.join(""));
                    let cells: Vec<String> = means
                        .iter()
                        .map(|(k, v)| format!("{v:>w$.6}", w = width(k)))
                        .collect();
                    println!("{distorted:<40} {}", cells.join(""));
                    if args.per_frame {
                        for (i, frame) in scores.frames.iter().enumerate() {
                            let cells: Vec<String> = frame
                                .iter()
                                .map(|(k, v)| format!("{v:>w$.6}", w = width(k)))
                                .collect();
                            println!("{:<40} {}", format!("  frame {i}"), cells.join(""));
                        }
                    }
                }
            }
            Err(error) => {
                failures += 1;
                eprintln!("qscore: error: {error}");
                if args.json {
                    println!(
                        "{}",
                        json!({"reference": reference, "distorted": distorted, "error": error.to_string()})
                    );
                }
            }
        }
    }
    if failures > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
