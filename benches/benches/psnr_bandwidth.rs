//! PSNR on one CPU core against the memory it reads: a 1920×1080 RGB8 pair (the flower
//! image tiled, against its JPEG q40 version) compared through the real plugin, with the
//! reference prepared once, next to a loop that only streams the same bytes (the prepared
//! reference's copy and the distorted image) from memory. Both report input bytes per
//! second; the last line says what fraction of the read loop's rate PSNR reaches.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qscore_benches::{Pair, cpu_plugin, open_rgb8, view};

/// Σ of the bytes as 64-bit words, in four independent sums: as fast as one core reads.
fn read_loop(a: &[u8], b: &[u8]) -> u64 {
    let words = |bytes: &[u8]| -> u64 {
        let mut sums = [0u64; 4];
        let mut chunks = bytes.chunks_exact(32);
        for chunk in chunks.by_ref() {
            for (i, word) in chunk.chunks_exact(8).enumerate() {
                let word = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
                sums[i] = sums[i].wrapping_add(word);
            }
        }
        let rest: u64 = chunks.remainder().iter().map(|&x| u64::from(x)).sum();
        sums.iter().fold(rest, |s, &v| s.wrapping_add(v))
    };
    words(a).wrapping_add(words(b))
}

/// The best of `runs` timings of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .expect("runs > 0")
}

fn psnr_bandwidth(c: &mut Criterion) {
    let plugin = cpu_plugin();
    let pair = Pair::flower(1920, 1080);
    let (width, height) = pair.size();
    let reference_planes = pair.reference.plane_views();
    let reference = view(&pair.reference, &reference_planes);
    let distorted_planes = pair.distorted.plane_views();
    let distorted = view(&pair.distorted, &distorted_planes);
    let mut session = open_rgb8(&plugin, "psnr", width, height);
    let prepared = session.prepare(&reference).expect("prepare");
    let bytes = 2 * pair.pixels() * 3;
    let (a, b) = (&pair.reference.planes[0], &pair.distorted.planes[0]);

    let mut group = c.benchmark_group("psnr_bandwidth");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("read_loop", |bench| {
        bench.iter(|| read_loop(black_box(a), black_box(b)))
    });
    group.bench_function("psnr_compare", |bench| {
        bench.iter(|| {
            session
                .compare(prepared, black_box(&distorted))
                .expect("compare")
        })
    });
    group.finish();

    let read = best(50, || {
        black_box(read_loop(black_box(a), black_box(b)));
    });
    let psnr = best(50, || {
        black_box(
            session
                .compare(prepared, black_box(&distorted))
                .expect("compare"),
        );
    });
    let rate = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e9;
    eprintln!(
        "psnr reads {:.1} GB/s, {:.0}% of the read loop's {:.1} GB/s (best of 50, one core)",
        rate(psnr),
        100.0 * rate(psnr) / rate(read),
        rate(read)
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = psnr_bandwidth
}
criterion_main!(benches);
