//! Sessions of the temporal metrics `motion` and `motion2` (VMAF's motion features).
//!
//! Both are stateless per frame: each call reads the reference frames it is handed (the
//! previous one, the current one and, for `motion2`, the next one), so frames can be scored
//! in any order on any worker and give the same values as a sequential run.
//!
//! `motion2` needs the next reference frame, which only a host that knows the ABI 1.3
//! frame-window extension hands over; every other way of calling it is refused with an
//! `unsupported` error instead of returning a value computed without it. `motion` needs
//! only the previous frame, so plain frame comparisons (ABI 1.0) work for it. Neither
//! has a meaning for a single pair of images.
//!
//! The parameter `motion_version` chooses which libvmaf release's integer motion to
//! reproduce: "2.3.1" (the default; also what v2.3.1 through v3.1.0 give) or "3.2.0"
//! ([`MotionVersion`]).

use qscore_core::{
    Error, ImageView, NamedValue, TaskSpec,
    sdk::{Session, Values},
};

use crate::{
    convert::integer_luma,
    engine::Engine,
    metrics::{MetricError, motion::MotionVersion},
};

/// The parameter that chooses the libvmaf release whose motion is reproduced.
pub(crate) const MOTION_VERSION_PARAM: &str = "motion_version";

/// The libvmaf release whose motion `spec` asks for (parameter `motion_version`, "2.3.1" when
/// absent), for the `motion` and `motion2` metrics and any metric built on them.
pub(crate) fn motion_version(spec: &TaskSpec) -> Result<MotionVersion, Error> {
    let Some(text) = spec.param(MOTION_VERSION_PARAM) else {
        return Ok(MotionVersion::default());
    };
    MotionVersion::parse(text).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{}.{MOTION_VERSION_PARAM}={text:?} is not a libvmaf version this plugin \
             reproduces (accepted: {})",
            spec.metric.as_str(),
            MotionVersion::ACCEPTED.join(", ")
        ))
    })
}

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
pub(crate) struct MotionSession<E> {
    engine: E,
    kind: Motion,
    version: MotionVersion,
}

impl<E: Engine> MotionSession<E> {
    /// A session computing `kind` with the parameters of `spec` (`motion_version`).
    pub(crate) fn new(engine: E, kind: Motion, spec: &TaskSpec) -> Result<Self, Error> {
        Ok(Self {
            engine,
            kind,
            version: motion_version(spec)?,
        })
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

/// A frame's luma as `engine` reads it, for `metric`.
fn frame<'a, E: Engine>(
    engine: &E,
    view: &ImageView<'a>,
    metric: &str,
) -> Result<E::Frame<'a>, Error> {
    engine
        .frame(integer_luma(view, metric)?)
        .map_err(metric_error)
}

impl<E: Engine> Session for MotionSession<E> {
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
        let id = self.kind.id();
        let engine = &self.engine;
        let current = frame(engine, reference, id)?;
        let previous = previous.first().map(|f| frame(engine, f, id)).transpose()?;
        let next = match self.kind {
            // Without the next frame, frame_motions leaves it out (motion2 = motion).
            Motion::Motion => None,
            Motion::Motion2 => next.first().map(|f| frame(engine, f, id)).transpose()?,
        };
        let (motion, motion2) = self
            .engine
            .frame_motions(self.version, previous.as_ref(), &current, next.as_ref())
            .map_err(metric_error)?;
        let value = match self.kind {
            Motion::Motion => motion,
            Motion::Motion2 => motion2,
        };
        Ok(vec![NamedValue::new(id, value)])
    }
}

#[cfg(test)]
mod tests {
    use qscore_core::{ChromaSubsampling, MemoryMode, OwnedImage, Param, PixelFormat};

    use super::*;

