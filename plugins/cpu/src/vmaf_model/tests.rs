use std::path::PathBuf;

use serde_json::{Value, json};

use super::*;

fn default_features(gain: f64) -> Vec<ModelFeature> {
    let mut features = vec![
        ModelFeature::Adm2 {
            enhn_gain_limit: gain,
        },
        ModelFeature::Motion2,
    ];
    features.extend((0..4).map(|scale| ModelFeature::Vif {
        scale,
        enhn_gain_limit: gain,
    }));
    features
}

#[test]
fn built_in_models_load() {
    for (name, gain, support_vectors) in [
        ("vmaf_v0.6.1", 100.0, 211),
        ("vmaf_v0.6.1neg", 1.0, 211),
        ("vmaf_4k_v0.6.1", 100.0, 262),
    ] {
        let model = VmafModel::built_in(name).unwrap();
        assert_eq!(model.name(), name);
        assert_eq!(model.features(), default_features(gain), "{name}");
        assert_eq!(model.svm.support_vectors(), support_vectors, "{name}");
        assert_eq!(model.clip, Some((0.0, 100.0)), "{name}");
        // The built-in models do not enable the score transform some of them carry.
        assert!(
            model.transform.as_ref().is_none_or(|t| !t.enabled),
            "{name}"
        );
    }
    assert_eq!(VmafModel::BUILT_IN.len(), 3);
}

#[test]
fn unknown_built_in_lists_the_built_ins() {
    let message = VmafModel::built_in("vmaf_v0.6.2").unwrap_err().to_string();
    assert!(message.contains("\"vmaf_v0.6.2\""), "{message}");
    for name in VmafModel::BUILT_IN {
        assert!(message.contains(name), "{message}");
    }
}

/// The JSON of vmaf_v0.6.1 with `edit` applied to its `model_dict`.
fn edited(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut model: Value = serde_json::from_str(VMAF_V061).unwrap();
    edit(model["model_dict"].as_object_mut().unwrap());
    serde_json::to_string(&model).unwrap()
}

