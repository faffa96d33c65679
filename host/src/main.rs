//! The `qscore` command.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Ctrl-C and SIGTERM then stop decoders and keep finished work (see `interrupt`).
    if let Err(error) = qscore_host::interrupt::install() {
        eprintln!("qscore: warning: cannot handle Ctrl-C: {error}");
    }
    cli::run(cli)
}
