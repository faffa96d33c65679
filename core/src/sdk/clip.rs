//! Clip sessions for metrics that are stateless per frame.

use std::collections::VecDeque;

use super::{AnySession, ClipSession};
use crate::{ClipScores, Error, ImageView, NamedValue, OwnedImage};

/// Scores each pushed frame with a [`AnySession`], keeping the last `depth`
/// reference frames to hand to temporal metrics, and pools by the arithmetic mean.
pub struct FrameByFrameClip {
    session: Box<dyn AnySession>,
    depth: usize,
    history: VecDeque<OwnedImage>,
    frames: Vec<Vec<NamedValue>>,
}

impl std::fmt::Debug for FrameByFrameClip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameByFrameClip")
            .field("depth", &self.depth)
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
            history: VecDeque::with_capacity(depth),
            frames: Vec::new(),
        }
    }
}

impl ClipSession for FrameByFrameClip {
    fn push(&mut self, reference: &ImageView<'_>, distorted: &ImageView<'_>) -> Result<(), Error> {
        let planes: Vec<_> = self.history.iter().map(OwnedImage::plane_views).collect();
        let previous: Vec<ImageView<'_>> = self
            .history
            .iter()
            .zip(&planes)
            .map(|(image, planes)| ImageView::new(image.format, image.width, image.height, planes))
            .collect();
        let values = self
            .session
            .compare_frame_any(reference, &previous, distorted)?;
        self.frames.push(values);
        if self.depth > 0 {
            if self.history.len() == self.depth {
                self.history.pop_back();
            }
            self.history.push_front(OwnedImage::copy_of(reference)?);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<ClipScores, Error> {
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
