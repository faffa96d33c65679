//! Tests of the integer ADM: exact agreement with numbers produced by libvmaf v2.3.1 itself,
//! and properties that can be checked by hand.

use super::csf::{ScaleWeights, quant_step};
use super::dwt::{self, CoarseTransform, HI, LO, LumaTransform, Streamed, taps};
use super::region::{Region, ceil_log2, mirror};
use super::*;

/// A plane of `w × h` samples as a [`Luma`] stores them.
fn bytes_of(samples: &[u16], bits: u32) -> Vec<u8> {
    if bits > 8 {
        samples.iter().flat_map(|v| v.to_ne_bytes()).collect()
    } else {
        samples.iter().map(|&v| v as u8).collect()
    }
}

fn luma(bytes: &[u8], width: usize, height: usize, bits: u32) -> Luma<'_> {
    let stride = width * if bits > 8 { 2 } else { 1 };
    Luma {
        data: bytes,
        stride,
        width,
        height,
        bits,
    }
}

fn plane(width: usize, height: usize, f: impl Fn(usize, usize) -> u16) -> Vec<u16> {
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .map(|(x, y)| f(x, y))
        .collect()
}

/// Scores `dist` against `reference` (sample planes), each frame prepared from scratch.
fn score(reference: &[u16], dist: &[u16], w: usize, h: usize, bits: u32, egl: f64) -> AdmScores {
    let options = AdmOptions {
        enhn_gain_limit: egl,
        ..AdmOptions::default()
    };
    let (r, d) = (bytes_of(reference, bits), bytes_of(dist, bits));
    let prepared = AdmReference::new(&luma(&r, w, h, bits), &options).unwrap();
    adm(&prepared, &luma(&d, w, h, bits), &options).unwrap()
}

// Integer-only synthetic frames. The same formulas, written in Python, produced the files that
// were scored by libvmaf 2.3.1 (scalar C build, `-f adm -o debug=true`) for the values below.
fn hash(x: usize, y: usize, seed: u32) -> u32 {
    let h = (x as u32)
        .wrapping_mul(374_761_393)
        .wrapping_add((y as u32).wrapping_mul(668_265_263))
        .wrapping_add(seed.wrapping_mul(2_246_822_519));
    let h = (h ^ (h >> 13)).wrapping_mul(1_274_126_177);
    h ^ (h >> 16)
}

/// Ramps plus noise: a textured reference.
fn synth_reference(x: usize, y: usize, bits: u32) -> u16 {
    let v8 = ((x * 9 + y * 5) % 200) as u32 + hash(x, y, 1) % 32;
    let low = if bits > 8 {
        hash(x, y, 3) % (1 << (bits - 8))
    } else {
        0
    };
    ((v8 << (bits - 8)) | low) as u16
}

/// The reference with ±10 (8-bit units) of noise, clipped.
fn synth_distorted(x: usize, y: usize, bits: u32) -> u16 {
    let r = i64::from(synth_reference(x, y, bits));
    let noise = i64::from(hash(x, y, 2) % 21) - 10;
    (r + (noise << (bits - 8))).clamp(0, (1 << bits) - 1) as u16
}

