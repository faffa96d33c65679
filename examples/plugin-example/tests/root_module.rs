//! Calls the exported root module the way a host does, without loading the library:
//! the kit's checks and error conversion sit between these calls and the plugin's code.

use qscore_core::{AbiVersion, ErrorKind, ImageView, MemoryMode, PixelFormat, PlaneView, TaskSpec};

#[test]
fn the_root_module_scores_and_the_kit_validates() {
    let root = qscore_plugin_example::qscore_root_module();
    assert_eq!(root.abi(), AbiVersion::CURRENT);
    let info = (root.info())().into_result().unwrap();
    assert_eq!(info.name.as_str(), "example");

    let spec = TaskSpec::new("mae", 2, 1, PixelFormat::GRAY8, MemoryMode::FULL);
    let session = (root.session_open())(0, &spec).into_result().unwrap();
    let (a, b) = ([10u8, 20], [13u8, 20]);
    let (pa, pb) = ([PlaneView::new(&a, 2)], [PlaneView::new(&b, 2)]);
    let reference = ImageView::new(PixelFormat::GRAY8, 2, 1, &pa);
    let distorted = ImageView::new(PixelFormat::GRAY8, 2, 1, &pb);
    let values = (root.session_compare_pair())(session, &reference, &distorted)
        .into_result()
        .unwrap();
    assert_eq!(values[0].name.as_str(), "mae");
    assert_eq!(values[0].value, 1.5);

    // A 1x1 image does not match the 2x1 session: the kit refuses it before `MaeSession` runs.
    let small = ImageView::new(PixelFormat::GRAY8, 1, 1, &pa);
    let error = (root.session_compare_pair())(session, &small, &distorted)
        .into_result()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::INVALID_INPUT);
    // So is a plane shorter than its rows.
    let short = [PlaneView::new(&a[..1], 2)];
    let truncated = ImageView::new(PixelFormat::GRAY8, 2, 1, &short);
    let error = (root.session_prepare())(session, &truncated)
        .into_result()
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::INVALID_INPUT);

    (root.session_close())(session);
}
