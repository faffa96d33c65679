//! The runtime the kernel tests run on: wgpu's CPU adapter (lavapipe where there is no
//! GPU), or the first CUDA device with `--features cuda-tests`.

use cubecl::prelude::*;

#[cfg(feature = "cuda-tests")]
pub(crate) use cubecl::cuda::CudaRuntime as TestRuntime;
#[cfg(not(feature = "cuda-tests"))]
pub(crate) use cubecl::wgpu::WgpuRuntime as TestRuntime;

/// The process's client, set up once.
#[cfg(not(feature = "cuda-tests"))]
pub(crate) fn client() -> ComputeClient<TestRuntime> {
    use cubecl::wgpu::WgpuDevice;
    static INIT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let device = WgpuDevice::Cpu;
    INIT.get_or_init(|| {
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            // SAFETY: set once, before any thread of this process reads the environment.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", "/tmp") };
        }
        cubecl::wgpu::init_setup::<cubecl::wgpu::Vulkan>(&device, Default::default());
    });
    TestRuntime::client(&device)
}

/// With `--features cuda-tests`, the first CUDA device.
#[cfg(feature = "cuda-tests")]
pub(crate) fn client() -> ComputeClient<TestRuntime> {
    TestRuntime::client(&Default::default())
}
