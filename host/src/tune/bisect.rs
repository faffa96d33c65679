//! The search: the largest setting in a range whose score meets a target, assuming the score
//! gets worse as the setting rises (CRF, QP), in at most `⌈log2(hi − lo)⌉ + 2` probes.

use std::collections::BTreeMap;

/// How a search ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// The largest setting that meets the target.
    Met(u32),
    /// No setting in the range meets it: the closest is the lowest (best) one.
    NotMet(u32),
}

/// Searches `lo..=hi` for the largest setting whose score `meets` the target. Each setting
/// is probed once at most: the ends first, then points strictly between the last two.
pub fn search<E>(
    (lo, hi): (u32, u32),
    meets: impl Fn(f64) -> bool,
    mut probe: impl FnMut(u32) -> Result<f64, E>,
) -> Result<Found, E> {
    if !meets(probe(lo)?) {
        return Ok(Found::NotMet(lo));
    }
    if lo == hi || meets(probe(hi)?) {
        return Ok(Found::Met(hi));
    }
    // `good` meets the target, `bad` does not, `good < bad`.
    let (mut good, mut bad) = (lo, hi);
    while bad - good > 1 {
        let middle = good + (bad - good) / 2;
        if meets(probe(middle)?) {
            good = middle;
        } else {
            bad = middle;
        }
    }
    Ok(Found::Met(good))
}

/// Pairs of probes that contradict the assumption: a higher setting scoring better than a
/// lower one (`better(a, b)`: `a` is a better score than `b`).
pub fn contradictions(
    scores: &BTreeMap<u32, f64>,
    better: impl Fn(f64, f64) -> bool,
) -> Vec<(u32, u32)> {
    let probes: Vec<(u32, f64)> = scores.iter().map(|(&s, &v)| (s, v)).collect();
    let mut found = Vec::new();
    for (i, &(low, low_score)) in probes.iter().enumerate() {
        for &(high, high_score) in &probes[i + 1..] {
            if better(high_score, low_score) {
                found.push((low, high));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every monotone score curve and target over small ranges: the search finds what a
    /// scan finds, within the probe bound.
    #[test]
    fn the_search_finds_what_a_scan_finds_within_the_bound() {
        for lo in 0..4u32 {
            for hi in lo..lo + 20 {
                for target in 0..30 {
                    let curve = |s: u32| 100.0 - 3.0 * f64::from(s);
                    let meets = |v: f64| v >= 100.0 - 3.0 * f64::from(target);
                    let scan = (lo..=hi).filter(|&s| meets(curve(s))).max();
                    let mut probes = 0;
                    let found = search::<()>((lo, hi), meets, |s| {
                        probes += 1;
                        Ok(curve(s))
                    })
                    .unwrap();
                    match scan {
                        Some(best) => assert_eq!(found, Found::Met(best)),
                        None => assert_eq!(found, Found::NotMet(lo)),
                    }
                    let range = f64::from(hi - lo).max(1.0);
                    let bound = range.log2().ceil() as usize + 2;
                    assert!(probes <= bound, "{probes} probes for {lo}..={hi}");
                }
            }
        }
    }

    #[test]
    fn a_score_that_rises_with_the_setting_is_found_out() {
        let scores = BTreeMap::from([(10, 40.0), (20, 42.0), (30, 35.0)]);
        assert_eq!(contradictions(&scores, |a, b| a > b), [(10, 20)]);
        // Lower is better (butteraugli): 30 scores better than 10 and 20.
        assert_eq!(contradictions(&scores, |a, b| a < b), [(10, 30), (20, 30)]);
    }

    #[test]
    fn a_failing_probe_stops_the_search() {
        let result = search(
            (0, 10),
            |v| v > 0.0,
            // 0 meets the target and 10 does not, so the middle (5) is probed, and fails.
            |s| match s {
                5 => Err("encoder failed"),
                s if s < 8 => Ok(1.0),
                _ => Ok(0.0),
            },
        );
        assert_eq!(result, Err("encoder failed"));
    }
}
