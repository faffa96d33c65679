//! Errors: a typed Rust enum for both sides, and its FFI-safe carrier.

use abi_stable::{StableAbi, std_types::RString};

use crate::ErrorKind;

/// Everything that can go wrong inside a plugin, as host and plugin code see it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The device ran out of memory. This variant, and only this one, tells a host
    /// that the same work may succeed in a leaner memory mode or on another device.
    #[error("out of memory: {needed} bytes needed, {available} available ({message})")]
    OutOfMemory {
        /// Bytes the operation needed (0 when the plugin could not tell).
        needed: u64,
        /// Bytes that were free (0 when the plugin could not tell).
        available: u64,
        /// What was being allocated.
        message: String,
    },
    /// The plugin cannot do this: unknown metric, format, mode, size or operation.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The input is wrong: sizes differ, strides too small, bad parameter values.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The device stopped working and should not be used again.
    #[error("device lost: {0}")]
    DeviceLost(String),
    /// A failure inside the plugin, including a caught panic.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::OutOfMemory { .. } => ErrorKind::OUT_OF_MEMORY,
            Self::Unsupported(_) => ErrorKind::UNSUPPORTED,
            Self::InvalidInput(_) => ErrorKind::INVALID_INPUT,
            Self::DeviceLost(_) => ErrorKind::DEVICE_LOST,
            Self::Internal(_) => ErrorKind::INTERNAL,
        }
    }

    /// Whether this is an out-of-memory error.
    pub fn is_out_of_memory(&self) -> bool {
        matches!(self, Self::OutOfMemory { .. })
    }
}

/// The FFI-safe form of [`Error`]. Layout frozen; unknown kinds read as internal.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct PluginError {
    /// Class of the error.
    pub kind: ErrorKind,
    /// Human-readable detail.
    pub message: RString,
    /// For out-of-memory: bytes needed.
    pub bytes_needed: u64,
    /// For out-of-memory: bytes available.
    pub bytes_available: u64,
}

impl From<Error> for PluginError {
    fn from(error: Error) -> Self {
        let kind = error.kind();
        let (message, bytes_needed, bytes_available) = match error {
            Error::OutOfMemory {
                needed,
                available,
                message,
            } => (message, needed, available),
            Error::Unsupported(m)
            | Error::InvalidInput(m)
            | Error::DeviceLost(m)
            | Error::Internal(m) => (m, 0, 0),
        };
        Self {
            kind,
            message: message.into(),
            bytes_needed,
            bytes_available,
        }
    }
}

impl From<PluginError> for Error {
    fn from(error: PluginError) -> Self {
        let message = error.message.into_string();
        match error.kind {
            ErrorKind::OUT_OF_MEMORY => Self::OutOfMemory {
                needed: error.bytes_needed,
                available: error.bytes_available,
                message,
            },
            ErrorKind::UNSUPPORTED => Self::Unsupported(message),
            ErrorKind::INVALID_INPUT => Self::InvalidInput(message),
            ErrorKind::DEVICE_LOST => Self::DeviceLost(message),
            ErrorKind::INTERNAL => Self::Internal(message),
            unknown => Self::Internal(format!(
                "{message} (error kind {unknown} from a newer plugin)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_survives_the_boundary() {
        let cases = [
            Error::OutOfMemory {
                needed: 10,
                available: 3,
                message: "strip buffer".into(),
            },
            Error::Unsupported("metric x".into()),
            Error::InvalidInput("sizes differ".into()),
            Error::DeviceLost("gone".into()),
            Error::Internal("panic: boom".into()),
        ];
        for case in cases {
            let back = Error::from(PluginError::from(case.clone()));
            assert_eq!(back, case);
        }
    }

    #[test]
    fn unknown_kind_from_a_newer_plugin_is_internal() {
        let foreign = PluginError {
            kind: ErrorKind(99),
            message: "new thing".into(),
            bytes_needed: 0,
            bytes_available: 0,
        };
        let error = Error::from(foreign);
        assert!(
            matches!(&error, Error::Internal(m) if m.contains("unknown(99)")),
            "{error}"
        );
    }
}
