//! Distorted clips of another size or pixel format than the reference, brought to the
//! reference's by ffmpeg's scaler as they are decoded (`--scale FILTER`): how a bitrate
//! ladder's 720p rung is scored against its 1080p source, the way VMAF's models were
//! trained (the distorted video upscaled to the reference's size, bicubic by Netflix's
//! practice).

use std::path::Path;

use super::{FfmpegSource, FrameSource, VideoGeometry, open_video_until, source::is_raw};
use crate::InputError;

/// The resampling filters of ffmpeg's `scale` (its `flags`) that `--scale` accepts.
pub const SCALERS: &[&str] = &[
    "bicubic",
    "bilinear",
    "lanczos",
    "spline",
    "neighbor",
    "area",
    "gauss",
    "sinc",
    "bicublin",
    "fast_bilinear",
];

/// One of [`SCALERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaler(&'static str);

impl Scaler {
    /// Parses a filter name of [`SCALERS`].
    pub fn parse(text: &str) -> Result<Self, String> {
        SCALERS
            .iter()
            .find(|&&name| name == text)
            .map(|&name| Self(name))
            .ok_or_else(|| format!("{text:?} is not a scaler (use {})", SCALERS.join(", ")))
    }

    /// The filter's name, as ffmpeg takes it.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Scaling to `reference`'s size and pixel format with this filter.
    pub(crate) fn to(self, reference: VideoGeometry) -> ScaleTo {
        ScaleTo {
            geometry: reference,
            scaler: self,
        }
    }
}

/// Where a distorted clip is decoded to: the reference's size and pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScaleTo {
    pub(crate) geometry: VideoGeometry,
    pub(crate) scaler: Scaler,
}

impl ScaleTo {
    /// ffmpeg's filter that makes the frames (the pixel format follows with `-pix_fmt`).
    pub(crate) fn filter(&self) -> String {
        format!(
            "scale={}:{}:flags={}",
            self.geometry.width,
            self.geometry.height,
            self.scaler.name()
        )
    }
}

/// Opens the distorted clip `path`: through ffmpeg, scaled, where `scale` asks and the
/// clip is not raw YUV (which has the reference's `--size` and format already), else as
/// [`open_video_until`] opens it.
pub(crate) fn open_distorted(
    path: &Path,
    geometry: Option<VideoGeometry>,
    scale: Option<ScaleTo>,
    deadline: Option<std::time::Instant>,
) -> Result<Box<dyn FrameSource>, InputError> {
    match scale {
        Some(to) if !is_raw(path, geometry) => {
            Ok(Box::new(FfmpegSource::open_scaled(path, to, deadline)?))
        }
        _ => open_video_until(path, geometry, deadline),
    }
}

/// Whether `path` is decoded by ffmpeg when the job scales (`scale`) or not.
pub(crate) fn through_ffmpeg(
    path: &Path,
    geometry: Option<VideoGeometry>,
    scale: Option<Scaler>,
) -> bool {
    match scale {
        Some(_) => !is_raw(path, geometry),
        None => super::source::decoded_by_ffmpeg(path, geometry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalers_are_ffmpegs_and_others_are_refused_with_the_list() {
        assert_eq!(Scaler::parse("bicubic").unwrap().name(), "bicubic");
        let error = Scaler::parse("cubic").unwrap_err();
        assert!(
            error.contains("\"cubic\" is not a scaler (use bicubic, bilinear"),
            "{error}"
        );
    }
}
