//! Contrast masking and the numerator sums.
//!
//! Each restored coefficient is CSF-weighted and reduced by a masking threshold: the sum, over
//! the three bands, of the CSF-weighted additive impairment in its 3×3 neighbourhood, each
//! neighbour counting ≈ 1/30 of its magnitude and the centre ≈ 1/15 (so the centre weighs
//! twice a neighbour). What is left (floored at 0) is cubed in fixed point and summed over the
//! scored region, row by row with a rounding shift after each row. Neighbours beyond the band
//! edge are mirrored as [`mirror`] does.
//!
//! The rows are decoupled ([`decouple_row`]) just ahead of the masking, into a ring of three
//! rows: the one being scored and its neighbours above and below.

use super::arith::{Arith, cos_sq_1deg, half};
use super::decouple::DecoupledRow;
use super::dwt::{Details, RowTransform, Streamed};
use super::kernels::Kernels;
use super::region::{Region, mirror};

/// The three bands' sums of masked cubes over `region`, from the reference detail bands of one
/// scale and the distorted ones, whose rows are computed as they are needed.
pub(super) fn masked_sums<A: Arith, R: RowTransform<Coef = A::Coef>>(
    kernels: impl Kernels,
    arith: &A,
    reference: &Details<A::Coef>,
    distorted: &mut Streamed<R>,
    region: Region,
) -> [i64; 3] {
    let (w, h) = (reference.width, reference.height);
    let wide = region.widened(w, h);
    let span = wide.right - wide.left;
    let cos_sq = cos_sq_1deg();
    let mut ring: [DecoupledRow<A::Coef>; 3] = std::array::from_fn(|_| DecoupledRow::new(span));
    let mut next = wide.top;
    let mut columns = vec![0i32; span];
    let mut thresholds = vec![0i32; span];
    let (row_shift, row_round) = (arith.row_shift(), half(arith.row_shift()));
    let geometry = Geometry {
        first: region.left - wide.left,
        end: region.right - wide.left,
        offset: wide.left,
        width: w,
    };
    let mut sums = [0i64; 3];
    for y in region.top..region.bottom {
        // Decouple up to the row below (the last row is its own lower neighbour).
        while next <= (y + 1).min(h - 1) {
            let cols = next * w + wide.left..next * w + wide.right;
            let o = reference.bands.each_ref().map(|b| &b[cols.clone()]);
            let t = distorted
                .details_row(next)
                .map(|b| &b[wide.left..wide.right]);
            kernels.decouple_row(arith, cos_sq, o, t, &mut ring[next % 3]);
            next += 1;
        }
        let above = &ring[mirror(y as isize - 1, h) % 3].neighbour;
        let below = &ring[mirror(y as isize + 1, h) % 3].neighbour;
        let row = &ring[y % 3];
        let scratch = (columns.as_mut_slice(), thresholds.as_mut_slice());
        let row_sums = kernels.mask_row(arith, (above, row, below), geometry, scratch);
        for (sum, row_sum) in sums.iter_mut().zip(row_sums) {
            *sum += (row_sum + row_round) >> row_shift;
        }
    }
    sums
}

/// Where a decoupled row lies: it spans band columns `offset..offset + len` of a band `width`
/// wide, and its samples `first..end` (relative) are scored.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    first: usize,
    end: usize,
    offset: usize,
    width: usize,
}

/// The three bands' sums of masked cubes along the scored samples of a decoupled `row`, given
/// the neighbour terms of the rows `above` and `below` it; `columns` and `thresholds` are
/// scratch as long as the row.
#[inline(always)]
pub(super) fn mask_row<A: Arith>(
    arith: &A,
    (above, row, below): (&[i32], &DecoupledRow<A::Coef>, &[i32]),
    geometry: Geometry,
    (columns, thresholds): (&mut [i32], &mut [i32]),
) -> [i64; 3] {
    let triples = above.iter().zip(&row.neighbour).zip(below);
    for (c, ((&a, &b), &d)) in columns.iter_mut().zip(triples) {
        *c = a.wrapping_add(b).wrapping_add(d);
    }
    let Geometry {
        first,
        end,
        offset,
        width,
    } = geometry;
    thresholds_row(columns, row, first, width, offset, thresholds);
    let mut sums = [0i64; 3];
    for (band, sum) in sums.iter_mut().enumerate() {
        let restored = &row.restored[band][first..end];
        *sum = restored
            .iter()
            .zip(&thresholds[first..end])
            .map(|(&r, &thr)| arith.cube(band, r, thr))
            .sum();
    }
    sums
}

/// The masking threshold of each sample of a decoupled row, from the vertical sums `columns`
/// of the neighbour terms over the three rows: the 3×3 sum, minus the sample's own neighbour
/// term, plus its centre term. The row spans band columns `offset..offset + columns.len()` of a
/// band `width` wide; thresholds are needed from `first` (relative) on.
#[inline(always)]
fn thresholds_row<T>(
    columns: &[i32],
    row: &DecoupledRow<T>,
    first: usize,
    width: usize,
    offset: usize,
    out: &mut [i32],
) {
    let n = columns.len();
    let at = |x: usize| {
        let left = mirror((offset + x) as isize - 1, width) - offset;
        let right = mirror((offset + x) as isize + 1, width) - offset;
        columns[left]
            .wrapping_add(columns[x])
            .wrapping_add(columns[right])
            .wrapping_sub(row.neighbour[x])
            .wrapping_add(row.centre[x])
    };
    // Samples 1..n-1 have both neighbours in the row.
    let inner = columns
        .windows(3)
        .zip(&row.neighbour[1..])
        .zip(&row.centre[1..]);
    for (o, ((c, &nb), &ce)) in out[1..n - 1].iter_mut().zip(inner) {
        *o = c[0]
            .wrapping_add(c[1])
            .wrapping_add(c[2])
            .wrapping_sub(nb)
            .wrapping_add(ce);
    }
    // The first and last samples are scored only at the band's edges, where they mirror.
    if first == 0 {
        out[0] = at(0);
    }
    if offset + n == width {
        out[n - 1] = at(n - 1);
    }
}
