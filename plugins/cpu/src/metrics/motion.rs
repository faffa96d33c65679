//! VMAF's temporal features `motion` and `motion2`, exactly as libvmaf v2.3.1's integer
//! extractor (`integer_motion.c`, the one the `vmaf_v0.6.1` model uses) computes them.
//!
//! Each reference frame's luma is blurred by a 5-tap Gaussian in 16-bit fixed point
//! (taps 3571, 16004, 26386, 16004, 3571, summing to 2^16), first down the columns with
//! the sum rounded and shifted right by the bit depth (`bits`, 8 for 8-bit input), then
//! along the rows rounded and shifted by 16, so the blurred samples keep 16 bits whatever the
//! input depth. Samples beyond an edge are mirrored the way v2.3.1 does it, which is not the
//! same on both sides: before the first sample the edge is not repeated (index `-i` reads
//! `i`), past the last it is (index `n - 1 + i` reads `n - i`).
//!
//! `motion` of frame `i` is the sum of absolute differences between the blurred frames
//! `i - 1` and `i`, divided by 256 and by the pixel count, the division done in single
//! precision as libvmaf does; the first frame's motion is 0. `motion2` of frame `i` is the
//! smaller of frame `i`'s and frame `i + 1`'s motion; the last frame, with no successor,
//! keeps its own motion, and the first frame's is 0.
//!
//! libvmaf v3.2.0 changed the feature: it filters the difference of the two frames instead of
//! blurring each (so it rounds once per pass, and signed), mirrors both edges alike, and
//! divides in double precision. Its values differ slightly; [`super::motion_v3`] computes
//! them. [`MotionVersion`] chooses between the two and [`frame_motions`] scores a frame under
//! either.

use super::{MetricError, luma::Luma, motion_v3};

/// Which libvmaf release's integer `motion` (and so `motion2`) to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum MotionVersion {
    /// libvmaf v2.3.1, whose integer motion is unchanged through v3.1.0: blur each frame,
    /// then the SAD of the blurred frames, divided in single precision.
    #[default]
    V2_3_1,
    /// libvmaf v3.2.0 (the latest release as of this writing): filter the difference of the
    /// frames, divided in double precision ([`super::motion_v3`]).
    V3_2,
}

impl MotionVersion {
    /// The names [`Self::parse`] accepts, as users write them.
    pub(crate) const ACCEPTED: &[&str] = &["2.3.1", "3.2.0"];

    /// The version named `text`: "2.3.1" or "3.2.0".
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "2.3.1" => Some(Self::V2_3_1),
            "3.2.0" => Some(Self::V3_2),
            _ => None,
        }
    }

    /// The name [`Self::parse`] reads back.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::V2_3_1 => "2.3.1",
            Self::V3_2 => "3.2.0",
        }
    }
}

/// `(motion, motion2)` of a frame whose reference luma is `current`, given the reference luma
/// of the frame before (none for the first frame) and of the frame after (none for the last
/// frame, or when only `motion` is wanted: `motion2` is then `motion`), as libvmaf `version`
/// computes them. The first frame's are both 0; its neighbours are not read.
pub(crate) fn frame_motions(
    version: MotionVersion,
    previous: Option<&Luma<'_>>,
    current: &Luma<'_>,
    next: Option<&Luma<'_>>,
) -> Result<(f64, f64), MetricError> {
    let (own, following) = match version {
        MotionVersion::V2_3_1 => {
            let current = blur(current)?;
            let Some(previous) = previous else {
                return Ok((0.0, 0.0));
            };
            let previous = blur(previous)?;
            let own = motion_between(&previous, &current)?;
            let following = match next {
                Some(next) => Some(motion_between(&current, &blur(next)?)?),
                None => None,
            };
            (own, following)
        }
        MotionVersion::V3_2 => {
            let Some(previous) = previous else {
                current.check(MIN_SIDE)?;
                return Ok((0.0, 0.0));
            };
            let own = motion_v3::motion_between(previous, current)?;
            let following = next
                .map(|next| motion_v3::motion_between(current, next))
                .transpose()?;
            (own, following)
        }
    };
    // motion2 is the smaller of the frame's motion and the next frame's (libvmaf keeps the
    // first when they tie; they are equal then).
    Ok((own, following.map_or(own, |f| own.min(f))))
}

