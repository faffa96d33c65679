//! The separable integer Gaussians of VIF: column pass, row pass, mirrored edges, and the
//! low-pass-and-decimate step between scales.
//!
//! Every sum here is an exact integer (the taps sum to 2¹⁶ and the widths are chosen so that
//! nothing overflows), so the order of the additions is free: the symmetric taps are applied
//! once to the sum of the two samples they weigh, which libvmaf's scalar code does not do but
//! which gives the same integers.
//!
//! The passes over a row are the kernels of [`super::kernels`]: they compute [`LANES`]
//! neighbouring outputs at a time, in fixed-size arrays, with the filter length a constant,
//! which the compiler turns into straight-line vector code.

use super::super::luma::Luma;
use super::super::simd::{self, lanes, lanes_mut};
use super::kernels::Kernels;
use super::products::{BYTE, Bytes, NARROW, Narrow, Products, Wide, round_u32};

/// Gaussian taps per scale, 16-bit fixed point; each set sums to exactly 2¹⁶.
pub const TAPS: [&[u16]; 4] = [
    &[
        489, 935, 1640, 2640, 3896, 5274, 6547, 7455, 7784, 7455, 6547, 5274, 3896, 2640, 1640,
        935, 489,
    ],
    &[1244, 3663, 7925, 12590, 14692, 12590, 7925, 3663, 1244],
    &[3571, 16004, 26386, 16004, 3571],
    &[10904, 43728, 10904],
];

/// Most taps of a filter.
const MAX_TAPS: usize = 17;

/// Outputs computed together by the kernels: 16 lanes of 16 or 32 bits are one or two AVX2
/// registers, few enough for the sums to stay in registers.
const LANES: usize = 16;

/// A packed image of 16-bit samples.
#[derive(Debug)]
pub(super) struct Image {
    pub(super) width: usize,
    pub(super) height: usize,
    data: Vec<u16>,
    /// The largest sample, which decides how the column passes may sum.
    max: u16,
}

impl Image {
    fn new(width: usize, height: usize, data: Vec<u16>) -> Self {
        let max = data.iter().copied().max().unwrap_or(0);
        Self {
            width,
            height,
            data,
            max,
        }
    }

    /// The luma plane's samples, widened to 16 bits.
    pub(super) fn from_luma(luma: &Luma<'_>) -> Self {
        Self::new(luma.width, luma.height, luma.to_u16())
    }

    /// Heap bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.data.capacity() * size_of::<u16>()
    }

    /// Row `y`, which may lie up to `height - 1` rows past either edge: mirrored back inside.
    #[inline(always)]
    fn row(&self, y: isize) -> &[u16] {
        let y = reflect(y, self.height);
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// The rows a filter of `2 · radius + 1` taps reads for output row `y`: `rows[k]` is row
    /// `y + k − radius`, mirrored (entries past the filter are left empty).
    #[inline(always)]
    fn window(&self, y: usize, radius: usize) -> [&[u16]; MAX_TAPS] {
        let mut rows: [&[u16]; MAX_TAPS] = [&[]; MAX_TAPS];
        for (k, row) in rows[..=2 * radius].iter_mut().enumerate() {
            *row = self.row(y as isize + k as isize - radius as isize);
        }
        rows
    }
}

/// Index `i` of a line of `n` samples, `-n < i < 2n - 1`, mirrored inside without repeating
/// the edge sample: `-i` reads `i`, `n - 1 + i` reads `n - 1 - i`.
#[inline(always)]
pub(super) fn reflect(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = if i < 0 {
        -i
    } else if i >= n {
        2 * (n - 1) - i
    } else {
        i
    };
    m as usize
}

/// Right shifts of the column pass at `scale`, for the mean and for the second moments: scale
/// 0 brings `bits`-bit samples to 16 bits, later scales start from 16-bit samples.
fn column_shifts(scale: usize, bits: u32) -> (u32, u32) {
    if scale == 0 {
        (bits, 2 * (bits - 8))
    } else {
        (16, 16)
    }
}

/// Fills the `radius` samples on each side of `line[radius..len - radius]` by mirroring.
#[inline(always)]
fn mirror_edges<T: Copy>(line: &mut [T], radius: usize) {
    let last = line.len() - 1 - radius;
    for f in 1..=radius {
        line[radius - f] = line[radius + f];
        line[last + f] = line[last - f];
    }
}

/// Row pass of a mean: `out[j] = Σₖ tapₖ · line[j + k]`, kept unshifted.
#[inline(always)]
pub(super) fn row_mean(line: &[u16], taps: &[u16], out: &mut [u32]) {
    simd::for_each_chunk!(LANES, out.len(), row_mean_at(line, taps, out));
}

