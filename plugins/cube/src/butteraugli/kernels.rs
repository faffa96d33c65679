//! butteraugli's per-pixel steps after the Malta filters: the L2 terms of the AC
//! difference, the visual mask (libjxl's `MaskPsychoImage`), the masked combination into
//! the difference map, and the 2× subsampling and supersampling of the multi-resolution
//! pass.

// libjxl's constants are written as published, with more digits than an `f32` holds.
#![allow(clippy::excessive_precision)]

use cubecl::prelude::*;

/// Weights of the band differences: HF X, Y, B; MF X, Y, B; LF X, Y, B.
pub(crate) const WMUL: [f64; 9] = [
    400.0,
    1.508_157_031_18,
    0.0,
    2150.0,
    10.619_543_323_9,
    16.217_604_315_2,
    29.235_379_799_4,
    0.844_626_970_982,
    0.703_646_627_719,
];
/// `1 / (17.83 · 0.79079917)`: a difference of 1 is "just noticeable".
const GLOBAL_SCALE: f32 = 1.0 / (17.83 * 0.790_799_17);
const MASK_MUL: f32 = 6.194_240_804_39;
const MASK_BIAS: f32 = 12.610_505_941_97;
const MASK_TO_ERROR_MUL: f32 = 10.0;
const MASK_Y: [f32; 3] = [
    2.548_594_479_3_f64 as f32,
    0.451_936_922_203_f64 as f32,
    0.829_591_754_942_f64 as f32,
];
const MASK_DC_Y: [f32; 3] = [
    0.505_054_525_019_f64 as f32,
    3.874_494_188_04_f64 as f32,
    0.200_255_785_22_f64 as f32,
];

/// One channel's asymmetric HF term and symmetric MF term, added to `acc`: libjxl's
/// `L2DiffAsymmetric` (weights `gt`, `lt`) then `L2Diff` (weight `mf_w`).
#[cube]
fn l2_channel(h0: f32, h1: f32, m0: f32, m1: f32, acc: f32, gt: f32, lt: f32, mf_w: f32) -> f32 {
    let d = h0 - h1;
    let total = fma(d * d, 0.8f32 * gt, acc);
    let mut sign = 1.0f32;
    if h0 < 0.0f32 {
        sign = -1.0f32;
    }
    let sv1 = h1 * sign;
    let v = max(0.4f32 * h0.abs() - sv1, 0.0f32) + max(sv1 - h0.abs(), 0.0f32);
    let m = m0 - m1;
    fma(m * m, mf_w, fma(v * v, 0.8f32 * lt, total))
}

/// The L2 terms of the AC difference, added to the Malta sums in `ac` (X, Y; B written):
/// HF X and Y asymmetrically (`gt`, `lt` per channel, from `WMUL` and the HF asymmetry),
/// MF X, Y, B symmetrically with `WMUL[3..6]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn l2_terms(
    hf0: &Array<f32>,
    hf1: &Array<f32>,
    mf0: &Array<f32>,
    mf1: &Array<f32>,
    ac: &mut Array<f32>,
    gt_x: f32,
    lt_x: f32,
    gt_y: f32,
    lt_y: f32,
    n: usize,
) {
    let i = ABSOLUTE_POS;
    if i < n {
        let mf_x = f32::new(comptime![WMUL[3] as f32]);
        let mf_y = f32::new(comptime![WMUL[4] as f32]);
        let mf_b = f32::new(comptime![WMUL[5] as f32]);
        ac[i] = l2_channel(hf0[i], hf1[i], mf0[i], mf1[i], ac[i], gt_x, lt_x, mf_x);
        let j = n + i;
        ac[j] = l2_channel(hf0[j], hf1[j], mf0[j], mf1[j], ac[j], gt_y, lt_y, mf_y);
        let m = mf0[2 * n + i] - mf1[2 * n + i];
        ac[2 * n + i] = m * m * mf_b;
    }
}

/// What the mask is made of, for one image: `√(6.19·|(X, Y) of HF + UHF| + b) − √b`.
#[cube(launch)]
pub(crate) fn mask_input(hf: &Array<f32>, uhf: &Array<f32>, out: &mut Array<f32>, n: usize) {
    let i = ABSOLUTE_POS;
    if i < n {
        let xdiff = (uhf[i] + hf[i]) * 2.5f32;
        let ydiff = fma(uhf[n + i], 0.4f32, hf[n + i] * 0.4f32);
        let combined = fma(xdiff, xdiff, ydiff * ydiff).sqrt();
        let bias = MASK_MUL * MASK_BIAS;
        out[i] = fma(MASK_MUL, combined, bias).sqrt() - bias.sqrt();
    }
}

/// Keeps `v` among the three smallest values seen, `m0 ≤ m1 ≤ m2`.
#[cube]
fn keep_min3(v: f32, m0: &mut f32, m1: &mut f32, m2: &mut f32) {
    if v < *m2 {
        if v < *m0 {
            *m2 = *m1;
            *m1 = *m0;
            *m0 = v;
        } else if v < *m1 {
            *m2 = *m1;
            *m1 = v;
        } else {
            *m2 = v;
        }
    }
}

