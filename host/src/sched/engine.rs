//! The scheduler: ranks candidates for each task, routes it to a pool lane (one per
//! GPU device, one for the CPU) with reference affinity and memory admission, and
//! walks the out-of-memory ladder inside the worker that runs it.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use qscore_core::{DeviceKind, Error, MemoryMode, NamedValue, OwnedImage, Param, TaskSpec};
use xxhash_rust::xxh3::Xxh3;

use super::{
    Attempt, CacheFile, CacheStore, ChoiceTask, Considered, Fingerprint, LadderError, Neighbours,
    Ranking, Reference, ReferenceStats,
    bench::{BenchOptions, CellReport, quick_bench, targets},
    cache::{CacheProblem, DEFAULT_MAX_AGE, default_cache_dir},
    candidates::candidates,
    chooser::choose,
    ladder::walk,
    values::check_value,
    worker::{Inputs, Reuse, WorkerState},
};
use crate::{
    Plugin,
    pool::{Completed, LaneConfig, MemoryProbe, Pool, PoolError, Task, TaskFailure, TaskId},
};

/// How the scheduler runs.
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    /// CPU workers (default: the machine's logical CPUs).
    pub cpu_workers: usize,
    /// Tasks in flight per GPU device; `None` chooses by the kind of device
    /// (4 on a discrete GPU, 2 on an integrated one, 1 on a software adapter).
    pub device_workers: Option<usize>,
    /// Queued tasks per worker before `submit` blocks.
    pub queue_capacity: usize,
    /// Where the capability cache lives; `None` keeps measurements in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Measurements older than this are taken again.
    pub max_age: Duration,
    /// Reuse prepared references (routing tasks that share one to the same worker).
    pub reuse_references: bool,
    /// Use only this plugin.
    pub backend: Option<String>,
    /// Return the first failure instead of falling back (`--no-fallback`).
    pub strict: bool,
    /// Panics after which a plugin is set aside for the rest of the run.
    pub quarantine_after: u32,
    /// How quick-bench measures.
    pub bench: BenchOptions,
}

/// Tasks in flight on a device of `kind` by default. Each worker is a thread of its own, and
/// the GPU runtimes give each thread its own stream (queue), so one task's upload and
/// read-back overlap another's kernels and a large GPU runs several small comparisons at
/// once; memory admission still bounds them by the device's free memory. A software
/// adapter (lavapipe) computes on the CPU cores the CPU lane already uses, so it keeps one.
pub(crate) fn default_device_workers(kind: DeviceKind) -> usize {
    match kind {
        DeviceKind::DISCRETE_GPU => 4,
        DeviceKind::INTEGRATED_GPU => 2,
        _ => 1,
    }
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            cpu_workers: qscore_core::sdk::resources::cpu_count(),
            device_workers: None,
            queue_capacity: 64,
            cache_dir: default_cache_dir(),
            max_age: DEFAULT_MAX_AGE,
            reuse_references: true,
            backend: None,
            strict: false,
            quarantine_after: 3,
            bench: BenchOptions::default(),
        }
    }
}

/// One comparison to run.
#[derive(Debug, Clone)]
pub struct ScoreRequest {
    /// The reference (hashed once, see [`Reference::new`]).
    pub reference: Reference,
    /// The distorted image; same size and format as the reference.
    pub distorted: Arc<OwnedImage>,
    /// For a video frame of a temporal metric, the reference frames around it; `None`
    /// for images and spatial metrics.
    pub neighbours: Option<Neighbours>,
    /// Metric id.
    pub metric: String,
    /// Metric parameters.
    pub params: Vec<Param>,
    /// How many references share the choice of backend (for the cost model): a video
    /// clip's frames, each prepared once; 1 for an image.
    pub references: u32,
    /// How many comparisons will share this reference (for the cost model).
    pub comparisons: u32,
    /// The caller's id, returned with the outcome.
    pub tag: u64,
}

