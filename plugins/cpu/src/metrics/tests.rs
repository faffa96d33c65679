//! Tests against external golden values (`data/README.md`): scikit-image 0.26 for RGB PSNR and
//! SSIM, libvmaf v2.3.1..v3.1.0 (`float_psnr`, `float_ssim`, `float_ms_ssim`) for the video pair.

use super::ms_ssim::{MsSsimReference, ms_ssim};
use super::psnr::{libvmaf_cap_db, libvmaf_psnr, mse, psnr_from_mse};
use super::ssim::{SsimReference, ssim};
use super::{MetricError, Plane};
use super::{
    luma::Luma,
    motion::{self, Blurred, MotionVersion, frame_motions},
};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

/// The libvmaf baseline these tests use (the motion change in v3.2.0 does not touch the
/// features tested here, whose values are the same in both sets).
const VMAF_BASELINE: &str = "libvmaf_v2.3.1_to_v3.1.0";

fn read_json(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("golden value {key} missing"))
}

/// The R, G, B planes of an 8-bit PNG, samples 0..=255.
fn rgb_planes(name: &str) -> Vec<Plane> {
    let path = format!("{DATA}/images/{name}");
    let img = image::open(&path)
        .unwrap_or_else(|e| panic!("decoding {path}: {e}"))
        .to_rgb8();
    let (w, h) = (img.width() as usize, img.height() as usize);
    (0..3)
        .map(|c| Plane::from_fn(w, h, |x, y| f64::from(img.get_pixel(x as u32, y as u32)[c])))
        .collect()
}

struct ImagePair {
    reference: String,
    distorted: String,
    psnr: f64,
    ssim: f64,
}

fn image_pairs() -> Vec<ImagePair> {
    let golden = read_json(&format!("{DATA}/images/golden.json"));
    let pairs: Vec<ImagePair> = golden["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| ImagePair {
            reference: p["reference"].as_str().expect("reference").to_owned(),
            distorted: p["distorted"].as_str().expect("distorted").to_owned(),
            psnr: num(p, "psnr"),
            ssim: num(p, "ssim"),
        })
        .collect();
    assert_eq!(pairs.len(), 12, "expected 12 golden image pairs");
    pairs
}

#[test]
fn rgb_psnr_matches_scikit_image() {
    for pair in image_pairs() {
        let a = rgb_planes(&pair.reference);
        let b = rgb_planes(&pair.distorted);
        let got = psnr_from_mse(mse(&a, &b), 255.0, None);
        let delta = (got - pair.psnr).abs();
        eprintln!(
            "psnr {}: {got} vs {} |Δ|={delta:.3e}",
            pair.distorted, pair.psnr
        );
        assert!(
            delta < 1e-6,
            "{}: psnr {got} vs golden {}",
            pair.distorted,
            pair.psnr
        );
    }
}

#[test]
fn rgb_ssim_matches_scikit_image() {
    for pair in image_pairs() {
        let a = rgb_planes(&pair.reference);
        let b = rgb_planes(&pair.distorted);
        let got = a
            .iter()
            .zip(&b)
            .map(|(pa, pb)| ssim(pa, pb, 255.0).expect("ssim"))
            .sum::<f64>()
            / 3.0;
        let delta = (got - pair.ssim).abs();
        eprintln!(
            "ssim {}: {got} vs {} |Δ|={delta:.3e}",
            pair.distorted, pair.ssim
        );
        assert!(
            delta < 1e-5,
            "{}: ssim {got} vs golden {}",
            pair.distorted,
            pair.ssim
        );
    }
}

