//! Sessions of VMAF and of its spatial features `vif` and `adm`, computed by this plugin
//! exactly as libvmaf's integer extractors compute them (see `docs/vmaf.md`).
//!
//! `vif` and `adm` compare one frame (or YUV image) with its reference: their reference-only
//! work is prepared once and reused by every distorted frame compared with it. `vmaf` also
//! needs `motion2`, which reads the reference frames before and after the frame, so it is
//! scored through the frame window (ABI 1.3) like `motion2` itself; each call computes the
//! model's features for one frame and predicts its score, so frames can be scored in any
//! order on any worker.

use std::path::Path;

use qscore_core::{
    Error, ImageView, NamedValue, TaskSpec,
    sdk::{self, Session, Values},
};

use crate::{
    convert::integer_luma as luma,
    engine::Engine,
    metrics::{
        MetricError,
        adm::{self, AdmOptions},
        motion::MotionVersion,
        vif::{self, VifOptions},
    },
    temporal::motion_version,
    vmaf_model::{ModelFeature, VmafModel},
};

fn metric_error(error: MetricError) -> Error {
    Error::InvalidInput(error.to_string())
}

/// A `metric.key` parameter of `spec` read as a finite number, or `default`.
fn number(spec: &TaskSpec, key: &str, default: f64) -> Result<f64, Error> {
    let Some(text) = spec.param(key) else {
        return Ok(default);
    };
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| {
            Error::InvalidInput(format!(
                "{}.{key}={text:?} is not a positive number",
                spec.metric.as_str()
            ))
        })
}

/// A `metric.key` parameter of `spec` read as a positive whole number, or `default`.
fn whole(spec: &TaskSpec, key: &str, default: u32) -> Result<u32, Error> {
    let Some(text) = spec.param(key) else {
        return Ok(default);
    };
    text.parse::<u32>().ok().filter(|v| *v > 0).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{}.{key}={text:?} is not a positive whole number",
            spec.metric.as_str()
        ))
    })
}

/// `vif`: VIF at four scales.
#[derive(Debug)]
pub(crate) struct VifSession<E> {
    engine: E,
    options: VifOptions,
}

impl<E: Engine> VifSession<E> {
    pub(crate) fn new(engine: E, spec: &TaskSpec) -> Result<Self, Error> {
        let default = VifOptions::default();
        Ok(Self {
            engine,
            options: VifOptions {
                enhn_gain_limit: number(spec, "enhn_gain_limit", default.enhn_gain_limit)?,
            },
        })
    }
}

fn vif_values(scores: &vif::VifScores) -> Values {
    ["vif_scale0", "vif_scale1", "vif_scale2", "vif_scale3"]
        .iter()
        .enumerate()
        .map(|(i, name)| NamedValue::new(name, scores.scale(i)))
        .collect()
}

impl<E: Engine> Session for VifSession<E> {
    type Prepared = E::VifReference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<E::VifReference, Error> {
        let frame = self.engine.frame(luma(reference, "vif")?);
        frame
            .and_then(|f| self.engine.vif_reference(&f))
            .map_err(metric_error)
    }

    fn compare(
        &mut self,
        prepared: &E::VifReference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let frame = self.engine.frame(luma(distorted, "vif")?);
        let scores = frame
            .and_then(|f| self.engine.vif(prepared, &f, &self.options))
            .map_err(metric_error)?;
        Ok(vif_values(&scores))
    }
}

/// `adm`: ADM, pooled (`adm2`) and per scale.
#[derive(Debug)]
pub(crate) struct AdmSession<E> {
    engine: E,
    options: AdmOptions,
}

impl<E: Engine> AdmSession<E> {
    pub(crate) fn new(engine: E, spec: &TaskSpec) -> Result<Self, Error> {
        let default = AdmOptions::default();
        Ok(Self {
            engine,
            options: AdmOptions {
                enhn_gain_limit: number(spec, "enhn_gain_limit", default.enhn_gain_limit)?,
                norm_view_dist: number(spec, "norm_view_dist", default.norm_view_dist)?,
                ref_display_height: whole(spec, "ref_display_height", default.ref_display_height)?,
            },
        })
    }
}

