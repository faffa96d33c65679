//! Peak signal-to-noise ratio.
//!
//! `PSNR = 10 · log10(peak² / MSE)` in dB.
//!
//! Two conventions are supported:
//!
//! - **scikit-image** (`skimage.metrics.peak_signal_noise_ratio(ref, dist, data_range=peak)`):
//!   a single MSE over every sample of every channel (for RGB, all three channels together, not
//!   the mean of per-channel PSNRs), `peak` = the data range (255 for 8-bit), no cap (identical
//!   images give `+inf`). Use [`mse`] then [`psnr_from_mse`] with `cap_db = None`.
//! - **libvmaf `float_psnr`** (per plane, e.g. luma of YUV): see [`libvmaf_psnr`].

use qscore_core::{Error, FormatInfo, ImageView, PixelFormat};

use super::{
    Plane,
    simd::{self, Isa},
    ssd::{self, Sum},
};

/// Mean squared error over all samples of all planes (one mean, not a mean of per-plane means).
///
/// This is scikit-image's `mean_squared_error`: for RGB pass the three channel planes of each
/// image in the same order. Returns NaN when there are no samples.
///
/// # Panics
/// If `a` and `b` differ in number of planes, or a pair of planes differs in size or has a
/// sample buffer whose length is not `width * height`.
pub(crate) fn mse(a: &[Plane], b: &[Plane]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "mse: both images need the same number of planes"
    );
    let mut sum = 0.0;
    let mut count = 0usize;
    for (pa, pb) in a.iter().zip(b) {
        assert!(
            pa.width == pb.width && pa.height == pb.height,
            "mse: plane sizes differ ({}x{} vs {}x{})",
            pa.width,
            pa.height,
            pb.width,
            pb.height
        );
        assert!(
            pa.check().is_ok() && pb.check().is_ok(),
            "mse: malformed plane"
        );
        sum += sum_squared_diff(&pa.data, &pb.data);
        count += pa.data.len();
    }
    sum / count as f64
}

/// Σ (a − b)², accumulated in a few independent lanes (faster, and no less accurate than one
/// running sum).
fn sum_squared_diff(a: &[f64], b: &[f64]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (xa, xb) in ca.by_ref().zip(cb.by_ref()) {
        for i in 0..LANES {
            let d = xa[i] - xb[i];
            acc[i] += d * d;
        }
    }
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    acc.iter().sum::<f64>() + tail
}

/// PSNR in dB from a mean squared error: `10 · log10(peak² / mse)`.
///
/// `mse == 0` gives `cap_db` when given, `+inf` otherwise; any result above `cap_db` is
/// clamped to it.
pub(crate) fn psnr_from_mse(mse: f64, peak: f64, cap_db: Option<f64>) -> f64 {
    let db = if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (peak * peak / mse).log10()
    };
    match cap_db {
        Some(cap) => db.min(cap),
        None => db,
    }
}

/// libvmaf's peak for `bits`-bit samples, on the original integer code values: `2^bits − 1`.
///
/// libvmaf `float_psnr` divides `bits`-bit samples by `2^(bits−8)` and then uses peak
/// 255 (8-bit), 255.75 (10-bit), 255.9375 (12-bit), 255.99609375 (16-bit), i.e.
/// `(2^bits − 1) / 2^(bits−8)`. Scaling samples and peak by the same factor leaves PSNR
/// unchanged, so on the original code values the peak is `2^bits − 1` (1023 for 10-bit), not
/// `255 · 2^(bits−8)`.
pub(crate) fn libvmaf_peak(bits: u32) -> f64 {
    2f64.powi(bits as i32) - 1.0
}

/// libvmaf's PSNR cap in dB for `bits`-bit samples: `6 · bits + 12` (60 dB for 8-bit, 72 dB for
/// 10-bit, 84 dB for 12-bit, 108 dB for 16-bit).
pub(crate) fn libvmaf_cap_db(bits: u32) -> f64 {
    6.0 * f64::from(bits) + 12.0
}

