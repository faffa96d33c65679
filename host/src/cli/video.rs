//! `qscore score` on clips: Y4M, or raw YUV with `--size` and `--pix-fmt`.

use std::process::ExitCode;

use qscore_host::{
    LoadReport, ScoreError,
    sched::Scheduler,
    video::{
        ClipOptions, VideoGeometry, VideoJob, VideoScores, default_lockstep, open_video,
        score_videos, write_libvmaf_log,
    },
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
    if let Some(template) = &args.libvmaf_json
        && args.distorted.len() > 1
        && !template.to_string_lossy().contains("{}")
    {
        eprintln!(
            "qscore: error: --libvmaf-json {}: with {} distorted clips the file name needs `{{}}`, \
             which becomes each clip's file stem",
            template.display(),
            args.distorted.len()
        );
        return ExitCode::from(1);
    }
    let started = std::time::Instant::now();
    // The reference is read once to check it and once per lock-step group: a pipe cannot be.
    if std::fs::metadata(&args.reference).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        eprintln!(
            "qscore: error: {}: is a pipe or a device, but the reference is read more than once \
             (to check it, then once per group of distorted clips); write it to a file first",
            args.reference.display()
        );
        return ExitCode::from(1);
    }
    // An unusable reference fails the command; a bad distorted clip fails only itself.
    let frame_bytes = match open_video(&args.reference, geometry) {
        Ok(source) => source.geometry().frame_bytes(),
        Err(error) => {
            eprintln!("qscore: error: {error}");
            return ExitCode::from(1);
        }
    };
    let job = VideoJob {
        metrics: args.metric.clone(),
        params: args.params.clone(),
        geometry,
        frames: args.frames,
        deadline: None,
        reference_excerpts: Vec::new(),
        scale: args.scale,
        subsample: args.subsample,
    };
    let reference = args.reference.display().to_string();
    let mut failures = 0usize;
    // Metrics that need a clip session run one clip per worker, clips in parallel.
    let workers = args
        .workers
        .unwrap_or_else(qscore_core::sdk::resources::cpu_count);
    // Each clip-session worker decodes one pair at a time, so the cap is on workers.
    let clip_options = ClipOptions {
        backend: args.backend.clone(),
        workers: workers.min(args.max_decodes.unwrap_or(workers)).max(1),
        lockstep: args
            .max_decodes
            .unwrap_or_else(|| default_lockstep(frame_bytes, workers))
            .max(1),
    };
    let emit = |path: &std::path::Path, result: Result<VideoScores, ScoreError>| {
        let distorted = path.display().to_string();
        let result = result.and_then(|scores| {
            write_log(args, path, &scores, started.elapsed().as_secs_f64())?;
            Ok(scores)
        });
        match result {
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
                    if args.subsample > 1 {
                        line["subsample"] = json!(args.subsample);
                        line["frame_numbers"] = json!(scores.frame_numbers);
                    }
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
                    out!("{line}");
                } else {
                    let header: Vec<String> = means
                        .iter()
                        .map(|(k, _)| format!("{k:>w$}", w = width(k)))
                        .collect();
                    if args.subsample > 1 {
                        out!(
                            "reference {reference}, {} frames scored (every {})",
                            scores.frames.len(),
                            args.subsample
                        );
                    } else {
                        out!("reference {reference}, {} frames", scores.frames.len());
                    }
                    out!("{:<40} {}", "distorted (mean over frames)", header.join(""));
                    let cells: Vec<String> = means
                        .iter()
                        .map(|(k, v)| format!("{v:>w$.6}", w = width(k)))
                        .collect();
                    out!("{distorted:<40} {}", cells.join(""));
                    if args.per_frame {
                        for (frame, i) in scores.frames.iter().zip(&scores.frame_numbers) {
                            let cells: Vec<String> = frame
                                .iter()
                                .map(|(k, v)| format!("{v:>w$.6}", w = width(k)))
                                .collect();
                            out!("{:<40} {}", format!("  frame {i}"), cells.join(""));
                        }
                    }
                }
            }
            Err(error) => {
                failures += 1;
                eprintln!("qscore: error: {error}");
                if args.json {
                    out!(
                        "{}",
                        json!({"reference": reference, "distorted": distorted, "error": error.to_string()})
                    );
                }
            }
        }
    };
    let outcome = score_videos(
        report,
        scheduler,
        &job,
        &clip_options,
        &args.reference,
        &args.distorted,
        emit,
    );
    if let Err(error) = outcome {
        eprintln!("qscore: error: {error}");
        return ExitCode::from(1);
    }
    let (hits, misses) = scheduler.reference_counts();
    eprintln!(
        "qscore: {} clips scored, {failures} failed; prepared reference frames: {hits} reused, {misses} prepared",
        args.distorted.len() - failures
    );
    if failures > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes `--libvmaf-json`'s log of the clip `distorted`, if asked.
fn write_log(
    args: &Args,
    distorted: &std::path::Path,
    scores: &VideoScores,
    seconds: f64,
) -> Result<(), ScoreError> {
    let Some(template) = &args.libvmaf_json else {
        return Ok(());
    };
    let stem = distorted.file_stem().unwrap_or_default().to_string_lossy();
    let path = std::path::PathBuf::from(template.to_string_lossy().replace("{}", &stem));
    let fps = scores.frames.len() as f64 / seconds.max(1e-9);
    write_libvmaf_log(&path, scores, fps).map_err(|error| {
        ScoreError::Input(qscore_host::InputError {
            path: path.clone(),
            reason: format!("cannot write the libvmaf JSON log: {error}"),
        })
    })
}
