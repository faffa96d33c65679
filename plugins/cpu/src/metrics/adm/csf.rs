//! The contrast sensitivity weights: one per band orientation and scale, the reciprocal of the
//! wavelet quantisation step at which noise becomes visible (Watson, Yang, Solomon and
//! Villasenor, "Visibility of wavelet quantization noise", IEEE Trans. Image Processing 6(8),
//! 1997: formula (9), table IV's luma thresholds for observer "sfl", table V's basis function
//! amplitudes of the 7/9 biorthogonal wavelet).
//!
//! The step is evaluated with libvmaf's mix of precisions: the display resolution and the
//! exponent in single precision, the powers and the logarithm in double, the step rounded to
//! single precision and its reciprocal taken in single precision. The integer stages then use
//! that `f32` weight in fixed point (see [`ScaleWeights`]), while the reference's denominator
//! cubes it in double precision.

use super::AdmOptions;

/// Watson's luma threshold model: `a`, `k`, `f0` and the per-orientation gains `g`.
const A: f32 = 0.495;
const K: f32 = 0.466;
const F0: f32 = 0.401;
const G: [f32; 4] = [1.501, 1.0, 0.534, 1.0];

/// Basis function amplitudes `A[λ][θ]` for λ = 0 (finest) … 5, θ = ll, lh, hh, hl.
const AMPLITUDES: [[f32; 4]; 6] = [
    [0.62171, 0.67234, 0.72709, 0.67234],
    [0.34537, 0.41317, 0.49428, 0.41317],
    [0.18004, 0.22727, 0.28688, 0.22727],
    [0.091401, 0.11792, 0.15214, 0.11792],
    [0.045943, 0.059758, 0.077727, 0.059758],
    [0.023013, 0.030018, 0.039156, 0.030018],
];

/// Watson's orientation index of each ADM band (`h`, `v`, `d`): the two single-high-pass bands
/// share orientation 1, the diagonal band is orientation 2.
const ORIENTATION: [usize; 3] = [1, 1, 2];

/// The viewing geometry for which libvmaf uses hard-coded scale-0 fixed-point weights.
const DEFAULT_GEOMETRY: f64 = 3.0 * 1080.0;

/// The visibility threshold (quantisation step) of band orientation `theta` at scale `lambda`
/// (0 = finest), for a display seen at `view_dist` picture heights with `display_height` rows.
pub(super) fn quant_step(lambda: usize, theta: usize, view_dist: f64, display_height: u32) -> f32 {
    // Display resolution in pixels per degree of visual angle.
    let r = (view_dist * f64::from(display_height) * std::f64::consts::PI / 180.0) as f32;
    let freq = 2f64.powi(lambda as i32 + 1) * f64::from(F0) * f64::from(G[theta]) / f64::from(r);
    let temp = freq.log10() as f32;
    let exponent = K * temp * temp;
    let q =
        2.0 * f64::from(A) * 10f64.powf(f64::from(exponent)) / f64::from(AMPLITUDES[lambda][theta]);
    q as f32
}

/// The weights of one scale, for the bands `h`, `v`, `d`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScaleWeights {
    /// `1 / step` in single precision.
    pub(super) float: [f32; 3],
    /// The weight in fixed point. Scale 0 carries 21 fractional bits for `h` and `v` and 23 for
    /// `d` (16-bit values); scales 1–3 carry 32 fractional bits.
    pub(super) fixed: [u32; 3],
}

impl ScaleWeights {
    /// The weights of `scale` (0–3) for the viewing geometry in `options`.
    pub(super) fn new(scale: usize, options: &AdmOptions) -> Self {
        let float = ORIENTATION.map(|theta| {
            1.0 / quant_step(
                scale,
                theta,
                options.norm_view_dist,
                options.ref_display_height,
            )
        });
        let fixed = if scale > 0 {
            float.map(|w| (f64::from(w) * 2f64.powi(32)) as u32)
        } else if (options.norm_view_dist * f64::from(options.ref_display_height)
            - DEFAULT_GEOMETRY)
            .abs()
            < 1.0e-8
        {
            // libvmaf hard-codes these for 3 heights at 1080 rows.
            [36453, 36453, 49417]
        } else {
            let fraction_bits = [21, 21, 23];
            // libvmaf stores these in 16 bits; the geometries it accepts keep them below 2^16.
            std::array::from_fn(|i| {
                u32::from((f64::from(float[i]) * 2f64.powi(fraction_bits[i])) as u16)
            })
        };
        Self { float, fixed }
    }

    /// The cube of each float weight, in double precision (libvmaf's `pow(w, 3)`), by which
    /// the denominator's integer cube sums are multiplied.
    pub(super) fn cubed(&self) -> [f64; 3] {
        self.float.map(|w| f64::from(w).powf(3.0))
    }
}
