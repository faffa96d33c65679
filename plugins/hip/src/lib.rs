//! qscore's ROCm/HIP plugin: the cube kernels on AMD GPUs.
//!
//! The HIP runtime library is probed first ([`driver`]): creating a HIP client without it
//! aborts the whole process, so without it the plugin reports no devices and why, and never
//! touches cubecl's HIP runtime.

mod backend;
mod driver;

qscore_core::export_plugin!(qscore_cube::CubePlugin<backend::HipBackend>, || {
    qscore_cube::CubePlugin::new(backend::HipBackend::default())
});
