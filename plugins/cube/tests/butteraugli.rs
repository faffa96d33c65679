//! butteraugli on the device against external references: libjxl's own tool (the goldens in
//! `data/images`, `butteraugli_main --pnorm 3`) and the `butteraugli` crate (the CPU
//! plugin's implementation) on other sizes. Images go through the same 8-bit sRGB to linear
//! conversion as the plugin's. Kernels run on wgpu (lavapipe on machines without a GPU).

#[path = "support/runtime.rs"]
mod runtime;

use cubecl::prelude::*;
use qscore_core::{ImageView, PixelFormat, PlaneView};
use qscore_cube::butteraugli::{Butteraugli, ButteraugliScores};
use qscore_cube::unpack::{Conversion, HostSource};
use runtime::{TestRuntime, client};

/// Declared tolerance, relative, for both norms: the device accumulates in `f32` in another
/// order than libjxl (blur taps, Malta lines, the norms' partial sums) and may divide
/// through an approximate reciprocal. Measured on lavapipe: 1.4e-6 against libjxl's goldens,
/// 2.3e-6 against the crate; the goal asked of the port is 1e-3.
const TOLERANCE: f64 = 1e-4;

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

    /// Gradients, texture and sharp edges; `seed` varies the texture.
    fn textured(width: usize, height: usize, seed: u32) -> Self {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                for c in 0..3 {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let ramp = (x * 160 / width + y * 60 / height) as u32;
                    let edge = if (x / 13 + y / 9 + c) % 3 == 0 { 50 } else { 0 };
                    rgb.push((ramp + edge + (state % 24)).min(255) as u8);
                }
            }
        }
        Self { width, height, rgb }
    }

    /// Scores of `self` (reference) and `distorted` on the device, FULL mode.
    fn device(&self, client: &ComputeClient<TestRuntime>, distorted: &Self) -> ButteraugliScores {
        let metric = Butteraugli::default();
        self.with_source(|r| {
            let prepared = metric.prepare(client, r).expect("prepare");
            distorted.with_source(|d| metric.compare(client, &prepared, d).expect("compare"))
        })
    }

    fn with_source<T>(&self, f: impl FnOnce(&HostSource) -> T) -> T {
        let planes = [PlaneView::new(&self.rgb, self.width * 3)];
        let view = ImageView::new(
            PixelFormat::RGB8,
            self.width as u32,
            self.height as u32,
            &planes,
        );
        f(&HostSource::new(&view, Conversion::LinearRgbCurve).expect("source"))
    }

    /// The `butteraugli` crate's scores (max, 3-norm).
    fn crate_scores(&self, distorted: &Self) -> (f64, f64) {
        let r = butteraugli::ButteraugliReference::new(
            &self.rgb,
            self.width,
            self.height,
            butteraugli::ButteraugliParams::default(),
        )
        .expect("reference");
        let got = r.compare(&distorted.rgb).expect("compare");
        (got.score, got.pnorm_3)
    }
}

fn rel(ours: f64, want: f64) -> f64 {
    (ours - want).abs() / want.abs()
}

#[test]
fn matches_libjxl_goldens() {
    let client = client();
    let path = format!(
        "{}/../../data/images/golden.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden.json")).expect("json");
    let pairs = golden["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 12);
    let mut worst = [0.0f64; 2];
    for pair in pairs {
        let reference = Srgb::load(pair["reference"].as_str().expect("reference"));
        let distorted = Srgb::load(pair["distorted"].as_str().expect("distorted"));
        let ours = reference.device(&client, &distorted);
        let want = [
            pair["butteraugli_max"].as_f64().expect("golden max"),
            pair["butteraugli_pnorm3"].as_f64().expect("golden 3-norm"),
        ];
        let got = [ours.max, ours.pnorm3];
        eprintln!(
            "{:>32}: max {:.6} (libjxl {:.6}), 3-norm {:.6} (libjxl {:.6})",
            pair["distorted"], got[0], want[0], got[1], want[1]
        );
        for k in 0..2 {
            worst[k] = worst[k].max(rel(got[k], want[k]));
        }
    }
    eprintln!(
        "worst relative difference vs libjxl: max {:.2e}, 3-norm {:.2e}",
        worst[0], worst[1]
    );
    assert!(worst[0] <= TOLERANCE && worst[1] <= TOLERANCE, "{worst:?}");
}

