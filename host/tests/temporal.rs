//! Temporal metrics through the real scheduler and worker pool: `motion` and `motion2`
//! scored together frame-parallel give, bit for bit, what a single worker gives and what the
//! plugin's own sequential clip session gives; a host that cannot hand over the next frame
//! gets a typed refusal rather than a value.

mod support;

use std::path::{Path, PathBuf};

use qscore_core::{Error, MemoryMode, OwnedImage, PixelFormat, TaskSpec};
use qscore_host::{
    LoadReport, PluginSearch, load_plugins,
    sched::{Scheduler, SchedulerOptions},
    video::{VideoGeometry, VideoJob, VideoScores, open_video, score_video},
};

const W: usize = 576;
const H: usize = 324;
const FRAME: usize = W * H * 2 * 3 / 2;

use support::video;

fn geometry() -> VideoGeometry {
    VideoGeometry::parse("576x324", "yuv420p10le").unwrap()
}

fn report() -> LoadReport {
    let report = load_plugins(&PluginSearch {
        explicit: vec![support::cpu_only_dir()],
        defaults: false,
        allow_insecure: false,
        ..Default::default()
    });
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

/// A clip of `order.len()` frames picked from the six frames of the two sample clips
/// (0..3 from the reference, 3..6 from the distorted one), so motion varies from frame
/// to frame, rises and falls.
fn long_clip(name: &str, order: &[usize]) -> PathBuf {
    let mut six = std::fs::read(video("src01_hrc00_576x324.yuv420p10le.yuv")).unwrap();
    six.extend(std::fs::read(video("src01_hrc01_576x324.yuv420p10le.yuv")).unwrap());
    let bytes: Vec<u8> = order
        .iter()
        .flat_map(|&i| six[i * FRAME..(i + 1) * FRAME].iter().copied())
        .collect();
    let dir = support::profile_dir().join("test-temporal");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn score(
    report: &LoadReport,
    workers: usize,
    metrics: &[&str],
    reference: &Path,
    distorted: &Path,
) -> (VideoScores, Vec<u64>) {
    let scheduler = Scheduler::new(
        report.plugins.clone(),
        SchedulerOptions {
            cpu_workers: workers,
            cache_dir: None,
            ..SchedulerOptions::default()
        },
    )
    .unwrap();
    let job = VideoJob {
        metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
        geometry: Some(geometry()),
        ..VideoJob::default()
    };
    let scores = score_video(report, &scheduler, &job, reference, distorted).unwrap();
    let runs = scheduler.pool_stats().lanes[0]
        .workers
        .iter()
        .map(|w| w.run)
        .collect();
    (scores, runs)
}

/// The per-frame values of `name`.
fn column(scores: &VideoScores, name: &str) -> Vec<f64> {
    scores
        .frames
        .iter()
        .map(|f| f.iter().find(|(n, _)| n == name).unwrap().1)
        .collect()
}

/// The reference frames of `path`, read in order.
fn frames_of(path: &Path) -> Vec<OwnedImage> {
    let mut source = open_video(path, Some(geometry())).unwrap();
    std::iter::from_fn(|| source.next_frame().unwrap()).collect()
}

/// `metric` per frame from the CPU plugin's clip session: frames pushed one by one, in
/// order, on one thread.
fn sequential_clip(
    report: &LoadReport,
    metric: &str,
    reference: &Path,
    distorted: &Path,
) -> Vec<f64> {
    let plugin = report.plugin("cpu").unwrap();
    let spec = TaskSpec::new(
        metric,
        W as u32,
        H as u32,
        geometry().format,
        MemoryMode::FULL,
    );
    let mut clip = plugin.open_clip(0, &spec).unwrap();
    for (r, d) in frames_of(reference).iter().zip(frames_of(distorted)) {
        r.with_view(|r| d.with_view(|d| clip.push(r, d))).unwrap();
    }
    let scores = clip.finish().unwrap();
    scores
        .frames
        .iter()
        .map(|f| f.iter().find(|v| v.name.as_str() == metric).unwrap().value)
        .collect()
}

#[test]
fn two_temporal_metrics_give_the_same_bits_on_1_2_and_8_workers() {
    let report = report();
    let order = [
        0, 1, 2, 5, 4, 3, 0, 2, 1, 4, 0, 5, 3, 1, 0, 2, 3, 5, 1, 4, 2, 0, 5, 3,
    ];
    let reference = long_clip("reference.yuv", &order);
    let mut reversed = order;
    reversed.reverse();
    let distorted = long_clip("distorted.yuv", &reversed);
    let metrics = ["motion", "motion2", "psnr_y"];
    let (single, _) = score(&report, 1, &metrics, &reference, &distorted);
    assert_eq!(single.frames.len(), order.len());
    let motion = column(&single, "motion");
    let motion2 = column(&single, "motion2");
    // Not a degenerate clip: motion moves, and motion2 sometimes differs from motion.
    assert_eq!(motion[0], 0.0);
    assert_eq!(motion2[0], 0.0);
    assert!(motion.iter().skip(1).all(|&m| m > 0.0), "{motion:?}");
    assert!(motion.iter().zip(&motion2).any(|(a, b)| a != b));
    // The single worker agrees with the plugin's own sequential clip session.
    assert_eq!(
        motion,
        sequential_clip(&report, "motion", &reference, &distorted)
    );
    assert_eq!(
        motion2,
        sequential_clip(&report, "motion2", &reference, &distorted)
    );
    for workers in [2, 8] {
        let (parallel, runs) = score(&report, workers, &metrics, &reference, &distorted);
        assert!(
            runs.iter().filter(|&&n| n > 0).count() > 1,
            "{workers} workers: tasks ran on one worker only ({runs:?})"
        );
        assert_eq!(parallel.frames, single.frames, "{workers} workers");
        for ((name, a), (other, b)) in parallel.pooled.iter().zip(&single.pooled) {
            assert_eq!(name, other);
            assert_eq!(
                format!("{a:?}"),
                format!("{b:?}"),
                "{workers} workers: {name}"
            );
        }
    }
}

#[test]
fn a_host_without_the_frame_window_gets_a_refusal_not_a_value() {
    let report = report();
    let plugin = report.plugin("cpu").unwrap();
    let format = PixelFormat::yuv(qscore_core::ChromaSubsampling::Yuv420, 10);
    let frames = frames_of(&video("src01_hrc00_576x324.yuv420p10le.yuv"));
    let spec = TaskSpec::new("motion2", W as u32, H as u32, format, MemoryMode::FULL);
    let mut session = plugin.open_session(0, &spec).unwrap();
    // What a host of ABI 1.0 or 1.1 calls: a frame with its previous frames only.
    let refused = frames[1].with_view(|current| {
        frames[0].with_view(|previous| session.compare_frame(current, &[*previous], current))
    });
    match refused {
        Err(Error::Unsupported(message)) => assert!(message.contains("next reference frame")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Neither temporal metric has a value for a pair of images.
    for metric in ["motion", "motion2"] {
        let spec = TaskSpec::new(metric, W as u32, H as u32, format, MemoryMode::FULL);
        let mut session = plugin.open_session(0, &spec).unwrap();
        let pair = frames[1].with_view(|r| frames[2].with_view(|d| session.compare_pair(r, d)));
        assert!(
            matches!(&pair, Err(Error::Unsupported(m)) if m.contains("temporal metric")),
            "{metric}: {pair:?}"
        );
    }
    // `motion` needs no look-ahead, so the plain frame call works and equals the window call.
    let spec = TaskSpec::new("motion", W as u32, H as u32, format, MemoryMode::FULL);
    let mut session = plugin.open_session(0, &spec).unwrap();
    let (plain, window) = frames[1].with_view(|current| {
        frames[0].with_view(|previous| {
            (
                session
                    .compare_frame(current, &[*previous], current)
                    .unwrap(),
                session
                    .compare_window(current, &[*previous], &[], current)
                    .unwrap(),
            )
        })
    });
    assert_eq!(plain, window);
    assert_eq!(plugin.lookahead(0, "motion").unwrap(), 0);
    assert_eq!(plugin.lookahead(0, "motion2").unwrap(), 1);
}
