//! The `mae` metric: mean and largest absolute difference between the colour samples
//! of two 8-bit images, in code values (0 to 255). Alpha is never compared.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use qscore_core::{
    Error, ImageView, MemoryMode, MetricCaps, NamedValue, PixelFormat, TaskSpec,
    sdk::{self, Session, Values},
};

/// The metric's id.
const METRIC: &str = "mae";
/// What a session returns, in this order.
const OUTPUTS: [&str; 2] = ["mae", "max_abs_diff"];
/// Accepted formats. The kit guarantees every image a session sees has the session's format.
const FORMATS: [PixelFormat; 3] = [PixelFormat::RGB8, PixelFormat::RGBA8, PixelFormat::GRAY8];
/// Largest side accepted; sums of differences fit a `u64` far beyond it.
const MAX_SIDE: u32 = 1 << 16;
/// What a session holds besides its prepared references (itself, result vectors), rounded up.
const SESSION_OVERHEAD: u64 = 16 * 1024;

/// What the metric offers, for [`qscore_core::sdk::Plugin::capabilities`].
pub(crate) fn caps() -> MetricCaps {
    MetricCaps {
        metric: METRIC.into(),
        outputs: OUTPUTS.iter().map(|&o| o.into()).collect(),
        formats: FORMATS.to_vec().into(),
        modes: vec![MemoryMode::FULL].into(),
        reusable_reference: true,
        temporal_depth: 0,
        max_width: MAX_SIDE,
        max_height: MAX_SIDE,
    }
}

/// How the samples of a format are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// Samples per pixel in the image (4 for RGBA).
    step: usize,
    /// Leading samples per pixel that are compared (3 for RGBA: alpha is ignored).
    compared: usize,
}

fn layout(format: PixelFormat) -> Option<Layout> {
    let (step, compared) = match format {
        PixelFormat::RGB8 => (3, 3),
        PixelFormat::RGBA8 => (4, 3),
        PixelFormat::GRAY8 => (1, 1),
        _ => return None,
    };
    Some(Layout { step, compared })
}

/// Checks everything in `spec` this plugin depends on: what the metric declared (through
/// the kit's `check_spec`: metric, format, mode, size) and that no parameter is given.
/// The kit validates images, not specs: `predict_memory` and `open_session` get whatever
/// the host sends.
fn check_spec(spec: &TaskSpec) -> Result<Layout, Error> {
    sdk::check_spec(std::slice::from_ref(&caps()), spec)?;
    if let Some(param) = spec.params.first() {
        return Err(Error::InvalidInput(format!(
            "{METRIC} takes no parameters, got {:?}",
            param.key.as_str()
        )));
    }
    layout(spec.format)
        .ok_or_else(|| Error::Internal(format!("declared format {} has no layout", spec.format)))
}

/// Bytes of a prepared reference: its compared samples, tightly packed.
fn reference_bytes(spec: &TaskSpec, layout: Layout) -> u64 {
    u64::from(spec.width) * u64::from(spec.height) * layout.compared as u64
}

/// Peak bytes of a session for `spec`. The host prepares one reference per session;
/// comparing allocates nothing but the two result values.
pub(crate) fn predict_memory(spec: &TaskSpec) -> Result<u64, Error> {
    let layout = check_spec(spec)?;
    Ok(reference_bytes(spec, layout) + SESSION_OVERHEAD)
}

/// Bytes held by a session's live prepared references, and their peak.
#[derive(Debug, Default)]
struct Held {
    now: AtomicU64,
    peak: AtomicU64,
}

/// A session: one size and format, fixed when it opens.
#[derive(Debug)]
pub(crate) struct MaeSession {
    layout: Layout,
    width: usize,
    height: usize,
    held: Arc<Held>,
}

/// A prepared reference. Views are borrowed only for the call that passes them,
/// so preparing copies the samples the comparisons need.
#[derive(Debug)]
pub(crate) struct Reference {
    samples: Vec<u8>,
    held: Arc<Held>,
}

impl Drop for Reference {
    fn drop(&mut self) {
        // The kit drops a reference when the host releases it or closes the session.
        let bytes = self.samples.len() as u64;
        self.held.now.fetch_sub(bytes, Ordering::Relaxed);
    }
}

impl MaeSession {
    pub(crate) fn open(spec: &TaskSpec) -> Result<Self, Error> {
        let layout = check_spec(spec)?;
        Ok(Self {
            layout,
            width: spec.width as usize,
            height: spec.height as usize,
            held: Arc::default(),
        })
    }

    /// The rows of a view, without padding. The kit has checked the view's size,
    /// format and strides against the session, so indexing cannot fail.
    fn rows<'a>(&self, image: &ImageView<'a>) -> impl Iterator<Item = &'a [u8]> {
        let plane = image.planes[0];
        let row_bytes = self.width * self.layout.step;
        (0..self.height).map(move |y| plane.row(y, row_bytes))
    }

    fn samples(&self) -> u64 {
        (self.width * self.height * self.layout.compared) as u64
    }
}

