//! What every video reader provides, and opening a file as video.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::time::Instant;

use qscore_core::{FormatInfo, OwnedImage, PixelFormat};

use super::{FfmpegSource, RawReader, Y4mReader};
use crate::InputError;

/// Largest side accepted, in pixels (16K video is 15360 wide).
pub(crate) const MAX_SIDE: u32 = 1 << 16;

/// Largest frame accepted, in bytes.
pub(crate) const MAX_FRAME_BYTES: u64 = 4 << 30;

/// Geometry of a raw video: size and pixel format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoGeometry {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Layout of the samples: one of the planar YUV formats.
    pub format: PixelFormat,
}

impl VideoGeometry {
    /// Parses a size such as `576x324` and an ffmpeg `pix_fmt` name such as `yuv420p10le`.
    pub fn parse(size: &str, pix_fmt: &str) -> Result<Self, String> {
        let (width, height) = size
            .split_once(['x', 'X'])
            .ok_or_else(|| format!("video size {size:?} is not WIDTHxHEIGHT (e.g. 576x324)"))?;
        let side = |text: &str| {
            text.parse::<u32>()
                .map_err(|_| format!("video size {size:?} is not WIDTHxHEIGHT (e.g. 576x324)"))
        };
        let format = PixelFormat::from_name(pix_fmt)
            .filter(|f| f.as_yuv().is_some())
            .ok_or_else(|| {
                format!(
                    "unknown raw video pixel format {pix_fmt:?} (known: yuv420p, yuv422p, \
                     yuv444p, each also with p10le, p12le or p16le)"
                )
            })?;
        let geometry = Self {
            width: side(width)?,
            height: side(height)?,
            format,
        };
        geometry.check()?;
        Ok(geometry)
    }

    /// Bytes of one tightly packed frame (0 for a format that is not planar YUV).
    pub fn frame_bytes(&self) -> u64 {
        self.plane_bytes()
            .iter()
            .fold(0, |a, &b| a.saturating_add(b))
    }

    /// Bytes of each plane of one frame (none for a format that is not planar YUV).
    pub(crate) fn plane_bytes(&self) -> Vec<u64> {
        let Some(info) = FormatInfo::of(self.format).filter(|i| i.yuv.is_some()) else {
            return Vec::new();
        };
        (0..info.planes)
            .map(|index| {
                let g = info.plane(index, self.width, self.height);
                (g.width as u64)
                    .saturating_mul((g.channels * g.sample_bytes) as u64)
                    .saturating_mul(g.height as u64)
            })
            .collect()
    }

    /// Checks that this is a planar YUV format of a size qscore can hold.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.format.as_yuv().is_none() {
            return Err(format!(
                "video must be planar YUV (4:2:0, 4:2:2 or 4:4:4), not {}",
                self.format
            ));
        }
        if self.width == 0 || self.height == 0 {
            return Err(format!(
                "video is {}x{}: both sides must be at least 1",
                self.width, self.height
            ));
        }
        if self.width > MAX_SIDE || self.height > MAX_SIDE {
            return Err(format!(
                "video is {}x{}: sides larger than {MAX_SIDE} are not supported",
                self.width, self.height
            ));
        }
        let bytes = self.frame_bytes();
        if bytes > MAX_FRAME_BYTES {
            return Err(format!(
                "{self} frames are {bytes} bytes, more than the {} GiB limit",
                MAX_FRAME_BYTES >> 30
            ));
        }
        Ok(())
    }
}

impl fmt::Display for VideoGeometry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{} {}", self.width, self.height, self.format)
    }
}

/// A stream of decoded frames, read one at a time (never the whole file).
pub trait FrameSource: Send + fmt::Debug {
    /// Size and pixel format of every frame.
    fn geometry(&self) -> VideoGeometry;
    /// Frames in the file when known (raw: from the file size; y4m: None).
    fn frame_count(&self) -> Option<u64>;
    /// The next frame, `Ok(None)` at a clean end, an error naming the file for a
    /// truncated frame or bad frame header.
    fn next_frame(&mut self) -> Result<Option<OwnedImage>, InputError>;
}

/// Opens `path` as video: `.y4m` is self-describing (a given geometry must agree
/// with it or is an error naming both); anything else is raw planar YUV and needs
/// `geometry` (an error naming the file otherwise).
pub fn open_video(
    path: &Path,
    geometry: Option<VideoGeometry>,
) -> Result<Box<dyn FrameSource>, InputError> {
    open_video_until(path, geometry, None)
}

