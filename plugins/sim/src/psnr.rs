//! PSNR of 8-bit images, the same definition as the CPU plugin's packed `psnr`
//! (scikit-image's `peak_signal_noise_ratio(data_range=255)`): one mean squared error
//! over every colour sample of the image (alpha ignored), `10 · log10(255² / MSE)`,
//! `+inf` for identical images.
//!
//! Squared differences are summed exactly in integers, so the result does not depend
//! on the order of the work (nor on the memory mode); only the final division and
//! logarithm are in `f64`.

use qscore_core::{ImageView, PixelFormat};

/// Peak value of 8-bit samples.
const PEAK: f64 = 255.0;

/// Bytes per pixel and colour samples per pixel of a format the plugin accepts.
pub(crate) fn layout(format: PixelFormat) -> Option<(usize, usize)> {
    match format {
        PixelFormat::RGB8 => Some((3, 3)),
        PixelFormat::RGBA8 => Some((4, 3)),
        PixelFormat::GRAY8 => Some((1, 1)),
        _ => None,
    }
}

/// The rows of plane 0 of a validated view, padding cut off.
fn rows<'a>(image: &ImageView<'a>) -> impl Iterator<Item = &'a [u8]> {
    let plane = image.planes[0];
    let row_bytes = image.width as usize * layout(image.format).map_or(0, |(px, _)| px);
    (0..image.height as usize).map(move |y| plane.row(y, row_bytes))
}

/// The colour samples of a validated 8-bit image, row after row, without alpha or padding.
pub(crate) fn colour_samples(image: &ImageView<'_>) -> Vec<u8> {
    let Some((px, colours)) = layout(image.format) else {
        return Vec::new();
    };
    let mut samples = Vec::with_capacity(image.width as usize * image.height as usize * colours);
    for row in rows(image) {
        for pixel in row.chunks_exact(px) {
            samples.extend_from_slice(&pixel[..colours]);
        }
    }
    samples
}

/// Sum of squared differences, and the number of samples, between colour samples
/// (from [`colour_samples`]) and a validated image of the same size and format.
pub(crate) fn squared_error(reference: &[u8], distorted: &ImageView<'_>) -> (u64, u64) {
    let Some((px, colours)) = layout(distorted.format) else {
        return (0, 0);
    };
    let per_row = distorted.width as usize * colours;
    let mut sum = 0u64;
    let mut count = 0u64;
    for (reference, row) in reference.chunks_exact(per_row).zip(rows(distorted)) {
        for (r, pixel) in reference.chunks_exact(colours).zip(row.chunks_exact(px)) {
            for (&a, &b) in r.iter().zip(pixel) {
                let d = u64::from(a.abs_diff(b));
                sum += d * d;
            }
        }
        count += per_row as u64;
    }
    (sum, count)
}

/// PSNR in dB from a sum of squared differences over `count` samples.
pub(crate) fn psnr(sum: u64, count: u64) -> f64 {
    if sum == 0 {
        return f64::INFINITY;
    }
    let mse = sum as f64 / count as f64;
    10.0 * (PEAK * PEAK / mse).log10()
}

#[cfg(test)]
mod tests {
    use qscore_core::{ImageView, PixelFormat, PlaneView};

    use super::*;

    fn with_view<R>(
        format: PixelFormat,
        width: u32,
        height: u32,
        stride: usize,
        bytes: &[u8],
        f: impl FnOnce(&ImageView<'_>) -> R,
    ) -> R {
        let planes = [PlaneView::new(bytes, stride)];
        let view = ImageView::new(format, width, height, &planes);
        view.validate().expect("valid test image");
        f(&view)
    }

    fn psnr_of(format: PixelFormat, w: u32, h: u32, stride: usize, a: &[u8], b: &[u8]) -> f64 {
        let reference = with_view(format, w, h, stride, a, colour_samples);
        let (sum, count) = with_view(format, w, h, stride, b, |v| squared_error(&reference, v));
        psnr(sum, count)
    }

    #[test]
    fn rgb_2x2_by_hand() {
        // Reference and distorted 2×2 RGB images, 12 samples each.
        // Differences per sample: pixel (0,0): 10, 0, 0; (1,0): 0, 0, 0;
        // (0,1): 0, 5, 0; (1,1): 0, 0, 3.
        // Squares: 100 + 25 + 9 = 134. MSE = 134 / 12 = 11.1666…
        // PSNR = 10·log10(65025 / 11.1666…) = 10·log10(5823.134…) = 37.6515… dB.
        let a = [
            100, 100, 100, 50, 60, 70, //
            0, 0, 0, 255, 255, 255,
        ];
        let b = [
            110, 100, 100, 50, 60, 70, //
            0, 5, 0, 255, 255, 252,
        ];
        let expected = 10.0 * (65025.0_f64 / (134.0 / 12.0)).log10();
        assert!((expected - 37.651_5).abs() < 1e-4, "{expected}");
        let got = psnr_of(PixelFormat::RGB8, 2, 2, 6, &a, &b);
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }

    #[test]
    fn rgba_ignores_alpha_and_padding() {
        // Same colours as above in RGBA with alpha that differs wildly and two bytes of
        // row padding (stride 10) that differ too: the PSNR is unchanged.
        let a = [
            100, 100, 100, 0, 50, 60, 70, 0, 1, 2, //
            0, 0, 0, 0, 255, 255, 255, 0, 3, 4,
        ];
        let b = [
            110, 100, 100, 255, 50, 60, 70, 255, 9, 9, //
            0, 5, 0, 255, 255, 255, 252, 255, 9, 9,
        ];
        let expected = 10.0 * (65025.0_f64 / (134.0 / 12.0)).log10();
        let got = psnr_of(PixelFormat::RGBA8, 2, 2, 10, &a, &b);
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    }

    #[test]
    fn gray_2x2_by_hand() {
        // Differences 1, 2, 3, 4: squares 1 + 4 + 9 + 16 = 30, MSE = 30 / 4 = 7.5,
        // PSNR = 10·log10(65025 / 7.5) = 10·log10(8670) = 39.3802… dB.
        let a = [10, 20, 30, 40];
        let b = [11, 18, 33, 44];
        let got = psnr_of(PixelFormat::GRAY8, 2, 2, 2, &a, &b);
        assert!((got - 10.0 * 8670f64.log10()).abs() < 1e-12, "{got}");
        assert!((got - 39.380_2).abs() < 1e-4, "{got}");
    }

    #[test]
    fn extremes() {
        // Identical images: +inf. Black against white: MSE = 255², PSNR = 0 dB.
        let a = [7u8; 12];
        assert_eq!(psnr_of(PixelFormat::RGB8, 2, 2, 6, &a, &a), f64::INFINITY);
        let got = psnr_of(PixelFormat::RGB8, 2, 2, 6, &[0; 12], &[255; 12]);
        assert_eq!(got, 0.0);
    }
}
