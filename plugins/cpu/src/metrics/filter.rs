//! Separable "valid" filtering shared by SSIM and MS-SSIM.
//!
//! Both metrics only ever need the filtered values where the whole window lies inside the
//! image (scikit-image crops the rest away, libvmaf never computes it), so no boundary handling
//! is needed here.

/// Filters `Q` planes of `width` × `height` samples with the separable kernel
/// `taps ⊗ taps`, keeping only positions where the window fits inside the image.
///
/// The input is produced row by row: `fill_row(y, rows)` must write row `y` of each of the `Q`
/// planes into `rows[q]` (each `width` long). Output rows are handed, in order, to
/// `emit_row(r, out)`, where `out[q]` holds the `width − n + 1` filtered samples of row `r` of
/// plane `q` (`n = taps.len()`; there are `height − n + 1` output rows). Output sample `(x, r)`
/// is `Σ_v taps[v] · Σ_u taps[u] · in(x + u, r + v)`.
///
/// Only `n` horizontally filtered rows are kept at any time, so memory stays `O(Q · n · width)`.
///
/// # Panics
/// If `taps` is empty or larger than the image in either dimension.
///
/// With AVX2 (`simd::Isa::detected`) the same loops are compiled for 4-wide vectors. Each
/// output is still the same multiplies and adds in the same order (Rust never fuses them into
/// FMA), so both builds give the same bits.
pub(super) fn separable_valid<const Q: usize>(
    width: usize,
    height: usize,
    taps: &[f64],
    fill_row: impl FnMut(usize, &mut [Vec<f64>; Q]),
    emit_row: impl FnMut(usize, [&[f64]; Q]),
) {
    #[cfg(target_arch = "x86_64")]
    if super::simd::Isa::detected().is_avx2() {
        // SAFETY: the CPU has AVX2 (checked at run time by `Isa::detected`).
        unsafe { separable_valid_avx2(width, height, taps, fill_row, emit_row) };
        return;
    }
    separable_valid_rows(width, height, taps, fill_row, emit_row);
}

/// [`separable_valid_rows`] compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn separable_valid_avx2<const Q: usize>(
    width: usize,
    height: usize,
    taps: &[f64],
    fill_row: impl FnMut(usize, &mut [Vec<f64>; Q]),
    emit_row: impl FnMut(usize, [&[f64]; Q]),
) {
    separable_valid_rows(width, height, taps, fill_row, emit_row);
}

#[inline(always)]
fn separable_valid_rows<const Q: usize>(
    width: usize,
    height: usize,
    taps: &[f64],
    mut fill_row: impl FnMut(usize, &mut [Vec<f64>; Q]),
    mut emit_row: impl FnMut(usize, [&[f64]; Q]),
) {
    let n = taps.len();
    assert!(
        n > 0 && n <= width && n <= height,
        "filter larger than image"
    );
    let out_w = width - n + 1;

    let mut input: [Vec<f64>; Q] = std::array::from_fn(|_| vec![0.0; width]);
    // Ring of the last `n` horizontally filtered rows, per plane.
    let mut ring: Vec<[Vec<f64>; Q]> = (0..n)
        .map(|_| std::array::from_fn(|_| vec![0.0; out_w]))
        .collect();
    let mut out: [Vec<f64>; Q] = std::array::from_fn(|_| vec![0.0; out_w]);

    for y in 0..height {
        fill_row(y, &mut input);
        let slot = &mut ring[y % n];
        for (src, dst) in input.iter().zip(slot.iter_mut()) {
            filter_row(src, taps, dst);
        }
        if y + 1 >= n {
            let r = y + 1 - n;
            for (q, dst) in out.iter_mut().enumerate() {
                dst.fill(0.0);
                for (v, &w) in taps.iter().enumerate() {
                    let src = &ring[(r + v) % n][q];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += w * s;
                    }
                }
            }
            emit_row(r, std::array::from_fn(|q| out[q].as_slice()));
        }
    }
}

/// `dst[x] = Σ_u taps[u] · src[x + u]` for every `x` where the window fits.
#[inline(always)]
fn filter_row(src: &[f64], taps: &[f64], dst: &mut [f64]) {
    debug_assert_eq!(dst.len() + taps.len() - 1, src.len());
    let len = dst.len();
    dst.fill(0.0);
    for (u, &w) in taps.iter().enumerate() {
        for (d, &s) in dst.iter_mut().zip(&src[u..u + len]) {
            *d += w * s;
        }
    }
}

/// Collects the output of [`separable_valid`] for `Q` planes into `Q` row-major buffers of
/// `(width − n + 1) × (height − n + 1)` samples.
pub(super) fn separable_valid_collect<const Q: usize>(
    width: usize,
    height: usize,
    taps: &[f64],
    fill_row: impl FnMut(usize, &mut [Vec<f64>; Q]),
) -> [Vec<f64>; Q] {
    let n = taps.len();
    let out_len = (width + 1 - n) * (height + 1 - n);
    let mut collected: [Vec<f64>; Q] = std::array::from_fn(|_| Vec::with_capacity(out_len));
    separable_valid(width, height, taps, fill_row, |_, rows| {
        for (dst, src) in collected.iter_mut().zip(rows) {
            dst.extend_from_slice(src);
        }
    });
    collected
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 build gives the portable build's bits (same operations, same order).
    #[test]
    fn the_vector_build_gives_the_same_bits() {
        let (width, height) = (77, 41);
        let taps: Vec<f64> = (0..11).map(|i| 1.0 / (1.0 + f64::from(i) * 0.37)).collect();
        let sample = |x: usize, y: usize, q: usize| ((x * 31 + y * 17 + q * 7) % 255) as f64 / 3.0;
        let fill = |y: usize, rows: &mut [Vec<f64>; 2]| {
            for (q, row) in rows.iter_mut().enumerate() {
                for (x, v) in row.iter_mut().enumerate() {
                    *v = sample(x, y, q);
                }
            }
        };
        fn append(out: &mut [Vec<f64>; 2], rows: [&[f64]; 2]) {
            for (dst, src) in out.iter_mut().zip(rows) {
                dst.extend_from_slice(src);
            }
        }
        let mut portable: [Vec<f64>; 2] = Default::default();
        separable_valid_rows(width, height, &taps, fill, |_, rows| {
            append(&mut portable, rows);
        });
        let mut chosen: [Vec<f64>; 2] = Default::default();
        separable_valid(width, height, &taps, fill, |_, rows| {
            append(&mut chosen, rows)
        });
        assert_eq!(portable[0].len(), (width - 10) * (height - 10));
        for (a, b) in portable.iter().flatten().zip(chosen.iter().flatten()) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
    }
}