/// PSNR of one plane in libvmaf's `float_psnr` convention (libvmaf 2.x/3.x), from the sum
/// of its squared differences over `count` samples.
///
/// The samples are the original integer code values of a `bits`-bit plane (e.g. 0..=1023 for
/// 10-bit luma). The result is `min(10 · log10((2^bits − 1)² / MSE), 6 · bits + 12)`;
/// identical planes give the cap. libvmaf reports this for luma as `float_psnr`; the same
/// convention applies to chroma planes.
///
/// (libvmaf also floors the MSE at 1e-10 on its 8-bit scale; that floor only matters above the
/// cap, so it never changes the result.) libvmaf itself only accepts 8, 10, 12 and 16 bits;
/// other depths here follow the same formulas.
pub(crate) fn libvmaf_psnr_of_sum(sum: u64, count: u64, bits: u32) -> f64 {
    psnr_from_mse(
        sum as f64 / count as f64,
        libvmaf_peak(bits),
        Some(libvmaf_cap_db(bits)),
    )
}

/// [`libvmaf_psnr_of_sum`] of two planes of integer code values, summed as the plugin sums
/// them (16-bit samples).
#[cfg(test)]
pub(crate) fn libvmaf_psnr(reference: &Plane, distorted: &Plane, bits: u32) -> f64 {
    let bytes = |plane: &Plane| -> Vec<u8> {
        plane
            .data
            .iter()
            .flat_map(|&v| (v as u16).to_ne_bytes())
            .collect()
    };
    let sum = ssd::ssd_u16(&bytes(reference), &bytes(distorted));
    libvmaf_psnr_of_sum(sum, reference.data.len() as u64, bits)
}

/// A reference kept for PSNR as its integer samples (each plane's rows back to back), so that
/// a comparison reads both images' samples once, as they are packed, and sums exact integer
/// squared differences.
#[derive(Debug)]
pub(crate) struct IntegerReference {
    format: PixelFormat,
    size: (u32, u32),
    sum: Sum,
    /// Per plane: its samples, the bytes of one row, and the samples counted in it.
    planes: Vec<(Vec<u8>, usize, u64)>,
}

impl IntegerReference {
    /// The samples of `view`; `None` for floating-point samples, which PSNR reads as `f64`.
    pub(crate) fn of(view: &ImageView<'_>) -> Result<Option<Self>, Error> {
        let info = view.validate()?;
        let sum = match (info.sample_bytes, info.channels) {
            (1, 4) => Sum::Rgba8,
            (1, _) => Sum::U8,
            (2, _) => Sum::U16,
            _ => return Ok(None),
        };
        let planes = (0..info.planes)
            .map(|index| {
                let g = info.plane(index, view.width, view.height);
                let row_bytes = g.row_bytes();
                let mut samples = Vec::with_capacity(row_bytes * g.height);
                for y in 0..g.height {
                    samples.extend_from_slice(view.planes[index].row(y, row_bytes));
                }
                let counted = g.width * g.channels.min(3) * g.height;
                (samples, row_bytes, counted as u64)
            })
            .collect();
        Ok(Some(Self {
            format: view.format,
            size: (view.width, view.height),
            sum,
            planes,
        }))
    }

    /// Per plane, Σ (reference − distorted)² and the number of samples summed. `distorted`
    /// must have the reference's format and size.
    pub(crate) fn squared_errors(
        &self,
        distorted: &ImageView<'_>,
        isa: Isa,
    ) -> Result<Vec<(u64, u64)>, Error> {
        let info: FormatInfo = distorted.validate()?;
        if distorted.format != self.format || (distorted.width, distorted.height) != self.size {
            return Err(Error::InvalidInput(format!(
                "the distorted image is {}x{} {:?}, the reference {}x{} {:?}",
                distorted.width,
                distorted.height,
                distorted.format,
                self.size.0,
                self.size.1,
                self.format
            )));
        }
        let sum = self.sum;
        Ok(simd::with_kernels!(
            isa,
            ssd::Portable,
            ssd::Avx2,
            |kernels| {
                self.planes
                    .iter()
                    .enumerate()
                    .map(|(index, (samples, row_bytes, counted))| {
                        let rows = info.plane(index, self.size.0, self.size.1).height;
                        let total = (0..rows)
                            .map(|y| {
                                let reference = &samples[y * row_bytes..(y + 1) * row_bytes];
                                let row = distorted.planes[index].row(y, *row_bytes);
                                sum.rows(kernels, reference, row)
                            })
                            .sum::<u64>();
                        (total, *counted)
                    })
                    .collect()
            }
        ))
    }
}
