//! The CPU plugin's answers to the ABI.

use qscore_core::{
    BackendFamily, DeviceInfo, DeviceKind, DeviceList, Error, MemoryMode, MetricCaps, PixelFormat,
    TaskSpec,
    sdk::{self, AnySession, Identity, Plugin},
};

use qscore_core::sdk::resources;

use crate::{sessions, system};

/// Largest side accepted (memory, not the algorithms, is the real limit).
const MAX_SIDE: u32 = 1 << 16;

/// The CPU plugin: one device, the host's processors and RAM.
#[derive(Debug)]
pub(crate) struct CpuPlugin {
    vendor: String,
    model: String,
    caps: Vec<MetricCaps>,
}

impl CpuPlugin {
    pub(crate) fn new() -> Self {
        let (vendor, model) = system::cpu_model();
        let caps = sessions::METRICS
            .iter()
            .map(|m| MetricCaps {
                metric: m.id.into(),
                outputs: m.outputs.iter().map(|&o| o.into()).collect(),
                formats: if m.yuv_only {
                    PixelFormat::all_yuv().collect::<Vec<_>>().into()
                } else {
                    all_formats().into()
                },
                modes: vec![MemoryMode::FULL].into(),
                // A temporal metric's reference is reusable only where a frame can be
                // prepared with its neighbours (ABI 1.4).
                reusable_reference: m.temporal_depth == 0 || m.prepares_window,
                temporal_depth: m.temporal_depth,
                max_width: MAX_SIDE,
                max_height: MAX_SIDE,
            })
            .collect();
        Self {
            vendor,
            model,
            caps,
        }
    }

    fn check_device(device: u32) -> Result<(), Error> {
        if device == 0 {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "device {device} (the cpu plugin has only device 0)"
            )))
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

impl Plugin for CpuPlugin {
    fn identity(&self) -> Identity {
        Identity {
            name: "cpu".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "qscore".into(),
            family: BackendFamily::CPU,
        }
    }

    fn devices(&self) -> Result<DeviceList, Error> {
        let total = resources::memory()?.total;
        let device = DeviceInfo {
            id: 0,
            kind: DeviceKind::CPU,
            vendor: self.vendor.as_str().into(),
            model: format!("{} ({} threads)", self.model, resources::cpu_count()).into(),
            driver_version: "".into(),
            total_memory: total,
        };
        Ok(DeviceList {
            devices: vec![device].into(),
            note: "".into(),
        })
    }

    fn free_memory(&self, device: u32) -> Result<u64, Error> {
        Self::check_device(device)?;
        Ok(resources::memory()?.available)
    }

    fn capabilities(&self, device: u32) -> Result<Vec<MetricCaps>, Error> {
        Self::check_device(device)?;
        Ok(self.caps.clone())
    }

    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        Self::check_device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        Ok(sessions::predict(
            sessions::find(spec.metric.as_str())?,
            spec,
        ))
    }

    fn lookahead(&self, device: u32, metric: &str) -> Result<u32, Error> {
        Self::check_device(device)?;
        Ok(sessions::find(metric)?.lookahead)
    }

    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        Self::check_device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        sessions::open(spec)
    }
}
