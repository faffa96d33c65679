//! The root module's functions, generic over the exported plugin. Used by
//! [`crate::export_plugin!`]; plugin authors do not call these directly.

use std::any::Any;

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RResult, RSlice, RStr, RVec},
};

use super::{AnySession, ClipSession, KIT_ABI, Plugin, check_matches, guard::guard_unit};
use crate::{
    ClipHandle, ClipScores, DeviceList, Error, ImageView, MetricCaps, PluginError, PluginInfo,
    PluginMod, PluginModRef, RefHandle, SessionHandle, TaskSpec,
    abi_stable::std_types::RString,
    root::{Scores, ext},
    sdk::guard,
};

/// Ties the exported plugin type to its single instance.
pub trait Exported: 'static {
    /// The plugin type.
    type Plugin: Plugin;
    /// The instance, built on first use.
    fn instance() -> &'static Self::Plugin;
}

/// What a session handle points to.
struct SessionBox {
    spec: TaskSpec,
    session: Box<dyn AnySession>,
}

/// What a clip handle points to.
struct ClipBox {
    spec: TaskSpec,
    clip: Box<dyn ClipSession>,
}

/// Builds the root module for `E`.
pub fn root_module<E: Exported>() -> PluginModRef {
    module::<E>().leak_into_prefix()
}

/// The root module's table for `E`, before it is leaked; fixtures that stand for
/// plugins of other ABI minors start from it.
pub fn module<E: Exported>() -> PluginMod {
    PluginMod {
        abi: KIT_ABI,
        info: info::<E>,
        devices: devices::<E>,
        free_memory: free_memory::<E>,
        capabilities: capabilities::<E>,
        predict_memory: predict_memory::<E>,
        session_open: session_open::<E>,
        session_prepare,
        session_compare,
        session_compare_pair,
        session_compare_frame,
        reference_drop,
        session_close,
        clip_open: clip_open::<E>,
        clip_push,
        clip_finish,
        clip_abort,
        extension: extension_of::<E>,
    }
}

extern "C" fn info<E: Exported>() -> RResult<PluginInfo, PluginError> {
    guard("info", || {
        let id = E::instance().identity();
        Ok(PluginInfo {
            name: id.name.into(),
            version: id.version.into(),
            vendor: id.vendor.into(),
            family: id.family,
            abi: KIT_ABI,
        })
    })
}

extern "C" fn devices<E: Exported>() -> RResult<DeviceList, PluginError> {
    guard("devices", || E::instance().devices())
}

extern "C" fn free_memory<E: Exported>(device: u32) -> RResult<u64, PluginError> {
    guard("free_memory", || E::instance().free_memory(device))
}

extern "C" fn capabilities<E: Exported>(device: u32) -> RResult<RVec<MetricCaps>, PluginError> {
    guard("capabilities", || {
        E::instance().capabilities(device).map(RVec::from)
    })
}

extern "C" fn predict_memory<E: Exported>(
    device: u32,
    spec: &TaskSpec,
) -> RResult<u64, PluginError> {
    guard("predict_memory", || {
        E::instance().predict_memory(device, spec)
    })
}

extern "C" fn session_open<E: Exported>(
    device: u32,
    spec: &TaskSpec,
) -> RResult<SessionHandle, PluginError> {
    guard("session_open", || {
        let session = E::instance().open_session(device, spec)?;
        let boxed = Box::new(SessionBox {
            spec: spec.clone(),
            session,
        });
        Ok(SessionHandle(Box::into_raw(boxed).cast()))
    })
}

/// # Safety
/// `handle` came from `session_open` and is not closed; the host uses it from one thread at a time.
unsafe fn session_mut<'a>(handle: SessionHandle) -> Result<&'a mut SessionBox, Error> {
    // SAFETY: per the function's contract.
    unsafe { handle.0.cast::<SessionBox>().as_mut() }
        .ok_or_else(|| Error::InvalidInput("null session handle".into()))
}

extern "C" fn session_prepare(
    handle: SessionHandle,
    reference: &ImageView<'_>,
) -> RResult<RefHandle, PluginError> {
    guard("prepare", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        check_matches(&s.spec, "reference", reference)?;
        let prepared = s.session.prepare_any(reference)?;
        Ok(RefHandle(Box::into_raw(Box::new(prepared)).cast()))
    })
}

extern "C" fn session_compare(
    handle: SessionHandle,
    reference: RefHandle,
    distorted: &ImageView<'_>,
) -> RResult<Scores, PluginError> {
    guard("compare", || {
        // SAFETY: the host passes live handles (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        // SAFETY: a RefHandle points to the Box<dyn Any + Send> made by `session_prepare`.
        let prepared = unsafe { reference.0.cast::<Box<dyn Any + Send>>().as_ref() }
            .ok_or_else(|| Error::InvalidInput("null reference handle".into()))?;
        check_matches(&s.spec, "distorted image", distorted)?;
        s.session
            .compare_any(prepared.as_ref(), distorted)
            .map(RVec::from)
    })
}

