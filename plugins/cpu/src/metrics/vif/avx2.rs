//! AVX2 versions of the row passes of [`super::filter`], written with intrinsics: the compiler
//! does not find these forms on its own. Each computes exactly what the portable kernel it
//! replaces computes (the tests compare them on random rows); where its conditions do not hold
//! it calls that kernel instead.
//!
//! The row pass `Σₖ tapₖ · v[j + k]` is done with `vpmaddwd`, which multiplies 16-bit signed
//! pairs and adds each pair into 32 bits: the outputs' neighbouring samples `v[j + k]` and
//! `v[j + k + 1]` are interleaved and weighed by the taps `k` and `k + 1`. The samples are
//! unsigned 16-bit values, so they are made signed by subtracting 2¹⁵ (flipping the top bit):
//! `Σ tap · v = Σ tap · (v − 2¹⁵) + 2¹⁵ · Σ tap`, where the taps sum to 2¹⁶, so the correction
//! is 2³¹, and the biased sum lies in `[−2³¹, 2³¹)` since every partial sum of biased terms
//! does. This needs every tap below 2¹⁵, which holds at scales 0 to 2 (not at scale 3, whose
//! centre tap is 43728).

use std::arch::x86_64::*;

use super::filter;
use super::filter::Moments;
use super::stats::{self, DenAccum, EPS, NOISE_VARIANCE, NumAccum, log2_table_u32};
use crate::metrics::simd::narrow_64;

/// Outputs per iteration: two registers of eight 32-bit sums.
const LANES: usize = 16;

/// Most taps of a filter.
const MAX_TAPS: usize = 17;

/// The first 16 values of `values`.
#[inline]
#[target_feature(enable = "avx2")]
fn load(values: &[u16]) -> __m256i {
    let values: &[u16; 16] = values[..16].try_into().expect("16 values");
    // SAFETY: `values` is 32 readable bytes; the load has no alignment requirement.
    unsafe { _mm256_loadu_si256(values.as_ptr().cast()) }
}

/// Stores `low` and `high` (eight 32-bit values each) into the first 16 values of `out`.
#[inline]
#[target_feature(enable = "avx2")]
fn store(out: &mut [u32], low: __m256i, high: __m256i) {
    let out: &mut [u32; 16] = (&mut out[..16]).try_into().expect("16 values");
    let ptr = out.as_mut_ptr();
    // SAFETY: `out` is 64 writable bytes; the stores have no alignment requirement.
    unsafe {
        _mm256_storeu_si256(ptr.cast(), low);
        _mm256_storeu_si256(ptr.add(8).cast(), high);
    }
}

/// The taps in pairs `(tap₂ₚ, tap₂ₚ₊₁)` packed into 32 bits as `vpmaddwd` reads them, the last
/// one alone (all filters have an odd length); `None` unless the filter is one of VIF's (17, 9,
/// 5 or 3 taps) with every tap below 2¹⁵.
#[inline]
#[target_feature(enable = "avx2")]
fn tap_pairs(taps: &[u16]) -> Option<([__m256i; MAX_TAPS / 2 + 1], usize)> {
    if ![17, 9, 5, 3].contains(&taps.len()) || taps.iter().any(|&t| t >= 1 << 15) {
        return None;
    }
    let mut pairs = [_mm256_setzero_si256(); MAX_TAPS / 2 + 1];
    for (pair, two) in pairs.iter_mut().zip(taps.chunks(2)) {
        let high = two.get(1).copied().unwrap_or(0);
        *pair = _mm256_set1_epi32((i32::from(high) << 16) | i32::from(two[0]));
    }
    Some((pairs, taps.len() / 2))
}

/// The biased sums `Σₖ tapₖ · (v[j + k] − 2¹⁵)` for 16 outputs `j` from the start of `line`
/// (whose samples are XORed with `flip` first: 2¹⁵ to bias them, 0 if they are already), for
/// a filter of `2 · FULL + 1` taps: outputs 0–3 and 8–11 in the first register, 4–7 and 12–15
/// in the second (the lanes `vpunpck*` makes).
#[inline]
#[target_feature(enable = "avx2")]
fn biased_sums<const FULL: usize>(
    line: &[u16],
    flip: __m256i,
    pairs: &[__m256i; MAX_TAPS / 2 + 1],
) -> (__m256i, __m256i) {
    // The samples the 16 outputs read, 2 · FULL + 16 of them: one bounds check.
    let line = &line[..2 * FULL + LANES];
    let sample = |at: usize| _mm256_xor_si256(load(&line[at..]), flip);
    let (mut low, mut high) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for (p, &taps) in pairs[..FULL].iter().enumerate() {
        let (a, b) = (sample(2 * p), sample(2 * p + 1));
        low = _mm256_add_epi32(low, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), taps));
        high = _mm256_add_epi32(high, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), taps));
    }
    // The last tap alone: its pair's second tap is 0, so any sample may stand there.
    let a = sample(2 * FULL);
    let taps = pairs[FULL];
    low = _mm256_add_epi32(low, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, a), taps));
    high = _mm256_add_epi32(high, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, a), taps));
    (low, high)
}

