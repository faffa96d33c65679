//! `qscore bench`, `qscore explain` and the scheduler's command-line switches, with the
//! simulation plugin configured through `QSCORE_SIM_CONFIG`.

mod support;

use std::{path::PathBuf, process::Command};

use serde_json::Value;

fn image(name: &str) -> String {
    support::data(&format!("images/{name}"))
        .display()
        .to_string()
}

/// A plugin directory with the CPU and simulation plugins, and an empty cache directory.
fn setup(test: &str) -> (PathBuf, PathBuf) {
    support::build(&["qscore-cpu", "qscore-sim"]);
    let dir = support::plugin_dir(
        test,
        &[support::cpu_plugin(), support::library("qscore_sim")],
    );
    let cache = dir.join("cache");
    (dir, cache)
}

fn qscore(dir: &PathBuf, cache: &PathBuf, sim_config: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qscore"))
        .arg("--plugin-dir")
        .arg(dir)
        .arg("--no-default-plugins")
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env_remove("QSCORE_PLUGIN_PATH")
        .env("QSCORE_SIM_CONFIG", sim_config)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run qscore")
}

#[test]
fn bench_measures_every_backend_and_writes_the_cache() {
    let (dir, cache) = setup("cli-bench");
    let out = qscore(
        &dir,
        &cache,
        "{}",
        &["bench", "--metric", "psnr", "--budget", "3", "--json"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells = json["cells"].as_array().unwrap();
    let mut measured: Vec<(String, String)> = cells
        .iter()
        .map(|c| {
            (
                c["cell"]["plugin"].as_str().unwrap().to_owned(),
                c["cell"]["mode"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    measured.sort();
    assert_eq!(
        measured,
        [
            ("cpu", "full"),
            ("sim", "full"),
            ("sim", "strip"),
            ("sim", "strip-pair")
        ]
        .map(|(p, m)| (p.to_owned(), m.to_owned()))
    );
    for cell in cells {
        assert!(
            cell["cell"]["samples"].as_array().unwrap().len() >= 2,
            "{cell}"
        );
        assert!(
            cell["cell"]["compare_per_pixel_s"].as_f64().unwrap() > 0.0,
            "{cell}"
        );
    }
    let files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        text.contains("[[cells]]") && text.contains("compare_per_pixel_s"),
        "{text}"
    );
}

#[test]
fn explain_lists_the_ranking_and_every_rejection() {
    let (dir, cache) = setup("cli-explain");
    // 512² RGB needs 7 MiB in full mode: with 6 MiB the simulated GPU can only strip.
    let config = r#"{"total_memory": 6291456}"#;
    let out = qscore(
        &dir,
        &cache,
        config,
        &["explain", &image("flower_512.png"), "--metric", "psnr"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1. cpu/0 full"), "{text}");
    assert!(text.contains("sim/0 strip"), "{text}");
    assert!(text.contains("set aside: sim/0 full: predicted"), "{text}");
    assert!(text.contains("85%"), "{text}");
}

#[test]
fn a_multi_task_run_measures_first_then_reports_reference_reuse() {
    let (dir, cache) = setup("cli-auto-bench");
    let out = qscore(
        &dir,
        &cache,
        "{}",
        &[
            "score",
            &image("flower_512.png"),
            &image("flower_512__jpeg_q10.png"),
            &image("flower_512__jpeg_q85.png"),
            &image("flower_512__blur_s1.png"),
            "--metric",
            "psnr",
            "--workers",
            "1",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("first run here: measuring backends for psnr"),
        "{stderr}"
    );
    assert!(stderr.contains("3 scored, 0 failed"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
    // The second run finds the measurements and does not measure again.
    let again = qscore(
        &dir,
        &cache,
        "{}",
        &[
            "score",
            &image("flower_512.png"),
            &image("flower_512__jpeg_q10.png"),
            &image("flower_512__jpeg_q40.png"),
            "--metric",
            "psnr",
        ],
    );
    assert!(again.status.success());
    assert!(!String::from_utf8_lossy(&again.stderr).contains("measuring"));
}

#[test]
fn no_fallback_reports_the_failed_attempt() {
    let (dir, cache) = setup("cli-strict");
    let config = r#"{"oom_every": 1}"#;
    let args = [
        "score",
        &image("flower_512.png"),
        &image("flower_512__jpeg_q40.png"),
        "--metric",
        "psnr",
        "--backend",
        "sim",
        "--no-bench",
    ];
    let strict: Vec<&str> = args.iter().copied().chain(["--no-fallback"]).collect();
    let out = qscore(&dir, &cache, config, &strict);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed with fallback disabled: sim/0 full: out of memory"),
        "{stderr}"
    );
    // Without --no-fallback the ladder tries the leaner modes before giving up.
    let out = qscore(&dir, &cache, config, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("every backend failed"), "{stderr}");
    assert!(stderr.contains("sim/0 strip-pair"), "{stderr}");
}

/// A clip's frames are the references its backend is chosen for: `explain` reads them from
/// the clip (or `--frames`), and the measured cost of VMAF grows with them.
#[test]
fn explain_weighs_a_clip_by_its_frames() {
    let (dir, cache) = setup("cli-explain-clip");
    let bench = qscore(
        &dir,
        &cache,
        "{}",
        &["bench", "--metric", "vmaf", "--budget", "5"],
    );
    assert!(
        bench.status.success(),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    let reference = support::sample_reference().display().to_string();
    let distorted = support::sample_distorted().display().to_string();
    let explain = |frames: Option<&str>| {
        let mut args = vec![
            "explain",
            &reference,
            &distorted,
            "--metric",
            "vmaf",
            "--size",
            "576x324",
            "--pix-fmt",
            "yuv420p10le",
        ];
        if let Some(n) = frames {
            args.extend(["--frames", n]);
        }
        let out = qscore(&dir, &cache, "{}", &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cost = |text: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.contains("1. cpu/0 full"))
            .expect(text);
        let ms = line.split(": ").nth(1).and_then(|s| s.split(' ').next());
        ms.and_then(|s| s.parse().ok()).expect(line)
    };
    let clip = explain(None);
    assert!(
        clip.contains("576x324 yuv420p10le, 3 reference frame(s), 1 comparison(s)"),
        "{clip}"
    );
    let long = explain(Some("300"));
    assert!(long.contains("300 reference frame(s)"), "{long}");
    let (short, long) = (cost(&clip), cost(&long));
    assert!(
        long > 50.0 * short,
        "3 frames: {short} ms, 300 frames: {long} ms"
    );
}
