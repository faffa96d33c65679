//! butteraugli (libjxl's definition) on the device: the stages built so far, each checked
//! against the `butteraugli` crate's own stages. See `README.md` in this folder.

pub(crate) mod blur;
pub(crate) mod freq;
pub(crate) mod opsin;
#[cfg(test)]
mod tests;

use cubecl::{prelude::*, server::Handle};

/// `count` planes of `width × height` `f32` in one buffer, plane after plane.
#[derive(Debug, Clone)]
pub(crate) struct Planes {
    pub(crate) handle: Handle,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) count: usize,
}

impl Planes {
    pub(crate) fn empty<R: Runtime>(
        client: &ComputeClient<R>,
        width: usize,
        height: usize,
        count: usize,
    ) -> Self {
        Self {
            handle: crate::meter::empty(client, width * height * count * 4),
            width,
            height,
            count,
        }
    }

    /// Samples in all planes.
    pub(crate) fn len(&self) -> usize {
        self.width * self.height * self.count
    }

    /// The buffer as a kernel argument.
    pub(crate) fn arg<R: Runtime>(&self) -> ArrayArg<R> {
        // SAFETY: the handle was allocated for `len()` f32.
        unsafe { ArrayArg::from_raw_parts(self.handle.clone(), self.len()) }
    }

    /// Every plane blurred, into new planes.
    pub(crate) fn blurred<R: Runtime>(&self, client: &ComputeClient<R>, blur: &blur::Blur) -> Self {
        let tmp = crate::meter::empty(client, self.len() * 4);
        Self {
            handle: blur.run(
                client,
                &self.handle,
                &tmp,
                self.width,
                self.height,
                self.count,
            ),
            ..self.clone()
        }
    }

    /// Plane `i`'s samples, read back (tests).
    #[cfg(test)]
    pub(crate) fn read<R: Runtime>(&self, client: &ComputeClient<R>, i: usize) -> Vec<f32> {
        let bytes = client.read_one(self.handle.clone()).expect("read back");
        let n = self.width * self.height;
        f32::from_bytes(&bytes)[i * n..(i + 1) * n].to_vec()
    }
}
