//! The scheduler end to end, with the simulation plugin standing in for a GPU that
//! runs out of memory, panics, returns NaN or is slow — loaded through the real ABI.

mod support;

use std::{path::PathBuf, sync::Arc};

use qscore_core::MemoryMode;
use qscore_host::{
    LoadReport, PluginSearch, decode_image,
    isolate::Isolation,
    load_plugins,
    sched::{
        CacheFile, CacheStore, Cell, ChoiceTask, Fingerprint, LadderError, Reference, Rejection,
        Scheduler, SchedulerOptions, ScoreFailure, ScoreOutcome, ScoreRequest, cache::Sample,
    },
};
use serde_json::{Value, json};

const REFERENCE: &str = "images/flower_512.png";
const DISTORTED: &str = "images/flower_512__jpeg_q40.png";
const MIB: u64 = 1 << 20;

fn golden_psnr() -> f64 {
    let golden: Value = serde_json::from_str(
        &std::fs::read_to_string(support::data("images/golden.json")).unwrap(),
    )
    .unwrap();
    golden["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["distorted"] == "flower_512__jpeg_q40.png")
        .unwrap()["psnr"]
        .as_f64()
        .unwrap()
}

/// A directory with the CPU plugin and one simulation plugin configured by `config`.
fn plugins(test: &str, config: Value) -> (LoadReport, PathBuf) {
    plugins_loaded(test, config, Isolation::None)
}

/// [`plugins`], loaded as `isolate` says; a worker process answers each call within 2 s.
fn plugins_loaded(test: &str, config: Value, isolate: Isolation) -> (LoadReport, PathBuf) {
    support::build(&["qscore-sim", "qscore-cpu"]);
    let dir = support::plugin_dir(
        test,
        &[support::cpu_plugin(), support::library("qscore_sim")],
    );
    std::fs::write(dir.join("libqscore_sim.json"), config.to_string()).unwrap();
    let report = load_plugins(&PluginSearch {
        explicit: vec![dir.clone()],
        defaults: false,
        allow_insecure: false,
        isolate,
        worker_exe: Some(env!("CARGO_BIN_EXE_qscore").into()),
        worker_timeout: Some(std::time::Duration::from_secs(2)),
        shipped: None,
    });
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.plugins.len(), 2);
    let cache_dir = dir.join("cache");
    (report, cache_dir)
}

fn cell(plugin: &str, mode: MemoryMode, ns_per_pixel: f64) -> Cell {
    let samples = [128u32, 512]
        .map(|side| {
            let pixels = f64::from(side * side);
            Sample {
                width: side,
                height: side,
                open_s: 1e-4,
                prepare_s: pixels * ns_per_pixel * 1e-9,
                compare_s: pixels * ns_per_pixel * 1e-9,
                peak_bytes: None,
                cold_s: None,
            }
        })
        .to_vec();
    Cell::fit(plugin, 0, "psnr", &mode.to_string(), samples)
}

/// A capability cache in which the simulated GPU is much faster than the CPU in every
/// mode (leaner modes a little slower), so the ladder starts on it.
fn write_cache(report: &LoadReport, cache_dir: &std::path::Path) {
    let store = CacheStore::new(
        cache_dir,
        Fingerprint::of(&report.plugins),
        std::time::Duration::from_secs(3600),
    );
    let mut file = CacheFile::new(store.fingerprint().clone());
    file.put(cell("sim", MemoryMode::FULL, 1.0));
    file.put(cell("sim", MemoryMode::STRIP, 2.0));
    file.put(cell("sim", MemoryMode::STRIP_PAIR, 3.0));
    file.put(cell("cpu", MemoryMode::FULL, 500.0));
    store.save(&file).unwrap();
}

fn scheduler(
    report: &LoadReport,
    cache_dir: PathBuf,
    tweak: impl FnOnce(&mut SchedulerOptions),
) -> Scheduler {
    write_cache(report, &cache_dir);
    let mut options = SchedulerOptions {
        cache_dir: Some(cache_dir),
        cpu_workers: 2,
        ..SchedulerOptions::default()
    };
    tweak(&mut options);
    let scheduler = Scheduler::new(report.plugins.clone(), options).unwrap();
    assert!(
        scheduler.cache_problem().is_none(),
        "{:?}",
        scheduler.cache_problem()
    );
    scheduler
}

