//! Structural similarity (SSIM) with an 11×11 Gaussian window, per plane, on the device.
//!
//! The definition is the CPU plugin's (`plugins/cpu/src/metrics/ssim.rs`): scikit-image 0.26's
//! `structural_similarity(data_range=L, gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False)`, i.e. the separable Gaussian (σ = 1.5, 11 taps normalised to
//! sum 1), population statistics, `C1 = (0.01·L)²`, `C2 = (0.03·L)²`, and the mean of the SSIM
//! map over the "valid" region (`(w − 10) × (h − 10)` positions, where the window fits inside
//! the image). Several planes (RGB channels) give the mean of the per-plane means, as
//! scikit-image's `channel_axis` does.
//!
//! Kernels compute in `f32`; the partial sums are added on the host in `f64`.

use cubecl::prelude::*;
use qscore_core::Error;

use crate::filter::{self, Index, Stack, Tally, WINDOW};
use crate::plane::DevicePlane;
use crate::source::PlaneSource;

/// Standard deviation of the Gaussian window.
const SIGMA: f64 = 1.5;
const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// The normalised 1-D Gaussian (σ = 1.5, radius 5), as `scipy.ndimage` builds it.
fn gaussian_taps() -> [f64; WINDOW] {
    let radius = (WINDOW / 2) as i32;
    let mut taps = [0.0; WINDOW];
    for (tap, i) in taps.iter_mut().zip(-radius..=radius) {
        let x = f64::from(i);
        *tap = (-0.5 / (SIGMA * SIGMA) * (x * x)).exp();
    }
    let sum: f64 = taps.iter().sum();
    for tap in &mut taps {
        *tap /= sum;
    }
    taps
}

/// Fails unless both dimensions are at least the window size.
fn check_min_size(width: usize, height: usize) -> Result<(), Error> {
    if width < WINDOW || height < WINDOW {
        Err(Error::InvalidInput(format!(
            "SSIM needs images of at least {WINDOW}x{WINDOW} pixels, got {width}x{height}"
        )))
    } else {
        Ok(())
    }
}

/// SSIM of one or more planes (RGB channels or luma) with dynamic range `L`.
#[derive(Debug, Clone, Copy)]
pub struct Ssim {
    data_range: f64,
}

/// One reference plane prepared for SSIM.
#[derive(Debug)]
struct PreparedPlane {
    /// The reference samples (needed for `G∗(xy)`).
    x: DevicePlane,
    /// `G∗x` over the valid region, `(w − 10) × (h − 10)`.
    mu_x: DevicePlane,
    /// `G∗x²` over the valid region.
    xx: DevicePlane,
}

/// A reference image prepared by [`Ssim::prepare`]: its planes and, per plane, the filtered
/// mean and filtered square over the valid region, all on the device.
#[derive(Debug)]
pub struct SsimPrepared {
    width: usize,
    height: usize,
    taps: DevicePlane,
    planes: Vec<PreparedPlane>,
}

impl Ssim {
    /// SSIM with dynamic range `data_range` (`L`, e.g. 255 for 8-bit samples). The range is
    /// checked when the metric is used.
    pub fn new(data_range: f64) -> Self {
        Self { data_range }
    }

    fn constants(&self) -> Result<(f32, f32), Error> {
        filter::check_data_range(self.data_range)?;
        let c1 = (K1 * self.data_range) * (K1 * self.data_range);
        let c2 = (K2 * self.data_range) * (K2 * self.data_range);
        Ok((c1 as f32, c2 as f32))
    }

