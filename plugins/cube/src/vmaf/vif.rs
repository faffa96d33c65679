//! VMAF's VIF on the device, bit for bit the CPU plugin's integer VIF (libvmaf 2.3.1's
//! `integer_vif.c`): the same fixed-point filters, statistics and integer logarithms, with
//! the sums combined by the CPU plugin's own tail ([`VifSums::scores`]).
//!
//! Per scale, a column pass writes the column-filtered mean and second moments of every
//! pixel (rounded and narrowed exactly as the CPU's), and a row pass finishes the filter,
//! computes the pixel's statistics and adds them into per-cube integer sums, which the host
//! adds (integer sums do not depend on their order). The reference's pass also keeps its
//! mean and variance per pixel for every distorted frame compared with it. Between scales one
//! kernel low-passes and decimates, computing only the even outputs.
//!
//! The gain and the residual are double-precision, as on the CPU: devices without 64-bit
//! integers and floats in shaders cannot run VIF (see `engine::unsupported_reason`). Each
//! product that is then added to something passes through [`rounded`] so that no compiler
//! fuses it into a multiply-add, which would round once where the CPU rounds twice.

use cubecl::{prelude::*, server::Handle};
use qscore_cpu::vmaf_parts::{
    MetricError, VIF_EPS, VIF_MIN_SIDE, VIF_NOISE_VARIANCE, VIF_TAPS, VifDenSums, VifNumSums,
    VifSums, vif_log2_table,
};

use super::arith::{
    PER_CUBE, PER_UNIT, UNITS, normalise, product, read_sums, reduce_cube, reflect, round32,
    round64, rounded,
};
use super::luma::DeviceLuma;

/// Number of scales.
const SCALES: usize = 4;
/// The noise variance on the variances' scale.
const NOISE: i32 = VIF_NOISE_VARIANCE;
/// Sums per cube of the reference's statistics: log, exponent, log pixels, linear pixels.
const DEN_SUMS: usize = 4;
/// Sums per cube of the distorted image's statistics: log, exponent, linear variance.
const NUM_SUMS: usize = 3;

/// `(a · b + 2³¹) >> 32`: the product of two means, on the scale of the second moments.
#[cube]
fn mean_product(a: u32, b: u32) -> u32 {
    u32::cast_from((u64::cast_from(a) * u64::cast_from(b) + (1u64 << 31u64)) >> 32u64)
}

/// `moment − product`, wrapping in 32 bits and read as signed.
#[cube]
fn centred(moment: u32, product: u32) -> i32 {
    let mut d = i64::cast_from(moment) - i64::cast_from(product);
    if d >= (1i64 << 31i64) {
        d -= 1i64 << 32i64;
    }
    if d < -(1i64 << 31i64) {
        d += 1i64 << 32i64;
    }
    i32::cast_from(d)
}

/// Column pass at one pixel: the mean (rounded, shifted by `mean_shift`, narrowed to 16
/// bits) and second moments (rounded, shifted by `square_shift`, narrowed to 32 bits) of the
/// `2 · radius + 1` samples above and below, mirrored at the edges. With `pair`, of the
/// distorted image, plus the mean of the product of the two; else of the reference alone.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn columns(
    reference: &Array<u32>,
    distorted: &Array<u32>,
    taps: &Array<u32>,
    mean: &mut Array<u32>,
    square: &mut Array<u32>,
    cross: &mut Array<u32>,
    width: usize,
    height: usize,
    mean_shift: u32,
    square_shift: u32,
    #[comptime] radius: usize,
    #[comptime] pair: bool,
) {
    let i = ABSOLUTE_POS;
    if i < width * height {
        let y = i / width;
        let x = i - y * width;
        let mut sum = 0u32;
        let mut sum_sq = 0u64;
        let mut sum_x = 0u64;
        #[unroll]
        for k in 0..2 * radius + 1 {
            let yy = reflect(
                i32::cast_from(y + k) - i32::cast_from(radius),
                i32::cast_from(height),
            );
            let at = usize::cast_from(yy) * width + x;
            let t = taps[k];
            if comptime!(pair) {
                let d = distorted[at];
                sum += t * d;
                sum_sq += product(t, d, d);
                sum_x += product(t, d, reference[at]);
            } else {
                let r = reference[at];
                sum += t * r;
                sum_sq += product(t, r, r);
            }
        }
        mean[i] = round32(sum, mean_shift) & 0xFFFFu32;
        square[i] = round64(sum_sq, square_shift);
        if comptime!(pair) {
            cross[i] = round64(sum_x, square_shift);
        }
    }
}

