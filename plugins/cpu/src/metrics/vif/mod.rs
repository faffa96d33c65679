//! VMAF's Visual Information Fidelity feature in integer arithmetic, exactly as libvmaf
//! v2.3.1's `vif` extractor (`integer_vif.c`, the one the `vmaf_v0.6.1` models use) computes
//! it: the values it stores as `VMAF_integer_feature_vif_scale0_score` to `..._scale3_score`,
//! or as `integer_vif_scale{i}_egl_{limit}` when the enhancement gain limit is set.
//!
//! The definition is libvmaf's portable C code. v2.3.1's AVX2 code differs from it for 8-bit
//! input whose width is 1 to 8 more than a multiple of 16: it writes past the end of a row
//! and the scale-0 score moves, by up to a few 10⁻³ on tiny frames and about 10⁻⁴ on larger
//! ones (fixed upstream in 2023, Netflix/vmaf pull request 1200). It also differs on samples
//! beyond the declared bit depth. libvmaf v3.0.0
//! restructured the C code (the statistic fused into the row pass, the logarithms summed as
//! whole numbers) without, as far as we can tell from reading it, changing any value, and the
//! 3.x releases since only add a `vif_skip_scale0` option (off by default). This module is
//! tested against v2.3.1 only.
//!
//! # The algorithm
//!
//! Only the luma plane is used. VIF compares the reference `x` and the distorted `y` at four
//! scales: scale 0 is the input; each further scale is the previous one low-passed with the
//! next scale's Gaussian and decimated by two both ways (keeping the even rows and columns,
//! so `width / 2` and `height / 2` rounded down). At every scale a separable Gaussian (17, 9,
//! 5 and 3 taps) gives, per pixel, the local means `μx`, `μy` and the moments `E[x²]`,
//! `E[y²]`, `E[xy]`, hence the variances `σx²`, `σy²` and the covariance `σxy`. With the gain
//! `g = σxy / σx²`, the residual variance `σv² = σy² − g·σxy` and the noise variance `σn² = 2`
//! (in 8-bit units), each pixel adds
//!
//! - where `σx² ≥ σn²`: `log2(1 + g²σx² / (σv² + σn²))` to the numerator and
//!   `log2(1 + σx² / σn²)` to the denominator, the gain taken as 0 where `σxy < 0` and capped
//!   at the enhancement gain limit (100 by default; the `neg` models use 1, so that a
//!   distorted image with more contrast than the reference earns nothing for it);
//! - elsewhere: `1 − 4σy² / 255²` to the numerator and 1 to the denominator.
//!
//! A scale's score is its numerator over its denominator, with no special case: every pixel
//! adds at least about 1 to the denominator.
//!
//! # Fixed point
//!
//! Write `s` for a sample brought to 16 bits (`s = x · 2^(16−b)` for a `b`-bit sample). The
//! taps are 16-bit integers summing to exactly 2¹⁶. Every filter pass sums exact integers (no
//! sum can overflow the width used for it) and then, where libvmaf does, adds half and shifts
//! right:
//!
//! - Down the columns at scale 0 the mean is shifted by `b`, giving `s`; the squares and the
//!   products of the two images by `2(b − 8)` (not at all for 8-bit input), giving `s²`.
//!   At scales 1 to 3, whose samples are already `s`, everything is shifted by 16.
//! - Along the rows the mean is kept whole, `s · 2¹⁶` in 32 bits; the second moments are
//!   shifted by 16, giving `s²` units again.
//! - A product of two means is `(μ·μ' + 2³¹) >> 32`, in `s²` units. Variances and covariance
//!   are the 32-bit wrapping differences read as signed; the variances are clamped at 0.
//!   `σn²` is then `2 · 2¹⁶` (one 8-bit unit is 2⁸ `s` units).
//! - The low-pass before decimation shifts by `b` (scale 0) or 16 down the columns and by 16
//!   along the rows, giving `s` samples again.
//!
//! Each filtered value is narrowed to the width libvmaf stores it in (16 bits for the means
//! down the columns, 32 bits otherwise), so even samples beyond the declared depth give
//! libvmaf's values. Past an edge the samples are mirrored without repeating the edge sample
//! (index `−i` reads `i`, index `n − 1 + i` reads `n − 1 − i`), on all four sides and in every
//! pass.
//!
//! The gain and the residual are computed in double precision from the integer variances, the
//! residual truncated back to an integer and clamped at 0. The logarithms are integer ones: a
//! value `v ≥ 2¹⁷` is cut to its top 16 bits, `v ≈ m · 2^e` with `m ∈ [2¹⁵, 2¹⁶)`, and
//! `2048 · log2 m` is read from a table of `round(2048 · log2 m)` (with `log2` in single
//! precision, as libvmaf's `log2f`). A numerator term is `log2(σv² + σn² + ⌊g²σx²⌋) −
//! log2(σv² + σn²)`, a denominator term `log2(σn² + σx²) − 17`, and a linear term
//! `1 − σy² / 2¹⁴ / 255²`. Per scale the table values, the exponents, the counts and the
//! linear `σy²` are summed as integers and combined once in double precision; the numerator
//! and the denominator are kept in single precision and divided in single precision.
//!
//! The denominator depends on the reference alone, so [`VifReference`] computes it once, with
//! the reference pyramid and, per scale, the reference's means and variances; [`vif`] then
//! filters only the distorted image and the products of the two.

