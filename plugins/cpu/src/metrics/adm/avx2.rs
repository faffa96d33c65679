//! An AVX2 version of the scale-0 decoupling ([`super::decouple::decouple_row`] with
//! [`Fine`] arithmetic), written with intrinsics: the compiler keeps that loop scalar. It
//! computes exactly what the portable code computes (the tests compare them on random rows,
//! extremes included), eight coefficients at a time:
//!
//! - The 1° test: the dot products of 16-bit coefficients are exact in double precision (each
//!   product below 2³⁰ in magnitude, each sum below 2³²), so rounding them to single precision
//!   gives what rounding libvmaf's 64-bit integers does; the rest is the same double-precision
//!   arithmetic in the same order. (Dividing by 4096 and multiplying by 2⁻¹² are both exact.)
//! - The restoration: the reciprocals are gathered from the table, the 46-bit products
//!   `reciprocal · t` taken in 64-bit lanes (`vpmuldq`), and `k · o` (at most 2³⁰) in 32 bits.
//!   Only whole-number gain limits (libvmaf's 100 and 1) are done here; others use the
//!   portable code.
//! - The CSF and masking terms, in 32-bit lanes with the portable code's wrapping and
//!   narrowing to 16 bits.

use std::arch::x86_64::*;

use super::arith::{FINE_CSF_ROUND, FINE_CSF_SHIFT, Fine, RECIPROCAL};
use super::decouple::{DecoupledRow, decouple_row};

/// Coefficients per iteration.
const LANES: usize = 8;

/// Eight 16-bit coefficients from the start of `values`, sign-extended to 32 bits.
#[inline]
#[target_feature(enable = "avx2")]
fn load(values: &[i16]) -> __m256i {
    let values: &[i16; LANES] = values[..LANES].try_into().expect("8 values");
    // SAFETY: `values` is 16 readable bytes; the load has no alignment requirement.
    _mm256_cvtepi16_epi32(unsafe { _mm_loadu_si128(values.as_ptr().cast()) })
}

/// Stores eight 32-bit values that fit in 16 bits into the start of `out`.
#[inline]
#[target_feature(enable = "avx2")]
fn store_i16(out: &mut [i16], v: __m256i) {
    let out: &mut [i16; LANES] = (&mut out[..LANES]).try_into().expect("8 values");
    // Saturating packs, in the order 0-3, 8-11 (zero), 4-7, 12-15 (zero): the values fit, so
    // nothing saturates.
    let packed = _mm256_permute4x64_epi64::<0b1000>(_mm256_packs_epi32(v, v));
    // SAFETY: `out` is 16 writable bytes; the store has no alignment requirement.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), _mm256_castsi256_si128(packed)) }
}

/// Stores eight 32-bit values into the start of `out`.
#[inline]
#[target_feature(enable = "avx2")]
fn store_i32(out: &mut [i32], v: __m256i) {
    let out: &mut [i32; LANES] = (&mut out[..LANES]).try_into().expect("8 values");
    // SAFETY: `out` is 32 writable bytes; the store has no alignment requirement.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) }
}

/// `v as i16` sign-extended back to 32 bits, lane by lane: the low 16 bits.
#[inline]
#[target_feature(enable = "avx2")]
fn narrow_i16(v: __m256i) -> __m256i {
    _mm256_srai_epi32::<16>(_mm256_slli_epi32::<16>(v))
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

/// `f64::from(v as f32) / 4096` of an exact double-precision integer `v`.
#[inline]
#[target_feature(enable = "avx2")]
fn scaled(v: __m256d) -> __m256d {
    // Rounding to single precision goes by the current rounding mode, to nearest (as Rust's
    // `as f32` does); dividing by 4096 is exact, as is multiplying by 2⁻¹².
    _mm256_mul_pd(
        _mm256_cvtps_pd(_mm256_cvtpd_ps(v)),
        _mm256_set1_pd(1.0 / 4096.0),
    )
}

/// The 1° test of four coefficients (see [`super::arith::small_angle`]): all ones in the
/// 64-bit lanes where it holds.
#[inline]
#[target_feature(enable = "avx2")]
fn small_angle(cos_sq: __m256d, o: (__m256d, __m256d), t: (__m256d, __m256d)) -> __m256i {
    // Exact: products of 16-bit values and their sums.
    let dot = _mm256_add_pd(_mm256_mul_pd(o.0, t.0), _mm256_mul_pd(o.1, t.1));
    let o2 = _mm256_add_pd(_mm256_mul_pd(o.0, o.0), _mm256_mul_pd(o.1, o.1));
    let t2 = _mm256_add_pd(_mm256_mul_pd(t.0, t.0), _mm256_mul_pd(t.1, t.1));
    let dot = scaled(dot);
    let right = _mm256_mul_pd(_mm256_mul_pd(cos_sq, scaled(o2)), scaled(t2));
    let positive = _mm256_cmp_pd::<_CMP_GE_OQ>(dot, _mm256_set1_pd(0.0));
    let close = _mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_mul_pd(dot, dot), right);
    _mm256_castpd_si256(_mm256_and_pd(positive, close))
}

