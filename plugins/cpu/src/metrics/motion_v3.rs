//! VMAF's temporal feature `motion` as libvmaf v3.2.0's integer extractor computes it
//! (`integer_motion.c` after Netflix replaced it with its former `motion_v2`); `motion2` is
//! made of it as in v2.3.1 (see [`super::motion`]).
//!
//! v2.3.1 blurs each frame and sums the absolute differences of the blurred frames, rounding
//! each blur to 16-bit unsigned fixed point. v3.2.0 instead filters the difference of the two
//! frames, `previous - current`, with the same 5-tap integer Gaussian (3571, 16004, 26386,
//! 16004, 3571): down the columns in 64-bit integers, rounded and shifted right by the bit
//! depth (so 8 for 8-bit input), kept as signed 32-bit; then along the rows, rounded and
//! shifted right by 16. Both shifts are arithmetic, so negative sums round towards minus
//! infinity and the result depends on which frame is subtracted from which: `previous` is
//! always the earlier frame. The absolute values are summed in 32-bit unsigned arithmetic row
//! by row (as libvmaf does; it cannot wrap below 65,537 columns), then over the frame.
//!
//! Samples beyond an edge are mirrored alike at both edges, without repeating the edge
//! sample: index `-i` reads `i` and index `n - 1 + i` reads `n - 1 - i`. (v2.3.1 repeats the
//! last sample at the far edge.)
//!
//! `motion` is that sum divided by 256 and by the pixel count, in double precision (v2.3.1
//! divides by the pixel count in single precision), capped at libvmaf's default
//! `motion_max_val` of 10000 (which no frame reaches: the quotient is at most 256).

use super::{
    MetricError,
    luma::Luma,
    motion::{FILTER, MIN_SIDE},
};

/// Half the filter's width.
const RADIUS: usize = FILTER.len() / 2;

/// libvmaf v3.2.0's default `motion_max_val`, the largest motion it reports.
const MAX_MOTION: f64 = 10_000.0;

/// Index `i` of a line of `n` samples, mirrored as libvmaf v3.2.0 mirrors it: around the
/// edge sample at both ends, which is not repeated.
pub(crate) fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = if i < 0 {
        -i
    } else if i >= n {
        2 * n - 2 - i
    } else {
        i
    };
    m as usize
}

/// The rows of `previous - current` that the column filter of one output row reads, each
/// computed once: row `r` is kept in slot `r % 5`, and the rows one output row reads are
/// always five consecutive indices or fewer.
struct DifferenceRows<'a> {
    previous: &'a Luma<'a>,
    current: &'a Luma<'a>,
    width: usize,
    /// Five rows of differences, packed.
    rows: Vec<i32>,
    /// Which row each slot holds.
    held: [Option<usize>; FILTER.len()],
    /// One row of each frame, widened to 16 bits.
    scratch: (Vec<u16>, Vec<u16>),
}

impl<'a> DifferenceRows<'a> {
    fn new(previous: &'a Luma<'a>, current: &'a Luma<'a>) -> Self {
        let width = current.width;
        Self {
            previous,
            current,
            width,
            rows: vec![0; FILTER.len() * width],
            held: [None; FILTER.len()],
            scratch: (vec![0; width], vec![0; width]),
        }
    }

    /// Makes row `r` present and returns its slot.
    fn load(&mut self, r: usize) -> usize {
        let slot = r % FILTER.len();
        if self.held[slot] != Some(r) {
            let (p, c) = &mut self.scratch;
            self.previous.row_into(r, p);
            self.current.row_into(r, c);
            let out = &mut self.rows[slot * self.width..(slot + 1) * self.width];
            for ((d, &p), &c) in out.iter_mut().zip(p.iter()).zip(c.iter()) {
                *d = i32::from(p) - i32::from(c);
            }
            self.held[slot] = Some(r);
        }
        slot
    }

    fn slot(&self, slot: usize) -> &[i32] {
        &self.rows[slot * self.width..(slot + 1) * self.width]
    }
}

/// The row filter's output at column `x` of `column` (the column-filtered row), mirrored at
/// the edges, as its absolute value.
fn filtered_at_edge(column: &[i32], x: usize) -> u32 {
    let sum: i64 = FILTER
        .iter()
        .enumerate()
        .map(|(k, &tap)| {
            let at = mirror(x as isize + k as isize - RADIUS as isize, column.len());
            i64::from(tap) * i64::from(column[at])
        })
        .sum();
    (((sum + (1 << 15)) >> 16) as i32).unsigned_abs()
}

