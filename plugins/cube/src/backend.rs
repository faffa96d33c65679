//! What a runtime plugin crate supplies: its runtime, its devices and their live memory.

use std::sync::Arc;

use cubecl::prelude::*;
use qscore_core::{BackendFamily, DeviceInfo, Error};

use crate::upload::HostWriter;

/// A device a backend found, with what it takes to make a client for it.
#[derive(Debug, Clone)]
pub struct FoundDevice<D> {
    /// What the host is told (its `id` is reassigned by the plugin).
    pub info: DeviceInfo,
    /// The runtime's own handle for the device.
    pub device: D,
}

/// One cubecl runtime as seen by a plugin: thin crates (`plugins/wgpu`, `plugins/cuda`,
/// `plugins/hip`) implement this and hand it to [`crate::plugin::CubePlugin`].
pub trait Backend: Send + Sync + 'static {
    /// The cubecl runtime.
    type Runtime: Runtime;

    /// Plugin name (`wgpu`, `cuda`, `hip`).
    fn name(&self) -> &'static str;

    /// Backend family reported to the host.
    fn family(&self) -> BackendFamily;

    /// The devices, or why there are none. Must never touch the runtime when its driver is
    /// missing (some runtimes abort the process instead of failing), and must not start a
    /// device: a started device keeps a runtime thread for the life of the process (cubecl's
    /// wakes every 150 µs), which a plugin loaded only to be listed, or not chosen, must not
    /// cost. [`Backend::start`] and the first client start it.
    fn discover(&self) -> Result<Vec<FoundDevice<<Self::Runtime as Runtime>::Device>>, String>;

    /// Starts a discovered device before its first client, where the runtime needs set-up of
    /// its own (the reason it cannot start when it does not); by default the first client
    /// starts it.
    fn start(&self, device: &<Self::Runtime as Runtime>::Device) -> Result<(), String> {
        let _ = device;
        Ok(())
    }

    /// A client for a discovered device.
    fn client(&self, device: &<Self::Runtime as Runtime>::Device) -> ComputeClient<Self::Runtime> {
        Self::Runtime::client(device)
    }

    /// Free device memory now, in bytes.
    fn free_memory(
        &self,
        found: &FoundDevice<<Self::Runtime as Runtime>::Device>,
    ) -> Result<u64, Error>;

    /// A faster way than cubecl's portable upload to copy pixel rows to this runtime's
    /// devices (see [`crate::upload`]); registered for the process when the plugin finds a
    /// device.
    fn host_writer(&self) -> Option<Arc<dyn HostWriter<Self::Runtime>>> {
        None
    }
}
