//! Sessions of the temporal metrics `motion` and `motion2` (VMAF's motion features).
//!
//! Both are stateless per frame: each call blurs the reference frames it is handed (the
//! previous one, the current one and, for `motion2`, the next one), so frames can be scored
//! in any order on any worker and give the same values as a sequential run.
//!
//! `motion2` needs the next reference frame, which only a host that knows the ABI 1.3
//! frame-window extension hands over; every other way of calling it is refused with an
//! `unsupported` error instead of returning a value computed without it. `motion` needs
//! only the previous frame, so plain frame comparisons (ABI 1.0) work for it. Neither
//! has a meaning for a single pair of images.

use qscore_core::{
    Error, ImageView, NamedValue,
    sdk::{Session, Values},
};

use crate::{
    convert::integer_luma,
    metrics::{
        MetricError,
        motion::{self, Blurred},
    },
};

/// Which motion feature a session computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Motion {
    /// Motion towards the previous frame.
    Motion,
    /// The smaller of the motion towards the previous frame and the next frame's.
    Motion2,
}

impl Motion {
    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::Motion => "motion",
            Self::Motion2 => "motion2",
        }
    }
}

/// A `motion` or `motion2` session.
#[derive(Debug)]
pub(crate) struct MotionSession {
    kind: Motion,
}

impl MotionSession {
    pub(crate) fn new(kind: Motion) -> Self {
        Self { kind }
    }

    fn not_on_images(&self) -> Error {
        Error::Unsupported(format!(
            "{} is a temporal metric: it compares each video frame with its neighbours, \
             so it needs video frames, not a single pair of images",
            self.kind.id()
        ))
    }
}

fn metric_error(error: MetricError) -> Error {
    Error::InvalidInput(error.to_string())
}

/// The blurred luma of a frame.
fn blurred(frame: &ImageView<'_>) -> Result<Blurred, Error> {
    motion::blur(&integer_luma(frame, "motion")?).map_err(metric_error)
}

impl Session for MotionSession {
    type Prepared = ();

    fn prepare(&mut self, _reference: &ImageView<'_>) -> Result<(), Error> {
        Err(self.not_on_images())
    }

    fn compare(&mut self, _prepared: &(), _distorted: &ImageView<'_>) -> Result<Values, Error> {
        Err(self.not_on_images())
    }

    fn compare_pair(
        &mut self,
        _reference: &ImageView<'_>,
        _distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        Err(self.not_on_images())
    }

    fn compare_frame(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        match self.kind {
            Motion::Motion => self.compare_window(reference, previous, &[], distorted),
            Motion::Motion2 => Err(Error::Unsupported(
                "motion2 needs the next reference frame too, which this host does not hand \
                 over (it needs the ABI 1.3 frame-window extension)"
                    .into(),
            )),
        }
    }

    fn compare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
        _distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        // Motion depends on the reference clip alone, as in libvmaf.
        let current = blurred(reference)?;
        let previous = previous.first().map(blurred).transpose()?;
        let value = match self.kind {
            Motion::Motion => motion::motion(previous.as_ref(), &current),
            Motion::Motion2 => {
                let next = match (&previous, next.first()) {
                    // The first frame's motion2 is 0 whatever follows: skip the blur.
                    (Some(_), Some(frame)) => Some(blurred(frame)?),
                    _ => None,
                };
                motion::motion2(previous.as_ref(), &current, next.as_ref())
            }
        }
        .map_err(metric_error)?;
        Ok(vec![NamedValue::new(self.kind.id(), value)])
    }
}
