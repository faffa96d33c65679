//! Nothing unwinds across the ABI: every export runs inside [`guard`].

use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::std_types::RResult;

use crate::{Error, PluginError};

/// Runs `f`, turning an error or a panic into an FFI-safe [`PluginError`].
pub fn guard<T>(what: &str, f: impl FnOnce() -> Result<T, Error>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(error)) => RResult::RErr(error.into()),
        Err(payload) => {
            let text =
                panic_text(payload.as_ref()).unwrap_or_else(|| "non-text panic payload".into());
            RResult::RErr(Error::Internal(format!("panic in {what}: {text}")).into())
        }
    }
}

/// The message of a caught panic, when it carried text (`panic!` always does).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
}

/// Runs `f` for an export that returns nothing; a panic is swallowed (and
/// reported on stderr) because there is no error channel to carry it.
pub(crate) fn guard_unit(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        eprintln!("qscore plugin: panic in {what} (ignored)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn panics_become_internal_errors() {
        let result: RResult<u32, PluginError> = guard("compare", || panic!("boom {}", 7));
        let error = result.into_result().unwrap_err();
        assert_eq!(error.kind, ErrorKind::INTERNAL);
        assert_eq!(error.message.as_str(), "panic in compare: boom 7");
    }

    #[test]
    fn errors_keep_their_kind() {
        let result: RResult<u32, PluginError> =
            guard("open", || Err(Error::Unsupported("x".into())));
        assert_eq!(
            result.into_result().unwrap_err().kind,
            ErrorKind::UNSUPPORTED
        );
    }
}