/// libvmaf 2.3.1's `VMAF_integer_feature_adm2_score` (or `integer_adm2_egl_1`) and
/// `integer_adm_num_scale0..3`, `integer_adm_den_scale0..3` for the synthetic frames:
/// `((width, height, bits, enhn_gain_limit), adm2, num, den)`.
#[allow(clippy::type_complexity, clippy::excessive_precision)]
const LIBVMAF: [((usize, usize, u32, f64), f64, [f64; 4], [f64; 4]); 8] = [
    (
        (45, 37, 8, 100.0),
        0.98506206499758053,
        [
            16.625408172607422,
            28.042236328125,
            49.1207275390625,
            79.764389038085938,
        ],
        [
            17.214729309082031,
            28.913515090942383,
            49.872512817382812,
            80.183837890625,
        ],
    ),
    (
        (45, 37, 8, 1.0),
        0.97793604429956615,
        [
            16.498716354370117,
            27.736976623535156,
            48.586597442626953,
            79.4749755859375,
        ],
        [
            17.214729309082031,
            28.913515090942383,
            49.872512817382812,
            80.183837890625,
        ],
    ),
    (
        (45, 37, 10, 100.0),
        0.98511419242747722,
        [
            16.631790161132812,
            28.061183929443359,
            49.102161407470703,
            79.740692138671875,
        ],
        [
            17.216024398803711,
            28.924732208251953,
            49.857048034667969,
            80.1602783203125,
        ],
    ),
    (
        (45, 37, 10, 1.0),
        0.97793493243634422,
        [
            16.500116348266602,
            27.750492095947266,
            48.569339752197266,
            79.451194763183594,
        ],
        [
            17.216024398803711,
            28.924732208251953,
            49.857048034667969,
            80.1602783203125,
        ],
    ),
    (
        (61, 34, 12, 100.0),
        0.98498318543272145,
        [
            17.373254776000977,
            28.460098266601562,
            55.900428771972656,
            97.015335083007812,
        ],
        [
            17.955257415771484,
            29.303314208984375,
            56.974864959716797,
            97.545761108398438,
        ],
    ),
    (
        (61, 34, 12, 1.0),
        0.97809364803305621,
        [
            17.240283966064453,
            28.129615783691406,
            55.3575439453125,
            96.631507873535156,
        ],
        [
            17.955257415771484,
            29.303314208984375,
            56.974864959716797,
            97.545761108398438,
        ],
    ),
    (
        (50, 33, 16, 100.0),
        0.98682919102649713,
        [
            16.045930862426758,
            26.698970794677734,
            52.850563049316406,
            104.74124908447266,
        ],
        [
            16.591991424560547,
            27.506708145141602,
            53.85052490234375,
            105.06130218505859,
        ],
    ),
    (
        (50, 33, 16, 1.0),
        0.97694024209838881,
        [
            15.923545837402344,
            26.38111686706543,
            52.262252807617188,
            103.76223754882812,
        ],
        [
            16.591991424560547,
            27.506708145141602,
            53.85052490234375,
            105.06130218505859,
        ],
    ),
];

#[test]
fn matches_libvmaf_exactly() {
    for ((w, h, bits, egl), adm2, num, den) in LIBVMAF {
        let r = plane(w, h, |x, y| synth_reference(x, y, bits));
        let d = plane(w, h, |x, y| synth_distorted(x, y, bits));
        let s = score(&r, &d, w, h, bits, egl);
        let case = format!("{w}x{h} {bits}-bit gain limit {egl}");
        assert_eq!(s.num, num, "{case}: numerators");
        assert_eq!(s.den, den, "{case}: denominators");
        assert_eq!(s.adm2, adm2, "{case}: adm2");
        for i in 0..4 {
            assert_eq!(s.scale(i), num[i] / den[i], "{case}: scale {i}");
        }
    }
}

#[test]
fn wavelet_taps_are_daubechies_2() {
    // db2 low-pass: (1 + √3, 3 + √3, 3 - √3, 1 - √3) / (4√2), in Q15.
    let s3 = 3f64.sqrt();
    let db2 = [1.0 + s3, 3.0 + s3, 3.0 - s3, 1.0 - s3].map(|c| c / (4.0 * 2f64.sqrt()));
    for k in 0..4 {
        assert_eq!(LO[k], (db2[k] * 32768.0).round() as i32);
        // Quadrature mirror: HI[k] = (-1)^k LO[3 - k].
        assert_eq!(HI[k], if k % 2 == 0 { LO[3 - k] } else { -LO[3 - k] });
    }
    assert_eq!(LO.iter().sum::<i32>(), 46342); // ≈ √2 · 2^15
    assert_eq!(HI.iter().sum::<i32>(), 0);
    assert_eq!((0..4).map(|k| LO[k] * HI[k]).sum::<i32>(), 0);
}

/// libvmaf's index tables (`dwt2_src_indices_filt`), rebuilt literally for comparison.
fn libvmaf_indices(n: usize) -> Vec<[usize; 4]> {
    let half = n.div_ceil(2);
    let mut table = vec![[1, 0, 1, 2]];
    for i in 1..half {
        let first = 2 * i as isize - 1;
        table.push(std::array::from_fn(|k| {
            let ind = first + k as isize;
            // Only the last two outputs are mirrored, and only past the end.
            if i + 2 >= half && ind >= n as isize {
                (2 * n as isize - ind - 1) as usize
            } else {
                ind as usize
            }
        }));
    }
    table
}

