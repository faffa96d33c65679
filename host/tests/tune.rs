//! `qscore tune`: the bisection finds the CRF an exhaustive scan finds, in few encodes, for a
//! metric where higher is better and one where lower is; bad requests fail by name and leave
//! nothing in the work folder.

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

const ARGS: [&str; 4] = ["-preset", "ultrafast", "-threads", "1"];

fn scratch(name: &str) -> PathBuf {
    support::scratch("test-tune", name)
}

/// A 1 s 160x96 clip.
fn reference(dir: &Path) -> PathBuf {
    let path = dir.join("ref.y4m");
    support::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x96:rate=25:duration=1",
        "-pix_fmt",
        "yuv420p",
        &path.display().to_string(),
    ]);
    path
}

/// `qscore ARGS` with the CPU plugin alone and the cache folder (probe cache included) in
/// `$QSCORE_CACHE_DIR`, which each test sets to a folder of its own.
fn command(args: &[&str], cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qscore"));
    command
        .args(args)
        .args(["--no-default-plugins", "--plugin-dir"])
        .arg(support::cpu_only_dir())
        .env("QSCORE_CACHE_DIR", cache)
        .env_remove("QSCORE_PLUGIN_PATH");
    command
}

fn qscore_in(args: &[&str], cache: &Path) -> Output {
    command(args, cache).output().expect("run qscore")
}

/// [`qscore_in`] with a fresh cache folder.
fn qscore(args: &[&str]) -> Output {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let cache = scratch(&format!("cache-{}-{n}", std::process::id()));
    qscore_in(args, &cache)
}

