//! SSIMULACRA2 on the device against external references: libjxl's own tool (the goldens in
//! `data/images`) and the `fast-ssim2` crate (a bit-exact port of libjxl) on other sizes.
//! Kernels run on wgpu (lavapipe on machines without a GPU).

#[path = "support/runtime.rs"]
mod runtime;

use cubecl::prelude::*;
use fast_ssim2::{PixelDescriptor, PixelSlice, compute_ssimulacra2};
use qscore_core::Error;
use qscore_cube::ssimulacra2::{Ssimulacra2, Ssimulacra2Prepared};
use qscore_cube::{DevicePlane, DeviceSource};
use runtime::{TestRuntime, client};

/// The device's XYB, downscale and blur equal libjxl's (via `fast-ssim2`) bit for bit on
/// lavapipe; only the order of the map sums differs. Measured worst |Δ|: 7.0e-7 against the
/// libjxl goldens, 4.2e-7 against `fast-ssim2` on the synthetic sizes. 1e-3 is the goal
/// asked of the port, with a wide margin.
const TOLERANCE: f64 = 1e-3;

/// An 8-bit sRGB image, interleaved RGB.
struct Srgb {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Srgb {
    fn load(name: &str) -> Self {
        let path = format!("{}/../../data/images/{name}", env!("CARGO_MANIFEST_DIR"));
        let img = image::open(&path).expect(&path).to_rgb8();
        Self {
            width: img.width() as usize,
            height: img.height() as usize,
            rgb: img.into_raw(),
        }
    }

    /// Three planes of linear light, with the values libjxl's `ssimulacra2` decodes 8-bit
    /// sRGB to (its colour pipeline approximates the sRGB curve; `fast-ssim2` reproduces it).
    fn linear_planes(&self) -> [Vec<f32>; 3] {
        use fast_ssim2::pipeline::{EncodedData, EncodedSrgb, linearize};
        let all = EncodedSrgb {
            width: 256,
            height: 1,
            data: EncodedData::U8((0..=255u8).flat_map(|v| [v; 3]).collect()),
            alpha: None,
        };
        let lut = linearize(&all, 0.0)[0].clone();
        std::array::from_fn(|c| {
            self.rgb
                .chunks_exact(3)
                .map(|px| lut[px[c] as usize])
                .collect()
        })
    }

    fn source(&self, client: &ComputeClient<TestRuntime>) -> DeviceSource {
        let planes = self.linear_planes();
        DeviceSource::new(
            planes
                .iter()
                .map(|p| DevicePlane::upload(client, self.width, self.height, p))
                .collect(),
        )
    }

    /// A smooth gradient with a fine texture and some sharp edges.
    fn textured(width: usize, height: usize, seed: u32) -> Self {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                for c in 0..3 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let grain = f64::from(state % 41) - 20.0;
                    let wave =
                        60.0 * ((x as f64 * 0.05 + c as f64).sin() * (y as f64 * 0.031).cos());
                    let edge = if (x / 37 + y / 23) % 3 == 0 {
                        50.0
                    } else {
                        0.0
                    };
                    let v = 90.0 + 80.0 * x as f64 / width as f64 + wave + edge + grain;
                    rgb.push(v.clamp(0.0, 255.0) as u8);
                }
            }
        }
        Self { width, height, rgb }
    }

    /// `self` blurred horizontally, blocky in the top-left quarter and with added noise:
    /// a distortion with blur, artifacts and noise at once.
    fn distorted(&self, seed: u32) -> Self {
        let (w, h) = (self.width, self.height);
        let mut state = seed.max(1);
        let mut rgb = self.rgb.clone();
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let at = |x: usize| f64::from(self.rgb[(y * w + x) * 3 + c]);
                    let mut v =
                        (at(x.saturating_sub(1)) + 2.0 * at(x) + at((x + 1).min(w - 1))) / 4.0;
                    if x < w / 2 && y < h / 2 {
                        v = f64::from(self.rgb[((y & !7) * w + (x & !7)) * 3 + c]);
                    }
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    v += f64::from(state % 9) - 4.0;
                    rgb[(y * w + x) * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Self {
            width: w,
            height: h,
            rgb,
        }
    }

    /// The score of `fast-ssim2`, from the same 8-bit sRGB pixels.
    fn fast_ssim2(&self, distorted: &Self) -> f64 {
        fn slice(img: &Srgb) -> PixelSlice<'_> {
            PixelSlice::new(
                &img.rgb,
                img.width as u32,
                img.height as u32,
                img.width * 3,
                PixelDescriptor::RGB8_SRGB,
            )
            .expect("pixel slice")
        }
        compute_ssimulacra2(&slice(self), &slice(distorted)).expect("fast-ssim2")
    }
}

fn prepare(
    metric: &Ssimulacra2,
    client: &ComputeClient<TestRuntime>,
    img: &Srgb,
) -> Ssimulacra2Prepared {
    metric
        .prepare(client, &img.source(client))
        .expect("prepare")
}

