//! The plugin author's kit.
//!
//! Implement [`Plugin`] (and [`Session`] for your metrics), then export the root
//! module with [`crate::export_plugin!`]. The kit validates every image before
//! your code sees it, catches every panic (turning it into
//! [`crate::Error::Internal`]), owns the handles and provides clip sessions for
//! metrics that are stateless per frame. See `docs/plugin-guide.md`.

mod clip;
#[doc(hidden)]
pub mod exports;
mod guard;
mod logging;
pub mod resources;

pub use clip::FrameByFrameClip;
pub use guard::{guard, panic_text};

use std::any::Any;

use crate::{
    AbiVersion, BackendFamily, ClipScores, DeviceList, Error, ImageView, MetricCaps, NamedValue,
    TaskSpec,
};

/// A plugin's identity (the ABI version is filled in by the kit).
#[derive(Debug, Clone)]
pub struct Identity {
    /// Unique short name, e.g. `cpu`.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Who made it.
    pub vendor: String,
    /// Backend family.
    pub family: BackendFamily,
}

/// What a plugin implements. One instance lives for the whole process.
pub trait Plugin: Send + Sync + 'static {
    /// Who the plugin is.
    fn identity(&self) -> Identity;
    /// Devices, and why any are missing.
    fn devices(&self) -> Result<DeviceList, Error>;
    /// Free memory of `device` now.
    fn free_memory(&self, device: u32) -> Result<u64, Error>;
    /// Metrics `device` supports.
    fn capabilities(&self, device: u32) -> Result<Vec<MetricCaps>, Error>;
    /// Peak bytes a session for `spec` will hold, prepared reference included.
    fn predict_memory(&self, device: u32, spec: &TaskSpec) -> Result<u64, Error>;
    /// Opens a session; wrap your [`Session`] with [`boxed`].
    fn open_session(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn AnySession>, Error>;
    /// How many following reference frames `metric` needs on `device` (ABI 1.3,
    /// [`crate::root::ext::FrameWindow`]); 0, the default, for metrics that do not look ahead.
    /// A metric that does must also refuse [`Session::compare_frame`], since a host that
    /// predates look-ahead calls only that.
    fn lookahead(&self, _device: u32, _metric: &str) -> Result<u32, Error> {
        Ok(0)
    }
    /// Opens a clip session. The default scores each frame with a session from
    /// [`Plugin::open_session`], handing it the previous (and, for metrics that look
    /// ahead, following) reference frames the metric declared, and pools by the mean.
    fn open_clip(&self, device: u32, spec: &TaskSpec) -> Result<Box<dyn ClipSession>, Error> {
        let depth = self
            .capabilities(device)?
            .iter()
            .find(|c| c.metric.as_str() == spec.metric.as_str())
            .map_or(0, |c| c.temporal_depth as usize);
        let lookahead = self.lookahead(device, spec.metric.as_str())? as usize;
        let session = self.open_session(device, spec)?;
        Ok(Box::new(
            FrameByFrameClip::new(session, depth).with_lookahead(lookahead),
        ))
    }
    /// Starts `device` if it is started lazily, and says whether it works (ABI 1.5,
    /// [`crate::root::ext::DeviceCheck`]): [`Error::DeviceLost`] with the reason when it does
    /// not. By default every listed device works.
    fn check_device(&self, device: u32) -> Result<(), Error> {
        let _ = device;
        Ok(())
    }
    /// Why the plugin may crash its process, if it may (ABI 1.7,
    /// [`crate::root::ext::Risky`]): it runs native code a panic guard cannot catch. A host
    /// that isolates plugins then runs it in a worker process. By default it may not.
    fn risky(&self) -> Option<&'static str> {
        None
    }
    /// Ids of `device`'s metrics that only a clip session can score, because the
    /// plugin keeps temporal state across frames (see [`crate::root::ext::ClipMetrics`]).
    /// Override it together with [`Plugin::open_clip`]; by default there are none.
    fn sequential_metrics(&self, device: u32) -> Result<Vec<String>, Error> {
        let _ = device;
        Ok(Vec::new())
    }
}

