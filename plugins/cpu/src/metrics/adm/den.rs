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

/// Scale 0: 16-bit coefficients cubed exactly; the row shift only keeps large frames from
/// overflowing (`⌈log2 area⌉ - 20`, at least 0).
pub(super) fn fine(details: &Details<i16>, weights: &ScaleWeights, region: Region) -> f32 {
    let row_shift = ceil_log2(region.area()).saturating_sub(20);
    let sums = row_sums(details, region, row_shift, |v| {
        let m = u64::from(v.unsigned_abs());
        m * m * m
    });
    // The coefficients carry 6 fractional bits, 18 once cubed.
    finish(sums, pow2(18 - i64::from(row_shift)), weights, region)
}

/// Scales 1–3: the square is shifted right by 31, 30 or 31 bits (libvmaf adds a full unit,
/// `2^shift`, before that shift, not a half), the cube by `⌈log2 width⌉`, each row's sum by
/// `⌈log2 height⌉` of the region.
pub(super) fn coarse(
    details: &Details<i32>,
    weights: &ScaleWeights,
    region: Region,
    scale: usize,
) -> f32 {
    let square_shift = [31, 30, 31][scale - 1];
    let cube_shift = ceil_log2(region.right - region.left);
    let cube_round = half(cube_shift) as u64;
    let row_shift = ceil_log2(region.bottom - region.top);
    let sums = row_sums(details, region, row_shift, |v| {
        let m = u64::from(v.unsigned_abs());
        ((((m * m) + (1 << square_shift)) >> square_shift) * m + cube_round) >> cube_shift
    });
    let bits = [32, 27, 23][scale - 1];
    let divisor = pow2_unsigned(bits - i64::from(row_shift) - i64::from(cube_shift));
    finish(sums, divisor, weights, region)
}
