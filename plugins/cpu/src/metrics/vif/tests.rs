//! Tests of the integer VIF: hand-checkable properties of the pieces, behaviour that follows
//! from libvmaf's definition, and values printed by libvmaf v2.3.1 itself.

use super::filter::{TAPS, reflect};
use super::products::{BYTE, Bytes, NARROW, Narrow, Products, Wide};
use super::stats::{log2_table, normalise};
use super::*;

/// 8-bit samples or native-endian 16-bit words of a packed plane.
fn plane_bytes(samples: &[u16], bits: u32) -> Vec<u8> {
    if bits > 8 {
        samples.iter().flat_map(|v| v.to_ne_bytes()).collect()
    } else {
        samples.iter().map(|&v| v as u8).collect()
    }
}

fn luma(bytes: &[u8], width: usize, height: usize, bits: u32) -> Luma<'_> {
    Luma {
        data: bytes,
        stride: width * if bits > 8 { 2 } else { 1 },
        width,
        height,
        bits,
    }
}

/// Scores of `distorted` against `reference` (packed samples), with a fresh reference.
fn scores(
    reference: &[u16],
    distorted: &[u16],
    w: usize,
    h: usize,
    bits: u32,
    limit: f64,
) -> VifScores {
    let (r, d) = (plane_bytes(reference, bits), plane_bytes(distorted, bits));
    let prepared = VifReference::new(&luma(&r, w, h, bits)).unwrap();
    let options = VifOptions {
        enhn_gain_limit: limit,
    };
    vif(&prepared, &luma(&d, w, h, bits), &options).unwrap()
}

/// A 32-bit linear congruential generator (Numerical Recipes constants).
fn lcg(state: &mut u32) -> u32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    *state
}

/// A textured 8-bit test image: a diagonal sawtooth (smooth areas and edges) plus noise.
fn texture(w: usize, h: usize, seed: u32) -> Vec<u16> {
    let mut state = seed;
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let ramp = ((x * 7 + y * 13) % 64) as u32 * 3;
            out.push((ramp + (lcg(&mut state) >> 27)) as u16);
        }
    }
    out
}

/// `image` distorted: noise on the left half, contrast raised around 110 on the right half
/// (a gain above 1, which the enhancement gain limit caps), clamped to 8 bits.
fn distort(image: &[u16], w: usize, seed: u32) -> Vec<u16> {
    let mut state = seed;
    let out = image.iter().enumerate().map(|(i, &v)| {
        let v = i32::from(v);
        let noise = (lcg(&mut state) >> 28) as i32 - 8;
        let d = if i % w < w / 2 {
            v + noise
        } else {
            2 * v - 110
        };
        d.clamp(0, 255) as u16
    });
    out.collect()
}

#[test]
fn taps_are_symmetric_and_sum_to_one_in_16_bit_fixed_point() {
    let widths: Vec<usize> = TAPS.iter().map(|t| t.len()).collect();
    assert_eq!(widths, [17, 9, 5, 3]);
    for taps in TAPS {
        assert_eq!(taps.iter().map(|&t| u32::from(t)).sum::<u32>(), 1 << 16);
        assert!(taps.iter().eq(taps.iter().rev()));
    }
}

/// The cheaper product forms give the 64-bit form's integers on their domain, extremes
/// included.
#[test]
fn product_forms_agree_on_their_domains() {
    let mut state = 17;
    let mut sample = |bound: u16| {
        let v = (lcg(&mut state) >> 16) as u16 % bound;
        // Every fourth sample at the top of the range.
        if v.is_multiple_of(4) { bound - 1 } else { v }
    };
    for taps in TAPS {
        let radius = taps.len() / 2;
        for (k, &tap) in taps.iter().enumerate() {
            for _ in 0..50 {
                let (a, b, c, d) = (
                    sample(NARROW),
                    sample(NARROW),
                    sample(NARROW),
                    sample(NARROW),
                );
                assert_eq!(Narrow::sum(tap, a, c), Wide::sum(tap, a, c));
                assert_eq!(Narrow::one(tap, a, b), Wide::one(tap, a, b));
                let (e, f, g, h) = (sample(BYTE), sample(BYTE), sample(BYTE), sample(BYTE));
                assert_eq!(Bytes::sum(tap, e, g), Wide::sum(tap, e, g));
                assert_eq!(u64::from(Bytes::one(tap, e, f)), Wide::one(tap, e, f));
                if k < radius {
                    assert!(tap < 1 << 14);
                    assert_eq!(Narrow::two(tap, a, b, c, d), Wide::two(tap, a, b, c, d));
                    let two = u64::from(Bytes::two(tap, e, f, g, h));
                    assert_eq!(two, Wide::two(tap, e, f, g, h));
                }
            }
        }
        // A whole column of 255s still fits the 8-bit form's 32-bit sums.
        let full: u64 = taps
            .iter()
            .map(|&t| u64::from(Bytes::one(t, 255, 255)))
            .sum();
        assert!(full < 1 << 32);
    }
}

