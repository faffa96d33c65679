//! Failures reported by libvmaf, before they become the ABI's [`qscore_core::Error`].

use qscore_core::Error;

/// A libvmaf call that failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LibvmafError {
    /// A libvmaf function returned a negative errno.
    #[error("libvmaf {call} failed with code {code}{}", describe(*.code))]
    Call {
        /// The C function.
        call: &'static str,
        /// Its return value (a negative errno).
        code: i32,
    },
    /// libvmaf could not allocate a picture buffer.
    #[error("libvmaf could not allocate a {width}x{height} picture")]
    PictureAlloc {
        /// Luma width.
        width: u32,
        /// Luma height.
        height: u32,
    },
    /// A score was asked for a value libvmaf did not compute.
    #[error("libvmaf has no value {name:?} for frame {index}")]
    MissingValue {
        /// The feature collector's name.
        name: String,
        /// The frame.
        index: u32,
    },
}

fn describe(code: i32) -> String {
    match -code {
        12 => " (out of memory)".into(),
        22 => " (invalid argument)".into(),
        _ => String::new(),
    }
}

impl From<LibvmafError> for Error {
    fn from(error: LibvmafError) -> Self {
        match error {
            LibvmafError::PictureAlloc { width, height } => Error::OutOfMemory {
                needed: 0,
                available: 0,
                message: format!("libvmaf picture of {width}x{height}"),
            },
            LibvmafError::Call { code: -12, .. } => Error::OutOfMemory {
                needed: 0,
                available: 0,
                message: error.to_string(),
            },
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Turns a libvmaf return code into a result.
pub(crate) fn check(call: &'static str, code: i32) -> Result<(), LibvmafError> {
    if code < 0 {
        Err(LibvmafError::Call { call, code })
    } else {
        Ok(())
    }
}
