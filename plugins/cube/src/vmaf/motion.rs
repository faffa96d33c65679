//! VMAF's `motion` on the device, bit for bit the CPU plugin's, in both libvmaf versions it
//! offers:
//!
//! - **2.3.1** (the default): each reference frame is blurred once by the 5-tap integer
//!   Gaussian (columns rounded and shifted by the bit depth, rows by 16, narrowed to 16 bits;
//!   v2.3.1's edges: `-i` reads `i`, `n − 1 + i` reads `n − i`), the blurred frame stays on
//!   the device for the next frame, and the motion is the SAD of two blurred frames.
//! - **3.2.0**: the difference `previous − current` is filtered (columns in 64 bits, rounded
//!   and shifted arithmetically by the depth, kept as `i32`; rows rounded and shifted by 16)
//!   and its absolute values summed. libvmaf sums a row in 32-bit unsigned arithmetic, which
//!   cannot wrap below 65,537 columns; [`difference_sad`] refuses wider frames.
//!
//! Per-cube sums are 64-bit integers, added on the host; the CPU plugin's tail
//! (`vmaf_parts::motion_value`, `motion_v3_value`) divides.

use cubecl::{prelude::*, server::Handle};
use qscore_cpu::vmaf_parts::{MOTION_FILTER, MetricError};

use super::arith::{PER_CUBE, PER_UNIT, UNITS, reduce_cube, reflect};
use super::luma::DeviceLuma;

/// Widest frame whose 3.2.0 row sums libvmaf keeps without wrapping.
pub const MAX_V3_WIDTH: usize = 65_536;

/// Index `i` of a line of `n` samples mirrored as libvmaf 2.3.1's motion does it.
#[cube]
fn mirror_v2(i: i32, n: i32) -> u32 {
    let mut m = i;
    if i < 0 {
        m = -i;
    } else if i >= n {
        m = 2 * n - 1 - i;
    }
    u32::cast_from(m)
}

const T0: u32 = MOTION_FILTER[0];
const T1: u32 = MOTION_FILTER[1];
const T2: u32 = MOTION_FILTER[2];

/// The filter over five samples centred on `c` (the taps are symmetric), in 32 bits: the
/// taps sum to 2¹⁶, so no sum of 16-bit samples overflows.
#[cube]
fn weighted(a: u32, b: u32, c: u32, d: u32, e: u32) -> u32 {
    T0 * (a + e) + T1 * (b + d) + T2 * c
}

/// The filter over five signed values centred on `c`, in 64 bits.
#[cube]
fn weighted64(a: i64, b: i64, c: i64, d: i64, e: i64) -> i64 {
    i64::cast_from(T0) * (a + e) + i64::cast_from(T1) * (b + d) + i64::cast_from(T2) * c
}

/// Index `p + offset` of a line of `n`, mirrored as 2.3.1 (`v2`) or 3.2.0 mirrors it.
#[cube]
fn tap_at(p: usize, offset: i32, n: usize, #[comptime] v2: bool) -> usize {
    let i = i32::cast_from(p) + offset;
    if comptime!(v2) {
        usize::cast_from(mirror_v2(i, i32::cast_from(n)))
    } else {
        usize::cast_from(reflect(i, i32::cast_from(n)))
    }
}

/// Column pass of the 2.3.1 blur: rounded, shifted by `bits`, narrowed to 16 bits.
#[cube(launch)]
fn blur_columns(luma: &Array<u32>, out: &mut Array<u32>, width: usize, height: usize, bits: u32) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let y = i / width;
        let x = i - y * width;
        let sum = weighted(
            luma[tap_at(y, -2i32, height, true) * width + x],
            luma[tap_at(y, -1i32, height, true) * width + x],
            luma[i],
            luma[tap_at(y, 1i32, height, true) * width + x],
            luma[tap_at(y, 2i32, height, true) * width + x],
        );
        out[i] = ((sum + (1u32 << (bits - 1))) >> bits) & 0xFFFFu32;
    }
}

