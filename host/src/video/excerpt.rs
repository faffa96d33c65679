//! Excerpts of a clip, read back to back as one stream: `START:DURATION` windows in seconds.
//!
//! An excerpt is read by ffmpeg, seeking in its input (`-ss`/`-t` before `-i`): ffmpeg
//! decodes from the keyframe before the start and drops the frames before it, so the
//! excerpt's frames are exactly those of the whole clip from the first one at or after the
//! start, and a long title is not decoded from its beginning. Several excerpts are joined
//! with the `concat` filter. A tune encodes the excerpts and scores them against the same
//! excerpts of the reference, both read by the same arguments.

use std::{path::Path, process::Command};

/// One window of a clip.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Excerpt {
    /// Where it starts, in seconds from the clip's start.
    pub start: f64,
    /// How long it lasts, in seconds.
    pub duration: f64,
}

impl Excerpt {
    /// Parses `START:DURATION` (seconds, e.g. `30:4` or `12.5:2`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (start, duration) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not START:DURATION in seconds (e.g. 30:4)"))?;
        let seconds = |n: &str| {
            n.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{text:?}: {n:?} is not a number of seconds"))
        };
        let excerpt = Self {
            start: seconds(start)?,
            duration: seconds(duration)?,
        };
        if excerpt.start < 0.0 || excerpt.duration <= 0.0 {
            return Err(format!(
                "{text:?}: the start must be 0 or more and the duration more than 0"
            ));
        }
        Ok(excerpt)
    }

    /// Where it ends, in seconds.
    pub fn end(&self) -> f64 {
        self.start + self.duration
    }
}

/// Checks excerpts against a clip of `length` seconds: each starts inside it, and none
/// overlaps another (a frame scored twice would weigh twice in the pooled score).
pub fn check(excerpts: &[Excerpt], length: f64) -> Result<(), String> {
    for (i, e) in excerpts.iter().enumerate() {
        if e.start >= length {
            return Err(format!(
                "the excerpt {}:{} starts after the clip ends ({length:.3} s)",
                e.start, e.duration
            ));
        }
        if let Some(other) = excerpts[..i]
            .iter()
            .find(|o| o.start < e.end() && e.start < o.end())
        {
            return Err(format!(
                "the excerpts {}:{} and {}:{} overlap",
                other.start, other.duration, e.start, e.duration
            ));
        }
    }
    Ok(())
}

/// Seconds of a clip of `length` seconds that `excerpts` cover (the whole clip when none).
pub fn covered(excerpts: &[Excerpt], length: f64) -> f64 {
    if excerpts.is_empty() {
        return length;
    }
    excerpts
        .iter()
        .map(|e| (e.end().min(length) - e.start).max(0.0))
        .sum()
}

/// The stream an ffmpeg output reads.
#[derive(Debug, Clone)]
pub(crate) enum Picked {
    /// The first video stream of this input.
    Input(usize),
    /// Excerpts, inputs `0..n`, joined.
    Joined(usize),
}

/// Adds the inputs that read `excerpts` of `path` (all of it when there are none), and says
/// which stream holds them.
pub(crate) fn add_inputs(command: &mut Command, path: &Path, excerpts: &[Excerpt]) -> Picked {
    if excerpts.is_empty() {
        command.arg("-i").arg(path);
        return Picked::Input(0);
    }
    for excerpt in excerpts {
        command.args([
            "-ss",
            &excerpt.start.to_string(),
            "-t",
            &excerpt.duration.to_string(),
        ]);
        command.arg("-i").arg(path);
    }
    Picked::Joined(excerpts.len())
}

impl Picked {
    /// Maps the stream to the next output, through `filter` when given (a filter chain such
    /// as `format=yuv420p`).
    pub(crate) fn map(&self, command: &mut Command, filter: Option<&str>) {
        match *self {
            Self::Input(input) => {
                command.args(["-map", &format!("{input}:v:0")]);
                if let Some(filter) = filter {
                    command.args(["-vf", filter]);
                }
            }
            Self::Joined(count) => {
                let mut graph: String = (0..count).map(|i| format!("[{i}:v:0]")).collect();
                graph.push_str(&format!("concat=n={count}:v=1:a=0"));
                if let Some(filter) = filter {
                    graph.push(',');
                    graph.push_str(filter);
                }
                graph.push_str("[excerpts]");
                command.args(["-filter_complex", &graph, "-map", "[excerpts]"]);
            }
        }
    }
}

/// The arguments [`add_inputs`] adds, for messages and tests.
#[cfg(test)]
fn input_args(path: &Path, excerpts: &[Excerpt]) -> Vec<std::ffi::OsString> {
    let mut command = Command::new("ffmpeg");
    add_inputs(&mut command, path, excerpts);
    command.get_args().map(std::ffi::OsString::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_parse_and_bad_ones_are_refused() {
        let e = Excerpt::parse("12.5:2").unwrap();
        assert_eq!((e.start, e.duration, e.end()), (12.5, 2.0, 14.5));
        for bad in ["12", "a:2", "1:0", "-1:2", "1:inf", ""] {
            assert!(Excerpt::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn excerpts_outside_the_clip_or_overlapping_are_refused() {
        let e = |s, d| Excerpt {
            start: s,
            duration: d,
        };
        assert!(check(&[e(0.0, 1.0), e(2.0, 1.0)], 10.0).is_ok());
        let late = check(&[e(10.0, 1.0)], 10.0).unwrap_err();
        assert!(late.contains("starts after the clip ends"), "{late}");
        let overlap = check(&[e(0.0, 2.0), e(1.0, 2.0)], 10.0).unwrap_err();
        assert!(overlap.contains("overlap"), "{overlap}");
        // A window running past the end covers only what is there.
        assert_eq!(covered(&[e(0.0, 1.0), e(9.5, 2.0)], 10.0), 1.5);
        assert_eq!(covered(&[], 10.0), 10.0);
    }

    #[test]
    fn each_excerpt_is_an_input_seeking_before_it() {
        let args = input_args(Path::new("a.mkv"), &[Excerpt::parse("3:1.5").unwrap()]);
        assert_eq!(args, ["-ss", "3", "-t", "1.5", "-i", "a.mkv"]);
        assert_eq!(input_args(Path::new("a.mkv"), &[]), ["-i", "a.mkv"]);
    }
}
