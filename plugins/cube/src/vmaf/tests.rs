//! The kernels against the CPU plugin's integer sums, on random and structured planes.

use qscore_cpu::vmaf_parts::{self, Luma};

use super::luma::DeviceLuma;
use super::{adm, motion, vif};
use crate::test_runtime::client;

/// A deterministic pseudo-random generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A plane of `bits`-bit samples: a smooth gradient plus noise, as bytes of the CPU's layout.
fn plane(w: usize, h: usize, bits: u32, seed: u64, noise: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let max = (1u64 << bits) - 1;
    let mut out = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let base = ((x * 7 + y * 3) as u64 * max) / (7 * w + 3 * h) as u64;
            let v = (base + rng.next() % (noise + 1)).min(max);
            if bits > 8 {
                out.extend_from_slice(&(v as u16).to_ne_bytes());
            } else {
                out.push(v as u8);
            }
        }
    }
    out
}

fn up(luma: &Luma<'_>) -> DeviceLuma {
    DeviceLuma::upload(&client(), luma)
}

fn luma(data: &[u8], w: usize, h: usize, bits: u32) -> Luma<'_> {
    let stride = if bits > 8 { 2 * w } else { w };
    Luma {
        data,
        stride,
        width: w,
        height: h,
        bits,
    }
}

#[test]
fn vif_sums_equal_the_cpu_plugins() {
    let client = client();
    let tables = vif::VifTables::new(&client);
    // Odd and minimal sizes, every depth class, noise from none to the full range.
    let cases = [
        (64, 48, 8, 20),
        (37, 29, 8, 255),
        (50, 33, 10, 40),
        (41, 17, 12, 4000),
        (33, 40, 16, 9000),
        (16, 16, 8, 3),
        (23, 19, 8, 0),
    ];
    for (i, &(w, h, bits, noise)) in cases.iter().enumerate() {
        let r = plane(w, h, bits, 11 + i as u64, noise);
        let d = plane(w, h, bits, 97 + i as u64, noise / 2 + 1);
        for limit in [100.0, 1.0] {
            let (rl, dl) = (luma(&r, w, h, bits), luma(&d, w, h, bits));
            let expected = vmaf_parts::vif_sums(&rl, &dl, limit).unwrap();
            let prepared = vif::prepare(&client, &tables, &up(&rl)).unwrap();
            let got = vif::sums(&client, &tables, &prepared, &up(&dl), limit).unwrap();
            assert_eq!(got, expected, "{w}x{h} {bits}-bit, limit {limit}");
            assert_ne!(expected.num[0].log, 0, "{w}x{h}: the log branch ran");
        }
    }
}

/// Samples above the declared depth (a 10-bit plane with 16-bit values) are narrowed exactly
/// where the CPU narrows them.
#[test]
fn vif_narrows_out_of_range_samples_as_the_cpu_does() {
    let client = client();
    let tables = vif::VifTables::new(&client);
    let (w, h) = (40, 36);
    let r = plane(w, h, 16, 5, 30000);
    let d = plane(w, h, 16, 6, 20000);
    let (rl, dl) = (luma(&r, w, h, 10), luma(&d, w, h, 10));
    let expected = vmaf_parts::vif_sums(&rl, &dl, 100.0).unwrap();
    let prepared = vif::prepare(&client, &tables, &up(&rl)).unwrap();
    assert_eq!(
        vif::sums(&client, &tables, &prepared, &up(&dl), 100.0).unwrap(),
        expected
    );
}

/// The Netflix sample pair (576×324, 10-bit), every frame's luma.
#[test]
fn vif_sums_equal_the_cpu_plugins_on_the_sample_clip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/video");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("the sample clip");
    let reference = read("src01_hrc00_576x324.yuv420p10le.yuv");
    let distorted = read("src01_hrc01_576x324.yuv420p10le.yuv");
    let (w, h) = (576, 324);
    let frame = w * h * 3; // 4:2:0 at 2 bytes a sample
    let luma_bytes = w * h * 2;
    let client = client();
    let tables = vif::VifTables::new(&client);
    for (r, d) in reference
        .chunks_exact(frame)
        .zip(distorted.chunks_exact(frame))
    {
        let (rl, dl) = (
            luma(&r[..luma_bytes], w, h, 10),
            luma(&d[..luma_bytes], w, h, 10),
        );
        let expected = vmaf_parts::vif_sums(&rl, &dl, 100.0).unwrap();
        let prepared = vif::prepare(&client, &tables, &up(&rl)).unwrap();
        assert_eq!(
            vif::sums(&client, &tables, &prepared, &up(&dl), 100.0).unwrap(),
            expected
        );
    }
}

