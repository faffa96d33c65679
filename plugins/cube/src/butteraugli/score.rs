//! The two scores of a difference map: its maximum, and libjxl's 3-norm, the mean of the
//! 3-, 6- and 12-power means (`ComputeDistanceP` with p = 3).
//!
//! `d¹²` leaves `f32`'s range from d ≈ 1550 (white against black at a 10 000-nit intensity
//! target scores 1167, and a sum of 4096 such pixels overflows), so the powers are taken of
//! `d / max`: a first pass finds the slice's maximum (per-cube maxima, then one cube over
//! those), a second sums `(d/max)³`, `(d/max)⁶`, `(d/max)¹²` per cube in a fixed tree order,
//! and the host scales the sums back and adds them in `f64`. No float atomics: a map scores
//! the same bits on every run.

// Kernel code divides by hand: cubecl's expansion has no `usize::div_ceil`.
#![allow(clippy::manual_div_ceil)]

use cubecl::{prelude::*, server::Handle};
use qscore_core::Error;

use crate::reduce::{LEVELS, PER_CUBE, PER_UNIT, UNITS};

/// Sums per cube: Σ(d/max)³, Σ(d/max)⁶, Σ(d/max)¹².
const SUMS: usize = 3;

/// Writes each cube's maximum of `map[start ..][.. len]` to `out[CUBE_POS]`.
#[cube(launch)]
fn maxima(map: &Array<f32>, out: &mut Array<f32>, start: usize, len: usize) {
    let mut shared = SharedMemory::<f32>::new(UNITS);
    let unit = UNIT_POS as usize;
    let mut top = 0.0f32;
    for j in 0..PER_UNIT {
        let i = CUBE_POS * PER_CUBE + j * UNITS + unit;
        if i < len {
            top = max(top, map[start + i]);
        }
    }
    shared[unit] = top;
    tree_max(&mut shared, unit);
    if unit == 0 {
        out[CUBE_POS] = shared[0];
    }
}

/// Reduces `shared[..UNITS]` to its maximum in `shared[0]`.
#[cube]
fn tree_max(shared: &mut SharedMemory<f32>, unit: usize) {
    sync_cube();
    #[unroll]
    for level in 0..LEVELS {
        let stride = UNITS >> (level + 1);
        if unit < stride {
            shared[unit] = max(shared[unit], shared[unit + stride]);
        }
        sync_cube();
    }
}

/// One cube: the maximum of `maxima[..count]` into `top[0]`.
#[cube(launch)]
fn overall(maxima: &Array<f32>, top: &mut Array<f32>, count: usize) {
    let mut shared = SharedMemory::<f32>::new(UNITS);
    let unit = UNIT_POS as usize;
    let mut m = 0.0f32;
    for i in 0..(count + UNITS - 1) / UNITS {
        let at = i * UNITS + unit;
        if at < count {
            m = max(m, maxima[at]);
        }
    }
    shared[unit] = m;
    tree_max(&mut shared, unit);
    if unit == 0 {
        top[0] = shared[0];
    }
}

/// Each cube's sums of the powers of `map[start ..][.. len] / top[0]`.
#[cube(launch)]
fn powers(map: &Array<f32>, top: &Array<f32>, out: &mut Array<f32>, start: usize, len: usize) {
    let mut shared = SharedMemory::<f32>::new(UNITS * SUMS);
    let unit = UNIT_POS as usize;
    let mut inv = 0.0f32;
    if top[0] > 0.0f32 {
        inv = 1.0f32 / top[0];
    }
    let mut p3 = 0.0f32;
    let mut p6 = 0.0f32;
    let mut p12 = 0.0f32;
    for j in 0..PER_UNIT {
        let i = CUBE_POS * PER_CUBE + j * UNITS + unit;
        if i < len {
            let d = map[start + i] * inv;
            let d3 = d * d * d;
            let d6 = d3 * d3;
            p3 += d3;
            p6 += d6;
            p12 += d6 * d6;
        }
    }
    shared[unit] = p3;
    shared[UNITS + unit] = p6;
    shared[2 * UNITS + unit] = p12;
    sync_cube();
    #[unroll]
    for level in 0..LEVELS {
        let stride = UNITS >> (level + 1);
        if unit < stride {
            for k in 0..SUMS {
                let at = k * UNITS + unit;
                shared[at] = shared[at] + shared[at + stride];
            }
        }
        sync_cube();
    }
    if unit == 0 {
        for k in 0..SUMS {
            out[CUBE_POS * SUMS + k] = shared[k * UNITS];
        }
    }
}