use super::simd::{self, Isa};
use super::{MetricError, luma::Luma};

#[cfg(target_arch = "x86_64")]
mod avx2;
mod filter;
mod kernels;
mod products;
mod stats;
#[cfg(test)]
mod tests;

pub use filter::TAPS;
use filter::{Image, RowBuffers};
#[cfg(target_arch = "x86_64")]
use kernels::Avx2;
use kernels::{Kernels, Portable};
pub use stats::{DenAccum, EPS, Log2Table, NOISE_VARIANCE, NumAccum, log2_table};

/// Smallest width and height accepted. Every filter mirrors up to its radius past an edge
/// (8, 4, 2 and 1 samples at scales 0 to 3, and the low-pass before each decimation uses the
/// next scale's radius), which stays inside the image only while the side is more than the
/// radius. The binding case is scale 3, whose side is `side / 8` rounded down and must be at
/// least 2 for its 3-tap filter: `side ≥ 16`. (Scales 0, 1 and 2 need 9, 10 and 12.) Below
/// that, libvmaf reads rows it never wrote, so there is no value to match.
pub const MIN_SIDE: usize = 16;

/// Number of scales.
const SCALES: usize = 4;

/// libvmaf's default enhancement gain limit (`vif_enhn_gain_limit`, also its largest allowed
/// value).
pub(crate) const DEFAULT_ENHN_GAIN_LIMIT: f64 = 100.0;

/// Options of the VIF feature.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VifOptions {
    /// Upper bound of the gain `g`: libvmaf's `vif_enhn_gain_limit`, from 1 (a distorted image
    /// sharper than the reference earns nothing) to 100 (the default). libvmaf refuses values
    /// outside `[1, 100]`; here they are applied as given.
    pub enhn_gain_limit: f64,
}

impl Default for VifOptions {
    fn default() -> Self {
        Self {
            enhn_gain_limit: DEFAULT_ENHN_GAIN_LIMIT,
        }
    }
}

/// One scale of the reference: its image and, per pixel, its filtered mean and variance.
#[derive(Debug)]
struct ReferenceScale {
    /// The reference image at this scale, 16-bit samples (scale 0: the input samples).
    image: Image,
    /// Filtered mean per pixel: 16-bit sample with 16 fraction bits.
    mean: Vec<u32>,
    /// Filtered variance per pixel, clamped at 0.
    variance: Vec<i32>,
    /// The scale's denominator sums.
    den: DenAccum,
}

