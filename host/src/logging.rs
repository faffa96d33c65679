//! qscore's log: its own records and its plugins', on standard error.
//!
//! Off unless asked for (`-v`, `-vv`, `-vvv`, or `QSCORE_LOG=error|warn|info|debug|trace`),
//! so the default output is the command's own. A plugin has its own copy of the `log`
//! crate; the loader hands each one [`PLUGIN_SINK`] (ABI 1.6), so that the records of what
//! it links (wgpu, cubecl, drivers' wrappers) come out here too, with their targets.

use std::io::Write as _;

use qscore_core::{abi_stable::std_types::RStr, root::ext::LogFn};

/// The environment variable that sets the level when no `-v` is given.
pub const ENV: &str = "QSCORE_LOG";

/// Writes records to standard error, one line each: `qscore: LEVEL TARGET: MESSAGE`.
struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = record.level().as_str().to_ascii_lowercase();
        // Nothing more can be said if standard error is gone.
        let _ = writeln!(
            std::io::stderr().lock(),
            "qscore: {level} {}: {}",
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

/// The level for `verbose` (`-v` count): none is [`ENV`]'s level or off, then info, debug,
/// trace. An unknown [`ENV`] value is named and ignored.
pub fn level(verbose: u8) -> log::LevelFilter {
    match verbose {
        0 => match std::env::var(ENV) {
            Ok(value) => value.parse().unwrap_or_else(|_| {
                eprintln!(
                    "qscore: warning: {ENV}={value} is not a level (off, error, warn, info, \
                     debug, trace); the log stays off"
                );
                log::LevelFilter::Off
            }),
            Err(_) => log::LevelFilter::Off,
        },
        1 => log::LevelFilter::Info,
        2 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

/// Sends this process's records up to `level` to standard error. Call before loading
/// plugins: each gets the level in force when it loads.
pub fn init(level: log::LevelFilter) {
    // Fails only if a logger is already set (a second call): the first stays.
    let _ = log::set_logger(&Stderr);
    log::set_max_level(level);
}

/// The sink handed to plugins.
pub(crate) const PLUGIN_SINK: LogFn = LogFn { log: from_plugin };

/// The level plugins are asked to send up to: this process's.
pub(crate) fn plugin_level() -> u32 {
    log::max_level() as u32
}

/// A plugin's record, logged as one of ours with its own target.
extern "C" fn from_plugin(level: u32, target: RStr<'_>, message: RStr<'_>) {
    let level = match level {
        1 => log::Level::Error,
        2 => log::Level::Warn,
        3 => log::Level::Info,
        4 => log::Level::Debug,
        _ => log::Level::Trace,
    };
    // No panic may unwind into the plugin.
    let _ = std::panic::catch_unwind(|| {
        log::logger().log(
            &log::Record::builder()
                .level(level)
                .target(target.as_str())
                .args(format_args!("{}", message.as_str()))
                .build(),
        );
    });
}
