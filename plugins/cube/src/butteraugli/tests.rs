//! Each device stage against the `butteraugli` crate's same stage, on textured images.

use butteraugli::image::{BufferPool, Image3F, ImageF};

use super::*;
use crate::plane::DevicePlane;
use crate::test_runtime::{TestRuntime, client};

/// Three linear RGB planes in `0..=1` with edges, gradients and noise.
fn textured(w: usize, h: usize, seed: u32) -> [Vec<f32>; 3] {
    let mut state = seed.max(1);
    std::array::from_fn(|c| {
        (0..w * h)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let wave = 0.25 * ((x * 0.09 + c as f32).sin() * (y * 0.05).cos());
                let edge = if ((i % w) / 11 + (i / w) / 7).is_multiple_of(3) {
                    0.3
                } else {
                    0.0
                };
                let grain = 0.1 * ((state % 1000) as f32 / 1000.0 - 0.5);
                (0.3 + 0.2 * x / w as f32 + wave + edge + grain).clamp(0.0, 1.0)
            })
            .collect()
    })
}

fn image3(p: &[Vec<f32>; 3], w: usize, h: usize) -> Image3F {
    Image3F::from_planes(
        ImageF::from_vec(p[0].clone(), w, h),
        ImageF::from_vec(p[1].clone(), w, h),
        ImageF::from_vec(p[2].clone(), w, h),
    )
}

fn flat(img: &ImageF) -> Vec<f32> {
    (0..img.height())
        .flat_map(|y| img.row(y).to_vec())
        .collect()
}

/// Largest difference relative to the plane's largest magnitude.
fn worst(ours: &[f32], want: &[f32]) -> f64 {
    let scale = want.iter().fold(1e-6f64, |m, v| m.max(f64::from(v.abs())));
    ours.iter()
        .zip(want)
        .map(|(a, b)| f64::from((a - b).abs()) / scale)
        .fold(0.0, f64::max)
}

type Client = cubecl::prelude::ComputeClient<TestRuntime>;

fn planes(client: &Client, p: &[Vec<f32>; 3], w: usize, h: usize) -> Planes {
    Planes {
        handle: crate::meter::upload(client, f32::as_bytes(&p.concat())),
        width: w,
        height: h,
        count: 3,
    }
}

fn source(client: &Client, p: &[Vec<f32>; 3], w: usize, h: usize) -> crate::DeviceSource {
    crate::DeviceSource::new(
        p.iter()
            .map(|q| DevicePlane::upload(client, w, h, q))
            .collect(),
    )
}

fn interleaved(p: &[Vec<f32>; 3]) -> Vec<f32> {
    (0..p[0].len())
        .flat_map(|i| [p[0][i], p[1][i], p[2][i]])
        .collect()
}

#[test]
fn blurs_match_the_reference_s() {
    let client = client();
    let pool = BufferPool::new();
    for (w, h) in [(40, 23), (3, 70), (1, 1)] {
        let plane = textured(w, h, 7)[0].clone();
        let dev = Planes {
            handle: crate::meter::upload(&client, f32::as_bytes(&plane)),
            width: w,
            height: h,
            count: 1,
        };
        let img = ImageF::from_vec(plane.clone(), w, h);
        for sigma in [1.2f32, freq::SIGMA_UHF, freq::SIGMA_HF, freq::SIGMA_LF, 2.7] {
            let ours = dev
                .blurred(&client, &blur::Blur::new(&client, sigma))
                .read(&client, 0);
            let want = if blur::weights(sigma).len() == 5 {
                let w5 = butteraugli::blur::compute_separable5_weights(sigma);
                flat(&butteraugli::blur::blur_mirrored_5x5(&img, &w5, &pool))
            } else {
                flat(&butteraugli::blur::gaussian_blur(&img, sigma, &pool))
            };
            let d = worst(&ours, &want);
            assert!(d < 1e-5, "{w}x{h} σ {sigma}: {d:e}");
        }
    }
}

#[test]
fn opsin_dynamics_match_the_reference_s() {
    let client = client();
    let pool = BufferPool::new();
    let (w, h) = (67, 45);
    let rgb = textured(w, h, 3);
    let blur = blur::Blur::new(&client, 1.2);
    let ours = opsin::xyb(&client, &blur, &planes(&client, &rgb, w, h), 80.0);
    let want = butteraugli::opsin::opsin_dynamics_image(&image3(&rgb, w, h), 80.0, &pool);
    // X is the difference of two nearly equal channels: their few-ulp differences (the
    // device's division and logarithm) stand out more against its smaller range.
    for (c, limit) in [(0, 5e-5), (1, 1e-5), (2, 1e-5)] {
        let d = worst(&ours.read(&client, c), &flat(want.plane(c)));
        assert!(d < limit, "plane {c}: {d:e}");
    }
}

