//! Unit tests of the cache, the chooser and the ladder with synthetic inputs.

use std::time::Duration;

use qscore_core::{BackendFamily, Error, MemoryMode, PixelFormat};

use super::{
    cache::{CacheProblem, Sample, now_unix},
    *,
};

fn fingerprint(cpu: &str, plugin_hash: &str) -> Fingerprint {
    Fingerprint::from_parts(
        cpu.into(),
        vec!["avx2".into()],
        vec![format!("cpu 0.1.0 {plugin_hash}")],
        vec!["cpu/0 test".into()],
    )
}

fn sample(side: u32, prepare_ns_per_px: f64, compare_ns_per_px: f64, open_s: f64) -> Sample {
    let pixels = f64::from(side * side);
    Sample {
        width: side,
        height: side,
        open_s,
        prepare_s: 1e-4 + pixels * prepare_ns_per_px * 1e-9,
        compare_s: 2e-4 + pixels * compare_ns_per_px * 1e-9,
        peak_bytes: Some(side as u64 * side as u64 * 16),
        cold_s: None,
    }
}

fn cell(plugin: &str, device: u32, mode: &str, open_s: f64, ns_per_px: f64) -> Cell {
    Cell::fit(
        plugin,
        device,
        "ssim",
        mode,
        [96, 256, 512]
            .map(|s| sample(s, ns_per_px, ns_per_px, open_s))
            .to_vec(),
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("qscore-sched-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn fitting_recovers_fixed_and_per_pixel_costs() {
    let c = cell("cpu", 0, "full", 0.002, 30.0);
    assert!((c.prepare_per_pixel_s - 30e-9).abs() < 1e-12, "{c:?}");
    assert!((c.prepare_fixed_s - 1e-4).abs() < 1e-9, "{c:?}");
    assert!((c.compare_fixed_s - 2e-4).abs() < 1e-9, "{c:?}");
    assert_eq!(c.open_s, 0.002);
    let cost = c.cost(1e6, 3.0);
    let expected = 0.002 + (1e-4 + 0.03) + 3.0 * (2e-4 + 0.03);
    assert!((cost - expected).abs() < 1e-9, "{cost} vs {expected}");
}

#[test]
fn cache_round_trips_and_keeps_out_of_memory_records() {
    let dir = scratch("round-trip");
    let store = CacheStore::new(
        &dir,
        fingerprint("cpu A", "aaaa"),
        Duration::from_secs(3600),
    );
    assert!(store.load().unwrap().is_none(), "no file yet");
    let mut file = CacheFile::new(store.fingerprint().clone());
    file.put(cell("cpu", 0, "full", 0.001, 20.0));
    assert!(file.record_out_of_memory("gpu", 1, "ssim", "full", 4_000_000));
    assert!(
        !file.record_out_of_memory("gpu", 1, "ssim", "full", 9_000_000),
        "a larger size adds nothing"
    );
    assert!(file.record_out_of_memory("gpu", 1, "ssim", "full", 1_000_000));
    store.save(&file).unwrap();
    let back = store.load().unwrap().expect("file exists");
    assert_eq!(back, file);
    assert_eq!(
        back.cell("gpu", 1, "ssim", "full")
            .unwrap()
            .out_of_memory_at_pixels,
        Some(1_000_000)
    );
    // A new measurement keeps the out-of-memory record.
    let mut updated = back.clone();
    updated.put(cell("gpu", 1, "full", 0.05, 1.0));
    let gpu = updated.cell("gpu", 1, "ssim", "full").unwrap();
    assert!(gpu.measured());
    assert_eq!(gpu.out_of_memory_at_pixels, Some(1_000_000));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left behind");
}

#[test]
fn a_corrupt_cache_is_reported_not_trusted() {
    let dir = scratch("corrupt");
    let store = CacheStore::new(
        &dir,
        fingerprint("cpu A", "aaaa"),
        Duration::from_secs(3600),
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(store.path(), "format = 1\ncells = [ this is not toml").unwrap();
    let problem = store.load().unwrap_err();
    assert!(matches!(problem, CacheProblem::Corrupt { .. }), "{problem}");
    assert!(problem.to_string().contains("measuring again"));
}

#[test]
fn a_stale_cache_is_measured_again() {
    let dir = scratch("stale");
    let store = CacheStore::new(
        &dir,
        fingerprint("cpu A", "aaaa"),
        Duration::from_secs(7 * 86_400),
    );
    let mut file = CacheFile::new(store.fingerprint().clone());
    file.created_unix = now_unix() - 8 * 86_400;
    store.save(&file).unwrap();
    assert!(matches!(
        store.load().unwrap_err(),
        CacheProblem::Stale { .. }
    ));
}

#[test]
fn other_hardware_or_plugins_get_another_file() {
    let base = fingerprint("cpu A", "aaaa");
    let new_cpu = fingerprint("cpu B", "aaaa");
    let rebuilt_plugin = fingerprint("cpu A", "bbbb");
    assert_ne!(base.hash, new_cpu.hash);
    assert_ne!(base.hash, rebuilt_plugin.hash);
    let dir = scratch("mismatch");
    let store = CacheStore::new(&dir, base.clone(), Duration::from_secs(3600));
    assert_ne!(
        store.path(),
        CacheStore::new(&dir, new_cpu.clone(), Duration::from_secs(3600)).path()
    );
    // A file whose recorded fingerprint differs from its name's is not trusted either.
    store.save(&CacheFile::new(new_cpu)).unwrap();
    assert!(matches!(
        store.load().unwrap_err(),
        CacheProblem::Mismatch { .. }
    ));
}

fn candidate(
    plugin: &str,
    family: BackendFamily,
    device: u32,
    mode: MemoryMode,
    predicted: u64,
    free: u64,
) -> Candidate {
    Candidate {
        plugin: plugin.into(),
        family,
        device,
        mode,
        support: Ok(()),
        predicted_bytes: Ok(predicted),
        free_bytes: Some(free),
        quarantined: false,
        warm: false,
    }
}

fn task(side: u32, comparisons: u32) -> ChoiceTask {
    ChoiceTask {
        metric: "ssim".into(),
        width: side,
        height: side,
        format: PixelFormat::RGB8,
        references: 1,
        comparisons,
    }
}

const GIB: u64 = 1 << 30;

#[test]
fn a_cold_gpu_loses_a_small_one_shot_job_and_wins_a_big_batch() {
    let mut cache = CacheFile::new(fingerprint("cpu A", "aaaa"));
    cache.put(cell("cpu", 0, "full", 0.0001, 40.0));
    cache.put(cell("gpu", 0, "full", 0.5, 0.5));
    let candidates = [
        candidate(
            "cpu",
            BackendFamily::CPU,
            0,
            MemoryMode::FULL,
            10 << 20,
            16 * GIB,
        ),
        candidate(
            "gpu",
            BackendFamily::CUDA,
            0,
            MemoryMode::FULL,
            10 << 20,
            8 * GIB,
        ),
    ];
    let small = choose(Some(&cache), &candidates, &task(256, 1));
    assert_eq!(small.ranked[0].plugin, "cpu", "{small:?}");
    let big = choose(Some(&cache), &candidates, &task(4096, 64));
    assert_eq!(big.ranked[0].plugin, "gpu", "{big:?}");
    assert_eq!(big.ranked.len(), 2);
    assert!(big.considered.is_empty());
}

/// A VMAF clip: the CPU takes 25 ms a frame; a GPU 1 ms, after a cold start of 2 s (device,
/// kernel compilation) measured once per process.
#[test]
fn a_gpus_cold_start_sends_a_short_clip_to_the_cpu_and_a_long_one_to_the_gpu() {
    let frame_cell = |plugin: &str, seconds_per_frame: f64, cold_s: f64| {
        let pixels = 1920.0 * 1080.0;
        let samples = [96u32, 256, 512]
            .iter()
            .enumerate()
            .map(|(i, &side)| Sample {
                width: side,
                height: side,
                open_s: 1e-3,
                prepare_s: 0.0,
                compare_s: seconds_per_frame * f64::from(side * side) / pixels,
                peak_bytes: None,
                cold_s: (i == 0).then_some(cold_s),
            })
            .collect();
        Cell::fit(plugin, 0, "vmaf", "full", samples)
    };
    let mut cache = CacheFile::new(fingerprint("cpu A", "aaaa"));
    cache.put(frame_cell("cpu", 0.025, 0.0));
    cache.put(frame_cell("gpu", 0.001, 2.0));
    let mut candidates = [
        candidate(
            "cpu",
            BackendFamily::CPU,
            0,
            MemoryMode::FULL,
            1 << 20,
            16 * GIB,
        ),
        candidate(
            "gpu",
            BackendFamily::CUDA,
            0,
            MemoryMode::FULL,
            1 << 20,
            8 * GIB,
        ),
    ];
    let clip = |frames: u32| ChoiceTask {
        metric: "vmaf".into(),
        width: 1920,
        height: 1080,
        format: PixelFormat::yuv(qscore_core::ChromaSubsampling::Yuv420, 8),
        references: frames,
        comparisons: 1,
    };
    let short = choose(Some(&cache), &candidates, &clip(3));
    assert_eq!(short.ranked[0].plugin, "cpu", "{short:?}");
    let long = choose(Some(&cache), &candidates, &clip(1000));
    assert_eq!(long.ranked[0].plugin, "gpu", "{long:?}");
    let gpu_cost = long.ranked[0].cost_s.unwrap();
    assert!(
        (3.0..3.1).contains(&gpu_cost),
        "cold start + 1000 frames: {gpu_cost}"
    );
    // Once the GPU has run the metric in this process, its cold start is paid.
    candidates[1].warm = true;
    let warm = choose(Some(&cache), &candidates, &clip(3));
    assert_eq!(warm.ranked[0].plugin, "gpu", "{warm:?}");
}

#[test]
fn every_rejection_is_explained() {
    let mut cache = CacheFile::new(fingerprint("cpu A", "aaaa"));
    cache.put(cell("cpu", 0, "full", 0.0001, 40.0));
    cache.record_out_of_memory("gpu", 0, "ssim", "full", 1_000_000);
    let mut unsupported = candidate("wgpu", BackendFamily::WGPU, 0, MemoryMode::FULL, 1, GIB);
    unsupported.support = Err("format gray16 not accepted".into());
    let mut no_prediction = candidate("hip", BackendFamily::HIP, 0, MemoryMode::FULL, 1, GIB);
    no_prediction.predicted_bytes = Err("driver error".into());
    let mut quarantined = candidate("sim", BackendFamily::OTHER, 0, MemoryMode::FULL, 1, GIB);
    quarantined.quarantined = true;
    let candidates = [
        candidate(
            "cpu",
            BackendFamily::CPU,
            0,
            MemoryMode::FULL,
            10 << 20,
            16 * GIB,
        ),
        candidate("gpu", BackendFamily::CUDA, 0, MemoryMode::FULL, 100, GIB),
        candidate(
            "gpu",
            BackendFamily::CUDA,
            0,
            MemoryMode::STRIP,
            90 * GIB / 100,
            GIB,
        ),
        candidate(
            "gpu",
            BackendFamily::CUDA,
            0,
            MemoryMode::STRIP_PAIR,
            10 << 20,
            GIB,
        ),
        unsupported,
        no_prediction,
        quarantined,
    ];
    let ranking = choose(Some(&cache), &candidates, &task(2048, 4));
    assert_eq!(ranking.ranked.len(), 1);
    assert_eq!(ranking.ranked[0].plugin, "cpu");
    let reasons: Vec<(String, MemoryMode, &Rejection)> = ranking
        .considered
        .iter()
        .map(|c| (c.plugin.clone(), c.mode, &c.reason))
        .collect();
    assert!(
        matches!(reasons[0], (ref p, MemoryMode::FULL, Rejection::KnownOutOfMemory { at_pixels: 1_000_000, .. }) if p == "gpu"),
        "{reasons:?}"
    );
    assert!(
        matches!(
            reasons[1],
            (_, MemoryMode::STRIP, Rejection::TooLarge { .. })
        ),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[2], (_, _, Rejection::Unsupported(_))),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[3], (_, _, Rejection::NoPrediction(_))),
        "{reasons:?}"
    );
    assert!(
        matches!(reasons[4], (_, _, Rejection::Quarantined)),
        "{reasons:?}"
    );
    // Unmeasured candidates are set aside last, once it is known others are measured.
    assert!(
        matches!(
            reasons[5],
            (_, MemoryMode::STRIP_PAIR, Rejection::NoMeasurement)
        ),
        "{reasons:?}"
    );
    assert_eq!(ranking.considered.len(), 6);
    // The text says why in words.
    assert!(reasons[1].2.to_string().contains("85%"));
}

#[test]
fn without_measurements_the_cpu_leads_and_modes_stay_in_ladder_order() {
    let candidates = [
        candidate("gpu", BackendFamily::CUDA, 0, MemoryMode::FULL, 1, GIB),
        candidate("gpu", BackendFamily::CUDA, 0, MemoryMode::STRIP, 1, GIB),
        candidate("cpu", BackendFamily::CPU, 0, MemoryMode::FULL, 1, GIB),
    ];
    let ranking = choose(None, &candidates, &task(512, 1));
    let order: Vec<(&str, MemoryMode)> = ranking
        .ranked
        .iter()
        .map(|c| (c.plugin.as_str(), c.mode))
        .collect();
    assert_eq!(
        order,
        [
            ("cpu", MemoryMode::FULL),
            ("gpu", MemoryMode::FULL),
            ("gpu", MemoryMode::STRIP)
        ]
    );
    assert!(ranking.ranked.iter().all(|c| c.cost_s.is_none()));
}

fn choice(plugin: &str, device: u32, mode: MemoryMode) -> Choice {
    Choice {
        plugin: plugin.into(),
        device,
        mode,
        cost_s: None,
        cold_s: 0.0,
        predicted_bytes: 0,
    }
}

fn oom() -> Error {
    Error::OutOfMemory {
        needed: 10,
        available: 1,
        message: "test".into(),
    }
}

#[test]
fn the_ladder_steps_down_modes_then_devices_then_the_cpu() {
    let ranked = [
        choice("gpu", 0, MemoryMode::FULL),
        choice("gpu", 0, MemoryMode::STRIP),
        choice("gpu", 0, MemoryMode::STRIP_PAIR),
        choice("gpu", 1, MemoryMode::FULL),
        choice("cpu", 0, MemoryMode::FULL),
    ];
    let mut tried = Vec::new();
    let success = walk(&ranked, false, |c| {
        tried.push((c.plugin.clone(), c.device, c.mode));
        if c.plugin == "cpu" {
            Ok(42)
        } else {
            Err(oom())
        }
    })
    .unwrap();
    assert_eq!(success.value, 42);
    assert_eq!(success.choice.plugin, "cpu");
    assert_eq!(success.attempts.len(), 4);
    assert_eq!(tried.len(), 5);
}

#[test]
fn the_ladder_skips_fuller_modes_after_a_leaner_one_ran_out() {
    // A ranking that (by cost) puts Strip before Full: after Strip runs out, Full is not tried.
    let ranked = [
        choice("gpu", 0, MemoryMode::STRIP),
        choice("gpu", 0, MemoryMode::FULL),
        choice("gpu", 0, MemoryMode::STRIP_PAIR),
    ];
    let mut tried = Vec::new();
    let result = walk(&ranked, false, |c| {
        tried.push(c.mode);
        if c.mode == MemoryMode::STRIP_PAIR {
            Ok(())
        } else {
            Err(oom())
        }
    });
    assert!(result.is_ok());
    assert_eq!(tried, [MemoryMode::STRIP, MemoryMode::STRIP_PAIR]);
}

#[test]
fn the_ladder_is_exhausted_strict_or_stopped_by_bad_input() {
    let ranked = [
        choice("gpu", 0, MemoryMode::FULL),
        choice("cpu", 0, MemoryMode::FULL),
    ];
    let exhausted = walk(&ranked, false, |_| Err::<(), _>(oom())).unwrap_err();
    assert!(
        matches!(&exhausted, LadderError::Exhausted { attempts } if attempts.len() == 2),
        "{exhausted}"
    );
    let strict = walk(&ranked, true, |_| Err::<(), _>(oom())).unwrap_err();
    assert!(
        matches!(&strict, LadderError::Strict { attempts } if attempts.len() == 1),
        "{strict}"
    );
    assert!(
        strict.to_string().contains("gpu/0 full: out of memory"),
        "{strict}"
    );
    let mut calls = 0;
    let bad = walk(&ranked, false, |_| {
        calls += 1;
        Err::<(), _>(Error::InvalidInput("sizes differ".into()))
    })
    .unwrap_err();
    assert!(matches!(bad, LadderError::InvalidInput { .. }));
    assert_eq!(calls, 1, "no other backend is tried for bad input");
    let lost = [
        choice("gpu", 0, MemoryMode::FULL),
        choice("gpu", 0, MemoryMode::STRIP),
        choice("cpu", 0, MemoryMode::FULL),
    ];
    let mut tried = Vec::new();
    walk(&lost, false, |c| {
        tried.push(c.plugin.clone());
        if c.plugin == "gpu" {
            Err(Error::DeviceLost("reset".into()))
        } else {
            Ok(())
        }
    })
    .unwrap();
    assert_eq!(
        tried,
        ["gpu", "cpu"],
        "a lost device is not tried again in another mode"
    );
}
