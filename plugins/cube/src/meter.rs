//! Every device allocation of this crate, and an optional meter of peak device memory.
//!
//! Bytes in use only grow at allocations, so reading cubecl's memory usage right after each
//! one sees the exact peak of a computation. That reading costs a round trip to the device
//! thread, so it happens only while a test has switched the meter on.
//!
//! A device also has a largest single buffer (wgpu: the storage binding limit, 128 MiB on
//! lavapipe; CUDA and HIP: cubecl's page, a quarter of the memory). cubecl's device thread
//! panics on a bigger request, and the kernels then run on buffers that are not there: the
//! computation "succeeds" with wrong numbers. So an allocation past the limit is not made:
//! it unwinds (without the panic hook's message) to [`checked`], which returns out of
//! memory for the whole call, so that no kernel runs without its buffer and a smaller
//! memory mode can be tried. Outside [`checked`] the unwind reaches the plugin's panic guard.

use std::{
    cell::Cell,
    sync::atomic::{AtomicBool, Ordering},
};

use cubecl::{prelude::*, server::Handle};
use qscore_core::Error;

static ENABLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static PEAK: Cell<u64> = const { Cell::new(0) };
}

/// The payload of the unwind from an allocation past the device's largest buffer.
struct TooBig {
    needed: u64,
    largest: u64,
}

/// Whether the device's allocator makes a buffer of `bytes` (padded to its alignment);
/// if not, the refusal.
fn fits<R: Runtime>(client: &ComputeClient<R>, bytes: usize) -> Result<(), TooBig> {
    let memory = &client.properties().memory;
    let align = memory.alignment.max(1);
    let largest = memory.max_page_size / align * align;
    if (bytes as u64).next_multiple_of(align) > largest {
        return Err(TooBig {
            needed: bytes as u64,
            largest,
        });
    }
    Ok(())
}

/// Unwinds to [`checked`] unless the device makes buffers of `bytes`.
fn ensure_fits<R: Runtime>(client: &ComputeClient<R>, bytes: usize) {
    if let Err(refusal) = fits(client, bytes) {
        std::panic::resume_unwind(Box::new(refusal));
    }
}

fn too_big(what: &str, t: &TooBig) -> Error {
    Error::OutOfMemory {
        needed: t.needed,
        available: t.largest,
        message: format!(
            "{what}: one device buffer of {} bytes is needed, and this device's largest is {} \
             bytes",
            t.needed, t.largest
        ),
    }
}

/// Runs `f`, a computation on one device; fails it with [`Error::OutOfMemory`] if it asks
/// for a buffer larger than the device makes, described by `what` (built only then).
/// Other panics go on unwinding.
pub(crate) fn checked<T>(
    what: impl FnOnce() -> String,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<TooBig>() {
            Ok(t) => Err(too_big(&what(), &t)),
            Err(other) => std::panic::resume_unwind(other),
        },
    }
}

/// Fails with [`Error::OutOfMemory`] up front when work whose largest buffer is `bytes`
/// cannot run on this device.
pub(crate) fn check_largest<R: Runtime>(
    client: &ComputeClient<R>,
    bytes: usize,
    what: &str,
) -> Result<(), Error> {
    fits(client, bytes).map_err(|t| too_big(what, &t))
}

fn checkpoint<R: Runtime>(client: &ComputeClient<R>) {
    if ENABLED.load(Ordering::Relaxed)
        && let Ok(usage) = client.memory_usage()
    {
        let bytes = usage.bytes_in_use + usage.bytes_padding;
        PEAK.with(|p| p.set(p.get().max(bytes)));
    }
}

/// `bytes` of uninitialised device memory.
pub(crate) fn empty<R: Runtime>(client: &ComputeClient<R>, bytes: usize) -> Handle {
    ensure_fits(client, bytes);
    let handle = client.empty(bytes);
    checkpoint(client);
    handle
}

/// Device memory holding `data`.
pub(crate) fn upload<R: Runtime>(client: &ComputeClient<R>, data: &[u8]) -> Handle {
    ensure_fits(client, data.len());
    let handle = client.create_from_slice(data);
    checkpoint(client);
    handle
}

/// Device memory holding `data`, handed over without the copy `upload` makes.
pub(crate) fn upload_vec<R: Runtime>(client: &ComputeClient<R>, data: Vec<u8>) -> Handle {
    ensure_fits(client, data.len());
    let handle = client.create(cubecl::bytes::Bytes::from_bytes_vec(data));
    checkpoint(client);
    handle
}

/// Starts metering this thread's allocations: returns the bytes in use now, the baseline
/// that [`peak`] is compared with.
pub fn start<R: Runtime>(client: &ComputeClient<R>) -> u64 {
    ENABLED.store(true, Ordering::Relaxed);
    let now = client
        .memory_usage()
        .map(|u| u.bytes_in_use + u.bytes_padding)
        .unwrap_or(0);
    PEAK.with(|p| p.set(now));
    now
}

/// The most bytes in use seen on this thread since [`start`].
pub fn peak() -> u64 {
    PEAK.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_runtime::client;

    #[test]
    fn a_buffer_past_the_largest_fails_its_call_as_out_of_memory() {
        let client = client();
        let memory = &client.properties().memory;
        let align = memory.alignment.max(1);
        let largest = memory.max_page_size / align * align;
        assert!(checked(|| "small".into(), || Ok(empty(&client, 1024))).is_ok());
        let too_big = largest as usize + 1;
        match checked(|| "big".into(), || Ok(empty(&client, too_big))) {
            Err(Error::OutOfMemory {
                needed, available, ..
            }) => assert_eq!((needed, available), (too_big as u64, largest)),
            other => panic!("{other:?}"),
        }
        assert!(checked(|| "after".into(), || Ok(empty(&client, 1024))).is_ok());
        assert!(check_largest(&client, largest as usize, "at the limit").is_ok());
        assert!(check_largest(&client, too_big, "past it").is_err());
    }
}
