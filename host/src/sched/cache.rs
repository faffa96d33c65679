//! The capability cache: what was measured on this machine, per (plugin, device,
//! metric, memory mode), in one TOML file per fingerprint.
//!
//! The file lives in `$QSCORE_CACHE_DIR`, else `$XDG_CACHE_HOME/qscore`, else
//! `~/.cache/qscore`, named `capabilities-<fingerprint>.toml`. It is written
//! atomically (temporary file, fsync, rename). A file that cannot be parsed, that
//! belongs to another fingerprint or that is older than the maximum age is
//! reported and measured again. See `docs/cost-model.md`.

use crate::atomic::AtomicFile;
use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use super::Fingerprint;

/// Version of the file's layout.
pub const CACHE_FORMAT: u32 = 1;

/// Default age after which measurements are taken again.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// One measurement of a cell at one size.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Seconds to open a session.
    pub open_s: f64,
    /// Seconds to prepare the reference.
    pub prepare_s: f64,
    /// Seconds for one comparison with a prepared reference.
    pub compare_s: f64,
    /// Peak bytes the session held, when the plugin measures it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_bytes: Option<u64>,
    /// Seconds the first session of this cell in a process took beyond a warm one (a GPU's
    /// device start, kernel compilation, tables), measured at the cell's first size only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_s: Option<f64>,
}

/// What is known about one (plugin, device, metric, memory mode).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cell {
    /// Plugin name.
    pub plugin: String,
    /// Device id within the plugin.
    pub device: u32,
    /// Metric id.
    pub metric: String,
    /// Memory mode name.
    pub mode: String,
    /// Seconds to open a session (median over samples).
    pub open_s: f64,
    /// Seconds of the first use in a process beyond a warm session (see [`Sample::cold_s`]),
    /// paid once per process.
    #[serde(default)]
    pub cold_s: f64,
    /// Fixed seconds of preparing a reference.
    pub prepare_fixed_s: f64,
    /// Seconds per pixel of preparing a reference.
    pub prepare_per_pixel_s: f64,
    /// Fixed seconds of one comparison.
    pub compare_fixed_s: f64,
    /// Seconds per pixel of one comparison.
    pub compare_per_pixel_s: f64,
    /// The measurements the costs were fitted to.
    #[serde(default)]
    pub samples: Vec<Sample>,
    /// Smallest pixel count that ran out of memory here; never tried again at or above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_memory_at_pixels: Option<u64>,
    /// When it was measured (seconds since the Unix epoch).
    pub measured_unix: u64,
}

impl Cell {
    /// Whether this cell holds timings (an out-of-memory record may hold none).
    pub fn measured(&self) -> bool {
        !self.samples.is_empty()
    }

    /// Predicted seconds: open, prepare one reference, compare it `comparisons` times.
    pub fn cost(&self, pixels: f64, comparisons: f64) -> f64 {
        self.open_s
            + self.prepare_fixed_s
            + self.prepare_per_pixel_s * pixels
            + comparisons * (self.compare_fixed_s + self.compare_per_pixel_s * pixels)
    }

    /// Fits fixed and per-pixel costs to `samples` (least squares, clamped at zero).
    pub fn fit(plugin: &str, device: u32, metric: &str, mode: &str, samples: Vec<Sample>) -> Self {
        let pixels: Vec<f64> = samples
            .iter()
            .map(|s| f64::from(s.width) * f64::from(s.height))
            .collect();
        let (prepare_fixed_s, prepare_per_pixel_s) = fit_line(
            &pixels,
            &samples.iter().map(|s| s.prepare_s).collect::<Vec<_>>(),
        );
        let (compare_fixed_s, compare_per_pixel_s) = fit_line(
            &pixels,
            &samples.iter().map(|s| s.compare_s).collect::<Vec<_>>(),
        );
        let mut opens: Vec<f64> = samples.iter().map(|s| s.open_s).collect();
        opens.sort_by(f64::total_cmp);
        let cold_s = samples.iter().filter_map(|s| s.cold_s).fold(0.0, f64::max);
        Self {
            plugin: plugin.to_owned(),
            device,
            metric: metric.to_owned(),
            mode: mode.to_owned(),
            open_s: opens.get(opens.len() / 2).copied().unwrap_or(0.0),
            cold_s,
            prepare_fixed_s,
            prepare_per_pixel_s,
            compare_fixed_s,
            compare_per_pixel_s,
            samples,
            out_of_memory_at_pixels: None,
            measured_unix: now_unix(),
        }
    }
}

