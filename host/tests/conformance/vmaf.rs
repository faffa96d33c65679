//! VMAF's integer features are bit-identical on every backend: each plugin's values for every
//! frame equal the CPU plugin's exactly (no tolerance is declared for them), and the CPU
//! plugin's means match libvmaf's golden values (`video/golden.json`, printed to 4 decimal
//! places by Netflix's suite).

use std::sync::Arc;

use qscore_core::{ChromaSubsampling, MemoryMode, OwnedImage, Param, PixelFormat, TaskSpec};
use qscore_host::Plugin;

/// VMAF's metrics with the parameters each is scored under here.
const RUNS: &[(&str, &[(&str, &str)])] = &[
    ("vmaf", &[]),
    ("vmaf", &[("motion_version", "3.2.0")]),
    ("vmaf", &[("model", "vmaf_v0.6.1neg")]),
    (
        "vmaf",
        &[("enable_transform", "true"), ("disable_clip", "true")],
    ),
    ("vif", &[]),
    ("adm", &[]),
    (
        "adm",
        &[("enhn_gain_limit", "1.5"), ("norm_view_dist", "4.5")],
    ),
    ("motion", &[]),
    ("motion2", &[("motion_version", "3.2.0")]),
];

/// Every value of every frame of `frames` pairs scored as a clip by `plugin`.
fn clip_values(
    plugin: &Arc<Plugin>,
    spec: &TaskSpec,
    frames: &[(OwnedImage, OwnedImage)],
) -> Vec<Vec<(String, f64)>> {
    let mut clip = plugin.open_clip(0, spec).expect("clip opens");
    for (r, d) in frames {
        r.with_view(|rv| d.with_view(|dv| clip.push(rv, dv)))
            .unwrap();
    }
    let scores = clip.finish().unwrap();
    scores
        .frames
        .iter()
        .map(|f| f.iter().map(|v| (v.name.to_string(), v.value)).collect())
        .collect()
}

/// A deterministic clip: a gradient that moves a little each frame, with noise, and a
/// distorted copy (blurred, quantised, offset), `frames` pairs of `width × height`.
pub(crate) fn made_clip(
    format: PixelFormat,
    (width, height): (u32, u32),
    frames: usize,
) -> Vec<(OwnedImage, OwnedImage)> {
    let (subsampling, bits) = format.as_yuv().expect("a YUV format");
    let (sx, sy) = subsampling.shifts();
    let max = (1u32 << bits) - 1;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 23) as u32
    };
    let sample = |v: u32| -> Vec<u8> {
        if bits > 8 {
            (v.min(max) as u16).to_ne_bytes().to_vec()
        } else {
            vec![v.min(max) as u8]
        }
    };
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(1 << sx), h.div_ceil(1 << sy));
    (0..frames)
        .map(|t| {
            let mut reference = Vec::new();
            let mut distorted = Vec::new();
            for y in 0..h {
                for x in 0..w {
                    let v = ((x * 5 + y * 3 + t * 7) as u32 * max / (5 * w + 3 * h) as u32)
                        + noise() * max / 255;
                    reference.extend(sample(v));
                    let d = (v / 4) * 4 + ((x + y + t) % 3) as u32 * max / 255;
                    distorted.extend(sample(d));
                }
            }
            let chroma: Vec<u8> = (0..cw * ch).flat_map(|_| sample(max / 2)).collect();
            let image = |luma: Vec<u8>| OwnedImage {
                format,
                width,
                height,
                planes: vec![luma, chroma.clone(), chroma.clone()],
            };
            (image(reference), image(distorted))
        })
        .collect()
}

fn spec_of(metric: &str, params: &[(&str, &str)], image: &OwnedImage) -> TaskSpec {
    let mut spec = TaskSpec::new(
        metric,
        image.width,
        image.height,
        image.format,
        MemoryMode::FULL,
    );
    for (key, value) in params {
        spec.params.push(Param {
            key: (*key).into(),
            value: (*value).into(),
        });
    }
    spec
}

