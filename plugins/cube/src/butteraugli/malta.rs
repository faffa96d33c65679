//! butteraugli's Malta filter: at each pixel, the squared sums of a scaled difference
//! image along 16 short lines through it (libjxl's `MaltaDiffMap` and `MaltaDiffMapLF`),
//! zero outside the image.

// libjxl's constants are written as published, with more digits than an `f32` holds.
#![allow(clippy::excessive_precision)]

use cubecl::{prelude::*, server::Handle};

use super::Planes;
use crate::grid::cubes_for_units;

const UNITS: usize = 256;
/// Lines per pixel.
const LINES: usize = 16;
/// `i32` per line in the table: the sample count, then up to 9 `(dx, dy)` pairs.
const STRIDE: usize = 19;

/// The lines of the UHF filter: 9 (or, on diagonals, 7) neighbouring samples each.
const LINES_9: [&[(i32, i32)]; LINES] = [
    &[
        (-4, 0),
        (-3, 0),
        (-2, 0),
        (-1, 0),
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 0),
        (4, 0),
    ],
    &[
        (0, -4),
        (0, -3),
        (0, -2),
        (0, -1),
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (0, 4),
    ],
    &[(-3, -3), (-2, -2), (-1, -1), (0, 0), (1, 1), (2, 2), (3, 3)],
    &[(3, -3), (2, -2), (1, -1), (0, 0), (-1, 1), (-2, 2), (-3, 3)],
    &[
        (1, -4),
        (1, -3),
        (1, -2),
        (0, -1),
        (0, 0),
        (0, 1),
        (-1, 2),
        (-1, 3),
        (-1, 4),
    ],
    &[
        (-1, -4),
        (-1, -3),
        (-1, -2),
        (0, -1),
        (0, 0),
        (0, 1),
        (1, 2),
        (1, 3),
        (1, 4),
    ],
    &[
        (-4, -1),
        (-3, -1),
        (-2, -1),
        (-1, 0),
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 1),
        (4, 1),
    ],
    &[
        (-4, 1),
        (-3, 1),
        (-2, 1),
        (-1, 0),
        (0, 0),
        (1, 0),
        (2, -1),
        (3, -1),
        (4, -1),
    ],
    &[(-2, -3), (-1, -2), (-1, -1), (0, 0), (1, 1), (1, 2), (2, 3)],
    &[(2, -3), (1, -2), (1, -1), (0, 0), (-1, 1), (-1, 2), (-2, 3)],
    &[(-3, -2), (-2, -1), (-1, -1), (0, 0), (1, 1), (2, 1), (3, 2)],
    &[(3, -2), (2, -1), (1, -1), (0, 0), (-1, 1), (-2, 1), (-3, 2)],
    // libjxl counts the four near-axis lines twice.
    &[
        (-4, 1),
        (-3, 1),
        (-2, 1),
        (-1, 0),
        (0, 0),
        (1, 0),
        (2, -1),
        (3, -1),
        (4, -1),
    ],
    &[
        (-4, -1),
        (-3, -1),
        (-2, -1),
        (-1, 0),
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 1),
        (4, 1),
    ],
    &[
        (-1, -4),
        (-1, -3),
        (-1, -2),
        (0, -1),
        (0, 0),
        (0, 1),
        (1, 2),
        (1, 3),
        (1, 4),
    ],
    &[
        (1, -4),
        (1, -3),
        (1, -2),
        (0, -1),
        (0, 0),
        (0, 1),
        (-1, 2),
        (-1, 3),
        (-1, 4),
    ],
];

/// The lines of the HF and MF filter: 5 samples spread over the same 9×9 window.
const LINES_5: [&[(i32, i32)]; LINES] = [
    &[(-4, 0), (-2, 0), (0, 0), (2, 0), (4, 0)],
    &[(0, -4), (0, -2), (0, 0), (0, 2), (0, 4)],
    &[(-3, -3), (-2, -2), (0, 0), (2, 2), (3, 3)],
    &[(3, -3), (2, -2), (0, 0), (-2, 2), (-3, 3)],
    &[(1, -4), (1, -2), (0, 0), (-1, 2), (-1, 4)],
    &[(-1, -4), (-1, -2), (0, 0), (1, 2), (1, 4)],
    &[(-4, -1), (-2, -1), (0, 0), (2, 1), (4, 1)],
    &[(-4, 1), (-2, 1), (0, 0), (2, -1), (4, -1)],
    &[(-2, -3), (-1, -2), (0, 0), (1, 2), (2, 3)],
    &[(2, -3), (1, -2), (0, 0), (-1, 2), (-2, 3)],
    &[(-3, -2), (-2, -1), (0, 0), (2, 1), (3, 2)],
    &[(3, -2), (2, -1), (0, 0), (-2, 1), (-3, 2)],
    &[(-4, 2), (-2, 1), (0, 0), (2, -1), (4, -2)],
    &[(-4, -2), (-2, -1), (0, 0), (2, 1), (4, 2)],
    &[(-2, -4), (-1, -2), (0, 0), (1, 2), (2, 4)],
    &[(2, -4), (1, -2), (0, 0), (-1, 2), (-2, 4)],
];

