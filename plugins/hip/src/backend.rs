//! The HIP runtime, behind a probe of its library.

use std::sync::OnceLock;

use cubecl::hip::{AmdDevice, HipRuntime};
use qscore_core::{BackendFamily, DeviceInfo, DeviceKind, Error};
use qscore_cube::{Backend, FoundDevice};

use crate::driver::Driver;

/// HIP devices, found through the runtime library loaded at run time.
#[derive(Debug, Default)]
pub(crate) struct HipBackend {
    driver: OnceLock<Result<Driver, String>>,
}

impl HipBackend {
    fn driver(&self) -> Result<&Driver, String> {
        self.driver
            .get_or_init(Driver::load)
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Backend for HipBackend {
    type Runtime = HipRuntime;

    fn name(&self) -> &'static str {
        "hip"
    }

    fn family(&self) -> BackendFamily {
        BackendFamily::HIP
    }

    fn discover(&self) -> Result<Vec<FoundDevice<AmdDevice>>, String> {
        let driver = self.driver()?;
        let version = driver.version()?;
        let devices = driver.devices()?;
        if devices.is_empty() {
            return Err(format!("the HIP runtime {version} sees no device"));
        }
        Ok(devices
            .into_iter()
            .map(|d| FoundDevice {
                info: DeviceInfo {
                    id: d.ordinal as u32,
                    kind: DeviceKind::DISCRETE_GPU,
                    vendor: "AMD".into(),
                    model: d.name.into(),
                    driver_version: version.as_str().into(),
                    total_memory: d.total_memory,
                },
                device: AmdDevice { index: d.ordinal },
            })
            .collect())
    }

    fn free_memory(&self, found: &FoundDevice<AmdDevice>) -> Result<u64, Error> {
        self.driver()
            .and_then(|d| d.free_memory(found.device.index))
            .map_err(Error::DeviceLost)
    }
}