/// Two planes' bytes, their width, height and depth.
type Pair = (Vec<u8>, Vec<u8>, usize, usize, u32);

/// Blurred frames, 2.3.1's SAD and 3.2.0's filtered-difference SAD against the CPU's, on the
/// sample clip's consecutive frames and on random planes of every depth and odd sizes.
#[test]
fn motion_equals_the_cpu_plugins() {
    let client = client();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/video");
    let clip = std::fs::read(dir.join("src01_hrc00_576x324.yuv420p10le.yuv")).unwrap();
    let (w, h) = (576, 324);
    let frames: Vec<&[u8]> = clip
        .chunks_exact(w * h * 3)
        .map(|f| &f[..w * h * 2])
        .collect();
    let mut pairs: Vec<Pair> = frames
        .windows(2)
        .map(|p| (p[0].to_vec(), p[1].to_vec(), w, h, 10))
        .collect();
    for (i, &(w, h, bits, noise)) in [
        (37, 29, 8, 255),
        (3, 3, 8, 9),
        (50, 33, 12, 4000),
        (21, 40, 16, 65535),
        (40, 5, 10, 1023),
    ]
    .iter()
    .enumerate()
    {
        pairs.push((
            plane(w, h, bits, 3 + i as u64, noise),
            plane(w, h, bits, 50 + i as u64, noise),
            w,
            h,
            bits,
        ));
    }
    for (a, b, w, h, bits) in &pairs {
        let (la, lb) = (luma(a, *w, *h, *bits), luma(b, *w, *h, *bits));
        let (da, db) = (up(&la), up(&lb));
        let (ba, bb) = (motion::blur(&client, &da), motion::blur(&client, &db));
        assert_eq!(
            ba.read(&client),
            vmaf_parts::motion_blur(&la).unwrap(),
            "{w}x{h} {bits}-bit blur"
        );
        let cpu_a = vmaf_parts::motion_blur(&la).unwrap();
        let cpu_b = vmaf_parts::motion_blur(&lb).unwrap();
        let cpu_sad: u64 = cpu_a
            .iter()
            .zip(&cpu_b)
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum();
        assert_eq!(
            motion::blurred_sad(&client, &ba, &bb).unwrap(),
            cpu_sad,
            "{w}x{h} {bits}-bit"
        );
        assert_ne!(cpu_sad, 0);
        let v3 = vmaf_parts::motion_v3_sad(&la, &lb).unwrap();
        assert_eq!(
            motion::difference_sad(&client, &da, &db).unwrap(),
            v3,
            "{w}x{h} {bits}-bit v3"
        );
        assert_eq!(
            motion::difference_sad(&client, &db, &da).unwrap(),
            vmaf_parts::motion_v3_sad(&lb, &la).unwrap()
        );
    }
}

