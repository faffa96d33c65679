//! SSIM and MS-SSIM kernels against external goldens (`data/README.md`): scikit-image 0.26 for
//! RGB SSIM on the 12 image pairs, libvmaf v2.3.1..v3.1.0 `float_ms_ssim` for the video pair.
//! Run on wgpu (lavapipe on machines without a GPU).

use std::sync::OnceLock;

use cubecl::prelude::*;
use cubecl::wgpu::{WgpuDevice, WgpuRuntime};
use qscore_core::Error;
use qscore_cube::ms_ssim::{MsSsim, MsSsimPrepared};
use qscore_cube::ssim::{Ssim, SsimPrepared};
use qscore_cube::{DevicePlane, DeviceSource};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

/// The libvmaf baseline used (MS-SSIM is the same in both sets; only motion changed).
const VMAF_BASELINE: &str = "libvmaf_v2.3.1_to_v3.1.0";

type Client = ComputeClient<WgpuRuntime>;

fn client() -> Client {
    static SETUP: OnceLock<()> = OnceLock::new();
    let device = WgpuDevice::Cpu;
    SETUP.get_or_init(|| {
        cubecl::wgpu::init_setup::<cubecl::wgpu::Vulkan>(&device, Default::default());
    });
    WgpuRuntime::client(&device)
}

fn read_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

/// Host-side planes of one image: `(width, height, planes)`.
struct Image {
    width: usize,
    height: usize,
    planes: Vec<Vec<f32>>,
}

impl Image {
    fn source(&self, client: &Client) -> DeviceSource {
        DeviceSource::new(
            self.planes
                .iter()
                .map(|p| DevicePlane::upload(client, self.width, self.height, p))
                .collect(),
        )
    }

    /// The first plane alone.
    fn first(&self) -> Image {
        Image {
            width: self.width,
            height: self.height,
            planes: vec![self.planes[0].clone()],
        }
    }
}

/// The R, G, B planes of an 8-bit PNG as coded values 0..=255.
fn rgb(name: &str) -> Image {
    let path = format!("{DATA}/images/{name}");
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("decoding {path}: {e}"))
        .to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let planes = (0..3)
        .map(|c| img.pixels().map(|p| f32::from(p[c])).collect())
        .collect();
    Image {
        width: w,
        height: h,
        planes,
    }
}

/// A deterministic textured `width × height` image with `planes` planes on 0..255: gradients,
/// sinusoids of several frequencies and hashed noise; `seed` varies the noise.
fn synthetic(width: usize, height: usize, planes: usize, seed: u64) -> Image {
    let planes = (0..planes)
        .map(|p| {
            let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (p as u64 + 1);
            (0..width * height)
                .map(|i| {
                    let (x, y) = ((i % width) as f32, (i / width) as f32);
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let noise = (state >> 40) as f32 / (1u64 << 24) as f32;
                    let v = 128.0
                        + 50.0 * (x * 0.05 + p as f32).sin() * (y * 0.031).cos()
                        + 30.0 * ((x + 2.0 * y) * 0.4).sin()
                        + 0.05 * (x - y)
                        + 40.0 * (noise - 0.5);
                    v.clamp(0.0, 255.0)
                })
                .collect()
        })
        .collect();
    Image {
        width,
        height,
        planes,
    }
}

fn mean_abs_rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn prepared_types_are_send_sync_debug() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<SsimPrepared>();
    check::<MsSsimPrepared>();
}

