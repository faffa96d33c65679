//! Clip sessions for metrics that are stateless per frame.

use std::collections::VecDeque;

use super::{AnySession, ClipSession};
use crate::{ClipScores, Error, ImageView, NamedValue, OwnedImage};

/// Scores each pushed frame with a [`AnySession`], keeping the last `depth`
/// reference frames to hand to temporal metrics (and holding back the last
/// `lookahead` frames until their following reference frames have arrived), and
/// pools by the arithmetic mean.
pub struct FrameByFrameClip {
    session: Box<dyn AnySession>,
    depth: usize,
    lookahead: usize,
    /// Reference frames before the next frame to score, most recent first.
    history: VecDeque<OwnedImage>,
    /// Frames pushed but not yet scored (only when looking ahead), oldest first.
    pending: VecDeque<(OwnedImage, OwnedImage)>,
    frames: Vec<Vec<NamedValue>>,
}

impl std::fmt::Debug for FrameByFrameClip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameByFrameClip")
            .field("depth", &self.depth)
            .field("lookahead", &self.lookahead)
            .field("frames", &self.frames.len())
            .finish_non_exhaustive()
    }
}

impl FrameByFrameClip {
    /// A clip scored by `session`, keeping `depth` previous reference frames.
    pub fn new(session: Box<dyn AnySession>, depth: usize) -> Self {
        Self {
            session,
            depth,
            lookahead: 0,
            history: VecDeque::with_capacity(depth),
            pending: VecDeque::new(),
            frames: Vec::new(),
        }
    }

    /// Also hands each frame the `lookahead` following reference frames (fewer at the
    /// clip's end), scoring each frame once they have been pushed.
    #[must_use]
    pub fn with_lookahead(mut self, lookahead: usize) -> Self {
        self.lookahead = lookahead;
        self
    }

    /// Scores one frame given the following reference frames, then remembers its reference.
    fn score(
        &mut self,
        reference: &ImageView<'_>,
        next: &[&OwnedImage],
        distorted: &ImageView<'_>,
    ) -> Result<(), Error> {
        let previous: Vec<&OwnedImage> = self.history.iter().collect();
        let values = with_views(&previous, |previous| {
            with_views(next, |next| {
                self.session
                    .compare_window_any(reference, previous, next, distorted)
            })
        })?;
        self.frames.push(values);
        Ok(())
    }

    fn remember(&mut self, reference: OwnedImage) {
        if self.depth > 0 {
            if self.history.len() == self.depth {
                self.history.pop_back();
            }
            self.history.push_front(reference);
        }
    }

    /// Scores the oldest held-back frame with whatever follows it.
    fn score_oldest(&mut self) -> Result<(), Error> {
        let Some((reference, distorted)) = self.pending.pop_front() else {
            return Ok(());
        };
        let pending = std::mem::take(&mut self.pending);
        let next: Vec<&OwnedImage> = pending
            .iter()
            .take(self.lookahead)
            .map(|(r, _)| r)
            .collect();
        let scored = reference.with_view(|r| distorted.with_view(|d| self.score(r, &next, d)));
        self.pending = pending;
        scored?;
        self.remember(reference);
        Ok(())
    }
}

/// Calls `f` with views of `images`.
fn with_views<R>(images: &[&OwnedImage], f: impl FnOnce(&[ImageView<'_>]) -> R) -> R {
    let planes: Vec<_> = images.iter().map(|i| i.plane_views()).collect();
    let views: Vec<ImageView<'_>> = images
        .iter()
        .zip(&planes)
        .map(|(image, planes)| ImageView::new(image.format, image.width, image.height, planes))
        .collect();
    f(&views)
}

impl ClipSession for FrameByFrameClip {
    fn push(&mut self, reference: &ImageView<'_>, distorted: &ImageView<'_>) -> Result<(), Error> {
        if self.lookahead == 0 {
            self.score(reference, &[], distorted)?;
            if self.depth > 0 {
                self.remember(OwnedImage::copy_of(reference)?);
            }
            return Ok(());
        }
        self.pending.push_back((
            OwnedImage::copy_of(reference)?,
            OwnedImage::copy_of(distorted)?,
        ));
        if self.pending.len() > self.lookahead {
            self.score_oldest()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<ClipScores, Error> {
        while !self.pending.is_empty() {
            self.score_oldest()?;
        }
        let pooled = mean_pool(&self.frames);
        Ok(ClipScores {
            frames: self.frames.into_iter().map(Into::into).collect(),
            pooled: pooled.into(),
        })
    }
}

/// Mean of each value name present in the first frame, over every frame that has it.
fn mean_pool(frames: &[Vec<NamedValue>]) -> Vec<NamedValue> {
    let Some(first) = frames.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|named| {
            let values: Vec<f64> = frames
                .iter()
                .filter_map(|f| f.iter().find(|v| v.name == named.name).map(|v| v.value))
                .collect();
            NamedValue {
                name: named.name.clone(),
                value: values.iter().sum::<f64>() / values.len() as f64,
            }
        })
        .collect()
}
