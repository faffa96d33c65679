//! What a copy of the plugin simulates and how it misbehaves.
//!
//! The configuration is one JSON object; every field is optional and unknown fields
//! are refused (a typo must not silently test nothing):
//!
//! | field | type | default | meaning |
//! |---|---|---|---|
//! | `name` | string | `"sim"` | plugin name (two copies need two names to load side by side) |
//! | `devices` | integer 0..=64 | 1 | number of simulated GPUs (0: an empty list with a note) |
//! | `total_memory` | integer bytes ≥ 1 | 4 GiB | memory of each GPU |
//! | `free_memory_override` | integer bytes | none | `free_memory` reports this instead of the live figure |
//! | `oom_open_above` | integer bytes | none | opening a session that needs more fails with `OutOfMemory` |
//! | `oom_every` | integer ≥ 1 | none | every k-th comparison (in `oom_modes`) fails with `OutOfMemory` |
//! | `oom_modes` | array of `"full"`, `"strip"`, `"strip-pair"` (or `"strip_pair"`) | all | modes the two `oom_*` knobs apply in |
//! | `panic` | `"open"`, `"prepare"`, `"compare"`, `"devices"` or `"info"` | none | that export panics |
//! | `panic_every` | integer ≥ 1 | 1 | only every k-th call of the `panic` export panics |
//! | `segfault` | as `panic` | none | that export kills the process with SIGSEGV (a crash in native code) |
//! | `abort` | as `panic` | none | that export aborts the process (SIGABRT) |
//! | `hang` | as `panic` | none | that export never returns |
//! | `nan` | bool | false | comparisons return NaN |
//! | `out_of_range` | bool | false | comparisons return −5.0 |
//! | `slow_ms` | integer | 0 | each comparison sleeps this long first |
//! | `absurd_predictions` | bool | false | `predict_memory` answers `u64::MAX / 2` |
//! | `tiny_predictions` | bool | false | `predict_memory` answers 1 |
//! | `device_lost_after` | integer | none | after n comparisons, every call fails with `DeviceLost` |
//!
//! `nan` and `out_of_range` exclude each other, as do `absurd_predictions` and
//! `tiny_predictions`; `panic_every` needs `panic` and `oom_modes` needs an `oom_*` knob; at
//! most one of `segfault`, `abort` and `hang` is set. They take the whole process down (or
//! hold it forever): a host runs such a copy isolated in a worker process.

use std::{path::PathBuf, time::Duration};

use qscore_core::{Error, MemoryMode};
use serde::Deserialize;

/// The environment variable read when no file is beside the library.
pub(crate) const ENV_VAR: &str = "QSCORE_SIM_CONFIG";

/// Default plugin name.
pub(crate) const DEFAULT_NAME: &str = "sim";

/// Default memory of each simulated GPU: 4 GiB.
pub(crate) const DEFAULT_TOTAL_MEMORY: u64 = 4 << 30;

/// Most simulated GPUs one copy may have.
const MAX_DEVICES: u32 = 64;

/// The export that panics on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PanicAt {
    /// `open_session` (and so `open_clip`).
    Open,
    /// `prepare`.
    Prepare,
    /// Every comparison: `compare`, `compare_pair`, `compare_frame`.
    Compare,
    /// `devices`: the plugin fails to load.
    Devices,
    /// `info` (the plugin's identity): the plugin fails to load.
    Info,
}

impl PanicAt {
    /// The name used in the configuration.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Prepare => "prepare",
            Self::Compare => "compare",
            Self::Devices => "devices",
            Self::Info => "info",
        }
    }
}

/// How an export takes the process down on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Crash {
    /// SIGSEGV, as a bad pointer in native code gives.
    Segfault,
    /// `abort()`: SIGABRT.
    Abort,
    /// Never returns.
    Hang,
}

/// What `predict_memory` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Predictions {
    /// The bytes a session really holds (see [`crate::memory`]).
    Honest,
    /// `u64::MAX / 2`.
    Absurd,
    /// 1 byte.
    Tiny,
}

/// A value returned instead of the real PSNR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadValue {
    /// NaN.
    Nan,
    /// −5.0 dB, which no PSNR of 8-bit images can be.
    OutOfRange,
}

