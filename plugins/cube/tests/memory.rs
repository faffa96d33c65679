//! Memory predictions against the bytes cubecl has allocated on the device.
//!
//! One test in its own process, so nothing else uses the client. The crate's meter reads
//! cubecl's `bytes_in_use` (plus alignment padding) right after every device allocation a
//! session makes; the largest reading is the session's peak, since bytes in use only grow at
//! allocations. Each prediction must cover it and exceed it by at most 15%.

use cubecl::{
    prelude::*,
    wgpu::{WgpuDevice, WgpuRuntime},
};
use qscore_core::{
    BackendFamily, ChromaSubsampling, DeviceInfo, DeviceKind, Error, MemoryMode, OwnedImage,
    PixelFormat, TaskSpec, sdk::Plugin,
};
use qscore_cube::{Backend, CubePlugin, FoundDevice, meter};

#[derive(Debug)]
struct Lavapipe;

impl Backend for Lavapipe {
    type Runtime = WgpuRuntime;

    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn family(&self) -> BackendFamily {
        BackendFamily::WGPU
    }

    fn discover(&self) -> Result<Vec<FoundDevice<WgpuDevice>>, String> {
        Ok(vec![FoundDevice {
            info: DeviceInfo {
                id: 0,
                kind: DeviceKind::SOFTWARE_GPU,
                vendor: "".into(),
                model: "test".into(),
                driver_version: "".into(),
                total_memory: 1 << 40,
            },
            device: WgpuDevice::DefaultDevice,
        }])
    }

    fn free_memory(&self, _found: &FoundDevice<WgpuDevice>) -> Result<u64, Error> {
        Ok(1 << 40)
    }
}

/// A textured image (values vary so no kernel short-cuts anything).
fn image(format: PixelFormat, width: u32, height: u32, seed: u32) -> OwnedImage {
    let info = qscore_core::FormatInfo::of(format).unwrap();
    let planes = (0..info.planes)
        .map(|i| {
            let g = info.plane(i, width, height);
            (0..g.row_bytes() * g.height)
                .map(|n| {
                    let v = (n as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 24;
                    if info.sample_bytes == 2 && n % 2 == 1 {
                        (v & 3) as u8
                    } else {
                        v as u8
                    }
                })
                .collect()
        })
        .collect();
    OwnedImage {
        format,
        width,
        height,
        planes,
    }
}

#[test]
fn predictions_cover_peak_device_memory_within_15_percent() {
    let device = WgpuDevice::DefaultDevice;
    cubecl::wgpu::init_setup::<cubecl::wgpu::AutoGraphicsApi>(&device, Default::default());
    let client = WgpuRuntime::client(&device);
    let plugin = CubePlugin::new(Lavapipe);
    let yuv = PixelFormat::yuv(ChromaSubsampling::Yuv420, 10);
    let mut failures = Vec::new();
    for metric in ["psnr", "ssim", "ms_ssim", "ssimulacra2", "butteraugli"] {
        for format in [PixelFormat::RGB8, yuv] {
            for (w, h) in [(640, 480), (1280, 720)] {
                for mode in [MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR] {
                    let spec = TaskSpec::new(metric, w, h, format, mode);
                    let predicted = plugin.predict_memory(0, &spec).unwrap();
                    let before = meter::start(&client);
                    {
                        let mut session = plugin.open_session(0, &spec).unwrap();
                        let reference = image(format, w, h, 1);
                        let distorted = image(format, w, h, 2);
                        let prepared = reference.with_view(|v| session.prepare_any(v)).unwrap();
                        distorted
                            .with_view(|v| session.compare_any(prepared.as_ref(), v))
                            .unwrap();
                    }
                    let measured = (meter::peak() - before).max(1);
                    let ratio = predicted as f64 / measured as f64;
                    eprintln!(
                        "{metric} {format} {w}x{h} {mode}: peak in use {measured}, predicted {predicted} (x{ratio:.3})"
                    );
                    if !(1.0..=1.15).contains(&ratio) {
                        failures.push(format!(
                            "{metric} {format} {w}x{h} {mode}: predicted {predicted} for a peak of {measured} (x{ratio:.3})"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
