//! The Python package as a user gets it: the wheel is built with maturin
//! (`python/build-wheel`), installed into a fresh virtual environment with numpy, pandas,
//! pyarrow, Pillow and pytest from PyPI, and the pytest suite beside this file runs against
//! the installed package (from a folder outside the source tree, so that `import qscore`
//! cannot find the sources instead).
//!
//! Needs Python 3.9+ with `venv` and pip access to PyPI; the README's test command has them.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(what: &str, command: &mut Command) {
    let started = Instant::now();
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot start {command:?}: {e}"));
    assert!(status.success(), "{what} failed: {command:?}");
    eprintln!("{what}: {:.1} s", started.elapsed().as_secs_f64());
}

/// The profile the tests were built in (`debug` or `release`), which the wheel shares.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable lives in <profile>/deps")
        .to_path_buf()
}

#[test]
fn the_wheel_installs_into_a_fresh_environment_and_passes_pytest() {
    if std::env::var_os("QSCORE_TEST_PREBUILT").is_some() {
        eprintln!("skipped: no Rust toolchain where the tests were copied");
        return;
    }
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python");
    let (venv, wheels) = (work.join("venv"), work.join("wheels"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&wheels).unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(
        "fresh virtual environment",
        Command::new(&python).args(["-m", "venv"]).arg(&venv),
    );
    let venv_python = venv.join("bin/python");
    run(
        "pip install (maturin and the test dependencies)",
        Command::new(&venv_python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "maturin",
            "pytest",
            "numpy",
            "pandas",
            "pyarrow",
            "pillow",
        ]),
    );
    let release = profile_dir().file_name().is_some_and(|n| n == "release");
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut build = Command::new(repo_root().join("python/build-wheel"));
    if !release {
        build.arg("--dev");
    }
    run("build the wheel", build.arg(&wheels).env("PATH", &path));
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel was built");
    eprintln!(
        "wheel: {} ({:.1} MiB)",
        wheel.display(),
        std::fs::metadata(&wheel).unwrap().len() as f64 / f64::from(1u32 << 20)
    );
    run(
        "install the wheel",
        Command::new(&venv_python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .arg(&wheel),
    );
    // Plugin files the tests put on QSCORE_PLUGIN_PATH.
    let mut plugins = Command::new(env!("CARGO"));
    plugins
        .args(["build", "--quiet", "-p", "qscore-sim", "-p", "qscore-cpu"])
        .arg("--manifest-path")
        .arg(repo_root().join("Cargo.toml"));
    if release {
        plugins.arg("--release");
    }
    run("build the sim and CPU plugin files", &mut plugins);
    let library = |name: &str| profile_dir().join(format!("lib{name}.so"));
    run(
        "pytest",
        Command::new(&venv_python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
            .arg(repo_root().join("python/tests"))
            .current_dir(&work)
            .env("QSCORE_REPO_ROOT", repo_root())
            .env("QSCORE_CACHE_DIR", work.join("cache"))
            .env("QSCORE_TEST_SIM_PLUGIN", library("qscore_sim"))
            .env("QSCORE_TEST_CPU_PLUGIN", library("qscore_plugin_cpu"))
            .env_remove("QSCORE_PLUGIN_PATH")
            .env_remove("QSCORE_ISOLATE"),
    );
}
