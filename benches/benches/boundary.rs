//! The cost of the plugin boundary: the same prepared-reference comparison at
//! 512×512 (`flower_512.png` against its JPEG q40 version), once through the CPU
//! plugin (host `Session::compare` → ABI → kit checks → session → metric crate) and
//! once calling the metric crate directly, in one criterion group per metric so the
//! two times sit side by side. The goal is at most 5% overhead.
//!
//! Both sides return the same numbers (checked before timing). Because criterion
//! times one function after the other, background load that changes between the two
//! shows up as fake overhead; so each group is followed by a paired measurement that
//! alternates the two calls and prints the median of the per-round ratios.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use butteraugli::{ButteraugliParams, ButteraugliReference};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use fast_ssim2::{PixelDescriptor, PixelSlice, Ssimulacra2Reference};
use qscore_benches::{Pair, cpu_plugin, open_rgb8, view};
use qscore_core::{NamedValue, OwnedImage};

/// Rounds of the paired measurement (each round runs both sides once).
const PAIRED_ROUNDS: usize = 30;

/// A fast-ssim2 view of a tightly packed RGB8 image, as the plugin builds it.
fn ssim2_slice(image: &OwnedImage) -> PixelSlice<'_> {
    PixelSlice::new(
        &image.planes[0],
        image.width,
        image.height,
        image.width as usize * 3,
        PixelDescriptor::RGB8_SRGB,
    )
    .expect("fast-ssim2 view of an RGB8 image")
}

/// The value named `name` in a plugin's answer.
fn value(values: &[NamedValue], name: &str) -> f64 {
    values
        .iter()
        .find(|v| v.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name} in {values:?}"))
        .value
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

fn seconds(f: &mut impl FnMut()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

/// Runs `plugin` and `direct` alternately (swapping which goes first every round)
/// and prints both medians and the median per-round overhead of `plugin`.
/// Skipped unless benchmarking (`cargo test --benches` runs each function once).
/// Times the same comparison through the plugin and called directly: a criterion group
/// with both, then the paired rounds.
fn compare_paths(
    c: &mut Criterion,
    id: &str,
    pixels: u64,
    measurement: Duration,
    plugin: &mut dyn FnMut(),
    direct: &mut dyn FnMut(),
) {
    let mut group = c.benchmark_group(id);
    group
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Elements(pixels))
        .measurement_time(measurement);
    group.bench_function("plugin", |b| b.iter(&mut *plugin));
    group.bench_function("direct", |b| b.iter(&mut *direct));
    group.finish();
    paired(id, plugin, direct);
}

fn paired(id: &str, mut plugin: impl FnMut(), mut direct: impl FnMut()) {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let (mut p, mut d, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..PAIRED_ROUNDS {
        let (tp, td) = if round.is_multiple_of(2) {
            let tp = seconds(&mut plugin);
            (tp, seconds(&mut direct))
        } else {
            let td = seconds(&mut direct);
            (seconds(&mut plugin), td)
        };
        p.push(tp);
        d.push(td);
        ratios.push(tp / td);
    }
    let (p, d) = (median(&mut p), median(&mut d));
    let overhead = (median(&mut ratios) - 1.0) * 100.0;
    println!(
        "{id}/paired ({PAIRED_ROUNDS} rounds): plugin {:.3} ms, direct {:.3} ms (medians), \
         plugin overhead {overhead:+.2}% (median of per-round ratios)\n",
        p * 1e3,
        d * 1e3,
    );
}

fn boundary(c: &mut Criterion) {
    let plugin = cpu_plugin();
    let pair = Pair::flower(512, 512);
    let (width, height) = pair.size();
    let reference_planes = pair.reference.plane_views();
    let reference = view(&pair.reference, &reference_planes);
    let distorted_planes = pair.distorted.plane_views();
    let distorted = view(&pair.distorted, &distorted_planes);

    // SSIMULACRA2: the plugin hands fast-ssim2 a zero-copy view of the same bytes.
    let mut session = open_rgb8(&plugin, "ssimulacra2", width, height);
    let prepared = session.prepare(&reference).expect("plugin prepare");
    let direct = Ssimulacra2Reference::new(&ssim2_slice(&pair.reference)).expect("direct prepare");
    let distorted_slice = ssim2_slice(&pair.distorted);
    let through_plugin = session.compare(prepared, &distorted).expect("plugin");
    let called_directly = direct.compare(&distorted_slice).expect("direct");
    assert_eq!(value(&through_plugin, "ssimulacra2"), called_directly);

    compare_paths(
        c,
        &format!("boundary/ssimulacra2/{}", pair.label),
        pair.pixels(),
        Duration::from_secs(5),
        &mut || {
            black_box(
                session
                    .compare(prepared, black_box(&distorted))
                    .expect("plugin"),
            );
        },
        &mut || {
            black_box(direct.compare(black_box(&distorted_slice)).expect("direct"));
        },
    );
    drop(session);

    // Butteraugli: the crate takes tightly packed RGB8 bytes.
    let mut session = open_rgb8(&plugin, "butteraugli", width, height);
    let prepared = session.prepare(&reference).expect("plugin prepare");
    let (w, h) = (width as usize, height as usize);
    let direct = ButteraugliReference::new(
        &pair.reference.planes[0],
        w,
        h,
        ButteraugliParams::default(),
    )
    .expect("direct prepare");
    let distorted_rgb = pair.distorted.planes[0].as_slice();
    let through_plugin = session.compare(prepared, &distorted).expect("plugin");
    let called_directly = direct.compare(distorted_rgb).expect("direct");
    assert_eq!(value(&through_plugin, "butteraugli"), called_directly.score);
    assert_eq!(
        value(&through_plugin, "butteraugli_pnorm3"),
        called_directly.pnorm_3
    );

    compare_paths(
        c,
        &format!("boundary/butteraugli/{}", pair.label),
        pair.pixels(),
        Duration::from_secs(8),
        &mut || {
            black_box(
                session
                    .compare(prepared, black_box(&distorted))
                    .expect("plugin"),
            );
        },
        &mut || {
            black_box(direct.compare(black_box(distorted_rgb)).expect("direct"));
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2));
    targets = boundary
}
criterion_main!(benches);
