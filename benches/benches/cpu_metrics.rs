//! Every CPU metric through the real plugin (loaded from its cdylib, called across
//! the ABI), at 512×512 and 1920×1080 on real image content (`flower_512.png` against
//! its JPEG q40 version; tiled by mirroring for 1080p).
//!
//! Per metric and size:
//! - `compare`: a distorted image against a reference prepared once (the hot path when
//!   one reference is scored against many distorted versions);
//! - `pair`: `compare_pair`, preparing the reference and comparing in one call.

use std::{hint::black_box, time::Duration};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use qscore_benches::{CPU_METRICS, Pair, cpu_plugin, open_rgb8, view};

/// Seconds of measurement for `[compare 512², pair 512², compare 1080p, pair 1080p]`:
/// about ten calls' worth on an idle two-core machine (each sample is at least one
/// call), so that the file runs in a few minutes.
fn measurement_time(metric: &str, large: bool, pair: bool) -> Duration {
    let seconds = match metric {
        "psnr" => [1, 1, 2, 3],
        "ssim" => [1, 2, 5, 9],
        "ms_ssim" => [1, 1, 4, 6],
        "ssimulacra2" => [1, 2, 6, 8],
        _ => [1, 2, 6, 12],
    };
    Duration::from_secs(seconds[usize::from(large) * 2 + usize::from(pair)])
}

fn cpu_metrics(c: &mut Criterion) {
    let plugin = cpu_plugin();
    let pairs = [Pair::flower(512, 512), Pair::flower(1920, 1080)];
    for metric in CPU_METRICS {
        let mut group = c.benchmark_group(format!("cpu/{metric}"));
        // Calls take milliseconds to a second: the same number of calls per sample.
        group.sampling_mode(SamplingMode::Flat);
        for pair in &pairs {
            let (width, height) = pair.size();
            let reference_planes = pair.reference.plane_views();
            let reference = view(&pair.reference, &reference_planes);
            let distorted_planes = pair.distorted.plane_views();
            let distorted = view(&pair.distorted, &distorted_planes);

            let mut session = open_rgb8(&plugin, metric, width, height);
            let prepared = session
                .prepare(&reference)
                .unwrap_or_else(|e| panic!("prepare {metric} {}: {e}", pair.label));
            let large = pair.pixels() > 1 << 20;
            group
                .throughput(Throughput::Elements(pair.pixels()))
                .measurement_time(measurement_time(metric, large, false));
            group.bench_function(BenchmarkId::new("compare", &pair.label), |b| {
                b.iter(|| {
                    session
                        .compare(prepared, black_box(&distorted))
                        .expect("compare")
                })
            });
            group.measurement_time(measurement_time(metric, large, true));
            group.bench_function(BenchmarkId::new("pair", &pair.label), |b| {
                b.iter(|| {
                    session
                        .compare_pair(black_box(&reference), black_box(&distorted))
                        .expect("compare_pair")
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    // Few samples, short warm-up: the whole file runs in a few minutes on two cores.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1));
    targets = cpu_metrics
}
criterion_main!(benches);
