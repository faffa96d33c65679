//! `qscore batch` and `qscore merge` as a user runs them: resume after SIGKILL at random
//! moments, resume that keeps earlier rows, a corpus of bad inputs, a full disk, Parquet
//! read back by pyarrow, sharding and merging, video rows.

mod support;

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// A fresh scratch directory.
fn scratch(name: &str) -> PathBuf {
    support::scratch("test-batch", name)
}

/// Set in a copy of this test process run inside a user and mount namespace (see the
/// full-disk test): the plugin directory its parent prepared.
const CHILD_PLUGINS: &str = "QSCORE_BATCH_TEST_PLUGINS";

/// The CPU-only plugin directory (a child process must not rebuild or replace it).
fn plugin_dir() -> PathBuf {
    std::env::var_os(CHILD_PLUGINS).map_or_else(support::cpu_only_dir, PathBuf::from)
}

fn batch_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qscore"));
    cmd.arg("batch")
        .args(args)
        .arg("--plugin-dir")
        .arg(plugin_dir())
        .arg("--no-default-plugins")
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("--no-bench")
        .arg("--quiet")
        .env_remove("QSCORE_PLUGIN_PATH")
        .stdin(Stdio::null());
    cmd
}

fn batch(dir: &Path, args: &[&str]) -> Output {
    batch_command(dir, args).output().expect("run qscore batch")
}

fn qscore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(args)
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A small RGB image whose content depends on `seed`.
fn write_png(path: &Path, width: u32, height: u32, seed: u32) {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let v = (x * 7 + y * 13 + seed * 29) ^ (x * y + seed);
        image::Rgb([
            (v % 251) as u8,
            ((v / 3) % 241) as u8,
            ((v * 5) % 239) as u8,
        ])
    });
    image.save(path).unwrap();
}

/// A corpus of `refs` references and `per_ref` distortions each, 24×24, with a manifest
/// of relative paths and an extra carried column.
fn tiny_corpus(dir: &Path, refs: u32, per_ref: u32) -> PathBuf {
    let images = dir.join("img");
    std::fs::create_dir_all(&images).unwrap();
    let mut manifest = String::from("reference,distorted,label\n");
    for r in 0..refs {
        write_png(&images.join(format!("r{r}.png")), 24, 24, r * 1000);
        for d in 0..per_ref {
            write_png(
                &images.join(format!("r{r}_d{d}.png")),
                24,
                24,
                r * 1000 + d + 1,
            );
            manifest.push_str(&format!("img/r{r}.png,img/r{r}_d{d}.png,\"r{r}, d{d}\"\n"));
        }
    }
    let path = dir.join("manifest.csv");
    std::fs::write(&path, manifest).unwrap();
    path
}

/// A table's rows by key, read through `qscore merge` into JSONL (so every format is
/// read the same way).
fn rows_of(table: &Path) -> BTreeMap<String, Value> {
    let jsonl = table.with_extension("check.jsonl");
    let _ = std::fs::remove_file(&jsonl);
    let out = qscore(&[
        "merge",
        &table.display().to_string(),
        "-o",
        &jsonl.display().to_string(),
    ]);
    assert!(
        out.status.success(),
        "merge {}: {}",
        table.display(),
        stderr(&out)
    );
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).unwrap();
        let key = row["row_key"].as_str().unwrap().to_owned();
        assert!(
            rows.insert(key.clone(), row).is_none(),
            "row {key} twice in {}",
            table.display()
        );
    }
    rows
}

/// A score as JSONL holds it, or as text (a CSV table read back).
fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

