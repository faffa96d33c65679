//! The last few frames of a clip, kept so that temporal metrics can be handed the
//! reference frames around the frame they score.

use std::{collections::VecDeque, sync::Arc};

use qscore_core::OwnedImage;

use crate::{
    sched::{Neighbours, Reference},
    temporal::Needs,
};

/// One frame read from both clips.
#[derive(Debug, Clone)]
pub(crate) struct FramePair {
    /// Its index in the clip.
    pub(crate) index: u64,
    /// The reference frame, hashed once.
    pub(crate) reference: Reference,
    /// The distorted frame.
    pub(crate) distorted: Arc<OwnedImage>,
}

/// The most recent frames, as many as the most demanding metric needs around one frame.
#[derive(Debug)]
pub(crate) struct FrameWindow {
    frames: VecDeque<FramePair>,
    keep: usize,
}

impl FrameWindow {
    /// A window for metrics needing at most `widest.depth` previous and `widest.lookahead`
    /// following frames.
    pub(crate) fn new(widest: Needs) -> Self {
        let keep = widest.depth + widest.lookahead + 1;
        Self {
            frames: VecDeque::with_capacity(keep),
            keep,
        }
    }

    /// Adds the next frame, forgetting the oldest one no metric can need any more.
    pub(crate) fn push(&mut self, frame: FramePair) {
        if self.frames.len() == self.keep {
            self.frames.pop_front();
        }
        self.frames.push_back(frame);
    }

    fn get(&self, index: u64) -> Option<&FramePair> {
        let oldest = self.frames.front()?.index;
        let offset = usize::try_from(index.checked_sub(oldest)?).ok()?;
        self.frames.get(offset)
    }

    /// Frame `index` with the neighbours a metric needing `needs` reads: previous frames most
    /// recent first (fewer at the clip's start), following ones nearest first (those read so
    /// far: fewer at the clip's end). Every neighbour is a new counted reference, owned by
    /// the task it goes to. `None` when frame `index` has left the window.
    pub(crate) fn around(&self, index: u64, needs: Needs) -> Option<(FramePair, Neighbours)> {
        let frame = self.get(index)?.clone();
        let previous: Vec<&Reference> = (1..=needs.depth as u64)
            .map_while(|back| index.checked_sub(back).and_then(|i| self.get(i)))
            .map(|f| &f.reference)
            .collect();
        let next: Vec<&Reference> = (1..=needs.lookahead as u64)
            .map_while(|ahead| self.get(index + ahead))
            .map(|f| &f.reference)
            .collect();
        Some((frame, Neighbours::new(&previous, &next)))
    }
}
