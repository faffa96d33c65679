//! Sessions: one metric on one device in one memory mode, prepare once, compare many times.

use cubecl::prelude::*;
use qscore_core::{
    Error, FormatInfo, ImageView, MemoryMode, NamedValue, OwnedImage, PixelFormat, TaskSpec,
    sdk::{Session, Values},
};

use crate::{
    butteraugli::{Butteraugli, ButteraugliPrepared, ButteraugliScores},
    ms_ssim::{MsSsim, MsSsimPrepared},
    psnr::{Psnr, PsnrPrepared},
    source::{DeviceSource, PlaneSource},
    ssim::{Ssim, SsimPrepared},
    ssimulacra2::{Ssimulacra2, Ssimulacra2Prepared},
    unpack::{Conversion, HostSource},
};

/// Output rows per band in the strip modes: a multiple of 32 so that every level of the
/// SSIMULACRA2 and MS-SSIM pyramids splits on whole rows.
pub(crate) const BAND_ROWS: usize = 256;

/// The metrics this crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Psnr,
    Ssim,
    MsSsim,
    Ssimulacra2,
    Butteraugli,
}

/// Everything the plugin says about one metric.
#[derive(Debug)]
pub(crate) struct MetricDef {
    pub(crate) metric: Metric,
    pub(crate) id: &'static str,
    pub(crate) outputs: &'static [&'static str],
    pub(crate) min_side: u32,
}

/// The metrics, in the order the plugin declares them.
pub(crate) const METRICS: &[MetricDef] = &[
    MetricDef {
        metric: Metric::Psnr,
        id: "psnr",
        outputs: &["psnr", "psnr_y", "psnr_cb", "psnr_cr"],
        min_side: 1,
    },
    MetricDef {
        metric: Metric::Ssim,
        id: "ssim",
        outputs: &["ssim"],
        min_side: 11,
    },
    MetricDef {
        metric: Metric::MsSsim,
        id: "ms_ssim",
        outputs: &["ms_ssim"],
        min_side: 176,
    },
    MetricDef {
        metric: Metric::Ssimulacra2,
        id: "ssimulacra2",
        outputs: &["ssimulacra2"],
        min_side: 8,
    },
    MetricDef {
        metric: Metric::Butteraugli,
        id: "butteraugli",
        outputs: &["butteraugli", "butteraugli_pnorm3"],
        min_side: 8,
    },
];

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

/// Band rows for a mode (`None`: whole image).
fn band_rows(mode: MemoryMode) -> Option<usize> {
    (mode != MemoryMode::FULL).then_some(BAND_ROWS)
}

/// Predicted peak device bytes of a session for `spec`.
///
/// Each metric counts its own buffers exactly (its `predict` documents the formula); to that
/// comes, in STRIP mode, the reference's converted planes kept resident. The host-to-device
/// staging copy of an image is freed once it is converted, before a metric's peak, so only
/// PSNR (which compares the converted planes straight away) counts it. 2% and 64 KiB on top
/// cover allocation alignment and the few small buffers (filter taps, partial sums) a
/// formula may round away.
pub(crate) fn predict(def: &MetricDef, spec: &TaskSpec) -> Result<u64, Error> {
    let info = FormatInfo::of(spec.format)
        .ok_or_else(|| Error::Unsupported(format!("pixel format {}", spec.format)))?;
    let (w, h) = (spec.width as usize, spec.height as usize);
    let bands = band_rows(spec.mode);
    let planes = match def.metric {
        Metric::Ssimulacra2 | Metric::Butteraugli => 3,
        Metric::MsSsim => 1,
        _ if info.yuv.is_some() => 1,
        _ => info.channels.min(3),
    };
    let resident = if spec.mode == MemoryMode::STRIP && def.metric != Metric::Psnr {
        4 * (w * h * planes) as u64
    } else {
        0
    };
    let exact = match def.metric {
        Metric::Psnr => Psnr::predict(&info, spec.width, spec.height, bands),
        Metric::Ssim => Ssim::predict(w, h, planes, bands),
        Metric::MsSsim => MsSsim::predict(w, h, 1, bands),
        Metric::Ssimulacra2 => Ssimulacra2::predict(w, h, bands),
        Metric::Butteraugli => Butteraugli::predict(w, h, bands),
    } + resident;
    Ok(exact + exact / 50 + 64 * 1024)
}

/// A reference as a session keeps it.
#[derive(Debug)]
pub(crate) enum Prepared {
    Psnr(PsnrPrepared),
    Ssim(SsimPrepared),
    MsSsim(MsSsimPrepared),
    Ssimulacra2(Ssimulacra2Prepared),
    Butteraugli(Box<ButteraugliPrepared>),
    /// STRIP: the reference's converted planes on the device; derived maps are per band.
    Resident(DeviceSource),
    /// STRIP_PAIR: the reference stays on the host and is uploaded band by band.
    Host(OwnedImage),
}

/// Live free memory of the session's device.
pub(crate) type FreeMemory = Box<dyn Fn() -> Result<u64, Error> + Send>;