/// A successful comparison.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The values.
    pub values: Vec<NamedValue>,
    /// Plugin that produced them.
    pub plugin: String,
    /// Device id.
    pub device: u32,
    /// Device model.
    pub device_name: String,
    /// Memory mode.
    pub mode: MemoryMode,
    /// Failed tries before it (the ladder's steps).
    pub attempts: Vec<Attempt>,
}

/// Why a comparison failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreFailure {
    /// No candidate could even be tried.
    #[error("no backend can run this: {}", explain_considered(.considered))]
    NoCandidate {
        /// Every candidate and why it was set aside.
        considered: Vec<Considered>,
    },
    /// Every candidate failed, or strict mode stopped at the first failure.
    #[error(transparent)]
    Ladder(#[from] LadderError),
    /// The task itself panicked in the host (a bug).
    #[error("scheduler task panicked: {0}")]
    Panicked(String),
    /// Cancelled before it ran.
    #[error("cancelled")]
    Cancelled,
}

fn explain_considered(considered: &[Considered]) -> String {
    if considered.is_empty() {
        return "no plugin offers it".to_owned();
    }
    considered
        .iter()
        .map(|c| format!("{}/{} {}: {}", c.plugin, c.device, c.mode, c.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// What came back for one request.
#[derive(Debug)]
pub struct ScoreOutcome {
    /// The request's tag.
    pub tag: u64,
    /// The values, or why not.
    pub result: Result<Scored, ScoreFailure>,
}

type Outcome = Result<Scored, ScoreFailure>;

/// How long a ranking is reused for identical tasks. Ranking probes free memory and
/// asks for predictions; doing it once per job rather than per task keeps that off the
/// hot path, and keeps the sessions a job's own first tasks hold open from pushing its
/// later tasks off the device they share (admission and the ladder handle real pressure).
const RANKING_TTL: Duration = Duration::from_secs(5);

/// What identifies identical tasks for ranking.
type RankKey = (String, Vec<(String, String)>, u32, u32, u32, u32, u32);

/// State shared by the scheduler and every task.
#[derive(Debug)]
struct Shared {
    plugins: Vec<Arc<Plugin>>,
    cache: Mutex<CacheFile>,
    store: Option<CacheStore>,
    panics: Mutex<HashMap<String, u32>>,
    /// (plugin, device, metric) that have scored in this process: their cold start is paid.
    warm: Mutex<std::collections::HashSet<(String, u32, String)>>,
    rankings: Mutex<HashMap<RankKey, (Instant, Arc<Ranking>)>>,
    /// How many times the rankings were forgotten: a ranking made while they were is not
    /// kept (it may predate what made them stale).
    forgotten: std::sync::atomic::AtomicU64,
    stats: ReferenceStats,
    options: SchedulerOptions,
}

impl Shared {
    fn quarantined(&self, plugin: &str) -> bool {
        let panics = self.panics.lock().unwrap_or_else(|e| e.into_inner());
        panics
            .get(plugin)
            .is_some_and(|&n| n >= self.options.quarantine_after)
    }

    fn is_warm(&self, plugin: &str, device: u32, metric: &str) -> bool {
        let warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
        warm.contains(&(plugin.to_owned(), device, metric.to_owned()))
    }

    /// Records that `plugin`'s `device` has scored `metric`; rankings made while it was cold
    /// counted its measured cold start, if it has one, so they are forgotten then.
    fn note_warm(&self, plugin: &str, device: u32, metric: &str) {
        let key = (plugin.to_owned(), device, metric.to_owned());
        // Each lock is released before the next is taken, as in `note_panic`.
        let new = self
            .warm
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key);
        let had_cold_start = new && {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.cells.iter().any(|c| {
                c.plugin == plugin && c.device == device && c.metric == metric && c.cold_s > 0.0
            })
        };
        if had_cold_start {
            self.forget_rankings();
        }
    }

    fn note_panic(&self, plugin: &str) {
        // Released before the rankings are taken: ranking holds them while it asks which
        // plugins are quarantined, and the opposite order would deadlock with it.
        *self
            .panics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(plugin.to_owned())
            .or_insert(0) += 1;
        self.forget_rankings();
    }

    fn forget_rankings(&self) {
        let mut rankings = self.rankings.lock().unwrap_or_else(|e| e.into_inner());
        self.forgotten
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        rankings.clear();
    }

    /// The ranking for `task`, reused for identical tasks within [`RANKING_TTL`].
    fn rank_cached(&self, task: &ChoiceTask, params: &[Param]) -> Arc<Ranking> {
        let key: RankKey = (
            task.metric.clone(),
            crate::plugin::param_pairs(params),
            task.width,
            task.height,
            task.format.0,
            task.references,
            task.comparisons,
        );
        let epoch = {
            let rankings = self.rankings.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((at, ranking)) = rankings.get(&key)
                && at.elapsed() < RANKING_TTL
            {
                return Arc::clone(ranking);
            }
            self.forgotten.load(std::sync::atomic::Ordering::SeqCst)
        };
        // Ranked without holding the rankings: ranking takes the cache and the panic counts,
        // whose holders take the rankings to forget them (the opposite order would deadlock).
        let ranking = Arc::new(self.rank(task, params));
        log_ranking(task, &ranking);
        let mut rankings = self.rankings.lock().unwrap_or_else(|e| e.into_inner());
        // Kept only if nothing made the rankings stale while this one was made.
        if self.forgotten.load(std::sync::atomic::Ordering::SeqCst) == epoch {
            rankings.insert(key, (Instant::now(), Arc::clone(&ranking)));
        }
        ranking
    }

    fn record_out_of_memory(
        &self,
        plugin: &str,
        device: u32,
        metric: &str,
        mode: MemoryMode,
        pixels: u64,
    ) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.record_out_of_memory(plugin, device, metric, &mode.to_string(), pixels) {
            self.forget_rankings();
            if let Some(store) = &self.store
                && let Err(e) = store.save(&cache)
            {
                eprintln!(
                    "qscore: warning: {}: cannot save capability cache: {e}",
                    store.path().display()
                );
            }
        }
    }

    fn plugin(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.plugins.iter().find(|p| p.identity().name == name)
    }

    fn rank(&self, task: &ChoiceTask, params: &[Param]) -> Ranking {
        let found = candidates(
            &self.plugins,
            task,
            params,
            self.options.backend.as_deref(),
            &|name| self.quarantined(name),
            &|name, device| self.is_warm(name, device, &task.metric),
        );
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        choose(Some(&cache), &found, task)
    }

    /// Runs one request along `ranking`, inside a worker.
    fn run(&self, state: &mut WorkerState, ranking: &Ranking, request: &ScoreRequest) -> Outcome {
        if ranking.ranked.is_empty() {
            return Err(ScoreFailure::NoCandidate {
                considered: ranking.considered.clone(),
            });
        }
        let image = &request.reference.image;
        let pixels = u64::from(image.width) * u64::from(image.height);
        let success = walk(&ranking.ranked, self.options.strict, |choice| {
            if self.quarantined(&choice.plugin) {
                return Err(Error::Unsupported(
                    "plugin quarantined after repeated panics or crashes".into(),
                ));
            }
            let plugin = self
                .plugin(&choice.plugin)
                .ok_or_else(|| Error::Internal(format!("plugin {} vanished", choice.plugin)))?;
            let mut spec = TaskSpec::new(
                &request.metric,
                image.width,
                image.height,
                image.format,
                choice.mode,
            );
            spec.params = request.params.clone().into();
            let result = state
                .compare(
                    plugin,
                    choice.device,
                    &spec,
                    Inputs {
                        reference: &request.reference,
                        neighbours: request.neighbours.as_ref(),
                        distorted: &request.distorted,
                    },
                    Reuse {
                        enabled: self.options.reuse_references,
                        stats: &self.stats,
                    },
                )
                .and_then(|values| {
                    for v in &values {
                        check_value(&choice.plugin, v.name.as_str(), v.value)?;
                    }
                    Ok(values)
                });
            match &result {
                Err(Error::OutOfMemory { .. }) => {
                    self.record_out_of_memory(
                        &choice.plugin,
                        choice.device,
                        &request.metric,
                        choice.mode,
                        pixels,
                    );
                }
                // A panic caught in the plugin, or a crash of its worker process.
                Err(Error::Internal(message))
                    if message.starts_with("panic in")
                        || message.starts_with(crate::isolate::CRASHED) =>
                {
                    state.forget_plugin(&choice.plugin);
                    self.note_panic(&choice.plugin);
                }
                _ => {}
            }
            result
        })?;
        self.note_warm(
            &success.choice.plugin,
            success.choice.device,
            &request.metric,
        );
        let plugin = self.plugin(&success.choice.plugin);
        let device_name = plugin
            .and_then(|p| {
                p.devices()
                    .iter()
                    .find(|d| d.info.id == success.choice.device)
            })
            .map(|d| d.info.model.to_string())
            .unwrap_or_default();
        Ok(Scored {
            values: success.value,
            plugin: success.choice.plugin,
            device: success.choice.device,
            device_name,
            mode: success.choice.mode,
            attempts: success.attempts,
        })
    }
}

/// Live free memory of one plugin device.
struct DeviceProbe {
    plugin: Arc<Plugin>,
    device: u32,
}

impl MemoryProbe for DeviceProbe {
    fn free_bytes(&self) -> Option<u64> {
        self.plugin.free_memory(self.device).ok()
    }
}

/// Live available RAM within the process's cgroup limit, for the CPU lane.
struct RamProbe;

impl MemoryProbe for RamProbe {
    fn free_bytes(&self) -> Option<u64> {
        qscore_core::sdk::resources::memory()
            .ok()
            .map(|m| m.available)
    }
}

/// A lane of the pool: the CPU, or one device of a plugin.
#[derive(Debug, Clone, PartialEq)]
enum LaneOwner {
    Cpu,
    Device { plugin: String, device: u32 },
}

/// The scheduler. Dropping it finishes running tasks and joins its workers.
pub struct Scheduler {
    shared: Arc<Shared>,
    lanes: Vec<LaneOwner>,
    pool: Pool<WorkerState, Outcome>,
    cache_problem: Option<CacheProblem>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler over `plugins`, reading the capability cache if there is one.
    pub fn new(plugins: Vec<Arc<Plugin>>, options: SchedulerOptions) -> Result<Self, PoolError> {
        let fingerprint = Fingerprint::of(&plugins);
        let store = options
            .cache_dir
            .as_ref()
            .map(|dir| CacheStore::new(dir, fingerprint.clone(), options.max_age));
        let (cache, cache_problem) = match store.as_ref().map(CacheStore::load) {
            Some(Ok(Some(file))) => (file, None),
            Some(Err(problem)) => (CacheFile::new(fingerprint), Some(problem)),
            _ => (CacheFile::new(fingerprint), None),
        };
        let mut lanes = vec![LaneOwner::Cpu];
        // A reference shared by many tasks stays with the worker that prepared it, and
        // spreads to an idle worker once its holders have a task queued behind a running one.
        let mut configs = vec![
            LaneConfig::new("cpu", options.cpu_workers.max(1))
                .with_queue_capacity(options.queue_capacity)
                .with_memory(Arc::new(RamProbe))
                .with_affinity_spill(2),
        ];
        for plugin in &plugins {
            for device in plugin.devices() {
                if device.info.kind == DeviceKind::CPU {
                    continue;
                }
                let name = plugin.identity().name.clone();
                configs.push(
                    LaneConfig::new(
                        format!("{name}/{}", device.info.id),
                        options
                            .device_workers
                            .unwrap_or_else(|| default_device_workers(device.info.kind))
                            .max(1),
                    )
                    .with_queue_capacity(options.queue_capacity)
                    .with_memory(Arc::new(DeviceProbe {
                        plugin: Arc::clone(plugin),
                        device: device.info.id,
                    }))
                    .with_affinity_spill(2),
                );
                lanes.push(LaneOwner::Device {
                    plugin: name,
                    device: device.info.id,
                });
            }
        }
        let pool = Pool::new(configs, |_, _| WorkerState::default())?;
        Ok(Self {
            shared: Arc::new(Shared {
                plugins,
                cache: Mutex::new(cache),
                store,
                panics: Mutex::new(HashMap::new()),
                warm: Mutex::new(std::collections::HashSet::new()),
                rankings: Mutex::new(HashMap::new()),
                forgotten: std::sync::atomic::AtomicU64::new(0),
                stats: ReferenceStats::default(),
                options,
            }),
            lanes,
            pool,
            cache_problem,
        })
    }

    /// Why the cache file on disk was not used, if it was not (corrupt, stale, mismatched).
    pub fn cache_problem(&self) -> Option<&CacheProblem> {
        self.cache_problem.as_ref()
    }

    /// The cache file's path, when measurements are kept on disk.
    pub fn cache_path(&self) -> Option<PathBuf> {
        self.shared.store.as_ref().map(|s| s.path().to_path_buf())
    }

    /// A copy of what is known.
    pub fn cache(&self) -> CacheFile {
        self.shared
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether every offered (plugin, device, mode) of `metric` has measurements.
    pub fn measured(&self, metric: &str) -> bool {
        let cache = self.shared.cache.lock().unwrap_or_else(|e| e.into_inner());
        targets(&self.shared.plugins)
            .iter()
            .filter(|t| t.metric == metric)
            .filter(|t| {
                self.shared
                    .options
                    .backend
                    .as_deref()
                    .is_none_or(|b| b == t.plugin.identity().name)
            })
            .all(|t| {
                cache
                    .cell(
                        &t.plugin.identity().name,
                        t.device,
                        &t.metric,
                        &t.mode.to_string(),
                    )
                    .is_some_and(|c| c.measured() || c.out_of_memory_at_pixels.is_some())
            })
    }

    /// Measures `metrics` (every metric when empty) on every candidate and saves the cache.
    pub fn bench(
        &self,
        metrics: &[String],
        progress: impl FnMut(&super::bench::BenchTarget, &CellReport),
    ) -> std::io::Result<Vec<CellReport>> {
        let chosen: Vec<_> = targets(&self.shared.plugins)
            .into_iter()
            .filter(|t| metrics.is_empty() || metrics.contains(&t.metric))
            .filter(|t| {
                self.shared
                    .options
                    .backend
                    .as_deref()
                    .is_none_or(|b| b == t.plugin.identity().name)
            })
            .collect();
        let reports = quick_bench(&chosen, &self.shared.options.bench, progress);
        let mut cache = self.shared.cache.lock().unwrap_or_else(|e| e.into_inner());
        for report in &reports {
            cache.put(report.cell.clone());
        }
        if let Some(store) = &self.shared.store {
            store.save(&cache)?;
        }
        Ok(reports)
    }

    /// The ranking for a task, with every rejection explained (`qscore explain`).
    pub fn explain(&self, task: &ChoiceTask, params: &[Param]) -> Ranking {
        self.shared.rank(task, params)
    }

    fn lane_of(&self, plugin: &str, device: u32) -> usize {
        self.lanes
            .iter()
            .position(|l| {
                *l == LaneOwner::Device {
                    plugin: plugin.to_owned(),
                    device,
                }
            })
            .unwrap_or(0)
    }

    /// Hashes `image` once into a reference handle; requests that carry the handle skip
    /// hashing, and all of them share the worker that prepares it.
    pub fn upload_reference(&self, image: Arc<OwnedImage>) -> Reference {
        Reference::new(image)
    }

    /// Queues one comparison; blocks while the chosen worker's queue is full.
    pub fn submit(&self, request: ScoreRequest) -> Result<TaskId, PoolError> {
        let mut task = ChoiceTask::for_image(
            &request.metric,
            &request.reference.image,
            request.comparisons,
        );
        task.references = request.references.max(1);
        let ranking = self.shared.rank_cached(&task, &request.params);
        let (lane, memory) = ranking.ranked.first().map_or((0, 0), |c| {
            (self.lane_of(&c.plugin, c.device), c.predicted_bytes)
        });
        let affinity = self.shared.options.reuse_references.then(|| {
            let mut hasher = Xxh3::new();
            hasher.update(&request.reference.key.to_le_bytes());
            hasher.update(request.metric.as_bytes());
            for p in &request.params {
                hasher.update(p.key.as_bytes());
                hasher.update(p.value.as_bytes());
            }
            hasher.digest()
        });
        let shared = Arc::clone(&self.shared);
        let tag = request.tag;
        self.pool.submit(Task {
            lane,
            affinity,
            memory_bytes: memory,
            tag,
            run: Box::new(move |state: &mut WorkerState| shared.run(state, &ranking, &request)),
        })
    }

    fn outcome(completed: Completed<Outcome>) -> ScoreOutcome {
        let result = match completed.outcome {
            Ok(result) => result,
            Err(TaskFailure::Panicked(message)) => Err(ScoreFailure::Panicked(message)),
            Err(TaskFailure::Cancelled) => Err(ScoreFailure::Cancelled),
        };
        ScoreOutcome {
            tag: completed.tag,
            result,
        }
    }

    /// The next finished comparison, if any, without waiting.
    pub fn poll(&self) -> Option<ScoreOutcome> {
        self.pool.poll_any().map(Self::outcome)
    }

    /// The next finished comparison; `None` when nothing is pending.
    pub fn poll_blocking(&self) -> Option<ScoreOutcome> {
        self.pool.poll_any_blocking().map(Self::outcome)
    }

    /// The next finished comparison, waiting at most `timeout`; `None` when none finished
    /// in that time or nothing is pending.
    pub fn poll_timeout(&self, timeout: Duration) -> Option<ScoreOutcome> {
        self.pool.poll_any_timeout(timeout).map(Self::outcome)
    }

    /// Cancels a queued comparison (it completes as [`ScoreFailure::Cancelled`]); `false`
    /// when it already started or finished, in which case it runs to its end.
    pub fn cancel(&self, id: TaskId) -> bool {
        self.pool.cancel(id)
    }

    /// Comparisons submitted and not yet collected.
    pub fn pending(&self) -> usize {
        self.pool.pending()
    }

    /// What the worker pool has done: tasks run, affinity routes, admission waits per lane.
    pub fn pool_stats(&self) -> crate::pool::PoolStats {
        self.pool.stats()
    }

    /// `(hits, misses)` of prepared references so far.
    pub fn reference_counts(&self) -> (u64, u64) {
        self.shared.stats.counts()
    }
}

/// The chooser's answer for `task`, at debug level (`-vv`).
fn log_ranking(task: &ChoiceTask, ranking: &Ranking) {
    if !log::log_enabled!(log::Level::Debug) {
        return;
    }
    let ranked: Vec<String> = ranking
        .ranked
        .iter()
        .map(|c| format!("{} device {} {}", c.plugin, c.device, c.mode))
        .collect();
    let aside: Vec<String> = ranking
        .considered
        .iter()
        .map(|c| format!("{} device {}: {}", c.plugin, c.device, c.reason))
        .collect();
    log::debug!(
        "{} at {}x{}: ranked [{}]; set aside [{}]",
        task.metric,
        task.width,
        task.height,
        ranked.join(", "),
        aside.join("; ")
    );
}
