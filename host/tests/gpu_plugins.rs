//! The GPU plugins as the `qscore` command loads them: drivers probed before use, devices
//! whose liveness kernel answers wrong refused, and the wgpu plugin (lavapipe without a
//! GPU) scoring through the scheduler like any other backend.

mod support;

use std::process::Command;

use serde_json::Value;

/// The four plugins in one directory, made once per process: the tests run in parallel and
/// must not replace files another test's `qscore` is loading.
fn gpu_dir() -> std::path::PathBuf {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        support::build(&["qscore-cpu", "qscore-wgpu", "qscore-cuda", "qscore-hip"]);
        support::plugin_dir(
            "gpu",
            &[
                support::library("qscore_plugin_cpu"),
                support::library("qscore_plugin_wgpu"),
                support::library("qscore_plugin_cuda"),
                support::library("qscore_plugin_hip"),
            ],
        )
    })
    .clone()
}

fn qscore(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = tempdir(&format!("gpu-cache-{}-{n}", std::process::id()));
    qscore_with_cache(&cache, args, envs)
}

/// `qscore` with the GPU plugins and the capability cache in `cache`.
fn qscore_with_cache(
    cache: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qscore"));
    cmd.args(args)
        .arg("--plugin-dir")
        .arg(gpu_dir())
        .arg("--no-default-plugins")
        .arg("--cache-dir")
        .arg(cache)
        .env_remove("QSCORE_PLUGIN_PATH")
        .env_remove("QSCORE_CUBE_FAULT");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run qscore")
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = support::profile_dir().join("test-tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn listing(envs: &[(&str, &str)]) -> Value {
    let out = qscore(&["plugins", "--json"], envs);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("plugins --json is JSON")
}

fn plugin<'a>(listing: &'a Value, name: &str) -> &'a Value {
    listing["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not loaded: {listing}"))
}

/// Whether this machine is expected to give the wgpu plugin a device (CI installs lavapipe).
fn wgpu_required() -> bool {
    std::env::var("QSCORE_REQUIRE_DEVICES").is_ok_and(|v| v.split(',').any(|p| p == "wgpu"))
}

#[test]
fn every_gpu_plugin_loads_and_says_why_it_has_no_device() {
    let json = listing(&[]);
    assert!(json["errors"].as_array().unwrap().is_empty(), "{json}");
    for (name, library) in [
        ("cuda", "libcuda"),
        ("hip", "amdhip64"),
        ("wgpu", "wgpu adapter"),
    ] {
        let p = plugin(&json, name);
        let devices = p["devices"].as_array().unwrap();
        if devices.is_empty() {
            let note = p["device_note"].as_str().unwrap_or_default();
            assert!(
                note.contains(library),
                "{name} has no device but its note does not say why: {p}"
            );
        }
    }
    if wgpu_required() {
        assert_eq!(
            plugin(&json, "wgpu")["devices"].as_array().unwrap().len(),
            1,
            "{json}"
        );
    }
}

#[test]
fn a_device_whose_liveness_kernel_does_nothing_is_refused() {
    let json = listing(&[("QSCORE_CUBE_FAULT", "liveness")]);
    let wgpu = plugin(&json, "wgpu");
    assert!(wgpu["devices"].as_array().unwrap().is_empty(), "{wgpu}");
    let note = wgpu["device_note"].as_str().unwrap();
    if wgpu_required() || note.contains("unusable") {
        assert!(
            note.contains("unusable") && note.contains("liveness kernel"),
            "{note}"
        );
    }
}

