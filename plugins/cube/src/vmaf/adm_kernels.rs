//! ADM's kernels: the integer wavelet, the decoupling with its CSF and masking terms, and the
//! row sums of the masked cubes (numerator) and of the reference's cubes (denominator). Each
//! step is the device twin of the CPU plugin's `metrics/adm` code of the same name, with the
//! same widths, rounding constants and two's-complement wrapping (done explicitly here, in
//! 64 bits, since signed overflow is not defined on every device).

use cubecl::prelude::*;
use qscore_cpu::vmaf_parts::adm::{
    COARSE_CSF_SHIFT, COARSE_TERM_ROUND, FINE_CSF_ROUND, FINE_CSF_SHIFT, FINE_SQUARE_SHIFT,
    FINE_THRESHOLD_SHIFT, HI, LO, LO_SUM,
};

use super::arith::{UNITS, rounded, tree_sum};

const LO0: i64 = LO[0] as i64;
const LO1: i64 = LO[1] as i64;
const LO2: i64 = LO[2] as i64;
const LO3: i64 = LO[3] as i64;
const HI0: i64 = HI[0] as i64;
const HI1: i64 = HI[1] as i64;
const HI2: i64 = HI[2] as i64;
const HI3: i64 = HI[3] as i64;
const LO_TOTAL: i64 = LO_SUM as i64;
const FINE_ROUND_HV: i64 = FINE_CSF_ROUND[0] as i64;
const FINE_ROUND_D: i64 = FINE_CSF_ROUND[2] as i64;
const FINE_SHIFT_HV: i64 = FINE_CSF_SHIFT[0] as i64;
const FINE_SHIFT_D: i64 = FINE_CSF_SHIFT[2] as i64;
const FINE_THRESHOLD_HV: i64 = FINE_THRESHOLD_SHIFT[0] as i64;
const FINE_THRESHOLD_D: i64 = FINE_THRESHOLD_SHIFT[2] as i64;
const FINE_SQUARE_HV: i64 = FINE_SQUARE_SHIFT[0] as i64;
const FINE_SQUARE_D: i64 = FINE_SQUARE_SHIFT[2] as i64;
const COARSE_SHIFT: i64 = COARSE_CSF_SHIFT as i64;
const TERM_ROUND: i64 = COARSE_TERM_ROUND;

/// `v` wrapped to 32 bits (two's complement).
#[cube]
pub(crate) fn wrap32(v: i64) -> i32 {
    let low = (v + (1i64 << 31i64)) & 0xFFFF_FFFFi64;
    i32::cast_from(low - (1i64 << 31i64))
}

/// `v` narrowed to 16 bits (two's complement), as a C cast to `int16_t`.
#[cube]
pub(crate) fn wrap16(v: i64) -> i32 {
    let low = (v + 32768i64) & 0xFFFFi64;
    i32::cast_from(low - 32768i64)
}

/// `2^(shift−1)`, or 0 for a zero shift.
#[cube]
pub(crate) fn half(shift: u32) -> i64 {
    (1i64 << i64::cast_from(shift)) >> 1i64
}

/// Index `i` of a line of `n`, mirrored as ADM does (`-i` reads `i`, `n − 1 + i` reads `n − i`).
#[cube]
pub(crate) fn mirror(i: i32, n: i32) -> usize {
    let mut m = i;
    if i < 0 {
        m = -i;
    } else if i >= n {
        m = 2 * n - 1 - i;
    }
    usize::cast_from(m)
}

/// The wavelet's low-pass dot product of four samples.
#[cube]
fn dot_lo(a: i64, b: i64, c: i64, d: i64) -> i64 {
    LO0 * a + LO1 * b + LO2 * c + LO3 * d
}

/// The wavelet's high-pass dot product of four samples.
#[cube]
fn dot_hi(a: i64, b: i64, c: i64, d: i64) -> i64 {
    HI0 * a + HI1 * b + HI2 * c + HI3 * d
}