/// The configuration as written (see the module's table).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    devices: Option<u32>,
    total_memory: Option<u64>,
    free_memory_override: Option<u64>,
    oom_open_above: Option<u64>,
    oom_every: Option<u64>,
    oom_modes: Option<Vec<String>>,
    panic: Option<PanicAt>,
    panic_every: Option<u64>,
    segfault: Option<PanicAt>,
    abort: Option<PanicAt>,
    hang: Option<PanicAt>,
    #[serde(default)]
    nan: bool,
    #[serde(default)]
    out_of_range: bool,
    #[serde(default)]
    slow_ms: u64,
    #[serde(default)]
    absurd_predictions: bool,
    #[serde(default)]
    tiny_predictions: bool,
    device_lost_after: Option<u64>,
}

/// A checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    /// Plugin name.
    pub(crate) name: String,
    /// Number of simulated GPUs.
    pub(crate) devices: u32,
    /// Memory of each GPU in bytes.
    pub(crate) total_memory: u64,
    /// Reported instead of the live free memory.
    pub(crate) free_memory_override: Option<u64>,
    /// Sessions needing more bytes fail to open.
    pub(crate) oom_open_above: Option<u64>,
    /// Every k-th eligible comparison runs out of memory.
    pub(crate) oom_every: Option<u64>,
    /// Modes the `oom_*` knobs apply in; `None`: all.
    pub(crate) oom_modes: Option<Vec<MemoryMode>>,
    /// The export that panics.
    pub(crate) panic: Option<PanicAt>,
    /// Only every k-th call of it panics.
    pub(crate) panic_every: u64,
    /// The export that takes the process down, and how.
    pub(crate) crash: Option<(Crash, PanicAt)>,
    /// Returned instead of the real value.
    pub(crate) bad_value: Option<BadValue>,
    /// Sleep before each comparison.
    pub(crate) slow: Duration,
    /// What `predict_memory` answers.
    pub(crate) predictions: Predictions,
    /// Comparisons before the device is lost.
    pub(crate) device_lost_after: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self::check(Raw::default()).expect("the defaults are valid")
    }
}

impl Config {
    /// Parses and checks a JSON configuration; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let raw: Raw = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Self::check(raw)
    }

    /// Whether the `oom_*` knobs apply to sessions in `mode`.
    pub(crate) fn oom_applies(&self, mode: MemoryMode) -> bool {
        self.oom_modes.as_ref().is_none_or(|m| m.contains(&mode))
    }

    fn check(raw: Raw) -> Result<Self, String> {
        let name = raw.name.unwrap_or_else(|| DEFAULT_NAME.to_owned());
        if name.trim().is_empty() {
            return Err("`name` must not be empty".into());
        }
        let devices = raw.devices.unwrap_or(1);
        if devices > MAX_DEVICES {
            return Err(format!(
                "`devices` is {devices}, at most {MAX_DEVICES} are simulated"
            ));
        }
        let total_memory = raw.total_memory.unwrap_or(DEFAULT_TOTAL_MEMORY);
        if total_memory == 0 {
            return Err("`total_memory` must be at least 1 byte".into());
        }
        if raw.oom_every == Some(0) {
            return Err("`oom_every` must be at least 1".into());
        }
        if raw.panic_every == Some(0) {
            return Err("`panic_every` must be at least 1".into());
        }
        if raw.panic_every.is_some() && raw.panic.is_none() {
            return Err("`panic_every` is set but `panic` is not".into());
        }
        let crashes = [
            raw.segfault.map(|at| (Crash::Segfault, at)),
            raw.abort.map(|at| (Crash::Abort, at)),
            raw.hang.map(|at| (Crash::Hang, at)),
        ];
        let mut set = crashes.into_iter().flatten();
        let crash = set.next();
        if set.next().is_some() {
            return Err("at most one of `segfault`, `abort` and `hang` may be set".into());
        }
        let oom_modes = match raw.oom_modes {
            None => None,
            Some(_) if raw.oom_every.is_none() && raw.oom_open_above.is_none() => {
                return Err(
                    "`oom_modes` is set but neither `oom_every` nor `oom_open_above` is".into(),
                );
            }
            Some(names) => Some(
                names
                    .iter()
                    .map(|n| mode_from_name(n))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let bad_value = match (raw.nan, raw.out_of_range) {
            (true, true) => return Err("`nan` and `out_of_range` exclude each other".into()),
            (true, false) => Some(BadValue::Nan),
            (false, true) => Some(BadValue::OutOfRange),
            (false, false) => None,
        };
        let predictions = match (raw.absurd_predictions, raw.tiny_predictions) {
            (true, true) => {
                return Err(
                    "`absurd_predictions` and `tiny_predictions` exclude each other".into(),
                );
            }
            (true, false) => Predictions::Absurd,
            (false, true) => Predictions::Tiny,
            (false, false) => Predictions::Honest,
        };
        Ok(Self {
            name,
            devices,
            total_memory,
            free_memory_override: raw.free_memory_override,
            oom_open_above: raw.oom_open_above,
            oom_every: raw.oom_every,
            oom_modes,
            panic: raw.panic,
            panic_every: raw.panic_every.unwrap_or(1),
            crash,
            bad_value,
            slow: Duration::from_millis(raw.slow_ms),
            predictions,
            device_lost_after: raw.device_lost_after,
        })
    }
}

fn mode_from_name(name: &str) -> Result<MemoryMode, String> {
    MemoryMode::from_name(&name.replace('_', "-")).ok_or_else(|| {
        format!("`oom_modes`: unknown memory mode {name:?} (full, strip, strip-pair)")
    })
}

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// The file beside the library.
    File(PathBuf),
    /// [`ENV_VAR`].
    Env,
    /// Neither: defaults.
    Defaults,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Env => write!(f, "environment variable {ENV_VAR}"),
            Self::Defaults => f.write_str("defaults"),
        }
    }
}

