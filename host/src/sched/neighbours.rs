//! The reference frames around a video frame, handed to temporal metrics.
//!
//! Frames are scored in parallel and in any order, so a temporal metric cannot keep the
//! previous frame itself: every task carries the neighbouring reference frames it needs.
//! Each task holds its own counted reference (`Arc`) to each of them — nothing is
//! borrowed from another task or consumed by it — so two temporal metrics of one frame,
//! or a frame and its successor, never race for a shared frame, and the values do not
//! depend on how many workers there are or which finishes first.

use std::sync::Arc;

use qscore_core::{Error, ImageView, NamedValue, OwnedImage};

use crate::Session;

/// The reference frames before and after one video frame.
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    /// Previous reference frames, most recent first (fewer at the clip's start).
    pub previous: Vec<Arc<OwnedImage>>,
    /// Following reference frames, nearest first (fewer at the clip's end).
    pub next: Vec<Arc<OwnedImage>>,
}

/// Calls `f` with views of `images`.
fn with_views<R>(images: &[Arc<OwnedImage>], f: impl FnOnce(&[ImageView<'_>]) -> R) -> R {
    let planes: Vec<_> = images.iter().map(|i| i.plane_views()).collect();
    let views: Vec<ImageView<'_>> = images
        .iter()
        .zip(&planes)
        .map(|(image, planes)| ImageView::new(image.format, image.width, image.height, planes))
        .collect();
    f(&views)
}

/// Scores one frame of a temporal metric on `session`, handing it as many neighbours as
/// its plugin declared for `metric` on `device` (previous: `temporal_depth`, following: the
/// look-ahead), never more.
pub(crate) fn compare_frame(
    session: &mut Session,
    device: u32,
    metric: &str,
    reference: &OwnedImage,
    neighbours: &Neighbours,
    distorted: &OwnedImage,
) -> Result<Vec<NamedValue>, Error> {
    let plugin = Arc::clone(session.plugin());
    let depth = plugin
        .metric_caps(device, metric)
        .map_or(0, |c| c.temporal_depth as usize);
    let lookahead = plugin.lookahead(device, metric)? as usize;
    let previous = &neighbours.previous[..depth.min(neighbours.previous.len())];
    let next = &neighbours.next[..lookahead.min(neighbours.next.len())];
    with_views(previous, |previous| {
        with_views(next, |next| {
            reference.with_view(|r| {
                distorted.with_view(|d| session.compare_window(r, previous, next, d))
            })
        })
    })
}