/// Vertical pass of one level of the wavelet at `(x, i)`: output row `i` reads input rows
/// `2i − 1 … 2i + 2`, mirrored. At level 0 (`luma`) the samples are brought to 16-bit
/// coefficients (`shift` is 8 for bytes, else the depth; the low-pass removes the mean,
/// `LO_SUM · 2^(shift−1)`, wrapping in 32 bits); at levels 1–3 the sums are rounded by
/// `round` and shifted by `shift`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dwt_vertical(
    input: &Array<i32>,
    lo: &mut Array<i32>,
    hi: &mut Array<i32>,
    width: usize,
    height: usize,
    out_height: usize,
    round: i64,
    shift: u32,
    #[comptime] luma: bool,
) {
    let p = ABSOLUTE_POS;
    if p < width * out_height {
        let i = p / width;
        let x = p - i * width;
        let h = i32::cast_from(height);
        let c = 2 * i32::cast_from(i);
        let a = i64::cast_from(input[mirror(c - 1, h) * width + x]);
        let b = i64::cast_from(input[mirror(c, h) * width + x]);
        let cc = i64::cast_from(input[mirror(c + 1, h) * width + x]);
        let d = i64::cast_from(input[mirror(c + 2, h) * width + x]);
        let l = dot_lo(a, b, cc, d);
        let g = dot_hi(a, b, cc, d);
        if comptime!(luma) {
            let s = i32::cast_from(shift);
            lo[p] = wrap16(i64::cast_from(wrap32(l - LO_TOTAL * round + round) >> s));
            hi[p] = wrap16(i64::cast_from(wrap32(g + round) >> s));
        } else {
            let s = i64::cast_from(shift);
            lo[p] = wrap32((l + round) >> s);
            hi[p] = wrap32((g + round) >> s);
        }
    }
}

/// Horizontal pass at `(j, i)`: from the vertical pass's low-pass row the approximation `a`
/// and the band `v`, from its high-pass row the bands `h` and `d`. At level 0 each output is
/// rounded by 2¹⁵, shifted by 16 and narrowed to 16 bits; at levels 1–3 rounded by `round`,
/// shifted by `shift`, narrowed to 32 bits.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dwt_horizontal(
    lo: &Array<i32>,
    hi: &Array<i32>,
    approx: &mut Array<i32>,
    band_h: &mut Array<i32>,
    band_v: &mut Array<i32>,
    band_d: &mut Array<i32>,
    width: usize,
    out_width: usize,
    out_height: usize,
    round: i64,
    shift: u32,
    #[comptime] luma: bool,
) {
    let p = ABSOLUTE_POS;
    if p < out_width * out_height {
        let i = p / out_width;
        let j = p - i * out_width;
        let w = i32::cast_from(width);
        let c = 2 * i32::cast_from(j);
        let row = i * width;
        let t0 = row + mirror(c - 1, w);
        let t1 = row + mirror(c, w);
        let t2 = row + mirror(c + 1, w);
        let t3 = row + mirror(c + 2, w);
        let l0 = i64::cast_from(lo[t0]);
        let l1 = i64::cast_from(lo[t1]);
        let l2 = i64::cast_from(lo[t2]);
        let l3 = i64::cast_from(lo[t3]);
        let h0 = i64::cast_from(hi[t0]);
        let h1 = i64::cast_from(hi[t1]);
        let h2 = i64::cast_from(hi[t2]);
        let h3 = i64::cast_from(hi[t3]);
        let ll = dot_lo(l0, l1, l2, l3);
        let lh = dot_hi(l0, l1, l2, l3);
        let hl = dot_lo(h0, h1, h2, h3);
        let hh = dot_hi(h0, h1, h2, h3);
        if comptime!(luma) {
            approx[p] = wrap16((ll + 32768i64) >> 16i64);
            band_v[p] = wrap16((lh + 32768i64) >> 16i64);
            band_h[p] = wrap16((hl + 32768i64) >> 16i64);
            band_d[p] = wrap16((hh + 32768i64) >> 16i64);
        } else {
            let s = i64::cast_from(shift);
            approx[p] = wrap32((ll + round) >> s);
            band_v[p] = wrap32((lh + round) >> s);
            band_h[p] = wrap32((hl + round) >> s);
            band_d[p] = wrap32((hh + round) >> s);
        }
    }
}

/// `|v|` of a 32-bit value, wrapping (`i32::MIN` stays itself), widened.
#[cube]
fn wrapping_abs(v: i32) -> i64 {
    i64::cast_from(wrap32(i64::cast_from(max(v, -v))))
}