#[test]
fn frequency_bands_match_the_reference_s() {
    let client = client();
    let pool = BufferPool::new();
    let (w, h) = (83, 61);
    let rgb = textured(w, h, 11);
    let xyb = butteraugli::opsin::opsin_dynamics_image(&image3(&rgb, w, h), 80.0, &pool);
    let dev = planes(&client, &std::array::from_fn(|c| flat(xyb.plane(c))), w, h);
    let ours = freq::separate(&client, &freq::Blurs::new(&client), &dev);
    let want = butteraugli::psycho::separate_frequencies(&xyb, &pool);
    let checks: Vec<(&str, &Planes, usize, Vec<f32>)> = vec![
        ("lf x", &ours.lf, 0, flat(want.lf.plane(0))),
        ("lf y", &ours.lf, 1, flat(want.lf.plane(1))),
        ("lf b", &ours.lf, 2, flat(want.lf.plane(2))),
        ("mf x", &ours.mf, 0, flat(want.mf.plane(0))),
        ("mf y", &ours.mf, 1, flat(want.mf.plane(1))),
        ("mf b", &ours.mf, 2, flat(want.mf.plane(2))),
        ("hf x", &ours.hf, 0, flat(&want.hf[0])),
        ("hf y", &ours.hf, 1, flat(&want.hf[1])),
        ("uhf x", &ours.uhf, 0, flat(&want.uhf[0])),
        ("uhf y", &ours.uhf, 1, flat(&want.uhf[1])),
    ];
    for (name, planes, i, want) in checks {
        let d = worst(&planes.read(&client, i), &want);
        assert!(d < 1e-4, "{name}: {d:e}");
    }
}

#[test]
fn scores_match_the_reference_s() {
    let client = client();
    let metric = Butteraugli::default();
    // Sizes with and without the half-resolution pass, odd and even.
    for (w, h, seed) in [(67, 45, 5), (14, 30, 9), (128, 96, 13)] {
        let a = textured(w, h, seed);
        let mut b = textured(w, h, seed);
        for (c, p) in b.iter_mut().enumerate() {
            for (i, v) in p.iter_mut().enumerate() {
                if (i * 7 + c) % 11 == 0 {
                    *v = (*v * 0.8 + 0.1).min(1.0);
                }
            }
        }
        let prepared = metric
            .prepare(&client, &source(&client, &a, w, h))
            .expect("prepare");
        let ours = metric
            .compare(&client, &prepared, &source(&client, &b, w, h))
            .expect("compare");
        let reference = butteraugli::ButteraugliReference::new_linear(
            &interleaved(&a),
            w,
            h,
            butteraugli::ButteraugliParams::default(),
        )
        .expect("reference");
        let want = reference.compare_linear(&interleaved(&b)).expect("compare");
        let rel = |x: f64, y: f64| (x - y).abs() / y.abs();
        eprintln!(
            "{w}x{h}: ours {ours:?}, reference {} / {}",
            want.score, want.pnorm_3
        );
        assert!(
            rel(ours.max, want.score) < 1e-4,
            "{w}x{h} max: {} vs {}",
            ours.max,
            want.score
        );
        assert!(
            rel(ours.pnorm3, want.pnorm_3) < 1e-4,
            "{w}x{h} 3-norm: {} vs {}",
            ours.pnorm3,
            want.pnorm_3
        );
    }
}

#[test]
fn the_halo_covers_the_receptive_field() {
    let r = |sigma: f32| blur::radius(sigma);
    // Bands need the opsin blur, then LF, HF and UHF in turn; the map adds the larger of
    // the Malta lines (4) and the mask's blur and erosion (3).
    let bands = r(1.2) + r(freq::SIGMA_LF) + r(freq::SIGMA_HF) + r(freq::SIGMA_UHF);
    let full = bands + (r(MASK_SIGMA) + 3).max(4);
    assert_eq!(full, 37);
    // The half-resolution map reaches twice as far, plus a row for the 2×2 means.
    assert!(HALO > 2 * full && HALO.is_multiple_of(2), "{HALO}");
}
