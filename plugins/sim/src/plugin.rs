//! The plugin's answers to the ABI.

use std::sync::Arc;

use qscore_core::{
    BackendFamily, DeviceInfo, DeviceKind, DeviceList, Error, MemoryMode, MetricCaps, PixelFormat,
    TaskSpec,
    sdk::{self, AnySession, Identity, Plugin},
};

use crate::{
    config::{self, PanicAt},
    gpu::Gpus,
    memory,
    session::{METRIC, PsnrSession},
};

/// Who made it.
const VENDOR: &str = "qscore tests";

/// Largest side accepted.
const MAX_SIDE: u32 = 1 << 16;

/// One copy of the simulation plugin.
#[derive(Debug)]
pub(crate) struct SimPlugin {
    /// The GPUs, or why the configuration was refused (returned by every call).
    gpus: Result<Arc<Gpus>, Error>,
    caps: Vec<MetricCaps>,
}

impl SimPlugin {
    /// Reads this copy's configuration (see [`config::load`]).
    pub(crate) fn new() -> Self {
        Self::with(config::load())
    }

    fn with(config: Result<config::Config, Error>) -> Self {
        Self {
            gpus: config.map(|c| Arc::new(Gpus::new(c))),
            caps: vec![MetricCaps {
                metric: METRIC.into(),
                outputs: vec![METRIC.into()].into(),
                formats: vec![PixelFormat::RGB8, PixelFormat::RGBA8, PixelFormat::GRAY8].into(),
                modes: vec![MemoryMode::FULL, MemoryMode::STRIP, MemoryMode::STRIP_PAIR].into(),
                reusable_reference: true,
                temporal_depth: 0,
                max_width: MAX_SIDE,
                max_height: MAX_SIDE,
            }],
        }
    }

    fn gpus(&self) -> Result<&Arc<Gpus>, Error> {
        self.gpus.as_ref().map_err(Clone::clone)
    }

    /// The GPUs, after checking that `device` is one of them and still alive.
    fn device(&self, device: u32) -> Result<&Arc<Gpus>, Error> {
        let gpus = self.gpus()?;
        gpus.check_device(device)?;
        gpus.check_alive()?;
        Ok(gpus)
    }

    /// The bytes a session for `spec` holds, after checking it against the capabilities.
    fn session_bytes(&self, spec: &TaskSpec) -> Result<u64, Error> {
        sdk::check_spec(&self.caps, spec)?;
        memory::session_bytes(spec).ok_or_else(|| {
            Error::Unsupported(format!("{METRIC} on {} in {}", spec.format, spec.mode))
        })
    }
}

impl Plugin for SimPlugin {
    fn identity(&self) -> Identity {
        let name = match &self.gpus {
            Ok(gpus) => {
                gpus.maybe_panic(PanicAt::Info);
                gpus.config().name.clone()
            }
            Err(_) => config::DEFAULT_NAME.to_owned(),
        };
        Identity {
            name,
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: VENDOR.into(),
            family: BackendFamily::OTHER,
        }
    }

    fn devices(&self) -> Result<DeviceList, Error> {
        let gpus = self.gpus()?;
        gpus.maybe_panic(PanicAt::Devices);
        gpus.check_alive()?;
        let config = gpus.config();
        let devices: Vec<DeviceInfo> = (0..config.devices)
            .map(|id| DeviceInfo {
                id,
                kind: DeviceKind::DISCRETE_GPU,
                vendor: VENDOR.into(),
                model: format!("Simulated GPU {id}").into(),
                driver_version: concat!("qscore-sim ", env!("CARGO_PKG_VERSION")).into(),
                total_memory: config.total_memory,
            })
            .collect();
        let note = if devices.is_empty() {
            "configured with no simulated devices"
        } else {
            ""
        };
        Ok(DeviceList {
            devices: devices.into(),
            note: note.into(),
        })
    }

    fn free_memory(&self, device: u32) -> Result<u64, Error> {
        Ok(self.device(device)?.free(device))
    }

    fn capabilities(&self, device: u32) -> Result<Vec<MetricCaps>, Error> {
        self.device(device)?;
        Ok(self.caps.clone())
    }

    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        let gpus = self.device(device)?;
        Ok(gpus.predict(self.session_bytes(spec)?))
    }

    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        let gpus = self.gpus()?;
        gpus.maybe_panic(PanicAt::Open);
        self.device(device)?;
        let bytes = self.session_bytes(spec)?;
        if !spec.params.is_empty() {
            let keys: Vec<&str> = spec.params.iter().map(|p| p.key.as_str()).collect();
            return Err(Error::InvalidInput(format!(
                "{METRIC} takes no parameters (got {})",
                keys.join(", ")
            )));
        }
        let allocation = gpus.allocate(device, bytes, spec.mode)?;
        Ok(sdk::boxed(PsnrSession::new(
            Arc::clone(gpus),
            spec.mode,
            allocation,
        )))
    }
}

