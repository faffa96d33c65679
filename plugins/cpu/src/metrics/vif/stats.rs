//! Per-pixel VIF statistics from filtered moments, with libvmaf's integer logarithms.

use std::sync::OnceLock;

use super::filter::Moments;

/// The noise variance `σn² = 2` (in 8-bit units), on the 16-bit scale of the variances.
pub const NOISE_VARIANCE: i32 = 2 << 16;

/// libvmaf's guard added to `σx²` before dividing by it (a variance is an integer, so it only
/// matters when `σx² = 0`).
pub const EPS: f64 = 65536.0 * 1.0e-10;

/// Fraction bits of the logarithm table.
const LOG_ONE: f64 = 2048.0;

/// `round(2048 · log2 m)` for the mantissas `m ∈ [2¹⁵, 2¹⁶)`, at index `m − 2¹⁵`.
pub type Log2Table = [u16; 1 << 15];

/// The logarithm table, built on first use.
///
/// libvmaf rounds `log2f(m) · 2048` (single-precision `log2`, the product exact, rounded half
/// away from zero). The single-precision logarithm is taken here as the double-precision one
/// rounded to single precision: for every `m` that is the correctly rounded value (none lies
/// within a millionth of a unit of a rounding tie, so any accurate `log2` gives it), whatever
/// the platform's `log2f`. The table is glibc's (checked on glibc 2.36, whose `log2f` is one
/// unit off for a few `m` without changing a rounded entry). Rounding the double-precision
/// value directly would differ: some single-precision products land exactly on a half.
pub fn log2_table() -> &'static Log2Table {
    static TABLE: OnceLock<Box<Log2Table>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Box::new([0u16; 1 << 15]);
        for (entry, m) in table.iter_mut().zip(1u32 << 15..) {
            let log = f64::from(m).log2() as f32;
            *entry = (f64::from(log * 2048.0)).round() as u16;
        }
        table
    })
}

/// [`log2_table`] with 32-bit entries, for vector gathers (which read 32 bits).
#[cfg(target_arch = "x86_64")]
pub(super) fn log2_table_u32() -> &'static [u32; 1 << 15] {
    static TABLE: OnceLock<Box<[u32; 1 << 15]>> = OnceLock::new();
    TABLE.get_or_init(|| Box::new(log2_table().map(u32::from)))
}

/// `round(2048 · log2 m)` for a mantissa from [`normalise`].
#[inline(always)]
fn log2_q11(table: &Log2Table, mantissa: u16) -> i64 {
    // The mantissa is in [2^15, 2^16): clearing its top bit gives the index.
    i64::from(table[usize::from(mantissa) & 0x7fff])
}

/// `v > 0` as `m · 2^e` with a 16-bit mantissa `m ∈ [2¹⁵, 2¹⁶)`: `v` shifted left or right
/// (truncating) until its highest set bit is bit 15. Returns `(m, e)`.
#[inline(always)]
pub(super) fn normalise(v: u64) -> (u16, i32) {
    let zeros = v.leading_zeros() as i32;
    let e = 48 - zeros;
    let m = if e >= 0 { v >> e } else { v << -e };
    (m as u16, e)
}

/// `(a · b + 2³¹) >> 32`: the product of two means, on the scale of the second moments.
#[inline(always)]
fn mean_product(a: u32, b: u32) -> u32 {
    ((u64::from(a) * u64::from(b) + (1 << 31)) >> 32) as u32
}

/// `moment − mean_product`, wrapping in 32 bits and read as signed, as libvmaf computes it.
#[inline(always)]
fn centred(moment: u32, product: u32) -> i32 {
    moment.wrapping_sub(product) as i32
}

/// Sums of a scale's denominator, over the reference alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DenAccum {
    /// Σ table value of `σn² + σx²` over the pixels with `σx² ≥ σn²`.
    pub log: i64,
    /// Σ exponent of those values.
    pub exponent: i64,
    /// Number of those pixels.
    pub log_pixels: i64,
    /// Number of the other pixels.
    pub linear_pixels: i64,
}

impl DenAccum {
    /// `Σ (log2(σn² + σx²) − 17) + linear_pixels`, the sums combined in double precision as
    /// libvmaf does, kept in single precision.
    #[inline(always)]
    pub fn value(&self) -> f32 {
        // libvmaf sums the negated exponents; `17·n − Σe` is the same integer.
        let shift = self.log_pixels * 17 - self.exponent;
        (self.log as f64 / LOG_ONE - shift as f64 + self.linear_pixels as f64) as f32
    }
}

