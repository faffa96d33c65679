//! What the host and a plugin's worker process say to each other: one JSON line per
//! message over the worker's standard input and output. Images are not in the messages:
//! their planes lie in the shared memory region, and a message says where.

use qscore_core::{
    BackendFamily, ClipScores, DeviceInfo, DeviceKind, Error, MemoryMode, MetricCaps, NamedValue,
    Param, PixelFormat, TaskSpec,
    abi_stable::std_types::{RString, RVec},
};
use serde::{Deserialize, Serialize};

use crate::plugin::{Device, Identity};

/// What a worker says first: the plugin it loaded, or why it could not.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Hello {
    /// The plugin, described.
    Loaded(Description),
    /// The load error, as the loader said it.
    Failed(String),
}

/// A loaded plugin, as the host's [`crate::Plugin`] needs it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Description {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) vendor: String,
    pub(crate) family: u32,
    pub(crate) abi: (u32, u32),
    pub(crate) devices: Vec<DeviceRecord>,
    pub(crate) device_note: String,
    pub(crate) sequential: Vec<(u32, Vec<String>)>,
    /// Which extensions it has: session statistics, frame window, prepared window, device
    /// check.
    pub(crate) extensions: [bool; 4],
    /// Why it may crash its process, when it says so.
    pub(crate) risky: Option<String>,
}

/// One device and its metrics.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    id: u32,
    kind: u32,
    vendor: String,
    model: String,
    driver_version: String,
    total_memory: u64,
    caps: Vec<CapsRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CapsRecord {
    metric: String,
    outputs: Vec<String>,
    formats: Vec<u32>,
    modes: Vec<u32>,
    reusable_reference: bool,
    temporal_depth: u32,
    max_width: u32,
    max_height: u32,
}

impl DeviceRecord {
    pub(crate) fn of(device: &Device) -> Self {
        let info = &device.info;
        Self {
            id: info.id,
            kind: info.kind.0,
            vendor: info.vendor.to_string(),
            model: info.model.to_string(),
            driver_version: info.driver_version.to_string(),
            total_memory: info.total_memory,
            caps: device
                .caps
                .iter()
                .map(|c| CapsRecord {
                    metric: c.metric.to_string(),
                    outputs: c.outputs.iter().map(|o| o.to_string()).collect(),
                    formats: c.formats.iter().map(|f| f.0).collect(),
                    modes: c.modes.iter().map(|m| m.0).collect(),
                    reusable_reference: c.reusable_reference,
                    temporal_depth: c.temporal_depth,
                    max_width: c.max_width,
                    max_height: c.max_height,
                })
                .collect(),
        }
    }

    pub(crate) fn device(self) -> Device {
        Device {
            info: DeviceInfo {
                id: self.id,
                kind: DeviceKind(self.kind),
                vendor: self.vendor.into(),
                model: self.model.into(),
                driver_version: self.driver_version.into(),
                total_memory: self.total_memory,
            },
            caps: self
                .caps
                .into_iter()
                .map(|c| MetricCaps {
                    metric: c.metric.into(),
                    outputs: c.outputs.into_iter().map(RString::from).collect(),
                    formats: c.formats.into_iter().map(PixelFormat).collect(),
                    modes: c.modes.into_iter().map(MemoryMode).collect(),
                    reusable_reference: c.reusable_reference,
                    temporal_depth: c.temporal_depth,
                    max_width: c.max_width,
                    max_height: c.max_height,
                })
                .collect(),
        }
    }
}

impl Description {
    pub(crate) fn identity(&self) -> Identity {
        Identity {
            name: self.name.clone(),
            version: self.version.clone(),
            vendor: self.vendor.clone(),
            family: BackendFamily(self.family),
            abi: qscore_core::AbiVersion {
                major: self.abi.0,
                minor: self.abi.1,
            },
        }
    }
}

/// A task's spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Spec {
    metric: String,
    params: Vec<(String, String)>,
    width: u32,
    height: u32,
    format: u32,
    mode: u32,
}

