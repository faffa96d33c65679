//! butteraugli's frequency bands (libjxl's `SeparateFrequencies`): the XYB image split by
//! three blurs into low (LF, in its "vals" space), medium (MF), high (HF, X and Y) and
//! ultra-high (UHF, X and Y) frequencies, each band's values compressed around zero or
//! clamped as libjxl does.

// libjxl's constants are written as published, with more digits than an `f32` holds.
#![allow(clippy::excessive_precision)]

use cubecl::prelude::*;

use super::Planes;
use super::blur::Blur;
use crate::grid::cubes_for_units;

const UNITS: usize = 256;

/// The blurs' σ: LF from XYB, MF from the rest, HF from that.
pub(crate) const SIGMA_LF: f32 = 7.155_933_394_43_f64 as f32;
pub(crate) const SIGMA_HF: f32 = 3.224_899_012_62_f64 as f32;
pub(crate) const SIGMA_UHF: f32 = 1.564_163_278_05_f64 as f32;

const REMOVE_MF_RANGE: f32 = 0.29;
const ADD_MF_RANGE: f32 = 0.1;
const REMOVE_HF_RANGE: f32 = 1.5;
const ADD_HF_RANGE: f32 = 0.132;
const REMOVE_UHF_RANGE: f32 = 0.04;
const MAXCLAMP_HF: f32 = 28.469_180_692_2_f64 as f32;
const MAXCLAMP_UHF: f32 = 5.191_752_946_47_f64 as f32;
const MUL_Y_HF: f32 = 2.155;
const MUL_Y_UHF: f32 = 2.693_137_637_94_f64 as f32;
/// How much of a value beyond a clamp survives.
const CLAMP_MUL: f32 = 0.724_216_146;
const XMUL_LF: f32 = 33.832_837_186_26_f64 as f32;
const YMUL_LF: f32 = 14.458_268_100_57_f64 as f32;
const BMUL_LF: f32 = 49.879_846_514_4_f64 as f32;
const Y_TO_B_LF: f32 = -0.362_267_051_518_f64 as f32;
const SUPPRESS_XY: f32 = 46.0;
const SUPPRESS_S: f32 = 0.653_020_556_257_f64 as f32;

/// `a` with the sign of `s`.
#[cube]
fn with_sign(a: f32, s: f32) -> f32 {
    if s < 0.0f32 { -a } else { a }
}

/// `v` moved towards zero by `range`, zero within it.
#[cube]
fn remove_range(v: f32, range: f32) -> f32 {
    with_sign(max(v.abs() - range, 0.0f32), v)
}

/// `v` moved away from zero by `range`, doubled within it.
#[cube]
fn amplify_range(v: f32, range: f32) -> f32 {
    v + with_sign(min(v.abs(), range), v)
}

/// `v` with what lies beyond `±limit` shrunk by [`CLAMP_MUL`].
#[cube]
fn soft_clamp(v: f32, limit: f32) -> f32 {
    let c = clamp(v, -limit, limit);
    fma(v - c, CLAMP_MUL, c)
}

/// LF and MF from XYB and its LF blur: `mf = xyb − blurred`, `lf` = blurred in "vals".
#[cube(launch)]
fn split_lf(
    xyb: &Array<f32>,
    blurred: &Array<f32>,
    lf: &mut Array<f32>,
    mf: &mut Array<f32>,
    n: usize,
) {
    let i = ABSOLUTE_POS;
    if i < n {
        for c in 0..3usize {
            mf[c * n + i] = xyb[c * n + i] - blurred[c * n + i];
        }
        let (x, y, b) = (blurred[i], blurred[n + i], blurred[2 * n + i]);
        lf[i] = x * XMUL_LF;
        lf[n + i] = y * YMUL_LF;
        lf[2 * n + i] = fma(Y_TO_B_LF, y, b) * BMUL_LF;
    }
}