extern "C" fn session_compare_pair(
    handle: SessionHandle,
    reference: &ImageView<'_>,
    distorted: &ImageView<'_>,
) -> RResult<Scores, PluginError> {
    guard("compare_pair", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        check_matches(&s.spec, "reference", reference)?;
        check_matches(&s.spec, "distorted image", distorted)?;
        s.session
            .compare_pair_any(reference, distorted)
            .map(RVec::from)
    })
}

extern "C" fn session_compare_frame(
    handle: SessionHandle,
    reference: &ImageView<'_>,
    previous: RSlice<'_, ImageView<'_>>,
    distorted: &ImageView<'_>,
) -> RResult<Scores, PluginError> {
    guard("compare_frame", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        check_matches(&s.spec, "reference frame", reference)?;
        check_matches(&s.spec, "distorted frame", distorted)?;
        for frame in previous.iter() {
            check_matches(&s.spec, "previous reference frame", frame)?;
        }
        s.session
            .compare_frame_any(reference, previous.as_slice(), distorted)
            .map(RVec::from)
    })
}

extern "C" fn session_compare_window(
    handle: SessionHandle,
    reference: &ImageView<'_>,
    previous: RSlice<'_, ImageView<'_>>,
    next: RSlice<'_, ImageView<'_>>,
    distorted: &ImageView<'_>,
) -> RResult<Scores, PluginError> {
    guard("compare_window", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        check_matches(&s.spec, "reference frame", reference)?;
        check_matches(&s.spec, "distorted frame", distorted)?;
        for frame in previous.iter() {
            check_matches(&s.spec, "previous reference frame", frame)?;
        }
        for frame in next.iter() {
            check_matches(&s.spec, "next reference frame", frame)?;
        }
        s.session
            .compare_window_any(reference, previous.as_slice(), next.as_slice(), distorted)
            .map(RVec::from)
    })
}

extern "C" fn session_prepare_window(
    handle: SessionHandle,
    reference: &ImageView<'_>,
    previous: RSlice<'_, ImageView<'_>>,
    next: RSlice<'_, ImageView<'_>>,
) -> RResult<RefHandle, PluginError> {
    guard("prepare_window", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        check_matches(&s.spec, "reference frame", reference)?;
        for frame in previous.iter() {
            check_matches(&s.spec, "previous reference frame", frame)?;
        }
        for frame in next.iter() {
            check_matches(&s.spec, "next reference frame", frame)?;
        }
        let prepared =
            s.session
                .prepare_window_any(reference, previous.as_slice(), next.as_slice())?;
        Ok(RefHandle(Box::into_raw(Box::new(prepared)).cast()))
    })
}

extern "C" fn reference_drop(_session: SessionHandle, reference: RefHandle) {
    guard_unit("reference_drop", || {
        if !reference.0.is_null() {
            // SAFETY: made by Box::into_raw in `session_prepare`, dropped once (ABI contract).
            drop(unsafe { Box::from_raw(reference.0.cast::<Box<dyn Any + Send>>()) });
        }
    });
}

extern "C" fn session_close(handle: SessionHandle) {
    guard_unit("session_close", || {
        if !handle.0.is_null() {
            // SAFETY: made by Box::into_raw in `session_open`, closed once (ABI contract).
            drop(unsafe { Box::from_raw(handle.0.cast::<SessionBox>()) });
        }
    });
}

extern "C" fn clip_open<E: Exported>(
    device: u32,
    spec: &TaskSpec,
) -> RResult<ClipHandle, PluginError> {
    guard("clip_open", || {
        let clip = E::instance().open_clip(device, spec)?;
        let boxed = Box::new(ClipBox {
            spec: spec.clone(),
            clip,
        });
        Ok(ClipHandle(Box::into_raw(boxed).cast()))
    })
}

extern "C" fn clip_push(
    handle: ClipHandle,
    reference: &ImageView<'_>,
    distorted: &ImageView<'_>,
) -> RResult<(), PluginError> {
    guard("clip_push", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let c = unsafe { handle.0.cast::<ClipBox>().as_mut() }
            .ok_or_else(|| Error::InvalidInput("null clip handle".into()))?;
        check_matches(&c.spec, "reference frame", reference)?;
        check_matches(&c.spec, "distorted frame", distorted)?;
        c.clip.push(reference, distorted)
    })
}

extern "C" fn clip_finish(handle: ClipHandle) -> RResult<ClipScores, PluginError> {
    guard("clip_finish", || {
        if handle.0.is_null() {
            return Err(Error::InvalidInput("null clip handle".into()));
        }
        // SAFETY: made by Box::into_raw in `clip_open`, consumed once (ABI contract).
        let c = unsafe { Box::from_raw(handle.0.cast::<ClipBox>()) };
        c.clip.finish()
    })
}

extern "C" fn clip_abort(handle: ClipHandle) {
    guard_unit("clip_abort", || {
        if !handle.0.is_null() {
            // SAFETY: made by Box::into_raw in `clip_open`, consumed once (ABI contract).
            drop(unsafe { Box::from_raw(handle.0.cast::<ClipBox>()) });
        }
    });
}