#[inline(always)]
fn row_mean_at<const N: usize>(line: &[u16], taps: &[u16], out: &mut [u32], at: usize) {
    let radius = taps.len() / 2;
    let centre = u32::from(taps[radius]);
    let mut sum = [0u32; N];
    let mid = lanes::<u16, N>(line, at + radius);
    for i in 0..N {
        sum[i] = centre * u32::from(mid[i]);
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let tap = u32::from(tap);
        let left = lanes::<u16, N>(line, at + k);
        let right = lanes::<u16, N>(line, at + 2 * radius - k);
        for i in 0..N {
            sum[i] += tap * (u32::from(left[i]) + u32::from(right[i]));
        }
    }
    *lanes_mut::<u32, N>(out, at) = sum;
}

/// Row pass of a second moment: `out[j] = Σₖ tapₖ · line[j + k]`, rounded and shifted by 16.
///
/// The sum needs 48 bits. It is computed as two 32-bit sums instead, of the high and the low
/// 16 bits of the values (kept in `line_hi`, `line_lo`, scratch of `line.len()` values): both
/// are below `2¹⁶ · 2¹⁶` (the taps sum to 2¹⁶), and so is a symmetric pair of taps times the
/// sum of its two values (an outer tap is below 2¹⁴). Then
/// `(hi · 2¹⁶ + lo + 2¹⁵) >> 16 = hi + ((lo + 2¹⁵) >> 16)`, which is below 2³² (the values
/// are).
#[inline(always)]
pub(super) fn row_moment(
    line: &[u32],
    taps: &[u16],
    (line_hi, line_lo): (&mut [u32], &mut [u32]),
    out: &mut [u32],
) {
    let n = line.len();
    let (line_hi, line_lo) = (&mut line_hi[..n], &mut line_lo[..n]);
    for ((hi, lo), &v) in line_hi.iter_mut().zip(line_lo.iter_mut()).zip(line) {
        (*hi, *lo) = (v >> 16, v & 0xffff);
    }
    let halves = (&*line_hi, &*line_lo);
    simd::for_each_chunk!(LANES, out.len(), row_moment_at(halves, taps, out));
}

#[inline(always)]
fn row_moment_at<const N: usize>(
    (line_hi, line_lo): (&[u32], &[u32]),
    taps: &[u16],
    out: &mut [u32],
    at: usize,
) {
    let radius = taps.len() / 2;
    let centre = u32::from(taps[radius]);
    let (mut hi, mut lo) = ([0u32; N], [0u32; N]);
    let (mid_hi, mid_lo) = (
        lanes::<u32, N>(line_hi, at + radius),
        lanes::<u32, N>(line_lo, at + radius),
    );
    for i in 0..N {
        hi[i] = centre * mid_hi[i];
        lo[i] = centre * mid_lo[i];
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let tap = u32::from(tap);
        let (left_hi, left_lo) = (
            lanes::<u32, N>(line_hi, at + k),
            lanes::<u32, N>(line_lo, at + k),
        );
        let right = at + 2 * radius - k;
        let (right_hi, right_lo) = (
            lanes::<u32, N>(line_hi, right),
            lanes::<u32, N>(line_lo, right),
        );
        for i in 0..N {
            hi[i] += tap * (left_hi[i] + right_hi[i]);
            lo[i] += tap * (left_lo[i] + right_lo[i]);
        }
    }
    let out = lanes_mut::<u32, N>(out, at);
    for i in 0..N {
        out[i] = hi[i] + ((lo[i] + (1 << 15)) >> 16);
    }
}

/// Column pass of a mean alone (for the low-pass before decimation), rounded and shifted.
///
/// The column passes take their taps as a slice: with the filter length a constant, the
/// compiler unrolls them into more code than it then vectorises.
#[inline(always)]
fn column_mean(image: &Image, y: usize, taps: &[u16], shift: u32, out: &mut [u16]) {
    let rows = image.window(y, taps.len() / 2);
    simd::for_each_chunk!(LANES, image.width, column_mean_at(&rows, taps, shift, out));
}

#[inline(always)]
fn column_mean_at<const N: usize>(
    rows: &[&[u16]; MAX_TAPS],
    taps: &[u16],
    shift: u32,
    out: &mut [u16],
    at: usize,
) {
    let radius = taps.len() / 2;
    let centre = u32::from(taps[radius]);
    let mut sum = [0u32; N];
    let mid = lanes::<u16, N>(rows[radius], at);
    for i in 0..N {
        sum[i] = centre * u32::from(mid[i]);
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let above = lanes::<u16, N>(rows[k], at);
        let below = lanes::<u16, N>(rows[2 * radius - k], at);
        for i in 0..N {
            sum[i] += Wide::sum(tap, above[i], below[i]);
        }
    }
    store_means(&sum, shift, out, at);
}