#[test]
fn edges_mirror_without_repeating_the_edge_sample() {
    let n = 10;
    assert_eq!(reflect(-1, n), 1);
    assert_eq!(reflect(-8, n), 8);
    assert_eq!(reflect(0, n), 0);
    assert_eq!(reflect(9, n), 9);
    assert_eq!(reflect(10, n), 8);
    assert_eq!(reflect(17, n), 1);
}

#[test]
fn normalise_keeps_the_top_16_bits_and_counts_the_shift() {
    assert_eq!(normalise(1 << 15), (1 << 15, 0));
    assert_eq!(normalise(65535), (65535, 0));
    assert_eq!(normalise(65536), (32768, 1));
    assert_eq!(normalise(65537), (32768, 1)); // truncated, not rounded
    assert_eq!(normalise(3 << 17), (49152, 3));
    assert_eq!(normalise(1), (32768, -15));
    assert_eq!(normalise(32767), (65534, -1));
    assert_eq!(normalise(u64::MAX), (65535, 48));
}

#[test]
fn log_table_is_2048_log2_rounded() {
    let table = log2_table();
    let at = |m: u32| table[(m - 32768) as usize];
    assert_eq!(at(32768), 15 * 2048);
    // log2(3 · 2^14) = 14 + log2 3 = 15.58496..., times 2048 is 31918.0
    assert_eq!(at(49152), 31918);
    // log2(65535) = 16 − 2.2e−5: 32767.955 rounds up to 2^15 · ... = 32768
    assert_eq!(at(65535), 32768);
    let mut previous = 0;
    for (i, &v) in table.iter().enumerate() {
        let exact = 2048.0 * f64::from(32768 + i as u32).log2();
        assert!(
            (f64::from(v) - exact).abs() <= 0.5 + 1e-3,
            "m = {}",
            32768 + i
        );
        assert!(v >= previous);
        previous = v;
    }
}

#[test]
fn frames_below_the_minimum_side_are_refused() {
    for (w, h) in [(MIN_SIDE - 1, MIN_SIDE), (MIN_SIDE, MIN_SIDE - 1), (3, 3)] {
        let bytes = vec![0u8; w * h];
        let err = VifReference::new(&luma(&bytes, w, h, 8)).unwrap_err();
        assert_eq!(
            err,
            MetricError::TooSmall {
                width: w,
                height: h,
                min: MIN_SIDE
            }
        );
    }
    let bytes = vec![7u8; MIN_SIDE * MIN_SIDE];
    let plane = luma(&bytes, MIN_SIDE, MIN_SIDE, 8);
    let prepared = VifReference::new(&plane).unwrap();
    let s = vif(&prepared, &plane, &VifOptions::default()).unwrap();
    assert_eq!(s.den, [256.0, 64.0, 16.0, 4.0]);
}

#[test]
fn mismatched_or_short_planes_are_refused() {
    let (w, h) = (20, 18);
    let bytes = vec![9u8; w * h];
    let prepared = VifReference::new(&luma(&bytes, w, h, 8)).unwrap();
    let other = vec![9u8; (w + 2) * h];
    let err = vif(
        &prepared,
        &luma(&other, w + 2, h, 8),
        &VifOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        MetricError::SizeMismatch {
            reference: (w, h),
            distorted: (w + 2, h)
        }
    );
    let short = &bytes[..w * h - 1];
    let err = vif(&prepared, &luma(short, w, h, 8), &VifOptions::default()).unwrap_err();
    assert!(matches!(err, MetricError::BadPlaneLength { .. }), "{err:?}");
    assert!(VifReference::new(&luma(short, w, h, 8)).is_err());
}

