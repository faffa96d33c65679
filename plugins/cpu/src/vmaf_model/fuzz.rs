//! Property test (bounded in CI; `PROPTEST_CASES=N` for a long run): model files made by
//! cutting, splicing and rewriting numbers in a bundled model never make the loader panic,
//! and every model it accepts predicts a score for any feature values without panicking.

use proptest::prelude::*;

use super::{Origin, VMAF_V061, VmafModel, json};

/// The bundled model with up to three edits: a byte range replaced by arbitrary text, or a
/// number replaced by an extreme one.
fn model_text() -> impl Strategy<Value = String> {
    let edit = (
        0usize..VMAF_V061.len(),
        0usize..64,
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..12)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            prop::sample::select(vec![
                "1e400",
                "-1e400",
                "-0",
                "0",
                "1e-320",
                "18446744073709551616",
                "null",
                "[]",
                "{}",
                "\"x\"",
                "[[0.5, 1], [1, 2, 3]]",
                "\"none\"",
                "\"linear_rescale\"",
                "true",
            ])
            .prop_map(str::to_owned),
        ],
    );
    prop::collection::vec(edit, 0..4).prop_map(|edits| {
        let mut text = VMAF_V061.to_owned();
        for (at, len, with) in edits {
            let start = floor_char(&text, at.min(text.len()));
            let end = floor_char(&text, (start + len).min(text.len()));
            text.replace_range(start..end, &with);
        }
        text
    })
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

proptest! {
    #[test]
    fn edited_models_load_or_are_refused_and_loaded_ones_predict(
        text in model_text(),
        values in prop::collection::vec(prop_oneof![any::<f64>(), -2.0..2.0f64], 0..10),
    ) {
        let origin = Origin::File("fuzzed.json".into());
        if let Ok(model) = json::parse(&text, &origin) {
            let inputs: Vec<f64> = (0..model.features().len())
                .map(|i| values.get(i).copied().unwrap_or(0.5))
                .collect();
            let _ = VmafModel::predict(&model, &inputs);
        }
    }
}
