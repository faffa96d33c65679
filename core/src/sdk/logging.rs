//! A plugin's `log` records, forwarded to the host's sink (ABI 1.6, [`crate::root::ext::LogSink`]).
//!
//! The plugin's copy of the `log` crate gets a logger that formats each record enabled by
//! the level the host asked for and hands it to the host's callback; the host prints it
//! (or not) as its own records. Without a sink, records go nowhere, as before.

use std::sync::OnceLock;

use abi_stable::std_types::RStr;

use super::guard::guard_unit;
use crate::root::ext::LogFn;

/// The host's sink, set once.
static SINK: OnceLock<LogFn> = OnceLock::new();

/// The `log` crate's logger inside the plugin.
struct Forward;

impl log::Log for Forward {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(sink) = SINK.get() else { return };
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        (sink.log)(
            record.level() as u32,
            RStr::from_str(record.target()),
            RStr::from_str(&message),
        );
    }

    fn flush(&self) {}
}

/// The level filter for an ABI level number (0 off, 1 error … 5 trace; above 5 is trace).
pub(crate) fn level_filter(level: u32) -> log::LevelFilter {
    match level {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

/// [`crate::root::ext::LogSink::install`].
pub(crate) extern "C" fn install(sink: LogFn, max_level: u32) {
    guard_unit("install_log_sink", || {
        if SINK.set(sink).is_ok() {
            // Fails only if the plugin set a logger of its own, which then keeps its records.
            let _ = log::set_logger(&Forward);
        }
        log::set_max_level(level_filter(max_level));
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    static SEEN: Mutex<Vec<(u32, String, String)>> = Mutex::new(Vec::new());

    extern "C" fn remember(level: u32, target: RStr<'_>, message: RStr<'_>) {
        let seen = (level, target.to_string(), message.to_string());
        SEEN.lock().unwrap().push(seen);
    }

    #[test]
    fn records_up_to_the_asked_level_reach_the_sink() {
        let sink = LogFn { log: remember };
        install(sink, 2);
        log::warn!(target: "wgpu_hal::vulkan", "adapter {} is slow", 3);
        log::info!(target: "wgpu_hal::vulkan", "not asked for");
        install(sink, 3);
        log::info!(target: "cubecl", "now asked for");
        let seen = SEEN.lock().unwrap().clone();
        assert_eq!(
            seen,
            [
                (2, "wgpu_hal::vulkan".into(), "adapter 3 is slow".into()),
                (3, "cubecl".into(), "now asked for".into()),
            ]
        );
        assert_eq!(level_filter(0), log::LevelFilter::Off);
        assert_eq!(level_filter(9), log::LevelFilter::Trace);
    }
}
