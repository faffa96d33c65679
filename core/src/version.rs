//! ABI version numbers and their history.
//!
//! The major version changes only when the frozen root module has to change;
//! hosts refuse a plugin of another major. The minor version counts additions
//! made through extension tables ([`crate::root::ext`]); a host and a plugin of
//! different minors both work, each using only what the other provides.
//!
//! | minor | added |
//! |-------|-------|
//! | 0     | the root module: identity, devices, live free memory, capabilities, memory predictions, sessions (prepared reference, pair, frame with previous references), clip sessions |
//! | 1     | extension [`crate::root::ext::SESSION_STATS`]: measured peak memory of a session |
//! | 2     | extension [`crate::root::ext::CLIP_METRICS`]: metrics that only clip sessions can score |
//! | 3     | extension [`crate::root::ext::FRAME_WINDOW`]: look-ahead of temporal metrics and frame comparisons given the following reference frames |
//! | 4     | extension [`crate::root::ext::PREPARED_WINDOW`]: a temporal metric's reference frame prepared once, with its neighbours, for every distorted frame |
//! | 5     | extension [`crate::root::ext::DEVICE_CHECK`]: a device started and checked on first use, and on request |
//! | 6     | extension [`crate::root::ext::LOG_SINK`]: the plugin's log records sent to the host |
//! | 7     | extension [`crate::root::ext::RISKY`]: the plugin says it may crash its process, to be run isolated |

use abi_stable::StableAbi;

/// The ABI major version this crate defines.
pub const ABI_MAJOR: u32 = 1;
/// The ABI minor version this crate defines.
pub const ABI_MINOR: u32 = 7;

/// An ABI version, as a plugin reports it in its root module.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AbiVersion {
    /// Incompatible when different.
    pub major: u32,
    /// Additive: any two minors of one major work together.
    pub minor: u32,
}

impl AbiVersion {
    /// The version this crate defines.
    pub const CURRENT: Self = Self {
        major: ABI_MAJOR,
        minor: ABI_MINOR,
    };

    /// Whether a plugin reporting `self` can be loaded by a host built with [`Self::CURRENT`].
    pub fn loadable_by_current_host(self) -> bool {
        self.major == ABI_MAJOR
    }
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