/// The row keys of a table in its order (after [`rows_of`] converted it).
fn keys_in_order(table: &Path) -> Vec<String> {
    std::fs::read_to_string(table.with_extension("check.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["row_key"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// A tiny seeded generator (xorshift), so a failing run can be repeated from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn killed_at_random_moments_then_resumed_gives_exactly_the_uninterrupted_rows() {
    let dir = scratch("kill-resume");
    let manifest = tiny_corpus(&dir, 6, 80);
    let manifest = manifest.display().to_string();
    let reference = dir.join("reference.jsonl");
    let out = batch(
        &dir,
        &[
            &manifest,
            "-o",
            &reference.display().to_string(),
            "--metric",
            "psnr,ssim",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // How long a run takes once caches are warm: kills are drawn within it.
    let started = Instant::now();
    let warm = dir.join("warm.jsonl");
    let out = batch(
        &dir,
        &[
            &manifest,
            "-o",
            &warm.display().to_string(),
            "--metric",
            "psnr,ssim",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let full_run = started.elapsed();
    let expected = rows_of(&reference);
    let expected_order = keys_in_order(&reference);
    assert_eq!(expected.len(), 480);

    let seed = std::env::var("QSCORE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("kill-resume seed {seed} (QSCORE_KILL_SEED={seed} repeats it); full run {full_run:?}");
    let mut rng = Rng(seed);
    // Kill moments are spread over a whole run: start-up, scoring, the final write.
    let window_ms = (full_run.as_millis() as u64).max(20);
    let formats = ["jsonl", "csv", "parquet"];
    let (mut kills, mut mid_run) = (0, 0);
    let mut rounds = 0;
    for round in 0.. {
        if round >= 20 && kills >= 20 && mid_run >= 10 {
            break;
        }
        assert!(
            round < 100,
            "only {kills} kills ({mid_run} mid-run) in {round} rounds (seed {seed})"
        );
        rounds += 1;
        let out_path = dir.join(format!("round{round}.{}", formats[round % 3]));
        let out_text = out_path.display().to_string();
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 50, "round {round} never finished (seed {seed})");
            let mut child =
                batch_command(&dir, &[&manifest, "-o", &out_text, "--metric", "psnr,ssim"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
            // Later attempts may wait longer, so that every round ends.
            let wait = Duration::from_millis(rng.below(window_ms + 10 * attempts));
            let deadline = Instant::now() + wait;
            let mut status = None;
            while Instant::now() < deadline {
                if let Some(s) = child.try_wait().unwrap() {
                    status = Some(s);
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            match status {
                Some(s) => {
                    assert!(s.success(), "round {round}: exit {s:?} (seed {seed})");
                    break;
                }
                None => {
                    let journal = PathBuf::from(format!("{out_text}.journal.jsonl"));
                    if std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
                        mid_run += 1;
                    }
                    child.kill().unwrap(); // SIGKILL
                    child.wait().unwrap();
                    kills += 1;
                }
            }
        }
        // A rerun after the finished run changes nothing.
        let out = batch(&dir, &[&manifest, "-o", &out_text, "--metric", "psnr,ssim"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!PathBuf::from(format!("{out_text}.journal.jsonl")).exists());
        assert!(!PathBuf::from(format!("{out_text}.tmp")).exists());
        let got = rows_of(&out_path);
        assert_eq!(got.len(), expected.len(), "round {round} (seed {seed})");
        // Manifest order, however the run was cut up.
        assert_eq!(
            keys_in_order(&out_path),
            expected_order,
            "round {round} (seed {seed})"
        );
        if out_path.extension().is_some_and(|e| e == "jsonl") {
            assert!(
                std::fs::read(&out_path).unwrap() == std::fs::read(&reference).unwrap(),
                "round {round}: not byte-identical to the uninterrupted run (seed {seed})"
            );
        }
        for (key, row) in &expected {
            let other = &got[key];
            for column in ["reference", "distorted", "label", "backends"] {
                assert_eq!(
                    row[column], other[column],
                    "round {round} {key} {column} (seed {seed})"
                );
            }
            for column in ["psnr", "ssim"] {
                let (a, b) = (number(&row[column]), number(&other[column]));
                assert_eq!(a, b, "round {round} {key} {column} (seed {seed})");
            }
        }
    }
    println!("{kills} SIGKILLs ({mid_run} with rows already journaled) over {rounds} rounds");
}

#[test]
fn a_rerun_with_new_rows_keeps_the_earlier_rows_and_adds_the_new() {
    let dir = scratch("keep-earlier");
    let manifest = tiny_corpus(&dir, 1, 5);
    let out_path = dir.join("out.csv");
    let (m, o) = (
        manifest.display().to_string(),
        out_path.display().to_string(),
    );
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Mark the earlier rows so that a rescore would show.
    let text = std::fs::read_to_string(&out_path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let psnr = header.iter().position(|c| *c == "psnr").unwrap();
    assert_eq!(lines.len(), 6);
    for line in &mut lines[1..] {
        let mut record = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .into_records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        record[psnr] = "-1".into();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&record).unwrap();
        *line = String::from_utf8(writer.into_inner().unwrap())
            .unwrap()
            .trim_end()
            .to_owned();
    }
    std::fs::write(&out_path, lines.join("\n") + "\n").unwrap();
    // Three new rows.
    write_png(&dir.join("img/new0.png"), 24, 24, 77);
    write_png(&dir.join("img/new1.png"), 24, 24, 78);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&manifest)
        .unwrap();
    writeln!(
        f,
        "img/r0.png,img/new0.png,n0\nimg/r0.png,img/new1.png,n1\nimg/r0.png,img/new0.png,n2"
    )
    .unwrap();
    drop(f);
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 scored"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("5 skipped as already done"),
        "{}",
        stderr(&out)
    );
    let rows = rows_of(&out_path);
    assert_eq!(rows.len(), 8);
    let kept = rows.values().filter(|r| r["psnr"] == "-1").count();
    assert_eq!(kept, 5, "earlier rows were rescored or lost: {rows:?}");
    assert!(
        rows.values()
            .filter(|r| r["psnr"] != "-1")
            .all(|r| r["psnr"].as_str().unwrap().parse::<f64>().unwrap() > 0.0)
    );
}

#[test]
fn duplicate_rows_are_scored_once() {
    let dir = scratch("duplicates");
    let manifest = tiny_corpus(&dir, 1, 2);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&manifest)
        .unwrap();
    writeln!(f, "img/r0.png,img/r0_d0.png,\"r0, d0\"").unwrap();
    drop(f);
    let out_path = dir.join("out.jsonl");
    let out = batch(
        &dir,
        &[
            &manifest.display().to_string(),
            "-o",
            &out_path.display().to_string(),
            "--metric",
            "psnr",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 duplicate rows"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rows_of(&out_path).len(), 2);
}

/// A well-formed PNG whose header claims `width`×`height` RGB, with one tiny IDAT chunk.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    // A zlib stream of one stored block of 16 zero bytes.
    let mut idat = vec![0x78, 0x01, 0x01, 16, 0, !16, 0xff];
    idat.extend_from_slice(&[0u8; 16]);
    idat.extend_from_slice(&((16u32 << 16) | 1).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn every_bad_input_lands_in_the_ledger_with_its_reason_while_good_rows_are_scored() {
    use std::os::unix::{ffi::OsStrExt, fs::PermissionsExt};
    let dir = scratch("bad-inputs");
    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let data = support::data("images");
    for name in [
        "flower_512.png",
        "flower_512__jpeg_q10.png",
        "flower_512__blur_s1.png",
        "flower_517x389.png",
    ] {
        std::fs::copy(data.join(name), dir.join(name)).unwrap();
    }
    let good_png = std::fs::read(data.join("flower_512__jpeg_q10.png")).unwrap();
    std::fs::write(bad.join("truncated.png"), &good_png[..good_png.len() / 3]).unwrap();
    std::fs::write(bad.join("header_only.png"), &good_png[..40]).unwrap();
    std::fs::write(bad.join("empty.png"), b"").unwrap();
    std::fs::write(bad.join("huge.png"), png_claiming(60000, 60000)).unwrap();
    std::fs::write(bad.join("text.png"), b"this is not an image at all\n").unwrap();
    let mut bad_crc = good_png.clone();
    bad_crc[30] ^= 0xff;
    std::fs::write(bad.join("bad_crc.png"), &bad_crc).unwrap();
    std::fs::write(
        bad.join("garbage.jpg"),
        [0xffu8, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5],
    )
    .unwrap();
    std::fs::write(bad.join("gif.gif"), b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    std::fs::create_dir_all(bad.join("a_directory.png")).unwrap();
    std::fs::write(bad.join("unreadable.png"), &good_png).unwrap();
    std::fs::set_permissions(
        bad.join("unreadable.png"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    std::os::unix::fs::symlink(bad.join("nowhere.png"), bad.join("dangling.png")).unwrap();
    write_png(&bad.join("tiny.png"), 24, 24, 5);
    write_png(&bad.join("tiny_ref.png"), 24, 24, 6);
    std::fs::write(bad.join("wrong_size.yuv"), vec![0u8; 1000]).unwrap();
    let frame = 576 * 324 * 3 / 2 * 2;
    std::fs::write(bad.join("ok_ref.yuv"), vec![0u8; frame]).unwrap();
    std::fs::write(
        bad.join("truncated.y4m"),
        b"YUV4MPEG2 W64 H64 F25:1 C420jpeg\nFRAME\n\x00\x00",
    )
    .unwrap();

    // (distorted or "REF:reference,DIST:distorted", extra columns, expected reason)
    let mut rows: Vec<(Vec<u8>, &str)> = Vec::new();
    let mut row = |reference: &str, distorted: &str, extra: &str, reason: &'static str| {
        rows.push((
            format!("{reference},{distorted},{extra}").into_bytes(),
            reason,
        ));
    };
    let r = "flower_512.png";
    row(r, "bad/truncated.png", ",,,", "cannot decode");
    row(r, "bad/header_only.png", ",,,", "cannot decode");
    row(r, "bad/empty.png", ",,,", "is empty");
    row(r, "bad/huge.png", ",,,", "Memory limit exceeded");
    row(r, "bad/text.png", ",,,", "Invalid PNG signature");
    row(r, "bad/bad_crc.png", ",,,", "cannot decode");
    row(r, "bad/garbage.jpg", ",,,", "cannot decode");
    row(r, "bad/gif.gif", ",,,", "image format");
    row(r, "bad/a_directory.png", ",,,", "is a directory");
    row(r, "bad/unreadable.png", ",,,", "Permission denied");
    row(r, "bad/dangling.png", ",,,", "No such file");
    row(r, "bad/missing.png", ",,,", "No such file");
    row(
        r,
        "flower_517x389.png",
        ",,,",
        "is 517x389 but the reference",
    );
    row(
        "bad/missing_ref.png",
        "flower_512__jpeg_q10.png",
        ",,,",
        "No such file",
    );
    row(
        "bad/empty.png",
        "flower_512__jpeg_q10.png",
        ",,,",
        "is empty",
    );
    row(
        "bad/a_directory.png",
        "flower_512__jpeg_q10.png",
        ",,,",
        "is a directory",
    );
    row(r, "", ",,,", "no distorted path");
    row("bad/tiny_ref.png", "bad/tiny.png", "ms_ssim,,,", "ms_ssim");
    row(
        r,
        "flower_512__jpeg_q10.png",
        "no_such_metric,,,",
        "unknown metric",
    );
    row(
        "bad/ok_ref.yuv",
        "bad/wrong_size.yuv",
        "psnr,576,324,yuv420p10le",
        "not a whole number",
    );
    row(
        "bad/ok_ref.yuv",
        "bad/ok_ref.yuv",
        "psnr,576,324,",
        "must be given together",
    );
    row(
        "bad/ok_ref.yuv",
        "bad/ok_ref.yuv",
        "psnr,576,324,yuv411p",
        "yuv411p",
    );
    row(
        "bad/truncated.y4m",
        "bad/truncated.y4m",
        "psnr,,,",
        "truncated.y4m",
    );
    row(
        r,
        "flower_512__jpeg_q10.png",
        ",,",
        "fields but the header has",
    );
    let non_utf8 = b"flower_512.png,bad/caf\xe9.png,,,,".to_vec();
    rows.push((non_utf8, "not valid UTF-8"));
    std::fs::write(
        bad.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png")),
        &good_png,
    )
    .unwrap();
    let bad_count = rows.len();
    assert!(bad_count >= 20);
    let mut manifest = b"reference,distorted,metric,width,height,pix_fmt\n".to_vec();
    manifest.extend_from_slice(format!("{r},flower_512__jpeg_q10.png,,,,\n").as_bytes());
    for (line, _) in &rows {
        manifest.extend_from_slice(line);
        manifest.push(b'\n');
    }
    manifest.extend_from_slice(format!("{r},flower_512__blur_s1.png,,,,\n").as_bytes());
    std::fs::write(dir.join("manifest.csv"), &manifest).unwrap();

    let out_path = dir.join("out.jsonl");
    let mut cmd = batch_command(
        &dir,
        &["manifest.csv", "-o", "out.jsonl", "--metric", "psnr"],
    );
    cmd.current_dir(&dir);
    // Root reads anything: without the capabilities that override file permissions
    // (still uid 0, so every other file stays reachable), permissions apply to it too.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        let program = cmd.get_program().to_owned();
        let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
        cmd = Command::new("setpriv");
        cmd.args(["--bounding-set", "-dac_override,-dac_read_search", "--"])
            .arg(program)
            .args(args)
            .current_dir(&dir)
            .env_remove("QSCORE_PLUGIN_PATH");
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let scored = rows_of(&out_path);
    assert_eq!(scored.len(), 2, "{scored:?}");
    let golden: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("golden.json")).unwrap()).unwrap();
    for row in scored.values() {
        let name = row["distorted"].as_str().unwrap();
        let pair = golden["pairs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["distorted"] == name)
            .unwrap();
        assert!((row["psnr"].as_f64().unwrap() - pair["psnr"].as_f64().unwrap()).abs() < 1e-6);
    }
    let ledger: Vec<Value> = std::fs::read_to_string(dir.join("out.jsonl.failures.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ledger.len(), bad_count, "{ledger:#?}");
    for (line, reason) in &rows {
        let text = String::from_utf8_lossy(line);
        let distorted = text.split(',').nth(1).unwrap();
        let reference = text.split(',').next().unwrap();
        let found = ledger.iter().find(|f| {
            f["reason"].as_str().unwrap().contains(reason)
                && (f["distorted"] == distorted || f["reference"] == reference)
        });
        assert!(
            found.is_some(),
            "no ledger line with {reason:?} for {text:?}: {ledger:#?}"
        );
        let f = found.unwrap();
        assert!(["manifest", "decode", "score"].contains(&f["stage"].as_str().unwrap()));
    }
    let ms_ssim = ledger
        .iter()
        .find(|f| f["reason"].as_str().unwrap().contains("176x176"))
        .unwrap();
    assert_eq!(ms_ssim["stage"], "score");
    assert!(
        !ms_ssim["backends_tried"].as_array().unwrap().is_empty(),
        "{ms_ssim}"
    );
}

#[test]
fn retry_failed_reruns_only_the_ledger_rows() {
    let dir = scratch("retry");
    let manifest = tiny_corpus(&dir, 1, 3);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&manifest)
        .unwrap();
    writeln!(f, "img/r0.png,img/late.png,late").unwrap();
    drop(f);
    let (m, o) = (
        manifest.display().to_string(),
        dir.join("out.csv").display().to_string(),
    );
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    write_png(&dir.join("img/late.png"), 24, 24, 99);
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 skipped as failed before"),
        "{}",
        stderr(&out)
    );
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr", "--retry-failed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 scored"), "{}", stderr(&out));
    assert!(!dir.join("out.csv.failures.jsonl").exists());
    assert_eq!(rows_of(&dir.join("out.csv")).len(), 4);
}

#[test]
fn shards_merge_into_the_unsharded_rows_and_merge_refuses_duplicates_and_other_columns() {
    let dir = scratch("shards");
    let manifest = tiny_corpus(&dir, 2, 5);
    let m = manifest.display().to_string();
    let whole = dir.join("whole.parquet");
    let out = batch(
        &dir,
        &[&m, "-o", &whole.display().to_string(), "--metric", "psnr"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut parts = Vec::new();
    for i in 0..3 {
        let part = dir.join(format!("part{i}.parquet"));
        let out = batch(
            &dir,
            &[
                &m,
                "-o",
                &part.display().to_string(),
                "--metric",
                "psnr",
                "--shard",
                &format!("{i}/3"),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        parts.push(part.display().to_string());
    }
    let merged = dir.join("merged.parquet").display().to_string();
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["-o", &merged]);
    let out = qscore(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rows_of(Path::new(&merged)), rows_of(&whole));

    let out = qscore(&[
        "merge",
        &parts[0],
        &parts[0],
        "-o",
        &dir.join("dup.parquet").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is also in"), "{}", stderr(&out));
    let other = dir.join("other.parquet");
    let out = batch(
        &dir,
        &[
            &m,
            "-o",
            &other.display().to_string(),
            "--metric",
            "ssim",
            "--shard",
            "0/3",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = qscore(&[
        "merge",
        &parts[1],
        &other.display().to_string(),
        "-o",
        &dir.join("mixed.parquet").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("columns differ"), "{}", stderr(&out));
}

#[test]
fn parquet_output_reads_back_in_pyarrow() {
    let dir = scratch("pyarrow");
    let probe = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("QSCORE_REQUIRE_PYARROW").is_none(),
            "QSCORE_REQUIRE_PYARROW is set but python3 cannot import pyarrow"
        );
        println!(
            "skipped: python3 with pyarrow is not available (QSCORE_REQUIRE_PYARROW makes this a failure)"
        );
        return;
    }
    let manifest = tiny_corpus(&dir, 1, 4);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&manifest)
        .unwrap();
    writeln!(f, "img/r0.png,img/r0.png,same").unwrap();
    drop(f);
    let (m, parquet, jsonl) = (
        manifest.display().to_string(),
        dir.join("out.parquet"),
        dir.join("out.jsonl"),
    );
    for out_path in [&parquet, &jsonl] {
        let out = batch(
            &dir,
            &[
                &m,
                "-o",
                &out_path.display().to_string(),
                "--metric",
                "psnr,ssim",
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let script = r#"
import json, math, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"types": {f.name: str(f.type) for f in t.schema},
                  "rows": [{k: ("inf" if isinstance(v, float) and math.isinf(v) else v) for k, v in r.items()}
                           for r in t.to_pylist()]}))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&parquet)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(read["types"]["psnr"], "double");
    assert_eq!(read["types"]["ssim"], "double");
    assert_eq!(read["types"]["label"], "string");
    assert_eq!(read["types"]["row_key"], "string");
    let expected: BTreeMap<String, Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["row_key"].as_str().unwrap().to_owned(), v)
        })
        .collect();
    let rows = read["rows"].as_array().unwrap();
    assert_eq!(rows.len(), expected.len());
    for row in rows {
        let want = &expected[row["row_key"].as_str().unwrap()];
        for column in [
            "reference",
            "distorted",
            "label",
            "backends",
            "psnr",
            "ssim",
        ] {
            assert_eq!(row[column], want[column], "{column}");
        }
    }
    assert!(rows.iter().any(|r| r["psnr"] == "inf"));
}

#[test]
fn video_rows_go_through_the_video_path() {
    let dir = scratch("video");
    let video = support::data("video");
    let golden = video_golden();
    let manifest = dir.join("m.jsonl");
    std::fs::write(
        &manifest,
        format!(
            "{{\"reference\": \"{}\", \"distorted\": \"{}\", \"width\": 576, \"height\": 324, \"pix_fmt\": \"yuv420p10le\", \"metric\": [\"psnr\"]}}\n",
            video.join(golden["reference"].as_str().unwrap()).display(),
            video.join(golden["distorted"].as_str().unwrap()).display()
        ),
    )
    .unwrap();
    let out_path = dir.join("out.jsonl");
    let out = batch(
        &dir,
        &[
            &manifest.display().to_string(),
            "-o",
            &out_path.display().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = rows_of(&out_path);
    let row = rows.values().next().unwrap();
    let expected = golden["libvmaf_v2.3.1_to_v3.1.0"]["distorted"]["float_psnr_score"]
        .as_f64()
        .unwrap();
    assert!(
        (row["psnr_y"].as_f64().unwrap() - expected).abs() < 1e-4,
        "{row}"
    );
    assert_eq!(row["width"], "576");
}

/// The Netflix sample pair's golden values (`../shared/data/video/golden.json`).
fn video_golden() -> Value {
    let path = support::data("video").join("golden.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A plugin directory with the CPU and libvmaf plugins.
fn cpu_and_libvmaf_plugins() -> PathBuf {
    support::cpu_libvmaf_dir()
}

/// Unmounts a test filesystem when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the filesystem holding `path` by writing zeros to it, leaving about `leave`
/// bytes free.
fn fill(path: &Path, leave: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    while file.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    let _ = file.sync_all();
    if leave > 0 {
        file.set_len(written.saturating_sub(leave)).unwrap();
        file.sync_all().unwrap();
    }
}

fn journal_lines_are_whole(journal: &Path) -> usize {
    let text = std::fs::read_to_string(journal).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "partial line in {}",
        journal.display()
    );
    for line in text.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    }
    text.lines().count()
}

fn mount_tmpfs(mnt: &Path) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=3m", "tmpfs"])
        .arg(mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

const FULL_DISK_TEST: &str = "a_full_disk_stops_the_run_cleanly_and_it_resumes_once_space_is_freed";

/// Mounting needs root: as root, the test mounts its tmpfs directly; otherwise it runs
/// itself again inside a new user and mount namespace (`unshare --user --map-root-user
/// --mount`), where it may mount. `QSCORE_FULL_DISK_VIA_UNSHARE` forces the second way.
#[test]
fn a_full_disk_stops_the_run_cleanly_and_it_resumes_once_space_is_freed() {
    let in_child = std::env::var_os(CHILD_PLUGINS).is_some();
    let dir = scratch(if in_child {
        "full-disk-ns"
    } else {
        "full-disk"
    });
    let mnt = dir.join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let force_unshare = std::env::var_os("QSCORE_FULL_DISK_VIA_UNSHARE").is_some();
    if in_child || (!force_unshare && mount_tmpfs(&mnt)) {
        if in_child {
            assert!(
                mount_tmpfs(&mnt),
                "mount -t tmpfs failed inside the namespace"
            );
        }
        full_disk_scenario(&dir, &mnt);
        println!("full-disk scenario ran");
        return;
    }
    let plugins = support::cpu_only_dir();
    let child = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "--"])
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", FULL_DISK_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_PLUGINS, &plugins)
        .env("QSCORE_TEST_PREBUILT", "1")
        .output();
    let ran = child
        .as_ref()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("full-disk scenario ran"));
    if let Ok(out) = &child
        && !ran
        && String::from_utf8_lossy(&out.stdout).contains(FULL_DISK_TEST)
    {
        // The test ran in the namespace and failed there.
        panic!(
            "full-disk test failed inside the namespace:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if !ran {
        let why = child.map_or_else(
            |e| e.to_string(),
            |o| String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        );
        assert!(
            std::env::var_os("QSCORE_REQUIRE_TMPFS").is_none(),
            "QSCORE_REQUIRE_TMPFS is set but no tmpfs could be mounted (not root, and unshare: {why})"
        );
        println!(
            "skipped: cannot mount a small tmpfs here (not root, and unshare: {why}); QSCORE_REQUIRE_TMPFS makes this a failure"
        );
        return;
    }
    println!("full-disk scenario ran in a user and mount namespace");
}

fn full_disk_scenario(dir: &Path, mnt: &Path) {
    let (dir, mnt) = (dir.to_path_buf(), mnt.to_path_buf());
    let _mount = Mount(mnt.clone());
    let manifest = tiny_corpus(&dir, 4, 400);
    let m = manifest.display().to_string();
    let reference = dir.join("reference.jsonl");
    let out = batch(
        &dir,
        &[
            &m,
            "-o",
            &reference.display().to_string(),
            "--metric",
            "psnr,ssim",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out_path = mnt.join("out.jsonl");
    let o = out_path.display().to_string();
    let journal = mnt.join("out.jsonl.journal.jsonl");
    let filler = mnt.join("filler");

    // Too little space to start: refused up front, nothing written.
    fill(&filler, 200 * 1024);
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr,ssim"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("out of disk space"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&mnt.display().to_string()),
        "{}",
        stderr(&out)
    );
    assert!(!journal.exists());
    std::fs::remove_file(&filler).unwrap();

    // Space runs out while running: the run stops, every journal line is whole.
    let mut child = batch_command(&dir, &[&m, "-o", &o, "--metric", "psnr,ssim"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = Instant::now();
    while !std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before any row was journaled"
        );
        assert!(waited.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(1));
    }
    fill(&filler, 0);
    let out = child.wait_with_output().unwrap();
    let message = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{message}");
    assert!(message.contains("out of disk space"), "{message}");
    assert!(message.contains(&mnt.display().to_string()), "{message}");
    let journaled = journal_lines_are_whole(&journal);
    assert!(journaled < 1600, "the run was not stopped");
    assert!(!out_path.exists(), "an output was written on a full disk");
    assert!(!mnt.join("out.jsonl.tmp").exists());
    println!(
        "stopped with {journaled} rows journaled: {}",
        message.trim()
    );

    // Space freed: the same command finishes the run.
    std::fs::remove_file(&filler).unwrap();
    let out = batch(&dir, &[&m, "-o", &o, "--metric", "psnr,ssim"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{journaled} skipped as already done")),
        "{}",
        stderr(&out)
    );
    let (got, expected) = (rows_of(&out_path), rows_of(&reference));
    assert_eq!(got.len(), 1600);
    for (key, row) in &expected {
        for column in ["distorted", "label", "psnr", "ssim"] {
            assert_eq!(row[column], got[key][column], "{key} {column}");
        }
    }
}

#[test]
fn a_pair_over_the_task_timeout_is_a_timeout_failure() {
    let dir = scratch("timeout");
    let manifest = tiny_corpus(&dir, 1, 3);
    let out_path = dir.join("out.csv");
    let out = batch(
        &dir,
        &[
            &manifest.display().to_string(),
            "-o",
            &out_path.display().to_string(),
            "--metric",
            "psnr",
            "--task-timeout",
            "0.000001",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let ledger = std::fs::read_to_string(dir.join("out.csv.failures.jsonl")).unwrap();
    let lines: Vec<Value> = ledger
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert_eq!(line["stage"], "timeout", "{line}");
        assert!(
            line["reason"].as_str().unwrap().contains("--task-timeout"),
            "{line}"
        );
    }
}

#[test]
fn an_empty_manifest_gives_an_empty_table_that_a_rerun_accepts() {
    let dir = scratch("empty");
    let manifest = dir.join("m.csv");
    std::fs::write(&manifest, "reference,distorted\n").unwrap();
    for format in ["csv", "jsonl", "parquet"] {
        let out_path = dir.join(format!("out.{format}"));
        for _ in 0..2 {
            let out = batch(
                &dir,
                &[
                    &manifest.display().to_string(),
                    "-o",
                    &out_path.display().to_string(),
                    "--metric",
                    "psnr",
                ],
            );
            assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        }
        assert!(rows_of(&out_path).is_empty());
    }
}

#[test]
fn rows_with_their_own_metrics_share_one_table_with_nulls_where_a_score_is_missing() {
    let dir = scratch("row-metrics");
    let manifest = tiny_corpus(&dir, 1, 2);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut lines = text.lines();
    let mut rewritten = format!("{},metric\n", lines.next().unwrap());
    for (line, metric) in lines.zip(["psnr", "\"ssim,psnr\""]) {
        rewritten.push_str(&format!("{line},{metric}\n"));
    }
    std::fs::write(&manifest, rewritten).unwrap();
    let out_path = dir.join("out.parquet");
    let out = batch(
        &dir,
        &[
            &manifest.display().to_string(),
            "-o",
            &out_path.display().to_string(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = rows_of(&out_path);
    assert_eq!(rows.len(), 2);
    let only_psnr = rows.values().find(|r| r["metric"] == "psnr").unwrap();
    let both = rows.values().find(|r| r["metric"] == "ssim,psnr").unwrap();
    assert!(only_psnr["ssim"].is_null(), "{only_psnr}");
    assert!(
        only_psnr["psnr"].as_f64().is_some() && both["ssim"].as_f64().is_some(),
        "{both}"
    );
    assert_eq!(both["backends"], "ssim=cpu,psnr=cpu");
}

#[test]
fn a_video_row_scores_vmaf_with_qscores_own_vmaf_or_libvmafs() {
    for backend in ["cpu", "libvmaf"] {
        video_row_scores_vmaf_on(backend);
    }
}

fn video_row_scores_vmaf_on(backend: &str) {
    let plugins = cpu_and_libvmaf_plugins();
    let dir = scratch(&format!("vmaf-{backend}"));
    let video = support::data("video");
    let golden = video_golden();
    let manifest = dir.join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "reference,distorted,width,height,pix_fmt\n{},{},576,324,yuv420p10le\n",
            video.join(golden["reference"].as_str().unwrap()).display(),
            video.join(golden["distorted"].as_str().unwrap()).display()
        ),
    )
    .unwrap();
    let out_path = dir.join("out.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_qscore"))
        .arg("batch")
        .arg(&manifest)
        .arg("-o")
        .arg(&out_path)
        .args([
            "--metric",
            "vmaf",
            "--backend",
            backend,
            "--no-bench",
            "--quiet",
            "--no-default-plugins",
            "--plugin-dir",
        ])
        .arg(&plugins)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = rows_of(&out_path);
    let row = rows.values().next().unwrap();
    let expected = golden["libvmaf_v2.3.1_to_v3.1.0"]["distorted"]["score"]
        .as_f64()
        .unwrap();
    assert!(
        (row["vmaf"].as_f64().unwrap() - expected).abs() < 1e-4,
        "{row}"
    );
    assert_eq!(row["backends"], format!("vmaf={backend}"));
}

/// A video row whose decoder hangs (a named pipe nobody writes to) fails at
/// `--task-timeout` with stage `timeout`, its decoder stopped, and the run goes on.
#[test]
fn a_video_row_over_the_task_timeout_is_a_timeout_failure() {
    let dir = scratch("video-timeout");
    let video = support::data("video");
    let fifo = dir.join("stalled.mkv");
    support::stalled_pipe(&fifo);
    let manifest = dir.join("m.jsonl");
    std::fs::write(
        &manifest,
        format!(
            "{{\"reference\": \"{}\", \"distorted\": \"{}\", \"width\": 576, \"height\": 324, \"pix_fmt\": \"yuv420p10le\", \"metric\": [\"psnr\"]}}\n",
            video.join("src01_hrc00_576x324.yuv420p10le.yuv").display(),
            fifo.display()
        ),
    )
    .unwrap();
    let out_path = dir.join("out.jsonl");
    let started = std::time::Instant::now();
    let out = batch(
        &dir,
        &[
            &manifest.display().to_string(),
            "-o",
            &out_path.display().to_string(),
            "--task-timeout",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let ledger = std::fs::read_to_string(dir.join("out.jsonl.failures.jsonl")).unwrap();
    let line: Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    assert_eq!(line["stage"], "timeout", "{line}");
    assert!(
        line["reason"].as_str().unwrap().contains("time limit"),
        "{line}"
    );
}

/// A `tiny_corpus` of `refs` references with `dists` distorted images each, all in a
/// JSONL manifest `m.jsonl`, then a video row whose distorted clip is a named pipe nobody
/// writes to (its decoder waits forever): the pipe and the manifest.
fn images_then_a_stalled_clip(dir: &Path, refs: u32, dists: u32) -> (PathBuf, PathBuf) {
    tiny_corpus(dir, refs, dists);
    let fifo = dir.join("clip.mkv");
    support::stalled_pipe(&fifo);
    let mut manifest = String::new();
    for r in 0..refs {
        for d in 0..dists {
            manifest.push_str(&format!(
                "{{\"reference\": \"img/r{r}.png\", \"distorted\": \"img/r{r}_d{d}.png\"}}\n"
            ));
        }
    }
    let video = support::data("video");
    manifest.push_str(&format!(
        "{{\"reference\": \"{}\", \"distorted\": \"clip.mkv\", \"width\": 576, \"height\": 324, \"pix_fmt\": \"yuv420p10le\"}}\n",
        video.join("src01_hrc00_576x324.yuv420p10le.yuv").display(),
    ));
    let manifest_path = dir.join("m.jsonl");
    std::fs::write(&manifest_path, manifest).unwrap();
    (fifo, manifest_path)
}

/// Ctrl-C in the middle of a run: the rows finished before it stay in the journal, the row
/// whose decoder was killed is not recorded as failed, no decoder is left running, and the
/// same command then finishes the run.
#[test]
fn a_signal_keeps_finished_rows_records_no_false_failure_and_the_run_resumes() {
    let dir = scratch("signal");
    let (fifo, manifest_path) = images_then_a_stalled_clip(&dir, 2, 10);
    let (m, out) = (
        manifest_path.display().to_string(),
        dir.join("out.jsonl").display().to_string(),
    );
    let args = [m.as_str(), "-o", &out, "--metric", "psnr"];
    let journal = dir.join("out.jsonl.journal.jsonl");
    let f = fifo.display().to_string();

    let child = support::Running::spawn(
        batch_command(&dir, &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    // Image rows decoded after the clip wait for it (video rows take the whole pool), so
    // some of the twenty may still be in progress when the signal comes.
    support::wait_for("image rows to be journaled while ffmpeg waits", || {
        std::fs::read_to_string(&journal).map_or(0, |t| t.matches('\n').count()) >= 10
            && support::processes_mentioning(&f)
                .iter()
                .any(|cmd| cmd.starts_with("ffmpeg"))
    });
    let stopped = child.signal_and_wait(libc::SIGINT);
    let text = stderr(&stopped);
    assert_eq!(stopped.status.code(), Some(130), "{text}");
    assert!(
        text.contains("interrupted by SIGINT; stopped 1 decoder")
            && text.contains("run the same command again to resume"),
        "{text}"
    );
    let kept: usize = text
        .split(" rows finished in this run are kept in")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count of kept rows in {text}"));
    assert!((10..=20).contains(&kept), "{text}");
    assert!(support::processes_mentioning(&f).is_empty(), "decoder left");
    assert_eq!(journal_lines_are_whole(&journal), kept);
    assert_eq!(
        journal_lines_are_whole(&dir.join("out.jsonl.failures.jsonl")),
        0,
        "a killed decoder is not the row's failure"
    );
    assert!(
        !Path::new(&out).exists(),
        "no table from an interrupted run"
    );

    // The clip now exists: the rerun scores only it and keeps the 20 rows.
    std::fs::remove_file(&fifo).unwrap();
    let encoded = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le"])
        .args(["-s", "576x324", "-i"])
        .arg(support::data("video/src01_hrc01_576x324.yuv420p10le.yuv"))
        .args(["-c:v", "ffv1"])
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(encoded.success());
    let resumed = batch(&dir, &args);
    let text = stderr(&resumed);
    assert!(resumed.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "{} scored, 0 failed, {kept} skipped as already done",
            21 - kept
        )),
        "{text}"
    );
    let rows = rows_of(Path::new(&out));
    assert_eq!(rows.len(), 21);
    let clip = rows
        .values()
        .find(|row| row["distorted"] == "clip.mkv")
        .unwrap();
    // ffv1 is lossless: the clip scores as its raw frames do (libvmaf's float_psnr).
    let golden = video_golden();
    let expected = golden["libvmaf_v2.3.1_to_v3.1.0"]["distorted"]["float_psnr_score"]
        .as_f64()
        .unwrap();
    assert!((number(&clip["psnr_y"]) - expected).abs() < 1e-4, "{clip}");
}

/// Video rows that need a clip session (VMAF) are scored together, up to the decode limit:
/// the two clips here are named pipes that are fed only once both decoders are waiting on
/// them, which one row at a time would never reach. A missing clip among them fails alone.
#[test]
fn vmaf_rows_run_their_clips_at_once_up_to_the_decode_limit() {
    let plugins = cpu_and_libvmaf_plugins();
    let dir = scratch("vmaf-together");
    let video = support::data("video");
    let golden = video_golden();
    let encoded = dir.join("distorted.mkv");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le"])
        .args(["-s", "576x324", "-i"])
        .arg(video.join(golden["distorted"].as_str().unwrap()))
        .args(["-c:v", "ffv1"])
        .arg(&encoded)
        .status()
        .unwrap();
    assert!(status.success());
    let pipes = [dir.join("a.mkv"), dir.join("b.mkv")];
    for pipe in &pipes {
        support::stalled_pipe(pipe);
    }
    let reference = video.join(golden["reference"].as_str().unwrap());
    let manifest = dir.join("m.csv");
    std::fs::write(
        &manifest,
        format!(
            "reference,distorted,width,height,pix_fmt\n\
             {r},a.mkv,576,324,yuv420p10le\n\
             {r},missing.mkv,576,324,yuv420p10le\n\
             {r},b.mkv,576,324,yuv420p10le\n",
            r = reference.display()
        ),
    )
    .unwrap();
    let out_path = dir.join("out.jsonl");
    let child = support::Running::spawn(
        Command::new(env!("CARGO_BIN_EXE_qscore"))
            .arg("batch")
            .arg(&manifest)
            .arg("-o")
            .arg(&out_path)
            .args(["--metric", "vmaf", "--max-concurrent-decodes", "3"])
            .args(["--workers", "3", "--no-bench", "--quiet"])
            .args(["--no-default-plugins", "--plugin-dir"])
            .arg(&plugins)
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .env_remove("QSCORE_PLUGIN_PATH")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let names: Vec<String> = pipes.iter().map(|p| p.display().to_string()).collect();
    support::wait_for("both clips' decoders to wait at once", || {
        names.iter().all(|name| {
            support::processes_mentioning(name)
                .iter()
                .any(|cmd| cmd.starts_with("ffmpeg"))
        })
    });
    let bytes = std::fs::read(&encoded).unwrap();
    let feeders: Vec<_> = pipes
        .iter()
        .map(|pipe| {
            let (pipe, bytes) = (pipe.clone(), bytes.clone());
            std::thread::spawn(move || std::fs::write(pipe, bytes).unwrap())
        })
        .collect();
    for feeder in feeders {
        feeder.join().unwrap();
    }
    let out = child.wait();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let expected = golden["libvmaf_v2.3.1_to_v3.1.0"]["distorted"]["score"]
        .as_f64()
        .unwrap();
    let rows = rows_of(&out_path);
    assert_eq!(rows.len(), 2);
    for row in rows.values() {
        assert!(
            (row["vmaf"].as_f64().unwrap() - expected).abs() < 1e-4,
            "{row}"
        );
    }
    let ledger = std::fs::read_to_string(dir.join("out.jsonl.failures.jsonl")).unwrap();
    let line: Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    assert_eq!(
        (line["distorted"].as_str(), line["stage"].as_str()),
        (Some("missing.mkv"), Some("decode")),
        "{line}"
    );
}

/// Two runs on one output: the second stops at once, naming the output and the run that
/// holds it, and touches none of the first run's files; the first then finishes normally.
#[test]
fn a_second_run_on_the_same_output_is_refused() {
    let dir = scratch("one-writer");
    let (_fifo, manifest_path) = images_then_a_stalled_clip(&dir, 1, 2);
    let (m, out) = (
        manifest_path.display().to_string(),
        dir.join("out.jsonl").display().to_string(),
    );
    let journal = dir.join("out.jsonl.journal.jsonl");
    let first = support::Running::spawn(
        batch_command(
            &dir,
            &[
                m.as_str(),
                "-o",
                &out,
                "--metric",
                "psnr",
                "--task-timeout",
                "8",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()),
    );
    support::wait_for("the first run to journal its image rows", || {
        std::fs::read_to_string(&journal).map_or(0, |t| t.matches('\n').count()) >= 2
    });
    // A time limit, so that without the lock this run would end (and the test fail) rather
    // than wait on the stalled clip too.
    let limit = ["--task-timeout", "2"];
    let second = batch(
        &dir,
        &[&[m.as_str(), "-o", &out, "--metric", "psnr"][..], &limit].concat(),
    );
    let text = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&out) && text.contains("another qscore batch run is writing this output"),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(&journal)
            .unwrap()
            .matches('\n')
            .count(),
        2,
        "the second run leaves the journal alone"
    );
    // The first run's stalled clip times out; its image rows reach the table.
    let finished = first.wait();
    assert_eq!(finished.status.code(), Some(2), "{}", stderr(&finished));
    let table = std::fs::read_to_string(&out).unwrap();
    assert_eq!(table.lines().count(), 2, "{table}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.ends_with(".journal.jsonl"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// What made an output travels with it: `OUT.meta.json` (and a Parquet table's key-value
/// metadata) names qscore's version, the plugins and the parameters, a model-like file's
/// content included. A run on an output made with other parameters is refused by name
/// (mixing them in one table would be silent); the same parameters resume. Parameters
/// change row keys, and merge refuses shards made with other parameters.
#[test]
fn outputs_record_what_made_them_and_other_parameters_are_refused() {
    let dir = scratch("provenance");
    let manifest = tiny_corpus(&dir, 1, 3);
    let m = manifest.display().to_string();
    let (a, b) = (dir.join("a.parquet"), dir.join("b.parquet"));
    let (a_text, b_text) = (a.display().to_string(), b.display().to_string());
    let run = |out: &str, extra: &[&str]| {
        let args = [
            &[m.as_str(), "-o", out, "--metric", "butteraugli"][..],
            extra,
        ]
        .concat();
        batch(&dir, &args)
    };
    let param = ["--param", "butteraugli.intensity_target=250"];
    let first = run(&a_text, &param);
    assert!(first.status.success(), "{}", stderr(&first));
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("a.parquet.meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["qscore"], env!("CARGO_PKG_VERSION"));
    assert!(meta["plugins"]["cpu"].is_string(), "{meta}");
    assert_eq!(meta["params"][0]["key"], "intensity_target");
    assert_eq!(meta["params"][0]["value"], "250");
    let file = std::fs::File::open(&a).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    let embedded = parquet::file::reader::FileReader::metadata(&reader)
        .file_metadata()
        .key_value_metadata()
        .and_then(|kv| kv.iter().find(|k| k.key == "qscore.provenance").cloned())
        .and_then(|k| k.value)
        .expect("provenance in the Parquet metadata");
    assert_eq!(serde_json::from_str::<Value>(&embedded).unwrap(), meta);

    // The same parameters resume (nothing left to score); others are refused.
    let again = run(&a_text, &param);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("0 scored"), "{}", stderr(&again));
    let other = run(&a_text, &["--param", "butteraugli.intensity_target=80"]);
    assert_eq!(other.status.code(), Some(1), "{}", stderr(&other));
    let why = stderr(&other);
    assert!(
        why.contains(&a_text) && why.contains("=250") && why.contains("=80"),
        "{why}"
    );

    // Without parameters: other row keys, and a merge with `a` is refused.
    let plain = run(&b_text, &[]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let keys = |t: &Path| rows_of(t).into_keys().collect::<Vec<_>>();
    let (keys_a, keys_b) = (keys(&a), keys(&b));
    assert_eq!(keys_a.len(), 3);
    assert!(
        keys_a.iter().all(|k| !keys_b.contains(k)),
        "{keys_a:?} {keys_b:?}"
    );
    let merged = dir.join("merged.parquet").display().to_string();
    let refused = qscore(&["merge", &a_text, &b_text, "-o", &merged]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("other parameters"),
        "{}",
        stderr(&refused)
    );

    // A model file's content is part of the record: same path, other bytes, other run.
    let model = dir.join("model.json");
    std::fs::write(&model, "{\"a\": 1}").unwrap();
    let c = dir.join("c.csv").display().to_string();
    let with_file = format!("butteraugli.intensity_target={}", model.display());
    let _ = run(&c, &["--param", &with_file]);
    std::fs::write(&model, "{\"a\": 2}").unwrap();
    let changed = run(&c, &["--param", &with_file]);
    assert_eq!(changed.status.code(), Some(1), "{}", stderr(&changed));
    assert!(stderr(&changed).contains("[file "), "{}", stderr(&changed));
}