fn tune_args(reference: &Path, workdir: &Path, target: &str, range: &str) -> Vec<String> {
    let (r, w) = (
        reference.display().to_string(),
        workdir.display().to_string(),
    );
    [
        "tune",
        &r,
        "--encoder",
        "libx264",
        "--target",
        target,
        "--range",
        range,
        "--preset",
        "ultrafast",
        "--encoder-args",
        "-threads 1",
        "--workdir",
        &w,
        "--json",
        "--jobs",
        "1",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn tune(reference: &Path, workdir: &Path, target: &str, range: &str) -> Output {
    let args = tune_args(reference, workdir, target, range);
    qscore(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The pooled mean of `metric` for `reference` encoded at every CRF of `lo..=hi`, each
/// encoded here as `tune` encodes and scored by `qscore score`.
fn scan(dir: &Path, reference: &Path, metric: &str, (lo, hi): (u32, u32)) -> Vec<(u32, f64)> {
    let r = reference.display().to_string();
    (lo..=hi)
        .map(|crf| {
            let out = dir.join(format!("scan-{crf}.mkv")).display().to_string();
            let crf_text = crf.to_string();
            let mut args = vec![
                "-i", &r, "-map", "0:v:0", "-an", "-c:v", "libx264", "-crf", &crf_text,
            ];
            args.extend(ARGS);
            args.push(&out);
            support::ffmpeg(&args);
            let scored = qscore(&["score", &r, &out, "--metric", metric, "--json"]);
            assert!(scored.status.success(), "{scored:?}");
            let row: Value = serde_json::from_slice(&scored.stdout).unwrap();
            (crf, row["pooled"][metric]["mean"].as_f64().unwrap())
        })
        .collect()
}

/// A scratch folder with a reference clip and an empty work folder.
fn fixture(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = scratch(name);
    let reference = reference(&dir);
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    (dir, reference, work)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn empty(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().next().is_none()
}

fn check_against_scan(name: &str, metric: &str, lower_is_better: bool) {
    let (dir, reference, work) = fixture(name);
    let range = (20, 32);
    let scanned = scan(&dir, &reference, metric, range);
    // A target between the scan's values at CRF 25 and 26, so that the answer is inside.
    let at = |crf: u32| scanned.iter().find(|(c, _)| *c == crf).unwrap().1;
    let target = (at(25) + at(26)) / 2.0;
    let meets = |v: f64| {
        if lower_is_better {
            v <= target
        } else {
            v >= target
        }
    };
    let want = scanned
        .iter()
        .filter(|(_, v)| meets(*v))
        .map(|(c, _)| *c)
        .max();
    let out = tune(&reference, &work, &format!("{metric}={target}"), "20:32");
    assert!(out.status.success(), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["crf"].as_u64().map(|c| c as u32), want, "{answer}");
    let probes = answer["probes"].as_array().unwrap().len();
    // ⌈log2(12)⌉ + 2.
    assert!(probes <= 6, "{probes} encodes: {answer}");
    for probe in answer["probes"].as_array().unwrap() {
        let crf = probe["crf"].as_u64().unwrap() as u32;
        assert_eq!(probe["score"].as_f64().unwrap(), at(crf), "{probe}");
        assert!(probe["bytes"].as_u64().unwrap() > 0);
        assert!(probe["bitrate_kbps"].as_f64().unwrap() > 0.0);
    }
    assert!(empty(&work), "encodes left in the work folder");
}

#[test]
fn the_search_finds_what_a_scan_finds_for_psnr() {
    check_against_scan("psnr", "psnr_y", false);
}

#[test]
fn the_search_finds_what_a_scan_finds_for_ssimulacra2() {
    check_against_scan("ssimulacra2", "ssimulacra2", false);
}

#[test]
fn the_search_finds_what_a_scan_finds_for_butteraugli_where_lower_is_better() {
    check_against_scan("butteraugli", "butteraugli", true);
}

#[test]
fn bad_requests_fail_by_name_and_an_unmet_target_exits_3() {
    let (dir, reference, work) = fixture("bad");
    let (r, w) = (reference.display().to_string(), work.display().to_string());
    let run = |extra: &[&str]| {
        let mut args = vec!["tune", r.as_str(), "--workdir", w.as_str()];
        args.extend_from_slice(extra);
        qscore(&args)
    };
    let cases: [(&[&str], &str); 5] = [
        (
            &["--encoder", "libx266", "--target", "psnr_y=40"],
            "unknown encoder",
        ),
        (
            &["--encoder", "libx264", "--target", "vmaf=150"],
            "outside vmaf's values",
        ),
        (
            &[
                "--encoder",
                "libx264",
                "--target",
                "psnr_y=40",
                "--range",
                "30:60",
            ],
            "0:51",
        ),
        (
            &["--encoder", "libx264", "--target", "nosuch=1"],
            "unknown metric",
        ),
        (
            &[
                "--encoder",
                "libx264",
                "--target",
                "psnr_y=40",
                "--encoder-args",
                "-bogus 1",
            ],
            "libx264 at -crf",
        ),
    ];
    for (args, says) in cases {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(empty(&work), "{args:?} left files");
    }
    let of_reference = |path: &str| {
        let args = [
            "tune",
            path,
            "--encoder",
            "libx264",
            "--target",
            "psnr_y=40",
        ];
        qscore(&[&args[..], &["--workdir", w.as_str()]].concat())
    };
    let missing = of_reference("/nonexistent/ref.y4m");
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    let said = stderr(&missing);
    assert!(
        said.contains("/nonexistent/ref.y4m") && !said.contains("-crf"),
        "{said}"
    );
    let garbage = dir.join("garbage.mp4");
    std::fs::write(&garbage, b"not a video at all").unwrap();
    let g = garbage.display().to_string();
    let undecodable = of_reference(&g);
    assert_eq!(undecodable.status.code(), Some(1), "{undecodable:?}");
    assert!(
        stderr(&undecodable).contains(&g),
        "{}",
        stderr(&undecodable)
    );
    assert!(empty(&work));

    // No CRF of the range reaches 99 dB: exit 3, the closest (lowest) CRF reported.
    let out = tune(&reference, &work, "psnr_y=99", "20:32");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["met"], false);
    assert_eq!(answer["crf"], 20);
    // The bisection of 20..=32 and "none": ⌈log2(14)⌉ probes, the last at 20.
    let probed = answer["probes"].as_array().unwrap();
    assert!(probed.len() <= 4 && probed[0]["crf"] == 20, "{probed:?}");
    assert!(empty(&work));
}

fn probes(output: &Output) -> Vec<Value> {
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    answer["probes"].as_array().unwrap().clone()
}

/// Lines of the probe cache files under `cache`.
fn kept_probes(cache: &Path) -> usize {
    std::fs::read_dir(cache.join("tune"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .lines()
                .count()
        })
        .sum()
}

/// `qscore ARGS` started with its output captured.
fn start(args: &[&str], cache: &Path) -> support::Running {
    support::Running::spawn(
        command(args, cache)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    )
}

/// A run killed with SIGKILL after some probes, then run again: the same answer as a run
/// never killed, no finished probe encoded again, and the killed run's work folder removed
/// by the next run. SIGINT removes the work folder at once and exits 130.
#[test]
fn a_killed_run_resumes_from_its_probes_and_leaves_no_files() {
    let (_, reference, work) = fixture("kill");
    let args = tune_args(&reference, &work, "psnr_y=38", "0:51");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let whole = qscore(&args);
    assert!(whole.status.success(), "{whole:?}");
    let answer: Value = serde_json::from_slice(&whole.stdout).unwrap();

    let cache = scratch("kill-cache");
    let running = start(&args, &cache);
    support::wait_for("two probes kept", || kept_probes(&cache) >= 2);
    let out = running.signal_and_wait(libc::SIGKILL);
    let kept = kept_probes(&cache);
    let again = qscore_in(&args, &cache);
    assert!(again.status.success(), "{again:?}");
    let resumed: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(resumed["crf"], answer["crf"]);
    let cached = probes(&again)
        .iter()
        .filter(|p| p["cached"] == true)
        .count();
    if out.status.code().is_none() {
        assert_eq!(cached, kept, "{resumed}");
    }
    assert_eq!(probes(&again).len(), probes(&whole).len());
    assert!(empty(&work), "the killed run's folder is left");

    // Ctrl-C (SIGINT) in the middle of a run: exit 130, nothing left in the work folder.
    let fresh = scratch("kill-cache-2");
    let running = start(&args, &fresh);
    support::wait_for("a probe kept", || kept_probes(&fresh) >= 1);
    let out = running.signal_and_wait(libc::SIGINT);
    if out.status.code() == Some(130) {
        assert!(empty(&work), "SIGINT left files");
    } else {
        // The run ended before the signal arrived.
        assert!(out.status.success(), "{out:?}");
    }
}

/// A small tmpfs mounted at `mnt` for the life of the value (needs root, as CI has).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(mnt: &Path, size: &str) -> Option<Self> {
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(mnt)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Self(mnt.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A work folder on a full disk stops the run before it encodes, naming the folder, and the
/// same command runs to the uninterrupted answer once space is freed, leaving nothing there.
#[test]
fn a_full_work_folder_stops_the_run_by_name_and_it_resumes_once_freed() {
    let (dir, reference, _) = fixture("full");
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let Some(_tmpfs) = Tmpfs::mount(&mnt, "2m") else {
        assert!(
            std::env::var_os("QSCORE_REQUIRE_TMPFS").is_none(),
            "QSCORE_REQUIRE_TMPFS is set but no tmpfs could be mounted (not root?)"
        );
        println!("skipped: cannot mount a tmpfs here (QSCORE_REQUIRE_TMPFS makes this a failure)");
        return;
    };
    // Leave less than the 1 MiB an encode is given at least.
    let filler = mnt.join("filler");
    std::fs::write(&filler, vec![1u8; 1_700_000]).unwrap();
    let cache = scratch("full-cache");
    let args = tune_args(&reference, &mnt, "psnr_y=38", "20:32");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let full = qscore_in(&args, &cache);
    assert_eq!(full.status.code(), Some(1), "{full:?}");
    let said = String::from_utf8_lossy(&full.stderr);
    assert!(
        said.contains(&mnt.display().to_string()) && said.contains("MiB free"),
        "{said}"
    );
    std::fs::remove_file(&filler).unwrap();
    assert!(empty(&mnt), "the stopped run left files");
    let freed = qscore_in(&args, &cache);
    assert!(freed.status.success(), "{freed:?}");
    let whole = tune(&reference, &dir.join("work"), "psnr_y=38", "20:32");
    let crf = |out: &Output| serde_json::from_slice::<Value>(&out.stdout).unwrap()["crf"].clone();
    assert_eq!(crf(&freed), crf(&whole));
    assert!(empty(&mnt));
}

/// Several `--encoder`s: one search each, the same answers as alone, ranked by the size of
/// the chosen encode.
#[test]
fn encoders_are_compared_by_size_at_the_target() {
    let (_, reference, work) = fixture("compare");
    let alone = |encoder: &str| {
        let mut args = tune_args(&reference, &work, "psnr_y=38", "20:40");
        args[3] = encoder.to_owned();
        let out = qscore(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let (x264, x265) = (alone("libx264"), alone("libx265"));
    let mut args = tune_args(&reference, &work, "psnr_y=38", "20:40");
    args.splice(4..4, ["--encoder".to_owned(), "libx265".to_owned()]);
    // Two encodes at once: one probe of each encoder a round. One scoring worker, so that
    // no two workers prepare one reference frame at once.
    let last = args.len() - 1;
    args[last] = "2".to_owned();
    args.extend(["--workers", "1"].map(str::to_owned));
    let plot = work.parent().unwrap().join("curves.svg");
    args.extend(["--plot".to_owned(), plot.display().to_string()]);
    let cache = scratch("compare-cache");
    let out = qscore_in(&args.iter().map(String::as_str).collect::<Vec<_>>(), &cache);
    assert!(out.status.success(), "{out:?}");
    let both: Value = serde_json::from_slice(&out.stdout).unwrap();
    let encoders = both["encoders"].as_array().unwrap();
    assert_eq!(encoders.len(), 2);
    // Each round's encodes were scored together: the reference prepared once a round.
    let (encodes, rounds, reused, prepared) = summary(&out);
    assert!(rounds < encodes, "{encodes} encodes in {rounds} rounds");
    assert_eq!((prepared, reused), (25 * rounds, 25 * (encodes - rounds)));
    assert_eq!(encoders[0]["crf"], x264["crf"]);
    assert_eq!(encoders[1]["crf"], x265["crf"]);
    let ranking = both["ranking"].as_array().unwrap();
    let bytes: Vec<u64> = ranking
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .collect();
    assert!(bytes[0] <= bytes[1], "{both}");
    let smallest = if x264["bytes"].as_u64() <= x265["bytes"].as_u64() {
        "libx264"
    } else {
        "libx265"
    };
    assert_eq!(ranking[0]["encoder"], smallest);
    assert!(empty(&work));
    // The plot: one point per probe, a ring per chosen encode, the encoders in the legend.
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg"), "{svg:.200}");
    let probes: usize = encoders
        .iter()
        .map(|e| e["probes"].as_array().unwrap().len())
        .sum();
    assert_eq!(svg.matches("<circle").count(), probes + 2);
    assert!(svg.contains("libx264") && svg.contains("libx265") && svg.contains("kb/s"));
    // The same as a PNG (the probes are cached by now): the curves in their colours.
    let png = work.parent().unwrap().join("curves.png");
    args.pop();
    args.push(png.display().to_string());
    let again = qscore_in(&args.iter().map(String::as_str).collect::<Vec<_>>(), &cache);
    assert!(again.status.success(), "{again:?}");
    let picture = image::open(&png).unwrap().to_rgb8();
    assert_eq!(picture.dimensions(), (800, 500));
    let count = |rgb: [u8; 3]| picture.pixels().filter(|p| p.0 == rgb).count();
    assert!(count([0, 0, 255]) > 100 && count([255, 0, 0]) > 100);
    // Other kinds are refused before any encode.
    args.pop();
    args.push(
        work.parent()
            .unwrap()
            .join("curves.gif")
            .display()
            .to_string(),
    );
    let refused = qscore(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(stderr(&refused).contains(".svg or .png"), "{refused:?}");
    assert!(empty(&work));
}

/// `(encodes, rounds, reused, prepared)` from the summary a tune writes to standard error.
fn summary(output: &Output) -> (u64, u64, u64, u64) {
    let said = stderr(output);
    let line = said
        .lines()
        .find(|l| l.starts_with("qscore: tune:"))
        .unwrap_or_else(|| panic!("no summary in {said}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers[..] {
        [encodes, rounds, reused, prepared] => (encodes, rounds, reused, prepared),
        _ => panic!("unreadable summary {line}"),
    }
}

#[test]
fn several_jobs_find_the_same_setting_in_fewer_rounds() {
    let (_, reference, work) = fixture("jobs");
    let run = |jobs: &str| {
        let mut args = tune_args(&reference, &work, "psnr_y=38", "20:40");
        let last = args.len() - 1;
        args[last] = jobs.to_owned();
        let out = qscore(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.status.success(), "{out:?}");
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        (answer["crf"].clone(), summary(&out))
    };
    let (one, (encodes, rounds, ..)) = run("1");
    assert_eq!(encodes, rounds);
    let (three, (_, fewer, ..)) = run("3");
    assert_eq!(one, three);
    // 22 possible answers (20..=40, or none): ⌈log4(22)⌉ rounds of three.
    assert!(
        fewer <= 3 && fewer < rounds,
        "{fewer} rounds with 3 jobs, {rounds} with 1"
    );
    assert!(empty(&work));
}

/// A 2 s clip whose second half is another scene, and that second half alone: the same
/// frames, bit for bit (YUV4MPEG2 is uncompressed).
fn two_scenes(dir: &Path) -> (PathBuf, PathBuf) {
    let (first, second) = (dir.join("first.y4m"), dir.join("second.y4m"));
    let scene = |source: &str, path: &Path| {
        support::ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &format!("{source}=size=160x96:rate=25"),
            "-frames:v",
            "25",
            "-pix_fmt",
            "yuv420p",
            &path.display().to_string(),
        ]);
    };
    scene("testsrc2", &first);
    scene("mandelbrot", &second);
    let both = dir.join("both.y4m");
    let (f, s, b) = (
        first.display().to_string(),
        second.display().to_string(),
        both.display().to_string(),
    );
    support::ffmpeg(&[
        "-i",
        &f,
        "-i",
        &s,
        "-filter_complex",
        "[0:v][1:v]concat=n=2:v=1[v]",
        "-map",
        "[v]",
        &b,
    ]);
    (both, second)
}

/// `metric`'s pooled mean for `distorted` against `reference`, from `qscore score`.
fn scored(reference: &Path, distorted: &Path, metric: &str) -> f64 {
    let (r, d) = (
        reference.display().to_string(),
        distorted.display().to_string(),
    );
    let out = qscore(&["score", &r, &d, "--metric", metric, "--json"]);
    assert!(out.status.success(), "{out:?}");
    let row: Value = serde_json::from_slice(&out.stdout).unwrap();
    row["pooled"][metric]["mean"].as_f64().unwrap()
}

#[test]
fn an_excerpt_is_tuned_alone_and_the_choice_confirmed_on_the_whole() {
    let (dir, _, work) = fixture("samples");
    let (both, second) = two_scenes(&dir);
    let keep = dir.join("kept");
    let mut args = tune_args(&both, &work, "psnr_y=35", "20:40");
    let k = keep.display().to_string();
    args.extend(["--sample", "1:1", "--confirm", "--keep-encodes", &k].map(str::to_owned));
    let out = qscore(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(matches!(out.status.code(), Some(0 | 3)), "{out:?}");
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let crf = answer["crf"].as_u64().unwrap();
    assert_eq!(answer["samples"][0]["start"], 1.0);
    // Each probe encoded the second scene alone: scored against that scene, its kept encode
    // gives the probe's score; one second of video gives its bitrate.
    for probe in answer["probes"].as_array().unwrap() {
        let c = probe["crf"].as_u64().unwrap();
        let kept = keep.join(format!("both.libx264-{c}-excerpts.mkv"));
        assert_eq!(
            scored(&second, &kept, "psnr_y"),
            probe["score"].as_f64().unwrap()
        );
        let bytes = probe["bytes"].as_u64().unwrap();
        assert_eq!(std::fs::metadata(&kept).unwrap().len(), bytes);
        assert!((probe["bitrate_kbps"].as_f64().unwrap() - bytes as f64 * 0.008).abs() < 1e-6);
    }
    // The same scene encoded here from its own file scores the same.
    let direct = dir.join("direct.mkv");
    let (s, d, c) = (
        second.display().to_string(),
        direct.display().to_string(),
        crf.to_string(),
    );
    let mut encode = vec!["-i", &s, "-an", "-c:v", "libx264", "-crf", &c];
    encode.extend(ARGS);
    encode.push(&d);
    support::ffmpeg(&encode);
    assert_eq!(
        scored(&second, &direct, "psnr_y"),
        answer["score"].as_f64().unwrap()
    );
    // The confirmation is the whole clip at that setting.
    let confirmation = &answer["confirmation"];
    assert_eq!(confirmation["crf"].as_u64(), Some(crf));
    let whole = keep.join(format!("both.libx264-{crf}.mkv"));
    let whole_score = scored(&both, &whole, "psnr_y");
    assert_eq!(confirmation["score"].as_f64().unwrap(), whole_score);
    assert_eq!(confirmation["met"], whole_score >= 35.0);
    let expected = if answer["met"] == true && confirmation["met"] == true {
        0
    } else {
        3
    };
    assert_eq!(out.status.code(), Some(expected));
    assert!(empty(&work));

    // Excerpts past the end or overlapping are refused by name before any encode.
    for bad in [
        &["--sample", "2.5:1"][..],
        &["--sample", "0:1", "--sample", "0.5:1"],
    ] {
        let mut args = tune_args(&both, &work, "psnr_y=35", "20:40");
        args.extend(bad.iter().map(|a| a.to_string()));
        let out = qscore(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let said = stderr(&out);
        assert!(
            said.contains("both.y4m") && said.contains("excerpt"),
            "{said}"
        );
        assert!(empty(&work));
    }
}
