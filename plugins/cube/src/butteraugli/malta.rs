//! butteraugli's Malta filter: at each pixel, the squared sums of a scaled difference
//! image along 16 short lines through it (libjxl's `MaltaDiffMap` and `MaltaDiffMapLF`),
//! zero outside the image.

// Kernel code divides by hand: cubecl's expansion has no `usize::div_ceil`.
#![allow(clippy::manual_div_ceil)]
// libjxl's constants are written as published, with more digits than an `f32` holds.
#![allow(clippy::excessive_precision)]

use cubecl::prelude::*;

use super::Planes;
use crate::grid::cubes;

/// Lines per pixel.
const LINES: usize = 16;

/// Near-vertical and near-horizontal 9-sample lines, which libjxl counts twice.
const STEEP_LEFT: &[(i32, i32)] = &[
    (1, -4),
    (1, -3),
    (1, -2),
    (0, -1),
    (0, 0),
    (0, 1),
    (-1, 2),
    (-1, 3),
    (-1, 4),
];
const STEEP_RIGHT: &[(i32, i32)] = &[
    (-1, -4),
    (-1, -3),
    (-1, -2),
    (0, -1),
    (0, 0),
    (0, 1),
    (1, 2),
    (1, 3),
    (1, 4),
];
const FLAT_DOWN: &[(i32, i32)] = &[
    (-4, -1),
    (-3, -1),
    (-2, -1),
    (-1, 0),
    (0, 0),
    (1, 0),
    (2, 1),
    (3, 1),
    (4, 1),
];
const FLAT_UP: &[(i32, i32)] = &[
    (-4, 1),
    (-3, 1),
    (-2, 1),
    (-1, 0),
    (0, 0),
    (1, 0),
    (2, -1),
    (3, -1),
    (4, -1),
];

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
    STEEP_LEFT,
    STEEP_RIGHT,
    FLAT_DOWN,
    FLAT_UP,
    &[(-2, -3), (-1, -2), (-1, -1), (0, 0), (1, 1), (1, 2), (2, 3)],
    &[(2, -3), (1, -2), (1, -1), (0, 0), (-1, 1), (-1, 2), (-2, 3)],
    &[(-3, -2), (-2, -1), (-1, -1), (0, 0), (1, 1), (2, 1), (3, 2)],
    &[(3, -2), (2, -1), (1, -1), (0, 0), (-1, 1), (-2, 1), (-3, 2)],
    FLAT_UP,
    FLAT_DOWN,
    STEEP_RIGHT,
    STEEP_LEFT,
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

/// Output pixels per side of a cube's tile.
const TILE: usize = 16;
/// Samples per side of the tile with the lines' reach (4) on every side.
const SPAN: usize = TILE + 8;

/// The difference of `v0` (reference) and `v1` (distorted) scaled by their magnitude, plus
/// the penalty where `v1` falls outside `[0.55, 1.05]·|v0|` on `v0`'s side.
#[cube]
fn scaled_diff(v0: f32, v1: f32, gt: f32, lt: f32, norm1: f32) -> f32 {
    let inv = 1.0f32 / (norm1 + 0.5f32 * (v0.abs() + v1.abs()));
    let mut sign = 1.0f32;
    if v0 < 0.0f32 {
        sign = -1.0f32;
    }
    let sv1 = v1 * sign;
    let below = max(0.55f32 * v0.abs() - sv1, 0.0f32);
    let above = max(sv1 - 1.05f32 * v0.abs(), 0.0f32);
    gt * inv * (v0 - v1) + sign * (lt * inv * (below - above))
}

/// Sample `j` of line `p` around the tile position `at` (0 past the line's end).
#[cube]
fn tap(
    tile: &SharedMemory<f32>,
    at: usize,
    #[comptime] five: bool,
    #[comptime] p: usize,
    #[comptime] j: usize,
) -> f32 {
    let mut v = 0.0f32;
    if comptime![
        j < if five {
            LINES_5[p].len()
        } else {
            LINES_9[p].len()
        }
    ] {
        let offset = comptime! {
            let (dx, dy) = if five { LINES_5[p][j] } else { LINES_9[p][j] };
            dy * SPAN as i32 + dx
        };
        v = tile[(at as i32 + offset) as usize];
    }
    v
}

