//! The HIP runtime, behind a probe of its library.

use cubecl::hip::{AmdDevice, HipRuntime};
use qscore_core::{BackendFamily, Error};
use qscore_cube::{Backend, FoundDevice, driver::Probed};

use crate::driver::Driver;

/// HIP devices, found through the runtime library loaded at run time.
#[derive(Debug, Default)]
pub(crate) struct HipBackend {
    driver: Probed<Driver>,
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
        self.driver.discover(|index| AmdDevice { index })
    }

    fn free_memory(&self, found: &FoundDevice<AmdDevice>) -> Result<u64, Error> {
        self.driver.free_memory(found.device.index)
    }
}
