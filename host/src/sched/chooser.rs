//! The chooser: a pure function from what is known (measurements, predictions,
//! live free memory) and a task to a ranked list of (plugin, device, memory mode)
//! and an explanation of every candidate it set aside.

use qscore_core::{BackendFamily, MemoryMode, PixelFormat};

use super::CacheFile;

/// Share of a device's free memory a task's prediction may take.
pub const MEMORY_HEADROOM: f64 = 0.85;

/// What is to be scored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceTask {
    /// Metric id.
    pub metric: String,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Pixel format.
    pub format: PixelFormat,
    /// Distinct references (each prepared once).
    pub references: u32,
    /// Comparisons per reference (distorted images, or frames).
    pub comparisons: u32,
}

impl ChoiceTask {
    /// One reference of `image`'s size and format, compared `comparisons` times (at least once).
    pub fn for_image(metric: &str, image: &qscore_core::OwnedImage, comparisons: u32) -> Self {
        Self {
            metric: metric.to_owned(),
            width: image.width,
            height: image.height,
            format: image.format,
            references: 1,
            comparisons: comparisons.max(1),
        }
    }

    fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// One (plugin, device, mode) as the host found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Plugin name.
    pub plugin: String,
    /// Its backend family.
    pub family: BackendFamily,
    /// Device id.
    pub device: u32,
    /// Memory mode.
    pub mode: MemoryMode,
    /// Whether the device declares support for the task, and why not.
    pub support: Result<(), String>,
    /// The plugin's memory prediction for the task, or why it failed.
    pub predicted_bytes: Result<u64, String>,
    /// Live free memory of the device, when known.
    pub free_bytes: Option<u64>,
    /// Set aside after repeated panics in this run.
    pub quarantined: bool,
    /// Whether it has already run this metric in this process, so its cold start (device
    /// start, kernel compilation) is paid.
    pub warm: bool,
}

/// A ranked candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// Plugin name.
    pub plugin: String,
    /// Device id.
    pub device: u32,
    /// Memory mode.
    pub mode: MemoryMode,
    /// Predicted seconds for the whole task; `None` when unmeasured (ranked by prior).
    pub cost_s: Option<f64>,
    /// The part of `cost_s` that is the candidate's cold start in this process (device
    /// start, kernel compilation), 0 once it has run the metric.
    pub cold_s: f64,
    /// Predicted peak bytes.
    pub predicted_bytes: u64,
}

/// Why a candidate was set aside.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The device does not offer the metric, format, mode or size.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The plugin could not predict its memory.
    #[error("no memory prediction: {0}")]
    NoPrediction(String),
    /// The prediction exceeds the headroom of live free memory.
    #[error("predicted {predicted} bytes > {:.0}% of {free} bytes free", MEMORY_HEADROOM * 100.0)]
    TooLarge {
        /// Predicted bytes.
        predicted: u64,
        /// Free bytes measured now.
        free: u64,
    },
    /// This cell ran out of memory at this size or smaller before.
    #[error("ran out of memory before at {at_pixels} pixels (this task: {pixels})")]
    KnownOutOfMemory {
        /// Smallest pixel count that failed.
        at_pixels: u64,
        /// This task's pixel count.
        pixels: u64,
    },
    /// Other candidates are measured and this one is not (`qscore bench` measures it).
    #[error("no measurement (run `qscore bench`)")]
    NoMeasurement,
    /// The plugin panicked repeatedly in this run.
    #[error("quarantined after repeated panics or crashes")]
    Quarantined,
}

/// A candidate that was set aside, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Considered {
    /// Plugin name.
    pub plugin: String,
    /// Device id.
    pub device: u32,
    /// Memory mode.
    pub mode: MemoryMode,
    /// Why.
    pub reason: Rejection,
}

/// The chooser's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranking {
    /// Best first. Within one device, leaner modes follow fuller ones.
    pub ranked: Vec<Choice>,
    /// Every candidate set aside, with its reason.
    pub considered: Vec<Considered>,
}

