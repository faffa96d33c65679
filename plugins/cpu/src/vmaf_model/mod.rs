//! VMAF models in libvmaf's JSON format, and their per-frame prediction.
//!
//! A VMAF model maps a handful of elementary features of one frame (VIF at four scales, ADM,
//! motion) to a quality score with a support-vector regression. libvmaf stores such a model
//! as JSON; its `model_dict` holds:
//!
//! * `model_type`: `LIBSVMNUSVR`, one ν-SVR (the bootstrap kinds, several SVRs whose scores
//!   are aggregated, are not supported here);
//! * `feature_names` and, optionally, `feature_opts_dicts`: which extractor output feeds each
//!   input, and with which options (e.g. `vif_enhn_gain_limit`);
//! * `norm_type` with `slopes` and `intercepts`: under `linear_rescale`, input `i` is
//!   rescaled to `slopes[i + 1] * x + intercepts[i + 1]`, and the SVR output `y` is mapped
//!   back to the score scale as `(y - intercepts[0]) / slopes[0]`; under `none` neither;
//! * `model`: the SVR as libsvm's model text: a header (`svm_type`, `kernel_type rbf`,
//!   `gamma`, `rho`, `total_sv`, ...) and one line per support vector, `coef idx:val ...`;
//! * optionally `score_transform` (a polynomial `p0 + p1 y + p2 y²`, then a piecewise-linear
//!   map through `knots`, then `out_gte_in` / `out_lte_in` rectification against the
//!   untransformed score) and `score_clip` (`[min, max]`).
//!
//! The prediction for one frame, as libvmaf 2.3.1 computes it:
//!
//! 1. each feature is rescaled (`linear_rescale`) or taken as is (`none`);
//! 2. the RBF-kernel SVR is evaluated: `Σ_k coef_k · exp(-gamma · ‖x − sv_k‖²) − rho`, the
//!    squared distance summed over the inputs in order as squared differences (libsvm's
//!    `k_function`; an input a support vector omits counts as 0), the kernel terms summed
//!    over the support vectors in file order;
//! 3. the sum is mapped back to the score scale;
//! 4. the score transform is applied only if the model's `score_transform` says
//!    `"enabled": true` or the model is loaded with `VMAF_MODEL_FLAG_ENABLE_TRANSFORM`
//!    ([`VmafModel::with_flags`]; the built-in models do not enable it, and vmaf_v0.6.1's
//!    transform, so forced on, is its phone model);
//! 5. the score is clipped to `score_clip` (unless loaded with
//!    `VMAF_MODEL_FLAG_DISABLE_CLIP`).
//!
//! Every step is the same sequence of IEEE double operations as libvmaf's (no fused
//! multiply-add, same summation order, `exp` from the platform's libm), so the scores equal
//! libvmaf 2.3.1's bit for bit where both use the same libm (the tests compare against
//! libvmaf's own per-frame output, `models/tests/oracle_frames.json`).
//!
//! The three models libvmaf 2.3.1 builds in with integer features are bundled (the JSON
//! files of its `model/` folder, BSD-2-Clause-Patent, see `models/`).

// Until the plugin's `vmaf` metric calls into this module, parts of it are used only by tests.
#![cfg_attr(not(test), allow(dead_code))]

mod features;
#[cfg(test)]
mod fuzz;
mod json;
mod svm;
#[cfg(test)]
mod tests;

use std::{fmt, path::Path};

use svm::Svm;

/// One input of a model: which feature, with which options.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ModelFeature {
    /// `VMAF_integer_feature_vif_scale{scale}_score`, from libvmaf's integer `vif`.
    Vif { scale: usize, enhn_gain_limit: f64 },
    /// `VMAF_integer_feature_adm2_score`, from libvmaf's integer `adm`.
    Adm2 { enhn_gain_limit: f64 },
    /// `integer_adm_scale{scale}`, from libvmaf's integer `adm`.
    AdmScale { scale: usize, enhn_gain_limit: f64 },
    /// `VMAF_integer_feature_motion2_score`, from libvmaf's integer `motion`.
    Motion2,
    /// `VMAF_integer_feature_motion_score`, from libvmaf's integer `motion`.
    Motion,
}

