//! Host-to-device copies of pixel rows, and the faster path a runtime plugin may offer.
//!
//! cubecl's portable `create` copies host data twice more on its way to the device and
//! then sends it from pageable memory: at 16 MP that is most of a comparison's time on a
//! fast GPU. A runtime plugin that can do better (CUDA: pinned staging buffers and the
//! driver's DMA) registers a [`HostWriter`] for its runtime, and the unpacking code
//! writes rows through it into memory it allocated from cubecl.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, OnceLock, RwLock},
};

use cubecl::{prelude::*, server::Handle};
use qscore_core::Error;

/// Writes host bytes into device memory that cubecl allocated.
pub trait HostWriter<R: Runtime>: Send + Sync + 'static {
    /// Copies the concatenation of `pieces` (`len` bytes in all) to the start of `target`,
    /// which holds at least `len` bytes, and returns once the copy is complete.
    ///
    /// `target` may reuse memory that kernels already queued on `client`'s stream still
    /// read, because cubecl orders reuse within its stream and this copy runs outside it:
    /// a writer must wait for `client`'s queued work before writing.
    ///
    /// # Errors
    /// [`Error::Internal`] with the driver's reason when it refuses the copy.
    fn write(
        &self,
        client: &ComputeClient<R>,
        target: &Handle,
        pieces: &mut dyn Iterator<Item = &[u8]>,
        len: usize,
    ) -> Result<(), Error>;
}

type Writers = RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>;

fn writers() -> &'static Writers {
    static WRITERS: OnceLock<Writers> = OnceLock::new();
    WRITERS.get_or_init(Default::default)
}

/// Makes `writer` the way rows reach devices of runtime `R`, in this process.
pub fn register<R: Runtime>(writer: Arc<dyn HostWriter<R>>) {
    writers()
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(TypeId::of::<R>(), Box::new(writer));
}

/// The writer registered for `R`, if any.
pub(crate) fn writer<R: Runtime>() -> Option<Arc<dyn HostWriter<R>>> {
    writers()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&TypeId::of::<R>())
        .and_then(|w| w.downcast_ref::<Arc<dyn HostWriter<R>>>())
        .cloned()
}
