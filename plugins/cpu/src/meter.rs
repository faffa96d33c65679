//! Measures the bytes this plugin allocates, per thread, so sessions can report
//! their real peak memory (ABI 1.1's session statistics).
//!
//! A session's work runs on the calling thread (no internal threads), so the
//! calling thread's counters see all of it.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

/// The system allocator, counting bytes per thread.
#[derive(Debug)]
pub(crate) struct Meter;

thread_local! {
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn add(bytes: i64) {
    let _ = CURRENT.try_with(|current| {
        let now = current.get() + bytes;
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters
// are const-initialised thread-locals without destructors, so touching them never allocates.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size() as i64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded; `ptr` was allocated by `System` with `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            add(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

/// What a measured call used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    /// Highest bytes held at once during the call, above what was held before it.
    pub(crate) peak: u64,
    /// Bytes still held after the call (what it returned or kept).
    pub(crate) retained: u64,
}

/// Runs `f` on this thread and reports the memory it used.
pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let start = CURRENT.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let result = f();
    let peak = PEAK.with(Cell::get) - start;
    let retained = CURRENT.with(Cell::get) - start;
    (
        result,
        Usage {
            peak: peak.max(0) as u64,
            retained: retained.max(0) as u64,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_peak_and_retained_bytes() {
        let (kept, usage) = measure(|| {
            let scratch = vec![1u8; 1 << 20];
            drop(scratch);
            vec![2u8; 1 << 16]
        });
        assert_eq!(kept.len(), 1 << 16);
        assert!(usage.peak >= 1 << 20, "{usage:?}");
        assert!(usage.peak < (1 << 20) + (1 << 17), "{usage:?}");
        assert_eq!(usage.retained, 1 << 16);
    }
}