/// Why a model could not be loaded. Every message names the model (file or built-in).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ModelError {
    #[error("no built-in VMAF model is named {name:?} (built-in: {known})", known = VmafModel::BUILT_IN.join(", "))]
    UnknownBuiltIn { name: String },
    #[error("cannot read VMAF model file {path:?}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: not valid JSON: {source}")]
    Json {
        origin: Origin,
        #[source]
        source: serde_json::Error,
    },
    #[error("{origin}: missing field `{field}`")]
    Missing { origin: Origin, field: String },
    #[error("{origin}: field `{field}` must be {expected}")]
    WrongType {
        origin: Origin,
        field: String,
        expected: &'static str,
    },
    #[error("{origin}: {what} is not supported")]
    Unsupported { origin: Origin, what: String },
    #[error(
        "{origin}: unknown feature {name:?} (qscore computes {known})",
        known = features::KNOWN.join(", ")
    )]
    UnknownFeature { origin: Origin, name: String },
    #[error("{origin}: feature {name:?}: {problem}")]
    FeatureOption {
        origin: Origin,
        name: String,
        problem: String,
    },
    #[error("{origin}: libsvm model text (field `model`), line {line}: {problem}")]
    Svm {
        origin: Origin,
        line: usize,
        problem: String,
    },
    #[error("{origin}: {problem}")]
    Invalid { origin: Origin, problem: String },
}

/// Where a model came from, as error messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    BuiltIn(String),
    File(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BuiltIn(name) => write!(f, "built-in VMAF model {name:?}"),
            Self::File(path) => write!(f, "VMAF model file {path:?}"),
        }
    }
}

/// A feature rescaling: `slope * x + intercept`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rescale {
    slope: f64,
    intercept: f64,
}

/// `linear_rescale`: one rescaling per input, and the score's (applied backwards).
#[derive(Debug, Clone)]
struct Normalization {
    score: Rescale,
    features: Vec<Rescale>,
}

/// One straight piece of the piecewise-linear score map, between two knots.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    x0: f64,
    x1: f64,
    /// `y0 == y1`: the segment's y, else `None` and `alpha * x + beta`.
    flat: Option<f64>,
    alpha: f64,
    beta: f64,
}

/// `score_transform`: applied where `enabled` (the model's own `enabled`, or the
/// `enable_transform` flag).
#[derive(Debug, Clone, Default)]
struct ScoreTransform {
    enabled: bool,
    p0: Option<f64>,
    p1: Option<f64>,
    p2: Option<f64>,
    /// Empty: no piecewise-linear map.
    segments: Vec<Segment>,
    out_lte_in: bool,
    out_gte_in: bool,
}

impl ScoreTransform {
    /// libvmaf's `transform()`: polynomial, knots, then rectification against `y_in`.
    fn apply(&self, y_in: f64) -> f64 {
        let polynomial = if self.p0.is_some() || self.p1.is_some() || self.p2.is_some() {
            let mut y = 0.0;
            if let Some(p0) = self.p0 {
                y += p0;
            }
            if let Some(p1) = self.p1 {
                y += p1 * y_in;
            }
            if let Some(p2) = self.p2 {
                y += p2 * y_in * y_in;
            }
            y
        } else {
            y_in
        };
        let mut y = if self.segments.is_empty() {
            polynomial
        } else {
            piecewise_linear(&self.segments, polynomial)
        };
        if self.out_lte_in && y > y_in {
            y = y_in;
        }
        if self.out_gte_in && y < y_in {
            y = y_in;
        }
        y
    }
}

/// The piecewise-linear map through the knots: each segment maps the x it spans (a later
/// segment wins at a shared knot); the first segment extends below the knots, the last
/// above them. Segments were checked at load (x increasing, y non-decreasing).
fn piecewise_linear(segments: &[Segment], x: f64) -> f64 {
    let mut y = 0.0;
    let last = segments.len() - 1;
    for (i, s) in segments.iter().enumerate() {
        let on = |x: f64| match s.flat {
            Some(flat) => flat,
            None => s.alpha * x + s.beta,
        };
        if s.x0 <= x && x <= s.x1 {
            y = on(x);
        }
        if i == 0 && x < s.x0 {
            y = on(x);
        }
        if i == last && x > s.x1 {
            y = on(x);
        }
    }
    y
}

