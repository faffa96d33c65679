//! The per-coefficient fixed-point arithmetic of ADM, which libvmaf does differently at scale 0
//! (16-bit coefficients, [`Fine`]) and at scales 1–3 (32-bit coefficients, [`Coarse`]).
//!
//! Every operation here reproduces libvmaf's integer widths, rounding constants and shifts,
//! including its quirks (a rounding constant that is negative at scales 1–3, results narrowed
//! back to 16 bits at scale 0), because the scores must match it bit for bit. Where libvmaf's
//! C would overflow on absurd inputs, two's-complement wrapping is used, which is what its x86
//! build does.

use super::csf::ScaleWeights;
use super::decouple::DecoupledRow;
use super::region::ceil_log2;
#[cfg(target_arch = "x86_64")]
use crate::metrics::simd::Avx2;

/// What the decoupling, CSF and masking stages need to know about one scale's arithmetic.
pub(super) trait Arith {
    /// The wavelet coefficient type of the scale.
    type Coef: Copy + Default + Into<i64>;

    /// The part of the distorted coefficient `t` explained by the reference coefficient `o`:
    /// `o · clamp(t / o, 0, 1)`, with the enhancement gain limit applied when the reference and
    /// distorted (h, v) vectors point within 1° of each other.
    fn restore(&self, o: Self::Coef, t: Self::Coef, small_angle: bool) -> Self::Coef;
    /// The additive impairment `target - restored` (wrapping in the coefficient type),
    /// CSF-weighted, in the scale's fixed point.
    fn csf(&self, band: usize, target: Self::Coef, restored: Self::Coef) -> i32;
    /// The CSF-weighted value's contribution to its neighbours' masking threshold (≈ |c| / 30).
    fn neighbour_term(c: i32) -> i32;
    /// Its contribution to its own masking threshold (≈ |c| / 15).
    fn centre_term(c: i32) -> i32;
    /// The masked, CSF-weighted restored coefficient cubed and scaled down, ready to be summed
    /// along a row.
    fn cube(&self, band: usize, restored: Self::Coef, threshold: i32) -> i64;
    /// The shift (with rounding) applied to each row's sum of cubes.
    fn row_shift(&self) -> u32;
    /// The numerator of the scale from the three bands' accumulated row sums.
    fn numerator(&self, sums: [i64; 3], area_term: f32) -> f32;
    /// Decouples a row as [`super::decouple::decouple_row`] does, with AVX2, if this
    /// arithmetic has an AVX2 kernel for it; else returns `false`, `out` untouched.
    #[cfg(target_arch = "x86_64")]
    fn decouple_avx2(
        &self,
        _token: Avx2,
        _cos_sq: f64,
        _o: [&[Self::Coef]; 3],
        _t: [&[Self::Coef]; 3],
        _out: &mut DecoupledRow<Self::Coef>,
    ) -> bool {
        false
    }
}

/// `⌊2^30 / m⌋` for `m` in 1..=32768 (entry 0 is never used): libvmaf's table that turns its
/// divisions into multiplications.
pub static RECIPROCAL: [i32; 32769] = reciprocals();

const fn reciprocals() -> [i32; 32769] {
    let mut table = [0; 32769];
    let mut m = 1;
    while m < table.len() {
        table[m] = (1 << 30) / m as i32;
        m += 1;
    }
    table
}

/// The constant added before a rounding right shift by `shift`: half a unit, or nothing for a
/// shift of 0 (libvmaf computes `(uint32_t)pow(2, shift - 1)`, which its x86 build turns into 0
/// when the unsigned `shift - 1` wraps).
pub(super) fn half(shift: u32) -> i64 {
    if shift == 0 { 0 } else { 1 << (shift - 1) }
}

/// `2^e` exactly, or infinity above the double range.
pub(super) fn pow2(e: i64) -> f64 {
    if e > 1023 {
        f64::INFINITY
    } else if e >= -1022 {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        0.0
    }
}

/// `2^e` where libvmaf computes `e` in unsigned arithmetic: a negative `e` wraps to about 2^32,
/// which makes the power infinite (and the quotient it divides 0). Never reached for frames of
/// sane size, kept for fidelity.
pub(super) fn pow2_unsigned(e: i64) -> f64 {
    if e < 0 { f64::INFINITY } else { pow2(e) }
}

/// The single-precision cube root libvmaf takes of every band sum.
pub(super) fn cbrt(x: f32) -> f32 {
    x.powf(1.0 / 3.0)
}

/// cos²(1°), computed in double precision and stored in single precision as libvmaf does.
pub fn cos_sq_1deg() -> f64 {
    let c = (std::f64::consts::PI / 180.0).cos();
    f64::from((c * c) as f32)
}