/// Leanness of a memory mode: full 0, strip 1, strip-pair 2, modes this build does not
/// know after those. The ladder never steps back to a lower rank on a device.
pub(crate) fn mode_rank(mode: MemoryMode) -> u32 {
    match mode {
        MemoryMode::FULL => 0,
        MemoryMode::STRIP => 1,
        MemoryMode::STRIP_PAIR => 2,
        MemoryMode(other) => 3 + other,
    }
}

/// Ranks `candidates` for `task`.
///
/// Cost = cold start (unless the candidate is warm) + open
///        + references × (prepare fixed + per pixel × pixels)
///        + references × comparisons × (compare fixed + per pixel × pixels),
/// from the cache's fitted cells, so a GPU's cold start counts against it for one small
/// job (a short clip: its frames are the references) and is spread over a long one. Candidates without measurements are set aside when any is measured; when none
/// is, they are ranked by a prior: the CPU first (no cold start), then in the order given.
pub fn choose(cache: Option<&CacheFile>, candidates: &[Candidate], task: &ChoiceTask) -> Ranking {
    let pixels = task.pixels();
    let mut ranking = Ranking::default();
    let mut eligible: Vec<(usize, Choice)> = Vec::new();
    for (order, c) in candidates.iter().enumerate() {
        let reject = |reason| Considered {
            plugin: c.plugin.clone(),
            device: c.device,
            mode: c.mode,
            reason,
        };
        if c.quarantined {
            ranking.considered.push(reject(Rejection::Quarantined));
            continue;
        }
        if let Err(why) = &c.support {
            ranking
                .considered
                .push(reject(Rejection::Unsupported(why.clone())));
            continue;
        }
        let predicted = match &c.predicted_bytes {
            Ok(bytes) => *bytes,
            Err(why) => {
                ranking
                    .considered
                    .push(reject(Rejection::NoPrediction(why.clone())));
                continue;
            }
        };
        if let Some(free) = c.free_bytes
            && predicted as f64 > MEMORY_HEADROOM * free as f64
        {
            ranking
                .considered
                .push(reject(Rejection::TooLarge { predicted, free }));
            continue;
        }
        let cell =
            cache.and_then(|f| f.cell(&c.plugin, c.device, &task.metric, &c.mode.to_string()));
        if let Some(at_pixels) = cell.and_then(|cell| cell.out_of_memory_at_pixels)
            && pixels >= at_pixels
        {
            ranking
                .considered
                .push(reject(Rejection::KnownOutOfMemory { at_pixels, pixels }));
            continue;
        }
        let measured = cell.filter(|cell| cell.measured());
        let cold_s = measured.map_or(0.0, |cell| if c.warm { 0.0 } else { cell.cold_s });
        let cost_s = measured.map(|cell| {
            cold_s
                + cell.cost(pixels as f64, f64::from(task.comparisons))
                    * f64::from(task.references.max(1))
                - cell.open_s * f64::from(task.references.max(1).saturating_sub(1))
        });
        eligible.push((
            order,
            Choice {
                plugin: c.plugin.clone(),
                device: c.device,
                mode: c.mode,
                cost_s,
                cold_s,
                predicted_bytes: predicted,
            },
        ));
    }
    let any_measured = eligible.iter().any(|(_, c)| c.cost_s.is_some());
    if any_measured {
        for (_, choice) in eligible.iter().filter(|(_, c)| c.cost_s.is_none()) {
            ranking.considered.push(Considered {
                plugin: choice.plugin.clone(),
                device: choice.device,
                mode: choice.mode,
                reason: Rejection::NoMeasurement,
            });
        }
        eligible.retain(|(_, c)| c.cost_s.is_some());
        eligible.sort_by(|(oa, a), (ob, b)| {
            a.cost_s
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.cost_s.unwrap_or(f64::INFINITY))
                .then(mode_rank(a.mode).cmp(&mode_rank(b.mode)))
                .then(oa.cmp(ob))
        });
    } else {
        let family = |choice: &Choice| {
            candidates
                .iter()
                .find(|c| c.plugin == choice.plugin)
                .map_or(BackendFamily::OTHER, |c| c.family)
        };
        // Candidates arrive grouped by device with fuller modes first; keep that order.
        eligible.sort_by_key(|(order, c)| (family(c) != BackendFamily::CPU, *order));
    }
    ranking.ranked = eligible.into_iter().map(|(_, c)| c).collect();
    ranking
}