/// Both filters' lines as the kernel reads them: 9-sample lines, then 5-sample lines.
pub(crate) fn table() -> Vec<i32> {
    let mut out = Vec::with_capacity(2 * LINES * STRIDE);
    for line in LINES_9.iter().chain(LINES_5.iter()) {
        let mut row = [0i32; STRIDE];
        row[0] = line.len() as i32;
        for (j, &(dx, dy)) in line.iter().enumerate() {
            row[1 + 2 * j] = dx;
            row[2 + 2 * j] = dy;
        }
        out.extend_from_slice(&row);
    }
    out
}

/// One band's weights: libjxl's `w_0gt1`, `w_0lt1` and `norm1`, with which 5- or 9-sample
/// lines it uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weights {
    pub(crate) w_0gt1: f64,
    pub(crate) w_0lt1: f64,
    pub(crate) norm1: f64,
    pub(crate) five: bool,
}

impl Weights {
    /// The scaled-difference factors: `norm2_0gt1`, `norm2_0lt1`, `norm1` in `f32`.
    fn factors(&self) -> (f32, f32, f32) {
        let mul = if self.five {
            0.611_612_573_796
        } else {
            0.399_058_176_37
        };
        // libjxl: each weight's square root spread over a line of 2·3.75 + 1 samples.
        let line = 3.75 * 2.0 + 1.0;
        let gt = mul * (0.5 * self.w_0gt1).sqrt() / line;
        let lt = mul * (0.33 * self.w_0lt1).sqrt() / line;
        (
            (gt * self.norm1) as f32,
            (lt * self.norm1) as f32,
            self.norm1 as f32,
        )
    }
}

/// The difference of `a` (reference) and `b` scaled by their magnitude, plus the penalty
/// where `b` falls outside `[0.55, 1.05]·|a|` on `a`'s side.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn scaled_diffs(
    a: &Array<f32>,
    b: &Array<f32>,
    a_at: usize,
    b_at: usize,
    out: &mut Array<f32>,
    gt: f32,
    lt: f32,
    norm1: f32,
    n: usize,
) {
    let i = ABSOLUTE_POS;
    if i < n {
        let (v0, v1) = (a[a_at + i], b[b_at + i]);
        let inv = 1.0f32 / (norm1 + 0.5f32 * (v0.abs() + v1.abs()));
        let mut sign = 1.0f32;
        if v0 < 0.0f32 {
            sign = -1.0f32;
        }
        let sv1 = v1 * sign;
        let below = max(0.55f32 * v0.abs() - sv1, 0.0f32);
        let above = max(sv1 - 1.05f32 * v0.abs(), 0.0f32);
        out[i] = gt * inv * (v0 - v1) + sign * (lt * inv * (below - above));
    }
}

/// `acc[i]` (or, with `first`, nothing) plus the Malta sum at pixel `i` of `d`, using the
/// lines at `table[offset ..]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn malta(
    d: &Array<f32>,
    table: &Array<i32>,
    acc: &mut Array<f32>,
    acc_at: usize,
    offset: usize,
    width: usize,
    height: usize,
    first: u32,
) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let x = (i % width) as i32;
        let y = (i / width) as i32;
        let mut total = 0.0f32;
        for line in 0..LINES {
            let base = offset + line * STRIDE;
            let count = table[base] as usize;
            let mut sum = 0.0f32;
            for j in 0..count {
                let sx = x + table[base + 1 + 2 * j];
                let sy = y + table[base + 2 + 2 * j];
                if sx >= 0 && sy >= 0 && sx < width as i32 && sy < height as i32 {
                    sum += d[sy as usize * width + sx as usize];
                }
            }
            total += sum * sum;
        }
        if first == 1u32 {
            acc[acc_at + i] = total;
        } else {
            acc[acc_at + i] += total;
        }
    }
}

/// Adds (or, with `first`, writes) into plane `c` of `acc` the Malta difference of plane `c`
/// of `a` (reference) and of `b` (distorted). `table` holds [`table`].
pub(crate) fn diff<R: Runtime>(
    client: &ComputeClient<R>,
    table: &Handle,
    (a, b, c): (&Planes, &Planes, usize),
    weights: Weights,
    acc: &Planes,
    first: bool,
) {
    let (width, height) = (a.width, a.height);
    let n = width * height;
    let at = c * n;
    let (gt, lt, norm1) = weights.factors();
    let scaled = crate::meter::empty(client, n * 4);
    let count = cubes_for_units(n, UNITS);
    let dim = CubeDim::new_1d(UNITS as u32);
    // SAFETY: `scaled` holds `n` f32, `table` both filters' lines; the planes' arguments
    // cover their buffers.
    unsafe {
        scaled_diffs::launch::<R>(
            client,
            count.clone(),
            dim,
            a.arg(),
            b.arg(),
            at,
            at,
            ArrayArg::from_raw_parts(scaled.clone(), n),
            gt,
            lt,
            norm1,
            n,
        );
        malta::launch::<R>(
            client,
            count,
            dim,
            ArrayArg::from_raw_parts(scaled, n),
            ArrayArg::from_raw_parts(table.clone(), 2 * LINES * STRIDE),
            acc.arg(),
            at,
            if weights.five { LINES * STRIDE } else { 0 },
            width,
            height,
            u32::from(first),
        );
    }
}
