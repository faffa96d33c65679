//! The `qscore` command as a user runs it.

mod support;

use std::{path::PathBuf, process::Command};

use serde_json::Value;

fn qscore(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(args)
        .arg("--plugin-dir")
        .arg(support::cpu_only_dir())
        .arg("--no-default-plugins")
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore")
}

fn image(name: &str) -> String {
    support::data(&format!("images/{name}"))
        .display()
        .to_string()
}

fn golden_pair(distorted: &str) -> Value {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(support::data("images/golden.json")).unwrap(),
    )
    .unwrap();
    golden["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["distorted"] == distorted)
        .cloned()
        .unwrap()
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// A scratch directory for bad inputs.
fn scratch(name: &str) -> PathBuf {
    support::scratch("test-cli", name)
}

#[test]
fn json_lines_carry_reference_distorted_backend_and_scores() {
    let out = qscore(&[
        "score",
        &image("flower_512.png"),
        &image("flower_512__jpeg_q10.png"),
        &image("flower_512__noise_a12.png"),
        "--metric",
        "psnr,ssim,ssimulacra2",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    for (line, name) in lines
        .iter()
        .zip(["flower_512__jpeg_q10.png", "flower_512__noise_a12.png"])
    {
        assert_eq!(line["reference"], image("flower_512.png"));
        assert_eq!(line["distorted"], image(name));
        assert_eq!(line["backend"]["plugin"], "cpu");
        assert!(
            line["backend"]["device"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
        let golden = golden_pair(name);
        let scores = line["scores"].as_object().unwrap();
        assert_eq!(scores.len(), 3, "{scores:?}");
        for (key, bound) in [("psnr", 1e-6), ("ssim", 1e-5), ("ssimulacra2", 1e-4)] {
            let ours = scores[key].as_f64().unwrap();
            let expected = golden[key].as_f64().unwrap();
            assert!(
                (ours - expected).abs() <= bound,
                "{name} {key}: {ours} vs {expected}"
            );
        }
    }
}

#[test]
fn an_output_name_selects_only_that_value() {
    let out = qscore(&[
        "score",
        &image("flower_517x389.png"),
        &image("flower_517x389__blur_s1.png"),
        "--metric",
        "butteraugli_pnorm3",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = &json_lines(&out.stdout)[0];
    let scores = line["scores"].as_object().unwrap();
    assert_eq!(scores.keys().collect::<Vec<_>>(), ["butteraugli_pnorm3"]);
    let expected = golden_pair("flower_517x389__blur_s1.png")["butteraugli_pnorm3"]
        .as_f64()
        .unwrap();
    let ours = scores["butteraugli_pnorm3"].as_f64().unwrap();
    assert!(
        (ours - expected).abs() <= 1e-4 * expected,
        "{ours} vs {expected}"
    );
}

#[test]
fn bad_inputs_are_named_and_the_good_ones_still_scored() {
    let dir = scratch("bad-inputs");
    let text = dir.join("not_an_image.png");
    std::fs::write(&text, "hello, I am text").unwrap();
    let empty = dir.join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let truncated = dir.join("truncated.png");
    let png = std::fs::read(support::data("images/flower_512__jpeg_q85.png")).unwrap();
    std::fs::write(&truncated, &png[..png.len() / 3]).unwrap();
    let missing = dir.join("missing.png");
    let (text, empty, truncated, missing, folder) = (
        text.display().to_string(),
        empty.display().to_string(),
        truncated.display().to_string(),
        missing.display().to_string(),
        dir.display().to_string(),
    );
    let other_size = image("flower_517x389__jpeg_q40.png");
    let good = image("flower_512__jpeg_q40.png");
    let out = qscore(&[
        "score",
        &image("flower_512.png"),
        &missing,
        &text,
        &good,
        &other_size,
        &empty,
        &truncated,
        &folder,
        "--metric",
        "psnr",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(2), "some inputs failed: exit 2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("qscore: error:"))
        .collect();
    assert_eq!(errors.len(), 6, "{stderr}");
    for (path, problem) in [
        (&missing, "No such file"),
        (&text, "Invalid PNG signature"),
        (&other_size, "is 517x389 but the reference"),
        (&empty, "empty"),
        (&truncated, "cannot decode"),
        (&folder, "directory"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(path.as_str()) && e.contains(problem)),
            "no error naming {path} with {problem:?} in:\n{stderr}"
        );
    }
    let lines = json_lines(&out.stdout);
    let scored: Vec<&Value> = lines.iter().filter(|l| l.get("scores").is_some()).collect();
    assert_eq!(scored.len(), 1);
    assert_eq!(scored[0]["distorted"], good.as_str());
    let expected = golden_pair("flower_512__jpeg_q40.png")["psnr"]
        .as_f64()
        .unwrap();
    assert!((scored[0]["scores"]["psnr"].as_f64().unwrap() - expected).abs() < 1e-6);
    assert_eq!(lines.iter().filter(|l| l.get("error").is_some()).count(), 6);
}

#[test]
fn an_unknown_metric_fails_fast_and_lists_what_exists() {
    let out = qscore(&[
        "score",
        &image("flower_512.png"),
        &image("flower_512__blur_s1.png"),
        "--metric",
        "psnr,vmaff",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown metric \"vmaff\""), "{stderr}");
    assert!(stderr.contains("ssimulacra2"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn an_unusable_reference_fails_the_command() {
    let out = qscore(&[
        "score",
        "/nonexistent/ref.png",
        &image("flower_512__blur_s1.png"),
        "--metric",
        "psnr",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/ref.png"), "{stderr}");
}

#[test]
fn an_unknown_backend_is_refused_with_the_reason() {
    let out = qscore(&[
        "score",
        &image("flower_512.png"),
        &image("flower_512__blur_s1.png"),
        "--metric",
        "psnr",
        "--backend",
        "quantum",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no plugin named \"quantum\""), "{stderr}");
}

#[test]
fn the_table_shows_every_requested_value() {
    let out = qscore(&[
        "score",
        &image("flower_512.png"),
        &image("flower_512__rescale_half.png"),
        "--metric",
        "ms_ssim,butteraugli",
        "--backend",
        "cpu",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for column in [
        "ms_ssim",
        "butteraugli",
        "butteraugli_pnorm3",
        "flower_512__rescale_half.png",
    ] {
        assert!(stdout.contains(column), "{column} missing from:\n{stdout}");
    }
}

#[test]
fn plugins_lists_the_cpu_plugin_with_live_memory() {
    let out = qscore(&["plugins", "--json"]);
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cpu = json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cpu")
        .expect("cpu plugin");
    assert_eq!(cpu["abi"], qscore_core::AbiVersion::CURRENT.to_string());
    let device = &cpu["devices"][0];
    assert!(device["free_memory"].as_u64().unwrap() > 0);
    let metrics: Vec<&str> = device["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        metrics,
        [
            "psnr",
            "ssim",
            "ms_ssim",
            "ssimulacra2",
            "butteraugli",
            "motion",
            "motion2",
            "vif",
            "adm",
            "vmaf",
        ]
    );
    let motion2 = &device["metrics"][6];
    assert_eq!(motion2["temporal_depth"], 1);
    assert_eq!(motion2["lookahead"], 1);
    assert_eq!(motion2["reusable_reference"], false);
}

#[test]
fn metric_parameters_reach_the_plugin_and_typos_are_refused() {
    let reference = image("flower_512.png");
    let distorted = image("flower_512__blur_s1.png");
    let score = |extra: &[&str]| {
        let mut args = vec![
            "score",
            reference.as_str(),
            distorted.as_str(),
            "--metric",
            "butteraugli",
            "--json",
        ];
        args.extend_from_slice(extra);
        qscore(&args)
    };
    let default = json_lines(&score(&[]).stdout)[0]["scores"]["butteraugli"]
        .as_f64()
        .unwrap();
    let bright = score(&["--param", "butteraugli.intensity_target=250"]);
    assert!(
        bright.status.success(),
        "{}",
        String::from_utf8_lossy(&bright.stderr)
    );
    let bright = json_lines(&bright.stdout)[0]["scores"]["butteraugli"]
        .as_f64()
        .unwrap();
    // A brighter display makes the same blur more visible.
    assert!(bright > default, "{bright} vs {default}");
    let typo = score(&["--param", "butteraugli.intensity=250"]);
    assert_eq!(typo.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("no parameter \"intensity\""));
}

#[test]
fn bench_measures_a_metric_past_the_sizes_it_refuses() {
    // MS-SSIM refuses the bench's 96x96 size; the larger sizes must still be measured.
    let cache = support::profile_dir()
        .join("test-tmp")
        .join("bench-ms-ssim");
    let _ = std::fs::remove_dir_all(&cache);
    let cache_arg = cache.display().to_string();
    let out = qscore(&[
        "bench",
        "--metric",
        "ms_ssim",
        "--json",
        "--cache-dir",
        &cache_arg,
    ]);
    assert!(out.status.success(), "{out:?}");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cell = &json["cells"][0];
    assert_eq!(cell["cell"]["metric"], "ms_ssim", "{json}");
    assert_eq!(
        cell["cell"]["samples"].as_array().unwrap().len(),
        2,
        "{json}"
    );
    assert!(
        cell["note"].as_str().unwrap().contains("skipped 96x96"),
        "{json}"
    );
}

/// A usage error exits 1 with clap's message, in every subcommand: 2 means "some inputs
/// failed, the rest were scored", which a job scheduler may count as done.
#[test]
fn usage_errors_exit_1_in_every_subcommand() {
    let flower = image("flower_512.png");
    let cases: [&[&str]; 9] = [
        &["plugins", "--no-such-flag"],
        &["score", &flower, &flower, "--no-such-flag"],
        &["score"],
        &["batch", "manifest.csv", "-o", "out.csv", "--shard", "16/16"],
        &["batch", "manifest.csv"],
        &["merge", "--no-such-flag"],
        &["bench", "--no-such-flag"],
        &["explain", "--no-such-flag"],
        &["no-such-command"],
    ];
    for args in cases {
        let out = qscore(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error:"),
            "{args:?}: clap's message: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Asking for help or the version is no error.
    for args in [&["--help"][..], &["--version"], &["score", "--help"]] {
        let out = qscore(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

/// `qscore score … | head -1`: once the reader has gone, qscore ends by SIGPIPE, quietly
/// (no panic, no error message), as the other programs of a pipeline do.
#[test]
fn a_closed_output_pipe_ends_qscore_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let (reference, distorted) = (image("flower_512.png"), image("flower_512__jpeg_q10.png"));
    let mut args = vec!["score", &reference];
    args.extend(std::iter::repeat_n(distorted.as_str(), 6));
    args.extend(["--metric", "psnr", "--json", "--no-bench"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(&args)
        .arg("--plugin-dir")
        .arg(support::cpu_only_dir())
        .arg("--no-default-plugins")
        .env_remove("QSCORE_PLUGIN_PATH")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run qscore");
    // The reader leaves before the first line is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for qscore");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}: {stderr}",
        out.status
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
}

/// The log is off by default (the output is the command's own), `-v`/`-vv` or `QSCORE_LOG`
/// turn it on with qscore's own records, `--quiet` drops warnings and keeps the summary,
/// and `-q` with `-v` is a usage error.
#[test]
fn the_log_is_off_unless_asked_for() {
    let args = [
        "score",
        &image("flower_512.png"),
        &image("flower_512__jpeg_q10.png"),
        "--metric",
        "psnr",
        "--no-bench",
    ];
    let stderr = |out: &std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let plain = stderr(&qscore(&args));
    assert!(!plain.contains("qscore: info"), "{plain}");
    let verbose = stderr(&qscore(&[&["-v"][..], &args].concat()));
    assert!(
        verbose.contains("qscore: info qscore_host::loader: loaded plugin cpu"),
        "{verbose}"
    );
    assert!(!verbose.contains("qscore: debug"), "{verbose}");
    let debug = stderr(&qscore(&[&args[..], &["-vv"]].concat()));
    assert!(
        debug.contains("qscore: debug qscore_host::sched"),
        "{debug}"
    );
    let with_log = |level: &str| {
        Command::new(env!("CARGO_BIN_EXE_qscore"))
            .args(args)
            .args(["--no-default-plugins", "--plugin-dir"])
            .arg(support::cpu_only_dir())
            .env("QSCORE_LOG", level)
            .output()
            .unwrap()
    };
    let from_env = with_log("debug");
    assert!(stderr(&from_env).contains("qscore: debug"), "{from_env:?}");
    let bad_env = with_log("loud");
    assert!(stderr(&bad_env).contains("QSCORE_LOG=loud is not a level"));

    // A plugin file that fails to load is a warning, which `--quiet` drops.
    let dir = scratch("quiet");
    std::fs::write(dir.join("libbroken.so"), b"not a library").unwrap();
    let with_broken = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qscore"));
        command
            .args(args)
            .args(extra)
            .args(["--no-default-plugins", "--plugin-dir"])
            .arg(support::cpu_only_dir())
            .arg("--plugin-dir")
            .arg(&dir);
        stderr(&command.output().unwrap())
    };
    let warned = with_broken(&[]);
    assert!(warned.contains("qscore: warning") && warned.contains("libbroken.so"));
    let quiet = with_broken(&["--quiet"]);
    assert!(!quiet.contains("warning"), "{quiet}");
    assert!(quiet.contains("1 scored, 0 failed"), "{quiet}");

    let both = qscore(&[&["-q", "-v"][..], &args].concat());
    assert_eq!(both.status.code(), Some(1), "{both:?}");
}
