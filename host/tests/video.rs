//! `qscore score` on clips: raw YUV and Y4M give the same numbers, which match
//! libvmaf's float features on the Netflix sample, and bad clips are named.

mod support;

use std::{path::PathBuf, process::Command};

use serde_json::Value;

const W: usize = 576;
const H: usize = 324;
const FRAME: usize = W * H * 2 * 3 / 2;

use support::{sample_distorted as distorted, sample_reference as reference, video};

fn scratch(name: &str) -> PathBuf {
    support::scratch("test-video", name)
}

/// `qscore ARGS` with only the CPU plugin and no quick-bench.
fn qscore_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qscore"));
    command
        .args(args)
        .args(["--no-bench", "--no-default-plugins", "--plugin-dir"])
        .arg(support::cpu_only_dir())
        .env_remove("QSCORE_PLUGIN_PATH");
    command
}

fn qscore(args: &[&str]) -> std::process::Output {
    qscore_command(args)
        .arg("--json")
        .output()
        .expect("run qscore")
}

fn raw_args<'a>(reference: &'a str, distorted: &'a str) -> Vec<&'a str> {
    vec![
        "score",
        reference,
        distorted,
        "--size",
        "576x324",
        "--pix-fmt",
        "yuv420p10le",
        "--metric",
        "psnr_y,ssim,ms_ssim",
        "--per-frame",
    ]
}

fn line(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Wraps a raw 576x324 yuv420p10le file into a Y4M stream.
fn to_y4m(raw: &std::path::Path, out: &std::path::Path) {
    let bytes = std::fs::read(raw).unwrap();
    let mut y4m = b"YUV4MPEG2 W576 H324 F25:1 Ip A1:1 C420p10 XYSCSS=420P10\n".to_vec();
    for frame in bytes.chunks_exact(FRAME) {
        y4m.extend_from_slice(b"FRAME\n");
        y4m.extend_from_slice(frame);
    }
    std::fs::write(out, y4m).unwrap();
}

#[test]
fn raw_clips_match_libvmaf_float_features() {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(video("golden.json")).unwrap()).unwrap();
    let baseline = &golden["libvmaf_v2.3.1_to_v3.1.0"];
    for (case, dist) in [("distorted", distorted()), ("identity", reference())] {
        let (r, d) = (
            reference().display().to_string(),
            dist.display().to_string(),
        );
        let json = line(&qscore(&raw_args(&r, &d)));
        assert_eq!(json["frame_count"], 3);
        assert_eq!(json["frames"].as_array().unwrap().len(), 3);
        for (ours, theirs) in [
            ("psnr_y", "float_psnr_score"),
            ("ssim", "float_ssim_score"),
            ("ms_ssim", "float_ms_ssim_score"),
        ] {
            let value = json["scores"][ours].as_f64().unwrap();
            let expected = baseline[case][theirs].as_f64().unwrap();
            assert!(
                (value - expected).abs() < 5e-5,
                "{case} {ours}: {value} vs {expected}"
            );
            assert_eq!(json["pooled"][ours]["mean"], json["scores"][ours]);
        }
    }
}

#[test]
fn y4m_and_raw_give_identical_scores() {
    let dir = scratch("y4m");
    let (ry, dy) = (dir.join("ref.y4m"), dir.join("dist.y4m"));
    to_y4m(&reference(), &ry);
    to_y4m(&distorted(), &dy);
    let (r, d) = (
        reference().display().to_string(),
        distorted().display().to_string(),
    );
    let raw = line(&qscore(&raw_args(&r, &d)));
    let (ry, dy) = (ry.display().to_string(), dy.display().to_string());
    let y4m = line(&qscore(&[
        "score",
        &ry,
        &dy,
        "--metric",
        "psnr_y,ssim,ms_ssim",
        "--per-frame",
    ]));
    assert_eq!(raw["scores"], y4m["scores"]);
    assert_eq!(raw["frames"], y4m["frames"]);
    assert_eq!(raw["pooled"], y4m["pooled"]);
}

