//! `qscore` on its own: copied anywhere or installed with `cargo install`, it scores every
//! CPU metric through the CPU plugin built into it, and a CPU plugin file found by the
//! search replaces that one.

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

fn run(exe: &Path, args: &[&str]) -> std::process::Output {
    let mut tries = 0;
    let out = loop {
        match Command::new(exe)
            .args(args)
            .env_remove("QSCORE_PLUGIN_PATH")
            .output()
        {
            // The copy was just written: a process another test forked meanwhile may hold
            // the written file open until it execs ("text file busy").
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.expect("run qscore"),
        }
    };
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        exe.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn plugins(exe: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = extra.to_vec();
    args.extend(["plugins", "--json"]);
    let out = run(exe, &args);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["plugins"].as_array().unwrap().clone()
}

fn image(name: &str) -> String {
    support::data(&format!("images/{name}"))
        .display()
        .to_string()
}

/// PSNR and SSIM of one pair of the shared images, checked against their goldens
/// (scikit-image), and the plugin that scored them.
fn check_scores(exe: &Path, extra: &[&str]) -> Value {
    let mut args = extra.to_vec();
    let (reference, distorted) = (image("flower_512.png"), image("flower_512__jpeg_q10.png"));
    args.extend(["score", &reference, &distorted, "--metric", "psnr,ssim"]);
    args.extend(["--no-bench", "--json"]);
    let out = run(exe, &args);
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(support::data("images/golden.json")).unwrap(),
    )
    .unwrap();
    let golden = golden["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["distorted"] == "flower_512__jpeg_q10.png")
        .unwrap()
        .clone();
    for (key, bound) in [("psnr", 1e-6), ("ssim", 1e-5)] {
        let ours = line["scores"][key].as_f64().unwrap();
        let expected = golden[key].as_f64().unwrap();
        assert!(
            (ours - expected).abs() <= bound,
            "{key}: {ours} vs {expected}"
        );
    }
    line["backend"].clone()
}

/// A folder holding only a copy of the `qscore` executable.
fn lone_qscore(name: &str) -> PathBuf {
    let dir = support::scratch("test-installed", name);
    let exe = dir.join("qscore");
    std::fs::copy(env!("CARGO_BIN_EXE_qscore"), &exe).unwrap();
    exe
}

#[test]
fn a_lone_qscore_scores_with_its_built_in_cpu_plugin() {
    let exe = lone_qscore("lone");
    let found = plugins(&exe, &[]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["name"], "cpu");
    assert_eq!(found[0]["built_in"], true);
    assert_eq!(found[0]["isolated"], false);
    let path = PathBuf::from(found[0]["path"].as_str().unwrap());
    assert_eq!(path, exe.canonicalize().unwrap());
    assert_eq!(check_scores(&exe, &[])["plugin"], "cpu");
    let text = run(&exe, &["plugins"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("built into {}", path.display())),
        "{text}"
    );
}

#[test]
fn the_built_in_plugin_runs_in_worker_processes_when_all_are_isolated() {
    let exe = lone_qscore("isolated");
    let found = plugins(&exe, &["--isolate", "all"]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["built_in"], true);
    assert_eq!(found[0]["isolated"], true);
    assert_eq!(check_scores(&exe, &["--isolate", "all"])["plugin"], "cpu");
}

#[test]
fn a_cpu_plugin_file_replaces_the_built_in_one() {
    let exe = lone_qscore("replaced");
    let file = exe.with_file_name(support::cpu_plugin().file_name().unwrap());
    std::fs::copy(support::cpu_plugin(), &file).unwrap();
    let found = plugins(&exe, &[]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["built_in"], false);
    assert_eq!(
        PathBuf::from(found[0]["path"].as_str().unwrap()),
        file.canonicalize().unwrap()
    );
    // Without the shipped plugins, neither the file nor the built-in one is offered.
    let none = plugins(&exe, &["--no-default-plugins"]);
    assert!(none.is_empty(), "{none:#?}");
}

/// `cargo install` (in the tests' profile, into a folder of its own) gives a `qscore`
/// that scores the bundled sample corpus with no other file.
#[test]
fn cargo_install_gives_a_qscore_that_scores_the_sample_corpus() {
    if std::env::var_os("QSCORE_TEST_PREBUILT").is_some() {
        eprintln!("skipped: no Rust toolchain where the tests were copied");
        return;
    }
    let root = support::scratch("test-installed", "cargo-install");
    let target = support::profile_dir().parent().unwrap().join("install");
    let mut install = Command::new(env!("CARGO"));
    install
        .args(["install", "--quiet", "--locked", "--path"])
        .arg(support::repo_root().join("host"))
        .arg("--root")
        .arg(&root)
        .arg("--target-dir")
        .arg(&target);
    if support::profile_dir()
        .file_name()
        .is_some_and(|n| n != "release")
    {
        install.arg("--debug");
    }
    let status = install.status().expect("run cargo install");
    assert!(status.success(), "cargo install failed");
    let exe = root.join("bin/qscore");
    let installed: Vec<_> = std::fs::read_dir(root.join("bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        installed,
        ["qscore"],
        "cargo install put in only the executable"
    );
    let table = root.join("scores.csv");
    let manifest = support::data("corpus/manifest.csv");
    let out = run(
        &exe,
        &[
            "batch",
            manifest.to_str().unwrap(),
            "-o",
            table.to_str().unwrap(),
            "--metric",
            "psnr,ssim",
            "--quiet",
        ],
    );
    let text = std::fs::read_to_string(&table).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let manifest_rows = std::fs::read_to_string(&manifest).unwrap().lines().count() - 1;
    assert_eq!(
        rows.len(),
        manifest_rows,
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(rows.iter().all(|r| r.contains("=cpu")), "{text}");
}
