//! A loaded plugin behind a safe interface.

use std::{path::PathBuf, sync::Arc};

use qscore_core::{
    AbiVersion, BackendFamily, ClipScores, DeviceInfo, Error, ImageView, MetricCaps, NamedValue,
    PluginModRef, RefHandle, SessionHandle, TaskSpec,
    abi_stable::std_types::{RResult, RSlice, RStr},
    root::ext,
};

/// A plugin's identity, as plain Rust values.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Unique short name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Who made it.
    pub vendor: String,
    /// Backend family.
    pub family: BackendFamily,
    /// The ABI the plugin was built against.
    pub abi: AbiVersion,
}

/// A device with what it can do.
#[derive(Debug, Clone)]
pub struct Device {
    /// The plugin's description.
    pub info: DeviceInfo,
    /// Metrics it supports.
    pub caps: Vec<MetricCaps>,
}

/// A plugin loaded from a file. Plugins are never unloaded.
pub struct Plugin {
    pub(crate) path: PathBuf,
    pub(crate) root: PluginModRef,
    pub(crate) identity: Identity,
    pub(crate) devices: Vec<Device>,
    pub(crate) device_note: String,
    pub(crate) session_stats: Option<&'static ext::SessionStats>,
    /// Per device, the metrics only a clip session can score (ABI 1.2).
    pub(crate) sequential: Vec<(u32, Vec<String>)>,
    /// The frame-window table (ABI 1.3), when the plugin has one.
    pub(crate) frame_window: Option<&'static ext::FrameWindow>,
    /// The prepared-window table (ABI 1.4), when the plugin has one.
    pub(crate) prepared_window: Option<&'static ext::PreparedWindow>,
    /// The device-check table (ABI 1.5), when the plugin has one.
    pub(crate) device_check: Option<&'static ext::DeviceCheck>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.path)
            .field("identity", &self.identity)
            .field("devices", &self.devices.len())
            .finish_non_exhaustive()
    }
}

fn result<T>(r: RResult<T, qscore_core::PluginError>) -> Result<T, Error> {
    r.into_result().map_err(Error::from)
}

impl Plugin {
    /// Where it was loaded from.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Who it is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Its usable devices.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// Why devices are missing or unusable; empty when all is well.
    pub fn device_note(&self) -> &str {
        &self.device_note
    }

    /// Whether the plugin reports measured session memory (ABI 1.1).
    pub fn measures_sessions(&self) -> bool {
        self.session_stats.is_some()
    }

    /// How many following reference frames `metric` needs on `device` (ABI 1.3); 0 for a
    /// plugin without the frame-window extension, which cannot take them.
    pub fn lookahead(&self, device: u32, metric: &str) -> Result<u32, Error> {
        match self.frame_window {
            Some(window) => result((window.lookahead)(device, RStr::from_str(metric))),
            None => Ok(0),
        }
    }

    /// Starts `device` if the plugin starts devices on first use, and says whether it works
    /// (ABI 1.5); a plugin without the device-check extension has nothing more to check.
    pub fn check_device(&self, device: u32) -> Result<(), Error> {
        match self.device_check {
            Some(table) => result((table.check)(device)),
            None => Ok(()),
        }
    }

    /// Free memory of `device`, measured now.
    pub fn free_memory(&self, device: u32) -> Result<u64, Error> {
        result((self.root.free_memory())(device))
    }

    /// Predicted peak bytes of a session for `spec` on `device`.
    pub fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        result((self.root.predict_memory())(device, spec))
    }

    /// The capabilities of `metric` on `device`, if supported.
    pub fn metric_caps(&self, device: u32, metric: &str) -> Option<&MetricCaps> {
        self.devices
            .iter()
            .find(|d| d.info.id == device)?
            .caps
            .iter()
            .find(|c| c.metric.as_str() == metric)
    }

    /// Whether `metric` on `device` must be scored through a sequential clip session
    /// (the plugin keeps temporal state; see `ext::ClipMetrics`).
    pub fn needs_clip(&self, device: u32, metric: &str) -> bool {
        self.sequential
            .iter()
            .any(|(d, metrics)| *d == device && metrics.iter().any(|m| m == metric))
    }

    /// Opens a session on `device`.
    pub fn open_session(self: &Arc<Self>, device: u32, spec: &TaskSpec) -> Result<Session, Error> {
        let handle = result((self.root.session_open())(device, spec))?;
        Ok(Session {
            plugin: Arc::clone(self),
            handle,
            references: Vec::new(),
        })
    }

    /// Opens a clip session on `device`.
    pub fn open_clip(self: &Arc<Self>, device: u32, spec: &TaskSpec) -> Result<Clip, Error> {
        let handle = result((self.root.clip_open())(device, spec))?;
        Ok(Clip {
            plugin: Arc::clone(self),
            handle: Some(handle),
        })
    }
}

/// A reference prepared by a [`Session`]; valid only with that session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreparedRef(usize);

