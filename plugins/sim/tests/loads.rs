//! Builds the simulation plugin, copies it into directories of its own with
//! different configurations beside it, and loads the copies side by side through
//! the real ABI with `qscore_host::load_plugin`.
//!
//! A library file is loaded once per process and reads its configuration once, so
//! every test works on copies of its own, in `<profile>/test-sim/<test>/`.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, OnceLock},
};

use qscore_core::{
    BackendFamily, DeviceKind, Error, MemoryMode, OwnedImage, PixelFormat, TaskSpec,
};
use qscore_host::{LoadError, Plugin, decode_image, load_plugin};

/// The profile directory the tests were built into (`target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent() // deps
        .and_then(Path::parent)
        .expect("test executable lives in <profile>/deps")
        .to_path_buf()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the cdylib (cargo does not build it for `cargo test`) into the tests'
/// own target directory and profile, once per process; returns its path.
fn built_library() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile = profile_dir();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", "qscore-sim", "--manifest-path"])
            .arg(repo_root().join("Cargo.toml"))
            .arg("--target-dir")
            .arg(profile.parent().expect("profile dir has a parent"));
        if profile.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p qscore-sim failed");
        profile.join(library_file("qscore_sim"))
    })
}

fn library_file(stem: &str) -> String {
    format!(
        "{}{stem}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// A fresh directory `test` holding a copy of the library named after `lib_name`
/// (e.g. `qscore_sim_b` → `libqscore_sim_b.so`) and, when given, `config` beside it
/// as `<file stem>.json`. Returns the copy's path.
fn copy_with_config(test: &str, lib_name: &str, config: Option<&str>) -> PathBuf {
    let dir = profile_dir().join("test-sim").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    let path = dir.join(library_file(lib_name));
    std::fs::copy(built_library(), &path).expect("copy the plugin");
    if let Some(config) = config {
        std::fs::write(path.with_extension("json"), config).expect("write the config");
    }
    path
}

/// Loads a copy of its own for `test`, configured by `config`.
fn sim(test: &str, config: &str) -> Arc<Plugin> {
    let path = copy_with_config(test, "qscore_sim", Some(config));
    Arc::new(load_plugin(&path).unwrap_or_else(|e| panic!("load {}: {e}", path.display())))
}

fn gray(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> OwnedImage {
    let bytes = (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect();
    OwnedImage {
        format: PixelFormat::GRAY8,
        width,
        height,
        planes: vec![bytes],
    }
}

fn gray_spec(mode: MemoryMode) -> TaskSpec {
    TaskSpec::new("psnr", 16, 8, PixelFormat::GRAY8, mode)
}

/// Opens a session on device 0 for 16×8 grey images and compares `times` pairs
/// against one prepared reference; each result is the psnr value or the error.
fn compare_times(plugin: &Arc<Plugin>, mode: MemoryMode, times: usize) -> Vec<Result<f64, Error>> {
    let mut session = plugin.open_session(0, &gray_spec(mode)).expect("open");
    let reference = gray(16, 8, |x, y| (x * 7 + y * 3) as u8);
    let distorted = gray(16, 8, |x, y| (x * 7 + y * 3) as u8 ^ 1);
    let prepared = reference
        .with_view(|v| session.prepare(v))
        .expect("prepare");
    (0..times)
        .map(|_| {
            distorted
                .with_view(|v| session.compare(prepared, v))
                .map(|values| values[0].value)
        })
        .collect()
}

#[test]
fn two_copies_load_side_by_side_with_their_own_configs() {
    let a = copy_with_config("side-a", "qscore_sim", Some(r#"{"name": "sim-a"}"#));
    // A renamed copy reads the JSON file named after its own stem.
    let b = copy_with_config(
        "side-b",
        "qscore_sim_b",
        Some(r#"{"name": "sim-b", "devices": 2, "total_memory": 1000000000}"#),
    );
    let (a, b) = (load_plugin(&a).unwrap(), load_plugin(&b).unwrap());
    assert_eq!(a.identity().name, "sim-a");
    assert_eq!(b.identity().name, "sim-b");
    for plugin in [&a, &b] {
        assert_eq!(plugin.identity().family, BackendFamily::OTHER);
        assert_eq!(plugin.identity().vendor, "qscore tests");
        let device = &plugin.devices()[0];
        assert_eq!(device.info.kind, DeviceKind::DISCRETE_GPU);
        assert_eq!(device.info.model.as_str(), "Simulated GPU 0");
        let caps = plugin.metric_caps(0, "psnr").expect("psnr offered");
        assert_eq!(caps.modes.len(), 3);
        assert!(plugin.measures_sessions());
    }
    assert_eq!(a.devices().len(), 1);
    assert_eq!(a.devices()[0].info.total_memory, 4 << 30);
    assert_eq!(b.devices().len(), 2);
    assert_eq!(b.devices()[1].info.model.as_str(), "Simulated GPU 1");
    assert_eq!(b.devices()[1].info.total_memory, 1_000_000_000);
}

#[test]
fn free_memory_drops_while_sessions_are_open_and_recovers() {
    let plugin = sim("memory", r#"{"total_memory": 1073741824}"#);
    let total = 1u64 << 30;
    let spec = TaskSpec::new("psnr", 512, 512, PixelFormat::RGB8, MemoryMode::FULL);
    let predicted = plugin.predict_memory(0, &spec).unwrap();
    assert_eq!(predicted, 7 << 20, "8·512·512·3 + 1 MiB");
    assert_eq!(plugin.free_memory(0).unwrap(), total);
    let first = plugin.open_session(0, &spec).unwrap();
    assert_eq!(plugin.free_memory(0).unwrap(), total - predicted);
    let second = plugin.open_session(0, &spec).unwrap();
    assert_eq!(plugin.free_memory(0).unwrap(), total - 2 * predicted);
    assert_eq!(first.peak_memory().unwrap().unwrap(), predicted);
    drop(first);
    assert_eq!(plugin.free_memory(0).unwrap(), total - predicted);
    drop(second);
    assert_eq!(plugin.free_memory(0).unwrap(), total);
}

#[test]
fn a_full_device_refuses_sessions() {
    let plugin = sim("full-device", r#"{"total_memory": 3000000}"#);
    let spec = TaskSpec::new("psnr", 512, 512, PixelFormat::RGB8, MemoryMode::STRIP_PAIR);
    let held = plugin.predict_memory(0, &spec).unwrap();
    let _session = plugin.open_session(0, &spec).unwrap();
    let error = plugin.open_session(0, &spec).map(drop).unwrap_err();
    match error {
        Error::OutOfMemory {
            needed, available, ..
        } => {
            assert_eq!(needed, held);
            assert_eq!(available, 3_000_000 - held);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn oom_open_above_refuses_large_sessions_in_the_listed_modes() {
    let plugin = sim(
        "oom-open",
        r#"{"oom_open_above": 2000000, "oom_modes": ["full"]}"#,
    );
    let spec = |mode| TaskSpec::new("psnr", 512, 512, PixelFormat::RGB8, mode);
    let error = plugin
        .open_session(0, &spec(MemoryMode::FULL))
        .map(drop)
        .unwrap_err();
    match error {
        Error::OutOfMemory {
            needed, available, ..
        } => {
            assert_eq!(needed, 7 << 20);
            assert_eq!(available, 4 << 30);
        }
        other => panic!("{other}"),
    }
    // Strip is larger than the limit too but not listed; strip-pair is under it.
    assert!(plugin.open_session(0, &spec(MemoryMode::STRIP)).is_ok());
    assert!(
        plugin
            .open_session(0, &spec(MemoryMode::STRIP_PAIR))
            .is_ok()
    );
}

#[test]
fn oom_every_fails_exactly_every_second_compare() {
    let plugin = sim("oom-every", r#"{"oom_every": 2}"#);
    let results = compare_times(&plugin, MemoryMode::FULL, 6);
    for (i, result) in results.iter().enumerate() {
        if i % 2 == 1 {
            assert!(
                matches!(result, Err(Error::OutOfMemory { needed, available, .. })
                    if *needed > 0 && *available > 0),
                "compare {}: {result:?}",
                i + 1
            );
        } else {
            assert!(result.is_ok(), "compare {}: {result:?}", i + 1);
        }
    }
}

#[test]
fn a_panic_in_compare_is_an_internal_error() {
    let plugin = sim("panic-compare", r#"{"panic": "compare", "panic_every": 2}"#);
    let results = compare_times(&plugin, MemoryMode::STRIP, 4);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    for result in [&results[1], &results[3]] {
        assert!(
            matches!(result, Err(Error::Internal(m)) if m.contains("panic")),
            "{result:?}"
        );
    }
}

#[test]
fn panics_while_loading_fail_the_load() {
    for at in ["info", "devices"] {
        let path = copy_with_config(
            &format!("panic-{at}"),
            "qscore_sim",
            Some(&format!(r#"{{"panic": "{at}"}}"#)),
        );
        match load_plugin(&path) {
            Err(LoadError::Failed {
                error: Error::Internal(m),
                ..
            }) => assert!(m.contains(&format!("panic in {at}")), "{m}"),
            other => panic!("{at}: {other:?}"),
        }
    }
    let plugin = sim("panic-open", r#"{"panic": "open"}"#);
    let result = plugin
        .open_session(0, &gray_spec(MemoryMode::FULL))
        .map(drop);
    assert!(
        matches!(&result, Err(Error::Internal(m)) if m.contains("panic in session_open")),
        "{result:?}"
    );
}

#[test]
fn bad_values_as_configured() {
    let nan = sim("nan", r#"{"nan": true}"#);
    assert!(
        compare_times(&nan, MemoryMode::FULL, 1)[0]
            .as_ref()
            .unwrap()
            .is_nan()
    );
    let out = sim("out-of-range", r#"{"out_of_range": true}"#);
    assert_eq!(
        *compare_times(&out, MemoryMode::FULL, 1)[0]
            .as_ref()
            .unwrap(),
        -5.0
    );
}

#[test]
fn predictions_and_device_loss_as_configured() {
    let spec = gray_spec(MemoryMode::FULL);
    let absurd = sim("absurd", r#"{"absurd_predictions": true}"#);
    assert_eq!(absurd.predict_memory(0, &spec).unwrap(), u64::MAX / 2);
    let tiny = sim("tiny", r#"{"tiny_predictions": true}"#);
    assert_eq!(tiny.predict_memory(0, &spec).unwrap(), 1);
    // The session still holds its real bytes.
    let _session = tiny.open_session(0, &spec).unwrap();
    assert_eq!(
        tiny.free_memory(0).unwrap(),
        (4 << 30) - 8 * 16 * 8 - (1 << 20)
    );

    let lost = sim("lost", r#"{"device_lost_after": 2}"#);
    let results = compare_times(&lost, MemoryMode::FULL, 3);
    assert!(results[0].is_ok() && results[1].is_ok(), "{results:?}");
    assert!(
        matches!(results[2], Err(Error::DeviceLost(_))),
        "{results:?}"
    );
    assert!(matches!(lost.free_memory(0), Err(Error::DeviceLost(_))));
    assert!(matches!(
        lost.open_session(0, &spec).map(drop),
        Err(Error::DeviceLost(_))
    ));
}

#[test]
fn an_invalid_config_fails_the_load_naming_the_file() {
    let path = copy_with_config("invalid", "qscore_sim", Some(r#"{"oom_every": 0}"#));
    match load_plugin(&path) {
        Err(LoadError::Failed {
            error: Error::InvalidInput(m),
            ..
        }) => {
            let file = path.with_extension("json");
            assert!(m.contains(&file.display().to_string()), "{m}");
            assert!(m.contains("oom_every"), "{m}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn psnr_of_real_images_matches_the_golden_value_in_every_mode() {
    let data = repo_root().join("data/images");
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("golden.json")).unwrap()).unwrap();
    let expected = golden["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["distorted"] == "flower_512__jpeg_q40.png")
        .expect("golden pair")["psnr"]
        .as_f64()
        .unwrap();
    let reference = decode_image(&data.join("flower_512.png")).unwrap();
    let distorted = decode_image(&data.join("flower_512__jpeg_q40.png")).unwrap();
    let plugin = sim("golden", "{}");
    for mode in [MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR] {
        let spec = TaskSpec::new(
            "psnr",
            reference.width,
            reference.height,
            reference.format,
            mode,
        );
        let mut session = plugin.open_session(0, &spec).unwrap();
        let prepared = reference.with_view(|v| session.prepare(v)).unwrap();
        let values = distorted
            .with_view(|v| session.compare(prepared, v))
            .unwrap();
        assert_eq!(values[0].name.as_str(), "psnr");
        assert!(
            (values[0].value - expected).abs() < 1e-6,
            "{mode}: {} vs golden {expected}",
            values[0].value
        );
        let pair = reference
            .with_view(|r| distorted.with_view(|d| session.compare_pair(r, d)))
            .unwrap();
        assert_eq!(pair[0].value, values[0].value, "{mode}: compare_pair");
    }
}

/// Run by [`without_a_file_the_config_comes_from_the_environment`] in a child process.
#[test]
#[ignore = "run in a child process with QSCORE_SIM_CONFIG set"]
fn child_loads_a_copy_configured_by_the_environment() {
    let path = copy_with_config("env", "qscore_sim", None);
    let plugin = load_plugin(&path).unwrap();
    assert_eq!(plugin.identity().name, "sim-from-env");
    assert_eq!(plugin.devices().len(), 3);
}

#[test]
fn without_a_file_the_config_comes_from_the_environment() {
    built_library();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_loads_a_copy_configured_by_the_environment",
            "--ignored",
            "--test-threads=1",
        ])
        .env(
            "QSCORE_SIM_CONFIG",
            r#"{"name": "sim-from-env", "devices": 3}"#,
        )
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn without_a_file_or_the_environment_the_defaults_apply() {
    // Only meaningful when the variable is not set for the whole test run.
    if std::env::var_os("QSCORE_SIM_CONFIG").is_some() {
        return;
    }
    let path = copy_with_config("defaults", "qscore_sim", None);
    let plugin = load_plugin(&path).unwrap();
    assert_eq!(plugin.identity().name, "sim");
    assert_eq!(plugin.devices().len(), 1);
    assert_eq!(plugin.devices()[0].info.total_memory, 4 << 30);
    assert!(!path.to_string_lossy().contains("qscore_plugin_"));
}
