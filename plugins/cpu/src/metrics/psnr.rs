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

use super::Plane;

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

/// PSNR of one plane in libvmaf's `float_psnr` convention (libvmaf 2.x/3.x).
///
/// `reference` and `distorted` hold the original integer code values of a `bits`-bit plane
/// (e.g. 0..=1023 for 10-bit luma). The result is
/// `min(10 · log10((2^bits − 1)² / MSE), 6 · bits + 12)`; identical planes give the cap.
/// libvmaf reports this for luma as `float_psnr`; the same convention applies to chroma planes.
///
/// (libvmaf also floors the MSE at 1e-10 on its 8-bit scale; that floor only matters above the
/// cap, so it never changes the result.) libvmaf itself only accepts 8, 10, 12 and 16 bits;
/// other depths here follow the same formulas.
///
/// # Panics
/// As [`mse`].
pub(crate) fn libvmaf_psnr(reference: &Plane, distorted: &Plane, bits: u32) -> f64 {
    let m = mse(
        std::slice::from_ref(reference),
        std::slice::from_ref(distorted),
    );
    psnr_from_mse(m, libvmaf_peak(bits), Some(libvmaf_cap_db(bits)))
}