/// Whether the reference vector `(oh, ov)` and the distorted `(th, tv)` are less than 1° apart:
/// `o·t ≥ 0` and `(o·t)² ≥ cos²(1°)·|o|²·|t|²`, evaluated as libvmaf does (64-bit integer dot
/// products, rounded to single precision, compared in double precision).
#[inline(always)]
pub(super) fn small_angle(cos_sq: f64, o: (i64, i64), t: (i64, i64)) -> bool {
    let dot = o.0.wrapping_mul(t.0).wrapping_add(o.1.wrapping_mul(t.1));
    let o2 = o.0.wrapping_mul(o.0).wrapping_add(o.1.wrapping_mul(o.1));
    let t2 = t.0.wrapping_mul(t.0).wrapping_add(t.1.wrapping_mul(t.1));
    let scaled = |v: i64| f64::from(v as f32) / 4096.0;
    let dot = scaled(dot);
    (dot >= 0.0) & (dot * dot >= cos_sq * scaled(o2) * scaled(t2))
}

/// The enhancement gain limit, with an exact integer form for whole-number limits (the usual
/// 100 and 1), for which libvmaf's double-precision product is exact.
#[derive(Debug, Clone, Copy)]
pub(super) struct GainLimit {
    real: f64,
    whole: Option<i64>,
}

impl GainLimit {
    pub(super) fn new(limit: f64) -> Self {
        Self {
            real: limit,
            whole: whole_gain_limit(limit),
        }
    }

    /// The restored coefficient after the limit: where the reference and distorted vectors are
    /// within 1° (`small_angle`) and the restoration `restored = k · o` is non-zero (`k > 0`,
    /// `o ≠ 0`), an enhancement may count as restored, up to `limit` times `restored` and no
    /// further than the distorted `target`. libvmaf does this in double precision and truncates
    /// toward zero.
    ///
    /// Written without branches on the data: the signs it selects on are as good as random.
    #[inline(always)]
    fn apply(&self, restored: i64, target: i64, o: i64, k: i64, small_angle: bool) -> i64 {
        let enhance = small_angle & (k > 0) & (o != 0);
        let limited = match self.whole {
            // |restored · limit| < 2^53: the double product is exact, the result an integer.
            Some(limit) => {
                let g = restored * limit;
                if o > 0 { g.min(target) } else { g.max(target) }
            }
            None => {
                let g = restored as f64 * self.real;
                let t = target as f64;
                let below = if g < t { g } else { t };
                let above = if g > t { g } else { t };
                // Lies between `restored` and `target`: no overflow.
                (if o > 0 { below } else { above }) as i64
            }
        };
        if enhance { limited } else { restored }
    }
}

/// `limit` as a whole number, if it is one (libvmaf's 100 and 1 are): then the enhancement
/// is computed exactly in integers.
pub fn whole_gain_limit(limit: f64) -> Option<i64> {
    (limit.fract() == 0.0).then_some(limit as i64)
}

/// The shifts of a scale's numerator: of each band's cubes, and of each row's sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumShifts {
    /// Right shift (rounded) of each band's cubes.
    pub cube: [u32; 3],
    /// Right shift (rounded) of each row's sum.
    pub row: u32,
}

impl NumShifts {
    /// The shifts at `scale` for bands of `width × height`, as libvmaf chooses them.
    pub fn new(scale: usize, width: usize, height: usize) -> Self {
        let log_w = ceil_log2(width);
        let cube = if scale == 0 {
            [log_w - 4, log_w - 4, log_w - 3]
        } else {
            [log_w; 3]
        };
        Self {
            cube,
            row: ceil_log2(height),
        }
    }
}

/// The scale-0 arithmetic, on 16-bit coefficients.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fine {
    gain_limit: GainLimit,
    /// Fixed-point CSF weights (21, 21, 23 fractional bits).
    weight: [i32; 3],
    /// Shift of each cube, chosen by libvmaf from the band width.
    cube_shift: [u32; 3],
    row_shift: u32,
}

/// Scale 0: the CSF product is rounded back to 16 bits by these shifts (note libvmaf's
/// rounding constant 65535, not 65536, for `d`).
pub const FINE_CSF_SHIFT: [u32; 3] = [15, 15, 17];
pub const FINE_CSF_ROUND: [i32; 3] = [16384, 16384, 65535];
/// Scale 0 masking: the threshold is brought to the weighted coefficient's fixed point by
/// these left shifts, and the square is taken with these rounding shifts.
pub const FINE_THRESHOLD_SHIFT: [u32; 3] = [10, 10, 12];
pub const FINE_SQUARE_SHIFT: [u32; 3] = [29, 29, 30];
/// Scale 0: the fractional bits of each band's accumulated sum before the shifts of the cube
/// and of the rows: (6 from the wavelet + 21 or 23 from the weight) × 3 - the square's shift.
const FINE_FRACTION_BITS: [i64; 3] = [52, 52, 57];