/// With a flat reference every pixel takes the linear branch: the denominator is the pixel
/// count and each pixel adds `1 − σy²/2¹⁴/255²` to the numerator, which is 1 for a flat
/// distorted image, whatever its level.
#[test]
fn flat_reference_counts_pixels() {
    let (w, h) = (40, 36);
    let counts = [1440.0, 360.0, 90.0, 20.0];
    for bits in [8, 10, 12, 16] {
        for (level, other_level) in [(100u16, 180u16), (0, 255)] {
            let flat = vec![level << (bits - 8); w * h];
            let other = vec![other_level << (bits - 8); w * h];
            let s = scores(&flat, &other, w, h, bits, 100.0);
            assert_eq!(s.den, counts, "{bits}-bit");
            assert_eq!(s.num, counts, "{bits}-bit");
            assert!((0..4).all(|i| s.scale(i) == 1.0));
        }
        // A textured distorted image loses a little of each pixel's 1 (its σy² > 0).
        let flat = vec![100u16 << (bits - 8); w * h];
        let textured: Vec<u16> = texture(w, h, 5).iter().map(|&v| v << (bits - 8)).collect();
        let s = scores(&flat, &textured, w, h, bits, 100.0);
        assert_eq!(s.den, counts);
        assert!(
            (0..4).all(|i| s.num[i] < s.den[i] && s.num[i] > 0.0),
            "{s:?}"
        );
    }
}

/// An image scored against itself: where `σx² ≥ σn²` the numerator's argument is
/// `σn² + ⌊g²σx²⌋` with `g = σx² / (σx² + ε)` just below 1, so `⌊g²σx²⌋ = σx² − 1`: each term
/// equals its denominator term, or falls just short when dropping that unit changes the top 16
/// bits. Where `σx² < σn²`, each pixel adds `1 − σx²/2¹⁴/255²` against 1.
#[test]
fn an_image_against_itself_scores_just_below_one() {
    let (w, h) = (64, 48);
    let image = texture(w, h, 1);
    let s = scores(&image, &image, w, h, 8, 100.0);
    for i in 0..4 {
        assert!(s.num[i] <= s.den[i], "scale {i}: {s:?}");
        assert!(s.scale(i) > 0.9999, "scale {i}: {}", s.scale(i));
    }
}

/// The column pass brings every depth to 16 bits with exact rounding: a `b`-bit image that
/// is an 8-bit one times `2^(b−8)` gives the 8-bit image's moments exactly, hence its scores.
#[test]
fn scores_do_not_depend_on_the_bit_depth_of_the_same_picture() {
    let (w, h) = (45, 37);
    let reference = texture(w, h, 3);
    let distorted = distort(&reference, w, 4);
    for limit in [100.0, 1.0] {
        let base = scores(&reference, &distorted, w, h, 8, limit);
        for bits in [9, 10, 12, 16] {
            let up = |v: &Vec<u16>| v.iter().map(|&x| x << (bits - 8)).collect::<Vec<u16>>();
            let s = scores(&up(&reference), &up(&distorted), w, h, bits, limit);
            assert_eq!(s, base, "{bits}-bit, limit {limit}");
        }
    }
}

/// The limit caps the gain only where the distorted image has more contrast than the
/// reference: it lowers the numerator there (never raises it) and leaves the denominator
/// alone.
#[test]
fn the_gain_limit_only_lowers_enhanced_numerators() {
    let (w, h) = (64, 40);
    let reference = texture(w, h, 6);
    let enhanced = distort(&reference, w, 7);
    let free = scores(&reference, &enhanced, w, h, 8, 100.0);
    let capped = scores(&reference, &enhanced, w, h, 8, 1.0);
    assert_eq!(free.den, capped.den);
    assert!(
        (0..4).all(|i| capped.num[i] <= free.num[i]),
        "{free:?} {capped:?}"
    );
    assert!(capped.num[0] < free.num[0], "{free:?} {capped:?}");
    // Pure noise has no gain above 1 to cap.
    let noisy: Vec<u16> = {
        let mut state = 9;
        let mut noise = |v: u16| (i32::from(v) + (lcg(&mut state) >> 28) as i32 - 8).clamp(0, 255);
        reference.iter().map(|&v| noise(v) as u16).collect()
    };
    let free = scores(&reference, &noisy, w, h, 8, 100.0);
    let capped = scores(&reference, &noisy, w, h, 8, 1.0);
    assert!((0..4).all(|i| capped.num[i] <= free.num[i]));
}