/// Scores the sample pair `n` times and returns the outcomes in tag order.
fn score(scheduler: &Scheduler, n: u64) -> Vec<ScoreOutcome> {
    let reference = Reference::new(Arc::new(decode_image(&support::data(REFERENCE)).unwrap()));
    let distorted = Arc::new(decode_image(&support::data(DISTORTED)).unwrap());
    for tag in 0..n {
        scheduler
            .submit(ScoreRequest {
                reference: reference.clone(),
                distorted: Arc::clone(&distorted),
                neighbours: None,
                metric: "psnr".into(),
                params: Vec::new(),
                references: 1,
                comparisons: n as u32,
                tag,
            })
            .unwrap();
    }
    let mut outcomes: Vec<ScoreOutcome> =
        std::iter::from_fn(|| scheduler.poll_blocking()).collect();
    outcomes.sort_by_key(|o| o.tag);
    assert_eq!(outcomes.len() as u64, n);
    outcomes
}

fn psnr_of(outcome: &ScoreOutcome) -> f64 {
    let scored = outcome.result.as_ref().unwrap_or_else(|e| panic!("{e}"));
    scored
        .values
        .iter()
        .find(|v| v.name.as_str() == "psnr")
        .unwrap()
        .value
}

fn task() -> ChoiceTask {
    ChoiceTask {
        metric: "psnr".into(),
        width: 512,
        height: 512,
        format: qscore_core::PixelFormat::RGB8,
        references: 1,
        comparisons: 1,
    }
}

#[test]
fn a_prediction_above_free_memory_steps_to_a_leaner_mode_before_running() {
    // Full needs 7 MiB, strip 4.375 MiB: with 6 MiB free only strip fits the 85% headroom.
    let (report, cache) = plugins("predicted", json!({"total_memory": 6 * MIB}));
    let scheduler = scheduler(&report, cache, |_| {});
    let ranking = scheduler.explain(&task(), &[]);
    assert!(
        ranking.considered.iter().any(|c| c.plugin == "sim"
            && c.mode == MemoryMode::FULL
            && matches!(c.reason, Rejection::TooLarge { .. })),
        "{ranking:?}"
    );
    let outcomes = score(&scheduler, 2);
    for outcome in &outcomes {
        let scored = outcome.result.as_ref().unwrap();
        assert_eq!(
            (scored.plugin.as_str(), scored.mode),
            ("sim", MemoryMode::STRIP)
        );
        assert!(
            scored.attempts.is_empty(),
            "nothing failed: the chooser set full aside"
        );
        assert!((psnr_of(outcome) - golden_psnr()).abs() < 1e-6);
    }
}

#[test]
fn out_of_memory_at_open_steps_down_and_is_remembered() {
    let (report, cache) = plugins("at-open", json!({"oom_open_above": 5 * MIB}));
    let scheduler = scheduler(&report, cache.clone(), |_| {});
    let outcome = &score(&scheduler, 1)[0];
    let scored = outcome.result.as_ref().unwrap();
    assert_eq!(
        (scored.plugin.as_str(), scored.mode),
        ("sim", MemoryMode::STRIP)
    );
    assert_eq!(scored.attempts.len(), 1);
    assert!(scored.attempts[0].error.is_out_of_memory());
    assert!((psnr_of(outcome) - golden_psnr()).abs() < 1e-6);
    // Recorded in the cache file: the next run does not try full at this size again.
    drop(scheduler);
    let again = Scheduler::new(
        report.plugins.clone(),
        SchedulerOptions {
            cache_dir: Some(cache),
            ..SchedulerOptions::default()
        },
    )
    .unwrap();
    let ranking = again.explain(&task(), &[]);
    assert!(
        ranking.considered.iter().any(|c| c.plugin == "sim"
            && c.mode == MemoryMode::FULL
            && matches!(
                c.reason,
                Rejection::KnownOutOfMemory {
                    at_pixels: 262_144,
                    ..
                }
            )),
        "{ranking:?}"
    );
    assert_eq!(ranking.ranked[0].mode, MemoryMode::STRIP);
}

