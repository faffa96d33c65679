//! The `qscore` command.

mod cli;

use std::process::ExitCode;

use clap::{Parser, error::ErrorKind};

fn main() -> ExitCode {
    qscore_host::allocator::tune();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    // Ctrl-C and SIGTERM then stop decoders and keep finished work (see `interrupt`).
    if let Err(error) = qscore_host::interrupt::install() {
        eprintln!("qscore: warning: cannot handle Ctrl-C: {error}");
    }
    let code = cli::run(cli);
    // A signal's handler may be stopping the process while the command finished on its
    // own (its decoders killed under it): the handler's exit status is the one that counts.
    qscore_host::interrupt::wait_if_stopping();
    code
}

/// Prints clap's message. Help and the version asked for exit 0; every usage error exits 1
/// (the command failed) rather than clap's 2, which qscore keeps for "some inputs failed,
/// the rest were scored", so that a job whose flags are wrong never looks half done.
fn usage(error: &clap::Error) -> ExitCode {
    let asked = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    // Nothing more can be said if the terminal is gone.
    let _ = error.print();
    if asked {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