/// Row pass of a mean at pixel `(x, row)`: unshifted.
#[cube]
fn row_mean(
    line: &Array<u32>,
    taps: &Array<u32>,
    row: usize,
    x: usize,
    width: usize,
    #[comptime] radius: usize,
) -> u32 {
    let mut sum = 0u32;
    #[unroll]
    for k in 0..2 * radius + 1 {
        let xx = reflect(
            i32::cast_from(x + k) - i32::cast_from(radius),
            i32::cast_from(width),
        );
        sum += taps[k] * line[row + usize::cast_from(xx)];
    }
    sum
}

/// Row pass of a second moment at pixel `(x, row)`: rounded and shifted by 16.
#[cube]
fn row_moment(
    line: &Array<u32>,
    taps: &Array<u32>,
    row: usize,
    x: usize,
    width: usize,
    #[comptime] radius: usize,
) -> u32 {
    let mut sum = 0u64;
    #[unroll]
    for k in 0..2 * radius + 1 {
        let xx = reflect(
            i32::cast_from(x + k) - i32::cast_from(radius),
            i32::cast_from(width),
        );
        sum += u64::cast_from(taps[k]) * u64::cast_from(line[row + usize::cast_from(xx)]);
    }
    round64(sum, 16u32)
}

/// Row pass of the reference: its mean and variance per pixel, stored, and the denominator's
/// sums per cube (`DEN_SUMS` per cube in `partials`).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn reference_stats(
    mean_c: &Array<u32>,
    square_c: &Array<u32>,
    taps: &Array<u32>,
    log2: &Array<u32>,
    ref_mean: &mut Array<u32>,
    ref_var: &mut Array<i32>,
    partials: &mut Array<i64>,
    width: usize,
    len: usize,
    #[comptime] radius: usize,
) {
    let mut shared = SharedMemory::<i64>::new(DEN_SUMS * UNITS);
    let unit = UNIT_POS as usize;
    let base = CUBE_POS * PER_CUBE;
    let mut log = 0i64;
    let mut exponent = 0i64;
    let mut log_pixels = 0i64;
    let mut linear_pixels = 0i64;
    for j in 0..PER_UNIT {
        let i = base + j * UNITS + unit;
        if i < len {
            let y = i / width;
            let x = i - y * width;
            let row = y * width;
            let mu = row_mean(mean_c, taps, row, x, width, radius);
            let sq = row_moment(square_c, taps, row, x, width, radius);
            let var = max(centred(sq, mean_product(mu, mu)), 0i32);
            ref_mean[i] = mu;
            ref_var[i] = var;
            if var >= NOISE {
                let (m, e) = normalise(u64::cast_from(var) + u64::cast_from(NOISE));
                log += i64::cast_from(log2[usize::cast_from(m & 0x7FFFu32)]);
                exponent += i64::cast_from(e);
                log_pixels += 1i64;
            } else {
                linear_pixels += 1i64;
            }
        }
    }
    shared[unit] = log;
    shared[UNITS + unit] = exponent;
    shared[2 * UNITS + unit] = log_pixels;
    shared[3 * UNITS + unit] = linear_pixels;
    reduce_cube(&mut shared, partials, DEN_SUMS);
}