/// Everything VIF computes from the reference alone, once per reference frame, reused by every
/// distorted frame compared with it: the reference pyramid at 4 scales and, per scale, its
/// filtered mean and variance, and the score denominators (which do not depend on the
/// distorted frame).
#[derive(Debug)]
pub struct VifReference {
    /// Bit depth of the scale-0 samples.
    bits: u32,
    scales: Vec<ReferenceScale>,
}

impl VifReference {
    /// Filters the reference luma at every scale.
    pub(crate) fn new(reference: &Luma<'_>) -> Result<Self, MetricError> {
        Self::new_on(Isa::detected(), reference)
    }

    /// [`Self::new`] on the given instruction set.
    pub(crate) fn new_on(isa: Isa, reference: &Luma<'_>) -> Result<Self, MetricError> {
        reference.check(MIN_SIDE)?;
        let bits = reference.bits;
        debug_assert!((8..=16).contains(&bits), "bit depth {bits} not in 8..=16");
        let image = Image::from_luma(reference);
        let scales = simd::with_kernels!(isa, Portable, Avx2, |kernels| {
            reference_scales(kernels, image, bits)
        });
        Ok(Self { bits, scales })
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        let per_scale: usize = self
            .scales
            .iter()
            .map(|s| {
                s.image.bytes()
                    + s.mean.capacity() * size_of::<u32>()
                    + s.variance.capacity() * size_of::<i32>()
            })
            .sum();
        per_scale + self.scales.capacity() * size_of::<ReferenceScale>()
    }

    /// Width and height of the scale-0 image.
    fn size(&self) -> (usize, usize) {
        let image = &self.scales[0].image;
        (image.width, image.height)
    }
}

/// The reference at every scale, from its scale-0 image.
fn reference_scales(kernels: impl Kernels, mut image: Image, bits: u32) -> Vec<ReferenceScale> {
    let mut scales = Vec::with_capacity(SCALES);
    for scale in 0..SCALES {
        let next = (scale + 1 < SCALES).then(|| filter::decimate(kernels, &image, scale, bits));
        scales.push(reference_scale(kernels, image, scale, bits));
        let Some(next) = next else { break };
        image = next;
    }
    scales
}

/// Filters one scale of the reference and sums its denominator.
fn reference_scale(kernels: impl Kernels, image: Image, scale: usize, bits: u32) -> ReferenceScale {
    let (w, pixels) = (image.width, image.width * image.height);
    // Grown a row at a time: each row is zeroed just before it is written, in cache, rather
    // than the whole plane first.
    let mut mean = Vec::with_capacity(pixels);
    let mut variance = Vec::with_capacity(pixels);
    let mut rows = RowBuffers::new(w);
    let mut den = DenAccum::default();
    for y in 0..image.height {
        mean.resize(mean.len() + w, 0);
        variance.resize(variance.len() + w, 0);
        let (mean_row, variance_row) = (&mut mean[y * w..], &mut variance[y * w..]);
        let (mu, square) = rows.reference_moments(kernels, &image, y, scale, bits);
        kernels.reference_row(mu, square, mean_row, variance_row, &mut den);
    }
    ReferenceScale {
        image,
        mean,
        variance,
        den,
    }
}

/// The integer sums of every scale: what a kernel on another backend must reproduce bit for
/// bit before the shared tail ([`VifSums::scores`]) turns them into VIF's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VifSums {
    /// Numerator sums per scale.
    pub num: [NumAccum; SCALES],
    /// Denominator sums per scale (the reference's alone).
    pub den: [DenAccum; SCALES],
}

impl VifSums {
    /// Per-scale numerators and denominators, combined as libvmaf does.
    pub fn scores(&self) -> VifScores {
        let den = self.den.map(|d| f64::from(d.value()));
        let num = std::array::from_fn(|i| f64::from(self.num[i].value(self.den[i].linear_pixels)));
        VifScores { num, den }
    }
}

/// Per-scale numerators and denominators of VIF, as libvmaf keeps them: single-precision
/// values (widened here without change).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VifScores {
    /// Numerator per scale.
    pub num: [f64; 4],
    /// Denominator per scale.
    pub den: [f64; 4],
}

