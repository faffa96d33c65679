//! The separable integer Gaussians of VIF: column pass, row pass, mirrored edges, and the
//! low-pass-and-decimate step between scales.
//!
//! Every sum here is an exact integer (the taps sum to 2¹⁶ and the widths are chosen so that
//! nothing overflows), so the order of the additions is free: the symmetric taps are applied
//! once to the sum of the two samples they weigh, which libvmaf's scalar code does not do but
//! which gives the same integers.

use super::super::luma::Luma;
use super::products::{BYTE, Bytes, NARROW, Narrow, Products, Wide};

/// Gaussian taps per scale, 16-bit fixed point; each set sums to exactly 2¹⁶.
pub(super) const TAPS: [&[u16]; 4] = [
    &[
        489, 935, 1640, 2640, 3896, 5274, 6547, 7455, 7784, 7455, 6547, 5274, 3896, 2640, 1640,
        935, 489,
    ],
    &[1244, 3663, 7925, 12590, 14692, 12590, 7925, 3663, 1244],
    &[3571, 16004, 26386, 16004, 3571],
    &[10904, 43728, 10904],
];

/// Columns filtered together by a column pass: their sums stay in registers or L1.
const CHUNK: usize = 64;

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
    fn row(&self, y: isize) -> &[u16] {
        let y = reflect(y, self.height);
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// Columns `cols` of the rows `y - d` and `y + d`, the two rows a symmetric tap weighs.
    fn row_pair(&self, y: usize, d: usize, cols: &std::ops::Range<usize>) -> (&[u16], &[u16]) {
        let (y, d) = (y as isize, d as isize);
        (
            &self.row(y - d)[cols.clone()],
            &self.row(y + d)[cols.clone()],
        )
    }
}

/// Index `i` of a line of `n` samples, `-n < i < 2n - 1`, mirrored inside without repeating
/// the edge sample: `-i` reads `i`, `n - 1 + i` reads `n - 1 - i`.
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