/// A scratch folder for model files, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("qscore-vmaf-model-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes `text` to `name` and loads it, expecting an error; returns its message.
    fn error(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        let message = VmafModel::from_path(&path).unwrap_err().to_string();
        assert!(
            message.contains(&path.display().to_string()),
            "the message names the file: {message}"
        );
        message
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn svm_text(edit: impl FnOnce(&str) -> String) -> String {
    edited(|d| {
        let text = d["model"].as_str().unwrap().to_owned();
        d["model"] = Value::String(edit(&text));
    })
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let scratch = Scratch::new("malformed");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "not_json.json",
            "{\"model_dict\": [".into(),
            "not valid JSON",
        ),
        ("array.json", "[1, 2]".into(), "not an object"),
        ("empty.json", "{}".into(), "missing field `model_dict`"),
        (
            "no_model.json",
            edited(|d| {
                d.remove("model");
            }),
            "missing field `model_dict.model`",
        ),
        (
            "model_number.json",
            edited(|d| d["model"] = json!(3)),
            "`model_dict.model` must be a string",
        ),
        (
            "no_names.json",
            edited(|d| {
                d.remove("feature_names");
            }),
            "missing field `model_dict.feature_names`",
        ),
        (
            "unknown_feature.json",
            edited(|d| d["feature_names"][1] = json!("VMAF_feature_motion2_score")),
            "unknown feature \"VMAF_feature_motion2_score\"",
        ),
        (
            "bad_option.json",
            edited(|d| {
                d.insert(
                    "feature_opts_dicts".into(),
                    json!([{}, {}, {"vif_enhn_gain_limit": 0.5}]),
                );
            }),
            "vif_enhn_gain_limit = 0.5 is out of its range",
        ),
        (
            "bootstrap.json",
            edited(|d| d["model_type"] = json!("BOOTSTRAP_LIBSVMNUSVR")),
            "bootstrap VMAF",
        ),
        (
            "collection.json",
            json!({"0": {"model_dict": {}}, "1": {"model_dict": {}}}).to_string(),
            "model collection",
        ),
        (
            "norm.json",
            edited(|d| d["norm_type"] = json!("clip_0to1")),
            "norm_type \"clip_0to1\" is not supported",
        ),
        (
            "slopes.json",
            edited(|d| {
                d["slopes"].as_array_mut().unwrap().pop();
            }),
            "model_dict.slopes has 6 entries; 6 features need 7",
        ),
        (
            "clip.json",
            edited(|d| d["score_clip"] = json!([0.0])),
            "`model_dict.score_clip` must be [min, max]",
        ),
        (
            "knots.json",
            edited(|d| d["score_transform"] = json!({"enabled": true, "knots": [[0, 0], [0, 1]]})),
            "x must increase",
        ),
        (
            "kernel.json",
            svm_text(|t| t.replace("kernel_type rbf", "kernel_type polynomial")),
            "line 2: kernel_type \"polynomial\" is not supported",
        ),
        (
            "svm_type.json",
            svm_text(|t| t.replace("svm_type nu_svr", "svm_type c_svc")),
            "svm_type \"c_svc\" is not supported",
        ),
        (
            "bad_sv.json",
            svm_text(|t| t.replacen("1:0.65734273", "1=0.65734273", 1)),
            "line 8: bad support vector entry \"1=0.65734273\"",
        ),
        (
            "sv_range.json",
            svm_text(|t| t.replacen("6:0.73495824", "7:0.73495824", 1)),
            "line 8: input index 7 out of range",
        ),
        (
            "sv_order.json",
            svm_text(|t| t.replacen("1:0.65734273 2:0.34681232", "2:0.34681232 1:0.65734273", 1)),
            "line 8: input index 1 after index 2",
        ),
        (
            "sv_missing.json",
            svm_text(|t| t.replace("total_sv 211", "total_sv 212")),
            "the text ends after 211 of total_sv 212",
        ),
        (
            "sv_extra.json",
            svm_text(|t| t.replace("total_sv 211", "total_sv 210")),
            "more support vectors than total_sv 210",
        ),
        (
            "no_rho.json",
            svm_text(|t| t.replace("rho -1.33133\n", "")),
            "no rho in the header",
        ),
        (
            "header.json",
            svm_text(|t| t.replace("gamma 0.04", "gamma 0.04 shrinking 1")),
            "line 3: unknown header word \"shrinking\"",
        ),
        (
            "no_sv.json",
            svm_text(|t| t.replace("SV\n", "")),
            "unknown header word \"-4\"",
        ),
    ];
    for (name, text, expected) in cases {
        let message = scratch.error(name, &text);
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn unreadable_file_is_an_error_naming_it() {
    let path = std::env::temp_dir().join("qscore-no-such-dir/none.json");
    let message = VmafModel::from_path(&path).unwrap_err().to_string();
    assert!(message.contains("cannot read VMAF model file"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_model_file_loads_like_the_built_in() {
    let scratch = Scratch::new("load");
    let path = scratch.0.join("my_model.json");
    std::fs::write(&path, VMAF_V061_NEG).unwrap();
    let model = VmafModel::from_path(&path).unwrap();
    assert_eq!(model.name(), "my_model");
    let built_in = VmafModel::built_in("vmaf_v0.6.1neg").unwrap();
    assert_eq!(model.features(), built_in.features());
    let x = [0.93, 3.1, 0.4, 0.8, 0.88, 0.93];
    assert_eq!(model.predict(&x).to_bits(), built_in.predict(&x).to_bits());
}

/// The variants of vmaf_v0.6.1 the oracle script also scored (its VARIANTS).
fn variant(label: &str) -> VmafModel {
    let text = match label {
        "variant:transform" => edited(|d| d["score_transform"]["enabled"] = json!(true)),
        "variant:knots" => edited(|d| {
            d["score_transform"] = json!({
                "enabled": true,
                "knots": [[0.0, 0.0], [20.0, 10.0], [60.0, 70.0], [90.0, 90.0], [100.0, 100.0]],
                "out_lte_in": "true"
            });
        }),
        "variant:norm_none" => edited(|d| {
            d["norm_type"] = json!("none");
            d["score_clip"] = json!([-1.0e9, 1.0e9]);
        }),
        _ => panic!("unknown variant {label}"),
    };
    VmafModel::from_json(&text, label, Origin::BuiltIn(label.into())).unwrap()
}

/// libvmaf 2.3.1's own per-frame scores (see `models/tests/README.md`).
const ORACLE: &str = include_str!("../../models/tests/oracle_frames.json");

/// An oracle case's model inputs and libvmaf's score.
fn oracle_case(case: &Value) -> (Vec<f64>, f64) {
    let features = case["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (features, case["vmaf"].as_f64().unwrap())
}

#[test]
fn predictions_equal_libvmaf() {
    let oracle: Value = serde_json::from_str(ORACLE).unwrap();
    let cases = oracle["cases"].as_array().unwrap();
    let mut models = std::collections::HashMap::new();
    let mut worst = (0.0_f64, String::new());
    let mut mismatches = vec![];
    for case in cases {
        let label = case["model"].as_str().unwrap();
        let model = models.entry(label.to_owned()).or_insert_with(|| {
            if label.starts_with("variant:") {
                variant(label)
            } else {
                VmafModel::built_in(label).unwrap()
            }
        });
        let (features, expected) = oracle_case(case);
        let got = model.predict(&features);
        let diff = (got - expected).abs();
        let at = format!("{} {label} frame {}", case["clip"], case["frame"]);
        if diff > worst.0 {
            worst = (diff, at.clone());
        }
        if got.to_bits() != expected.to_bits() {
            mismatches.push(format!("{at}: {got:?} != libvmaf {expected:?}"));
        }
    }
    assert!(cases.len() > 300, "{} oracle cases", cases.len());
    assert!(
        mismatches.is_empty(),
        "{} of {} scores differ from libvmaf (largest {:e} at {}):\n{}",
        mismatches.len(),
        cases.len(),
        worst.0,
        worst.1,
        mismatches.join("\n")
    );
    // The cases reach both clip limits and every kind of model.
    let scores: Vec<f64> = cases.iter().map(|c| c["vmaf"].as_f64().unwrap()).collect();
    assert!(scores.contains(&0.0) && scores.contains(&100.0));
    assert_eq!(models.len(), 6);
}

/// `enable_transform` on the built-in model is libvmaf's model with the transform enabled in
/// its file (the oracle's `variant:transform`), bit for bit on the oracle's inputs; its
/// scores pass the clip only without `disable_clip`.
#[test]
fn the_model_flags_act_as_libvmafs() {
    let oracle: Value = serde_json::from_str(ORACLE).unwrap();
    let built_in = || VmafModel::built_in("vmaf_v0.6.1").unwrap();
    let phone = built_in().with_flags(true, false);
    let unclipped = built_in().with_flags(true, true);
    let mut outside = 0;
    for case in oracle["cases"].as_array().unwrap() {
        if case["model"] != "variant:transform" {
            continue;
        }
        let (features, expected) = oracle_case(case);
        assert_eq!(phone.predict(&features).to_bits(), expected.to_bits());
        let free = unclipped.predict(&features);
        if (0.0..=100.0).contains(&free) {
            assert_eq!(free.to_bits(), expected.to_bits());
        } else {
            outside += 1;
            assert_eq!(expected, free.clamp(0.0, 100.0));
        }
    }
    assert!(outside > 0, "no oracle frame reaches the clip");
    // A model without a score transform is unchanged by the flag.
    let x = [0.93, 3.1, 0.4, 0.8, 0.88, 0.93];
    let neg = VmafModel::built_in("vmaf_v0.6.1neg").unwrap();
    let mut no_transform = neg.clone();
    no_transform.transform = None;
    assert_eq!(
        no_transform
            .clone()
            .with_flags(true, false)
            .predict(&x)
            .to_bits(),
        no_transform.predict(&x).to_bits()
    );
}

#[test]
#[should_panic(expected = "takes 6 features, got 5")]
fn predict_checks_the_feature_count() {
    VmafModel::built_in("vmaf_v0.6.1")
        .unwrap()
        .predict(&[0.0; 5]);
}