/// Row pass of the 2.3.1 blur: rounded, shifted by 16, narrowed to 16 bits.
#[cube(launch)]
fn blur_rows(columns: &Array<u32>, out: &mut Array<u32>, width: usize, height: usize) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let y = i / width;
        let x = i - y * width;
        let row = y * width;
        let sum = weighted(
            columns[row + tap_at(x, -2i32, width, true)],
            columns[row + tap_at(x, -1i32, width, true)],
            columns[i],
            columns[row + tap_at(x, 1i32, width, true)],
            columns[row + tap_at(x, 2i32, width, true)],
        );
        out[i] = ((sum + (1u32 << 15u32)) >> 16u32) & 0xFFFFu32;
    }
}

/// Per-cube sums of `|a − b|`.
#[cube(launch)]
fn sad(a: &Array<u32>, b: &Array<u32>, partials: &mut Array<i64>, len: usize) {
    let mut shared = SharedMemory::<i64>::new(UNITS);
    let unit = UNIT_POS as usize;
    let base = CUBE_POS * PER_CUBE;
    let mut sum = 0i64;
    for j in 0..PER_UNIT {
        let i = base + j * UNITS + unit;
        if i < len {
            let (x, y) = (i64::cast_from(a[i]), i64::cast_from(b[i]));
            sum += max(x - y, y - x);
        }
    }
    shared[unit] = sum;
    reduce_cube(&mut shared, partials, 1usize);
}

/// Column pass of the 3.2.0 filtered difference: `previous − current` down the columns in 64
/// bits, rounded and shifted arithmetically by `bits`, as `i32`.
#[cube(launch)]
fn difference_columns(
    previous: &Array<u32>,
    current: &Array<u32>,
    out: &mut Array<i32>,
    width: usize,
    height: usize,
    bits: u32,
) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let y = i / width;
        let x = i - y * width;
        let a = tap_at(y, -2i32, height, false) * width + x;
        let b = tap_at(y, -1i32, height, false) * width + x;
        let d = tap_at(y, 1i32, height, false) * width + x;
        let e = tap_at(y, 2i32, height, false) * width + x;
        let sum = weighted64(
            i64::cast_from(previous[a]) - i64::cast_from(current[a]),
            i64::cast_from(previous[b]) - i64::cast_from(current[b]),
            i64::cast_from(previous[i]) - i64::cast_from(current[i]),
            i64::cast_from(previous[d]) - i64::cast_from(current[d]),
            i64::cast_from(previous[e]) - i64::cast_from(current[e]),
        );
        let round = 1i64 << i64::cast_from(bits - 1);
        out[i] = i32::cast_from((sum + round) >> i64::cast_from(bits));
    }
}

/// Row pass of the 3.2.0 filtered difference, its absolute values summed per cube.
#[cube(launch)]
fn difference_rows(columns: &Array<i32>, partials: &mut Array<i64>, width: usize, len: usize) {
    let mut shared = SharedMemory::<i64>::new(UNITS);
    let unit = UNIT_POS as usize;
    let base = CUBE_POS * PER_CUBE;
    let mut total = 0i64;
    for j in 0..PER_UNIT {
        let i = base + j * UNITS + unit;
        if i < len {
            let y = i / width;
            let x = i - y * width;
            let row = y * width;
            let sum = weighted64(
                i64::cast_from(columns[row + tap_at(x, -2i32, width, false)]),
                i64::cast_from(columns[row + tap_at(x, -1i32, width, false)]),
                i64::cast_from(columns[i]),
                i64::cast_from(columns[row + tap_at(x, 1i32, width, false)]),
                i64::cast_from(columns[row + tap_at(x, 2i32, width, false)]),
            );
            let v = i64::cast_from(i32::cast_from((sum + (1i64 << 15i64)) >> 16i64));
            total += max(v, -v);
        }
    }
    shared[unit] = total;
    reduce_cube(&mut shared, partials, 1usize);
}

/// A reference frame's luma blurred for 2.3.1's motion, kept on the device for the next frame.
#[derive(Debug)]
pub struct Blurred {
    width: usize,
    height: usize,
    data: Handle,
}

impl Blurred {
    /// `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The blurred samples, read back (for tests).
    pub fn read<R: Runtime>(&self, client: &ComputeClient<R>) -> Vec<u16> {
        let bytes = client
            .read_one(self.data.clone())
            .expect("reading a blurred frame");
        u32::from_bytes(&bytes).iter().map(|&v| v as u16).collect()
    }
}

