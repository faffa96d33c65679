//! Warm and cold butteraugli comparisons on the device, and strip mode, per image size.
//!
//! Per side it prints the warm FULL compare (reference prepared, both images' linear planes
//! already on the device), the cold FULL comparison (prepare + compare) and strip mode in
//! 256-row bands (both sides per band), medians of `REPS` runs.
//!
//! `cargo run --release -p qscore-cube --example profile_butteraugli` (wgpu: the first
//! adapter, lavapipe without a GPU), `--features cuda-tests` for the first CUDA device.
//! `SIDES=1024,4096` sets the square sizes, `REPS=5` the repetitions.

use std::time::Instant;

use cubecl::prelude::*;
use qscore_cube::{DevicePlane, DeviceSource, butteraugli::Butteraugli};

#[cfg(feature = "cuda-tests")]
type Rt = cubecl::cuda::CudaRuntime;
#[cfg(not(feature = "cuda-tests"))]
type Rt = cubecl::wgpu::WgpuRuntime;

/// Strip mode's band height in the plugin.
const BAND_ROWS: usize = 256;

/// Median milliseconds of `reps` runs of `f`, after one warm-up run.
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut runs: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// Linear RGB planes of a textured `side × side` image; `shift` perturbs it.
fn planes(client: &ComputeClient<Rt>, side: usize, shift: u32) -> DeviceSource {
    let mut s = 12345u32 ^ shift;
    DeviceSource::new(
        (0..3)
            .map(|c| {
                let data: Vec<f32> = (0..side * side)
                    .map(|i| {
                        s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        let ramp = (i % side + c * 17) as f32 / side as f32;
                        (0.8 * ramp + 0.2 * (s >> 24) as f32 / 255.0).min(1.0)
                    })
                    .collect();
                DevicePlane::upload(client, side, side, &data)
            })
            .collect(),
    )
}

fn main() {
    qscore_cube::kernel_cache::configure();
    let client = Rt::client(&Default::default());
    let sides: Vec<usize> = std::env::var("SIDES")
        .unwrap_or_else(|_| "1024,4096".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SIDES: comma-separated sides"))
        .collect();
    let reps: usize = std::env::var("REPS").map_or(5, |s| s.parse().expect("REPS"));
    let metric = Butteraugli::default();
    for side in sides {
        let (a, b) = (planes(&client, side, 0), planes(&client, side, 1));
        let prepared = metric.prepare(&client, &a).expect("prepare");
        let full = metric.compare(&client, &prepared, &b).expect("compare");
        let warm = time(reps, || {
            metric.compare(&client, &prepared, &b).expect("compare");
        });
        let cold = time(reps, || {
            let p = metric.prepare(&client, &a).expect("prepare");
            metric.compare(&client, &p, &b).expect("compare");
        });
        let banded = time(reps, || {
            metric
                .compare_bands(&client, &a, &b, BAND_ROWS)
                .expect("strip");
        });
        let mp = (side * side) as f64 / 1e6;
        println!(
            "{side}x{side} ({mp:.1} MP): max {:.4}, 3-norm {:.4}; FULL warm {warm:.1} ms \
             ({:.0} Mpx/s), FULL cold {cold:.1} ms, strip ({BAND_ROWS}-row bands) {banded:.1} ms \
             = {:.2}x cold FULL",
            full.max,
            full.pnorm3,
            mp / (warm * 1e-3),
            banded / cold
        );
    }
}