/// Preparing the reference once and comparing several distorted frames gives what a fresh
/// reference per comparison gives, in any order; padding between rows changes nothing.
#[test]
fn a_reused_reference_equals_a_fresh_one() {
    let (w, h) = (53, 31);
    let reference = texture(w, h, 11);
    let distorted = [
        distort(&reference, w, 12),
        texture(w, h, 13),
        reference.clone(),
    ];
    let ref_bytes = plane_bytes(&reference, 8);
    let prepared = VifReference::new(&luma(&ref_bytes, w, h, 8)).unwrap();
    let reused: Vec<VifScores> = distorted
        .iter()
        .rev()
        .map(|d| {
            let bytes = plane_bytes(d, 8);
            vif(&prepared, &luma(&bytes, w, h, 8), &VifOptions::default()).unwrap()
        })
        .collect();
    for (d, got) in distorted.iter().rev().zip(&reused) {
        assert_eq!(*got, scores(&reference, d, w, h, 8, 100.0));
    }
    // The same distorted frame stored with a 7-sample gap after each row.
    let stride = w + 7;
    let mut padded = vec![0xAAu8; stride * h];
    for (row, src) in padded.chunks_mut(stride).zip(distorted[0].chunks(w)) {
        row[..w].copy_from_slice(&plane_bytes(src, 8));
    }
    let plane = Luma {
        data: &padded,
        stride,
        width: w,
        height: h,
        bits: 8,
    };
    assert_eq!(
        vif(&prepared, &plane, &VifOptions::default()).unwrap(),
        reused[2]
    );
    assert!(prepared.bytes() >= w * h * (2 + 4 + 4));
}

/// Values printed (`%.17g`) by libvmaf v2.3.1's `vif` extractor (scalar C build) for
/// `texture(41, 35, 21)` against `distort(.., 41, 22)`, 8-bit, and for the same images times
/// 4 plus a 2-bit noise `lcg(23) >> 30` in the reference only, 10-bit.
#[test]
fn scores_match_libvmaf() {
    let (w, h) = (41, 35);
    let reference = texture(w, h, 21);
    let distorted = distort(&reference, w, 22);
    let mut state = 23;
    let reference10: Vec<u16> = reference
        .iter()
        .map(|&v| (v << 2) + (lcg(&mut state) >> 30) as u16)
        .collect();
    let distorted10: Vec<u16> = distorted.iter().map(|&v| v << 2).collect();
    let cases = [
        (&reference, &distorted, 8, 100.0, ORACLE_8),
        (&reference, &distorted, 8, 1.0, ORACLE_8_EGL1),
        (&reference10, &distorted10, 10, 100.0, ORACLE_10),
    ];
    for (r, d, bits, limit, want) in cases {
        let s = scores(r, d, w, h, bits, limit);
        let got: Vec<f64> = (0..4).map(|i| s.scale(i)).collect();
        assert_eq!(got, want, "{bits}-bit, limit {limit}");
    }
}

/// `VMAF_integer_feature_vif_scale{0..3}_score`; the contrast-raised half makes the coarse
/// scales exceed 1.
const ORACLE_8: [f64; 4] = [
    0.5085058212280273,
    0.889096200466156,
    1.0221991539001465,
    1.032153844833374,
];
/// `integer_vif_scale{0..3}_egl_1` (option `vif_enhn_gain_limit=1.0`).
const ORACLE_8_EGL1: [f64; 4] = [
    0.44215622544288635,
    0.7185049057006836,
    0.849286675453186,
    0.9744550585746765,
];
/// `VMAF_integer_feature_vif_scale{0..3}_score`, 10-bit.
const ORACLE_10: [f64; 4] = [
    0.5080499649047852,
    0.8941735625267029,
    1.019494652748108,
    0.9948959946632385,
];