/// [`open_video`], with an instant at which a decoder process still running is killed (its
/// next read then fails), so that a hung decoder cannot hold a run forever.
pub fn open_video_until(
    path: &Path,
    geometry: Option<VideoGeometry>,
    deadline: Option<Instant>,
) -> Result<Box<dyn FrameSource>, InputError> {
    if has_extension(path, "y4m") {
        let reader = Y4mReader::open(path)?;
        let found = reader.geometry();
        match geometry {
            Some(given) if given != found => Err(input_error(
                path,
                format!("is {found} (from its YUV4MPEG2 header), but {given} was given"),
            )),
            _ => Ok(Box::new(reader)),
        }
    } else if decoded_by_ffmpeg(path, geometry) {
        Ok(Box::new(FfmpegSource::open(path, geometry, deadline)?))
    } else {
        let geometry = geometry.ok_or_else(|| {
            input_error(
                path,
                "is raw YUV video: its size and pixel format must be given \
                 (e.g. 576x324 yuv420p10le)",
            )
        })?;
        Ok(Box::new(RawReader::open(path, geometry)?))
    }
}

/// Whether [`open_video`] decodes `path` with ffmpeg: containers always; a file of unknown
/// kind too, unless a raw geometry was given.
pub(crate) fn decoded_by_ffmpeg(path: &Path, geometry: Option<VideoGeometry>) -> bool {
    !has_extension(path, "y4m")
        && (is_container(path) || (geometry.is_none() && !has_extension(path, "yuv")))
}

/// Whether [`open_video`] reads `path` as raw YUV.
pub(crate) fn is_raw(path: &Path, geometry: Option<VideoGeometry>) -> bool {
    !has_extension(path, "y4m") && !decoded_by_ffmpeg(path, geometry)
}

/// Container and elementary-stream extensions decoded through ffmpeg.
const CONTAINERS: &[&str] = &[
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "ts", "m2ts", "mxf", "ivf", "obu", "h264", "264",
    "h265", "265", "hevc", "av1", "vp9", "nut",
];

fn is_container(path: &Path) -> bool {
    CONTAINERS.iter().any(|ext| has_extension(path, ext))
}

/// Whether `path` looks like video by extension: `.y4m`, `.yuv`, or a container or
/// stream ffmpeg decodes (`.mp4`, `.mkv`, `.webm`, `.mov`, `.ivf`, `.h264`…), in any case.
pub fn is_video_path(path: &Path) -> bool {
    has_extension(path, "y4m") || has_extension(path, "yuv") || is_container(path)
}

fn has_extension(path: &Path, wanted: &str) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
}

pub(crate) fn input_error(path: &Path, reason: impl Into<String>) -> InputError {
    InputError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The length of `path` if it is a regular file; `None` for a pipe or a device, whose length
/// is not known before reading. A directory or an empty file is an error.
pub(crate) fn file_len(path: &Path) -> Result<Option<u64>, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| input_error(path, e.to_string()))?;
    if meta.is_dir() {
        return Err(input_error(path, "is a directory, not a video"));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    if meta.len() == 0 {
        return Err(input_error(path, "is empty (0 bytes)"));
    }
    Ok(Some(meta.len()))
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match reader.read(&mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// How reading one frame's samples went.
pub(crate) enum FrameRead {
    /// The whole frame.
    Frame(OwnedImage),
    /// The input ended before its first byte.
    End,
    /// The input ended after this many of the frame's bytes.
    Short(u64),
}

/// Reads one tightly packed planar frame of a checked `geometry`; samples wider
/// than 8 bits are little-endian in the input and native-endian in the result.
pub(crate) fn read_frame(reader: &mut impl Read, geometry: VideoGeometry) -> io::Result<FrameRead> {
    let mut planes = Vec::with_capacity(3);
    let mut total = 0u64;
    for bytes in geometry.plane_bytes() {
        // `check` bounds a frame well below `usize::MAX` on 64-bit targets.
        let len = usize::try_from(bytes).map_err(|_| io::Error::other("frame too large"))?;
        let mut plane = vec![0u8; len];
        let got = fill(reader, &mut plane)?;
        total += got as u64;
        if got < len {
            return Ok(if total == 0 {
                FrameRead::End
            } else {
                FrameRead::Short(total)
            });
        }
        planes.push(plane);
    }
    let wide = geometry.format.as_yuv().is_some_and(|(_, bits)| bits > 8);
    if wide && cfg!(target_endian = "big") {
        for plane in &mut planes {
            for word in plane.chunks_exact_mut(2) {
                word.swap(0, 1);
            }
        }
    }
    Ok(FrameRead::Frame(OwnedImage {
        format: geometry.format,
        width: geometry.width,
        height: geometry.height,
        planes,
    }))
}