#[cfg(test)]
mod tests {
    use qscore_core::{OwnedImage, Param};

    use super::*;

    fn plugin(json: &str) -> SimPlugin {
        SimPlugin::with(config::Config::parse(json).map_err(Error::InvalidInput))
    }

    fn gray(values: &[u8]) -> OwnedImage {
        OwnedImage {
            format: PixelFormat::GRAY8,
            width: 2,
            height: 2,
            planes: vec![values.to_vec()],
        }
    }

    #[test]
    fn a_session_scores_and_holds_its_bytes() {
        let plugin = plugin(r#"{"total_memory": 100000000}"#);
        let spec = TaskSpec::new(METRIC, 2, 2, PixelFormat::GRAY8, MemoryMode::STRIP);
        let bytes = plugin.predict_memory(0, &spec).unwrap();
        assert_eq!(bytes, 32 + memory::OVERHEAD);
        let mut session = plugin.open_session(0, &spec).unwrap();
        assert_eq!(plugin.free_memory(0).unwrap(), 100_000_000 - bytes);
        assert_eq!(session.peak_memory_any(), Some(bytes));
        // Differences 1, 2, 3, 4 (see psnr.rs): 10·log10(8670) dB.
        let (a, b) = (gray(&[10, 20, 30, 40]), gray(&[11, 18, 33, 44]));
        let values = a
            .with_view(|r| b.with_view(|d| session.compare_pair_any(r, d)))
            .unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].name.as_str(), "psnr");
        assert!((values[0].value - 10.0 * 8670f64.log10()).abs() < 1e-12);
        drop(session);
        assert_eq!(plugin.free_memory(0).unwrap(), 100_000_000);
    }

    #[test]
    fn requests_outside_the_capabilities_are_refused() {
        let plugin = plugin(r#"{"devices": 2}"#);
        let spec = TaskSpec::new(METRIC, 2, 2, PixelFormat::RGB16, MemoryMode::FULL);
        assert!(matches!(
            plugin.predict_memory(0, &spec),
            Err(Error::Unsupported(_))
        ));
        let spec = TaskSpec::new(METRIC, 2, 2, PixelFormat::RGB8, MemoryMode::FULL);
        assert!(plugin.open_session(1, &spec).is_ok());
        assert!(matches!(
            plugin.open_session(2, &spec),
            Err(Error::InvalidInput(_))
        ));
        let mut with_param = spec.clone();
        with_param.params = vec![Param {
            key: "k".into(),
            value: "v".into(),
        }]
        .into();
        assert!(matches!(
            plugin.open_session(0, &with_param),
            Err(Error::InvalidInput(m)) if m.contains("no parameters")
        ));
    }

    #[test]
    fn a_refused_configuration_fails_every_call() {
        let plugin = plugin(r#"{"devices": "many"}"#);
        assert_eq!(plugin.identity().name, "sim");
        let spec = TaskSpec::new(METRIC, 2, 2, PixelFormat::RGB8, MemoryMode::FULL);
        let results = [
            plugin.devices().map(drop),
            plugin.free_memory(0).map(drop),
            plugin.capabilities(0).map(drop),
            plugin.predict_memory(0, &spec).map(drop),
            plugin.open_session(0, &spec).map(drop),
        ];
        for result in results {
            assert!(
                matches!(&result, Err(Error::InvalidInput(m)) if m.contains("invalid type")),
                "{result:?}"
            );
        }
    }

    #[test]
    fn zero_devices_is_an_empty_list_with_a_note() {
        let list = plugin(r#"{"devices": 0}"#).devices().unwrap();
        assert!(list.devices.is_empty());
        assert!(!list.note.is_empty());
        let list = plugin(r#"{"devices": 2, "total_memory": 5}"#)
            .devices()
            .unwrap();
        assert_eq!(list.devices.len(), 2);
        assert_eq!(list.devices[1].model.as_str(), "Simulated GPU 1");
        assert_eq!(list.devices[1].kind, DeviceKind::DISCRETE_GPU);
        assert_eq!(list.devices[1].total_memory, 5);
    }
}