#[test]
fn matches_the_cpu_plugins_crate_on_other_sizes() {
    let client = client();
    let mut worst = 0.0f64;
    for (w, h) in [(1001, 333), (37, 29), (8, 8), (16, 15)] {
        let a = Srgb::textured(w, h, 1);
        let b = Srgb::textured(w, h, 2);
        let ours = a.device(&client, &b);
        let (max, norm) = a.crate_scores(&b);
        eprintln!("{w}x{h}: ours {ours:?}, crate {max} / {norm}");
        worst = worst.max(rel(ours.max, max)).max(rel(ours.pnorm3, norm));
    }
    eprintln!("worst relative difference vs the crate: {worst:.2e}");
    assert!(worst <= TOLERANCE, "{worst}");
}

#[test]
fn identical_images_score_zero_and_bad_inputs_are_refused() {
    let client = client();
    let a = Srgb::textured(64, 48, 3);
    let same = a.device(&client, &a);
    assert_eq!(
        same,
        ButteraugliScores {
            max: 0.0,
            pnorm3: 0.0
        }
    );
    let metric = Butteraugli::default();
    let small = Srgb::textured(7, 40, 1);
    let err = small
        .with_source(|s| metric.prepare(&client, s))
        .expect_err("7 columns");
    assert!(err.to_string().contains("at least 8x8"), "{err}");
    let other = Srgb::textured(64, 40, 1);
    let prepared = a
        .with_source(|s| metric.prepare(&client, s))
        .expect("prepare");
    let err = other
        .with_source(|s| metric.compare(&client, &prepared, s))
        .expect_err("size mismatch");
    assert!(err.to_string().contains("64x48"), "{err}");
}

#[test]
fn bands_equal_full_mode() {
    let client = client();
    let metric = Butteraugli::default();
    let reference = Srgb::load("flower_517x389.png");
    let distorted = Srgb::load("flower_517x389__jpeg_q40.png");
    let full = reference.device(&client, &distorted);
    for rows in [64, 256, 390] {
        let banded = reference.with_source(|r| {
            distorted.with_source(|d| metric.compare_bands(&client, r, d, rows).expect("bands"))
        });
        eprintln!("{rows}-row bands: {banded:?}, FULL {full:?}");
        // Every map value is FULL's bit for bit; only the partial sums' order differs.
        assert_eq!(banded.max, full.max, "{rows}");
        assert!(
            rel(banded.pnorm3, full.pnorm3) <= 1e-6,
            "{rows}: {banded:?} vs {full:?}"
        );
    }
    let err = reference
        .with_source(|r| metric.compare_bands(&client, r, r, 33))
        .expect_err("odd band rows");
    assert!(err.to_string().contains("even"), "{err}");
}

#[test]
fn large_differences_stay_finite_and_match_the_crate() {
    // White against black at 10 000 nits scores about 1167: its d¹² leaves f32's range.
    let client = client();
    let (w, h) = (64, 48);
    let white = Srgb {
        width: w,
        height: h,
        rgb: vec![255; w * h * 3],
    };
    let black = Srgb {
        width: w,
        height: h,
        rgb: vec![0; w * h * 3],
    };
    let metric = Butteraugli::new(10_000.0);
    let ours = white.with_source(|r| {
        let prepared = metric.prepare(&client, r).expect("prepare");
        black.with_source(|d| metric.compare(&client, &prepared, d).expect("compare"))
    });
    let params = butteraugli::ButteraugliParams::default().with_intensity_target(10_000.0);
    let want = butteraugli::ButteraugliReference::new(&white.rgb, w, h, params)
        .expect("reference")
        .compare(&black.rgb)
        .expect("compare");
    eprintln!("ours {ours:?}, crate {} / {}", want.score, want.pnorm_3);
    assert!(want.score > 1000.0, "{}", want.score);
    assert!(rel(ours.max, want.score) <= TOLERANCE, "{ours:?}");
    assert!(rel(ours.pnorm3, want.pnorm_3) <= TOLERANCE, "{ours:?}");
}
