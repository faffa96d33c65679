//! One level of ADM's integer wavelet transform: the Daubechies 2 (4-tap) filters in 16-bit
//! fixed point, applied down the columns and then along the rows, keeping every other output.
//!
//! Output `i` of a line of `n` samples reads samples `2i - 1 ..= 2i + 2`, mirrored at the ends
//! as [`mirror`] does, so a line yields `⌈n / 2⌉` outputs. Each level produces the approximation
//! band (low-pass both ways), which feeds the next level, and the three detail bands named as
//! libvmaf names them: `h` (high-pass down the columns, low-pass along the rows), `v` (low-pass
//! down, high-pass along) and `d` (high-pass both ways).
//!
//! Rounding follows libvmaf exactly:
//! - scale 0, from the luma samples: the vertical pass is rounded and shifted right by the bit
//!   depth (8 for 8-bit input) after the low-pass output is centred by subtracting
//!   `46342 · 2^(bits - 1)` (the low-pass taps' sum times half the range); the horizontal pass
//!   is rounded and shifted by 16. Coefficients are 16-bit.
//! - scales 1–3, from the previous approximation band, in 64-bit accumulators: vertical shifts
//!   of 0, 16, 16 and horizontal shifts of 15, 16, 15 (each rounded). Coefficients are 32-bit.

use super::super::luma::Luma;
use super::super::simd;
use super::kernels::{Kernels, Portable};
use super::region::mirror;

/// Low-pass analysis taps: Daubechies 2 in Q15 (they sum to ≈ √2 · 2^15).
pub const LO: [i32; 4] = [15826, 27411, 7345, -4240];
/// High-pass analysis taps.
pub const HI: [i32; 4] = [-4240, -7345, 27411, -15826];
/// Sum of the low-pass taps (the high-pass taps sum to 0).
pub const LO_SUM: i32 = 46342;

/// The three detail bands of one level, rows `width` long: index 0 is `h`, 1 is `v`, 2 is `d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Details<T> {
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) bands: [Vec<T>; 3],
}

impl<T> Details<T> {
    /// Heap bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.bands
            .iter()
            .map(|b| b.capacity() * size_of::<T>())
            .sum()
    }
}

/// One level of the transform: the approximation band and the detail bands, all the same size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Level<T> {
    pub(super) approx: Vec<T>,
    pub(super) details: Details<T>,
}

/// The positions read by output `i` of a line of `n` samples.
#[inline(always)]
pub(super) fn taps(i: usize, n: usize) -> [usize; 4] {
    let c = 2 * i as isize;
    [c - 1, c, c + 1, c + 2].map(|k| mirror(k, n))
}

#[inline(always)]
fn dot32(taps: [i32; 4], s: [i32; 4]) -> i32 {
    // libvmaf's 32-bit accumulator may overflow midway for 16-bit input; the final value fits,
    // so two's-complement wrapping gives the right result as it does in C.
    (0..4).fold(0i32, |acc, k| acc.wrapping_add(taps[k].wrapping_mul(s[k])))
}

#[inline(always)]
fn dot64(taps: [i32; 4], s: [i64; 4]) -> i64 {
    (0..4).fold(0, |acc, k| acc + i64::from(taps[k]) * s[k])
}

/// An approximation coefficient, input of the next level: the dot product with four taps,
/// exact in 64 bits.
pub(super) trait Approx: Copy {
    fn dot(taps: [i32; 4], s: [Self; 4]) -> i64;
}

impl Approx for i16 {
    #[inline(always)]
    fn dot(taps: [i32; 4], s: [i16; 4]) -> i64 {
        // |Σ| ≤ 50582 · 2^15 < 2^31: exact in 32 bits, which vectorises better.
        i64::from(dot32(taps, s.map(i32::from)))
    }
}

impl Approx for i32 {
    #[inline(always)]
    fn dot(taps: [i32; 4], s: [i32; 4]) -> i64 {
        dot64(taps, s.map(i64::from))
    }
}

/// Filters four equally long columns of samples, position by position, into a low-pass and a
/// high-pass row.
#[inline(always)]
fn vertical<S, O>(
    rows: [impl Iterator<Item = S>; 4],
    lo: &mut [O],
    hi: &mut [O],
    filter: impl Fn([S; 4]) -> (O, O),
) {
    let [r0, r1, r2, r3] = rows;
    let outs = lo.iter_mut().zip(hi.iter_mut());
    for (((l, h), (a, b)), (c, d)) in outs.zip(r0.zip(r1)).zip(r2.zip(r3)) {
        (*l, *h) = filter([a, b, c, d]);
    }
}