#[test]
fn wavelet_mirrors_like_libvmaf() {
    for n in 5..200 {
        let expected = libvmaf_indices(n);
        let ours: Vec<_> = (0..n.div_ceil(2)).map(|i| taps(i, n)).collect();
        assert_eq!(ours, expected, "line of {n}");
    }
    // The masking's 3×3 neighbourhood mirrors the same way.
    assert_eq!(mirror(-1, 10), 1);
    assert_eq!(mirror(10, 10), 9);
    assert_eq!(mirror(4, 10), 4);
}

#[test]
fn constant_plane_has_only_an_approximation() {
    for (bits, value) in [
        (8, 0u16),
        (8, 17),
        (8, 128),
        (8, 255),
        (10, 0),
        (10, 1023),
        (12, 3000),
        (16, 65535),
    ] {
        let (w, h) = (9, 7);
        let bytes = bytes_of(&vec![value; w * h], bits);
        let level = dwt::level(LumaTransform::new(&luma(&bytes, w, h, bits)));
        // Down the columns the low-pass taps sum to 46342 and the samples are centred on
        // 2^(bits - 1); the high-pass taps sum to 0.
        let shift = bits.max(8);
        let half = 1i64 << (shift - 1);
        let column = (46342 * (i64::from(value) - half) + half) >> shift;
        let expected = ((46342 * column + 32768) >> 16) as i16;
        assert!(
            level.approx.iter().all(|&a| a == expected),
            "{bits}-bit {value}"
        );
        assert!(level.details.bands.iter().flatten().all(|&c| c == 0));
    }
}

#[test]
fn streamed_rows_equal_the_stored_level() {
    let (w, h, bits) = (41, 35, 10);
    let bytes = bytes_of(&plane(w, h, |x, y| synth_distorted(x, y, bits)), bits);
    let plane = luma(&bytes, w, h, bits);
    let whole = dwt::level(LumaTransform::new(&plane));
    let mut stream = Streamed::new(LumaTransform::new(&plane));
    let (bw, bh) = stream.size();
    for y in 0..bh {
        for (band, row) in stream.details_row(y).iter().enumerate() {
            assert_eq!(*row, &whole.details.bands[band][y * bw..(y + 1) * bw]);
        }
    }
    assert_eq!(stream.finish(), whole.approx);
    let next = dwt::level(CoarseTransform::new(&whole.approx, bw, bh, 1));
    let mut stream = Streamed::new(CoarseTransform::new(&whole.approx, bw, bh, 1));
    assert_eq!(
        stream.details_row(3)[2],
        &next.details.bands[2][3 * 11..4 * 11]
    );
    assert_eq!(stream.finish(), next.approx);
}

#[test]
fn csf_weights_follow_watsons_formula() {
    let options = AdmOptions::default();
    // Watson et al. 1997, formula (9), evaluated entirely in double precision.
    let amplitude = [
        [0.67234, 0.72709],
        [0.41317, 0.49428],
        [0.22727, 0.28688],
        [0.11792, 0.15214],
    ];
    let gain = [1.0, 0.534];
    let r = 3.0 * 1080.0 * std::f64::consts::PI / 180.0;
    for (scale, amplitude) in amplitude.iter().enumerate() {
        let w = ScaleWeights::new(scale, &options);
        for (band, theta) in [(0, 0), (1, 0), (2, 1)] {
            let t = (2f64.powi(scale as i32 + 1) * 0.401 * gain[theta] / r).log10();
            let q = 2.0 * 0.495 * 10f64.powf(0.466 * t * t) / amplitude[theta];
            let weight = f64::from(w.float[band]);
            assert!((weight * q - 1.0).abs() < 1e-6, "scale {scale} band {band}");
            let step = quant_step(scale, theta + 1, 3.0, 1080);
            assert_eq!(w.float[band], 1.0 / step);
            if scale > 0 {
                assert_eq!(w.fixed[band], (weight * 2f64.powi(32)).floor() as u32);
            }
        }
    }
    // Scale 0 at the default geometry: libvmaf's hard-coded weights, within 0.01% of the
    // formula's (21, 21 and 23 fractional bits).
    let w = ScaleWeights::new(0, &options);
    assert_eq!(w.fixed, [36453, 36453, 49417]);
    for (band, bits) in [(0, 21), (1, 21), (2, 23)] {
        let exact = f64::from(w.float[band]) * 2f64.powi(bits);
        assert!((f64::from(w.fixed[band]) / exact - 1.0).abs() < 1e-4);
    }
    // Elsewhere they are computed, truncated.
    let other = AdmOptions {
        norm_view_dist: 4.5,
        ref_display_height: 1440,
        ..options
    };
    let w = ScaleWeights::new(0, &other);
    for (band, bits) in [(0, 21), (1, 21), (2, 23)] {
        assert_eq!(
            w.fixed[band],
            (f64::from(w.float[band]) * 2f64.powi(bits)) as u32
        );
    }
}