/// Means over the three frames of the Netflix test pair (10-bit 4:2:0, 576×324), distorted
/// and against itself, match the values libvmaf's own test suite asserts
/// (`data/video/golden.json`, which gives them to about 6 decimals).
#[test]
fn video_pair_matches_the_netflix_suite() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/video");
    let text = std::fs::read_to_string(format!("{dir}/golden.json")).unwrap();
    let golden: serde_json::Value = serde_json::from_str(&text).unwrap();
    let field = |key: &str| golden[key].as_u64().unwrap() as usize;
    let (w, h, frames) = (field("width"), field("height"), field("frames"));
    assert_eq!(golden["pix_fmt"], "yuv420p10le");
    let frame_bytes = 2 * (w * h + 2 * (w / 2) * (h / 2));
    let read =
        |key: &str| std::fs::read(format!("{dir}/{}", golden[key].as_str().unwrap())).unwrap();
    let (reference, distorted) = (read("reference"), read("distorted"));
    let mut means = [[0.0; 4]; 2];
    for f in 0..frames {
        let luma_bytes = |file: &[u8]| file[f * frame_bytes..][..2 * w * h].to_vec();
        let reference_luma = luma_bytes(&reference);
        let prepared = VifReference::new(&luma(&reference_luma, w, h, 10)).unwrap();
        for (mean, file) in means.iter_mut().zip([&distorted, &reference]) {
            let bytes = luma_bytes(file);
            let s = vif(&prepared, &luma(&bytes, w, h, 10), &VifOptions::default()).unwrap();
            for (i, m) in mean.iter_mut().enumerate() {
                *m += s.scale(i) / frames as f64;
            }
        }
    }
    let expected = &golden["libvmaf_v2.3.1_to_v3.1.0"];
    for (case, mean) in ["distorted", "identity"].into_iter().zip(means) {
        for (i, got) in mean.into_iter().enumerate() {
            let want = expected[case][format!("vif_scale{i}_score")]
                .as_f64()
                .unwrap();
            assert!(
                (got - want).abs() < 1e-6,
                "{case} scale {i}: {got} vs {want}"
            );
        }
    }
}

/// The AVX2 row passes compute the portable ones' integers, for every filter, any width and
/// any values (16-bit means, 32-bit second moments), extremes included.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_row_passes_equal_the_portable_ones() {
    use super::{avx2, filter};
    if crate::metrics::simd::Isa::avx2().is_none() {
        eprintln!("this CPU has no AVX2: only the portable row passes were run");
        return;
    }
    let mut state = 99;
    for taps in TAPS {
        for w in [1, 2, 15, 16, 17, 31, 33, 64, 353, 1920] {
            let n = w + taps.len() - 1;
            for pattern in 0..4 {
                let mut value = || {
                    let r = lcg(&mut state);
                    match pattern {
                        0 => r,
                        1 => u32::MAX - (r >> 28),
                        2 => r >> 28,
                        _ => [0, u32::MAX, r][(r % 3) as usize],
                    }
                };
                let moments: Vec<u32> = (0..n).map(|_| value()).collect();
                let means: Vec<u16> = moments.iter().map(|&v| (v >> 7) as u16).collect();
                let (mut a, mut b) = (vec![0; w], vec![0; w]);
                filter::row_mean(&means, taps, &mut a);
                // SAFETY: the CPU has AVX2 (checked above).
                unsafe { avx2::row_mean(&means, taps, &mut b) };
                assert_eq!(a, b, "mean, {} taps, width {w}", taps.len());
                let mut halves = (vec![0; n], vec![0; n]);
                filter::row_moment(&moments, taps, (&mut halves.0, &mut halves.1), &mut a);
                // SAFETY: as above.
                unsafe { avx2::row_moment(&moments, taps, (&mut halves.0, &mut halves.1), &mut b) };
                assert_eq!(a, b, "moment, {} taps, width {w}", taps.len());
            }
        }
    }
}

