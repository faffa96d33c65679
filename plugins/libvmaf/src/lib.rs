//! qscore's VMAF plugin: Netflix's libvmaf 2.3.1, vendored and built by `libvmaf-sys`,
//! behind qscore's clip sessions.
//!
//! libvmaf keeps its own temporal state (motion compares each frame with the previous
//! ones), so every metric here is scored through a sequential clip session: the host
//! pushes a clip's frames in order and runs different clips in parallel. [`metrics`]
//! says what each metric asks libvmaf for, [`vmaf`] wraps the C API safely, [`clip`]
//! is the clip session and [`plugin`] answers the ABI.
//!
//! This crate is GPL-3.0-or-later because it links libvmaf-sys (see the README).

mod clip;
mod error;
mod metrics;
mod plugin;
mod vmaf;

qscore_core::export_plugin!(plugin::LibvmafPlugin, plugin::LibvmafPlugin::new);