/// Evaluates `$body` with `$full` the constant number of full tap pairs (`taps / 2`) of a
/// filter of `$taps` taps (17, 9, 5 or 3).
macro_rules! with_pairs {
    ($taps:expr, |$full:ident| $body:expr) => {
        match $taps {
            17 => {
                const $full: usize = 8;
                $body
            }
            9 => {
                const $full: usize = 4;
                $body
            }
            5 => {
                const $full: usize = 2;
                $body
            }
            _ => {
                const $full: usize = 1;
                $body
            }
        }
    };
}

/// Puts the outputs of [`biased_sums`] back in order: 0–7, then 8–15.
#[inline]
#[target_feature(enable = "avx2")]
fn in_order((low, high): (__m256i, __m256i)) -> (__m256i, __m256i) {
    (
        _mm256_permute2x128_si256::<0x20>(low, high),
        _mm256_permute2x128_si256::<0x31>(low, high),
    )
}

/// The starts of the chunks of [`LANES`] outputs covering `0..width` (`width ≥ LANES`), the
/// last one moved back to end at `width`.
fn chunk_starts(width: usize) -> impl Iterator<Item = usize> {
    let last = width - LANES;
    (0..last).step_by(LANES).chain(std::iter::once(last))
}

/// [`filter::row_mean`].
#[target_feature(enable = "avx2")]
pub(super) fn row_mean(line: &[u16], taps: &[u16], out: &mut [u32]) {
    let w = out.len();
    let (Some((pairs, full)), true) = (tap_pairs(taps), w >= LANES) else {
        return filter::row_mean(line, taps, out);
    };
    let line = &line[..w + taps.len() - 1];
    let flip = _mm256_set1_epi16(i16::MIN);
    let correction = _mm256_set1_epi32(i32::MIN);
    with_pairs!(taps.len(), |FULL| {
        debug_assert_eq!(full, FULL);
        for at in chunk_starts(w) {
            let (low, high) = in_order(biased_sums::<FULL>(&line[at..], flip, &pairs));
            let low = _mm256_add_epi32(low, correction);
            let high = _mm256_add_epi32(high, correction);
            store(&mut out[at..], low, high);
        }
    });
}

/// `hi + ((lo + 2¹⁵) >> 16)` from the biased sums of the high and the low halves.
#[inline]
#[target_feature(enable = "avx2")]
fn moment(hi: __m256i, lo: __m256i) -> __m256i {
    let correction = _mm256_set1_epi32(i32::MIN);
    let hi = _mm256_add_epi32(hi, correction);
    let lo = _mm256_add_epi32(lo, _mm256_set1_epi32(i32::MIN + (1 << 15)));
    _mm256_add_epi32(hi, _mm256_srli_epi32::<16>(lo))
}

/// Fills `pairs_hi[j]` and `pairs_lo[j]` with the high and the low 16 bits of `line[j]` and
/// `line[j + 1]` side by side, biased (the top bit of each flipped): the operand `vpmaddwd`
/// weighs by a pair of taps, ready at every offset. The last entry's partner is 0 (only a
/// lone last tap, whose partner weight is 0, reads it).
#[inline]
#[target_feature(enable = "avx2")]
fn interleave_halves(line: &[u32], (pairs_hi, pairs_lo): (&mut [u32], &mut [u32])) {
    let n = line.len();
    let (pairs_hi, pairs_lo) = (&mut pairs_hi[..n], &mut pairs_lo[..n]);
    let bias = _mm256_set1_epi32(0x8000_8000_u32 as i32);
    let (low_half, high_half) = (
        _mm256_set1_epi32(0xffff),
        _mm256_set1_epi32(0xffff_0000_u32 as i32),
    );
    let whole = (n - 1) / 8 * 8;
    for j in (0..whole).step_by(8) {
        let (a, b) = (load8(&line[j..]), load8(&line[j + 1..]));
        let hi = _mm256_or_si256(_mm256_srli_epi32::<16>(a), _mm256_and_si256(b, high_half));
        let lo = _mm256_or_si256(_mm256_and_si256(a, low_half), _mm256_slli_epi32::<16>(b));
        store8(&mut pairs_hi[j..], _mm256_xor_si256(hi, bias));
        store8(&mut pairs_lo[j..], _mm256_xor_si256(lo, bias));
    }
    for j in whole..n {
        let (a, b) = (line[j], line.get(j + 1).copied().unwrap_or(0));
        pairs_hi[j] = ((a >> 16) | (b & 0xffff_0000)) ^ 0x8000_8000;
        pairs_lo[j] = ((a & 0xffff) | (b << 16)) ^ 0x8000_8000;
    }
}

