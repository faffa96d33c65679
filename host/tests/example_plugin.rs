//! The out-of-tree example plugin (`examples/plugin-example`), built the way its author
//! would build it (its own workspace, `qscore-core` its only dependency), then loaded
//! and used like any other plugin: through the library and through the `qscore` command.

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Arc, OnceLock},
};

use qscore_core::{
    AbiVersion, BackendFamily, DeviceKind, ErrorKind, MemoryMode, OwnedImage, PixelFormat, TaskSpec,
};
use qscore_host::{Plugin, decode_image, load_plugin};
use serde_json::Value;

const REFERENCE: &str = "images/flower_512.png";
const DISTORTED: &str = "images/flower_512__jpeg_q40.png";

/// Builds the example into the workspace's target directory (so compiled dependencies
/// are shared) in the tests' own profile, once per process, and returns its library,
/// moved to a directory of its own.
fn example_library() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let profile = support::profile_dir();
            let target = profile.parent().expect("profile dir has a parent");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.arg("build")
                .arg("--quiet")
                .arg("--manifest-path")
                .arg(support::repo_root().join("examples/plugin-example/Cargo.toml"))
                .arg("--target-dir")
                .arg(target);
            if profile.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "building examples/plugin-example failed");
            let built = support::library("qscore_plugin_example");
            assert!(built.is_file(), "{} was not built", built.display());
            // Moved out of the profile directory: `qscore` loads every `*qscore_plugin_*`
            // library beside itself, and the example must not join every other test's run.
            let dir = profile.join("test-plugin-dirs").join("example-built");
            std::fs::create_dir_all(&dir).expect("create example dir");
            let library = dir.join(built.file_name().expect("file name"));
            std::fs::rename(&built, &library).expect("move the example library");
            library
        })
        .clone()
}

fn load_example() -> Arc<Plugin> {
    let path = example_library();
    Arc::new(load_plugin(&path).unwrap_or_else(|e| panic!("{e}")))
}

fn decode(name: &str) -> OwnedImage {
    decode_image(&support::data(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Mean and largest absolute difference over every sample of two RGB8 images,
/// computed here from the decoded pixels, independently of the plugin.
fn expected_mae(reference: &OwnedImage, distorted: &OwnedImage) -> (f64, f64) {
    for image in [reference, distorted] {
        assert_eq!(
            image.format,
            PixelFormat::RGB8,
            "the test images are 8-bit RGB"
        );
    }
    let (a, b) = (&reference.planes[0], &distorted.planes[0]);
    assert_eq!(a.len(), b.len());
    let diffs = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (i32::from(x) - i32::from(y)).abs());
    let (sum, max) = diffs.fold((0i64, 0i32), |(s, m), d| (s + i64::from(d), m.max(d)));
    (sum as f64 / a.len() as f64, f64::from(max))
}

fn value(values: &[qscore_core::NamedValue], name: &str) -> f64 {
    values
        .iter()
        .find(|v| v.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name} in {values:?}"))
        .value
}

fn assert_close(ours: f64, expected: f64, what: &str) {
    assert!(
        (ours - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{what}: {ours} vs {expected}"
    );
}

#[test]
fn loads_with_its_identity_device_and_capabilities() {
    let plugin = load_example();
    let id = plugin.identity();
    assert_eq!(id.name, "example");
    assert_eq!(id.version, "0.1.0");
    assert_eq!(id.family, BackendFamily::OTHER);
    assert_eq!(id.abi, AbiVersion::CURRENT);
    assert!(
        plugin.measures_sessions(),
        "the kit provides the ABI 1.1 extension"
    );

    let [device] = plugin.devices() else {
        panic!("one device expected, got {:?}", plugin.devices());
    };
    assert_eq!((device.info.id, device.info.kind), (0, DeviceKind::CPU));
    assert!(!device.info.model.is_empty());
    if Path::new("/proc/meminfo").is_file() {
        assert!(plugin.device_note().is_empty(), "{}", plugin.device_note());
        let free = plugin.free_memory(0).expect("live free memory");
        assert!(free > 0 && free <= device.info.total_memory);
    } else {
        let error = plugin.free_memory(0).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UNSUPPORTED, "{error}");
    }
    let error = plugin.free_memory(1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::INVALID_INPUT, "{error}");

    let caps = plugin.metric_caps(0, "mae").expect("mae is offered");
    let outputs: Vec<&str> = caps.outputs.iter().map(|o| o.as_str()).collect();
    assert_eq!(outputs, ["mae", "max_abs_diff"]);
    for format in [PixelFormat::RGB8, PixelFormat::RGBA8, PixelFormat::GRAY8] {
        assert!(caps.formats.contains(&format), "{format}");
    }
    assert!(!caps.formats.contains(&PixelFormat::RGB16));
    assert_eq!(caps.modes.as_slice(), [MemoryMode::FULL]);
    assert!(caps.reusable_reference);
    assert_eq!(caps.temporal_depth, 0);
    assert_eq!(device.caps.len(), 1, "mae is the only metric");
}

#[test]
fn mae_of_real_images_matches_an_independent_computation() {
    let plugin = load_example();
    let reference = decode(REFERENCE);
    let distorted = decode(DISTORTED);
    let (mae, max) = expected_mae(&reference, &distorted);
    assert!(
        mae > 0.5 && mae < 20.0 && max > 0.0,
        "a JPEG q40 differs a little: {mae}, {max}"
    );

    let spec = TaskSpec::new(
        "mae",
        reference.width,
        reference.height,
        reference.format,
        MemoryMode::FULL,
    );
    let predicted = plugin.predict_memory(0, &spec).expect("prediction");
    let reference_bytes = u64::from(reference.width * reference.height * 3);
    assert!(
        predicted >= reference_bytes,
        "{predicted} < {reference_bytes}"
    );

    let mut session = plugin.open_session(0, &spec).expect("open session");
    let prepared = reference
        .with_view(|view| session.prepare(view))
        .expect("prepare the reference");
    let values = distorted
        .with_view(|view| session.compare(prepared, view))
        .expect("compare");
    assert_close(value(&values, "mae"), mae, "mae");
    assert_close(value(&values, "max_abs_diff"), max, "max_abs_diff");

    // The same reference again, and the pair path without a prepared reference.
    let same = reference
        .with_view(|view| session.compare(prepared, view))
        .expect("compare the reference with itself");
    assert_eq!(
        (value(&same, "mae"), value(&same, "max_abs_diff")),
        (0.0, 0.0)
    );
    let pair = reference
        .with_view(|r| distorted.with_view(|d| session.compare_pair(r, d)))
        .expect("compare a pair");
    assert_eq!(pair, values);

    // Measured memory (ABI 1.1) stays within the prediction.
    let peak = session
        .peak_memory()
        .expect("the kit exports session statistics")
        .expect("the example measures its sessions");
    assert!(
        peak >= reference_bytes && peak <= predicted,
        "{peak} vs {predicted}"
    );

    // The kit checks images against the session before the plugin sees them.
    let other_size = decode("images/flower_517x389.png");
    let error = other_size
        .with_view(|view| session.compare(prepared, view))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::INVALID_INPUT, "{error}");

    // The plugin refuses what it does not offer, as a typed error.
    let mut rgb16 = spec.clone();
    rgb16.format = PixelFormat::RGB16;
    let error = plugin.open_session(0, &rgb16).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UNSUPPORTED, "{error}");
}

