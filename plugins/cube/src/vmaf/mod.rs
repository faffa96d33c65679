//! VMAF's integer features as device kernels, bit for bit the CPU plugin's: see
//! `README.md` beside this file.

pub mod adm;
mod adm_kernels;
mod arith;
pub mod engine;
pub mod luma;
mod memory;
pub mod motion;
#[cfg(test)]
mod tests;
pub mod vif;

use qscore_core::{Error, TaskSpec};
use qscore_cpu::vmaf_parts::{FeatureMetric, feature_metrics};

/// VMAF's metric `id` as the CPU plugin declares it, if it is one.
pub(crate) fn feature(id: &str) -> Option<FeatureMetric> {
    feature_metrics().into_iter().find(|m| m.id == id)
}

/// Predicted peak device bytes of a session of one of VMAF's metrics.
pub(crate) fn predict(metric: FeatureMetric, spec: &TaskSpec) -> Result<u64, Error> {
    Ok(memory::predict(
        metric.id,
        spec.width as usize,
        spec.height as usize,
    ))
}
