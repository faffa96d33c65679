//! A loaded plugin behind a safe interface.

use std::{path::PathBuf, sync::Arc};

use crate::isolate::{Img, Remote, Request, Worker};

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

/// A plugin loaded from a file, into this process or into worker processes of its own
/// (`isolate`). Plugins are never unloaded.
pub struct Plugin {
    pub(crate) path: PathBuf,
    pub(crate) link: Link,
    pub(crate) identity: Identity,
    pub(crate) devices: Vec<Device>,
    pub(crate) device_note: String,
    /// Per device, the metrics only a clip session can score (ABI 1.2).
    pub(crate) sequential: Vec<(u32, Vec<String>)>,
    /// Why it may crash its process, when it says so (ABI 1.7).
    pub(crate) risky: Option<String>,
    /// Linked into qscore itself (`built_in`) rather than loaded from a plugin file.
    pub(crate) built_in: bool,
}

/// How the plugin's calls are made.
pub(crate) enum Link {
    /// Into the library loaded in this process.
    Local(Local),
    /// Through the plugin's worker processes.
    Remote(Arc<Remote>),
}

/// A plugin library loaded in this process: its root module and extension tables.
pub(crate) struct Local {
    pub(crate) root: PluginModRef,
    pub(crate) session_stats: Option<&'static ext::SessionStats>,
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
            .field("isolated", &self.is_isolated())
            .finish_non_exhaustive()
    }
}

/// Metric parameters as (key, value) text pairs.
pub(crate) fn param_pairs(params: &[qscore_core::Param]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|p| (p.key.to_string(), p.value.to_string()))
        .collect()
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

    /// Why the plugin may crash the process it runs in, when it says it may (ABI 1.7).
    pub fn risky(&self) -> Option<&str> {
        self.risky.as_deref()
    }

    /// Whether it is the CPU plugin linked into qscore itself; [`Self::path`] is then the
    /// executable or library that holds it.
    pub fn is_built_in(&self) -> bool {
        self.built_in
    }

    /// Whether it runs in worker processes of its own.
    pub fn is_isolated(&self) -> bool {
        matches!(self.link, Link::Remote(_))
    }

    /// Whether the plugin reports measured session memory (ABI 1.1).
    pub fn measures_sessions(&self) -> bool {
        match &self.link {
            Link::Local(local) => local.session_stats.is_some(),
            Link::Remote(remote) => remote.extensions.session_stats,
        }
    }

    /// How many following reference frames `metric` needs on `device` (ABI 1.3); 0 for a
    /// plugin without the frame-window extension, which cannot take them.
    pub fn lookahead(&self, device: u32, metric: &str) -> Result<u32, Error> {
        match &self.link {
            Link::Local(local) => match local.frame_window {
                Some(window) => result((window.lookahead)(device, RStr::from_str(metric))),
                None => Ok(0),
            },
            Link::Remote(remote) => {
                let metric = metric.to_owned();
                let n = remote.call(&[], |_| Request::Lookahead { device, metric })?;
                Ok(u32::try_from(n.number()?).unwrap_or(u32::MAX))
            }
        }
    }

    /// Starts `device` if the plugin starts devices on first use, and says whether it works
    /// (ABI 1.5); a plugin without the device-check extension has nothing more to check.
    pub fn check_device(&self, device: u32) -> Result<(), Error> {
        match &self.link {
            Link::Local(local) => match local.device_check {
                Some(table) => result((table.check)(device)),
                None => Ok(()),
            },
            Link::Remote(remote) => remote
                .call(&[], |_| Request::CheckDevice { device })?
                .done(),
        }
    }

    /// Free memory of `device`, measured now.
    pub fn free_memory(&self, device: u32) -> Result<u64, Error> {
        match &self.link {
            Link::Local(local) => result((local.root.free_memory())(device)),
            Link::Remote(remote) => remote
                .call(&[], |_| Request::FreeMemory { device })?
                .number(),
        }
    }

    /// Predicted peak bytes of a session for `spec` on `device`.
    pub fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error> {
        match &self.link {
            Link::Local(local) => result((local.root.predict_memory())(device, spec)),
            Link::Remote(remote) => {
                let spec = crate::isolate::Spec::of(spec);
                remote
                    .call(&[], |_| Request::PredictMemory { device, spec })?
                    .number()
            }
        }
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
        let handle = match &self.link {
            Link::Local(local) => Handle::Local(result((local.root.session_open())(device, spec))?),
            Link::Remote(remote) => {
                let worker = remote.worker()?;
                let spec = crate::isolate::Spec::of(spec);
                let id = worker
                    .call(&[], |_| Request::OpenSession { device, spec })?
                    .number()?;
                Handle::Remote(worker, id)
            }
        };
        Ok(Session {
            plugin: Arc::clone(self),
            handle,
            references: Vec::new(),
        })
    }

    /// Opens a clip session on `device`.
    pub fn open_clip(self: &Arc<Self>, device: u32, spec: &TaskSpec) -> Result<Clip, Error> {
        let handle = match &self.link {
            Link::Local(local) => ClipLink::Local(result((local.root.clip_open())(device, spec))?),
            Link::Remote(remote) => {
                let worker = remote.worker()?;
                let spec = crate::isolate::Spec::of(spec);
                let id = worker
                    .call(&[], |_| Request::OpenClip { device, spec })?
                    .number()?;
                ClipLink::Remote(worker, id)
            }
        };
        Ok(Clip {
            plugin: Arc::clone(self),
            handle: Some(handle),
        })
    }

    /// The local library, for the calls only it answers directly.
    fn local(&self) -> Option<&Local> {
        match &self.link {
            Link::Local(local) => Some(local),
            Link::Remote(_) => None,
        }
    }
}

