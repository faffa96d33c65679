//! Picks the worker of a lane that gets a task.
//!
//! A task with an affinity key goes to the least-loaded worker holding the key (the first
//! worker that received it); a key seen for the first time, or no key, goes to the
//! least-loaded worker (fewest queued + running). Ties rotate, so an idle lane spreads its
//! tasks over all its workers. With a spill threshold `t`, a key whose holders all have at
//! least `t` tasks gains, as a holder, the least-loaded other worker that has at least `t`
//! fewer: one more reference preparation buys a worker's worth of parallelism. (Waiting for
//! a worker to be idle was not enough: in a sweep of one reference scored with a heavy and
//! a light metric, the light metric's worker always had a task queued, and one worker did
//! two thirds of the work.)

use std::{
    collections::HashMap,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering::Relaxed},
    },
};

/// Where a task goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Route {
    /// Worker index within the lane.
    pub(crate) worker: usize,
    /// Whether an affinity key chose (or now pins) the worker.
    pub(crate) by_affinity: bool,
}

/// The routing state of one lane.
#[derive(Debug, Default)]
pub(crate) struct Router {
    /// Affinity key → the workers holding it; keys are never forgotten.
    sticky: Mutex<HashMap<u64, Vec<usize>>>,
    /// Where the next least-loaded scan starts.
    next: AtomicUsize,
    /// Holder load at which a key may spread to an idle worker.
    spill: Option<usize>,
}

impl Router {
    /// A router; `spill` as in [`crate::pool::LaneConfig::affinity_spill`].
    pub(crate) fn new(spill: Option<usize>) -> Self {
        Self {
            spill,
            ..Self::default()
        }
    }

    /// Routes a task over `workers` workers whose loads `load` reports.
    pub(crate) fn route(
        &self,
        affinity: Option<u64>,
        workers: usize,
        load: impl Fn(usize) -> usize,
    ) -> Route {
        match affinity {
            None => Route {
                worker: self.least_loaded(workers, &load),
                by_affinity: false,
            },
            Some(key) => {
                // Held across the choice so concurrent submitters agree on the holders.
                let mut sticky = self.sticky.lock().unwrap_or_else(PoisonError::into_inner);
                let holders = sticky.entry(key).or_default();
                if holders.is_empty() {
                    holders.push(self.least_loaded(workers, &load));
                }
                let (mut worker, least_holder_load) = holders
                    .iter()
                    .map(|&w| (w, load(w)))
                    .min_by_key(|&(_, l)| l)
                    .unwrap_or((holders[0], 0));
                if let Some(threshold) = self.spill
                    && least_holder_load >= threshold
                    && let Some((lighter, _)) = (0..workers)
                        .filter(|w| !holders.contains(w))
                        .map(|w| (w, load(w)))
                        .filter(|&(_, l)| l + threshold <= least_holder_load)
                        .min_by_key(|&(_, l)| l)
                {
                    holders.push(lighter);
                    worker = lighter;
                }
                Route {
                    worker,
                    by_affinity: true,
                }
            }
        }
    }

    /// Distinct keys pinned so far.
    pub(crate) fn keys(&self) -> usize {
        self.sticky
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn least_loaded(&self, workers: usize, load: &impl Fn(usize) -> usize) -> usize {
        if workers == 1 {
            return 0;
        }
        let start = self.next.fetch_add(1, Relaxed) % workers;
        let mut best = start;
        let mut best_load = load(start);
        for i in 1..workers {
            if best_load == 0 {
                break;
            }
            let w = (start + i) % workers;
            let l = load(w);
            if l < best_load {
                best = w;
                best_load = l;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_workers_take_turns() {
        let r = Router::default();
        let picks: Vec<_> = (0..6).map(|_| r.route(None, 3, |_| 0).worker).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn least_loaded_wins() {
        let r = Router::default();
        let loads = [3, 1, 2, 5];
        for _ in 0..8 {
            assert_eq!(r.route(None, 4, |w| loads[w]).worker, 1);
        }
    }

    #[test]
    fn keys_stick_to_their_first_worker() {
        let r = Router::default();
        let first = r.route(Some(7), 4, |w| [2, 2, 0, 2][w]);
        assert_eq!(
            first,
            Route {
                worker: 2,
                by_affinity: true
            }
        );
        // Even when that worker becomes the busiest.
        assert_eq!(r.route(Some(7), 4, |w| [0, 0, 9, 0][w]).worker, 2);
        assert_eq!(r.route(Some(8), 4, |w| [0, 0, 9, 0][w]).worker, 1);
        assert_eq!(r.keys(), 2);
    }

    #[test]
    fn a_busy_key_spills_to_an_idle_worker_only_when_allowed() {
        let r = Router::new(Some(2));
        assert_eq!(r.route(Some(7), 3, |_| 0).worker, 0);
        // Holder not busy enough: stays.
        assert_eq!(r.route(Some(7), 3, |w| [1, 0, 0][w]).worker, 0);
        // Holder busy, worker 1 idle: worker 1 becomes a holder (worker 2 is not 2 lighter).
        assert_eq!(r.route(Some(7), 3, |w| [2, 0, 1][w]).worker, 1);
        // Now the least loaded holder takes it; worker 2 is not lighter by the threshold.
        assert_eq!(r.route(Some(7), 3, |w| [3, 2, 1][w]).worker, 1);
        assert_eq!(r.route(Some(7), 3, |w| [1, 2, 5][w]).worker, 0);
        assert_eq!(r.keys(), 1);
    }

    #[test]
    fn a_busy_key_spills_to_a_lighter_worker_that_is_not_idle() {
        let r = Router::new(Some(2));
        assert_eq!(r.route(Some(7), 2, |_| 0).worker, 0);
        // Worker 1 always has a task of its own, but 2 fewer than the holder.
        assert_eq!(r.route(Some(7), 2, |w| [3, 1][w]).worker, 1);
        // Both hold the key now: the lighter takes it.
        assert_eq!(r.route(Some(7), 2, |w| [1, 4][w]).worker, 0);
    }
}
