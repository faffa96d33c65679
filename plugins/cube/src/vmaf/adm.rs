//! VMAF's ADM on the device, bit for bit the CPU plugin's integer ADM (libvmaf 2.3.1's
//! `integer_adm.c`): the kernels of [`super::adm_kernels`] compute the wavelet of both frames
//! at four scales, the decoupling, CSF and masking of every coefficient, and per-row sums of
//! the cubes, each row rounded and shifted as the CPU does it. The host adds the rows as
//! integers and the CPU plugin's tail ([`AdmSums::scores`]) makes the scores.
//!
//! The reference's bands at the four scales and its denominator sums are prepared once
//! ([`prepare`]) and reused by every distorted frame compared with it ([`sums`]).

use cubecl::{prelude::*, server::Handle};
use qscore_cpu::vmaf_parts::MetricError;
use qscore_cpu::vmaf_parts::adm::{
    AdmOptions, AdmSums, COARSE_HORIZONTAL, COARSE_VERTICAL, MIN_SIDE, NumShifts, RECIPROCAL,
    Region, cos_sq_1deg, den_shifts, fixed_weights, whole_gain_limit,
};

use super::adm_kernels::{decouple, den_rows, dwt_horizontal, dwt_vertical, masked_rows};
use super::arith::{UNITS, read_sums};
use super::luma::DeviceLuma;

/// Number of scales.
const SCALES: usize = 4;

/// The reciprocal table ADM's decoupling reads, uploaded once per device.
#[derive(Debug)]
pub struct AdmTables {
    reciprocals: Handle,
}

impl AdmTables {
    /// Uploads the table.
    pub fn new<R: Runtime>(client: &ComputeClient<R>) -> Self {
        Self {
            reciprocals: crate::meter::upload(client, i32::as_bytes(&RECIPROCAL)),
        }
    }
}

/// The three detail bands (h, v, d) of one scale, `width × height` coefficients each.
#[derive(Debug)]
struct Bands {
    width: usize,
    height: usize,
    bands: [Handle; 3],
}

impl Bands {
    fn len(&self) -> usize {
        self.width * self.height
    }

    fn arg<R: Runtime>(&self, band: usize) -> ArrayArg<R> {
        // SAFETY: each band holds `len` i32.
        unsafe { ArrayArg::from_raw_parts(self.bands[band].clone(), self.len()) }
    }
}

/// A reference frame's bands at every scale and its denominator sums, on the device.
#[derive(Debug)]
pub struct AdmPrepared {
    width: usize,
    height: usize,
    options: AdmOptions,
    scales: Vec<Bands>,
    den: [[u64; 3]; SCALES],
}

impl AdmPrepared {
    /// Width and height of the frame.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The options the reference was prepared under (its CSF weights).
    pub fn options(&self) -> &AdmOptions {
        &self.options
    }
}

fn array<R: Runtime>(handle: &Handle, len: usize) -> ArrayArg<R> {
    // SAFETY: every caller passes the length the handle was allocated with.
    unsafe { ArrayArg::from_raw_parts(handle.clone(), len) }
}

/// One level of the wavelet of a `width × height` plane of `i32` (level 0: the luma samples,
/// `bits` deep): its detail bands and its approximation.
fn level<R: Runtime>(
    client: &ComputeClient<R>,
    input: &Handle,
    (width, height): (usize, usize),
    scale: usize,
    bits: u32,
) -> (Bands, Handle) {
    let (out_w, out_h) = (width.div_ceil(2), height.div_ceil(2));
    let luma = scale == 0;
    let ((v_round, v_shift), (h_round, h_shift)) = if luma {
        let shift = bits.max(8);
        ((1i64 << (shift - 1), shift), (32768, 16))
    } else {
        (COARSE_VERTICAL[scale - 1], COARSE_HORIZONTAL[scale - 1])
    };
    let vertical_len = width * out_h;
    let (lo, hi) = (
        crate::meter::empty(client, vertical_len * 4),
        crate::meter::empty(client, vertical_len * 4),
    );
    let out_len = out_w * out_h;
    let outs = [0; 4].map(|_| crate::meter::empty(client, out_len * 4));
    let dim = CubeDim::new_1d(UNITS as u32);
    {
        dwt_vertical::launch::<R>(
            client,
            crate::grid::cubes_for_units(vertical_len, UNITS),
            dim,
            array(input, width * height),
            array(&lo, vertical_len),
            array(&hi, vertical_len),
            width,
            height,
            out_h,
            v_round,
            v_shift,
            luma,
        );
        dwt_horizontal::launch::<R>(
            client,
            crate::grid::cubes_for_units(out_len, UNITS),
            dim,
            array(&lo, vertical_len),
            array(&hi, vertical_len),
            array(&outs[0], out_len),
            array(&outs[1], out_len),
            array(&outs[2], out_len),
            array(&outs[3], out_len),
            width,
            out_w,
            out_h,
            h_round,
            h_shift,
            luma,
        );
    }
    let [approx, h, v, d] = outs;
    let bands = Bands {
        width: out_w,
        height: out_h,
        bands: [h, v, d],
    };
    (bands, approx)
}