/// The 5-tap integer Gaussian.
pub(crate) const FILTER: [u32; 5] = [3571, 16004, 26386, 16004, 3571];
/// Half the filter's width.
const RADIUS: usize = FILTER.len() / 2;
/// Smallest width and height for which every mirrored tap stays inside the frame.
pub(crate) const MIN_SIDE: usize = 3;

/// Index `i` of a line of `n` samples, mirrored as libvmaf v2.3.1 mirrors it.
pub(crate) fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = if i < 0 {
        -i
    } else if i >= n {
        2 * n - 1 - i
    } else {
        i
    };
    m as usize
}

/// A blurred luma plane, 16-bit fixed point, rows packed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Blurred {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: Vec<u16>,
}

/// Blurs `luma` with libvmaf's integer Gaussian: columns first, then rows.
pub(crate) fn blur(luma: &Luma<'_>) -> Result<Blurred, MetricError> {
    luma.check(MIN_SIDE)?;
    let (w, h) = (luma.width, luma.height);
    // Sums of five taps of at most 16-bit samples fit in u32: the taps sum to 2^16.
    let round = 1u32 << (luma.bits - 1);
    let mut accum = vec![0u32; w];
    let mut columns = vec![0u16; w * h];
    for (y, out) in columns.chunks_exact_mut(w).enumerate() {
        accum.fill(0);
        for (k, &weight) in FILTER.iter().enumerate() {
            let row = mirror(y as isize + k as isize - RADIUS as isize, h);
            luma.accumulate_row(row, weight, &mut accum);
        }
        for (o, &a) in out.iter_mut().zip(&accum) {
            *o = ((a + round) >> luma.bits) as u16;
        }
    }
    drop(accum);
    let mut data = vec![0u16; w * h];
    for (src, out) in columns.chunks_exact(w).zip(data.chunks_exact_mut(w)) {
        for (x, o) in out.iter_mut().enumerate() {
            let taps = FILTER.iter().enumerate().map(|(k, &weight)| {
                let column = x as isize + k as isize - RADIUS as isize;
                let sample = if (0..w as isize).contains(&column) {
                    src[column as usize]
                } else {
                    src[mirror(column, w)]
                };
                weight * u32::from(sample)
            });
            *o = ((taps.sum::<u32>() + (1 << 15)) >> 16) as u16;
        }
    }
    Ok(Blurred {
        width: w,
        height: h,
        data,
    })
}

/// Sum of absolute differences of two blurred planes of one size.
fn sad(a: &Blurred, b: &Blurred) -> u64 {
    a.data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum()
}

/// The motion between two consecutive blurred frames: SAD / 256 / pixels, with the
/// division by the pixel count in single precision as libvmaf does it.
pub(crate) fn motion_between(previous: &Blurred, current: &Blurred) -> Result<f64, MetricError> {
    if (previous.width, previous.height) != (current.width, current.height) {
        return Err(MetricError::SizeMismatch {
            reference: (previous.width, previous.height),
            distorted: (current.width, current.height),
        });
    }
    let pixels = (current.width * current.height) as f32;
    Ok(f64::from(
        (sad(previous, current) as f64 / 256.0) as f32 / pixels,
    ))
}

/// `motion` of a frame given the previous frame's blurred luma (none for the first frame).
pub(crate) fn motion(previous: Option<&Blurred>, current: &Blurred) -> Result<f64, MetricError> {
    previous.map_or(Ok(0.0), |p| motion_between(p, current))
}

