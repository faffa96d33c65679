//! YUV4MPEG2 (`.y4m`) video: a one-line stream header, then each frame as a
//! `FRAME` line followed by its planar samples.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use qscore_core::{ChromaSubsampling, OwnedImage, PixelFormat};

use super::source::{FrameRead, file_len, input_error, read_frame};
use super::{FrameSource, VideoGeometry};
use crate::InputError;

/// The stream's first bytes.
const MAGIC: &[u8] = b"YUV4MPEG2";

/// Longest stream or frame header accepted, newline included.
pub(crate) const MAX_HEADER: usize = 1024;

/// Reads a YUV4MPEG2 stream one frame at a time.
///
/// Supported colour spaces: 4:2:0 (`C420`, `C420jpeg`, `C420paldv`, `C420mpeg2`, or
/// none given), `C422` and `C444` at 8 bits, and each of 420, 422 and 444 with
/// `p10`, `p12` or `p16` (little-endian 16-bit samples). Interlacing, frame rate,
/// aspect ratio and `X` tags are ignored: every frame is read as one progressive picture.
#[derive(Debug)]
pub struct Y4mReader {
    path: PathBuf,
    reader: BufReader<File>,
    geometry: VideoGeometry,
    /// Bytes of the file not yet read (as of opening), to refuse a frame the file cannot hold;
    /// `u64::MAX` for a pipe, whose end is found by reading.
    remaining: u64,
    /// Index of the next frame (the first is frame 0).
    next: u64,
    done: bool,
}

impl Y4mReader {
    /// Opens `path` and reads its stream header.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let len = file_len(path)?;
        let file = File::open(path).map_err(|e| input_error(path, e.to_string()))?;
        let mut reader = BufReader::new(file);
        let line = read_line(&mut reader)
            .map_err(|e| input_error(path, format!("cannot read the stream header: {e}")))?;
        let geometry = parse_header(&line).map_err(|e| input_error(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            geometry,
            remaining: len.map_or(u64::MAX, |len| len.saturating_sub(line.len() as u64)),
            next: 0,
            done: false,
        })
    }

    fn fail(&mut self, reason: String) -> InputError {
        self.done = true;
        input_error(&self.path, reason)
    }
}

/// Reads a stream's header line: the frames' geometry. For streams that are not files (a
/// decoder's output).
pub(crate) fn read_stream_header(reader: &mut impl BufRead) -> Result<VideoGeometry, String> {
    let line = read_line(reader).map_err(|e| format!("cannot read the stream header: {e}"))?;
    if line.is_empty() {
        return Err("has no video frames".into());
    }
    parse_header(&line)
}

/// Reads the `FRAME` line before frame `index`: `Ok(false)` at a clean end of the stream.
pub(crate) fn read_frame_header(reader: &mut impl BufRead, index: u64) -> Result<bool, String> {
    let line = read_line(reader).map_err(|e| format!("cannot read frame {index}: {e}"))?;
    if line.is_empty() {
        return Ok(false);
    }
    if !starts_with_word(&line, b"FRAME") || !line.ends_with(b"\n") {
        return Err(format!(
            "frame {index}: expected a FRAME header, found {}",
            shown(&line)
        ));
    }
    Ok(true)
}

/// Reads up to and including the next `'\n'`, at most [`MAX_HEADER`] + 1 bytes.
fn read_line(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    reader
        .take(MAX_HEADER as u64 + 1)
        .read_until(b'\n', &mut line)?;
    Ok(line)
}

/// Whether `line` starts with the word `word` (followed by a space, a newline or nothing).
fn starts_with_word(line: &[u8], word: &[u8]) -> bool {
    line.strip_prefix(word)
        .is_some_and(|rest| matches!(rest.first(), None | Some(b' ' | b'\n')))
}

/// The start of `bytes`, printable, for error messages.
fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(32)];
    let mut text = String::from_utf8_lossy(cut).escape_debug().to_string();
    if cut.len() < bytes.len() {
        text.push('…');
    }
    format!("\"{text}\"")
}

