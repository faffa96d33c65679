//! Corpus runs (`qscore batch`): a streamed manifest scored through the scheduler's pool,
//! with a crash-proof journal, resume, a failure ledger, free-space checks, progress and
//! sharding. See `README.md` beside this file for the journal and resume design.

mod csv_table;
mod error;
mod finish;
#[cfg(test)]
mod fuzz;
pub(crate) mod journal;
mod jsonl_table;
mod key;
mod manifest;
mod merge;
mod parquet_table;
mod pipeline;
mod progress;
pub mod provenance;
mod record;
mod row;
pub(crate) mod space;
mod table;
mod work;
mod writer;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use crossbeam_channel::bounded;

pub use error::BatchError;
pub use key::Shard;
pub use merge::merge;
pub use table::Format;

use self::{
    finish::{assemble, beside, compact_ledger, folder_of},
    journal::{LineFile, read_lines},
    manifest::Manifest,
    pipeline::{Coordinator, StageOptions, decoder},
    progress::Progress,
    provenance::Provenance,
    record::{ledger_key, parse_journal_line},
    space::{SpaceEstimate, available_bytes, is_out_of_space},
    table::read_table,
    work::{Admission, Admitter, Selection},
    writer::{Event, Writer},
};
use crate::{LoadReport, decode_limit::DecodeLimiter, resolve_metrics, sched::Scheduler};

/// What a batch run does.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The manifest (CSV, or JSONL by extension `.jsonl`/`.ndjson`).
    pub manifest: PathBuf,
    /// The output table (`.csv`, `.jsonl` or `.parquet`).
    pub out: PathBuf,
    /// Metrics for rows without a `metric` column.
    pub metrics: Vec<String>,
    /// Metric parameters: (metric id, key, value).
    pub params: Vec<(String, String, String)>,
    /// Decodes at once.
    pub max_decodes: usize,
    /// Distorted clips of one reference read in lock step (their reference read and
    /// prepared once); `None`: as many as fit the frame budget of
    /// [`crate::video::default_lockstep`], whatever `max_decodes` is.
    pub lockstep: Option<usize>,
    /// A pair not finished this long after its decode started fails.
    pub task_timeout: Option<Duration>,
    /// Run only the rows in the failure ledger.
    pub retry_failed: bool,
    /// Score only this shard's rows.
    pub shard: Option<Shard>,
    /// Pairs in the scheduler at once (enough to keep every worker busy).
    pub window: usize,
    /// No progress display.
    pub quiet: bool,
    /// Video metrics that need clip sessions (VMAF): which plugin, how many clips at once.
    pub clips: crate::video::ClipOptions,
    /// Distorted clips decoded to their reference's size and format with this scaler.
    pub scale: Option<crate::video::Scaler>,
    /// Score every Nth frame of a clip ([`crate::video::VideoJob::subsample`]).
    pub subsample: u64,
}

/// Images decoded at once unless asked otherwise: half the machine's cores, at least 2.
///
/// Decoding feeds every lane, so a fixed 2 starved a large GPU (on 16 cores and an H200, a
/// 1080p SSIMULACRA2 sweep ran at 116 pairs/s with 2 decodes, 176 with 8 and 162 with 16):
/// half the cores decode while the other half, and the devices, score.
pub fn default_decodes() -> usize {
    (qscore_core::sdk::resources::cpu_count() / 2).max(2)
}