/// A libvmaf VMAF model (a single ν-SVR), ready to predict per-frame scores.
#[derive(Debug, Clone)]
pub(crate) struct VmafModel {
    name: String,
    features: Vec<ModelFeature>,
    /// `None`: `norm_type` `none`.
    normalization: Option<Normalization>,
    svm: Svm,
    /// `None`: the model has no `score_transform`.
    transform: Option<ScoreTransform>,
    /// `(min, max)`; `None`: the model has no `score_clip`.
    clip: Option<(f64, f64)>,
}

/// The most inputs a model may have (libvmaf 2.3.1's limit too).
const MAX_FEATURES: usize = 32;

const VMAF_V061: &str = include_str!("../../models/vmaf_v0.6.1.json");
const VMAF_V061_NEG: &str = include_str!("../../models/vmaf_v0.6.1neg.json");
const VMAF_4K_V061: &str = include_str!("../../models/vmaf_4k_v0.6.1.json");

impl VmafModel {
    /// Names of the bundled models (libvmaf 2.3.1's built-in integer-feature models); the
    /// first is libvmaf's default.
    pub(crate) const BUILT_IN: &[&str] = &["vmaf_v0.6.1", "vmaf_v0.6.1neg", "vmaf_4k_v0.6.1"];

    /// A bundled model by name (one of [`Self::BUILT_IN`]).
    pub(crate) fn built_in(name: &str) -> Result<Self, ModelError> {
        let text = match name {
            "vmaf_v0.6.1" => VMAF_V061,
            "vmaf_v0.6.1neg" => VMAF_V061_NEG,
            "vmaf_4k_v0.6.1" => VMAF_4K_V061,
            _ => {
                return Err(ModelError::UnknownBuiltIn {
                    name: name.to_owned(),
                });
            }
        };
        Self::from_json(text, name, Origin::BuiltIn(name.to_owned()))
    }

    /// A model from a libvmaf JSON model file; its name is the file name without `.json`.
    pub(crate) fn from_path(path: &Path) -> Result<Self, ModelError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
            path: shown.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| shown.clone(), |s| s.to_string_lossy().into_owned());
        Self::from_json(&text, &name, Origin::File(shown))
    }

    /// A model from the text of a JSON model file.
    fn from_json(text: &str, name: &str, origin: Origin) -> Result<Self, ModelError> {
        let mut model = json::parse(text, &origin)?;
        model.name = name.to_owned();
        Ok(model)
    }

    /// The model as libvmaf 2.3.1 loads it with `VMAF_MODEL_FLAG_ENABLE_TRANSFORM`: its
    /// `score_transform` applied even where the model leaves it off (vmaf_v0.6.1's is the
    /// phone model; a model without one is unchanged), and with
    /// `VMAF_MODEL_FLAG_DISABLE_CLIP`: its `score_clip` ignored.
    pub(crate) fn with_flags(mut self, enable_transform: bool, disable_clip: bool) -> Self {
        if enable_transform && let Some(transform) = &mut self.transform {
            transform.enabled = true;
        }
        if disable_clip {
            self.clip = None;
        }
        self
    }

    /// The model's name: the built-in name, or the file name without `.json`.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The model's inputs, in the order [`Self::predict`] takes them.
    pub(crate) fn features(&self) -> &[ModelFeature] {
        &self.features
    }

    /// The score of one frame from its feature values (in [`Self::features`] order): what
    /// libvmaf 2.3.1's `vmaf_score_at_index` gives for a model loaded with default flags.
    ///
    /// # Panics
    /// If `features` does not hold one value per model feature.
    pub(crate) fn predict(&self, features: &[f64]) -> f64 {
        let n = self.features.len();
        assert_eq!(
            features.len(),
            n,
            "VMAF model {:?} takes {n} features, got {}",
            self.name,
            features.len()
        );
        let mut inputs = [0.0; MAX_FEATURES];
        let inputs = &mut inputs[..n];
        match &self.normalization {
            Some(norm) => {
                for ((input, &x), r) in inputs.iter_mut().zip(features).zip(&norm.features) {
                    *input = r.slope * x + r.intercept;
                }
            }
            None => inputs.copy_from_slice(features),
        }
        let mut score = self.svm.predict(inputs);
        if let Some(norm) = &self.normalization {
            score = (score - norm.score.intercept) / norm.score.slope;
        }
        if let Some(transform) = &self.transform
            && transform.enabled
        {
            score = transform.apply(score);
        }
        if let Some((min, max)) = self.clip {
            if score < min {
                score = min;
            }
            if score > max {
                score = max;
            }
        }
        score
    }
}
