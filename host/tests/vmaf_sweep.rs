//! qscore's own VMAF through the scheduler: values that do not depend on `--workers` or on
//! reference reuse, a sweep whose reference frames are prepared once for every clip (in
//! lock-step groups no larger than `--max-concurrent-decodes`), Netflix's golden values,
//! and bad clips or models named while the other clips are scored.

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use serde_json::Value;

const SIZE: &str = "576x324";
const PIX_FMT: &str = "yuv420p10le";
const FRAMES: usize = 3;

use support::{sample_distorted as distorted, sample_reference as reference, video};

/// Raw clips made from the sample pair: noisier and blurrier versions of the distorted one.
fn clips() -> &'static [PathBuf] {
    static CLIPS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    CLIPS.get_or_init(|| {
        let dir = support::scratch("test-vmaf-sweep", "clips");
        let source = distorted().display().to_string();
        [
            "noise=alls=8:allf=t",
            "gblur=sigma=1",
            "noise=alls=20:allf=t",
        ]
        .iter()
        .enumerate()
        .map(|(i, filter)| {
            let out = dir.join(format!("clip{i}.yuv"));
            let out_text = out.display().to_string();
            support::ffmpeg(&[
                "-f", "rawvideo", "-pix_fmt", PIX_FMT, "-s", SIZE, "-i", &source, "-vf", filter,
                "-pix_fmt", PIX_FMT, "-f", "rawvideo", &out_text,
            ]);
            out
        })
        .collect()
    })
}

/// `qscore score` on raw clips of the sample's geometry with the CPU plugin alone.
fn qscore(clips: &[&Path], args: &[&str]) -> Output {
    let mut all = vec!["--size", SIZE, "--pix-fmt", PIX_FMT, "--per-frame"];
    all.extend_from_slice(args);
    qscore_on(clips, &all)
}

/// `qscore score --json` with the CPU plugin alone.
fn qscore_on(clips: &[&Path], args: &[&str]) -> Output {
    score_command(clips, args).output().expect("run qscore")
}

/// The command of [`qscore_on`].
fn score_command(clips: &[&Path], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qscore"));
    command
        .arg("score")
        .args(clips)
        .args(args)
        .args([
            "--json",
            "--no-bench",
            "--no-default-plugins",
            "--plugin-dir",
        ])
        .arg(support::cpu_only_dir())
        .env_remove("QSCORE_PLUGIN_PATH");
    command
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// `(reused, prepared)` from the last line on stderr: `score`'s "prepared reference frames:
/// R reused, P prepared", or batch's "prepared references: R reused, P prepared".
fn prepared_counts(output: &Output) -> (u64, u64) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let (line, marker) = stderr
        .lines()
        .rev()
        .find_map(|l| {
            ["prepared reference frames:", "prepared references:"]
                .into_iter()
                .find(|m| l.contains(m))
                .map(|m| (l, m))
        })
        .unwrap_or_else(|| panic!("no summary line in {stderr}"));
    let tail = line.rsplit(marker).next().expect("counts");
    let numbers: Vec<u64> = tail
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers[..] {
        [reused, prepared, ..] => (reused, prepared),
        _ => panic!("unreadable counts in {line}"),
    }
}

/// Every clip's per-frame values, as JSON.
fn frames(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    lines(output).iter().map(|l| l["frames"].clone()).collect()
}

fn sweep_inputs() -> Vec<PathBuf> {
    let mut inputs = vec![reference(), distorted()];
    inputs.extend(clips().iter().cloned());
    inputs
}

#[test]
fn values_do_not_depend_on_workers_or_reference_reuse() {
    let inputs = sweep_inputs();
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let one = frames(&qscore(&paths, &["--metric", "vmaf", "--workers", "1"]));
    assert_eq!(one.len(), 4);
    for args in [
        &["--metric", "vmaf", "--workers", "2"][..],
        &["--metric", "vmaf", "--workers", "8"],
        &["--metric", "vmaf", "--workers", "3", "--no-ref-cache"],
        &["--metric", "vmaf", "--max-concurrent-decodes", "1"],
    ] {
        assert_eq!(frames(&qscore(&paths, args)), one, "{args:?}");
    }
}

