//! qscore's CPU plugin: the numerical reference every other backend is tested against.
//!
//! The metric math lives in [`metrics`] (our own PSNR, SSIM, MS-SSIM and VMAF's features:
//! VIF, ADM and motion) and in the `fast-ssim2` and `butteraugli` crates; [`vmaf_model`]
//! reads libvmaf's models and predicts VMAF; [`plugin`] answers the ABI, [`sessions`] binds
//! each metric to a session, [`temporal`] holds the sessions of the motion features and
//! [`vmaf`] those of `vif`, `adm` and `vmaf`.

mod convert;
mod engine;
mod meter;
mod metrics;
mod plugin;
mod sessions;
mod system;
mod temporal;
mod vmaf;
mod vmaf_model;
pub mod vmaf_parts;

#[global_allocator]
static METER: meter::Meter = meter::Meter;

// Exported by the `qscore-cpu` cdylib crate (the plugin file) and built into the host.
qscore_core::plugin_root!(plugin::CpuPlugin, plugin::CpuPlugin::new);