/// Row pass of the distorted image against the prepared reference: the numerator's sums per
/// cube (`NUM_SUMS` per cube in `partials`). `zero` is 0, unknown to the compiler.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn distorted_stats(
    mean_c: &Array<u32>,
    square_c: &Array<u32>,
    cross_c: &Array<u32>,
    taps: &Array<u32>,
    log2: &Array<u32>,
    ref_mean: &Array<u32>,
    ref_var: &Array<i32>,
    partials: &mut Array<i64>,
    width: usize,
    len: usize,
    gain_limit: f64,
    eps: f64,
    zero: u64,
    #[comptime] radius: usize,
) {
    let mut shared = SharedMemory::<i64>::new(NUM_SUMS * UNITS);
    let unit = UNIT_POS as usize;
    let base = CUBE_POS * PER_CUBE;
    let mut log = 0i64;
    let mut exponent = 0i64;
    let mut linear_variance = 0i64;
    for j in 0..PER_UNIT {
        let i = base + j * UNITS + unit;
        if i < len {
            let y = i / width;
            let x = i - y * width;
            let row = y * width;
            let mu_y = row_mean(mean_c, taps, row, x, width, radius);
            let sq_y = row_moment(square_c, taps, row, x, width, radius);
            let cross = row_moment(cross_c, taps, row, x, width, radius);
            let var_y = max(centred(sq_y, mean_product(mu_y, mu_y)), 0i32);
            let var_x = ref_var[i];
            if var_x < NOISE {
                linear_variance += i64::cast_from(var_y);
            } else {
                let covariance = centred(cross, mean_product(ref_mean[i], mu_y));
                if covariance >= 0 {
                    let vx = f64::cast_from(var_x);
                    let cov = f64::cast_from(covariance);
                    let mut gain = 0.0f64;
                    let mut residual = 0u32;
                    if var_y != 0 {
                        gain = cov / (vx + eps);
                        let r = f64::cast_from(var_y) - rounded(gain * cov, zero);
                        // Truncated towards zero; a negative residual becomes 0.
                        if r > 0.0 {
                            residual = u32::cast_from(i32::cast_from(r));
                        }
                    }
                    // The limit is a number (the session checks it), so this is the CPU's
                    // `if gain < limit { gain } else { limit }`.
                    if gain >= gain_limit {
                        gain = gain_limit;
                    }
                    let base_v = residual + u32::cast_from(NOISE);
                    let g2 = rounded(gain * gain, zero);
                    let total = i64::cast_from(rounded(g2 * vx, zero)) + i64::cast_from(base_v);
                    let (mt, et) = normalise(u64::cast_from(total));
                    let (mb, eb) = normalise(u64::cast_from(base_v));
                    log += i64::cast_from(log2[usize::cast_from(mt & 0x7FFFu32)])
                        - i64::cast_from(log2[usize::cast_from(mb & 0x7FFFu32)]);
                    exponent += i64::cast_from(et - eb);
                }
            }
        }
    }
    shared[unit] = log;
    shared[UNITS + unit] = exponent;
    shared[2 * UNITS + unit] = linear_variance;
    reduce_cube(&mut shared, partials, NUM_SUMS);
}

/// The next scale's image: `image` low-passed with the next scale's taps (the column pass
/// rounded and shifted by `shift`, narrowed to 16 bits; the row pass by 16) at its even rows
/// and columns only.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn decimate(
    image: &Array<u32>,
    taps: &Array<u32>,
    out: &mut Array<u32>,
    width: usize,
    height: usize,
    out_width: usize,
    out_len: usize,
    shift: u32,
    #[comptime] radius: usize,
) {
    let i = ABSOLUTE_POS;
    if i < out_len {
        let oy = i / out_width;
        let ox = i - oy * out_width;
        let mut acc = 0u32;
        #[unroll]
        for k in 0..2 * radius + 1 {
            let xx = usize::cast_from(reflect(
                i32::cast_from(2 * ox + k) - i32::cast_from(radius),
                i32::cast_from(width),
            ));
            let mut column = 0u32;
            #[unroll]
            for l in 0..2 * radius + 1 {
                let yy = usize::cast_from(reflect(
                    i32::cast_from(2 * oy + l) - i32::cast_from(radius),
                    i32::cast_from(height),
                ));
                column += taps[l] * image[yy * width + xx];
            }
            acc += taps[k] * (round32(column, shift) & 0xFFFFu32);
        }
        out[i] = round32(acc, 16u32) & 0xFFFFu32;
    }
}

/// The tables VIF's kernels read, uploaded once per device.
#[derive(Debug)]
pub struct VifTables {
    taps: [Handle; SCALES],
    log2: Handle,
}

impl VifTables {
    /// Uploads the taps of every scale and the logarithm table.
    pub fn new<R: Runtime>(client: &ComputeClient<R>) -> Self {
        let taps = VIF_TAPS.map(|t| {
            let wide: Vec<u32> = t.iter().map(|&v| u32::from(v)).collect();
            crate::meter::upload(client, u32::as_bytes(&wide))
        });
        let log2: Vec<u32> = vif_log2_table().iter().map(|&v| u32::from(v)).collect();
        Self {
            taps,
            log2: crate::meter::upload(client, u32::as_bytes(&log2)),
        }
    }
}