/// The biased sums `Σₖ tapₖ · (v[j + k] − 2¹⁵)` for 8 outputs `j` from `at`, from the
/// interleaved pairs of [`interleave_halves`], for a filter of `2 · FULL + 1` taps.
#[inline]
#[target_feature(enable = "avx2")]
fn paired_sums<const FULL: usize>(
    pairs: &[u32],
    at: usize,
    taps: &[__m256i; MAX_TAPS / 2 + 1],
) -> __m256i {
    // The pairs the 8 outputs read: one bounds check.
    let pairs = &pairs[at..at + 2 * FULL + 8];
    let mut sum = _mm256_madd_epi16(load8(&pairs[2 * FULL..]), taps[FULL]);
    for (p, &taps) in taps[..FULL].iter().enumerate() {
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(load8(&pairs[2 * p..]), taps));
    }
    sum
}

/// [`filter::row_moment`]: the high and the low 16 bits of the values, each summed as in
/// [`row_mean`] but from pairs interleaved once per row ([`interleave_halves`]), so that the
/// inner loop needs no shuffles; then `hi + ((lo + 2¹⁵) >> 16)`.
#[target_feature(enable = "avx2")]
pub(super) fn row_moment(
    line: &[u32],
    taps: &[u16],
    scratch: (&mut [u32], &mut [u32]),
    out: &mut [u32],
) {
    let w = out.len();
    let (Some((pairs, full)), true) = (tap_pairs(taps), w >= LANES) else {
        return filter::row_moment(line, taps, scratch, out);
    };
    let line = &line[..w + taps.len() - 1];
    interleave_halves(line, (&mut *scratch.0, &mut *scratch.1));
    let (hi, lo) = (&scratch.0[..line.len()], &scratch.1[..line.len()]);
    with_pairs!(taps.len(), |FULL| {
        debug_assert_eq!(full, FULL);
        for at in chunk_starts(w) {
            let low = moment(
                paired_sums::<FULL>(hi, at, &pairs),
                paired_sums::<FULL>(lo, at, &pairs),
            );
            let high = moment(
                paired_sums::<FULL>(hi, at + 8, &pairs),
                paired_sums::<FULL>(lo, at + 8, &pairs),
            );
            store(&mut out[at..], low, high);
        }
    });
}

/// Eight 32-bit values from the start of `values`.
#[inline]
#[target_feature(enable = "avx2")]
fn load8<T: Copy>(values: &[T]) -> __m256i
where
    [T; 8]: Lanes32,
{
    let values: &[T; 8] = values[..8].try_into().expect("8 values");
    // SAFETY: `values` is 32 readable bytes (see `Lanes32`); the load has no alignment
    // requirement.
    unsafe { _mm256_loadu_si256(values.as_ptr().cast()) }
}

/// Stores eight 32-bit values into the start of `out`.
#[inline]
#[target_feature(enable = "avx2")]
fn store8<T: Copy>(out: &mut [T], v: __m256i)
where
    [T; 8]: Lanes32,
{
    let out: &mut [T; 8] = (&mut out[..8]).try_into().expect("8 values");
    // SAFETY: `out` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) }
}

/// Eight 32-bit integers: 32 bytes that any bit pattern is a value of.
trait Lanes32 {}
impl Lanes32 for [u32; 8] {}
impl Lanes32 for [i32; 8] {}