/// The 1° test of eight coefficients, as 32-bit masks.
#[inline]
#[target_feature(enable = "avx2")]
fn small_angles(cos_sq: f64, o: (__m256i, __m256i), t: (__m256i, __m256i)) -> __m256i {
    let cos_sq = _mm256_set1_pd(cos_sq);
    let ((oh_lo, oh_hi), (ov_lo, ov_hi)) = (to_f64(o.0), to_f64(o.1));
    let ((th_lo, th_hi), (tv_lo, tv_hi)) = (to_f64(t.0), to_f64(t.1));
    let low = small_angle(cos_sq, (oh_lo, ov_lo), (th_lo, tv_lo));
    let high = small_angle(cos_sq, (oh_hi, ov_hi), (th_hi, tv_hi));
    // The low 32 bits of each 64-bit mask, in order.
    crate::metrics::simd::narrow_64(low, high)
}

/// `((reciprocal · t + 16384) >> 15).clamp(0, 32768)` in 64-bit arithmetic, for the four even
/// (`ODD = false`) or odd 32-bit lanes, the result in the low half of each 64-bit lane.
#[inline]
#[target_feature(enable = "avx2")]
fn quotient<const ODD: bool>(reciprocal: __m256i, t: __m256i) -> __m256i {
    let (r, t) = if ODD {
        (
            _mm256_srli_epi64::<32>(reciprocal),
            _mm256_srli_epi64::<32>(t),
        )
    } else {
        (reciprocal, t)
    };
    let v = _mm256_add_epi64(_mm256_mul_epi32(r, t), _mm256_set1_epi64x(16384));
    let negative = _mm256_cmpgt_epi64(_mm256_setzero_si256(), v);
    let q = _mm256_srli_epi64::<15>(v);
    let limit = _mm256_set1_epi64x(32768);
    let q = _mm256_blendv_epi8(q, limit, _mm256_cmpgt_epi64(q, limit));
    _mm256_andnot_si256(negative, q)
}

/// The restored coefficients of one band (see [`Fine::restore`]), for a whole-number gain
/// limit `limit`.
#[inline]
#[target_feature(enable = "avx2")]
fn restore(o: __m256i, t: __m256i, angle: __m256i, limit: i32) -> __m256i {
    let magnitude = _mm256_abs_epi32(o);
    // SAFETY: every index is a 16-bit magnitude, at most 32768, inside the table of 32769
    // entries; the gather reads 4-byte entries (scale 4) with no alignment requirement.
    let reciprocal = unsafe { _mm256_i32gather_epi32::<4>(RECIPROCAL.as_ptr(), magnitude) };
    // Negated where `o < 0` (and 0 where `o = 0`, as the table's entry 0 is).
    let reciprocal = _mm256_sign_epi32(reciprocal, o);
    let even = quotient::<false>(reciprocal, t);
    let odd = quotient::<true>(reciprocal, t);
    let k = _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd));
    let zero = _mm256_setzero_si256();
    let o_zero = _mm256_cmpeq_epi32(o, zero);
    let k = _mm256_blendv_epi8(k, _mm256_set1_epi32(32768), o_zero);
    // |k · o| ≤ 2³⁰.
    let restored = _mm256_srai_epi32::<15>(_mm256_add_epi32(
        _mm256_mullo_epi32(k, o),
        _mm256_set1_epi32(16384),
    ));
    // The gain limit: |restored · limit| ≤ 2¹⁵ · 100.
    let enhance = _mm256_andnot_si256(o_zero, _mm256_and_si256(angle, _mm256_cmpgt_epi32(k, zero)));
    let g = _mm256_mullo_epi32(restored, _mm256_set1_epi32(limit));
    let o_positive = _mm256_cmpgt_epi32(o, zero);
    let limited = _mm256_blendv_epi8(_mm256_max_epi32(g, t), _mm256_min_epi32(g, t), o_positive);
    _mm256_blendv_epi8(restored, limited, enhance)
}

