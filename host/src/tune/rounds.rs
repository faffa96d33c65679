//! The searches of a tune, run in rounds: each round takes the next settings of every
//! encoder's search (several per search when `--jobs` allows), encodes them at once, and
//! scores all of that round's encodes against the reference in one lock-step group, so
//! that the reference is decoded and prepared once a round for every encoder.

use std::{collections::BTreeMap, path::PathBuf, time::Instant};

use super::{
    Probe, TuneError, TuneOptions,
    bisect::Search,
    cache::ProbeCache,
    encode::{Encoded, dispose, encode},
    encoders::{self, Encoder},
    workdir::WorkFolder,
};
use crate::{
    LoadReport,
    sched::Scheduler,
    video::{VideoJob, excerpt::Excerpt, score_videos},
};

/// One encoder's search.
pub(super) struct Lane {
    pub(super) encoder: &'static Encoder,
    pub(super) search: Search,
    /// Every probe so far, by setting.
    pub(super) probes: BTreeMap<u32, Probe>,
    pub(super) cache: ProbeCache,
    /// The settings of the round in progress.
    pending: Vec<u32>,
}

impl Lane {
    pub(super) fn new(encoder: &'static Encoder, range: (u32, u32), cache: ProbeCache) -> Self {
        Self {
            encoder,
            search: Search::new(range),
            probes: BTreeMap::new(),
            cache,
            pending: Vec::new(),
        }
    }

    /// The settings of this lane's next round that no earlier run probed, taking rounds
    /// the probe cache answers whole; none when the search has ended.
    fn next_to_encode(&mut self, k: usize, meets: impl Fn(f64) -> bool) -> Vec<u32> {
        loop {
            let round = self.search.next(k);
            if round.is_empty() {
                return round;
            }
            let mut missing = Vec::new();
            for &crf in &round {
                match self.cache.get(crf) {
                    Some(probe) => {
                        self.probes.insert(crf, probe);
                    }
                    None => missing.push(crf),
                }
            }
            if !missing.is_empty() {
                self.pending = round;
                return missing;
            }
            self.learn(&round, &meets);
        }
    }

    fn learn(&mut self, round: &[u32], meets: impl Fn(f64) -> bool) {
        let results: Vec<(u32, bool)> = round
            .iter()
            .map(|crf| (*crf, meets(self.probes[crf].score)))
            .collect();
        self.search.learn(&results);
    }

    /// The size to expect of a new encode: the largest so far, else `guess`.
    fn expected_bytes(&self, guess: u64) -> u64 {
        self.probes.values().map(|p| p.bytes).max().unwrap_or(guess)
    }
}

/// One encode to make.
#[derive(Clone)]
pub(super) struct Task {
    pub(super) encoder: &'static Encoder,
    pub(super) crf: u32,
    /// Its expected size, for the free-space check.
    pub(super) expected: u64,
}

/// Encodes and scores probes.
pub(super) struct Prober<'a> {
    pub(super) report: &'a LoadReport,
    pub(super) scheduler: &'a Scheduler,
    pub(super) options: &'a TuneOptions,
    pub(super) work: &'a WorkFolder,
    /// Rounds of encodes scored so far.
    pub(super) rounds: std::cell::Cell<usize>,
}

