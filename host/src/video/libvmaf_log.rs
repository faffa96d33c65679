//! A clip's scores in the JSON log format of libvmaf's `vmaf --json` tool, so that scripts
//! written for those logs read ours: `frames` (each with `frameNum` and `metrics`),
//! `pooled_metrics` (`min`, `max`, `mean`, `harmonic_mean` per value) and
//! `aggregate_metrics`.
//!
//! Values are named as libvmaf names its integer features (`integer_vif_scale0`,
//! `integer_adm2`, `integer_motion2`…); the model's score is `vmaf`. Values keep every
//! digit (libvmaf prints six decimals).

use std::{io, path::Path};

use serde_json::{Map, Value, json};

use super::VideoScores;

/// libvmaf's name for one of our value names.
pub fn libvmaf_name(name: &str) -> String {
    let integer = name.starts_with("vif_scale")
        || name.starts_with("adm_scale")
        || matches!(name, "adm2" | "motion" | "motion2");
    if integer {
        format!("integer_{name}")
    } else {
        name.to_owned()
    }
}

fn number(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// The log of one clip as a JSON value; `fps` is frames scored per second.
pub fn libvmaf_log(scores: &VideoScores, fps: f64) -> Value {
    let frames: Vec<Value> = scores
        .frames
        .iter()
        .zip(&scores.frame_numbers)
        .map(|(values, i)| {
            let metrics: Map<String, Value> = values
                .iter()
                .map(|(name, v)| (libvmaf_name(name), number(*v)))
                .collect();
            json!({"frameNum": i, "metrics": metrics})
        })
        .collect();
    let pooled: Map<String, Value> = scores
        .pooled
        .iter()
        .map(|(name, p)| {
            let stats = json!({
                "min": number(p.min),
                "max": number(p.max),
                "mean": number(p.mean),
                "harmonic_mean": number(p.harmonic_mean),
            });
            (libvmaf_name(name), stats)
        })
        .collect();
    json!({
        "version": concat!("qscore ", env!("CARGO_PKG_VERSION")),
        "fps": number((fps * 100.0).round() / 100.0),
        "frames": frames,
        "pooled_metrics": pooled,
        "aggregate_metrics": {},
    })
}

/// Writes the log of one clip to `path`.
pub fn write_libvmaf_log(path: &Path, scores: &VideoScores, fps: f64) -> io::Result<()> {
    let mut text = serde_json::to_string_pretty(&libvmaf_log(scores, fps))?;
    text.push('\n');
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::pool;

    #[test]
    fn the_log_has_libvmafs_shape_and_names() {
        let frames = vec![
            vec![("vmaf".to_owned(), 80.0), ("adm2".to_owned(), 0.9)],
            vec![("vmaf".to_owned(), 90.0), ("adm2".to_owned(), 1.0)],
        ];
        let pooled = vec![
            ("vmaf".to_owned(), pool(&[80.0, 90.0]).unwrap()),
            ("adm2".to_owned(), pool(&[0.9, 1.0]).unwrap()),
        ];
        let scores = VideoScores {
            frames,
            // Every other frame scored.
            frame_numbers: vec![0, 2],
            pooled,
            backends: Vec::new(),
        };
        let log = libvmaf_log(&scores, 12.345);
        assert_eq!(log["frames"][1]["frameNum"], 2);
        assert_eq!(log["frames"][1]["metrics"]["integer_adm2"], 1.0);
        assert_eq!(log["frames"][0]["metrics"]["vmaf"], 80.0);
        assert_eq!(log["pooled_metrics"]["vmaf"]["mean"], 85.0);
        assert_eq!(log["pooled_metrics"]["vmaf"]["min"], 80.0);
        // libvmaf's harmonic mean: n / Σ 1/(v+1) − 1.
        let harmonic = 2.0 / (1.0 / 81.0 + 1.0 / 91.0) - 1.0;
        assert_eq!(log["pooled_metrics"]["vmaf"]["harmonic_mean"], harmonic);
        assert_eq!(log["fps"], 12.35);
        assert!(log["aggregate_metrics"].as_object().unwrap().is_empty());
    }

    #[test]
    fn feature_names_follow_libvmafs_integer_aliases() {
        assert_eq!(libvmaf_name("vif_scale3"), "integer_vif_scale3");
        assert_eq!(libvmaf_name("adm_scale0"), "integer_adm_scale0");
        assert_eq!(libvmaf_name("motion2"), "integer_motion2");
        assert_eq!(libvmaf_name("vmaf"), "vmaf");
        assert_eq!(libvmaf_name("float_ssim"), "float_ssim");
    }
}