#[test]
fn the_wgpu_plugin_scores_through_the_scheduler_like_the_cpu() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let image = |n: &str| support::data(&format!("images/{n}")).display().to_string();
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(support::data("images/golden.json")).unwrap(),
    )
    .unwrap();
    let out = qscore(
        &[
            "score",
            &image("flower_517x389.png"),
            &image("flower_517x389__jpeg_q40.png"),
            &image("flower_517x389__noise_a12.png"),
            "--metric",
            "psnr,ssim,ssimulacra2,butteraugli",
            "--backend",
            "wgpu",
            "--no-fallback",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut seen = 0;
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let row: Value = serde_json::from_str(line).unwrap();
        let Some(distorted) = row["distorted"].as_str() else {
            continue;
        };
        let name = std::path::Path::new(distorted)
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let pair = golden["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["distorted"] == name)
            .unwrap();
        // (output, golden key, absolute tolerance; butteraugli's are relative, 1e-4)
        let checks = [
            ("psnr", "psnr", 1e-4),
            ("ssim", "ssim", 1e-5),
            ("ssimulacra2", "ssimulacra2", 1e-3),
            ("butteraugli", "butteraugli_max", 0.0),
            ("butteraugli_pnorm3", "butteraugli_pnorm3", 0.0),
        ];
        for (key, golden_key, tolerance) in checks {
            let ours = row["scores"][key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key} in {row}"));
            let want = pair[golden_key].as_f64().unwrap();
            let bound = if tolerance > 0.0 {
                tolerance
            } else {
                1e-4 * want.abs()
            };
            assert!(
                (ours - want).abs() <= bound,
                "{name} {key}: {ours} vs {want}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 10, "{stdout}");
    assert!(
        stdout.contains("\"backend\":{\"plugin\":\"wgpu\""),
        "scored elsewhere: {stdout}"
    );
}

/// butteraugli's intensity target reaches the kernels as it reaches the CPU plugin, and a
/// value that is not a positive number is refused naming the parameter.
#[test]
fn butteraugli_takes_its_intensity_target_on_the_gpu_plugin() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let image = |n: &str| support::data(&format!("images/{n}")).display().to_string();
    let (reference, distorted) = (image("flower_512.png"), image("flower_512__jpeg_q40.png"));
    let score = |backend: &str, nits: &str| {
        let param = format!("butteraugli.intensity_target={nits}");
        qscore(
            &[
                "score",
                &reference,
                &distorted,
                "--metric",
                "butteraugli",
                "--param",
                &param,
                "--backend",
                backend,
                "--no-fallback",
                "--json",
            ],
            &[],
        )
    };
    let value = |out: &std::process::Output| -> (f64, f64) {
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let row: Value =
            serde_json::from_str(stdout.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
        let s = &row["scores"];
        (
            s["butteraugli"].as_f64().unwrap(),
            s["butteraugli_pnorm3"].as_f64().unwrap(),
        )
    };
    let (gpu, cpu) = (value(&score("wgpu", "250")), value(&score("cpu", "250")));
    let default = value(&score("cpu", "80"));
    assert!((gpu.0 - cpu.0).abs() <= 1e-4 * cpu.0, "{gpu:?} vs {cpu:?}");
    assert!((gpu.1 - cpu.1).abs() <= 1e-4 * cpu.1, "{gpu:?} vs {cpu:?}");
    assert!(
        (cpu.0 - default.0).abs() > 1e-3 * default.0,
        "the target changed nothing"
    );
    let bad = score("wgpu", "bright");
    assert!(!bad.status.success(), "{bad:?}");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("intensity_target"), "{stderr}");
}

/// SSIMULACRA2 of a transparent image is the CPU plugin's (libjxl composites it over two
/// backgrounds; the kernels score opaque images): the wgpu plugin refuses it as unsupported,
/// saying why, and a run free to choose gives the CPU plugin's number.
#[test]
fn a_transparent_image_is_not_scored_by_the_kernels_for_ssimulacra2() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let dir = tempdir(&format!("transparent-{}", std::process::id()));
    let write = |name: &str, source: &str| {
        let mut rgba = image::open(support::data(&format!("images/{source}")))
            .unwrap()
            .to_rgba8();
        for (x, y, pixel) in rgba.enumerate_pixels_mut() {
            if (x / 32 + y / 32) % 2 == 0 {
                pixel[3] = 96;
            }
        }
        let path = dir.join(name);
        rgba.save(&path).unwrap();
        path.display().to_string()
    };
    let reference = write("ref.png", "flower_517x389.png");
    let distorted = write("dist.png", "flower_517x389__jpeg_q40.png");
    let score = |backend: Option<&str>| {
        let mut args = vec![
            "score",
            reference.as_str(),
            distorted.as_str(),
            "--metric",
            "ssimulacra2",
            "--json",
        ];
        if let Some(b) = backend {
            args.extend(["--backend", b]);
        }
        qscore(&args, &[])
    };
    let value = |out: &std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.starts_with('{')).unwrap();
        let row: Value = serde_json::from_str(line).unwrap();
        row["scores"]["ssimulacra2"].as_f64().unwrap()
    };
    let gpu = score(Some("wgpu"));
    assert!(!gpu.status.success(), "{gpu:?}");
    let stderr = String::from_utf8_lossy(&gpu.stderr);
    assert!(stderr.contains("transparent pixels"), "{stderr}");
    assert_eq!(value(&score(None)), value(&score(Some("cpu"))));
}

