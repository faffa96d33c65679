//! The pipeline: a feeder streams the manifest into work, a few decoders (bounded by the
//! decode limiter) turn work into decoded pairs, the coordinator submits pairs to the
//! scheduler's pool and collects their results, and every finished row goes to the one
//! writer. Every channel is bounded, so memory does not grow with the manifest.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use qscore_core::OwnedImage;

use super::{
    record::{DoneRow, Stage},
    work::Work,
    writer::Event,
};
use crate::{
    InputError, LoadReport, ScoreError,
    decode::{decode_image, decode_image_as},
    decode_limit::DecodeLimiter,
    pool::TaskId,
    sched::{Reference, Scheduler, ScoreFailure, ScoreOutcome, ScoreRequest},
    score::{MetricScores, kept_values, metric_params},
    video::{
        ClipOptions, ClipPlan, Deadline, VideoJob, VideoScores, lockstep_for, score_video_pairs,
    },
};

/// How long the coordinator waits for each further video row to score together.
const GATHER_WAIT: Duration = Duration::from_millis(100);

/// Metrics per row at most (scheduler tags hold the metric in their low byte).
pub(crate) const MAX_METRICS: usize = 256;

/// A pair ready for scoring, or why not.
#[derive(Debug)]
pub(crate) enum Decoded {
    Image {
        work: Work,
        reference: Reference,
        distorted: Arc<OwnedImage>,
        started: Instant,
    },
    /// Video rows decode frame by frame while they are scored.
    Video(Work),
    Failed(Work, Stage, String),
}

/// Options the stages share.
#[derive(Debug, Clone)]
pub(crate) struct StageOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) params: Vec<(String, String, String)>,
    /// Pairs in the scheduler at once.
    pub(crate) window: usize,
    /// Video metrics that need clip sessions: which plugin, how many clips at once.
    pub(crate) clips: ClipOptions,
    /// Clips of one reference read in lock step (`None`: sized by their frames).
    pub(crate) lockstep: Option<usize>,
    /// Distorted clips decoded to their reference's size and format with this scaler.
    pub(crate) scale: Option<crate::video::Scaler>,
    /// Score every Nth frame of a clip.
    pub(crate) subsample: u64,
}

/// The last reference a decoder read, reused while rows share it.
type LastReference = Option<(PathBuf, Result<Reference, InputError>)>;

fn same_size(
    work: &Work,
    reference: &OwnedImage,
    image: OwnedImage,
) -> Result<OwnedImage, InputError> {
    if (image.width, image.height) == (reference.width, reference.height) {
        return Ok(image);
    }
    Err(InputError {
        path: work.distorted.clone(),
        reason: format!(
            "is {}x{} but the reference {} is {}x{}",
            image.width,
            image.height,
            work.reference.display(),
            reference.width,
            reference.height
        ),
    })
}

fn decode_reference(path: &Path, last: &mut LastReference) -> Result<Reference, InputError> {
    if let Some((cached, result)) = last
        && cached == path
    {
        return result.clone();
    }
    let result = decode_image(path).map(|image| Reference::new(Arc::new(image)));
    *last = Some((path.to_path_buf(), result.clone()));
    result
}

/// One decoder: runs until its input closes or the coordinator stops listening.
pub(crate) fn decoder(
    input: &Receiver<Work>,
    output: &Sender<Decoded>,
    limiter: &DecodeLimiter,
    options: &StageOptions,
    stop: &AtomicBool,
) {
    let mut last: LastReference = None;
    for work in input {
        if stop.load(Ordering::Relaxed) {
            continue;
        }
        let decoded = if work.video {
            Decoded::Video(work)
        } else {
            let started = Instant::now();
            let permit = limiter.acquire();
            let result = decode_reference(&work.reference, &mut last).and_then(|reference| {
                let image = decode_image_as(&work.distorted, reference.image.format)?;
                let image = same_size(&work, &reference.image, image)?;
                Ok((reference, image))
            });
            drop(permit);
            match result {
                Err(error) => {
                    let reason = error.to_string();
                    Decoded::Failed(work, Stage::Decode, reason)
                }
                Ok(_) if options.timeout.is_some_and(|t| started.elapsed() > t) => {
                    let reason = format!(
                        "decoding took {:.1} s, more than --task-timeout",
                        started.elapsed().as_secs_f64()
                    );
                    Decoded::Failed(work, Stage::Timeout, reason)
                }
                Ok((reference, image)) => Decoded::Image {
                    work,
                    reference,
                    distorted: Arc::new(image),
                    started,
                },
            }
        };
        if output.send(decoded).is_err() {
            return;
        }
    }
}