/// One scale of a prepared reference: its image, mean and variance per pixel.
#[derive(Debug)]
struct ReferenceScale {
    scale: DeviceLuma,
    mean: Handle,
    variance: Handle,
}

/// A reference frame prepared on the device, reused by every distorted frame compared with it.
#[derive(Debug)]
pub struct VifPrepared {
    bits: u32,
    scales: Vec<ReferenceScale>,
    den: [VifDenSums; SCALES],
}

impl VifPrepared {
    /// Width and height of the scale-0 image.
    pub fn size(&self) -> (usize, usize) {
        let s = &self.scales[0].scale;
        (s.width, s.height)
    }
}

/// Column shifts at `scale` for the mean and the second moments.
fn shifts(scale: usize, bits: u32) -> [u32; 2] {
    if scale == 0 {
        [bits, 2 * (bits - 8)]
    } else {
        [16, 16]
    }
}

fn radius(scale: usize) -> usize {
    VIF_TAPS[scale].len() / 2
}

/// `image` at `scale` low-passed and decimated: the image of `scale + 1`.
fn next_scale<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &VifTables,
    image: &DeviceLuma,
    scale: usize,
    bits: u32,
) -> DeviceLuma {
    let (width, height) = (image.width / 2, image.height / 2);
    let out = crate::meter::empty(client, width * height * 4);
    let shift = if scale == 0 { bits } else { 16 };
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        decimate::launch::<R>(
            client,
            crate::grid::cubes_for_units(width * height, UNITS),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(image.data.clone(), image.len()),
            ArrayArg::from_raw_parts(tables.taps[scale + 1].clone(), VIF_TAPS[scale + 1].len()),
            ArrayArg::from_raw_parts(out.clone(), width * height),
            image.width,
            image.height,
            width,
            width * height,
            shift,
            radius(scale + 1),
        )
    };
    DeviceLuma {
        width,
        height,
        bits,
        data: out,
    }
}

/// Launches the column pass over `distorted` (with `reference`, `pair`) or `reference` alone.
fn column_pass<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &VifTables,
    (reference, distorted): (&DeviceLuma, Option<&DeviceLuma>),
    scale: usize,
    bits: u32,
) -> [Handle; 3] {
    let len = reference.len();
    let out = [0; 3].map(|_| crate::meter::empty(client, len * 4));
    let pair = distorted.is_some();
    let d = distorted.unwrap_or(reference);
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        columns::launch::<R>(
            client,
            crate::grid::cubes_for_units(len, UNITS),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(reference.data.clone(), len),
            ArrayArg::from_raw_parts(d.data.clone(), len),
            ArrayArg::from_raw_parts(tables.taps[scale].clone(), VIF_TAPS[scale].len()),
            ArrayArg::from_raw_parts(out[0].clone(), len),
            ArrayArg::from_raw_parts(out[1].clone(), len),
            ArrayArg::from_raw_parts(out[2].clone(), len),
            reference.width,
            reference.height,
            shifts(scale, bits)[0],
            shifts(scale, bits)[1],
            radius(scale),
            pair,
        )
    };
    out
}

fn reference_scale<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &VifTables,
    scale_image: DeviceLuma,
    scale: usize,
    bits: u32,
) -> (ReferenceScale, Handle) {
    let len = scale_image.len();
    let [mean_c, square_c, _] = column_pass(client, tables, (&scale_image, None), scale, bits);
    let mean = crate::meter::empty(client, len * 4);
    let variance = crate::meter::empty(client, len * 4);
    let cubes = len.div_ceil(PER_CUBE);
    let partials = crate::meter::empty(client, cubes * DEN_SUMS * 8);
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        reference_stats::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(mean_c, len),
            ArrayArg::from_raw_parts(square_c, len),
            ArrayArg::from_raw_parts(tables.taps[scale].clone(), VIF_TAPS[scale].len()),
            ArrayArg::from_raw_parts(tables.log2.clone(), 1 << 15),
            ArrayArg::from_raw_parts(mean.clone(), len),
            ArrayArg::from_raw_parts(variance.clone(), len),
            ArrayArg::from_raw_parts(partials.clone(), cubes * DEN_SUMS),
            scale_image.width,
            len,
            radius(scale),
        )
    };
    let prepared = ReferenceScale {
        scale: scale_image,
        mean,
        variance,
    };
    (prepared, partials)
}

