//! qscore's CUDA plugin: the cube kernels on NVIDIA GPUs.
//!
//! The driver library is probed first ([`driver`]): without it the plugin reports no
//! devices and why, and never touches cubecl's CUDA runtime.

mod backend;
mod driver;
mod writer;

qscore_core::export_plugin!(qscore_cube::CubePlugin<backend::CudaBackend>, || {
    qscore_cube::CubePlugin::new(backend::CudaBackend::default())
});
