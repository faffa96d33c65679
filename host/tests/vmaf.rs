//! `qscore score --metric vmaf` with the CPU and libvmaf plugins: qscore's own VMAF (the
//! CPU plugin, preferred) and libvmaf's through clip sessions (`--backend libvmaf`) give
//! the Netflix sample pair's golden values, models and thread counts are parameters, and
//! a bad clip fails alone while the others are scored.

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

use support::{sample_distorted as distorted, sample_reference as reference, video};

/// A directory with the CPU and libvmaf plugins only.
fn plugins() -> PathBuf {
    support::cpu_libvmaf_dir()
}

fn qscore(args: &[&str], clips: &[&Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qscore"))
        .arg("score")
        .args(clips)
        .args(["--size", "576x324", "--pix-fmt", "yuv420p10le"])
        .args(args)
        .args([
            "--no-bench",
            "--json",
            "--no-default-plugins",
            "--plugin-dir",
        ])
        .arg(plugins())
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore")
}

fn lines(output: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// libvmaf 2.3.1's golden set: libvmaf-sys 0.4.4 vendors libvmaf 2.3.1.
fn golden(case: &str) -> Value {
    let text = std::fs::read_to_string(video("golden.json")).expect("golden.json");
    let all: Value = serde_json::from_str(&text).expect("golden.json is JSON");
    all["libvmaf_v2.3.1_to_v3.1.0"][case].clone()
}

/// Our output name for each golden key.
const GOLDEN_KEYS: [(&str, &str); 10] = [
    ("vmaf", "score"),
    ("vif_scale0", "vif_scale0_score"),
    ("vif_scale1", "vif_scale1_score"),
    ("vif_scale2", "vif_scale2_score"),
    ("vif_scale3", "vif_scale3_score"),
    ("adm2", "adm2_score"),
    ("motion2", "motion2_score"),
    ("float_ssim", "float_ssim_score"),
    ("float_ms_ssim", "float_ms_ssim_score"),
    // libvmaf's integer `psnr` extractor: the same quantity as float_psnr (see the README).
    ("libvmaf_psnr_y", "float_psnr_score"),
];

/// "Equal to 4 decimal places" as Netflix's suite asserts it (`assertAlmostEqual(places=4)`).
fn assert_places_4(line: &Value, case: &str) {
    let expected = golden(case);
    for (ours, theirs) in GOLDEN_KEYS {
        let got = line["scores"][ours]
            .as_f64()
            .unwrap_or_else(|| panic!("{case}: no {ours} in {line}"));
        let want = expected[theirs].as_f64().expect("golden value");
        assert!(
            (got - want).abs() < 0.5e-4,
            "{case}: {ours} = {got}, libvmaf gives {theirs} = {want}"
        );
    }
}

const ALL: &str = "vmaf,float_ssim,float_ms_ssim,libvmaf_psnr";

#[test]
fn sample_pair_and_identity_give_libvmafs_golden_values() {
    let (r, d) = (reference(), distorted());
    let output = qscore(&["--metric", ALL, "--per-frame"], &[&r, &d, &r]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = lines(&output);
    assert_eq!(lines.len(), 2);
    assert_places_4(&lines[0], "distorted");
    assert_places_4(&lines[1], "identity");
    for line in &lines {
        let frames = line["frames"].as_array().expect("per-frame values");
        assert_eq!(frames.len(), 3);
        for frame in frames {
            for (ours, _) in GOLDEN_KEYS {
                assert!(frame[ours].is_number(), "{ours} missing in {frame}");
            }
        }
        // `scores` holds the means over frames.
        let mean = frames
            .iter()
            .map(|f| f["vmaf"].as_f64().unwrap())
            .sum::<f64>()
            / 3.0;
        assert!((line["scores"]["vmaf"].as_f64().unwrap() - mean).abs() < 1e-9);
    }
}

#[test]
fn one_output_and_frame_metrics_mix_with_vmaf() {
    let (r, d) = (reference(), distorted());
    let output = qscore(&["--metric", "vif_scale0,psnr_y"], &[&r, &d]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = &lines(&output)[0];
    let scores = line["scores"].as_object().unwrap();
    let names: Vec<&str> = scores.keys().map(String::as_str).collect();
    assert_eq!(names, ["vif_scale0", "psnr_y"]);
    let golden = golden("distorted");
    let vif = scores["vif_scale0"].as_f64().unwrap();
    assert!((vif - golden["vif_scale0_score"].as_f64().unwrap()).abs() < 0.5e-4);
    let psnr = scores["psnr_y"].as_f64().unwrap();
    assert!((psnr - golden["float_psnr_score"].as_f64().unwrap()).abs() < 0.5e-4);
}

/// qscore's own VMAF is preferred to libvmaf's when both plugins are there.
#[test]
fn the_cpu_plugins_vmaf_is_preferred() {
    let (r, d) = (reference(), distorted());
    let output = qscore(&["--metric", "vmaf"], &[&r, &d]);
    assert!(output.status.success());
    assert_eq!(lines(&output)[0]["backend"]["plugin"], "cpu");
    let output = qscore(&["--metric", "vmaf", "--backend", "libvmaf"], &[&r, &d]);
    assert!(output.status.success());
    assert_eq!(lines(&output)[0]["backend"]["plugin"], "libvmaf");
}

fn vmaf_with(params: &[&str]) -> f64 {
    let (r, d) = (reference(), distorted());
    let mut args = vec!["--metric", "vmaf"];
    for p in params {
        if p.starts_with("--") || !p.contains('=') {
            args.push(p);
        } else {
            args.extend(["--param", p]);
        }
    }
    let output = qscore(&args, &[&r, &d]);
    assert!(
        output.status.success(),
        "{params:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    lines(&output)[0]["scores"]["vmaf"].as_f64().unwrap()
}

/// There are no golden values for the other models: they must differ from the default
/// model's score and stay in VMAF's range. The neg model caps the enhancement gain of
/// VIF and ADM, so on this pair it cannot score above the default model.
#[test]
fn models_and_threads_are_parameters() {
    let default = vmaf_with(&[]);
    let neg = vmaf_with(&["vmaf.model=vmaf_v0.6.1neg"]);
    let four_k = vmaf_with(&["vmaf.model=vmaf_4k_v0.6.1"]);
    assert!((default - 82.5652).abs() < 1e-4, "{default}");
    assert!(
        neg < default - 0.5 && neg > 50.0,
        "neg {neg}, default {default}"
    );
    assert!(
        (four_k - default).abs() > 0.5 && four_k > 0.0 && four_k <= 100.0,
        "4k {four_k}"
    );
    let threaded = vmaf_with(&["vmaf.threads=3", "--backend", "libvmaf"]);
    assert!((threaded - default).abs() < 5e-5, "{threaded} vs {default}");

    let (r, d) = (reference(), distorted());
    let output = qscore(
        &["--metric", "vmaf", "--param", "vmaf.model=vmaf_v9"],
        &[&r, &d],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a built-in model"), "{stderr}");
    assert!(stderr.contains("src01_hrc01"), "{stderr}");
}

#[test]
fn a_bad_clip_fails_alone_and_the_others_are_scored() {
    let dir = support::profile_dir().join("test-vmaf");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("truncated.yuv");
    let bytes = std::fs::read(distorted()).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() * 5 / 6]).unwrap();
    let (r, d) = (reference(), distorted());
    let output = qscore(
        &["--metric", "vmaf", "--workers", "2"],
        &[&r, &d, &truncated, &r],
    );
    assert_eq!(output.status.code(), Some(2));
    let lines = lines(&output);
    assert_eq!(lines.len(), 3);
    let golden_d = golden("distorted")["score"].as_f64().unwrap();
    let golden_i = golden("identity")["score"].as_f64().unwrap();
    assert!((lines[0]["scores"]["vmaf"].as_f64().unwrap() - golden_d).abs() < 0.5e-4);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("truncated.yuv")
    );
    assert!((lines[2]["scores"]["vmaf"].as_f64().unwrap() - golden_i).abs() < 0.5e-4);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("truncated.yuv"), "{stderr}");
}

#[test]
fn images_are_refused_for_vmaf_with_the_reason() {
    let image = support::data("images/flower_512.png");
    let output = Command::new(env!("CARGO_BIN_EXE_qscore"))
        .arg("score")
        .args([&image, &image])
        .args(["--metric", "vmaf", "--no-bench", "--no-default-plugins"])
        .arg("--plugin-dir")
        .arg(plugins())
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore");
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs video inputs"), "{stderr}");
}

/// How many of the clips not yet fed have a decoder reading them now (a named pipe opens
/// for writing without blocking only while a reader has it open); the open ends are kept.
fn pipes_being_read(pipes: &[PathBuf], open: &mut [Option<std::fs::File>], fed: &[bool]) -> usize {
    use std::os::unix::fs::OpenOptionsExt;
    for ((pipe, slot), done) in pipes.iter().zip(open.iter_mut()).zip(fed) {
        if slot.is_none() && !done {
            *slot = std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(pipe)
                .ok()
                .inspect(|file| {
                    use std::os::fd::AsRawFd;
                    // Blocking writes from here on: the reader is there.
                    // SAFETY: fcntl on a descriptor this function owns.
                    unsafe {
                        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
                        libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
                    }
                });
        }
    }
    open.iter().filter(|s| s.is_some()).count()
}

/// `--max-concurrent-decodes` caps the clip pairs decoded at once. The distorted clips are
/// named pipes this test writes into only once a decoder has opened them, so it sees every
/// decoder that starts: with a cap of 1 never two at once, with a cap of 3 all three.
#[test]
fn max_concurrent_decodes_caps_the_clips_decoded_at_once() {
    use std::io::Write;
    let dir = std::env::temp_dir().join(format!("qscore-vmaf-decodes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let encoded = dir.join("distorted.mkv");
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p10le",
        ])
        .args(["-s", "576x324", "-i"])
        .arg(distorted())
        .args(["-c:v", "ffv1"])
        .arg(&encoded)
        .status()
        .expect("ffmpeg is needed for the video tests (apt-get install ffmpeg)");
    assert!(status.success());
    let bytes = std::fs::read(&encoded).unwrap();
    for cap in [1usize, 3] {
        let pipes: Vec<PathBuf> = (0..3)
            .map(|i| dir.join(format!("cap{cap}-{i}.mkv")))
            .collect();
        for pipe in &pipes {
            let c_path = std::ffi::CString::new(pipe.display().to_string()).unwrap();
            // SAFETY: a valid C string; mkfifo only creates the file.
            assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        }
        let reference = reference();
        let mut clips: Vec<&Path> = vec![reference.as_path()];
        clips.extend(pipes.iter().map(PathBuf::as_path));
        let cap_text = cap.to_string();
        std::thread::scope(|scope| {
            let run = scope.spawn(|| {
                qscore(
                    &[
                        "--metric",
                        "vmaf",
                        "--backend",
                        "libvmaf",
                        "--workers",
                        "3",
                        "--max-concurrent-decodes",
                        &cap_text,
                    ],
                    &clips,
                )
            });
            let mut open: Vec<Option<std::fs::File>> = (0..3).map(|_| None).collect();
            let mut fed = [false; 3];
            let mut most = 0;
            let started = std::time::Instant::now();
            while fed.iter().any(|f| !f) {
                assert!(
                    started.elapsed().as_secs() < 120,
                    "decoders never opened every clip"
                );
                let reading = pipes_being_read(&pipes, &mut open, &fed);
                most = most.max(reading);
                // Feed only once `cap` decoders read at once: with a cap of 3 that proves the
                // test sees concurrent decoders; with 1, that it never sees two.
                if reading >= cap {
                    for (slot, done) in open.iter_mut().zip(fed.iter_mut()) {
                        if let Some(mut file) = slot.take() {
                            file.write_all(&bytes).unwrap();
                            *done = true;
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let out = run.join().unwrap();
            assert!(out.status.success(), "{out:?}");
            assert_eq!(lines(&out).len(), 3);
            assert_eq!(most, cap, "clips decoded at once with a cap of {cap}");
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// libvmaf's plugin says it may crash its process (it runs C code), so under `--isolate
/// auto` it runs in worker processes even when shipped beside the executable, where the
/// CPU plugin stays in qscore's own; `--isolate none` keeps both in.
#[test]
fn libvmaf_runs_isolated_even_beside_the_executable() {
    support::build(&["qscore-cpu", "qscore-libvmaf"]);
    let listed = |isolate: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_qscore"))
            .args(["--isolate", isolate, "plugins", "--json"])
            .env_remove("QSCORE_PLUGIN_PATH")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let plugin = |name: &str| {
            listed["plugins"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no {name} in {listed}"))
                .clone()
        };
        (plugin("libvmaf"), plugin("cpu"))
    };
    let (libvmaf, cpu) = listed("auto");
    assert_eq!(libvmaf["isolated"], true, "{libvmaf}");
    assert!(
        libvmaf["risky"].as_str().unwrap().contains("libvmaf"),
        "{libvmaf}"
    );
    assert_eq!(cpu["isolated"], false, "{cpu}");
    assert!(cpu["risky"].is_null(), "{cpu}");
    let (libvmaf, _) = listed("none");
    assert_eq!(libvmaf["isolated"], false, "{libvmaf}");
}
