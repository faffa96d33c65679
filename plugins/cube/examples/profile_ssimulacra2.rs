//! How close SSIMULACRA2 comes to the device's memory bandwidth, and what strip mode costs.
//!
//! Per image side it prints: the bandwidth of a plain `f32` copy kernel measured in the same
//! run (the yardstick); the warm FULL compare with the planes already on the device, the
//! bytes `ssimulacra2::traffic` counts for it and the fraction of the copy bandwidth that
//! achieves; the cold FULL comparison (prepare + compare); strip mode (bands of 256 rows,
//! both sides per band) and its ratio to both; and the upload and sRGB → linear conversion
//! of one 8-bit image, which the kernels do not include; and the warm compare with the
//! horizontal blur walking its rows through shared-memory tiles (the default) and straight
//! through the planes (what the plugin uses on a CPU-run device).
//!
//! `cargo run --release -p qscore-cube --example profile_ssimulacra2` (wgpu: the first
//! adapter, lavapipe without a GPU), `--features cuda-tests` for the first CUDA device.
//! `SIDES=1024,2048,4096` sets the square sizes, `REPS=9` the repetitions (medians).
//! Each kernel's device time, summed per kernel after every timed closure: add
//! `CUBECL_DEBUG_LOG=prof.log CUBECL_DEBUG_OPTION=profile` and read the tables
//! (`grep '^| [A-Z]' prof.log`); timings with profiling on are slower, as each kernel is
//! waited for.

use std::time::Instant;

use cubecl::prelude::*;
use qscore_core::{ImageView, PixelFormat, PlaneView};
use qscore_cube::{
    DeviceSource, PlaneSource,
    ssimulacra2::{Ssimulacra2, traffic},
    unpack::{Conversion, HostSource},
};

#[cfg(feature = "cuda-tests")]
type Rt = cubecl::cuda::CudaRuntime;
#[cfg(not(feature = "cuda-tests"))]
type Rt = cubecl::wgpu::WgpuRuntime;

/// Strip mode's band height in the plugin.
const BAND_ROWS: usize = 256;