/// The squared sum along line `p` around `at`.
#[cube]
fn line(tile: &SharedMemory<f32>, at: usize, #[comptime] five: bool, #[comptime] p: usize) -> f32 {
    let s = tap(tile, at, five, p, 0usize)
        + tap(tile, at, five, p, 1usize)
        + tap(tile, at, five, p, 2usize)
        + tap(tile, at, five, p, 3usize)
        + tap(tile, at, five, p, 4usize)
        + tap(tile, at, five, p, 5usize)
        + tap(tile, at, five, p, 6usize)
        + tap(tile, at, five, p, 7usize)
        + tap(tile, at, five, p, 8usize);
    s * s
}

/// The sum of the 16 lines' squared sums around `at`.
#[cube]
fn lines(tile: &SharedMemory<f32>, at: usize, #[comptime] five: bool) -> f32 {
    line(tile, at, five, 0usize)
        + line(tile, at, five, 1usize)
        + line(tile, at, five, 2usize)
        + line(tile, at, five, 3usize)
        + line(tile, at, five, 4usize)
        + line(tile, at, five, 5usize)
        + line(tile, at, five, 6usize)
        + line(tile, at, five, 7usize)
        + line(tile, at, five, 8usize)
        + line(tile, at, five, 9usize)
        + line(tile, at, five, 10usize)
        + line(tile, at, five, 11usize)
        + line(tile, at, five, 12usize)
        + line(tile, at, five, 13usize)
        + line(tile, at, five, 14usize)
        + line(tile, at, five, 15usize)
}

/// Plane `at / (width·height)` of `acc` plus (or, with `first`, set to) the Malta sums of
/// the scaled difference of the same plane of `a` (reference) and `b`: each cube computes a
/// tile of scaled differences (zero outside the image) into shared memory once, then every
/// unit adds its pixel's 16 lines from there.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn malta(
    a: &Array<f32>,
    b: &Array<f32>,
    acc: &mut Array<f32>,
    at: usize,
    gt: f32,
    lt: f32,
    norm1: f32,
    width: usize,
    height: usize,
    first: u32,
    #[comptime] five: bool,
) {
    let mut tile = SharedMemory::<f32>::new(SPAN * SPAN);
    let tiles_x = (width + TILE - 1) / TILE;
    let x0 = (CUBE_POS % tiles_x) * TILE;
    let y0 = (CUBE_POS / tiles_x) * TILE;
    let unit = UNIT_POS as usize;
    for k in 0..(SPAN * SPAN + TILE * TILE - 1) / (TILE * TILE) {
        let t = k * TILE * TILE + unit;
        if t < SPAN * SPAN {
            // Tile sample t lies 4 columns and rows before the tile's own pixels.
            let sx = x0 + t % SPAN;
            let sy = y0 + t / SPAN;
            let mut v = 0.0f32;
            if sx >= 4 && sy >= 4 && sx - 4 < width && sy - 4 < height {
                let i = at + (sy - 4) * width + sx - 4;
                v = scaled_diff(a[i], b[i], gt, lt, norm1);
            }
            tile[t] = v;
        }
    }
    sync_cube();
    let x = x0 + unit % TILE;
    let y = y0 + unit / TILE;
    if x < width && y < height {
        let total = lines(&tile, (unit / TILE + 4) * SPAN + unit % TILE + 4, five);
        let i = at + y * width + x;
        if first == 1u32 {
            acc[i] = total;
        } else {
            acc[i] += total;
        }
    }
}

/// Adds (or, with `first`, writes) into plane `c` of `acc` the Malta difference of plane `c`
/// of `a` (reference) and of `b` (distorted).
pub(crate) fn diff<R: Runtime>(
    client: &ComputeClient<R>,
    (a, b, c): (&Planes, &Planes, usize),
    weights: Weights,
    acc: &Planes,
    first: bool,
) {
    let (width, height) = (a.width, a.height);
    let (gt, lt, norm1) = weights.factors();
    let count = width.div_ceil(TILE) * height.div_ceil(TILE);
    malta::launch::<R>(
        client,
        cubes(count),
        CubeDim::new_1d((TILE * TILE) as u32),
        a.arg(),
        b.arg(),
        acc.arg(),
        c * width * height,
        gt,
        lt,
        norm1,
        width,
        height,
        u32::from(first),
        weights.five,
    );
}
