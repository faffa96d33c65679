//! qscore's CPU plugin: the numerical reference every other backend is tested against.
//!
//! The metric math lives in [`metrics`] (our own PSNR, SSIM, MS-SSIM and VMAF's motion
//! features) and in the `fast-ssim2` and `butteraugli` crates; [`plugin`] answers the ABI,
//! [`sessions`] binds each metric to a session and [`temporal`] holds the sessions of the
//! temporal metrics.

mod convert;
mod meter;
mod metrics;
mod plugin;
mod sessions;
mod system;
mod temporal;
mod vmaf_model;

#[global_allocator]
static METER: meter::Meter = meter::Meter;

qscore_core::export_plugin!(plugin::CpuPlugin, plugin::CpuPlugin::new);