#[test]
fn scored_region_leaves_a_tenth_out() {
    assert_eq!(
        Region::interior(960, 540),
        Region {
            top: 53,
            bottom: 487,
            left: 95,
            right: 865
        }
    );
    // Under 15 samples, no border: (int)(side / 10 - 0.5) is 0.
    assert_eq!(
        Region::interior(14, 5),
        Region {
            top: 0,
            bottom: 5,
            left: 0,
            right: 14
        }
    );
    assert_eq!(Region::interior(15, 3).left, 1);
    assert_eq!(Region::interior(24, 3).left, 1);
    assert_eq!(Region::interior(25, 3).left, 2);
    for n in 1..5000 {
        assert_eq!(ceil_log2(n), (n as f64).log2().ceil() as u32, "{n}");
    }
}

#[test]
fn flat_frames_score_exactly_one() {
    // A flat frame has no detail: every numerator and denominator is the area term alone,
    // 3 · ∛(area / 32), so the scores are exactly 1. For 100×60 the bands are 50×30, 25×15,
    // 13×8 and 7×4, and the scored regions 42×26, 21×13, 13×8 and 7×4.
    let areas = [42 * 26, 21 * 13, 13 * 8, 7 * 4];
    for bits in [8, 10, 16] {
        let (w, h) = (100, 60);
        let r = vec![77 << (bits - 8); w * h];
        let d = vec![150 << (bits - 8); w * h];
        let s = score(&r, &d, w, h, bits, 100.0);
        for (i, area) in areas.into_iter().enumerate() {
            let term = (area as f32 / 32.0).powf(1.0 / 3.0);
            let expected = f64::from(term + term + term);
            assert_eq!(
                (s.num[i], s.den[i]),
                (expected, expected),
                "{bits}-bit scale {i}"
            );
            assert_eq!(s.scale(i), 1.0);
        }
        assert_eq!(s.adm2, 1.0);
    }
}

#[test]
fn identical_frames_score_nearly_one() {
    // Numerator and denominator round differently, so libvmaf's integer ADM gives values a few
    // 1e-6 above 1 for identical frames rather than exactly 1.
    for bits in [8, 10, 12, 16] {
        let (w, h) = (57, 43);
        let r = plane(w, h, |x, y| synth_reference(x, y, bits));
        let s = score(&r, &r, w, h, bits, 100.0);
        assert!((s.adm2 - 1.0).abs() < 1e-4, "{bits}-bit: {}", s.adm2);
        for i in 0..4 {
            assert!(
                (s.scale(i) - 1.0).abs() < 1e-3,
                "{bits}-bit scale {i}: {}",
                s.scale(i)
            );
        }
    }
}

#[test]
fn scores_do_not_depend_on_sample_scaling() {
    // Shifting 8-bit samples up to 10, 12 or 16 bits shifts the first vertical pass's sums by
    // exactly the extra bits it shifts off: every coefficient, hence every score, is the same.
    let (w, h) = (47, 39);
    let r8 = plane(w, h, |x, y| synth_reference(x, y, 8));
    let d8 = plane(w, h, |x, y| synth_distorted(x, y, 8));
    let base = score(&r8, &d8, w, h, 8, 100.0);
    for bits in [10, 12, 16] {
        let up = |p: &[u16]| p.iter().map(|&v| v << (bits - 8)).collect::<Vec<_>>();
        assert_eq!(
            score(&up(&r8), &up(&d8), w, h, bits, 100.0),
            base,
            "{bits}-bit"
        );
    }
}