/// A distorted Y4M clip may come through a named pipe (an encoder writing as it goes) and
/// scores as the file does; a reference may not, since it is read more than once, and raw
/// YUV may not, since its frames are counted from its size: both are refused by name.
#[test]
fn a_y4m_pipe_scores_like_its_file_and_other_pipes_are_refused_by_name() {
    let dir = scratch("pipe");
    let (ry, dy) = (dir.join("ref.y4m"), dir.join("dist.y4m"));
    to_y4m(&reference(), &ry);
    to_y4m(&distorted(), &dy);
    let (ry, dy) = (ry.display().to_string(), dy.display().to_string());
    let args = |distorted: &str| -> Vec<String> {
        [
            "score",
            &ry,
            distorted,
            "--metric",
            "psnr_y,ssim",
            "--per-frame",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let file = line(&qscore(
        &args(&dy).iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let pipe = dir.join("pipe.y4m");
    support::stalled_pipe(&pipe);
    let writer = {
        let (pipe, source) = (pipe.clone(), dy.clone());
        std::thread::spawn(move || {
            let mut out = std::fs::File::create(pipe).unwrap();
            std::io::Write::write_all(&mut out, &std::fs::read(source).unwrap()).unwrap();
        })
    };
    let piped = args(&pipe.display().to_string());
    let through_pipe = line(&qscore(
        &piped.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    writer.join().unwrap();
    assert_eq!(file["frames"], through_pipe["frames"]);
    assert_eq!(file["pooled"], through_pipe["pooled"]);

    // Nobody writes to these: qscore must refuse them before opening them.
    let p = pipe.display().to_string();
    let reference_pipe = qscore(&["score", &p, &dy, "--metric", "psnr_y"]);
    assert_eq!(reference_pipe.status.code(), Some(1), "{reference_pipe:?}");
    let stderr = String::from_utf8_lossy(&reference_pipe.stderr);
    assert!(
        stderr.contains(&p) && stderr.contains("is a pipe"),
        "{stderr}"
    );
    let raw = dir.join("pipe.yuv");
    support::stalled_pipe(&raw);
    let raw = raw.display().to_string();
    let raw_pipe = qscore(&raw_args(&reference().display().to_string(), &raw));
    let stderr = String::from_utf8_lossy(&raw_pipe.stderr);
    assert!(
        stderr.contains(&raw) && stderr.contains("not a regular file"),
        "{stderr}"
    );
}

#[test]
fn clips_of_different_lengths_need_frames() {
    let dir = scratch("lengths");
    let short = dir.join("two_frames.yuv");
    std::fs::write(&short, &std::fs::read(distorted()).unwrap()[..2 * FRAME]).unwrap();
    let (r, s) = (
        reference().display().to_string(),
        short.display().to_string(),
    );
    let out = qscore(&raw_args(&r, &s));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&s) && stderr.contains("has 2 frames but the reference"),
        "{stderr}"
    );
    assert!(stderr.contains("--frames"), "{stderr}");
    let mut args = raw_args(&r, &s);
    args.extend(["--frames", "2"]);
    let json = line(&qscore(&args));
    assert_eq!(json["frame_count"], 2);
}

#[test]
fn a_wrong_raw_size_is_named() {
    let dir = scratch("wrong-size");
    let odd = dir.join("odd.yuv");
    std::fs::write(&odd, vec![0u8; FRAME + 10]).unwrap();
    let (r, o) = (reference().display().to_string(), odd.display().to_string());
    let out = qscore(&raw_args(&r, &o));
    assert_eq!(
        out.status.code(),
        Some(2),
        "a bad distorted clip fails only itself"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&o) && stderr.contains("not a whole number of 576x324 yuv420p10le frames"),
        "{stderr}"
    );
    let out = qscore(&raw_args(&o, &r));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad reference fails the command"
    );
}

/// Encodes a raw 576x324 yuv420p10le clip as lossless 10-bit H.264.
fn encode_lossless(raw: &std::path::Path, out: &std::path::Path) {
    let (raw, out) = (raw.display().to_string(), out.display().to_string());
    support::ffmpeg(&[
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p10le",
        "-s",
        "576x324",
        "-i",
        &raw,
        "-c:v",
        "libx264",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p10le",
        &out,
    ]);
}

#[test]
fn an_h264_encode_decoded_by_ffmpeg_scores_like_the_raw_frames() {
    let dir = scratch("ffmpeg");
    let (rm, dm) = (dir.join("ref.mp4"), dir.join("dist.mp4"));
    encode_lossless(&reference(), &rm);
    encode_lossless(&distorted(), &dm);
    let (r, d) = (
        reference().display().to_string(),
        distorted().display().to_string(),
    );
    let raw = line(&qscore(&raw_args(&r, &d)));
    let (rm, dm) = (rm.display().to_string(), dm.display().to_string());
    // No geometry given: the YUV4MPEG2 stream ffmpeg writes says 576x324 yuv420p10le.
    let decoded = line(&qscore(&[
        "score",
        &rm,
        &dm,
        "--metric",
        "psnr_y,ssim,ms_ssim",
        "--per-frame",
    ]));
    assert_eq!(raw["scores"], decoded["scores"]);
    assert_eq!(raw["frames"], decoded["frames"]);
    assert!(
        support::processes_mentioning(&rm).is_empty()
            && support::processes_mentioning(&dm).is_empty()
    );
}

/// With `--size` given, an encode decoded at another size is refused by name, not read as
/// misaligned frames; one of the given size is scored with its pixel format converted.
#[test]
fn a_decoded_size_other_than_the_one_given_is_refused() {
    let dir = scratch("ffmpeg-size");
    let (small, same) = (dir.join("small.mkv"), dir.join("same.mkv"));
    let raw = distorted().display().to_string();
    let input = [
        "-f",
        "rawvideo",
        "-pix_fmt",
        "yuv420p10le",
        "-s",
        "576x324",
        "-i",
        &raw,
    ];
    let (small_s, same_s) = (small.display().to_string(), same.display().to_string());
    let small_args = [
        "-vf",
        "scale=288:162",
        "-c:v",
        "ffv1",
        "-pix_fmt",
        "yuv420p10le",
    ];
    support::ffmpeg(&[&input[..], &small_args, &[&small_s]].concat());
    // 8 bits: converted to the 10 bits given on the way out of ffmpeg.
    support::ffmpeg(
        &[
            &input[..],
            &["-c:v", "ffv1", "-pix_fmt", "yuv420p"],
            &[&same_s],
        ]
        .concat(),
    );
    let r = reference().display().to_string();
    let out = qscore(&[&raw_args(&r, &small_s)[..], &[&same_s]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&small_s)
            && stderr.contains(
                "decodes to 288x162 yuv420p10le frames, but 576x324 yuv420p10le was given"
            ),
        "{stderr}"
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scored = lines
        .iter()
        .find(|l| l["distorted"] == same_s.as_str())
        .expect("the clip of the given size is scored");
    assert!(scored["scores"]["psnr_y"].as_f64().is_some(), "{scored}");
    assert!(support::processes_mentioning(&small_s).is_empty());
}

#[test]
fn a_failing_or_killed_ffmpeg_is_a_clear_error_and_is_reaped() {
    let dir = scratch("ffmpeg-failures");
    let good = dir.join("ref.mp4");
    encode_lossless(&reference(), &good);
    let broken = dir.join("broken.mp4");
    std::fs::write(&broken, b"this is not an mp4 file at all").unwrap();
    let truncated = dir.join("truncated.mp4");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let g = good.display().to_string();
    for (path, expected) in [(&broken, "cannot read it"), (&truncated, "ffmpeg")] {
        let p = path.display().to_string();
        let out = qscore(&["score", &g, &p, "--metric", "psnr_y"]);
        assert_eq!(out.status.code(), Some(2), "{p}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&p) && stderr.contains(expected), "{stderr}");
    }
    // Killed mid-stream: the reader reports it, and dropping the source leaves nothing behind.
    let long = dir.join("long.mkv");
    let l = long.display().to_string();
    support::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=576x324:rate=25:duration=20",
        "-c:v",
        "ffv1",
        &l,
    ]);
    let mut source = qscore_host::video::open_video(&long, None).unwrap();
    assert!(source.next_frame().unwrap().is_some());
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| pid.chars().all(|c| c.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|b| {
                String::from_utf8_lossy(&b).starts_with("ffmpeg")
                    && String::from_utf8_lossy(&b).contains(&l)
            })
        })
        .collect();
    assert_eq!(pids.len(), 1, "one decoder runs");
    assert!(
        Command::new("kill")
            .args(["-9", &pids[0]])
            .status()
            .unwrap()
            .success()
    );
    let error = loop {
        match source.next_frame() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("a killed decoder must not look like a clean end"),
            Err(error) => break error.to_string(),
        }
    };
    assert!(
        error.contains(&l) && error.contains("ffmpeg failed"),
        "{error}"
    );
    drop(source);
    assert!(
        support::processes_mentioning(&l).is_empty(),
        "decoder reaped"
    );
    // Dropping a source early stops its decoder too.
    let mut early = qscore_host::video::open_video(&long, None).unwrap();
    assert!(early.next_frame().unwrap().is_some());
    drop(early);
    assert!(
        support::processes_mentioning(&l).is_empty(),
        "decoder stopped on drop"
    );
}