impl Session for MaeSession {
    type Prepared = Reference;

    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Reference, Error> {
        let bytes = self.width * self.height * self.layout.compared;
        let mut samples = Vec::new();
        // A failed allocation is reported, not aborted on: the host can then try elsewhere.
        samples
            .try_reserve_exact(bytes)
            .map_err(|_| Error::OutOfMemory {
                needed: bytes as u64,
                available: crate::plugin::available_memory(),
                message: format!("prepared {METRIC} reference"),
            })?;
        let Layout { step, compared } = self.layout;
        for row in self.rows(reference) {
            for pixel in row.chunks_exact(step) {
                samples.extend_from_slice(&pixel[..compared]);
            }
        }
        let now = self.held.now.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        self.held.peak.fetch_max(now, Ordering::Relaxed);
        Ok(Reference {
            samples,
            held: Arc::clone(&self.held),
        })
    }

    fn compare(
        &mut self,
        prepared: &Reference,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let Layout { step, compared } = self.layout;
        let mut diff = Diff::default();
        let reference_rows = prepared.samples.chunks_exact(self.width * compared);
        for (reference, distorted) in reference_rows.zip(self.rows(distorted)) {
            diff.add(reference, compared, distorted, step, compared);
        }
        Ok(diff.values(self.samples()))
    }

    /// One pair needs no copy of the reference: both images are read where they are.
    fn compare_pair(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let Layout { step, compared } = self.layout;
        let mut diff = Diff::default();
        for (reference, distorted) in self.rows(reference).zip(self.rows(distorted)) {
            diff.add(reference, step, distorted, step, compared);
        }
        Ok(diff.values(self.samples()))
    }

    fn peak_memory(&self) -> Option<u64> {
        Some(self.held.peak.load(Ordering::Relaxed))
    }
}

/// Running sum and maximum of absolute differences.
#[derive(Debug, Default)]
struct Diff {
    sum: u64,
    max: u8,
}

impl Diff {
    /// Adds one row: pixels `a_step` and `b_step` samples apart, the first `compared` of each.
    fn add(&mut self, a: &[u8], a_step: usize, b: &[u8], b_step: usize, compared: usize) {
        for (pa, pb) in a.chunks_exact(a_step).zip(b.chunks_exact(b_step)) {
            for (&x, &y) in pa[..compared].iter().zip(&pb[..compared]) {
                let d = x.abs_diff(y);
                self.sum += u64::from(d);
                self.max = self.max.max(d);
            }
        }
    }

