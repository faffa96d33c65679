//! Deterministic sums of device arrays.
//!
//! Each cube adds a fixed slice of the input in a fixed tree order and writes one partial
//! sum; the host adds the partials in index order in `f64`. Nothing depends on which cube
//! runs first, so a metric gives the same bits on every run (no float atomics).

use cubecl::{prelude::*, server::Handle};

/// Units per cube of the partial-sum kernel (a power of two).
pub(crate) const UNITS: usize = 256;
/// Halvings from `UNITS` to one.
pub(crate) const LEVELS: usize = 8;
/// Elements each unit adds before the tree reduction.
pub(crate) const PER_UNIT: usize = 16;
/// Elements covered by one partial sum.
pub(crate) const PER_CUBE: usize = UNITS * PER_UNIT;

/// What each element contributes to a partial sum.
const PLAIN: u32 = 0;
const FOURTH: u32 = 1;
const SQUARED_DIFFERENCE: u32 = 2;

/// Writes into `partials[CUBE_POS]` the sum over `i` in `CUBE_POS * PER_CUBE ..][.. PER_CUBE]`
/// of `input[i]`, `input[i]^4` or `(input[i] - other[i])^2`, as `op` says.
#[cube(launch)]
pub(crate) fn partial_sums(
    input: &Array<f32>,
    other: &Array<f32>,
    partials: &mut Array<f32>,
    len: usize,
    #[comptime] op: u32,
) {
    let mut shared = SharedMemory::<f32>::new(UNITS);
    let unit = UNIT_POS as usize;
    let cube = CUBE_POS;
    let base = cube * PER_CUBE;
    let mut acc = 0.0f32;
    for i in 0..PER_UNIT {
        let index = base + i * UNITS + unit;
        if index < len {
            let v = input[index];
            if comptime!(op == FOURTH) {
                let v2 = v * v;
                acc += v2 * v2;
            } else if comptime!(op == SQUARED_DIFFERENCE) {
                let d = v - other[index];
                acc += d * d;
            } else {
                acc += v;
            }
        }
    }
    shared[unit] = acc;
    sync_cube();
    #[unroll]
    for level in 0..LEVELS {
        let stride = UNITS >> (level + 1);
        if unit < stride {
            shared[unit] = shared[unit] + shared[unit + stride];
        }
        sync_cube();
    }
    if unit == 0 && cube < partials.len() {
        partials[cube] = shared[0];
    }
}

/// Number of partial sums for `len` elements.
pub(crate) fn partial_count(len: usize) -> usize {
    len.div_ceil(PER_CUBE).max(1)
}

/// Launches the partial sums of `len` f32 elements of `input` (or of their fourth powers)
/// and returns the device array of partials, to be finished with [`finish`].
pub(crate) fn launch_partials<R: Runtime>(
    client: &ComputeClient<R>,
    input: &Handle,
    len: usize,
    fourth: bool,
) -> (Handle, usize) {
    launch_op(
        client,
        input,
        input,
        len,
        if fourth { FOURTH } else { PLAIN },
    )
}

/// Launches the partial sums of `(a[i] - b[i])^2` over the first `len` elements.
pub(crate) fn launch_squared_difference<R: Runtime>(
    client: &ComputeClient<R>,
    a: &Handle,
    b: &Handle,
    len: usize,
) -> (Handle, usize) {
    launch_op(client, a, b, len, SQUARED_DIFFERENCE)
}

fn launch_op<R: Runtime>(
    client: &ComputeClient<R>,
    input: &Handle,
    other: &Handle,
    len: usize,
    op: u32,
) -> (Handle, usize) {
    let count = partial_count(len);
    let partials = crate::meter::empty(client, count * size_of::<f32>());
    // SAFETY: `input` and `other` hold at least `len` f32 and `partials` exactly `count`.
    unsafe {
        partial_sums::launch::<R>(
            client,
            crate::grid::cubes(count),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(input.clone(), len),
            ArrayArg::from_raw_parts(other.clone(), len),
            ArrayArg::from_raw_parts(partials.clone(), count),
            len,
            op,
        )
    };
    (partials, count)
}

/// Reads partial sums back and adds them in index order, in `f64`.
pub(crate) fn finish<R: Runtime>(client: &ComputeClient<R>, partials: Handle, count: usize) -> f64 {
    let bytes = client.read_one(partials).expect("read partial sums");
    f32::from_bytes(&bytes)[..count]
        .iter()
        .map(|&v| f64::from(v))
        .sum()
}

/// Reads several arrays of partial sums in one transfer and finishes each.
pub(crate) fn finish_all<R: Runtime>(
    client: &ComputeClient<R>,
    partials: Vec<(Handle, usize)>,
) -> Vec<f64> {
    let counts: Vec<usize> = partials.iter().map(|(_, c)| *c).collect();
    let bytes = client.read(partials.into_iter().map(|(h, _)| h).collect());
    bytes
        .iter()
        .zip(counts)
        .map(|(b, count)| {
            f32::from_bytes(b)[..count]
                .iter()
                .map(|&v| f64::from(v))
                .sum()
        })
        .collect()
}

/// Sum of the first `len` f32 elements of `input`.
pub fn sum<R: Runtime>(client: &ComputeClient<R>, input: &Handle, len: usize) -> f64 {
    let (partials, count) = launch_partials(client, input, len, false);
    finish(client, partials, count)
}

/// Sum of the fourth powers of the first `len` f32 elements of `input`.
pub fn sum_fourth<R: Runtime>(client: &ComputeClient<R>, input: &Handle, len: usize) -> f64 {
    let (partials, count) = launch_partials(client, input, len, true);
    finish(client, partials, count)
}