/// Low-passes `image` (at `scale`) with the next scale's Gaussian and keeps the even rows and
/// columns: the image of scale `scale + 1`.
pub(super) fn decimate(kernels: impl Kernels, image: &Image, scale: usize, bits: u32) -> Image {
    let taps = TAPS[scale + 1];
    let shift = if scale == 0 { bits } else { 16 };
    let (width, height) = (image.width / 2, image.height / 2);
    // Grown a row at a time, each row zeroed just before it is written, in cache.
    let mut data = Vec::with_capacity(width * height);
    let mut line = vec![0u16; image.width + taps.len()];
    let mut halves = vec![0u16; image.width + taps.len()];
    for i in 0..height {
        data.resize((i + 1) * width, 0);
        let scratch = (line.as_mut_slice(), halves.as_mut_slice());
        kernels.decimate_row(image, 2 * i, (taps, shift), scratch, &mut data[i * width..]);
    }
    Image::new(width, height, data)
}

/// Row `y` of `image` low-passed with `taps` (the column pass shifted by `shift`), its even
/// columns into `out`. `line` and `halves` (`width + taps.len()` samples each) are scratch.
///
/// Only the even outputs of the row pass are computed: the column-filtered row is split into
/// its even and its odd samples, and output `i` reads samples `2i + k`, which are even sample
/// `i + k / 2` for even `k` and odd sample `i + (k − 1) / 2` for odd `k`. The two taps of a
/// symmetric pair (`k`, `T − 1 − k`) have the same parity, as `T` is odd.
#[inline(always)]
pub(super) fn decimate_row(
    image: &Image,
    y: usize,
    (taps, shift): (&[u16], u32),
    (line, halves): (&mut [u16], &mut [u16]),
    out: &mut [u16],
) {
    let radius = taps.len() / 2;
    let n = image.width + 2 * radius;
    let line = &mut line[..n];
    column_mean(image, y, taps, shift, &mut line[radius..n - radius]);
    mirror_edges(line, radius);
    let (even, odd) = halves.split_at_mut(n.div_ceil(2));
    for (e, &v) in even.iter_mut().zip(line.iter().step_by(2)) {
        *e = v;
    }
    for (o, &v) in odd.iter_mut().zip(line.iter().skip(1).step_by(2)) {
        *o = v;
    }
    let (even, odd) = (&*even, &odd[..n / 2]);
    simd::for_each_chunk!(LANES, out.len(), decimate_along((even, odd), taps, out));
}

/// `N` outputs from `at` of the row pass of a decimation, from the even and the odd samples
/// of the column-filtered row: rounded and shifted by 16.
#[inline(always)]
fn decimate_along<const N: usize>(
    (even, odd): (&[u16], &[u16]),
    taps: &[u16],
    out: &mut [u16],
    at: usize,
) {
    let radius = taps.len() / 2;
    // Sample `2(at + i) + k` of the row, for the `N` outputs `i`.
    let samples = |k: usize| -> &[u16; N] {
        if k.is_multiple_of(2) {
            lanes(even, at + k / 2)
        } else {
            lanes(odd, at + k / 2)
        }
    };
    let centre = u32::from(taps[radius]);
    let mut sum = [0u32; N];
    let mid = samples(radius);
    for i in 0..N {
        sum[i] = centre * u32::from(mid[i]);
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let (left, right) = (samples(k), samples(2 * radius - k));
        for i in 0..N {
            sum[i] += Wide::sum(tap, left[i], right[i]);
        }
    }
    let out = lanes_mut::<u16, N>(out, at);
    for i in 0..N {
        out[i] = round_u32(sum[i], 16) as u16;
    }
}

/// Column pass of the mean and second moment of `image` at row `y`.
#[inline(always)]
pub(super) fn column_moments<P: Products>(
    image: &Image,
    y: usize,
    taps: &[u16],
    shifts: (u32, u32),
    (mean_out, square_out): (&mut [u16], &mut [u32]),
) {
    let rows = image.window(y, taps.len() / 2);
    simd::for_each_chunk!(
        LANES,
        image.width,
        column_moments_at::<P>(&rows, taps, shifts, mean_out, square_out)
    );
}

