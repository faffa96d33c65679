//! VMAF's ADM feature (the Additive Distortion Measure behind `adm2` and `adm_scale0..3`),
//! exactly as libvmaf v2.3.1's integer extractor (`integer_adm.c`, the one the `vmaf_v0.6.1`
//! models use) computes it: every score matches libvmaf's bit for bit.
//!
//! # Algorithm
//!
//! ADM compares reference and distorted luma in a four-level wavelet decomposition. At each scale
//! (0 finest, 3 coarsest):
//!
//! 1. **Wavelet** ([`dwt`]): an integer Daubechies-2 transform splits the previous approximation
//!    (the luma plane at scale 0) into a half-size approximation and three detail bands,
//!    `h`, `v`, `d`.
//! 2. **Decoupling** ([`decouple`]): each distorted detail coefficient `t` is split into the part
//!    explained by the reference coefficient `o`, `restored = o · clamp(t / o, 0, 1)`, and the
//!    `additive` rest. Where the (h, v) vectors of reference and distortion are within 1° of each
//!    other, an enhancement (contrast gain) is allowed back into `restored`, up to
//!    `enhn_gain_limit` times it and no further than `t` (a limit of 1 disables this, as the
//!    `vmaf_v0.6.1neg` model does).
//! 3. **CSF** ([`csf`]): both parts are weighted per band and scale by the reciprocal of the
//!    wavelet quantisation step at which noise becomes visible, for a display seen at
//!    `norm_view_dist` picture heights with `ref_display_height` rows.
//! 4. **Masking** ([`mask`]): each weighted restored coefficient is reduced by a threshold made
//!    of the weighted additive impairment in its 3×3 neighbourhood (all three bands; ≈1/30 per
//!    neighbour, ≈1/15 for the centre).
//! 5. **Pooling**: over the scored region (a ~10% border is left out), the numerator of the
//!    scale is `Σ_bands (∛Σ masked³ + ∛(area/32))`; the denominator ([`den`]) is the same with
//!    the weighted reference coefficients, unmasked. The `∛(area/32)` term is libvmaf's constant
//!    that keeps flat content from dividing by zero.
//!
//! `adm_scale{i} = num_i / den_i` and `adm2 = Σ num_i / Σ den_i` (both sums in double
//! precision; a sum below `1e-10 · pixels / 1920·1080` counts as 0, and `adm2` is 1 when the
//! denominator sum is 0). Identical frames give scores within a few 1e-6 of 1 rather than
//! exactly 1, because numerator and denominator round differently; flat frames give exactly 1.
//!
//! # Fixed point
//!
//! libvmaf computes almost everything in integers, with two code paths: scale 0 keeps 16-bit
//! coefficients (6 fractional bits after the transform) and 16-bit CSF weights, scales 1–3 keep
//! 32-bit coefficients and 32-bit weights. Divisions by the reference coefficient use a table of
//! `2^30 / m` (magnitudes above 2^15 first rounded to 15 significant bits). Sums of cubes are
//! shifted right per row, by amounts derived from the band's size, and only the final sums
//! become floating point: double for the shifts and the weights' cubes, single precision for
//! the cube roots (libm's `powf(x, 1/3)`) and the per-scale scores. [`arith`] gathers the
//! per-coefficient steps of both paths with their exact rounding constants, quirks included.
//!
//! # Which libvmaf
//!
//! The definition is libvmaf's portable C. Its x86 builds replace the 8-bit scale-0 transform
//! by an AVX2 version when the width is a multiple of 8; that version reads past the end of
//! each row (the last output of every row takes a sample of the high-pass row, or stale scratch
//! memory, instead of the mirrored one). Far enough from the scored region this changes
//! nothing, but for 8-bit frames up to about 400 pixels wide (with a width that is a multiple
//! of 8) such builds give slightly different scores, which depend on earlier frames and cannot
//! be reproduced. Everything else, AVX2 or not, is identical.
//!
//! # Split between reference and distorted
//!
//! [`AdmReference::new`] does everything that depends on the reference alone: its wavelet
//! detail bands at the four scales and the four denominators. [`adm`] then transforms the
//! distorted frame and scores it against them, so several distorted frames can share one
//! reference; the scores are the same either way.

mod arith;
#[cfg(target_arch = "x86_64")]
mod avx2;
mod csf;
mod decouple;
mod den;
mod dwt;
mod kernels;
mod mask;
mod region;
#[cfg(test)]
mod tests;

