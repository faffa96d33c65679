//! qscore's own VMAF (the CPU plugin's integer VIF, ADM and motion and its model code)
//! against libvmaf 2.3.1 as a live oracle (the libvmaf plugin), frame by frame, on the
//! Netflix sample and on clips made here with ffmpeg: 8, 10, 12 and 16 bits, 4:2:0, 4:2:2
//! and 4:4:4, odd sizes, H.264 encodes at several CRFs, noise, blur, a sharpened
//! distorted clip, flat frames and identical pairs, for all three built-in models and with
//! libvmaf's model options (score transform on, clipping off).
//!
//! Every integer feature must equal libvmaf's exactly; the score must be within 5e-5. The
//! oracle runs libvmaf's portable C (`simd=false`), which defines the features: some of
//! libvmaf 2.3.1's x86 code reads past the end of rows at some 8-bit widths (docs/vmaf.md).

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde_json::Value;

/// A reference clip with distorted clips of its geometry, all raw YUV.
struct ClipSet {
    name: &'static str,
    size: String,
    pix_fmt: &'static str,
    reference: PathBuf,
    distorted: Vec<PathBuf>,
}

/// A directory with the CPU and libvmaf plugins only.
fn plugins() -> PathBuf {
    support::cpu_libvmaf_dir()
}

/// Renders `source` (an ffmpeg lavfi graph) to raw `pix_fmt` frames.
fn render(out: &Path, source: &str, frames: u32, pix_fmt: &str) {
    let out = out.display().to_string();
    let frames = frames.to_string();
    support::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        source,
        "-frames:v",
        &frames,
        "-pix_fmt",
        pix_fmt,
        "-f",
        "rawvideo",
        &out,
    ]);
}

/// Raw `reference` through ffmpeg with the options `how` (a filter, say), back to raw frames.
fn distort(reference: &Path, out: &Path, size: &str, pix_fmt: &str, how: &[&str]) {
    let (input, out) = (reference.display().to_string(), out.display().to_string());
    let mut args = vec![
        "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", size, "-i", &input,
    ];
    args.extend_from_slice(how);
    args.extend_from_slice(&["-pix_fmt", pix_fmt, "-f", "rawvideo", &out]);
    support::ffmpeg(&args);
}

/// An H.264 encode of raw `reference` at `crf`, decoded back to raw frames.
fn encode(reference: &Path, out: &Path, size: &str, pix_fmt: &str, crf: &str) {
    let mp4 = out.with_extension("mp4");
    let (input, encoded) = (reference.display().to_string(), mp4.display().to_string());
    support::ffmpeg(&[
        "-f",
        "rawvideo",
        "-pix_fmt",
        pix_fmt,
        "-s",
        size,
        "-i",
        &input,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        crf,
        &encoded,
    ]);
    let out = out.display().to_string();
    support::ffmpeg(&["-i", &encoded, "-pix_fmt", pix_fmt, "-f", "rawvideo", &out]);
}

