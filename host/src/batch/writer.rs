//! The one writer: appends finished rows to the journal and failures to the ledger,
//! syncs them in small groups (a row counts as done only once synced), watches free
//! space, and drives the progress display.

use std::{
    path::PathBuf,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{
    super::interrupt,
    BatchError,
    journal::LineFile,
    progress::{Counts, Progress},
    record::{DoneRow, Failure},
    space::{SpaceEstimate, available_bytes, is_out_of_space},
};

/// What the pipeline hands the writer.
#[derive(Debug)]
pub(crate) enum Event {
    Done(DoneRow),
    Failed(Failure),
}

/// Rows per synced group at most.
const GROUP: usize = 64;
/// Longest a finished row waits to be synced.
const GROUP_WAIT: Duration = Duration::from_millis(100);
/// How often free space is checked while running.
const SPACE_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Writer {
    pub(crate) journal: LineFile,
    pub(crate) ledger: LineFile,
    /// The folder holding journal, ledger and output.
    pub(crate) folder: PathBuf,
    pub(crate) estimate: SpaceEstimate,
    /// Rows this run expects to finish.
    pub(crate) expected: u64,
    /// Rows already in the journal before this run, which the final table will hold too.
    pub(crate) journaled_before: u64,
    pub(crate) progress: Progress,
}

impl Writer {
    /// Runs until every sender is gone. On a write failure or a full disk it sets `stop`,
    /// keeps receiving (and dropping) so that no sender blocks, and returns the error.
    pub(crate) fn run(
        mut self,
        events: &Receiver<Event>,
        stop: &AtomicBool,
    ) -> (Counts, Result<(), BatchError>) {
        let mut counts = Counts::default();
        let mut unsynced = Counts::default();
        let mut oldest: Option<Instant> = None;
        let mut last_space = Instant::now();
        let mut failure: Option<BatchError> = None;
        let mut saver = interrupt::Saver::new();
        loop {
            let received = events.recv_timeout(GROUP_WAIT / 2);
            if failure.is_none() && interrupt::requested() {
                failure = Some(self.interrupted(&counts, &unsynced, &mut saver));
                stop.store(true, Ordering::SeqCst);
            }
            if failure.is_some() {
                saver.saved();
            }
            let closed = match received {
                Ok(event) => {
                    if failure.is_none() {
                        self.queue(event, &mut unsynced);
                        oldest.get_or_insert_with(Instant::now);
                    }
                    false
                }
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            if failure.is_some() {
                if closed {
                    break;
                }
                continue;
            }
            let due = self.journal.unsynced() + self.ledger.unsynced() >= GROUP
                || oldest.is_some_and(|t| t.elapsed() >= GROUP_WAIT)
                || closed;
            if due {
                match self.sync() {
                    Ok(()) => {
                        counts.scored += unsynced.scored;
                        counts.failed += unsynced.failed;
                        for (name, n) in std::mem::take(&mut unsynced.backends) {
                            *counts.backends.entry(name).or_insert(0) += n;
                        }
                        unsynced = Counts::default();
                        oldest = None;
                    }
                    Err(error) => {
                        stop.store(true, Ordering::SeqCst);
                        failure = Some(error);
                    }
                }
            }
            // Also while nothing finishes (a long clip), so that logs show the run is alive.
            self.progress.update(&counts);
            if failure.is_none() && last_space.elapsed() >= SPACE_EVERY {
                last_space = Instant::now();
                let done = counts.scored + counts.failed;
                if let Err(error) = self.check_space(done, counts.scored) {
                    stop.store(true, Ordering::SeqCst);
                    failure = Some(error);
                }
            }
            if closed {
                break;
            }
        }
        self.progress.finish();
        (counts, failure.map_or(Ok(()), Err))
    }

    /// A signal stops the run: what was finished before it is synced, what arrives from now
    /// on is dropped (it may have failed only because its decoder was killed) and is redone
    /// by the next run.
    fn interrupted(
        &mut self,
        counts: &Counts,
        unsynced: &Counts,
        saver: &mut interrupt::Saver,
    ) -> BatchError {
        let kept = match self.sync() {
            Ok(()) => counts.scored + unsynced.scored,
            Err(_) => counts.scored,
        };
        self.progress.finish();
        let journal = self.journal.path().to_path_buf();
        eprintln!(
            "qscore: batch: stopped; {kept} rows finished in this run are kept in {}: run \
             the same command again to resume",
            journal.display()
        );
        saver.saved();
        BatchError::Interrupted { journal }
    }

    fn queue(&mut self, event: Event, unsynced: &mut Counts) {
        match event {
            Event::Done(row) => {
                self.journal.push(&row.journal_line());
                unsynced.scored += 1;
                let mut plugins: Vec<&str> = row
                    .backends
                    .iter()
                    .map(|(_, b)| b.plugin.as_str())
                    .collect();
                plugins.sort_unstable();
                plugins.dedup();
                for plugin in plugins {
                    *unsynced.backends.entry(plugin.to_owned()).or_insert(0) += 1;
                }
            }
            Event::Failed(failure) => {
                self.ledger.push(&failure.ledger_line());
                unsynced.failed += 1;
            }
        }
    }

    fn sync(&mut self) -> Result<(), BatchError> {
        for file in [&mut self.journal, &mut self.ledger] {
            if let Err(error) = file.sync() {
                let path = file.path().to_path_buf();
                return Err(if is_out_of_space(&error) {
                    BatchError::OutOfSpace {
                        available: available_bytes(&path).unwrap_or(0),
                        needed: None,
                        path,
                    }
                } else {
                    BatchError::write(&path, &error)
                });
            }
        }
        Ok(())
    }

    /// Stops the run while there is still room to write what was done.
    fn check_space(&self, done: u64, scored: u64) -> Result<(), BatchError> {
        let Ok(available) = available_bytes(&self.folder) else {
            return Ok(());
        };
        let remaining = self.expected.saturating_sub(done);
        let needed = self
            .estimate
            .needed(remaining, self.journaled_before + scored + remaining);
        if available < needed {
            return Err(BatchError::OutOfSpace {
                path: self.folder.clone(),
                available,
                needed: Some(needed),
            });
        }
        Ok(())
    }
}
