//! VMAF's features on the device with the frames already there: frames per second of the
//! kernels alone (each frame's reference prepared with its neighbours, then compared, as a
//! clip is scored), and the cold start of the first frame (kernel compilation and the
//! tables; run twice to see it with the kernel cache warm).
//!
//! `cargo run --release -p qscore-cube --example vmaf_throughput` (wgpu; lavapipe without a
//! GPU), `--features cuda-tests` for the first CUDA device. `SIZE=1920x1080`, `FRAMES=64`,
//! `BITS=8` set the work; `QSCORE_CACHE_DIR` where compiled kernels are kept.

use std::time::Instant;

use cubecl::prelude::*;
use qscore_cpu::vmaf_parts::{AdmOptions, Engine, Luma, MotionVersion, VifOptions};
use qscore_cube::vmaf::{engine::DeviceEngine, luma::DeviceLuma};

#[cfg(feature = "cuda-tests")]
type Rt = cubecl::cuda::CudaRuntime;
#[cfg(not(feature = "cuda-tests"))]
type Rt = cubecl::wgpu::WgpuRuntime;

fn client() -> ComputeClient<Rt> {
    qscore_cube::kernel_cache::configure();
    Rt::client(&Default::default())
}

fn env<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A textured, moving luma plane of `bits` bits, as bytes of the CPU plugin's layout.
fn plane(w: usize, h: usize, bits: u32, t: usize) -> Vec<u8> {
    let max = (1u64 << bits) - 1;
    let mut seed = 0x2545_F491_4F6C_DD1Du64 ^ t as u64;
    let mut out = Vec::with_capacity(w * h * 2);
    for y in 0..h {
        for x in 0..w {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let v = (((x + 3 * t) * 7 + y * 5) as u64 * max / (7 * w + 5 * h) as u64
                + seed % (max / 16 + 1))
                .min(max);
            if bits > 8 {
                out.extend_from_slice(&(v as u16).to_ne_bytes());
            } else {
                out.push(v as u8);
            }
        }
    }
    out
}

/// One frame's VMAF features: the reference prepared with its neighbours, the distorted
/// frame compared with it.
fn frame(
    engine: &DeviceEngine<Rt>,
    (previous, current, next): (&DeviceLuma, &DeviceLuma, &DeviceLuma),
    distorted: &DeviceLuma,
) -> f64 {
    let vif = engine.vif_reference(current).unwrap();
    let adm = engine
        .adm_reference(current, &AdmOptions::default())
        .unwrap();
    let (_, motion2) = engine
        .frame_motions(MotionVersion::V2_3_1, Some(previous), current, Some(next))
        .unwrap();
    let v = engine.vif(&vif, distorted, &VifOptions::default()).unwrap();
    let a = engine.adm(&adm, distorted, &AdmOptions::default()).unwrap();
    v.scale(0) + a.adm2 + motion2
}

fn main() {
    let size: String = env("SIZE", "1920x1080".to_owned());
    let (w, h) = size
        .split_once('x')
        .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
        .expect("SIZE=WxH");
    let count: usize = env("FRAMES", 64);
    let bits: u32 = env("BITS", 8);
    let start = Instant::now();
    let client = client();
    let engine = DeviceEngine::new(client.clone());
    let bytes: Vec<Vec<u8>> = (0..4).map(|t| plane(w, h, bits, t)).collect();
    let stride = if bits > 8 { 2 * w } else { w };
    let luma = |data: &[u8]| {
        let luma = Luma {
            data,
            stride,
            width: w,
            height: h,
            bits,
        };
        DeviceLuma::upload(&client, &luma)
    };
    let frames: Vec<DeviceLuma> = bytes.iter().map(|b| luma(b)).collect();
    let window = (&frames[0], &frames[1], &frames[2]);
    let first = frame(&engine, window, &frames[3]);
    let cold = start.elapsed().as_secs_f64();
    let warm_start = Instant::now();
    let mut check = 0.0;
    for i in 0..count {
        let window = (&frames[i % 4], &frames[(i + 1) % 4], &frames[(i + 2) % 4]);
        check += frame(&engine, window, &frames[(i + 3) % 4]);
    }
    let warm = warm_start.elapsed().as_secs_f64();
    println!(
        "{w}x{h} {bits}-bit on {:?}: cold start (client, tables, kernels, first frame) {:.1} ms; \
         {count} frames in {:.1} ms: {:.1} frames/s ({first:.6} {check:.3})",
        std::any::type_name::<Rt>(),
        cold * 1e3,
        warm * 1e3,
        count as f64 / warm,
    );
}
