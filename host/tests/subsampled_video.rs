//! `--subsample N` scores frames 0, N, 2N, … as libvmaf's `n_subsample` does: every frame
//! is read, so a scored frame's values (VMAF's motion included) are those libvmaf gives it
//! without subsampling, and the means are over the scored frames. The oracle is libvmaf
//! itself (the libvmaf plugin) scoring every frame.

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

fn qscore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(args)
        .args(["--no-bench", "--no-default-plugins", "--plugin-dir"])
        .arg(support::cpu_libvmaf_dir())
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore")
}

fn json_line(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// A 10-frame reference and a noisy, blurred copy, as Y4M.
fn clips(dir: &Path) -> (PathBuf, PathBuf) {
    let (reference, distorted) = (dir.join("ref.y4m"), dir.join("dist.y4m"));
    support::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=176x144:rate=25",
        "-frames:v",
        "10",
        "-pix_fmt",
        "yuv420p",
        &path(&reference),
    ]);
    support::ffmpeg(&[
        "-i",
        &path(&reference),
        "-vf",
        "noise=alls=20:allf=t,gblur=sigma=1",
        &path(&distorted),
    ]);
    (reference, distorted)
}

fn vmaf_of(frame: &Value) -> f64 {
    frame["vmaf"].as_f64().unwrap()
}

#[test]
fn every_nth_frame_is_scored_with_libvmafs_values_for_it() {
    let dir = support::scratch("test-subsampled-video", "score");
    let (reference, distorted) = clips(&dir);
    let (r, d) = (path(&reference), path(&distorted));
    let score = |extra: &[&str]| {
        let mut args = vec!["score", &r, &d, "--metric", "vmaf", "--per-frame", "--json"];
        args.extend(extra);
        json_line(&qscore(&args))
    };
    let oracle = score(&["--backend", "libvmaf", "--param", "vmaf.simd=false"]);
    let every: Vec<&Value> = oracle["frames"].as_array().unwrap().iter().collect();
    assert_eq!(every.len(), 10);
    for backend in [
        &["--backend", "cpu"][..],
        &["--backend", "libvmaf", "--param", "vmaf.simd=false"],
    ] {
        let mut args = backend.to_vec();
        args.extend(["--subsample", "3"]);
        let ours = score(&args);
        assert_eq!(
            ours["frame_numbers"],
            serde_json::json!([0, 3, 6, 9]),
            "{backend:?}"
        );
        assert_eq!(ours["frame_count"], 4);
        let frames = ours["frames"].as_array().unwrap();
        let mut sum = 0.0;
        for (frame, n) in frames.iter().zip([0, 3, 6, 9]) {
            let expected = every[n];
            for f in support::VMAF_FEATURES {
                assert_eq!(frame[f], expected[f], "{backend:?} frame {n} {f}");
            }
            assert!(
                (vmaf_of(frame) - vmaf_of(expected)).abs() <= 5e-5,
                "{backend:?} frame {n}"
            );
            sum += vmaf_of(expected);
        }
        let mean = ours["scores"]["vmaf"].as_f64().unwrap();
        assert!((mean - sum / 4.0).abs() <= 5e-5, "{backend:?}: mean {mean}");
    }
    // libvmaf's JSON log numbers the scored frames as libvmaf does.
    let log = dir.join("log.json");
    let out = qscore(&[
        "score",
        &r,
        &d,
        "--metric",
        "vmaf",
        "--backend",
        "cpu",
        "--subsample",
        "4",
        "--libvmaf-json",
        &path(&log),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&log).unwrap()).unwrap();
    let numbers: Vec<u64> = log["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["frameNum"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [0, 4, 8]);
    // Nought is no subsampling to speak of.
    let zero = qscore(&["score", &r, &d, "--metric", "vmaf", "--subsample", "0"]);
    assert_eq!(zero.status.code(), Some(1), "a usage error");
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--subsample"));
}

#[test]
fn a_batch_subsamples_as_score_does_and_records_it() {
    let dir = support::scratch("test-subsampled-video", "batch");
    let (reference, distorted) = clips(&dir);
    let list = dir.join("pairs.csv");
    std::fs::write(&list, "reference,distorted\nref.y4m,dist.y4m\n").unwrap();
    let out = dir.join("scores.jsonl");
    let batch = |n: &str| {
        qscore(&[
            "batch",
            &path(&list),
            "-o",
            &path(&out),
            "--metric",
            "vmaf",
            "--backend",
            "cpu",
            "--subsample",
            n,
            "--quiet",
        ])
    };
    let ran = batch("2");
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let row: Value = serde_json::from_str(
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let scored = json_line(&qscore(&[
        "score",
        &path(&reference),
        &path(&distorted),
        "--metric",
        "vmaf",
        "--backend",
        "cpu",
        "--subsample",
        "2",
        "--json",
    ]));
    assert_eq!(row["vmaf"], scored["scores"]["vmaf"]);
    let other = batch("3");
    assert_eq!(
        other.status.code(),
        Some(1),
        "another subsampling on the same output"
    );
    assert!(String::from_utf8_lossy(&other.stderr).contains("subsample"));
}