    /// FULL mode: reads the whole reference and computes `μx` and `G∗x²` for every plane once,
    /// kept on the device with the reference planes.
    ///
    /// Fails with [`Error::InvalidInput`] if the image is smaller than 11×11 or the data range
    /// is not a positive finite number.
    pub fn prepare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
    ) -> Result<SsimPrepared, Error> {
        self.constants()?;
        let (w, h) = (reference.width(), reference.height());
        check_min_size(w, h)?;
        let taps = filter::upload_taps(client, &gaussian_taps());
        let planes = reference
            .rows(client, 0, h)?
            .into_iter()
            .map(|x| {
                let stack = filter::horizontal(client, Stack::Reference, &x, &x, &taps, 0, h);
                let (mu_x, xx) = filter::vertical_maps(client, &stack, &taps, h);
                PreparedPlane { x, mu_x, xx }
            })
            .collect();
        Ok(SsimPrepared {
            width: w,
            height: h,
            taps,
            planes,
        })
    }

    /// Mean over planes of each plane's mean SSIM between the prepared reference and
    /// `distorted`.
    ///
    /// Fails with [`Error::InvalidInput`] if `distorted` differs from the reference in size or
    /// number of planes.
    pub fn compare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        prepared: &SsimPrepared,
        distorted: &dyn PlaneSource<R>,
    ) -> Result<f64, Error> {
        let (c1, c2) = self.constants()?;
        let (w, h) = (prepared.width, prepared.height);
        filter::check_same_shape(
            (w, h, prepared.planes.len()),
            (distorted.width(), distorted.height(), distorted.planes()),
        )?;
        let dist = distorted.rows(client, 0, h)?;
        let partials = prepared
            .planes
            .iter()
            .zip(&dist)
            .map(|(p, y)| {
                let stack =
                    filter::horizontal(client, Stack::Distorted, &p.x, y, &prepared.taps, 0, h);
                filter::launch_stats(
                    client,
                    Index::Ssim,
                    &stack,
                    Some((&p.mu_x, &p.xx)),
                    &prepared.taps,
                    h,
                    c1,
                    c2,
                )
            })
            .collect();
        let total: f64 = filter::finish_stats(client, partials)?
            .iter()
            .map(|sums| sums[0])
            .sum();
        let outputs = ((w + 1 - WINDOW) * (h + 1 - WINDOW)) as f64;
        Ok(total / outputs / dist.len() as f64)
    }

    /// Strip mode: reads both images in bands of `band_rows` output rows (plus the window's
    /// 10-row halo), so only one band's filtered quantities exist on the device at a time.
    /// Equals [`compare`](Self::compare) up to `f32` summation order.
    ///
    /// Fails with [`Error::InvalidInput`] on a size or plane-count mismatch, images smaller
    /// than 11×11, or `band_rows == 0`.
    pub fn compare_bands<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
        distorted: &dyn PlaneSource<R>,
        band_rows: usize,
    ) -> Result<f64, Error> {
        let (c1, c2) = self.constants()?;
        let (w, h, planes) = (reference.width(), reference.height(), reference.planes());
        filter::check_same_shape(
            (w, h, planes),
            (distorted.width(), distorted.height(), distorted.planes()),
        )?;
        check_min_size(w, h)?;
        if band_rows == 0 {
            return Err(Error::InvalidInput("band_rows must be at least 1".into()));
        }
        let taps = filter::upload_taps(client, &gaussian_taps());
        let out_h = h + 1 - WINDOW;
        let mut totals = vec![0.0; planes];
        for (r0, r1) in filter::bands(out_h, band_rows) {
            let rows = r1 + WINDOW - 1 - r0;
            let x = reference.rows(client, r0, r0 + rows)?;
            let y = distorted.rows(client, r0, r0 + rows)?;
            for ((x, y), total) in x.iter().zip(&y).zip(&mut totals) {
                let stack = filter::horizontal(client, Stack::Both, x, y, &taps, 0, rows);
                let sums =
                    filter::vertical_stats(client, Index::Ssim, &stack, None, &taps, rows, c1, c2)?;
                *total += sums[0];
            }
        }
        let outputs = ((w + 1 - WINDOW) * out_h) as f64;
        Ok(totals.iter().map(|t| t / outputs).sum::<f64>() / planes as f64)
    }

    /// Peak device bytes this metric allocates for `planes` planes of `width × height`: FULL
    /// mode (prepared reference alive during [`compare`](Self::compare)) when `band_rows` is
    /// `None`, [`compare_bands`](Self::compare_bands) with that band height otherwise. Input
    /// planes handed out by the sources are counted as allocations.
    ///
    /// With `ow = w − 10`, `oh = h − 10`, `P` planes, `parts(n) = max(1, ⌈n / 4096⌉)` and all
    /// buffers `f32` (4 bytes per element):
    ///
    /// | mode | buffer | elements | alive |
    /// |---|---|---|---|
    /// | FULL | taps | 11 | prepared |
    /// | FULL | reference planes | `P·w·h` | prepared |
    /// | FULL | `μx`, `G∗x²` | `2·P·ow·oh` | prepared |
    /// | FULL | distorted planes | `P·w·h` | compare |
    /// | FULL | horizontal stack `[y, y², xy]` | `3·ow·h` | one plane at a time |
    /// | FULL | partial sums | `P·parts(ow·oh)` | compare |
    /// | bands | taps | 11 | compare |
    /// | bands | reference and distorted band | `2·P·w·(b + 10)` | one band |
    /// | bands | horizontal stack `[x, x², y, y², xy]` | `5·ow·(b + 10)` | one plane of a band |
    /// | bands | partial sums | `parts(ow·b)` | one plane of a band |
    ///
    /// FULL peak = `11 + 2·P·w·h + 2·P·ow·oh + 3·ow·h + P·parts(ow·oh)` (preparing needs less:
    /// its stack is `2·ow·h`). Banded peak = `11 + 2·P·w·(b + 10) + 5·ow·(b + 10) +
    /// parts(ow·b)` with `b = min(band_rows, oh)`, the tallest band. Sizes below 11×11 (which
    /// the metric rejects) and `band_rows == Some(0)` predict 0.
    pub fn predict(width: usize, height: usize, planes: usize, band_rows: Option<usize>) -> u64 {
        if width < WINDOW || height < WINDOW || band_rows == Some(0) {
            return 0;
        }
        let (ow, oh) = (width + 1 - WINDOW, height + 1 - WINDOW);
        let mut t = Tally::default();
        t.alloc(WINDOW);
        match band_rows {
            None => {
                t.alloc(planes * width * height);
                for _ in 0..planes {
                    let stack = Stack::Reference.quantities() * ow * height;
                    t.alloc(stack);
                    t.alloc(2 * ow * oh);
                    t.free(stack);
                }
                t.alloc(planes * width * height);
                for _ in 0..planes {
                    let stack = Stack::Distorted.quantities() * ow * height;
                    t.alloc(stack);
                    t.alloc(filter::partials_len(Index::Ssim, ow * oh));
                    t.free(stack);
                }
            }
            Some(band_rows) => {
                for (r0, r1) in filter::bands(oh, band_rows) {
                    let rows = r1 + WINDOW - 1 - r0;
                    t.alloc(2 * planes * width * rows);
                    let stack = Stack::Both.quantities() * ow * rows;
                    let parts = filter::partials_len(Index::Ssim, ow * (r1 - r0));
                    t.alloc(stack + parts);
                    t.free(stack + parts);
                    t.free(2 * planes * width * rows);
                }
            }
        }
        t.peak_bytes()
    }
}