#[test]
fn enhancement_counts_only_up_to_the_gain_limit() {
    // A sharpened distorted frame: detail enhanced around the reference's.
    let (w, h) = (64, 50);
    let r = plane(w, h, |x, y| synth_reference(x, y, 8) / 2 + 60);
    let d = plane(w, h, |x, y| {
        let v = i32::from(r[y * w + x]);
        let blur = (i32::from(r[y * w + x.saturating_sub(1)])
            + i32::from(r[y * w + (x + 1).min(w - 1)]))
            / 2;
        (v + (v - blur)).clamp(0, 255) as u16
    });
    let limited = score(&r, &d, w, h, 8, 1.0);
    let allowed = score(&r, &d, w, h, 8, 100.0);
    assert_eq!(limited.den, allowed.den);
    for i in 0..4 {
        assert!(limited.num[i] <= allowed.num[i], "scale {i}");
    }
    assert!(limited.adm2 < allowed.adm2);
}

#[test]
fn reused_reference_scores_like_a_fresh_one() {
    let (w, h, bits) = (53, 41, 10);
    let options = AdmOptions::default();
    let r = bytes_of(&plane(w, h, |x, y| synth_reference(x, y, bits)), bits);
    let d1 = bytes_of(&plane(w, h, |x, y| synth_distorted(x, y, bits)), bits);
    let d2 = bytes_of(
        &plane(w, h, |x, y| synth_distorted(y % w, x % h, bits)),
        bits,
    );
    let shared = AdmReference::new(&luma(&r, w, h, bits), &options).unwrap();
    let first = adm(&shared, &luma(&d1, w, h, bits), &options).unwrap();
    let second = adm(&shared, &luma(&d2, w, h, bits), &options).unwrap();
    let again = adm(&shared, &luma(&d1, w, h, bits), &options).unwrap();
    assert_eq!(first, again);
    for (d, shared_score) in [(&d1, first), (&d2, second)] {
        let fresh = AdmReference::new(&luma(&r, w, h, bits), &options).unwrap();
        assert_eq!(
            adm(&fresh, &luma(d, w, h, bits), &options).unwrap(),
            shared_score
        );
    }
    assert_ne!(first, second);
    // The detail bands held: 27×21 16-bit, then 14×11, 7×6 and 4×3 32-bit, three bands each.
    let held = 3 * (27 * 21 * 2 + (14 * 11 + 7 * 6 + 4 * 3) * 4);
    assert_eq!(shared.bytes(), held);
}

#[test]
fn tiny_and_mismatched_frames_are_refused() {
    let options = AdmOptions::default();
    for (w, h) in [(32, 40), (40, 32), (5, 5)] {
        let bytes = vec![0u8; w * h];
        let err = AdmReference::new(&luma(&bytes, w, h, 8), &options).unwrap_err();
        assert_eq!(
            err,
            MetricError::TooSmall {
                width: w,
                height: h,
                min: 33
            }
        );
    }
    let bytes = vec![0u8; 33 * 34];
    let reference = AdmReference::new(&luma(&bytes, 33, 34, 8), &options).unwrap();
    let other = vec![0u8; 34 * 34];
    assert_eq!(
        adm(&reference, &luma(&other, 34, 34, 8), &options).unwrap_err(),
        MetricError::SizeMismatch {
            reference: (33, 34),
            distorted: (34, 34)
        }
    );
    let short = &bytes[..33 * 34 - 1];
    assert!(matches!(
        adm(&reference, &luma(short, 33, 34, 8), &options),
        Err(MetricError::BadPlaneLength { .. })
    ));
}

#[test]
fn options_outside_libvmafs_ranges_are_refused() {
    let bytes = vec![0u8; 40 * 40];
    let plane = luma(&bytes, 40, 40, 8);
    let base = AdmOptions::default();
    let bad = [
        (
            AdmOptions {
                enhn_gain_limit: 0.5,
                ..base
            },
            0.5,
        ),
        (
            AdmOptions {
                enhn_gain_limit: 101.0,
                ..base
            },
            101.0,
        ),
        (
            AdmOptions {
                norm_view_dist: 0.5,
                ..base
            },
            0.5,
        ),
        (
            AdmOptions {
                ref_display_height: 0,
                ..base
            },
            0.0,
        ),
        // Finer than 3 heights at 1080 rows: libvmaf refuses it.
        (
            AdmOptions {
                norm_view_dist: 2.0,
                ..base
            },
            2160.0,
        ),
    ];
    for (options, value) in bad {
        let err = AdmReference::new(&plane, &options).unwrap_err();
        assert_eq!(err, MetricError::InvalidDataRange(value));
    }
    let reference = AdmReference::new(&plane, &base).unwrap();
    let limited = AdmOptions {
        enhn_gain_limit: 1.0,
        ..base
    };
    assert!(adm(&reference, &plane, &limited).is_ok());
    assert!(
        adm(
            &reference,
            &plane,
            &AdmOptions {
                enhn_gain_limit: 0.0,
                ..base
            }
        )
        .is_err()
    );
}

