//! Where VMAF's integer features are computed: [`Cpu`] (this plugin's code) or another
//! backend's kernels. The sessions of `vif`, `adm`, `motion`, `motion2` and `vmaf` are
//! generic over an [`Engine`], so their parameters, models and floating-point tails are the
//! same code whatever computes the integers.

use crate::metrics::{
    MetricError,
    adm::{self, AdmOptions, AdmReference, AdmScores},
    luma::Luma,
    motion::{self, MotionVersion},
    vif::{self, VifOptions, VifReference, VifScores},
};

/// Computes VMAF's integer features bit for bit as this plugin does.
pub trait Engine: Send + 'static {
    /// A frame's luma as the engine reads it (borrowed on the CPU, uploaded on a device).
    type Frame<'a>;
    /// VIF's reference-side work for one frame.
    type VifReference: Send + 'static;
    /// ADM's reference-side work for one frame.
    type AdmReference: Send + 'static;

    /// Takes a frame's luma.
    fn frame<'a>(&self, luma: Luma<'a>) -> Result<Self::Frame<'a>, MetricError>;
    /// VIF's reference-side work.
    fn vif_reference(&self, frame: &Self::Frame<'_>) -> Result<Self::VifReference, MetricError>;
    /// VIF of a distorted frame against a prepared reference.
    fn vif(
        &self,
        reference: &Self::VifReference,
        distorted: &Self::Frame<'_>,
        options: &VifOptions,
    ) -> Result<VifScores, MetricError>;
    /// ADM's reference-side work under `options`' viewing geometry.
    fn adm_reference(
        &self,
        frame: &Self::Frame<'_>,
        options: &AdmOptions,
    ) -> Result<Self::AdmReference, MetricError>;
    /// ADM of a distorted frame against a prepared reference.
    fn adm(
        &self,
        reference: &Self::AdmReference,
        distorted: &Self::Frame<'_>,
        options: &AdmOptions,
    ) -> Result<AdmScores, MetricError>;
    /// `(motion, motion2)` of the frame `current` (see `metrics::motion::frame_motions`).
    fn frame_motions(
        &self,
        version: MotionVersion,
        previous: Option<&Self::Frame<'_>>,
        current: &Self::Frame<'_>,
        next: Option<&Self::Frame<'_>>,
    ) -> Result<(f64, f64), MetricError>;
}

/// This plugin's own code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu;

impl Engine for Cpu {
    type Frame<'a> = Luma<'a>;
    type VifReference = VifReference;
    type AdmReference = AdmReference;

    fn frame<'a>(&self, luma: Luma<'a>) -> Result<Luma<'a>, MetricError> {
        Ok(luma)
    }

    fn vif_reference(&self, frame: &Luma<'_>) -> Result<VifReference, MetricError> {
        VifReference::new(frame)
    }

    fn vif(
        &self,
        reference: &VifReference,
        distorted: &Luma<'_>,
        options: &VifOptions,
    ) -> Result<VifScores, MetricError> {
        vif::vif(reference, distorted, options)
    }

    fn adm_reference(
        &self,
        frame: &Luma<'_>,
        options: &AdmOptions,
    ) -> Result<AdmReference, MetricError> {
        AdmReference::new(frame, options)
    }

    fn adm(
        &self,
        reference: &AdmReference,
        distorted: &Luma<'_>,
        options: &AdmOptions,
    ) -> Result<AdmScores, MetricError> {
        adm::adm(reference, distorted, options)
    }

    fn frame_motions(
        &self,
        version: MotionVersion,
        previous: Option<&Luma<'_>>,
        current: &Luma<'_>,
        next: Option<&Luma<'_>>,
    ) -> Result<(f64, f64), MetricError> {
        motion::frame_motions(version, previous, current, next)
    }
}
