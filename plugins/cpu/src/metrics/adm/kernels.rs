//! The row kernels of ADM, built for one instruction set: [`Portable`] for the target's
//! baseline, [`Avx2`] (x86-64) for AVX2. Both run the same `#[inline(always)]` functions of
//! [`super::dwt`], [`super::decouple`] and [`super::mask`], so they compute the same values.

use super::super::luma::Luma;
use super::arith::Arith;
use super::decouple::{self, DecoupledRow};
use super::dwt::{self, Approx};
use super::mask::{self, Geometry};
#[cfg(target_arch = "x86_64")]
use crate::metrics::simd;

/// The kernels of ADM, one call per band row: each method's default is the portable
/// kernel, which `Avx2` overrides.
pub(super) trait Kernels: Copy {
    /// [`dwt::luma_row`].
    #[inline(always)]
    fn luma_row(
        self,
        luma: &Luma<'_>,
        scratch: (&mut [i16], &mut [i16]),
        i: usize,
        out: [&mut [i16]; 4],
    ) {
        dwt::luma_row(luma, scratch, i, out);
    }
    /// [`dwt::coarse_row`].
    #[inline(always)]
    fn coarse_row<T: Approx>(
        self,
        plane: (&[T], usize, usize),
        rounding: ((i64, u32), (i64, u32)),
        scratch: (&mut [i32], &mut [i32]),
        i: usize,
        out: [&mut [i32]; 4],
    ) {
        dwt::coarse_row(plane, rounding, scratch, i, out);
    }
    /// [`decouple::decouple_row`].
    #[inline(always)]
    fn decouple_row<A: Arith>(
        self,
        arith: &A,
        cos_sq: f64,
        o: [&[A::Coef]; 3],
        t: [&[A::Coef]; 3],
        out: &mut DecoupledRow<A::Coef>,
    ) {
        decouple::decouple_row(arith, cos_sq, o, t, out);
    }
    /// [`mask::mask_row`].
    #[inline(always)]
    fn mask_row<A: Arith>(
        self,
        arith: &A,
        rows: (&[i32], &DecoupledRow<A::Coef>, &[i32]),
        geometry: Geometry,
        scratch: (&mut [i32], &mut [i32]),
    ) -> [i64; 3] {
        mask::mask_row(arith, rows, geometry, scratch)
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
        fn luma_row(
            self,
            luma: &Luma<'_>,
            scratch: (&mut [i16], &mut [i16]),
            i: usize,
            out: [&mut [i16]; 4],
        ) = dwt::luma_row;
    }
    simd::avx2_kernel! {
        fn coarse_row[T: Approx][T](
            self,
            plane: (&[T], usize, usize),
            rounding: ((i64, u32), (i64, u32)),
            scratch: (&mut [i32], &mut [i32]),
            i: usize,
            out: [&mut [i32]; 4],
        ) = dwt::coarse_row;
    }
    /// Scale 0 has an AVX2 kernel written with intrinsics; scales 1–3 keep the portable build
    /// (the compiler makes slower code of the portable loop with AVX2).
    #[inline(always)]
    fn decouple_row<A: Arith>(
        self,
        arith: &A,
        cos_sq: f64,
        o: [&[A::Coef]; 3],
        t: [&[A::Coef]; 3],
        out: &mut DecoupledRow<A::Coef>,
    ) {
        if !arith.decouple_avx2(self.0, cos_sq, o, t, out) {
            Portable.decouple_row(arith, cos_sq, o, t, out);
        }
    }
    simd::avx2_kernel! {
        fn mask_row[A: Arith][A](
            self,
            arith: &A,
            rows: (&[i32], &DecoupledRow<A::Coef>, &[i32]),
            geometry: Geometry,
            scratch: (&mut [i32], &mut [i32]),
        ) -> [i64; 3] = mask::mask_row;
    }
}
