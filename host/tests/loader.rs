//! Loading plugins: good ones, foreign libraries, incompatible interfaces,
//! panicking exports, and plugins of older and newer ABI minors.

mod support;

use std::{path::PathBuf, process::Command, sync::Arc};

use qscore_core::{AbiVersion, Error, MemoryMode, OwnedImage, PixelFormat, TaskSpec};
use qscore_host::{LoadError, Plugin, PluginSearch, load_plugin, load_plugins};

const FIXTURES: &[&str] = &[
    "qscore-fixture-older",
    "qscore-fixture-newer",
    "qscore-fixture-panicking",
    "qscore-fixture-incompatible",
];

fn fixture(name: &str) -> PathBuf {
    support::build(FIXTURES);
    support::library(&format!("fixture_{name}"))
}

/// A real shared library that is not a qscore plugin: a proc-macro from the build.
fn foreign_library() -> PathBuf {
    let deps = support::profile_dir().join("deps");
    std::fs::read_dir(&deps)
        .expect("deps dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("libthiserror_impl") && n.ends_with(std::env::consts::DLL_SUFFIX)
            })
        })
        .expect("thiserror's proc-macro library in deps")
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

/// Scores two small grey images with `sum_abs_diff` through `plugin`.
fn sum_abs_diff(plugin: &Arc<Plugin>) -> Result<f64, Error> {
    let spec = TaskSpec::new("sum_abs_diff", 4, 3, PixelFormat::GRAY8, MemoryMode::FULL);
    let mut session = plugin.open_session(0, &spec)?;
    let reference = gray(4, 3, |x, y| (x * 10 + y) as u8);
    let distorted = gray(4, 3, |x, y| (x * 10 + y) as u8 + (x % 2) as u8 * 3);
    let prepared = reference.with_view(|v| session.prepare(v))?;
    let values = distorted.with_view(|v| session.compare(prepared, v))?;
    Ok(values[0].value)
}

#[test]
fn a_library_without_a_qscore_root_module_is_refused() {
    let path = foreign_library();
    let error = load_plugin(&path).unwrap_err();
    assert!(matches!(error, LoadError::NotAPlugin { .. }), "{error}");
    let text = error.to_string();
    assert!(text.contains("not a qscore plugin"), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
}

#[test]
fn a_file_that_is_not_a_library_is_refused() {
    let dir = support::profile_dir().join("test-garbage");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("libgarbage{}", std::env::consts::DLL_SUFFIX));
    std::fs::write(&path, b"this is not an ELF file").unwrap();
    let error = load_plugin(&path).unwrap_err();
    assert!(matches!(error, LoadError::NotAPlugin { .. }), "{error}");
}

#[test]
fn a_root_module_with_another_layout_is_refused() {
    let error = load_plugin(&fixture("incompatible")).unwrap_err();
    assert!(matches!(error, LoadError::Incompatible { .. }), "{error}");
    assert!(
        error.to_string().contains("incompatible plugin interface"),
        "{error}"
    );
}

#[test]
fn a_panic_inside_an_export_becomes_a_typed_error() {
    let plugin = Arc::new(load_plugin(&fixture("panicking")).expect("loads: only compare panics"));
    let error = sum_abs_diff(&plugin).unwrap_err();
    match error {
        Error::Internal(message) => {
            assert!(message.contains("panic in compare"), "{message}");
            assert!(message.contains("fixture told to panic"), "{message}");
        }
        other => panic!("expected an internal error, got {other}"),
    }
    // The plugin is still usable after the caught panic.
    assert!(plugin.free_memory(0).is_ok());
}

#[test]
fn an_older_minor_plugin_loads_into_this_host() {
    let plugin = Arc::new(load_plugin(&fixture("older")).expect("ABI 1.0 plugin loads"));
    assert_eq!(plugin.identity().abi, AbiVersion { major: 1, minor: 0 });
    // It predates session statistics: the host sees that and does without.
    assert!(!plugin.measures_sessions());
    let spec = TaskSpec::new("sum_abs_diff", 4, 3, PixelFormat::GRAY8, MemoryMode::FULL);
    let session = plugin.open_session(0, &spec).unwrap();
    assert!(session.peak_memory().is_none());
    drop(session);
    // 6 pixels (odd x) differ by 3.
    assert_eq!(sum_abs_diff(&plugin).unwrap(), 18.0);
}

#[test]
fn a_newer_minor_plugin_loads_into_this_host() {
    let plugin = Arc::new(load_plugin(&fixture("newer")).expect("ABI 1.9 plugin loads"));
    assert_eq!(plugin.identity().abi, AbiVersion { major: 1, minor: 9 });
    assert!(plugin.identity().abi > AbiVersion::CURRENT);
    // It offers what this host knows (1.1's session statistics) and more it ignores.
    assert!(plugin.measures_sessions());
    assert_eq!(sum_abs_diff(&plugin).unwrap(), 18.0);
}

#[test]
fn every_load_error_is_reported_and_good_plugins_still_load() {
    let garbage_dir = support::profile_dir().join("test-garbage");
    std::fs::create_dir_all(&garbage_dir).unwrap();
    let garbage = garbage_dir.join(format!("libjunk{}", std::env::consts::DLL_SUFFIX));
    std::fs::write(&garbage, b"junk").unwrap();
    let dir = support::plugin_dir(
        "mixed",
        &[
            support::cpu_plugin(),
            fixture("older"),
            fixture("incompatible"),
            fixture("panicking"),
            foreign_library(),
            garbage,
        ],
    );
    let report = load_plugins(&PluginSearch {
        explicit: vec![dir],
        defaults: false,
        allow_insecure: false,
        ..Default::default()
    });
    let mut names: Vec<_> = report
        .plugins
        .iter()
        .map(|p| p.identity().name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["cpu", "older", "panicking"]);
    assert_eq!(report.errors.len(), 3, "{:#?}", report.errors);
    let kinds: Vec<&str> = report
        .errors
        .iter()
        .map(|e| match e {
            LoadError::NotAPlugin { .. } => "not-a-plugin",
            LoadError::Incompatible { .. } => "incompatible",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "not-a-plugin").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "incompatible").count(),
        1,
        "{kinds:?}"
    );
}

