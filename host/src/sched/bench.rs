//! Quick-bench: measures every (plugin, device, metric, memory mode) at a few sizes,
//! within a time budget, and fits the cost model's fixed and per-pixel terms.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use qscore_core::{Error, MemoryMode, OwnedImage, PixelFormat, TaskSpec};

use super::{
    Neighbours, Reference,
    cache::{Cell, Sample},
    neighbours::compare_frame,
    synthetic::synthetic_image,
};
use crate::Plugin;

/// How a quick-bench runs.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Square sizes measured, smallest first (at least two fit the per-pixel term).
    pub sides: Vec<u32>,
    /// Timed repetitions per size (the fastest counts).
    pub repeats: u32,
    /// Time budget for everything; each cell gets an equal share and stops growing
    /// sizes when it has used it.
    pub budget: Duration,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            sides: vec![96, 256, 512],
            repeats: 3,
            budget: Duration::from_secs(25),
        }
    }
}

/// What measuring one cell gave.
#[derive(Debug)]
pub struct CellReport {
    /// The fitted cell (possibly only an out-of-memory record).
    pub cell: Cell,
    /// Why it stopped early or failed, if it did.
    pub note: Option<String>,
}

/// One (plugin, device, metric, mode) to measure.
#[derive(Debug, Clone)]
pub struct BenchTarget {
    /// The plugin.
    pub plugin: Arc<Plugin>,
    /// Device id.
    pub device: u32,
    /// Metric id.
    pub metric: String,
    /// Memory mode.
    pub mode: MemoryMode,
    /// Format measured with.
    pub format: PixelFormat,
}

/// Every target the loaded plugins offer, measured in RGB8 where accepted.
pub fn targets(plugins: &[Arc<Plugin>]) -> Vec<BenchTarget> {
    let mut out = Vec::new();
    for plugin in plugins {
        for device in plugin.devices() {
            for caps in &device.caps {
                // Measured per image; a metric that needs a clip session has no such cost.
                if plugin.needs_clip(device.info.id, &caps.metric) {
                    continue;
                }
                let format = [PixelFormat::RGB8, PixelFormat::GRAY8]
                    .into_iter()
                    .find(|f| caps.formats.contains(f))
                    .or_else(|| caps.formats.first().copied());
                let Some(format) = format else { continue };
                for &mode in caps.modes.iter() {
                    out.push(BenchTarget {
                        plugin: Arc::clone(plugin),
                        device: device.info.id,
                        metric: caps.metric.to_string(),
                        mode,
                        format,
                    });
                }
            }
        }
    }
    out
}

fn seconds(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}

/// A synthetic square frame, shared.
fn reference_arc(format: PixelFormat, side: u32, seed: u32) -> Result<Arc<OwnedImage>, Error> {
    synthetic_image(format, side, side, seed)
        .map(Arc::new)
        .ok_or_else(|| Error::Unsupported(format!("cannot synthesise {format}")))
}

