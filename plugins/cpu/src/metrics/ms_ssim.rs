//! Multi-scale structural similarity (MS-SSIM) on one plane, as libvmaf's `float_ms_ssim`.
//!
//! # Definition
//!
//! This is the MS-SSIM of Wang, Simoncelli & Bovik (2003) exactly as libvmaf (2.3.x and 3.x)
//! computes its `float_ms_ssim` feature (`libvmaf/src/feature/ms_ssim.c` and the IQA code under
//! `libvmaf/src/feature/iqa/`). libvmaf applies it to luma with samples on the 8-bit scale
//! (high-bit-depth luma divided by `2^(bits−8)`) and `L = 255`; here `L` is the `data_range`
//! argument. It is computed in `f64` (libvmaf uses `f32`; the difference is far below the
//! 4 decimals libvmaf's own tests check).
//!
//! **Pyramid.** Five scales. Scale 0 is the input; scale `i + 1` is scale `i` low-pass filtered
//! and decimated by 2: output sample `(x, y)` is the 9×9 filter centred on input sample
//! `(2x, 2y)`, so a `w × h` scale becomes `⌈w/2⌉ × ⌈h/2⌉`. The filter is libvmaf's 2-D table
//! for the 9/7 biorthogonal (CDF 9/7) wavelet low-pass, approximately the outer product of the
//! 1-D taps `[0.026727, −0.016828, −0.078201, 0.266846, 0.602914, 0.266846, −0.078201,
//! −0.016828, 0.026727]`, with its entries rounded to 6 decimals (see `LPF_QUADRANT`; it sums
//! to 1.000005 and is used as is, not renormalised). Samples outside the image are mirrored
//! half-sample symmetrically (`x < 0 → −1 − x`, `x ≥ w → 2w − 1 − x`, i.e.
//! `c b a | a b c | c b a`).
//!
//! **Per-scale statistics.** At each scale, with `G` the 11-tap Gaussian window (σ = 1.5) in
//! libvmaf's rounded form `[0.001028, 0.007599, 0.036001, 0.109361, 0.213006, 0.266012,
//! 0.213006, 0.109361, 0.036001, 0.007599, 0.001028]` (sum 1.000002, not renormalised), applied
//! separably and only where the 11×11 window fits inside the scale ("valid" mode: a `w × h`
//! scale gives `(w − 10) × (h − 10)` positions; no boundary handling):
//!
//! - `μx = G∗x`, `μy = G∗y`
//! - `σx² = max(0, G∗x² − μx²)`, `σy² = max(0, G∗y² − μy²)`, `σxy = G∗(xy) − μxμy`
//! - `σxσy = √(σx²·σy²)`
//! - `C1 = (0.01·L)²`, `C2 = (0.03·L)²`, `C3 = C2 / 2`
//! - luminance `l = (2μxμy + C1) / (μx² + μy² + C1)`
//! - contrast `c = (2σxσy + C2) / (σx² + σy² + C2)`
//! - structure `s = (σxy + C3) / (σxσy + C3)`, where `σxy` is replaced by 0 when it is negative
//!   and `σxσy` is 0 (so flat identical regions score exactly 1)
//!
//! and the scale's values `l̄ᵢ`, `c̄ᵢ`, `s̄ᵢ` are the plain means of the `l`, `c` and `s` maps
//! separately (not the mean of their product).
//!
//! **Combination.** `MS-SSIM = l̄₄^α₄ · ∏ᵢ₌₀⁴ c̄ᵢ^βᵢ · s̄ᵢ^γᵢ` with Wang's weights
//! `β = γ = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)` and `α = (0, 0, 0, 0, 0.1333)`
//! (luminance only at the coarsest scale). The means are raised to these powers as they are:
//! a negative `s̄ᵢ` (possible for strongly anti-correlated content) has no real power, and
//! libvmaf then reports NaN; so does this implementation (`Ok(NaN)`), rather than inventing a
//! value. `l̄` and `c̄` are positive for non-negative samples.
//!
//! **Size limits.** libvmaf refuses images where any of the five scales, halving with
//! truncation, would be narrower or shorter than 11 pixels, i.e. width or height below 176;
//! this returns [`MetricError::TooSmall`] for those.

