//! Structural similarity (SSIM) with an 11×11 Gaussian window, on one channel.
//!
//! # Definition
//!
//! This is exactly scikit-image 0.26's
//! `structural_similarity(x, y, data_range=L, gaussian_weights=True, sigma=1.5,
//! use_sample_covariance=False)` for a single channel (Wang, Bovik, Sheikh & Simoncelli 2004):
//!
//! - `G` is the 1-D Gaussian with σ = 1.5 truncated at 3.5σ (radius 5, 11 taps,
//!   `g[i] ∝ exp(−i² / (2σ²))` for `i = −5..=5`, normalised to sum 1), applied separably
//!   (`ndimage.gaussian_filter`).
//! - `μx = G∗x`, `μy = G∗y`, `σx² = G∗x² − μx²`, `σy² = G∗y² − μy²`, `σxy = G∗(xy) − μxμy`
//!   (population statistics: no `N/(N−1)` correction).
//! - `C1 = (0.01·L)²`, `C2 = (0.03·L)²`, and the SSIM map is
//!   `((2μxμy + C1)(2σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2))`.
//! - The score is the mean of the map after cropping `(11 − 1) / 2 = 5` pixels from every
//!   border. scikit-image filters the whole image (boundary mode `reflect`, i.e. half-sample
//!   symmetric `d c b a | a b c d | d c b a`) and then crops; every window of the cropped region
//!   lies entirely inside the image, so boundary handling never reaches the score and only the
//!   "valid" region is computed here.
//!
//! Images smaller than 11 pixels in either dimension are rejected (scikit-image raises). For
//! RGB, scikit-image (with `channel_axis`) averages the per-channel scores; callers do that.
//! Everything is computed in `f64`.
//!
//! # Relation to libvmaf's `float_ssim`
//!
//! libvmaf's `float_ssim` (its copy of Tom Distler's IQA SSIM) uses the same 11×11 Gaussian
//! window in valid mode, L = 255, on luma (high-bit-depth luma divided by `2^(bits−8)`), and
//! writes the map as `l · c · s` with `C3 = C2/2`, which is algebraically the same SSIM map.
//! It differs in details below the 4th decimal: its taps are rounded to 6 decimals (they sum
//! to 1.000002), it computes in `f32`, and it clamps `σx²`, `σy²` at 0. It also first
//! downsamples by `max(1, round(min(w, h) / 256))` with a box filter: for `min(w, h) ≥ 384`
//! (e.g. 1080p, where the factor is 4) libvmaf's `float_ssim` is *not* this metric on the
//! full-resolution image.

use super::{MetricError, Plane, check_data_range, check_same_size, filter};

/// Side of the Gaussian window (taps per dimension).
pub(crate) const WINDOW: usize = 11;
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

/// Checks the minimum size of [`WINDOW`] × [`WINDOW`].
fn check_min_size(plane: &Plane) -> Result<(), MetricError> {
    if plane.width < WINDOW || plane.height < WINDOW {
        Err(MetricError::TooSmall {
            width: plane.width,
            height: plane.height,
            min: WINDOW,
        })
    } else {
        Ok(())
    }
}

/// A reference plane prepared for SSIM: its samples plus the filtered mean `μx` and filtered
/// square `G∗x²` over the valid region, so each [`compare`](Self::compare) only filters the
/// distorted plane.
#[derive(Debug, Clone)]
pub(crate) struct SsimReference {
    width: usize,
    height: usize,
    taps: [f64; WINDOW],
    c1: f64,
    c2: f64,
    /// Reference samples (needed for `G∗(xy)`).
    x: Vec<f64>,
    /// `G∗x` on the valid region, `(width − 10) × (height − 10)`.
    mu_x: Vec<f64>,
    /// `G∗x²` on the valid region.
    xx: Vec<f64>,
}

impl SsimReference {
    /// Prepares `reference` for comparisons with dynamic range `data_range` (`L`, e.g. 255
    /// for 8-bit samples).
    ///
    /// Fails if the plane is malformed, smaller than 11×11, or `data_range` is not a positive
    /// finite number.
    pub(crate) fn new(reference: &Plane, data_range: f64) -> Result<Self, MetricError> {
        reference.check()?;
        check_min_size(reference)?;
        check_data_range(data_range)?;
        let taps = gaussian_taps();
        let (w, h) = (reference.width, reference.height);
        let [mu_x, xx] = filter::separable_valid_collect(w, h, &taps, |y, rows: &mut [_; 2]| {
            let src = reference.row(y);
            let [row_x, row_xx] = rows;
            row_x.copy_from_slice(src);
            for (d, &s) in row_xx.iter_mut().zip(src) {
                *d = s * s;
            }
        });
        Ok(Self {
            width: w,
            height: h,
            taps,
            c1: (K1 * data_range) * (K1 * data_range),
            c2: (K2 * data_range) * (K2 * data_range),
            x: reference.data.clone(),
            mu_x,
            xx,
        })
    }

    /// Mean SSIM between the prepared reference and `distorted`.
    ///
    /// Fails if `distorted` is malformed or its size differs from the reference.
    pub(crate) fn compare(&self, distorted: &Plane) -> Result<f64, MetricError> {
        distorted.check()?;
        check_same_size((self.width, self.height), distorted)?;
        let (w, h) = (self.width, self.height);
        let out_w = w + 1 - WINDOW;
        let out_h = h + 1 - WINDOW;
        let (c1, c2) = (self.c1, self.c2);
        let mut total = 0.0;
        filter::separable_valid(
            w,
            h,
            &self.taps,
            |y, rows: &mut [_; 3]| {
                let dist = distorted.row(y);
                let refr = &self.x[y * w..(y + 1) * w];
                let [row_y, row_yy, row_xy] = rows;
                row_y.copy_from_slice(dist);
                for (((yy, xy), &d), &r) in
                    row_yy.iter_mut().zip(row_xy.iter_mut()).zip(dist).zip(refr)
                {
                    *yy = d * d;
                    *xy = r * d;
                }
            },
            |r, [mu_y, yy, xy]| {
                let mu_x = &self.mu_x[r * out_w..(r + 1) * out_w];
                let xx = &self.xx[r * out_w..(r + 1) * out_w];
                let mut row_sum = 0.0;
                for i in 0..out_w {
                    let (ux, uy) = (mu_x[i], mu_y[i]);
                    let vx = xx[i] - ux * ux;
                    let vy = yy[i] - uy * uy;
                    let vxy = xy[i] - ux * uy;
                    let num = (2.0 * ux * uy + c1) * (2.0 * vxy + c2);
                    let den = (ux * ux + uy * uy + c1) * (vx + vy + c2);
                    row_sum += num / den;
                }
                total += row_sum;
            },
        );
        Ok(total / (out_w * out_h) as f64)
    }
}

/// Mean SSIM of `a` (reference) against `b` (distorted) with dynamic range `data_range`.
///
/// Same as `SsimReference::new(a, data_range)?.compare(b)`.
pub(crate) fn ssim(a: &Plane, b: &Plane, data_range: f64) -> Result<f64, MetricError> {
    check_same_size((a.width, a.height), b)?;
    SsimReference::new(a, data_range)?.compare(b)
}