/// `v / 2^shift`, rounded half up (no rounding term for a zero shift).
fn round_shift(v: u64, shift: u32) -> u64 {
    (v + ((1 << shift) >> 1)) >> shift
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
fn mirror_edges<T: Copy>(line: &mut [T], radius: usize) {
    let last = line.len() - 1 - radius;
    for f in 1..=radius {
        line[radius - f] = line[radius + f];
        line[last + f] = line[last - f];
    }
}

/// Row pass of a mean: `out[j] = Σₖ tapₖ · line[j + k]`, kept unshifted.
fn row_mean(line: &[u16], taps: &[u16], out: &mut [u32]) {
    let radius = taps.len() / 2;
    let w = out.len();
    let centre = u32::from(taps[radius]);
    for (o, &v) in out.iter_mut().zip(&line[radius..radius + w]) {
        *o = centre * u32::from(v);
    }
    for (k, &tap) in taps[..radius].iter().enumerate() {
        let tap = u32::from(tap);
        let (left, right) = (&line[k..k + w], &line[2 * radius - k..2 * radius - k + w]);
        for ((o, &a), &b) in out.iter_mut().zip(left).zip(right) {
            *o += tap * (u32::from(a) + u32::from(b));
        }
    }
}

/// Row pass of a second moment: `out[j] = Σₖ tapₖ · line[j + k]`, rounded and shifted by 16.
fn row_moment(line: &[u32], taps: &[u16], out: &mut [u32]) {
    for (start, out) in (0..).step_by(CHUNK).zip(out.chunks_mut(CHUNK)) {
        let mut sum = [0u64; CHUNK];
        for (k, &tap) in taps.iter().enumerate() {
            let tap = u64::from(tap);
            for (s, &v) in sum.iter_mut().zip(&line[start + k..start + k + out.len()]) {
                *s += tap * u64::from(v);
            }
        }
        for (o, &s) in out.iter_mut().zip(&sum) {
            *o = round_shift(s, 16) as u32;
        }
    }
}

/// Column pass of a mean alone (for the low-pass before decimation), rounded and shifted.
fn column_mean(image: &Image, y: usize, taps: &[u16], shift: u32, out: &mut [u16]) {
    let radius = taps.len() / 2;
    for (start, out) in (0..).step_by(CHUNK).zip(out.chunks_mut(CHUNK)) {
        let cols = start..start + out.len();
        let mut sum = [0u32; CHUNK];
        let sum = &mut sum[..out.len()];
        let centre = u32::from(taps[radius]);
        for (s, &v) in sum.iter_mut().zip(&image.row(y as isize)[cols.clone()]) {
            *s = centre * u32::from(v);
        }
        for (k, &tap) in taps[..radius].iter().enumerate() {
            let (above, below) = image.row_pair(y, radius - k, &cols);
            let tap = u32::from(tap);
            for ((s, &a), &b) in sum.iter_mut().zip(above).zip(below) {
                *s += tap * (u32::from(a) + u32::from(b));
            }
        }
        for (o, &s) in out.iter_mut().zip(sum.iter()) {
            *o = round_shift(u64::from(s), shift) as u16;
        }
    }
}

/// Low-passes `image` (at `scale`) with the next scale's Gaussian and keeps the even rows and
/// columns: the image of scale `scale + 1`.
pub(super) fn decimate(image: &Image, scale: usize, bits: u32) -> Image {
    let taps = TAPS[scale + 1];
    let radius = taps.len() / 2;
    let shift = if scale == 0 { bits } else { 16 };
    let (width, height) = (image.width / 2, image.height / 2);
    let mut data = vec![0u16; width * height];
    let mut line = vec![0u16; image.width + 2 * radius];
    let mut sums = vec![0u32; image.width];
    for (i, out) in data.chunks_exact_mut(width).enumerate() {
        column_mean(
            image,
            2 * i,
            taps,
            shift,
            &mut line[radius..radius + image.width],
        );
        mirror_edges(&mut line, radius);
        row_mean(&line, taps, &mut sums);
        for (o, &s) in out.iter_mut().zip(sums.iter().step_by(2)) {
            *o = round_shift(u64::from(s), 16) as u16;
        }
    }
    Image::new(width, height, data)
}

/// Column pass of the mean and second moment of `image` at row `y`.
fn column_moments<P: Products>(
    image: &Image,
    y: usize,
    taps: &[u16],
    (mean_shift, square_shift): (u32, u32),
    mean_out: &mut [u16],
    square_out: &mut [u32],
) {
    let radius = taps.len() / 2;
    let outs = mean_out.chunks_mut(CHUNK).zip(square_out.chunks_mut(CHUNK));
    for (start, (mean_out, square_out)) in (0..).step_by(CHUNK).zip(outs) {
        let cols = start..start + mean_out.len();
        let (mut sum, mut sum_sq) = ([0u32; CHUNK], [P::Sum::default(); CHUNK]);
        let centre = taps[radius];
        let row = &image.row(y as isize)[cols.clone()];
        for ((s, q), &x) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(row) {
            *s = u32::from(centre) * u32::from(x);
            *q = P::one(centre, x, x);
        }
        for (k, &tap) in taps[..radius].iter().enumerate() {
            let (above, below) = image.row_pair(y, radius - k, &cols);
            let sums = sum.iter_mut().zip(sum_sq.iter_mut());
            for ((s, q), (&a, &b)) in sums.zip(above.iter().zip(below)) {
                *s += P::sum(tap, a, b);
                *q += P::two(tap, a, a, b, b);
            }
        }
        let outs = mean_out.iter_mut().zip(square_out.iter_mut());
        for ((m, q), (&s, &ss)) in outs.zip(sum.iter().zip(sum_sq.iter())) {
            *m = round_shift(u64::from(s), mean_shift) as u16;
            *q = round_shift(ss.into(), square_shift) as u32;
        }
    }
}

/// Column pass of the distorted image's mean and second moment and of the mean of the
/// product of the two images, at row `y`.
fn column_moments_pair<P: Products>(
    reference: &Image,
    distorted: &Image,
    y: usize,
    taps: &[u16],
    (mean_shift, square_shift): (u32, u32),
    (mean_out, square_out, cross_out): (&mut [u16], &mut [u32], &mut [u32]),
) {
    let radius = taps.len() / 2;
    let outs = mean_out.chunks_mut(CHUNK).zip(square_out.chunks_mut(CHUNK));
    for (start, ((mean_out, square_out), cross_out)) in (0..)
        .step_by(CHUNK)
        .zip(outs.zip(cross_out.chunks_mut(CHUNK)))
    {
        let cols = start..start + mean_out.len();
        let mut sum = [0u32; CHUNK];
        let (mut sum_sq, mut sum_x) = ([P::Sum::default(); CHUNK], [P::Sum::default(); CHUNK]);
        let centre = taps[radius];
        let d = &distorted.row(y as isize)[cols.clone()];
        let r = &reference.row(y as isize)[cols.clone()];
        let sums = sum.iter_mut().zip(sum_sq.iter_mut()).zip(sum_x.iter_mut());
        for (((s, q), x), (&d, &r)) in sums.zip(d.iter().zip(r)) {
            *s = u32::from(centre) * u32::from(d);
            *q = P::one(centre, d, d);
            *x = P::one(centre, d, r);
        }
        for (k, &tap) in taps[..radius].iter().enumerate() {
            let (d1, d2) = distorted.row_pair(y, radius - k, &cols);
            let (r1, r2) = reference.row_pair(y, radius - k, &cols);
            let sums = sum.iter_mut().zip(sum_sq.iter_mut()).zip(sum_x.iter_mut());
            let rows = d1.iter().zip(d2).zip(r1.iter().zip(r2));
            for (((s, q), x), ((&d1, &d2), (&r1, &r2))) in sums.zip(rows) {
                *s += P::sum(tap, d1, d2);
                *q += P::two(tap, d1, d1, d2, d2);
                *x += P::two(tap, d1, r1, d2, r2);
            }
        }
        let outs = mean_out
            .iter_mut()
            .zip(square_out.iter_mut())
            .zip(cross_out.iter_mut());
        let sums = sum.iter().zip(sum_sq.iter()).zip(sum_x.iter());
        for (((m, q), c), ((&s, &ss), &sx)) in outs.zip(sums) {
            *m = round_shift(u64::from(s), mean_shift) as u16;
            *q = round_shift(ss.into(), square_shift) as u32;
            *c = round_shift(sx.into(), square_shift) as u32;
        }
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
            out_mean: vec![0; width],
            out_square: vec![0; width],
            out_cross: vec![0; width],
        }
    }

    /// Mean and second moment of `image` (at `scale`) around row `y`.
    pub(super) fn reference_moments(
        &mut self,
        image: &Image,
        y: usize,
        scale: usize,
        bits: u32,
    ) -> (&[u32], &[u32]) {
        let taps = TAPS[scale];
        let radius = taps.len() / 2;
        let w = image.width;
        let shifts = column_shifts(scale, bits);
        let mean = &mut self.mean[..w + 2 * radius];
        let square = &mut self.square[..w + 2 * radius];
        let inner = radius..radius + w;
        let (mean_in, square_in) = (&mut mean[inner.clone()], &mut square[inner]);
        match image.max {
            0..BYTE => column_moments::<Bytes>(image, y, taps, shifts, mean_in, square_in),
            BYTE..NARROW => column_moments::<Narrow>(image, y, taps, shifts, mean_in, square_in),
            _ => column_moments::<Wide>(image, y, taps, shifts, mean_in, square_in),
        }
        mirror_edges(mean, radius);
        mirror_edges(square, radius);
        let out_mean = &mut self.out_mean[..w];
        let out_square = &mut self.out_square[..w];
        row_mean(mean, taps, out_mean);
        row_moment(square, taps, out_square);
        (out_mean, out_square)
    }

    /// Mean and second moment of `distorted`, and the mean of the product of `reference` and
    /// `distorted` (both at `scale`), around row `y`.
    pub(super) fn distorted_moments(
        &mut self,
        reference: &Image,
        distorted: &Image,
        y: usize,
        scale: usize,
        bits: u32,
    ) -> Moments<'_> {
        let taps = TAPS[scale];
        let radius = taps.len() / 2;
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
        let (r, d) = (reference, distorted);
        match reference.max.max(distorted.max) {
            0..BYTE => column_moments_pair::<Bytes>(r, d, y, taps, shifts, outs),
            BYTE..NARROW => column_moments_pair::<Narrow>(r, d, y, taps, shifts, outs),
            _ => column_moments_pair::<Wide>(r, d, y, taps, shifts, outs),
        }
        mirror_edges(mean, radius);
        mirror_edges(square, radius);
        mirror_edges(cross, radius);
        let out_mean = &mut self.out_mean[..w];
        let out_square = &mut self.out_square[..w];
        let out_cross = &mut self.out_cross[..w];
        row_mean(mean, taps, out_mean);
        row_moment(square, taps, out_square);
        row_moment(cross, taps, out_cross);
        Moments {
            mean: out_mean,
            square: out_square,
            cross: out_cross,
        }
    }
}
