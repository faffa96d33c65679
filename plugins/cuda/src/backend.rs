//! The CUDA runtime, behind a driver probe.

use std::sync::Arc;

use cubecl::cuda::{CudaDevice, CudaRuntime};
use qscore_core::{BackendFamily, Error};
use qscore_cube::{Backend, FoundDevice, driver::Probed, upload::HostWriter};

use crate::driver::Driver;

/// CUDA devices, found through the driver library loaded at run time.
#[derive(Debug, Default)]
pub(crate) struct CudaBackend {
    driver: Probed<Driver>,
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
        self.driver.discover(|index| CudaDevice { index })
    }

    fn free_memory(&self, found: &FoundDevice<CudaDevice>) -> Result<u64, Error> {
        self.driver.free_memory(found.device.index)
    }

    fn host_writer(&self) -> Option<Arc<dyn HostWriter<CudaRuntime>>> {
        Some(Arc::new(crate::writer::PinnedWriter))
    }
}
