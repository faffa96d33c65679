//! One session type per metric, the table that describes them, and the memory
//! meter wrapped around every session.

use butteraugli::{ButteraugliParams, ButteraugliReference};
use fast_ssim2::{PixelDescriptor, PixelSlice, Ssimulacra2Reference};
use qscore_core::{
    Error, FormatInfo, ImageView, NamedValue, PixelFormat, TaskSpec,
    sdk::{self, AnySession, Session, Values},
};

use crate::{
    convert,
    engine::Cpu,
    meter::measure,
    metrics::{
        MetricError, Plane, adm, motion,
        ms_ssim::{self, MsSsimReference},
        psnr,
        simd::Isa,
        ssim::{self, SsimReference},
        vif,
    },
    temporal::{Motion, MotionSession},
    vmaf::{AdmSession, VifSession, VmafSession},
};

/// Everything the plugin knows about one metric.
#[derive(Debug)]
pub(crate) struct MetricDef {
    /// Metric id.
    pub(crate) id: &'static str,
    /// Names of the values its sessions return (YUV psnr returns the per-plane ones).
    pub(crate) outputs: &'static [&'static str],
    /// Smallest width and height accepted.
    pub(crate) min_side: u32,
    /// Parameters the metric accepts.
    pub(crate) params: &'static [&'static str],
    /// Whether it reads only YUV frames (the temporal features read their luma).
    pub(crate) yuv_only: bool,
    /// Previous reference frames it needs (0 for spatial metrics).
    pub(crate) temporal_depth: u32,
    /// Following reference frames it needs (ABI 1.3 frame window).
    pub(crate) lookahead: u32,
    /// For a temporal metric: whether a frame's reference, with its neighbours, can be
    /// prepared once for several distorted frames (ABI 1.4).
    pub(crate) prepares_window: bool,
    open: fn(&TaskSpec) -> Result<Box<dyn AnySession>, Error>,
}

impl MetricDef {
    const SPATIAL: Self = Self {
        id: "",
        outputs: &[],
        min_side: 1,
        params: &[],
        yuv_only: false,
        temporal_depth: 0,
        lookahead: 0,
        prepares_window: false,
        open: |_| Err(Error::Internal("metric without a session".into())),
    };
}