/// `(a · b + 2³¹) >> 32` in each 32-bit lane (see `stats::mean_product`).
#[inline]
#[target_feature(enable = "avx2")]
fn mean_product(a: __m256i, b: __m256i) -> __m256i {
    let half = _mm256_set1_epi64x(1 << 31);
    // Even lanes: the products of the low halves of the 64-bit lanes; odd lanes: of the high.
    let even = _mm256_srli_epi64::<32>(_mm256_add_epi64(_mm256_mul_epu32(a, b), half));
    let (a_high, b_high) = (_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(b));
    let odd = _mm256_add_epi64(_mm256_mul_epu32(a_high, b_high), half);
    // `odd >> 32` moved up by 32 bits is `odd` with its low half cleared.
    _mm256_blend_epi32::<0b1010_1010>(even, odd)
}

/// The biased exponents of four double-precision values, in the low halves of the 64-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn biased_exponent(d: __m256d) -> __m256i {
    _mm256_srli_epi64::<52>(_mm256_castpd_si256(d))
}

/// `⌊log2 v⌋` of eight 32-bit values `v ≥ 2`, as an exact double-precision conversion of
/// `v >> 1` (which fits in 31 bits) reads it from its exponent.
#[inline]
#[target_feature(enable = "avx2")]
fn floor_log2(v: __m256i) -> __m256i {
    let half = _mm256_srli_epi32::<1>(v);
    let low = _mm256_cvtepi32_pd(_mm256_castsi256_si128(half));
    let high = _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(half));
    let biased = narrow_64(biased_exponent(low), biased_exponent(high));
    // + 1 for the halving, − 1023 for the bias.
    _mm256_sub_epi32(biased, _mm256_set1_epi32(1022))
}

/// [`stats::reference_row`]: eight pixels at a time, the rest by the portable code.
#[target_feature(enable = "avx2")]
pub(super) fn reference_row(
    mean: &[u32],
    square: &[u32],
    mean_out: &mut [u32],
    variance_out: &mut [i32],
    den: &mut DenAccum,
) {
    let n = mean_out.len();
    let whole = n - n % 8;
    let table = log2_table_u32();
    let noise = _mm256_set1_epi32(NOISE_VARIANCE);
    let (mut log, mut exponent, mut log_pixels) = (
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
        _mm256_setzero_si256(),
    );
    for x in (0..whole).step_by(8) {
        let mu = load8(&mean[x..]);
        let variance = _mm256_max_epi32(
            _mm256_sub_epi32(load8(&square[x..]), mean_product(mu, mu)),
            _mm256_setzero_si256(),
        );
        store8(&mut mean_out[x..], mu);
        store8(&mut variance_out[x..], variance);
        // `σx² + σn²`, below 2³² and at least 2¹⁷: `v = m · 2^e` with `e = ⌊log2 v⌋ − 15 ≥ 2`.
        let in_log = _mm256_cmpgt_epi32(variance, _mm256_set1_epi32(NOISE_VARIANCE - 1));
        let v = _mm256_add_epi32(variance, noise);
        let e = _mm256_sub_epi32(floor_log2(v), _mm256_set1_epi32(15));
        let index = _mm256_and_si256(_mm256_srlv_epi32(v, e), _mm256_set1_epi32(0x7fff));
        // SAFETY: every index is below 2¹⁵, inside the table; the gather reads 4-byte entries
        // (scale 4) with no alignment requirement.
        let entry = unsafe { _mm256_i32gather_epi32::<4>(table.as_ptr().cast(), index) };
        log = _mm256_add_epi32(log, _mm256_and_si256(entry, in_log));
        exponent = _mm256_add_epi32(exponent, _mm256_and_si256(e, in_log));
        // The mask is −1 where the pixel counts.
        log_pixels = _mm256_sub_epi32(log_pixels, in_log);
    }
    // Each lane sums at most `width / 8` values below 2¹⁶: no 32-bit sum overflows.
    let sum = |v: __m256i| {
        let mut lanes = [0i32; 8];
        store8(&mut lanes, v);
        lanes.iter().map(|&l| i64::from(l)).sum::<i64>()
    };
    let counted = sum(log_pixels);
    den.log += sum(log);
    den.exponent += sum(exponent);
    den.log_pixels += counted;
    den.linear_pixels += whole as i64 - counted;
    if whole < n {
        let (tail_mean, tail_variance) = (&mut mean_out[whole..], &mut variance_out[whole..]);
        stats::reference_row(
            &mean[whole..],
            &square[whole..],
            tail_mean,
            tail_variance,
            den,
        );
    }
}

/// 2⁵² as a double: adding it to a whole number below 2⁵² (or or-ing the number into its bits)
/// puts the number in the mantissa.
const TWO_52: f64 = 4_503_599_627_370_496.0;

