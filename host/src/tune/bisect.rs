//! The search: the largest setting in a range whose score meets a target, assuming the score
//! gets worse as the setting rises (CRF, QP).
//!
//! The search goes in rounds of `k` probes that split the settings still in doubt into
//! `k + 1` equal parts, so that `k` encodes can run at once. With `k = 1` it is a bisection:
//! at most `⌈log2(hi − lo + 2)⌉` probes (never more than `⌈log2(hi − lo)⌉ + 2`); with `k`
//! probes a round, at most `⌈log_{k+1}(hi − lo + 2)⌉` rounds.

use std::collections::BTreeMap;

/// How a search ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// The largest setting that meets the target.
    Met(u32),
    /// No setting in the range meets it: the closest is the lowest (best) one.
    NotMet(u32),
}

/// A search of `lo..=hi` in progress.
///
/// `good` is the largest setting known to meet the target (`lo − 1` while none is known),
/// `bad` the smallest known not to (`hi + 1` while none is): the answer lies in
/// `good..bad`, and the search ends when nothing lies strictly between them.
#[derive(Debug, Clone)]
pub struct Search {
    lo: u32,
    good: i64,
    bad: i64,
}

impl Search {
    /// A search of `lo..=hi` (`lo <= hi`).
    pub fn new((lo, hi): (u32, u32)) -> Self {
        Self {
            lo,
            good: i64::from(lo) - 1,
            bad: i64::from(hi) + 1,
        }
    }

    /// Up to `k` settings to probe next, in ascending order, evenly spread over those in
    /// doubt; none once the search has ended.
    pub fn next(&self, k: usize) -> Vec<u32> {
        let gap = self.bad - self.good;
        let count = (k.max(1) as i64).min(gap - 1);
        (1..=count)
            .map(|i| u32::try_from(self.good + i * gap / (count + 1)).expect("inside the range"))
            .collect()
    }

    /// Learns whether each setting of a round meets the target. A setting that meets it
    /// above one that does not is a contradiction (reported by [`contradictions`]) and is
    /// not believed.
    pub fn learn(&mut self, results: &[(u32, bool)]) {
        let mut sorted: Vec<(i64, bool)> = results
            .iter()
            .map(|&(s, meets)| (i64::from(s), meets))
            .filter(|&(s, _)| s > self.good && s < self.bad)
            .collect();
        sorted.sort_unstable();
        for (setting, meets) in sorted {
            if !meets {
                self.bad = setting;
                break;
            }
            self.good = setting;
        }
    }

    /// The answer, once the search has ended.
    pub fn found(&self) -> Option<Found> {
        if self.bad - self.good > 1 {
            return None;
        }
        Some(match u32::try_from(self.good) {
            Ok(good) if good >= self.lo => Found::Met(good),
            _ => Found::NotMet(self.lo),
        })
    }
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

    /// Every monotone score curve and target over small ranges, for 1 to 4 probes a round:
    /// the search finds what a scan finds, within the bounds on probes and rounds.
    #[test]
    fn the_search_finds_what_a_scan_finds_within_the_bound() {
        for k in 1..=4usize {
            for lo in 0..4u32 {
                for hi in lo..lo + 40 {
                    for target in 0..50 {
                        let curve = |s: u32| 100.0 - 3.0 * f64::from(s);
                        let meets = |v: f64| v >= 100.0 - 3.0 * f64::from(target);
                        let scan = (lo..=hi).filter(|&s| meets(curve(s))).max();
                        let (mut probes, mut rounds, mut seen) = (0, 0, Vec::new());
                        let mut search = Search::new((lo, hi));
                        while search.found().is_none() {
                            let round = search.next(k);
                            assert!(!round.is_empty() && round.len() <= k);
                            assert!(round.iter().all(|s| (lo..=hi).contains(s)));
                            assert!(round.iter().all(|s| !seen.contains(s)), "probed twice");
                            seen.extend(&round);
                            (probes, rounds) = (probes + round.len(), rounds + 1);
                            let results: Vec<_> =
                                round.iter().map(|&s| (s, meets(curve(s)))).collect();
                            search.learn(&results);
                        }
                        match scan {
                            Some(best) => assert_eq!(search.found(), Some(Found::Met(best))),
                            None => assert_eq!(search.found(), Some(Found::NotMet(lo))),
                        }
                        // The chosen setting was probed.
                        let chosen = match search.found() {
                            Some(Found::Met(s) | Found::NotMet(s)) => s,
                            None => unreachable!(),
                        };
                        assert!(seen.contains(&chosen), "{chosen} not probed");
                        let doubt = f64::from(hi - lo + 2);
                        let round_bound = (doubt.ln() / (k as f64 + 1.0).ln() - 1e-9).ceil();
                        assert!(rounds as f64 <= round_bound, "{rounds} rounds, k {k}");
                        if k == 1 {
                            let range = f64::from(hi - lo).max(1.0);
                            let bound = range.log2().ceil() as usize + 2;
                            assert!(probes <= bound, "{probes} probes for {lo}..={hi}");
                        }
                    }
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
    fn a_contradicting_round_keeps_the_lowest_failure() {
        let mut search = Search::new((0, 10));
        // 3 meets, 6 does not, 8 meets again: the answer is searched below 6.
        search.learn(&[(3, true), (6, false), (8, true)]);
        assert_eq!(search.next(1), [4]);
    }
}