/// ADM's sums against the CPU's: odd sizes down to the minimum, every depth class, both
/// whole gain limits and a fractional one, another viewing geometry, and the sample clip.
#[test]
fn adm_sums_equal_the_cpu_plugins() {
    use qscore_cpu::vmaf_parts::adm::{self as cpu, AdmOptions};
    let client = client();
    let tables = adm::AdmTables::new(&client);
    let mut pairs: Vec<Pair> = Vec::new();
    for (i, &(w, h, bits, noise)) in [
        (64, 48, 8, 40),
        (37, 35, 8, 255),
        (33, 33, 8, 3),
        (50, 41, 10, 300),
        (45, 34, 12, 4000),
        (33, 40, 16, 65535),
    ]
    .iter()
    .enumerate()
    {
        let r = plane(w, h, bits, 7 + i as u64, noise);
        let d = plane(w, h, bits, 70 + i as u64, noise / 3 + 1);
        pairs.push((r, d, w, h, bits));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/video");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("the sample clip");
    let (w, h) = (576, 324);
    let r = read("src01_hrc00_576x324.yuv420p10le.yuv");
    let d = read("src01_hrc01_576x324.yuv420p10le.yuv");
    pairs.push((r[..w * h * 2].to_vec(), d[..w * h * 2].to_vec(), w, h, 10));
    let geometries = [
        AdmOptions::default(),
        AdmOptions {
            norm_view_dist: 4.5,
            ref_display_height: 1440,
            ..AdmOptions::default()
        },
    ];
    for (r, d, w, h, bits) in &pairs {
        let (rl, dl) = (luma(r, *w, *h, *bits), luma(d, *w, *h, *bits));
        let (rd, dd) = (up(&rl), up(&dl));
        for geometry in &geometries {
            let prepared = adm::prepare(&client, &rd, geometry).unwrap();
            for gain in [100.0, 1.0, 1.5] {
                let options = AdmOptions {
                    enhn_gain_limit: gain,
                    ..*geometry
                };
                let expected = cpu::sums(&rl, &dl, &options).unwrap();
                let got = adm::sums(&client, &tables, &prepared, &dd, gain).unwrap();
                assert_eq!(
                    got, expected,
                    "{w}x{h} {bits}-bit, gain {gain}, {geometry:?}"
                );
                assert!(
                    expected.num.iter().all(|s| s.iter().any(|&v| v != 0)),
                    "{w}x{h}: every scale scored"
                );
            }
        }
    }
}

/// A 4:2:0 8-bit frame whose luma is `luma`.
fn yuv_frame(luma: Vec<u8>, w: usize, h: usize) -> qscore_core::OwnedImage {
    use qscore_core::{ChromaSubsampling, OwnedImage, PixelFormat};
    let chroma = w.div_ceil(2) * h.div_ceil(2);
    OwnedImage {
        format: PixelFormat::yuv(ChromaSubsampling::Yuv420, 8),
        width: w as u32,
        height: h as u32,
        planes: vec![luma, vec![128; chroma], vec![128; chroma]],
    }
}

/// Peak device bytes of a session of `metric` scoring one frame as the host drives it (the
/// reference prepared with its neighbours, then compared), measured with the meter, less
/// the tables uploaded when the session opens.
fn measured_peak(metric: &str, w: usize, h: usize) -> u64 {
    use qscore_core::{ChromaSubsampling, MemoryMode, PixelFormat, TaskSpec};
    let client = client();
    let format = PixelFormat::yuv(ChromaSubsampling::Yuv420, 8);
    let spec = TaskSpec::new(metric, w as u32, h as u32, format, MemoryMode::FULL);
    let engine = super::engine::DeviceEngine::new(client.clone());
    let mut session = vmaf_parts::open_session(engine, &spec).unwrap();
    let frames: Vec<_> = (0..4)
        .map(|i| yuv_frame(plane(w, h, 8, 31 + i, 60), w, h))
        .collect();
    let base = crate::meter::start(&client);
    frames[0].with_view(|previous| {
        frames[1].with_view(|reference| {
            frames[2].with_view(|next| {
                frames[3].with_view(|distorted| {
                    let (p, n) = (std::slice::from_ref(previous), std::slice::from_ref(next));
                    if matches!(metric, "vif" | "adm") {
                        let prepared = session.prepare_any(reference).unwrap();
                        session.compare_any(prepared.as_ref(), distorted).unwrap();
                    } else if metric == "vmaf" {
                        let prepared = session.prepare_window_any(reference, p, n).unwrap();
                        session.compare_any(prepared.as_ref(), distorted).unwrap();
                    } else {
                        session
                            .compare_window_any(reference, p, n, distorted)
                            .unwrap();
                    }
                })
            })
        })
    });
    crate::meter::peak() - base
}

/// The predictions cover the measured peaks, by at most 15% more, on sizes the fit was not
/// made from.
#[test]
fn memory_predictions_cover_the_measured_peaks() {
    for (w, h) in [(176, 144), (333, 217), (640, 360)] {
        for metric in ["motion", "motion2", "vif", "adm", "vmaf"] {
            let peak = measured_peak(metric, w, h);
            let predicted = super::memory::predict(metric, w, h) - super::memory::TABLES;
            let per = |b: u64| b as f64 / (w * h) as f64;
            println!(
                "{metric} {w}x{h}: {:.2} B/sample measured, {:.2} predicted",
                per(peak),
                per(predicted)
            );
            assert!(predicted >= peak, "{metric} {w}x{h}: {predicted} < {peak}");
            assert!(
                predicted as f64 <= 1.15 * peak as f64,
                "{metric} {w}x{h}: {predicted} > 1.15 × {peak}"
            );
        }
    }
}