/// The clip sets, made once per test process.
fn clip_sets() -> &'static [ClipSet] {
    static SETS: OnceLock<Vec<ClipSet>> = OnceLock::new();
    SETS.get_or_init(|| {
        let dir = support::scratch("test-native-vmaf", "clips");
        let mut sets = vec![ClipSet {
            name: "netflix 576x324 yuv420p10le",
            size: "576x324".into(),
            pix_fmt: "yuv420p10le",
            reference: support::data("video/src01_hrc00_576x324.yuv420p10le.yuv"),
            distorted: vec![
                support::data("video/src01_hrc01_576x324.yuv420p10le.yuv"),
                support::data("video/src01_hrc00_576x324.yuv420p10le.yuv"),
            ],
        }];
        let made = [
            ("8-bit 4:2:0 odd size", 353, 241, "yuv420p", false),
            // H.264 takes even sizes only.
            ("8-bit 4:2:0 H.264", 384, 216, "yuv420p", true),
            ("10-bit 4:4:4", 160, 120, "yuv444p10le", false),
            ("12-bit 4:2:2 odd size", 131, 97, "yuv422p12le", false),
            ("16-bit 4:2:0", 176, 144, "yuv420p16le", false),
        ];
        for (name, w, h, pix_fmt, h264) in made {
            let size = format!("{w}x{h}");
            let tag = pix_fmt.to_owned() + &size;
            let reference = dir.join(format!("{tag}_ref.yuv"));
            render(
                &reference,
                &format!("testsrc2=size={size}:rate=25,format=rgb24"),
                5,
                pix_fmt,
            );
            let mut distorted = Vec::new();
            let mut add = |suffix: &str, how: &[&str]| {
                let out = dir.join(format!("{tag}_{suffix}.yuv"));
                distort(&reference, &out, &size, pix_fmt, how);
                distorted.push(out);
            };
            add("noise", &["-vf", "noise=alls=25:allf=t"]);
            add("blur", &["-vf", "gblur=sigma=1.5"]);
            add("sharper", &["-vf", "unsharp=5:5:2.0"]);
            add("same", &[]);
            if h264 {
                for crf in ["20", "35", "51"] {
                    let out = dir.join(format!("{tag}_crf{crf}.yuv"));
                    encode(&reference, &out, &size, pix_fmt, crf);
                    distorted.push(out);
                }
            }
            sets.push(ClipSet {
                name,
                size,
                pix_fmt,
                reference,
                distorted,
            });
        }
        // Flat frames: a grey reference against a brighter grey and against itself.
        let flat = dir.join("flat_ref.yuv");
        render(&flat, "color=c=0x808080:size=96x64:rate=25", 3, "yuv420p");
        let brighter = dir.join("flat_brighter.yuv");
        render(
            &brighter,
            "color=c=0x909090:size=96x64:rate=25",
            3,
            "yuv420p",
        );
        sets.push(ClipSet {
            name: "flat 8-bit",
            size: "96x64".into(),
            pix_fmt: "yuv420p",
            reference: flat.clone(),
            distorted: vec![brighter, flat],
        });
        sets
    })
}

/// Per-frame values of every distorted clip of `set`, scored by `backend` with `model`
/// and the `vmaf` parameters `flags`.
fn per_frame(set: &ClipSet, backend: &str, model: &str, flags: &[&str]) -> Vec<Vec<Value>> {
    let model = format!("vmaf.model={model}");
    let mut params: Vec<&str> = vec![&model];
    params.extend(flags);
    if backend == "libvmaf" {
        params.push("vmaf.simd=false");
    }
    per_frame_of(set, backend, "vmaf", &params)
}

/// Per-frame values of `metric` for every distorted clip of `set`, scored by `backend`.
fn per_frame_of(set: &ClipSet, backend: &str, metric: &str, params: &[&str]) -> Vec<Vec<Value>> {
    let out = Command::new(env!("CARGO_BIN_EXE_qscore"))
        .arg("score")
        .arg(&set.reference)
        .args(&set.distorted)
        .args(["--size", &set.size, "--pix-fmt", set.pix_fmt])
        .args([
            "--metric",
            metric,
            "--backend",
            backend,
            "--per-frame",
            "--json",
        ])
        .args(params.iter().flat_map(|p| ["--param", p]))
        .args(["--no-bench", "--no-default-plugins", "--plugin-dir"])
        .arg(plugins())
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore");
    assert!(
        out.status.success(),
        "{} on {backend}: {}",
        set.name,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).expect("one JSON object per line");
            line["frames"].as_array().expect("frames").clone()
        })
        .collect()
}

