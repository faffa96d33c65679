//! `qscore merge`: shard outputs into one table.

use std::{path::PathBuf, process::ExitCode};

use qscore_host::batch::merge;

/// Arguments of `qscore merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Outputs of `qscore batch --shard I/N`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The merged table (`.csv`, `.jsonl` or `.parquet`).
    #[arg(long, short)]
    out: PathBuf,
}

pub(crate) fn run(args: &Args) -> ExitCode {
    match merge(&args.inputs, &args.out) {
        Ok(rows) => {
            eprintln!(
                "qscore: merge: {} rows from {} inputs into {}",
                rows,
                args.inputs.len(),
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("qscore: error: {error}");
            ExitCode::from(1)
        }
    }
}
