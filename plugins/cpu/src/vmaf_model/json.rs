//! Reading a libvmaf JSON model into a [`VmafModel`].
//!
//! Fields are read as libvmaf 2.3.1 reads them (`read_json_model.c`), with a few checks it
//! leaves out, so that a model it would misread (or read only partly) is an error here:
//! `slopes` and `intercepts` must have one entry per input plus the score's, knots must be
//! ordered, and the feature options must be ones qscore computes.

use serde_json::{Map, Value};

use super::{
    MAX_FEATURES, ModelError, Normalization, Origin, Rescale, ScoreTransform, Segment, VmafModel,
    features::{self, FeatureError},
    svm::Svm,
};

/// Field lookups that name the model and the field in their errors.
struct Fields<'a> {
    origin: &'a Origin,
}

impl Fields<'_> {
    fn missing(&self, field: &str) -> ModelError {
        ModelError::Missing {
            origin: self.origin.clone(),
            field: field.to_owned(),
        }
    }

    fn wrong(&self, field: &str, expected: &'static str) -> ModelError {
        ModelError::WrongType {
            origin: self.origin.clone(),
            field: field.to_owned(),
            expected,
        }
    }

    fn invalid(&self, problem: impl Into<String>) -> ModelError {
        ModelError::Invalid {
            origin: self.origin.clone(),
            problem: problem.into(),
        }
    }

    fn unsupported(&self, what: impl Into<String>) -> ModelError {
        ModelError::Unsupported {
            origin: self.origin.clone(),
            what: what.into(),
        }
    }

    /// `model_dict.<key>`, which must be there.
    fn required<'v>(
        &self,
        dict: &'v Map<String, Value>,
        key: &str,
    ) -> Result<&'v Value, ModelError> {
        dict.get(key)
            .ok_or_else(|| self.missing(&format!("model_dict.{key}")))
    }

    fn string<'v>(&self, value: &'v Value, field: &str) -> Result<&'v str, ModelError> {
        value.as_str().ok_or_else(|| self.wrong(field, "a string"))
    }

    fn number(&self, value: &Value, field: &str) -> Result<f64, ModelError> {
        value
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.wrong(field, "a number"))
    }

    fn array<'v>(&self, value: &'v Value, field: &str) -> Result<&'v [Value], ModelError> {
        value
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.wrong(field, "an array"))
    }

    fn numbers(&self, value: &Value, field: &str) -> Result<Vec<f64>, ModelError> {
        self.array(value, field)?
            .iter()
            .enumerate()
            .map(|(i, v)| self.number(v, &format!("{field}[{i}]")))
            .collect()
    }
}

/// Parses the text of a JSON model file; the model's name is left empty.
pub(super) fn parse(text: &str, origin: &Origin) -> Result<VmafModel, ModelError> {
    let f = Fields { origin };
    let root: Value = serde_json::from_str(text).map_err(|source| ModelError::Json {
        origin: origin.clone(),
        source,
    })?;
    let root = root
        .as_object()
        .ok_or_else(|| f.invalid("the JSON is not an object"))?;
    let Some(dict) = root.get("model_dict") else {
        // A model collection (bootstrap models) holds one model per key "0", "1", ...
        if root.contains_key("0") {
            return Err(f.unsupported("a model collection (bootstrap VMAF)"));
        }
        return Err(f.missing("model_dict"));
    };
    let dict = dict
        .as_object()
        .ok_or_else(|| f.wrong("model_dict", "an object"))?;

    let model_type = f.string(f.required(dict, "model_type")?, "model_dict.model_type")?;
    match model_type {
        "LIBSVMNUSVR" => {}
        "BOOTSTRAP_LIBSVMNUSVR" | "RESIDUEBOOTSTRAP_LIBSVMNUSVR" => {
            return Err(f.unsupported(format!(
                "model_type {model_type:?} (bootstrap VMAF; only LIBSVMNUSVR)"
            )));
        }
        other => {
            return Err(f.unsupported(format!("model_type {other:?} (only LIBSVMNUSVR)")));
        }
    }

    // Inputs.
    let names = f.array(
        f.required(dict, "feature_names")?,
        "model_dict.feature_names",
    )?;
    if names.is_empty() || names.len() > MAX_FEATURES {
        return Err(f.invalid(format!(
            "model_dict.feature_names has {} features (1 to {MAX_FEATURES} allowed)",
            names.len()
        )));
    }
    let no_options = Map::new();
    let options: Vec<&Map<String, Value>> = match dict.get("feature_opts_dicts") {
        None => vec![],
        Some(value) => {
            let field = "model_dict.feature_opts_dicts";
            let list = f.array(value, field)?;
            if list.len() > names.len() {
                return Err(f.invalid(format!(
                    "{field} has {} entries for {} features",
                    list.len(),
                    names.len()
                )));
            }
            list.iter()
                .enumerate()
                .map(|(i, o)| {
                    o.as_object()
                        .ok_or_else(|| f.wrong(&format!("{field}[{i}]"), "an object"))
                })
                .collect::<Result<_, _>>()?
        }
    };
    let mut features = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let name = f.string(name, &format!("model_dict.feature_names[{i}]"))?;
        let opts = options.get(i).copied().unwrap_or(&no_options);
        let feature = features::feature(name, opts).map_err(|e| match e {
            FeatureError::Unknown => ModelError::UnknownFeature {
                origin: origin.clone(),
                name: name.to_owned(),
            },
            FeatureError::Option(problem) => ModelError::FeatureOption {
                origin: origin.clone(),
                name: name.to_owned(),
                problem,
            },
            FeatureError::Unsupported(what) => ModelError::Unsupported {
                origin: origin.clone(),
                what: format!("feature {name:?} with {what}"),
            },
        })?;
        features.push(feature);
    }
    let n = features.len();

    // Normalisation.
    let norm_type = f.string(f.required(dict, "norm_type")?, "model_dict.norm_type")?;
    let normalization = match norm_type {
        "none" => None,
        "linear_rescale" => {
            let slopes = f.numbers(f.required(dict, "slopes")?, "model_dict.slopes")?;
            let intercepts = f.numbers(f.required(dict, "intercepts")?, "model_dict.intercepts")?;
            for (field, list) in [("slopes", &slopes), ("intercepts", &intercepts)] {
                if list.len() != n + 1 {
                    return Err(f.invalid(format!(
                        "model_dict.{field} has {} entries; {n} features need {}",
                        list.len(),
                        n + 1
                    )));
                }
            }
            let mut rescales = slopes
                .iter()
                .zip(&intercepts)
                .map(|(&slope, &intercept)| Rescale { slope, intercept });
            let score = rescales.next().unwrap_or(Rescale {
                slope: 1.0,
                intercept: 0.0,
            });
            Some(Normalization {
                score,
                features: rescales.collect(),
            })
        }
        other => return Err(f.unsupported(format!("norm_type {other:?}"))),
    };

    // The SVM.
    let text = f.string(f.required(dict, "model")?, "model_dict.model")?;
    let svm = Svm::parse(text, n).map_err(|e| ModelError::Svm {
        origin: origin.clone(),
        line: e.line,
        problem: e.problem,
    })?;

    // Clipping and the score transform.
    let clip = match dict.get("score_clip") {
        None => None,
        Some(value) => {
            let clip = f.numbers(value, "model_dict.score_clip")?;
            let [min, max] = clip[..] else {
                return Err(f.wrong("model_dict.score_clip", "[min, max]"));
            };
            Some((min, max))
        }
    };
    let transform = match dict.get("score_transform") {
        None => None,
        Some(value) => Some(score_transform(&f, value)?),
    };

    Ok(VmafModel {
        name: String::new(),
        features,
        normalization,
        svm,
        transform,
        clip,
    })
}

