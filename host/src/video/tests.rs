//! Tests of the video readers on small synthetic files with known samples.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use qscore_core::{ChromaSubsampling, OwnedImage, PixelFormat};

use super::{FrameSource, RawReader, VideoGeometry, Y4mReader, is_video_path, open_video};
use crate::InputError;

use ChromaSubsampling::{Yuv420, Yuv422, Yuv444};

/// A file (or directory) in the temp dir, removed on drop.
struct Temp(PathBuf);

impl Temp {
    fn path_for(name: &str) -> PathBuf {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        std::env::temp_dir().join(format!("qscore-video-{}-{n}-{name}", std::process::id()))
    }

    fn file(name: &str, bytes: &[u8]) -> Self {
        let path = Self::path_for(name);
        std::fs::write(&path, bytes).unwrap();
        Self(path)
    }

    fn dir(name: &str) -> Self {
        let path = Self::path_for(name);
        std::fs::create_dir(&path).unwrap();
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::remove_dir(&self.0);
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Asserts that `err` is about `path`, says `needle`, and shows the path when printed.
#[track_caller]
fn assert_input_error(err: &InputError, path: &Path, needle: &str) {
    assert_eq!(err.path, path, "{err}");
    assert!(err.reason.contains(needle), "{needle:?} not in {err}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

/// Samples of one synthetic frame: each plane's values, with sizes given by the test.
struct Frame {
    planes: Vec<Vec<u16>>,
}

impl Frame {
    /// Distinct values per plane and frame, below `1 << bits`; with both bytes differing
    /// for samples wider than 8 bits, so a byte-order mistake shows.
    fn new(sizes: [(usize, usize); 3], bits: u32, seed: u32) -> Self {
        let planes = sizes
            .iter()
            .enumerate()
            .map(|(p, &(w, h))| {
                (0..w * h)
                    .map(|i| {
                        ((seed * 1009 + p as u32 * 311 + i as u32 * 37 + 258) % (1 << bits)) as u16
                    })
                    .collect()
            })
            .collect();
        Self { planes }
    }

    /// The frame as stored in a file: planes in order, wide samples little-endian.
    fn bytes(&self, bits: u32) -> Vec<u8> {
        self.planes
            .iter()
            .flatten()
            .flat_map(|&v| {
                if bits > 8 {
                    v.to_le_bytes().to_vec()
                } else {
                    vec![u8::try_from(v).unwrap()]
                }
            })
            .collect()
    }

    /// Asserts that `image` holds exactly these samples (wide ones native-endian).
    #[track_caller]
    fn assert_decoded(&self, image: &OwnedImage, bits: u32) {
        assert_eq!(image.planes.len(), 3);
        for (p, (plane, expected)) in image.planes.iter().zip(&self.planes).enumerate() {
            let values: Vec<u16> = if bits > 8 {
                assert_eq!(plane.len(), expected.len() * 2, "plane {p} bytes");
                plane
                    .chunks_exact(2)
                    .map(|w| u16::from_ne_bytes([w[0], w[1]]))
                    .collect()
            } else {
                plane.iter().map(|&b| u16::from(b)).collect()
            };
            assert_eq!(&values, expected, "plane {p}");
        }
    }
}

fn geometry(width: u32, height: u32, subsampling: ChromaSubsampling, bits: u32) -> VideoGeometry {
    VideoGeometry {
        width,
        height,
        format: PixelFormat::yuv(subsampling, bits),
    }
}

/// Plane sizes of a 5x3 frame, worked out by hand.
fn sizes_5x3(subsampling: ChromaSubsampling) -> [(usize, usize); 3] {
    let chroma = match subsampling {
        Yuv420 => (3, 2),
        Yuv422 => (3, 3),
        Yuv444 => (5, 3),
    };
    [(5, 3), chroma, chroma]
}

#[test]
fn raw_reads_odd_4_2_0_8bit_frames_then_ends() {
    let frames: Vec<Frame> = (0..2)
        .map(|s| Frame::new(sizes_5x3(Yuv420), 8, s))
        .collect();
    let bytes: Vec<u8> = frames.iter().flat_map(|f| f.bytes(8)).collect();
    assert_eq!(bytes.len(), 2 * (15 + 6 + 6));
    let file = Temp::file("odd420.yuv", &bytes);
    let mut reader = RawReader::open(file.path(), geometry(5, 3, Yuv420, 8)).unwrap();
    assert_eq!(reader.frame_count(), Some(2));
    assert_eq!(reader.geometry(), geometry(5, 3, Yuv420, 8));
    for frame in &frames {
        let image = reader.next_frame().unwrap().expect("a frame");
        assert_eq!((image.width, image.height), (5, 3));
        assert_eq!(image.format, PixelFormat::yuv(Yuv420, 8));
        frame.assert_decoded(&image, 8);
    }
    assert!(reader.next_frame().unwrap().is_none());
    assert!(reader.next_frame().unwrap().is_none());
}

#[test]
fn raw_converts_little_endian_10bit_samples_to_native() {
    // Hand-written samples, stored little-endian: 0x3ff, 0x102, 0x201, 1, 0x300, …
    let y: Vec<u16> = vec![
        0x3ff, 0x102, 0x201, 1, 0x300, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x2aa,
    ];
    let u: Vec<u16> = vec![0x155, 0x100, 0x0ff, 0x001, 0x3fe, 0x200];
    let v: Vec<u16> = vec![0x010, 0x020, 0x030, 0x040, 0x050, 0x360];
    let mut bytes = Vec::new();
    for sample in y.iter().chain(&u).chain(&v) {
        bytes.push((sample & 0xff) as u8);
        bytes.push((sample >> 8) as u8);
    }
    assert_eq!(&bytes[..4], &[0xff, 0x03, 0x02, 0x01]);
    let file = Temp::file("le10.yuv", &bytes);
    let mut reader = RawReader::open(file.path(), geometry(5, 3, Yuv420, 10)).unwrap();
    assert_eq!(reader.frame_count(), Some(1));
    let image = reader.next_frame().unwrap().unwrap();
    let native = |plane: &[u8]| -> Vec<u16> {
        plane
            .chunks_exact(2)
            .map(|w| u16::from_ne_bytes([w[0], w[1]]))
            .collect()
    };
    assert_eq!(native(&image.planes[0]), y);
    assert_eq!(native(&image.planes[1]), u);
    assert_eq!(native(&image.planes[2]), v);
    assert!(reader.next_frame().unwrap().is_none());
}

#[test]
fn raw_reads_every_subsampling_and_depth() {
    for subsampling in [Yuv420, Yuv422, Yuv444] {
        for bits in [8, 10, 12, 16] {
            let sizes = sizes_5x3(subsampling);
            let frames: Vec<Frame> = (0..3).map(|s| Frame::new(sizes, bits, s)).collect();
            let bytes: Vec<u8> = frames.iter().flat_map(|f| f.bytes(bits)).collect();
            let file = Temp::file("any.yuv", &bytes);
            let g = geometry(5, 3, subsampling, bits);
            let per_frame: usize =
                sizes.iter().map(|(w, h)| w * h).sum::<usize>() * if bits > 8 { 2 } else { 1 };
            assert_eq!(g.frame_bytes(), per_frame as u64, "{g}");
            let mut reader = RawReader::open(file.path(), g).unwrap();
            assert_eq!(reader.frame_count(), Some(3), "{g}");
            for frame in &frames {
                frame.assert_decoded(&reader.next_frame().unwrap().unwrap(), bits);
            }
            assert!(reader.next_frame().unwrap().is_none(), "{g}");
        }
    }
}

#[test]
fn raw_open_errors_name_the_file() {
    let g = VideoGeometry::parse("576x324", "yuv420p10le").unwrap();

    let missing = Temp::path_for("missing.yuv");
    assert_input_error(&RawReader::open(&missing, g).unwrap_err(), &missing, "");

    let dir = Temp::dir("dir.yuv");
    assert_input_error(
        &RawReader::open(dir.path(), g).unwrap_err(),
        dir.path(),
        "is a directory",
    );

    let empty = Temp::file("empty.yuv", &[]);
    assert_input_error(
        &RawReader::open(empty.path(), g).unwrap_err(),
        empty.path(),
        "is empty",
    );

    let odd = Temp::file("odd.yuv", &[0; 1000]);
    let err = RawReader::open(odd.path(), g).unwrap_err();
    assert_eq!(
        err.reason,
        "is 1000 bytes, not a whole number of 576x324 yuv420p10le frames (559872 bytes each)"
    );
    assert_input_error(&err, odd.path(), "1000 bytes");

    let one_and_a_bit = Temp::file("more.yuv", &[0; 28]);
    assert_input_error(
        &RawReader::open(one_and_a_bit.path(), geometry(5, 3, Yuv420, 8)).unwrap_err(),
        one_and_a_bit.path(),
        "is 28 bytes, not a whole number of 5x3 yuv420p frames (27 bytes each)",
    );

    let any = Temp::file("rgb.yuv", &[0; 12]);
    let rgb = VideoGeometry {
        width: 2,
        height: 2,
        format: PixelFormat::RGB8,
    };
    assert_input_error(
        &RawReader::open(any.path(), rgb).unwrap_err(),
        any.path(),
        "planar YUV",
    );
    assert_input_error(
        &RawReader::open(any.path(), geometry(0, 2, Yuv444, 8)).unwrap_err(),
        any.path(),
        "at least 1",
    );
}

#[test]
fn raw_reports_a_frame_truncated_after_opening() {
    let frames: Vec<Frame> = (0..2)
        .map(|s| Frame::new(sizes_5x3(Yuv420), 10, s))
        .collect();
    let bytes: Vec<u8> = frames.iter().flat_map(|f| f.bytes(10)).collect();
    let file = Temp::file("shrinks.yuv", &bytes);
    let mut reader = RawReader::open(file.path(), geometry(5, 3, Yuv420, 10)).unwrap();
    assert_eq!(reader.frame_count(), Some(2));
    // The file shrinks under the reader: 54 bytes per frame, 20 of the second left.
    std::fs::File::options()
        .write(true)
        .open(file.path())
        .unwrap()
        .set_len(54 + 20)
        .unwrap();
    frames[0].assert_decoded(&reader.next_frame().unwrap().unwrap(), 10);
    let err = reader.next_frame().unwrap_err();
    assert_eq!(err.reason, "frame 1 is truncated (20 of 54 bytes)");
    assert_input_error(&err, file.path(), "truncated");
}

#[test]
fn geometry_parses_size_and_pixel_format() {
    let g = VideoGeometry::parse("576x324", "yuv420p10le").unwrap();
    assert_eq!(g, geometry(576, 324, Yuv420, 10));
    assert_eq!(g.frame_bytes(), 576 * 324 * 2 + 2 * (288 * 162 * 2));
    assert_eq!(g.frame_bytes(), 559_872);
    assert_eq!(
        VideoGeometry::parse("1920x1080", "yuv444p").unwrap(),
        geometry(1920, 1080, Yuv444, 8)
    );
    assert_eq!(
        VideoGeometry::parse("5x3", "yuv422p12le")
            .unwrap()
            .frame_bytes(),
        (15 + 2 * 9) * 2
    );
    for (size, fmt, needle) in [
        ("576", "yuv420p", "576"),
        ("576x", "yuv420p", "576x"),
        ("ax324", "yuv420p", "ax324"),
        ("-1x3", "yuv420p", "-1x3"),
        ("0x324", "yuv420p", "at least 1"),
        ("576x324", "rgb8", "rgb8"),
        ("576x324", "yuv411p", "yuv411p"),
        ("576x324", "yuv420p10be", "yuv420p10be"),
        ("100000x10", "yuv420p", "100000x10"),
    ] {
        let err = VideoGeometry::parse(size, fmt).unwrap_err();
        assert!(err.contains(needle), "{size} {fmt}: {err}");
    }
}

/// A Y4M stream: `header` (without newline), then each frame after `FRAME\n`.
fn y4m(header: &str, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = format!("{header}\n").into_bytes();
    for frame in frames {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend_from_slice(frame);
    }
    bytes
}

#[test]
fn y4m_reads_frames_with_parameters_then_ends() {
    let sizes = sizes_5x3(Yuv420);
    let frames: Vec<Frame> = (0..3).map(|s| Frame::new(sizes, 10, s)).collect();
    let mut bytes = b"YUV4MPEG2 W5 H3 F25:1 Ip A1:1 C420p10 XYSCSS=420P10\n".to_vec();
    for (i, frame) in frames.iter().enumerate() {
        // Frame parameters are allowed and ignored.
        let header = if i == 1 {
            "FRAME Ib XFOO=1\n"
        } else {
            "FRAME\n"
        };
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&frame.bytes(10));
    }
    let file = Temp::file("small.y4m", &bytes);
    let mut reader = Y4mReader::open(file.path()).unwrap();
    assert_eq!(reader.geometry(), geometry(5, 3, Yuv420, 10));
    assert_eq!(reader.frame_count(), None);
    for frame in &frames {
        let image = reader.next_frame().unwrap().unwrap();
        assert_eq!(
            (image.width, image.height, image.format),
            (5, 3, PixelFormat::yuv(Yuv420, 10))
        );
        frame.assert_decoded(&image, 10);
    }
    assert!(reader.next_frame().unwrap().is_none());
    assert!(reader.next_frame().unwrap().is_none());
}

#[test]
fn y4m_colour_spaces_give_their_formats() {
    let cases: [(&str, ChromaSubsampling, u32); 16] = [
        ("", Yuv420, 8),
        (" C420", Yuv420, 8),
        (" C420jpeg", Yuv420, 8),
        (" C420paldv", Yuv420, 8),
        (" C420mpeg2", Yuv420, 8),
        (" C422", Yuv422, 8),
        (" C444", Yuv444, 8),
        (" C420p10", Yuv420, 10),
        (" C422p10", Yuv422, 10),
        (" C444p10", Yuv444, 10),
        (" C420p12", Yuv420, 12),
        (" C422p12", Yuv422, 12),
        (" C444p12", Yuv444, 12),
        (" C420p16", Yuv420, 16),
        (" C422p16", Yuv422, 16),
        (" C444p16", Yuv444, 16),
    ];
    for (tag, subsampling, bits) in cases {
        let sizes = sizes_5x3(subsampling);
        let frame = Frame::new(sizes, bits, 7);
        // Unknown tags, interlacing and odd spacing are accepted.
        let header = format!("YUV4MPEG2 W5  H3 F30000:1001 It A0:0{tag} XCOLORRANGE=FULL Zwhat");
        let file = Temp::file("cs.y4m", &y4m(&header, &[frame.bytes(bits)]));
        let mut reader = Y4mReader::open(file.path()).unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(
            reader.geometry(),
            geometry(5, 3, subsampling, bits),
            "{tag}"
        );
        frame.assert_decoded(&reader.next_frame().unwrap().unwrap(), bits);
        assert!(reader.next_frame().unwrap().is_none(), "{tag}");
    }
}

#[test]
fn y4m_unsupported_colour_spaces_are_named() {
    for tag in ["Cmono", "C411", "Cmono12", "C420p9", "C"] {
        let file = Temp::file("cs.y4m", &y4m(&format!("YUV4MPEG2 W5 H3 {tag}"), &[]));
        let err = Y4mReader::open(file.path()).unwrap_err();
        assert_input_error(
            &err,
            file.path(),
            &format!("colour space {tag} is not supported"),
        );
    }
}

#[test]
fn y4m_header_errors_name_the_file() {
    let long = format!("YUV4MPEG2 W5 H3 X{}", "a".repeat(2000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"P5\n5 3\n255\n".to_vec(), "not a YUV4MPEG2 stream"),
        (b"YUV4MPEG W5 H3\n".to_vec(), "not a YUV4MPEG2 stream"),
        (b"YUV4MPEG2X W5 H3\n".to_vec(), "not a YUV4MPEG2 stream"),
        (b"YUV4".to_vec(), "not a YUV4MPEG2 stream"),
        (b"YUV4MPEG2 H3 C420\n".to_vec(), "no width (W tag)"),
        (b"YUV4MPEG2 W5 C420\n".to_vec(), "no height (H tag)"),
        (b"YUV4MPEG2\n".to_vec(), "no width"),
        (b"YUV4MPEG2 Wabc H3\n".to_vec(), "bad width: \"Wabc\""),
        (b"YUV4MPEG2 W0 H3\n".to_vec(), "bad width: \"W0\""),
        (b"YUV4MPEG2 W5 H-3\n".to_vec(), "bad height: \"H-3\""),
        (b"YUV4MPEG2 W5 H\n".to_vec(), "bad height"),
        (b"YUV4MPEG2 W99999999999 H3\n".to_vec(), "bad width"),
        (b"YUV4MPEG2 W100000 H3\n".to_vec(), "larger than"),
        (long.into_bytes(), "longer than 1024 bytes"),
        (b"YUV4MPEG2 W5 H3".to_vec(), "ends before its newline"),
    ];
    for (bytes, needle) in cases {
        let file = Temp::file("bad.y4m", &bytes);
        let err = Y4mReader::open(file.path()).unwrap_err();
        assert_input_error(&err, file.path(), needle);
    }

    let empty = Temp::file("empty.y4m", &[]);
    assert_input_error(
        &Y4mReader::open(empty.path()).unwrap_err(),
        empty.path(),
        "is empty",
    );
    let dir = Temp::dir("dir.y4m");
    assert_input_error(
        &Y4mReader::open(dir.path()).unwrap_err(),
        dir.path(),
        "is a directory",
    );
    let missing = Temp::path_for("missing.y4m");
    assert_input_error(&Y4mReader::open(&missing).unwrap_err(), &missing, "");
}

#[test]
fn y4m_frame_errors_name_the_file_and_frame() {
    let frame = Frame::new(sizes_5x3(Yuv420), 8, 1).bytes(8);
    let header = "YUV4MPEG2 W5 H3 C420jpeg";
    let whole = y4m(header, std::slice::from_ref(&frame));
    let with = |tail: &[u8]| [whole.as_slice(), tail].concat();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            with(b"FRAMX\n"),
            "frame 1: expected a FRAME header, found \"FRAMX\\n\"",
        ),
        (with(b"FRAMES\n"), "frame 1: expected a FRAME header"),
        (with(b"\n"), "frame 1: expected a FRAME header"),
        (with(&frame), "frame 1: expected a FRAME header"),
        (with(b"FRAME"), "frame 1: FRAME header is truncated"),
        (with(b"FRAME Ip"), "frame 1: FRAME header is truncated"),
        (
            with(format!("FRAME X{}\n", "b".repeat(1100)).as_bytes()),
            "frame 1: FRAME header is longer than 1024 bytes",
        ),
        (with(b"FRAME\n"), "frame 1 is truncated (0 of 27 bytes)"),
        (
            with(b"FRAME\n\x01\x02\x03\x04\x05\x06\x07"),
            "frame 1 is truncated (7 of 27 bytes)",
        ),
        (
            with(&[b"FRAME\n".as_slice(), &frame[..26]].concat()),
            "frame 1 is truncated (26 of 27 bytes)",
        ),
        (
            y4m(header, &[frame[..3].to_vec()]),
            "frame 0 is truncated (3 of 27 bytes)",
        ),
    ];
    for (bytes, needle) in cases {
        let file = Temp::file("badframe.y4m", &bytes);
        let mut reader = Y4mReader::open(file.path()).unwrap();
        if !needle.starts_with("frame 0") {
            let image = reader.next_frame().unwrap().unwrap();
            assert_eq!(image.planes.concat(), frame);
        }
        let err = reader.next_frame().unwrap_err();
        assert_input_error(&err, file.path(), needle);
        assert!(
            reader.next_frame().unwrap().is_none(),
            "{needle}: ends after an error"
        );
    }
}

#[test]
fn open_video_picks_the_reader_and_checks_geometry() {
    let sizes = sizes_5x3(Yuv422);
    let frame = Frame::new(sizes, 12, 3);
    let g = geometry(5, 3, Yuv422, 12);

    let stream = Temp::file(
        "clip.Y4M",
        &y4m("YUV4MPEG2 W5 H3 C422p12", &[frame.bytes(12)]),
    );
    for given in [None, Some(g)] {
        let mut source = open_video(stream.path(), given).unwrap();
        assert_eq!(source.geometry(), g);
        assert_eq!(source.frame_count(), None);
        frame.assert_decoded(&source.next_frame().unwrap().unwrap(), 12);
    }
    let other = geometry(5, 3, Yuv420, 12);
    let err = open_video(stream.path(), Some(other)).unwrap_err();
    assert_input_error(&err, stream.path(), "is 5x3 yuv422p12le");
    assert!(err.reason.contains("5x3 yuv420p12le was given"), "{err}");

    let raw = Temp::file("clip.yuv", &frame.bytes(12));
    let err = open_video(raw.path(), None).unwrap_err();
    assert_input_error(&err, raw.path(), "size and pixel format must be given");
    let mut source = open_video(raw.path(), Some(g)).unwrap();
    assert_eq!((source.geometry(), source.frame_count()), (g, Some(1)));
    frame.assert_decoded(&source.next_frame().unwrap().unwrap(), 12);
    assert!(source.next_frame().unwrap().is_none());

    // Not `.y4m`: raw, even with no extension.
    let bare = Temp::file("clip", &frame.bytes(12));
    assert_eq!(
        open_video(bare.path(), Some(g)).unwrap().frame_count(),
        Some(1)
    );
}

#[test]
fn video_paths_are_known_by_extension() {
    for yes in ["a.y4m", "dir/b.yuv", "C.Y4M", "d.YuV", "/x/e.f.yuv"] {
        assert!(is_video_path(Path::new(yes)), "{yes}");
    }
    for no in ["a.png", "y4m", "a.yuv.png", "a", "a.y4m.bak", ".yuv"] {
        assert!(!is_video_path(Path::new(no)), "{no}");
    }
}

#[test]
fn y4m_and_raw_readers_agree_on_the_real_clip() {
    let clip = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data/video/src01_hrc00_576x324.yuv420p10le.yuv");
    let raw_bytes = std::fs::read(&clip).unwrap();
    let g = VideoGeometry::parse("576x324", "yuv420p10le").unwrap();
    let frame_bytes = usize::try_from(g.frame_bytes()).unwrap();
    assert_eq!(raw_bytes.len(), 3 * frame_bytes);
    let frames: Vec<Vec<u8>> = raw_bytes.chunks(frame_bytes).map(<[u8]>::to_vec).collect();
    let stream = Temp::file(
        "clip.y4m",
        &y4m(
            "YUV4MPEG2 W576 H324 F25:1 Ip A1:1 C420p10 XYSCSS=420P10",
            &frames,
        ),
    );

    let mut raw = open_video(&clip, Some(g)).unwrap();
    let mut y4m = open_video(stream.path(), None).unwrap();
    assert_eq!(y4m.geometry(), g);
    assert_eq!(raw.frame_count(), Some(3));
    for index in 0..3 {
        let from_raw = raw.next_frame().unwrap().unwrap();
        let from_y4m = y4m.next_frame().unwrap().unwrap();
        assert_eq!(from_raw, from_y4m, "frame {index}");
        assert_eq!(
            from_raw.planes.iter().map(Vec::len).collect::<Vec<_>>(),
            [576 * 324 * 2, 288 * 162 * 2, 288 * 162 * 2]
        );
        // The first luma sample, read by hand from the file's little-endian bytes.
        let at = index * frame_bytes;
        let first = u16::from_le_bytes([raw_bytes[at], raw_bytes[at + 1]]);
        let decoded = u16::from_ne_bytes([from_raw.planes[0][0], from_raw.planes[0][1]]);
        assert_eq!(decoded, first);
        assert!(first < 1024);
    }
    assert!(raw.next_frame().unwrap().is_none());
    assert!(y4m.next_frame().unwrap().is_none());
}
