//! The plugin's answers to the ABI: one CPU device, metrics scored only through clip
//! sessions.

use qscore_core::{
    BackendFamily, DeviceInfo, DeviceKind, DeviceList, Error, MemoryMode, MetricCaps, PixelFormat,
    TaskSpec,
    sdk::{self, AnySession, ClipSession, Identity, Plugin},
};

use qscore_core::sdk::resources;

use crate::{clip::VmafClip, metrics, vmaf};

/// Largest side accepted; libvmaf itself has no limit but memory.
const MAX_SIDE: u32 = 1 << 15;

/// Bytes libvmaf holds per luma pixel while scoring a clip, by metric: an upper estimate
/// from its buffers (both 16-bit frame copies, then the extractors' 32-bit and float
/// scratch planes, several per scale), not a measurement.
fn bytes_per_pixel(metric: &str) -> u64 {
    match metric {
        "vmaf" => 48,
        "float_ms_ssim" => 64,
        _ => 32,
    }
}

/// The libvmaf plugin.
#[derive(Debug)]
pub(crate) struct LibvmafPlugin {
    caps: Vec<MetricCaps>,
}

impl LibvmafPlugin {
    pub(crate) fn new() -> Self {
        let formats: Vec<PixelFormat> = PixelFormat::all_yuv()
            .filter(|f| vmaf::layout(*f).is_some())
            .collect();
        let caps = metrics::METRICS
            .iter()
            .map(|m| MetricCaps {
                metric: m.id.into(),
                outputs: m.outputs.iter().map(|&o| o.into()).collect(),
                formats: formats.clone().into(),
                modes: vec![MemoryMode::FULL].into(),
                reusable_reference: false,
                temporal_depth: 0,
                max_width: MAX_SIDE,
                max_height: MAX_SIDE,
            })
            .collect();
        Self { caps }
    }

    fn check_device(device: u32) -> Result<(), Error> {
        if device == 0 {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "device {device} (the libvmaf plugin has only device 0)"
            )))
        }
    }
}

impl Plugin for LibvmafPlugin {
    fn identity(&self) -> Identity {
        Identity {
            name: "libvmaf".into(),
            version: format!("{} (libvmaf 2.3.1)", env!("CARGO_PKG_VERSION")),
            vendor: "qscore".into(),
            family: BackendFamily::CPU,
        }
    }

    fn devices(&self) -> Result<DeviceList, Error> {
        let device = DeviceInfo {
            id: 0,
            kind: DeviceKind::CPU,
            vendor: "".into(),
            model: "libvmaf on the CPU".into(),
            driver_version: "".into(),
            total_memory: resources::memory()?.total,
        };
        Ok(DeviceList {
            devices: vec![device].into(),
            note: "".into(),
        })
    }

    fn free_memory(&self, device: u32) -> Result<u64, Error> {
        Self::check_device(device)?;
        available_memory()
    }

    fn capabilities(&self, device: u32) -> Result<Vec<MetricCaps>, Error> {
        Self::check_device(device)?;
        Ok(self.caps.clone())
    }

    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        Self::check_device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        metrics::settings(spec)?;
        let pixels = u64::from(spec.width) * u64::from(spec.height);
        Ok(pixels * bytes_per_pixel(spec.metric.as_str()))
    }

    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error> {
        Self::check_device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        Err(Error::Unsupported(format!(
            "{} keeps temporal state inside libvmaf: it scores whole clips through a clip \
             session (frames pushed in order), not single images or frames",
            spec.metric.as_str()
        )))
    }

    fn open_clip(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn ClipSession>, Error> {
        Self::check_device(device)?;
        sdk::check_spec(&self.caps, spec)?;
        let settings = metrics::settings(spec)?;
        Ok(Box::new(VmafClip::open(settings)?))
    }

    fn risky(&self) -> Option<&'static str> {
        Some("it runs libvmaf's C code")
    }

    fn sequential_metrics(&self, device: u32) -> Result<Vec<String>, Error> {
        Self::check_device(device)?;
        Ok(self.caps.iter().map(|c| c.metric.to_string()).collect())
    }
}

/// Free RAM within the process's cgroup limit.
fn available_memory() -> Result<u64, Error> {
    Ok(resources::memory()?.available)
}

#[cfg(test)]
mod tests {
    use qscore_core::{ErrorKind, sdk::Plugin};

    use super::*;

    fn spec(metric: &str, format: PixelFormat) -> TaskSpec {
        TaskSpec::new(metric, 64, 48, format, MemoryMode::FULL)
    }

    #[test]
    fn yuv_of_8_to_16_bits_is_accepted_and_nothing_else() {
        let plugin = LibvmafPlugin::new();
        let caps = plugin.capabilities(0).unwrap();
        assert_eq!(caps[0].formats.len(), 12);
        let yuv = PixelFormat::from_name("yuv422p12le").unwrap();
        assert!(plugin.open_clip(0, &spec("vmaf", yuv)).is_ok());
        for format in PixelFormat::PACKED {
            let Err(error) = plugin.open_clip(0, &spec("vmaf", *format)) else {
                panic!("{format} accepted");
            };
            assert_eq!(error.kind(), ErrorKind::UNSUPPORTED, "{format}: {error}");
        }
    }

    #[test]
    fn every_metric_is_sequential_and_refuses_plain_sessions() {
        let plugin = LibvmafPlugin::new();
        let sequential = plugin.sequential_metrics(0).unwrap();
        assert_eq!(
            sequential,
            [
                "vmaf",
                "float_ssim",
                "float_ms_ssim",
                "libvmaf_psnr",
                "libvmaf_adm"
            ]
        );
        let yuv = PixelFormat::from_name("yuv420p").unwrap();
        let Err(error) = plugin.open_session(0, &spec("vmaf", yuv)) else {
            panic!("a plain session was opened");
        };
        assert!(error.to_string().contains("clip session"), "{error}");
    }
}