/// `score_transform`, enabled as the model says (a flag may enable it later).
fn score_transform(f: &Fields<'_>, value: &Value) -> Result<ScoreTransform, ModelError> {
    const FIELD: &str = "model_dict.score_transform";
    let dict = value
        .as_object()
        .ok_or_else(|| f.wrong(FIELD, "an object"))?;
    let mut transform = ScoreTransform::default();
    for (key, value) in dict {
        let field = format!("{FIELD}.{key}");
        match key.as_str() {
            "enabled" => {
                transform.enabled = value
                    .as_bool()
                    .ok_or_else(|| f.wrong(&field, "true or false"))?;
            }
            "p0" | "p1" | "p2" => {
                let p = match value {
                    Value::Null => None,
                    v => Some(f.number(v, &field)?),
                };
                match key.as_str() {
                    "p0" => transform.p0 = p,
                    "p1" => transform.p1 = p,
                    _ => transform.p2 = p,
                }
            }
            "knots" => {
                transform.segments = match value {
                    Value::Null => vec![],
                    v => knots(f, v, &field)?,
                };
            }
            // libvmaf takes the strings "true" (anything else is false).
            "out_lte_in" => {
                transform.out_lte_in = f.string(value, &field)? == "true";
            }
            "out_gte_in" => {
                transform.out_gte_in = f.string(value, &field)? == "true";
            }
            _ => {}
        }
    }
    Ok(transform)
}

/// The knots `[[x, y], ...]` as segments, with libvmaf's checks: x increasing, y
/// non-decreasing (libvmaf checks them only while mapping, and then maps wrongly).
fn knots(f: &Fields<'_>, value: &Value, field: &str) -> Result<Vec<Segment>, ModelError> {
    const MAX_KNOTS: usize = 10;
    let list = f.array(value, field)?;
    let points = list
        .iter()
        .enumerate()
        .map(|(i, knot)| {
            let xy = f.numbers(knot, &format!("{field}[{i}]"))?;
            match xy[..] {
                [x, y] => Ok((x, y)),
                _ => Err(f.wrong(&format!("{field}[{i}]"), "[x, y]")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if points.len() < 2 || points.len() > MAX_KNOTS {
        return Err(f.invalid(format!(
            "{field} has {} knots (2 to {MAX_KNOTS} allowed)",
            points.len()
        )));
    }
    points
        .windows(2)
        .map(|pair| {
            let [(x0, y0), (x1, y1)] = [pair[0], pair[1]];
            if !(x0 < x1 && y0 <= y1) {
                return Err(f.invalid(format!(
                    "{field}: knot ({x1}, {y1}) does not follow ({x0}, {y0}) \
                     (x must increase, y must not decrease)"
                )));
            }
            // libvmaf's find_linear_function_parameters, for a segment that is not flat.
            let (alpha, beta) = if x0 == 0.0 {
                ((y1 - y0) / x1, y0)
            } else {
                let alpha = (y1 - y0) / (x1 - x0);
                (alpha, y0 - x0 * alpha)
            };
            Ok(Segment {
                x0,
                x1,
                flat: (y0 == y1).then_some(y0),
                alpha,
                beta,
            })
        })
        .collect()
}