/// The AVX2 reference statistics compute the portable ones' values and sums, for any
/// filtered moments, extremes included.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_reference_statistics_equal_the_portable_ones() {
    use super::avx2;
    use super::stats::{self, DenAccum};
    if crate::metrics::simd::Isa::avx2().is_none() {
        eprintln!("this CPU has no AVX2: only the portable statistics were run");
        return;
    }
    let mut state = 5;
    for n in [1, 7, 8, 9, 17, 33, 353, 1920] {
        for pattern in 0..4 {
            let mut value = || {
                let r = lcg(&mut state);
                match pattern {
                    0 => r,
                    1 => [0, u32::MAX, 1 << 31, (1 << 31) - 1, 1 << 17, (1 << 17) - 1]
                        [(r % 6) as usize],
                    2 => r >> (r % 32),
                    _ => r >> 8,
                }
            };
            let mean: Vec<u32> = (0..n).map(|_| value()).collect();
            let square: Vec<u32> = (0..n).map(|_| value()).collect();
            let (mut a, mut b) = (DenAccum::default(), DenAccum::default());
            let (mut mean_a, mut mean_b) = (vec![0; n], vec![0; n]);
            let (mut var_a, mut var_b) = (vec![0; n], vec![0; n]);
            stats::reference_row(&mean, &square, &mut mean_a, &mut var_a, &mut a);
            // SAFETY: the CPU has AVX2 (checked above).
            unsafe { avx2::reference_row(&mean, &square, &mut mean_b, &mut var_b, &mut b) };
            assert_eq!(
                (mean_a, var_a),
                (mean_b, var_b),
                "{n} pixels, pattern {pattern}"
            );
            let sums = |d: &DenAccum| (d.log, d.exponent, d.log_pixels, d.linear_pixels);
            assert_eq!(sums(&a), sums(&b), "{n} pixels, pattern {pattern}");
        }
    }
}

/// The AVX2 numerator statistics compute the portable ones' sums, for any filtered moments and
/// gain limits, extremes included.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_distorted_statistics_equal_the_portable_ones() {
    use super::avx2;
    use super::filter::Moments;
    use super::stats::{self, NumAccum};
    if crate::metrics::simd::Isa::avx2().is_none() {
        eprintln!("this CPU has no AVX2: only the portable statistics were run");
        return;
    }
    let mut state = 11;
    for limit in [100.0, 1.0, 2.5, 1e9, f64::NAN] {
        for n in [1, 7, 8, 9, 17, 33, 353, 1920] {
            for pattern in 0..5 {
                let mut value = || {
                    let r = lcg(&mut state);
                    match pattern {
                        0 => r,
                        1 => [0, u32::MAX, 1 << 31, (1 << 31) - 1, 1 << 17, (1 << 17) - 1]
                            [(r % 6) as usize],
                        2 => r >> (r % 32),
                        3 => r >> 8,
                        // Means near each other and moments a little above their squares:
                        // small positive variances and covariances, as in real images.
                        _ => (r >> 20) << 16,
                    }
                };
                let mean_ref: Vec<u32> = (0..n).map(|_| value()).collect();
                let mean: Vec<u32> = if pattern == 4 {
                    mean_ref
                        .iter()
                        .map(|&m| m.wrapping_add(value() >> 12))
                        .collect()
                } else {
                    (0..n).map(|_| value()).collect()
                };
                let variance_ref: Vec<i32> = (0..n)
                    .map(|_| (value() >> 1) as i32 >> (pattern % 3 * 8))
                    .collect();
                let square: Vec<u32> = mean
                    .iter()
                    .map(|&m| ((u64::from(m) * u64::from(m) + (1 << 31)) >> 32) as u32)
                    .map(|p| p.wrapping_add(value() >> 10))
                    .collect();
                let cross: Vec<u32> = mean
                    .iter()
                    .zip(&mean_ref)
                    .map(|(&a, &b)| ((u64::from(a) * u64::from(b) + (1 << 31)) >> 32) as u32)
                    .map(|p| p.wrapping_add(value() >> 11).wrapping_sub(value() >> 13))
                    .collect();
                let moments = Moments {
                    mean: &mean,
                    square: &square,
                    cross: &cross,
                };
                let (mut a, mut b) = (NumAccum::default(), NumAccum::default());
                stats::distorted_row(&mean_ref, &variance_ref, moments, limit, &mut a);
                // SAFETY: the CPU has AVX2 (checked above).
                unsafe { avx2::distorted_row(&mean_ref, &variance_ref, moments, limit, &mut b) };
                let sums = |d: &NumAccum| (d.log, d.exponent, d.linear_variance);
                assert_eq!(
                    sums(&a),
                    sums(&b),
                    "limit {limit}, {n} pixels, pattern {pattern}"
                );
            }
        }
    }
}
