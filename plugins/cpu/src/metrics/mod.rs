//! Metric math, independent of the plugin ABI.
//!
//! Everything here works on [`Plane`]s of `f64` samples (one channel each) and is computed in
//! `f64`. Each metric is defined by an external reference implementation, named in its module
//! documentation, and tested against numbers produced by that implementation:
//!
//! - [`psnr`]: scikit-image's `peak_signal_noise_ratio` (one MSE over every sample of every
//!   plane) and libvmaf's `float_psnr` convention for per-plane YUV PSNR.
//! - [`ssim`]: scikit-image's Gaussian-window `structural_similarity` (Wang et al. 2004).
//! - [`ms_ssim`]: libvmaf's `float_ms_ssim` (multi-scale SSIM, Wang et al. 2003).
//! - [`vif`], [`adm`], [`motion`]: VMAF's features, exactly as libvmaf's integer extractors
//!   compute them; these read integer luma ([`luma::Luma`]) rather than `f64` planes.
//!
//! SSIM and MS-SSIM follow a "prepare the reference once, compare many times" shape: the
//! reference-only work (filtered means and second moments, the pyramid) is done by
//! `*Reference::new` and reused by every `compare`.

// Until the plugin glue calls into every helper, some of them are only used by the tests.
#![cfg_attr(not(test), allow(dead_code))]

use std::fmt;

pub(crate) mod adm;
mod filter;
pub(crate) mod luma;
pub(crate) mod motion;
pub(crate) mod motion_v3;
pub(crate) mod ms_ssim;
pub(crate) mod plane;
pub(crate) mod psnr;
pub(crate) mod simd;
pub(crate) mod ssd;
pub(crate) mod ssim;
pub(crate) mod vif;

#[cfg(test)]
mod tests;

pub(crate) use plane::Plane;

/// Why a metric could not be computed for the given planes.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricError {
    /// A plane's sample buffer does not hold `width * height` samples.
    BadPlaneLength {
        /// Declared width.
        width: usize,
        /// Declared height.
        height: usize,
        /// Number of samples actually present.
        len: usize,
    },
    /// The two planes do not have the same dimensions.
    SizeMismatch {
        /// `(width, height)` of the reference plane.
        reference: (usize, usize),
        /// `(width, height)` of the distorted plane.
        distorted: (usize, usize),
    },
    /// The plane is smaller than the metric's minimum size in at least one dimension.
    TooSmall {
        /// Width of the plane.
        width: usize,
        /// Height of the plane.
        height: usize,
        /// Minimum width and height the metric accepts.
        min: usize,
    },
    /// The data range (peak-to-peak sample range `L`) is not a positive finite number.
    InvalidDataRange(f64),
    /// The plane is wider than a backend computes this metric for.
    TooWide {
        /// Width of the plane.
        width: usize,
        /// Widest plane accepted.
        max: usize,
    },
}

impl fmt::Display for MetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPlaneLength { width, height, len } => write!(
                f,
                "plane of {width}x{height} needs {} samples but has {len}",
                width.saturating_mul(*height)
            ),
            Self::SizeMismatch {
                reference: (rw, rh),
                distorted: (dw, dh),
            } => write!(
                f,
                "reference is {rw}x{rh} but distorted is {dw}x{dh}; sizes must match"
            ),
            Self::TooSmall { width, height, min } => write!(
                f,
                "image of {width}x{height} is too small: this metric needs at least {min}x{min}"
            ),
            Self::TooWide { width, max } => write!(
                f,
                "image is {width} samples wide: this backend computes the metric up to {max}"
            ),
            Self::InvalidDataRange(range) => {
                write!(
                    f,
                    "data range must be a positive finite number, got {range}"
                )
            }
        }
    }
}

impl std::error::Error for MetricError {}

/// Checks that `data_range` is usable as the dynamic range `L` of SSIM-type metrics.
fn check_data_range(data_range: f64) -> Result<(), MetricError> {
    if data_range.is_finite() && data_range > 0.0 {
        Ok(())
    } else {
        Err(MetricError::InvalidDataRange(data_range))
    }
}

/// Checks that a distorted plane has the reference's `(width, height)`.
fn check_same_size(reference: (usize, usize), distorted: &Plane) -> Result<(), MetricError> {
    if reference == (distorted.width, distorted.height) {
        Ok(())
    } else {
        Err(MetricError::SizeMismatch {
            reference,
            distorted: (distorted.width, distorted.height),
        })
    }
}