/// A pair in the scheduler.
struct Pair {
    work: Work,
    started: Instant,
    remaining: usize,
    values: Vec<Option<MetricScores>>,
    tasks: Vec<TaskId>,
}

/// What the ladder tried, for the ledger.
fn tried(failure: &ScoreFailure) -> Vec<String> {
    match failure {
        ScoreFailure::Ladder(error) => error.attempts().iter().map(ToString::to_string).collect(),
        ScoreFailure::NoCandidate { considered } => considered
            .iter()
            .map(|c| format!("{}/{} {}: {}", c.plugin, c.device, c.mode, c.reason))
            .collect(),
        _ => Vec::new(),
    }
}

fn stage_of(error: &ScoreError) -> Stage {
    match error {
        ScoreError::Input(_) => Stage::Decode,
        ScoreError::TimedOut { .. } => Stage::Timeout,
        _ => Stage::Score,
    }
}

/// The coordinator's state.
pub(crate) struct Coordinator<'a> {
    pub(crate) report: &'a LoadReport,
    pub(crate) scheduler: &'a Scheduler,
    pub(crate) limiter: &'a DecodeLimiter,
    pub(crate) options: StageOptions,
    pub(crate) events: Sender<Event>,
    pairs: HashMap<u64, Pair>,
    /// An item taken from the queue while gathering video rows, to be handled next.
    held: Option<Decoded>,
}