impl VifScores {
    /// The score of scale `i` (0 to 3) as libvmaf stores it in
    /// `VMAF_integer_feature_vif_scale{i}_score`: the single-precision quotient of the
    /// single-precision numerator and denominator. libvmaf has no special case here: the
    /// denominator is never 0 (every pixel adds at least about 1 to it).
    pub fn scale(&self, i: usize) -> f64 {
        // Both are single-precision values, so narrowing them back is exact.
        f64::from(self.num[i] as f32 / self.den[i] as f32)
    }
}

/// VIF of `distorted` against a prepared reference.
///
/// The distorted luma must have the reference's size; it is read at its own bit depth and
/// filtered with the reference's (libvmaf uses the reference's depth for both), so both should
/// have the same depth.
pub(crate) fn vif(
    reference: &VifReference,
    distorted: &Luma<'_>,
    options: &VifOptions,
) -> Result<VifScores, MetricError> {
    vif_on(Isa::detected(), reference, distorted, options)
}

/// [`vif`] on the given instruction set.
pub(crate) fn vif_on(
    isa: Isa,
    reference: &VifReference,
    distorted: &Luma<'_>,
    options: &VifOptions,
) -> Result<VifScores, MetricError> {
    Ok(vif_sums_on(isa, reference, distorted, options)?.scores())
}

/// [`VifSums`] of `distorted` against a prepared reference.
pub(crate) fn vif_sums(
    reference: &VifReference,
    distorted: &Luma<'_>,
    options: &VifOptions,
) -> Result<VifSums, MetricError> {
    vif_sums_on(Isa::detected(), reference, distorted, options)
}

fn vif_sums_on(
    isa: Isa,
    reference: &VifReference,
    distorted: &Luma<'_>,
    options: &VifOptions,
) -> Result<VifSums, MetricError> {
    let size = reference.size();
    if (distorted.width, distorted.height) != size {
        return Err(MetricError::SizeMismatch {
            reference: size,
            distorted: (distorted.width, distorted.height),
        });
    }
    distorted.check(MIN_SIDE)?;
    debug_assert_eq!(distorted.bits, reference.bits, "bit depths differ");
    let image = Image::from_luma(distorted);
    let limit = options.enhn_gain_limit;
    let num = simd::with_kernels!(isa, Portable, Avx2, |kernels| {
        numerators(kernels, reference, image, limit)
    });
    let den = std::array::from_fn(|scale| reference.scales[scale].den);
    Ok(VifSums { num, den })
}

/// The numerator of every scale, from the distorted scale-0 image.
fn numerators(
    kernels: impl Kernels,
    reference: &VifReference,
    mut image: Image,
    gain_limit: f64,
) -> [NumAccum; SCALES] {
    let bits = reference.bits;
    let mut num = [NumAccum::default(); SCALES];
    let mut rows = RowBuffers::new(image.width);
    for (scale, reference_scale) in reference.scales.iter().enumerate() {
        if scale > 0 {
            image = filter::decimate(kernels, &image, scale - 1, bits);
        }
        let args = (&image, &mut rows, scale, bits, gain_limit);
        num[scale] = numerator(kernels, reference_scale, args);
    }
    num
}

/// The numerator sums of one scale.
fn numerator(
    kernels: impl Kernels,
    reference: &ReferenceScale,
    (distorted, rows, scale, bits, gain_limit): (&Image, &mut RowBuffers, usize, u32, f64),
) -> NumAccum {
    let mut num = NumAccum::default();
    let width = distorted.width;
    let reference_rows = reference
        .mean
        .chunks_exact(width)
        .zip(reference.variance.chunks_exact(width));
    for (y, (mean, variance)) in reference_rows.enumerate() {
        let images = (&reference.image, distorted);
        let moments = rows.distorted_moments(kernels, images, y, scale, bits);
        kernels.distorted_row(mean, variance, moments, gain_limit, &mut num);
    }
    num
}