#[test]
fn a_sweep_prepares_each_reference_frame_once_per_group() {
    let inputs = sweep_inputs();
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let clips = (paths.len() - 1) as u64;
    let frames = FRAMES as u64;
    // One worker: every clip's frame meets the reference frame prepared for the first.
    let all = qscore(&paths, &["--metric", "vmaf", "--workers", "1"]);
    assert!(all.status.success());
    assert_eq!(prepared_counts(&all), ((clips - 1) * frames, frames));
    // Groups of two clips: the reference is read and prepared once per group.
    let args = [
        "--metric",
        "vmaf",
        "--workers",
        "1",
        "--max-concurrent-decodes",
        "2",
    ];
    let pairs = qscore(&paths, &args);
    assert!(pairs.status.success());
    let groups = clips.div_ceil(2);
    assert_eq!(
        prepared_counts(&pairs),
        ((clips - groups) * frames, groups * frames)
    );
    // Several workers may prepare a busy frame once more each (affinity spill), no more.
    let spread = qscore(&paths, &["--metric", "vmaf", "--workers", "2"]);
    let (reused, prepared) = prepared_counts(&spread);
    assert_eq!(reused + prepared, clips * frames);
    assert!(prepared <= 2 * frames, "{prepared} prepared");
    // Each clip's values are those it gets alone.
    let swept = lines(&all);
    for (i, clip) in paths[1..].iter().enumerate() {
        let alone = lines(&qscore(&[paths[0], clip], &["--metric", "vmaf"]));
        assert_eq!(alone[0]["frames"], swept[i]["frames"], "{}", clip.display());
    }
}

/// A batch of rows sharing a reference, with the default options, reads them in one
/// lock-step group (sized by frame memory, as `score` does), not in groups of the image
/// decode limit: the reference is prepared once; `--max-concurrent-decodes 2` still sets
/// groups of two. Values equal `score`'s.
#[test]
fn a_batch_sweep_prepares_its_reference_once_by_default() {
    let dir = support::scratch("test-vmaf-sweep", "batch");
    let (w, h) = SIZE.split_once('x').unwrap();
    let manifest = dir.join("manifest.csv");
    let mut rows = String::from("reference,distorted,width,height,pix_fmt\n");
    let inputs = sweep_inputs();
    for clip in &inputs[1..] {
        let (r, d) = (inputs[0].display(), clip.display());
        rows.push_str(&format!("{r},{d},{w},{h},{PIX_FMT}\n"));
    }
    std::fs::write(&manifest, rows).unwrap();
    let clips = (inputs.len() - 1) as u64;
    let frames = FRAMES as u64;
    let batch = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let output = Command::new(env!("CARGO_BIN_EXE_qscore"))
            .arg("batch")
            .arg(&manifest)
            .arg("-o")
            .arg(&out)
            .args([
                "--metric",
                "vmaf",
                "--workers",
                "1",
                "--quiet",
                "--no-bench",
            ])
            .args(extra)
            .args(["--no-default-plugins", "--plugin-dir"])
            .arg(support::cpu_only_dir())
            .env_remove("QSCORE_PLUGIN_PATH")
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        (output, std::fs::read_to_string(out).unwrap())
    };
    let (default, table) = batch("default.csv", &[]);
    assert_eq!(prepared_counts(&default), ((clips - 1) * frames, frames));
    let (pairs, same_table) = batch("pairs.csv", &["--max-concurrent-decodes", "2"]);
    let groups = clips.div_ceil(2);
    assert_eq!(
        prepared_counts(&pairs),
        ((clips - groups) * frames, groups * frames)
    );
    assert_eq!(table, same_table);
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let scored = lines(&qscore(&paths, &["--metric", "vmaf"]));
    for (row, line) in table.lines().skip(1).zip(&scored) {
        let vmaf = line["scores"]["vmaf"].as_f64().unwrap();
        assert!(row.contains(&format!("{vmaf}")), "{row} vs {vmaf}");
    }
}