impl std::fmt::Debug for Coordinator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator")
            .field("pairs", &self.pairs.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Coordinator<'a> {
    pub(crate) fn new(
        report: &'a LoadReport,
        scheduler: &'a Scheduler,
        limiter: &'a DecodeLimiter,
        options: StageOptions,
        events: Sender<Event>,
    ) -> Self {
        Self {
            report,
            scheduler,
            limiter,
            options,
            events,
            pairs: HashMap::new(),
            held: None,
        }
    }

    fn emit(&self, event: Event) {
        // The writer outlives the coordinator; a send fails only if it stopped, and then
        // the run is stopping too.
        let _ = self.events.send(event);
    }

    /// Runs until the decoders are done (or `stop`), then waits for what is in flight.
    pub(crate) fn run(&mut self, decoded: &Receiver<Decoded>, stop: &AtomicBool) {
        let mut open = true;
        loop {
            if stop.load(Ordering::SeqCst) {
                self.abandon();
                return;
            }
            while self.pairs.len() < self.options.window {
                let Some(item) = self.next_item(decoded, &mut open) else {
                    break;
                };
                self.take(item, decoded);
            }
            if self.scheduler.pending() > 0 {
                if let Some(outcome) = self.scheduler.poll_timeout(Duration::from_millis(20)) {
                    self.collect(outcome);
                    while let Some(outcome) = self.scheduler.poll() {
                        self.collect(outcome);
                    }
                }
            } else if open {
                match decoded.recv_timeout(Duration::from_millis(50)) {
                    Ok(item) => self.take(item, decoded),
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => open = false,
                }
            } else if self.held.is_none() {
                // Nothing pending and nothing more to come: every pair has finished.
                return;
            }
            self.check_deadlines();
        }
    }

    /// The held item, else the next decoded one if there is one now.
    fn next_item(&mut self, decoded: &Receiver<Decoded>, open: &mut bool) -> Option<Decoded> {
        if let Some(item) = self.held.take() {
            return Some(item);
        }
        if !*open {
            return None;
        }
        match decoded.try_recv() {
            Ok(item) => Some(item),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                *open = false;
                None
            }
        }
    }

    fn take(&mut self, item: Decoded, decoded: &Receiver<Decoded>) {
        match item {
            Decoded::Failed(work, stage, reason) => {
                let failure = work.failure(stage, reason, Vec::new());
                self.emit(Event::Failed(failure));
            }
            Decoded::Video(work) => self.video(work, decoded),
            Decoded::Image {
                work,
                reference,
                distorted,
                started,
            } => self.submit(work, reference, distorted, started),
        }
    }

    fn submit(
        &mut self,
        work: Work,
        reference: Reference,
        distorted: Arc<OwnedImage>,
        started: Instant,
    ) {
        let metrics = work.plan.requests.len();
        let mut pair = Pair {
            started,
            remaining: metrics,
            values: vec![None; metrics],
            tasks: Vec::with_capacity(metrics),
            work,
        };
        let seq = pair.work.seq;
        for (m, request) in pair.work.plan.requests.iter().enumerate().take(MAX_METRICS) {
            let submitted = self.scheduler.submit(ScoreRequest {
                reference: reference.clone(),
                distorted: Arc::clone(&distorted),
                neighbours: None,
                metric: request.metric.clone(),
                params: metric_params(&self.options.params, &request.metric),
                references: 1,
                comparisons: 1,
                tag: (seq << 8) | m as u64,
            });
            match submitted {
                Ok(id) => pair.tasks.push(id),
                Err(error) => {
                    for id in &pair.tasks {
                        self.scheduler.cancel(*id);
                    }
                    let failure = pair.work.failure(
                        Stage::Score,
                        format!("worker pool: {error}"),
                        Vec::new(),
                    );
                    self.emit(Event::Failed(failure));
                    return;
                }
            }
        }
        self.pairs.insert(seq, pair);
    }

    fn collect(&mut self, outcome: ScoreOutcome) {
        let (seq, m) = (outcome.tag >> 8, (outcome.tag & 0xff) as usize);
        // A pair already failed or timed out: its late results are dropped.
        let Some(pair) = self.pairs.get_mut(&seq) else {
            return;
        };
        match outcome.result {
            Ok(scored) => {
                pair.values[m] = Some(kept_values(&pair.work.plan.requests[m], scored));
                pair.remaining -= 1;
                if pair.remaining == 0 {
                    let pair = self.pairs.remove(&seq).expect("present above");
                    self.finish(pair);
                }
            }
            Err(failure) => {
                let pair = self.pairs.remove(&seq).expect("present above");
                for id in &pair.tasks {
                    self.scheduler.cancel(*id);
                }
                let metric = &pair.work.plan.requests[m].metric;
                let reason = format!("{}: {metric}: {failure}", pair.work.distorted.display());
                let record = pair.work.failure(Stage::Score, reason, tried(&failure));
                self.emit(Event::Failed(record));
            }
        }
    }

    fn finish(&self, pair: Pair) {
        let mut scores = Vec::new();
        let mut backends = Vec::new();
        for (request, entry) in pair.work.plan.requests.iter().zip(pair.values) {
            if let Some((values, backend)) = entry {
                scores.extend(values);
                backends.push((request.metric.clone(), backend));
            }
        }
        self.done(pair.work, scores, backends);
    }

    fn done(
        &self,
        work: Work,
        scores: Vec<(String, f64)>,
        backends: Vec<(String, crate::Backend)>,
    ) {
        if let Some((name, _)) = scores
            .iter()
            .find(|(name, _)| work.carried.iter().any(|(c, _)| c == name))
        {
            let reason =
                format!("score {name:?} has the name of a manifest column; rename that column");
            let failure = work.failure(Stage::Score, reason, Vec::new());
            self.emit(Event::Failed(failure));
            return;
        }
        self.emit(Event::Done(DoneRow {
            key: work.key,
            line: work.line,
            carried: work.carried,
            scores,
            backends,
        }));
    }

    fn check_deadlines(&mut self) {
        let Some(timeout) = self.options.timeout else {
            return;
        };
        let late: Vec<u64> = self
            .pairs
            .iter()
            .filter(|(_, p)| p.started.elapsed() > timeout)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in late {
            let pair = self.pairs.remove(&seq).expect("listed above");
            for id in &pair.tasks {
                self.scheduler.cancel(*id);
            }
            let reason = format!(
                "not scored within --task-timeout {:.1} s",
                timeout.as_secs_f64()
            );
            let failure = pair.work.failure(Stage::Timeout, reason, Vec::new());
            self.emit(Event::Failed(failure));
        }
    }

    /// The most rows of one video group: clip-session rows, one per worker within the
    /// decode limit; rows of one reference, `--max-concurrent-decodes` if given, else as
    /// many as fit the lock-step frame budget.
    fn group_limit(&self, clips: bool, first: &Work) -> usize {
        let workers = self.options.clips.workers;
        match (clips, self.options.lockstep) {
            (true, _) => self.limiter.capacity().min(workers),
            (false, Some(n)) => self.limiter.capacity().min(n),
            (false, None) => lockstep_for(&first.reference, first.geometry, workers),
        }
        .max(1)
    }

    /// Scores video rows with the whole pool: video scoring collects every completion, so
    /// the image pairs in flight are finished first. A row is taken together with the video
    /// rows that follow it in the queue with the same metrics and geometry, up to
    /// [`Coordinator::group_limit`]: when its metrics need a clip session (libvmaf, one clip
    /// per worker), so that their clips run at once; else when they share its reference, so
    /// that the reference is read and prepared once for all of them. The group holds a
    /// decode permit per row, at most all of them, while it runs.
    fn video(&mut self, first: Work, decoded: &Receiver<Decoded>) {
        self.drain();
        let job = VideoJob {
            metrics: first.plan.names.clone(),
            params: self.options.params.clone(),
            geometry: first.geometry,
            frames: None,
            deadline: None,
            reference_excerpts: Vec::new(),
            scale: self.options.scale,
            subsample: self.options.subsample,
        };
        let mut group = vec![first];
        let clips = ClipPlan::split(self.report, &job, self.options.clips.backend.as_deref())
            .is_ok_and(|(plan, _)| !plan.is_empty());
        // Otherwise rows of one reference are read in lock step by the frame metrics: as
        // many as asked, within the decode limit, or as many as fit the frame budget (which
        // reads the reference's header: only once a second row shares it).
        let mut most = None;
        loop {
            // Rows behind it arrive within moments (decoders pass video rows straight on);
            // a clip takes seconds.
            match decoded.recv_timeout(GATHER_WAIT) {
                Ok(Decoded::Video(work))
                    if work.plan.names == group[0].plan.names
                        && work.geometry == group[0].geometry
                        && (clips || work.reference == group[0].reference) =>
                {
                    let most = *most.get_or_insert_with(|| self.group_limit(clips, &group[0]));
                    if group.len() >= most {
                        self.held = Some(Decoded::Video(work));
                        break;
                    }
                    group.push(work);
                }
                Ok(other @ Decoded::Video(_)) => {
                    self.held = Some(other);
                    break;
                }
                // Decoders finish out of order: an image row of the manifest's earlier lines
                // may arrive after this clip. It is scored now, not behind the clip.
                Ok(image) => self.take(image, decoded),
                Err(_) => break,
            }
        }
        // Those images finish here, before the clip's scoring polls the scheduler.
        self.drain();
        // A group larger than the decode limit (sized by its frames) is read by one decoder
        // process, or clip by clip where that fails: it holds every permit.
        let permits: Vec<_> = (0..group.len().min(self.limiter.capacity()))
            .map(|_| self.limiter.acquire())
            .collect();
        // The rows' time runs from when their decoders may start.
        let job = VideoJob {
            deadline: self.options.timeout.map(Deadline::after),
            ..job
        };
        let pairs: Vec<(&Path, &Path)> = group
            .iter()
            .map(|w| (w.reference.as_path(), w.distorted.as_path()))
            .collect();
        let mut results: Vec<Option<Result<VideoScores, ScoreError>>> =
            group.iter().map(|_| None).collect();
        // The path `qscore score` takes: clip-session metrics (VMAF) and frame metrics.
        let options = ClipOptions {
            lockstep: group.len(),
            ..self.options.clips.clone()
        };
        let outcome = score_video_pairs(
            self.report,
            self.scheduler,
            &job,
            &options,
            &pairs,
            |index, scored| results[index] = Some(scored),
        );
        drop(permits);
        for (work, result) in group.into_iter().zip(results) {
            match (&outcome, result) {
                (Err(error), _) => self.video_failed(work, error),
                (Ok(()), Some(Ok(scores))) => {
                    let means = scores
                        .pooled
                        .iter()
                        .map(|(n, p)| (n.clone(), p.mean))
                        .collect();
                    self.done(work, means, scores.backends);
                }
                (Ok(()), Some(Err(error))) => self.video_failed(work, &error),
                (Ok(()), None) => {
                    let error = ScoreError::Pool("no result".into());
                    self.video_failed(work, &error);
                }
            }
        }
    }

    fn video_failed(&self, work: Work, error: &ScoreError) {
        let tried = match error {
            ScoreError::Scheduling { failure, .. } => tried(failure),
            _ => Vec::new(),
        };
        let failure = work.failure(stage_of(error), error.to_string(), tried);
        self.emit(Event::Failed(failure));
    }

    /// Waits for every task in the scheduler, timed-out ones included, so that nothing
    /// of ours is left for video scoring to collect.
    fn drain(&mut self) {
        while self.scheduler.pending() > 0 {
            if let Some(outcome) = self.scheduler.poll_timeout(Duration::from_millis(50)) {
                self.collect(outcome);
            }
            self.check_deadlines();
        }
    }

    /// Stops: cancels what is queued and waits for what runs, recording nothing more.
    fn abandon(&mut self) {
        for pair in self.pairs.values() {
            for id in &pair.tasks {
                self.scheduler.cancel(*id);
            }
        }
        self.pairs.clear();
        while self.scheduler.poll_blocking().is_some() {}
    }
}
