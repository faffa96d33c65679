//! qscore's stable plugin ABI.
//!
//! Everything a host and a plugin exchange is defined here, FFI-safe through
//! [`abi_stable`]. The crate grows append-only within an ABI major version:
//! nothing is ever removed or reordered, open sets (pixel formats, memory modes,
//! error kinds…) are `#[repr(transparent)]` integers with named constants, so a
//! value added by a newer peer is carried through rather than rejected, and the
//! root module's layout is frozen (see [`root`] and `docs/abi.md`).
//!
//! Plugin authors implement [`sdk::Plugin`] and call [`export_plugin!`]; the kit
//! catches every panic and turns it into a typed [`Error`].

pub mod error;
pub mod image;
#[cfg(test)]
mod image_fuzz;
pub mod kinds;
pub mod records;
pub mod root;
pub mod sdk;
pub mod version;

pub use error::{Error, PluginError};
pub use image::{FormatInfo, ImageView, OwnedImage, PlaneGeometry, PlaneView};
pub use kinds::{BackendFamily, ChromaSubsampling, DeviceKind, ErrorKind, MemoryMode, PixelFormat};
pub use records::{
    ClipScores, DeviceInfo, DeviceList, MetricCaps, NamedValue, Param, PluginInfo, TaskSpec,
};
pub use root::{ClipHandle, PluginMod, PluginModRef, RefHandle, SessionHandle};
pub use version::{ABI_MAJOR, ABI_MINOR, AbiVersion};

/// Re-exported so plugin crates use exactly the `abi_stable` this ABI was built with.
pub use abi_stable;