#[test]
fn row_padding_is_ignored() {
    let (w, h) = (37, 35);
    for bits in [8, 12] {
        let r = plane(w, h, |x, y| synth_reference(x, y, bits));
        let d = plane(w, h, |x, y| synth_distorted(x, y, bits));
        let packed = score(&r, &d, w, h, bits, 100.0);
        // The same planes with 5 junk samples after each row.
        let pad = |p: &[u16]| {
            let rows = p
                .chunks(w)
                .flat_map(|row| row.iter().copied().chain([0xabcd >> (16 - bits); 5]));
            bytes_of(&rows.collect::<Vec<_>>(), bits)
        };
        let (rp, dp) = (pad(&r), pad(&d));
        let stride = (w + 5) * if bits > 8 { 2 } else { 1 };
        let padded = |bytes| Luma {
            data: bytes,
            stride,
            width: w,
            height: h,
            bits,
        };
        let options = AdmOptions::default();
        let reference = AdmReference::new(&padded(&rp), &options).unwrap();
        assert_eq!(
            adm(&reference, &padded(&dp), &options).unwrap(),
            packed,
            "{bits}-bit"
        );
    }
}

/// The AVX2 decoupling of scale 0 computes the portable one's values, for any coefficients
/// (extremes included), row lengths and gain limits.
#[cfg(target_arch = "x86_64")]
#[test]
fn avx2_decoupling_equals_the_portable_one() {
    use super::arith::{Arith, cos_sq_1deg};
    use super::decouple::{DecoupledRow, decouple_row};
    let Some(token) = crate::metrics::simd::Isa::avx2().and_then(|isa| isa.avx2_token()) else {
        eprintln!("this CPU has no AVX2: only the portable decoupling was run");
        return;
    };
    let mut state = 7u32;
    let mut next = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        state
    };
    let weights = ScaleWeights::new(0, &AdmOptions::default());
    for gain in [100.0, 1.0, 1.2] {
        let fine = Fine::new(&weights, 960, 540, gain);
        for n in [1, 7, 8, 9, 17, 33, 353] {
            for pattern in 0..5 {
                let mut coef = || -> i16 {
                    let r = next();
                    match pattern {
                        0 => r as i16,
                        1 => (r >> 24) as i8 as i16,
                        2 => [i16::MIN, i16::MAX, 0, -1, 1][(r % 5) as usize],
                        3 => (r >> 20) as i16 % 300,
                        _ => ((r >> 16) as i16).wrapping_mul(3) / 7,
                    }
                };
                let o: [Vec<i16>; 3] = std::array::from_fn(|_| (0..n).map(|_| coef()).collect());
                // Distorted near the reference, or anything.
                let t: [Vec<i16>; 3] = std::array::from_fn(|b| {
                    (0..n)
                        .map(|x| {
                            if x % 3 == 0 {
                                coef()
                            } else {
                                o[b][x].wrapping_add(coef() >> 6)
                            }
                        })
                        .collect()
                });
                let (o, t) = (
                    o.each_ref().map(Vec::as_slice),
                    t.each_ref().map(Vec::as_slice),
                );
                let (mut a, mut b) = (DecoupledRow::new(n), DecoupledRow::new(n));
                decouple_row(&fine, cos_sq_1deg(), o, t, &mut a);
                assert!(fine.decouple_avx2(token, cos_sq_1deg(), o, t, &mut b));
                let what = format!("gain {gain}, {n} coefficients, pattern {pattern}");
                assert_eq!(a.restored, b.restored, "{what}");
                assert_eq!(a.neighbour, b.neighbour, "{what}");
                assert_eq!(a.centre, b.centre, "{what}");
            }
        }
    }
}