#[test]
fn out_of_memory_at_run_time_falls_through_every_mode_to_the_cpu() {
    let (report, cache) = plugins("at-run-time", json!({"oom_every": 1}));
    let scheduler = scheduler(&report, cache, |o| o.device_workers = Some(1));
    let ladder = [MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR];
    let mut tried_anywhere = Vec::new();
    for outcome in score(&scheduler, 3) {
        let scored = outcome.result.as_ref().unwrap();
        assert_eq!(scored.plugin, "cpu");
        // Each task steps down in ladder order; a mode already recorded as out of
        // memory at this size is not tried again by later tasks.
        let tried: Vec<MemoryMode> = scored.attempts.iter().map(|a| a.mode).collect();
        assert!(
            scored
                .attempts
                .iter()
                .all(|a| a.plugin == "sim" && a.error.is_out_of_memory())
        );
        let positions: Vec<usize> = tried
            .iter()
            .map(|m| ladder.iter().position(|l| l == m).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{tried:?}");
        tried_anywhere.extend(tried);
        // Scores agree whichever backend produced them.
        assert!((psnr_of(&outcome) - golden_psnr()).abs() < 1e-6);
    }
    for mode in ladder {
        assert!(
            tried_anywhere.contains(&mode),
            "{mode} never tried: {tried_anywhere:?}"
        );
    }
    let ranking = scheduler.explain(&task(), &[]);
    let remembered = ranking
        .considered
        .iter()
        .filter(|c| c.plugin == "sim" && matches!(c.reason, Rejection::KnownOutOfMemory { .. }))
        .count();
    assert_eq!(remembered, 3, "{ranking:?}");
}

#[test]
fn every_backend_failing_is_exhausted_with_every_attempt() {
    let (report, cache) = plugins("exhausted", json!({"oom_every": 1}));
    let scheduler = scheduler(&report, cache, |o| o.backend = Some("sim".into()));
    let outcome = &score(&scheduler, 1)[0];
    match &outcome.result {
        Err(ScoreFailure::Ladder(LadderError::Exhausted { attempts })) => {
            assert_eq!(attempts.len(), 3);
            assert!(attempts.iter().all(|a| a.error.is_out_of_memory()));
        }
        other => panic!("expected exhaustion, got {other:?}"),
    }
}

#[test]
fn strict_mode_returns_the_first_failure() {
    let (report, cache) = plugins("strict", json!({"oom_open_above": MIB}));
    let scheduler = scheduler(&report, cache, |o| {
        o.backend = Some("sim".into());
        o.strict = true;
    });
    match &score(&scheduler, 1)[0].result {
        Err(ScoreFailure::Ladder(LadderError::Strict { attempts })) => {
            assert_eq!(attempts.len(), 1);
            assert_eq!(attempts[0].mode, MemoryMode::FULL);
        }
        other => panic!("expected a strict failure, got {other:?}"),
    }
}

#[test]
fn a_lost_device_is_not_tried_again() {
    // The device works for one comparison, then is lost: later tasks try it once and
    // go to the CPU without trying its leaner modes.
    let (report, cache) = plugins("device-lost", json!({"device_lost_after": 1}));
    let scheduler = scheduler(&report, cache, |o| o.device_workers = Some(1));
    let outcomes = score(&scheduler, 3);
    let first = outcomes[0].result.as_ref().unwrap();
    assert_eq!(first.plugin, "sim");
    for outcome in &outcomes[1..] {
        let scored = outcome.result.as_ref().unwrap();
        assert_eq!(scored.plugin, "cpu");
        assert_eq!(scored.attempts.len(), 1, "{:?}", scored.attempts);
        assert!(matches!(
            scored.attempts[0].error,
            qscore_core::Error::DeviceLost(_)
        ));
        assert!((psnr_of(outcome) - golden_psnr()).abs() < 1e-6);
    }
}

#[test]
fn nan_and_out_of_range_scores_are_rejected() {
    for (test, config) in [
        ("nan", json!({"nan": true})),
        ("range", json!({"out_of_range": true})),
    ] {
        let (report, cache) = plugins(test, config);
        let scheduler = scheduler(&report, cache.clone(), |_| {});
        let outcome = &score(&scheduler, 1)[0];
        let scored = outcome.result.as_ref().unwrap();
        assert_eq!(scored.plugin, "cpu", "{test}");
        assert!((psnr_of(outcome) - golden_psnr()).abs() < 1e-6);
        let first = scored.attempts[0].error.to_string();
        assert!(
            first.contains("NaN") || first.contains("outside"),
            "{first}"
        );
        drop(scheduler);
        let strict = self::scheduler(&report, cache, |o| {
            o.backend = Some("sim".into());
            o.strict = true;
        });
        assert!(
            score(&strict, 1)[0].result.is_err(),
            "{test}: never returned as a score"
        );
    }
}

#[test]
fn a_plugin_that_keeps_panicking_is_quarantined() {
    let (report, cache) = plugins("quarantine", json!({"panic": "compare"}));
    let scheduler = scheduler(&report, cache, |o| {
        o.cpu_workers = 1;
        o.device_workers = Some(1);
    });
    let outcomes = score(&scheduler, 8);
    for outcome in &outcomes {
        assert_eq!(outcome.result.as_ref().unwrap().plugin, "cpu");
        assert!((psnr_of(outcome) - golden_psnr()).abs() < 1e-6);
    }
    let panics: usize = outcomes
        .iter()
        .flat_map(|o| o.result.as_ref().unwrap().attempts.iter())
        .filter(|a| a.error.to_string().contains("panic in"))
        .count();
    assert!(panics >= 3, "{panics} panics before quarantine");
    assert!(panics < 8 * 3, "tried every mode of every task: {panics}");
    assert_quarantined(&scheduler, "quarantine");
}

#[test]
fn admission_queues_tasks_that_would_not_fit_together() {
    // Each full session needs 7 MiB. On a 1 GiB device both workers of the lane run at
    // once; on a 9 MiB device a worker waits for memory while the other runs.
    let waits = |test: &str, memory: u64| {
        let (report, cache) = plugins(test, json!({"total_memory": memory, "slow_ms": 100}));
        let scheduler = scheduler(&report, cache, |o| {
            o.device_workers = Some(2);
            o.reuse_references = false;
        });
        for outcome in score(&scheduler, 4) {
            assert_eq!(outcome.result.as_ref().unwrap().plugin, "sim");
            assert!((psnr_of(&outcome) - golden_psnr()).abs() < 1e-6);
        }
        let stats = scheduler.pool_stats();
        let lane = stats
            .lanes
            .iter()
            .find(|l| l.name == "sim/0")
            .expect("a lane for the device");
        assert_eq!(lane.tasks_run(), 4);
        lane.admission_waits()
    };
    assert_eq!(
        waits("admission-roomy", 1 << 30),
        0,
        "no waiting when memory allows"
    );
    assert!(
        waits("admission-tight", 9 * MIB) >= 1,
        "a task waited for memory"
    );
}

#[test]
fn a_shared_reference_is_prepared_once_per_worker() {
    let (report, cache) = plugins("reference-cache", json!({"name": "sim"}));
    let one_worker = scheduler(&report, cache.clone(), |o| {
        o.backend = Some("cpu".into());
        o.cpu_workers = 1;
    });
    score(&one_worker, 8);
    assert_eq!(one_worker.reference_counts(), (7, 1));
    // With two workers the reference may spread to the second one once the first is busy:
    // at most one more preparation.
    let two_workers = self::scheduler(&report, cache.clone(), |o| {
        o.backend = Some("cpu".into());
        o.cpu_workers = 2;
    });
    score(&two_workers, 8);
    let (hits, misses) = two_workers.reference_counts();
    assert_eq!(hits + misses, 8);
    assert!((1..=2).contains(&misses), "{misses} preparations");
    let without = self::scheduler(&report, cache, |o| {
        o.backend = Some("cpu".into());
        o.reuse_references = false;
    });
    score(&without, 8);
    assert_eq!(without.reference_counts(), (0, 8));
}

/// The simulated GPU is set aside as quarantined, and the CPU plugin alone ranked.
fn assert_quarantined(scheduler: &Scheduler, test: &str) {
    let ranking = scheduler.explain(&task(), &[]);
    assert!(
        ranking
            .considered
            .iter()
            .any(|c| c.plugin == "sim" && matches!(c.reason, Rejection::Quarantined)),
        "{test}: {ranking:?}"
    );
    assert!(ranking.ranked.iter().all(|c| c.plugin == "cpu"), "{test}");
}

/// The worker processes running plugin files from `dir`, by process id.
fn workers_of(dir: &std::path::Path) -> Vec<u32> {
    let dir = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                let line = String::from_utf8_lossy(&c).replace('\0', " ");
                line.contains("plugin-worker") && line.contains(&dir)
            })
        })
        .collect()
}