impl Spec {
    pub(crate) fn of(spec: &TaskSpec) -> Self {
        Self {
            metric: spec.metric.to_string(),
            params: crate::plugin::param_pairs(&spec.params),
            width: spec.width,
            height: spec.height,
            format: spec.format.0,
            mode: spec.mode.0,
        }
    }

    pub(crate) fn task(&self) -> TaskSpec {
        let mut spec = TaskSpec::new(
            &self.metric,
            self.width,
            self.height,
            PixelFormat(self.format),
            MemoryMode(self.mode),
        );
        spec.params = self
            .params
            .iter()
            .map(|(k, v)| Param {
                key: k.as_str().into(),
                value: v.as_str().into(),
            })
            .collect::<RVec<_>>();
        spec
    }
}

/// Where an image lies in the shared region: its planes' offsets, lengths and strides.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Img {
    pub(crate) format: u32,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) planes: Vec<(usize, usize, usize)>,
}

/// A call of the plugin. Sessions, prepared references and clips are named by the numbers
/// the worker gave them.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    FreeMemory {
        device: u32,
    },
    PredictMemory {
        device: u32,
        spec: Spec,
    },
    Lookahead {
        device: u32,
        metric: String,
    },
    CheckDevice {
        device: u32,
    },
    OpenSession {
        device: u32,
        spec: Spec,
    },
    Prepare {
        session: u64,
        reference: Img,
    },
    Compare {
        session: u64,
        prepared: u64,
        distorted: Img,
    },
    ComparePair {
        session: u64,
        reference: Img,
        distorted: Img,
    },
    CompareFrame {
        session: u64,
        reference: Img,
        previous: Vec<Img>,
        distorted: Img,
    },
    CompareWindow {
        session: u64,
        reference: Img,
        previous: Vec<Img>,
        next: Vec<Img>,
        distorted: Img,
    },
    PrepareWindow {
        session: u64,
        reference: Img,
        previous: Vec<Img>,
        next: Vec<Img>,
    },
    Release {
        session: u64,
        prepared: u64,
    },
    PeakMemory {
        session: u64,
    },
    CloseSession {
        session: u64,
    },
    OpenClip {
        device: u32,
        spec: Spec,
    },
    ClipPush {
        clip: u64,
        reference: Img,
        distorted: Img,
    },
    ClipFinish {
        clip: u64,
    },
    ClipAbort {
        clip: u64,
    },
}

/// What a call gave.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Response {
    Done,
    Number(u64),
    Values(Vec<(String, u64)>),
    Clip {
        frames: Vec<Vec<(String, u64)>>,
        pooled: Vec<(String, u64)>,
    },
    Peak(Option<u64>),
    Failed(Failure),
}

/// An [`Error`], as sent.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Failure {
    kind: u32,
    message: String,
    needed: u64,
    available: u64,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let plugin = qscore_core::PluginError::from(error);
        Self {
            kind: plugin.kind.0,
            message: plugin.message.into_string(),
            needed: plugin.bytes_needed,
            available: plugin.bytes_available,
        }
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Error::from(qscore_core::PluginError {
            kind: qscore_core::ErrorKind(failure.kind),
            message: failure.message.into(),
            bytes_needed: failure.needed,
            bytes_available: failure.available,
        })
    }
}

/// Values as sent: each number as its bits, since JSON has no infinity (the PSNR of equal
/// images) or NaN, and a value must come back exactly as it was.
pub(crate) fn values_out(values: &[NamedValue]) -> Vec<(String, u64)> {
    values
        .iter()
        .map(|v| (v.name.to_string(), v.value.to_bits()))
        .collect()
}

pub(crate) fn values_in(values: Vec<(String, u64)>) -> Vec<NamedValue> {
    values
        .into_iter()
        .map(|(name, bits)| NamedValue::new(&name, f64::from_bits(bits)))
        .collect()
}

pub(crate) fn clip_in(frames: Vec<Vec<(String, u64)>>, pooled: Vec<(String, u64)>) -> ClipScores {
    ClipScores {
        frames: frames.into_iter().map(|f| values_in(f).into()).collect(),
        pooled: values_in(pooled).into(),
    }
}
