//! The two scores of a difference map: its maximum, and libjxl's 3-norm, the mean of the
//! 3-, 6- and 12-power means (`ComputeDistanceP` with p = 3).
//!
//! One pass: each cube writes its slice's maximum and its sums of `d³`, `d⁶`, `d¹²` (a fixed
//! tree order in `f32`); the host adds the partials in `f64`, so a map scores the same bits
//! on every run.

use cubecl::{prelude::*, server::Handle};

use crate::reduce::{LEVELS, PER_CUBE, PER_UNIT, UNITS};

/// Values per cube: max, Σd³, Σd⁶, Σd¹².
const PER_PARTIAL: usize = 4;

#[cube(launch)]
fn partials(map: &Array<f32>, out: &mut Array<f32>, start: usize, len: usize) {
    let mut shared = SharedMemory::<f32>::new(UNITS * PER_PARTIAL);
    let unit = UNIT_POS as usize;
    let base = CUBE_POS * PER_CUBE;
    let mut top = 0.0f32;
    let mut p3 = 0.0f32;
    let mut p6 = 0.0f32;
    let mut p12 = 0.0f32;
    for j in 0..PER_UNIT {
        let i = base + j * UNITS + unit;
        if i < len {
            let d = map[start + i];
            top = max(top, d);
            let d3 = d * d * d;
            let d6 = d3 * d3;
            p3 += d3;
            p6 += d6;
            p12 += d6 * d6;
        }
    }
    shared[unit] = top;
    shared[UNITS + unit] = p3;
    shared[2 * UNITS + unit] = p6;
    shared[3 * UNITS + unit] = p12;
    sync_cube();
    #[unroll]
    for level in 0..LEVELS {
        let stride = UNITS >> (level + 1);
        if unit < stride {
            shared[unit] = max(shared[unit], shared[unit + stride]);
            for k in 1..PER_PARTIAL {
                let at = k * UNITS + unit;
                shared[at] = shared[at] + shared[at + stride];
            }
        }
        sync_cube();
    }
    if unit == 0 {
        for k in 0..PER_PARTIAL {
            out[CUBE_POS * PER_PARTIAL + k] = shared[k * UNITS];
        }
    }
}

/// Bytes of the partials of `len` samples.
pub(crate) fn partial_bytes(len: usize) -> u64 {
    (len.div_ceil(PER_CUBE).max(1) * PER_PARTIAL * 4) as u64
}

/// Launches the partials of samples `start .. start + len` of a map; [`finish`] turns them
/// into the scores.
pub(crate) fn launch<R: Runtime>(
    client: &ComputeClient<R>,
    map: &Handle,
    start: usize,
    len: usize,
) -> (Handle, usize) {
    let cubes = len.div_ceil(PER_CUBE).max(1);
    let out = crate::meter::empty(client, cubes * PER_PARTIAL * 4);
    // SAFETY: `map` holds `start + len` f32, `out` `PER_PARTIAL` per cube.
    unsafe {
        partials::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(map.clone(), start + len),
            ArrayArg::from_raw_parts(out.clone(), cubes * PER_PARTIAL),
            start,
            len,
        );
    }
    (out, cubes * PER_PARTIAL)
}

/// Reads the partials of a map's parts (each launched over a slice of it) in one transfer
/// and returns the maximum and the 3-norm of the `len` samples they cover.
pub(crate) fn finish<R: Runtime>(
    client: &ComputeClient<R>,
    parts: Vec<(Handle, usize)>,
    len: usize,
) -> Result<(f64, f64), qscore_core::Error> {
    let counts: Vec<usize> = parts.iter().map(|(_, n)| *n).collect();
    let handles = parts.into_iter().map(|(h, _)| h).collect();
    let bytes = cubecl::reader::read_sync(client.read_async(handles)).map_err(|e| {
        qscore_core::Error::Internal(format!("reading butteraugli's partial scores: {e:?}"))
    })?;
    let mut top = 0.0f64;
    let mut sums = [0.0f64; 3];
    for (b, count) in bytes.iter().zip(counts) {
        for p in f32::from_bytes(b)[..count].chunks_exact(PER_PARTIAL) {
            top = top.max(f64::from(p[0]));
            for (s, v) in sums.iter_mut().zip(&p[1..]) {
                *s += f64::from(*v);
            }
        }
    }
    let inv = 1.0 / len as f64;
    let norm = (inv * sums[0]).powf(1.0 / 3.0)
        + (inv * sums[1]).powf(1.0 / 6.0)
        + (inv * sums[2]).powf(1.0 / 12.0);
    Ok((top, norm / 3.0))
}
