//! The conformance suite, written once and run against every plugin present:
//! every value is compared with golden numbers from external implementations
//! (scikit-image, libjxl, libvmaf; see data/README.md), within the tolerance each
//! backend declares in `tolerances.rs`.

#[path = "../support/mod.rs"]
mod support;
mod tolerances;
mod vmaf;

use std::{fs, path::Path, sync::Arc};

use qscore_core::{ChromaSubsampling, MemoryMode, OwnedImage, PixelFormat, TaskSpec};
use qscore_host::{Plugin, decode_image, load_plugin};
use serde_json::Value;
use tolerances::declared;

/// Plugin packages built in this workspace: (package, library name).
const PLUGINS: &[(&str, &str)] = &[
    ("qscore-cpu", "qscore_plugin_cpu"),
    ("qscore-wgpu", "qscore_plugin_wgpu"),
    ("qscore-cuda", "qscore_plugin_cuda"),
    ("qscore-hip", "qscore_plugin_hip"),
];

/// Plugins that must have a device here (comma-separated names), so that a machine meant to
/// run their kernels (CI runs wgpu on lavapipe) fails instead of skipping them.
const REQUIRE_ENV: &str = "QSCORE_REQUIRE_DEVICES";

fn plugins() -> Vec<Arc<Plugin>> {
    let packages: Vec<&str> = PLUGINS.iter().map(|(p, _)| *p).collect();
    support::build(&packages);
    let required = std::env::var(REQUIRE_ENV).unwrap_or_default();
    let required: Vec<&str> = required.split(',').filter(|s| !s.is_empty()).collect();
    let prebuilt = std::env::var_os("QSCORE_TEST_PREBUILT").is_some();
    PLUGINS
        .iter()
        // Copied test binaries bring only the plugins that machine needs.
        .filter(|(_, lib)| !prebuilt || support::library(lib).exists())
        .map(|(_, lib)| Arc::new(load_plugin(&support::library(lib)).expect("plugin loads")))
        .filter(|p| {
            let name = p.identity().name.as_str();
            if p.devices().is_empty() {
                assert!(
                    !required.contains(&name),
                    "{name} must have a device here ({REQUIRE_ENV}) but has none: {}",
                    p.device_note()
                );
                eprintln!("skipping {name}: no devices ({})", p.device_note());
                false
            } else {
                true
            }
        })
        .collect()
}

/// The memory modes `plugin` declares for `metric` (none when it lacks the metric).
fn modes(plugin: &Plugin, metric: &str) -> Vec<MemoryMode> {
    plugin
        .metric_caps(0, metric)
        .map(|c| c.modes.iter().copied().collect())
        .unwrap_or_default()
}

/// A memory mode must never change a score: every mode is checked against FULL.
fn same_as_full(failures: &mut Vec<String>, what: &str, full: f64, other: f64) {
    let scale = full.abs().max(1e-12);
    if (full - other).abs() > 1e-6 * scale && !(full.is_infinite() && full == other) {
        failures.push(format!(
            "{what}: {other} differs from FULL's {full} by more than 1e-6 relative"
        ));
    }
}

fn golden(path: &str) -> Value {
    serde_json::from_str(&fs::read_to_string(support::data(path)).unwrap()).unwrap()
}

/// Collects every mismatch so one run reports them all.
#[derive(Default)]
struct Checker {
    failures: Vec<String>,
    checked: usize,
}

impl Checker {
    fn check(&mut self, plugin: &str, key: &str, what: &str, ours: f64, golden: f64) {
        let Some(declared) = declared(plugin, key) else {
            self.failures
                .push(format!("{plugin}: no tolerance declared for {key}"));
            return;
        };
        self.checked += 1;
        if !declared.tolerance.accepts(ours, golden) {
            self.failures.push(format!(
                "{plugin} {what}: {key} = {ours} but golden is {golden} (|Δ| {:.3e}, allowed {:?}: {})",
                (ours - golden).abs(),
                declared.tolerance,
                declared.reason
            ));
        }
    }

    fn finish(self, expected_checks: usize) {
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n"));
        assert!(
            self.checked >= expected_checks,
            "only {} of {expected_checks} values were checked",
            self.checked
        );
    }
}

