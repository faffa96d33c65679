//! A wgpu client (lavapipe where there is no GPU) and the golden test images.

#![allow(dead_code)]

use std::{path::PathBuf, sync::OnceLock};

use cubecl::{
    prelude::*,
    wgpu::{WgpuDevice, WgpuRuntime},
};
use qscore_core::{OwnedImage, PixelFormat};

/// The process's wgpu client, set up once.
pub(crate) fn client() -> ComputeClient<WgpuRuntime> {
    static SETUP: OnceLock<()> = OnceLock::new();
    let device = WgpuDevice::DefaultDevice;
    SETUP.get_or_init(|| {
        cubecl::wgpu::init_setup::<cubecl::wgpu::Vulkan>(&device, Default::default());
    });
    WgpuRuntime::client(&device)
}

/// `data/` at the repository root.
pub(crate) fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// Every (reference, distorted, golden value of `key`) of `data/images/golden.json`.
pub(crate) fn image_pairs(key: &str) -> Vec<(PathBuf, PathBuf, f64)> {
    let dir = data().join("images");
    let text = std::fs::read_to_string(dir.join("golden.json")).expect("golden.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("golden.json parses");
    let mut out = Vec::new();
    for pair in json["pairs"].as_array().expect("pairs") {
        let value = pair[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} in {pair}"));
        out.push((
            dir.join(pair["reference"].as_str().unwrap()),
            dir.join(pair["distorted"].as_str().unwrap()),
            value,
        ));
    }
    out
}

/// A PNG as an 8-bit RGB image.
pub(crate) fn rgb8_view(path: &PathBuf) -> OwnedImage {
    let img = image::open(path).expect("decode").to_rgb8();
    OwnedImage {
        format: PixelFormat::RGB8,
        width: img.width(),
        height: img.height(),
        planes: vec![img.into_raw()],
    }
}
