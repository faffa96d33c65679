//! A luma plane on the device, as VMAF's kernels read it.

use cubecl::{prelude::*, server::Handle};
use qscore_cpu::vmaf_parts::Luma;

/// A luma plane on the device: `width · height` samples (any depth up to 16 bits) held as
/// `u32`, rows packed.
#[derive(Debug, Clone)]
pub struct DeviceLuma {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) bits: u32,
    pub(crate) data: Handle,
}

impl DeviceLuma {
    /// Uploads `luma`'s samples, widened to 32 bits.
    pub fn upload<R: Runtime>(client: &ComputeClient<R>, luma: &Luma<'_>) -> Self {
        let wide: Vec<u32> = luma.to_u16().into_iter().map(u32::from).collect();
        Self {
            width: luma.width,
            height: luma.height,
            bits: luma.bits,
            data: crate::meter::upload(client, u32::as_bytes(&wide)),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    /// Whether the plane has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The plane as a kernel argument.
    pub(crate) fn arg<R: Runtime>(&self) -> ArrayArg<R> {
        // SAFETY: the handle holds `len` u32.
        unsafe { ArrayArg::from_raw_parts(self.data.clone(), self.len()) }
    }
}
