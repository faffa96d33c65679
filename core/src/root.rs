//! The plugin's root module: the entry table a host loads.
//!
//! **Frozen.** This layout never changes within ABI major 1. abi_stable checks it
//! when a library is loaded and refuses any library whose root module differs
//! (a foreign or mismatched library), and its own version check is pinned to
//! `1.0.0` here so that it does not depend on the crate's version. Additions come
//! through [`PluginMod::extension`], which returns a table for an id the plugin
//! knows, or null: an older plugin answers null for ids added after it, and a
//! newer host simply never asks an older plugin for more than it has, so both
//! directions work. See `docs/abi.md`.
//!
//! Every function is `extern "C"`, never unwinds (the [`crate::sdk`] catches
//! panics) and reports failure as a [`PluginError`]. Handles are opaque; a
//! session is used by one thread at a time but may move between threads.

use abi_stable::{
    StableAbi, declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{RResult, RSlice, RVec},
};

use crate::{
    AbiVersion, ClipScores, DeviceList, ImageView, MetricCaps, NamedValue, PluginError, PluginInfo,
    TaskSpec,
};

/// An open session: one metric, one size, one format, one memory mode.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionHandle(pub *mut ());

/// A reference prepared by a session (owned by that session's plugin).
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefHandle(pub *mut ());

/// An open clip session that receives frames in order and keeps its own temporal state.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClipHandle(pub *mut ());

// SAFETY: handles are opaque tokens; the plugin behind them guarantees sessions are `Send`
// (the SDK requires it) and the host never uses one session from two threads at once.
unsafe impl Send for SessionHandle {}
unsafe impl Send for RefHandle {}
unsafe impl Send for ClipHandle {}

/// Values returned by one comparison.
pub type Scores = RVec<NamedValue>;

