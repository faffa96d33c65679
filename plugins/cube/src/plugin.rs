//! The plugin every runtime crate exports: devices checked by the liveness kernel, the
//! metrics' capabilities and predictions, and sessions.

use std::sync::Arc;

use cubecl::prelude::*;
use qscore_core::{
    DeviceList, Error, MemoryMode, MetricCaps, PixelFormat, TaskSpec,
    sdk::{self, AnySession, Identity, Plugin},
};

use crate::{
    backend::{Backend, FoundDevice},
    liveness,
    sessions::{self, CubeSession},
};

/// Largest side accepted; memory, checked against predictions, is the real limit.
const MAX_SIDE: u32 = 1 << 16;

type Device<B> = <<B as Backend>::Runtime as Runtime>::Device;

/// A GPU plugin over backend `B`.
pub struct CubePlugin<B: Backend> {
    backend: Arc<B>,
    devices: Vec<FoundDevice<Device<B>>>,
    note: String,
    caps: Vec<MetricCaps>,
}

impl<B: Backend> std::fmt::Debug for CubePlugin<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CubePlugin")
            .field("backend", &self.backend.name())
            .field("devices", &self.devices.len())
            .field("note", &self.note)
            .finish()
    }
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

impl<B: Backend> CubePlugin<B> {
    /// Discovers the backend's devices and keeps those whose liveness kernel answers right.
    pub fn new(backend: B) -> Self {
        crate::kernel_cache::configure();
        let backend = Arc::new(backend);
        let mut notes = Vec::new();
        let mut devices = Vec::new();
        match backend.discover() {
            Err(why) => notes.push(why),
            Ok(found) => {
                for (index, mut device) in found.into_iter().enumerate() {
                    let b = Arc::clone(&backend);
                    let d = device.device.clone();
                    let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        liveness::check(&b.client(&d))
                    }))
                    .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(p.as_ref()))));
                    match check {
                        Ok(()) => {
                            device.info.id = devices.len() as u32;
                            devices.push(device);
                        }
                        Err(why) => notes.push(format!(
                            "device {index} ({}) is unusable: {why}",
                            device.info.model
                        )),
                    }
                }
            }
        }
        if !devices.is_empty()
            && let Some(writer) = backend.host_writer()
        {
            crate::upload::register(writer);
        }
        let caps = sessions::METRICS
            .iter()
            .map(|m| MetricCaps {
                metric: m.id.into(),
                outputs: m.outputs.iter().map(|&o| o.into()).collect(),
                formats: all_formats().into(),
                modes: vec![MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR].into(),
                reusable_reference: true,
                temporal_depth: 0,
                max_width: MAX_SIDE,
                max_height: MAX_SIDE,
            })
            .collect();
        Self {
            backend,
            devices,
            note: notes.join("; "),
            caps,
        }
    }

    fn device(&self, id: u32) -> Result<&FoundDevice<Device<B>>, Error> {
        self.devices.get(id as usize).ok_or_else(|| {
            Error::InvalidInput(format!(
                "device {id} (the {} plugin has {} usable device(s))",
                self.backend.name(),
                self.devices.len()
            ))
        })
    }
}

fn all_formats() -> Vec<PixelFormat> {
    PixelFormat::PACKED
        .iter()
        .copied()
        .chain(PixelFormat::all_yuv())
        .collect()
}

impl<B: Backend> Plugin for CubePlugin<B> {
    fn identity(&self) -> Identity {
        Identity {
            name: self.backend.name().into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "qscore".into(),
            family: self.backend.family(),
        }
    }

    fn devices(&self) -> Result<DeviceList, Error> {
        Ok(DeviceList {
            devices: self.devices.iter().map(|d| d.info.clone()).collect(),
            note: self.note.as_str().into(),
        })
    }

    fn free_memory(&self, device: u32) -> Result<u64, Error> {
        self.backend.free_memory(self.device(device)?)
    }

    fn capabilities(&self, device: u32) -> Result<Vec<MetricCaps>, Error> {
        self.device(device)?;
        Ok(self.caps.clone())
    }

    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        self.device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        sessions::predict(sessions::find(spec.metric.as_str())?, spec)
    }

    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        let found = self.device(device)?.clone();
        sdk::check_spec(&self.caps, spec)?;
        let def = sessions::find(spec.metric.as_str())?;
        let client = self.backend.client(&found.device);
        let backend = Arc::clone(&self.backend);
        let free = Box::new(move || backend.free_memory(&found));
        Ok(sdk::boxed(CubeSession::new(client, def, spec, free)?))
    }
}