#[inline(always)]
fn column_moments_at<P: Products, const N: usize>(
    rows: &[&[u16]; MAX_TAPS],
    taps: &[u16],
    (mean_shift, square_shift): (u32, u32),
    mean_out: &mut [u16],
    square_out: &mut [u32],
    at: usize,
) {
    let radius = taps.len() / 2;
    let centre = taps[radius];
    let (mut sum, mut sum_sq) = ([0u32; N], [P::Sum::default(); N]);
    let x = lanes::<u16, N>(rows[radius], at);
    for i in 0..N {
        sum[i] = u32::from(centre) * u32::from(x[i]);
        sum_sq[i] = P::one(centre, x[i], x[i]);
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let above = lanes::<u16, N>(rows[k], at);
        let below = lanes::<u16, N>(rows[2 * radius - k], at);
        for i in 0..N {
            let (a, b) = (above[i], below[i]);
            sum[i] += P::sum(tap, a, b);
            sum_sq[i] += P::two(tap, a, a, b, b);
        }
    }
    store_means(&sum, mean_shift, mean_out, at);
    store_moments::<P, N>(&sum_sq, square_shift, square_out, at);
}

/// Column pass of the distorted image's mean and second moment and of the mean of the
/// product of the two images, at row `y`.
#[inline(always)]
pub(super) fn column_moments_pair<P: Products>(
    (reference, distorted): (&Image, &Image),
    y: usize,
    taps: &[u16],
    shifts: (u32, u32),
    (mean_out, square_out, cross_out): (&mut [u16], &mut [u32], &mut [u32]),
) {
    let radius = taps.len() / 2;
    let (r, d) = (reference.window(y, radius), distorted.window(y, radius));
    simd::for_each_chunk!(
        LANES,
        distorted.width,
        column_moments_pair_at::<P>((&r, &d), taps, shifts, mean_out, square_out, cross_out)
    );
}

#[inline(always)]
fn column_moments_pair_at<P: Products, const N: usize>(
    (reference, distorted): (&[&[u16]; MAX_TAPS], &[&[u16]; MAX_TAPS]),
    taps: &[u16],
    (mean_shift, square_shift): (u32, u32),
    mean_out: &mut [u16],
    square_out: &mut [u32],
    cross_out: &mut [u32],
    at: usize,
) {
    let radius = taps.len() / 2;
    let centre = taps[radius];
    let mut sum = [0u32; N];
    let (mut sum_sq, mut sum_x) = ([P::Sum::default(); N], [P::Sum::default(); N]);
    let d = lanes::<u16, N>(distorted[radius], at);
    let r = lanes::<u16, N>(reference[radius], at);
    for i in 0..N {
        sum[i] = u32::from(centre) * u32::from(d[i]);
        sum_sq[i] = P::one(centre, d[i], d[i]);
        sum_x[i] = P::one(centre, d[i], r[i]);
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let d1 = lanes::<u16, N>(distorted[k], at);
        let d2 = lanes::<u16, N>(distorted[2 * radius - k], at);
        let r1 = lanes::<u16, N>(reference[k], at);
        let r2 = lanes::<u16, N>(reference[2 * radius - k], at);
        for i in 0..N {
            sum[i] += P::sum(tap, d1[i], d2[i]);
            sum_sq[i] += P::two(tap, d1[i], d1[i], d2[i], d2[i]);
            sum_x[i] += P::two(tap, d1[i], r1[i], d2[i], r2[i]);
        }
    }
    store_means(&sum, mean_shift, mean_out, at);
    store_moments::<P, N>(&sum_sq, square_shift, square_out, at);
    store_moments::<P, N>(&sum_x, square_shift, cross_out, at);
}

// The column passes store each output row by itself: the rows may lie in one allocation for
// all the compiler knows, and it could not reorder interleaved stores into vector ones.

/// Stores `N` column sums of means from column `at`, rounded and shifted by `shift`.
#[inline(always)]
fn store_means<const N: usize>(sum: &[u32; N], shift: u32, out: &mut [u16], at: usize) {
    let out = lanes_mut::<u16, N>(out, at);
    for i in 0..N {
        out[i] = round_u32(sum[i], shift) as u16;
    }
}

/// Stores `N` column sums of second moments from column `at`, rounded and shifted by `shift`.
#[inline(always)]
fn store_moments<P: Products, const N: usize>(
    sum: &[P::Sum; N],
    shift: u32,
    out: &mut [u32],
    at: usize,
) {
    let out = lanes_mut::<u32, N>(out, at);
    for i in 0..N {
        out[i] = P::round(sum[i], shift);
    }
}