/// Measures one size: open, prepare and compare, fastest of `repeats`.
fn measure(target: &BenchTarget, side: u32, repeats: u32) -> Result<Sample, Error> {
    let spec = TaskSpec::new(&target.metric, side, side, target.format, target.mode);
    let reference = synthetic_image(target.format, side, side, 1)
        .ok_or_else(|| Error::Unsupported(format!("cannot synthesise {}", target.format)))?;
    let distorted = synthetic_image(target.format, side, side, 2)
        .ok_or_else(|| Error::Unsupported(format!("cannot synthesise {}", target.format)))?;
    let mut best = Sample {
        width: side,
        height: side,
        open_s: f64::INFINITY,
        prepare_s: f64::INFINITY,
        compare_s: f64::INFINITY,
        peak_bytes: None,
        cold_s: None,
    };
    // Each repeat's whole time; the first repeat's excess over the fastest is the cold start.
    let mut totals = Vec::new();
    // A temporal metric has nothing to prepare: it is timed on a frame with every
    // neighbour it declared (previous frames, and following ones if it looks ahead).
    let temporal = target
        .plugin
        .metric_caps(target.device, &target.metric)
        .is_some_and(|c| c.temporal_depth > 0);
    let previous = Reference::new(reference_arc(target.format, side, 3)?);
    let next = Reference::new(reference_arc(target.format, side, 4)?);
    let neighbours = if target.plugin.lookahead(target.device, &target.metric)? > 0 {
        Neighbours::new(&[&previous], &[&next])
    } else {
        Neighbours::new(&[&previous], &[])
    };
    for _ in 0..repeats.max(1) {
        let whole = Instant::now();
        let start = Instant::now();
        let mut session = target.plugin.open_session(target.device, &spec)?;
        best.open_s = best.open_s.min(seconds(start));
        if temporal {
            best.prepare_s = 0.0;
            let start = Instant::now();
            compare_frame(
                &mut session,
                target.device,
                &target.metric,
                &reference,
                &neighbours,
                &distorted,
            )?;
            best.compare_s = best.compare_s.min(seconds(start));
        } else {
            let start = Instant::now();
            let prepared = reference.with_view(|v| session.prepare(v))?;
            best.prepare_s = best.prepare_s.min(seconds(start));
            let start = Instant::now();
            distorted.with_view(|v| session.compare(prepared, v))?;
            best.compare_s = best.compare_s.min(seconds(start));
        }
        totals.push(seconds(whole));
        if let Some(Ok(peak)) = session.peak_memory() {
            best.peak_bytes = Some(best.peak_bytes.unwrap_or(0).max(peak));
        }
    }
    let fastest = totals.iter().copied().fold(f64::INFINITY, f64::min);
    best.cold_s = Some((totals[0] - fastest).max(0.0));
    Ok(best)
}

/// Measures `target` within `budget`.
pub fn bench_cell(target: &BenchTarget, options: &BenchOptions, budget: Duration) -> CellReport {
    let plugin = target.plugin.identity().name.clone();
    let mode = target.mode.to_string();
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut note = None;
    let mut out_of_memory = None;
    for &side in &options.sides {
        if samples.len() >= 2 && start.elapsed() > budget {
            note = Some(format!("stopped before {side}x{side}: time budget used"));
            break;
        }
        match measure(target, side, options.repeats) {
            Ok(mut sample) => {
                // Only the cell's first measurement in this process starts it cold.
                if !samples.is_empty() {
                    sample.cold_s = None;
                }
                samples.push(sample);
            }
            Err(Error::OutOfMemory { .. }) => {
                out_of_memory = Some(u64::from(side) * u64::from(side));
                note = Some(format!("out of memory at {side}x{side}"));
                break;
            }
            // A size below the metric's minimum (MS-SSIM needs 176²) says nothing about the
            // larger ones: measure those instead of leaving the cell empty.
            Err(error @ Error::InvalidInput(_)) => {
                note = Some(format!("skipped {side}x{side}: {error}"));
            }
            Err(error) => {
                note = Some(format!("failed at {side}x{side}: {error}"));
                break;
            }
        }
    }
    let mut cell = Cell::fit(&plugin, target.device, &target.metric, &mode, samples);
    cell.out_of_memory_at_pixels = out_of_memory;
    CellReport { cell, note }
}

/// Measures every target, sharing `options.budget` equally.
pub fn quick_bench(
    targets: &[BenchTarget],
    options: &BenchOptions,
    mut progress: impl FnMut(&BenchTarget, &CellReport),
) -> Vec<CellReport> {
    let share = options.budget / u32::try_from(targets.len().max(1)).unwrap_or(u32::MAX);
    targets
        .iter()
        .map(|target| {
            let report = bench_cell(target, options, share);
            progress(target, &report);
            report
        })
        .collect()
}