/// The row filter's output for the five samples centred on a column, as its absolute value.
fn filtered_inside(window: &[i32]) -> u32 {
    let sum: i64 = FILTER
        .iter()
        .zip(window)
        .map(|(&tap, &v)| i64::from(tap) * i64::from(v))
        .sum();
    (((sum + (1 << 15)) >> 16) as i32).unsigned_abs()
}

/// Sum of the absolute values of `previous - current` filtered as libvmaf v3.2.0 does it.
pub(crate) fn filtered_difference_sad(
    previous: &Luma<'_>,
    current: &Luma<'_>,
) -> Result<u64, MetricError> {
    previous.check(MIN_SIDE)?;
    current.check(MIN_SIDE)?;
    let (w, h) = (current.width, current.height);
    if (previous.width, previous.height) != (w, h) {
        return Err(MetricError::SizeMismatch {
            reference: (previous.width, previous.height),
            distorted: (w, h),
        });
    }
    let shift = current.bits;
    let round = 1i64 << (shift - 1);
    let mut differences = DifferenceRows::new(previous, current);
    let mut column = vec![0i32; w];
    let mut sad = 0u64;
    for y in 0..h {
        let mut slots = [0usize; FILTER.len()];
        for (k, slot) in slots.iter_mut().enumerate() {
            *slot = differences.load(mirror(y as isize + k as isize - RADIUS as isize, h));
        }
        let rows = slots.map(|s| differences.slot(s));
        let mut any = 0;
        for (x, out) in column.iter_mut().enumerate() {
            let sum: i64 = FILTER
                .iter()
                .zip(&rows)
                .map(|(&tap, row)| i64::from(tap) * i64::from(row[x]))
                .sum();
            *out = ((sum + round) >> shift) as i32;
            any |= *out;
        }
        if any == 0 {
            // The row filter of zeros is zero.
            continue;
        }
        // libvmaf sums a row in 32-bit unsigned arithmetic.
        let left = w.min(RADIUS);
        let right = w.saturating_sub(RADIUS).max(left);
        let mut row_sad = 0u32;
        for x in (0..left).chain(right..w) {
            row_sad = row_sad.wrapping_add(filtered_at_edge(&column, x));
        }
        for window in column.windows(FILTER.len()) {
            row_sad = row_sad.wrapping_add(filtered_inside(window));
        }
        sad += u64::from(row_sad);
    }
    Ok(sad)
}

/// The motion between two consecutive frames' luma, `previous` being the earlier one:
/// filtered-difference SAD / 256 / pixels in double precision, capped at 10000.
pub(crate) fn motion_between(previous: &Luma<'_>, current: &Luma<'_>) -> Result<f64, MetricError> {
    let sad = filtered_difference_sad(previous, current)?;
    Ok(motion_value(sad, current.width * current.height))
}