#[test]
fn ssim_matches_scikit_image() {
    let client = client();
    let golden = read_json(&format!("{DATA}/images/golden.json"));
    let pairs = golden["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 12, "expected 12 golden image pairs");
    let ssim = Ssim::new(255.0);
    let mut worst: f64 = 0.0;
    for pair in pairs {
        let reference = rgb(pair["reference"].as_str().expect("reference"));
        let distorted = rgb(pair["distorted"].as_str().expect("distorted"));
        let expect = pair["ssim"].as_f64().expect("ssim");
        let prepared = ssim
            .prepare(&client, &reference.source(&client))
            .expect("prepare");
        let got = ssim
            .compare(&client, &prepared, &distorted.source(&client))
            .expect("compare");
        let delta = (got - expect).abs();
        worst = worst.max(delta);
        eprintln!(
            "ssim {}: {got} vs {expect} |Δ|={delta:.3e}",
            pair["distorted"]
        );
        // The kernels filter and form the SSIM map in f32 (the golden is f64): G∗x² − μx² on
        // samples up to 255 loses about 1e-3 absolute per pixel, which averages to well
        // under 1e-5 in the mean.
        assert!(
            delta <= 1e-5,
            "{}: {got} vs golden {expect}",
            pair["distorted"]
        );
    }
    eprintln!("ssim worst |Δ| = {worst:.3e}");
}

/// The luma planes of the golden yuv420p10le clip, divided by 4 (libvmaf's 8-bit scale).
fn luma_frames(golden: &serde_json::Value, key: &str) -> Vec<Image> {
    let w = golden["width"].as_u64().expect("width") as usize;
    let h = golden["height"].as_u64().expect("height") as usize;
    let frames = golden["frames"].as_u64().expect("frames") as usize;
    assert_eq!(golden["pix_fmt"], "yuv420p10le");
    let path = format!("{DATA}/video/{}", golden[key].as_str().expect("file name"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let luma = w * h;
    let frame_bytes = 2 * (luma + 2 * w.div_ceil(2) * h.div_ceil(2));
    assert_eq!(bytes.len(), frames * frame_bytes, "{path}: unexpected size");
    (0..frames)
        .map(|f| Image {
            width: w,
            height: h,
            planes: vec![
                bytes[f * frame_bytes..f * frame_bytes + 2 * luma]
                    .chunks_exact(2)
                    .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 4.0)
                    .collect(),
            ],
        })
        .collect()
}

#[test]
fn ms_ssim_matches_libvmaf() {
    let client = client();
    let golden = read_json(&format!("{DATA}/video/golden.json"));
    let reference = luma_frames(&golden, "reference");
    let distorted = luma_frames(&golden, "distorted");
    let ms = MsSsim::new(255.0);
    for (case, dist) in [("distorted", &distorted), ("identity", &reference)] {
        let expect = golden[VMAF_BASELINE][case]["float_ms_ssim_score"]
            .as_f64()
            .expect("float_ms_ssim_score");
        let per_frame: Vec<f64> = reference
            .iter()
            .zip(dist)
            .map(|(r, d)| {
                let prepared = ms.prepare(&client, &r.source(&client)).expect("prepare");
                ms.compare(&client, &prepared, &d.source(&client))
                    .expect("compare")
            })
            .collect();
        let mean = per_frame.iter().sum::<f64>() / per_frame.len() as f64;
        let delta = (mean - expect).abs();
        eprintln!("ms_ssim {case}: frames {per_frame:?} mean {mean} vs {expect} |Δ|={delta:.3e}");
        // libvmaf computes in f32 as we do, but in a different order, and its per-frame
        // values are printed to 6 decimals.
        assert!(delta <= 1e-5, "ms_ssim {case}: {mean} vs golden {expect}");
    }
}

fn check_ssim_bands(reference: &Image, distorted: &Image, band_heights: &[usize]) {
    let client = client();
    let ssim = Ssim::new(255.0);
    let (r, d) = (reference.source(&client), distorted.source(&client));
    let full = ssim
        .compare(&client, &ssim.prepare(&client, &r).expect("prepare"), &d)
        .expect("compare");
    assert!(full.is_finite() && full > 0.0 && full < 1.0, "{full}");
    for &band in band_heights {
        let banded = ssim.compare_bands(&client, &r, &d, band).expect("bands");
        let rel = mean_abs_rel(banded, full);
        eprintln!(
            "ssim {}x{} band {band}: {banded} vs {full} rel {rel:.2e}",
            reference.width, reference.height
        );
        assert!(rel <= 1e-6, "band {band}: {banded} vs full {full}");
    }
}

fn check_ms_ssim_bands(reference: &Image, distorted: &Image, band_heights: &[usize]) {
    let client = client();
    let ms = MsSsim::new(255.0);
    let (r, d) = (reference.source(&client), distorted.source(&client));
    let full = ms
        .compare(&client, &ms.prepare(&client, &r).expect("prepare"), &d)
        .expect("compare");
    assert!(full.is_finite() && full > 0.0 && full < 1.0, "{full}");
    for &band in band_heights {
        let banded = ms.compare_bands(&client, &r, &d, band).expect("bands");
        let rel = mean_abs_rel(banded, full);
        eprintln!(
            "ms_ssim {}x{} band {band}: {banded} vs {full} rel {rel:.2e}",
            reference.width, reference.height
        );
        assert!(rel <= 1e-6, "band {band}: {banded} vs full {full}");
    }
}

#[test]
fn ssim_bands_equal_full() {
    // 517×389: 379 valid rows, a prime, so no band height above 1 divides it.
    let reference = rgb("flower_517x389.png");
    let distorted = rgb("flower_517x389__jpeg_q40.png");
    check_ssim_bands(&reference, &distorted, &[1, 2, 7, 64, 100, 378, 379, 5000]);
    let reference = synthetic(1000, 700, 3, 1);
    let distorted = synthetic(1000, 700, 3, 2);
    check_ssim_bands(&reference, &distorted, &[2, 33, 256, 689, 690]);
}

#[test]
fn ms_ssim_bands_equal_full() {
    let reference = rgb("flower_517x389.png").first();
    let distorted = rgb("flower_517x389__blur_s1.png").first();
    check_ms_ssim_bands(&reference, &distorted, &[1, 2, 5, 64, 100, 379, 1000]);
    let reference = synthetic(1000, 700, 1, 3);
    let distorted = synthetic(1000, 700, 1, 4);
    check_ms_ssim_bands(&reference, &distorted, &[3, 77, 256, 690]);
}

#[test]
fn results_are_deterministic() {
    let client = client();
    let reference = synthetic(1000, 700, 3, 5);
    let distorted = synthetic(1000, 700, 3, 6);
    let (r, d) = (reference.source(&client), distorted.source(&client));
    let ssim = Ssim::new(255.0);
    let prepared = ssim.prepare(&client, &r).expect("prepare");
    let a = ssim.compare(&client, &prepared, &d).expect("compare");
    let b = ssim.compare(&client, &prepared, &d).expect("compare");
    assert_eq!(a.to_bits(), b.to_bits());
    let a = ssim.compare_bands(&client, &r, &d, 50).expect("bands");
    let b = ssim.compare_bands(&client, &r, &d, 50).expect("bands");
    assert_eq!(a.to_bits(), b.to_bits());

    let (r, d) = (
        reference.first().source(&client),
        distorted.first().source(&client),
    );
    let ms = MsSsim::new(255.0);
    let prepared = ms.prepare(&client, &r).expect("prepare");
    let a = ms.compare(&client, &prepared, &d).expect("compare");
    let b = ms.compare(&client, &prepared, &d).expect("compare");
    assert_eq!(a.to_bits(), b.to_bits());
    let a = ms.compare_bands(&client, &r, &d, 50).expect("bands");
    let b = ms.compare_bands(&client, &r, &d, 50).expect("bands");
    assert_eq!(a.to_bits(), b.to_bits());
}

/// `⌈n / 4096⌉`, at least 1: the partial sums of `n` outputs.
fn parts(n: usize) -> u64 {
    n.div_ceil(4096).max(1) as u64
}

#[test]
fn predictions_follow_the_documented_formulas() {
    for (w, h, p) in [(11, 11, 1), (517, 389, 3), (4096, 4096, 3), (1000, 700, 1)] {
        let (ow, oh) = ((w - 10) as u64, (h - 10) as u64);
        let (wu, hu, pu) = (w as u64, h as u64, p as u64);
        let full =
            11 + 2 * pu * wu * hu + 2 * pu * ow * oh + 3 * ow * hu + pu * parts((ow * oh) as usize);
        assert_eq!(Ssim::predict(w, h, p, None), 4 * full, "{w}x{h}x{p}");
        for band in [1, 7, 64, 5000] {
            let b = (band as u64).min(oh);
            let banded = 11 + 2 * pu * wu * (b + 10) + 5 * ow * (b + 10) + parts((ow * b) as usize);
            assert_eq!(
                Ssim::predict(w, h, p, Some(band)),
                4 * banded,
                "{w}x{h}x{p} band {band}"
            );
        }
    }
    assert_eq!(Ssim::predict(10, 11, 3, None), 0);

    for (w, h) in [(176, 176), (517, 389), (4096, 2160)] {
        let mut sizes = vec![(w, h)];
        for s in 1..5 {
            let (pw, ph): (usize, usize) = sizes[s - 1];
            sizes.push((pw.div_ceil(2), ph.div_ceil(2)));
        }
        let pyramid: u64 = sizes
            .iter()
            .map(|&(sw, sh)| (sw * sh + 2 * (sw - 10) * (sh - 10)) as u64)
            .sum();
        let (ow, oh) = (w - 10, h - 10);
        let full = 92 + pyramid + (w * h + 3 * ow * h) as u64 + 3 * parts(ow * oh);
        assert_eq!(MsSsim::predict(w, h, 1, None), 4 * full, "{w}x{h}");
        // Bands: the scale-0 phase dominates; a middle band reads 4 extra rows above.
        let b = 64.min(oh);
        let (w1, h1) = sizes[1];
        let scale0 = 92 + 2 * w1 * h1 + 2 * w * (b + 14) + 5 * ow * (b + 10);
        let scale0 = scale0 as u64 + 3 * parts(ow * b);
        assert_eq!(
            MsSsim::predict(w, h, 1, Some(64)),
            4 * scale0,
            "{w}x{h} band 64"
        );
        assert!(MsSsim::predict(w, h, 1, Some(64)) < MsSsim::predict(w, h, 1, None));
    }
    assert_eq!(MsSsim::predict(175, 176, 1, None), 0);
    assert_eq!(MsSsim::predict(176, 176, 3, None), 0);
}

fn assert_invalid<T: std::fmt::Debug>(result: Result<T, Error>, what: &str) {
    match result {
        Err(Error::InvalidInput(message)) => eprintln!("{what}: {message}"),
        other => panic!("{what}: expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn smallest_sizes_work_and_smaller_are_rejected() {
    let client = client();
    let ssim = Ssim::new(255.0);
    let at = synthetic(11, 11, 3, 7).source(&client);
    let prepared = ssim.prepare(&client, &at).expect("11x11");
    let same = ssim.compare(&client, &prepared, &at).expect("11x11");
    assert!((same - 1.0).abs() <= 1e-6, "identical 11x11: {same}");
    assert_eq!(
        ssim.compare_bands(&client, &at, &at, 1)
            .expect("11x11 bands"),
        ssim.compare_bands(&client, &at, &at, 1)
            .expect("11x11 bands")
    );
    for (w, h) in [(10, 11), (11, 10)] {
        let small = synthetic(w, h, 3, 7).source(&client);
        assert_invalid(ssim.prepare(&client, &small), "ssim prepare too small");
        assert_invalid(
            ssim.compare_bands(&client, &small, &small, 4),
            "ssim bands too small",
        );
    }

    let ms = MsSsim::new(255.0);
    let at = synthetic(176, 176, 1, 8).source(&client);
    let prepared = ms.prepare(&client, &at).expect("176x176");
    let same = ms.compare(&client, &prepared, &at).expect("176x176");
    assert!((same - 1.0).abs() <= 1e-6, "identical 176x176: {same}");
    let banded = ms
        .compare_bands(&client, &at, &at, 1)
        .expect("176x176 bands");
    assert!(
        (banded - 1.0).abs() <= 1e-6,
        "identical 176x176 bands: {banded}"
    );
    for (w, h) in [(175, 176), (176, 175)] {
        let small = synthetic(w, h, 1, 8).source(&client);
        assert_invalid(ms.prepare(&client, &small), "ms_ssim prepare too small");
        assert_invalid(
            ms.compare_bands(&client, &small, &small, 4),
            "ms_ssim bands too small",
        );
    }
}

#[test]
fn mismatched_inputs_are_rejected() {
    let client = client();
    let ssim = Ssim::new(255.0);
    let a = synthetic(64, 48, 3, 9).source(&client);
    let prepared = ssim.prepare(&client, &a).expect("prepare");
    for (what, other) in [
        ("width", synthetic(63, 48, 3, 9)),
        ("height", synthetic(64, 49, 3, 9)),
        ("planes", synthetic(64, 48, 1, 9)),
    ] {
        let other = other.source(&client);
        assert_invalid(ssim.compare(&client, &prepared, &other), what);
        assert_invalid(ssim.compare_bands(&client, &a, &other, 8), what);
    }
    assert_invalid(ssim.compare_bands(&client, &a, &a, 0), "band_rows 0");
    assert_invalid(Ssim::new(0.0).prepare(&client, &a), "data range 0");
    assert_invalid(
        Ssim::new(f64::NAN).compare_bands(&client, &a, &a, 8),
        "data range NaN",
    );

    let ms = MsSsim::new(255.0);
    let a = synthetic(200, 180, 1, 10).source(&client);
    let prepared = ms.prepare(&client, &a).expect("prepare");
    for (what, other) in [
        ("width", synthetic(201, 180, 1, 10)),
        ("height", synthetic(200, 181, 1, 10)),
        ("planes", synthetic(200, 180, 3, 10)),
    ] {
        let other = other.source(&client);
        assert_invalid(ms.compare(&client, &prepared, &other), what);
        assert_invalid(ms.compare_bands(&client, &a, &other, 8), what);
    }
    let rgb = synthetic(200, 180, 3, 10).source(&client);
    assert_invalid(ms.prepare(&client, &rgb), "three planes");
    assert_invalid(ms.compare_bands(&client, &rgb, &rgb, 8), "three planes");
    assert_invalid(ms.compare_bands(&client, &a, &a, 0), "band_rows 0");
}
