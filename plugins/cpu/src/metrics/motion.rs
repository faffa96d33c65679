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

use super::simd::{self, Isa, lanes, lanes_mut};
use super::{MetricError, luma::Luma, motion_v3};

/// Which libvmaf release's integer `motion` (and so `motion2`) to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MotionVersion {
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
    pub const ACCEPTED: &[&str] = &["2.3.1", "3.2.0"];

    /// The version named `text`: "2.3.1" or "3.2.0".
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "2.3.1" => Some(Self::V2_3_1),
            "3.2.0" => Some(Self::V3_2),
            _ => None,
        }
    }

    /// The name [`Self::parse`] reads back.
    pub fn name(self) -> &'static str {
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
            let isa = Isa::detected();
            // One column-pass plane serves the three blurs.
            let mut columns = Vec::new();
            let current = blur_with(isa, current, &mut columns)?;
            let Some(previous) = previous else {
                return Ok((0.0, 0.0));
            };
            let previous = blur_with(isa, previous, &mut columns)?;
            let own = motion_on(isa, &previous, &current)?;
            let following = match next {
                Some(next) => {
                    let next = blur_with(isa, next, &mut columns)?;
                    Some(motion_on(isa, &current, &next)?)
                }
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
    Ok((own, motion2_of(own, following)))
}

/// `motion2` of a frame from its own motion and the next frame's (none for the last frame):
/// the smaller (libvmaf keeps the first when they tie; they are equal then).
pub fn motion2_of(own: f64, following: Option<f64>) -> f64 {
    following.map_or(own, |f| own.min(f))
}

/// The 5-tap integer Gaussian.
pub const FILTER: [u32; 5] = [3571, 16004, 26386, 16004, 3571];
/// Half the filter's width.
const RADIUS: usize = FILTER.len() / 2;
/// Smallest width and height for which every mirrored tap stays inside the frame.
pub const MIN_SIDE: usize = 3;

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
    blur_on(Isa::detected(), luma)
}

/// [`blur`] on the given instruction set.
pub(crate) fn blur_on(isa: Isa, luma: &Luma<'_>) -> Result<Blurred, MetricError> {
    blur_with(isa, luma, &mut Vec::new())
}

/// [`blur_on`], with `columns` as scratch for the column pass (kept for the next call).
fn blur_with(isa: Isa, luma: &Luma<'_>, columns: &mut Vec<u16>) -> Result<Blurred, MetricError> {
    luma.check(MIN_SIDE)?;
    let data = simd::with_kernels!(isa, Portable, Avx2, |kernels| {
        blur_plane(kernels, luma, columns)
    });
    Ok(Blurred {
        width: luma.width,
        height: luma.height,
        data,
    })
}

/// The row kernels, built for one instruction set: each method's default is the
/// portable kernel, which `Avx2` overrides.
trait Kernels: Copy {
    /// [`blur_columns`].
    #[inline(always)]
    fn blur_columns(self, luma: &Luma<'_>, y: usize, out: &mut [u16]) {
        blur_columns(luma, y, out);
    }
    /// [`blur_along`].
    #[inline(always)]
    fn blur_along(self, columns: &[u16], line: &mut [u16], out: &mut [u16]) {
        blur_along(columns, line, out);
    }
    /// Sum of `|a − b|` over two rows.
    #[inline(always)]
    fn row_sad(self, a: &[u16], b: &[u16]) -> u64 {
        row_sad(a, b)
    }
}

/// The portable kernels.
#[derive(Debug, Clone, Copy)]
struct Portable;

impl Kernels for Portable {}

/// The kernels built for AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
struct Avx2(simd::Avx2);

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    simd::avx2_kernel! {
        fn blur_columns(self, luma: &Luma<'_>, y: usize, out: &mut [u16]) = blur_columns;
    }
    simd::avx2_kernel! {
        fn blur_along(self, columns: &[u16], line: &mut [u16], out: &mut [u16]) = blur_along;
    }
    simd::avx2_kernel! {
        fn row_sad(self, a: &[u16], b: &[u16]) -> u64 = row_sad;
    }
}

/// Blurs a checked luma plane (rows packed): the column pass of the whole plane into
/// `columns`, then the row pass.
///
/// The column pass is kept whole, as libvmaf does (and as the plugin's memory model of this
/// feature expects). The planes grow a row at a time, so each row is zeroed just before it is
/// written, while it is in cache, rather than the whole plane first.
fn blur_plane(kernels: impl Kernels, luma: &Luma<'_>, columns: &mut Vec<u16>) -> Vec<u16> {
    let (w, h) = (luma.width, luma.height);
    columns.clear();
    columns.reserve_exact(w * h);
    for y in 0..h {
        columns.resize(columns.len() + w, 0);
        let row = columns.len() - w..;
        kernels.blur_columns(luma, y, &mut columns[row]);
    }
    let mut line = vec![0u16; w + 2 * RADIUS];
    let mut data = Vec::with_capacity(w * h);
    for src in columns.chunks_exact(w) {
        data.resize(data.len() + w, 0);
        let row = data.len() - w..;
        kernels.blur_along(src, &mut line, &mut data[row]);
    }
    data
}