/// Row-filtered moments of one row of the distorted image.
#[derive(Debug, Clone, Copy)]
pub(super) struct Moments<'a> {
    /// Mean of the distorted image (16-bit sample, 16 fraction bits).
    pub(super) mean: &'a [u32],
    /// Second moment of the distorted image.
    pub(super) square: &'a [u32],
    /// Mean of the product of reference and distorted images.
    pub(super) cross: &'a [u32],
}

/// Working rows for filtering one image row at a time, sized for the scale-0 width.
#[derive(Debug)]
pub(super) struct RowBuffers {
    /// Column-filtered rows, with room for the mirrored edges.
    mean: Vec<u16>,
    square: Vec<u32>,
    cross: Vec<u32>,
    /// Scratch for the row pass of a second moment (its high and low halves).
    halves: (Vec<u32>, Vec<u32>),
    /// Row-filtered results.
    out_mean: Vec<u32>,
    out_square: Vec<u32>,
    out_cross: Vec<u32>,
}

impl RowBuffers {
    /// Buffers for rows of up to `width` samples, any scale.
    pub(super) fn new(width: usize) -> Self {
        let padded = width + TAPS[0].len() - 1;
        Self {
            mean: vec![0; padded],
            square: vec![0; padded],
            cross: vec![0; padded],
            halves: (vec![0; padded], vec![0; padded]),
            out_mean: vec![0; width],
            out_square: vec![0; width],
            out_cross: vec![0; width],
        }
    }

    /// Mean and second moment of `image` (at `scale`) around row `y`.
    pub(super) fn reference_moments(
        &mut self,
        kernels: impl Kernels,
        image: &Image,
        y: usize,
        scale: usize,
        bits: u32,
    ) -> (&[u32], &[u32]) {
        let radius = TAPS[scale].len() / 2;
        let w = image.width;
        let shifts = column_shifts(scale, bits);
        let mean = &mut self.mean[..w + 2 * radius];
        let square = &mut self.square[..w + 2 * radius];
        let inner = radius..radius + w;
        let outs = (&mut mean[inner.clone()], &mut square[inner]);
        let k = kernels;
        let taps = TAPS[scale];
        match image.max {
            0..BYTE => k.column_moments::<Bytes>(image, y, taps, shifts, outs),
            BYTE..NARROW => k.column_moments::<Narrow>(image, y, taps, shifts, outs),
            _ => k.column_moments::<Wide>(image, y, taps, shifts, outs),
        }
        mirror_edges(mean, radius);
        mirror_edges(square, radius);
        let out_mean = &mut self.out_mean[..w];
        let out_square = &mut self.out_square[..w];
        let halves = (self.halves.0.as_mut_slice(), self.halves.1.as_mut_slice());
        kernels.row_mean(mean, taps, out_mean);
        kernels.row_moment(square, taps, halves, out_square);
        (out_mean, out_square)
    }

    /// Mean and second moment of `distorted`, and the mean of the product of `reference` and
    /// `distorted` (both at `scale`), around row `y`.
    pub(super) fn distorted_moments(
        &mut self,
        kernels: impl Kernels,
        (reference, distorted): (&Image, &Image),
        y: usize,
        scale: usize,
        bits: u32,
    ) -> Moments<'_> {
        let radius = TAPS[scale].len() / 2;
        let w = distorted.width;
        let shifts = column_shifts(scale, bits);
        let mean = &mut self.mean[..w + 2 * radius];
        let square = &mut self.square[..w + 2 * radius];
        let cross = &mut self.cross[..w + 2 * radius];
        let inner = radius..radius + w;
        let outs = (
            &mut mean[inner.clone()],
            &mut square[inner.clone()],
            &mut cross[inner],
        );
        let (k, images) = (kernels, (reference, distorted));
        let taps = TAPS[scale];
        match reference.max.max(distorted.max) {
            0..BYTE => k.column_moments_pair::<Bytes>(images, y, taps, shifts, outs),
            BYTE..NARROW => k.column_moments_pair::<Narrow>(images, y, taps, shifts, outs),
            _ => k.column_moments_pair::<Wide>(images, y, taps, shifts, outs),
        }
        mirror_edges(mean, radius);
        mirror_edges(square, radius);
        mirror_edges(cross, radius);
        let out_mean = &mut self.out_mean[..w];
        let out_square = &mut self.out_square[..w];
        let out_cross = &mut self.out_cross[..w];
        let (hi, lo) = (&mut self.halves.0, &mut self.halves.1);
        kernels.row_mean(mean, taps, out_mean);
        kernels.row_moment(square, taps, (hi, lo), out_square);
        kernels.row_moment(cross, taps, (hi, lo), out_cross);
        Moments {
            mean: out_mean,
            square: out_square,
            cross: out_cross,
        }
    }
}