#[test]
fn a_missing_plugin_directory_is_reported() {
    let report = load_plugins(&PluginSearch {
        explicit: vec![PathBuf::from("/nonexistent/qscore-plugins")],
        defaults: false,
        allow_insecure: false,
        ..Default::default()
    });
    assert!(report.plugins.is_empty());
    assert!(matches!(
        report.errors.as_slice(),
        [LoadError::Directory { .. }]
    ));
}

#[test]
fn a_panic_while_loading_is_a_load_error_in_the_cli() {
    let dir = support::plugin_dir(
        "panic-at-load",
        &[support::cpu_plugin(), fixture("panicking")],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(["plugins", "--json", "--plugin-dir"])
        .arg(&dir)
        .env("QSCORE_FIXTURE_PANIC", "devices")
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let errors = json["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("panic in devices")),
        "{errors:?}"
    );
    let names: Vec<&str> = json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"cpu"), "{names:?}");
    assert!(!names.contains(&"panicking"), "{names:?}");
}

#[test]
fn the_cpu_plugin_reports_real_devices_and_measured_memory() {
    let plugin = Arc::new(load_plugin(&support::cpu_plugin()).unwrap());
    assert_eq!(plugin.identity().abi, AbiVersion::CURRENT);
    let device = &plugin.devices()[0];
    assert!(device.info.total_memory > 0);
    let free = plugin.free_memory(0).unwrap();
    assert!(free > 0 && free <= device.info.total_memory);
    let image = gray(64, 48, |x, y| (x * 3 + y * 5) as u8);
    let spec = TaskSpec::new("ssim", 64, 48, PixelFormat::GRAY8, MemoryMode::FULL);
    let mut session = plugin.open_session(0, &spec).unwrap();
    let prepared = image.with_view(|v| session.prepare(v)).unwrap();
    let values = image.with_view(|v| session.compare(prepared, v)).unwrap();
    assert_eq!(values[0].value, 1.0);
    let peak = session.peak_memory().expect("cpu plugin measures").unwrap();
    assert!(peak > 64 * 48 * 8, "peak {peak}");
    let unsupported = plugin
        .open_session(
            0,
            &TaskSpec::new("ssim", 64, 48, PixelFormat::GRAY8, MemoryMode::STRIP),
        )
        .unwrap_err();
    assert!(
        matches!(unsupported, Error::Unsupported(_)),
        "{unsupported}"
    );
}

/// A plugin file another user could have written is not loaded: `qscore plugins` names the
/// file and the reason, and `--allow-insecure-plugins` (or its environment variable) loads
/// it anyway.
#[test]
fn a_plugin_that_others_could_write_is_refused_by_name() {
    use std::os::unix::fs::PermissionsExt;
    let dir = support::plugin_dir("insecure", &[support::cpu_plugin()]);
    let file = dir.join(support::cpu_plugin().file_name().unwrap());
    if let Err(why) = qscore_host::trust::check(&dir) {
        eprintln!("skipped: the test folder is not private: {why}");
        return;
    }
    let run = |extra: &[&str], env: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qscore"));
        command
            .args(["plugins", "--json", "--no-default-plugins", "--plugin-dir"])
            .arg(&dir)
            .args(extra)
            .env_remove("QSCORE_PLUGIN_PATH")
            .env_remove(qscore_host::trust::ALLOW_INSECURE_VAR);
        if let Some(value) = env {
            command.env(qscore_host::trust::ALLOW_INSECURE_VAR, value);
        }
        let out = command.output().expect("run qscore");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let loaded = json["plugins"].as_array().unwrap().len();
        (loaded, json["errors"].to_string())
    };
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    assert_eq!(run(&[], None).0, 1, "a private copy loads");
    // A group other than the user's own: only root can hand a file to one.
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        std::os::unix::fs::chown(&dir, None, Some(65534)).unwrap();
    }
    let mut cases = vec![
        (
            &file,
            0o666,
            "the plugin file is writable by all users".to_owned(),
        ),
        (
            &dir,
            0o777,
            "is writable by its group (65534) and all users".to_owned(),
        ),
    ];
    if root {
        cases.push((
            &dir,
            0o775,
            "is writable by its group (65534) (mode 775)".to_owned(),
        ));
    } else {
        cases[1].2 = "is writable by all users".to_owned();
    }
    for (path, bits, what) in cases {
        mode(path, bits);
        let (loaded, errors) = run(&[], None);
        mode(path, if path == &file { 0o644 } else { 0o755 });
        assert_eq!(loaded, 0, "{errors}");
        assert!(
            errors.contains(&file.display().to_string()) && errors.contains(&what),
            "{errors}"
        );
        assert!(errors.contains("--allow-insecure-plugins"), "{errors}");
    }
    mode(&file, 0o666);
    assert_eq!(run(&["--allow-insecure-plugins"], None).0, 1);
    assert_eq!(run(&[], Some("1")).0, 1);
    mode(&file, 0o644);
}