/// Filters a line into every other low-pass and high-pass output, mirroring at the ends.
#[inline(always)]
fn horizontal<S: Copy, O>(
    line: &[S],
    lo: &mut [O],
    hi: &mut [O],
    filter: impl Fn([S; 4]) -> (O, O),
) {
    let n = line.len();
    let at = |j: usize| taps(j, n).map(|t| line[t]);
    // Outputs 1..interior read no mirrored sample (2j + 2 ≤ n - 1). Output j reads the pairs
    // of samples starting at 2j - 1 and 2j + 1.
    let interior = (n - 1) / 2;
    (lo[0], hi[0]) = filter(at(0));
    let pairs = line[1..].chunks_exact(2).zip(line[3..].chunks_exact(2));
    for ((l, h), (p, q)) in lo[1..interior]
        .iter_mut()
        .zip(&mut hi[1..interior])
        .zip(pairs)
    {
        (*l, *h) = filter([p[0], p[1], q[0], q[1]]);
    }
    for j in interior..lo.len() {
        (lo[j], hi[j]) = filter(at(j));
    }
}

/// Computes the rows of one level of the transform, one at a time.
pub(super) trait RowTransform {
    /// The coefficient type of the level.
    type Coef: Copy + Default;
    /// Width and height of the level's bands.
    fn size(&self) -> (usize, usize);
    /// Computes row `i` of the four bands, given in the order approximation, `v`, `h`, `d`
    /// (the order in which the vertical low and high passes split into horizontal ones).
    fn row(&mut self, i: usize, out: [&mut [Self::Coef]; 4]);
}

/// Scale 0: the transform of a luma plane (at least 5 samples each way), its rows computed by
/// the kernels `K`.
#[derive(Debug)]
pub(super) struct LumaTransform<'a, K = Portable> {
    luma: Luma<'a>,
    lo: Vec<i16>,
    hi: Vec<i16>,
    kernels: K,
}

impl<'a> LumaTransform<'a> {
    pub(super) fn new(luma: &Luma<'a>) -> Self {
        Self::with(Portable, luma)
    }
}

impl<'a, K: Kernels> LumaTransform<'a, K> {
    pub(super) fn with(kernels: K, luma: &Luma<'a>) -> Self {
        Self {
            luma: *luma,
            lo: vec![0; luma.width],
            hi: vec![0; luma.width],
            kernels,
        }
    }
}

impl<K: Kernels> RowTransform for LumaTransform<'_, K> {
    type Coef = i16;

    fn size(&self) -> (usize, usize) {
        (self.luma.width.div_ceil(2), self.luma.height.div_ceil(2))
    }

    fn row(&mut self, i: usize, out: [&mut [i16]; 4]) {
        let scratch = (self.lo.as_mut_slice(), self.hi.as_mut_slice());
        self.kernels.luma_row(&self.luma, scratch, i, out);
    }
}

/// Row `i` of the four bands of the transform of `luma`, in the order of
/// [`RowTransform::row`]; `lo` and `hi` are scratch rows of `luma.width` samples.
#[inline(always)]
pub(super) fn luma_row(
    luma: &Luma<'_>,
    (lo, hi): (&mut [i16], &mut [i16]),
    i: usize,
    out: [&mut [i16]; 4],
) {
    let shift = if luma.sample_bytes() == 1 {
        8
    } else {
        luma.bits
    };
    let round = 1i32 << (shift - 1);
    let offset = LO_SUM * round;
    let down = move |s: [i32; 4]| {
        let lo = dot32(LO, s).wrapping_sub(offset).wrapping_add(round) >> shift;
        let hi = dot32(HI, s).wrapping_add(round) >> shift;
        (lo as i16, hi as i16)
    };
    let along = |s: [i16; 4]| {
        let s = s.map(i32::from);
        let lo = (dot32(LO, s) + 32768) >> 16;
        let hi = (dot32(HI, s) + 32768) >> 16;
        (lo as i16, hi as i16)
    };
    let bytes = luma.width * luma.sample_bytes();
    let rows = taps(i, luma.height).map(|y| &luma.data[y * luma.stride..][..bytes]);
    let wide = luma.sample_bytes() == 2;
    simd::for_each_chunk!(
        LANES,
        luma.width,
        luma_vertical_at(&rows, wide, down, lo, hi)
    );
    let [a, v, h, d] = out;
    horizontal(lo, a, v, along);
    horizontal(hi, h, d, along);
}

