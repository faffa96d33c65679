//! Plain FFI-safe records exchanged through the root module. Layouts frozen.

use abi_stable::{
    StableAbi,
    std_types::{RString, RVec},
};

use crate::{AbiVersion, BackendFamily, DeviceKind, MemoryMode, PixelFormat};

/// Who a plugin is.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginInfo {
    /// Unique short name, e.g. `cpu`, `wgpu`; used by `--backend`.
    pub name: RString,
    /// The plugin's own version (semver).
    pub version: RString,
    /// Who made it.
    pub vendor: RString,
    /// Which kind of backend it drives.
    pub family: BackendFamily,
    /// The ABI the plugin was built against.
    pub abi: AbiVersion,
}

/// One device a plugin can run on.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct DeviceInfo {
    /// Index passed back in every call about this device.
    pub id: u32,
    /// What it is.
    pub kind: DeviceKind,
    /// Vendor, e.g. `NVIDIA`, or the CPU's vendor.
    pub vendor: RString,
    /// Model, e.g. `H100` or the CPU's model name.
    pub model: RString,
    /// Driver or runtime version; empty when not applicable.
    pub driver_version: RString,
    /// Memory the device has, in bytes.
    pub total_memory: u64,
}

/// The devices of a plugin, and why there are none when the list is empty.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct DeviceList {
    /// Usable devices.
    pub devices: RVec<DeviceInfo>,
    /// Why devices are missing or unusable (driver absent, liveness check failed…); empty when all is well.
    pub note: RString,
}

/// What a device can do for one metric.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct MetricCaps {
    /// Metric id, e.g. `ssim`.
    pub metric: RString,
    /// Names of the values a session returns, e.g. `butteraugli`, `butteraugli_pnorm3`.
    /// A format may yield a subset (e.g. YUV psnr gives `psnr_y`, `psnr_cb`, `psnr_cr`).
    pub outputs: RVec<RString>,
    /// Accepted pixel formats.
    pub formats: RVec<PixelFormat>,
    /// Supported memory modes.
    pub modes: RVec<MemoryMode>,
    /// Whether a prepared reference is reused across distorted inputs (cheaper than pairs).
    pub reusable_reference: bool,
    /// How many previous reference frames a temporal metric needs (0 for spatial metrics).
    pub temporal_depth: u32,
    /// Largest width accepted.
    pub max_width: u32,
    /// Largest height accepted.
    pub max_height: u32,
}

/// A metric parameter, as text (parsed by the plugin).
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct Param {
    /// Name, e.g. `intensity_target`.
    pub key: RString,
    /// Value, e.g. `250`.
    pub value: RString,
}

/// What is to be computed: used for memory predictions and to open sessions.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct TaskSpec {
    /// Metric id.
    pub metric: RString,
    /// Metric parameters.
    pub params: RVec<Param>,
    /// Width of every image in the session.
    pub width: u32,
    /// Height of every image in the session.
    pub height: u32,
    /// Pixel format of every image in the session.
    pub format: PixelFormat,
    /// Memory mode.
    pub mode: MemoryMode,
}

impl TaskSpec {
    /// A spec without parameters.
    pub fn new(
        metric: &str,
        width: u32,
        height: u32,
        format: PixelFormat,
        mode: MemoryMode,
    ) -> Self {
        Self {
            metric: metric.into(),
            params: RVec::new(),
            width,
            height,
            format,
            mode,
        }
    }

    /// The value of parameter `key`, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.key.as_str() == key)
            .map(|p| p.value.as_str())
    }
}

/// One named result value.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
pub struct NamedValue {
    /// Output name, e.g. `psnr_y`.
    pub name: RString,
    /// The value.
    pub value: f64,
}

impl NamedValue {
    /// A named value.
    pub fn new(name: &str, value: f64) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// Results of a clip session: values per frame in push order, and pooled values.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct ClipScores {
    /// One list of values per pushed frame.
    pub frames: RVec<RVec<NamedValue>>,
    /// The metric's own pooling over the clip (e.g. libvmaf's means).
    pub pooled: RVec<NamedValue>,
}