/// Sample columns (or outputs) filtered together: 16 lanes of 32 bits are two AVX2 registers.
const LANES: usize = 16;

/// Row `y` of the column pass of `luma` into `out`.
#[inline(always)]
fn blur_columns(luma: &Luma<'_>, y: usize, out: &mut [u16]) {
    let (w, h) = (luma.width, luma.height);
    let bytes = w * luma.sample_bytes();
    let mut rows: [&[u8]; FILTER.len()] = [&[]; FILTER.len()];
    for (k, row) in rows.iter_mut().enumerate() {
        let r = mirror(y as isize + k as isize - RADIUS as isize, h);
        *row = &luma.data[r * luma.stride..][..bytes];
    }
    if luma.sample_bytes() == 2 {
        simd::for_each_chunk!(LANES, w, column_at_16(&rows, luma.bits, out));
    } else {
        simd::for_each_chunk!(LANES, w, column_at_8(&rows, luma.bits, out));
    }
}

/// The row pass of one row of the column pass, `columns`, into `out`; `line` is scratch of
/// `width + 4` samples, which takes the row with its mirrored edges.
#[inline(always)]
fn blur_along(columns: &[u16], line: &mut [u16], out: &mut [u16]) {
    let w = columns.len();
    line[RADIUS..RADIUS + w].copy_from_slice(columns);
    for i in 1..=RADIUS {
        line[RADIUS - i] = columns[mirror(-(i as isize), w)];
        line[RADIUS + w - 1 + i] = columns[mirror((w - 1 + i) as isize, w)];
    }
    simd::for_each_chunk!(LANES, w, row_at(line, out));
}

/// The column pass of one column from the five rows' samples `a` to `e`: rounded and shifted
/// by `bits`, narrowed to 16 bits. The taps sum to 2¹⁶, so no sum of 16-bit samples overflows
/// 32 bits, and the symmetric taps may weigh the sum of their two samples.
#[inline(always)]
fn column_sum(a: u32, b: u32, c: u32, d: u32, e: u32, bits: u32) -> u16 {
    let sum = FILTER[0] * (a + e) + FILTER[1] * (b + d) + FILTER[2] * c;
    ((sum + (1 << (bits - 1))) >> bits) as u16
}

// The kernels below index fixed-size arrays in plain loops: the array helpers (`map`,
// `from_fn`) are not always inlined or vectorised, and a function that is not inlined is not
// built for AVX2.

#[inline(always)]
fn column_at_8<const N: usize>(
    rows: &[&[u8]; FILTER.len()],
    bits: u32,
    out: &mut [u16],
    at: usize,
) {
    let [r0, r1, r2, r3, r4] = rows;
    let (r0, r1) = (lanes::<u8, N>(r0, at), lanes::<u8, N>(r1, at));
    let (r2, r3, r4) = (
        lanes::<u8, N>(r2, at),
        lanes::<u8, N>(r3, at),
        lanes::<u8, N>(r4, at),
    );
    let out = lanes_mut::<u16, N>(out, at);
    for i in 0..N {
        let (a, b, c) = (u32::from(r0[i]), u32::from(r1[i]), u32::from(r2[i]));
        let (d, e) = (u32::from(r3[i]), u32::from(r4[i]));
        out[i] = column_sum(a, b, c, d, e, bits);
    }
}

/// Sample `i` of a row of native-endian 16-bit samples.
#[inline(always)]
fn sample_16(row: &[u8], i: usize) -> u32 {
    u32::from(u16::from_ne_bytes([row[2 * i], row[2 * i + 1]]))
}

#[inline(always)]
fn column_at_16<const N: usize>(
    rows: &[&[u8]; FILTER.len()],
    bits: u32,
    out: &mut [u16],
    at: usize,
) {
    let bytes = 2 * at..2 * (at + N);
    let [r0, r1, r2, r3, r4] = rows;
    let (r0, r1, r2) = (&r0[bytes.clone()], &r1[bytes.clone()], &r2[bytes.clone()]);
    let (r3, r4) = (&r3[bytes.clone()], &r4[bytes]);
    for (i, out) in lanes_mut::<u16, N>(out, at).iter_mut().enumerate() {
        let (a, b, c) = (sample_16(r0, i), sample_16(r1, i), sample_16(r2, i));
        let (d, e) = (sample_16(r3, i), sample_16(r4, i));
        *out = column_sum(a, b, c, d, e, bits);
    }
}