impl<E: Engine> Session for AdmSession<E> {
    type Prepared = E::AdmReference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<E::AdmReference, Error> {
        let frame = self.engine.frame(luma(reference, "adm")?);
        frame
            .and_then(|f| self.engine.adm_reference(&f, &self.options))
            .map_err(metric_error)
    }

    fn compare(
        &mut self,
        prepared: &E::AdmReference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let frame = self.engine.frame(luma(distorted, "adm")?);
        let scores = frame
            .and_then(|f| self.engine.adm(prepared, &f, &self.options))
            .map_err(metric_error)?;
        let mut values = vec![NamedValue::new("adm2", scores.adm2)];
        values.extend(
            ["adm_scale0", "adm_scale1", "adm_scale2", "adm_scale3"]
                .iter()
                .enumerate()
                .map(|(i, name)| NamedValue::new(name, scores.scale(i))),
        );
        Ok(values)
    }
}

/// Which feature settings a model reads: the gain limits of its VIF and ADM inputs, and
/// those of the features reported beside the score (the model's own, else the defaults).
#[derive(Debug, Clone)]
struct Plan {
    vif_gains: Vec<f64>,
    adm_gains: Vec<f64>,
    /// Gain limit of the reported `vif_scale*` and `adm2`.
    reported: (f64, f64),
}

impl Plan {
    fn of(model: &VmafModel) -> Self {
        let mut vif_gains = Vec::new();
        let mut adm_gains = Vec::new();
        for feature in model.features() {
            let (gains, gain) = match *feature {
                ModelFeature::Vif {
                    enhn_gain_limit, ..
                } => (&mut vif_gains, enhn_gain_limit),
                ModelFeature::Adm2 { enhn_gain_limit }
                | ModelFeature::AdmScale {
                    enhn_gain_limit, ..
                } => (&mut adm_gains, enhn_gain_limit),
                ModelFeature::Motion | ModelFeature::Motion2 => continue,
            };
            if !gains.contains(&gain) {
                gains.push(gain);
            }
        }
        let reported = (
            vif_gains
                .first()
                .copied()
                .unwrap_or(VifOptions::default().enhn_gain_limit),
            adm_gains
                .first()
                .copied()
                .unwrap_or(AdmOptions::default().enhn_gain_limit),
        );
        for (gains, gain) in [(&mut vif_gains, reported.0), (&mut adm_gains, reported.1)] {
            if !gains.contains(&gain) {
                gains.push(gain);
            }
        }
        Self {
            vif_gains,
            adm_gains,
            reported,
        }
    }
}

/// Everything VMAF computes from the reference clip alone for one frame: VIF's and ADM's
/// reference work under each gain limit the model uses, and the frame's motion, read from
/// the reference frames around it. A sweep prepares it once for every distorted clip.
pub(crate) struct VmafReference<E: Engine> {
    vif: Vec<(f64, E::VifReference)>,
    adm: Vec<(f64, E::AdmReference)>,
    motion: f64,
    motion2: f64,
}

impl<E: Engine> std::fmt::Debug for VmafReference<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmafReference")
            .field("motion", &self.motion)
            .field("motion2", &self.motion2)
            .finish_non_exhaustive()
    }
}

/// The reference frames a VMAF frame reads, as the engine holds them.
struct Window<'a, E: Engine> {
    reference: E::Frame<'a>,
    previous: Option<E::Frame<'a>>,
    next: Option<E::Frame<'a>>,
}