/// A plugin in worker processes that segfaults, aborts or hangs in `open`, `prepare` or
/// `compare` costs only its attempts: every task is scored by the CPU plugin, each failure
/// names the plugin and the signal (or the silence), the plugin is quarantined after
/// repeated crashes as after panics, and no worker process outlives the run.
#[test]
fn an_isolated_plugin_that_crashes_or_hangs_fails_only_its_attempts() {
    let crashes = [
        ("segfault", "open", "SIGSEGV"),
        ("segfault", "prepare", "SIGSEGV"),
        ("segfault", "compare", "SIGSEGV"),
        ("abort", "open", "SIGABRT"),
        ("abort", "prepare", "SIGABRT"),
        ("abort", "compare", "SIGABRT"),
        ("hang", "open", "did not answer within 2s"),
        ("hang", "prepare", "did not answer within 2s"),
        ("hang", "compare", "did not answer within 2s"),
    ];
    for (crash, at, says) in crashes {
        // On a thread of its own: workers belong to the threads that called the plugin.
        let dir = std::thread::spawn(move || isolated_crash(crash, at, says))
            .join()
            .unwrap();
        // Workers end as their threads do, and the pool's threads may take a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !workers_of(&dir).is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            workers_of(&dir),
            Vec::<u32>::new(),
            "{crash} {at}: workers left"
        );
    }
}

