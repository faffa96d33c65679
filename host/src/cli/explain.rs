//! `qscore explain`: the chooser's ranking for a task, and every rejection.

use std::{path::PathBuf, process::ExitCode};

use qscore_host::{
    LoadReport, decode_image, resolve_metrics,
    sched::{ChoiceTask, SchedulerOptions},
    video::{VideoGeometry, is_video_path, open_video},
};

/// Arguments of `qscore explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The reference image or video clip (its size, format and, for a clip, its frames
    /// define the task).
    reference: PathBuf,
    /// Distorted images or clips (their number is the comparisons per reference).
    distorted: Vec<PathBuf>,
    /// Metrics (comma-separated).
    #[arg(long, short, value_delimiter = ',', required = true)]
    metric: Vec<String>,
    /// Only this plugin.
    #[arg(long)]
    backend: Option<String>,
    /// Frame size of a raw YUV reference, as `WIDTHxHEIGHT`.
    #[arg(long, requires = "pix_fmt")]
    size: Option<String>,
    /// Pixel format of a raw YUV reference, as ffmpeg names it (`yuv420p10le`…).
    #[arg(long, requires = "size")]
    pix_fmt: Option<String>,
    /// Frames of the clip, when its container does not say (or to ask about fewer).
    #[arg(long)]
    frames: Option<u64>,
}

/// The task the reference defines: an image, or a clip whose frames are the references.
fn task_of(args: &Args, metric: &str, comparisons: u32) -> Result<ChoiceTask, String> {
    if !is_video_path(&args.reference) {
        let image = decode_image(&args.reference).map_err(|e| e.to_string())?;
        return Ok(ChoiceTask::for_image(metric, &image, comparisons));
    }
    let geometry = match (&args.size, &args.pix_fmt) {
        (Some(size), Some(pix_fmt)) => Some(VideoGeometry::parse(size, pix_fmt)?),
        _ => None,
    };
    let source = open_video(&args.reference, geometry).map_err(|e| e.to_string())?;
    let g = source.geometry();
    let frames = args.frames.or_else(|| source.frame_count()).unwrap_or(1);
    Ok(ChoiceTask {
        metric: metric.to_owned(),
        width: g.width,
        height: g.height,
        format: g.format,
        references: u32::try_from(frames).unwrap_or(u32::MAX).max(1),
        comparisons,
    })
}

pub(crate) fn run(args: &Args, report: &LoadReport, mut options: SchedulerOptions) -> ExitCode {
    super::warn_load_errors(report);
    options.backend = args.backend.clone();
    let Some(scheduler) = super::scheduler(report, options) else {
        return ExitCode::from(1);
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
        let task = match task_of(args, &request.metric, comparisons) {
            Ok(task) => task,
            Err(error) => {
                eprintln!("qscore: error: {error}");
                return ExitCode::from(1);
            }
        };
        let ranking = scheduler.explain(&task, &[]);
        let references = if is_video_path(&args.reference) {
            format!("{} reference frame(s), ", task.references)
        } else {
            String::new()
        };
        out!(
            "{} on {}x{} {}, {references}{comparisons} comparison(s) per reference:",
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
                    let cold = if choice.cold_s > 0.0 {
                        format!(" (of which {:.3} ms cold start)", choice.cold_s * 1e3)
                    } else {
                        String::new()
                    };
                    format!("{:.3} ms predicted{cold}", s * 1e3)
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
