//! An example qscore plugin, built outside the qscore workspace against `qscore-core` alone.
//!
//! It offers one metric, `mae`, for 8-bit RGB, RGBA and grey images. Its outputs are
//! `mae`, the mean absolute difference over every colour sample, and `max_abs_diff`,
//! the largest one, both in 8-bit code values (0 to 255); alpha is ignored. It runs
//! on one device, the host's CPU.
//!
//! [`plugin`] answers the host's questions (identity, devices, capabilities, memory);
//! [`mae`] holds the metric and its session. `docs/plugin-guide.md` in the qscore
//! repository walks through this crate.

mod mae;
mod plugin;

// Builds the plugin on first use and exports the qscore root module under the symbol
// the host's loader looks for. Every call through it is guarded: errors and panics
// reach the host as typed errors.
qscore_core::export_plugin!(plugin::ExamplePlugin, plugin::ExamplePlugin::new);
