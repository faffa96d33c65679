//! Command-line interface. Exit codes: 0 everything scored; 1 the command
//! itself failed (bad arguments, unusable reference, unknown metric, no
//! backend); 2 some inputs failed while the others were scored.

mod plugins;
mod score;

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use qscore_host::{LoadReport, PluginSearch, load_plugins};

/// Image and video quality metrics on every backend a machine has.
#[derive(Debug, Parser)]
#[command(name = "qscore", version, about)]
pub(crate) struct Cli {
    /// Also load plugins from this directory (repeatable; `QSCORE_PLUGIN_PATH` adds more).
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List plugins, their devices, metrics and every load error.
    Plugins(plugins::Args),
    /// Score distorted images against one reference.
    Score(score::Args),
}

/// Runs a parsed command line.
pub(crate) fn run(cli: Cli) -> ExitCode {
    let report = load_plugins(&PluginSearch::standard(&cli.plugin_dirs));
    match cli.command {
        Command::Plugins(args) => plugins::run(&args, &report),
        Command::Score(args) => score::run(&args, &report),
    }
}

/// Prints load errors as warnings, one line each.
fn warn_load_errors(report: &LoadReport) {
    for error in &report.errors {
        eprintln!("qscore: warning: {error}");
    }
}