/// `⌊x⌋` as a 64-bit integer, for `0 ≤ x < 2⁵²` (other values give an unspecified number):
/// `x as i64` on that range.
#[inline]
#[target_feature(enable = "avx2")]
fn floor_to_u64(x: __m256d) -> __m256i {
    let two_52 = _mm256_set1_pd(TWO_52);
    let whole = _mm256_add_pd(_mm256_floor_pd(x), two_52);
    _mm256_sub_epi64(_mm256_castpd_si256(whole), _mm256_castpd_si256(two_52))
}

/// `(m & 0x7fff, e)` of [`stats::normalise`] for four 64-bit values `2¹⁷ ≤ v < 2⁵²` (other
/// values give unspecified numbers), both in the low halves of the 64-bit lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn normalise_64(v: __m256i) -> (__m256i, __m256i) {
    // The value, exactly, as a double.
    let two_52 = _mm256_set1_pd(TWO_52);
    let d = _mm256_sub_pd(
        _mm256_castsi256_pd(_mm256_or_si256(v, _mm256_castpd_si256(two_52))),
        two_52,
    );
    // `e = ⌊log2 v⌋ − 15`, at least 2.
    let e = _mm256_sub_epi64(biased_exponent(d), _mm256_set1_epi64x(1023 + 15));
    let m = _mm256_srlv_epi64(v, e);
    (_mm256_and_si256(m, _mm256_set1_epi64x(0x7fff)), e)
}

/// Gathers `table[index]` for eight 32-bit indices below 2¹⁵.
#[inline]
#[target_feature(enable = "avx2")]
fn lookup(table: &[u32; 1 << 15], index: __m256i) -> __m256i {
    // SAFETY: every index is below 2¹⁵, inside the table; the gather reads 4-byte entries
    // (scale 4) with no alignment requirement.
    unsafe { _mm256_i32gather_epi32::<4>(table.as_ptr().cast(), index) }
}