/// One metric on one device in one memory mode.
pub(crate) struct CubeSession<R: Runtime> {
    client: ComputeClient<R>,
    def: &'static MetricDef,
    spec: TaskSpec,
    free_memory: FreeMemory,
    /// Butteraugli with the session's intensity target (the only metric with a parameter).
    butteraugli: Butteraugli,
    /// SSIMULACRA2 as suits the device: its row blur walks through tiles except on a
    /// device that runs on a CPU.
    ssimulacra2: Ssimulacra2,
}

impl<R: Runtime> std::fmt::Debug for CubeSession<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CubeSession")
            .field("metric", &self.def.id)
            .field("mode", &self.spec.mode)
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> CubeSession<R> {
    pub(crate) fn new(
        client: ComputeClient<R>,
        def: &'static MetricDef,
        spec: &TaskSpec,
        free_memory: FreeMemory,
        on_cpu: bool,
    ) -> Result<Self, Error> {
        if spec.width < def.min_side || spec.height < def.min_side {
            return Err(Error::InvalidInput(format!(
                "{} needs images of at least {}x{}, got {}x{}",
                def.id, def.min_side, def.min_side, spec.width, spec.height
            )));
        }
        let accepted: &[&str] = match def.metric {
            Metric::Butteraugli => &["intensity_target"],
            _ => &[],
        };
        if let Some(p) = spec
            .params
            .iter()
            .find(|p| !accepted.contains(&p.key.as_str()))
        {
            return Err(Error::InvalidInput(format!(
                "{} has no parameter {:?} (accepted: {})",
                def.id,
                p.key.as_str(),
                if accepted.is_empty() {
                    "none".to_string()
                } else {
                    accepted.join(", ")
                }
            )));
        }
        Ok(Self {
            client,
            def,
            spec: spec.clone(),
            free_memory,
            butteraugli: Butteraugli::new(intensity_target(spec)?),
            ssimulacra2: Ssimulacra2::new().with_row_tiles(!on_cpu),
        })
    }

    /// Refuses work that the prediction says cannot fit the device's free memory now.
    fn admit(&self, what: &str) -> Result<(), Error> {
        let needed = predict(self.def, &self.spec)?;
        let available = (self.free_memory)()?;
        if needed > available {
            return Err(Error::OutOfMemory {
                needed,
                available,
                message: format!(
                    "{} {} {}x{} in {} mode",
                    what, self.def.id, self.spec.width, self.spec.height, self.spec.mode
                ),
            });
        }
        Ok(())
    }

    fn conversion(&self, format_is_yuv: bool) -> Conversion {
        match self.def.metric {
            Metric::Ssimulacra2 => Conversion::LinearRgb,
            Metric::Butteraugli => Conversion::LinearRgbCurve,
            Metric::MsSsim => Conversion::Luma,
            _ if format_is_yuv => Conversion::Luma,
            _ => Conversion::Channels,
        }
    }

    fn data_range(&self) -> f64 {
        let info = FormatInfo::of(self.spec.format);
        match info {
            Some(i) if i.yuv.is_some() => 255.0,
            Some(i) if i.sample_bytes == 1 => 255.0,
            Some(i) if i.sample_bytes == 2 => f64::from((1u32 << i.bits) - 1),
            _ => 1.0,
        }
    }

    fn source<'a>(&self, view: &'a ImageView<'a>) -> Result<HostSource<'a>, Error> {
        if self.def.metric == Metric::Ssimulacra2 {
            require_opaque(view)?;
        }
        HostSource::new(view, self.conversion(view.format.as_yuv().is_some()))
    }

    fn single(&self, value: f64) -> Values {
        vec![NamedValue::new(self.def.outputs[0], value)]
    }

    /// Both images read band by band (`reference` from wherever the mode keeps it).
    fn banded(
        &self,
        reference: &dyn PlaneSource<R>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let c = &self.client;
        let d = self.source(distorted)?;
        let value = match self.def.metric {
            Metric::Ssim => {
                Ssim::new(self.data_range()).compare_bands(c, reference, &d, BAND_ROWS)?
            }
            Metric::MsSsim => {
                MsSsim::new(self.data_range()).compare_bands(c, reference, &d, BAND_ROWS)?
            }
            Metric::Ssimulacra2 => self
                .ssimulacra2
                .compare_bands(c, reference, &d, BAND_ROWS)?,
            Metric::Butteraugli => {
                let scores = self
                    .butteraugli
                    .compare_bands(c, reference, &d, BAND_ROWS)?;
                return Ok(butteraugli_values(scores));
            }
            Metric::Psnr => unreachable!("PSNR bands read host images directly"),
        };
        Ok(self.single(value))
    }
}