use super::MetricError;
use super::luma::Luma;
use super::simd::{self, Isa};
use arith::{Arith, Coarse, Fine};
pub use arith::{
    COARSE_CSF_SHIFT, COARSE_TERM_ROUND, FINE_CSF_ROUND, FINE_CSF_SHIFT, FINE_SQUARE_SHIFT,
    FINE_THRESHOLD_SHIFT, NumShifts, RECIPROCAL, cos_sq_1deg, whole_gain_limit,
};
use csf::ScaleWeights;
pub use den::DenShifts;
pub use dwt::{COARSE_HORIZONTAL, COARSE_VERTICAL, HI, LO, LO_SUM};
use dwt::{CoarseTransform, Details, Level, LumaTransform, RowTransform, Streamed};
#[cfg(target_arch = "x86_64")]
use kernels::Avx2;
use kernels::{Kernels, Portable};
pub use region::Region;

/// Smallest width and height the integer ADM accepts: 33.
///
/// libvmaf's mirrored index tables for the wavelet are only right when a line has at least 5
/// samples (with fewer, the first output's taps reach outside the line), and each of the four
/// levels halves the size, rounding up: 33 → 17 → 9 → 5. Smaller frames make libvmaf read
/// outside its buffers; they are refused here.
pub const MIN_SIDE: usize = 33;

/// The viewing-condition options of libvmaf's `adm` feature extractor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmOptions {
    /// `adm_enhn_gain_limit`: how much enhancement (1.0–100.0) may count as restoration;
    /// 1.0 disables it.
    pub enhn_gain_limit: f64,
    /// `adm_norm_view_dist`: viewing distance in display heights (0.75–24.0).
    pub norm_view_dist: f64,
    /// `adm_ref_display_height`: display height in pixels (1–4320; an `int` in libvmaf).
    pub ref_display_height: u32,
}

impl Default for AdmOptions {
    fn default() -> Self {
        Self {
            enhn_gain_limit: 100.0,
            norm_view_dist: 3.0,
            ref_display_height: 1080,
        }
    }
}

impl AdmOptions {
    /// Checks the gain limit against libvmaf's accepted range.
    pub fn check_gain_limit(&self) -> Result<(), MetricError> {
        let g = self.enhn_gain_limit;
        if (1.0..=100.0).contains(&g) {
            Ok(())
        } else {
            Err(MetricError::InvalidDataRange(g))
        }
    }

    /// Checks every option against the ranges libvmaf accepts. libvmaf also refuses viewing
    /// geometries finer than 3 heights at 1080 rows (`norm_view_dist · ref_display_height <
    /// 3240`), which would overflow its 16-bit scale-0 weights.
    pub fn check(&self) -> Result<(), MetricError> {
        self.check_gain_limit()?;
        let d = self.norm_view_dist;
        if !(0.75..=24.0).contains(&d) {
            return Err(MetricError::InvalidDataRange(d));
        }
        let rows = self.ref_display_height;
        if !(1..=4320).contains(&rows) {
            return Err(MetricError::InvalidDataRange(f64::from(rows)));
        }
        let geometry = d * f64::from(rows);
        if geometry < 3.0 * 1080.0 {
            return Err(MetricError::InvalidDataRange(geometry));
        }
        Ok(())
    }
}

/// Everything ADM computes from the reference alone, once per reference frame, reused by every
/// distorted frame: the reference's detail bands at every scale and the four denominators.
///
/// The CSF weights (hence `norm_view_dist` and `ref_display_height`) are fixed here; [`adm`]
/// uses the reference's and reads only `enhn_gain_limit` from its own options.
#[derive(Debug)]
pub struct AdmReference {
    width: usize,
    height: usize,
    options: AdmOptions,
    weights: [ScaleWeights; 4],
    /// Scale 0 detail bands (16-bit coefficients).
    fine: Details<i16>,
    /// Scales 1–3 detail bands (32-bit coefficients).
    coarse: [Details<i32>; 3],
    /// Denominator sums of each scale's three bands.
    den: [[u64; 3]; 4],
}

impl AdmReference {
    /// Transforms the reference and computes its denominators.
    ///
    /// Fails with [`MetricError::TooSmall`] below [`MIN_SIDE`] samples either way,
    /// [`MetricError::BadPlaneLength`] if the plane's bytes are too few, and
    /// [`MetricError::InvalidDataRange`] (carrying the offending value) for options outside
    /// libvmaf's ranges (see [`AdmOptions`]).
    pub(crate) fn new(reference: &Luma<'_>, options: &AdmOptions) -> Result<Self, MetricError> {
        Self::new_on(Isa::detected(), reference, options)
    }

