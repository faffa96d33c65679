//! The luma plane of a YUV frame as VMAF's integer features read it: integer samples of 8 to
//! 16 bits, one byte each up to 8 bits and native-endian 16-bit words above.

use super::MetricError;

/// The luma plane of a frame: integer samples of `bits` bits, one byte each up to 8 bits and
/// native-endian 16-bit words above.
#[derive(Debug, Clone, Copy)]
pub struct Luma<'a> {
    /// The plane's bytes.
    pub data: &'a [u8],
    /// Bytes from one row to the next.
    pub stride: usize,
    /// Samples per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Significant bits per sample (8 to 16).
    pub bits: u32,
}

impl Luma<'_> {
    /// Bytes per sample: 1 up to 8 bits, 2 above.
    pub fn sample_bytes(&self) -> usize {
        if self.bits > 8 { 2 } else { 1 }
    }

    /// Whether the plane is at least `min_side` samples each way and its bytes hold it.
    pub fn check(&self, min_side: usize) -> Result<(), MetricError> {
        if self.width < min_side || self.height < min_side {
            return Err(MetricError::TooSmall {
                width: self.width,
                height: self.height,
                min: min_side,
            });
        }
        let row_bytes = self.width * self.sample_bytes();
        let needed = self.stride * (self.height - 1) + row_bytes;
        if self.stride < row_bytes || self.data.len() < needed {
            return Err(MetricError::BadPlaneLength {
                width: self.width,
                height: self.height,
                len: self.data.len() / self.sample_bytes(),
            });
        }
        Ok(())
    }

    /// Adds `weight ×` row `y` to `accum`, sample by sample.
    pub(crate) fn accumulate_row(&self, y: usize, weight: u32, accum: &mut [u32]) {
        let row = &self.data[y * self.stride..];
        if self.bits > 8 {
            for (a, pair) in accum.iter_mut().zip(row.chunks_exact(2)) {
                *a += weight * u32::from(u16::from_ne_bytes([pair[0], pair[1]]));
            }
        } else {
            for (a, &v) in accum.iter_mut().zip(row) {
                *a += weight * u32::from(v);
            }
        }
    }

    /// Row `y` as samples widened to 16 bits (one read of the row, whatever the depth).
    pub(crate) fn row_into(&self, y: usize, out: &mut [u16]) {
        let row = &self.data[y * self.stride..];
        if self.bits > 8 {
            for (o, pair) in out.iter_mut().zip(row.chunks_exact(2)).take(self.width) {
                *o = u16::from_ne_bytes([pair[0], pair[1]]);
            }
        } else {
            for (o, &v) in out.iter_mut().zip(row).take(self.width) {
                *o = u16::from(v);
            }
        }
    }

    /// The whole plane as packed 16-bit samples, rows `width` long.
    pub fn to_u16(self) -> Vec<u16> {
        let mut out = vec![0u16; self.width * self.height];
        for (y, row) in out.chunks_exact_mut(self.width).enumerate() {
            self.row_into(y, row);
        }
        out
    }
}
