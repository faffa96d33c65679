//! Pixel rows to CUDA devices through pinned staging buffers and the driver's copy engine.
//!
//! cubecl's portable upload copies the rows twice more on the host and then sends them from
//! pageable memory; at 16 MP that took two thirds of a warm SSIMULACRA2 comparison on an
//! H100. Here each thread owns two pinned, write-combined buffers and a stream of its own:
//! rows are packed into one buffer while the copy engine sends the other.

use std::{cell::RefCell, ffi::c_void, ptr};

use cubecl::{cuda::CudaRuntime, prelude::*, server::Handle};
use cudarc::driver::{DriverError, result, sys};
use qscore_core::Error;
use qscore_cube::upload::HostWriter;

/// Bytes per staging buffer.
const STAGE_BYTES: usize = 4 << 20;

/// The CUDA plugin's [`HostWriter`].
#[derive(Debug, Default)]
pub(crate) struct PinnedWriter;

fn driver(what: &str, error: DriverError) -> Error {
    Error::Internal(format!("CUDA {what}: {error}"))
}

/// One thread's staging for one device: its primary context, a stream and two pinned
/// buffers, each with an event marking the end of its last copy.
struct Staging {
    device: sys::CUdevice,
    context: sys::CUcontext,
    stream: sys::CUstream,
    buffers: [*mut u8; 2],
    events: [sys::CUevent; 2],
}

impl Staging {
    fn new(ordinal: i32) -> Result<Self, Error> {
        let device = result::device::get(ordinal).map_err(|e| driver("device", e))?;
        // SAFETY: `device` is a valid device; the retained context is released in `drop`.
        let context =
            unsafe { result::primary_ctx::retain(device) }.map_err(|e| driver("context", e))?;
        let mut staging = Self {
            device,
            context,
            stream: ptr::null_mut(),
            buffers: [ptr::null_mut(); 2],
            events: [ptr::null_mut(); 2],
        };
        // SAFETY: `context` is the device's live primary context.
        unsafe { result::ctx::set_current(context) }.map_err(|e| driver("context", e))?;
        staging.stream = result::stream::create(result::stream::StreamKind::NonBlocking)
            .map_err(|e| driver("stream", e))?;
        for i in 0..2 {
            // SAFETY: a plain allocation; freed in `drop`.
            staging.buffers[i] =
                unsafe { result::malloc_host(STAGE_BYTES, sys::CU_MEMHOSTALLOC_WRITECOMBINED) }
                    .map_err(|e| driver("pinned memory", e))?
                    .cast();
            staging.events[i] = result::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
                .map_err(|e| driver("event", e))?;
        }
        Ok(staging)
    }

