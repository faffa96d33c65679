//! qscore's simulation plugin, for tests of the host (its scheduler above all).
//!
//! A real cdylib, loaded through the real ABI, that presents one or more FAKE GPUs
//! ([`qscore_core::DeviceKind::DISCRETE_GPU`], "Simulated GPU `<i>`") with a live
//! free-memory model, computes PSNR exactly (so results can be checked), and can be
//! told to misbehave: run out of memory, panic, return NaN or out-of-range values,
//! be slow, mispredict its memory, lose its device.
//!
//! It is never installed: its file, `libqscore_sim.so`, lacks the `qscore_plugin_`
//! the host wants in the names it loads from its default directories.
//!
//! Each loaded copy of the library reads its own configuration once, when the host
//! first calls it: the JSON file beside the library named `<library file stem>.json`
//! (`libqscore_sim.json` beside `libqscore_sim.so`), else the JSON text in the
//! environment variable `QSCORE_SIM_CONFIG`, else defaults. Copying the library
//! into several directories with different JSON files gives one process several
//! differently-behaved plugins. The module `config` documents every field, `memory`
//! the memory model, `gpu` how calls are counted.

// Unsafe code only where the plugin must crash on request (`Crash::Segfault`).
#![deny(unsafe_code)]

mod config;
mod gpu;
mod locate;
mod memory;
mod plugin;
mod psnr;
mod session;

qscore_core::export_plugin!(plugin::SimPlugin, plugin::SimPlugin::new);