/// Whether the reference vector `(oh, ov)` and the distorted `(th, tv)` are less than 1°
/// apart, as the CPU decides it: 64-bit dot products (wrapping), rounded to single precision,
/// scaled by 2⁻¹², compared in double precision.
#[cube]
fn small_angle(cos_sq: f64, o_h: i32, o_v: i32, t_h: i32, t_v: i32, zero: u64) -> bool {
    let oh = u64::cast_from(i64::cast_from(o_h));
    let ov = u64::cast_from(i64::cast_from(o_v));
    let th = u64::cast_from(i64::cast_from(t_h));
    let tv = u64::cast_from(i64::cast_from(t_v));
    let dot = i64::cast_from(oh * th + ov * tv);
    let o2 = i64::cast_from(oh * oh + ov * ov);
    let t2 = i64::cast_from(th * th + tv * tv);
    let dot = f64::cast_from(f32::cast_from(dot)) / 4096.0;
    let o2 = f64::cast_from(f32::cast_from(o2)) / 4096.0;
    let t2 = f64::cast_from(f32::cast_from(t2)) / 4096.0;
    let left = rounded(dot * dot, zero);
    let right = rounded(rounded(cos_sq * o2, zero) * t2, zero);
    dot >= 0.0 && left >= right
}

/// The restored coefficient `o · clamp(t / o, 0, 1)` by the reciprocal table, with the
/// enhancement gain limit where the vectors are within 1°. `fine`: scale 0's 16-bit
/// arithmetic; else scales 1–3's, whose magnitudes from 2¹⁵ up are first rounded to 15
/// significant bits. `whole`: the limit is the whole number `limit_whole`, else `limit`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn restore(
    reciprocals: &Array<i32>,
    o: i32,
    t: i32,
    angle: bool,
    limit_whole: i64,
    limit: f64,
    #[comptime] fine: bool,
    #[comptime] whole: bool,
) -> i32 {
    let magnitude = u32::cast_from(wrapping_abs(o) & 0xFFFF_FFFFi64);
    let mut shift = 0u32;
    if comptime!(!fine) {
        let zeros = magnitude.leading_zeros();
        if zeros < 17 {
            shift = 17 - zeros;
        }
    }
    let q = (magnitude + ((1u32 << shift) >> 1u32)) >> shift;
    let mut reciprocal = i64::cast_from(reciprocals[usize::cast_from(q)]);
    if o < 0 {
        reciprocal = -reciprocal;
    }
    let mut round = 16384i64;
    if comptime!(!fine) {
        // The CPU's `1i32 << (14 + shift)`, which wraps to −2³¹ for a shift of 17.
        round = i64::cast_from(wrap32(1i64 << i64::cast_from(14 + shift)));
    }
    let mut k = (reciprocal * i64::cast_from(t) + round) >> i64::cast_from(15 + shift);
    k = clamp(k, 0i64, 32768i64);
    if o == 0 {
        k = 32768i64;
    }
    let o64 = i64::cast_from(o);
    let t64 = i64::cast_from(t);
    let restored = (k * o64 + 16384i64) >> 15i64;
    let mut out = restored;
    if angle && k > 0 && o != 0 {
        if comptime!(whole) {
            let g = restored * limit_whole;
            out = if o > 0 { min(g, t64) } else { max(g, t64) };
        } else {
            let g = f64::cast_from(restored) * limit;
            let tf = f64::cast_from(t64);
            let below = if g < tf { g } else { tf };
            let above = if g > tf { g } else { tf };
            out = i64::cast_from(if o > 0 { below } else { above });
        }
    }
    if comptime!(fine) {
        wrap16(out)
    } else {
        wrap32(out)
    }
}

/// The additive impairment `t − r` weighted by the CSF (band `band`: 0 h, 1 v, 2 d).
#[cube]
fn csf(t: i32, r: i32, weight: i64, #[comptime] band: u32, #[comptime] fine: bool) -> i32 {
    if comptime!(fine) {
        let v = weight * i64::cast_from(wrap16(i64::cast_from(t) - i64::cast_from(r)));
        if comptime!(band == 2) {
            wrap16((v + FINE_ROUND_D) >> FINE_SHIFT_D)
        } else {
            wrap16((v + FINE_ROUND_HV) >> FINE_SHIFT_HV)
        }
    } else {
        weighted(wrap32(i64::cast_from(t) - i64::cast_from(r)), weight)
    }
}

/// A coarse coefficient weighted into the masking stage's fixed point.
#[cube]
fn weighted(v: i32, weight: i64) -> i32 {
    wrap32((i64::cast_from(v) * weight + (1i64 << (COARSE_SHIFT - 1))) >> COARSE_SHIFT)
}

/// A weighted value's share of its neighbours' (`centre` false: ≈ |c|/30) or its own
/// (`centre`: ≈ |c|/15) masking threshold.
#[cube]
fn term(c: i32, #[comptime] centre: bool, #[comptime] fine: bool) -> i64 {
    if comptime!(fine) {
        let m = if comptime!(centre) { 8738i64 } else { 4369i64 };
        i64::cast_from(wrap16((m * i64::cast_from(max(c, -c)) + 2048i64) >> 12i64))
    } else {
        let m = if comptime!(centre) {
            286_331_153i64
        } else {
            143_165_577i64
        };
        i64::cast_from(wrap32((m * wrapping_abs(c) + TERM_ROUND) >> 32i64))
    }
}

