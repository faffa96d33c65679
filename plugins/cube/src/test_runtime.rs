//! The runtime the crate's unit tests run their kernels on: wgpu (lavapipe where there is no
//! GPU), or the first CUDA device with `--features cuda-tests`, so that the bit-exactness
//! tests also check what NVRTC makes of the kernels.

use cubecl::prelude::*;

/// The tests' runtime.
#[cfg(not(feature = "cuda-tests"))]
pub(crate) type TestRuntime = cubecl::wgpu::WgpuRuntime;
/// The tests' runtime.
#[cfg(feature = "cuda-tests")]
pub(crate) type TestRuntime = cubecl::cuda::CudaRuntime;

/// The tests' client, set up once per process.
pub(crate) fn client() -> ComputeClient<TestRuntime> {
    #[cfg(not(feature = "cuda-tests"))]
    {
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
    #[cfg(feature = "cuda-tests")]
    {
        TestRuntime::client(&Default::default())
    }
}
