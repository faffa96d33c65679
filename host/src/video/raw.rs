//! Raw planar YUV video: frames back to back, no header.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use qscore_core::OwnedImage;

use super::source::{FrameRead, input_error, read_frame};
use super::{FrameSource, VideoGeometry};
use crate::InputError;

/// Reads raw planar YUV frames (Y, then Cb, then Cr, rows tightly packed; samples
/// wider than 8 bits as little-endian 16-bit words), one frame at a time.
#[derive(Debug)]
pub struct RawReader {
    path: PathBuf,
    reader: BufReader<File>,
    geometry: VideoGeometry,
    frames: u64,
    /// Index of the next frame (the first is frame 0).
    next: u64,
    done: bool,
}

impl RawReader {
    /// Opens `path` as frames of `geometry`; its size must be a whole number of frames.
    pub fn open(path: &Path, geometry: VideoGeometry) -> Result<Self, InputError> {
        geometry.check().map_err(|e| input_error(path, e))?;
        let Some(len) = super::source::file_len(path)? else {
            return Err(input_error(
                path,
                "is not a regular file (a pipe?): raw YUV frames are counted from the file's \
                 size; send a pipe Y4M instead",
            ));
        };
        let frame_bytes = geometry.frame_bytes();
        if len % frame_bytes != 0 {
            return Err(input_error(
                path,
                format!(
                    "is {len} bytes, not a whole number of {geometry} frames \
                     ({frame_bytes} bytes each)"
                ),
            ));
        }
        let file = File::open(path).map_err(|e| input_error(path, e.to_string()))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::new(file),
            geometry,
            frames: len / frame_bytes,
            next: 0,
            done: false,
        })
    }
}

impl FrameSource for RawReader {
    fn geometry(&self) -> VideoGeometry {
        self.geometry
    }

    fn frame_count(&self) -> Option<u64> {
        Some(self.frames)
    }

    fn next_frame(&mut self) -> Result<Option<OwnedImage>, InputError> {
        if self.done {
            return Ok(None);
        }
        let index = self.next;
        let read = read_frame(&mut self.reader, self.geometry).map_err(|e| {
            self.done = true;
            input_error(&self.path, format!("cannot read frame {index}: {e}"))
        })?;
        match read {
            FrameRead::Frame(image) => {
                self.next += 1;
                Ok(Some(image))
            }
            FrameRead::End => {
                self.done = true;
                Ok(None)
            }
            FrameRead::Short(got) => {
                self.done = true;
                Err(input_error(
                    &self.path,
                    format!(
                        "frame {index} is truncated ({got} of {} bytes)",
                        self.geometry.frame_bytes()
                    ),
                ))
            }
        }
    }
}
