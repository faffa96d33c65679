//! Predicted peak device memory of VMAF's sessions.
//!
//! The peaks are the bytes cubecl has in use at the worst moment of a session's work on one
//! frame as the host drives it (the reference prepared with its neighbours and kept, a
//! distorted frame compared with it), measured with the crate's meter. They are linear in
//! the frame's luma samples: every buffer is a plane of 4-byte values at one of the scales
//! (a frame uploaded is 4 bytes a sample; VIF keeps the reference's image, mean and variance
//! at four scales, 16 bytes a sample in all, and filters three planes at a time; ADM keeps
//! the reference's three bands at four scales, 4 bytes a sample, and decouples into five
//! planes of a band). To that come the tables uploaded when a session opens and the small
//! per-row and per-cube sums. `tests.rs` checks the fit on sizes of odd and even halving.

/// Bytes of the tables a session uploads: VIF's logarithms and ADM's reciprocals.
pub(crate) const TABLES: u64 = (1 << 15) * 4 + 32_769 * 4;

/// Peak bytes per luma sample of each metric.
fn per_sample(metric: &str) -> f64 {
    match metric {
        // Two frames, and a column pass and a blur of each.
        "motion" => 20.0,
        // Three frames.
        "motion2" => 24.0,
        "vif" => 32.0,
        // Band sizes round up at each halving: up to 17.2 on odd sizes.
        "adm" => 17.3,
        // VIF's and ADM's references kept while the reference's neighbours are blurred.
        _ => 40.0,
    }
}

/// Predicted peak device bytes of a session of `metric` on `width × height` frames.
pub(crate) fn predict(metric: &str, width: usize, height: usize) -> u64 {
    let samples = (width * height) as f64;
    (per_sample(metric) * samples) as u64 + TABLES + 16 * 1024
}