impl BatchOptions {
    /// What `qscore batch MANIFEST -o OUT --metric METRICS` does with `workers` scoring
    /// threads, `max_decodes` decodes at once (default [`default_decodes`] images; clips
    /// of one reference in lock step as fit the frame budget) and only `backend`, if named.
    pub fn new(
        manifest: PathBuf,
        out: PathBuf,
        metrics: Vec<String>,
        workers: usize,
        max_decodes: Option<usize>,
        backend: Option<String>,
    ) -> Self {
        let decodes = max_decodes.unwrap_or_else(default_decodes).max(1);
        Self {
            manifest,
            out,
            metrics,
            params: Vec::new(),
            max_decodes: decodes,
            lockstep: max_decodes.map(|n| n.max(1)),
            task_timeout: None,
            retry_failed: false,
            shard: None,
            window: 2 * workers + 2,
            quiet: false,
            clips: crate::video::ClipOptions {
                backend,
                workers,
                lockstep: decodes,
            },
            scale: None,
            subsample: 1,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct BatchSummary {
    /// Rows scored by this run.
    pub scored: u64,
    /// Rows that failed in this run.
    pub failed: u64,
    /// Rows skipped because an earlier run finished them.
    pub skipped_done: u64,
    /// Rows skipped because an earlier run recorded them as failed (see `--retry-failed`).
    pub skipped_failed: u64,
    /// Manifest rows identical to an earlier row (scored once).
    pub duplicates: u64,
    /// Rows of other shards, or not failed rows under `--retry-failed`.
    pub not_selected: u64,
    /// Rows in the output table.
    pub output_rows: u64,
    /// Rows in the failure ledger at the end.
    pub failing: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Rows scored per backend plugin.
    pub backends: BTreeMap<String, u64>,
    /// Prepared references reused and prepared.
    pub reference_hits: u64,
    /// Prepared references prepared.
    pub reference_misses: u64,
}

/// The one run writing an output: it holds a lock on the output's journal, so that a
/// second run on the same output stops at once instead of interleaving rows into the
/// journal and replacing the table under the first. The lock is released when the run
/// ends, however it ends (the system drops it with the process).
struct OutputLock {
    journal: PathBuf,
    _file: std::fs::File,
}

impl OutputLock {
    fn take(out: &Path, journal: &Path) -> Result<Self, BatchError> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(journal)
            .map_err(|e| BatchError::write(journal, &e))?;
        match file.try_lock() {
            Ok(()) => Ok(Self {
                journal: journal.to_path_buf(),
                _file: file,
            }),
            Err(std::fs::TryLockError::WouldBlock) => Err(BatchError::Request(format!(
                "{}: another qscore batch run is writing this output (its journal {} is \
                 locked); wait for it to end or choose another output",
                out.display(),
                journal.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(BatchError::write(journal, &e)),
        }
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        // A run that stopped before scoring anything leaves no empty journal behind.
        if std::fs::metadata(&self.journal).is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(&self.journal);
        }
    }
}

/// The journal of `out`.
pub fn journal_path(out: &Path) -> PathBuf {
    beside(out, ".journal.jsonl")
}

/// The failure ledger of `out`.
pub fn ledger_path(out: &Path) -> PathBuf {
    beside(out, ".failures.jsonl")
}

/// Keys of rows already finished (the output and the journal), and how many only the
/// journal holds.
fn finished_keys(
    out: &Path,
    journal: &Path,
) -> Result<(std::collections::HashSet<u64>, u64), BatchError> {
    let mut done = std::collections::HashSet::new();
    if out.exists() {
        for row in read_table(out)?.rows {
            let row = row.map_err(|reason| BatchError::Table {
                path: out.to_path_buf(),
                reason,
            })?;
            done.insert(row.key);
        }
    }
    let mut journaled = 0;
    if let Some(lines) = read_lines(journal).map_err(|e| BatchError::write(journal, &e))? {
        for line in lines {
            let line = line.map_err(|e| BatchError::write(journal, &e))?;
            if let Some(row) = parse_journal_line(&line)
                && done.insert(row.key)
            {
                journaled += 1;
            }
        }
    }
    Ok((done, journaled))
}

fn open_line_file(path: &Path) -> Result<LineFile, BatchError> {
    LineFile::open(path).map_err(|e| {
        if is_out_of_space(&e) {
            BatchError::OutOfSpace {
                path: path.to_path_buf(),
                available: available_bytes(&folder_of(path)).unwrap_or(0),
                needed: None,
            }
        } else {
            BatchError::write(path, &e)
        }
    })
}

/// Runs a batch: scores every selected manifest row not finished before, then writes the
/// output table. A row's failure goes to the ledger; only a problem with the run itself
/// (unreadable manifest, unusable output, full disk) is an error.
pub fn run_batch(
    report: &LoadReport,
    scheduler: &Scheduler,
    options: &BatchOptions,
) -> Result<BatchSummary, BatchError> {
    let started = Instant::now();
    let format = Format::of(&options.out).ok_or_else(|| {
        BatchError::Request(format!(
            "{}: unknown output format (use .csv, .jsonl or .parquet)",
            options.out.display()
        ))
    })?;
    let manifest = Manifest::new(&options.manifest)?;
    if !options.metrics.is_empty() {
        resolve_metrics(report, &options.metrics)
            .map_err(|e| BatchError::Request(e.to_string()))?;
    }
    let out = &options.out;
    let folder = folder_of(out);
    if !folder.is_dir() {
        return Err(BatchError::Request(format!(
            "{}: no such folder",
            folder.display()
        )));
    }
    let (journal, ledger) = (journal_path(out), ledger_path(out));
    let _writer = OutputLock::take(out, &journal)?;
    // Temporary tables and ledgers left by a run killed while writing them are of no use.
    crate::atomic::remove_stale(out);
    crate::atomic::remove_stale(&ledger);

    // The scaler and the subsampling change a clip's scores as a parameter does, so they
    // are recorded as parameters.
    let mut recorded = options.params.clone();
    if let Some(scaler) = options.scale {
        recorded.push(("video".into(), "scale".into(), scaler.name().into()));
    }
    if options.subsample > 1 {
        let n = options.subsample.to_string();
        recorded.push(("video".into(), "subsample".into(), n));
    }
    let provenance = Provenance::of_run(report, &recorded);
    provenance::check_resume(out, &provenance)?;
    provenance::write(out, &provenance)?;
    let (done, journaled_before) = finished_keys(out, &journal)?;
    let mut failed = std::collections::HashSet::new();
    if let Some(lines) = read_lines(&ledger).map_err(|e| BatchError::write(&ledger, &e))? {
        for line in lines.map_while(Result::ok) {
            if let Some(key) = ledger_key(&line) {
                failed.insert(key);
            }
        }
    }
    let selection = Selection {
        done,
        failed,
        retry_failed: options.retry_failed,
        shard: options.shard,
        params: provenance.params_digest(),
    };

    // One counting pass: how many rows this run takes, for the space check and progress.
    let mut counter = Admitter::new(
        report,
        manifest.folder(),
        options.metrics.clone(),
        &selection,
    );
    let (mut expected, mut manifest_rows) = (0u64, 0u64);
    for row in manifest.rows()? {
        manifest_rows += 1;
        if matches!(counter.admit(row?), Admission::Run(_) | Admission::Fail(_)) {
            expected += 1;
        }
    }
    drop(counter);
    let existing_bytes = std::fs::metadata(out).map_or(0, |m| m.len());
    let values_per_row = 3 * options.metrics.len().max(1);
    let manifest_bytes = std::fs::metadata(&options.manifest).map_or(0, |m| m.len());
    let estimate = SpaceEstimate::new(
        manifest_bytes,
        manifest_rows,
        values_per_row,
        existing_bytes,
    );
    let needed = estimate.needed(expected, journaled_before + expected);
    let available = available_bytes(&folder).map_err(|e| BatchError::write(&folder, &e))?;
    if available < needed {
        return Err(BatchError::OutOfSpace {
            path: folder,
            available,
            needed: Some(needed),
        });
    }

    let writer = Writer {
        journal: open_line_file(&journal)?,
        ledger: open_line_file(&ledger)?,
        folder: folder.clone(),
        estimate,
        expected,
        journaled_before,
        progress: Progress::new(expected, options.quiet),
    };
    let limiter = DecodeLimiter::new(options.max_decodes);
    let stage = StageOptions {
        timeout: options.task_timeout,
        params: options.params.clone(),
        window: options.window.max(1),
        clips: options.clips.clone(),
        lockstep: options.lockstep,
        scale: options.scale,
        subsample: options.subsample,
    };
    let stop = AtomicBool::new(false);
    let decoders = limiter.capacity();
    let (work_tx, work_rx) = bounded(2 * decoders + 2);
    let (decoded_tx, decoded_rx) = bounded(decoders + 2);
    let (events_tx, events_rx) = bounded::<Event>(4096);
    let mut summary = BatchSummary::default();

    let (counts, written, fed) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| writer.run(&events_rx, &stop));
        let feeder_events = events_tx.clone();
        let feeder = scope.spawn(|| {
            let events = feeder_events;
            let work = work_tx;
            let mut admitter = Admitter::new(
                report,
                manifest.folder(),
                options.metrics.clone(),
                &selection,
            );
            let mut skipped = [0u64; 4];
            let rows = manifest.rows()?;
            for row in rows {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match admitter.admit(row?) {
                    Admission::Run(item) => {
                        if work.send(item).is_err() {
                            break;
                        }
                    }
                    Admission::Fail(failure) => {
                        let _ = events.send(Event::Failed(failure));
                    }
                    Admission::SkipDone => skipped[0] += 1,
                    Admission::SkipFailed => skipped[1] += 1,
                    Admission::Duplicate => skipped[2] += 1,
                    Admission::NotSelected => skipped[3] += 1,
                }
            }
            Ok::<_, BatchError>(skipped)
        });
        for _ in 0..decoders {
            let (input, output) = (work_rx.clone(), decoded_tx.clone());
            let (limiter, stage, stop) = (&limiter, &stage, &stop);
            scope.spawn(move || decoder(&input, &output, limiter, stage, stop));
        }
        drop((work_rx, decoded_tx));
        let mut coordinator =
            Coordinator::new(report, scheduler, &limiter, stage.clone(), events_tx);
        coordinator.run(&decoded_rx, &stop);
        drop(coordinator);
        // Unblocks decoders waiting to hand over work after a stop.
        drop(decoded_rx);
        let fed = feeder
            .join()
            .unwrap_or_else(|_| Err(BatchError::Workers("manifest reader panicked".into())));
        let (counts, written) = writer.join().unwrap_or_else(|_| {
            (
                Default::default(),
                Err(BatchError::Workers("writer panicked".into())),
            )
        });
        (counts, written, fed)
    });
    written?;
    let skipped = fed?;
    summary.scored = counts.scored;
    summary.failed = counts.failed;
    summary.backends = counts.backends;
    [
        summary.skipped_done,
        summary.skipped_failed,
        summary.duplicates,
        summary.not_selected,
    ] = skipped;

    let keys = if counts.scored > 0 || journaled_before > 0 || !out.exists() {
        assemble(out, format, &journal, &provenance.to_json())?
    } else {
        let _ = std::fs::remove_file(&journal);
        finished_keys(out, &journal)?.0
    };
    summary.output_rows = keys.len() as u64;
    summary.failing = compact_ledger(&ledger, &keys)?;
    let (hits, misses) = scheduler.reference_counts();
    summary.reference_hits = hits;
    summary.reference_misses = misses;
    summary.elapsed = started.elapsed();
    Ok(summary)
}
