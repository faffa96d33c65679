//! Borrowed, zero-copy views of images and video frames.

use abi_stable::{StableAbi, std_types::RSlice};

use crate::{ChromaSubsampling, Error, PixelFormat};

/// One plane of an image: `stride` bytes from the start of one row to the next.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct PlaneView<'a> {
    /// The plane's bytes; at least `stride * (rows - 1) + row_bytes`.
    pub data: RSlice<'a, u8>,
    /// Bytes from one row to the next (row padding allowed).
    pub stride: usize,
}

impl<'a> PlaneView<'a> {
    /// A plane over `data` with rows `stride` bytes apart.
    pub fn new(data: &'a [u8], stride: usize) -> Self {
        Self {
            data: RSlice::from_slice(data),
            stride,
        }
    }

    /// Row `y`, `row_bytes` long. Call only on a validated [`ImageView`].
    pub fn row(&self, y: usize, row_bytes: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data.as_slice()[start..start + row_bytes]
    }
}

/// An image or a video frame, borrowed from its owner.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct ImageView<'a> {
    /// Layout of the samples.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// One plane for packed formats, three (Y, Cb, Cr) for planar YUV.
    pub planes: RSlice<'a, PlaneView<'a>>,
}

/// Geometry of one plane of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneGeometry {
    /// Width in samples of one channel.
    pub width: usize,
    /// Height in rows.
    pub height: usize,
    /// Interleaved channels per pixel.
    pub channels: usize,
    /// Bytes per sample: 1, 2 or 4.
    pub sample_bytes: usize,
}

impl PlaneGeometry {
    /// Bytes of one row without padding.
    pub fn row_bytes(&self) -> usize {
        self.width * self.channels * self.sample_bytes
    }
}

/// What a format is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatInfo {
    /// Significant bits per sample (32 for `f32`).
    pub bits: u32,
    /// Number of planes.
    pub planes: usize,
    /// Interleaved channels in plane 0.
    pub channels: usize,
    /// Bytes per sample.
    pub sample_bytes: usize,
    /// Chroma subsampling when planar YUV.
    pub yuv: Option<ChromaSubsampling>,
}

impl FormatInfo {
    /// Describes a format this build knows.
    pub fn of(format: PixelFormat) -> Option<Self> {
        let packed = |bits, channels, sample_bytes| Self {
            bits,
            planes: 1,
            channels,
            sample_bytes,
            yuv: None,
        };
        Some(match format {
            PixelFormat::RGB8 => packed(8, 3, 1),
            PixelFormat::RGBA8 => packed(8, 4, 1),
            PixelFormat::RGB16 => packed(16, 3, 2),
            PixelFormat::RGB_F32_LINEAR => packed(32, 3, 4),
            PixelFormat::GRAY8 => packed(8, 1, 1),
            PixelFormat::GRAY16 => packed(16, 1, 2),
            other => {
                let (subsampling, bits) = other.as_yuv()?;
                Self {
                    bits,
                    planes: 3,
                    channels: 1,
                    sample_bytes: if bits > 8 { 2 } else { 1 },
                    yuv: Some(subsampling),
                }
            }
        })
    }

    /// Geometry of plane `index` of a `width`×`height` image.
    pub fn plane(&self, index: usize, width: u32, height: u32) -> PlaneGeometry {
        let (w, h) = (width as usize, height as usize);
        let (w, h) = match (self.yuv, index) {
            (Some(subsampling), 1 | 2) => {
                let (sx, sy) = subsampling.shifts();
                (w.div_ceil(1 << sx), h.div_ceil(1 << sy))
            }
            _ => (w, h),
        };
        PlaneGeometry {
            width: w,
            height: h,
            channels: self.channels,
            sample_bytes: self.sample_bytes,
        }
    }

    /// Bytes needed to hold a tightly packed `width`×`height` image.
    pub fn packed_size(&self, width: u32, height: u32) -> u64 {
        (0..self.planes)
            .map(|i| {
                let g = self.plane(i, width, height);
                (g.row_bytes() * g.height) as u64
            })
            .sum()
    }
}