/// A 2048² SSIMULACRA2 reference pyramid needs one 151 MB buffer, past lavapipe's largest
/// (its 128 MiB binding limit): the FULL attempt is refused as out of memory instead of
/// scoring buffers that do not exist (it scored 100), and the ladder goes on in STRIP mode
/// on the same device (the only plugin allowed), equal to the CPU plugin within the
/// declared tolerance.
#[test]
fn a_buffer_larger_than_the_device_makes_moves_the_work_to_strip_mode() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let dir = tempdir(&format!("largest-buffer-{}", std::process::id()));
    let write = |name: &str, source: &str| {
        let small = image::open(support::data(&format!("images/{source}"))).unwrap();
        let big = small.resize_exact(2048, 2048, image::imageops::FilterType::Triangle);
        let path = dir.join(name);
        big.to_rgb8().save(&path).unwrap();
        path.display().to_string()
    };
    let reference = write("ref.png", "flower_512.png");
    let distorted = write("dist.png", "flower_512__jpeg_q40.png");
    let run = |backend: &str, extra: &[&str]| {
        let mut args = vec![
            "score",
            reference.as_str(),
            distorted.as_str(),
            "--metric",
            "ssimulacra2",
            "--backend",
            backend,
            "--json",
        ];
        args.extend(extra);
        qscore(&args, &[])
    };
    let value = |out: std::process::Output| {
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().find(|l| l.starts_with('{')).unwrap();
        let row: Value = serde_json::from_str(line).unwrap();
        row["scores"]["ssimulacra2"].as_f64().unwrap()
    };
    let (gpu, cpu) = (value(run("wgpu", &[])), value(run("cpu", &[])));
    assert!((gpu - cpu).abs() <= 1e-4, "wgpu {gpu} vs cpu {cpu}");
    // Without the ladder, the refusal itself: out of memory, naming the buffer.
    let full = run("wgpu", &["--no-fallback"]);
    let stdout = String::from_utf8_lossy(&full.stdout);
    assert!(!full.status.success(), "{full:?}");
    assert!(
        stdout.contains("out of memory") && stdout.contains("one device buffer of"),
        "{stdout}"
    );
}

/// A 176x144 4:2:0 Y4M clip of `frames` frames of a moving ramp.
fn y4m_clip(frames: usize) -> Vec<u8> {
    let (w, h) = (176, 144);
    let mut bytes = format!("YUV4MPEG2 W{w} H{h} F25:1 Ip C420jpeg\n").into_bytes();
    for f in 0..frames {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend((0..w * h).map(|i| ((i % w + i / w + 3 * f) % 256) as u8));
        bytes.extend(std::iter::repeat_n(128u8, w * h / 2));
    }
    bytes
}

/// Loading a GPU plugin only lists its devices: a started device keeps runtime threads for
/// the life of the process (cubecl's wakes every 150 µs), which a run that scores on the CPU
/// must not pay. While `qscore` waits on a distorted clip's pipe, after loading every plugin,
/// none of its threads is a GPU runtime's (those are named by the runtime, not `qscore…`).
#[test]
fn loading_a_gpu_plugin_starts_no_device() {
    let dir = tempdir(&format!("idle-gpu-{}", std::process::id()));
    let reference = dir.join("ref.y4m");
    std::fs::write(&reference, y4m_clip(3)).unwrap();
    let pipe = dir.join("dist.y4m");
    support::stalled_pipe(&pipe);
    let cache = tempdir(&format!("idle-gpu-cache-{}", std::process::id()));
    let running = support::Running::spawn(
        Command::new(env!("CARGO_BIN_EXE_qscore"))
            .args(["--plugin-dir"])
            .arg(gpu_dir())
            .args(["--no-default-plugins", "--cache-dir"])
            .arg(cache)
            .arg("score")
            .arg(&reference)
            .arg(&pipe)
            .args(["--metric", "vmaf", "--json"])
            .env_remove("QSCORE_PLUGIN_PATH")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    let pid = running.id();
    // Opening the pipe for writing waits until qscore opens it to read, after loading.
    let mut writer = std::fs::File::create(&pipe).unwrap();
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(
        threads.iter().all(|name| name.starts_with("qscore")),
        "threads of a run that uses no GPU: {threads:?}"
    );
    std::io::Write::write_all(&mut writer, &y4m_clip(3)).unwrap();
    drop(writer);
    let out = running.wait();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"plugin\":\"cpu\""), "{stdout}");
}

/// A device whose liveness kernel does nothing is found out when it is first asked for
/// work: a run held to it fails naming the check, and a run free to choose is scored.
#[test]
fn a_device_that_fails_its_check_on_first_use_gives_its_work_to_the_cpu() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let image = |n: &str| support::data(&format!("images/{n}")).display().to_string();
    let (reference, distorted) = (
        image("flower_517x389.png"),
        image("flower_517x389__jpeg_q40.png"),
    );
    let fault = [("QSCORE_CUBE_FAULT", "liveness")];
    let args = [
        "score", &reference, &distorted, "--metric", "psnr", "--json",
    ];
    let held = qscore(
        &[&args[..], &["--backend", "wgpu", "--no-fallback"]].concat(),
        &fault,
    );
    assert!(!held.status.success(), "{held:?}");
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert!(
        stderr.contains("unusable") && stderr.contains("liveness kernel"),
        "{stderr}"
    );
    let free = qscore(&args, &fault);
    assert!(free.status.success(), "{free:?}");
}

