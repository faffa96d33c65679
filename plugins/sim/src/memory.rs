//! The simulated memory a session holds on its GPU.
//!
//! The fake GPU works on `f32` samples (4 bytes) of the colour channels `c` (3 for
//! RGB8 and RGBA8 — alpha is never uploaded — 1 for GRAY8) of `w`×`h` images, plus a
//! fixed context of [`OVERHEAD`] = 1 MiB. With `B = min(h, 64)` ([`BAND_ROWS`]):
//!
//! | mode | bytes | what is held |
//! |---|---|---|
//! | full | `8·w·h·c + 1 MiB` | reference and distorted image, whole |
//! | strip | `4·w·h·c + 4·w·B·c + 1 MiB` | the reference whole, a band of the distorted image |
//! | strip-pair | `8·w·B·c + 1 MiB` | a band of each |
//!
//! So full ≥ strip ≥ strip-pair, all three equal when `h ≤ 64`. A session holds
//! ("allocates") these bytes from opening to closing, prepared references included,
//! and the honest prediction is exactly this figure. The PSNR computed does not
//! depend on the mode.

use qscore_core::{MemoryMode, TaskSpec};

/// Fixed per-session context: 1 MiB.
pub(crate) const OVERHEAD: u64 = 1 << 20;

/// Rows in a band of the strip modes.
pub(crate) const BAND_ROWS: u64 = 64;

/// Bytes a session for `spec` holds, or `None` for a format or mode it does not know
/// (refused earlier by the capability check).
pub(crate) fn session_bytes(spec: &TaskSpec) -> Option<u64> {
    let c = crate::psnr::layout(spec.format)?.1 as u64;
    let (w, h) = (u64::from(spec.width), u64::from(spec.height));
    let band = h.min(BAND_ROWS);
    let plane = |rows: u64| 4 * w * rows * c;
    let images = match spec.mode {
        MemoryMode::FULL => 2 * plane(h),
        MemoryMode::STRIP => plane(h) + plane(band),
        MemoryMode::STRIP_PAIR => 2 * plane(band),
        _ => return None,
    };
    Some(images + OVERHEAD)
}

#[cfg(test)]
mod tests {
    use qscore_core::PixelFormat;

    use super::*;

    fn bytes(w: u32, h: u32, format: PixelFormat, mode: MemoryMode) -> u64 {
        session_bytes(&TaskSpec::new("psnr", w, h, format, mode)).unwrap()
    }

    #[test]
    fn formulas_by_mode() {
        const MIB: u64 = 1 << 20;
        // 512×512 RGB: one f32 image is 4·512·512·3 = 3 MiB; a 64-row band 384 KiB.
        assert_eq!(
            bytes(512, 512, PixelFormat::RGB8, MemoryMode::FULL),
            7 * MIB
        );
        assert_eq!(
            bytes(512, 512, PixelFormat::RGB8, MemoryMode::STRIP),
            4 * MIB + 384 * 1024
        );
        assert_eq!(
            bytes(512, 512, PixelFormat::RGB8, MemoryMode::STRIP_PAIR),
            MIB + 768 * 1024
        );
        // Alpha is not uploaded; grey has one channel.
        assert_eq!(
            bytes(512, 512, PixelFormat::RGBA8, MemoryMode::FULL),
            7 * MIB
        );
        assert_eq!(
            bytes(100, 10, PixelFormat::GRAY8, MemoryMode::FULL),
            8000 + MIB
        );
        // Short images: one band covers them, every mode holds the same.
        for mode in [MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR] {
            assert_eq!(bytes(100, 10, PixelFormat::GRAY8, mode), 8000 + MIB);
        }
        // The largest accepted image does not overflow.
        let huge = bytes(1 << 16, 1 << 16, PixelFormat::RGB8, MemoryMode::FULL);
        assert_eq!(huge, 24 * (1 << 32) + MIB);
        assert_eq!(
            session_bytes(&TaskSpec::new(
                "psnr",
                1,
                1,
                PixelFormat::RGB16,
                MemoryMode::FULL
            )),
            None
        );
    }
}