/// [`stats::distorted_row`]: eight pixels at a time, the rest by the portable code.
///
/// Every pixel's terms are computed, and its case (linear, adding nothing, or logarithmic)
/// masks them; a chunk without logarithmic pixels skips the rest. Where the terms count, the
/// values are in the ranges the exact conversions need: `σxy ≥ 0` and the gain is at most the
/// limit, so the residual is at most `σy² < 2³¹` and `g²σx² < 1000² · 2³¹ < 2⁵²`; the residual
/// conversion gives `i32::MIN` for anything below the 32-bit range, which becomes 0 as the
/// saturating conversion's `i32::MIN` does.
#[target_feature(enable = "avx2")]
pub(super) fn distorted_row(
    mean_ref: &[u32],
    variance_ref: &[i32],
    moments: Moments<'_>,
    gain_limit: f64,
    num: &mut NumAccum,
) {
    let n = mean_ref.len();
    // The exact conversion of `g²σx²` needs `|limit| ≤ 1000` (`1000² · 2³¹ < 2⁵²`); libvmaf's
    // limits are 1 to 100. Other limits (and NaN) take the portable code.
    let whole = if gain_limit.abs() <= 1000.0 {
        n - n % 8
    } else {
        0
    };
    let table = log2_table_u32();
    let zero = _mm256_setzero_si256();
    let noise = _mm256_set1_epi32(NOISE_VARIANCE);
    let (eps, limit) = (_mm256_set1_pd(EPS), _mm256_set1_pd(gain_limit));
    let (mut linear_variance, mut log, mut exponent) = (zero, zero, zero);
    for x in (0..whole).step_by(8) {
        let (mu_x, var_x) = (load8(&mean_ref[x..]), load8(&variance_ref[x..]));
        let mu_y = load8(&moments.mean[x..]);
        let var_y = _mm256_sub_epi32(load8(&moments.square[x..]), mean_product(mu_y, mu_y));
        let var_y = _mm256_max_epi32(var_y, zero);
        let linear = _mm256_cmpgt_epi32(noise, var_x);
        // Σ σy² over the linear pixels, in 64 bits (σy² ≥ 0).
        let counted = _mm256_and_si256(var_y, linear);
        linear_variance = _mm256_add_epi64(
            linear_variance,
            _mm256_cvtepu32_epi64(_mm256_castsi256_si128(counted)),
        );
        linear_variance = _mm256_add_epi64(
            linear_variance,
            _mm256_cvtepu32_epi64(_mm256_extracti128_si256::<1>(counted)),
        );
        let covariance = _mm256_sub_epi32(load8(&moments.cross[x..]), mean_product(mu_x, mu_y));
        // Counts: not linear, σxy ≥ 0 and σy² ≠ 0.
        let skipped = _mm256_or_si256(
            _mm256_or_si256(linear, _mm256_cmpgt_epi32(zero, covariance)),
            _mm256_cmpeq_epi32(var_y, zero),
        );
        if _mm256_movemask_epi8(skipped) == -1 {
            continue;
        }
        let (var_x_lo, var_x_hi) = to_f64(var_x);
        let (cov_lo, cov_hi) = to_f64(covariance);
        let (var_y_lo, var_y_hi) = to_f64(var_y);
        let gain_lo = _mm256_div_pd(cov_lo, _mm256_add_pd(var_x_lo, eps));
        let gain_hi = _mm256_div_pd(cov_hi, _mm256_add_pd(var_x_hi, eps));
        let residual = _mm256_set_m128i(
            _mm256_cvttpd_epi32(_mm256_sub_pd(var_y_hi, _mm256_mul_pd(gain_hi, cov_hi))),
            _mm256_cvttpd_epi32(_mm256_sub_pd(var_y_lo, _mm256_mul_pd(gain_lo, cov_lo))),
        );
        let base = _mm256_add_epi32(_mm256_max_epi32(residual, zero), noise);
        // `if gain < limit { gain } else { limit }` is `minpd`'s definition.
        let (gain_lo, gain_hi) = (_mm256_min_pd(gain_lo, limit), _mm256_min_pd(gain_hi, limit));
        let product_lo = _mm256_mul_pd(_mm256_mul_pd(gain_lo, gain_lo), var_x_lo);
        let product_hi = _mm256_mul_pd(_mm256_mul_pd(gain_hi, gain_hi), var_x_hi);
        let total_lo = _mm256_add_epi64(
            floor_to_u64(product_lo),
            _mm256_cvtepu32_epi64(_mm256_castsi256_si128(base)),
        );
        let total_hi = _mm256_add_epi64(
            floor_to_u64(product_hi),
            _mm256_cvtepu32_epi64(_mm256_extracti128_si256::<1>(base)),
        );
        let ((m_lo, e_lo), (m_hi, e_hi)) = (normalise_64(total_lo), normalise_64(total_hi));
        let (m_total, e_total) = (narrow_64(m_lo, m_hi), narrow_64(e_lo, e_hi));
        // `σv² + σn²` is a 32-bit value of at least 2¹⁷.
        let e_base = _mm256_sub_epi32(floor_log2(base), _mm256_set1_epi32(15));
        let m_base = _mm256_and_si256(_mm256_srlv_epi32(base, e_base), _mm256_set1_epi32(0x7fff));
        let terms = _mm256_sub_epi32(lookup(table, m_total), lookup(table, m_base));
        log = _mm256_add_epi32(log, _mm256_andnot_si256(skipped, terms));
        let exponents = _mm256_sub_epi32(e_total, e_base);
        exponent = _mm256_add_epi32(exponent, _mm256_andnot_si256(skipped, exponents));
    }
    // Each 32-bit lane sums at most `width / 8` terms below 2¹⁶ in magnitude.
    let sum32 = |v: __m256i| {
        let mut lanes = [0i32; 8];
        store8(&mut lanes, v);
        lanes.iter().map(|&l| i64::from(l)).sum::<i64>()
    };
    let mut lanes = [0i64; 4];
    // SAFETY: `lanes` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), linear_variance) };
    num.linear_variance += lanes.iter().sum::<i64>();
    num.log += sum32(log);
    num.exponent += sum32(exponent);
    if whole < n {
        let rest = Moments {
            mean: &moments.mean[whole..],
            square: &moments.square[whole..],
            cross: &moments.cross[whole..],
        };
        stats::distorted_row(
            &mean_ref[whole..],
            &variance_ref[whole..],
            rest,
            gain_limit,
            num,
        );
    }
}

/// Four or eight 32-bit lanes as double-precision values: the low four, the high four.
#[inline]
#[target_feature(enable = "avx2")]
fn to_f64(v: __m256i) -> (__m256d, __m256d) {
    (
        _mm256_cvtepi32_pd(_mm256_castsi256_si128(v)),
        _mm256_cvtepi32_pd(_mm256_extracti128_si256::<1>(v)),
    )
}
