//! The CUDA runtime, behind a driver probe.

use std::sync::OnceLock;

use cubecl::cuda::{CudaDevice, CudaRuntime};
use qscore_core::{BackendFamily, DeviceInfo, DeviceKind, Error};
use qscore_cube::{Backend, FoundDevice};

use crate::driver::Driver;

/// CUDA devices, found through the driver library loaded at run time.
#[derive(Debug, Default)]
pub(crate) struct CudaBackend {
    driver: OnceLock<Result<Driver, String>>,
}

impl CudaBackend {
    fn driver(&self) -> Result<&Driver, String> {
        self.driver
            .get_or_init(Driver::load)
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Backend for CudaBackend {
    type Runtime = CudaRuntime;

    fn name(&self) -> &'static str {
        "cuda"
    }

    fn family(&self) -> BackendFamily {
        BackendFamily::CUDA
    }

    fn discover(&self) -> Result<Vec<FoundDevice<CudaDevice>>, String> {
        let driver = self.driver()?;
        let version = driver.version()?;
        let devices = driver.devices()?;
        if devices.is_empty() {
            return Err(format!("the CUDA driver {version} sees no device"));
        }
        Ok(devices
            .into_iter()
            .map(|d| FoundDevice {
                info: DeviceInfo {
                    id: d.ordinal as u32,
                    kind: DeviceKind::DISCRETE_GPU,
                    vendor: "NVIDIA".into(),
                    model: d.name.into(),
                    driver_version: version.as_str().into(),
                    total_memory: d.total_memory,
                },
                device: CudaDevice { index: d.ordinal },
            })
            .collect())
    }

    fn free_memory(&self, found: &FoundDevice<CudaDevice>) -> Result<u64, Error> {
        self.driver()
            .and_then(|d| d.free_memory(found.device.index))
            .map_err(Error::DeviceLost)
    }
}