    /// [`Self::new`] on the given instruction set.
    pub(crate) fn new_on(
        isa: Isa,
        reference: &Luma<'_>,
        options: &AdmOptions,
    ) -> Result<Self, MetricError> {
        options.check()?;
        reference.check(MIN_SIDE)?;
        let weights: [ScaleWeights; 4] =
            std::array::from_fn(|scale| ScaleWeights::new(scale, options));
        let (fine, coarse) =
            simd::with_kernels!(isa, Portable, Avx2, |kernels| details(kernels, reference));
        let den = std::array::from_fn(|scale| match scale {
            0 => den::fine_sums(&fine, interior(&fine)),
            _ => {
                let details = &coarse[scale - 1];
                den::coarse_sums(details, interior(details), scale)
            }
        });
        Ok(Self {
            width: reference.width,
            height: reference.height,
            options: *options,
            weights,
            fine,
            coarse,
            den,
        })
    }

    /// Heap bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.fine.bytes() + self.coarse.iter().map(Details::bytes).sum::<usize>()
    }
}

/// The detail bands of the four levels of the transform of `luma`: scale 0 (16-bit
/// coefficients) and scales 1–3 (32-bit).
fn details(kernels: impl Kernels, luma: &Luma<'_>) -> (Details<i16>, [Details<i32>; 3]) {
    let level0 = dwt::level(LumaTransform::with(kernels, luma));
    let level1 = coarser(kernels, &level0, 1);
    let level2 = coarser(kernels, &level1, 2);
    let level3 = coarser(kernels, &level2, 3);
    let coarse = [level1.details, level2.details, level3.details];
    (level0.details, coarse)
}

/// The next level of the transform, stored whole.
fn coarser<T: dwt::Approx>(kernels: impl Kernels, level: &Level<T>, scale: usize) -> Level<i32> {
    let d = &level.details;
    let size = (d.width, d.height);
    dwt::level(CoarseTransform::with(kernels, &level.approx, size, scale))
}

/// The scored region of a band.
fn interior<T>(details: &Details<T>) -> Region {
    Region::interior(details.width, details.height)
}

/// ADM's per-scale numerators and denominators and the combined score of one frame pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdmScores {
    /// Numerator of each scale (single-precision values, as libvmaf keeps them).
    pub num: [f64; 4],
    /// Denominator of each scale.
    pub den: [f64; 4],
    /// `adm2`: libvmaf's `VMAF_integer_feature_adm2_score`.
    pub adm2: f64,
}

impl AdmScores {
    /// `num[i] / den[i]`: libvmaf's `integer_adm_scale{i}`.
    pub fn scale(&self, i: usize) -> f64 {
        self.num[i] / self.den[i]
    }
}

/// The integer sums of every scale and band: what a kernel on another backend must reproduce
/// bit for bit before the shared tail ([`AdmSums::scores`]) turns them into ADM's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdmSums {
    /// Per scale and band (h, v, d): the masked cubes' row sums, each row shifted.
    pub num: [[i64; 3]; 4],
    /// Per scale and band: the reference's cubes' row sums, each row shifted.
    pub den: [[u64; 3]; 4],
}

impl AdmSums {
    /// The scores of a `width × height` frame pair from its sums, under `options`' viewing
    /// geometry, as libvmaf combines them.
    pub fn scores(&self, width: usize, height: usize, options: &AdmOptions) -> AdmScores {
        let sizes = band_sizes(width, height);
        let num = std::array::from_fn(|scale| {
            let weights = ScaleWeights::new(scale, options);
            let (w, h) = sizes[scale];
            let area = Region::interior(w, h).area_term();
            let gain = options.enhn_gain_limit;
            match scale {
                0 => Fine::new(&weights, w, h, gain).numerator(self.num[0], area),
                _ => Coarse::new(&weights, scale, w, h, gain).numerator(self.num[scale], area),
            }
        });
        let den = std::array::from_fn(|scale| {
            let weights = ScaleWeights::new(scale, options);
            let (w, h) = sizes[scale];
            den::value(scale, self.den[scale], &weights, Region::interior(w, h))
        });
        combine(num, den, (width, height))
    }
}

/// The fixed-point CSF weights of the three bands (h, v, d) at `scale` under `options`' viewing
/// geometry: 21, 21 and 23 fraction bits at scale 0, 32 at scales 1–3.
pub fn fixed_weights(scale: usize, options: &AdmOptions) -> [u32; 3] {
    ScaleWeights::new(scale, options).fixed
}

/// The bands' size at each scale of a `width × height` frame: each level halves, rounding up.
pub fn band_sizes(width: usize, height: usize) -> [(usize, usize); 4] {
    let mut size = (width, height);
    std::array::from_fn(|_| {
        size = (size.0.div_ceil(2), size.1.div_ceil(2));
        size
    })
}

