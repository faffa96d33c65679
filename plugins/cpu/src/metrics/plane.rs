//! One channel of an image as `f64` samples.

use super::MetricError;

/// One image channel: `width * height` samples, row-major, no padding between rows.
///
/// Sample values are whatever the metric expects (for example 0..=255 for 8-bit data, or the
/// original integer code values for high-bit-depth PSNR); a `Plane` does not carry a bit depth.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plane {
    /// Number of samples per row.
    pub(crate) width: usize,
    /// Number of rows.
    pub(crate) height: usize,
    /// `width * height` samples, row after row.
    pub(crate) data: Vec<f64>,
}

impl Plane {
    /// Wraps `data` as a `width` × `height` plane, checking its length.
    pub(crate) fn new(width: usize, height: usize, data: Vec<f64>) -> Result<Self, MetricError> {
        let plane = Self {
            width,
            height,
            data,
        };
        plane.check()?;
        Ok(plane)
    }

    /// Builds a plane from `sample(x, y)`, row by row.
    pub(crate) fn from_fn(
        width: usize,
        height: usize,
        mut sample: impl FnMut(usize, usize) -> f64,
    ) -> Self {
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                data.push(sample(x, y));
            }
        }
        Self {
            width,
            height,
            data,
        }
    }

    /// Checks that `data` holds exactly `width * height` samples.
    pub(crate) fn check(&self) -> Result<(), MetricError> {
        if self.width.checked_mul(self.height) == Some(self.data.len()) {
            Ok(())
        } else {
            Err(MetricError::BadPlaneLength {
                width: self.width,
                height: self.height,
                len: self.data.len(),
            })
        }
    }

    /// Row `y` as a slice of `width` samples.
    ///
    /// # Panics
    /// If `y >= height` or the plane is malformed.
    pub(crate) fn row(&self, y: usize) -> &[f64] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// Multiplies every sample by `factor` (e.g. `0.25` to bring 10-bit code values to the
    /// 8-bit scale that libvmaf's float features use).
    pub(crate) fn scale(&mut self, factor: f64) {
        for v in &mut self.data {
            *v *= factor;
        }
    }
}