/// Reads this copy's configuration: the file beside the library, else [`ENV_VAR`],
/// else defaults. A wrong one is an [`Error::InvalidInput`] naming its source.
pub(crate) fn load() -> Result<Config, Error> {
    let file = crate::locate::own_library().map(|lib| crate::locate::config_file_for(&lib));
    let env = std::env::var(ENV_VAR).map_err(|e| match e {
        std::env::VarError::NotPresent => None,
        std::env::VarError::NotUnicode(_) => Some("not valid UTF-8".to_owned()),
    });
    resolve(file, env).1
}

/// [`load`] given the candidate file and the environment variable's value (or
/// `Err(Some(problem))` when it is set but unreadable, `Err(None)` when unset).
pub(crate) fn resolve(
    file: Option<PathBuf>,
    env: Result<String, Option<String>>,
) -> (Source, Result<Config, Error>) {
    let (source, text) = match file.map(|f| (std::fs::read_to_string(&f), f)) {
        Some((Ok(text), path)) => (Source::File(path), Ok(text)),
        Some((Err(e), path)) if e.kind() != std::io::ErrorKind::NotFound => {
            (Source::File(path), Err(format!("cannot read: {e}")))
        }
        _ => match env {
            Ok(text) if !text.trim().is_empty() => (Source::Env, Ok(text)),
            Err(Some(problem)) => (Source::Env, Err(problem)),
            _ => return (Source::Defaults, Ok(Config::default())),
        },
    };
    let config = text.and_then(|t| Config::parse(&t)).map_err(|problem| {
        Error::InvalidInput(format!("qscore-sim configuration from {source}: {problem}"))
    });
    (source, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_the_defaults() {
        let config = Config::parse("{}").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.name, "sim");
        assert_eq!(config.devices, 1);
        assert_eq!(config.total_memory, 4 * 1024 * 1024 * 1024);
        assert_eq!(config.free_memory_override, None);
        assert_eq!(config.oom_every, None);
        assert_eq!(config.panic, None);
        assert_eq!(config.panic_every, 1);
        assert_eq!(config.bad_value, None);
        assert_eq!(config.slow, Duration::ZERO);
        assert_eq!(config.predictions, Predictions::Honest);
        assert_eq!(config.device_lost_after, None);
        assert!(config.oom_applies(MemoryMode::FULL));
        assert!(config.oom_applies(MemoryMode::STRIP_PAIR));
    }

    #[test]
    fn crashes_are_read_and_only_one_is_allowed() {
        let config = Config::parse(r#"{"segfault": "compare"}"#).unwrap();
        assert_eq!(config.crash, Some((Crash::Segfault, PanicAt::Compare)));
        let config = Config::parse(r#"{"abort": "open"}"#).unwrap();
        assert_eq!(config.crash, Some((Crash::Abort, PanicAt::Open)));
        let two = Config::parse(r#"{"abort": "open", "hang": "compare"}"#).unwrap_err();
        assert!(two.contains("at most one"), "{two}");
    }

    #[test]
    fn every_field_is_read() {
        let config = Config::parse(
            r#"{
                "name": "sim-b", "devices": 3, "total_memory": 1000,
                "free_memory_override": 10, "oom_open_above": 500, "oom_every": 2,
                "oom_modes": ["full", "strip_pair"], "panic": "compare", "panic_every": 4,
                "out_of_range": true, "slow_ms": 25, "tiny_predictions": true,
                "device_lost_after": 7, "hang": "prepare"
            }"#,
        )
        .unwrap();
        assert_eq!(
            config,
            Config {
                name: "sim-b".into(),
                devices: 3,
                total_memory: 1000,
                free_memory_override: Some(10),
                oom_open_above: Some(500),
                oom_every: Some(2),
                oom_modes: Some(vec![MemoryMode::FULL, MemoryMode::STRIP_PAIR]),
                panic: Some(PanicAt::Compare),
                panic_every: 4,
                crash: Some((Crash::Hang, PanicAt::Prepare)),
                bad_value: Some(BadValue::OutOfRange),
                slow: Duration::from_millis(25),
                predictions: Predictions::Tiny,
                device_lost_after: Some(7),
            }
        );
        assert!(!config.oom_applies(MemoryMode::STRIP));
        assert!(config.oom_applies(MemoryMode::STRIP_PAIR));
        let config = Config::parse(r#"{"nan": true, "absurd_predictions": true}"#).unwrap();
        assert_eq!(config.bad_value, Some(BadValue::Nan));
        assert_eq!(config.predictions, Predictions::Absurd);
        assert_eq!(
            Config::parse(r#"{"panic": "info"}"#).unwrap().panic,
            Some(PanicAt::Info)
        );
        // Explicit nulls mean "not set".
        assert_eq!(
            Config::parse(r#"{"oom_every": null, "name": null}"#).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn mistakes_are_refused_with_the_reason() {
        let cases = [
            ("", "EOF"),
            ("42", "invalid type"),
            (r#"{"oom_evry": 2}"#, "unknown field `oom_evry`"),
            (r#"{"devices": -1}"#, "invalid value"),
            (r#"{"devices": 65}"#, "at most 64"),
            (r#"{"total_memory": 0}"#, "total_memory"),
            (r#"{"name": " "}"#, "name"),
            (r#"{"oom_every": 0}"#, "`oom_every` must be at least 1"),
            (r#"{"panic": "compare", "panic_every": 0}"#, "at least 1"),
            (r#"{"panic_every": 2}"#, "`panic` is not"),
            (r#"{"panic": "close"}"#, "unknown variant `close`"),
            (r#"{"oom_modes": ["full"]}"#, "neither"),
            (
                r#"{"oom_every": 1, "oom_modes": ["tiles"]}"#,
                "unknown memory mode \"tiles\"",
            ),
            (r#"{"nan": true, "out_of_range": true}"#, "exclude"),
            (
                r#"{"absurd_predictions": true, "tiny_predictions": true}"#,
                "exclude",
            ),
            (r#"{"slow_ms": "10"}"#, "invalid type"),
        ];
        for (text, expected) in cases {
            let error = Config::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    fn unset() -> Result<String, Option<String>> {
        Err(None)
    }

    #[test]
    fn the_file_beside_the_library_wins_over_the_environment() {
        let dir = std::env::temp_dir().join(format!("qscore-sim-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("libqscore_sim_x.json");
        std::fs::write(&file, r#"{"name": "from-file"}"#).unwrap();
        let env = Ok(r#"{"name": "from-env"}"#.to_owned());

        let (source, config) = resolve(Some(file.clone()), env.clone());
        assert_eq!(source, Source::File(file.clone()));
        assert_eq!(config.unwrap().name, "from-file");

        let missing = dir.join("libqscore_sim_missing.json");
        let (source, config) = resolve(Some(missing.clone()), env);
        assert_eq!(source, Source::Env);
        assert_eq!(config.unwrap().name, "from-env");

        let (source, config) = resolve(Some(missing.clone()), unset());
        assert_eq!(source, Source::Defaults);
        assert_eq!(config.unwrap(), Config::default());
        let (source, _) = resolve(None, Ok("  ".into()));
        assert_eq!(source, Source::Defaults);

        std::fs::write(&file, r#"{"devices": "two"}"#).unwrap();
        let (_, config) = resolve(Some(file.clone()), unset());
        let Err(Error::InvalidInput(message)) = config else {
            panic!("{config:?}")
        };
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains("invalid type"), "{message}");

        let (_, config) = resolve(None, Ok("{".into()));
        let Err(Error::InvalidInput(message)) = config else {
            panic!("{config:?}")
        };
        assert!(message.contains(ENV_VAR), "{message}");
        let (_, config) = resolve(None, Err(Some("not valid UTF-8".into())));
        assert!(matches!(config, Err(Error::InvalidInput(m)) if m.contains("UTF-8")));

        std::fs::remove_dir_all(&dir).unwrap();
    }
}