#[test]
fn matches_libjxl_goldens() {
    let client = client();
    let metric = Ssimulacra2::new();
    let path = format!(
        "{}/../../data/images/golden.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden.json")).expect("json");
    let pairs = golden["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 12);
    let mut worst = 0.0f64;
    let mut prepared: Option<(String, Ssimulacra2Prepared)> = None;
    for pair in pairs {
        let reference = pair["reference"].as_str().expect("reference");
        if prepared.as_ref().is_none_or(|(name, _)| name != reference) {
            prepared = Some((
                reference.to_string(),
                prepare(&metric, &client, &Srgb::load(reference)),
            ));
        }
        let (_, prep) = prepared.as_ref().expect("prepared");
        let distorted = Srgb::load(pair["distorted"].as_str().expect("distorted"));
        let ours = metric
            .compare(&client, prep, &distorted.source(&client))
            .expect("compare");
        let want = pair["ssimulacra2"].as_f64().expect("golden score");
        let delta = (ours - want).abs();
        eprintln!(
            "{:>32}: ours {ours:.6} libjxl {want:.6} |Δ| {delta:.2e}",
            pair["distorted"]
        );
        worst = worst.max(delta);
    }
    eprintln!("worst |Δ| vs libjxl: {worst:.2e}");
    assert!(worst <= TOLERANCE, "worst |Δ| {worst}");
}

#[test]
fn matches_fast_ssim2_on_other_sizes() {
    let client = client();
    let metric = Ssimulacra2::new();
    for (w, h) in [(1920, 1080), (1001, 777), (37, 29)] {
        let reference = Srgb::textured(w, h, 7);
        let distorted = reference.distorted(11);
        let prep = prepare(&metric, &client, &reference);
        let ours = metric
            .compare(&client, &prep, &distorted.source(&client))
            .expect("compare");
        let want = reference.fast_ssim2(&distorted);
        let delta = (ours - want).abs();
        eprintln!("{w}x{h}: ours {ours:.6} fast-ssim2 {want:.6} |Δ| {delta:.2e}");
        assert!(delta <= TOLERANCE, "{w}x{h}: {ours} vs {want}");
    }
}

#[test]
fn bands_equal_full_on_an_odd_size() {
    let client = client();
    let metric = Ssimulacra2::new();
    let reference = Srgb::load("flower_517x389.png");
    let distorted = Srgb::load("flower_517x389__jpeg_q40.png");
    let (rs, ds) = (reference.source(&client), distorted.source(&client));
    let full = metric
        .compare(
            &client,
            &metric.prepare(&client, &rs).expect("prepare"),
            &ds,
        )
        .expect("compare");
    // 32 is the smallest legal band; 96 and 160 do not divide 389; 416 is one band.
    for rows in [32, 64, 96, 160, 256, 416] {
        let banded = metric
            .compare_bands(&client, &rs, &ds, rows)
            .expect("bands");
        let rel = ((banded - full) / full).abs();
        eprintln!("band {rows}: {banded:.9} vs full {full:.9}, rel {rel:.2e}");
        assert!(rel <= 1e-6, "band {rows}: {banded} vs {full}");
    }
}

#[test]
fn same_compare_gives_the_same_bits() {
    let client = client();
    let metric = Ssimulacra2::new();
    let reference = Srgb::textured(301, 203, 3);
    let distorted = reference.distorted(5);
    let prep = prepare(&metric, &client, &reference);
    let ds = distorted.source(&client);
    let a = metric.compare(&client, &prep, &ds).expect("compare");
    let b = metric.compare(&client, &prep, &ds).expect("compare");
    assert_eq!(a.to_bits(), b.to_bits());
    assert!(a < 100.0, "a distorted image must score below 100, got {a}");
    let same = metric
        .compare(&client, &prep, &reference.source(&client))
        .expect("compare");
    assert_eq!(same, 100.0, "identical images score exactly 100");
}

#[test]
fn bad_inputs_are_rejected() {
    let client = client();
    let metric = Ssimulacra2::new();
    let a = Srgb::textured(64, 48, 1);
    let b = Srgb::textured(64, 40, 2);
    let (sa, sb) = (a.source(&client), b.source(&client));
    let prep = metric.prepare(&client, &sa).expect("prepare");
    assert!(matches!(
        metric.compare(&client, &prep, &sb),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        metric.compare_bands(&client, &sa, &sb, 32),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        metric.compare_bands(&client, &sa, &sa, 48),
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        metric.compare_bands(&client, &sa, &sa, 0),
        Err(Error::InvalidInput(_))
    ));
    let two = DeviceSource::new(sa.all()[..2].to_vec());
    assert!(matches!(
        metric.prepare(&client, &two),
        Err(Error::InvalidInput(_))
    ));
    let tiny = Srgb::textured(7, 30, 1).source(&client);
    assert!(matches!(
        metric.prepare(&client, &tiny),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn prepared_is_shareable() {
    fn check<T: Send + Sync + std::fmt::Debug>() {}
    check::<Ssimulacra2Prepared>();
}

#[test]
fn predictions_scale_with_the_mode() {
    let full = Ssimulacra2::predict(3840, 2160, None);
    let band = Ssimulacra2::predict(3840, 2160, Some(64));
    // FULL holds a 9-plane reference pyramid and ~15 more planes at scale 0.
    let plane = 3840 * 2160 * 4;
    assert!(full > 24 * plane && full < 36 * plane, "{full}");
    // A band is 64 + 2·128 rows.
    assert!(band < full / 5, "{band} vs {full}");
    assert!(Ssimulacra2::predict(3840, 2160, Some(96)) > band);
    assert_eq!(Ssimulacra2::predict(7, 7, None), 0);
}