#[test]
fn a_missing_ffmpeg_is_named() {
    let dir = scratch("no-ffmpeg");
    let clip = dir.join("clip.mp4");
    std::fs::write(&clip, b"whatever").unwrap();
    let c = clip.display().to_string();
    let out = qscore_command(&["score", &c, &c, "--metric", "psnr_y"])
        .env("PATH", &dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs `ffmpeg`") && stderr.contains("not installed"),
        "{stderr}"
    );
}

fn motion_golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(video("motion_libvmaf_v2.3.1.json")).unwrap())
        .unwrap()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn motion2_through_the_cli_equals_libvmaf() {
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(video("golden.json")).unwrap()).unwrap();
    let baseline = &golden["libvmaf_v2.3.1_to_v3.1.0"];
    let per_frame = &motion_golden()["clips"]["src01_hrc00_576x324.yuv420p10le.yuv"];
    for (case, dist) in [("distorted", distorted()), ("identity", reference())] {
        let (r, d) = (
            reference().display().to_string(),
            dist.display().to_string(),
        );
        let mut args = raw_args(&r, &d);
        let metric = args.iter().position(|a| *a == "--metric").unwrap() + 1;
        args[metric] = "motion2,psnr";
        let json = line(&qscore(&args));
        let frames: Vec<f64> = json["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["motion2"].as_f64().unwrap())
            .collect();
        // Frame by frame, exactly libvmaf v2.3.1's integer motion2 (the first frame's is 0).
        assert_eq!(
            frames,
            numbers(&per_frame["VMAF_integer_feature_motion2_score"])
        );
        let mean = json["scores"]["motion2"].as_f64().unwrap();
        let expected = baseline[case]["motion2_score"].as_f64().unwrap();
        assert!(
            (mean - expected).abs() < 5e-5,
            "{case}: {mean} vs {expected}"
        );
        // psnr ran alongside it, on every frame.
        assert!(json["frames"][2]["psnr_y"].as_f64().is_some());
    }
}

