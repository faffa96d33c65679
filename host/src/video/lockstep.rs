//! How many distorted clips of one reference are read in lock step by default.
//!
//! A lock-step group reads and prepares its reference once for all its clips, and each of
//! its clips holds frames while the group runs. The default group is as large as fits
//! [`LOCKSTEP_FRAME_BUDGET`] of held frames, between [`MIN_LOCKSTEP`] and [`MAX_LOCKSTEP`]
//! clips: a sweep of small clips prepares its reference once; one of 4K clips still holds a
//! bounded number of frames. `--max-concurrent-decodes` sets the size instead.

use std::path::Path;

use super::{VideoGeometry, open_video};

/// Bytes of frames the default lock-step group may hold.
pub(crate) const LOCKSTEP_FRAME_BUDGET: u64 = 1 << 30;
/// The smallest default group.
pub(crate) const MIN_LOCKSTEP: usize = 4;
/// The largest default group.
pub(crate) const MAX_LOCKSTEP: usize = 64;

/// The default lock-step group size for clips of `frame_bytes` per frame: a clip of the
/// group holds its frames in flight (four per worker), its decoder's read-ahead and the
/// metrics' window (eight at most).
pub fn default_lockstep(frame_bytes: u64, workers: usize) -> usize {
    let held = frame_bytes.max(1) * (4 * workers as u64 + 8);
    let fit = usize::try_from(LOCKSTEP_FRAME_BUDGET / held).unwrap_or(MAX_LOCKSTEP);
    fit.clamp(MIN_LOCKSTEP, MAX_LOCKSTEP)
}

/// [`default_lockstep`] for clips of the reference at `path` (`geometry` for raw YUV), read
/// from its header; [`MIN_LOCKSTEP`] when it cannot be read (scoring will say why).
pub fn lockstep_for(path: &Path, geometry: Option<VideoGeometry>, workers: usize) -> usize {
    let frame_bytes = match geometry {
        Some(geometry) => Ok(geometry.frame_bytes()),
        None => open_video(path, None).map(|source| source.geometry().frame_bytes()),
    };
    frame_bytes.map_or(MIN_LOCKSTEP, |bytes| default_lockstep(bytes, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_lockstep_fits_the_frame_budget() {
        // 640x360 4:2:0 on 2 workers: far under the budget, so the most.
        assert_eq!(default_lockstep(345_600, 2), MAX_LOCKSTEP);
        // 1920x1080 4:2:0 on 2 workers: 16 frames of 3 MB per clip.
        assert_eq!(default_lockstep(3_110_400, 2), 21);
        // 3840x2160 10-bit on 64 workers: the floor.
        assert_eq!(default_lockstep(24_883_200, 64), MIN_LOCKSTEP);
    }
}