/// The root module. See the module documentation: this layout is frozen.
#[repr(C)]
#[derive(StableAbi, Debug)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
#[sabi(missing_field(panic))]
pub struct PluginMod {
    /// The ABI the plugin was built against.
    pub abi: AbiVersion,
    /// Identity.
    pub info: extern "C" fn() -> RResult<PluginInfo, PluginError>,
    /// Devices, probed once at load.
    pub devices: extern "C" fn() -> RResult<DeviceList, PluginError>,
    /// Free memory of a device, measured now.
    pub free_memory: extern "C" fn(device: u32) -> RResult<u64, PluginError>,
    /// Metrics a device supports.
    pub capabilities: extern "C" fn(device: u32) -> RResult<RVec<MetricCaps>, PluginError>,
    /// Peak bytes a session for `spec` will allocate on `device` (including the prepared reference).
    pub predict_memory: extern "C" fn(device: u32, spec: &TaskSpec) -> RResult<u64, PluginError>,
    /// Opens a session.
    pub session_open:
        extern "C" fn(device: u32, spec: &TaskSpec) -> RResult<SessionHandle, PluginError>,
    /// Prepares a reference once, for many comparisons.
    pub session_prepare: extern "C" fn(
        session: SessionHandle,
        reference: &ImageView<'_>,
    ) -> RResult<RefHandle, PluginError>,
    /// Compares a distorted image with a prepared reference.
    pub session_compare: extern "C" fn(
        session: SessionHandle,
        reference: RefHandle,
        distorted: &ImageView<'_>,
    ) -> RResult<Scores, PluginError>,
    /// Compares one pair without keeping anything.
    pub session_compare_pair: extern "C" fn(
        session: SessionHandle,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> RResult<Scores, PluginError>,
    /// Compares one video frame; `previous` holds the previous reference frames,
    /// most recent first, as many as the metric's `temporal_depth` (fewer at the clip's start).
    pub session_compare_frame: extern "C" fn(
        session: SessionHandle,
        reference: &ImageView<'_>,
        previous: RSlice<'_, ImageView<'_>>,
        distorted: &ImageView<'_>,
    ) -> RResult<Scores, PluginError>,
    /// Frees a prepared reference.
    pub reference_drop: extern "C" fn(session: SessionHandle, reference: RefHandle),
    /// Closes a session, freeing everything it holds.
    pub session_close: extern "C" fn(session: SessionHandle),
    /// Opens a clip session (frames pushed in order, temporal state kept by the plugin).
    pub clip_open: extern "C" fn(device: u32, spec: &TaskSpec) -> RResult<ClipHandle, PluginError>,
    /// Pushes the next frame pair of a clip.
    pub clip_push: extern "C" fn(
        clip: ClipHandle,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> RResult<(), PluginError>,
    /// Finishes a clip, returning per-frame and pooled values; the handle is consumed.
    pub clip_finish: extern "C" fn(clip: ClipHandle) -> RResult<ClipScores, PluginError>,
    /// Abandons a clip; the handle is consumed.
    pub clip_abort: extern "C" fn(clip: ClipHandle),
    /// The table of extension `id` (see [`ext`]), or null when the plugin does not provide it.
    #[sabi(last_prefix_field)]
    pub extension: extern "C" fn(id: u32) -> *const ext::ExtHeader,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "qscore_plugin";
    const NAME: &'static str = "qscore_plugin";
    // Pinned: compatibility is decided by `PluginMod::abi`, not by the crate version.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

/// Extension tables, added in later minor versions. Each id's table is frozen once published;
/// a change means a new id.
pub mod ext {
    use abi_stable::{
        StableAbi,
        std_types::{RResult, RSlice, RStr, RString, RVec},
    };

    use crate::{ImageView, PluginError, RefHandle, SessionHandle, root::Scores};

    /// The start of every extension table.
    #[repr(C)]
    #[derive(StableAbi, Debug, Clone, Copy)]
    pub struct ExtHeader {
        /// The extension's id.
        pub id: u32,
        /// `size_of` the whole table, checked by the host before use.
        pub size: u32,
    }

    /// Id of [`SessionStats`] (ABI 1.1).
    pub const SESSION_STATS: u32 = 1;

    /// Measured resource use of sessions (ABI 1.1).
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct SessionStats {
        /// `{ id: SESSION_STATS, size: size_of::<SessionStats>() }`.
        pub header: ExtHeader,
        /// Peak bytes the session has held at once since it opened (reference, buffers, scratch).
        pub peak_memory: extern "C" fn(session: SessionHandle) -> RResult<u64, PluginError>,
    }

    /// Id of [`ClipMetrics`] (ABI 1.2).
    pub const CLIP_METRICS: u32 = 2;

    /// Metrics that only a clip session can score (ABI 1.2).
    ///
    /// Such a metric keeps temporal state inside the plugin (VMAF's motion, for
    /// one), so its frames must reach one clip session in order: the host routes it
    /// to `clip_open`/`clip_push` (one clip per worker, different clips in parallel)
    /// and never asks `session_open` for it. A host without this extension scores
    /// every metric through sessions, and the plugin refuses those it lists here.
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct ClipMetrics {
        /// `{ id: CLIP_METRICS, size: size_of::<ClipMetrics>() }`.
        pub header: ExtHeader,
        /// The ids of `device`'s metrics that need a sequential clip session.
        pub sequential: extern "C" fn(device: u32) -> RResult<RVec<RString>, PluginError>,
    }

    /// Id of [`FrameWindow`] (ABI 1.3).
    pub const FRAME_WINDOW: u32 = 3;

    /// Temporal metrics that also need the *following* reference frames (ABI 1.3).
    ///
    /// `MetricCaps::temporal_depth` says how many previous reference frames a metric
    /// needs; some temporal features (VMAF's `motion2`, the smaller of a frame's motion
    /// towards its predecessor and its successor) also look ahead. A host that knows
    /// this table asks each metric's look-ahead and scores such frames through
    /// [`FrameWindow::compare_window`]. A metric with look-ahead must refuse
    /// `session_compare_frame` (and pair comparisons) with an `unsupported` error, so
    /// that an older host, which never hands it the next frame, cannot get a wrong
    /// value silently.
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct FrameWindow {
        /// `{ id: FRAME_WINDOW, size: size_of::<FrameWindow>() }`.
        pub header: ExtHeader,
        /// How many following reference frames `metric` needs on `device` (0 for most).
        pub lookahead: extern "C" fn(device: u32, metric: RStr<'_>) -> RResult<u32, PluginError>,
        /// Compares one video frame given the previous reference frames (most recent first,
        /// as many as `temporal_depth`, fewer at the clip's start) and the following ones
        /// (nearest first, as many as `lookahead`, fewer at the clip's end: the last frame
        /// gets none).
        pub compare_window: extern "C" fn(
            session: SessionHandle,
            reference: &ImageView<'_>,
            previous: RSlice<'_, ImageView<'_>>,
            next: RSlice<'_, ImageView<'_>>,
            distorted: &ImageView<'_>,
        ) -> RResult<Scores, PluginError>,
    }

    /// Id of [`PreparedWindow`] (ABI 1.4).
    pub const PREPARED_WINDOW: u32 = 4;

    /// Temporal metrics whose reference-side work is prepared once per video frame (ABI 1.4).
    ///
    /// When several distorted clips are scored against one reference clip (a sweep), every
    /// distorted frame at one position shares the reference frame and its neighbours. A
    /// temporal metric whose capabilities say `reusable_reference` prepares that window
    /// once here; the host then compares each distorted frame with `session_compare`, as
    /// for a spatial metric. The prepared handle is released with `reference_drop`. A
    /// host without this table scores such frames through [`FrameWindow::compare_window`],
    /// which must give the same values.
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct PreparedWindow {
        /// `{ id: PREPARED_WINDOW, size: size_of::<PreparedWindow>() }`.
        pub header: ExtHeader,
        /// Prepares one reference frame given the previous reference frames (most recent
        /// first) and the following ones (nearest first), as `compare_window` takes them.
        /// A metric that cannot answers `unsupported`.
        pub prepare_window: extern "C" fn(
            session: SessionHandle,
            reference: &ImageView<'_>,
            previous: RSlice<'_, ImageView<'_>>,
            next: RSlice<'_, ImageView<'_>>,
        ) -> RResult<RefHandle, PluginError>,
    }

    /// Id of [`DeviceCheck`] (ABI 1.5).
    pub const DEVICE_CHECK: u32 = 5;

    /// Devices that are started, and checked, when first used (ABI 1.5).
    ///
    /// A GPU runtime keeps a thread per started device for the life of the process (cubecl's
    /// wakes every 150 µs), so a GPU plugin lists its devices at load without starting them,
    /// and starts and checks a device (a small kernel whose answer is verified) when its first
    /// session opens; a device that fails then answers `device_lost` to every session. The
    /// host calls this table to learn a device's state without scoring (`qscore plugins`).
    /// A plugin without it has nothing to check beyond what it listed.
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct DeviceCheck {
        /// `{ id: DEVICE_CHECK, size: size_of::<DeviceCheck>() }`.
        pub header: ExtHeader,
        /// Starts `device` if it is not yet, and says whether it works: `device_lost` with
        /// the reason when it does not. Later calls answer the first call's result.
        pub check: extern "C" fn(device: u32) -> RResult<(), PluginError>,
    }

    /// Id of [`LogSink`] (ABI 1.6).
    pub const LOG_SINK: u32 = 6;

    /// A host's log callback.
    #[repr(C)]
    #[derive(StableAbi, Debug, Clone, Copy)]
    pub struct LogFn {
        /// Takes one record: its level as the `log` crate numbers them (1 error, 2 warn,
        /// 3 info, 4 debug, 5 trace), its target (a module path) and its formatted message.
        /// It must not unwind.
        pub log: extern "C" fn(level: u32, target: RStr<'_>, message: RStr<'_>),
    }

    /// Where a plugin's log records go (ABI 1.6).
    ///
    /// A plugin is a library with its own copy of the `log` crate, so the records of what it
    /// links (wgpu, cubecl, its own code) reach no one unless the host hands it a sink. The
    /// host installs one right after loading, before any other call, with the most verbose
    /// level it wants; records above that level are not even formatted.
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct LogSink {
        /// `{ id: LOG_SINK, size: size_of::<LogSink>() }`.
        pub header: ExtHeader,
        /// Sends the plugin's records up to `max_level` (0 for none, else as [`LogFn`]'s
        /// levels) to `sink`. Later calls change the level; the first sink stays.
        pub install: extern "C" fn(sink: LogFn, max_level: u32),
    }

    /// Id of [`Risky`] (ABI 1.7).
    pub const RISKY: u32 = 7;

    /// A plugin that says it may crash the process it runs in (ABI 1.7): it runs native code
    /// that a panic guard cannot catch (a C library, a driver). A host that isolates
    /// plugins runs such a one in a worker process even where it would trust one shipped
    /// with it. A plugin without the table makes no such claim.
    #[repr(C)]
    #[derive(StableAbi, Debug)]
    pub struct Risky {
        /// `{ id: RISKY, size: size_of::<Risky>() }`.
        pub header: ExtHeader,
        /// Why, in a few words (e.g. "runs libvmaf's C code").
        pub reason: extern "C" fn() -> RString,
    }

    /// Reads extension `id` from what a plugin's [`super::PluginMod::extension`] returned.
    ///
    /// # Safety
    /// `ptr` must be null or point to a table that starts with an [`ExtHeader`] and
    /// lives as long as the plugin (plugins are never unloaded).
    pub unsafe fn cast<T>(ptr: *const ExtHeader, id: u32) -> Option<&'static T> {
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null and pointing to a header, per the caller's contract.
        let header = unsafe { &*ptr };
        let big_enough = header.size as usize >= std::mem::size_of::<T>();
        // SAFETY: the id names the table type and the plugin says the table is at least
        // this big; tables are `'static` statics inside the plugin.
        (header.id == id && big_enough).then(|| unsafe { &*ptr.cast::<T>() })
    }
}
