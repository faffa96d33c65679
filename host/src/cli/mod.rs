//! Command-line interface. Exit codes: 0 everything scored; 1 the command
//! itself failed (bad arguments, unusable reference, unknown metric, no
//! backend); 2 some inputs failed while the others were scored.

/// `println!` for the command's output. When standard output is closed by its reader
/// (`qscore … | head -1`) qscore stops quietly, as a program in a pipeline does (see
/// [`output_failed`]), instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(error) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::cli::output_failed(&error)
        }
    }};
}

/// `eprintln!` for what the command says on the way (warnings, first-run notes): nothing
/// under `--quiet`, which keeps errors and the final summary.
macro_rules! note {
    ($($arg:tt)*) => {{
        if !$crate::cli::quiet() {
            eprintln!($($arg)*);
        }
    }};
}

mod batch;
mod bench;
mod explain;
mod merge;
mod plugins;
mod score;
mod tune;
mod video;

use std::{
    path::PathBuf,
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
};

use clap::{ArgAction, Parser, Subcommand};
use qscore_host::{
    LoadReport, PluginSearch,
    isolate::Isolation,
    load_plugins,
    sched::{Scheduler, SchedulerOptions},
};

/// Image and video quality metrics on every backend a machine has.
#[derive(Debug, Parser)]
#[command(name = "qscore", version, about)]
pub(crate) struct Cli {
    /// Also load plugins from this directory (repeatable; `QSCORE_PLUGIN_PATH` adds more).
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    /// Load plugins only from `--plugin-dir` and QSCORE_PLUGIN_PATH, not from the
    /// directories next to the executable.
    #[arg(long = "no-default-plugins", global = true)]
    no_default_plugins: bool,
    /// Load plugin files even if another user could have written them (the file or a
    /// folder on its path is writable by all users or a group other than your own, or
    /// owned by someone other than root or you); `QSCORE_ALLOW_INSECURE_PLUGINS=1` does the
    /// same. For development.
    #[arg(long = "allow-insecure-plugins", global = true)]
    allow_insecure_plugins: bool,
    /// Which plugins run in worker processes of their own, so that one that crashes (a
    /// signal, an abort) or stops answering fails only its task: `all`, `none`, or `auto`
    /// (the default: every plugin but those shipped beside the executable). A call of an
    /// isolated plugin that takes longer than `QSCORE_PLUGIN_TIMEOUT` seconds (default 600)
    /// is stopped.
    #[arg(long, global = true, value_name = "WHICH", value_parser = Isolation::parse, default_value = "auto")]
    isolate: Isolation,
    /// Where the capability cache lives (default: `$QSCORE_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/qscore`, else `~/.cache/qscore`).
    #[arg(long = "cache-dir", global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Tasks in flight on each GPU device, each on a stream of its own (default: 4 on a
    /// discrete GPU, 2 on an integrated one, 1 on a software adapter such as lavapipe).
    #[arg(long = "device-workers", global = true, value_name = "N")]
    device_workers: Option<usize>,
    /// Log detail to standard error, from qscore and its plugins (wgpu, cubecl…): `-v`
    /// info, `-vv` debug, `-vvv` trace. `QSCORE_LOG=LEVEL` does the same; the default
    /// is no log.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    /// Less on standard error: no progress, warnings or log; errors and the final summary
    /// stay.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List plugins, their devices, metrics and every load error.
    Plugins(plugins::Args),
    /// Score distorted images against one reference.
    Score(score::Args),
    /// Score a manifest of pairs into one table, resumably (see docs/batch.md).
    Batch(batch::Args),
    /// Combine the outputs of `batch --shard I/N` runs.
    Merge(merge::Args),
    /// Measure every backend (the capability cache the chooser uses).
    Bench(bench::Args),
    /// Show how the backends rank for a task, and why any are set aside.
    Explain(explain::Args),
    /// Find the largest CRF whose encode meets a target score (bisection).
    Tune(tune::Args),
    /// Serve one plugin in a worker process (started by qscore itself for `--isolate`).
    #[command(hide = true)]
    PluginWorker {
        /// The plugin file.
        file: PathBuf,
    },
}

/// Set by `--quiet`.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether `--quiet` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> ExitCode {
    QUIET.store(cli.quiet, Ordering::Relaxed);
    let level = if cli.quiet {
        log::LevelFilter::Off
    } else {
        qscore_host::logging::level(cli.verbose)
    };
    qscore_host::logging::init(level);
    if let Command::Merge(args) = &cli.command {
        // Merging reads and writes tables only: no plugins needed.
        return merge::run(args);
    }
    if let Command::PluginWorker { file } = &cli.command {
        return qscore_host::isolate::serve(file);
    }
    let mut search = PluginSearch::standard(&cli.plugin_dirs);
    search.defaults = !cli.no_default_plugins;
    search.allow_insecure = cli.allow_insecure_plugins;
    search.isolate = cli.isolate;
    let report = load_plugins(&search);
    let mut options = SchedulerOptions::default();
    if let Some(dir) = cli.cache_dir {
        options.cache_dir = Some(dir);
    }
    options.device_workers = cli.device_workers;
    match cli.command {
        Command::Plugins(args) => plugins::run(&args, &report),
        Command::Score(args) => score::run(&args, &report, options),
        Command::Batch(args) => batch::run(&args, &report, options),
        Command::Merge(args) => merge::run(&args),
        Command::Bench(args) => bench::run(&args, &report, options),
        Command::Explain(args) => explain::run(&args, &report, options),
        Command::Tune(args) => tune::run(&args, &report, options),
        Command::PluginWorker { file } => qscore_host::isolate::serve(&file),
    }
}

/// Starts the scheduler, reporting a cache file that had to be set aside.
fn scheduler(report: &LoadReport, options: SchedulerOptions) -> Option<Scheduler> {
    match Scheduler::new(report.plugins.clone(), options) {
        Ok(scheduler) => {
            if let Some(problem) = scheduler.cache_problem() {
                note!("qscore: warning: {problem}");
            }
            Some(scheduler)
        }
        Err(error) => {
            eprintln!("qscore: error: cannot start workers: {error}");
            None
        }
    }
}

/// Prints load errors as warnings, one line each.
fn warn_load_errors(report: &LoadReport) {
    for error in &report.errors {
        note!("qscore: warning: {error}");
    }
}

/// Standard output could not be written. A closed pipe ends the process quietly, decoders
/// stopped and unsaved work saved ([`qscore_host::interrupt::broken_pipe`]); any other
/// failure (a full disk behind a redirection) is said, and the command fails.
pub(crate) fn output_failed(error: &std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        qscore_host::interrupt::broken_pipe();
    }
    eprintln!("qscore: error: cannot write the output: {error}");
    std::process::exit(1)
}