/// Netflix's golden means, asserted to 4 decimal places as Netflix's suite does, for the
/// pair and for the reference against itself: libvmaf 2.3.1 to 3.1.0 by default, 3.2.0's
/// with its motion (`motion_version=3.2.0`).
#[test]
fn the_sample_pair_gives_netflixs_golden_values_for_both_motion_baselines() {
    let text = std::fs::read_to_string(video("golden.json")).expect("golden.json");
    let golden: Value = serde_json::from_str(&text).expect("golden.json is JSON");
    let (r, d) = (reference(), distorted());
    for (baseline, extra) in [
        ("libvmaf_v2.3.1_to_v3.1.0", None),
        (
            "libvmaf_v3.2.0_and_later",
            Some("vmaf.motion_version=3.2.0"),
        ),
    ] {
        let mut args = vec!["--metric", "vmaf"];
        if let Some(param) = extra {
            args.extend(["--param", param]);
        }
        let output = qscore(&[&r, &d, &r], &args);
        assert!(output.status.success(), "{baseline}");
        let lines = lines(&output);
        for (line, case) in lines.iter().zip(["distorted", "identity"]) {
            for (ours, theirs) in [
                ("vmaf", "score"),
                ("vif_scale0", "vif_scale0_score"),
                ("vif_scale1", "vif_scale1_score"),
                ("vif_scale2", "vif_scale2_score"),
                ("vif_scale3", "vif_scale3_score"),
                ("adm2", "adm2_score"),
                ("motion2", "motion2_score"),
            ] {
                let got = line["scores"][ours].as_f64().expect(ours);
                let want = golden[baseline][case][theirs].as_f64().expect(theirs);
                assert!(
                    (got - want).abs() < 5e-5,
                    "{baseline} {case} {ours}: {got} vs {want}"
                );
            }
        }
    }
}

#[test]
fn bad_clips_fail_alone_and_are_named() {
    let dir = support::scratch("test-vmaf-sweep", "bad");
    let bytes = std::fs::read(distorted()).expect("sample clip");
    let truncated = dir.join("truncated.yuv");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = dir.join("corrupt.mp4");
    std::fs::write(&corrupt, b"not a video at all").unwrap();
    let (r, d) = (reference(), distorted());
    let output = qscore(
        &[&r, &truncated, &d, &corrupt, &r],
        &["--metric", "vmaf", "--workers", "2"],
    );
    assert_eq!(output.status.code(), Some(2));
    let lines = lines(&output);
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0]["error"]
            .as_str()
            .unwrap()
            .contains("truncated.yuv")
    );
    assert!(lines[1]["scores"]["vmaf"].is_number());
    assert!(lines[2]["error"].as_str().unwrap().contains("corrupt.mp4"));
    assert!(lines[3]["scores"]["vmaf"].is_number());
    // Alone, the good clip scores the same as in the mixed sweep.
    let alone = self::lines(&qscore(&[&r, &d], &["--metric", "vmaf"]));
    assert_eq!(alone[0]["frames"], lines[1]["frames"]);
}

#[test]
fn a_clip_of_another_size_fails_alone() {
    let dir = support::scratch("test-vmaf-sweep", "size");
    let small = dir.join("small.y4m");
    let (small_text, source) = (
        small.display().to_string(),
        distorted().display().to_string(),
    );
    support::ffmpeg(&[
        "-f",
        "rawvideo",
        "-pix_fmt",
        PIX_FMT,
        "-s",
        SIZE,
        "-i",
        &source,
        "-vf",
        "scale=288:162",
        "-pix_fmt",
        PIX_FMT,
        "-strict",
        "-1",
        &small_text,
    ]);
    let (r, d) = (reference(), distorted());
    // Raw inputs take the given size; the Y4M says its own, which differs.
    let args = ["--size", SIZE, "--pix-fmt", PIX_FMT, "--metric", "vmaf"];
    let output = qscore_on(&[&r, &d, &small], &args);
    assert_eq!(output.status.code(), Some(2));
    let lines = lines(&output);
    assert!(lines[0]["scores"]["vmaf"].is_number());
    let error = lines[1]["error"].as_str().unwrap();
    assert!(
        error.contains("small.y4m") && error.contains("288x162"),
        "{error}"
    );
}