impl Fine {
    pub(super) fn new(
        weights: &ScaleWeights,
        width: usize,
        height: usize,
        gain_limit: f64,
    ) -> Self {
        let shifts = NumShifts::new(0, width, height);
        Self {
            gain_limit: GainLimit::new(gain_limit),
            weight: weights.fixed.map(|w| w as i32),
            cube_shift: shifts.cube,
            row_shift: shifts.row,
        }
    }
}

impl Fine {
    /// The gain limit, if it is a whole number (libvmaf's 100 and 1 are).
    pub(super) fn whole_gain_limit(&self) -> Option<i64> {
        self.gain_limit.whole
    }

    /// The fixed-point CSF weights of the three bands.
    pub(super) fn weights(&self) -> [i32; 3] {
        self.weight
    }
}

impl Arith for Fine {
    type Coef = i16;

    #[cfg(target_arch = "x86_64")]
    fn decouple_avx2(
        &self,
        _: Avx2,
        cos_sq: f64,
        o: [&[i16]; 3],
        t: [&[i16]; 3],
        out: &mut DecoupledRow<i16>,
    ) -> bool {
        // SAFETY: an `Avx2` token is only made once the CPU is known to have AVX2.
        unsafe { super::avx2::decouple_fine(self, cos_sq, o, t, out) };
        true
    }

    #[inline(always)]
    fn restore(&self, o: i16, t: i16, small_angle: bool) -> i16 {
        // `k = t / o` in Q15 by the reciprocal table (whose entry 0 is 0), clamped to [0, 1];
        // 1 where `o` is 0.
        let reciprocal = i64::from(RECIPROCAL[usize::from(o.unsigned_abs())]);
        let reciprocal = if o < 0 { -reciprocal } else { reciprocal };
        let k = ((reciprocal * i64::from(t) + 16384) >> 15).clamp(0, 32768);
        let k = if o == 0 { 32768 } else { k };
        let restored = (k * i64::from(o) + 16384) >> 15;
        self.gain_limit
            .apply(restored, t.into(), o.into(), k, small_angle) as i16
    }

    #[inline(always)]
    fn csf(&self, band: usize, target: i16, restored: i16) -> i32 {
        let v = self.weight[band] * i32::from(target.wrapping_sub(restored));
        i32::from(((v + FINE_CSF_ROUND[band]) >> FINE_CSF_SHIFT[band]) as i16)
    }

    #[inline(always)]
    fn neighbour_term(c: i32) -> i32 {
        // 4369 = 2^17 / 30.
        i32::from(((4369 * c.abs() + 2048) >> 12) as i16)
    }

    #[inline(always)]
    fn centre_term(c: i32) -> i32 {
        // 8738 = 2^17 / 15.
        i32::from(((8738 * c.abs() + 2048) >> 12) as i16)
    }

    #[inline(always)]
    fn cube(&self, band: usize, restored: i16, threshold: i32) -> i64 {
        let x = i32::from(restored) * self.weight[band];
        let x = x
            .wrapping_abs()
            .wrapping_sub(threshold.wrapping_shl(FINE_THRESHOLD_SHIFT[band]))
            .max(0);
        let shift = FINE_SQUARE_SHIFT[band];
        let square = ((i64::from(x) * i64::from(x) + (1 << (shift - 1))) >> shift) as i32;
        let shift = self.cube_shift[band];
        (i64::from(square) * i64::from(x) + half(shift)) >> shift
    }

    fn row_shift(&self) -> u32 {
        self.row_shift
    }

    fn numerator(&self, sums: [i64; 3], area_term: f32) -> f32 {
        let band = |b: usize| {
            let e =
                FINE_FRACTION_BITS[b] - i64::from(self.cube_shift[b]) - i64::from(self.row_shift);
            cbrt((sums[b] as f64 / pow2_unsigned(e)) as f32) + area_term
        };
        band(0) + band(1) + band(2)
    }
}

/// The arithmetic of scales 1–3, on 32-bit coefficients.
#[derive(Debug, Clone, Copy)]
pub(super) struct Coarse {
    gain_limit: GainLimit,
    /// Fixed-point CSF weights (32 fractional bits).
    weight: [i64; 3],
    cube_shift: u32,
    row_shift: u32,
    /// Fractional bits of the accumulated sums before the cube and row shifts.
    fraction_bits: i64,
}

