//! The plugin every runtime crate exports: devices started and checked by the liveness
//! kernel on first use, the metrics' capabilities and predictions, and sessions.

use std::sync::{Arc, OnceLock};

use cubecl::prelude::*;
use qscore_core::{
    DeviceList, Error, MemoryMode, MetricCaps, PixelFormat, TaskSpec,
    sdk::{self, AnySession, Identity, Plugin},
};

use qscore_cpu::vmaf_parts;

use crate::{
    backend::{Backend, FoundDevice},
    liveness,
    sessions::{self, CubeSession},
    vmaf,
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
    /// Per device, the result of starting it and running the liveness kernel, once.
    checked: Vec<OnceLock<Result<(), String>>>,
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

impl<B: Backend> CubePlugin<B> {
    /// Discovers the backend's devices. None is started here: a started device keeps a
    /// runtime thread for the life of the process, so each is started, and checked by the
    /// liveness kernel, when it is first used (see [`CubePlugin::ready`]).
    pub fn new(backend: B) -> Self {
        crate::kernel_cache::configure();
        let backend = Arc::new(backend);
        let (devices, note) = match backend.discover() {
            Ok(found) => (found, String::new()),
            Err(why) => (Vec::new(), why),
        };
        let devices: Vec<_> = devices
            .into_iter()
            .enumerate()
            .map(|(index, mut device)| {
                device.info.id = index as u32;
                device
            })
            .collect();
        if !devices.is_empty()
            && let Some(writer) = backend.host_writer()
        {
            crate::upload::register(writer);
        }
        let features = vmaf_parts::feature_metrics()
            .into_iter()
            .map(|m| MetricCaps {
                metric: m.id.into(),
                outputs: m.outputs.iter().map(|&o| o.into()).collect(),
                // VMAF's features read the luma of YUV frames, on the whole frame.
                formats: PixelFormat::all_yuv().collect::<Vec<_>>().into(),
                modes: vec![MemoryMode::FULL].into(),
                reusable_reference: m.reusable_reference,
                temporal_depth: m.temporal_depth,
                max_width: MAX_SIDE,
                max_height: MAX_SIDE,
            });
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
            .chain(features)
            .collect();
        Self {
            checked: devices.iter().map(|_| OnceLock::new()).collect(),
            backend,
            devices,
            note,
            caps,
        }
    }

    fn device(&self, id: u32) -> Result<&FoundDevice<Device<B>>, Error> {
        self.devices.get(id as usize).ok_or_else(|| {
            Error::InvalidInput(format!(
                "device {id} (the {} plugin has {} device(s))",
                self.backend.name(),
                self.devices.len()
            ))
        })
    }

    /// Device `id`, started and checked by the liveness kernel the first time it is asked
    /// for; a device whose check failed is lost for the rest of the process.
    fn ready(&self, id: u32) -> Result<&FoundDevice<Device<B>>, Error> {
        let found = self.device(id)?;
        let check = self.checked[id as usize].get_or_init(|| {
            let started = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.backend.start(&found.device)?;
                liveness::check(&self.backend.client(&found.device))
            }));
            started.unwrap_or_else(|p| {
                let text = sdk::panic_text(p.as_ref()).unwrap_or_else(|| "unknown panic".into());
                Err(format!("panic: {text}"))
            })
        });
        match check {
            Ok(()) => Ok(found),
            Err(why) => Err(Error::DeviceLost(format!(
                "device {id} ({}) is unusable: {why}",
                found.info.model
            ))),
        }
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

    fn check_device(&self, device: u32) -> Result<(), Error> {
        self.ready(device).map(|_| ())
    }

    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        self.device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        if let Some(metric) = vmaf::feature(spec.metric.as_str()) {
            return vmaf::predict(metric, spec);
        }
        sessions::predict(sessions::find(spec.metric.as_str())?, spec)
    }

    fn lookahead(&self, device: u32, metric: &str) -> Result<u32, Error> {
        self.device(device)?;
        Ok(vmaf::feature(metric).map_or(0, |m| m.lookahead))
    }

    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        let found = self.ready(device)?.clone();
        sdk::check_spec(&self.caps, spec)?;
        if vmaf::feature(spec.metric.as_str()).is_some() {
            let client = self.backend.client(&found.device);
            if let Some(why) = vmaf::engine::unsupported_reason(&client) {
                return Err(Error::Unsupported(why));
            }
            // The engine's largest buffers are whole planes of 32-bit samples.
            let plane = spec.width as usize * spec.height as usize * 4;
            let what = format!("{} on {}x{} frames", spec.metric, spec.width, spec.height);
            crate::meter::check_largest(&client, plane, &what)?;
            return vmaf_parts::open_session(vmaf::engine::DeviceEngine::new(client), spec);
        }
        let def = sessions::find(spec.metric.as_str())?;
        let client = self.backend.client(&found.device);
        let backend = Arc::clone(&self.backend);
        let on_cpu = found.info.kind == qscore_core::DeviceKind::SOFTWARE_GPU;
        let free = Box::new(move || backend.free_memory(&found));
        Ok(sdk::boxed(CubeSession::new(
            client, def, spec, free, on_cpu,
        )?))
    }
}