impl Prober<'_> {
    /// Whether a pooled score meets the target.
    pub(super) fn meets(&self, score: f64) -> bool {
        let target = self.options.target.1;
        if encoders::lower_is_better(&self.options.target.0) {
            score <= target
        } else {
            score >= target
        }
    }

    /// Runs every lane's search to its end; `guess` is the expected size of a lane's first
    /// encode.
    pub(super) fn search(&self, lanes: &mut [Lane], guess: u64) -> Result<(), TuneError> {
        loop {
            let active = lanes.iter().filter(|l| l.search.found().is_none()).count();
            if active == 0 {
                return Ok(());
            }
            let k = (self.options.jobs / active).max(1);
            let mut wanted: Vec<(usize, Task)> = Vec::new();
            for (index, lane) in lanes.iter_mut().enumerate() {
                let expected = lane.expected_bytes(guess);
                for crf in lane.next_to_encode(k, |s| self.meets(s)) {
                    let encoder = lane.encoder;
                    wanted.push((
                        index,
                        Task {
                            encoder,
                            crf,
                            expected,
                        },
                    ));
                }
            }
            let tasks: Vec<Task> = wanted.iter().map(|(_, t)| t.clone()).collect();
            let probes = self.probe(&tasks, &self.options.samples)?;
            for ((index, task), probe) in wanted.iter().zip(probes) {
                lanes[*index].cache.record(&probe);
                lanes[*index].probes.insert(task.crf, probe);
            }
            for lane in lanes.iter_mut() {
                let round = std::mem::take(&mut lane.pending);
                if !round.is_empty() {
                    lane.learn(&round, |s| self.meets(s));
                }
            }
        }
    }

    /// Encodes `excerpts` of the reference (all of it when none) for every task, `--jobs` at
    /// once, then scores every encode in one group; each encode is gone once scored (or
    /// kept in `--keep-encodes`).
    pub(super) fn probe(
        &self,
        tasks: &[Task],
        excerpts: &[Excerpt],
    ) -> Result<Vec<Probe>, TuneError> {
        if tasks.is_empty() {
            return Ok(Vec::new());
        }
        self.work
            .check_space(tasks.iter().map(|t| t.expected).sum())?;
        // A failed encode ends the run: the others are removed with the work folder.
        let done = self
            .encode_all(tasks, excerpts)
            .into_iter()
            .collect::<Result<Vec<Encoded>, TuneError>>()?;
        let scored = self.score_all(&done, excerpts);
        self.rounds.set(self.rounds.get() + 1);
        let keep = scored
            .is_ok()
            .then_some(())
            .and(self.options.keep_encodes.as_deref());
        for encode in &done {
            dispose(encode, keep, &self.options.reference);
        }
        let (scores, seconds) = scored?;
        // A probe's time is its encode and its share of the round's scoring.
        let share = seconds / tasks.len() as f64;
        Ok(tasks
            .iter()
            .zip(done)
            .zip(scores)
            .map(|((task, encode), score)| Probe {
                crf: task.crf,
                score,
                bytes: encode.bytes,
                seconds: encode.seconds + share,
                cached: false,
            })
            .collect())
    }

    /// Every task's encode, up to `--jobs` at once.
    fn encode_all(&self, tasks: &[Task], excerpts: &[Excerpt]) -> Vec<Result<Encoded, TuneError>> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<Result<Encoded, TuneError>>>> =
            tasks.iter().map(|_| Default::default()).collect();
        std::thread::scope(|scope| {
            for _ in 0..self.options.jobs.clamp(1, tasks.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(task) = tasks.get(i) else { break };
                        let result = encode(
                            self.options,
                            task.encoder,
                            task.crf,
                            excerpts,
                            &self.work.path,
                        );
                        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(TuneError::Request("an encoder thread stopped".into())))
            })
            .collect()
    }

    /// The pooled score of every encode, from one lock-step group, and the seconds it took.
    fn score_all(
        &self,
        encodes: &[Encoded],
        excerpts: &[Excerpt],
    ) -> Result<(Vec<f64>, f64), TuneError> {
        let started = Instant::now();
        let options = self.options;
        let job = VideoJob {
            metrics: vec![options.target.0.clone()],
            params: options.params.clone(),
            geometry: None,
            frames: None,
            deadline: None,
            reference_excerpts: excerpts.to_vec(),
            scale: options.scale,
            subsample: options.subsample,
        };
        let paths: Vec<PathBuf> = encodes.iter().map(|e| e.path.clone()).collect();
        let mut results = Vec::with_capacity(paths.len());
        score_videos(
            self.report,
            self.scheduler,
            &job,
            &options.clips,
            &options.reference,
            &paths,
            |_, scores| results.push(scores),
        )?;
        let scores = results
            .into_iter()
            .map(|scores| options.pooled_score(&scores?))
            .collect::<Result<Vec<f64>, TuneError>>()?;
        Ok((scores, started.elapsed().as_secs_f64()))
    }
}