/// Sums of a scale's numerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NumAccum {
    /// Σ (table value of the numerator's argument − table value of `σv² + σn²`).
    pub log: i64,
    /// Σ (exponent of the numerator's argument − exponent of `σv² + σn²`).
    pub exponent: i64,
    /// Σ `σy²` over the pixels with `σx² < σn²`.
    pub linear_variance: i64,
}

impl NumAccum {
    /// The numerator given the number of pixels with `σx² < σn²`: each adds
    /// `1 − σy² / 2¹⁴ / 255²`. Combined in double precision, kept in single precision.
    #[inline(always)]
    pub fn value(&self, linear_pixels: i64) -> f32 {
        let linear = linear_pixels as f64 - (self.linear_variance as f64 / 16384.0) / 65025.0;
        (self.log as f64 / LOG_ONE + self.exponent as f64 + linear) as f32
    }
}

/// Stores one reference row's mean and variance and adds its pixels to the denominator.
#[inline(always)]
pub(super) fn reference_row(
    mean: &[u32],
    square: &[u32],
    mean_out: &mut [u32],
    variance_out: &mut [i32],
    den: &mut DenAccum,
) {
    let table = log2_table();
    let n = mean_out.len();
    let (mean, square, variance_out) = (&mean[..n], &square[..n], &mut variance_out[..n]);
    mean_out.copy_from_slice(mean);
    for (v, (&mu, &sq)) in variance_out.iter_mut().zip(mean.iter().zip(square)) {
        *v = centred(sq, mean_product(mu, mu)).max(0);
    }
    let (mut log, mut exponent, mut log_pixels) = (0i64, 0i64, 0i64);
    for &variance in variance_out.iter() {
        // `σx² + σn²` below 2³² (as libvmaf's 32-bit sum), counted only where `σx² ≥ σn²`.
        let in_log = variance >= NOISE_VARIANCE;
        let (m, e) = normalise(u64::from(variance.wrapping_add(NOISE_VARIANCE) as u32));
        let mask = -i64::from(in_log);
        log += log2_q11(table, m) & mask;
        exponent += i64::from(e) & mask;
        log_pixels += i64::from(in_log);
    }
    den.log += log;
    den.exponent += exponent;
    den.log_pixels += log_pixels;
    den.linear_pixels += n as i64 - log_pixels;
}

/// Adds one distorted row's pixels to the numerator, given the reference's mean and variance
/// on that row.
#[inline(always)]
pub(super) fn distorted_row(
    mean_ref: &[u32],
    variance_ref: &[i32],
    moments: Moments<'_>,
    gain_limit: f64,
    num: &mut NumAccum,
) {
    let table = log2_table();
    let reference = mean_ref.iter().zip(variance_ref);
    let distorted = moments.mean.iter().zip(moments.square).zip(moments.cross);
    for ((&mu_x, &var_x), ((&mu_y, &square_y), &cross)) in reference.zip(distorted) {
        let var_y = centred(square_y, mean_product(mu_y, mu_y)).max(0);
        if var_x < NOISE_VARIANCE {
            num.linear_variance += i64::from(var_y);
            continue;
        }
        let covariance = centred(cross, mean_product(mu_x, mu_y));
        if covariance < 0 {
            // The gain is taken as 0: the term is log2(1) = 0.
            continue;
        }
        let var_x = f64::from(var_x);
        let (gain, residual) = if var_y == 0 {
            (0.0, 0)
        } else {
            let gain = f64::from(covariance) / (var_x + EPS);
            // Truncated towards zero. Only a negative residual can be out of range here (the
            // gain is not negative) and any negative one becomes 0 below, so saturating is as
            // good as the x86 conversion libvmaf relies on.
            let residual = (f64::from(var_y) - gain * f64::from(covariance)) as i32;
            (gain, residual.max(0))
        };
        let gain = if gain < gain_limit { gain } else { gain_limit };
        // σv² + σn², wrapping in 32 bits like libvmaf's signed sum.
        let base = (residual as u32).wrapping_add(NOISE_VARIANCE as u32);
        let total = (gain * gain * var_x) as i64 + i64::from(base);
        let (m_total, e_total) = normalise(total as u64);
        let (m_base, e_base) = normalise(u64::from(base));
        num.log += log2_q11(table, m_total) - log2_q11(table, m_base);
        num.exponent += i64::from(e_total - e_base);
    }
}