/// A reference prepared by a [`Session`]; valid only with that session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreparedRef(usize);

impl PreparedRef {
    /// As a worker process sends it.
    pub(crate) fn number(self) -> u64 {
        self.0 as u64
    }

    /// As a worker process sent it.
    pub(crate) fn from_number(number: u64) -> Self {
        Self(usize::try_from(number).unwrap_or(usize::MAX))
    }
}

/// A session of a plugin in this process, or of one of its worker processes (with the
/// number the worker gave it).
#[derive(Debug)]
enum Handle {
    Local(SessionHandle),
    Remote(Arc<Worker>, u64),
}

/// An open session; closed (with its prepared references) when dropped.
#[derive(Debug)]
pub struct Session {
    plugin: Arc<Plugin>,
    handle: Handle,
    /// Prepared references: a local plugin's handles, or a worker's numbers.
    references: Vec<Option<u64>>,
}

fn values(v: qscore_core::root::Scores) -> Vec<NamedValue> {
    v.into_iter().collect()
}

/// The local root module and session of a session that is local.
macro_rules! local_session {
    ($session:expr) => {
        match (&$session.handle, $session.plugin.local()) {
            (Handle::Local(handle), Some(local)) => Some((local, *handle)),
            _ => None,
        }
    };
}

impl Session {
    /// The plugin running this session.
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// A call of this session's worker process, with `images` put in shared memory.
    fn remote(
        &self,
        images: &[&ImageView<'_>],
        request: impl FnOnce(u64, Vec<Img>) -> Request,
    ) -> Result<crate::isolate::Answer, Error> {
        match &self.handle {
            Handle::Remote(worker, id) => worker.call(images, |imgs| request(*id, imgs)),
            Handle::Local(_) => Err(Error::Internal("not a remote session".into())),
        }
    }

    /// Prepares a reference once for many comparisons.
    pub fn prepare(&mut self, reference: &ImageView<'_>) -> Result<PreparedRef, Error> {
        let handle = match local_session!(self) {
            Some((local, session)) => {
                result((local.root.session_prepare())(session, reference))?.0 as u64
            }
            None => self
                .remote(&[reference], |session, mut imgs| Request::Prepare {
                    session,
                    reference: imgs.remove(0),
                })?
                .number()?,
        };
        Ok(self.keep(handle))
    }

    fn keep(&mut self, handle: u64) -> PreparedRef {
        self.references.push(Some(handle));
        PreparedRef(self.references.len() - 1)
    }

    /// Compares a distorted image with a prepared reference.
    pub fn compare(
        &mut self,
        reference: PreparedRef,
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        let prepared = self
            .references
            .get(reference.0)
            .copied()
            .flatten()
            .ok_or_else(|| Error::InvalidInput("prepared reference was released".into()))?;
        match local_session!(self) {
            Some((local, session)) => result((local.root.session_compare())(
                session,
                RefHandle(prepared as *mut ()),
                distorted,
            ))
            .map(values),
            None => self
                .remote(&[distorted], |session, mut imgs| Request::Compare {
                    session,
                    prepared,
                    distorted: imgs.remove(0),
                })?
                .values(),
        }
    }

    /// Compares one pair without keeping anything.
    pub fn compare_pair(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        match local_session!(self) {
            Some((local, session)) => result((local.root.session_compare_pair())(
                session, reference, distorted,
            ))
            .map(values),
            None => self
                .remote(&[reference, distorted], |session, mut imgs| {
                    let distorted = imgs.remove(1);
                    Request::ComparePair {
                        session,
                        reference: imgs.remove(0),
                        distorted,
                    }
                })?
                .values(),
        }
    }

    /// Compares a video frame given previous reference frames (most recent first).
    pub fn compare_frame(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Vec<NamedValue>, Error> {
        match local_session!(self) {
            Some((local, session)) => result((local.root.session_compare_frame())(
                session,
                reference,
                RSlice::from_slice(previous),
                distorted,
            ))
            .map(values),
            None => {
                let mut images = vec![reference];
                images.extend(previous);
                images.push(distorted);
                self.remote(&images, |session, mut imgs| {
                    let distorted = imgs.pop().expect("the distorted image");
                    let previous = imgs.split_off(1);
                    Request::CompareFrame {
                        session,
                        reference: imgs.remove(0),
                        previous,
                        distorted,
                    }
                })?
                .values()
            }
        }
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
        let Some((local, session)) = local_session!(self) else {
            let mut images = vec![reference];
            images.extend(previous.iter().chain(next));
            images.push(distorted);
            let (p, n) = (previous.len(), next.len());
            return self
                .remote(&images, |session, mut imgs| {
                    let distorted = imgs.pop().expect("the distorted image");
                    let next = imgs.split_off(1 + p);
                    let previous = imgs.split_off(1);
                    debug_assert_eq!(next.len(), n);
                    Request::CompareWindow {
                        session,
                        reference: imgs.remove(0),
                        previous,
                        next,
                        distorted,
                    }
                })?
                .values();
        };
        match local.frame_window {
            Some(window) => result((window.compare_window)(
                session,
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
        match &self.plugin.link {
            Link::Local(local) => local.prepared_window.is_some(),
            Link::Remote(remote) => remote.extensions.prepared_window,
        }
    }

    /// Prepares a video frame's reference with the reference frames around it, once for
    /// every distorted frame at that position (ABI 1.4); compare with [`Session::compare`].
    pub fn prepare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
    ) -> Result<PreparedRef, Error> {
        if !self.prepares_windows() {
            return Err(Error::Unsupported(format!(
                "plugin {} cannot prepare video frames with their neighbours (it predates ABI 1.4)",
                self.plugin.identity.name
            )));
        }
        let handle = match local_session!(self) {
            Some((local, session)) => {
                let table = local.prepared_window.expect("checked above");
                result((table.prepare_window)(
                    session,
                    reference,
                    RSlice::from_slice(previous),
                    RSlice::from_slice(next),
                ))?
                .0 as u64
            }
            None => {
                let mut images = vec![reference];
                images.extend(previous.iter().chain(next));
                let p = previous.len();
                self.remote(&images, |session, mut imgs| {
                    let next = imgs.split_off(1 + p);
                    let previous = imgs.split_off(1);
                    Request::PrepareWindow {
                        session,
                        reference: imgs.remove(0),
                        previous,
                        next,
                    }
                })?
                .number()?
            }
        };
        Ok(self.keep(handle))
    }

    /// Frees a prepared reference now rather than when the session closes.
    pub fn release(&mut self, reference: PreparedRef) {
        if let Some(prepared) = self.references.get_mut(reference.0).and_then(Option::take) {
            self.drop_reference(prepared);
        }
    }

    fn drop_reference(&self, prepared: u64) {
        match local_session!(self) {
            Some((local, session)) => {
                (local.root.reference_drop())(session, RefHandle(prepared as *mut ()));
            }
            None => {
                let _ = self.remote(&[], |session, _| Request::Release { session, prepared });
            }
        }
    }

    /// Peak bytes the session has held, when the plugin measures it (ABI 1.1).
    pub fn peak_memory(&self) -> Option<Result<u64, Error>> {
        match local_session!(self) {
            Some((local, session)) => {
                let stats = local.session_stats?;
                Some(result((stats.peak_memory)(session)))
            }
            None => match self.remote(&[], |session, _| Request::PeakMemory { session }) {
                Ok(answer) => answer.peak().transpose(),
                Err(error) => Some(Err(error)),
            },
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let references: Vec<u64> = self.references.drain(..).flatten().collect();
        match local_session!(self) {
            Some((local, session)) => {
                for prepared in references {
                    (local.root.reference_drop())(session, RefHandle(prepared as *mut ()));
                }
                (local.root.session_close())(session);
            }
            // The worker drops the session's references with it.
            None => {
                let _ = self.remote(&[], |session, _| Request::CloseSession { session });
            }
        }
    }
}

/// A clip session of a plugin in this process, or of one of its worker processes.
#[derive(Debug)]
enum ClipLink {
    Local(qscore_core::ClipHandle),
    Remote(Arc<Worker>, u64),
}

/// A clip session: frames pushed in order. Aborted when dropped unfinished.
#[derive(Debug)]
pub struct Clip {
    plugin: Arc<Plugin>,
    handle: Option<ClipLink>,
}

impl Clip {
    /// Pushes the next frame pair.
    pub fn push(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<(), Error> {
        let finished = || Error::InvalidInput("clip already finished".into());
        match (
            self.handle.as_ref().ok_or_else(finished)?,
            self.plugin.local(),
        ) {
            (ClipLink::Local(handle), Some(local)) => {
                result((local.root.clip_push())(*handle, reference, distorted))
            }
            (ClipLink::Remote(worker, clip), _) => worker
                .call(&[reference, distorted], |mut imgs| {
                    let distorted = imgs.remove(1);
                    Request::ClipPush {
                        clip: *clip,
                        reference: imgs.remove(0),
                        distorted,
                    }
                })?
                .done(),
            (ClipLink::Local(_), None) => Err(Error::Internal("not a local clip".into())),
        }
    }

    /// Per-frame and pooled values.
    pub fn finish(mut self) -> Result<ClipScores, Error> {
        let handle = self
            .handle
            .take()
            .ok_or_else(|| Error::InvalidInput("clip already finished".into()))?;
        match (handle, self.plugin.local()) {
            (ClipLink::Local(handle), Some(local)) => result((local.root.clip_finish())(handle)),
            (ClipLink::Remote(worker, clip), _) => {
                worker.call(&[], |_| Request::ClipFinish { clip })?.clip()
            }
            (ClipLink::Local(_), None) => Err(Error::Internal("not a local clip".into())),
        }
    }
}

impl Drop for Clip {
    fn drop(&mut self) {
        match (self.handle.take(), self.plugin.local()) {
            (Some(ClipLink::Local(handle)), Some(local)) => (local.root.clip_abort())(handle),
            (Some(ClipLink::Remote(worker, clip)), _) => {
                let _ = worker.call(&[], |_| Request::ClipAbort { clip });
            }
            _ => {}
        }
    }
}