/// The row pass of `N` outputs from `at`, from the column-filtered `line` (mirrored edges
/// included): rounded and shifted by 16.
#[inline(always)]
fn row_at<const N: usize>(line: &[u16], out: &mut [u16], at: usize) {
    let (l0, l1) = (lanes::<u16, N>(line, at), lanes::<u16, N>(line, at + 1));
    let (l2, l3) = (lanes::<u16, N>(line, at + 2), lanes::<u16, N>(line, at + 3));
    let l4 = lanes::<u16, N>(line, at + 4);
    let out = lanes_mut::<u16, N>(out, at);
    for i in 0..N {
        let (a, b, c) = (u32::from(l0[i]), u32::from(l1[i]), u32::from(l2[i]));
        let (d, e) = (u32::from(l3[i]), u32::from(l4[i]));
        let sum = FILTER[0] * (a + e) + FILTER[1] * (b + d) + FILTER[2] * c;
        out[i] = ((sum + (1 << 15)) >> 16) as u16;
    }
}

/// Sum of `|a − b|` over two rows.
#[inline(always)]
fn row_sad(a: &[u16], b: &[u16]) -> u64 {
    // Per piece of 2¹⁶ samples the sum fits in 32 bits.
    a.chunks(1 << 16)
        .zip(b.chunks(1 << 16))
        .map(|(a, b)| {
            let piece: u32 = a
                .iter()
                .zip(b)
                .map(|(&x, &y)| u32::from(x.abs_diff(y)))
                .sum();
            u64::from(piece)
        })
        .sum()
}

/// SAD / 256 / pixels, the division by the pixel count in single precision as libvmaf does.
pub(crate) fn normalised(sad: u64, pixels: usize) -> f64 {
    f64::from((sad as f64 / 256.0) as f32 / pixels as f32)
}

/// The motion between two consecutive blurred frames: SAD / 256 / pixels, with the
/// division by the pixel count in single precision as libvmaf does it.
pub(crate) fn motion_between(previous: &Blurred, current: &Blurred) -> Result<f64, MetricError> {
    motion_on(Isa::detected(), previous, current)
}

/// [`motion_between`] on the given instruction set.
pub(crate) fn motion_on(
    isa: Isa,
    previous: &Blurred,
    current: &Blurred,
) -> Result<f64, MetricError> {
    if (previous.width, previous.height) != (current.width, current.height) {
        return Err(MetricError::SizeMismatch {
            reference: (previous.width, previous.height),
            distorted: (current.width, current.height),
        });
    }
    let sad = simd::with_kernels!(isa, Portable, Avx2, |kernels| {
        let rows = previous.data.chunks(current.width);
        let pairs = rows.zip(current.data.chunks(current.width));
        pairs.map(|(a, b)| kernels.row_sad(a, b)).sum::<u64>()
    });
    Ok(normalised(sad, current.width * current.height))
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

    /// The column pass of every row, vectorised or not, is the weighted sum of the five rows
    /// (mirrored at the edges) that `Luma::accumulate_row` forms, rounded and shifted by the
    /// bit depth.
    #[test]
    fn the_column_pass_is_the_weighted_sum_of_five_rows() {
        for (bits, w, h) in [(8u32, 37, 9), (10, 33, 7), (16, 20, 6), (12, 3, 3)] {
            let samples: Vec<u16> = (0..w * h)
                .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> (32 - bits)) as u16)
                .collect();
            let bytes: Vec<u8> = if bits > 8 {
                samples.iter().flat_map(|v| v.to_ne_bytes()).collect()
            } else {
                samples.iter().map(|&v| v as u8).collect()
            };
            let luma = Luma {
                data: &bytes,
                stride: w * if bits > 8 { 2 } else { 1 },
                width: w,
                height: h,
                bits,
            };
            let isas = [Some(Isa::PORTABLE), Isa::avx2()];
            for y in 0..h {
                let mut accum = vec![0u32; w];
                for (k, &weight) in FILTER.iter().enumerate() {
                    let row = mirror(y as isize + k as isize - RADIUS as isize, h);
                    luma.accumulate_row(row, weight, &mut accum);
                }
                let round = 1 << (bits - 1);
                let expected: Vec<u16> = accum
                    .iter()
                    .map(|&a| ((a + round) >> bits) as u16)
                    .collect();
                for isa in isas.into_iter().flatten() {
                    let mut got = vec![0u16; w];
                    simd::with_kernels!(isa, Portable, Avx2, |kernels| {
                        kernels.blur_columns(&luma, y, &mut got)
                    });
                    assert_eq!(got, expected, "{bits}-bit {w}x{h}, row {y}, {isa:?}");
                }
            }
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
