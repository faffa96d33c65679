//! The wgpu runtime: the platform's default adapter.

use cubecl::wgpu::{AutoGraphicsApi, GraphicsApi, WgpuDevice, WgpuRuntime};
use qscore_core::{BackendFamily, DeviceInfo, DeviceKind, Error};
use qscore_cube::{Backend, FoundDevice};

/// wgpu's default adapter, set up once per process.
#[derive(Debug)]
pub(crate) struct WgpuBackend;

/// Available RAM (within the process's cgroup limit), for adapters that use the host's
/// memory (software and integrated GPUs).
fn available_ram() -> Result<u64, Error> {
    Ok(qscore_core::sdk::resources::memory()?.available)
}

/// The adapter cubecl's default device uses (its graphics API's backend, the high-performance
/// preference), asked of wgpu directly: listing it starts no device.
fn default_adapter() -> Result<wgpu::Adapter, String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: AutoGraphicsApi::backend().into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let options = wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        force_fallback_adapter: false,
        compatible_surface: None,
    };
    cubecl::future::block_on(instance.request_adapter(&options))
        .map_err(|e| format!("no wgpu adapter could be opened: {e}"))
}

impl Backend for WgpuBackend {
    type Runtime = WgpuRuntime;

    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn family(&self) -> BackendFamily {
        BackendFamily::WGPU
    }

    fn discover(&self) -> Result<Vec<FoundDevice<WgpuDevice>>, String> {
        // Vulkan loaders look for a runtime directory; a headless machine may not set one.
        if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
            // SAFETY: set during discovery, before this plugin starts any thread of its own.
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
        }
        let adapter = default_adapter()?;
        let info = adapter.get_info();
        let kind = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => DeviceKind::DISCRETE_GPU,
            wgpu::DeviceType::IntegratedGpu => DeviceKind::INTEGRATED_GPU,
            wgpu::DeviceType::Cpu => DeviceKind::SOFTWARE_GPU,
            _ => DeviceKind::OTHER,
        };
        let total = match kind {
            DeviceKind::DISCRETE_GPU => adapter.limits().max_buffer_size,
            _ => available_ram().unwrap_or(0),
        };
        Ok(vec![FoundDevice {
            info: DeviceInfo {
                id: 0,
                kind,
                vendor: format!("{:#06x}", info.vendor).into(),
                model: format!("{} ({:?})", info.name, info.backend).into(),
                driver_version: format!("{} {}", info.driver, info.driver_info)
                    .trim()
                    .into(),
                total_memory: total,
            },
            device: WgpuDevice::DefaultDevice,
        }])
    }

    fn start(&self, device: &WgpuDevice) -> Result<(), String> {
        std::panic::catch_unwind(|| {
            cubecl::wgpu::init_setup::<AutoGraphicsApi>(device, Default::default());
        })
        .map_err(|p| {
            format!(
                "the wgpu device could not be started: {}",
                qscore_core::sdk::panic_text(&*p).unwrap_or_default()
            )
        })
    }

    fn free_memory(&self, found: &FoundDevice<WgpuDevice>) -> Result<u64, Error> {
        match found.info.kind {
            // wgpu has no query for a discrete GPU's free memory.
            DeviceKind::DISCRETE_GPU => Err(Error::Unsupported(
                "wgpu cannot report a discrete GPU's free memory".into(),
            )),
            _ => available_ram(),
        }
    }
}
