//! butteraugli's opsin dynamics: linear RGB to its XYB, each pixel's sensitivity taken from
//! the image blurred with σ = 1.2 (libjxl's `OpsinDynamicsImage`).

// libjxl's constants are written as published, with more digits than an `f32` holds.
#![allow(clippy::excessive_precision)]

use cubecl::prelude::*;

use super::Planes;
use super::blur::Blur;
use crate::grid::cubes_for_units;

const UNITS: usize = 256;

/// The opsin absorbance mix (row per output channel: red, green, blue weights and a bias),
/// libjxl's `f64` values rounded to `f32` as the reference uses them.
const MIX: [f32; 12] = {
    const M: [f64; 12] = [
        0.299_565_503_400_583_19,
        0.633_730_878_338_259_36,
        0.077_705_617_820_981_968,
        1.755_748_364_328_735_3,
        0.221_586_911_045_747_74,
        0.693_913_880_441_161_42,
        0.098_731_358_842_2,
        1.755_748_364_328_735_3,
        0.02,
        0.02,
        0.204_801_290_410_261_29,
        12.226_454_707_163_354,
    ];
    let mut out = [0.0f32; 12];
    let mut i = 0;
    while i < 12 {
        out[i] = M[i] as f32;
        i += 1;
    }
    out
};
/// The floors of the three mixed channels.
const MIN_01: f32 = MIX[3];
const MIN_2: f32 = MIX[11];
/// The floor of the mixed values and of the sensitivities.
const MIN_VAL: f32 = 1e-4;
/// `FastLog2f`'s numerator and denominator coefficients, lowest power first.
const LOG_P: [f32; 3] = [
    -1.850_383_340_051_831e-6_f64 as f32,
    1.428_716_047_008_375_5_f64 as f32,
    0.742_458_733_278_205_66_f64 as f32,
];
const LOG_Q: [f32; 3] = [
    0.990_328_142_775_907_19_f64 as f32,
    1.009_671_857_224_114_8_f64 as f32,
    0.174_093_430_033_668_53_f64 as f32,
];
/// `Gamma`'s scale (19.245… / log2(e), in `f32` as the reference), offset and bias.
const GAMMA_MUL: f32 = 19.245_013_259_874_995_f64 as f32 * (1.0 / std::f32::consts::LOG2_E);
const GAMMA_ADD: f32 = -23.160_462_398_057_55_f64 as f32;
const GAMMA_BIAS: f32 = 9.971_063_576_929_914_5_f64 as f32;

/// libjxl's `FastLog2f` for `x` ≥ 2/3: a (2,2) rational approximation of `log2` on the
/// mantissa reduced to `[2/3, 4/3)`, plus the exponent.
#[cube]
fn fast_log2(x: f32) -> f32 {
    // x > 2/3, so the reduced exponent is not negative and the shift is arithmetic's.
    let e = (u32::reinterpret(x) - 0x3f2a_aaabu32) >> 23u32;
    let m = f32::reinterpret(u32::reinterpret(x) - (e << 23u32)) - 1.0f32;
    let num = (f32::new(LOG_P[2]) * m + f32::new(LOG_P[1])) * m + f32::new(LOG_P[0]);
    let den = (f32::new(LOG_Q[2]) * m + f32::new(LOG_Q[1])) * m + f32::new(LOG_Q[0]);
    num / den + f32::cast_from(e)
}

/// butteraugli's `Gamma`: `19.245·ln(v + 9.971) − 23.160`, the logarithm through [`fast_log2`].
#[cube]
fn gamma(v: f32) -> f32 {
    let biased = max(v, 0.0f32) + f32::new(GAMMA_BIAS);
    f32::new(GAMMA_MUL) * fast_log2(biased) + f32::new(GAMMA_ADD)
}

/// Mixed channel `c` of `(r, g, b)`.
#[cube]
fn mix(r: f32, g: f32, b: f32, #[comptime] c: usize) -> f32 {
    let m = comptime![[MIX[4 * c], MIX[4 * c + 1], MIX[4 * c + 2], MIX[4 * c + 3]]];
    f32::new(comptime![m[0]]) * r
        + f32::new(comptime![m[1]]) * g
        + f32::new(comptime![m[2]]) * b
        + f32::new(comptime![m[3]])
}

/// The sensitivity of mixed channel `c` at a pixel whose blurred value is `(r, g, b)`.
#[cube]
fn sensitivity(r: f32, g: f32, b: f32, #[comptime] c: usize) -> f32 {
    let floor = if comptime![c == 2] { MIN_2 } else { MIN_01 };
    let pre = max(max(mix(r, g, b, c), floor), MIN_VAL);
    max(gamma(pre) / pre, MIN_VAL)
}

#[cube(launch)]
fn opsin(rgb: &Array<f32>, blurred: &Array<f32>, xyb: &mut Array<f32>, intensity: f32, n: usize) {
    let i = ABSOLUTE_POS;
    if i < n {
        let sr = blurred[i] * intensity;
        let sg = blurred[n + i] * intensity;
        let sb = blurred[2 * n + i] * intensity;
        let (vr, vg, vb) = (
            rgb[i] * intensity,
            rgb[n + i] * intensity,
            rgb[2 * n + i] * intensity,
        );
        let c0 = max(
            mix(vr, vg, vb, 0usize) * sensitivity(sr, sg, sb, 0usize),
            MIN_01,
        );
        let c1 = max(
            mix(vr, vg, vb, 1usize) * sensitivity(sr, sg, sb, 1usize),
            MIN_01,
        );
        let c2 = max(
            mix(vr, vg, vb, 2usize) * sensitivity(sr, sg, sb, 2usize),
            MIN_2,
        );
        xyb[i] = c0 - c1;
        xyb[n + i] = c0 + c1;
        xyb[2 * n + i] = c2;
    }
}

/// butteraugli's XYB of three linear RGB planes (1.0 = `intensity` nits): planes X, Y, B.
pub(crate) fn xyb<R: Runtime>(
    client: &ComputeClient<R>,
    blur: &Blur,
    rgb: &Planes,
    intensity: f32,
) -> Planes {
    let n = rgb.width * rgb.height;
    let blurred = rgb.blurred(client, blur);
    let out = Planes::empty(client, rgb.width, rgb.height, 3);
    opsin::launch::<R>(
        client,
        cubes_for_units(n, UNITS),
        CubeDim::new_1d(UNITS as u32),
        rgb.arg(),
        blurred.arg(),
        out.arg(),
        intensity,
        n,
    );
    out
}