#[test]
fn images_match_scikit_image_and_libjxl() {
    let golden = golden("images/golden.json");
    let pairs = golden["pairs"].as_array().unwrap();
    let values = [
        ("psnr", "psnr"),
        ("ssim", "ssim"),
        ("ssimulacra2", "ssimulacra2"),
        ("butteraugli", "butteraugli_max"),
        ("butteraugli_pnorm3", "butteraugli_pnorm3"),
    ];
    for plugin in plugins() {
        let name = plugin.identity().name.clone();
        let mut checker = Checker::default();
        let mut expected_checks = 0;
        let mut references: Vec<&str> = pairs
            .iter()
            .map(|p| p["reference"].as_str().unwrap())
            .collect();
        references.dedup();
        for metric in ["psnr", "ssim", "ssimulacra2", "butteraugli"] {
            let outputs = if metric == "butteraugli" { 2 } else { 1 };
            expected_checks += pairs.len() * outputs * modes(&plugin, metric).len();
        }
        for reference_name in references {
            let reference =
                decode_image(&support::data(&format!("images/{reference_name}"))).unwrap();
            for metric in ["psnr", "ssim", "ssimulacra2", "butteraugli"] {
                let mut full_scores: Vec<f64> = Vec::new();
                for mode in modes(&plugin, metric) {
                    let spec = TaskSpec::new(
                        metric,
                        reference.width,
                        reference.height,
                        reference.format,
                        mode,
                    );
                    let mut session = plugin.open_session(0, &spec).unwrap();
                    // Prepared once, compared with every distortion of this reference.
                    let prepared = reference.with_view(|v| session.prepare(v)).unwrap();
                    let mut index = 0;
                    for pair in pairs.iter().filter(|p| p["reference"] == reference_name) {
                        let distorted_name = pair["distorted"].as_str().unwrap();
                        let distorted =
                            decode_image(&support::data(&format!("images/{distorted_name}")))
                                .unwrap();
                        let scores = distorted
                            .with_view(|v| session.compare(prepared, v))
                            .unwrap();
                        for score in scores {
                            let (_, golden_key) = values
                                .iter()
                                .find(|(n, _)| *n == score.name.as_str())
                                .unwrap();
                            let expected = pair[*golden_key].as_f64().unwrap();
                            let what = format!("{distorted_name} ({mode})");
                            checker.check(&name, score.name.as_str(), &what, score.value, expected);
                            if mode == MemoryMode::FULL {
                                full_scores.push(score.value);
                            } else {
                                same_as_full(
                                    &mut checker.failures,
                                    &format!("{name} {metric} {what}"),
                                    full_scores[index],
                                    score.value,
                                );
                            }
                            index += 1;
                        }
                    }
                }
            }
        }
        checker.finish(expected_checks);
    }
}

/// Reads `frames` frames of raw planar YUV 4:2:0 10-bit little-endian.
fn read_yuv420p10(path: &Path, width: u32, height: u32, frames: usize) -> Vec<OwnedImage> {
    let bytes = fs::read(path).unwrap();
    let (w, h) = (width as usize, height as usize);
    let luma = w * h * 2;
    let chroma = w.div_ceil(2) * h.div_ceil(2) * 2;
    let frame_bytes = luma + 2 * chroma;
    assert_eq!(
        bytes.len(),
        frame_bytes * frames,
        "{} has the expected size",
        path.display()
    );
    bytes
        .chunks_exact(frame_bytes)
        .map(|frame| {
            // The file is little-endian; the ABI wants native-endian 16-bit samples.
            let native = |part: &[u8]| -> Vec<u8> {
                part.chunks_exact(2)
                    .flat_map(|s| u16::from_le_bytes([s[0], s[1]]).to_ne_bytes())
                    .collect()
            };
            OwnedImage {
                format: PixelFormat::yuv(ChromaSubsampling::Yuv420, 10),
                width,
                height,
                planes: vec![
                    native(&frame[..luma]),
                    native(&frame[luma..luma + chroma]),
                    native(&frame[luma + chroma..]),
                ],
            }
        })
        .collect()
}

#[test]
fn video_matches_libvmaf_float_features() {
    let golden = golden("video/golden.json");
    let (width, height) = (576, 324);
    let frames = golden["frames"].as_u64().unwrap() as usize;
    let reference = read_yuv420p10(
        &support::data("video/src01_hrc00_576x324.yuv420p10le.yuv"),
        width,
        height,
        frames,
    );
    let distorted = read_yuv420p10(
        &support::data("video/src01_hrc01_576x324.yuv420p10le.yuv"),
        width,
        height,
        frames,
    );
    let baseline = &golden["libvmaf_v2.3.1_to_v3.1.0"];
    let features = [
        ("psnr", "psnr_y", "psnr_y", "float_psnr_score"),
        ("ssim", "ssim", "ssim@yuv", "float_ssim_score"),
        ("ms_ssim", "ms_ssim", "ms_ssim", "float_ms_ssim_score"),
    ];
    for plugin in plugins() {
        let name = plugin.identity().name.clone();
        let mut checker = Checker::default();
        let mut expected_checks = 0;
        for (case, dist) in [("distorted", &distorted), ("identity", &reference)] {
            for (metric, value, key, golden_key) in features {
                for mode in modes(&plugin, metric) {
                    expected_checks += 2;
                    let spec = TaskSpec::new(metric, width, height, reference[0].format, mode);
                    // Frame by frame, each frame's reference prepared and compared…
                    let mut session = plugin.open_session(0, &spec).unwrap();
                    let mut sum = 0.0;
                    for (r, d) in reference.iter().zip(dist.iter()) {
                        let prepared = r.with_view(|v| session.prepare(v)).unwrap();
                        let scores = d.with_view(|v| session.compare(prepared, v)).unwrap();
                        session.release(prepared);
                        sum += scores
                            .iter()
                            .find(|s| s.name.as_str() == value)
                            .unwrap()
                            .value;
                    }
                    let expected = baseline[case][golden_key].as_f64().unwrap();
                    checker.check(
                        &name,
                        key,
                        &format!("{case} frames ({mode})"),
                        sum / frames as f64,
                        expected,
                    );
                    // …and as a clip pushed in order, pooled by the plugin.
                    let mut clip = plugin.open_clip(0, &spec).unwrap();
                    for (r, d) in reference.iter().zip(dist.iter()) {
                        r.with_view(|rv| d.with_view(|dv| clip.push(rv, dv)))
                            .unwrap();
                    }
                    let pooled = clip.finish().unwrap();
                    assert_eq!(pooled.frames.len(), frames);
                    let mean = pooled
                        .pooled
                        .iter()
                        .find(|s| s.name.as_str() == value)
                        .unwrap()
                        .value;
                    checker.check(&name, key, &format!("{case} clip ({mode})"), mean, expected);
                }
            }
        }
        checker.finish(expected_checks);
    }
}
