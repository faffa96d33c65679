//! qscore's CPU plugin: the numerical reference every other backend is tested against.
//!
//! The metric math lives in [`metrics`] (our own PSNR, SSIM and MS-SSIM) and in the
//! `fast-ssim2` and `butteraugli` crates; [`plugin`] answers the ABI and [`sessions`]
//! binds each metric to a session.

mod convert;
mod meter;
mod metrics;
mod plugin;
mod sessions;
mod system;

#[global_allocator]
static METER: meter::Meter = meter::Meter;

qscore_core::export_plugin!(plugin::CpuPlugin, plugin::CpuPlugin::new);