/// Scales 1–3: the CSF product keeps this many fewer fractional bits than the weight.
pub const COARSE_CSF_SHIFT: u32 = 28;
/// libvmaf rounds the ≈1/30 and ≈1/15 products with `1u << 31` stored in an `int32_t`, that is
/// with -2^31: the result is floored after subtracting a half (0 becomes -1).
pub const COARSE_TERM_ROUND: i64 = -(1 << 31);

impl Coarse {
    pub(super) fn new(
        weights: &ScaleWeights,
        scale: usize,
        width: usize,
        height: usize,
        gain_limit: f64,
    ) -> Self {
        let shifts = NumShifts::new(scale, width, height);
        Self {
            gain_limit: GainLimit::new(gain_limit),
            weight: weights.fixed.map(i64::from),
            cube_shift: shifts.cube[0],
            row_shift: shifts.row,
            fraction_bits: [45, 39, 36][scale - 1],
        }
    }

    /// The weighted coefficient in the fixed point of the masking stage.
    #[inline(always)]
    fn weighted(&self, band: usize, v: i32) -> i32 {
        ((i64::from(v) * self.weight[band] + (1 << (COARSE_CSF_SHIFT - 1))) >> COARSE_CSF_SHIFT)
            as i32
    }
}

/// The reciprocal of a 32-bit magnitude as libvmaf approximates it: magnitudes from 2^15 up
/// are rounded to their 15 leading bits, `m ≈ q · 2^shift`; returns `(⌊2^30 / q⌋, shift)`
/// (entry 0 of the table, for `m = 0`, is 0).
#[inline(always)]
fn coarse_reciprocal(magnitude: u32) -> (i64, u32) {
    let shift = 17u32.saturating_sub(magnitude.leading_zeros());
    let q = magnitude.wrapping_add((1 << shift) >> 1) >> shift;
    // `q ≤ 2^15`, except for the unreachable `m ≥ 2^32 - 2^16` where libvmaf's sum wraps.
    (i64::from(RECIPROCAL[q as usize]), shift)
}

impl Arith for Coarse {
    type Coef = i32;

    #[inline(always)]
    fn restore(&self, o: i32, t: i32, small_angle: bool) -> i32 {
        let (reciprocal, shift) = coarse_reciprocal(o.unsigned_abs());
        let reciprocal = if o < 0 { -reciprocal } else { reciprocal };
        // libvmaf's `1 << (14 + shift)` is an `int`: it wraps for shift 17.
        let round = i64::from(1i32.wrapping_shl(14 + shift));
        let k = ((reciprocal * i64::from(t) + round) >> (15 + shift)).clamp(0, 32768);
        let k = if o == 0 { 32768 } else { k };
        let restored = (k * i64::from(o) + 16384) >> 15;
        self.gain_limit
            .apply(restored, t.into(), o.into(), k, small_angle) as i32
    }

    #[inline(always)]
    fn csf(&self, band: usize, target: i32, restored: i32) -> i32 {
        self.weighted(band, target.wrapping_sub(restored))
    }

    #[inline(always)]
    fn neighbour_term(c: i32) -> i32 {
        // 143165577 = 2^32 / 30.
        ((143_165_577 * i64::from(c.wrapping_abs()) + COARSE_TERM_ROUND) >> 32) as i32
    }

    #[inline(always)]
    fn centre_term(c: i32) -> i32 {
        // 286331153 = 2^32 / 15.
        ((286_331_153 * i64::from(c.wrapping_abs()) + COARSE_TERM_ROUND) >> 32) as i32
    }

    #[inline(always)]
    fn cube(&self, band: usize, restored: i32, threshold: i32) -> i64 {
        let x = self.weighted(band, restored);
        let x = x.wrapping_abs().wrapping_sub(threshold).max(0);
        let square = ((i64::from(x) * i64::from(x) + (1 << 29)) >> 30) as i32;
        (i64::from(square) * i64::from(x) + half(self.cube_shift)) >> self.cube_shift
    }

    fn row_shift(&self) -> u32 {
        self.row_shift
    }

    fn numerator(&self, sums: [i64; 3], area_term: f32) -> f32 {
        let e = self.fraction_bits - i64::from(self.cube_shift) - i64::from(self.row_shift);
        // libvmaf keeps this power of two in single precision and divides in single precision.
        let scale = pow2_unsigned(e) as f32;
        let band = |b: usize| cbrt(sums[b] as f32 / scale) + area_term;
        band(0) + band(1) + band(2)
    }
}
