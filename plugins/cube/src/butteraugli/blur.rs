//! butteraugli's Gaussian blurs: separable, a truncated kernel of radius `⌊2.25·σ⌋`.
//!
//! Two border rules, as libjxl uses them: kernels wider than 5 taps drop the samples outside
//! the image and divide by the weights that remain (so a constant image stays constant up to
//! its edge); the 5-tap kernel (σ = 1.2 of the opsin dynamics) mirrors the image about its
//! edges instead (`−1 → 0`, `w → w − 1`) with the whole kernel's weights.

use cubecl::{prelude::*, server::Handle};

use crate::grid::cubes_for_units;

/// Units per cube of the blur passes.
const UNITS: usize = 256;

/// The kernel half-width for `sigma`, as libjxl truncates it.
pub(crate) fn radius(sigma: f32) -> usize {
    (2.25 * sigma.abs()).max(1.0) as usize
}

/// The unnormalised weights `exp(−i² / 2σ²)` for `i = −r..=r`, in `f32` as libjxl computes
/// them.
pub(crate) fn weights(sigma: f32) -> Vec<f32> {
    let r = radius(sigma) as i32;
    let scaler = -1.0 / (2.0 * sigma * sigma);
    (-r..=r).map(|i| (scaler * (i * i) as f32).exp()).collect()
}

/// Sample `x + d` of a line of `n` samples mirrored about its ends (`d` in `−2..=2`).
#[cube]
fn mirror(x: usize, d: i32, n: usize) -> usize {
    let p = x as i32 + d;
    let mut m = p;
    if p < 0 {
        m = -p - 1;
    }
    if p >= n as i32 {
        m = 2 * n as i32 - 1 - p;
    }
    // A line of one sample mirrors onto itself.
    u32::cast_from(clamp(m, 0, n as i32 - 1)) as usize
}

/// One output of a 1-D pass: sample `i` of a line whose samples are `step` apart starting at
/// `base`, `n` long, at position `x` on it. `k` holds the `2r + 1` raw weights, then the
/// same normalised: a pixel whose whole kernel lies on the line (almost all) takes the
/// normalised ones in one unrolled loop; one near an end renormalises what remains (or,
/// `mirrored`, reflects the line).
#[cube]
#[allow(clippy::too_many_arguments)]
fn convolve(
    input: &Array<f32>,
    k: &Array<f32>,
    base: usize,
    step: usize,
    x: usize,
    n: usize,
    #[comptime] r: usize,
    #[comptime] mirrored: bool,
) -> f32 {
    let taps = comptime![2 * r + 1];
    let mut sum = 0.0f32;
    if x >= r && x + r < n {
        let first = base + (x - r) * step;
        #[unroll]
        for j in 0..taps {
            sum += input[first + j * step] * k[taps + j];
        }
    } else if comptime![mirrored] {
        #[unroll]
        for j in 0..taps {
            let at = mirror(x, j as i32 - r as i32, n);
            sum += input[base + at * step] * k[taps + j];
        }
    } else {
        let first = x - min(x, r);
        let last = min(x + r, n - 1);
        let mut weight = 0.0f32;
        for at in first..last + 1 {
            let w = k[at + r - x];
            sum += input[base + at * step] * w;
            weight += w;
        }
        sum /= weight;
    }
    sum
}

/// Horizontal pass over `planes` planes of `width × height`: one unit per sample.
#[cube(launch)]
fn blur_rows(
    input: &Array<f32>,
    output: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    samples: usize,
    #[comptime] r: usize,
    #[comptime] mirrored: bool,
) {
    let i = ABSOLUTE_POS;
    if i < samples {
        let x = i % width;
        output[i] = convolve(input, k, i - x, 1usize, x, width, r, mirrored);
    }
}

/// Vertical pass over `planes` planes of `width × height`: one unit per sample.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn blur_columns(
    input: &Array<f32>,
    output: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    height: usize,
    samples: usize,
    #[comptime] r: usize,
    #[comptime] mirrored: bool,
) {
    let i = ABSOLUTE_POS;
    if i < samples {
        let plane = width * height;
        let x = i % width;
        let y = (i % plane) / width;
        let base = i - (i % plane) + x;
        output[i] = convolve(input, k, base, width, y, height, r, mirrored);
    }
}

/// A blur with its weights on the device.
#[derive(Debug, Clone)]
pub(crate) struct Blur {
    weights: Handle,
    taps: usize,
    mirrored: bool,
}

impl Blur {
    /// libjxl's blur for `sigma` (mirrored when its kernel has 5 taps): the raw weights,
    /// then the same normalised, as [`convolve`] reads them.
    pub(crate) fn new<R: Runtime>(client: &ComputeClient<R>, sigma: f32) -> Self {
        let raw = weights(sigma);
        let scale = 1.0 / raw.iter().sum::<f32>();
        let both: Vec<f32> = raw
            .iter()
            .copied()
            .chain(raw.iter().map(|w| w * scale))
            .collect();
        Self {
            weights: crate::meter::upload(client, f32::as_bytes(&both)),
            taps: raw.len(),
            mirrored: raw.len() == 5,
        }
    }

    /// Blurs `planes` consecutive planes of `width × height` in `input` into a new buffer,
    /// through `tmp` (same size) for the horizontal pass.
    pub(crate) fn run<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        input: &Handle,
        tmp: &Handle,
        width: usize,
        height: usize,
        planes: usize,
    ) -> Handle {
        let samples = width * height * planes;
        let out = crate::meter::empty(client, samples * 4);
        let count = cubes_for_units(samples, UNITS);
        let dim = CubeDim::new_1d(UNITS as u32);
        // SAFETY: `input`, `tmp` and `out` hold `samples` f32, the weights `2 · taps`.
        unsafe {
            blur_rows::launch::<R>(
                client,
                count.clone(),
                dim,
                ArrayArg::from_raw_parts(input.clone(), samples),
                ArrayArg::from_raw_parts(tmp.clone(), samples),
                ArrayArg::from_raw_parts(self.weights.clone(), 2 * self.taps),
                width,
                samples,
                self.taps / 2,
                self.mirrored,
            );
            blur_columns::launch::<R>(
                client,
                count,
                dim,
                ArrayArg::from_raw_parts(tmp.clone(), samples),
                ArrayArg::from_raw_parts(out.clone(), samples),
                ArrayArg::from_raw_parts(self.weights.clone(), 2 * self.taps),
                width,
                height,
                samples,
                self.taps / 2,
                self.mirrored,
            );
        }
        out
    }
}