/// Parses a stream header line (newline included) into the frames' geometry.
fn parse_header(line: &[u8]) -> Result<VideoGeometry, String> {
    if !starts_with_word(line, MAGIC) {
        return Err(format!(
            "not a YUV4MPEG2 stream (it starts with {}, not \"YUV4MPEG2 \")",
            shown(line)
        ));
    }
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err(if line.len() > MAX_HEADER {
            format!("YUV4MPEG2 stream header is longer than {MAX_HEADER} bytes without a newline")
        } else {
            "YUV4MPEG2 stream header ends before its newline".to_owned()
        });
    };
    let (mut width, mut height) = (None, None);
    let mut format = PixelFormat::yuv(ChromaSubsampling::Yuv420, 8);
    for tag in line[MAGIC.len()..].split(|&b| b == b' ') {
        let Some((&letter, value)) = tag.split_first() else {
            continue;
        };
        match letter {
            b'W' => width = Some(side(value, "width", tag)?),
            b'H' => height = Some(side(value, "height", tag)?),
            b'C' => format = colour_space(value)?,
            _ => {}
        }
    }
    let width = width.ok_or("YUV4MPEG2 stream header has no width (W tag)")?;
    let height = height.ok_or("YUV4MPEG2 stream header has no height (H tag)")?;
    let geometry = VideoGeometry {
        width,
        height,
        format,
    };
    geometry.check()?;
    Ok(geometry)
}

fn side(value: &[u8], what: &str, tag: &[u8]) -> Result<u32, String> {
    std::str::from_utf8(value)
        .ok()
        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|&v| v > 0)
        .ok_or_else(|| {
            format!(
                "YUV4MPEG2 stream header has a bad {what}: {} (a positive whole number is needed)",
                shown(tag)
            )
        })
}

/// The pixel format of a `C` tag's value.
fn colour_space(value: &[u8]) -> Result<PixelFormat, String> {
    use ChromaSubsampling::{Yuv420, Yuv422, Yuv444};
    let (subsampling, bits) = match value {
        b"420" | b"420jpeg" | b"420paldv" | b"420mpeg2" => (Yuv420, 8),
        b"422" => (Yuv422, 8),
        b"444" => (Yuv444, 8),
        b"420p10" => (Yuv420, 10),
        b"422p10" => (Yuv422, 10),
        b"444p10" => (Yuv444, 10),
        b"420p12" => (Yuv420, 12),
        b"422p12" => (Yuv422, 12),
        b"444p12" => (Yuv444, 12),
        b"420p16" => (Yuv420, 16),
        b"422p16" => (Yuv422, 16),
        b"444p16" => (Yuv444, 16),
        other => {
            let name = String::from_utf8_lossy(other);
            return Err(format!(
                "YUV4MPEG2 colour space C{} is not supported (supported: C420, C420jpeg, \
                 C420paldv, C420mpeg2, C422, C444, and C420, C422 or C444 with p10, p12 or p16)",
                name.escape_debug()
            ));
        }
    };
    Ok(PixelFormat::yuv(subsampling, bits))
}

impl FrameSource for Y4mReader {
    fn geometry(&self) -> VideoGeometry {
        self.geometry
    }

    fn frame_count(&self) -> Option<u64> {
        None
    }

    fn next_frame(&mut self) -> Result<Option<OwnedImage>, InputError> {
        if self.done {
            return Ok(None);
        }
        let index = self.next;
        let line = match read_line(&mut self.reader) {
            Ok(line) => line,
            Err(e) => return Err(self.fail(format!("cannot read frame {index}: {e}"))),
        };
        if line.is_empty() {
            self.done = true;
            return Ok(None);
        }
        if !starts_with_word(&line, b"FRAME") {
            return Err(self.fail(format!(
                "frame {index}: expected a FRAME header, found {}",
                shown(&line)
            )));
        }
        if !line.ends_with(b"\n") {
            return Err(self.fail(if line.len() > MAX_HEADER {
                format!("frame {index}: FRAME header is longer than {MAX_HEADER} bytes")
            } else {
                format!("frame {index}: FRAME header is truncated (no newline)")
            }));
        }
        self.remaining = self.remaining.saturating_sub(line.len() as u64);
        let frame_bytes = self.geometry.frame_bytes();
        if self.remaining < frame_bytes {
            // Known short from the file's size: say so without allocating the frame.
            let got = self.remaining;
            return Err(self.fail(format!(
                "frame {index} is truncated ({got} of {frame_bytes} bytes)"
            )));
        }
        let read = match read_frame(&mut self.reader, self.geometry) {
            Ok(read) => read,
            Err(e) => return Err(self.fail(format!("cannot read frame {index}: {e}"))),
        };
        let got = match read {
            FrameRead::Frame(image) => {
                self.remaining -= frame_bytes;
                self.next += 1;
                return Ok(Some(image));
            }
            FrameRead::End => 0,
            FrameRead::Short(got) => got,
        };
        Err(self.fail(format!(
            "frame {index} is truncated ({got} of {frame_bytes} bytes)"
        )))
    }
}
