//! Which scales run, how an image splits into bands, and the device memory each step holds.

use super::blur::{COEFS, ROWS_AFTER, ROWS_BEFORE, STATE};
use super::maps::{MAP_COLS, SUMS};

/// Most scales of the pyramid.
pub(crate) const NUM_SCALES: usize = 6;
/// Bands start at multiples of this many full-resolution rows, so that a band's first row
/// is a whole row at every scale.
pub(crate) const ALIGN: usize = 1 << (NUM_SCALES - 1);
/// Full-resolution rows of context above a band: the rows the vertical recursion reads
/// above an output row, at the coarsest scale. Finer scales need fewer, and the downscale
/// of aligned rows needs none. (The recursion's own state comes from the band before.)
pub(crate) const HALO_ABOVE: usize = ROWS_BEFORE * ALIGN;
/// Full-resolution rows of context below a band: the rows the vertical recursion reads
/// ahead of an output row, at the coarsest scale.
pub(crate) const HALO_BELOW: usize = ROWS_AFTER * ALIGN;
/// libjxl's smallest width and height.
pub(crate) const MIN_SIDE: usize = 8;

/// Sizes of the scales that run for a `width × height` image. libjxl tests the size
/// *before* downscaling, so a scale may be smaller than 8 when the one before is not.
pub(crate) fn scale_sizes(width: usize, height: usize) -> Vec<(usize, usize)> {
    let mut sizes = Vec::new();
    let (mut w, mut h) = (width, height);
    let (mut gate_w, mut gate_h) = (width, height);
    while sizes.len() < NUM_SCALES && gate_w >= MIN_SIDE && gate_h >= MIN_SIDE {
        sizes.push((w, h));
        (gate_w, gate_h) = (w, h);
        (w, h) = (w.div_ceil(2), h.div_ceil(2));
    }
    sizes
}

/// One scale of a band: `width × height` band-local planes whose rows
/// `row0 .. row0 + rows` are this band's share of the image's rows at this scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BandScale {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) row0: usize,
    pub(crate) rows: usize,
}

impl BandScale {
    /// Bytes of one plane.
    pub(crate) fn plane_bytes(&self) -> u64 {
        (self.width * self.height * 4) as u64
    }

    /// Cubes (and partial-sum groups) of the map kernel.
    pub(crate) fn map_cubes(&self) -> usize {
        self.width.div_ceil(MAP_COLS)
    }

    /// Rows the horizontal pass must blur: those the vertical recursion reads for rows
    /// `row0 .. row0 + rows`.
    pub(crate) fn blur_rows(&self) -> (usize, usize) {
        (
            self.row0.saturating_sub(ROWS_BEFORE),
            (self.row0 + self.rows + ROWS_AFTER).min(self.height),
        )
    }
}

/// The full-resolution rows `fetch0 .. fetch1` read from the sources, and per scale which
/// rows of them the band scores.
#[derive(Debug, Clone)]
pub(crate) struct Band {
    pub(crate) fetch0: usize,
    pub(crate) fetch1: usize,
    pub(crate) scales: Vec<BandScale>,
}

/// The band scoring full-resolution rows `y0 .. y1` of a `width × height` image.
fn band(width: usize, height: usize, y0: usize, y1: usize) -> Band {
    let fetch0 = y0.saturating_sub(HALO_ABOVE);
    let fetch1 = (y1 + HALO_BELOW).min(height);
    let scales = scale_sizes(width, height)
        .into_iter()
        .enumerate()
        .map(|(s, (w, h))| {
            // fetch0 and y0 are multiples of 2^s; so is y1 unless it is the bottom.
            let first = y0 >> s;
            let end = if y1 == height { h } else { y1 >> s };
            BandScale {
                width: w,
                height: (fetch1 - fetch0).div_ceil(1 << s),
                row0: first - (fetch0 >> s),
                rows: end - first,
            }
        })
        .collect();
    Band {
        fetch0,
        fetch1,
        scales,
    }
}

/// The whole image as one band.
pub(crate) fn whole(width: usize, height: usize) -> Band {
    band(width, height, 0, height)
}

/// Bands of `band_rows` rows (a positive multiple of [`ALIGN`]) covering the image.
pub(crate) fn bands(width: usize, height: usize, band_rows: usize) -> Vec<Band> {
    (0..height)
        .step_by(band_rows)
        .map(|y0| band(width, height, y0, (y0 + band_rows).min(height)))
        .collect()
}