/// Decouples every coefficient of a band triple: the restored coefficients and the masking
/// terms the threshold of each coefficient and its neighbours is made of.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn decouple(
    oh: &Array<i32>,
    ov: &Array<i32>,
    od: &Array<i32>,
    th: &Array<i32>,
    tv: &Array<i32>,
    td: &Array<i32>,
    reciprocals: &Array<i32>,
    rh: &mut Array<i32>,
    rv: &mut Array<i32>,
    rd: &mut Array<i32>,
    neighbour: &mut Array<i32>,
    centre: &mut Array<i32>,
    weight_hv: i64,
    weight_d: i64,
    limit_whole: i64,
    limit: f64,
    cos_sq: f64,
    len: usize,
    zero: u64,
    #[comptime] fine: bool,
    #[comptime] whole: bool,
) {
    let p = ABSOLUTE_POS;
    if p < len {
        let o_h = oh[p];
        let o_v = ov[p];
        let o_d = od[p];
        let t_h = th[p];
        let t_v = tv[p];
        let t_d = td[p];
        let angle = small_angle(cos_sq, o_h, o_v, t_h, t_v, zero);
        let r_h = restore(
            reciprocals,
            o_h,
            t_h,
            angle,
            limit_whole,
            limit,
            fine,
            whole,
        );
        let r_v = restore(
            reciprocals,
            o_v,
            t_v,
            angle,
            limit_whole,
            limit,
            fine,
            whole,
        );
        let r_d = restore(
            reciprocals,
            o_d,
            t_d,
            angle,
            limit_whole,
            limit,
            fine,
            whole,
        );
        rh[p] = r_h;
        rv[p] = r_v;
        rd[p] = r_d;
        let c_h = csf(t_h, r_h, weight_hv, 0u32, fine);
        let c_v = csf(t_v, r_v, weight_hv, 1u32, fine);
        let c_d = csf(t_d, r_d, weight_d, 2u32, fine);
        neighbour[p] =
            wrap32(term(c_h, false, fine) + term(c_v, false, fine) + term(c_d, false, fine));
        centre[p] = wrap32(term(c_h, true, fine) + term(c_v, true, fine) + term(c_d, true, fine));
    }
}

/// The masking threshold at `(x, y)` of a `width × height` band: the neighbour terms of the
/// 3×3 neighbourhood (mirrored at the band's edges) less the centre's, plus its centre term.
#[cube]
fn threshold(
    neighbour: &Array<i32>,
    centre: &Array<i32>,
    x: usize,
    y: usize,
    width: usize,
    height: usize,
) -> i32 {
    let w = i32::cast_from(width);
    let h = i32::cast_from(height);
    let xi = i32::cast_from(x);
    let yi = i32::cast_from(y);
    let above = mirror(yi - 1, h) * width;
    let here = y * width;
    let below = mirror(yi + 1, h) * width;
    let mut sum = 0i64;
    #[unroll]
    for dx in 0..3u32 {
        let xx = mirror(xi + i32::cast_from(dx) - 1, w);
        sum += i64::cast_from(neighbour[above + xx])
            + i64::cast_from(neighbour[here + xx])
            + i64::cast_from(neighbour[below + xx]);
    }
    let at = y * width + x;
    wrap32(sum - i64::cast_from(neighbour[at]) + i64::cast_from(centre[at]))
}

