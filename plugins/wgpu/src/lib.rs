//! qscore's wgpu plugin: the cube kernels on Vulkan, Metal or DX12, whichever the platform
//! has; on machines without a GPU, Mesa's lavapipe runs them on the CPU.

mod backend;

qscore_core::export_plugin!(qscore_cube::CubePlugin<backend::WgpuBackend>, || {
    qscore_cube::CubePlugin::new(backend::WgpuBackend)
});