/// Samples (or outputs) computed together by the luma's vertical pass: 16 lanes of 32 bits
/// are two AVX2 registers.
const LANES: usize = 16;

/// Luma samples `at..at + N` of a row of bytes: one byte each, or (`wide`) native-endian
/// 16-bit words.
#[inline(always)]
fn luma_samples<const N: usize>(row: &[u8], wide: bool, at: usize) -> [i32; N] {
    let mut samples = [0; N];
    if wide {
        let bytes = &row[2 * at..2 * (at + N)];
        for (i, s) in samples.iter_mut().enumerate() {
            *s = i32::from(u16::from_ne_bytes([bytes[2 * i], bytes[2 * i + 1]]));
        }
    } else {
        let bytes = &row[at..at + N];
        for (s, &b) in samples.iter_mut().zip(bytes) {
            *s = i32::from(b);
        }
    }
    samples
}

/// The vertical pass of the luma transform over columns `at..at + N`: the four rows' samples
/// (the column's taps), each column filtered by `down`.
#[inline(always)]
fn luma_vertical_at<const N: usize>(
    rows: &[&[u8]; 4],
    wide: bool,
    down: impl Fn([i32; 4]) -> (i16, i16),
    lo: &mut [i16],
    hi: &mut [i16],
    at: usize,
) {
    // Not `rows.map(…)`: array methods are not always inlined.
    let r0 = luma_samples::<N>(rows[0], wide, at);
    let r1 = luma_samples::<N>(rows[1], wide, at);
    let r2 = luma_samples::<N>(rows[2], wide, at);
    let r3 = luma_samples::<N>(rows[3], wide, at);
    let (lo, hi) = (&mut lo[at..at + N], &mut hi[at..at + N]);
    for i in 0..N {
        (lo[i], hi[i]) = down([r0[i], r1[i], r2[i], r3[i]]);
    }
}

/// Scales 1–3: the transform of the previous level's `width × height` approximation band, its
/// rows computed by the kernels `K`.
/// Rounding constant and right shift of the vertical pass of levels 1, 2 and 3.
pub const COARSE_VERTICAL: [(i64, u32); 3] = [(0, 0), (32768, 16), (32768, 16)];
/// Rounding constant and right shift of the horizontal pass of levels 1, 2 and 3.
pub const COARSE_HORIZONTAL: [(i64, u32); 3] = [(16384, 15), (32768, 16), (16384, 15)];

#[derive(Debug)]
pub(super) struct CoarseTransform<'a, T, K = Portable> {
    approx: &'a [T],
    width: usize,
    height: usize,
    /// Rounding constant and shift of the vertical and the horizontal pass.
    vertical: (i64, u32),
    horizontal: (i64, u32),
    lo: Vec<i32>,
    hi: Vec<i32>,
    kernels: K,
}

impl<'a, T> CoarseTransform<'a, T> {
    pub(super) fn new(approx: &'a [T], width: usize, height: usize, scale: usize) -> Self {
        Self::with(Portable, approx, (width, height), scale)
    }
}

impl<'a, T, K: Kernels> CoarseTransform<'a, T, K> {
    pub(super) fn with(
        kernels: K,
        approx: &'a [T],
        (width, height): (usize, usize),
        scale: usize,
    ) -> Self {
        Self {
            approx,
            width,
            height,
            vertical: COARSE_VERTICAL[scale - 1],
            horizontal: COARSE_HORIZONTAL[scale - 1],
            lo: vec![0; width],
            hi: vec![0; width],
            kernels,
        }
    }
}

impl<T: Approx, K: Kernels> RowTransform for CoarseTransform<'_, T, K> {
    type Coef = i32;

    fn size(&self) -> (usize, usize) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    fn row(&mut self, i: usize, out: [&mut [i32]; 4]) {
        let plane = (self.approx, self.width, self.height);
        let scratch = (self.lo.as_mut_slice(), self.hi.as_mut_slice());
        let rounding = (self.vertical, self.horizontal);
        self.kernels.coarse_row(plane, rounding, scratch, i, out);
    }
}