use super::{MetricError, Plane, check_data_range, check_same_size, filter};

/// Number of scales.
pub(crate) const SCALES: usize = 5;
/// Smallest accepted width and height: `⌊176 / 2⁴⌋ = 11`, the window size, at the last scale.
pub(crate) const MIN_SIZE: usize = 176;

/// Exponent of the luminance mean at each scale.
const ALPHA: [f64; SCALES] = [0.0, 0.0, 0.0, 0.0, 0.1333];
/// Exponent of the contrast mean at each scale.
const BETA: [f64; SCALES] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
/// Exponent of the structure mean at each scale.
const GAMMA: [f64; SCALES] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// libvmaf's 11-tap Gaussian window (σ = 1.5), rounded to 6 decimals; sums to 1.000002.
const WINDOW_TAPS: [f64; 11] = [
    0.001028, 0.007599, 0.036001, 0.109361, 0.213006, 0.266012, 0.213006, 0.109361, 0.036001,
    0.007599, 0.001028,
];
const WINDOW: usize = WINDOW_TAPS.len();

/// One quadrant of libvmaf's symmetric 9×9 low-pass (decimation) kernel:
/// `LPF_QUADRANT[|dy|][|dx|]` is the weight of the input sample at offset `(dx, dy)` from the
/// centre, `dx, dy ∈ −4..=4`.
const LPF_QUADRANT: [[f64; 5]; 5] = [
    [0.363505, 0.160885, -0.047149, -0.010146, 0.016114],
    [0.160885, 0.071207, -0.020867, -0.004490, 0.007132],
    [-0.047149, -0.020867, 0.006115, 0.001316, -0.002090],
    [-0.010146, -0.004490, 0.001316, 0.000283, -0.000450],
    [0.016114, 0.007132, -0.002090, -0.000450, 0.000714],
];
const LPF_RADIUS: usize = 4;
const LPF_LEN: usize = 2 * LPF_RADIUS + 1;

/// The full 9×9 low-pass kernel, row-major, built from [`LPF_QUADRANT`].
fn lpf_kernel() -> [[f64; LPF_LEN]; LPF_LEN] {
    std::array::from_fn(|v| {
        std::array::from_fn(|u| LPF_QUADRANT[v.abs_diff(LPF_RADIUS)][u.abs_diff(LPF_RADIUS)])
    })
}

/// Half-sample symmetric index into `0..n` for an index `i` at most `n` outside the range:
/// `−1 → 0`, `−2 → 1`, `n → n − 1`, `n + 1 → n − 2`.
fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = if i < 0 {
        -1 - i
    } else if i >= n {
        2 * n - 1 - i
    } else {
        i
    };
    debug_assert!((0..n).contains(&m));
    m as usize
}

/// Low-pass filters and decimates a `w × h` image by 2 (see the module documentation).
/// Returns the `⌈w/2⌉ × ⌈h/2⌉` result.
fn decimate(src: &[f64], w: usize, h: usize) -> (Vec<f64>, usize, usize) {
    let (sw, sh) = (w.div_ceil(2), h.div_ceil(2));
    let kernel = lpf_kernel();
    // Rows mirrored horizontally by LPF_RADIUS on each side, so the inner loop has no
    // boundary cases: padded column `j` is source column `mirror(j − LPF_RADIUS)`.
    let pw = w + 2 * LPF_RADIUS;
    let mut padded = Vec::with_capacity(pw * h);
    for row in src.chunks_exact(w) {
        padded.extend((0..pw).map(|j| row[mirror(j as isize - LPF_RADIUS as isize, w)]));
    }
    let mut dst = Vec::with_capacity(sw * sh);
    let mut acc = vec![0.0; sw];
    for y in 0..sh {
        acc.fill(0.0);
        for (v, k) in kernel.iter().enumerate() {
            let r = mirror((2 * y + v) as isize - LPF_RADIUS as isize, h);
            let row = &padded[r * pw..(r + 1) * pw];
            for (x, a) in acc.iter_mut().enumerate() {
                let window = &row[2 * x..2 * x + LPF_LEN];
                let mut sum = 0.0;
                for (&kk, &p) in k.iter().zip(window) {
                    sum += kk * p;
                }
                *a += sum;
            }
        }
        dst.extend_from_slice(&acc);
    }
    (dst, sw, sh)
}