/// An open session; closed (with its prepared references) when dropped.
#[derive(Debug)]
pub struct Session {
    plugin: Arc<Plugin>,
    handle: SessionHandle,
    references: Vec<Option<RefHandle>>,
}

fn values(v: qscore_core::root::Scores) -> Vec<NamedValue> {
    v.into_iter().collect()
}

impl Session {
    /// The plugin running this session.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Prepares a reference once for many comparisons.
    pub fn prepare(&mut self, reference: &ImageView<'_>) -> Result<PreparedRef, Error> {
        let handle = result((self.plugin.root.session_prepare())(self.handle, reference))?;
        Ok(self.keep(handle))
    }

    fn keep(&mut self, handle: RefHandle) -> PreparedRef {
        self.references.push(Some(handle));
        PreparedRef(self.references.len() - 1)
    }

    /// Compares a distorted image with a prepared reference.
    pub fn compare(
        &mut self,
        reference: PreparedRef,
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        let handle = self
            .references
            .get(reference.0)
            .copied()
            .flatten()
            .ok_or_else(|| Error::InvalidInput("prepared reference was released".into()))?;
        result((self.plugin.root.session_compare())(
            self.handle,
            handle,
            distorted,
        ))
        .map(values)
    }

    /// Compares one pair without keeping anything.
    pub fn compare_pair(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        result((self.plugin.root.session_compare_pair())(
            self.handle,
            reference,
            distorted,
        ))
        .map(values)
    }

    /// Compares a video frame given previous reference frames (most recent first).
    pub fn compare_frame(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        result((self.plugin.root.session_compare_frame())(
            self.handle,
            reference,
            RSlice::from_slice(previous),
            distorted,
        ))
        .map(values)
    }

    /// Compares a video frame given previous (most recent first) and following (nearest
    /// first) reference frames. Without the plugin's frame-window extension (ABI 1.3) only
    /// previous frames can be handed over, and asking for more is an error.
    pub fn compare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        match self.plugin.frame_window {
            Some(window) => result((window.compare_window)(
                self.handle,
                reference,
                RSlice::from_slice(previous),
                RSlice::from_slice(next),
                distorted,
            ))
            .map(values),
            None if next.is_empty() => self.compare_frame(reference, previous, distorted),
            None => Err(Error::Unsupported(format!(
                "plugin {} cannot take following reference frames (it predates ABI 1.3)",
                self.plugin.identity.name
            ))),
        }
    }

    /// Whether this session's plugin can prepare a video frame's reference with its
    /// neighbours (ABI 1.4).
    pub fn prepares_windows(&self) -> bool {
        self.plugin.prepared_window.is_some()
    }

    /// Prepares a video frame's reference with the reference frames around it, once for
    /// every distorted frame at that position (ABI 1.4); compare with [`Session::compare`].
    pub fn prepare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
    ) -> Result<PreparedRef, Error> {
        let Some(table) = self.plugin.prepared_window else {
            return Err(Error::Unsupported(format!(
                "plugin {} cannot prepare video frames with their neighbours (it predates ABI 1.4)",
                self.plugin.identity.name
            )));
        };
        let handle = result((table.prepare_window)(
            self.handle,
            reference,
            RSlice::from_slice(previous),
            RSlice::from_slice(next),
        ))?;
        Ok(self.keep(handle))
    }

    /// Frees a prepared reference now rather than when the session closes.
    pub fn release(&mut self, reference: PreparedRef) {
        if let Some(handle) = self.references.get_mut(reference.0).and_then(Option::take) {
            (self.plugin.root.reference_drop())(self.handle, handle);
        }
    }

    /// Peak bytes the session has held, when the plugin measures it (ABI 1.1).
    pub fn peak_memory(&self) -> Option<Result<u64, Error>> {
        let stats = self.plugin.session_stats?;
        Some(result((stats.peak_memory)(self.handle)))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for handle in self.references.drain(..).flatten() {
            (self.plugin.root.reference_drop())(self.handle, handle);
        }
        (self.plugin.root.session_close())(self.handle);
    }
}

/// A clip session: frames pushed in order. Aborted when dropped unfinished.
#[derive(Debug)]
pub struct Clip {
    plugin: Arc<Plugin>,
    handle: Option<qscore_core::ClipHandle>,
}

impl Clip {
    /// Pushes the next frame pair.
    pub fn push(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<(), Error> {
        let handle = self
            .handle
            .ok_or_else(|| Error::InvalidInput("clip already finished".into()))?;
        result((self.plugin.root.clip_push())(handle, reference, distorted))
    }

    /// Per-frame and pooled values.
    pub fn finish(mut self) -> Result<ClipScores, Error> {
        let handle = self
            .handle
            .take()
            .ok_or_else(|| Error::InvalidInput("clip already finished".into()))?;
        result((self.plugin.root.clip_finish())(handle))
    }
}

impl Drop for Clip {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            (self.plugin.root.clip_abort())(handle);
        }
    }
}