/// Row `i` of the four bands of the transform of a `width × height` approximation band, with
/// the rounding constants and shifts of the vertical and the horizontal pass; `lo` and `hi`
/// are scratch rows of `width` coefficients.
#[inline(always)]
pub(super) fn coarse_row<T: Approx>(
    (approx, w, h): (&[T], usize, usize),
    ((v_round, v_shift), (h_round, h_shift)): ((i64, u32), (i64, u32)),
    (lo, hi): (&mut [i32], &mut [i32]),
    i: usize,
    out: [&mut [i32]; 4],
) {
    let down = move |s: [T; 4]| {
        let lo = (T::dot(LO, s) + v_round) >> v_shift;
        let hi = (T::dot(HI, s) + v_round) >> v_shift;
        (lo as i32, hi as i32)
    };
    let along = move |s: [i32; 4]| {
        let lo = (i32::dot(LO, s) + h_round) >> h_shift;
        let hi = (i32::dot(HI, s) + h_round) >> h_shift;
        (lo as i32, hi as i32)
    };
    let rows = taps(i, h).map(|y| approx[y * w..][..w].iter().copied());
    vertical(rows, lo, hi, down);
    let [a, v, h, d] = out;
    horizontal(lo, a, v, along);
    horizontal(hi, h, d, along);
}

/// A whole level, every band stored.
pub(super) fn level<R: RowTransform>(mut transform: R) -> Level<R::Coef> {
    let (w, h) = transform.size();
    // The bands grow a row at a time: each row is zeroed just before it is written, in
    // cache, rather than the whole band first.
    let band = || Vec::with_capacity(w * h);
    let mut approx = band();
    let mut bands = [band(), band(), band()];
    for i in 0..h {
        let [bh, bv, bd] = &mut bands;
        let grow = |b: &mut Vec<R::Coef>| {
            b.resize((i + 1) * w, R::Coef::default());
        };
        grow(&mut approx);
        grow(bh);
        grow(bv);
        grow(bd);
        let out = [
            &mut approx[i * w..],
            &mut bv[i * w..],
            &mut bh[i * w..],
            &mut bd[i * w..],
        ];
        transform.row(i, out);
    }
    Level {
        approx,
        details: Details {
            width: w,
            height: h,
            bands,
        },
    }
}

/// A level computed row by row on demand: the approximation band is stored whole (the next
/// level needs it), the detail bands only one row at a time.
#[derive(Debug)]
pub(super) struct Streamed<R: RowTransform> {
    transform: R,
    approx: Vec<R::Coef>,
    /// The detail bands `h`, `v`, `d` of the last row computed.
    details: [Vec<R::Coef>; 3],
    next: usize,
}

impl<R: RowTransform> Streamed<R> {
    pub(super) fn new(transform: R) -> Self {
        let (w, h) = transform.size();
        Self {
            transform,
            approx: vec![R::Coef::default(); w * h],
            details: std::array::from_fn(|_| vec![R::Coef::default(); w]),
            next: 0,
        }
    }

    /// Width and height of the level's bands.
    pub(super) fn size(&self) -> (usize, usize) {
        self.transform.size()
    }

    /// Computes the rows up to `y` (excluded) not computed yet.
    fn advance(&mut self, y: usize) {
        let w = self.transform.size().0;
        while self.next < y {
            let i = self.next;
            let [bh, bv, bd] = &mut self.details;
            let a = &mut self.approx[i * w..(i + 1) * w];
            self.transform.row(i, [a, bv, bh, bd]);
            self.next += 1;
        }
    }

    /// The detail rows `h`, `v`, `d` of row `y`. Rows must be asked for in increasing order.
    pub(super) fn details_row(&mut self, y: usize) -> [&[R::Coef]; 3] {
        assert!(y + 1 >= self.next, "rows must be streamed in order");
        self.advance(y + 1);
        self.details.each_ref().map(Vec::as_slice)
    }

    /// Computes the remaining rows and returns the approximation band.
    pub(super) fn finish(mut self) -> Vec<R::Coef> {
        self.advance(self.transform.size().1);
        self.approx
    }
}