#[cube(launch)]
fn copy(src: &Array<f32>, dst: &mut Array<f32>) {
    let i = ABSOLUTE_POS;
    if i < src.len() {
        dst[i] = src[i];
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median milliseconds of `reps` runs of `f`, each ended by a device sync.
fn time(client: &ComputeClient<Rt>, reps: usize, mut f: impl FnMut()) -> f64 {
    let sync = || cubecl::future::block_on(client.sync()).expect("sync");
    f();
    sync();
    let runs = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            sync();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(runs)
}

/// Bytes per second of a device-to-device copy of `bytes` (read + write counted).
fn copy_bandwidth(client: &ComputeClient<Rt>, bytes: usize, reps: usize) -> f64 {
    let n = bytes / 4;
    let src = client.create_from_slice(f32::as_bytes(&vec![1.0f32; n]));
    let dst = client.empty(n * 4);
    let units = 256u32;
    let cubes = n.div_ceil(units as usize) as u32;
    let (x, y) = (cubes.min(65_535), cubes.div_ceil(65_535));
    let ms = time(client, reps, || {
        // SAFETY: both handles hold `n` f32.
        unsafe {
            copy::launch::<Rt>(
                client,
                CubeCount::Static(x, y, 1),
                CubeDim::new_1d(units),
                ArrayArg::from_raw_parts(src.clone(), n),
                ArrayArg::from_raw_parts(dst.clone(), n),
            );
        }
    });
    2.0 * (n * 4) as f64 / (ms * 1e-3)
}

/// Two related 8-bit RGB images of `side × side`.
fn images(side: usize) -> (Vec<u8>, Vec<u8>) {
    let mut a = vec![0u8; side * side * 3];
    let mut b = vec![0u8; side * side * 3];
    let mut s = 12345u32;
    for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        *x = ((i / 3 % side) as u32 * 255 / side as u32) as u8 ^ (s >> 28) as u8;
        *y = x.wrapping_add((s >> 30) as u8);
    }
    (a, b)
}

fn main() {
    qscore_cube::kernel_cache::configure();
    let client = Rt::client(&Default::default());
    let sides: Vec<usize> = std::env::var("SIDES")
        .unwrap_or_else(|_| "1024,2048,4096".into())
        .split(',')
        .map(|s| s.trim().parse().expect("SIDES: comma-separated sides"))
        .collect();
    let reps: usize = std::env::var("REPS").map_or(9, |s| s.parse().expect("REPS"));
    let largest = sides.iter().max().copied().unwrap_or(1024);
    // Each of the copy's two buffers must fit one binding (lavapipe's is 128 MiB).
    let max_binding = client.properties().memory.max_page_size as usize;
    let copy_bytes = (largest * largest * 48).max(64 << 20).min(max_binding);
    let bandwidth = copy_bandwidth(&client, copy_bytes, reps);
    println!(
        "copy kernel over {} MiB: {:.1} GB/s",
        copy_bytes >> 20,
        bandwidth / 1e9
    );
    let metric = Ssimulacra2::new();
    for side in sides {
        let (a, b) = images(side);
        let pa = [PlaneView::new(&a, side * 3)];
        let pb = [PlaneView::new(&b, side * 3)];
        let va = ImageView::new(PixelFormat::RGB8, side as u32, side as u32, &pa);
        let vb = ImageView::new(PixelFormat::RGB8, side as u32, side as u32, &pb);
        let ha = HostSource::new(&va, Conversion::LinearRgb).expect("reference");
        let hb = HostSource::new(&vb, Conversion::LinearRgb).expect("distorted");
        let on_device = |h: &HostSource| {
            DeviceSource::new(PlaneSource::<Rt>::rows(h, &client, 0, side).expect("upload"))
        };
        let (ra, rb) = (on_device(&ha), on_device(&hb));
        let prepared = metric.prepare(&client, &ra).expect("prepare");
        let full = metric.compare(&client, &prepared, &rb).expect("compare");
        let strip = metric
            .compare_bands(&client, &ra, &rb, BAND_ROWS)
            .expect("strip");
        let warm = time(&client, reps, || {
            metric.compare(&client, &prepared, &rb).expect("compare");
        });
        let cold = time(&client, reps, || {
            let p = metric.prepare(&client, &ra).expect("prepare");
            metric.compare(&client, &p, &rb).expect("compare");
        });
        let banded = time(&client, reps, || {
            metric
                .compare_bands(&client, &ra, &rb, BAND_ROWS)
                .expect("strip");
        });
        let upload = time(&client, reps, || {
            drop(on_device(&hb));
        });
        // The other walk of the horizontal blur (the plugin picks tiles on GPUs).
        let direct = Ssimulacra2::new().with_row_tiles(false);
        let prepared_direct = direct.prepare(&client, &ra).expect("prepare");
        let warm_direct = time(&client, reps, || {
            direct
                .compare(&client, &prepared_direct, &rb)
                .expect("compare");
        });
        let t = traffic(side, side, BAND_ROWS).expect("valid size");
        let achieved = |bytes: u64, ms: f64| bytes as f64 / (ms * 1e-3);
        let mp = (side * side) as f64 / 1e6;
        println!(
            "{side}x{side} ({mp:.1} MP), score {full:.6} (strip {strip:.6}):\n  \
             FULL warm compare {warm:.2} ms, model {:.0} MB = {:.0} B/px, {:.1} GB/s = {:.1}% of copy, \
             model-time {:.2} ms ({:.1}x off)\n  \
             FULL cold (prepare + compare) {cold:.2} ms, model {:.0} MB, {:.1}% of copy\n  \
             strip ({BAND_ROWS}-row bands) {banded:.2} ms = {:.2}x warm FULL, {:.2}x cold FULL; model {:.0} MB\n  \
             upload + convert one image {upload:.2} ms\n  \
             FULL warm compare with rows walked in tiles {warm:.2} ms, straight {warm_direct:.2} ms",
            t.compare as f64 / 1e6,
            t.compare as f64 / (side * side) as f64,
            achieved(t.compare, warm) / 1e9,
            100.0 * achieved(t.compare, warm) / bandwidth,
            t.compare as f64 / bandwidth * 1e3,
            warm / (t.compare as f64 / bandwidth * 1e3),
            (t.prepare + t.compare) as f64 / 1e6,
            100.0 * achieved(t.prepare + t.compare, cold) / bandwidth,
            banded / warm,
            banded / cold,
            t.strip as f64 / 1e6,
        );
    }
}
