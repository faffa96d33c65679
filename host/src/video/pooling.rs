//! Pooling per-frame values into one number per clip.

/// Summary statistics of one value over a clip's frames.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pooled {
    /// Arithmetic mean (what `scores` reports, as libvmaf does).
    pub mean: f64,
    /// libvmaf's harmonic mean: `n / Σ 1/(v + 1) − 1`.
    pub harmonic_mean: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 5th percentile.
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// The `p`-th percentile (0–100) of sorted `values`, interpolating linearly between the
/// closest ranks (rank = p/100 · (n − 1)), as NumPy's default does.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64)
}

/// Pools `values`; `None` when there are none. Infinite values (PSNR of identical
/// frames) make the mean infinite, as they should.
pub fn pool(values: &[f64]) -> Option<Pooled> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Pooled {
        mean: values.iter().sum::<f64>() / n,
        harmonic_mean: n / values.iter().map(|v| 1.0 / (v + 1.0)).sum::<f64>() - 1.0,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        p5: percentile(&sorted, 5.0),
        p50: percentile(&sorted, 50.0),
        p95: percentile(&sorted, 95.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_statistics_by_hand() {
        // Values 1..=5: mean 3; harmonic n/Σ1/(v+1) − 1 = 5/(1/2+1/3+1/4+1/5+1/6) − 1 = 5/1.45 − 1.
        let p = pool(&[3.0, 1.0, 5.0, 2.0, 4.0]).unwrap();
        assert_eq!(p.mean, 3.0);
        assert!(
            (p.harmonic_mean - (5.0 / 1.45 - 1.0)).abs() < 1e-12,
            "{p:?}"
        );
        assert_eq!((p.min, p.max, p.p50), (1.0, 5.0, 3.0));
        // rank 0.05·4 = 0.2 → 1 + 0.2·(2 − 1); rank 3.8 → 4 + 0.8·(5 − 4).
        assert!(
            (p.p5 - 1.2).abs() < 1e-12 && (p.p95 - 4.8).abs() < 1e-12,
            "{p:?}"
        );
        assert_eq!(pool(&[7.0]).unwrap().p95, 7.0);
        assert!(pool(&[]).is_none());
        // Identical values: the harmonic mean equals them.
        assert!((pool(&[0.9, 0.9]).unwrap().harmonic_mean - 0.9).abs() < 1e-12);
    }
}
