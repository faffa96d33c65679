//! GPU driver libraries loaded at run time, shared by the CUDA and HIP plugins.
//!
//! Creating a client of cubecl's CUDA runtime panics, and of its HIP runtime aborts the
//! process, when the driver is missing. So those plugins load the vendor's library first
//! (through `libloading`), list devices with it, and only then let cubecl near a device.

use std::sync::OnceLock;

use qscore_core::{DeviceInfo, DeviceKind, Error};

use crate::backend::FoundDevice;

/// A device as a driver library lists it.
#[derive(Debug, Clone)]
pub struct DriverDevice {
    /// The driver's ordinal, which is also the cubecl runtime's device index.
    pub ordinal: usize,
    /// Model name.
    pub name: String,
    /// Total memory in bytes.
    pub total_memory: u64,
}

/// A vendor's driver API, loaded at run time.
pub trait DriverLibrary: Send + Sync + Sized + 'static {
    /// What it is called in messages ("CUDA driver", "HIP runtime").
    const WHAT: &'static str;
    /// Device vendor reported to the host.
    const VENDOR: &'static str;

    /// Loads and initialises the library, or says why it cannot.
    fn load() -> Result<Self, String>;
    /// The driver's version.
    fn version(&self) -> Result<String, String>;
    /// Every device the driver sees.
    fn devices(&self) -> Result<Vec<DriverDevice>, String>;
    /// Free memory of device `ordinal` now, in bytes.
    fn free_memory(&self, ordinal: usize) -> Result<u64, String>;
}

/// A driver library, loaded on first use and kept (or the reason it could not be).
#[derive(Debug)]
pub struct Probed<L> {
    library: OnceLock<Result<L, String>>,
}

impl<L> Default for Probed<L> {
    fn default() -> Self {
        Self {
            library: OnceLock::new(),
        }
    }
}

impl<L: DriverLibrary> Probed<L> {
    fn library(&self) -> Result<&L, String> {
        self.library
            .get_or_init(L::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The devices the driver sees, with `device(ordinal)` as the runtime's handle, or why
    /// there are none.
    pub fn discover<D>(&self, device: impl Fn(usize) -> D) -> Result<Vec<FoundDevice<D>>, String> {
        let library = self.library()?;
        let version = library.version()?;
        let devices = library.devices()?;
        if devices.is_empty() {
            return Err(format!("the {} {version} sees no device", L::WHAT));
        }
        Ok(devices
            .into_iter()
            .map(|d| FoundDevice {
                info: DeviceInfo {
                    id: d.ordinal as u32,
                    kind: DeviceKind::DISCRETE_GPU,
                    vendor: L::VENDOR.into(),
                    model: d.name.into(),
                    driver_version: version.as_str().into(),
                    total_memory: d.total_memory,
                },
                device: device(d.ordinal),
            })
            .collect())
    }

    /// Free memory of device `ordinal`; a driver that stops answering has lost the device.
    pub fn free_memory(&self, ordinal: usize) -> Result<u64, Error> {
        self.library()
            .and_then(|l| l.free_memory(ordinal))
            .map_err(Error::DeviceLost)
    }
}