/// A plugin's own log records (here wgpu's, from inside the wgpu plugin's library) reach
/// qscore's log when it is on, with their targets, and not otherwise.
#[test]
fn a_plugins_log_records_reach_qscores_log() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let logged = qscore(&["-vv", "plugins"], &[]);
    assert!(logged.status.success(), "{logged:?}");
    let stderr = String::from_utf8_lossy(&logged.stderr);
    assert!(stderr.contains("qscore: debug wgpu_"), "{stderr}");
    let plain = qscore(&["plugins"], &[]);
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("wgpu_"));
}

/// A device whose shaders lack 64-bit integers refuses VMAF with that reason: a run held to
/// it fails naming it, and a run whose chooser ranks that device first (a cache in which it
/// measured fastest) steps down the ladder and scores the clip on the CPU.
#[test]
fn vmaf_goes_to_the_cpu_on_a_device_without_64_bit_integers() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let (reference, distorted) = (support::sample_reference(), support::sample_distorted());
    let (reference, distorted) = (
        reference.display().to_string(),
        distorted.display().to_string(),
    );
    let fault = [("QSCORE_CUBE_FAULT", "no-int64")];
    let args = [
        "score",
        &reference,
        &distorted,
        "--metric",
        "vmaf",
        "--size",
        "576x324",
        "--pix-fmt",
        "yuv420p10le",
        "--json",
        "--no-bench",
    ];
    let held = qscore(
        &[&args[..], &["--backend", "wgpu", "--no-fallback"]].concat(),
        &fault,
    );
    assert!(!held.status.success(), "{held:?}");
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert!(stderr.contains("lack 64-bit unsigned integers"), "{stderr}");
    // Measure both, then make wgpu look free so that the chooser puts it first.
    let cache = tempdir("gpu-cache-no-int64");
    let run = |args: &[&str], envs: &[(&str, &str)]| qscore_with_cache(&cache, args, envs);
    let bench = run(&["bench", "--metric", "vmaf", "--budget", "20"], &[]);
    assert!(bench.status.success(), "{bench:?}");
    let file = std::fs::read_dir(&cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&file).unwrap();
    let free: Vec<String> = text
        .split("[[cells]]")
        .map(|cell| {
            if !cell.contains("plugin = \"wgpu\"") {
                return cell.to_owned();
            }
            cell.lines()
                .map(|l| match l.split(" = ").next() {
                    Some("open_s" | "cold_s" | "compare_fixed_s" | "compare_per_pixel_s") => {
                        format!("{} = 0.0", l.split(" = ").next().unwrap())
                    }
                    _ => l.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    std::fs::write(&file, free.join("[[cells]]")).unwrap();
    let explained = run(
        &[
            "explain",
            &reference,
            &distorted,
            "--metric",
            "vmaf",
            "--size",
            "576x324",
            "--pix-fmt",
            "yuv420p10le",
        ],
        &[],
    );
    let ranking = String::from_utf8_lossy(&explained.stdout);
    assert!(ranking.contains("1. wgpu/0 full"), "{ranking}");
    let scored = run(&args, &fault);
    assert!(scored.status.success(), "{scored:?}");
    let stdout = String::from_utf8_lossy(&scored.stdout);
    assert!(stdout.contains("\"plugin\":\"cpu\""), "{stdout}");
}

/// VMAF's device sessions have no strip mode: frames whose 32-bit planes exceed the
/// device's largest buffer (8192x4352 is 142.6 MB, lavapipe binds 128 MiB) are refused when
/// the session opens, as out of memory naming the buffer, before any frame is uploaded.
#[test]
fn vmaf_frames_past_the_devices_largest_buffer_are_refused_naming_it() {
    if !wgpu_required() {
        eprintln!("skipped: QSCORE_REQUIRE_DEVICES does not name wgpu");
        return;
    }
    let dir = tempdir(&format!("vmaf-largest-{}", std::process::id()));
    let (w, h) = (8192usize, 4352usize);
    let mut clip = format!("YUV4MPEG2 W{w} H{h} F1:1 Ip C420jpeg\nFRAME\n").into_bytes();
    clip.resize(clip.len() + w * h * 3 / 2, 128);
    let path = dir.join("wide.y4m");
    std::fs::write(&path, clip).unwrap();
    let path = path.display().to_string();
    let args = [
        "score",
        &path,
        &path,
        "--metric",
        "vmaf",
        "--backend",
        "wgpu",
        "--no-fallback",
        "--no-bench",
    ];
    let out = qscore(&args, &[]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("out of memory") && stderr.contains("one device buffer of 142606336"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
