//! Scheduling: which backend runs each task, and what happens when it runs out of
//! memory. See `README.md` beside this file and `docs/cost-model.md`.

pub mod bench;
pub mod cache;
mod candidates;
pub mod chooser;
mod engine;
mod fingerprint;
pub mod ladder;
mod neighbours;
mod reference;
mod synthetic;
mod values;
mod worker;

pub use cache::{CacheFile, CacheStore, Cell};
pub use candidates::{MODE_ORDER, candidates};
pub use chooser::{Candidate, Choice, ChoiceTask, Considered, Ranking, Rejection, choose};
pub use engine::{Scheduler, SchedulerOptions, ScoreFailure, ScoreOutcome, ScoreRequest, Scored};
pub use fingerprint::Fingerprint;
pub use ladder::{Attempt, LadderError, walk};
pub use neighbours::Neighbours;
pub use reference::{Reference, ReferenceStats};
pub use synthetic::synthetic_image;
pub use values::check_value;
pub use worker::WorkerState;
#[cfg(test)]
mod tests;
