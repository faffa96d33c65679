//! The parts of VMAF's features that another backend shares with this plugin rather than
//! writing them twice.
//!
//! A GPU kernel reproduces the integer arithmetic of a feature (the filters, the per-pixel
//! statistics, the integer sums) and hands its sums to the same tail as the CPU: the
//! combination of the sums in floating point, the score of each scale, the model. The
//! constants a kernel needs (taps, the logarithm table) come from here too, and so do the CPU's
//! own sums, which the other backends' tests compare with bit for bit.

use crate::metrics::vif::{self, VifReference};

pub use crate::engine::{Cpu, Engine};
pub use crate::metrics::MetricError;
pub use crate::metrics::adm::{AdmOptions, AdmScores};
pub use crate::metrics::luma::Luma;
pub use crate::metrics::motion::{
    FILTER as MOTION_FILTER, MIN_SIDE as MOTION_MIN_SIDE, MotionVersion, motion2_of,
};
pub use crate::metrics::vif::{
    DenAccum as VifDenSums, EPS as VIF_EPS, Log2Table, MIN_SIDE as VIF_MIN_SIDE,
    NOISE_VARIANCE as VIF_NOISE_VARIANCE, NumAccum as VifNumSums, TAPS as VIF_TAPS, VifOptions,
    VifScores, VifSums, log2_table as vif_log2_table,
};

/// The CPU's VIF sums of `distorted` against `reference`, with the enhancement gain limit
/// `gain_limit` (libvmaf's default is 100).
pub fn vif_sums(
    reference: &Luma<'_>,
    distorted: &Luma<'_>,
    gain_limit: f64,
) -> Result<VifSums, MetricError> {
    let prepared = VifReference::new(reference)?;
    let options = VifOptions {
        enhn_gain_limit: gain_limit,
    };
    vif::vif_sums(&prepared, distorted, &options)
}

/// The CPU's blurred luma for `motion` (libvmaf 2.3.1's integer Gaussian), rows packed.
pub fn motion_blur(luma: &Luma<'_>) -> Result<Vec<u16>, MetricError> {
    Ok(crate::metrics::motion::blur(luma)?.data)
}

/// libvmaf 2.3.1's `motion` from the SAD of two blurred frames of `pixels` pixels.
pub fn motion_value(sad: u64, pixels: usize) -> f64 {
    crate::metrics::motion::normalised(sad, pixels)
}

/// The CPU's libvmaf 3.2.0 filtered-difference SAD of `previous − current`.
pub fn motion_v3_sad(previous: &Luma<'_>, current: &Luma<'_>) -> Result<u64, MetricError> {
    crate::metrics::motion_v3::filtered_difference_sad(previous, current)
}

/// libvmaf 3.2.0's `motion` from a filtered-difference SAD over `pixels` pixels.
pub fn motion_v3_value(sad: u64, pixels: usize) -> f64 {
    crate::metrics::motion_v3::motion_value(sad, pixels)
}

/// ADM's constants, per-scale parameters and tail.
pub mod adm {
    use crate::metrics::adm::{self as cpu, AdmReference};
    pub use crate::metrics::adm::{
        AdmOptions, AdmScores, AdmSums, COARSE_CSF_SHIFT, COARSE_HORIZONTAL, COARSE_TERM_ROUND,
        COARSE_VERTICAL, DenShifts, FINE_CSF_ROUND, FINE_CSF_SHIFT, FINE_SQUARE_SHIFT,
        FINE_THRESHOLD_SHIFT, HI, LO, LO_SUM, MIN_SIDE, NumShifts, RECIPROCAL, Region, band_sizes,
        cos_sq_1deg, fixed_weights, whole_gain_limit,
    };

    use super::{Luma, MetricError};

    /// The shifts of `scale`'s denominator sums, for its scored `region`.
    pub fn den_shifts(scale: usize, region: Region) -> DenShifts {
        DenShifts::new(scale, region)
    }

    /// The CPU's ADM sums of `distorted` against `reference` under `options`.
    pub fn sums(
        reference: &Luma<'_>,
        distorted: &Luma<'_>,
        options: &AdmOptions,
    ) -> Result<AdmSums, MetricError> {
        let prepared = AdmReference::new(reference, options)?;
        cpu::adm_sums(&prepared, distorted, options)
    }
}

/// What this plugin declares about one of VMAF's metrics (`vif`, `adm`, `motion`, `motion2`,
/// `vmaf`), for another backend to declare the same.
#[derive(Debug, Clone, Copy)]
pub struct FeatureMetric {
    /// Metric id.
    pub id: &'static str,
    /// Names of the values its sessions return.
    pub outputs: &'static [&'static str],
    /// Parameters it accepts.
    pub params: &'static [&'static str],
    /// Smallest width and height accepted.
    pub min_side: u32,
    /// Previous reference frames it reads.
    pub temporal_depth: u32,
    /// Following reference frames it reads (ABI 1.3 frame window).
    pub lookahead: u32,
    /// Whether a frame's reference can be prepared once for several distorted frames.
    pub reusable_reference: bool,
}

/// VMAF's metrics as this plugin declares them.
pub fn feature_metrics() -> Vec<FeatureMetric> {
    crate::sessions::METRICS
        .iter()
        .filter(|m| m.yuv_only)
        .map(|m| FeatureMetric {
            id: m.id,
            outputs: m.outputs,
            params: m.params,
            min_side: m.min_side,
            temporal_depth: m.temporal_depth,
            lookahead: m.lookahead,
            reusable_reference: m.temporal_depth == 0 || m.prepares_window,
        })
        .collect()
}

/// A session of one of VMAF's metrics whose integer features `engine` computes: the same
/// parameters, checks, models and tails as this plugin's own sessions.
pub fn open_session<E: Engine>(
    engine: E,
    spec: &qscore_core::TaskSpec,
) -> Result<Box<dyn qscore_core::sdk::AnySession>, qscore_core::Error> {
    use crate::temporal::{Motion, MotionSession};
    use crate::vmaf::{AdmSession, VifSession, VmafSession};
    use qscore_core::sdk::boxed;
    let def = crate::sessions::checked(spec)?;
    match def.id {
        "vif" => Ok(boxed(VifSession::new(engine, spec)?)),
        "adm" => Ok(boxed(AdmSession::new(engine, spec)?)),
        "motion" => Ok(boxed(MotionSession::new(engine, Motion::Motion, spec)?)),
        "motion2" => Ok(boxed(MotionSession::new(engine, Motion::Motion2, spec)?)),
        "vmaf" => Ok(boxed(VmafSession::new(engine, spec)?)),
        other => Err(qscore_core::Error::Unsupported(format!(
            "metric {other:?} is not one of VMAF's"
        ))),
    }
}