/// Scores `distorted` against a prepared reference.
///
/// The CSF weights are the reference's; only `options.enhn_gain_limit` is read here. Fails with
/// [`MetricError::SizeMismatch`] if the planes differ in size, with the errors of
/// [`AdmReference::new`] for a bad plane or gain limit. Each plane is read at its own bit depth.
pub(crate) fn adm(
    reference: &AdmReference,
    distorted: &Luma<'_>,
    options: &AdmOptions,
) -> Result<AdmScores, MetricError> {
    adm_on(Isa::detected(), reference, distorted, options)
}

/// [`adm`] on the given instruction set.
pub(crate) fn adm_on(
    isa: Isa,
    reference: &AdmReference,
    distorted: &Luma<'_>,
    options: &AdmOptions,
) -> Result<AdmScores, MetricError> {
    let sums = adm_sums_on(isa, reference, distorted, options)?;
    Ok(sums.scores(reference.width, reference.height, &reference.options))
}

/// [`AdmSums`] of `distorted` against a prepared reference.
pub(crate) fn adm_sums(
    reference: &AdmReference,
    distorted: &Luma<'_>,
    options: &AdmOptions,
) -> Result<AdmSums, MetricError> {
    adm_sums_on(Isa::detected(), reference, distorted, options)
}

fn adm_sums_on(
    isa: Isa,
    reference: &AdmReference,
    distorted: &Luma<'_>,
    options: &AdmOptions,
) -> Result<AdmSums, MetricError> {
    options.check_gain_limit()?;
    distorted.check(MIN_SIDE)?;
    let size = (reference.width, reference.height);
    if (distorted.width, distorted.height) != size {
        return Err(MetricError::SizeMismatch {
            reference: size,
            distorted: (distorted.width, distorted.height),
        });
    }
    let gain = options.enhn_gain_limit;
    let num = simd::with_kernels!(isa, Portable, Avx2, |kernels| {
        numerators(kernels, reference, distorted, gain)
    });
    Ok(AdmSums {
        num,
        den: reference.den,
    })
}

/// The numerators of the four scales.
fn numerators(
    kernels: impl Kernels,
    reference: &AdmReference,
    distorted: &Luma<'_>,
    gain: f64,
) -> [[i64; 3]; 4] {
    let mut stream = Streamed::new(LumaTransform::with(kernels, distorted));
    let size0 = stream.size();
    let fine = Fine::new(&reference.weights[0], size0.0, size0.1, gain);
    let num0 = numerator(kernels, &fine, &reference.fine, &mut stream);
    let approx0 = stream.finish();
    let (num1, approx1, size1) = coarse_scale(kernels, reference, gain, 1, &approx0, size0);
    let (num2, approx2, size2) = coarse_scale(kernels, reference, gain, 2, &approx1, size1);
    let (num3, _, _) = coarse_scale(kernels, reference, gain, 3, &approx2, size2);
    [num0, num1, num2, num3]
}

/// The numerator sums of one scale, streaming the distorted frame's rows at that scale.
fn numerator<A: Arith, R: RowTransform<Coef = A::Coef>>(
    kernels: impl Kernels,
    arith: &A,
    reference: &Details<A::Coef>,
    distorted: &mut Streamed<R>,
) -> [i64; 3] {
    let region = interior(reference);
    mask::masked_sums(kernels, arith, reference, distorted, region)
}

/// The numerator of coarse scale `scale` (1–3), computed from the previous level's
/// `width × height` approximation band of the distorted frame; with this level's approximation
/// band and its size, for the next scale (left empty at scale 3, the last).
fn coarse_scale<T: dwt::Approx>(
    kernels: impl Kernels,
    reference: &AdmReference,
    gain: f64,
    scale: usize,
    approx: &[T],
    size: (usize, usize),
) -> ([i64; 3], Vec<i32>, (usize, usize)) {
    let mut stream = Streamed::new(CoarseTransform::with(kernels, approx, size, scale));
    let (w, h) = stream.size();
    let arith = Coarse::new(&reference.weights[scale], scale, w, h, gain);
    let num = numerator(kernels, &arith, &reference.coarse[scale - 1], &mut stream);
    let next = if scale < 3 {
        stream.finish()
    } else {
        Vec::new()
    };
    (num, next, (w, h))
}

/// Forms the scores from the per-scale numerators and denominators of a `size` frame.
fn combine(num: [f32; 4], den: [f32; 4], size: (usize, usize)) -> AdmScores {
    let limit = 1e-10 * (size.0 * size.1) as f64 / (1920.0 * 1080.0);
    let total = |v: [f32; 4]| {
        let sum = v.iter().fold(0.0, |acc, &x| acc + f64::from(x));
        if sum < limit { 0.0 } else { sum }
    };
    let (n, d) = (total(num), total(den));
    AdmScores {
        num: num.map(f64::from),
        den: den.map(f64::from),
        adm2: if d == 0.0 { 1.0 } else { n / d },
    }
}