/// Every metric of this plugin.
pub(crate) const METRICS: &[MetricDef] = &[
    MetricDef {
        id: "psnr",
        params: &[],
        outputs: &["psnr", "psnr_y", "psnr_cb", "psnr_cr"],
        min_side: 1,
        open: |spec| Ok(sdk::boxed(Metered::new(PsnrSession::new(spec)))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "ssim",
        params: &[],
        outputs: &["ssim"],
        min_side: ssim::WINDOW as u32,
        open: |spec| Ok(sdk::boxed(Metered::new(SsimSession::new(spec)))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "ms_ssim",
        params: &[],
        outputs: &["ms_ssim"],
        min_side: ms_ssim::MIN_SIZE as u32,
        open: |spec| Ok(sdk::boxed(Metered::new(MsSsimSession::new(spec)))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "ssimulacra2",
        params: &[],
        outputs: &["ssimulacra2"],
        min_side: 1,
        open: |_| Ok(sdk::boxed(Metered::new(Ssimulacra2Session))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "butteraugli",
        params: &["intensity_target"],
        outputs: &["butteraugli", "butteraugli_pnorm3"],
        min_side: 8,
        open: |spec| Ok(sdk::boxed(Metered::new(ButteraugliSession::new(spec)?))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "motion",
        params: &["motion_version"],
        outputs: &["motion"],
        min_side: motion::MIN_SIDE as u32,
        yuv_only: true,
        temporal_depth: 1,
        lookahead: 0,
        prepares_window: false,
        open: |spec| {
            Ok(sdk::boxed(Metered::new(MotionSession::new(
                Cpu,
                Motion::Motion,
                spec,
            )?)))
        },
    },
    MetricDef {
        id: "motion2",
        params: &["motion_version"],
        outputs: &["motion2"],
        min_side: motion::MIN_SIDE as u32,
        yuv_only: true,
        temporal_depth: 1,
        lookahead: 1,
        prepares_window: false,
        open: |spec| {
            Ok(sdk::boxed(Metered::new(MotionSession::new(
                Cpu,
                Motion::Motion2,
                spec,
            )?)))
        },
    },
    MetricDef {
        id: "vif",
        params: &["enhn_gain_limit"],
        outputs: &["vif_scale0", "vif_scale1", "vif_scale2", "vif_scale3"],
        min_side: vif::MIN_SIDE as u32,
        yuv_only: true,
        open: |spec| Ok(sdk::boxed(Metered::new(VifSession::new(Cpu, spec)?))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "adm",
        params: &["enhn_gain_limit", "norm_view_dist", "ref_display_height"],
        outputs: &[
            "adm2",
            "adm_scale0",
            "adm_scale1",
            "adm_scale2",
            "adm_scale3",
        ],
        min_side: adm::MIN_SIDE as u32,
        yuv_only: true,
        open: |spec| Ok(sdk::boxed(Metered::new(AdmSession::new(Cpu, spec)?))),
        ..MetricDef::SPATIAL
    },
    MetricDef {
        id: "vmaf",
        params: &[
            "model",
            "motion_version",
            "enable_transform",
            "disable_clip",
        ],
        outputs: &[
            "vmaf",
            "vif_scale0",
            "vif_scale1",
            "vif_scale2",
            "vif_scale3",
            "adm2",
            "motion2",
        ],
        min_side: VMAF_MIN_SIDE,
        yuv_only: true,
        temporal_depth: 1,
        lookahead: 1,
        prepares_window: true,
        open: |spec| Ok(sdk::boxed(Metered::new(VmafSession::new(Cpu, spec)?))),
    },
];

/// The smallest side every feature of VMAF accepts.
const VMAF_MIN_SIDE: u32 = {
    let mut side = motion::MIN_SIDE;
    if vif::MIN_SIDE > side {
        side = vif::MIN_SIDE;
    }
    if adm::MIN_SIDE > side {
        side = adm::MIN_SIDE;
    }
    side as u32
};

/// The definition of metric `id`.
pub(crate) fn find(id: &str) -> Result<&'static MetricDef, Error> {
    METRICS.iter().find(|m| m.id == id).ok_or_else(|| {
        let known: Vec<_> = METRICS.iter().map(|m| m.id).collect();
        Error::Unsupported(format!(
            "metric {id:?} (this plugin has {})",
            known.join(", ")
        ))
    })
}

/// Fixed overhead of a session besides its per-pixel buffers.
const SESSION_OVERHEAD: u64 = 64 * 1024;

/// Predicted peak bytes of a session for `spec`, its prepared reference included.
///
/// Peak bytes per pixel were measured with the plugin's allocation meter (the
/// `predictions_cover_measured_peaks` test prints them) and are rounded up by 10%:
///
/// | metric | bytes per pixel (S = colour samples per pixel: 3 RGB, 1 grey, 1.5 for 4:2:0…) |
/// |---|---|
/// | psnr | the reference's samples as packed (8 and 16 bit); 16·S for f32: both images' samples as f64 |
/// | ssim | 32 per colour channel; YUV: 33 for luma + 2·S to extract it |
/// | ms_ssim | 49 (luma pyramid and maps); +14 to take luma from RGB |
/// | ssimulacra2 | 121 for 8-bit RGB or grey (read in place), 177 for RGBA; 139 when converted to linear f32 |
/// | butteraugli | 167 |
/// | motion | 6 per luma sample: two blurred frames and one column-pass buffer, 16-bit |
/// | motion2 | 8 per luma sample: three blurred frames and one column-pass buffer |
/// | vif | 15.9: the reference's pyramid with its filtered means and variances, the distorted pyramid |
/// | adm | 3.4: the reference's detail bands at four scales; the distorted bands are streamed |
/// | vmaf | 23.8: a frame's VIF and ADM references, three blurred frames, the distorted work |
pub(crate) fn predict(def: &MetricDef, spec: &TaskSpec) -> u64 {
    let Some(info) = FormatInfo::of(spec.format) else {
        return SESSION_OVERHEAD;
    };
    let pixels = f64::from(spec.width) * f64::from(spec.height);
    let samples = if info.yuv.is_some() {
        info.packed_size(spec.width, spec.height) as f64 / info.sample_bytes as f64 / pixels
    } else {
        info.channels.min(3) as f64
    };
    let eight_bit_packed = info.yuv.is_none() && info.sample_bytes == 1;
    let per_pixel = match def.id {
        "motion" => 6.0,
        "motion2" => 8.0,
        "vif" => 15.9,
        "adm" => 3.4,
        "vmaf" => 23.8,
        // A copy of the reference's samples as they are packed.
        "psnr" if info.sample_bytes <= 2 => {
            info.packed_size(spec.width, spec.height) as f64 / pixels
        }
        "psnr" => 16.0 * samples,
        "ssim" if info.yuv.is_some() => 33.0 + 2.0 * samples,
        "ssim" => 32.0 * samples,
        "ms_ssim" if samples >= 3.0 && info.yuv.is_none() => 63.0,
        "ms_ssim" => 49.0,
        "ssimulacra2" if eight_bit_packed && info.channels == 4 => 177.0,
        "ssimulacra2" if eight_bit_packed => 121.0,
        "ssimulacra2" => 139.0,
        _ => 167.0,
    };
    // VMAF's features and PSNR allocate nothing but their planes and a few rows of sums.
    let overhead = if def.yuv_only || def.id == "psnr" {
        4 * u64::from(spec.width) + 4096
    } else {
        SESSION_OVERHEAD
    };
    (pixels * per_pixel * 1.1) as u64 + overhead
}

/// Opens a session for `spec` after checking the metric accepts its size.
pub(crate) fn open(spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
    let def = checked(spec)?;
    (def.open)(spec)
}

/// The definition of `spec`'s metric, once its size and parameters are checked.
pub(crate) fn checked(spec: &TaskSpec) -> Result<&'static MetricDef, Error> {
    let def = find(spec.metric.as_str())?;
    if spec.width < def.min_side || spec.height < def.min_side {
        return Err(Error::InvalidInput(format!(
            "{} needs images of at least {}x{}, got {}x{}",
            def.id, def.min_side, def.min_side, spec.width, spec.height
        )));
    }
    if let Some(unknown) = spec
        .params
        .iter()
        .find(|p| !def.params.contains(&p.key.as_str()))
    {
        let accepted = if def.params.is_empty() {
            "none".to_owned()
        } else {
            def.params.join(", ")
        };
        return Err(Error::InvalidInput(format!(
            "{} has no parameter {:?} (accepted: {accepted})",
            def.id,
            unknown.key.as_str()
        )));
    }
    Ok(def)
}

fn metric_error(error: MetricError) -> Error {
    Error::InvalidInput(error.to_string())
}

/// Wraps a session, measuring the memory of every call (ABI 1.1 session statistics).
pub(crate) struct Metered<S> {
    inner: S,
    retained: u64,
    peak: u64,
}

impl<S> Metered<S> {
    fn new(inner: S) -> Self {
        Self {
            inner,
            retained: 0,
            peak: 0,
        }
    }

    fn run<R>(&mut self, keeps: bool, f: impl FnOnce(&mut S) -> R) -> R {
        let (result, usage) = measure(|| f(&mut self.inner));
        self.peak = self.peak.max(self.retained + usage.peak);
        if keeps {
            self.retained += usage.retained;
        }
        result
    }
}

impl<S: Session> Session for Metered<S> {
    type Prepared = S::Prepared;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Self::Prepared, Error> {
        self.run(true, |s| s.prepare(reference))
    }

    fn compare(
        &mut self,
        prepared: &Self::Prepared,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.run(false, |s| s.compare(prepared, distorted))
    }

    fn compare_pair(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.run(false, |s| s.compare_pair(reference, distorted))
    }

    fn compare_frame(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.run(false, |s| s.compare_frame(reference, previous, distorted))
    }

    fn compare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.run(false, |s| {
            s.compare_window(reference, previous, next, distorted)
        })
    }

    fn prepare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
    ) -> Result<Self::Prepared, Error> {
        self.run(true, |s| s.prepare_window(reference, previous, next))
    }

    fn peak_memory(&self) -> Option<u64> {
        Some(self.peak)
    }
}

/// PSNR: one MSE over every sample for packed formats, per plane for YUV.
struct PsnrSession {
    yuv_bits: Option<u32>,
    peak: f64,
}

impl PsnrSession {
    fn new(spec: &TaskSpec) -> Self {
        let info = FormatInfo::of(spec.format);
        Self {
            yuv_bits: spec.format.as_yuv().map(|(_, bits)| bits),
            peak: info.as_ref().map_or(255.0, convert::data_range),
        }
    }
}

/// A reference as PSNR keeps it: integer samples as they are packed, or `f64` for
/// floating-point samples.
enum PsnrReference {
    Integer(psnr::IntegerReference),
    Float(Vec<Plane>),
}

impl Session for PsnrSession {
    type Prepared = PsnrReference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<PsnrReference, Error> {
        Ok(match psnr::IntegerReference::of(reference)? {
            Some(samples) => PsnrReference::Integer(samples),
            None => PsnrReference::Float(convert::channels(reference)?),
        })
    }

    fn compare(
        &mut self,
        prepared: &PsnrReference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let samples = match prepared {
            PsnrReference::Integer(samples) => samples,
            PsnrReference::Float(planes) => {
                let mse = psnr::mse(planes, &convert::channels(distorted)?);
                return Ok(vec![NamedValue::new(
                    "psnr",
                    psnr::psnr_from_mse(mse, self.peak, None),
                )]);
            }
        };
        let errors = samples.squared_errors(distorted, Isa::detected())?;
        Ok(match self.yuv_bits {
            Some(bits) => ["psnr_y", "psnr_cb", "psnr_cr"]
                .iter()
                .zip(&errors)
                .map(|(name, &(sum, count))| {
                    NamedValue::new(name, psnr::libvmaf_psnr_of_sum(sum, count, bits))
                })
                .collect(),
            None => {
                let (sum, count) = errors
                    .iter()
                    .fold((0u64, 0u64), |(s, c), &(es, ec)| (s + es, c + ec));
                vec![NamedValue::new(
                    "psnr",
                    psnr::psnr_from_mse(sum as f64 / count as f64, self.peak, None),
                )]
            }
        })
    }
}

/// SSIM: mean over colour channels for packed formats, on luma for YUV.
struct SsimSession {
    yuv: bool,
}

impl SsimSession {
    fn new(spec: &TaskSpec) -> Self {
        Self {
            yuv: spec.format.as_yuv().is_some(),
        }
    }

    fn planes(&self, image: &ImageView<'_>) -> Result<(Vec<Plane>, f64), Error> {
        if self.yuv {
            let (luma, range) = convert::luma(image)?;
            return Ok((vec![luma], range));
        }
        let info = image.validate()?;
        Ok((convert::channels(image)?, convert::data_range(&info)))
    }
}

impl Session for SsimSession {
    type Prepared = Vec<SsimReference>;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Self::Prepared, Error> {
        let (planes, range) = self.planes(reference)?;
        planes
            .iter()
            .map(|p| SsimReference::new(p, range).map_err(metric_error))
            .collect()
    }

    fn compare(
        &mut self,
        prepared: &Self::Prepared,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let (planes, _) = self.planes(distorted)?;
        let mut sum = 0.0;
        for (reference, plane) in prepared.iter().zip(&planes) {
            sum += reference.compare(plane).map_err(metric_error)?;
        }
        Ok(vec![NamedValue::new("ssim", sum / planes.len() as f64)])
    }
}

/// MS-SSIM on luma.
struct MsSsimSession;

impl MsSsimSession {
    fn new(_spec: &TaskSpec) -> Self {
        Self
    }
}

impl Session for MsSsimSession {
    type Prepared = MsSsimReference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<MsSsimReference, Error> {
        let (luma, range) = convert::luma(reference)?;
        MsSsimReference::new(&luma, range).map_err(metric_error)
    }

    fn compare(
        &mut self,
        prepared: &MsSsimReference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let (luma, _) = convert::luma(distorted)?;
        let value = prepared.compare(&luma).map_err(metric_error)?;
        Ok(vec![NamedValue::new("ms_ssim", value)])
    }
}

/// Calls `f` with a fast-ssim2 view of `image`: zero-copy for 8-bit RGB, RGBA and
/// grey, linear-light `f32` otherwise.
fn with_ssim2_slice<R>(
    image: &ImageView<'_>,
    f: impl FnOnce(&PixelSlice<'_>) -> Result<R, fast_ssim2::Ssimulacra2Error>,
) -> Result<R, Error> {
    let info = image.validate()?;
    let descriptor = match image.format {
        PixelFormat::RGB8 => Some(PixelDescriptor::RGB8_SRGB),
        PixelFormat::RGBA8 => Some(PixelDescriptor::RGBA8_SRGB),
        PixelFormat::GRAY8 => Some(PixelDescriptor::GRAY8_SRGB),
        _ => None,
    };
    let ssim2_error =
        |e: fast_ssim2::Ssimulacra2Error| Error::InvalidInput(format!("ssimulacra2: {e}"));
    match descriptor {
        Some(descriptor) => {
            let plane = &image.planes[0];
            let g = info.plane(0, image.width, image.height);
            let len = plane.stride * (g.height - 1) + g.row_bytes();
            let slice = PixelSlice::new(
                &plane.data.as_slice()[..len],
                image.width,
                image.height,
                plane.stride,
                descriptor,
            )
            .map_err(|e| Error::Internal(format!("ssimulacra2 view: {e:?}")))?;
            f(&slice).map_err(ssim2_error)
        }
        None => {
            let linear = convert::linear_rgb(image)?;
            // fast-ssim2 requires f32 alignment: view the f32 buffer's own bytes.
            // SAFETY: `linear` is a live Vec<f32> and every f32 is four initialised bytes.
            let view = unsafe {
                std::slice::from_raw_parts(linear.as_ptr().cast::<u8>(), linear.len() * 4)
            };
            let slice = PixelSlice::new(
                view,
                image.width,
                image.height,
                image.width as usize * 12,
                PixelDescriptor::RGBF32_LINEAR,
            )
            .map_err(|e| Error::Internal(format!("ssimulacra2 view: {e:?}")))?;
            f(&slice).map_err(ssim2_error)
        }
    }
}

/// SSIMULACRA2 through the `fast-ssim2` crate.
struct Ssimulacra2Session;

impl Session for Ssimulacra2Session {
    type Prepared = Ssimulacra2Reference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Ssimulacra2Reference, Error> {
        with_ssim2_slice(reference, Ssimulacra2Reference::new)
    }

    fn compare(
        &mut self,
        prepared: &Ssimulacra2Reference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let value = with_ssim2_slice(distorted, |slice| prepared.compare(slice))?;
        Ok(vec![NamedValue::new("ssimulacra2", value)])
    }
}

/// Butteraugli (max-norm and libjxl's 3-norm) through the `butteraugli` crate.
struct ButteraugliSession {
    params: ButteraugliParams,
}

impl ButteraugliSession {
    fn new(spec: &TaskSpec) -> Result<Self, Error> {
        let mut params = ButteraugliParams::default();
        if let Some(text) = spec.param("intensity_target") {
            let nits: f32 = text.parse().map_err(|_| {
                Error::InvalidInput(format!(
                    "butteraugli intensity_target {text:?} is not a number"
                ))
            })?;
            params = params.with_intensity_target(nits);
        }
        params
            .validate()
            .map_err(|e| Error::InvalidInput(format!("butteraugli parameters: {e}")))?;
        Ok(Self { params })
    }
}

fn butteraugli_error(e: butteraugli::ButteraugliError) -> Error {
    Error::InvalidInput(format!("butteraugli: {e}"))
}

impl Session for ButteraugliSession {
    type Prepared = ButteraugliReference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<ButteraugliReference, Error> {
        let (w, h) = (reference.width as usize, reference.height as usize);
        match convert::rgb8(reference)? {
            Some(rgb) => ButteraugliReference::new(&rgb, w, h, self.params.clone()),
            None => {
                let linear = convert::linear_rgb(reference)?;
                ButteraugliReference::new_linear(&linear, w, h, self.params.clone())
            }
        }
        .map_err(butteraugli_error)
    }

    fn compare(
        &mut self,
        prepared: &ButteraugliReference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let result = match convert::rgb8(distorted)? {
            Some(rgb) => prepared.compare(&rgb),
            None => prepared.compare_linear(&convert::linear_rgb(distorted)?),
        }
        .map_err(butteraugli_error)?;
        Ok(vec![
            NamedValue::new("butteraugli", result.score),
            NamedValue::new("butteraugli_pnorm3", result.pnorm_3),
        ])
    }
}

#[cfg(test)]
mod tests {
    use qscore_core::{ChromaSubsampling, MemoryMode, OwnedImage};

    use super::*;

    /// A deterministic textured image of `format` (values vary so no metric short-cuts).
    fn image(format: PixelFormat, width: u32, height: u32, seed: u32) -> OwnedImage {
        let info = qscore_core::FormatInfo::of(format).unwrap();
        let planes = (0..info.planes)
            .map(|i| {
                let g = info.plane(i, width, height);
                (0..g.row_bytes() * g.height)
                    .map(|n| {
                        let v = (n as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24;
                        if info.sample_bytes == 2 && n % 2 == 1 {
                            (v & 3) as u8
                        } else {
                            v as u8
                        }
                    })
                    .collect()
            })
            .collect();
        OwnedImage {
            format,
            width,
            height,
            planes,
        }
    }

    /// Runs a session like the host does and returns its measured peak bytes: a prepared
    /// reference and a comparison, or for a temporal metric a frame with every neighbour
    /// it can use.
    fn measured_peak(def: &MetricDef, format: PixelFormat, width: u32, height: u32) -> u64 {
        let spec = TaskSpec::new(def.id, width, height, format, MemoryMode::FULL);
        let mut session = open(&spec).unwrap();
        let reference = image(format, width, height, 1);
        let distorted = image(format, width, height, 2);
        if def.temporal_depth > 0 {
            let previous = image(format, width, height, 3);
            let next = image(format, width, height, 4);
            reference
                .with_view(|r| {
                    previous.with_view(|p| {
                        next.with_view(|n| {
                            let next = if def.lookahead > 0 { vec![*n] } else { vec![] };
                            distorted.with_view(|d| session.compare_window_any(r, &[*p], &next, d))
                        })
                    })
                })
                .unwrap();
        } else {
            let prepared = reference.with_view(|v| session.prepare_any(v)).unwrap();
            distorted
                .with_view(|v| session.compare_any(prepared.as_ref(), v))
                .unwrap();
        }
        session.peak_memory_any().unwrap()
    }

    #[test]
    fn predictions_cover_measured_peaks() {
        let yuv = PixelFormat::yuv(ChromaSubsampling::Yuv420, 10);
        let mut failures = Vec::new();
        for def in METRICS {
            for format in [
                PixelFormat::RGB8,
                PixelFormat::RGBA8,
                PixelFormat::GRAY8,
                PixelFormat::RGB16,
                yuv,
                PixelFormat::yuv(ChromaSubsampling::Yuv420, 8),
            ] {
                if def.yuv_only && format.as_yuv().is_none() {
                    continue;
                }
                for (w, h) in [(256, 192), (640, 480)] {
                    let spec = TaskSpec::new(def.id, w, h, format, MemoryMode::FULL);
                    let predicted = predict(def, &spec);
                    // The first call of a metric in the process makes its tables (VIF's
                    // logarithms): once per process, not per session.
                    measured_peak(def, format, w, h);
                    let measured = measured_peak(def, format, w, h);
                    let ratio = predicted as f64 / measured as f64;
                    eprintln!(
                        "{} {format} {w}x{h}: measured {:.1} B/px, predicted {:.1} B/px (x{ratio:.2})",
                        def.id,
                        measured as f64 / f64::from(w * h),
                        predicted as f64 / f64::from(w * h)
                    );
                    if !(1.0..=1.3).contains(&ratio) {
                        failures.push(format!(
                            "{} {format} {w}x{h}: predicted {predicted} for a measured peak of {measured}",
                            def.id
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
