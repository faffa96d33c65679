//! A model input's name and options (`feature_names`, `feature_opts_dicts`) as a
//! [`ModelFeature`], read the way libvmaf 2.3.1 reads them.
//!
//! libvmaf finds the extractor that lists the name among the features it provides (exact
//! names, no aliases), and sets the extractor's options from the input's options dictionary.
//! A number there goes through libvmaf's dictionary first: read as a `float` (`strtof`),
//! written back with `%g` (six significant digits), and read again as a double; so a gain
//! limit of 1.23456789 becomes 1.23457, and we take it the same way.

use serde_json::{Map, Value};

use super::ModelFeature;

/// The feature names qscore computes, as models name them.
pub(super) const KNOWN: &[&str] = &[
    "VMAF_integer_feature_vif_scale0_score",
    "VMAF_integer_feature_vif_scale1_score",
    "VMAF_integer_feature_vif_scale2_score",
    "VMAF_integer_feature_vif_scale3_score",
    "VMAF_integer_feature_adm2_score",
    "integer_adm_scale0",
    "integer_adm_scale1",
    "integer_adm_scale2",
    "integer_adm_scale3",
    "VMAF_integer_feature_motion2_score",
    "VMAF_integer_feature_motion_score",
];

/// Default and range of `vif_enhn_gain_limit` and `adm_enhn_gain_limit` in libvmaf 2.3.1.
const GAIN_LIMIT_DEFAULT: f64 = 100.0;
const GAIN_LIMIT_MIN: f64 = 1.0;
/// Defaults of ADM's viewing options, the only values qscore computes ADM for.
const ADM_NORM_VIEW_DIST: f64 = 3.0;
const ADM_REF_DISPLAY_HEIGHT: i64 = 1080;

/// Which libvmaf extractor provides a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extractor {
    Vif(usize),
    Adm2,
    AdmScale(usize),
    Motion2,
    Motion,
}

fn extractor(name: &str) -> Option<Extractor> {
    let scale = |prefix: &str, suffix: &str| -> Option<usize> {
        let digit = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
        match digit {
            "0" | "1" | "2" | "3" => digit.parse().ok(),
            _ => None,
        }
    };
    if let Some(s) = scale("VMAF_integer_feature_vif_scale", "_score") {
        return Some(Extractor::Vif(s));
    }
    if let Some(s) = scale("integer_adm_scale", "") {
        return Some(Extractor::AdmScale(s));
    }
    match name {
        "VMAF_integer_feature_adm2_score" => Some(Extractor::Adm2),
        "VMAF_integer_feature_motion2_score" => Some(Extractor::Motion2),
        "VMAF_integer_feature_motion_score" => Some(Extractor::Motion),
        _ => None,
    }
}

/// Why an input could not be read.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FeatureError {
    Unknown,
    /// A problem with its options.
    Option(String),
    /// An option value qscore does not compute the feature for.
    Unsupported(String),
}

/// A double as libvmaf's options dictionary passes it on: `strtof`, `%g`, `atof`.
fn dictionary_number(v: f64) -> f64 {
    // `as f32` rounds to nearest, like strtof on the JSON text (the text went through a
    // double first here, which can differ from strtof only for a text within 2⁻⁵³ of a tie
    // between two floats). `{:.5e}` rounds to six significant digits, ties to even, as
    // glibc's `%g` does; which of %g's two layouts it uses does not change the value.
    let six = format!("{:.5e}", f64::from(v as f32));
    six.parse().unwrap_or(v)
}

/// An option's value as libvmaf's dictionary holds it: a number, or `true` / `false`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum OptionValue {
    Number(f64),
    Bool(bool),
}

fn option_value(key: &str, value: &Value) -> Result<OptionValue, FeatureError> {
    match value {
        Value::Bool(b) => Ok(OptionValue::Bool(*b)),
        Value::Number(n) => n
            .as_f64()
            .map(|v| OptionValue::Number(dictionary_number(v)))
            .ok_or_else(|| FeatureError::Option(format!("option {key}: bad number {n}"))),
        _ => Err(FeatureError::Option(format!(
            "option {key} must be a number or true/false, not {value}"
        ))),
    }
}

fn double_option(key: &str, value: OptionValue, min: f64, max: f64) -> Result<f64, FeatureError> {
    match value {
        OptionValue::Number(v) if (min..=max).contains(&v) => Ok(v),
        OptionValue::Number(v) => Err(FeatureError::Option(format!(
            "option {key} = {v} is out of its range {min} to {max}"
        ))),
        OptionValue::Bool(b) => Err(FeatureError::Option(format!(
            "option {key} must be a number, not {b}"
        ))),
    }
}

fn bool_option(key: &str, value: OptionValue) -> Result<bool, FeatureError> {
    match value {
        OptionValue::Bool(b) => Ok(b),
        OptionValue::Number(v) => Err(FeatureError::Option(format!(
            "option {key} must be true or false, not {v}"
        ))),
    }
}