/// One scale of the prepared reference.
#[derive(Debug, Clone)]
struct Level {
    width: usize,
    height: usize,
    /// Reference samples at this scale.
    x: Vec<f64>,
    /// `G∗x` on the valid region, `(width − 10) × (height − 10)`.
    mu_x: Vec<f64>,
    /// `G∗x²` on the valid region.
    xx: Vec<f64>,
}

impl Level {
    fn new(x: Vec<f64>, width: usize, height: usize) -> Self {
        let [mu_x, xx] =
            filter::separable_valid_collect(width, height, &WINDOW_TAPS, |y, rows: &mut [_; 2]| {
                let src = &x[y * width..(y + 1) * width];
                let [row_x, row_xx] = rows;
                row_x.copy_from_slice(src);
                for (d, &s) in row_xx.iter_mut().zip(src) {
                    *d = s * s;
                }
            });
        Self {
            width,
            height,
            x,
            mu_x,
            xx,
        }
    }
}

/// Per-scale means of the luminance, contrast and structure maps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScaleMeans {
    /// Mean luminance term `l̄`.
    pub(crate) l: f64,
    /// Mean contrast term `c̄`.
    pub(crate) c: f64,
    /// Mean structure term `s̄`.
    pub(crate) s: f64,
}

/// A reference plane prepared for MS-SSIM: its five-scale pyramid with the filtered mean and
/// filtered square at each scale, so each [`compare`](Self::compare) only decimates and
/// filters the distorted plane.
#[derive(Debug, Clone)]
pub(crate) struct MsSsimReference {
    width: usize,
    height: usize,
    c1: f64,
    c2: f64,
    c3: f64,
    levels: Vec<Level>,
}

impl MsSsimReference {
    /// Prepares `reference` for comparisons with dynamic range `data_range` (`L`; libvmaf uses
    /// 255 with samples on the 8-bit scale).
    ///
    /// Fails if the plane is malformed, smaller than [`MIN_SIZE`] in either dimension, or
    /// `data_range` is not a positive finite number.
    pub(crate) fn new(reference: &Plane, data_range: f64) -> Result<Self, MetricError> {
        reference.check()?;
        check_data_range(data_range)?;
        if reference.width < MIN_SIZE || reference.height < MIN_SIZE {
            return Err(MetricError::TooSmall {
                width: reference.width,
                height: reference.height,
                min: MIN_SIZE,
            });
        }
        let mut levels = Vec::with_capacity(SCALES);
        let (mut x, mut w, mut h) = (reference.data.clone(), reference.width, reference.height);
        for scale in 0..SCALES {
            let next = (scale + 1 < SCALES).then(|| decimate(&x, w, h));
            levels.push(Level::new(x, w, h));
            if let Some(next) = next {
                (x, w, h) = next;
            } else {
                break;
            }
        }
        let c1 = (K1 * data_range) * (K1 * data_range);
        let c2 = (K2 * data_range) * (K2 * data_range);
        Ok(Self {
            width: reference.width,
            height: reference.height,
            c1,
            c2,
            c3: c2 / 2.0,
            levels,
        })
    }

    /// MS-SSIM between the prepared reference and `distorted`.
    ///
    /// Fails if `distorted` is malformed or its size differs from the reference. NaN when a
    /// scale's mean structure term is negative (as libvmaf).
    pub(crate) fn compare(&self, distorted: &Plane) -> Result<f64, MetricError> {
        let means = self.compare_scales(distorted)?;
        Ok(combine(&means))
    }

