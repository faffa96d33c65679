//! Every device allocation of this crate, and an optional meter of peak device memory.
//!
//! Bytes in use only grow at allocations, so reading cubecl's memory usage right after each
//! one sees the exact peak of a computation. That reading costs a round trip to the device
//! thread, so it happens only while a test has switched the meter on.

use std::{
    cell::Cell,
    sync::atomic::{AtomicBool, Ordering},
};

use cubecl::{prelude::*, server::Handle};

static ENABLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    static PEAK: Cell<u64> = const { Cell::new(0) };
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
    let handle = client.empty(bytes);
    checkpoint(client);
    handle
}

/// Device memory holding `data`.
pub(crate) fn upload<R: Runtime>(client: &ComputeClient<R>, data: &[u8]) -> Handle {
    let handle = client.create_from_slice(data);
    checkpoint(client);
    handle
}

/// Device memory holding `data`, handed over without the copy `upload` makes.
pub(crate) fn upload_vec<R: Runtime>(client: &ComputeClient<R>, data: Vec<u8>) -> Handle {
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
