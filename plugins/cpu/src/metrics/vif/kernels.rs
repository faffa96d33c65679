//! The row kernels of VIF, built for one instruction set: [`Portable`] for the target's
//! baseline, [`Avx2`] (x86-64) for AVX2. Both run the same `#[inline(always)]` functions of
//! [`super::filter`] and [`super::stats`], so they compute the same values.

#[cfg(target_arch = "x86_64")]
use super::avx2;
use super::filter::{self, Image, Moments};
use super::products::Products;
use super::stats::{self, DenAccum, NumAccum};
#[cfg(target_arch = "x86_64")]
use crate::metrics::simd;

/// The kernels of VIF, one call per image row: each method's default is the portable
/// kernel, which `Avx2` overrides.
pub(super) trait Kernels: Copy {
    /// [`filter::column_moments`].
    #[inline(always)]
    fn column_moments<P: Products>(
        self,
        image: &Image,
        y: usize,
        taps: &[u16],
        shifts: (u32, u32),
        outs: (&mut [u16], &mut [u32]),
    ) {
        filter::column_moments::<P>(image, y, taps, shifts, outs);
    }
    /// [`filter::column_moments_pair`].
    #[inline(always)]
    fn column_moments_pair<P: Products>(
        self,
        images: (&Image, &Image),
        y: usize,
        taps: &[u16],
        shifts: (u32, u32),
        outs: (&mut [u16], &mut [u32], &mut [u32]),
    ) {
        filter::column_moments_pair::<P>(images, y, taps, shifts, outs);
    }
    /// [`filter::row_mean`].
    #[inline(always)]
    fn row_mean(self, line: &[u16], taps: &[u16], out: &mut [u32]) {
        filter::row_mean(line, taps, out);
    }
    /// [`filter::row_moment`].
    #[inline(always)]
    fn row_moment(
        self,
        line: &[u32],
        taps: &[u16],
        halves: (&mut [u32], &mut [u32]),
        out: &mut [u32],
    ) {
        filter::row_moment(line, taps, halves, out);
    }
    /// [`filter::decimate_row`].
    #[inline(always)]
    fn decimate_row(
        self,
        image: &Image,
        y: usize,
        taps_shift: (&[u16], u32),
        scratch: (&mut [u16], &mut [u16]),
        out: &mut [u16],
    ) {
        filter::decimate_row(image, y, taps_shift, scratch, out);
    }
    /// [`stats::reference_row`].
    #[inline(always)]
    fn reference_row(
        self,
        mean: &[u32],
        square: &[u32],
        mean_out: &mut [u32],
        variance_out: &mut [i32],
        den: &mut DenAccum,
    ) {
        stats::reference_row(mean, square, mean_out, variance_out, den);
    }
    /// [`stats::distorted_row`].
    #[inline(always)]
    fn distorted_row(
        self,
        mean_ref: &[u32],
        variance_ref: &[i32],
        moments: Moments<'_>,
        gain_limit: f64,
        num: &mut NumAccum,
    ) {
        stats::distorted_row(mean_ref, variance_ref, moments, gain_limit, num);
    }
}

/// The kernels built for the target's baseline.
#[derive(Debug, Clone, Copy)]
pub(super) struct Portable;

impl Kernels for Portable {}

/// The kernels built for AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx2(pub(super) simd::Avx2);

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    simd::avx2_kernel! {
        fn column_moments[P: Products][P](
            self,
            image: &Image,
            y: usize,
            taps: &[u16],
            shifts: (u32, u32),
            outs: (&mut [u16], &mut [u32]),
        ) = filter::column_moments;
    }
    simd::avx2_kernel! {
        fn column_moments_pair[P: Products][P](
            self,
            images: (&Image, &Image),
            y: usize,
            taps: &[u16],
            shifts: (u32, u32),
            outs: (&mut [u16], &mut [u32], &mut [u32]),
        ) = filter::column_moments_pair;
    }
    simd::avx2_kernel! {
        fn row_mean(self, line: &[u16], taps: &[u16], out: &mut [u32]) = avx2::row_mean;
    }
    simd::avx2_kernel! {
        fn row_moment(
            self,
            line: &[u32],
            taps: &[u16],
            halves: (&mut [u32], &mut [u32]),
            out: &mut [u32],
        ) = avx2::row_moment;
    }
    simd::avx2_kernel! {
        fn decimate_row(
            self,
            image: &Image,
            y: usize,
            taps_shift: (&[u16], u32),
            scratch: (&mut [u16], &mut [u16]),
            out: &mut [u16],
        ) = filter::decimate_row;
    }
    simd::avx2_kernel! {
        fn reference_row(
            self,
            mean: &[u32],
            square: &[u32],
            mean_out: &mut [u32],
            variance_out: &mut [i32],
            den: &mut DenAccum,
        ) = avx2::reference_row;
    }
    simd::avx2_kernel! {
        fn distorted_row(
            self,
            mean_ref: &[u32],
            variance_ref: &[i32],
            moments: Moments<'_>,
            gain_limit: f64,
            num: &mut NumAccum,
        ) = avx2::distorted_row;
    }
}