/// Every frame's features and score from the CPU plugin against libvmaf's; returns the
/// scores seen.
fn compare_with_libvmaf(model: &str, flags: &[&str]) -> Vec<f64> {
    let mut worst_vmaf = 0.0f64;
    let mut mismatches = Vec::new();
    let mut scores = Vec::new();
    for set in clip_sets() {
        let ours = per_frame(set, "cpu", model, flags);
        let oracle = per_frame(set, "libvmaf", model, flags);
        assert_eq!(ours.len(), oracle.len(), "{}", set.name);
        for (clip, (ours, oracle)) in ours.iter().zip(&oracle).enumerate() {
            assert_eq!(ours.len(), oracle.len(), "{} clip {clip}", set.name);
            for (frame, (o, l)) in ours.iter().zip(oracle).enumerate() {
                let value = |v: &Value, k: &str| {
                    v[k].as_f64()
                        .unwrap_or_else(|| panic!("{}: {k} missing in {v}", set.name))
                };
                for feature in support::VMAF_FEATURES {
                    let (a, b) = (value(o, feature), value(l, feature));
                    if a != b {
                        mismatches.push(format!(
                            "{} ({}) clip {clip} frame {frame} {feature}: ours {a:?}, libvmaf {b:?}",
                            set.name, model
                        ));
                    }
                }
                scores.push(value(l, "vmaf"));
                let d = (value(o, "vmaf") - value(l, "vmaf")).abs();
                worst_vmaf = worst_vmaf.max(d);
                if d > 5e-5 {
                    mismatches.push(format!(
                        "{} ({model}) clip {clip} frame {frame} vmaf: ours {}, libvmaf {}",
                        set.name,
                        value(o, "vmaf"),
                        value(l, "vmaf")
                    ));
                }
            }
        }
    }
    eprintln!("{model} {flags:?}: largest |vmaf difference| {worst_vmaf:e}");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    scores
}

#[test]
fn vmaf_v0_6_1_equals_libvmaf_frame_by_frame() {
    compare_with_libvmaf("vmaf_v0.6.1", &[]);
}

#[test]
fn vmaf_v0_6_1neg_equals_libvmaf_frame_by_frame() {
    compare_with_libvmaf("vmaf_v0.6.1neg", &[]);
}

#[test]
fn vmaf_4k_v0_6_1_equals_libvmaf_frame_by_frame() {
    compare_with_libvmaf("vmaf_4k_v0.6.1", &[]);
}

/// libvmaf's model options: the score transform forced on (vmaf_v0.6.1's phone model) and
/// clipping off. Each must change some frame's score, or the comparison proves nothing.
#[test]
fn model_options_equal_libvmafs_frame_by_frame() {
    let plain = compare_with_libvmaf("vmaf_v0.6.1", &[]);
    let phone = compare_with_libvmaf("vmaf_v0.6.1", &["vmaf.enable_transform=true"]);
    assert!(
        plain.iter().zip(&phone).any(|(a, b)| b > a),
        "the phone model raised no score"
    );
    let unclipped = compare_with_libvmaf(
        "vmaf_v0.6.1",
        &["vmaf.enable_transform=true", "vmaf.disable_clip=true"],
    );
    assert!(
        unclipped.iter().any(|&v| v > 100.0),
        "no frame went past 100 unclipped: {unclipped:?}"
    );
}

/// `adm`'s per-scale values, which VMAF's models do not read, against libvmaf's debug output.
#[test]
fn adm_scales_equal_libvmaf_frame_by_frame() {
    let mut mismatches = Vec::new();
    for set in clip_sets() {
        let ours = per_frame_of(set, "cpu", "adm", &[]);
        let oracle = per_frame_of(set, "libvmaf", "libvmaf_adm", &["libvmaf_adm.simd=false"]);
        for (clip, (ours, oracle)) in ours.iter().zip(&oracle).enumerate() {
            assert_eq!(ours.len(), oracle.len(), "{} clip {clip}", set.name);
            for (frame, (o, l)) in ours.iter().zip(oracle).enumerate() {
                for name in [
                    "adm2",
                    "adm_scale0",
                    "adm_scale1",
                    "adm_scale2",
                    "adm_scale3",
                ] {
                    let a = o[name].as_f64().expect("ours");
                    let b = l[format!("libvmaf_{name}")].as_f64().expect("libvmaf's");
                    if a != b {
                        mismatches.push(format!(
                            "{} clip {clip} frame {frame} {name}: ours {a:?}, libvmaf {b:?}",
                            set.name
                        ));
                    }
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
