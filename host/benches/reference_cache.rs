//! (a) The reference cache: SSIMULACRA2 (and butteraugli), one 1024×1024 reference against
//! 32 distorted images on the CPU plugin, through the scheduler, with prepared references reused
//! (tasks routed to the worker holding them) and without (every task prepares).
//!
//! Images are real content: the reference tiles `flower_512.png` 2×2, and each distorted
//! image tiles four of its six distortions in a different arrangement.
//!
//! It first times the plugin directly on one thread, with and without a prepared
//! reference: (prepare + compare) / compare is the most any reference cache can gain.
//!
//! Run: `cargo bench -p qscore-host --bench reference_cache` (prints a table).

use std::{path::PathBuf, process::Command, sync::Arc, time::Instant};

use qscore_core::{MemoryMode, OwnedImage, PixelFormat, TaskSpec};
use qscore_host::{
    decode_image, load_plugin,
    sched::{Reference, Scheduler, SchedulerOptions, ScoreRequest},
};

const DISTORTED: usize = 32;
const RUNS: usize = 5;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The CPU plugin built in release mode beside this bench.
fn cpu_plugin() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "qscore-cpu",
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .status()
        .expect("cargo build");
    assert!(status.success());
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    dir.join(format!(
        "{}qscore_plugin_cpu{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

fn load(name: &str) -> OwnedImage {
    let image = decode_image(&repo().join("data/images").join(name)).unwrap();
    assert_eq!(image.format, PixelFormat::RGB8);
    image
}

/// A 1024² RGB8 image made of four 512² tiles.
fn tile(tiles: [&OwnedImage; 4]) -> OwnedImage {
    let mut bytes = vec![0u8; 1024 * 1024 * 3];
    for (t, image) in tiles.iter().enumerate() {
        let (ox, oy) = ((t % 2) * 512, (t / 2) * 512);
        for y in 0..512 {
            let src = &image.planes[0][y * 512 * 3..(y + 1) * 512 * 3];
            let start = ((oy + y) * 1024 + ox) * 3;
            bytes[start..start + 512 * 3].copy_from_slice(src);
        }
    }
    OwnedImage {
        format: PixelFormat::RGB8,
        width: 1024,
        height: 1024,
        planes: vec![bytes],
    }
}

fn run(
    plugin: &Arc<qscore_host::Plugin>,
    metric: &str,
    reference: &Reference,
    distorted: &[Arc<OwnedImage>],
    reuse: bool,
    workers: usize,
) -> (f64, u64, u64) {
    let scheduler = Scheduler::new(
        vec![Arc::clone(plugin)],
        SchedulerOptions {
            cpu_workers: workers,
            reuse_references: reuse,
            cache_dir: None,
            ..SchedulerOptions::default()
        },
    )
    .unwrap();
    let start = Instant::now();
    for (tag, image) in distorted.iter().enumerate() {
        scheduler
            .submit(ScoreRequest {
                reference: reference.clone(),
                distorted: Arc::clone(image),
                neighbours: None,
                metric: metric.into(),
                params: Vec::new(),
                references: 1,
                comparisons: distorted.len() as u32,
                tag: tag as u64,
            })
            .unwrap();
    }
    let mut done = 0;
    while let Some(outcome) = scheduler.poll_blocking() {
        outcome.result.expect("scored");
        done += 1;
    }
    assert_eq!(done, distorted.len());
    let seconds = start.elapsed().as_secs_f64();
    let (hits, misses) = scheduler.reference_counts();
    (distorted.len() as f64 / seconds, hits, misses)
}

/// Seconds per comparison on one thread, straight through a plugin session: against a
/// prepared reference, and preparing it every time. Their ratio bounds what any
/// reference cache can gain for this metric.
fn direct(
    plugin: &Arc<qscore_host::Plugin>,
    metric: &str,
    reference: &OwnedImage,
    distorted: &[Arc<OwnedImage>],
) -> (f64, f64) {
    let spec = TaskSpec::new(metric, 1024, 1024, PixelFormat::RGB8, MemoryMode::FULL);
    let mut session = plugin.open_session(0, &spec).unwrap();
    let mut compare = Vec::new();
    let mut pair = Vec::new();
    reference.with_view(|r| {
        let prepared = session.prepare(r).unwrap();
        for _ in 0..RUNS {
            let start = Instant::now();
            for image in distorted {
                image.with_view(|d| session.compare(prepared, d).unwrap());
            }
            compare.push(start.elapsed().as_secs_f64() / distorted.len() as f64);
            let start = Instant::now();
            for image in distorted {
                image.with_view(|d| session.compare_pair(r, d).unwrap());
            }
            pair.push(start.elapsed().as_secs_f64() / distorted.len() as f64);
        }
    });
    compare.sort_by(f64::total_cmp);
    pair.sort_by(f64::total_cmp);
    (compare[RUNS / 2], pair[RUNS / 2])
}

fn main() {
    let plugin = Arc::new(load_plugin(&cpu_plugin()).unwrap());
    let reference_tile = load("flower_512.png");
    let distortions: Vec<OwnedImage> = [
        "jpeg_q10",
        "jpeg_q40",
        "jpeg_q85",
        "blur_s1",
        "noise_a12",
        "rescale_half",
    ]
    .iter()
    .map(|d| load(&format!("flower_512__{d}.png")))
    .collect();
    let reference_image = Arc::new(tile([&reference_tile; 4]));
    let reference = Reference::new(Arc::clone(&reference_image));
    let distorted: Vec<Arc<OwnedImage>> = (0..DISTORTED)
        .map(|i| {
            let pick = |k: usize| &distortions[(i / 6usize.pow(k as u32) + k) % 6];
            Arc::new(tile([pick(0), pick(1), pick(2), pick(3)]))
        })
        .collect();
    // SSIMULACRA2 is the goal's metric; butteraugli shows the cache where preparing the
    // reference is a larger share of the work.
    for metric in ["ssimulacra2", "butteraugli"] {
        println!(
            "\n{metric}, 1024x1024 reference, {DISTORTED} distorted, CPU plugin, median of {RUNS} runs"
        );
        let (compare, pair) = direct(&plugin, metric, &reference_image, &distorted);
        println!(
            "one thread, no scheduler: compare {:.1} ms, prepare + compare {:.1} ms: no \
             reference cache can exceed {:.2}x",
            compare * 1e3,
            pair * 1e3,
            pair / compare
        );
        println!(
            "{:<8} {:<22} {:>12} {:>10}",
            "workers", "prepared references", "images/s", "reused"
        );
        for workers in [1, 2] {
            let mut rates = Vec::new();
            for reuse in [false, true] {
                let mut runs: Vec<(f64, u64, u64)> = (0..RUNS)
                    .map(|_| run(&plugin, metric, &reference, &distorted, reuse, workers))
                    .collect();
                runs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (rate, hits, misses) = runs[RUNS / 2];
                rates.push(rate);
                println!(
                    "{workers:<8} {:<22} {rate:>12.2} {:>10}",
                    if reuse {
                        "reused (cache on)"
                    } else {
                        "every task (cache off)"
                    },
                    format!("{hits}/{}", hits + misses)
                );
            }
            println!(
                "{workers:<8} speed-up with the cache: {:.2}x",
                rates[1] / rates[0]
            );
        }
    }
}