impl<'a> ImageView<'a> {
    /// A view over planes owned by the caller.
    pub fn new(format: PixelFormat, width: u32, height: u32, planes: &'a [PlaneView<'a>]) -> Self {
        Self {
            format,
            width,
            height,
            planes: RSlice::from_slice(planes),
        }
    }

    /// Checks that the format is known and every plane holds its rows.
    pub fn validate(&self) -> Result<FormatInfo, Error> {
        let info = FormatInfo::of(self.format)
            .ok_or_else(|| Error::Unsupported(format!("pixel format {}", self.format)))?;
        if self.width == 0 || self.height == 0 {
            return Err(Error::InvalidInput(format!(
                "image is {}x{}: both sides must be at least 1",
                self.width, self.height
            )));
        }
        if self.planes.len() != info.planes {
            return Err(Error::InvalidInput(format!(
                "{} needs {} plane(s), got {}",
                self.format,
                info.planes,
                self.planes.len()
            )));
        }
        for (index, plane) in self.planes.iter().enumerate() {
            let g = info.plane(index, self.width, self.height);
            let row_bytes = g.row_bytes();
            if plane.stride < row_bytes {
                return Err(Error::InvalidInput(format!(
                    "plane {index}: stride {} is less than a row ({row_bytes} bytes)",
                    plane.stride
                )));
            }
            let needed = plane
                .stride
                .checked_mul(g.height - 1)
                .and_then(|n| n.checked_add(row_bytes))
                .ok_or_else(|| Error::InvalidInput(format!("plane {index}: size overflows")))?;
            if plane.data.len() < needed {
                return Err(Error::InvalidInput(format!(
                    "plane {index}: {} bytes, {needed} needed for {}x{} {}",
                    plane.data.len(),
                    self.width,
                    self.height,
                    self.format
                )));
            }
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuv420_odd_sizes_round_chroma_up() {
        let info = FormatInfo::of(PixelFormat::yuv(ChromaSubsampling::Yuv420, 10)).unwrap();
        let chroma = info.plane(1, 5, 3);
        assert_eq!(
            (chroma.width, chroma.height, chroma.sample_bytes),
            (3, 2, 2)
        );
        assert_eq!(info.packed_size(5, 3), (5 * 3 * 2 + 2 * 3 * 2 * 2) as u64);
    }

    #[test]
    fn validation_names_the_problem() {
        let bytes = vec![0u8; 10];
        let plane = [PlaneView::new(&bytes, 6)];
        let view = ImageView::new(PixelFormat::RGB8, 2, 2, &plane);
        let err = view.validate().unwrap_err().to_string();
        assert!(err.contains("12 needed"), "{err}");
        let short_stride = [PlaneView::new(&bytes, 5)];
        let view = ImageView::new(PixelFormat::RGB8, 2, 1, &short_stride);
        assert!(
            view.validate()
                .unwrap_err()
                .to_string()
                .contains("stride 5")
        );
        let ok = [PlaneView::new(&bytes, 6)];
        assert!(
            ImageView::new(PixelFormat::RGB8, 2, 1, &ok)
                .validate()
                .is_ok()
        );
    }
}

/// An image that owns its planes (tightly packed), for keeping frames beyond a call.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedImage {
    /// Layout of the samples.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Plane bytes, rows tightly packed.
    pub planes: Vec<Vec<u8>>,
}

impl OwnedImage {
    /// Copies a validated view, dropping row padding.
    pub fn copy_of(view: &ImageView<'_>) -> Result<Self, Error> {
        let info = view.validate()?;
        let planes = view
            .planes
            .iter()
            .enumerate()
            .map(|(index, plane)| {
                let g = info.plane(index, view.width, view.height);
                let row_bytes = g.row_bytes();
                let mut out = Vec::with_capacity(row_bytes * g.height);
                for y in 0..g.height {
                    out.extend_from_slice(plane.row(y, row_bytes));
                }
                out
            })
            .collect();
        Ok(Self {
            format: view.format,
            width: view.width,
            height: view.height,
            planes,
        })
    }

    /// Views of the planes, for [`ImageView::new`].
    pub fn plane_views(&self) -> Vec<PlaneView<'_>> {
        let info = FormatInfo::of(self.format);
        self.planes
            .iter()
            .enumerate()
            .map(|(index, bytes)| {
                let stride = info.map_or(bytes.len(), |i| {
                    i.plane(index, self.width, self.height).row_bytes()
                });
                PlaneView::new(bytes, stride)
            })
            .collect()
    }

    /// Calls `f` with a borrowed view of this image.
    pub fn with_view<R>(&self, f: impl FnOnce(&ImageView<'_>) -> R) -> R {
        let planes = self.plane_views();
        f(&ImageView::new(
            self.format,
            self.width,
            self.height,
            &planes,
        ))
    }
}