/// One slice's pending results: its maximum (one `f32`) and its cubes' power sums.
#[derive(Debug)]
pub(crate) struct Part {
    top: Handle,
    sums: Handle,
    cubes: usize,
}

fn cubes_for(len: usize) -> usize {
    len.div_ceil(PER_CUBE).max(1)
}

/// Bytes a slice of `len` samples keeps until [`finish`]: its maximum and power sums.
pub(crate) fn partial_bytes(len: usize) -> u64 {
    (4 + cubes_for(len) * SUMS * 4) as u64
}

/// Launches the scores of samples `start .. start + len` of a map; [`finish`] reads them.
pub(crate) fn launch<R: Runtime>(
    client: &ComputeClient<R>,
    map: &Handle,
    start: usize,
    len: usize,
) -> Part {
    let cubes = cubes_for(len);
    let per_cube = crate::meter::empty(client, cubes * 4);
    let top = crate::meter::empty(client, 4);
    let sums = crate::meter::empty(client, cubes * SUMS * 4);
    let dim = CubeDim::new_1d(UNITS as u32);
    // SAFETY: `map` holds `start + len` f32, the outputs one f32 per cube, one, and
    // `SUMS` per cube.
    unsafe {
        let map_arg = || ArrayArg::from_raw_parts(map.clone(), start + len);
        maxima::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            dim,
            map_arg(),
            ArrayArg::from_raw_parts(per_cube.clone(), cubes),
            start,
            len,
        );
        overall::launch::<R>(
            client,
            CubeCount::Static(1, 1, 1),
            dim,
            ArrayArg::from_raw_parts(per_cube, cubes),
            ArrayArg::from_raw_parts(top.clone(), 1),
            cubes,
        );
        powers::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            dim,
            map_arg(),
            ArrayArg::from_raw_parts(top.clone(), 1),
            ArrayArg::from_raw_parts(sums.clone(), cubes * SUMS),
            start,
            len,
        );
    }
    Part { top, sums, cubes }
}

/// Reads the parts of a map (slices of it, each launched by [`launch`]) in one transfer and
/// returns the maximum and the 3-norm of the `len` samples they cover.
pub(crate) fn finish<R: Runtime>(
    client: &ComputeClient<R>,
    parts: Vec<Part>,
    len: usize,
) -> Result<(f64, f64), Error> {
    let cubes: Vec<usize> = parts.iter().map(|p| p.cubes).collect();
    let handles = parts.into_iter().flat_map(|p| [p.top, p.sums]).collect();
    let bytes = cubecl::reader::read_sync(client.read_async(handles))
        .map_err(|e| Error::Internal(format!("reading butteraugli's partial scores: {e:?}")))?;
    let mut top = 0.0f64;
    let mut sums = [0.0f64; SUMS];
    for (pair, count) in bytes.chunks_exact(2).zip(cubes) {
        let t = f64::from(f32::from_bytes(&pair[0])[0]);
        top = top.max(t);
        let scale = [t.powi(3), t.powi(6), t.powi(12)];
        for cube in f32::from_bytes(&pair[1])[..count * SUMS].chunks_exact(SUMS) {
            for k in 0..SUMS {
                sums[k] += f64::from(cube[k]) * scale[k];
            }
        }
    }
    let inv = 1.0 / len as f64;
    let norm = (inv * sums[0]).powf(1.0 / 3.0)
        + (inv * sums[1]).powf(1.0 / 6.0)
        + (inv * sums[2]).powf(1.0 / 12.0);
    Ok((top, norm / 3.0))
}
