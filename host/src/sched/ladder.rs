//! The out-of-memory ladder: walk a ranking until one candidate succeeds.
//!
//! Driven by the typed error alone: out of memory steps to the next candidate,
//! skipping modes of the same device that are no leaner than the one that failed
//! (so `Full → Strip → StripPair → next device or plugin → … → CPU`); a lost device
//! is skipped entirely; an unsupported request or a plugin failure (a caught panic
//! included) moves on; invalid input stops, since every backend would refuse it.
//! In strict mode the first failure ends the walk.

use std::collections::HashMap;

use qscore_core::{Error, MemoryMode};

use super::{Choice, chooser::mode_rank};

/// One try on the ladder.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// Plugin name.
    pub plugin: String,
    /// Device id.
    pub device: u32,
    /// Memory mode.
    pub mode: MemoryMode,
    /// What failed.
    pub error: Error,
}

impl std::fmt::Display for Attempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} {}: {}",
            self.plugin, self.device, self.mode, self.error
        )
    }
}

fn list(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "no candidate".to_owned();
    }
    attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why the ladder ended without a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LadderError {
    /// Every candidate failed (or none was eligible).
    #[error("every backend failed: {}", list(.attempts))]
    Exhausted {
        /// Every try, in order.
        attempts: Vec<Attempt>,
    },
    /// Strict mode (`--no-fallback`): the first failure is final.
    #[error("failed with fallback disabled: {}", list(.attempts))]
    Strict {
        /// The one try.
        attempts: Vec<Attempt>,
    },
    /// The input itself is wrong; no other backend would accept it.
    #[error("{error} (on {})", .attempts.last().map_or_else(String::new, |a| format!("{}/{} {}", a.plugin, a.device, a.mode)))]
    InvalidInput {
        /// The error.
        error: Error,
        /// Every try, in order.
        attempts: Vec<Attempt>,
    },
}

impl LadderError {
    /// Every try, in order.
    pub fn attempts(&self) -> &[Attempt] {
        match self {
            Self::Exhausted { attempts }
            | Self::Strict { attempts }
            | Self::InvalidInput { attempts, .. } => attempts,
        }
    }
}

/// A success: the value, the candidate that produced it, and the failures before it.
#[derive(Debug)]
pub struct Success<T> {
    /// The value.
    pub value: T,
    /// Who produced it.
    pub choice: Choice,
    /// Failed tries before it.
    pub attempts: Vec<Attempt>,
}

/// Tries `ranked` in order with `run` until one succeeds.
pub fn walk<T>(
    ranked: &[Choice],
    strict: bool,
    mut run: impl FnMut(&Choice) -> Result<T, Error>,
) -> Result<Success<T>, LadderError> {
    let mut attempts = Vec::new();
    let mut lost: Vec<(String, u32)> = Vec::new();
    // Per device, the leanest mode that ran out of memory: no fuller mode is tried again.
    let mut out_of_memory: HashMap<(String, u32), u32> = HashMap::new();
    for choice in ranked {
        let device = (choice.plugin.clone(), choice.device);
        if lost.contains(&device) {
            continue;
        }
        if out_of_memory
            .get(&device)
            .is_some_and(|&failed| mode_rank(choice.mode) <= failed)
        {
            continue;
        }
        let error = match run(choice) {
            Ok(value) => {
                return Ok(Success {
                    value,
                    choice: choice.clone(),
                    attempts,
                });
            }
            Err(error) => error,
        };
        attempts.push(Attempt {
            plugin: choice.plugin.clone(),
            device: choice.device,
            mode: choice.mode,
            error: error.clone(),
        });
        if strict {
            return Err(LadderError::Strict { attempts });
        }
        match error {
            Error::OutOfMemory { .. } => {
                let rank = mode_rank(choice.mode);
                let entry = out_of_memory.entry(device).or_insert(rank);
                *entry = (*entry).max(rank);
            }
            Error::DeviceLost(_) => lost.push(device),
            Error::InvalidInput(_) => return Err(LadderError::InvalidInput { error, attempts }),
            _ => {}
        }
    }
    Err(LadderError::Exhausted { attempts })
}