/// The input named `name` with the options `opts` (its `feature_opts_dicts` entry).
pub(super) fn feature(name: &str, opts: &Map<String, Value>) -> Result<ModelFeature, FeatureError> {
    let extractor = extractor(name).ok_or(FeatureError::Unknown)?;
    let mut gain_limit = GAIN_LIMIT_DEFAULT;
    for (key, value) in opts {
        let value = option_value(key, value)?;
        match (extractor, key.as_str()) {
            // Extra output only.
            (_, "debug") => {
                bool_option(key, value)?;
            }
            (Extractor::Vif(_), "vif_enhn_gain_limit")
            | (Extractor::Adm2 | Extractor::AdmScale(_), "adm_enhn_gain_limit") => {
                gain_limit = double_option(key, value, GAIN_LIMIT_MIN, GAIN_LIMIT_DEFAULT)?;
            }
            (Extractor::Adm2 | Extractor::AdmScale(_), "adm_norm_view_dist") => {
                let v = double_option(key, value, 0.75, 24.0)?;
                if v != ADM_NORM_VIEW_DIST {
                    return Err(FeatureError::Unsupported(format!(
                        "{key} = {v} (qscore computes ADM for {ADM_NORM_VIEW_DIST} only)"
                    )));
                }
            }
            (Extractor::Adm2 | Extractor::AdmScale(_), "adm_ref_display_height") => {
                // An integer option: libvmaf reads the `%g` text with atoi, so a value in
                // [1080, 1081) is 1080.
                let v = double_option(key, value, 1.0, 4320.0)?;
                if v.trunc() as i64 != ADM_REF_DISPLAY_HEIGHT {
                    return Err(FeatureError::Unsupported(format!(
                        "{key} = {v} (qscore computes ADM for {ADM_REF_DISPLAY_HEIGHT} only)"
                    )));
                }
            }
            (Extractor::Motion | Extractor::Motion2, "motion_force_zero") => {
                if bool_option(key, value)? {
                    return Err(FeatureError::Unsupported(format!("{key} = true")));
                }
            }
            _ => {
                return Err(FeatureError::Option(format!(
                    "option {key:?} is not one of this feature's extractor"
                )));
            }
        }
    }
    Ok(match extractor {
        Extractor::Vif(scale) => ModelFeature::Vif {
            scale,
            enhn_gain_limit: gain_limit,
        },
        Extractor::Adm2 => ModelFeature::Adm2 {
            enhn_gain_limit: gain_limit,
        },
        Extractor::AdmScale(scale) => ModelFeature::AdmScale {
            scale,
            enhn_gain_limit: gain_limit,
        },
        Extractor::Motion2 => ModelFeature::Motion2,
        Extractor::Motion => ModelFeature::Motion,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn opts(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn names_and_gain_limits() {
        let none = Map::new();
        assert_eq!(
            feature("VMAF_integer_feature_vif_scale2_score", &none),
            Ok(ModelFeature::Vif {
                scale: 2,
                enhn_gain_limit: 100.0
            })
        );
        assert_eq!(
            feature(
                "integer_adm_scale3",
                &opts(json!({"adm_enhn_gain_limit": 1.0}))
            ),
            Ok(ModelFeature::AdmScale {
                scale: 3,
                enhn_gain_limit: 1.0
            })
        );
        assert_eq!(
            feature("VMAF_integer_feature_motion_score", &none),
            Ok(ModelFeature::Motion)
        );
        // Through libvmaf's dictionary: six significant digits.
        assert_eq!(
            feature(
                "VMAF_integer_feature_adm2_score",
                &opts(json!({"adm_enhn_gain_limit": 1.23456789}))
            ),
            Ok(ModelFeature::Adm2 {
                enhn_gain_limit: 1.23457
            })
        );
        // 1.015625 is a float exactly; %g rounds the tie to even.
        assert_eq!(dictionary_number(1.015625), 1.01562);
        assert_eq!(dictionary_number(1.046875), 1.04688);
        assert_eq!(
            feature(
                "VMAF_integer_feature_adm2_score",
                &opts(
                    json!({"adm_norm_view_dist": 3, "adm_ref_display_height": 1080.5,
                              "debug": true})
                )
            ),
            Ok(ModelFeature::Adm2 {
                enhn_gain_limit: 100.0
            })
        );
    }

    #[test]
    fn bad_names_and_options() {
        let none = Map::new();
        for name in [
            "VMAF_feature_vif_scale0_score",
            "integer_vif_scale0",
            "VMAF_integer_feature_vif_scale4_score",
            "integer_adm_scale",
            "",
        ] {
            assert_eq!(feature(name, &none), Err(FeatureError::Unknown), "{name}");
        }
        let vif = "VMAF_integer_feature_vif_scale0_score";
        for bad in [
            json!({"vif_enhn_gain_limit": 0.5}),
            json!({"vif_enhn_gain_limit": 100.001}),
            json!({"vif_enhn_gain_limit": true}),
            json!({"vif_enhn_gain_limit": "1"}),
            json!({"adm_enhn_gain_limit": 1.0}),
            json!({"debug": 1}),
        ] {
            assert!(
                matches!(
                    feature(vif, &opts(bad.clone())),
                    Err(FeatureError::Option(_))
                ),
                "{bad}"
            );
        }
        let adm = "VMAF_integer_feature_adm2_score";
        for unsupported in [
            json!({"adm_norm_view_dist": 1.5}),
            json!({"adm_ref_display_height": 2160}),
        ] {
            assert!(matches!(
                feature(adm, &opts(unsupported)),
                Err(FeatureError::Unsupported(_))
            ));
        }
        assert!(matches!(
            feature(
                "VMAF_integer_feature_motion2_score",
                &opts(json!({"motion_force_zero": true}))
            ),
            Err(FeatureError::Unsupported(_))
        ));
    }
}
