//! Property test (bounded in CI; `PROPTEST_CASES=N` for a long run): image-view validation
//! on arbitrary formats, sizes, strides and buffer lengths never panics, and what it accepts
//! a plugin can read row by row without going out of bounds.

use proptest::prelude::*;

use crate::{ImageView, PixelFormat, PlaneView};

/// Pixel formats qscore knows, and arbitrary codes it does not.
fn format() -> impl Strategy<Value = PixelFormat> {
    prop_oneof![
        (0u32..8).prop_map(PixelFormat),
        (0u32..3, prop::sample::select(vec![8u32, 9, 10, 12, 16, 17]))
            .prop_map(|(sub, bits)| PixelFormat(0x1000 | (sub << 8) | bits)),
        any::<u32>().prop_map(PixelFormat),
    ]
}

proptest! {
    #[test]
    fn validation_never_panics_and_accepted_views_are_in_bounds(
        format in format(),
        width in prop_oneof![0u32..70, any::<u32>()],
        height in prop_oneof![0u32..70, any::<u32>()],
        planes in prop::collection::vec((0usize..5000, prop_oneof![0usize..300, any::<usize>()]), 0..5),
    ) {
        let buffers: Vec<Vec<u8>> = planes.iter().map(|&(len, _)| vec![0u8; len]).collect();
        let views: Vec<PlaneView<'_>> = buffers
            .iter()
            .zip(&planes)
            .map(|(data, &(_, stride))| PlaneView::new(data, stride))
            .collect();
        let view = ImageView::new(format, width, height, &views);
        if let Ok(info) = view.validate() {
            for (index, plane) in views.iter().enumerate() {
                let g = info.plane(index, width, height);
                let last_row = plane.stride * (g.height - 1);
                prop_assert!(last_row + g.row_bytes() <= plane.data.len());
            }
        }
    }
}