#[test]
fn a_bad_model_file_is_named_with_the_problem() {
    let dir = support::scratch("test-vmaf-sweep", "model");
    let (r, d) = (reference(), distorted());
    let cases = [
        ("broken.json", "{\"model_dict\": ", "JSON"),
        ("empty_dict.json", "{\"model_dict\": {}}", "model_type"),
    ];
    for (name, text, problem) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let param = format!("vmaf.model={}", path.display());
        let output = qscore(&[&r, &d], &["--metric", "vmaf", "--param", &param]);
        assert_ne!(output.status.code(), Some(0), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(name) && stderr.contains(problem),
            "{name}: {stderr}"
        );
    }
    let missing = dir.join("missing.json");
    let param = format!("vmaf.model={}", missing.display());
    let output = qscore(&[&r, &d], &["--metric", "vmaf", "--param", &param]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.json"), "{stderr}");
}

#[test]
fn a_grey_clip_is_refused_naming_the_file() {
    let dir = support::scratch("test-vmaf-sweep", "grey");
    let grey = dir.join("grey.y4m");
    let grey_text = grey.display().to_string();
    support::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=64x48:rate=25",
        "-frames:v",
        "3",
        "-pix_fmt",
        "gray",
        "-strict",
        "-1",
        &grey_text,
    ]);
    let output = qscore_on(&[&grey, &grey], &["--metric", "vmaf"]);
    assert_ne!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("grey.y4m") && stderr.contains("not supported"),
        "{stderr}"
    );
}

/// `--libvmaf-json` writes one log per clip in the shape of libvmaf's `vmaf --json`, with the
/// values `--json` prints.
#[test]
fn libvmaf_json_logs_hold_each_clips_frames_and_pooled_values() {
    let dir = support::scratch("test-vmaf-sweep", "logs");
    let (r, d) = (reference(), distorted());
    let template = dir.join("{}.vmaf.json").display().to_string();
    let output = qscore(
        &[&r, &d, &r],
        &["--metric", "vmaf", "--libvmaf-json", &template],
    );
    assert!(output.status.success());
    let lines = lines(&output);
    for (line, clip) in lines.iter().zip([&d, &r]) {
        let stem = clip.file_stem().unwrap().to_string_lossy();
        let path = dir.join(format!("{stem}.vmaf.json"));
        let log: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("the log")).unwrap();
        let frames = log["frames"].as_array().expect("frames");
        assert_eq!(frames.len(), FRAMES);
        for (i, frame) in frames.iter().enumerate() {
            assert_eq!(frame["frameNum"], i);
            let ours = &line["frames"][i];
            assert_eq!(frame["metrics"]["vmaf"], ours["vmaf"]);
            assert_eq!(frame["metrics"]["integer_adm2"], ours["adm2"]);
            assert_eq!(frame["metrics"]["integer_motion2"], ours["motion2"]);
            assert_eq!(frame["metrics"]["integer_vif_scale0"], ours["vif_scale0"]);
        }
        assert_eq!(
            log["pooled_metrics"]["vmaf"]["mean"],
            line["scores"]["vmaf"]
        );
    }
    // Several clips need `{}` in the name, or their logs would overwrite each other.
    let single = dir.join("one.json").display().to_string();
    let output = qscore(
        &[&r, &d, &r],
        &["--metric", "vmaf", "--libvmaf-json", &single],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("{}"));
}

/// A wrapper `ffmpeg` first in PATH that logs each run's arguments (one line each) and runs
/// the real one: to count the decoder processes a sweep starts.
struct LoggedFfmpeg {
    dir: PathBuf,
    path: std::ffi::OsString,
    log: PathBuf,
}

impl LoggedFfmpeg {
    fn new(dir: &Path) -> Self {
        let real = Command::new("sh")
            .args(["-c", "command -v ffmpeg"])
            .output()
            .expect("sh");
        let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
        assert!(!real.is_empty(), "ffmpeg is needed for the video tests");
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let log = dir.join("ffmpeg.log");
        let script = bin.join("ffmpeg");
        let text = format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n",
            log.display()
        );
        std::fs::write(&script, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut path = bin.into_os_string();
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        Self {
            dir: dir.to_path_buf(),
            path,
            log,
        }
    }

    /// `qscore score INPUTS… ARGS --json` with the CPU plugin alone and this ffmpeg: its
    /// output and how many ffmpeg processes it started, none of which is left running.
    fn score(&self, inputs: &[&Path], args: &[&str]) -> (Output, usize) {
        let _ = std::fs::remove_file(&self.log);
        let output = score_command(inputs, args)
            .env("PATH", &self.path)
            .output()
            .expect("run qscore");
        let runs = std::fs::read_to_string(&self.log).map_or(0, |t| t.lines().count());
        let leftovers = support::processes_mentioning(&format!("{}/", self.dir.display()));
        assert!(leftovers.is_empty(), "{leftovers:?}");
        (output, runs)
    }
}