    /// The per-scale means `l̄ᵢ, c̄ᵢ, s̄ᵢ` (libvmaf's `float_ms_ssim_{l,c,s}_scale{i}` outputs).
    pub(crate) fn compare_scales(
        &self,
        distorted: &Plane,
    ) -> Result<[ScaleMeans; SCALES], MetricError> {
        distorted.check()?;
        check_same_size((self.width, self.height), distorted)?;
        let mut means = [ScaleMeans {
            l: 0.0,
            c: 0.0,
            s: 0.0,
        }; SCALES];
        let mut current = std::borrow::Cow::Borrowed(&distorted.data[..]);
        for (scale, level) in self.levels.iter().enumerate() {
            means[scale] = self.scale_means(level, &current);
            if scale + 1 < self.levels.len() {
                let (next, w, h) = decimate(&current, level.width, level.height);
                debug_assert_eq!(
                    (w, h),
                    (self.levels[scale + 1].width, self.levels[scale + 1].height)
                );
                current = std::borrow::Cow::Owned(next);
            }
        }
        Ok(means)
    }

    /// Means of the `l`, `c`, `s` maps at one scale; `y` is the distorted plane at that scale.
    fn scale_means(&self, level: &Level, y: &[f64]) -> ScaleMeans {
        let (w, h) = (level.width, level.height);
        let out_w = w + 1 - WINDOW;
        let out_h = h + 1 - WINDOW;
        let (c1, c2, c3) = (self.c1, self.c2, self.c3);
        let (mut l_sum, mut c_sum, mut s_sum) = (0.0, 0.0, 0.0);
        filter::separable_valid(
            w,
            h,
            &WINDOW_TAPS,
            |row, rows: &mut [_; 3]| {
                let dist = &y[row * w..(row + 1) * w];
                let refr = &level.x[row * w..(row + 1) * w];
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
                let mu_x = &level.mu_x[r * out_w..(r + 1) * out_w];
                let xx = &level.xx[r * out_w..(r + 1) * out_w];
                let (mut lr, mut cr, mut sr) = (0.0, 0.0, 0.0);
                for i in 0..out_w {
                    let (ux, uy) = (mu_x[i], mu_y[i]);
                    let vx = (xx[i] - ux * ux).max(0.0);
                    let vy = (yy[i] - uy * uy).max(0.0);
                    let vxy = xy[i] - ux * uy;
                    let sxsy = (vx * vy).sqrt();
                    let vxy = if vxy < 0.0 && sxsy <= 0.0 { 0.0 } else { vxy };
                    lr += (2.0 * ux * uy + c1) / (ux * ux + uy * uy + c1);
                    cr += (2.0 * sxsy + c2) / (vx + vy + c2);
                    sr += (vxy + c3) / (sxsy + c3);
                }
                l_sum += lr;
                c_sum += cr;
                s_sum += sr;
            },
        );
        let n = (out_w * out_h) as f64;
        ScaleMeans {
            l: l_sum / n,
            c: c_sum / n,
            s: s_sum / n,
        }
    }
}

/// `l̄₄^α₄ · ∏ c̄ᵢ^βᵢ · s̄ᵢ^γᵢ` (a zero exponent gives a factor of exactly 1).
fn combine(means: &[ScaleMeans; SCALES]) -> f64 {
    means
        .iter()
        .zip(ALPHA.iter().zip(BETA.iter().zip(&GAMMA)))
        .map(|(m, (&a, (&b, &g)))| m.l.powf(a) * m.c.powf(b) * m.s.powf(g))
        .product()
}

/// MS-SSIM of `a` (reference) against `b` (distorted) with dynamic range `data_range`.
///
/// Same as `MsSsimReference::new(a, data_range)?.compare(b)`.
pub(crate) fn ms_ssim(a: &Plane, b: &Plane, data_range: f64) -> Result<f64, MetricError> {
    check_same_size((a.width, a.height), b)?;
    MsSsimReference::new(a, data_range)?.compare(b)
}
