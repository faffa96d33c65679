//! Every cube metric on every plugin that has a device (wgpu, cuda, hip), next to the CPU
//! plugin, at 1, 4 and 16 megapixels (`flower_512.png` against its JPEG q40 version, tiled
//! by mirroring), in FULL and STRIP memory modes.
//!
//! - `cold`: the first prepare + compare of a metric in the process, kernel compilation
//!   included (or loaded from the kernel cache on a second run), printed as a table before
//!   criterion starts;
//! - criterion's `warm`: a distorted image against a reference prepared once, kernels
//!   compiled: the hot path of a sweep.
//!
//! `QSCORE_BENCH_MP=1,4` limits the sizes (lavapipe on a two-core machine is slow at
//! 16 MP); `QSCORE_BENCH_PLUGINS=cuda,cpu` limits the plugins; `QSCORE_BENCH_COLD_ONLY=1`
//! stops after the cold table (run twice, it shows what the kernel cache saves).

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use qscore_benches::{Pair, plugin, view};
use qscore_core::{MemoryMode, PixelFormat, TaskSpec};
use qscore_host::Plugin;

const METRICS: [&str; 4] = ["psnr", "ssim", "ms_ssim", "ssimulacra2"];
const PLUGINS: [(&str, &str, &str); 4] = [
    ("cuda", "qscore-cuda", "qscore_plugin_cuda"),
    ("hip", "qscore-hip", "qscore_plugin_hip"),
    ("wgpu", "qscore-wgpu", "qscore_plugin_wgpu"),
    ("cpu", "qscore-cpu", "qscore_plugin_cpu"),
];

fn wanted(var: &str, item: &str) -> bool {
    std::env::var(var).map_or(true, |v| v.split(',').any(|w| w == item))
}

fn sizes() -> Vec<(u32, (u32, u32))> {
    [(1, (1024, 1024)), (4, (2048, 2048)), (16, (4096, 4096))]
        .into_iter()
        .filter(|(mp, _)| wanted("QSCORE_BENCH_MP", &mp.to_string()))
        .collect()
}

fn plugins() -> Vec<Arc<Plugin>> {
    PLUGINS
        .iter()
        .filter(|(name, _, _)| wanted("QSCORE_BENCH_PLUGINS", name))
        .map(|(_, package, lib)| plugin(package, lib))
        .filter(|p| {
            let ok = !p.devices().is_empty();
            if !ok {
                eprintln!("{}: no device ({})", p.identity().name, p.device_note());
            }
            ok
        })
        .collect()
}

fn modes(plugin: &Plugin, metric: &str) -> Vec<MemoryMode> {
    plugin
        .metric_caps(0, metric)
        .map(|c| {
            c.modes
                .iter()
                .copied()
                .filter(|m| *m != MemoryMode::STRIP_PAIR)
                .collect()
        })
        .unwrap_or_default()
}

fn gpu(c: &mut Criterion) {
    let plugins = plugins();
    let pairs: Vec<(u32, Pair)> = sizes()
        .into_iter()
        .map(|(mp, (w, h))| (mp, Pair::flower(w, h)))
        .collect();
    eprintln!(
        "{:<6} {:<12} {:>5} {:<11} {:>10}",
        "plugin", "metric", "MP", "mode", "cold ms"
    );
    for p in &plugins {
        for metric in METRICS {
            // The first call of each metric in this process: compilation included.
            let Some((mp, pair)) = pairs.first() else {
                return;
            };
            for mode in modes(p, metric) {
                let (w, h) = pair.size();
                let spec = TaskSpec::new(metric, w, h, PixelFormat::RGB8, mode);
                let start = Instant::now();
                let mut session = p.open_session(0, &spec).expect("open");
                let rp = pair.reference.plane_views();
                let dp = pair.distorted.plane_views();
                session
                    .compare_pair(&view(&pair.reference, &rp), &view(&pair.distorted, &dp))
                    .expect("compare");
                let ms = start.elapsed().as_secs_f64() * 1e3;
                eprintln!(
                    "{:<6} {metric:<12} {mp:>5} {:<11} {ms:>10.1}",
                    p.identity().name,
                    mode.to_string()
                );
            }
        }
    }
    if std::env::var_os("QSCORE_BENCH_COLD_ONLY").is_some() {
        return;
    }
    for p in &plugins {
        let name = p.identity().name.clone();
        for metric in METRICS {
            let mut group = c.benchmark_group(format!("{name}/{metric}"));
            group.sampling_mode(SamplingMode::Flat);
            group.sample_size(10);
            group.warm_up_time(Duration::from_millis(500));
            group.measurement_time(Duration::from_secs(2));
            for (mp, pair) in &pairs {
                let (w, h) = pair.size();
                group.throughput(Throughput::Elements(pair.pixels()));
                for mode in modes(p, metric) {
                    let spec = TaskSpec::new(metric, w, h, PixelFormat::RGB8, mode);
                    let mut session = p.open_session(0, &spec).expect("open");
                    let rp = pair.reference.plane_views();
                    let dp = pair.distorted.plane_views();
                    let reference = view(&pair.reference, &rp);
                    let distorted = view(&pair.distorted, &dp);
                    let prepared = session.prepare(&reference).expect("prepare");
                    let id = BenchmarkId::new(format!("warm-{mode}"), format!("{mp}MP"));
                    group.bench_function(id, |b| {
                        b.iter(|| {
                            black_box(session.compare(prepared, &distorted).expect("compare"))
                        })
                    });
                    session.release(prepared);
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, gpu);
criterion_main!(benches);