/// A lossless FFV1 encode of the first `frames` frames of a raw clip of the sample's
/// geometry, played in a loop (ffmpeg decodes it back to the same samples).
fn ffv1(raw: &Path, out: &Path, frames: usize) -> PathBuf {
    let (raw, out_text) = (raw.display().to_string(), out.display().to_string());
    let count = frames.to_string();
    support::ffmpeg(&[
        "-stream_loop",
        "30",
        "-f",
        "rawvideo",
        "-pix_fmt",
        PIX_FMT,
        "-s",
        SIZE,
        "-i",
        &raw,
        "-frames:v",
        &count,
        "-c:v",
        "ffv1",
        "-pix_fmt",
        PIX_FMT,
        &out_text,
    ]);
    out.to_path_buf()
}

/// [`ffv1`] encodes of raw clips, `clip{i}-{frames}.mkv` in `dir`.
fn lossless(dir: &Path, raws: &[PathBuf], frames: Option<usize>) -> Vec<PathBuf> {
    let frames = frames.unwrap_or(FRAMES);
    let name = |i: usize| dir.join(format!("clip{i}-{frames}.mkv"));
    raws.iter()
        .enumerate()
        .map(|(i, raw)| ffv1(raw, &name(i), frames))
        .collect()
}

/// The encodes of a sweep are decoded by one ffmpeg process, with the values of the raw
/// clips; a clip that ends early, a broken file and `--frames` still behave as with a
/// process per clip, and no decoder is left running.
#[test]
fn a_sweep_s_encodes_share_one_decoder_process() {
    let dir = support::scratch("test-vmaf-sweep", "group");
    let raws: Vec<PathBuf> = std::iter::once(distorted())
        .chain(clips().iter().cloned())
        .collect();
    let encodes = lossless(&dir, &raws, None);
    let short = lossless(&dir, &raws[..1], Some(2)).remove(0);
    let broken = dir.join("broken.mkv");
    std::fs::write(&broken, b"not a video").unwrap();
    let ffmpeg = LoggedFfmpeg::new(&dir);
    let r = reference();
    let run = |clips: &[&Path], extra: &[&str]| {
        let inputs = [&[r.as_path()], clips].concat();
        let args = [
            "--size",
            SIZE,
            "--pix-fmt",
            PIX_FMT,
            "--per-frame",
            "--metric",
            "vmaf",
        ];
        ffmpeg.score(&inputs, &[&args[..], extra].concat())
    };
    let raw_refs: Vec<&Path> = raws.iter().map(PathBuf::as_path).collect();
    let expected = frames(&qscore(
        &[&[r.as_path()], &raw_refs[..]].concat(),
        &["--metric", "vmaf"],
    ));

    let all: Vec<&Path> = encodes.iter().map(PathBuf::as_path).collect();
    let (output, runs) = run(&all, &[]);
    assert_eq!(
        frames(&output),
        expected,
        "decoded together, the values of the raw clips"
    );
    assert_eq!(runs, 1, "one ffmpeg process for {} clips", all.len());

    let (output, runs) = run(&[all[0], &short, all[1]], &[]);
    assert_eq!(output.status.code(), Some(2));
    let got = lines(&output);
    let error = got[1]["error"].as_str().unwrap();
    assert!(
        error.contains("clip0-2.mkv") && error.contains("has 2 frames, fewer than"),
        "{error}"
    );
    assert_eq!(
        [&got[0]["frames"], &got[2]["frames"]],
        [&expected[0], &expected[1]]
    );
    // Three frames fit what the streams hold: the group ends cleanly, the short clip's
    // stream with it (under a heavy load the group may be given up instead, to the same
    // values).
    assert!(runs >= 1);

    let (output, _) = run(&[all[0], &broken, all[1]], &[]);
    assert_eq!(output.status.code(), Some(2));
    let got = lines(&output);
    assert!(
        got[1]["error"].as_str().unwrap().contains("broken.mkv"),
        "{}",
        got[1]
    );
    assert_eq!(
        [&got[0]["frames"], &got[2]["frames"]],
        [&expected[0], &expected[1]]
    );

    let (output, runs) = run(&all, &["--frames", "1"]);
    let got = frames(&output);
    assert!(got.iter().all(|f| f.as_array().unwrap().len() == 1));
    assert_eq!(runs, 1);
}

