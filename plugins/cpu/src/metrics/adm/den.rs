//! The denominator of each scale, from the reference alone: the cube root of the sum of cubed
//! CSF-weighted reference detail coefficients over the scored region, plus the area term, summed
//! over the three bands.
//!
//! libvmaf sums the cubes of the unweighted coefficients in 64-bit integers (with a rounding
//! shift after each row) and multiplies by the cubed weight in double precision at the end.

use super::arith::{cbrt, half, pow2, pow2_unsigned};
use super::csf::ScaleWeights;
use super::dwt::Details;
use super::region::{Region, ceil_log2};

/// Applies the float weights to the three band sums and forms the denominator.
fn finish(sums: [u64; 3], divisor: f64, weights: &ScaleWeights, region: Region) -> f32 {
    let cubed = weights.cubed();
    let term = region.area_term();
    let band = |b: usize| cbrt((sums[b] as f64 / divisor * cubed[b]) as f32) + term;
    band(0) + band(1) + band(2)
}

/// Sums `cube` over each band's rows of `region`, shifting each row's sum right (rounded).
fn row_sums<T: Copy>(
    details: &Details<T>,
    region: Region,
    row_shift: u32,
    cube: impl Fn(T) -> u64,
) -> [u64; 3] {
    let w = details.width;
    let round = half(row_shift) as u64;
    details.bands.each_ref().map(|band| {
        (region.top..region.bottom)
            .map(|y| {
                let row = &band[y * w + region.left..y * w + region.right];
                let inner: u64 = row.iter().map(|&v| cube(v)).sum();
                (inner + round) >> row_shift
            })
            .sum()
    })
}

/// The shifts of a scale's denominator sums (see [`fine_sums`] and [`coarse_sums`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenShifts {
    /// Right shift of each square (scales 1–3; 0 at scale 0, which cubes exactly).
    pub square: u32,
    /// Right shift (rounded) of each cube (scales 1–3).
    pub cube: u32,
    /// Right shift (rounded) of each row's sum.
    pub row: u32,
}

impl DenShifts {
    /// The shifts at `scale` for the scored `region` of its bands.
    pub(crate) fn new(scale: usize, region: Region) -> Self {
        if scale == 0 {
            Self {
                square: 0,
                cube: 0,
                row: ceil_log2(region.area()).saturating_sub(20),
            }
        } else {
            Self {
                square: [31, 30, 31][scale - 1],
                cube: ceil_log2(region.right - region.left),
                row: ceil_log2(region.bottom - region.top),
            }
        }
    }
}

/// Scale 0: 16-bit coefficients cubed exactly; the row shift only keeps large frames from
/// overflowing (`⌈log2 area⌉ - 20`, at least 0). The band sums.
pub(super) fn fine_sums(details: &Details<i16>, region: Region) -> [u64; 3] {
    let shifts = DenShifts::new(0, region);
    row_sums(details, region, shifts.row, |v| {
        let m = u64::from(v.unsigned_abs());
        m * m * m
    })
}

/// Scales 1–3: the square is shifted right by 31, 30 or 31 bits (libvmaf adds a full unit,
/// `2^shift`, before that shift, not a half), the cube by `⌈log2 width⌉`, each row's sum by
/// `⌈log2 height⌉` of the region. The band sums.
pub(super) fn coarse_sums(details: &Details<i32>, region: Region, scale: usize) -> [u64; 3] {
    let shifts = DenShifts::new(scale, region);
    let (square_shift, cube_shift) = (shifts.square, shifts.cube);
    let cube_round = half(cube_shift) as u64;
    row_sums(details, region, shifts.row, |v| {
        let m = u64::from(v.unsigned_abs());
        ((((m * m) + (1 << square_shift)) >> square_shift) * m + cube_round) >> cube_shift
    })
}

/// The denominator of `scale` from its band sums.
pub(super) fn value(scale: usize, sums: [u64; 3], weights: &ScaleWeights, region: Region) -> f32 {
    let shifts = DenShifts::new(scale, region);
    let divisor = if scale == 0 {
        // The coefficients carry 6 fractional bits, 18 once cubed.
        pow2(18 - i64::from(shifts.row))
    } else {
        let bits = [32, 27, 23][scale - 1];
        pow2_unsigned(bits - i64::from(shifts.row) - i64::from(shifts.cube))
    };
    finish(sums, divisor, weights, region)
}
