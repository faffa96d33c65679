//! Property tests (bounded in CI; `PROPTEST_CASES=N` for a long run): Y4M streams and raw
//! YUV files of arbitrary bytes never make the readers panic, and every frame they hand out
//! has the planes its geometry says.

use std::io::Cursor;

use proptest::prelude::*;
use qscore_core::{OwnedImage, PixelFormat};

use super::{
    FrameSource, RawReader, VideoGeometry,
    y4m::{read_frame_header, read_stream_header},
};

/// Bytes that look like a Y4M stream: a header of real and odd tags, frame lines, samples.
fn y4m_bytes() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![
        (0u32..70).prop_map(|w| format!(" W{w}")),
        (0u32..70).prop_map(|h| format!(" H{h}")),
        prop::sample::select(vec![
            " C420",
            " C420jpeg",
            " C422",
            " C444",
            " C420p10",
            " C444p16",
            " Cmono",
            " C411",
            " F25:1",
            " Ip",
            " A1:1",
            " XYSCSS=420JPEG",
            " W",
            " H-1",
            " W99999999999",
            "  ",
        ])
        .prop_map(str::to_owned),
    ];
    let header = prop::collection::vec(tag, 0..6)
        .prop_map(|tags| format!("YUV4MPEG2{}\n", tags.concat()).into_bytes());
    let body = prop::collection::vec(
        prop_oneof![
            Just(b"FRAME\n".to_vec()),
            Just(b"FRAME Ixyz\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..300),
        ],
        0..8,
    );
    (
        prop_oneof![header, prop::collection::vec(any::<u8>(), 0..40)],
        body,
    )
        .prop_map(|(header, body)| [header, body.concat()].concat())
}

fn check_frame(image: &OwnedImage, geometry: VideoGeometry) {
    let planes: Vec<usize> = image.planes.iter().map(Vec::len).collect();
    let expected: Vec<usize> = geometry.plane_bytes().iter().map(|&b| b as usize).collect();
    assert_eq!(planes, expected);
}

proptest! {
    #[test]
    fn y4m_streams_of_any_bytes_are_read_or_refused(bytes in y4m_bytes()) {
        let mut stream = Cursor::new(bytes);
        if let Ok(geometry) = read_stream_header(&mut stream) {
            prop_assert!(geometry.check().is_ok());
            for index in 0..16 {
                match read_frame_header(&mut stream, index) {
                    Ok(true) => {}
                    _ => break,
                }
                match super::source::read_frame(&mut stream, geometry) {
                    Ok(super::source::FrameRead::Frame(image)) => check_frame(&image, geometry),
                    _ => break,
                }
            }
        }
    }

    #[test]
    fn raw_files_of_any_length_are_read_or_refused(
        len in 0usize..5000,
        width in 0u32..40,
        height in 0u32..40,
        sub in 0u32..3,
        bits in prop::sample::select(vec![8u32, 10, 12, 16]),
    ) {
        let path = std::env::temp_dir()
            .join(format!("qscore-fuzz-{}-raw.yuv", std::process::id()));
        std::fs::write(&path, vec![0x5au8; len]).unwrap();
        let geometry = VideoGeometry {
            width,
            height,
            format: PixelFormat(0x1000 | (sub << 8) | bits),
        };
        if let Ok(mut reader) = RawReader::open(&path, geometry) {
            while let Ok(Some(image)) = reader.next_frame() {
                check_frame(&image, geometry);
            }
        }
    }
}