/// One case of [`an_isolated_plugin_that_crashes_or_hangs_fails_only_its_attempts`]; the
/// plugin folder.
fn isolated_crash(crash: &str, at: &str, says: &str) -> PathBuf {
    let test = format!("isolated-{crash}-{at}");
    let (report, cache) = plugins_loaded(&test, json!({ crash: at }), Isolation::All);
    assert!(report.plugins.iter().all(|p| p.is_isolated()));
    let dir = cache.parent().unwrap().to_path_buf();
    let scheduler = scheduler(&report, cache, |o| {
        o.cpu_workers = 1;
        o.device_workers = Some(1);
    });
    // One task at a time: each starts on the simulated GPU until it is quarantined (tasks
    // queued together may move to the CPU while a worker restarts, and try it fewer times).
    let outcomes: Vec<ScoreOutcome> = (0..6).flat_map(|_| score(&scheduler, 1)).collect();
    for outcome in &outcomes {
        let scored = outcome.result.as_ref().unwrap();
        assert_eq!(scored.plugin, "cpu", "{test}");
        assert!((psnr_of(outcome) - golden_psnr()).abs() < 1e-6, "{test}");
    }
    let failures: Vec<String> = outcomes
        .iter()
        .flat_map(|o| o.result.as_ref().unwrap().attempts.iter())
        .map(|a| a.error.to_string())
        .filter(|e| e.contains("crash in plugin sim"))
        .collect();
    let tried: Vec<String> = outcomes
        .iter()
        .flat_map(|o| o.result.as_ref().unwrap().attempts.iter())
        .map(|a| format!("{}: {}", a.plugin, a.error))
        .collect();
    assert!(
        !failures.is_empty(),
        "{test}: sim was never tried: {tried:?}"
    );
    assert!(
        failures.iter().all(|e| e.contains(says)),
        "{test}: {failures:?}"
    );
    assert_quarantined(&scheduler, &test);
    dir
}