/// SSIMULACRA2 composites transparent pixels over a dark and a light background and keeps
/// the worse score (libjxl's tool; the CPU plugin through fast-ssim2). The kernels score
/// opaque images, so a transparent one is refused as unsupported: the host's ladder then
/// scores it on the CPU instead of getting a different number here.
fn require_opaque(view: &ImageView<'_>) -> Result<(), Error> {
    if view.format != PixelFormat::RGBA8 {
        return Ok(());
    }
    let row_bytes = view.width as usize * 4;
    let plane = &view.planes[0];
    let opaque = (0..view.height as usize).all(|y| {
        plane
            .row(y, row_bytes)
            .chunks_exact(4)
            .all(|pixel| pixel[3] == u8::MAX)
    });
    if opaque {
        Ok(())
    } else {
        Err(Error::Unsupported(
            "SSIMULACRA2 of an image with transparent pixels (the GPU kernels score opaque \
             images; the CPU plugin blends over two backgrounds as libjxl does)"
                .into(),
        ))
    }
}

/// The intensity target a spec asks butteraugli for (libjxl's default: 80 nits), checked.
fn intensity_target(spec: &TaskSpec) -> Result<f32, Error> {
    let Some(text) = spec.param("intensity_target") else {
        return Ok(80.0);
    };
    match text.parse::<f32>() {
        Ok(nits) if nits.is_finite() && nits > 0.0 => Ok(nits),
        _ => Err(Error::InvalidInput(format!(
            "butteraugli intensity_target {text:?} is not a positive number of nits"
        ))),
    }
}

fn butteraugli_values(scores: ButteraugliScores) -> Values {
    named(vec![
        ("butteraugli", scores.max),
        ("butteraugli_pnorm3", scores.pnorm3),
    ])
}

fn named(values: Vec<(&'static str, f64)>) -> Values {
    values
        .into_iter()
        .map(|(name, v)| NamedValue::new(name, v))
        .collect()
}

impl<R: Runtime> Session for CubeSession<R> {
    type Prepared = Prepared;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Prepared, Error> {
        qscore_core::sdk::check_matches(&self.spec, "reference", reference)?;
        self.admit("preparing")?;
        let (id, mode) = (self.def.id, self.spec.mode);
        let what = move || format!("preparing {id} in {mode} mode");
        crate::meter::checked(what, || self.prepare_on_device(reference))
    }

    fn compare(&mut self, prepared: &Prepared, distorted: &ImageView<'_>) -> Result<Values, Error> {
        qscore_core::sdk::check_matches(&self.spec, "distorted", distorted)?;
        let (id, mode) = (self.def.id, self.spec.mode);
        let what = move || format!("comparing {id} in {mode} mode");
        crate::meter::checked(what, || self.compare_on_device(prepared, distorted))
    }
}

impl<R: Runtime> CubeSession<R> {
    fn prepare_on_device(&mut self, reference: &ImageView<'_>) -> Result<Prepared, Error> {
        let c = &self.client;
        let mode = self.spec.mode;
        if mode == MemoryMode::STRIP_PAIR
            || (mode == MemoryMode::STRIP && self.def.metric == Metric::Psnr)
        {
            return Ok(Prepared::Host(OwnedImage::copy_of(reference)?));
        }
        let source = self.source(reference)?;
        if mode == MemoryMode::STRIP {
            let h = reference.height as usize;
            return Ok(Prepared::Resident(DeviceSource::new(source.rows(c, 0, h)?)));
        }
        Ok(match self.def.metric {
            Metric::Psnr => Prepared::Psnr(Psnr::prepare(c, reference)?),
            Metric::Ssim => Prepared::Ssim(Ssim::new(self.data_range()).prepare(c, &source)?),
            Metric::MsSsim => Prepared::MsSsim(MsSsim::new(self.data_range()).prepare(c, &source)?),
            Metric::Ssimulacra2 => Prepared::Ssimulacra2(self.ssimulacra2.prepare(c, &source)?),
            Metric::Butteraugli => {
                Prepared::Butteraugli(Box::new(self.butteraugli.prepare(c, &source)?))
            }
        })
    }

    fn compare_on_device(
        &mut self,
        prepared: &Prepared,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let c = &self.client;
        match prepared {
            Prepared::Psnr(p) => Ok(named(Psnr::compare(c, p, distorted)?)),
            Prepared::Ssim(p) => {
                let d = self.source(distorted)?;
                Ok(self.single(Ssim::new(self.data_range()).compare(c, p, &d)?))
            }
            Prepared::MsSsim(p) => {
                let d = self.source(distorted)?;
                Ok(self.single(MsSsim::new(self.data_range()).compare(c, p, &d)?))
            }
            Prepared::Ssimulacra2(p) => {
                let d = self.source(distorted)?;
                Ok(self.single(self.ssimulacra2.compare(c, p, &d)?))
            }
            Prepared::Butteraugli(p) => {
                let d = self.source(distorted)?;
                Ok(butteraugli_values(self.butteraugli.compare(c, p, &d)?))
            }
            Prepared::Resident(reference) => self.banded(reference, distorted),
            Prepared::Host(reference) => reference.with_view(|r| {
                if self.def.metric == Metric::Psnr {
                    return Ok(named(Psnr::compare_bands(c, r, distorted, BAND_ROWS)?));
                }
                let r = self.source(r)?;
                self.banded(&r, distorted)
            }),
        }
    }
}