extern "C" fn session_peak_memory(handle: SessionHandle) -> RResult<u64, PluginError> {
    guard("peak_memory", || {
        // SAFETY: the host passes a live handle (ABI contract).
        let s = unsafe { session_mut(handle) }?;
        s.session
            .peak_memory_any()
            .ok_or_else(|| Error::Unsupported("this session does not measure its memory".into()))
    })
}

static SESSION_STATS: ext::SessionStats = ext::SessionStats {
    header: ext::ExtHeader {
        id: ext::SESSION_STATS,
        size: std::mem::size_of::<ext::SessionStats>() as u32,
    },
    peak_memory: session_peak_memory,
};

extern "C" fn lookahead<E: Exported>(device: u32, metric: RStr<'_>) -> RResult<u32, PluginError> {
    guard("lookahead", || {
        E::instance().lookahead(device, metric.as_str())
    })
}

static PREPARED_WINDOW: ext::PreparedWindow = ext::PreparedWindow {
    header: ext::ExtHeader {
        id: ext::PREPARED_WINDOW,
        size: std::mem::size_of::<ext::PreparedWindow>() as u32,
    },
    prepare_window: session_prepare_window,
};

static LOG_SINK: ext::LogSink = ext::LogSink {
    header: ext::ExtHeader {
        id: ext::LOG_SINK,
        size: std::mem::size_of::<ext::LogSink>() as u32,
    },
    install: super::logging::install,
};

/// The kit's extension lookup for tables that do not depend on the plugin
/// ([`extension_of`] adds those that do).
pub extern "C" fn extension(id: u32) -> *const ext::ExtHeader {
    match id {
        ext::SESSION_STATS => &SESSION_STATS.header,
        ext::PREPARED_WINDOW => &PREPARED_WINDOW.header,
        ext::LOG_SINK => &LOG_SINK.header,
        _ => std::ptr::null(),
    }
}

extern "C" fn sequential_metrics<E: Exported>(device: u32) -> RResult<RVec<RString>, PluginError> {
    guard("sequential_metrics", || {
        let metrics = E::instance().sequential_metrics(device)?;
        Ok(metrics.into_iter().map(RString::from).collect())
    })
}

extern "C" fn check_device<E: Exported>(device: u32) -> RResult<(), PluginError> {
    guard("check_device", || E::instance().check_device(device))
}

extern "C" fn risky_reason<E: Exported>() -> RString {
    let reason = std::panic::catch_unwind(|| E::instance().risky());
    RString::from(reason.ok().flatten().unwrap_or("it says so"))
}

/// Extension tables that call into the exported plugin, one set per plugin type
/// (associated constants, promoted to statics where they are borrowed).
struct Tables<E>(std::marker::PhantomData<E>);

impl<E: Exported> Tables<E> {
    const CLIP_METRICS: ext::ClipMetrics = ext::ClipMetrics {
        header: ext::ExtHeader {
            id: ext::CLIP_METRICS,
            size: std::mem::size_of::<ext::ClipMetrics>() as u32,
        },
        sequential: sequential_metrics::<E>,
    };

    const RISKY: ext::Risky = ext::Risky {
        header: ext::ExtHeader {
            id: ext::RISKY,
            size: std::mem::size_of::<ext::Risky>() as u32,
        },
        reason: risky_reason::<E>,
    };

    const FRAME_WINDOW: ext::FrameWindow = ext::FrameWindow {
        header: ext::ExtHeader {
            id: ext::FRAME_WINDOW,
            size: std::mem::size_of::<ext::FrameWindow>() as u32,
        },
        lookahead: lookahead::<E>,
        compare_window: session_compare_window,
    };

    const DEVICE_CHECK: ext::DeviceCheck = ext::DeviceCheck {
        header: ext::ExtHeader {
            id: ext::DEVICE_CHECK,
            size: std::mem::size_of::<ext::DeviceCheck>() as u32,
        },
        check: check_device::<E>,
    };
}

/// The extension lookup of plugin `E`: [`extension`]'s tables and those that ask `E`.
pub extern "C" fn extension_of<E: Exported>(id: u32) -> *const ext::ExtHeader {
    match id {
        ext::CLIP_METRICS => {
            let table: &'static ext::ClipMetrics = &Tables::<E>::CLIP_METRICS;
            &table.header
        }
        ext::FRAME_WINDOW => {
            // The whole table is promoted to a `'static` (a constant without interior
            // mutability or drop), so the host may read past the header.
            let table: &'static ext::FrameWindow = &Tables::<E>::FRAME_WINDOW;
            &table.header
        }
        ext::DEVICE_CHECK => {
            let table: &'static ext::DeviceCheck = &Tables::<E>::DEVICE_CHECK;
            &table.header
        }
        // Only a plugin that says it is risky has the table.
        ext::RISKY
            if std::panic::catch_unwind(|| E::instance().risky().is_some()).unwrap_or(false) =>
        {
            let table: &'static ext::Risky = &Tables::<E>::RISKY;
            &table.header
        }
        other => extension(other),
    }
}