/// `((w · (t − r as i16) + round) >> shift) as i16` (see [`Fine::csf`]).
#[inline]
#[target_feature(enable = "avx2")]
fn csf(weight: i32, (round, shift): (i32, u32), t: __m256i, r: __m256i) -> __m256i {
    let difference = narrow_i16(_mm256_sub_epi32(t, r));
    let v = _mm256_add_epi32(
        _mm256_mullo_epi32(_mm256_set1_epi32(weight), difference),
        _mm256_set1_epi32(round),
    );
    debug_assert!(shift == 15 || shift == 17, "shift {shift}");
    let shifted = if shift == 15 {
        _mm256_srai_epi32::<15>(v)
    } else {
        _mm256_srai_epi32::<17>(v)
    };
    narrow_i16(shifted)
}

/// `((factor · |c| + 2048) >> 12) as i16` (see [`Fine::neighbour_term`]).
#[inline]
#[target_feature(enable = "avx2")]
fn term(factor: i32, c: __m256i) -> __m256i {
    let v = _mm256_add_epi32(
        _mm256_mullo_epi32(_mm256_set1_epi32(factor), _mm256_abs_epi32(c)),
        _mm256_set1_epi32(2048),
    );
    narrow_i16(_mm256_srai_epi32::<12>(v))
}

/// [`decouple_row`] for [`Fine`] arithmetic.
#[target_feature(enable = "avx2")]
pub(super) fn decouple_fine(
    arith: &Fine,
    cos_sq: f64,
    o: [&[i16]; 3],
    t: [&[i16]; 3],
    out: &mut DecoupledRow<i16>,
) {
    let n = out.neighbour.len();
    let (Some(limit), true) = (arith.whole_gain_limit(), n >= LANES) else {
        return decouple_row(arith, cos_sq, o, t, out);
    };
    // Whole gain limits are 1 to 100.
    let limit = limit as i32;
    let weight = arith.weights();
    let [oh, ov, od] = o.map(|band| &band[..n]);
    let [th, tv, td] = t.map(|band| &band[..n]);
    // The last chunk is moved back to end at `n`: it recomputes a few coefficients of the one
    // before, identically (each depends on its own inputs alone).
    let last = n - LANES;
    for x in (0..last).step_by(LANES).chain(std::iter::once(last)) {
        let (o_h, o_v, o_d) = (load(&oh[x..]), load(&ov[x..]), load(&od[x..]));
        let (t_h, t_v, t_d) = (load(&th[x..]), load(&tv[x..]), load(&td[x..]));
        let angle = small_angles(cos_sq, (o_h, o_v), (t_h, t_v));
        let r_h = restore(o_h, t_h, angle, limit);
        let r_v = restore(o_v, t_v, angle, limit);
        let r_d = restore(o_d, t_d, angle, limit);
        store_i16(&mut out.restored[0][x..], r_h);
        store_i16(&mut out.restored[1][x..], r_v);
        store_i16(&mut out.restored[2][x..], r_d);
        let c_h = csf(weight[0], (FINE_CSF_ROUND[0], FINE_CSF_SHIFT[0]), t_h, r_h);
        let c_v = csf(weight[1], (FINE_CSF_ROUND[1], FINE_CSF_SHIFT[1]), t_v, r_v);
        let c_d = csf(weight[2], (FINE_CSF_ROUND[2], FINE_CSF_SHIFT[2]), t_d, r_d);
        // 4369 = 2¹⁷ / 30 and 8738 = 2¹⁷ / 15, as in `Fine::neighbour_term` and
        // `Fine::centre_term`.
        let sum = |factor: i32| {
            _mm256_add_epi32(
                _mm256_add_epi32(term(factor, c_h), term(factor, c_v)),
                term(factor, c_d),
            )
        };
        store_i32(&mut out.neighbour[x..], sum(4369));
        store_i32(&mut out.centre[x..], sum(8738));
    }
}