/// Bytes of the blur coefficient buffer.
pub(crate) const COEF_BYTES: u64 = (COEFS * 4) as u64;
/// Bytes of the one-`f32` state buffer FULL mode binds where nothing is carried.
pub(crate) const NO_STATE_BYTES: u64 = 4;

/// Bytes of the vertical recursion's state that strip mode carries from band to band, for
/// all scales of a `width × height` image: per column, 6 reference and 9 compare quantities
/// of [`STATE`] `f32` each.
pub(crate) fn carried_state_bytes(width: usize, height: usize) -> u64 {
    scale_sizes(width, height)
        .iter()
        .map(|&(w, _)| (15 * STATE * w * 4) as u64)
        .sum()
}

/// Peak bytes while the reference pyramid of `band` is built, and the bytes it then keeps
/// (its levels), with `fixed` bytes resident throughout (coefficients and state). See
/// `Ssimulacra2::predict` for the schedule.
pub(crate) fn prepare_bytes(band: &Band, fixed: u64) -> (u64, u64) {
    let input = 3 * band.scales[0].plane_bytes();
    let mut pyramid = 0u64;
    let mut peak = 0u64;
    let mut lin = 0u64;
    for (s, scale) in band.scales.iter().enumerate() {
        let p = scale.plane_bytes();
        let next = band.scales.get(s + 1).map_or(0, |n| 3 * n.plane_bytes());
        // XYB (+ downscale) kernel: previous linear level, stats, next linear level.
        peak = peak.max(fixed + input + pyramid + lin + 9 * p + next);
        lin = next;
        // Blur passes: stats, next linear level, six horizontal-pass planes.
        peak = peak.max(fixed + input + pyramid + 9 * p + lin + 6 * p);
        pyramid += 9 * p;
    }
    (peak, pyramid)
}

/// Bytes of the partial sums a compare of `band` leaves, all scales.
pub(crate) fn partial_bytes(band: &Band) -> u64 {
    band.scales
        .iter()
        .map(|s| (s.map_cubes() * SUMS * 4) as u64)
        .sum()
}

/// Peak bytes of a compare of `band` against its resident reference pyramid (`pyramid`
/// bytes), partial sums included, with `fixed` bytes resident throughout.
pub(crate) fn compare_bytes(band: &Band, pyramid: u64, fixed: u64) -> u64 {
    let input = 3 * band.scales[0].plane_bytes();
    let base = fixed + pyramid + input;
    let mut partials = 0u64;
    let mut peak = 0u64;
    let mut lin = 0u64;
    for (s, scale) in band.scales.iter().enumerate() {
        let p = scale.plane_bytes();
        let next = band.scales.get(s + 1).map_or(0, |n| 3 * n.plane_bytes());
        peak = peak.max(base + partials + lin + 3 * p + next);
        lin = next;
        let part = (scale.map_cubes() * SUMS * 4) as u64;
        // Blur + map kernels: distorted XYB, nine horizontal-pass planes, next linear level.
        peak = peak.max(base + partials + lin + 3 * p + 9 * p + part);
        partials += part;
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_follow_libjxl_gate() {
        assert_eq!(scale_sizes(10, 8), vec![(10, 8), (5, 4)]);
        assert_eq!(scale_sizes(517, 389).len(), 6);
        assert_eq!(
            scale_sizes(37, 29),
            vec![(37, 29), (19, 15), (10, 8), (5, 4)]
        );
        assert!(scale_sizes(7, 100).is_empty());
    }

    #[test]
    fn bands_cover_every_row_of_every_scale_once() {
        for (w, h) in [(517, 389), (40, 33), (64, 64)] {
            for rows in [32, 64, 96, 160] {
                let sizes = scale_sizes(w, h);
                let mut covered = vec![0usize; sizes.len()];
                for b in bands(w, h, rows) {
                    for (s, sc) in b.scales.iter().enumerate() {
                        covered[s] += sc.rows;
                        assert!(sc.row0 + sc.rows <= sc.height);
                        // Context: the rows the recursion reads on each side, unless at
                        // the image border.
                        assert!(sc.row0 >= ROWS_BEFORE || b.fetch0 == 0);
                        assert!(sc.height - (sc.row0 + sc.rows) >= ROWS_AFTER || b.fetch1 == h);
                    }
                }
                let want: Vec<usize> = sizes.iter().map(|&(_, h)| h).collect();
                assert_eq!(covered, want, "{w}x{h} / {rows}");
            }
        }
    }
}