/// The detail bands of `luma` at every scale.
fn bands<R: Runtime>(client: &ComputeClient<R>, luma: &DeviceLuma) -> Vec<Bands> {
    let mut input = luma.data.clone();
    let mut size = luma.size();
    let mut scales = Vec::with_capacity(SCALES);
    for scale in 0..SCALES {
        let (bands, approx) = level(client, &input, size, scale, luma.bits);
        size = (bands.width, bands.height);
        scales.push(bands);
        input = approx;
    }
    scales
}

/// Launches the denominator sums of one scale of the reference; returns its row sums.
fn den_rows_of<R: Runtime>(client: &ComputeClient<R>, bands: &Bands, scale: usize) -> Handle {
    let region = Region::interior(bands.width, bands.height);
    let shifts = den_shifts(scale, region);
    let count = region.bottom - region.top;
    let rows = crate::meter::empty(client, count * 3 * 8);
    den_rows::launch::<R>(
        client,
        crate::grid::cubes(count),
        CubeDim::new_1d(UNITS as u32),
        bands.arg(0),
        bands.arg(1),
        bands.arg(2),
        array(&rows, count * 3),
        region.top,
        count,
        region.left,
        region.right,
        bands.width,
        shifts.square,
        shifts.cube,
        shifts.row,
        scale == 0,
    );
    rows
}

fn check_size(width: usize, height: usize) -> Result<(), MetricError> {
    if width < MIN_SIDE || height < MIN_SIDE {
        return Err(MetricError::TooSmall {
            width,
            height,
            min: MIN_SIDE,
        });
    }
    Ok(())
}

/// Transforms the reference on the device and computes its denominator sums.
pub fn prepare<R: Runtime>(
    client: &ComputeClient<R>,
    reference: &DeviceLuma,
    options: &AdmOptions,
) -> Result<AdmPrepared, MetricError> {
    options.check()?;
    check_size(reference.width, reference.height)?;
    let scales = bands(client, reference);
    let rows = (0..SCALES)
        .map(|scale| den_rows_of(client, &scales[scale], scale))
        .collect();
    let sums = read_sums::<R, 3>(client, rows);
    let den = std::array::from_fn(|scale| sums[scale].map(|v| v as u64));
    Ok(AdmPrepared {
        width: reference.width,
        height: reference.height,
        options: *options,
        scales,
        den,
    })
}

/// ADM's integer sums of `distorted` against a prepared reference, with the enhancement gain
/// limit of `gain_limit` (the viewing geometry is the reference's).
pub fn sums<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &AdmTables,
    prepared: &AdmPrepared,
    distorted: &DeviceLuma,
    gain_limit: f64,
) -> Result<AdmSums, MetricError> {
    let options = AdmOptions {
        enhn_gain_limit: gain_limit,
        ..prepared.options
    };
    options.check_gain_limit()?;
    check_size(distorted.width, distorted.height)?;
    if distorted.size() != prepared.size() {
        return Err(MetricError::SizeMismatch {
            reference: prepared.size(),
            distorted: distorted.size(),
        });
    }
    let scales = bands(client, distorted);
    let rows = prepared
        .scales
        .iter()
        .zip(&scales)
        .enumerate()
        .map(|(scale, bands)| numerator(client, tables, bands, scale, &options))
        .collect();
    let sums = read_sums::<R, 3>(client, rows);
    let num = std::array::from_fn(|scale| sums[scale]);
    Ok(AdmSums {
        num,
        den: prepared.den,
    })
}

/// Launches the numerator sums of one scale; returns its row sums.
fn numerator<R: Runtime>(
    client: &ComputeClient<R>,
    tables: &AdmTables,
    (reference, distorted): (&Bands, &Bands),
    scale: usize,
    options: &AdmOptions,
) -> Handle {
    let len = reference.len();
    let fine = scale == 0;
    let weights = fixed_weights(scale, options).map(i64::from);
    let whole = whole_gain_limit(options.enhn_gain_limit);
    let restored = [0; 3].map(|_| crate::meter::empty(client, len * 4));
    let neighbour = crate::meter::empty(client, len * 4);
    let centre = crate::meter::empty(client, len * 4);
    let dim = CubeDim::new_1d(UNITS as u32);
    decouple::launch::<R>(
        client,
        crate::grid::cubes_for_units(len, UNITS),
        dim,
        reference.arg(0),
        reference.arg(1),
        reference.arg(2),
        distorted.arg(0),
        distorted.arg(1),
        distorted.arg(2),
        array(&tables.reciprocals, RECIPROCAL.len()),
        array(&restored[0], len),
        array(&restored[1], len),
        array(&restored[2], len),
        array(&neighbour, len),
        array(&centre, len),
        weights[0],
        weights[2],
        whole.unwrap_or(0),
        options.enhn_gain_limit,
        cos_sq_1deg(),
        len,
        0u64,
        fine,
        whole.is_some(),
    );
    let region = Region::interior(reference.width, reference.height);
    let shifts = NumShifts::new(scale, reference.width, reference.height);
    let count = region.bottom - region.top;
    let rows = crate::meter::empty(client, count * 3 * 8);
    masked_rows::launch::<R>(
        client,
        crate::grid::cubes(count),
        dim,
        array(&restored[0], len),
        array(&restored[1], len),
        array(&restored[2], len),
        array(&neighbour, len),
        array(&centre, len),
        array(&rows, count * 3),
        region.top,
        count,
        region.left,
        region.right,
        reference.width,
        reference.height,
        weights[0],
        weights[2],
        shifts.cube[0],
        shifts.cube[2],
        shifts.row,
        fine,
    );
    rows
}
