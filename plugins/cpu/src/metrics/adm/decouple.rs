//! Decoupling: splitting each distorted detail coefficient into the part the reference explains
//! ("restored": the reference scaled by `clamp(t / o, 0, 1)`) and the rest ("additive"
//! impairment), then weighting the additive part by the CSF to get each coefficient's
//! contribution to the contrast-masking thresholds.
//!
//! Rows are decoupled one at a time, as the masking stage asks for them, and only over the
//! columns it reads: the scored region grown by one on each side (libvmaf decouples a slightly
//! wider strip, whose extra samples are never read).

use super::arith::{Arith, small_angle};

/// One decoupled row (a span of columns of a band row).
#[derive(Debug)]
pub(super) struct DecoupledRow<T> {
    /// The restored part of `h`, `v`, `d`.
    pub(super) restored: [Vec<T>; 3],
    /// Per sample, the sum over the three bands of the CSF-weighted additive impairment's
    /// neighbour term (≈ |c| / 30): what a sample adds to each neighbour's masking threshold.
    pub(super) neighbour: Vec<i32>,
    /// Per sample, the same sum of the centre terms (≈ |c| / 15): what it adds to its own.
    pub(super) centre: Vec<i32>,
}

impl<T: Copy + Default> DecoupledRow<T> {
    /// A row of `len` samples.
    pub(super) fn new(len: usize) -> Self {
        Self {
            restored: std::array::from_fn(|_| vec![T::default(); len]),
            neighbour: vec![0; len],
            centre: vec![0; len],
        }
    }
}

/// Decouples the distorted coefficients `t` (bands `h`, `v`, `d`) against the reference ones
/// `o`, all as long as `out`'s rows; `cos_sq` is cos²(1°) as libvmaf rounds it.
#[inline(always)]
pub(super) fn decouple_row<A: Arith>(
    arith: &A,
    cos_sq: f64,
    o: [&[A::Coef]; 3],
    t: [&[A::Coef]; 3],
    out: &mut DecoupledRow<A::Coef>,
) {
    let n = out.neighbour.len();
    let [oh, ov, od] = o.map(|band| &band[..n]);
    let [th, tv, td] = t.map(|band| &band[..n]);
    let [rh, rv, rd] = out.restored.each_mut().map(|band| &mut band[..n]);
    let (neighbour, centre) = (&mut out.neighbour[..n], &mut out.centre[..n]);
    for x in 0..n {
        let angle = small_angle(
            cos_sq,
            (oh[x].into(), ov[x].into()),
            (th[x].into(), tv[x].into()),
        );
        rh[x] = arith.restore(oh[x], th[x], angle);
        rv[x] = arith.restore(ov[x], tv[x], angle);
        rd[x] = arith.restore(od[x], td[x], angle);
    }
    // The CSF and masking terms, in a separate loop free of table lookups and floating point.
    for x in 0..n {
        let weighted = [
            arith.csf(0, th[x], rh[x]),
            arith.csf(1, tv[x], rv[x]),
            arith.csf(2, td[x], rd[x]),
        ];
        let sum = |term: fn(i32) -> i32| {
            let [a, b, c] = weighted.map(term);
            a.wrapping_add(b).wrapping_add(c)
        };
        neighbour[x] = sum(A::neighbour_term);
        centre[x] = sum(A::centre_term);
    }
}
