//! The bytes a comparison moves through device memory, kernel by kernel: the yardstick that
//! says how far a measured time is from the memory bound.
//!
//! Each kernel is counted as reading every element of its inputs once and writing every
//! element of its outputs once (re-reads of a row or column within one kernel are taken to hit
//! the cache). Per scale `s` of a band, with `w` columns, `n = w·h` band-local pixels, `r` the
//! rows the horizontal pass blurs and `o` the rows the band scores (`f32` elements):
//!
//! | kernel | reads | writes |
//! |---|---|---|
//! | XYB (+ 2×2 downscale) | `3n` linear | `3n` XYB, `3·n_{s+1}` next linear |
//! | `ref_blur_h` | `3·w·r` XYB | `6·w·r` |
//! | `ref_blur_v` | `6·w·(o + 10)` | `6·w·o` μ, G∗ref² |
//! | `dist_blur_h` | `6·w·r` ref and dist XYB | `9·w·r` |
//! | `dist_maps` | `9·w·(o + 10)`, `9·w·o` ref level, `3·w·o` dist XYB | partial sums |
//!
//! plus, in strip mode, the carried recursion state (`6·STATE·w` reference, `9·STATE·w`
//! compare, each read and written per band). The 10 extra rows are the recursion's context;
//! at the first band they are fewer, but the model keeps them (a few rows per band).

use super::blur::STATE;
use super::maps::SUMS;
use super::plan::{self, Band, BandScale};

/// Bytes one step moves (reads + writes).
fn f32s(n: usize) -> u64 {
    (n * 4) as u64
}

/// The horizontal pass's rows for a band scale.
fn blurred_rows(scale: &BandScale) -> usize {
    let (y0, y1) = scale.blur_rows();
    y1 - y0
}

/// Rows the vertical pass reads for a band scale: the scored rows and their context.
fn column_rows(scale: &BandScale) -> usize {
    (scale.rows + super::blur::ROWS_BEFORE + super::blur::ROWS_AFTER).min(scale.height)
}

/// XYB and downscale of scale `s` of `band`.
fn xyb(band: &Band, s: usize) -> u64 {
    let scale = &band.scales[s];
    let n = scale.width * scale.height;
    let next = band.scales.get(s + 1).map_or(0, |b| b.width * b.height);
    f32s(6 * n + 3 * next)
}

/// Bytes the reference side of `band` moves (XYB, both blur passes).
fn prepare(band: &Band, carried: bool) -> u64 {
    (0..band.scales.len())
        .map(|s| {
            let sc = &band.scales[s];
            let w = sc.width;
            let state = if carried { 2 * 6 * STATE * w } else { 0 };
            xyb(band, s)
                + f32s(9 * w * blurred_rows(sc) + 6 * w * (column_rows(sc) + sc.rows) + state)
        })
        .sum()
}

/// Bytes a compare of `band` moves against its reference levels.
fn compare(band: &Band, carried: bool) -> u64 {
    (0..band.scales.len())
        .map(|s| {
            let sc = &band.scales[s];
            let w = sc.width;
            let state = if carried { 2 * 9 * STATE * w } else { 0 };
            let maps = 9 * w * column_rows(sc) + 12 * w * sc.rows + sc.map_cubes() * SUMS;
            xyb(band, s) + f32s(15 * w * blurred_rows(sc) + maps + state)
        })
        .sum()
}

/// Device-memory traffic of SSIMULACRA2 on a `width × height` pair: the reference side and
/// a compare in FULL mode, and a whole strip-mode comparison (both sides, every band).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Traffic {
    /// FULL mode: building the reference pyramid once.
    pub prepare: u64,
    /// FULL mode: one compare against the resident pyramid (what a warm comparison costs).
    pub compare: u64,
    /// Strip mode with the given band rows: both sides, every band, halos included.
    pub strip: u64,
}

/// The traffic of a `width × height` pair, strip mode in bands of `band_rows` rows (a
/// positive multiple of 32). `None` for sizes or band heights the metric rejects.
pub fn traffic(width: usize, height: usize, band_rows: usize) -> Option<Traffic> {
    if width < plan::MIN_SIDE
        || height < plan::MIN_SIDE
        || band_rows == 0
        || !band_rows.is_multiple_of(plan::ALIGN)
    {
        return None;
    }
    let whole = plan::whole(width, height);
    let bands = plan::bands(width, height, band_rows);
    let carried = bands.len() > 1;
    Some(Traffic {
        prepare: prepare(&whole, false),
        compare: compare(&whole, false),
        strip: bands
            .iter()
            .map(|b| prepare(b, carried) + compare(b, carried))
            .sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_band_covering_the_image_moves_what_full_mode_moves() {
        for (w, h) in [(517, 389), (64, 64), (1920, 1080)] {
            let t = traffic(w, h, h.next_multiple_of(32)).expect("valid");
            assert_eq!(t.strip, t.prepare + t.compare, "{w}x{h}");
        }
    }

    #[test]
    fn a_compare_moves_about_230_bytes_per_pixel() {
        // 42.75 f32 per pixel of a scale (see the table) and a pyramid of 4/3 the pixels.
        let t = traffic(4096, 4096, 256).expect("valid");
        let per_pixel = t.compare as f64 / (4096.0 * 4096.0);
        assert!((220.0..235.0).contains(&per_pixel), "{per_pixel}");
        // Strip mode redoes the reference side per band and reads halos.
        assert!(t.strip > t.prepare + t.compare, "{t:?}");
    }

    #[test]
    fn rejected_sizes_have_no_traffic() {
        assert_eq!(traffic(7, 100, 32), None);
        assert_eq!(traffic(100, 100, 48), None);
    }
}
