//! The plugin's answers to the host: who it is, its device, what that device can do,
//! how much memory a session will need, and sessions.

use qscore_core::{
    BackendFamily, DeviceInfo, DeviceKind, DeviceList, Error, MetricCaps, TaskSpec,
    sdk::{self, AnySession, Identity, Plugin},
};

use crate::mae;

/// The id of the plugin's only device, the host's CPU and RAM.
const CPU: u32 = 0;

/// The plugin. The kit builds one instance, on first use, for the whole process.
#[derive(Debug)]
pub(crate) struct ExamplePlugin {
    vendor: String,
    model: String,
}

impl ExamplePlugin {
    pub(crate) fn new() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Self {
            vendor: cpuinfo_field(&cpuinfo, "vendor_id").unwrap_or_default(),
            model: cpuinfo_field(&cpuinfo, "model name")
                .unwrap_or_else(|| std::env::consts::ARCH.to_owned()),
        }
    }
}

/// Device ids come from the host; a wrong one is the host's mistake.
fn check_device(device: u32) -> Result<(), Error> {
    if device == CPU {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "device {device} (the example plugin has only device {CPU})"
        )))
    }
}

impl Plugin for ExamplePlugin {
    fn identity(&self) -> Identity {
        Identity {
            name: "example".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "qscore examples".into(),
            family: BackendFamily::OTHER,
        }
    }

    fn devices(&self) -> Result<DeviceList, Error> {
        // The device works without memory figures; the note tells the user why they are missing.
        let (total_memory, note) = match memory() {
            Ok((total, _)) => (total, String::new()),
            Err(error) => (0, format!("memory size unknown: {error}")),
        };
        let threads = qscore_core::sdk::resources::cpu_count();
        let device = DeviceInfo {
            id: CPU,
            kind: DeviceKind::CPU,
            vendor: self.vendor.as_str().into(),
            model: format!("{} ({threads} threads)", self.model).into(),
            driver_version: "".into(),
            total_memory,
        };
        Ok(DeviceList {
            devices: vec![device].into(),
            note: note.into(),
        })
    }

    fn free_memory(&self, device: u32) -> Result<u64, Error> {
        check_device(device)?;
        memory().map(|(_, available)| available)
    }

    fn capabilities(&self, device: u32) -> Result<Vec<MetricCaps>, Error> {
        check_device(device)?;
        Ok(vec![mae::caps()])
    }

    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        check_device(device)?;
        mae::predict_memory(spec)
    }

    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        check_device(device)?;
        Ok(sdk::boxed(mae::MaeSession::open(spec)?))
    }

    // `open_clip` keeps the kit's default: each frame is scored with a session from
    // `open_session` and the clip's values are the means over its frames.
}

/// Free RAM now, in bytes; 0 where it cannot be read (for error messages only).
pub(crate) fn available_memory() -> u64 {
    memory().map_or(0, |(_, available)| available)
}

/// `(total, available)` memory in bytes, read now: the SDK's figures, which follow the
/// process's cgroup limit as well as the machine's RAM.
fn memory() -> Result<(u64, u64), Error> {
    let memory = qscore_core::sdk::resources::memory()?;
    Ok((memory.total, memory.available))
}

fn cpuinfo_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, value)| value.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use qscore_core::{ErrorKind, MemoryMode, PixelFormat};

    use super::*;

    #[test]
    fn one_cpu_device_with_live_free_memory() {
        let plugin = ExamplePlugin::new();
        let list = plugin.devices().unwrap();
        assert_eq!(list.devices.len(), 1);
        let device = &list.devices[0];
        assert_eq!((device.id, device.kind), (CPU, DeviceKind::CPU));
        match plugin.free_memory(CPU) {
            Ok(free) => {
                assert!(list.note.is_empty(), "{}", list.note);
                assert!(free > 0 && free <= device.total_memory);
            }
            Err(error) => assert_eq!(error.kind(), ErrorKind::UNSUPPORTED, "{error}"),
        }
    }

    #[test]
    fn unknown_devices_are_refused() {
        let plugin = ExamplePlugin::new();
        let spec = TaskSpec::new("mae", 8, 8, PixelFormat::RGB8, MemoryMode::FULL);
        for error in [
            plugin.free_memory(1).unwrap_err(),
            plugin.capabilities(1).unwrap_err(),
            plugin.predict_memory(1, &spec).unwrap_err(),
            plugin.open_session(1, &spec).err().unwrap(),
        ] {
            assert_eq!(error.kind(), ErrorKind::INVALID_INPUT, "{error}");
        }
        assert!(plugin.open_session(CPU, &spec).is_ok());
    }

    #[test]
    fn identity_and_capabilities() {
        let plugin = ExamplePlugin::new();
        let id = plugin.identity();
        assert_eq!(
            (id.name.as_str(), id.family),
            ("example", BackendFamily::OTHER)
        );
        let caps = plugin.capabilities(CPU).unwrap();
        assert_eq!(caps.len(), 1);
        assert_eq!(caps[0].metric.as_str(), "mae");
    }
}