#[test]
fn the_kits_default_clip_session_pools_frame_values() {
    let plugin = load_example();
    let reference = decode(REFERENCE);
    let frames = [
        decode(DISTORTED),
        decode("images/flower_512__noise_a12.png"),
    ];
    let spec = TaskSpec::new(
        "mae",
        reference.width,
        reference.height,
        reference.format,
        MemoryMode::FULL,
    );
    let mut clip = plugin.open_clip(0, &spec).expect("open clip");
    for frame in &frames {
        reference
            .with_view(|r| frame.with_view(|d| clip.push(r, d)))
            .expect("push a frame");
    }
    let scores = clip.finish().expect("finish the clip");
    assert_eq!(scores.frames.len(), 2);
    let expected: Vec<f64> = frames
        .iter()
        .map(|frame| expected_mae(&reference, frame).0)
        .collect();
    for (values, expected) in scores.frames.iter().zip(&expected) {
        assert_close(value(values, "mae"), *expected, "frame mae");
    }
    let mean = expected.iter().sum::<f64>() / 2.0;
    assert_close(value(&scores.pooled, "mae"), mean, "pooled mae");
}

fn qscore(args: &[&str], plugin_path: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qscore"));
    cmd.args(args).env_remove(qscore_host::PLUGIN_PATH_VAR);
    if let Some(path) = plugin_path {
        cmd.env(qscore_host::PLUGIN_PATH_VAR, path);
    }
    cmd.output().expect("run qscore")
}

/// Where `qscore plugins --json` says the plugin named `name` was loaded from.
fn listed_path(stdout: &[u8], name: &str) -> Option<PathBuf> {
    let listing: Value = serde_json::from_slice(stdout).expect("plugins --json is JSON");
    listing["plugins"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| PathBuf::from(p["path"].as_str().expect("path is text")))
}

#[test]
fn qscore_scores_with_the_example_from_a_plugin_dir() {
    let dir = support::plugin_dir("example-plugin", &[example_library()]);
    let dir_arg = dir.display().to_string();
    let reference = support::data(REFERENCE).display().to_string();
    let distorted = support::data(DISTORTED).display().to_string();

    // `qscore plugins` lists it from the directory given, which is searched first.
    for (args, env) in [
        (
            vec!["--plugin-dir", dir_arg.as_str(), "plugins", "--json"],
            None,
        ),
        (vec!["plugins", "--json"], Some(dir.as_path())),
    ] {
        let out = qscore(&args, env);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = listed_path(&out.stdout, "example").expect("the example is listed");
        assert!(
            path.starts_with(&dir),
            "{} not from {}",
            path.display(),
            dir.display()
        );
    }

    let out = qscore(
        &[
            "--plugin-dir",
            &dir_arg,
            "score",
            &reference,
            &distorted,
            "--metric",
            "mae",
            "--backend",
            "example",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let line: Value = serde_json::from_str(lines[0]).expect("a JSON line");
    assert_eq!(line["reference"], reference.as_str());
    assert_eq!(line["distorted"], distorted.as_str());
    assert_eq!(line["backend"]["plugin"], "example");
    let scores = line["scores"].as_object().expect("scores");
    assert_eq!(scores.len(), 2, "{scores:?}");
    let (mae, max) = expected_mae(&decode(REFERENCE), &decode(DISTORTED));
    assert_close(scores["mae"].as_f64().expect("mae"), mae, "mae");
    assert_close(
        scores["max_abs_diff"].as_f64().expect("max"),
        max,
        "max_abs_diff",
    );

    // An output name keeps only that value.
    let out = qscore(
        &[
            "--plugin-dir",
            &dir_arg,
            "score",
            &reference,
            &distorted,
            "--metric",
            "max_abs_diff",
            "--backend",
            "example",
            "--json",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let scores = line["scores"].as_object().expect("scores");
    assert_eq!(scores.keys().collect::<Vec<_>>(), ["max_abs_diff"]);
}