/// MF and HF from MF and its HF blur, in place in `mf`: X and Y keep the blur with their
/// ranges removed or amplified and give the rest to HF, X's HF suppressed where Y's is
/// strong; B keeps the blur.
#[cube(launch)]
fn split_mf(mf: &mut Array<f32>, blurred: &Array<f32>, hf: &mut Array<f32>, n: usize) {
    let i = ABSOLUTE_POS;
    if i < n {
        let (bx, by) = (blurred[i], blurred[n + i]);
        let hf_y = mf[n + i] - by;
        let scaler = fma(
            SUPPRESS_XY / fma(hf_y, hf_y, SUPPRESS_XY),
            1.0f32 - SUPPRESS_S,
            SUPPRESS_S,
        );
        hf[i] = (mf[i] - bx) * scaler;
        hf[n + i] = hf_y;
        mf[i] = remove_range(bx, REMOVE_MF_RANGE);
        mf[n + i] = amplify_range(by, ADD_MF_RANGE);
        mf[2 * n + i] = blurred[2 * n + i];
    }
}

/// HF and UHF from HF and its UHF blur, in place in `hf`.
#[cube(launch)]
fn split_hf(hf: &mut Array<f32>, blurred: &Array<f32>, uhf: &mut Array<f32>, n: usize) {
    let i = ABSOLUTE_POS;
    if i < n {
        let bx = blurred[i];
        uhf[i] = remove_range(hf[i] - bx, REMOVE_UHF_RANGE);
        hf[i] = remove_range(bx, REMOVE_HF_RANGE);
        let hf_y = soft_clamp(blurred[n + i], MAXCLAMP_HF);
        uhf[n + i] = soft_clamp(hf[n + i] - hf_y, MAXCLAMP_UHF) * MUL_Y_UHF;
        hf[n + i] = amplify_range(hf_y * MUL_Y_HF, ADD_HF_RANGE);
    }
}

/// One image's frequency bands, each `width × height`.
#[derive(Debug)]
pub(crate) struct Bands {
    /// X, Y, B in "vals" space.
    pub(crate) lf: Planes,
    /// X, Y, B.
    pub(crate) mf: Planes,
    /// X, Y.
    pub(crate) hf: Planes,
    /// X, Y.
    pub(crate) uhf: Planes,
}

/// The three blurs of the split, set up once per device.
#[derive(Debug, Clone)]
pub(crate) struct Blurs {
    lf: Blur,
    hf: Blur,
    uhf: Blur,
}

impl Blurs {
    pub(crate) fn new<R: Runtime>(client: &ComputeClient<R>) -> Self {
        Self {
            lf: Blur::new(client, SIGMA_LF),
            hf: Blur::new(client, SIGMA_HF),
            uhf: Blur::new(client, SIGMA_UHF),
        }
    }
}

/// The frequency bands of an XYB image.
pub(crate) fn separate<R: Runtime>(
    client: &ComputeClient<R>,
    blurs: &Blurs,
    xyb: &Planes,
) -> Bands {
    let (w, h) = (xyb.width, xyb.height);
    let n = w * h;
    let launch = (cubes_for_units(n, UNITS), CubeDim::new_1d(UNITS as u32));
    let blurred = xyb.blurred(client, &blurs.lf);
    let lf = Planes::empty(client, w, h, 3);
    let mf = Planes::empty(client, w, h, 3);
    split_lf::launch::<R>(
        client,
        launch.0.clone(),
        launch.1,
        xyb.arg(),
        blurred.arg(),
        lf.arg(),
        mf.arg(),
        n,
    );
    drop(blurred);
    let blurred = mf.blurred(client, &blurs.hf);
    let hf = Planes::empty(client, w, h, 2);
    split_mf::launch::<R>(
        client,
        launch.0.clone(),
        launch.1,
        mf.arg(),
        blurred.arg(),
        hf.arg(),
        n,
    );
    drop(blurred);
    let blurred = hf.blurred(client, &blurs.uhf);
    let uhf = Planes::empty(client, w, h, 2);
    split_hf::launch::<R>(
        client,
        launch.0,
        launch.1,
        hf.arg(),
        blurred.arg(),
        uhf.arg(),
        n,
    );
    Bands { lf, mf, hf, uhf }
}