/// Refuses planes too small for the scale-3 filter, as the CPU plugin does.
fn check(luma: &DeviceLuma) -> Result<(), MetricError> {
    if luma.width < VIF_MIN_SIDE || luma.height < VIF_MIN_SIDE {
        return Err(MetricError::TooSmall {
            width: luma.width,
            height: luma.height,
            min: VIF_MIN_SIDE,
        });
    }
    Ok(())
}

/// Filters the reference luma at every scale on the device.
pub fn prepare<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &VifTables,
    reference: &DeviceLuma,
) -> Result<VifPrepared, MetricError> {
    check(reference)?;
    let bits = reference.bits;
    let mut image = reference.clone();
    let mut scales = Vec::with_capacity(SCALES);
    let mut partials = Vec::with_capacity(SCALES);
    for scale in 0..SCALES {
        let next = (scale + 1 < SCALES).then(|| next_scale(client, tables, &image, scale, bits));
        let (prepared, sums) = reference_scale(client, tables, image, scale, bits);
        scales.push(prepared);
        partials.push(sums);
        let Some(next) = next else { break };
        image = next;
    }
    let sums = read_sums::<R, DEN_SUMS>(client, partials);
    let den = std::array::from_fn(|scale| {
        let [log, exponent, log_pixels, linear_pixels] = sums[scale];
        VifDenSums {
            log,
            exponent,
            log_pixels,
            linear_pixels,
        }
    });
    Ok(VifPrepared { bits, scales, den })
}

/// VIF's integer sums of `distorted` against a prepared reference, with the enhancement gain
/// limit `gain_limit`.
pub fn sums<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &VifTables,
    prepared: &VifPrepared,
    distorted: &DeviceLuma,
    gain_limit: f64,
) -> Result<VifSums, MetricError> {
    let size = prepared.size();
    if distorted.size() != size {
        return Err(MetricError::SizeMismatch {
            reference: size,
            distorted: distorted.size(),
        });
    }
    check(distorted)?;
    let bits = prepared.bits;
    let mut image = distorted.clone();
    let mut partials = Vec::with_capacity(SCALES);
    for (scale, reference) in prepared.scales.iter().enumerate() {
        if scale > 0 {
            image = next_scale(client, tables, &image, scale - 1, bits);
        }
        let args = (reference, &image, scale, bits, gain_limit);
        partials.push(numerator(client, tables, args));
    }
    let sums = read_sums::<R, NUM_SUMS>(client, partials);
    let num = std::array::from_fn(|scale| {
        let [log, exponent, linear_variance] = sums[scale];
        VifNumSums {
            log,
            exponent,
            linear_variance,
        }
    });
    Ok(VifSums {
        num,
        den: prepared.den,
    })
}

/// Launches one scale's numerator; returns its per-cube partial sums.
fn numerator<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &VifTables,
    (reference, image, scale, bits, gain_limit): (&ReferenceScale, &DeviceLuma, usize, u32, f64),
) -> Handle {
    let len = image.len();
    let [mean_c, square_c, cross_c] =
        column_pass(client, tables, (&reference.scale, Some(image)), scale, bits);
    let cubes = len.div_ceil(PER_CUBE);
    let partials = crate::meter::empty(client, cubes * NUM_SUMS * 8);
    // SAFETY: every array is passed with the length it was allocated with.
    unsafe {
        distorted_stats::launch::<R>(
            client,
            crate::grid::cubes(cubes),
            CubeDim::new_1d(UNITS as u32),
            ArrayArg::from_raw_parts(mean_c, len),
            ArrayArg::from_raw_parts(square_c, len),
            ArrayArg::from_raw_parts(cross_c, len),
            ArrayArg::from_raw_parts(tables.taps[scale].clone(), VIF_TAPS[scale].len()),
            ArrayArg::from_raw_parts(tables.log2.clone(), 1 << 15),
            ArrayArg::from_raw_parts(reference.mean.clone(), len),
            ArrayArg::from_raw_parts(reference.variance.clone(), len),
            ArrayArg::from_raw_parts(partials.clone(), cubes * NUM_SUMS),
            image.width,
            len,
            gain_limit,
            VIF_EPS,
            0u64,
            radius(scale),
        )
    };
    partials
}