/// `motion2` of a frame given its neighbours' blurred luma: none before the first frame,
/// none after the last.
pub(crate) fn motion2(
    previous: Option<&Blurred>,
    current: &Blurred,
    next: Option<&Blurred>,
) -> Result<f64, MetricError> {
    let Some(previous) = previous else {
        return Ok(0.0);
    };
    let own = motion_between(previous, current)?;
    match next {
        Some(next) => Ok(own.min(motion_between(current, next)?)),
        None => Ok(own),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luma8(data: &[u8], width: usize, height: usize) -> Luma<'_> {
        Luma {
            data,
            stride: width,
            width,
            height,
            bits: 8,
        }
    }

    #[test]
    fn filter_taps_sum_to_one_in_16_bit_fixed_point() {
        assert_eq!(FILTER.iter().sum::<u32>(), 1 << 16);
    }

    #[test]
    fn edges_mirror_without_then_with_the_edge_sample() {
        let n = 6;
        assert_eq!(mirror(-1, n), 1);
        assert_eq!(mirror(-2, n), 2);
        assert_eq!(mirror(0, n), 0);
        assert_eq!(mirror(5, n), 5);
        assert_eq!(mirror(6, n), 5);
        assert_eq!(mirror(7, n), 4);
    }

    #[test]
    fn a_flat_plane_stays_flat_and_gains_8_bits() {
        for (bits, value) in [(8u32, 200u16), (10, 1000), (12, 4000), (16, 60000)] {
            let (w, h) = (7, 5);
            let bytes: Vec<u8> = if bits > 8 {
                (0..w * h).flat_map(|_| value.to_ne_bytes()).collect()
            } else {
                vec![value as u8; w * h]
            };
            let luma = Luma {
                data: &bytes,
                stride: w * if bits > 8 { 2 } else { 1 },
                width: w,
                height: h,
                bits,
            };
            let blurred = blur(&luma).unwrap();
            // Columns: value · 2^16 / 2^bits; rows keep it.
            let expected = ((u32::from(value) << 16) + (1 << (bits - 1))) >> bits;
            assert!(
                blurred.data.iter().all(|&v| u32::from(v) == expected),
                "{bits}"
            );
        }
    }

    /// The blur of an impulse, worked out by hand from the taps, the shifts and the mirror.
    #[test]
    fn an_impulse_spreads_as_the_taps_with_libvmafs_rounding_and_mirrors() {
        let (w, h) = (5, 5);
        let mut bytes = vec![0u8; w * h];
        bytes[0] = 255; // top-left corner
        let blurred = blur(&luma8(&bytes, w, h)).unwrap();
        // Down column 0, output row y reads rows mirror(y - 2 + k): row 0 is read by tap 2
        // for y = 0 (rows 2, 1, 0, 1, 2 — the near edge is not repeated), tap 1 for y = 1,
        // tap 0 for y = 2, and not at all below. 8-bit columns round by 2^7, shift by 8.
        let column = |taps: u32| (taps * 255 + 128) >> 8;
        let (c0, c1, c2) = (column(26386), column(16004), column(3571));
        // Along each row the same pattern, rounding by 2^15 and shifting by 16.
        let row = |c: u32, taps: u32| (c * taps + (1 << 15)) >> 16;
        for (y, c) in [(0, c0), (1, c1), (2, c2), (3, 0), (4, 0)] {
            let got: Vec<u32> = blurred.data[y * w..(y + 1) * w]
                .iter()
                .map(|&v| u32::from(v))
                .collect();
            let want = vec![row(c, 26386), row(c, 16004), row(c, 3571), 0, 0];
            assert_eq!(got, want, "row {y}");
        }
    }

    /// At the far edge the last sample is repeated: an impulse in the bottom-right corner
    /// is seen twice by the corner's own taps.
    #[test]
    fn the_far_edge_repeats_its_last_sample() {
        let (w, h) = (5, 5);
        let mut bytes = vec![0u8; w * h];
        bytes[w * h - 1] = 255;
        let blurred = blur(&luma8(&bytes, w, h)).unwrap();
        // Row 4's taps are rows 2, 3, 4, 4 (mirror of 5), 3 (mirror of 6): the impulse row
        // is read by taps 2 and 3.
        let c = (((26386 + 16004) * 255) + 128) >> 8;
        // Column 4 likewise: taps 2 and 3.
        let corner = (c * (26386 + 16004) + (1 << 15)) >> 16;
        assert_eq!(u32::from(blurred.data[w * h - 1]), corner);
        // Row 3's taps are rows 1, 2, 3, 4, 4 (mirror of 5): taps 3 and 4.
        let c3 = (((16004 + 3571) * 255) + 128) >> 8;
        let right = (c3 * (26386 + 16004) + (1 << 15)) >> 16;
        assert_eq!(u32::from(blurred.data[3 * w + 4]), right);
    }

    #[test]
    fn motion_is_zero_for_the_first_or_a_still_frame() {
        let bytes: Vec<u8> = (0..64u8).map(|v| v.wrapping_mul(37)).collect();
        let a = blur(&luma8(&bytes, 8, 8)).unwrap();
        assert_eq!(motion(None, &a).unwrap(), 0.0);
        assert_eq!(motion(Some(&a), &a).unwrap(), 0.0);
        assert_eq!(motion2(None, &a, Some(&a)).unwrap(), 0.0);
    }

    #[test]
    fn motion_is_the_normalised_sad_in_single_precision() {
        let (w, h) = (4, 3);
        let a = Blurred {
            width: w,
            height: h,
            data: vec![1000; w * h],
        };
        let b = Blurred {
            width: w,
            height: h,
            data: vec![1003; w * h],
        };
        let expected = f64::from((36.0f64 / 256.0) as f32 / 12.0f32);
        assert_eq!(motion(Some(&a), &b).unwrap(), expected);
    }

    #[test]
    fn motion2_takes_the_smaller_neighbour_and_keeps_its_own_at_the_end() {
        let frame = |v: u16| Blurred {
            width: 3,
            height: 3,
            data: vec![v; 9],
        };
        let (a, b, c) = (frame(0), frame(512), frame(768));
        let ab = motion(Some(&a), &b).unwrap();
        let bc = motion(Some(&b), &c).unwrap();
        assert!(bc < ab);
        assert_eq!(motion2(Some(&a), &b, Some(&c)).unwrap(), bc);
        assert_eq!(motion2(Some(&b), &c, None).unwrap(), bc);
        assert_eq!(motion2(Some(&c), &b, Some(&a)).unwrap(), bc);
    }

    #[test]
    fn versions_parse_and_name_themselves() {
        assert_eq!(MotionVersion::default(), MotionVersion::V2_3_1);
        for &text in MotionVersion::ACCEPTED {
            assert_eq!(
                MotionVersion::parse(text).map(MotionVersion::name),
                Some(text)
            );
        }
        assert_eq!(MotionVersion::parse("3.2.0"), Some(MotionVersion::V3_2));
        for bad in ["", "3.2", "3.1.0", "v2.3.1", "2.3.1 "] {
            assert_eq!(MotionVersion::parse(bad), None, "{bad:?}");
        }
    }

    /// `frame_motions` under v2.3.1 is `motion` and `motion2` of the blurred frames; under
    /// either version the first frame's are 0 and a frame without a successor keeps its own.
    #[test]
    fn frame_motions_follow_libvmafs_frame_rules() {
        let (w, h) = (9, 7);
        let frames: Vec<Vec<u8>> = (0..3u8)
            .map(|t| {
                (0..w * h)
                    .map(|i| (i as u8).wrapping_mul(29).wrapping_add(t * t * 40))
                    .collect()
            })
            .collect();
        let l: Vec<Luma<'_>> = frames.iter().map(|f| luma8(f, w, h)).collect();
        let b: Vec<Blurred> = l.iter().map(|x| blur(x).unwrap()).collect();
        let old = MotionVersion::V2_3_1;
        assert_eq!(
            frame_motions(old, Some(&l[0]), &l[1], Some(&l[2])).unwrap(),
            (
                motion(Some(&b[0]), &b[1]).unwrap(),
                motion2(Some(&b[0]), &b[1], Some(&b[2])).unwrap()
            )
        );
        for version in [MotionVersion::V2_3_1, MotionVersion::V3_2] {
            assert_eq!(
                frame_motions(version, None, &l[0], Some(&l[1])).unwrap(),
                (0.0, 0.0)
            );
            let (m1, m2) = frame_motions(version, Some(&l[0]), &l[1], Some(&l[2])).unwrap();
            let (n1, _) = frame_motions(version, Some(&l[1]), &l[2], None).unwrap();
            assert!(m1 > 0.0 && n1 > 0.0 && m1 != n1, "{version:?}");
            assert_eq!(m2, m1.min(n1), "{version:?}");
            assert_eq!(
                frame_motions(version, Some(&l[1]), &l[2], None).unwrap(),
                (n1, n1)
            );
        }
    }

    #[test]
    fn tiny_and_short_planes_are_refused() {
        let bytes = [0u8; 8];
        assert!(matches!(
            blur(&luma8(&bytes, 2, 4)),
            Err(MetricError::TooSmall { min: 3, .. })
        ));
        assert!(matches!(
            blur(&luma8(&bytes, 3, 3)),
            Err(MetricError::BadPlaneLength { .. })
        ));
    }
}