    fn spec(metric: &str, version: Option<&str>) -> TaskSpec {
        let mut spec = TaskSpec::new(metric, 16, 16, PixelFormat::GRAY8, MemoryMode::FULL);
        if let Some(value) = version {
            spec.params.push(Param {
                key: MOTION_VERSION_PARAM.into(),
                value: value.into(),
            });
        }
        spec
    }

    #[test]
    fn motion_version_defaults_to_2_3_1_and_reads_3_2_0() {
        assert_eq!(
            motion_version(&spec("motion", None)),
            Ok(MotionVersion::V2_3_1)
        );
        assert_eq!(
            motion_version(&spec("motion", Some("2.3.1"))),
            Ok(MotionVersion::V2_3_1)
        );
        assert_eq!(
            motion_version(&spec("motion2", Some("3.2.0"))),
            Ok(MotionVersion::V3_2)
        );
        let session = MotionSession::new(
            crate::engine::Cpu,
            Motion::Motion2,
            &spec("motion2", Some("3.2.0")),
        );
        assert_eq!(session.map(|s| s.version), Ok(MotionVersion::V3_2));
    }

    /// An 8-bit 4:2:0 frame of 11x9 whose luma moves with `t`, less from 1 to 2 than from 0
    /// to 1.
    fn frame(t: usize) -> OwnedImage {
        let (w, h) = (11, 9);
        let shift = [0u8, 60, 75][t];
        let luma = (0..w * h)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(shift))
            .collect();
        OwnedImage {
            format: PixelFormat::yuv(ChromaSubsampling::Yuv420, 8),
            width: w as u32,
            height: h as u32,
            planes: vec![luma, vec![128; 6 * 5], vec![128; 6 * 5]],
        }
    }

    /// The sessions hand the frame, its previous and (for motion2) its next frame's luma to
    /// `frame_motions` under the version asked for.
    #[test]
    fn sessions_score_with_the_version_asked_for() {
        let frames: Vec<OwnedImage> = (0..3).map(frame).collect();
        let lumas: Vec<Vec<u8>> = frames.iter().map(|f| f.planes[0].clone()).collect();
        let luma = |i: usize| crate::metrics::luma::Luma {
            data: &lumas[i],
            stride: 11,
            width: 11,
            height: 9,
            bits: 8,
        };
        let mut seen = Vec::new();
        for version in [None, Some("2.3.1"), Some("3.2.0")] {
            let expected = crate::metrics::motion::frame_motions(
                MotionVersion::parse(version.unwrap_or("2.3.1")).unwrap(),
                Some(&luma(0)),
                &luma(1),
                Some(&luma(2)),
            )
            .unwrap();
            for (kind, want) in [(Motion::Motion, expected.0), (Motion::Motion2, expected.1)] {
                let mut session =
                    MotionSession::new(crate::engine::Cpu, kind, &spec(kind.id(), version))
                        .unwrap();
                let values = frames[1].with_view(|current| {
                    frames[0].with_view(|previous| {
                        frames[2].with_view(|next| {
                            session.compare_window(current, &[*previous], &[*next], current)
                        })
                    })
                });
                assert_eq!(
                    values.unwrap(),
                    vec![NamedValue::new(kind.id(), want)],
                    "{version:?}"
                );
            }
            seen.push(expected);
        }
        assert_eq!(seen[0], seen[1]);
        assert_ne!(seen[1], seen[2], "the versions differ on this clip");
        assert!(
            seen[2].0 != seen[2].1,
            "motion2 differs from motion on this clip"
        );
    }

    #[test]
    fn other_motion_versions_are_refused_with_the_accepted_ones() {
        for kind in [Motion::Motion, Motion::Motion2] {
            let refused =
                MotionSession::new(crate::engine::Cpu, kind, &spec(kind.id(), Some("3.1.0")));
            match refused {
                Err(Error::InvalidInput(message)) => {
                    for part in [kind.id(), "motion_version", "\"3.1.0\"", "2.3.1", "3.2.0"] {
                        assert!(message.contains(part), "{part}: {message}");
                    }
                }
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    }
}