/// In a longer sweep a clip that ends early holds the others back (ffmpeg keeps its stream
/// open): the group is given up, every clip goes on with a process of its own from where it
/// was, and the values are those of clips decoded alone.
#[test]
fn a_clip_ending_early_sends_its_group_on_alone() {
    let dir = support::scratch("test-vmaf-sweep", "group-short");
    let long = |source: &Path, name: &str, frames: usize| ffv1(source, &dir.join(name), frames);
    let reference = long(&reference(), "reference.mkv", 60);
    let clips = [
        long(&distorted(), "a.mkv", 60),
        long(&distorted(), "short.mkv", 10),
        long(&clips()[0], "b.mkv", 60),
    ];
    let ffmpeg = LoggedFfmpeg::new(&dir);
    let run = |clips: &[&Path]| {
        let inputs = [&[reference.as_path()], clips].concat();
        ffmpeg.score(&inputs, &["--metric", "psnr", "--per-frame"])
    };
    let (output, runs) = run(&[&clips[0], &clips[1], &clips[2]]);
    assert_eq!(output.status.code(), Some(2));
    let got = lines(&output);
    let error = got[1]["error"].as_str().unwrap();
    assert!(
        error.contains("short.mkv") && error.contains("has 10 frames, fewer than"),
        "{error}"
    );
    // The reference twice (checked by the command, then read), the group, then one process
    // each for the two long clips and the short one.
    assert_eq!(runs, 6, "{}", std::fs::read_to_string(&ffmpeg.log).unwrap());
    for (i, clip) in [(0, &clips[0]), (2, &clips[2])] {
        let (alone, _) = run(&[clip]);
        assert_eq!(
            lines(&alone)[0]["frames"],
            got[i]["frames"],
            "{}",
            clip.display()
        );
        assert_eq!(got[i]["frames"].as_array().unwrap().len(), 60);
    }
}

/// The sweep on the GPU plugin (wgpu; lavapipe in CI): each reference frame's work is
/// prepared once on the device and reused by every clip, and every clip's frames equal the
/// CPU plugin's. Skipped where wgpu has no device unless `QSCORE_REQUIRE_DEVICES` names it.
#[test]
fn a_sweep_on_the_gpu_prepares_each_reference_frame_once_and_equals_the_cpu() {
    support::build(&["qscore-wgpu"]);
    let dir = support::plugin_dir(
        "vmaf-sweep-wgpu",
        &[
            support::cpu_plugin(),
            support::library("qscore_plugin_wgpu"),
        ],
    );
    let inputs = sweep_inputs();
    let paths: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let run = |backend: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qscore"));
        command
            .arg("score")
            .args(&paths)
            .args([
                "--size",
                SIZE,
                "--pix-fmt",
                PIX_FMT,
                "--per-frame",
                "--json",
            ])
            .args(["--metric", "vmaf", "--workers", "1", "--no-bench"])
            .args([
                "--backend",
                backend,
                "--no-fallback",
                "--no-default-plugins",
            ])
            .arg("--plugin-dir")
            .arg(&dir)
            .env_remove("QSCORE_PLUGIN_PATH");
        command.output().expect("run qscore")
    };
    let gpu = run("wgpu");
    let stderr = String::from_utf8_lossy(&gpu.stderr);
    let required = std::env::var("QSCORE_REQUIRE_DEVICES").unwrap_or_default();
    if !gpu.status.success() && stderr.contains("no device") && !required.contains("wgpu") {
        eprintln!("skipping: wgpu has no device here");
        return;
    }
    assert!(gpu.status.success(), "{stderr}");
    let clips = (paths.len() - 1) as u64;
    let frames_each = FRAMES as u64;
    assert_eq!(
        prepared_counts(&gpu),
        ((clips - 1) * frames_each, frames_each)
    );
    for line in lines(&gpu) {
        assert_eq!(line["backend"]["plugin"], "wgpu", "{line}");
    }
    assert_eq!(frames(&gpu), frames(&run("cpu")));
}
