//! Lower rungs of a bitrate ladder scored against their source with `--scale`: each
//! distorted clip is decoded to the reference's size and pixel format by ffmpeg's scaler.
//! The oracle is the usual pipeline: the same clips upscaled by ffmpeg beforehand (bicubic,
//! to the reference's format), then scored by libvmaf itself (the libvmaf plugin).

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

/// A folder with the CPU and libvmaf plugins.
fn plugins() -> PathBuf {
    support::cpu_libvmaf_dir()
}

fn qscore(plugins: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(args)
        .args(["--no-bench", "--no-default-plugins", "--plugin-dir"])
        .arg(plugins)
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore")
}

/// Every clip's per-frame values, one JSON line per clip.
fn frames(out: &Output) -> Vec<Vec<Value>> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["frames"].as_array().expect("frames").clone()
        })
        .collect()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// The rungs: an H.264 encode at half size, a Y4M at an odd smaller size, and a Y4M of the
/// reference's size in 10-bit 4:4:4 (only its format differs); and each upscaled beforehand.
fn rungs(dir: &Path, reference: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let r = path(reference);
    let made = [
        (
            "half.mp4",
            "scale=160:90",
            &["-c:v", "libx264", "-crf", "30", "-pix_fmt", "yuv420p"][..],
        ),
        ("odd.y4m", "scale=242:135", &["-pix_fmt", "yuv420p"][..]),
        (
            "deep.y4m",
            "null",
            &["-pix_fmt", "yuv444p10le", "-strict", "-1"][..],
        ),
    ];
    let (mut rungs, mut upscaled) = (Vec::new(), Vec::new());
    for (name, filter, codec) in made {
        let out = dir.join(name);
        let mut args = vec!["-i", &r, "-vf", filter];
        args.extend(codec);
        let o = path(&out);
        args.push(&o);
        support::ffmpeg(&args);
        let up = dir.join(format!("{name}.up.y4m"));
        support::ffmpeg(&[
            "-i",
            &o,
            "-vf",
            "scale=320:180:flags=bicubic",
            "-pix_fmt",
            "yuv420p",
            &path(&up),
        ]);
        rungs.push(out);
        upscaled.push(up);
    }
    (rungs, upscaled)
}

/// A 320×180 reference of `frames` frames, `ref.y4m` in `dir`.
fn source(dir: &Path, frames: u32) -> PathBuf {
    let reference = dir.join("ref.y4m");
    support::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25",
        "-frames:v",
        &frames.to_string(),
        "-pix_fmt",
        "yuv420p",
        &path(&reference),
    ]);
    reference
}

/// Features equal, VMAF within 5e-5 (as `native_vmaf.rs` holds the CPU plugin to libvmaf).
fn assert_equal(ours: &[Vec<Value>], oracle: &[Vec<Value>], what: &str) {
    assert_eq!(ours.len(), oracle.len(), "{what}");
    for (clip, (o, l)) in ours.iter().zip(oracle).enumerate() {
        assert_eq!(o.len(), l.len(), "{what} clip {clip}");
        for (frame, (o, l)) in o.iter().zip(l).enumerate() {
            for f in support::VMAF_FEATURES {
                assert_eq!(o[f], l[f], "{what} clip {clip} frame {frame} {f}");
            }
            let (a, b) = (o["vmaf"].as_f64().unwrap(), l["vmaf"].as_f64().unwrap());
            assert!(
                (a - b).abs() <= 5e-5,
                "{what} clip {clip} frame {frame}: {a} vs {b}"
            );
        }
    }
}

#[test]
fn scaled_rungs_equal_libvmaf_on_the_clips_upscaled_beforehand() {
    let dir = support::scratch("test-scaled-video", "rungs");
    let reference = source(&dir, 8);
    let (rungs, upscaled) = rungs(&dir, &reference);
    let plugins = plugins();
    let r = path(&reference);
    let score = |clips: &[PathBuf], extra: &[&str]| {
        let clips: Vec<String> = clips.iter().map(|c| path(c)).collect();
        let mut args = vec!["score", &r];
        args.extend(clips.iter().map(String::as_str));
        args.extend(["--metric", "vmaf", "--per-frame", "--json"]);
        args.extend(extra);
        qscore(&plugins, &args)
    };
    let oracle = frames(&score(
        &upscaled,
        &["--backend", "libvmaf", "--param", "vmaf.simd=false"],
    ));
    // qscore's own VMAF, the clips read in lock step through one decoder.
    let ours = frames(&score(&rungs, &["--backend", "cpu", "--scale", "bicubic"]));
    assert_equal(&ours, &oracle, "cpu");
    // libvmaf itself fed the scaled frames (its clip sessions open each pair alone).
    let libvmaf = frames(&score(
        &rungs,
        &[
            "--backend",
            "libvmaf",
            "--param",
            "vmaf.simd=false",
            "--scale",
            "bicubic",
        ],
    ));
    assert_equal(&libvmaf, &oracle, "libvmaf");
    // Another scaler gives other frames, so the choice is not ignored.
    let lanczos = frames(&score(
        &rungs[..1],
        &["--backend", "cpu", "--scale", "lanczos"],
    ));
    assert_ne!(lanczos[0][0]["vif_scale0"], ours[0][0]["vif_scale0"]);
    // Without --scale, each rung fails alone, naming the flag.
    let refused = score(&rungs, &["--backend", "cpu"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    for rung in &rungs {
        assert!(stderr.contains(&path(rung)), "{stderr}");
    }
    assert!(stderr.contains("--scale bicubic"), "{stderr}");
}

#[test]
fn a_batch_scales_as_score_does_and_records_the_scaler() {
    let dir = support::scratch("test-scaled-video", "batch");
    let reference = source(&dir, 6);
    let (rungs, _) = rungs(&dir, &reference);
    let plugins = plugins();
    let mut manifest = String::from("reference,distorted\n");
    for rung in &rungs {
        manifest.push_str(&format!(
            "ref.y4m,{}\n",
            rung.file_name().unwrap().to_string_lossy()
        ));
    }
    let list = dir.join("pairs.csv");
    std::fs::write(&list, manifest).unwrap();
    let out = dir.join("scores.jsonl");
    let batch = |scaler: &str| {
        qscore(
            &plugins,
            &[
                "batch",
                &path(&list),
                "-o",
                &path(&out),
                "--metric",
                "vmaf",
                "--backend",
                "cpu",
                "--scale",
                scaler,
                "--quiet",
            ],
        )
    };
    let ran = batch("bicubic");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let r = path(&reference);
    for (row, rung) in rows.iter().zip(&rungs) {
        let scored = qscore(
            &plugins,
            &[
                "score",
                &r,
                &path(rung),
                "--metric",
                "vmaf",
                "--backend",
                "cpu",
                "--scale",
                "bicubic",
                "--json",
            ],
        );
        let line: Value = serde_json::from_slice(&scored.stdout).unwrap();
        assert_eq!(row["vmaf"], line["scores"]["vmaf"], "{}", path(rung));
    }
    // The scaler is part of what made the table: another one is refused on resume.
    let meta = std::fs::read_to_string(dir.join("scores.jsonl.meta.json")).unwrap();
    assert!(meta.contains("bicubic"), "{meta}");
    let other = batch("lanczos");
    assert_eq!(other.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("scale"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
}