#[test]
fn a_clip_cut_short_flushes_its_last_frame_as_libvmaf_does() {
    let (r, d) = (
        reference().display().to_string(),
        distorted().display().to_string(),
    );
    let mut args = raw_args(&r, &d);
    let metric = args.iter().position(|a| *a == "--metric").unwrap() + 1;
    args[metric] = "motion,motion2";
    args.extend(["--frames", "2"]);
    let json = line(&qscore(&args));
    let golden = &motion_golden()["clips"]["src01_hrc00_576x324.yuv420p10le.yuv"];
    let motion = numbers(&golden["VMAF_integer_feature_motion_score"]);
    // With no frame after it, the last frame's motion2 is its own motion (libvmaf's flush).
    assert_eq!(json["frames"][0]["motion2"], 0.0);
    assert_eq!(json["frames"][1]["motion2"].as_f64().unwrap(), motion[1]);
    assert_eq!(json["frames"][1]["motion"].as_f64().unwrap(), motion[1]);
}

#[test]
fn a_temporal_metric_on_images_is_a_clear_error() {
    let image = support::data("images/flower_512.png").display().to_string();
    for metric in ["motion", "motion2"] {
        let out = qscore(&["score", &image, &image, "--metric", metric]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{metric} is a temporal metric")) && stderr.contains("video"),
            "{stderr}"
        );
    }
}

/// A decoder that never produces a frame (here ffmpeg waits forever
/// to open a named pipe nobody writes to) is killed at the deadline: the read fails instead
/// of hanging, and nothing is left running.
#[test]
fn a_hung_decoder_is_killed_at_the_deadline() {
    use std::time::{Duration, Instant};
    let dir = scratch("ffmpeg-hung");
    let fifo = dir.join("stalled.mkv");
    support::stalled_pipe(&fifo);
    let f = fifo.display().to_string();
    let geometry = qscore_host::video::VideoGeometry::parse("576x324", "yuv420p").unwrap();
    for given in [Some(geometry), None] {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(500);
        let result = qscore_host::video::open_video_until(&fifo, given, Some(deadline))
            .and_then(|mut source| source.next_frame().map(drop));
        let error = result.expect_err("a decoder with no input cannot give a frame");
        assert!(error.to_string().contains(&f), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "stopped after {:?}",
            started.elapsed()
        );
        assert!(
            support::processes_mentioning(&f).is_empty(),
            "decoder reaped"
        );
    }
}

/// Ctrl-C (or SIGTERM) while a decoder runs: qscore kills and reaps it, says so, and exits
/// with 128 + the signal, instead of leaving ffmpeg waiting on its input.
#[test]
fn a_signal_stops_qscore_and_its_decoders() {
    let dir = scratch("signal");
    let fifo = dir.join("stalled.mkv");
    support::stalled_pipe(&fifo);
    let (r, f) = (
        reference().display().to_string(),
        fifo.display().to_string(),
    );
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let child = support::Running::spawn(
            qscore_command(&raw_args(&r, &f))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped()),
        );
        support::wait_for("ffmpeg to start", || {
            support::processes_mentioning(&f)
                .iter()
                .any(|cmd| cmd.starts_with("ffmpeg"))
        });
        let out = child.signal_and_wait(signal);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(128 + signal), "{stderr}");
        assert!(
            stderr.contains(&format!("interrupted by {name}; stopped 1 decoder")),
            "{stderr}"
        );
        assert!(support::processes_mentioning(&f).is_empty(), "decoder left");
    }
}