/// One cube per row of the scored region (row `top + CUBE_POS`, for `CUBE_POS < count`): the
/// masked cubes of the three bands summed along the row from `left` to `right`, each sum
/// rounded and shifted by `row_shift`, into `rows[3 · CUBE_POS ..]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn masked_rows(
    rh: &Array<i32>,
    rv: &Array<i32>,
    rd: &Array<i32>,
    neighbour: &Array<i32>,
    centre: &Array<i32>,
    rows: &mut Array<i64>,
    top: usize,
    count: usize,
    left: usize,
    right: usize,
    width: usize,
    height: usize,
    weight_hv: i64,
    weight_d: i64,
    cube_hv: u32,
    cube_d: u32,
    row_shift: u32,
    #[comptime] fine: bool,
) {
    let mut shared = SharedMemory::<i64>::new(3 * UNITS);
    let unit = UNIT_POS as usize;
    let cube = CUBE_POS;
    let mut sh = 0i64;
    let mut sv = 0i64;
    let mut sd = 0i64;
    if cube < count {
        let y = top + cube;
        let mut x = left + unit;
        loop {
            if x >= right {
                break;
            }
            let thr = threshold(neighbour, centre, x, y, width, height);
            let at = y * width + x;
            sh += masked_cube(rh[at], thr, weight_hv, cube_hv, 0u32, fine);
            sv += masked_cube(rv[at], thr, weight_hv, cube_hv, 1u32, fine);
            sd += masked_cube(rd[at], thr, weight_d, cube_d, 2u32, fine);
            x += UNITS;
        }
    }
    shared[unit] = sh;
    shared[UNITS + unit] = sv;
    shared[2 * UNITS + unit] = sd;
    tree_sum(&mut shared, 3usize);
    if cube < count && unit < 3 {
        let round = half(row_shift);
        rows[cube * 3 + unit] = (shared[unit * UNITS] + round) >> i64::cast_from(row_shift);
    }
}

/// A reference coefficient's cube for the denominator: `|v|³` at scale 0; at scales 1–3 the
/// square shifted by `square` (after adding a whole `2^square`, as libvmaf does), times
/// `|v|`, rounded and shifted by `cube`.
#[cube]
fn den_cube(v: i32, square: u32, cube: u32, #[comptime] fine: bool) -> u64 {
    let m = u64::cast_from(wrapping_abs(v) & 0xFFFF_FFFFi64);
    if comptime!(fine) {
        m * m * m
    } else {
        let sq = (m * m + (1u64 << u64::cast_from(square))) >> u64::cast_from(square);
        let round = (1u64 << u64::cast_from(cube)) >> 1u64;
        (sq * m + round) >> u64::cast_from(cube)
    }
}

/// One cube per row of the scored region, as [`masked_rows`], for the reference's cubes.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn den_rows(
    oh: &Array<i32>,
    ov: &Array<i32>,
    od: &Array<i32>,
    rows: &mut Array<i64>,
    top: usize,
    count: usize,
    left: usize,
    right: usize,
    width: usize,
    square: u32,
    cube_shift: u32,
    row_shift: u32,
    #[comptime] fine: bool,
) {
    let mut shared = SharedMemory::<i64>::new(3 * UNITS);
    let unit = UNIT_POS as usize;
    let cube = CUBE_POS;
    let mut sh = 0u64;
    let mut sv = 0u64;
    let mut sd = 0u64;
    if cube < count {
        let row = (top + cube) * width;
        let mut x = left + unit;
        loop {
            if x >= right {
                break;
            }
            sh += den_cube(oh[row + x], square, cube_shift, fine);
            sv += den_cube(ov[row + x], square, cube_shift, fine);
            sd += den_cube(od[row + x], square, cube_shift, fine);
            x += UNITS;
        }
    }
    shared[unit] = i64::cast_from(sh);
    shared[UNITS + unit] = i64::cast_from(sv);
    shared[2 * UNITS + unit] = i64::cast_from(sd);
    tree_sum(&mut shared, 3usize);
    if cube < count && unit < 3 {
        let round = half(row_shift);
        rows[cube * 3 + unit] = (shared[unit * UNITS] + round) >> i64::cast_from(row_shift);
    }
}

/// The cube of a masked, CSF-weighted restored coefficient `r` whose threshold is
/// `threshold`, rounded and shifted by `cube_shift`.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn masked_cube(
    r: i32,
    threshold: i32,
    weight: i64,
    cube_shift: u32,
    #[comptime] band: u32,
    #[comptime] fine: bool,
) -> i64 {
    let raw = if comptime!(fine) {
        let ts = if comptime!(band == 2) {
            FINE_THRESHOLD_D
        } else {
            FINE_THRESHOLD_HV
        };
        let shifted = i64::cast_from(wrap32(i64::cast_from(threshold) << ts));
        let w = wrap32(i64::cast_from(r) * weight);
        i64::cast_from(wrap32(wrapping_abs(w) - shifted))
    } else {
        let w = weighted(r, weight);
        i64::cast_from(wrap32(wrapping_abs(w) - i64::cast_from(threshold)))
    };
    let x = max(raw, 0i64);
    let s = if comptime!(fine) {
        if comptime!(band == 2) {
            FINE_SQUARE_D
        } else {
            FINE_SQUARE_HV
        }
    } else {
        30i64
    };
    let square = i64::cast_from(wrap32((x * x + (1i64 << (s - 1))) >> s));
    (square * x + half(cube_shift)) >> i64::cast_from(cube_shift)
}