/// Named values returned by a comparison.
pub type Values = Vec<NamedValue>;

/// One metric on one device, for one size, format and memory mode.
pub trait Session: Send + 'static {
    /// What preparing a reference produces.
    type Prepared: Send + 'static;
    /// Does the reference work once.
    fn prepare(&mut self, reference: &ImageView<'_>) -> Result<Self::Prepared, Error>;
    /// Compares a distorted image with a prepared reference.
    fn compare(
        &mut self,
        prepared: &Self::Prepared,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error>;
    /// Compares one pair; by default prepares and compares.
    fn compare_pair(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let prepared = self.prepare(reference)?;
        self.compare(&prepared, distorted)
    }
    /// Compares a video frame given the previous reference frames (most recent first).
    /// By default a spatial metric ignores them.
    fn compare_frame(
        &mut self,
        reference: &ImageView<'_>,
        _previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.compare_pair(reference, distorted)
    }
    /// Compares a video frame given the previous reference frames (most recent first) and
    /// the following ones (nearest first; fewer than the metric's look-ahead at the clip's
    /// end). By default a metric that does not look ahead ignores `next`.
    fn compare_window(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        _next: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.compare_frame(reference, previous, distorted)
    }
    /// Prepares a video frame's reference with the reference frames around it, once for
    /// every distorted frame compared with it (ABI 1.4). Only temporal metrics whose
    /// capabilities say `reusable_reference` are asked; `compare` with the result must give
    /// what `compare_window` gives.
    fn prepare_window(
        &mut self,
        _reference: &ImageView<'_>,
        _previous: &[ImageView<'_>],
        _next: &[ImageView<'_>],
    ) -> Result<Self::Prepared, Error> {
        Err(Error::Unsupported(
            "this metric cannot prepare a video frame's reference with its neighbours".into(),
        ))
    }
    /// Peak bytes held at once since the session opened, when measured.
    fn peak_memory(&self) -> Option<u64> {
        None
    }
}

/// A [`Session`] with its prepared-reference type erased, as the kit stores it.
pub trait AnySession: Send {
    /// See [`Session::prepare`].
    fn prepare_any(&mut self, reference: &ImageView<'_>) -> Result<Box<dyn Any + Send>, Error>;
    /// See [`Session::compare`].
    fn compare_any(
        &mut self,
        prepared: &(dyn Any + Send),
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error>;
    /// See [`Session::compare_pair`].
    fn compare_pair_any(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error>;
    /// See [`Session::compare_frame`].
    fn compare_frame_any(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error>;
    /// See [`Session::compare_window`].
    fn compare_window_any(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error>;
    /// See [`Session::prepare_window`].
    fn prepare_window_any(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
    ) -> Result<Box<dyn Any + Send>, Error>;
    /// See [`Session::peak_memory`].
    fn peak_memory_any(&self) -> Option<u64>;
}

impl<S: Session> AnySession for S {
    fn prepare_any(&mut self, reference: &ImageView<'_>) -> Result<Box<dyn Any + Send>, Error> {
        Ok(Box::new(self.prepare(reference)?))
    }

    fn compare_any(
        &mut self,
        prepared: &(dyn Any + Send),
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        let prepared = prepared.downcast_ref::<S::Prepared>().ok_or_else(|| {
            Error::InvalidInput("reference handle was prepared by another session".into())
        })?;
        self.compare(prepared, distorted)
    }

    fn compare_pair_any(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.compare_pair(reference, distorted)
    }

    fn compare_frame_any(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.compare_frame(reference, previous, distorted)
    }

    fn compare_window_any(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
        distorted: &ImageView<'_>,
    ) -> Result<Values, Error> {
        self.compare_window(reference, previous, next, distorted)
    }

    fn prepare_window_any(
        &mut self,
        reference: &ImageView<'_>,
        previous: &[ImageView<'_>],
        next: &[ImageView<'_>],
    ) -> Result<Box<dyn Any + Send>, Error> {
        Ok(Box::new(self.prepare_window(reference, previous, next)?))
    }

    fn peak_memory_any(&self) -> Option<u64> {
        self.peak_memory()
    }
}

/// Boxes a session for [`Plugin::open_session`].
pub fn boxed<S: Session>(session: S) -> Box<dyn AnySession> {
    Box::new(session)
}

/// A clip session: frames pushed in order; the plugin keeps any temporal state.
pub trait ClipSession: Send {
    /// Scores (or queues) the next frame pair.
    fn push(&mut self, reference: &ImageView<'_>, distorted: &ImageView<'_>) -> Result<(), Error>;
    /// Per-frame and pooled values.
    fn finish(self: Box<Self>) -> Result<ClipScores, Error>;
}

/// The ABI version the kit reports for plugins built with it.
pub const KIT_ABI: AbiVersion = AbiVersion::CURRENT;

/// Checks that a request's images match the session's spec (size and format).
pub fn check_matches(spec: &TaskSpec, role: &str, image: &ImageView<'_>) -> Result<(), Error> {
    image.validate()?;
    if image.width != spec.width || image.height != spec.height {
        return Err(Error::InvalidInput(format!(
            "{role} is {}x{}, the session was opened for {}x{}",
            image.width, image.height, spec.width, spec.height
        )));
    }
    if image.format != spec.format {
        return Err(Error::InvalidInput(format!(
            "{role} is {}, the session was opened for {}",
            image.format, spec.format
        )));
    }
    Ok(())
}

/// Checks `spec` against what a device declared: the metric is offered, its format and
/// memory mode accepted, its size within bounds. Returns that metric's capabilities.
/// Call it first in `predict_memory` and `open_session`.
pub fn check_spec<'c>(caps: &'c [MetricCaps], spec: &TaskSpec) -> Result<&'c MetricCaps, Error> {
    let metric = spec.metric.as_str();
    let found = caps
        .iter()
        .find(|c| c.metric.as_str() == metric)
        .ok_or_else(|| {
            let known: Vec<&str> = caps.iter().map(|c| c.metric.as_str()).collect();
            Error::Unsupported(format!("metric {metric:?} (offered: {})", known.join(", ")))
        })?;
    if !found.formats.contains(&spec.format) {
        return Err(Error::Unsupported(format!(
            "{metric} on pixel format {}",
            spec.format
        )));
    }
    if !found.modes.contains(&spec.mode) {
        return Err(Error::Unsupported(format!(
            "{metric} in memory mode {}",
            spec.mode
        )));
    }
    if spec.width == 0 || spec.height == 0 {
        return Err(Error::InvalidInput(format!(
            "image is {}x{}: both sides must be at least 1",
            spec.width, spec.height
        )));
    }
    if spec.width > found.max_width || spec.height > found.max_height {
        return Err(Error::Unsupported(format!(
            "{metric} on {}x{} (at most {}x{})",
            spec.width, spec.height, found.max_width, found.max_height
        )));
    }
    Ok(found)
}

/// The boolean parameter `key` of `spec` (`true` or `false`), or `default` when it is not
/// given; any other value is invalid input naming the metric and the parameter.
pub fn bool_param(spec: &TaskSpec, key: &str, default: bool) -> Result<bool, Error> {
    match spec.param(key) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(text) => Err(Error::InvalidInput(format!(
            "{}.{key}={text:?} is not true or false",
            spec.metric.as_str()
        ))),
    }
}

/// Exports `$ty`, built by `$ctor` on first use, as this library's qscore root module.
///
/// ```ignore
/// qscore_core::export_plugin!(MyPlugin, MyPlugin::new);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty, $ctor:expr) => {
        $crate::plugin_root!($ty, $ctor);
        $crate::export_root_module_fn!(qscore_root_module);
    };
}

/// Defines `pub fn qscore_root_module() -> PluginModRef` for `$ty`, built by `$ctor` on
/// first use, without exporting it: for a plugin whose code is a library that other
/// crates link (a host that builds the plugin in), while a thin `cdylib` crate exports it
/// with [`export_root_module_fn!`]. [`export_plugin!`] does both.
#[macro_export]
macro_rules! plugin_root {
    ($ty:ty, $ctor:expr) => {
        #[doc(hidden)]
        struct QscoreExported;

        impl $crate::sdk::exports::Exported for QscoreExported {
            type Plugin = $ty;
            fn instance() -> &'static $ty {
                static INSTANCE: ::std::sync::OnceLock<$ty> = ::std::sync::OnceLock::new();
                INSTANCE.get_or_init($ctor)
            }
        }

        /// The qscore root module of this plugin.
        pub fn qscore_root_module() -> $crate::PluginModRef {
            $crate::sdk::exports::root_module::<QscoreExported>()
        }
    };
}

/// Exports `$root` (a `fn() -> PluginModRef`) as this library's root module: what
/// abi_stable's `#[export_root_module]` generates, spelled with paths through
/// `qscore_core` so that a plugin crate needs no direct abi_stable dependency.
/// [`export_plugin!`] uses it; call it directly only to hand-build a root module.
#[doc(hidden)]
#[macro_export]
macro_rules! export_root_module_fn {
    ($root:path) => {
        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static QSCORE_LIB_HEADER: $crate::abi_stable::library::LibHeader = {
            extern "C" fn erased_module() -> $crate::abi_stable::library::RootModuleResult {
                $crate::abi_stable::library::__call_root_module_loader($root)
            }
            // SAFETY: `erased_module` returns the root module of type `PluginModRef`,
            // the type named here, exactly as abi_stable's own attribute arranges.
            unsafe {
                $crate::abi_stable::library::LibHeader::from_constructor::<$crate::PluginModRef>(
                    erased_module,
                    $crate::abi_stable::library::CheckTypeLayout::Yes,
                )
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use crate::{MemoryMode, MetricCaps, PixelFormat, TaskSpec};

    fn caps() -> Vec<MetricCaps> {
        vec![MetricCaps {
            metric: "m".into(),
            outputs: vec!["m".into()].into(),
            formats: vec![PixelFormat::RGB8].into(),
            modes: vec![MemoryMode::FULL].into(),
            reusable_reference: true,
            temporal_depth: 0,
            max_width: 100,
            max_height: 50,
        }]
    }

    #[test]
    fn specs_are_checked_against_declared_capabilities() {
        let caps = caps();
        let ok = TaskSpec::new("m", 100, 50, PixelFormat::RGB8, MemoryMode::FULL);
        assert!(super::check_spec(&caps, &ok).is_ok());
        let cases = [
            (
                TaskSpec::new("x", 10, 10, PixelFormat::RGB8, MemoryMode::FULL),
                "offered: m",
            ),
            (
                TaskSpec::new("m", 10, 10, PixelFormat::GRAY8, MemoryMode::FULL),
                "pixel format gray8",
            ),
            (
                TaskSpec::new("m", 10, 10, PixelFormat::RGB8, MemoryMode::STRIP),
                "memory mode strip",
            ),
            (
                TaskSpec::new("m", 0, 10, PixelFormat::RGB8, MemoryMode::FULL),
                "at least 1",
            ),
            (
                TaskSpec::new("m", 101, 10, PixelFormat::RGB8, MemoryMode::FULL),
                "at most 100x50",
            ),
        ];
        for (spec, expected) in cases {
            let error = super::check_spec(&caps, &spec).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn boolean_parameters_take_true_or_false_and_name_a_bad_value() {
        let mut spec = TaskSpec::new("vmaf", 8, 8, PixelFormat::GRAY8, MemoryMode::FULL);
        assert!(super::bool_param(&spec, "flag", true).unwrap());
        assert!(!super::bool_param(&spec, "flag", false).unwrap());
        for (value, expected) in [("true", true), ("false", false)] {
            spec.params = vec![crate::Param {
                key: "flag".into(),
                value: value.into(),
            }]
            .into();
            assert_eq!(
                super::bool_param(&spec, "flag", !expected).unwrap(),
                expected
            );
        }
        spec.params = vec![crate::Param {
            key: "flag".into(),
            value: "yes".into(),
        }]
        .into();
        let error = super::bool_param(&spec, "flag", false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("vmaf.flag=\"yes\" is not true or false"),
            "{error}"
        );
    }

    #[test]
    fn export_name_is_abi_stables_loader_symbol() {
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }
}