/// `qscore` with `--plugin-dir dir`, the capability cache in `cache`.
fn qscore_in(
    dir: &std::path::Path,
    cache: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_qscore"))
        .args(["--no-default-plugins", "--plugin-dir"])
        .arg(dir)
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .env("QSCORE_PLUGIN_TIMEOUT", "1")
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .unwrap()
}

/// Through the command line, where plugins from `--plugin-dir` run in worker processes by
/// default: a crashing or hanging plugin leaves the inputs to the CPU plugin (exit 0), or,
/// alone, fails them by name (exit 2, as some inputs failing does), and no worker process
/// outlives `qscore`.
#[test]
fn the_command_line_isolates_plugins_from_other_folders() {
    let (reference, distorted) = (support::data(REFERENCE), support::data(DISTORTED));
    let (r, d) = (reference.to_str().unwrap(), distorted.to_str().unwrap());
    for (crash, at) in [
        ("segfault", "compare"),
        ("abort", "prepare"),
        ("hang", "compare"),
    ] {
        let test = format!("cli-{crash}-{at}");
        // The cache that ranks the simulated GPU first is made from plugins loaded here.
        let (report, cache) = plugins(&test, json!({ crash: at }));
        write_cache(&report, &cache);
        drop(report);
        let dir = cache.parent().unwrap().to_path_buf();
        let listed = qscore_in(&dir, &cache, &["plugins", "--json"]);
        let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
        let isolated: Vec<&Value> = listed["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["isolated"])
            .collect();
        assert!(isolated.iter().all(|i| **i == true), "{listed}");
        let run = |extra: &[&str]| {
            let mut args = vec![
                "score",
                r,
                d,
                d,
                d,
                "--metric",
                "psnr",
                "--no-bench",
                "--json",
            ];
            args.extend_from_slice(extra);
            qscore_in(&dir, &cache, &args)
        };
        let out = run(&[]);
        assert_eq!(out.status.code(), Some(0), "{test}: {out:?}");
        let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 3);
        for row in &rows {
            assert_eq!(row["backend"]["plugin"], "cpu", "{test}: {row}");
            let psnr = row["scores"]["psnr"].as_f64().unwrap();
            assert!((psnr - golden_psnr()).abs() < 1e-6, "{test}: {row}");
        }
        let alone = run(&["--backend", "sim"]);
        assert_eq!(alone.status.code(), Some(2), "{test}: {alone:?}");
        let said = String::from_utf8_lossy(&alone.stderr);
        assert!(said.contains("crash in plugin sim"), "{test}: {said}");
        assert_eq!(workers_of(&dir), Vec::<u32>::new(), "{test}: workers left");
        // In qscore's own process the same plugin would have taken it down.
        if crash != "hang" {
            let inside = qscore_in(
                &dir,
                &cache,
                &[
                    &["--isolate", "none"][..],
                    &[
                        "score",
                        r,
                        d,
                        "--metric",
                        "psnr",
                        "--no-bench",
                        "--backend",
                        "sim",
                    ],
                ]
                .concat(),
            );
            assert_eq!(inside.status.code(), None, "{test}: {inside:?}");
        }
    }
}

/// A discrete GPU runs several tasks at once by default (each on a worker, so on a stream, of
/// its own): eight 100 ms comparisons on the simulated GPU take about two rounds of four,
/// against eight rounds with one task in flight; the scores are the same.
#[test]
fn a_discrete_gpu_has_several_tasks_in_flight_by_default() {
    let run = |test: &str, workers: Option<usize>| {
        let (report, cache) = plugins(test, json!({"slow_ms": 100}));
        let scheduler = scheduler(&report, cache, |o| {
            o.backend = Some("sim".into());
            o.device_workers = workers;
            o.reuse_references = false;
        });
        let start = std::time::Instant::now();
        for outcome in score(&scheduler, 8) {
            assert_eq!(outcome.result.as_ref().unwrap().plugin, "sim");
            assert!((psnr_of(&outcome) - golden_psnr()).abs() < 1e-6);
        }
        start.elapsed()
    };
    let default = run("in-flight-default", None);
    let one = run("in-flight-one", Some(1));
    assert!(one.as_millis() >= 800, "{one:?}");
    assert!(
        default * 2 < one,
        "default {default:?}, one at a time {one:?}"
    );
}
