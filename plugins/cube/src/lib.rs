//! qscore's GPU metrics, written once, generic over cubecl's [`Runtime`](cubecl::Runtime).
//!
//! The runtime plugins (`plugins/wgpu`, `plugins/cuda`, `plugins/hip`) implement
//! [`Backend`] (which runtime, which devices, how much memory is free) and export
//! [`CubePlugin`]; everything else lives here: unpacking images on the device, the metric
//! kernels, memory modes, predictions and the liveness check.

pub mod backend;
pub mod butteraugli;
pub mod driver;
mod filter;
pub mod grid;
pub mod kernel_cache;
pub mod liveness;
pub mod meter;
pub mod ms_ssim;
pub mod plane;
pub mod plugin;
pub mod psnr;
pub mod reduce;
pub(crate) mod sessions;
pub mod source;
pub mod ssim;
pub mod ssimulacra2;
#[cfg(test)]
mod test_runtime;
pub mod unpack;
pub mod upload;
pub mod vmaf;

pub use backend::{Backend, FoundDevice};
pub use plane::DevicePlane;
pub use plugin::CubePlugin;
pub use source::{DeviceSource, PlaneSource};