/// Blurs a frame's luma as libvmaf 2.3.1's motion does.
pub fn blur<R: Runtime>(client: &ComputeClient<R>, luma: &DeviceLuma) -> Blurred {
    let (w, h, len) = (luma.width, luma.height, luma.len());
    let columns = crate::meter::empty(client, len * 4);
    let out = crate::meter::empty(client, len * 4);
    let cubes = crate::grid::cubes_for_units(len, UNITS);
    let dim = CubeDim::new_1d(UNITS as u32);
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        blur_columns::launch::<R>(
            client,
            cubes.clone(),
            dim,
            luma.arg(),
            ArrayArg::from_raw_parts(columns.clone(), len),
            w,
            h,
            luma.bits,
        );
        blur_rows::launch::<R>(
            client,
            cubes,
            dim,
            ArrayArg::from_raw_parts(columns, len),
            ArrayArg::from_raw_parts(out.clone(), len),
            w,
            h,
        );
    }
    Blurred {
        width: w,
        height: h,
        data: out,
    }
}

/// Reads the per-cube sums of several SADs back at once and adds each.
pub fn read_totals<R: Runtime>(client: &ComputeClient<R>, partials: Vec<Handle>) -> Vec<u64> {
    super::arith::read_sums::<R, 1>(client, partials)
        .into_iter()
        .map(|[total]| total as u64)
        .collect()
}

/// The SAD of two blurred frames (2.3.1).
pub fn blurred_sad<R: Runtime>(
    client: &ComputeClient<R>,
    previous: &Blurred,
    current: &Blurred,
) -> Result<u64, MetricError> {
    let partials = launch_blurred_sad(client, previous, current)?;
    Ok(read_totals(client, vec![partials])[0])
}

/// Launches the SAD of two blurred frames; returns its per-cube sums.
pub fn launch_blurred_sad<R: Runtime>(
    client: &ComputeClient<R>,
    previous: &Blurred,
    current: &Blurred,
) -> Result<Handle, MetricError> {
    if previous.size() != current.size() {
        return Err(MetricError::SizeMismatch {
            reference: previous.size(),
            distorted: current.size(),
        });
    }
    let len = current.width * current.height;
    let cubes = len.div_ceil(PER_CUBE);
    let partials = crate::meter::empty(client, cubes * 8);
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        sad::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(previous.data.clone(), len),
            ArrayArg::from_raw_parts(current.data.clone(), len),
            ArrayArg::from_raw_parts(partials.clone(), cubes),
            len,
        )
    };
    Ok(partials)
}

/// The filtered-difference SAD of `previous − current` (3.2.0).
pub fn difference_sad<R: Runtime>(
    client: &ComputeClient<R>,
    previous: &DeviceLuma,
    current: &DeviceLuma,
) -> Result<u64, MetricError> {
    let partials = launch_difference_sad(client, previous, current)?;
    Ok(read_totals(client, vec![partials])[0])
}

/// Launches the filtered-difference SAD of `previous − current`; returns its per-cube sums.
pub fn launch_difference_sad<R: Runtime>(
    client: &ComputeClient<R>,
    previous: &DeviceLuma,
    current: &DeviceLuma,
) -> Result<Handle, MetricError> {
    if previous.size() != current.size() {
        return Err(MetricError::SizeMismatch {
            reference: previous.size(),
            distorted: current.size(),
        });
    }
    let (w, h, len) = (current.width, current.height, current.len());
    if w > MAX_V3_WIDTH {
        return Err(MetricError::TooWide {
            width: w,
            max: MAX_V3_WIDTH,
        });
    }
    let columns = crate::meter::empty(client, len * 4);
    let cubes = len.div_ceil(PER_CUBE);
    let partials = crate::meter::empty(client, cubes * 8);
    let dim = CubeDim::new_1d(UNITS as u32);
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        difference_columns::launch::<R>(
            client,
            crate::grid::cubes_for_units(len, UNITS),
            dim,
            previous.arg(),
            current.arg(),
            ArrayArg::from_raw_parts(columns.clone(), len),
            w,
            h,
            current.bits,
        );
        difference_rows::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            dim,
            ArrayArg::from_raw_parts(columns, len),
            ArrayArg::from_raw_parts(partials.clone(), cubes),
            w,
            len,
        );
    }
    Ok(partials)
}