#[test]
fn vmaf_features_are_bit_identical_on_every_backend() {
    let plugins = super::plugins();
    let cpu = plugins
        .iter()
        .find(|p| p.identity().name.as_str() == "cpu")
        .expect("the CPU plugin");
    let sample: Vec<(OwnedImage, OwnedImage)> = {
        let (w, h) = (576, 324);
        let r = super::read_yuv420p10(
            &super::support::data("video/src01_hrc00_576x324.yuv420p10le.yuv"),
            w,
            h,
            3,
        );
        let d = super::read_yuv420p10(
            &super::support::data("video/src01_hrc01_576x324.yuv420p10le.yuv"),
            w,
            h,
            3,
        );
        r.into_iter().zip(d).collect()
    };
    let clips = [
        ("the Netflix sample pair", sample),
        (
            "8-bit 4:4:4 67x45",
            made_clip(PixelFormat::yuv(ChromaSubsampling::Yuv444, 8), (67, 45), 5),
        ),
        (
            "10-bit 4:2:0 97x54",
            made_clip(PixelFormat::yuv(ChromaSubsampling::Yuv420, 10), (97, 54), 4),
        ),
    ];
    let mut compared = 0;
    let mut failures = Vec::new();
    for plugin in plugins.iter().filter(|p| !Arc::ptr_eq(p, cpu)) {
        let name = plugin.identity().name.to_string();
        for (clip, frames) in &clips {
            for (metric, params) in RUNS {
                if plugin.metric_caps(0, metric).is_none() {
                    failures.push(format!("{name} does not declare {metric}"));
                    continue;
                }
                let spec = spec_of(metric, params, &frames[0].0);
                let expected = clip_values(cpu, &spec, frames);
                let got = clip_values(plugin, &spec, frames);
                compared += 1;
                if got != expected {
                    failures.push(format!(
                        "{name} {metric} {params:?} on {clip}: {got:?}\n  but the CPU plugin gives {expected:?}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{compared} clips compared value for value with the CPU plugin");
}

#[test]
fn the_cpu_plugins_vmaf_matches_libvmaf() {
    let golden = super::golden("video/golden.json");
    let (w, h) = (576, 324);
    let r = super::read_yuv420p10(
        &super::support::data("video/src01_hrc00_576x324.yuv420p10le.yuv"),
        w,
        h,
        3,
    );
    let d = super::read_yuv420p10(
        &super::support::data("video/src01_hrc01_576x324.yuv420p10le.yuv"),
        w,
        h,
        3,
    );
    let frames: Vec<_> = r.into_iter().zip(d).collect();
    let plugins = super::plugins();
    let cpu = plugins
        .iter()
        .find(|p| p.identity().name.as_str() == "cpu")
        .unwrap();
    for (baseline, version) in [
        ("libvmaf_v2.3.1_to_v3.1.0", "2.3.1"),
        ("libvmaf_v3.2.0_and_later", "3.2.0"),
    ] {
        let spec = spec_of("vmaf", &[("motion_version", version)], &frames[0].0);
        let values = clip_values(cpu, &spec, &frames);
        let mean = |name: &str| {
            values
                .iter()
                .map(|f| f.iter().find(|(n, _)| n == name).unwrap().1)
                .sum::<f64>()
                / values.len() as f64
        };
        let expected = &golden[baseline]["distorted"];
        for (ours, theirs) in [
            ("vmaf", "score"),
            ("adm2", "adm2_score"),
            ("motion2", "motion2_score"),
            ("vif_scale0", "vif_scale0_score"),
        ] {
            let g = expected[theirs].as_f64().unwrap();
            // Netflix's suite prints and asserts these to 4 decimal places.
            assert!(
                (mean(ours) - g).abs() <= 5e-5,
                "{baseline} {ours}: {} vs {g}",
                mean(ours)
            );
        }
    }
}