/// libjxl's `FuzzyErosion`: a weighted mean of the three smallest of a pixel and its
/// neighbours 3 away (8 directions, those inside the image).
#[cube(launch)]
pub(crate) fn erosion(from: &Array<f32>, to: &mut Array<f32>, width: usize, height: usize) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let x = i % width;
        let y = i / width;
        let mut m0 = from[i];
        let mut m1 = 2.0f32 * m0;
        let mut m2 = m1;
        for dy in 0..3usize {
            // Rows y − 3, y, y + 3.
            let ok_row = (dy != 0 || y >= 3) && (dy != 2 || y + 3 < height);
            if ok_row {
                let row = y + dy * 3 - 3;
                for dx in 0..3usize {
                    let ok_col = (dx != 0 || x >= 3) && (dx != 2 || x + 3 < width);
                    if ok_col && (dx != 1 || dy != 1) {
                        keep_min3(
                            from[row * width + x + dx * 3 - 3],
                            &mut m0,
                            &mut m1,
                            &mut m2,
                        );
                    }
                }
            }
        }
        to[i] = 0.45f32 * m0 + 0.3f32 * m1 + 0.25f32 * m2;
    }
}

/// Adds to the Y AC difference the squared difference of the two blurred mask inputs.
#[cube(launch)]
pub(crate) fn mask_error(b0: &Array<f32>, b1: &Array<f32>, ac: &mut Array<f32>, n: usize) {
    let i = ABSOLUTE_POS;
    if i < n {
        let d = b0[i] - b1[i];
        ac[n + i] = fma(d * d, MASK_TO_ERROR_MUL, ac[n + i]);
    }
}

/// `(global·(1 + mul / (scaler·v + offset)))²`, libjxl's `MaskY` and `MaskDcY` shape.
#[cube]
fn mask_curve(v: f32, mul: f32, scaler: f32, offset: f32) -> f32 {
    let r = fma(GLOBAL_SCALE, mul / fma(scaler, v, offset), GLOBAL_SCALE);
    r * r
}

/// The difference map: `√(masked LF difference + masked AC difference)`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn combine(
    mask: &Array<f32>,
    lf0: &Array<f32>,
    lf1: &Array<f32>,
    ac: &Array<f32>,
    out: &mut Array<f32>,
    xmul: f32,
    n: usize,
) {
    let i = ABSOLUTE_POS;
    if i < n {
        let v = mask[i];
        let ac_mask = mask_curve(v, MASK_Y[0], MASK_Y[1], MASK_Y[2]);
        let dc_mask = mask_curve(v, MASK_DC_Y[0], MASK_DC_Y[1], MASK_DC_Y[2]);
        let d0 = lf0[i] - lf1[i];
        let d1 = lf0[n + i] - lf1[n + i];
        let d2 = lf0[2 * n + i] - lf1[2 * n + i];
        let w0 = f32::new(comptime![WMUL[6] as f32]);
        let w1 = f32::new(comptime![WMUL[7] as f32]);
        let w2 = f32::new(comptime![WMUL[8] as f32]);
        let dc = fma(
            d0 * d0 * w0 * xmul,
            dc_mask,
            fma(d1 * d1 * w1, dc_mask, d2 * d2 * w2 * dc_mask),
        );
        let masked_ac = fma(
            ac[i] * xmul,
            ac_mask,
            fma(ac[n + i], ac_mask, ac[2 * n + i] * ac_mask),
        );
        out[i] = (dc + masked_ac).sqrt();
    }
}

/// Three planes averaged over 2×2 blocks (over what an odd edge leaves).
#[cube(launch)]
pub(crate) fn subsample(
    from: &Array<f32>,
    to: &mut Array<f32>,
    width: usize,
    height: usize,
    out_width: usize,
    out_height: usize,
) {
    let i = ABSOLUTE_POS;
    let n = out_width * out_height;
    if i < 3 * n {
        let c = i / n;
        let ox = (i % n) % out_width;
        let oy = (i % n) / out_width;
        let base = c * width * height;
        let (x0, y0) = (2 * ox, 2 * oy);
        let x1 = min(x0 + 1, width - 1);
        let y1 = min(y0 + 1, height - 1);
        let mut sum = from[base + y0 * width + x0];
        let mut count = 1.0f32;
        if x1 != x0 {
            sum += from[base + y0 * width + x1];
            count += 1.0f32;
        }
        if y1 != y0 {
            sum += from[base + y1 * width + x0];
            count += 1.0f32;
            if x1 != x0 {
                sum += from[base + y1 * width + x1];
                count += 1.0f32;
            }
        }
        to[i] = sum * (1.0f32 / count);
    }
}

/// Mixes the half-resolution map into the full one: `d·(1 − 0.3·w) + w·half`.
#[cube(launch)]
pub(crate) fn supersample(
    half: &Array<f32>,
    full: &mut Array<f32>,
    weight: f32,
    width: usize,
    height: usize,
    half_width: usize,
    half_height: usize,
) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let x = min((i % width) / 2, half_width - 1);
        let y = min((i / width) / 2, half_height - 1);
        let blend = 1.0f32 - 0.3f32 * weight;
        full[i] = fma(full[i], blend, weight * half[y * half_width + x]);
    }
}