impl<'a, E: Engine> Window<'a, E> {
    fn of(
        engine: &E,
        reference: &ImageView<'a>,
        previous: &[ImageView<'a>],
        next: &[ImageView<'a>],
    ) -> Result<Self, Error> {
        let frame = |view: &ImageView<'a>| -> Result<E::Frame<'a>, Error> {
            engine.frame(luma(view, "vmaf")?).map_err(metric_error)
        };
        Ok(Self {
            reference: frame(reference)?,
            previous: previous.first().map(frame).transpose()?,
            next: next.first().map(frame).transpose()?,
        })
    }
}

/// One frame's features under each gain limit the plan needs.
struct FrameScores {
    vif: Vec<(f64, vif::VifScores)>,
    adm: Vec<(f64, adm::AdmScores)>,
}

impl FrameScores {
    fn vif(&self, gain: f64) -> &vif::VifScores {
        &self
            .vif
            .iter()
            .find(|(g, _)| *g == gain)
            .expect("planned gain")
            .1
    }

    fn adm(&self, gain: f64) -> &adm::AdmScores {
        &self
            .adm
            .iter()
            .find(|(g, _)| *g == gain)
            .expect("planned gain")
            .1
    }
}

/// `vmaf`: a libvmaf model's prediction from this plugin's features, with the features.
#[derive(Debug)]
pub(crate) struct VmafSession<E> {
    engine: E,
    model: VmafModel,
    plan: Plan,
    /// Which libvmaf's motion the model reads (2.3.1 to 3.1.0 by default, or 3.2.0).
    motion_version: MotionVersion,
}

/// The model a `vmaf` task asks for: a built-in name, or a path to a libvmaf JSON model,
/// loaded with the flags `enable_transform` and `disable_clip` (libvmaf's model options).
fn load_model(spec: &TaskSpec) -> Result<VmafModel, Error> {
    let enable_transform = sdk::bool_param(spec, ENABLE_TRANSFORM_PARAM, false)?;
    let disable_clip = sdk::bool_param(spec, DISABLE_CLIP_PARAM, false)?;
    Ok(named_model(spec)?.with_flags(enable_transform, disable_clip))
}

/// The parameter that applies the model's score transform (vmaf_v0.6.1's phone model).
const ENABLE_TRANSFORM_PARAM: &str = "enable_transform";
/// The parameter that leaves scores unclipped.
const DISABLE_CLIP_PARAM: &str = "disable_clip";

/// The model `spec` names (parameter `model`), as its file says.
fn named_model(spec: &TaskSpec) -> Result<VmafModel, Error> {
    let loaded = match spec.param("model") {
        None => VmafModel::built_in(VmafModel::BUILT_IN[0]),
        Some(name) if VmafModel::BUILT_IN.contains(&name) => VmafModel::built_in(name),
        // A bare name that is no file was meant as a built-in model.
        Some(name) if !name.contains('/') && !Path::new(name).exists() => {
            return Err(Error::InvalidInput(format!(
                "vmaf.model={name:?} is not a built-in model (known: {}) nor a model file",
                VmafModel::BUILT_IN.join(", ")
            )));
        }
        Some(path) => VmafModel::from_path(Path::new(path)),
    };
    loaded.map_err(|e| Error::InvalidInput(e.to_string()))
}

impl<E: Engine> VmafSession<E> {
    pub(crate) fn new(engine: E, spec: &TaskSpec) -> Result<Self, Error> {
        let model = load_model(spec)?;
        Ok(Self {
            engine,
            plan: Plan::of(&model),
            model,
            motion_version: motion_version(spec)?,
        })
    }

    fn not_on_images() -> Error {
        Error::Unsupported(
            "vmaf reads the reference frames around each frame (motion2), so it needs video \
             frames, not a single pair of images"
                .into(),
        )
    }

    fn prepare_frame(&self, w: &Window<'_, E>) -> Result<VmafReference<E>, MetricError> {
        let vif = self
            .plan
            .vif_gains
            .iter()
            .map(|&g| Ok((g, self.engine.vif_reference(&w.reference)?)))
            .collect::<Result<_, MetricError>>()?;
        let adm = self
            .plan
            .adm_gains
            .iter()
            .map(|&g| {
                let options = AdmOptions {
                    enhn_gain_limit: g,
                    ..AdmOptions::default()
                };
                Ok((g, self.engine.adm_reference(&w.reference, &options)?))
            })
            .collect::<Result<_, MetricError>>()?;
        let (motion, motion2) = self.engine.frame_motions(
            self.motion_version,
            w.previous.as_ref(),
            &w.reference,
            w.next.as_ref(),
        )?;
        Ok(VmafReference {
            vif,
            adm,
            motion,
            motion2,
        })
    }

    fn features(
        &self,
        prepared: &VmafReference<E>,
        distorted: &E::Frame<'_>,
    ) -> Result<FrameScores, MetricError> {
        let vif = prepared
            .vif
            .iter()
            .map(|(g, r)| {
                let options = VifOptions {
                    enhn_gain_limit: *g,
                };
                Ok((*g, self.engine.vif(r, distorted, &options)?))
            })
            .collect::<Result<_, MetricError>>()?;
        let adm = prepared
            .adm
            .iter()
            .map(|(g, r)| {
                let options = AdmOptions {
                    enhn_gain_limit: *g,
                    ..AdmOptions::default()
                };
                Ok((*g, self.engine.adm(r, distorted, &options)?))
            })
            .collect::<Result<_, MetricError>>()?;
        Ok(FrameScores { vif, adm })
    }

    fn score(
        &self,
        prepared: &VmafReference<E>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let frame = self.engine.frame(luma(distorted, "vmaf")?);
        let scores = frame
            .and_then(|f| self.features(prepared, &f))
            .map_err(metric_error)?;
        let inputs: Vec<f64> = self
            .model
            .features()
            .iter()
            .map(|feature| match *feature {
                ModelFeature::Vif {
                    scale,
                    enhn_gain_limit,
                } => scores.vif(enhn_gain_limit).scale(scale),
                ModelFeature::Adm2 { enhn_gain_limit } => scores.adm(enhn_gain_limit).adm2,
                ModelFeature::AdmScale {
                    scale,
                    enhn_gain_limit,
                } => scores.adm(enhn_gain_limit).scale(scale),
                ModelFeature::Motion => prepared.motion,
                ModelFeature::Motion2 => prepared.motion2,
            })
            .collect();
        let (vif_gain, adm_gain) = self.plan.reported;
        let mut values = vec![NamedValue::new("vmaf", self.model.predict(&inputs))];
        values.extend(vif_values(scores.vif(vif_gain)));
        values.push(NamedValue::new("adm2", scores.adm(adm_gain).adm2));
        values.push(NamedValue::new("motion2", prepared.motion2));
        Ok(values)
    }
}

impl<E: Engine> Session for VmafSession<E> {
    type Prepared = VmafReference<E>;

    fn prepare(&mut self, _reference: &ImageView<'_>) -> Result<VmafReference<E>, Error> {
        Err(Self::not_on_images())
    }

    fn compare(
        &mut self,
        prepared: &VmafReference<E>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.score(prepared, distorted)
    }

    fn compare_pair(
        &mut self,
        _reference: &ImageView<'_>,
        _distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        Err(Self::not_on_images())
    }

    fn compare_frame(
        &mut self,
        _reference: &ImageView<'_>,
        _previous: &[ImageView<'_>],
        _distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        Err(Error::Unsupported(
            "vmaf needs the next reference frame too (motion2), which this host does not hand \
             over (it needs the ABI 1.3 frame-window extension)"
                .into(),
        ))
    }

    fn compare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let prepared = self.prepare_window(reference, previous, next)?;
        self.compare(&prepared, distorted)
    }

    fn prepare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
    ) -> Result<VmafReference<E>, Error> {
        let window = Window::of(&self.engine, reference, previous, next)?;
        self.prepare_frame(&window).map_err(metric_error)
    }
}
