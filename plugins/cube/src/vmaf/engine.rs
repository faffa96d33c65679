//! The device as the CPU plugin's VMAF sessions see it: an [`Engine`] whose integer features
//! are this crate's kernels. Everything else (parameters, models, pooling of the scales,
//! the SVM) is the CPU plugin's code.

use std::sync::Arc;

use cubecl::{ir::ElemType, prelude::*, server::Handle};
use qscore_cpu::vmaf_parts::{
    AdmOptions, AdmScores, Engine, Luma, MOTION_MIN_SIDE, MetricError, MotionVersion, VifOptions,
    VifScores, motion_v3_value, motion_value, motion2_of,
};

use super::{
    adm::{self, AdmPrepared, AdmTables},
    luma::DeviceLuma,
    motion,
    vif::{self, VifPrepared, VifTables},
};

/// Why a device cannot run VMAF's kernels, if it cannot: they need 64-bit integers and
/// floats in shaders. `QSCORE_CUBE_FAULT=no-int64` makes every device look as if it lacked
/// 64-bit integers, for tests of the path that sends VMAF to the CPU.
pub fn unsupported_reason<R: Runtime>(client: &ComputeClient<R>) -> Option<String> {
    use cubecl::ir::{FloatKind, IntKind, UIntKind};
    let props = client.properties();
    let fault = std::env::var(crate::liveness::FAULT_ENV).is_ok_and(|v| v == "no-int64");
    let missing: Vec<&str> = [
        (ElemType::UInt(UIntKind::U64), "64-bit unsigned integers"),
        (ElemType::Int(IntKind::I64), "64-bit integers"),
        (ElemType::Float(FloatKind::F64), "64-bit floats"),
    ]
    .into_iter()
    .filter(|(ty, _)| !props.supports_type(*ty) || (fault && !matches!(ty, ElemType::Float(_))))
    .map(|(_, what)| what)
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "VMAF's integer features on this device (its shaders lack {}; the CPU plugin \
             computes them)",
            missing.join(" and ")
        )
    })
}

/// VMAF's integer features on one device.
pub struct DeviceEngine<R: Runtime> {
    client: ComputeClient<R>,
    vif: Arc<VifTables>,
    adm: Arc<AdmTables>,
}

impl<R: Runtime> std::fmt::Debug for DeviceEngine<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceEngine").finish_non_exhaustive()
    }
}

impl<R: Runtime> DeviceEngine<R> {
    /// The kernels on `client`'s device, with their tables uploaded.
    pub fn new(client: ComputeClient<R>) -> Self {
        Self {
            vif: Arc::new(VifTables::new(&client)),
            adm: Arc::new(AdmTables::new(&client)),
            client,
        }
    }
}

/// `(motion, motion2)` of `current`: each frame made ready once by `ready` (2.3.1 blurs it),
/// the SADs of the pairs (previous, current) and (current, next) launched by `launch` and
/// read back together, each turned into a motion by `value`.
fn motions<'f, R: Runtime, T>(
    client: &ComputeClient<R>,
    (previous, current, next): (
        Option<&'f DeviceLuma>,
        &'f DeviceLuma,
        Option<&'f DeviceLuma>,
    ),
    ready: impl Fn(&'f DeviceLuma) -> T,
    launch: impl Fn(&T, &T) -> Result<Handle, MetricError>,
    value: impl Fn(u64) -> f64,
) -> Result<(f64, f64), MetricError> {
    let Some(previous) = previous else {
        return Ok((0.0, 0.0));
    };
    let current = ready(current);
    let mut partials = vec![launch(&ready(previous), &current)?];
    if let Some(next) = next {
        partials.push(launch(&current, &ready(next))?);
    }
    let sads = motion::read_totals(client, partials);
    let own = value(sads[0]);
    Ok((own, motion2_of(own, sads.get(1).map(|&s| value(s)))))
}

impl<R: Runtime> Engine for DeviceEngine<R> {
    type Frame<'a> = DeviceLuma;
    type VifReference = VifPrepared;
    type AdmReference = AdmPrepared;

    fn frame<'a>(&self, luma: Luma<'a>) -> Result<DeviceLuma, MetricError> {
        luma.check(1)?;
        Ok(DeviceLuma::upload(&self.client, &luma))
    }

    fn vif_reference(&self, frame: &DeviceLuma) -> Result<VifPrepared, MetricError> {
        vif::prepare(&self.client, &self.vif, frame)
    }

    fn vif(
        &self,
        reference: &VifPrepared,
        distorted: &DeviceLuma,
        options: &VifOptions,
    ) -> Result<VifScores, MetricError> {
        let sums = vif::sums(
            &self.client,
            &self.vif,
            reference,
            distorted,
            options.enhn_gain_limit,
        )?;
        Ok(sums.scores())
    }

    fn adm_reference(
        &self,
        frame: &DeviceLuma,
        options: &AdmOptions,
    ) -> Result<AdmPrepared, MetricError> {
        adm::prepare(&self.client, frame, options)
    }

    fn adm(
        &self,
        reference: &AdmPrepared,
        distorted: &DeviceLuma,
        options: &AdmOptions,
    ) -> Result<AdmScores, MetricError> {
        let gain = options.enhn_gain_limit;
        let sums = adm::sums(&self.client, &self.adm, reference, distorted, gain)?;
        let (w, h) = reference.size();
        Ok(sums.scores(w, h, reference.options()))
    }

    fn frame_motions(
        &self,
        version: MotionVersion,
        previous: Option<&DeviceLuma>,
        current: &DeviceLuma,
        next: Option<&DeviceLuma>,
    ) -> Result<(f64, f64), MetricError> {
        let (w, h) = current.size();
        if w < MOTION_MIN_SIDE || h < MOTION_MIN_SIDE {
            return Err(MetricError::TooSmall {
                width: w,
                height: h,
                min: MOTION_MIN_SIDE,
            });
        }
        let c = &self.client;
        let frames = (previous, current, next);
        match version {
            MotionVersion::V2_3_1 => motions(
                c,
                frames,
                |f| motion::blur(c, f),
                |a, b| motion::launch_blurred_sad(c, a, b),
                |sad| motion_value(sad, w * h),
            ),
            MotionVersion::V3_2 => motions(
                c,
                frames,
                |f| f,
                |a, b| motion::launch_difference_sad(c, a, b),
                |sad| motion_v3_value(sad, w * h),
            ),
        }
    }
}