/// The luma planes of a yuv420p10le file, as 10-bit code values.
fn luma_frames(name: &str, width: usize, height: usize, frames: usize) -> Vec<Plane> {
    let path = format!("{DATA}/video/{name}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let luma = width * height;
    let chroma = width.div_ceil(2) * height.div_ceil(2);
    let frame_bytes = 2 * (luma + 2 * chroma);
    assert_eq!(bytes.len(), frames * frame_bytes, "{name}: unexpected size");
    (0..frames)
        .map(|f| {
            let y = &bytes[f * frame_bytes..f * frame_bytes + 2 * luma];
            let data = y
                .chunks_exact(2)
                .map(|b| f64::from(u16::from_le_bytes([b[0], b[1]])))
                .collect();
            Plane::new(width, height, data).expect("plane")
        })
        .collect()
}

struct Video {
    reference: Vec<Plane>,
    distorted: Vec<Plane>,
    golden: serde_json::Value,
}

fn video() -> Video {
    let golden = read_json(&format!("{DATA}/video/golden.json"));
    let w = golden["width"].as_u64().expect("width") as usize;
    let h = golden["height"].as_u64().expect("height") as usize;
    let frames = golden["frames"].as_u64().expect("frames") as usize;
    assert_eq!(golden["pix_fmt"], "yuv420p10le");
    let reference = luma_frames(golden["reference"].as_str().expect("ref"), w, h, frames);
    let distorted = luma_frames(golden["distorted"].as_str().expect("dist"), w, h, frames);
    Video {
        reference,
        distorted,
        golden: golden[VMAF_BASELINE].clone(),
    }
}

/// 10-bit luma divided by 4, as libvmaf's float features see it.
fn to_8bit_scale(p: &Plane) -> Plane {
    let mut p = p.clone();
    p.scale(0.25);
    p
}

/// Checks `metric` averaged over frames against libvmaf's `key`, for the distorted pair and
/// for the reference against itself.
fn check_video(key: &str, metric: impl Fn(&Plane, &Plane) -> f64) {
    let v = video();
    for (case, dist) in [("distorted", &v.distorted), ("identity", &v.reference)] {
        let per_frame: Vec<f64> = v
            .reference
            .iter()
            .zip(dist)
            .map(|(r, d)| metric(r, d))
            .collect();
        let mean = per_frame.iter().sum::<f64>() / per_frame.len() as f64;
        let golden = num(&v.golden[case], key);
        let delta = (mean - golden).abs();
        eprintln!("{key} {case}: frames {per_frame:?} mean {mean} vs {golden} |Δ|={delta:.3e}");
        assert!(delta < 5e-5, "{key} {case}: {mean} vs golden {golden}");
    }
}

#[test]
fn video_psnr_matches_libvmaf() {
    check_video("float_psnr_score", |r, d| libvmaf_psnr(r, d, 10));
    let v = video();
    assert_eq!(libvmaf_psnr(&v.reference[0], &v.reference[0], 10), 72.0);
}

#[test]
fn video_ssim_matches_libvmaf() {
    check_video("float_ssim_score", |r, d| {
        ssim(&to_8bit_scale(r), &to_8bit_scale(d), 255.0).expect("ssim")
    });
}

#[test]
fn video_ms_ssim_matches_libvmaf() {
    check_video("float_ms_ssim_score", |r, d| {
        ms_ssim(&to_8bit_scale(r), &to_8bit_scale(d), 255.0).expect("ms_ssim")
    });
}

/// Blurred luma of every frame of a clip, as the motion features see it.
fn blurred_frames(frames: &[Plane]) -> Vec<Blurred> {
    frames
        .iter()
        .map(|plane| {
            let bytes: Vec<u8> = plane
                .data
                .iter()
                .flat_map(|&s| (s as u16).to_ne_bytes())
                .collect();
            motion::blur(&Luma {
                data: &bytes,
                stride: 2 * plane.width,
                width: plane.width,
                height: plane.height,
                bits: 10,
            })
            .expect("blur")
        })
        .collect()
}

/// `(motion, motion2)` of every frame, each frame scored alone given its neighbours.
fn motion_features(blurred: &[Blurred]) -> (Vec<f64>, Vec<f64>) {
    (0..blurred.len())
        .map(|i| {
            let previous = i.checked_sub(1).map(|p| &blurred[p]);
            (
                motion::motion(previous, &blurred[i]).expect("motion"),
                motion::motion2(previous, &blurred[i], blurred.get(i + 1)).expect("motion2"),
            )
        })
        .unzip()
}

fn golden_list(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

#[test]
fn motion_features_equal_libvmaf_2_3_1_frame_by_frame() {
    let golden = read_json(&format!("{DATA}/video/motion_libvmaf_v2.3.1.json"));
    let (w, h) = (576, 324);
    for (clip, expected) in golden["clips"].as_object().expect("clips") {
        let frames = luma_frames(clip, w, h, 3);
        let (motion, motion2) = motion_features(&blurred_frames(&frames));
        // Exact: the integer pipeline and the single-precision normalisation are libvmaf's.
        assert_eq!(
            motion,
            golden_list(&expected["VMAF_integer_feature_motion_score"]),
            "{clip} motion"
        );
        assert_eq!(
            motion2,
            golden_list(&expected["VMAF_integer_feature_motion2_score"]),
            "{clip} motion2"
        );
    }
}

#[test]
fn motion2_mean_matches_netflix_golden() {
    let v = video();
    let (_, motion2) = motion_features(&blurred_frames(&v.reference));
    assert_eq!(motion2[0], 0.0, "the first frame's motion2 is 0");
    let mean = motion2.iter().sum::<f64>() / motion2.len() as f64;
    // Motion reads the reference alone: both golden cases carry the same value, which
    // Netflix asserts to 4 decimal places.
    for case in ["distorted", "identity"] {
        let golden = num(&v.golden[case], "motion2_score");
        let delta = (mean - golden).abs();
        eprintln!("motion2 {case}: frames {motion2:?} mean {mean} vs {golden} |Δ|={delta:.3e}");
        assert!(delta < 5e-5, "{case}: {mean} vs golden {golden}");
    }
}

/// `(motion, motion2)` of every frame of a clip under libvmaf `version`, each frame scored
/// alone given its neighbours' luma, through the entry point the sessions use.
fn versioned_motion_features(version: MotionVersion, frames: &[Plane]) -> (Vec<f64>, Vec<f64>) {
    let bytes: Vec<Vec<u8>> = frames
        .iter()
        .map(|plane| {
            plane
                .data
                .iter()
                .flat_map(|&s| (s as u16).to_ne_bytes())
                .collect()
        })
        .collect();
    let lumas: Vec<Luma<'_>> = frames
        .iter()
        .zip(&bytes)
        .map(|(plane, data)| Luma {
            data,
            stride: 2 * plane.width,
            width: plane.width,
            height: plane.height,
            bits: 10,
        })
        .collect();
    (0..lumas.len())
        .map(|i| {
            let previous = i.checked_sub(1).map(|p| &lumas[p]);
            frame_motions(version, previous, &lumas[i], lumas.get(i + 1)).expect("motions")
        })
        .unzip()
}

/// Both versions against the per-frame values of the libvmaf release each reproduces.
#[test]
fn versioned_motion_features_equal_libvmaf_frame_by_frame() {
    for (version, file) in [
        (MotionVersion::V2_3_1, "motion_libvmaf_v2.3.1.json"),
        (MotionVersion::V3_2, "motion_libvmaf_v3.2.0.json"),
    ] {
        let golden = read_json(&format!("{DATA}/video/{file}"));
        let (w, h) = (576, 324);
        assert_eq!(
            (golden["width"].as_u64(), golden["height"].as_u64()),
            (Some(576), Some(324))
        );
        for (clip, expected) in golden["clips"].as_object().expect("clips") {
            let frames = luma_frames(clip, w, h, 3);
            let (motion, motion2) = versioned_motion_features(version, &frames);
            // Exact: the integer pipeline and the normalisation are libvmaf's.
            assert_eq!(
                motion,
                golden_list(&expected["VMAF_integer_feature_motion_score"]),
                "{file} {clip} motion"
            );
            assert_eq!(
                motion2,
                golden_list(&expected["VMAF_integer_feature_motion2_score"]),
                "{file} {clip} motion2"
            );
        }
    }
}

#[test]
fn motion2_mean_matches_netflix_golden_for_libvmaf_3_2_0() {
    let v = video();
    let golden =
        read_json(&format!("{DATA}/video/golden.json"))["libvmaf_v3.2.0_and_later"].clone();
    let (_, motion2) = versioned_motion_features(MotionVersion::V3_2, &v.reference);
    assert_eq!(motion2[0], 0.0, "the first frame's motion2 is 0");
    let mean = motion2.iter().sum::<f64>() / motion2.len() as f64;
    for case in ["distorted", "identity"] {
        let expected = num(&golden[case], "motion2_score");
        let delta = (mean - expected).abs();
        eprintln!(
            "motion2 v3.2.0 {case}: frames {motion2:?} mean {mean} vs {expected} |Δ|={delta:.3e}"
        );
        assert!(delta < 5e-5, "{case}: {mean} vs golden {expected}");
    }
    // The two releases' means are told apart at Netflix's 4 decimal places.
    let (_, old) = versioned_motion_features(MotionVersion::V2_3_1, &v.reference);
    let old_mean = old.iter().sum::<f64>() / old.len() as f64;
    assert!((old_mean - mean).abs() > 5e-4, "{old_mean} vs {mean}");
}

#[test]
fn prepared_reference_equals_one_shot() {
    let v = video();
    let r = to_8bit_scale(&v.reference[0]);
    let ssim_ref = SsimReference::new(&r, 255.0).expect("ssim ref");
    let ms_ref = MsSsimReference::new(&r, 255.0).expect("ms-ssim ref");
    for d in v.distorted.iter().chain(&v.reference) {
        let d = to_8bit_scale(d);
        assert_eq!(ssim_ref.compare(&d), ssim(&r, &d, 255.0));
        assert_eq!(ms_ref.compare(&d), ms_ssim(&r, &d, 255.0));
    }
    // Reusing a prepared reference does not change it.
    let d = to_8bit_scale(&v.distorted[1]);
    assert_eq!(ssim_ref.compare(&d), ssim_ref.compare(&d));
    assert_eq!(ms_ref.compare(&d), ms_ref.compare(&d));
}

#[test]
fn psnr_from_mse_caps_and_infinity() {
    assert_eq!(psnr_from_mse(0.0, 255.0, None), f64::INFINITY);
    assert_eq!(psnr_from_mse(0.0, 1023.0, Some(72.0)), 72.0);
    assert_eq!(psnr_from_mse(1e-9, 1023.0, Some(72.0)), 72.0);
    assert!((psnr_from_mse(1.0, 255.0, None) - 20.0 * 255f64.log10()).abs() < 1e-12);
    assert_eq!(libvmaf_cap_db(8), 60.0);
    assert_eq!(libvmaf_cap_db(10), 72.0);
}

#[test]
fn size_errors() {
    let small = Plane::from_fn(10, 40, |x, y| (x + y) as f64);
    assert!(matches!(
        ssim(&small, &small, 255.0),
        Err(MetricError::TooSmall { min: 11, .. })
    ));
    let ok = Plane::from_fn(11, 11, |x, y| (x * y) as f64);
    assert!(ssim(&ok, &ok, 255.0).is_ok());
    let other = Plane::from_fn(12, 11, |x, y| (x * y) as f64);
    assert!(matches!(
        ssim(&ok, &other, 255.0),
        Err(MetricError::SizeMismatch { .. })
    ));
    assert!(matches!(
        ssim(&ok, &ok, 0.0),
        Err(MetricError::InvalidDataRange(_))
    ));

    let below = Plane::from_fn(175, 300, |x, y| ((x * 7 + y * 3) % 256) as f64);
    assert!(matches!(
        ms_ssim(&below, &below, 255.0),
        Err(MetricError::TooSmall { min: 176, .. })
    ));
    // 177 is accepted: its scales are 177, 89, 45, 23, 12 wide.
    let at = Plane::from_fn(177, 176, |x, y| ((x * 7 + y * 3) % 256) as f64);
    let score = ms_ssim(&at, &at, 255.0).expect("ms-ssim at minimum size");
    assert!((score - 1.0).abs() < 1e-12, "identity ms-ssim {score}");

    let bad = Plane {
        width: 20,
        height: 20,
        data: vec![0.0; 10],
    };
    assert!(matches!(
        SsimReference::new(&bad, 255.0),
        Err(MetricError::BadPlaneLength { .. })
    ));
}
