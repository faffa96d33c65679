//! The shared kernels (unpacking, reductions, PSNR, liveness) on wgpu.

mod support;

use qscore_core::{ImageView, PixelFormat, PlaneView};
use qscore_cube::{
    DevicePlane, PlaneSource, liveness,
    psnr::Psnr,
    reduce,
    unpack::{Conversion, HostSource},
};

#[test]
fn sums_are_exact_for_integers() {
    let client = support::client();
    let n = 1_000_003;
    let data: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
    let plane = DevicePlane::upload(&client, n, 1, &data);
    let expect: f64 = data.iter().map(|&v| f64::from(v)).sum();
    assert_eq!(reduce::sum(&client, &plane.handle_for_tests(), n), expect);
}

#[test]
fn liveness_passes_on_a_working_device() {
    liveness::check(&support::client()).unwrap();
}

#[test]
fn unpacks_rgb8_with_stride_to_channels_luma_and_linear() {
    let client = support::client();
    // 3x2 RGB with 1 byte of padding per row.
    let bytes = [
        10, 20, 30, 40, 50, 60, 255, 0, 128, 9, //
        1, 2, 3, 4, 5, 6, 7, 8, 9, 9,
    ];
    let planes = [PlaneView::new(&bytes, 10)];
    let view = ImageView::new(PixelFormat::RGB8, 3, 2, &planes);
    let src = HostSource::new(&view, Conversion::Channels).unwrap();
    let ch = src.rows(&client, 0, 2).unwrap();
    assert_eq!(ch[0].read(&client), vec![10.0, 40.0, 255.0, 1.0, 4.0, 7.0]);
    assert_eq!(ch[2].read(&client), vec![30.0, 60.0, 128.0, 3.0, 6.0, 9.0]);
    let band = src.rows(&client, 1, 2).unwrap();
    assert_eq!(band[1].read(&client), vec![2.0, 5.0, 8.0]);
    let luma = HostSource::new(&view, Conversion::Luma)
        .unwrap()
        .rows(&client, 0, 1)
        .unwrap();
    let want = 0.2126 * 10.0 + 0.7152 * 20.0 + 0.0722 * 30.0;
    assert!((f64::from(luma[0].read(&client)[0]) - want).abs() < 1e-4);
    let lin = HostSource::new(&view, Conversion::LinearRgb)
        .unwrap()
        .rows(&client, 0, 1)
        .unwrap();
    let srgb = |v: f64| {
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    assert!((f64::from(lin[0].read(&client)[2]) - srgb(1.0)).abs() < 1e-6);
    assert!((f64::from(lin[2].read(&client)[1]) - srgb(60.0 / 255.0)).abs() < 1e-6);
}

#[test]
fn psnr_matches_the_scikit_image_goldens() {
    let client = support::client();
    let mut worst = 0.0f64;
    for (reference, distorted, golden) in support::image_pairs("psnr") {
        let r = support::rgb8_view(&reference);
        let d = support::rgb8_view(&distorted);
        let full = r.with_view(|rv| {
            let prepared = Psnr::prepare(&client, rv).unwrap();
            d.with_view(|dv| Psnr::compare(&client, &prepared, dv).unwrap())
        });
        let bands =
            r.with_view(|rv| d.with_view(|dv| Psnr::compare_bands(&client, rv, dv, 64).unwrap()));
        assert_eq!(full[0].0, "psnr");
        worst = worst.max((full[0].1 - golden).abs());
        assert!(
            (bands[0].1 - full[0].1).abs() <= 1e-6 * full[0].1,
            "{bands:?} vs {full:?}"
        );
    }
    eprintln!("psnr: largest |Δ| vs scikit-image {worst:.2e} dB");
    assert!(worst <= 1e-4, "{worst}");
}

#[test]
fn large_images_go_up_in_chunks_without_seams() {
    let client = support::client();
    // 2048×1000 RGB8 is 6 MB: more than one upload chunk.
    let (w, h) = (2048usize, 1000usize);
    let bytes: Vec<u8> = (0..w * h * 3).map(|i| (i * 7 + i / 4099) as u8).collect();
    let planes = [PlaneView::new(&bytes, w * 3)];
    let view = ImageView::new(PixelFormat::RGB8, w as u32, h as u32, &planes);
    let source = HostSource::new(&view, Conversion::Channels).unwrap();
    let green = source.rows(&client, 3, h).unwrap()[1].read(&client);
    let expected: Vec<f32> = (3 * w..h * w)
        .map(|p| f32::from(bytes[p * 3 + 1]))
        .collect();
    assert_eq!(green.len(), expected.len());
    let first_bad = green.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(first_bad, None, "first differing pixel");
}
