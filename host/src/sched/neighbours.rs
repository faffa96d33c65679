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
use xxhash_rust::xxh3::Xxh3;

use super::Reference;
use crate::{PreparedRef, Session};

/// The reference frames before and after one video frame.
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    /// Previous reference frames, most recent first (fewer at the clip's start).
    pub previous: Vec<Arc<OwnedImage>>,
    /// Following reference frames, nearest first (fewer at the clip's end).
    pub next: Vec<Arc<OwnedImage>>,
    /// The content of both lists (their frames' [`Reference::key`]s, in order, and how many
    /// of each), so that a frame prepared with these neighbours is found again.
    pub key: u64,
}

impl Neighbours {
    /// Neighbours from hashed reference frames.
    pub fn new(previous: &[&Reference], next: &[&Reference]) -> Self {
        let mut hasher = Xxh3::new();
        for list in [previous, next] {
            hasher.update(&(list.len() as u64).to_le_bytes());
            for frame in list {
                hasher.update(&frame.key.to_le_bytes());
            }
        }
        let images = |list: &[&Reference]| list.iter().map(|f| Arc::clone(&f.image)).collect();
        Self {
            previous: images(previous),
            next: images(next),
            key: hasher.digest(),
        }
    }

    /// The key of `reference` prepared with these neighbours.
    pub fn window_key(&self, reference: &Reference) -> u64 {
        let mut hasher = Xxh3::new();
        hasher.update(&reference.key.to_le_bytes());
        hasher.update(&self.key.to_le_bytes());
        hasher.digest()
    }
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

/// Reference frames handed to a session.
type Frames<'a> = &'a [Arc<OwnedImage>];

/// The neighbours `metric` takes on `device`: as many previous frames as its
/// `temporal_depth` and following ones as its look-ahead, never more.
fn taken<'a>(
    session: &Session,
    device: u32,
    metric: &str,
    neighbours: &'a Neighbours,
) -> Result<(Frames<'a>, Frames<'a>), Error> {
    let plugin = session.plugin();
    let depth = plugin
        .metric_caps(device, metric)
        .map_or(0, |c| c.temporal_depth as usize);
    let lookahead = plugin.lookahead(device, metric)? as usize;
    Ok((
        &neighbours.previous[..depth.min(neighbours.previous.len())],
        &neighbours.next[..lookahead.min(neighbours.next.len())],
    ))
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
    let (previous, next) = taken(session, device, metric, neighbours)?;
    with_views(previous, |previous| {
        with_views(next, |next| {
            reference.with_view(|r| {
                distorted.with_view(|d| session.compare_window(r, previous, next, d))
            })
        })
    })
}

/// Prepares one frame of a temporal metric with the neighbours it takes (ABI 1.4), for
/// every distorted frame at that position.
pub(crate) fn prepare_window(
    session: &mut Session,
    device: u32,
    metric: &str,
    reference: &OwnedImage,
    neighbours: &Neighbours,
) -> Result<PreparedRef, Error> {
    let (previous, next) = taken(session, device, metric, neighbours)?;
    with_views(previous, |previous| {
        with_views(next, |next| {
            reference.with_view(|r| session.prepare_window(r, previous, next))
        })
    })
}