/// Least-squares `y = a + b·x`, with `a, b ≥ 0` (a negative intercept means "no fixed cost").
fn fit_line(x: &[f64], y: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (0.0, 0.0);
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    if sxx == 0.0 {
        return (0.0, if mx > 0.0 { my / mx } else { 0.0 });
    }
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let slope = (sxy / sxx).max(0.0);
    let intercept = my - slope * mx;
    if intercept < 0.0 {
        // Through the origin instead.
        let sxy0: f64 = x.iter().zip(y).map(|(a, b)| a * b).sum();
        let sxx0: f64 = x.iter().map(|a| a * a).sum();
        return (0.0, (sxy0 / sxx0).max(0.0));
    }
    (intercept, slope)
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CacheFile {
    /// [`CACHE_FORMAT`].
    pub format: u32,
    /// What the measurements belong to.
    pub fingerprint: Fingerprint,
    /// When the file was first written.
    pub created_unix: u64,
    /// Every cell.
    #[serde(default)]
    pub cells: Vec<Cell>,
}

impl CacheFile {
    /// An empty cache for `fingerprint`.
    pub fn new(fingerprint: Fingerprint) -> Self {
        Self {
            format: CACHE_FORMAT,
            fingerprint,
            created_unix: now_unix(),
            cells: Vec::new(),
        }
    }

    /// The cell for a (plugin, device, metric, mode).
    pub fn cell(&self, plugin: &str, device: u32, metric: &str, mode: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| {
            c.plugin == plugin && c.device == device && c.metric == metric && c.mode == mode
        })
    }

    fn cell_mut(
        &mut self,
        plugin: &str,
        device: u32,
        metric: &str,
        mode: &str,
    ) -> Option<&mut Cell> {
        self.cells.iter_mut().find(|c| {
            c.plugin == plugin && c.device == device && c.metric == metric && c.mode == mode
        })
    }

    /// Stores a measured cell, keeping any out-of-memory record of the one it replaces.
    pub fn put(&mut self, mut cell: Cell) {
        if let Some(old) = self.cell_mut(&cell.plugin, cell.device, &cell.metric, &cell.mode) {
            cell.out_of_memory_at_pixels =
                cell.out_of_memory_at_pixels.or(old.out_of_memory_at_pixels);
            *old = cell;
        } else {
            self.cells.push(cell);
        }
    }

    /// Records that `pixels` ran out of memory in this cell. Returns whether anything changed.
    pub fn record_out_of_memory(
        &mut self,
        plugin: &str,
        device: u32,
        metric: &str,
        mode: &str,
        pixels: u64,
    ) -> bool {
        if let Some(cell) = self.cell_mut(plugin, device, metric, mode) {
            let lower = cell.out_of_memory_at_pixels.is_none_or(|p| pixels < p);
            if lower {
                cell.out_of_memory_at_pixels = Some(pixels);
            }
            return lower;
        }
        self.cells.push(Cell {
            plugin: plugin.to_owned(),
            device,
            metric: metric.to_owned(),
            mode: mode.to_owned(),
            open_s: 0.0,
            cold_s: 0.0,
            prepare_fixed_s: 0.0,
            prepare_per_pixel_s: 0.0,
            compare_fixed_s: 0.0,
            compare_per_pixel_s: 0.0,
            samples: Vec::new(),
            out_of_memory_at_pixels: Some(pixels),
            measured_unix: now_unix(),
        });
        true
    }
}

/// Where cache files live: `$QSCORE_CACHE_DIR`, `$XDG_CACHE_HOME/qscore`, `~/.cache/qscore`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let env = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("QSCORE_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("qscore")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("qscore")))
}

/// Why a cache file was not used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CacheProblem {
    /// The file could not be read or parsed.
    #[error("{path}: unreadable capability cache ({reason}); measuring again")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is older than the maximum age.
    #[error("{path}: capability cache is {age_days:.1} days old; measuring again")]
    Stale {
        /// The file.
        path: PathBuf,
        /// Its age.
        age_days: f64,
    },
    /// The file belongs to other hardware or plugins, or another layout version.
    #[error("{path}: capability cache is for other hardware, plugins or format; measuring again")]
    Mismatch {
        /// The file.
        path: PathBuf,
    },
}

/// A cache file on disk.
#[derive(Debug, Clone)]
pub struct CacheStore {
    path: PathBuf,
    fingerprint: Fingerprint,
    max_age: Duration,
}

impl CacheStore {
    /// The store for `fingerprint` in `dir`.
    pub fn new(dir: &Path, fingerprint: Fingerprint, max_age: Duration) -> Self {
        Self {
            path: dir.join(format!("capabilities-{}.toml", fingerprint.hash)),
            fingerprint,
            max_age,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The fingerprint this store is for.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Reads the file: `Ok(None)` when there is none, `Err` when it must be measured again.
    pub fn load(&self) -> Result<Option<CacheFile>, CacheProblem> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(CacheProblem::Corrupt {
                    path: self.path.clone(),
                    reason: e.to_string(),
                });
            }
        };
        let file: CacheFile = toml::from_str(&text).map_err(|e| CacheProblem::Corrupt {
            path: self.path.clone(),
            reason: e.message().to_owned(),
        })?;
        if file.format != CACHE_FORMAT || file.fingerprint != self.fingerprint {
            return Err(CacheProblem::Mismatch {
                path: self.path.clone(),
            });
        }
        let age = now_unix().saturating_sub(file.created_unix);
        if age > self.max_age.as_secs() {
            return Err(CacheProblem::Stale {
                path: self.path.clone(),
                age_days: age as f64 / 86_400.0,
            });
        }
        Ok(Some(file))
    }

    /// Writes the file atomically: a temporary file beside it, fsync'd, then renamed.
    pub fn save(&self, file: &CacheFile) -> std::io::Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let text = toml::to_string_pretty(file).map_err(std::io::Error::other)?;
        AtomicFile::write(&self.path, text.as_bytes())
    }
}