    /// Sends `buffers[which][..bytes]` to `dst`, then waits until the other buffer's last
    /// copy is done so that it can be refilled.
    fn send(&self, which: usize, bytes: usize, dst: u64) -> Result<(), Error> {
        // SAFETY: the buffer holds `bytes` initialised bytes and is not touched again until
        // its event has completed; `dst` lies inside the target checked by `write`.
        unsafe {
            let src = std::slice::from_raw_parts(self.buffers[which], bytes);
            result::memcpy_htod_async(dst, src, self.stream).map_err(|e| driver("copy", e))?;
            result::event::record(self.events[which], self.stream)
                .map_err(|e| driver("event", e))?;
            result::event::synchronize(self.events[1 - which]).map_err(|e| driver("event", e))
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Failures only leak; the driver may already be shutting down at thread exit.
        // SAFETY: every handle below was created by `new` in `context` and is used by no one
        // else once the owning thread drops its staging.
        unsafe {
            let _ = result::ctx::set_current(self.context);
            if !self.stream.is_null() {
                let _ = result::stream::synchronize(self.stream);
            }
            for event in self.events.into_iter().filter(|e| !e.is_null()) {
                let _ = result::event::destroy(event);
            }
            for buffer in self.buffers.into_iter().filter(|b| !b.is_null()) {
                let _ = result::free_host(buffer.cast::<c_void>());
            }
            if !self.stream.is_null() {
                let _ = result::stream::destroy(self.stream);
            }
            let _ = result::primary_ctx::release(self.device);
        }
    }
}

thread_local! {
    static STAGING: RefCell<Option<(i32, Staging)>> = const { RefCell::new(None) };
}

/// The device a pointer from cubecl's allocator lives on. (Stream-ordered pool memory has
/// no context of its own, so the ordinal is asked, not the context.)
fn ordinal_of(dst: u64) -> Result<i32, Error> {
    let mut ordinal: i32 = -1;
    // SAFETY: the attribute is an `int` written into `ordinal`.
    unsafe {
        sys::cuPointerGetAttribute(
            (&raw mut ordinal).cast::<c_void>(),
            sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
            dst,
        )
    }
    .result()
    .map_err(|e| driver("pointer", e))?;
    Ok(ordinal)
}

impl HostWriter<CudaRuntime> for PinnedWriter {
    fn write(
        &self,
        client: &ComputeClient<CudaRuntime>,
        target: &Handle,
        pieces: &mut dyn Iterator<Item = &[u8]>,
        len: usize,
    ) -> Result<(), Error> {
        let resource = client
            .get_resource(target.clone())
            .map_err(|e| Error::Internal(format!("device memory: {e:?}")))?;
        let (base, size) = (resource.resource().ptr, resource.resource().size);
        if (size as usize) < len {
            return Err(Error::Internal(format!(
                "upload of {len} bytes into {size} bytes of device memory"
            )));
        }
        let ordinal = ordinal_of(base)?;
        STAGING.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|(o, _)| *o != ordinal) {
                *slot = None;
                *slot = Some((ordinal, Staging::new(ordinal)?));
            }
            let staging = &slot.as_ref().expect("set above").1;
            // SAFETY: the context was retained by `Staging::new` and is still alive.
            unsafe { result::ctx::set_current(staging.context) }
                .map_err(|e| driver("context", e))?;
            let (mut which, mut fill, mut sent) = (0, 0, 0);
            let mut idle = false;
            let mut flush = |which: &mut usize, fill: &mut usize, sent: &mut usize| {
                if !idle {
                    // `target` may reuse memory that kernels queued before still read.
                    cubecl::future::block_on(client.sync())
                        .map_err(|e| Error::Internal(format!("device sync: {e:?}")))?;
                    idle = true;
                }
                staging.send(*which, *fill, base + *sent as u64)?;
                *sent += *fill;
                *fill = 0;
                *which = 1 - *which;
                Ok::<(), Error>(())
            };
            for mut piece in pieces {
                while !piece.is_empty() {
                    let n = (STAGE_BYTES - fill).min(piece.len());
                    if sent + fill + n > len {
                        return Err(Error::Internal(format!("upload longer than {len} bytes")));
                    }
                    // SAFETY: `fill + n <= STAGE_BYTES`, and the buffer's last copy is done.
                    unsafe {
                        ptr::copy_nonoverlapping(
                            piece.as_ptr(),
                            staging.buffers[which].add(fill),
                            n,
                        );
                    }
                    fill += n;
                    piece = &piece[n..];
                    if fill == STAGE_BYTES {
                        flush(&mut which, &mut fill, &mut sent)?;
                    }
                }
            }
            if fill > 0 {
                flush(&mut which, &mut fill, &mut sent)?;
            }
            // SAFETY: the stream is live; waiting makes the data visible to every later
            // launch on cubecl's own stream.
            unsafe { result::stream::synchronize(staging.stream) }
                .map_err(|e| driver("copy", e))?;
            if sent != len {
                return Err(Error::Internal(format!(
                    "upload of {sent} bytes, {len} announced"
                )));
            }
            Ok(())
        })
    }
}