/// The motion of a filtered-difference SAD over `pixels` pixels: SAD / 256 / pixels in double
/// precision, capped at 10000.
pub(crate) fn motion_value(sad: u64, pixels: usize) -> f64 {
    (sad as f64 / 256.0 / pixels as f64).min(MAX_MOTION)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma(data: &[u8], width: usize, height: usize, bits: u32) -> Luma<'_> {
        Luma {
            data,
            stride: width * if bits > 8 { 2 } else { 1 },
            width,
            height,
            bits,
        }
    }

    fn luma8(data: &[u8], width: usize, height: usize) -> Luma<'_> {
        luma(data, width, height, 8)
    }

    #[test]
    fn edges_mirror_alike_without_the_edge_sample() {
        let n = 6;
        assert_eq!(mirror(-1, n), 1);
        assert_eq!(mirror(-2, n), 2);
        assert_eq!(mirror(0, n), 0);
        assert_eq!(mirror(5, n), 5);
        assert_eq!(mirror(6, n), 4);
        assert_eq!(mirror(7, n), 3);
    }

    #[test]
    fn motion_of_still_frames_is_zero() {
        let bytes: Vec<u8> = (0..63u8).map(|v| v.wrapping_mul(37)).collect();
        let a = luma8(&bytes, 9, 7);
        assert_eq!(filtered_difference_sad(&a, &a).unwrap(), 0);
        assert_eq!(motion_between(&a, &a).unwrap(), 0.0);
    }

    /// A flat step of `d` code values gives `|d| · 2^(16 - bits)` per sample, either way.
    #[test]
    fn a_flat_step_is_scaled_to_16_bits() {
        let (w, h) = (7, 5);
        for (bits, a, b) in [
            (8u32, 10u16, 11u16),
            (10, 100, 103),
            (12, 4000, 3000),
            (16, 1, 0),
        ] {
            let plane = |v: u16| -> Vec<u8> {
                if bits > 8 {
                    (0..w * h).flat_map(|_| v.to_ne_bytes()).collect()
                } else {
                    vec![v as u8; w * h]
                }
            };
            let (pa, pb) = (plane(a), plane(b));
            let expected = (u64::from(a.abs_diff(b)) << (16 - bits)) * (w * h) as u64;
            let sad = |p: &[u8], c: &[u8]| {
                filtered_difference_sad(&luma(p, w, h, bits), &luma(c, w, h, bits)).unwrap()
            };
            assert_eq!(sad(&pa, &pb), expected, "{bits}");
            assert_eq!(sad(&pb, &pa), expected, "{bits}");
        }
    }

    /// Both shifts round half-way sums up (they are arithmetic shifts of signed sums), so a
    /// difference and its negation can give different motions: an impulse of 32 in 8-bit
    /// sums to 8194 one way and 8188 the other.
    #[test]
    fn the_direction_of_the_difference_matters_at_half_way_sums() {
        let (w, h) = (9, 9);
        let zero = vec![0u8; w * h];
        let mut impulse = vec![0u8; w * h];
        impulse[4 * w + 4] = 32;
        // Away from the edges: each tap pair (ky, kx) gives one output sample.
        let expected = |d: i64| -> u64 {
            let mut sum = 0;
            for &ty in &FILTER {
                let column = (i64::from(ty) * d + 128) >> 8;
                for &tx in &FILTER {
                    sum += ((i64::from(tx) * column + (1 << 15)) >> 16).unsigned_abs();
                }
            }
            sum
        };
        let forward = filtered_difference_sad(&luma8(&impulse, w, h), &luma8(&zero, w, h));
        let backward = filtered_difference_sad(&luma8(&zero, w, h), &luma8(&impulse, w, h));
        assert_eq!(forward.unwrap(), expected(32));
        assert_eq!(backward.unwrap(), expected(-32));
        assert_eq!((expected(32), expected(-32)), (8194, 8188));
    }

    /// The filtered difference of an impulse, worked out by hand from the taps, the shifts
    /// and the mirror, in a 5x5 frame where the impulse sits in a corner.
    #[test]
    fn an_impulse_difference_spreads_as_the_taps_mirrored_alike_at_both_edges() {
        let (w, h) = (5, 5);
        let zero = vec![0u8; w * h];
        for corner in [0, w * h - 1] {
            let mut bytes = vec![0u8; w * h];
            bytes[corner] = 200;
            // The corner's column: output row 0 reads rows 2, 1, 0, 1, 2 (tap 2 sees the
            // impulse), row 1 reads tap 1, row 2 tap 0, rows 3 and 4 nothing; the far corner
            // mirrors alike. Columns: round by 2^7, shift by 8.
            let column = |taps: i64| (taps * 200 + 128) >> 8;
            let (c0, c1, c2) = (column(26386), column(16004), column(3571));
            let row = |c: i64, taps: i64| ((c * taps + (1 << 15)) >> 16).unsigned_abs();
            let expected: u64 = [c0, c1, c2]
                .iter()
                .map(|&c| row(c, 26386) + row(c, 16004) + row(c, 3571))
                .sum();
            let sad = filtered_difference_sad(&luma8(&bytes, w, h), &luma8(&zero, w, h));
            assert_eq!(sad.unwrap(), expected, "corner {corner}");
        }
    }

    #[test]
    fn motion_is_the_sad_over_256_and_the_pixel_count_in_double_precision() {
        let (w, h) = (7, 3);
        let a = vec![13u8; w * h];
        let b = vec![10u8; w * h];
        // 3 · 2^16 / 2^8 = 768 per sample.
        let sad = 768 * (w * h) as u64;
        assert_eq!(
            filtered_difference_sad(&luma8(&a, w, h), &luma8(&b, w, h)).unwrap(),
            sad
        );
        assert_eq!(
            motion_between(&luma8(&a, w, h), &luma8(&b, w, h)).unwrap(),
            sad as f64 / 256.0 / 21.0
        );
    }

    #[test]
    fn sizes_must_match_and_planes_must_be_large_enough() {
        let bytes = [0u8; 64];
        assert!(matches!(
            motion_between(&luma8(&bytes, 4, 4), &luma8(&bytes, 4, 5)),
            Err(MetricError::SizeMismatch { .. })
        ));
        assert!(matches!(
            motion_between(&luma8(&bytes, 2, 4), &luma8(&bytes, 2, 4)),
            Err(MetricError::TooSmall { min: 3, .. })
        ));
    }
}