    fn values(&self, samples: u64) -> Values {
        vec![
            NamedValue::new(OUTPUTS[0], self.sum as f64 / samples as f64),
            NamedValue::new(OUTPUTS[1], f64::from(self.max)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use qscore_core::{ErrorKind, PlaneView};

    use super::*;

    fn spec(format: PixelFormat, width: u32, height: u32) -> TaskSpec {
        TaskSpec::new(METRIC, width, height, format, MemoryMode::FULL)
    }

    fn value(values: &Values, name: &str) -> f64 {
        values
            .iter()
            .find(|v| v.name.as_str() == name)
            .map(|v| v.value)
            .unwrap_or_else(|| panic!("no {name} in {values:?}"))
    }

    /// Scores `a` against `b` (one plane each, rows `stride` bytes apart) both ways:
    /// through a prepared reference and as a pair, checking they agree.
    fn score(format: PixelFormat, w: u32, h: u32, stride: usize, a: &[u8], b: &[u8]) -> Values {
        let mut session = MaeSession::open(&spec(format, w, h)).unwrap();
        let (pa, pb) = ([PlaneView::new(a, stride)], [PlaneView::new(b, stride)]);
        let (a, b) = (
            ImageView::new(format, w, h, &pa),
            ImageView::new(format, w, h, &pb),
        );
        a.validate().unwrap();
        b.validate().unwrap();
        let prepared = session.prepare(&a).unwrap();
        let values = session.compare(&prepared, &b).unwrap();
        assert_eq!(values, session.compare_pair(&a, &b).unwrap());
        values
    }

    #[test]
    fn known_differences() {
        let reference = [10u8; 12];
        let distorted: Vec<u8> = (0..12).map(|d| 10 + d).collect();
        let values = score(PixelFormat::RGB8, 2, 2, 6, &reference, &distorted);
        assert_eq!(value(&values, "mae"), 66.0 / 12.0);
        assert_eq!(value(&values, "max_abs_diff"), 11.0);
        let names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, OUTPUTS);
    }

    #[test]
    fn differences_are_absolute_and_symmetric() {
        let (a, b) = ([0u8, 255, 100], [255u8, 0, 90]);
        let ab = score(PixelFormat::GRAY8, 3, 1, 3, &a, &b);
        assert_eq!(ab, score(PixelFormat::GRAY8, 3, 1, 3, &b, &a));
        assert_eq!(value(&ab, "mae"), 520.0 / 3.0);
        assert_eq!(value(&ab, "max_abs_diff"), 255.0);
        let same = score(PixelFormat::GRAY8, 3, 1, 3, &a, &a);
        assert_eq!(
            (value(&same, "mae"), value(&same, "max_abs_diff")),
            (0.0, 0.0)
        );
    }

    #[test]
    fn alpha_and_row_padding_are_ignored() {
        // 2x2 RGBA, rows padded to 10 bytes with junk; only the colour samples differ by 4.
        let reference = [
            1, 2, 3, 0, 4, 5, 6, 0, 99, 99, //
            7, 8, 9, 0, 10, 11, 12, 0, 98, 98,
        ];
        let mut distorted = reference.map(|s| s + 4);
        for alpha in [3, 7, 13, 17] {
            distorted[alpha] = 255;
        }
        let values = score(PixelFormat::RGBA8, 2, 2, 10, &reference[..18], &distorted);
        assert_eq!(value(&values, "mae"), 4.0);
        assert_eq!(value(&values, "max_abs_diff"), 4.0);
    }

    #[test]
    fn one_prepared_reference_serves_many_comparisons() {
        let reference = [50u8; 4];
        let mut session = MaeSession::open(&spec(PixelFormat::GRAY8, 2, 2)).unwrap();
        let plane = [PlaneView::new(&reference, 2)];
        let prepared = session
            .prepare(&ImageView::new(PixelFormat::GRAY8, 2, 2, &plane))
            .unwrap();
        for offset in [0u8, 1, 7] {
            let distorted = [50 + offset; 4];
            let plane = [PlaneView::new(&distorted, 2)];
            let view = ImageView::new(PixelFormat::GRAY8, 2, 2, &plane);
            let values = session.compare(&prepared, &view).unwrap();
            assert_eq!(value(&values, "mae"), f64::from(offset));
        }
    }

    #[test]
    fn peak_memory_counts_prepared_references_within_the_prediction() {
        let spec = spec(PixelFormat::RGBA8, 4, 3);
        let image = [0u8; 48];
        let plane = [PlaneView::new(&image, 16)];
        let view = ImageView::new(PixelFormat::RGBA8, 4, 3, &plane);
        let mut session = MaeSession::open(&spec).unwrap();
        assert_eq!(session.peak_memory(), Some(0));
        let first = session.prepare(&view).unwrap();
        assert_eq!(
            session.peak_memory(),
            Some(36),
            "3 colour samples of 12 pixels"
        );
        drop(first);
        let _second = session.prepare(&view).unwrap();
        assert_eq!(session.peak_memory(), Some(36), "the first was freed");
        let _third = session.prepare(&view).unwrap();
        assert_eq!(session.peak_memory(), Some(72));
        assert!(predict_memory(&spec).unwrap() >= 36);
    }

    #[test]
    fn specs_outside_the_metric_are_refused() {
        let kind = |spec: &TaskSpec| MaeSession::open(spec).unwrap_err().kind();
        let unsupported = [
            spec(PixelFormat::RGB16, 8, 8),
            spec(
                PixelFormat::yuv(qscore_core::ChromaSubsampling::Yuv420, 8),
                8,
                8,
            ),
            spec(PixelFormat(0xbeef), 8, 8),
            spec(PixelFormat::RGB8, MAX_SIDE + 1, 8),
            TaskSpec::new("psnr", 8, 8, PixelFormat::RGB8, MemoryMode::FULL),
            TaskSpec::new(METRIC, 8, 8, PixelFormat::RGB8, MemoryMode::STRIP),
        ];
        for spec in &unsupported {
            assert_eq!(kind(spec), ErrorKind::UNSUPPORTED, "{spec:?}");
            assert_eq!(
                predict_memory(spec).unwrap_err().kind(),
                ErrorKind::UNSUPPORTED
            );
        }
        let mut with_param = spec(PixelFormat::RGB8, 8, 8);
        with_param.params.push(qscore_core::Param {
            key: "peak".into(),
            value: "255".into(),
        });
        assert_eq!(kind(&with_param), ErrorKind::INVALID_INPUT);
        assert_eq!(
            kind(&spec(PixelFormat::GRAY8, 0, 8)),
            ErrorKind::INVALID_INPUT
        );
    }

    #[test]
    fn predictions_grow_with_the_compared_samples() {
        let rgb = predict_memory(&spec(PixelFormat::RGB8, 100, 10)).unwrap();
        let rgba = predict_memory(&spec(PixelFormat::RGBA8, 100, 10)).unwrap();
        let grey = predict_memory(&spec(PixelFormat::GRAY8, 100, 10)).unwrap();
        assert_eq!(rgb, 3000 + SESSION_OVERHEAD);
        assert_eq!(rgba, rgb, "alpha is not kept");
        assert_eq!(grey, 1000 + SESSION_OVERHEAD);
    }
}
