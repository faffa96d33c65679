//! Where a warm SSIMULACRA2 comparison spends its time on a CUDA device when images go up
//! through cubecl's portable upload (as on wgpu and HIP; the CUDA plugin registers its
//! pinned writer instead): the upload and conversion of the distorted image, the kernels
//! on planes already on the device, and both together. `SIDE=2048` sets the image side.
//! `cargo run --release -p qscore-cube --features cuda-tests --example profile_ssimulacra2`

use std::time::Instant;

use cubecl::cuda::CudaRuntime;
use cubecl::prelude::*;
use qscore_core::{ImageView, PixelFormat, PlaneView};
use qscore_cube::{
    DeviceSource, PlaneSource,
    ssimulacra2::Ssimulacra2,
    unpack::{Conversion, HostSource},
};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let client = CudaRuntime::client(&Default::default());
    let side: usize = std::env::var("SIDE").map_or(4096, |s| s.parse().unwrap());
    let reps = 15;
    let mut a = vec![0u8; side * side * 3];
    let mut b = vec![0u8; side * side * 3];
    let mut s = 12345u32;
    for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
        s = s.wrapping_mul(1664525).wrapping_add(1013904223);
        *x = ((i / 3 % side) as u32 * 255 / side as u32) as u8 ^ (s >> 28) as u8;
        *y = x.wrapping_add((s >> 30) as u8);
    }
    let pa = [PlaneView::new(&a, side * 3)];
    let pb = [PlaneView::new(&b, side * 3)];
    let va = ImageView::new(PixelFormat::RGB8, side as u32, side as u32, &pa);
    let vb = ImageView::new(PixelFormat::RGB8, side as u32, side as u32, &pb);
    let metric = Ssimulacra2::new();
    let ra = HostSource::new(&va, Conversion::LinearRgb).unwrap();
    let rb = HostSource::new(&vb, Conversion::LinearRgb).unwrap();
    let prepared = metric.prepare(&client, &ra).unwrap();
    let sync = || cubecl::future::block_on(client.sync()).unwrap();
    // Warm up.
    let score = metric.compare(&client, &prepared, &rb).unwrap();
    println!("score {score}");
    let mut upload = Vec::new();
    let mut kernels = Vec::new();
    let mut total = Vec::new();
    for _ in 0..reps {
        sync();
        let t = Instant::now();
        let planes = PlaneSource::<CudaRuntime>::rows(&rb, &client, 0, side).unwrap();
        sync();
        upload.push(t.elapsed().as_secs_f64() * 1e3);
        let dev = DeviceSource::new(planes);
        let t = Instant::now();
        metric.compare(&client, &prepared, &dev).unwrap();
        kernels.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        metric.compare(&client, &prepared, &rb).unwrap();
        total.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{side}x{side}: upload+convert {:.2} ms, compare on device {:.2} ms, compare from host {:.2} ms",
        median(upload),
        median(kernels),
        median(total)
    );
}
