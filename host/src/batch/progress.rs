//! Progress: a bar on a terminal (rate, ETA, failures, backends in use), otherwise a
//! log line every few seconds, so that a run under a cluster scheduler leaves a readable
//! log.

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the log line is printed when stderr is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

/// Counts of what the writer has made durable.
#[derive(Debug, Default, Clone)]
pub(crate) struct Counts {
    pub(crate) scored: u64,
    pub(crate) failed: u64,
    /// Rows per backend plugin (a row scored on two plugins counts for each).
    pub(crate) backends: BTreeMap<String, u64>,
}

impl Counts {
    fn backends_text(&self) -> String {
        self.backends
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The progress display.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
    last_log: Instant,
    quiet: bool,
}

impl Progress {
    /// `total`: rows this run will score (as far as known before it starts).
    pub(crate) fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} rows  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Self {
            bar,
            total,
            started: Instant::now(),
            last_log: Instant::now(),
            quiet,
        }
    }

    /// Shows the latest counts.
    pub(crate) fn update(&mut self, counts: &Counts) {
        let done = counts.scored + counts.failed;
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = done as f64 / elapsed.max(1e-9);
        let eta = if rate > 0.0 && self.total > done {
            format!("{:.0} s", (self.total - done) as f64 / rate)
        } else {
            "-".into()
        };
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!(
                "{rate:.1} rows/s  ETA {eta}  failed {}  [{}]",
                counts.failed,
                counts.backends_text()
            ));
            return;
        }
        if self.quiet || self.last_log.elapsed() < LOG_EVERY {
            return;
        }
        self.last_log = Instant::now();
        eprintln!(
            "qscore: batch: {done}/{} rows ({} scored, {} failed), {rate:.1} rows/s, ETA {eta}, backends: {}",
            self.total,
            counts.scored,
            counts.failed,
            counts.backends_text()
        );
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
