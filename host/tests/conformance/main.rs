//! The conformance suite, written once and run against every plugin present:
//! every value is compared with golden numbers from external implementations
//! (scikit-image, libjxl, libvmaf; see data/README.md), within the tolerance each
//! backend declares in `tolerances.rs`.

#[path = "../support/mod.rs"]
mod support;
mod tolerances;

use std::{fs, path::Path, sync::Arc};

use qscore_core::{ChromaSubsampling, MemoryMode, OwnedImage, PixelFormat, TaskSpec};
use qscore_host::{Plugin, decode_image, load_plugin};
use serde_json::Value;
use tolerances::declared;

/// Plugin packages built in this workspace: (package, library name).
const PLUGINS: &[(&str, &str)] = &[("qscore-cpu", "qscore_plugin_cpu")];

fn plugins() -> Vec<Arc<Plugin>> {
    let packages: Vec<&str> = PLUGINS.iter().map(|(p, _)| *p).collect();
    support::build(&packages);
    PLUGINS
        .iter()
        .map(|(_, lib)| Arc::new(load_plugin(&support::library(lib)).expect("plugin loads")))
        .filter(|p| {
            if p.devices().is_empty() {
                eprintln!(
                    "skipping {}: no devices ({})",
                    p.identity().name,
                    p.device_note()
                );
                false
            } else {
                true
            }
        })
        .collect()
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
        let mut references: Vec<&str> = pairs
            .iter()
            .map(|p| p["reference"].as_str().unwrap())
            .collect();
        references.dedup();
        for reference_name in references {
            let reference =
                decode_image(&support::data(&format!("images/{reference_name}"))).unwrap();
            for metric in ["psnr", "ssim", "ssimulacra2", "butteraugli"] {
                let spec = TaskSpec::new(
                    metric,
                    reference.width,
                    reference.height,
                    reference.format,
                    MemoryMode::FULL,
                );
                let mut session = plugin.open_session(0, &spec).unwrap();
                // Prepared once, compared with every distortion of this reference.
                let prepared = reference.with_view(|v| session.prepare(v)).unwrap();
                for pair in pairs.iter().filter(|p| p["reference"] == reference_name) {
                    let distorted_name = pair["distorted"].as_str().unwrap();
                    let distorted =
                        decode_image(&support::data(&format!("images/{distorted_name}"))).unwrap();
                    let scores = distorted
                        .with_view(|v| session.compare(prepared, v))
                        .unwrap();
                    for score in scores {
                        let (_, golden_key) = values
                            .iter()
                            .find(|(n, _)| *n == score.name.as_str())
                            .unwrap();
                        let expected = pair[*golden_key].as_f64().unwrap();
                        checker.check(
                            &name,
                            score.name.as_str(),
                            distorted_name,
                            score.value,
                            expected,
                        );
                    }
                }
            }
        }
        checker.finish(pairs.len() * values.len());
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
        for (case, dist) in [("distorted", &distorted), ("identity", &reference)] {
            for (metric, value, key, golden_key) in features {
                let spec =
                    TaskSpec::new(metric, width, height, reference[0].format, MemoryMode::FULL);
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
                    &format!("{case} frames"),
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
                checker.check(&name, key, &format!("{case} clip"), mean, expected);
            }
        }
        checker.finish(2 * 2 * features.len());
    }
}
